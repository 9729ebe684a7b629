//! `sagemaker-cicd run` and `sagemaker-cicd services`: the pipeline of template.yaml on this
//! machine, against local services it starts and stops itself.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use local_codepipeline::{
    ActionReport, ExecutionReport, LocalPipeline, Progress, RunSettings, Services, ServicesSettings,
};
use local_stack::{Stack, StackInputs, Template};
use serde::Serialize;
use serde_json::Value;
use tokio::signal::unix::{Signal, SignalKind, signal};

use crate::progress::Display;
use crate::project::{Project, functions_dir};

/// The region of every local ARN.
pub const REGION: &str = "us-east-1";

/// What a failed set-up exits with (a failed pipeline exits 1).
pub const SETUP_FAILED: i32 = 2;
/// Interrupted by Ctrl-C (128 + SIGINT).
pub const INTERRUPTED: i32 = 130;

#[derive(Debug, Clone)]
pub struct RunOptions {
    /// One execution per repository, in order, on the same local services (like successive
    /// pushes: a later one is gated against the model an earlier one registered).
    pub repositories: Vec<PathBuf>,
    pub project: Option<PathBuf>,
    pub stack_name: String,
    pub parameters: Vec<(String, String)>,
    pub functions_dir: Option<PathBuf>,
    pub continuation_delay: Duration,
    pub json: bool,
    pub live: bool,
    pub duplicate_deliveries: Vec<String>,
    /// Keep the local services (and the deployed endpoint) up after the run, until Ctrl-C.
    pub serve: bool,
}

/// The email the notify function sent, read back from the local SNS.
#[derive(Debug, Clone, Serialize)]
pub struct Email {
    pub subject: String,
    pub body: String,
}

/// A training job the local SageMaker ran, and its process's own run time.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TrainingJob {
    pub name: String,
    pub status: String,
    /// TrainingStartTime and TrainingEndTime, in seconds since the epoch.
    pub started: Option<f64>,
    pub ended: Option<f64>,
    pub seconds: f64,
}

/// One execution, with what it caused: the emails and the training jobs.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub repository: PathBuf,
    #[serde(flatten)]
    pub execution: ExecutionReport,
    pub emails: Vec<Email>,
    pub training_jobs: Vec<TrainingJob>,
    /// The training processes' own run time, summed (they may overlap when tuning).
    pub training_seconds: f64,
    /// The deployed model asked once, with the first record of its smoke test.
    pub answer: Option<Answer>,
}

/// A prediction of the deployed model, through the local runtime API.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Answer {
    pub endpoint: String,
    pub request: String,
    pub response: String,
}

/// Template parameters the local run fills when the user does not: the ones without a default.
fn local_parameters(repository: &Path, overrides: &[(String, String)]) -> BTreeMap<String, String> {
    let mut parameters = BTreeMap::from([
        ("NotificationEmail".to_owned(), "you@example.com".to_owned()),
        ("GitHubOwner".to_owned(), "local".to_owned()),
        (
            "GitHubRepository".to_owned(),
            local_codepipeline::repository_name(repository),
        ),
    ]);
    parameters.extend(overrides.iter().cloned());
    parameters
}

/// The stack name rule of template.yaml (job, group and policy names start with it): lowercase
/// letters, digits and single hyphens, at most 20 characters.
pub fn check_stack_name(name: &str) -> Result<(), String> {
    let ok = (1..=20).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.starts_with('-')
        && !name.ends_with('-')
        && !name.contains("--");
    if ok {
        Ok(())
    } else {
        Err(format!(
            "the stack name `{name}` breaks the rule of template.yaml: lowercase letters, digits \
             and single hyphens, at most 20 characters (e.g. sagemaker-cicd)"
        ))
    }
}

pub fn resolve_stack(
    project: &Project,
    stack_name: &str,
    repository: &Path,
    overrides: &[(String, String)],
) -> Result<Stack, String> {
    let template = Template::load(&project.template()).map_err(|e| e.to_string())?;
    template
        .resolve(&StackInputs {
            stack_name: stack_name.to_owned(),
            region: REGION.to_owned(),
            account_id: local_codepipeline::ACCOUNT_ID.to_owned(),
            parameters: local_parameters(repository, overrides),
        })
        .map_err(|e| e.to_string())
}

/// Every function binary the pipeline needs, or what to build.
fn check_binaries(stack: &Stack, dir: &Path) -> Result<(), String> {
    let missing: BTreeSet<&str> = stack
        .functions
        .values()
        .filter(|f| !dir.join(&f.binary).is_file())
        .map(|f| f.binary.as_str())
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let packages: Vec<String> = missing.iter().map(|b| format!("-p {b}")).collect();
    Err(format!(
        "the function binaries {} are not in {}. Build them: cargo build --release {} (or use \
         `make demo`)",
        missing.iter().copied().collect::<Vec<_>>().join(", "),
        dir.display(),
        packages.join(" ")
    ))
}

struct Prepared {
    project: Project,
    stack: Stack,
    functions_dir: PathBuf,
    work_dir: PathBuf,
}

fn prepare(options: &RunOptions) -> Result<Prepared, String> {
    check_stack_name(&options.stack_name)?;
    let project = Project::locate(options.project.as_deref())?;
    for repository in &options.repositories {
        if !repository.join("configuration/trainingjob.json").is_file() {
            return Err(format!(
                "{} is not a model repository: it has no configuration/trainingjob.json (see \
                 examples/model-repo)",
                repository.display()
            ));
        }
    }
    let first = options
        .repositories
        .first()
        .ok_or("no model repository given")?;
    let stack = resolve_stack(&project, &options.stack_name, first, &options.parameters)?;
    let functions_dir = functions_dir(options.functions_dir.as_deref())?;
    check_binaries(&stack, &functions_dir)?;
    project.ensure_venv()?;
    let work_dir = std::env::temp_dir().join(format!("sagemaker-cicd-run-{}", std::process::id()));
    Ok(Prepared {
        project,
        stack,
        functions_dir,
        work_dir,
    })
}

/// SIGINT (Ctrl-C), listened to from the start: a signal that arrives while the services start
/// is then handled (everything stopped) rather than killing the process with its children.
fn interrupt_signal() -> Result<Signal, String> {
    signal(SignalKind::interrupt()).map_err(|e| format!("cannot listen for Ctrl-C: {e}"))
}

/// The exit code of a command, or [`SETUP_FAILED`] with its reason on stderr.
fn exit_code(result: Result<i32, String>) -> i32 {
    result.unwrap_or_else(|message| {
        eprintln!("error: {message}");
        SETUP_FAILED
    })
}

/// The local services, their SageMaker jobs under `work_dir` (removed when they cannot start).
async fn start_services(project: &Project, work_dir: &Path) -> Result<Services, String> {
    Services::start(ServicesSettings {
        venv: project.venv(),
        work_dir: work_dir.join("sagemaker"),
        region: REGION.to_owned(),
    })
    .await
    .map_err(|e| {
        let _ = std::fs::remove_dir_all(work_dir);
        e.to_string()
    })
}

/// Runs the pipeline; returns the exit code (0 only when every execution succeeded).
pub async fn run(options: RunOptions) -> i32 {
    exit_code(run_all(options).await)
}

async fn run_all(options: RunOptions) -> Result<i32, String> {
    let mut interrupt = interrupt_signal()?;
    let prepared = prepare(&options)?;
    let mut display = Display::new(options.live, options.json);
    display.line(
        "Starting the local services (moto, the local SageMaker, the local CodePipeline) ...",
    );
    let services = start_services(&prepared.project, &prepared.work_dir).await?;
    display.line(&format!(
        "Local services: S3, SNS, CloudWatch and the Model Registry (moto) at {}; SageMaker and \
         its runtime at {}; CodePipeline at {}",
        services.moto_endpoint(),
        services.sagemaker_endpoint(),
        services.codepipeline_endpoint()
    ));
    let (code, endpoint) =
        run_with(&options, &prepared, &services, &mut display, &mut interrupt).await;
    if options.serve && code != INTERRUPTED {
        match &endpoint {
            Some(endpoint) => print_how_to_call(&services, endpoint),
            None => eprintln!(
                "No endpoint was deployed (see the Deploy stages above); the local services \
                 stay up until Ctrl-C."
            ),
        }
        interrupt.recv().await;
        eprintln!("Stopping the endpoint and the local services ...");
    }
    services.shutdown().await;
    let _ = std::fs::remove_dir_all(&prepared.work_dir);
    Ok(code)
}

async fn run_with(
    options: &RunOptions,
    prepared: &Prepared,
    services: &Services,
    display: &mut Display,
    interrupt: &mut Signal,
) -> (i32, Option<String>) {
    let mut settings = RunSettings::new(
        prepared.stack.clone(),
        prepared.functions_dir.clone(),
        prepared.work_dir.clone(),
    );
    settings.continuation_delay = options.continuation_delay;
    settings.build_path = vec![prepared.project.venv_bin()];
    settings.duplicate_deliveries = options.duplicate_deliveries.iter().cloned().collect();
    let pipeline = LocalPipeline::new(settings, services);
    let mut summaries = Vec::new();
    let (mut emails_seen, mut jobs_seen) = (0, BTreeSet::new());
    for repository in &options.repositories {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Progress>();
        let run = pipeline.run(repository, &tx);
        tokio::pin!(run);
        let report = loop {
            tokio::select! {
                report = &mut run => break report,
                Some(event) = rx.recv() => display.handle(event),
                _ = interrupt.recv() => {
                    display.line("Interrupted: stopping the functions, the training jobs and the local services ...");
                    return (INTERRUPTED, None);
                }
            }
        };
        while let Ok(event) = rx.try_recv() {
            display.handle(event);
        }
        let execution = match report {
            Ok(r) => r,
            Err(e) => {
                eprintln!("error: {e}");
                return (SETUP_FAILED, None);
            }
        };
        let all_emails = emails(services, &prepared.stack);
        let new_emails = all_emails[emails_seen.min(all_emails.len())..].to_vec();
        emails_seen = all_emails.len();
        let training_jobs: Vec<TrainingJob> = training_jobs(services)
            .await
            .into_iter()
            .filter(|j| jobs_seen.insert(j.name.clone()))
            .collect();
        let answer = match deployed_endpoint(&execution) {
            Some(endpoint) => ask(services, repository, &endpoint).await,
            None => None,
        };
        let summary = Summary {
            repository: repository.clone(),
            training_seconds: training_jobs.iter().map(|j| j.seconds).sum(),
            answer,
            execution,
            emails: new_emails,
            training_jobs,
        };
        if !options.json {
            print!("{}", text_summary(&summary));
        }
        summaries.push(summary);
    }
    if options.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({ "executions": summaries }))
                .unwrap_or_default()
        );
    }
    let code = if summaries.iter().all(|s| s.execution.succeeded()) {
        0
    } else {
        1
    };
    let endpoint = summaries
        .last()
        .and_then(|s| deployed_endpoint(&s.execution));
    (code, endpoint)
}

/// The endpoint an execution deployed to, production before staging.
fn deployed_endpoint(execution: &ExecutionReport) -> Option<String> {
    let deployed = |stage: &str| {
        execution
            .actions
            .iter()
            .find(|a| {
                a.stage == stage
                    && a.variables.get("DeployStatus").map(String::as_str) == Some("Deployed")
            })
            .and_then(|a| a.variables.get("EndpointName").cloned())
    };
    deployed("DeployProduction").or_else(|| deployed("DeployStaging"))
}

/// The first record of the repository's first smoke-test request, sent to `endpoint`.
async fn ask(services: &Services, repository: &Path, endpoint: &str) -> Option<Answer> {
    let text = std::fs::read_to_string(repository.join(deploy::config::DEFAULT_PATH)).ok()?;
    let size = |file: &str| {
        std::fs::metadata(repository.join(file))
            .ok()
            .map(|m| usize::try_from(m.len()).unwrap_or(usize::MAX))
    };
    let deployment = deploy::config::load(deploy::config::DEFAULT_PATH, &text, size).ok()?;
    let request = deployment.smoke_test?.requests.into_iter().next()?;
    let body = std::fs::read_to_string(repository.join(&request.body)).ok()?;
    // One CSV row or JSON line; a JSON document as it is.
    let record = match request.content_type.as_str() {
        "application/json" => body.trim().to_owned(),
        _ => body.lines().find(|l| !l.trim().is_empty())?.to_owned(),
    };
    let config = local_codepipeline::sdk_config(REGION, &services.sagemaker_endpoint());
    let runtime = aws_sdk_sagemakerruntime::Client::new(&config);
    let answered = runtime
        .invoke_endpoint()
        .endpoint_name(endpoint)
        .content_type(&request.content_type)
        .set_accept(request.accept)
        .body(aws_sdk_sagemakerruntime::primitives::Blob::new(
            record.as_bytes(),
        ))
        .send()
        .await;
    let response = match answered {
        Ok(output) => output
            .body()
            .map(|b| String::from_utf8_lossy(b.as_ref()).trim().to_owned())
            .unwrap_or_default(),
        Err(e) => format!(
            "error: {}",
            aws_sdk_sagemakerruntime::error::DisplayErrorContext(e)
        ),
    };
    Some(Answer {
        endpoint: endpoint.to_owned(),
        request: record,
        response,
    })
}

/// `run --serve`: how to call the endpoint the run deployed, with the AWS CLI.
fn print_how_to_call(services: &Services, endpoint: &str) {
    println!("\nThe model serves on the local endpoint {endpoint} until Ctrl-C. In another shell:");
    for (name, value) in services.env() {
        println!("export {name}={value}");
    }
    println!(
        "aws sagemaker-runtime invoke-endpoint --endpoint-name {endpoint} \\\n    \
         --content-type text/csv --accept text/csv \\\n    \
         --body 'Gentoo,Biscoe,45,15.4,220,5050' /dev/stdout"
    );
}

fn text_summary(summary: &Summary) -> String {
    let Summary {
        execution: report,
        emails,
        training_jobs,
        training_seconds,
        answer,
        ..
    } = summary;
    let mut out = String::from("\n");
    let width = |name: &str, of: fn(&ActionReport) -> &str| {
        report
            .actions
            .iter()
            .map(|a| of(a).chars().count())
            .chain([name.len()])
            .max()
            .unwrap_or(0)
    };
    let stage = width("Stage", |a| &a.stage);
    let action = width("Action", |a| &a.action);
    out.push_str(&format!(
        "{:<stage$} {:<action$} {:<10} {:>8}  {}\n",
        "Stage", "Action", "Status", "Time", "Invocations"
    ));
    for a in &report.actions {
        out.push_str(&format!(
            "{:<stage$} {:<action$} {:<10} {:>7.1}s  {}\n",
            a.stage,
            a.action,
            a.status,
            a.seconds,
            if a.invocations > 0 {
                a.invocations.to_string()
            } else {
                "-".to_owned()
            }
        ));
    }
    for a in &report.actions {
        if let Some(error) = &a.error {
            out.push_str(&format!("\n{} / {} failed:\n{error}\n", a.stage, a.action));
        } else if let (true, Some(summary)) = (a.stage == "Evaluate", &a.summary) {
            out.push_str(&format!("\nVerdict:\n{summary}\n"));
        } else if let (true, Some(summary)) = (a.stage.starts_with("Deploy"), &a.summary) {
            out.push_str(&format!("\n{}:\n{summary}\n", a.stage));
        }
    }
    out.push_str(&format!(
        "\nPipeline execution {} {} in {:.1}s; {}.\n",
        report.execution_id,
        report.status,
        report.seconds,
        training_line(training_jobs.len(), *training_seconds),
    ));
    for email in emails {
        out.push_str(&format!(
            "\nThe email that was sent (read back from the local SNS):\n\nSubject: {}\n\n{}\n",
            email.subject, email.body
        ));
    }
    if emails.is_empty() {
        out.push_str("\nNo email was sent.");
        for n in &report.notifications {
            out.push_str(&format!("\n  {n}"));
        }
        out.push('\n');
    }
    if let Some(answer) = answer {
        out.push_str(&format!(
            "\nThe model answers on its local endpoint {} (the first record of its smoke \
             test):\n  {}\n  -> {}\n",
            answer.endpoint, answer.request, answer.response
        ));
    }
    out
}

/// Every message published to the stack's topics, as the email subscriber gets it.
/// What the run's training jobs took. (An empty sum of floats is -0.0, which reads wrong.)
fn training_line(jobs: usize, seconds: f64) -> String {
    match jobs {
        0 => "no training job ran".to_owned(),
        1 => format!("its training job ran {:.1}s", seconds.max(0.0)),
        n => format!(
            "its {n} training jobs ran {:.1}s in all (tuning runs them side by side)",
            seconds.max(0.0)
        ),
    }
}

fn emails(services: &Services, stack: &Stack) -> Vec<Email> {
    let Ok(data) = services.moto().api_data() else {
        return Vec::new();
    };
    let topics = local_codepipeline::notification_topics(stack);
    data["sns"]["Topic"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|t| t["arn"].as_str().is_some_and(|arn| topics.contains(arn)))
        .flat_map(|t| {
            t["sent_notifications"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .map(|n| {
            let message = n[1].as_str().unwrap_or_default();
            // MessageStructure=json: one variant per protocol.
            let body = serde_json::from_str::<Value>(message)
                .ok()
                .and_then(|v| {
                    v.get("email")
                        .or_else(|| v.get("default"))
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                })
                .unwrap_or_else(|| message.to_owned());
            Email {
                subject: n[2].as_str().unwrap_or_default().to_owned(),
                body,
            }
        })
        .collect()
}

/// The training jobs the local SageMaker ran, with their own run time.
async fn training_jobs(services: &Services) -> Vec<TrainingJob> {
    let config = local_codepipeline::sdk_config(REGION, &services.sagemaker_endpoint());
    let sagemaker = aws_sdk_sagemaker::Client::new(&config);
    let Ok(list) = sagemaker.list_training_jobs().max_results(100).send().await else {
        return Vec::new();
    };
    let mut jobs = Vec::new();
    for summary in list.training_job_summaries() {
        let name = summary.training_job_name().unwrap_or_default();
        let Ok(job) = sagemaker
            .describe_training_job()
            .training_job_name(name)
            .send()
            .await
        else {
            continue;
        };
        let started = job.training_start_time().map(|t| t.as_secs_f64());
        let ended = job.training_end_time().map(|t| t.as_secs_f64());
        let seconds = match (started, ended) {
            (Some(start), Some(end)) => (end - start).max(0.0),
            _ => 0.0,
        };
        jobs.push(TrainingJob {
            name: name.to_owned(),
            status: job
                .training_job_status()
                .map(|s| s.as_str().to_owned())
                .unwrap_or_default(),
            started,
            ended,
            seconds,
        });
    }
    jobs
}

/// `sagemaker-cicd services`: the local services alone, until Ctrl-C.
pub async fn services(project: Option<PathBuf>, json: bool) -> i32 {
    exit_code(serve(project, json).await)
}

async fn serve(project: Option<PathBuf>, json: bool) -> Result<i32, String> {
    let mut interrupt = interrupt_signal()?;
    let project = Project::locate(project.as_deref())?;
    project.ensure_venv()?;
    let work_dir =
        std::env::temp_dir().join(format!("sagemaker-cicd-services-{}", std::process::id()));
    let services = start_services(&project, &work_dir).await?;
    let env = services.env();
    if json {
        let map: BTreeMap<_, _> = env.iter().cloned().collect();
        println!("{}", serde_json::to_string(&map).unwrap_or_default());
    } else {
        println!("# The local services are running. In another shell:");
        for (name, value) in &env {
            println!("export {name}={value}");
        }
        println!(
            "# then run a function (e.g. `cargo lambda watch` and `cargo lambda invoke --data-file \
             events/start-training/happy-path.json`). Ctrl-C stops the services."
        );
    }
    interrupt.recv().await;
    eprintln!("Stopping the local services ...");
    services.shutdown().await;
    let _ = std::fs::remove_dir_all(&work_dir);
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_training_time_reads_well_for_none_one_and_many() {
        let none: f64 = std::iter::empty::<f64>().sum();
        assert_eq!(training_line(0, none), "no training job ran");
        assert_eq!(training_line(1, 3.25), "its training job ran 3.2s");
        assert_eq!(
            training_line(8, 41.0),
            "its 8 training jobs ran 41.0s in all (tuning runs them side by side)"
        );
    }

    #[test]
    fn stack_names_follow_the_template_rule() {
        assert!(check_stack_name("sagemaker-cicd").is_ok());
        assert!(check_stack_name("a1").is_ok());
        for bad in [
            "",
            "Upper",
            "a--b",
            "-a",
            "a-",
            "a_b",
            "abcdefghijklmnopqrstu",
        ] {
            let err = check_stack_name(bad).unwrap_err();
            assert!(err.contains("at most 20 characters"), "{bad}: {err}");
        }
    }
}
