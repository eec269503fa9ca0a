//! Client authentication at the token endpoint (RFC 6749 §2.3.1):
//! `client_secret_basic` and `client_secret_post`.
//!
//! Secrets are high-entropy random strings, so a SHA-256 digest is a safe stored
//! form; it is compared in constant time. No slow hash sits on this path.
//!
//! Failed client authentications are throttled per client and address, per address
//! and per client from unfamiliar addresses ([`crate::throttle`], the clients' realm):
//! while held back, even the right secret is refused with PV1109 (429, `Retry-After`),
//! so a lockout cannot be probed.

use crate::directory::TenantView;
use crate::error::ApiError;
use crate::form::Form;
use crate::throttle::Throttle;
use axum::http::{header, HeaderMap, HeaderValue};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use percent_encoding::percent_decode_str;
use portvakt_core::model::Application;
use portvakt_core::ErrorCode;

/// The challenge sent with a 401 when the client tried HTTP Basic.
const BASIC_CHALLENGE: &str = "Basic realm=\"portvakt\", charset=\"UTF-8\"";

/// How the client authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    /// HTTP Basic.
    ClientSecretBasic,
    /// `client_secret` in the body.
    ClientSecretPost,
    /// A public client that sent only `client_id`.
    None,
}

fn form_decode(s: &str) -> Option<String> {
    percent_decode_str(&s.replace('+', " "))
        .decode_utf8()
        .ok()
        .map(|c| c.into_owned())
}

/// The request's one `Authorization` header, if it sent one. More than one is an
/// error (`Err(count)`), never "the first wins": a second header smuggled past a proxy
/// must not choose the credentials (RFC 9110 §5.3 allows no list form for it).
pub fn one_authorization(headers: &HeaderMap) -> Result<Option<&HeaderValue>, usize> {
    let mut all = headers.get_all(header::AUTHORIZATION).iter();
    let first = all.next();
    match all.count() {
        0 => Ok(first),
        more => Err(more + 1),
    }
}

/// Credentials from an `Authorization: Basic` header, if one was sent.
fn basic(headers: &HeaderMap) -> Result<Option<(String, String)>, ApiError> {
    let malformed = |why: &str| {
        ApiError::new(ErrorCode::ClientAuthMalformed, why.to_string())
            .with_challenge(BASIC_CHALLENGE.into())
    };
    let v = match one_authorization(headers) {
        Ok(Some(v)) => v,
        Ok(None) => return Ok(None),
        Err(n) => {
            return Err(malformed(&format!(
                "the request has {n} Authorization headers; send exactly one"
            )))
        }
    };
    let v = v
        .to_str()
        .map_err(|_| malformed("the Authorization header is not ASCII"))?;
    let (scheme, rest) = v.split_once(' ').unwrap_or((v, ""));
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(malformed(
            "the Authorization header must use the Basic scheme at the token endpoint",
        ));
    }
    let raw = STANDARD
        .decode(rest.trim())
        .map_err(|_| malformed("the Basic credentials are not valid base64"))?;
    let text =
        String::from_utf8(raw).map_err(|_| malformed("the Basic credentials are not UTF-8"))?;
    let (id, secret) = text.split_once(':').ok_or_else(|| {
        malformed("the Basic credentials have no ':' between client id and secret")
    })?;
    // RFC 6749 §2.3.1: both parts are form-urlencoded before base64.
    let id = form_decode(id).ok_or_else(|| {
        malformed("the client id in the Basic credentials is not valid percent-encoding")
    })?;
    let secret = form_decode(secret).ok_or_else(|| {
        malformed("the client secret in the Basic credentials is not valid percent-encoding")
    })?;
    Ok(Some((id, secret)))
}

/// The client id a request claims (Basic header or body), for the sign-in record of
/// a request that failed before the client was authenticated.
pub fn claimed_client_id(headers: &HeaderMap, form: &Form) -> Option<String> {
    basic(headers)
        .ok()
        .flatten()
        .map(|(id, _)| id)
        .or_else(|| form.get("client_id").map(str::to_string))
}

/// Where a client authentication comes from, for the brute-force throttle.
#[derive(Debug, Clone)]
pub struct ClientGate<'a> {
    /// The counts.
    pub throttle: &'a Throttle,
    /// The client's address as rate limits key it (IPv6 by its /64), if known.
    pub address: Option<String>,
    /// Now, in seconds.
    pub now: i64,
}

impl<'a> ClientGate<'a> {
    /// The gate of a request from `ip` (after `--trust-forwarded-for`) at `now`.
    pub fn new(st: &'a crate::state::AppState, ip: Option<std::net::IpAddr>, now: i64) -> Self {
        Self {
            throttle: &st.throttle,
            address: ip.map(crate::client_addr::rate_key),
            now,
        }
    }

    /// The gate of the request a sign-in event describes (its `ipAddress`, and the
    /// time the request arrived: the clock is read once per request).
    pub fn for_event(
        st: &'a crate::state::AppState,
        ev: &portvakt_core::signin::SignInEvent,
    ) -> Self {
        Self::new(
            st,
            ev.ip_address.as_deref().and_then(|a| a.parse().ok()),
            ev.created_at_ms.div_euclid(1000),
        )
    }
}

/// Authenticate the client of a token request.
pub fn authenticate<'v>(
    view: &'v TenantView,
    headers: &HeaderMap,
    form: &Form,
    gate: &ClientGate<'_>,
) -> Result<(&'v Application, AuthMethod), ApiError> {
    let header_creds = basic(headers)?;
    let (body_id, body_secret) = (form.get("client_id"), form.get("client_secret"));
    let (client_id, secret, method) = match (header_creds, body_id, body_secret) {
        (Some(_), _, Some(_)) => {
            return Err(ApiError::new(ErrorCode::ClientAuthMultipleMethods, "credentials were sent both in the Authorization header and as client_secret in the body"));
        }
        (Some((id, _)), Some(b), None) if b != id => {
            return Err(ApiError::new(
                ErrorCode::ClientIdMismatch,
                format!(
                    "client_id '{b}' in the body differs from '{id}' in the Authorization header"
                ),
            ));
        }
        (Some((id, s)), _, None) => (id, Some(s), AuthMethod::ClientSecretBasic),
        (None, Some(id), Some(s)) => (
            id.to_string(),
            Some(s.to_string()),
            AuthMethod::ClientSecretPost,
        ),
        (None, Some(id), None) => (id.to_string(), None, AuthMethod::None),
        (None, None, Some(_)) => {
            return Err(ApiError::new(
                ErrorCode::MissingParameter,
                "client_secret was sent without client_id",
            ))
        }
        (None, None, None) => {
            return Err(ApiError::new(
                ErrorCode::ClientAuthMissing,
                "the request carries no client credentials",
            )
            .with_challenge(BASIC_CHALLENGE.into()));
        }
    };
    let challenge = |e: ApiError| {
        if method == AuthMethod::ClientSecretBasic {
            e.with_challenge(BASIC_CHALLENGE.into())
        } else {
            e
        }
    };
    // Only attempts that present a secret are counted and held back: a public client
    // (client_id alone) proves nothing, so there is nothing to guess. Unknown client
    // ids share one account per tenant, so what an attacker sends as a client id never
    // becomes a key of its own (the counts' memory stays bounded by key count and size).
    let found = view.application(&client_id);
    let account = match found {
        Some(a) => format!("{}/{}", view.tenant.name, a.client_id),
        None => format!("{}/(unknown client)", view.tenant.name),
    };
    if secret.is_some() {
        if let Some(wait) = gate
            .throttle
            .client_wait(&account, gate.address.as_deref(), gate.now)
        {
            return Err(challenge(
                ApiError::new(
                    ErrorCode::ClientAuthThrottled,
                    format!(
                        "client '{}' failed to authenticate too often from {}; try again in {wait} s",
                        client_id.escape_default(),
                        gate.address.as_deref().unwrap_or("this address")
                    ),
                )
                .with_retry_after(wait),
            ));
        }
    }
    let failed = |e: ApiError| {
        gate.throttle
            .client_fail(&account, gate.address.as_deref(), gate.now);
        e
    };
    let app = found.ok_or_else(|| {
        let e = challenge(ApiError::new(
            ErrorCode::ClientUnknown,
            format!(
                "no application with client id '{}' in tenant '{}'",
                client_id.escape_default(),
                view.tenant.name
            ),
        ));
        if secret.is_some() {
            failed(e)
        } else {
            e
        }
    })?;
    match (app.secret_sha256, secret) {
        (Some(stored), Some(s)) => {
            if !portvakt_jose::constant_time_eq(&portvakt_jose::sha256(s.as_bytes()), &stored) {
                return Err(failed(challenge(ApiError::new(
                    ErrorCode::ClientSecretWrong,
                    format!("the secret presented for client '{client_id}' does not match"),
                ))));
            }
            gate.throttle
                .client_succeed(&account, gate.address.as_deref(), gate.now);
        }
        (Some(_), None) => {
            return Err(ApiError::new(ErrorCode::ClientAuthMissing, format!("client '{client_id}' is confidential: authenticate with its secret (client_secret_basic or client_secret_post)")));
        }
        (None, Some(_)) => {
            return Err(failed(challenge(ApiError::new(
                ErrorCode::ClientSecretWrong,
                format!(
                    "client '{client_id}' is a public client and has no secret; do not send one"
                ),
            ))));
        }
        (None, None) => {}
    }
    Ok((app, method))
}
