//! Black-box: Conditional Access through the admin API (Graph's shape) and the token
//! endpoint — block, report-only, MFA required on refresh, changes enforced on the next
//! request, What-If agreeing with real sign-ins, export → import, strict refusals with
//! JSON paths, real exported policies and named locations.

mod common;
use common::browser::Browser;
use common::signin::*;
use common::*;
use serde_json::{json, Value};

const CA: &str = "/admin/v1/tenants/contoso/identity/conditionalAccess";

struct Admin<'a> {
    srv: &'a Server,
    token: String,
}

impl<'a> Admin<'a> {
    async fn new(srv: &'a Server) -> Self {
        Self {
            token: srv.admin_token().await,
            srv,
        }
    }
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = self
            .srv
            .http
            .request(method, format!("{}{path}", self.srv.url))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.expect("send");
        let s = res.status().as_u16();
        (s, res.json().await.unwrap_or(Value::Null))
    }
    async fn create(&self, policy: Value) -> String {
        let (s, v) = self
            .call(
                reqwest::Method::POST,
                &format!("{CA}/policies"),
                Some(policy),
            )
            .await;
        assert_eq!(s, 201, "{v}");
        v["id"].as_str().expect("id").to_string()
    }
    async fn set_state(&self, id: &str, state: &str) {
        let (s, v) = self
            .call(
                reqwest::Method::PATCH,
                &format!("{CA}/policies/{id}"),
                Some(json!({"state": state})),
            )
            .await;
        assert_eq!((s, v["state"].as_str()), (200, Some(state)), "{v}");
    }
}

fn policy(name: &str, state: &str, conditions: Value, grant: &[&str]) -> Value {
    json!({
        "displayName": name,
        "state": state,
        "conditions": conditions,
        "grantControls": {"operator": "OR", "builtInControls": grant},
    })
}

async fn cc(srv: &Server, client: &str, secret: &str) -> (u16, Value) {
    let res = srv
        .token_raw(
            "contoso",
            Some((client, secret)),
            &[
                ("grant_type", "client_credentials"),
                ("scope", "api://analytics/.default"),
            ],
        )
        .await;
    let s = res.status().as_u16();
    (s, res.json().await.unwrap_or(Value::Null))
}

fn error_of(v: &(u16, Value)) -> (u16, Option<&str>, Option<&str>) {
    (v.0, v.1["error"].as_str(), v.1["error_code"].as_str())
}

/// The policy that blocks the example's admin on the web portal (`webapp`).
fn block_admin_on_webapp() -> Value {
    policy(
        "Block admin on the web portal",
        "enabled",
        json!({"users": {"includeUsers": [USER]}, "applications": {"includeApplications": ["webapp"]}}),
        &["block"],
    )
}

/// The refresh token of a fresh sign-in of the admin to `webapp`.
async fn web_refresh_token(srv: &Server) -> String {
    web_tokens(srv, &mut Browser::new()).await["refresh_token"]
        .as_str()
        .expect("rt")
        .to_string()
}

#[tokio::test]
async fn block_and_report_only_for_service_principals_and_users() {
    let srv = Server::start();
    let admin = Admin::new(&srv).await;
    let mut rt = web_refresh_token(&srv).await;
    assert_eq!(cc(&srv, "bench", SECRET).await.0, 200);

    // A workload-identity block policy, enforced on the next request.
    let sp = admin
        .create(policy(
            "Block the bench service",
            "enabled",
            json!({"applications": {"includeApplications": ["All"]},
                   "clientApplications": {"includeServicePrincipals": ["bench"]}}),
            &["block"],
        ))
        .await;
    let r = cc(&srv, "bench", SECRET).await;
    assert_eq!(
        error_of(&r),
        (400, Some("access_denied"), Some("PV4001")),
        "{}",
        r.1
    );
    let d = r.1["error_description"].as_str().unwrap_or("");
    assert!(
        d.contains("Block the bench service") && d.contains(&sp),
        "names the policy and its id: {d}"
    );
    assert_eq!(
        cc(&srv, "narrow", "narrow-secret-0123456789abcdef").await.0,
        200,
        "another client is not targeted"
    );
    // Report-only changes nothing for the client.
    admin
        .set_state(&sp, "enabledForReportingButNotEnforced")
        .await;
    assert_eq!(cc(&srv, "bench", SECRET).await.0, 200);

    // A user policy: blocks the refresh of the targeted user for the targeted app.
    let up = admin.create(block_admin_on_webapp()).await;
    let r = refresh_web(&srv, &rt).await;
    assert_eq!(
        error_of(&r),
        (400, Some("access_denied"), Some("PV4001")),
        "{}",
        r.1
    );
    // It keeps failing (the article: the error persists while the policy applies).
    let r = refresh_web(&srv, &rt).await;
    assert_eq!(error_of(&r).2, Some("PV4001"), "{}", r.1);
    // Switched off: the same refresh token works (a refused refresh rotates nothing).
    admin.set_state(&up, "disabled").await;
    let r = refresh_web(&srv, &rt).await;
    assert_eq!(r.0, 200, "{}", r.1);
    rt = r.1["refresh_token"].as_str().expect("rt").to_string();
    // Excluding the user lets them through even when the policy includes All.
    let (s, v) = admin
        .call(
            reqwest::Method::PATCH,
            &format!("{CA}/policies/{up}"),
            Some(json!({"state": "enabled", "conditions": {"users": {"includeUsers": ["All"], "excludeUsers": [USER]}}})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(refresh_web(&srv, &rt).await.0, 200);
}

/// The read of a refresh rotates the token when it may (one round trip); a policy
/// that then blocks the refresh undoes that rotation. Under strict reuse detection
/// (`--refresh-reuse-grace 0`) a token left used would make the next presentation a
/// reuse (PV3204, family revoked): it stays the policy's refusal instead, and once the
/// policy is off the same token rotates, once.
#[tokio::test]
async fn a_blocked_refresh_leaves_its_token_unused_under_strict_reuse_detection() {
    let srv = Server::start_with(&["--refresh-reuse-grace", "0"]).expect("server starts");
    let admin = Admin::new(&srv).await;
    let rt = web_refresh_token(&srv).await;
    let up = admin.create(block_admin_on_webapp()).await;
    for attempt in 1..=3 {
        let r = refresh_web(&srv, &rt).await;
        assert_eq!(error_of(&r).2, Some("PV4001"), "attempt {attempt}: {}", r.1);
    }
    admin.set_state(&up, "disabled").await;
    let r = refresh_web(&srv, &rt).await;
    assert_eq!(r.0, 200, "{}", r.1);
    let next = r.1["refresh_token"].as_str().expect("rt").to_string();
    // The one rotation counted: presenting the token again is a reuse.
    let r = refresh_web(&srv, &rt).await;
    assert_eq!(error_of(&r).2, Some("PV3204"), "{}", r.1);
    let r = refresh_web(&srv, &next).await;
    assert_eq!(
        error_of(&r).2,
        Some("PV3203"),
        "the family is revoked: {}",
        r.1
    );
}

#[tokio::test]
async fn an_mfa_policy_makes_a_single_factor_refresh_interaction_required() {
    let srv = Server::start();
    let admin = Admin::new(&srv).await;
    let rt = web_refresh_token(&srv).await;
    let id = admin
        .create(policy(
            "Require MFA for everyone",
            "enabled",
            json!({"users": {"includeUsers": ["All"]}, "applications": {"includeApplications": ["All"]}}),
            &["mfa"],
        ))
        .await;
    let r = refresh_web(&srv, &rt).await;
    assert_eq!(
        error_of(&r),
        (400, Some("interaction_required"), Some("PV4002")),
        "{}",
        r.1
    );
    let d = r.1["error_description"].as_str().unwrap_or("");
    assert!(
        d.contains("Require MFA for everyone") && d.contains(&id) && d.contains("pwd"),
        "{d}"
    );
    // Client credentials are not a user sign-in: user policies do not apply.
    assert_eq!(cc(&srv, "bench", SECRET).await.0, 200);
}

#[tokio::test]
async fn what_if_agrees_with_real_sign_ins_over_a_table_of_cases() {
    let srv = Server::start();
    let admin = Admin::new(&srv).await;
    // 127.0.0.2 is the "office": trusted.
    let (s, v) = admin
        .call(
            reqwest::Method::POST,
            &format!("{CA}/namedLocations"),
            Some(json!({"@odata.type": "#microsoft.graph.ipNamedLocation", "displayName": "Office", "isTrusted": true,
                        "ipRanges": [{"@odata.type": "#microsoft.graph.iPv4CidrRange", "cidrAddress": "127.0.0.2/32"},
                                     {"@odata.type": "#microsoft.graph.iPv6CidrRange", "cidrAddress": "2001:db8::/32"}]})),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    admin
        .create(policy(
            "Block outside trusted locations",
            "enabled",
            json!({"users": {"includeUsers": ["All"]}, "applications": {"includeApplications": ["webapp"]},
                   "locations": {"includeLocations": ["All"], "excludeLocations": ["AllTrusted"]}}),
            &["block"],
        ))
        .await;
    admin
        .create(policy(
            "Report: block the SPA",
            "enabledForReportingButNotEnforced",
            json!({"users": {"includeUsers": ["All"]}, "applications": {"includeApplications": ["spa"]}}),
            &["block"],
        ))
        .await;
    // Sign in once from the office (allowed), then refresh from each address.
    let mut office = Browser::from_address("127.0.0.2".parse().ok());
    let tokens = web_tokens(&srv, &mut office).await;
    let mut rt = tokens["refresh_token"].as_str().expect("rt").to_string();
    for (ip, app) in [
        ("127.0.0.1", "webapp"),
        ("127.0.0.2", "webapp"),
        ("127.0.0.3", "webapp"),
    ] {
        // What-If for the same inputs.
        let (s, w) = admin
            .call(
                reqwest::Method::POST,
                &format!("{CA}/evaluate"),
                Some(json!({
                    "signInIdentity": {"@odata.type": "#microsoft.graph.userSignIn", "userId": USER},
                    "signInContext": {"@odata.type": "#microsoft.graph.applicationContext", "includeApplications": [app]},
                    "signInConditions": {"ipAddress": ip},
                    "appliedPoliciesOnly": false,
                })),
            )
            .await;
        assert_eq!(s, 200, "{w}");
        let applies = w["value"]
            .as_array()
            .expect("value")
            .iter()
            .find(|p| p["displayName"] == "Block outside trusted locations")
            .map(|p| p["policyApplies"] == true)
            .expect("the policy is listed");
        // The real refresh, from that address.
        let http = portvakt_guard::http::builder()
            .expect("TLS")
            .local_address(ip.parse::<std::net::IpAddr>().ok())
            .build()
            .expect("client");
        let res = http
            .post(format!("{}/oauth2/token", srv.issuer("contoso")))
            .basic_auth("webapp", Some(WEB_SECRET))
            .form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", rt.as_str()),
            ])
            .send()
            .await
            .expect("send");
        let status = res.status().as_u16();
        let v: Value = res.json().await.expect("json");
        assert_eq!(
            applies,
            status == 400,
            "{ip}: What-If says applies={applies}, the real refresh gave {status} {v}"
        );
        if status == 200 {
            rt = v["refresh_token"].as_str().expect("rt").to_string();
        } else {
            assert_eq!(v["error_code"], "PV4001", "{v}");
        }
        // Graph's reason for not applying is the location.
        if !applies {
            let p = w["value"]
                .as_array()
                .expect("v")
                .iter()
                .find(|p| p["displayName"] == "Block outside trusted locations")
                .expect("p");
            assert_eq!(p["analysisReasons"], "location", "{p}");
        }
    }
    // A report-only policy shows in What-If as applying but changes nothing.
    let (_, w) = admin
        .call(
            reqwest::Method::POST,
            &format!("{CA}/evaluate"),
            Some(json!({"signInIdentity": {"@odata.type": "#microsoft.graph.userSignIn", "userId": USER},
                        "signInContext": {"@odata.type": "#microsoft.graph.applicationContext", "includeApplications": ["spa"]},
                        "signInConditions": {}})),
        )
        .await;
    let p = w["value"]
        .as_array()
        .expect("v")
        .iter()
        .find(|p| p["displayName"] == "Report: block the SPA")
        .expect("listed")
        .clone();
    assert_eq!(p["policyApplies"], true, "{p}");
    assert_eq!(w["portvakt"]["decision"]["type"], "allowed", "{w}");
}

#[tokio::test]
async fn policies_are_refused_with_the_json_path_and_export_imports_back_unchanged() {
    let srv = Server::start();
    let admin = Admin::new(&srv).await;
    for (body, path) in [
        (
            json!({"displayName": "x", "state": "enabled", "conditions": {"users": {"includeUsers": ["All"], "colour": "red"}, "applications": {"includeApplications": ["All"]}}, "grantControls": {"operator": "OR", "builtInControls": ["block"]}}),
            "$.conditions.users.colour",
        ),
        (
            json!({"displayName": "x", "state": "enabled", "conditions": {"users": {"includeUsers": ["nobody@contoso.example"]}, "applications": {"includeApplications": ["All"]}}, "grantControls": {"operator": "OR", "builtInControls": ["block"]}}),
            "$.conditions.users.includeUsers[0]",
        ),
        (
            json!({"displayName": "x", "state": "enabled", "conditions": {"users": {"includeUsers": ["All"]}, "applications": {"includeApplications": ["All"]}, "userRiskLevels": ["high"]}, "grantControls": {"operator": "OR", "builtInControls": ["block"]}}),
            "$.conditions.userRiskLevels",
        ),
        (
            json!({"displayName": "x", "state": "sometimes", "conditions": {"users": {"includeUsers": ["All"]}, "applications": {"includeApplications": ["All"]}}, "grantControls": {"operator": "OR", "builtInControls": ["block"]}}),
            "$.state",
        ),
    ] {
        let (s, v) = admin
            .call(reqwest::Method::POST, &format!("{CA}/policies"), Some(body))
            .await;
        assert_eq!((s, v["error_code"].as_str()), (400, Some("PV4006")), "{v}");
        let d = v["error_description"].as_str().unwrap_or("");
        assert!(d.contains(path), "want {path}: {d}");
    }
    let (s, _) = admin
        .call(reqwest::Method::GET, &format!("{CA}/policies"), None)
        .await;
    assert_eq!(s, 200);
    // Two policies, one with a group by name and a control that fails closed.
    admin
        .create(policy("MFA for analytics admins", "enabled",
            json!({"users": {"includeGroups": ["Analytics Admins"]}, "applications": {"includeApplications": ["api://analytics"]}}), &["mfa"]))
        .await;
    admin
        .create(policy("Compliant devices only", "disabled",
            json!({"users": {"includeUsers": ["All"], "excludeUsers": [USER]}, "applications": {"includeApplications": ["All"]}}), &["compliantDevice"]))
        .await;
    let (_, before) = admin
        .call(reqwest::Method::GET, &format!("{CA}/policies"), None)
        .await;
    // Import the export into another server: the same policies come back.
    let other = Server::start();
    let admin2 = Admin::new(&other).await;
    let (s, v) = admin2
        .call(
            reqwest::Method::POST,
            &format!("{CA}/import"),
            Some(json!({"policies": before["value"]})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let (_, after) = admin2
        .call(reqwest::Method::GET, &format!("{CA}/policies"), None)
        .await;
    assert_eq!(before, after, "export → import round-trips");
    // Re-import is idempotent (matched by id).
    let (s, _) = admin2
        .call(
            reqwest::Method::POST,
            &format!("{CA}/import"),
            Some(json!({"policies": before["value"]})),
        )
        .await;
    assert_eq!(s, 200);
    let (_, again) = admin2
        .call(reqwest::Method::GET, &format!("{CA}/policies"), None)
        .await;
    assert_eq!(after, again);
    // A disabled compliant-device policy switched on fails closed, saying why.
    let id = before["value"]
        .as_array()
        .expect("v")
        .iter()
        .find(|p| p["displayName"] == "Compliant devices only")
        .expect("p")["id"]
        .as_str()
        .expect("id")
        .to_string();
    admin.set_state(&id, "enabled").await;
    let mut b = Browser::new();
    let res = srv
        .http
        .get(format!("{}/health", srv.url))
        .send()
        .await
        .expect("send");
    assert_eq!(res.status(), 200);
    let _ = &mut b;
}

#[tokio::test]
async fn real_entra_exports_import_with_their_ids_through_the_cli() {
    // The groups and named locations these exports name, with their Entra ids.
    let dir = temp_dir("entra");
    let f = dir.join("import.json");
    let mut file = example_import();
    file["tenants"][0]["groups"] = json!([
        {"displayName": "Analytics Admins"},
        {"id": "2bda5037-6b74-4892-b5ab-5b8b1c20cfed", "displayName": "CA-Persona-Admins"},
        {"id": "ee2bdc01-80c2-4e28-9882-858bcfa005bf", "displayName": "CA-BreakGlassAccounts"},
        {"id": "14ee818d-85f3-4227-ad53-fab87b5787c7", "displayName": "CA-Persona-Admins-Exclusions"},
    ]);
    std::fs::write(&f, serde_json::to_vec(&file).expect("json")).expect("write");
    let srv = Server::start_in(&dir, &["--import", f.to_str().expect("utf8")]).expect("start");
    let corpus = concat!(env!("CARGO_MANIFEST_DIR"), "/../policy/tests/corpus");
    let path = |name: &str| format!("{corpus}/{name}");
    // A real export (UTF-8, Graph v1.0) that names those groups.
    let (c, out, err) = srv.cli(&[
        "policy",
        "import",
        "--tenant",
        "contoso",
        &path("ztkohn-CA101-Admins-BaseProtection-AllApps-AnyPlatform-MFA.json"),
    ]);
    assert_eq!(c, 0, "{out}{err}");
    // UTF-16 named locations, then a policy that uses them, from the same tool.
    let (c, out, err) = srv.cli(&[
        "policy",
        "import",
        "--tenant",
        "contoso",
        "--locations",
        &path("location-kovergard-TrustedNetworks.json"),
    ]);
    assert_eq!(c, 0, "{out}{err}");
    // A file naming a group the tenant does not have is refused with its path.
    let (c, _, err) = srv.cli(&[
        "policy",
        "import",
        "--tenant",
        "contoso",
        &path("ztkohn-CA001-Global-BaseProtection-AllApps-AnyPlatform-BlockNonPersonas.json"),
    ]);
    assert_ne!(c, 0);
    assert!(
        err.contains("PV4006") && err.contains("$.policies[0].conditions.users"),
        "{err}"
    );
    // list, set-state, what-if, export.
    let (c, out, _) = srv.cli(&["policy", "list", "--tenant", "contoso"]);
    assert_eq!(c, 0);
    assert!(
        out.contains("CA101-Admins-BaseProtection-AllApps-AnyPlatform-MFA")
            && out.contains("disabled"),
        "{out}"
    );
    let (c, out, err) = srv.cli(&[
        "policy",
        "set-state",
        "--tenant",
        "contoso",
        "CA101-Admins-BaseProtection-AllApps-AnyPlatform-MFA",
        "report-only",
    ]);
    assert_eq!(c, 0, "{err}");
    assert!(out.contains("enabledForReportingButNotEnforced"), "{out}");
    let (c, out, err) = srv.cli(&[
        "policy", "what-if", "--tenant", "contoso", "--user", USER, "--app", "webapp", "--json",
    ]);
    assert_eq!(c, 0, "{err}");
    let v: Value = serde_json::from_str(&out).expect("json");
    assert_eq!(
        v["value"][0]["policyApplies"], false,
        "the user is not in CA-Persona-Admins: {v}"
    );
    assert_eq!(v["value"][0]["analysisReasons"], "users", "{v}");
    let exported = dir.join("export.json");
    let (c, _, err) = srv.cli(&[
        "policy",
        "export",
        "--tenant",
        "contoso",
        "--out",
        exported.to_str().expect("utf8"),
    ]);
    assert_eq!(c, 0, "{err}");
    let v: Value = serde_json::from_slice(&std::fs::read(&exported).expect("read")).expect("json");
    assert_eq!(
        v["value"][0]["conditions"]["users"]["includeGroups"][0],
        "2bda5037-6b74-4892-b5ab-5b8b1c20cfed",
        "ids kept: {v}"
    );
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64
}

async fn post_otp(
    srv: &Server,
    b: &mut Browser,
    page: &common::browser::Page,
    otp: &str,
) -> common::browser::Page {
    let i = page.hidden("interaction").expect("interaction");
    let c = page.hidden("csrf").expect("csrf");
    b.post(
        &format!("{}/login/mfa", srv.issuer("contoso")),
        &[("interaction", &i), ("csrf", &c), ("otp", otp)],
    )
    .await
}

#[tokio::test]
async fn an_mfa_policy_enrols_then_verifies_totp_and_a_code_works_once() {
    let srv = Server::start();
    let admin = Admin::new(&srv).await;
    admin
        .create(policy(
            "MFA for the web portal",
            "enabled",
            json!({"users": {"includeUsers": ["All"]}, "applications": {"includeApplications": ["webapp"]}}),
            &["mfa"],
        ))
        .await;
    // First sign-in: no authenticator yet, so the password leads to enrolment.
    let mut b = Browser::new();
    let (page, verifier) = web_password_step(&srv, &mut b).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("name=\"otp\"") && page.body.contains("<svg"),
        "an enrolment page: {}",
        page.body
    );
    assert!(page.body.contains("otpauth://totp/"), "{}", page.body);
    let secret_b32 = element_text(&page.body, "<code class=\"secret\">", "</code>")
        .expect("the secret is shown");
    let secret = portvakt_core::names::base32_decode(&secret_b32).expect("base32");
    assert_eq!(secret.len(), 20, "160 bits");
    // A wrong code is refused, the page stays.
    let wrong = post_otp(&srv, &mut b, &page, "000000").await;
    assert_eq!(wrong.status, 401, "{}", wrong.body);
    assert!(wrong.body.contains("PV4008"), "{}", wrong.body);
    let code = portvakt_server::mfa::code_at(&secret, now()).expect("code");
    let done = post_otp(&srv, &mut b, &wrong, &code).await;
    assert_eq!(done.status, 303, "{}", done.body);
    let loc = done.location.clone().expect("redirect");
    assert!(loc.starts_with(WEB_CB), "{loc}");
    let (s, t) = exchange_web(&srv, &done.redirect_params()["code"], &verifier).await;
    assert_eq!(s, 200, "{t}");
    let (_, claims) = decode(t["id_token"].as_str().expect("id token"));
    let amr: Vec<&str> = claims["amr"]
        .as_array()
        .expect("amr")
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert!(
        amr.contains(&"mfa") && amr.contains(&"otp") && amr.contains(&"pwd"),
        "{amr:?}"
    );
    // The MFA session satisfies the policy at refresh.
    let (s, r) = refresh_web(&srv, t["refresh_token"].as_str().expect("rt")).await;
    assert_eq!(s, 200, "{r}");

    // Second sign-in, another browser: verification only (no new secret), and the
    // code already used is refused as reused.
    let mut b2 = Browser::new();
    let (page, verifier) = web_password_step(&srv, &mut b2).await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("name=\"otp\"") && !page.body.contains("<svg"),
        "verification, not enrolment: {}",
        page.body
    );
    let replay = post_otp(&srv, &mut b2, &page, &code).await;
    assert_eq!(replay.status, 401);
    assert!(replay.body.contains("PV4008"), "{}", replay.body);
    // The next step's code (one step of skew is allowed) works.
    let next = portvakt_server::mfa::code_at(&secret, now() + 30).expect("code");
    let done = post_otp(&srv, &mut b2, &replay, &next).await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(
        exchange_web(&srv, &done.redirect_params()["code"], &verifier)
            .await
            .0,
        200
    );

    // Guessing is throttled like passwords.
    let mut b3 = Browser::new();
    let (mut page, _) = web_password_step(&srv, &mut b3).await;
    let mut statuses = vec![];
    for _ in 0..6 {
        page = post_otp(&srv, &mut b3, &page, "123456").await;
        statuses.push(page.status);
    }
    assert_eq!(statuses.last(), Some(&429), "{statuses:?}");
    assert!(page.body.contains("PV4009"), "{}", page.body);

    // An admin resets the MFA: the next sign-in enrols again.
    let (c, out, err) = srv.cli(&["user", "reset-mfa", "--tenant", "contoso", USER]);
    assert_eq!(c, 0, "{out}{err}");
    let mut b4 = Browser::from_address("127.0.0.9".parse().ok());
    let (page, _) = web_password_step(&srv, &mut b4).await;
    assert!(page.body.contains("<svg"), "enrolment again: {}", page.body);
}

#[tokio::test]
async fn a_block_policy_stops_the_interactive_sign_in_with_its_name() {
    let srv = Server::start();
    let admin = Admin::new(&srv).await;
    let id = admin
        .create(policy(
            "No web portal today",
            "enabled",
            json!({"users": {"includeUsers": [USER]}, "applications": {"includeApplications": ["webapp"]}}),
            &["block"],
        ))
        .await;
    let mut b = Browser::new();
    let (page, _) = web_password_step(&srv, &mut b).await;
    assert_eq!(page.status, 400, "{}", page.body);
    assert!(
        page.body.contains("PV4001")
            && page.body.contains("No web portal today")
            && page.body.contains(&id),
        "{}",
        page.body
    );
    assert!(
        !b.cookies.contains_key("pv_session"),
        "no session was started"
    );
    // Report-only: signs in.
    admin
        .set_state(&id, "enabledForReportingButNotEnforced")
        .await;
    let mut b = Browser::new();
    let (page, _) = web_password_step(&srv, &mut b).await;
    assert_eq!(page.status, 303, "{}", page.body);
}

#[tokio::test]
async fn a_policy_switched_on_stops_the_silent_sign_in_of_a_live_session() {
    let srv = Server::start();
    let admin = Admin::new(&srv).await;
    let mut b = Browser::new();
    web_tokens(&srv, &mut b).await;
    admin
        .create(policy(
            "MFA for the web portal",
            "enabled",
            json!({"users": {"includeUsers": ["All"]}, "applications": {"includeApplications": ["webapp"]}}),
            &["mfa"],
        ))
        .await;
    // prompt=none: reported to the client as interaction_required with the policy.
    let (_, challenge) = pkce();
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
    assert_eq!(page.status, 303);
    let p = page.redirect_params();
    assert_eq!(
        p.get("error").map(String::as_str),
        Some("interaction_required"),
        "{p:?}"
    );
    assert!(
        p.get("error_description")
            .is_some_and(|d| d.contains("MFA for the web portal")),
        "{p:?}"
    );
    // Without prompt=none the browser is sent to sign in again.
    let page = b
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
    assert_eq!(page.status, 303);
    assert!(
        page.location
            .as_deref()
            .is_some_and(|l| l.contains("/login?interaction=")),
        "{:?}",
        page.location
    );
}

#[tokio::test]
async fn x_forwarded_for_counts_only_from_a_trusted_proxy() {
    let dir = temp_dir("xff");
    let f = dir.join("import.json");
    std::fs::write(&f, serde_json::to_vec(&example_import()).expect("json")).expect("write");
    let token_from = |srv: &Server, xff: &'static str| {
        let url = format!("{}/oauth2/token", srv.issuer("contoso"));
        let http = srv.http.clone();
        async move {
            let res = http
                .post(url)
                .basic_auth("bench", Some(SECRET))
                .header("x-forwarded-for", xff)
                .form(&[
                    ("grant_type", "client_credentials"),
                    ("scope", "api://analytics/.default"),
                ])
                .send()
                .await
                .expect("send");
            res.status().as_u16()
        }
    };
    async fn setup(srv: &Server) {
        {
            let admin = Admin::new(srv).await;
            let (s, v) = admin
                .call(
                    reqwest::Method::POST,
                    &format!("{CA}/namedLocations"),
                    Some(json!({"@odata.type": "#microsoft.graph.ipNamedLocation", "displayName": "Office", "isTrusted": true,
                                "ipRanges": [{"@odata.type": "#microsoft.graph.iPv4CidrRange", "cidrAddress": "203.0.113.0/24"}]})),
                )
                .await;
            assert_eq!(s, 201, "{v}");
            admin
                .create(policy(
                    "bench only from the office",
                    "enabled",
                    json!({"applications": {"includeApplications": ["All"]},
                           "clientApplications": {"includeServicePrincipals": ["bench"]},
                           "locations": {"includeLocations": ["All"], "excludeLocations": ["AllTrusted"]}}),
                    &["block"],
                ))
                .await;
        }
    }
    // Behind a trusted proxy (loopback here), the forwarded address is the client's.
    let srv = Server::start_in(
        &dir,
        &[
            "--import",
            f.to_str().expect("utf8"),
            "--trust-forwarded-for",
            "127.0.0.0/8",
        ],
    )
    .expect("start");
    setup(&srv).await;
    assert_eq!(
        token_from(&srv, "203.0.113.7").await,
        200,
        "from the office"
    );
    assert_eq!(
        token_from(&srv, "198.51.100.1").await,
        400,
        "from elsewhere"
    );
    // A client cannot prepend its way into the office: the rightmost hop counts.
    assert_eq!(token_from(&srv, "203.0.113.7, 198.51.100.1").await, 400);
    drop(srv);
    // Without the flag the header is ignored: the peer (127.0.0.1) is not the office.
    let dir2 = temp_dir("xff2");
    let f = dir2.join("import.json");
    std::fs::write(&f, serde_json::to_vec(&example_import()).expect("json")).expect("write");
    let srv = Server::start_in(&dir2, &["--import", f.to_str().expect("utf8")]).expect("start");
    setup(&srv).await;
    assert_eq!(token_from(&srv, "203.0.113.7").await, 400);
    let err = Server::start_in(&temp_dir("xff3"), &["--trust-forwarded-for", "10.0.0.0"])
        .err()
        .expect("refused");
    assert!(err.contains("--trust-forwarded-for"), "{err}");
}

#[tokio::test]
async fn a_device_code_flow_policy_and_a_role_policy_apply_to_their_sign_ins() {
    // A role standing for Entra's Global Administrator, held by the user.
    let dir = temp_dir("roles");
    let f = dir.join("import.json");
    let mut file = example_import();
    file["tenants"][0]["roles"] =
        json!([{"name": "globalAdmin", "templateId": "62e90394-69f5-4237-9190-012177145e10"}]);
    file["tenants"][0]["users"][0]["roles"] = json!(["admin", "globalAdmin"]);
    std::fs::write(&f, serde_json::to_vec(&file).expect("json")).expect("write");
    let srv = Server::start_in(&dir, &["--import", f.to_str().expect("utf8")]).expect("start");
    let admin = Admin::new(&srv).await;
    // Global Administrators may not use the web portal (as an exported policy names them).
    let role = admin
        .create(policy(
            "No portal for Global Administrators",
            "enabled",
            json!({"users": {"includeRoles": ["62e90394-69f5-4237-9190-012177145e10"]}, "applications": {"includeApplications": ["webapp"]}}),
            &["block"],
        ))
        .await;
    let mut b = Browser::new();
    let (page, _) = web_password_step(&srv, &mut b).await;
    assert_eq!(page.status, 400, "{}", page.body);
    assert!(page.body.contains(&role), "{}", page.body);
    admin.set_state(&role, "disabled").await;
    // Block the device code flow: the approval's sign-in is refused and the device told.
    admin
        .create(policy(
            "No device code flow",
            "enabled",
            json!({"users": {"includeUsers": ["All"]}, "applications": {"includeApplications": ["All"]},
                   "authenticationFlows": {"transferMethods": "deviceCodeFlow"}}),
            &["block"],
        ))
        .await;
    // The web sign-in is no device code flow: not affected.
    let mut b = Browser::new();
    let (page, _) = web_password_step(&srv, &mut b).await;
    assert_eq!(page.status, 303, "{}", page.body);
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
    let d: Value = res.json().await.expect("json");
    let mut b = Browser::new();
    let url = format!("{}/device", srv.issuer("contoso"));
    let page = b.get(&url).await;
    let csrf = page.hidden("csrf").expect("csrf");
    let start = b
        .post(
            &url,
            &[
                ("csrf", &csrf),
                ("user_code", d["user_code"].as_str().expect("uc")),
            ],
        )
        .await;
    let page = post_login(&mut b, &start, USER, PASSWORD).await;
    assert_eq!(page.status, 400, "{}", page.body);
    assert!(
        page.body.contains("PV4001") && page.body.contains("No device code flow"),
        "{}",
        page.body
    );
    let res = srv
        .token_raw(
            "contoso",
            None,
            &[
                ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
                ("client_id", "tv"),
                ("device_code", d["device_code"].as_str().expect("dc")),
            ],
        )
        .await;
    let v: Value = res.json().await.expect("json");
    assert_eq!(
        v["error"], "access_denied",
        "the device learns it was refused: {v}"
    );
}
