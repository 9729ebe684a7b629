//! The moto server helper against the real pinned moto: S3 over HTTP, moto's API, and cleanup.

use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

use aws_sdk_s3::primitives::ByteStream;
use test_support::MotoServer;

/// True while the process exists (a reaped process leaves no /proc entry).
fn process_exists(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

fn accepts_connections(port: u16) -> bool {
    TcpStream::connect_timeout(
        &SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_millis(500),
    )
    .is_ok()
}

/// Processes are reaped by `Drop`; allow the kernel a moment to release the listening socket.
fn eventually(what: &str, condition: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[tokio::test]
async fn s3_bucket_and_object_round_trip_then_the_server_is_gone() {
    let moto = MotoServer::start();
    let (pid, port) = (moto.pid(), moto.port());
    assert!(moto.endpoint_url().starts_with("http://127.0.0.1:"));
    assert!(process_exists(pid));

    let s3 = moto.s3_client();
    s3.create_bucket()
        .bucket("pipeline-artifacts")
        .send()
        .await
        .expect("CreateBucket");
    s3.put_object()
        .bucket("pipeline-artifacts")
        .key("source/configuration/trainingjob.json")
        .body(ByteStream::from_static(b"{\"TrainingJobName\":\"x\"}"))
        .send()
        .await
        .expect("PutObject");
    let object = s3
        .get_object()
        .bucket("pipeline-artifacts")
        .key("source/configuration/trainingjob.json")
        .send()
        .await
        .expect("GetObject");
    let body = object
        .body
        .collect()
        .await
        .expect("object body")
        .into_bytes();
    assert_eq!(&body[..], b"{\"TrainingJobName\":\"x\"}");

    // Path-style addressing: the bucket is in the path, not in the host name.
    assert!(
        moto.log()
            .contains("PUT /pipeline-artifacts/source/configuration/trainingjob.json"),
        "expected a path-style request in the moto log:\n{}",
        moto.log()
    );

    let data = moto.api_data();
    assert!(
        data["s3"].is_object(),
        "moto-api data has an s3 section: {data}"
    );

    drop(moto);
    eventually("the moto process is reaped", || !process_exists(pid));
    eventually("the port is closed", || !accepts_connections(port));
}

#[tokio::test]
async fn servers_are_isolated_from_each_other() {
    let first = MotoServer::start();
    let second = MotoServer::start();
    assert_ne!(first.port(), second.port());

    first
        .s3_client()
        .create_bucket()
        .bucket("only-in-first")
        .send()
        .await
        .expect("CreateBucket");
    let buckets = second
        .s3_client()
        .list_buckets()
        .send()
        .await
        .expect("ListBuckets");
    assert!(buckets.buckets().is_empty(), "{buckets:?}");
}

#[test]
fn a_panicking_test_leaves_no_server_behind() {
    let (sender, receiver) = std::sync::mpsc::channel();
    let result = std::thread::spawn(move || {
        let moto = MotoServer::start();
        sender.send(moto.pid()).unwrap();
        panic!("deliberate panic while the server runs");
    })
    .join();
    assert!(result.is_err(), "the thread panicked");
    let pid = receiver.recv().expect("the server had started");
    eventually("the moto process is reaped", || !process_exists(pid));
}

#[test]
#[should_panic(expected = "make setup")]
fn a_missing_venv_says_to_run_make_setup() {
    MotoServer::start_with_venv("/nonexistent/venv");
}
