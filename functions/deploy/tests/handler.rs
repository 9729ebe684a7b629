//! deploy against scripted SageMaker, SageMaker runtime, CloudWatch, S3 and CodePipeline: every
//! path ends in exactly one job result.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use aws_sdk_cloudwatch::operation::describe_alarms::DescribeAlarmsOutput;
use aws_sdk_cloudwatch::types::{MetricAlarm, StateValue};
use aws_sdk_codepipeline::types::FailureType;
use aws_sdk_sagemaker::Client as SageMaker;
use aws_sdk_sagemaker::error::ErrorMetadata;
use aws_sdk_sagemaker::operation::create_endpoint::CreateEndpointOutput;
use aws_sdk_sagemaker::operation::create_endpoint_config::{
    CreateEndpointConfigInput, CreateEndpointConfigOutput,
};
use aws_sdk_sagemaker::operation::create_model::{CreateModelError, CreateModelOutput};
use aws_sdk_sagemaker::operation::delete_endpoint_config::DeleteEndpointConfigOutput;
use aws_sdk_sagemaker::operation::delete_model::DeleteModelOutput;
use aws_sdk_sagemaker::operation::describe_endpoint::{
    DescribeEndpointError, DescribeEndpointOutput,
};
use aws_sdk_sagemaker::operation::describe_model_package::DescribeModelPackageOutput;
use aws_sdk_sagemaker::operation::list_endpoint_configs::ListEndpointConfigsOutput;
use aws_sdk_sagemaker::operation::update_endpoint::{UpdateEndpointInput, UpdateEndpointOutput};
use aws_sdk_sagemaker::operation::update_model_package::UpdateModelPackageOutput;
use aws_sdk_sagemaker::types::{
    EndpointConfigSummary, EndpointStatus, ModelApprovalStatus, PendingDeploymentSummary,
    PendingProductionVariantSummary,
};
use aws_sdk_sagemakerruntime::operation::invoke_endpoint::{
    InvokeEndpointError, InvokeEndpointOutput,
};
use aws_sdk_sagemakerruntime::primitives::Blob;
use aws_sdk_sagemakerruntime::types::error::ModelError;
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use deploy::Clients;
use deploy::token::{Phase, State};
use serde_json::Value;
use test_support::job::{Reported, Results, scripted_artifacts, zip_of};

const PACKAGE: &str = "arn:aws:sagemaker:us-east-1:123456789012:model-package/sagemaker-cicd-example-org-churn-model/3";
const EXECUTION: &str = "3137f7cb-8b1f-4f2b-a6a5-2f1e9e6f0b5e";
const COMMIT: &str = "9f2c1e4d0b7a5c3e1f2a4b6c8d0e1f2a3b4c5d6e";
const NOW: u64 = 1_800_000_000;

const DEPLOYMENT: &str = r#"{
  "SmokeTest": {
    "Requests": [{"Body": "tests/smoke.csv", "ContentType": "text/csv", "Accept": "text/csv"}],
    "SameRecordCount": true,
    "BodyRegex": "^(male|female),"
  },
  "Production": {
    "Variant": {"InstanceType": "ml.m5.large", "InitialInstanceCount": 2},
    "DeploymentConfig": {
      "BlueGreenUpdatePolicy": {
        "TrafficRoutingConfiguration": {
          "Type": "CANARY", "WaitIntervalInSeconds": 300,
          "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": 10}
        }
      },
      "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": "team-alarm"}]}
    }
  }
}"#;

const SMOKE_BODY: &str = "Gentoo,Biscoe,45,15.4,220,5050\nAdelie,Dream,39.6,18.1,186,4450\n";

fn event(stage: &str) -> Value {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../events/deploy");
    let text = std::fs::read_to_string(root.join(format!("{stage}.json"))).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn endpoint(stage: &str) -> String {
    format!("sagemaker-cicd-{stage}")
}

/// This execution's model and endpoint config.
fn ours(stage: &str) -> String {
    deploy::names::deployment_name(&endpoint(stage), COMMIT, EXECUTION)
}

fn with_token(mut event: Value, state: &State) -> Value {
    event["CodePipeline.job"]["data"]["continuationToken"] = Value::from(state.encode());
    event
}

fn following(stage: &str, previous: Option<&str>) -> Value {
    let state = State::new(
        Phase::Deploying,
        EXECUTION,
        &ours(stage),
        previous.map(str::to_owned),
        NOW - 125,
    );
    with_token(event(stage), &state)
}

struct World {
    sagemaker: Vec<Rule>,
    runtime: Vec<Rule>,
    cloudwatch: Vec<Rule>,
    files: Vec<(&'static str, &'static str)>,
}

impl World {
    fn new() -> Self {
        World {
            sagemaker: Vec::new(),
            runtime: Vec::new(),
            cloudwatch: Vec::new(),
            files: vec![
                ("configuration/deployment.json", DEPLOYMENT),
                ("tests/smoke.csv", SMOKE_BODY),
            ],
        }
    }

    async fn invoke(&self, event: Value) -> Results {
        let sagemaker = mock_client!(aws_sdk_sagemaker, RuleMode::MatchAny, &self.sagemaker);
        let runtime = mock_client!(aws_sdk_sagemakerruntime, RuleMode::MatchAny, &self.runtime);
        let cloudwatch = mock_client!(aws_sdk_cloudwatch, RuleMode::MatchAny, &self.cloudwatch);
        let clients = Clients {
            sagemaker,
            runtime,
            cloudwatch,
        };
        let (store, _) = scripted_artifacts(200, zip_of(&self.files));
        let store = store.with_limits(deploy::artifact_limits());
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(NOW);
        test_support::job::run(event, |job| deploy::handle(job, &clients, &store, now)).await
    }

    fn sagemaker_calls(&self) -> usize {
        self.sagemaker.iter().map(Rule::num_calls).sum()
    }
}

fn package(status: ModelApprovalStatus) -> Rule {
    mock!(SageMaker::describe_model_package)
        .match_requests(|r| r.model_package_name() == Some(PACKAGE))
        .then_output(move || {
            DescribeModelPackageOutput::builder()
                .model_package_arn(PACKAGE)
                .model_approval_status(status.clone())
                .build()
        })
}

fn create_model() -> Rule {
    mock!(SageMaker::create_model)
        .match_requests(|r| {
            r.primary_container().and_then(|c| c.model_package_name()) == Some(PACKAGE)
                && r.tags().iter().any(|t| t.key() == Some("pipeline:stack"))
        })
        .then_output(|| CreateModelOutput::builder().build())
}

type Seen<T> = Arc<Mutex<Vec<T>>>;

fn create_config() -> (Rule, Seen<CreateEndpointConfigInput>) {
    let seen = Seen::default();
    let s = Arc::clone(&seen);
    let rule = mock!(SageMaker::create_endpoint_config)
        .match_requests(move |r| {
            s.lock().unwrap().push(r.clone());
            true
        })
        .then_output(|| CreateEndpointConfigOutput::builder().build());
    (rule, seen)
}

fn no_endpoint() -> Rule {
    mock!(SageMaker::describe_endpoint).then_error(|| {
        DescribeEndpointError::generic(
            ErrorMetadata::builder()
                .code("ValidationException")
                .message("Could not find endpoint \"arn\".")
                .build(),
        )
    })
}

fn endpoint_is(
    status: EndpointStatus,
    config: &str,
    pending: Option<(&str, f32)>,
    reason: Option<&str>,
) -> Rule {
    let (config, reason) = (config.to_owned(), reason.map(str::to_owned));
    let pending = pending.map(|(c, w)| (c.to_owned(), w));
    mock!(SageMaker::describe_endpoint).then_output(move || {
        let mut out = DescribeEndpointOutput::builder()
            .endpoint_name("e")
            .endpoint_arn("arn")
            .endpoint_config_name(&config)
            .endpoint_status(status.clone())
            .set_failure_reason(reason.clone());
        if let Some((pending_config, weight)) = &pending {
            out = out.pending_deployment_summary(
                PendingDeploymentSummary::builder()
                    .endpoint_config_name(pending_config)
                    .production_variants(
                        PendingProductionVariantSummary::builder()
                            .variant_name("AllTraffic")
                            .current_weight(*weight)
                            .build(),
                    )
                    .build(),
            );
        }
        out.build()
    })
}

fn alarms(states: &[(&'static str, StateValue)]) -> Rule {
    let states = states.to_vec();
    mock!(aws_sdk_cloudwatch::Client::describe_alarms).then_output(move || {
        let mut out = DescribeAlarmsOutput::builder();
        for (name, state) in &states {
            out = out.metric_alarms(
                MetricAlarm::builder()
                    .alarm_name(*name)
                    .state_value(state.clone())
                    .state_reason("Threshold Crossed: 3 datapoints")
                    .build(),
            );
        }
        out.build()
    })
}

/// The stack's two production alarms and the one the sample deployment.json names, all
/// existing; the 5xx alarm in `errors`.
fn production_alarms(errors: StateValue) -> Rule {
    alarms(&[
        ("sagemaker-cicd-production-5xx", errors),
        ("sagemaker-cicd-production-latency", StateValue::Ok),
        ("team-alarm", StateValue::Ok),
    ])
}

fn answers(body: &'static str) -> Rule {
    mock!(aws_sdk_sagemakerruntime::Client::invoke_endpoint)
        .match_requests(|r| r.content_type() == Some("text/csv"))
        .then_output(move || {
            InvokeEndpointOutput::builder()
                .body(Blob::new(body))
                .content_type("text/csv")
                .build()
        })
}

fn done(results: &Results) -> (std::collections::HashMap<String, String>, String) {
    results.only_done()
}

#[tokio::test]
async fn without_deployment_json_the_stage_says_so_and_calls_nothing() {
    let mut world = World::new();
    world.files = vec![("configuration/trainingjob.json", "{}")];
    world.sagemaker.push(package(ModelApprovalStatus::Approved));
    let results = world.invoke(event("staging")).await;
    let (variables, summary) = done(&results);
    assert_eq!(variables["DeployStatus"], "Skipped");
    assert!(
        summary.contains("has no configuration/deployment.json"),
        "{summary}"
    );
    assert_eq!(world.sagemaker_calls(), 0);
}

#[tokio::test]
async fn without_production_the_production_stage_is_skipped() {
    let mut world = World::new();
    world.files = vec![("configuration/deployment.json", "{}")];
    let results = world.invoke(event("production")).await;
    let (variables, summary) = done(&results);
    assert_eq!(variables["DeployStatus"], "Skipped");
    assert!(summary.contains("has no Production"), "{summary}");
}

#[tokio::test]
async fn a_first_staging_deployment_creates_model_config_and_endpoint() {
    let mut world = World::new();
    let (config, seen) = create_config();
    let create = mock!(SageMaker::create_endpoint)
        .match_requests(|r| r.endpoint_config_name() == Some(ours("staging").as_str()))
        .then_output(|| CreateEndpointOutput::builder().build());
    world.sagemaker = vec![
        package(ModelApprovalStatus::Approved),
        create_model(),
        config,
        no_endpoint(),
        create,
    ];
    let results = world.invoke(event("staging")).await;
    let (token, summary, _) = results.only_in_progress();
    assert!(summary.contains("CreateEndpoint sent"), "{summary}");
    let state = State::decode(&token, EXECUTION, &ours("staging")).unwrap();
    assert_eq!(state.phase, Phase::Deploying);
    assert_eq!(world.sagemaker[4].num_calls(), 1);
    // Staging defaults to serverless.
    let created = seen.lock().unwrap();
    let variant = &created[0].production_variants()[0];
    assert_eq!(variant.variant_name(), Some("AllTraffic"));
    assert_eq!(
        variant.serverless_config().map(|s| s.memory_size_in_mb()),
        Some(Some(2048))
    );
    assert_eq!(variant.instance_type(), None);
}

#[tokio::test]
async fn a_duplicate_delivery_adopts_what_the_first_created() {
    let mut world = World::new();
    let taken = mock!(SageMaker::create_model).then_error(|| {
        CreateModelError::generic(
            ErrorMetadata::builder()
                .code("ValidationException")
                .message("Cannot create already existing model \"arn\".")
                .build(),
        )
    });
    let (config, _) = create_config();
    world.sagemaker = vec![
        package(ModelApprovalStatus::Approved),
        taken,
        config,
        // The first delivery's CreateEndpoint already went through.
        endpoint_is(EndpointStatus::Creating, &ours("staging"), None, None),
    ];
    let results = world.invoke(event("staging")).await;
    let (_, summary, _) = results.only_in_progress();
    assert!(summary.contains("deploying"), "{summary}");
}

#[tokio::test]
async fn production_deploys_only_an_approved_package() {
    let mut world = World::new();
    world.sagemaker = vec![
        package(ModelApprovalStatus::PendingManualApproval),
        create_model(),
    ];
    world.cloudwatch = vec![production_alarms(StateValue::Ok)];
    let results = world.invoke(event("production")).await;
    let (kind, message) = results.only_failure();
    assert_eq!(kind, FailureType::JobFailed);
    assert!(
        message.contains("is PendingManualApproval, not Approved")
            && message.contains("to production")
            && message.contains("update-model-package"),
        "{message}"
    );
    assert_eq!(world.sagemaker[1].num_calls(), 0);
    // Rejected is refused at staging too.
    let mut world = World::new();
    world.sagemaker = vec![package(ModelApprovalStatus::Rejected), create_model()];
    let (_, message) = world.invoke(event("staging")).await.only_failure();
    assert!(message.contains("is Rejected, not Approved"), "{message}");
}

#[tokio::test]
async fn with_a_manual_approval_production_approves_the_package_once() {
    let mut world = World::new();
    let approve = mock!(SageMaker::update_model_package)
        .match_requests(|r| {
            r.model_approval_status() == Some(&ModelApprovalStatus::Approved)
                && r.approval_description()
                    .is_some_and(|d| d.contains(EXECUTION))
        })
        .then_output(|| UpdateModelPackageOutput::builder().build());
    let (config, _) = create_config();
    world.sagemaker = vec![
        package(ModelApprovalStatus::PendingManualApproval),
        approve,
        create_model(),
        config,
        endpoint_is(EndpointStatus::Creating, &ours("production"), None, None),
    ];
    world.cloudwatch = vec![production_alarms(StateValue::Ok)];
    let event = with_parameter(event("production"), "ApprovePackage", Value::Bool(true));
    let results = world.invoke(event).await;
    results.only_in_progress();
    assert_eq!(world.sagemaker[1].num_calls(), 1);
}

fn with_parameter(mut event: Value, key: &str, value: Value) -> Value {
    let mut parameters = test_support::job::user_parameters(&event);
    parameters[key] = value;
    test_support::job::set_user_parameters(&mut event, &parameters);
    event
}

#[tokio::test]
async fn production_updates_blue_green_with_the_stacks_and_the_files_alarms() {
    let mut world = World::new();
    let seen: Seen<UpdateEndpointInput> = Seen::default();
    let s = Arc::clone(&seen);
    let update = mock!(SageMaker::update_endpoint)
        .match_requests(move |r| {
            s.lock().unwrap().push(r.clone());
            true
        })
        .then_output(|| UpdateEndpointOutput::builder().build());
    let (config, created) = create_config();
    world.sagemaker = vec![
        package(ModelApprovalStatus::Approved),
        create_model(),
        config,
        endpoint_is(
            EndpointStatus::InService,
            "sagemaker-cicd-production-old",
            None,
            None,
        ),
        update,
    ];
    world.cloudwatch = vec![production_alarms(StateValue::Ok)];
    let results = world.invoke(event("production")).await;
    let (token, _, _) = results.only_in_progress();
    let state = State::decode(&token, EXECUTION, &ours("production")).unwrap();
    assert_eq!(
        state.previous.as_deref(),
        Some("sagemaker-cicd-production-old")
    );
    let sent = seen.lock().unwrap();
    let deployment = sent[0].deployment_config().unwrap();
    let names: Vec<_> = deployment
        .auto_rollback_configuration()
        .unwrap()
        .alarms()
        .iter()
        .filter_map(|a| a.alarm_name())
        .collect();
    assert_eq!(
        names,
        [
            "sagemaker-cicd-production-5xx",
            "sagemaker-cicd-production-latency",
            "team-alarm"
        ]
    );
    let routing = deployment
        .blue_green_update_policy()
        .unwrap()
        .traffic_routing_configuration()
        .unwrap();
    assert_eq!(routing.canary_size().map(|c| c.value()), Some(Some(10)));
    let created = created.lock().unwrap();
    assert_eq!(
        created[0].production_variants()[0].initial_instance_count(),
        Some(2)
    );
}

#[tokio::test]
async fn a_rollback_alarm_that_does_not_exist_fails_before_any_sagemaker_call() {
    let mut world = World::new();
    world.sagemaker = vec![package(ModelApprovalStatus::Approved), create_model()];
    world.cloudwatch = vec![alarms(&[("sagemaker-cicd-production-5xx", StateValue::Ok)])];
    let results = world.invoke(event("production")).await;
    let (kind, message) = results.only_failure();
    assert_eq!(kind, FailureType::ConfigurationError);
    assert!(
        message.contains("no alarm named sagemaker-cicd-production-latency, team-alarm"),
        "{message}"
    );
    assert_eq!(world.sagemaker_calls(), 0);
}

#[tokio::test]
async fn a_canary_in_progress_shows_the_traffic_shifted() {
    let mut world = World::new();
    world.sagemaker = vec![endpoint_is(
        EndpointStatus::Updating,
        "sagemaker-cicd-production-old",
        Some((&ours("production"), 0.1)),
        None,
    )];
    let results = world.invoke(following("production", Some("old"))).await;
    let (token, summary, _) = results.only_in_progress();
    assert!(
        summary.contains("Updating, 10% of traffic on the new fleet, baking (2m 05s)"),
        "{summary}"
    );
    assert!(State::decode(&token, EXECUTION, &ours("production")).is_ok());
}

#[tokio::test]
async fn staging_in_service_passes_its_smoke_test_and_cleans_up_old_configs() {
    let mut world = World::new();
    let current = ours("staging");
    let listed = {
        let current = current.clone();
        mock!(SageMaker::list_endpoint_configs).then_output(move || {
            let mut out = ListEndpointConfigsOutput::builder();
            for name in [
                current.as_str(),
                "sagemaker-cicd-staging-prev",
                "sagemaker-cicd-staging-older",
            ] {
                out = out.endpoint_configs(
                    EndpointConfigSummary::builder()
                        .endpoint_config_name(name)
                        .endpoint_config_arn("arn")
                        .creation_time(aws_sdk_sagemaker::primitives::DateTime::from_secs(0))
                        .build(),
                );
            }
            out.build()
        })
    };
    let delete_config = mock!(SageMaker::delete_endpoint_config)
        .match_requests(|r| r.endpoint_config_name() == Some("sagemaker-cicd-staging-older"))
        .then_output(|| DeleteEndpointConfigOutput::builder().build());
    let delete_model = mock!(SageMaker::delete_model)
        .match_requests(|r| r.model_name() == Some("sagemaker-cicd-staging-older"))
        .then_output(|| DeleteModelOutput::builder().build());
    world.sagemaker = vec![
        endpoint_is(EndpointStatus::InService, &current, None, None),
        listed,
        delete_config,
        delete_model,
    ];
    world.runtime = vec![answers("male,0.9\nfemale,0.8\n")];
    let results = world
        .invoke(following("staging", Some("sagemaker-cicd-staging-prev")))
        .await;
    let (variables, summary) = done(&results);
    assert_eq!(variables["DeployStatus"], "Deployed");
    assert_eq!(variables["EndpointName"], "sagemaker-cicd-staging");
    assert_eq!(variables["EndpointConfigName"], current);
    assert!(
        summary.contains("smoke test passed: 1 request(s), 1 invocation(s), all 200"),
        "{summary}"
    );
    assert!(
        summary.contains("1 old endpoint config(s) and model(s) removed"),
        "{summary}"
    );
    assert_eq!(world.sagemaker[2].num_calls(), 1);
    assert_eq!(world.runtime[0].num_calls(), 1);
}

#[tokio::test]
async fn a_smoke_test_against_a_failing_model_fails_the_stage_with_its_answer() {
    let mut world = World::new();
    world.sagemaker = vec![endpoint_is(
        EndpointStatus::InService,
        &ours("staging"),
        None,
        None,
    )];
    world.runtime = vec![
        mock!(aws_sdk_sagemakerruntime::Client::invoke_endpoint).then_error(|| {
            InvokeEndpointError::ModelError(
                ModelError::builder()
                    .message("Received server error (500) from primary")
                    .original_status_code(500)
                    .original_message("KeyError: 'flipper_length_mm'")
                    .build(),
            )
        }),
    ];
    let results = world.invoke(following("staging", None)).await;
    let (kind, message) = results.only_failure();
    assert_eq!(kind, FailureType::JobFailed);
    assert!(
        message.contains("smoke test of staging endpoint sagemaker-cicd-staging failed")
            && message.contains("status 500, not 200: `KeyError: 'flipper_length_mm'`"),
        "{message}"
    );
}

#[tokio::test]
async fn garbage_answers_fail_the_smoke_test() {
    let mut world = World::new();
    world.sagemaker = vec![endpoint_is(
        EndpointStatus::InService,
        &ours("staging"),
        None,
        None,
    )];
    world.runtime = vec![answers("<html>502 Bad Gateway</html>")];
    let results = world.invoke(following("staging", None)).await;
    let (_, message) = results.only_failure();
    assert!(
        message.contains("2 record(s) sent, 1 answered")
            && message.contains("does not match BodyRegex"),
        "{message}"
    );
}

#[tokio::test]
async fn a_rolled_back_update_names_the_alarm_that_fired() {
    let mut world = World::new();
    world.sagemaker = vec![endpoint_is(
        EndpointStatus::InService,
        "sagemaker-cicd-production-old",
        None,
        Some(
            "Endpoint update rolled back: CloudWatch alarm sagemaker-cicd-production-5xx is in ALARM",
        ),
    )];
    world.cloudwatch = vec![production_alarms(StateValue::Alarm)];
    let results = world.invoke(following("production", Some("old"))).await;
    let (kind, message) = results.only_failure();
    assert_eq!(kind, FailureType::JobFailed);
    assert!(
        message.contains("was rolled back")
            && message.contains("previous config sagemaker-cicd-production-old")
            && message.contains("Alarms in ALARM: sagemaker-cicd-production-5xx."),
        "{message}"
    );
}

#[tokio::test]
async fn failed_unknown_and_vanished_endpoints_each_end_in_one_failure() {
    let cases: Vec<(Rule, &str)> = vec![
        (
            endpoint_is(
                EndpointStatus::Failed,
                &ours("staging"),
                None,
                Some("The primary container failed the ping health check"),
            ),
            "is Failed: The primary container failed the ping health check",
        ),
        (
            endpoint_is(
                EndpointStatus::from("Hibernating"),
                &ours("staging"),
                None,
                None,
            ),
            "status Hibernating, which this pipeline does not know",
        ),
        (
            endpoint_is(EndpointStatus::OutOfService, "x", None, None),
            "is OutOfService",
        ),
        (no_endpoint(), "disappeared during the deployment"),
    ];
    for (rule, expected) in cases {
        let mut world = World::new();
        world.sagemaker = vec![rule];
        let results = world.invoke(following("staging", None)).await;
        let (_, message) = results.only_failure();
        assert!(message.contains(expected), "{expected}: {message}");
    }
}

#[tokio::test]
async fn a_garbled_or_foreign_token_is_refused() {
    let world = World::new();
    let mut garbled = event("staging");
    garbled["CodePipeline.job"]["data"]["continuationToken"] =
        Value::from("{\"v\":1}~0123456789abcdef");
    let results = world.invoke(garbled).await;
    assert!(results.only_failure().1.contains("garbled"));
    let foreign = State::new(
        Phase::Deploying,
        "another-execution",
        &ours("staging"),
        None,
        NOW,
    );
    let results = world.invoke(with_token(event("staging"), &foreign)).await;
    assert!(results.only_failure().1.contains("another execution"));
}

#[tokio::test]
async fn a_malformed_deployment_json_fails_with_its_place_before_any_call() {
    let mut world = World::new();
    world.files = vec![(
        "configuration/deployment.json",
        "{\n  \"Staging\": {\"Variant\": {\"InstanceType\": \"ml.m5.large\", \"InitialInstanceCount\": 1,\n    \"ServerlessConfig\": {\"MemorySizeInMB\": 2048, \"MaxConcurrency\": 1}}}\n}",
    )];
    world.sagemaker = vec![package(ModelApprovalStatus::Approved)];
    let results = world.invoke(event("staging")).await;
    let (kind, message) = results.only_failure();
    assert_eq!(kind, FailureType::ConfigurationError);
    assert!(
        message.starts_with("configuration/deployment.json:2:")
            && message.contains("cannot be combined"),
        "{message}"
    );
    assert_eq!(world.sagemaker_calls(), 0);
    assert!(matches!(
        results.all().as_slice(),
        [Reported::Failure { .. }]
    ));
}

#[tokio::test]
async fn smoke_test_bodies_may_be_as_large_as_invoke_endpoint_takes() {
    const DEPLOYMENT: &str =
        r#"{"SmokeTest": {"Requests": [{"Body": "tests/big.csv", "ContentType": "text/csv"}]}}"#;
    let row = "Gentoo,Biscoe,45,15.4,220,5050\n";
    for (megabytes, refused) in [(2, false), (7, true)] {
        let big: &'static str = Box::leak(
            row.repeat(megabytes * 1024 * 1024 / row.len())
                .into_boxed_str(),
        );
        let mut world = World::new();
        world.files = vec![
            ("configuration/deployment.json", DEPLOYMENT),
            ("tests/big.csv", big),
        ];
        // A package that may not be deployed ends the invocation once the file is accepted.
        world.sagemaker = vec![package(ModelApprovalStatus::Rejected)];
        let (_, message) = world.invoke(event("staging")).await.only_failure();
        let too_large = message.contains("larger than InvokeEndpoint's limit of 6291456 bytes");
        assert_eq!(too_large, refused, "{megabytes} MB: {message}");
        assert_eq!(
            message.contains("is Rejected, not Approved"),
            !refused,
            "{message}"
        );
    }
}

#[tokio::test]
async fn a_model_package_arn_that_is_not_one_is_refused_before_any_call() {
    let mut world = World::new();
    world.sagemaker = vec![package(ModelApprovalStatus::Approved)];
    let mut e = event("staging");
    let mut params = test_support::job::user_parameters(&e);
    params["ModelPackageArn"] =
        Value::from("arn:aws:sagemaker:us-east-1:123456789012:model-package/g/3\",\"Alarms\":[\"");
    test_support::job::set_user_parameters(&mut e, &params);
    let (kind, message) = world.invoke(e).await.only_failure();
    assert_eq!(kind, FailureType::ConfigurationError);
    assert!(
        message.starts_with("ModelPackageArn (#{EvaluateVariables.ModelPackageArn}) is")
            && message.contains("not a SageMaker model package ARN"),
        "{message}"
    );
    assert_eq!(world.sagemaker_calls(), 0);
}
