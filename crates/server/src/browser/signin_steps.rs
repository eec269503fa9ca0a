//! The steps of an interactive sign-in after the password: Conditional Access, a
//! second factor (TOTP: verify, or enrol first), a password change, and then the
//! session.
//!
//! Conditional Access is evaluated after the first factor with what the sign-in has
//! done so far (`amr`), and again after each further step, until it allows (the
//! session starts, with `amr` `pwd` + `otp` + `mfa` when a code was given), blocks,
//! or fails closed (an error page naming the policy). No session exists before the
//! policies allow one; the pending sign-in remembers the user whose password was
//! accepted (`mfa_user_id`), so the next step need not ask for it again.

use crate::access::{self, Authenticated, Origin};
use crate::error::ApiError;
use crate::pages::{self, FormError, Strings};
use crate::signin_pages::{finish, posted, Ctx};
use crate::state::AppState;
use crate::{cookies, mfa, password};
use askama::Template;
use axum::extract::{Path, Request, State};
use axum::http::{header, StatusCode};
use axum::response::Response;
use portvakt_core::flow::Session;
use portvakt_core::model::User;
use portvakt_core::signin::{AuthStep, SignInEvent, SignInKind};
use portvakt_core::ErrorCode;
use portvakt_policy::graph::{ClientAppType, PersistentBrowserMode, TransferMethod};
use portvakt_policy::Decision;
use portvakt_store::Interaction;
use std::net::IpAddr;

/// TOTP failures per user before further codes wait (like passwords).
const OTP_THRESHOLD: u32 = 5;

/// What the sign-in has done so far.
#[derive(Debug, Clone, Default)]
pub struct Factors {
    /// `amr`.
    pub amr: Vec<String>,
    /// When the second factor was done.
    pub second_factor_at: Option<i64>,
}

impl Factors {
    /// The password alone.
    pub fn password() -> Self {
        Self {
            amr: vec!["pwd".into()],
            second_factor_at: None,
        }
    }
    fn with_otp(at: i64) -> Self {
        Self {
            amr: vec!["pwd".into(), "otp".into(), "mfa".into()],
            second_factor_at: Some(at),
        }
    }
    /// What the pending sign-in `i` has done.
    pub fn of(i: &Interaction) -> Self {
        match i.second_factor_at {
            Some(at) => Self::with_otp(at),
            None => Self::password(),
        }
    }
}

/// The second-factor page.
#[derive(Template)]
#[template(path = "mfa.html")]
struct MfaPage<'a> {
    t: &'a Strings,
    action: String,
    interaction: String,
    csrf: String,
    user: String,
    enroll: Option<Enrolment>,
    error: Option<FormError>,
}

/// What an enrolment page shows.
struct Enrolment {
    qr_svg: String,
    uri: String,
    secret: String,
}

/// The password-change page.
#[derive(Template)]
#[template(path = "password_change.html")]
struct PasswordPage<'a> {
    t: &'a Strings,
    action: String,
    interaction: String,
    csrf: String,
    user: String,
    error: Option<FormError>,
}

fn origin<'a>(c: &'a Ctx, ip: Option<IpAddr>) -> Origin<'a> {
    Origin {
        ip,
        user_agent: c
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok()),
    }
}

/// Evaluate Conditional Access for the user whose password was just accepted (or who
/// just did a further step) and go on: start the session, or ask for what is due.
pub(crate) async fn after_first_factor(
    c: &Ctx,
    i: &Interaction,
    user: &User,
    ip: Option<IpAddr>,
    factors: Factors,
) -> Response {
    match next_step(c, i, user, ip, factors).await {
        Ok(r) => r,
        Err(e) => c.page_error(e),
    }
}

async fn next_step(
    c: &Ctx,
    i: &Interaction,
    user: &User,
    ip: Option<IpAddr>,
    factors: Factors,
) -> Result<Response, ApiError> {
    let client_app = i.request.client_app_type.as_deref().and_then(|s| {
        serde_json::from_value::<ClientAppType>(serde_json::Value::String(s.into())).ok()
    });
    let mut facts = access::user_facts(
        &c.view.access,
        c.now,
        user,
        &i.request.client_id,
        i.request.resource.as_deref(),
        origin(c, ip),
        client_app,
        Authenticated {
            amr: &factors.amr,
            auth_time: c.now,
            interactive: true,
        },
    );
    if let Some(at) = factors.second_factor_at {
        facts.authentication.mfa_time = Some(at);
    }
    if i.request.device_user_code.is_some() {
        facts.authentication_flow = Some(TransferMethod::DeviceCodeFlow);
    }
    // One sign-in record for this step's outcome, with the facts and the evaluation.
    let mut ev = interactive_event(c, i, ip, Some(user), &user.user_principal_name);
    ev.auth_steps = steps(c, &factors);
    let outcome = access::enforce(&c.view.access, facts, &mut ev);
    let evaluation = match outcome {
        Ok(e) => e,
        Err(e) => match ev.evaluation.clone() {
            Some(evaluation) => {
                ev.fail(&portvakt_core::Error::new(e.code, e.detail.clone()));
                evaluation
            }
            // The policies could not be evaluated at all (PV4007).
            None => {
                ev.fail(&portvakt_core::Error::new(e.code, e.detail.clone()));
                c.st.signins.record(ev);
                return Err(e);
            }
        },
    };
    tracing::debug!(target: "portvakt::signin", tenant = %c.view.tenant.name, user = %user.user_principal_name, status = ?evaluation.conditional_access_status, correlation_id = %c.cid, "conditional access evaluated");
    match &evaluation.decision {
        Decision::Allowed => {
            let persistent =
                evaluation.session.persistent_browser == Some(PersistentBrowserMode::Always);
            let res = start_session(c, i, user, factors, persistent).await;
            if let Err(e) = &res {
                ev.fail(&portvakt_core::Error::new(e.code, e.detail.clone()));
            }
            c.st.signins.record(ev);
            res
        }
        Decision::Blocked { .. } | Decision::FailedClosed { .. } => {
            c.st.signins.record(ev);
            // A device waiting for this sign-in is told no.
            if let Some(code) = &i.request.device_user_code {
                crate::device::settle(&c.st, code, None).await?;
            }
            c.st.store.delete_interaction(&i.id).await?;
            tracing::info!(target: "portvakt::signin", tenant = %c.view.tenant.name, user = %user.user_principal_name, correlation_id = %c.cid, "sign-in refused by Conditional Access");
            Err(access::refusal(&evaluation)
                .unwrap_or_else(|| ApiError::new(ErrorCode::ConditionalAccessBlocked, "refused")))
        }
        Decision::InteractionRequired { .. } => {
            let due = evaluation.required();
            // Interrupted: the user is asked for more, the sign-in goes on.
            ev.interrupted = true;
            if due.mfa && factors.second_factor_at.is_none() {
                c.st.signins.record(ev);
                return mfa_page(c, i, user, None, StatusCode::OK).await;
            }
            if due.password_change {
                c.st.signins.record(ev);
                c.st.store
                    .set_interaction_mfa(&i.id, &user.id, None, factors.second_factor_at)
                    .await?;
                return Ok(password_page(c, i, user, None, StatusCode::OK));
            }
            // A fresh interactive sign-in satisfies sign-in frequency; anything left is
            // not something this page can do.
            ev.interrupted = false;
            c.st.signins.record(ev);
            Err(access::refusal(&evaluation)
                .unwrap_or_else(|| ApiError::new(ErrorCode::MfaRequired, "more is required")))
        }
    }
}

/// The sign-in record of an interactive attempt of the pending sign-in `i`; `typed`
/// is the user name as typed (the record's name when no such user exists — the
/// caller learns nothing from it).
pub(crate) fn interactive_event(
    c: &Ctx,
    i: &Interaction,
    ip: Option<IpAddr>,
    user: Option<&User>,
    typed: &str,
) -> SignInEvent {
    let mut ev = SignInEvent::new(
        SignInKind::Interactive,
        c.st.clock.now_ms(),
        c.cid.clone(),
        c.view.tenant.name.clone(),
    );
    ev.tenant_id = c.view.tenant.id.clone();
    ev.protocol = Some(
        if i.request.device_user_code.is_some() {
            "deviceCode"
        } else {
            "authorization_code"
        }
        .into(),
    );
    ev.client_id = Some(i.request.client_id.clone());
    ev.app_display_name = c
        .view
        .application(&i.request.client_id)
        .map(|a| a.display_name.clone());
    ev.resource = i.request.resource.clone();
    ev.ip_address = ip.map(|a| a.to_string());
    ev.user_agent = c
        .headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    match user {
        Some(u) => crate::user_grants::note_user(&mut ev, u),
        None => ev.user_principal_name = Some(typed.to_string()),
    }
    ev
}

/// The authentication steps `factors` stand for.
fn steps(c: &Ctx, factors: &Factors) -> Vec<AuthStep> {
    let mut v = vec![AuthStep {
        authentication_method: "Password",
        succeeded: true,
        at_ms: c.now * 1000,
        detail: "Correct password".into(),
    }];
    if let Some(at) = factors.second_factor_at {
        v.push(AuthStep {
            authentication_method: "Authenticator app (TOTP)",
            succeeded: true,
            at_ms: at * 1000,
            detail: "MFA completed".into(),
        });
    }
    v
}

/// The TOTP page: verification, or enrolment (with a new secret kept sealed in the
/// pending sign-in until the user proves they have it) when the user has none.
async fn mfa_page(
    c: &Ctx,
    i: &Interaction,
    user: &User,
    error: Option<FormError>,
    status: StatusCode,
) -> Result<Response, ApiError> {
    let mut enroll = None;
    let mut enroll_sealed = None;
    if c.st
        .store
        .user_totp(&c.view.tenant.id, &user.id)
        .await?
        .is_none()
    {
        // Keep the secret of an enrolment in progress: the user may have scanned it.
        let secret = match &i.enroll_sealed {
            Some(s) => mfa::open(&c.st.master, &enrol_key(&i.id), s)?,
            None => mfa::new_secret(),
        };
        let issuer = format!("Portvakt {}", c.view.tenant.display_name);
        let uri = mfa::otpauth_uri(&secret, &issuer, &user.user_principal_name)?;
        let svg = mfa::qr_svg(&uri)?;
        let svg = match svg.find("<svg") {
            Some(at) => svg[at..].to_string(),
            None => svg,
        };
        enroll_sealed = Some(mfa::seal(&c.st.master, &enrol_key(&i.id), &secret)?);
        enroll = Some(Enrolment {
            qr_svg: svg,
            uri,
            secret: mfa::base32(&secret),
        });
    }
    c.st.store
        .set_interaction_mfa(&i.id, &user.id, enroll_sealed.as_deref(), None)
        .await?;
    let t = c.t(Some(i));
    Ok(pages::render_with_form_targets(
        status,
        &MfaPage {
            t,
            action: format!("{}/login/mfa", c.view.issuer),
            interaction: i.id.clone(),
            csrf: i.csrf.clone(),
            user: user.user_principal_name.clone(),
            enroll,
            error,
        },
        &[&i.request.redirect_uri],
    ))
}

/// The associated data of a secret being enrolled: bound to its pending sign-in.
fn enrol_key(interaction: &str) -> String {
    format!("enrol:{interaction}")
}

fn password_page(
    c: &Ctx,
    i: &Interaction,
    user: &User,
    error: Option<FormError>,
    status: StatusCode,
) -> Response {
    pages::render_with_form_targets(
        status,
        &PasswordPage {
            t: c.t(Some(i)),
            action: format!("{}/login/password", c.view.issuer),
            interaction: i.id.clone(),
            csrf: i.csrf.clone(),
            user: user.user_principal_name.clone(),
            error,
        },
        &[&i.request.redirect_uri],
    )
}

/// The user whose password this pending sign-in accepted.
async fn pending_user(c: &Ctx, i: &Interaction) -> Result<User, ApiError> {
    let uid = i.mfa_user_id.as_deref().ok_or_else(|| {
        ApiError::new(
            ErrorCode::InteractionUnknown,
            "this sign-in has not accepted a password yet; start at the sign-in page",
        )
    })?;
    let user = c
        .st
        .store
        .user_by_id(&c.view.tenant.id, uid)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::InteractionUnknown, "the user no longer exists"))?;
    if !user.account_enabled {
        return Err(ApiError::new(
            ErrorCode::AccountDisabled,
            format!("account '{}' is disabled", user.user_principal_name),
        ));
    }
    Ok(user)
}

/// POST `{issuer}/login/mfa`: the TOTP code (`otp`).
pub async fn mfa_post(
    State(st): State<AppState>,
    Path(tenant): Path<String>,
    req: Request,
) -> Response {
    let (c, i, form, ip) = match posted(st, &tenant, req).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let result = async {
        let user = pending_user(&c, &i).await?;
        let form_error = |code: ErrorCode, message: String| FormError {
            message,
            code: code.code(),
            correlation_id: c.cid.clone(),
        };
        let t = c.t(Some(&i));
        // Throttled like passwords: per user (codes are only 10^6).
        let key = format!("otp:{}:{}", c.view.tenant.id, user.id);
        let record_failure = |code: ErrorCode, why: &str| {
            let mut ev = interactive_event(&c, &i, ip, Some(&user), &user.user_principal_name);
            ev.auth_steps = steps(&c, &Factors::password());
            ev.auth_steps.push(AuthStep {
                authentication_method: "Authenticator app (TOTP)",
                succeeded: false,
                at_ms: c.now * 1000,
                detail: why.to_string(),
            });
            ev.fail(&portvakt_core::Error::new(code, why));
            c.st.signins.record(ev);
        };
        if let Some(wait) = c.st.throttle.key_wait(&key, OTP_THRESHOLD, c.now) {
            record_failure(ErrorCode::OtpThrottled, "too many wrong verification codes");
            let mut res = mfa_page(&c, &i, &user, Some(form_error(ErrorCode::OtpThrottled, t.mfa_throttled(wait))), StatusCode::TOO_MANY_REQUESTS).await?;
            res.headers_mut().insert(header::RETRY_AFTER, axum::http::HeaderValue::from(wait));
            return Ok(res);
        }
        let code = form.get("otp").unwrap_or("");
        let stored = c.st.store.user_totp(&c.view.tenant.id, &user.id).await?;
        let (secret, enrolling) = match (&stored, &i.enroll_sealed) {
            (Some((sealed, _)), _) => (mfa::open(&c.st.master, &user.id, sealed)?, false),
            (None, Some(sealed)) => (mfa::open(&c.st.master, &enrol_key(&i.id), sealed)?, true),
            (None, None) => return mfa_page(&c, &i, &user, None, StatusCode::OK).await,
        };
        let step = mfa::check(&secret, code, c.now);
        if enrolling && step.is_some() {
            let sealed = mfa::seal(&c.st.master, &user.id, &secret)?;
            c.st.store
                .set_user_totp(&c.view.tenant.id, &user.id, Some(&sealed))
                .await?;
            tracing::info!(target: "portvakt::signin", tenant = %c.view.tenant.name, user = %user.user_principal_name, correlation_id = %c.cid, "authenticator registered");
        }
        // A code counts once (RFC 6238 §5.2): the store takes only a later step.
        let fresh = match step {
            Some(s) => c.st.store.use_totp_step(&c.view.tenant.id, &user.id, s).await?,
            None => false,
        };
        if !fresh {
            c.st.throttle.key_fail(&key, c.now);
            tracing::info!(target: "portvakt::signin", tenant = %c.view.tenant.name, user = %user.user_principal_name, error_code = "PV4008", correlation_id = %c.cid, "wrong or reused verification code");
            record_failure(
                ErrorCode::OtpWrong,
                if step.is_some() {
                    "the verification code was already used"
                } else {
                    "wrong verification code"
                },
            );
            let msg = if step.is_some() { t.mfa_reused } else { t.mfa_wrong };
            return mfa_page(&c, &i, &user, Some(form_error(ErrorCode::OtpWrong, msg.to_string())), StatusCode::UNAUTHORIZED).await;
        }
        c.st.store.set_interaction_mfa(&i.id, &user.id, None, Some(c.now)).await?;
        let mut i = i.clone();
        i.second_factor_at = Some(c.now);
        i.enroll_sealed = None;
        Ok(after_first_factor(&c, &i, &user, ip, Factors::of(&i)).await)
    }
    .await;
    result.unwrap_or_else(|e| c.page_error(e))
}

/// POST `{issuer}/login/password`: a new password (`new_password`, `confirm_password`).
pub async fn password_post(
    State(st): State<AppState>,
    Path(tenant): Path<String>,
    req: Request,
) -> Response {
    let (c, i, form, ip) = match posted(st, &tenant, req).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let result = async {
        let user = pending_user(&c, &i).await?;
        let t = c.t(Some(&i));
        let new = form.get("new_password").unwrap_or("");
        let problem = if new.chars().count() < 8 {
            Some(t.password_too_short)
        } else if Some(new) != form.get("confirm_password") {
            Some(t.password_mismatch)
        } else {
            None
        };
        if let Some(p) = problem {
            let e = FormError {
                message: p.to_string(),
                code: ErrorCode::InvalidParameter.code(),
                correlation_id: c.cid.clone(),
            };
            return Ok(password_page(&c, &i, &user, Some(e), StatusCode::BAD_REQUEST));
        }
        if let Some(old) = &user.password_hash {
            if password::verify(new.to_string(), old.clone()).await {
                let e = FormError {
                    message: t.password_same.to_string(),
                    code: ErrorCode::InvalidParameter.code(),
                    correlation_id: c.cid.clone(),
                };
                return Ok(password_page(&c, &i, &user, Some(e), StatusCode::BAD_REQUEST));
            }
        }
        let hash = password::hash(new.to_string()).await?;
        c.st.store.set_password(&c.view.tenant.id, &user.id, &hash, c.now).await?;
        tracing::info!(target: "portvakt::signin", tenant = %c.view.tenant.name, user = %user.user_principal_name, correlation_id = %c.cid, "password changed at sign-in");
        let mut user = user;
        user.password_changed_at = Some(c.now);
        Ok(after_first_factor(&c, &i, &user, ip, Factors::of(&i)).await)
    }
    .await;
    result.unwrap_or_else(|e| c.page_error(e))
}

/// Start the session (the policies allowed it) and continue to consent or the code.
async fn start_session(
    c: &Ctx,
    i: &Interaction,
    user: &User,
    factors: Factors,
    persistent: bool,
) -> Result<Response, ApiError> {
    let cookie = portvakt_jose::random_id(32);
    // A sign-in in the very second of a revocation must not count as revoked.
    let auth_time = if user.revoked(c.now) {
        user.tokens_valid_from + 1
    } else {
        c.now
    };
    let session = Session {
        sid: portvakt_jose::random_id(16),
        tenant_id: c.view.tenant.id.clone(),
        user_id: user.id.clone(),
        auth_time,
        amr: factors.amr,
        expires_at: c.now + crate::authorize::SESSION_LIFETIME,
    };
    c.st.store
        .put_session(&portvakt_jose::sha256(cookie.as_bytes()), &session)
        .await?;
    c.st.store
        .set_interaction_user(&i.id, &user.id, &session.sid)
        .await?;
    tracing::info!(target: "portvakt::signin", tenant = %c.view.tenant.name, user = %user.user_principal_name, sid = %session.sid, correlation_id = %c.cid, "signed in");
    let mut res = finish(c, i, user, &session).await?;
    // persistentBrowser always: the cookie outlives the browser; otherwise it is a
    // browser-session cookie (Conditional Access `persistentBrowser: never`).
    res.headers_mut().append(
        header::SET_COOKIE,
        cookies::set(
            cookies::SESSION,
            &cookie,
            &c.view.tenant.name,
            c.st.config.secure_cookies(),
            persistent.then_some(crate::authorize::SESSION_LIFETIME),
        ),
    );
    Ok(res)
}
