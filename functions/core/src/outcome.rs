//! What a handler reports when it did not fail: done (with output variables) or still working
//! (with a continuation token). Limits are checked here, before anything is sent.

use std::collections::BTreeMap;

use crate::JobError;
use crate::limits::{self, CONTINUATION_TOKEN_MAX, SUMMARY_MAX};
use crate::values::json_safe;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The action is done; downstream actions read `variables` as `#{Namespace.Key}`.
    Succeeded {
        variables: BTreeMap<String, String>,
        summary: Option<String>,
    },
    /// The action goes on: CodePipeline invokes the function again with `token`. CodePipeline
    /// refuses variables here; they are kept only so that [`Outcome::checked`] can refuse them.
    InProgress {
        token: String,
        summary: Option<String>,
        percent: Option<u8>,
        variables: BTreeMap<String, String>,
    },
}

impl Outcome {
    pub fn succeeded() -> Self {
        Outcome::Succeeded {
            variables: BTreeMap::new(),
            summary: None,
        }
    }

    pub fn in_progress(token: impl Into<String>) -> Self {
        Outcome::InProgress {
            token: token.into(),
            summary: None,
            percent: None,
            variables: BTreeMap::new(),
        }
    }

    /// Adds an output variable. Variables exist only on a finished action: on an in-progress
    /// outcome this is a bug, caught by [`Outcome::checked`].
    pub fn variable(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        match &mut self {
            Outcome::Succeeded { variables, .. } | Outcome::InProgress { variables, .. } => {
                variables.insert(key.into(), value.into());
            }
        }
        self
    }

    pub fn summary(mut self, text: impl Into<String>) -> Self {
        let text = text.into();
        match &mut self {
            Outcome::Succeeded { summary, .. } | Outcome::InProgress { summary, .. } => {
                *summary = Some(text)
            }
        }
        self
    }

    pub fn percent(mut self, value: u8) -> Self {
        if let Outcome::InProgress { percent, .. } = &mut self {
            *percent = Some(value.min(100));
        }
        self
    }

    /// The outcome as CodePipeline accepts it: summary cut to 2048 bytes, empty summary dropped;
    /// an invalid variable key or token is an error of ours, reported as a failure.
    pub fn checked(self) -> Result<Outcome, JobError> {
        let fit = |summary: Option<String>| {
            summary
                .filter(|s| !s.trim().is_empty())
                .map(|s| limits::truncate(&s, SUMMARY_MAX))
        };
        match self {
            Outcome::Succeeded { variables, summary } => {
                if let Some(bad) = variables.keys().find(|k| !limits::is_valid_variable_key(k)) {
                    return Err(JobError::system(format!(
                        "internal error: output variable name `{bad}` does not match [A-Za-z0-9@-_]+"
                    )));
                }
                // CodePipeline pastes values unescaped into later UserParameters (see values).
                if let Some((key, value)) = variables.iter().find(|(_, v)| !json_safe(v)) {
                    return Err(JobError::config(format!(
                        "output variable {key} would be {:?}: a quote, backslash or control character \
                         in it would change the settings of the actions that read it, so it is not \
                         exported. Rename what it comes from",
                        limits::truncate(value, 200)
                    )));
                }
                Ok(Outcome::Succeeded {
                    variables,
                    summary: fit(summary),
                })
            }
            Outcome::InProgress {
                token,
                summary,
                percent,
                variables,
            } => {
                if !variables.is_empty() {
                    return Err(JobError::system(
                        "internal error: output variables are only allowed once the action is done, not with a continuation token",
                    ));
                }
                if token.is_empty() || token.len() > CONTINUATION_TOKEN_MAX {
                    return Err(JobError::system(format!(
                        "internal error: a continuation token must be 1 to {CONTINUATION_TOKEN_MAX} characters, this one has {}",
                        token.len()
                    )));
                }
                Ok(Outcome::InProgress {
                    token,
                    summary: fit(summary),
                    percent,
                    variables,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn variables_only_on_success() {
        let err = Outcome::in_progress("t")
            .variable("A", "b")
            .checked()
            .unwrap_err();
        assert!(err.message.contains("continuation token"), "{err}");
        let o = Outcome::succeeded()
            .variable("TrainingJobName", "x")
            .checked()
            .unwrap();
        assert!(
            matches!(o, Outcome::Succeeded { variables, .. } if variables["TrainingJobName"] == "x")
        );
    }

    #[test]
    fn a_value_that_would_break_out_of_its_json_string_is_not_exported() {
        for value in [
            "acc\",\"ConfigPath\":\"configuration/lenient.json",
            "a\\b",
            "a\nb",
        ] {
            let err = Outcome::succeeded()
                .variable("ObjectiveMetricName", value)
                .checked()
                .unwrap_err();
            assert!(
                err.message
                    .starts_with("output variable ObjectiveMetricName would be"),
                "{err}"
            );
        }
    }

    #[test]
    fn bad_variable_key_is_an_error() {
        let err = Outcome::succeeded()
            .variable("Job.Name", "x")
            .checked()
            .unwrap_err();
        assert!(err.message.contains("Job.Name"));
    }

    #[test]
    fn summary_is_cut_and_empty_summary_dropped() {
        let o = Outcome::succeeded()
            .summary("y".repeat(3000))
            .checked()
            .unwrap();
        assert!(matches!(o, Outcome::Succeeded { summary: Some(s), .. } if s.len() == SUMMARY_MAX));
        let o = Outcome::succeeded().summary("  ").checked().unwrap();
        assert!(matches!(o, Outcome::Succeeded { summary: None, .. }));
    }

    #[test]
    fn percent_is_clamped() {
        assert!(matches!(
            Outcome::in_progress("t").percent(250),
            Outcome::InProgress {
                percent: Some(100),
                ..
            }
        ));
    }

    proptest! {
        #[test]
        fn token_limits(len in 0usize..3000) {
            let checked = Outcome::in_progress("a".repeat(len)).checked();
            prop_assert_eq!(checked.is_ok(), (1..=CONTINUATION_TOKEN_MAX).contains(&len));
        }

        #[test]
        fn checked_keys_always_valid(key in "[A-Za-z0-9@_.\\- ]{0,12}") {
            let ok = Outcome::succeeded().variable(key.clone(), "v").checked().is_ok();
            prop_assert_eq!(ok, limits::is_valid_variable_key(&key));
        }
    }
}
