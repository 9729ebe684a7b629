//! The scripted world of the notify tests: pipeline executions as CodePipeline reports them (for
//! each sample event in events/notify/), an in-memory S3 that honours conditional writes, and an
//! SNS that records what was published.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_codepipeline::error::ErrorMetadata;
use aws_sdk_codepipeline::operation::get_pipeline_execution::{
    GetPipelineExecutionError, GetPipelineExecutionOutput,
};
use aws_sdk_codepipeline::operation::list_action_executions::{
    ListActionExecutionsError, ListActionExecutionsOutput,
};
use aws_sdk_codepipeline::types::{
    ActionCategory, ActionExecutionDetail, ActionExecutionInput, ActionExecutionOutput,
    ActionExecutionResult, ActionExecutionStatus, ActionOwner, ActionTypeId, ArtifactRevision,
    ErrorDetails, ExecutionTrigger, PipelineExecution, PipelineExecutionStatus, TriggerType,
};
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::operation::get_object::{GetObjectError, GetObjectOutput};
use aws_sdk_s3::operation::put_object::PutObjectOutput;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_sns::operation::publish::{PublishError, PublishInput, PublishOutput};
use aws_smithy_mocks::{MockResponse, RuleMode, mock, mock_client};
use aws_smithy_types::DateTime;
use aws_smithy_types::body::SdkBody;
use notify::Notifier;
use notify::event::PipelineEvent;
use notify::execution::Execution;
use notify::marker::Markers;
use serde_json::Value;

pub const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:sagemaker-cicd-notifications";
pub const BUCKET: &str = "sagemaker-cicd-artifacts";
pub const COMMIT: &str = "9f2c1e4d0b7a5c3e1f2a4b6c8d0e1f2a3b4c5d6e";
pub const REPOSITORY: &str = "example-org/churn-model";
pub const TRAINING_JOB: &str = "sagemaker-cicd-churn-sklearn-9f2c1e4-5d21a7b0";
pub const TUNING_JOB: &str = "sagemaker-cicd-9f2c1e4-5d21a7b0";
pub const CANDIDATE_JOB: &str = "sagemaker-cicd-9f2c1e4-5d21a7b0-007-1c9e04f2";
pub const MODEL_PACKAGE: &str =
    "arn:aws:sagemaker:us-east-1:123456789012:model-package/example-org-churn-model/3";
/// 2026-11-20T09:12:03Z, when every sample execution starts.
pub const START: i64 = 1_795_165_923;

pub const FINAL_STATES: [&str; 5] = ["succeeded", "failed", "stopped", "superseded", "canceled"];

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .unwrap()
        .to_path_buf()
}

/// A sample event of events/notify/.
pub fn event(name: &str) -> Value {
    let path = repo_root().join(format!("events/notify/{name}.json"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Seconds after [`START`].
pub fn at(offset: i64) -> DateTime {
    DateTime::from_secs(START + offset)
}

/// "Now" for the handler: a second after the event of `name`.
pub fn now_after(name: &str) -> DateTime {
    let time = event(name)["time"].as_str().unwrap().to_owned();
    let t = DateTime::from_str(&time, aws_smithy_types::date_time::Format::DateTime).unwrap();
    DateTime::from_secs(t.secs() + 1)
}

/// One action execution, the way ListActionExecutions reports it.
#[derive(Clone)]
pub struct A {
    pub stage: &'static str,
    pub action: &'static str,
    pub category: ActionCategory,
    pub provider: &'static str,
    pub start: i64,
    pub end: i64,
    pub status: ActionExecutionStatus,
    pub vars: Vec<(&'static str, String)>,
    pub config: Vec<(&'static str, &'static str)>,
    pub summary: Option<String>,
    pub url: Option<String>,
    pub error: Option<(&'static str, String)>,
}

impl A {
    pub fn new(stage: &'static str, action: &'static str, start: i64, end: i64) -> A {
        A {
            stage,
            action,
            category: ActionCategory::Invoke,
            provider: "Lambda",
            start,
            end,
            status: ActionExecutionStatus::Succeeded,
            vars: Vec::new(),
            config: Vec::new(),
            summary: None,
            url: None,
            error: None,
        }
    }
    pub fn status(mut self, s: ActionExecutionStatus) -> A {
        self.status = s;
        self
    }
    pub fn var(mut self, k: &'static str, v: impl Into<String>) -> A {
        self.vars.push((k, v.into()));
        self
    }
    pub fn summary(mut self, s: impl Into<String>) -> A {
        self.summary = Some(s.into());
        self
    }
    pub fn url(mut self, u: impl Into<String>) -> A {
        self.url = Some(u.into());
        self
    }
    pub fn error(mut self, code: &'static str, message: impl Into<String>) -> A {
        self.error = Some((code, message.into()));
        self.status = ActionExecutionStatus::Failed;
        self
    }

    pub fn build(&self, execution_id: &str) -> ActionExecutionDetail {
        let type_id = ActionTypeId::builder()
            .category(self.category.clone())
            .owner(ActionOwner::Aws)
            .provider(self.provider)
            .version("1")
            .build()
            .unwrap();
        let mut input = ActionExecutionInput::builder().action_type_id(type_id);
        for (k, v) in &self.config {
            input = input.configuration(*k, *v);
        }
        if !self.config.is_empty() {
            input = input.set_resolved_configuration(Some(
                self.config
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            ));
        }
        let mut result = ActionExecutionResult::builder()
            .set_external_execution_summary(self.summary.clone())
            .set_external_execution_url(self.url.clone());
        if let Some((code, message)) = &self.error {
            result =
                result.error_details(ErrorDetails::builder().code(*code).message(message).build());
        }
        let mut output = ActionExecutionOutput::builder().execution_result(result.build());
        for (k, v) in &self.vars {
            output = output.output_variables(*k, v);
        }
        ActionExecutionDetail::builder()
            .pipeline_execution_id(execution_id)
            .action_execution_id(format!("{execution_id}-{}-{}", self.stage, self.start))
            .pipeline_version(3)
            .stage_name(self.stage)
            .action_name(self.action)
            .start_time(at(self.start))
            .last_update_time(at(self.end))
            .status(self.status.clone())
            .input(input.build())
            .output(output.build())
            .build()
    }
}

fn source(end: i64) -> A {
    let mut a = A::new("Source", "Source", 0, end)
        .var("AuthorDate", "2026-11-20T09:10:41Z")
        .var("BranchName", "main")
        .var("CommitId", COMMIT)
        .var(
            "CommitMessage",
            "Raise max_depth to 7 and add the tenure feature\n\nThe tenure feature lifts AUC on the holdout set.",
        )
        .var(
            "ConnectionArn",
            "arn:aws:codeconnections:us-east-1:123456789012:connection/0f5b706a-1a1d-46c5-86b6-f177321bcfb2",
        )
        .var("FullRepositoryName", REPOSITORY)
        .summary(r#"{"ProviderType":"GitHub","CommitMessage":"Raise max_depth to 7 and add the tenure feature"}"#)
        .url(format!("https://github.com/{REPOSITORY}/commit/{COMMIT}"));
    a.category = ActionCategory::Source;
    a.provider = "CodeStarSourceConnection";
    a.config = vec![
        ("BranchName", "main"),
        ("FullRepositoryId", REPOSITORY),
        ("OutputArtifactFormat", "CODE_ZIP"),
    ];
    a
}

fn build(end: i64) -> A {
    let mut a = A::new("Build", "Build", 5, end)
        .var("SOURCE_DIR_URI", "s3://sagemaker-cicd-artifacts/source/9f2c1e4/sourcedir.tar.gz")
        .url("https://console.aws.amazon.com/codebuild/home?region=us-east-1#/builds/sagemaker-cicd-build:6c1d/view/new");
    a.category = ActionCategory::Build;
    a.provider = "CodeBuild";
    a
}

fn train() -> A {
    A::new("Train", "StartTraining", 167, 170)
        .var("TrainingJobName", TRAINING_JOB)
        .var(
            "TrainingJobArn",
            format!("arn:aws:sagemaker:us-east-1:123456789012:training-job/{TRAINING_JOB}"),
        )
        .var("CommitId", COMMIT)
        .summary(format!(
            "Started training job {TRAINING_JOB} (ml.m4.xlarge) for commit 9f2c1e4"
        ))
}

fn tune() -> A {
    A::new("Tune", "TrainAndTune", 171, 4431)
        .var("TuningJobName", TUNING_JOB)
        .var("CandidateTrainingJobName", CANDIDATE_JOB)
        .var("ObjectiveMetricName", "validation:auc")
        .var("ObjectiveMetricValue", "0.9134")
        .var(
            "ModelArtifactsUri",
            format!("s3://sagemaker-cicd-artifacts/models/{CANDIDATE_JOB}/output/model.tar.gz"),
        )
}

/// A Deploy action that deployed to `endpoint`.
fn deploy(stage: &'static str, endpoint: &str, start: i64, end: i64) -> A {
    A::new(stage, stage, start, end)
        .var("DeployStatus", "Deployed")
        .var("EndpointName", endpoint)
}

pub const GATE_FAILURE: &str = "\
The candidate did not pass the gate of configuration/evaluation.json (1 of 2 conditions failed):

metric          value   condition  threshold  approved model  result
test:accuracy   0.8712  >=         0.9000     0.9031          FAIL
test:auc        0.9134  >=         0.9000     0.9120          pass

The model was not registered. Improve the model or change the gate, then push again.";

pub const METRICS_SUMMARY: &str = "\
metric          value   condition  threshold  approved model  result
test:accuracy   0.9215  >=         0.9000     0.9031          pass
test:auc        0.9134  >=         0.9000     0.9120          pass";

/// The execution behind a sample event, as CodePipeline reports it.
pub struct Scenario {
    pub name: String,
    pub event: Value,
    pub execution: Option<PipelineExecution>,
    pub actions: Vec<ActionExecutionDetail>,
}

pub fn scenario(name: &str) -> Scenario {
    let event = event(name);
    let id = event["detail"]["execution-id"].as_str().unwrap().to_owned();
    let (status, summary, actions): (PipelineExecutionStatus, Option<&str>, Vec<A>) = match name {
        "succeeded" => (
            PipelineExecutionStatus::Succeeded,
            None,
            vec![
                source(4),
                build(166),
                train(),
                tune(),
                A::new("Evaluate", "Evaluate", 4432, 4444)
                    .var("Verdict", "Approved: 2 of 2 conditions met")
                    .var("MetricsSummary", METRICS_SUMMARY)
                    .var("ModelPackageArn", MODEL_PACKAGE),
                deploy("DeployStaging", "sagemaker-cicd-staging", 4445, 4702).summary(
                    "Endpoint sagemaker-cicd-staging is InService on \
                     sagemaker-cicd-staging-9f2c1e4-1a2b3c4d; smoke test passed: 1 request(s), \
                     10 invocation(s), all 200; p95 48 ms",
                ),
                deploy("DeployProduction", "sagemaker-cicd-production", 4703, 5411).summary(
                    "Endpoint sagemaker-cicd-production is InService on \
                     sagemaker-cicd-production-9f2c1e4-5e6f7a8b; 1 old endpoint config(s) and \
                     model(s) removed",
                ),
            ],
        ),
        "failed" => (
            PipelineExecutionStatus::Failed,
            None,
            vec![
                source(4),
                build(166),
                train(),
                tune(),
                A::new("Evaluate", "Evaluate", 4432, 4444)
                    .error("JobFailed", GATE_FAILURE)
                    .summary("1 of 2 gate conditions failed")
                    .url("https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#logsV2:log-groups/log-group/$252Faws$252Flambda$252Fsagemaker-cicd-evaluate"),
            ],
        ),
        "stopped" => (
            PipelineExecutionStatus::Stopped,
            Some("Execution stopped and abandoned: Retraining on the refreshed data set instead"),
            vec![
                source(4),
                build(166),
                train(),
                A::new("Tune", "TrainAndTune", 171, 2367)
                    .status(ActionExecutionStatus::Abandoned)
                    .var("TuningJobName", TUNING_JOB),
            ],
        ),
        "superseded" => (
            PipelineExecutionStatus::Superseded,
            None,
            vec![source(4), build(166)],
        ),
        "canceled" => (
            PipelineExecutionStatus::Cancelled,
            None,
            vec![source(4), build(97).status(ActionExecutionStatus::Abandoned)],
        ),
        other => panic!("no scenario {other}"),
    };
    let execution = PipelineExecution::builder()
        .pipeline_name("sagemaker-cicd-pipeline")
        .pipeline_version(3)
        .pipeline_execution_id(&id)
        .status(status)
        .set_status_summary(summary.map(str::to_owned))
        .artifact_revisions(
            ArtifactRevision::builder()
                .name("SourceArtifact")
                .revision_id(COMMIT)
                .revision_summary(r#"{"ProviderType":"GitHub","CommitMessage":"Raise max_depth to 7 and add the tenure feature"}"#)
                .revision_url(format!("https://github.com/{REPOSITORY}/commit/{COMMIT}"))
                .created(at(-82))
                .build(),
        )
        .trigger(
            ExecutionTrigger::builder()
                .trigger_type(TriggerType::WebhookV2)
                .trigger_detail("arn:aws:codeconnections:us-east-1:123456789012:connection/0f5b706a-1a1d-46c5-86b6-f177321bcfb2")
                .build(),
        )
        .build();
    // Newest first, as the console lists them; notify must not rely on the order.
    let mut details: Vec<_> = actions.iter().map(|a| a.build(&id)).collect();
    details.reverse();
    Scenario {
        name: name.to_owned(),
        event,
        execution: Some(execution),
        actions: details,
    }
}

impl Scenario {
    pub fn parsed(&self) -> PipelineEvent {
        PipelineEvent::parse(self.event.clone()).unwrap()
    }

    /// The execution notify shows, without any client.
    pub fn execution(&self) -> Execution {
        notify::gather::assemble(&self.parsed(), self.execution.as_ref(), &self.actions, None)
    }

    /// A CodePipeline that answers for this scenario, ListActionExecutions in pages of two.
    pub fn codepipeline(&self) -> aws_sdk_codepipeline::Client {
        let execution = self.execution.clone();
        let get = mock!(aws_sdk_codepipeline::Client::get_pipeline_execution)
            .then_compute_response(move |_| match &execution {
                Some(e) => MockResponse::Output(
                    GetPipelineExecutionOutput::builder()
                        .pipeline_execution(e.clone())
                        .build(),
                ),
                None => MockResponse::Error(GetPipelineExecutionError::generic(
                    ErrorMetadata::builder()
                        .code("AccessDeniedException")
                        .message("not authorized to perform codepipeline:GetPipelineExecution")
                        .build(),
                )),
            });
        let actions = self.actions.clone();
        let list = mock!(aws_sdk_codepipeline::Client::list_action_executions).then_compute_output(
            move |input| {
                let page: usize = input
                    .next_token()
                    .and_then(|t| t.strip_prefix("page-"))
                    .map_or(0, |n| n.parse().unwrap());
                let chunk: Vec<_> = actions.iter().skip(page * 2).take(2).cloned().collect();
                let next = (actions.len() > (page + 1) * 2).then(|| format!("page-{}", page + 1));
                ListActionExecutionsOutput::builder()
                    .set_action_execution_details(Some(chunk))
                    .set_next_token(next)
                    .build()
            },
        );
        mock_client!(aws_sdk_codepipeline, RuleMode::MatchAny, [&get, &list])
    }
}

/// A CodePipeline that refuses every call, as it does without the permissions.
pub fn codepipeline_denied() -> aws_sdk_codepipeline::Client {
    let meta = || {
        ErrorMetadata::builder()
            .code("AccessDeniedException")
            .message("User is not authorized to perform: codepipeline:GetPipelineExecution")
            .build()
    };
    let get = mock!(aws_sdk_codepipeline::Client::get_pipeline_execution)
        .then_error(move || GetPipelineExecutionError::generic(meta()));
    let list = mock!(aws_sdk_codepipeline::Client::list_action_executions).then_error(|| {
        ListActionExecutionsError::generic(
            ErrorMetadata::builder()
                .code("AccessDeniedException")
                .message("User is not authorized to perform: codepipeline:ListActionExecutions")
                .build(),
        )
    });
    mock_client!(aws_sdk_codepipeline, RuleMode::MatchAny, [&get, &list])
}

/// An object of [`FakeS3`]: its ETag and body.
pub type Object = (String, Vec<u8>);

/// An in-memory bucket with S3's conditional writes: `If-None-Match: *` fails with 412 when
/// the key exists, `If-Match` when the ETag differs.
#[derive(Clone, Default)]
pub struct FakeS3 {
    pub objects: Arc<Mutex<BTreeMap<String, Object>>>,
    versions: Arc<AtomicUsize>,
    /// Fail every PutObject with this status (403: a missing permission).
    pub refuse_puts: Arc<Mutex<Option<u16>>>,
    /// Fail PutObjects whose body contains this text (e.g. `"sent"`).
    pub refuse_bodies_with: Arc<Mutex<Option<String>>>,
    /// With `refuse_bodies_with`: refuse only this many times (`None`: always).
    pub refusals_left: Arc<Mutex<Option<usize>>>,
    pub puts: Arc<AtomicUsize>,
}

fn s3_error(status: u16, code: &str) -> HttpResponse {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>{code} (test)</Message></Error>"
    );
    HttpResponse::new(status.try_into().unwrap(), SdkBody::from(body))
}

impl FakeS3 {
    pub fn client(&self) -> aws_sdk_s3::Client {
        let me = self.clone();
        let put = mock!(aws_sdk_s3::Client::put_object).then_compute_response(move |input| {
            me.puts.fetch_add(1, Ordering::SeqCst);
            assert_eq!(input.bucket(), Some(BUCKET));
            if let Some(status) = *me.refuse_puts.lock().unwrap() {
                return MockResponse::Http(s3_error(status, "AccessDenied"));
            }
            let body = input.body().bytes().unwrap().to_vec();
            if let Some(text) = me.refuse_bodies_with.lock().unwrap().as_deref()
                && String::from_utf8_lossy(&body).contains(text)
            {
                let mut left = me.refusals_left.lock().unwrap();
                if *left != Some(0) {
                    *left = left.map(|n| n - 1);
                    return MockResponse::Http(s3_error(403, "AccessDenied"));
                }
            }
            let key = input.key().unwrap().to_owned();
            let mut objects = me.objects.lock().unwrap();
            let current = objects.get(&key).map(|(etag, _)| etag.clone());
            if input.if_none_match() == Some("*") && current.is_some() {
                return MockResponse::Http(s3_error(412, "PreconditionFailed"));
            }
            if let Some(wanted) = input.if_match()
                && current.as_deref() != Some(wanted)
            {
                return MockResponse::Http(s3_error(412, "PreconditionFailed"));
            }
            let etag = format!("\"etag-{}\"", me.versions.fetch_add(1, Ordering::SeqCst));
            objects.insert(key, (etag.clone(), body));
            MockResponse::Output(PutObjectOutput::builder().e_tag(etag).build())
        });
        let me = self.clone();
        let get = mock!(aws_sdk_s3::Client::get_object).then_compute_response(move |input| {
            let objects = me.objects.lock().unwrap();
            match objects.get(input.key().unwrap()) {
                Some((etag, body)) => MockResponse::Output(
                    GetObjectOutput::builder()
                        .e_tag(etag.clone())
                        .body(ByteStream::from(body.clone()))
                        .build(),
                ),
                None => MockResponse::Error(GetObjectError::NoSuchKey(
                    aws_sdk_s3::types::error::NoSuchKey::builder().build(),
                )),
            }
        });
        mock_client!(aws_sdk_s3, RuleMode::MatchAny, [&put, &get])
    }

    /// The marker of `key`, as JSON.
    pub fn marker(&self, key: &str) -> Option<Value> {
        let objects = self.objects.lock().unwrap();
        objects
            .get(key)
            .map(|(_, body)| serde_json::from_slice(body).unwrap())
    }

    pub fn insert(&self, key: &str, marker: Value) {
        let etag = format!("\"etag-{}\"", self.versions.fetch_add(1, Ordering::SeqCst));
        self.objects
            .lock()
            .unwrap()
            .insert(key.to_owned(), (etag, marker.to_string().into_bytes()));
    }
}

/// An SNS topic that records every publish; `fail` makes it refuse them.
#[derive(Clone, Default)]
pub struct FakeSns {
    pub published: Arc<Mutex<Vec<PublishInput>>>,
    pub fail: Arc<Mutex<bool>>,
}

impl FakeSns {
    pub fn client(&self) -> aws_sdk_sns::Client {
        let me = self.clone();
        let publish = mock!(aws_sdk_sns::Client::publish).then_compute_response(move |input| {
            if *me.fail.lock().unwrap() {
                return MockResponse::Error(PublishError::KmsDisabledException(
                    aws_sdk_sns::types::error::KmsDisabledException::builder()
                        .message("The key is disabled (test)")
                        .meta(
                            aws_sdk_sns::error::ErrorMetadata::builder()
                                .code("KMSDisabled")
                                .message("The key is disabled (test)")
                                .build(),
                        )
                        .build(),
                ));
            }
            let mut published = me.published.lock().unwrap();
            published.push(input.clone());
            MockResponse::Output(
                PublishOutput::builder()
                    .message_id(format!("msg-{}", published.len()))
                    .build(),
            )
        });
        mock_client!(aws_sdk_sns, RuleMode::MatchAny, [&publish])
    }

    pub fn count(&self) -> usize {
        self.published.lock().unwrap().len()
    }

    pub fn only(&self) -> PublishInput {
        let published = self.published.lock().unwrap();
        assert_eq!(
            published.len(),
            1,
            "expected one publish, got {}",
            published.len()
        );
        published[0].clone()
    }
}

/// The scripted world: CodePipeline of a scenario, the fake S3 and SNS.
pub struct World {
    pub s3: FakeS3,
    pub sns: FakeSns,
    pub notifier: Notifier,
}

impl World {
    pub fn new(codepipeline: aws_sdk_codepipeline::Client) -> World {
        let s3 = FakeS3::default();
        let sns = FakeSns::default();
        let notifier = Notifier {
            codepipeline,
            sns: sns.client(),
            markers: Markers::new(s3.client(), BUCKET).with_retry_delays(vec![Duration::ZERO; 3]),
            topic_arn: TOPIC.to_owned(),
            sweeper: None,
        };
        World { s3, sns, notifier }
    }

    pub fn of(name: &str) -> World {
        World::new(scenario(name).codepipeline())
    }

    /// The function in another execution environment (a new process): same S3 and SNS, none
    /// of this one's memory.
    pub fn another_environment(&self, name: &str) -> Notifier {
        Notifier {
            codepipeline: scenario(name).codepipeline(),
            sns: self.sns.client(),
            markers: Markers::new(self.s3.client(), BUCKET)
                .with_retry_delays(vec![Duration::ZERO; 3]),
            topic_arn: TOPIC.to_owned(),
            sweeper: None,
        }
    }
}

/// The `email` variant of a published `MessageStructure=json` message.
pub fn variant(input: &PublishInput, protocol: &str) -> String {
    assert_eq!(input.message_structure(), Some("json"));
    let message: Value = serde_json::from_str(input.message().unwrap()).unwrap();
    message[protocol].as_str().unwrap().to_owned()
}

/// The marker key of a sample event.
pub fn marker_key(name: &str) -> String {
    let e = event(name);
    notify::marker::key(
        e["detail"]["pipeline"].as_str().unwrap(),
        e["detail"]["execution-id"].as_str().unwrap(),
        1,
    )
}
