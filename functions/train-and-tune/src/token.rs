//! The continuation token: small, versioned state carried from one invocation to the next, with
//! a checksum so that a garbled token is refused rather than misread.

use std::fmt;

use pipeline_core::JobError;
use serde::{Deserialize, Serialize};

pub const VERSION: u8 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// Following the training job started by the Train action.
    Training,
    /// Following the tuning job this action started.
    Tuning,
    /// Tuning is done; reading the best training job's model artifacts.
    Best,
}

/// The best job of a finished tuning job, as DescribeHyperParameterTuningJob reported it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Best {
    pub job: String,
    pub metric: String,
    #[serde(with = "objective")]
    pub value: f32,
}

/// SageMaker may report an objective of NaN or infinity, which JSON has no number for: serde_json
/// would write `null` and then refuse to read it back, so the next invocation would call its own
/// token garbled. Such a value is written as Rust spells it (`"NaN"`, `"inf"`, `"-inf"`); finite
/// ones as before.
mod objective {
    use serde::de::Error;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &f32, serializer: S) -> Result<S::Ok, S::Error> {
        if value.is_finite() {
            serializer.serialize_f32(*value)
        } else {
            serializer.serialize_str(&value.to_string())
        }
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Written {
        Number(f32),
        Text(String),
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<f32, D::Error> {
        match Written::deserialize(deserializer)? {
            Written::Number(value) => Ok(value),
            Written::Text(text) => match text.as_str() {
                "NaN" => Ok(f32::NAN),
                "inf" => Ok(f32::INFINITY),
                "-inf" => Ok(f32::NEG_INFINITY),
                _ => Err(D::Error::custom(format!(
                    "`{text}` is not an objective value"
                ))),
            },
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct State {
    pub v: u8,
    pub phase: Phase,
    /// The pipeline execution the token belongs to.
    pub execution: String,
    pub training: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tuning: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub best: Option<Best>,
    /// When the action began (seconds since the epoch): the start of its 24-hour window.
    pub started: u64,
}

impl State {
    pub fn new(execution: &str, training: &str, started: u64) -> Self {
        State {
            v: VERSION,
            phase: Phase::Training,
            execution: execution.to_owned(),
            training: training.to_owned(),
            tuning: None,
            best: None,
            started,
        }
    }

    /// `<json>~<checksum>`: readable in the console, refused when altered.
    pub fn encode(&self) -> String {
        pipeline_core::token::seal(self)
    }

    /// Reads a token and checks it belongs to this execution and training job.
    pub fn decode(token: &str, execution: &str, training: &str) -> Result<State, TokenError> {
        let state: State = pipeline_core::token::open(token).ok_or(TokenError::Garbled)?;
        if state.v != VERSION {
            return Err(TokenError::Version(state.v));
        }
        if state.execution != execution || state.training != training {
            return Err(TokenError::Foreign);
        }
        let consistent = match state.phase {
            Phase::Training => true,
            Phase::Tuning => state.tuning.is_some(),
            Phase::Best => state.tuning.is_some() && state.best.is_some(),
        };
        if consistent {
            Ok(state)
        } else {
            Err(TokenError::Garbled)
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenError {
    Garbled,
    Version(u8),
    Foreign,
}

impl fmt::Display for TokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenError::Garbled => f.write_str("the continuation token is garbled"),
            TokenError::Version(v) => write!(
                f,
                "the continuation token has version {v}; this function reads version {VERSION}"
            ),
            TokenError::Foreign => {
                f.write_str("the continuation token belongs to another execution or training job")
            }
        }
    }
}

impl From<TokenError> for JobError {
    fn from(err: TokenError) -> Self {
        JobError::system(format!(
            "{err}. Retry the Tune stage to start following the training job afresh"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn state() -> State {
        let mut s = State::new(
            "3137f7cb-8b1f-4f2b-a6a5-2f1e9e6f0b5e",
            "sagemaker-cicd-churn-9f2c1e4-3452f8ac",
            1_790_000_000,
        );
        s.phase = Phase::Best;
        s.tuning = Some("sagemaker-cicd-9f2c1e4-0a1b2c3d".into());
        s.best = Some(Best {
            job: format!("{}-{}", "sagemaker-cicd-9f2c1e4-0a1b2c3d", "012-abcdef01"),
            metric: "validation:accuracy".into(),
            value: 0.953,
        });
        s
    }

    #[test]
    fn round_trips_and_fits() {
        let s = state();
        let token = s.encode();
        assert!(
            token.len() <= pipeline_core::limits::CONTINUATION_TOKEN_MAX,
            "{}",
            token.len()
        );
        assert_eq!(State::decode(&token, &s.execution, &s.training), Ok(s));
    }

    #[test]
    fn refuses_foreign_and_altered_tokens() {
        let s = state();
        let token = s.encode();
        assert_eq!(
            State::decode(&token, "other-execution", &s.training),
            Err(TokenError::Foreign)
        );
        assert_eq!(
            State::decode(&token, &s.execution, "other-job"),
            Err(TokenError::Foreign)
        );
        let altered = token.replace("0.953", "0.999");
        assert_eq!(
            State::decode(&altered, &s.execution, &s.training),
            Err(TokenError::Garbled)
        );
        assert_eq!(
            State::decode(
                "A continuation token if continuing job",
                &s.execution,
                &s.training
            ),
            Err(TokenError::Garbled)
        );
    }

    #[test]
    fn refuses_other_versions_and_inconsistent_phases() {
        let mut s = state();
        s.v = 2;
        assert_eq!(
            State::decode(&s.encode(), &s.execution, &s.training),
            Err(TokenError::Version(2))
        );
        let mut s = state();
        s.best = None;
        assert_eq!(
            State::decode(&s.encode(), &s.execution, &s.training),
            Err(TokenError::Garbled)
        );
    }

    #[test]
    fn a_best_value_that_is_not_finite_reads_back() {
        // Found by fuzzing: serde_json writes NaN and infinity as `null`, which did not read
        // back, so the next invocation called its own token garbled.
        for value in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
            let mut s = state();
            s.best.as_mut().unwrap().value = value;
            let token = s.encode();
            let read = State::decode(&token, &s.execution, &s.training).unwrap();
            let read_value = read.best.unwrap().value;
            assert!(
                read_value.to_bits() == value.to_bits() || (value.is_nan() && read_value.is_nan()),
                "{value} read back as {read_value} from {token}"
            );
        }
    }

    proptest! {
        #[test]
        fn arbitrary_tokens_never_panic(token in ".{0,300}") {
            let _ = State::decode(&token, "e", "t");
        }

        #[test]
        fn any_single_character_change_is_caught(index in 0usize..100, c in "[a-z0-9{}\":,~]") {
            let s = state();
            let token = s.encode();
            let index = index % token.len();
            let mut altered: Vec<char> = token.chars().collect();
            let replacement = c.chars().next().unwrap();
            prop_assume!(altered[index] != replacement);
            altered[index] = replacement;
            let altered: String = altered.into_iter().collect();
            prop_assert!(State::decode(&altered, &s.execution, &s.training).is_err());
        }
    }
}
