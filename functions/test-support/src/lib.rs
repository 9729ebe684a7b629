//! Helpers for integration tests that talk to AWS APIs over real HTTP.
//!
//! [`MotoServer::start`] runs the project's pinned moto server (from `.venv/`, created by
//! `make setup`) on a free loopback port, one per test, and stops it when dropped, also when the
//! test panics. [`local_sdk_config`] and [`s3_client`] point the AWS SDK at such a local endpoint.
//!
//! ```no_run
//! # async fn example() {
//! let moto = test_support::MotoServer::start();
//! let s3 = moto.s3_client();
//! s3.create_bucket().bucket("artifacts").send().await.unwrap();
//! let state = moto.api_data(); // moto's view of every service, as JSON
//! # }
//! ```

pub mod archive;
pub mod job;

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;

/// Region of every local SDK config.
pub const REGION: &str = "us-east-1";

/// How long a moto server may take to answer after it was spawned. Importing moto takes 1-3 s
/// on the 2-core CI machine; several tests start their servers at the same time.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);

/// How often a new port is tried when another process took the one we picked.
const PORT_ATTEMPTS: usize = 5;

/// Runs `moto.server.main` like the venv's `moto_server` script does, plus a watchdog thread: the
/// server's stdin is a pipe from the test process, so EOF there means the test process is gone
/// (even if it was killed with SIGKILL and no destructor ran) and the server exits with it.
const MOTO_LAUNCHER: &str = "\
import os, sys, threading
def _exit_with_parent():
    sys.stdin.buffer.read()
    os._exit(0)
threading.Thread(target=_exit_with_parent, daemon=True).start()
from moto.server import main
sys.exit(main(sys.argv[1:]))
";

static SERVER_COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A moto server (`moto[server]`, pinned in `tools/requirements/`) listening on `127.0.0.1`.
///
/// Every instance is its own process with its own state. Dropping it kills the process and waits
/// for it, so no server outlives the test that started it.
#[derive(Debug)]
pub struct MotoServer {
    child: Child,
    port: u16,
    log_path: PathBuf,
}

impl MotoServer {
    /// Starts the moto server of the workspace's `.venv/` and waits until it answers.
    ///
    /// # Panics
    ///
    /// When `.venv/` has no moto (run `make setup`), or the server does not answer within 60 s.
    pub fn start() -> MotoServer {
        Self::start_with_venv(workspace_root().join(".venv"))
    }

    /// Like [`MotoServer::start`], with the moto server of another Python virtual environment.
    pub fn start_with_venv(venv: impl AsRef<Path>) -> MotoServer {
        let venv = venv.as_ref();
        let moto_server = venv.join("bin").join("moto_server");
        let python = venv.join("bin").join("python");
        if !moto_server.is_file() || !python.is_file() {
            panic!(
                "moto is not installed: {} does not exist.\n\
                 Run `make setup` in the workspace root: it creates .venv/ with the pinned \
                 moto[server] that the integration tests start.",
                moto_server.display()
            );
        }

        let mut taken = Vec::new();
        for _ in 0..PORT_ATTEMPTS {
            let port = free_loopback_port();
            match Self::spawn_on(&python, port) {
                Ok(server) => return server,
                Err(StartError::PortTaken) => taken.push(port),
                Err(StartError::Failed(message)) => panic!("{message}"),
            }
        }
        panic!(
            "moto server could not bind a loopback port: ports {taken:?} were taken by other \
             processes between picking and binding them"
        );
    }

    fn spawn_on(python: &Path, port: u16) -> Result<MotoServer, StartError> {
        let id = SERVER_COUNTER.fetch_add(1, Ordering::Relaxed);
        let log_path = std::env::temp_dir().join(format!(
            "moto-server-{}-{id}-{port}.log",
            std::process::id()
        ));
        let log = File::create(&log_path).map_err(|e| {
            StartError::Failed(format!(
                "cannot create the moto server log {}: {e}",
                log_path.display()
            ))
        })?;
        let log_err = log.try_clone().map_err(|e| {
            StartError::Failed(format!("cannot share the moto server log handle: {e}"))
        })?;
        let child = Command::new(python)
            .arg("-c")
            .arg(MOTO_LAUNCHER)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .env("PYTHONUNBUFFERED", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(log_err))
            .spawn()
            .map_err(|e| {
                StartError::Failed(format!(
                    "cannot run {}: {e}. Run `make setup` to (re)create the venv.",
                    python.display()
                ))
            })?;
        let mut server = MotoServer {
            child,
            port,
            log_path,
        };
        server.wait_until_ready()?;
        Ok(server)
    }

    /// Ready means: our process printed that it bound the port (so an answer on that port is
    /// not some other process that got it first) and then answered an HTTP request.
    fn wait_until_ready(&mut self) -> Result<(), StartError> {
        let banner = format!("Running on http://127.0.0.1:{}", self.port);
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        let mut last_probe = String::from("no HTTP request sent yet");
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                let log = self.log();
                if log.contains("Address already in use") || log.contains("is in use by") {
                    return Err(StartError::PortTaken);
                }
                return Err(StartError::Failed(format!(
                    "moto server exited during startup ({status}). Its output:\n{log}\n\
                     If moto is missing or broken, run `make setup`."
                )));
            }
            if self.log().contains(&banner) {
                match http_get(self.socket_addr(), "/moto-api/data.json") {
                    Ok((200, _)) => return Ok(()),
                    Ok((status, _)) => last_probe = format!("HTTP status {status}"),
                    Err(e) => last_probe = e.to_string(),
                }
            }
            if Instant::now() >= deadline {
                return Err(StartError::Failed(format!(
                    "moto server on port {} did not answer within {}s (last probe: {last_probe}). \
                     Its output:\n{}",
                    self.port,
                    STARTUP_TIMEOUT.as_secs(),
                    self.log()
                )));
            }
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// `http://127.0.0.1:<port>`, for `endpoint_url` settings and `AWS_ENDPOINT_URL*` variables.
    pub fn endpoint_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The loopback port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Process id of the server, to check from a test that it is gone after drop.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What the server printed so far (startup banner and one line per request).
    pub fn log(&self) -> String {
        fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// [`local_sdk_config`] for this server.
    pub fn sdk_config(&self) -> SdkConfig {
        local_sdk_config(&self.endpoint_url())
    }

    /// [`s3_client`] for this server (path-style addressing).
    pub fn s3_client(&self) -> aws_sdk_s3::Client {
        s3_client(&self.sdk_config())
    }

    /// [`moto_api_data`] of this server.
    pub fn api_data(&self) -> serde_json::Value {
        moto_api_data(&self.endpoint_url())
    }

    fn socket_addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        // kill() fails only when the process already exited; wait() then reaps it.
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = fs::remove_file(&self.log_path);
    }
}

enum StartError {
    PortTaken,
    Failed(String),
}

/// A port that was free on 127.0.0.1 a moment ago. Another process may take it before moto
/// binds it: [`MotoServer::start`] then retries with a new one.
fn free_loopback_port() -> u16 {
    TcpListener::bind(("127.0.0.1", 0))
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .unwrap_or_else(|e| panic!("cannot bind 127.0.0.1:0 to find a free port: {e}"))
}

/// The workspace root: the nearest directory above this crate's manifest that holds `Cargo.lock`.
pub fn workspace_root() -> PathBuf {
    let start = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    start
        .ancestors()
        .find(|dir| dir.join("Cargo.lock").is_file())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| {
            panic!(
                "no Cargo.lock in {} or above it: cannot locate the workspace root",
                start.display()
            )
        })
}

/// An SDK config for a local endpoint: region `us-east-1`, static test credentials, and
/// `endpoint_url` for every service.
///
/// Built from scratch rather than loaded from the environment, so a developer's profile or an
/// `AWS_ENDPOINT_URL_*` variable cannot send a test to a real account.
pub fn local_sdk_config(endpoint_url: &str) -> SdkConfig {
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "testing",
            "testing",
            None,
            None,
            "test-support",
        )))
        .endpoint_url(endpoint_url)
        .build()
}

/// An S3 client with path-style addressing (`http://127.0.0.1:port/bucket/key`): a local
/// endpoint has no DNS for `bucket.127.0.0.1`.
pub fn s3_client(config: &SdkConfig) -> aws_sdk_s3::Client {
    let s3_config = aws_sdk_s3::config::Builder::from(config)
        .force_path_style(true)
        .build();
    aws_sdk_s3::Client::from_conf(s3_config)
}

/// moto's state of every service (`GET <endpoint>/moto-api/data.json`), e.g. published SNS
/// messages under `["sns"]`.
///
/// # Panics
///
/// When the endpoint does not answer with status 200 and a JSON body.
pub fn moto_api_data(endpoint_url: &str) -> serde_json::Value {
    let authority = endpoint_url
        .strip_prefix("http://")
        .unwrap_or_else(|| panic!("moto_api_data needs an http:// endpoint, got {endpoint_url}"))
        .trim_end_matches('/');
    let addr = authority
        .to_socket_addrs()
        .ok()
        .and_then(|mut addrs| addrs.next())
        .unwrap_or_else(|| panic!("cannot resolve the endpoint {endpoint_url}"));
    let (status, body) = http_get(addr, "/moto-api/data.json")
        .unwrap_or_else(|e| panic!("GET {endpoint_url}/moto-api/data.json failed: {e}"));
    assert_eq!(
        status,
        200,
        "GET {endpoint_url}/moto-api/data.json answered {status}: {}",
        String::from_utf8_lossy(&body)
    );
    serde_json::from_slice(&body)
        .unwrap_or_else(|e| panic!("{endpoint_url}/moto-api/data.json is not JSON: {e}"))
}

/// A minimal HTTP/1.0 GET (the server closes the connection after the response, and sends no
/// chunked encoding). Enough for moto's own API; the SDK does the real requests.
fn http_get(addr: SocketAddr, path: &str) -> io::Result<(u16, Vec<u8>)> {
    let timeout = Duration::from_secs(30);
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    let request =
        format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\nAccept: */*\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes())?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;

    let invalid = |what: &str| io::Error::new(io::ErrorKind::InvalidData, what.to_string());
    let header_end = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| invalid("HTTP response without end of headers"))?;
    let head = String::from_utf8_lossy(&response[..header_end]);
    let status = head
        .lines()
        .next()
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|code| code.parse::<u16>().ok())
        .ok_or_else(|| invalid("HTTP response without a status line"))?;
    Ok((status, response[header_end + 4..].to_vec()))
}
