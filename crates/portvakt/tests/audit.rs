//! Black-box: the audit log of admin changes (Graph `directoryAudit`) — every change
//! recorded once with its activity, category, target and initiator; old and new values
//! of a policy change; no secret anywhere; paging; failures; the CLI.

mod common;
use common::*;
use reqwest::Method;
use serde_json::{json, Value};

const CA: &str = "/admin/v1/tenants/contoso/identity/conditionalAccess";
const PASSWORD: &str = "audit-password-Xq7!kd93";
const IMPORTED_PASSWORD: &str = "imported-password-Zr4?pw18";
const IMPORTED_SECRET: &str = "imported-secret-0123456789abcdefXYZ";
const TOTP: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";

struct Api<'a> {
    srv: &'a Server,
    token: String,
}

impl<'a> Api<'a> {
    async fn new(srv: &'a Server) -> Self {
        Self {
            token: srv.admin_token().await,
            srv,
        }
    }

    /// One admin request under the correlation id `cid`: (status, body text).
    async fn raw(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        cid: &str,
    ) -> (u16, String) {
        let mut req = self
            .srv
            .http
            .request(method, format!("{}{path}", self.srv.url))
            .bearer_auth(&self.token)
            .header("x-correlation-id", cid);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.expect("send");
        let s = res.status().as_u16();
        (s, res.text().await.expect("body"))
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        cid: &str,
    ) -> (u16, Value) {
        let (s, text) = self.raw(method, path, body, cid).await;
        (s, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// A change that must succeed with `status`.
    async fn change(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        cid: &str,
        status: u16,
    ) -> Value {
        let (s, v) = self.call(method, path, body, cid).await;
        assert_eq!(s, status, "{cid}: {v}");
        v
    }

    /// The audit log of `tenant` with the query `q` (as the body text).
    async fn log_text(&self, tenant: &str, q: &str) -> String {
        let (s, text) = self
            .raw(
                Method::GET,
                &format!("/admin/v1/tenants/{tenant}/auditLogs/directoryAudits?{q}"),
                None,
                "reader",
            )
            .await;
        assert_eq!(s, 200, "{text}");
        text
    }

    async fn log(&self, tenant: &str, q: &str) -> Value {
        serde_json::from_str(&self.log_text(tenant, q).await).expect("json")
    }

    /// The records of one request.
    async fn records(&self, tenant: &str, cid: &str) -> Vec<Value> {
        self.log(tenant, &format!("correlationId={cid}")).await["value"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// The one record of one request.
    async fn one(&self, tenant: &str, cid: &str) -> Value {
        let r = self.records(tenant, cid).await;
        assert_eq!(r.len(), 1, "{cid}: exactly one record: {r:?}");
        r.into_iter().next().unwrap_or_default()
    }
}

fn admin_credential(srv: &Server) -> Value {
    serde_json::from_str(
        &std::fs::read_to_string(srv.data().join("admin.json")).expect("admin.json"),
    )
    .expect("json")
}

/// Check the common fields of a successful record and return its first target.
fn check(
    r: &Value,
    cid: &str,
    tenant: &str,
    activity: &str,
    category: &str,
    operation: &str,
    admin_id: &str,
) -> Value {
    assert_eq!(r["activityDisplayName"], activity, "{cid}: {r}");
    assert_eq!(r["category"], category, "{cid}: {r}");
    assert_eq!(r["operationType"], operation, "{cid}: {r}");
    assert_eq!(r["result"], "success", "{cid}: {r}");
    assert_eq!(r["resultReason"], "", "{cid}: {r}");
    assert_eq!(r["correlationId"], cid, "{cid}: {r}");
    assert_eq!(r["tenant"], tenant, "{cid}: {r}");
    assert_eq!(r["loggedByService"], "Portvakt", "{cid}: {r}");
    assert_eq!(r["initiatedBy"]["app"]["appId"], admin_id, "{cid}: {r}");
    assert_eq!(
        r["initiatedBy"]["app"]["displayName"], "Portvakt administration",
        "{cid}: {r}"
    );
    assert!(r["initiatedBy"].get("user").is_none(), "{cid}: {r}");
    let t = r["activityDateTime"].as_str().unwrap_or("");
    assert!(t.len() == 24 && t.ends_with('Z'), "RFC 3339 with ms: {t}");
    assert!(!r["id"].as_str().unwrap_or("").is_empty());
    r["targetResources"][0].clone()
}

/// The modified property `name` of a target: (oldValue, newValue) as JSON.
fn modified(t: &Value, name: &str) -> (Value, Value) {
    let p = t["modifiedProperties"]
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["displayName"] == name))
        .unwrap_or_else(|| panic!("no modified property {name}: {t}"));
    let parse = |k: &str| serde_json::from_str(p[k].as_str().unwrap_or("")).expect("JSON text");
    (parse("oldValue"), parse("newValue"))
}

fn property_names(t: &Value) -> Vec<String> {
    t["modifiedProperties"]
        .as_array()
        .map(|ps| {
            ps.iter()
                .map(|p| p["displayName"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn every_admin_change_is_recorded_once_with_its_activity_target_and_initiator() {
    let srv = Server::start();
    let api = Api::new(&srv).await;
    let cred = admin_credential(&srv);
    let admin_id = cred["clientId"].as_str().expect("id").to_string();
    let ok = |r: &Value, cid: &str, tenant: &str, a: &str, c: &str, o: &str| {
        check(r, cid, tenant, a, c, o, &admin_id)
    };
    let users = "/admin/v1/tenants/contoso/users";

    // Tenants: in the system tenant's log.
    let t = api
        .change(
            Method::POST,
            "/admin/v1/tenants",
            Some(json!({"name": "auditco", "signingAlgorithm": "EdDSA"})),
            "c-tenant",
            201,
        )
        .await;
    let r = api.one("system", "c-tenant").await;
    let target = ok(
        &r,
        "c-tenant",
        "system",
        "Add tenant",
        "DirectoryManagement",
        "Add",
    );
    assert_eq!(
        (&target["type"], &target["displayName"], &target["id"]),
        (&json!("Tenant"), &json!("auditco"), &t["id"])
    );
    assert_eq!(modified(&target, "signingAlgorithm").1, "EdDSA");
    assert!(
        api.records("contoso", "c-tenant").await.is_empty(),
        "not in another tenant's log"
    );

    // Users.
    let u = api.change(Method::POST, users, Some(json!({"userPrincipalName": "bob@contoso.example", "displayName": "Bob", "password": PASSWORD})), "c-user", 201).await;
    let target = ok(
        &api.one("contoso", "c-user").await,
        "c-user",
        "contoso",
        "Add user",
        "UserManagement",
        "Add",
    );
    assert_eq!(
        (&target["type"], &target["displayName"], &target["id"]),
        (&json!("User"), &json!("bob@contoso.example"), &u["id"])
    );
    assert_eq!(
        modified(&target, "displayName"),
        (Value::Null, json!("Bob"))
    );
    assert_eq!(modified(&target, "password").1, "[redacted]");

    let bob = format!("{users}/bob@contoso.example");
    api.change(
        Method::PATCH,
        &bob,
        Some(json!({"accountEnabled": false})),
        "c-disable",
        200,
    )
    .await;
    let target = ok(
        &api.one("contoso", "c-disable").await,
        "c-disable",
        "contoso",
        "Disable account",
        "UserManagement",
        "Update",
    );
    assert_eq!(target["id"], u["id"]);
    assert_eq!(
        modified(&target, "accountEnabled"),
        (json!(true), json!(false))
    );
    api.change(
        Method::PATCH,
        &bob,
        Some(json!({"accountEnabled": true})),
        "c-enable",
        200,
    )
    .await;
    let target = ok(
        &api.one("contoso", "c-enable").await,
        "c-enable",
        "contoso",
        "Enable account",
        "UserManagement",
        "Update",
    );
    assert_eq!(
        modified(&target, "accountEnabled"),
        (json!(false), json!(true))
    );
    api.change(
        Method::PATCH,
        &bob,
        Some(json!({"roles": ["admin"]})),
        "c-roles",
        200,
    )
    .await;
    let target = ok(
        &api.one("contoso", "c-roles").await,
        "c-roles",
        "contoso",
        "Update user",
        "UserManagement",
        "Update",
    );
    assert_eq!(modified(&target, "roles"), (json!([]), json!(["admin"])));
    // Both in one PATCH: one record each, as Graph logs them.
    api.change(
        Method::PATCH,
        &bob,
        Some(json!({"roles": [], "accountEnabled": false})),
        "c-both",
        200,
    )
    .await;
    let both = api.records("contoso", "c-both").await;
    let mut names: Vec<&str> = both
        .iter()
        .filter_map(|r| r["activityDisplayName"].as_str())
        .collect();
    names.sort();
    assert_eq!(names, ["Disable account", "Update user"]);

    api.change(
        Method::POST,
        &format!("{bob}/revoke-sessions"),
        None,
        "c-revoke",
        200,
    )
    .await;
    let target = ok(
        &api.one("contoso", "c-revoke").await,
        "c-revoke",
        "contoso",
        "Revoke user sessions",
        "Authentication",
        "Update",
    );
    assert_eq!((&target["type"], &target["id"]), (&json!("User"), &u["id"]));
    api.change(
        Method::POST,
        &format!("{bob}/reset-mfa"),
        None,
        "c-mfa",
        200,
    )
    .await;
    let target = ok(
        &api.one("contoso", "c-mfa").await,
        "c-mfa",
        "contoso",
        "Reset MFA",
        "Authentication",
        "Update",
    );
    assert_eq!(modified(&target, "mfaRegistered").1, false);

    // Groups.
    let g = api
        .change(
            Method::POST,
            "/admin/v1/tenants/contoso/groups",
            Some(json!({"displayName": "Auditors"})),
            "c-group",
            201,
        )
        .await;
    let target = ok(
        &api.one("contoso", "c-group").await,
        "c-group",
        "contoso",
        "Add group",
        "GroupManagement",
        "Add",
    );
    assert_eq!(
        (&target["type"], &target["displayName"], &target["id"]),
        (&json!("Group"), &json!("Auditors"), &g["id"])
    );

    // Applications: the secret never appears, only that one was set.
    let app = api.change(Method::POST, "/admin/v1/tenants/contoso/applications", Some(json!({"clientId": "audit-app", "displayName": "Audit app", "grantTypes": ["client_credentials"], "allowedScopes": ["api://analytics/.default"]})), "c-app", 201).await;
    let generated_secret = app["clientSecret"]
        .as_str()
        .expect("a secret, shown once")
        .to_string();
    let target = ok(
        &api.one("contoso", "c-app").await,
        "c-app",
        "contoso",
        "Add application",
        "ApplicationManagement",
        "Add",
    );
    assert_eq!(
        (&target["type"], &target["displayName"], &target["id"]),
        (
            &json!("Application"),
            &json!("Audit app"),
            &json!("audit-app")
        )
    );
    assert_eq!(
        modified(&target, "clientSecret"),
        (Value::Null, json!("[redacted]"))
    );
    assert_eq!(
        modified(&target, "grantTypes").1,
        json!(["client_credentials"])
    );
    let consent = "/admin/v1/tenants/contoso/applications/audit-app/admin-consent";
    api.change(Method::POST, consent, None, "c-consent", 200)
        .await;
    let target = ok(
        &api.one("contoso", "c-consent").await,
        "c-consent",
        "contoso",
        "Consent to application",
        "ApplicationManagement",
        "Assign",
    );
    assert_eq!(
        modified(&target, "adminConsented"),
        (json!(false), json!(true))
    );
    api.change(Method::DELETE, consent, None, "c-unconsent", 200)
        .await;
    let target = ok(
        &api.one("contoso", "c-unconsent").await,
        "c-unconsent",
        "contoso",
        "Revoke consent to application",
        "ApplicationManagement",
        "Unassign",
    );
    assert_eq!(
        modified(&target, "adminConsented"),
        (json!(true), json!(false))
    );

    // Resources.
    api.change(
        Method::POST,
        "/admin/v1/tenants/contoso/resources",
        Some(json!({"identifier": "api://audit", "displayName": "Audit API", "scopes": ["read"]})),
        "c-resource",
        201,
    )
    .await;
    let target = ok(
        &api.one("contoso", "c-resource").await,
        "c-resource",
        "contoso",
        "Add resource",
        "ApplicationManagement",
        "Add",
    );
    assert_eq!(
        (&target["type"], &target["displayName"], &target["id"]),
        (
            &json!("Resource"),
            &json!("Audit API"),
            &json!("api://audit")
        )
    );
    assert_eq!(modified(&target, "scopes").1, json!(["read"]));

    // Keys: every new key, and the keys it replaces, are targets.
    let rotated = api
        .change(
            Method::POST,
            "/admin/v1/tenants/contoso/keys/rotate",
            None,
            "c-rotate",
            200,
        )
        .await;
    let r = api.one("contoso", "c-rotate").await;
    let target = ok(
        &r,
        "c-rotate",
        "contoso",
        "Rotate signing keys",
        "KeyManagement",
        "Update",
    );
    assert_eq!(
        (&target["type"], &target["id"]),
        (&json!("Key"), &rotated["key"]["kid"])
    );
    let kids: Vec<&Value> = r["targetResources"]
        .as_array()
        .expect("targets")
        .iter()
        .map(|t| &t["id"])
        .collect();
    for k in rotated["retiring"].as_array().expect("retiring") {
        assert!(kids.contains(&&k["kid"]), "{k} among {kids:?}");
    }

    // An import: one record in the system tenant's log, names only.
    let file = json!({"tenants": [{"name": "contoso", "displayName": "Contoso",
        "resources": [{"identifier": "api://imported", "scopes": ["read"]}],
        "users": [{"userPrincipalName": "carol@contoso.example", "password": IMPORTED_PASSWORD, "totpSecret": TOTP}],
        "applications": [{"clientId": "imported", "clientSecret": IMPORTED_SECRET, "grantTypes": ["client_credentials"], "allowedScopes": ["api://imported/read"]}]}]});
    api.change(
        Method::POST,
        "/admin/v1/import",
        Some(file),
        "c-import",
        200,
    )
    .await;
    let r = api.one("system", "c-import").await;
    ok(
        &r,
        "c-import",
        "system",
        "Import directory",
        "DirectoryManagement",
        "Other",
    );
    let targets = r["targetResources"].as_array().expect("targets");
    assert_eq!(targets.len(), 2, "the summary and the one tenant: {r}");
    assert_eq!(targets[0]["type"], "Import");
    assert_eq!(modified(&targets[0], "usersCreated").1, 1);
    assert_eq!(
        (&targets[1]["type"], &targets[1]["displayName"]),
        (&json!("Tenant"), &json!("contoso"))
    );
    assert!(!targets[1]["id"].as_str().unwrap_or("").is_empty());
    assert_eq!(
        modified(&targets[1], "users").1,
        json!(["carol@contoso.example"])
    );
    assert_eq!(modified(&targets[1], "applications").1, json!(["imported"]));
    assert!(api.records("contoso", "c-import").await.is_empty());

    // Conditional Access: create, update (old and new value), delete.
    let p = api.change(Method::POST, &format!("{CA}/policies"), Some(json!({"displayName": "Audit policy", "state": "enabledForReportingButNotEnforced",
        "conditions": {"applications": {"includeApplications": ["All"]}, "users": {"includeUsers": ["All"]}},
        "grantControls": {"operator": "OR", "builtInControls": ["mfa"]}})), "c-policy", 201).await;
    let pid = p["id"].as_str().expect("id").to_string();
    let target = ok(
        &api.one("contoso", "c-policy").await,
        "c-policy",
        "contoso",
        "Add conditional access policy",
        "Policy",
        "Add",
    );
    assert_eq!(
        (&target["type"], &target["displayName"], &target["id"]),
        (&json!("Policy"), &json!("Audit policy"), &json!(pid))
    );
    assert_eq!(
        modified(&target, "state"),
        (Value::Null, json!("enabledForReportingButNotEnforced"))
    );

    api.change(
        Method::PATCH,
        &format!("{CA}/policies/{pid}"),
        Some(json!({"state": "disabled"})),
        "c-policy-patch",
        200,
    )
    .await;
    let target = ok(
        &api.one("contoso", "c-policy-patch").await,
        "c-policy-patch",
        "contoso",
        "Update conditional access policy",
        "Policy",
        "Update",
    );
    assert_eq!(
        property_names(&target),
        ["state"],
        "only what changed: {target}"
    );
    assert_eq!(
        modified(&target, "state"),
        (
            json!("enabledForReportingButNotEnforced"),
            json!("disabled")
        )
    );
    api.change(
        Method::PATCH,
        &format!("{CA}/policies/{pid}"),
        Some(json!({"conditions": {"users": {"excludeUsers": [u["id"]]}}})),
        "c-policy-patch2",
        200,
    )
    .await;
    let target = ok(
        &api.one("contoso", "c-policy-patch2").await,
        "c-policy-patch2",
        "contoso",
        "Update conditional access policy",
        "Policy",
        "Update",
    );
    assert_eq!(
        modified(&target, "conditions.users.excludeUsers"),
        (json!([]), json!([u["id"]])),
        "{target}"
    );

    api.change(
        Method::DELETE,
        &format!("{CA}/policies/{pid}"),
        None,
        "c-policy-delete",
        204,
    )
    .await;
    let target = ok(
        &api.one("contoso", "c-policy-delete").await,
        "c-policy-delete",
        "contoso",
        "Delete conditional access policy",
        "Policy",
        "Delete",
    );
    assert_eq!(
        (&target["displayName"], &target["id"]),
        (&json!("Audit policy"), &json!(pid))
    );
    assert_eq!(modified(&target, "state"), (json!("disabled"), Value::Null));

    // Named locations.
    let l = api.change(Method::POST, &format!("{CA}/namedLocations"), Some(json!({"@odata.type": "#microsoft.graph.ipNamedLocation", "displayName": "Office", "isTrusted": true,
        "ipRanges": [{"@odata.type": "#microsoft.graph.iPv4CidrRange", "cidrAddress": "192.0.2.0/24"}]})), "c-location", 201).await;
    let lid = l["id"].as_str().expect("id").to_string();
    let target = ok(
        &api.one("contoso", "c-location").await,
        "c-location",
        "contoso",
        "Add named location",
        "Policy",
        "Add",
    );
    assert_eq!(
        (&target["type"], &target["displayName"]),
        (&json!("NamedLocation"), &json!("Office"))
    );
    api.change(
        Method::PATCH,
        &format!("{CA}/namedLocations/{lid}"),
        Some(json!({"displayName": "Head office"})),
        "c-location-patch",
        200,
    )
    .await;
    let target = ok(
        &api.one("contoso", "c-location-patch").await,
        "c-location-patch",
        "contoso",
        "Update named location",
        "Policy",
        "Update",
    );
    assert_eq!(
        modified(&target, "displayName"),
        (json!("Office"), json!("Head office"))
    );
    api.change(
        Method::DELETE,
        &format!("{CA}/namedLocations/{lid}"),
        None,
        "c-location-delete",
        204,
    )
    .await;
    ok(
        &api.one("contoso", "c-location-delete").await,
        "c-location-delete",
        "contoso",
        "Delete named location",
        "Policy",
        "Delete",
    );

    // A Conditional Access import: one record, one target per object.
    api.change(Method::POST, &format!("{CA}/import"), Some(json!({"policies": [{"displayName": "Imported policy", "state": "disabled",
        "conditions": {"applications": {"includeApplications": ["All"]}, "users": {"includeUsers": ["All"]}},
        "grantControls": {"operator": "OR", "builtInControls": ["block"]}}]})), "c-ca-import", 200).await;
    let r = api.one("contoso", "c-ca-import").await;
    let target = ok(
        &r,
        "c-ca-import",
        "contoso",
        "Import conditional access policies",
        "Policy",
        "Other",
    );
    assert_eq!(
        (&target["type"], &target["displayName"]),
        (&json!("Policy"), &json!("Imported policy"))
    );

    // Reading the log is not a change; every record above is in it exactly once.
    let all = api.log("contoso", "$top=1000").await;
    let value = all["value"].as_array().expect("value");
    let mut ids: Vec<&str> = value.iter().filter_map(|r| r["id"].as_str()).collect();
    let n = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), n, "no record twice");
    assert!(value.iter().all(|r| r["correlationId"] != "reader"));
    assert_eq!(
        n, 22,
        "one record per change in contoso (two for the double PATCH)"
    );
    // Newest first.
    let times: Vec<&str> = value
        .iter()
        .filter_map(|r| r["activityDateTime"].as_str())
        .collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "{times:?}");

    // No secret anywhere: not the passwords, the client secrets, the TOTP secret or
    // the admin API's own secret.
    let admin_secret = cred["clientSecret"].as_str().expect("secret").to_string();
    let bodies = [
        api.log_text("contoso", "$top=1000").await,
        api.log_text("system", "$top=1000").await,
    ];
    for body in &bodies {
        for secret in [
            PASSWORD,
            IMPORTED_PASSWORD,
            IMPORTED_SECRET,
            TOTP,
            generated_secret.as_str(),
            admin_secret.as_str(),
            SECRET,
        ] {
            assert!(
                !body.contains(secret),
                "a secret in the audit log: {secret}"
            );
        }
    }
}

#[tokio::test]
async fn a_refused_change_is_recorded_as_a_failure_with_its_reason() {
    let srv = Server::start();
    let api = Api::new(&srv).await;

    // A policy refused with PV4006.
    let (s, v) = api
        .call(Method::POST, &format!("{CA}/policies"), Some(json!({"displayName": "Broken", "state": "sometimes",
            "conditions": {"applications": {"includeApplications": ["All"]}, "users": {"includeUsers": ["All"]}},
            "grantControls": {"operator": "OR", "builtInControls": ["block"]}})), "f-policy")
        .await;
    assert_eq!((s, v["error_code"].as_str()), (400, Some("PV4006")), "{v}");
    let r = api.one("contoso", "f-policy").await;
    assert_eq!(r["activityDisplayName"], "Add conditional access policy");
    assert_eq!(r["result"], "failure");
    let reason = r["resultReason"].as_str().unwrap_or("");
    assert!(
        reason.starts_with("PV4006") && reason.contains("$.state"),
        "{reason}"
    );
    assert_eq!(r["targetResources"][0]["displayName"], "Broken");

    // A user that does not exist; a taken name.
    let (s, _) = api
        .call(
            Method::PATCH,
            "/admin/v1/tenants/contoso/users/nobody@contoso.example",
            Some(json!({"accountEnabled": false})),
            "f-user",
        )
        .await;
    assert_eq!(s, 404);
    let r = api.one("contoso", "f-user").await;
    assert_eq!(
        (&r["activityDisplayName"], &r["result"]),
        (&json!("Disable account"), &json!("failure"))
    );
    assert!(
        r["resultReason"]
            .as_str()
            .unwrap_or("")
            .starts_with("PV1404"),
        "{r}"
    );
    assert_eq!(
        r["targetResources"][0]["displayName"],
        "nobody@contoso.example"
    );
    let (s, _) = api
        .call(
            Method::POST,
            "/admin/v1/tenants/contoso/groups",
            Some(json!({"displayName": "Analytics Admins"})),
            "f-group",
        )
        .await;
    assert_eq!(s, 409);
    let r = api.one("contoso", "f-group").await;
    assert_eq!(
        (&r["activityDisplayName"], &r["result"]),
        (&json!("Add group"), &json!("failure"))
    );
    assert!(
        r["resultReason"]
            .as_str()
            .unwrap_or("")
            .starts_with("PV1405"),
        "{r}"
    );

    // A refused import: nothing changed, and that is recorded.
    let (s, _) = api
        .call(
            Method::POST,
            "/admin/v1/import",
            Some(json!({"tenants": [{"name": "admin"}]})),
            "f-import",
        )
        .await;
    assert_eq!(s, 400);
    let r = api.one("system", "f-import").await;
    assert_eq!(
        (&r["activityDisplayName"], &r["result"]),
        (&json!("Import directory"), &json!("failure"))
    );
    assert!(
        r["resultReason"]
            .as_str()
            .unwrap_or("")
            .starts_with("PV1406"),
        "{r}"
    );

    // A tenant that does not exist has no log to write to, nor to read.
    let (s, _) = api
        .call(
            Method::POST,
            "/admin/v1/tenants/nowhere/groups",
            Some(json!({"displayName": "G"})),
            "f-nowhere",
        )
        .await;
    assert_eq!(s, 404);
    let (s, v) = api
        .call(
            Method::GET,
            "/admin/v1/tenants/nowhere/auditLogs/directoryAudits",
            None,
            "r",
        )
        .await;
    assert_eq!((s, v["error_code"].as_str()), (404, Some("PV1301")));

    // $filter over the log: the failures only.
    let v = api
        .log("contoso", "%24filter=result%20eq%20%27failure%27")
        .await;
    let names: Vec<&str> = v["value"]
        .as_array()
        .expect("value")
        .iter()
        .filter_map(|r| r["activityDisplayName"].as_str())
        .collect();
    assert_eq!(
        names,
        [
            "Add group",
            "Disable account",
            "Add conditional access policy"
        ]
    );
    let v = api
        .log(
            "contoso",
            "%24filter=targetResources%2Fany(t%3A%20t%2FdisplayName%20eq%20%27Broken%27)",
        )
        .await;
    assert_eq!(v["value"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn the_log_pages_newest_first_and_filters_by_time() {
    let srv = Server::start();
    let api = Api::new(&srv).await;
    for i in 0..7 {
        api.change(
            Method::POST,
            "/admin/v1/tenants/contoso/groups",
            Some(json!({"displayName": format!("Group {i}")})),
            &format!("p-{i}"),
            201,
        )
        .await;
    }
    // Pages of three, following @odata.nextLink.
    let mut seen = Vec::new();
    let mut pages = 0;
    let mut url = format!(
        "{}/admin/v1/tenants/contoso/auditLogs/directoryAudits?$top=3",
        srv.url
    );
    loop {
        let res = srv
            .http
            .get(&url)
            .bearer_auth(&api.token)
            .send()
            .await
            .expect("send");
        assert_eq!(res.status(), 200);
        let v: Value = res.json().await.expect("json");
        pages += 1;
        let page = v["value"].as_array().expect("value");
        assert!(page.len() <= 3);
        seen.extend(page.iter().map(|r| {
            r["targetResources"][0]["displayName"]
                .as_str()
                .unwrap_or("")
                .to_string()
        }));
        match v["@odata.nextLink"].as_str() {
            Some(next) => {
                assert!(
                    next.contains("%24top=3") || next.contains("$top=3"),
                    "{next}"
                );
                url = next.to_string();
            }
            None => break,
        }
    }
    assert_eq!(pages, 3);
    let expected: Vec<String> = (0..7).rev().map(|i| format!("Group {i}")).collect();
    assert_eq!(seen, expected, "newest first, each once");

    // A filter pages too.
    let v = api
        .log(
            "contoso",
            "$top=2&%24filter=startswith(activityDisplayName%2C%27Add%27)",
        )
        .await;
    assert_eq!(v["value"].as_array().map(Vec::len), Some(2));
    assert!(v["@odata.nextLink"]
        .as_str()
        .is_some_and(|l| l.contains("filter")));

    // since / until: RFC 3339 or a duration back from now.
    assert_eq!(
        api.log("contoso", "since=1h").await["value"]
            .as_array()
            .map(Vec::len),
        Some(7)
    );
    assert_eq!(
        api.log("contoso", "until=1h").await["value"]
            .as_array()
            .map(Vec::len),
        Some(0)
    );
    assert_eq!(
        api.log("contoso", "until=2000-01-01T00:00:00Z").await["value"]
            .as_array()
            .map(Vec::len),
        Some(0)
    );
    assert_eq!(
        api.log("contoso", "since=2000-01-01T00:00:00Z").await["value"]
            .as_array()
            .map(Vec::len),
        Some(7)
    );
    assert_eq!(
        api.log(
            "contoso",
            "%24filter=activityDateTime%20lt%202000-01-01T00%3A00%3A00Z"
        )
        .await["value"]
            .as_array()
            .map(Vec::len),
        Some(0)
    );

    // Strict parameters.
    for bad in [
        "$top=0",
        "$top=1001",
        "since=yesterday",
        "$skiptoken=abc",
        "$orderby=id",
        "%24filter=nonsense",
        "$top=1&$top=2",
    ] {
        let (s, v) = api
            .call(
                Method::GET,
                &format!("/admin/v1/tenants/contoso/auditLogs/directoryAudits?{bad}"),
                None,
                "r",
            )
            .await;
        assert_eq!(s, 400, "{bad}: {v}");
    }

    // The OpenAPI document describes the endpoint and its record.
    let (_, doc) = srv.get_json("/admin/v1/openapi.json").await;
    assert!(
        doc["paths"]["/admin/v1/tenants/{tenant}/auditLogs/directoryAudits"]["get"].is_object()
    );
    assert!(
        doc["components"]["schemas"]["DirectoryAudit"]["properties"]["targetResources"].is_object(),
        "{}",
        doc["components"]["schemas"]
    );
}

#[tokio::test]
async fn the_cli_prints_the_log_as_text_and_as_json_lines() {
    let srv = Server::start();
    let (code, _, err) = srv.cli(&["group", "create", "--tenant", "contoso", "CLI group"]);
    assert_eq!(code, 0, "{err}");
    let (code, _, _) = srv.cli(&[
        "user",
        "disable",
        "--tenant",
        "contoso",
        "nobody@contoso.example",
    ]);
    assert_ne!(code, 0);

    let (code, out, err) = srv.cli(&["audit", "--tenant", "contoso"]);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].starts_with("TIME")
            && lines[0].contains("ACTIVITY")
            && lines[0].contains("INITIATOR")
            && lines[0].contains("TARGETS")
            && lines[0].contains("RESULT"),
        "{out}"
    );
    assert!(
        lines[1].contains("Disable account")
            && lines[1].contains("User nobody@contoso.example")
            && lines[1].contains("failure: PV1404"),
        "{out}"
    );
    assert!(
        lines[2].contains("Add group")
            && lines[2].contains("Group CLI group")
            && lines[2].contains("Portvakt administration")
            && lines[2].trim_end().ends_with("success"),
        "{out}"
    );

    let (code, out, err) = srv.cli(&["audit", "--tenant", "contoso", "--json", "--since", "1h"]);
    assert_eq!(code, 0, "{err}");
    let records: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON record per line"))
        .collect();
    assert_eq!(records.len(), 2, "{out}");
    assert_eq!(records[1]["activityDisplayName"], "Add group");
    let cid = records[1]["correlationId"]
        .as_str()
        .expect("cid")
        .to_string();

    let (code, out, _) = srv.cli(&[
        "audit",
        "--tenant",
        "contoso",
        "--json",
        "--correlation-id",
        &cid,
    ]);
    assert_eq!(code, 0);
    assert_eq!(out.lines().count(), 1, "{out}");
    let (_, out, _) = srv.cli(&["audit", "--tenant", "contoso", "--top", "1"]);
    assert_eq!(
        out.lines().count(),
        3,
        "header, one record, a hint that there is more: {out}"
    );
    let (code, _, err) = srv.cli(&["audit", "--tenant", "contoso", "--since", "soon"]);
    assert_eq!(code, 4, "{err}");
    assert!(err.contains("since"), "{err}");

    // An import through the CLI is in the system tenant's log.
    let f = srv.dir.join("import.json");
    let (code, _, err) = srv.cli(&["import", f.to_str().expect("utf8")]);
    assert_eq!(code, 0, "{err}");
    let (_, out, _) = srv.cli(&["audit", "--tenant", "system"]);
    assert!(
        out.contains("Import directory")
            && out.contains("Tenant contoso")
            && out.contains("Tenant fabrikam"),
        "{out}"
    );
}
