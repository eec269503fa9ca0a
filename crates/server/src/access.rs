//! Conditional Access at the HTTP edge: the tenant's compiled policies (built with
//! the tenant view), the sign-in facts gathered from a request, and the decision
//! turned into Portvakt's errors. The rules themselves are `portvakt_policy`'s.
//!
//! Evaluated at every sign-in that issues tokens: the interactive sign-in page (after
//! the password; it can prompt for MFA or a password change), silent authorization
//! with a session, the refresh-token grant and client credentials (non-interactive:
//! what needs interaction becomes `interaction_required`), and the approval of a
//! device code (flow `deviceCodeFlow`).

use crate::error::ApiError;
use portvakt_core::model::{Application, Resource, Role, User};
use portvakt_core::ErrorCode;
use portvakt_policy::agent::{client_app_type, device_detail, ClientKind, Flow};
use portvakt_policy::graph::{ClientAppType, ConditionalAccessPolicy, NamedLocation};
use portvakt_policy::{
    compile, evaluate, AppRef, Decision, DirectoryTables, Evaluation, PolicySet, SignInFacts,
    UserFacts,
};
use portvakt_store::{DirectoryNames, StoredGraphObject};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

/// The client id of Portvakt's admin portal in every tenant, and what Graph's
/// `MicrosoftAdminPortals` means here, with the admin API's resource.
pub const PORTAL_CLIENT_ID: &str = "portvakt-portal";

/// A tenant's Conditional Access, as the tenant view holds it.
pub struct TenantAccess {
    /// The compiled policies (`None`: the tenant has none); `Err` when the stored ones
    /// no longer compile (then user and service sign-ins fail closed, PV4007).
    pub set: Result<Option<Arc<PolicySet>>, String>,
    /// Role name → the id policies know it by (template id, else name).
    roles: HashMap<String, String>,
}

impl TenantAccess {
    /// No policies.
    pub fn none() -> Self {
        Self {
            set: Ok(None),
            roles: HashMap::new(),
        }
    }

    /// Compile the stored policies of a tenant (the view is being built).
    pub fn build(
        roles: &[Role],
        policies: &[StoredGraphObject],
        locations: &[StoredGraphObject],
        names: Option<&DirectoryNames>,
        apps: &[Application],
        resources: &[Resource],
    ) -> Self {
        let role_ids = roles
            .iter()
            .map(|r| (r.name.clone(), r.policy_id().to_string()))
            .collect();
        let set = if policies.is_empty() {
            Ok(None)
        } else {
            let dir = tables(names, roles, apps, resources);
            parse_stored(policies, locations)
                .and_then(|(p, l)| compile(&p, &l, &dir))
                .map(|s| Some(Arc::new(s)))
                .map_err(|e| e.to_string())
        };
        Self {
            set,
            roles: role_ids,
        }
    }

    /// Evaluate `facts`; `Err` when the policies cannot be evaluated (fail closed).
    pub fn evaluate(&self, facts: &SignInFacts) -> Result<Evaluation, ApiError> {
        match &self.set {
            Ok(Some(set)) => Ok(evaluate(set, facts)),
            Ok(None) => Ok(Evaluation {
                decision: Decision::Allowed,
                conditional_access_status: portvakt_policy::ConditionalAccessStatus::NotApplied,
                session: Default::default(),
                matched_locations: vec![],
                trusted_location: false,
                policies: vec![],
            }),
            Err(why) => Err(ApiError::new(ErrorCode::PoliciesUnavailable, why.clone())),
        }
    }

    /// The compiled set, if the tenant has policies that compile.
    pub fn policy_set(&self) -> Option<&Arc<PolicySet>> {
        self.set.as_ref().ok().and_then(Option::as_ref)
    }

    /// The ids of `user`'s roles as policies know them.
    pub fn role_ids(&self, user: &User) -> Vec<String> {
        user.roles
            .iter()
            .map(|r| self.roles.get(r).cloned().unwrap_or_else(|| r.clone()))
            .collect()
    }
}

/// What policy references resolve against in this tenant.
pub fn tables(
    names: Option<&DirectoryNames>,
    roles: &[Role],
    apps: &[Application],
    resources: &[Resource],
) -> DirectoryTables {
    DirectoryTables {
        users: names.map(|n| n.users.clone()).unwrap_or_default(),
        groups: names.map(|n| n.groups.clone()).unwrap_or_default(),
        roles: roles
            .iter()
            .map(|r| (r.policy_id().to_string(), r.name.clone()))
            .chain(
                roles
                    .iter()
                    .filter(|r| r.template_id.is_some())
                    .map(|r| (r.policy_id().to_string(), r.policy_id().to_string())),
            )
            .collect(),
        clients: apps.iter().map(|a| a.client_id.clone()).collect(),
        resources: resources.iter().map(|r| r.identifier.clone()).collect(),
        service_principals: apps
            .iter()
            .filter(|a| a.confidential)
            .map(|a| a.client_id.clone())
            .collect(),
        admin_portals: vec![
            AppRef::Client(PORTAL_CLIENT_ID.into()),
            AppRef::Client(crate::bootstrap::ADMIN_CLIENT_ID.into()),
            AppRef::Resource(crate::bootstrap::ADMIN_RESOURCE.into()),
        ],
    }
}

/// The stored Graph JSON, parsed back.
pub fn parse_stored(
    policies: &[StoredGraphObject],
    locations: &[StoredGraphObject],
) -> Result<(Vec<ConditionalAccessPolicy>, Vec<NamedLocation>), portvakt_policy::Error> {
    let mut ps = Vec::with_capacity(policies.len());
    for p in policies {
        ps.extend(portvakt_policy::parse_policies(p.json.as_bytes())?);
    }
    let mut ls = Vec::with_capacity(locations.len());
    for l in locations {
        ls.extend(portvakt_policy::parse_named_locations(l.json.as_bytes())?);
    }
    Ok((ps, ls))
}

/// The kind of client an application is (for the client app type).
pub fn client_kind(app: &Application) -> ClientKind {
    match (app.confidential, app.redirect_uris.is_empty()) {
        (true, false) => ClientKind::Web,
        (true, true) => ClientKind::Service,
        (false, _) if app.redirect_uris.iter().any(|u| u.starts_with("https://")) => {
            ClientKind::Spa
        }
        (false, _) => ClientKind::Native,
    }
}

/// The client app type of an authorization-code sign-in of `app` whose interactive
/// step came with `user_agent` (kept with the grant so refreshes keep it).
pub fn interactive_client_app_type(app: &Application, user_agent: Option<&str>) -> ClientAppType {
    let browser = user_agent.is_some_and(|ua| device_detail(ua).is_browser);
    client_app_type(Flow::AuthorizationCode, client_kind(app), browser)
}

/// What the request says about where it comes from.
#[derive(Debug, Clone, Copy, Default)]
pub struct Origin<'a> {
    /// The client's address.
    pub ip: Option<IpAddr>,
    /// The `User-Agent` header.
    pub user_agent: Option<&'a str>,
}

/// How the user's session authenticated.
#[derive(Debug, Clone, Copy)]
pub struct Authenticated<'a> {
    /// `amr`.
    pub amr: &'a [String],
    /// `auth_time`.
    pub auth_time: i64,
    /// Whether the user authenticated in this very request.
    pub interactive: bool,
}

/// The facts of a user sign-in.
#[allow(clippy::too_many_arguments)]
pub fn user_facts(
    access: &TenantAccess,
    now: i64,
    user: &User,
    client_id: &str,
    resource: Option<&str>,
    origin: Origin<'_>,
    client_app: Option<ClientAppType>,
    auth: Authenticated<'_>,
) -> SignInFacts {
    let mut f = SignInFacts::user(
        now,
        UserFacts {
            id: user.id.clone(),
            user_principal_name: Some(user.user_principal_name.clone()),
            groups: user.group_ids.clone(),
            roles: access.role_ids(user),
            mfa_registered: user.mfa_registered,
        },
        client_id,
    );
    f.resource = resource.map(str::to_string);
    f.ip_address = origin.ip;
    f.device_platform = origin.user_agent.and_then(|ua| device_detail(ua).platform);
    f.client_app_type = client_app;
    f.interactive = auth.interactive;
    f.authentication.amr = auth.amr.to_vec();
    f.authentication.auth_time = Some(auth.auth_time);
    if auth.amr.iter().any(|a| a == "mfa") {
        f.authentication.mfa_time = Some(auth.auth_time);
    }
    f.authentication.password_changed_at = user.password_changed_at;
    f.normalize();
    f
}

/// The facts of a client-credentials sign-in.
pub fn service_facts(now: i64, client_id: &str, resource: &str, origin: Origin<'_>) -> SignInFacts {
    let mut f = SignInFacts::service_principal(now, client_id);
    f.resource = Some(resource.to_string());
    f.ip_address = origin.ip;
    f.device_platform = origin.user_agent.and_then(|ua| device_detail(ua).platform);
    f.client_app_type = Some(ClientAppType::Other);
    f
}

/// The error a decision other than "allowed" is answered with, naming the policy, its
/// id and the control (for the token endpoint and the redirect of `/authorize`).
pub fn refusal(e: &Evaluation) -> Option<ApiError> {
    let description = e.description()?;
    let policy = match &e.decision {
        Decision::Allowed => None,
        Decision::Blocked { policies } => policies.first(),
        Decision::FailedClosed { failures } => failures.first().map(|f| &f.policy),
        Decision::InteractionRequired { requirements } => requirements.first().map(|r| &r.policy),
    };
    let code = match &e.decision {
        Decision::Allowed => return None,
        Decision::Blocked { .. } => ErrorCode::ConditionalAccessBlocked,
        Decision::FailedClosed { .. } => ErrorCode::ConditionalAccessUnsatisfiable,
        Decision::InteractionRequired { .. } => {
            let r = e.required();
            if r.mfa {
                ErrorCode::MfaRequired
            } else if r.password_change {
                ErrorCode::PasswordChangeRequired
            } else {
                ErrorCode::ReauthenticationRequired
            }
        }
    };
    let mut err = ApiError::new(code, description);
    err.policy = policy.map(|p| (p.id().to_owned(), p.display_name().to_owned()));
    Some(err)
}

/// RFC 3339 UTC, as Graph writes `createdDateTime`.
pub fn graph_time(t: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|d| {
            d.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// Rewrite a problem's path (`$…`, relative to one object) under `prefix`.
fn under(prefix: &str, problem: &portvakt_policy::Problem) -> String {
    format!(
        "{prefix}{}: {}",
        problem.path.strip_prefix('$').unwrap_or(&problem.path),
        problem.message
    )
}

fn invalid(code: ErrorCode, lines: Vec<String>) -> ApiError {
    ApiError::new(code, lines.join("; "))
}

/// The ids of the tenant as it will be after an import or a change: what policy
/// references resolve against.
pub struct Resolvable<'a> {
    /// Users and groups already stored (with the change's on top: see the fields).
    pub names: &'a DirectoryNames,
    /// Users of the change: `(id, upn)`.
    pub more_users: Vec<(String, String)>,
    /// Groups of the change: `(id, name)`.
    pub more_groups: Vec<(String, String)>,
    /// All roles.
    pub roles: Vec<Role>,
    /// All applications.
    pub apps: Vec<Application>,
    /// All resources.
    pub resources: Vec<Resource>,
}

impl Resolvable<'_> {
    fn tables(&self) -> DirectoryTables {
        let mut names = self.names.clone();
        for u in &self.more_users {
            if !names.users.iter().any(|(id, _)| id == &u.0) {
                names.users.push(u.clone());
            }
        }
        for g in &self.more_groups {
            if !names.groups.iter().any(|(id, _)| id == &g.0) {
                names.groups.push(g.clone());
            }
        }
        let mut roles = self.roles.clone();
        if !roles
            .iter()
            .any(|r| r.name == portvakt_core::model::ADMIN_ROLE)
        {
            roles.push(Role {
                name: portvakt_core::model::ADMIN_ROLE.into(),
                template_id: None,
            });
        }
        tables(Some(&names), &roles, &self.apps, &self.resources)
    }
}

/// New and changed policies and named locations, checked against the whole tenant as
/// it will be: parsed strictly, given ids (kept, matched by display name, or new),
/// and compiled with every other stored policy and location. Problems carry the path
/// under `prefix` (`$.tenants[0].conditionalAccessPolicies[2].conditions…`).
pub struct AccessChange {
    /// Policies to store.
    pub policies: Vec<StoredGraphObject>,
    /// Named locations to store.
    pub locations: Vec<StoredGraphObject>,
}

/// Check and prepare policies and locations given as Graph JSON values, for a tenant
/// that has `stored_policies` / `stored_locations` now. `code` is the error code of a
/// problem (PV1406 for an import, PV4006 for the admin API).
#[allow(clippy::too_many_arguments)]
pub fn prepare_change(
    code: ErrorCode,
    now: i64,
    policies_prefix: &str,
    policy_values: &[serde_json::Value],
    locations_prefix: &str,
    location_values: &[serde_json::Value],
    stored_policies: &[StoredGraphObject],
    stored_locations: &[StoredGraphObject],
    resolvable: &Resolvable<'_>,
) -> Result<AccessChange, ApiError> {
    let mut problems = Vec::new();
    // 1. Parse, each object on its own so that problems carry its index.
    let mut new_locations = Vec::new();
    for (i, v) in location_values.iter().enumerate() {
        let prefix = format!("{locations_prefix}[{i}]");
        match serde_json::to_vec(v)
            .map_err(|e| vec![format!("{prefix}: {e}")])
            .and_then(|b| {
                portvakt_policy::parse_named_locations(&b)
                    .map_err(|e| e.problems.iter().map(|p| under(&prefix, p)).collect())
            }) {
            Ok(mut ls) if ls.len() == 1 => new_locations.push((prefix, ls.remove(0))),
            Ok(_) => problems.push(format!("{prefix}: must be one Graph namedLocation object")),
            Err(lines) => problems.extend(lines),
        }
    }
    let mut new_policies = Vec::new();
    for (i, v) in policy_values.iter().enumerate() {
        let prefix = format!("{policies_prefix}[{i}]");
        match serde_json::to_vec(v)
            .map_err(|e| vec![format!("{prefix}: {e}")])
            .and_then(|b| {
                portvakt_policy::parse_policies(&b)
                    .map_err(|e| e.problems.iter().map(|p| under(&prefix, p)).collect())
            }) {
            Ok(mut ps) if ps.len() == 1 => new_policies.push((prefix, ps.remove(0))),
            Ok(_) => problems.push(format!(
                "{prefix}: must be one Graph conditionalAccessPolicy object"
            )),
            Err(lines) => problems.extend(lines),
        }
    }
    if !problems.is_empty() {
        return Err(invalid(code, problems));
    }
    // 2. Ids: kept when given, else the stored object of the same display name's,
    // else new. Display names are unique per tenant.
    let (stored_p, stored_l) = parse_stored(stored_policies, stored_locations)
        .map_err(|e| ApiError::new(ErrorCode::PoliciesUnavailable, e.to_string()))?;
    let by_name = |stored: &[StoredGraphObject], name: &str| {
        stored
            .iter()
            .find(|s| s.display_name == name)
            .map(|s| s.id.clone())
    };
    for (_, l) in &mut new_locations {
        if l.id.is_none() {
            l.id = Some(
                by_name(stored_locations, &l.display_name)
                    .unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
            );
        }
    }
    for (_, p) in &mut new_policies {
        if p.id.is_none() {
            p.id = Some(
                by_name(stored_policies, &p.display_name)
                    .unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
            );
        }
        let old = stored_p.iter().find(|s| s.id == p.id);
        if p.created_date_time.is_none() {
            p.created_date_time = Some(
                old.and_then(|o| o.created_date_time.clone())
                    .unwrap_or_else(|| graph_time(now)),
            );
        }
        let unchanged = old.is_some_and(|o| {
            let mut a = o.clone();
            a.modified_date_time = None;
            let mut b = p.clone();
            b.modified_date_time = None;
            a == b
        });
        // A modifiedDateTime that comes with the object (an export imported back) is
        // kept; otherwise it moves when the policy changed.
        if p.modified_date_time.is_none() {
            p.modified_date_time = match old {
                Some(o) if unchanged => o.modified_date_time.clone(),
                _ => Some(graph_time(now)),
            };
        }
    }
    // 3. The whole tenant after the change compiles.
    let dir = resolvable.tables();
    let mut all_locations: Vec<NamedLocation> = stored_l
        .into_iter()
        .filter(|s| !new_locations.iter().any(|(_, n)| n.id == s.id))
        .collect();
    all_locations.extend(new_locations.iter().map(|(_, l)| l.clone()));
    if let Err(e) = compile(&[], &all_locations, &dir) {
        return Err(invalid(
            code,
            e.problems
                .iter()
                .map(|p| {
                    let prefix = new_locations
                        .iter()
                        .find(|(_, l)| {
                            p.policy
                                .as_deref()
                                .is_some_and(|x| x.contains(&l.display_name))
                        })
                        .map(|(pre, _)| pre.clone())
                        .unwrap_or_else(|| locations_prefix.to_string());
                    under(&prefix, p)
                })
                .collect(),
        ));
    }
    for (prefix, p) in &new_policies {
        if let Err(e) = compile(std::slice::from_ref(p), &all_locations, &dir) {
            problems.extend(e.problems.iter().map(|x| under(prefix, x)));
        }
    }
    if !problems.is_empty() {
        return Err(invalid(code, problems));
    }
    let mut all_policies: Vec<ConditionalAccessPolicy> = stored_p
        .into_iter()
        .filter(|s| !new_policies.iter().any(|(_, n)| n.id == s.id))
        .collect();
    for (prefix, p) in &new_policies {
        if all_policies
            .iter()
            .any(|o| o.display_name == p.display_name)
        {
            problems.push(format!(
                "{prefix}.displayName: '{}' is the name of another policy of this tenant (names are unique; give that policy's id to replace it)",
                p.display_name
            ));
        }
        all_policies.push(p.clone());
    }
    if !problems.is_empty() {
        return Err(invalid(code, problems));
    }
    if let Err(e) = compile(&all_policies, &all_locations, &dir) {
        return Err(invalid(
            code,
            e.problems
                .iter()
                .map(|x| under(policies_prefix, x))
                .collect(),
        ));
    }
    let stored = |id: &Option<String>, name: &str, json: serde_json::Value| StoredGraphObject {
        id: id.clone().unwrap_or_default(),
        display_name: name.to_string(),
        json: json.to_string(),
    };
    Ok(AccessChange {
        policies: new_policies
            .iter()
            .map(|(_, p)| {
                stored(
                    &p.id,
                    &p.display_name,
                    portvakt_policy::export::policy_json(p),
                )
            })
            .collect(),
        locations: new_locations
            .iter()
            .map(|(_, l)| {
                stored(
                    &l.id,
                    &l.display_name,
                    serde_json::to_value(l).unwrap_or_default(),
                )
            })
            .collect(),
    })
}

/// [`prepare_change`] for one tenant of an import file.
#[allow(clippy::too_many_arguments)]
pub fn prepare_import(
    prefix: &str,
    now: i64,
    spec: &portvakt_core::import::TenantSpec,
    existing: Option<&portvakt_store::Directory>,
    names: &DirectoryNames,
    groups: &[portvakt_store::GroupImport],
    users: &[(portvakt_store::NewUser, Vec<String>)],
    resources: &[Resource],
    applications: &[Application],
) -> Result<(Vec<StoredGraphObject>, Vec<StoredGraphObject>), ApiError> {
    if spec.conditional_access_policies.is_empty() && spec.named_locations.is_empty() {
        return Ok((vec![], vec![]));
    }
    let merge = |old: Option<Vec<Role>>, new: &[Role]| {
        let mut v = old.unwrap_or_default();
        for r in new {
            v.retain(|o| o.name != r.name);
            v.push(r.clone());
        }
        v
    };
    let mut apps: Vec<Application> = existing.map(|d| d.applications.clone()).unwrap_or_default();
    apps.retain(|a| !applications.iter().any(|n| n.client_id == a.client_id));
    apps.extend(applications.iter().cloned());
    // Policies may name the portal's built-in client (only its id matters here).
    apps.retain(|a| a.client_id != portvakt_core::names::PORTAL_CLIENT_ID);
    apps.push(crate::portal::application("", &spec.name));
    let mut res: Vec<Resource> = existing.map(|d| d.resources.clone()).unwrap_or_default();
    res.retain(|r| !resources.iter().any(|n| n.identifier == r.identifier));
    res.extend(resources.iter().cloned());
    let resolvable = Resolvable {
        names,
        more_users: users
            .iter()
            .map(|(u, _)| (u.id.clone(), u.user_principal_name.clone()))
            .collect(),
        more_groups: groups
            .iter()
            .filter_map(|g| g.id.clone().map(|id| (id, g.display_name.clone())))
            .collect(),
        roles: merge(existing.map(|d| d.roles.clone()), &spec.roles),
        apps,
        resources: res,
    };
    let change = prepare_change(
        ErrorCode::ImportInvalid,
        now,
        &format!("{prefix}.conditionalAccessPolicies"),
        &spec.conditional_access_policies,
        &format!("{prefix}.namedLocations"),
        &spec.named_locations,
        existing.map(|d| d.policies.as_slice()).unwrap_or_default(),
        existing
            .map(|d| d.named_locations.as_slice())
            .unwrap_or_default(),
        &resolvable,
    )?;
    Ok((change.policies, change.locations))
}

/// Evaluate `facts`, record facts and outcome on the sign-in event, and refuse what
/// the decision does not allow.
pub fn enforce(
    access: &TenantAccess,
    facts: SignInFacts,
    ev: &mut portvakt_core::signin::SignInEvent,
) -> Result<Arc<Evaluation>, ApiError> {
    let outcome = access.evaluate(&facts);
    ev.facts = Some(facts);
    let evaluation = Arc::new(outcome?);
    ev.evaluation = Some(evaluation.clone());
    match refusal(&evaluation) {
        Some(e) => Err(e),
        None => Ok(evaluation),
    }
}

/// Where a sign-in event's request came from, for the facts.
pub trait EventOrigin {
    /// The request's address and User-Agent.
    fn origin(&self) -> Origin<'_>;
}

impl EventOrigin for portvakt_core::signin::SignInEvent {
    fn origin(&self) -> Origin<'_> {
        Origin {
            ip: self.ip_address.as_deref().and_then(|s| s.parse().ok()),
            user_agent: self.user_agent.as_deref(),
        }
    }
}
