//! Discovery (OpenID Connect Discovery 1.0 §3, RFC 8414 §2) and the JWKS endpoint.
//!
//! The documents list only what is implemented. Each is serialized once per tenant
//! view and served as bytes.

use crate::error::ApiError;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use portvakt_core::model::{Tenant, SUPPORTED_GRANT_TYPES};
use portvakt_core::ErrorCode;
use serde_json::{json, Value};

/// The longest time a reader may cache the JWKS; key rotation pre-publishes for at
/// least this long by default, so readers that honour `Cache-Control` always know a
/// key before it signs.
pub const JWKS_MAX_AGE: i64 = 60;

/// Endpoints relative to the issuer.
pub const TOKEN_PATH: &str = "/oauth2/token";
/// JWKS, relative to the issuer.
pub const JWKS_PATH: &str = "/oauth2/keys";

fn common(
    issuer: &str,
    tenant: &Tenant,
    id_token_alg: portvakt_jose::Algorithm,
) -> serde_json::Map<String, Value> {
    let alg = tenant.signing_algorithm.as_str();
    let auth_methods = ["client_secret_basic", "client_secret_post"];
    // Public clients identify themselves with client_id alone.
    let public_methods = ["client_secret_basic", "client_secret_post", "none"];
    let v = json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/oauth2/authorize"),
        "token_endpoint": format!("{issuer}{TOKEN_PATH}"),
        "jwks_uri": format!("{issuer}{JWKS_PATH}"),
        "userinfo_endpoint": format!("{issuer}/oauth2/userinfo"),
        "introspection_endpoint": format!("{issuer}/oauth2/introspect"),
        "revocation_endpoint": format!("{issuer}/oauth2/revoke"),
        "end_session_endpoint": format!("{issuer}/oauth2/logout"),
        "device_authorization_endpoint": format!("{issuer}/oauth2/devicecode"),
        "grant_types_supported": SUPPORTED_GRANT_TYPES,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query", "fragment", "form_post"],
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "prompt_values_supported": ["none", "login", "consent", "select_account"],
        "token_endpoint_auth_methods_supported": public_methods,
        "introspection_endpoint_auth_methods_supported": auth_methods,
        "revocation_endpoint_auth_methods_supported": public_methods,
        // RFC 9207: the authorization response carries `iss`.
        "authorization_response_iss_parameter_supported": true,
        "subject_types_supported": ["public"],
        // OIDC Discovery §3: RS256 MUST be listed; ID tokens are RS256-signed.
        "id_token_signing_alg_values_supported": [id_token_alg.as_str()],
        "access_token_signing_alg_values_supported": [alg],
        "claims_supported": ["iss", "sub", "aud", "exp", "iat", "nbf", "jti", "auth_time", "nonce", "acr", "amr", "sid", "at_hash", "name", "preferred_username", "email", "client_id", "scope", "tid", "groups"],
        "ui_locales_supported": ["en", "sv"],
    });
    match v {
        Value::Object(m) => m,
        _ => serde_json::Map::new(),
    }
}

/// `{issuer}/.well-known/openid-configuration`.
pub fn openid_configuration(
    issuer: &str,
    tenant: &Tenant,
    id_token_alg: portvakt_jose::Algorithm,
) -> Value {
    Value::Object(common(issuer, tenant, id_token_alg))
}

/// `/.well-known/oauth-authorization-server/{tenant}` (RFC 8414).
pub fn oauth_metadata(issuer: &str, tenant: &Tenant) -> Value {
    let mut m = common(issuer, tenant, tenant.signing_algorithm);
    // OIDC-only members have no meaning in RFC 8414 metadata.
    for k in [
        "subject_types_supported",
        "id_token_signing_alg_values_supported",
        "userinfo_endpoint",
        "end_session_endpoint",
        "claims_supported",
    ] {
        m.remove(k);
    }
    Value::Object(m)
}

fn json_bytes(bytes: Bytes, max_age: i64) -> Response {
    let mut res = bytes.into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    // Public documents: any origin may read them (browser-based clients).
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("public, max-age={max_age}")) {
        h.insert(header::CACHE_CONTROL, v);
    }
    res
}

pub(crate) fn unknown_tenant(tenant: &str) -> ApiError {
    ApiError::new(
        ErrorCode::TenantUnknown,
        format!("there is no tenant named '{}'", tenant.escape_default()),
    )
}

/// GET `{issuer}/.well-known/openid-configuration`.
pub async fn openid_configuration_handler(
    State(st): State<AppState>,
    Path(tenant): Path<String>,
) -> Result<Response, ApiError> {
    let view = st
        .directory
        .get(&tenant, st.clock.now())
        .await?
        .ok_or_else(|| unknown_tenant(&tenant))?;
    Ok(json_bytes(view.openid_configuration.clone(), 3600))
}

/// GET `/.well-known/oauth-authorization-server/{tenant}`.
pub async fn oauth_metadata_handler(
    State(st): State<AppState>,
    Path(tenant): Path<String>,
) -> Result<Response, ApiError> {
    let view = st
        .directory
        .get(&tenant, st.clock.now())
        .await?
        .ok_or_else(|| unknown_tenant(&tenant))?;
    Ok(json_bytes(view.oauth_metadata.clone(), 3600))
}

/// GET `{issuer}/oauth2/keys`. `max-age` never reaches past the next key event, so a
/// reader that honours it sees a pre-published key before it signs.
pub async fn jwks_handler(
    State(st): State<AppState>,
    Path(tenant): Path<String>,
) -> Result<Response, ApiError> {
    let now = st.clock.now();
    let view = st
        .directory
        .get(&tenant, now)
        .await?
        .ok_or_else(|| unknown_tenant(&tenant))?;
    Ok(json_bytes(
        view.jwks.clone(),
        view.jwks_max_age(now, JWKS_MAX_AGE),
    ))
}
