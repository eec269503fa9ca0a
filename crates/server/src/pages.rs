//! Server-rendered pages (askama) in English and Swedish.
//!
//! The language comes from `ui_locales` (OIDC Core §3.1.2.1) when it names one we
//! have, else from `Accept-Language`, else English.

use askama::Template;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};

/// The strings of one language.
#[derive(Debug)]
pub struct Strings {
    /// BCP 47 tag.
    pub lang: &'static str,
    pub sign_in: &'static str,
    pub sign_in_to: &'static str,
    pub username: &'static str,
    pub password: &'static str,
    pub consent_title: &'static str,
    pub consent_asks: &'static str,
    pub signed_in_as: &'static str,
    pub accept: &'static str,
    pub deny: &'static str,
    pub correlation_id: &'static str,
    pub what_to_do: &'static str,
    pub more: &'static str,
    pub sign_out: &'static str,
    pub sign_out_confirm: &'static str,
    pub signed_out: &'static str,
    pub signed_out_text: &'static str,
    pub wrong_credentials: &'static str,
    pub throttled: &'static str,
    pub disabled: &'static str,
    pub error_title: &'static str,
    pub device_title: &'static str,
    pub device_prompt: &'static str,
    pub next: &'static str,
    pub device_done: &'static str,
    pub device_denied: &'static str,
}

/// English.
pub const EN: Strings = Strings {
    lang: "en",
    sign_in: "Sign in",
    sign_in_to: "to continue to",
    username: "User name",
    password: "Password",
    consent_title: "Permissions requested",
    consent_asks: "would like to:",
    signed_in_as: "Signed in as",
    accept: "Accept",
    deny: "Cancel",
    correlation_id: "correlation id",
    what_to_do: "What to do:",
    more: "more about this error",
    sign_out: "Sign out",
    sign_out_confirm: "Do you want to sign out?",
    signed_out: "Signed out",
    signed_out_text: "You have been signed out. You can close this window.",
    wrong_credentials: "The user name or password is incorrect.",
    throttled: "Too many failed attempts. Try again in",
    disabled: "This account is disabled. Contact your administrator.",
    error_title: "Sign-in failed",
    device_title: "Sign in on a device",
    device_prompt: "Enter the code shown on your device",
    next: "Next",
    device_done: "Your device is signed in. You can close this window and return to it.",
    device_denied: "The device was not signed in.",
};

/// Swedish.
pub const SV: Strings = Strings {
    lang: "sv",
    sign_in: "Logga in",
    sign_in_to: "för att fortsätta till",
    username: "Användarnamn",
    password: "Lösenord",
    consent_title: "Begärda behörigheter",
    consent_asks: "vill:",
    signed_in_as: "Inloggad som",
    accept: "Godkänn",
    deny: "Avbryt",
    correlation_id: "korrelations-id",
    what_to_do: "Gör så här:",
    more: "mer om felet",
    sign_out: "Logga ut",
    sign_out_confirm: "Vill du logga ut?",
    signed_out: "Utloggad",
    signed_out_text: "Du är utloggad. Du kan stänga fönstret.",
    wrong_credentials: "Användarnamnet eller lösenordet är fel.",
    throttled: "För många misslyckade försök. Försök igen om",
    disabled: "Kontot är inaktiverat. Kontakta din administratör.",
    error_title: "Inloggningen misslyckades",
    device_title: "Logga in på en enhet",
    device_prompt: "Ange koden som visas på enheten",
    next: "Nästa",
    device_done: "Enheten är inloggad. Du kan stänga fönstret och återgå till den.",
    device_denied: "Enheten loggades inte in.",
};

/// Pick the language: `ui_locales` first, then `Accept-Language`.
pub fn strings(ui_locales: Option<&str>, headers: &HeaderMap) -> &'static Strings {
    let pick = |tag: &str| {
        let primary = tag
            .trim()
            .split(['-', '_', ';'])
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        match primary.as_str() {
            "sv" => Some(&SV),
            "en" => Some(&EN),
            _ => None,
        }
    };
    if let Some(s) = ui_locales.and_then(|u| u.split(' ').find_map(pick)) {
        return s;
    }
    headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|a| a.split(',').find_map(pick))
        .unwrap_or(&EN)
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

/// Render a page with a status; pages are never cached and never framed.
pub fn render(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(html) => {
            let mut res = (status, Html(html)).into_response();
            let h = res.headers_mut();
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
            h.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; form-action 'self' http: https:; frame-ancestors 'none'"),
            );
            res
        }
        Err(e) => {
            tracing::error!(error = %e, "template failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "template error").into_response()
        }
    }
}
