//! The local CodePipeline API over HTTP, with the AWS SDK the functions use: results are
//! recorded once per job, CodePipeline's errors come back as the SDK's typed errors, and the
//! execution reads back (paged) as notify reads it.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_sdk_codepipeline::error::ProvideErrorMetadata;
use aws_sdk_codepipeline::types::{
    ActionExecutionFilter, CurrentRevision, ExecutionDetails, FailureDetails, FailureType,
};
use local_codepipeline::{
    ActionExecution, ActionStatus, ApiServer, Execution, ExecutionStatus, Job, JobResult, Revision,
    SharedStore, sdk_config,
};

const JOB: &str = "11111111-2222-4333-8444-555555555555";

fn action(n: u64) -> ActionExecution {
    let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_764_000_000 + n);
    ActionExecution {
        id: format!("action-{n}"),
        stage: format!("Stage{n}"),
        action: format!("Action{n}"),
        category: "Invoke".into(),
        owner: "AWS".into(),
        provider: "Lambda".into(),
        version: "1".into(),
        namespace: Some(format!("Ns{n}")),
        configuration: BTreeMap::from([("FunctionName".into(), "f".into())]),
        resolved_configuration: BTreeMap::new(),
        input_artifacts: Vec::new(),
        output_artifacts: Vec::new(),
        started: t,
        updated: t,
        status: ActionStatus::Succeeded,
        summary: Some(format!("summary {n}")),
        percent: None,
        external_id: None,
        error: None,
        output_variables: BTreeMap::from([("N".into(), n.to_string())]),
    }
}

async fn setup(actions: u64) -> (ApiServer, SharedStore, aws_sdk_codepipeline::Client) {
    let store = SharedStore::default();
    {
        let mut s = store.lock().unwrap();
        s.jobs.insert(
            JOB.into(),
            Job {
                execution_id: "exec".into(),
                ..Job::default()
            },
        );
        s.executions.insert(
            "exec".into(),
            Execution {
                id: "exec".into(),
                pipeline: "demo-pipeline".into(),
                region: "us-east-1".into(),
                status: ExecutionStatus::Failed,
                status_summary: Some("stopped by a test".into()),
                started: SystemTime::now(),
                updated: SystemTime::now(),
                revision: Revision {
                    artifact: "ModelRepo".into(),
                    revision_id: "abc123".into(),
                    message: "Fix the gate".into(),
                    created: Some(SystemTime::now()),
                },
                actions: (0..actions).map(action).collect(),
            },
        );
    }
    let api = ApiServer::start(Arc::clone(&store)).await.unwrap();
    let client = aws_sdk_codepipeline::Client::new(&sdk_config("us-east-1", &api.endpoint_url()));
    (api, store, client)
}

#[tokio::test]
async fn a_job_takes_one_result_and_refuses_a_second() {
    let (_api, store, client) = setup(0).await;
    client
        .put_job_success_result()
        .job_id(JOB)
        .current_revision(
            CurrentRevision::builder()
                .revision("r")
                .change_identifier("c")
                .build()
                .unwrap(),
        )
        .execution_details(ExecutionDetails::builder().summary("done").build())
        .output_variables("TrainingJobName", "job-1")
        .send()
        .await
        .unwrap();
    let second = client
        .put_job_failure_result()
        .job_id(JOB)
        .failure_details(
            FailureDetails::builder()
                .r#type(FailureType::JobFailed)
                .message("late")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(second.code(), Some("InvalidJobStateException"));
    let s = store.lock().unwrap();
    let job = &s.jobs[JOB];
    assert_eq!(job.refused, 1);
    match &job.result {
        Some(JobResult::Success {
            summary,
            output_variables,
            continuation_token: None,
            ..
        }) => {
            assert_eq!(summary.as_deref(), Some("done"));
            assert_eq!(output_variables["TrainingJobName"], "job-1");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn unknown_jobs_and_invalid_results_are_refused_as_codepipeline_does() {
    let (_api, store, client) = setup(0).await;
    let unknown = client
        .put_job_success_result()
        .job_id("99999999-2222-4333-8444-555555555555")
        .send()
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Some("JobNotFoundException"));
    let both = client
        .put_job_success_result()
        .job_id(JOB)
        .continuation_token("t")
        .output_variables("X", "1")
        .send()
        .await
        .unwrap_err();
    assert_eq!(both.code(), Some("ValidationException"));
    let long = client
        .put_job_success_result()
        .job_id(JOB)
        .continuation_token("t".repeat(2049))
        .send()
        .await
        .unwrap_err();
    assert_eq!(long.code(), Some("ValidationException"));
    assert!(store.lock().unwrap().jobs[JOB].result.is_none());
}

#[tokio::test]
async fn the_execution_reads_back_with_its_revision_and_its_actions_paged() {
    let (_api, _store, client) = setup(150).await;
    let execution = client
        .get_pipeline_execution()
        .pipeline_name("demo-pipeline")
        .pipeline_execution_id("exec")
        .send()
        .await
        .unwrap()
        .pipeline_execution
        .unwrap();
    assert_eq!(execution.status().unwrap().as_str(), "Failed");
    assert_eq!(execution.status_summary(), Some("stopped by a test"));
    let revision = &execution.artifact_revisions()[0];
    assert_eq!(revision.revision_id(), Some("abc123"));
    assert!(
        revision
            .revision_summary()
            .unwrap()
            .contains("Fix the gate")
    );

    let filter = ActionExecutionFilter::builder()
        .pipeline_execution_id("exec")
        .build();
    let first = client
        .list_action_executions()
        .pipeline_name("demo-pipeline")
        .filter(filter.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(first.action_execution_details().len(), 100);
    let newest = &first.action_execution_details()[0];
    assert_eq!(newest.action_name(), Some("Action149"));
    assert_eq!(
        newest.output().unwrap().output_variables().unwrap()["N"],
        "149"
    );
    let rest = client
        .list_action_executions()
        .pipeline_name("demo-pipeline")
        .filter(filter.clone())
        .next_token(first.next_token().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(rest.action_execution_details().len(), 50);
    assert!(rest.next_token().is_none());

    let garbled = client
        .list_action_executions()
        .pipeline_name("demo-pipeline")
        .filter(filter)
        .next_token("not-a-token")
        .send()
        .await
        .unwrap_err();
    assert_eq!(garbled.code(), Some("InvalidNextTokenException"));
    let missing = client
        .get_pipeline_execution()
        .pipeline_name("demo-pipeline")
        .pipeline_execution_id("nope")
        .send()
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Some("PipelineExecutionNotFoundException"));
    let other = client
        .get_pipeline_execution()
        .pipeline_name("other")
        .pipeline_execution_id("exec")
        .send()
        .await
        .unwrap_err();
    assert_eq!(other.code(), Some("PipelineNotFoundException"));
}
