//! The `CodePipeline.job` event, read into what a handler needs.
//!
//! The event carries temporary credentials for the artifact bucket, so neither it nor
//! [`ArtifactCredentials`] is ever logged: their `Debug` output is redacted.

use std::fmt;

use aws_lambda_events::event::codepipeline_job::CodePipelineJobEvent;

/// One CodePipeline job, as the handler sees it.
#[derive(Debug, Clone)]
pub struct Job {
    pub id: String,
    pub user_parameters: Option<String>,
    pub input_artifacts: Vec<InputArtifact>,
    pub continuation_token: Option<String>,
    pub credentials: ArtifactCredentials,
}

/// An input artifact: a zip object in the pipeline's artifact bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputArtifact {
    pub name: String,
    pub bucket: String,
    pub key: String,
}

impl fmt::Display for InputArtifact {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "input artifact {} (s3://{}/{})",
            self.name, self.bucket, self.key
        )
    }
}

/// The short-lived credentials CodePipeline hands the job for reading its artifacts.
#[derive(Clone, PartialEq, Eq)]
pub struct ArtifactCredentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
}

impl fmt::Debug for ArtifactCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ArtifactCredentials(** redacted **)")
    }
}

/// Why an event could not be read as a job.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    /// Without a job id no result can be reported: the invocation itself fails.
    #[error("the event is not a CodePipeline job event: {0}")]
    NotAJob(String),
    /// The job id is known, so this becomes a failure result of that job.
    #[error("the CodePipeline job event is incomplete: {reason}")]
    Malformed { job_id: String, reason: String },
}

impl Job {
    /// Reads a job from the raw event. Takes a `Value` rather than the typed event so that a
    /// job whose other fields are malformed can still be reported as failed by its id.
    pub fn from_event(event: serde_json::Value) -> Result<Job, EventError> {
        let job_id = event
            .get("CodePipeline.job")
            .and_then(|job| job.get("id"))
            .and_then(|id| id.as_str())
            .map(str::to_owned)
            .ok_or_else(|| EventError::NotAJob("no `CodePipeline.job.id` field".into()))?;
        if !is_job_id(&job_id) {
            return Err(EventError::NotAJob(
                "`CodePipeline.job.id` is not a job id".into(),
            ));
        }
        let malformed = |reason: String| EventError::Malformed {
            job_id: job_id.clone(),
            reason,
        };

        // serde_json's messages name the field and type, never the value: safe to report.
        let event: CodePipelineJobEvent =
            serde_json::from_value(event).map_err(|e| malformed(e.to_string()))?;
        let data = event.code_pipeline_job.data;

        let input_artifacts = data
            .input_artifacts
            .into_iter()
            .enumerate()
            .map(|(i, artifact)| {
                let s3 = artifact.location.s3_location;
                match (s3.bucket_name, s3.object_key) {
                    (Some(bucket), Some(key)) if !bucket.is_empty() && !key.is_empty() => {
                        Ok(InputArtifact {
                            name: artifact.name.unwrap_or_else(|| format!("#{i}")),
                            bucket,
                            key,
                        })
                    }
                    _ => Err(malformed(format!("input artifact #{i} has no S3 location"))),
                }
            })
            .collect::<Result<Vec<_>, _>>()?;

        let creds = data.artifact_credentials;
        let credentials = match (creds.access_key_id, creds.secret_access_key) {
            (Some(access_key_id), Some(secret_access_key)) => ArtifactCredentials {
                access_key_id,
                secret_access_key,
                session_token: creds.session_token,
            },
            _ => return Err(malformed("the artifact credentials are missing".into())),
        };

        Ok(Job {
            id: job_id,
            user_parameters: data.action_configuration.configuration.user_parameters,
            input_artifacts,
            continuation_token: data.continuation_token.filter(|t| !t.is_empty()),
            credentials,
        })
    }

    /// The input artifact called `name`, or the only one when `name` is `None`.
    pub fn input_artifact(&self, name: Option<&str>) -> Result<&InputArtifact, crate::JobError> {
        let names = || {
            self.input_artifacts
                .iter()
                .map(|a| a.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        match name {
            Some(name) => self
                .input_artifacts
                .iter()
                .find(|a| a.name == name)
                .ok_or_else(|| {
                    crate::JobError::config(format!(
                        "the action has no input artifact named `{name}` (it has: {}). \
                     Set InputArtifacts of the action in template.yaml.",
                        names()
                    ))
                }),
            None => match self.input_artifacts.as_slice() {
                [only] => Ok(only),
                [] => Err(crate::JobError::config(
                    "the action has no input artifact: give it the source artifact in template.yaml",
                )),
                _ => Err(crate::JobError::config(format!(
                    "the action has several input artifacts ({}): name the one to read",
                    names()
                ))),
            },
        }
    }
}

/// CodePipeline job ids are lowercase UUIDs.
fn is_job_id(id: &str) -> bool {
    let groups: Vec<&str> = id.split('-').collect();
    groups.len() == 5
        && groups.iter().zip([8, 4, 4, 4, 12]).all(|(g, len)| {
            g.len() == len
                && g.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const AWS_SAMPLE: &str =
        include_str!("../tests/fixtures/codepipeline-job-event.aws-sample.json");

    #[test]
    fn reads_the_aws_sample_event() {
        let job = Job::from_event(serde_json::from_str(AWS_SAMPLE).unwrap()).unwrap();
        assert_eq!(job.id, "11111111-abcd-1111-abcd-111111abcdef");
        assert_eq!(
            job.user_parameters.as_deref(),
            Some("some-input-such-as-a-URL")
        );
        assert_eq!(job.input_artifacts.len(), 1);
        assert_eq!(job.input_artifacts[0].name, "ArtifactName");
        assert_eq!(job.credentials.access_key_id, "AKIAIOSFODNN7EXAMPLE");
        assert_eq!(
            job.continuation_token.as_deref(),
            Some("A continuation token if continuing job")
        );
    }

    #[test]
    fn credentials_never_show_in_debug_output() {
        let job = Job::from_event(serde_json::from_str(AWS_SAMPLE).unwrap()).unwrap();
        let debug = format!("{job:?}");
        assert!(!debug.contains("wJalrXUtnFEMI"), "{debug}");
        assert!(!debug.contains("AKIAIOSFODNN7EXAMPLE"), "{debug}");
        assert!(!debug.contains("MIICiTCCAfICCQD6m7oRw0uXOjANBgkqhkiG9w0BAQUFADCBiDELMAkGA1UEBhMCVVMxCzAJBgNVBAgTAldBMRAwDgYDVQQHEwdTZWF0dGxl"));
    }

    #[test]
    fn an_event_without_a_job_id_is_not_a_job() {
        assert!(matches!(
            Job::from_event(json!({})),
            Err(EventError::NotAJob(_))
        ));
        assert!(matches!(
            Job::from_event(json!({"CodePipeline.job": {"id": "not-a-uuid"}})),
            Err(EventError::NotAJob(_))
        ));
    }

    #[test]
    fn a_broken_job_keeps_its_id_so_it_can_be_failed() {
        let event =
            json!({"CodePipeline.job": {"id": "11111111-abcd-1111-abcd-111111abcdef", "data": 7}});
        match Job::from_event(event) {
            Err(EventError::Malformed { job_id, .. }) => {
                assert_eq!(job_id, "11111111-abcd-1111-abcd-111111abcdef")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn missing_credentials_are_reported() {
        let mut event: serde_json::Value = serde_json::from_str(AWS_SAMPLE).unwrap();
        event["CodePipeline.job"]["data"]["artifactCredentials"] = json!({});
        assert!(matches!(
            Job::from_event(event),
            Err(EventError::Malformed { .. })
        ));
    }

    #[test]
    fn picks_input_artifacts_by_name() {
        let job = Job::from_event(serde_json::from_str(AWS_SAMPLE).unwrap()).unwrap();
        assert_eq!(job.input_artifact(None).unwrap().name, "ArtifactName");
        assert_eq!(
            job.input_artifact(Some("ArtifactName")).unwrap().name,
            "ArtifactName"
        );
        let err = job.input_artifact(Some("SourceOutput")).unwrap_err();
        assert!(
            err.message.contains("SourceOutput") && err.message.contains("ArtifactName"),
            "{err}"
        );
    }
}
