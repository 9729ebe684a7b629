//! A local CodeBuild: runs a model repository's `buildspec.yml` as the pipeline's Build action
//! would, and collects its exported variables (the action's output variables,
//! `#{BuildVariables.SOURCE_DIR_URI}`).
//!
//! # What is emulated
//!
//! - **The buildspec** ([`Buildspec`]), checked against the CodeBuild buildspec reference: an
//!   unknown key, a value of the wrong type or invalid YAML is an error with the file, line,
//!   column and key (`buildspec.yml:14:3: phases.biuld: unknown key ...`).
//! - **One shell for the whole build** (version 0.2): all commands of all phases run, one at a
//!   time, in the same shell process, so `cd`, `export` and plain shell variables carry from one
//!   command and phase to the next. Version 0.1 runs each command in a subshell (nothing carries).
//!   The shell is `env.shell` (`bash` or `/bin/sh`); without it, `/bin/sh`, which is CodeBuild's
//!   default on Linux (a `[[ ]]` that needs bash fails here as it does there).
//! - **Phases and failures**, as CodeBuild documents them: INSTALL, PRE_BUILD, BUILD, POST_BUILD.
//!   A failing command stops its phase's `commands`; the phase's `finally` commands still run; the
//!   phase fails. After a failed INSTALL or PRE_BUILD no later phase runs; after a failed BUILD,
//!   POST_BUILD still runs, with `CODEBUILD_BUILD_SUCCEEDING=0`. `on-failure: ABORT` stops the
//!   build after the phase, `on-failure: CONTINUE` runs the next phase (the build still fails).
//!   A command that ends the shell itself (`exit 1`, `${VAR:?}`) fails with that exit status; the
//!   next commands run in a new shell that keeps the exported variables and working directory.
//! - **Exported variables** (`env.exported-variables`): their values at the end of the build
//!   (after POST_BUILD), shell or environment variables alike. One never set is not in
//!   [`BuildOutcome::exported`] (the log says so). Names starting with `AWS_` are not exported,
//!   as in CodeBuild.
//! - **The environment**: `PATH` (the request's [`BuildRequest::path_prefix`] first, then the
//!   caller's `PATH`), `HOME`, `LANG`, then `env.variables`, then [`BuildRequest::environment`]
//!   (the project's and the action's variables override the buildspec's, as in CodeBuild), and
//!   CodeBuild's own variables: `CODEBUILD_SRC_DIR`, `CODEBUILD_BUILD_ID` (`<project>:<uuid>`),
//!   `CODEBUILD_BUILD_ARN`, `CODEBUILD_BUILD_NUMBER` (per project, from 1, in this process),
//!   `CODEBUILD_PROJECT_ARN`, `CODEBUILD_RESOLVED_SOURCE_VERSION`, `CODEBUILD_SOURCE_VERSION`
//!   (the resolved version too: there is no S3 input artifact here), `CODEBUILD_INITIATOR`,
//!   `CODEBUILD_START_TIME` (ms), `CODEBUILD_LOG_PATH`, `CODEBUILD_BUILD_SUCCEEDING`,
//!   `AWS_REGION` and `AWS_DEFAULT_REGION`. Nothing else of the caller's environment reaches the
//!   build: no credentials of the developer leak into it. `AWS_CONFIG_FILE` and
//!   `AWS_SHARED_CREDENTIALS_FILE` point at empty files of the build unless the request or the
//!   buildspec sets them, so the developer's `~/.aws` is not read either.
//! - **Timeout and cleanup**: the shell runs in its own process group; at the timeout, at the
//!   end of the build and when the [`run`] future is dropped, the whole group is killed (also
//!   what commands left running in the background).
//! - **The log**: every output line (stdout and stderr, as they come), and CodeBuild-style
//!   `[Container] 2026/11/26 07:23:17.123456 Running command ...` and `Phase complete: BUILD
//!   State: SUCCEEDED` lines.
//!
//! # What is not
//!
//! No container image (commands use the tools on `PATH`), no `install.runtime-versions` (logged
//! and ignored), no `run-as`, `artifacts`, `reports`, `cache`, `proxy` or `batch` (checked and
//! logged as not emulated), no Parameter Store or Secrets Manager (`env.parameter-store` and
//! `env.secrets-manager` are errors saying so), no `git-credential-helper`, no source download
//! (the build runs in [`BuildRequest::source_dir`], which it may change: give it a copy).
//!
//! # What the caller passes
//!
//! In [`BuildRequest::environment`]: the project's and the action's variables (this pipeline:
//! `ARTIFACT_BUCKET`, `COMMIT_ID`, `PIPELINE_EXECUTION_ID`) and, for the AWS CLI and SDKs in the
//! build, the local endpoints and static test credentials: `AWS_ENDPOINT_URL_S3` (or
//! `AWS_ENDPOINT_URL`), `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`. The region comes from
//! [`BuildRequest::region`]. Against a local endpoint the AWS CLI v1 (botocore) addresses S3
//! path-style on its own (a custom endpoint URL makes path style the default, for an IP address
//! and a host name alike), so no AWS config file is needed. In
//! [`BuildRequest::path_prefix`]: the directories with the build's tools, e.g. the project's
//! `.venv/bin` (`aws`, `python3`).
//!
//! ```no_run
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//! use local_codebuild::{BuildRequest, Buildspec};
//!
//! let source = std::path::PathBuf::from("/tmp/model-repo-copy");
//! let (log, mut lines) = tokio::sync::mpsc::unbounded_channel();
//! tokio::spawn(async move {
//!     while let Some(line) = lines.recv().await {
//!         println!("{line}");
//!     }
//! });
//! let outcome = local_codebuild::run(
//!     BuildRequest {
//!         project_name: "sagemaker-cicd-build".into(),
//!         buildspec: Buildspec::load(&source.join("buildspec.yml"))?,
//!         source_dir: source,
//!         environment: vec![
//!             ("ARTIFACT_BUCKET".into(), "artifacts".into()),
//!             ("COMMIT_ID".into(), "9f2c1e4".into()),
//!             ("AWS_ENDPOINT_URL_S3".into(), "http://127.0.0.1:5000".into()),
//!             ("AWS_ACCESS_KEY_ID".into(), "testing".into()),
//!             ("AWS_SECRET_ACCESS_KEY".into(), "testing".into()),
//!         ],
//!         resolved_source_version: "9f2c1e4".into(),
//!         initiator: "codepipeline/sagemaker-cicd-pipeline".into(),
//!         region: "us-east-1".into(),
//!         account_id: "123456789012".into(),
//!         timeout: Duration::from_secs(30 * 60),
//!         path_prefix: vec![".venv/bin".into()],
//!     },
//!     log,
//! )
//! .await?;
//! println!("{:?}: {:?}", outcome.status, outcome.exported.get("SOURCE_DIR_URI"));
//! # Ok(())
//! # }
//! ```

mod buildspec;
mod shell;

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::mpsc::UnboundedSender;
use tokio::time::Instant;

pub use crate::buildspec::{
    Buildspec, BuildspecError, Command, MAX_BUILDSPEC_BYTES, OnFailure, Phase, PhaseSpec, Shell,
    Version,
};
use crate::shell::{BuildShell, Ended, Mode, Tail};

/// Lines kept in [`BuildOutcome::log_tail`].
pub const LOG_TAIL_LINES: usize = 50;

/// `PATH` after the prefix when the caller has none.
const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// One build to run.
#[derive(Debug, Clone)]
pub struct BuildRequest {
    /// The CodeBuild project's name (`CODEBUILD_BUILD_ID` is `<project_name>:<uuid>`).
    pub project_name: String,
    /// The source to build; the build runs in it and may change it (give it a copy).
    pub source_dir: PathBuf,
    pub buildspec: Buildspec,
    /// The project's and the action's environment variables, and the AWS endpoint, credential
    /// and region variables for the tools in the build. They override `env.variables` of the
    /// buildspec; names starting with `CODEBUILD_` are CodeBuild's and refused.
    pub environment: Vec<(String, String)>,
    /// `CODEBUILD_RESOLVED_SOURCE_VERSION` (and `CODEBUILD_SOURCE_VERSION`): the commit.
    pub resolved_source_version: String,
    /// `CODEBUILD_INITIATOR`, e.g. `codepipeline/<pipeline name>`.
    pub initiator: String,
    /// `AWS_REGION`, `AWS_DEFAULT_REGION` and the region of the build's ARN.
    pub region: String,
    /// The account of the build's and the project's ARN.
    pub account_id: String,
    /// The whole build's limit (CodeBuild's `TimeoutInMinutes`).
    pub timeout: Duration,
    /// Directories put first on `PATH`, in this order (e.g. a venv's `bin` with `aws` and
    /// `python3`).
    pub path_prefix: Vec<PathBuf>,
}

/// How a build ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildOutcome {
    pub status: BuildStatus,
    /// The phases that ran, in order (a phase absent from the buildspec runs with no commands,
    /// as in CodeBuild; phases skipped after a failure are not listed).
    pub phases: Vec<PhaseReport>,
    /// The exported variables that were set at the end of the build, by name.
    pub exported: BTreeMap<String, String>,
    pub duration: Duration,
    /// The last [`LOG_TAIL_LINES`] lines of the log (output and `[Container]` lines).
    pub log_tail: Vec<String>,
    /// `CODEBUILD_BUILD_ID`: `<project>:<uuid>`.
    pub build_id: String,
}

/// The build's result. `phase` is CodeBuild's phase name (`PRE_BUILD`, see [`Phase::name`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuildStatus {
    Succeeded,
    /// The first command that failed. `exit_code` is `None` when the shell was killed by a
    /// signal.
    Failed {
        phase: String,
        command: String,
        exit_code: Option<i32>,
    },
    /// The build's timeout passed during this phase; its processes were killed.
    TimedOut {
        phase: String,
    },
}

impl BuildStatus {
    pub fn is_success(&self) -> bool {
        matches!(self, BuildStatus::Succeeded)
    }
}

impl fmt::Display for BuildStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildStatus::Succeeded => f.write_str("SUCCEEDED"),
            BuildStatus::Failed {
                phase,
                command,
                exit_code,
            } => {
                write!(f, "FAILED in phase {phase}: command `{command}` ")?;
                match exit_code {
                    Some(code) => write!(f, "exited with status {code}"),
                    None => f.write_str("was killed by a signal"),
                }
            }
            BuildStatus::TimedOut { phase } => write!(f, "TIMED_OUT in phase {phase}"),
        }
    }
}

/// One phase that ran.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhaseReport {
    pub phase: Phase,
    pub status: PhaseStatus,
    pub duration: Duration,
    /// CodeBuild's phase context, e.g. `COMMAND_EXECUTION_ERROR: Error while executing command:
    /// make. Reason: exit status 2`; empty when the phase succeeded.
    pub context: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PhaseStatus {
    Succeeded,
    /// The phase's first failing command (in `commands` or `finally`).
    Failed {
        command: String,
        exit_code: Option<i32>,
    },
    TimedOut,
}

impl PhaseStatus {
    /// CodeBuild's `phaseStatus` (`SUCCEEDED`, `FAILED`, `TIMED_OUT`).
    pub fn name(&self) -> &'static str {
        match self {
            PhaseStatus::Succeeded => "SUCCEEDED",
            PhaseStatus::Failed { .. } => "FAILED",
            PhaseStatus::TimedOut => "TIMED_OUT",
        }
    }
}

/// A build that could not be run at all (a failing build is an `Ok` [`BuildOutcome`]).
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("invalid build request: {0}")]
    InvalidRequest(String),
    #[error("cannot start the build's shell {shell}: {source}")]
    Spawn {
        shell: String,
        #[source]
        source: io::Error,
    },
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: io::Error,
    },
}

/// Runs the build: every phase of `request.buildspec` in one shell, in `request.source_dir`.
/// Each output line and CodeBuild-style `[Container]` line goes to `log` as it comes (a closed
/// receiver is fine). A failing or timed-out build is `Ok` with its [`BuildStatus`]; `Err` means
/// the build could not run. Dropping the future kills the build's processes.
pub async fn run(
    request: BuildRequest,
    log: UnboundedSender<String>,
) -> Result<BuildOutcome, BuildError> {
    let started = Instant::now();
    let deadline = started
        .checked_add(request.timeout)
        .unwrap_or_else(far_future);
    let source_dir = check_request(&request)?;
    let uuid = uuid_v4();
    let build_id = format!("{}:{uuid}", request.project_name);
    let start_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis();

    let dir = BuildDir::create(&uuid)?;
    let env = environment(&request, &source_dir, &build_id, &uuid, start_ms, &dir.path)?;
    let buildspec = &request.buildspec;
    let shell_kind = buildspec.shell().unwrap_or(Shell::Sh);
    let mut log = Log {
        sender: log,
        tail: Tail::new(LOG_TAIL_LINES),
    };

    let mut shell = BuildShell::new(
        PathBuf::from(shell_kind.program()),
        env,
        source_dir.clone(),
        dir.path.clone(),
        uuid.replace('-', ""),
    )
    .map_err(|source| BuildError::Io {
        context: "cannot create the build's output pipe".into(),
        source,
    })?;

    log.container(&format!("Running build {build_id} (local CodeBuild)"));
    log.container(&format!("CODEBUILD_SRC_DIR={}", source_dir.display()));
    log.container(&format!(
        "YAML location is {}",
        buildspec.origin().display()
    ));
    log.container("Processing environment variables");
    for note in buildspec.notes() {
        log.container(&format!("Not emulated locally: {note}"));
    }
    log.container(&format!("Moving to directory {}", source_dir.display()));
    log.container(&format!("Shell: {}", shell_kind.program()));
    let given: Vec<(Phase, &PhaseSpec)> = Phase::ALL
        .into_iter()
        .filter_map(|phase| buildspec.phase(phase).map(|spec| (phase, spec)))
        .collect();
    log.container(&format!("Phases found in YAML: {}", given.len()));
    for (phase, spec) in &given {
        log.container(&format!(
            " {}: {} commands",
            phase.name(),
            spec.commands.len() + spec.finally.len()
        ));
    }
    shell.start().map_err(|source| BuildError::Spawn {
        shell: shell_kind.program().into(),
        source,
    })?;

    let mode = match buildspec.version() {
        Version::V0_2 => Mode::SameShell,
        Version::V0_1 => Mode::Subshell,
    };
    let mut status = BuildStatus::Succeeded;
    let mut phases = Vec::new();
    let empty = PhaseSpec::default();
    for phase in Phase::ALL {
        let spec = buildspec.phase(phase).unwrap_or(&empty);
        log.container(&format!("Entering phase {}", phase.name()));
        let phase_started = Instant::now();
        if phase == Phase::Install && !spec.runtime_versions.is_empty() {
            let runtimes: Vec<String> = spec
                .runtime_versions
                .iter()
                .map(|(runtime, version)| format!("{runtime}: {version}"))
                .collect();
            log.container(&format!(
                "Skipping install of runtimes ({}): runtime-versions are not emulated; the \
                 commands use the tools on PATH",
                runtimes.join(", ")
            ));
        }

        let mut failure: Option<(String, Option<i32>, String)> = None;
        let mut timed_out = false;
        for block in [&spec.commands, &spec.finally] {
            for command in block {
                // As the log and the status show it (a `|` block ends with a newline).
                let shown = command.text.trim_end_matches('\n');
                log.container(&format!("Running command {shown}"));
                let ended = shell
                    .run(&command.text, mode, deadline, &mut |line| log.line(line))
                    .await
                    .map_err(|source| BuildError::Io {
                        context: format!(
                            "cannot run a command in the build's shell ({})",
                            shell_kind.program()
                        ),
                        source,
                    })?;
                let (code, reason) = match ended {
                    Ended::Exit(0) | Ended::ShellExited { code: Some(0), .. } => continue,
                    Ended::TimedOut => {
                        timed_out = true;
                        break;
                    }
                    Ended::Exit(code) => (Some(code), format!("exit status {code}")),
                    Ended::ShellExited { code, signal } => {
                        let reason = match (code, signal) {
                            (Some(code), _) => format!("exit status {code}"),
                            (None, Some(signal)) => format!("signal {signal}"),
                            (None, None) => "the shell ended".to_owned(),
                        };
                        log.container(&format!(
                            "The command ended the build's shell ({reason}); the next commands \
                             run in a new shell with the exported variables and working \
                             directory it had"
                        ));
                        (code, reason)
                    }
                };
                log.container(&format!(
                    "Command did not exit successfully {shown} {reason}"
                ));
                if failure.is_none() {
                    failure = Some((shown.to_owned(), code, reason));
                }
                break;
            }
            if timed_out {
                break;
            }
        }

        let (phase_status, context) = if timed_out {
            (
                PhaseStatus::TimedOut,
                format!(
                    "BUILD_TIMED_OUT: Build has timed out after {} seconds",
                    request.timeout.as_secs()
                ),
            )
        } else if let Some((command, exit_code, reason)) = &failure {
            (
                PhaseStatus::Failed {
                    command: command.clone(),
                    exit_code: *exit_code,
                },
                format!(
                    "COMMAND_EXECUTION_ERROR: Error while executing command: {command}. Reason: \
                     {reason}"
                ),
            )
        } else {
            (PhaseStatus::Succeeded, String::new())
        };
        log.container(&format!(
            "Phase complete: {} State: {}",
            phase.name(),
            phase_status.name()
        ));
        log.container(&format!(
            "Phase context status code: {} Message: {}",
            context.split(": ").next().unwrap_or_default(),
            context.split_once(": ").map(|(_, m)| m).unwrap_or_default()
        ));
        phases.push(PhaseReport {
            phase,
            status: phase_status,
            duration: phase_started.elapsed(),
            context,
        });

        if timed_out {
            shell.kill().await;
            log.container(&format!(
                "Build timed out after {} seconds; its processes were killed",
                request.timeout.as_secs()
            ));
            status = BuildStatus::TimedOut {
                phase: phase.name().into(),
            };
            return Ok(BuildOutcome {
                status,
                phases,
                exported: BTreeMap::new(),
                duration: started.elapsed(),
                log_tail: log.tail.into_vec(),
                build_id,
            });
        }
        let Some((command, exit_code, _)) = failure else {
            continue;
        };
        if status.is_success() {
            status = BuildStatus::Failed {
                phase: phase.name().into(),
                command,
                exit_code,
            };
            // Later phases (POST_BUILD after BUILD, or with on-failure: CONTINUE) see it.
            let _ = shell
                .run(
                    "CODEBUILD_BUILD_SUCCEEDING=0; export CODEBUILD_BUILD_SUCCEEDING",
                    Mode::SameShell,
                    deadline,
                    &mut |line| log.line(line),
                )
                .await;
        }
        let next = match (spec.on_failure, phase) {
            (Some(OnFailure::Continue), _) => true,
            (Some(OnFailure::Abort), _) => false,
            // CodeBuild's phase transitions: a failed BUILD goes on to POST_BUILD.
            (None, Phase::Build) => true,
            (None, _) => false,
        };
        if !next {
            break;
        }
    }

    let exported = collect_exported(&mut shell, buildspec, &dir.path, deadline, &mut log).await;
    shell.finish(&mut |line| log.line(line)).await;
    log.container(&format!("Build {}: {status}", build_id));
    Ok(BuildOutcome {
        status,
        phases,
        exported,
        duration: started.elapsed(),
        log_tail: log.tail.into_vec(),
        build_id,
    })
}

/// The exported variables' values in the build's shell now (unset ones are left out).
async fn collect_exported(
    shell: &mut BuildShell,
    buildspec: &Buildspec,
    dir: &Path,
    deadline: Instant,
    log: &mut Log,
) -> BTreeMap<String, String> {
    let names = buildspec.exported_variables();
    let mut exported = BTreeMap::new();
    if names.is_empty() {
        return exported;
    }
    let out = dir.join("exported");
    let quoted = shell_quote(&out.to_string_lossy());
    // Names are checked identifiers (Buildspec::parse), safe to put into the script.
    let script: String = names
        .iter()
        .map(|name| {
            format!(
                "if [ \"${{{name}+set}}\" = set ]; then printf '%s' \"${name}\" > {quoted}/{name}; fi\n"
            )
        })
        .collect();
    let ended = shell
        .run(&script, Mode::SameShell, deadline, &mut |line| {
            log.line(line)
        })
        .await;
    if !matches!(ended, Ok(Ended::Exit(_))) {
        log.container("Could not read the exported variables from the build's shell");
        return exported;
    }
    for name in names {
        match std::fs::read(out.join(name)) {
            Ok(value) => {
                exported.insert(name.clone(), String::from_utf8_lossy(&value).into_owned());
            }
            Err(_) => log.container(&format!(
                "Exported variable {name} was never set during the build; it is not exported"
            )),
        }
    }
    exported
}

struct Log {
    sender: UnboundedSender<String>,
    tail: Tail,
}

impl Log {
    fn line(&mut self, line: String) {
        self.tail.push(&line);
        let _ = self.sender.send(line);
    }

    /// A CodeBuild agent line; a multi-line message becomes several lines.
    fn container(&mut self, message: &str) {
        let stamp = timestamp(SystemTime::now());
        let mut lines = message.split('\n');
        let first = lines.next().unwrap_or_default();
        self.line(format!("[Container] {stamp} {first}"));
        for rest in lines {
            self.line(rest.to_owned());
        }
    }
}

/// The build's private directory (commands, the shell's saved state, exported values, empty
/// AWS config files), removed when the build ends.
struct BuildDir {
    path: PathBuf,
}

impl BuildDir {
    fn create(uuid: &str) -> Result<BuildDir, BuildError> {
        use std::os::unix::fs::DirBuilderExt;
        let path = std::env::temp_dir().join(format!("local-codebuild-{uuid}"));
        let context = format!("cannot create the build directory {}", path.display());
        let io_error = |source| BuildError::Io {
            context: context.clone(),
            source,
        };
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&path)
            .map_err(io_error)?;
        let dir = BuildDir { path };
        for sub in ["cmd", "state", "exported", "aws"] {
            std::fs::create_dir(dir.path.join(sub)).map_err(io_error)?;
        }
        for file in ["config", "credentials"] {
            std::fs::write(dir.path.join("aws").join(file), "").map_err(io_error)?;
        }
        Ok(dir)
    }
}

impl Drop for BuildDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

fn check_request(request: &BuildRequest) -> Result<PathBuf, BuildError> {
    let invalid = |message: String| Err(BuildError::InvalidRequest(message));
    if request.project_name.is_empty() || request.project_name.contains(['\0', '\n']) {
        return invalid(format!(
            "`{}` is not a project name",
            request.project_name.escape_debug()
        ));
    }
    for (what, value) in [
        ("resolved_source_version", &request.resolved_source_version),
        ("initiator", &request.initiator),
        ("region", &request.region),
        ("account_id", &request.account_id),
    ] {
        if value.contains('\0') {
            return invalid(format!("{what} contains a NUL character"));
        }
    }
    for (name, value) in &request.environment {
        if name.is_empty() || name.contains(['=', '\0']) {
            return invalid(format!(
                "`{}` cannot be the name of an environment variable",
                name.escape_debug()
            ));
        }
        if name.starts_with("CODEBUILD_") {
            return invalid(format!(
                "{name}: names starting with CODEBUILD_ are set by CodeBuild itself"
            ));
        }
        if value.contains('\0') {
            return invalid(format!("the value of {name} contains a NUL character"));
        }
    }
    for dir in &request.path_prefix {
        let text = dir.to_string_lossy();
        if text.is_empty() || text.contains([':', '\0']) {
            return invalid(format!(
                "path_prefix entry `{}` cannot be put on PATH",
                text.escape_debug()
            ));
        }
    }
    let source_dir =
        std::fs::canonicalize(&request.source_dir).map_err(|source| BuildError::Io {
            context: format!("source_dir {}", request.source_dir.display()),
            source,
        })?;
    if !source_dir.is_dir() {
        return invalid(format!(
            "source_dir {} is not a directory",
            source_dir.display()
        ));
    }
    Ok(source_dir)
}

/// The build's environment, lowest precedence first: the base, the buildspec's
/// `env.variables`, the request's variables, then CodeBuild's own (which nothing overrides).
fn environment(
    request: &BuildRequest,
    source_dir: &Path,
    build_id: &str,
    uuid: &str,
    start_ms: u128,
    dir: &Path,
) -> Result<Vec<(String, String)>, BuildError> {
    let mut env: Vec<(String, String)> = Vec::new();
    let mut set = |name: &str, value: String| {
        env.retain(|(existing, _)| existing != name);
        env.push((name.to_owned(), value));
    };

    let mut path: Vec<String> = Vec::new();
    for dir in &request.path_prefix {
        let absolute = if dir.is_absolute() {
            dir.clone()
        } else {
            std::env::current_dir()
                .map(|cwd| cwd.join(dir))
                .unwrap_or_else(|_| dir.clone())
        };
        path.push(absolute.to_string_lossy().into_owned());
    }
    path.push(std::env::var("PATH").unwrap_or_else(|_| DEFAULT_PATH.to_owned()));
    set("PATH", path.join(":"));
    for name in ["HOME", "LANG"] {
        if let Ok(value) = std::env::var(name) {
            set(name, value);
        }
    }
    let aws = dir.join("aws");
    set(
        "AWS_CONFIG_FILE",
        aws.join("config").to_string_lossy().into_owned(),
    );
    set(
        "AWS_SHARED_CREDENTIALS_FILE",
        aws.join("credentials").to_string_lossy().into_owned(),
    );
    set("AWS_REGION", request.region.clone());
    set("AWS_DEFAULT_REGION", request.region.clone());

    for (name, value) in request.buildspec.variables() {
        set(name, value.clone());
    }
    for (name, value) in &request.environment {
        set(name, value.clone());
    }

    let number = next_build_number(&request.project_name);
    let region = &request.region;
    let account = &request.account_id;
    let project = &request.project_name;
    let codebuild: [(&str, String); 11] = [
        (
            "CODEBUILD_SRC_DIR",
            source_dir.to_string_lossy().into_owned(),
        ),
        ("CODEBUILD_BUILD_ID", build_id.to_owned()),
        (
            "CODEBUILD_BUILD_ARN",
            format!("arn:aws:codebuild:{region}:{account}:build/{build_id}"),
        ),
        ("CODEBUILD_BUILD_NUMBER", number.to_string()),
        (
            "CODEBUILD_PROJECT_ARN",
            format!("arn:aws:codebuild:{region}:{account}:project/{project}"),
        ),
        (
            "CODEBUILD_RESOLVED_SOURCE_VERSION",
            request.resolved_source_version.clone(),
        ),
        (
            "CODEBUILD_SOURCE_VERSION",
            request.resolved_source_version.clone(),
        ),
        ("CODEBUILD_INITIATOR", request.initiator.clone()),
        ("CODEBUILD_START_TIME", start_ms.to_string()),
        ("CODEBUILD_LOG_PATH", uuid.to_owned()),
        ("CODEBUILD_BUILD_SUCCEEDING", "1".to_owned()),
    ];
    for (name, value) in codebuild {
        set(name, value);
    }
    Ok(env)
}

fn next_build_number(project: &str) -> u64 {
    static NUMBERS: OnceLock<Mutex<HashMap<String, u64>>> = OnceLock::new();
    let mut numbers = NUMBERS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    let number = numbers.entry(project.to_owned()).or_insert(0);
    *number += 1;
    *number
}

/// `'text'` for the shell.
fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(100 * 365 * 24 * 3600)
}

/// A random (version 4) UUID, as in CodeBuild's build ids.
fn uuid_v4() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// `2026/11/26 07:23:17.123456` (UTC), as CodeBuild's agent writes its log lines.
fn timestamp(time: SystemTime) -> String {
    // RFC 3339 `2026-11-26T07:23:17.123456Z`, in CodeBuild's punctuation.
    humantime::format_rfc3339_micros(time)
        .to_string()
        .trim_end_matches('Z')
        .replacen('-', "/", 2)
        .replacen('T', " ", 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_codebuild_style() {
        let time = UNIX_EPOCH + Duration::from_micros(1_795_000_000_123_456);
        assert_eq!(timestamp(time), "2026/11/18 11:06:40.123456");
    }

    #[test]
    fn shell_quoting() {
        assert_eq!(shell_quote("/tmp/a b/it's"), r"'/tmp/a b/it'\''s'");
    }
}
