//! The Runtime API endpoints a runtime client (lambda_runtime) calls, for one process.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tokio::sync::{mpsc, oneshot};

use crate::FunctionError;

/// An event waiting for the function's `/next`.
pub(crate) struct Queued {
    pub(crate) request_id: String,
    pub(crate) body: Bytes,
    pub(crate) delivered: oneshot::Sender<Instant>,
    pub(crate) reply: oneshot::Sender<(Reply, Instant)>,
}

pub(crate) enum Reply {
    Response(Bytes),
    Error(FunctionError),
}

pub(crate) struct GenState {
    timeout: Duration,
    function_arn: String,
    sender: mpsc::UnboundedSender<Queued>,
    receiver: tokio::sync::Mutex<mpsc::UnboundedReceiver<Queued>>,
    in_flight: Mutex<HashMap<String, oneshot::Sender<(Reply, Instant)>>>,
    init_error: Mutex<Option<oneshot::Sender<FunctionError>>>,
}

impl GenState {
    pub(crate) fn new(
        timeout: Duration,
        function_arn: String,
        init_error: oneshot::Sender<FunctionError>,
    ) -> GenState {
        let (sender, receiver) = mpsc::unbounded_channel();
        GenState {
            timeout,
            function_arn,
            sender,
            receiver: tokio::sync::Mutex::new(receiver),
            in_flight: Mutex::new(HashMap::new()),
            init_error: Mutex::new(Some(init_error)),
        }
    }

    pub(crate) fn queue(&self, queued: Queued) {
        // The receiver lives in `self`: sending cannot fail.
        let _ = self.sender.send(queued);
    }
}

pub(crate) fn router(state: Arc<GenState>) -> Router {
    Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next))
        .route(
            "/2018-06-01/runtime/invocation/{id}/response",
            post(response),
        )
        .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
        .route("/2018-06-01/runtime/init/error", post(init_error))
        .with_state(state)
}

fn epoch_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis()
}

async fn next(State(state): State<Arc<GenState>>) -> Response {
    let queued = state.receiver.lock().await.recv().await;
    let Some(queued) = queued else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "host stopped").into_response();
    };
    let now = epoch_ms();
    let deadline = now + state.timeout.as_millis();
    let trace_id = format!(
        "Root=1-{:08x}-{:024x};Parent={:016x};Sampled=0",
        now / 1000,
        now ^ 0x5eed_u128,
        now & 0xffff_ffff_ffff_ffff
    );
    state
        .in_flight
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(queued.request_id.clone(), queued.reply);
    let _ = queued.delivered.send(Instant::now());
    let headers = [
        ("content-type", "application/json".to_owned()),
        ("lambda-runtime-aws-request-id", queued.request_id),
        ("lambda-runtime-deadline-ms", deadline.to_string()),
        (
            "lambda-runtime-invoked-function-arn",
            state.function_arn.clone(),
        ),
        ("lambda-runtime-trace-id", trace_id),
    ];
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        if let Ok(value) = value.parse() {
            map.insert(name, value);
        }
    }
    (StatusCode::OK, map, queued.body).into_response()
}

fn accepted() -> Response {
    (
        StatusCode::ACCEPTED,
        [("content-type", "application/json")],
        r#"{"status":"OK"}"#,
    )
        .into_response()
}

fn reply(state: &GenState, id: &str, reply: Reply) -> Response {
    let sender = state
        .in_flight
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .remove(id);
    match sender {
        Some(sender) => {
            let _ = sender.send((reply, Instant::now()));
            accepted()
        }
        None => (
            StatusCode::BAD_REQUEST,
            [("content-type", "application/json")],
            r#"{"errorType":"InvalidRequestID","errorMessage":"unknown or already answered request id"}"#,
        )
            .into_response(),
    }
}

async fn response(
    State(state): State<Arc<GenState>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    reply(&state, &id, Reply::Response(body))
}

/// The body is a diagnostic (`{"errorType", "errorMessage"}`); anything else is kept as the message.
fn function_error(headers: &HeaderMap, body: &Bytes) -> FunctionError {
    let header_type = headers
        .get("lambda-runtime-function-error-type")
        .and_then(|value| value.to_str().ok())
        .unwrap_or("Unhandled")
        .to_owned();
    match serde_json::from_slice::<FunctionError>(body) {
        Ok(mut error) => {
            if error.error_type.is_empty() {
                error.error_type = header_type;
            }
            error
        }
        Err(_) => FunctionError {
            error_type: header_type,
            error_message: String::from_utf8_lossy(body).into_owned(),
        },
    }
}

async fn error(
    State(state): State<Arc<GenState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let error = function_error(&headers, &body);
    reply(&state, &id, Reply::Error(error))
}

async fn init_error(
    State(state): State<Arc<GenState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let error = function_error(&headers, &body);
    tracing::warn!(%error, "function init error");
    let sender = state
        .init_error
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take();
    if let Some(sender) = sender {
        let _ = sender.send(error);
    }
    accepted()
}
