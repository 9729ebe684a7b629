//! notify against scripted CodePipeline, S3 and SNS: what is published, how often, and what the
//! marker says afterwards.

mod support;

use notify::marker::{self, LEASE};
use notify::{NotifyError, Report, handle};
use serde_json::json;
use support::*;

async fn run(world: &World, name: &str) -> Result<Report, NotifyError> {
    run_with(&world.notifier, name).await
}

async fn run_with(notifier: &notify::Notifier, name: &str) -> Result<Report, NotifyError> {
    handle(notifier, event(name), now_after(name)).await
}

#[tokio::test]
async fn every_final_state_sends_one_message_and_records_it() {
    for name in FINAL_STATES {
        let world = World::of(name);
        let report = run(&world, name).await.unwrap();
        let sent = world.sns.only();
        assert_eq!(sent.topic_arn(), Some(TOPIC));
        let subject = sent.subject().unwrap();
        assert!(
            subject.starts_with(&name.to_uppercase()),
            "{name}: {subject}"
        );
        assert!(
            subject.contains("example-org/churn-model 9f2c1e4"),
            "{subject}"
        );
        assert_eq!(
            report,
            Report::Sent {
                message_id: "msg-1".into(),
                subject: subject.to_owned()
            }
        );
        // What was published is what the pure renderer makes of the same execution.
        let expected = notify::render::render(&scenario(name).execution());
        assert_eq!(variant(&sent, "email"), expected.body, "{name}");
        assert_eq!(sent.message(), Some(expected.sns_message().as_str()));
        let attributes = sent.message_attributes().unwrap();
        assert_eq!(
            attributes["outcome"].string_value(),
            Some(name.to_uppercase().as_str())
        );
        assert_eq!(attributes["repository"].string_value(), Some(REPOSITORY));
        assert_eq!(attributes["outcome"].data_type(), "String");

        let marker = world.s3.marker(&marker_key(name)).unwrap();
        assert_eq!(marker["state"], "sent", "{name}: {marker}");
        assert_eq!(marker["message_id"], "msg-1");
    }
}

#[tokio::test]
async fn a_duplicate_delivery_sends_no_second_email() {
    let world = World::of("failed");
    run(&world, "failed").await.unwrap();
    let second = run(&world, "failed").await.unwrap();
    assert_eq!(
        second,
        Report::AlreadySent {
            message_id: "msg-1".into()
        }
    );
    // A day later too: a sent marker never expires.
    let late = handle(
        &world.notifier,
        event("failed"),
        aws_smithy_types::DateTime::from_secs(now_after("failed").secs() + 86_400),
    )
    .await
    .unwrap();
    assert!(matches!(late, Report::AlreadySent { .. }), "{late:?}");
    assert_eq!(world.sns.count(), 1);
}

#[tokio::test]
async fn concurrent_deliveries_send_one_email() {
    let world = World::of("succeeded");
    let (a, b, c) = tokio::join!(
        run(&world, "succeeded"),
        run(&world, "succeeded"),
        run(&world, "succeeded")
    );
    let reports = [a.unwrap(), b.unwrap(), c.unwrap()];
    let sent = reports
        .iter()
        .filter(|r| matches!(r, Report::Sent { .. }))
        .count();
    assert_eq!(sent, 1, "{reports:?}");
    assert_eq!(world.sns.count(), 1);
}

#[tokio::test]
async fn another_attempt_of_the_same_execution_gets_its_own_email() {
    let world = World::of("failed");
    run(&world, "failed").await.unwrap();
    let mut retried = event("failed");
    retried["detail"]["pipeline-execution-attempt"] = json!(2.0);
    let report = handle(&world.notifier, retried, now_after("failed"))
        .await
        .unwrap();
    assert!(matches!(report, Report::Sent { .. }), "{report:?}");
    assert_eq!(world.sns.count(), 2);
    let subjects: Vec<String> = world
        .sns
        .published
        .lock()
        .unwrap()
        .iter()
        .map(|p| p.subject().unwrap().to_owned())
        .collect();
    assert_eq!(
        subjects[1],
        "FAILED in Evaluate (attempt 2): example-org/churn-model 9f2c1e4 (main)"
    );
}

#[tokio::test]
async fn a_fresh_sending_marker_of_another_invocation_is_left_to_it() {
    let world = World::of("succeeded");
    let now = now_after("succeeded");
    let since = marker::timestamp(aws_smithy_types::DateTime::from_secs(now.secs() - 10));
    world.s3.insert(
        &marker_key("succeeded"),
        json!({"state": "sending", "since": since, "event_id": "x"}),
    );
    let report = run(&world, "succeeded").await.unwrap();
    assert_eq!(report, Report::InFlight { since });
    assert_eq!(world.sns.count(), 0);
}

#[tokio::test]
async fn a_sending_marker_older_than_the_lease_is_reported_and_not_sent_again() {
    // Its sender ended without recording whether SNS took the message: sending again could
    // make two emails, so the delivery fails for the failure queue, saying what to do.
    let world = World::of("succeeded");
    let now = now_after("succeeded");
    let since = marker::timestamp(aws_smithy_types::DateTime::from_secs(
        now.secs() - LEASE.as_secs() as i64,
    ));
    world.s3.insert(
        &marker_key("succeeded"),
        json!({"state": "sending", "since": since, "event_id": "x"}),
    );
    let err = run(&world, "succeeded").await.unwrap_err();
    assert_eq!(world.sns.count(), 0);
    let message = err.to_string();
    assert!(
        message.starts_with(&format!(
            "a delivery began sending this notification at {since} and never recorded whether \
             SNS accepted it (s3://sagemaker-cicd-artifacts/{} still says sending)",
            marker_key("succeeded")
        )),
        "{message}"
    );
    assert!(
        message.contains("delete the marker and redrive the event"),
        "{message}"
    );
    let diagnostic = lambda_runtime::Diagnostic::from(err);
    assert_eq!(diagnostic.error_type, "notify.Unconfirmed");
    assert_eq!(
        world.s3.marker(&marker_key("succeeded")).unwrap()["state"],
        "sending"
    );
}

#[tokio::test]
async fn an_unreadable_marker_is_taken_over() {
    let world = World::of("stopped");
    world
        .s3
        .insert(&marker_key("stopped"), json!({"something": "else"}));
    assert!(matches!(
        run(&world, "stopped").await.unwrap(),
        Report::Sent { .. }
    ));
    assert_eq!(world.sns.count(), 1);
}

#[tokio::test]
async fn a_publish_failure_is_an_error_and_the_retry_still_sends() {
    let world = World::of("failed");
    *world.sns.fail.lock().unwrap() = true;
    let err = run(&world, "failed").await.unwrap_err();
    assert!(matches!(err, NotifyError::Publish(_)), "{err:?}");
    let message = err.to_string();
    assert!(
        message.starts_with(&format!("SNS Publish to {TOPIC} failed: KMSDisabled")),
        "{message}"
    );
    assert!(
        message.contains("failure queue (NotifyFailureQueue) keeps it"),
        "{message}"
    );
    let diagnostic = lambda_runtime::Diagnostic::from(err);
    assert_eq!(diagnostic.error_type, "notify.PublishFailed");
    let marker = world.s3.marker(&marker_key("failed")).unwrap();
    assert_eq!(marker["state"], "failed", "{marker}");

    // Lambda retries a minute later: the failed marker is released at once.
    *world.sns.fail.lock().unwrap() = false;
    let report = handle(
        &world.notifier,
        event("failed"),
        aws_smithy_types::DateTime::from_secs(now_after("failed").secs() + 60),
    )
    .await
    .unwrap();
    assert!(matches!(report, Report::Sent { .. }), "{report:?}");
    assert_eq!(world.sns.count(), 1);
    assert_eq!(
        world.s3.marker(&marker_key("failed")).unwrap()["state"],
        "sent"
    );
}

#[tokio::test]
async fn a_publish_failure_whose_marker_cannot_be_released_is_sent_by_the_retry_in_the_same_environment()
 {
    let world = World::of("failed");
    *world.sns.fail.lock().unwrap() = true;
    *world.s3.refuse_bodies_with.lock().unwrap() = Some("\"failed\"".into());
    assert!(run(&world, "failed").await.is_err());
    assert_eq!(
        world.s3.marker(&marker_key("failed")).unwrap()["state"],
        "sending"
    );
    *world.sns.fail.lock().unwrap() = false;
    *world.s3.refuse_bodies_with.lock().unwrap() = None;
    // Lambda's first retry comes a minute after the failure, past the lease.
    let retry = aws_smithy_types::DateTime::from_secs(now_after("failed").secs() + 60);
    let report = handle(&world.notifier, event("failed"), retry)
        .await
        .unwrap();
    assert!(matches!(report, Report::Sent { .. }), "{report:?}");
    assert_eq!(world.sns.count(), 1);
}

#[tokio::test]
async fn a_failure_to_record_the_send_is_retried() {
    let world = World::of("succeeded");
    *world.s3.refuse_bodies_with.lock().unwrap() = Some("\"sent\"".into());
    *world.s3.refusals_left.lock().unwrap() = Some(2);
    let report = run(&world, "succeeded").await.unwrap();
    assert!(matches!(report, Report::Sent { .. }), "{report:?}");
    assert_eq!(
        world.s3.marker(&marker_key("succeeded")).unwrap()["state"],
        "sent"
    );
    assert_eq!(world.sns.count(), 1);
}

#[tokio::test]
async fn a_send_that_cannot_be_recorded_fails_and_its_retry_records_it_without_sending() {
    let world = World::of("succeeded");
    *world.s3.refuse_bodies_with.lock().unwrap() = Some("\"sent\"".into());
    let err = run(&world, "succeeded").await.unwrap_err();
    let message = err.to_string();
    assert!(
        message.starts_with("the notification was sent (SNS message msg-1) but not recorded: "),
        "{message}"
    );
    assert_eq!(
        lambda_runtime::Diagnostic::from(err).error_type,
        "notify.SentNotRecorded"
    );
    assert_eq!(
        world.s3.marker(&marker_key("succeeded")).unwrap()["state"],
        "sending"
    );

    // S3 recovers; Lambda retries the event a minute later in the same environment.
    *world.s3.refuse_bodies_with.lock().unwrap() = None;
    let retry = aws_smithy_types::DateTime::from_secs(now_after("succeeded").secs() + 60);
    let report = handle(&world.notifier, event("succeeded"), retry)
        .await
        .unwrap();
    assert_eq!(
        report,
        Report::AlreadySent {
            message_id: "msg-1".into()
        }
    );
    let marker = world.s3.marker(&marker_key("succeeded")).unwrap();
    assert_eq!(marker["state"], "sent", "{marker}");
    assert_eq!(marker["message_id"], "msg-1", "{marker}");
    assert_eq!(world.sns.count(), 1);
}

#[tokio::test]
async fn after_a_send_that_cannot_be_recorded_no_later_delivery_sends_again() {
    let world = World::of("succeeded");
    *world.s3.refuse_bodies_with.lock().unwrap() = Some("\"sent\"".into());
    let _first = run(&world, "succeeded").await;
    assert_eq!(world.sns.count(), 1);
    *world.s3.refuse_bodies_with.lock().unwrap() = None;
    // Another execution environment knows nothing of the send. Within the lease it leaves the
    // notification to its sender; Lambda's retry a minute later, and a duplicate a day later,
    // do not send it again.
    let other = world.another_environment("succeeded");
    assert!(matches!(
        run_with(&other, "succeeded").await.unwrap(),
        Report::InFlight { .. }
    ));
    for later in [60, 86_400] {
        let at = aws_smithy_types::DateTime::from_secs(now_after("succeeded").secs() + later);
        let err = handle(&other, event("succeeded"), at).await.unwrap_err();
        assert_eq!(
            lambda_runtime::Diagnostic::from(err).error_type,
            "notify.Unconfirmed"
        );
    }
    assert_eq!(world.sns.count(), 1);
}

#[tokio::test]
async fn a_publish_failure_whose_marker_cannot_be_released_is_unconfirmed_elsewhere() {
    // The window the marker leaves: another environment cannot tell this `sending` from one
    // whose email went out, so it sends nothing and says so (the email is missing, not doubled).
    let world = World::of("failed");
    *world.sns.fail.lock().unwrap() = true;
    *world.s3.refuse_bodies_with.lock().unwrap() = Some("\"failed\"".into());
    assert!(run(&world, "failed").await.is_err());
    *world.sns.fail.lock().unwrap() = false;
    *world.s3.refuse_bodies_with.lock().unwrap() = None;
    let retry = aws_smithy_types::DateTime::from_secs(now_after("failed").secs() + 60);
    let err = handle(&world.another_environment("failed"), event("failed"), retry)
        .await
        .unwrap_err();
    assert_eq!(
        lambda_runtime::Diagnostic::from(err).error_type,
        "notify.Unconfirmed"
    );
    assert_eq!(world.sns.count(), 0);
}

#[tokio::test]
async fn no_marker_no_email() {
    let world = World::of("succeeded");
    *world.s3.refuse_puts.lock().unwrap() = Some(403);
    let err = run(&world, "succeeded").await.unwrap_err();
    assert!(matches!(err, NotifyError::Marker(_)), "{err:?}");
    let message = err.to_string();
    assert!(
        message.starts_with(
            "cannot write the notification marker s3://sagemaker-cicd-artifacts/notifications/sagemaker-cicd-pipeline/3137f7cb-8b1f-4f2b-a6a5-2f1e9e6f0b5e/attempt-1.json: AccessDenied"
        ),
        "{message}"
    );
    assert!(
        message.contains("Check the function's S3 and KMS permissions"),
        "{message}"
    );
    assert_eq!(world.sns.count(), 0);
}

#[tokio::test]
async fn states_that_are_not_final_send_nothing() {
    let world = World::new(codepipeline_denied());
    for state in ["STARTED", "STOPPING", "RESUMED"] {
        let mut e = event("succeeded");
        e["detail"]["state"] = state.into();
        let report = handle(&world.notifier, e, now_after("succeeded"))
            .await
            .unwrap();
        assert_eq!(
            report,
            Report::NotFinal {
                state: state.into()
            }
        );
    }
    assert_eq!(world.sns.count(), 0);
    assert_eq!(world.s3.puts.load(std::sync::atomic::Ordering::SeqCst), 0);
}

#[tokio::test]
async fn an_event_of_another_shape_is_an_error_for_the_failure_queue() {
    let world = World::of("succeeded");
    let err = handle(
        &world.notifier,
        json!({"hello": "world"}),
        now_after("succeeded"),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, NotifyError::Event(_)), "{err:?}");
    assert!(
        err.to_string()
            .starts_with("the event is not a CodePipeline pipeline execution state change"),
        "{err}"
    );
    assert_eq!(world.sns.count(), 0);
}

#[tokio::test]
async fn without_codepipeline_permissions_the_email_still_goes_out_with_what_the_event_says() {
    let world = World::new(codepipeline_denied());
    let report = run(&world, "failed").await.unwrap();
    assert!(matches!(report, Report::Sent { .. }), "{report:?}");
    let sent = world.sns.only();
    // The event's trigger names the commit.
    assert_eq!(
        sent.subject(),
        Some("FAILED: example-org/churn-model 9f2c1e4 (main)")
    );
    let body = variant(&sent, "email");
    assert!(
        body.contains("The reason:\n  GetPipelineExecution: AccessDeniedException: User is not authorized to perform: codepipeline:GetPipelineExecution\n  ListActionExecutions: AccessDeniedException: "),
        "{body}"
    );
    assert!(
        body.contains("Author      Mary Major, 2026-11-20 09:10:41 UTC\n"),
        "{body}"
    );
    assert!(!body.contains("STAGES"), "{body}");
}

#[tokio::test]
async fn an_event_without_trigger_or_details_still_sends_a_useful_email() {
    let world = World::new(codepipeline_denied());
    let report = run(&world, "superseded").await.unwrap();
    assert!(matches!(report, Report::Sent { .. }), "{report:?}");
    let sent = world.sns.only();
    assert_eq!(sent.subject(), Some("SUPERSEDED: sagemaker-cicd-pipeline"));
    let attributes = sent.message_attributes().unwrap();
    assert!(!attributes.contains_key("repository"));
    assert_eq!(
        attributes["pipeline"].string_value(),
        Some("sagemaker-cicd-pipeline")
    );
    let body = variant(&sent, "email");
    assert!(
        body.contains("/executions/a9b8c7d6-e5f4-4a3b-8c2d-1e0f9a8b7c6d/timeline"),
        "{body}"
    );
}

#[tokio::test]
async fn list_action_executions_is_read_page_by_page() {
    // The scripted CodePipeline answers in pages of two: five actions need three pages.
    let world = World::of("succeeded");
    run(&world, "succeeded").await.unwrap();
    let body = variant(&world.sns.only(), "email");
    for stage in ["Source", "Build", "Train", "Tune", "Evaluate"] {
        assert!(
            body.contains(&format!("\n  {stage} ")),
            "{stage} missing:\n{body}"
        );
    }
}

mod leftovers {
    use super::*;
    use aws_sdk_sagemaker::operation::list_hyper_parameter_tuning_jobs::ListHyperParameterTuningJobsOutput;
    use aws_sdk_sagemaker::operation::list_tags::ListTagsOutput;
    use aws_sdk_sagemaker::operation::list_training_jobs::ListTrainingJobsOutput;
    use aws_sdk_sagemaker::operation::stop_hyper_parameter_tuning_job::StopHyperParameterTuningJobOutput;
    use aws_sdk_sagemaker::operation::stop_training_job::StopTrainingJobOutput;
    use aws_sdk_sagemaker::types::{
        HyperParameterTuningJobStatus, HyperParameterTuningJobStrategyType,
        HyperParameterTuningJobSummary, ObjectiveStatusCounters, Tag, TrainingJobStatus,
        TrainingJobStatusCounters, TrainingJobSummary,
    };
    use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
    use aws_smithy_types::DateTime;
    use notify::sweep::Sweeper;

    const TUNING: &str = "sagemaker-cicd-9f2c1e4-5d41402a";
    const ITS_TRAINING: &str = "sagemaker-cicd-9f2c1e4-5d41402a-003-0f1e2d3c";
    const OTHER_RUNS: &str = "sagemaker-cicd-churn-1a2b3c4-77777777";
    const ARN: &str = "arn:aws:sagemaker:eu-west-1:123456789012:";

    /// SageMaker with one tuning job of `execution` running (and one of its training jobs), and
    /// a training job of another run.
    fn sagemaker(
        execution: &'static str,
        stop_fails: bool,
    ) -> (Vec<Rule>, aws_sdk_sagemaker::Client) {
        let tunings = mock!(aws_sdk_sagemaker::Client::list_hyper_parameter_tuning_jobs)
            .match_requests(|r| {
                r.status_equals() == Some(&HyperParameterTuningJobStatus::InProgress)
                    && r.name_contains() == Some("sagemaker-cicd")
            })
            .then_output(|| {
                ListHyperParameterTuningJobsOutput::builder()
                    .hyper_parameter_tuning_job_summaries(
                        HyperParameterTuningJobSummary::builder()
                            .hyper_parameter_tuning_job_name(TUNING)
                            .hyper_parameter_tuning_job_arn(format!(
                                "{ARN}hyper-parameter-tuning-job/{TUNING}"
                            ))
                            .hyper_parameter_tuning_job_status(
                                HyperParameterTuningJobStatus::InProgress,
                            )
                            .strategy(HyperParameterTuningJobStrategyType::Bayesian)
                            .creation_time(DateTime::from_secs(0))
                            .training_job_status_counters(
                                TrainingJobStatusCounters::builder().build(),
                            )
                            .objective_status_counters(ObjectiveStatusCounters::builder().build())
                            .build(),
                    )
                    .build()
            });
        let trainings = mock!(aws_sdk_sagemaker::Client::list_training_jobs)
            .match_requests(|r| r.status_equals() == Some(&TrainingJobStatus::InProgress))
            .then_output(|| {
                let job = |name: &str| {
                    TrainingJobSummary::builder()
                        .training_job_name(name)
                        .training_job_arn(format!("{ARN}training-job/{name}"))
                        .training_job_status(TrainingJobStatus::InProgress)
                        .creation_time(DateTime::from_secs(0))
                        .build()
                };
                ListTrainingJobsOutput::builder()
                    .training_job_summaries(job(ITS_TRAINING))
                    .training_job_summaries(job(OTHER_RUNS))
                    .build()
            });
        let tags = mock!(aws_sdk_sagemaker::Client::list_tags).then_compute_response(move |r| {
            let id = if r.resource_arn().is_some_and(|a| a.ends_with(OTHER_RUNS)) {
                "another-execution"
            } else {
                execution
            };
            aws_smithy_mocks::MockResponse::Output(
                ListTagsOutput::builder()
                    .tags(
                        Tag::builder()
                            .key("pipeline:commit")
                            .value("9f2c1e4")
                            .build(),
                    )
                    .tags(
                        Tag::builder()
                            .key("pipeline:execution-id")
                            .value(id)
                            .build(),
                    )
                    .build(),
            )
        });
        let stop_tuning = if stop_fails {
            mock!(aws_sdk_sagemaker::Client::stop_hyper_parameter_tuning_job).then_error(|| {
                aws_sdk_sagemaker::operation::stop_hyper_parameter_tuning_job::StopHyperParameterTuningJobError::generic(
                    aws_sdk_sagemaker::error::ErrorMetadata::builder().code("AccessDeniedException").message("not allowed").build(),
                )
            })
        } else {
            mock!(aws_sdk_sagemaker::Client::stop_hyper_parameter_tuning_job)
                .match_requests(|r| r.hyper_parameter_tuning_job_name() == Some(TUNING))
                .then_output(|| StopHyperParameterTuningJobOutput::builder().build())
        };
        let stop_training = mock!(aws_sdk_sagemaker::Client::stop_training_job)
            .then_output(|| StopTrainingJobOutput::builder().build());
        let rules = vec![tunings, trainings, tags, stop_tuning, stop_training];
        let client = mock_client!(aws_sdk_sagemaker, RuleMode::MatchAny, &rules);
        (rules, client)
    }

    fn sweeping(name: &str, stop_fails: bool) -> (World, Vec<Rule>) {
        let mut world = World::of(name);
        let execution = event(name)["detail"]["execution-id"]
            .as_str()
            .unwrap()
            .to_owned();
        let (rules, client) = sagemaker(Box::leak(execution.into_boxed_str()), stop_fails);
        world.notifier.sweeper = Some(Sweeper {
            sagemaker: client,
            job_prefix: "sagemaker-cicd".into(),
        });
        (world, rules)
    }

    #[tokio::test]
    async fn a_run_that_did_not_succeed_stops_the_jobs_it_left_running_and_says_which() {
        for name in ["failed", "stopped", "superseded"] {
            let (world, rules) = sweeping(name, false);
            run(&world, name).await.unwrap();
            let body = variant(&world.sns.only(), "email");
            assert!(
                body.contains(&format!(
                    "JOBS LEFT RUNNING\n\n  Stopped the tuning job {TUNING}.\n"
                )),
                "{name}: {body}"
            );
            // Its own training job goes with the tuning job; another run's is not touched.
            assert!(
                !body.contains(ITS_TRAINING) && !body.contains(OTHER_RUNS),
                "{body}"
            );
            let [_, _, _, stop_tuning, stop_training] = &rules[..] else {
                unreachable!()
            };
            assert_eq!(
                (stop_tuning.num_calls(), stop_training.num_calls()),
                (1, 0),
                "{name}"
            );
        }
    }

    #[tokio::test]
    async fn a_job_that_cannot_be_stopped_is_named_with_the_reason() {
        let (world, _rules) = sweeping("failed", true);
        run(&world, "failed").await.unwrap();
        let body = variant(&world.sns.only(), "email");
        assert!(
            body.contains(&format!("Could not stop the tuning job {TUNING}: "))
                && body.contains("not allowed")
                && body.contains("Stop it in the SageMaker console"),
            "{body}"
        );
    }

    #[tokio::test]
    async fn a_run_that_succeeded_looks_for_nothing() {
        let (world, rules) = sweeping("succeeded", false);
        run(&world, "succeeded").await.unwrap();
        assert!(rules.iter().all(|r| r.num_calls() == 0));
        assert!(!variant(&world.sns.only(), "email").contains("JOBS LEFT RUNNING"));
    }
}
