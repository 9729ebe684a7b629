//! A test-only function for this crate's tests, written like our real functions
//! (`lambda_runtime::run` + `service_fn`). Each line it appends to `$TEST_FUNCTION_LOG` says what
//! it did, for the tests to read:
//!
//! - a CodePipeline job event: `invoked <name> <n>` (n: the continuation token, 0 at first);
//!   it sleeps `sleep_ms` (`slow_ms` when n is `slow_at`), then reports PutJobSuccessResult to
//!   `$AWS_ENDPOINT_URL_CODEPIPELINE`, with the token n + 1 while n < `tokens`, and logs
//!   `reported <name> <n> <ok or the error code>`. The settings are the action's UserParameters
//!   (a JSON object with `name`, `tokens`, `sleep_ms`, `slow_at`, `slow_ms`);
//! - any other event (EventBridge's state change): `event <state> <execution-id>`.

use std::io::{Read, Write};
use std::time::Duration;

use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use serde_json::{Value, json};

fn log(line: &str) {
    let path = std::env::var("TEST_FUNCTION_LOG").unwrap_or_else(|_| "/dev/null".into());
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path);
    if let Ok(mut file) = file {
        let _ = writeln!(file, "{line}");
    }
}

/// POSTs one awsJson1_1 request to the local CodePipeline; `ok` or the error code.
fn call(operation: &str, body: &Value) -> String {
    let endpoint = std::env::var("AWS_ENDPOINT_URL_CODEPIPELINE").unwrap_or_default();
    let host = endpoint.trim_start_matches("http://").trim_end_matches('/');
    let body = body.to_string();
    let request = format!(
        "POST / HTTP/1.1\r\nHost: {host}\r\nX-Amz-Target: CodePipeline_20150709.{operation}\r\n\
         Content-Type: application/x-amz-json-1.1\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    );
    let mut response = String::new();
    let sent = std::net::TcpStream::connect(host).and_then(|mut stream| {
        stream.write_all(request.as_bytes())?;
        stream.read_to_string(&mut response)
    });
    if let Err(e) = sent {
        return format!("unreachable: {e}");
    }
    if response.starts_with("HTTP/1.1 200") {
        return "ok".into();
    }
    let payload = response.split("\r\n\r\n").nth(1).unwrap_or_default();
    serde_json::from_str::<Value>(payload)
        .ok()
        .and_then(|v| v["__type"].as_str().map(str::to_owned))
        .unwrap_or_else(|| format!("unexpected: {response}"))
}

async fn job(job: &Value) {
    let data = &job["data"];
    let parameters: Value = data["actionConfiguration"]["configuration"]["UserParameters"]
        .as_str()
        .and_then(|p| serde_json::from_str(p).ok())
        .unwrap_or_default();
    let number = |key: &str| parameters[key].as_u64().unwrap_or(0);
    let name = parameters["name"].as_str().unwrap_or("action");
    let n: u64 = data["continuationToken"]
        .as_str()
        .and_then(|t| t.parse().ok())
        .unwrap_or(0);
    log(&format!("invoked {name} {n}"));
    let slow = parameters.get("slow_at").is_some() && number("slow_at") == n;
    let pause = if slow {
        number("slow_ms")
    } else {
        number("sleep_ms")
    };
    tokio::time::sleep(Duration::from_millis(pause)).await;
    let id = job["id"].as_str().unwrap_or_default();
    let request = if n < number("tokens") {
        json!({"jobId": id, "continuationToken": (n + 1).to_string(),
               "executionDetails": {"summary": format!("step {n}")}})
    } else {
        json!({"jobId": id, "outputVariables": {"Steps": n.to_string()}})
    };
    let answer = call("PutJobSuccessResult", &request);
    log(&format!("reported {name} {n} {answer}"));
}

async fn handle(event: LambdaEvent<Value>) -> Result<Value, Diagnostic> {
    let payload = event.payload;
    match payload.get("CodePipeline.job") {
        Some(j) => job(j).await,
        None => {
            let detail = &payload["detail"];
            let state = detail["state"].as_str().unwrap_or("?");
            let execution = detail["execution-id"].as_str().unwrap_or("?");
            log(&format!("event {state} {execution}"));
        }
    }
    Ok(Value::String("done".into()))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_runtime::run(service_fn(handle)).await
}
