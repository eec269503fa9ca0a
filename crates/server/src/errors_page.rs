//! `/errors/{code}`: the troubleshooting entry of each error code, linked from every
//! error response as `error_uri`.

use crate::error::ApiError;
use axum::extract::Path;
use axum::http::{header, HeaderMap};
use axum::response::{Html, IntoResponse, Response};
use portvakt_core::ErrorCode;

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// GET `/errors/{code}`: HTML for browsers, JSON for everything else.
pub async fn error_page(
    Path(code): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let c = ErrorCode::from_code(&code.to_ascii_uppercase()).ok_or_else(|| {
        ApiError::new(
            ErrorCode::NotFound,
            format!(
                "'{}' is not a Portvakt error code (they look like PV1103)",
                code.escape_default()
            ),
        )
    })?;
    let wants_html = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"));
    if wants_html {
        Ok(Html(format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{code} — {title}</title></head><body><main><h1>{code}: {title}</h1><p>OAuth error: <code>{oauth}</code>, HTTP {status}.</p><h2>What to do</h2><p>{fix}</p></main></body></html>",
            code = c.code(),
            title = escape(c.title()),
            oauth = c.oauth_error(),
            status = c.status(),
            fix = escape(c.fix()),
        ))
        .into_response())
    } else {
        Ok(axum::Json(serde_json::json!({
            "code": c.code(), "title": c.title(), "error": c.oauth_error(), "status": c.status(), "fix": c.fix(),
        }))
        .into_response())
    }
}
