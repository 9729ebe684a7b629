//! Hosting over HTTP with the real SDKs: models, endpoint configs and endpoints whose variants
//! run as local model servers, InvokeEndpoint through aws-sdk-sagemakerruntime, blue/green
//! updates rolled back by a CloudWatch alarm (moto), and what SageMaker refuses.

mod support;

use std::time::{Duration, Instant};

use aws_sdk_cloudwatch::types::{ComparisonOperator, StateValue, Statistic};
use aws_sdk_sagemaker::operation::describe_endpoint::DescribeEndpointOutput;
use aws_sdk_sagemaker::types::EndpointStatus;
use aws_sdk_sagemakerruntime::primitives::Blob;
use serde_json::{Value, json};
use support::{BUCKET, Harness, ROLE};

const LIMIT: Duration = Duration::from_secs(60);

/// A script-mode inference program: the model is a number in model.json that each CSV value
/// is multiplied by; `fail` in the body makes predict_fn raise, `exit` kills the server.
const PROGRAM: &str = r#"
import json, os

def model_fn(model_dir):
    with open(os.path.join(model_dir, "model.json")) as f:
        return json.load(f)

def predict_fn(data, model):
    if data and data[0] and data[0][0] == "fail":
        raise RuntimeError("the model cannot predict this")
    if data and data[0] and data[0][0] == "exit":
        os._exit(3)
    if data and data[0] and data[0][0] == "sleep":
        import time
        time.sleep(30)
    return [[value * model["scale"] for value in row] for row in data]
"#;

struct Hosting {
    h: Harness,
    runtime: aws_sdk_sagemakerruntime::Client,
    cloudwatch: aws_sdk_cloudwatch::Client,
}

impl Hosting {
    async fn start() -> Self {
        Self::start_with(|s| s).await
    }

    async fn start_with(
        adjust: impl FnOnce(local_sagemaker::Settings) -> local_sagemaker::Settings,
    ) -> Self {
        let h = Harness::start_hosting(adjust).await;
        let config = test_support::local_sdk_config(&h.sagemaker.endpoint_url());
        let runtime = aws_sdk_sagemakerruntime::Client::new(&config);
        let cloudwatch = aws_sdk_cloudwatch::Client::new(&h.moto.sdk_config());
        Hosting {
            h,
            runtime,
            cloudwatch,
        }
    }

    /// model.tar.gz of a model with `scale`, its code under code/ (as framework containers
    /// find it); returns its URI.
    async fn model_data(&self, key: &str, scale: f64, program: &str) -> String {
        let model = json!({ "scale": scale }).to_string();
        self.h
            .put_code(
                key,
                &[("model.json", &model), ("code/inference.py", program)],
            )
            .await
    }

    async fn create_model(&self, request: Value) -> Result<(), String> {
        let request: sagemaker_requests::CreateModelInput =
            serde_json::from_value(request).map_err(|e| e.to_string())?;
        let call = request
            .apply(self.h.client.create_model())
            .map_err(|e| e.to_string())?;
        call.send().await.map(drop).map_err(message)
    }

    /// A script-mode model of `scale`.
    async fn model(&self, name: &str, scale: f64) {
        let data = self
            .model_data(&format!("models/{name}/model.tar.gz"), scale, PROGRAM)
            .await;
        self.create_model(json!({
            "ModelName": name,
            "ExecutionRoleArn": ROLE,
            "PrimaryContainer": {
                "Image": support::IMAGE,
                "ModelDataUrl": data,
                "Environment": {"SAGEMAKER_PROGRAM": "inference.py"}
            }
        }))
        .await
        .unwrap();
    }

    async fn create_config(&self, request: Value) -> Result<(), String> {
        let request: sagemaker_requests::CreateEndpointConfigInput =
            serde_json::from_value(request).map_err(|e| e.to_string())?;
        let call = request
            .apply(self.h.client.create_endpoint_config())
            .map_err(|e| e.to_string())?;
        call.send().await.map(drop).map_err(message)
    }

    /// A serverless config of one variant `AllTraffic` on `model`.
    async fn config(&self, name: &str, model: &str) {
        self.create_config(json!({
            "EndpointConfigName": name,
            "ProductionVariants": [{
                "VariantName": "AllTraffic",
                "ModelName": model,
                "ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 5}
            }]
        }))
        .await
        .unwrap();
    }

    async fn create_endpoint(&self, name: &str, config: &str) -> Result<(), String> {
        self.h
            .client
            .create_endpoint()
            .endpoint_name(name)
            .endpoint_config_name(config)
            .send()
            .await
            .map(drop)
            .map_err(message)
    }

    async fn update(&self, name: &str, config: &str, deployment: Value) -> Result<(), String> {
        let request: sagemaker_requests::UpdateEndpointInput = serde_json::from_value(json!({
            "EndpointName": name,
            "EndpointConfigName": config,
            "DeploymentConfig": deployment,
        }))
        .map_err(|e| e.to_string())?;
        let call = request
            .apply(self.h.client.update_endpoint())
            .map_err(|e| e.to_string())?;
        call.send().await.map(drop).map_err(message)
    }

    async fn describe(&self, name: &str) -> DescribeEndpointOutput {
        self.h
            .client
            .describe_endpoint()
            .endpoint_name(name)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{}", message(e)))
    }

    /// Polls DescribeEndpoint until `done` holds; returns every status seen on the way.
    async fn wait(
        &self,
        name: &str,
        done: impl Fn(&DescribeEndpointOutput) -> bool,
    ) -> (DescribeEndpointOutput, Vec<EndpointStatus>) {
        let deadline = Instant::now() + LIMIT;
        let mut seen = Vec::new();
        loop {
            let endpoint = self.describe(name).await;
            if let Some(status) = endpoint.endpoint_status()
                && seen.last() != Some(status)
            {
                seen.push(status.clone());
            }
            if done(&endpoint) {
                return (endpoint, seen);
            }
            assert!(Instant::now() < deadline, "endpoint {name}: {endpoint:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn settled(&self, name: &str) -> DescribeEndpointOutput {
        self.wait(name, |e| {
            matches!(
                e.endpoint_status(),
                Some(EndpointStatus::InService | EndpointStatus::Failed)
            )
        })
        .await
        .0
    }

    /// A serverless endpoint on a model of `scale`, in service.
    async fn endpoint(&self, name: &str, scale: f64) {
        self.model(&format!("{name}-model"), scale).await;
        self.config(&format!("{name}-config"), &format!("{name}-model"))
            .await;
        self.create_endpoint(name, &format!("{name}-config"))
            .await
            .unwrap();
        let endpoint = self.settled(name).await;
        assert_eq!(
            endpoint.endpoint_status(),
            Some(&EndpointStatus::InService),
            "{endpoint:?}"
        );
    }

    async fn invoke(&self, name: &str, body: &str) -> Result<(String, String, String), String> {
        let answer = self
            .runtime
            .invoke_endpoint()
            .endpoint_name(name)
            .content_type("text/csv")
            .accept("text/csv")
            .body(Blob::new(body.as_bytes()))
            .send()
            .await
            .map_err(|e| {
                format!(
                    "{}",
                    aws_sdk_sagemakerruntime::error::DisplayErrorContext(e)
                )
            })?;
        let bytes = answer
            .body()
            .map(|b| b.as_ref().to_vec())
            .unwrap_or_default();
        Ok((
            String::from_utf8_lossy(&bytes).into_owned(),
            answer.content_type().unwrap_or_default().to_owned(),
            answer
                .invoked_production_variant()
                .unwrap_or_default()
                .to_owned(),
        ))
    }
}

fn message<E: std::error::Error + Send + Sync + 'static>(e: E) -> String {
    format!("{}", aws_sdk_sagemaker::error::DisplayErrorContext(e))
}

fn process_alive(pid: u32) -> bool {
    support::alive(pid)
}

/// The pids of the model servers under the work dir (their command lines name it).
fn model_server_pids(h: &Harness) -> Vec<u32> {
    let work = h.work.0.display().to_string();
    let mut pids = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if cmdline.contains("serve.py") && cmdline.contains(&work) && process_alive(pid) {
            pids.push(pid);
        }
    }
    pids
}

#[tokio::test]
async fn a_script_mode_model_serves_predictions_and_reports_metrics() {
    let t = Hosting::start().await;
    t.endpoint("scaler", 2.0).await;
    let endpoint = t.describe("scaler").await;
    assert_eq!(endpoint.endpoint_config_name(), Some("scaler-config"));
    let variant = &endpoint.production_variants()[0];
    assert_eq!(variant.variant_name(), Some("AllTraffic"));
    assert_eq!(variant.current_weight(), Some(1.0));
    assert!(variant.current_serverless_config().is_some());

    let (body, content_type, variant) = t.invoke("scaler", "1,2\n3,4\n").await.unwrap();
    assert_eq!(body, "2.0,4.0\n6.0,8.0\n");
    assert_eq!(content_type, "text/csv");
    assert_eq!(variant, "AllTraffic");

    // The same through TargetVariant, and from the model server called directly.
    let targeted = t
        .runtime
        .invoke_endpoint()
        .endpoint_name("scaler")
        .target_variant("AllTraffic")
        .content_type("text/csv")
        .accept("text/csv")
        .body(Blob::new("5\n"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        targeted.body().map(|b| b.as_ref()),
        Some(b"10.0\n".as_slice())
    );
    let (base, log) = t.h.sagemaker.model_server("scaler", "AllTraffic").unwrap();
    assert!(
        base.starts_with("http://127.0.0.1:") && log.is_file(),
        "{base} {log:?}"
    );

    // Tags of the endpoint are this service's.
    let arn = endpoint.endpoint_arn().unwrap_or_default().to_owned();
    let tag = aws_sdk_sagemaker::types::Tag::builder()
        .key("stack")
        .value("sagemaker-cicd")
        .build();
    t.h.client
        .add_tags()
        .resource_arn(&arn)
        .tags(tag)
        .send()
        .await
        .unwrap();
    let tags =
        t.h.client
            .list_tags()
            .resource_arn(&arn)
            .send()
            .await
            .unwrap();
    assert_eq!(tags.tags().len(), 1);

    let listed =
        t.h.client
            .list_endpoints()
            .name_contains("scal")
            .send()
            .await
            .unwrap();
    let names: Vec<_> = listed
        .endpoints()
        .iter()
        .map(|e| e.endpoint_name())
        .collect();
    assert_eq!(names, [Some("scaler")]);

    // Metrics reach CloudWatch within the writer's second.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let stats = t
            .cloudwatch
            .get_metric_statistics()
            .namespace("AWS/SageMaker")
            .metric_name("Invocations")
            .dimensions(dimension("EndpointName", "scaler"))
            .dimensions(dimension("VariantName", "AllTraffic"))
            .start_time(aws_sdk_cloudwatch::primitives::DateTime::from_secs(0))
            .end_time(aws_sdk_cloudwatch::primitives::DateTime::from_secs(
                4_000_000_000,
            ))
            .period(60)
            .statistics(Statistic::Sum)
            .send()
            .await
            .unwrap();
        let sum: f64 = stats.datapoints().iter().filter_map(|d| d.sum()).sum();
        if sum >= 1.0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no Invocations metric: {stats:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // Deleting the endpoint stops its server.
    let pids = model_server_pids(&t.h);
    assert_eq!(pids.len(), 1, "one model server: {pids:?}");
    t.h.client
        .delete_endpoint()
        .endpoint_name("scaler")
        .send()
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while pids.iter().any(|&p| process_alive(p)) {
        assert!(
            Instant::now() < deadline,
            "the model server outlived its endpoint"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let err = t.invoke("scaler", "1\n").await.unwrap_err();
    assert!(
        err.contains("ValidationError") && err.contains("not found"),
        "{err}"
    );
}

fn dimension(name: &str, value: &str) -> aws_sdk_cloudwatch::types::Dimension {
    aws_sdk_cloudwatch::types::Dimension::builder()
        .name(name)
        .value(value)
        .build()
}

#[tokio::test]
async fn a_canary_whose_alarm_fires_is_rolled_back() {
    let t = Hosting::start().await;
    t.endpoint("prod", 1.0).await;
    t.model("prod-v2", 10.0).await;
    t.config("prod-config-v2", "prod-v2").await;
    t.cloudwatch
        .put_metric_alarm()
        .alarm_name("prod-5xx")
        .namespace("AWS/SageMaker")
        .metric_name("Invocation5XXErrors")
        .dimensions(dimension("EndpointName", "prod"))
        .dimensions(dimension("VariantName", "AllTraffic"))
        .statistic(Statistic::Sum)
        .period(60)
        .evaluation_periods(1)
        .threshold(1.0)
        .comparison_operator(ComparisonOperator::GreaterThanOrEqualToThreshold)
        .send()
        .await
        .unwrap();
    t.update(
        "prod",
        "prod-config-v2",
        json!({
            "BlueGreenUpdatePolicy": {
                "TrafficRoutingConfiguration": {
                    "Type": "CANARY", "WaitIntervalInSeconds": 60,
                    "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": 50}
                }
            },
            "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": "prod-5xx"}]}
        }),
    )
    .await
    .unwrap();
    // A second update while this one runs is refused.
    let err = t
        .update("prod", "prod-config-v2", json!({}))
        .await
        .unwrap_err();
    assert!(err.contains("Cannot update in-progress endpoint"), "{err}");

    // Baking: half the invocations reach the new fleet.
    let (baking, _) = t
        .wait("prod", |e| {
            e.pending_deployment_summary()
                .and_then(|p| p.production_variants().first())
                .and_then(|v| v.current_weight())
                .is_some_and(|w| w > 0.0)
        })
        .await;
    assert_eq!(baking.endpoint_status(), Some(&EndpointStatus::Updating));
    let mut new_fleet = 0;
    for _ in 0..20 {
        let (body, _, _) = t.invoke("prod", "1\n").await.unwrap();
        match body.as_str() {
            "10.0\n" => new_fleet += 1,
            "1.0\n" => {}
            other => panic!("unexpected answer {other:?}"),
        }
    }
    assert!(
        (8..=12).contains(&new_fleet),
        "{new_fleet} of 20 on the canary"
    );

    t.cloudwatch
        .set_alarm_state()
        .alarm_name("prod-5xx")
        .state_value(StateValue::Alarm)
        .state_reason("Threshold crossed: 3 errors")
        .send()
        .await
        .unwrap();
    let (done, seen) = t
        .wait("prod", |e| {
            e.endpoint_status() == Some(&EndpointStatus::InService)
                && e.pending_deployment_summary().is_none()
        })
        .await;
    assert!(seen.contains(&EndpointStatus::RollingBack), "{seen:?}");
    assert_eq!(done.endpoint_config_name(), Some("prod-config"));
    let reason = done.failure_reason().unwrap_or_default();
    assert!(
        reason.contains("prod-5xx") && reason.contains("Threshold crossed"),
        "{reason}"
    );
    assert!(done.last_deployment_config().is_some());
    for _ in 0..5 {
        assert_eq!(t.invoke("prod", "1\n").await.unwrap().0, "1.0\n");
    }
    assert_eq!(model_server_pids(&t.h).len(), 1, "the canary fleet is gone");
    // No model server outlives the service.
    let pids = model_server_pids(&t.h);
    drop(t);
    let deadline = Instant::now() + Duration::from_secs(10);
    while pids.iter().any(|&p| process_alive(p)) {
        assert!(
            Instant::now() < deadline,
            "a model server outlived the service"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_linear_update_without_alarms_completes_on_the_new_config() {
    let t = Hosting::start().await;
    t.endpoint("svc", 1.0).await;
    t.model("svc-v2", 3.0).await;
    t.config("svc-config-v2", "svc-v2").await;
    t.update(
        "svc",
        "svc-config-v2",
        json!({
            "BlueGreenUpdatePolicy": {
                "TrafficRoutingConfiguration": {
                    "Type": "LINEAR", "WaitIntervalInSeconds": 0,
                    "LinearStepSize": {"Type": "CAPACITY_PERCENT", "Value": 50}
                },
                "TerminationWaitInSeconds": 0
            }
        }),
    )
    .await
    .unwrap();
    let (done, seen) = t
        .wait("svc", |e| e.endpoint_config_name() == Some("svc-config-v2"))
        .await;
    assert_eq!(done.endpoint_status(), Some(&EndpointStatus::InService));
    assert!(
        seen.contains(&EndpointStatus::Updating) || seen.is_empty(),
        "{seen:?}"
    );
    assert_eq!(done.failure_reason(), None);
    assert_eq!(t.invoke("svc", "2\n").await.unwrap().0, "6.0\n");
    assert_eq!(model_server_pids(&t.h).len(), 1, "the old fleet is gone");
    // Both configs are listed, newest first; the old one may go while the endpoint serves.
    let listed =
        t.h.client
            .list_endpoint_configs()
            .name_contains("svc-config")
            .sort_order(aws_sdk_sagemaker::types::OrderKey::Descending)
            .send()
            .await
            .unwrap();
    let names: Vec<_> = listed
        .endpoint_configs()
        .iter()
        .filter_map(|c| c.endpoint_config_name())
        .collect();
    assert_eq!(names, ["svc-config-v2", "svc-config"]);
    t.h.client
        .delete_endpoint_config()
        .endpoint_config_name("svc-config")
        .send()
        .await
        .unwrap();
    assert_eq!(t.invoke("svc", "2\n").await.unwrap().0, "6.0\n");
}

#[tokio::test]
async fn model_errors_are_model_errors_with_the_models_answer() {
    let t = Hosting::start().await;
    t.endpoint("err", 1.0).await;
    // predict_fn raises: the server answers 500 with the exception.
    let err = t.invoke("err", "fail\n").await.unwrap_err();
    assert!(
        err.contains("ModelError") && err.contains("(500)") && err.contains("cannot predict this"),
        "{err}"
    );
    // A body the default input_fn cannot parse is the model's 4xx... here a str row is fine,
    // so ask for an accept type the default output_fn cannot produce.
    let answer = t
        .runtime
        .invoke_endpoint()
        .endpoint_name("err")
        .content_type("text/csv")
        .accept("image/png")
        .body(Blob::new("1\n"))
        .send()
        .await;
    let err = format!(
        "{}",
        aws_sdk_sagemakerruntime::error::DisplayErrorContext(answer.unwrap_err())
    );
    assert!(err.contains("ModelError") && err.contains("(406)"), "{err}");
    // A hung invocation ends at the invocation timeout.
    let started = Instant::now();
    let err = t.invoke("err", "sleep\n").await.unwrap_err();
    assert!(
        err.contains("ModelError") && err.contains("did not answer"),
        "{err}"
    );
    assert!(started.elapsed() < Duration::from_secs(15));
    // A server that dies mid-request: a ModelError, not a hang.
    let err = t.invoke("err", "exit\n").await.unwrap_err();
    assert!(err.contains("ModelError"), "{err}");
    // An unknown target variant, a payload over 6 MB.
    let err = t
        .runtime
        .invoke_endpoint()
        .endpoint_name("err")
        .target_variant("Nope")
        .body(Blob::new("1\n"))
        .send()
        .await
        .unwrap_err();
    let err = format!(
        "{}",
        aws_sdk_sagemakerruntime::error::DisplayErrorContext(err)
    );
    assert!(err.contains("Variant Nope not found"), "{err}");
    let big = "1\n".repeat(3_200_000);
    let err = t.invoke("err", &big).await.unwrap_err();
    assert!(
        err.contains("ValidationError") && err.contains("6 MB"),
        "{err}"
    );
}

#[tokio::test]
async fn a_model_that_cannot_load_fails_the_endpoint_with_its_error() {
    let t = Hosting::start().await;
    let broken = "def model_fn(model_dir):\n    raise ValueError('weights are corrupt')\n";
    let data = t
        .model_data("models/broken/model.tar.gz", 1.0, broken)
        .await;
    for (name, program) in [("broken", "inference.py"), ("missing", "nowhere.py")] {
        t.create_model(json!({
            "ModelName": name,
            "PrimaryContainer": {
                "Image": support::IMAGE, "ModelDataUrl": data,
                "Environment": {"SAGEMAKER_PROGRAM": program}
            }
        }))
        .await
        .unwrap();
        t.config(&format!("{name}-config"), name).await;
        t.create_endpoint(name, &format!("{name}-config"))
            .await
            .unwrap();
    }
    let broken = t.settled("broken").await;
    assert_eq!(broken.endpoint_status(), Some(&EndpointStatus::Failed));
    let reason = broken.failure_reason().unwrap_or_default();
    assert!(
        reason.contains("ModelLoadError: ValueError: weights are corrupt"),
        "{reason}"
    );
    let missing = t.settled("missing").await;
    let reason = missing.failure_reason().unwrap_or_default();
    assert!(
        reason.contains("'nowhere.py'") && reason.contains("inference.py"),
        "{reason}"
    );
    assert!(model_server_pids(&t.h).is_empty());
    // An update to a config that cannot start leaves the endpoint on its old config.
    t.endpoint("good", 1.0).await;
    t.update("good", "broken-config", json!({})).await.unwrap();
    let (done, _) = t
        .wait("good", |e| {
            e.endpoint_status() == Some(&EndpointStatus::InService) && e.failure_reason().is_some()
        })
        .await;
    assert_eq!(done.endpoint_config_name(), Some("good-config"));
    assert!(
        done.failure_reason()
            .unwrap_or_default()
            .contains("weights are corrupt")
    );
    assert_eq!(t.invoke("good", "1\n").await.unwrap().0, "1.0\n");
}

#[tokio::test]
async fn servers_of_other_images_hang_or_write_garbage_and_fail_cleanly() {
    let work = support::WorkDir::new();
    let script = work.0.join("servers.py");
    std::fs::write(&script, SERVERS).unwrap();
    let rule = |pattern: &str, mode: &str| -> local_sagemaker::ImageRule {
        format!("{pattern}=python3 {} {mode}", script.display())
            .parse()
            .unwrap()
    };
    let mut images = local_sagemaker::ImageCommands::default();
    images.push(rule("*hang*", "hang"));
    images.push(rule("*garbage*", "garbage"));
    let t = Hosting::start_with(|s| {
        s.with_images(images)
            .with_health_timeout(Duration::from_secs(2))
    })
    .await;
    for name in ["hang", "garbage"] {
        t.create_model(json!({
            "ModelName": name,
            "PrimaryContainer": {"Image": format!("local/{name}:1")}
        }))
        .await
        .unwrap();
        t.config(&format!("{name}-config"), name).await;
        t.create_endpoint(name, &format!("{name}-config"))
            .await
            .unwrap();
    }
    let hang = t.settled("hang").await;
    assert_eq!(hang.endpoint_status(), Some(&EndpointStatus::Failed));
    let reason = hang.failure_reason().unwrap_or_default();
    assert!(
        reason.contains("did not pass the ping health check within 2 s"),
        "{reason}"
    );
    assert!(reason.contains("sleeping instead of serving"), "{reason}");
    let garbage = t.settled("garbage").await;
    assert_eq!(garbage.endpoint_status(), Some(&EndpointStatus::InService));
    let err = t.invoke("garbage", "1\n").await.unwrap_err();
    assert!(
        err.contains("ModelError") && err.contains("no HTTP answer"),
        "{err}"
    );
    // An image without a rule, not in script mode, cannot be run.
    t.create_model(json!({"ModelName": "norule", "PrimaryContainer": {"Image": "other/img:1"}}))
        .await
        .unwrap();
    t.config("norule-config", "norule").await;
    t.create_endpoint("norule", "norule-config").await.unwrap();
    let reason = t
        .settled("norule")
        .await
        .failure_reason()
        .unwrap_or_default()
        .to_owned();
    assert!(reason.contains("--image 'PATTERN=COMMAND'"), "{reason}");
}

/// Model servers of other images: `hang` never listens; `garbage` answers pings and then
/// writes bytes that are not HTTP.
const SERVERS: &str = r#"
import os, socket, sys, time
mode = sys.argv[1]
assert sys.argv[2] == "serve", sys.argv
if mode == "hang":
    print("sleeping instead of serving", flush=True)
    time.sleep(300)
port = int(os.environ["SAGEMAKER_BIND_TO_PORT"])
server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", port))
server.listen(16)
while True:
    connection, _ = server.accept()
    request = connection.recv(65536)
    if request.startswith(b"GET /ping"):
        connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    else:
        connection.sendall(b"\x00\x01garbage that is not HTTP\r\n\r\n")
    connection.close()
"#;

#[tokio::test]
async fn requests_sagemaker_refuses_are_refused_with_its_errors() {
    let t = Hosting::start().await;
    t.endpoint("taken", 1.0).await;
    let serverless = json!({"MemorySizeInMB": 2048, "MaxConcurrency": 1});
    let cases: Vec<(&str, Result<(), String>, &str)> = vec![
        (
            "model name taken",
            t.create_model(json!({"ModelName": "taken-model", "PrimaryContainer": {"Image": "i"}})).await,
            "Cannot create already existing model",
        ),
        (
            "model without image",
            t.create_model(json!({"ModelName": "noimage", "PrimaryContainer": {}})).await,
            "needs an Image, or a ModelPackageName",
        ),
        (
            "unknown model package",
            t.create_model(json!({"ModelName": "pkg", "PrimaryContainer": {"ModelPackageName": "arn:aws:sagemaker:us-east-1:123456789012:model-package/nope/1"}})).await,
            "Could not find model package",
        ),
        (
            "invalid model name",
            t.create_model(json!({"ModelName": "bad name!", "PrimaryContainer": {"Image": "i"}})).await,
            "ModelName",
        ),
        (
            "config on an unknown model",
            t.create_config(json!({"EndpointConfigName": "c1", "ProductionVariants": [{"VariantName": "A", "ModelName": "ghost", "ServerlessConfig": serverless}]})).await,
            "Could not find model",
        ),
        (
            "serverless and instances together",
            t.create_config(json!({"EndpointConfigName": "c2", "ProductionVariants": [{"VariantName": "A", "ModelName": "taken-model", "InstanceType": "ml.m5.large", "InitialInstanceCount": 1, "ServerlessConfig": serverless}]})).await,
            "cannot be combined",
        ),
        (
            "neither serverless nor instances",
            t.create_config(json!({"EndpointConfigName": "c3", "ProductionVariants": [{"VariantName": "A", "ModelName": "taken-model"}]})).await,
            "give InstanceType and InitialInstanceCount, or a ServerlessConfig",
        ),
        (
            "a variant name twice",
            t.create_config(json!({"EndpointConfigName": "c4", "ProductionVariants": [
                {"VariantName": "A", "ModelName": "taken-model", "ServerlessConfig": serverless},
                {"VariantName": "A", "ModelName": "taken-model", "ServerlessConfig": serverless}]})).await,
            "appears more than once",
        ),
        (
            "serverless memory out of range",
            t.create_config(json!({"EndpointConfigName": "c5", "ProductionVariants": [{"VariantName": "A", "ModelName": "taken-model", "ServerlessConfig": {"MemorySizeInMB": 100, "MaxConcurrency": 1}}]})).await,
            "MemorySizeInMB",
        ),
        (
            "config name taken",
            t.create_config(json!({"EndpointConfigName": "taken-config", "ProductionVariants": [{"VariantName": "A", "ModelName": "taken-model", "ServerlessConfig": serverless}]})).await,
            "Cannot create already existing endpoint configuration",
        ),
        (
            "endpoint on an unknown config",
            t.create_endpoint("e1", "ghost-config").await,
            "Could not find endpoint configuration",
        ),
        (
            "endpoint name taken",
            t.create_endpoint("taken", "taken-config").await,
            "Cannot create already existing endpoint",
        ),
        (
            "update of an unknown endpoint",
            t.update("ghost", "taken-config", json!({})).await,
            "Could not find endpoint",
        ),
        (
            "rollback alarm that does not exist",
            t.update("taken", "taken-config", json!({"AutoRollbackConfiguration": {"Alarms": [{"AlarmName": "no-such-alarm"}]}})).await,
            "do not exist: no-such-alarm",
        ),
        (
            "canary over 100%",
            t.update("taken", "taken-config", json!({"BlueGreenUpdatePolicy": {"TrafficRoutingConfiguration": {"Type": "CANARY", "WaitIntervalInSeconds": 1, "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": 150}}}})).await,
            "CanarySize",
        ),
        (
            "instance-count canary on serverless",
            t.update("taken", "taken-config", json!({"BlueGreenUpdatePolicy": {"TrafficRoutingConfiguration": {"Type": "CANARY", "WaitIntervalInSeconds": 1, "CanarySize": {"Type": "INSTANCE_COUNT", "Value": 1}}}})).await,
            "serverless endpoint takes CAPACITY_PERCENT",
        ),
        (
            "rolling update",
            t.update("taken", "taken-config", json!({"RollingUpdatePolicy": {"MaximumBatchSize": {"Type": "INSTANCE_COUNT", "Value": 1}, "WaitIntervalInSeconds": 1}})).await,
            "RollingUpdatePolicy is not supported",
        ),
    ];
    let mut failures = Vec::new();
    for (case, result, expected) in &cases {
        match result {
            Ok(()) => failures.push(format!("{case}: accepted")),
            Err(e) if !e.contains(expected) => failures.push(format!("{case}: {e}")),
            Err(_) => {}
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
    assert!(cases.len() >= 15);

    // An unknown member (camelCase) is refused by the service, as SageMaker's JSON parser does.
    let raw = t.h.sagemaker.endpoint_url();
    let answer = test_support_post(
        &raw,
        "CreateEndpointConfig",
        r#"{"EndpointConfigName": "x", "productionVariants": []}"#,
    )
    .await;
    assert!(
        answer.contains("ValidationException") && answer.contains("productionVariants"),
        "{answer}"
    );
    // Describe and Delete of what does not exist.
    let err =
        t.h.client
            .describe_endpoint()
            .endpoint_name("ghost")
            .send()
            .await
            .unwrap_err();
    assert!(message(err).contains("Could not find endpoint"));
    let err =
        t.h.client
            .delete_model()
            .model_name("ghost")
            .send()
            .await
            .unwrap_err();
    assert!(message(err).contains("Could not find model"));
    let err =
        t.h.client
            .delete_endpoint_config()
            .endpoint_config_name("ghost")
            .send()
            .await
            .unwrap_err();
    assert!(message(err).contains("Could not find endpoint configuration"));
}

/// POSTs a raw awsJson1_1 request (what the SDK would not send) and returns the answer body.
async fn test_support_post(endpoint: &str, operation: &str, body: &str) -> String {
    let endpoint = endpoint.to_owned();
    let operation = operation.to_owned();
    let body = body.to_owned();
    tokio::task::spawn_blocking(move || {
        let output = std::process::Command::new("curl")
            .args(["-s", "-X", "POST", &endpoint])
            .args(["-H", &format!("X-Amz-Target: SageMaker.{operation}")])
            .args(["-H", "Content-Type: application/x-amz-json-1.1"])
            .args(["--data", &body])
            .output()
            .unwrap();
        String::from_utf8_lossy(&output.stdout).into_owned()
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn a_registered_sample_model_serves_its_test_set() {
    let t = Hosting::start().await;
    let repo = test_support::workspace_root().join("examples/model-repo");
    // What training produces for the sample: model.json (trained here by its own train.py),
    // and the commit's sourcedir.tar.gz, which the package names as SAGEMAKER_SUBMIT_DIRECTORY.
    let code = support::tar_gz_dir(&repo.join("src"));
    t.h.put("source/abc/sourcedir.tar.gz", code).await;
    let model_dir = t.h.work.0.join("trained");
    std::fs::create_dir_all(&model_dir).unwrap();
    let trained = std::process::Command::new("python3")
        .arg(repo.join("src/train.py"))
        .args(["--n_estimators", "10"])
        .env("SM_MODEL_DIR", &model_dir)
        .env("SM_CHANNEL_TRAIN", repo.join("data/train"))
        .env("SM_CHANNEL_VALIDATION", repo.join("data/validation"))
        .env("SM_CHANNEL_TEST", repo.join("data/test"))
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .unwrap();
    assert!(
        trained.status.success(),
        "{}",
        String::from_utf8_lossy(&trained.stderr)
    );
    let model = std::fs::read_to_string(model_dir.join("model.json")).unwrap();
    t.h.put_code("models/sample/model.tar.gz", &[("model.json", &model)])
        .await;

    let group =
        t.h.client
            .create_model_package_group()
            .model_package_group_name("penguins")
            .send()
            .await;
    group.unwrap();
    let container = aws_sdk_sagemaker::types::ModelPackageContainerDefinition::builder()
        .image("683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3")
        .model_data_url(format!("s3://{BUCKET}/models/sample/model.tar.gz"))
        .environment("SAGEMAKER_PROGRAM", "inference.py")
        .environment(
            "SAGEMAKER_SUBMIT_DIRECTORY",
            format!("s3://{BUCKET}/source/abc/sourcedir.tar.gz"),
        )
        .build();
    let package =
        t.h.client
            .create_model_package()
            .model_package_group_name("penguins")
            .inference_specification(
                aws_sdk_sagemaker::types::InferenceSpecification::builder()
                    .containers(container)
                    .supported_content_types("text/csv")
                    .supported_response_mime_types("text/csv")
                    .build(),
            )
            .model_approval_status(aws_sdk_sagemaker::types::ModelApprovalStatus::Approved)
            .send()
            .await
            .unwrap();
    let package_arn = package.model_package_arn().unwrap().to_owned();

    t.create_model(json!({
        "ModelName": "penguins",
        "ExecutionRoleArn": ROLE,
        "PrimaryContainer": {"ModelPackageName": package_arn}
    }))
    .await
    .unwrap();
    t.create_config(json!({
        "EndpointConfigName": "penguins-config",
        "ProductionVariants": [{"VariantName": "AllTraffic", "ModelName": "penguins",
            "InstanceType": "ml.m5.large", "InitialInstanceCount": 1}]
    }))
    .await
    .unwrap();
    t.create_endpoint("penguins", "penguins-config")
        .await
        .unwrap();
    let endpoint = t.settled("penguins").await;
    assert_eq!(
        endpoint.endpoint_status(),
        Some(&EndpointStatus::InService),
        "{endpoint:?}"
    );
    assert_eq!(
        endpoint.production_variants()[0].current_instance_count(),
        Some(1)
    );

    // Rows of the test set without their label (the first column).
    let test = std::fs::read_to_string(repo.join("data/test/test.csv")).unwrap();
    let rows: Vec<(&str, String)> = test
        .lines()
        .skip(1)
        .take(20)
        .filter_map(|line| line.split_once(','))
        .map(|(sex, rest)| (sex, format!("{rest}\n")))
        .collect();
    let body: String = rows.iter().map(|(_, row)| row.as_str()).collect();
    let (answer, content_type, _) = t.invoke("penguins", &body).await.unwrap();
    assert_eq!(content_type, "text/csv");
    let predicted: Vec<&str> = answer
        .lines()
        .map(|l| l.split(',').next().unwrap_or(""))
        .collect();
    assert_eq!(predicted.len(), rows.len(), "{answer}");
    let right = predicted
        .iter()
        .zip(&rows)
        .filter(|(p, (sex, _))| *p == sex)
        .count();
    assert!(
        right * 10 >= rows.len() * 7,
        "{right} of {} right:\n{answer}",
        rows.len()
    );
}
