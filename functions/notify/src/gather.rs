//! Reads the execution from CodePipeline (GetPipelineExecution, ListActionExecutions) and turns
//! the answers into an [`Execution`]. The calls are in [`gather`]; the mapping is the pure
//! [`assemble`], which tests drive with SDK values directly.

use std::collections::BTreeMap;

use aws_sdk_codepipeline::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_codepipeline::types::{
    ActionCategory, ActionExecutionDetail, ActionExecutionFilter, ActionExecutionStatus,
    PipelineExecution,
};
use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;
use tracing::warn;

use crate::event::PipelineEvent;
use crate::execution::{ActionError, ActionRun, ActionStatus, Commit, Execution};
use crate::sweep::Sweep;

/// ListActionExecutions page size (the API's maximum).
pub const PAGE_SIZE: i32 = 100;
/// Pages read at most: 1000 action executions is far beyond a five-stage pipeline with retries,
/// and the bound keeps a runaway from eating the function's timeout.
pub const MAX_PAGES: usize = 10;

/// Everything CodePipeline can tell about the execution. It never fails: what cannot be read
/// is named in [`Execution::unavailable`] and the email goes out with what the event says, so
/// a missing permission or a deleted pipeline still produces one email per run. (The SDK has
/// already retried transient errors by then.)
pub async fn gather(client: &aws_sdk_codepipeline::Client, event: &PipelineEvent) -> Execution {
    let mut problems = Vec::new();
    let execution = match client
        .get_pipeline_execution()
        .pipeline_name(&event.detail.pipeline)
        .pipeline_execution_id(&event.detail.execution_id)
        .send()
        .await
    {
        Ok(out) => out.pipeline_execution,
        Err(err) => {
            problems.push(describe("GetPipelineExecution", &err));
            None
        }
    };
    let (actions, problem) = list_actions(client, event).await;
    problems.extend(problem);
    if !problems.is_empty() {
        warn!(
            execution_id = %event.detail.execution_id,
            problems = %problems.join("; "),
            "execution details incomplete; notifying with what is known"
        );
    }
    let unavailable = (!problems.is_empty()).then(|| problems.join("\n"));
    assemble(event, execution.as_ref(), &actions, unavailable)
}

async fn list_actions(
    client: &aws_sdk_codepipeline::Client,
    event: &PipelineEvent,
) -> (Vec<ActionExecutionDetail>, Option<String>) {
    let filter = ActionExecutionFilter::builder()
        .pipeline_execution_id(&event.detail.execution_id)
        .build();
    let mut details = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let page = client
            .list_action_executions()
            .pipeline_name(&event.detail.pipeline)
            .filter(filter.clone())
            .max_results(PAGE_SIZE)
            .set_next_token(token.take())
            .send()
            .await;
        match page {
            Ok(out) => {
                details.extend(out.action_execution_details.unwrap_or_default());
                match out.next_token.filter(|t| !t.is_empty()) {
                    Some(next) => token = Some(next),
                    None => return (details, None),
                }
            }
            Err(err) => return (details, Some(describe("ListActionExecutions", &err))),
        }
    }
    let note = format!(
        "ListActionExecutions: only the first {} action executions were read",
        MAX_PAGES * PAGE_SIZE as usize
    );
    (details, Some(note))
}

/// `Operation: Code: message`, the way a person can act on it.
fn describe<E>(operation: &str, err: &aws_sdk_codepipeline::error::SdkError<E>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match (err.code(), err.message()) {
        (Some(code), Some(message)) => format!("{operation}: {code}: {message}"),
        (Some(code), None) => format!("{operation}: {code}"),
        (None, Some(message)) => format!("{operation}: {message}"),
        (None, None) => format!("{operation}: {}", DisplayErrorContext(err)),
    }
}

/// The execution as notify shows it, from the event and whatever CodePipeline answered.
pub fn assemble(
    event: &PipelineEvent,
    execution: Option<&PipelineExecution>,
    details: &[ActionExecutionDetail],
    unavailable: Option<String>,
) -> Execution {
    let actions = latest_runs(details);
    let mut outputs = BTreeMap::new();
    for (_, detail) in &actions {
        if let Some(vars) = detail.output().and_then(|o| o.output_variables()) {
            outputs.extend(vars.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
    }
    Execution {
        pipeline: event.detail.pipeline.clone(),
        execution_id: event.detail.execution_id.clone(),
        region: event.region.clone(),
        outcome: event.detail.state.clone(),
        attempt: event.attempt(),
        started: event.detail.start_time.as_deref().and_then(parse_time),
        ended: event.time.as_deref().and_then(parse_time),
        commit: commit(event, execution, &actions),
        actions: actions
            .iter()
            .map(|(runs, detail)| action_run(detail, *runs))
            .collect(),
        outputs,
        status_summary: execution
            .and_then(|e| e.status_summary())
            .map(str::to_owned)
            .or_else(|| event.detail.stop_comments.clone())
            .filter(|s| !s.trim().is_empty()),
        unavailable,
        leftovers: Sweep::default(),
    }
}

/// The latest run of every (stage, action), with how many runs there were, in pipeline order:
/// stages by their first start, actions within a stage by their start.
fn latest_runs(details: &[ActionExecutionDetail]) -> Vec<(u32, &ActionExecutionDetail)> {
    let mut latest: BTreeMap<(&str, &str), (u32, &ActionExecutionDetail)> = BTreeMap::new();
    for d in details {
        let id = (
            d.stage_name().unwrap_or_default(),
            d.action_name().unwrap_or_default(),
        );
        latest
            .entry(id)
            .and_modify(|(runs, kept)| {
                *runs += 1;
                if order_key(d) > order_key(kept) {
                    *kept = d;
                }
            })
            .or_insert((1, d));
    }
    let mut stage_start: BTreeMap<&str, (i64, u32)> = BTreeMap::new();
    for d in details {
        let stage = d.stage_name().unwrap_or_default();
        let start = start_key(d);
        stage_start
            .entry(stage)
            .and_modify(|s| *s = (*s).min(start))
            .or_insert(start);
    }
    let mut runs: Vec<_> = latest.into_values().collect();
    runs.sort_by_key(|(_, d)| {
        let stage = d.stage_name().unwrap_or_default();
        (
            stage_start.get(stage).copied().unwrap_or((i64::MAX, 0)),
            stage.to_owned(),
            start_key(d),
            d.action_name().unwrap_or_default().to_owned(),
        )
    });
    runs
}

fn start_key(d: &ActionExecutionDetail) -> (i64, u32) {
    d.start_time()
        .map_or((i64::MAX, 0), |t| (t.secs(), t.subsec_nanos()))
}

fn order_key(d: &ActionExecutionDetail) -> ((i64, u32), (i64, u32)) {
    let time = |t: Option<&DateTime>| t.map_or((i64::MIN, 0), |t| (t.secs(), t.subsec_nanos()));
    (time(d.start_time()), time(d.last_update_time()))
}

fn action_run(d: &ActionExecutionDetail, runs: u32) -> ActionRun {
    let status = match d.status() {
        Some(ActionExecutionStatus::Succeeded) => ActionStatus::Succeeded,
        Some(ActionExecutionStatus::Failed) => ActionStatus::Failed,
        Some(ActionExecutionStatus::InProgress) => ActionStatus::InProgress,
        Some(ActionExecutionStatus::Abandoned) => ActionStatus::Abandoned,
        Some(other) => ActionStatus::Other(other.as_str().to_owned()),
        None => ActionStatus::Other("Unknown".to_owned()),
    };
    let result = d.output().and_then(|o| o.execution_result());
    let summary = result
        .and_then(|r| r.external_execution_summary())
        .map(str::to_owned)
        .filter(|s| !s.trim().is_empty());
    let error = result
        .and_then(|r| r.error_details())
        .and_then(|e| {
            let message = e.message().unwrap_or_default().trim();
            let code = e.code().map(str::to_owned).filter(|c| !c.is_empty());
            (!message.is_empty() || code.is_some()).then(|| ActionError {
                code,
                message: message.to_owned(),
            })
        })
        .or_else(|| {
            // A failed action without error details: its summary is the best explanation.
            (status == ActionStatus::Failed).then(|| ActionError {
                code: None,
                message: summary.clone().unwrap_or_default(),
            })
        });
    ActionRun {
        stage: d.stage_name().unwrap_or_default().to_owned(),
        action: d.action_name().unwrap_or_default().to_owned(),
        status,
        started: d.start_time().copied(),
        updated: d.last_update_time().copied(),
        runs,
        error,
        summary,
        url: result
            .and_then(|r| r.external_execution_url())
            .map(str::to_owned)
            .filter(|u| !u.is_empty()),
    }
}

fn commit(
    event: &PipelineEvent,
    execution: Option<&PipelineExecution>,
    actions: &[(u32, &ActionExecutionDetail)],
) -> Commit {
    let source = actions.iter().map(|(_, d)| *d).find(|d| {
        d.input()
            .and_then(|i| i.action_type_id())
            .is_some_and(|t| *t.category() == ActionCategory::Source)
    });
    let variable = |name: &str| {
        source
            .and_then(|d| d.output())
            .and_then(|o| o.output_variables())
            .and_then(|v| v.get(name))
            .map(String::as_str)
    };
    let configured = |name: &str| {
        source
            .and_then(|d| d.input())
            .and_then(|i| i.resolved_configuration().or(i.configuration()))
            .and_then(|c| c.get(name))
            .map(String::as_str)
    };
    let revision = execution.and_then(|e| e.artifact_revisions().first());
    let first = |candidates: &[Option<&str>]| {
        candidates
            .iter()
            .flatten()
            .map(|s| s.trim())
            .find(|s| !s.is_empty())
            .map(str::to_owned)
    };
    Commit {
        repository: first(&[
            variable("FullRepositoryName"),
            configured("FullRepositoryId"),
            event.trigger("full-repository-name"),
        ]),
        branch: first(&[
            variable("BranchName"),
            configured("BranchName"),
            event.trigger("branch-name"),
        ]),
        id: first(&[
            variable("CommitId"),
            revision.and_then(|r| r.revision_id()),
            event.trigger("commit-id"),
        ]),
        message: first(&[
            variable("CommitMessage"),
            revision
                .and_then(|r| r.revision_summary())
                .map(revision_summary_message)
                .as_deref(),
            event.trigger("commit-message"),
        ]),
        author: first(&[
            event.trigger("author-display-name"),
            event.trigger("author-id"),
        ]),
        author_date: first(&[variable("AuthorDate"), event.trigger("author-date")]),
        url: first(&[revision.and_then(|r| r.revision_url())]),
    }
}

/// A connection source's revision summary is JSON (`{"ProviderType":"GitHub","CommitMessage":
/// "..."}`); other sources give the message itself.
fn revision_summary_message(summary: &str) -> String {
    serde_json::from_str::<serde_json::Value>(summary)
        .ok()
        .and_then(|v| {
            v.get("CommitMessage")
                .and_then(|m| m.as_str())
                .map(str::to_owned)
        })
        .unwrap_or_else(|| summary.to_owned())
}

fn parse_time(text: &str) -> Option<DateTime> {
    DateTime::from_str(text, Format::DateTime).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revision_summary_json_or_text() {
        assert_eq!(
            revision_summary_message(r#"{"ProviderType":"GitHub","CommitMessage":"Fix it"}"#),
            "Fix it"
        );
        assert_eq!(revision_summary_message("Fix it"), "Fix it");
    }

    #[test]
    fn event_times_parse_with_and_without_fractions() {
        assert_eq!(
            parse_time("2026-11-20T09:12:03Z").unwrap().secs(),
            1_795_165_923
        );
        assert!(parse_time("2026-11-20T09:12:03.208Z").is_some());
        assert!(parse_time("yesterday").is_none());
    }
}
