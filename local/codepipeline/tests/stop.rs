//! StopPipelineExecution over HTTP with the AWS SDK: the request's checks and errors as the API
//! reference lists them, and real runs stopped while a Lambda action is followed with
//! continuation tokens (the test function `codepipeline-test-function`, built by cargo for these
//! tests, behind the Lambda Runtime API; moto from the workspace's `.venv/`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use aws_sdk_codepipeline::error::ProvideErrorMetadata;
use aws_sdk_codepipeline::types::{ActionExecutionDetail, ActionExecutionFilter};
use local_codepipeline::{
    ApiServer, Execution, ExecutionReport, ExecutionStatus, Job, LocalPipeline, Progress, Revision,
    RunSettings, Services, ServicesSettings, SharedStore, sdk_config,
};
use local_stack::{Action, EventRule, Function, Pipeline, Stack, Stage};
use serde_json::json;
use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};

const PIPELINE: &str = "stop-test-pipeline";
const RUNNING: &str = "0f0e0d0c-0b0a-4000-8000-000000000001";
const DONE: &str = "0f0e0d0c-0b0a-4000-8000-000000000002";
const JOB: &str = "11111111-2222-4333-8444-555555555555";

type Client = aws_sdk_codepipeline::Client;

fn client(endpoint: &str) -> Client {
    Client::new(&sdk_config("us-east-1", endpoint))
}

async fn stop(client: &Client, id: &str, abandon: bool, reason: &str) -> Result<String, String> {
    client
        .stop_pipeline_execution()
        .pipeline_name(PIPELINE)
        .pipeline_execution_id(id)
        .abandon(abandon)
        .reason(reason)
        .send()
        .await
        .map(|o| o.pipeline_execution_id().unwrap_or_default().to_owned())
        .map_err(|e| e.code().unwrap_or("no code").to_owned())
}

async fn status(client: &Client, id: &str) -> (String, Option<String>) {
    let e = client
        .get_pipeline_execution()
        .pipeline_name(PIPELINE)
        .pipeline_execution_id(id)
        .send()
        .await
        .unwrap()
        .pipeline_execution
        .unwrap();
    let status = e.status().unwrap().as_str().to_owned();
    (status, e.status_summary().map(str::to_owned))
}

fn execution(id: &str, status: ExecutionStatus) -> Execution {
    Execution {
        id: id.into(),
        pipeline: PIPELINE.into(),
        region: "us-east-1".into(),
        status,
        status_summary: None,
        started: SystemTime::now(),
        updated: SystemTime::now(),
        revision: Revision::default(),
        actions: Vec::new(),
    }
}

/// An execution in progress with a job waiting for its result, and a finished one.
async fn api() -> (ApiServer, SharedStore, Client) {
    let store = SharedStore::default();
    {
        let mut s = store.lock().unwrap();
        let job = Job {
            execution_id: RUNNING.into(),
            ..Job::default()
        };
        s.jobs.insert(JOB.into(), job);
        let running = execution(RUNNING, ExecutionStatus::InProgress);
        s.executions.insert(RUNNING.into(), running);
        let done = execution(DONE, ExecutionStatus::Succeeded);
        s.executions.insert(DONE.into(), done);
    }
    let api = ApiServer::start(Arc::clone(&store)).await.unwrap();
    let client = client(&api.endpoint_url());
    (api, store, client)
}

#[tokio::test]
async fn stop_requests_are_refused_as_the_api_reference_says() {
    let (_api, _store, client) = api().await;
    let long = "r".repeat(201);
    assert_eq!(
        stop(&client, RUNNING, true, &long).await,
        Err("ValidationException".into())
    );
    assert_eq!(
        stop(&client, "exec", true, "").await,
        Err("ValidationException".into())
    );
    let other = client
        .stop_pipeline_execution()
        .pipeline_name("other-pipeline")
        .pipeline_execution_id(RUNNING)
        .send()
        .await
        .unwrap_err();
    assert_eq!(other.code(), Some("PipelineNotFoundException"));
    // StopPipelineExecution has no PipelineExecutionNotFoundException in the API reference.
    let unknown = "0f0e0d0c-0b0a-4000-8000-0000000000ff";
    assert_eq!(
        stop(&client, unknown, false, "").await,
        Err("PipelineExecutionNotStoppableException".into())
    );
    assert_eq!(
        stop(&client, DONE, false, "").await,
        Err("PipelineExecutionNotStoppableException".into())
    );
    assert_eq!(status(&client, RUNNING).await.0, "InProgress");
    let reason = "r".repeat(200);
    assert_eq!(
        stop(&client, RUNNING, false, &reason).await,
        Ok(RUNNING.into())
    );
    assert_eq!(
        status(&client, RUNNING).await,
        ("Stopping".into(), Some(reason))
    );
}

async fn put_success(client: &Client) -> Result<(), String> {
    client
        .put_job_success_result()
        .job_id(JOB)
        .output_variables("X", "1")
        .send()
        .await
        .map(|_| ())
        .map_err(|e| e.code().unwrap_or("no code").to_owned())
}

#[tokio::test]
async fn a_stop_and_wait_may_become_an_abandon_which_refuses_the_late_results() {
    let (_api, store, client) = api().await;
    assert_eq!(
        stop(&client, RUNNING, false, "wait").await,
        Ok(RUNNING.into())
    );
    assert_eq!(
        stop(&client, RUNNING, false, "again").await,
        Err("DuplicatedStopRequestException".into())
    );
    assert_eq!(
        stop(&client, RUNNING, true, "hurry").await,
        Ok(RUNNING.into())
    );
    assert_eq!(
        stop(&client, RUNNING, true, "again").await,
        Err("DuplicatedStopRequestException".into())
    );
    assert_eq!(
        status(&client, RUNNING).await,
        ("Stopping".into(), Some("hurry".into()))
    );
    // The abandoned action's job reports late: refused, as a job no longer in progress.
    assert_eq!(
        put_success(&client).await,
        Err("InvalidJobStateException".into())
    );
    let s = store.lock().unwrap();
    assert!(s.jobs[JOB].abandoned && s.jobs[JOB].result.is_none());
}

// ---- Runs of a small pipeline: Work / Slow then Work / Next, the same test function. ----

fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn test_function() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_codepipeline-test-function"))
}

fn function(id: &str, log: &Path) -> Function {
    let name = format!("stop-test-{}", id.to_lowercase());
    Function {
        logical_id: id.into(),
        arn: format!("arn:aws:lambda:us-east-1:123456789012:function:{name}"),
        name,
        binary: test_function()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned(),
        timeout: Duration::from_secs(60),
        memory_mb: 128,
        environment: BTreeMap::from([("TEST_FUNCTION_LOG".into(), log.display().to_string())]),
        architectures: vec!["x86_64".into()],
        maximum_retry_attempts: None,
    }
}

fn lambda_action(name: &str, run_order: u32, parameters: serde_json::Value) -> Action {
    let mut parameters = parameters;
    parameters["name"] = name.into();
    Action {
        name: name.into(),
        namespace: None,
        category: "Invoke".into(),
        owner: "AWS".into(),
        provider: "Lambda".into(),
        version: "1".into(),
        run_order,
        configuration: BTreeMap::from([
            ("FunctionName".into(), "stop-test-worker".into()),
            ("UserParameters".into(), parameters.to_string()),
        ]),
        input_artifacts: Vec::new(),
        output_artifacts: Vec::new(),
    }
}

/// The pipeline: Slow (with `slow`'s settings) then Next; the Notifier gets the final event.
fn stack(dir: &Path, slow: serde_json::Value) -> Stack {
    let rule = EventRule {
        logical_id: "Rule".into(),
        name: "stop-test-rule".into(),
        event_pattern: json!({
            "source": ["aws.codepipeline"],
            "detail-type": ["CodePipeline Pipeline Execution State Change"],
            "detail": {"pipeline": [PIPELINE], "state": ["SUCCEEDED", "FAILED", "STOPPED"]},
        }),
        target_functions: vec!["Notifier".into()],
    };
    let actions = vec![
        lambda_action("Slow", 1, slow),
        lambda_action("Next", 2, json!({})),
    ];
    Stack {
        name: "stop-test".into(),
        region: "us-east-1".into(),
        account_id: "123456789012".into(),
        parameters: BTreeMap::new(),
        pipeline: Pipeline {
            logical_id: "Pipeline".into(),
            name: PIPELINE.into(),
            artifact_bucket: "stop-test-artifacts".into(),
            pipeline_type: "V2".into(),
            execution_mode: "SUPERSEDED".into(),
            stages: vec![Stage {
                name: "Work".into(),
                actions,
            }],
        },
        functions: BTreeMap::from([
            ("Worker".into(), function("Worker", &dir.join("jobs.log"))),
            (
                "Notifier".into(),
                function("Notifier", &dir.join("events.log")),
            ),
        ]),
        build_projects: BTreeMap::new(),
        event_rules: BTreeMap::from([("Rule".into(), rule)]),
        alarms: BTreeMap::new(),
    }
}

/// A scratch folder with a minimal model repository in it.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("codepipeline-stop-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("repo/configuration")).unwrap();
    std::fs::write(dir.join("repo/configuration/trainingjob.json"), "{}").unwrap();
    dir
}

async fn services(dir: &Path) -> Services {
    Services::start(ServicesSettings {
        venv: project_root().join(".venv"),
        work_dir: dir.join("sagemaker"),
        region: "us-east-1".into(),
    })
    .await
    .unwrap()
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

async fn wait_for_line(path: &Path, line: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !lines(path).iter().any(|l| l == line) {
        assert!(
            Instant::now() < deadline,
            "no `{line}` in {}: {:?}",
            path.display(),
            lines(path)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A run that the stop does not end would otherwise go on for many minutes.
async fn bounded<T>(run: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(90), run)
        .await
        .expect("the stopped run did not end within 90 s")
}

async fn execution_id(progress: &mut UnboundedReceiver<Progress>) -> String {
    while let Some(event) = progress.recv().await {
        if let Progress::Started { execution_id, .. } = event {
            return execution_id;
        }
    }
    panic!("the run sent no Started event");
}

/// Runs the pipeline; once `line` is in the worker's log, stops it. Returns the report, the
/// execution id and how long the run went on after the stop was accepted.
async fn run_and_stop(
    pipeline: &LocalPipeline<'_>,
    client: &Client,
    dir: &Path,
    line: &str,
    abandon: bool,
) -> (ExecutionReport, String, Duration) {
    let (tx, mut rx) = unbounded_channel();
    let run = async {
        let report = pipeline.run(&dir.join("repo"), &tx).await.unwrap();
        (report, Instant::now())
    };
    let stopper = async {
        let id = execution_id(&mut rx).await;
        wait_for_line(&dir.join("jobs.log"), line).await;
        let answer = stop(client, &id, abandon, "stopped by the test").await;
        assert_eq!(answer, Ok(id.clone()));
        (id, Instant::now())
    };
    let ((report, ended), (id, stopped)) = bounded(async { tokio::join!(run, stopper) }).await;
    (report, id, ended.saturating_duration_since(stopped))
}

async fn actions(client: &Client, id: &str) -> Vec<ActionExecutionDetail> {
    let filter = ActionExecutionFilter::builder()
        .pipeline_execution_id(id)
        .build();
    client
        .list_action_executions()
        .pipeline_name(PIPELINE)
        .filter(filter)
        .send()
        .await
        .unwrap()
        .action_execution_details()
        .to_vec()
}

/// The execution reads back Stopped with the reason; the Notifier got STOPPED once.
async fn assert_stopped(client: &Client, dir: &Path, id: &str) {
    assert_eq!(
        status(client, id).await,
        ("Stopped".into(), Some("stopped by the test".into()))
    );
    let events = lines(&dir.join("events.log"));
    assert_eq!(events, vec![format!("event STOPPED {id}")]);
    let again = stop(client, id, true, "").await;
    assert_eq!(again, Err("PipelineExecutionNotStoppableException".into()));
}

fn settings(dir: &Path, slow: serde_json::Value, delay: Duration) -> RunSettings {
    let functions_dir = test_function().parent().unwrap().to_owned();
    let mut settings = RunSettings::new(stack(dir, slow), functions_dir, dir.join("work"));
    settings.continuation_delay = delay;
    settings
}

#[tokio::test]
async fn an_abandon_ends_the_action_at_once_and_its_late_result_is_refused() {
    let dir = scratch("abandon");
    let services = services(&dir).await;
    let client = client(&services.codepipeline_endpoint());
    // The third invocation (token 2) takes 8 s: the stop lands in the middle of it.
    let slow = json!({"tokens": 1000, "sleep_ms": 50, "slow_at": 2, "slow_ms": 8000});
    let pipeline = LocalPipeline::new(settings(&dir, slow, Duration::from_millis(100)), &services);
    let (report, id, after) = run_and_stop(&pipeline, &client, &dir, "invoked Slow 2", true).await;

    assert!(after < Duration::from_secs(4), "the run went on {after:?}");
    assert_eq!(report.status, "Stopped");
    let statuses: Vec<_> = report
        .actions
        .iter()
        .map(|a| (&*a.action, &*a.status))
        .collect();
    assert_eq!(statuses, [("Slow", "Abandoned")]);
    let listed = actions(&client, &id).await;
    assert_eq!(listed.len(), 1, "Next never starts: {listed:?}");
    assert_eq!(listed[0].status().unwrap().as_str(), "Abandoned");
    assert_stopped(&client, &dir, &id).await;

    // The abandoned invocation runs on to its end; its result is refused and nothing follows.
    let jobs = dir.join("jobs.log");
    wait_for_line(&jobs, "reported Slow 2 InvalidJobStateException").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let invoked: Vec<_> = lines(&jobs)
        .into_iter()
        .filter(|l| l.starts_with("invoked"))
        .collect();
    assert_eq!(
        invoked,
        ["invoked Slow 0", "invoked Slow 1", "invoked Slow 2"]
    );
    assert_eq!(status(&client, &id).await.0, "Stopped");
    drop(pipeline);
    services.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn an_abandon_during_the_wait_for_the_next_continuation_ends_it_at_once() {
    let dir = scratch("abandon-wait");
    let services = services(&dir).await;
    let client = client(&services.codepipeline_endpoint());
    // A minute between invocations, as CodePipeline waits: the stop lands in that wait.
    let slow = json!({"tokens": 1000, "sleep_ms": 0});
    let pipeline = LocalPipeline::new(settings(&dir, slow, Duration::from_secs(60)), &services);
    let (report, id, after) =
        run_and_stop(&pipeline, &client, &dir, "reported Slow 0 ok", true).await;

    assert!(after < Duration::from_secs(4), "the run went on {after:?}");
    assert_eq!(report.status, "Stopped");
    assert_eq!(report.actions.len(), 1);
    assert_eq!(report.actions[0].status, "Abandoned");
    assert_eq!(report.actions[0].invocations, 1);
    assert_stopped(&client, &dir, &id).await;
    drop(pipeline);
    services.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_stop_and_wait_lets_the_action_finish_and_starts_no_other() {
    let dir = scratch("wait");
    let services = services(&dir).await;
    let client = client(&services.codepipeline_endpoint());
    let slow = json!({"tokens": 3, "sleep_ms": 300});
    let pipeline = LocalPipeline::new(settings(&dir, slow, Duration::from_millis(100)), &services);
    let (tx, mut rx) = unbounded_channel();
    let repo = dir.join("repo");
    let run = pipeline.run(&repo, &tx);
    let stopper = async {
        let id = execution_id(&mut rx).await;
        wait_for_line(&dir.join("jobs.log"), "invoked Slow 1").await;
        assert_eq!(
            stop(&client, &id, false, "stopped by the test").await,
            Ok(id.clone())
        );
        // Stopping while Slow finishes; a second stop-and-wait is a duplicate.
        assert_eq!(status(&client, &id).await.0, "Stopping");
        let again = stop(&client, &id, false, "again").await;
        assert_eq!(again, Err("DuplicatedStopRequestException".into()));
        id
    };
    let (report, id) = bounded(async { tokio::join!(run, stopper) }).await;
    let report = report.unwrap();

    assert_eq!(report.status, "Stopped");
    let statuses: Vec<_> = report
        .actions
        .iter()
        .map(|a| (&*a.action, &*a.status))
        .collect();
    assert_eq!(statuses, [("Slow", "Succeeded")]);
    assert_eq!(report.actions[0].invocations, 4);
    let jobs = lines(&dir.join("jobs.log"));
    assert!(jobs.contains(&"reported Slow 3 ok".to_owned()), "{jobs:?}");
    assert!(!jobs.iter().any(|l| l.contains("Next")), "{jobs:?}");
    assert_eq!(actions(&client, &id).await.len(), 1);
    assert_stopped(&client, &dir, &id).await;
    drop(pipeline);
    services.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}
