//! One handler per operation this service serves; every other operation goes to the
//! forward endpoint (moto), or is refused when there is none.

mod hosting;
mod tags;
mod training;
mod tuning;

use std::sync::Arc;

use axum::body::Bytes;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};

use crate::protocol::{ApiError, ErrorCode, Timestamp};
use crate::service::Service;

/// The operations answered here (ListTags and AddTags for this service's own jobs).
pub const SERVED: &[&str] = &[
    "CreateTrainingJob",
    "DescribeTrainingJob",
    "StopTrainingJob",
    "ListTrainingJobs",
    "CreateHyperParameterTuningJob",
    "DescribeHyperParameterTuningJob",
    "StopHyperParameterTuningJob",
    "ListTrainingJobsForHyperParameterTuningJob",
    "ListHyperParameterTuningJobs",
    "CreateModel",
    "DescribeModel",
    "DeleteModel",
    "CreateEndpointConfig",
    "DescribeEndpointConfig",
    "DeleteEndpointConfig",
    "ListEndpointConfigs",
    "CreateEndpoint",
    "DescribeEndpoint",
    "UpdateEndpoint",
    "DeleteEndpoint",
    "ListEndpoints",
    "ListTags",
    "AddTags",
];

pub async fn dispatch(
    service: &Arc<Service>,
    operation: &str,
    headers: &HeaderMap,
    body: Bytes,
) -> Response {
    let result = match operation {
        "CreateTrainingJob" => training::create(service, &body),
        "DescribeTrainingJob" => training::describe(service, &body),
        "StopTrainingJob" => training::stop(service, &body),
        "ListTrainingJobs" => training::list(service, &body),
        "CreateHyperParameterTuningJob" => tuning::create(service, &body),
        "DescribeHyperParameterTuningJob" => tuning::describe(service, &body),
        "StopHyperParameterTuningJob" => tuning::stop(service, &body),
        "ListTrainingJobsForHyperParameterTuningJob" => tuning::list_training_jobs(service, &body),
        "ListHyperParameterTuningJobs" => tuning::list(service, &body),
        "CreateModel" => hosting::create_model(service, headers, &body).await,
        "DescribeModel" => hosting::describe_model(service, &body),
        "DeleteModel" => hosting::delete_model(service, &body),
        "CreateEndpointConfig" => hosting::create_endpoint_config(service, &body),
        "DescribeEndpointConfig" => hosting::describe_endpoint_config(service, &body),
        "DeleteEndpointConfig" => hosting::delete_endpoint_config(service, &body),
        "ListEndpointConfigs" => hosting::list_endpoint_configs(service, &body),
        "CreateEndpoint" => hosting::create_endpoint(service, &body),
        "DescribeEndpoint" => hosting::describe_endpoint(service, &body),
        "UpdateEndpoint" => hosting::update_endpoint(service, &body).await,
        "DeleteEndpoint" => hosting::delete_endpoint(service, &body),
        "ListEndpoints" => hosting::list_endpoints(service, &body),
        "ListTags" | "AddTags" => match tags::serve(service, operation, &body) {
            Some(result) => result,
            None => return forward(service, operation, headers, body).await,
        },
        _ => return forward(service, operation, headers, body).await,
    };
    result.unwrap_or_else(IntoResponse::into_response)
}

async fn forward(service: &Service, operation: &str, headers: &HeaderMap, body: Bytes) -> Response {
    match &service.forwarder {
        Some(forwarder) => forwarder.forward(headers, body).await,
        None => ApiError::new(
            ErrorCode::UnknownOperation,
            format!(
                "the local SageMaker does not serve {operation}; start it with \
                 --forward-endpoint <moto URL> to send such calls to moto"
            ),
        )
        .into_response(),
    }
}

/// The default page size of SageMaker's List operations.
const DEFAULT_MAX_RESULTS: i32 = 10;

/// One page of `items` from `next_token` (an offset this service handed out).
fn page<T>(
    items: Vec<T>,
    next_token: Option<&str>,
    max_results: Option<i32>,
) -> Result<(Vec<T>, Option<String>), ApiError> {
    let max = max_results.unwrap_or(DEFAULT_MAX_RESULTS);
    if !(1..=100).contains(&max) {
        return Err(ApiError::validation(format!(
            "1 validation error detected: Value '{max}' at 'maxResults' failed to satisfy \
             constraint: Member must have value between 1 and 100"
        )));
    }
    let start = match next_token.filter(|t| !t.is_empty()) {
        None => 0,
        Some(token) => token
            .parse::<usize>()
            .ok()
            .filter(|offset| *offset <= items.len())
            .ok_or_else(|| ApiError::validation(format!("invalid NextToken `{token}`")))?,
    };
    let end = (start + max as usize).min(items.len());
    let next = (end < items.len()).then(|| end.to_string());
    let page = items.into_iter().skip(start).take(end - start).collect();
    Ok((page, next))
}

/// The filters and the order that ListTrainingJobs and ListHyperParameterTuningJobs share.
struct JobQuery<'a> {
    name_contains: Option<&'a str>,
    status_equals: Option<&'a str>,
    creation_time_after: Option<Timestamp>,
    creation_time_before: Option<Timestamp>,
    last_modified_time_after: Option<Timestamp>,
    last_modified_time_before: Option<Timestamp>,
    sort_by: Option<&'a str>,
    sort_order: Option<&'a str>,
}

/// What a job shows to a [`JobQuery`].
trait Listed {
    fn name(&self) -> &str;
    fn status(&self) -> &'static str;
    fn created(&self) -> Timestamp;
    fn modified(&self) -> Timestamp;
}

impl JobQuery<'_> {
    /// The jobs that match, in the order asked for.
    fn select<'j, T: Listed>(
        &self,
        jobs: impl Iterator<Item = &'j T>,
    ) -> Result<Vec<&'j T>, ApiError> {
        let descending = descending(self.sort_order)?;
        let part = self.name_contains.map(str::to_ascii_lowercase);
        let mut jobs: Vec<&T> = jobs
            .filter(|j| {
                part.as_deref()
                    .is_none_or(|p| j.name().to_ascii_lowercase().contains(p))
                    && self.status_equals.is_none_or(|s| s == j.status())
                    && self.creation_time_after.is_none_or(|t| j.created() > t)
                    && self.creation_time_before.is_none_or(|t| j.created() < t)
                    && self
                        .last_modified_time_after
                        .is_none_or(|t| j.modified() > t)
                    && self
                        .last_modified_time_before
                        .is_none_or(|t| j.modified() < t)
            })
            .collect();
        match self.sort_by.unwrap_or("CreationTime") {
            "CreationTime" => {
                jobs.sort_by(|a, b| (a.created(), a.name()).cmp(&(b.created(), b.name())))
            }
            "Name" => jobs.sort_by(|a, b| a.name().cmp(b.name())),
            "Status" => jobs.sort_by_key(|j| (j.status(), j.created())),
            other => {
                return Err(ApiError::validation(format!(
                    "SortBy `{other}` is not Name, CreationTime or Status"
                )));
            }
        }
        if descending {
            jobs.reverse();
        }
        Ok(jobs)
    }
}

/// `SortOrder`: Ascending (the default) or Descending.
fn descending(sort_order: Option<&str>) -> Result<bool, ApiError> {
    match sort_order.unwrap_or("Ascending") {
        "Ascending" => Ok(false),
        "Descending" => Ok(true),
        other => Err(ApiError::validation(format!(
            "SortOrder `{other}` is not Ascending or Descending"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_follow_their_tokens_to_the_end() {
        let items: Vec<u32> = (0..25).collect();
        let (first, next) = page(items.clone(), None, None).unwrap();
        assert_eq!((first.len(), next.as_deref()), (10, Some("10")));
        let (second, _) = page(items.clone(), next.as_deref(), None).unwrap();
        assert_eq!(second[0], 10);
        let (last, next) = page(items.clone(), Some("20"), Some(100)).unwrap();
        assert_eq!((last, next), (vec![20, 21, 22, 23, 24], None));
        assert!(page(items.clone(), Some("x"), None).is_err());
        assert!(page(items.clone(), Some("26"), None).is_err());
        assert!(page(items, None, Some(0)).is_err());
    }

    #[test]
    fn sort_order_defaults_to_ascending() {
        assert!(!descending(None).unwrap());
        assert!(descending(Some("Descending")).unwrap());
        assert!(descending(Some("down")).is_err());
    }
}
