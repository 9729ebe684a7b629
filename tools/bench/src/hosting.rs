//! Local hosting (issue 14): how long the local SageMaker takes to bring a script-mode endpoint
//! in service, and what its runtime API adds to an invocation over calling the model server
//! directly.
//!
//! The model is the sample's own: `examples/model-repo/src/train.py` trained with 10 trees on
//! the sample's data, served by its `inference.py`, the code as an s3:// sourcedir.tar.gz in
//! `SAGEMAKER_SUBMIT_DIRECTORY` (as the Evaluate action registers it). The local SageMaker runs
//! in this process, against a moto server of its own.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use aws_sdk_sagemaker::error::DisplayErrorContext;
use aws_sdk_sagemaker::types::{
    ContainerDefinition, EndpointStatus, ProductionVariant, ProductionVariantServerlessConfig,
};
use aws_sdk_sagemakerruntime::primitives::Blob;
use axum::body::Bytes;
use axum::http::{Method, Request, StatusCode, Uri, header};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use local_sagemaker::{LocalSageMaker, Settings};
use serde::Serialize;
use test_support::MotoServer;

use crate::stats::{self, Summary};

/// These rows' and their budget's name in the report.
pub const NAME: &str = "local hosting";
/// One penguin without its label: the first row of examples/model-repo/data/test/test.csv.
pub const PENGUIN: &str = "Gentoo,Biscoe,45,15.4,220,5050\n";
const CSV: &str = "text/csv";
const BUCKET: &str = "bench-hosting";
const MODEL: &str = "bench-penguins";
const CONFIG: &str = "bench-penguins-serverless";
const VARIANT: &str = "AllTraffic";
const ROLE: &str = "arn:aws:iam::123456789012:role/sagemaker-cicd-SageMakerExecutionRole";
/// The sample's training image (trainingjob.json); script mode runs locally whatever it names.
const IMAGE: &str =
    "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3";
/// How often DescribeEndpoint asks while an endpoint starts: the start time's resolution.
const POLL: Duration = Duration::from_millis(10);
/// The local SageMaker's own health-check limit (120 s), and a margin.
const START_LIMIT: Duration = Duration::from_secs(150);

/// How much to measure.
#[derive(Debug, Clone, Copy)]
pub struct Counts {
    pub endpoint_starts: usize,
    /// Requests of each kind (through the runtime, straight to the model server).
    pub requests: usize,
    /// Discarded requests of each kind before measuring.
    pub warmup: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct HostingReport {
    /// CreateEndpoint to DescribeEndpoint InService, each creation.
    pub endpoint_starts_s: Vec<f64>,
    pub endpoint_start_median_s: f64,
    pub warmup: usize,
    /// InvokeEndpoint through the local runtime API (aws-sdk-sagemakerruntime).
    pub runtime: Summary,
    /// The same request straight to the model server's `/invocations` (a keep-alive client).
    pub direct: Summary,
    /// The runtime's median minus the direct median.
    pub overhead_median_ms: f64,
}

impl HostingReport {
    /// `None` without an endpoint start or a request of each kind.
    pub fn of(
        starts: &[Duration],
        runtime: &[Duration],
        direct: &[Duration],
        warmup: usize,
    ) -> Option<HostingReport> {
        let endpoint_starts_s: Vec<f64> = starts.iter().map(Duration::as_secs_f64).collect();
        let mut sorted = endpoint_starts_s.clone();
        sorted.sort_by(f64::total_cmp);
        let endpoint_start_median_s = (!sorted.is_empty()).then(|| stats::median(&sorted))?;
        let runtime = Summary::of(runtime)?;
        let direct = Summary::of(direct)?;
        Some(HostingReport {
            endpoint_starts_s,
            endpoint_start_median_s,
            warmup,
            overhead_median_ms: runtime.median_ms - direct.median_ms,
            runtime,
            direct,
        })
    }
}

/// Trains the sample's model, starts the services, measures, stops them.
pub async fn measure(root: &Path, work: &Path, counts: Counts) -> Result<HostingReport, String> {
    let _ = std::fs::remove_dir_all(work);
    let model_json = train(root, &work.join("training")).await?;
    let services = Services::start(&work.join("sagemaker")).await?;
    let measured = services.measure(root, &model_json, counts).await;
    services.shutdown().await;
    // On failure the model server's log stays, for a look.
    if measured.is_ok() {
        let _ = std::fs::remove_dir_all(work);
    }
    measured
}

/// Runs train.py with 10 trees (a model.json of a few KiB, a second of training) under the
/// training contract's variables; returns model.json.
async fn train(root: &Path, dir: &Path) -> Result<PathBuf, String> {
    let repo = root.join("examples/model-repo");
    let data = repo.join("data");
    let model_dir = dir.join("model");
    let script = repo.join("src/train.py");
    let output = tokio::process::Command::new("python3")
        .arg(&script)
        .args(["--n_estimators", "10"])
        .env("SM_MODEL_DIR", &model_dir)
        .env("SM_OUTPUT_DIR", dir.join("output"))
        .env("SM_CHANNEL_TRAIN", data.join("train"))
        .env("SM_CHANNEL_VALIDATION", data.join("validation"))
        .env("SM_CHANNEL_TEST", data.join("test"))
        // No __pycache__ left in the sample's folder.
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .await
        .map_err(|e| format!("cannot run python3 {}: {e}", script.display()))?;
    if !output.status.success() {
        return Err(format!(
            "python3 {} --n_estimators 10 failed ({}):\n{}{}",
            script.display(),
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let model = model_dir.join("model.json");
    if model.is_file() {
        Ok(model)
    } else {
        Err(format!("train.py wrote no {}", model.display()))
    }
}

/// The files directly in `dir` (a sourcedir: the SageMaker Python SDK packs the folder; there
/// are no subfolders to keep but `__pycache__`).
fn source_files(dir: &Path) -> Result<Vec<(String, String)>, String> {
    let mut files = Vec::new();
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_file() {
            let text =
                std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            files.push((entry.file_name().to_string_lossy().into_owned(), text));
        }
    }
    files.sort();
    Ok(files)
}

fn tar_gz(files: &[(String, String)]) -> Vec<u8> {
    let entries: Vec<(&str, &str)> = files
        .iter()
        .map(|(p, t)| (p.as_str(), t.as_str()))
        .collect();
    test_support::archive::tar_gz(&entries)
}

/// The sample's answer to one penguin: `female,0.9` or `male,0.9`, the same either way.
pub fn check_answer(runtime: &[u8], direct: &[u8]) -> Result<(), String> {
    let text = String::from_utf8_lossy(runtime);
    if runtime != direct {
        return Err(format!(
            "the runtime answered {text:?}, the model server {:?}",
            String::from_utf8_lossy(direct)
        ));
    }
    if text.starts_with("female,") || text.starts_with("male,") {
        Ok(())
    } else {
        Err(format!(
            "the model answered {text:?}, not the sample's `sex,probability`"
        ))
    }
}

/// moto (S3, CloudWatch for the endpoint metrics) and a local SageMaker in front of it.
struct Services {
    moto: MotoServer,
    sagemaker: LocalSageMaker,
    s3: aws_sdk_s3::Client,
    client: aws_sdk_sagemaker::Client,
    runtime: aws_sdk_sagemakerruntime::Client,
}

impl Services {
    async fn start(work: &Path) -> Result<Services, String> {
        let moto = tokio::task::spawn_blocking(MotoServer::start)
            .await
            .map_err(|e| format!("the moto server did not start (run `make setup`): {e}"))?;
        let s3 = moto.s3_client();
        s3.create_bucket()
            .bucket(BUCKET)
            .send()
            .await
            .map_err(|e| format!("CreateBucket on moto: {}", DisplayErrorContext(e)))?;
        let sagemaker = LocalSageMaker::start(
            Settings::new(work).with_forward_endpoint(moto.endpoint_url()),
            s3.clone(),
        )
        .await
        .map_err(|e| format!("the local SageMaker did not start: {e}"))?;
        let config = test_support::local_sdk_config(&sagemaker.endpoint_url());
        Ok(Services {
            client: aws_sdk_sagemaker::Client::new(&config),
            runtime: aws_sdk_sagemakerruntime::Client::new(&config),
            moto,
            sagemaker,
            s3,
        })
    }

    async fn shutdown(self) {
        self.sagemaker.shutdown().await;
        drop(self.moto);
    }

    async fn measure(
        &self,
        root: &Path,
        model_json: &Path,
        counts: Counts,
    ) -> Result<HostingReport, String> {
        self.create_model(root, model_json).await?;
        let mut starts = Vec::new();
        let mut endpoint = String::new();
        for n in 1..=counts.endpoint_starts.max(1) {
            // One model server at a time: the previous endpoint goes before the next starts.
            if !endpoint.is_empty() {
                self.delete_endpoint(&endpoint).await?;
            }
            endpoint = format!("bench-penguins-{n}");
            let took = self.start_endpoint(&endpoint).await?;
            eprintln!(
                "bench: {NAME}: endpoint start {n}/{}: {:.2} s",
                counts.endpoint_starts.max(1),
                took.as_secs_f64()
            );
            starts.push(took);
        }
        let (base, _) = self
            .sagemaker
            .model_server(&endpoint, VARIANT)
            .ok_or_else(|| format!("endpoint {endpoint} is in service without a model server"))?;
        let direct = Direct::new(&base)?;
        let (runtime, direct) = self.interleaved(&endpoint, &direct, counts).await?;
        HostingReport::of(&starts, &runtime, &direct, counts.warmup)
            .ok_or_else(|| "no InvokeEndpoint requests were measured".to_owned())
    }

    /// model.tar.gz (model.json) and sourcedir.tar.gz (the sample's src/) in S3, a model of
    /// them in script mode, and a serverless config of it.
    async fn create_model(&self, root: &Path, model_json: &Path) -> Result<(), String> {
        let model = std::fs::read_to_string(model_json)
            .map_err(|e| format!("{}: {e}", model_json.display()))?;
        let model_data = self
            .put(
                "model/model.tar.gz",
                tar_gz(&[("model.json".into(), model)]),
            )
            .await?;
        let code = source_files(&root.join("examples/model-repo/src"))?;
        let submit_dir = self.put("code/sourcedir.tar.gz", tar_gz(&code)).await?;
        let container = ContainerDefinition::builder()
            .image(IMAGE)
            .model_data_url(model_data)
            .environment("SAGEMAKER_PROGRAM", "inference.py")
            .environment("SAGEMAKER_SUBMIT_DIRECTORY", submit_dir)
            .build();
        self.client
            .create_model()
            .model_name(MODEL)
            .execution_role_arn(ROLE)
            .primary_container(container)
            .send()
            .await
            .map_err(|e| format!("CreateModel {MODEL}: {}", DisplayErrorContext(e)))?;
        let variant = ProductionVariant::builder()
            .variant_name(VARIANT)
            .model_name(MODEL)
            .serverless_config(
                ProductionVariantServerlessConfig::builder()
                    .memory_size_in_mb(2048)
                    .max_concurrency(1)
                    .build(),
            )
            .build();
        self.client
            .create_endpoint_config()
            .endpoint_config_name(CONFIG)
            .production_variants(variant)
            .send()
            .await
            .map_err(|e| format!("CreateEndpointConfig {CONFIG}: {}", DisplayErrorContext(e)))?;
        Ok(())
    }

    /// Uploads `body` under `key`; returns its s3:// URI.
    async fn put(&self, key: &str, body: Vec<u8>) -> Result<String, String> {
        self.s3
            .put_object()
            .bucket(BUCKET)
            .key(key)
            .body(body.into())
            .send()
            .await
            .map_err(|e| format!("PutObject {key} on moto: {}", DisplayErrorContext(e)))?;
        Ok(format!("s3://{BUCKET}/{key}"))
    }

    /// CreateEndpoint, then DescribeEndpoint every [`POLL`] until InService: the time between.
    async fn start_endpoint(&self, name: &str) -> Result<Duration, String> {
        let started = Instant::now();
        self.client
            .create_endpoint()
            .endpoint_name(name)
            .endpoint_config_name(CONFIG)
            .send()
            .await
            .map_err(|e| format!("CreateEndpoint {name}: {}", DisplayErrorContext(e)))?;
        loop {
            let described = self
                .client
                .describe_endpoint()
                .endpoint_name(name)
                .send()
                .await
                .map_err(|e| format!("DescribeEndpoint {name}: {}", DisplayErrorContext(e)))?;
            match described.endpoint_status() {
                Some(EndpointStatus::InService) => return Ok(started.elapsed()),
                Some(EndpointStatus::Failed) => {
                    return Err(format!(
                        "endpoint {name} failed: {}",
                        described.failure_reason().unwrap_or_default()
                    ));
                }
                _ if started.elapsed() > START_LIMIT => {
                    return Err(format!(
                        "endpoint {name} is not in service after {} s",
                        START_LIMIT.as_secs()
                    ));
                }
                _ => tokio::time::sleep(POLL).await,
            }
        }
    }

    async fn delete_endpoint(&self, name: &str) -> Result<(), String> {
        self.client
            .delete_endpoint()
            .endpoint_name(name)
            .send()
            .await
            .map_err(|e| format!("DeleteEndpoint {name}: {}", DisplayErrorContext(e)))?;
        Ok(())
    }

    async fn invoke_endpoint(&self, endpoint: &str) -> Result<Vec<u8>, String> {
        let answer = self
            .runtime
            .invoke_endpoint()
            .endpoint_name(endpoint)
            .content_type(CSV)
            .accept(CSV)
            .body(Blob::new(PENGUIN))
            .send()
            .await
            .map_err(|e| {
                format!(
                    "InvokeEndpoint {endpoint}: {}",
                    aws_sdk_sagemakerruntime::error::DisplayErrorContext(e)
                )
            })?;
        Ok(answer.body.map(Blob::into_inner).unwrap_or_default())
    }

    /// After `warmup` discarded pairs, `requests` pairs of one request through the runtime and
    /// one straight to the model server, timed each; the order alternates, so that neither
    /// always runs right after the other's work.
    async fn interleaved(
        &self,
        endpoint: &str,
        direct: &Direct,
        counts: Counts,
    ) -> Result<(Vec<Duration>, Vec<Duration>), String> {
        for i in 0..counts.warmup {
            self.pair(endpoint, direct, i % 2 == 0).await?;
        }
        let mut runtime = Vec::with_capacity(counts.requests);
        let mut straight = Vec::with_capacity(counts.requests);
        for i in 0..counts.requests {
            let (r, d) = self.pair(endpoint, direct, i % 2 == 0).await?;
            runtime.push(r);
            straight.push(d);
            if (i + 1).is_multiple_of(100) || i + 1 == counts.requests {
                eprintln!(
                    "bench: {NAME}: InvokeEndpoint and direct requests {}/{}",
                    i + 1,
                    counts.requests
                );
            }
        }
        Ok((runtime, straight))
    }

    /// One request each way, answers checked; their durations (runtime, direct).
    async fn pair(
        &self,
        endpoint: &str,
        direct: &Direct,
        runtime_first: bool,
    ) -> Result<(Duration, Duration), String> {
        let ((runtime, through), (straight, answer)) = if runtime_first {
            let r = timed(self.invoke_endpoint(endpoint)).await?;
            (r, timed(direct.invoke()).await?)
        } else {
            let d = timed(direct.invoke()).await?;
            (timed(self.invoke_endpoint(endpoint)).await?, d)
        };
        check_answer(&through, &answer)?;
        Ok((runtime, straight))
    }
}

async fn timed<T>(call: impl Future<Output = Result<T, String>>) -> Result<(Duration, T), String> {
    let started = Instant::now();
    let value = call.await?;
    Ok((started.elapsed(), value))
}

/// The model server called straight: `POST {base}/invocations` with the headers the runtime
/// forwards (Content-Type, Accept), on a keep-alive connection as the runtime's own client.
struct Direct {
    client: Client<HttpConnector, Full<Bytes>>,
    uri: Uri,
}

impl Direct {
    fn new(base: &str) -> Result<Direct, String> {
        let uri = format!("{base}/invocations")
            .parse()
            .map_err(|e| format!("the model server's URL {base}: {e}"))?;
        Ok(Direct {
            client: Client::builder(TokioExecutor::new()).build_http(),
            uri,
        })
    }

    async fn invoke(&self) -> Result<Bytes, String> {
        let request = Request::builder()
            .method(Method::POST)
            .uri(self.uri.clone())
            .header(header::CONTENT_TYPE, CSV)
            .header(header::ACCEPT, CSV)
            .body(Full::new(Bytes::from_static(PENGUIN.as_bytes())))
            .map_err(|e| format!("POST {}: {e}", self.uri))?;
        let response = self
            .client
            .request(request)
            .await
            .map_err(|e| format!("POST {}: {e}", self.uri))?;
        let status = response.status();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| format!("POST {}: {e}", self.uri))?
            .to_bytes();
        if status == StatusCode::OK {
            Ok(body)
        } else {
            Err(format!(
                "POST {}: {status}: {}",
                self.uri,
                String::from_utf8_lossy(&body)
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(values: &[u64]) -> Vec<Duration> {
        values.iter().map(|&v| Duration::from_millis(v)).collect()
    }

    #[test]
    fn the_report_has_the_start_median_and_the_overhead_at_the_median() {
        let report =
            HostingReport::of(&ms(&[900, 700, 800]), &ms(&[5, 3, 4]), &ms(&[2, 1, 3]), 5).unwrap();
        assert_eq!(report.endpoint_starts_s, [0.9, 0.7, 0.8]);
        assert!((report.endpoint_start_median_s - 0.8).abs() < 1e-9);
        assert_eq!(report.runtime.median_ms, 4.0);
        assert_eq!(report.direct.median_ms, 2.0);
        assert_eq!(report.overhead_median_ms, 2.0);
        assert_eq!(report.warmup, 5);
    }

    #[test]
    fn no_report_without_measurements() {
        assert!(HostingReport::of(&[], &ms(&[1]), &ms(&[1]), 0).is_none());
        assert!(HostingReport::of(&ms(&[1]), &[], &ms(&[1]), 0).is_none());
        assert!(HostingReport::of(&ms(&[1]), &ms(&[1]), &[], 0).is_none());
    }

    #[test]
    fn answers_must_agree_and_be_the_samples() {
        assert!(check_answer(b"male,0.9\n", b"male,0.9\n").is_ok());
        assert!(check_answer(b"female,0.6\n", b"female,0.6\n").is_ok());
        let differ = check_answer(b"male,0.9\n", b"female,0.6\n").unwrap_err();
        assert!(
            differ.contains("the model server \"female,0.6\\n\""),
            "{differ}"
        );
        let other = check_answer(b"[1.0]", b"[1.0]").unwrap_err();
        assert!(other.contains("not the sample's"), "{other}");
    }

    #[test]
    fn the_source_dir_is_the_samples_code_without_folders() {
        let src = test_support::workspace_root().join("examples/model-repo/src");
        let files = source_files(&src).unwrap();
        let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
        assert!(names.contains(&"inference.py"), "{names:?}");
        assert!(names.iter().all(|n| !n.contains('/')), "{names:?}");
    }
}
