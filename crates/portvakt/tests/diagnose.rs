//! Black-box: `diagnose` (admin API and `portvakt diagnose`) names the right root
//! cause, with the chain that leads to it and the fix, for an expired token (renewed
//! or not), an expired token whose refresh a Conditional Access policy refused (the
//! seed article's persistent case), revoked sessions, a revoked refresh-token family,
//! a disabled account, a blocking policy (with when it was switched on, from the
//! audit log), a wrong audience and a wrong issuer. Sign-in frequency is in
//! `crates/server/tests/conditional_access_clock.rs` (it needs a manual clock).

mod common;
use common::browser::Browser;
use common::signin::*;
use common::*;
use serde_json::{json, Value};
use std::time::Duration;

/// The example tenant, with user access tokens of the portal (`webapp`) living 2 s.
fn start() -> Server {
    let mut import = example_import();
    for app in import["tenants"][0]["applications"]
        .as_array_mut()
        .expect("apps")
    {
        if app["clientId"] == "webapp" {
            app["accessTokenLifetimeSeconds"] = json!(2);
        }
    }
    let dir = temp_dir("diagnose");
    let f = dir.join("import.json");
    std::fs::write(&f, serde_json::to_vec(&import).expect("json")).expect("write");
    Server::start_in(
        &dir,
        &[
            "--import",
            f.to_str().expect("utf8"),
            "--refresh-reuse-grace",
            "0",
        ],
    )
    .expect("start")
}

async fn diagnose(srv: &Server, admin: &str, body: Value) -> Value {
    let res = srv
        .http
        .post(format!("{}/admin/v1/tenants/contoso/diagnose", srv.url))
        .bearer_auth(admin)
        .json(&body)
        .send()
        .await
        .expect("send");
    let status = res.status();
    let v: Value = res.json().await.expect("json");
    assert_eq!(status, 200, "{v}");
    v
}

/// Wait until the sign-in with correlation id `cid` is in the log.
async fn wait_record(srv: &Server, admin: &str, cid: &str) {
    for _ in 0..100 {
        let res = srv
            .http
            .get(format!(
                "{}/admin/v1/tenants/contoso/auditLogs/signIns/{cid}",
                srv.url
            ))
            .bearer_auth(admin)
            .send()
            .await
            .expect("send");
        if res.status() == 200 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no sign-in record {cid}");
}

fn kinds(v: &Value) -> Vec<String> {
    v["chain"]
        .as_array()
        .expect("chain")
        .iter()
        .map(|s| s["kind"].as_str().expect("kind").to_string())
        .collect()
}

fn text(v: &Value) -> String {
    v["summary"].as_str().expect("summary").to_string()
}

async fn create_policy(srv: &Server, admin: &str, body: Value) -> String {
    let res = srv
        .http
        .post(format!(
            "{}/admin/v1/tenants/contoso/identity/conditionalAccess/policies",
            srv.url
        ))
        .bearer_auth(admin)
        .json(&body)
        .send()
        .await
        .expect("send");
    assert_eq!(res.status(), 201);
    res.json::<Value>().await.expect("json")["id"]
        .as_str()
        .expect("id")
        .to_string()
}

async fn patch_policy(srv: &Server, admin: &str, id: &str, body: Value) {
    let res = srv
        .http
        .patch(format!(
            "{}/admin/v1/tenants/contoso/identity/conditionalAccess/policies/{id}",
            srv.url
        ))
        .bearer_auth(admin)
        .json(&body)
        .send()
        .await
        .expect("send");
    assert_eq!(
        res.status(),
        200,
        "{}",
        res.text().await.unwrap_or_default()
    );
}

#[tokio::test]
async fn an_expired_token_whose_refresh_an_mfa_policy_refused_names_the_policy_the_record_and_the_fix(
) {
    let srv = start();
    let admin = srv.admin_token().await;
    let mut b = Browser::new();
    let t = web_tokens(&srv, &mut b).await;
    let at = t["access_token"].as_str().expect("at").to_string();
    let policy = create_policy(&srv, &admin, json!({"displayName": "Require MFA for admins", "state": "enabled",
        "conditions": {"users": {"includeUsers": ["All"]}, "applications": {"includeApplications": ["webapp"]}},
        "grantControls": {"operator": "OR", "builtInControls": ["mfa"]}})).await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let res = srv
        .token_raw(
            "contoso",
            Some(("webapp", WEB_SECRET)),
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", t["refresh_token"].as_str().expect("rt")),
            ],
        )
        .await;
    let cid = res.headers()["x-correlation-id"]
        .to_str()
        .expect("cid")
        .to_string();
    let v: Value = res.json().await.expect("json");
    assert_eq!(v["error_code"], "PV4002", "{v}");
    wait_record(&srv, &admin, &cid).await;

    let d = diagnose(&srv, &admin, json!({"token": at})).await;
    assert_eq!(d["cause"], "mfaRequired", "{d:#}");
    assert_eq!(d["code"], "PV4002", "{d:#}");
    assert_eq!(
        kinds(&d),
        ["token", "token", "signIn", "policy", "audit"],
        "{d:#}"
    );
    assert_eq!(d["chain"][1]["code"], "PV2011");
    assert!(
        d["chain"][1]["text"]
            .as_str()
            .expect("t")
            .contains("expired at"),
        "{d:#}"
    );
    let renewal = &d["chain"][2];
    assert_eq!(
        renewal["signIn"], cid,
        "the refused refresh is the record: {d:#}"
    );
    assert!(
        renewal["text"]
            .as_str()
            .expect("t")
            .contains("non-interactive sign-in (refresh_token)"),
        "{renewal}"
    );
    assert_eq!(d["chain"][3]["policy"]["id"], policy);
    assert!(
        d["chain"][3]["text"]
            .as_str()
            .expect("t")
            .contains("'Require MFA for admins'"),
        "{d:#}"
    );
    assert!(
        d["chain"][3]["text"]
            .as_str()
            .expect("t")
            .contains("requires mfa; this session signed in with pwd only"),
        "{d:#}"
    );
    assert!(
        d["chain"][4]["text"]
            .as_str()
            .expect("t")
            .contains("created enabled at"),
        "{d:#}"
    );
    assert!(
        d["chain"][4]["text"]
            .as_str()
            .expect("t")
            .contains("Portvakt administration"),
        "{d:#}"
    );
    assert!(
        d["fix"][0].as_str().expect("fix").contains("complete MFA"),
        "{d:#}"
    );
    assert!(
        d["fix"][1].as_str().expect("fix").contains("report-only"),
        "{d:#}"
    );
    assert_eq!(
        d["links"]["signIn"],
        format!(
            "{}/admin/v1/tenants/contoso/auditLogs/signIns/{cid}",
            srv.url
        )
    );
    assert_eq!(
        d["links"]["troubleshooting"],
        format!("{}/errors/PV4002?correlation_id={cid}", srv.url)
    );
    assert!(text(&d).contains(" → fix: "), "{}", text(&d));
    assert!(d["claims"]["sub"].is_string());

    // The same by correlation id, and the CLI in plain words and in JSON.
    let by_cid = diagnose(&srv, &admin, json!({"correlationId": cid})).await;
    assert_eq!(
        (by_cid["cause"].as_str(), by_cid["code"].as_str()),
        (Some("mfaRequired"), Some("PV4002")),
        "{by_cid:#}"
    );
    let (c, out, err) = srv.cli_stdin(&["diagnose", "--tenant", "contoso", "--token", "-"], &at);
    assert_eq!(c, 0, "{err}");
    assert!(out.starts_with("Cause: mfaRequired (PV4002)\n"), "{out}");
    assert!(
        out.contains("→ policy 'Require MFA for admins'")
            && out.contains("Fix:\n  - sign in interactively"),
        "{out}"
    );
    let (c, out, err) = srv.cli(&[
        "--json",
        "diagnose",
        "--tenant",
        "contoso",
        "--correlation-id",
        &cid,
    ]);
    assert_eq!(c, 0, "{err}");
    assert_eq!(
        serde_json::from_str::<Value>(&out).expect("json")["cause"],
        "mfaRequired"
    );
    // The token is not written anywhere: not in the logs, not in the audit log.
    let audit = srv
        .cli(&["--json", "audit", "--tenant", "contoso", "--top", "1000"])
        .1;
    assert!(!audit.contains(&at[..40]), "no token in the audit log");
    assert!(
        !srv.stderr.lock().expect("log").contains(&at[..40]),
        "no token in the server log"
    );
}

#[tokio::test]
async fn an_expired_token_is_expired_with_or_without_a_renewal() {
    let srv = start();
    let admin = srv.admin_token().await;
    // A service principal's token that lived 1 s and was never renewed.
    let short = srv
        .token_raw(
            "contoso",
            Some(("short", "short-secret-0123456789abcdef")),
            &[
                ("grant_type", "client_credentials"),
                ("scope", "api://analytics/.default"),
            ],
        )
        .await;
    let short: Value = short.json().await.expect("json");
    // A user's token that lived 2 s and was renewed by a refresh.
    let mut b = Browser::new();
    let t = web_tokens(&srv, &mut b).await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let d = diagnose(&srv, &admin, json!({"token": short["access_token"]})).await;
    assert_eq!(
        (d["cause"].as_str(), d["code"].as_str()),
        (Some("expired"), Some("PV2011")),
        "{d:#}"
    );
    assert!(text(&d).contains("did not renew it"), "{d:#}");
    assert!(
        d["fix"][0]
            .as_str()
            .expect("fix")
            .contains("request a new token"),
        "{d:#}"
    );

    let d = diagnose(&srv, &admin, json!({"token": t["access_token"]})).await;
    assert_eq!(d["cause"], "expired", "{d:#}");
    assert!(
        text(&d).contains("a refresh now would be allowed"),
        "no policy stands in the way: {d:#}"
    );
    let res = srv
        .token_raw(
            "contoso",
            Some(("webapp", WEB_SECRET)),
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", t["refresh_token"].as_str().expect("rt")),
            ],
        )
        .await;
    assert_eq!(res.status(), 200);
    let cid = res.headers()["x-correlation-id"]
        .to_str()
        .expect("cid")
        .to_string();
    wait_record(&srv, &admin, &cid).await;
    let d = diagnose(&srv, &admin, json!({"token": t["access_token"]})).await;
    assert!(text(&d).contains("the client got a new token at"), "{d:#}");
    assert!(
        d["fix"][0]
            .as_str()
            .expect("fix")
            .contains("newest access token"),
        "{d:#}"
    );
}

#[tokio::test]
async fn revoked_family_revoked_sessions_and_a_disabled_account_are_each_named() {
    let srv = start();
    let admin = srv.admin_token().await;
    // A refresh-token family revoked by reuse of a rotated refresh token.
    let mut b = Browser::new();
    let t = web_tokens(&srv, &mut b).await;
    let rt0 = t["refresh_token"].as_str().expect("rt").to_string();
    let (s, t1) = refresh_web(&srv, &rt0).await;
    assert_eq!(s, 200);
    let (_, reuse) = refresh_web(&srv, &rt0).await;
    assert_eq!(reuse["error_code"], "PV3204", "{reuse}");
    let d = diagnose(&srv, &admin, json!({"token": t1["access_token"]})).await;
    assert_eq!(d["cause"], "familyRevoked", "{d:#}");
    assert!(
        text(&d).contains("refresh-token family behind the token was revoked"),
        "{d:#}"
    );
    assert!(
        d["fix"][0].as_str().expect("fix").contains("used twice"),
        "{d:#}"
    );

    // All sessions revoked by an administrator.
    let mut b = Browser::new();
    let t = web_tokens(&srv, &mut b).await;
    let res = srv
        .http
        .post(format!(
            "{}/admin/v1/tenants/contoso/users/{USER}/revoke-sessions",
            srv.url
        ))
        .bearer_auth(&admin)
        .send()
        .await
        .expect("send");
    assert_eq!(res.status(), 200);
    let d = diagnose(&srv, &admin, json!({"token": t["access_token"]})).await;
    assert_eq!(d["cause"], "sessionsRevoked", "{d:#}");
    assert_eq!(kinds(&d), ["token", "user", "audit"], "{d:#}");
    assert!(
        d["chain"][2]["text"]
            .as_str()
            .expect("t")
            .starts_with("the sessions were revoked at"),
        "{d:#}"
    );

    // A disabled account (signed in after the revocation: a second later).
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let mut b = Browser::new();
    let t = web_tokens(&srv, &mut b).await;
    let res = srv
        .http
        .patch(format!("{}/admin/v1/tenants/contoso/users/{USER}", srv.url))
        .bearer_auth(&admin)
        .json(&json!({"accountEnabled": false}))
        .send()
        .await
        .expect("send");
    assert_eq!(res.status(), 200);
    let d = diagnose(&srv, &admin, json!({"token": t["access_token"]})).await;
    assert_eq!(
        (d["cause"].as_str(), d["code"].as_str()),
        (Some("userDisabled"), Some("PV3012")),
        "{d:#}"
    );
    assert!(text(&d).contains("the account was disabled at"), "{d:#}");
    assert!(
        d["fix"][0]
            .as_str()
            .expect("fix")
            .contains("portvakt user enable --tenant contoso admin@contoso.example"),
        "{d:#}"
    );
    // By user: the account is disabled, whatever the log says.
    let d = diagnose(&srv, &admin, json!({"user": USER, "since": "1h"})).await;
    assert_eq!(d["cause"], "userDisabled", "{d:#}");
}

#[tokio::test]
async fn a_blocking_policy_is_named_with_when_it_was_switched_on_and_its_state_now() {
    let srv = start();
    let admin = srv.admin_token().await;
    let mut b = Browser::new();
    let t = web_tokens(&srv, &mut b).await;
    let id = create_policy(&srv, &admin, json!({"displayName": "Block the portal", "state": "disabled",
        "conditions": {"users": {"includeUsers": ["All"]}, "applications": {"includeApplications": ["webapp"]}},
        "grantControls": {"operator": "OR", "builtInControls": ["block"]}})).await;
    patch_policy(&srv, &admin, &id, json!({"state": "enabled"})).await;
    let res = srv
        .token_raw(
            "contoso",
            Some(("webapp", WEB_SECRET)),
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", t["refresh_token"].as_str().expect("rt")),
            ],
        )
        .await;
    let cid = res.headers()["x-correlation-id"]
        .to_str()
        .expect("cid")
        .to_string();
    assert_eq!(
        res.json::<Value>().await.expect("json")["error_code"],
        "PV4001"
    );
    wait_record(&srv, &admin, &cid).await;
    let d = diagnose(&srv, &admin, json!({"correlationId": cid})).await;
    assert_eq!(d["cause"], "blockedByPolicy", "{d:#}");
    assert_eq!(d["code"], "PV4001");
    assert_eq!(kinds(&d), ["signIn", "policy", "audit"], "{d:#}");
    assert!(
        d["chain"][1]["text"]
            .as_str()
            .expect("t")
            .contains("'Block the portal' (id "),
        "{d:#}"
    );
    assert!(
        d["chain"][1]["text"]
            .as_str()
            .expect("t")
            .contains("blocks access"),
        "{d:#}"
    );
    assert!(
        d["chain"][2]["text"]
            .as_str()
            .expect("t")
            .contains("switched on at"),
        "{d:#}"
    );
    assert!(
        d["fix"][0].as_str().expect("fix").contains("exclude it"),
        "{d:#}"
    );
    assert!(
        d["fix"][0]
            .as_str()
            .expect("fix")
            .contains("portvakt policy replay"),
        "{d:#}"
    );
    // Later set to report-only: the diagnosis of the old record says so.
    patch_policy(
        &srv,
        &admin,
        &id,
        json!({"state": "enabledForReportingButNotEnforced"}),
    )
    .await;
    let d = diagnose(&srv, &admin, json!({"correlationId": cid})).await;
    assert!(
        text(&d).contains("the policy is now 'enabledForReportingButNotEnforced'"),
        "{d:#}"
    );
    // By user: the latest failure is the same record.
    let d = diagnose(&srv, &admin, json!({"user": USER, "since": "1h"})).await;
    assert_eq!(d["cause"], "blockedByPolicy", "{d:#}");
    assert!(
        d["chain"][0]["text"]
            .as_str()
            .expect("t")
            .contains("PV4001 ×1"),
        "{d:#}"
    );
    // An unknown correlation id is said to be unknown, not invented.
    let d = diagnose(
        &srv,
        &admin,
        json!({"correlationId": "00000000-0000-0000-0000-000000000000"}),
    )
    .await;
    assert_eq!(d["cause"], "notFound", "{d:#}");
}

#[tokio::test]
async fn a_wrong_audience_and_a_wrong_issuer_are_named_with_what_was_expected() {
    let srv = start();
    let admin = srv.admin_token().await;
    let t = srv.token("contoso", "api://analytics/.default").await;
    let d = diagnose(
        &srv,
        &admin,
        json!({"token": t["access_token"], "audience": "https://reports.example.com"}),
    )
    .await;
    assert_eq!(
        (d["cause"].as_str(), d["code"].as_str()),
        (Some("wrongAudience"), Some("PV2015")),
        "{d:#}"
    );
    assert!(
        text(&d).contains(
            "the token is for 'api://analytics', the service expects 'https://reports.example.com'"
        ),
        "{d:#}"
    );
    assert!(
        d["fix"][0]
            .as_str()
            .expect("fix")
            .contains("https://reports.example.com/.default"),
        "{d:#}"
    );

    let other = srv.token("fabrikam", "api://analytics/.default").await;
    let d = diagnose(&srv, &admin, json!({"token": other["access_token"]})).await;
    assert_eq!(
        (d["cause"].as_str(), d["code"].as_str()),
        (Some("wrongIssuer"), Some("PV2014")),
        "{d:#}"
    );
    assert!(text(&d).contains("issued by tenant 'fabrikam'"), "{d:#}");
    assert!(
        d["fix"][0]
            .as_str()
            .expect("fix")
            .contains(&format!("{}/contoso/oauth2/token", srv.url)),
        "{d:#}"
    );

    // A valid token is said to be valid; a tampered one does not verify; garbage is
    // not a JWT; and the request must say what to diagnose.
    let d = diagnose(&srv, &admin, json!({"token": t["access_token"]})).await;
    assert_eq!(d["cause"], "valid", "{d:#}");
    assert_eq!(d["code"], Value::Null);
    let at = t["access_token"].as_str().expect("at");
    let (head, sig) = at.rsplit_once('.').expect("jws");
    let flipped = if sig.starts_with('A') { "B" } else { "A" };
    let d = diagnose(
        &srv,
        &admin,
        json!({"token": format!("{head}.{flipped}{}", &sig[1..])}),
    )
    .await;
    assert_eq!(d["cause"], "signatureInvalid", "{d:#}");
    let d = diagnose(&srv, &admin, json!({"token": "not a token"})).await;
    assert_eq!(
        (d["cause"].as_str(), d["code"].as_str()),
        (Some("malformed"), Some("PV2003")),
        "{d:#}"
    );
    let res = srv
        .http
        .post(format!("{}/admin/v1/tenants/contoso/diagnose", srv.url))
        .bearer_auth(&admin)
        .json(&json!({"token": at, "user": USER}))
        .send()
        .await
        .expect("send");
    assert_eq!(res.status(), 400);
    let res = srv
        .http
        .post(format!("{}/admin/v1/tenants/contoso/diagnose", srv.url))
        .json(&json!({"token": at}))
        .send()
        .await
        .expect("send");
    assert_eq!(res.status(), 401, "the admin API needs an admin token");
}
