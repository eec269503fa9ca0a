//! Admin API authentication: a Portvakt access token issued by the `system` tenant
//! for the resource `urn:portvakt:admin` with the scope `admin` (RFC 6750 bearer).

use crate::bootstrap::{ADMIN_RESOURCE, ADMIN_SCOPE};
use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use portvakt_core::names::SYSTEM_TENANT;
use portvakt_core::ErrorCode;

/// Proof that the request carries a valid admin token; handlers take it as an argument.
#[derive(Debug, Clone)]
pub struct Admin {
    /// The client that holds the token.
    pub client_id: String,
    /// That client's display name in the system tenant (its client id if it has none
    /// there any more): the initiator of the audit log's records.
    pub display_name: String,
    /// The user acting through the client (the portal's signed-in admin: id and user
    /// principal name); `None` for the admin API's clients.
    pub user: Option<(String, String)>,
    /// The request's correlation id ([`crate::correlation::CorrelationId`]; empty
    /// outside the correlation middleware), which the audit log's records carry.
    pub correlation_id: String,
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
        let one = crate::client_auth::one_authorization(&parts.headers).map_err(|n| {
            invalid(format!(
                "the request has {n} Authorization headers; send exactly one"
            ))
        })?;
        let Some(h) = one else {
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
        // The same verification as introspection: signature, typ, issuer, time, and
        // the denylist, so a revoked admin token dies at once (and the cache of
        // verified tokens answers only within the current revocation epoch).
        let checked = crate::token_endpoints::verify_access_token(st, &view, token, now)
            .await
            .map_err(invalid)?;
        let claims = &checked.claims;
        if claims.aud != ADMIN_RESOURCE {
            return Err(invalid(format!(
                "audience is '{}', expected '{ADMIN_RESOURCE}'",
                claims.aud
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
        let display_name = view
            .application(&claims.client_id)
            .map(|a| a.display_name.clone())
            .unwrap_or_else(|| claims.client_id.clone());
        let correlation_id = parts
            .extensions
            .get::<crate::correlation::CorrelationId>()
            .map(|c| c.0.clone())
            .unwrap_or_default();
        Ok(Admin {
            client_id: claims.client_id.clone(),
            display_name,
            user: None,
            correlation_id,
        })
    }
}
