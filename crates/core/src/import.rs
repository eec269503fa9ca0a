//! The import file: the declarative contract for tenants and everything in them.
//!
//! `portvakt import FILE` and `serve --import FILE` apply it as one transaction and as
//! an idempotent upsert. Unknown fields are an error; every problem is reported with
//! its JSON path (`tenants[0].users[2].groups[0]`).

use crate::model::{DEFAULT_ACCESS_TOKEN_LIFETIME, SUPPORTED_GRANT_TYPES};
use crate::names::{is_absolute_uri, validate_tenant_name, SYSTEM_TENANT};
use crate::{Error, ErrorCode};
use portvakt_jose::Algorithm;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

/// The whole file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ImportFile {
    /// Tenants to create or update.
    pub tenants: Vec<TenantSpec>,
}

/// One tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TenantSpec {
    /// URL name.
    pub name: String,
    /// Human name (defaults to `name`).
    #[serde(default)]
    pub display_name: Option<String>,
    /// `ES256` (default), `EdDSA` or `RS256`.
    #[serde(default)]
    pub signing_algorithm: Option<String>,
    /// Tenant-wide access-token lifetime.
    #[serde(default, deserialize_with = "whole_number")]
    pub access_token_lifetime_seconds: Option<u64>,
    /// Groups.
    #[serde(default)]
    pub groups: Vec<GroupSpec>,
    /// Users.
    #[serde(default)]
    pub users: Vec<UserSpec>,
    /// Resources (APIs).
    #[serde(default)]
    pub resources: Vec<ResourceSpec>,
    /// Applications (clients).
    #[serde(default)]
    pub applications: Vec<ApplicationSpec>,
    /// Roles users may hold (`admin` always exists); a role may name the Entra role
    /// template id it stands for, so that `includeRoles` of exported policies resolve.
    #[serde(default)]
    pub roles: Vec<crate::model::Role>,
    /// Graph `ipNamedLocation` objects, as exported (validated by the server with the
    /// policy engine; problems carry their JSON path).
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    pub named_locations: Vec<serde_json::Value>,
    /// Graph `conditionalAccessPolicy` objects, as exported.
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    pub conditional_access_policies: Vec<serde_json::Value>,
}

/// One group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GroupSpec {
    /// The group's own id (e.g. its Entra object id), kept as its id so that exported
    /// policies resolve unchanged; default: matched by name, or a new UUID.
    #[serde(default)]
    pub id: Option<String>,
    /// Name, unique in the tenant.
    pub display_name: String,
}

/// One user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UserSpec {
    /// The user's own id (e.g. its Entra object id) for a new user; default a UUID.
    #[serde(default)]
    pub id: Option<String>,
    /// Sign-in name.
    pub user_principal_name: String,
    /// Human name.
    #[serde(default)]
    pub display_name: Option<String>,
    /// Initial password (hashed with Argon2id on import; never stored in clear).
    #[serde(default)]
    pub password: Option<String>,
    /// Defaults to true.
    #[serde(default = "yes")]
    pub account_enabled: bool,
    /// Group display names; the user's memberships become exactly these.
    #[serde(default)]
    pub groups: Vec<String>,
    /// Role names (`admin`, or a role of the tenant's `roles`); when given, the user's
    /// roles become exactly these.
    #[serde(default)]
    pub roles: Option<Vec<String>>,
    /// A TOTP secret (RFC 6238, base32) to register, for migrations and tests; it is
    /// sealed at rest like signing keys.
    #[serde(default)]
    pub totp_secret: Option<String>,
}

fn yes() -> bool {
    true
}

/// One resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResourceSpec {
    /// Absolute URI; the `aud`.
    pub identifier: String,
    /// Human name.
    #[serde(default)]
    pub display_name: Option<String>,
    /// Scope names.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Lifetime override.
    #[serde(default, deserialize_with = "whole_number")]
    pub access_token_lifetime_seconds: Option<u64>,
    /// Put the user's groups into access tokens for this resource.
    #[serde(default)]
    pub group_claims: bool,
    /// Client ids (of this tenant) that may introspect this resource's access tokens.
    #[serde(default)]
    pub introspection_clients: Vec<String>,
}

/// One application.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApplicationSpec {
    /// OAuth client id.
    pub client_id: String,
    /// Human name.
    #[serde(default)]
    pub display_name: Option<String>,
    /// Secret; absent for a public client. Stored as SHA-256.
    #[serde(default)]
    pub client_secret: Option<String>,
    /// Grant types.
    #[serde(default)]
    pub grant_types: Vec<String>,
    /// Redirect URIs (exact match).
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    /// `{resource}/{scope}` or `{resource}/.default`.
    #[serde(default)]
    pub allowed_scopes: Vec<String>,
    /// Lifetime override.
    #[serde(default, deserialize_with = "whole_number")]
    pub access_token_lifetime_seconds: Option<u64>,
    /// Tenant-wide consent: users are not asked.
    #[serde(default)]
    pub admin_consented: bool,
    /// Absolute lifetime of refresh-token families, seconds.
    #[serde(default, deserialize_with = "whole_number")]
    pub refresh_token_lifetime_seconds: Option<u64>,
}

/// A JSON number that is a whole number, as JSON Schema's `integer` is: `3600` and
/// `3600.0` alike (JSON does not tell them apart). For `deserialize_with` on optional
/// non-negative integers of request bodies and import files.
pub fn whole_number<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: TryFrom<u64>,
{
    use serde::de::Error as _;
    let Some(n) = Option::<serde_json::Number>::deserialize(d)? else {
        return Ok(None);
    };
    let whole = n.as_u64().or_else(|| {
        n.as_f64()
            .filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f < u64::MAX as f64)
            .map(|f| f as u64)
    });
    whole
        .and_then(|v| T::try_from(v).ok())
        .map(Some)
        .ok_or_else(|| D::Error::custom(format!("invalid value: {n}, expected a whole number")))
}

/// The longest lifetime accepted anywhere (one year): longer is a mistake.
pub const MAX_LIFETIME: u64 = 365 * 24 * 3600;

/// Minimum client-secret length: secrets are stored with a fast hash, so they must be
/// high-entropy (at least 128 bits as 22+ random characters).
pub const MIN_SECRET_LEN: usize = 22;

/// Parse and validate an import file. Structural errors and every semantic problem
/// come back as one [`ErrorCode::ImportInvalid`] error naming each JSON path.
pub fn parse(json: &[u8]) -> Result<ImportFile, Error> {
    let de = &mut serde_json::Deserializer::from_slice(json);
    let file: ImportFile = serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let path = if path == "." {
            "$".to_string()
        } else {
            format!("$.{path}")
        };
        Error::new(ErrorCode::ImportInvalid, format!("{path}: {}", e.inner()))
    })?;
    let problems = validate(&file);
    if problems.is_empty() {
        Ok(file)
    } else {
        let n = problems.len();
        let mut msg = problems.into_iter().take(20).collect::<Vec<_>>().join("; ");
        if n > 20 {
            msg.push_str(&format!("; and {} more", n - 20));
        }
        Err(Error::new(ErrorCode::ImportInvalid, msg))
    }
}

/// An id or name kept as given: 1-128 printable characters, no spaces.
fn valid_id(s: &str) -> bool {
    !s.is_empty()
        && s.chars().count() <= 128
        && !s.chars().any(|c| c.is_whitespace() || c.is_control())
}

fn check_lifetime(p: &mut Vec<String>, path: &str, v: Option<u64>) {
    if let Some(v) = v {
        if v == 0 || v > MAX_LIFETIME {
            p.push(format!("{path}: lifetime {v} s is out of range (1 to {MAX_LIFETIME} s; default {DEFAULT_ACCESS_TOKEN_LIFETIME})"));
        }
    }
}

fn dupes<'a>(p: &mut Vec<String>, path: &str, what: &str, items: impl Iterator<Item = &'a str>) {
    let mut seen = HashSet::new();
    for (i, s) in items.enumerate() {
        if !seen.insert(s.to_lowercase()) {
            p.push(format!("{path}[{i}]: duplicate {what} '{s}'"));
        }
    }
}

/// Every semantic problem of a structurally valid file, each prefixed with its path.
pub fn validate(file: &ImportFile) -> Vec<String> {
    let mut p = Vec::new();
    dupes(
        &mut p,
        "$.tenants",
        "tenant name",
        file.tenants.iter().map(|t| t.name.as_str()),
    );
    for (ti, t) in file.tenants.iter().enumerate() {
        let tp = format!("$.tenants[{ti}]");
        if t.name == SYSTEM_TENANT {
            p.push(format!(
                "{tp}.name: 'system' is Portvakt's own tenant and cannot be imported"
            ));
        } else if let Err(e) = validate_tenant_name(&t.name) {
            p.push(format!("{tp}.name: {}", e.detail));
        }
        if let Some(a) = &t.signing_algorithm {
            if let Err(e) = a.parse::<Algorithm>() {
                p.push(format!("{tp}.signingAlgorithm: {e}"));
            }
        }
        check_lifetime(
            &mut p,
            &format!("{tp}.accessTokenLifetimeSeconds"),
            t.access_token_lifetime_seconds,
        );

        dupes(
            &mut p,
            &format!("{tp}.groups"),
            "group",
            t.groups.iter().map(|g| g.display_name.as_str()),
        );
        dupes(
            &mut p,
            &format!("{tp}.roles"),
            "role",
            t.roles.iter().map(|r| r.name.as_str()),
        );
        for (ri, r) in t.roles.iter().enumerate() {
            if !valid_id(&r.name) {
                p.push(format!(
                    "{tp}.roles[{ri}].name: '{}' must be 1-128 printable characters without spaces",
                    r.name.escape_default()
                ));
            }
            if let Some(tid) = &r.template_id {
                if !valid_id(tid) {
                    p.push(format!("{tp}.roles[{ri}].templateId: '{}' must be 1-128 printable characters without spaces", tid.escape_default()));
                }
            }
        }
        for (gi, g) in t.groups.iter().enumerate() {
            if let Some(id) = &g.id {
                if !valid_id(id) {
                    p.push(format!("{tp}.groups[{gi}].id: '{}' must be 1-128 printable characters without spaces", id.escape_default()));
                }
            }
        }
        for (kind, list) in [
            ("namedLocations", &t.named_locations),
            ("conditionalAccessPolicies", &t.conditional_access_policies),
        ] {
            for (i, v) in list.iter().enumerate() {
                if !v.is_object() {
                    p.push(format!("{tp}.{kind}[{i}]: must be a Graph JSON object"));
                }
            }
        }
        for (gi, g) in t.groups.iter().enumerate() {
            if g.display_name.trim().is_empty() {
                p.push(format!("{tp}.groups[{gi}].displayName: must not be empty"));
            }
        }
        let groups: HashSet<&str> = t.groups.iter().map(|g| g.display_name.as_str()).collect();

        dupes(
            &mut p,
            &format!("{tp}.users"),
            "userPrincipalName",
            t.users.iter().map(|u| u.user_principal_name.as_str()),
        );
        for (ui, u) in t.users.iter().enumerate() {
            let up = format!("{tp}.users[{ui}]");
            let upn = &u.user_principal_name;
            if upn.is_empty()
                || upn.chars().count() > 254
                || upn.chars().any(|c| c.is_whitespace() || c.is_control())
            {
                p.push(format!(
                    "{up}.userPrincipalName: '{}' must be 1-254 characters without spaces or control characters", upn.escape_default()
                ));
            }
            if let Some(pw) = &u.password {
                if pw.chars().count() < 8 {
                    p.push(format!("{up}.password: must be at least 8 characters"));
                }
            }
            if let Some(id) = &u.id {
                if !valid_id(id) {
                    p.push(format!(
                        "{up}.id: '{}' must be 1-128 printable characters without spaces",
                        id.escape_default()
                    ));
                }
            }
            for (ri, r) in u.roles.iter().flatten().enumerate() {
                if r != crate::model::ADMIN_ROLE && !t.roles.iter().any(|x| &x.name == r) {
                    p.push(format!("{up}.roles[{ri}]: '{}' is not a role of this tenant (define it in the tenant's roles, or use 'admin')", r.escape_default()));
                }
            }
            if let Some(s) = &u.totp_secret {
                match crate::names::base32_decode(s) {
                    Some(b) if b.len() >= 16 => {}
                    Some(b) => p.push(format!("{up}.totpSecret: {} bytes is too short; RFC 4226 asks for at least 128 bits (26 base32 characters)", b.len())),
                    None => p.push(format!("{up}.totpSecret: not base32 (RFC 4648: A-Z and 2-7, '=' padding optional)")),
                }
            }
            for (gi, g) in u.groups.iter().enumerate() {
                if !groups.contains(g.as_str()) {
                    p.push(format!(
                        "{up}.groups[{gi}]: group '{g}' is not defined in this tenant's groups"
                    ));
                }
            }
        }

        dupes(
            &mut p,
            &format!("{tp}.resources"),
            "resource identifier",
            t.resources.iter().map(|r| r.identifier.as_str()),
        );
        for (ri, r) in t.resources.iter().enumerate() {
            let rp = format!("{tp}.resources[{ri}]");
            if !is_absolute_uri(&r.identifier) {
                p.push(format!("{rp}.identifier: '{}' must be an absolute URI without a fragment (RFC 8707), e.g. 'api://analytics'", r.identifier));
            }
            for (si, s) in r.scopes.iter().enumerate() {
                if s.is_empty()
                    || s == ".default"
                    || s.contains('/')
                    || s.bytes()
                        .any(|b| b <= 0x20 || b == b'"' || b == b'\\' || b >= 0x7f)
                {
                    p.push(format!("{rp}.scopes[{si}]: '{s}' is not a valid scope name (no spaces, quotes, backslashes or '/'; '.default' is implicit)"));
                }
            }
            dupes(
                &mut p,
                &format!("{rp}.scopes"),
                "scope",
                r.scopes.iter().map(|s| s.as_str()),
            );
            check_lifetime(
                &mut p,
                &format!("{rp}.accessTokenLifetimeSeconds"),
                r.access_token_lifetime_seconds,
            );
        }

        dupes(
            &mut p,
            &format!("{tp}.applications"),
            "clientId",
            t.applications.iter().map(|a| a.client_id.as_str()),
        );
        for (ai, a) in t.applications.iter().enumerate() {
            let ap = format!("{tp}.applications[{ai}]");
            if a.client_id.is_empty()
                || a.client_id.len() > 128
                || a.client_id
                    .bytes()
                    .any(|b| !(0x21..0x7f).contains(&b) || b == b':')
            {
                p.push(format!("{ap}.clientId: '{}' must be 1-128 printable ASCII characters without ':' or spaces", a.client_id));
            }
            if a.client_id == crate::names::PORTAL_CLIENT_ID {
                p.push(format!(
                    "{ap}.clientId: '{}' is reserved for the admin portal; choose another",
                    a.client_id
                ));
            }
            if let Some(s) = &a.client_secret {
                if s.len() < MIN_SECRET_LEN {
                    p.push(format!("{ap}.clientSecret: must be at least {MIN_SECRET_LEN} characters of random data (it is stored with a fast hash, so it must be high-entropy)"));
                }
            }
            for (gi, g) in a.grant_types.iter().enumerate() {
                if !SUPPORTED_GRANT_TYPES.contains(&g.as_str()) {
                    p.push(format!(
                        "{ap}.grantTypes[{gi}]: '{g}' is not supported (supported: {})",
                        SUPPORTED_GRANT_TYPES.join(", ")
                    ));
                }
            }
            for (ri, r) in a.redirect_uris.iter().enumerate() {
                if let Some(why) = crate::names::redirect_uri_problem(r) {
                    p.push(format!(
                        "{ap}.redirectUris[{ri}]: '{}' {why}",
                        r.escape_default()
                    ));
                }
            }
            for (si, s) in a.allowed_scopes.iter().enumerate() {
                // The OpenID Connect scopes are always available to user sign-in, so
                // listing them changes nothing; `offline_access` still needs the
                // refresh_token grant (docs/import.md).
                if crate::scope::OIDC_SCOPES.contains(&s.as_str()) {
                    if s == "offline_access" && !a.grant_types.iter().any(|g| g == "refresh_token")
                    {
                        p.push(format!("{ap}.allowedScopes[{si}]: 'offline_access' (refresh tokens) needs the grant type 'refresh_token': add it to grantTypes, or drop 'offline_access'"));
                    }
                    continue;
                }
                let Some((res, name)) = s.rsplit_once('/') else {
                    p.push(format!("{ap}.allowedScopes[{si}]: '{s}' must be '{{resource}}/{{scope}}' or '{{resource}}/.default' (openid, profile, email and offline_access need not be listed: they are always available to user sign-in)"));
                    continue;
                };
                match t.resources.iter().find(|r| r.identifier == res) {
                    None => p.push(format!("{ap}.allowedScopes[{si}]: resource '{res}' is not defined in this tenant's resources")),
                    Some(r) if name != ".default" && !r.scopes.iter().any(|x| x == name) => {
                        p.push(format!("{ap}.allowedScopes[{si}]: resource '{res}' does not define the scope '{name}'"))
                    }
                    _ => {}
                }
            }
            check_lifetime(
                &mut p,
                &format!("{ap}.accessTokenLifetimeSeconds"),
                a.access_token_lifetime_seconds,
            );
            check_lifetime(
                &mut p,
                &format!("{ap}.refreshTokenLifetimeSeconds"),
                a.refresh_token_lifetime_seconds,
            );
        }
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"{"tenants": [{
      "name": "contoso", "displayName": "Contoso",
      "signingAlgorithm": "ES256", "accessTokenLifetimeSeconds": 3600,
      "groups": [{"displayName": "Analytics Admins"}],
      "users": [{"userPrincipalName": "admin@contoso.example", "displayName": "Admin",
                 "password": "correct horse battery", "accountEnabled": true, "groups": ["Analytics Admins"]}],
      "resources": [{"identifier": "api://analytics", "displayName": "Analytics API",
                     "scopes": ["Onboarding.ReadWrite"], "accessTokenLifetimeSeconds": 3600}],
      "applications": [{"clientId": "bench", "displayName": "Bench",
                        "clientSecret": "0123456789abcdef0123456789", "grantTypes": ["client_credentials"],
                        "redirectUris": [], "allowedScopes": ["api://analytics/.default"],
                        "accessTokenLifetimeSeconds": 3600}]
    }]}"#;

    fn err(json: &str) -> String {
        parse(json.as_bytes()).expect_err("should fail").detail
    }

    #[test]
    fn the_documented_example_parses() {
        let f = parse(GOOD.as_bytes()).expect("valid");
        assert_eq!(f.tenants[0].users[0].groups, vec!["Analytics Admins"]);
    }

    #[test]
    fn unknown_fields_are_errors_with_their_path() {
        let e = err(&GOOD.replace(
            "\"accountEnabled\": true",
            "\"accountEnabled\": true, \"colour\": 1",
        ));
        assert!(
            e.starts_with("$.tenants[0].users[0]") && e.contains("colour"),
            "{e}"
        );
    }

    #[test]
    fn wrong_types_name_the_path() {
        let e = err(&GOOD.replace("\"accountEnabled\": true", "\"accountEnabled\": \"yes\""));
        assert!(e.starts_with("$.tenants[0].users[0].accountEnabled"), "{e}");
    }

    #[test]
    fn semantic_problems_name_the_path() {
        let cases = [
            (
                GOOD.replace("\"contoso\"", "\"admin\""),
                "$.tenants[0].name",
            ),
            (
                GOOD.replace("\"ES256\"", "\"HS256\""),
                "$.tenants[0].signingAlgorithm",
            ),
            (
                GOOD.replace(
                    "\"groups\": [\"Analytics Admins\"]",
                    "\"groups\": [\"Nope\"]",
                ),
                "$.tenants[0].users[0].groups[0]",
            ),
            (
                GOOD.replace("\"api://analytics\",", "\"analytics\","),
                "$.tenants[0].resources[0].identifier",
            ),
            (
                GOOD.replace("\"0123456789abcdef0123456789\"", "\"short\""),
                "$.tenants[0].applications[0].clientSecret",
            ),
            (
                GOOD.replace("[\"client_credentials\"]", "[\"password\"]"),
                "$.tenants[0].applications[0].grantTypes[0]",
            ),
            (
                GOOD.replace("api://analytics/.default", "api://other/.default"),
                "$.tenants[0].applications[0].allowedScopes[0]",
            ),
            (
                GOOD.replace(
                    "\"accessTokenLifetimeSeconds\": 3600}]\n    }",
                    "\"accessTokenLifetimeSeconds\": 0}]\n    }",
                ),
                "$.tenants[0].applications[0].accessTokenLifetimeSeconds",
            ),
        ];
        for (json, path) in cases {
            let e = err(&json);
            assert!(e.starts_with(path), "want {path}, got {e}");
        }
    }

    #[test]
    fn oidc_scopes_in_allowed_scopes_are_accepted_and_offline_access_needs_refresh() {
        // openid, profile and email change nothing: they are always available.
        let ok = GOOD.replace(
            "\"allowedScopes\": [\"api://analytics/.default\"]",
            "\"allowedScopes\": [\"api://analytics/.default\", \"openid\", \"profile\", \"email\"]",
        );
        assert_ne!(ok, GOOD, "the test edits the file");
        assert!(parse(ok.as_bytes()).is_ok());
        // offline_access without the refresh_token grant: refused, saying exactly that.
        let no_refresh = GOOD.replace(
            "\"allowedScopes\": [\"api://analytics/.default\"]",
            "\"allowedScopes\": [\"api://analytics/.default\", \"offline_access\"]",
        );
        let e = err(&no_refresh);
        assert!(
            e.starts_with("$.tenants[0].applications[0].allowedScopes[1]")
                && e.contains("needs the grant type 'refresh_token'"),
            "{e}"
        );
        // With the grant, it is accepted.
        let with_refresh = no_refresh.replace(
            "[\"client_credentials\"]",
            "[\"client_credentials\", \"authorization_code\", \"refresh_token\"]",
        );
        assert!(parse(with_refresh.as_bytes()).is_ok(), "{with_refresh}");
        // Another bare name still says what is expected, and that OIDC scopes need no listing.
        let bare = GOOD.replace("api://analytics/.default", "Reports.Read");
        let e = err(&bare);
        assert!(e.contains("always available to user sign-in"), "{e}");
    }

    #[test]
    fn not_json_is_an_error() {
        assert!(err("{").starts_with("$"));
        assert!(err("[]").starts_with("$"));
    }
}
