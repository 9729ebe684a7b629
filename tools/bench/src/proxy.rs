//! A timing proxy: forwards every request to one upstream service and records how long the
//! upstream took to answer, so that a warm invocation splits into the time spent in HTTP calls
//! (on the wire, as the services answer) and the rest (the function's own code, the SDK's
//! serialisation and signing, the runtime's event loop).

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

/// Hop-by-hop headers, and the ones the client sets again for the new connection.
const NOT_FORWARDED: [header::HeaderName; 4] = [
    header::HOST,
    header::CONNECTION,
    header::CONTENT_LENGTH,
    header::TRANSFER_ENCODING,
];

struct State {
    upstream: String,
    client: Client<HttpConnector, Full<Bytes>>,
    calls: Mutex<Vec<Duration>>,
}

pub struct TimingProxy {
    url: String,
    state: Arc<State>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for TimingProxy {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl TimingProxy {
    /// A proxy on a free loopback port in front of `upstream` (`http://host:port`).
    pub async fn start(upstream: &str) -> std::io::Result<TimingProxy> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let url = format!("http://{}", listener.local_addr()?);
        let state = Arc::new(State {
            upstream: upstream.trim_end_matches('/').to_owned(),
            client: Client::builder(TokioExecutor::new()).build_http(),
            calls: Mutex::new(Vec::new()),
        });
        let shared = state.clone();
        let router = Router::new().fallback(move |request: Request| {
            let state = shared.clone();
            async move { forward(&state, request).await }
        });
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Ok(TimingProxy { url, state, server })
    }

    pub fn endpoint_url(&self) -> &str {
        &self.url
    }

    /// The durations of the calls since the last `take`.
    pub fn take(&self) -> Vec<Duration> {
        std::mem::take(
            &mut *self
                .state
                .calls
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        )
    }
}

fn failed(message: String) -> Response {
    (StatusCode::BAD_GATEWAY, message).into_response()
}

async fn forward(state: &State, request: Request) -> Response {
    let started = Instant::now();
    let (parts, body) = request.into_parts();
    let body = match body.collect().await {
        Ok(body) => body.to_bytes(),
        Err(e) => return failed(format!("cannot read the request: {e}")),
    };
    let path = parts
        .uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    let uri: Uri = match format!("{}{path}", state.upstream).parse() {
        Ok(uri) => uri,
        Err(e) => return failed(format!("bad upstream URI: {e}")),
    };
    let mut upstream = axum::http::Request::builder().method(parts.method).uri(uri);
    for (name, value) in &parts.headers {
        if !NOT_FORWARDED.contains(name) {
            upstream = upstream.header(name, value);
        }
    }
    let upstream = match upstream.body(Full::new(body)) {
        Ok(request) => request,
        Err(e) => return failed(format!("cannot forward: {e}")),
    };
    let answer = match state.client.request(upstream).await {
        Ok(answer) => answer,
        Err(e) => return failed(format!("{} did not answer: {e}", state.upstream)),
    };
    let (parts, body) = answer.into_parts();
    let body = match body.collect().await {
        Ok(body) => body.to_bytes(),
        Err(e) => return failed(format!("{} broke off: {e}", state.upstream)),
    };
    state
        .calls
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(started.elapsed());
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = parts.status;
    // Content-Length stays: the body is complete, and a HEAD answer has none to count.
    for (name, value) in &parts.headers {
        if name != header::CONNECTION && name != header::TRANSFER_ENCODING {
            response.headers_mut().append(name, value.clone());
        }
    }
    response
}
