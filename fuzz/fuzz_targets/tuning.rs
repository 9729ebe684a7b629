//! configuration/tuning.json as the Tune action reads it, against the sample's training request.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use model_repo::{training, tuning};
use sagemaker_cicd_fuzz::{assert_within, placeholders, sagemaker};
use sagemaker_requests::CreateTrainingJobRequest;

const TRAINING: &str = include_str!("../../examples/model-repo/configuration/trainingjob.json");

fn training_request() -> &'static CreateTrainingJobRequest {
    static REQUEST: OnceLock<CreateTrainingJobRequest> = OnceLock::new();
    REQUEST.get_or_init(|| {
        training::load("configuration/trainingjob.json", TRAINING, placeholders())
            .expect("the sample trainingjob.json loads")
    })
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    match tuning::load(
        "configuration/tuning.json",
        &text,
        placeholders(),
        training_request(),
    ) {
        Err(diagnostics) => assert_within(&text, &diagnostics),
        Ok(tuned) => {
            if let Err(error) = tuned
                .request
                .apply(sagemaker().create_hyper_parameter_tuning_job())
            {
                panic!("a checked tuning request does not convert: {error}");
            }
        }
    }
});
