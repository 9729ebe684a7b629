//! A training job's life: Starting (its folder), Downloading (channels and code), Training
//! (the process), Uploading (model.tar.gz), then Completed, Failed, or Stopped (also when it
//! ran out of MaxRuntimeInSeconds).

pub mod contract;
pub mod layout;
pub mod metrics;
pub mod process;

use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::ExitStatus;
use std::sync::Arc;
use std::time::Duration;

use sagemaker_requests::CreateTrainingJobRequest;
use sagemaker_requests::training_job::DEFAULT_MAX_RUNTIME_SECONDS;
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep_until};
use tokio_util::sync::CancellationToken;

use crate::archive;
use crate::protocol::Timestamp;
use crate::s3::{self, S3Uri};
use crate::service::Service;
use crate::state::{Secondary, TrainingStatus};
use contract::{Invocation, ScriptMode};
use layout::JobDirs;
use metrics::MetricScraper;

/// SageMaker keeps the first 1024 characters of a failure reason.
const FAILURE_REASON_LIMIT: usize = 1024;

/// Runs the job (already in the store) in the background.
pub fn spawn(service: &Arc<Service>, name: String) -> JoinHandle<()> {
    let service = Arc::clone(service);
    let tasks = service.tasks.clone();
    tasks.spawn(async move { run(&service, &name).await })
}

/// How the job ended, before its outputs are handled.
#[derive(Debug)]
enum Outcome {
    Completed,
    Failed(String),
    Stopped,
    MaxRuntimeExceeded,
}

async fn run(service: &Service, name: &str) {
    let found = service
        .store()
        .training_job(name)
        .map(|job| (job.request.clone(), job.arn.clone(), job.stop.clone()));
    let Some((request, arn, stop)) = found else {
        return;
    };
    let dirs = service.job_dirs(name);
    let outcome = execute(service, name, &arn, &request, &dirs, &stop).await;
    tracing::info!(training_job = name, outcome = ?outcome, "training job ended");
    finish(service, name, &request, &dirs, outcome).await;
}

async fn execute(
    service: &Service,
    name: &str,
    arn: &str,
    request: &CreateTrainingJobRequest,
    dirs: &JobDirs,
    stop: &CancellationToken,
) -> Outcome {
    let prepared = {
        let (dirs, request) = (dirs.clone(), request.clone());
        tokio::task::spawn_blocking(move || dirs.create(&request)).await
    };
    match prepared {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            return Outcome::Failed(format!(
                "InternalServerError: cannot prepare the job folder {}: {e}",
                dirs.root().display()
            ));
        }
        Err(e) => return Outcome::Failed(format!("InternalServerError: {e}")),
    }
    if stop.is_cancelled() {
        return Outcome::Stopped;
    }

    // MaxRuntimeInSeconds counts from here, when the instance would be up.
    let max_runtime = request
        .stopping_condition
        .as_ref()
        .and_then(|s| s.max_runtime_in_seconds)
        .unwrap_or(DEFAULT_MAX_RUNTIME_SECONDS);
    let deadline = Instant::now() + Duration::from_secs(u64::try_from(max_runtime).unwrap_or(0));
    service.update_training(name, |job| {
        job.training_start_time = Some(Timestamp::now());
        job.transition(Secondary::Downloading);
    });
    let script = request
        .hyper_parameters
        .as_ref()
        .and_then(contract::script_mode);
    tokio::select! {
        result = download_inputs(service, request, dirs, script.as_ref()) => {
            if let Err(reason) = result {
                return Outcome::Failed(reason);
            }
        }
        () = stop.cancelled() => return Outcome::Stopped,
        () = sleep_until(deadline) => return Outcome::MaxRuntimeExceeded,
    }

    let image = request
        .algorithm_specification
        .as_ref()
        .and_then(|a| a.training_image.as_deref())
        .unwrap_or_default();
    let Some(entrypoint) = service.settings.images.entrypoint(image, script.is_some()) else {
        return Outcome::Failed(format!(
            "ClientError: no local command runs the training image `{image}`: set the \
             `sagemaker_program` hyperparameter (script mode), or map the image with \
             `--image '<pattern>=<command>'`"
        ));
    };
    let definitions = request
        .algorithm_specification
        .as_ref()
        .and_then(|a| a.metric_definitions.clone())
        .unwrap_or_default();
    let mut scraper = match MetricScraper::new(&definitions) {
        Ok(scraper) => scraper,
        Err(e) => return Outcome::Failed(format!("ClientError: {e}")),
    };
    let invocation = contract::invocation(&entrypoint, script.as_ref(), request, dirs);
    let env = contract::environment(request, name, arn, dirs, script.as_ref());
    service.update_training(name, |job| job.transition(Secondary::Training));
    tracing::info!(training_job = name, command = %invocation.display(), "training");
    let log = dirs.log();
    let finished = process::run(
        process::Run {
            invocation: &invocation,
            env: &env,
            log: &log,
            stop,
            deadline,
            grace: service.settings.stop_grace,
            groups: &service.groups,
        },
        |line| scraper.scan(line),
    )
    .await;
    let final_metrics = scraper.final_metrics();
    service.update_training(name, |job| job.final_metrics = final_metrics);
    match finished {
        Err(e) => Outcome::Failed(format!(
            "ClientError: cannot run `{}` in {}: {e}",
            invocation.display(),
            invocation.cwd.display()
        )),
        Ok(finished) => match finished.ended {
            process::Ended::Exited(status) if status.success() => Outcome::Completed,
            process::Ended::Exited(status) => Outcome::Failed(failure_reason(
                dirs,
                &invocation,
                status,
                &finished.stderr_tail,
            )),
            process::Ended::Stopped => Outcome::Stopped,
            process::Ended::TimedOut => Outcome::MaxRuntimeExceeded,
        },
    }
}

async fn download_inputs(
    service: &Service,
    request: &CreateTrainingJobRequest,
    dirs: &JobDirs,
    script: Option<&ScriptMode>,
) -> Result<(), String> {
    for channel in request.input_data_config.iter().flatten() {
        let Some(source) = &channel.data_source.s3_data_source else {
            // Refused at creation; kept as a reason should that check ever go.
            return Err(format!(
                "ClientError: channel `{}` has no S3DataSource",
                channel.channel_name
            ));
        };
        let uri: S3Uri = source
            .s3_uri
            .parse()
            .map_err(|e| format!("ClientError: {e}"))?;
        s3::download_prefix(&service.s3, &uri, &dirs.channel(&channel.channel_name))
            .await
            .map_err(|e| format!("ClientError: {e}"))?;
    }
    let Some(submit) = script.and_then(|s| s.submit_directory.as_deref()) else {
        return Ok(());
    };
    let uri: S3Uri = submit
        .parse()
        .map_err(|e| format!("ClientError: sagemaker_submit_directory: {e}"))?;
    let archive_path = dirs.downloads().join("sourcedir.tar.gz");
    s3::download_object(&service.s3, &uri, &archive_path)
        .await
        .map_err(|e| format!("ClientError: sagemaker_submit_directory: {e}"))?;
    let code = dirs.code();
    let unpacked = tokio::task::spawn_blocking(move || archive::unpack(&archive_path, &code)).await;
    match unpacked {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(format!(
            "ClientError: sagemaker_submit_directory {uri} is not a tar.gz archive: {e}"
        )),
        Err(e) => Err(format!("InternalServerError: {e}")),
    }
}

/// The failure file's text, as SageMaker reports it; else what the framework toolkit
/// writes for a script that exits non-zero, with the end of its standard error.
fn failure_reason(
    dirs: &JobDirs,
    invocation: &Invocation,
    status: ExitStatus,
    stderr_tail: &[String],
) -> String {
    if let Ok(text) = std::fs::read_to_string(dirs.failure())
        && !text.trim().is_empty()
    {
        return text.trim().chars().take(FAILURE_REASON_LIMIT).collect();
    }
    let code = match (status.code(), status.signal()) {
        (Some(code), _) => code.to_string(),
        (None, Some(signal)) => format!("-{signal}"),
        (None, None) => "unknown".to_owned(),
    };
    let head = format!("AlgorithmError: ExecuteUserScriptError:\nExitCode {code}\nErrorMessage \"");
    let foot = format!(
        "\"\nCommand \"{}\", exit code: {code}",
        invocation.display()
    );
    let room = FAILURE_REASON_LIMIT.saturating_sub(head.chars().count() + foot.chars().count());
    let message = stderr_tail.join("\n");
    let skip = message.chars().count().saturating_sub(room);
    let message: String = message.chars().skip(skip).collect();
    let reason = format!("{head}{message}{foot}");
    reason.chars().take(FAILURE_REASON_LIMIT).collect()
}

async fn finish(
    service: &Service,
    name: &str,
    request: &CreateTrainingJobRequest,
    dirs: &JobDirs,
    outcome: Outcome,
) {
    match outcome {
        Outcome::Completed => {
            service.update_training(name, |job| job.transition(Secondary::Uploading));
            match upload_outputs(service, name, request, dirs).await {
                Ok(model) => service.update_training(name, |job| {
                    job.model_artifacts = Some(model);
                    job.finish(TrainingStatus::Completed, Secondary::Completed);
                }),
                Err(reason) => service.update_training(name, |job| {
                    job.failure_reason = Some(reason);
                    job.finish(TrainingStatus::Failed, Secondary::Failed);
                }),
            }
        }
        Outcome::Failed(reason) => service.update_training(name, |job| {
            job.failure_reason = Some(reason);
            job.finish(TrainingStatus::Failed, Secondary::Failed);
        }),
        Outcome::Stopped | Outcome::MaxRuntimeExceeded => {
            let secondary = if matches!(outcome, Outcome::Stopped) {
                service.update_training(name, |job| {
                    job.status = TrainingStatus::Stopping;
                    job.transition(Secondary::Stopping);
                });
                Secondary::Stopped
            } else {
                Secondary::MaxRuntimeExceeded
            };
            // What the job saved in its grace period is kept, as on SageMaker.
            let model = if archive::has_files(&dirs.model()) {
                match upload_outputs(service, name, request, dirs).await {
                    Ok(model) => Some(model),
                    Err(reason) => {
                        tracing::warn!(training_job = name, %reason, "model of a stopped job not uploaded");
                        None
                    }
                }
            } else {
                None
            };
            service.update_training(name, |job| {
                job.model_artifacts = model;
                job.finish(TrainingStatus::Stopped, secondary);
            });
        }
    }
}

/// Packs and uploads `model/` (and `output/data/` when it has files) to
/// `<S3OutputPath>/<job>/output/`; returns the model's URI.
async fn upload_outputs(
    service: &Service,
    name: &str,
    request: &CreateTrainingJobRequest,
    dirs: &JobDirs,
) -> Result<String, String> {
    let base: S3Uri = request
        .output_data_config
        .s3_output_path
        .parse()
        .map_err(|e| format!("ClientError: S3OutputPath: {e}"))?;
    let output = base.join(&format!("{name}/output/"));
    let model_uri = output.join("model.tar.gz");
    pack_and_upload(
        service,
        &dirs.model(),
        &dirs.root().join("model.tar.gz"),
        &model_uri,
    )
    .await?;
    if archive::has_files(&dirs.output_data()) {
        let uri = output.join("output.tar.gz");
        pack_and_upload(
            service,
            &dirs.output_data(),
            &dirs.root().join("output.tar.gz"),
            &uri,
        )
        .await?;
    }
    Ok(model_uri.to_string())
}

async fn pack_and_upload(
    service: &Service,
    dir: &Path,
    archive_path: &Path,
    uri: &S3Uri,
) -> Result<(), String> {
    let packed = {
        let (dir, archive_path) = (dir.to_owned(), archive_path.to_owned());
        tokio::task::spawn_blocking(move || archive::pack(&dir, &archive_path)).await
    };
    match packed {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            return Err(format!(
                "InternalServerError: cannot pack {}: {e}",
                dir.display()
            ));
        }
        Err(e) => return Err(format!("InternalServerError: {e}")),
    }
    s3::upload_file(&service.s3, archive_path, uri)
        .await
        .map_err(|e| format!("ClientError: cannot upload {uri}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dirs() -> (JobDirs, std::path::PathBuf) {
        let work = std::env::temp_dir().join(format!(
            "failure-test-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let dirs = JobDirs::new(&work, "j");
        std::fs::create_dir_all(dirs.output()).unwrap();
        (dirs, work)
    }

    fn invocation() -> Invocation {
        Invocation {
            argv: vec!["python3".into(), "train.py".into()],
            cwd: "/w".into(),
        }
    }

    #[test]
    fn the_failure_file_is_the_reason() {
        let (dirs, work) = dirs();
        std::fs::write(dirs.failure(), format!("  bad data{}\n", "!".repeat(2000))).unwrap();
        let reason = failure_reason(&dirs, &invocation(), ExitStatus::from_raw(1 << 8), &[]);
        assert!(reason.starts_with("bad data!"));
        assert_eq!(reason.chars().count(), FAILURE_REASON_LIMIT);
        std::fs::remove_dir_all(work).unwrap();
    }

    #[test]
    fn without_a_failure_file_the_reason_quotes_the_end_of_stderr() {
        let (dirs, work) = dirs();
        let mut tail: Vec<String> = (0..20).map(|i| format!("{i}{}", "x".repeat(100))).collect();
        tail.push("ValueError: max_depth must be positive".into());
        let reason = failure_reason(&dirs, &invocation(), ExitStatus::from_raw(2 << 8), &tail);
        assert!(reason.starts_with("AlgorithmError: ExecuteUserScriptError:\nExitCode 2\n"));
        assert!(reason.contains("ValueError: max_depth must be positive\""));
        assert!(reason.ends_with("Command \"python3 train.py\", exit code: 2"));
        assert!(reason.chars().count() <= FAILURE_REASON_LIMIT);
        std::fs::remove_dir_all(work).unwrap();
    }
}
