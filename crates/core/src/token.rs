//! Access-token claims (RFC 9068) and lifetimes.

use crate::clock::UnixTime;
use crate::model::DEFAULT_ACCESS_TOKEN_LIFETIME;
use serde::{Deserialize, Serialize};

/// The `typ` header of access tokens (RFC 9068 §2.1).
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";

/// The claims of a Portvakt access token (RFC 9068 §2.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessTokenClaims {
    /// Issuer: `{public_url}/{tenant}`.
    pub iss: String,
    /// Subject: the user id, or the client id for client credentials (RFC 9068 §2.2).
    pub sub: String,
    /// Audience: the resource identifier.
    pub aud: String,
    /// Expiry.
    pub exp: UnixTime,
    /// Issued at.
    pub iat: UnixTime,
    /// Not before (= `iat`).
    pub nbf: UnixTime,
    /// Unique token id.
    pub jti: String,
    /// The client the token was issued to.
    pub client_id: String,
    /// Space-separated scopes granted on `aud` (RFC 8693 §4.2 format).
    pub scope: String,
    /// Tenant id.
    pub tid: String,
    /// Session id (user tokens).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// When the user authenticated (user tokens).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<UnixTime>,
    /// How the user authenticated (user tokens), RFC 8176 values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amr: Option<Vec<String>>,
    /// Group names, when the resource asks for them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<String>>,
}

/// The claims of an ID token (OpenID Connect Core §2, §3.1.3.6, §5.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdTokenClaims {
    /// Issuer.
    pub iss: String,
    /// The user id.
    pub sub: String,
    /// The client id.
    pub aud: String,
    /// Expiry.
    pub exp: UnixTime,
    /// Issued at.
    pub iat: UnixTime,
    /// When the user authenticated.
    pub auth_time: UnixTime,
    /// The request's nonce, echoed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    /// Authentication context class.
    pub acr: String,
    /// Authentication methods (RFC 8176).
    pub amr: Vec<String>,
    /// Session id (OpenID Connect Front-Channel Logout §3).
    pub sid: String,
    /// Left half of the hash of the access token (OIDC Core §3.1.3.6).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_hash: Option<String>,
    /// Display name (`profile`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Sign-in name (`profile`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_username: Option<String>,
    /// E-mail (`email`): the user principal name when it has the form of one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

/// `at_hash` (OIDC Core §3.1.3.6): base64url of the left half of the hash of the
/// access token, with the hash of the ID token's algorithm (SHA-256 for ES256 and
/// RS256; SHA-512 for EdDSA with Ed25519).
pub fn at_hash(alg: portvakt_jose::Algorithm, access_token: &str) -> String {
    match alg {
        portvakt_jose::Algorithm::EdDSA => {
            portvakt_jose::b64url_encode(&portvakt_jose::sha512(access_token.as_bytes())[..32])
        }
        _ => portvakt_jose::b64url_encode(&portvakt_jose::sha256(access_token.as_bytes())[..16]),
    }
}

/// The lifetime of an access token, in seconds.
///
/// An override on the resource or on the application wins over the tenant's; when
/// both the resource and the application set one, the shorter applies, so neither
/// the API owner nor the client owner can be overruled into longer-lived tokens.
pub fn access_token_lifetime(tenant: Option<u32>, resource: Option<u32>, app: Option<u32>) -> u32 {
    match (resource, app) {
        (Some(r), Some(a)) => r.min(a),
        (Some(x), None) | (None, Some(x)) => x,
        (None, None) => tenant.unwrap_or(DEFAULT_ACCESS_TOKEN_LIFETIME),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetime_precedence() {
        assert_eq!(access_token_lifetime(None, None, None), 3600);
        assert_eq!(access_token_lifetime(Some(600), None, None), 600);
        assert_eq!(access_token_lifetime(Some(600), Some(120), None), 120);
        assert_eq!(access_token_lifetime(Some(600), None, Some(5000)), 5000);
        assert_eq!(access_token_lifetime(Some(600), Some(120), Some(1)), 1);
        assert_eq!(access_token_lifetime(None, Some(300), Some(900)), 300);
    }
}
