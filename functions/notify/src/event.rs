//! The EventBridge event that triggers notify: "CodePipeline Pipeline Execution State Change".
//!
//! Only the fields notify needs are read, leniently: CodePipeline sends `version` and
//! `pipeline-execution-attempt` as JSON floats (`1.0`), adds fields over time, and fills
//! `execution-trigger` only for some triggers.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;

/// `detail-type` of the events notify handles.
pub const DETAIL_TYPE: &str = "CodePipeline Pipeline Execution State Change";

/// The event, as EventBridge delivers it to a Lambda target.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct PipelineEvent {
    /// EventBridge's id of this event: the same for every delivery of it.
    #[serde(default)]
    pub id: String,
    #[serde(rename = "detail-type")]
    pub detail_type: String,
    #[serde(default)]
    pub account: String,
    /// When the state changed (ISO-8601).
    #[serde(default)]
    pub time: Option<String>,
    #[serde(default)]
    pub region: String,
    pub detail: Detail,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Detail {
    pub pipeline: String,
    #[serde(rename = "execution-id")]
    pub execution_id: String,
    pub state: State,
    #[serde(rename = "start-time", default)]
    pub start_time: Option<String>,
    /// The n-th attempt of this execution: a retried stage ends the execution again, with its
    /// own final state and its own email.
    #[serde(
        rename = "pipeline-execution-attempt",
        default,
        deserialize_with = "attempt"
    )]
    pub attempt: Option<u32>,
    /// What started the execution; for a push through a connection it names the commit, its
    /// author and the repository (`commit-id`, `author-display-name`, `full-repository-name`...).
    #[serde(rename = "execution-trigger", default)]
    pub execution_trigger: BTreeMap<String, serde_json::Value>,
    #[serde(rename = "stop-execution-comments", default)]
    pub stop_comments: Option<String>,
}

/// A pipeline execution state, as the event spells it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(from = "String")]
pub enum State {
    Succeeded,
    Failed,
    Stopped,
    Superseded,
    Canceled,
    /// STARTED, STOPPING, RESUMED, or a state added later: not the end of the execution.
    NotFinal(String),
}

impl From<String> for State {
    fn from(s: String) -> Self {
        match s.as_str() {
            "SUCCEEDED" => State::Succeeded,
            "FAILED" => State::Failed,
            "STOPPED" => State::Stopped,
            "SUPERSEDED" => State::Superseded,
            "CANCELED" => State::Canceled,
            _ => State::NotFinal(s),
        }
    }
}

impl State {
    pub fn as_str(&self) -> &str {
        match self {
            State::Succeeded => "SUCCEEDED",
            State::Failed => "FAILED",
            State::Stopped => "STOPPED",
            State::Superseded => "SUPERSEDED",
            State::Canceled => "CANCELED",
            State::NotFinal(s) => s,
        }
    }

    /// The states after which the execution does nothing more (unless a stage is retried, which
    /// is a new attempt).
    pub fn is_final(&self) -> bool {
        !matches!(self, State::NotFinal(_))
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why an event cannot be handled. Retrying does not help: the error sends it to the
/// on-failure destination, where a person can read it.
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    #[error("the event is not a CodePipeline pipeline execution state change: {0}")]
    Shape(#[from] serde_json::Error),
    #[error(
        "the event's detail-type is `{0}`, expected `{DETAIL_TYPE}`: check the EventBridge rule's pattern"
    )]
    DetailType(String),
    #[error(
        "the event's execution-id `{0}` is not a CodePipeline execution id (letters, digits and hyphens)"
    )]
    ExecutionId(String),
}

impl PipelineEvent {
    pub fn parse(value: serde_json::Value) -> Result<PipelineEvent, EventError> {
        let event: PipelineEvent = serde_json::from_value(value)?;
        if event.detail_type != DETAIL_TYPE {
            return Err(EventError::DetailType(event.detail_type));
        }
        // The id becomes part of an S3 key; CodePipeline's are UUIDs.
        let id = &event.detail.execution_id;
        if id.is_empty()
            || id.len() > 64
            || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return Err(EventError::ExecutionId(id.clone()));
        }
        Ok(event)
    }

    /// The attempt number, 1 when the event does not say.
    pub fn attempt(&self) -> u32 {
        self.detail.attempt.unwrap_or(1).max(1)
    }

    /// A string field of `execution-trigger`, when present and not empty.
    pub fn trigger(&self, field: &str) -> Option<&str> {
        self.detail
            .execution_trigger
            .get(field)
            .and_then(|v| v.as_str())
            .filter(|s| !s.trim().is_empty())
    }
}

/// `1`, `1.0` or `"1"`; anything else reads as absent rather than failing the whole event.
fn attempt<'de, D>(deserializer: D) -> Result<Option<u32>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    let value = Option::<serde_json::Value>::deserialize(deserializer)?;
    Ok(match value {
        Some(serde_json::Value::Number(n)) => n
            .as_f64()
            .filter(|f| f.is_finite() && *f >= 0.0 && *f <= f64::from(u32::MAX))
            .map(|f| f.round() as u32),
        Some(serde_json::Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(detail: serde_json::Value) -> serde_json::Value {
        json!({
            "version": "0",
            "id": "01234567-0000-4000-8000-000000000000",
            "detail-type": DETAIL_TYPE,
            "source": "aws.codepipeline",
            "account": "123456789012",
            "time": "2026-11-20T10:27:45Z",
            "region": "eu-west-1",
            "resources": ["arn:aws:codepipeline:eu-west-1:123456789012:p"],
            "detail": detail
        })
    }

    #[test]
    fn reads_the_documented_shape_with_float_numbers() {
        let e = PipelineEvent::parse(event(json!({
            "pipeline": "p",
            "execution-id": "12345678-1234-5678-abcd-12345678abcd",
            "start-time": "2026-11-20T09:12:03.208Z",
            "state": "FAILED",
            "version": 4.0,
            "pipeline-execution-attempt": 2.0
        })))
        .unwrap();
        assert_eq!(e.detail.state, State::Failed);
        assert_eq!(e.attempt(), 2);
        assert_eq!(e.region, "eu-west-1");
        assert!(e.detail.execution_trigger.is_empty());
    }

    #[test]
    fn unknown_states_are_not_final() {
        for s in ["STARTED", "STOPPING", "RESUMED", "SOMETHING_NEW"] {
            let state = State::from(s.to_owned());
            assert!(!state.is_final(), "{s}");
            assert_eq!(state.as_str(), s);
        }
        for s in ["SUCCEEDED", "FAILED", "STOPPED", "SUPERSEDED", "CANCELED"] {
            assert!(State::from(s.to_owned()).is_final(), "{s}");
        }
    }

    #[test]
    fn missing_attempt_is_one() {
        let e = PipelineEvent::parse(event(json!({
            "pipeline": "p", "execution-id": "abc", "state": "SUCCEEDED",
            "pipeline-execution-attempt": "garbage"
        })))
        .unwrap();
        assert_eq!(e.attempt(), 1);
    }

    #[test]
    fn refuses_other_detail_types_and_odd_execution_ids() {
        let mut stage = event(json!({"pipeline": "p", "execution-id": "abc", "state": "FAILED"}));
        stage["detail-type"] = "CodePipeline Stage Execution State Change".into();
        let err = PipelineEvent::parse(stage).unwrap_err();
        assert!(
            err.to_string().contains("check the EventBridge rule"),
            "{err}"
        );

        let odd = event(json!({"pipeline": "p", "execution-id": "../x", "state": "FAILED"}));
        assert!(matches!(
            PipelineEvent::parse(odd),
            Err(EventError::ExecutionId(_))
        ));
        let missing = event(json!({"pipeline": "p", "state": "FAILED"}));
        let err = PipelineEvent::parse(missing).unwrap_err();
        assert!(err.to_string().contains("execution-id"), "{err}");
    }

    #[test]
    fn trigger_fields_are_read_when_present() {
        let e = PipelineEvent::parse(event(json!({
            "pipeline": "p", "execution-id": "abc", "state": "SUCCEEDED",
            "execution-trigger": {"author-display-name": "Mary Major", "commit-id": "", "x": 1}
        })))
        .unwrap();
        assert_eq!(e.trigger("author-display-name"), Some("Mary Major"));
        assert_eq!(e.trigger("commit-id"), None);
        assert_eq!(e.trigger("x"), None);
    }
}
