//! What a value passed from one action to the next may be. CodePipeline pastes output variables
//! into later actions' UserParameters as they are, inside JSON strings, without escaping: a
//! value with a quote in it could add settings (`acc","ConfigPath":"lenient.json`). So every
//! variable a function exports is JSON-safe ([`crate::Outcome::checked`]), and every value a
//! function reads from another action is checked against what it stands for before use.
//!
//! The settings' own structure does the rest: they deny unknown keys and serde refuses a
//! duplicate key, and the build's variables sit in the one map, `BuildVariables`, so a build
//! variable cannot add or replace a setting either (tests/template checks that layout).

use std::sync::LazyLock;

use regex::Regex;

use crate::JobError;
use crate::limits::truncate;

/// What a value stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `s3://bucket/key`.
    S3Uri,
    /// A SageMaker training or tuning job name.
    JobName,
    /// A metric name of MetricDefinitions (at most 255 characters).
    MetricName,
    /// A number as Rust or SageMaker prints it (`0.953`, `NaN`).
    Number,
    /// A container image: `registry/repository[:tag|@sha256:digest]`.
    ImageUri,
    /// A model package version ARN.
    ModelPackageArn,
    /// Any text that stays one JSON string when pasted into one.
    Text,
}

impl Kind {
    fn what(self) -> &'static str {
        match self {
            Kind::S3Uri => {
                "an s3:// URI (s3://bucket/key, without quotes, backslashes or control characters)"
            }
            Kind::JobName => "a SageMaker job name (letters, digits and hyphens, at most 63)",
            Kind::MetricName => {
                "a metric name (1 to 255 characters, without quotes, backslashes or control characters)"
            }
            Kind::Number => "a number",
            Kind::ImageUri => "a container image URI (registry/repository:tag or @sha256:digest)",
            Kind::ModelPackageArn => "a SageMaker model package ARN",
            Kind::Text => "text without quotes, backslashes or control characters",
        }
    }

    /// Whether `value` is one.
    pub fn admits(self, value: &str) -> bool {
        static S3: LazyLock<Regex> = LazyLock::new(|| {
            Regex::new(r"^s3://[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9](/.*)?$").expect("valid pattern")
        });
        static JOB: LazyLock<Regex> = LazyLock::new(|| {
            Regex::new(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$").expect("valid pattern")
        });
        static IMAGE: LazyLock<Regex> = LazyLock::new(|| {
            Regex::new(
                r"^[a-z0-9.\-]+(:[0-9]+)?/[a-z0-9._/\-]+(:[A-Za-z0-9._\-]{1,128}|@sha256:[a-f0-9]{64})?$",
            )
            .expect("valid pattern")
        });
        static PACKAGE: LazyLock<Regex> = LazyLock::new(|| {
            Regex::new(
                r"^arn:aws[a-z\-]*:sagemaker:[a-z0-9\-]{9,16}:[0-9]{12}:model-package/\S{1,2048}$",
            )
            .expect("valid pattern")
        });
        json_safe(value)
            && match self {
                Kind::S3Uri => S3.is_match(value),
                Kind::JobName => JOB.is_match(value),
                Kind::MetricName => (1..=255).contains(&value.chars().count()),
                Kind::Number => value.parse::<f64>().is_ok(),
                Kind::ImageUri => IMAGE.is_match(value),
                Kind::ModelPackageArn => PACKAGE.is_match(value),
                Kind::Text => true,
            }
    }
}

/// Whether `value` can stand inside a JSON string as it is.
pub fn json_safe(value: &str) -> bool {
    !value
        .chars()
        .any(|c| c == '"' || c == '\\' || c.is_control())
}

/// `value`, read as `name`, if it is a `kind`; otherwise a configuration error saying what it
/// should be and where it came from.
pub fn checked<'a>(name: &str, value: &'a str, kind: Kind) -> Result<&'a str, JobError> {
    if kind.admits(value) {
        return Ok(value);
    }
    Err(JobError::config(format!(
        "{name} is {:?}, which is not {}. It is passed from one pipeline action to the next inside \
         UserParameters, so it must be exactly that",
        truncate(value, 200),
        kind.what()
    )))
}

/// [`checked`], where empty means "none" (e.g. no tuning objective when tuning was skipped).
pub fn checked_or_empty<'a>(name: &str, value: &'a str, kind: Kind) -> Result<&'a str, JobError> {
    if value.is_empty() {
        Ok(value)
    } else {
        checked(name, value, kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn values_of_each_kind() {
        let cases = [
            (
                Kind::S3Uri,
                "s3://sagemaker-cicd-artifacts/models/job/output/model.tar.gz",
                true,
            ),
            (
                Kind::S3Uri,
                "s3://b/x\",\"ConfigPath\":\"lenient.json",
                false,
            ),
            (Kind::S3Uri, "https://example.com/model.tar.gz", false),
            (
                Kind::JobName,
                "sagemaker-cicd-9f2c1e4-5d41402a-004-0f1e2d3c",
                true,
            ),
            (Kind::JobName, "job\",\"X\":\"y", false),
            (Kind::JobName, &"j".repeat(64), false),
            (Kind::MetricName, "validation:accuracy", true),
            (
                Kind::MetricName,
                "acc\",\"ConfigPath\":\"configuration/lenient.json",
                false,
            ),
            (Kind::MetricName, "back\\slash", false),
            (Kind::MetricName, "line\nbreak", false),
            (Kind::Number, "0.953", true),
            (Kind::Number, "NaN", true),
            (Kind::Number, "0.9\",\"X\":1", false),
            (
                Kind::ImageUri,
                "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3",
                true,
            ),
            (
                Kind::ImageUri,
                "localhost:5000/model@sha256:0000000000000000000000000000000000000000000000000000000000000000",
                true,
            ),
            (Kind::ImageUri, "repo/img:tag\",\"X\":\"", false),
            (
                Kind::ModelPackageArn,
                "arn:aws:sagemaker:us-east-1:123456789012:model-package/g/3",
                true,
            ),
            (
                Kind::ModelPackageArn,
                "arn:aws:sagemaker:us-east-1:123456789012:model-package/g/3\",\"Alarms\":[\"",
                false,
            ),
        ];
        for (kind, value, ok) in cases {
            assert_eq!(kind.admits(value), ok, "{kind:?} {value}");
        }
    }

    #[test]
    fn a_refusal_names_the_value_and_what_it_should_be() {
        let err = checked(
            "ObjectiveMetricName",
            "acc\",\"ConfigPath\":\"x",
            Kind::MetricName,
        )
        .unwrap_err();
        assert!(
            err.message.starts_with(
                r#"ObjectiveMetricName is "acc\",\"ConfigPath\":\"x", which is not a metric name"#
            ),
            "{err}"
        );
        assert_eq!(
            checked_or_empty("TuningJobName", "", Kind::JobName).unwrap(),
            ""
        );
    }

    proptest! {
        /// Whatever a value admitted by any kind holds, pasted into a JSON string it stays that
        /// one string.
        #[test]
        fn admitted_values_cannot_break_out_of_a_json_string(value in "\\PC{0,80}|[\"\\\\a-z:/.,{}]{0,40}") {
            for kind in [Kind::S3Uri, Kind::JobName, Kind::MetricName, Kind::Number, Kind::ImageUri, Kind::ModelPackageArn, Kind::Text] {
                if kind.admits(&value) {
                    let text = format!(r#"{{"A":"{value}","B":"b"}}"#);
                    let parsed: serde_json::Value = serde_json::from_str(&text).unwrap();
                    prop_assert_eq!(parsed["A"].as_str(), Some(value.as_str()));
                    prop_assert_eq!(parsed.as_object().map(|o| o.len()), Some(2));
                }
            }
        }
    }
}
