//! The `local-sagemaker` binary: prints its endpoint, serves, and exits on SIGTERM.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::WorkDir;
use test_support::MotoServer;

/// Kills the binary if the test fails before it ends it.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_prints_its_endpoint_serves_and_stops_on_sigterm() {
    let moto = MotoServer::start();
    let work = WorkDir::new();
    let mut child = Child(
        Command::new(env!("CARGO_BIN_EXE_local-sagemaker"))
            .args(["--port", "0", "--work-dir"])
            .arg(&work.0)
            .args([
                "--s3-endpoint",
                &moto.endpoint_url(),
                "--image",
                "*custom*=python3 -u",
            ])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap(),
    );
    let stdout = child.0.stdout.take().unwrap();
    let endpoint = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        line.trim().to_owned()
    })
    .await
    .unwrap();
    assert!(endpoint.starts_with("http://127.0.0.1:"), "{endpoint}");
    assert!(!endpoint.ends_with(":0"), "{endpoint}");

    let client = aws_sdk_sagemaker::Client::new(&test_support::local_sdk_config(&endpoint));
    let jobs = client.list_training_jobs().send().await.unwrap();
    assert!(jobs.training_job_summaries().is_empty());
    // --s3-endpoint is also where other operations go.
    let groups = client.list_model_package_groups().send().await.unwrap();
    assert!(groups.model_package_group_summary_list().is_empty());

    // SAFETY: kill(2) with the pid of our own child.
    unsafe {
        libc::kill(child.0.id() as i32, libc::SIGTERM);
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "local-sagemaker did not exit on SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "{status:?}");
}

#[test]
fn a_malformed_image_rule_is_a_usage_error() {
    let output = Command::new(env!("CARGO_BIN_EXE_local-sagemaker"))
        .args(["--image", "no-command-here"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("PATTERN=COMMAND"));
}
