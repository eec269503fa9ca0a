//! The user sign-in steps the black-box tests share: the public client `spa` signs
//! `admin@contoso.example` in through the real HTML forms (PKCE), exchanges the code,
//! refreshes, introspects.

use super::browser::{Browser, Page};
use super::Server;
use serde_json::Value;

pub const SPA_CB: &str = "https://spa.example.com/cb";
pub const WEB_CB: &str = "https://web.example.com/cb";
pub const USER: &str = "admin@contoso.example";
pub const PASSWORD: &str = "correct horse battery";
pub const WEB_SECRET: &str = "webapp-secret-0123456789abcdef";

pub fn pkce() -> (String, String) {
    let verifier = portvakt_jose::random_id(48);
    let challenge = portvakt_jose::b64url_encode(&portvakt_jose::sha256(verifier.as_bytes()));
    (verifier, challenge)
}

pub fn authorize_url(srv: &Server, params: &[(&str, &str)]) -> String {
    let q: String = params
        .iter()
        .map(|(k, v)| format!("{k}={}", urlencode(v)))
        .collect::<Vec<_>>()
        .join("&");
    format!("{}/oauth2/authorize?{q}", srv.issuer("contoso"))
}

pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// GET the login page the authorize redirect points to, then post the password.
pub async fn post_login(b: &mut Browser, login: &Page, user: &str, password: &str) -> Page {
    let url = login.location.clone().expect("redirect to the login page");
    assert!(url.contains("/login?interaction="), "{url}");
    let page = b.get(&url).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let action = url.split('?').next().expect("path").to_string();
    let interaction = page.hidden("interaction").expect("interaction field");
    let csrf = page.hidden("csrf").expect("csrf field");
    b.post(
        &action,
        &[
            ("interaction", &interaction),
            ("csrf", &csrf),
            ("username", user),
            ("password", password),
        ],
    )
    .await
}

/// Accept a consent page.
pub async fn accept(srv: &Server, b: &mut Browser, consent: &Page) -> Page {
    assert!(
        consent.body.contains("name=\"consent\" value=\"accept\""),
        "a consent page: {}",
        consent.body
    );
    let i = consent.hidden("interaction").expect("interaction");
    let c = consent.hidden("csrf").expect("csrf");
    b.post(
        &format!("{}/consent", srv.issuer("contoso")),
        &[("interaction", &i), ("csrf", &c), ("consent", "accept")],
    )
    .await
}

/// The public client signs the user in with PKCE; returns (code, verifier, nonce).
pub async fn spa_sign_in(srv: &Server, b: &mut Browser, scope: &str) -> (String, String, String) {
    let (verifier, challenge) = pkce();
    let nonce = portvakt_jose::random_id(12);
    let start = b
        .get(&authorize_url(
            srv,
            &[
                ("client_id", "spa"),
                ("response_type", "code"),
                ("redirect_uri", SPA_CB),
                ("scope", scope),
                ("state", "s-123"),
                ("nonce", &nonce),
                ("code_challenge", &challenge),
                ("code_challenge_method", "S256"),
            ],
        ))
        .await;
    assert_eq!(start.status, 303, "{}", start.body);
    // With a live session and consent already given, the code comes at once.
    let mut page = if start
        .location
        .as_deref()
        .is_some_and(|l| l.starts_with(SPA_CB))
    {
        start
    } else {
        post_login(b, &start, USER, PASSWORD).await
    };
    if page.status == 200 {
        page = accept(srv, b, &page).await;
    }
    assert_eq!(page.status, 303, "{}", page.body);
    let p = page.redirect_params();
    assert!(page.location.as_deref().expect("loc").starts_with(SPA_CB));
    assert_eq!(p.get("state").map(String::as_str), Some("s-123"));
    assert_eq!(p.get("iss"), Some(&srv.issuer("contoso")), "RFC 9207 iss");
    (p.get("code").expect("code").clone(), verifier, nonce)
}

pub async fn token(
    srv: &Server,
    basic: Option<(&str, &str)>,
    form: &[(&str, &str)],
) -> (u16, Value) {
    let res = srv.token_raw("contoso", basic, form).await;
    let s = res.status().as_u16();
    (s, res.json().await.unwrap_or(Value::Null))
}

pub async fn exchange_spa(srv: &Server, code: &str, verifier: &str) -> (u16, Value) {
    token(
        srv,
        None,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", "spa"),
            ("code", code),
            ("redirect_uri", SPA_CB),
            ("code_verifier", verifier),
        ],
    )
    .await
}

pub async fn refresh_spa(srv: &Server, rt: &str) -> (u16, Value) {
    token(
        srv,
        None,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", "spa"),
            ("refresh_token", rt),
        ],
    )
    .await
}

pub async fn introspect(srv: &Server, t: &str) -> Value {
    let res = srv
        .http
        .post(format!("{}/oauth2/introspect", srv.issuer("contoso")))
        .basic_auth("webapp", Some(WEB_SECRET))
        .form(&[("token", t)])
        .send()
        .await
        .expect("send");
    assert_eq!(res.status(), 200);
    res.json().await.expect("json")
}

/// The confidential client `webapp` (admin-consented) signs the user in; returns the
/// token response of the code exchange. With a live session in `b`, no password.
pub async fn web_tokens(srv: &Server, b: &mut Browser) -> Value {
    let (verifier, challenge) = pkce();
    let start = b
        .get(&authorize_url(
            srv,
            &[
                ("client_id", "webapp"),
                ("response_type", "code"),
                ("scope", "openid offline_access api://analytics/.default"),
                ("code_challenge", &challenge),
                ("code_challenge_method", "S256"),
            ],
        ))
        .await;
    assert_eq!(start.status, 303, "{}", start.body);
    let page = if start
        .location
        .as_deref()
        .is_some_and(|l| l.starts_with(WEB_CB))
    {
        start
    } else {
        post_login(b, &start, USER, PASSWORD).await
    };
    assert_eq!(page.status, 303, "{}", page.body);
    let code = page.redirect_params()["code"].clone();
    let (s, t) = token(
        srv,
        Some(("webapp", WEB_SECRET)),
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("code_verifier", &verifier),
        ],
    )
    .await;
    assert_eq!(s, 200, "{t}");
    t
}

/// Refresh as the confidential client `webapp`.
pub async fn refresh_web(srv: &Server, rt: &str) -> (u16, Value) {
    token(
        srv,
        Some(("webapp", WEB_SECRET)),
        &[("grant_type", "refresh_token"), ("refresh_token", rt)],
    )
    .await
}

/// Start a sign-in of the confidential `webapp` in `b` and post the password; returns
/// the page after the password (an MFA page, an error, or the redirect) and the PKCE
/// verifier.
pub async fn web_password_step(srv: &Server, b: &mut Browser) -> (Page, String) {
    let (verifier, challenge) = pkce();
    let start = b
        .get(&authorize_url(
            srv,
            &[
                ("client_id", "webapp"),
                ("response_type", "code"),
                ("scope", "openid offline_access api://analytics/.default"),
                ("code_challenge", &challenge),
                ("code_challenge_method", "S256"),
            ],
        ))
        .await;
    assert_eq!(start.status, 303, "{}", start.body);
    (post_login(b, &start, USER, PASSWORD).await, verifier)
}

/// The text between `<tag class="cls">` and `</tag>` in a page.
pub fn element_text(body: &str, open: &str, close: &str) -> Option<String> {
    let i = body.find(open)? + open.len();
    let j = body[i..].find(close)? + i;
    Some(body[i..j].to_string())
}

/// Exchange a code of the `webapp` client.
pub async fn exchange_web(srv: &Server, code: &str, verifier: &str) -> (u16, Value) {
    token(
        srv,
        Some(("webapp", WEB_SECRET)),
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("code_verifier", verifier),
        ],
    )
    .await
}
