//! configuration/evaluation.json, the promotion gate, as Evaluate reads it.
#![no_main]

use evaluate::gate;
use libfuzzer_sys::fuzz_target;
use sagemaker_cicd_fuzz::assert_within;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    match gate::load(gate::DEFAULT_PATH, &text) {
        Err(diagnostics) => assert_within(&text, &diagnostics),
        Ok(gate) => {
            // What check promises: a gate decides on finite thresholds and tolerances.
            assert!(!gate.conditions.is_empty());
            assert!(gate.conditions.iter().all(|c| c.threshold.is_finite()));
            assert!(
                gate.regression
                    .iter()
                    .all(|r| r.tolerance.is_finite() && r.tolerance >= 0.0)
            );
        }
    }
});
