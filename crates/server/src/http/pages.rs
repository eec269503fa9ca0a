//! Server-rendered pages (askama) in English and Swedish.
//!
//! The language comes from `ui_locales` (OIDC Core §3.1.2.1) when it names one we
//! have, else from `Accept-Language`, else English (`l10n::pick`). The text lives in
//! the Fluent files under `crates/server/locales`; [`Strings`] holds one language's
//! page strings, filled once from its bundle, so templates read `{{ t.sign_in }}`.

use crate::errors_page;
use crate::l10n;
use askama::Template;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use fluent_bundle::FluentArgs;
use portvakt_core::ErrorCode;

/// Declares a strings struct (`strings! { Name; field = "message-id", … }`): each field
/// is filled from the Fluent message named beside it, once per language.
#[macro_export]
#[doc(hidden)]
macro_rules! strings {
    ($name:ident; $( $field:ident = $id:literal, )*) => {
        /// The page strings of one language, each from its Fluent message.
        #[derive(Debug)]
        pub struct $name {
            /// The language.
            pub language: $crate::l10n::Lang,
            /// BCP 47 tag, for `<html lang>`.
            pub lang: &'static str,
            $(
                #[doc = concat!("Fluent message `", $id, "`.")]
                pub $field: &'static str,
            )*
        }

        impl $name {
            /// The Fluent message ids behind the fields (each must exist in every
            /// language: `l10n` tests check).
            pub const MESSAGE_IDS: &'static [&'static str] = &[ $( $id, )* ];

            fn load(language: $crate::l10n::Lang) -> Self {
                $name {
                    language,
                    lang: language.tag(),
                    $( $field: $crate::l10n::leak($crate::l10n::message(language, $id)), )*
                }
            }

            /// The strings of `lang`, built on first use.
            pub fn of(lang: $crate::l10n::Lang) -> &'static $name {
                static EN: std::sync::OnceLock<$name> = std::sync::OnceLock::new();
                static SV: std::sync::OnceLock<$name> = std::sync::OnceLock::new();
                match lang {
                    $crate::l10n::Lang::En => EN.get_or_init(|| $name::load($crate::l10n::Lang::En)),
                    $crate::l10n::Lang::Sv => SV.get_or_init(|| $name::load($crate::l10n::Lang::Sv)),
                }
            }
        }
    };
}

strings! {
    Strings;
    sign_in = "sign-in",
    sign_in_to = "sign-in-to",
    username = "username",
    password = "password",
    consent_title = "consent-title",
    consent_asks = "consent-asks",
    consent_organisation = "consent-organisation",
    consent_organisation_hint = "consent-organisation-hint",
    signed_in_as = "signed-in-as",
    accept = "accept",
    deny = "deny",
    correlation_id = "correlation-id",
    what_to_do = "what-to-do",
    more = "more-about-error",
    sign_out = "sign-out",
    sign_out_confirm = "sign-out-confirm",
    signed_out = "signed-out",
    signed_out_text = "signed-out-text",
    wrong_credentials = "wrong-credentials",
    disabled = "account-disabled",
    error_title = "error-title",
    device_title = "device-title",
    device_approving = "device-approving",
    device_warning = "device-warning",
    device_prompt = "device-prompt",
    next = "next",
    device_done = "device-done",
    device_denied = "device-denied",
    errors_index_title = "errors-index-title",
    errors_index_intro = "errors-index-intro",
    errors_all_codes = "errors-all-codes",
    errors_other_language = "errors-other-language",
    errors_oauth_error = "errors-oauth-error",
    errors_http_status = "errors-http-status",
    errors_means = "errors-means",
    errors_fix = "errors-fix",
    errors_persists = "errors-persists",
    errors_check = "errors-check",
    errors_logs_note = "errors-logs-note",
    errors_correlation_id = "errors-correlation-id",
    errors_find_signin = "errors-find-signin",
    errors_code = "errors-code",
    errors_title = "errors-title",
    mfa_title = "mfa-title",
    mfa_prompt = "mfa-prompt",
    mfa_code = "mfa-code",
    mfa_verify = "mfa-verify",
    mfa_enroll_title = "mfa-enroll-title",
    mfa_enroll_intro = "mfa-enroll-intro",
    mfa_qr_label = "mfa-qr-label",
    mfa_enroll_link = "mfa-enroll-link",
    mfa_enroll_manual = "mfa-enroll-manual",
    mfa_wrong = "mfa-wrong",
    mfa_reused = "mfa-reused",
    password_change_title = "password-change-title",
    password_change_intro = "password-change-intro",
    new_password = "new-password",
    confirm_password = "confirm-password",
    password_change_submit = "password-change-submit",
    password_too_short = "password-too-short",
    password_mismatch = "password-mismatch",
    password_same = "password-same",
    form_post_title = "form-post-title",
    form_post_text = "form-post-text",
    form_post_continue = "form-post-continue",
}

/// Message id of the throttled sign-in text (it has a `$seconds` placeable).
pub const THROTTLED_ID: &str = "signin-throttled";
/// Message id of the throttled verification-code text (`$seconds`).
pub const MFA_THROTTLED_ID: &str = "mfa-throttled";

impl Strings {
    /// "Too many failed attempts. Try again in 30 seconds."
    pub fn throttled(&self, seconds: i64) -> String {
        let mut args = FluentArgs::new();
        args.set("seconds", seconds);
        l10n::message_with(self.language, THROTTLED_ID, &args)
    }

    /// "Too many wrong codes. Try again in 30 seconds."
    pub fn mfa_throttled(&self, seconds: i64) -> String {
        let mut args = FluentArgs::new();
        args.set("seconds", seconds);
        l10n::message_with(self.language, MFA_THROTTLED_ID, &args)
    }

    /// The title of an error code in this language.
    pub fn code_title(&self, code: ErrorCode) -> String {
        errors_page::paragraph(self.language, &errors_page::message_id(code), "title")
    }

    /// What to do about an error code, in this language.
    pub fn code_fix(&self, code: ErrorCode) -> String {
        errors_page::paragraph(self.language, &errors_page::message_id(code), "fix")
    }
}

/// Pick the language: `ui_locales` first, then `Accept-Language`.
pub fn strings(ui_locales: Option<&str>, headers: &HeaderMap) -> &'static Strings {
    Strings::of(l10n::pick(ui_locales, headers))
}

/// An error shown on a form.
#[derive(Debug)]
pub struct FormError {
    pub message: String,
    pub code: &'static str,
    pub correlation_id: String,
}

/// The sign-in page.
#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage<'a> {
    pub t: &'a Strings,
    pub action: String,
    pub app_name: String,
    pub interaction: String,
    pub csrf: String,
    pub username: String,
    pub error: Option<FormError>,
}

/// The consent page.
#[derive(Template)]
#[template(path = "consent.html")]
pub struct ConsentPage<'a> {
    pub t: &'a Strings,
    pub action: String,
    pub app_name: String,
    pub interaction: String,
    pub csrf: String,
    pub user: String,
    pub scopes: Vec<String>,
    /// Set when the consent approves a device (RFC 8628 §5.4): its user code.
    pub device_user_code: Option<String>,
    /// Whether to offer "consent on behalf of your organisation" (the user holds the
    /// role `admin`, as Entra offers it to administrators).
    pub offer_organisation: bool,
}

/// A message or error page.
#[derive(Template)]
#[template(path = "message.html")]
pub struct MessagePage<'a> {
    pub t: &'a Strings,
    pub title: String,
    pub text: String,
    pub fix: Option<String>,
    pub code: Option<&'static str>,
    pub correlation_id: String,
    pub error_uri: String,
}

/// The device code entry page (RFC 8628 §3.3).
#[derive(Template)]
#[template(path = "device.html")]
pub struct DevicePage<'a> {
    pub t: &'a Strings,
    pub action: String,
    pub csrf: String,
    pub user_code: String,
    pub error: Option<FormError>,
}

/// The sign-out confirmation page.
#[derive(Template)]
#[template(path = "logout.html")]
pub struct LogoutPage<'a> {
    pub t: &'a Strings,
    pub action: String,
    pub csrf: String,
    pub post_logout_redirect_uri: Option<String>,
    pub client_id: Option<String>,
    pub state: Option<String>,
}

/// The authorization response as a form the browser posts to the client (OAuth 2.0
/// Form Post Response Mode §2).
#[derive(Template)]
#[template(path = "form_post.html")]
pub struct FormPostPage<'a> {
    pub t: &'a Strings,
    pub action: &'a str,
    pub fields: Vec<(&'a str, &'a str)>,
}

/// The one script of the form-post page; the page's CSP allows it by its hash alone.
pub const FORM_POST_SCRIPT: &str = "document.forms[0].submit();";

/// The CSP source of [`FORM_POST_SCRIPT`]: `'sha256-…'` (CSP Level 3 §8.4).
fn form_post_script_source() -> &'static str {
    static SOURCE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SOURCE.get_or_init(|| {
        use base64::Engine;
        let digest = portvakt_jose::sha256(FORM_POST_SCRIPT.as_bytes());
        format!(
            "'sha256-{}'",
            base64::engine::general_purpose::STANDARD.encode(digest)
        )
    })
}

/// Answer with a page that POSTs `fields` to `action` as soon as it loads (or when the
/// person presses Continue, without script). Its CSP allows exactly the page's own
/// script and a form post to `action`'s origin.
pub fn form_post(t: &Strings, action: &str, fields: &[(&str, &str)]) -> Response {
    let page = FormPostPage {
        t,
        action,
        fields: fields.to_vec(),
    };
    let Some(target) = form_action_source(action) else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "invalid redirect URI").into_response();
    };
    finish_with_script(
        StatusCode::OK,
        &page,
        "no-store",
        &target,
        Some(form_post_script_source()),
    )
}

/// Render a page with a status; pages are never cached and never framed, and their
/// forms may post only to this server.
pub fn render(status: StatusCode, page: &impl Template) -> Response {
    render_with_form_targets(status, page, &[])
}

/// The CSP `form-action` source of a URI a form's POST may redirect to: its origin for
/// http(s), its scheme for a native app's private-use scheme (RFC 8252 §7.1).
/// Browsers apply `form-action` to the redirects after a form post too, so the
/// consent page must allow the redirect URI of its own request, and nothing more.
fn form_action_source(uri: &str) -> Option<String> {
    let (scheme, rest) = uri.split_once(':')?;
    let scheme_ok = !scheme.is_empty()
        && scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b));
    if !scheme_ok {
        return None;
    }
    match scheme.to_ascii_lowercase().as_str() {
        "http" | "https" => {
            let authority = rest.strip_prefix("//")?.split(['/', '?', '#']).next()?;
            let ok = !authority.is_empty()
                && authority
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b));
            ok.then(|| format!("{scheme}://{authority}"))
        }
        _ => Some(format!("{scheme}:")),
    }
}

/// [`render`], allowing the page's forms to end up at `targets` (the redirect URI of
/// the request the page serves).
pub fn render_with_form_targets(
    status: StatusCode,
    page: &impl Template,
    targets: &[&str],
) -> Response {
    let mut form_action = String::from("'self'");
    for t in targets.iter().filter_map(|t| form_action_source(t)) {
        form_action.push(' ');
        form_action.push_str(&t);
    }
    finish(status, page, "no-store", &form_action)
}

/// Render a page whose content is the same for everyone who asks in its language
/// (the troubleshooting pages): publicly cacheable for an hour, varying by `Accept`
/// and `Accept-Language`; still never framed, and without forms.
pub fn render_static(status: StatusCode, page: &impl Template) -> Response {
    let mut res = finish(status, page, "public, max-age=3600", "'none'");
    if res.status() == status {
        res.headers_mut().insert(
            header::VARY,
            HeaderValue::from_static("Accept, Accept-Language"),
        );
    }
    res
}

fn finish(
    status: StatusCode,
    page: &impl Template,
    cache_control: &'static str,
    form_action: &str,
) -> Response {
    finish_with_script(status, page, cache_control, form_action, None)
}

fn finish_with_script(
    status: StatusCode,
    page: &impl Template,
    cache_control: &'static str,
    form_action: &str,
    script: Option<&str>,
) -> Response {
    match page.render() {
        Ok(html) => {
            let mut res = (status, Html(html)).into_response();
            let script_src = script
                .map(|s| format!("script-src {s}; "))
                .unwrap_or_default();
            let csp = format!("default-src 'none'; {script_src}style-src 'unsafe-inline'; form-action {form_action}; frame-ancestors 'none'; base-uri 'none'");
            let h = res.headers_mut();
            h.insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static(cache_control),
            );
            h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
            h.insert(
                header::REFERRER_POLICY,
                HeaderValue::from_static("no-referrer"),
            );
            if let Ok(v) = HeaderValue::from_str(&csp) {
                h.insert(header::CONTENT_SECURITY_POLICY, v);
            }
            res
        }
        Err(e) => {
            tracing::error!(error = %e, "template failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "template error").into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::form_action_source;

    #[test]
    fn form_action_sources_are_origins_or_schemes() {
        assert_eq!(
            form_action_source("https://web.example.com:8443/cb?x=1").as_deref(),
            Some("https://web.example.com:8443")
        );
        assert_eq!(
            form_action_source("http://127.0.0.1:5173/cb").as_deref(),
            Some("http://127.0.0.1:5173")
        );
        assert_eq!(
            form_action_source("com.example.app:/oauth2redirect").as_deref(),
            Some("com.example.app:")
        );
        assert_eq!(form_action_source("https://a b/").as_deref(), None);
        assert_eq!(
            form_action_source("https://x'; script-src *").as_deref(),
            None
        );
        assert_eq!(form_action_source("no-colon"), None);
    }
}
