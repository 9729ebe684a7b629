//! `sagemaker-cicd validate`: every configuration file of a model repository checked offline,
//! with the code the pipeline's functions run, so a mistake is found before a push.

use std::fmt::Write as _;
use std::path::Path;

use config_file::Diagnostics;
use model_repo::settings::{DEFAULT_CONFIG_PATH, DEFAULT_TUNING_CONFIG_PATH};
use model_repo::{Placeholders, Settings, training, tuning};
use serde_json::{Value, json};

/// What was checked and what was found.
#[derive(Debug, Default)]
pub struct Report {
    /// (file, outcome) in the order checked; `None` is "ok".
    pub files: Vec<(String, Outcome)>,
}

#[derive(Debug)]
pub enum Outcome {
    Valid,
    Absent(&'static str),
    Invalid(Diagnostics),
    Unreadable(String),
}

impl Report {
    pub fn ok(&self) -> bool {
        !self
            .files
            .iter()
            .any(|(_, o)| matches!(o, Outcome::Invalid(_) | Outcome::Unreadable(_)))
    }

    pub fn text(&self) -> String {
        let mut out = String::new();
        for (file, outcome) in &self.files {
            let _ = match outcome {
                Outcome::Valid => writeln!(out, "ok       {file}"),
                Outcome::Absent(what) => writeln!(out, "absent   {file}: {what}"),
                Outcome::Unreadable(why) => writeln!(out, "error    {file}: {why}"),
                Outcome::Invalid(d) => writeln!(out, "error    {file}\n{d}"),
            };
        }
        let _ = write!(
            out,
            "{}",
            if self.ok() {
                "The model repository is valid."
            } else {
                "The model repository has errors."
            }
        );
        out
    }

    pub fn json(&self) -> Value {
        let files: Vec<Value> = self
            .files
            .iter()
            .map(|(file, outcome)| match outcome {
                Outcome::Valid => json!({"file": file, "status": "valid"}),
                Outcome::Absent(what) => json!({"file": file, "status": "absent", "note": what}),
                Outcome::Unreadable(why) => json!({"file": file, "status": "error", "error": why}),
                Outcome::Invalid(d) => json!({
                    "file": file,
                    "status": "invalid",
                    "diagnostics": d.iter().map(|d| json!({
                        "path": d.path.to_string(), "line": d.line, "column": d.column,
                        "message": d.message, "hint": d.hint,
                    })).collect::<Vec<_>>(),
                }),
            })
            .collect();
        json!({"valid": self.ok(), "files": files})
    }
}

/// Sample pipeline settings for placeholders: the values a deployed pipeline would pass.
pub fn sample_settings(build_variables: &[(String, String)]) -> Result<Settings, String> {
    let mut params = json!({
        "ExecutionId": "00000000-0000-4000-8000-000000000000",
        "CommitId": "0000000000000000000000000000000000000000",
        "Repository": "local/model-repo",
        "Branch": "main",
        "JobPrefix": "local",
        "RoleArn": "arn:aws:iam::123456789012:role/local-sagemaker-execution-role",
        "ArtifactBucket": "local-artifacts",
        "BuildVariables": {"SOURCE_DIR_URI": "s3://local-artifacts/source/local/sourcedir.tar.gz"},
    });
    for (name, value) in build_variables {
        params["BuildVariables"][name] = Value::from(value.as_str());
    }
    serde_json::from_value(params).map_err(|e| format!("the sample settings are not valid: {e}"))
}

/// Checks the repository at `root`.
pub fn validate(root: &Path, settings: &Settings) -> Report {
    let mut report = Report::default();
    let read = |path: &str| match std::fs::read_to_string(root.join(path)) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e.to_string()),
    };
    let placeholders = Placeholders::from_settings(settings, "local-training-job");

    let training = match read(DEFAULT_CONFIG_PATH) {
        Err(e) => {
            report
                .files
                .push((DEFAULT_CONFIG_PATH.into(), Outcome::Unreadable(e)));
            None
        }
        Ok(None) => {
            report.files.push((
                DEFAULT_CONFIG_PATH.into(),
                Outcome::Unreadable("missing: the Train action needs it".into()),
            ));
            None
        }
        Ok(Some(text)) => match training::load(DEFAULT_CONFIG_PATH, &text, &placeholders) {
            Ok(request) => {
                report
                    .files
                    .push((DEFAULT_CONFIG_PATH.into(), Outcome::Valid));
                Some(request)
            }
            Err(d) => {
                report
                    .files
                    .push((DEFAULT_CONFIG_PATH.into(), Outcome::Invalid(d)));
                None
            }
        },
    };

    let tuning_outcome = match read(DEFAULT_TUNING_CONFIG_PATH) {
        Err(e) => Outcome::Unreadable(e),
        Ok(None) => Outcome::Absent("tuning is skipped; the trained job is the candidate"),
        Ok(Some(text)) => match &training {
            None => Outcome::Unreadable(
                "not checked: tuning derives from trainingjob.json, which has errors".into(),
            ),
            Some(training) => {
                match tuning::load(DEFAULT_TUNING_CONFIG_PATH, &text, &placeholders, training) {
                    Ok(_) => Outcome::Valid,
                    Err(d) => Outcome::Invalid(d),
                }
            }
        },
    };
    report
        .files
        .push((DEFAULT_TUNING_CONFIG_PATH.into(), tuning_outcome));

    let gate_outcome = match read(evaluate::gate::DEFAULT_PATH) {
        Err(e) => Outcome::Unreadable(e),
        Ok(None) => Outcome::Unreadable("missing: no model is promoted without a gate".into()),
        Ok(Some(text)) => match evaluate::gate::load(evaluate::gate::DEFAULT_PATH, &text) {
            Ok(_) => Outcome::Valid,
            Err(d) => Outcome::Invalid(d),
        },
    };
    report
        .files
        .push((evaluate::gate::DEFAULT_PATH.into(), gate_outcome));

    // Smoke-test bodies are files of the repository; their size is what InvokeEndpoint limits.
    let body_size = |file: &str| {
        std::fs::metadata(root.join(file))
            .ok()
            .filter(std::fs::Metadata::is_file)
            .map(|m| usize::try_from(m.len()).unwrap_or(usize::MAX))
    };
    let deployment_outcome = match read(deploy::config::DEFAULT_PATH) {
        Err(e) => Outcome::Unreadable(e),
        Ok(None) => Outcome::Absent("the approved model stays in the Model Registry, not deployed"),
        Ok(Some(text)) => {
            match deploy::config::load(deploy::config::DEFAULT_PATH, &text, body_size) {
                Ok(_) => Outcome::Valid,
                Err(d) => Outcome::Invalid(d),
            }
        }
    };
    report
        .files
        .push((deploy::config::DEFAULT_PATH.into(), deployment_outcome));
    report
}
