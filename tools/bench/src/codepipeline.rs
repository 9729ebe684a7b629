//! A stand-in for CodePipeline's side of the functions, on loopback (awsJson1_1, as the SDKs
//! speak it): the job-result calls every Lambda action ends with (moto has none), recorded per
//! job so that a run that never reports is detected, and the two reads of notify
//! (GetPipelineExecution, ListActionExecutions), answered with a plausible five-stage run.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// What a job reported.
#[derive(Debug, Clone, PartialEq)]
pub enum JobResult {
    Success {
        variables: HashMap<String, String>,
        continuation_token: Option<String>,
    },
    Failure {
        message: String,
    },
}

#[derive(Default)]
struct State {
    results: Mutex<HashMap<String, Vec<JobResult>>>,
}

pub struct FakeCodePipeline {
    url: String,
    state: Arc<State>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for FakeCodePipeline {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl FakeCodePipeline {
    pub async fn start() -> std::io::Result<FakeCodePipeline> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let url = format!("http://{}", listener.local_addr()?);
        let state = Arc::new(State::default());
        let shared = state.clone();
        let router = Router::new().fallback(move |headers: HeaderMap, body: Bytes| {
            let state = shared.clone();
            async move { answer(&state, &headers, &body) }
        });
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Ok(FakeCodePipeline { url, state, server })
    }

    pub fn endpoint_url(&self) -> &str {
        &self.url
    }

    /// Every result reported for `job_id`, in order.
    pub fn results(&self, job_id: &str) -> Vec<JobResult> {
        self.state
            .results
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(job_id)
            .cloned()
            .unwrap_or_default()
    }
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/x-amz-json-1.1")],
        body.to_string(),
    )
        .into_response()
}

fn error(kind: &str, message: &str) -> Response {
    json_response(
        StatusCode::BAD_REQUEST,
        &json!({"__type": kind, "message": message}),
    )
}

fn answer(state: &State, headers: &HeaderMap, body: &[u8]) -> Response {
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let Ok(input) = serde_json::from_slice::<Value>(body) else {
        return error("SerializationException", "the body is not JSON");
    };
    let operation = target
        .strip_prefix("CodePipeline_20150709.")
        .unwrap_or(target);
    match operation {
        "PutJobSuccessResult" | "PutJobFailureResult" => {
            let Some(job_id) = input["jobId"].as_str() else {
                return error("ValidationException", "jobId is required");
            };
            let result = record(operation, &input);
            state
                .results
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .entry(job_id.to_owned())
                .or_default()
                .push(result);
            json_response(StatusCode::OK, &json!({}))
        }
        "GetPipelineExecution" => json_response(
            StatusCode::OK,
            &pipeline_execution(
                input["pipelineName"].as_str().unwrap_or_default(),
                input["pipelineExecutionId"].as_str().unwrap_or_default(),
            ),
        ),
        "ListActionExecutions" => json_response(
            StatusCode::OK,
            &action_executions(
                input["filter"]["pipelineExecutionId"]
                    .as_str()
                    .unwrap_or_default(),
            ),
        ),
        other => error(
            "UnknownOperationException",
            &format!("the bench's CodePipeline does not serve `{other}`"),
        ),
    }
}

fn record(operation: &str, input: &Value) -> JobResult {
    if operation == "PutJobFailureResult" {
        return JobResult::Failure {
            message: input["failureDetails"]["message"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        };
    }
    let variables = input["outputVariables"]
        .as_object()
        .map(|vars| {
            vars.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                .collect()
        })
        .unwrap_or_default();
    JobResult::Success {
        variables,
        continuation_token: input["continuationToken"].as_str().map(str::to_owned),
    }
}

/// 2026-11-20T09:12:03Z, when the sample events' executions start.
const START: i64 = 1_795_165_923;
const COMMIT: &str = "9f2c1e4d0b7a5c3e1f2a4b6c8d0e1f2a3b4c5d6e";
const REPOSITORY: &str = "example-org/churn-model";

fn pipeline_execution(pipeline: &str, execution_id: &str) -> Value {
    json!({"pipelineExecution": {
        "pipelineName": pipeline,
        "pipelineVersion": 3,
        "pipelineExecutionId": execution_id,
        "status": "Succeeded",
        "executionMode": "SUPERSEDED",
        "executionType": "STANDARD",
        "artifactRevisions": [{
            "name": "SourceOutput",
            "revisionId": COMMIT,
            "revisionSummary": "{\"ProviderType\":\"GitHub\",\"CommitMessage\":\"Raise max_depth to 7 and add the tenure feature\"}",
            "revisionUrl": format!("https://github.com/{REPOSITORY}/commit/{COMMIT}"),
            "created": START - 82,
        }],
        "trigger": {"triggerType": "CloudWatchEvent", "triggerDetail": "arn:aws:events:us-east-1:123456789012:rule/push"},
    }})
}

fn action(
    execution_id: &str,
    (stage, name, category, provider): (&str, &str, &str, &str),
    (start, end): (i64, i64),
    variables: Value,
    summary: &str,
) -> Value {
    json!({
        "pipelineExecutionId": execution_id,
        "actionExecutionId": format!("{execution_id}-{stage}"),
        "pipelineVersion": 3,
        "stageName": stage,
        "actionName": name,
        "startTime": START + start,
        "lastUpdateTime": START + end,
        "status": "Succeeded",
        "input": {
            "actionTypeId": {"category": category, "owner": "AWS", "provider": provider, "version": "1"},
            "configuration": {},
            "resolvedConfiguration": {},
        },
        "output": {
            "executionResult": {"externalExecutionSummary": summary},
            "outputVariables": variables,
        },
    })
}

fn action_executions(execution_id: &str) -> Value {
    let training = "sagemaker-cicd-churn-sklearn-9f2c1e4-5d21a7b0";
    let tuning = "sagemaker-cicd-9f2c1e4-5d21a7b0";
    let best = "sagemaker-cicd-9f2c1e4-5d21a7b0-007-1c9e04f2";
    let details = vec![
        action(
            execution_id,
            ("Source", "Source", "Source", "CodeStarSourceConnection"),
            (0, 4),
            json!({
                "AuthorDate": "2026-11-20T09:10:41Z",
                "BranchName": "main",
                "CommitId": COMMIT,
                "CommitMessage": "Raise max_depth to 7 and add the tenure feature",
                "FullRepositoryName": REPOSITORY,
            }),
            "GitHub",
        ),
        action(
            execution_id,
            ("Build", "Build", "Build", "CodeBuild"),
            (5, 166),
            json!({"SOURCE_DIR_URI": "s3://sagemaker-cicd-artifacts/source/9f2c1e4/sourcedir.tar.gz"}),
            "",
        ),
        action(
            execution_id,
            ("Train", "StartTraining", "Invoke", "Lambda"),
            (167, 170),
            json!({
                "TrainingJobName": training,
                "TrainingJobArn": format!("arn:aws:sagemaker:us-east-1:123456789012:training-job/{training}"),
                "CommitId": COMMIT,
            }),
            &format!("Started training job {training} (ml.m4.xlarge) for commit 9f2c1e4"),
        ),
        action(
            execution_id,
            ("Tune", "TrainAndTune", "Invoke", "Lambda"),
            (171, 4431),
            json!({
                "TuningJobName": tuning,
                "CandidateTrainingJobName": best,
                "ObjectiveMetricName": "validation:auc",
                "ObjectiveMetricValue": "0.9134",
                "ModelArtifactsUri": format!("s3://sagemaker-cicd-artifacts/models/{best}/output/model.tar.gz"),
            }),
            &format!("Best model of tuning job {tuning}: {best} with validation:auc = 0.9134"),
        ),
        action(
            execution_id,
            ("Evaluate", "Evaluate", "Invoke", "Lambda"),
            (4432, 4444),
            json!({
                "Verdict": "Passed",
                "MetricsSummary": "test:accuracy 0.9215 >= 0.9000 pass",
                "ModelPackageArn": "arn:aws:sagemaker:us-east-1:123456789012:model-package/example-org-churn-model/3",
            }),
            "Passed (Approved)",
        ),
    ];
    json!({"actionExecutionDetails": details})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(target: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("x-amz-target", target.parse().unwrap());
        headers
    }

    #[test]
    fn job_results_are_recorded_per_job() {
        let state = State::default();
        let ok = answer(
            &state,
            &headers("CodePipeline_20150709.PutJobSuccessResult"),
            br#"{"jobId":"j1","outputVariables":{"A":"1"}}"#,
        );
        assert_eq!(ok.status(), StatusCode::OK);
        answer(
            &state,
            &headers("CodePipeline_20150709.PutJobSuccessResult"),
            br#"{"jobId":"j2","continuationToken":"t"}"#,
        );
        answer(
            &state,
            &headers("CodePipeline_20150709.PutJobFailureResult"),
            br#"{"jobId":"j2","failureDetails":{"type":"JobFailed","message":"boom"}}"#,
        );
        let results = state.results.lock().unwrap();
        assert_eq!(
            results["j1"],
            [JobResult::Success {
                variables: HashMap::from([("A".to_owned(), "1".to_owned())]),
                continuation_token: None
            }]
        );
        assert_eq!(results["j2"].len(), 2);
        assert_eq!(
            results["j2"][1],
            JobResult::Failure {
                message: "boom".into()
            }
        );
    }

    #[test]
    fn unknown_operations_and_bad_bodies_are_refused() {
        let state = State::default();
        let refused = answer(
            &state,
            &headers("CodePipeline_20150709.DeletePipeline"),
            b"{}",
        );
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
        let bad = answer(
            &state,
            &headers("CodePipeline_20150709.PutJobSuccessResult"),
            b"{",
        );
        assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
        let no_job = answer(
            &state,
            &headers("CodePipeline_20150709.PutJobSuccessResult"),
            b"{}",
        );
        assert_eq!(no_job.status(), StatusCode::BAD_REQUEST);
    }

    #[test]
    fn the_execution_reads_echo_the_execution_id() {
        let execution = pipeline_execution("p", "e-1");
        assert_eq!(execution["pipelineExecution"]["pipelineExecutionId"], "e-1");
        let actions = action_executions("e-1");
        let details = actions["actionExecutionDetails"].as_array().unwrap();
        assert_eq!(details.len(), 5);
        assert!(details.iter().all(|d| d["pipelineExecutionId"] == "e-1"));
    }
}
