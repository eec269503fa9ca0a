//! JSON bodies for the admin API, with errors that name the JSON path.

use crate::error::ApiError;
use crate::form::read_body;
use axum::extract::{FromRequest, Request};
use axum::http::header;
use portvakt_core::ErrorCode;
use serde::de::DeserializeOwned;

/// Limit for ordinary admin bodies.
pub const JSON_LIMIT: usize = 64 * 1024;

/// A JSON body of type `T`.
pub struct JsonBody<T>(pub T);

/// Read and parse a JSON body up to `limit` bytes; `code` is used for parse errors.
pub async fn read_json<T: DeserializeOwned>(
    req: Request,
    limit: usize,
    code: ErrorCode,
) -> Result<T, ApiError> {
    let ct = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mime = ct.split(';').next().unwrap_or("").trim();
    if !mime.eq_ignore_ascii_case("application/json") {
        return Err(ApiError::new(
            ErrorCode::UnsupportedContentType,
            format!(
                "Content-Type '{}' is not application/json",
                ct.escape_default()
            ),
        ));
    }
    let bytes = read_body(req.into_body(), limit).await?;
    // Every admin body is a JSON object. serde would also read a struct from an array
    // of its fields in order (`[null, 60]`), which the document does not allow.
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    if first.is_some_and(|b| *b != b'{') {
        return Err(ApiError::new(code, "$: the body must be a JSON object"));
    }
    let de = &mut serde_json::Deserializer::from_slice(&bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let path = if path == "." {
            "$".to_string()
        } else {
            format!("$.{path}")
        };
        ApiError::new(code, format!("{path}: {}", e.inner()))
    })
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, _: &S) -> Result<Self, ApiError> {
        read_json(req, JSON_LIMIT, ErrorCode::InvalidJson)
            .await
            .map(JsonBody)
    }
}
