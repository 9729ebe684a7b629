//! One model server: a local process under SageMaker's hosting contract (`GET /ping`,
//! `POST /invocations` on the port it is told). Framework images in script mode run our
//! serving program (`serving/serve.py`) around the user's `model_fn`/`input_fn`/`predict_fn`/
//! `output_fn`; other images run `<command> serve`, from the same image rules as training.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, BufRead, BufReader};
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, Request, StatusCode, Uri, header};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tokio::process::{Child, Command};
use tokio::time::{Instant, sleep, timeout};
use tokio_util::sync::CancellationToken;

use super::records::Container;
use crate::archive;
use crate::images::{ImageCommands, OPT_ML_PLACEHOLDER};
use crate::s3::{self, S3Uri};
use crate::training::process::{OwnedGroup, ProcessGroups};

/// Our script-mode serving program, written into the work directory at each start.
const SERVE_PY: &str = include_str!("../../serving/serve.py");

/// SageMaker keeps the first 1024 characters of a failure reason.
const FAILURE_REASON_LIMIT: usize = 1024;

/// Lines of the server's log quoted in a failure reason.
const LOG_TAIL_LINES: usize = 8;

/// How often the health check asks, and how long one ping may take.
const PING_EVERY: Duration = Duration::from_millis(50);
const PING_TIMEOUT: Duration = Duration::from_secs(2);

/// The HTTP client every model server is called with (pooled, keep-alive).
pub type ModelClient = Client<HttpConnector, Full<Bytes>>;

pub fn client() -> ModelClient {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    Client::builder(TokioExecutor::new()).build(connector)
}

/// Where and how a model server starts.
pub struct Launch<'a> {
    /// `<work-dir>/endpoints/<endpoint>/<config>-<variant>/`: plays the container's `/opt/ml`.
    pub dir: PathBuf,
    pub work_dir: &'a Path,
    pub variant: &'a str,
    pub container: &'a Container,
    pub images: &'a ImageCommands,
    pub s3: &'a aws_sdk_s3::Client,
    pub groups: &'a ProcessGroups,
    pub client: &'a ModelClient,
    pub health_timeout: Duration,
    pub stop: &'a CancellationToken,
}

/// A running model server; dropping it kills its process group.
#[derive(Debug)]
pub struct ModelServer {
    base: String,
    log: PathBuf,
    _group: OwnedGroup,
    _child: Child,
}

/// What the model answered.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// The model server gave no HTTP answer.
#[derive(Debug, thiserror::Error)]
pub enum NoAnswer {
    #[error("the model server did not answer within {0} s")]
    TimedOut(u64),
    #[error("the model server gave no HTTP answer: {0}")]
    Broken(String),
}

impl ModelServer {
    /// Prepares `/opt/ml/model` and the code, starts the process and waits until `/ping`
    /// answers 200. The error is the endpoint's FailureReason.
    pub async fn start(launch: Launch<'_>) -> Result<Self, String> {
        let prepared = prepare(&launch).await?;
        let port = free_port().map_err(|e| format!("cannot find a free port: {e}"))?;
        let argv = command(&launch, &prepared, port)?;
        let log = launch.dir.join("server.log");
        let out =
            File::create(&log).map_err(|e| format!("cannot create {}: {e}", log.display()))?;
        let err = out
            .try_clone()
            .map_err(|e| format!("cannot open {}: {e}", log.display()))?;
        let (program, args) = argv.split_first().ok_or("empty command")?;
        let mut child = Command::new(program)
            .args(args)
            .current_dir(&prepared.cwd)
            .envs(environment(launch.container, &prepared, port))
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| {
                format!(
                    "The primary container for production variant {} could not start `{program}`: {e}",
                    launch.variant
                )
            })?;
        let pid = child
            .id()
            .and_then(|pid| i32::try_from(pid).ok())
            .ok_or("the model server has no pid")?;
        let group = launch.groups.adopt(pid);
        let base = format!("http://{}:{port}", Ipv4Addr::LOCALHOST);
        tracing::info!(variant = launch.variant, %base, "model server started");
        healthy(&launch, &mut child, &base, &log).await?;
        Ok(Self {
            base,
            log,
            _group: group,
            _child: child,
        })
    }

    /// Everything the server printed (CloudWatch's `/aws/sagemaker/Endpoints/<name>` stream).
    pub fn log(&self) -> &Path {
        &self.log
    }

    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// `POST /invocations` with the caller's body and headers.
    pub async fn invoke(
        &self,
        client: &ModelClient,
        headers: HeaderMap,
        body: Bytes,
        limit: Duration,
    ) -> Result<Answer, NoAnswer> {
        let uri: Uri = format!("{}/invocations", self.base)
            .parse()
            .map_err(|e| NoAnswer::Broken(format!("{e}")))?;
        let mut request = Request::builder().method(Method::POST).uri(uri);
        if let Some(h) = request.headers_mut() {
            *h = headers;
        }
        let request = request
            .body(Full::new(body))
            .map_err(|e| NoAnswer::Broken(e.to_string()))?;
        let call = async {
            let response = client
                .request(request)
                .await
                .map_err(|e| NoAnswer::Broken(error_chain(&e)))?;
            let (parts, body) = response.into_parts();
            let body = body
                .collect()
                .await
                .map_err(|e| NoAnswer::Broken(e.to_string()))?
                .to_bytes();
            Ok(Answer {
                status: parts.status,
                headers: parts.headers,
                body,
            })
        };
        timeout(limit, call)
            .await
            .unwrap_or(Err(NoAnswer::TimedOut(limit.as_secs())))
    }
}

/// The error and its causes, which hyper keeps apart.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

struct Prepared {
    model_dir: PathBuf,
    code_dir: PathBuf,
    cwd: PathBuf,
}

/// `/opt/ml/model` from ModelDataUrl, and the inference code from SAGEMAKER_SUBMIT_DIRECTORY
/// (a tar.gz in S3, as the SageMaker Python SDK uploads it) or `model/code/`.
async fn prepare(launch: &Launch<'_>) -> Result<Prepared, String> {
    let dir = &launch.dir;
    let model_dir = dir.join("model");
    let _ = fs::remove_dir_all(dir);
    fs::create_dir_all(&model_dir).map_err(|e| {
        format!(
            "InternalServerError: cannot create {}: {e}",
            model_dir.display()
        )
    })?;
    if let Some(url) = &launch.container.model_data_url {
        fetch_tar_gz(launch.s3, url, &dir.join("model.tar.gz"), &model_dir)
            .await
            .map_err(|e| {
                format!(
                    "Failed to download model data from {url}: {e}. Please ensure that there is \
                     an object located at the URL and that the role passed to CreateModel has \
                     permissions to download the model."
                )
            })?;
    }
    let code_dir = match launch
        .container
        .environment
        .get("SAGEMAKER_SUBMIT_DIRECTORY")
    {
        Some(uri) if uri.starts_with("s3://") => {
            let code = dir.join("code");
            fs::create_dir_all(&code).map_err(|e| format!("InternalServerError: {e}"))?;
            fetch_tar_gz(launch.s3, uri, &dir.join("sourcedir.tar.gz"), &code)
                .await
                .map_err(|e| format!("Failed to download SAGEMAKER_SUBMIT_DIRECTORY {uri}: {e}"))?;
            code
        }
        // The container's own path: the code inside model.tar.gz.
        Some(path) => match path.strip_prefix("/opt/ml/model") {
            Some(rest) => model_dir.join(rest.trim_start_matches('/')),
            None => {
                return Err(format!(
                    "SAGEMAKER_SUBMIT_DIRECTORY `{path}` is neither an s3:// URI nor a folder \
                     under /opt/ml/model"
                ));
            }
        },
        None => model_dir.join("code"),
    };
    let cwd = if launch.container.script_mode().is_some() && code_dir.is_dir() {
        code_dir.clone()
    } else {
        dir.clone()
    };
    Ok(Prepared {
        model_dir,
        code_dir,
        cwd,
    })
}

async fn fetch_tar_gz(
    client: &aws_sdk_s3::Client,
    uri: &str,
    archive_path: &Path,
    dest: &Path,
) -> Result<(), String> {
    let parsed: S3Uri = uri.parse().map_err(|e: s3::TransferError| e.to_string())?;
    s3::download_object(client, &parsed, archive_path)
        .await
        .map_err(|e| e.to_string())?;
    let (archive_path, dest) = (archive_path.to_owned(), dest.to_owned());
    tokio::task::spawn_blocking(move || archive::unpack(&archive_path, &dest))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("not a tar.gz archive: {e}"))
}

fn command(launch: &Launch<'_>, prepared: &Prepared, port: u16) -> Result<Vec<String>, String> {
    let image = &launch.container.image;
    if let Some(program) = launch.container.script_mode() {
        let entry = launch
            .images
            .entrypoint(image, true)
            .ok_or("script mode always has a command")?;
        let serve_dir = launch.work_dir.join("serving");
        fs::create_dir_all(&serve_dir).map_err(|e| format!("InternalServerError: {e}"))?;
        let serve = serve_dir.join("serve.py");
        fs::write(&serve, SERVE_PY).map_err(|e| format!("InternalServerError: {e}"))?;
        let mut argv = entry.command;
        for arg in [
            serve.display().to_string(),
            "--host".into(),
            Ipv4Addr::LOCALHOST.to_string(),
            "--port".into(),
            port.to_string(),
            "--model-dir".into(),
            prepared.model_dir.display().to_string(),
            "--code-dir".into(),
            prepared.code_dir.display().to_string(),
            "--program".into(),
            program.to_owned(),
        ] {
            argv.push(arg);
        }
        return Ok(argv);
    }
    let entry = launch.images.entrypoint(image, false).ok_or_else(|| {
        format!(
            "The local SageMaker has no command for the image {image} of production variant {}: \
             start it with --image 'PATTERN=COMMAND' (the model server runs as `COMMAND serve` \
             in a folder laid out as /opt/ml ({OPT_ML_PLACEHOLDER} in COMMAND), and listens on \
             SAGEMAKER_BIND_TO_PORT), or give the container SAGEMAKER_PROGRAM to serve a \
             framework model in script mode",
            launch.variant
        )
    })?;
    let opt_ml = launch.dir.display().to_string();
    let mut argv: Vec<String> = entry
        .command
        .iter()
        .map(|arg| arg.replace(OPT_ML_PLACEHOLDER, &opt_ml))
        .collect();
    argv.push("serve".into());
    Ok(argv)
}

fn environment(container: &Container, prepared: &Prepared, port: u16) -> BTreeMap<String, String> {
    let mut env = container.environment.clone();
    env.insert("SAGEMAKER_BIND_TO_PORT".into(), port.to_string());
    env.insert(
        "SM_MODEL_DIR".into(),
        prepared.model_dir.display().to_string(),
    );
    env.insert("PYTHONUNBUFFERED".into(), "1".into());
    env.insert("PYTHONDONTWRITEBYTECODE".into(), "1".into());
    env
}

/// A port nothing listens on now (the server binds it a moment later).
fn free_port() -> io::Result<u16> {
    Ok(TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
        .local_addr()?
        .port())
}

/// Waits for `/ping` to answer 200; a process that exits or never answers fails the start
/// with what it printed last.
async fn healthy(
    launch: &Launch<'_>,
    child: &mut Child,
    base: &str,
    log: &Path,
) -> Result<(), String> {
    let deadline = Instant::now() + launch.health_timeout;
    let variant = launch.variant;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(reason(
                format!(
                    "The primary container for production variant {variant} exited ({status}) \
                     before it passed the ping health check."
                ),
                log,
            ));
        }
        if ping(launch.client, base).await {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(reason(
                format!(
                    "The primary container for production variant {variant} did not pass the \
                     ping health check within {} s.",
                    launch.health_timeout.as_secs()
                ),
                log,
            ));
        }
        tokio::select! {
            () = sleep(PING_EVERY) => {}
            () = launch.stop.cancelled() => return Err("the endpoint was deleted".into()),
        }
    }
}

async fn ping(client: &ModelClient, base: &str) -> bool {
    let Ok(uri) = format!("{base}/ping").parse::<Uri>() else {
        return false;
    };
    let Ok(request) = Request::get(uri)
        .header(header::ACCEPT, "*/*")
        .body(Full::new(Bytes::new()))
    else {
        return false;
    };
    matches!(
        timeout(PING_TIMEOUT, client.request(request)).await,
        Ok(Ok(response)) if response.status() == StatusCode::OK
    )
}

/// `head` and the last lines the server printed, within SageMaker's 1024 characters.
fn reason(head: String, log: &Path) -> String {
    let tail = log_tail(log, LOG_TAIL_LINES);
    let text = if tail.is_empty() {
        head
    } else {
        format!("{head} Its last output: {}", tail.join(" | "))
    };
    cut_front(&text, FAILURE_REASON_LIMIT)
}

/// The last `n` non-empty lines of a log.
pub fn log_tail(log: &Path, n: usize) -> Vec<String> {
    let Ok(file) = File::open(log) else {
        return Vec::new();
    };
    let mut lines: Vec<String> = BufReader::new(file)
        .lines()
        .map_while(Result::ok)
        .filter(|l| !l.trim().is_empty())
        .collect();
    let start = lines.len().saturating_sub(n);
    lines.drain(..start);
    lines
}

/// At most `limit` characters, keeping the start and the end (where the error is).
fn cut_front(text: &str, limit: usize) -> String {
    let count = text.chars().count();
    if count <= limit {
        return text.to_owned();
    }
    let head: String = text.chars().take(limit / 2 - 2).collect();
    let tail: String = text.chars().skip(count - (limit / 2 - 2)).collect();
    format!("{head} .. {tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_reasons_keep_their_start_and_end() {
        let text = format!("start {} end", "x".repeat(3000));
        let cut = cut_front(&text, 1024);
        assert!(cut.chars().count() <= 1024);
        assert!(cut.starts_with("start ") && cut.ends_with(" end"), "{cut}");
        assert_eq!(cut_front("short", 1024), "short");
    }

    #[test]
    fn the_log_tail_skips_blank_lines() {
        let dir = std::env::temp_dir().join(format!("log-tail-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let log = dir.join("server.log");
        fs::write(&log, "a\n\nb\nc\n  \nd\n").unwrap();
        assert_eq!(log_tail(&log, 2), ["c", "d"]);
        assert_eq!(log_tail(&dir.join("missing"), 2), Vec::<String>::new());
        fs::remove_dir_all(&dir).unwrap();
    }
}
