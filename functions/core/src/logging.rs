//! The log subscriber every function installs.
//!
//! It reads Lambda's log controls as `lambda_runtime::tracing::init_default_subscriber` does
//! (`AWS_LAMBDA_LOG_LEVEL`, else `RUST_LOG`, else INFO; `AWS_LAMBDA_LOG_FORMAT=JSON`), with one
//! difference: only the pipeline's own crates may log below INFO. At TRACE, lambda_runtime logs
//! each raw event, which carries the job's artifact credentials, and the AWS SDK
//! (aws-smithy-runtime, aws-sigv4) logs signed requests with their session token; at DEBUG the
//! SDK logs the identity it signs with (the access key id). Every other crate is capped at INFO,
//! whatever level or per-target directive is asked for, so no setting prints them.

use std::str::FromStr;

use tracing::{Level, Metadata};
use tracing_subscriber::filter::{EnvFilter, FilterFn, LevelFilter};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// The pipeline's crates: they log neither events nor credentials, so they keep every level.
pub const PIPELINE_CRATES: &[&str] = &[
    "pipeline_core",
    "start_training",
    "train_and_tune",
    "evaluate",
    "deploy",
    "notify",
    "config_file",
    "model_repo",
    "sagemaker_requests",
];

/// The most verbose level of any other crate.
pub const OTHER_CRATES_MAX: Level = Level::INFO;

/// Installs the subscriber, writing to stdout (CloudWatch Logs). Call once, first in `main`.
///
/// # Panics
///
/// When a global subscriber is already installed.
pub fn init() {
    init_with_writer(std::io::stdout);
}

/// [`init`] with another writer.
pub fn init_with_writer<W>(writer: W)
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let level = std::env::var("AWS_LAMBDA_LOG_LEVEL").or_else(|_| std::env::var("RUST_LOG"));
    let level =
        LevelFilter::from_str(level.as_deref().unwrap_or("INFO")).unwrap_or(LevelFilter::INFO);
    let filter = EnvFilter::builder()
        .with_default_directive(level.into())
        .from_env_lossy();
    let format = tracing_subscriber::fmt::layer()
        .with_target(false)
        .without_time()
        .with_writer(writer);
    let registry = tracing_subscriber::registry().with(cap()).with(filter);
    let json = std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    if json {
        registry.with(format.json()).init();
    } else {
        registry.with(format).init();
    }
}

/// A global filter (a layer) that drops spans and events of crates outside [`PIPELINE_CRATES`]
/// above [`OTHER_CRATES_MAX`]. It is combined with the level filter, never overridden by it.
pub fn cap() -> FilterFn<fn(&Metadata<'_>) -> bool> {
    FilterFn::new(allowed as fn(&Metadata<'_>) -> bool)
}

fn allowed(metadata: &Metadata<'_>) -> bool {
    *metadata.level() <= OTHER_CRATES_MAX || is_pipeline(metadata.target())
}

fn is_pipeline(target: &str) -> bool {
    let krate = target.split("::").next().unwrap_or(target);
    PIPELINE_CRATES.contains(&krate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_pipelines_crates_keep_trace() {
        assert!(is_pipeline("pipeline_core::run"));
        assert!(is_pipeline("evaluate"));
        assert!(!is_pipeline("lambda_runtime::layers::api_response"));
        assert!(!is_pipeline("lambda_runtime_api_client"));
        assert!(!is_pipeline("aws_smithy_runtime::client::orchestrator"));
        assert!(!is_pipeline("pipeline_core_imposter"));
        assert!(!is_pipeline("evaluated"));
    }
}
