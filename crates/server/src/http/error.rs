//! The HTTP edge's one error type and its rendering.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use portvakt_core::{Error, ErrorCode};
use portvakt_store::StoreError;

/// An error on its way to the client: the code fixes the OAuth error and the status;
/// `detail` is the exact reason. The body is rendered by the correlation middleware
/// ([`crate::correlation`]), which knows the correlation id and the public URL.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// The stable code.
    pub code: ErrorCode,
    /// What exactly failed.
    pub detail: String,
    /// A `WWW-Authenticate` challenge to send with a 401.
    pub challenge: Option<String>,
    /// Seconds for a `Retry-After` header (RFC 9110 §10.2.3), with a 429 or 503.
    pub retry_after: Option<i64>,
    /// The Conditional Access policy that decided a refusal (Graph `id` and
    /// `displayName`), so that a client can name it in its own words and language.
    pub policy: Option<(String, String)>,
}

impl ApiError {
    /// An error with code and description.
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self {
            code,
            detail: detail.into(),
            challenge: None,
            retry_after: None,
            policy: None,
        }
    }

    /// Add a `Retry-After` header.
    pub fn with_retry_after(mut self, secs: i64) -> Self {
        self.retry_after = Some(secs.max(1));
        self
    }

    /// Add a `WWW-Authenticate` challenge.
    pub fn with_challenge(mut self, challenge: String) -> Self {
        self.challenge = Some(challenge);
        self
    }

    /// The JSON body (RFC 6749 §5.2 plus Portvakt's fields).
    pub fn body(&self, correlation_id: &str, public_url: &str) -> serde_json::Value {
        let mut body = serde_json::json!({
            "error": self.code.oauth_error(),
            "error_description": format!("{}: {}", self.code.title(), self.detail),
            "error_code": self.code.code(),
            "error_uri": format!("{public_url}/errors/{}", self.code.code()),
            "correlation_id": correlation_id,
            "fix": self.code.fix(),
        });
        // An extension parameter (RFC 6749 §5.2 allows them): the deciding policy.
        if let Some((id, name)) = &self.policy {
            body["policy"] = serde_json::json!({"id": id, "displayName": name});
        }
        body
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        Self::new(e.code, e.detail)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(what) => {
                ApiError::new(ErrorCode::EntityExists, format!("{what} already exists"))
            }
            StoreError::NotFound(what) => {
                ApiError::new(ErrorCode::EntityNotFound, format!("{what} does not exist"))
            }
            StoreError::Unavailable(m) => {
                crate::metrics::metrics().store_error();
                tracing::error!(error = %m, "storage unavailable");
                ApiError::new(
                    ErrorCode::StorageUnavailable,
                    "the database could not be read or written; see the server log",
                )
            }
            StoreError::Corrupt(m) => {
                crate::metrics::metrics().store_error();
                tracing::error!(error = %m, "stored data is invalid");
                ApiError::new(
                    ErrorCode::Internal,
                    "stored data could not be read; see the server log",
                )
            }
        }
    }
}

impl From<portvakt_jose::JoseError> for ApiError {
    fn from(e: portvakt_jose::JoseError) -> Self {
        tracing::error!(error = %e, "key operation failed");
        ApiError::new(ErrorCode::SigningKeyUnavailable, e.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut res = status.into_response();
        res.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Some(c) = self
            .challenge
            .as_deref()
            .and_then(|c| HeaderValue::from_str(c).ok())
        {
            res.headers_mut().insert(header::WWW_AUTHENTICATE, c);
        }
        if let Some(secs) = self.retry_after {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if status.is_server_error() {
            tracing::error!(code = self.code.code(), detail = %self.detail, "request failed");
        }
        res.extensions_mut().insert(self);
        res
    }
}
