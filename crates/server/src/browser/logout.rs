//! RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0).
//!
//! With a valid `id_token_hint` for the current session, the session ends at once;
//! otherwise the user confirms on a page whose form carries a token derived from the
//! session cookie (which a cross-site attacker cannot read). Ending a session also
//! revokes the refresh tokens born in it. `post_logout_redirect_uri` must be one of
//! the client's registered redirect URIs (exact match).

use crate::authorize::{current_session, error_page, redirect_with};
use crate::cookies;
use crate::correlation::CorrelationId;
use crate::discovery::unknown_tenant;
use crate::error::ApiError;
use crate::form::{self, FORM_LIMIT};
use crate::pages::{self, LogoutPage, MessagePage};
use crate::state::AppState;
use axum::extract::{Path, Request, State};
use axum::http::{header, Method, StatusCode};
use axum::response::Response;
use portvakt_core::token::IdTokenClaims;
use portvakt_core::ErrorCode;

fn logout_csrf(cookie: &str) -> String {
    portvakt_jose::b64url_encode(&portvakt_jose::sha256(
        format!("logout:{cookie}").as_bytes(),
    ))
}

/// GET or POST `{issuer}/oauth2/logout`.
pub async fn end_session(
    State(st): State<AppState>,
    Path(tenant): Path<String>,
    req: Request,
) -> Response {
    let now = st.clock.now();
    let cid = CorrelationId::of(&req);
    let headers = req.headers().clone();
    let t = pages::strings(None, &headers);
    let is_post = req.method() == Method::POST;
    let form = if is_post {
        match form::check_content_type(&headers) {
            Ok(()) => match form::read_body(req.into_body(), FORM_LIMIT)
                .await
                .and_then(|b| form::parse(&b))
            {
                Ok(f) => f,
                Err(e) => return error_page(&st, t, &cid, &e),
            },
            Err(e) => return error_page(&st, t, &cid, &e),
        }
    } else {
        match form::parse(req.uri().query().unwrap_or("").as_bytes()) {
            Ok(f) => f,
            Err(e) => return error_page(&st, t, &cid, &e),
        }
    };
    let t = pages::strings(form.get("ui_locales"), &headers);
    let view = match st.directory.get(&tenant, now).await {
        Ok(Some(v)) => v,
        Ok(None) => return error_page(&st, t, &cid, &unknown_tenant(&tenant)),
        Err(e) => return error_page(&st, t, &cid, &e),
    };
    // The hint names the client and the user; its expiry does not matter here.
    let hint: Option<IdTokenClaims> = form
        .get("id_token_hint")
        .and_then(|h| portvakt_jose::verify_compact(h, &view.verifiers).ok())
        .and_then(|j| serde_json::from_slice(j.payload()).ok())
        .filter(|c: &IdTokenClaims| c.iss == view.issuer);
    let client_id = form
        .get("client_id")
        .map(str::to_string)
        .or_else(|| hint.as_ref().map(|h| h.aud.clone()));
    let redirect = match form.get("post_logout_redirect_uri") {
        None => None,
        Some(u) => {
            let ok = client_id
                .as_deref()
                .and_then(|c| view.application(c))
                .is_some_and(|a| a.redirect_uris.iter().any(|r| r == u));
            if !ok {
                let e = ApiError::new(ErrorCode::RedirectUriMismatch, format!("post_logout_redirect_uri '{}' is not a registered redirect URI of the client (send client_id or id_token_hint to name it)", u.escape_default()));
                return error_page(&st, t, &cid, &e);
            }
            Some(u.to_string())
        }
    };
    let session = match current_session(&st, &view, &headers, now).await {
        Ok(s) => s,
        Err(e) => return error_page(&st, t, &cid, &e),
    };
    let cookie = cookies::get(&headers, cookies::SESSION).unwrap_or_default();
    let confirmed = hint
        .as_ref()
        .zip(session.as_ref())
        .is_some_and(|(h, (s, _))| h.sid == s.sid)
        || (is_post
            && form.get("csrf").is_some_and(|c| {
                portvakt_jose::constant_time_eq(c.as_bytes(), logout_csrf(&cookie).as_bytes())
            }));
    if let Some((s, _)) = &session {
        if !confirmed {
            let targets: Vec<&str> = redirect.as_deref().into_iter().collect();
            return pages::render_with_form_targets(
                StatusCode::OK,
                &LogoutPage {
                    t,
                    action: format!("{}/oauth2/logout", view.issuer),
                    csrf: logout_csrf(&cookie),
                    post_logout_redirect_uri: redirect.clone(),
                    client_id,
                    state: form.get("state").map(str::to_string),
                },
                &targets,
            );
        }
        if let Err(e) = st.store.end_session(&s.sid, now).await {
            return error_page(&st, t, &cid, &e.into());
        }
        tracing::info!(target: "portvakt::signin", tenant = %view.tenant.name, sid = %s.sid, correlation_id = %cid, "signed out");
    }
    let mut res = match redirect {
        Some(u) => {
            let state = form.get("state");
            redirect_with(&u, &state.map(|s| vec![("state", s)]).unwrap_or_default())
        }
        None => pages::render(
            StatusCode::OK,
            &MessagePage {
                t,
                title: t.signed_out.into(),
                text: t.signed_out_text.into(),
                fix: None,
                code: None,
                correlation_id: cid.clone(),
                error_uri: String::new(),
            },
        ),
    };
    res.headers_mut().append(
        header::SET_COOKIE,
        cookies::clear(
            cookies::SESSION,
            &view.tenant.name,
            st.config.secure_cookies(),
        ),
    );
    res
}
