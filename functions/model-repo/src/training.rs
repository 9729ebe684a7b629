//! The training request of a commit: the model repository's trainingjob.json, placeholders
//! filled, checked, and completed with what the pipeline owns (name and lineage tags).

use config_file::{Diagnostic, Diagnostics, Document, JsonPath};
use sagemaker_requests::CreateTrainingJobRequest;

use crate::naming;
use crate::placeholders::Placeholders;
use crate::settings::{ACTION_WINDOW_SECONDS, Settings};

/// SageMaker accepts at most 50 tags on a training job.
const MAX_TAGS: usize = 50;

/// Parses and checks `text` (the file at `file`) into the request the pipeline will send.
/// Every problem found is reported with its path, line and column.
pub fn load(
    file: &str,
    text: &str,
    placeholders: &Placeholders,
) -> Result<CreateTrainingJobRequest, Diagnostics> {
    let mut doc = Document::parse(file, text)?;
    placeholders.fill(&mut doc)?;
    let request = sagemaker_requests::training_job::load(&doc)?;
    let mut problems = required_by_the_pipeline(&doc, &request);
    problems.extend(action_window(&doc, &request));
    problems.extend(room_for_lineage(&doc, &request));
    if problems.is_empty() {
        Ok(request)
    } else {
        Err(Diagnostics(problems))
    }
}

/// What the API model leaves optional but a training job of this pipeline needs: an algorithm
/// (tuning derives its definition from it) and instances to run on.
fn required_by_the_pipeline(doc: &Document, request: &CreateTrainingJobRequest) -> Vec<Diagnostic> {
    let mut problems = Vec::new();
    if request.algorithm_specification.is_none() && request.serverless_job_config.is_none() {
        problems.push(doc.diagnostic(
            &JsonPath::root(),
            "AlgorithmSpecification is missing",
            Some(
                r#"add "AlgorithmSpecification": {"TrainingImage": "<image URI>", "TrainingInputMode": "File"}"#.to_owned(),
            ),
        ));
    }
    if let Some(resources) = &request.resource_config
        && resources
            .instance_groups
            .as_ref()
            .is_none_or(|g| g.is_empty())
    {
        let path = JsonPath::root().key("ResourceConfig");
        if resources.instance_count.is_some_and(|n| n < 1) {
            problems.push(doc.diagnostic(
                &path.key("InstanceCount"),
                "InstanceCount must be at least 1 when no InstanceGroups are given",
                Some("write 1, or \"${InstanceCount}\" for the pipeline's setting".to_owned()),
            ));
        }
        if resources.instance_type.is_none() {
            problems.push(doc.diagnostic(
                &path,
                "ResourceConfig has neither InstanceType nor InstanceGroups",
                Some("add \"InstanceType\": \"${InstanceType}\"".to_owned()),
            ));
        }
    }
    problems
}

/// The Tune action follows the training job and CodePipeline gives an action 24 hours in all.
fn action_window(doc: &Document, request: &CreateTrainingJobRequest) -> Vec<Diagnostic> {
    let stopping = request.stopping_condition.as_ref();
    let limits = [
        (
            "MaxRuntimeInSeconds",
            stopping
                .and_then(|s| s.max_runtime_in_seconds)
                .map(i64::from),
        ),
        (
            "MaxWaitTimeInSeconds",
            stopping
                .and_then(|s| s.max_wait_time_in_seconds)
                .map(i64::from),
        ),
    ];
    limits
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
        .collect()
}

/// The pipeline adds its lineage tags to the user's.
fn room_for_lineage(doc: &Document, request: &CreateTrainingJobRequest) -> Option<Diagnostic> {
    let own = request
        .tags
        .iter()
        .flatten()
        .filter(|t| !naming::LINEAGE.contains(&t.key.as_str()))
        .count();
    (own + naming::LINEAGE.len() > MAX_TAGS).then(|| {
        doc.diagnostic(
            &JsonPath::root().key("Tags"),
            format!("{own} Tags and the pipeline's {} lineage tags are more than SageMaker's {MAX_TAGS}", naming::LINEAGE.len()),
            Some(format!("keep at most {} Tags", MAX_TAGS - naming::LINEAGE.len())),
        )
    })
}

/// Sets the pipeline's job name and adds the lineage tags (replacing user tags of the same keys).
pub fn complete(
    mut request: CreateTrainingJobRequest,
    name: &str,
    settings: &Settings,
    job_id: &str,
) -> CreateTrainingJobRequest {
    request.training_job_name = Some(name.to_owned());
    request.tags = Some(naming::with_lineage(request.tags.take(), settings, job_id));
    request
}
