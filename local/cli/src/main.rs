use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use sagemaker_cicd::local_run::{self, RunOptions};

/// The CI/CD pipeline for SageMaker models, on this machine.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check a model repository's configuration files offline, with the pipeline's own code.
    ///
    /// Reads configuration/trainingjob.json, tuning.json and evaluation.json, fills the
    /// placeholders with sample values, and reports every problem with file, line, column and a
    /// hint. Exits 1 when any file has errors.
    Validate {
        /// The model repository (its root folder).
        #[arg(default_value = ".")]
        repository: PathBuf,
        /// A build variable, as the Build action would export it (repeatable).
        #[arg(long = "build-var", value_name = "NAME=VALUE", value_parser = parse_var)]
        build_vars: Vec<(String, String)>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Run the whole pipeline of template.yaml on this machine, on a model repository.
    ///
    /// No AWS account: moto stands in for S3, SNS and the Model Registry, a local SageMaker runs
    /// the training and tuning jobs as processes, and a local CodePipeline runs the stages of
    /// template.yaml: Source (the repository's working tree), Build (its buildspec.yml, in a
    /// shell), Train, Tune and Evaluate (the functions' own binaries behind the Lambda Runtime
    /// API), then the notify function's email, which is printed at the end. Exits 0 only when
    /// the pipeline succeeded (1: it failed; 2: it could not start).
    Run {
        /// The model repository (its root folder). Several: one execution each, in order, on
        /// the same local services, like successive pushes (a later model is gated against the
        /// one an earlier execution registered).
        #[arg(default_value = ".", num_args = 1..)]
        repositories: Vec<PathBuf>,
        /// A template parameter, as `sam deploy --parameter-overrides` takes it (repeatable),
        /// e.g. `ManualApproval=true`.
        #[arg(long = "parameter", value_name = "NAME=VALUE", value_parser = parse_var)]
        parameters: Vec<(String, String)>,
        /// The stack name: the prefix of job, pipeline and model package group names.
        #[arg(long, default_value = "sagemaker-cicd")]
        stack_name: String,
        /// Seconds before an action is invoked again with its continuation token
        /// (CodePipeline waits about a minute).
        #[arg(long, default_value_t = 1.0, value_name = "SECONDS")]
        poll: f64,
        /// The project folder (template.yaml); default: found above the current folder.
        #[arg(long)]
        project: Option<PathBuf>,
        /// Where the function binaries are; default: this program's folder.
        #[arg(long)]
        functions_dir: Option<PathBuf>,
        /// Print the result as JSON on stdout (progress goes to stderr).
        #[arg(long)]
        json: bool,
        /// Keep the local services and the deployed endpoint up after the run, and print how
        /// to call it with the AWS CLI; Ctrl-C stops them.
        #[arg(long)]
        serve: bool,
        /// Deliver the first job of this action twice, as Lambda's at-least-once delivery may
        /// (repeatable; for tests).
        #[arg(long = "duplicate-delivery", value_name = "ACTION", hide = true)]
        duplicate_deliveries: Vec<String>,
    },
    /// Start the local services alone (moto, the local SageMaker, the local CodePipeline API)
    /// and print the environment that points the AWS SDK at them, for `cargo lambda` users.
    /// Ctrl-C stops them.
    Services {
        /// The project folder (template.yaml); default: found above the current folder.
        #[arg(long)]
        project: Option<PathBuf>,
        /// Print the environment as a JSON object.
        #[arg(long)]
        json: bool,
    },
}

fn runtime_then(f: impl std::future::Future<Output = i32>) -> ExitCode {
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => ExitCode::from(runtime.block_on(f).clamp(0, 255) as u8),
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            ExitCode::from(local_run::SETUP_FAILED as u8)
        }
    }
}

fn parse_var(raw: &str) -> Result<(String, String), String> {
    raw.split_once('=')
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .ok_or_else(|| format!("`{raw}` is not NAME=VALUE"))
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Validate {
            repository,
            build_vars,
            json,
        } => {
            let settings = match sagemaker_cicd::sample_settings(&build_vars) {
                Ok(settings) => settings,
                Err(e) => {
                    eprintln!("{e}");
                    return ExitCode::from(2);
                }
            };
            let report = sagemaker_cicd::validate(&repository, &settings);
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&report.json()).unwrap_or_default()
                );
            } else {
                println!("{}", report.text());
            }
            if report.ok() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Command::Run {
            repositories,
            parameters,
            stack_name,
            poll,
            project,
            functions_dir,
            json,
            serve,
            duplicate_deliveries,
        } => runtime_then(local_run::run(RunOptions {
            repositories,
            project,
            stack_name,
            parameters,
            functions_dir,
            continuation_delay: Duration::from_secs_f64(poll.max(0.0)),
            json,
            live: std::io::stderr().is_terminal(),
            duplicate_deliveries,
            serve,
        })),
        Command::Services { project, json } => runtime_then(local_run::services(project, json)),
    }
}
