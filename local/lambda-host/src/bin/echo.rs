//! A test-only function for lambda-host's tests, written like our real functions
//! (`lambda_runtime::run` + `service_fn`). The event says what to do:
//!
//! - `{"echo": x}`: returns `x` with the Lambda context it saw (and with `"env": "NAME"`, that
//!   variable's value);
//! - `{"error": "message"}`: fails with error type `EchoError`;
//! - `{"sleep_ms": n}`: sleeps, then echoes;
//! - `{"panic": "message"}`: panics; the process then aborts, as our release builds do
//!   (`panic = "abort"`), so the host sees the process die.
//!
//! At start, `ECHO_INIT_SLEEP_MS` delays the runtime (to measure init) and `ECHO_INIT_ERROR`
//! posts that message to `/runtime/init/error` and exits, as a runtime that fails to initialise does.

use std::io::{Read, Write};
use std::time::Duration;

use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use serde_json::{Value, json};

async fn handle(event: LambdaEvent<Value>) -> Result<Value, Diagnostic> {
    let (payload, context) = event.into_parts();
    eprintln!("echo: request {}", context.request_id);
    if let Some(message) = payload.get("panic").and_then(Value::as_str) {
        panic!("echo asked to panic: {message}");
    }
    if let Some(message) = payload.get("error").and_then(Value::as_str) {
        return Err(Diagnostic {
            error_type: "EchoError".into(),
            error_message: message.into(),
        });
    }
    if let Some(ms) = payload.get("sleep_ms").and_then(Value::as_u64) {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    Ok(json!({
        "echo": payload.get("echo").cloned().unwrap_or(Value::Null),
        "request_id": context.request_id,
        "deadline_ms": context.deadline,
        "function_arn": context.invoked_function_arn,
        "function_name": context.env_config.function_name,
        "memory_mb": context.env_config.memory,
        "log_group": context.env_config.log_group,
        "env": payload
            .get("env")
            .and_then(Value::as_str)
            .map(|name| std::env::var(name).ok()),
    }))
}

/// Posts an init error the way a runtime does, with a plain HTTP/1.1 request.
fn post_init_error(api: &str, message: &str) -> std::io::Result<()> {
    let body = json!({"errorType": "EchoInitError", "errorMessage": message}).to_string();
    let mut stream = std::net::TcpStream::connect(api)?;
    write!(
        stream,
        "POST /2018-06-01/runtime/init/error HTTP/1.1\r\nHost: {api}\r\n\
         Lambda-Runtime-Function-Error-Type: Runtime.InitError\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        default_hook(info);
        std::process::abort();
    }));
    if let Some(ms) = std::env::var("ECHO_INIT_SLEEP_MS")
        .ok()
        .and_then(|ms| ms.parse().ok())
    {
        std::thread::sleep(Duration::from_millis(ms));
    }
    if let Ok(message) = std::env::var("ECHO_INIT_ERROR") {
        eprintln!("echo: init failed: {message}");
        let api = std::env::var("AWS_LAMBDA_RUNTIME_API")?;
        post_init_error(&api, &message)?;
        std::process::exit(1);
    }
    lambda_runtime::run(service_fn(handle)).await
}
