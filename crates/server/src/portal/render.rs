//! Rendering portal pages: the language, the strings, the security headers every page
//! carries, and the pages that say why something did not happen.

use crate::l10n::{self, Lang};
use crate::state::AppState;
use askama::Template;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use portvakt_core::ErrorCode;
use std::collections::HashMap;

crate::strings! {
    PortalStrings;
    title = "portal-title",
    nav = "portal-nav",
    signins = "portal-signins",
    policies = "portal-policies",
    audit = "portal-audit",
    sign_out = "portal-sign-out",
    signed_in_as = "portal-signed-in-as",
    other_language = "portal-other-language",
    times_utc = "portal-times-utc",
    filter = "portal-filter",
    clear = "portal-clear",
    time = "portal-time",
    user = "portal-user",
    application = "portal-application",
    status = "portal-status",
    error_code = "portal-error-code",
    ip_address = "portal-ip-address",
    ca_status = "portal-ca-status",
    interactive = "portal-interactive",
    correlation_id = "portal-correlation-id",
    range = "portal-range",
    range_1h = "portal-range-1h",
    range_24h = "portal-range-24h",
    range_7d = "portal-range-7d",
    range_30d = "portal-range-30d",
    any = "portal-any",
    success = "portal-success",
    failure = "portal-failure",
    interrupted = "portal-interrupted",
    not_applied = "portal-not-applied",
    yes = "portal-yes",
    no = "portal-no",
    older = "portal-older",
    newest = "portal-newest",
    download_csv = "portal-download-csv",
    download_json = "portal-download-json",
    no_records = "portal-no-records",
    details = "portal-details",
    tab_basic = "portal-tab-basic",
    tab_location = "portal-tab-location",
    tab_auth = "portal-tab-auth",
    tab_ca = "portal-tab-ca",
    tab_report_only = "portal-tab-report-only",
    tab_troubleshoot = "portal-tab-troubleshoot",
    record_id = "portal-record-id",
    date = "portal-date",
    failure_reason = "portal-failure-reason",
    additional_details = "portal-additional-details",
    resource = "portal-resource",
    client_app = "portal-client-app",
    protocol = "portal-protocol",
    processing_time = "portal-processing-time",
    token_id = "portal-token-id",
    event_types = "portal-event-types",
    location = "portal-location",
    trusted = "portal-trusted",
    user_agent = "portal-user-agent",
    operating_system = "portal-operating-system",
    browser = "portal-browser",
    auth_requirement = "portal-auth-requirement",
    auth_method = "portal-auth-method",
    auth_succeeded = "portal-auth-succeeded",
    auth_detail = "portal-auth-detail",
    policy = "portal-policy",
    result = "portal-result",
    grant_controls = "portal-grant-controls",
    session_controls = "portal-session-controls",
    conditions_satisfied = "portal-conditions-satisfied",
    conditions_not_satisfied = "portal-conditions-not-satisfied",
    reason = "portal-reason",
    no_policies = "portal-no-policies",
    no_report_only = "portal-no-report-only",
    cause = "portal-cause",
    fix = "portal-fix",
    chain = "portal-chain",
    troubleshooting_page = "portal-troubleshooting-page",
    sign_in_record = "portal-sign-in-record",
    policy_state = "portal-policy-state",
    state_enabled = "portal-state-enabled",
    state_disabled = "portal-state-disabled",
    state_report_only = "portal-state-report-only",
    set_state = "portal-set-state",
    state_changed = "portal-state-changed",
    no_policies_defined = "portal-no-policies-defined",
    modified = "portal-modified",
    activity = "portal-activity",
    category = "portal-category",
    initiated_by = "portal-initiated-by",
    target = "portal-target",
    property = "portal-property",
    old_value = "portal-old-value",
    new_value = "portal-new-value",
    no_audits = "portal-no-audits",
    refused_title = "portal-refused-title",
    refused_text = "portal-refused-text",
    refused_fix = "portal-refused-fix",
    signin_failed = "portal-signin-failed",
    session_ended = "portal-session-ended",
    session_ended_text = "portal-session-ended-text",
    csrf_failed = "portal-csrf-failed",
    csrf_failed_text = "portal-csrf-failed-text",
    signed_out = "portal-signed-out",
    signed_out_text = "portal-signed-out-text",
    sign_in_again = "portal-sign-in-again",
    not_found = "portal-not-found",
    not_found_text = "portal-not-found-text",
    skip = "portal-skip",
    whatif = "portal-whatif",
    whatif_intro = "portal-whatif-intro",
    run = "portal-run",
    platform = "portal-platform",
    client_app_type = "portal-client-app-type",
    device_code_flow = "portal-device-code-flow",
    decision = "portal-decision",
    applies = "portal-applies",
    unknown = "portal-unknown",
    replay = "portal-replay",
    replay_intro = "portal-replay-intro",
    replay_policy = "portal-replay-policy",
    replay_none = "portal-replay-none",
    replay_state = "portal-replay-state",
    replay_since = "portal-replay-since",
    replay_draft = "portal-replay-draft",
    replay_run = "portal-replay-run",
    replay_replayed = "portal-replay-replayed",
    replay_not_replayable = "portal-replay-not-replayable",
    replay_newly_blocked = "portal-replay-newly-blocked",
    replay_newly_mfa = "portal-replay-newly-mfa",
    replay_newly_interaction = "portal-replay-newly-interaction",
    replay_no_longer = "portal-replay-no-longer",
    replay_sign_ins = "portal-replay-sign-ins",
    replay_users = "portal-replay-users",
    replay_examples = "portal-replay-examples",
    replay_per_app = "portal-replay-per-app",
    replay_before = "portal-replay-before",
    replay_after = "portal-replay-after",
    new_policy = "portal-new-policy",
    policy_name = "portal-policy-name",
    include_users = "portal-include-users",
    exclude_users = "portal-exclude-users",
    include_apps = "portal-include-apps",
    policy_json = "portal-policy-json",
    save = "portal-save",
    edit = "portal-edit",
    export = "portal-export",
    import = "portal-import",
    import_text = "portal-import-text",
    imported = "portal-imported",
    overview = "portal-overview",
    chart_status = "portal-chart-status",
    chart_reasons = "portal-chart-reasons",
    chart_policies = "portal-chart-policies",
    chart_policy = "portal-chart-policy",
    chart_numbers = "portal-chart-numbers",
    no_failures = "portal-no-failures",
    users = "portal-users",
    groups = "portal-groups",
    apps = "portal-apps",
    keys = "portal-keys",
    search = "portal-search",
    roles = "portal-roles",
    actions = "portal-actions",
    enabled = "portal-enabled",
    disabled = "portal-disabled",
    disable = "portal-disable",
    enable = "portal-enable",
    revoke_sessions = "portal-revoke-sessions",
    reset_mfa = "portal-reset-mfa",
    new_user = "portal-new-user",
    display_name = "portal-display-name",
    initial_password = "portal-initial-password",
    create = "portal-create",
    done = "portal-done",
    group = "portal-group",
    members = "portal-members",
    members_note = "portal-members-note",
    new_group = "portal-new-group",
    app_created = "portal-app-created",
    secret_once = "portal-secret-once",
    grant_types = "portal-grant-types",
    redirect_uris = "portal-redirect-uris",
    allowed_scopes = "portal-allowed-scopes",
    admin_consent = "portal-admin-consent",
    confidential = "portal-confidential",
    withdraw = "portal-withdraw",
    grant = "portal-grant",
    new_app = "portal-new-app",
    client_id_optional = "portal-client-id-optional",
    resources = "portal-resources",
    scopes = "portal-scopes",
    new_resource = "portal-new-resource",
    identifier = "portal-identifier",
    algorithm = "portal-algorithm",
    active_from = "portal-active-from",
    published_until = "portal-published-until",
    rotate = "portal-rotate",
    rotate_note = "portal-rotate-note",
    not_enabled = "portal-not-enabled",
    report_only_success = "portal-report-only-success",
    report_only_failure = "portal-report-only-failure",
    report_only_not_applied = "portal-report-only-not-applied",
    report_only_interrupted = "portal-report-only-interrupted",
    reset_password = "portal-reset-password",
    new_password_for = "portal-new-password-for",
    password_once = "portal-password-once",
    add_member = "portal-add-member",
    remove_member = "portal-remove-member",
    member_user = "portal-member-user",
    list_truncated = "portal-list-truncated",
}

impl PortalStrings {
    /// A Graph value of `conditionalAccessStatus` or a policy's `result`, in words.
    pub fn result(&self, graph: &str) -> String {
        match graph {
            "success" => self.success,
            "failure" => self.failure,
            "notApplied" => self.not_applied,
            "notEnabled" => self.not_enabled,
            "reportOnlySuccess" => self.report_only_success,
            "reportOnlyFailure" => self.report_only_failure,
            "reportOnlyNotApplied" => self.report_only_not_applied,
            "reportOnlyInterrupted" => self.report_only_interrupted,
            other => other,
        }
        .to_string()
    }
}

/// The cookie that remembers the language chosen with `?lang=`.
pub const LANG_COOKIE: &str = "pv_portal_lang";

/// The language of a page and its strings.
#[derive(Debug, Clone, Copy)]
pub struct Ui {
    /// The language.
    pub lang: Lang,
    /// The portal's strings in it.
    pub t: &'static PortalStrings,
    /// The page's own strings (sign-in pages, error titles) in it.
    pub pages: &'static crate::pages::Strings,
    /// Chosen with `?lang=` on this request (remember it).
    pub chosen: bool,
}

impl Ui {
    /// `?lang=`, else the remembered choice, else `Accept-Language`, else English.
    pub fn of(q: &HashMap<String, String>, headers: &HeaderMap) -> Self {
        let asked = q.get("lang").and_then(|l| Lang::from_tag(l));
        let lang = asked
            .or_else(|| crate::cookies::get(headers, LANG_COOKIE).and_then(|l| Lang::from_tag(&l)))
            .unwrap_or_else(|| l10n::pick(None, headers));
        Ui {
            lang,
            t: PortalStrings::of(lang),
            pages: crate::pages::Strings::of(lang),
            chosen: asked.is_some(),
        }
    }

    /// The other language (the switch in the page).
    pub fn other(&self) -> Lang {
        match self.lang {
            Lang::En => Lang::Sv,
            Lang::Sv => Lang::En,
        }
    }
}

/// The Content-Security-Policy of every portal page: no inline script, no framing,
/// forms post only here, the stylesheet and images only from here.
pub const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; script-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The headers of every portal response.
pub fn secure_headers(h: &mut HeaderMap) {
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
}

/// Render a page with the portal's headers (and the language cookie when the
/// language was chosen on this request).
pub fn page(status: StatusCode, ui: &Ui, tpl: &impl Template) -> Response {
    let mut res = match tpl.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "portal template failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "template error").into_response()
        }
    };
    let h = res.headers_mut();
    secure_headers(h);
    if ui.chosen {
        if let Ok(v) = HeaderValue::from_str(&format!(
            "{LANG_COOKIE}={}; Path=/portal/; SameSite=Lax; Max-Age=31536000",
            ui.lang.tag()
        )) {
            h.append(header::SET_COOKIE, v);
        }
    }
    res
}

/// A page that says something did not happen, why, and what to do.
#[derive(Template)]
#[template(path = "portal/problem.html")]
pub struct ProblemPage<'a> {
    pub ui: &'a Ui,
    pub title: String,
    pub text: String,
    pub fix: Option<String>,
    pub command: Option<String>,
    pub code: Option<&'static str>,
    pub correlation_id: String,
    pub error_uri: Option<String>,
    pub again: Option<String>,
}

/// A plain problem page.
pub fn problem(
    _st: &AppState,
    ui: &Ui,
    status: StatusCode,
    title: &str,
    text: &str,
    cid: &str,
) -> Response {
    page(
        status,
        ui,
        &ProblemPage {
            ui,
            title: title.to_string(),
            text: text.to_string(),
            fix: None,
            command: None,
            code: None,
            correlation_id: cid.to_string(),
            error_uri: None,
            again: None,
        },
    )
}

/// The sign-in was refused: the code's title, the reason, the fix and the
/// troubleshooting page with the refusal's correlation id.
pub fn refusal(
    st: &AppState,
    ui: &Ui,
    tenant: &str,
    code: Option<ErrorCode>,
    detail: &str,
    cid: &str,
) -> Response {
    let status = code
        .and_then(|c| StatusCode::from_u16(c.status()).ok())
        .unwrap_or(StatusCode::BAD_REQUEST);
    page(
        status,
        ui,
        &ProblemPage {
            ui,
            title: code
                .map(|c| ui.pages.code_title(c))
                .unwrap_or_else(|| ui.t.signin_failed.to_string()),
            text: detail.to_string(),
            fix: code.map(|c| ui.pages.code_fix(c)),
            command: None,
            code: code.map(|c| c.code()),
            correlation_id: cid.to_string(),
            error_uri: code.map(|c| {
                if cid.is_empty() {
                    format!("{}/errors/{}", st.config.public_url, c.code())
                } else {
                    format!(
                        "{}/errors/{}?correlation_id={cid}",
                        st.config.public_url,
                        c.code()
                    )
                }
            }),
            again: Some(format!("/portal/{tenant}/")),
        },
    )
}

/// Signed in, but not an admin of the tenant.
pub fn not_admin(_st: &AppState, ui: &Ui, tenant: &str, upn: &str, cid: &str) -> Response {
    page(
        StatusCode::FORBIDDEN,
        ui,
        &ProblemPage {
            ui,
            title: ui.t.refused_title.to_string(),
            text: format!("{} {upn}. {}", ui.t.signed_in_as, ui.t.refused_text),
            fix: Some(ui.t.refused_fix.to_string()),
            command: Some(format!(
                "portvakt user set-roles --tenant {tenant} {upn} admin"
            )),
            code: None,
            correlation_id: cid.to_string(),
            error_uri: None,
            again: None,
        },
    )
}

/// A form without this session's CSRF token.
pub fn csrf_refused(_st: &AppState, ui: &Ui, cid: &str) -> Response {
    page(
        StatusCode::FORBIDDEN,
        ui,
        &ProblemPage {
            ui,
            title: ui.t.csrf_failed.to_string(),
            text: ui.t.csrf_failed_text.to_string(),
            fix: None,
            command: None,
            code: Some(ErrorCode::CsrfFailed.code()),
            correlation_id: cid.to_string(),
            error_uri: None,
            again: None,
        },
    )
}

/// After sign-out.
pub fn signed_out(_st: &AppState, ui: &Ui, tenant: &str) -> Response {
    page(
        StatusCode::OK,
        ui,
        &ProblemPage {
            ui,
            title: ui.t.signed_out.to_string(),
            text: ui.t.signed_out_text.to_string(),
            fix: None,
            command: None,
            code: None,
            correlation_id: String::new(),
            error_uri: None,
            again: Some(format!("/portal/{tenant}/")),
        },
    )
}

/// `GET /portal/static/portal.css`.
pub async fn stylesheet() -> Response {
    let mut res = (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/css; charset=utf-8"),
        )],
        include_str!("../../templates/portal/portal.css"),
    )
        .into_response();
    let h = res.headers_mut();
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    res
}
