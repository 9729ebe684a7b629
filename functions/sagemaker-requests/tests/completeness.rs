//! Every member of every shape the API model reaches from the inputs of the operations the
//! generator covers (CreateTrainingJob, CreateHyperParameterTuningJob, CreateModel,
//! CreateEndpointConfig, CreateEndpoint, UpdateEndpoint) is accepted, passes the checks when
//! valid, serializes back unchanged and reaches the body aws-sdk-sagemaker sends.
//!
//! Each request is synthesized from `model/shapes.json` (the generator's snapshot of the pinned
//! botocore model), not from the generated code, so a member the generator dropped, renamed or
//! failed to convert makes the bodies differ.

use aws_sdk_sagemaker::config::{BehaviorVersion, Credentials, Region};
use aws_smithy_http_client::test_util::capture_request;
use aws_smithy_types::body::SdkBody;
use config_file::{Document, JsonPath};
use regex::Regex;
use sagemaker_requests::generated::PATTERNS;
use sagemaker_requests::{
    CreateEndpointConfigInput, CreateEndpointInput, CreateHyperParameterTuningJobRequest,
    CreateModelInput, CreateTrainingJobRequest, UpdateEndpointInput, Violation, training_job,
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
    "arn:aws:sns:us-east-1:123456789012:topic",
    "text/csv",
    "mig-1g.5gb",
    "/metrics",
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
    // botocore names the hosting inputs `...Input`, the job inputs `...Request`.
    for (operation, input) in [
        ("CreateModel", "CreateModelInput"),
        ("CreateEndpointConfig", "CreateEndpointConfigInput"),
        ("CreateEndpoint", "CreateEndpointInput"),
        ("UpdateEndpoint", "UpdateEndpointInput"),
    ] {
        assert_eq!(model["operations"][operation], input);
    }
    assert_eq!(model["operations"].as_object().map_or(0, Map::len), 6);
    // Structures reachable from the six operations, each emitted once, and their members: 58
    // and 225 for training and tuning alone; the hosting requests (containers, production
    // variants, data capture, async inference, explainers, deployment configuration) add 47
    // and 169. A change here means the generator or the pinned model changed what it covers.
    assert_eq!(count_structures(&model), (105, 394));
}

fn maximal_document(model: &Value) -> (Value, Document) {
    let request = synthesize(model, INPUT);
    let text = serde_json::to_string_pretty(&request).unwrap_or_default();
    let doc = Document::parse("trainingjob.json", &text).unwrap_or_else(|e| panic!("{e}"));
    (request, doc)
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

/// A request the tests can check generically: the generated `check` of each input shape.
trait Mirror: serde::de::DeserializeOwned + serde::Serialize {
    fn check(&self, path: &mut JsonPath, out: &mut Vec<Violation>);
}

macro_rules! mirror {
    ($($shape:ty),* $(,)?) => {
        $(impl Mirror for $shape {
            fn check(&self, path: &mut JsonPath, out: &mut Vec<Violation>) {
                <$shape>::check(self, path, out)
            }
        })*
    };
}

mirror!(
    CreateTrainingJobRequest,
    CreateHyperParameterTuningJobRequest,
    CreateModelInput,
    CreateEndpointConfigInput,
    CreateEndpointInput,
    UpdateEndpointInput,
);

/// The maximal request of `input`, parsed as a user's file: it deserializes, passes the model's
/// checks and serializes back to the same JSON. Returns the JSON and the mirror.
fn maximal_mirror<M: Mirror>(model: &Value, input: &str, file: &str) -> (Value, M) {
    let request = synthesize(model, input);
    let text = serde_json::to_string_pretty(&request).unwrap_or_default();
    let doc = Document::parse(file, &text).unwrap_or_else(|e| panic!("{e}"));
    let mirror: M = doc.deserialize().unwrap_or_else(|e| panic!("{input}: {e}"));
    let mut violations = Vec::new();
    mirror.check(&mut JsonPath::root(), &mut violations);
    assert_eq!(
        violations,
        vec![],
        "{input}: valid values must pass the model's checks"
    );
    let back = serde_json::to_value(&mirror).unwrap_or_default();
    assert_eq!(back, request, "{input}: the mirror keeps every member");
    (request, mirror)
}

/// Proves for the operation whose input is `input` that every member of every nested shape
/// reaches the body the SDK sends. `send` applies the mirror to the operation's fluent builder,
/// sets what the pipeline owns (`names`, also expected in the body) and sends it to a client
/// that answers `response`.
async fn every_member_reaches_the_sdk<M, F, Fut>(
    input: &str,
    file: &str,
    response: &'static str,
    names: &[(&str, &str)],
    send: F,
) where
    M: Mirror,
    F: FnOnce(aws_sdk_sagemaker::Client, M) -> Fut,
    Fut: Future<Output = Result<(), String>>,
{
    let model = model();
    let (mut request, mirror) = maximal_mirror::<M>(&model, input, file);

    let response = http::Response::builder()
        .status(200)
        .body(SdkBody::from(response))
        .unwrap_or_else(|e| panic!("{e}"));
    let (http_client, captured) = capture_request(Some(response));
    let config = aws_sdk_sagemaker::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("AKID", "SECRET", None, None, "test"))
        .http_client(http_client)
        .build();
    let client = aws_sdk_sagemaker::Client::from_conf(config);
    send(client, mirror)
        .await
        .unwrap_or_else(|e| panic!("{input}: {e}"));

    let sent = captured.expect_request();
    let body: Value = serde_json::from_slice(sent.body().bytes().unwrap_or_default())
        .unwrap_or_else(|e| panic!("{e}"));
    for (member, name) in names {
        request[*member] = json!(name);
    }
    assert_eq!(
        body, request,
        "{input}: the SDK sends exactly what the file says"
    );
}

#[tokio::test]
async fn every_training_member_reaches_the_body_the_sdk_sends() {
    // The name is optional in the mirror (the pipeline owns it) and set on the builder. The
    // request has both members of the exclusive pair (see above): neither the model's checks
    // nor the SDK refuse it, only `training_job::rules`, which this proof does not apply.
    every_member_reaches_the_sdk(
        INPUT,
        "trainingjob.json",
        r#"{"TrainingJobArn": "arn:aws:sagemaker:us-east-1:123456789012:training-job/test-job"}"#,
        &[("TrainingJobName", "test-job")],
        |client, mirror: CreateTrainingJobRequest| async move {
            let call = mirror.apply(client.create_training_job());
            let call = call.map_err(|e| e.to_string())?;
            let output = call.training_job_name("test-job").send().await;
            let output = output.map_err(|e| format!("{e:?}"))?;
            let arn = output.training_job_arn().unwrap_or_default();
            match arn.ends_with("/test-job") {
                true => Ok(()),
                false => Err(format!("unexpected TrainingJobArn {arn}")),
            }
        },
    )
    .await;
}

#[tokio::test]
async fn every_tuning_member_reaches_the_body_the_sdk_sends() {
    // The name is optional in the mirror (the pipeline owns it) and set on the builder.
    every_member_reaches_the_sdk(
        TUNING_INPUT,
        "tuning.json",
        r#"{"HyperParameterTuningJobArn": "arn:aws:sagemaker:us-east-1:123456789012:hyper-parameter-tuning-job/t"}"#,
        &[("HyperParameterTuningJobName", "t")],
        |client, mirror: CreateHyperParameterTuningJobRequest| async move {
            let call = mirror.apply(client.create_hyper_parameter_tuning_job());
            let call = call.map_err(|e| e.to_string())?;
            let call = call.hyper_parameter_tuning_job_name("t");
            call.send().await.map(drop).map_err(|e| format!("{e:?}"))
        },
    )
    .await;
}

// The hosting requests keep their names required (no OPTIONAL_OVERRIDES): ModelName,
// EndpointConfigName and EndpointName come from the synthesized file and `apply` sets them, so
// the builders need nothing more. None of their shapes has members SageMaker takes only one of
// that the mirror checks (there is no rule like `training_job::rules` for them) nor a union,
// which the SDK could not send with every member set: the maximal request goes through as is.

#[tokio::test]
async fn every_create_model_member_reaches_the_body_the_sdk_sends() {
    every_member_reaches_the_sdk(
        "CreateModelInput",
        "model.json",
        r#"{"ModelArn": "arn:aws:sagemaker:us-east-1:123456789012:model/value"}"#,
        &[],
        |client, mirror: CreateModelInput| async move {
            let call = mirror.apply(client.create_model());
            let call = call.map_err(|e| e.to_string())?;
            call.send().await.map(drop).map_err(|e| format!("{e:?}"))
        },
    )
    .await;
}

#[tokio::test]
async fn every_create_endpoint_config_member_reaches_the_body_the_sdk_sends() {
    every_member_reaches_the_sdk(
        "CreateEndpointConfigInput",
        "endpointconfig.json",
        r#"{"EndpointConfigArn": "arn:aws:sagemaker:us-east-1:123456789012:endpoint-config/value"}"#,
        &[],
        |client, mirror: CreateEndpointConfigInput| async move {
            let call = mirror.apply(client.create_endpoint_config());
            let call = call.map_err(|e| e.to_string())?;
            call.send().await.map(drop).map_err(|e| format!("{e:?}"))
        },
    )
    .await;
}

#[tokio::test]
async fn every_create_endpoint_member_reaches_the_body_the_sdk_sends() {
    every_member_reaches_the_sdk(
        "CreateEndpointInput",
        "endpoint.json",
        r#"{"EndpointArn": "arn:aws:sagemaker:us-east-1:123456789012:endpoint/value"}"#,
        &[],
        |client, mirror: CreateEndpointInput| async move {
            let call = mirror.apply(client.create_endpoint());
            let call = call.map_err(|e| e.to_string())?;
            call.send().await.map(drop).map_err(|e| format!("{e:?}"))
        },
    )
    .await;
}

#[tokio::test]
async fn every_update_endpoint_member_reaches_the_body_the_sdk_sends() {
    every_member_reaches_the_sdk(
        "UpdateEndpointInput",
        "endpoint.json",
        r#"{"EndpointArn": "arn:aws:sagemaker:us-east-1:123456789012:endpoint/value"}"#,
        &[],
        |client, mirror: UpdateEndpointInput| async move {
            let call = mirror.apply(client.update_endpoint());
            let call = call.map_err(|e| e.to_string())?;
            call.send().await.map(drop).map_err(|e| format!("{e:?}"))
        },
    )
    .await;
}
