//! The awsJson1_1 protocol as the AWS SDKs speak it: `POST /` with
//! `X-Amz-Target: SageMaker.<Operation>`, JSON bodies in and out, errors as
//! `{"__type": "<code>", "message": "..."}`, timestamps as epoch seconds.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The content type of every request and response body.
pub const CONTENT_TYPE: &str = "application/x-amz-json-1.1";

/// `X-Amz-Target` values are `SageMaker.<Operation>`.
pub const TARGET_PREFIX: &str = "SageMaker.";

/// The error codes this service answers with, as the SDK matches them (`__type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    Validation,
    ResourceInUse,
    ResourceNotFound,
    UnknownOperation,
    Internal,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::Validation => "ValidationException",
            ErrorCode::ResourceInUse => "ResourceInUse",
            ErrorCode::ResourceNotFound => "ResourceNotFound",
            ErrorCode::UnknownOperation => "UnknownOperationException",
            ErrorCode::Internal => "InternalFailure",
        }
    }

    fn status(self) -> StatusCode {
        match self {
            // 5xx tells the SDK to retry; nothing else here is worth retrying.
            ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        }
    }
}

/// An error answer of the API.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {message}", code.as_str())]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Validation, message)
    }

    pub fn in_use(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::ResourceInUse, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::ResourceNotFound, message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Internal, message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "__type": self.code.as_str(), "message": self.message });
        with_json_headers(self.code.status(), body.to_string())
    }
}

/// A 200 answer with `value` as its JSON body.
pub fn json_response<T: Serialize>(value: &T) -> Response {
    match serde_json::to_string(value) {
        Ok(body) => with_json_headers(StatusCode::OK, body),
        Err(e) => ApiError::internal(format!("cannot encode the response: {e}")).into_response(),
    }
}

fn with_json_headers(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    if let Ok(id) = HeaderValue::from_str(&request_id()) {
        headers.insert("x-amzn-RequestId", id);
    }
    response
}

/// A UUID-shaped id per answer, as the SDK logs it with errors.
fn request_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(1);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("00000000-0000-4000-8000-{n:012x}")
}

/// Parses a request body; an empty body is an empty object, as the SDK may send.
pub fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let body = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}".as_slice()
    } else {
        body
    };
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if path == "." {
            ApiError::validation(format!("invalid request: {inner}"))
        } else {
            ApiError::validation(format!("invalid request at {path}: {inner}"))
        }
    })
}

/// A point in time, written as epoch seconds (a JSON number with milliseconds), as the
/// awsJson1_1 protocol does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub SystemTime);

impl Timestamp {
    pub fn now() -> Self {
        Timestamp(SystemTime::now())
    }

    pub fn epoch_seconds(self) -> f64 {
        let since = self.0.duration_since(UNIX_EPOCH).unwrap_or_default();
        // Milliseconds, as AWS answers.
        (since.as_secs_f64() * 1000.0).round() / 1000.0
    }

    /// Whole seconds from `self` to `later` (0 when `later` is earlier).
    pub fn seconds_until(self, later: Timestamp) -> i32 {
        let seconds = later.0.duration_since(self.0).unwrap_or_default().as_secs();
        i32::try_from(seconds).unwrap_or(i32::MAX)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_f64(self.epoch_seconds())
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let seconds = f64::deserialize(deserializer)?;
        if !seconds.is_finite() || seconds < 0.0 {
            return Err(serde::de::Error::custom(format!(
                "`{seconds}` is not a timestamp (epoch seconds)"
            )));
        }
        Ok(Timestamp(UNIX_EPOCH + Duration::from_secs_f64(seconds)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "PascalCase", deny_unknown_fields)]
    struct Request {
        #[allow(dead_code, reason = "only parsed")]
        name: Option<String>,
        #[allow(dead_code, reason = "only parsed")]
        after: Option<Timestamp>,
    }

    #[test]
    fn errors_say_where_the_request_is_wrong() {
        let err = parse::<Request>(br#"{"Name": 5}"#).unwrap_err();
        assert_eq!(err.code, ErrorCode::Validation);
        assert!(
            err.message.starts_with("invalid request at Name: "),
            "{err}"
        );
        let err = parse::<Request>(br#"{"Nmae": "x"}"#).unwrap_err();
        assert!(err.message.contains("unknown field `Nmae`"), "{err}");
    }

    #[test]
    fn an_empty_body_is_an_empty_request() {
        assert!(parse::<Request>(b"").is_ok());
    }

    #[test]
    fn timestamps_are_epoch_seconds_with_milliseconds() {
        let t = Timestamp(UNIX_EPOCH + Duration::from_millis(1_700_000_000_123));
        assert_eq!(serde_json::to_string(&t).unwrap(), "1700000000.123");
        let back: Timestamp = serde_json::from_str("1700000000.123").unwrap();
        assert_eq!(back.epoch_seconds(), 1_700_000_000.123);
        assert!(serde_json::from_str::<Timestamp>("-1").is_err());
    }

    #[test]
    fn error_bodies_carry_type_and_message() {
        let response = ApiError::in_use("taken").into_response();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert_eq!(response.headers()[header::CONTENT_TYPE], CONTENT_TYPE);
    }
}
