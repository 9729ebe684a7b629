//! CodePipeline's side of the functions: the local run's CodePipeline API
//! (`local_codepipeline::ApiServer`), with its checks (an unknown job, a second result for one
//! job, the documented limits). Every job is registered before its invocation, so a run that
//! never reports, or reports twice, is detected; notify's executions get a plausible five-stage
//! run for GetPipelineExecution and ListActionExecutions to read.

use std::collections::BTreeMap;
use std::sync::{Arc, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use local_codepipeline::{
    ActionExecution, ActionStatus, ApiServer, Execution, ExecutionStatus, Job, JobResult, Revision,
    SharedStore, Store,
};
use serde_json::Value;

pub struct BenchCodePipeline {
    store: SharedStore,
    api: ApiServer,
}

impl BenchCodePipeline {
    pub async fn start() -> std::io::Result<BenchCodePipeline> {
        let store = SharedStore::default();
        let api = ApiServer::start(Arc::clone(&store)).await?;
        Ok(BenchCodePipeline { store, api })
    }

    pub fn endpoint_url(&self) -> String {
        self.api.endpoint_url()
    }

    /// Makes what `event` is about known before it is delivered: its CodePipeline job, or (an
    /// EventBridge event for notify) its pipeline execution.
    pub fn expect(&self, event: &Value) {
        let mut store = self.store();
        if let Some(id) = event["CodePipeline.job"]["id"].as_str() {
            store.jobs.insert(id.to_owned(), Job::default());
        } else {
            let detail = &event["detail"];
            let id = detail["execution-id"].as_str().unwrap_or_default();
            let pipeline = detail["pipeline"].as_str().unwrap_or_default();
            store
                .executions
                .insert(id.to_owned(), sample_execution(pipeline, id));
        }
    }

    fn store(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The result `job_id` reported, and how many more it tried to report (refused).
    pub fn result(&self, job_id: &str) -> (Option<JobResult>, u32) {
        self.store()
            .jobs
            .get(job_id)
            .map_or((None, 0), |job| (job.result.clone(), job.refused))
    }
}

/// 2026-11-20T09:12:03Z, when the sample events' executions start.
const START: u64 = 1_795_165_923;
const COMMIT: &str = "9f2c1e4d0b7a5c3e1f2a4b6c8d0e1f2a3b4c5d6e";
const MESSAGE: &str = "Raise max_depth to 7 and add the tenure feature";

fn at(offset: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(START + offset)
}

fn vars(pairs: &[(&str, String)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

fn action(
    (stage, name, category, provider): (&str, &str, &str, &str),
    (start, end): (u64, u64),
    output_variables: BTreeMap<String, String>,
    summary: &str,
) -> ActionExecution {
    ActionExecution {
        id: format!("{stage}-1"),
        stage: stage.to_owned(),
        action: name.to_owned(),
        category: category.to_owned(),
        owner: "AWS".to_owned(),
        provider: provider.to_owned(),
        version: "1".to_owned(),
        namespace: None,
        configuration: BTreeMap::new(),
        resolved_configuration: BTreeMap::new(),
        input_artifacts: Vec::new(),
        output_artifacts: Vec::new(),
        started: at(start),
        updated: at(end),
        status: ActionStatus::Succeeded,
        summary: (!summary.is_empty()).then(|| summary.to_owned()),
        percent: None,
        external_id: None,
        error: None,
        output_variables,
    }
}

/// A succeeded run of the five stages, as the README's sample email shows it.
fn sample_execution(pipeline: &str, execution_id: &str) -> Execution {
    let training = "sagemaker-cicd-churn-sklearn-9f2c1e4-5d21a7b0";
    let tuning = "sagemaker-cicd-9f2c1e4-5d21a7b0";
    let best = "sagemaker-cicd-9f2c1e4-5d21a7b0-007-1c9e04f2";
    let actions = vec![
        action(
            ("Source", "Source", "Source", "CodeStarSourceConnection"),
            (0, 4),
            vars(&[
                ("AuthorDate", "2026-11-20T09:10:41Z".into()),
                ("BranchName", "main".into()),
                ("CommitId", COMMIT.into()),
                ("CommitMessage", MESSAGE.into()),
                ("FullRepositoryName", "example-org/churn-model".into()),
            ]),
            "GitHub",
        ),
        action(
            ("Build", "Build", "Build", "CodeBuild"),
            (5, 166),
            vars(&[(
                "SOURCE_DIR_URI",
                "s3://sagemaker-cicd-artifacts/source/9f2c1e4/sourcedir.tar.gz".into(),
            )]),
            "",
        ),
        action(
            ("Train", "StartTraining", "Invoke", "Lambda"),
            (167, 170),
            vars(&[
                ("TrainingJobName", training.into()),
                (
                    "TrainingJobArn",
                    format!("arn:aws:sagemaker:us-east-1:123456789012:training-job/{training}"),
                ),
                ("CommitId", COMMIT.into()),
            ]),
            &format!("Started training job {training} (ml.m4.xlarge) for commit 9f2c1e4"),
        ),
        action(
            ("Tune", "TrainAndTune", "Invoke", "Lambda"),
            (171, 4431),
            vars(&[
                ("TuningJobName", tuning.into()),
                ("CandidateTrainingJobName", best.into()),
                ("ObjectiveMetricName", "validation:auc".into()),
                ("ObjectiveMetricValue", "0.9134".into()),
                (
                    "ModelArtifactsUri",
                    format!("s3://sagemaker-cicd-artifacts/models/{best}/output/model.tar.gz"),
                ),
            ]),
            &format!("Best model of tuning job {tuning}: {best} with validation:auc = 0.9134"),
        ),
        action(
            ("Evaluate", "Evaluate", "Invoke", "Lambda"),
            (4432, 4444),
            vars(&[
                ("Verdict", "Passed".into()),
                ("MetricsSummary", "test:accuracy 0.9215 >= 0.9000 pass".into()),
                (
                    "ModelPackageArn",
                    "arn:aws:sagemaker:us-east-1:123456789012:model-package/example-org-churn-model/3"
                        .into(),
                ),
            ]),
            "Passed (Approved)",
        ),
    ];
    Execution {
        id: execution_id.to_owned(),
        pipeline: pipeline.to_owned(),
        region: "us-east-1".to_owned(),
        status: ExecutionStatus::Succeeded,
        status_summary: None,
        started: at(0),
        updated: at(4444),
        revision: Revision {
            artifact: "SourceOutput".to_owned(),
            revision_id: COMMIT.to_owned(),
            message: MESSAGE.to_owned(),
            created: Some(at(0) - Duration::from_secs(82)),
        },
        actions,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn jobs_and_executions_are_known_once_expected() {
        let cp = BenchCodePipeline::start().await.unwrap();
        cp.expect(&serde_json::json!({"CodePipeline.job": {"id": "j1"}}));
        assert!(cp.store().jobs.contains_key("j1"));
        assert_eq!(cp.result("j1"), (None, 0));
        assert_eq!(cp.result("unknown"), (None, 0));
        cp.expect(&serde_json::json!({"detail": {"pipeline": "p", "execution-id": "e-1"}}));
        let store = cp.store();
        let execution = &store.executions["e-1"];
        assert_eq!(execution.pipeline, "p");
        assert_eq!(execution.actions.len(), 5);
    }
}
