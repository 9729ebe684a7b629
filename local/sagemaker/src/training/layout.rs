//! The folder of a training job, laid out like the container's `/opt/ml`:
//!
//! ```text
//! <work-dir>/training-jobs/<job>/
//!   algo-1.log                 everything the job printed (CloudWatch's <job>/algo-1 stream)
//!   downloads/                 the submit directory's tar.gz while it is unpacked
//!   opt/ml/
//!     code/                    sagemaker_submit_directory, unpacked
//!     input/config/            hyperparameters.json, resourceconfig.json, inputdataconfig.json
//!     input/data/<channel>/    each channel, downloaded from S3
//!     model/                   packed into model.tar.gz when the job ends
//!     output/failure           written by a failing job: its FailureReason
//!     output/data/             packed into output.tar.gz when the job ends
//!     output/intermediate/
//! ```

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use sagemaker_requests::CreateTrainingJobRequest;
use serde_json::{Value, json};

/// The single host of a local job, named as SageMaker names the first instance.
pub const HOST: &str = "algo-1";

/// Paths of one job's folder.
#[derive(Debug, Clone)]
pub struct JobDirs {
    root: PathBuf,
    ml: PathBuf,
}

impl JobDirs {
    pub fn new(work_dir: &Path, job_name: &str) -> Self {
        let root = work_dir.join("training-jobs").join(job_name);
        let ml = root.join("opt").join("ml");
        Self { root, ml }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn ml(&self) -> &Path {
        &self.ml
    }

    pub fn log(&self) -> PathBuf {
        self.root.join(format!("{HOST}.log"))
    }

    pub fn downloads(&self) -> PathBuf {
        self.root.join("downloads")
    }

    pub fn code(&self) -> PathBuf {
        self.ml.join("code")
    }

    pub fn input(&self) -> PathBuf {
        self.ml.join("input")
    }

    pub fn config(&self) -> PathBuf {
        self.input().join("config")
    }

    pub fn channel(&self, name: &str) -> PathBuf {
        self.input().join("data").join(name)
    }

    pub fn model(&self) -> PathBuf {
        self.ml.join("model")
    }

    pub fn output(&self) -> PathBuf {
        self.ml.join("output")
    }

    pub fn output_data(&self) -> PathBuf {
        self.output().join("data")
    }

    pub fn intermediate(&self) -> PathBuf {
        self.output().join("intermediate")
    }

    pub fn failure(&self) -> PathBuf {
        self.output().join("failure")
    }

    /// A fresh folder: what an earlier run of the service left under this name goes.
    pub fn create(&self, request: &CreateTrainingJobRequest) -> io::Result<()> {
        if self.root.exists() {
            fs::remove_dir_all(&self.root)?;
        }
        for dir in [
            self.downloads(),
            self.code(),
            self.config(),
            self.model(),
            self.output_data(),
            self.intermediate(),
        ] {
            fs::create_dir_all(dir)?;
        }
        for channel in request.input_data_config.iter().flatten() {
            fs::create_dir_all(self.channel(&channel.channel_name))?;
        }
        let config = self.config();
        write_json(
            &config.join("hyperparameters.json"),
            &json!(request.hyper_parameters.clone().unwrap_or_default()),
        )?;
        write_json(
            &config.join("resourceconfig.json"),
            &resource_config(request),
        )?;
        write_json(
            &config.join("inputdataconfig.json"),
            &input_data_config(request),
        )?;
        fs::File::create(self.log())?;
        Ok(())
    }
}

fn write_json(path: &Path, value: &Value) -> io::Result<()> {
    fs::write(path, serde_json::to_vec_pretty(value)?)
}

pub fn instance_type(request: &CreateTrainingJobRequest) -> String {
    request
        .resource_config
        .as_ref()
        .and_then(|r| r.instance_type.clone())
        .unwrap_or_else(|| "local".to_owned())
}

/// `resourceconfig.json`: one host, as every local job has.
pub fn resource_config(request: &CreateTrainingJobRequest) -> Value {
    let instance_type = instance_type(request);
    json!({
        "current_host": HOST,
        "current_instance_type": instance_type,
        "current_group_name": "homogeneousCluster",
        "hosts": [HOST],
        "instance_groups": [{
            "instance_group_name": "homogeneousCluster",
            "instance_type": instance_type,
            "hosts": [HOST],
        }],
        "network_interface_name": "eth0",
    })
}

/// `inputdataconfig.json`: each channel's settings by channel name.
pub fn input_data_config(request: &CreateTrainingJobRequest) -> Value {
    let input_mode = request
        .algorithm_specification
        .as_ref()
        .map_or("File", |a| a.training_input_mode.as_str());
    let channels: BTreeMap<&str, Value> = request
        .input_data_config
        .iter()
        .flatten()
        .map(|channel| {
            let s3 = channel.data_source.s3_data_source.as_ref();
            let mut entry = json!({
                "TrainingInputMode": channel.input_mode.as_deref().unwrap_or(input_mode),
                "S3DistributionType": s3
                    .and_then(|s| s.s3_data_distribution_type.as_deref())
                    .unwrap_or("FullyReplicated"),
                "RecordWrapperType": channel.record_wrapper_type.as_deref().unwrap_or("None"),
            });
            if let Some(content_type) = &channel.content_type {
                entry["ContentType"] = json!(content_type);
            }
            (channel.channel_name.as_str(), entry)
        })
        .collect();
    json!(channels)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> CreateTrainingJobRequest {
        serde_json::from_value(json!({
            "TrainingJobName": "j",
            "RoleArn": "arn:aws:iam::123456789012:role/R",
            "AlgorithmSpecification": {"TrainingImage": "img", "TrainingInputMode": "File"},
            "HyperParameters": {"max_depth": "5"},
            "InputDataConfig": [{
                "ChannelName": "train",
                "ContentType": "text/csv",
                "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://b/t/"}}
            }],
            "OutputDataConfig": {"S3OutputPath": "s3://b/out"},
            "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1}
        }))
        .unwrap()
    }

    #[test]
    fn the_folder_has_the_config_files_a_container_reads() {
        let work = std::env::temp_dir().join(format!("layout-test-{}", std::process::id()));
        let dirs = JobDirs::new(&work, "j");
        fs::create_dir_all(dirs.model()).unwrap();
        fs::write(dirs.model().join("stale"), "from an earlier run").unwrap();
        dirs.create(&request()).unwrap();
        assert!(!dirs.model().join("stale").exists());
        assert!(dirs.channel("train").is_dir() && dirs.log().is_file());
        let read = |name: &str| -> Value {
            serde_json::from_slice(&fs::read(dirs.config().join(name)).unwrap()).unwrap()
        };
        assert_eq!(read("hyperparameters.json"), json!({"max_depth": "5"}));
        assert_eq!(read("resourceconfig.json")["current_host"], "algo-1");
        assert_eq!(
            read("resourceconfig.json")["current_instance_type"],
            "ml.m5.large"
        );
        assert_eq!(
            read("inputdataconfig.json"),
            json!({"train": {
                "ContentType": "text/csv",
                "TrainingInputMode": "File",
                "S3DistributionType": "FullyReplicated",
                "RecordWrapperType": "None"
            }})
        );
        fs::remove_dir_all(&work).unwrap();
    }
}
