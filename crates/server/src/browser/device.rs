//! The device authorization grant (RFC 8628): a device shows a short code; the user
//! enters it at `{issuer}/device` in any browser, signs in there and confirms; the
//! device polls the token endpoint until then.
//!
//! The browser part reuses the sign-in and consent pages: entering a valid code
//! starts an interaction that, instead of redirecting with a code, approves the
//! device. The consent page is always shown, so the user confirms which application
//! on which device they are signing in to.

use crate::authorize::{current_session, error_page, start_interaction};
use crate::client_auth::authenticate;
use crate::cookies;
use crate::correlation::CorrelationId;
use crate::directory::TenantView;
use crate::discovery::unknown_tenant;
use crate::error::ApiError;
use crate::form::{self, Form, FORM_LIMIT};
use crate::pages::{self, DevicePage, FormError};
use crate::state::AppState;
use crate::throttle::USER_CODE_THRESHOLD;
use crate::token::TokenResponse;
use crate::user_tokens::{mint, Refresh, SignedIn};
use axum::extract::{Path, Request, State};
use axum::http::HeaderMap;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use portvakt_core::flow::{normalize_user_code, AuthRequest, DeviceGrant, USER_CODE_ALPHABET};
use portvakt_core::model::DEVICE_CODE_GRANT;
use portvakt_core::scope::resolve_user;
use portvakt_core::signin::SignInEvent;
use portvakt_core::ErrorCode;
use serde_json::json;

/// How long a device code is valid.
pub const DEVICE_CODE_LIFETIME: i64 = 600;
/// The initial polling interval.
pub const POLL_INTERVAL: i64 = 5;
/// The double-submit cookie of the code entry form.
const DEVICE_CSRF: &str = "pv_device";

fn new_user_code() -> String {
    let mut b = [0u8; 8];
    portvakt_jose::random_bytes(&mut b);
    let c: String = b
        .iter()
        .map(|x| USER_CODE_ALPHABET[(*x as usize) % USER_CODE_ALPHABET.len()] as char)
        .collect();
    format!("{}-{}", &c[..4], &c[4..])
}

/// POST `{issuer}/oauth2/devicecode` (RFC 8628 §3.1).
pub async fn device_authorization(
    State(st): State<AppState>,
    Path(tenant): Path<String>,
    req: Request,
) -> Result<Response, ApiError> {
    let now = st.clock.now();
    let view = st
        .directory
        .get(&tenant, now)
        .await?
        .ok_or_else(|| unknown_tenant(&tenant))?;
    let ip = crate::client_addr::client_ip(req.extensions());
    let headers = req.headers().clone();
    form::check_content_type(&headers)?;
    let body = form::read_body(req.into_body(), FORM_LIMIT).await?;
    let form = form::parse(&body)?;
    let (app, _) = authenticate(
        &view,
        &headers,
        &form,
        &crate::client_auth::ClientGate::new(&st, ip, now),
    )?;
    if !app.grant_types.iter().any(|g| g == DEVICE_CODE_GRANT) {
        return Err(ApiError::new(ErrorCode::GrantTypeNotAllowed, format!("application '{}' may not use the device flow (add {DEVICE_CODE_GRANT} to its grantTypes)", app.client_id)));
    }
    let resources = form.all("resource");
    resolve_user(form.get("scope"), &resources, app, |id| view.resource(id))?;
    for (name, max) in [("scope", 2048), ("resource", 1024)] {
        if form.all(name).iter().any(|v| v.len() > max) {
            return Err(ApiError::new(
                ErrorCode::InvalidParameter,
                format!("'{name}' is longer than {max} bytes"),
            ));
        }
    }
    // Anyone who knows a public client's id can ask: each device authorization is a
    // stored row, so an address may start only so many.
    if let Some(ip) = ip {
        st.limits
            .device_codes
            .check(&crate::client_addr::rate_key(ip), now)
            .map_err(|wait| {
                ApiError::new(
                    ErrorCode::RateLimited,
                    format!(
                        "this address started {} device authorizations within a minute; try again in {wait} s",
                        st.limits.device_codes_per_minute
                    ),
                )
                .with_retry_after(wait)
            })?;
    }
    let device_code = portvakt_jose::random_id(32);
    // A user code collision is astronomically rare; retry a few times anyway.
    let mut last_err = None;
    for _ in 0..5 {
        let g = DeviceGrant {
            tenant_id: view.tenant.id.clone(),
            client_id: app.client_id.clone(),
            scope: form.get("scope").unwrap_or("").to_string(),
            resource: resources.first().map(|s| s.to_string()),
            user_code: new_user_code(),
            expires_at: now + DEVICE_CODE_LIFETIME,
            interval: POLL_INTERVAL,
            last_poll: None,
            status: "pending".into(),
            user_id: None,
            sid: None,
            auth_time: None,
            amr: vec![],
        };
        match st
            .store
            .put_device(&portvakt_jose::sha256(device_code.as_bytes()), &g)
            .await
        {
            Ok(()) => {
                let uri = format!("{}/device", view.issuer);
                let mut res = Json(json!({
                    "device_code": device_code,
                    "user_code": g.user_code,
                    "verification_uri": uri,
                    "verification_uri_complete": format!("{uri}?user_code={}", g.user_code),
                    "expires_in": DEVICE_CODE_LIFETIME,
                    "interval": POLL_INTERVAL,
                }))
                .into_response();
                res.headers_mut()
                    .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
                return Ok(res);
            }
            Err(e) => last_err = Some(e),
        }
    }
    Err(last_err
        .map(ApiError::from)
        .unwrap_or_else(|| ApiError::new(ErrorCode::Internal, "could not allocate a user code")))
}

fn csrf_ok(headers: &HeaderMap, form: &Form) -> bool {
    match (cookies::get(headers, DEVICE_CSRF), form.get("csrf")) {
        (Some(c), Some(f)) => portvakt_jose::constant_time_eq(c.as_bytes(), f.as_bytes()),
        _ => false,
    }
}

fn entry_page(
    st: &AppState,
    view: &TenantView,
    t: &'static pages::Strings,
    status: StatusCode,
    user_code: &str,
    error: Option<FormError>,
) -> Response {
    let csrf = portvakt_jose::random_id(24);
    let mut res = pages::render(
        status,
        &DevicePage {
            t,
            action: format!("{}/device", view.issuer),
            csrf: csrf.clone(),
            user_code: user_code.to_string(),
            error,
        },
    );
    res.headers_mut().append(
        header::SET_COOKIE,
        cookies::set(
            DEVICE_CSRF,
            &csrf,
            &view.tenant.name,
            st.config.secure_cookies(),
            Some(900),
        ),
    );
    res
}

/// GET or POST `{issuer}/device`: enter the user code, then sign in and confirm.
pub async fn device_page(
    State(st): State<AppState>,
    Path(tenant): Path<String>,
    req: Request,
) -> Response {
    let now = st.clock.now();
    let cid = CorrelationId::of(&req);
    let ip = crate::client_addr::client_ip(req.extensions());
    let headers = req.headers().clone();
    let t = pages::strings(None, &headers);
    let view = match st.directory.get(&tenant, now).await {
        Ok(Some(v)) => v,
        Ok(None) => return error_page(&st, t, &cid, &unknown_tenant(&tenant)),
        Err(e) => return error_page(&st, t, &cid, &e),
    };
    if req.method() != Method::POST {
        let q = form::parse(req.uri().query().unwrap_or("").as_bytes()).unwrap_or_default();
        return entry_page(
            &st,
            &view,
            t,
            StatusCode::OK,
            q.get("user_code").unwrap_or(""),
            None,
        );
    }
    let form = match form::check_content_type(&headers) {
        Ok(()) => match form::read_body(req.into_body(), FORM_LIMIT)
            .await
            .and_then(|b| form::parse(&b))
        {
            Ok(f) => f,
            Err(e) => return error_page(&st, t, &cid, &e),
        },
        Err(e) => return error_page(&st, t, &cid, &e),
    };
    if !csrf_ok(&headers, &form) {
        return error_page(
            &st,
            t,
            &cid,
            &ApiError::new(
                ErrorCode::CsrfFailed,
                "the code entry form's CSRF token is missing or does not match",
            ),
        );
    }
    let typed = form.get("user_code").unwrap_or("");
    let fail = |msg: String| FormError {
        message: msg,
        code: ErrorCode::UserCodeInvalid.code(),
        correlation_id: cid.clone(),
    };
    // RFC 8628 §5.1: user codes are short, so guessing is slowed per address.
    let guess_key = format!(
        "usercode:{}",
        ip.map(crate::client_addr::rate_key).unwrap_or_default()
    );
    if let Some(wait) = st.throttle.key_wait(&guess_key, USER_CODE_THRESHOLD, now) {
        let mut res = entry_page(
            &st,
            &view,
            t,
            StatusCode::TOO_MANY_REQUESTS,
            typed,
            Some(FormError {
                message: format!("Too many wrong codes from this address. Try again in {wait} s."),
                code: ErrorCode::UserCodeThrottled.code(),
                correlation_id: cid.clone(),
            }),
        );
        res.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(wait));
        return res;
    }
    let Some(code) = normalize_user_code(typed) else {
        return entry_page(
            &st,
            &view,
            t,
            StatusCode::BAD_REQUEST,
            typed,
            Some(fail(format!(
                "'{}' is not a device code (8 letters, like BCDF-GHJK)",
                typed.escape_default()
            ))),
        );
    };
    let grant = match st.store.device_by_user_code(&code).await {
        Ok(g) => g.filter(|g| {
            g.tenant_id == view.tenant.id && g.status == "pending" && g.expires_at > now
        }),
        Err(e) => return error_page(&st, t, &cid, &e.into()),
    };
    let Some(grant) = grant else {
        st.throttle.key_fail(&guess_key, now);
        return entry_page(
            &st,
            &view,
            t,
            StatusCode::BAD_REQUEST,
            &code,
            Some(fail(format!(
                "the code {code} is unknown, expired or already used"
            ))),
        );
    };
    let request = AuthRequest {
        client_id: grant.client_id.clone(),
        redirect_uri: String::new(),
        redirect_uri_given: false,
        scope: grant.scope.clone(),
        resource: grant.resource.clone(),
        state: None,
        nonce: None,
        code_challenge: None,
        prompt: vec![],
        max_age: None,
        ui_locales: None,
        login_hint: None,
        device_user_code: Some(code),
        client_app_type: Some(
            portvakt_policy::graph::ClientAppType::MobileAppsAndDesktopClients
                .as_str()
                .to_string(),
        ),
        response_mode: Default::default(),
    };
    let session = current_session(&st, &view, &headers, now)
        .await
        .ok()
        .flatten();
    match start_interaction(
        &st,
        &view,
        request,
        session.as_ref().map(|(s, u)| (s, u)),
        ip,
        now,
    )
    .await
    {
        Ok(r) => r,
        Err(e) => error_page(&st, t, &cid, &e),
    }
}

/// `grant_type=urn:ietf:params:oauth:grant-type:device_code` (RFC 8628 §3.4-3.5).
pub async fn device_code_grant(
    st: &AppState,
    view: &TenantView,
    headers: &HeaderMap,
    form: &Form,
    now: i64,
    ev: &mut SignInEvent,
) -> Result<TokenResponse, ApiError> {
    let app = crate::user_grants::client(st, view, headers, form, DEVICE_CODE_GRANT, ev)?;
    let device_code = form.require("device_code")?;
    let hash = portvakt_jose::sha256(device_code.as_bytes());
    let mut g = st
        .store
        .device(&hash)
        .await?
        .filter(|g| g.tenant_id == view.tenant.id)
        .ok_or_else(|| ApiError::new(ErrorCode::DeviceCodeInvalid, "no such device code"))?;
    if g.client_id != app.client_id {
        return Err(ApiError::new(
            ErrorCode::DeviceCodeInvalid,
            format!(
                "the device code was issued to '{}', not to '{}'",
                g.client_id, app.client_id
            ),
        ));
    }
    if g.expires_at <= now {
        return Err(ApiError::new(
            ErrorCode::DeviceCodeExpired,
            format!("the device code expired {} s ago", now - g.expires_at),
        ));
    }
    match g.status.as_str() {
        "pending" => {
            let too_fast = g.last_poll.is_some_and(|p| now - p < g.interval);
            let status = g.status.clone();
            if too_fast {
                g.interval += 5;
            }
            g.last_poll = Some(now);
            st.store.update_device(&g.user_code, &status, &g).await?;
            if too_fast {
                return Err(ApiError::new(
                    ErrorCode::DeviceCodeSlowDown,
                    format!("poll at most every {} s", g.interval),
                ));
            }
            Err(ApiError::new(
                ErrorCode::DeviceCodePending,
                format!(
                    "the user has not yet entered {} at the verification page",
                    g.user_code
                ),
            ))
        }
        "denied" => Err(ApiError::new(
            ErrorCode::DeviceCodeDenied,
            "the user declined to sign in the device",
        )),
        "used" => Err(ApiError::new(
            ErrorCode::DeviceCodeInvalid,
            "this device code was already exchanged for tokens",
        )),
        "approved" => {
            let (Some(user_id), Some(sid), Some(auth_time)) =
                (g.user_id.clone(), g.sid.clone(), g.auth_time)
            else {
                return Err(ApiError::new(
                    ErrorCode::Internal,
                    "approved device code without a user",
                ));
            };
            let mut used = g.clone();
            used.status = "used".into();
            if !st
                .store
                .update_device(&g.user_code, "approved", &used)
                .await?
            {
                return Err(ApiError::new(
                    ErrorCode::DeviceCodeInvalid,
                    "this device code was already exchanged for tokens",
                ));
            }
            let user = st
                .store
                .user_by_id(&view.tenant.id, &user_id)
                .await?
                .ok_or_else(|| {
                    ApiError::new(ErrorCode::DeviceCodeInvalid, "the user no longer exists")
                })?;
            if !user.account_enabled {
                return Err(ApiError::new(
                    ErrorCode::AccountDisabled,
                    format!("account '{}' is disabled", user.user_principal_name),
                ));
            }
            let res: Vec<&str> = g.resource.iter().map(String::as_str).collect();
            let scopes = resolve_user(Some(&g.scope), &res, app, |id| view.resource(id))?;
            ev.resource = scopes.resource.as_ref().map(|r| r.resource.clone());
            let who = SignedIn {
                user: &user,
                sid: &sid,
                auth_time,
                amr: &g.amr,
                nonce: None,
                client_app_type: Some("mobileAppsAndDesktopClients"),
            };
            let mut minted = mint(st, view, app, &who, &scopes, Refresh::NewFamily, now).await?;
            // In the words of the device authorization request (RFC 8628 §3.1).
            minted.response.scope = scopes.in_words_of(Some(&g.scope));
            ev.token_id = Some(minted.jti);
            Ok(minted.response)
        }
        other => Err(ApiError::new(
            ErrorCode::Internal,
            format!("device code in unknown state '{other}'"),
        )),
    }
}

/// Approve or deny the device behind a finished interaction.
pub async fn settle(
    st: &AppState,
    user_code: &str,
    approve: Option<(&str, &str, i64, &[String])>,
) -> Result<bool, ApiError> {
    let Some(mut g) = st.store.device_by_user_code(user_code).await? else {
        return Ok(false);
    };
    match approve {
        Some((user_id, sid, auth_time, amr)) => {
            g.status = "approved".into();
            g.user_id = Some(user_id.to_string());
            g.sid = Some(sid.to_string());
            g.auth_time = Some(auth_time);
            g.amr = amr.to_vec();
        }
        None => g.status = "denied".into(),
    }
    Ok(st.store.update_device(user_code, "pending", &g).await?)
}
