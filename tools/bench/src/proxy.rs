//! A timing proxy: forwards every request to one upstream service and records how long the
//! upstream took to answer, so that a warm invocation splits into the time spent in HTTP calls
//! (on the wire, as the services answer) and the rest (the function's own code, the SDK's
//! serialisation and signing, the runtime's event loop). And [`SplitProxy`], the local
//! SageMaker's forward endpoint, which keeps its CloudWatch traffic off the functions' moto.

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
    match relay(&state.client, &state.upstream, request).await {
        Ok(response) => {
            state
                .calls
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(started.elapsed());
            response
        }
        Err(response) => response,
    }
}

/// `request` sent on to `upstream`, and its complete answer; `Err`: a 502 that says why not.
async fn relay(
    client: &Client<HttpConnector, Full<Bytes>>,
    upstream: &str,
    request: Request,
) -> Result<Response, Response> {
    let (parts, body) = request.into_parts();
    let body = match body.collect().await {
        Ok(body) => body.to_bytes(),
        Err(e) => return Err(failed(format!("cannot read the request: {e}"))),
    };
    let path = parts
        .uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    let uri: Uri = match format!("{upstream}{path}").parse() {
        Ok(uri) => uri,
        Err(e) => return Err(failed(format!("bad upstream URI: {e}"))),
    };
    let mut request = axum::http::Request::builder().method(parts.method).uri(uri);
    for (name, value) in &parts.headers {
        if !NOT_FORWARDED.contains(name) {
            request = request.header(name, value);
        }
    }
    let request = match request.body(Full::new(body)) {
        Ok(request) => request,
        Err(e) => return Err(failed(format!("cannot forward: {e}"))),
    };
    let answer = match client.request(request).await {
        Ok(answer) => answer,
        Err(e) => return Err(failed(format!("{upstream} did not answer: {e}"))),
    };
    let (parts, body) = answer.into_parts();
    let body = match body.collect().await {
        Ok(body) => body.to_bytes(),
        Err(e) => return Err(failed(format!("{upstream} broke off: {e}"))),
    };
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = parts.status;
    // Content-Length stays: the body is complete, and a HEAD answer has none to count.
    for (name, value) in &parts.headers {
        if name != header::CONNECTION && name != header::TRANSFER_ENCODING {
            response.headers_mut().append(name, value.clone());
        }
    }
    Ok(response)
}

/// Where a request to the local SageMaker's forward endpoint goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// A SageMaker operation it does not serve itself (`X-Amz-Target: SageMaker.<Operation>`):
    /// the Model Registry, ListEndpointConfigs.
    SageMaker,
    /// The rest: CloudWatch (the endpoints' invocation metrics, its rollback alarms).
    CloudWatch,
}

impl Route {
    pub fn of(headers: &axum::http::HeaderMap) -> Route {
        let sagemaker = headers
            .get("x-amz-target")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| t.starts_with("SageMaker."));
        if sagemaker {
            Route::SageMaker
        } else {
            Route::CloudWatch
        }
    }
}

/// The local SageMaker's forward endpoint in the bench: its SageMaker calls go to one moto (the
/// one the functions call), its CloudWatch calls to another. While deploy smoke-tests its
/// endpoint, the local SageMaker writes about a hundred invocations' metrics to CloudWatch once a
/// second; a moto storing them answers nothing else for 150 to 300 ms (2 cores), which would
/// stall the function's own calls to it (GetObject, ListEndpointConfigs) once a second.
pub struct SplitProxy {
    url: String,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for SplitProxy {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl SplitProxy {
    /// A proxy on a free loopback port: [`Route::SageMaker`] to `sagemaker`,
    /// [`Route::CloudWatch`] to `cloudwatch` (both `http://host:port`).
    pub async fn start(sagemaker: &str, cloudwatch: &str) -> std::io::Result<SplitProxy> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let url = format!("http://{}", listener.local_addr()?);
        let client: Client<HttpConnector, Full<Bytes>> =
            Client::builder(TokioExecutor::new()).build_http();
        let upstreams = Arc::new((
            sagemaker.trim_end_matches('/').to_owned(),
            cloudwatch.trim_end_matches('/').to_owned(),
        ));
        let router = Router::new().fallback(move |request: Request| {
            let (client, upstreams) = (client.clone(), upstreams.clone());
            async move {
                let upstream = match Route::of(request.headers()) {
                    Route::SageMaker => &upstreams.0,
                    Route::CloudWatch => &upstreams.1,
                };
                relay(&client, upstream, request)
                    .await
                    .unwrap_or_else(|failed| failed)
            }
        });
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Ok(SplitProxy { url, server })
    }

    pub fn endpoint_url(&self) -> &str {
        &self.url
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{HeaderMap, HeaderValue, Method};

    fn target(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("x-amz-target", HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn sagemaker_operations_and_the_rest_are_told_apart() {
        assert_eq!(
            Route::of(&target("SageMaker.ListEndpointConfigs")),
            Route::SageMaker
        );
        assert_eq!(
            Route::of(&target("SageMaker.DescribeModelPackage")),
            Route::SageMaker
        );
        // CloudWatch's PutMetricData and DescribeAlarms (awsQuery: no target).
        assert_eq!(Route::of(&HeaderMap::new()), Route::CloudWatch);
        assert_eq!(
            Route::of(&target("GraniteServiceVersion20100801.PutMetricData")),
            Route::CloudWatch
        );
    }

    /// A server that answers every request with `name`.
    async fn answering(name: &'static str) -> (String, tokio::task::JoinHandle<()>) {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let router = Router::new().fallback(move || async move { name });
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        (url, server)
    }

    #[tokio::test]
    async fn the_split_proxy_sends_sagemaker_to_one_upstream_and_the_rest_to_the_other() {
        let (sagemaker, a) = answering("sagemaker").await;
        let (cloudwatch, b) = answering("cloudwatch").await;
        let proxy = SplitProxy::start(&sagemaker, &cloudwatch).await.unwrap();
        let client: Client<HttpConnector, Full<Bytes>> =
            Client::builder(TokioExecutor::new()).build_http();
        let call = |target: Option<&str>| {
            let mut request = axum::http::Request::builder()
                .method(Method::POST)
                .uri(format!("{}/", proxy.endpoint_url()));
            if let Some(target) = target {
                request = request.header("x-amz-target", target);
            }
            let request = request
                .body(Full::new(Bytes::from_static(b"Action=PutMetricData")))
                .unwrap();
            let client = client.clone();
            async move {
                let answer = client.request(request).await.unwrap();
                let body = answer.into_body().collect().await.unwrap().to_bytes();
                String::from_utf8(body.to_vec()).unwrap()
            }
        };
        assert_eq!(
            call(Some("SageMaker.ListEndpointConfigs")).await,
            "sagemaker"
        );
        assert_eq!(call(None).await, "cloudwatch");
        a.abort();
        b.abort();
    }
}
