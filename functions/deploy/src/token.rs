//! The continuation token: what the action deployed and since when, versioned and checksummed
//! so that a garbled token is refused rather than misread.

use pipeline_core::JobError;
use serde::{Deserialize, Serialize};

pub const VERSION: u8 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// CreateEndpoint or UpdateEndpoint was sent; following the endpoint.
    Deploying,
    /// A Failed staging endpoint is being deleted, to be created anew.
    Recreating,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct State {
    pub v: u8,
    pub phase: Phase,
    pub execution: String,
    /// The endpoint config (and model) of this deployment.
    pub config: String,
    /// The config the endpoint served before, kept for rollback when old ones are cleaned up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<String>,
    /// When the action began (seconds since the epoch).
    pub started: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the continuation token is garbled")]
    Garbled,
    #[error("the continuation token has version {0}; this function reads version {VERSION}")]
    Version(u8),
    #[error("the continuation token belongs to another execution")]
    Foreign,
}

impl From<TokenError> for JobError {
    fn from(err: TokenError) -> Self {
        JobError::system(format!(
            "{err}. Retry the stage to follow the endpoint afresh (the deployment's names are \
             the same, so nothing is created twice)"
        ))
    }
}

impl State {
    pub fn new(
        phase: Phase,
        execution: &str,
        config: &str,
        previous: Option<String>,
        started: u64,
    ) -> Self {
        State {
            v: VERSION,
            phase,
            execution: execution.to_owned(),
            config: config.to_owned(),
            previous,
            started,
        }
    }

    /// `<json>~<checksum>`: readable in the console, refused when altered.
    pub fn encode(&self) -> String {
        pipeline_core::token::seal(self)
    }

    /// Reads a token of this execution and deployment.
    pub fn decode(token: &str, execution: &str, config: &str) -> Result<State, TokenError> {
        let state: State = pipeline_core::token::open(token).ok_or(TokenError::Garbled)?;
        if state.v != VERSION {
            return Err(TokenError::Version(state.v));
        }
        if state.execution != execution || state.config != config {
            return Err(TokenError::Foreign);
        }
        Ok(state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> State {
        State::new(
            Phase::Deploying,
            "exec-1",
            "cfg",
            Some("old".into()),
            1_700_000_000,
        )
    }

    #[test]
    fn a_token_reads_back() {
        let token = state().encode();
        assert!(token.len() <= 2048);
        assert_eq!(State::decode(&token, "exec-1", "cfg"), Ok(state()));
    }

    #[test]
    fn altered_foreign_and_garbage_tokens_are_refused() {
        let token = state().encode();
        let altered = token.replace("cfg", "cfh");
        assert_eq!(
            State::decode(&altered, "exec-1", "cfh"),
            Err(TokenError::Garbled)
        );
        assert_eq!(
            State::decode(&token, "exec-2", "cfg"),
            Err(TokenError::Foreign)
        );
        for garbage in ["", "~", "{}~0000000000000000", "not a token", "\u{0}~\u{0}"] {
            assert_eq!(
                State::decode(garbage, "exec-1", "cfg"),
                Err(TokenError::Garbled),
                "{garbage:?}"
            );
        }
    }
}
