//! `local-sagemaker`: see `local_sagemaker::cli`.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    local_sagemaker::cli::main().await
}
