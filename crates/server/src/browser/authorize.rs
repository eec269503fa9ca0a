//! The authorization endpoint (RFC 6749 §4.1, OIDC Core §3.1.2, RFC 7636) and the
//! steps every interactive sign-in shares: session check, consent, code issuance.
//!
//! Errors before the client and its redirect URI are known are shown as a page (we
//! must not redirect to an unverified URI, RFC 6749 §4.1.2.1); after that they are
//! returned to the client as `error`, `error_description`, `error_code`, `state`
//! and `iss` (RFC 9207) on the redirect URI.

use crate::cookies;
use crate::correlation::CorrelationId;
use crate::directory::TenantView;
use crate::discovery::unknown_tenant;
use crate::error::ApiError;
use crate::form::{self, Form, FORM_LIMIT};
use crate::pages::{self, MessagePage, Strings};
use crate::state::AppState;
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use portvakt_core::flow::{AuthRequest, CodeGrant, ResponseMode, Session};
use portvakt_core::model::{Application, User};
use portvakt_core::scope::{resolve_user, UserScopes};
use portvakt_core::signin::{AuthStep, SignInEvent, SignInKind};
use portvakt_core::ErrorCode;
use portvakt_store::Interaction;
use std::net::IpAddr;

/// Lifetime of an authorization code (RFC 6749 §4.1.2 recommends at most 10 minutes).
pub const CODE_LIFETIME: i64 = 60;
/// Lifetime of a pending sign-in.
pub const INTERACTION_LIFETIME: i64 = 15 * 60;
/// Lifetime of a browser session.
pub const SESSION_LIFETIME: i64 = 24 * 3600;

/// An error page for the browser (no redirect).
pub fn error_page(st: &AppState, t: &Strings, cid: &str, e: &ApiError) -> Response {
    let status = StatusCode::from_u16(e.code.status()).unwrap_or(StatusCode::BAD_REQUEST);
    pages::render(
        status,
        &MessagePage {
            t,
            title: t.code_title(e.code),
            text: e.detail.clone(),
            fix: Some(t.code_fix(e.code)),
            code: Some(e.code.code()),
            correlation_id: cid.to_string(),
            error_uri: format!("{}/errors/{}", st.config.public_url, e.code.code()),
        },
    )
}

/// Send an authorization response, success or error, to the client's redirect URI in
/// the request's `response_mode`.
pub fn respond(req: &AuthRequest, params: &[(&str, &str)]) -> Response {
    match req.response_mode {
        ResponseMode::Query => redirect_with(&req.redirect_uri, params),
        ResponseMode::Fragment => {
            let mut ser = form_urlencoded::Serializer::new(String::new());
            for (k, v) in params {
                ser.append_pair(k, v);
            }
            // RFC 6749 §3.1.2: a redirect URI has no fragment of its own.
            let base = req.redirect_uri.split('#').next().unwrap_or_default();
            see_other(&format!("{base}#{}", ser.finish()))
        }
        ResponseMode::FormPost => {
            let lang = crate::l10n::pick(req.ui_locales.as_deref(), &HeaderMap::new());
            pages::form_post(pages::Strings::of(lang), &req.redirect_uri, params)
        }
    }
}

fn see_other(location: &str) -> Response {
    let mut res = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// Append parameters to a redirect URI, keeping any query it already has.
pub fn redirect_with(uri: &str, params: &[(&str, &str)]) -> Response {
    let mut ser = form_urlencoded::Serializer::new(String::new());
    for (k, v) in params {
        ser.append_pair(k, v);
    }
    let sep = if uri.contains('?') { '&' } else { '?' };
    see_other(&format!("{uri}{sep}{}", ser.finish()))
}

/// Send an error back to the client.
pub fn redirect_error(view: &TenantView, req: &AuthRequest, e: &ApiError, cid: &str) -> Response {
    let description = format!("{}: {}", e.code.title(), e.detail);
    let mut params: Vec<(&str, &str)> = vec![
        ("error", e.code.oauth_error()),
        ("error_description", &description),
        ("error_code", e.code.code()),
        ("correlation_id", cid),
    ];
    if let Some(s) = &req.state {
        params.push(("state", s));
    }
    params.push(("iss", &view.issuer));
    respond(req, &params)
}

fn resource_params(form: &Form) -> Vec<&str> {
    form.all("resource")
}

/// Scopes of a request for `app`.
pub fn scopes_of(
    view: &TenantView,
    app: &Application,
    req: &AuthRequest,
) -> Result<UserScopes, ApiError> {
    let res: Vec<&str> = req.resource.iter().map(String::as_str).collect();
    resolve_user(Some(&req.scope), &res, app, |id| view.resource(id)).map_err(ApiError::from)
}

/// The session of this browser in this tenant, if valid at `now`.
pub async fn current_session(
    st: &AppState,
    view: &TenantView,
    headers: &HeaderMap,
    now: i64,
) -> Result<Option<(Session, User)>, ApiError> {
    let Some(cookie) = cookies::get(headers, cookies::SESSION) else {
        return Ok(None);
    };
    let Some(rec) = st
        .store
        .session(&portvakt_jose::sha256(cookie.as_bytes()))
        .await?
    else {
        return Ok(None);
    };
    let s = rec.session;
    if rec.revoked_at.is_some() || s.tenant_id != view.tenant.id || s.expires_at <= now {
        return Ok(None);
    }
    let Some(user) = st.store.user_by_id(&view.tenant.id, &s.user_id).await? else {
        return Ok(None);
    };
    if !user.account_enabled || user.revoked(s.auth_time) {
        return Ok(None);
    }
    Ok(Some((s, user)))
}

/// GET or POST `{issuer}/oauth2/authorize`.
pub async fn authorize_handler(
    State(st): State<AppState>,
    Path(tenant): Path<String>,
    req: Request,
) -> Response {
    let now = st.clock.now();
    let cid = CorrelationId::of(&req);
    let ip = crate::client_addr::client_ip(req.extensions());
    let headers = req.headers().clone();
    let t0 = pages::strings(None, &headers);
    let form = match read_params(req).await {
        Ok(f) => f,
        Err(e) => return error_page(&st, t0, &cid, &e),
    };
    let t = pages::strings(form.get("ui_locales"), &headers);
    let view = match st.directory.get(&tenant, now).await {
        Ok(Some(v)) => v,
        Ok(None) => return error_page(&st, t, &cid, &unknown_tenant(&tenant)),
        Err(e) => return error_page(&st, t, &cid, &e),
    };
    // 1. The client and its redirect URI: errors here are pages, not redirects.
    let Some(client_id) = form.get("client_id") else {
        return error_page(
            &st,
            t,
            &cid,
            &ApiError::new(
                ErrorCode::MissingParameter,
                "the 'client_id' parameter is required",
            ),
        );
    };
    let Some(app) = view.application(client_id) else {
        return error_page(
            &st,
            t,
            &cid,
            &ApiError::new(
                ErrorCode::ClientUnknown,
                format!(
                    "no application with client id '{}' in tenant '{}'",
                    client_id.escape_default(),
                    view.tenant.name
                ),
            ),
        );
    };
    let redirect_uri = match form.get("redirect_uri") {
        Some(r) if app.redirect_uris.iter().any(|u| u == r) => r.to_string(),
        Some(r) => {
            return error_page(
                &st,
                t,
                &cid,
                &ApiError::new(
                    ErrorCode::RedirectUriMismatch,
                    // Not the registered list: that is for the admin (the
                    // application's settings, the sign-in log), not for anyone who
                    // can open this URL.
                    format!(
                        "'{}' is not a registered redirect URI of application '{}'",
                        r.escape_default(),
                        app.client_id,
                    ),
                ),
            );
        }
        None if app.redirect_uris.len() == 1 => app.redirect_uris[0].clone(),
        None => {
            return error_page(&st, t, &cid, &ApiError::new(ErrorCode::RedirectUriMismatch, format!("redirect_uri is required: application '{}' has {} registered redirect URIs", app.client_id, app.redirect_uris.len())));
        }
    };
    // What an unauthenticated request may make us store and echo is bounded.
    if let Err(e) = check_sizes(&form) {
        return error_page(&st, t, &cid, &e);
    }
    let prompt: Vec<String> = form
        .get("prompt")
        .map(|p| {
            p.split(' ')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    let auth_req = AuthRequest {
        client_id: app.client_id.clone(),
        redirect_uri,
        redirect_uri_given: form.get("redirect_uri").is_some(),
        scope: form.get("scope").unwrap_or("").to_string(),
        resource: resource_params(&form).first().map(|s| s.to_string()),
        state: form.get("state").map(str::to_string),
        nonce: form.get("nonce").map(str::to_string),
        code_challenge: form.get("code_challenge").map(str::to_string),
        prompt,
        max_age: None,
        ui_locales: form.get("ui_locales").map(str::to_string),
        login_hint: form.get("login_hint").map(str::to_string),
        device_user_code: None,
        client_app_type: Some(
            crate::access::interactive_client_app_type(
                app,
                headers
                    .get(axum::http::header::USER_AGENT)
                    .and_then(|v| v.to_str().ok()),
            )
            .as_str()
            .to_string(),
        ),
        response_mode: Default::default(),
    };
    // 2. Everything else is reported to the client.
    match validate(&view, app, &form, auth_req.clone()) {
        Ok(r) => {
            let from = Caller {
                headers: &headers,
                ip,
                cid: &cid,
            };
            continue_request(&st, &view, app, r, &from, now).await
        }
        Err(e) => redirect_error(&view, &auth_req, &e, &cid),
    }
}

/// The largest value accepted for each parameter an authorization request stores
/// and echoes (bytes). `state` and `nonce` are opaque to Portvakt, so generous, but
/// bounded: each pending sign-in is stored until it expires.
pub const PARAM_LIMITS: &[(&str, usize)] = &[
    ("state", 2048),
    ("nonce", 512),
    ("scope", 2048),
    ("resource", 1024),
    ("login_hint", 256),
    ("ui_locales", 64),
    ("prompt", 64),
    ("max_age", 16),
    ("response_type", 32),
    ("response_mode", 32),
    ("code_challenge", 128),
    ("code_challenge_method", 16),
    ("redirect_uri", 2048),
    ("client_id", 128),
];

fn check_sizes(form: &Form) -> Result<(), ApiError> {
    for (name, max) in PARAM_LIMITS {
        for v in form.all(name) {
            if v.len() > *max {
                return Err(ApiError::new(
                    ErrorCode::InvalidParameter,
                    format!(
                        "'{name}' is {} bytes long; at most {max} are accepted",
                        v.len()
                    ),
                ));
            }
        }
    }
    Ok(())
}

async fn read_params(req: Request) -> Result<Form, ApiError> {
    if req.method() == Method::POST {
        form::check_content_type(req.headers())?;
        let body = form::read_body(req.into_body(), FORM_LIMIT).await?;
        form::parse(&body)
    } else {
        form::parse(req.uri().query().unwrap_or("").as_bytes())
    }
}

fn validate(
    view: &TenantView,
    app: &Application,
    form: &Form,
    mut r: AuthRequest,
) -> Result<AuthRequest, ApiError> {
    match form.get("response_type") {
        Some("code") => {}
        Some(other) => {
            return Err(ApiError::new(
                ErrorCode::UnsupportedResponseType,
                format!(
                    "response_type '{}' is not supported; use 'code'",
                    other.escape_default()
                ),
            ))
        }
        None => {
            return Err(ApiError::new(
                ErrorCode::MissingParameter,
                "the 'response_type' parameter is required (use 'code')",
            ))
        }
    }
    if let Some(m) = form.get("response_mode") {
        r.response_mode = ResponseMode::parse(m).ok_or_else(|| {
            ApiError::new(
                ErrorCode::InvalidParameter,
                format!(
                    "response_mode '{}' is not supported; use 'query', 'fragment' or 'form_post'",
                    m.escape_default()
                ),
            )
        })?;
    }
    if !app.grant_types.iter().any(|g| g == "authorization_code") {
        return Err(ApiError::new(
            ErrorCode::GrantTypeNotAllowed,
            format!(
                "application '{}' may not use the authorization code flow (its grant types: {})",
                app.client_id,
                app.grant_types.join(", ")
            ),
        ));
    }
    match (form.get("code_challenge"), form.get("code_challenge_method")) {
        (_, Some(m)) if m != "S256" => return Err(ApiError::new(ErrorCode::PkceMethodUnsupported, format!("code_challenge_method '{}' is not accepted", m.escape_default()))),
        (Some(c), _) if c.len() != 43 || portvakt_jose::b64url_decode(c).is_none() => {
            return Err(ApiError::new(ErrorCode::InvalidParameter, "code_challenge must be 43 characters of base64url: BASE64URL(SHA-256(code_verifier))"));
        }
        (Some(_), None) => return Err(ApiError::new(ErrorCode::PkceMethodUnsupported, "code_challenge_method is required and must be S256 (the default 'plain' is not accepted)")),
        (None, _) if !app.confidential => return Err(ApiError::new(ErrorCode::PkceRequired, format!("application '{}' is a public client and must send code_challenge (S256)", app.client_id))),
        _ => {}
    }
    if resource_params(form).len() > 1 {
        return Err(ApiError::new(
            ErrorCode::MultipleResources,
            "an authorization request may name one resource",
        ));
    }
    scopes_of(view, app, &r)?;
    if r.prompt.iter().any(|p| p == "none") && r.prompt.len() > 1 {
        return Err(ApiError::new(
            ErrorCode::InvalidParameter,
            "prompt=none cannot be combined with other prompt values (OIDC Core §3.1.2.1)",
        ));
    }
    if let Some(p) = r
        .prompt
        .iter()
        .find(|p| !matches!(p.as_str(), "none" | "login" | "consent" | "select_account"))
    {
        return Err(ApiError::new(
            ErrorCode::InvalidParameter,
            format!(
                "prompt value '{}' is not supported (none, login, consent, select_account)",
                p.escape_default()
            ),
        ));
    }
    if let Some(m) = form.get("max_age") {
        r.max_age = Some(m.parse::<i64>().ok().filter(|v| *v >= 0).ok_or_else(|| {
            ApiError::new(
                ErrorCode::InvalidParameter,
                "max_age must be a non-negative number of seconds",
            )
        })?);
    }
    Ok(r)
}

/// Does the user still have to consent to this request?
pub async fn needs_consent(
    st: &AppState,
    view: &TenantView,
    app: &Application,
    user: &User,
    req: &AuthRequest,
) -> Result<bool, ApiError> {
    // A device sign-in is always confirmed: the user says which device it is.
    if req.prompt.iter().any(|p| p == "consent") || req.device_user_code.is_some() {
        return Ok(true);
    }
    if app.admin_consented {
        return Ok(false);
    }
    let wanted = scopes_of(view, app, req)?.consent_items();
    let have = st
        .store
        .consent(&view.tenant.id, &user.id, &app.client_id)
        .await?;
    Ok(!wanted.iter().all(|w| have.contains(w)))
}

/// After validation: sign in silently, ask for consent, or show the sign-in page.
/// Where a request comes from: the browser's headers, its address, the correlation id.
#[derive(Clone, Copy)]
struct Caller<'a> {
    headers: &'a HeaderMap,
    ip: Option<IpAddr>,
    cid: &'a str,
}

async fn continue_request(
    st: &AppState,
    view: &TenantView,
    app: &Application,
    req: AuthRequest,
    from: &Caller<'_>,
    now: i64,
) -> Response {
    let Caller { headers, ip, cid } = *from;
    // A silent sign-in (a usable session, or prompt=none) is a non-interactive sign-in
    // record of its own; one that goes on to the sign-in page is recorded there.
    let mut ev = SignInEvent::new(
        SignInKind::NonInteractive,
        st.clock.now_ms(),
        cid,
        view.tenant.name.clone(),
    );
    ev.tenant_id = view.tenant.id.clone();
    ev.protocol = Some("authorize".into());
    ev.client_id = Some(app.client_id.clone());
    ev.app_display_name = Some(app.display_name.clone());
    ev.resource = req.resource.clone();
    ev.ip_address = ip.map(|a| a.to_string());
    ev.user_agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let mut to_page = false;
    let result: Result<Response, ApiError> = async {
        let session = current_session(st, view, headers, now).await?;
        let fresh_enough = |s: &Session| req.max_age.is_none_or(|m| now - s.auth_time <= m);
        let force_login = req
            .prompt
            .iter()
            .any(|p| p == "login" || p == "select_account");
        let silent = req.prompt.iter().any(|p| p == "none");
        let usable = session.filter(|(s, _)| !force_login && fresh_enough(s));
        match usable {
            None if silent => Err(ApiError::new(
                ErrorCode::LoginRequired,
                "prompt=none was requested and there is no usable session in this browser",
            )),
            Some((s, user)) => {
                // Conditional Access for a silent sign-in: the session's own
                // authentication, not interactive. What needs the user is asked for
                // by a fresh sign-in (or, with prompt=none, reported).
                let client_app = req
                    .client_app_type
                    .as_deref()
                    .and_then(|t| serde_json::from_value(serde_json::Value::String(t.into())).ok());
                let facts = crate::access::user_facts(
                    &view.access,
                    now,
                    &user,
                    &app.client_id,
                    req.resource.as_deref(),
                    crate::access::Origin {
                        ip,
                        user_agent: headers
                            .get(header::USER_AGENT)
                            .and_then(|v| v.to_str().ok()),
                    },
                    client_app,
                    crate::access::Authenticated {
                        amr: &s.amr,
                        auth_time: s.auth_time,
                        interactive: false,
                    },
                );
                crate::user_grants::note_user(&mut ev, &user);
                ev.auth_steps.push(AuthStep {
                    authentication_method: "Previously satisfied",
                    succeeded: true,
                    at_ms: s.auth_time * 1000,
                    detail: format!("Browser session of a sign-in with {}", s.amr.join("+")),
                });
                if let Err(e) = crate::access::enforce(&view.access, facts, &mut ev) {
                    let needs_user = matches!(
                        e.code,
                        ErrorCode::MfaRequired
                            | ErrorCode::ReauthenticationRequired
                            | ErrorCode::PasswordChangeRequired
                    );
                    if needs_user && !silent {
                        to_page = true;
                        return start_interaction(st, view, req.clone(), None, ip, now).await;
                    }
                    return Err(e);
                }
                if needs_consent(st, view, app, &user, &req).await? {
                    if silent {
                        return Err(ApiError::new(
                            ErrorCode::ConsentRequired,
                            format!(
                                "user has not consented to {} for '{}'",
                                scopes_of(view, app, &req)?.consent_items().join(" "),
                                app.client_id
                            ),
                        ));
                    }
                    to_page = true;
                    start_interaction(st, view, req.clone(), Some((&s, &user)), ip, now).await
                } else {
                    issue_code(st, view, &req, &s, now).await
                }
            }
            None => {
                to_page = true;
                start_interaction(st, view, req.clone(), None, ip, now).await
            }
        }
    }
    .await;
    if let Err(e) = &result {
        ev.fail(&portvakt_core::Error::new(e.code, e.detail.clone()));
    }
    if !to_page || result.is_err() {
        st.signins.record(ev);
    }
    result.unwrap_or_else(|e| redirect_error(view, &req, &e, cid))
}

/// Create a pending sign-in bound to this browser and send the browser to its page.
pub async fn start_interaction(
    st: &AppState,
    view: &TenantView,
    request: AuthRequest,
    signed_in: Option<(&Session, &User)>,
    ip: Option<IpAddr>,
    now: i64,
) -> Result<Response, ApiError> {
    // Each pending sign-in is a stored row: an address may start only so many.
    if let Some(ip) = ip {
        st.limits
            .interactions
            .check(&crate::client_addr::rate_key(ip), now)
            .map_err(|wait| {
                ApiError::new(
                    ErrorCode::RateLimited,
                    format!(
                        "this address started {} sign-ins within a minute; try again in {wait} s",
                        st.limits.interactions_per_minute
                    ),
                )
                .with_retry_after(wait)
            })?;
    }
    let binding = portvakt_jose::random_id(32);
    let i = Interaction {
        id: portvakt_jose::random_id(16),
        tenant_id: view.tenant.id.clone(),
        browser_hash: portvakt_jose::sha256(binding.as_bytes()),
        csrf: portvakt_jose::random_id(24),
        request,
        user_id: signed_in.map(|(_, u)| u.id.clone()),
        sid: signed_in.map(|(s, _)| s.sid.clone()),
        expires_at: now + INTERACTION_LIFETIME,
        mfa_user_id: None,
        enroll_sealed: None,
        second_factor_at: None,
    };
    st.store.put_interaction(&i).await?;
    let mut res = StatusCode::SEE_OTHER.into_response();
    let location = format!("{}/login?interaction={}", view.issuer, i.id);
    if let Ok(v) = HeaderValue::from_str(&location) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    res.headers_mut().append(
        header::SET_COOKIE,
        cookies::set(
            cookies::INTERACTION,
            &binding,
            &view.tenant.name,
            st.config.secure_cookies(),
            Some(INTERACTION_LIFETIME),
        ),
    );
    Ok(res)
}

/// Issue an authorization code for a signed-in session and redirect to the client.
pub async fn issue_code(
    st: &AppState,
    view: &TenantView,
    req: &AuthRequest,
    s: &Session,
    now: i64,
) -> Result<Response, ApiError> {
    let code = portvakt_jose::random_id(32);
    let grant = CodeGrant {
        tenant_id: view.tenant.id.clone(),
        request: req.clone(),
        user_id: s.user_id.clone(),
        sid: s.sid.clone(),
        auth_time: s.auth_time,
        amr: s.amr.clone(),
        expires_at: now + CODE_LIFETIME,
    };
    st.store
        .put_code(&portvakt_jose::sha256(code.as_bytes()), &grant)
        .await?;
    let mut params: Vec<(&str, &str)> = vec![("code", &code)];
    if let Some(state) = &req.state {
        params.push(("state", state));
    }
    params.push(("iss", &view.issuer));
    Ok(respond(req, &params))
}
