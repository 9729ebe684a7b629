//! The events the local pipeline sends to functions: a CodePipeline job event per invocation of
//! a Lambda invoke action, and EventBridge's "CodePipeline Pipeline Execution State Change"
//! event when an execution ends (to the functions whose rule pattern matches it).

use std::collections::BTreeMap;
use std::time::SystemTime;

use serde_json::{Value, json};

use crate::store::ArtifactLocation;

/// The artifact credentials a job carries (the local S3 accepts any; each job gets its own, as on
/// AWS, so a function that used its own instead would show in the local S3's log).
#[derive(Debug, Clone)]
pub struct ArtifactCredentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: String,
}

impl ArtifactCredentials {
    pub fn for_job(job_id: &str) -> Self {
        let short: String = job_id
            .chars()
            .filter(char::is_ascii_hexdigit)
            .take(16)
            .collect();
        ArtifactCredentials {
            access_key_id: format!("ASIALOCAL{}", short.to_ascii_uppercase()),
            secret_access_key: format!("local-artifact-secret-{job_id}"),
            session_token: format!("local-artifact-session-{job_id}"),
        }
    }
}

pub struct JobEvent<'a> {
    pub job_id: &'a str,
    pub account_id: &'a str,
    pub configuration: &'a BTreeMap<String, String>,
    pub input_artifacts: &'a [ArtifactLocation],
    pub output_artifacts: &'a [ArtifactLocation],
    pub credentials: &'a ArtifactCredentials,
    pub continuation_token: Option<&'a str>,
}

fn artifacts(list: &[ArtifactLocation]) -> Vec<Value> {
    list.iter()
        .map(|a| {
            json!({
                "name": a.name,
                "revision": null,
                "location": {"type": "S3", "s3Location": {"bucketName": a.bucket, "objectKey": a.key}},
            })
        })
        .collect()
}

impl JobEvent<'_> {
    /// The event as Lambda delivers it (AWS's sample job event shape).
    pub fn to_json(&self) -> Value {
        let mut data = json!({
            "actionConfiguration": {"configuration": self.configuration},
            "inputArtifacts": artifacts(self.input_artifacts),
            "outputArtifacts": artifacts(self.output_artifacts),
            "artifactCredentials": {
                "accessKeyId": self.credentials.access_key_id,
                "secretAccessKey": self.credentials.secret_access_key,
                "sessionToken": self.credentials.session_token,
            },
        });
        if let Some(token) = self.continuation_token {
            data["continuationToken"] = Value::from(token);
        }
        json!({"CodePipeline.job": {"id": self.job_id, "accountId": self.account_id, "data": data}})
    }
}

/// RFC 3339 in UTC with milliseconds, as EventBridge writes `time` and `start-time`.
pub fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_millis(t).to_string()
}

pub struct StateChange<'a> {
    pub event_id: &'a str,
    pub pipeline: &'a str,
    pub execution_id: &'a str,
    pub state: &'a str,
    pub region: &'a str,
    pub account_id: &'a str,
    pub started: SystemTime,
    pub time: SystemTime,
}

impl StateChange<'_> {
    pub fn to_json(&self) -> Value {
        json!({
            "version": "0",
            "id": self.event_id,
            "detail-type": "CodePipeline Pipeline Execution State Change",
            "source": "aws.codepipeline",
            "account": self.account_id,
            "time": humantime::format_rfc3339_seconds(self.time).to_string(),
            "region": self.region,
            "resources": [format!("arn:aws:codepipeline:{}:{}:{}", self.region, self.account_id, self.pipeline)],
            "detail": {
                "pipeline": self.pipeline,
                "execution-id": self.execution_id,
                "start-time": rfc3339(self.started),
                "state": self.state,
                "version": 1.0,
                "pipeline-execution-attempt": 1.0,
                "execution-trigger": {"trigger-type": "StartPipelineExecution", "trigger-detail": "local run"},
            },
        })
    }
}

/// Whether `event` matches an EventBridge event pattern: every key of the pattern must be in the
/// event; an array lists the accepted values (exact matches), an object matches a nested object.
/// Content filters (`prefix`, `anything-but`, ...) are not supported and never match.
pub fn matches(pattern: &Value, event: &Value) -> bool {
    match pattern {
        Value::Object(fields) => fields
            .iter()
            .all(|(key, sub)| event.get(key).is_some_and(|value| matches(sub, value))),
        Value::Array(accepted) => accepted.iter().any(|a| match event {
            Value::Array(values) => values.contains(a),
            value => a == value,
        }),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn a_job_event_has_the_shape_of_aws_sample() {
        let config = BTreeMap::from([("FunctionName".into(), "f".into())]);
        let input = [ArtifactLocation {
            name: "ModelRepo".into(),
            bucket: "b".into(),
            key: "p/ModelRepo/abc".into(),
        }];
        let credentials = ArtifactCredentials::for_job("0f1e2d3c-aaaa");
        let event = JobEvent {
            job_id: "0f1e2d3c-aaaa",
            account_id: "123456789012",
            configuration: &config,
            input_artifacts: &input,
            output_artifacts: &[],
            credentials: &credentials,
            continuation_token: Some("t"),
        }
        .to_json();
        let job = &event["CodePipeline.job"];
        assert_eq!(job["id"], "0f1e2d3c-aaaa");
        assert_eq!(job["data"]["continuationToken"], "t");
        assert_eq!(
            job["data"]["inputArtifacts"][0]["location"]["s3Location"]["objectKey"],
            "p/ModelRepo/abc"
        );
        assert_eq!(
            job["data"]["artifactCredentials"]["accessKeyId"],
            "ASIALOCAL0F1E2D3CAAAA"
        );
        let fixture: Value = serde_json::from_str(include_str!(
            "../../../events/start-training/happy-path.json"
        ))
        .unwrap();
        // The same members as the sample event (in any order), plus the token.
        let keys = |v: &Value| {
            v.as_object()
                .unwrap()
                .keys()
                .cloned()
                .collect::<std::collections::BTreeSet<_>>()
        };
        let mut expected = keys(&fixture["CodePipeline.job"]["data"]);
        expected.insert("continuationToken".to_owned());
        assert_eq!(keys(&job["data"]), expected);
    }

    #[test]
    fn the_state_change_event_matches_the_template_rule_pattern() {
        let t = UNIX_EPOCH + Duration::from_millis(1_764_000_000_123);
        let event = StateChange {
            event_id: "e",
            pipeline: "demo-pipeline",
            execution_id: "x",
            state: "SUCCEEDED",
            region: "us-east-1",
            account_id: "123456789012",
            started: t,
            time: t,
        }
        .to_json();
        assert_eq!(event["detail"]["start-time"], "2025-11-24T16:00:00.123Z");
        let pattern = json!({
            "source": ["aws.codepipeline"],
            "detail-type": ["CodePipeline Pipeline Execution State Change"],
            "detail": {"pipeline": ["demo-pipeline"], "state": ["SUCCEEDED", "FAILED"]},
        });
        assert!(matches(&pattern, &event));
        let other = json!({"detail": {"pipeline": ["other-pipeline"]}});
        assert!(!matches(&other, &event));
        assert!(!matches(&json!({"detail": {"missing": ["x"]}}), &event));
    }
}
