//! What each function is benchmarked with: its binary, its environment (local endpoints, static
//! credentials) and a representative event, made unique per invocation (a new CodePipeline job
//! id, or a new pipeline execution for notify), with the check that the invocation did its job.

use std::path::{Path, PathBuf};
use std::time::Duration;

use lambda_host::{FunctionSpec, Invocation};
use serde_json::Value;

use crate::codepipeline::BenchCodePipeline;
use crate::deployment;
use crate::world::{BUCKET, CANDIDATE_JOB, Endpoints, SLEEPING_JOB, SOURCE_KEY, World};
use local_codepipeline::JobResult;

pub const FUNCTIONS: [&str; 5] = [
    "start-training",
    "train-and-tune",
    "evaluate",
    "notify",
    "deploy",
];

/// Whose implementation runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Implementation {
    Ours,
    /// The Python/boto3 baseline under awslambdaric.
    Python,
}

impl Implementation {
    pub fn label(self) -> &'static str {
        match self {
            Implementation::Ours => "ours",
            Implementation::Python => "python baseline",
        }
    }
}

/// What a successful invocation ends in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// PutJobSuccessResult without a continuation token.
    Done,
    /// PutJobSuccessResult with a continuation token (the Tune action polling; deploy's first
    /// invocation).
    InProgress,
    /// deploy's PutJobSuccessResult without a token: `DeployStatus` Deployed, the smoke test
    /// passed.
    Deployed,
    /// notify's `{"result": "sent"}`.
    Sent,
}

#[derive(Debug, Clone)]
pub struct Scenario {
    pub function: &'static str,
    pub implementation: Implementation,
    pub binary: PathBuf,
    /// The function's own variables, on top of the endpoints'.
    extra_env: Vec<(String, String)>,
    template: Value,
    expect: Expect,
}

/// The function's binary name under `target/release`.
pub fn release_binary(root: &Path, function: &str) -> PathBuf {
    root.join("target/release").join(function)
}

fn event(root: &Path, path: &str) -> Result<Value, String> {
    let file = root.join("events").join(path);
    let text = std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", file.display()))
}

fn user_parameters(event: &Value) -> Value {
    let raw =
        event["CodePipeline.job"]["data"]["actionConfiguration"]["configuration"]["UserParameters"]
            .as_str()
            .unwrap_or("{}");
    serde_json::from_str(raw).unwrap_or_default()
}

fn set_user_parameters(event: &mut Value, params: &Value) {
    event["CodePipeline.job"]["data"]["actionConfiguration"]["configuration"]["UserParameters"] =
        Value::from(params.to_string());
}

fn with_source(event: Value) -> Value {
    with_source_key(event, SOURCE_KEY)
}

fn with_source_key(mut event: Value, key: &str) -> Value {
    let location =
        &mut event["CodePipeline.job"]["data"]["inputArtifacts"][0]["location"]["s3Location"];
    location["bucketName"] = BUCKET.into();
    location["objectKey"] = key.into();
    event
}

/// A UUID-shaped id, unique per invocation number.
pub fn unique_id(tag: u32, n: u64) -> String {
    format!("{tag:08x}-0000-4000-8000-{n:012x}")
}

impl Scenario {
    /// Our function `function` against `world`.
    pub fn ours(world: &World, function: &'static str) -> Result<Scenario, String> {
        let root = &world.root;
        let (template, expect, extra_env) = match function {
            "start-training" => (
                with_source(event(root, "start-training/happy-path.json")?),
                Expect::Done,
                vec![],
            ),
            "train-and-tune" => {
                let mut event =
                    with_source(event(root, "train-and-tune/training-in-progress.json")?);
                let mut params = user_parameters(&event);
                params["TrainingJobName"] = SLEEPING_JOB.into();
                set_user_parameters(&mut event, &params);
                (event, Expect::InProgress, vec![])
            }
            "evaluate" => {
                let mut event = with_source(event(root, "evaluate/tuned-candidate.json")?);
                let mut params = user_parameters(&event);
                params["CandidateTrainingJobName"] = CANDIDATE_JOB.into();
                set_user_parameters(&mut event, &params);
                (event, Expect::Done, vec![])
            }
            "notify" => (
                event(root, "notify/succeeded.json")?,
                Expect::Sent,
                vec![
                    ("NOTIFICATION_TOPIC_ARN".to_owned(), world.topic_arn.clone()),
                    ("ARTIFACT_BUCKET".to_owned(), BUCKET.to_owned()),
                ],
            ),
            "deploy" => {
                // DeployStaging; its first invocation creates the endpoint, the measured ones
                // carry its continuation token (`with_continuation_token`).
                let mut event =
                    with_source_key(event(root, "deploy/staging.json")?, deployment::SOURCE_KEY);
                let mut params = user_parameters(&event);
                params["EndpointName"] = deployment::ENDPOINT.into();
                params["ModelPackageArn"] = world.model_package_arn.clone().into();
                set_user_parameters(&mut event, &params);
                (event, Expect::InProgress, vec![])
            }
            other => return Err(format!("no scenario for `{other}`")),
        };
        Ok(Scenario {
            function,
            implementation: Implementation::Ours,
            binary: release_binary(root, function),
            extra_env,
            template,
            expect,
        })
    }

    /// The Python baseline of start-training, run by `bootstrap` (a wrapper script).
    pub fn python_start_training(world: &World, bootstrap: PathBuf) -> Result<Scenario, String> {
        let mut scenario = Scenario::ours(world, "start-training")?;
        scenario.implementation = Implementation::Python;
        scenario.binary = bootstrap;
        Ok(scenario)
    }

    /// Extra variables for the function (e.g. `RUST_LOG`), after the endpoints'.
    pub fn with_env(mut self, env: &[(String, String)]) -> Scenario {
        self.extra_env.extend(env.iter().cloned());
        self
    }

    /// A name for files: `start-training` or `start-training-python`.
    pub fn file_name(&self) -> String {
        match self.implementation {
            Implementation::Ours => self.function.to_owned(),
            Implementation::Python => format!("{}-python", self.function),
        }
    }

    /// The event with a continuation token, as CodePipeline sends every invocation of an action
    /// after the first. Train-and-Tune's still finds its job running; deploy's finds its endpoint
    /// InService on the deployment's config, so it smoke-tests it and ends the action.
    pub fn with_continuation_token(mut self, token: &str) -> Scenario {
        self.template["CodePipeline.job"]["data"]["continuationToken"] = token.into();
        if self.function == "deploy" {
            self.expect = Expect::Deployed;
        }
        self
    }

    /// Where the function's SageMaker client goes: start-training's CreateTrainingJob goes to
    /// moto (a local SageMaker would start a training process per invocation); the others read
    /// the local SageMaker's jobs, or (deploy) its endpoints.
    fn sagemaker_endpoint<'a>(&self, endpoints: &'a Endpoints) -> &'a str {
        if self.function == "start-training" {
            &endpoints.moto
        } else {
            &endpoints.sagemaker
        }
    }

    pub fn spec(&self, endpoints: &Endpoints) -> FunctionSpec {
        let mut env: Vec<(String, String)> = [
            ("AWS_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            ("AWS_ENDPOINT_URL_S3", endpoints.moto.as_str()),
            ("AWS_ENDPOINT_URL_SNS", endpoints.moto.as_str()),
            ("AWS_ENDPOINT_URL_CLOUDWATCH", endpoints.moto.as_str()),
            (
                "AWS_ENDPOINT_URL_SAGEMAKER",
                self.sagemaker_endpoint(endpoints),
            ),
            // InvokeEndpoint: the local SageMaker serves the runtime API on the same address.
            (
                "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME",
                endpoints.sagemaker.as_str(),
            ),
            (
                "AWS_ENDPOINT_URL_CODEPIPELINE",
                endpoints.codepipeline.as_str(),
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        env.extend(self.extra_env.iter().cloned());
        FunctionSpec {
            binary: self.binary.clone(),
            name: format!("sagemaker-cicd-{}", self.function),
            env,
            timeout: Duration::from_secs(60),
            memory_mb: 256,
        }
    }

    /// The event of invocation `n` and the id its result is filed under.
    pub fn event(&self, n: u64) -> (Value, String) {
        let mut event = self.template.clone();
        let tag = match self.implementation {
            Implementation::Ours => 0xbe_c0_00_01,
            Implementation::Python => 0xbe_c0_00_02,
        };
        let id = unique_id(tag, n);
        if self.expect == Expect::Sent {
            event["detail"]["execution-id"] = id.clone().into();
        } else {
            event["CodePipeline.job"]["id"] = id.clone().into();
        }
        (event, id)
    }

    /// Whether the invocation did its job; the error says what happened instead.
    pub fn check(
        &self,
        codepipeline: &BenchCodePipeline,
        id: &str,
        invocation: &Invocation,
    ) -> Result<Option<String>, String> {
        if self.expect == Expect::Sent {
            return match &invocation.response {
                Ok(response) if response["result"] == "sent" => Ok(None),
                Ok(response) => Err(format!("notify did not send: {response}")),
                Err(error) => Err(format!("notify failed: {error}")),
            };
        }
        match codepipeline.result(id) {
            (None, _) => Err(format!(
                "job {id} reported no result (the function answered {:?})",
                invocation.response
            )),
            (Some(first), refused @ 1..) => Err(format!(
                "job {id} reported {} results instead of one; the first: {first:?}",
                refused + 1
            )),
            (Some(JobResult::Failure { message, .. }), _) => {
                Err(format!("job {id} reported a failure: {message}"))
            }
            (
                Some(JobResult::Success {
                    continuation_token: Some(token),
                    ..
                }),
                _,
            ) if self.expect == Expect::InProgress => Ok(Some(token)),
            (
                Some(JobResult::Success {
                    continuation_token: None,
                    output_variables,
                    ..
                }),
                _,
            ) if self.expect == Expect::Done => {
                Ok(output_variables.get("TrainingJobName").cloned())
            }
            (
                Some(JobResult::Success {
                    continuation_token: None,
                    output_variables,
                    summary,
                    ..
                }),
                _,
            ) if self.expect == Expect::Deployed => {
                let summary = summary.unwrap_or_default();
                if output_variables.get("DeployStatus").map(String::as_str) == Some("Deployed")
                    && summary.contains("smoke test passed")
                {
                    Ok(output_variables.get("EndpointConfigName").cloned())
                } else {
                    Err(format!(
                        "job {id} did not deploy and smoke-test the endpoint: {output_variables:?}, {summary:?}"
                    ))
                }
            }
            (Some(one), _) => Err(format!("job {id} reported an unexpected result: {one:?}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_uuid_shaped_and_unique() {
        let a = unique_id(0xbec00001, 1);
        assert_eq!(a, "bec00001-0000-4000-8000-000000000001");
        assert_ne!(a, unique_id(0xbec00002, 1));
        assert_ne!(a, unique_id(0xbec00001, 2));
    }

    #[test]
    fn user_parameters_round_trip() {
        let mut event = serde_json::json!({"CodePipeline.job": {"data": {"actionConfiguration": {"configuration": {"UserParameters": "{\"A\":1}"}}}}});
        let mut params = user_parameters(&event);
        assert_eq!(params["A"], 1);
        params["B"] = "x".into();
        set_user_parameters(&mut event, &params);
        assert_eq!(user_parameters(&event)["B"], "x");
    }
}
