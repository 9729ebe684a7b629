//! ListTags and AddTags for training and tuning jobs and endpoints, which are this service's.
//! Tags of any other resource (model packages, ...) belong to the forward endpoint.

use axum::response::Response;
use sagemaker_requests::Tag;
use serde::Deserialize;
use serde_json::json;

use super::page;
use crate::protocol::{self, ApiError, json_response};
use crate::service::Service;
use crate::state::Store;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct ListTags {
    resource_arn: String,
    next_token: Option<String>,
    max_results: Option<i32>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct AddTags {
    resource_arn: String,
    tags: Vec<Tag>,
}

/// ListTags' page size when the request gives none.
const DEFAULT_MAX_TAGS: i32 = 50;

/// Whether the ARN names a job or an endpoint of this service's account and region.
fn is_own_arn(service: &Service, arn: &str) -> bool {
    ["training-job", "hyper-parameter-tuning-job", "endpoint"]
        .iter()
        .any(|kind| arn.starts_with(&service.settings.arn(kind, "")))
}

/// Applies `change` to the tags of the resource `arn`.
fn with_tags<T>(
    service: &Service,
    arn: &str,
    change: impl FnOnce(&mut Vec<Tag>) -> T,
) -> Result<T, ApiError> {
    if arn.starts_with(&service.settings.arn("endpoint", "")) {
        let mut hosting = service.hosting();
        if let Some(endpoint) = hosting.endpoints.values_mut().find(|e| e.arn == arn) {
            return Ok(change(&mut endpoint.tags));
        }
    } else {
        let mut store = service.store();
        let store: &mut Store = &mut store;
        if let Some(job) = store.training.values_mut().find(|j| j.arn == arn) {
            return Ok(change(&mut job.tags));
        }
        if let Some(job) = store.tuning.values_mut().find(|j| j.arn == arn) {
            return Ok(change(&mut job.tags));
        }
    }
    Err(ApiError::validation(format!(
        "Requested resource not found: {arn}"
    )))
}

/// `None` when the ARN is not a job's: the request goes to the forward endpoint.
pub fn serve(
    service: &Service,
    operation: &str,
    body: &[u8],
) -> Option<Result<Response, ApiError>> {
    let result = if operation == "ListTags" {
        let request: ListTags = match protocol::parse(body) {
            Ok(request) => request,
            Err(e) => return Some(Err(e)),
        };
        if !is_own_arn(service, &request.resource_arn) {
            return None;
        }
        list(service, &request)
    } else {
        let request: AddTags = match protocol::parse(body) {
            Ok(request) => request,
            Err(e) => return Some(Err(e)),
        };
        if !is_own_arn(service, &request.resource_arn) {
            return None;
        }
        add(service, &request)
    };
    Some(result)
}

fn list(service: &Service, request: &ListTags) -> Result<Response, ApiError> {
    let tags = with_tags(service, &request.resource_arn, |tags| tags.clone())?;
    let max = request.max_results.or(Some(DEFAULT_MAX_TAGS));
    let (tags, next_token) = page(tags, request.next_token.as_deref(), max)?;
    let mut answer = json!({ "Tags": tags });
    if let Some(token) = next_token {
        answer["NextToken"] = json!(token);
    }
    Ok(json_response(&answer))
}

fn add(service: &Service, request: &AddTags) -> Result<Response, ApiError> {
    with_tags(service, &request.resource_arn, |tags| {
        for tag in &request.tags {
            match tags.iter_mut().find(|t| t.key == tag.key) {
                Some(existing) => existing.value.clone_from(&tag.value),
                None => tags.push(tag.clone()),
            }
        }
    })?;
    Ok(json_response(&json!({ "Tags": request.tags })))
}
