//! `run_job` against scripted CodePipeline responses: every path ends in exactly one result.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_codepipeline::Client;
use aws_sdk_codepipeline::operation::put_job_failure_result::PutJobFailureResultOutput;
use aws_sdk_codepipeline::operation::put_job_success_result::{
    PutJobSuccessResultError, PutJobSuccessResultOutput,
};
use aws_sdk_codepipeline::types::FailureType;
use aws_sdk_codepipeline::types::error::{
    InvalidJobStateException, OutputVariablesSizeExceededException,
};
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use lambda_runtime::{Context, LambdaEvent};
use pipeline_core::{JobError, Outcome, run_job};
use serde_json::Value;

const JOB_ID: &str = "11111111-abcd-1111-abcd-111111abcdef";

fn event() -> Value {
    serde_json::from_str(include_str!(
        "fixtures/codepipeline-job-event.aws-sample.json"
    ))
    .unwrap()
}

fn lambda_event(payload: Value, deadline: u64) -> LambdaEvent<Value> {
    let mut context = Context::default();
    context.deadline = deadline;
    LambdaEvent::new(payload, context)
}

struct Script {
    success: Rule,
    failure: Rule,
}

impl Script {
    fn new(success: Rule) -> Self {
        let failure = mock!(Client::put_job_failure_result)
            .match_requests(|r| r.job_id() == Some(JOB_ID))
            .then_output(|| PutJobFailureResultOutput::builder().build());
        Script { success, failure }
    }
    fn ok() -> Self {
        Self::new(
            mock!(Client::put_job_success_result)
                .match_requests(|r| r.job_id() == Some(JOB_ID))
                .then_output(|| PutJobSuccessResultOutput::builder().build()),
        )
    }
    fn client(&self) -> Client {
        mock_client!(
            aws_sdk_codepipeline,
            RuleMode::MatchAny,
            [&self.success, &self.failure]
        )
    }
    fn calls(&self) -> (usize, usize) {
        (self.success.num_calls(), self.failure.num_calls())
    }
}

/// Captures the failure request the mock saw.
fn failure_rule(seen: std::sync::Arc<std::sync::Mutex<Vec<(FailureType, String)>>>) -> Rule {
    mock!(Client::put_job_failure_result)
        .match_requests(move |r| {
            let d = r.failure_details().unwrap();
            seen.lock()
                .unwrap()
                .push((d.r#type().clone(), d.message().to_owned()));
            true
        })
        .then_output(|| PutJobFailureResultOutput::builder().build())
}

#[tokio::test]
async fn success_reports_variables_once() {
    let success = mock!(Client::put_job_success_result)
        .match_requests(|r| {
            r.continuation_token().is_none()
                && r.output_variables().unwrap()["TrainingJobName"] == "job-1"
                && r.execution_details().unwrap().summary() == Some("started job-1")
        })
        .then_output(|| PutJobSuccessResultOutput::builder().build());
    let script = Script::new(success);
    run_job(
        lambda_event(event(), 0),
        &script.client(),
        |job| async move {
            assert_eq!(job.id, JOB_ID);
            Ok(Outcome::succeeded()
                .variable("TrainingJobName", "job-1")
                .summary("started job-1"))
        },
    )
    .await
    .unwrap();
    assert_eq!(script.calls(), (1, 0));
}

#[tokio::test]
async fn in_progress_reports_a_token_and_no_variables() {
    let success = mock!(Client::put_job_success_result)
        .match_requests(|r| {
            r.continuation_token() == Some("tok")
                && r.output_variables().is_none()
                && r.execution_details().unwrap().percent_complete() == Some(40)
        })
        .then_output(|| PutJobSuccessResultOutput::builder().build());
    let script = Script::new(success);
    run_job(lambda_event(event(), 0), &script.client(), |_| async {
        Ok(Outcome::in_progress("tok").percent(40))
    })
    .await
    .unwrap();
    assert_eq!(script.calls(), (1, 0));
}

#[tokio::test]
async fn an_error_becomes_one_failure_with_its_kind() {
    let seen = Default::default();
    let script = Script {
        success: Script::ok().success,
        failure: failure_rule(std::sync::Arc::clone(&seen)),
    };
    run_job(lambda_event(event(), 0), &script.client(), |_| async {
        Err(JobError::config("trainingjob.json: bad"))
    })
    .await
    .unwrap();
    assert_eq!(script.calls(), (0, 1));
    assert_eq!(
        seen.lock().unwrap()[0],
        (
            FailureType::ConfigurationError,
            "trainingjob.json: bad".to_owned()
        )
    );
}

#[tokio::test]
async fn a_long_message_is_cut_to_the_api_limit() {
    let seen = Default::default();
    let script = Script {
        success: Script::ok().success,
        failure: failure_rule(std::sync::Arc::clone(&seen)),
    };
    run_job(lambda_event(event(), 0), &script.client(), |_| async {
        Err(JobError::failed("é".repeat(4000)))
    })
    .await
    .unwrap();
    let message = seen.lock().unwrap()[0].1.clone();
    assert!(
        message.len() <= 5000 && message.ends_with("[...]"),
        "{}",
        message.len()
    );
}

#[tokio::test]
async fn an_empty_message_still_says_something() {
    let seen = Default::default();
    let script = Script {
        success: Script::ok().success,
        failure: failure_rule(std::sync::Arc::clone(&seen)),
    };
    run_job(lambda_event(event(), 0), &script.client(), |_| async {
        Err(JobError::failed(""))
    })
    .await
    .unwrap();
    assert!(!seen.lock().unwrap()[0].1.is_empty());
}

#[tokio::test]
async fn a_panic_is_reported_exactly_once() {
    let seen = Default::default();
    let script = Script {
        success: Script::ok().success,
        failure: failure_rule(std::sync::Arc::clone(&seen)),
    };
    run_job(lambda_event(event(), 0), &script.client(), |_| async {
        if std::hint::black_box(true) {
            panic!("boom");
        }
        Ok(Outcome::succeeded())
    })
    .await
    .unwrap();
    assert_eq!(script.calls(), (0, 1));
    let (kind, message) = seen.lock().unwrap()[0].clone();
    assert_eq!(kind, FailureType::SystemUnavailable);
    assert!(
        message.contains("panicked at") && message.contains("run_job.rs"),
        "{message}"
    );
}

#[tokio::test]
async fn running_into_the_deadline_is_reported_before_lambda_kills_us() {
    let seen = Default::default();
    let script = Script {
        success: Script::ok().success,
        failure: failure_rule(std::sync::Arc::clone(&seen)),
    };
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    let deadline = (now + Duration::from_millis(3200)).as_millis() as u64;
    run_job(
        lambda_event(event(), deadline),
        &script.client(),
        |_| async {
            tokio::time::sleep(Duration::from_secs(30)).await;
            Ok(Outcome::succeeded())
        },
    )
    .await
    .unwrap();
    assert_eq!(script.calls(), (0, 1));
    assert!(seen.lock().unwrap()[0].1.contains("Lambda timeout"));
}

#[tokio::test]
async fn a_malformed_event_with_a_job_id_is_failed() {
    let script = Script::ok();
    let mut payload = event();
    payload["CodePipeline.job"]["data"]["inputArtifacts"] = Value::from("nope");
    let mut called = false;
    run_job(lambda_event(payload, 0), &script.client(), |_| async {
        called = true;
        Ok(Outcome::succeeded())
    })
    .await
    .unwrap();
    assert!(!called);
    assert_eq!(script.calls(), (0, 1));
}

#[tokio::test]
async fn an_event_that_is_not_a_job_fails_the_invocation() {
    let script = Script::ok();
    let err = run_job(
        lambda_event(serde_json::json!({"hello": 1}), 0),
        &script.client(),
        |_| async { Ok(Outcome::succeeded()) },
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("not a CodePipeline job event"));
    assert_eq!(script.calls(), (0, 0));
}

#[tokio::test]
async fn an_invalid_variable_name_becomes_a_failure() {
    let script = Script::ok();
    run_job(lambda_event(event(), 0), &script.client(), |_| async {
        Ok(Outcome::succeeded().variable("has space", "x"))
    })
    .await
    .unwrap();
    assert_eq!(script.calls(), (0, 1));
}

#[tokio::test]
async fn a_refused_success_still_ends_the_job() {
    let refused = mock!(Client::put_job_success_result).then_error(|| {
        PutJobSuccessResultError::OutputVariablesSizeExceededException(
            OutputVariablesSizeExceededException::builder()
                .message("too big")
                .build(),
        )
    });
    let script = Script::new(refused);
    run_job(lambda_event(event(), 0), &script.client(), |_| async {
        Ok(Outcome::succeeded().variable("A", "b"))
    })
    .await
    .unwrap();
    assert_eq!(script.calls(), (1, 1));
}

#[tokio::test]
async fn a_job_that_already_ended_is_left_alone() {
    let ended = mock!(Client::put_job_success_result).then_error(|| {
        PutJobSuccessResultError::InvalidJobStateException(
            InvalidJobStateException::builder().message("ended").build(),
        )
    });
    let script = Script::new(ended);
    run_job(lambda_event(event(), 0), &script.client(), |_| async {
        Ok(Outcome::succeeded())
    })
    .await
    .unwrap();
    assert_eq!(script.calls(), (1, 0));
}

/// What a handler made real is taken back when its job ends in failure, and only then.
#[tokio::test]
async fn what_a_handler_made_real_is_undone_when_its_job_fails_after_all() {
    use std::sync::{Arc, Mutex};
    let refused = || {
        mock!(Client::put_job_success_result).then_error(|| {
            PutJobSuccessResultError::OutputVariablesSizeExceededException(
                OutputVariablesSizeExceededException::builder()
                    .message("too big")
                    .build(),
            )
        })
    };
    let accepted = || {
        mock!(Client::put_job_success_result)
            .then_output(|| PutJobSuccessResultOutput::builder().build())
    };
    // (CodePipeline's answer to the success, what the handler returns, whether it is undone)
    let cases: Vec<(Rule, Result<Outcome, JobError>, bool)> = vec![
        (refused(), Ok(Outcome::succeeded().variable("A", "b")), true),
        (
            accepted(),
            Ok(Outcome::succeeded().variable("bad key", "b")),
            true,
        ),
        (
            accepted(),
            Err(JobError::failed("a later step failed")),
            true,
        ),
        (
            accepted(),
            Ok(Outcome::succeeded().variable("A", "b")),
            false,
        ),
    ];
    for (success, result, undone) in cases {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let script = Script {
            success,
            failure: failure_rule(Arc::clone(&seen)),
        };
        let reasons = Arc::new(Mutex::new(Vec::<String>::new()));
        let record = Arc::clone(&reasons);
        run_job(lambda_event(event(), 0), &script.client(), |_| async move {
            pipeline_core::run::on_failure(move |reason| async move {
                record.lock().unwrap().push(reason);
                "The thing was taken back.".to_owned()
            });
            result
        })
        .await
        .unwrap();
        let reasons = reasons.lock().unwrap().clone();
        let failures = seen.lock().unwrap().clone();
        assert_eq!(reasons.len(), usize::from(undone), "{reasons:?}");
        assert_eq!(failures.len(), usize::from(undone));
        if undone {
            assert!(
                failures[0].1.ends_with(" The thing was taken back."),
                "{failures:?}"
            );
            assert!(
                failures[0].1.starts_with(&reasons[0]),
                "{failures:?} {reasons:?}"
            );
        }
    }
}
