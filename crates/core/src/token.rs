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
