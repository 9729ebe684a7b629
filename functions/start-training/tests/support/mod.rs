//! start-training's scripted world: the sample events and model repository, SageMaker through
//! aws-smithy-mocks rules, the rest from `test_support::job`.

#![allow(dead_code, unused_imports)]

use std::path::Path;

use aws_smithy_mocks::{Rule, RuleMode, mock_client};
use pipeline_core::ArtifactStore;
use serde_json::Value;
pub use test_support::job::{
    Reported, Results, s3_error, scripted_artifacts as artifact_store, set_user_parameters,
    user_parameters, zip_of,
};

pub const JOB_ID: &str = "a1b2c3d4-0000-4000-8000-000000000001";
pub const JOB_ACCESS_KEY: &str = "AKIAIOSFODNN7EXAMPLE";

pub fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .and_then(Path::parent)
        .unwrap()
}

pub fn event(name: &str) -> Value {
    let path = repo_root()
        .join("events/start-training")
        .join(format!("{name}.json"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

pub fn sample_config() -> String {
    std::fs::read_to_string(repo_root().join("examples/model-repo/configuration/trainingjob.json"))
        .unwrap()
}

/// The model repository with `config` as its trainingjob.json.
pub fn source_with(config: &str) -> Vec<u8> {
    zip_of(&[
        ("configuration/trainingjob.json", config),
        ("src/train.py", "print('hi')\n"),
    ])
}

/// Runs start-training for `event` in the scripted world.
pub async fn run(
    event: Value,
    sagemaker: &aws_sdk_sagemaker::Client,
    store: &ArtifactStore,
) -> Results {
    test_support::job::run(event, |job| start_training::handle(job, sagemaker, store)).await
}

pub fn sagemaker(rules: &[&Rule]) -> aws_sdk_sagemaker::Client {
    mock_client!(aws_sdk_sagemaker, RuleMode::MatchAny, rules)
}
