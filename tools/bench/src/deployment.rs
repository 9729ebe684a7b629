//! What the deploy function is measured against (issue 15): the follow-up invocation of a
//! DeployStaging action whose endpoint is already InService on the deployment's config.
//!
//! Set up once per run: a model package Approved in moto's Model Registry (its container a
//! model.tar.gz with a tiny script-mode `inference.py`), and a source artifact that is the
//! sample's repository with a smoke test of one InvokeEndpoint (the sample's own repeats its
//! request 10 times for a latency budget). The bench's first invocation of the function creates
//! the model, the endpoint config and the endpoint on the local SageMaker, as the action's first
//! invocation does; once the endpoint is InService, every measured invocation carries that
//! invocation's continuation token and does the same five HTTP calls: GetObject of the source
//! (moto), DescribeEndpoint, the smoke test's InvokeEndpoint (the local SageMaker's runtime API
//! and model server), the clean-up's ListEndpointConfigs (the local SageMaker, which forwards it
//! to moto), and PutJobSuccessResult (the local CodePipeline API).

use std::time::{Duration, Instant};

use aws_sdk_sagemaker::error::DisplayErrorContext;
use aws_sdk_sagemaker::types::{
    EndpointStatus, InferenceSpecification, ModelApprovalStatus, ModelPackageContainerDefinition,
};
use serde_json::Value;

/// The source artifact of the deploy scenario (the sample with [`smoke_test_of_one`]).
pub const SOURCE_KEY: &str = "source/model-repo-deploy.zip";
/// The staging endpoint (events/deploy/staging.json's, set explicitly).
pub const ENDPOINT: &str = "sagemaker-cicd-staging";
/// HTTP calls of one measured invocation, as the module's documentation lists them.
pub const HTTP_CALLS: usize = 5;
const MODEL_KEY: &str = "models/bench-deploy/model.tar.gz";
/// Not evaluate's group (`<stack>-<repository>`), whose latest Approved package it compares with.
const PACKAGE_GROUP: &str = "sagemaker-cicd-bench-deploy";
/// The sample's training image; script mode runs locally whatever it names.
const IMAGE: &str =
    "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3";
const DEPLOYMENT_JSON: &str = "configuration/deployment.json";
/// The local SageMaker's health-check limit (120 s), and a margin.
const START_LIMIT: Duration = Duration::from_secs(150);

/// The model's code: every CSV row is answered `female,0.5`, which the sample's smoke test
/// accepts (one record per row, `^((male|female),[0-9.]+\n)+$`); no training, no dependency.
pub const INFERENCE_PY: &str = r#""""The bench's model: every CSV row is a female penguin, at 0.5."""


def model_fn(model_dir):
    return "female,0.5\n"


def transform_fn(model, data, content_type, accept):
    rows = [row for row in data.splitlines() if row.strip()]
    return model * len(rows), "text/csv"
"#;

/// The sample's deployment.json with one smoke-test invocation per request: without
/// `SmokeTest.Latency` (whose `Invocations` repeats each request), the rest as it is.
pub fn smoke_test_of_one(sample: &str) -> Result<String, String> {
    let mut deployment: Value =
        serde_json::from_str(sample).map_err(|e| format!("{DEPLOYMENT_JSON}: {e}"))?;
    let smoke = deployment
        .get_mut("SmokeTest")
        .and_then(Value::as_object_mut)
        .ok_or_else(|| format!("{DEPLOYMENT_JSON} of the sample has no SmokeTest"))?;
    smoke.remove("Latency");
    let requests = smoke
        .get("Requests")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    if requests != 1 {
        return Err(format!(
            "{DEPLOYMENT_JSON} of the sample has {requests} smoke-test requests; the bench's \
             deploy scenario counts on one"
        ));
    }
    serde_json::to_string_pretty(&deployment).map_err(|e| e.to_string())
}

/// The sample's files (path, text) with [`smoke_test_of_one`]'s deployment.json.
pub fn source_files(sample: &[(String, String)]) -> Result<Vec<(String, String)>, String> {
    let mut found = false;
    let files = sample
        .iter()
        .map(|(path, text)| {
            if path == DEPLOYMENT_JSON {
                found = true;
                smoke_test_of_one(text).map(|changed| (path.clone(), changed))
            } else {
                Ok((path.clone(), text.clone()))
            }
        })
        .collect::<Result<Vec<_>, String>>()?;
    if found {
        Ok(files)
    } else {
        Err(format!("the sample has no {DEPLOYMENT_JSON}"))
    }
}

/// Uploads the scenario's source artifact and model into `bucket`, and registers the model as an
/// Approved package in moto's Model Registry (`moto`: a SageMaker client of moto); returns the
/// package's ARN.
pub async fn prepare(
    s3: &aws_sdk_s3::Client,
    moto: &aws_sdk_sagemaker::Client,
    bucket: &str,
    sample: &[(String, String)],
) -> Result<String, String> {
    let files = source_files(sample)?;
    let zipped: Vec<(&str, &str)> = files
        .iter()
        .map(|(p, t)| (p.as_str(), t.as_str()))
        .collect();
    let put = |key: &'static str, body: Vec<u8>| async move {
        s3.put_object()
            .bucket(bucket)
            .key(key)
            .body(body.into())
            .send()
            .await
            .map_err(|e| {
                format!(
                    "PutObject {key} on moto: {}",
                    aws_sdk_s3::error::DisplayErrorContext(e)
                )
            })
    };
    put(SOURCE_KEY, test_support::job::zip_of(&zipped)).await?;
    // Where the framework containers look for the code without SAGEMAKER_SUBMIT_DIRECTORY.
    put(
        MODEL_KEY,
        test_support::archive::tar_gz(&[("code/inference.py", INFERENCE_PY)]),
    )
    .await?;
    moto.create_model_package_group()
        .model_package_group_name(PACKAGE_GROUP)
        .send()
        .await
        .map_err(|e| {
            format!(
                "CreateModelPackageGroup {PACKAGE_GROUP} on moto: {}",
                DisplayErrorContext(e)
            )
        })?;
    let container = ModelPackageContainerDefinition::builder()
        .image(IMAGE)
        .model_data_url(format!("s3://{bucket}/{MODEL_KEY}"))
        .environment("SAGEMAKER_PROGRAM", "inference.py")
        .build();
    let package = moto
        .create_model_package()
        .model_package_group_name(PACKAGE_GROUP)
        .inference_specification(
            InferenceSpecification::builder()
                .containers(container)
                .supported_content_types("text/csv")
                .supported_response_mime_types("text/csv")
                .build(),
        )
        .model_approval_status(ModelApprovalStatus::Approved)
        .send()
        .await
        .map_err(|e| format!("CreateModelPackage on moto: {}", DisplayErrorContext(e)))?;
    package
        .model_package_arn()
        .map(str::to_owned)
        .ok_or_else(|| "CreateModelPackage on moto answered no ARN".to_owned())
}

/// Waits until [`ENDPOINT`] is InService on the local SageMaker (`sagemaker`: a client of it);
/// returns how long that took.
pub async fn wait_in_service(sagemaker: &aws_sdk_sagemaker::Client) -> Result<Duration, String> {
    let started = Instant::now();
    loop {
        let described = sagemaker
            .describe_endpoint()
            .endpoint_name(ENDPOINT)
            .send()
            .await
            .map_err(|e| format!("DescribeEndpoint {ENDPOINT}: {}", DisplayErrorContext(e)))?;
        match described.endpoint_status() {
            Some(EndpointStatus::InService) => return Ok(started.elapsed()),
            Some(EndpointStatus::Creating) if started.elapsed() < START_LIMIT => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            status => {
                return Err(format!(
                    "endpoint {ENDPOINT} is {status:?} after {:.1} s, not InService: {}",
                    started.elapsed().as_secs_f64(),
                    described.failure_reason().unwrap_or("no reason given")
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> String {
        let path = test_support::workspace_root()
            .join("examples/model-repo")
            .join(DEPLOYMENT_JSON);
        std::fs::read_to_string(path).unwrap()
    }

    #[test]
    fn the_smoke_test_is_the_samples_without_its_repetitions() {
        let original: Value = serde_json::from_str(&sample()).unwrap();
        assert!(
            original["SmokeTest"]["Latency"]["Invocations"]
                .as_u64()
                .is_some_and(|n| n > 1),
            "the sample repeats its smoke request; if it no longer does, this scenario's \
             description needs a look"
        );
        let changed: Value = serde_json::from_str(&smoke_test_of_one(&sample()).unwrap()).unwrap();
        assert!(changed["SmokeTest"].get("Latency").is_none());
        let mut expected = original.clone();
        expected["SmokeTest"]
            .as_object_mut()
            .unwrap()
            .remove("Latency");
        assert_eq!(changed, expected);
    }

    #[test]
    fn only_deployment_json_changes() {
        let sample = vec![
            ("src/inference.py".to_owned(), "print()".to_owned()),
            (DEPLOYMENT_JSON.to_owned(), sample()),
        ];
        let files = source_files(&sample).unwrap();
        assert_eq!(files[0], sample[0]);
        assert_eq!(files[1].0, DEPLOYMENT_JSON);
        assert!(!files[1].1.contains("Latency"));
        assert!(source_files(&sample[..1]).is_err());
        assert!(smoke_test_of_one(r#"{"Staging": {}}"#).is_err());
        assert!(
            smoke_test_of_one(r#"{"SmokeTest": {"Requests": []}}"#)
                .unwrap_err()
                .contains("0 smoke-test requests")
        );
    }

    #[test]
    fn the_model_answers_the_samples_smoke_request_as_its_smoke_test_expects() {
        let dir = std::env::temp_dir().join(format!("bench-deploy-model-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("inference.py"), INFERENCE_PY).unwrap();
        let body = std::fs::read_to_string(
            test_support::workspace_root().join("examples/model-repo/tests/smoke/penguins.csv"),
        )
        .unwrap();
        let script = "import sys; sys.path.insert(0, sys.argv[1]); import inference as m; \
                      out = m.transform_fn(m.model_fn(sys.argv[1]), sys.argv[2], 'text/csv', 'text/csv'); \
                      sys.stdout.write(out[0] + '|' + out[1])";
        let output = std::process::Command::new("python3")
            .args(["-c", script])
            .arg(&dir)
            .arg(&body)
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .output()
            .unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let stdout = String::from_utf8(output.stdout).unwrap();
        let (answer, content_type) = stdout.rsplit_once('|').unwrap();
        assert_eq!(content_type, "text/csv");
        // SameRecordCount and `^((male|female),[0-9.]+\n)+$`.
        let rows = body.lines().filter(|l| !l.trim().is_empty()).count();
        assert_eq!(answer, "female,0.5\n".repeat(rows));
    }
}
