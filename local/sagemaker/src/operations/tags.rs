//! ListTags and AddTags for this service's own training and tuning jobs. Tags of any other
//! resource (model packages, ...) belong to the forward endpoint.

use axum::response::Response;
use sagemaker_requests::Tag;
use serde::Deserialize;
use serde_json::json;

use super::page;
use crate::protocol::{self, ApiError, json_response};
use crate::service::Service;

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

/// The tags of one of our jobs, by ARN.
fn tags_of<'a>(store: &'a mut crate::state::Store, arn: &str) -> Option<&'a mut Vec<Tag>> {
    if let Some(job) = store.training.values_mut().find(|j| j.arn == arn) {
        return Some(&mut job.tags);
    }
    store
        .tuning
        .values_mut()
        .find(|j| j.arn == arn)
        .map(|j| &mut j.tags)
}

/// `None` when the ARN is not one of this service's jobs.
pub fn serve(
    service: &Service,
    operation: &str,
    body: &[u8],
) -> Option<Result<Response, ApiError>> {
    if operation == "ListTags" {
        let request: ListTags = match protocol::parse(body) {
            Ok(request) => request,
            Err(e) => return Some(Err(e)),
        };
        let mut store = service.store();
        let tags = tags_of(&mut store, &request.resource_arn)?.clone();
        Some(
            page(
                tags,
                request.next_token.as_deref(),
                request.max_results.or(Some(50)),
            )
            .map(|(tags, next_token)| {
                let mut answer = json!({ "Tags": tags });
                if let Some(token) = next_token {
                    answer["NextToken"] = json!(token);
                }
                json_response(&answer)
            }),
        )
    } else {
        let request: AddTags = match protocol::parse(body) {
            Ok(request) => request,
            Err(e) => return Some(Err(e)),
        };
        let mut store = service.store();
        let tags = tags_of(&mut store, &request.resource_arn)?;
        for tag in &request.tags {
            match tags.iter_mut().find(|t| t.key == tag.key) {
                Some(existing) => existing.value.clone_from(&tag.value),
                None => tags.push(tag.clone()),
            }
        }
        Some(Ok(json_response(&json!({ "Tags": request.tags }))))
    }
}
