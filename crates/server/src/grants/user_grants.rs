//! The user grants at the token endpoint: authorization code (RFC 6749 §4.1.3 with
//! PKCE, RFC 7636 §4.6) and refresh token (RFC 6749 §6) with rotation and reuse
//! detection (OAuth 2.0 Security BCP, RFC 9700 §4.14).

use crate::access::EventOrigin;
use crate::client_auth::{authenticate, claimed_client_id, AuthMethod, ClientGate};
use crate::directory::TenantView;
use crate::error::ApiError;
use crate::form::Form;
use crate::state::AppState;
use crate::token::TokenResponse;
use crate::user_tokens::{mint, Refresh, SignedIn, REFRESH_INACTIVITY};
use axum::http::HeaderMap;
use portvakt_core::grant::{
    decide_code, decide_refresh, CodeRedemption, RefreshDecision, RefreshState,
};
use portvakt_core::model::Application;
use portvakt_core::scope::resolve_user;
use portvakt_core::signin::SignInEvent;
use portvakt_core::ErrorCode;
use portvakt_store::{CodeTake, RefreshClaim};

/// Authenticate the client of a user grant and check that it may use `grant`.
pub(crate) fn client<'v>(
    st: &AppState,
    view: &'v TenantView,
    headers: &HeaderMap,
    form: &Form,
    grant: &str,
    ev: &mut SignInEvent,
) -> Result<&'v Application, ApiError> {
    let gate = ClientGate::for_event(st, ev);
    let (app, method) = authenticate(view, headers, form, &gate)
        .inspect_err(|_| ev.client_id = claimed_client_id(headers, form))?;
    ev.client_id = Some(app.client_id.clone());
    ev.app_display_name = Some(app.display_name.clone());
    if app.confidential && method == AuthMethod::None {
        return Err(ApiError::new(
            ErrorCode::ClientAuthMissing,
            format!(
                "client '{}' is confidential: authenticate with its secret",
                app.client_id
            ),
        ));
    }
    if !app.grant_types.iter().any(|g| g == grant) {
        return Err(ApiError::new(
            ErrorCode::GrantTypeNotAllowed,
            format!(
                "application '{}' may not use {grant} (its grant types: {})",
                app.client_id,
                app.grant_types.join(", ")
            ),
        ));
    }
    Ok(app)
}

/// `grant_type=authorization_code`.
pub async fn authorization_code(
    st: &AppState,
    view: &TenantView,
    headers: &HeaderMap,
    form: &Form,
    now: i64,
    ev: &mut SignInEvent,
) -> Result<TokenResponse, ApiError> {
    let app = client(st, view, headers, form, "authorization_code", ev)?;
    let code = form.require("code")?;
    let hash = portvakt_jose::sha256(code.as_bytes());
    let grant = match st.store.take_code(&hash, now).await? {
        CodeTake::Missing => {
            return Err(ApiError::new(
                ErrorCode::CodeInvalid,
                "no such authorization code",
            ))
        }
        CodeTake::Reused {
            grant,
            family_id,
            access,
        } => {
            // RFC 6749 §4.1.2: a replayed code revokes what was issued from it.
            if let Some(f) = family_id {
                st.store
                    .revoke_family(&f, "the authorization code it came from was replayed", now)
                    .await?;
            }
            if let Some((jti, exp)) = access {
                st.store.revoke_jti(&grant.tenant_id, &jti, exp).await?;
            }
            tracing::warn!(tenant = %view.tenant.name, client_id = %app.client_id, "authorization code replayed; tokens issued from it revoked");
            return Err(ApiError::new(ErrorCode::CodeReused, "this authorization code was already exchanged; the tokens issued from it have been revoked"));
        }
        CodeTake::Fresh(g) => g,
    };
    let r = &grant.request;
    let user = st.store.user_by_id(&view.tenant.id, &grant.user_id).await?;
    decide_code(
        &view.tenant.id,
        &view.tenant.name,
        &app.client_id,
        &grant,
        CodeRedemption {
            redirect_uri: form.get("redirect_uri"),
            code_verifier: form.get("code_verifier"),
            code_lifetime: crate::authorize::CODE_LIFETIME,
        },
        user.as_ref(),
        now,
    )?;
    let Some(user) = user else {
        return Err(ApiError::new(
            ErrorCode::CodeInvalid,
            "the user of this code no longer exists",
        ));
    };
    note_user(ev, &user);
    let res: Vec<&str> = r.resource.iter().map(String::as_str).collect();
    let scopes = resolve_user(Some(&r.scope), &res, app, |id| view.resource(id))?;
    ev.resource = scopes.resource.as_ref().map(|x| x.resource.clone());
    ev.resource_display_name = ev
        .resource
        .as_deref()
        .and_then(|r| view.resource(r))
        .map(|r| r.display_name.clone());
    let who = SignedIn {
        user: &user,
        sid: &grant.sid,
        auth_time: grant.auth_time,
        amr: &grant.amr,
        nonce: r.nonce.as_deref(),
        client_app_type: r.client_app_type.as_deref(),
    };
    let mut minted = mint(st, view, app, &who, &scopes, Refresh::NewFamily, now).await?;
    minted.response.scope = scopes.in_words_of(form.get("scope").or(Some(r.scope.as_str())));
    st.store
        .link_code(&hash, minted.family.as_deref(), &minted.jti, minted.exp)
        .await?;
    ev.token_id = Some(minted.jti);
    Ok(minted.response)
}

/// A rotation made in the read ([`portvakt_store::Flows::refresh_claim`]), not yet
/// handed out: the successor token and the instant the presented one was used.
struct Claim {
    token: String,
    hash: [u8; 32],
    at_ms: i64,
}

/// `grant_type=refresh_token`: the facts are read here, the rules are
/// [`decide_refresh`]'s.
///
/// The read rotates the token too when it may be rotated as read (one round trip to
/// the store, not two): a request that then refuses it (Conditional Access, say) or
/// issues another successor undoes that rotation, so that a refused token stays as
/// presentable as it was (docs/refresh-tokens.md).
pub async fn refresh_token(
    st: &AppState,
    view: &TenantView,
    headers: &HeaderMap,
    form: &Form,
    now_ms: i64,
    ev: &mut SignInEvent,
) -> Result<TokenResponse, ApiError> {
    let app = client(st, view, headers, form, "refresh_token", ev)?;
    let token = form.require("refresh_token")?;
    let hash = portvakt_jose::sha256(token.as_bytes());
    let successor = portvakt_jose::random_id(32);
    let claim = RefreshClaim {
        new_hash: portvakt_jose::sha256(successor.as_bytes()),
        tenant_id: &view.tenant.id,
        client_id: &app.client_id,
        now_ms,
        inactivity: REFRESH_INACTIVITY,
    };
    // A request that names a scope may narrow it (RFC 6749 §6): its successor's
    // grant is known only after the read, so it is not claimed in it.
    let (rec, claimed) = st
        .store
        .refresh_claim(&hash, form.get("scope").is_none().then_some(&claim))
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::RefreshTokenInvalid, "no such refresh token"))?;
    let mut claim = claimed.then_some(Claim {
        token: successor,
        hash: claim.new_hash,
        at_ms: now_ms,
    });
    let out = refresh_read(st, view, form, app, hash, &rec, &mut claim, now_ms, ev).await;
    if let (Err(_), Some(c)) = (&out, claim) {
        unclaim(st, &hash, &c).await;
    }
    out
}

/// Undo `c` (best effort: if the store fails, the token stays used, and presenting
/// it again is a retry within the reuse window, a reuse after it).
async fn unclaim(st: &AppState, old_hash: &[u8; 32], c: &Claim) {
    if let Err(e) = st.store.unclaim_refresh(old_hash, &c.hash, c.at_ms).await {
        tracing::warn!(error = %e, "a refused refresh token could not be made unused again");
    }
}

/// [`refresh_token`] once the token is read (`rec`), and perhaps rotated (`claim`,
/// taken once it is handed out or undone).
#[allow(clippy::too_many_arguments)]
async fn refresh_read(
    st: &AppState,
    view: &TenantView,
    form: &Form,
    app: &Application,
    hash: [u8; 32],
    rec: &portvakt_store::RefreshRecord,
    claim: &mut Option<Claim>,
    now_ms: i64,
    ev: &mut SignInEvent,
) -> Result<TokenResponse, ApiError> {
    let now = now_ms.div_euclid(1000);
    let g = &rec.grant;
    if let Some(u) = &rec.user {
        note_user(ev, u);
    }
    ev.auth_steps.push(portvakt_core::signin::AuthStep {
        authentication_method: "Previously satisfied",
        succeeded: true,
        at_ms: g.auth_time * 1000,
        detail: format!("Refresh token of a sign-in with {}", g.amr.join("+")),
    });
    let state = RefreshState {
        grant: g,
        used_at_ms: rec.used_at_ms,
        superseded_at: rec.superseded_at,
        family_revoked: rec
            .family_revoked
            .as_ref()
            .map(|(at, why)| (*at, why.as_str())),
        user: rec.user.as_ref(),
    };
    let window_ms = st.config.refresh_reuse_grace_ms;
    let retry = match decide_refresh(&view.tenant.id, &app.client_id, &state, now_ms, window_ms) {
        RefreshDecision::Rotate => false,
        RefreshDecision::Retry => true,
        RefreshDecision::Refuse(e) => return Err(e.into()),
        RefreshDecision::RevokeFamily(e) => {
            crate::user_tokens::revoke_reused(
                st,
                view,
                &app.client_id,
                g,
                "a used refresh token was presented again (possible theft)",
                now,
            )
            .await?;
            return Err(e.into());
        }
    };
    let user = rec.user.as_ref().ok_or_else(|| {
        ApiError::new(ErrorCode::RefreshTokenRevoked, "the user no longer exists")
    })?;
    // RFC 6749 §6: the scope may be narrowed, never broadened. The request may name
    // scopes in any accepted form (`Reports.Read` or `api://analytics/Reports.Read`);
    // they are resolved against the grant's resource and compared by plain name.
    let res: Vec<&str> = g.resource.iter().map(String::as_str).collect();
    let original = resolve_user(Some(&g.scope), &res, app, |id| view.resource(id))?;
    let scopes = match form.get("scope") {
        None => original,
        Some(s) => {
            let asked = resolve_user(Some(s), &res, app, |id| view.resource(id)).map_err(|e| {
                ApiError::new(
                    ErrorCode::ScopeBroadened,
                    format!("{} (granted: {})", e.detail, g.scope),
                )
            })?;
            let had: Vec<String> = original
                .scope_string()
                .split(' ')
                .map(str::to_string)
                .collect();
            let asked_plain = asked.scope_string();
            if let Some(extra) = asked_plain
                .split(' ')
                .filter(|x| !x.is_empty())
                .find(|x| !had.iter().any(|h| h == x))
            {
                return Err(ApiError::new(
                    ErrorCode::ScopeBroadened,
                    format!(
                        "'{extra}' was not granted originally (granted: {})",
                        g.scope
                    ),
                ));
            }
            asked
        }
    };
    let scope = scopes.scope_string();
    ev.resource = g.resource.clone();
    ev.resource_display_name = g
        .resource
        .as_deref()
        .and_then(|r| view.resource(r))
        .map(|r| r.display_name.clone());
    // Conditional Access, non-interactive: what needs the user becomes
    // interaction_required, with the policy named.
    let client_app = g
        .client_app_type
        .as_deref()
        .and_then(|s| serde_json::from_value(serde_json::Value::String(s.into())).ok());
    let facts = crate::access::user_facts(
        &view.access,
        now,
        user,
        &app.client_id,
        g.resource.as_deref(),
        ev.origin(),
        client_app,
        crate::access::Authenticated {
            amr: &g.amr,
            auth_time: g.auth_time,
            interactive: false,
        },
    );
    crate::access::enforce(&view.access, facts, ev)?;
    let who = SignedIn {
        user,
        sid: &g.sid,
        auth_time: g.auth_time,
        amr: &g.amr,
        nonce: None,
        client_app_type: g.client_app_type.as_deref(),
    };
    // The rotation the read made stands only if this request issues just that
    // successor: the same scope, a refresh token at all (offline_access), no retry.
    if retry || scope != g.scope || !scopes.has("offline_access") {
        if let Some(c) = claim.take() {
            unclaim(st, &hash, &c).await;
        }
    }
    let mut old = g.clone();
    old.scope = scope;
    let refresh = match claim.as_ref() {
        Some(c) => Refresh::Claimed {
            token: &c.token,
            family_id: &g.family_id,
        },
        None => Refresh::Rotate {
            old_hash: hash,
            old: &old,
            now_ms,
            retry_window_ms: retry.then_some(window_ms),
            strict: window_ms == 0,
        },
    };
    let mut minted = mint(st, view, app, &who, &scopes, refresh, now).await?;
    // Handed out (the response is built): nothing to undo.
    *claim = None;
    minted.response.scope = scopes.in_words_of(form.get("scope"));
    ev.token_id = Some(minted.jti);
    Ok(minted.response)
}

/// Put the user on the sign-in record.
pub(crate) fn note_user(ev: &mut SignInEvent, u: &portvakt_core::model::User) {
    ev.user_id = Some(u.id.clone());
    ev.user_principal_name = Some(u.user_principal_name.clone());
    ev.user_display_name = Some(u.display_name.clone());
}
