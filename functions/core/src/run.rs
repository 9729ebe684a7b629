//! The frame around every handler: one event in, exactly one job result out.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex, Once};
use std::time::{Duration, SystemTime};

use aws_sdk_codepipeline::Client;
use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use lambda_runtime::LambdaEvent;
use tracing::{Instrument, error, info, trace, warn};

use crate::event::EventError;
use crate::report::{self, ReportError};
use crate::{Job, JobError, Outcome};

/// Time kept back from the Lambda deadline to report a timeout ourselves.
const DEADLINE_MARGIN: Duration = Duration::from_secs(3);
/// How long a panicking process waits for its failure report before it ends.
const PANIC_REPORT_TIMEOUT: Duration = Duration::from_secs(5);

/// The job a panic must report, until a result has been sent.
#[derive(Clone)]
struct Armed {
    client: Client,
    job_id: String,
}

type Slot = Arc<Mutex<Option<Armed>>>;

/// What a handler made real and must take back if its job ends in failure after all; given the
/// failure message, it returns a sentence for that message.
type Undo = Box<dyn FnOnce(String) -> BoxFuture<'static, String> + Send>;
type UndoSlot = Arc<Mutex<Option<Undo>>>;

tokio::task_local! {
    static ARMED: Slot;
    static UNDO: UndoSlot;
}

/// Registers `undo`, run if this job is reported as a failure although the handler went past the
/// point where `undo` was registered: CodePipeline refused its success, the result did not pass
/// [`Outcome::checked`], the handler failed later or the deadline came. A later call replaces an
/// earlier one. Outside [`run_job`] (a handler called directly) there is nothing to undo for.
pub fn on_failure<F, Fut>(undo: F)
where
    F: FnOnce(String) -> Fut + Send + 'static,
    Fut: Future<Output = String> + Send + 'static,
{
    let undo: Undo = Box::new(move |reason| undo(reason).boxed());
    let _ = UNDO.try_with(|slot| {
        if let Ok(mut slot) = slot.lock() {
            *slot = Some(undo);
        }
    });
}

/// Runs `handler` for one CodePipeline job event and reports its one result.
///
/// - an `Err` from the handler becomes `PutJobFailureResult` with its kind and message;
/// - a panic becomes a failure result, sent from the panic hook so that it also works when the
///   release build aborts on panic;
/// - a handler still running near the Lambda deadline becomes a failure result;
/// - an event without a job id cannot be reported and fails the invocation instead.
///
/// The event is never logged: it carries the artifact credentials.
pub async fn run_job<F, Fut>(
    event: LambdaEvent<serde_json::Value>,
    client: &Client,
    handler: F,
) -> Result<(), lambda_runtime::Error>
where
    F: FnOnce(Job) -> Fut,
    Fut: Future<Output = Result<Outcome, JobError>>,
{
    install_panic_hook();
    let deadline = event.context.deadline;
    let job = match Job::from_event(event.payload) {
        Ok(job) => job,
        Err(EventError::NotAJob(reason)) => {
            error!(%reason, "not a CodePipeline job event; nothing can be reported");
            return Err(format!("not a CodePipeline job event: {reason}").into());
        }
        Err(err @ EventError::Malformed { .. }) => {
            let EventError::Malformed { job_id, .. } = &err else {
                unreachable!()
            };
            let job_id = job_id.clone();
            let span =
                tracing::info_span!("job", job_id = %job_id, execution_id = tracing::field::Empty);
            return finish(
                client,
                &job_id,
                Err(JobError::system(err.to_string())),
                None,
            )
            .instrument(span)
            .await;
        }
    };

    let span = tracing::info_span!("job", job_id = %job.id, execution_id = tracing::field::Empty);
    span.in_scope(|| {
        trace!(
            input_artifacts = job.input_artifacts.len(),
            continuation = job.continuation_token.is_some(),
            "read the job from its event"
        )
    });
    let job_id = job.id.clone();
    let slot: Slot = Arc::new(Mutex::new(Some(Armed {
        client: client.clone(),
        job_id: job_id.clone(),
    })));

    let undo = UndoSlot::default();
    let work = AssertUnwindSafe(handler(job)).catch_unwind();
    let result = ARMED
        .scope(
            slot.clone(),
            UNDO.scope(undo.clone(), async {
                match time_left(deadline) {
                    Some(left) => tokio::time::timeout(left, work).await.ok(),
                    None => Some(work.await),
                }
            }),
        )
        .instrument(span.clone())
        .await;
    let undo = undo.lock().map(|mut u| u.take()).unwrap_or(None);

    // Whoever takes the slot reports; a panic hook that ran first has taken it already.
    let armed = slot.lock().map(|mut s| s.take()).unwrap_or(None);
    async {
        let Some(armed) = armed else {
            info!("the panic was reported by the panic hook");
            return Ok(());
        };
        let result = match result {
            Some(Ok(result)) => result,
            Some(Err(_panic)) => Err(JobError::system("the function panicked; this is a bug in the pipeline")),
            None => Err(JobError::system(format!(
                "the function did not finish before its Lambda timeout; raise Timeout of the function in \
                 template.yaml (it must leave {}s to report)",
                DEADLINE_MARGIN.as_secs()
            ))),
        };
        finish(&armed.client, &armed.job_id, result, undo).await
    }
    .instrument(span)
    .await
}

/// Records the pipeline execution id on the current job span, so every later line carries it.
pub fn record_execution_id(execution_id: &str) {
    tracing::Span::current().record("execution_id", execution_id);
}

async fn finish(
    client: &Client,
    job_id: &str,
    result: Result<Outcome, JobError>,
    undo: Option<Undo>,
) -> Result<(), lambda_runtime::Error> {
    let mut failure = match result.and_then(Outcome::checked) {
        Ok(outcome) => {
            let done = matches!(outcome, Outcome::Succeeded { .. });
            match report::put_outcome(client, job_id, outcome).await {
                Ok(()) => {
                    info!(done, "reported success");
                    return Ok(());
                }
                // CodePipeline refused the success itself (e.g. output variables too large): the
                // job must still end, so report why it could not succeed.
                Err(ReportError::Api(reason)) => {
                    warn!(%reason, "success was refused; reporting a failure instead");
                    JobError::system(format!(
                        "the action succeeded but CodePipeline refused its result: {reason}"
                    ))
                }
                Err(already @ ReportError::AlreadyReported(_)) => return settled(Err(already)),
            }
        }
        Err(failure) => failure,
    };
    if let Some(undo) = undo {
        let undone = undo(failure.message.clone()).await;
        failure.message = format!("{} {undone}", failure.message.trim_end());
    }
    info!(kind = failure.kind.as_str(), message = %failure.message, "reporting failure");
    settled(report::put_failure(client, job_id, &failure).await)
}

fn settled(sent: Result<(), ReportError>) -> Result<(), lambda_runtime::Error> {
    match sent {
        Ok(()) => Ok(()),
        Err(ReportError::AlreadyReported(reason)) => {
            // A duplicate delivery of a job that already ended: nothing left to do.
            warn!(%reason, "the job already had a result");
            Ok(())
        }
        Err(err) => {
            error!(error = %err, "the job result could not be sent");
            Err(err.into())
        }
    }
}

fn time_left(deadline_ms: u64) -> Option<Duration> {
    if deadline_ms == 0 {
        return None; // no deadline known (tests, local tools)
    }
    let deadline = SystemTime::UNIX_EPOCH + Duration::from_millis(deadline_ms);
    let left = deadline
        .duration_since(SystemTime::now())
        .unwrap_or_default();
    Some(left.saturating_sub(DEADLINE_MARGIN))
}

fn install_panic_hook() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            // Only a panic inside a job's handler has a job to report.
            if let Ok(Some(armed)) =
                ARMED.try_with(|slot| slot.lock().map(|mut s| s.take()).unwrap_or(None))
            {
                let location = info
                    .location()
                    .map(|l| format!(" at {}:{}", l.file(), l.line()))
                    .unwrap_or_default();
                let message =
                    format!("the function panicked{location}; this is a bug in the pipeline");
                error!(%message, "reporting the panic");
                report_from_panic(armed, JobError::system(message));
            }
            previous(info);
        }));
    });
}

/// Reports from a fresh thread, runtime and client: the panicking thread may be the one that
/// drives the main runtime (current-thread in every function), which then runs nothing more, and
/// the process may abort right after the hook. The armed client would reuse a pooled connection
/// whose I/O only that runtime drives, and wait on it until the timeout. A client rebuilt from
/// its config gets its own HTTP client from the SDK, so its connections belong to the new
/// runtime (an HTTP client set explicitly on the config, as tests' mocks are, is kept).
fn report_from_panic(armed: Armed, failure: JobError) {
    let worker = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build();
        match runtime {
            Ok(runtime) => runtime.block_on(async {
                let client = Client::from_conf(armed.client.config().clone());
                let sent = tokio::time::timeout(
                    PANIC_REPORT_TIMEOUT,
                    report::put_failure(&client, &armed.job_id, &failure),
                )
                .await;
                if !matches!(sent, Ok(Ok(()))) {
                    error!("the panic could not be reported to CodePipeline");
                }
            }),
            Err(err) => error!(error = %err, "no runtime to report the panic"),
        }
    });
    let _ = worker.join();
}
