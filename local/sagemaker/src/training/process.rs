//! A job's process. It leads its own process group, so that stopping the job also stops what
//! it started; its output is read line by line into the job's log and the metric scraper; a
//! stop or a timeout sends SIGTERM, then SIGKILL after the grace period, as SageMaker does.

use std::collections::{HashSet, VecDeque};
use std::io;
use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::fs::OpenOptions;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWriteExt, BufReader, BufWriter};
use tokio::process::Command;
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep_until, timeout_at};
use tokio_util::sync::CancellationToken;

use super::contract::Invocation;

/// Lines of standard error kept for the failure reason.
const STDERR_TAIL_LINES: usize = 20;

/// Longer lines are cut into pieces of this size, so a job cannot make the service buffer
/// without end.
const MAX_LINE: u64 = 1 << 20;

/// How long output may still arrive after the process exited.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// The process groups of running jobs and model servers, to kill them all when the service
/// goes away. Clones share one set.
#[derive(Debug, Default, Clone)]
pub struct ProcessGroups(Arc<Mutex<HashSet<i32>>>);

impl ProcessGroups {
    fn lock(&self) -> MutexGuard<'_, HashSet<i32>> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// SIGKILL to every group still registered.
    pub fn kill_all(&self) {
        for group in self.lock().drain() {
            signal_group(group, libc::SIGKILL);
        }
    }

    /// Registers the group led by a process just spawned with `process_group(0)`.
    pub fn adopt(&self, group: i32) -> OwnedGroup {
        self.lock().insert(group);
        OwnedGroup {
            groups: self.clone(),
            group,
        }
    }
}

fn signal_group(group: i32, signal: libc::c_int) {
    // SAFETY: kill(2) takes two integers and touches no memory of this process; a group
    // that is already gone makes it fail with ESRCH, which is fine here.
    unsafe {
        libc::kill(-group, signal);
    }
}

/// A registered process group: killed and forgotten when dropped, also when its owner is
/// cancelled.
#[derive(Debug)]
pub struct OwnedGroup {
    groups: ProcessGroups,
    group: i32,
}

impl Drop for OwnedGroup {
    fn drop(&mut self) {
        signal_group(self.group, libc::SIGKILL);
        self.groups.lock().remove(&self.group);
    }
}

/// Why the process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    Exited(ExitStatus),
    /// Killed because the job was stopped.
    Stopped,
    /// Killed because the job ran into its MaxRuntimeInSeconds.
    TimedOut,
}

/// How a run ended, and the last lines it wrote to standard error.
#[derive(Debug)]
pub struct Finished {
    pub ended: Ended,
    pub stderr_tail: Vec<String>,
}

/// One run of a job's process.
pub struct Run<'a> {
    pub invocation: &'a Invocation,
    pub env: &'a [(String, String)],
    pub log: &'a Path,
    pub stop: &'a CancellationToken,
    pub deadline: Instant,
    pub grace: Duration,
    pub groups: &'a ProcessGroups,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stream {
    Stdout,
    Stderr,
}

/// Runs the process to its end; `on_line` sees every line it prints (both streams, in the
/// order they arrive, as CloudWatch records them).
pub async fn run(run: Run<'_>, mut on_line: impl FnMut(&str)) -> io::Result<Finished> {
    let (program, args) = run
        .invocation
        .argv
        .split_first()
        .ok_or_else(|| io::Error::other("empty command"))?;
    let mut child = Command::new(program)
        .args(args)
        .current_dir(&run.invocation.cwd)
        .envs(run.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true)
        .spawn()?;
    let group = child
        .id()
        .and_then(|pid| i32::try_from(pid).ok())
        .ok_or_else(|| io::Error::other("the job's process has no pid"))?;
    let _guard = run.groups.adopt(group);

    let (tx, mut rx) = mpsc::channel(256);
    let mut readers = Vec::new();
    if let Some(stdout) = child.stdout.take() {
        readers.push(tokio::spawn(read_lines(stdout, Stream::Stdout, tx.clone())));
    }
    if let Some(stderr) = child.stderr.take() {
        readers.push(tokio::spawn(read_lines(stderr, Stream::Stderr, tx.clone())));
    }
    drop(tx);

    let log_file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(run.log)
        .await?;
    let mut log = BufWriter::new(log_file);
    let mut tail = VecDeque::new();
    let mut handle = async |stream: Stream, bytes: Vec<u8>| -> io::Result<()> {
        let text = String::from_utf8_lossy(&bytes);
        let line = text.trim_end_matches(['\n', '\r']);
        log.write_all(line.as_bytes()).await?;
        log.write_all(b"\n").await?;
        log.flush().await?;
        on_line(line);
        if stream == Stream::Stderr {
            if tail.len() == STDERR_TAIL_LINES {
                tail.pop_front();
            }
            tail.push_back(line.to_owned());
        }
        Ok(())
    };

    let mut killed: Option<Ended> = None;
    let mut kill_at: Option<Instant> = None;
    let mut lines_open = true;
    let status = loop {
        tokio::select! {
            status = child.wait() => break status?,
            line = rx.recv(), if lines_open => match line {
                Some((stream, bytes)) => handle(stream, bytes).await?,
                None => lines_open = false,
            },
            () = run.stop.cancelled(), if killed.is_none() => {
                killed = Some(Ended::Stopped);
                signal_group(group, libc::SIGTERM);
                kill_at = Some(Instant::now() + run.grace);
            }
            () = sleep_until(run.deadline), if killed.is_none() => {
                killed = Some(Ended::TimedOut);
                signal_group(group, libc::SIGTERM);
                kill_at = Some(Instant::now() + run.grace);
            }
            () = sleep_until(kill_at.unwrap_or_else(Instant::now)), if kill_at.is_some() => {
                signal_group(group, libc::SIGKILL);
                kill_at = None;
            }
        }
    };

    // What the process left running would hold its pipes open: it goes with the process.
    signal_group(group, libc::SIGKILL);
    let drain_deadline = Instant::now() + DRAIN_TIMEOUT;
    while lines_open {
        match timeout_at(drain_deadline, rx.recv()).await {
            Ok(Some((stream, bytes))) => handle(stream, bytes).await?,
            Ok(None) | Err(_) => lines_open = false,
        }
    }
    for reader in readers {
        reader.abort();
    }
    Ok(Finished {
        ended: killed.unwrap_or(Ended::Exited(status)),
        stderr_tail: tail.into(),
    })
}

async fn read_lines(
    reader: impl AsyncRead + Unpin,
    stream: Stream,
    tx: mpsc::Sender<(Stream, Vec<u8>)>,
) {
    let mut reader = BufReader::new(reader);
    loop {
        let mut line = Vec::new();
        match (&mut reader)
            .take(MAX_LINE)
            .read_until(b'\n', &mut line)
            .await
        {
            Ok(0) | Err(_) => return,
            Ok(_) => {
                if tx.send((stream, line)).await.is_err() {
                    return;
                }
            }
        }
    }
}
