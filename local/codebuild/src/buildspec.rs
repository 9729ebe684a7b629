//! `buildspec.yml`: read, checked against the CodeBuild buildspec reference, with the file, line,
//! column and key of every problem.

use std::collections::HashSet;
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

use saphyr::{MarkedYaml, ScalarStyle, YamlData, YamlLoader};
use saphyr_parser::Parser;

/// Largest buildspec read (a buildspec is a few kilobytes; this only bounds a runaway file).
pub const MAX_BUILDSPEC_BYTES: u64 = 1024 * 1024;

/// A build phase that runs buildspec commands, in CodeBuild's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Phase {
    Install,
    PreBuild,
    Build,
    PostBuild,
}

impl Phase {
    /// The four phases in the order CodeBuild runs them.
    pub const ALL: [Phase; 4] = [
        Phase::Install,
        Phase::PreBuild,
        Phase::Build,
        Phase::PostBuild,
    ];

    /// The key under `phases:` in the buildspec (`pre_build`).
    pub fn key(self) -> &'static str {
        match self {
            Phase::Install => "install",
            Phase::PreBuild => "pre_build",
            Phase::Build => "build",
            Phase::PostBuild => "post_build",
        }
    }

    /// CodeBuild's name of the phase, as in its logs and the BatchGetBuilds `phaseType`
    /// (`PRE_BUILD`).
    pub fn name(self) -> &'static str {
        match self {
            Phase::Install => "INSTALL",
            Phase::PreBuild => "PRE_BUILD",
            Phase::Build => "BUILD",
            Phase::PostBuild => "POST_BUILD",
        }
    }

    fn index(self) -> usize {
        match self {
            Phase::Install => 0,
            Phase::PreBuild => 1,
            Phase::Build => 2,
            Phase::PostBuild => 3,
        }
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// `version:` of the buildspec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// 0.1: every command runs in its own instance of the shell (nothing carries over).
    V0_1,
    /// 0.2: all commands of all phases run in the same shell instance.
    V0_2,
}

/// `env.shell:` (Linux tags only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shell {
    /// `/bin/sh`: CodeBuild's default on Linux when `env.shell` is not given.
    Sh,
    /// `bash`.
    Bash,
}

impl Shell {
    /// The program the build runs (`bash` is looked up on the build's `PATH`).
    pub fn program(self) -> &'static str {
        match self {
            Shell::Sh => "/bin/sh",
            Shell::Bash => "bash",
        }
    }
}

/// `on-failure:` of a phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnFailure {
    /// `ABORT`: no later phase runs.
    Abort,
    /// `CONTINUE`: the next phase runs (the build still fails).
    Continue,
}

/// One command of `commands:` or `finally:`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    /// The command text, as the shell gets it.
    pub text: String,
    /// Its line in the buildspec (1-based).
    pub line: usize,
}

/// One phase of `phases:`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PhaseSpec {
    pub commands: Vec<Command>,
    pub finally: Vec<Command>,
    pub on_failure: Option<OnFailure>,
    /// `install.runtime-versions` (accepted, not emulated: the tools on `PATH` are used).
    pub runtime_versions: Vec<(String, String)>,
    /// `run-as` of the phase (accepted, not emulated: commands run as the current user).
    pub run_as: Option<String>,
}

/// A parsed, checked `buildspec.yml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Buildspec {
    origin: PathBuf,
    version: Version,
    shell: Option<Shell>,
    variables: Vec<(String, String)>,
    exported_variables: Vec<String>,
    phases: [Option<PhaseSpec>; 4],
    notes: Vec<String>,
}

impl Buildspec {
    /// Reads and parses the buildspec at `path` (at most [`MAX_BUILDSPEC_BYTES`], UTF-8).
    pub fn load(path: &Path) -> Result<Buildspec, BuildspecError> {
        let read_error = |source| BuildspecError::Read {
            path: path.to_path_buf(),
            source,
        };
        let file = std::fs::File::open(path).map_err(read_error)?;
        let mut bytes = Vec::new();
        file.take(MAX_BUILDSPEC_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(read_error)?;
        if bytes.len() as u64 > MAX_BUILDSPEC_BYTES {
            return Err(BuildspecError::at(
                path,
                1,
                1,
                "",
                format!(
                    "the file is larger than {MAX_BUILDSPEC_BYTES} bytes; a buildspec is a short \
                     YAML file (put long scripts in files of the repository and run them)"
                ),
            ));
        }
        let text = match String::from_utf8(bytes) {
            Ok(text) => text,
            Err(error) => {
                let valid = &error.as_bytes()[..error.utf8_error().valid_up_to()];
                let line = 1 + valid.iter().filter(|&&b| b == b'\n').count();
                let column = 1 + valid.iter().rev().take_while(|&&b| b != b'\n').count();
                return Err(BuildspecError::at(
                    path,
                    line,
                    column,
                    "",
                    "the file is not valid UTF-8; save it as UTF-8",
                ));
            }
        };
        Buildspec::parse(&text, path)
    }

    /// Parses buildspec text; `origin` names the file in errors.
    pub fn parse(text: &str, origin: &Path) -> Result<Buildspec, BuildspecError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let documents = load_yaml(text, origin)?;
        let checker = Checker { origin };
        checker.buildspec(&documents)
    }

    /// The file the buildspec was read from (as given to [`Buildspec::load`] or
    /// [`Buildspec::parse`]).
    pub fn origin(&self) -> &Path {
        &self.origin
    }

    pub fn version(&self) -> Version {
        self.version
    }

    /// `env.shell`, if given (the build then uses `/bin/sh`, as CodeBuild does).
    pub fn shell(&self) -> Option<Shell> {
        self.shell
    }

    /// `env.variables`, in file order.
    pub fn variables(&self) -> &[(String, String)] {
        &self.variables
    }

    /// `env.exported-variables`, in file order, without duplicates and without names starting
    /// with `AWS_` (CodeBuild does not export those; see [`Buildspec::notes`]).
    pub fn exported_variables(&self) -> &[String] {
        &self.exported_variables
    }

    /// The phase's section, if the buildspec has one.
    pub fn phase(&self, phase: Phase) -> Option<&PhaseSpec> {
        self.phases[phase.index()].as_ref()
    }

    /// What the buildspec asks for that the local CodeBuild accepts but does not do (artifacts,
    /// reports, cache, run-as, ...), one sentence each; the build logs them.
    pub fn notes(&self) -> &[String] {
        &self.notes
    }
}

/// Why a buildspec cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum BuildspecError {
    #[error("cannot read the buildspec {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Invalid YAML, a key CodeBuild does not know, a value of the wrong type or one the local
    /// CodeBuild cannot provide. `line` and `column` are 1-based; `key` is the dotted path of the
    /// key concerned (`phases.build.commands[2]`), empty for a YAML syntax error.
    #[error("{}", describe(file, *line, *column, key, message))]
    Invalid {
        file: PathBuf,
        line: usize,
        column: usize,
        key: String,
        message: String,
    },
}

fn describe(file: &Path, line: usize, column: usize, key: &str, message: &str) -> String {
    if key.is_empty() {
        format!("{}:{line}:{column}: {message}", file.display())
    } else {
        format!("{}:{line}:{column}: {key}: {message}", file.display())
    }
}

impl BuildspecError {
    fn at(
        file: &Path,
        line: usize,
        column: usize,
        key: &str,
        message: impl Into<String>,
    ) -> BuildspecError {
        BuildspecError::Invalid {
            file: file.to_path_buf(),
            line,
            column,
            key: key.to_owned(),
            message: message.into(),
        }
    }

    /// The line (1-based) the error points at, if it points into the file.
    pub fn line(&self) -> Option<usize> {
        match self {
            BuildspecError::Invalid { line, .. } => Some(*line),
            BuildspecError::Read { .. } => None,
        }
    }

    /// The key path the error is about (`env.parameter-store`), if any.
    pub fn key(&self) -> Option<&str> {
        match self {
            BuildspecError::Invalid { key, .. } if !key.is_empty() => Some(key),
            _ => None,
        }
    }
}

/// Parses YAML keeping every scalar's text as written (`0.2` stays `0.2`, `true` stays `true`):
/// the buildspec decides what each value means, not the YAML schema.
fn load_yaml<'a>(text: &'a str, origin: &Path) -> Result<Vec<MarkedYaml<'a>>, BuildspecError> {
    let mut parser = Parser::new_from_str(text);
    let mut loader: YamlLoader<'a, MarkedYaml<'a>> = YamlLoader::default();
    loader.early_parse(false);
    let scan_error = |error: &saphyr::ScanError| {
        let marker = error.marker();
        BuildspecError::at(
            origin,
            marker.line().max(1),
            marker.col() + 1,
            "",
            format!("invalid YAML: {}", error.info()),
        )
    };
    if let Err(error) = parser.load(&mut loader, true) {
        return Err(scan_error(&error));
    }
    if let Some(error) = loader.error() {
        return Err(scan_error(error));
    }
    Ok(loader.into_documents())
}

const TOP_KEYS: &[&str] = &[
    "version",
    "run-as",
    "env",
    "proxy",
    "batch",
    "phases",
    "reports",
    "artifacts",
    "cache",
];
const ENV_KEYS: &[&str] = &[
    "shell",
    "variables",
    "parameter-store",
    "exported-variables",
    "secrets-manager",
    "git-credential-helper",
];
const PHASE_KEYS: &[&str] = &["install", "pre_build", "build", "post_build"];
const INSTALL_KEYS: &[&str] = &[
    "run-as",
    "on-failure",
    "runtime-versions",
    "commands",
    "finally",
];
const OTHER_PHASE_KEYS: &[&str] = &["run-as", "on-failure", "commands", "finally"];
const PROXY_KEYS: &[&str] = &["upload-artifacts", "logs"];
const REPORT_KEYS: &[&str] = &["files", "base-directory", "discard-paths", "file-format"];
const ARTIFACT_KEYS: &[&str] = &[
    "files",
    "name",
    "discard-paths",
    "base-directory",
    "exclude-paths",
    "enable-symlinks",
    "s3-prefix",
    "secondary-artifacts",
];
const CACHE_KEYS: &[&str] = &["paths", "key", "fallback-keys", "action"];

struct Checker<'p> {
    origin: &'p Path,
}

/// A mapping's entries: key text, key node, value node.
type Entries<'n, 'a> = Vec<(String, &'n MarkedYaml<'a>, &'n MarkedYaml<'a>)>;

impl Checker<'_> {
    fn error(
        &self,
        node: &MarkedYaml<'_>,
        key: &str,
        message: impl Into<String>,
    ) -> BuildspecError {
        let start = node.span.start;
        BuildspecError::at(
            self.origin,
            start.line().max(1),
            start.col() + 1,
            key,
            message,
        )
    }

    fn buildspec(&self, documents: &[MarkedYaml<'_>]) -> Result<Buildspec, BuildspecError> {
        let Some(root) = documents.first() else {
            return Err(BuildspecError::at(
                self.origin,
                1,
                1,
                "",
                "the buildspec is empty; it needs at least `version: 0.2` and `phases:`",
            ));
        };
        if let Some(second) = documents.get(1) {
            return Err(self.error(
                second,
                "",
                "a buildspec is one YAML document; remove the second one (after `---`)",
            ));
        }
        if is_null(root) {
            return Err(self.error(
                root,
                "",
                "the buildspec is empty; it needs at least `version: 0.2` and `phases:`",
            ));
        }
        let entries = self.mapping(root, "", TOP_KEYS)?;

        let mut version = None;
        let mut shell = None;
        let mut variables = Vec::new();
        let mut exported_variables = Vec::new();
        let mut phases: [Option<PhaseSpec>; 4] = Default::default();
        let mut saw_phases = false;
        let mut notes = Vec::new();

        for (key, key_node, value) in &entries {
            match key.as_str() {
                "version" => version = Some(self.version(value)?),
                "run-as" => {
                    let user = self.string(value, "run-as")?;
                    notes.push(format!(
                        "run-as: {user}: not emulated; the commands run as the local user"
                    ));
                }
                "env" => {
                    let env = self.env(value)?;
                    shell = env.shell;
                    variables = env.variables;
                    exported_variables = env.exported;
                    notes.extend(env.notes);
                }
                "proxy" => {
                    self.optional_mapping(value, "proxy", PROXY_KEYS)?;
                    notes.push("proxy: not emulated; the build uses the local network".into());
                }
                "batch" => {
                    // build-list, build-graph and build-matrix are not checked: not emulated.
                    self.optional_mapping_any(value, "batch")?;
                    notes.push(
                        "batch: not emulated; the local CodeBuild runs one build, as a \
                         CodePipeline action without batch builds does"
                            .into(),
                    );
                }
                "phases" => {
                    saw_phases = true;
                    self.phases(key_node, value, &mut phases, &mut notes)?;
                }
                "reports" => {
                    for (group, _, report) in self.optional_mapping_any(value, "reports")? {
                        self.optional_mapping(report, &format!("reports.{group}"), REPORT_KEYS)?;
                    }
                    notes.push("reports: not emulated; no test reports are collected".into());
                }
                "artifacts" => {
                    let artifacts = self.optional_mapping(value, "artifacts", ARTIFACT_KEYS)?;
                    for (key, _, value) in artifacts {
                        if key == "secondary-artifacts" {
                            let path = "artifacts.secondary-artifacts";
                            for (id, _, artifact) in self.optional_mapping_any(value, path)? {
                                let keys: Vec<&str> = ARTIFACT_KEYS
                                    .iter()
                                    .copied()
                                    .filter(|k| *k != "secondary-artifacts")
                                    .collect();
                                self.optional_mapping(artifact, &format!("{path}.{id}"), &keys)?;
                            }
                        }
                    }
                    notes.push(
                        "artifacts: not emulated; the Build action of this pipeline has no \
                         output artifact (what the build uploads itself is what counts)"
                            .into(),
                    );
                }
                "cache" => {
                    self.optional_mapping(value, "cache", CACHE_KEYS)?;
                    notes.push("cache: not emulated; every build starts without a cache".into());
                }
                _ => unreachable!("mapping() only returns known keys"),
            }
        }

        let Some(version) = version else {
            return Err(self.error(
                root,
                "version",
                "missing `version`; write `version: 0.2` at the top of the buildspec",
            ));
        };
        if !saw_phases {
            return Err(self.error(
                root,
                "phases",
                "missing `phases`; a buildspec needs at least one phase with commands, e.g. \
                 `phases: {build: {commands: [make]}}`",
            ));
        }
        Ok(Buildspec {
            origin: self.origin.to_path_buf(),
            version,
            shell,
            variables,
            exported_variables,
            phases,
            notes,
        })
    }

    fn version(&self, node: &MarkedYaml<'_>) -> Result<Version, BuildspecError> {
        let text = self.string(node, "version")?;
        match text.as_str() {
            "0.2" => Ok(Version::V0_2),
            "0.1" => Ok(Version::V0_1),
            other => Err(self.error(
                node,
                "version",
                format!("`{other}` is not a buildspec version; write `version: 0.2`"),
            )),
        }
    }

    fn env(&self, node: &MarkedYaml<'_>) -> Result<Env, BuildspecError> {
        let mut env = Env::default();
        for (key, key_node, value) in self.optional_mapping(node, "env", ENV_KEYS)? {
            let path = format!("env.{key}");
            match key.as_str() {
                "shell" => env.shell = Some(self.shell(value, &path)?),
                "variables" => {
                    for (name, name_node, value) in self.optional_mapping_any(value, &path)? {
                        let var_path = format!("{path}.{name}");
                        self.variable_name(name_node, &name, &var_path)?;
                        let value = if is_null(value) {
                            String::new()
                        } else {
                            self.string(value, &var_path)?
                        };
                        if value.contains('\0') {
                            return Err(self.error(
                                name_node,
                                &var_path,
                                "the value contains a NUL character, which no environment \
                                 variable can hold",
                            ));
                        }
                        env.variables.push((name, value));
                    }
                }
                "parameter-store" | "secrets-manager" => {
                    let entries = self.optional_mapping_any(value, &path)?;
                    if let Some((name, _, _)) = entries.first() {
                        let service = if key == "parameter-store" {
                            "Systems Manager Parameter Store"
                        } else {
                            "Secrets Manager"
                        };
                        return Err(self.error(
                            key_node,
                            &path,
                            format!(
                                "{service} is not available to the local CodeBuild (it has no \
                                 AWS account to read `{name}` from). For a local run, give the \
                                 value as a plain variable instead: in `env.variables`, or in \
                                 the build project's environment variables"
                            ),
                        ));
                    }
                }
                "exported-variables" => {
                    let mut seen = HashSet::new();
                    for (index, item) in self.optional_sequence(value, &path)?.iter().enumerate() {
                        let item_path = format!("{path}[{index}]");
                        let name = self.string(item, &item_path)?;
                        if !is_identifier(&name) {
                            return Err(self.error(
                                item,
                                &item_path,
                                format!(
                                    "`{name}` is not a variable name (letters, digits and `_`, \
                                     not starting with a digit)"
                                ),
                            ));
                        }
                        if name.starts_with("AWS_") {
                            env.notes.push(format!(
                                "{item_path}: {name} is not exported: CodeBuild does not export \
                                 variables whose names start with AWS_"
                            ));
                            continue;
                        }
                        if seen.insert(name.clone()) {
                            env.exported.push(name);
                        }
                    }
                }
                "git-credential-helper" => {
                    if self.yes_no(value, &path)? {
                        env.notes.push(
                            "env.git-credential-helper: not emulated; git uses the local \
                             credentials, if any"
                                .into(),
                        );
                    }
                }
                _ => unreachable!("mapping() only returns known keys"),
            }
        }
        Ok(env)
    }

    fn shell(&self, node: &MarkedYaml<'_>, path: &str) -> Result<Shell, BuildspecError> {
        let text = self.string(node, path)?;
        match text.as_str() {
            "bash" => Ok(Shell::Bash),
            "/bin/sh" => Ok(Shell::Sh),
            "powershell.exe" | "cmd.exe" => Err(self.error(
                node,
                path,
                format!(
                    "`{text}` is a Windows shell; the local CodeBuild runs Linux builds only \
                     (`bash` or `/bin/sh`)"
                ),
            )),
            other => Err(self.error(
                node,
                path,
                format!(
                    "`{other}` is not a shell CodeBuild knows on Linux; write `bash` or `/bin/sh`"
                ),
            )),
        }
    }

    fn variable_name(
        &self,
        node: &MarkedYaml<'_>,
        name: &str,
        path: &str,
    ) -> Result<(), BuildspecError> {
        if name.is_empty() || name.contains('=') || name.contains('\0') {
            return Err(self.error(
                node,
                path,
                format!("`{name}` cannot be the name of an environment variable"),
            ));
        }
        if name.starts_with("CODEBUILD_") {
            return Err(self.error(
                node,
                path,
                "names starting with CODEBUILD_ are reserved for CodeBuild; choose another name",
            ));
        }
        Ok(())
    }

    fn phases(
        &self,
        key_node: &MarkedYaml<'_>,
        node: &MarkedYaml<'_>,
        phases: &mut [Option<PhaseSpec>; 4],
        notes: &mut Vec<String>,
    ) -> Result<(), BuildspecError> {
        if is_null(node) {
            return Err(self.error(
                key_node,
                "phases",
                "`phases` is empty; give at least one phase with commands",
            ));
        }
        for (key, key_node, value) in self.mapping(node, "phases", PHASE_KEYS)? {
            let Some(phase) = Phase::ALL.into_iter().find(|p| p.key() == key) else {
                unreachable!("mapping() only returns known keys");
            };
            let spec = self.phase(phase, key_node, value)?;
            if let Some(user) = &spec.run_as {
                notes.push(format!(
                    "phases.{key}.run-as: {user}: not emulated; the commands run as the local user"
                ));
            }
            phases[phase.index()] = Some(spec);
        }
        Ok(())
    }

    fn phase(
        &self,
        phase: Phase,
        key_node: &MarkedYaml<'_>,
        node: &MarkedYaml<'_>,
    ) -> Result<PhaseSpec, BuildspecError> {
        let path = format!("phases.{}", phase.key());
        if is_null(node) {
            return Err(self.error(
                key_node,
                &path,
                format!("the {} phase is empty; give it `commands:`", phase.key()),
            ));
        }
        let keys = if phase == Phase::Install {
            INSTALL_KEYS
        } else {
            OTHER_PHASE_KEYS
        };
        let entries = self
            .mapping(node, &path, keys)
            .map_err(|error| match error {
                BuildspecError::Invalid {
                    file,
                    line,
                    column,
                    key,
                    message,
                } if key.ends_with(".runtime-versions") => BuildspecError::Invalid {
                    file,
                    line,
                    column,
                    key,
                    message: format!(
                        "{message}. Hint: runtime-versions belongs to the install phase"
                    ),
                },
                other => other,
            })?;
        let mut spec = PhaseSpec::default();
        let mut has_commands = false;
        for (key, _, value) in entries {
            let item_path = format!("{path}.{key}");
            match key.as_str() {
                "commands" => {
                    has_commands = true;
                    spec.commands = self.commands(value, &item_path)?;
                }
                "finally" => spec.finally = self.commands(value, &item_path)?,
                "on-failure" => {
                    let text = self.string(value, &item_path)?;
                    spec.on_failure = Some(match text.as_str() {
                        "ABORT" => OnFailure::Abort,
                        "CONTINUE" => OnFailure::Continue,
                        other => {
                            return Err(self.error(
                                value,
                                &item_path,
                                format!(
                                    "`{other}` is not an on-failure value; write ABORT or CONTINUE"
                                ),
                            ));
                        }
                    });
                }
                "runtime-versions" => {
                    for (runtime, _, version) in self.optional_mapping_any(value, &item_path)? {
                        let version = self.string(version, &format!("{item_path}.{runtime}"))?;
                        spec.runtime_versions.push((runtime, version));
                    }
                }
                "run-as" => spec.run_as = Some(self.string(value, &item_path)?),
                _ => unreachable!("mapping() only returns known keys"),
            }
        }
        if !has_commands && phase != Phase::Install {
            return Err(self.error(
                key_node,
                &path,
                format!(
                    "the {} phase has no `commands:` (required when the phase is given)",
                    phase.key()
                ),
            ));
        }
        Ok(spec)
    }

    fn commands(&self, node: &MarkedYaml<'_>, path: &str) -> Result<Vec<Command>, BuildspecError> {
        let items = match &node.data {
            YamlData::Sequence(items) => items,
            _ => {
                return Err(self.error(
                    node,
                    path,
                    format!(
                        "expected a list of commands (`- command` lines), found {}",
                        kind(node)
                    ),
                ));
            }
        };
        let mut commands = Vec::with_capacity(items.len());
        for (index, item) in items.iter().enumerate() {
            let item_path = format!("{path}[{index}]");
            let text = match scalar(item) {
                Some(Scalar { null: true, .. }) => {
                    return Err(self.error(
                        item,
                        &item_path,
                        "empty command; remove the `-` line or write the command",
                    ));
                }
                Some(Scalar { text, .. }) => text,
                None => {
                    let hint = if matches!(item.data, YamlData::Mapping(_)) {
                        ". Hint: a command containing `: ` must be quoted, e.g. \
                         - \"echo key: value\""
                    } else {
                        ""
                    };
                    return Err(self.error(
                        item,
                        &item_path,
                        format!("expected a command (a string), found {}{hint}", kind(item)),
                    ));
                }
            };
            if text.contains('\0') {
                return Err(self.error(item, &item_path, "the command contains a NUL character"));
            }
            commands.push(Command {
                text,
                line: item.span.start.line().max(1),
            });
        }
        Ok(commands)
    }

    /// A mapping with string keys out of `allowed` (any keys if `allowed` is empty and the caller
    /// accepts them), in file order, without duplicates.
    fn mapping<'n, 'a>(
        &self,
        node: &'n MarkedYaml<'a>,
        path: &str,
        allowed: &[&str],
    ) -> Result<Entries<'n, 'a>, BuildspecError> {
        let entries = self.entries(node, path)?;
        for (key, key_node, _) in &entries {
            if !allowed.contains(&key.as_str()) {
                let key_path = join(path, key);
                return Err(self.error(key_node, &key_path, unknown_key(key, allowed)));
            }
        }
        Ok(entries)
    }

    fn entries<'n, 'a>(
        &self,
        node: &'n MarkedYaml<'a>,
        path: &str,
    ) -> Result<Entries<'n, 'a>, BuildspecError> {
        let YamlData::Mapping(mapping) = &node.data else {
            let what = if path.is_empty() {
                "the buildspec".to_owned()
            } else {
                format!("`{path}`")
            };
            return Err(self.error(
                node,
                path,
                format!(
                    "expected {what} to be a mapping (`key: value` lines), found {}",
                    kind(node)
                ),
            ));
        };
        let mut seen = HashSet::new();
        let mut entries = Vec::with_capacity(mapping.len());
        for (key_node, value) in mapping {
            let key = match scalar(key_node) {
                Some(Scalar { text, null: false }) => text,
                _ => {
                    return Err(self.error(
                        key_node,
                        path,
                        format!("keys must be plain strings, found {}", kind(key_node)),
                    ));
                }
            };
            if !seen.insert(key.clone()) {
                return Err(self.error(
                    key_node,
                    &join(path, &key),
                    "duplicate key; each key may appear once",
                ));
            }
            entries.push((key, key_node, value));
        }
        Ok(entries)
    }

    /// Like [`Checker::mapping`], where `key:` with no value means an empty mapping.
    fn optional_mapping<'n, 'a>(
        &self,
        node: &'n MarkedYaml<'a>,
        path: &str,
        allowed: &[&str],
    ) -> Result<Entries<'n, 'a>, BuildspecError> {
        if is_null(node) {
            return Ok(Vec::new());
        }
        self.mapping(node, path, allowed)
    }

    /// A mapping whose keys are names chosen by the user; `key:` with no value is empty.
    fn optional_mapping_any<'n, 'a>(
        &self,
        node: &'n MarkedYaml<'a>,
        path: &str,
    ) -> Result<Entries<'n, 'a>, BuildspecError> {
        if is_null(node) {
            return Ok(Vec::new());
        }
        self.entries(node, path)
    }

    fn optional_sequence<'n, 'a>(
        &self,
        node: &'n MarkedYaml<'a>,
        path: &str,
    ) -> Result<&'n [MarkedYaml<'a>], BuildspecError> {
        match &node.data {
            YamlData::Sequence(items) => Ok(items),
            _ if is_null(node) => Ok(&[]),
            _ => Err(self.error(
                node,
                path,
                format!("expected a list (`- item` lines), found {}", kind(node)),
            )),
        }
    }

    /// A scalar's text (numbers and booleans as written).
    fn string(&self, node: &MarkedYaml<'_>, path: &str) -> Result<String, BuildspecError> {
        match scalar(node) {
            Some(Scalar { text, null: false }) => Ok(text),
            _ => Err(self.error(
                node,
                path,
                format!("expected a string, found {}", kind(node)),
            )),
        }
    }

    fn yes_no(&self, node: &MarkedYaml<'_>, path: &str) -> Result<bool, BuildspecError> {
        let text = self.string(node, path)?;
        match text.as_str() {
            "yes" | "true" | "Yes" | "True" | "YES" | "TRUE" => Ok(true),
            "no" | "false" | "No" | "False" | "NO" | "FALSE" => Ok(false),
            other => Err(self.error(node, path, format!("expected yes or no, found `{other}`"))),
        }
    }
}

#[derive(Default)]
struct Env {
    shell: Option<Shell>,
    variables: Vec<(String, String)>,
    exported: Vec<String>,
    notes: Vec<String>,
}

struct Scalar {
    text: String,
    null: bool,
}

/// The text of a scalar node, or `None` for collections, tagged nodes and aliases.
fn scalar(node: &MarkedYaml<'_>) -> Option<Scalar> {
    match &node.data {
        YamlData::Representation(text, style, tag) => {
            if let Some(tag) = tag
                && !tag.is_yaml_core_schema()
            {
                return None;
            }
            let null = *style == ScalarStyle::Plain
                && matches!(text.as_ref(), "" | "~" | "null" | "Null" | "NULL");
            Some(Scalar {
                text: text.to_string(),
                null,
            })
        }
        YamlData::Value(value) => {
            use saphyr::Scalar as V;
            let (text, null) = match value {
                V::Null => (String::new(), true),
                V::Boolean(b) => (b.to_string(), false),
                V::Integer(i) => (i.to_string(), false),
                V::FloatingPoint(f) => (f.to_string(), false),
                V::String(s) => (s.to_string(), false),
            };
            Some(Scalar { text, null })
        }
        _ => None,
    }
}

fn is_null(node: &MarkedYaml<'_>) -> bool {
    matches!(scalar(node), Some(Scalar { null: true, .. }))
}

fn kind(node: &MarkedYaml<'_>) -> String {
    match &node.data {
        YamlData::Mapping(_) => "a mapping".into(),
        YamlData::Sequence(_) => "a list".into(),
        YamlData::Tagged(tag, _) => format!("a value tagged `{tag}` (YAML tags are not supported)"),
        YamlData::Representation(_, _, Some(tag)) if !tag.is_yaml_core_schema() => {
            format!("a value tagged `{tag}` (YAML tags are not supported)")
        }
        _ => match scalar(node) {
            Some(Scalar { null: true, .. }) => "nothing (an empty value)".into(),
            Some(Scalar { text, .. }) => format!("the value `{text}`"),
            None => "an unsupported YAML node".into(),
        },
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

fn unknown_key(key: &str, allowed: &[&str]) -> String {
    let mut message = format!("unknown key `{key}`");
    let closest = allowed
        .iter()
        .map(|candidate| (strsim::jaro_winkler(key, candidate), *candidate))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0));
    if let Some((_, candidate)) = closest {
        message.push_str(&format!(". Did you mean `{candidate}`?"));
    }
    if allowed.is_empty() {
        message.push_str(" (no keys are allowed here)");
    } else {
        message.push_str(&format!(" (expected one of: {})", allowed.join(", ")));
    }
    message
}

fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}
