//! Black-box: the sign-in log — one record per sign-in of every kind with Graph's
//! `signIn` fields, Conditional Access results on the record, queries, records that
//! survive a restart, nothing lost at a graceful shutdown under load, and at most the
//! stated bound lost in a `kill -9`.

mod common;
use common::browser::Browser;
use common::signin::*;
use common::*;
use serde_json::{json, Value};
use std::time::Duration;

async fn logs(srv: &Server, token: &str, query: &str) -> Value {
    let res = srv
        .http
        .get(format!(
            "{}/admin/v1/tenants/contoso/auditLogs/signIns?{query}",
            srv.url
        ))
        .bearer_auth(token)
        .send()
        .await
        .expect("send");
    let status = res.status();
    let v: Value = res.json().await.expect("json");
    assert_eq!(status, 200, "{v}");
    v
}

/// Records matching `query`, waiting until `n` are there (the writer batches every
/// 50 ms).
async fn wait_for(srv: &Server, token: &str, query: &str, n: usize) -> Vec<Value> {
    for _ in 0..100 {
        let v = logs(srv, token, query).await;
        let items = v["value"].as_array().cloned().unwrap_or_default();
        if items.len() >= n {
            return items;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let v = logs(srv, token, query).await;
    panic!("expected {n} records for {query}, have: {v}");
}

fn enc(s: &str) -> String {
    urlencode(s)
}

#[tokio::test]
async fn every_kind_of_sign_in_is_one_record_with_graphs_fields() {
    let srv = Server::start();
    let admin = srv.admin_token().await;
    // Client credentials: success and a wrong secret.
    let ok = srv.token("contoso", "api://analytics/.default").await;
    assert!(ok["access_token"].is_string());
    let bad = srv
        .token_raw(
            "contoso",
            Some(("bench", "wrong-secret")),
            &[
                ("grant_type", "client_credentials"),
                ("scope", "api://analytics/.default"),
            ],
        )
        .await;
    assert_eq!(bad.status(), 401);
    let sp = wait_for(&srv, &admin, "app=bench", 2).await;
    assert_eq!(sp.len(), 2, "{sp:?}");
    let (fail, success) = (&sp[0], &sp[1]);
    assert_eq!(success["signInEventTypes"], json!(["servicePrincipal"]));
    assert_eq!(success["status"]["errorCode"], 0);
    assert_eq!(success["resourceId"], "api://analytics");
    assert_eq!(success["resourceDisplayName"], "Analytics API");
    assert_eq!(success["appDisplayName"], "Bench");
    assert_eq!(success["ipAddress"], "127.0.0.1");
    assert_eq!(success["conditionalAccessStatus"], "notApplied");
    assert_eq!(fail["status"]["errorCode"], 1103);
    assert_eq!(fail["errorCodeName"], "PV1103");
    assert_eq!(fail["portvaktStatus"], "failure");
    assert!(
        fail["status"]["failureReason"]
            .as_str()
            .is_some_and(|r| !r.is_empty()),
        "{fail}"
    );
    assert!(
        fail["correlationId"]
            .as_str()
            .is_some_and(|c| c.len() == 36),
        "{fail}"
    );
    assert!(
        !fail.to_string().contains("wrong-secret"),
        "no secret in the record"
    );

    // Interactive: an unknown user (under the typed name), a wrong password, then a
    // success; the code exchange adds no record of its own.
    let mut b = Browser::new();
    let (_, challenge) = pkce();
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
    let p = post_login(&mut b, &start, "nobody@contoso.example", "whatever it is").await;
    assert_eq!(p.status, 401);
    let p = post_login(&mut b, &start, USER, "wrong password").await;
    assert_eq!(p.status, 401);
    let unknown = wait_for(
        &srv,
        &admin,
        &format!("user={}", enc("nobody@contoso.example")),
        1,
    )
    .await;
    assert_eq!(unknown[0]["userId"], Value::Null, "{}", unknown[0]);
    assert_eq!(unknown[0]["userPrincipalName"], "nobody@contoso.example");
    assert_eq!(unknown[0]["status"]["errorCode"], 3010);
    assert_eq!(unknown[0]["isInteractive"], true);
    let t = web_tokens(&srv, &mut b).await;
    let mine = wait_for(
        &srv,
        &admin,
        &format!("user={}&interactive=true", enc(USER)),
        2,
    )
    .await;
    assert_eq!(mine.len(), 2, "a wrong password and a success: {mine:?}");
    assert_eq!(mine[0]["status"]["errorCode"], 0, "{}", mine[0]);
    assert_eq!(mine[0]["signInEventTypes"], json!(["interactiveUser"]));
    assert_eq!(
        mine[0]["authenticationDetails"][0]["authenticationMethod"],
        "Password"
    );
    assert_eq!(
        mine[0]["authenticationRequirement"],
        "singleFactorAuthentication"
    );
    assert!(mine[0]["userId"].is_string());
    assert_eq!(mine[1]["status"]["errorCode"], 3010);
    assert_eq!(mine[1]["authenticationDetails"][0]["succeeded"], false);

    // A refresh and a silent prompt=none sign-in: one non-interactive record each.
    let (s, _) = refresh_web(&srv, t["refresh_token"].as_str().expect("rt")).await;
    assert_eq!(s, 200);
    let page = b
        .get(&authorize_url(
            &srv,
            &[
                ("client_id", "webapp"),
                ("response_type", "code"),
                ("scope", "openid"),
                ("prompt", "none"),
                ("code_challenge", &challenge),
                ("code_challenge_method", "S256"),
            ],
        ))
        .await;
    assert!(
        page.location
            .as_deref()
            .is_some_and(|l| l.contains("code=")),
        "{:?}",
        page.location
    );
    let silent = wait_for(
        &srv,
        &admin,
        &format!("user={}&interactive=false", enc(USER)),
        2,
    )
    .await;
    assert_eq!(silent.len(), 2, "{silent:?}");
    assert_eq!(silent[0]["authenticationProtocol"], "authorize");
    assert_eq!(silent[1]["authenticationProtocol"], "refresh_token");
    for r in &silent {
        assert_eq!(r["signInEventTypes"], json!(["nonInteractiveUser"]), "{r}");
        assert_eq!(r["status"]["errorCode"], 0, "{r}");
        assert_eq!(
            r["authenticationDetails"][0]["authenticationMethod"],
            "Previously satisfied"
        );
    }
    // By correlation id: the response's header finds its record.
    let res = srv
        .token_raw(
            "contoso",
            Some(("bench", SECRET)),
            &[
                ("grant_type", "client_credentials"),
                ("scope", "api://analytics/.default"),
            ],
        )
        .await;
    let cid = res.headers()["x-correlation-id"]
        .to_str()
        .expect("cid")
        .to_string();
    let by = wait_for(&srv, &admin, &format!("correlationId={cid}"), 1).await;
    assert_eq!(by.len(), 1);
    assert_eq!(by[0]["correlationId"], cid);
    // Also as the record's path.
    let one = srv
        .http
        .get(format!(
            "{}/admin/v1/tenants/contoso/auditLogs/signIns/{cid}",
            srv.url
        ))
        .bearer_auth(&admin)
        .send()
        .await
        .expect("send");
    assert_eq!(one.status(), 200);
    // The CLI prints them, one JSON record per line.
    let (c, out, err) = srv.cli(&["logs", "--tenant", "contoso", "--app", "bench", "--json"]);
    assert_eq!(c, 0, "{err}");
    assert_eq!(out.lines().count(), 3, "{out}");
    assert!(
        out.lines()
            .all(|l| serde_json::from_str::<Value>(l).is_ok()),
        "{out}"
    );
    let (c, out, _) = srv.cli(&[
        "logs", "--tenant", "contoso", "--status", "failure", "--csv",
    ]);
    assert_eq!(c, 0);
    assert!(out.starts_with("time,user,app,status,code"), "{out}");
    assert!(out.contains("PV1103") && out.contains("PV3010"), "{out}");
}

#[tokio::test]
async fn conditional_access_results_are_on_the_record() {
    let srv = Server::start();
    let admin = srv.admin_token().await;
    let mut b = Browser::new();
    let rt = web_tokens(&srv, &mut b).await["refresh_token"]
        .as_str()
        .expect("rt")
        .to_string();
    let create = |body: Value| {
        let (srv, admin) = (&srv, admin.clone());
        async move {
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
    };
    let enforced = create(json!({"displayName": "Require MFA on the portal", "state": "enabled",
        "conditions": {"users": {"includeUsers": ["All"]}, "applications": {"includeApplications": ["webapp"]}},
        "grantControls": {"operator": "OR", "builtInControls": ["mfa"]}})).await;
    let reported = create(json!({"displayName": "Report: block the portal", "state": "enabledForReportingButNotEnforced",
        "conditions": {"users": {"includeUsers": ["All"]}, "applications": {"includeApplications": ["webapp"]}},
        "grantControls": {"operator": "OR", "builtInControls": ["block"]}})).await;
    let unrelated = create(json!({"displayName": "Block the SPA", "state": "enabled",
        "conditions": {"users": {"includeUsers": ["All"]}, "applications": {"includeApplications": ["spa"]}},
        "grantControls": {"operator": "OR", "builtInControls": ["block"]}})).await;
    let (s, e) = refresh_web(&srv, &rt).await;
    assert_eq!((s, e["error_code"].as_str()), (400, Some("PV4002")));
    let r = wait_for(
        &srv,
        &admin,
        "status=failure&conditionalAccessStatus=failure",
        1,
    )
    .await;
    let r = &r[0];
    assert_eq!(r["conditionalAccessStatus"], "failure", "{r}");
    assert_eq!(r["status"]["errorCode"], 4002);
    let by_id = |id: &str| {
        r["appliedConditionalAccessPolicies"]
            .as_array()
            .expect("policies")
            .iter()
            .find(|p| p["id"] == id)
            .cloned()
            .unwrap_or_else(|| panic!("policy {id} on {r}"))
    };
    let p = by_id(&enforced);
    assert_eq!(p["result"], "failure", "{p}");
    assert_eq!(p["displayName"], "Require MFA on the portal");
    assert_eq!(p["enforcedGrantControls"], json!(["mfa"]));
    assert!(
        p["conditionsSatisfied"]
            .as_str()
            .is_some_and(|c| c.contains("users") && c.contains("application")),
        "{p}"
    );
    assert_eq!(by_id(&reported)["result"], "reportOnlyFailure");
    let u = by_id(&unrelated);
    assert_eq!(u["result"], "notApplied");
    assert!(
        u["conditionsNotSatisfied"]
            .as_str()
            .is_some_and(|c| c.contains("application")),
        "{u}"
    );
}

#[tokio::test]
async fn records_survive_a_restart_and_a_graceful_shutdown_under_load_loses_nothing() {
    let dir = temp_dir("logs-term");
    let f = dir.join("import.json");
    std::fs::write(&f, serde_json::to_vec(&example_import()).expect("json")).expect("write");
    let args = ["--import", f.to_str().expect("utf8")];
    let mut srv = Server::start_in(&dir, &args).expect("start");
    let answered = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let mut tasks = vec![];
    for _ in 0..8 {
        let (url, answered) = (srv.issuer("contoso"), answered.clone());
        tasks.push(tokio::spawn(async move {
            let http = portvakt_guard::http::builder()
                .expect("TLS")
                .timeout(Duration::from_secs(5))
                .build()
                .expect("client");
            loop {
                let res = http
                    .post(format!("{url}/oauth2/token"))
                    .basic_auth("bench", Some(SECRET))
                    .form(&[
                        ("grant_type", "client_credentials"),
                        ("scope", "api://analytics/.default"),
                    ])
                    .send()
                    .await;
                let Ok(r) = res else { break };
                if r.status() != 200 || r.bytes().await.is_err() {
                    break;
                }
                answered.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let status = srv.terminate();
    assert!(status.success(), "{status:?}");
    for t in tasks {
        t.await.expect("task");
    }
    let answered = answered.load(std::sync::atomic::Ordering::SeqCst);
    assert!(answered > 100, "the load ran: {answered}");
    // After a restart, every answered request has its record.
    let srv2 = Server::start_in(&dir, &args).expect("restart");
    let admin = srv2.admin_token().await;
    let mut n = 0usize;
    let mut query = "app=bench&$top=1000".to_string();
    loop {
        let v = logs(&srv2, &admin, &query).await;
        n += v["value"].as_array().map_or(0, Vec::len);
        match v["@odata.nextLink"].as_str() {
            Some(next) => query = next.split_once('?').expect("query").1.to_string(),
            None => break,
        }
    }
    assert_eq!(
        n as u64, answered,
        "every answered sign-in is in the log, and only those"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_kill_9_under_load_loses_at_most_the_batch_in_flight() {
    let dir = temp_dir("logs-kill");
    let f = dir.join("import.json");
    std::fs::write(&f, serde_json::to_vec(&example_import()).expect("json")).expect("write");
    let args = ["--import", f.to_str().expect("utf8")];
    let mut srv = Server::start_in(&dir, &args).expect("start");
    let answered = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut tasks = vec![];
    for _ in 0..8 {
        let (url, answered, stop) = (srv.issuer("contoso"), answered.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let http = portvakt_guard::http::builder()
                .expect("TLS")
                .timeout(Duration::from_secs(5))
                .build()
                .expect("client");
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let res = http
                    .post(format!("{url}/oauth2/token"))
                    .basic_auth("bench", Some(SECRET))
                    .form(&[
                        ("grant_type", "client_credentials"),
                        ("scope", "api://analytics/.default"),
                    ])
                    .send()
                    .await;
                let Ok(r) = res else { break };
                if r.status() != 200 || r.bytes().await.is_err() {
                    break;
                }
                answered.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(2000)).await;
    let before = answered.load(std::sync::atomic::Ordering::SeqCst);
    srv.kill9();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for t in tasks {
        t.await.expect("task");
    }
    let answered = answered.load(std::sync::atomic::Ordering::SeqCst);
    let rate = before as f64 / 2.0;
    let srv2 = Server::start_in(&dir, &args).expect("restart");
    let admin = srv2.admin_token().await;
    let mut n = 0u64;
    let mut query = "app=bench&$top=1000".to_string();
    loop {
        let v = logs(&srv2, &admin, &query).await;
        n += v["value"].as_array().map_or(0, |a| a.len() as u64);
        match v["@odata.nextLink"].as_str() {
            Some(next) => query = next.split_once('?').expect("query").1.to_string(),
            None => break,
        }
    }
    // The stated bound: the events of the last batch window (50 ms) plus one batch
    // being committed (512) — here with a generous margin for a loaded test machine.
    let bound = (rate * 0.25) as u64 + 512;
    let lost = answered.saturating_sub(n);
    eprintln!("answered {answered}, logged {n}, lost {lost}, bound {bound} (rate {rate:.0}/s)");
    assert!(
        n <= answered + 8,
        "no record without an answer (8 were in flight)"
    );
    assert!(lost <= bound, "lost {lost} > bound {bound}");
}

#[tokio::test]
async fn replay_of_a_block_policy_reports_exactly_the_users_it_would_have_blocked() {
    let dir = temp_dir("replay");
    let f = dir.join("import.json");
    let mut file = example_import();
    file["tenants"][0]["users"]
        .as_array_mut()
        .expect("users")
        .push(json!({"userPrincipalName": "bob@contoso.example", "password": "bobs long password", "groups": []}));
    std::fs::write(&f, serde_json::to_vec(&file).expect("json")).expect("write");
    let srv = Server::start_in(&dir, &["--import", f.to_str().expect("utf8")]).expect("start");
    let admin = srv.admin_token().await;
    // Known sign-ins: the admin (in "Analytics Admins") twice on the portal, Bob once,
    // a service principal once, and one wrong password (no facts: not replayable).
    for _ in 0..2 {
        let mut b = Browser::new();
        web_tokens(&srv, &mut b).await;
    }
    let mut b = Browser::new();
    let (_, ch) = pkce();
    let start = b
        .get(&authorize_url(
            &srv,
            &[
                ("client_id", "webapp"),
                ("response_type", "code"),
                ("scope", "openid"),
                ("code_challenge", &ch),
                ("code_challenge_method", "S256"),
            ],
        ))
        .await;
    let page = post_login(&mut b, &start, "bob@contoso.example", "bobs long password").await;
    assert_eq!(page.status, 303, "{}", page.body);
    let mut b2 = Browser::new();
    let start = b2
        .get(&authorize_url(
            &srv,
            &[
                ("client_id", "webapp"),
                ("response_type", "code"),
                ("scope", "openid"),
                ("code_challenge", &ch),
                ("code_challenge_method", "S256"),
            ],
        ))
        .await;
    assert_eq!(post_login(&mut b2, &start, USER, "wrong").await.status, 401);
    srv.token("contoso", "api://analytics/.default").await;
    // Every one of them in the log before the replay reads it: the service
    // principal's record may come in a later batch than the interactive ones.
    wait_for(&srv, &admin, "interactive=true", 4).await;
    wait_for(&srv, &admin, "appId=bench", 1).await;
    // Replay: block the portal for Analytics Admins.
    let proposal = json!({"displayName": "Block analytics admins on the portal", "state": "enabled",
        "conditions": {"users": {"includeGroups": ["Analytics Admins"]}, "applications": {"includeApplications": ["webapp"]}},
        "grantControls": {"operator": "OR", "builtInControls": ["block"]}});
    let res = srv
        .http
        .post(format!(
            "{}/admin/v1/tenants/contoso/identity/conditionalAccess/replay",
            srv.url
        ))
        .bearer_auth(&admin)
        .json(&json!({"policies": [proposal], "since": "1h"}))
        .send()
        .await
        .expect("send");
    assert_eq!(res.status(), 200);
    let r: Value = res.json().await.expect("json");
    assert_eq!(
        r["newlyBlocked"]["users"],
        json!(["admin@contoso.example"]),
        "{r}"
    );
    assert_eq!(r["newlyBlocked"]["signIns"], 2, "{r}");
    assert_eq!(r["newlyBlocked"]["perApplication"]["webapp"], 2, "{r}");
    assert_eq!(
        r["newlyBlocked"]["examples"].as_array().map(Vec::len),
        Some(2),
        "{r}"
    );
    assert_eq!(r["newlyMfa"]["signIns"], 0);
    assert!(
        r["notReplayable"].as_u64().is_some_and(|n| n >= 1),
        "the wrong password has no facts: {r}"
    );
    assert!(r["replayed"].as_u64().is_some_and(|n| n >= 4), "{r}");
    // Nothing was written: the policy does not exist, the admin still signs in.
    let (s, v) = srv.get_json("/health").await;
    assert_eq!(s, 200, "{v}");
    let list = srv
        .http
        .get(format!(
            "{}/admin/v1/tenants/contoso/identity/conditionalAccess/policies",
            srv.url
        ))
        .bearer_auth(&admin)
        .send()
        .await
        .expect("send")
        .json::<Value>()
        .await
        .expect("json");
    assert_eq!(list["value"], json!([]));
    // The CLI says the same.
    let pf = dir.join("proposal.json");
    std::fs::write(&pf, proposal.to_string()).expect("write");
    let (c, out, err) = srv.cli(&[
        "policy",
        "replay",
        "--tenant",
        "contoso",
        "--since",
        "1h",
        pf.to_str().expect("utf8"),
    ]);
    assert_eq!(c, 0, "{err}");
    assert!(
        out.contains("newly blocked: 2 sign-ins, 1 users (admin@contoso.example)"),
        "{out}"
    );
}

/// The ids of the records `query` returns, following `@odata.nextLink`.
async fn ids(srv: &Server, token: &str, query: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut v = logs(srv, token, query).await;
    loop {
        for r in v["value"].as_array().expect("value") {
            out.push(r["id"].as_str().expect("id").to_string());
        }
        let Some(next) = v["@odata.nextLink"].as_str() else {
            return out;
        };
        let res = srv
            .http
            .get(next)
            .bearer_auth(token)
            .send()
            .await
            .expect("send");
        assert_eq!(res.status(), 200);
        v = res.json().await.expect("json");
    }
}

#[tokio::test]
async fn each_filter_and_each_filter_expression_returns_exactly_the_matching_records() {
    let srv = Server::start();
    let admin = srv.admin_token().await;
    // A known mix: service principals (successes, a wrong secret, another app), an
    // interactive success, an unknown user, a refresh refused by a policy, and a
    // sign-in in another tenant that must never show.
    for _ in 0..3 {
        srv.token("contoso", "api://analytics/.default").await;
    }
    let bad = srv
        .token_raw(
            "contoso",
            Some(("bench", "wrong-secret")),
            &[
                ("grant_type", "client_credentials"),
                ("scope", "api://analytics/.default"),
            ],
        )
        .await;
    assert_eq!(bad.status(), 401);
    let narrow = srv
        .token_raw(
            "contoso",
            Some(("narrow", "narrow-secret-0123456789abcdef")),
            &[
                ("grant_type", "client_credentials"),
                ("scope", "api://analytics/Reports.Read"),
            ],
        )
        .await;
    assert_eq!(narrow.status(), 200);
    srv.token("fabrikam", "api://analytics/.default").await;
    let mut b = Browser::new();
    let rt = web_tokens(&srv, &mut b).await["refresh_token"]
        .as_str()
        .expect("rt")
        .to_string();
    let (_, challenge) = pkce();
    let mut other = Browser::new();
    let start = other
        .get(&authorize_url(
            &srv,
            &[
                ("client_id", "webapp"),
                ("response_type", "code"),
                ("scope", "openid"),
                ("code_challenge", &challenge),
                ("code_challenge_method", "S256"),
            ],
        ))
        .await;
    assert_eq!(
        post_login(
            &mut other,
            &start,
            "Nobody@contoso.example",
            "whatever it is"
        )
        .await
        .status,
        401
    );
    let res = srv
        .http
        .post(format!("{}/admin/v1/tenants/contoso/identity/conditionalAccess/policies", srv.url))
        .bearer_auth(&admin)
        .json(&json!({"displayName": "Require MFA on the portal", "state": "enabled",
            "conditions": {"users": {"includeUsers": ["All"]}, "applications": {"includeApplications": ["webapp"]}},
            "grantControls": {"operator": "OR", "builtInControls": ["mfa"]}}))
        .send()
        .await
        .expect("send");
    assert_eq!(res.status(), 201);
    assert_eq!(refresh_web(&srv, &rt).await.0, 400);

    let all = wait_for(&srv, &admin, "$top=1000", 8).await;
    assert_eq!(
        all.len(),
        8,
        "3 + 1 + 1 service principal, 1 interactive, 1 unknown, 1 refresh: {all:?}"
    );
    let times: Vec<&str> = all
        .iter()
        .map(|r| r["createdDateTime"].as_str().expect("time"))
        .collect();
    assert!(
        times.windows(2).all(|w| w[0] >= w[1]),
        "newest first: {times:?}"
    );
    let cid = all[3]["correlationId"].as_str().expect("cid").to_string();
    let year_ago = portvakt_core::clock::rfc3339_ms(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_millis() as i64
            - 365 * 86_400_000,
    );
    let code = |r: &Value| r["status"]["errorCode"].as_i64().expect("code");
    let s = |r: &Value, f: &str| r[f].as_str().unwrap_or("").to_string();
    type Pred<'a> = Box<dyn Fn(&Value) -> bool + 'a>;
    let cases: Vec<(String, Pred)> = vec![
        (
            format!("user={}", enc("ADMIN@Contoso.example")),
            Box::new(|r| s(r, "userPrincipalName") == USER),
        ),
        (
            format!("user={}", enc("nobody@contoso.example")),
            Box::new(|r| s(r, "userPrincipalName") == "Nobody@contoso.example"),
        ),
        ("app=bench".into(), Box::new(|r| s(r, "appId") == "bench")),
        (
            "status=failure".into(),
            Box::new(|r| s(r, "portvaktStatus") == "failure"),
        ),
        ("status=success".into(), Box::new(|r| code(r) == 0)),
        (
            "app=bench&status=success".into(),
            Box::new(|r| s(r, "appId") == "bench" && code(r) == 0),
        ),
        ("errorCode=PV1103".into(), Box::new(|r| code(r) == 1103)),
        ("errorCode=4002".into(), Box::new(|r| code(r) == 4002)),
        (
            format!("correlationId={cid}"),
            Box::new(|r| s(r, "correlationId") == cid),
        ),
        ("ip=127.0.0.1".into(), Box::new(|_| true)),
        ("ip=10.9.9.9".into(), Box::new(|_| false)),
        (
            "conditionalAccessStatus=failure".into(),
            Box::new(|r| s(r, "conditionalAccessStatus") == "failure"),
        ),
        (
            "conditionalAccessStatus=notApplied".into(),
            Box::new(|r| s(r, "conditionalAccessStatus") == "notApplied"),
        ),
        (
            "interactive=true".into(),
            Box::new(|r| r["isInteractive"] == true),
        ),
        (
            "interactive=false".into(),
            Box::new(|r| r["isInteractive"] == false),
        ),
        ("since=1h".into(), Box::new(|_| true)),
        ("until=1h".into(), Box::new(|_| false)),
        (
            format!("$filter={}", enc("status/errorCode ne 0")),
            Box::new(|r| code(r) != 0),
        ),
        (
            format!(
                "$filter={}",
                enc(&format!(
                    "createdDateTime ge {year_ago} and status/errorCode ne 0"
                ))
            ),
            Box::new(|r| code(r) != 0),
        ),
        (
            format!("$filter={}", enc("createdDateTime le 2000-01-01T00:00:00Z")),
            Box::new(|_| false),
        ),
        (
            format!("$filter={}", enc("startswith(userPrincipalName,'ADMIN@')")),
            Box::new(|r| s(r, "userPrincipalName") == USER),
        ),
        (
            format!(
                "$filter={}",
                enc("appId eq 'narrow' or status/errorCode eq 1103")
            ),
            Box::new(|r| s(r, "appId") == "narrow" || code(r) == 1103),
        ),
        (
            format!(
                "$filter={}",
                enc("isInteractive eq true and status/errorCode eq 0")
            ),
            Box::new(|r| r["isInteractive"] == true && code(r) == 0),
        ),
        (
            format!("$filter={}", enc("conditionalAccessStatus eq 'failure'")),
            Box::new(|r| s(r, "conditionalAccessStatus") == "failure"),
        ),
        (
            format!("$filter={}", enc(&format!("correlationId eq '{cid}'"))),
            Box::new(|r| s(r, "correlationId") == cid),
        ),
        (
            format!("$filter={}&app=bench", enc("status/errorCode eq 0")),
            Box::new(|r| s(r, "appId") == "bench" && code(r) == 0),
        ),
    ];
    for (query, pred) in &cases {
        let want: Vec<String> = all.iter().filter(|r| pred(r)).map(|r| s(r, "id")).collect();
        let got = ids(&srv, &admin, &format!("{query}&$top=1000")).await;
        assert_eq!(got, want, "{query}");
    }
    // Every case above that should match something does (the predicates are not
    // all trivially empty), and paging two at a time walks the same list.
    assert!(cases.iter().filter(|(_, p)| all.iter().any(p)).count() >= 20);
    let paged = ids(&srv, &admin, "$top=2").await;
    assert_eq!(
        paged,
        all.iter().map(|r| s(r, "id")).collect::<Vec<_>>(),
        "paging"
    );

    // Errors name what is wrong: the position in a $filter, the parameter otherwise.
    for (query, needle) in [
        (
            format!("$filter={}", enc("status/errorCode eq")),
            "position",
        ),
        (
            format!("$filter={}", enc("userType eq 'Guest'")),
            "userType",
        ),
        ("status=broken".to_string(), "status"),
        ("since=yesterday".to_string(), "since"),
        ("colour=blue".to_string(), "colour"),
        ("$top=0".to_string(), "$top"),
    ] {
        let res = srv
            .http
            .get(format!(
                "{}/admin/v1/tenants/contoso/auditLogs/signIns?{query}",
                srv.url
            ))
            .bearer_auth(&admin)
            .send()
            .await
            .expect("send");
        assert_eq!(res.status(), 400, "{query}");
        let v: Value = res.json().await.expect("json");
        assert!(v.to_string().contains(needle), "{query}: {v}");
    }
}
