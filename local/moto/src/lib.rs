//! The project's pinned moto server (`moto[server]`, from `tools/requirements/`), started on a free
//! loopback port and stopped with its owner.
//!
//! The local pipeline and the tests use it for S3, SNS and the SageMaker Model Registry. Each
//! [`MotoServer`] is its own process with its own state; dropping it kills and reaps the process,
//! and a watchdog in the server exits it when its owner dies without running destructors (its
//! stdin is a pipe from the owner: EOF means the owner is gone).
//!
//! ```no_run
//! # fn example() -> Result<(), local_moto::MotoError> {
//! let moto = local_moto::MotoServer::start(".venv".as_ref())?;
//! println!("{}", moto.endpoint_url());
//! let state = moto.api_data()?; // moto's view of every service, as JSON
//! # Ok(())
//! # }
//! ```

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

/// How long a moto server may take to answer after it was spawned. Importing moto takes 1-3 s
/// on a 2-core machine; several servers may start at the same time.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);

/// How often a new port is tried when another process took the one we picked.
const PORT_ATTEMPTS: usize = 5;

/// Runs `moto.server.main` like the venv's `moto_server` script does, plus a watchdog thread: the
/// server's stdin is a pipe from the owner, so EOF there means the owner is gone (even if it was
/// killed with SIGKILL and no destructor ran) and the server exits with it.
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

#[derive(Debug, thiserror::Error)]
pub enum MotoError {
    #[error(
        "moto is not installed: {0} does not exist. Run `make setup` in the project root: it \
         creates .venv/ with the pinned moto[server]."
    )]
    NotInstalled(PathBuf),
    #[error("{0}")]
    Start(String),
    #[error(
        "moto server could not bind a loopback port: ports {0:?} were taken by other processes \
         between picking and binding them"
    )]
    PortsTaken(Vec<u16>),
    #[error("GET {url} failed: {reason}")]
    Api { url: String, reason: String },
}

/// A moto server listening on `127.0.0.1`.
#[derive(Debug)]
pub struct MotoServer {
    child: Child,
    port: u16,
    log_path: PathBuf,
}

impl MotoServer {
    /// Starts the moto server of the Python virtual environment `venv` and waits until it
    /// answers.
    pub fn start(venv: &Path) -> Result<MotoServer, MotoError> {
        let moto_server = venv.join("bin").join("moto_server");
        let python = venv.join("bin").join("python");
        if !moto_server.is_file() || !python.is_file() {
            return Err(MotoError::NotInstalled(moto_server));
        }
        let mut taken = Vec::new();
        for _ in 0..PORT_ATTEMPTS {
            let port = free_loopback_port()
                .map_err(|e| MotoError::Start(format!("cannot find a free loopback port: {e}")))?;
            match Self::spawn_on(&python, port) {
                Ok(server) => return Ok(server),
                Err(Spawn::PortTaken) => taken.push(port),
                Err(Spawn::Failed(message)) => return Err(MotoError::Start(message)),
            }
        }
        Err(MotoError::PortsTaken(taken))
    }

    fn spawn_on(python: &Path, port: u16) -> Result<MotoServer, Spawn> {
        let id = SERVER_COUNTER.fetch_add(1, Ordering::Relaxed);
        let log_path = std::env::temp_dir().join(format!(
            "moto-server-{}-{id}-{port}.log",
            std::process::id()
        ));
        let log = File::create(&log_path).map_err(|e| {
            Spawn::Failed(format!(
                "cannot create the moto server log {}: {e}",
                log_path.display()
            ))
        })?;
        let log_err = log
            .try_clone()
            .map_err(|e| Spawn::Failed(format!("cannot share the moto server log handle: {e}")))?;
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
                Spawn::Failed(format!(
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
    fn wait_until_ready(&mut self) -> Result<(), Spawn> {
        let banner = format!("Running on http://127.0.0.1:{}", self.port);
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        let mut last_probe = String::from("no HTTP request sent yet");
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                let log = self.log();
                if log.contains("Address already in use") || log.contains("is in use by") {
                    return Err(Spawn::PortTaken);
                }
                return Err(Spawn::Failed(format!(
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
                return Err(Spawn::Failed(format!(
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

    /// Process id of the server.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What the server printed so far (startup banner and one line per request).
    pub fn log(&self) -> String {
        fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// [`api_data`] of this server.
    pub fn api_data(&self) -> Result<serde_json::Value, MotoError> {
        api_data(&self.endpoint_url())
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

enum Spawn {
    PortTaken,
    Failed(String),
}

/// A port that was free on 127.0.0.1 a moment ago. Another process may take it before the
/// server binds it: [`MotoServer::start`] then retries with a new one.
pub fn free_loopback_port() -> io::Result<u16> {
    TcpListener::bind(("127.0.0.1", 0))
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
}

/// moto's state of every service (`GET <endpoint>/moto-api/data.json`), e.g. published SNS
/// messages under `["sns"]`.
pub fn api_data(endpoint_url: &str) -> Result<serde_json::Value, MotoError> {
    let url = format!("{endpoint_url}/moto-api/data.json");
    let fail = |reason: String| MotoError::Api {
        url: url.clone(),
        reason,
    };
    let authority = endpoint_url
        .strip_prefix("http://")
        .ok_or_else(|| fail("not an http:// endpoint".into()))?
        .trim_end_matches('/');
    let addr = authority
        .to_socket_addrs()
        .ok()
        .and_then(|mut addrs| addrs.next())
        .ok_or_else(|| fail("cannot resolve the endpoint".into()))?;
    let (status, body) = http_get(addr, "/moto-api/data.json").map_err(|e| fail(e.to_string()))?;
    if status != 200 {
        return Err(fail(format!(
            "status {status}: {}",
            String::from_utf8_lossy(&body)
        )));
    }
    serde_json::from_slice(&body).map_err(|e| fail(format!("not JSON: {e}")))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_venv_is_an_error_that_says_how_to_install_it() {
        let err = MotoServer::start(Path::new("/nonexistent-venv")).unwrap_err();
        assert!(matches!(err, MotoError::NotInstalled(_)), "{err:?}");
        assert!(err.to_string().contains("make setup"), "{err}");
    }

    #[test]
    fn api_data_of_a_closed_port_is_an_error_naming_the_url() {
        let port = free_loopback_port().unwrap();
        let err = api_data(&format!("http://127.0.0.1:{port}")).unwrap_err();
        assert!(err.to_string().contains("/moto-api/data.json"), "{err}");
        assert!(api_data("https://example.com").is_err());
    }
}
