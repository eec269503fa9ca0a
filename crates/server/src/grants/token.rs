//! The token endpoint (RFC 6749 §3.2): client credentials today, the user grants as
//! they land. Every request, whatever its outcome, produces one sign-in event.

use crate::access::EventOrigin;
use crate::client_auth::{authenticate, claimed_client_id, ClientGate};
use crate::correlation::CorrelationId;
use crate::directory::TenantView;
use crate::discovery::unknown_tenant;
use crate::error::ApiError;
use crate::form::{self, Form, FORM_LIMIT};
use crate::state::AppState;
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use portvakt_core::grant::{decide_client_credentials, CLIENT_CREDENTIALS};
use portvakt_core::signin::{AuthStep, SignInEvent, SignInKind};
use portvakt_core::token::{access_token_lifetime, AccessTokenClaims, ACCESS_TOKEN_TYP};
use portvakt_core::ErrorCode;
use serde::Serialize;

/// A successful token response (RFC 6749 §5.1).
#[derive(Debug, Serialize)]
pub struct TokenResponse {
    /// The JWT.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Lifetime in seconds.
    pub expires_in: u32,
    /// Granted scopes.
    pub scope: String,
    /// The ID token (OpenID Connect), when `openid` was granted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    /// The refresh token, when `offline_access` was granted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
}

/// POST `{issuer}/oauth2/token`.
pub async fn token_handler(
    State(st): State<AppState>,
    Path(tenant): Path<String>,
    req: Request,
) -> Response {
    let now_ms = st.clock.now_ms();
    let now = now_ms.div_euclid(1000);
    let (parts, body) = req.into_parts();
    let correlation_id = parts
        .extensions
        .get::<CorrelationId>()
        .map(|c| c.0.clone())
        .unwrap_or_default();
    let started = std::time::Instant::now();
    let ip = crate::client_addr::client_ip(&parts.extensions).map(|ip| ip.to_string());
    // A token request is a non-interactive sign-in (client credentials: a service
    // principal's; set by the grant).
    let mut ev = SignInEvent::new(SignInKind::NonInteractive, now_ms, correlation_id, &tenant);
    ev.ip_address = ip;
    ev.user_agent = parts
        .headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let result = async {
        let view = st
            .directory
            .get(&tenant, now)
            .await?
            .ok_or_else(|| unknown_tenant(&tenant))?;
        ev.tenant_id = view.tenant.id.clone();
        form::check_content_type(&parts.headers)?;
        let bytes = form::read_body(body, FORM_LIMIT).await?;
        let form = form::parse(&bytes)?;
        let grant_type = form.require("grant_type")?;
        ev.protocol = Some(grant_type.to_string());
        match grant_type {
            CLIENT_CREDENTIALS => {
                let gate = ClientGate::for_event(&st, &ev);
                client_credentials(&view, &parts.headers, &form, now, &mut ev, &gate)
            }
            "authorization_code" => {
                crate::user_grants::authorization_code(
                    &st,
                    &view,
                    &parts.headers,
                    &form,
                    now,
                    &mut ev,
                )
                .await
            }
            "refresh_token" => {
                crate::user_grants::refresh_token(
                    &st,
                    &view,
                    &parts.headers,
                    &form,
                    now_ms,
                    &mut ev,
                )
                .await
            }
            portvakt_core::model::DEVICE_CODE_GRANT => {
                crate::device::device_code_grant(&st, &view, &parts.headers, &form, now, &mut ev)
                    .await
            }
            other => Err(ApiError::new(
                ErrorCode::UnsupportedGrantType,
                format!(
                    "grant_type '{}' is not supported; this issuer supports: {}",
                    other.escape_default(),
                    portvakt_core::model::SUPPORTED_GRANT_TYPES.join(", ")
                ),
            )),
        }
    }
    .await;
    if let Err(e) = &result {
        ev.error_code = Some(e.code);
        ev.failure_reason = Some(e.detail.clone());
    }
    ev.processing_ms = started.elapsed().as_millis().min(u128::from(u32::MAX)) as u32;
    if logged(&ev) {
        st.signins.record(ev);
    }
    match result {
        Ok(body) => token_response(&body),
        Err(e) => e.into_response(),
    }
}

/// Whether a token request is a sign-in record of its own. A code redemption or a
/// device's redemption that succeeds is not: the interactive sign-in that issued the
/// code (or approved the device) is the record. Their failures are, and so is every
/// refresh and client-credentials request. A device still waiting
/// (`authorization_pending`, `slow_down`) is polling, not signing in.
fn logged(ev: &SignInEvent) -> bool {
    let proto = ev.protocol.as_deref();
    !matches!(
        (proto, ev.error_code),
        (
            Some("authorization_code" | portvakt_core::model::DEVICE_CODE_GRANT),
            None
        ) | (
            _,
            Some(ErrorCode::DeviceCodePending | ErrorCode::DeviceCodeSlowDown)
        )
    )
}

fn token_response(body: &TokenResponse) -> Response {
    let mut res = axum::Json(body).into_response();
    // RFC 6749 §5.1: responses carrying tokens must not be cached.
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res.headers_mut()
        .insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    res
}

fn client_credentials(
    view: &TenantView,
    headers: &HeaderMap,
    form: &Form,
    now: i64,
    ev: &mut SignInEvent,
    gate: &ClientGate<'_>,
) -> Result<TokenResponse, ApiError> {
    ev.kind = SignInKind::ServicePrincipal;
    let (app, _method) = authenticate(view, headers, form, gate).inspect_err(|e| {
        ev.client_id = claimed_client_id(headers, form);
        ev.auth_steps.push(AuthStep {
            authentication_method: "Client secret",
            succeeded: false,
            at_ms: ev.created_at_ms,
            detail: e.code.title().to_string(),
        });
    })?;
    ev.client_id = Some(app.client_id.clone());
    ev.app_display_name = Some(app.display_name.clone());
    ev.auth_steps.push(AuthStep {
        authentication_method: "Client secret",
        succeeded: true,
        at_ms: ev.created_at_ms,
        detail: "Correct client secret".into(),
    });
    let resolved =
        decide_client_credentials(app, form.get("scope"), &form.all("resource"), |id| {
            view.resource(id)
        })?;
    ev.resource = Some(resolved.resource.clone());
    ev.resource_display_name = view
        .resource(&resolved.resource)
        .map(|r| r.display_name.clone());
    // Conditional Access for workload identities (Graph clientApplications).
    let facts = crate::access::service_facts(now, &app.client_id, &resolved.resource, ev.origin());
    crate::access::enforce(&view.access, facts, ev)?;
    let resource = view.resource(&resolved.resource);
    let lifetime = access_token_lifetime(
        view.tenant.access_token_lifetime_seconds,
        resource.and_then(|r| r.access_token_lifetime_seconds),
        app.access_token_lifetime_seconds,
    );
    let signer = view.access_token_signer(now)?;
    let jti = portvakt_jose::random_id(16);
    let scope = resolved.scope_string();
    let resolved_words = resolved.in_words_of(form.get("scope"));
    let claims = AccessTokenClaims {
        iss: view.issuer.clone(),
        sub: app.client_id.clone(),
        aud: resolved.resource,
        exp: now + i64::from(lifetime),
        iat: now,
        nbf: now,
        jti: jti.clone(),
        client_id: app.client_id.clone(),
        scope: scope.clone(),
        tid: view.tenant.id.clone(),
        sid: None,
        auth_time: None,
        amr: None,
        groups: None,
    };
    let access_token = crate::keys::sign_claims(signer, ACCESS_TOKEN_TYP, &claims)?;
    ev.token_id = Some(jti);
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in: lifetime,
        scope: resolved_words,
        id_token: None,
        refresh_token: None,
    })
}
