//! Continuation tokens: pipeline_core's seal/open, and the Tune and Deploy actions' own states.
//! Any text is refused or read without a panic; a sealed state always opens to itself.
#![no_main]

use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use pipeline_core::token::{open, seal};
use sha2::{Digest, Sha256};

/// A token with a valid checksum for any text, as `seal` makes them, so that what lies behind
/// the checksum (the states' JSON and their checks) is fuzzed too.
fn forge(json: &str) -> String {
    let sum: String = Sha256::digest(json.as_bytes())[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("{json}~{sum}")
}

fn tune_state(u: &mut Unstructured) -> Result<train_and_tune::token::State> {
    use train_and_tune::token::{Best, Phase, State, VERSION};
    let phase = *u.choose(&[Phase::Training, Phase::Tuning, Phase::Best])?;
    Ok(State {
        v: VERSION,
        phase,
        execution: u.arbitrary()?,
        training: u.arbitrary()?,
        tuning: (phase != Phase::Training || u.arbitrary()?)
            .then(|| u.arbitrary())
            .transpose()?,
        best: (phase == Phase::Best || u.arbitrary()?)
            .then(|| -> Result<Best> {
                Ok(Best {
                    job: u.arbitrary()?,
                    metric: u.arbitrary()?,
                    value: u.arbitrary()?,
                })
            })
            .transpose()?,
        started: u.arbitrary()?,
    })
}

fn deploy_state(u: &mut Unstructured) -> Result<deploy::token::State> {
    use deploy::token::{Phase, State};
    let phase = *u.choose(&[Phase::Deploying, Phase::Recreating])?;
    Ok(State::new(
        phase,
        u.arbitrary()?,
        u.arbitrary()?,
        u.arbitrary()?,
        u.arbitrary()?,
    ))
}

fuzz_target!(|data: &[u8]| {
    // Whatever arrives as a token.
    let text = String::from_utf8_lossy(data);
    if let Some(value) = open::<serde_json::Value>(&text) {
        assert_eq!(open::<serde_json::Value>(&seal(&value)), Some(value));
    }
    let _ = train_and_tune::token::State::decode(&text, "e", "t");
    let _ = deploy::token::State::decode(&text, "e", "c");
    let forged = forge(&text);
    if let Some(value) = open::<serde_json::Value>(&forged) {
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&text).ok(),
            Some(value)
        );
    }
    let _ = train_and_tune::token::State::decode(&forged, "e", "t");
    let _ = deploy::token::State::decode(&forged, "e", "c");

    // Round trips of states built from the same bytes.
    assert_eq!(
        open::<String>(&seal(&text.as_ref())),
        Some(text.to_string())
    );
    let mut u = Unstructured::new(data);
    // Compared by their tokens: a NaN objective is not equal to itself.
    if let Ok(state) = tune_state(&mut u) {
        let token = state.encode();
        match train_and_tune::token::State::decode(&token, &state.execution, &state.training) {
            Ok(read) => assert_eq!(read.encode(), token, "{read:?} from {state:?}"),
            Err(error) => panic!("{error}: {state:?} as {token}"),
        }
    }
    if let Ok(state) = deploy_state(&mut u) {
        let token = state.encode();
        let decoded = deploy::token::State::decode(&token, &state.execution, &state.config);
        assert_eq!(decoded, Ok(state), "token {token}");
    }
});
