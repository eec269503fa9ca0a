//! The HTTP edge: a tower [`GuardLayer`] and the axum extractors [`VerifiedClaims`]
//! and [`BearerToken`], answering per RFC 6750 §3:
//!
//! * no token: `401` with `WWW-Authenticate: Bearer realm="…"` and no `error`
//!   (RFC 6750 §3: "SHOULD NOT include an error code");
//! * a bad token: `401`, `error="invalid_token"`;
//! * a good token without the scope: `403`, `error="insufficient_scope"`, `scope="…"`;
//! * a malformed request: `400`, `error="invalid_request"`.
//!
//! The header carries only the code, a static description, `error_code` and
//! `error_uri`; the values and hints go to the JSON body and the log, never to the
//! header (nothing from the token is echoed there).

use crate::config::Requirements;
use crate::error::{ErrorKind, GuardError};
use crate::token::VerifiedToken;
use crate::validator::Guard;
use axum::extract::FromRequestParts;
use axum::http::{header, HeaderMap, HeaderValue, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

/// The request header a correlation id is read from and written to.
pub const CORRELATION_HEADER: &str = "x-correlation-id";

/// The verified token of the request, put there by [`GuardLayer`] (or validated by
/// the extractor itself when a [`Guard`] is in the request extensions).
#[derive(Debug, Clone)]
pub struct VerifiedClaims(pub Arc<VerifiedToken>);

impl std::ops::Deref for VerifiedClaims {
    type Target = VerifiedToken;
    fn deref(&self) -> &VerifiedToken {
        &self.0
    }
}

/// The raw bearer token of the request, NOT validated (for forwarding or logging by
/// hash). Extraction follows RFC 6750 §2.1.
#[derive(Debug, Clone)]
pub struct BearerToken(pub String);

/// Take the bearer token from a request (RFC 6750 §2.1 header only). A token in the
/// URL query (§2.3) is refused: URLs end up in logs.
pub fn bearer_token<'h>(
    headers: &'h HeaderMap,
    query: Option<&str>,
) -> Result<&'h str, GuardError> {
    let in_query = query.is_some_and(|q| q.split('&').any(|p| p.starts_with("access_token=")));
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let (first, second) = (values.next(), values.next());
    if second.is_some() {
        return Err(GuardError::new(ErrorKind::BadRequest {
            detail: "the request has more than one Authorization header".into(),
        }));
    }
    if in_query {
        let detail = if first.is_some() {
            "the token was sent both in the Authorization header and as access_token in the URL; RFC 6750 §2 allows one method per request"
        } else {
            "the token was sent as access_token in the URL; this API takes it only in the Authorization header (URLs end up in logs and Referer headers, RFC 6750 §2.3)"
        };
        return Err(GuardError::new(ErrorKind::BadRequest {
            detail: detail.into(),
        }));
    }
    let Some(v) = first else {
        return Err(GuardError::new(ErrorKind::Missing {
            detail: "the request has no Authorization header".into(),
        }));
    };
    let v = v.to_str().map_err(|_| {
        GuardError::new(ErrorKind::BadRequest {
            detail: "the Authorization header is not visible ASCII".into(),
        })
    })?;
    let (scheme, rest) = v.split_once(' ').unwrap_or((v, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        let scheme = if scheme.len() > 20
            || !scheme
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            "(unreadable)"
        } else {
            scheme
        };
        return Err(GuardError::new(ErrorKind::Missing {
            detail: format!("the Authorization header uses the '{scheme}' scheme; this API takes 'Bearer' tokens (RFC 6750)"),
        }));
    }
    Ok(rest.trim_start_matches(' '))
}

/// A refusal, rendered per RFC 6750 §3 with a JSON body. Built by the layer and the
/// extractors; usable on its own (`GuardRejection::new(..).into_response()`).
#[derive(Debug)]
pub struct GuardRejection {
    /// What failed.
    pub error: GuardError,
    /// The correlation id of the request.
    pub correlation_id: String,
    realm: String,
    error_uri: String,
    required_scopes: Vec<String>,
}

fn header_safe(s: &str) -> String {
    s.chars()
        .filter(|c| (' '..='~').contains(c) && *c != '"' && *c != '\\')
        .collect()
}

/// The request's correlation id if it sent a sane one, otherwise a new one.
pub fn correlation_id(headers: &HeaderMap) -> String {
    headers
        .get(CORRELATION_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 64
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
        })
        .map(String::from)
        .unwrap_or_else(|| portvakt_jose::random_id(12))
}

impl GuardRejection {
    /// A rejection of `error` by `guard`, for the request with `correlation_id`.
    pub fn new(
        guard: &Guard,
        error: GuardError,
        correlation_id: String,
        req: &Requirements,
    ) -> Self {
        let cfg = guard.config();
        let required_scopes = match error.kind() {
            ErrorKind::InsufficientScope { required, .. } => required.clone(),
            _ => req.scopes.clone(),
        };
        Self {
            error_uri: cfg.error_uri(error.code().code()),
            realm: header_safe(&cfg.realm),
            error,
            correlation_id,
            required_scopes,
        }
    }

    /// The `WWW-Authenticate` value (RFC 6750 §3), or `None` for a 503.
    pub fn www_authenticate(&self) -> Option<String> {
        let code = self.error.code();
        let mut v = format!("Bearer realm=\"{}\"", self.realm);
        match self.error.kind() {
            ErrorKind::Missing { .. } => return Some(v),
            ErrorKind::KeysUnavailable { .. } => return None,
            _ => {}
        }
        v.push_str(&format!(
            ", error=\"{}\", error_description=\"{}\"",
            code.oauth_error(),
            header_safe(self.error.short_description())
        ));
        if matches!(self.error.kind(), ErrorKind::InsufficientScope { .. })
            && !self.required_scopes.is_empty()
        {
            v.push_str(&format!(
                ", scope=\"{}\"",
                header_safe(&self.required_scopes.join(" "))
            ));
        }
        v.push_str(&format!(
            ", error_code=\"{}\", error_uri=\"{}\"",
            code.code(),
            header_safe(&self.error_uri)
        ));
        Some(v)
    }

    /// The JSON body: what failed, why, what to do, and the correlation id.
    pub fn body(&self) -> serde_json::Value {
        let code = self.error.code();
        let mut b = serde_json::json!({
            "error_code": code.code(),
            "error_description": self.error.to_string(),
            "error_uri": self.error_uri,
            "title": code.title(),
            "fix": self.error.fix(),
            "hints": self.error.hints().iter().map(|h| serde_json::json!({"id": h.id, "message": h.message})).collect::<Vec<_>>(),
            "correlation_id": self.correlation_id,
        });
        if !matches!(self.error.kind(), ErrorKind::Missing { .. }) {
            b["error"] = code.oauth_error().into();
        }
        if let Some(h) = self.error.hint() {
            b["hint"] = h.message.clone().into();
        }
        if matches!(self.error.kind(), ErrorKind::InsufficientScope { .. }) {
            b["scope"] = self.required_scopes.join(" ").into();
        }
        b
    }
}

impl IntoResponse for GuardRejection {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.error.status()).unwrap_or(StatusCode::UNAUTHORIZED);
        let hints: Vec<&str> = self.error.hints().iter().map(|h| h.id).collect();
        if status.is_server_error() {
            tracing::warn!(correlation_id = %self.correlation_id, code = %self.error.code(), ?hints, "access token not checked: {}", self.error);
        } else {
            tracing::info!(correlation_id = %self.correlation_id, code = %self.error.code(), ?hints, "access token refused: {}", self.error);
        }
        let mut resp = (status, axum::Json(self.body())).into_response();
        let h = resp.headers_mut();
        if let Some(v) = self
            .www_authenticate()
            .and_then(|v| HeaderValue::from_str(&v).ok())
        {
            h.insert(header::WWW_AUTHENTICATE, v);
        }
        if status == StatusCode::SERVICE_UNAVAILABLE {
            h.insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        }
        if let Ok(v) = HeaderValue::from_str(&self.correlation_id) {
            h.insert(CORRELATION_HEADER, v);
        }
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        resp
    }
}

/// A tower layer that lets a request through only with a valid access token, and
/// puts [`VerifiedClaims`] into its extensions.
#[derive(Clone, Debug)]
pub struct GuardLayer {
    guard: Guard,
    req: Arc<Requirements>,
}

impl GuardLayer {
    /// Protect with `guard` and its configured requirements.
    pub fn new(guard: Guard) -> Self {
        let req = Arc::new(guard.config().requirements.clone());
        Self { guard, req }
    }

    /// Additionally require this scope (e.g. for one group of routes).
    pub fn require_scope(mut self, scope: impl Into<String>) -> Self {
        Arc::make_mut(&mut self.req).scopes.push(scope.into());
        self
    }

    /// Additionally require this role.
    pub fn require_role(mut self, role: impl Into<String>) -> Self {
        Arc::make_mut(&mut self.req).roles.push(role.into());
        self
    }
}

impl<S> tower::Layer<S> for GuardLayer {
    type Service = GuardService<S>;
    fn layer(&self, inner: S) -> GuardService<S> {
        GuardService {
            inner,
            guard: self.guard.clone(),
            req: self.req.clone(),
        }
    }
}

/// The service made by [`GuardLayer`].
#[derive(Clone, Debug)]
pub struct GuardService<S> {
    inner: S,
    guard: Guard,
    req: Arc<Requirements>,
}

async fn check(
    guard: &Guard,
    headers: &HeaderMap,
    query: Option<&str>,
    req: &Requirements,
) -> Result<Arc<VerifiedToken>, GuardError> {
    let token = bearer_token(headers, query)?;
    guard.validate_for(token, req).await
}

impl<S, B> tower::Service<Request<B>> for GuardService<S>
where
    S: tower::Service<Request<B>, Response = Response> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        // The clone is not ready; swap so the ready one is used (tower's usual dance).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let guard = self.guard.clone();
        let req = self.req.clone();
        Box::pin(async move {
            match check(&guard, request.headers(), request.uri().query(), &req).await {
                Ok(v) => {
                    request.extensions_mut().insert(VerifiedClaims(v));
                    inner.call(request).await
                }
                Err(e) => {
                    let id = correlation_id(request.headers());
                    Ok(GuardRejection::new(&guard, e, id, &req).into_response())
                }
            }
        })
    }
}

impl<St: Send + Sync> FromRequestParts<St> for VerifiedClaims {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &St,
    ) -> Result<Self, Response> {
        if let Some(v) = parts.extensions.get::<VerifiedClaims>() {
            return Ok(v.clone());
        }
        let Some(guard) = parts.extensions.get::<Guard>().cloned() else {
            tracing::error!(
                "VerifiedClaims used on a route without GuardLayer or an Extension(Guard)"
            );
            return Err((
                StatusCode::INTERNAL_SERVER_ERROR,
                "access-token guard not configured for this route",
            )
                .into_response());
        };
        let req = guard.config().requirements.clone();
        match check(&guard, &parts.headers, parts.uri.query(), &req).await {
            Ok(v) => {
                let c = VerifiedClaims(v);
                parts.extensions.insert(c.clone());
                Ok(c)
            }
            Err(e) => Err(
                GuardRejection::new(&guard, e, correlation_id(&parts.headers), &req)
                    .into_response(),
            ),
        }
    }
}

impl<St: Send + Sync> FromRequestParts<St> for BearerToken {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &St,
    ) -> Result<Self, Response> {
        match bearer_token(&parts.headers, parts.uri.query()) {
            Ok(t) => Ok(BearerToken(t.to_string())),
            Err(e) => {
                let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::UNAUTHORIZED);
                let mut r = (
                    status,
                    axum::Json(serde_json::json!({
                        "error_code": e.code().code(),
                        "error_description": e.to_string(),
                        "fix": e.fix(),
                    })),
                )
                    .into_response();
                r.headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
                Err(r)
            }
        }
    }
}
