//! Endpoints that take a token Portvakt issued: userinfo (OIDC Core §5.3),
//! introspection (RFC 7662) and revocation (RFC 7009).

use crate::client_auth::{authenticate, AuthMethod, ClientGate};
use crate::directory::TenantView;
use crate::discovery::unknown_tenant;
use crate::error::ApiError;
use crate::form::{self, Form, FORM_LIMIT};
use crate::state::AppState;
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use portvakt_core::model::sign_in_revoked;
use portvakt_core::token::{AccessTokenClaims, ACCESS_TOKEN_TYP};
use portvakt_core::ErrorCode;
use portvakt_store::TokenUser;
use serde_json::json;
use std::sync::Arc;

/// Verify an access token of this tenant: signature with a published key, `typ`,
/// issuer, time, denylist, and — for user tokens — that the user's sessions were not
/// revoked since and that the grant (session, refresh-token family) still stands.
/// Returns the claims, or why not. A token verified before, with no revocation of any
/// kind since, is answered from the view's [`crate::verified_tokens`] cache; its times
/// are checked on every call.
pub async fn verify_access_token(
    st: &AppState,
    view: &TenantView,
    token: &str,
    now: i64,
) -> Result<Arc<Checked>, String> {
    // Read before anything else: a revocation committed after this read makes the
    // entry stored below stale at once.
    let epoch = st.store.revocation_epoch();
    if let Some(hit) = view.verified.get(token, epoch) {
        in_time(&hit.claims, now)?;
        return Ok(hit);
    }
    let jws = portvakt_jose::verify_compact(token, &view.verifiers).map_err(|e| e.to_string())?;
    if jws.header().typ.as_deref() != Some(ACCESS_TOKEN_TYP) {
        return Err(format!(
            "typ is {:?}, not \"{ACCESS_TOKEN_TYP}\"",
            jws.header().typ
        ));
    }
    let c: AccessTokenClaims =
        serde_json::from_slice(jws.payload()).map_err(|e| format!("claims are invalid: {e}"))?;
    if c.iss != view.issuer {
        return Err(format!("issuer is '{}', expected '{}'", c.iss, view.issuer));
    }
    in_time(&c, now)?;
    // One read for the denylist, the user and the grant.
    let user = c.sid.as_deref().map(|sid| TokenUser {
        tenant_id: &view.tenant.id,
        user_id: &c.sub,
        sid,
        client_id: &c.client_id,
        iat: c.iat,
    });
    let status = st
        .store
        .access_token_status(&c.jti, user)
        .await
        .map_err(|e| e.to_string())?;
    if status.jti_revoked {
        return Err("the token was revoked".into());
    }
    if c.sid.is_some() {
        match &status.user {
            Some((true, valid_from, _))
                if !sign_in_revoked(*valid_from, c.auth_time.unwrap_or(c.iat)) => {}
            Some((false, _, _)) => return Err("the account is disabled".into()),
            Some(_) => {
                return Err("the user's sessions were revoked after this token was issued".into())
            }
            None => return Err("the user no longer exists".into()),
        }
        // RFC 7009 §2.1: revoking a refresh token should also invalidate the access
        // tokens of the same grant; signing out ends them too.
        if status.grant_revoked {
            return Err(
                "the grant behind this token was revoked (sign-out or refresh-token revocation)"
                    .into(),
            );
        }
    }
    let checked = Arc::new(Checked {
        username: status.user.map(|(_, _, upn)| upn),
        claims: c,
    });
    view.verified.put(token, Arc::clone(&checked), epoch, now);
    Ok(checked)
}

/// `exp` and `nbf` against `now`.
fn in_time(c: &AccessTokenClaims, now: i64) -> Result<(), String> {
    if c.exp <= now {
        return Err(format!("the token expired {} s ago", now - c.exp));
    }
    if c.nbf > now {
        return Err(format!(
            "the token is not valid for another {} s",
            c.nbf - now
        ));
    }
    Ok(())
}

/// A verified access token and, for a user token, the user's sign-in name.
pub struct Checked {
    /// The claims.
    pub claims: AccessTokenClaims,
    /// The user principal name, for user tokens.
    pub username: Option<String>,
}

async fn view(st: &AppState, tenant: &str, now: i64) -> Result<Arc<TenantView>, ApiError> {
    st.directory
        .get(tenant, now)
        .await?
        .ok_or_else(|| unknown_tenant(tenant))
}

fn bearer_challenge(e: Option<&str>, description: &str) -> String {
    match e {
        None => "Bearer realm=\"portvakt\"".into(),
        Some(e) => format!(
            "Bearer realm=\"portvakt\", error=\"{e}\", error_description=\"{}\"",
            description.replace(['"', '\\'], "'")
        ),
    }
}

/// GET or POST `{issuer}/oauth2/userinfo` with a bearer token granted `openid`.
pub async fn userinfo(
    State(st): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let now = st.clock.now();
    let view = view(&st, &tenant, now).await?;
    let authorization = crate::client_auth::one_authorization(&headers).map_err(|n| {
        ApiError::new(
            ErrorCode::AuthorizationMalformed,
            format!("the request has {n} Authorization headers; send exactly one"),
        )
        .with_challenge(bearer_challenge(
            Some("invalid_request"),
            "send exactly one Authorization header",
        ))
    })?;
    let token = match authorization
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
    {
        Some((s, t)) if s.eq_ignore_ascii_case("bearer") => t.trim().to_string(),
        _ => {
            return Err(ApiError::new(
                ErrorCode::TokenMissing,
                "send the access token as 'Authorization: Bearer <token>'",
            )
            .with_challenge(bearer_challenge(None, "")))
        }
    };
    let fail = |why: String| {
        let c = bearer_challenge(Some("invalid_token"), &why);
        ApiError::new(ErrorCode::UserTokenInvalid, why).with_challenge(c)
    };
    let checked = verify_access_token(&st, &view, &token, now)
        .await
        .map_err(fail)?;
    let c = &checked.claims;
    let scopes: Vec<&str> = c.scope.split(' ').collect();
    if !scopes.contains(&"openid") || c.sid.is_none() {
        return Err(fail(
            "the token was not granted the 'openid' scope for a user".into(),
        ));
    }
    let user = st
        .store
        .user_by_id(&view.tenant.id, &c.sub)
        .await?
        .ok_or_else(|| fail("the user no longer exists".into()))?;
    let mut out = json!({"sub": user.id});
    if scopes.contains(&"profile") {
        out["name"] = json!(user.display_name);
        out["preferred_username"] = json!(user.user_principal_name);
    }
    if scopes.contains(&"email") && user.user_principal_name.contains('@') {
        out["email"] = json!(user.user_principal_name);
    }
    let mut res = Json(out).into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}

async fn client_form(
    st: &AppState,
    tenant: &str,
    req: Request,
    now: i64,
) -> Result<(Arc<TenantView>, HeaderMap, Form, Option<std::net::IpAddr>), ApiError> {
    let view = view(st, tenant, now).await?;
    let ip = crate::client_addr::client_ip(req.extensions());
    let headers = req.headers().clone();
    form::check_content_type(&headers)?;
    let body = form::read_body(req.into_body(), FORM_LIMIT).await?;
    Ok((view, headers, form::parse(&body)?, ip))
}

/// POST `{issuer}/oauth2/introspect` (RFC 7662), for confidential clients of the tenant.
pub async fn introspect(
    State(st): State<AppState>,
    Path(tenant): Path<String>,
    req: Request,
) -> Result<Response, ApiError> {
    let now = st.clock.now();
    let (view, headers, form, ip) = client_form(&st, &tenant, req, now).await?;
    let (app, method) = authenticate(&view, &headers, &form, &ClientGate::new(&st, ip, now))?;
    if method == AuthMethod::None {
        return Err(ApiError::new(
            ErrorCode::ClientAuthMissing,
            format!(
                "introspection needs a confidential client; '{}' did not authenticate",
                app.client_id
            ),
        ));
    }
    let token = form.require("token")?;
    let inactive = || Ok(no_store(Json(json!({"active": false})).into_response()));
    // An access token is a JWT (two dots); anything else may be a refresh token.
    if token.bytes().filter(|b| *b == b'.').count() == 2 {
        return match verify_access_token(&st, &view, token, now).await {
            // RFC 7662 §4: only the client the token was issued to and the resource
            // servers of its audience learn anything; to everyone else it is inactive.
            Ok(checked) if !may_introspect(&view, &app.client_id, &checked.claims) => inactive(),
            Ok(checked) => {
                let c = &checked.claims;
                let mut v = json!({
                    "active": true, "token_type": "Bearer", "scope": c.scope, "client_id": c.client_id,
                    "sub": c.sub, "aud": c.aud, "iss": c.iss, "exp": c.exp, "iat": c.iat, "nbf": c.nbf, "jti": c.jti,
                });
                if let Some(u) = &checked.username {
                    v["username"] = json!(u);
                }
                Ok(no_store(Json(v).into_response()))
            }
            Err(_) => inactive(),
        };
    }
    let Some(rec) = st
        .store
        .refresh(&portvakt_jose::sha256(token.as_bytes()))
        .await?
    else {
        return inactive();
    };
    let g = &rec.grant;
    let user_ok = rec
        .user
        .as_ref()
        .is_some_and(|u| u.account_enabled && !u.revoked(g.auth_time));
    // A refresh token is for its client alone.
    let active = g.tenant_id == view.tenant.id
        && g.client_id == app.client_id
        && rec.used_at.is_none()
        && rec.superseded_at.is_none()
        && rec.family_revoked.is_none()
        && now < g.expires_at
        && now < g.family_expires_at
        && user_ok;
    if !active {
        return inactive();
    }
    Ok(no_store(Json(json!({"active": true, "token_type": "refresh_token", "scope": g.scope, "client_id": g.client_id, "sub": g.user_id, "iss": view.issuer, "exp": g.expires_at, "iat": g.issued_at})).into_response()))
}

/// May `client_id` introspect the access token with `claims`? The client it was issued
/// to, and the clients its audience lists in `introspectionClients`.
fn may_introspect(view: &TenantView, client_id: &str, claims: &AccessTokenClaims) -> bool {
    claims.client_id == client_id
        || view
            .resource(&claims.aud)
            .is_some_and(|r| r.introspection_clients.iter().any(|c| c == client_id))
}

/// POST `{issuer}/oauth2/revoke` (RFC 7009). Answers 200 whether or not the token was
/// known (§2.2); only the client a token was issued to can revoke it.
pub async fn revoke(
    State(st): State<AppState>,
    Path(tenant): Path<String>,
    req: Request,
) -> Result<Response, ApiError> {
    let now = st.clock.now();
    let (view, headers, form, ip) = client_form(&st, &tenant, req, now).await?;
    let (app, _) = authenticate(&view, &headers, &form, &ClientGate::new(&st, ip, now))?;
    let token = form.require("token")?;
    if token.bytes().filter(|b| *b == b'.').count() == 2 {
        if let Ok(jws) = portvakt_jose::verify_compact(token, &view.verifiers) {
            if let Ok(c) = serde_json::from_slice::<AccessTokenClaims>(jws.payload()) {
                if c.client_id == app.client_id && c.iss == view.issuer {
                    st.store.revoke_jti(&view.tenant.id, &c.jti, c.exp).await?;
                }
            }
        }
    } else if let Some(rec) = st
        .store
        .refresh(&portvakt_jose::sha256(token.as_bytes()))
        .await?
    {
        if rec.grant.client_id == app.client_id && rec.grant.tenant_id == view.tenant.id {
            st.store
                .revoke_family(
                    &rec.grant.family_id,
                    "the client revoked the refresh token",
                    now,
                )
                .await?;
        }
    }
    Ok(no_store(StatusCode::OK.into_response()))
}

fn no_store(mut r: Response) -> Response {
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}
