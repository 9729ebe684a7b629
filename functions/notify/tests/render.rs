//! The notification of each final state, rendered from the sample executions without any AWS
//! call. The emails are compared with tests/emails/<state>.txt, which the README quotes;
//! `UPDATE_EMAILS=1 cargo test -p notify --test render` rewrites them after a deliberate change.

mod support;

use notify::event::State;
use notify::execution::{ActionError, ActionRun, ActionStatus, Commit, Execution};
use notify::render::{self, BODY_MAX, MESSAGE_MAX, SUBJECT_MAX, render};
use proptest::prelude::*;
use serde_json::Value;
use support::*;

fn email_path(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/emails/{name}.txt"))
}

/// What the README and tests/emails/ show: the subject line, a blank line, the body.
fn as_shown(name: &str) -> String {
    let n = render(&scenario(name).execution());
    format!("Subject: {}\n\n{}", n.subject, n.body)
}

#[test]
fn emails_match_the_reviewed_copies() {
    let update = std::env::var_os("UPDATE_EMAILS").is_some();
    for name in FINAL_STATES {
        let shown = as_shown(name);
        let path = email_path(name);
        if update {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &shown).unwrap();
            continue;
        }
        let expected = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (UPDATE_EMAILS=1 writes it)", path.display()));
        assert_eq!(
            shown, expected,
            "the {name} email changed; review it and run UPDATE_EMAILS=1 cargo test -p notify --test render"
        );
    }
}

#[test]
fn the_readme_shows_the_success_and_failure_emails_the_code_produces() {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    for name in ["succeeded", "failed"] {
        let shown = as_shown(name);
        assert!(
            readme.contains(&shown),
            "README.md does not show the current {name} email; paste functions/notify/tests/emails/{name}.txt"
        );
    }
}

#[test]
fn the_email_says_where_the_model_went() {
    let body = render(&scenario("succeeded").execution()).body;
    assert!(body.contains("DEPLOYMENT\n\n"), "{body}");
    assert!(
        body.contains("  Staging     Succeeded: Endpoint sagemaker-cicd-staging is InService on"),
        "{body}"
    );
    assert!(body.contains("smoke test passed"), "{body}");
    // A rolled-back production update says so, with the alarm, in the deployment section.
    let mut execution = scenario("succeeded").execution();
    let production = execution.actions.last_mut().unwrap();
    production.status = ActionStatus::Failed;
    production.error = Some(ActionError {
        code: Some("JobFailed".into()),
        message: "The deployment of sagemaker-cicd-production-9f2c1e4-5e6f7a8b was rolled back. \
                  Endpoint sagemaker-cicd-production is InService on its previous config. \
                  Alarms in ALARM: sagemaker-cicd-production-5xx."
            .into(),
    });
    let body = render(&execution).body;
    assert!(
        body.contains("  Production  Failed: The deployment of sagemaker-cicd-production-9f2c1e4-5e6f7a8b was rolled back."),
        "{body}"
    );
    assert!(
        body.contains("Alarms in ALARM: sagemaker-cicd-production-5xx"),
        "{body}"
    );
}

#[test]
fn succeeded() {
    let n = render(&scenario("succeeded").execution());
    assert_eq!(
        n.subject,
        "SUCCEEDED: example-org/churn-model 9f2c1e4 (main)"
    );
    let body = &n.body;
    assert!(
        body.starts_with(
            "The pipeline run for commit 9f2c1e4 of example-org/churn-model succeeded in 1h 30m.\n\n"
        ),
        "{body}"
    );
    for expected in [
        "  Evaluate          Evaluate          Succeeded       12s\n",
        "  Tune              TrainAndTune      Succeeded    1h 11m\n",
        "  DeployProduction  DeployProduction  Succeeded   11m 48s\n",
        "  Total                                            1h 30m\n",
        "Message     Raise max_depth to 7 and add the tenure feature\n",
        "Author      Mary Major, 2026-11-20 09:10:41 UTC\n",
        "  Verdict            Approved: 2 of 2 conditions met\n",
        "  Objective          validation:auc = 0.9134\n",
        "    test:accuracy   0.9215  >=         0.9000     0.9031          pass\n",
        "  Tuning job          https://us-east-1.console.aws.amazon.com/sagemaker/home?region=us-east-1#/hyper-tuning-jobs/sagemaker-cicd-9f2c1e4-5d21a7b0\n",
        "  Best training job   https://us-east-1.console.aws.amazon.com/sagemaker/home?region=us-east-1#/jobs/sagemaker-cicd-9f2c1e4-5d21a7b0-007-1c9e04f2\n",
        "  Model registry      https://us-east-1.console.aws.amazon.com/sagemaker/home?region=us-east-1#/model-registry/example-org-churn-model\n",
        "  Commit              https://github.com/example-org/churn-model/commit/9f2c1e4d0b7a5c3e1f2a4b6c8d0e1f2a3b4c5d6e\n",
    ] {
        assert!(body.contains(expected), "missing {expected:?} in\n{body}");
    }
    assert!(!body.contains("WHY IT FAILED"), "{body}");
    assert_eq!(
        n.attributes,
        vec![
            ("outcome", "SUCCEEDED".to_owned()),
            ("pipeline", "sagemaker-cicd-pipeline".to_owned()),
            ("repository", REPOSITORY.to_owned()),
            ("branch", "main".to_owned()),
        ]
    );
}

#[test]
fn failed_names_the_stage_and_quotes_the_reason() {
    let n = render(&scenario("failed").execution());
    assert_eq!(
        n.subject,
        "FAILED in Evaluate: example-org/churn-model 9f2c1e4 (main)"
    );
    let body = &n.body;
    assert!(
        body.starts_with(
            "The pipeline run for commit 9f2c1e4 of example-org/churn-model failed in stage Evaluate\nafter 1h 14m.\n"
        ),
        "{body}"
    );
    assert!(
        body.contains("  Evaluate  Evaluate       Failed          12s\n"),
        "{body}"
    );
    assert!(
        body.contains(
            "WHY IT FAILED\n\n  Evaluate / Evaluate (JobFailed)\n    The candidate did not pass"
        ),
        "{body}"
    );
    // The gate's table stays a table.
    assert!(
        body.contains("    test:accuracy   0.8712  >=         0.9000     0.9031          FAIL\n"),
        "{body}"
    );
    assert!(
        body.contains("    Details: https://us-east-1.console.aws.amazon.com/cloudwatch/"),
        "{body}"
    );
    // What the run produced before failing is still there.
    assert!(
        body.contains("  Objective          validation:auc = 0.9134\n"),
        "{body}"
    );
    assert!(!body.contains("Verdict"), "{body}");
    assert_eq!(n.attributes[0], ("outcome", "FAILED".to_owned()));
    assert_eq!(n.data["failure"]["code"], "JobFailed");
    assert_eq!(n.data["failure"]["message"], GATE_FAILURE);
}

#[test]
fn stopped_shows_the_reason_and_the_abandoned_action() {
    let n = render(&scenario("stopped").execution());
    assert_eq!(n.subject, "STOPPED: example-org/churn-model 9f2c1e4 (main)");
    let body = &n.body;
    assert!(body.starts_with("The pipeline run for commit 9f2c1e4 of example-org/churn-model was stopped after 39m 27s.\n"), "{body}");
    assert!(body.contains("CodePipeline says:\n  Execution stopped and abandoned: Retraining on the refreshed data set instead\n"), "{body}");
    assert!(
        body.contains("  Tune    TrainAndTune   Abandoned   36m 36s\n"),
        "{body}"
    );
    assert!(!body.contains("WHY IT FAILED"), "{body}");
    // The stopped run's tuning job is still worth a look.
    assert!(
        body.contains("#/hyper-tuning-jobs/sagemaker-cicd-9f2c1e4-5d21a7b0\n"),
        "{body}"
    );
}

#[test]
fn superseded_says_a_newer_run_carries_on() {
    let n = render(&scenario("superseded").execution());
    assert_eq!(
        n.subject,
        "SUPERSEDED: example-org/churn-model 9f2c1e4 (main)"
    );
    assert!(n.body.contains("was superseded by a newer\nrun after 4m 9s: the newer run continues and sends its own email.\n"), "{}", n.body);
    assert!(!n.body.contains("MODEL\n"), "{}", n.body);
}

#[test]
fn canceled_says_why() {
    let n = render(&scenario("canceled").execution());
    assert_eq!(
        n.subject,
        "CANCELED: example-org/churn-model 9f2c1e4 (main)"
    );
    assert!(
        n.body
            .contains("was canceled after 1m 37s\nbecause the pipeline was updated.\n"),
        "{}",
        n.body
    );
}

#[test]
fn json_variant_for_machines() {
    let n = render(&scenario("succeeded").execution());
    let message: Value = serde_json::from_str(&n.sns_message()).unwrap();
    let mut keys: Vec<&str> = message
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(keys, ["default", "email", "http", "https", "lambda", "sqs"]);
    assert_eq!(message["email"], n.body);
    assert!(
        message["default"]
            .as_str()
            .unwrap()
            .starts_with("SUCCEEDED: example-org/churn-model 9f2c1e4 (main)\nhttps://")
    );
    for protocol in render::JSON_PROTOCOLS {
        let data: Value = serde_json::from_str(message[protocol].as_str().unwrap()).unwrap();
        assert_eq!(data, n.data, "{protocol}");
    }
    let d = &n.data;
    assert_eq!(d["outcome"], "SUCCEEDED");
    assert_eq!(d["executionId"], "3137f7cb-8b1f-4f2b-a6a5-2f1e9e6f0b5e");
    assert_eq!(d["commit"]["id"], COMMIT);
    assert_eq!(d["commit"]["author"], "Mary Major");
    assert_eq!(d["durationSeconds"], 5413);
    assert_eq!(d["actions"].as_array().unwrap().len(), 7);
    assert_eq!(d["actions"][0]["stage"], "Source");
    assert_eq!(d["actions"][4]["durationSeconds"], 12);
    assert_eq!(d["outputs"]["ModelPackageArn"], MODEL_PACKAGE);
    assert_eq!(d["outputs"]["ObjectiveMetricValue"], "0.9134");
    assert!(
        d["links"]["pipelineExecution"].as_str().unwrap().ends_with(
            "/executions/3137f7cb-8b1f-4f2b-a6a5-2f1e9e6f0b5e/timeline?region=us-east-1"
        )
    );
    assert_eq!(d["failure"], Value::Null);
    assert_eq!(d["startTime"], "2026-11-20T09:12:03.208Z");
}

/// A run that tells almost nothing: no source variables, no trigger, no outputs.
fn bare(outcome: State) -> Execution {
    Execution {
        pipeline: "sagemaker-cicd-pipeline".into(),
        execution_id: "0d9c8b7a-6f5e-4d3c-8b2a-1f0e9d8c7b6a".into(),
        region: "eu-west-1".into(),
        outcome,
        attempt: 1,
        started: None,
        ended: None,
        commit: Commit::default(),
        actions: vec![],
        outputs: Default::default(),
        status_summary: None,
        unavailable: None,
        leftovers: Default::default(),
    }
}

#[test]
fn missing_optional_data_leaves_sections_out_but_never_the_essentials() {
    for outcome in [
        State::Succeeded,
        State::Failed,
        State::Stopped,
        State::Superseded,
    ] {
        let word = outcome.as_str().to_owned();
        let n = render(&bare(outcome));
        assert_eq!(n.subject, format!("{word}: sagemaker-cicd-pipeline"));
        let body = &n.body;
        assert!(
            body.contains("The pipeline run for pipeline sagemaker-cicd-pipeline"),
            "{body}"
        );
        for absent in [
            "STAGES",
            "MODEL",
            "WHY IT FAILED",
            "Commit ",
            "Repository",
            "Training job",
            "Tuning job",
            "Started",
            " after ",
        ] {
            assert!(!body.contains(absent), "{absent:?} in\n{body}");
        }
        assert!(body.contains("  Pipeline execution  https://eu-west-1.console.aws.amazon.com/codesuite/codepipeline/pipelines/sagemaker-cicd-pipeline/executions/0d9c8b7a-6f5e-4d3c-8b2a-1f0e9d8c7b6a/timeline?region=eu-west-1\n"), "{body}");
        assert_eq!(
            n.attributes,
            vec![
                ("outcome", word),
                ("pipeline", "sagemaker-cicd-pipeline".into())
            ]
        );
        assert_eq!(n.data["commit"]["id"], Value::Null);
    }
}

#[test]
fn a_run_without_tuning_or_evaluation_shows_the_training_job_alone() {
    let mut x = scenario("succeeded").execution();
    x.actions
        .retain(|a| a.stage != "Tune" && a.stage != "Evaluate");
    x.outputs.retain(|k, _| {
        [
            "TrainingJobName",
            "TrainingJobArn",
            "CommitId",
            "SOURCE_DIR_URI",
        ]
        .contains(&k.as_str())
    });
    let body = render(&x).body;
    assert!(
        body.contains("MODEL\n\n  Training job  sagemaker-cicd-churn-sklearn-9f2c1e4-5d21a7b0\n"),
        "{body}"
    );
    assert!(!body.contains("Tuning job"), "{body}");
    assert!(!body.contains("Metrics"), "{body}");
    assert!(!body.contains("Model registry"), "{body}");
}

#[test]
fn a_failed_action_without_details_still_says_where_to_look() {
    let mut x = scenario("failed").execution();
    let evaluate = x
        .actions
        .iter_mut()
        .find(|a| a.stage == "Evaluate")
        .unwrap();
    evaluate.error = Some(ActionError {
        code: None,
        message: String::new(),
    });
    evaluate.url = None;
    let body = render(&x).body;
    assert!(
        body.contains(
            "  Evaluate / Evaluate\n    CodePipeline gave no reason; see the pipeline execution.\n"
        ),
        "{body}"
    );
}

#[test]
fn details_that_could_not_be_read_are_named() {
    let mut x = scenario("failed").execution();
    x.actions.clear();
    x.unavailable = Some("GetPipelineExecution: AccessDeniedException: not authorized".into());
    let n = render(&x);
    assert!(
        n.body
            .contains("Note: CodePipeline could not tell the details of this run"),
        "{}",
        n.body
    );
    assert!(
        n.body
            .contains("  GetPipelineExecution: AccessDeniedException: not authorized\n"),
        "{}",
        n.body
    );
    assert_eq!(
        n.data["detailsUnavailable"],
        "GetPipelineExecution: AccessDeniedException: not authorized"
    );
    // Without the actions the failed stage is unknown; the subject still says FAILED.
    assert_eq!(n.subject, "FAILED: example-org/churn-model 9f2c1e4 (main)");
}

#[test]
fn a_later_attempt_says_so() {
    let mut x = scenario("succeeded").execution();
    x.attempt = 2;
    let n = render(&x);
    assert_eq!(
        n.subject,
        "SUCCEEDED (attempt 2): example-org/churn-model 9f2c1e4 (main)"
    );
    assert!(
        n.body
            .contains("succeeded in 1h 30m\n(attempt 2 of this run).\n"),
        "{}",
        n.body
    );
}

/// Everything at once, and much too long: every limit must hold.
#[test]
fn long_failure_messages_and_huge_runs_stay_within_sns_limits() {
    let mut x = scenario("failed").execution();
    let huge = "The gate could not be evaluated because ".to_owned() + &"x".repeat(100_000);
    let failed = x
        .actions
        .iter()
        .find(|a| a.status == ActionStatus::Failed)
        .unwrap()
        .clone();
    x.actions = (0..1000)
        .map(|i| ActionRun {
            stage: format!("Stage-{i}-{}", "s".repeat(200)),
            action: "a".repeat(500),
            error: Some(ActionError {
                code: Some("C".repeat(500)),
                message: huge.clone(),
            }),
            summary: Some("y".repeat(10_000)),
            url: Some(format!("https://example.com/{}", "u".repeat(10_000))),
            ..failed.clone()
        })
        .collect();
    x.commit.repository = Some("r".repeat(5000));
    x.commit.branch = Some("feature/".to_owned() + &"é".repeat(3000));
    x.commit.message = Some("m\u{7}".repeat(50_000));
    x.status_summary = Some("s".repeat(50_000));
    x.unavailable = Some("u".repeat(50_000));
    for name in [
        "TrainingJobName",
        "TuningJobName",
        "Verdict",
        "MetricsSummary",
        "ModelPackageArn",
        "ObjectiveMetricName",
    ] {
        x.outputs.insert(name.into(), "v".repeat(100_000));
    }
    for i in 0..500 {
        x.outputs.insert(format!("Extra{i}"), "w".repeat(10_000));
    }

    let n = render(&x);
    assert!(n.subject.len() <= SUBJECT_MAX, "{}", n.subject.len());
    assert!(
        n.subject.starts_with("FAILED in Stage-0-sss"),
        "{}",
        n.subject
    );
    assert!(n.subject.is_ascii());
    assert!(n.body.len() <= BODY_MAX, "{}", n.body.len());
    assert!(
        n.body
            .contains("    The gate could not be evaluated because\n    xxxx"),
        "{}",
        &n.body[..2000]
    );
    assert!(!n.body.contains('\u{7}'));
    let longest = n.body.lines().max_by_key(|l| l.chars().count()).unwrap();
    assert!(
        longest.chars().count() <= 600,
        "a line is too long for mail transports: {longest}"
    );
    assert!(n.sns_size() < MESSAGE_MAX, "{} bytes", n.sns_size());
    let message: Value = serde_json::from_str(&n.sns_message()).unwrap();
    let data: Value = serde_json::from_str(message["sqs"].as_str().unwrap()).unwrap();
    assert_eq!(data["actions"].as_array().unwrap().len(), render::MAX_ROWS);
    assert_eq!(
        data["failure"]["message"].as_str().unwrap().chars().count(),
        render::FAILURE_MESSAGE_MAX
    );
}

#[test]
fn a_long_failure_message_is_shown_whole_up_to_codepipelines_limit() {
    let mut x = scenario("failed").execution();
    // 150 lines of 33 characters: just under CodePipeline's 5000.
    let message: String = (0..150)
        .map(|i| format!("line {i:03}: the metric was missing\n"))
        .collect();
    assert!(message.len() <= render::FAILURE_MESSAGE_MAX);
    let evaluate = x
        .actions
        .iter_mut()
        .find(|a| a.stage == "Evaluate")
        .unwrap();
    evaluate.error.as_mut().unwrap().message = message.clone();
    let n = render(&x);
    for i in 0..150 {
        assert!(
            n.body
                .contains(&format!("    line {i:03}: the metric was missing\n")),
            "line {i}"
        );
    }
    assert!(n.subject.len() <= SUBJECT_MAX);
}

proptest! {
    #[test]
    fn subjects_always_fit_sns(
        repo in "\\PC{0,150}",
        branch in "\\PC{0,80}",
        stage in "\\PC{0,80}",
        pipeline in "[a-zA-Z0-9-]{1,100}",
        attempt in 1u32..1000,
    ) {
        let mut x = scenario("failed").execution();
        x.pipeline = pipeline;
        x.attempt = attempt;
        x.commit.repository = (!repo.is_empty()).then_some(repo);
        x.commit.branch = (!branch.is_empty()).then_some(branch);
        for a in &mut x.actions { a.stage = stage.clone(); }
        let subject = render::subject(&x);
        prop_assert!(!subject.is_empty() && subject.len() <= SUBJECT_MAX, "{subject:?}");
        prop_assert!(subject.chars().all(|c| c.is_ascii_graphic() || c == ' '), "{subject:?}");
        prop_assert!(subject.starts_with("FAILED"), "{subject:?}");
    }
}
