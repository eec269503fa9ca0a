//! Black-box: the findings of issue #11 (an attacker's look), one test each — revoked
//! admin tokens, log injection, bounded storage, smart lockout, device-code guessing,
//! introspection rights, redirect-URI rules, duplicate Authorization headers,
//! security headers, what error pages reveal, the device consent page, file modes.

mod common;
use common::browser::{Browser, Page};
use common::signin::*;
use common::*;
use serde_json::{json, Value};
use std::net::IpAddr;

fn ip(s: &str) -> Option<IpAddr> {
    Some(s.parse().expect("ip"))
}

async fn admin_get(srv: &Server, token: &str, path: &str) -> (u16, Value) {
    let res = srv
        .http
        .get(format!("{}/admin/v1{path}", srv.url))
        .bearer_auth(token)
        .send()
        .await
        .expect("send");
    let s = res.status().as_u16();
    (s, res.json().await.unwrap_or(Value::Null))
}

fn admin_credential(srv: &Server) -> (String, String) {
    let cred: Value = serde_json::from_str(
        &std::fs::read_to_string(srv.data().join("admin.json")).expect("admin.json"),
    )
    .expect("json");
    (
        cred["clientId"].as_str().expect("id").to_string(),
        cred["clientSecret"].as_str().expect("secret").to_string(),
    )
}

#[tokio::test]
async fn a_revoked_admin_token_is_refused_by_the_admin_api() {
    let srv = Server::start();
    let token = srv.admin_token().await;
    assert_eq!(admin_get(&srv, &token, "/tenants").await.0, 200);
    let (id, secret) = admin_credential(&srv);
    let res = srv
        .http
        .post(format!("{}/oauth2/revoke", srv.issuer("system")))
        .basic_auth(&id, Some(&secret))
        .form(&[("token", token.as_str())])
        .send()
        .await
        .expect("send");
    assert_eq!(res.status(), 200);
    let (s, e) = admin_get(&srv, &token, "/tenants").await;
    assert_eq!((s, e["error_code"].as_str()), (401, Some("PV1402")), "{e}");
    assert!(
        e["error_description"]
            .as_str()
            .is_some_and(|d| d.contains("revoked")),
        "{e}"
    );
    // A fresh token still works.
    let fresh = srv.admin_token().await;
    assert_eq!(admin_get(&srv, &fresh, "/tenants").await.0, 200);
}

#[tokio::test]
async fn control_characters_from_requests_never_reach_the_log_raw() {
    let srv = Server::start_with_log("trace");
    let forged =
        "FORGED 2026-12-01T09:00:00Z  INFO portvakt::signin: signed in user=admin@contoso.example";
    let evil = format!("x\n{forged}\r\u{1b}[2K\u{7}");
    let enc = urlencode(&evil);
    // The path (tenant), at every kind of endpoint.
    for path in [
        format!("/{enc}/oauth2/token"),
        format!("/{enc}/.well-known/openid-configuration"),
        format!("/{enc}/oauth2/authorize?client_id=spa"),
        format!("/{enc}/login?interaction={enc}"),
        format!("/errors/{enc}"),
        format!("/{enc}"),
    ] {
        let _ = srv.http.get(format!("{}{path}", srv.url)).send().await;
        let _ = srv
            .http
            .post(format!("{}{path}", srv.url))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await;
    }
    // Form values and credentials at the token endpoint.
    let _ = srv
        .token_raw(
            "contoso",
            Some((&evil, &evil)),
            &[("grant_type", &evil), ("scope", &evil)],
        )
        .await;
    let _ = srv
        .token_raw(
            "contoso",
            None,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &evil),
                ("client_secret", &evil),
            ],
        )
        .await;
    let _ = srv
        .token_raw(
            "contoso",
            None,
            &[
                ("grant_type", "refresh_token"),
                ("client_id", "spa"),
                ("refresh_token", &evil),
            ],
        )
        .await;
    // A typed user name on the login page (wrong password, then throttled).
    let mut b = Browser::new();
    let (_, challenge) = pkce();
    let start = b
        .get(&authorize_url(
            &srv,
            &[
                ("client_id", "spa"),
                ("response_type", "code"),
                ("redirect_uri", SPA_CB),
                ("scope", "openid"),
                ("state", &evil),
                ("login_hint", &evil[..20]),
                ("code_challenge", &challenge),
                ("code_challenge_method", "S256"),
            ],
        ))
        .await;
    for _ in 0..6 {
        let _ = post_login(&mut b, &start, &evil, "wrong password").await;
    }
    // Device flow: a typed user code.
    let page = b.get(&format!("{}/device", srv.issuer("contoso"))).await;
    if let Some(csrf) = page.hidden("csrf") {
        let _ = b
            .post(
                &format!("{}/device", srv.issuer("contoso")),
                &[("csrf", &csrf), ("user_code", &evil)],
            )
            .await;
    }
    // Headers.
    let _ = srv
        .http
        .get(format!("{}/contoso/oauth2/userinfo", srv.url))
        .header("authorization", "Bearer x\u{1b}[31m")
        .header("user-agent", "ua\u{1b}[31m")
        .send()
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let log = srv.stderr.lock().expect("log").clone();
    assert!(
        log.contains("FORGED"),
        "the values were logged (escaped): {log}"
    );
    for (n, line) in log.lines().enumerate() {
        assert!(!line.starts_with("FORGED"), "line {n} is forged: {line}");
        assert!(
            !line.contains('\u{1b}') && !line.contains('\u{7}') && !line.contains('\r'),
            "line {n} has a raw control character: {line:?}"
        );
    }
    assert!(
        log.contains("\\n") || log.contains("\\u{a}"),
        "newlines are escaped"
    );
}

#[tokio::test]
async fn what_an_unauthenticated_request_may_store_is_bounded() {
    let srv = Server::start();
    let mut b = Browser::new();
    let (_, challenge) = pkce();
    let big = "s".repeat(60 * 1024);
    let url = |state: &str| {
        authorize_url(
            &srv,
            &[
                ("client_id", "spa"),
                ("response_type", "code"),
                ("redirect_uri", SPA_CB),
                ("scope", "openid"),
                ("state", state),
                ("code_challenge", &challenge),
                ("code_challenge_method", "S256"),
            ],
        )
    };
    let page = b.get(&url(&big)).await;
    assert_eq!(page.status, 400, "a 60 KB state is refused");
    assert!(
        page.body.contains("PV1007") && page.body.contains("state"),
        "{}",
        page.body
    );
    assert!(
        !b.cookies.contains_key("pv_interaction"),
        "nothing was started"
    );
    let before = srv.stored_size().await;
    // Pending sign-ins per address: the limit, then 429 with Retry-After. The window
    // is the clock's minute: start early in one, so the 400 requests cannot straddle
    // two windows and see the count reset half-way.
    let second = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs()
        % 60;
    if second > 30 {
        tokio::time::sleep(std::time::Duration::from_secs(61 - second)).await;
    }
    let no_redirects = portvakt_guard::http::builder()
        .expect("TLS")
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let mut refused = None;
    for n in 0..400 {
        let res = no_redirects.get(url("ok")).send().await.expect("send");
        assert_eq!(res.status(), 303, "{n}");
        let location = res
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        // Past the limit the client hears it on its redirect URI (RFC 6749 §4.1.2.1).
        if location.starts_with(SPA_CB) {
            assert!(
                location.contains("error=temporarily_unavailable") && location.contains("PV1011"),
                "{location}"
            );
            refused = Some(n);
            break;
        }
        assert!(location.contains("/login?interaction="), "{n}: {location}");
    }
    let n = refused.expect("the address is limited");
    assert_eq!(n, 300, "the default limit is 300 per minute");
    let after = srv.stored_size().await;
    assert!(after - before < 8 * 1024 * 1024, "{before} → {after}");
    // Device authorizations per address.
    let mut refused = None;
    for n in 0..100 {
        let res = srv
            .http
            .post(format!("{}/oauth2/devicecode", srv.issuer("contoso")))
            .form(&[
                ("client_id", "tv"),
                ("scope", "api://analytics/Reports.Read"),
            ])
            .send()
            .await
            .expect("send");
        if res.status() == 429 {
            let v: Value = res.json().await.expect("json");
            assert_eq!(v["error_code"], "PV1011", "{v}");
            refused = Some(n);
            break;
        }
        assert_eq!(res.status(), 200);
    }
    assert_eq!(refused, Some(60), "the default limit is 60 per minute");
}

/// Start a sign-in in `b` and return the login page's redirect.
async fn start_sign_in(srv: &Server, b: &mut Browser) -> Page {
    let (_, challenge) = pkce();
    let start = b
        .get(&authorize_url(
            srv,
            &[
                ("client_id", "spa"),
                ("response_type", "code"),
                ("redirect_uri", SPA_CB),
                ("scope", "openid"),
                ("code_challenge", &challenge),
                ("code_challenge_method", "S256"),
            ],
        ))
        .await;
    assert_eq!(start.status, 303, "{}", start.body);
    start
}

#[tokio::test]
async fn failures_from_one_address_do_not_lock_the_owner_out_at_another() {
    let srv = Server::start();
    let mut attacker = Browser::from_address(ip("127.0.0.1"));
    let start = start_sign_in(&srv, &mut attacker).await;
    for _ in 0..5 {
        let p = post_login(&mut attacker, &start, USER, "wrong password").await;
        assert_eq!(p.status, 401, "{}", p.body);
    }
    let p = post_login(&mut attacker, &start, USER, PASSWORD).await;
    assert_eq!(
        p.status, 429,
        "the attacker's address is held back, even with the password"
    );
    // The owner, elsewhere, signs in.
    let mut owner = Browser::from_address(ip("127.0.0.2"));
    let start = start_sign_in(&srv, &mut owner).await;
    let p = post_login(&mut owner, &start, USER, PASSWORD).await;
    assert_eq!(p.status, 303, "the owner is not locked out: {}", p.body);
}

#[tokio::test]
async fn failed_client_secrets_are_throttled_per_client_and_address_and_say_when_to_retry() {
    let srv = Server::start();
    let from = |a: &str| {
        portvakt_guard::http::builder()
            .expect("TLS")
            .local_address(ip(a))
            .build()
            .expect("client")
    };
    let url = format!("{}/oauth2/token", srv.issuer("contoso"));
    let cc = |c: reqwest::Client, id: &'static str, secret: &'static str, scope: &'static str| {
        let url = url.clone();
        async move {
            let r = c
                .post(url)
                .basic_auth(id, Some(secret))
                .form(&[("grant_type", "client_credentials"), ("scope", scope)])
                .send()
                .await
                .expect("send");
            let retry = r
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<i64>().ok());
            (
                r.status().as_u16(),
                retry,
                r.json::<Value>().await.unwrap_or(Value::Null),
            )
        }
    };
    const API: &str = "api://analytics/.default";
    let attacker = from("127.0.0.1");
    for _ in 0..5 {
        let (s, _, v) = cc(attacker.clone(), "bench", "guess-0123456789abcdef0123", API).await;
        assert_eq!((s, v["error_code"].as_str()), (401, Some("PV1103")), "{v}");
    }
    let (s, retry, v) = cc(attacker.clone(), "bench", SECRET, API).await;
    assert_eq!(s, 429, "held back even with the right secret: {v}");
    assert_eq!(v["error"], "invalid_client");
    assert_eq!(v["error_code"], "PV1109");
    let wait = retry.expect("a Retry-After header");
    assert!((1..=30).contains(&wait), "Retry-After {wait}");
    assert!(
        v["error_description"]
            .as_str()
            .unwrap_or("")
            .contains("try again in"),
        "{v}"
    );
    // client_secret_post and the introspection endpoint answer to the same count.
    let r = attacker
        .post(format!("{}/oauth2/introspect", srv.issuer("contoso")))
        .form(&[
            ("client_id", "bench"),
            ("client_secret", SECRET),
            ("token", "x"),
        ])
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 429);
    // Unknown client ids count as one client per tenant (what is sent as an id never
    // becomes a key of its own): five of them from an address hold the sixth back.
    let other = from("127.0.0.3");
    for id in ["nope-1", "nope-2", "nope-3", "nope-4", "nope-5"] {
        let (s, _, v) = cc(other.clone(), id, "guess-0123456789abcdef0123", API).await;
        assert_eq!((s, v["error_code"].as_str()), (401, Some("PV1102")), "{v}");
    }
    let (s, _, v) = cc(other.clone(), "nope-6", "guess-0123456789abcdef0123", API).await;
    assert_eq!((s, v["error_code"].as_str()), (429, Some("PV1109")), "{v}");
    let (s, _, v) = cc(other.clone(), "bench", SECRET, API).await;
    assert_eq!(
        s, 200,
        "a real client at that address is not held back: {v}"
    );
    // The same client from another address, and another client from this one, are
    // not held back; nor are the people at this address.
    let (s, _, v) = cc(from("127.0.0.2"), "bench", SECRET, API).await;
    assert_eq!(s, 200, "{v}");
    let (s, _, v) = cc(
        attacker.clone(),
        "narrow",
        "narrow-secret-0123456789abcdef",
        "api://analytics/Reports.Read",
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let mut person = Browser::from_address(ip("127.0.0.1"));
    let start = start_sign_in(&srv, &mut person).await;
    let p = post_login(&mut person, &start, USER, PASSWORD).await;
    assert_eq!(
        p.status, 303,
        "password sign-in at the address works: {}",
        p.body
    );
    // The refused attempts are in the sign-in log, under the client.
    let admin = srv.admin_token().await;
    let mut found = false;
    for _ in 0..50 {
        let (s, v) = admin_get(
            &srv,
            &admin,
            "/tenants/contoso/auditLogs/signIns?$filter=status/errorCode%20eq%201109%20and%20appId%20eq%20%27bench%27",
        )
        .await;
        assert_eq!(s, 200, "{v}");
        if let Some(r) = v["value"].as_array().and_then(|a| a.first()) {
            assert_eq!(r["appId"], "bench");
            assert_eq!(r["ipAddress"], "127.0.0.1");
            found = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(found, "a PV1109 record in the sign-in log");
}

#[tokio::test]
async fn guessing_spread_over_addresses_is_slowed_but_a_familiar_address_is_not() {
    let srv = Server::start();
    // The owner signs in from 127.0.0.2 once: it becomes a familiar address.
    let mut owner = Browser::from_address(ip("127.0.0.2"));
    let start = start_sign_in(&srv, &mut owner).await;
    assert_eq!(
        post_login(&mut owner, &start, USER, PASSWORD).await.status,
        303
    );
    // Twenty guesses, one from each of twenty addresses.
    for i in 0..20 {
        let mut b = Browser::from_address(ip(&format!("127.0.1.{}", i + 1)));
        let start = start_sign_in(&srv, &mut b).await;
        assert_eq!(
            post_login(&mut b, &start, USER, "wrong password")
                .await
                .status,
            401
        );
    }
    // A new, unfamiliar address is held back, even with the right password...
    let mut other = Browser::from_address(ip("127.0.2.1"));
    let start = start_sign_in(&srv, &mut other).await;
    assert_eq!(
        post_login(&mut other, &start, USER, PASSWORD).await.status,
        429
    );
    // ...the familiar one is not.
    let mut owner = Browser::from_address(ip("127.0.0.2"));
    let start = start_sign_in(&srv, &mut owner).await;
    assert_eq!(
        post_login(&mut owner, &start, USER, PASSWORD).await.status,
        303
    );
}

#[tokio::test]
async fn wrong_device_user_codes_are_throttled_per_address() {
    let srv = Server::start();
    let mut b = Browser::new();
    let url = format!("{}/device", srv.issuer("contoso"));
    let mut statuses = Vec::new();
    for _ in 0..8 {
        let page = b.get(&url).await;
        let csrf = page.hidden("csrf").expect("csrf");
        let p = b
            .post(&url, &[("csrf", &csrf), ("user_code", "BCDF-GHJK")])
            .await;
        statuses.push(p.status);
        if p.status == 429 {
            assert!(p.body.contains("PV3407"), "{}", p.body);
        }
    }
    assert_eq!(&statuses[..5], &[400; 5], "{statuses:?}");
    assert!(statuses[5..].iter().all(|s| *s == 429), "{statuses:?}");
    // A real code from this address is held back too while the wait lasts; another
    // address may still enter codes.
    let mut other = Browser::from_address(ip("127.0.0.3"));
    let page = other.get(&url).await;
    let csrf = page.hidden("csrf").expect("csrf");
    let p = other
        .post(&url, &[("csrf", &csrf), ("user_code", "BCDF-GHJK")])
        .await;
    assert_eq!(p.status, 400);
}

#[tokio::test]
async fn only_the_tokens_client_and_its_audiences_resource_servers_may_introspect() {
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
    let ask = |id: &'static str, secret: &'static str, tok: String| {
        let srv = &srv;
        async move {
            let res = srv
                .http
                .post(format!("{}/oauth2/introspect", srv.issuer("contoso")))
                .basic_auth(id, Some(secret))
                .form(&[("token", tok.as_str())])
                .send()
                .await
                .expect("send");
            assert_eq!(res.status(), 200);
            res.json::<Value>().await.expect("json")
        }
    };
    // A client-credentials client of the same tenant learns nothing.
    let v = ask("narrow", "narrow-secret-0123456789abcdef", at.into()).await;
    assert_eq!(v, json!({"active": false}), "{v}");
    let v = ask("narrow", "narrow-secret-0123456789abcdef", rt.into()).await;
    assert_eq!(v, json!({"active": false}), "{v}");
    // The resource server named by api://analytics may introspect its tokens.
    let v = ask("webapp", WEB_SECRET, at.into()).await;
    assert_eq!(
        (v["active"].as_bool(), v["username"].as_str()),
        (Some(true), Some(USER)),
        "{v}"
    );
    // ...but not another client's refresh token.
    assert_eq!(ask("webapp", WEB_SECRET, rt.into()).await["active"], false);
    // A client may introspect its own token.
    let own = srv.token("contoso", "api://analytics/.default").await;
    let v = ask(
        "bench",
        SECRET,
        own["access_token"].as_str().expect("at").into(),
    )
    .await;
    assert_eq!(v["active"], true, "{v}");
    let v = ask(
        "narrow",
        "narrow-secret-0123456789abcdef",
        own["access_token"].as_str().expect("at").into(),
    )
    .await;
    assert_eq!(v["active"], false, "{v}");
}

#[tokio::test]
async fn redirect_uris_must_be_https_loopback_http_or_a_native_scheme() {
    let srv = Server::start();
    let token = srv.admin_token().await;
    let create = |uri: &'static str| {
        let (srv, token) = (&srv, token.clone());
        async move {
            let res = srv
                .http
                .post(format!("{}/admin/v1/tenants/contoso/applications", srv.url))
                .bearer_auth(token)
                .json(&json!({"displayName": "x", "confidential": false, "grantTypes": ["authorization_code"], "redirectUris": [uri]}))
                .send()
                .await
                .expect("send");
            let s = res.status().as_u16();
            (s, res.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    for bad in [
        "javascript:alert(1)//",
        "http://evil.example.com/cb",
        "data:text/html,x",
        "myapp:/cb",
        "https://*.example.com/cb",
    ] {
        let (s, e) = create(bad).await;
        assert_eq!(s, 400, "{bad}: {e}");
        assert!(
            e["error_description"]
                .as_str()
                .is_some_and(|d| d.contains("redirectUris[0]")),
            "{bad}: {e}"
        );
    }
    for ok in [
        "https://app.example.com/cb",
        "http://127.0.0.1:8123/cb",
        "http://[::1]/cb",
        "com.example.app:/oauth2redirect",
    ] {
        let (s, e) = create(ok).await;
        assert_eq!(s, 201, "{ok}: {e}");
    }
    // Users of the system tenant are checked like everyone's.
    for body in [
        json!({"userPrincipalName": "x y\n", "password": "long enough password"}),
        json!({"userPrincipalName": "ops@example.com", "password": "a"}),
    ] {
        let res = srv
            .http
            .post(format!("{}/admin/v1/tenants/system/users", srv.url))
            .bearer_auth(&token)
            .json(&body)
            .send()
            .await
            .expect("send");
        assert_eq!(res.status(), 400, "{body}");
    }
}

#[tokio::test]
async fn a_second_authorization_header_is_refused_not_ignored() {
    let srv = Server::start();
    let basic = |id: &str, s: &str| {
        use base64::Engine;
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{id}:{s}"))
        )
    };
    let res = srv
        .http
        .post(format!("{}/oauth2/token", srv.issuer("contoso")))
        .header("authorization", basic("bench", SECRET))
        .header("authorization", basic("narrow", "wrong"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("scope", "api://analytics/.default"),
        ])
        .send()
        .await
        .expect("send");
    assert_eq!(res.status(), 401);
    let v: Value = res.json().await.expect("json");
    assert_eq!(v["error_code"], "PV1105", "{v}");
    let at = srv.token("contoso", "api://analytics/.default").await["access_token"]
        .as_str()
        .expect("at")
        .to_string();
    let res = srv
        .http
        .get(format!("{}/oauth2/userinfo", srv.issuer("contoso")))
        .header("authorization", format!("Bearer {at}"))
        .header("authorization", "Bearer other")
        .send()
        .await
        .expect("send");
    assert_eq!(res.status(), 400);
    let v: Value = res.json().await.expect("json");
    assert_eq!(v["error_code"], "PV2002", "{v}");
    let admin = srv.admin_token().await;
    let res = srv
        .http
        .get(format!("{}/admin/v1/tenants", srv.url))
        .header("authorization", format!("Bearer {admin}"))
        .header("authorization", format!("Bearer {admin}"))
        .send()
        .await
        .expect("send");
    assert_eq!(res.status(), 401);
}

#[tokio::test]
async fn every_response_is_nosniff_and_pages_narrow_their_forms() {
    let srv = Server::start();
    for path in [
        "/health",
        "/errors/PV1001",
        "/contoso/.well-known/openid-configuration",
        "/nope",
        "/contoso/oauth2/keys",
    ] {
        let res = srv
            .http
            .get(format!("{}{path}", srv.url))
            .send()
            .await
            .expect("send");
        assert_eq!(
            res.headers()
                .get("x-content-type-options")
                .and_then(|v| v.to_str().ok()),
            Some("nosniff"),
            "{path}"
        );
    }
    let res = srv
        .http
        .post(format!("{}/oauth2/token", srv.issuer("contoso")))
        .send()
        .await
        .expect("send");
    assert!(res.headers().contains_key("x-content-type-options"));
    // The troubleshooting page, as a browser asks for it.
    let res = srv
        .http
        .get(format!("{}/errors/PV1001", srv.url))
        .header("accept", "text/html")
        .send()
        .await
        .expect("send");
    let csp = res
        .headers()
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    assert!(
        csp.contains("frame-ancestors 'none'") && csp.contains("default-src 'none'"),
        "{csp}"
    );
    assert_eq!(
        res.headers()
            .get("x-frame-options")
            .and_then(|v| v.to_str().ok()),
        Some("DENY")
    );
    // The login page may post to this server and end at the request's redirect URI
    // origin only: no 'http: https:'.
    let mut b = Browser::new();
    let start = start_sign_in(&srv, &mut b).await;
    let url = start.location.clone().expect("login");
    let res = srv
        .http
        .get(&url)
        .header(
            "cookie",
            b.cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; "),
        )
        .send()
        .await
        .expect("send");
    let csp = res
        .headers()
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    assert!(
        csp.contains("form-action 'self' https://spa.example.com;"),
        "{csp}"
    );
    assert!(
        !csp.contains("http:") || csp.contains("http://127.0.0.1"),
        "{csp}"
    );
    assert!(
        !csp.contains(" https:;") && !csp.contains(" http: "),
        "{csp}"
    );
}

#[tokio::test]
async fn the_redirect_uri_mismatch_page_does_not_list_the_registered_uris() {
    let srv = Server::start();
    let mut b = Browser::new();
    let page = b
        .get(&authorize_url(
            &srv,
            &[
                ("client_id", "spa"),
                ("response_type", "code"),
                ("redirect_uri", "https://evil.example/cb"),
            ],
        ))
        .await;
    assert_eq!(page.status, 400);
    assert!(page.body.contains("PV3003"), "{}", page.body);
    assert!(
        page.body.contains("not a registered redirect URI"),
        "{}",
        page.body
    );
    assert!(
        !page.body.contains("spa.example.com"),
        "the registered URIs are not shown: {}",
        page.body
    );
}

#[tokio::test]
async fn the_device_consent_page_shows_the_code_being_approved() {
    let srv = Server::start();
    let res = srv
        .http
        .post(format!("{}/oauth2/devicecode", srv.issuer("contoso")))
        .form(&[
            ("client_id", "tv"),
            ("scope", "api://analytics/Reports.Read"),
        ])
        .send()
        .await
        .expect("send");
    let d: Value = res.json().await.expect("json");
    let user_code = d["user_code"].as_str().expect("user code").to_string();
    let mut b = Browser::new();
    let url = format!("{}/device", srv.issuer("contoso"));
    let page = b.get(&url).await;
    let csrf = page.hidden("csrf").expect("csrf");
    let start = b
        .post(&url, &[("csrf", &csrf), ("user_code", &user_code)])
        .await;
    let consent = post_login(&mut b, &start, USER, PASSWORD).await;
    assert_eq!(consent.status, 200, "{}", consent.body);
    assert!(
        consent.body.contains(&user_code),
        "the page shows {user_code}: {}",
        consent.body
    );
    assert!(consent.body.contains("device"), "{}", consent.body);
}

#[tokio::test]
async fn a_code_from_another_tenant_says_so_and_the_database_is_private() {
    let srv = Server::start();
    let mut b = Browser::new();
    let (code, verifier, _) = spa_sign_in(&srv, &mut b, "openid").await;
    let res = srv
        .token_raw(
            "fabrikam",
            Some(("bench", SECRET)),
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("code_verifier", &verifier),
            ],
        )
        .await;
    let v: Value = res.json().await.expect("json");
    // fabrikam's bench may not use the code flow at all; either way it must not
    // claim the code was issued to 'bench', not to 'bench'.
    let d = v["error_description"].as_str().unwrap_or("");
    assert!(!d.contains("issued to 'bench', not to 'bench'"), "{v}");
    if on_postgres() {
        // The data is in the database: nothing of it lands in the data directory.
        assert!(!srv.data().join("portvakt.db").exists());
        assert!(!srv.data().join("signins.db").exists());
    }
    #[cfg(unix)]
    if !on_postgres() {
        use std::os::unix::fs::PermissionsExt;
        for f in ["portvakt.db", "portvakt.db-wal", "portvakt.db-shm"] {
            let p = srv.data().join(f);
            if let Ok(m) = std::fs::metadata(&p) {
                assert_eq!(m.permissions().mode() & 0o777, 0o600, "{f}");
            } else {
                assert_ne!(f, "portvakt.db", "the database exists");
            }
        }
    }
}

#[tokio::test]
async fn the_per_address_limits_are_settings() {
    let dir = temp_dir("limits");
    let f = dir.join("import.json");
    std::fs::write(&f, serde_json::to_vec(&example_import()).expect("json")).expect("write");
    let err = Server::start_in(
        &dir,
        &[
            "--import",
            f.to_str().expect("utf8"),
            "--signins-per-minute",
            "0",
        ],
    )
    .err()
    .expect("0 is refused at start");
    assert!(err.contains("--signins-per-minute"), "{err}");
    let srv = Server::start_in(
        &dir,
        &[
            "--import",
            f.to_str().expect("utf8"),
            "--device-codes-per-minute",
            "2",
        ],
    )
    .expect("start");
    let mut statuses = vec![];
    for _ in 0..3 {
        let res = srv
            .http
            .post(format!("{}/oauth2/devicecode", srv.issuer("contoso")))
            .form(&[
                ("client_id", "tv"),
                ("scope", "api://analytics/Reports.Read"),
            ])
            .send()
            .await
            .expect("send");
        statuses.push(res.status().as_u16());
    }
    assert_eq!(statuses, [200, 200, 429]);
}
