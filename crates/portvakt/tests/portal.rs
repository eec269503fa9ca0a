//! Black-box, over HTTP (the browser suite is tests/portal): the admin portal lets in
//! a tenant's admins only, through Portvakt's own sign-in; every page carries the
//! security headers and is never cached; forms refuse a missing or wrong CSRF token
//! and change nothing; a cookie of another tenant, a tampered one, or one whose
//! session was signed out is refused; changes made in the portal are audited under
//! the admin's name.

mod common;
use common::browser::{Browser, Page};
use common::signin::*;
use common::*;
use serde_json::{json, Value};

const KIM: &str = "kim@contoso.example";

fn start() -> Server {
    let mut import = example_import();
    let users = import["tenants"][0]["users"].as_array_mut().expect("users");
    users[0]["roles"] = json!(["admin"]);
    users.push(
        json!({"userPrincipalName": KIM, "displayName": "Kim", "password": "kim's long password"}),
    );
    import["tenants"][0]["conditionalAccessPolicies"] = json!([{
        "displayName": "Block the SPA", "state": "enabled",
        "conditions": {"users": {"includeUsers": ["All"]}, "applications": {"includeApplications": ["spa"]}},
        "grantControls": {"operator": "OR", "builtInControls": ["block"]}}, {
        "displayName": "Report: MFA for the portal", "state": "enabledForReportingButNotEnforced",
        "conditions": {"users": {"includeUsers": ["All"]}, "applications": {"includeApplications": ["portvakt-portal"]}},
        "grantControls": {"operator": "OR", "builtInControls": ["mfa"]}}]);
    let dir = temp_dir("portal");
    let f = dir.join("import.json");
    std::fs::write(&f, serde_json::to_vec(&import).expect("json")).expect("write");
    Server::start_in(&dir, &["--import", f.to_str().expect("utf8")]).expect("start")
}

/// Sign in to the portal of `tenant` as `user`; returns the page the callback leads to.
async fn portal_sign_in(
    srv: &Server,
    b: &mut Browser,
    tenant: &str,
    user: &str,
    password: &str,
) -> Page {
    let p = b.get(&format!("{}/portal/{tenant}/signins", srv.url)).await;
    assert_eq!(p.status, 303, "{}", p.body);
    let authorize = p.location.clone().expect("to authorize");
    assert!(
        authorize.contains("client_id=portvakt-portal")
            && authorize.contains("code_challenge_method=S256"),
        "{authorize}"
    );
    let login = b.get(&authorize).await;
    assert_eq!(login.status, 303, "{}", login.body);
    let back = post_login(b, &login, user, password).await;
    assert_eq!(back.status, 303, "{}", back.body);
    let cb = back.location.clone().expect("to the callback");
    assert!(
        cb.starts_with(&format!("{}/portal/{tenant}/callback?", srv.url)),
        "{cb}"
    );
    b.get(&cb).await
}

fn header<'a>(res: &'a reqwest::Response, name: &str) -> &'a str {
    res.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

async fn raw_get(srv: &Server, path: &str, cookies: &str) -> reqwest::Response {
    portvakt_guard::http::builder()
        .expect("TLS")
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
        .get(format!("{}{path}", srv.url))
        .header("cookie", cookies)
        .send()
        .await
        .expect("send")
}

async fn policy_state(srv: &Server, token: &str, id: &str) -> String {
    let v: Value = srv
        .http
        .get(format!(
            "{}/admin/v1/tenants/contoso/identity/conditionalAccess/policies/{id}",
            srv.url
        ))
        .bearer_auth(token)
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    v["state"].as_str().expect("state").to_string()
}

fn cookie_line(b: &Browser) -> String {
    b.cookies
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("; ")
}

#[tokio::test]
async fn an_admin_signs_in_and_every_page_is_uncached_and_locked_down() {
    let srv = start();
    let mut b = Browser::new();
    let landed = portal_sign_in(&srv, &mut b, "contoso", USER, PASSWORD).await;
    assert_eq!(landed.status, 303, "{}", landed.body);
    assert_eq!(landed.location.as_deref(), Some("/portal/contoso/signins"));
    assert!(b.cookies.contains_key("pv_portal"));
    let cookies = cookie_line(&b);
    for path in [
        "/portal/contoso/signins",
        "/portal/contoso/policies",
        "/portal/contoso/audit",
        "/portal/contoso/signins?status=failure&range=7d",
    ] {
        let res = raw_get(&srv, path, &cookies).await;
        assert_eq!(res.status(), 200, "{path}");
        assert_eq!(header(&res, "cache-control"), "no-store", "{path}");
        let csp = header(&res, "content-security-policy").to_string();
        assert!(
            csp.contains("frame-ancestors 'none'")
                && csp.contains("script-src 'self'")
                && !csp.contains("unsafe-inline"),
            "{path}: {csp}"
        );
        assert_eq!(header(&res, "x-content-type-options"), "nosniff");
        assert_eq!(header(&res, "referrer-policy"), "no-referrer");
        let body = res.text().await.expect("body");
        assert!(
            body.contains("Signed in as <strong>admin@contoso.example</strong>"),
            "{path}"
        );
        assert!(!body.contains("<script"), "no script in {path}");
        assert!(body.len() < 150_000, "{path}: {} bytes", body.len());
    }
    // The portal sign-in itself is in the log, under the portal's client.
    let mut logs = String::new();
    for _ in 0..100 {
        logs = raw_get(
            &srv,
            "/portal/contoso/signins?app=portvakt-portal",
            &cookies,
        )
        .await
        .text()
        .await
        .expect("body");
        if logs.contains("badge success") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(
        logs.contains("Portvakt portal") && logs.contains("badge success"),
        "{logs}"
    );
    // Swedish on request, remembered.
    let sv = raw_get(&srv, "/portal/contoso/signins?lang=sv", &cookies).await;
    assert!(
        header(&sv, "set-cookie").starts_with("pv_portal_lang=sv"),
        "{:?}",
        sv.headers()
    );
    assert!(sv.text().await.expect("body").contains("Inloggningsloggar"));
    // The stylesheet is served by Portvakt.
    let css = raw_get(&srv, "/portal/static/portal.css", "").await;
    assert_eq!(css.status(), 200);
    assert!(header(&css, "content-type").starts_with("text/css"));
}

#[tokio::test]
async fn forms_refuse_a_missing_or_wrong_csrf_token_and_the_right_one_is_audited_under_the_admin() {
    let srv = start();
    let admin_token = srv.admin_token().await;
    let mut b = Browser::new();
    portal_sign_in(&srv, &mut b, "contoso", USER, PASSWORD).await;
    let page = b.get(&format!("{}/portal/contoso/policies", srv.url)).await;
    assert_eq!(page.status, 200);
    let csrf = page.hidden("csrf").expect("csrf");
    let policies: Value = srv
        .http
        .get(format!(
            "{}/admin/v1/tenants/contoso/identity/conditionalAccess/policies",
            srv.url
        ))
        .bearer_auth(&admin_token)
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    let id = policies["value"][0]["id"].as_str().expect("id").to_string();
    let url = format!("{}/portal/contoso/policies/{id}/state", srv.url);
    for form in [
        vec![("state", "disabled")],
        vec![("state", "disabled"), ("csrf", "forged-token")],
    ] {
        let p = b.post(&url, &form).await;
        assert_eq!(p.status, 403, "{}", p.body);
        assert!(p.body.contains("nothing was changed"), "{}", p.body);
        assert_eq!(policy_state(&srv, &admin_token, &id).await, "enabled");
    }
    let p = b
        .post(
            &url,
            &[
                ("state", "enabledForReportingButNotEnforced"),
                ("csrf", &csrf),
            ],
        )
        .await;
    assert_eq!(p.status, 303, "{}", p.body);
    assert_eq!(
        policy_state(&srv, &admin_token, &id).await,
        "enabledForReportingButNotEnforced"
    );
    let audit: Value = srv
        .http
        .get(format!(
            "{}/admin/v1/tenants/contoso/auditLogs/directoryAudits",
            srv.url
        ))
        .bearer_auth(&admin_token)
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    let rec = &audit["value"][0];
    assert_eq!(
        rec["activityDisplayName"], "Update conditional access policy",
        "{rec}"
    );
    assert_eq!(
        rec["initiatedBy"]["user"]["userPrincipalName"], USER,
        "{rec}"
    );
    assert_eq!(
        rec["initiatedBy"]["app"]["appId"], "portvakt-portal",
        "{rec}"
    );
    // The portal's audit page shows it with old and new value.
    let page = b.get(&format!("{}/portal/contoso/audit", srv.url)).await;
    assert!(
        page.body.contains("Update conditional access policy")
            && page
                .body
                .contains("&#34;enabledForReportingButNotEnforced&#34;"),
        "{}",
        page.body
    );
    // A form posted without a session changes nothing either.
    let mut stranger = Browser::new();
    let p = stranger
        .post(&url, &[("state", "disabled"), ("csrf", &csrf)])
        .await;
    assert_eq!(p.status, 403);
    assert_eq!(
        policy_state(&srv, &admin_token, &id).await,
        "enabledForReportingButNotEnforced"
    );
}

#[tokio::test]
async fn non_admins_other_tenants_tampered_and_signed_out_cookies_are_refused() {
    let srv = start();
    // A user of the tenant without the role: told who they are and how to get in.
    let mut kim = Browser::new();
    let p = portal_sign_in(&srv, &mut kim, "contoso", KIM, "kim's long password").await;
    assert_eq!(p.status, 403, "{}", p.body);
    assert!(
        p.body
            .contains("portvakt user set-roles --tenant contoso kim@contoso.example admin"),
        "{}",
        p.body
    );
    assert!(!kim.cookies.contains_key("pv_portal"));

    let mut b = Browser::new();
    portal_sign_in(&srv, &mut b, "contoso", USER, PASSWORD).await;
    let cookies = cookie_line(&b);
    assert_eq!(
        raw_get(&srv, "/portal/contoso/signins", &cookies)
            .await
            .status(),
        200
    );
    // The same cookie at another tenant's portal: a sign-in there, not a page.
    let other = raw_get(&srv, "/portal/fabrikam/signins", &cookies).await;
    assert_eq!(other.status(), 303);
    assert!(
        header(&other, "location").contains("/fabrikam/oauth2/authorize"),
        "{:?}",
        other.headers()
    );
    // A tampered cookie.
    let sealed = b.cookies["pv_portal"].clone();
    let flipped = format!(
        "{}{}",
        &sealed[..sealed.len() - 2],
        if sealed.ends_with('A') { "BB" } else { "AA" }
    );
    let res = raw_get(
        &srv,
        "/portal/contoso/signins",
        &format!("pv_portal={flipped}"),
    )
    .await;
    assert_eq!(res.status(), 303, "a tampered cookie is no session");
    // Sign-out ends the session behind the cookie: a copy of it is dead too.
    let page = b.get(&format!("{}/portal/contoso/signins", srv.url)).await;
    let csrf = page.hidden("csrf").expect("csrf");
    let out = b
        .post(
            &format!("{}/portal/contoso/signout", srv.url),
            &[("csrf", "wrong")],
        )
        .await;
    assert_eq!(out.status, 403, "sign-out needs the token too");
    let out = b
        .post(
            &format!("{}/portal/contoso/signout", srv.url),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(out.status, 200, "{}", out.body);
    assert!(out.body.contains("You are signed out"), "{}", out.body);
    let res = raw_get(&srv, "/portal/contoso/signins", &cookies).await;
    assert_eq!(res.status(), 303, "the copied cookie died with the session");
}

#[tokio::test]
async fn a_failed_sign_in_opens_in_tabs_with_the_policy_and_the_diagnosis() {
    let srv = start();
    let mut b = Browser::new();
    portal_sign_in(&srv, &mut b, "contoso", USER, PASSWORD).await;
    // The SPA is blocked by policy: its sign-in fails with PV4001.
    let mut user = Browser::new();
    let (_, challenge) = pkce();
    let start = user
        .get(&authorize_url(
            &srv,
            &[
                ("client_id", "spa"),
                ("response_type", "code"),
                ("scope", "api://analytics/Reports.Read"),
                ("redirect_uri", "https://spa.example.com/cb"),
                ("code_challenge", &challenge),
                ("code_challenge_method", "S256"),
            ],
        ))
        .await;
    post_login(&mut user, &start, KIM, "kim's long password").await;
    let mut list = String::new();
    for _ in 0..100 {
        list = b
            .get(&format!(
                "{}/portal/contoso/signins?status=failure&code=PV4001&user={}",
                srv.url,
                urlencode(KIM)
            ))
            .await
            .body;
        if list.contains("?tab=troubleshoot\">PV4001") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let i = list
        .find("?tab=troubleshoot")
        .expect("a failed row links to its diagnosis");
    let start_href = list[..i].rfind("/portal/contoso/signins/").expect("href");
    let id = &list[start_href + "/portal/contoso/signins/".len()..i];
    let ca = b
        .get(&format!("{}/portal/contoso/signins/{id}?tab=ca", srv.url))
        .await;
    assert_eq!(ca.status, 200);
    assert!(
        ca.body.contains("Block the SPA") && ca.body.contains("badge failure"),
        "{}",
        ca.body
    );
    let t = b
        .get(&format!(
            "{}/portal/contoso/signins/{id}?tab=troubleshoot",
            srv.url
        ))
        .await;
    assert!(
        t.body.contains("blockedByPolicy") && t.body.contains("/errors/PV4001?correlation_id="),
        "{}",
        t.body
    );
    for tab in ["basic", "location", "auth", "report-only"] {
        let p = b
            .get(&format!(
                "{}/portal/contoso/signins/{id}?tab={tab}",
                srv.url
            ))
            .await;
        assert_eq!(p.status, 200, "{tab}");
        assert!(p.body.contains("aria-current=\"page\""), "{tab}");
    }
    // Downloads of the filtered set.
    let csv = b
        .get(&format!(
            "{}/portal/contoso/signins.csv?range=24h&status=failure",
            srv.url
        ))
        .await;
    assert_eq!(csv.status, 200);
    assert!(
        csv.body.starts_with("time,user,app,status,errorCode") && csv.body.contains("PV4001"),
        "{}",
        csv.body
    );
    let json = b
        .get(&format!(
            "{}/portal/contoso/signins.json?range=24h&status=failure",
            srv.url
        ))
        .await;
    let v: Value = serde_json::from_str(&json.body).expect("json");
    assert!(
        v["value"]
            .as_array()
            .expect("value")
            .iter()
            .all(|r| r["portvaktStatus"] == "failure"),
        "{v}"
    );
    // An unknown record is a 404 page, not an error.
    let p = b
        .get(&format!("{}/portal/contoso/signins/nope", srv.url))
        .await;
    assert_eq!(p.status, 404);
    // The overview counts them: the status chart, the failure reason, the policy.
    let o = b
        .get(&format!("{}/portal/contoso/overview?range=1h", srv.url))
        .await;
    assert_eq!(o.status, 200, "{}", o.body);
    assert!(
        o.body.contains("<svg") && !o.body.contains("style="),
        "{}",
        o.body
    );
    assert!(
        o.body.contains("code=PV4001\">PV4001</a>") && o.body.contains(">Block the SPA</a>"),
        "{}",
        o.body
    );
    assert!(
        o.body.contains("1 failure"),
        "the block policy failed once: {}",
        o.body
    );
    let home = b.get(&format!("{}/portal/contoso/", srv.url)).await;
    assert_eq!(home.location.as_deref(), Some("/portal/contoso/overview"));
}

#[tokio::test]
async fn what_if_replay_and_the_policy_editor_work_through_the_admin_apis_rules() {
    let srv = start();
    let mut b = Browser::new();
    portal_sign_in(&srv, &mut b, "contoso", USER, PASSWORD).await;
    // What-If: the SPA is blocked for Kim, the portal is not.
    let w = b
        .get(&format!(
            "{}/portal/contoso/whatif?user={}&app=spa",
            srv.url,
            urlencode(KIM)
        ))
        .await;
    assert_eq!(w.status, 200, "{}", w.body);
    assert!(
        w.body.contains("decision-blocked") && w.body.contains("Block the SPA"),
        "{}",
        w.body
    );
    let w = b
        .get(&format!(
            "{}/portal/contoso/whatif?user={}&app=webapp",
            srv.url,
            urlencode(KIM)
        ))
        .await;
    assert!(w.body.contains("decision-allowed"), "{}", w.body);
    let w = b
        .get(&format!(
            "{}/portal/contoso/whatif?user=nobody%40contoso.example&app=spa",
            srv.url
        ))
        .await;
    assert!(
        w.body.contains("role=\"alert\"") && w.body.contains("$.signInIdentity.userId"),
        "errors name the path: {}",
        w.body
    );

    // Kim signs in to the portal app's neighbour, webapp: a success the replay can see.
    let mut kim = Browser::new();
    let (_, challenge) = pkce();
    let start = kim
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
    let done = post_login(&mut kim, &start, KIM, "kim's long password").await;
    assert_eq!(done.status, 303, "{}", done.body);
    for _ in 0..100 {
        let l = b
            .get(&format!(
                "{}/portal/contoso/signins?app=webapp&user={}",
                srv.url,
                urlencode(KIM)
            ))
            .await;
        if l.body.contains("badge success") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // The editor: a draft with a broken reference is refused with its path, nothing stored.
    let page = b
        .get(&format!("{}/portal/contoso/policies/new", srv.url))
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    let csrf = page.hidden("csrf").expect("csrf");
    let draft = json!({"displayName": "Block the portal", "state": "enabled",
        "conditions": {"users": {"includeUsers": ["All"], "excludeUsers": [USER]}, "applications": {"includeApplications": ["webapp"]}, "clientAppTypes": ["all"]},
        "grantControls": {"operator": "OR", "builtInControls": ["block"]}});
    let mut bad = draft.clone();
    bad["conditions"]["users"]["includeGroups"] = json!(["No such group"]);
    let p = b
        .post(
            &format!("{}/portal/contoso/policies/new", srv.url),
            &[("csrf", &csrf), ("json", &bad.to_string())],
        )
        .await;
    assert_eq!(p.status, 400, "{}", p.body);
    assert!(
        p.body.contains("$.conditions.users.includeGroups"),
        "{}",
        p.body
    );
    // Replay the draft first: it would have blocked Kim (not the excluded admin).
    let r = b
        .post(
            &format!("{}/portal/contoso/replay", srv.url),
            &[
                ("csrf", &csrf),
                ("draft", &draft.to_string()),
                ("since", "1d"),
                ("state", "enabled"),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let blocked = r.body.split("Newly asked for MFA").next().expect("section");
    assert!(
        blocked.contains("Newly blocked: 1 sign-ins, 1 users")
            && blocked.contains("<span class=\"chip\">kim@contoso.example</span>"),
        "{}",
        r.body
    );
    assert!(
        !blocked.contains("<span class=\"chip\">admin@contoso.example</span>"),
        "{}",
        r.body
    );
    let r = b
        .post(
            &format!("{}/portal/contoso/replay", srv.url),
            &[("draft", &draft.to_string())],
        )
        .await;
    assert_eq!(r.status, 403, "replay posts need the token too");
    // Save it, then edit it: report-only through the JSON, the name through the form.
    let p = b
        .post(
            &format!("{}/portal/contoso/policies/new", srv.url),
            &[("csrf", &csrf), ("json", &draft.to_string())],
        )
        .await;
    assert_eq!(p.status, 303, "{}", p.body);
    let list = b.get(&format!("{}/portal/contoso/policies", srv.url)).await;
    let i = list.body.find(">Block the portal</a>").expect("listed");
    let href = &list.body[list.body[..i].rfind("href=\"").expect("href") + 6..i - 1];
    let mut edited = draft.clone();
    edited["state"] = json!("enabledForReportingButNotEnforced");
    let p = b
        .post(
            &format!("{}{href}", srv.url),
            &[
                ("csrf", &csrf),
                ("displayName", "Block the portal (draft)"),
                ("json", &edited.to_string()),
            ],
        )
        .await;
    assert_eq!(p.status, 303, "{}", p.body);
    let export = b
        .get(&format!("{}/portal/contoso/policies.json", srv.url))
        .await;
    let v: Value = serde_json::from_str(&export.body).expect("json");
    let saved = v["policies"]
        .as_array()
        .expect("policies")
        .iter()
        .find(|p| p["displayName"] == "Block the portal (draft)")
        .cloned()
        .expect("renamed");
    assert_eq!(saved["state"], "enabledForReportingButNotEnforced");
    assert_eq!(saved["conditions"]["users"]["excludeUsers"], json!([USER]));
}

#[tokio::test]
async fn the_directory_pages_change_users_groups_apps_and_keys_through_the_admin_api() {
    let srv = start();
    let mut b = Browser::new();
    portal_sign_in(&srv, &mut b, "contoso", USER, PASSWORD).await;
    let users = b.get(&format!("{}/portal/contoso/users", srv.url)).await;
    assert_eq!(users.status, 200, "{}", users.body);
    let csrf = users.hidden("csrf").expect("csrf");
    let url = |p: &str| format!("{}/portal/contoso/{p}", srv.url);
    // Create, search, disable, enable, set roles.
    let p = b
        .post(
            &url("users"),
            &[
                ("csrf", &csrf),
                ("upn", "new@contoso.example"),
                ("displayName", "New"),
                ("password", "a long initial password"),
            ],
        )
        .await;
    assert_eq!(p.status, 303, "{}", p.body);
    let found = b.get(&url("users?q=new%40")).await;
    assert!(
        found.body.contains("new@contoso.example") && !found.body.contains(KIM),
        "{}",
        found.body
    );
    let dup = b
        .post(
            &url("users"),
            &[
                ("csrf", &csrf),
                ("upn", "new@contoso.example"),
                ("password", "a long initial password"),
            ],
        )
        .await;
    assert_eq!(dup.status, 400);
    assert!(dup.body.contains("PV1405"), "{}", dup.body);
    for action in [
        vec![("action", "disable")],
        vec![("action", "enable")],
        vec![("action", "roles"), ("roles", "admin")],
        vec![("action", "revoke")],
    ] {
        let mut form = vec![("csrf", csrf.as_str())];
        form.extend(action.iter().copied());
        let p = b.post(&url("users/new@contoso.example"), &form).await;
        assert_eq!(p.status, 303, "{action:?}: {}", p.body);
    }
    let p = b
        .post(&url("users/new@contoso.example"), &[("action", "disable")])
        .await;
    assert_eq!(p.status, 403, "no token, no change");
    let admin = srv.admin_token().await;
    let list: Value = srv
        .http
        .get(format!("{}/admin/v1/tenants/contoso/users", srv.url))
        .bearer_auth(&admin)
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    let new = list["value"]
        .as_array()
        .expect("users")
        .iter()
        .find(|u| u["userPrincipalName"] == "new@contoso.example")
        .cloned()
        .expect("created");
    assert_eq!(
        (new["accountEnabled"].as_bool(), new["roles"].clone()),
        (Some(true), json!(["admin"])),
        "{new}"
    );
    // Reset Kim's password: a generated one, shown once, works; the old one does not,
    // and the audit log names the change without the password.
    let p = b
        .post(
            &url(&format!("users/{KIM}")),
            &[("csrf", &csrf), ("action", "reset-password")],
        )
        .await;
    assert_eq!(p.status, 200, "{}", p.body);
    let i = p
        .body
        .find("class=\"secret-value\">")
        .expect("the password is shown")
        + "class=\"secret-value\">".len();
    let generated = p.body[i..i + p.body[i..].find('<').expect("end")].to_string();
    assert!(generated.len() >= 16, "{generated}");
    let sign_in = |password: String| {
        let srv = &srv;
        async move {
            let mut kim = Browser::new();
            let (_, challenge) = pkce();
            let start = kim
                .get(&authorize_url(
                    srv,
                    &[
                        ("client_id", "webapp"),
                        ("response_type", "code"),
                        ("scope", "openid"),
                        ("code_challenge", &challenge),
                        ("code_challenge_method", "S256"),
                    ],
                ))
                .await;
            post_login(&mut kim, &start, KIM, &password).await.status
        }
    };
    assert_eq!(
        sign_in("kim's long password".into()).await,
        401,
        "the old password is gone"
    );
    assert_eq!(
        sign_in(generated.clone()).await,
        303,
        "the generated one works"
    );
    assert!(
        !b.get(&url("users")).await.body.contains(&generated),
        "shown once only"
    );
    let short = b
        .post(
            &url(&format!("users/{KIM}")),
            &[
                ("csrf", &csrf),
                ("action", "reset-password"),
                ("password", "short"),
            ],
        )
        .await;
    assert_eq!(short.status, 400);
    assert!(
        short.body.contains("at least 8 characters"),
        "{}",
        short.body
    );
    // A group, an application whose secret is shown once, consent, a resource, a rotation.
    assert_eq!(
        b.post(
            &url("groups"),
            &[("csrf", &csrf), ("displayName", "Auditors")]
        )
        .await
        .status,
        303
    );
    let groups = b.get(&url("groups")).await;
    assert!(groups.body.contains("Auditors"));
    // Members: the group's add form lists the users who are not in it.
    let gid = {
        let i = groups
            .body
            .find("<strong>Auditors</strong>")
            .expect("the group");
        let rest = &groups.body[i..];
        let j = rest.find("<code class=\"meta\">").expect("its id") + "<code class=\"meta\">".len();
        rest[j..rest[j..].find('<').expect("end") + j].to_string()
    };
    let members = format!("groups/{gid}/members");
    let add = b
        .post(
            &url(&members),
            &[
                ("csrf", &csrf),
                ("action", "add"),
                ("upn", "new@contoso.example"),
            ],
        )
        .await;
    assert_eq!(add.status, 303, "{}", add.body);
    let after = b.get(&url("groups")).await;
    assert!(
        after
            .body
            .contains("<span class=\"chip\">new@contoso.example</span>"),
        "the member is listed: {}",
        after.body
    );
    let forged = b
        .post(
            &url(&members),
            &[
                ("csrf", "forged"),
                ("action", "remove"),
                ("upn", "new@contoso.example"),
            ],
        )
        .await;
    assert_eq!(forged.status, 403);
    let removed = b
        .post(
            &url(&members),
            &[
                ("csrf", &csrf),
                ("action", "remove"),
                ("upn", "new@contoso.example"),
            ],
        )
        .await;
    assert_eq!(removed.status, 303, "{}", removed.body);
    assert!(!b
        .get(&url("groups"))
        .await
        .body
        .contains("<span class=\"chip\">new@contoso.example</span>"));
    let created = b
        .post(
            &url("apps"),
            &[
                ("csrf", &csrf),
                ("displayName", "Payroll"),
                ("clientId", "payroll"),
                ("confidential", "on"),
                ("grant_client_credentials", "on"),
                ("allowedScopes", "api://analytics/.default"),
            ],
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let i = created
        .body
        .find("class=\"secret-value\">")
        .expect("the secret is shown")
        + "class=\"secret-value\">".len();
    let secret = &created.body[i..i + created.body[i..].find('<').expect("end")];
    assert!(secret.len() >= 32, "{secret}");
    let token = srv
        .token_raw(
            "contoso",
            Some(("payroll", secret)),
            &[
                ("grant_type", "client_credentials"),
                ("scope", "api://analytics/.default"),
            ],
        )
        .await;
    assert_eq!(token.status(), 200, "the shown secret works");
    assert!(
        !b.get(&url("apps")).await.body.contains(secret),
        "shown once only"
    );
    assert_eq!(
        b.post(
            &url("apps/payroll/consent"),
            &[("csrf", &csrf), ("on", "1")]
        )
        .await
        .status,
        303
    );
    assert_eq!(
        b.post(
            &url("resources"),
            &[
                ("csrf", &csrf),
                ("identifier", "api://payroll"),
                ("scopes", "Read Write")
            ]
        )
        .await
        .status,
        303
    );
    assert!(b.get(&url("apps")).await.body.contains("api://payroll"));
    let before = b
        .get(&url("keys"))
        .await
        .body
        .matches("<tr><td><code>")
        .count();
    assert_eq!(
        b.post(&url("keys/rotate"), &[("csrf", &csrf)]).await.status,
        303
    );
    let after = b
        .get(&url("keys"))
        .await
        .body
        .matches("<tr><td><code>")
        .count();
    assert!(after > before, "{before} → {after}");
    // Every change is in the audit log under the admin's name.
    let audit: Value = srv
        .http
        .get(format!(
            "{}/admin/v1/tenants/contoso/auditLogs/directoryAudits?$top=100",
            srv.url
        ))
        .bearer_auth(&admin)
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    let by_portal: Vec<&str> = audit["value"]
        .as_array()
        .expect("v")
        .iter()
        .filter(|r| r["initiatedBy"]["user"]["userPrincipalName"] == USER)
        .map(|r| r["activityDisplayName"].as_str().expect("name"))
        .collect();
    assert!(
        !audit.to_string().contains(&generated),
        "no password in the audit log"
    );
    for a in [
        "Add user",
        "Disable account",
        "Enable account",
        "Update user",
        "Revoke user sessions",
        "Reset password (by admin)",
        "Add group",
        "Add application",
        "Consent to application",
        "Add resource",
        "Rotate signing keys",
    ] {
        assert!(by_portal.contains(&a), "{a} in {by_portal:?}");
    }
    // A correlation id leads to its record in its tenant's portal.
    let res = srv
        .token_raw(
            "contoso",
            Some(("payroll", "wrong-secret")),
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
    let mut to = None;
    for _ in 0..100 {
        let p = b
            .get(&format!("{}/portal/signins?correlationId={cid}", srv.url))
            .await;
        if p.status == 303 {
            to = p.location;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(to, Some(format!("/portal/contoso/signins/{cid}")));
    let p = b
        .get(&format!(
            "{}/portal/signins?correlationId=00000000-0000-0000-0000-000000000000",
            srv.url
        ))
        .await;
    assert_eq!(p.status, 404);
}
