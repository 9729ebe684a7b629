//! configuration/trainingjob.json as start-training reads it: parse, fill placeholders, check
//! against the API model and the pipeline's rules, complete, and convert onto the SDK request.
#![no_main]

use libfuzzer_sys::fuzz_target;
use model_repo::training;
use sagemaker_cicd_fuzz::{assert_within, placeholders, sagemaker, settings};

fuzz_target!(|data: &[u8]| {
    // The artifact reader refuses text that is not UTF-8; lossy keeps every input useful.
    let text = String::from_utf8_lossy(data);
    match training::load("configuration/trainingjob.json", &text, placeholders()) {
        Err(diagnostics) => assert_within(&text, &diagnostics),
        Ok(request) => {
            let request = training::complete(request, "job", settings(), "job-id");
            // A checked request carries everything the SDK requires.
            if let Err(error) = request.apply(sagemaker().create_training_job()) {
                panic!("a checked training request does not convert: {error}");
            }
        }
    }
});
