//! Exactly one email per execution attempt, although EventBridge delivers at least once and
//! Lambda retries: a marker object in S3, written with conditional requests, records who is
//! sending the notification and whether it went out.
//!
//! ```text
//!   (absent) --PUT If-None-Match:*--> sending --publish ok--> sent       (later deliveries skip)
//!                                        |
//!                                        +--publish failed--> failed     (the retry takes over)
//! ```
//!
//! Never two emails: a delivery publishes only after its own conditional write of `sending`,
//! and no delivery publishes over someone else's `sending`. A fresh one (younger than
//! [`LEASE`]) is in flight: the delivery leaves it to its sender. An older one means its sender
//! ended without recording whether SNS took the message, so the delivery fails
//! ([`MarkerError::Unconfirmed`]: Lambda's retries, then the failure queue) instead of risking a
//! second email. A `sending` dated more than a lease ahead was written by no sender of ours and
//! is taken over, as is a marker that does not parse.
//!
//! The outcome is written with retries. When it still cannot be, the invocation fails and the
//! process keeps what it owes: its next claim of the marker (Lambda retries in the same
//! execution environment, when it still exists) writes it first, then finds `sent` and skips,
//! or `failed` and sends.
//!
//! The window left is a missing email, never a second one: a sender that ends between its claim
//! and writing the outcome (a crash or a timeout, also while SNS is being called), or that
//! cannot write it before its environment goes, leaves `sending`; the later deliveries fail as
//! unconfirmed, and the failure queue keeps the event with a message that says how to resend.
//! (Outside this protocol, the SDK retries a Publish that failed in transit.)

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;
use serde::{Deserialize, Serialize};

/// Where markers live in the artifact bucket (the function may write nowhere else).
pub const PREFIX: &str = "notifications/";

/// How long a `sending` marker protects its sender. Two bounds, checked by a test against
/// template.yaml: longer than the function's timeout (30 s), so a live sender is never
/// overtaken; at most the 60 s Lambda waits before its first retry, so the retry of a sender
/// that died holding the marker finds it stale and sends.
pub const LEASE: Duration = Duration::from_secs(45);

/// Conflicting writers retried at most this often before giving up (and letting Lambda retry).
const ROUNDS: usize = 3;

/// Pauses between the attempts to write an outcome (each attempt has the SDK's own retries);
/// well inside the function's timeout.
const RECORD_RETRY_DELAYS: [Duration; 3] = [
    Duration::from_millis(250),
    Duration::from_secs(1),
    Duration::from_secs(3),
];

/// `notifications/<pipeline>/<execution-id>/attempt-<n>.json`: one notification per attempt,
/// so a retried and then finished execution gets its own email.
pub fn key(pipeline: &str, execution_id: &str, attempt: u32) -> String {
    let pipeline: String = pipeline
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@') {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{PREFIX}{pipeline}/{execution_id}/attempt-{attempt}.json")
}

/// The marker's content.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "lowercase")]
pub enum Marker {
    Sending { since: String, event_id: String },
    Sent { at: String, message_id: String },
    Failed { at: String, error: String },
}

/// What a delivery does, given the marker it found.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Send, taking the marker over.
    Send,
    /// Already sent.
    Sent { message_id: String },
    /// Another invocation is sending it right now.
    InFlight { since: String },
    /// A sender claimed it longer than a lease ago and never wrote whether it went out.
    Unconfirmed { since: String },
}

/// The decision for an existing marker; `None` is a marker that cannot be read (taken over).
pub fn decide(marker: Option<&Marker>, now: DateTime, lease: Duration) -> Decision {
    match marker {
        Some(Marker::Sent { message_id, .. }) => Decision::Sent {
            message_id: message_id.clone(),
        },
        Some(Marker::Sending { since, .. }) => {
            // Fresh: younger than the lease. A clock a little ahead of ours still protects
            // its sender; a marker dated beyond a lease ahead is no clock skew, and would
            // block the email for ever: it is taken over, as is one without a readable time.
            let lease = lease.as_secs_f64();
            let age = DateTime::from_str(since, Format::DateTime)
                .map(|t| now.as_secs_f64() - t.as_secs_f64());
            match age {
                Ok(age) if (-lease..lease).contains(&age) => Decision::InFlight {
                    since: since.clone(),
                },
                Ok(age) if age >= lease => Decision::Unconfirmed {
                    since: since.clone(),
                },
                _ => Decision::Send,
            }
        }
        Some(Marker::Failed { .. }) | None => Decision::Send,
    }
}

/// The result of [`Markers::claim`].
#[derive(Debug, Clone, PartialEq)]
pub enum Claim {
    /// This invocation sends; the marker's ETag guards the later updates.
    Acquired {
        etag: Option<String>,
    },
    Sent {
        message_id: String,
    },
    InFlight {
        since: String,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum MarkerError {
    #[error(
        "cannot {action} the notification marker s3://{bucket}/{key}: {detail}. \
         Check the function's S3 and KMS permissions on the artifact bucket"
    )]
    S3 {
        action: &'static str,
        bucket: String,
        key: String,
        detail: String,
    },
    #[error(
        "the notification marker s3://{bucket}/{key} changed under every one of {ROUNDS} attempts to \
         claim it; Lambda retries the event"
    )]
    Contended { bucket: String, key: String },
    #[error(
        "a delivery began sending this notification at {since} and never recorded whether SNS \
         accepted it (s3://{bucket}/{key} still says sending); it is not sent again, so that \
         nobody gets two emails. If no email arrived, delete the marker and redrive the event \
         from the failure queue (NotifyFailureQueue)"
    )]
    Unconfirmed {
        bucket: String,
        key: String,
        since: String,
    },
}

/// An outcome this process published (or failed to) but could not write.
#[derive(Debug, Clone)]
struct Owed {
    etag: Option<String>,
    marker: Marker,
}

enum Recorded {
    Written,
    /// The marker is no longer ours (another delivery took it over).
    TakenOver,
    Failed(MarkerError),
}

/// The markers of one bucket, and the outcomes this process still owes them.
#[derive(Clone, Debug)]
pub struct Markers {
    s3: aws_sdk_s3::Client,
    bucket: String,
    lease: Duration,
    retry_delays: Vec<Duration>,
    owed: Arc<Mutex<HashMap<String, Owed>>>,
}

enum Write {
    Created(Option<String>),
    Conflict,
}

impl Markers {
    pub fn new(s3: aws_sdk_s3::Client, bucket: impl Into<String>) -> Self {
        Markers {
            s3,
            bucket: bucket.into(),
            lease: LEASE,
            retry_delays: RECORD_RETRY_DELAYS.to_vec(),
            owed: Arc::default(),
        }
    }

    pub fn with_lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    /// The pauses between attempts to write an outcome (one attempt more than pauses).
    pub fn with_retry_delays(mut self, delays: Vec<Duration>) -> Self {
        self.retry_delays = delays;
        self
    }

    /// Writes `sending` unless another delivery has sent, or is sending, this notification.
    /// First writes the outcome this process owes the marker, if any.
    pub async fn claim(
        &self,
        key: &str,
        now: DateTime,
        event_id: &str,
    ) -> Result<Claim, MarkerError> {
        if let Some(message_id) = self.settle(key).await? {
            return Ok(Claim::Sent { message_id });
        }
        let sending = Marker::Sending {
            since: timestamp(now),
            event_id: event_id.to_owned(),
        };
        for _ in 0..ROUNDS {
            if let Write::Created(etag) = self.put(key, &sending, Condition::Absent).await? {
                return Ok(Claim::Acquired { etag });
            }
            let Some((etag, marker)) = self.get(key).await? else {
                continue; // deleted in between: create it again
            };
            match decide(marker.as_ref(), now, self.lease) {
                Decision::Sent { message_id } => return Ok(Claim::Sent { message_id }),
                Decision::InFlight { since } => return Ok(Claim::InFlight { since }),
                Decision::Unconfirmed { since } => {
                    return Err(MarkerError::Unconfirmed {
                        bucket: self.bucket.clone(),
                        key: key.to_owned(),
                        since,
                    });
                }
                Decision::Send => {
                    let condition = match etag {
                        Some(etag) => Condition::Matches(etag),
                        None => Condition::Absent,
                    };
                    if let Write::Created(etag) = self.put(key, &sending, condition).await? {
                        return Ok(Claim::Acquired { etag });
                    }
                }
            }
        }
        Err(MarkerError::Contended {
            bucket: self.bucket.clone(),
            key: key.to_owned(),
        })
    }

    /// Writes the outcome of the publish over our own `sending` marker, with retries. When it
    /// cannot, the process owes it: its next [`Markers::claim`] of `key` writes it first.
    pub async fn finish(
        &self,
        key: &str,
        etag: Option<&str>,
        marker: &Marker,
    ) -> Result<(), MarkerError> {
        match self.record(key, etag, marker).await {
            Recorded::Written => Ok(()),
            Recorded::TakenOver => Err(MarkerError::S3 {
                action: "update",
                bucket: self.bucket.clone(),
                key: key.to_owned(),
                detail: "another delivery took the marker over".to_owned(),
            }),
            Recorded::Failed(err) => {
                let owed = Owed {
                    etag: etag.map(str::to_owned),
                    marker: marker.clone(),
                };
                self.owed_lock().insert(key.to_owned(), owed);
                Err(err)
            }
        }
    }

    /// Writes what this process owes `key`. `Some(message_id)` when it sent the notification.
    async fn settle(&self, key: &str) -> Result<Option<String>, MarkerError> {
        let Some(owed) = self.owed_lock().get(key).cloned() else {
            return Ok(None);
        };
        match self.record(key, owed.etag.as_deref(), &owed.marker).await {
            Recorded::Written | Recorded::TakenOver => {
                self.owed_lock().remove(key);
            }
            Recorded::Failed(err) => return Err(err),
        }
        Ok(match owed.marker {
            Marker::Sent { message_id, .. } => Some(message_id),
            _ => None,
        })
    }

    async fn record(&self, key: &str, etag: Option<&str>, marker: &Marker) -> Recorded {
        let mut delays = self.retry_delays.iter();
        loop {
            let condition = etag.map_or(Condition::Any, |e| Condition::Matches(e.to_owned()));
            match self.put(key, marker, condition).await {
                Ok(Write::Created(_)) => return Recorded::Written,
                Ok(Write::Conflict) => return Recorded::TakenOver,
                Err(err) => match delays.next() {
                    Some(delay) => tokio::time::sleep(*delay).await,
                    None => return Recorded::Failed(err),
                },
            }
        }
    }

    fn owed_lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Owed>> {
        // A map of plain values: a panic elsewhere cannot leave it half-written.
        self.owed.lock().unwrap_or_else(PoisonError::into_inner)
    }

    async fn put(
        &self,
        key: &str,
        marker: &Marker,
        condition: Condition,
    ) -> Result<Write, MarkerError> {
        let body = serde_json::to_vec(marker).unwrap_or_default();
        let mut request = self
            .s3
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type("application/json")
            .body(ByteStream::from(body));
        request = match condition {
            Condition::Absent => request.if_none_match("*"),
            Condition::Matches(etag) => request.if_match(etag),
            Condition::Any => request,
        };
        match request.send().await {
            Ok(out) => Ok(Write::Created(out.e_tag)),
            Err(err) if is_conflict(&err) => Ok(Write::Conflict),
            Err(err) => Err(self.error("write", key, &err)),
        }
    }

    /// The marker and its ETag; `None` when there is none. A marker that does not parse is
    /// `Some((etag, None))`.
    async fn get(
        &self,
        key: &str,
    ) -> Result<Option<(Option<String>, Option<Marker>)>, MarkerError> {
        let out = match self
            .s3
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(out) => out,
            Err(err) if err.as_service_error().is_some_and(|e| e.is_no_such_key()) => {
                return Ok(None);
            }
            Err(err) => return Err(self.error("read", key, &err)),
        };
        let etag = out.e_tag.clone();
        let bytes = out
            .body
            .collect()
            .await
            .map_err(|e| MarkerError::S3 {
                action: "read",
                bucket: self.bucket.clone(),
                key: key.to_owned(),
                detail: e.to_string(),
            })?
            .into_bytes();
        Ok(Some((etag, serde_json::from_slice(&bytes).ok())))
    }

    fn error<E, R>(&self, action: &'static str, key: &str, err: &SdkError<E, R>) -> MarkerError
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        let detail = match (err.code(), err.message()) {
            (Some(code), Some(message)) => format!("{code}: {message}"),
            (Some(code), None) => code.to_owned(),
            (None, Some(message)) => message.to_owned(),
            (None, None) => DisplayErrorContext(err).to_string(),
        };
        MarkerError::S3 {
            action,
            bucket: self.bucket.clone(),
            key: key.to_owned(),
            detail,
        }
    }
}

enum Condition {
    /// Only if there is no object (`If-None-Match: *`).
    Absent,
    /// Only if the object is still the one we read or wrote (`If-Match: <etag>`).
    Matches(String),
    Any,
}

/// 412 Precondition Failed: the condition did not hold. 409 ConditionalRequestConflict: another
/// conditional write to the key was in progress. Both mean "someone else got there".
fn is_conflict<E>(err: &SdkError<E, aws_sdk_s3::config::http::HttpResponse>) -> bool
where
    E: ProvideErrorMetadata,
{
    let status = err.raw_response().map(|r| r.status().as_u16());
    matches!(status, Some(409 | 412))
        || matches!(
            err.code(),
            Some("PreconditionFailed" | "ConditionalRequestConflict")
        )
}

pub fn timestamp(now: DateTime) -> String {
    now.fmt(Format::DateTime)
        .unwrap_or_else(|_| now.secs().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> DateTime {
        DateTime::from_secs(1_795_000_000 + secs)
    }

    #[test]
    fn keys_name_the_pipeline_execution_and_attempt() {
        assert_eq!(
            key("sagemaker-cicd-pipeline", "3137f7cb-8b1f", 2),
            "notifications/sagemaker-cicd-pipeline/3137f7cb-8b1f/attempt-2.json"
        );
        assert_eq!(key("a b/c", "e", 1), "notifications/a_b_c/e/attempt-1.json");
    }

    #[test]
    fn sent_is_never_sent_again() {
        let sent = Marker::Sent {
            at: timestamp(at(0)),
            message_id: "m-1".into(),
        };
        assert_eq!(
            decide(Some(&sent), at(1_000_000), LEASE),
            Decision::Sent {
                message_id: "m-1".into()
            }
        );
    }

    #[test]
    fn fresh_sending_is_in_flight_and_stale_sending_is_unconfirmed() {
        let sending = Marker::Sending {
            since: timestamp(at(0)),
            event_id: "e".into(),
        };
        assert!(matches!(
            decide(Some(&sending), at(44), LEASE),
            Decision::InFlight { .. }
        ));
        // Its sender ended without writing the outcome: the email may be out.
        for later in [45, 60, 86_400] {
            assert_eq!(
                decide(Some(&sending), at(later), LEASE),
                Decision::Unconfirmed {
                    since: timestamp(at(0))
                }
            );
        }
        // A marker from a clock ahead of ours still protects its sender.
        assert!(matches!(
            decide(Some(&sending), at(-30), LEASE),
            Decision::InFlight { .. }
        ));
        // One dated a day ahead would block the email for ever: taken over.
        assert_eq!(decide(Some(&sending), at(-86_400), LEASE), Decision::Send);
        assert_eq!(decide(Some(&sending), at(-46), LEASE), Decision::Send);
    }

    #[test]
    fn failed_or_unreadable_markers_are_taken_over() {
        let failed = Marker::Failed {
            at: timestamp(at(0)),
            error: "throttled".into(),
        };
        assert_eq!(decide(Some(&failed), at(1), LEASE), Decision::Send);
        assert_eq!(decide(None, at(1), LEASE), Decision::Send);
        let garbled = Marker::Sending {
            since: "not a time".into(),
            event_id: "e".into(),
        };
        assert_eq!(decide(Some(&garbled), at(1), LEASE), Decision::Send);
    }

    #[test]
    fn marker_json_is_tagged_by_state() {
        let json = serde_json::to_value(Marker::Sent {
            at: "2026-11-20T10:27:46Z".into(),
            message_id: "m".into(),
        })
        .unwrap();
        assert_eq!(
            json,
            serde_json::json!({"state": "sent", "at": "2026-11-20T10:27:46Z", "message_id": "m"})
        );
    }
}
