//! Cookies: the browser session and the binding of a sign-in to its browser.
//!
//! Both are HttpOnly, SameSite=Lax, scoped to the tenant's path, and Secure when the
//! public URL is https. Their values are 256-bit random strings; the store keeps only
//! their SHA-256.

use axum::http::{header, HeaderMap, HeaderValue};

/// The browser session cookie.
pub const SESSION: &str = "pv_session";
/// The cookie that binds a pending sign-in to the browser that started it.
pub const INTERACTION: &str = "pv_interaction";

/// The value of cookie `name`, if sent.
pub fn get(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| {
            let (k, v) = c.trim().split_once('=')?;
            (k == name).then(|| v.to_string())
        })
}

/// A `Set-Cookie` value. `max_age` `None` makes a browser-session cookie.
pub fn set(
    name: &str,
    value: &str,
    tenant: &str,
    secure: bool,
    max_age: Option<i64>,
) -> HeaderValue {
    let mut c = format!("{name}={value}; Path=/{tenant}; HttpOnly; SameSite=Lax");
    if secure {
        c.push_str("; Secure");
    }
    if let Some(a) = max_age {
        c.push_str(&format!("; Max-Age={a}"));
    }
    HeaderValue::from_str(&c).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// A `Set-Cookie` value that deletes the cookie.
pub fn clear(name: &str, tenant: &str, secure: bool) -> HeaderValue {
    set(name, "", tenant, secure, Some(0))
}
