//! Admin API authentication: a Portvakt access token issued by the `system` tenant
//! for the resource `urn:portvakt:admin` with the scope `admin` (RFC 6750 bearer).

use crate::bootstrap::{ADMIN_RESOURCE, ADMIN_SCOPE};
use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use portvakt_core::names::SYSTEM_TENANT;
use portvakt_core::token::{AccessTokenClaims, ACCESS_TOKEN_TYP};
use portvakt_core::ErrorCode;

/// Proof that the request carries a valid admin token; handlers take it as an argument.
#[derive(Debug, Clone)]
pub struct Admin {
    /// The client that holds the token.
    pub client_id: String,
}

fn challenge(error: Option<&str>, description: &str) -> String {
    match error {
        None => "Bearer realm=\"portvakt-admin\"".to_string(),
        Some(e) => format!(
            "Bearer realm=\"portvakt-admin\", error=\"{e}\", error_description=\"{}\"",
            description.replace(['"', '\\'], "'")
        ),
    }
}

fn invalid(detail: String) -> ApiError {
    let c = challenge(Some("invalid_token"), &detail);
    ApiError::new(ErrorCode::AdminTokenInvalid, detail).with_challenge(c)
}

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, ApiError> {
        let Some(h) = parts.headers.get(header::AUTHORIZATION) else {
            return Err(ApiError::new(
                ErrorCode::AdminTokenMissing,
                "no Authorization header was sent",
            )
            .with_challenge(challenge(None, "")));
        };
        let h = h
            .to_str()
            .map_err(|_| invalid("the Authorization header is not ASCII".into()))?;
        let token = match h.split_once(' ') {
            Some((scheme, t)) if scheme.eq_ignore_ascii_case("bearer") => t.trim(),
            _ => {
                return Err(ApiError::new(
                    ErrorCode::AdminTokenMissing,
                    "the Authorization header must use the Bearer scheme",
                )
                .with_challenge(challenge(None, "")))
            }
        };
        let now = st.clock.now();
        let view =
            st.directory.get(SYSTEM_TENANT, now).await?.ok_or_else(|| {
                ApiError::new(ErrorCode::Internal, "the system tenant is missing")
            })?;
        let jws = portvakt_jose::verify_compact(token, &view.verifiers)
            .map_err(|e| invalid(e.to_string()))?;
        if jws.header().typ.as_deref() != Some(ACCESS_TOKEN_TYP) {
            return Err(invalid(format!(
                "typ is {:?}, expected \"{ACCESS_TOKEN_TYP}\"",
                jws.header().typ
            )));
        }
        let claims: AccessTokenClaims = serde_json::from_slice(jws.payload())
            .map_err(|e| invalid(format!("claims are invalid: {e}")))?;
        if claims.iss != view.issuer {
            return Err(invalid(format!(
                "issuer is '{}', expected '{}'",
                claims.iss, view.issuer
            )));
        }
        if claims.aud != ADMIN_RESOURCE {
            return Err(invalid(format!(
                "audience is '{}', expected '{ADMIN_RESOURCE}'",
                claims.aud
            )));
        }
        if claims.exp <= now {
            return Err(invalid(format!(
                "the token expired {} s ago",
                now - claims.exp
            )));
        }
        if claims.nbf > now {
            return Err(invalid(format!(
                "the token is not valid for another {} s",
                claims.nbf - now
            )));
        }
        if !claims.scope.split(' ').any(|s| s == ADMIN_SCOPE) {
            let c = format!("Bearer realm=\"portvakt-admin\", error=\"insufficient_scope\", scope=\"{ADMIN_SCOPE}\"");
            return Err(ApiError::new(
                ErrorCode::AdminScopeMissing,
                format!("the token's scope '{}' lacks '{ADMIN_SCOPE}'", claims.scope),
            )
            .with_challenge(c));
        }
        Ok(Admin {
            client_id: claims.client_id,
        })
    }
}
