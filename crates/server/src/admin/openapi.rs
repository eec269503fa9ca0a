//! The admin API as OpenAPI 3.1, generated from the handlers (utoipa), then completed
//! with what the handlers' shared parts decide and utoipa cannot see:
//!
//! - the error responses every operation can give (401/403 from [`super::auth`],
//!   400/413 from [`super::body`], 404 for a tenant that does not exist), each with
//!   the error body ([`ErrorBody`]) and, for 401, the `WWW-Authenticate` challenge;
//! - the rules the validators apply to request bodies and query parameters (patterns,
//!   lengths, ranges, enums), so that a body the document calls valid is one the API
//!   accepts, and the other way round;
//! - links from each created object to the operations on it (OpenAPI links).
//!
//! `tests/interop/python/test_schemathesis.py` fuzzes a real server against this
//! document (PyPI schemathesis, every check).

use axum::Json;
use portvakt_core::import::MAX_LIFETIME;
use portvakt_core::model::SUPPORTED_GRANT_TYPES;
use portvakt_core::names::{PORTAL_CLIENT_ID, RESERVED_TENANT_NAMES};
use serde::Serialize;
use serde_json::{json, Map, Value};
use std::sync::OnceLock;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

struct Bearer;

impl Modify for Bearer {
    fn modify(&self, api: &mut utoipa::openapi::OpenApi) {
        if let Some(c) = api.components.as_mut() {
            c.add_security_scheme(
                "bearer",
                SecurityScheme::Http(
                    HttpBuilder::new()
                        .scheme(HttpAuthScheme::Bearer)
                        .bearer_format("JWT")
                        .build(),
                ),
            );
        }
    }
}

/// The body of every error response (RFC 6749 §5.2 plus Portvakt's fields).
#[derive(Debug, Serialize, ToSchema)]
#[allow(dead_code)] // the shape of [`crate::error::ApiError::body`], for the document
pub struct ErrorBody {
    /// The OAuth error (`invalid_request`, `invalid_token`, `not_found`, ...).
    pub error: String,
    /// The title of the code and the exact reason (JSON paths start at `$`).
    pub error_description: String,
    /// The stable code (`PV1010`; `docs/errors.md`).
    #[schema(pattern = "^PV[0-9]{4}$")]
    pub error_code: String,
    /// The page that explains the code, `/errors/{code}`.
    pub error_uri: String,
    /// The request's correlation id (also the `x-correlation-id` header).
    pub correlation_id: String,
    /// What to do about it.
    pub fix: String,
    /// The Conditional Access policy that decided a refusal (sign-ins only).
    #[schema(value_type = Option<Object>)]
    pub policy: Option<Value>,
}

/// The document as utoipa derives it from the handlers.
#[derive(OpenApi)]
#[openapi(
    info(title = "Portvakt admin API", description = "Tenants, users, groups, applications, resources, keys and import. Authenticate with a token from the system tenant for resource urn:portvakt:admin, scope admin."),
    paths(
        super::list_tenants, super::create_tenant, super::get_tenant,
        super::list_users, super::create_user, super::update_user, super::revoke_sessions, super::reset_mfa, super::reset_password,
        super::list_groups, super::create_group, super::add_group_member, super::remove_group_member,
        super::list_apps, super::create_app, super::grant_admin_consent, super::withdraw_admin_consent,
        super::list_resources, super::create_resource,
        super::list_keys, super::rotate_keys,
        super::import_file,
        super::conditional_access::list_policies, super::conditional_access::create_policy,
        super::conditional_access::get_policy, super::conditional_access::update_policy,
        super::conditional_access::delete_policy,
        super::conditional_access::list_locations, super::conditional_access::create_location,
        super::conditional_access::get_location, super::conditional_access::update_location,
        super::conditional_access::delete_location,
        super::conditional_access::evaluate, super::conditional_access::import,
        super::audit_logs::directory_audits,
        super::signins::list_signins, super::signins::get_signin, super::replay::replay, super::diagnose::diagnose,
    ),
    components(schemas(ErrorBody)),
    modifiers(&Bearer)
)]
pub struct AdminApi;

/// GET `/admin/v1/openapi.json` (public: the shape of the API is not a secret).
pub async fn openapi_json() -> Json<Value> {
    Json(document().clone())
}

/// The complete document (built once).
pub fn document() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(build)
}

// Patterns of the validators (`portvakt_core::import::validate`, `names`). Lengths are
// in characters, as JSON Schema counts them and as the validators do.

/// A tenant name: a DNS label of a-z, 0-9 and '-' (plus `not` the reserved names).
const TENANT_NAME: &str = "^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$";
/// Characters that are whitespace (Rust's `char::is_whitespace`) or control characters.
const SPACE_OR_CONTROL: &str =
    r"\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000";
/// Whitespace only (`str::trim`).
const SPACE: &str = r"\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000";
/// A client id: printable ASCII without ':' or space.
const CLIENT_ID: &str = r"^[!-9;-~]{1,128}$";
/// An absolute URI without a fragment (RFC 8707 §2): no ASCII space or control.
const ABSOLUTE_URI: &str = r"^[A-Za-z][A-Za-z0-9+.-]*:[^#\x00-\x20\x7f]+$";
/// A scope name: no space, quote, backslash or '/'.
const SCOPE_NAME: &str = r#"^[!#-.0-\[\]-~]+$"#;
/// A redirect URI as `names::redirect_uri_problem` accepts it (ASCII): https to any
/// host, http to a loopback host, or a private-use scheme with a period.
const REDIRECT_URI: &str = concat!(
    r"^((https://(\[[0-9A-Fa-f:.]+\]|[\x21\x22\x24-\x29\x2b-\x2e\x30-\x39\x3b-\x3e\x41-\x5a\x5c\x5e-\x7e]+)",
    r"|http://(localhost|127(\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}|\[::1\]))",
    r"(:[0-9]{0,5})?([/?][\x21\x24-\x29\x2b-\x7e]*)?",
    r"|[a-z][a-z0-9+-]*(\.[a-z0-9+-]+)+:[\x21\x24-\x29\x2b-\x7e]+)$"
);
/// A duration back from now: `30m`, `1h`, `7d`, `90s`.
const DURATION: &str = "^[0-9]{1,9}[smhd]$";
/// A TOTP secret: RFC 4648 base32 of at least 128 bits (26 characters); whitespace and
/// `=` are ignored.
const TOTP_SECRET: &str = r"^[\s=]*([A-Za-z2-7][\s=]*){26,}$";

fn id_pattern() -> String {
    format!("^[^{SPACE_OR_CONTROL}]+$")
}

fn lifetime() -> Value {
    json!({"minimum": 1, "maximum": MAX_LIFETIME})
}

/// What the validators require of each property, merged into the derived schemas.
fn property_rules() -> Vec<(&'static str, &'static str, Value)> {
    let tenant_name =
        json!({"pattern": TENANT_NAME, "maxLength": 63, "not": {"enum": RESERVED_TENANT_NAMES}});
    let algorithm = json!({"enum": ["ES256", "EdDSA", "RS256", null]});
    let id = json!({"pattern": id_pattern(), "minLength": 1, "maxLength": 128});
    let client_id =
        json!({"pattern": CLIENT_ID, "maxLength": 128, "not": {"const": PORTAL_CLIENT_ID}});
    let grant_types = json!({"items": {"enum": SUPPORTED_GRANT_TYPES}});
    let redirect_uris = json!({"items": {"pattern": REDIRECT_URI, "maxLength": 2048}});
    let allowed_scopes =
        json!({"items": {"pattern": r"^(openid|profile|email|offline_access|\S+/[^/\s]+)$"}});
    let password = json!({"minLength": crate::admin::MIN_PASSWORD_CHARS});
    vec![
        ("CreateTenant", "name", tenant_name.clone()),
        ("CreateTenant", "signingAlgorithm", algorithm.clone()),
        ("CreateTenant", "accessTokenLifetimeSeconds", lifetime()),
        ("TenantSpec", "name", tenant_name),
        ("TenantSpec", "signingAlgorithm", algorithm),
        ("TenantSpec", "accessTokenLifetimeSeconds", lifetime()),
        ("GroupSpec", "id", id.clone()),
        (
            "GroupSpec",
            "displayName",
            json!({"pattern": format!("[^{SPACE}]")}),
        ),
        ("UserSpec", "id", id.clone()),
        (
            "UserSpec",
            "userPrincipalName",
            json!({"pattern": id_pattern(), "minLength": 1, "maxLength": 254}),
        ),
        ("UserSpec", "password", password.clone()),
        ("UserSpec", "totpSecret", json!({"pattern": TOTP_SECRET})),
        (
            "ResourceSpec",
            "identifier",
            json!({"pattern": ABSOLUTE_URI}),
        ),
        (
            "ResourceSpec",
            "scopes",
            json!({"uniqueItems": true, "items": {"pattern": SCOPE_NAME, "not": {"const": ".default"}}}),
        ),
        ("ResourceSpec", "accessTokenLifetimeSeconds", lifetime()),
        ("ApplicationSpec", "clientId", client_id.clone()),
        (
            "ApplicationSpec",
            "clientSecret",
            json!({"minLength": portvakt_core::import::MIN_SECRET_LEN}),
        ),
        ("ApplicationSpec", "grantTypes", grant_types.clone()),
        ("ApplicationSpec", "redirectUris", redirect_uris.clone()),
        ("ApplicationSpec", "allowedScopes", allowed_scopes.clone()),
        ("ApplicationSpec", "accessTokenLifetimeSeconds", lifetime()),
        ("ApplicationSpec", "refreshTokenLifetimeSeconds", lifetime()),
        ("CreateApplication", "clientId", client_id),
        ("CreateApplication", "grantTypes", grant_types),
        ("CreateApplication", "redirectUris", redirect_uris),
        ("CreateApplication", "allowedScopes", allowed_scopes),
        (
            "CreateApplication",
            "accessTokenLifetimeSeconds",
            lifetime(),
        ),
        (
            "CreateApplication",
            "refreshTokenLifetimeSeconds",
            lifetime(),
        ),
        ("ResetPassword", "password", password),
        (
            "RotateKeys",
            "prepublishSeconds",
            json!({"maximum": 30 * 24 * 3600}),
        ),
        (
            "RotateKeys",
            "algorithm",
            json!({"enum": ["ES256", "EdDSA", "RS256", null]}),
        ),
        ("DiagnoseBody", "since", json!({"pattern": DURATION})),
        (
            "ReplayBody",
            "state",
            json!({"enum": ["enabled", "disabled", "enabledForReportingButNotEnforced", null]}),
        ),
        ("ReplayBody", "since", json!({"pattern": DURATION})),
    ]
}

/// Rules that span properties: exactly one of several (the handlers count the
/// properties that are present and not null).
fn schema_rules() -> Vec<(&'static str, Value)> {
    let one_of = |names: &[&str]| json!({"oneOf": names.iter().map(|n| json!({"required": [n], "properties": {*n: {"type": "string"}}})).collect::<Vec<_>>()});
    vec![
        ("DiagnoseBody", one_of(&["token", "correlationId", "user"])),
        ("MemberRef", one_of(&["@odata.id", "userPrincipalName"])),
        (
            "ReplayBody",
            json!({"anyOf": [
                {"required": ["policies"], "properties": {"policies": {"minItems": 1}}},
                {"required": ["policyId"], "properties": {"policyId": {"type": "string"}}},
            ]}),
        ),
    ]
}

/// Request bodies that are a derived schema with other rules (`(operation, name,
/// base, rules)`): `POST …/users` takes an import file's user without `groups`
/// (memberships are set with `…/members/$ref`).
fn body_variants() -> Vec<(&'static str, &'static str, &'static str, Value)> {
    vec![
        (
            "create_user",
            "CreateUser",
            "UserSpec",
            json!({"properties": {"groups": {"maxItems": 0, "description": "Must be empty: add the user to groups with POST …/groups/{group_id}/members/$ref."}}}),
        ),
        ("create_group", "CreateGroup", "GroupSpec", json!({})),
        (
            "create_resource",
            "CreateResource",
            "ResourceSpec",
            json!({}),
        ),
        ("import_file", "ImportFile", "ImportFile", json!({})),
    ]
}

/// Example request bodies of the Graph-shaped operations (their schema is Graph's).
fn body_examples() -> Vec<(&'static str, Value)> {
    vec![
        (
            "create_policy",
            json!({
                "displayName": "Require MFA for everyone (report only)",
                "state": "enabledForReportingButNotEnforced",
                "conditions": {
                    "users": {"includeUsers": ["All"]},
                    "applications": {"includeApplications": ["All"]},
                },
                "grantControls": {"operator": "OR", "builtInControls": ["mfa"]},
            }),
        ),
        ("update_policy", json!({"state": "disabled"})),
        (
            "create_location",
            json!({
                "@odata.type": "#microsoft.graph.ipNamedLocation",
                "displayName": "Head office",
                "isTrusted": true,
                "ipRanges": [{"@odata.type": "#microsoft.graph.iPv4CidrRange", "cidrAddress": "192.0.2.0/24"}],
            }),
        ),
        ("update_location", json!({"isTrusted": false})),
    ]
}

/// Query parameters as the handlers parse them (`(operation, name, schema)`).
fn query_rules() -> Vec<(&'static str, &'static str, Value)> {
    let instant = json!({"anyOf": [{"type": "string", "format": "date-time"}, {"type": "string", "pattern": DURATION}]});
    let top = json!({"type": "integer", "minimum": 1, "maximum": super::signins::MAX_TOP});
    let skiptoken = json!({"type": "integer", "format": "int64"});
    vec![
        ("directory_audits", "since", instant.clone()),
        ("directory_audits", "until", instant),
        ("directory_audits", "$top", top.clone()),
        ("directory_audits", "$skiptoken", skiptoken.clone()),
        ("list_signins", "$top", top),
        ("list_signins", "$skiptoken", skiptoken),
        (
            "list_signins",
            "status",
            json!({"type": "string", "enum": ["success", "failure", "interrupted"]}),
        ),
        (
            "list_signins",
            "conditionalAccessStatus",
            json!({"type": "string", "enum": ["success", "failure", "notApplied"]}),
        ),
        (
            "list_signins",
            "errorCode",
            json!({"type": "string", "pattern": "^(PV)*[0-9]{1,9}$"}),
        ),
        (
            "list_signins",
            "since",
            json!({"type": "string", "pattern": DURATION}),
        ),
        (
            "list_signins",
            "until",
            json!({"type": "string", "pattern": DURATION}),
        ),
    ]
}

/// Links from a created object to the operations on it: `(operation, status, target
/// operation, parameters)`; `tenant` comes from the request unless given.
fn links() -> Vec<(&'static str, &'static str, &'static str, Value)> {
    let mut v = Vec::new();
    for target in [
        "get_tenant",
        "list_users",
        "create_user",
        "list_groups",
        "create_group",
        "list_apps",
        "create_app",
        "list_resources",
        "create_resource",
        "list_keys",
        // Not rotate_keys: which algorithms its body may name depends on the created
        // tenant's `signingAlgorithm`, which a link cannot carry into a body.
        "list_policies",
        "create_policy",
        "list_locations",
        "create_location",
        "directory_audits",
        "list_signins",
    ] {
        v.push((
            "create_tenant",
            "201",
            target,
            json!({"tenant": "$response.body#/name"}),
        ));
    }
    for target in [
        "update_user",
        "revoke_sessions",
        "reset_password",
        "reset_mfa",
    ] {
        v.push((
            "create_user",
            "201",
            target,
            json!({"upn": "$response.body#/userPrincipalName"}),
        ));
    }
    // No link from a group to its members' operations: they name a user too.
    for target in ["grant_admin_consent", "withdraw_admin_consent"] {
        v.push((
            "create_app",
            "201",
            target,
            json!({"client_id": "$response.body#/clientId"}),
        ));
    }
    for (create, targets) in [
        (
            "create_policy",
            ["get_policy", "update_policy", "delete_policy"],
        ),
        (
            "create_location",
            ["get_location", "update_location", "delete_location"],
        ),
    ] {
        for target in targets {
            v.push((create, "201", target, json!({"id": "$response.body#/id"})));
        }
    }
    v
}

fn merge(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(t), Value::Object(p)) => {
            for (k, v) in p {
                merge(t.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
        (t, p) => *t = p.clone(),
    }
}

fn error_response(description: &str) -> Value {
    json!({
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
    })
}

/// Each operation of the document: `(operationId, path, method, operation)`.
fn operations(doc: &mut Value) -> Vec<(String, String, String, &mut Map<String, Value>)> {
    let mut out = Vec::new();
    if let Some(paths) = doc["paths"].as_object_mut() {
        for (path, item) in paths.iter_mut() {
            if let Some(item) = item.as_object_mut() {
                for (method, op) in item.iter_mut() {
                    if let Some(op) = op.as_object_mut() {
                        let id = op
                            .get("operationId")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_string();
                        out.push((id, path.clone(), method.clone(), op));
                    }
                }
            }
        }
    }
    out
}

fn build() -> Value {
    let mut doc = serde_json::to_value(AdminApi::openapi()).unwrap_or_default();
    let schemas = &mut doc["components"]["schemas"];
    for (schema, property, rules) in property_rules() {
        merge(&mut schemas[schema]["properties"][property], &rules);
    }
    for (schema, rules) in schema_rules() {
        merge(&mut schemas[schema], &rules);
    }
    let mut bodies = Vec::new();
    for (op, name, base, rules) in body_variants() {
        let mut s = schemas[base].clone();
        merge(&mut s, &rules);
        schemas[name] = s;
        bodies.push((op, name));
    }
    let (queries, links) = (query_rules(), links());
    for (id, path, _method, op) in operations(&mut doc) {
        // Request bodies: the variant named for this operation.
        if let Some((_, name)) = bodies.iter().find(|(o, _)| *o == id) {
            op.insert(
                "requestBody".into(),
                json!({"required": true, "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{name}")}}}}),
            );
        }
        if let Some((_, example)) = body_examples().into_iter().find(|(o, _)| *o == id) {
            op["requestBody"]["content"]["application/json"]["example"] = example;
        }
        // `POST …/keys/rotate` without a body (no Content-Type) is `{}`.
        if id == "rotate_keys" {
            if let Some(b) = op.get_mut("requestBody") {
                b["required"] = json!(false);
            }
        }
        if let Some(params) = op.get_mut("parameters").and_then(Value::as_array_mut) {
            for p in params.iter_mut() {
                let name = p["name"].as_str().unwrap_or_default().to_string();
                if let Some((_, _, schema)) =
                    queries.iter().find(|(o, n, _)| *o == id && *n == name)
                {
                    p["schema"] = schema.clone();
                }
            }
        }
        let has_body = op.contains_key("requestBody");
        let has_query = op
            .get("parameters")
            .and_then(Value::as_array)
            .is_some_and(|ps| ps.iter().any(|p| p["in"] == "query"));
        let secured = op.contains_key("security");
        let responses = op
            .entry("responses")
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .expect("responses is an object");
        let mut common: Vec<(&str, &str)> = Vec::new();
        if has_body {
            common.push(("400", "The body is not valid JSON of this shape, not sent as application/json, or has an invalid value; the description names the JSON path."));
            common.push(("413", "The body is larger than the operation's limit."));
        }
        if has_query {
            common.push((
                "400",
                "A query parameter is unknown or has an invalid value; the description names it.",
            ));
        }
        if secured {
            common.push(("401", "No admin token was sent, or it is not valid (expired, revoked, wrong audience); see the WWW-Authenticate challenge."));
            common.push((
                "403",
                "The token was issued without the admin API's scope `admin`.",
            ));
        }
        if path.contains("{tenant}") {
            common.push((
                "404",
                "The tenant, or the object the path names, does not exist.",
            ));
        }
        for (status, description) in common {
            responses
                .entry(status)
                .or_insert_with(|| error_response(description));
        }
        // Every error response has the error body; every response a description.
        for (status, r) in responses.iter_mut() {
            if r.get("description")
                .and_then(Value::as_str)
                .is_none_or(str::is_empty)
            {
                let phrase = status
                    .parse::<u16>()
                    .ok()
                    .and_then(|s| axum::http::StatusCode::from_u16(s).ok())
                    .and_then(|s| s.canonical_reason())
                    .unwrap_or("");
                r["description"] = json!(phrase);
            }
            if status.starts_with('4') {
                if r.get("description")
                    .and_then(Value::as_str)
                    .is_none_or(str::is_empty)
                {
                    r["description"] = json!("The request was refused; the body says why.");
                }
                r["content"] = error_response("")["content"].clone();
            }
            if status == "401" {
                r["headers"] = json!({"WWW-Authenticate": {"description": "The Bearer challenge (RFC 6750 §3).", "schema": {"type": "string"}}});
            }
        }
        for (from, status, target, params) in &links {
            if *from == id {
                let mut parameters = json!({"tenant": "$request.path.tenant"});
                merge(&mut parameters, params);
                merge(
                    &mut responses[*status],
                    &json!({"links": {*target: {"operationId": target, "parameters": parameters}}}),
                );
            }
        }
        // The created location of a Graph object (RFC 9110 §10.2.2).
        if matches!(id.as_str(), "create_policy" | "create_location") {
            merge(
                &mut responses["201"],
                &json!({"headers": {"Location": {"description": "The URL of the new object.", "schema": {"type": "string", "format": "uri"}}}}),
            );
        }
    }
    doc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_names_a_property_the_handlers_have() {
        let derived = serde_json::to_value(AdminApi::openapi()).expect("json");
        let schemas = &derived["components"]["schemas"];
        for (schema, property, _) in property_rules() {
            assert!(
                schemas[schema]["properties"][property].is_object(),
                "{schema}.{property} is not in the derived document"
            );
        }
        let doc = document();
        let ops: Vec<String> = doc["paths"]
            .as_object()
            .expect("paths")
            .values()
            .flat_map(|i| i.as_object().expect("item").values())
            .map(|o| o["operationId"].as_str().expect("id").to_string())
            .collect();
        for (op, name, ..) in body_variants() {
            assert!(ops.iter().any(|o| o == op), "{op}");
            assert!(doc["components"]["schemas"][name].is_object(), "{name}");
        }
        for (op, name, _) in query_rules() {
            assert!(ops.iter().any(|o| o == op), "{op}");
            let found = doc["paths"].as_object().expect("paths").values().any(|i| {
                i.as_object().expect("item").values().any(|o| {
                    o["operationId"] == op
                        && o["parameters"]
                            .as_array()
                            .is_some_and(|ps| ps.iter().any(|p| p["name"] == name))
                })
            });
            assert!(found, "{op} has no parameter {name}");
        }
        for (op, _) in body_examples() {
            assert!(ops.iter().any(|o| o == op), "{op}");
        }
        for (from, _, target, _) in links() {
            assert!(ops.iter().any(|o| o == from), "{from}");
            assert!(ops.iter().any(|o| o == target), "{target}");
        }
    }

    #[test]
    fn every_operation_lists_its_error_responses_with_the_error_body() {
        let doc = document();
        for (path, item) in doc["paths"].as_object().expect("paths") {
            for (method, op) in item.as_object().expect("item") {
                let r = &op["responses"];
                for s in ["401", "403"] {
                    assert!(r[s].is_object(), "{method} {path} lacks {s}");
                }
                if path.contains("{tenant}") {
                    assert!(r["404"].is_object(), "{method} {path} lacks 404");
                }
                if op.get("requestBody").is_some() {
                    for s in ["400", "413"] {
                        assert!(r[s].is_object(), "{method} {path} lacks {s}");
                    }
                }
                for (s, resp) in r.as_object().expect("responses") {
                    if s.starts_with('4') {
                        assert_eq!(
                            resp["content"]["application/json"]["schema"]["$ref"],
                            "#/components/schemas/ErrorBody",
                            "{method} {path} {s}"
                        );
                    }
                }
            }
        }
    }

    /// The paths `admin::router` routes, read from its source (a router cannot list
    /// its routes).
    fn routed_paths() -> Vec<String> {
        let src = include_str!("mod.rs");
        let router = &src[src.find("pub fn router()").expect("router")..];
        let router = &router[..router.find("\n}\n").expect("end of router")];
        router
            .split('"')
            .filter(|s| s.starts_with("/admin/v1/"))
            .map(str::to_string)
            .collect()
    }

    #[test]
    fn every_route_is_in_the_document() {
        let paths = document()["paths"].as_object().expect("paths");
        let routed = routed_paths();
        assert!(routed.len() > 20, "{routed:?}");
        for p in &routed {
            if p != "/admin/v1/openapi.json" {
                assert!(paths.contains_key(p), "{p} is routed but not documented");
            }
        }
        for p in paths.keys() {
            assert!(routed.contains(p), "{p} is documented but not routed");
        }
    }

    /// Each documented path answers exactly its documented methods: 401 without a token
    /// (the route exists and is protected), 405 with `Allow` for the others.
    #[tokio::test]
    async fn the_router_answers_the_documented_methods_and_no_others() {
        use axum::body::Body;
        use axum::http::{Method, Request, StatusCode};
        use tower::ServiceExt;
        let store = portvakt_store::testing::store().await;
        let st = crate::AppState::new(
            crate::ServerConfig::new("https://id.example.com"),
            store,
            std::sync::Arc::new(portvakt_core::clock::ManualClock::new(1_800_000_000)),
            portvakt_jose::MasterKey::from_bytes(&[9u8; 32]).expect("key"),
        );
        crate::bootstrap::ensure_system_tenant(&st)
            .await
            .expect("bootstrap");
        let app = crate::app(st);
        for (path, item) in document()["paths"].as_object().expect("paths") {
            let item = item.as_object().expect("item");
            let uri = path.replace('{', "x").replace('}', "");
            for method in ["get", "post", "put", "patch", "delete"] {
                let req = Request::builder()
                    .method(Method::from_bytes(method.to_uppercase().as_bytes()).expect("m"))
                    .uri(&uri)
                    .body(Body::empty())
                    .expect("request");
                let res = app.clone().oneshot(req).await.expect("infallible");
                if item.contains_key(method) {
                    assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{method} {path}");
                } else {
                    assert_eq!(
                        res.status(),
                        StatusCode::METHOD_NOT_ALLOWED,
                        "{method} {path}"
                    );
                    let allow = res
                        .headers()
                        .get("allow")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("")
                        .to_ascii_lowercase();
                    for m in item.keys() {
                        assert!(
                            allow.contains(m.as_str()),
                            "{path}: Allow '{allow}' lacks {m}"
                        );
                    }
                }
            }
        }
    }
}
