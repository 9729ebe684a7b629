//! The host against a real function binary (`lambda-host-echo`, built by cargo for these tests)
//! that uses lambda_runtime as our functions do. Every wait is bounded.

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lambda_host::{FunctionSpec, HostError, LambdaHost};
use serde_json::json;

/// Bound for any one test step.
const STEP: Duration = Duration::from_secs(30);

fn spec(timeout: Duration, env: &[(&str, &str)]) -> FunctionSpec {
    FunctionSpec {
        binary: PathBuf::from(env!("CARGO_BIN_EXE_lambda-host-echo")),
        name: "EchoFunction".into(),
        env: env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        timeout,
        memory_mb: 256,
    }
}

async fn bounded<T>(future: impl Future<Output = T>) -> T {
    tokio::time::timeout(STEP, future)
        .await
        .expect("test step took too long")
}

fn is_alive(pid: u32) -> bool {
    // A zombie still has /proc/<pid>; a reaped process does not.
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .map(|status| {
            !status
                .lines()
                .any(|line| line.starts_with("State:") && line.contains('Z'))
        })
        .unwrap_or(false)
}

#[tokio::test]
async fn echo_round_trip_and_lambda_context() {
    let host = bounded(LambdaHost::start(spec(
        Duration::from_secs(20),
        &[("AWS_REGION", "eu-west-1")],
    )))
    .await
    .unwrap();
    let before = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis();
    let invocation = bounded(host.invoke(json!({"echo": {"a": [1, 2, 3], "b": "ü"}})))
        .await
        .unwrap();
    let response = invocation.response.expect("the echo succeeds");
    assert_eq!(response["echo"], json!({"a": [1, 2, 3], "b": "ü"}));
    assert_eq!(response["request_id"], json!(invocation.request_id));
    assert!(!invocation.request_id.is_empty());
    assert_eq!(
        response["function_arn"],
        json!("arn:aws:lambda:eu-west-1:000000000000:function:EchoFunction")
    );
    assert_eq!(response["function_name"], json!("EchoFunction"));
    assert_eq!(response["memory_mb"], json!(256));
    assert_eq!(response["log_group"], json!("/aws/lambda/EchoFunction"));
    let deadline = u128::from(response["deadline_ms"].as_u64().expect("a deadline"));
    assert!(
        deadline >= before + 19_000,
        "deadline {deadline} vs now {before}"
    );
    assert!(deadline <= before + 21_000 + STEP.as_millis());
    assert!(invocation.peak_rss_bytes.unwrap_or(0) > 0);
    assert!(
        host.logs().contains(&invocation.request_id),
        "logs: {}",
        host.logs()
    );

    // A second, warm invocation: new request id, no init, same process.
    let pid = host.pid().await.unwrap();
    let warm = bounded(host.invoke(json!({"echo": 2}))).await.unwrap();
    assert_eq!(warm.response.unwrap()["echo"], json!(2));
    assert_ne!(warm.request_id, invocation.request_id);
    assert!(warm.init.is_none());
    assert_eq!(host.pid().await, Some(pid));
    assert!(bounded(host.peak_rss_bytes()).await.unwrap_or(0) > 0);
}

#[tokio::test]
async fn function_error_comes_back_typed() {
    let host = bounded(LambdaHost::start(spec(Duration::from_secs(20), &[])))
        .await
        .unwrap();
    let invocation = bounded(host.invoke(json!({"error": "bad input"})))
        .await
        .unwrap();
    let error = invocation.response.expect_err("the function fails");
    assert_eq!(error.error_type, "EchoError");
    assert_eq!(error.error_message, "bad input");
    // The process lives on.
    let next = bounded(host.invoke(json!({"echo": 1}))).await.unwrap();
    assert_eq!(next.response.unwrap()["echo"], json!(1));
}

#[tokio::test]
async fn timeout_kills_and_next_invoke_restarts() {
    let host = bounded(LambdaHost::start(spec(Duration::from_millis(700), &[])))
        .await
        .unwrap();
    let first = bounded(host.invoke(json!({"echo": "warm up"})))
        .await
        .unwrap();
    assert!(first.init.is_some());
    let pid = host.pid().await.unwrap();
    let started = std::time::Instant::now();
    let error = bounded(host.invoke(json!({"sleep_ms": 60_000})))
        .await
        .unwrap_err();
    assert!(
        matches!(error, HostError::Timeout { during_init: false, after, .. } if after == Duration::from_millis(700)),
        "{error:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(!is_alive(pid), "the timed-out process is gone");
    assert_eq!(host.pid().await, None);

    let again = bounded(host.invoke(json!({"echo": "again"})))
        .await
        .unwrap();
    assert_eq!(again.response.unwrap()["echo"], json!("again"));
    assert!(again.init.is_some(), "a restart is a cold start");
    assert_ne!(host.pid().await, Some(pid));
}

#[tokio::test]
async fn panicking_function_is_reported_with_its_logs() {
    let host = bounded(LambdaHost::start(spec(Duration::from_secs(20), &[])))
        .await
        .unwrap();
    let error = bounded(host.invoke(json!({"panic": "boom"})))
        .await
        .unwrap_err();
    let HostError::Exited { status, logs_tail } = error else {
        panic!("expected Exited, got {error:?}");
    };
    assert!(!status.success());
    assert!(
        logs_tail.contains("echo asked to panic: boom"),
        "tail: {logs_tail}"
    );
    // As Lambda, the next invoke starts a new process.
    let next = bounded(host.invoke(json!({"echo": 3}))).await.unwrap();
    assert_eq!(next.response.unwrap()["echo"], json!(3));
}

#[tokio::test]
async fn init_error_is_reported() {
    let host = bounded(LambdaHost::start(spec(
        Duration::from_secs(20),
        &[("ECHO_INIT_ERROR", "no config")],
    )))
    .await
    .unwrap();
    // The function posts its init error before it exits, and the host checks that first.
    let error = bounded(host.invoke(json!({"echo": 1}))).await.unwrap_err();
    match error {
        HostError::InitError { error, logs_tail } => {
            assert_eq!(error.error_type, "EchoInitError");
            assert_eq!(error.error_message, "no config");
            assert!(
                logs_tail.contains("echo: init failed: no config"),
                "tail: {logs_tail}"
            );
        }
        other => panic!("expected an init error, got {other:?}"),
    }
}

#[tokio::test]
async fn init_is_measured_on_cold_start_only() {
    let host = bounded(LambdaHost::start(spec(
        Duration::from_secs(20),
        &[("ECHO_INIT_SLEEP_MS", "300")],
    )))
    .await
    .unwrap();
    let cold = bounded(host.invoke(json!({"echo": 1}))).await.unwrap();
    let init = cold.init.expect("init on the first invocation");
    assert!(init >= Duration::from_millis(300), "init {init:?}");
    assert!(init < Duration::from_secs(10), "init {init:?}");
    let warm = bounded(host.invoke(json!({"echo": 2}))).await.unwrap();
    assert!(warm.init.is_none());
    assert!(warm.duration < Duration::from_secs(5));
}

#[tokio::test]
async fn missing_binary_is_a_spawn_error() {
    let mut spec = spec(Duration::from_secs(1), &[]);
    spec.binary = PathBuf::from("/nonexistent/bootstrap");
    let error = bounded(LambdaHost::start(spec))
        .await
        .err()
        .expect("no such binary");
    assert!(matches!(error, HostError::Spawn { .. }), "{error:?}");
}

#[tokio::test]
async fn process_is_gone_after_drop() {
    let host = bounded(LambdaHost::start(spec(Duration::from_secs(20), &[])))
        .await
        .unwrap();
    bounded(host.invoke(json!({"echo": 1}))).await.unwrap();
    let pid = host.pid().await.unwrap();
    assert!(is_alive(pid));
    drop(host);
    assert!(!is_alive(pid), "the process outlived the host");
}

#[tokio::test]
async fn process_is_gone_after_a_panic_in_the_caller() {
    let (tx, rx) = std::sync::mpsc::channel();
    let task = tokio::spawn(async move {
        let host = LambdaHost::start(spec(Duration::from_secs(20), &[]))
            .await
            .unwrap();
        host.invoke(json!({"echo": 1})).await.unwrap();
        tx.send(host.pid().await.unwrap()).unwrap();
        panic!("the caller panics while holding the host");
    });
    let joined = bounded(task).await;
    assert!(joined.is_err_and(|error| error.is_panic()));
    let pid = rx.recv_timeout(STEP).unwrap();
    assert!(!is_alive(pid), "the process outlived the panicking caller");
}

#[tokio::test]
async fn function_gets_its_env_and_not_the_hosts() {
    // Cargo sets CARGO_MANIFEST_DIR for this test process; the function must not inherit it.
    assert!(std::env::var("CARGO_MANIFEST_DIR").is_ok());
    let host = bounded(LambdaHost::start(spec(
        Duration::from_secs(20),
        &[("MY_SETTING", "42")],
    )))
    .await
    .unwrap();
    let mine = bounded(host.invoke(json!({"env": "MY_SETTING"})))
        .await
        .unwrap();
    assert_eq!(mine.response.unwrap()["env"], json!("42"));
    let hosts = bounded(host.invoke(json!({"env": "CARGO_MANIFEST_DIR"})))
        .await
        .unwrap();
    assert_eq!(hosts.response.unwrap()["env"], json!(null));
    let lambda = bounded(host.invoke(json!({"env": "AWS_LAMBDA_LOG_STREAM_NAME"})))
        .await
        .unwrap();
    let stream = lambda.response.unwrap()["env"].as_str().unwrap().to_owned();
    assert!(stream.contains("/[$LATEST]"), "{stream}");
}
