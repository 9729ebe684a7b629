//! What notify knows about one pipeline execution: plain data, filled by [`crate::gather`] and
//! read by [`crate::render`]. Every field that depends on how far the execution got is optional.

use std::collections::BTreeMap;

use aws_smithy_types::DateTime;

use crate::event::State;
use crate::sweep::Sweep;

#[derive(Debug, Clone, PartialEq)]
pub struct Execution {
    pub pipeline: String,
    pub execution_id: String,
    pub region: String,
    pub outcome: State,
    pub attempt: u32,
    pub started: Option<DateTime>,
    pub ended: Option<DateTime>,
    pub commit: Commit,
    /// The latest execution of every action that ran, in pipeline order.
    pub actions: Vec<ActionRun>,
    /// Every output variable of every action; a later action's value wins.
    pub outputs: BTreeMap<String, String>,
    /// CodePipeline's own words on the execution (a stop reason, a superseding execution).
    pub status_summary: Option<String>,
    /// Why the details above are incomplete (CodePipeline could not be read), if they are.
    pub unavailable: Option<String>,
    /// The run's SageMaker jobs that were still running when it ended, and were stopped.
    pub leftovers: Sweep,
}

/// The commit the execution built. Source action variables first, then the execution's artifact
/// revision, then the event's trigger.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Commit {
    pub repository: Option<String>,
    pub branch: Option<String>,
    pub id: Option<String>,
    pub message: Option<String>,
    pub author: Option<String>,
    pub author_date: Option<String>,
    pub url: Option<String>,
}

impl Commit {
    /// The first 7 characters of the commit id, as git shows it.
    pub fn short_id(&self) -> Option<&str> {
        self.id.as_deref().map(|id| {
            let end = id.char_indices().nth(7).map_or(id.len(), |(i, _)| i);
            &id[..end]
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ActionRun {
    pub stage: String,
    pub action: String,
    pub status: ActionStatus,
    pub started: Option<DateTime>,
    pub updated: Option<DateTime>,
    /// How often the action ran in this execution (a retried stage runs it again).
    pub runs: u32,
    pub error: Option<ActionError>,
    pub summary: Option<String>,
    pub url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActionStatus {
    Succeeded,
    Failed,
    InProgress,
    Abandoned,
    Other(String),
}

impl ActionStatus {
    pub fn label(&self) -> &str {
        match self {
            ActionStatus::Succeeded => "Succeeded",
            ActionStatus::Failed => "Failed",
            ActionStatus::InProgress => "In progress",
            ActionStatus::Abandoned => "Abandoned",
            ActionStatus::Other(s) => s,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionError {
    pub code: Option<String>,
    pub message: String,
}

impl ActionRun {
    pub fn duration_secs(&self) -> Option<i64> {
        seconds_between(self.started.as_ref(), self.updated.as_ref())
    }
}

impl Execution {
    pub fn failed_actions(&self) -> impl Iterator<Item = &ActionRun> {
        self.actions
            .iter()
            .filter(|a| a.status == ActionStatus::Failed)
    }

    /// The stage that failed (the first one, in pipeline order).
    pub fn failed_stage(&self) -> Option<&str> {
        self.failed_actions().next().map(|a| a.stage.as_str())
    }

    /// From the start of the execution to its final state; from the actions when the event has
    /// no times.
    pub fn duration_secs(&self) -> Option<i64> {
        let start = self.started.or_else(|| {
            self.actions
                .iter()
                .filter_map(|a| a.started)
                .min_by_key(key)
        });
        let end = self.ended.or_else(|| {
            self.actions
                .iter()
                .filter_map(|a| a.updated)
                .max_by_key(key)
        });
        seconds_between(start.as_ref(), end.as_ref())
    }

    /// A non-empty output variable.
    pub fn output(&self, name: &str) -> Option<&str> {
        self.outputs
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.trim().is_empty())
    }
}

fn key(t: &DateTime) -> (i64, u32) {
    (t.secs(), t.subsec_nanos())
}

fn seconds_between(start: Option<&DateTime>, end: Option<&DateTime>) -> Option<i64> {
    let (start, end) = (start?, end?);
    let secs = (end.as_secs_f64() - start.as_secs_f64()).round();
    (secs >= 0.0 && secs.is_finite()).then_some(secs as i64)
}
