//! Correlation ids, and the rendering of error bodies that carry them.
//!
//! Every response gets `x-correlation-id`. A caller may send its own (1-64 characters
//! of `A-Za-z0-9-_.`), which is then reused so that logs on both sides line up.

use crate::error::ApiError;
use crate::state::AppState;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

/// The header name.
pub static X_CORRELATION_ID: HeaderName = HeaderName::from_static("x-correlation-id");

/// The correlation id of the current request (a request extension).
#[derive(Debug, Clone)]
pub struct CorrelationId(pub String);

impl CorrelationId {
    /// The id of `req` (empty outside the middleware, e.g. in unit tests).
    pub fn of<B>(req: &axum::http::Request<B>) -> String {
        req.extensions()
            .get::<CorrelationId>()
            .map(|c| c.0.clone())
            .unwrap_or_default()
    }
}

fn acceptable(v: &HeaderValue) -> Option<String> {
    let s = v.to_str().ok()?;
    (!s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.')))
    .then(|| s.to_string())
}

/// A fresh id: a UUIDv4 (RFC 9562 §5.4), its random bits from aws-lc's generator.
/// (`Uuid::new_v4` asks the kernel with a `getrandom` system call for each id: 2 % of
/// the token endpoint's CPU under load.)
pub fn new_correlation_id() -> String {
    let mut bytes = [0u8; 16];
    portvakt_jose::random_bytes(&mut bytes);
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .hyphenated()
        .to_string()
}

/// Middleware: assign the id, and turn an [`ApiError`] left in the response extensions
/// into its JSON body.
pub async fn correlate(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let id = req
        .headers()
        .get(&X_CORRELATION_ID)
        .and_then(acceptable)
        .unwrap_or_else(new_correlation_id);
    req.extensions_mut().insert(CorrelationId(id.clone()));
    let mut res = next.run(req).await;
    if let Some(err) = res.extensions_mut().remove::<ApiError>() {
        let body = err.body(&id, &state.config.public_url);
        if err.code.status() < 500 {
            tracing::debug!(correlation_id = %id, code = err.code.code(), detail = %err.detail, "request refused");
        } else {
            tracing::error!(correlation_id = %id, code = err.code.code(), detail = %err.detail, "request failed");
        }
        let bytes = serde_json::to_vec(&body).unwrap_or_default();
        *res.body_mut() = Body::from(bytes);
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        res.headers_mut().remove(header::CONTENT_LENGTH);
    }
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(X_CORRELATION_ID.clone(), v);
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_ids_are_distinct_version_4_uuids() {
        let a = new_correlation_id();
        let b = new_correlation_id();
        assert_ne!(a, b);
        for id in [&a, &b] {
            let u = uuid::Uuid::parse_str(id).expect("a UUID");
            assert_eq!(u.get_version_num(), 4, "{id}");
            assert_eq!(u.get_variant(), uuid::Variant::RFC4122, "{id}");
            assert_eq!(id.len(), 36, "hyphenated: {id}");
        }
    }
}
