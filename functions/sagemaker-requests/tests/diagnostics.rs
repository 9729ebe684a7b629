//! What a person sees for the usual mistakes in `configuration/trainingjob.json`: the JSON path,
//! the line and column of the mistake, and a hint saying what to write.

use config_file::{Diagnostic, Document};
use sagemaker_requests::training_job;

const FILE: &str = "configuration/trainingjob.json";

const VALID: &str = r#"{
  "TrainingJobName": "churn",
  "RoleArn": "arn:aws:iam::123456789012:role/SageMakerRole",
  "AlgorithmSpecification": {
    "TrainingImage": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3",
    "TrainingInputMode": "File"
  },
  "HyperParameters": {"max_depth": "5"},
  "InputDataConfig": [
    {
      "ChannelName": "train",
      "DataSource": {
        "S3DataSource": {
          "S3DataType": "S3Prefix",
          "S3Uri": "s3://bucket/data/train/"
        }
      }
    }
  ],
  "OutputDataConfig": {"S3OutputPath": "s3://bucket/models/"},
  "ResourceConfig": {"InstanceType": "ml.m4.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 60},
  "StoppingCondition": {"MaxRuntimeInSeconds": 86400}
}"#;

/// VALID with each `(from, to)` replaced once.
fn edit(edits: &[(&str, &str)]) -> String {
    edits.iter().fold(VALID.to_owned(), |text, (from, to)| {
        assert!(text.contains(from), "{from} is not in the text");
        text.replacen(from, to, 1)
    })
}

/// Line and column (1-based, in characters) where `needle` first occurs in `text`.
fn position_of(text: &str, needle: &str) -> (usize, usize) {
    let Some(offset) = text.find(needle) else {
        panic!("{needle} is not in the text")
    };
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, text[line_start..offset].chars().count() + 1)
}

fn errors(text: &str) -> Vec<Diagnostic> {
    let doc = Document::parse(FILE, text).unwrap_or_else(|e| panic!("{e}"));
    match training_job::load(&doc) {
        Ok(_) => panic!("expected diagnostics for:\n{text}"),
        Err(diagnostics) => diagnostics.0,
    }
}

/// The single diagnostic at `path`.
fn at<'d>(diagnostics: &'d [Diagnostic], path: &str) -> &'d Diagnostic {
    let found: Vec<&Diagnostic> = diagnostics
        .iter()
        .filter(|d| d.path.to_string() == path)
        .collect();
    match found.as_slice() {
        [one] => one,
        _ => panic!(
            "expected one diagnostic at {path}, got:\n{}",
            diagnostics
                .iter()
                .map(|d| format!("{d}\n"))
                .collect::<String>()
        ),
    }
}

fn assert_diagnostic(
    d: &Diagnostic,
    text: &str,
    points_at: &str,
    message: &str,
    hint: Option<&str>,
) {
    assert_eq!((d.line, d.column), position_of(text, points_at), "{d}");
    assert_eq!(d.message, message, "{d}");
    assert_eq!(d.hint.as_deref(), hint, "{d}");
    assert_eq!(d.file, FILE);
}

#[test]
fn the_valid_request_loads_and_converts() {
    let doc = Document::parse(FILE, VALID).unwrap_or_else(|e| panic!("{e}"));
    let request = training_job::load(&doc).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(request.training_job_name.as_deref(), Some("churn"));
    let config = aws_sdk_sagemaker::Config::builder()
        .behavior_version(aws_sdk_sagemaker::config::BehaviorVersion::latest())
        .build();
    let client = aws_sdk_sagemaker::Client::from_conf(config);
    let call = request
        .apply(client.create_training_job())
        .unwrap_or_else(|e| panic!("{e}"));
    let input = call.as_input();
    assert_eq!(input.get_training_job_name().as_deref(), Some("churn"));
    let channels = input.get_input_data_config().as_deref().unwrap_or_default();
    assert_eq!(
        channels.first().and_then(|c| c.channel_name()),
        Some("train")
    );
}

#[test]
fn unknown_fields_at_every_depth_name_the_exact_key() {
    let text = edit(&[
        ("\"StoppingCondition\"", "\"StoppingConditon\""),
        ("\"ChannelName\"", "\"channelName\""),
        ("\"S3Uri\"", "\"s3_uri\""),
        ("\"InstanceType\"", "\"instanceType\""),
    ]);
    let d = errors(&text);
    assert_eq!(d.len(), 6, "{d:#?}");
    let top = at(&d, "StoppingConditon");
    assert_eq!(
        (top.line, top.column),
        position_of(&text, "\"StoppingConditon\"")
    );
    assert_eq!(top.message, "unknown field `StoppingConditon`");
    let hint = top.hint.as_deref().unwrap_or_default();
    assert!(hint.starts_with("did you mean `StoppingCondition`? Expected one of `TrainingJobName`, `HyperParameters`, "), "{hint}");
    assert!(hint.ends_with("`ModelPackageConfig`"), "{hint}");

    assert_diagnostic(
        at(&d, "InputDataConfig[0].channelName"),
        &text,
        "\"channelName\"",
        "unknown field `channelName`",
        Some("write `ChannelName` (keys here are PascalCase)"),
    );
    assert_eq!(
        at(&d, "InputDataConfig[0].channelName").to_string(),
        "configuration/trainingjob.json:11:7: at InputDataConfig[0].channelName: unknown field \
         `channelName`. Hint: write `ChannelName` (keys here are PascalCase)."
    );
    // The renamed key leaves the required member missing; that is reported at its object.
    assert_diagnostic(
        at(&d, "InputDataConfig[0]"),
        &text,
        "{\n      \"channelName\"",
        "missing required field `ChannelName`",
        Some("add `\"ChannelName\": ...` to the object at InputDataConfig[0]"),
    );
    assert_diagnostic(
        at(&d, "InputDataConfig[0].DataSource.S3DataSource.s3_uri"),
        &text,
        "\"s3_uri\"",
        "unknown field `s3_uri`",
        Some("write `S3Uri` (keys here are PascalCase)"),
    );
    assert_diagnostic(
        at(&d, "InputDataConfig[0].DataSource.S3DataSource"),
        &text,
        "{\n          \"S3DataType\"",
        "missing required field `S3Uri`",
        Some("add `\"S3Uri\": ...` to the object at InputDataConfig[0].DataSource.S3DataSource"),
    );
    assert_diagnostic(
        at(&d, "ResourceConfig.instanceType"),
        &text,
        "\"instanceType\"",
        "unknown field `instanceType`",
        Some("write `InstanceType` (keys here are PascalCase)"),
    );
}

#[test]
fn wrong_types_say_what_to_write() {
    let text = edit(&[
        ("{\"max_depth\": \"5\"}", "{\"max_depth\": 5, \"eta\": 0.3}"),
        ("\"InstanceCount\": 1", "\"InstanceCount\": \"1\""),
        ("\"VolumeSizeInGB\": 60", "\"VolumeSizeInGB\": 60.5"),
        (
            "\"TrainingInputMode\": \"File\"",
            "\"TrainingInputMode\": \"File\", \"EnableSageMakerMetricsTimeSeries\": \"true\"",
        ),
        (
            "\"MaxRuntimeInSeconds\": 86400",
            "\"MaxRuntimeInSeconds\": 3000000000",
        ),
    ]);
    let d = errors(&text);
    assert_eq!(d.len(), 6, "{d:#?}");
    assert_diagnostic(
        at(&d, "HyperParameters.max_depth"),
        &text,
        "5, \"eta\"",
        "expected a string, found the number `5`",
        Some("write `\"5\"`: SageMaker hyperparameters are strings"),
    );
    assert_diagnostic(
        at(&d, "HyperParameters.eta"),
        &text,
        "0.3}",
        "expected a string, found the number `0.3`",
        Some("write `\"0.3\"`: SageMaker hyperparameters are strings"),
    );
    assert_diagnostic(
        at(&d, "ResourceConfig.InstanceCount"),
        &text,
        "\"1\"",
        "expected a whole number (32-bit), found the string `\"1\"`",
        Some("write `1` without quotes"),
    );
    assert_diagnostic(
        at(&d, "ResourceConfig.VolumeSizeInGB"),
        &text,
        "60.5",
        "expected a whole number (32-bit), found the number `60.5`",
        Some("write a whole number, without a decimal point"),
    );
    assert_diagnostic(
        at(
            &d,
            "AlgorithmSpecification.EnableSageMakerMetricsTimeSeries",
        ),
        &text,
        "\"true\"",
        "expected true or false, found the string `\"true\"`",
        Some("write `true` without quotes"),
    );
    assert_diagnostic(
        at(&d, "StoppingCondition.MaxRuntimeInSeconds"),
        &text,
        "3000000000",
        "`3000000000` is out of range for a whole number (32-bit)",
        Some("write a whole number from -2147483648 to 2147483647"),
    );
}

#[test]
fn a_list_written_as_one_object_asks_for_a_list() {
    let text = VALID
        .replacen("[\n    {", "{\"X\": \n    {", 1)
        .replacen("}\n  ],", "}},", 1);
    let d = errors(&text);
    let d = at(&d, "InputDataConfig");
    assert_eq!((d.line, d.column), position_of(&text, "{\"X\""));
    assert_eq!(d.message, "expected a list `[...]`, found an object");
}

#[test]
fn missing_required_members_are_named_where_they_belong() {
    let text = edit(&[
        (
            "  \"RoleArn\": \"arn:aws:iam::123456789012:role/SageMakerRole\",\n",
            "",
        ),
        ("{\"S3OutputPath\": \"s3://bucket/models/\"}", "{}"),
    ]);
    let d = errors(&text);
    assert_eq!(d.len(), 2, "{d:#?}");
    assert_diagnostic(
        at(&d, "OutputDataConfig"),
        &text,
        "{}",
        "missing required field `S3OutputPath`",
        Some("add `\"S3OutputPath\": ...` to the object at OutputDataConfig"),
    );
    let root = &d[0];
    assert!(root.path.is_root());
    assert_eq!((root.line, root.column), (1, 1));
    assert_eq!(root.message, "missing required field `RoleArn`");
    assert_eq!(
        root.to_string(),
        "configuration/trainingjob.json:1:1: missing required field `RoleArn`. Hint: add \
         `\"RoleArn\": ...` to the top-level object."
    );
}

#[test]
fn enum_values_in_the_wrong_case_name_the_exact_value() {
    let text = edit(&[
        (
            "\"TrainingInputMode\": \"File\"",
            "\"TrainingInputMode\": \"file\"",
        ),
        (
            "\"S3DataType\": \"S3Prefix\"",
            "\"S3DataType\": \"s3prefix\"",
        ),
        // A value the pinned model does not list yet is passed on.
        ("\"ml.m4.xlarge\"", "\"ml.future9.48xlarge\""),
    ]);
    let d = errors(&text);
    assert_eq!(d.len(), 2, "{d:#?}");
    assert_diagnostic(
        at(&d, "AlgorithmSpecification.TrainingInputMode"),
        &text,
        "\"file\"",
        "`file` is not a value SageMaker knows",
        Some("write `File` (values are case-sensitive)"),
    );
    assert_diagnostic(
        at(&d, "InputDataConfig[0].DataSource.S3DataSource.S3DataType"),
        &text,
        "\"s3prefix\"",
        "`s3prefix` is not a value SageMaker knows",
        Some("write `S3Prefix` (values are case-sensitive)"),
    );
}

#[test]
fn model_constraints_are_checked() {
    let text = edit(&[
        ("\"churn\"", "\"churn_model\""),
        (
            "\"InstanceCount\": 1",
            "\"InstanceCount\": 1, \"KeepAlivePeriodInSeconds\": 99999",
        ),
        (
            "{\"max_depth\": \"5\"}",
            "{\"max_depth\": \"5\", \"\": \"x\"}",
        ),
    ]);
    let d = errors(&text);
    assert_eq!(d.len(), 2, "{d:#?}");
    assert_diagnostic(
        at(&d, "TrainingJobName"),
        &text,
        "\"churn_model\"",
        "`churn_model` does not match the pattern SageMaker requires",
        Some("write a value that matches `[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}` as a whole"),
    );
    assert_diagnostic(
        at(&d, "ResourceConfig.KeepAlivePeriodInSeconds"),
        &text,
        "99999",
        "`99999` is more than the maximum, 21600",
        Some("write a number from 0 to 21600"),
    );
}

#[test]
fn an_empty_channel_list_is_rejected() {
    let start = VALID.find("[\n    {").unwrap_or_default();
    let end = VALID.find("\n  ],").unwrap_or_default() + "\n  ]".len();
    let text = format!("{}[]{}", &VALID[..start], &VALID[end..]);
    let d = errors(&text);
    assert_diagnostic(
        at(&d, "InputDataConfig"),
        &text,
        "[]",
        "has 0 entries; SageMaker requires at least 1 entry",
        Some("give at least 1 entry, or leave the member out if it is optional"),
    );
}

#[test]
fn sagemaker_rules_beyond_the_model() {
    let channel = "    {\n      \"ChannelName\": \"train\",";
    let text = edit(&[
        (
            "\"TrainingInputMode\": \"File\"",
            "\"TrainingInputMode\": \"File\", \"AlgorithmName\": \"my-algorithm\"",
        ),
        (
            "\"s3://bucket/data/train/\"",
            "\"https://bucket.s3.amazonaws.com/train/\"",
        ),
        (
            channel,
            "    {\"ChannelName\": \"train\", \"DataSource\": {\"FileSystemDataSource\": {\"FileSystemId\": \"fs-0123456789abcdef0\", \"FileSystemAccessMode\": \"ro\", \"FileSystemType\": \"EFS\", \"DirectoryPath\": \"/data\"}}},\n    {\n      \"ChannelName\": \"train\",",
        ),
        (
            "{\"MaxRuntimeInSeconds\": 86400}",
            "{\"MaxRuntimeInSeconds\": 2419201}, \"EnableManagedSpotTraining\": true",
        ),
    ]);
    let d = errors(&text);
    assert_eq!(d.len(), 5, "{d:#?}");
    assert_diagnostic(
        at(&d, "AlgorithmSpecification.AlgorithmName"),
        &text,
        "\"my-algorithm\"",
        "`TrainingImage` and `AlgorithmName` are both given; SageMaker takes exactly one",
        Some(
            "keep `TrainingImage` for a container image, or `AlgorithmName` for an algorithm \
             resource, and remove the other",
        ),
    );
    assert_diagnostic(
        at(&d, "InputDataConfig[1].ChannelName"),
        &text,
        "\"train\",\n      \"DataSource\"",
        "channel name `train` is already used by InputDataConfig[0]",
        Some("give every channel its own `ChannelName`"),
    );
    assert_diagnostic(
        at(&d, "InputDataConfig[1].DataSource.S3DataSource.S3Uri"),
        &text,
        "\"https://bucket",
        "`https://bucket.s3.amazonaws.com/train/` is not an S3 URI",
        Some("write an S3 URI: `s3://<bucket>/<prefix>`"),
    );
    assert_diagnostic(
        at(&d, "StoppingCondition.MaxRuntimeInSeconds"),
        &text,
        "2419201",
        "`2419201` seconds is more than SageMaker's limit of 28 days",
        Some("write at most 2419200 (28 days)"),
    );
    // Absent: points at the object that should hold it.
    assert_diagnostic(
        at(&d, "StoppingCondition.MaxWaitTimeInSeconds"),
        &text,
        "{\"MaxRuntimeInSeconds\": 2419201}",
        "managed spot training (`EnableManagedSpotTraining`: true) needs \
         `StoppingCondition.MaxWaitTimeInSeconds`",
        Some(
            "add `\"MaxWaitTimeInSeconds\": 2419201` or more to `StoppingCondition` (at least \
             `MaxRuntimeInSeconds`)",
        ),
    );
}

#[test]
fn spot_training_waits_at_least_as_long_as_it_runs() {
    let text = edit(&[(
        "{\"MaxRuntimeInSeconds\": 86400}",
        "{\"MaxRuntimeInSeconds\": 7200, \"MaxWaitTimeInSeconds\": 3600}, \"EnableManagedSpotTraining\": true",
    )]);
    let d = errors(&text);
    assert_diagnostic(
        at(&d, "StoppingCondition.MaxWaitTimeInSeconds"),
        &text,
        "3600",
        "`3600` is less than `MaxRuntimeInSeconds` (7200); with managed spot training the wait \
         includes the run",
        Some("write 7200 or more"),
    );
    // Without MaxRuntimeInSeconds the documented default of one day applies.
    let text = edit(&[(
        "{\"MaxRuntimeInSeconds\": 86400}",
        "{\"MaxWaitTimeInSeconds\": 3600}, \"EnableManagedSpotTraining\": true",
    )]);
    let d = errors(&text);
    assert_eq!(
        at(&d, "StoppingCondition.MaxWaitTimeInSeconds")
            .hint
            .as_deref(),
        Some("write 86400 or more")
    );
    let text = edit(&[(
        "{\"MaxRuntimeInSeconds\": 86400}",
        "{\"MaxRuntimeInSeconds\": 3600, \"MaxWaitTimeInSeconds\": 3600}, \"EnableManagedSpotTraining\": true",
    )]);
    let doc = Document::parse(FILE, &text).unwrap_or_else(|e| panic!("{e}"));
    training_job::load(&doc).unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn an_algorithm_needs_an_image_or_a_name() {
    let text = edit(&[(
        "    \"TrainingImage\": \"683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3\",\n",
        "",
    )]);
    let d = errors(&text);
    let d = at(&d, "AlgorithmSpecification");
    assert_eq!(
        (d.line, d.column),
        position_of(&text, "{\n    \"TrainingInputMode\"")
    );
    assert_eq!(
        d.message,
        "neither `TrainingImage` nor `AlgorithmName` is given; SageMaker needs exactly one"
    );
}
