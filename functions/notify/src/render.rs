//! The notification of one execution, rendered from an [`Execution`] without any AWS call:
//! the subject, the plain-text email, a short line for SMS-like protocols, a JSON document for
//! machines, and the message attributes subscription filters match on.
//!
//! Everything is bounded: SNS refuses a subject of 100 characters or more, and a message
//! (every protocol's variant, plus the attributes) over 256 KiB.

use serde_json::{Value, json};

use crate::event::State;
use crate::execution::{ActionRun, ActionStatus, Execution};
use crate::links;
use crate::text::{self, Align};

/// The output variables of the pipeline's actions that the email knows by name.
pub mod vars {
    pub const TRAINING_JOB_NAME: &str = "TrainingJobName";
    pub const TUNING_JOB_NAME: &str = "TuningJobName";
    pub const CANDIDATE_TRAINING_JOB_NAME: &str = "CandidateTrainingJobName";
    pub const OBJECTIVE_METRIC_NAME: &str = "ObjectiveMetricName";
    pub const OBJECTIVE_METRIC_VALUE: &str = "ObjectiveMetricValue";
    pub const MODEL_ARTIFACTS_URI: &str = "ModelArtifactsUri";
    pub const VERDICT: &str = "Verdict";
    pub const METRICS_SUMMARY: &str = "MetricsSummary";
    pub const MODEL_PACKAGE_ARN: &str = "ModelPackageArn";
}

/// SNS: a subject must be ASCII and shorter than 100 characters.
pub const SUBJECT_MAX: usize = 99;
/// The email body; far above any real run, well under SNS's message limit.
pub const BODY_MAX: usize = 48 * 1024;
/// SNS's limit for a message with its attributes.
pub const MESSAGE_MAX: usize = 256 * 1024;
/// Table rows shown; a five-stage pipeline has about six actions.
pub const MAX_ROWS: usize = 30;
/// Failed actions explained in full (one, unless actions run in parallel).
pub const MAX_FAILURES: usize = 3;
/// An action's failure message, as CodePipeline bounds it.
pub const FAILURE_MESSAGE_MAX: usize = pipeline_core::limits::FAILURE_MESSAGE_MAX;
/// Other free text: commit messages, summaries, output variables.
const TEXT_MAX: usize = 2000;
/// Sentences are wrapped to this width; tables and quoted text keep their lines.
const PROSE_WIDTH: usize = 90;
/// Per-action error text in the JSON variant (the first failure is there in full).
const JSON_ACTION_ERROR_MAX: usize = 300;

/// The protocols that receive the JSON document instead of text.
pub const JSON_PROTOCOLS: [&str; 4] = ["sqs", "lambda", "http", "https"];

#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    pub subject: String,
    pub body: String,
    /// For protocols without a variant of their own (SMS, mobile push, email-json).
    pub summary: String,
    pub data: Value,
    /// Message attributes (all of data type String), for subscription filter policies.
    pub attributes: Vec<(&'static str, String)>,
}

impl Notification {
    /// The `Message` of a `MessageStructure=json` publish: a variant per protocol.
    pub fn sns_message(&self) -> String {
        let data = self.data.to_string();
        let mut message = serde_json::Map::new();
        message.insert("default".into(), self.summary.clone().into());
        message.insert("email".into(), self.body.clone().into());
        for protocol in JSON_PROTOCOLS {
            message.insert(protocol.into(), data.clone().into());
        }
        Value::Object(message).to_string()
    }

    /// What SNS counts against [`MESSAGE_MAX`].
    pub fn sns_size(&self) -> usize {
        self.sns_message().len()
            + self.subject.len()
            + self
                .attributes
                .iter()
                .map(|(k, v)| k.len() + "String".len() + v.len())
                .sum::<usize>()
    }
}

pub fn render(x: &Execution) -> Notification {
    let subject = subject(x);
    Notification {
        body: body(x),
        summary: summary(x, &subject),
        data: data(x, &subject),
        attributes: attributes(x),
        subject,
    }
}

/// `FAILED in Evaluate: acme/churn-model 9f2c1e4 (main)`: ASCII, under 100 characters.
pub fn subject(x: &Execution) -> String {
    let mut head = x.outcome.as_str().to_owned();
    if x.outcome == State::Failed
        && let Some(stage) = x.failed_stage()
    {
        head.push_str(&format!(" in {}", text::one_line(stage, 30)));
    }
    if x.attempt > 1 {
        head.push_str(&format!(" (attempt {})", x.attempt));
    }
    let mut tail = String::new();
    if let Some(short) = x.commit.short_id() {
        tail.push_str(&format!(" {}", text::one_line(short, 12)));
    }
    if let Some(branch) = &x.commit.branch {
        tail.push_str(&format!(" ({})", text::one_line(branch, 24)));
    }
    let name = x.commit.repository.as_deref().unwrap_or(&x.pipeline);
    let room = SUBJECT_MAX.saturating_sub(head.len() + 2 + ascii(&tail).len());
    let name = text::cut_chars(&text::one_line(name, 200), room.max(8));
    let subject = ascii(&format!("{head}: {name}{tail}"));
    text::cut_chars(&subject, SUBJECT_MAX)
}

/// SNS subjects are ASCII without control characters: anything else becomes `?`.
fn ascii(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '?'
            }
        })
        .collect()
}

/// "commit 9f2c1e4 of acme/churn-model", as far as it is known.
fn what(x: &Execution) -> String {
    let repo = x
        .commit
        .repository
        .as_deref()
        .map(|r| text::one_line(r, 200));
    match (x.commit.short_id(), repo) {
        (Some(c), Some(r)) => format!("commit {c} of {r}"),
        (Some(c), None) => format!("commit {c}"),
        (None, Some(r)) => r,
        (None, None) => format!("pipeline {}", x.pipeline),
    }
}

fn headline(x: &Execution) -> String {
    let what = what(x);
    let after = x
        .duration_secs()
        .map(|s| format!(" after {}", text::duration(s)))
        .unwrap_or_default();
    let attempt = if x.attempt > 1 {
        format!(" (attempt {} of this run)", x.attempt)
    } else {
        String::new()
    };
    match &x.outcome {
        State::Succeeded => {
            let took = x
                .duration_secs()
                .map(|s| format!(" in {}", text::duration(s)))
                .unwrap_or_default();
            format!("The pipeline run for {what} succeeded{took}{attempt}.")
        }
        State::Failed => match x.failed_stage() {
            Some(stage) => format!(
                "The pipeline run for {what} failed in stage {}{after}{attempt}.",
                text::one_line(stage, 100)
            ),
            None => format!("The pipeline run for {what} failed{after}{attempt}."),
        },
        State::Stopped => format!("The pipeline run for {what} was stopped{after}{attempt}."),
        State::Superseded => format!(
            "The pipeline run for {what} was superseded by a newer run{after}{attempt}: \
             the newer run continues and sends its own email."
        ),
        State::Canceled => format!(
            "The pipeline run for {what} was canceled{after}{attempt} because the pipeline \
             was updated."
        ),
        State::NotFinal(s) => format!("The pipeline run for {what} is {s}{attempt}."),
    }
}

fn body(x: &Execution) -> String {
    let mut out = text::paragraph(&headline(x), PROSE_WIDTH);
    out.push('\n');

    if let Some(problem) = &x.unavailable {
        out.push_str(
            "Note: CodePipeline could not tell the details of this run, so this email shows\n\
             what the event said. The reason:\n",
        );
        out.push_str(&text::block(&text::cut_chars(problem, TEXT_MAX), "  "));
        out.push('\n');
    }

    let c = &x.commit;
    // The source variables date the commit; only some triggers name its author.
    let (author, authored) = match (&c.author, &c.author_date) {
        (Some(a), Some(d)) => (
            Some(format!("{}, {}", text::one_line(a, 100), text::utc_text(d))),
            None,
        ),
        (Some(a), None) => (Some(text::one_line(a, 100)), None),
        (None, d) => (None, d.as_deref().map(text::utc_text)),
    };
    out.push_str(&text::fields(
        "",
        &[
            (
                "Repository",
                c.repository.as_deref().map(|r| text::one_line(r, 200)),
            ),
            (
                "Branch",
                c.branch.as_deref().map(|b| text::one_line(b, 200)),
            ),
            ("Commit", c.id.as_deref().map(|i| text::one_line(i, 100))),
            (
                "Message",
                c.message
                    .as_deref()
                    .map(commit_title)
                    .filter(|m| !m.is_empty()),
            ),
            ("Author", author),
            ("Authored", authored),
            (
                "Pipeline",
                Some(format!(
                    "{}, execution {}",
                    text::one_line(&x.pipeline, 100),
                    x.execution_id
                )),
            ),
            ("Started", x.started.as_ref().map(text::utc)),
            ("Finished", x.ended.as_ref().map(text::utc)),
        ],
    ));

    if let Some(summary) = &x.status_summary
        && x.outcome != State::Succeeded
    {
        out.push_str("\nCodePipeline says:\n");
        out.push_str(&text::block(&text::cut_chars(summary, TEXT_MAX), "  "));
    }

    if !x.actions.is_empty() {
        out.push_str("\nSTAGES\n\n");
        out.push_str(&stages_table(x));
    }

    let failed: Vec<&ActionRun> = x.failed_actions().collect();
    if !failed.is_empty() {
        out.push_str(if failed.len() == 1 {
            "\nWHY IT FAILED\n\n"
        } else {
            "\nWHY THEY FAILED\n\n"
        });
        for a in failed.iter().take(MAX_FAILURES) {
            out.push_str(&failure(a));
            out.push('\n');
        }
        if failed.len() > MAX_FAILURES {
            out.push_str(&format!(
                "  ... and {} more failed actions: see the pipeline execution.\n\n",
                failed.len() - MAX_FAILURES
            ));
        }
    }

    let model = model_fields(x);
    let metrics = x.output(vars::METRICS_SUMMARY);
    if !model.is_empty() || metrics.is_some() {
        out.push_str(if failed.is_empty() { "\n" } else { "" });
        out.push_str("MODEL\n\n");
        out.push_str(&model);
        if let Some(m) = metrics {
            out.push_str("\n  Metrics\n");
            out.push_str(&text::block(
                &text::cut_chars(m, FAILURE_MESSAGE_MAX),
                "    ",
            ));
        }
    }

    let deployment = deployment(x);
    if !deployment.is_empty() {
        out.push_str("\nDEPLOYMENT\n\n");
        out.push_str(&deployment);
    }

    let leftovers = leftovers(x);
    if !leftovers.is_empty() {
        out.push_str("\nJOBS LEFT RUNNING\n\n");
        out.push_str(&leftovers);
    }

    out.push_str("\nLINKS\n\n");
    let link_rows: Vec<(&str, Option<String>)> =
        links_of(x).into_iter().map(|(k, v)| (k, Some(v))).collect();
    out.push_str(&text::fields("  ", &link_rows));

    out.push_str(&format!(
        "\n-- \nOne email per pipeline run, sent by the notify function of {}.\n",
        text::one_line(&x.pipeline, 100)
    ));
    pipeline_core::limits::truncate(&out, BODY_MAX)
}

/// The run's SageMaker jobs that were still running when it ended: stopped, or why not.
fn leftovers(x: &Execution) -> String {
    let mut out = String::new();
    for job in &x.leftovers.jobs {
        let what = format!("{} {}", job.kind.label(), text::one_line(&job.name, 100));
        match &job.stopped {
            Ok(()) => out.push_str(&format!("  Stopped the {what}.\n")),
            Err(e) => out.push_str(&format!(
                "  Could not stop the {what}: {}. Stop it in the SageMaker console.\n",
                text::one_line(e, 300)
            )),
        }
    }
    if let Some(problem) = &x.leftovers.problem {
        out.push_str(&format!(
            "  Could not look for jobs the run left running ({}): check the SageMaker console.\n",
            text::one_line(problem, 300)
        ));
    }
    out
}

/// The first line of a commit message, as `git log --oneline` shows it.
fn commit_title(message: &str) -> String {
    let first = text::clean(message)
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or_default()
        .to_owned();
    text::one_line(&first, 120)
}

fn stages_table(x: &Execution) -> String {
    let mut rows: Vec<Vec<String>> = x
        .actions
        .iter()
        .take(MAX_ROWS)
        .map(|a| {
            let mut status = a.status.label().to_owned();
            if a.runs > 1 {
                status.push_str(&format!(" ({} runs)", a.runs));
            }
            vec![
                text::one_line(&a.stage, 40),
                text::one_line(&a.action, 40),
                status,
                a.duration_secs().map(text::duration).unwrap_or_default(),
            ]
        })
        .collect();
    if x.actions.len() > MAX_ROWS {
        rows.push(vec![
            format!("... {} more", x.actions.len() - MAX_ROWS),
            String::new(),
            String::new(),
            String::new(),
        ]);
    }
    if let Some(total) = x.duration_secs() {
        rows.push(vec![
            "Total".to_owned(),
            String::new(),
            String::new(),
            text::duration(total),
        ]);
    }
    text::table(
        "  ",
        &[
            ("Stage", Align::Left),
            ("Action", Align::Left),
            ("Status", Align::Left),
            ("Duration", Align::Right),
        ],
        &rows,
    )
}

fn failure(a: &ActionRun) -> String {
    let mut out = format!(
        "  {} / {}",
        text::one_line(&a.stage, 100),
        text::one_line(&a.action, 100)
    );
    if let Some(code) = a.error.as_ref().and_then(|e| e.code.as_deref()) {
        out.push_str(&format!(" ({})", text::one_line(code, 60)));
    }
    out.push('\n');
    let message = a
        .error
        .as_ref()
        .map(|e| e.message.as_str())
        .filter(|m| !m.trim().is_empty())
        .unwrap_or("CodePipeline gave no reason; see the pipeline execution.");
    out.push_str(&text::block(
        &text::cut_chars(message, FAILURE_MESSAGE_MAX),
        "    ",
    ));
    if let Some(url) = &a.url {
        out.push_str(&format!("    Details: {}\n", text::one_line(url, 500)));
    }
    out
}

fn model_fields(x: &Execution) -> String {
    let get = |name| x.output(name).map(|v| text::one_line(v, 300));
    let objective = match (
        get(vars::OBJECTIVE_METRIC_NAME),
        get(vars::OBJECTIVE_METRIC_VALUE),
    ) {
        (Some(n), Some(v)) => Some(format!("{n} = {v}")),
        (Some(n), None) => Some(n),
        (None, Some(v)) => Some(v),
        (None, None) => None,
    };
    let candidate = get(vars::CANDIDATE_TRAINING_JOB_NAME)
        .filter(|c| Some(c) != get(vars::TRAINING_JOB_NAME).as_ref());
    text::fields(
        "  ",
        &[
            ("Verdict", get(vars::VERDICT)),
            ("Objective", objective),
            ("Training job", get(vars::TRAINING_JOB_NAME)),
            ("Tuning job", get(vars::TUNING_JOB_NAME)),
            ("Best training job", candidate),
            ("Model artifacts", get(vars::MODEL_ARTIFACTS_URI)),
            ("Model package", get(vars::MODEL_PACKAGE_ARN)),
        ],
    )
}

/// Where the model went: each Deploy stage's outcome in its own words (the endpoint and its
/// status, the smoke test, a rollback and its alarm, or why the stage was skipped).
fn deployment(x: &Execution) -> String {
    let rows: Vec<(&str, Option<String>)> = x
        .actions
        .iter()
        .filter(|a| a.stage.starts_with("Deploy"))
        .map(|a| {
            let label = match a.stage.as_str() {
                "DeployStaging" => "Staging",
                "DeployProduction" => "Production",
                _ => "Deploy",
            };
            let said = match (&a.status, &a.error, &a.summary) {
                (ActionStatus::Failed, Some(error), _) => error.message.clone(),
                (_, _, Some(summary)) => summary.clone(),
                (status, _, None) => status.label().to_owned(),
            };
            (
                label,
                Some(format!(
                    "{}: {}",
                    a.status.label(),
                    text::one_line(&said, 600)
                )),
            )
        })
        .collect();
    if rows.is_empty() {
        return String::new();
    }
    text::fields("  ", &rows)
}

/// Where to click, in the order a person looks. Names are cut first: a link to a name no
/// service accepts is no use, and a huge one would break the mail's line length.
fn links_of(x: &Execution) -> Vec<(&'static str, String)> {
    let output = |name| x.output(name).map(|v| text::one_line(v, 256));
    let mut out = vec![(
        "Pipeline execution",
        links::execution(&x.region, &x.pipeline, &x.execution_id),
    )];
    if let Some(url) = &x.commit.url {
        out.push(("Commit", text::one_line(url, 500)));
    }
    let training = output(vars::TRAINING_JOB_NAME);
    if let Some(job) = &training {
        out.push(("Training job", links::training_job(&x.region, job)));
    }
    if let Some(job) = output(vars::TUNING_JOB_NAME) {
        out.push(("Tuning job", links::tuning_job(&x.region, &job)));
    }
    if let Some(job) =
        output(vars::CANDIDATE_TRAINING_JOB_NAME).filter(|c| Some(c) != training.as_ref())
    {
        out.push(("Best training job", links::training_job(&x.region, &job)));
    }
    if let Some(url) =
        output(vars::MODEL_PACKAGE_ARN).and_then(|arn| links::model_package(&x.region, &arn))
    {
        out.push(("Model registry", url));
    }
    out
}

/// One or two lines for SMS-like protocols: the subject and the execution link.
fn summary(x: &Execution, subject: &str) -> String {
    format!(
        "{subject}\n{}",
        links::execution(&x.region, &x.pipeline, &x.execution_id)
    )
}

/// The JSON document for sqs, lambda, http(s) subscribers.
fn data(x: &Execution, subject: &str) -> Value {
    let cut = |s: &str, max: usize| text::cut_chars(s, max);
    let c = &x.commit;
    let actions: Vec<Value> = x
        .actions
        .iter()
        .take(MAX_ROWS)
        .map(|a| {
            let mut v = json!({
                "stage": cut(&a.stage, 100),
                "action": cut(&a.action, 100),
                "status": a.status.label(),
                "runs": a.runs,
                "durationSeconds": a.duration_secs(),
            });
            if let Some(e) = &a.error {
                v["error"] = json!({
                    "code": e.code.as_deref().map(|s| cut(s, 100)),
                    "message": cut(&e.message, JSON_ACTION_ERROR_MAX),
                });
            }
            v
        })
        .collect();
    let failure = x.failed_actions().next().map(|a| {
        json!({
            "stage": cut(&a.stage, 100),
            "action": cut(&a.action, 100),
            "code": a.error.as_ref().and_then(|e| e.code.as_deref()).map(|s| cut(s, 100)),
            "message": a.error.as_ref().map(|e| cut(&e.message, FAILURE_MESSAGE_MAX)),
            "url": a.url.as_deref().map(|u| cut(u, 500)),
        })
    });
    let outputs: serde_json::Map<String, Value> = [
        vars::TRAINING_JOB_NAME,
        vars::TUNING_JOB_NAME,
        vars::CANDIDATE_TRAINING_JOB_NAME,
        vars::OBJECTIVE_METRIC_NAME,
        vars::OBJECTIVE_METRIC_VALUE,
        vars::MODEL_ARTIFACTS_URI,
        vars::VERDICT,
        vars::METRICS_SUMMARY,
        vars::MODEL_PACKAGE_ARN,
    ]
    .into_iter()
    .filter_map(|name| {
        let max = if name == vars::METRICS_SUMMARY {
            FAILURE_MESSAGE_MAX
        } else {
            500
        };
        x.output(name)
            .map(|v| (name.to_owned(), cut(v, max).into()))
    })
    .collect();
    let links: serde_json::Map<String, Value> = links_of(x)
        .into_iter()
        .map(|(k, v)| (camel(k), v.into()))
        .collect();
    let time = |t: Option<&aws_smithy_types::DateTime>| {
        t.and_then(|t| t.fmt(aws_smithy_types::date_time::Format::DateTime).ok())
    };
    let mut data = json!({
        "subject": subject,
        "outcome": x.outcome.as_str(),
        "pipeline": cut(&x.pipeline, 200),
        "executionId": x.execution_id,
        "attempt": x.attempt,
        "region": x.region,
        "startTime": time(x.started.as_ref()),
        "endTime": time(x.ended.as_ref()),
        "durationSeconds": x.duration_secs(),
        "commit": {
            "repository": c.repository.as_deref().map(|s| cut(s, 200)),
            "branch": c.branch.as_deref().map(|s| cut(s, 300)),
            "id": c.id.as_deref().map(|s| cut(s, 100)),
            "message": c.message.as_deref().map(|s| cut(s, TEXT_MAX)),
            "author": c.author.as_deref().map(|s| cut(s, 200)),
            "authorDate": c.author_date.as_deref().map(|s| cut(s, 100)),
            "url": c.url.as_deref().map(|s| cut(s, 500)),
        },
        "actions": actions,
        "failure": failure,
        "outputs": outputs,
        "links": links,
        "statusSummary": x.status_summary.as_deref().map(|s| cut(s, TEXT_MAX)),
        "detailsUnavailable": x.unavailable.as_deref().map(|s| cut(s, TEXT_MAX)),
    });
    // Only a run that left jobs running has the member.
    if !x.leftovers.jobs.is_empty() || x.leftovers.problem.is_some() {
        let jobs: Vec<Value> = x
            .leftovers
            .jobs
            .iter()
            .map(|j| {
                json!({
                    "kind": j.kind.label(),
                    "name": cut(&j.name, 100),
                    "stopped": j.stopped.is_ok(),
                    "error": j.stopped.as_ref().err().map(|e| cut(e, 500)),
                })
            })
            .collect();
        data["leftoverJobs"] = json!({
            "jobs": jobs,
            "problem": x.leftovers.problem.as_deref().map(|p| cut(p, 500)),
        });
    }
    data
}

/// "Pipeline execution" -> "pipelineExecution".
fn camel(label: &str) -> String {
    let mut out = String::new();
    for (i, word) in label.split_whitespace().enumerate() {
        let mut chars = word.chars();
        if let Some(first) = chars.next() {
            if i == 0 {
                out.extend(first.to_lowercase());
            } else {
                out.extend(first.to_uppercase());
            }
            out.push_str(chars.as_str());
        }
    }
    out
}

/// `outcome`, `pipeline`, and `repository` / `branch` when known.
fn attributes(x: &Execution) -> Vec<(&'static str, String)> {
    let mut out = vec![
        ("outcome", x.outcome.as_str().to_owned()),
        ("pipeline", text::one_line(&x.pipeline, 256)),
    ];
    if let Some(r) = &x.commit.repository {
        out.push(("repository", text::one_line(r, 256)));
    }
    if let Some(b) = &x.commit.branch {
        out.push(("branch", text::one_line(b, 256)));
    }
    out.retain(|(_, v)| !v.is_empty());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn camel_case_link_keys() {
        assert_eq!(camel("Pipeline execution"), "pipelineExecution");
        assert_eq!(camel("Best training job"), "bestTrainingJob");
        assert_eq!(camel("Commit"), "commit");
    }

    #[test]
    fn subjects_are_ascii() {
        assert_eq!(ascii("main-é\u{1F680}"), "main-??");
    }

    #[test]
    fn commit_title_is_the_first_line() {
        assert_eq!(
            commit_title("\n  Raise max_depth to 7\n\nLonger text"),
            "Raise max_depth to 7"
        );
    }
}
