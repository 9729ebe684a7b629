//! Which local command stands for which training image.
//!
//! There are no containers here: a rule maps a training image (`*` matches any text) to the
//! command that plays the image's entrypoint. In script mode (the `sagemaker_program`
//! hyperparameter, as the framework images use it) the job runs `<command> <program>
//! --<name> <value>...` from the unpacked `sagemaker_submit_directory`; otherwise it runs
//! `<command> train` from the job's `/opt/ml` folder, as SageMaker runs `docker run <image>
//! train`. Any image without a rule runs script mode with `python3`.

use std::fs;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use regex::Regex;
use serde::Deserialize;

/// The command of images without a rule (script mode only).
pub const DEFAULT_COMMAND: &str = "python3";

/// `{opt_ml}` in a rule's command becomes the job's `/opt/ml` folder.
pub const OPT_ML_PLACEHOLDER: &str = "{opt_ml}";

/// A rule could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ImageRuleError {
    #[error(
        "`{0}` is not an image rule: write `PATTERN=COMMAND [ARG...]`, e.g. `*xgboost*=python3 -m xgb_train`"
    )]
    Malformed(String),
    #[error("cannot read the image rules file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{path} is not a list of image rules ([{{\"image\": \"PATTERN\", \"command\": [\"COMMAND\", \"ARG\"]}}]): {source}"
    )]
    Json {
        path: PathBuf,
        source: serde_json::Error,
    },
}

/// Training images matching `pattern` run as `command`.
#[derive(Debug, Clone)]
pub struct ImageRule {
    pattern: String,
    matcher: Regex,
    command: Vec<String>,
}

impl ImageRule {
    pub fn new(pattern: &str, command: Vec<String>) -> Result<Self, ImageRuleError> {
        if pattern.is_empty() || command.is_empty() || command[0].is_empty() {
            return Err(ImageRuleError::Malformed(format!(
                "{pattern}={}",
                command.join(" ")
            )));
        }
        let body = pattern
            .split('*')
            .map(regex::escape)
            .collect::<Vec<_>>()
            .join(".*");
        let matcher = Regex::new(&format!("^{body}$"))
            .map_err(|_| ImageRuleError::Malformed(pattern.to_owned()))?;
        Ok(Self {
            pattern: pattern.to_owned(),
            matcher,
            command,
        })
    }

    pub fn pattern(&self) -> &str {
        &self.pattern
    }

    pub fn command(&self) -> &[String] {
        &self.command
    }

    pub fn matches(&self, image: &str) -> bool {
        self.matcher.is_match(image)
    }
}

impl FromStr for ImageRule {
    type Err = ImageRuleError;

    /// `PATTERN=COMMAND [ARG...]`; arguments are split on whitespace (no quoting).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (pattern, command) = text
            .split_once('=')
            .ok_or_else(|| ImageRuleError::Malformed(text.to_owned()))?;
        let command: Vec<String> = command.split_whitespace().map(str::to_owned).collect();
        ImageRule::new(pattern.trim(), command).map_err(|_| ImageRuleError::Malformed(text.into()))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleEntry {
    image: String,
    command: Vec<String>,
}

/// The rules, tried in order; the first match wins.
#[derive(Debug, Clone, Default)]
pub struct ImageCommands {
    rules: Vec<ImageRule>,
}

/// What runs a job's image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entrypoint {
    pub command: Vec<String>,
    /// The pattern of the rule that matched; `None` for the default.
    pub rule: Option<String>,
}

impl ImageCommands {
    pub fn push(&mut self, rule: ImageRule) {
        self.rules.push(rule);
    }

    pub fn rules(&self) -> &[ImageRule] {
        &self.rules
    }

    /// Adds the rules of a JSON file: `[{"image": "PATTERN", "command": ["COMMAND", "ARG"]}]`.
    pub fn load_file(&mut self, path: &Path) -> Result<(), ImageRuleError> {
        let text = fs::read_to_string(path).map_err(|source| ImageRuleError::Read {
            path: path.to_owned(),
            source,
        })?;
        let entries: Vec<RuleEntry> =
            serde_json::from_str(&text).map_err(|source| ImageRuleError::Json {
                path: path.to_owned(),
                source,
            })?;
        for entry in entries {
            self.push(ImageRule::new(&entry.image, entry.command)?);
        }
        Ok(())
    }

    /// The entrypoint of `image`: the first matching rule, else `python3` in script mode.
    /// `None` when no rule matches an image outside script mode.
    pub fn entrypoint(&self, image: &str, script_mode: bool) -> Option<Entrypoint> {
        match self.rules.iter().find(|rule| rule.matches(image)) {
            Some(rule) => Some(Entrypoint {
                command: rule.command.clone(),
                rule: Some(rule.pattern.clone()),
            }),
            None if script_mode => Some(Entrypoint {
                command: vec![DEFAULT_COMMAND.to_owned()],
                rule: None,
            }),
            None => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SKLEARN: &str =
        "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3";

    #[test]
    fn script_mode_runs_python3_for_any_image() {
        let images = ImageCommands::default();
        let entry = images.entrypoint(SKLEARN, true).unwrap();
        assert_eq!(entry.command, ["python3"]);
        assert_eq!(entry.rule, None);
        assert_eq!(images.entrypoint(SKLEARN, false), None);
    }

    #[test]
    fn the_first_matching_rule_wins() {
        let mut images = ImageCommands::default();
        images.push("*scikit-learn*=python3.11 -u".parse().unwrap());
        images.push("*=sh run.sh {opt_ml}".parse().unwrap());
        let entry = images.entrypoint(SKLEARN, false).unwrap();
        assert_eq!(entry.command, ["python3.11", "-u"]);
        assert_eq!(entry.rule.as_deref(), Some("*scikit-learn*"));
        let other = images.entrypoint("my/image:1", false).unwrap();
        assert_eq!(other.command, ["sh", "run.sh", "{opt_ml}"]);
    }

    #[test]
    fn patterns_match_the_whole_image_and_dots_are_literal() {
        let rule: ImageRule = "a.b*=x".parse().unwrap();
        assert!(rule.matches("a.b:1"));
        assert!(!rule.matches("axb:1"));
        assert!(!rule.matches("za.b"));
    }

    #[test]
    fn malformed_rules_say_how_to_write_them() {
        for text in ["no-equals", "=python3", "*=", "*=   "] {
            let err = text.parse::<ImageRule>().unwrap_err();
            assert!(err.to_string().contains("PATTERN=COMMAND"), "{text}: {err}");
        }
    }

    #[test]
    fn rules_load_from_a_json_file() {
        let dir = std::env::temp_dir().join(format!("images-test-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("images.json");
        fs::write(
            &path,
            r#"[{"image": "*xgboost*", "command": ["python3", "-m", "xgb"]}]"#,
        )
        .unwrap();
        let mut images = ImageCommands::default();
        images.load_file(&path).unwrap();
        let entry = images.entrypoint("x/xgboost:1", false).unwrap();
        assert_eq!(entry.command, ["python3", "-m", "xgb"]);
        fs::write(&path, r#"{"image": "*"}"#).unwrap();
        let err = images.load_file(&path).unwrap_err();
        assert!(matches!(err, ImageRuleError::Json { .. }), "{err}");
        fs::remove_dir_all(&dir).unwrap();
    }
}
