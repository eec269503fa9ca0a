//! Reading `application/x-www-form-urlencoded` bodies strictly (RFC 6749 §3.2, §3.1).

use crate::error::ApiError;
use axum::body::Body;
use axum::http::{header, HeaderMap};
use percent_encoding::percent_decode;
use portvakt_core::ErrorCode;

/// The largest body a token-style endpoint accepts.
pub const FORM_LIMIT: usize = 16 * 1024;

/// Parameters that RFC 8707 lets repeat.
const REPEATABLE: &[&str] = &["resource"];

/// Parsed parameters in request order. Empty values count as absent (RFC 6749 §3.1).
#[derive(Debug, Default)]
pub struct Form {
    pairs: Vec<(String, String)>,
}

impl Form {
    /// The value of a single-valued parameter.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
    /// Every value of a repeatable parameter.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.pairs
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }
    /// A required parameter.
    pub fn require(&self, name: &str) -> Result<&str, ApiError> {
        self.get(name).ok_or_else(|| {
            ApiError::new(
                ErrorCode::MissingParameter,
                format!("the '{name}' parameter is required"),
            )
        })
    }
}

fn decode(part: &str, what: &str) -> Result<String, ApiError> {
    let plus = part.replace('+', " ");
    percent_decode(plus.as_bytes())
        .decode_utf8()
        .map(|c| c.into_owned())
        .map_err(|_| {
            ApiError::new(
                ErrorCode::BodyMalformed,
                format!("{what} is not valid UTF-8 after percent-decoding"),
            )
        })
}

/// Parse a form body; every parameter but `resource` may appear once.
pub fn parse(body: &[u8]) -> Result<Form, ApiError> {
    let text = std::str::from_utf8(body)
        .map_err(|_| ApiError::new(ErrorCode::BodyMalformed, "the body is not UTF-8 text"))?;
    let mut form = Form::default();
    for pair in text.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let k = decode(k, "a parameter name")?;
        let v = decode(v, &format!("the value of '{k}'"))?;
        if v.is_empty() {
            continue;
        }
        if !REPEATABLE.contains(&k.as_str()) && form.get(&k).is_some() {
            return Err(ApiError::new(
                ErrorCode::DuplicateParameter,
                format!("the '{k}' parameter appears more than once"),
            ));
        }
        form.pairs.push((k, v));
    }
    Ok(form)
}

/// Check the content type is `application/x-www-form-urlencoded` (parameters allowed).
pub fn check_content_type(headers: &HeaderMap) -> Result<(), ApiError> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mime = ct.split(';').next().unwrap_or("").trim();
    if mime.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        Ok(())
    } else {
        Err(ApiError::new(
            ErrorCode::UnsupportedContentType,
            if ct.is_empty() {
                "the request has no Content-Type; send application/x-www-form-urlencoded"
                    .to_string()
            } else {
                format!(
                    "Content-Type '{}' is not application/x-www-form-urlencoded",
                    ct.escape_default()
                )
            },
        ))
    }
}

/// How much of an oversized body is read and discarded before answering 413, so that
/// a client still sending sees the error response instead of a reset connection.
const DRAIN_LIMIT: usize = 1024 * 1024;

/// Read a body up to `limit` bytes.
pub async fn read_body(body: Body, limit: usize) -> Result<axum::body::Bytes, ApiError> {
    use http_body_util::BodyExt;
    let mut body = body;
    let mut buf: Vec<u8> = Vec::new();
    let mut seen = 0usize;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| {
            ApiError::new(
                ErrorCode::BodyMalformed,
                format!("the body could not be read: {e}"),
            )
        })?;
        if let Ok(data) = frame.into_data() {
            seen += data.len();
            if seen <= limit {
                buf.extend_from_slice(&data);
            } else if seen > DRAIN_LIMIT {
                break;
            }
        }
    }
    if seen > limit {
        return Err(ApiError::new(
            ErrorCode::BodyTooLarge,
            format!("the body exceeds the limit of {limit} bytes"),
        ));
    }
    Ok(axum::body::Bytes::from(buf))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_decodes() {
        let f = parse(b"grant_type=client_credentials&scope=api%3A%2F%2Fa%2F.default+x&empty=&resource=a&resource=b").expect("ok");
        assert_eq!(f.get("scope"), Some("api://a/.default x"));
        assert_eq!(f.get("empty"), None);
        assert_eq!(f.all("resource"), vec!["a", "b"]);
    }

    #[test]
    fn duplicates_and_bad_encoding_are_refused() {
        assert_eq!(
            parse(b"a=1&a=2").expect_err("dup").code,
            ErrorCode::DuplicateParameter
        );
        assert_eq!(
            parse(b"a=%FF").expect_err("utf8").code,
            ErrorCode::BodyMalformed
        );
        assert_eq!(
            parse(&[0xff, 0xfe]).expect_err("utf8").code,
            ErrorCode::BodyMalformed
        );
    }
}
