//! The SageMaker Model Registry: the group of the repository, its latest Approved model, and the
//! registration of a candidate that passed the gate.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_sagemaker::Client as SageMaker;
use aws_sdk_sagemaker::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sagemaker::types::{
    InferenceSpecification, ModelApprovalStatus, ModelPackageContainerDefinition,
    ModelPackageSortBy, SortOrder, Tag,
};
use pipeline_core::{JobError, aws_error};

/// What to change when SageMaker refuses a registration.
const FIX: &str = "Fix Inference in configuration/evaluation.json";
use sha2::{Digest, Sha256};

use crate::metadata::METRIC_PREFIX;
use crate::verdict::Approved;

/// `<prefix>-<owner>-<repository>`, a valid group name (at most 63 characters).
pub fn group_name(prefix: &str, repository: Option<&str>) -> String {
    let raw = format!("{prefix}-{}", repository.unwrap_or("model"));
    let mut name = String::new();
    for c in raw.chars() {
        if c.is_ascii_alphanumeric() {
            name.push(c);
        } else if !name.is_empty() && !name.ends_with('-') {
            name.push('-');
        }
    }
    name.truncate(63);
    let name = name.trim_end_matches('-');
    if name.is_empty() {
        "models".to_owned()
    } else {
        name.to_owned()
    }
}

/// The latest Approved model of `group`, or `None` for the first model ever.
pub async fn latest_approved(
    sagemaker: &SageMaker,
    group: &str,
) -> Result<Option<Approved>, JobError> {
    let listed = sagemaker
        .list_model_packages()
        .model_package_group_name(group)
        .model_approval_status(ModelApprovalStatus::Approved)
        .sort_by(ModelPackageSortBy::CreationTime)
        .sort_order(SortOrder::Descending)
        .max_results(1)
        .send()
        .await;
    let listed = match listed {
        Ok(listed) => listed,
        // No group yet: nothing was ever approved.
        Err(err) if is_not_found(&err) => return Ok(None),
        Err(err) => return Err(aws_error("ListModelPackages", &err, FIX)),
    };
    let Some(arn) = listed
        .model_package_summary_list()
        .first()
        .and_then(|p| p.model_package_arn())
    else {
        return Ok(None);
    };
    let described = sagemaker
        .describe_model_package()
        .model_package_name(arn)
        .send()
        .await
        .map_err(|e| aws_error("DescribeModelPackage", &e, FIX))?;
    let metrics = described
        .customer_metadata_properties()
        .into_iter()
        .flatten()
        .filter(|(k, _)| k.starts_with(METRIC_PREFIX))
        .filter_map(|(k, v)| Some((k.clone(), v.parse::<f64>().ok()?)))
        .collect::<BTreeMap<_, _>>();
    Ok(Some(Approved {
        arn: arn.to_owned(),
        metrics,
    }))
}

/// What a registration says about the model.
pub struct Registration<'a> {
    pub group: &'a str,
    pub image: &'a str,
    pub model_data_url: &'a str,
    pub environment: &'a HashMap<String, String>,
    pub content_types: &'a [String],
    pub response_types: &'a [String],
    pub approval: ModelApprovalStatus,
    pub description: String,
    /// Metrics (`metric:<name>`) and lineage (`pipeline:*`) recorded on the package.
    pub metadata: HashMap<String, String>,
    /// Same for every delivery of one evaluation, so SageMaker registers it once.
    pub idempotency: String,
    pub tags: Vec<(String, String)>,
}

/// Registers the model (creating the group when absent) and returns the package ARN.
pub async fn register(sagemaker: &SageMaker, r: Registration<'_>) -> Result<String, JobError> {
    ensure_group(sagemaker, r.group, &r.tags).await?;
    let container = ModelPackageContainerDefinition::builder()
        .image(r.image)
        .model_data_url(r.model_data_url)
        .set_environment((!r.environment.is_empty()).then(|| r.environment.clone()))
        .build();
    let inference = InferenceSpecification::builder()
        .containers(container)
        .set_supported_content_types(Some(r.content_types.to_vec()))
        .set_supported_response_mime_types(Some(r.response_types.to_vec()))
        .build();
    let created = sagemaker
        .create_model_package()
        .model_package_group_name(r.group)
        .model_package_description(pipeline_core::limits::truncate(&r.description, 1000))
        .inference_specification(inference)
        .model_approval_status(r.approval)
        .set_customer_metadata_properties(Some(r.metadata))
        .client_token(token(&r.idempotency))
        .send()
        .await
        .map_err(|e| aws_error("CreateModelPackage", &e, FIX))?;
    created
        .model_package_arn()
        .map(str::to_owned)
        .ok_or_else(|| JobError::system("CreateModelPackage returned no ARN"))
}

/// Takes back a registration whose pipeline action failed after all, so that it never becomes a
/// regression baseline or a deployment; returns the sentence for the failure message.
pub async fn reject(sagemaker: &SageMaker, arn: &str, reason: &str) -> String {
    let rejected = sagemaker
        .update_model_package()
        .model_package_arn(arn)
        .model_approval_status(ModelApprovalStatus::Rejected)
        .approval_description(pipeline_core::limits::truncate(
            &format!("The pipeline action that registered it failed: {reason}"),
            1000,
        ))
        .send()
        .await;
    match rejected {
        Ok(_) => format!("The model package {arn} it had registered was set to Rejected."),
        Err(err) => format!(
            "Setting the model package {arn} it had registered to Rejected failed ({}); reject it \
             in the Model Registry, or it counts as approved.",
            aws_sdk_sagemaker::error::DisplayErrorContext(&err)
        ),
    }
}

async fn ensure_group(
    sagemaker: &SageMaker,
    group: &str,
    tags: &[(String, String)],
) -> Result<(), JobError> {
    match sagemaker
        .describe_model_package_group()
        .model_package_group_name(group)
        .send()
        .await
    {
        Ok(_) => return Ok(()),
        Err(err) if is_not_found(&err) => {}
        Err(err) => return Err(aws_error("DescribeModelPackageGroup", &err, FIX)),
    }
    let tags: Vec<Tag> = tags
        .iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect();
    let created = sagemaker
        .create_model_package_group()
        .model_package_group_name(group)
        .model_package_group_description(
            "Models of this repository registered by its CI/CD pipeline",
        )
        .set_tags(Some(tags))
        .send()
        .await;
    match created {
        Ok(_) => Ok(()),
        // Another evaluation created it in between.
        Err(err) if err.message().is_some_and(|m| m.contains("already exists")) => Ok(()),
        Err(err) => Err(aws_error("CreateModelPackageGroup", &err, FIX)),
    }
}

/// SageMaker answers an unknown group with ValidationException or ResourceNotFound.
fn is_not_found<E: ProvideErrorMetadata>(err: &SdkError<E>) -> bool {
    matches!(err.code(), Some("ResourceNotFound" | "ValidationException"))
        && err
            .message()
            .is_none_or(|m| m.contains("not") || m.contains("exist"))
}

/// ClientToken: 1-36 characters of `[a-zA-Z0-9-]`.
fn token(seed: &str) -> String {
    Sha256::digest(seed.as_bytes())
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_names_are_valid() {
        assert_eq!(
            group_name("sagemaker-cicd", Some("example-org/churn-model")),
            "sagemaker-cicd-example-org-churn-model"
        );
        assert_eq!(group_name("p", None), "p-model");
        let long = group_name("stack", Some(&"x".repeat(100)));
        assert!(long.len() <= 63 && !long.ends_with('-'));
    }

    #[test]
    fn tokens_fit_client_token() {
        let t = token("exec/job");
        assert_eq!(t.len(), 32);
        assert!(t.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(t, token("exec/job"));
    }
}
