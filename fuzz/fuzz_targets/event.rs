//! The CodePipeline job event as the runtime hands it over (JSON bytes), then what every handler
//! does first: pick its input artifact and read its UserParameters. Nothing shown of a job or
//! of an error depends on the artifact credentials: the same event with other credentials
//! shows exactly the same.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pipeline_core::{Job, params};
use serde_json::Value;

const CREDENTIALS: &[&str] = &[
    "/CodePipeline.job/data/artifactCredentials/accessKeyId",
    "/CodePipeline.job/data/artifactCredentials/secretAccessKey",
    "/CodePipeline.job/data/artifactCredentials/sessionToken",
];

/// The Debug output of the job, or the error's message and Debug output.
fn shown(event: Value) -> String {
    match Job::from_event(event) {
        Ok(job) => {
            assert_eq!(job.id.len(), 36, "{:?}", job.id);
            let _ = job.input_artifact(None);
            for artifact in &job.input_artifacts {
                assert!(job.input_artifact(Some(&artifact.name)).is_ok());
            }
            format!("{job:?}")
        }
        Err(error) => format!("{error} {error:?}"),
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(event) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    if let Ok(job) = Job::from_event(event.clone()) {
        let raw = job.user_parameters.as_deref();
        let _ = params::parse::<model_repo::Settings>(raw).map_err(|e| e.to_string());
        let _ = params::parse::<evaluate::settings::Settings>(raw).map_err(|e| e.to_string());
        let _ = params::parse::<deploy::settings::Settings>(raw).map_err(|e| e.to_string());
    }
    let mut other = event.clone();
    let mut swapped = false;
    for pointer in CREDENTIALS {
        if let Some(Value::String(secret)) = other.pointer_mut(pointer) {
            *secret = if secret.as_str() == "OTHER" {
                "ANOTHER"
            } else {
                "OTHER"
            }
            .to_owned();
            swapped = true;
        }
    }
    let shown_original = shown(event);
    if swapped {
        assert_eq!(
            shown_original,
            shown(other),
            "what is shown depends on the credentials"
        );
    }
});
