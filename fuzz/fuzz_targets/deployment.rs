//! configuration/deployment.json as the deploy function reads it, with repository files whose
//! size depends on their name (so missing and oversized smoke-test bodies are reached too).
#![no_main]

use aws_sdk_sagemaker::types::{DataCaptureConfig, DeploymentConfig};
use deploy::config;
use libfuzzer_sys::fuzz_target;
use sagemaker_cicd_fuzz::assert_within;

fn body_size(path: &str) -> Option<usize> {
    (!path.is_empty() && !path.contains("missing")).then(|| path.len() * 100_000)
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    match config::load(config::DEFAULT_PATH, &text, body_size) {
        Err(diagnostics) => assert_within(&text, &diagnostics),
        Ok(deployment) => {
            // A checked file converts onto the SDK's shapes, as the handler does.
            if let Some(capture) = deployment.staging.data_capture_config
                && let Err(error) = DataCaptureConfig::try_from(capture)
            {
                panic!("a checked DataCaptureConfig does not convert: {error}");
            }
            if let Some(config) = deployment.production.and_then(|p| p.deployment_config)
                && let Err(error) = DeploymentConfig::try_from(config)
            {
                panic!("a checked DeploymentConfig does not convert: {error}");
            }
        }
    }
});
