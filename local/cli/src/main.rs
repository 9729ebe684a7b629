use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

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
    }
}
