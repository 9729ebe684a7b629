//! A moto server for S3, a local SageMaker in front of it, and the real SDK clients of both.

#![allow(
    dead_code,
    unused_imports,
    reason = "each test binary uses its own part"
)]

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use aws_sdk_sagemaker::operation::describe_hyper_parameter_tuning_job::DescribeHyperParameterTuningJobOutput;
use aws_sdk_sagemaker::operation::describe_training_job::DescribeTrainingJobOutput;
use aws_sdk_sagemaker::types::{HyperParameterTuningJobStatus, TrainingJobStatus};
use local_sagemaker::{LocalSageMaker, Settings};
use test_support::MotoServer;

pub const BUCKET: &str = "artifacts";
pub const ROLE: &str = "arn:aws:iam::123456789012:role/sagemaker";
/// Any image: without a rule, script mode runs `python3 <program>`.
pub const IMAGE: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com/any-framework:1";

/// A test's own folder under the system temp dir, removed when dropped.
pub struct WorkDir(pub PathBuf);

impl WorkDir {
    pub fn new() -> Self {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("local-sagemaker-test-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        WorkDir(path)
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub struct Harness {
    pub sagemaker: LocalSageMaker,
    pub client: aws_sdk_sagemaker::Client,
    pub s3: aws_sdk_s3::Client,
    pub moto: MotoServer,
    pub work: WorkDir,
}

impl Harness {
    pub async fn start() -> Self {
        Self::start_with(|settings| settings).await
    }

    /// With settings changed by `adjust` (work dir and S3 are the harness's).
    pub async fn start_with(adjust: impl FnOnce(Settings) -> Settings) -> Self {
        Self::start_with_moto(|settings, _| adjust(settings)).await
    }

    /// For hosting: the moto server as forward endpoint (Model Registry, CloudWatch), short
    /// health-check, invocation and alarm-poll times, and `adjust` after them.
    pub async fn start_hosting(adjust: impl FnOnce(Settings) -> Settings) -> Self {
        Self::start_with_moto(|settings, moto| {
            adjust(
                settings
                    .with_forward_endpoint(moto)
                    .with_health_timeout(Duration::from_secs(20))
                    .with_invocation_timeout(Duration::from_secs(3))
                    .with_alarm_poll(Duration::from_millis(200)),
            )
        })
        .await
    }

    async fn start_with_moto(adjust: impl FnOnce(Settings, &str) -> Settings) -> Self {
        let moto = MotoServer::start();
        let s3 = moto.s3_client();
        s3.create_bucket().bucket(BUCKET).send().await.unwrap();
        let work = WorkDir::new();
        let settings = adjust(
            Settings::new(work.0.join("work")).with_stop_grace(Duration::from_secs(5)),
            &moto.endpoint_url(),
        );
        let sagemaker = LocalSageMaker::start(settings, s3.clone()).await.unwrap();
        let config = test_support::local_sdk_config(&sagemaker.endpoint_url());
        let client = aws_sdk_sagemaker::Client::new(&config);
        Harness {
            sagemaker,
            client,
            s3,
            moto,
            work,
        }
    }

    pub async fn put(&self, key: &str, body: Vec<u8>) {
        self.s3
            .put_object()
            .bucket(BUCKET)
            .key(key)
            .body(body.into())
            .send()
            .await
            .unwrap();
    }

    pub async fn get(&self, key: &str) -> Vec<u8> {
        let object = self
            .s3
            .get_object()
            .bucket(BUCKET)
            .key(key)
            .send()
            .await
            .unwrap_or_else(|e| panic!("s3://{BUCKET}/{key}: {e:?}"));
        object.body.collect().await.unwrap().to_vec()
    }

    /// Uploads a sourcedir.tar.gz of `files` and returns its URI.
    pub async fn put_code(&self, key: &str, files: &[(&str, &str)]) -> String {
        self.put(key, tar_gz(files)).await;
        format!("s3://{BUCKET}/{key}")
    }

    /// Polls DescribeTrainingJob until the job ends, at most `limit`.
    pub async fn wait_for_training(
        &self,
        name: &str,
        limit: Duration,
    ) -> DescribeTrainingJobOutput {
        let deadline = Instant::now() + limit;
        loop {
            let job = self.describe_training(name).await;
            let status = job.training_job_status().cloned();
            if matches!(
                status,
                Some(
                    TrainingJobStatus::Completed
                        | TrainingJobStatus::Failed
                        | TrainingJobStatus::Stopped
                )
            ) {
                return job;
            }
            assert!(
                Instant::now() < deadline,
                "training job {name} still {status:?} after {limit:?}; its log:\n{}",
                self.log(name)
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Polls until `ready` holds for the job, at most `limit`.
    pub async fn wait_until(
        &self,
        name: &str,
        limit: Duration,
        ready: impl Fn(&DescribeTrainingJobOutput) -> bool,
    ) -> DescribeTrainingJobOutput {
        let deadline = Instant::now() + limit;
        loop {
            let job = self.describe_training(name).await;
            if ready(&job) {
                return job;
            }
            assert!(
                Instant::now() < deadline,
                "training job {name} never got there: {job:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn describe_training(&self, name: &str) -> DescribeTrainingJobOutput {
        self.client
            .describe_training_job()
            .training_job_name(name)
            .send()
            .await
            .unwrap_or_else(|e| panic!("DescribeTrainingJob {name}: {e:?}"))
    }

    /// Polls DescribeHyperParameterTuningJob until the tuning job ends, at most `limit`.
    pub async fn wait_for_tuning(
        &self,
        name: &str,
        limit: Duration,
    ) -> DescribeHyperParameterTuningJobOutput {
        let deadline = Instant::now() + limit;
        loop {
            let job = self
                .client
                .describe_hyper_parameter_tuning_job()
                .hyper_parameter_tuning_job_name(name)
                .send()
                .await
                .unwrap_or_else(|e| panic!("DescribeHyperParameterTuningJob {name}: {e:?}"));
            let status = job.hyper_parameter_tuning_job_status().cloned();
            if matches!(
                status,
                Some(
                    HyperParameterTuningJobStatus::Completed
                        | HyperParameterTuningJobStatus::Failed
                        | HyperParameterTuningJobStatus::Stopped
                )
            ) {
                return job;
            }
            assert!(
                Instant::now() < deadline,
                "tuning job {name} still {status:?} after {limit:?}: {job:?}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    pub fn log(&self, job: &str) -> String {
        std::fs::read_to_string(self.sagemaker.training_job_log(job)).unwrap_or_default()
    }
}

pub use test_support::archive::{tar_gz, tar_gz_dir};

/// The files of a model.tar.gz, by name.
pub fn untar(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(bytes));
    archive
        .entries()
        .unwrap()
        .map(|entry| {
            let mut entry = entry.unwrap();
            let name = entry.path().unwrap().display().to_string();
            let mut content = Vec::new();
            std::io::Read::read_to_end(&mut entry, &mut content).unwrap();
            (name, content)
        })
        .collect()
}

/// A script-mode CreateTrainingJob request for `program` in `code`, one `train` channel.
pub fn request(name: &str, code: &str, program: &str) -> serde_json::Value {
    serde_json::json!({
        "TrainingJobName": name,
        "RoleArn": ROLE,
        "AlgorithmSpecification": {
            "TrainingImage": IMAGE,
            "TrainingInputMode": "File",
            "MetricDefinitions": [{"Name": "train:loss", "Regex": "loss=([0-9.]+)"}]
        },
        "HyperParameters": {"sagemaker_program": program, "sagemaker_submit_directory": code},
        "InputDataConfig": [{
            "ChannelName": "train",
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": format!("s3://{BUCKET}/data/train/")}}
        }],
        "OutputDataConfig": {"S3OutputPath": format!("s3://{BUCKET}/models/")},
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1},
        "StoppingCondition": {"MaxRuntimeInSeconds": 120},
        "Tags": [{"Key": "team", "Value": "tests"}]
    })
}

/// Sends a CreateTrainingJob request given as JSON, through the SDK.
pub async fn create_training(
    client: &aws_sdk_sagemaker::Client,
    request: serde_json::Value,
) -> Result<
    String,
    aws_sdk_sagemaker::error::SdkError<
        aws_sdk_sagemaker::operation::create_training_job::CreateTrainingJobError,
    >,
> {
    let request: sagemaker_requests::CreateTrainingJobRequest =
        serde_json::from_value(request).unwrap();
    let output = request
        .apply(client.create_training_job())
        .unwrap()
        .send()
        .await?;
    Ok(output.training_job_arn().unwrap_or_default().to_owned())
}

/// Whether a process is still there (a zombie counts as gone).
pub fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|stat| {
            let state = stat.rsplit(')').next().unwrap_or("").trim_start();
            !state.starts_with('Z')
        })
        .unwrap_or(false)
}

/// The first `pid=<n>` line of a job's log.
pub fn pid_in(log: &str) -> Option<u32> {
    log.lines()
        .find_map(|line| line.strip_prefix("pid="))
        .and_then(|pid| pid.trim().parse().ok())
}

/// Training data: one small CSV.
pub async fn put_train_data(harness: &Harness) {
    harness
        .put("data/train/part-0.csv", b"x,y\n1,2\n".to_vec())
        .await;
}
