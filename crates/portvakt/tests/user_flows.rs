//! Black-box: user sign-in through the real HTML forms — authorization code + PKCE,
//! consent, sessions and prompt=none, ID tokens, userinfo, refresh rotation and reuse,
//! introspection, revocation, logout, revoke-sessions, brute force — and every
//! failure path of the issue.

mod common;
use common::browser::{Browser, Page};
use common::signin::*;
use common::*;
use serde_json::Value;

#[tokio::test]
async fn code_flow_with_pkce_consent_id_token_userinfo_and_refresh() {
    // The most verbose logging, so that the check below that no secret is logged
    // means something.
    let srv = Server::start_with_log("trace,hyper=info,h2=info");
    let mut b = Browser::new();
    let (code, verifier, nonce) = spa_sign_in(
        &srv,
        &mut b,
        "openid profile email offline_access api://analytics/Reports.Read",
    )
    .await;
    let (s, t) = exchange_spa(&srv, &code, &verifier).await;
    assert_eq!(s, 200, "{t}");
    assert_eq!(t["token_type"], "Bearer");
    // In the words of the request (RFC 6749 §5.1); the claim has plain names.
    assert_eq!(
        t["scope"],
        "openid profile email offline_access api://analytics/Reports.Read"
    );
    let at = t["access_token"].as_str().expect("at");
    let claims = verify_independently(&srv, "contoso", at, "api://analytics")
        .await
        .expect("access token verifies");
    for c in [
        "sub",
        "tid",
        "sid",
        "auth_time",
        "amr",
        "scope",
        "client_id",
    ] {
        assert!(claims.get(c).is_some(), "access token lacks {c}: {claims}");
    }
    assert_eq!(claims["client_id"], "spa");
    assert_eq!(
        claims["scope"],
        "openid profile email offline_access Reports.Read"
    );
    assert_eq!(
        claims["groups"],
        serde_json::json!(["Analytics Admins"]),
        "the resource asks for group claims"
    );
    // The ID token: audience is the client, nonce echoed, at_hash binds the access token.
    let idt = t["id_token"].as_str().expect("id_token");
    assert_eq!(
        decode(idt).0["alg"],
        "RS256",
        "ID tokens default to RS256 (OIDC Core §15.1) on an ES256 tenant"
    );
    assert_eq!(
        decode(at).0["alg"],
        "ES256",
        "access tokens use the tenant's algorithm"
    );
    let id = verify_independently(&srv, "contoso", idt, "spa")
        .await
        .expect("id token verifies");
    assert_eq!(id["nonce"].as_str(), Some(nonce.as_str()));
    assert_eq!(id["sub"], claims["sub"]);
    assert_eq!(id["sid"], claims["sid"]);
    assert_eq!(id["amr"], serde_json::json!(["pwd"]));
    assert_eq!(id["preferred_username"], USER);
    let want_at_hash = portvakt_jose::b64url_encode(&portvakt_jose::sha256(at.as_bytes())[..16]);
    assert_eq!(
        id["at_hash"].as_str(),
        Some(want_at_hash.as_str()),
        "OIDC Core §3.1.3.6"
    );
    // userinfo
    let ui: Value = srv
        .http
        .get(format!("{}/oauth2/userinfo", srv.issuer("contoso")))
        .bearer_auth(at)
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    assert_eq!(ui["sub"], claims["sub"]);
    assert_eq!(ui["email"], USER);
    // Refresh rotates: new token, old one no longer works.
    let rt1 = t["refresh_token"]
        .as_str()
        .expect("refresh token")
        .to_string();
    assert!(rt1.len() >= 43, "256-bit");
    let (s, t2) = refresh_spa(&srv, &rt1).await;
    assert_eq!(s, 200, "{t2}");
    let rt2 = t2["refresh_token"].as_str().expect("rotated").to_string();
    assert_ne!(rt1, rt2);
    assert!(t2["id_token"].is_string());
    assert_eq!(
        introspect(&srv, &rt1).await["active"],
        false,
        "used token is inactive"
    );
    // RFC 7662 §4: a refresh token is introspectable only by its own client (spa is
    // public, so by no one); another client learns nothing about it.
    assert_eq!(introspect(&srv, &rt2).await["active"], false);
    let ia = introspect(&srv, t2["access_token"].as_str().expect("at")).await;
    assert_eq!(
        (ia["active"].as_bool(), ia["username"].as_str()),
        (Some(true), Some(USER))
    );
    // Refresh may narrow the scope (in any accepted form), never broaden it.
    let (s, narrowed) = token(
        &srv,
        None,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", "spa"),
            ("refresh_token", &rt2),
            (
                "scope",
                "openid offline_access api://analytics/Reports.Read",
            ),
        ],
    )
    .await;
    assert_eq!(
        s, 200,
        "the granted scope, as the client first asked for it: {narrowed}"
    );
    assert_eq!(
        narrowed["scope"], "openid offline_access api://analytics/Reports.Read",
        "in the words of the refresh request"
    );
    let rt2 = narrowed["refresh_token"]
        .as_str()
        .expect("rotated")
        .to_string();
    let (s, e) = token(
        &srv,
        None,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", "spa"),
            ("refresh_token", &rt2),
            ("scope", "openid api://x"),
        ],
    )
    .await;
    assert_eq!((s, e["error_code"].as_str()), (400, Some("PV3207")), "{e}");
    // Nothing secret in the logs (at trace level), yet the sign-in is logged.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let logs = srv.stderr.lock().expect("logs").clone();
    assert!(
        logs.contains("signed in") && logs.contains(USER),
        "the sign-in is logged: {logs}"
    );
    for secret in [PASSWORD, &code, &rt1, &rt2, WEB_SECRET, at] {
        assert!(!logs.contains(secret), "a secret appears in the logs");
    }
}

#[tokio::test]
async fn the_session_signs_in_silently_and_prompt_none_reports_per_oidc() {
    let srv = Server::start();
    let mut b = Browser::new();
    // Without a session, prompt=none answers login_required on the redirect URI.
    let (_, challenge) = pkce();
    let silent = |challenge: &str| {
        authorize_url(
            &srv,
            &[
                ("client_id", "spa"),
                ("response_type", "code"),
                ("redirect_uri", SPA_CB),
                ("scope", "openid api://analytics/Reports.Read"),
                ("code_challenge", challenge),
                ("code_challenge_method", "S256"),
                ("prompt", "none"),
                ("state", "q"),
            ],
        )
    };
    let page = b.get(&silent(&challenge)).await;
    assert_eq!(page.status, 303);
    let p = page.redirect_params();
    assert_eq!(
        (
            p["error"].as_str(),
            p["error_code"].as_str(),
            p["state"].as_str()
        ),
        ("login_required", "PV3007", "q")
    );
    // Sign in once (with consent) ...
    let (code, verifier, _) =
        spa_sign_in(&srv, &mut b, "openid api://analytics/Reports.Read").await;
    assert_eq!(exchange_spa(&srv, &code, &verifier).await.0, 200);
    // ... then prompt=none gets a code without any page.
    let (v2, c2) = pkce();
    let page = b.get(&silent(&c2)).await;
    let p = page.redirect_params();
    let code2 = p
        .get("code")
        .unwrap_or_else(|| panic!("silent sign-in: {p:?}"));
    let (s, t) = exchange_spa(&srv, code2, &v2).await;
    assert_eq!(s, 200, "{t}");
    // A scope not yet consented: consent_required.
    let (_, c3) = pkce();
    let page = b
        .get(&authorize_url(
            &srv,
            &[
                ("client_id", "spa"),
                ("response_type", "code"),
                ("redirect_uri", SPA_CB),
                ("scope", "openid email"),
                ("code_challenge", &c3),
                ("code_challenge_method", "S256"),
                ("prompt", "none"),
            ],
        ))
        .await;
    assert_eq!(page.redirect_params()["error"], "consent_required");
    // prompt=login forces the password page even with a session.
    let page = b
        .get(&authorize_url(
            &srv,
            &[
                ("client_id", "spa"),
                ("response_type", "code"),
                ("redirect_uri", SPA_CB),
                ("scope", "openid api://analytics/Reports.Read"),
                ("code_challenge", &c3),
                ("code_challenge_method", "S256"),
                ("prompt", "login"),
            ],
        ))
        .await;
    assert!(
        page.location
            .as_deref()
            .is_some_and(|l| l.contains("/login?interaction=")),
        "{:?}",
        page.location
    );
    // max_age=0 means the session is too old already.
    let page = b
        .get(&authorize_url(
            &srv,
            &[
                ("client_id", "spa"),
                ("response_type", "code"),
                ("redirect_uri", SPA_CB),
                ("scope", "openid api://analytics/Reports.Read"),
                ("code_challenge", &c3),
                ("code_challenge_method", "S256"),
                ("prompt", "none"),
                ("max_age", "0"),
            ],
        ))
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let page2 = b
        .get(&authorize_url(
            &srv,
            &[
                ("client_id", "spa"),
                ("response_type", "code"),
                ("redirect_uri", SPA_CB),
                ("scope", "openid api://analytics/Reports.Read"),
                ("code_challenge", &c3),
                ("code_challenge_method", "S256"),
                ("prompt", "none"),
                ("max_age", "0"),
            ],
        ))
        .await;
    let errs = [
        page.redirect_params().get("error").cloned(),
        page2.redirect_params().get("error").cloned(),
    ];
    assert!(
        errs.iter().any(|e| e.as_deref() == Some("login_required")),
        "{errs:?}"
    );
}

#[tokio::test]
async fn an_admin_consented_confidential_app_skips_the_consent_page() {
    let srv = Server::start();
    let mut b = Browser::new();
    let (verifier, challenge) = pkce();
    let start = b
        .get(&authorize_url(
            &srv,
            &[
                ("client_id", "webapp"),
                ("response_type", "code"),
                ("scope", "openid offline_access api://analytics/.default"),
                ("code_challenge", &challenge),
                ("code_challenge_method", "S256"),
            ],
        ))
        .await;
    let after = post_login(&mut b, &start, USER, PASSWORD).await;
    assert_eq!(after.status, 303, "no consent page: {}", after.body);
    let code = after.redirect_params()["code"].clone();
    assert!(
        after.location.as_deref().expect("loc").starts_with(WEB_CB),
        "the only registered URI is used"
    );
    let (s, t) = token(
        &srv,
        Some(("webapp", WEB_SECRET)),
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("code_verifier", &verifier),
        ],
    )
    .await;
    assert_eq!(s, 200, "{t}");
    assert_eq!(t["scope"], "openid offline_access api://analytics/.default");
    // The same code again: refused, and what it produced is revoked.
    let (s, e) = token(
        &srv,
        Some(("webapp", WEB_SECRET)),
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("code_verifier", &verifier),
        ],
    )
    .await;
    assert_eq!(
        (s, e["error"].as_str(), e["error_code"].as_str()),
        (400, Some("invalid_grant"), Some("PV3102"))
    );
    let rt = t["refresh_token"].as_str().expect("rt");
    let (s, e) = token(
        &srv,
        Some(("webapp", WEB_SECRET)),
        &[("grant_type", "refresh_token"), ("refresh_token", rt)],
    )
    .await;
    assert_eq!((s, e["error_code"].as_str()), (400, Some("PV3203")), "{e}");
    assert!(
        e["error_description"]
            .as_str()
            .expect("d")
            .contains("replayed"),
        "{e}"
    );
    assert_eq!(
        introspect(&srv, t["access_token"].as_str().expect("at")).await["active"],
        false,
        "the access token is revoked too"
    );
    // A confidential client without its secret cannot redeem a code.
    let (s, e) = token(
        &srv,
        None,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", "webapp"),
            ("code", "x"),
        ],
    )
    .await;
    assert_eq!((s, e["error_code"].as_str()), (401, Some("PV1101")));
}

#[tokio::test]
async fn authorization_failures_have_their_codes() {
    let srv = Server::start();
    let mut b = Browser::new();
    let (_, challenge) = pkce();
    // Redirect URI mismatch: a page, never a redirect to the unregistered URI.
    let page = b
        .get(&authorize_url(
            &srv,
            &[
                ("client_id", "spa"),
                ("response_type", "code"),
                ("redirect_uri", "https://evil.example.com/cb"),
                ("scope", "openid"),
                ("code_challenge", &challenge),
                ("code_challenge_method", "S256"),
            ],
        ))
        .await;
    assert_eq!(page.status, 400);
    assert!(page.location.is_none());
    assert!(
        page.body.contains("PV3003") && !page.body.contains("https://spa.example.com/cb"),
        "{}",
        page.body
    );
    // A trailing slash is another URI.
    let page = b
        .get(&authorize_url(
            &srv,
            &[
                ("client_id", "spa"),
                ("response_type", "code"),
                ("redirect_uri", "https://spa.example.com/cb/"),
                ("scope", "openid"),
                ("code_challenge", &challenge),
                ("code_challenge_method", "S256"),
            ],
        ))
        .await;
    assert_eq!(page.status, 400);
    // Unknown client: a page.
    let page = b
        .get(&authorize_url(
            &srv,
            &[
                ("client_id", "ghost"),
                ("response_type", "code"),
                ("redirect_uri", SPA_CB),
            ],
        ))
        .await;
    assert!(
        page.status == 401 && page.body.contains("PV1102"),
        "{}",
        page.body
    );
    // Errors after the redirect URI is known go back to the client.
    // (extra parameters, expected error, expected code)
    type Case<'a> = (Vec<(&'a str, &'a str)>, &'a str, &'a str);
    let cases: Vec<Case> = vec![
        (vec![("scope", "openid")], "invalid_request", "PV3005"),
        (
            vec![
                ("scope", "openid"),
                ("code_challenge", &challenge),
                ("code_challenge_method", "plain"),
            ],
            "invalid_request",
            "PV3006",
        ),
        (
            vec![
                ("scope", "openid"),
                ("code_challenge", "short"),
                ("code_challenge_method", "S256"),
            ],
            "invalid_request",
            "PV1007",
        ),
        (
            vec![
                ("scope", "api://analytics/Onboarding.ReadWrite"),
                ("code_challenge", &challenge),
                ("code_challenge_method", "S256"),
            ],
            "invalid_scope",
            "PV1204",
        ),
        (
            vec![
                ("scope", ""),
                ("code_challenge", &challenge),
                ("code_challenge_method", "S256"),
            ],
            "invalid_scope",
            "PV1201",
        ),
        (
            vec![
                ("scope", "openid"),
                ("code_challenge", &challenge),
                ("code_challenge_method", "S256"),
                ("prompt", "none login"),
            ],
            "invalid_request",
            "PV1007",
        ),
    ];
    for (extra, error, code) in cases {
        let mut params = vec![
            ("client_id", "spa"),
            ("response_type", "code"),
            ("redirect_uri", SPA_CB),
            ("state", "st"),
        ];
        params.extend(extra.iter().copied());
        let page = b.get(&authorize_url(&srv, &params)).await;
        assert_eq!(page.status, 303, "{extra:?}: {}", page.body);
        let p = page.redirect_params();
        assert_eq!(
            (
                p["error"].as_str(),
                p["error_code"].as_str(),
                p["state"].as_str()
            ),
            (error, code, "st"),
            "{extra:?}: {p:?}"
        );
    }
    let page = b
        .get(&authorize_url(
            &srv,
            &[
                ("client_id", "spa"),
                ("response_type", "token"),
                ("redirect_uri", SPA_CB),
            ],
        ))
        .await;
    assert_eq!(page.redirect_params()["error"], "unsupported_response_type");
}

#[tokio::test]
async fn token_exchange_failures_have_their_codes() {
    let srv = Server::start();
    let mut b = Browser::new();
    let (code, verifier, _) =
        spa_sign_in(&srv, &mut b, "openid api://analytics/Reports.Read").await;
    // PKCE mismatch, missing verifier, wrong redirect URI: each refused; the code is
    // single-use, so each attempt needs a fresh one.
    let (s, e) = token(
        &srv,
        None,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", "spa"),
            ("code", &code),
            ("redirect_uri", SPA_CB),
            ("code_verifier", &"x".repeat(43)),
        ],
    )
    .await;
    assert_eq!(
        (s, e["error"].as_str(), e["error_code"].as_str()),
        (400, Some("invalid_grant"), Some("PV3105")),
        "{e}"
    );
    let (s, e) = exchange_spa(&srv, &code, &verifier).await;
    assert_eq!(
        (s, e["error_code"].as_str()),
        (400, Some("PV3102")),
        "a code is burnt by its first use, even a failed one: {e}"
    );
    let (code, _, _) = spa_sign_in(&srv, &mut b, "openid api://analytics/Reports.Read").await;
    let (_, e) = token(
        &srv,
        None,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", "spa"),
            ("code", &code),
            ("redirect_uri", SPA_CB),
        ],
    )
    .await;
    assert_eq!(e["error_code"], "PV3105");
    let (code, verifier, _) =
        spa_sign_in(&srv, &mut b, "openid api://analytics/Reports.Read").await;
    let (_, e) = token(
        &srv,
        None,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", "spa"),
            ("code", &code),
            ("redirect_uri", "https://spa.example.com/other"),
            ("code_verifier", &verifier),
        ],
    )
    .await;
    assert_eq!(e["error_code"], "PV3104");
    let (code, verifier, _) =
        spa_sign_in(&srv, &mut b, "openid api://analytics/Reports.Read").await;
    let (_, e) = token(
        &srv,
        Some(("webapp", WEB_SECRET)),
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", SPA_CB),
            ("code_verifier", &verifier),
        ],
    )
    .await;
    assert_eq!(e["error_code"], "PV3103");
    let (_, e) = exchange_spa(&srv, "no-such-code", &verifier).await;
    assert_eq!(e["error_code"], "PV3101");
}

#[tokio::test]
async fn revoke_sessions_disable_and_logout_stop_refresh() {
    let srv = Server::start();
    // revoke-sessions
    let mut b = Browser::new();
    let (code, verifier, _) = spa_sign_in(
        &srv,
        &mut b,
        "openid offline_access api://analytics/Reports.Read",
    )
    .await;
    let (_, t) = exchange_spa(&srv, &code, &verifier).await;
    assert_eq!(
        introspect(&srv, t["access_token"].as_str().expect("at")).await["active"],
        true
    );
    let (c, out, err) = srv.cli(&["user", "revoke-sessions", "--tenant", "contoso", USER]);
    assert_eq!(c, 0, "{err}");
    assert!(out.contains("Revoked"), "{out}");
    let (s, e) = refresh_spa(&srv, t["refresh_token"].as_str().expect("rt")).await;
    assert_eq!((s, e["error_code"].as_str()), (400, Some("PV3203")), "{e}");
    assert_eq!(
        introspect(&srv, t["access_token"].as_str().expect("at")).await["active"],
        false
    );
    // The browser session is gone too: prompt=none needs a sign-in.
    let (_, ch) = pkce();
    let page = b
        .get(&authorize_url(
            &srv,
            &[
                ("client_id", "spa"),
                ("response_type", "code"),
                ("redirect_uri", SPA_CB),
                ("scope", "openid"),
                ("code_challenge", &ch),
                ("code_challenge_method", "S256"),
                ("prompt", "none"),
            ],
        ))
        .await;
    assert_eq!(page.redirect_params()["error"], "login_required");

    // disabled account
    let mut b = Browser::new();
    let (code, verifier, _) = spa_sign_in(
        &srv,
        &mut b,
        "openid offline_access api://analytics/Reports.Read",
    )
    .await;
    let (_, t) = exchange_spa(&srv, &code, &verifier).await;
    let at = t["access_token"].as_str().expect("at");
    // Introspected once (and so remembered as verified) before the account is disabled.
    assert_eq!(introspect(&srv, at).await["active"], true);
    let (c, _, _) = srv.cli(&["user", "disable", "--tenant", "contoso", USER]);
    assert_eq!(c, 0);
    let (s, e) = refresh_spa(&srv, t["refresh_token"].as_str().expect("rt")).await;
    assert_eq!((s, e["error_code"].as_str()), (400, Some("PV3012")), "{e}");
    assert_eq!(
        introspect(&srv, at).await["active"],
        false,
        "a disabled account's access token is inactive at once"
    );
    // ... and cannot sign in (after the right password, so nothing is enumerated).
    let mut b2 = Browser::new();
    let (_, ch) = pkce();
    let start = b2
        .get(&authorize_url(
            &srv,
            &[
                ("client_id", "spa"),
                ("response_type", "code"),
                ("redirect_uri", SPA_CB),
                ("scope", "openid"),
                ("code_challenge", &ch),
                ("code_challenge_method", "S256"),
            ],
        ))
        .await;
    let page = post_login(&mut b2, &start, USER, PASSWORD).await;
    assert!(
        page.status == 403 && page.body.contains("PV3012"),
        "{}",
        page.body
    );
    let (c, _, _) = srv.cli(&["user", "enable", "--tenant", "contoso", USER]);
    assert_eq!(c, 0);

    // logout with id_token_hint ends the session and its refresh tokens
    let mut b = Browser::new();
    let (code, verifier, _) = spa_sign_in(
        &srv,
        &mut b,
        "openid offline_access api://analytics/Reports.Read",
    )
    .await;
    let (_, t) = exchange_spa(&srv, &code, &verifier).await;
    let idt = t["id_token"].as_str().expect("id");
    let page = b
        .get(&format!(
            "{}/oauth2/logout?id_token_hint={idt}&post_logout_redirect_uri={}&state=bye",
            srv.issuer("contoso"),
            urlencode(SPA_CB)
        ))
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(
        page.location.as_deref(),
        Some("https://spa.example.com/cb?state=bye")
    );
    let (s, e) = refresh_spa(&srv, t["refresh_token"].as_str().expect("rt")).await;
    assert_eq!((s, e["error_code"].as_str()), (400, Some("PV3203")), "{e}");
    assert!(
        e["error_description"]
            .as_str()
            .expect("d")
            .contains("signed out"),
        "{e}"
    );
    // An unregistered post-logout URI is refused.
    let page = b
        .get(&format!(
            "{}/oauth2/logout?client_id=spa&post_logout_redirect_uri={}",
            srv.issuer("contoso"),
            urlencode("https://evil.example.com/")
        ))
        .await;
    assert_eq!(page.status, 400);
}

#[tokio::test]
async fn revocation_endpoint_revokes_refresh_and_access_tokens() {
    let srv = Server::start();
    let mut b = Browser::new();
    let (code, verifier, _) = spa_sign_in(
        &srv,
        &mut b,
        "openid offline_access api://analytics/Reports.Read",
    )
    .await;
    let (_, t) = exchange_spa(&srv, &code, &verifier).await;
    let at = t["access_token"].as_str().expect("at");
    let rt = t["refresh_token"].as_str().expect("rt");
    let url = format!("{}/oauth2/revoke", srv.issuer("contoso"));
    // Revoking the refresh token also ends the access tokens of that grant (RFC 7009 §2.1).
    assert_eq!(introspect(&srv, at).await["active"], true);
    let res = srv
        .http
        .post(&url)
        .form(&[("client_id", "spa"), ("token", rt)])
        .send()
        .await
        .expect("send");
    assert_eq!(res.status(), 200);
    assert_eq!(
        introspect(&srv, at).await["active"],
        false,
        "the access token of a revoked grant"
    );
    // An access token can be revoked on its own, from another sign-in.
    let (code, verifier, _) = spa_sign_in(
        &srv,
        &mut b,
        "openid offline_access api://analytics/Reports.Read",
    )
    .await;
    let (_, t2) = exchange_spa(&srv, &code, &verifier).await;
    let at2 = t2["access_token"].as_str().expect("at2");
    let res = srv
        .http
        .post(&url)
        .form(&[("client_id", "spa"), ("token", at2)])
        .send()
        .await
        .expect("send");
    assert_eq!(res.status(), 200);
    assert_eq!(introspect(&srv, at2).await["active"], false);
    let (s, _) = refresh_spa(&srv, t2["refresh_token"].as_str().expect("rt2")).await;
    assert_eq!(s, 200, "revoking the access token leaves the refresh token");
    for tok in [at, rt, "not-a-token"] {
        let res = srv
            .http
            .post(&url)
            .form(&[("client_id", "spa"), ("token", tok)])
            .send()
            .await
            .expect("send");
        assert_eq!(
            res.status(),
            200,
            "RFC 7009 §2.2: 200 even for unknown tokens"
        );
    }
    assert_eq!(introspect(&srv, at).await["active"], false);
    assert_eq!(introspect(&srv, rt).await["active"], false);
    let (s, e) = refresh_spa(&srv, rt).await;
    assert_eq!((s, e["error_code"].as_str()), (400, Some("PV3203")));
    // Introspection needs client authentication.
    let res = srv
        .http
        .post(format!("{}/oauth2/introspect", srv.issuer("contoso")))
        .form(&[("token", at)])
        .send()
        .await
        .expect("send");
    assert_eq!(res.status(), 401);
}

#[tokio::test]
async fn forms_need_their_csrf_token_and_browser() {
    let srv = Server::start();
    let mut b = Browser::new();
    let (_, ch) = pkce();
    let start = b
        .get(&authorize_url(
            &srv,
            &[
                ("client_id", "spa"),
                ("response_type", "code"),
                ("redirect_uri", SPA_CB),
                ("scope", "openid"),
                ("code_challenge", &ch),
                ("code_challenge_method", "S256"),
            ],
        ))
        .await;
    let url = start.location.clone().expect("login");
    let page = b.get(&url).await;
    let interaction = page.hidden("interaction").expect("i");
    let action = format!("{}/login", srv.issuer("contoso"));
    let p = b
        .post(
            &action,
            &[
                ("interaction", &interaction),
                ("username", USER),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert!(
        p.status == 403 && p.body.contains("PV3002"),
        "missing CSRF: {}",
        p.body
    );
    let p = b
        .post(
            &action,
            &[
                ("interaction", &interaction),
                ("csrf", "forged"),
                ("username", USER),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert!(
        p.status == 403 && p.body.contains("PV3002"),
        "wrong CSRF: {}",
        p.body
    );
    // The right token from another browser (no binding cookie) is refused too.
    let mut other = Browser::new();
    let csrf = page.hidden("csrf").expect("csrf");
    let p = other
        .post(
            &action,
            &[
                ("interaction", &interaction),
                ("csrf", &csrf),
                ("username", USER),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert!(p.status == 400 && p.body.contains("PV3001"), "{}", p.body);
}

#[tokio::test]
async fn wrong_passwords_are_answered_alike_and_then_slowed() {
    let srv = Server::start();
    let mut b = Browser::new();
    let (_, ch) = pkce();
    let start = b
        .get(&authorize_url(
            &srv,
            &[
                ("client_id", "spa"),
                ("response_type", "code"),
                ("redirect_uri", SPA_CB),
                ("scope", "openid"),
                ("code_challenge", &ch),
                ("code_challenge_method", "S256"),
            ],
        ))
        .await;
    let unknown = post_login(
        &mut b,
        &start,
        "nobody@contoso.example",
        "whatever-password",
    )
    .await;
    let wrong = post_login(&mut b, &start, USER, "wrong password").await;
    assert_eq!(unknown.status, 401);
    assert_eq!(wrong.status, 401);
    let msg = |p: &Page| {
        p.body
            .split("role=\"alert\">")
            .nth(1)
            .and_then(|r| r.split('<').next())
            .map(str::to_string)
    };
    assert_eq!(msg(&unknown), msg(&wrong), "no account enumeration");
    assert!(wrong.body.contains("PV3010"));
    for _ in 0..4 {
        post_login(&mut b, &start, USER, "wrong password").await;
    }
    let locked = post_login(&mut b, &start, USER, PASSWORD).await;
    assert_eq!(
        locked.status, 429,
        "even the right password waits: {}",
        locked.body
    );
    assert!(locked.body.contains("PV3011"));
}

#[tokio::test]
async fn pages_speak_swedish_and_discovery_lists_the_user_flows() {
    let srv = Server::start();
    let mut b = Browser::new();
    b.accept_language = Some("sv-SE,sv;q=0.9,en;q=0.5".into());
    let (_, ch) = pkce();
    let start = b
        .get(&authorize_url(
            &srv,
            &[
                ("client_id", "spa"),
                ("response_type", "code"),
                ("redirect_uri", SPA_CB),
                ("scope", "openid"),
                ("code_challenge", &ch),
                ("code_challenge_method", "S256"),
            ],
        ))
        .await;
    let page = b.get(start.location.as_deref().expect("login")).await;
    assert!(
        page.body.contains("Logga in")
            && page.body.contains("Lösenord")
            && page.body.contains("lang=\"sv\""),
        "{}",
        page.body
    );
    let (_, d) = srv
        .get_json("/contoso/.well-known/openid-configuration")
        .await;
    let issuer = srv.issuer("contoso");
    assert_eq!(
        d["authorization_endpoint"],
        format!("{issuer}/oauth2/authorize")
    );
    assert_eq!(
        d["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    assert_eq!(d["authorization_response_iss_parameter_supported"], true);
    for k in [
        "userinfo_endpoint",
        "introspection_endpoint",
        "revocation_endpoint",
        "end_session_endpoint",
    ] {
        assert!(d[k].as_str().is_some_and(|u| u.starts_with(&issuer)), "{k}");
    }
    let g: Vec<&str> = d["grant_types_supported"]
        .as_array()
        .expect("g")
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert!(g.contains(&"authorization_code") && g.contains(&"refresh_token"));
}

async fn device_start(srv: &Server) -> Value {
    let res = srv
        .http
        .post(format!("{}/oauth2/devicecode", srv.issuer("contoso")))
        .form(&[
            ("client_id", "tv"),
            (
                "scope",
                "openid offline_access api://analytics/Reports.Read",
            ),
        ])
        .send()
        .await
        .expect("send");
    assert_eq!(res.status(), 200);
    res.json().await.expect("json")
}

async fn device_poll(srv: &Server, device_code: &str) -> (u16, Value) {
    token(
        srv,
        None,
        &[
            ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
            ("client_id", "tv"),
            ("device_code", device_code),
        ],
    )
    .await
}

/// Enter the user code in a browser, sign in, and answer the confirmation.
async fn device_browser(srv: &Server, user_code: &str, answer: &str) -> Page {
    let mut b = Browser::new();
    let page = b
        .get(&format!(
            "{}/device?user_code={user_code}",
            srv.issuer("contoso")
        ))
        .await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains(user_code), "prefilled");
    let csrf = page.hidden("csrf").expect("csrf");
    let start = b
        .post(
            &format!("{}/device", srv.issuer("contoso")),
            &[
                ("csrf", &csrf),
                ("user_code", &user_code.to_lowercase().replace('-', " ")),
            ],
        )
        .await;
    assert_eq!(start.status, 303, "{}", start.body);
    let consent = post_login(&mut b, &start, USER, PASSWORD).await;
    assert_eq!(
        consent.status, 200,
        "the device is always confirmed: {}",
        consent.body
    );
    let i = consent.hidden("interaction").expect("i");
    let c = consent.hidden("csrf").expect("c");
    b.post(
        &format!("{}/consent", srv.issuer("contoso")),
        &[("interaction", &i), ("csrf", &c), ("consent", answer)],
    )
    .await
}

#[tokio::test]
async fn device_flow_signs_in_a_device_once() {
    let srv = Server::start();
    let d = device_start(&srv).await;
    let user_code = d["user_code"].as_str().expect("user code").to_string();
    assert_eq!(
        d["verification_uri"],
        format!("{}/device", srv.issuer("contoso"))
    );
    assert_eq!(d["interval"], 5);
    assert!(d["expires_in"].as_i64().expect("expires") > 0);
    let dc = d["device_code"].as_str().expect("device code").to_string();
    let done = device_browser(&srv, &user_code, "accept").await;
    assert!(
        done.status == 200 && done.body.contains("device is signed in"),
        "{}",
        done.body
    );
    let (s, t) = device_poll(&srv, &dc).await;
    assert_eq!(s, 200, "{t}");
    assert!(
        t["access_token"].is_string()
            && t["id_token"].is_string()
            && t["refresh_token"].is_string()
    );
    let claims = verify_independently(
        &srv,
        "contoso",
        t["access_token"].as_str().expect("at"),
        "api://analytics",
    )
    .await
    .expect("verifies");
    assert_eq!(claims["client_id"], "tv");
    let (s, e) = device_poll(&srv, &dc).await;
    assert_eq!(
        (s, e["error"].as_str(), e["error_code"].as_str()),
        (400, Some("invalid_grant"), Some("PV3406")),
        "once only"
    );
    // The refresh token of a device works like any other.
    let (s, _) = token(
        &srv,
        None,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", "tv"),
            ("refresh_token", t["refresh_token"].as_str().expect("rt")),
        ],
    )
    .await;
    assert_eq!(s, 200);
}

#[tokio::test]
async fn device_polling_pending_slow_down_and_denial() {
    let srv = Server::start();
    let d = device_start(&srv).await;
    let dc = d["device_code"].as_str().expect("dc").to_string();
    let (s, e) = device_poll(&srv, &dc).await;
    assert_eq!(
        (s, e["error"].as_str()),
        (400, Some("authorization_pending")),
        "{e}"
    );
    let (s, e) = device_poll(&srv, &dc).await;
    assert_eq!(
        (s, e["error"].as_str(), e["error_code"].as_str()),
        (400, Some("slow_down"), Some("PV3402")),
        "RFC 8628 §3.5: {e}"
    );
    let d2 = device_start(&srv).await;
    let denied = device_browser(&srv, d2["user_code"].as_str().expect("uc"), "deny").await;
    assert!(denied.body.contains("not signed in"), "{}", denied.body);
    let (s, e) = device_poll(&srv, d2["device_code"].as_str().expect("dc")).await;
    assert_eq!((s, e["error"].as_str()), (400, Some("access_denied")));
    // A wrong code on the entry page is explained, and the page asks again.
    let mut b = Browser::new();
    let page = b.get(&format!("{}/device", srv.issuer("contoso"))).await;
    let csrf = page.hidden("csrf").expect("csrf");
    let again = b
        .post(
            &format!("{}/device", srv.issuer("contoso")),
            &[("csrf", &csrf), ("user_code", "BCDF-GHJK")],
        )
        .await;
    assert!(
        again.status == 400 && again.body.contains("PV3405"),
        "{}",
        again.body
    );
    let forged = Browser::new()
        .post(
            &format!("{}/device", srv.issuer("contoso")),
            &[("csrf", "x"), ("user_code", "BCDF-GHJK")],
        )
        .await;
    assert!(
        forged.status == 403 && forged.body.contains("PV3002"),
        "{}",
        forged.body
    );
    // A client without the grant cannot start the flow.
    let res = srv
        .http
        .post(format!("{}/oauth2/devicecode", srv.issuer("contoso")))
        .form(&[("client_id", "spa"), ("scope", "openid")])
        .send()
        .await
        .expect("send");
    let v: Value = res.json().await.expect("json");
    assert_eq!(v["error_code"], "PV1107");
}

/// An attribute value as a browser reads it: character references decoded (askama
/// writes `&#34;` and the like; named ones for completeness).
fn html_unescape(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        let end = tail.find(';').unwrap_or(0);
        let entity = &tail[1..end.max(1)];
        let ch = match entity {
            "quot" => Some('"'),
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "apos" => Some('\''),
            e if e.starts_with("#x") || e.starts_with("#X") => u32::from_str_radix(&e[2..], 16)
                .ok()
                .and_then(char::from_u32),
            e if e.starts_with('#') => e[1..].parse().ok().and_then(char::from_u32),
            _ => None,
        };
        match ch {
            Some(c) if end > 0 => {
                out.push(c);
                rest = &tail[end + 1..];
            }
            _ => {
                out.push('&');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[tokio::test]
async fn response_mode_form_post_and_fragment_deliver_the_code_and_errors_as_asked() {
    let srv = Server::start();
    let (_, discovery) = srv
        .get_json("/contoso/.well-known/openid-configuration")
        .await;
    assert_eq!(
        discovery["response_modes_supported"],
        serde_json::json!(["query", "fragment", "form_post"]),
        "{discovery}"
    );
    // form_post (OAuth 2.0 Form Post Response Mode §2): a page that posts the
    // response to the redirect URI, the parameters in no URL.
    let mut b = Browser::new();
    let (verifier, challenge) = pkce();
    let state = "s\"<&>'x";
    let start = b
        .get(&authorize_url(
            &srv,
            &[
                ("client_id", "webapp"),
                ("response_type", "code"),
                ("response_mode", "form_post"),
                ("scope", "openid api://analytics/.default"),
                ("state", state),
                ("code_challenge", &challenge),
                ("code_challenge_method", "S256"),
            ],
        ))
        .await;
    assert_eq!(start.status, 303, "{}", start.body);
    let page = post_login(&mut b, &start, USER, PASSWORD).await;
    assert_eq!(
        page.status, 200,
        "a form page, not a redirect: {}",
        page.body
    );
    assert!(page.location.is_none());
    assert!(
        page.body
            .contains(&format!("<form method=\"post\" action=\"{WEB_CB}\"")),
        "{}",
        page.body
    );
    let code = page.hidden("code").expect("code field");
    assert_eq!(html_unescape(&page.hidden("state").expect("state")), state);
    assert_eq!(
        html_unescape(&page.hidden("iss").expect("iss")),
        srv.issuer("contoso")
    );
    // The page may run its one script (by hash) and post only to the client.
    let csp = page.csp.as_deref().expect("a CSP");
    let mut hash =
        portvakt_jose::b64url_encode(&portvakt_jose::sha256(b"document.forms[0].submit();"))
            .replace('-', "+")
            .replace('_', "/");
    while !hash.len().is_multiple_of(4) {
        hash.push('=');
    }
    assert!(
        csp.contains(&format!("script-src 'sha256-{hash}';")),
        "the script's own hash: {csp}"
    );
    assert!(
        csp.contains("form-action https://web.example.com;"),
        "{csp}"
    );
    assert!(!csp.contains("script-src 'unsafe"), "{csp}");
    assert!(page
        .body
        .contains("<script>document.forms[0].submit();</script>"));
    let (s, t) = token(
        &srv,
        Some(("webapp", WEB_SECRET)),
        &[
            ("grant_type", "authorization_code"),
            ("code", &html_unescape(&code)),
            ("code_verifier", &verifier),
        ],
    )
    .await;
    assert_eq!(s, 200, "the posted code redeems: {t}");
    assert!(t["id_token"].is_string());

    // An error goes the same way: prompt=none with consent missing for the spa client
    // in a fresh browser → login_required, posted.
    let mut fresh = Browser::new();
    let (_, challenge) = pkce();
    let p = fresh
        .get(&authorize_url(
            &srv,
            &[
                ("client_id", "spa"),
                ("response_type", "code"),
                ("response_mode", "form_post"),
                ("redirect_uri", SPA_CB),
                ("scope", "api://analytics/Reports.Read"),
                ("prompt", "none"),
                ("state", "e1"),
                ("code_challenge", &challenge),
                ("code_challenge_method", "S256"),
            ],
        ))
        .await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert_eq!(p.hidden("error").as_deref(), Some("login_required"));
    assert_eq!(p.hidden("state").as_deref(), Some("e1"));
    assert!(p.hidden("correlation_id").is_some());

    // fragment: the response after '#', so it never reaches the client's server logs.
    let (_, challenge) = pkce();
    let p = b
        .get(&authorize_url(
            &srv,
            &[
                ("client_id", "webapp"),
                ("response_type", "code"),
                ("response_mode", "fragment"),
                ("scope", "api://analytics/.default"),
                ("state", "f1"),
                ("code_challenge", &challenge),
                ("code_challenge_method", "S256"),
            ],
        ))
        .await;
    assert_eq!(p.status, 303, "the session signs in silently: {}", p.body);
    let loc = p.location.expect("location");
    let (base, frag) = loc.split_once('#').expect("a fragment");
    assert_eq!(base, WEB_CB);
    let params = common::browser::form_urlencoded_parse(frag);
    assert!(params.contains_key("code"), "{loc}");
    assert_eq!(params["state"], "f1");

    // An unknown mode is an error, reported in the default mode (the query).
    let p = b
        .get(&authorize_url(
            &srv,
            &[
                ("client_id", "webapp"),
                ("response_type", "code"),
                ("response_mode", "web_message"),
                ("scope", "api://analytics/.default"),
                ("code_challenge", &challenge),
                ("code_challenge_method", "S256"),
            ],
        ))
        .await;
    assert_eq!(p.status, 303);
    let q = p.redirect_params();
    assert_eq!(q["error"], "invalid_request");
    assert!(q["error_description"].contains("form_post"), "{q:?}");
}
