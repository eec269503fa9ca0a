//! The sign-in and consent pages of a pending sign-in (an [`Interaction`]).
//!
//! Every POST must carry the interaction's CSRF token *and* come from the browser
//! that started it (the `pv_interaction` cookie), which defeats both cross-site
//! request forgery and login CSRF.

use crate::authorize::{error_page, issue_code, needs_consent, redirect_error, scopes_of};
use crate::cookies;
use crate::correlation::CorrelationId;
use crate::directory::TenantView;
use crate::discovery::unknown_tenant;
use crate::error::ApiError;
use crate::form::{self, Form, FORM_LIMIT};
use crate::pages::{self, ConsentPage, FormError, LoginPage, Strings};
use crate::password;
use crate::state::AppState;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use portvakt_core::flow::Session;
use portvakt_core::model::User;
use portvakt_core::ErrorCode;
use portvakt_store::Interaction;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use tokio::sync::OnceCell;

static DUMMY_HASH: OnceCell<String> = OnceCell::const_new();

/// A hash to verify against when the user does not exist, so that a wrong user name
/// costs the same time as a wrong password (no account enumeration by timing).
async fn dummy_hash() -> String {
    DUMMY_HASH
        .get_or_init(|| async {
            password::hash(portvakt_jose::random_id(16))
                .await
                .unwrap_or_default()
        })
        .await
        .clone()
}

pub(crate) struct Ctx {
    pub(crate) st: AppState,
    pub(crate) view: Arc<TenantView>,
    pub(crate) headers: HeaderMap,
    pub(crate) cid: String,
    pub(crate) now: i64,
}

impl Ctx {
    pub(crate) fn t(&self, i: Option<&Interaction>) -> &'static Strings {
        pages::strings(
            i.and_then(|i| i.request.ui_locales.as_deref()),
            &self.headers,
        )
    }
    pub(crate) fn page_error(&self, e: ApiError) -> Response {
        error_page(&self.st, self.t(None), &self.cid, &e)
    }
}

async fn ctx(st: AppState, tenant: &str, headers: HeaderMap, cid: String) -> Result<Ctx, Response> {
    let now = st.clock.now();
    match st.directory.get(tenant, now).await {
        Ok(Some(view)) => Ok(Ctx {
            st,
            view,
            headers,
            cid,
            now,
        }),
        Ok(None) => Err(error_page(
            &st,
            pages::strings(None, &headers),
            &cid,
            &unknown_tenant(tenant),
        )),
        Err(e) => Err(error_page(&st, pages::strings(None, &headers), &cid, &e)),
    }
}

/// Load the interaction and check that it belongs to this browser (and, for posts,
/// that the CSRF token matches).
async fn interaction(
    c: &Ctx,
    id: Option<&str>,
    csrf: Option<Option<&str>>,
) -> Result<Interaction, ApiError> {
    let gone = || {
        ApiError::new(
            ErrorCode::InteractionUnknown,
            "this sign-in is unknown, finished or expired",
        )
    };
    let id = id.ok_or_else(gone)?;
    let i =
        c.st.store
            .interaction(id)
            .await?
            .filter(|i| i.tenant_id == c.view.tenant.id && i.expires_at > c.now)
            .ok_or_else(gone)?;
    let bound = cookies::get(&c.headers, cookies::INTERACTION).is_some_and(|b| {
        portvakt_jose::constant_time_eq(&portvakt_jose::sha256(b.as_bytes()), &i.browser_hash)
    });
    if !bound {
        return Err(ApiError::new(
            ErrorCode::InteractionUnknown,
            "this sign-in was started in another browser (or its cookie was blocked)",
        ));
    }
    if let Some(sent) = csrf {
        let ok =
            sent.is_some_and(|s| portvakt_jose::constant_time_eq(s.as_bytes(), i.csrf.as_bytes()));
        if !ok {
            return Err(ApiError::new(
                ErrorCode::CsrfFailed,
                if sent.is_none() {
                    "the form has no CSRF token"
                } else {
                    "the form's CSRF token does not match this sign-in"
                },
            ));
        }
    }
    Ok(i)
}

fn login_page(
    c: &Ctx,
    i: &Interaction,
    status: StatusCode,
    username: &str,
    error: Option<FormError>,
) -> Response {
    let app_name = c
        .view
        .application(&i.request.client_id)
        .map(|a| a.display_name.clone())
        .unwrap_or_default();
    pages::render_with_form_targets(
        status,
        &LoginPage {
            t: c.t(Some(i)),
            action: format!("{}/login", c.view.issuer),
            app_name,
            interaction: i.id.clone(),
            csrf: i.csrf.clone(),
            username: username.to_string(),
            error,
        },
        &[&i.request.redirect_uri],
    )
}

fn consent_page(c: &Ctx, i: &Interaction, user: &User) -> Result<Response, ApiError> {
    let app = c.view.application(&i.request.client_id).ok_or_else(|| {
        ApiError::new(ErrorCode::ClientUnknown, "the application no longer exists")
    })?;
    let mut scopes = scopes_of(&c.view, app, &i.request)?.consent_items();
    if scopes.is_empty() {
        scopes.push("openid".into());
    }
    Ok(pages::render_with_form_targets(
        StatusCode::OK,
        &ConsentPage {
            t: c.t(Some(i)),
            action: format!("{}/consent", c.view.issuer),
            app_name: app.display_name.clone(),
            interaction: i.id.clone(),
            csrf: i.csrf.clone(),
            user: user.user_principal_name.clone(),
            scopes,
            device_user_code: i.request.device_user_code.clone(),
            offer_organisation: offers_organisation(app, user, i),
        },
        &[&i.request.redirect_uri],
    ))
}

/// Tenant-wide consent is offered to the tenant's admins, for an application that
/// does not have it yet, and never for a device sign-in (whose approval is about
/// that device only).
fn offers_organisation(
    app: &portvakt_core::model::Application,
    user: &User,
    i: &Interaction,
) -> bool {
    !app.admin_consented
        && i.request.device_user_code.is_none()
        && user
            .roles
            .iter()
            .any(|r| r == portvakt_core::model::ADMIN_ROLE)
}

/// GET `{issuer}/login?interaction=ID`.
pub async fn login_get(
    State(st): State<AppState>,
    Path(tenant): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    req: Request,
) -> Response {
    let cid = CorrelationId::of(&req);
    let ip = crate::client_addr::client_ip(req.extensions());
    let c = match ctx(st, &tenant, req.headers().clone(), cid).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let i = match interaction(&c, q.get("interaction").map(String::as_str), None).await {
        Ok(i) => i,
        Err(e) => return c.page_error(e),
    };
    if let (None, Some(uid)) = (&i.user_id, &i.mfa_user_id) {
        // The password was accepted; the page was reloaded at the next step.
        return match c.st.store.user_by_id(&c.view.tenant.id, uid).await {
            Ok(Some(u)) => {
                let f = crate::signin_steps::Factors::of(&i);
                crate::signin_steps::after_first_factor(&c, &i, &u, ip, f).await
            }
            Ok(None) => c.page_error(ApiError::new(
                ErrorCode::InteractionUnknown,
                "the user of this sign-in no longer exists",
            )),
            Err(e) => c.page_error(e.into()),
        };
    }
    if let Some(uid) = &i.user_id {
        // Signed in already; only consent is missing.
        return match c.st.store.user_by_id(&c.view.tenant.id, uid).await {
            Ok(Some(u)) => consent_page(&c, &i, &u).unwrap_or_else(|e| c.page_error(e)),
            Ok(None) => c.page_error(ApiError::new(
                ErrorCode::InteractionUnknown,
                "the signed-in user no longer exists",
            )),
            Err(e) => c.page_error(e.into()),
        };
    }
    let hint = i.request.login_hint.clone().unwrap_or_default();
    login_page(&c, &i, StatusCode::OK, &hint, None)
}

async fn read_form(req: Request) -> Result<(HeaderMap, Option<IpAddr>, String, Form), ApiError> {
    let cid = CorrelationId::of(&req);
    let ip = crate::client_addr::client_ip(req.extensions());
    let headers = req.headers().clone();
    form::check_content_type(&headers)?;
    let body = form::read_body(req.into_body(), FORM_LIMIT).await?;
    Ok((headers, ip, cid, form::parse(&body)?))
}

/// The common start of every form post: read the form, load the tenant, and check
/// the interaction's browser binding and CSRF token. Failures are error pages.
pub(crate) async fn posted(
    st: AppState,
    tenant: &str,
    req: Request,
) -> Result<(Ctx, Interaction, Form, Option<IpAddr>), Response> {
    let (headers, ip, cid, form) = match read_form(req).await {
        Ok(x) => x,
        Err(e) => {
            return Err(error_page(
                &st,
                pages::strings(None, &HeaderMap::new()),
                "",
                &e,
            ))
        }
    };
    let c = ctx(st, tenant, headers, cid).await?;
    match interaction(&c, form.get("interaction"), Some(form.get("csrf"))).await {
        Ok(i) => Ok((c, i, form, ip)),
        Err(e) => Err(c.page_error(e)),
    }
}

/// POST `{issuer}/login`: check the password, start the session, continue.
pub async fn login_post(
    State(st): State<AppState>,
    Path(tenant): Path<String>,
    req: Request,
) -> Response {
    let (c, i, form, ip) = match posted(st, &tenant, req).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let t = c.t(Some(&i));
    let username = form.get("username").unwrap_or("").trim().to_string();
    let pw = form.get("password").unwrap_or("").to_string();
    // The throttle's key: the name as typed, lowered; a name longer than any user
    // principal name can be (Graph allows 113 characters) by its digest, so what an
    // attacker types never makes a key of more than a few hundred bytes.
    let lowered = username.to_lowercase();
    let account = if lowered.len() <= 320 {
        format!("{}:{lowered}", c.view.tenant.id)
    } else {
        let d = portvakt_jose::sha256(lowered.as_bytes());
        format!("{}:#{}", c.view.tenant.id, portvakt_jose::b64url_encode(&d))
    };
    let address = ip.map(crate::client_addr::rate_key);
    let form_error = |code: ErrorCode, message: String| FormError {
        message,
        code: code.code(),
        correlation_id: c.cid.clone(),
    };
    // A failed attempt's sign-in record: under the name as typed when no such user
    // exists (the page answers the same either way).
    let failed = |user: Option<&User>, code: ErrorCode, why: &str, password_checked: bool| {
        let mut ev = crate::signin_steps::interactive_event(&c, &i, ip, user, &username);
        if password_checked {
            ev.auth_steps.push(portvakt_core::signin::AuthStep {
                authentication_method: "Password",
                succeeded: code != ErrorCode::CredentialsWrong,
                at_ms: c.now * 1000,
                detail: why.to_string(),
            });
        }
        ev.fail(&portvakt_core::Error::new(code, why));
        c.st.signins.record(ev);
    };
    if let Some(wait) = c.st.throttle.wait(&account, address.as_deref(), c.now) {
        failed(
            None,
            ErrorCode::SignInThrottled,
            &format!("too many failed sign-ins; this attempt was not checked (wait {wait} s)"),
            false,
        );
        tracing::info!(target: "portvakt::signin", tenant = %c.view.tenant.name, user = %username, error_code = "PV3011", correlation_id = %c.cid, "sign-in throttled");
        return login_page(
            &c,
            &i,
            StatusCode::TOO_MANY_REQUESTS,
            &username,
            Some(form_error(ErrorCode::SignInThrottled, t.throttled(wait))),
        );
    }
    let user = match c.st.store.user_by_upn(&c.view.tenant.id, &username).await {
        Ok(u) => u,
        Err(e) => return c.page_error(e.into()),
    };
    // Same work whether or not the user exists.
    let hash = match user.as_ref().and_then(|u| u.password_hash.clone()) {
        Some(h) => h,
        None => dummy_hash().await,
    };
    let password_ok = password::verify(pw, hash).await
        && user.as_ref().is_some_and(|u| u.password_hash.is_some());
    let Some(user) = user.clone().filter(|_| password_ok) else {
        c.st.throttle.fail(&account, address.as_deref(), c.now);
        failed(
            user.as_ref(),
            ErrorCode::CredentialsWrong,
            if user.is_some() {
                "wrong password"
            } else {
                "no such user (the user name as typed)"
            },
            true,
        );
        tracing::info!(target: "portvakt::signin", tenant = %c.view.tenant.name, user = %username, error_code = "PV3010", correlation_id = %c.cid, "sign-in failed: wrong user name or password");
        return login_page(
            &c,
            &i,
            StatusCode::UNAUTHORIZED,
            &username,
            Some(form_error(
                ErrorCode::CredentialsWrong,
                t.wrong_credentials.to_string(),
            )),
        );
    };
    c.st.throttle.succeed(&account, address.as_deref(), c.now);
    if !user.account_enabled {
        failed(
            Some(&user),
            ErrorCode::AccountDisabled,
            "the account is disabled",
            true,
        );
        tracing::info!(target: "portvakt::signin", tenant = %c.view.tenant.name, user = %username, error_code = "PV3012", correlation_id = %c.cid, "sign-in refused: account disabled");
        return login_page(
            &c,
            &i,
            StatusCode::FORBIDDEN,
            &username,
            Some(form_error(
                ErrorCode::AccountDisabled,
                t.disabled.to_string(),
            )),
        );
    }
    // Conditional Access after the first factor: it may ask for more.
    crate::signin_steps::after_first_factor(
        &c,
        &i,
        &user,
        ip,
        crate::signin_steps::Factors::password(),
    )
    .await
}

/// After sign-in: ask for consent when needed, else issue the code.
pub(crate) async fn finish(
    c: &Ctx,
    i: &Interaction,
    user: &User,
    session: &Session,
) -> Result<Response, ApiError> {
    let app = c.view.application(&i.request.client_id).ok_or_else(|| {
        ApiError::new(ErrorCode::ClientUnknown, "the application no longer exists")
    })?;
    if needs_consent(&c.st, &c.view, app, user, &i.request).await? {
        return consent_page(c, i, user);
    }
    c.st.store.delete_interaction(&i.id).await?;
    issue_code(&c.st, &c.view, &i.request, session, c.now).await
}

/// POST `{issuer}/consent`: `consent=accept` or anything else (decline).
pub async fn consent_post(
    State(st): State<AppState>,
    Path(tenant): Path<String>,
    req: Request,
) -> Response {
    let (c, i, form, _) = match posted(st, &tenant, req).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let result = async {
        let (Some(uid), Some(sid)) = (&i.user_id, &i.sid) else {
            return Err(ApiError::new(
                ErrorCode::InteractionUnknown,
                "nobody is signed in on this sign-in yet",
            ));
        };
        let app = c.view.application(&i.request.client_id).ok_or_else(|| {
            ApiError::new(ErrorCode::ClientUnknown, "the application no longer exists")
        })?;
        c.st.store.delete_interaction(&i.id).await?;
        if form.get("consent") != Some("accept") {
            if let Some(code) = &i.request.device_user_code {
                crate::device::settle(&c.st, code, None).await?;
                return Ok(device_message(&c, &i, false));
            }
            return Ok(redirect_error(
                &c.view,
                &i.request,
                &ApiError::new(
                    ErrorCode::AccessDenied,
                    "the user declined the requested permissions",
                ),
                &c.cid,
            ));
        }
        let items = scopes_of(&c.view, app, &i.request)?.consent_items();
        c.st.store
            .add_consent(&c.view.tenant.id, uid, &app.client_id, &items)
            .await?;
        let user =
            c.st.store
                .user_by_id(&c.view.tenant.id, uid)
                .await?
                .ok_or_else(|| {
                    ApiError::new(
                        ErrorCode::InteractionUnknown,
                        "the signed-in user no longer exists",
                    )
                })?;
        if form.get("organisation") == Some("on") && offers_organisation(app, &user, &i) {
            // The admin's consent for everyone: the same change (and audit record) as
            // the portal's and the admin API's, initiated by this user.
            crate::admin::grant_admin_consent_as(&c.st, &c.view.tenant.name, &app.client_id, &user, &c.cid.to_string()).await?;
        }
        // The code carries the session's own auth_time; the session must still be live.
        let session =
            match crate::authorize::current_session(&c.st, &c.view, &c.headers, c.now).await? {
                Some((s, u)) if s.sid == *sid && u.id == user.id => s,
                _ => {
                    return Err(ApiError::new(
                        ErrorCode::InteractionUnknown,
                        "the session of this sign-in has ended; sign in again",
                    ))
                }
            };
        if let Some(code) = &i.request.device_user_code {
            if !crate::device::settle(&c.st, code, Some((&user.id, &session.sid, session.auth_time, &session.amr))).await? {
                return Err(ApiError::new(ErrorCode::UserCodeInvalid, format!("the device code {code} is no longer waiting for approval")));
            }
            tracing::info!(target: "portvakt::signin", tenant = %c.view.tenant.name, user = %user.user_principal_name, client_id = %app.client_id, correlation_id = %c.cid, "device approved");
            return Ok(device_message(&c, &i, true));
        }
        issue_code(&c.st, &c.view, &i.request, &session, c.now).await
    }
    .await;
    result.unwrap_or_else(|e| c.page_error(e))
}

fn device_message(c: &Ctx, i: &Interaction, approved: bool) -> Response {
    let t = c.t(Some(i));
    let text = if approved {
        t.device_done
    } else {
        t.device_denied
    };
    pages::render(
        StatusCode::OK,
        &pages::MessagePage {
            t,
            title: t.device_title.into(),
            text: text.into(),
            fix: None,
            code: None,
            correlation_id: c.cid.clone(),
            error_uri: String::new(),
        },
    )
}
