//! Strict import of Graph JSON: `conditionalAccessPolicy` and `ipNamedLocation`.
//!
//! A file is one object, an array of them, or a Graph collection
//! (`{"@odata.context": …, "value": […]}`), in UTF-8 (± BOM) or UTF-16 with a BOM.
//! OData annotations (`@odata.*`, `…@odata.*`) and action keys
//! (`#microsoft.graph.restore`) are ignored. Everything else is either understood or
//! refused with its JSON path:
//!
//! - a key not in Graph's schema (case-sensitive: `GrantControls` is not
//!   `grantControls`) is refused;
//! - a Graph feature Portvakt does not implement is refused when it is *used*; a field
//!   that is `null`, `false`, `""`, `[]` or an object of such is not a use (real
//!   exports carry every field);
//! - a control Portvakt cannot satisfy yet is accepted and fails closed at evaluation;
//! - a keyword naming something Portvakt never sees is accepted and matches nobody.
//!
//! The table of every feature and its category is in the crate documentation and in
//! `docs/design/conditional-access.md`. Problems are reported in document order.

use crate::cidr::IpCidr;
use crate::error::{Error, Problem, ProblemKind};
use crate::graph::*;
use crate::json::{
    index_path, is_annotation, key_path, object, odata_type, opt_bool, opt_string, parse_bytes,
    string_list, unknown_key, Json,
};

/// Parses a file of Conditional Access policies (one, an array, or a collection).
pub fn parse_policies(bytes: &[u8]) -> Result<Vec<ConditionalAccessPolicy>, Error> {
    let doc = parse_bytes(bytes)?;
    let mut p = Vec::new();
    let out = items(&doc, &mut p)
        .into_iter()
        .filter_map(|(path, v)| policy(v, &path, &mut p))
        .collect();
    Error::check(out, p)
}

/// Parses a file of named locations (one, an array, or a collection).
pub fn parse_named_locations(bytes: &[u8]) -> Result<Vec<NamedLocation>, Error> {
    let doc = parse_bytes(bytes)?;
    let mut p = Vec::new();
    let out = items(&doc, &mut p)
        .into_iter()
        .filter_map(|(path, v)| named_location(v, &path, &mut p))
        .collect();
    Error::check(out, p)
}

/// The objects of a document with their paths: `$`, `$[i]` or `$.value[i]`.
fn items<'a>(doc: &'a Json, p: &mut Vec<Problem>) -> Vec<(String, &'a Json)> {
    let array = |a: &'a [Json], path: &str| -> Vec<(String, &'a Json)> {
        a.iter()
            .enumerate()
            .map(|(i, v)| (index_path(path, i), v))
            .collect()
    };
    match doc {
        Json::Array(a) => array(a, "$"),
        Json::Object(fields) if fields.iter().any(|(k, _)| k == "value") => {
            let mut out = Vec::new();
            for (k, v) in fields {
                match (k.as_str(), v) {
                    ("@odata.nextLink", _) => p.push(Problem::new(
                        "$[\"@odata.nextLink\"]",
                        ProblemKind::Invalid,
                        "this is one page of a paged Graph response; follow @odata.nextLink, put every page's items in one file and import that",
                    )),
                    (k, _) if is_annotation(k) => {}
                    ("value", Json::Array(a)) => out = array(a, "$.value"),
                    ("value", other) => p.push(Problem::new(
                        "$.value",
                        ProblemKind::Invalid,
                        format!("expected the collection's items (an array), found {}", other.kind()),
                    )),
                    (k, _) => p.push(unknown_key("$", k, "collection response")),
                }
            }
            out
        }
        Json::Object(_) => vec![("$".to_owned(), doc)],
        other => {
            p.push(Problem::new(
                "$",
                ProblemKind::Invalid,
                format!(
                    "expected an object, an array of objects or a Graph collection ({{\"value\": […]}}), found {}",
                    other.kind()
                ),
            ));
            Vec::new()
        }
    }
}

fn invalid(p: &mut Vec<Problem>, path: impl Into<String>, msg: impl Into<String>) {
    p.push(Problem::new(path, ProblemKind::Invalid, msg));
}

fn unsupported(p: &mut Vec<Problem>, path: impl Into<String>, msg: impl Into<String>) {
    p.push(Problem::new(path, ProblemKind::Unsupported, msg));
}

/// Refuses `v` at `path` when it is used (not empty).
fn refuse_if_used(v: &Json, path: &str, msg: &str, p: &mut Vec<Problem>) {
    if !v.is_empty() {
        unsupported(p, path, msg);
    }
}

/// For an unsupported object: refuses each used field at its own path (so the path
/// names what is used, e.g. `$.conditions.devices.deviceFilter`).
fn refuse_used_fields(v: &Json, path: &str, msg: &str, p: &mut Vec<Problem>) {
    match v {
        Json::Object(fields) => {
            for (k, x) in fields {
                if !is_annotation(k) && !x.is_empty() {
                    unsupported(p, key_path(path, k), msg);
                }
            }
        }
        other => refuse_if_used(other, path, msg, p),
    }
}

/// Messages for what Portvakt does not implement. Each says why and what to do.
mod msg {
    pub const USER_RISK: &str = "user risk needs Identity Protection, which Portvakt does not have; remove the condition (empty the list) or leave this policy out";
    pub const SIGN_IN_RISK: &str = "sign-in risk needs Identity Protection, which Portvakt does not have; remove the condition (empty the list) or leave this policy out";
    pub const SP_RISK: &str = "service principal risk needs Identity Protection for workload identities, which Portvakt does not have; remove the condition or leave this policy out";
    pub const INSIDER_RISK: &str = "insider risk needs Microsoft Purview Adaptive Protection, which Portvakt does not have; remove the condition or leave this policy out";
    pub const AGENT_RISK: &str = "agent identity risk needs Microsoft Entra Agent ID, which Portvakt does not have; leave this policy out";
    pub const AGENTS: &str = "agent identities (Microsoft Entra Agent ID) do not exist in Portvakt; leave this policy out";
    pub const DEVICES: &str = "device conditions need registered devices (Entra join, Intune), which Portvakt does not have; remove the device filter or leave this policy out";
    pub const DEVICE_STATES: &str = "the legacy device-state condition needs registered devices, which Portvakt does not have; remove it";
    pub const TIMES: &str = "the times condition was never released by Entra and Portvakt does not implement it; remove it";
    pub const CLIENTS: &str = "the clients condition is not implemented by Portvakt; remove it";
    pub const USER_ACTIONS: &str = "user actions (registering security information, registering or joining devices) do not exist in Portvakt; target applications instead, or leave this policy out";
    pub const AUTH_CONTEXT: &str = "authentication contexts are not implemented by Portvakt; target applications instead, or leave this policy out";
    pub const APP_FILTER: &str = "application filters need custom security attributes, which Portvakt does not have; list the applications instead";
    pub const GSA: &str = "Global Secure Access traffic profiles do not exist in Portvakt; target applications instead";
    pub const SP_FILTER: &str = "service principal filters need custom security attributes, which Portvakt does not have; list the service principals instead";
    pub const AGENT_SPS: &str = "agent identity service principals (Microsoft Entra Agent ID) do not exist in Portvakt; leave this policy out";
    pub const APP_ENFORCED: &str = "app-enforced restrictions are honoured only by Exchange Online and SharePoint Online, which Portvakt does not serve; remove the session control";
    pub const CLOUD_APP_SECURITY: &str = "Conditional Access App Control needs Microsoft Defender for Cloud Apps, which Portvakt does not have; remove the session control";
    pub const CAE: &str = "continuous access evaluation is not implemented by Portvakt yet; remove the session control (or set mode to disabled)";
    pub const SECURE_SIGN_IN: &str = "token protection (secure sign-in session) is not implemented by Portvakt; remove the session control";
    pub const SENSITIVE_ACTIONS: &str = "blocking sensitive actions in a session is not implemented by Portvakt; remove the session control";
    pub const GSA_SESSION: &str = "Global Secure Access session controls do not exist in Portvakt; remove the session control";
    pub const SECONDARY_AUTH: &str = "sign-in frequency for secondary authentication only is not implemented; Portvakt always re-authenticates fully (use primaryAndSecondaryAuthentication)";
    pub const DELETED: &str =
        "this policy was deleted in Entra (deletedDateTime is set); import only active policies";
    pub const PARTIAL: &str = "partial enablement strategies are not implemented by Portvakt; remove partialEnablementStrategy";
    pub const COUNTRY: &str = "country named locations need a GeoIP database, which Portvakt does not have; use an ipNamedLocation listing the countries' IP ranges instead";
    pub const COMPLIANT_NETWORK: &str = "compliant network locations need Global Secure Access, which Portvakt does not have; use an ipNamedLocation instead";
}

fn enum_value<T: Copy>(
    s: &str,
    path: &str,
    allowed: &[(&str, T)],
    what: &str,
    p: &mut Vec<Problem>,
) -> Option<T> {
    if let Some((_, t)) = allowed.iter().find(|(n, _)| *n == s) {
        return Some(*t);
    }
    let names: Vec<&str> = allowed.iter().map(|(n, _)| *n).collect();
    invalid(
        p,
        path,
        format!(
            "`{s}` is not a {what}; Portvakt accepts: {}",
            names.join(", ")
        ),
    );
    None
}

fn required<T>(v: Option<T>, path: String, what: &str, p: &mut Vec<Problem>) -> Option<T> {
    if v.is_none() {
        invalid(p, path, format!("{what} is required"));
    }
    v
}

/// One `conditionalAccessPolicy` at `path`.
pub(crate) fn policy(
    v: &Json,
    path: &str,
    p: &mut Vec<Problem>,
) -> Option<ConditionalAccessPolicy> {
    let fields = object(v, path, "a conditionalAccessPolicy", p)?;
    let before = p.len();
    let (mut id, mut name, mut description, mut state, mut template) =
        (None, None, None, None, None);
    let (mut created, mut modified) = (None, None);
    let mut conditions = None;
    let (mut grant, mut session) = (None, None);
    for (k, x) in fields {
        let kp = key_path(path, k);
        match k.as_str() {
            k if is_annotation(k) => {}
            "id" => id = opt_string(Some(x), &kp, p),
            "displayName" => name = opt_string(Some(x), &kp, p),
            "description" => description = opt_string(Some(x), &kp, p),
            "templateId" => template = opt_string(Some(x), &kp, p),
            "createdDateTime" => created = opt_string(Some(x), &kp, p),
            "modifiedDateTime" => modified = opt_string(Some(x), &kp, p),
            "state" => {
                state = opt_string(Some(x), &kp, p).and_then(|s| {
                    enum_value(
                        &s,
                        &kp,
                        &[
                            ("enabled", PolicyState::Enabled),
                            ("disabled", PolicyState::Disabled),
                            (
                                "enabledForReportingButNotEnforced",
                                PolicyState::EnabledForReportingButNotEnforced,
                            ),
                        ],
                        "policy state",
                        p,
                    )
                })
            }
            "deletedDateTime" => refuse_if_used(x, &kp, msg::DELETED, p),
            "partialEnablementStrategy" => refuse_if_used(x, &kp, msg::PARTIAL, p),
            "conditions" => conditions = condition_set(x, &kp, p),
            "grantControls" => grant = grant_controls(x, &kp, p),
            "sessionControls" => session = session_controls(x, &kp, p),
            _ => p.push(unknown_key(path, k, "conditionalAccessPolicy")),
        }
    }
    let name = required(name, key_path(path, "displayName"), "displayName", p);
    let state = required(state, key_path(path, "state"), "state", p);
    let conditions = required(conditions, key_path(path, "conditions"), "conditions", p);
    if name.as_deref() == Some("") {
        invalid(
            p,
            key_path(path, "displayName"),
            "displayName must not be empty",
        );
    }
    if p.len() > before {
        return None;
    }
    let policy = ConditionalAccessPolicy {
        id,
        display_name: name?,
        description,
        state: state?,
        template_id: template,
        created_date_time: created,
        modified_date_time: modified,
        conditions: conditions?,
        grant_controls: grant.flatten(),
        session_controls: session.flatten(),
    };
    check_policy_rules(&policy, path, p);
    (p.len() == before).then_some(policy)
}

/// Graph's rules across parts of a policy.
fn check_policy_rules(pol: &ConditionalAccessPolicy, path: &str, p: &mut Vec<Problem>) {
    let gpath = key_path(path, "grantControls");
    if let Some(g) = &pol.grant_controls {
        let others = g.built_in_controls.len() > 1
            || !g.custom_authentication_factors.is_empty()
            || !g.terms_of_use.is_empty()
            || g.authentication_strength.is_some();
        if g.built_in_controls.contains(&BuiltInControl::Block) && others {
            invalid(
                p,
                key_path(&gpath, "builtInControls"),
                "block cannot be combined with other grant controls (Entra refuses it too); make block the only control, or remove it",
            );
        }
    }
    let cpath = key_path(path, "conditions");
    if let Some(ca) = &pol.conditions.client_applications {
        let users_target = pol.conditions.users.as_ref().is_some_and(|u| {
            u.include_users.iter().any(|x| x != "None")
                || !u.include_groups.is_empty()
                || !u.include_roles.is_empty()
                || u.include_guests_or_external_users.is_some()
        });
        if users_target {
            invalid(
                p,
                key_path(&cpath, "clientApplications"),
                "a policy targets either users or workload identities, not both; set includeUsers to [\"None\"] or split the policy in two",
            );
        }
        if ca.include_service_principals.is_empty() {
            invalid(
                p,
                key_path(&key_path(&cpath, "clientApplications"), "includeServicePrincipals"),
                "excludeServicePrincipals without includeServicePrincipals targets nobody; include [\"ServicePrincipalsInMyTenant\"] or client ids",
            );
        }
        let only_block = pol.grant_controls.as_ref().is_some_and(|g| {
            g.built_in_controls == [BuiltInControl::Block]
                && g.custom_authentication_factors.is_empty()
                && g.terms_of_use.is_empty()
                && g.authentication_strength.is_none()
        });
        if !only_block {
            invalid(
                p,
                gpath,
                "Conditional Access for workload identities supports only the block control (as in Entra); make block the only grant control",
            );
        }
        if pol.session_controls.is_some() {
            invalid(
                p,
                key_path(path, "sessionControls"),
                "session controls do not apply to workload identities (as in Entra); remove them",
            );
        }
    }
}

fn condition_set(v: &Json, path: &str, p: &mut Vec<Problem>) -> Option<ConditionSet> {
    let fields = object(v, path, "a conditionalAccessConditionSet", p)?;
    let mut c = ConditionSet::default();
    for (k, x) in fields {
        let kp = key_path(path, k);
        match k.as_str() {
            k if is_annotation(k) => {}
            "users" => c.users = users(x, &kp, p),
            "applications" => c.applications = applications(x, &kp, p),
            "clientApplications" => c.client_applications = client_applications(x, &kp, p),
            "clientAppTypes" => {
                for (ip, s) in string_list(Some(x), &kp, p) {
                    let all: Vec<(&str, ClientAppType)> = ClientAppType::ALL
                        .iter()
                        .map(|t| (t.as_str(), *t))
                        .collect();
                    if let Some(t) = enum_value(&s, &ip, &all, "client app type", p) {
                        c.client_app_types.push(t);
                    }
                }
            }
            "platforms" => c.platforms = platforms(x, &kp, p),
            "locations" => c.locations = locations(x, &kp, p),
            "authenticationFlows" => c.authentication_flows = authentication_flows(x, &kp, p),
            "userRiskLevels" => refuse_if_used(x, &kp, msg::USER_RISK, p),
            "signInRiskLevels" => refuse_if_used(x, &kp, msg::SIGN_IN_RISK, p),
            "servicePrincipalRiskLevels" => refuse_if_used(x, &kp, msg::SP_RISK, p),
            "insiderRiskLevels" => refuse_if_used(x, &kp, msg::INSIDER_RISK, p),
            "agentIdRiskLevels" => refuse_if_used(x, &kp, msg::AGENT_RISK, p),
            "agents" => refuse_used_fields(x, &kp, msg::AGENTS, p),
            "devices" => refuse_used_fields(x, &kp, msg::DEVICES, p),
            "deviceStates" => refuse_used_fields(x, &kp, msg::DEVICE_STATES, p),
            "times" => refuse_used_fields(x, &kp, msg::TIMES, p),
            "clients" => refuse_used_fields(x, &kp, msg::CLIENTS, p),
            _ => p.push(unknown_key(path, k, "conditionalAccessConditionSet")),
        }
    }
    Some(c)
}

/// The fields of an optional condition object; `None` (no problem) when it is empty,
/// including the `[]` some templates write for an unset object.
fn optional_object<'a>(
    v: &'a Json,
    path: &str,
    what: &str,
    p: &mut Vec<Problem>,
) -> Option<&'a [(String, Json)]> {
    if v.is_empty() && !matches!(v, Json::Object(_)) {
        return None;
    }
    object(v, path, what, p)
}

fn users(v: &Json, path: &str, p: &mut Vec<Problem>) -> Option<Users> {
    let fields = optional_object(v, path, "conditionalAccessUsers", p)?;
    let mut u = Users::default();
    for (k, x) in fields {
        let kp = key_path(path, k);
        let list = |p: &mut Vec<Problem>| -> Vec<String> {
            string_list(Some(x), &kp, p)
                .into_iter()
                .map(|(_, s)| s)
                .collect()
        };
        match k.as_str() {
            k if is_annotation(k) => {}
            "includeUsers" => u.include_users = list(p),
            "excludeUsers" => u.exclude_users = list(p),
            "includeGroups" => u.include_groups = list(p),
            "excludeGroups" => u.exclude_groups = list(p),
            "includeRoles" => u.include_roles = list(p),
            "excludeRoles" => u.exclude_roles = list(p),
            "includeGuestsOrExternalUsers" => {
                u.include_guests_or_external_users = guests(x, &kp, p)
            }
            "excludeGuestsOrExternalUsers" => {
                u.exclude_guests_or_external_users = guests(x, &kp, p)
            }
            _ => p.push(unknown_key(path, k, "conditionalAccessUsers")),
        }
    }
    for (i, s) in u.exclude_users.iter().enumerate() {
        if s == "All" || s == "None" {
            invalid(
                p,
                index_path(&key_path(path, "excludeUsers"), i),
                format!("`{s}` is a keyword of includeUsers; excludeUsers lists users (or GuestsOrExternalUsers)"),
            );
        }
    }
    Some(u)
}

const GUEST_TYPES: [&str; 7] = [
    "none",
    "internalGuest",
    "b2bCollaborationGuest",
    "b2bCollaborationMember",
    "b2bDirectConnectUser",
    "otherExternalUser",
    "serviceProvider",
];

fn guests(v: &Json, path: &str, p: &mut Vec<Problem>) -> Option<GuestsOrExternalUsers> {
    if v.is_empty() {
        return None;
    }
    let fields = object(v, path, "conditionalAccessGuestsOrExternalUsers", p)?;
    let (mut types, mut tenants) = (String::new(), None);
    for (k, x) in fields {
        let kp = key_path(path, k);
        match k.as_str() {
            k if is_annotation(k) => {}
            "guestOrExternalUserTypes" => {
                types = opt_string(Some(x), &kp, p).unwrap_or_default();
                for t in types.split(',').map(str::trim).filter(|t| !t.is_empty()) {
                    if !GUEST_TYPES.contains(&t) {
                        invalid(
                            p,
                            kp.clone(),
                            format!(
                                "`{t}` is not a guest or external user type; Graph's are: {}",
                                GUEST_TYPES.join(", ")
                            ),
                        );
                    }
                }
            }
            "externalTenants" => tenants = external_tenants(x, &kp, p),
            _ => p.push(unknown_key(
                path,
                k,
                "conditionalAccessGuestsOrExternalUsers",
            )),
        }
    }
    Some(GuestsOrExternalUsers {
        guest_or_external_user_types: types,
        external_tenants: tenants,
    })
}

fn external_tenants(v: &Json, path: &str, p: &mut Vec<Problem>) -> Option<ExternalTenants> {
    if v.is_empty() {
        return None;
    }
    let fields = object(v, path, "conditionalAccessExternalTenants", p)?;
    let (mut kind, mut members) = (String::new(), Vec::new());
    for (k, x) in fields {
        let kp = key_path(path, k);
        match k.as_str() {
            k if is_annotation(k) => {}
            "membershipKind" => {
                kind = opt_string(Some(x), &kp, p).unwrap_or_default();
                if kind != "all" && kind != "enumerated" {
                    invalid(
                        p,
                        kp,
                        format!("`{kind}` is not a membership kind; Graph's are all, enumerated"),
                    );
                }
            }
            "members" => {
                members = string_list(Some(x), &kp, p)
                    .into_iter()
                    .map(|(_, s)| s)
                    .collect()
            }
            _ => p.push(unknown_key(path, k, "conditionalAccessExternalTenants")),
        }
    }
    Some(ExternalTenants {
        membership_kind: kind,
        members,
    })
}

fn applications(v: &Json, path: &str, p: &mut Vec<Problem>) -> Option<Applications> {
    let fields = optional_object(v, path, "conditionalAccessApplications", p)?;
    let mut a = Applications::default();
    for (k, x) in fields {
        let kp = key_path(path, k);
        match k.as_str() {
            k if is_annotation(k) => {}
            "includeApplications" => {
                a.include_applications = string_list(Some(x), &kp, p)
                    .into_iter()
                    .map(|(_, s)| s)
                    .collect()
            }
            "excludeApplications" => {
                a.exclude_applications = string_list(Some(x), &kp, p)
                    .into_iter()
                    .map(|(_, s)| s)
                    .collect()
            }
            "includeUserActions" => refuse_if_used(x, &kp, msg::USER_ACTIONS, p),
            "includeAuthenticationContextClassReferences" => {
                refuse_if_used(x, &kp, msg::AUTH_CONTEXT, p)
            }
            "applicationFilter" => refuse_if_used(x, &kp, msg::APP_FILTER, p),
            "networkAccess" | "globalSecureAccess" => refuse_used_fields(x, &kp, msg::GSA, p),
            _ => p.push(unknown_key(path, k, "conditionalAccessApplications")),
        }
    }
    for (i, s) in a.exclude_applications.iter().enumerate() {
        if s == "All" || s == "None" {
            invalid(
                p,
                index_path(&key_path(path, "excludeApplications"), i),
                format!("`{s}` is a keyword of includeApplications; excludeApplications lists applications"),
            );
        }
    }
    Some(a)
}

fn client_applications(v: &Json, path: &str, p: &mut Vec<Problem>) -> Option<ClientApplications> {
    let fields = optional_object(v, path, "conditionalAccessClientApplications", p)?;
    let mut c = ClientApplications::default();
    for (k, x) in fields {
        let kp = key_path(path, k);
        match k.as_str() {
            k if is_annotation(k) => {}
            "includeServicePrincipals" => {
                c.include_service_principals = string_list(Some(x), &kp, p)
                    .into_iter()
                    .map(|(_, s)| s)
                    .collect()
            }
            "excludeServicePrincipals" => {
                c.exclude_service_principals = string_list(Some(x), &kp, p)
                    .into_iter()
                    .map(|(_, s)| s)
                    .collect()
            }
            "servicePrincipalFilter" => refuse_if_used(x, &kp, msg::SP_FILTER, p),
            "includeAgentIdServicePrincipals"
            | "excludeAgentIdServicePrincipals"
            | "agentIdServicePrincipalFilter" => refuse_if_used(x, &kp, msg::AGENT_SPS, p),
            _ => p.push(unknown_key(path, k, "conditionalAccessClientApplications")),
        }
    }
    if c.include_service_principals.is_empty() && c.exclude_service_principals.is_empty() {
        return None;
    }
    Some(c)
}

fn platforms(v: &Json, path: &str, p: &mut Vec<Problem>) -> Option<Platforms> {
    let fields = optional_object(v, path, "conditionalAccessPlatforms", p)?;
    let mut allowed: Vec<(&str, PlatformSelector)> = vec![("all", PlatformSelector::All)];
    allowed.extend(
        DevicePlatform::ALL
            .iter()
            .map(|d| (d.as_str(), PlatformSelector::Platform(*d))),
    );
    let (mut inc, mut exc) = (Vec::new(), Vec::new());
    for (k, x) in fields {
        let kp = key_path(path, k);
        let list = |p: &mut Vec<Problem>| -> Vec<PlatformSelector> {
            string_list(Some(x), &kp, p)
                .into_iter()
                .filter_map(|(ip, s)| enum_value(&s, &ip, &allowed, "device platform", p))
                .collect()
        };
        match k.as_str() {
            k if is_annotation(k) => {}
            "includePlatforms" => inc = list(p),
            "excludePlatforms" => exc = list(p),
            _ => p.push(unknown_key(path, k, "conditionalAccessPlatforms")),
        }
    }
    if let Some(i) = exc.iter().position(|s| *s == PlatformSelector::All) {
        invalid(
            p,
            index_path(&key_path(path, "excludePlatforms"), i),
            "excluding `all` platforms makes the policy apply to nobody; remove the platforms condition or the policy",
        );
    }
    match (inc.is_empty(), exc.is_empty()) {
        (true, true) => None,
        (true, false) => {
            invalid(
                p,
                key_path(path, "includePlatforms"),
                "excludePlatforms is set but includePlatforms is empty; include [\"all\"] to mean every other platform",
            );
            None
        }
        _ => Some(Platforms {
            include_platforms: inc,
            exclude_platforms: exc,
        }),
    }
}

fn locations(v: &Json, path: &str, p: &mut Vec<Problem>) -> Option<Locations> {
    let fields = optional_object(v, path, "conditionalAccessLocations", p)?;
    let (mut inc, mut exc) = (Vec::new(), Vec::new());
    for (k, x) in fields {
        let kp = key_path(path, k);
        match k.as_str() {
            k if is_annotation(k) => {}
            "includeLocations" => {
                inc = string_list(Some(x), &kp, p)
                    .into_iter()
                    .map(|(_, s)| s)
                    .collect()
            }
            "excludeLocations" => {
                exc = string_list(Some(x), &kp, p)
                    .into_iter()
                    .map(|(_, s)| s)
                    .collect()
            }
            _ => p.push(unknown_key(path, k, "conditionalAccessLocations")),
        }
    }
    for (i, s) in exc.iter().enumerate() {
        if s == "All" {
            invalid(
                p,
                index_path(&key_path(path, "excludeLocations"), i),
                "excluding `All` locations makes the policy apply to nobody; remove the locations condition or the policy",
            );
        }
    }
    match (inc.is_empty(), exc.is_empty()) {
        (true, true) => None,
        (true, false) => {
            invalid(
                p,
                key_path(path, "includeLocations"),
                "excludeLocations is set but includeLocations is empty; include [\"All\"] to mean every other location",
            );
            None
        }
        _ => Some(Locations {
            include_locations: inc,
            exclude_locations: exc,
        }),
    }
}

fn authentication_flows(v: &Json, path: &str, p: &mut Vec<Problem>) -> Option<AuthenticationFlows> {
    let fields = optional_object(v, path, "conditionalAccessAuthenticationFlows", p)?;
    let mut methods = Vec::new();
    for (k, x) in fields {
        let kp = key_path(path, k);
        match k.as_str() {
            k if is_annotation(k) => {}
            "transferMethods" => {
                let s = opt_string(Some(x), &kp, p).unwrap_or_default();
                for m in s
                    .split(',')
                    .map(str::trim)
                    .filter(|m| !m.is_empty() && *m != "none")
                {
                    let allowed = [
                        ("deviceCodeFlow", TransferMethod::DeviceCodeFlow),
                        (
                            "authenticationTransfer",
                            TransferMethod::AuthenticationTransfer,
                        ),
                    ];
                    if let Some(t) = enum_value(m, &kp, &allowed, "transfer method", p) {
                        if !methods.contains(&t) {
                            methods.push(t);
                        }
                    }
                }
            }
            _ => p.push(unknown_key(path, k, "conditionalAccessAuthenticationFlows")),
        }
    }
    (!methods.is_empty()).then_some(AuthenticationFlows {
        transfer_methods: methods,
    })
}

fn grant_controls(v: &Json, path: &str, p: &mut Vec<Problem>) -> Option<Option<GrantControls>> {
    if v.is_empty() && !matches!(v, Json::Object(_)) {
        return Some(None);
    }
    let fields = object(v, path, "conditionalAccessGrantControls", p)?;
    let mut g = GrantControls {
        operator: GrantOperator::Or,
        built_in_controls: Vec::new(),
        custom_authentication_factors: Vec::new(),
        terms_of_use: Vec::new(),
        authentication_strength: None,
    };
    let allowed = [
        ("block", BuiltInControl::Block),
        ("mfa", BuiltInControl::Mfa),
        ("passwordChange", BuiltInControl::PasswordChange),
        ("compliantDevice", BuiltInControl::CompliantDevice),
        ("domainJoinedDevice", BuiltInControl::DomainJoinedDevice),
        ("approvedApplication", BuiltInControl::ApprovedApplication),
        ("compliantApplication", BuiltInControl::CompliantApplication),
        ("riskRemediation", BuiltInControl::RiskRemediation),
    ];
    for (k, x) in fields {
        let kp = key_path(path, k);
        match k.as_str() {
            k if is_annotation(k) => {}
            "operator" => {
                if let Some(s) = opt_string(Some(x), &kp, p) {
                    if let Some(o) = enum_value(
                        &s,
                        &kp,
                        &[("AND", GrantOperator::And), ("OR", GrantOperator::Or)],
                        "grant operator",
                        p,
                    ) {
                        g.operator = o;
                    }
                }
            }
            "builtInControls" => {
                for (ip, s) in string_list(Some(x), &kp, p) {
                    if let Some(c) = enum_value(&s, &ip, &allowed, "built-in grant control", p) {
                        if !g.built_in_controls.contains(&c) {
                            g.built_in_controls.push(c);
                        }
                    }
                }
            }
            "customAuthenticationFactors" => {
                g.custom_authentication_factors = string_list(Some(x), &kp, p)
                    .into_iter()
                    .map(|(_, s)| s)
                    .collect()
            }
            "termsOfUse" => {
                g.terms_of_use = string_list(Some(x), &kp, p)
                    .into_iter()
                    .map(|(_, s)| s)
                    .collect()
            }
            "authenticationStrength" => {
                g.authentication_strength = authentication_strength(x, &kp, p)
            }
            _ => p.push(unknown_key(path, k, "conditionalAccessGrantControls")),
        }
    }
    let empty = g.built_in_controls.is_empty()
        && g.custom_authentication_factors.is_empty()
        && g.terms_of_use.is_empty()
        && g.authentication_strength.is_none();
    Some((!empty).then_some(g))
}

fn authentication_strength(
    v: &Json,
    path: &str,
    p: &mut Vec<Problem>,
) -> Option<AuthenticationStrength> {
    if v.is_empty() {
        return None;
    }
    let fields = object(v, path, "authenticationStrengthPolicy", p)?;
    let (mut id, mut name) = (None, None);
    for (k, x) in fields {
        let kp = key_path(path, k);
        match k.as_str() {
            k if is_annotation(k) => {}
            "id" => id = opt_string(Some(x), &kp, p),
            "displayName" => name = opt_string(Some(x), &kp, p),
            // Graph's read-only copy of the strength: its id decides.
            "description"
            | "policyType"
            | "requirementsSatisfied"
            | "allowedCombinations"
            | "combinationConfigurations"
            | "createdDateTime"
            | "modifiedDateTime" => {}
            _ => p.push(unknown_key(path, k, "authenticationStrengthPolicy")),
        }
    }
    let id = required(
        id,
        key_path(path, "id"),
        "the authentication strength's id",
        p,
    )?;
    Some(AuthenticationStrength {
        id,
        display_name: name,
    })
}

/// Whether a session control object Portvakt does not implement is used: `null`,
/// empty, `isEnabled: false` or (continuous access evaluation) `mode: disabled` are
/// not uses.
fn session_control_used(v: &Json) -> bool {
    if v.is_empty() {
        return false;
    }
    if let Json::Object(f) = v {
        let get = |key: &str| f.iter().find(|(k, _)| k == key).map(|(_, x)| x);
        if matches!(get("isEnabled"), Some(Json::Bool(false))) {
            return false;
        }
        if matches!(get("mode"), Some(Json::String(m)) if m == "disabled") {
            return false;
        }
    }
    true
}

fn session_controls(v: &Json, path: &str, p: &mut Vec<Problem>) -> Option<Option<SessionControls>> {
    if v.is_empty() && !matches!(v, Json::Object(_)) {
        return Some(None);
    }
    let fields = object(v, path, "conditionalAccessSessionControls", p)?;
    let mut s = SessionControls::default();
    for (k, x) in fields {
        let kp = key_path(path, k);
        let refuse = |m: &str, p: &mut Vec<Problem>| {
            if session_control_used(x) {
                unsupported(p, kp.clone(), m);
            }
        };
        match k.as_str() {
            k if is_annotation(k) => {}
            "signInFrequency" => s.sign_in_frequency = sign_in_frequency(x, &kp, p),
            "persistentBrowser" => s.persistent_browser = persistent_browser(x, &kp, p),
            "disableResilienceDefaults" => {
                s.disable_resilience_defaults = opt_bool(Some(x), &kp, p).unwrap_or(false)
            }
            "applicationEnforcedRestrictions" => refuse(msg::APP_ENFORCED, p),
            "cloudAppSecurity" => refuse(msg::CLOUD_APP_SECURITY, p),
            "continuousAccessEvaluation" => refuse(msg::CAE, p),
            "secureSignInSession" => refuse(msg::SECURE_SIGN_IN, p),
            "blockSensitiveActions" => refuse(msg::SENSITIVE_ACTIONS, p),
            "networkAccessSecurity" | "globalSecureAccessFilteringProfile" => {
                refuse(msg::GSA_SESSION, p)
            }
            _ => p.push(unknown_key(path, k, "conditionalAccessSessionControls")),
        }
    }
    let empty = s.sign_in_frequency.is_none()
        && s.persistent_browser.is_none()
        && !s.disable_resilience_defaults;
    Some((!empty).then_some(s))
}

fn sign_in_frequency(v: &Json, path: &str, p: &mut Vec<Problem>) -> Option<SignInFrequency> {
    if v.is_empty() {
        return None;
    }
    let fields = object(v, path, "signInFrequencySessionControl", p)?;
    let before = p.len();
    let (mut value, mut unit, mut interval, mut enabled) = (None, None, None, None);
    for (k, x) in fields {
        let kp = key_path(path, k);
        match k.as_str() {
            k if is_annotation(k) => {}
            "value" => match x {
                Json::Null => {}
                Json::Number(n) => match n.as_u64().and_then(|n| u32::try_from(n).ok()) {
                    Some(n) if n >= 1 => value = Some(n),
                    _ => invalid(
                        p,
                        kp,
                        format!("`{n}` is not a whole number of hours or days (at least 1)"),
                    ),
                },
                other => invalid(p, kp, format!("expected a number, found {}", other.kind())),
            },
            "type" => {
                unit = opt_string(Some(x), &kp, p).and_then(|s| {
                    enum_value(
                        &s,
                        &kp,
                        &[
                            ("hours", FrequencyUnit::Hours),
                            ("days", FrequencyUnit::Days),
                        ],
                        "sign-in frequency type",
                        p,
                    )
                })
            }
            "frequencyInterval" => {
                interval = opt_string(Some(x), &kp, p).and_then(|s| {
                    enum_value(
                        &s,
                        &kp,
                        &[("timeBased", true), ("everyTime", false)],
                        "frequency interval",
                        p,
                    )
                })
            }
            "authenticationType" => {
                if let Some(s) = opt_string(Some(x), &kp, p) {
                    match s.as_str() {
                        "primaryAndSecondaryAuthentication" => {}
                        "secondaryAuthentication" => unsupported(p, kp, msg::SECONDARY_AUTH),
                        _ => invalid(
                            p,
                            kp,
                            format!("`{s}` is not an authentication type; Graph's are primaryAndSecondaryAuthentication, secondaryAuthentication"),
                        ),
                    }
                }
            }
            "isEnabled" => enabled = opt_bool(Some(x), &kp, p),
            _ => p.push(unknown_key(path, k, "signInFrequencySessionControl")),
        }
    }
    if enabled == Some(false) || p.len() > before {
        return None;
    }
    // `isEnabled` absent: the control is written out, so it is meant (fail toward
    // enforcement).
    let interval = match (interval.unwrap_or(true), value, unit) {
        (true, Some(value), Some(unit)) => FrequencyInterval::TimeBased { value, unit },
        (true, _, _) => {
            invalid(
                p,
                path,
                "a timeBased sign-in frequency needs value and type (hours or days); give both, or use frequencyInterval everyTime",
            );
            return None;
        }
        (false, None, None) => FrequencyInterval::EveryTime,
        (false, _, _) => {
            invalid(
                p,
                path,
                "an everyTime sign-in frequency takes no value or type; set them to null",
            );
            return None;
        }
    };
    if let FrequencyInterval::TimeBased { value, unit } = interval {
        let max = match unit {
            FrequencyUnit::Hours => 8760,
            FrequencyUnit::Days => 365,
        };
        if value > max {
            invalid(
                p,
                key_path(path, "value"),
                format!("{value} is longer than a year; use at most {max}"),
            );
            return None;
        }
    }
    Some(SignInFrequency { interval })
}

fn persistent_browser(v: &Json, path: &str, p: &mut Vec<Problem>) -> Option<PersistentBrowser> {
    if v.is_empty() {
        return None;
    }
    let fields = object(v, path, "persistentBrowserSessionControl", p)?;
    let (mut mode, mut enabled) = (None, None);
    for (k, x) in fields {
        let kp = key_path(path, k);
        match k.as_str() {
            k if is_annotation(k) => {}
            "mode" => {
                mode = opt_string(Some(x), &kp, p).and_then(|s| {
                    enum_value(
                        &s,
                        &kp,
                        &[
                            ("always", PersistentBrowserMode::Always),
                            ("never", PersistentBrowserMode::Never),
                        ],
                        "persistent browser mode",
                        p,
                    )
                })
            }
            "isEnabled" => enabled = opt_bool(Some(x), &kp, p),
            _ => p.push(unknown_key(path, k, "persistentBrowserSessionControl")),
        }
    }
    if enabled == Some(false) {
        return None;
    }
    let mode = required(mode, key_path(path, "mode"), "mode (always or never)", p)?;
    Some(PersistentBrowser { mode })
}

/// One named location at `path`.
fn named_location(v: &Json, path: &str, p: &mut Vec<Problem>) -> Option<NamedLocation> {
    let fields = object(v, path, "a namedLocation", p)?;
    let has = |key: &str| fields.iter().any(|(k, _)| k == key);
    match odata_type(fields) {
        Some("#microsoft.graph.ipNamedLocation") => {}
        Some("#microsoft.graph.countryNamedLocation") => {
            unsupported(p, key_path(path, "countriesAndRegions"), msg::COUNTRY);
            return None;
        }
        Some("#microsoft.graph.compliantNetworkNamedLocation") => {
            unsupported(
                p,
                key_path(path, "compliantNetworkType"),
                msg::COMPLIANT_NETWORK,
            );
            return None;
        }
        Some(other) => {
            invalid(
                p,
                key_path(path, "@odata.type"),
                format!("`{other}` is not a named location type Portvakt reads; it reads #microsoft.graph.ipNamedLocation"),
            );
            return None;
        }
        None if has("countriesAndRegions") => {
            unsupported(p, key_path(path, "countriesAndRegions"), msg::COUNTRY);
            return None;
        }
        None if has("compliantNetworkType") => {
            unsupported(
                p,
                key_path(path, "compliantNetworkType"),
                msg::COMPLIANT_NETWORK,
            );
            return None;
        }
        None if has("ipRanges") => {}
        None if has("conditions") => {
            invalid(
                p,
                path,
                "this is a conditionalAccessPolicy, not a named location; import it as a policy",
            );
            return None;
        }
        None => {
            invalid(
                p,
                path,
                "cannot tell what kind of named location this is; add \"@odata.type\": \"#microsoft.graph.ipNamedLocation\" and ipRanges",
            );
            return None;
        }
    }
    let before = p.len();
    let mut loc = NamedLocation {
        id: None,
        display_name: String::new(),
        is_trusted: false,
        ip_ranges: Vec::new(),
        created_date_time: None,
        modified_date_time: None,
    };
    let mut name = None;
    let mut ranges_seen = false;
    for (k, x) in fields {
        let kp = key_path(path, k);
        match k.as_str() {
            k if is_annotation(k) => {}
            "id" => loc.id = opt_string(Some(x), &kp, p),
            "displayName" => name = opt_string(Some(x), &kp, p),
            "createdDateTime" => loc.created_date_time = opt_string(Some(x), &kp, p),
            "modifiedDateTime" => loc.modified_date_time = opt_string(Some(x), &kp, p),
            "deletedDateTime" => refuse_if_used(x, &kp, "this named location was deleted in Entra (deletedDateTime is set); import only active ones", p),
            "isTrusted" => loc.is_trusted = opt_bool(Some(x), &kp, p).unwrap_or(false),
            "ipRanges" => {
                ranges_seen = true;
                loc.ip_ranges = ip_ranges(x, &kp, p);
            }
            "locationType" => p.push(Problem::new(
                kp,
                ProblemKind::UnknownKey,
                "`locationType` is not a Graph property: Graph names the kind with \"@odata.type\": \"#microsoft.graph.ipNamedLocation\"; write that instead (and remove other non-Graph keys such as note)",
            )),
            _ => p.push(unknown_key(path, k, "ipNamedLocation")),
        }
    }
    match name {
        Some(n) if !n.is_empty() => loc.display_name = n,
        _ => invalid(p, key_path(path, "displayName"), "displayName is required"),
    }
    if ranges_seen && loc.ip_ranges.is_empty() && p.len() == before {
        invalid(
            p,
            key_path(path, "ipRanges"),
            "an IP named location needs at least one range",
        );
    }
    (p.len() == before).then_some(loc)
}

fn ip_ranges(v: &Json, path: &str, p: &mut Vec<Problem>) -> Vec<IpCidr> {
    let Json::Array(items) = v else {
        invalid(
            p,
            path,
            format!("expected an array of ranges, found {}", v.kind()),
        );
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let ip = index_path(path, i);
        let Some(fields) = object(item, &ip, "an iPv4CidrRange or iPv6CidrRange", p) else {
            continue;
        };
        let mut cidr = None;
        for (k, x) in fields {
            let kp = key_path(&ip, k);
            match k.as_str() {
                k if is_annotation(k) => {}
                "cidrAddress" => {
                    if let Some(s) = opt_string(Some(x), &kp, p) {
                        match s.parse::<IpCidr>() {
                            Ok(c) => cidr = Some(c),
                            Err(e) => invalid(p, kp, e),
                        }
                    }
                }
                _ => p.push(unknown_key(&ip, k, "iPv4CidrRange / iPv6CidrRange")),
            }
        }
        let Some(c) = required(cidr, key_path(&ip, "cidrAddress"), "cidrAddress", p) else {
            continue;
        };
        match odata_type(fields) {
            None => {}
            Some("#microsoft.graph.iPv4CidrRange") if !c.is_ipv6() => {}
            Some("#microsoft.graph.iPv6CidrRange") if c.is_ipv6() => {}
            Some(t) => invalid(
                p,
                key_path(&ip, "@odata.type"),
                format!("`{t}` does not match the range {c}; use #microsoft.graph.iPv4CidrRange or #microsoft.graph.iPv6CidrRange as the address is"),
            ),
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(json: &str) -> Vec<(String, ProblemKind)> {
        match parse_policies(json.as_bytes()) {
            Ok(_) => Vec::new(),
            Err(e) => e.problems.into_iter().map(|p| (p.path, p.kind)).collect(),
        }
    }

    const BASE: &str = r#"{"displayName":"P","state":"enabled","conditions":{"users":{"includeUsers":["All"]},"applications":{"includeApplications":["All"]},"clientAppTypes":["all"]},"grantControls":{"operator":"OR","builtInControls":["mfa"]}}"#;

    fn with(path_json: &str) -> String {
        // Inserts extra members into the conditions object of BASE.
        BASE.replacen(
            "\"clientAppTypes\":[\"all\"]",
            &format!("\"clientAppTypes\":[\"all\"],{path_json}"),
            1,
        )
    }

    #[test]
    fn base_policy_parses_and_normalises() {
        let p = parse_policies(BASE.as_bytes()).expect("parses");
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].state, PolicyState::Enabled);
        assert_eq!(p[0].conditions.platforms, None);
        let g = p[0].grant_controls.as_ref().expect("grant");
        assert_eq!(g.built_in_controls, [BuiltInControl::Mfa]);
    }

    #[test]
    fn array_and_collection_paths() {
        let arr = format!("[{BASE},{}]", with(r#""userRiskLevels":["high"]"#));
        assert_eq!(
            refused(&arr),
            [(
                "$[1].conditions.userRiskLevels".to_owned(),
                ProblemKind::Unsupported
            )]
        );
        let coll = format!(
            r#"{{"@odata.context":"x","value":[{BASE},{}]}}"#,
            with(r#""signInRiskLevels":["high"]"#)
        );
        assert_eq!(
            refused(&coll),
            [(
                "$.value[1].conditions.signInRiskLevels".to_owned(),
                ProblemKind::Unsupported
            )]
        );
        let paged = format!(r#"{{"value":[{BASE}],"@odata.nextLink":"https://graph/next"}}"#);
        assert_eq!(refused(&paged)[0].0, "$[\"@odata.nextLink\"]");
        let e = parse_policies(coll.as_bytes()).expect_err("refused");
        assert!(e.to_string().contains("Identity Protection"), "{e}");
    }

    #[test]
    fn empty_null_false_are_not_uses() {
        let j = with(
            r#""userRiskLevels":[],"signInRiskLevels":[],"insiderRiskLevels":null,"devices":{"includeDevices":[],"deviceFilter":null},"times":null,"locations":[],"agents":{"includeAgentUsers":[],"excludeAgentUsers":[],"agentFilter":null}"#,
        );
        assert_eq!(refused(&j), []);
    }

    #[test]
    fn unsupported_paths_point_at_the_used_field() {
        assert_eq!(
            refused(&with(
                r#""devices":{"includeDevices":[],"deviceFilter":{"mode":"exclude","rule":"x"}}"#
            ))[0]
                .0,
            "$.conditions.devices.deviceFilter"
        );
        let ua = BASE.replace(
            r#""includeApplications":["All"]"#,
            r#""includeApplications":[],"includeUserActions":["urn:user:registerdevice"]"#,
        );
        assert_eq!(
            refused(&ua)[0].0,
            "$.conditions.applications.includeUserActions"
        );
        let cas = BASE.replace(r#""grantControls""#, r#""sessionControls":{"cloudAppSecurity":{"isEnabled":true,"cloudAppSecurityType":"monitorOnly"}},"grantControls""#);
        assert_eq!(refused(&cas)[0].0, "$.sessionControls.cloudAppSecurity");
        let off = BASE.replace(r#""grantControls""#, r#""sessionControls":{"cloudAppSecurity":{"isEnabled":false,"cloudAppSecurityType":"monitorOnly"},"continuousAccessEvaluation":{"mode":"disabled"}},"grantControls""#);
        assert_eq!(refused(&off), []);
    }

    #[test]
    fn unknown_keys_are_case_sensitive() {
        let j = BASE.replace(
            r#""grantControls""#,
            r#""GrantControls":{},"grantControls""#,
        );
        assert_eq!(
            refused(&j),
            [("$.GrantControls".to_owned(), ProblemKind::UnknownKey)]
        );
        let j = with(r#""Users":{}"#);
        assert_eq!(refused(&j)[0].0, "$.conditions.Users");
    }

    #[test]
    fn annotations_are_ignored() {
        let j = BASE.replace(
            r#""state":"enabled""#,
            r##""state@odata.type":"#microsoft.graph.conditionalAccessPolicyState","state":"enabled","@odata.context":"x","#microsoft.graph.restore":{"title":"t","target":"u"}"##,
        );
        assert_eq!(refused(&j), []);
    }

    #[test]
    fn enum_values_and_rules() {
        assert_eq!(
            refused(&BASE.replace("\"mfa\"]", "\"mfa\",\"block\"]"))[0].0,
            "$.grantControls.builtInControls"
        );
        assert_eq!(
            refused(&BASE.replace("\"mfa\"", "\"Mfa\""))[0].0,
            "$.grantControls.builtInControls[0]"
        );
        assert_eq!(
            refused(&BASE.replace("\"enabled\"", "\"on\""))[0].0,
            "$.state"
        );
        assert_eq!(
            refused(&with(
                r#""platforms":{"includePlatforms":["all"],"excludePlatforms":["chromeOS"]}"#
            ))[0]
                .0,
            "$.conditions.platforms.excludePlatforms[0]"
        );
        assert_eq!(
            refused(&with(
                r#""platforms":{"includePlatforms":[],"excludePlatforms":["iOS"]}"#
            ))[0]
                .0,
            "$.conditions.platforms.includePlatforms"
        );
        assert_eq!(
            refused(&with(
                r#""locations":{"includeLocations":[],"excludeLocations":["AllTrusted"]}"#
            ))[0]
                .0,
            "$.conditions.locations.includeLocations"
        );
        assert_eq!(
            refused(&BASE.replace(
                r#"{"includeUsers":["All"]}"#,
                r#"{"includeUsers":["All"],"excludeUsers":["All"]}"#
            ))[0]
                .0,
            "$.conditions.users.excludeUsers[0]"
        );
        assert_eq!(
            refused(&BASE.replace(r#""state":"enabled","#, "")),
            [("$.state".to_owned(), ProblemKind::Invalid)]
        );
    }

    #[test]
    fn workload_identity_rules() {
        let wl = r#"{"displayName":"W","state":"enabled","conditions":{"users":{"includeUsers":["None"]},"applications":{"includeApplications":["All"]},"clientAppTypes":["all"],"clientApplications":{"includeServicePrincipals":["ServicePrincipalsInMyTenant"],"servicePrincipalFilter":null}},"grantControls":{"operator":"OR","builtInControls":["block"]}}"#;
        assert_eq!(refused(wl), []);
        assert_eq!(
            refused(&wl.replace("\"block\"", "\"mfa\"")),
            [("$.grantControls".to_owned(), ProblemKind::Invalid)]
        );
        assert_eq!(
            refused(&wl.replace("[\"None\"]", "[\"All\"]"))[0].0,
            "$.conditions.clientApplications"
        );
        assert_eq!(
            refused(&wl.replace(
                "\"servicePrincipalFilter\":null",
                "\"servicePrincipalFilter\":{\"mode\":\"include\",\"rule\":\"x\"}"
            ))[0]
                .0,
            "$.conditions.clientApplications.servicePrincipalFilter"
        );
    }

    #[test]
    fn sign_in_frequency_forms() {
        let sif = |body: &str| {
            BASE.replace(
                r#""grantControls""#,
                &format!(r#""sessionControls":{{"signInFrequency":{body}}},"grantControls""#),
            )
        };
        let ok = parse_policies(sif(r#"{"authenticationType":"primaryAndSecondaryAuthentication","frequencyInterval":"everyTime","isEnabled":true}"#).as_bytes()).expect("everyTime");
        let s = ok[0]
            .session_controls
            .as_ref()
            .and_then(|s| s.sign_in_frequency.clone());
        assert_eq!(s.map(|s| s.interval), Some(FrequencyInterval::EveryTime));
        let ok = parse_policies(sif(r#"{"value":1,"type":"hours","isEnabled":true}"#).as_bytes())
            .expect("timeBased default");
        let s = ok[0]
            .session_controls
            .as_ref()
            .and_then(|s| s.sign_in_frequency.clone());
        assert_eq!(
            s.map(|s| s.interval),
            Some(FrequencyInterval::TimeBased {
                value: 1,
                unit: FrequencyUnit::Hours
            })
        );
        assert_eq!(
            refused(&sif(r#"{"value":null,"type":"hours","isEnabled":true}"#))[0].0,
            "$.sessionControls.signInFrequency"
        );
        assert_eq!(
            refused(&sif(r#"{"value":0,"type":"hours","isEnabled":true}"#))[0].0,
            "$.sessionControls.signInFrequency.value"
        );
        assert_eq!(
            refused(&sif(
                r#"{"value":4,"type":"hours","authenticationType":"secondaryAuthentication","isEnabled":true}"#
            )),
            [(
                "$.sessionControls.signInFrequency.authenticationType".to_owned(),
                ProblemKind::Unsupported
            )]
        );
        let off = parse_policies(sif(r#"{"value":4,"type":"hours","isEnabled":false}"#).as_bytes())
            .expect("disabled SIF");
        assert_eq!(off[0].session_controls, None);
    }

    #[test]
    fn named_locations() {
        let ok = r##"{"@odata.type":"#microsoft.graph.ipNamedLocation","id":"L1","displayName":"HQ","isTrusted":true,"ipRanges":[{"@odata.type":"#microsoft.graph.iPv4CidrRange","cidrAddress":"203.0.113.0/24"},{"@odata.type":"#microsoft.graph.iPv6CidrRange","cidrAddress":"2001:db8::/32"}]}"##;
        let l = parse_named_locations(ok.as_bytes()).expect("parses");
        assert_eq!(l[0].ip_ranges.len(), 2);
        assert!(l[0].is_trusted);
        let bad_type = ok.replacen("iPv4CidrRange", "iPv6CidrRange", 1);
        let e = parse_named_locations(bad_type.as_bytes()).expect_err("mismatch");
        assert_eq!(e.problems[0].path, "$.ipRanges[0][\"@odata.type\"]");
        let host_bits = ok.replace("203.0.113.0/24", "203.0.113.9/24");
        let e = parse_named_locations(host_bits.as_bytes()).expect_err("host bits");
        assert_eq!(e.problems[0].path, "$.ipRanges[0].cidrAddress");
        let country = r##"{"@odata.type":"#microsoft.graph.countryNamedLocation","displayName":"C","countriesAndRegions":["SE"]}"##;
        let e = parse_named_locations(country.as_bytes()).expect_err("country");
        assert_eq!(e.problems[0].path, "$.countriesAndRegions");
        assert!(e.problems[0].message.contains("GeoIP"));
        let e = parse_named_locations(BASE.as_bytes()).expect_err("a policy");
        assert!(e.problems[0].message.contains("conditionalAccessPolicy"));
    }
}
