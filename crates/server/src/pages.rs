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
    pub device_approving: &'static str,
    pub device_warning: &'static str,
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
    device_approving: "You are signing in a device that shows the code",
    device_warning: "Continue only if you started this sign-in yourself, on a device in front of you. If someone sent you this code, deny: they would get access to your account.",
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
    device_approving: "Du loggar in en enhet som visar koden",
    device_warning: "Fortsätt bara om du själv startade inloggningen, på en enhet framför dig. Om någon skickade koden till dig: neka, annars får de tillgång till ditt konto.",
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
    /// Set when the consent approves a device (RFC 8628 §5.4): its user code.
    pub device_user_code: Option<String>,
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
    match page.render() {
        Ok(html) => {
            let mut res = (status, Html(html)).into_response();
            let mut form_action = String::from("'self'");
            for t in targets.iter().filter_map(|t| form_action_source(t)) {
                form_action.push(' ');
                form_action.push_str(&t);
            }
            let csp = format!("default-src 'none'; style-src 'unsafe-inline'; form-action {form_action}; frame-ancestors 'none'; base-uri 'none'");
            let h = res.headers_mut();
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
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
