//! Runs a function's own binary behind a local AWS Lambda Runtime API, as Lambda does.
//!
//! The host serves the Runtime API (`/2018-06-01/runtime/...`) on a free loopback port, spawns the
//! binary with `AWS_LAMBDA_RUNTIME_API` and the other variables Lambda sets, and hands it one event
//! per [`LambdaHost::invoke`]. The local pipeline and the benchmarks use it to run the unchanged
//! function binaries (`lambda_runtime::run`).
//!
//! - The process starts on the first invoke (and after a timeout or an exit, as Lambda restarts
//!   an execution environment); [`Invocation::init`] is spawn to first `/next` on a cold start.
//! - An invocation is bounded by the function's timeout (init by [`INIT_TIMEOUT`]): past it the
//!   process is killed and [`HostError::Timeout`] returned; the next invoke starts a new one.
//! - A process that exits, or that posts to `/runtime/init/error`, is reported with its log tail.
//! - Dropping the host kills the process (its whole process group).
//!
//! ```no_run
//! # async fn example() -> Result<(), lambda_host::HostError> {
//! use lambda_host::{FunctionSpec, LambdaHost};
//! use std::time::Duration;
//!
//! let host = LambdaHost::start(FunctionSpec {
//!     binary: "target/debug/start-training".into(),
//!     name: "StartTraining".into(),
//!     env: vec![("AWS_REGION".into(), "us-east-1".into())],
//!     timeout: Duration::from_secs(30),
//!     memory_mb: 128,
//! })
//! .await?;
//! let invocation = host.invoke(serde_json::json!({"hello": "world"})).await?;
//! println!("{:?} in {:?}", invocation.response, invocation.duration);
//! # Ok(())
//! # }
//! ```

mod server;

use std::collections::VecDeque;
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::Deserialize;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::server::{GenState, Queued, Reply};

/// Lambda's limit for a runtime's initialisation (spawn to the first `/next`).
pub const INIT_TIMEOUT: Duration = Duration::from_secs(10);
/// Log lines kept in memory (the oldest go first).
const LOG_LINES: usize = 10_000;
/// Log lines in a report's `logs_tail`.
const TAIL_LINES: usize = 30;

/// The function to run.
#[derive(Debug, Clone)]
pub struct FunctionSpec {
    /// The function's bootstrap binary (e.g. `target/debug/start-training`).
    pub binary: PathBuf,
    /// The function name (`AWS_LAMBDA_FUNCTION_NAME`, the ARN, the log group).
    pub name: String,
    /// The function's environment on top of Lambda's variables: its own variables, endpoint
    /// URLs, credentials, region (`AWS_REGION` also sets the ARN's region). As on Lambda, the
    /// process does not inherit the host's environment (only `PATH`).
    pub env: Vec<(String, String)>,
    /// The function timeout: the deadline given to the function and the host's bound.
    pub timeout: Duration,
    /// `AWS_LAMBDA_FUNCTION_MEMORY_SIZE` (informational: not enforced).
    pub memory_mb: u32,
}

/// An error the function reported (`/invocation/{id}/error` or `/init/error`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, thiserror::Error)]
#[serde(rename_all = "camelCase")]
#[error("{error_type}: {error_message}")]
pub struct FunctionError {
    #[serde(default)]
    pub error_type: String,
    #[serde(default)]
    pub error_message: String,
}

/// One completed invocation.
#[derive(Debug, Clone)]
pub struct Invocation {
    /// The request id the function saw.
    pub request_id: String,
    /// The function's response (JSON; a non-JSON body comes back as a string) or its error.
    pub response: Result<Value, FunctionError>,
    /// From handing the event to the function (`/next`) to its response.
    pub duration: Duration,
    /// On a cold start only: from spawning the process to its first `/next`.
    pub init: Option<Duration>,
    /// The process's peak RSS (VmHWM) so far, in bytes, read after the response.
    pub peak_rss_bytes: Option<u64>,
}

#[derive(Debug, thiserror::Error)]
pub enum HostError {
    #[error("cannot serve the Runtime API on loopback: {0}")]
    Serve(#[source] std::io::Error),
    #[error("cannot spawn {binary}: {source}")]
    Spawn {
        binary: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the function process exited ({status}); last log lines:\n{logs_tail}")]
    Exited {
        status: ExitStatus,
        logs_tail: String,
    },
    #[error("the function failed to initialise ({error}); last log lines:\n{logs_tail}")]
    InitError {
        error: FunctionError,
        logs_tail: String,
    },
    #[error(
        "the function timed out after {after:?} (during init: {during_init}); process killed; last log lines:\n{logs_tail}"
    )]
    Timeout {
        after: Duration,
        during_init: bool,
        logs_tail: String,
    },
    #[error("cannot serialise the event: {0}")]
    Event(#[source] serde_json::Error),
}

/// A function binary behind a local Lambda Runtime API. One invocation at a time, as one
/// Lambda execution environment.
pub struct LambdaHost {
    spec: FunctionSpec,
    logs: Arc<Mutex<VecDeque<String>>>,
    process: tokio::sync::Mutex<Option<Process>>,
    last_peak_rss: Mutex<Option<u64>>,
    requests: AtomicU64,
}

/// One execution environment: the process and the Runtime API server it talks to. Each gets
/// its own server, so a killed process's connections can never take a later event.
struct Process {
    child: Child,
    pid: u32,
    spawned_at: Instant,
    state: Arc<GenState>,
    server: JoinHandle<()>,
    readers: Vec<JoinHandle<()>>,
    init_error: Option<oneshot::Receiver<FunctionError>>,
    cold: bool,
}

impl Drop for Process {
    fn drop(&mut self) {
        self.server.abort();
        kill_group(self.pid);
        let _ = self.child.start_kill();
        // Reap it, so that no process (not even a zombie) is left behind; bounded.
        let until = Instant::now() + Duration::from_secs(2);
        while Instant::now() < until {
            match self.child.try_wait() {
                Ok(Some(_)) | Err(_) => break,
                Ok(None) => std::thread::sleep(Duration::from_millis(2)),
            }
        }
    }
}

fn kill_group(pid: u32) {
    if let Ok(pid) = libc::pid_t::try_from(pid) {
        // SAFETY: kill(2) with a negative pid signals the process group we created for the child.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
    }
}

/// VmHWM of a live process, in bytes.
pub fn peak_rss_of(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

impl LambdaHost {
    /// Starts the function: serves the Runtime API and spawns the process, which initialises
    /// while the caller prepares the first event.
    pub async fn start(spec: FunctionSpec) -> Result<LambdaHost, HostError> {
        let host = LambdaHost {
            spec,
            logs: Arc::new(Mutex::new(VecDeque::new())),
            process: tokio::sync::Mutex::new(None),
            last_peak_rss: Mutex::new(None),
            requests: AtomicU64::new(0),
        };
        let process = host.spawn().await?;
        *host.process.lock().await = Some(process);
        Ok(host)
    }

    /// The function's name.
    pub fn name(&self) -> &str {
        &self.spec.name
    }

    /// Everything the function's processes wrote to stdout and stderr (the last lines).
    pub fn logs(&self) -> String {
        let logs = self.logs.lock().unwrap_or_else(PoisonError::into_inner);
        logs.iter().map(|line| format!("{line}\n")).collect()
    }

    fn logs_tail(&self) -> String {
        let logs = self.logs.lock().unwrap_or_else(PoisonError::into_inner);
        let skip = logs.len().saturating_sub(TAIL_LINES);
        logs.iter()
            .skip(skip)
            .map(|line| format!("{line}\n"))
            .collect()
    }

    /// The pid of the running process, if one is running.
    pub async fn pid(&self) -> Option<u32> {
        self.process
            .lock()
            .await
            .as_ref()
            .map(|process| process.pid)
    }

    /// Peak RSS in bytes: of the running process now, or else the last one measured (after
    /// each response and before a kill).
    pub async fn peak_rss_bytes(&self) -> Option<u64> {
        if let Some(pid) = self.pid().await
            && let Some(rss) = peak_rss_of(pid)
        {
            self.note_peak_rss(rss);
            return Some(rss);
        }
        *self
            .last_peak_rss
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn note_peak_rss(&self, rss: u64) {
        *self
            .last_peak_rss
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(rss);
    }

    async fn spawn(&self) -> Result<Process, HostError> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(HostError::Serve)?;
        let addr = listener.local_addr().map_err(HostError::Serve)?;
        let (init_tx, init_rx) = oneshot::channel();
        let state = Arc::new(GenState::new(
            self.spec.timeout,
            self.function_arn(),
            init_tx,
        ));
        let router = server::router(state.clone());
        let server = tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, router).await {
                tracing::warn!(%error, "runtime API server stopped");
            }
        });

        let mut command = Command::new(&self.spec.binary);
        command
            .env_clear()
            .envs(self.lambda_env(&addr.to_string()))
            .envs(self.spec.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        if let Some(dir) = self
            .spec
            .binary
            .parent()
            .filter(|dir| !dir.as_os_str().is_empty())
        {
            command.current_dir(dir);
        }
        let spawned_at = Instant::now();
        let mut child = match command.spawn() {
            Ok(child) => child,
            Err(source) => {
                server.abort();
                return Err(HostError::Spawn {
                    binary: self.spec.binary.clone(),
                    source,
                });
            }
        };
        let pid = child.id().unwrap_or_default();
        tracing::debug!(function = %self.spec.name, pid, api = %addr, "function process started");
        let mut readers = Vec::new();
        if let Some(stdout) = child.stdout.take() {
            readers.push(self.read_logs(stdout));
        }
        if let Some(stderr) = child.stderr.take() {
            readers.push(self.read_logs(stderr));
        }
        Ok(Process {
            child,
            pid,
            spawned_at,
            state,
            server,
            readers,
            init_error: Some(init_rx),
            cold: true,
        })
    }

    fn read_logs(&self, stream: impl AsyncRead + Unpin + Send + 'static) -> JoinHandle<()> {
        let logs = self.logs.clone();
        let function = self.spec.name.clone();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stream).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                tracing::debug!(%function, "{line}");
                let mut logs = logs.lock().unwrap_or_else(PoisonError::into_inner);
                if logs.len() == LOG_LINES {
                    logs.pop_front();
                }
                logs.push_back(line);
            }
        })
    }

    fn region(&self) -> String {
        self.spec
            .env
            .iter()
            .find(|(key, _)| key == "AWS_REGION")
            .map_or_else(|| "us-east-1".to_owned(), |(_, value)| value.clone())
    }

    fn function_arn(&self) -> String {
        format!(
            "arn:aws:lambda:{}:000000000000:function:{}",
            self.region(),
            self.spec.name
        )
    }

    fn lambda_env(&self, api: &str) -> Vec<(String, String)> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        // `2026/11/26`, the date part of Lambda's log stream names.
        let date = humantime::format_rfc3339_seconds(SystemTime::now()).to_string()[..10]
            .replace('-', "/");
        let name = &self.spec.name;
        let region = self.region();
        let pairs: [(&str, String); 14] = [
            ("AWS_LAMBDA_RUNTIME_API", api.to_owned()),
            ("AWS_LAMBDA_FUNCTION_NAME", name.clone()),
            (
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
                self.spec.memory_mb.to_string(),
            ),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".into()),
            ("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}")),
            (
                "AWS_LAMBDA_LOG_STREAM_NAME",
                format!("{date}/[$LATEST]{:032x}", now.as_nanos()),
            ),
            ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand".into()),
            ("AWS_EXECUTION_ENV", "AWS_Lambda_provided.al2023".into()),
            ("AWS_REGION", region.clone()),
            ("AWS_DEFAULT_REGION", region),
            ("LAMBDA_TASK_ROOT", self.task_root()),
            ("_HANDLER", "bootstrap".into()),
            ("TZ", ":UTC".into()),
            (
                "PATH",
                std::env::var("PATH").unwrap_or_else(|_| "/usr/local/bin:/usr/bin:/bin".into()),
            ),
        ];
        pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
    }

    fn task_root(&self) -> String {
        self.spec
            .binary
            .parent()
            .map(|dir| dir.display().to_string())
            .unwrap_or_default()
    }

    fn next_request_id(&self) -> String {
        let n = self.requests.fetch_add(1, Ordering::Relaxed);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        let pid = std::process::id();
        format!(
            "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
            (nanos >> 32) as u32,
            (nanos & 0xffff) as u16,
            pid & 0xfff,
            n & 0xfff,
            (nanos as u64 ^ (n << 20)) & 0xffff_ffff_ffff
        )
    }

    /// Invokes the function with `event` and waits for its response or error, bounded by the
    /// timeout. Starts a new process first if none is running (cold start).
    pub async fn invoke(&self, event: Value) -> Result<Invocation, HostError> {
        let body = serde_json::to_vec(&event).map_err(HostError::Event)?;
        let mut slot = self.process.lock().await;
        if let Some(process) = slot.as_mut()
            && let Ok(Some(status)) = process.child.try_wait()
        {
            tracing::info!(function = %self.spec.name, %status, "function process had exited; restarting");
            *slot = None;
        }
        if slot.is_none() {
            *slot = Some(self.spawn().await?);
        }
        let Some(process) = slot.as_mut() else {
            unreachable!("a process was just spawned");
        };
        let request_id = self.next_request_id();
        let (reply_tx, reply_rx) = oneshot::channel();
        let (delivered_tx, delivered_rx) = oneshot::channel();
        process.state.queue(Queued {
            request_id: request_id.clone(),
            body: body.into(),
            delivered: delivered_tx,
            reply: reply_tx,
        });

        let cold = process.cold;
        let init_limit = if cold {
            INIT_TIMEOUT
        } else {
            self.spec.timeout
        };
        // Hand over the event: on a cold start, the process's init runs first.
        let delivered = {
            let Process {
                child, init_error, ..
            } = &mut *process;
            let init_error = async {
                match init_error.as_mut() {
                    Some(rx) => rx.await.ok(),
                    None => None,
                }
            };
            tokio::select! {
                biased;
                delivered = delivered_rx => Ok(delivered.ok()),
                Some(error) = init_error => Err(Stop::Init(error)),
                status = child.wait() => Err(Stop::Exited(status.ok())),
                () = tokio::time::sleep(init_limit) => Err(Stop::Timeout { after: init_limit, during_init: cold }),
            }
        };
        let delivered_at = match delivered {
            Ok(Some(at)) => at,
            Ok(None) => Instant::now(),
            Err(stop) => return Err(self.stop(&mut slot, stop).await),
        };
        let init = if cold {
            process.cold = false;
            process.init_error = None;
            Some(delivered_at.saturating_duration_since(process.spawned_at))
        } else {
            None
        };
        let deadline = delivered_at + self.spec.timeout;
        let reply = tokio::select! {
            biased;
            reply = reply_rx => reply.ok(),
            status = process.child.wait() => return Err(self.stop(&mut slot, Stop::Exited(status.ok())).await),
            () = tokio::time::sleep_until(deadline.into()) => {
                return Err(self.stop(&mut slot, Stop::Timeout { after: self.spec.timeout, during_init: false }).await);
            }
        };
        let Some((reply, replied_at)) = reply else {
            // The server dropped the request: only when the process is going away.
            let status = tokio::time::timeout(Duration::from_secs(2), process.child.wait())
                .await
                .ok()
                .and_then(Result::ok);
            return Err(self.stop(&mut slot, Stop::Exited(status)).await);
        };
        let peak_rss_bytes = peak_rss_of(process.pid);
        if let Some(rss) = peak_rss_bytes {
            self.note_peak_rss(rss);
        }
        let response = match reply {
            Reply::Response(bytes) => Ok(serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))),
            Reply::Error(error) => Err(error),
        };
        Ok(Invocation {
            request_id,
            response,
            duration: replied_at.saturating_duration_since(delivered_at),
            init,
            peak_rss_bytes,
        })
    }

    /// Ends the current process for `stop` and builds the report.
    async fn stop(&self, slot: &mut Option<Process>, stop: Stop) -> HostError {
        let Some(mut process) = slot.take() else {
            unreachable!("stop is called with a process");
        };
        if let Some(rss) = peak_rss_of(process.pid) {
            self.note_peak_rss(rss);
        }
        let status = match &stop {
            Stop::Exited(Some(status)) => Some(*status),
            _ => {
                kill_group(process.pid);
                let _ = process.child.start_kill();
                tokio::time::timeout(Duration::from_secs(2), process.child.wait())
                    .await
                    .ok()
                    .and_then(Result::ok)
            }
        };
        // Let the readers drain what the process wrote last (bounded).
        for reader in std::mem::take(&mut process.readers) {
            let _ = tokio::time::timeout(Duration::from_secs(1), reader).await;
        }
        drop(process);
        let logs_tail = self.logs_tail();
        tracing::warn!(function = %self.spec.name, ?stop, "function process stopped");
        match stop {
            Stop::Init(error) => HostError::InitError { error, logs_tail },
            Stop::Timeout { after, during_init } => HostError::Timeout {
                after,
                during_init,
                logs_tail,
            },
            Stop::Exited(_) => HostError::Exited {
                status: status.unwrap_or_else(unknown_status),
                logs_tail,
            },
        }
    }
}

#[derive(Debug)]
enum Stop {
    Init(FunctionError),
    Exited(Option<ExitStatus>),
    Timeout { after: Duration, during_init: bool },
}

fn unknown_status() -> ExitStatus {
    use std::os::unix::process::ExitStatusExt;
    ExitStatus::from_raw(-1)
}
