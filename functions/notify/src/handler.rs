//! One event in, at most one notification out: parse, gather, render, claim, publish.

use aws_smithy_types::DateTime;
use serde::Serialize;
use tracing::{Instrument, error, info, info_span, warn};

use crate::event::{EventError, PipelineEvent, State};
use crate::marker::{self, Claim, Marker, MarkerError, Markers};
use crate::publish::{PublishError, publish};
use crate::settings::Settings;
use crate::sweep::Sweeper;
use crate::{gather, render};

/// The clients and settings of the function, built once per process.
#[derive(Clone, Debug)]
pub struct Notifier {
    pub codepipeline: aws_sdk_codepipeline::Client,
    pub sns: aws_sdk_sns::Client,
    pub markers: Markers,
    pub topic_arn: String,
    /// Stops the jobs a run that did not succeed left running; `None`: not looked for.
    pub sweeper: Option<Sweeper>,
}

impl Notifier {
    /// Path-style S3 addressing when an S3 endpoint is overridden (a local S3 has no
    /// virtual-host buckets), as the artifact store of the other functions does.
    pub fn from_config(config: &aws_config::SdkConfig, settings: &Settings) -> Self {
        let local = ["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"]
            .iter()
            .any(|var| std::env::var_os(var).is_some_and(|v| !v.is_empty()));
        let s3 = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(config)
                .force_path_style(local)
                .build(),
        );
        Notifier {
            codepipeline: aws_sdk_codepipeline::Client::new(config),
            sns: aws_sdk_sns::Client::new(config),
            markers: Markers::new(s3, &settings.bucket),
            topic_arn: settings.topic_arn.clone(),
            sweeper: Some(Sweeper {
                sagemaker: aws_sdk_sagemaker::Client::new(config),
                job_prefix: settings.job_prefix.clone(),
            }),
        }
    }
}

/// What the invocation did (the function's response; nobody waits for it, but it reads well in
/// a test invoke).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(
    tag = "result",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum Report {
    Sent { message_id: String, subject: String },
    AlreadySent { message_id: String },
    InFlight { since: String },
    NotFinal { state: String },
}

#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error(transparent)]
    Event(#[from] EventError),
    #[error(transparent)]
    Marker(#[from] MarkerError),
    #[error(
        "{0}. Lambda retries the event; when every retry fails, the failure queue \
         (NotifyFailureQueue) keeps it"
    )]
    Publish(#[from] PublishError),
    /// The email is out; a retry must not send it again.
    #[error(
        "the notification was sent (SNS message {message_id}) but not recorded: {source}. It is \
         not sent again: a retry in this execution environment records it, one elsewhere \
         reports it unconfirmed"
    )]
    Unrecorded {
        message_id: String,
        source: MarkerError,
    },
}

/// The error as Lambda records it (the on-failure destination keeps both fields).
impl From<NotifyError> for lambda_runtime::Diagnostic {
    fn from(e: NotifyError) -> Self {
        let kind = match e {
            NotifyError::Event(_) => "UnusableEvent",
            NotifyError::Marker(MarkerError::Unconfirmed { .. }) => "Unconfirmed",
            NotifyError::Marker(_) => "MarkerUnavailable",
            NotifyError::Publish(_) => "PublishFailed",
            NotifyError::Unrecorded { .. } => "SentNotRecorded",
        };
        lambda_runtime::Diagnostic {
            error_type: format!("notify.{kind}"),
            error_message: e.to_string(),
        }
    }
}

/// Handles one EventBridge event. `now` is the invocation's clock (the marker's lease).
///
/// An `Err` makes Lambda retry the event and, when retries are exhausted, send it to the
/// on-failure destination; a duplicate delivery is an `Ok`.
pub async fn handle(
    notifier: &Notifier,
    event: serde_json::Value,
    now: DateTime,
) -> Result<Report, NotifyError> {
    let event =
        PipelineEvent::parse(event).inspect_err(|e| error!(error = %e, "unusable event"))?;
    let span = info_span!(
        "notify",
        pipeline = %event.detail.pipeline,
        execution_id = %event.detail.execution_id,
        state = %event.detail.state,
        attempt = event.attempt(),
    );
    notify(notifier, event, now).instrument(span).await
}

async fn notify(
    notifier: &Notifier,
    event: PipelineEvent,
    now: DateTime,
) -> Result<Report, NotifyError> {
    if !event.detail.state.is_final() {
        info!("not a final state; nothing to send");
        return Ok(Report::NotFinal {
            state: event.detail.state.to_string(),
        });
    }

    let mut execution = gather::gather(&notifier.codepipeline, &event).await;
    if event.detail.state != State::Succeeded
        && let Some(sweeper) = &notifier.sweeper
    {
        execution.leftovers = sweeper.sweep(&event.detail.execution_id).await;
    }
    let notification = render::render(&execution);

    let key = marker::key(
        &event.detail.pipeline,
        &event.detail.execution_id,
        event.attempt(),
    );
    let etag = match notifier.markers.claim(&key, now, &event.id).await {
        Ok(Claim::Acquired { etag }) => etag,
        Ok(Claim::Sent { message_id }) => {
            info!(%message_id, "duplicate delivery: the notification was already sent");
            return Ok(Report::AlreadySent { message_id });
        }
        Ok(Claim::InFlight { since }) => {
            info!(%since, "duplicate delivery: another invocation is sending the notification");
            return Ok(Report::InFlight { since });
        }
        Err(e) => {
            error!(error = %e, "cannot claim the notification");
            return Err(e.into());
        }
    };

    match publish(&notifier.sns, &notifier.topic_arn, &notification).await {
        Ok(message_id) => {
            info!(%message_id, subject = %notification.subject, "notification sent");
            let sent = Marker::Sent {
                at: marker::timestamp(now),
                message_id: message_id.clone(),
            };
            // The email is out: the invocation fails, and no retry sends it again (see marker).
            if let Err(source) = notifier.markers.finish(&key, etag.as_deref(), &sent).await {
                error!(error = %source, %message_id, "sent, but the marker still says sending");
                return Err(NotifyError::Unrecorded { message_id, source });
            }
            Ok(Report::Sent {
                message_id,
                subject: notification.subject,
            })
        }
        Err(e) => {
            error!(error = %e, "notification not sent");
            let failed = Marker::Failed {
                at: marker::timestamp(now),
                error: pipeline_core::limits::truncate(&e.to_string(), 1000),
            };
            // Releases the marker for the retry; should this fail too, this process owes it.
            if let Err(m) = notifier
                .markers
                .finish(&key, etag.as_deref(), &failed)
                .await
            {
                warn!(error = %m, "could not mark the notification failed");
            }
            Err(e.into())
        }
    }
}
