//! Who is using the portal: the sign-in through Portvakt itself (authorization code +
//! PKCE for the built-in client `portvakt-portal`), the sealed session cookie, the
//! checks every request repeats, CSRF tokens and sign-out. See
//! `docs/design/portal.md`.

use super::render::{self, Ui};
use crate::correlation::{Cid, CorrelationId};
use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use portvakt_core::flow::CodeGrant;
use portvakt_core::grant::{decide_code, CodeRedemption};
use portvakt_core::model::User;
use portvakt_core::names::PORTAL_CLIENT_ID;
use portvakt_core::ErrorCode;
use portvakt_store::{CodeTake, TokenUser};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// The session cookie.
pub const COOKIE: &str = "pv_portal";
/// The pending sign-in's cookie.
pub const LOGIN_COOKIE: &str = "pv_portal_login";
/// A session ends after this long without a request (seconds).
pub const IDLE_TIMEOUT: i64 = 30 * 60;
/// A session ends this long after its sign-in, whatever happens (seconds).
pub const ABSOLUTE_TIMEOUT: i64 = 12 * 3600;
/// A pending sign-in lives this long (seconds).
pub const LOGIN_LIFETIME: i64 = 10 * 60;
/// The session cookie is re-issued (sliding the idle timeout) at most this often.
const TOUCH_EVERY: i64 = 60;
/// The role that opens the portal.
pub const ADMIN_ROLE: &str = "admin";

/// What the session cookie holds (sealed).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct SessionCookie {
    /// Tenant id.
    tid: String,
    /// User id.
    uid: String,
    /// The SSO session it came from.
    sid: String,
    /// When the user signed in (the SSO session's `auth_time`).
    auth: i64,
    /// When the portal session began.
    began: i64,
    /// The last request.
    seen: i64,
    /// The CSRF secret (random).
    csrf: String,
}

/// What the pending sign-in cookie holds (sealed).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct LoginCookie {
    state: String,
    verifier: String,
    nonce: String,
    /// Where to go afterwards: a path under `/portal/{tenant}/`.
    back: String,
    exp: i64,
}

/// A signed-in admin of the tenant in the path; portal handlers take it.
#[derive(Debug, Clone)]
pub struct PortalAdmin {
    /// The tenant's name.
    pub tenant: String,
    /// The tenant's id.
    pub tenant_id: String,
    /// The admin.
    pub user: User,
    /// The CSRF token forms must carry (the session's random secret).
    pub csrf: String,
    /// The language and the strings of the page.
    pub ui: Ui,
    /// The request's correlation id.
    pub correlation_id: String,
    /// A refreshed session cookie to send back, if the idle timer moved.
    pub refreshed: Option<HeaderValue>,
}

impl PortalAdmin {
    /// The identity the audit log records for changes made in the portal.
    pub fn as_admin(&self) -> crate::admin::auth::Admin {
        crate::admin::auth::Admin {
            client_id: PORTAL_CLIENT_ID.into(),
            display_name: "Portvakt portal".into(),
            correlation_id: self.correlation_id.clone(),
            user: Some((self.user.id.clone(), self.user.user_principal_name.clone())),
        }
    }

    /// Whether `sent` is this session's CSRF token (constant time).
    pub fn csrf_ok(&self, sent: Option<&str>) -> bool {
        sent.is_some_and(|s| portvakt_jose::constant_time_eq(s.as_bytes(), self.csrf.as_bytes()))
    }
}

fn aad(tenant: &str, what: &str) -> Vec<u8> {
    format!("portvakt-portal:{what}:{tenant}").into_bytes()
}

fn seal<T: Serialize>(st: &AppState, tenant: &str, what: &str, v: &T) -> Option<String> {
    let json = serde_json::to_vec(v).ok()?;
    let sealed = st.master.seal(&aad(tenant, what), &json).ok()?;
    Some(portvakt_jose::b64url_encode(&sealed))
}

fn open<T: for<'de> Deserialize<'de>>(
    st: &AppState,
    tenant: &str,
    what: &str,
    text: &str,
) -> Option<T> {
    let sealed = portvakt_jose::b64url_decode(text)?;
    let json = st.master.open(&aad(tenant, what), &sealed).ok()?;
    serde_json::from_slice(&json).ok()
}

fn secure(st: &AppState) -> bool {
    st.config.public_url.starts_with("https://")
}

/// A `Set-Cookie` for the portal of `tenant`: HttpOnly, SameSite=Lax. Not Strict: a
/// link from elsewhere (an application's error page, an e-mail) must open the page it
/// names, and with Strict the browser withholds the cookie on that cross-site
/// navigation and on every redirect it starts, so the sign-in would loop. Every change
/// is a POST with the session's CSRF token, and Lax withholds cross-site POSTs anyway.
fn cookie(st: &AppState, tenant: &str, name: &str, value: &str, max_age: i64) -> HeaderValue {
    let mut c = format!(
        "{name}={value}; Path=/portal/{tenant}/; HttpOnly; SameSite=Lax; Max-Age={max_age}"
    );
    if secure(st) {
        c.push_str("; Secure");
    }
    HeaderValue::from_str(&c).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The portal's callback URI (the built-in client's only redirect URI).
pub fn callback_uri(st: &AppState, tenant: &str) -> String {
    format!("{}/portal/{tenant}/callback", st.config.public_url)
}

fn random() -> String {
    let mut b = [0u8; 32];
    portvakt_jose::random_bytes(&mut b);
    portvakt_jose::b64url_encode(&b)
}

/// Start a sign-in: remember state, PKCE verifier and where to return, and send the
/// browser to the tenant's authorization endpoint.
pub fn start_sign_in(st: &AppState, tenant: &str, back: &str, ui: &Ui) -> Response {
    let now = st.clock.now();
    let login = LoginCookie {
        state: random(),
        verifier: random(),
        nonce: random(),
        back: safe_back(tenant, back),
        exp: now + LOGIN_LIFETIME,
    };
    let challenge = portvakt_jose::b64url_encode(&portvakt_jose::sha256(login.verifier.as_bytes()));
    let Some(sealed) = seal(st, tenant, "login", &login) else {
        return render::problem(
            st,
            ui,
            StatusCode::INTERNAL_SERVER_ERROR,
            ui.t.signin_failed,
            "the sign-in could not be started",
            "",
        );
    };
    let mut q = form_urlencoded::Serializer::new(String::new());
    q.append_pair("client_id", PORTAL_CLIENT_ID)
        .append_pair("response_type", "code")
        .append_pair("scope", "openid")
        .append_pair("redirect_uri", &callback_uri(st, tenant))
        .append_pair("state", &login.state)
        .append_pair("nonce", &login.nonce)
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256")
        .append_pair("ui_locales", ui.lang.tag());
    let location = format!(
        "{}/{tenant}/oauth2/authorize?{}",
        st.config.public_url,
        q.finish()
    );
    let mut res = StatusCode::SEE_OTHER.into_response();
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&location) {
        h.insert(header::LOCATION, v);
    }
    h.append(
        header::SET_COOKIE,
        cookie(st, tenant, LOGIN_COOKIE, &sealed, LOGIN_LIFETIME),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// A path to return to after the sign-in: only this tenant's portal pages.
fn safe_back(tenant: &str, back: &str) -> String {
    let home = format!("/portal/{tenant}/");
    let ok = back.starts_with(&home)
        && !back.contains("//")
        && !back.contains('\\')
        && back.bytes().all(|b| (0x21..0x7f).contains(&b));
    if ok {
        back.to_string()
    } else {
        home
    }
}

/// `GET /portal/{tenant}/callback`: the end of the sign-in.
pub async fn callback(
    State(st): State<AppState>,
    Path(tenant): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    Cid(cid): Cid,
    headers: HeaderMap,
) -> Response {
    let ui = Ui::of(&q, &headers);
    let now = st.clock.now();
    let login: Option<LoginCookie> = crate::cookies::get(&headers, LOGIN_COOKIE)
        .and_then(|c| open(&st, &tenant, "login", &c))
        .filter(|l: &LoginCookie| l.exp > now);
    let Some(login) = login else {
        // No pending sign-in (expired, another browser, or a forged callback): start
        // again rather than trust the parameters.
        return start_sign_in(&st, &tenant, &format!("/portal/{tenant}/"), &ui);
    };
    if q.get("state").map(String::as_str) != Some(login.state.as_str()) {
        return render::problem(
            &st,
            &ui,
            StatusCode::BAD_REQUEST,
            ui.t.signin_failed,
            "the state parameter does not match this browser's sign-in; start again",
            &cid,
        );
    }
    if let Some(err) = q.get("error") {
        // The sign-in page refused (a policy, a disabled account, …): say why, with
        // the correlation id of the refusal.
        let code = q.get("error_code").and_then(|c| ErrorCode::from_code(c));
        let detail = q
            .get("error_description")
            .cloned()
            .unwrap_or_else(|| err.clone());
        let their_cid = q.get("correlation_id").cloned().unwrap_or(cid);
        return render::refusal(&st, &ui, &tenant, code, &detail, &their_cid);
    }
    let Some(code) = q.get("code") else {
        return render::problem(
            &st,
            &ui,
            StatusCode::BAD_REQUEST,
            ui.t.signin_failed,
            "the callback carries neither a code nor an error",
            &cid,
        );
    };
    match redeem(&st, &tenant, code, &login, now).await {
        Ok((grant, user)) => {
            if !user.roles.iter().any(|r| r == ADMIN_ROLE) {
                return render::not_admin(&st, &ui, &tenant, &user.user_principal_name, &cid);
            }
            let session = SessionCookie {
                tid: grant.tenant_id.clone(),
                uid: user.id.clone(),
                sid: grant.sid.clone(),
                auth: grant.auth_time,
                began: now,
                seen: now,
                csrf: random(),
            };
            let Some(sealed) = seal(&st, &tenant, "session", &session) else {
                return render::problem(
                    &st,
                    &ui,
                    StatusCode::INTERNAL_SERVER_ERROR,
                    ui.t.signin_failed,
                    "the session could not be sealed",
                    &cid,
                );
            };
            let mut res = StatusCode::SEE_OTHER.into_response();
            let h = res.headers_mut();
            if let Ok(v) = HeaderValue::from_str(&login.back) {
                h.insert(header::LOCATION, v);
            }
            h.append(
                header::SET_COOKIE,
                cookie(&st, &tenant, COOKIE, &sealed, ABSOLUTE_TIMEOUT),
            );
            h.append(
                header::SET_COOKIE,
                cookie(&st, &tenant, LOGIN_COOKIE, "", 0),
            );
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            res
        }
        Err(e) => render::refusal(&st, &ui, &tenant, Some(e.code), &e.detail, &cid),
    }
}

/// Redeem the code in-process: the token endpoint's rules, no token minted.
async fn redeem(
    st: &AppState,
    tenant: &str,
    code: &str,
    login: &LoginCookie,
    now: i64,
) -> Result<(CodeGrant, User), ApiError> {
    let view = st
        .directory
        .get(tenant, now)
        .await?
        .ok_or_else(|| crate::discovery::unknown_tenant(tenant))?;
    let hash = portvakt_jose::sha256(code.as_bytes());
    let grant = match st.store.take_code(&hash, now).await? {
        CodeTake::Fresh(g) => g,
        CodeTake::Reused { .. } => {
            return Err(ApiError::new(
                ErrorCode::CodeReused,
                "this authorization code was already used",
            ))
        }
        CodeTake::Missing => {
            return Err(ApiError::new(
                ErrorCode::CodeInvalid,
                "no such authorization code",
            ))
        }
    };
    let user = st.store.user_by_id(&view.tenant.id, &grant.user_id).await?;
    let cb = callback_uri(st, tenant);
    decide_code(
        &view.tenant.id,
        &view.tenant.name,
        PORTAL_CLIENT_ID,
        &grant,
        CodeRedemption {
            redirect_uri: Some(&cb),
            code_verifier: Some(&login.verifier),
            code_lifetime: crate::authorize::CODE_LIFETIME,
        },
        user.as_ref(),
        now,
    )?;
    if grant.request.nonce.as_deref() != Some(login.nonce.as_str()) {
        return Err(ApiError::new(
            ErrorCode::CodeInvalid,
            "the code answers another sign-in (nonce)",
        ));
    }
    let user = user.ok_or_else(|| {
        ApiError::new(
            ErrorCode::CodeInvalid,
            "the user of this code no longer exists",
        )
    })?;
    Ok((grant, user))
}

/// Whether a session that began at `began` and was last used at `seen` has ended by
/// `now`: idle for [`IDLE_TIMEOUT`], or older than [`ABSOLUTE_TIMEOUT`].
pub fn timed_out(began: i64, seen: i64, now: i64) -> bool {
    now - seen >= IDLE_TIMEOUT || now - began >= ABSOLUTE_TIMEOUT
}

/// Why a request has no portal session.
enum NoSession {
    /// No cookie, or one that does not open, or timed out: sign in.
    SignIn,
    /// Signed in, but not (any more) an admin.
    NotAdmin(String),
}

async fn check(
    st: &AppState,
    tenant: &str,
    headers: &HeaderMap,
    now: i64,
) -> Result<(SessionCookie, User, String), NoSession> {
    let c: SessionCookie = crate::cookies::get(headers, COOKIE)
        .and_then(|c| open(st, tenant, "session", &c))
        .ok_or(NoSession::SignIn)?;
    if timed_out(c.began, c.seen, now) {
        return Err(NoSession::SignIn);
    }
    let t = st
        .store
        .tenant(tenant)
        .await
        .ok()
        .flatten()
        .ok_or(NoSession::SignIn)?;
    if t.id != c.tid {
        return Err(NoSession::SignIn);
    }
    let status = st
        .store
        .access_token_status(
            "",
            Some(TokenUser {
                tenant_id: &c.tid,
                user_id: &c.uid,
                sid: &c.sid,
                client_id: PORTAL_CLIENT_ID,
                iat: c.auth,
            }),
        )
        .await
        .map_err(|_| NoSession::SignIn)?;
    if status.grant_revoked {
        return Err(NoSession::SignIn);
    }
    let user = st
        .store
        .user_by_id(&c.tid, &c.uid)
        .await
        .ok()
        .flatten()
        .ok_or(NoSession::SignIn)?;
    if !user.account_enabled || user.revoked(c.auth) {
        return Err(NoSession::SignIn);
    }
    if !user.roles.iter().any(|r| r == ADMIN_ROLE) {
        return Err(NoSession::NotAdmin(user.user_principal_name));
    }
    Ok((c, user, t.id))
}

impl FromRequestParts<AppState> for PortalAdmin {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, Response> {
        let q: HashMap<String, String> = parts
            .uri
            .query()
            .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
            .unwrap_or_default();
        let ui = Ui::of(&q, &parts.headers);
        let tenant = parts
            .uri
            .path()
            .strip_prefix("/portal/")
            .and_then(|p| p.split('/').next())
            .unwrap_or("")
            .to_string();
        let cid = parts
            .extensions
            .get::<CorrelationId>()
            .map(|c| c.0.clone())
            .unwrap_or_default();
        let now = st.clock.now();
        match check(st, &tenant, &parts.headers, now).await {
            Ok((mut c, user, tenant_id)) => {
                // The synchronizer token: the session's random secret, which only the
                // holder of the (HttpOnly, sealed) cookie is ever shown.
                let csrf = c.csrf.clone();
                let refreshed = if now - c.seen >= TOUCH_EVERY {
                    c.seen = now;
                    let left = ABSOLUTE_TIMEOUT - (now - c.began);
                    seal(st, &tenant, "session", &c).map(|s| cookie(st, &tenant, COOKIE, &s, left))
                } else {
                    None
                };
                Ok(PortalAdmin {
                    tenant,
                    tenant_id,
                    user,
                    csrf,
                    ui,
                    correlation_id: cid,
                    refreshed,
                })
            }
            Err(NoSession::NotAdmin(upn)) => Err(render::not_admin(st, &ui, &tenant, &upn, &cid)),
            Err(NoSession::SignIn) => {
                if parts.method != axum::http::Method::GET {
                    // A form posted without a live session is not replayed after the
                    // sign-in: nothing changes.
                    return Err(render::problem(
                        st,
                        &ui,
                        StatusCode::FORBIDDEN,
                        ui.t.session_ended,
                        ui.t.session_ended_text,
                        &cid,
                    ));
                }
                let back = parts
                    .uri
                    .path_and_query()
                    .map(|p| p.as_str().to_string())
                    .unwrap_or_default();
                Err(start_sign_in(st, &tenant, &back, &ui))
            }
        }
    }
}

/// `POST /portal/{tenant}/signout`: end the SSO session behind the portal session
/// (so a copy of the cookie dies too) and forget the cookie.
pub async fn sign_out(
    State(st): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    admin: PortalAdmin,
    form: axum::extract::Form<HashMap<String, String>>,
) -> Response {
    if !admin.csrf_ok(form.get("csrf").map(String::as_str)) {
        return render::csrf_refused(&st, &admin.ui, &admin.correlation_id);
    }
    let now = st.clock.now();
    if let Some(c) = crate::cookies::get(&headers, COOKIE)
        .and_then(|c| open::<SessionCookie>(&st, &tenant, "session", &c))
    {
        if let Err(e) = st.store.end_session(&c.sid, now).await {
            tracing::warn!(error = %e, "ending the portal's SSO session failed");
        }
    }
    let mut res = render::signed_out(&st, &admin.ui, &tenant);
    res.headers_mut()
        .append(header::SET_COOKIE, cookie(&st, &tenant, COOKIE, "", 0));
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_end_when_idle_or_too_old_whatever_the_activity() {
        let t0 = 1_800_000_000;
        assert!(!timed_out(t0, t0, t0 + IDLE_TIMEOUT - 1));
        assert!(timed_out(t0, t0, t0 + IDLE_TIMEOUT));
        // Active all along, but past the absolute limit.
        let late = t0 + ABSOLUTE_TIMEOUT;
        assert!(!timed_out(t0, late - 10, late - 1));
        assert!(timed_out(t0, late - 10, late));
    }

    #[test]
    fn the_return_path_stays_in_the_tenants_portal() {
        assert_eq!(
            safe_back("contoso", "/portal/contoso/signins?user=a"),
            "/portal/contoso/signins?user=a"
        );
        for evil in [
            "https://evil.example/",
            "//evil.example/",
            "/portal/fabrikam/",
            "/portal/contoso//evil",
            "/portal/contoso/\\evil",
            "/portal/contoso/a b",
        ] {
            assert_eq!(safe_back("contoso", evil), "/portal/contoso/", "{evil}");
        }
    }
}
