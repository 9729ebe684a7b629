//! Every member of every shape the API model reaches from CreateTrainingJobRequest is accepted,
//! passes the checks when valid, and reaches the body aws-sdk-sagemaker sends.
//!
//! The request is synthesized from `model/shapes.json` (the generator's snapshot of the pinned
//! botocore model), not from the generated code, so a member the generator dropped, renamed or
//! failed to convert makes the bodies differ.

use aws_sdk_sagemaker::config::{BehaviorVersion, Credentials, Region};
use aws_smithy_http_client::test_util::capture_request;
use aws_smithy_types::body::SdkBody;
use config_file::{Document, JsonPath};
use regex::Regex;
use sagemaker_requests::generated::PATTERNS;
use sagemaker_requests::{
    CreateHyperParameterTuningJobRequest, CreateTrainingJobRequest, training_job,
};
use serde_json::{Map, Value, json};

const INPUT: &str = "CreateTrainingJobRequest";
const TUNING_INPUT: &str = "CreateHyperParameterTuningJobRequest";

fn model() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/model/shapes.json");
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn shape<'m>(model: &'m Value, name: &str) -> &'m Value {
    model["shapes"]
        .get(name)
        .unwrap_or_else(|| panic!("shape {name} is not in the snapshot"))
}

/// Strings that satisfy the model's patterns, tried in order.
const STRING_CANDIDATES: &[&str] = &[
    "value",
    "s3://bucket/prefix",
    "arn:aws:iam::123456789012:role/SageMakerRole",
    "arn:aws:sagemaker:us-east-1:123456789012:training-plan/plan",
    "arn:aws:sagemaker:us-east-1:123456789012:mlflow-tracking-server/server",
    "arn:aws:sagemaker:us-east-1:123456789012:model-package-group/group",
    "arn:aws:sagemaker:us-east-1:123456789012:model-package/group/1",
    "arn:aws:sagemaker:us-east-1:aws:hub-content/SageMakerPublicHub/Model/model-id/1.0.0",
    "arn:aws:sagemaker:us-east-1:aws:hub-content/SageMakerPublicHub/DataSet/data-id/1.0.0",
    "arn:aws:lambda:us-east-1:123456789012:function:fn",
    "fs-0123456789abcdef0",
    "512K",
    "1.0.0",
    "a",
];

fn fits(spec: &Value, candidate: &str) -> bool {
    let count = candidate.chars().count() as u64;
    let min_ok = spec["min"].as_u64().is_none_or(|min| count >= min);
    let max_ok = spec["max"].as_u64().is_none_or(|max| count <= max);
    // As the generated check applies it; skipped patterns (lookaround) are not applied.
    let pattern_ok = spec["pattern"].as_str().is_none_or(|p| {
        let anchored = PATTERNS.iter().find(|(written, _)| *written == p);
        anchored
            .is_none_or(|(_, anchored)| Regex::new(anchored).is_ok_and(|re| re.is_match(candidate)))
    });
    min_ok && max_ok && pattern_ok
}

/// A value of shape `name` with every member present: one list element, one map entry, an
/// enum's first value, numbers at their minimum.
fn synthesize(model: &Value, name: &str) -> Value {
    let spec = shape(model, name);
    match spec["type"].as_str().unwrap_or_default() {
        "structure" => {
            let members = spec["members"].as_object().cloned().unwrap_or_default();
            let object: Map<String, Value> = members
                .iter()
                .map(|(member, m)| {
                    let target = m["shape"].as_str().unwrap_or_default();
                    (member.clone(), synthesize(model, target))
                })
                .collect();
            Value::Object(object)
        }
        "list" => {
            let count = spec["min"].as_u64().unwrap_or(0).max(1);
            let element = spec["member"]["shape"].as_str().unwrap_or_default();
            Value::Array((0..count).map(|_| synthesize(model, element)).collect())
        }
        "map" => {
            let key = synthesize(model, spec["key"]["shape"].as_str().unwrap_or_default());
            let value = synthesize(model, spec["value"]["shape"].as_str().unwrap_or_default());
            let key = key.as_str().unwrap_or_default().to_owned();
            Value::Object(Map::from_iter([(key, value)]))
        }
        "string" => {
            if let Some(first) = spec["enum"].get(0) {
                return first.clone();
            }
            let fitting = STRING_CANDIDATES.iter().find(|c| fits(spec, c));
            let fitting =
                fitting.unwrap_or_else(|| panic!("add a string that fits {name}: {spec}"));
            json!(fitting)
        }
        "integer" | "long" => {
            let min = spec["min"].as_i64().unwrap_or(1).max(1);
            json!(spec["max"].as_i64().map_or(min, |max| min.min(max)))
        }
        "float" | "double" => json!(spec["min"].as_f64().unwrap_or(1.0).max(0.5)),
        "boolean" => json!(true),
        "timestamp" => json!(1_700_000_000),
        other => panic!("shape {name} has type {other}, which this test does not synthesize"),
    }
}

fn count_structures(model: &Value) -> (usize, usize) {
    let shapes = model["shapes"].as_object().cloned().unwrap_or_default();
    let structures: Vec<&Value> = shapes
        .values()
        .filter(|s| s["type"] == "structure")
        .collect();
    let members = structures
        .iter()
        .map(|s| s["members"].as_object().map_or(0, Map::len))
        .sum();
    (structures.len(), members)
}

#[test]
fn the_snapshot_is_the_pinned_model() {
    let model = model();
    assert_eq!(model["botocore_version"], "1.44.5");
    assert_eq!(model["operations"]["CreateTrainingJob"], INPUT);
    let members = shape(&model, INPUT)["members"]
        .as_object()
        .map_or(0, Map::len);
    assert_eq!(
        members, 28,
        "CreateTrainingJobRequest members in botocore 1.44.5"
    );
    assert_eq!(
        model["operations"]["CreateHyperParameterTuningJob"],
        TUNING_INPUT
    );
    // Structures reachable from both operations, each emitted once.
    assert_eq!(count_structures(&model), (58, 225));
}

fn maximal_document(model: &Value) -> (Value, Document) {
    let request = synthesize(model, INPUT);
    let text = serde_json::to_string_pretty(&request).unwrap_or_default();
    let doc = Document::parse("trainingjob.json", &text).unwrap_or_else(|e| panic!("{e}"));
    (request, doc)
}

#[test]
fn every_member_deserializes_passes_the_checks_and_serializes_back() {
    let model = model();
    let (request, doc) = maximal_document(&model);
    let mirror: CreateTrainingJobRequest = doc.deserialize().unwrap_or_else(|e| panic!("{e}"));
    let mut violations = Vec::new();
    mirror.check(&mut JsonPath::root(), &mut violations);
    assert_eq!(
        violations,
        vec![],
        "valid values must pass the model's checks"
    );
    let back = serde_json::to_value(&mirror).unwrap_or_default();
    assert_eq!(back, request, "the mirror keeps every member");
}

#[test]
fn the_maximal_request_meets_the_rules_but_one_exclusive_pair() {
    let model = model();
    let (mut request, doc) = maximal_document(&model);
    // Every member present means both TrainingImage and AlgorithmName: SageMaker takes one.
    let Err(diagnostics) = training_job::load(&doc) else {
        panic!("TrainingImage with AlgorithmName must be rejected")
    };
    let paths: Vec<String> = diagnostics.iter().map(|d| d.path.to_string()).collect();
    assert_eq!(paths, vec!["AlgorithmSpecification.AlgorithmName"]);

    if let Some(algorithm) = request["AlgorithmSpecification"].as_object_mut() {
        algorithm.remove("AlgorithmName");
    }
    let text = serde_json::to_string_pretty(&request).unwrap_or_default();
    let doc = Document::parse("trainingjob.json", &text).unwrap_or_else(|e| panic!("{e}"));
    training_job::load(&doc).unwrap_or_else(|e| panic!("{e}"));
}

#[tokio::test]
async fn every_member_reaches_the_body_the_sdk_sends() {
    let model = model();
    let (mut request, doc) = maximal_document(&model);
    let mirror: CreateTrainingJobRequest = doc.deserialize().unwrap_or_else(|e| panic!("{e}"));

    let response = http::Response::builder()
        .status(200)
        .body(SdkBody::from(
            r#"{"TrainingJobArn": "arn:aws:sagemaker:us-east-1:123456789012:training-job/test-job"}"#,
        ))
        .unwrap_or_else(|e| panic!("{e}"));
    let (http_client, captured) = capture_request(Some(response));
    let config = aws_sdk_sagemaker::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("AKID", "SECRET", None, None, "test"))
        .http_client(http_client)
        .build();
    let client = aws_sdk_sagemaker::Client::from_conf(config);
    let call = mirror
        .apply(client.create_training_job())
        .unwrap_or_else(|e| panic!("{e}"))
        .training_job_name("test-job");
    let output = call.send().await.unwrap_or_else(|e| panic!("{e:?}"));
    assert!(
        output
            .training_job_arn()
            .is_some_and(|arn| arn.ends_with("/test-job"))
    );

    let sent = captured.expect_request();
    let body = sent.body().bytes().unwrap_or_default();
    let body: Value = serde_json::from_slice(body).unwrap_or_else(|e| panic!("{e}"));
    request["TrainingJobName"] = json!("test-job");
    assert_eq!(body, request, "the SDK sends exactly what the file says");
}

#[tokio::test]
async fn every_tuning_member_reaches_the_body_the_sdk_sends() {
    let model = model();
    let mut request = synthesize(&model, TUNING_INPUT);
    let text = serde_json::to_string_pretty(&request).unwrap_or_default();
    let doc = Document::parse("tuning.json", &text).unwrap_or_else(|e| panic!("{e}"));
    let mirror: CreateHyperParameterTuningJobRequest =
        doc.deserialize().unwrap_or_else(|e| panic!("{e}"));
    let mut violations = Vec::new();
    mirror.check(&mut JsonPath::root(), &mut violations);
    assert_eq!(
        violations,
        vec![],
        "valid values must pass the model's checks"
    );

    let response = http::Response::builder()
        .status(200)
        .body(SdkBody::from(
            r#"{"HyperParameterTuningJobArn": "arn:aws:sagemaker:us-east-1:123456789012:hyper-parameter-tuning-job/t"}"#,
        ))
        .unwrap_or_else(|e| panic!("{e}"));
    let (http_client, captured) = capture_request(Some(response));
    let config = aws_sdk_sagemaker::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("AKID", "SECRET", None, None, "test"))
        .http_client(http_client)
        .build();
    let client = aws_sdk_sagemaker::Client::from_conf(config);
    mirror
        .apply(client.create_hyper_parameter_tuning_job())
        .unwrap_or_else(|e| panic!("{e}"))
        .hyper_parameter_tuning_job_name("t")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));

    let sent = captured.expect_request();
    let body: Value = serde_json::from_slice(sent.body().bytes().unwrap_or_default())
        .unwrap_or_else(|e| panic!("{e}"));
    request["HyperParameterTuningJobName"] = json!("t");
    assert_eq!(body, request, "the SDK sends exactly what the file says");
}
