//! Operations this service does not serve go, as they came, to another SageMaker endpoint:
//! a moto server, which keeps the Model Registry (model package groups and packages) and
//! the rest of the API that needs no compute.

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Request, Uri, header};
use axum::response::{IntoResponse, Response};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use crate::protocol::ApiError;

/// The forward endpoint is not one this service can send to.
#[derive(Debug, thiserror::Error)]
#[error("forward endpoint `{endpoint}` is not an http:// URL: {reason}")]
pub struct ForwardEndpointError {
    pub endpoint: String,
    pub reason: String,
}

/// Hop-by-hop headers, and the ones the client sets for the new connection.
const NOT_FORWARDED: &[header::HeaderName] = &[
    header::HOST,
    header::CONNECTION,
    header::CONTENT_LENGTH,
    header::TRANSFER_ENCODING,
];

#[derive(Debug, Clone)]
pub struct Forwarder {
    endpoint: Uri,
    client: Client<HttpConnector, Full<Bytes>>,
}

impl Forwarder {
    pub fn new(endpoint: &str) -> Result<Self, ForwardEndpointError> {
        let error = |reason: &str| ForwardEndpointError {
            endpoint: endpoint.to_owned(),
            reason: reason.to_owned(),
        };
        let uri: Uri = endpoint.parse().map_err(|_| error("not a URL"))?;
        if uri.scheme_str() != Some("http") || uri.authority().is_none() {
            return Err(error("write http://host:port"));
        }
        let root = Uri::builder()
            .scheme("http")
            .authority(uri.authority().map(|a| a.as_str()).unwrap_or_default())
            .path_and_query("/")
            .build()
            .map_err(|e| error(&e.to_string()))?;
        Ok(Self {
            endpoint: root,
            client: Client::builder(TokioExecutor::new()).build_http(),
        })
    }

    pub fn endpoint(&self) -> &Uri {
        &self.endpoint
    }

    /// Sends the request on (headers and signature as they came: moto reads the region from
    /// them and checks no signature) and answers with what came back.
    pub async fn forward(&self, headers: &HeaderMap, body: Bytes) -> Response {
        let mut request = Request::post(self.endpoint.clone());
        for (name, value) in headers {
            if !NOT_FORWARDED.contains(name) {
                request = request.header(name, value);
            }
        }
        let request = match request.body(Full::new(body)) {
            Ok(request) => request,
            Err(e) => return ApiError::internal(format!("cannot forward: {e}")).into_response(),
        };
        let response = match self.client.request(request).await {
            Ok(response) => response,
            Err(e) => {
                return ApiError::internal(format!(
                    "the forward endpoint {} did not answer: {e}",
                    self.endpoint
                ))
                .into_response();
            }
        };
        let (parts, body) = response.into_parts();
        match body.collect().await {
            Ok(collected) => {
                let mut response = Response::new(Body::from(collected.to_bytes()));
                *response.status_mut() = parts.status;
                for (name, value) in &parts.headers {
                    if !NOT_FORWARDED.contains(name) {
                        response.headers_mut().append(name, value.clone());
                    }
                }
                response
            }
            Err(e) => ApiError::internal(format!(
                "the forward endpoint {} broke off its answer: {e}",
                self.endpoint
            ))
            .into_response(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_http_endpoints_are_accepted() {
        let forwarder = Forwarder::new("http://127.0.0.1:5000/some/path").unwrap();
        assert_eq!(forwarder.endpoint().to_string(), "http://127.0.0.1:5000/");
        for bad in ["https://example.test", "127.0.0.1:5000", "not a url"] {
            assert!(Forwarder::new(bad).is_err(), "{bad}");
        }
    }
}
