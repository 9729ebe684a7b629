//! The training request of a commit: the model repository's trainingjob.json, placeholders
//! filled, checked, and completed with what the pipeline owns (name and lineage tags).

use config_file::{Diagnostics, Document, JsonPath};
use sagemaker_requests::CreateTrainingJobRequest;
use sagemaker_requests::generated::Tag;

use crate::naming::{self, tag};
use crate::placeholders::Placeholders;
use crate::settings::{ACTION_WINDOW_SECONDS, Settings};

/// SageMaker accepts at most 50 tags on a training job.
const MAX_TAGS: usize = 50;

/// Parses and checks `text` (the file at `file`) into the request the pipeline will send.
/// Every problem found is reported with its path, line and column.
pub fn load(file: &str, text: &str, placeholders: &Placeholders) -> Result<CreateTrainingJobRequest, Diagnostics> {
    let mut doc = Document::parse(file, text)?;
    placeholders.fill(&mut doc)?;
    let request = sagemaker_requests::training_job::load(&doc)?;
    check_action_window(&doc, &request)?;
    Ok(request)
}

/// The Tune action follows the training job and CodePipeline gives an action 24 hours in all.
fn check_action_window(doc: &Document, request: &CreateTrainingJobRequest) -> Result<(), Diagnostics> {
    let stopping = &request.stopping_condition;
    let limits = [
        ("MaxRuntimeInSeconds", stopping.max_runtime_in_seconds.map(i64::from)),
        ("MaxWaitTimeInSeconds", stopping.max_wait_time_in_seconds.map(i64::from)),
    ];
    let problems: Vec<_> = limits
        .into_iter()
        .filter_map(|(field, value)| value.filter(|v| *v > ACTION_WINDOW_SECONDS).map(|v| (field, v)))
        .map(|(field, value)| {
            let path = JsonPath::root().key("StoppingCondition").key(field);
            doc.diagnostic(
                &path,
                format!("{field} is {value} s, longer than the 24 hours CodePipeline waits for an action"),
                Some(format!(
                    "write at most {ACTION_WINDOW_SECONDS} (or \"${{MaxRuntimeInSeconds}}\" to use the pipeline's setting)"
                )),
            )
        })
        .collect();
    if problems.is_empty() { Ok(()) } else { Err(Diagnostics(problems)) }
}

/// Sets the pipeline's job name and adds the lineage tags (replacing user tags of the same keys).
pub fn complete(
    mut request: CreateTrainingJobRequest,
    name: &str,
    settings: &Settings,
    job_id: &str,
) -> Result<CreateTrainingJobRequest, String> {
    request.training_job_name = Some(name.to_owned());
    let lineage = [
        (tag::REPOSITORY, settings.repository.as_deref()),
        (tag::BRANCH, settings.branch.as_deref()),
        (tag::COMMIT, Some(settings.commit_id.as_str())),
        (tag::EXECUTION, Some(settings.execution_id.as_str())),
        (tag::JOB, Some(job_id)),
    ];
    let mut tags = request.tags.take().unwrap_or_default();
    tags.retain(|t| !lineage.iter().any(|(key, _)| t.key == *key));
    tags.extend(
        lineage
            .iter()
            .filter_map(|(key, value)| value.filter(|v| !v.is_empty()).map(|v| (key, v)))
            .map(|(key, value)| Tag { key: (*key).to_owned(), value: naming::tag_value(value) }),
    );
    if tags.len() > MAX_TAGS {
        return Err(format!(
            "trainingjob.json has {} Tags; with the pipeline's {} lineage tags that is more than SageMaker's {MAX_TAGS}",
            tags.len() - lineage.len(),
            lineage.len()
        ));
    }
    request.tags = Some(tags);
    Ok(request)
}
