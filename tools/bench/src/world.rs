//! The local services the functions talk to during the benchmark: a moto server (S3, SNS, the
//! Model Registry, and SageMaker's CreateTrainingJob for start-training), a local SageMaker (the
//! training jobs train-and-tune and evaluate read; the hosting and runtime API deploy uses), and
//! the local run's CodePipeline API. The local SageMaker writes its CloudWatch metrics to a moto
//! of their own ([`SplitProxy`]), so that storing them does not stall the functions' calls.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use aws_sdk_sagemaker::types::{
    AlgorithmSpecification, MetricDefinition, OutputDataConfig, ResourceConfig, StoppingCondition,
    TrainingInputMode, TrainingInstanceType, TrainingJobStatus,
};
use local_sagemaker::{ImageCommands, ImageRule, LocalSageMaker, Settings};
use test_support::MotoServer;

use crate::codepipeline::BenchCodePipeline;
use crate::proxy::{SplitProxy, TimingProxy};

pub const BUCKET: &str = "sagemaker-cicd-artifacts";
pub const SOURCE_KEY: &str = "source/model-repo.zip";
pub const TOPIC: &str = "sagemaker-cicd-notifications";
const ROLE: &str = "arn:aws:iam::123456789012:role/sagemaker-cicd-SageMakerExecutionRole";
/// A training job that stays InProgress: what the Tune action polls most of its life.
pub const SLEEPING_JOB: &str = "bench-training-in-progress";
/// A completed training job with the sample's metrics: the Evaluate action's candidate.
pub const CANDIDATE_JOB: &str = "bench-candidate";
const SLEEP_IMAGE: &str = "bench.local/sleep:latest";
const METRICS_IMAGE: &str = "bench.local/metrics:latest";

/// Where a function's clients go.
#[derive(Debug, Clone)]
pub struct Endpoints {
    pub moto: String,
    pub sagemaker: String,
    pub codepipeline: String,
}

pub struct World {
    pub root: PathBuf,
    pub moto: MotoServer,
    /// The local SageMaker's CloudWatch (its endpoints' metrics).
    cloudwatch: MotoServer,
    /// The local SageMaker's forward endpoint: SageMaker to `moto`, CloudWatch to `cloudwatch`.
    forward: SplitProxy,
    pub sagemaker: LocalSageMaker,
    pub codepipeline: BenchCodePipeline,
    pub topic_arn: String,
    /// `s3://.../model.tar.gz` of [`CANDIDATE_JOB`].
    pub candidate_artifacts: String,
    /// The Approved model package deploy deploys ([`crate::deployment`]).
    pub model_package_arn: String,
    work: PathBuf,
}

impl World {
    pub async fn start(root: &Path, work: &Path) -> Result<World, String> {
        let started = |e| format!("the moto server did not start (run `make setup`): {e}");
        let cloudwatch = tokio::task::spawn_blocking(MotoServer::start);
        let moto = tokio::task::spawn_blocking(MotoServer::start)
            .await
            .map_err(started)?;
        let cloudwatch = cloudwatch.await.map_err(started)?;
        let forward = SplitProxy::start(&moto.endpoint_url(), &cloudwatch.endpoint_url())
            .await
            .map_err(|e| format!("cannot serve the local SageMaker's forward endpoint: {e}"))?;
        let config = moto.sdk_config();
        let s3 = moto.s3_client();
        s3.create_bucket()
            .bucket(BUCKET)
            .send()
            .await
            .map_err(|e| format!("CreateBucket on moto: {e:?}"))?;
        let repo = root.join("examples/model-repo");
        let files = files(&repo)?;
        let zipped: Vec<(&str, &str)> = files
            .iter()
            .map(|(p, t)| (p.as_str(), t.as_str()))
            .collect();
        s3.put_object()
            .bucket(BUCKET)
            .key(SOURCE_KEY)
            .body(test_support::job::zip_of(&zipped).into())
            .send()
            .await
            .map_err(|e| format!("PutObject {SOURCE_KEY} on moto: {e:?}"))?;
        let sns = aws_sdk_sns::Client::new(&config);
        let topic_arn = sns
            .create_topic()
            .name(TOPIC)
            .send()
            .await
            .map_err(|e| format!("CreateTopic on moto: {e:?}"))?
            .topic_arn
            .unwrap_or_default();
        let model_package_arn = crate::deployment::prepare(
            &s3,
            &aws_sdk_sagemaker::Client::new(&config),
            BUCKET,
            &files,
        )
        .await?;

        let mut images = ImageCommands::default();
        let rule = |image: &str, script: &str| {
            ImageRule::new(image, vec!["sh".into(), "-c".into(), script.into()])
                .map_err(|e| e.to_string())
        };
        images.push(rule(SLEEP_IMAGE, "exec sleep 3600")?);
        images.push(rule(
            METRICS_IMAGE,
            "echo 'train accuracy: 0.97'; echo 'validation accuracy: 0.95'; echo 'test accuracy: 0.94'",
        )?);
        let sagemaker = LocalSageMaker::start(
            Settings::new(work.join("sagemaker"))
                .with_forward_endpoint(forward.endpoint_url())
                .with_images(images)
                .with_stop_grace(Duration::from_secs(1)),
            s3.clone(),
        )
        .await
        .map_err(|e| format!("the local SageMaker did not start: {e}"))?;
        let client = aws_sdk_sagemaker::Client::from_conf(
            aws_sdk_sagemaker::config::Builder::from(&config)
                .endpoint_url(sagemaker.endpoint_url())
                .build(),
        );
        create_job(&client, SLEEPING_JOB, SLEEP_IMAGE, &[]).await?;
        // As the sample's trainingjob.json: evaluate registers a script-mode model with the
        // code its training job ran (SAGEMAKER_SUBMIT_DIRECTORY); the metrics image runs none.
        let source_dir = format!("s3://{BUCKET}/source/bench/sourcedir.tar.gz");
        create_job(
            &client,
            CANDIDATE_JOB,
            METRICS_IMAGE,
            &[("sagemaker_submit_directory", &source_dir)],
        )
        .await?;
        let candidate_artifacts = wait_until_completed(&client, CANDIDATE_JOB).await?;

        let codepipeline = BenchCodePipeline::start()
            .await
            .map_err(|e| format!("cannot serve the local CodePipeline API: {e}"))?;
        Ok(World {
            root: root.to_owned(),
            moto,
            cloudwatch,
            forward,
            sagemaker,
            codepipeline,
            topic_arn,
            candidate_artifacts,
            model_package_arn,
            work: work.to_owned(),
        })
    }

    pub fn endpoints(&self) -> Endpoints {
        Endpoints {
            moto: self.moto.endpoint_url(),
            sagemaker: self.sagemaker.endpoint_url(),
            codepipeline: self.codepipeline.endpoint_url(),
        }
    }

    /// A SageMaker client of the local SageMaker.
    pub fn sagemaker_client(&self) -> aws_sdk_sagemaker::Client {
        aws_sdk_sagemaker::Client::new(&test_support::local_sdk_config(
            &self.sagemaker.endpoint_url(),
        ))
    }

    pub async fn shutdown(self) {
        self.sagemaker.shutdown().await;
        drop(self.forward);
        drop(self.cloudwatch);
        drop(self.moto);
        let _ = std::fs::remove_dir_all(self.work.join("sagemaker"));
    }
}

/// Timing proxies in front of every service.
pub struct Proxies {
    proxies: Vec<TimingProxy>,
    endpoints: Endpoints,
}

impl Proxies {
    pub async fn start(direct: &Endpoints) -> Result<Proxies, String> {
        let start = |url: String| async move {
            TimingProxy::start(&url)
                .await
                .map_err(|e| format!("cannot start a timing proxy: {e}"))
        };
        let moto = start(direct.moto.clone()).await?;
        let sagemaker = start(direct.sagemaker.clone()).await?;
        let codepipeline = start(direct.codepipeline.clone()).await?;
        let endpoints = Endpoints {
            moto: moto.endpoint_url().to_owned(),
            sagemaker: sagemaker.endpoint_url().to_owned(),
            codepipeline: codepipeline.endpoint_url().to_owned(),
        };
        Ok(Proxies {
            proxies: vec![moto, sagemaker, codepipeline],
            endpoints,
        })
    }

    pub fn endpoints(&self) -> &Endpoints {
        &self.endpoints
    }

    /// Every call's duration since the last `take`, over all services.
    pub fn take(&self) -> Vec<Duration> {
        self.proxies.iter().flat_map(TimingProxy::take).collect()
    }
}

async fn create_job(
    client: &aws_sdk_sagemaker::Client,
    name: &str,
    image: &str,
    hyperparameters: &[(&str, &str)],
) -> Result<(), String> {
    let metric =
        |name: &str, regex: &str| MetricDefinition::builder().name(name).regex(regex).build();
    let algorithm = AlgorithmSpecification::builder()
        .training_image(image)
        .training_input_mode(TrainingInputMode::File)
        .metric_definitions(metric("train:accuracy", "train accuracy: ([0-9.]+)"))
        .metric_definitions(metric(
            "validation:accuracy",
            "validation accuracy: ([0-9.]+)",
        ))
        .metric_definitions(metric("test:accuracy", "test accuracy: ([0-9.]+)"))
        .build();
    let hyperparameters: std::collections::HashMap<String, String> = hyperparameters
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    client
        .create_training_job()
        .training_job_name(name)
        .role_arn(ROLE)
        .algorithm_specification(algorithm)
        .set_hyper_parameters((!hyperparameters.is_empty()).then_some(hyperparameters))
        .output_data_config(
            OutputDataConfig::builder()
                .s3_output_path(format!("s3://{BUCKET}/models/"))
                .build(),
        )
        .resource_config(
            ResourceConfig::builder()
                .instance_type(TrainingInstanceType::MlM4Xlarge)
                .instance_count(1)
                .volume_size_in_gb(10)
                .build(),
        )
        .stopping_condition(
            StoppingCondition::builder()
                .max_runtime_in_seconds(86_400)
                .build(),
        )
        .send()
        .await
        .map_err(|e| format!("CreateTrainingJob {name} on the local SageMaker: {e:?}"))?;
    Ok(())
}

/// Waits for the job to complete and returns its model artifacts' URI.
async fn wait_until_completed(
    client: &aws_sdk_sagemaker::Client,
    name: &str,
) -> Result<String, String> {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let described = client
            .describe_training_job()
            .training_job_name(name)
            .send()
            .await
            .map_err(|e| format!("DescribeTrainingJob {name}: {e:?}"))?;
        match described.training_job_status() {
            Some(TrainingJobStatus::Completed) => {
                if described.final_metric_data_list().is_empty() {
                    return Err(format!("training job {name} completed without metrics"));
                }
                return described
                    .model_artifacts()
                    .and_then(|a| a.s3_model_artifacts())
                    .map(str::to_owned)
                    .ok_or_else(|| format!("training job {name} has no model artifacts"));
            }
            Some(TrainingJobStatus::Failed | TrainingJobStatus::Stopped) => {
                return Err(format!(
                    "training job {name} ended {:?}: {}",
                    described.training_job_status(),
                    described.failure_reason().unwrap_or_default()
                ));
            }
            _ if Instant::now() > deadline => {
                return Err(format!("training job {name} did not complete within 120 s"));
            }
            _ => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

/// Every text file under `dir` (path relative to it, text), without `__pycache__`.
fn files(dir: &Path) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = std::fs::read_dir(&d).map_err(|e| format!("{}: {e}", d.display()))?;
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                if entry.file_name() != "__pycache__" {
                    stack.push(path);
                }
            } else if let Ok(text) = std::fs::read_to_string(&path)
                && let Ok(relative) = path.strip_prefix(dir)
            {
                out.push((relative.to_string_lossy().into_owned(), text));
            }
        }
    }
    out.sort();
    Ok(out)
}
