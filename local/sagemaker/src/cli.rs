//! The `local-sagemaker` command.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use aws_config::{BehaviorVersion, Region};
use aws_credential_types::Credentials;
use clap::Parser;
use tracing_subscriber::EnvFilter;

use crate::images::{ImageCommands, ImageRule};
use crate::server::LocalSageMaker;
use crate::settings::{DEFAULT_ACCOUNT_ID, DEFAULT_REGION, Settings};

/// Serves the training and tuning part of the SageMaker API on this machine and runs each job
/// as a local process under the SageMaker training contract. Prints its endpoint URL on the
/// first line of standard output; logs go to standard error (RUST_LOG sets the level).
#[derive(Debug, Parser)]
#[command(name = "local-sagemaker", version)]
pub struct Cli {
    /// Port to listen on; 0 picks a free one (the printed URL says which).
    #[arg(long, default_value_t = 0)]
    pub port: u16,

    /// Address to listen on.
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    pub host: IpAddr,

    /// Folder for the jobs: training-jobs/<name>/ holds each job's /opt/ml and its log.
    #[arg(long, default_value = ".local-sagemaker")]
    pub work_dir: PathBuf,

    /// S3 endpoint for channels, code and model artifacts (e.g. a moto server); path-style.
    /// Default: the AWS SDK's own settings (AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, ...).
    #[arg(long, value_name = "URL")]
    pub s3_endpoint: Option<String>,

    /// Where operations this service does not serve go (the Model Registry, ...), as they
    /// came. Default: the --s3-endpoint, when given (one moto server serves both).
    #[arg(long, value_name = "URL")]
    pub forward_endpoint: Option<String>,

    /// Runs training images matching PATTERN (`*` matches any text) with COMMAND, which plays
    /// the image's entrypoint; `{opt_ml}` in it is the job's /opt/ml folder. Repeatable; the
    /// first match wins. Without a match, script-mode jobs run with `python3`.
    #[arg(long = "image", value_name = "PATTERN=COMMAND [ARG...]")]
    pub images: Vec<ImageRule>,

    /// JSON file of image rules, tried after the --image ones:
    /// [{"image": "PATTERN", "command": ["COMMAND", "ARG"]}].
    #[arg(long, value_name = "FILE")]
    pub image_file: Option<PathBuf>,

    /// Region of the ARNs (and of the S3 client).
    #[arg(long, env = "AWS_REGION", default_value = DEFAULT_REGION)]
    pub region: String,

    /// Account id of the ARNs.
    #[arg(long, default_value = DEFAULT_ACCOUNT_ID)]
    pub account_id: String,

    /// Seconds a stopped job has between SIGTERM and SIGKILL (SageMaker gives 120).
    #[arg(long, default_value_t = 120)]
    pub stop_grace_seconds: u64,
}

impl Cli {
    /// The service's settings; reads the image rules file.
    pub fn settings(&self) -> Result<Settings, crate::images::ImageRuleError> {
        let mut images = ImageCommands::default();
        for rule in &self.images {
            images.push(rule.clone());
        }
        if let Some(file) = &self.image_file {
            images.load_file(file)?;
        }
        let mut settings = Settings::new(&self.work_dir)
            .with_listen(SocketAddr::new(self.host, self.port))
            .with_images(images)
            .with_stop_grace(Duration::from_secs(self.stop_grace_seconds));
        settings.region.clone_from(&self.region);
        settings.account_id.clone_from(&self.account_id);
        if let Some(endpoint) = self.forward_endpoint.as_ref().or(self.s3_endpoint.as_ref()) {
            settings = settings.with_forward_endpoint(endpoint);
        }
        Ok(settings)
    }

    /// The S3 client: the SDK's settings, the --s3-endpoint with path-style addressing, and
    /// moto's test credentials when a local endpoint is given and none are set.
    pub async fn s3_client(&self) -> aws_sdk_s3::Client {
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(self.region.clone()));
        if let Some(endpoint) = &self.s3_endpoint {
            loader = loader.endpoint_url(endpoint);
            if std::env::var_os("AWS_ACCESS_KEY_ID").is_none() {
                loader = loader.credentials_provider(Credentials::new(
                    "testing",
                    "testing",
                    None,
                    None,
                    "local-sagemaker",
                ));
            }
        }
        let config = loader.load().await;
        let s3_config = aws_sdk_s3::config::Builder::from(&config)
            .force_path_style(true)
            .build();
        aws_sdk_s3::Client::from_conf(s3_config)
    }
}

/// Runs the command until Ctrl-C or SIGTERM.
pub async fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let settings = match cli.settings() {
        Ok(settings) => settings,
        Err(e) => {
            eprintln!("local-sagemaker: {e}");
            return ExitCode::from(2);
        }
    };
    let s3 = cli.s3_client().await;
    let sagemaker = match LocalSageMaker::start(settings, s3).await {
        Ok(sagemaker) => sagemaker,
        Err(e) => {
            eprintln!("local-sagemaker: {e}");
            return ExitCode::FAILURE;
        }
    };
    // The first line of stdout is the endpoint: scripts read it to learn the port.
    println!("{}", sagemaker.endpoint_url());
    wait_for_signal().await;
    sagemaker.shutdown().await;
    ExitCode::SUCCESS
}

async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::terminate()) {
        Ok(mut terminate) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = terminate.recv() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_become_settings() {
        let cli = Cli::try_parse_from([
            "local-sagemaker",
            "--port",
            "0",
            "--work-dir",
            "w",
            "--s3-endpoint",
            "http://127.0.0.1:5000",
            "--image",
            "*xgboost*=python3 -m xgb",
            "--stop-grace-seconds",
            "3",
        ])
        .unwrap();
        let settings = cli.settings().unwrap();
        assert_eq!(settings.listen.port(), 0);
        assert_eq!(settings.work_dir, PathBuf::from("w"));
        assert_eq!(
            settings.forward_endpoint.as_deref(),
            Some("http://127.0.0.1:5000")
        );
        assert_eq!(settings.stop_grace, Duration::from_secs(3));
        let entry = settings.images.entrypoint("a/xgboost:1", false).unwrap();
        assert_eq!(entry.command, ["python3", "-m", "xgb"]);
    }

    #[test]
    fn a_malformed_image_rule_is_a_usage_error() {
        let err = Cli::try_parse_from(["local-sagemaker", "--image", "python3"]).unwrap_err();
        assert!(err.to_string().contains("PATTERN=COMMAND"), "{err}");
    }
}
