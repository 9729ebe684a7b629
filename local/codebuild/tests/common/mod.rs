//! Helpers shared by the build tests.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use local_codebuild::{BuildOutcome, BuildRequest, Buildspec};

/// A directory under the system's temp dir, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!(
            "local-codebuild-test-{tag}-{}-{n}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("create temp dir");
        TempDir(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A request for `buildspec` (text) in `source`, with a 60 s timeout.
pub fn request(source: &Path, buildspec: &str) -> BuildRequest {
    let path = source.join("buildspec.yml");
    std::fs::write(&path, buildspec).expect("write buildspec");
    let buildspec = Buildspec::load(&path).unwrap_or_else(|e| panic!("{e}"));
    BuildRequest {
        project_name: "test-project".into(),
        source_dir: source.to_path_buf(),
        buildspec,
        environment: Vec::new(),
        resolved_source_version: "0123456789abcdef0123456789abcdef01234567".into(),
        initiator: "codepipeline/test-pipeline".into(),
        region: "eu-west-1".into(),
        account_id: "123456789012".into(),
        timeout: Duration::from_secs(60),
        path_prefix: Vec::new(),
    }
}

/// Runs the build and returns its outcome and every log line.
pub async fn run(request: BuildRequest) -> (BuildOutcome, Vec<String>) {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let outcome = local_codebuild::run(request, tx)
        .await
        .unwrap_or_else(|e| panic!("the build could not run: {e}"));
    let mut lines = Vec::new();
    while let Ok(line) = rx.try_recv() {
        lines.push(line);
    }
    (outcome, lines)
}

/// The index of the first line containing `needle`.
pub fn position(lines: &[String], needle: &str) -> usize {
    lines
        .iter()
        .position(|line| line.contains(needle))
        .unwrap_or_else(|| panic!("no line contains {needle:?}:\n{}", lines.join("\n")))
}

/// Whether the process is gone (or a zombie waiting for a reaper that is not us).
pub fn pid_is_gone(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state == "Z" || state == "X"),
    }
}

/// Waits until `pid` is gone, at most `limit`.
pub fn wait_gone(pid: i32, limit: Duration) -> bool {
    let until = Instant::now() + limit;
    loop {
        if pid_is_gone(pid) {
            return true;
        }
        if Instant::now() >= until {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The pid written to `path` by the build, waiting for it at most 10 s.
pub async fn read_pid(path: &Path) -> i32 {
    let until = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(text) = std::fs::read_to_string(path)
            && let Ok(pid) = text.trim().parse::<i32>()
        {
            return pid;
        }
        assert!(Instant::now() < until, "{} was not written", path.display());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
