//! What the fuzz targets share: the pipeline's settings as the functions get them, and the
//! properties every configuration diagnostic must have.

use std::sync::OnceLock;

use config_file::Diagnostics;

/// UserParameters as template.yaml passes them to StartTraining and Tune (with a build variable).
pub const USER_PARAMETERS: &str = r#"{"ExecutionId":"3137f7cb-8b1f-4f2b-a6a5-2f1e9e6f0b5e",
    "CommitId":"9f2c1e4a","JobPrefix":"sagemaker-cicd","RoleArn":"arn:aws:iam::123456789012:role/r",
    "ArtifactBucket":"bucket","Repository":"owner/repo","Branch":"main",
    "BuildVariables":{"SOURCE_DIR_URI":"s3://bucket/src/sourcedir.tar.gz","IMAGE_URI":"img"}}"#;

pub fn settings() -> &'static model_repo::Settings {
    static SETTINGS: OnceLock<model_repo::Settings> = OnceLock::new();
    SETTINGS.get_or_init(|| {
        pipeline_core::params::parse(Some(USER_PARAMETERS)).expect("the fixed settings parse")
    })
}

pub fn placeholders() -> &'static model_repo::Placeholders {
    static PLACEHOLDERS: OnceLock<model_repo::Placeholders> = OnceLock::new();
    PLACEHOLDERS.get_or_init(|| {
        model_repo::Placeholders::from_settings(settings(), "sagemaker-cicd-9f2c1e4-3452f8ac")
    })
}

/// A client only for building requests (the conversions onto the SDK's builders); nothing is
/// sent.
pub fn sagemaker() -> &'static aws_sdk_sagemaker::Client {
    static CLIENT: OnceLock<aws_sdk_sagemaker::Client> = OnceLock::new();
    CLIENT.get_or_init(|| {
        let config = aws_sdk_sagemaker::Config::builder()
            .behavior_version(aws_sdk_sagemaker::config::BehaviorVersion::latest())
            .region(aws_sdk_sagemaker::config::Region::new("us-east-1"))
            .build();
        aws_sdk_sagemaker::Client::from_conf(config)
    })
}

/// Every diagnostic points into `text` (a line that exists, a column at most one past its end,
/// counted in characters after a byte order mark) and prints as a sentence.
pub fn assert_within(text: &str, diagnostics: &Diagnostics) {
    assert!(!diagnostics.is_empty(), "an error without a diagnostic");
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let lines: Vec<&str> = text.split('\n').collect();
    for d in diagnostics.iter() {
        assert!(
            (1..=lines.len()).contains(&d.line),
            "line {} of {} lines: {d}",
            d.line,
            lines.len()
        );
        let width = lines[d.line - 1].chars().count();
        assert!(
            (1..=width + 1).contains(&d.column),
            "column {} of a line of {width} characters: {d}",
            d.column
        );
        assert!(!d.message.trim().is_empty(), "an empty message: {d:?}");
    }
    assert!(!diagnostics.to_string().is_empty());
}
