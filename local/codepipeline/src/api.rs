//! The CodePipeline API the functions call, served on loopback (awsJson1_1, as the AWS SDKs
//! speak it): PutJobSuccessResult and PutJobFailureResult (with CodePipeline's checks: an unknown
//! job, a second result for one job, the documented limits), GetPipelineExecution,
//! ListActionExecutions (paged) and StopPipelineExecution (with its documented errors).

use std::collections::BTreeMap;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Map, Value, json};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::store::{ActionExecution, Execution, ExecutionStatus, JobResult, StopRequest, Store};

const TARGET_PREFIX: &str = "CodePipeline_20150709.";
const CONTENT_TYPE: &str = "application/x-amz-json-1.1";
/// ListActionExecutions' default and largest page.
const MAX_RESULTS: usize = 100;

pub type SharedStore = Arc<Mutex<Store>>;

/// Locks the store; a panic elsewhere while holding it leaves data that is still consistent
/// enough to report (each write is a single assignment), so poisoning is ignored.
pub fn lock(store: &SharedStore) -> std::sync::MutexGuard<'_, Store> {
    store.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The API server; stops when dropped.
pub struct ApiServer {
    addr: SocketAddr,
    server: JoinHandle<()>,
}

impl ApiServer {
    pub async fn start(store: SharedStore) -> io::Result<ApiServer> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let app = Router::new().route("/", post(handle)).with_state(store);
        let server = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!(error = %e, "the local CodePipeline API stopped serving");
            }
        });
        Ok(ApiServer { addr, server })
    }

    /// `http://127.0.0.1:<port>`, for `AWS_ENDPOINT_URL_CODEPIPELINE`.
    pub fn endpoint_url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for ApiServer {
    fn drop(&mut self) {
        self.server.abort();
    }
}

#[derive(Debug)]
struct ApiError {
    code: &'static str,
    message: String,
}

fn err(code: &'static str, message: impl Into<String>) -> ApiError {
    ApiError {
        code,
        message: message.into(),
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({ "__type": self.code, "message": self.message }).to_string();
        let mut response = (StatusCode::BAD_REQUEST, body).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
        headers.insert("x-amzn-errortype", HeaderValue::from_static(self.code));
        response
    }
}

async fn handle(State(store): State<SharedStore>, headers: HeaderMap, body: Bytes) -> Response {
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let result = match serde_json::from_slice::<Value>(if body.is_empty() { b"{}" } else { &body })
    {
        Err(e) => Err(err(
            "SerializationException",
            format!("the request body is not JSON: {e}"),
        )),
        Ok(request) => {
            let mut store = lock(&store);
            match target.strip_prefix(TARGET_PREFIX) {
                Some("PutJobSuccessResult") => put_job_success(&mut store, &request),
                Some("PutJobFailureResult") => put_job_failure(&mut store, &request),
                Some("GetPipelineExecution") => get_pipeline_execution(&store, &request),
                Some("ListActionExecutions") => list_action_executions(&store, &request),
                Some("StopPipelineExecution") => stop_pipeline_execution(&mut store, &request),
                _ => Err(err(
                    "UnknownOperationException",
                    format!(
                        "the local CodePipeline does not serve `{target}` (it serves \
                         PutJobSuccessResult, PutJobFailureResult, GetPipelineExecution, \
                         ListActionExecutions and StopPipelineExecution)"
                    ),
                )),
            }
        }
    };
    match result {
        Ok(value) => {
            let mut response = value.to_string().into_response();
            response
                .headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
            response
        }
        Err(e) => e.into_response(),
    }
}

fn str_field<'a>(request: &'a Value, name: &str) -> Result<&'a str, ApiError> {
    request[name]
        .as_str()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| err("ValidationException", format!("`{name}` is required")))
}

fn opt_str(value: &Value) -> Option<String> {
    value.as_str().map(str::to_owned)
}

/// The job, still waiting for its result.
fn pending_job<'a>(
    store: &'a mut Store,
    request: &Value,
) -> Result<&'a mut crate::store::Job, ApiError> {
    let id = str_field(request, "jobId")?;
    let job = store.jobs.get_mut(id).ok_or_else(|| {
        err(
            "JobNotFoundException",
            format!("The job {id} was not found."),
        )
    })?;
    if job.abandoned {
        return Err(err(
            "InvalidJobStateException",
            format!(
                "The job {id} is no longer in progress: its action was abandoned when the \
                 pipeline execution was stopped."
            ),
        ));
    }
    if job.result.is_some() {
        job.refused += 1;
        return Err(err(
            "InvalidJobStateException",
            format!("The job {id} already has a result and cannot accept another."),
        ));
    }
    Ok(job)
}

fn check_len(what: &str, value: Option<&str>, max: usize) -> Result<(), ApiError> {
    match value {
        Some(v) if v.is_empty() || v.chars().count() > max => Err(err(
            "ValidationException",
            format!("`{what}` must be 1 to {max} characters long"),
        )),
        _ => Ok(()),
    }
}

fn put_job_success(store: &mut Store, request: &Value) -> Result<Value, ApiError> {
    let token = opt_str(&request["continuationToken"]);
    let details = &request["executionDetails"];
    let summary = opt_str(&details["summary"]);
    let percent = details["percentComplete"].as_i64();
    check_len("continuationToken", token.as_deref(), 2048)?;
    check_len("executionDetails.summary", summary.as_deref(), 2048)?;
    if percent.is_some_and(|p| !(0..=100).contains(&p)) {
        return Err(err(
            "ValidationException",
            "`executionDetails.percentComplete` must be within 0 and 100",
        ));
    }
    let mut variables = BTreeMap::new();
    if let Some(given) = request["outputVariables"].as_object() {
        if token.is_some() && !given.is_empty() {
            return Err(err(
                "ValidationException",
                "outputVariables cannot be set together with a continuationToken",
            ));
        }
        for (key, value) in given {
            let valid_key = !key.is_empty()
                && key
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '@' | '-' | '_'));
            if !valid_key {
                return Err(err(
                    "ValidationException",
                    format!("output variable key `{key}` does not match [A-Za-z0-9@\\-_]+"),
                ));
            }
            let value = value.as_str().ok_or_else(|| {
                err(
                    "ValidationException",
                    format!("output variable `{key}` is not a string"),
                )
            })?;
            variables.insert(key.clone(), value.to_owned());
        }
    }
    let job = pending_job(store, request)?;
    job.result = Some(JobResult::Success {
        continuation_token: token,
        summary,
        percent: percent.map(|p| p as i32),
        external_id: opt_str(&details["externalExecutionId"]),
        output_variables: variables,
    });
    Ok(json!({}))
}

const FAILURE_TYPES: &[&str] = &[
    "JobFailed",
    "ConfigurationError",
    "PermissionError",
    "RevisionOutOfSync",
    "RevisionUnavailable",
    "SystemUnavailable",
];

fn put_job_failure(store: &mut Store, request: &Value) -> Result<Value, ApiError> {
    let details = &request["failureDetails"];
    let failure_type = details["type"].as_str().unwrap_or_default();
    if !FAILURE_TYPES.contains(&failure_type) {
        return Err(err(
            "ValidationException",
            format!("`failureDetails.type` must be one of {FAILURE_TYPES:?}"),
        ));
    }
    let message = details["message"].as_str().unwrap_or_default();
    check_len("failureDetails.message", Some(message), 5000)?;
    let job = pending_job(store, request)?;
    job.result = Some(JobResult::Failure {
        failure_type: failure_type.to_owned(),
        message: message.to_owned(),
        external_id: opt_str(&details["externalExecutionId"]),
    });
    Ok(json!({}))
}

fn execution<'a>(store: &'a Store, request: &Value) -> Result<&'a Execution, ApiError> {
    let pipeline = str_field(request, "pipelineName")?;
    let known = store.executions.values().any(|e| e.pipeline == pipeline);
    if !known {
        return Err(err(
            "PipelineNotFoundException",
            format!("The pipeline {pipeline} was not found."),
        ));
    }
    let id = match request.get("filter") {
        Some(filter) => filter["pipelineExecutionId"].as_str(),
        None => request["pipelineExecutionId"].as_str(),
    }
    .ok_or_else(|| err("ValidationException", "`pipelineExecutionId` is required"))?;
    store
        .executions
        .get(id)
        .filter(|e| e.pipeline == pipeline)
        .ok_or_else(|| {
            err(
                "PipelineExecutionNotFoundException",
                format!("The execution {id} of pipeline {pipeline} was not found."),
            )
        })
}

/// StopPipelineExecution's request, checked against its documented constraints.
fn stop_request(request: &Value) -> Result<(String, String, StopRequest), ApiError> {
    let pipeline = str_field(request, "pipelineName")?;
    let valid_name = pipeline.chars().count() <= 100
        && pipeline
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '@' | '-' | '_'));
    if !valid_name {
        return Err(err(
            "ValidationException",
            "`pipelineName` must be 1 to 100 characters of [A-Za-z0-9.@\\-_]",
        ));
    }
    let id = str_field(request, "pipelineExecutionId")?;
    if !is_execution_id(id) {
        return Err(err(
            "ValidationException",
            format!("`pipelineExecutionId` {id:?} is not an execution id (a lowercase UUID)"),
        ));
    }
    let abandon = match &request["abandon"] {
        Value::Null => false,
        Value::Bool(b) => *b,
        _ => return Err(err("ValidationException", "`abandon` must be a boolean")),
    };
    let reason = match &request["reason"] {
        Value::Null => None,
        Value::String(r) if r.chars().count() <= 200 => Some(r.clone()),
        _ => {
            return Err(err(
                "ValidationException",
                "`reason` must be a string of at most 200 characters",
            ));
        }
    };
    let stop = StopRequest { abandon, reason };
    Ok((pipeline.to_owned(), id.to_owned(), stop))
}

/// `[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`, the documented pattern.
fn is_execution_id(id: &str) -> bool {
    let groups: Vec<&str> = id.split('-').collect();
    groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12])
        && groups
            .iter()
            .all(|g| g.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f')))
}

/// The errors are the ones the API reference lists for StopPipelineExecution: it has no
/// PipelineExecutionNotFoundException, so an unknown execution is not stoppable. A second
/// stop-and-wait, or any stop after an abandon, is a DuplicatedStopRequestException; an abandon
/// after a stop-and-wait is accepted.
fn stop_pipeline_execution(store: &mut Store, request: &Value) -> Result<Value, ApiError> {
    let (pipeline, id, stop) = stop_request(request)?;
    if !store.executions.values().any(|e| e.pipeline == pipeline) {
        return Err(err(
            "PipelineNotFoundException",
            format!("The pipeline {pipeline} was not found."),
        ));
    }
    let previous = store.stop_request(&id);
    let Some(execution) = store
        .executions
        .get_mut(&id)
        .filter(|e| e.pipeline == pipeline)
    else {
        return Err(err(
            "PipelineExecutionNotStoppableException",
            format!("The execution {id} of pipeline {pipeline} was not found."),
        ));
    };
    match (execution.status, previous) {
        (ExecutionStatus::InProgress, _) => {}
        (ExecutionStatus::Stopping, Some(previous)) if stop.abandon && !previous.abandon => {}
        (ExecutionStatus::Stopping, _) => {
            return Err(err(
                "DuplicatedStopRequestException",
                format!(
                    "The execution {id} is already Stopping; only a stop-and-wait can be \
                     followed by an abandon."
                ),
            ));
        }
        (status, _) => {
            return Err(err(
                "PipelineExecutionNotStoppableException",
                format!(
                    "The execution {id} is {} and can no longer be stopped.",
                    status.as_str()
                ),
            ));
        }
    }
    execution.status = ExecutionStatus::Stopping;
    execution.updated = SystemTime::now();
    if stop.reason.is_some() {
        execution.status_summary = stop.reason.clone();
    }
    store.request_stop(&id, stop);
    Ok(json!({ "pipelineExecutionId": id }))
}

fn epoch(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| (d.as_millis() as f64) / 1000.0)
        .unwrap_or(0.0)
}

fn get_pipeline_execution(store: &Store, request: &Value) -> Result<Value, ApiError> {
    let e = execution(store, request)?;
    let summary =
        json!({"ProviderType": "GitHub", "CommitMessage": e.revision.message}).to_string();
    let mut execution = json!({
        "pipelineName": e.pipeline,
        "pipelineVersion": 1,
        "pipelineExecutionId": e.id,
        "status": e.status.as_str(),
        "artifactRevisions": [{
            "name": e.revision.artifact,
            "revisionId": e.revision.revision_id,
            "revisionSummary": summary,
            "created": e.revision.created.map(epoch),
        }],
        "trigger": {"triggerType": "StartPipelineExecution", "triggerDetail": "local run"},
        "executionMode": "SUPERSEDED",
        "executionType": "STANDARD",
    });
    if let Some(s) = &e.status_summary {
        execution["statusSummary"] = Value::from(s.as_str());
    }
    Ok(json!({ "pipelineExecution": execution }))
}

fn list_action_executions(store: &Store, request: &Value) -> Result<Value, ApiError> {
    let e = execution(store, request)?;
    let max = match request["maxResults"].as_u64() {
        None => MAX_RESULTS,
        Some(n @ 1..=100) => n as usize,
        Some(_) => {
            return Err(err(
                "ValidationException",
                "`maxResults` must be within 1 and 100",
            ));
        }
    };
    let start = match request["nextToken"].as_str() {
        None => 0,
        Some(token) => token
            .parse::<usize>()
            .ok()
            .filter(|&n| n <= e.actions.len())
            .ok_or_else(|| {
                err(
                    "InvalidNextTokenException",
                    "The next token was specified in an invalid format.",
                )
            })?,
    };
    // Newest first, as CodePipeline lists them.
    let mut actions: Vec<&ActionExecution> = e.actions.iter().collect();
    actions.sort_by_key(|a| std::cmp::Reverse(a.started));
    let page: Vec<Value> = actions
        .iter()
        .skip(start)
        .take(max)
        .map(|a| action_detail(e, a))
        .collect();
    let mut response = json!({ "actionExecutionDetails": page });
    if start + max < actions.len() {
        response["nextToken"] = Value::from((start + max).to_string());
    }
    Ok(response)
}

fn string_map(map: &BTreeMap<String, String>) -> Value {
    Value::Object(
        map.iter()
            .map(|(k, v)| (k.clone(), Value::from(v.as_str())))
            .collect::<Map<String, Value>>(),
    )
}

fn action_detail(e: &Execution, a: &ActionExecution) -> Value {
    let artifacts = |list: &[crate::store::ArtifactLocation]| {
        list.iter()
            .map(|l| json!({"name": l.name, "s3location": {"bucket": l.bucket, "key": l.key}}))
            .collect::<Vec<_>>()
    };
    let mut result = Map::new();
    if let Some(id) = &a.external_id {
        result.insert("externalExecutionId".into(), Value::from(id.as_str()));
    }
    if let Some(summary) = &a.summary {
        result.insert(
            "externalExecutionSummary".into(),
            Value::from(summary.as_str()),
        );
    }
    if let Some(error) = &a.error {
        result.insert(
            "errorDetails".into(),
            json!({"code": error.code, "message": error.message}),
        );
    }
    let mut input = json!({
        "actionTypeId": {"category": a.category, "owner": a.owner, "provider": a.provider, "version": a.version},
        "configuration": string_map(&a.configuration),
        "resolvedConfiguration": string_map(&a.resolved_configuration),
        "region": e.region,
        "inputArtifacts": artifacts(&a.input_artifacts),
    });
    if let Some(ns) = &a.namespace {
        input["namespace"] = Value::from(ns.as_str());
    }
    json!({
        "pipelineExecutionId": e.id,
        "actionExecutionId": a.id,
        "pipelineVersion": 1,
        "stageName": a.stage,
        "actionName": a.action,
        "startTime": epoch(a.started),
        "lastUpdateTime": epoch(a.updated),
        "status": a.status.as_str(),
        "input": input,
        "output": {
            "outputArtifacts": artifacts(&a.output_artifacts),
            "executionResult": Value::Object(result),
            "outputVariables": string_map(&a.output_variables),
        },
    })
}
