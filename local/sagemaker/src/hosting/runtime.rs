//! The SageMaker runtime API (restJson1, as aws-sdk-sagemakerruntime and the AWS CLI speak
//! it): `POST /endpoints/<name>/invocations`, answered with the model's own bytes, or with
//! the error SageMaker gives (`ModelError` for the model's non-200 answers and failures).

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::cloudwatch::Invocation;
use super::fleet::Fleet;
use super::records::EndpointStatus;
use crate::service::Service;

/// SageMaker's limit on an invocation's payload: 6 MB.
pub const MAX_PAYLOAD: usize = 6 * 1024 * 1024;

const TARGET_VARIANT: &str = "x-amzn-sagemaker-target-variant";
const INVOKED_VARIANT: &str = "x-amzn-invoked-production-variant";
const CUSTOM_ATTRIBUTES: &str = "x-amzn-sagemaker-custom-attributes";

/// An error of the runtime API.
#[derive(Debug)]
struct RuntimeError {
    status: StatusCode,
    code: &'static str,
    body: serde_json::Value,
}

impl RuntimeError {
    fn validation(message: String) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            code: "ValidationError",
            body: json!({ "Message": message }),
        }
    }
}

impl IntoResponse for RuntimeError {
    fn into_response(self) -> Response {
        let mut response = (self.status, self.body.to_string()).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        headers.insert("x-amzn-errortype", HeaderValue::from_static(self.code));
        response
    }
}

pub async fn invoke_endpoint(
    State(service): State<Arc<Service>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    invoke(&service, &name, headers, body)
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

async fn invoke(
    service: &Service,
    name: &str,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, RuntimeError> {
    if body.len() > MAX_PAYLOAD {
        return Err(RuntimeError::validation(format!(
            "The request payload is {} bytes; the maximum for InvokeEndpoint is {MAX_PAYLOAD} \
             bytes (6 MB)",
            body.len()
        )));
    }
    let target = headers.get(TARGET_VARIANT).and_then(|v| v.to_str().ok());
    let fleet = route(service, name, target)?;
    let variant = match target {
        Some(target) => fleet.variant(target),
        None => fleet.pick(),
    }
    .ok_or_else(|| RuntimeError::validation(format!("Endpoint {name} has no variant")))?;

    let mut forwarded = HeaderMap::new();
    for (key, default) in [
        (header::CONTENT_TYPE, "application/json"),
        (header::ACCEPT, "*/*"),
    ] {
        let value = headers
            .get(&key)
            .cloned()
            .unwrap_or(HeaderValue::from_static(default));
        forwarded.insert(key, value);
    }
    if let Some(attributes) = headers.get(CUSTOM_ATTRIBUTES) {
        forwarded.insert(CUSTOM_ATTRIBUTES, attributes.clone());
    }

    let started = Instant::now();
    let at = SystemTime::now();
    let answer = variant
        .server
        .invoke(
            &service.model_client,
            forwarded,
            body,
            service.settings.invocation_timeout,
        )
        .await;
    let model_latency = started.elapsed();
    if let Some(cloudwatch) = &service.cloudwatch {
        cloudwatch.record(Invocation {
            endpoint: name.to_owned(),
            variant: variant.name.clone(),
            status: answer.as_ref().ok().map(|a| a.status.as_u16()),
            model_latency,
            at,
        });
    }
    let answer = answer.map_err(|e| model_error(service, name, 0, &e.to_string()))?;
    if answer.status != StatusCode::OK {
        let text = String::from_utf8_lossy(&answer.body);
        return Err(model_error(service, name, answer.status.as_u16(), &text));
    }
    let mut response = Response::new(Body::from(answer.body));
    let out = response.headers_mut();
    out.insert(
        header::CONTENT_TYPE,
        answer
            .headers
            .get(header::CONTENT_TYPE)
            .cloned()
            .unwrap_or(HeaderValue::from_static("application/json")),
    );
    if let Ok(value) = HeaderValue::from_str(&variant.name) {
        out.insert(HeaderName::from_static(INVOKED_VARIANT), value);
    }
    if let Some(attributes) = answer.headers.get(CUSTOM_ATTRIBUTES) {
        out.insert(CUSTOM_ATTRIBUTES, attributes.clone());
    }
    Ok(response)
}

/// The fleet that serves this invocation: the endpoint must be in service (or updating,
/// rolling back: the old fleet serves); a TargetVariant picks the fleet that has it.
fn route(service: &Service, name: &str, target: Option<&str>) -> Result<Arc<Fleet>, RuntimeError> {
    let mut hosting = service.hosting();
    let not_found = || {
        RuntimeError::validation(format!(
            "Endpoint {name} of account {} not found.",
            service.settings.account_id
        ))
    };
    let endpoint = hosting.endpoint_mut(name).ok_or_else(not_found)?;
    if !matches!(
        endpoint.status,
        EndpointStatus::InService | EndpointStatus::Updating | EndpointStatus::RollingBack
    ) {
        return Err(RuntimeError::validation(format!(
            "Endpoint {name} is not in service: its status is {}. Wait for InService \
             (aws sagemaker wait endpoint-in-service --endpoint-name {name}).",
            endpoint.status.as_str()
        )));
    }
    match target {
        None => endpoint.route().ok_or_else(not_found),
        Some(target) => {
            let green = endpoint.pending.as_ref().and_then(|p| p.fleet.clone());
            [endpoint.fleet.clone(), green]
                .into_iter()
                .flatten()
                .find(|fleet| fleet.variant(target).is_some())
                .ok_or_else(|| {
                    RuntimeError::validation(format!(
                        "Variant {target} not found for endpoint {name}."
                    ))
                })
        }
    }
}

/// `ModelError` (424) as SageMaker words it: the model's status (0: no answer) and message.
fn model_error(service: &Service, endpoint: &str, status: u16, message: &str) -> RuntimeError {
    let settings = &service.settings;
    let log_group = format!(
        "arn:aws:logs:{}:{}:log-group:/aws/sagemaker/Endpoints/{endpoint}",
        settings.region, settings.account_id
    );
    let kind = if (400..500).contains(&status) {
        "client"
    } else {
        "server"
    };
    RuntimeError {
        status: StatusCode::FAILED_DEPENDENCY,
        code: "ModelError",
        body: json!({
            "Message": format!(
                "Received {kind} error ({status}) from primary with message \"{message}\". \
                 See {log_group} in account {} for more information.",
                settings.account_id
            ),
            "OriginalStatusCode": status,
            "OriginalMessage": message,
            "LogStreamArn": log_group,
        }),
    }
}
