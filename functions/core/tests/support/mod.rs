//! A local AWS endpoint over real HTTP/1.1 (keep-alive, so SDK clients pool connections): S3
//! GetObject of path-style `/bucket/key`, CodePipeline's job results recorded. Every request's
//! headers are kept, so a test can show what went over the wire.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde_json::Value;

/// One request as it arrived.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub path: String,
    /// Header names in lower case.
    pub headers: BTreeMap<String, String>,
    pub body: Vec<u8>,
}

#[derive(Default)]
struct State {
    objects: BTreeMap<String, Vec<u8>>,
    requests: Vec<Request>,
}

/// Serves until the test process ends (the listener thread is detached).
#[derive(Clone)]
pub struct FakeAws {
    port: u16,
    state: Arc<Mutex<State>>,
}

impl FakeAws {
    pub fn start() -> FakeAws {
        let listener = TcpListener::bind(("127.0.0.1", 0)).unwrap();
        let port = listener.local_addr().unwrap().port();
        let fake = FakeAws {
            port,
            state: Arc::default(),
        };
        let server = fake.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let server = server.clone();
                std::thread::spawn(move || server.serve(stream));
            }
        });
        fake
    }

    /// For `AWS_ENDPOINT_URL`.
    pub fn endpoint_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn put_object(&self, bucket: &str, key: &str, body: Vec<u8>) {
        self.lock().objects.insert(format!("/{bucket}/{key}"), body);
    }

    pub fn requests(&self) -> Vec<Request> {
        self.lock().requests.clone()
    }

    /// The CodePipeline job results: (operation, request body).
    pub fn job_results(&self) -> Vec<(String, Value)> {
        self.requests()
            .into_iter()
            .filter_map(|r| {
                let target = r.headers.get("x-amz-target")?;
                let operation = target.strip_prefix("CodePipeline_20150709.")?.to_owned();
                Some((operation, serde_json::from_slice(&r.body).ok()?))
            })
            .collect()
    }

    /// The result reported for `job_id`, waiting for it up to `timeout`.
    pub fn result_of(&self, job_id: &str, timeout: Duration) -> Option<(String, Value)> {
        let until = Instant::now() + timeout;
        loop {
            let found = self
                .job_results()
                .into_iter()
                .find(|(_, body)| body["jobId"] == job_id);
            if found.is_some() || Instant::now() > until {
                return found;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn serve(&self, stream: TcpStream) {
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut writer = stream;
        while let Some(request) = read_request(&mut reader) {
            let (status, content_type, body) = self.answer(&request);
            self.lock().requests.push(request);
            let head = format!(
                "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
                 Connection: keep-alive\r\n\r\n",
                body.len()
            );
            if writer.write_all(head.as_bytes()).is_err() || writer.write_all(&body).is_err() {
                return;
            }
        }
    }

    fn answer(&self, request: &Request) -> (&'static str, &'static str, Vec<u8>) {
        if request.headers.contains_key("x-amz-target") {
            return ("200 OK", "application/x-amz-json-1.1", b"{}".to_vec());
        }
        let path = request.path.split('?').next().unwrap_or_default();
        match self.lock().objects.get(path) {
            Some(body) if request.method == "GET" => {
                ("200 OK", "application/octet-stream", body.clone())
            }
            _ => (
                "404 Not Found",
                "application/xml",
                b"<Error><Code>NoSuchKey</Code><Message>no such key</Message></Error>".to_vec(),
            ),
        }
    }
}

fn read_request(reader: &mut BufReader<TcpStream>) -> Option<Request> {
    let mut line = String::new();
    reader.read_line(&mut line).ok().filter(|n| *n > 0)?;
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_owned();
    let path = parts.next()?.to_owned();
    let mut headers = BTreeMap::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).ok().filter(|n| *n > 0)?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':')?;
        headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
    }
    let length = headers
        .get("content-length")
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(Request {
        method,
        path,
        headers,
        body,
    })
}
