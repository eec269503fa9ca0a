//! The user flows as data: an authorization request, a browser session, an
//! authorization code, a refresh token. Pure: the server stores them and the clock
//! is a parameter.

use crate::clock::UnixTime;
use serde::{Deserialize, Serialize};

/// How the authorization response reaches the client's redirect URI.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResponseMode {
    /// In the query (the default for `response_type=code`, OAuth 2.0 Multiple Response
    /// Type Encoding Practices §2.1).
    #[default]
    Query,
    /// In the fragment (§2.1: permitted for any response type; single-page apps use it
    /// so the code never reaches a server log).
    Fragment,
    /// POSTed as a form by the browser (OAuth 2.0 Form Post Response Mode §2): the
    /// parameters are in neither the URL nor the history.
    FormPost,
}

impl ResponseMode {
    /// The `response_mode` value (`query`, `fragment`, `form_post`).
    pub fn as_str(self) -> &'static str {
        match self {
            ResponseMode::Query => "query",
            ResponseMode::Fragment => "fragment",
            ResponseMode::FormPost => "form_post",
        }
    }

    /// Every mode, for discovery's `response_modes_supported`.
    pub const ALL: [ResponseMode; 3] = [
        ResponseMode::Query,
        ResponseMode::Fragment,
        ResponseMode::FormPost,
    ];

    /// The mode named `s`, if supported.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == s)
    }
}

/// A validated authorization request (RFC 6749 §4.1.1, OIDC Core §3.1.2.1, RFC 7636).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthRequest {
    /// The client.
    pub client_id: String,
    /// The redirect URI, exactly as registered.
    pub redirect_uri: String,
    /// Whether the request carried `redirect_uri` (then the token request must too).
    pub redirect_uri_given: bool,
    /// Requested scopes, as sent.
    pub scope: String,
    /// RFC 8707 resource, if any.
    pub resource: Option<String>,
    /// `state`, returned as is.
    pub state: Option<String>,
    /// `nonce`, put into the ID token.
    pub nonce: Option<String>,
    /// PKCE S256 challenge.
    pub code_challenge: Option<String>,
    /// `prompt` values.
    pub prompt: Vec<String>,
    /// `max_age`, seconds.
    pub max_age: Option<i64>,
    /// `ui_locales`.
    pub ui_locales: Option<String>,
    /// `login_hint`.
    pub login_hint: Option<String>,
    /// Set when this sign-in approves a device (RFC 8628): its user code.
    #[serde(default)]
    pub device_user_code: Option<String>,
    /// The Conditional Access client app type of this sign-in (`browser`, …), from
    /// the client's kind and the User-Agent at `/authorize`; kept with the grant so
    /// that refreshes are evaluated as the same kind of client.
    #[serde(default)]
    pub client_app_type: Option<String>,
    /// `response_mode` (absent in requests stored before it existed: query).
    #[serde(default)]
    pub response_mode: ResponseMode,
}

/// A browser session (one sign-in).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// Public session id (`sid` claim).
    pub sid: String,
    /// Tenant id.
    pub tenant_id: String,
    /// User id.
    pub user_id: String,
    /// When the user authenticated.
    pub auth_time: UnixTime,
    /// Authentication methods (`pwd`, later `otp`, `mfa`).
    pub amr: Vec<String>,
    /// Expiry.
    pub expires_at: UnixTime,
}

/// What an authorization code stands for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeGrant {
    /// Tenant id.
    pub tenant_id: String,
    /// The request it answers.
    pub request: AuthRequest,
    /// The user.
    pub user_id: String,
    /// The session.
    pub sid: String,
    /// Authentication time.
    pub auth_time: UnixTime,
    /// Methods.
    pub amr: Vec<String>,
    /// Expiry (short).
    pub expires_at: UnixTime,
}

/// What a refresh token stands for. Tokens of one lineage share a `family_id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshGrant {
    /// Family (lineage) id.
    pub family_id: String,
    /// Tenant id.
    pub tenant_id: String,
    /// Client.
    pub client_id: String,
    /// User.
    pub user_id: String,
    /// Session id.
    pub sid: String,
    /// Scope granted (space-separated, as requested).
    pub scope: String,
    /// Resource, if any.
    pub resource: Option<String>,
    /// Authentication time.
    pub auth_time: UnixTime,
    /// Methods.
    pub amr: Vec<String>,
    /// When this token was issued.
    pub issued_at: UnixTime,
    /// Inactivity expiry of this token.
    pub expires_at: UnixTime,
    /// Absolute expiry of the family.
    pub family_expires_at: UnixTime,
    /// The Conditional Access client app type of the sign-in (see
    /// [`AuthRequest::client_app_type`]).
    #[serde(default)]
    pub client_app_type: Option<String>,
}

impl RefreshGrant {
    /// The grant of the token that replaces this one when it is rotated at `now`
    /// (RFC 6749 §6, RFC 9700 §4.14.2): the same family, sign-in and scope, issued
    /// now, expiring after `inactivity` s unused or with its family, whichever is
    /// first. `crate::grant::decide_refresh` says when a token may be rotated.
    pub fn successor(&self, now: UnixTime, inactivity: i64) -> RefreshGrant {
        RefreshGrant {
            issued_at: now,
            expires_at: (now + inactivity).min(self.family_expires_at),
            ..self.clone()
        }
    }
}

/// A device authorization (RFC 8628) as stored, keyed by the hash of its device code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceGrant {
    /// Tenant id.
    pub tenant_id: String,
    /// The client on the device.
    pub client_id: String,
    /// Requested scope.
    pub scope: String,
    /// RFC 8707 resource.
    pub resource: Option<String>,
    /// The code the user types (`BCDF-GHJK`).
    pub user_code: String,
    /// Expiry.
    pub expires_at: UnixTime,
    /// Minimum polling interval, seconds (grows by 5 on every `slow_down`).
    pub interval: i64,
    /// Last poll.
    pub last_poll: Option<UnixTime>,
    /// `pending`, `approved`, `denied` or `used`.
    pub status: String,
    /// The user who approved it.
    pub user_id: Option<String>,
    /// Their session.
    pub sid: Option<String>,
    /// Their authentication time.
    pub auth_time: Option<UnixTime>,
    /// Their methods.
    pub amr: Vec<String>,
}

/// Letters for user codes: no vowels (no words), no look-alikes (RFC 8628 §6.1).
pub const USER_CODE_ALPHABET: &[u8] = b"BCDFGHJKLMNPQRSTVWXZ";

/// Normalise what a user typed: upper case, separators dropped, re-hyphenated.
pub fn normalize_user_code(typed: &str) -> Option<String> {
    let c: String = typed
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    (c.len() == 8 && c.bytes().all(|b| USER_CODE_ALPHABET.contains(&b)))
        .then(|| format!("{}-{}", &c[..4], &c[4..]))
}

/// RFC 7636 §4.1: 43-128 characters of `[A-Z a-z 0-9 - . _ ~]`.
pub fn valid_code_verifier(v: &str) -> bool {
    (43..=128).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// RFC 7636 §4.6: `BASE64URL(SHA256(verifier)) == challenge` (S256 only).
pub fn pkce_matches(verifier: &str, challenge: &str) -> bool {
    let computed = portvakt_jose::b64url_encode(&portvakt_jose::sha256(verifier.as_bytes()));
    portvakt_jose::constant_time_eq(computed.as_bytes(), challenge.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_codes_are_normalised() {
        assert_eq!(
            normalize_user_code("bcdf-ghjk").as_deref(),
            Some("BCDF-GHJK")
        );
        assert_eq!(
            normalize_user_code(" BCDF GHJK ").as_deref(),
            Some("BCDF-GHJK")
        );
        assert_eq!(normalize_user_code("BCDF-GHJA"), None, "no vowels");
        assert_eq!(normalize_user_code("BCDF"), None);
    }

    #[test]
    fn pkce_rfc7636_appendix_b() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        assert!(valid_code_verifier(verifier));
        assert!(pkce_matches(
            verifier,
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        ));
        assert!(!pkce_matches(
            verifier,
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cN"
        ));
        assert!(!valid_code_verifier("short"));
        assert!(!valid_code_verifier(&"a".repeat(129)));
        assert!(!valid_code_verifier(&format!("{}+", "a".repeat(50))));
    }
}
