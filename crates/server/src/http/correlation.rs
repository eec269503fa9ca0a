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
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

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

/// The correlation id as a handler argument (empty outside the middleware).
#[derive(Debug, Clone)]
pub struct Cid(pub String);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Cid {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(Cid(parts
            .extensions
            .get::<CorrelationId>()
            .map(|c| c.0.clone())
            .unwrap_or_default()))
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

/// A fresh id, shaped as a UUIDv7 (RFC 9562 §5.7): the time in milliseconds, then
/// unique bits, so ids sort by creation — the sign-in log indexes them, and an index
/// that grows at its end costs a fraction of one written in random order
/// (BENCHMARKS.md, "Sign-in log").
///
/// A correlation id must be unique, not secret (a caller may choose its own), so it is
/// not drawn from a cryptographic generator per request: `Uuid::new_v4` costs a
/// `getrandom` system call each time (2 % of the token endpoint's CPU under load), and
/// aws-lc's generator takes ~60 ms to initialise on its first use, which the first
/// response after start-up would wait for. Instead: after the 48-bit time, 12 bits
/// chosen once per process and 62 bits of a per-process counter passed through
/// SplitMix64's finalizer (a bijection, so ids of one process and millisecond differ
/// unless 2^62 counters collide after truncation).
pub fn new_correlation_id() -> String {
    static PROCESS: OnceLock<(u64, u64)> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let (prefix, key) = *PROCESS.get_or_init(|| uuid::Uuid::new_v4().as_u64_pair());
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    let mut bytes = [0u8; 10];
    bytes[..2].copy_from_slice(&(prefix as u16).to_be_bytes());
    bytes[2..].copy_from_slice(&splitmix64(n ^ key).to_be_bytes());
    uuid::Builder::from_unix_timestamp_millis(ms, &bytes)
        .into_uuid()
        .hyphenated()
        .to_string()
}

/// SplitMix64's output function: xor-shifts and odd multiplications, each invertible.
fn splitmix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
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
    if let Some(peer) = req
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip())
    {
        let ip = crate::client_addr::resolve(peer, req.headers(), &state.config.trusted_proxies);
        req.extensions_mut()
            .insert(crate::client_addr::ClientIp(ip));
    }
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
    security_headers(&mut res);
    res
}

/// Headers every response carries: `nosniff` everywhere; on an HTML response that set
/// no policy of its own (e.g. `/errors/{code}`), a CSP that allows nothing active and
/// no framing.
fn security_headers(res: &mut Response) {
    let h = res.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    let html = h
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if html && !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'"),
        );
        h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        h.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_ids_are_distinct_time_ordered_version_7_uuids() {
        let ids: Vec<String> = (0..20_000).map(|_| new_correlation_id()).collect();
        let distinct: std::collections::HashSet<&String> = ids.iter().collect();
        assert_eq!(distinct.len(), ids.len());
        // Not a visible sequence: consecutive ids differ in most of their last 16 digits.
        let (a, b) = (&ids[0], &ids[1]);
        let differing = a[20..]
            .chars()
            .zip(b[20..].chars())
            .filter(|(x, y)| x != y)
            .count();
        assert!(differing >= 8, "{a} / {b}");
        // Time-ordered: the first 48 bits never go back.
        let ts = |s: &String| u64::from_str_radix(&s[..13].replace('-', ""), 16).expect("hex");
        assert!(ids.windows(2).all(|w| ts(&w[0]) <= ts(&w[1])));
        for id in &ids[..100] {
            let u = uuid::Uuid::parse_str(id).expect("a UUID");
            assert_eq!(u.get_version_num(), 7, "{id}");
            assert_eq!(u.get_variant(), uuid::Variant::RFC4122, "{id}");
            assert_eq!(id.len(), 36, "hyphenated: {id}");
        }
    }
}
