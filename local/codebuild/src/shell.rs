//! The build's shell: one long-lived shell process that runs the buildspec's commands one at a
//! time, so that `cd`, `export` and plain shell variables carry from one command to the next, as
//! in CodeBuild's buildspec version 0.2.
//!
//! The protocol: the shell runs [`DRIVER`], which reads `run <id>` lines from its stdin and
//! sources `<dir>/cmd/<id>.sh` in the current shell, with stdin `/dev/null` (a command never
//! reads the protocol), then writes a status marker with the command's exit status to the output
//! pipe (stdout and stderr of the shell are one pipe, so the marker follows everything the
//! command printed). `sub <id>` runs the file in a subshell (buildspec version 0.1).
//!
//! A command that ends the shell itself (`exit`, `${VAR:?}` unset, a fatal syntax error, `exec`)
//! fails with the shell's exit status; the shell's EXIT trap saved its exported variables and
//! working directory, and the next command runs in a new shell that restores them.

use std::collections::VecDeque;
use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// The shell program the commands run in. Arguments: nonce, build directory, `restore` or "".
const DRIVER: &str = r#"__cb_nonce=$1
__cb_dir=$2
if [ "$3" = restore ]; then
  if [ -f "$__cb_dir/state/env" ]; then . "$__cb_dir/state/env"; fi
  if [ -f "$__cb_dir/state/cwd" ] && IFS= read -r __cb_cwd < "$__cb_dir/state/cwd"; then cd "$__cb_cwd" || :; fi
fi
trap 'export -p > "$__cb_dir/state/env"; pwd > "$__cb_dir/state/cwd"' EXIT
exec 9>&1
while IFS= read -r __cb_line; do
  __cb_id=${__cb_line#* }
  case $__cb_line in
    "run "*) . "$__cb_dir/cmd/$__cb_id.sh" </dev/null 9>&-; __cb_rc=$? ;;
    "sub "*) ( . "$__cb_dir/cmd/$__cb_id.sh" ) </dev/null 9>&-; __cb_rc=$? ;;
    *) __cb_rc=127 ;;
  esac
  printf '\036CODEBUILD-STATUS %s %s %s\036\n' "$__cb_nonce" "$__cb_id" "$__cb_rc" >&9
done
"#;

/// Longest output line kept whole; longer ones are cut into pieces of about this size.
const MAX_LINE_BYTES: usize = 16 * 1024;

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ended {
    /// The command returned this exit status.
    Exit(i32),
    /// The command ended the shell: with this exit status, or by this signal.
    ShellExited {
        code: Option<i32>,
        signal: Option<i32>,
    },
    /// The build's deadline passed while the command ran.
    TimedOut,
}

/// Where the command runs: in the build's shell (0.2), or in a subshell of it (0.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    SameShell,
    Subshell,
}

pub(crate) enum Event {
    Line(String),
    Status { id: u64, code: i32 },
    Closed,
}

struct Process {
    child: Child,
    stdin: ChildStdin,
}

/// The shell of one build, restarted after a command ends it; every process group it created is
/// killed when the build ends or this is dropped.
pub(crate) struct BuildShell {
    program: PathBuf,
    env: Vec<(String, String)>,
    work_dir: PathBuf,
    dir: PathBuf,
    nonce: String,
    writer: Option<io::PipeWriter>,
    events: mpsc::UnboundedReceiver<Event>,
    reader: JoinHandle<()>,
    process: Option<Process>,
    started_once: bool,
    groups: Vec<libc::pid_t>,
    next_id: u64,
}

impl BuildShell {
    /// Prepares the shell (`program`, with exactly `env`, starting in `work_dir`); `dir` is the
    /// build's private directory (with `cmd/`, `state/`). The process starts with the first
    /// command, or with [`BuildShell::start`].
    pub(crate) fn new(
        program: PathBuf,
        env: Vec<(String, String)>,
        work_dir: PathBuf,
        dir: PathBuf,
        nonce: String,
    ) -> io::Result<BuildShell> {
        let (reader, writer) = io::pipe()?;
        let receiver = tokio::net::unix::pipe::Receiver::from_owned_fd(OwnedFd::from(reader))?;
        let (tx, events) = mpsc::unbounded_channel();
        let reader = tokio::spawn(read_output(receiver, nonce.clone(), tx));
        Ok(BuildShell {
            program,
            env,
            work_dir,
            dir,
            nonce,
            writer: Some(writer),
            events,
            reader,
            process: None,
            started_once: false,
            groups: Vec::new(),
            next_id: 0,
        })
    }

    /// Starts the shell process now (if none is running).
    pub(crate) fn start(&mut self) -> io::Result<()> {
        if self.process.is_some() {
            return Ok(());
        }
        let Some(writer) = &self.writer else {
            return Err(io::Error::other("the build's output pipe is closed"));
        };
        let restore = if self.started_once { "restore" } else { "" };
        let mut command = Command::new(&self.program);
        command
            .arg("-c")
            .arg(DRIVER)
            .arg("local-codebuild")
            .arg(&self.nonce)
            .arg(&self.dir)
            .arg(restore)
            .env_clear()
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .current_dir(&self.work_dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::from(writer.try_clone()?))
            .stderr(Stdio::from(writer.try_clone()?))
            .process_group(0)
            .kill_on_drop(true);
        let mut child = command.spawn()?;
        self.started_once = true;
        if let Some(pid) = child.id().and_then(|pid| libc::pid_t::try_from(pid).ok()) {
            self.groups.push(pid);
        }
        let Some(stdin) = child.stdin.take() else {
            return Err(io::Error::other("the shell has no stdin pipe"));
        };
        self.process = Some(Process { child, stdin });
        Ok(())
    }

    /// Runs `text` and waits for it, the shell's end or `deadline`; output lines go to `on_line`
    /// as they come.
    pub(crate) async fn run(
        &mut self,
        text: &str,
        mode: Mode,
        deadline: Instant,
        on_line: &mut dyn FnMut(String),
    ) -> io::Result<Ended> {
        self.start()?;
        self.next_id += 1;
        let id = self.next_id;
        let file = self.dir.join("cmd").join(format!("{id}.sh"));
        std::fs::write(&file, format!("{text}\n"))?;
        let verb = match mode {
            Mode::SameShell => "run",
            Mode::Subshell => "sub",
        };
        let Some(process) = self.process.as_mut() else {
            return Err(io::Error::other("the shell is not running"));
        };
        // A failed write means the shell is gone: the wait below reports how it ended.
        let _ = process
            .stdin
            .write_all(format!("{verb} {id}\n").as_bytes())
            .await;
        let _ = process.stdin.flush().await;

        let ended = loop {
            tokio::select! {
                event = self.events.recv() => match event {
                    Some(Event::Line(line)) => on_line(line),
                    Some(Event::Status { id: done, code }) if done == id => break Ended::Exit(code),
                    Some(Event::Status { .. }) => {}
                    Some(Event::Closed) | None => {
                        // The output pipe closed: only when the shell is gone.
                        let status = process.child.wait().await?;
                        break shell_exited(status);
                    }
                },
                status = process.child.wait() => {
                    let status = status?;
                    break shell_exited(status);
                }
                () = tokio::time::sleep_until(deadline) => break Ended::TimedOut,
            }
        };
        let _ = std::fs::remove_file(&file);
        if let Ended::ShellExited { .. } = ended {
            self.process = None;
            // What the shell printed last is already in the pipe.
            self.drain(Duration::from_millis(100), Duration::from_secs(1), on_line)
                .await;
        }
        Ok(ended)
    }

    /// Forwards output lines until none came for `idle`, at most for `limit`.
    async fn drain(&mut self, idle: Duration, limit: Duration, on_line: &mut dyn FnMut(String)) {
        let until = Instant::now() + limit;
        loop {
            let wait = idle.min(until.saturating_duration_since(Instant::now()));
            match tokio::time::timeout(wait, self.events.recv()).await {
                Ok(Some(Event::Line(line))) => on_line(line),
                Ok(Some(Event::Status { .. })) => {}
                Ok(Some(Event::Closed) | None) | Err(_) => return,
            }
            if Instant::now() >= until {
                return;
            }
        }
    }

    /// Ends the build's processes: closes the shell's stdin (it exits), waits for it briefly,
    /// kills every process group of the build (what commands left running in the background
    /// too), and forwards the output they wrote last.
    pub(crate) async fn finish(&mut self, on_line: &mut dyn FnMut(String)) {
        if let Some(mut process) = self.process.take() {
            drop(process.stdin);
            let _ = tokio::time::timeout(Duration::from_secs(2), process.child.wait()).await;
            self.kill_groups();
            let _ = process.child.start_kill();
            let _ = tokio::time::timeout(Duration::from_secs(2), process.child.wait()).await;
        }
        self.kill_groups();
        self.writer = None;
        self.drain(Duration::from_millis(200), Duration::from_secs(2), on_line)
            .await;
        self.reader.abort();
    }

    /// Kills the build's processes at once (timeout): its output is not waited for.
    pub(crate) async fn kill(&mut self) {
        self.kill_groups();
        if let Some(mut process) = self.process.take() {
            let _ = process.child.start_kill();
            let _ = tokio::time::timeout(Duration::from_secs(2), process.child.wait()).await;
        }
        self.writer = None;
        self.reader.abort();
    }

    fn kill_groups(&self) {
        for &pgid in &self.groups {
            // SAFETY: kill(2) with a negative pid signals the process group the build created
            // (the shell was spawned with process_group(0), so its pid is the group id).
            unsafe {
                libc::kill(-pgid, libc::SIGKILL);
            }
        }
    }
}

impl Drop for BuildShell {
    fn drop(&mut self) {
        self.kill_groups();
        if let Some(process) = self.process.as_mut() {
            let _ = process.child.start_kill();
            // Reap the shell (bounded), so that not even a zombie is left behind.
            let until = std::time::Instant::now() + Duration::from_secs(2);
            while std::time::Instant::now() < until {
                match process.child.try_wait() {
                    Ok(Some(_)) | Err(_) => break,
                    Ok(None) => std::thread::sleep(Duration::from_millis(2)),
                }
            }
        }
        self.reader.abort();
    }
}

fn shell_exited(status: std::process::ExitStatus) -> Ended {
    Ended::ShellExited {
        code: status.code(),
        signal: status.signal(),
    }
}

/// Reads the build's output pipe: lines (lossy UTF-8, terminal-like `\r` handling) and status
/// markers, in the order they were written.
async fn read_output(
    mut pipe: tokio::net::unix::pipe::Receiver,
    nonce: String,
    events: mpsc::UnboundedSender<Event>,
) {
    let marker = format!("\u{1e}CODEBUILD-STATUS {nonce} ").into_bytes();
    let mut buffer: Vec<u8> = Vec::with_capacity(8192);
    let mut chunk = vec![0u8; 8192];
    loop {
        let n = match pipe.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        buffer.extend_from_slice(&chunk[..n]);
        let mut start = 0;
        while let Some(offset) = buffer[start..].iter().position(|&b| b == b'\n') {
            let end = start + offset;
            for event in parse_line(&buffer[start..end], &marker) {
                let _ = events.send(event);
            }
            start = end + 1;
        }
        buffer.drain(..start);
        if buffer.len() > MAX_LINE_BYTES {
            // Keep the tail: a status marker may be arriving in pieces.
            let cut = buffer.len() - 256;
            let piece: Vec<u8> = buffer.drain(..cut).collect();
            let _ = events.send(Event::Line(clean_line(&piece)));
        }
    }
    if !buffer.is_empty() {
        for event in parse_line(&buffer, &marker) {
            let _ = events.send(event);
        }
    }
    let _ = events.send(Event::Closed);
}

fn parse_line(line: &[u8], marker: &[u8]) -> Vec<Event> {
    if let Some(at) = find(line, marker) {
        let rest = &line[at + marker.len()..];
        let rest = rest.strip_suffix(b"\r").unwrap_or(rest);
        if let Some(fields) = rest.strip_suffix(b"\x1e")
            && let Ok(fields) = std::str::from_utf8(fields)
            && let Some((id, code)) = fields.split_once(' ')
            && let (Ok(id), Ok(code)) = (id.parse::<u64>(), code.parse::<i32>())
        {
            let mut events = Vec::with_capacity(2);
            if at > 0 {
                events.push(Event::Line(clean_line(&line[..at])));
            }
            events.push(Event::Status { id, code });
            return events;
        }
    }
    vec![Event::Line(clean_line(line))]
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || haystack.len() < needle.len() {
        return None;
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// What a terminal would show of the line: the text after the last carriage return (progress
/// output such as `aws s3 cp`'s), without trailing white space.
fn clean_line(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let text = text.trim_end_matches(['\r', '\n']);
    let shown = text
        .rsplit('\r')
        .find(|segment| !segment.trim().is_empty())
        .unwrap_or("");
    shown.trim_end().to_owned()
}

/// The last `capacity` lines seen.
pub(crate) struct Tail {
    lines: VecDeque<String>,
    capacity: usize,
}

impl Tail {
    pub(crate) fn new(capacity: usize) -> Tail {
        Tail {
            lines: VecDeque::with_capacity(capacity),
            capacity,
        }
    }

    pub(crate) fn push(&mut self, line: &str) {
        if self.lines.len() == self.capacity {
            self.lines.pop_front();
        }
        self.lines.push_back(line.to_owned());
    }

    pub(crate) fn into_vec(self) -> Vec<String> {
        self.lines.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(events: &[Event]) -> Vec<String> {
        events
            .iter()
            .filter_map(|event| match event {
                Event::Line(line) => Some(line.clone()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_marker_after_a_partial_line_splits_it() {
        let marker = b"\x1eCODEBUILD-STATUS abc ".to_vec();
        let events = parse_line(b"no newline\x1eCODEBUILD-STATUS abc 7 2\x1e", &marker);
        assert_eq!(lines(&events), vec!["no newline"]);
        assert!(matches!(
            events.last(),
            Some(Event::Status { id: 7, code: 2 })
        ));
    }

    #[test]
    fn a_marker_with_another_nonce_is_output() {
        let marker = b"\x1eCODEBUILD-STATUS abc ".to_vec();
        let events = parse_line(b"\x1eCODEBUILD-STATUS xyz 7 2\x1e", &marker);
        assert_eq!(events.len(), 1);
        assert!(matches!(events[0], Event::Line(_)));
    }

    #[test]
    fn carriage_returns_show_what_a_terminal_shows() {
        assert_eq!(
            clean_line(b"Completed 3 Bytes\rupload: ./a to s3://b/a   \r"),
            "upload: ./a to s3://b/a"
        );
        assert_eq!(clean_line(b"windows line\r"), "windows line");
        assert_eq!(clean_line(b"  indented"), "  indented");
        assert_eq!(clean_line(b"\xff\xfe bytes"), "\u{fffd}\u{fffd} bytes");
    }
}
