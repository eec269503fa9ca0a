//! Facts from the request: device platform and browser from the `User-Agent` header
//! (and MSAL's `x-client-SKU` / `x-client-OS` headers), and the client app type from
//! the flow. A small hand-written classifier, like Entra's: it reads the platform
//! tokens browsers and HTTP libraries send, nothing more.
//!
//! Client app type rule ([`client_app_type`]):
//!
//! | flow | client | client app type |
//! |---|---|---|
//! | device code | any | `mobileAppsAndDesktopClients` |
//! | authorization code (page, code exchange, refresh of that session) | native / public (not a SPA) | `mobileAppsAndDesktopClients` |
//! | authorization code | web app or SPA, browser User-Agent at the sign-in page | `browser` |
//! | authorization code | web app or SPA, no browser at the sign-in page | `other` |
//! | client credentials, anything else | any | `other` |
//!
//! The User-Agent that counts is the one of the *interactive* step (the browser that
//! opened `/authorize`): the server keeps the classification with the session, so a
//! refresh from a web app's backend (`python-requests/…`) stays `browser`.

use crate::graph::{ClientAppType, DevicePlatform};
use serde::Serialize;

/// Graph `signIn.deviceDetail`, the part a User-Agent tells.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceDetail {
    /// `browser`, e.g. `Chrome 126.0.0.0`, `Edge 126.0.0.0`, `Firefox 127.0`,
    /// `Safari 17.5`, `MSAL.Python 1.28.0` (for a library: its name and version).
    pub browser: Option<String>,
    /// `operatingSystem`, e.g. `Windows`, `macOS`, `iOS`, `Android`, `Linux`.
    pub operating_system: Option<String>,
    /// The Conditional Access platform.
    #[serde(skip)]
    pub platform: Option<DevicePlatform>,
    /// Whether the User-Agent is a web browser's.
    #[serde(skip)]
    pub is_browser: bool,
}

/// The flow a sign-in uses, for [`client_app_type`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// The authorization-code flow: the sign-in page, the code exchange, and refreshes
    /// of the session it started.
    AuthorizationCode,
    /// The device authorization grant (RFC 8628).
    DeviceCode,
    /// Client credentials.
    ClientCredentials,
}

/// The kind of client app, from its registration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientKind {
    /// A confidential web app (server-side).
    Web,
    /// A single-page app (public, in a browser).
    Spa,
    /// A native, mobile, desktop or command-line app (public).
    Native,
    /// A confidential client used only for client credentials.
    Service,
}

/// The client app type of a sign-in (see the module table). `browser_at_sign_in` is
/// whether the User-Agent of the interactive step was a browser
/// ([`DeviceDetail::is_browser`]).
pub fn client_app_type(flow: Flow, client: ClientKind, browser_at_sign_in: bool) -> ClientAppType {
    match (flow, client) {
        (Flow::DeviceCode, _) => ClientAppType::MobileAppsAndDesktopClients,
        (Flow::AuthorizationCode, ClientKind::Native) => ClientAppType::MobileAppsAndDesktopClients,
        (Flow::AuthorizationCode, ClientKind::Web | ClientKind::Spa) if browser_at_sign_in => {
            ClientAppType::Browser
        }
        _ => ClientAppType::Other,
    }
}

fn version_after<'a>(ua: &'a str, token: &str) -> Option<&'a str> {
    let i = ua.find(token)? + token.len();
    let rest = &ua[i..];
    let end = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '.'))
        .unwrap_or(rest.len());
    Some(&rest[..end]).filter(|v| !v.is_empty())
}

/// Reads a `User-Agent` header.
pub fn device_detail(user_agent: &str) -> DeviceDetail {
    let ua = user_agent;
    let platform = platform_of(ua);
    let mozilla = ua.starts_with("Mozilla/5.0");
    let named = |name: &str, token: &str| version_after(ua, token).map(|v| format!("{name} {v}"));
    let browser = if mozilla {
        // Order matters: Edge and Opera say Chrome too; Chrome says Safari too.
        named("Edge", "Edg/")
            .or_else(|| named("Edge", "Edge/"))
            .or_else(|| named("Edge", "EdgA/"))
            .or_else(|| named("Edge", "EdgiOS/"))
            .or_else(|| named("Opera", "OPR/"))
            .or_else(|| named("Samsung Internet", "SamsungBrowser/"))
            .or_else(|| named("Firefox", "Firefox/"))
            .or_else(|| named("Firefox", "FxiOS/"))
            .or_else(|| named("Chrome", "CriOS/"))
            .or_else(|| named("Chrome", "Chrome/"))
            .or_else(|| {
                if ua.contains("Safari/") {
                    named("Safari", "Version/").or_else(|| Some("Safari".to_owned()))
                } else {
                    None
                }
            })
    } else {
        // A library: its first product token (`curl/8.5.0` → `curl 8.5.0`).
        ua.split_whitespace()
            .next()
            .and_then(|t| t.split_once('/'))
            .map(|(n, v)| format!("{n} {v}"))
    };
    DeviceDetail {
        is_browser: mozilla && browser.is_some(),
        browser,
        operating_system: platform.map(os_name),
        platform,
    }
}

/// Reads the `User-Agent` and, when the client sent them, MSAL's `x-client-SKU` and
/// `x-client-OS` headers (MSAL libraries send a generic User-Agent, e.g. that of
/// `requests`, and name the platform there).
pub fn device_detail_with_msal(
    user_agent: Option<&str>,
    sku: Option<&str>,
    os: Option<&str>,
) -> DeviceDetail {
    let mut d = user_agent.map(device_detail).unwrap_or_default();
    if sku.is_some() || os.is_some() {
        let p = msal_platform(sku.unwrap_or(""), os.unwrap_or(""));
        if p.is_some() {
            d.platform = p;
            d.operating_system = p.map(os_name);
        }
        if let Some(s) = sku {
            d.browser = Some(s.to_owned());
            d.is_browser = false;
        }
    }
    d
}

fn msal_platform(sku: &str, os: &str) -> Option<DevicePlatform> {
    let s = sku.to_ascii_lowercase();
    let o = os.to_ascii_lowercase();
    if s.contains("android") || o.contains("android") {
        Some(DevicePlatform::Android)
    } else if s.contains("ios") || o.contains("ios") || o.contains("iphone") || o.contains("ipad") {
        Some(DevicePlatform::IOS)
    } else if s.contains("osx") || s.contains("macos") || o.contains("darwin") || o.contains("mac")
    {
        Some(DevicePlatform::MacOS)
    } else if o.contains("win") {
        Some(DevicePlatform::Windows)
    } else if o.contains("linux") {
        Some(DevicePlatform::Linux)
    } else {
        None
    }
}

fn os_name(p: DevicePlatform) -> String {
    match p {
        DevicePlatform::Android => "Android",
        DevicePlatform::IOS => "iOS",
        DevicePlatform::Windows => "Windows",
        DevicePlatform::WindowsPhone => "Windows Phone",
        DevicePlatform::MacOS => "macOS",
        DevicePlatform::Linux => "Linux",
    }
    .to_owned()
}

/// The platform tokens, in the order that disambiguates them (Windows Phone says
/// Android, Android says Linux, iOS says "like Mac OS X").
fn platform_of(ua: &str) -> Option<DevicePlatform> {
    if ua.contains("Windows Phone") {
        Some(DevicePlatform::WindowsPhone)
    } else if ua.contains("Android") {
        Some(DevicePlatform::Android)
    } else if ua.contains("iPhone") || ua.contains("iPad") || ua.contains("iPod") {
        Some(DevicePlatform::IOS)
    } else if ua.contains("Windows NT") || ua.contains("Win64") || ua.contains("Windows") {
        Some(DevicePlatform::Windows)
    } else if ua.contains("Macintosh") || ua.contains("Mac OS X") {
        Some(DevicePlatform::MacOS)
    } else if ua.contains("CrOS") {
        // ChromeOS is not among Conditional Access's platforms: unknown.
        None
    } else if ua.contains("Linux") || ua.contains("X11") {
        Some(DevicePlatform::Linux)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use DevicePlatform::*;

    /// Real User-Agent strings.
    const CASES: &[(&str, Option<DevicePlatform>, Option<&str>, bool)] = &[
        ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36", Some(Windows), Some("Chrome 126.0.0.0"), true),
        ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.2592.68", Some(Windows), Some("Edge 126.0.2592.68"), true),
        ("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:127.0) Gecko/20100101 Firefox/127.0", Some(Windows), Some("Firefox 127.0"), true),
        ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15", Some(MacOS), Some("Safari 17.5"), true),
        ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36", Some(MacOS), Some("Chrome 126.0.0.0"), true),
        ("Mozilla/5.0 (Macintosh; Intel Mac OS X 14.5; rv:127.0) Gecko/20100101 Firefox/127.0", Some(MacOS), Some("Firefox 127.0"), true),
        ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36", Some(Linux), Some("Chrome 126.0.0.0"), true),
        ("Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0", Some(Linux), Some("Firefox 127.0"), true),
        ("Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.6478.122 Mobile Safari/537.36", Some(Android), Some("Chrome 126.0.6478.122"), true),
        ("Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36 EdgA/126.0.2592.80", Some(Android), Some("Edge 126.0.2592.80"), true),
        ("Mozilla/5.0 (Android 14; Mobile; rv:127.0) Gecko/127.0 Firefox/127.0", Some(Android), Some("Firefox 127.0"), true),
        ("Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36", Some(Android), Some("Samsung Internet 25.0"), true),
        ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1", Some(IOS), Some("Safari 17.5"), true),
        ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/126.0.6478.54 Mobile/15E148 Safari/604.1", Some(IOS), Some("Chrome 126.0.6478.54"), true),
        ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) FxiOS/127.0 Mobile/15E148 Safari/605.1.15", Some(IOS), Some("Firefox 127.0"), true),
        ("Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1", Some(IOS), Some("Safari 17.5"), true),
        ("Mozilla/5.0 (Windows Phone 10.0; Android 6.0.1; Microsoft; Lumia 950) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/52.0.2743.116 Mobile Safari/537.36 Edge/15.15063", Some(WindowsPhone), Some("Edge 15.15063"), true),
        ("Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36", None, Some("Chrome 126.0.0.0"), true),
        ("curl/8.5.0", None, Some("curl 8.5.0"), false),
        ("python-requests/2.32.3", None, Some("python-requests 2.32.3"), false),
        ("Wget/1.21.4", None, Some("Wget 1.21.4"), false),
        ("okhttp/4.12.0", None, Some("okhttp 4.12.0"), false),
        ("", None, None, false),
    ];

    #[test]
    fn real_user_agents() {
        for (ua, platform, browser, is_browser) in CASES {
            let d = device_detail(ua);
            assert_eq!(d.platform, *platform, "{ua}");
            assert_eq!(d.browser.as_deref(), *browser, "{ua}");
            assert_eq!(d.is_browser, *is_browser, "{ua}");
        }
    }

    #[test]
    fn msal_headers_name_the_platform() {
        // MSAL Python: requests' User-Agent, platform in x-client-OS.
        let d = device_detail_with_msal(
            Some("python-requests/2.32.3"),
            Some("MSAL.Python"),
            Some("win32"),
        );
        assert_eq!(d.platform, Some(Windows));
        assert_eq!(d.browser.as_deref(), Some("MSAL.Python"));
        assert!(!d.is_browser);
        let d = device_detail_with_msal(None, Some("MSAL.Python"), Some("linux"));
        assert_eq!(d.platform, Some(Linux));
        let d = device_detail_with_msal(None, Some("MSAL.Python"), Some("darwin"));
        assert_eq!(d.platform, Some(MacOS));
        // MSAL for Android sends the API level as x-client-OS.
        let d = device_detail_with_msal(Some("okhttp/4.12.0"), Some("MSAL.Android"), Some("34"));
        assert_eq!(d.platform, Some(Android));
        let d = device_detail_with_msal(None, Some("MSAL.iOS"), Some("17.5"));
        assert_eq!(d.platform, Some(IOS));
        // MSAL.NET on Windows.
        let d = device_detail_with_msal(
            None,
            Some("MSAL.Desktop"),
            Some("Microsoft Windows NT 10.0.19045.0"),
        );
        assert_eq!(d.platform, Some(Windows));
        // MSAL.js in a browser sends the browser's User-Agent and no OS.
        let ua = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36";
        let d = device_detail_with_msal(Some(ua), None, None);
        assert!(d.is_browser);
        assert_eq!(d.platform, Some(Windows));
    }

    #[test]
    fn client_app_type_rule() {
        use ClientAppType::*;
        assert_eq!(
            client_app_type(Flow::DeviceCode, ClientKind::Web, false),
            MobileAppsAndDesktopClients
        );
        assert_eq!(
            client_app_type(Flow::AuthorizationCode, ClientKind::Native, true),
            MobileAppsAndDesktopClients
        );
        assert_eq!(
            client_app_type(Flow::AuthorizationCode, ClientKind::Web, true),
            Browser
        );
        assert_eq!(
            client_app_type(Flow::AuthorizationCode, ClientKind::Spa, true),
            Browser
        );
        assert_eq!(
            client_app_type(Flow::AuthorizationCode, ClientKind::Web, false),
            Other
        );
        assert_eq!(
            client_app_type(Flow::ClientCredentials, ClientKind::Service, false),
            Other
        );
    }
}
