//! Black-box: the import contract, the admin API's protection, the CLI, OpenAPI.

mod common;
use common::*;
use serde_json::{json, Value};

#[tokio::test]
async fn reimport_is_idempotent() {
    let srv = Server::start();
    let before_token = srv.token("contoso", "api://analytics/.default").await;
    let f = srv.dir.join("import.json");
    let (c1, out1, e1) = srv.cli(&["import", f.to_str().expect("utf8"), "--json"]);
    assert_eq!(c1, 0, "{e1}");
    let s1: Value = serde_json::from_str(&out1).expect("json");
    assert_eq!(
        s1["tenantsCreated"], 0,
        "serve --import already created them"
    );
    assert_eq!(s1["tenantsUpdated"], 3);
    assert_eq!(s1["usersCreated"], 0);
    assert_eq!(s1["groupsCreated"], 0);
    let (_, users1, _) = srv.cli(&["user", "list", "--tenant", "contoso", "--json"]);
    let (_, keys1, _) = srv.cli(&["keys", "list", "--tenant", "contoso", "--json"]);
    let (c2, out2, _) = srv.cli(&["import", f.to_str().expect("utf8"), "--json"]);
    assert_eq!(c2, 0);
    assert_eq!(out1, out2, "the same file twice reports the same upsert");
    let (_, users2, _) = srv.cli(&["user", "list", "--tenant", "contoso", "--json"]);
    let (_, keys2, _) = srv.cli(&["keys", "list", "--tenant", "contoso", "--json"]);
    assert_eq!(users1, users2, "ids, groups and flags unchanged");
    assert_eq!(keys1, keys2, "no key churn on re-import");
    // Secrets and tokens still work.
    let after = srv.token("contoso", "api://analytics/.default").await;
    assert_eq!(
        decode(after["access_token"].as_str().expect("t")).0["kid"],
        decode(before_token["access_token"].as_str().expect("t")).0["kid"]
    );
}

#[tokio::test]
async fn an_invalid_import_changes_nothing_and_names_the_path() {
    let srv = Server::start();
    let (_, tenants_before, _) = srv.cli(&["tenant", "list", "--json"]);
    let bad_files = [
        (
            json!({"tenants": [{"name": "newco"}, {"name": "admin"}]}),
            "$.tenants[1].name",
        ),
        (
            json!({"tenants": [{"name": "newco", "users": [{"userPrincipalName": "a@b", "colour": "red"}]}]}),
            "$.tenants[0].users[0]",
        ),
        (
            json!({"tenants": [{"name": "newco", "applications": [{"clientId": "x", "clientSecret": "short"}]}]}),
            "$.tenants[0].applications[0].clientSecret",
        ),
        (
            json!({"tenants": [{"name": "newco", "resources": [{"identifier": "api://x", "accessTokenLifetimeSeconds": 0}]}]}),
            "$.tenants[0].resources[0].accessTokenLifetimeSeconds",
        ),
        (json!({"tenant": []}), "tenant"),
    ];
    for (file, path) in bad_files {
        let f = srv.dir.join("bad.json");
        std::fs::write(&f, serde_json::to_vec(&file).expect("json")).expect("write");
        let (code, _, err) = srv.cli(&["import", f.to_str().expect("utf8")]);
        assert_eq!(code, 4, "refused by the API: {err}");
        assert!(
            err.contains("PV1406") && err.contains(path),
            "{path}: {err}"
        );
        assert!(err.contains("nothing was changed"), "{err}");
    }
    // The first file held a valid tenant beside an invalid one: neither exists.
    let (_, tenants_after, _) = srv.cli(&["tenant", "list", "--json"]);
    assert_eq!(tenants_before, tenants_after);
    let (s, _) = srv
        .get_json("/newco/.well-known/openid-configuration")
        .await;
    assert_eq!(s, 404);
}

#[tokio::test]
async fn serve_refuses_an_invalid_import_file_at_start() {
    let dir = temp_dir("badimport");
    let f = dir.join("bad.json");
    std::fs::write(&f, r#"{"tenants": [{"name": "ok"}, {"name": "Bad Name"}]}"#).expect("write");
    let err = Server::start_in(&dir, &["--import", f.to_str().expect("utf8")])
        .err()
        .expect("must not start");
    assert!(
        err.contains("$.tenants[1].name") && err.contains("nothing was imported"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn the_admin_api_refuses_missing_wrong_and_foreign_tokens() {
    let srv = Server::start();
    let url = format!("{}/admin/v1/tenants", srv.url);
    // No token: 401 without an error attribute (RFC 6750 §3.1).
    let res = srv.http.get(&url).send().await.expect("send");
    assert_eq!(res.status(), 401);
    assert_eq!(
        res.headers()["www-authenticate"],
        "Bearer realm=\"portvakt-admin\""
    );
    let body: Value = res.json().await.expect("json");
    assert_eq!(body["error_code"], "PV1401");
    // Garbage and tampered tokens.
    let admin = srv.admin_token().await;
    let parts: Vec<&str> = admin.split('.').collect();
    let mut claims: Value =
        serde_json::from_slice(&portvakt_jose::b64url_decode(parts[1]).expect("b64"))
            .expect("json");
    claims["scope"] = json!("admin");
    claims["client_id"] = json!("mallory");
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        portvakt_jose::b64url_encode(&serde_json::to_vec(&claims).expect("json")),
        parts[2]
    );
    let none_alg = format!(
        "{}.{}.",
        portvakt_jose::b64url_encode(br#"{"alg":"none","typ":"at+jwt"}"#),
        parts[1]
    );
    // A valid token from another tenant, for another audience.
    let foreign = srv.token("contoso", "api://analytics/.default").await["access_token"]
        .as_str()
        .expect("t")
        .to_string();
    for (what, token, mentions) in [
        ("garbage", "not-a-token".to_string(), "segments"),
        ("tampered", tampered, "signature"),
        ("alg none", none_alg, "none"),
        ("foreign", foreign, "kid"),
    ] {
        let res = srv
            .http
            .get(&url)
            .bearer_auth(&token)
            .send()
            .await
            .expect("send");
        assert_eq!(res.status(), 401, "{what}");
        let challenge = res.headers()["www-authenticate"]
            .to_str()
            .expect("ascii")
            .to_string();
        assert!(
            challenge.contains("error=\"invalid_token\""),
            "{what}: {challenge}"
        );
        let body: Value = res.json().await.expect("json");
        assert_eq!(body["error_code"], "PV1402", "{what}");
        assert!(
            body["error_description"]
                .as_str()
                .expect("d")
                .contains(mentions),
            "{what}: {body}"
        );
    }
    // The real one works.
    let res = srv
        .http
        .get(&url)
        .bearer_auth(&admin)
        .send()
        .await
        .expect("send");
    assert_eq!(res.status(), 200);
    // And the CLI with a wrong secret says why, with a non-zero exit.
    let cred = srv.data().join("admin.json");
    let mut doc: Value =
        serde_json::from_str(&std::fs::read_to_string(&cred).expect("read")).expect("json");
    doc["clientSecret"] = json!("wrong-secret-wrong-secret-wrong");
    std::fs::write(&cred, serde_json::to_vec(&doc).expect("json")).expect("write");
    let (code, _, err) = srv.cli(&["tenant", "list"]);
    assert_eq!(code, 4);
    assert!(err.contains("PV1103"), "{err}");
}

#[tokio::test]
async fn cli_manages_tenants_users_groups_apps_and_resources() {
    let srv = Server::start();
    let (code, out, err) = srv.cli(&["tenant", "list"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("contoso") && out.contains(&srv.issuer("contoso")),
        "{out}"
    );

    let (code, out, err) = srv.cli(&[
        "tenant",
        "create",
        "woodgrove",
        "--algorithm",
        "EdDSA",
        "--lifetime",
        "900",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("woodgrove"), "{out}");
    let (s, d) = srv
        .get_json("/woodgrove/.well-known/openid-configuration")
        .await;
    assert_eq!(
        (s, d["issuer"].as_str()),
        (200, Some(srv.issuer("woodgrove").as_str()))
    );
    let (code, _, err) = srv.cli(&["tenant", "create", "woodgrove"]);
    assert_eq!(code, 4);
    assert!(err.contains("PV1405"), "{err}");
    let (code, _, err) = srv.cli(&["tenant", "create", "metrics"]);
    assert_eq!(code, 4);
    assert!(err.contains("PV1302") && err.contains("reserved"), "{err}");

    let (code, _, err) = srv.cli(&[
        "resource",
        "create",
        "--tenant",
        "woodgrove",
        "api://payroll",
        "--scope",
        "Payroll.Read",
    ]);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = srv.cli(&[
        "app",
        "create",
        "--tenant",
        "woodgrove",
        "Payroll sync",
        "--client-id",
        "payroll-sync",
        "--grant-type",
        "client_credentials",
        "--scope",
        "api://payroll/.default",
        "--json",
    ]);
    assert_eq!(code, 0, "{err}");
    let created: Value = serde_json::from_str(&out).expect("json");
    let secret = created["clientSecret"].as_str().expect("secret shown once");
    let res = srv
        .token_raw(
            "woodgrove",
            Some(("payroll-sync", secret)),
            &[
                ("grant_type", "client_credentials"),
                ("scope", "api://payroll/.default"),
            ],
        )
        .await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.expect("json");
    assert_eq!(body["expires_in"], 900, "the tenant lifetime applies");
    assert_eq!(
        decode(body["access_token"].as_str().expect("t")).0["alg"],
        "EdDSA"
    );
    let (code, out, _) = srv.cli(&["app", "list", "--tenant", "woodgrove"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("payroll-sync") && out.contains("confidential") && !out.contains(secret),
        "{out}"
    );
    let (code, _, err) = srv.cli(&[
        "app",
        "create",
        "--tenant",
        "woodgrove",
        "Bad",
        "--scope",
        "api://nope/.default",
    ]);
    assert_eq!(code, 4);
    assert!(err.contains("$.allowedScopes[0]"), "{err}");

    let (code, out, err) = srv.cli_stdin(
        &[
            "user",
            "create",
            "--tenant",
            "woodgrove",
            "kim@woodgrove.example",
            "--display-name",
            "Kim",
            "--password-stdin",
        ],
        "a long enough password\n",
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("kim@woodgrove.example"), "{out}");
    let (code, out, _) = srv.cli(&[
        "user",
        "disable",
        "--tenant",
        "woodgrove",
        "KIM@woodgrove.example",
    ]);
    assert_eq!(code, 0);
    assert!(out.contains("disabled"), "{out}");
    let (_, out, _) = srv.cli(&["user", "list", "--tenant", "woodgrove", "--json"]);
    let users: Value = serde_json::from_str(&out).expect("json");
    assert_eq!(users["value"][0]["accountEnabled"], false);
    assert!(
        users["value"][0].get("passwordHash").is_none() && !out.contains("argon2"),
        "no hash leaves the server"
    );
    let (code, _, err) = srv.cli(&["user", "disable", "--tenant", "woodgrove", "nobody@x"]);
    assert_eq!(code, 4);
    assert!(err.contains("PV1404"), "{err}");

    let (code, _, _) = srv.cli(&["group", "create", "--tenant", "woodgrove", "Payroll Admins"]);
    assert_eq!(code, 0);
    let (_, out, _) = srv.cli(&["group", "list", "--tenant", "contoso"]);
    assert!(out.contains("Analytics Admins"), "{out}");
    let (_, out, _) = srv.cli(&["group", "list", "--tenant", "woodgrove"]);
    assert!(out.contains("Payroll Admins"), "{out}");
    let (code, out, err) = srv.cli(&[
        "group",
        "add-member",
        "--tenant",
        "woodgrove",
        "payroll admins",
        "kim@woodgrove.example",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("is a member of"), "{out}");
    let (_, out, _) = srv.cli(&["user", "list", "--tenant", "woodgrove", "--json"]);
    assert!(out.contains("Payroll Admins"), "the user's groups: {out}");
    let (code, _, err) = srv.cli(&[
        "group",
        "remove-member",
        "--tenant",
        "woodgrove",
        "Payroll Admins",
        "kim@woodgrove.example",
    ]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = srv.cli(&[
        "group",
        "add-member",
        "--tenant",
        "woodgrove",
        "Nope",
        "kim@woodgrove.example",
    ]);
    assert_ne!(code, 0);
    assert!(err.contains("no group 'Nope'"), "{err}");
    let (code, _, err) = srv.cli(&["user", "list", "--tenant", "nope"]);
    assert_eq!(code, 4);
    assert!(err.contains("PV1301"), "{err}");
}

#[tokio::test]
async fn cli_finds_the_server_from_environment_variables() {
    let srv = Server::start();
    let cred: Value = serde_json::from_str(
        &std::fs::read_to_string(srv.data().join("admin.json")).expect("read"),
    )
    .expect("json");
    let out = std::process::Command::new(BIN)
        .args(["tenant", "list", "--data", "/nonexistent"])
        .env("PORTVAKT_URL", cred["url"].as_str().expect("url"))
        .env("PORTVAKT_CLIENT_ID", cred["clientId"].as_str().expect("id"))
        .env(
            "PORTVAKT_CLIENT_SECRET",
            cred["clientSecret"].as_str().expect("secret"),
        )
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("contoso"));
    // Without a credential the CLI says where it looked.
    let out = std::process::Command::new(BIN)
        .args(["tenant", "list", "--data", "/nonexistent"])
        .env_remove("PORTVAKT_URL")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/admin.json"));
}

#[tokio::test]
async fn a_lost_admin_credential_is_replaced_on_restart() {
    let mut srv = Server::start();
    assert!(srv.terminate().success());
    std::fs::remove_file(srv.data().join("admin.json")).expect("rm");
    let again = Server::start_in(&srv.dir, &[]).expect("restart");
    let (code, out, err) = again.cli(&["tenant", "list"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("contoso"));
}

#[tokio::test]
async fn openapi_describes_the_admin_api() {
    let srv = Server::start();
    let (s, doc) = srv.get_json("/admin/v1/openapi.json").await;
    assert_eq!(s, 200);
    assert!(doc["openapi"].as_str().expect("version").starts_with("3."));
    let paths = doc["paths"].as_object().expect("paths");
    for p in [
        "/admin/v1/tenants",
        "/admin/v1/tenants/{tenant}/users",
        "/admin/v1/tenants/{tenant}/applications",
        "/admin/v1/tenants/{tenant}/keys/rotate",
        "/admin/v1/import",
    ] {
        assert!(paths.contains_key(p), "{p} missing");
    }
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
}

#[tokio::test]
async fn admin_json_bodies_are_checked() {
    let srv = Server::start();
    let admin = srv.admin_token().await;
    let url = format!("{}/admin/v1/tenants", srv.url);
    let res = srv
        .http
        .post(&url)
        .bearer_auth(&admin)
        .header("content-type", "application/json")
        .body("{\"name\": 5}")
        .send()
        .await
        .expect("send");
    assert_eq!(res.status(), 400);
    let v: Value = res.json().await.expect("json");
    assert_eq!(v["error_code"], "PV1010");
    assert!(
        v["error_description"]
            .as_str()
            .expect("d")
            .contains("$.name"),
        "{v}"
    );
    let res = srv
        .http
        .post(&url)
        .bearer_auth(&admin)
        .header("content-type", "text/plain")
        .body("x")
        .send()
        .await
        .expect("send");
    assert_eq!(res.status(), 400);
    let v: Value = res.json().await.expect("json");
    assert_eq!(v["error_code"], "PV1002");
    let big = format!("{{\"name\": \"{}\"}}", "a".repeat(100_000));
    let res = srv
        .http
        .post(&url)
        .bearer_auth(&admin)
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .expect("send");
    assert_eq!(res.status(), 413);
}

#[tokio::test]
async fn global_flags_work_before_and_after_the_subcommand() {
    let srv = Server::start();
    let data = srv.data();
    let data = data.to_str().expect("utf8");
    let run = |args: &[&str]| {
        let out = std::process::Command::new(BIN)
            .args(args)
            .env_remove("PORTVAKT_URL")
            .env_remove("PORTVAKT_DATA")
            .output()
            .expect("cli");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    // Where git, kubectl and cargo users put them: before the subcommand.
    for args in [
        vec![
            "--data", data, "--json", "user", "list", "--tenant", "contoso",
        ],
        vec![
            "--data", data, "user", "--json", "list", "--tenant", "contoso",
        ],
        vec![
            "user", "list", "--tenant", "contoso", "--data", data, "--json",
        ],
        vec![
            "--json", "user", "list", "--data", data, "--tenant", "contoso",
        ],
    ] {
        let (c, out, err) = run(&args);
        assert_eq!(c, 0, "{args:?}: {err}");
        let v: Value =
            serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: {e}: {out}"));
        assert!(
            v["value"].as_array().is_some_and(|a| a
                .iter()
                .any(|u| u["userPrincipalName"] == "admin@contoso.example")),
            "{args:?}: {v}"
        );
    }
    // Without --json: text.
    let (c, out, err) = run(&["--data", data, "user", "list", "--tenant", "contoso"]);
    assert_eq!(c, 0, "{err}");
    assert!(
        out.starts_with("UPN") || out.contains("admin@contoso.example"),
        "{out}"
    );
    assert!(
        serde_json::from_str::<Value>(&out).is_err(),
        "text, not JSON: {out}"
    );
}

#[tokio::test]
async fn group_members_are_added_and_removed_in_graphs_shape_and_audited() {
    let srv = Server::start();
    let admin = srv.admin_token().await;
    let base = format!("{}/admin/v1/tenants/contoso", srv.url);
    let call = |method: reqwest::Method, url: String, body: Option<Value>| {
        let mut req = srv.http.request(method, url).bearer_auth(&admin);
        if let Some(b) = body {
            req = req.json(&b);
        }
        async move {
            let res = req.send().await.expect("send");
            let status = res.status().as_u16();
            let v: Value = res.json().await.unwrap_or(Value::Null);
            (status, v)
        }
    };
    let (s, g) = call(
        reqwest::Method::POST,
        format!("{base}/groups"),
        Some(serde_json::json!({"displayName": "Onboarding admins"})),
    )
    .await;
    assert_eq!(s, 201, "{g}");
    let gid = g["id"].as_str().expect("id").to_string();
    let (_, users) = call(reqwest::Method::GET, format!("{base}/users"), None).await;
    let user = users["value"]
        .as_array()
        .expect("users")
        .iter()
        .find(|u| u["userPrincipalName"] == "admin@contoso.example")
        .cloned()
        .expect("the admin user");
    let uid = user["id"].as_str().expect("id").to_string();
    let groups_of = |v: &Value| -> Vec<String> {
        v["value"]
            .as_array()
            .expect("users")
            .iter()
            .find(|u| u["id"] == uid.as_str())
            .map(|u| {
                u["groups"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|x| x.as_str().map(String::from))
                            .collect()
                    })
                    .unwrap_or_default()
            })
            .unwrap_or_default()
    };

    // Graph's reference form: the last segment of @odata.id is the user's id.
    let (s, v) = call(
        reqwest::Method::POST,
        format!("{base}/groups/{gid}/members/$ref"),
        Some(serde_json::json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{uid}")})),
    )
    .await;
    assert_eq!(s, 204, "{v}");
    let (_, users) = call(reqwest::Method::GET, format!("{base}/users"), None).await;
    assert!(
        groups_of(&users).contains(&"Onboarding admins".to_string()),
        "{users}"
    );
    // Adding again changes nothing and is not an error.
    let (s, _) = call(
        reqwest::Method::POST,
        format!("{base}/groups/{gid}/members/$ref"),
        Some(serde_json::json!({"userPrincipalName": "ADMIN@contoso.example"})),
    )
    .await;
    assert_eq!(s, 204);
    // Removed by user principal name.
    let (s, _) = call(
        reqwest::Method::DELETE,
        format!("{base}/groups/{gid}/members/admin@contoso.example/$ref"),
        None,
    )
    .await;
    assert_eq!(s, 204);
    let (_, users) = call(reqwest::Method::GET, format!("{base}/users"), None).await;
    assert!(
        !groups_of(&users).contains(&"Onboarding admins".to_string()),
        "{users}"
    );

    // Errors name what is wrong.
    let (s, v) = call(
        reqwest::Method::POST,
        format!("{base}/groups/nope/members/$ref"),
        Some(serde_json::json!({"userPrincipalName": "admin@contoso.example"})),
    )
    .await;
    assert_eq!((s, v["error_code"].as_str()), (404, Some("PV1404")), "{v}");
    assert!(
        v["error_description"]
            .as_str()
            .unwrap_or("")
            .contains("group 'nope'"),
        "{v}"
    );
    let (s, v) = call(
        reqwest::Method::POST,
        format!("{base}/groups/{gid}/members/$ref"),
        Some(serde_json::json!({"userPrincipalName": "nobody@contoso.example"})),
    )
    .await;
    assert_eq!(s, 404, "{v}");
    assert!(
        v["error_description"]
            .as_str()
            .unwrap_or("")
            .contains("nobody@contoso.example"),
        "{v}"
    );
    let (s, v) = call(
        reqwest::Method::POST,
        format!("{base}/groups/{gid}/members/$ref"),
        Some(serde_json::json!({})),
    )
    .await;
    assert_eq!(s, 400, "{v}");
    // A user of another tenant is not found here.
    let (s, _) = call(
        reqwest::Method::DELETE,
        format!(
            "{}/admin/v1/tenants/fabrikam/groups/{gid}/members/{uid}/$ref",
            srv.url
        ),
        None,
    )
    .await;
    assert_eq!(s, 404);

    // Each change is one audit record naming the group and the user.
    let (_, audit) = call(
        reqwest::Method::GET,
        format!("{base}/auditLogs/directoryAudits"),
        None,
    )
    .await;
    let records = audit["value"].as_array().expect("audits");
    let added: Vec<&Value> = records
        .iter()
        .filter(|r| r["activityDisplayName"] == "Add member to group" && r["result"] == "success")
        .collect();
    assert_eq!(added.len(), 2, "{audit}");
    let t = &added[0]["targetResources"];
    assert_eq!(t[0]["id"], gid.as_str());
    assert_eq!(t[0]["displayName"], "Onboarding admins");
    assert_eq!(
        t[1]["userPrincipalName"]
            .as_str()
            .or(t[1]["displayName"].as_str()),
        Some("admin@contoso.example"),
        "{t}"
    );
    assert!(
        records
            .iter()
            .any(|r| r["activityDisplayName"] == "Remove member from group"
                && r["result"] == "success"),
        "{audit}"
    );
}
