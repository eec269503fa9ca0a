//! Reference resolution and the compiled form of a tenant's policies.
//!
//! [`compile`] resolves every reference of every policy through a [`Directory`] (and
//! the tenant's named locations) to a canonical id, and refuses — with the JSON path —
//! any reference the tenant does not have: an exclusion that silently matched nobody
//! could lock everyone out, an inclusion that matched nobody would leave people
//! unprotected. Keywords (`All`, `None`, `AllTrusted`, `Office365`,
//! `MicrosoftAdminPortals`, `GuestsOrExternalUsers`, `ServicePrincipalsInMyTenant`)
//! are not references.
//!
//! The result, [`PolicySet`], is derived data: the policies as given stay the stored
//! truth (and what [`crate::export`] writes), and the set is rebuilt from them whenever
//! they, the named locations or the directory change.
//!
//! Compiled form: every distinct id a policy mentions is interned into a sorted table
//! (users, groups, roles, clients, resources, service principals); policies hold
//! small sorted vectors of indices. An evaluation maps the sign-in's ids to indices
//! once (the user's groups by one merge of two sorted lists) and then tests bits.

use crate::directory::{AppRef, Directory};
use crate::error::{Error, Problem, ProblemKind};
use crate::graph::*;
use crate::json::{index_path, key_path};
use std::collections::BTreeSet;
use std::sync::Arc;

/// A policy's name, id and controls, shared by every result that mentions it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyMeta {
    /// Graph `id`.
    pub id: String,
    /// Graph `displayName`.
    pub display_name: String,
    /// The policy's grant controls, for `enforcedGrantControls` (Graph's control
    /// names; a strength, terms of use or custom factor with its name).
    pub grant_controls: Vec<String>,
    /// The policy's session controls, for `enforcedSessionControls`.
    pub session_controls: Vec<String>,
}

/// The compiled policies and named locations of one tenant, ready to evaluate.
#[derive(Debug, Clone)]
pub struct PolicySet {
    pub(crate) policies: Vec<CompiledPolicy>,
    pub(crate) locations: Vec<CompiledLocation>,
    pub(crate) users: Table,
    pub(crate) groups: Table,
    pub(crate) roles: Table,
    pub(crate) clients: Table,
    pub(crate) resources: Table,
    pub(crate) service_principals: Table,
}

impl PolicySet {
    /// How many policies.
    pub fn len(&self) -> usize {
        self.policies.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.policies.is_empty()
    }

    /// The policies as given, in the order given.
    pub fn sources(&self) -> impl Iterator<Item = &ConditionalAccessPolicy> {
        self.policies.iter().map(|p| p.source.as_ref())
    }
}

/// A sorted table of distinct ids; an id's symbol is its index. `prefixes[i]` is
/// [`prefix`] of `ids[i]`, so most comparisons are one integer compare.
#[derive(Debug, Clone, Default)]
pub(crate) struct Table {
    pub(crate) ids: Vec<Arc<str>>,
    pub(crate) prefixes: Vec<u64>,
}

/// The first 8 bytes of `s`, big-endian, zero-padded: ordered like `s` whenever two
/// strings differ there (the usual case for ids).
#[inline]
pub(crate) fn prefix(s: &str) -> u64 {
    let b = s.as_bytes();
    match b.first_chunk::<8>() {
        Some(head) => u64::from_be_bytes(*head),
        None => {
            let mut a = [0u8; 8];
            a[..b.len()].copy_from_slice(b);
            u64::from_be_bytes(a)
        }
    }
}

impl Table {
    fn build(ids: BTreeSet<String>) -> Self {
        let ids: Vec<Arc<str>> = ids.into_iter().map(Arc::from).collect();
        let prefixes = ids.iter().map(|s| prefix(s)).collect();
        Self { ids, prefixes }
    }
    pub(crate) fn len(&self) -> usize {
        self.ids.len()
    }
    pub(crate) fn get(&self, id: &str) -> Option<u32> {
        self.ids
            .binary_search_by(|x| x.as_ref().cmp(id))
            .ok()
            .map(|i| i as u32)
    }
    fn sym(&self, id: &str) -> u32 {
        // Every id put in a policy was put in the table first.
        self.get(id).unwrap_or(u32::MAX)
    }
    fn syms(&self, ids: &[String]) -> Vec<u32> {
        let mut v: Vec<u32> = ids.iter().map(|i| self.sym(i)).collect();
        v.sort_unstable();
        v.dedup();
        v
    }
    pub(crate) fn name(&self, sym: u32) -> Arc<str> {
        self.ids
            .get(sym as usize)
            .cloned()
            .unwrap_or_else(|| Arc::from(""))
    }
}

#[derive(Debug, Clone)]
pub(crate) struct CompiledPolicy {
    pub(crate) meta: Arc<PolicyMeta>,
    pub(crate) source: Arc<ConditionalAccessPolicy>,
    pub(crate) state: PolicyState,
    pub(crate) target: Target,
    pub(crate) apps: AppCond,
    /// Bit per [`ClientAppType`]; `None` = unconfigured or `all`.
    pub(crate) client_app_types: Option<u8>,
    pub(crate) platforms: Option<PlatformCond>,
    pub(crate) locations: Option<LocationCond>,
    /// Bit per [`TransferMethod`]; `None` = unconfigured.
    pub(crate) flows: Option<u8>,
    pub(crate) grant: Option<Grant>,
    pub(crate) sign_in_frequency: Option<FrequencyInterval>,
    pub(crate) persistent_browser: Option<PersistentBrowserMode>,
}

#[derive(Debug, Clone)]
pub(crate) enum Target {
    Users(UserCond),
    Workload(WorkloadCond),
}

#[derive(Debug, Clone, Default)]
pub(crate) struct UserCond {
    pub(crate) all: bool,
    pub(crate) users: Vec<u32>,
    pub(crate) groups: Vec<u32>,
    pub(crate) roles: Vec<u32>,
    pub(crate) ex_users: Vec<u32>,
    pub(crate) ex_groups: Vec<u32>,
    pub(crate) ex_roles: Vec<u32>,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct WorkloadCond {
    pub(crate) all: bool,
    pub(crate) include: Vec<u32>,
    pub(crate) exclude: Vec<u32>,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct AppCond {
    pub(crate) all: bool,
    pub(crate) clients: Vec<u32>,
    pub(crate) resources: Vec<u32>,
    pub(crate) ex_clients: Vec<u32>,
    pub(crate) ex_resources: Vec<u32>,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct PlatformCond {
    pub(crate) all: bool,
    pub(crate) include: u8,
    pub(crate) exclude: u8,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct LocationCond {
    pub(crate) all: bool,
    pub(crate) trusted: bool,
    pub(crate) include: Vec<u32>,
    pub(crate) ex_trusted: bool,
    pub(crate) exclude: Vec<u32>,
}

/// A compiled grant: `block`, or controls combined by `operator`.
#[derive(Debug, Clone)]
pub(crate) enum Grant {
    Block,
    Controls { and: bool, controls: Vec<Control> },
}

/// One grant control as the evaluator sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Control {
    Mfa,
    PasswordChange,
    /// A control Portvakt cannot satisfy yet: it fails closed. The string names it
    /// (`compliantDevice`, `authenticationStrength 'Phishing-resistant MFA'`, …).
    Unsatisfiable(Arc<str>, &'static str),
}

#[derive(Debug, Clone)]
pub(crate) struct CompiledLocation {
    pub(crate) label: Arc<str>,
    pub(crate) trusted: bool,
    pub(crate) v4: Vec<(u32, u32)>,
    pub(crate) v6: Vec<(u128, u128)>,
}

/// Compiles `policies` against `locations` and `directory`. Every policy needs an
/// `id` ([`ConditionalAccessPolicy::with_id`]); ids are unique. Problems carry the
/// policy's label and the path inside the policy.
pub fn compile(
    policies: &[ConditionalAccessPolicy],
    locations: &[NamedLocation],
    directory: &dyn Directory,
) -> Result<PolicySet, Error> {
    let mut problems = Vec::new();
    let (locs, loc_index) = compile_locations(locations, &mut problems);
    let mut seen_ids: Vec<&str> = Vec::new();
    let mut resolved = Vec::with_capacity(policies.len());
    for pol in policies {
        let mut p = Vec::new();
        match pol.id.as_deref() {
            None | Some("") => p.push(Problem::new(
                "$.id",
                ProblemKind::Invalid,
                "the policy has no id; Portvakt assigns one when it imports a template (ConditionalAccessPolicy::with_id)",
            )),
            Some(id) if seen_ids.contains(&id) => p.push(Problem::new(
                "$.id",
                ProblemKind::Invalid,
                format!("another policy has the id {id}; ids must be unique"),
            )),
            Some(id) => seen_ids.push(id),
        }
        let r = resolve(pol, &loc_index, directory, &mut p);
        for mut x in p {
            x.policy = Some(pol.label());
            problems.push(x);
        }
        resolved.push(r);
    }
    if !problems.is_empty() {
        return Err(Error { problems });
    }
    let mut ids = [(); 6].map(|_| BTreeSet::new());
    for r in &resolved {
        let [u, g, ro, c, re, sp] = &mut ids;
        for x in r.users.iter().chain(&r.ex_users) {
            u.insert(x.clone());
        }
        for x in r.groups.iter().chain(&r.ex_groups) {
            g.insert(x.clone());
        }
        for x in r.roles.iter().chain(&r.ex_roles) {
            ro.insert(x.clone());
        }
        for a in r.apps.iter().chain(&r.ex_apps) {
            match a {
                AppRef::Client(x) => c.insert(x.clone()),
                AppRef::Resource(x) => re.insert(x.clone()),
            };
        }
        for x in r.sps.iter().chain(&r.ex_sps) {
            sp.insert(x.clone());
        }
    }
    let [u, g, ro, c, re, sp] = ids;
    let mut set = PolicySet {
        policies: Vec::with_capacity(policies.len()),
        locations: locs,
        users: Table::build(u),
        groups: Table::build(g),
        roles: Table::build(ro),
        clients: Table::build(c),
        resources: Table::build(re),
        service_principals: Table::build(sp),
    };
    for (pol, r) in policies.iter().zip(resolved) {
        let cp = finish(pol, r, &set);
        set.policies.push(cp);
    }
    Ok(set)
}

/// Compiles `locations`; returns them and, for resolution, `(id or name, index)`.
fn compile_locations(
    locations: &[NamedLocation],
    p: &mut Vec<Problem>,
) -> (Vec<CompiledLocation>, Vec<(String, u32, bool)>) {
    let mut out = Vec::with_capacity(locations.len());
    let mut index: Vec<(String, u32, bool)> = Vec::new();
    for (i, l) in locations.iter().enumerate() {
        if let Some(id) = &l.id {
            if index.iter().any(|(k, _, by_id)| *by_id && k == id) {
                p.push(Problem::new(
                    format!("namedLocations[{i}].id"),
                    ProblemKind::Invalid,
                    format!("another named location has the id {id}; ids must be unique"),
                ));
            }
            index.push((id.clone(), i as u32, true));
        }
        index.push((l.display_name.clone(), i as u32, false));
        let (mut v4, mut v6) = (Vec::new(), Vec::new());
        for r in &l.ip_ranges {
            match (r.v4(), r.v6()) {
                (Some(x), _) => v4.push(x),
                (_, Some(x)) => v6.push(x),
                _ => {}
            }
        }
        out.push(CompiledLocation {
            label: Arc::from(l.id.clone().unwrap_or_else(|| l.display_name.clone())),
            trusted: l.is_trusted,
            v4,
            v6,
        });
    }
    (out, index)
}

/// A policy's references, resolved to canonical ids (before interning).
#[derive(Default)]
struct Resolved {
    users_all: bool,
    users: Vec<String>,
    groups: Vec<String>,
    roles: Vec<String>,
    ex_users: Vec<String>,
    ex_groups: Vec<String>,
    ex_roles: Vec<String>,
    apps_all: bool,
    apps: Vec<AppRef>,
    ex_apps: Vec<AppRef>,
    workload: bool,
    sps_all: bool,
    sps: Vec<String>,
    ex_sps: Vec<String>,
    loc: Option<LocationCond>,
}

fn unresolved(p: &mut Vec<Problem>, path: String, what: &str, r: &str, excluded: bool) {
    let why = if excluded {
        "an exclusion that matched nobody could lock everyone out"
    } else {
        "an inclusion that matched nobody would leave people unprotected"
    };
    p.push(Problem::new(
        path,
        ProblemKind::Unresolved,
        format!("{what} `{r}` is not in this tenant; create it or correct the reference, then import again ({why})"),
    ));
}

fn resolve(
    pol: &ConditionalAccessPolicy,
    locs: &[(String, u32, bool)],
    dir: &dyn Directory,
    p: &mut Vec<Problem>,
) -> Resolved {
    let mut r = Resolved::default();
    let c = &pol.conditions;
    if let Some(u) = &c.users {
        let base = "$.conditions.users";
        let each = |list: &[String],
                    key: &str,
                    what: &str,
                    keywords: &[&str],
                    find: &dyn Fn(&str) -> Option<String>,
                    p: &mut Vec<Problem>|
         -> Vec<String> {
            let lp = key_path(base, key);
            let excluded = key.starts_with("exclude");
            let mut out = Vec::new();
            for (i, x) in list.iter().enumerate() {
                if keywords.contains(&x.as_str()) {
                    continue;
                }
                match find(x) {
                    Some(id) => out.push(id),
                    None => unresolved(p, index_path(&lp, i), what, x, excluded),
                }
            }
            out
        };
        let kw = ["All", "None", "GuestsOrExternalUsers"];
        r.users_all = u.include_users.iter().any(|x| x == "All");
        r.users = each(
            &u.include_users,
            "includeUsers",
            "user",
            &kw,
            &|x| dir.user(x),
            p,
        );
        r.ex_users = each(
            &u.exclude_users,
            "excludeUsers",
            "user",
            &kw,
            &|x| dir.user(x),
            p,
        );
        r.groups = each(
            &u.include_groups,
            "includeGroups",
            "group",
            &[],
            &|x| dir.group(x),
            p,
        );
        r.ex_groups = each(
            &u.exclude_groups,
            "excludeGroups",
            "group",
            &[],
            &|x| dir.group(x),
            p,
        );
        r.roles = each(
            &u.include_roles,
            "includeRoles",
            "role",
            &[],
            &|x| dir.role(x),
            p,
        );
        r.ex_roles = each(
            &u.exclude_roles,
            "excludeRoles",
            "role",
            &[],
            &|x| dir.role(x),
            p,
        );
    }
    if let Some(a) = &c.applications {
        let base = "$.conditions.applications";
        for (key, list, excluded) in [
            ("includeApplications", &a.include_applications, false),
            ("excludeApplications", &a.exclude_applications, true),
        ] {
            let lp = key_path(base, key);
            let mut out = Vec::new();
            for (i, x) in list.iter().enumerate() {
                match x.as_str() {
                    "All" => r.apps_all = true,
                    "None" | "Office365" => {}
                    "MicrosoftAdminPortals" => out.extend(dir.admin_portals()),
                    _ => match dir.application(x) {
                        Some(app) => out.push(app),
                        None => unresolved(p, index_path(&lp, i), "application", x, excluded),
                    },
                }
            }
            if excluded {
                r.ex_apps = out;
            } else {
                r.apps = out;
            }
        }
    }
    if let Some(ca) = &c.client_applications {
        r.workload = true;
        let base = "$.conditions.clientApplications";
        for (key, list, excluded) in [
            (
                "includeServicePrincipals",
                &ca.include_service_principals,
                false,
            ),
            (
                "excludeServicePrincipals",
                &ca.exclude_service_principals,
                true,
            ),
        ] {
            let lp = key_path(base, key);
            let mut out = Vec::new();
            for (i, x) in list.iter().enumerate() {
                if x == "ServicePrincipalsInMyTenant" && !excluded {
                    r.sps_all = true;
                    continue;
                }
                match dir.service_principal(x) {
                    Some(id) => out.push(id),
                    None => unresolved(p, index_path(&lp, i), "service principal", x, excluded),
                }
            }
            if excluded {
                r.ex_sps = out;
            } else {
                r.sps = out;
            }
        }
    }
    if let Some(l) = &c.locations {
        let base = "$.conditions.locations";
        let mut lc = LocationCond::default();
        for (key, list, excluded) in [
            ("includeLocations", &l.include_locations, false),
            ("excludeLocations", &l.exclude_locations, true),
        ] {
            let lp = key_path(base, key);
            for (i, x) in list.iter().enumerate() {
                match (x.as_str(), excluded) {
                    ("All", false) => lc.all = true,
                    ("AllTrusted", false) => lc.trusted = true,
                    ("AllTrusted", true) => lc.ex_trusted = true,
                    _ => {
                        let by_id: Vec<u32> = locs
                            .iter()
                            .filter(|(k, _, id)| *id && k == x)
                            .map(|t| t.1)
                            .collect();
                        let found = if by_id.is_empty() {
                            locs.iter()
                                .filter(|(k, _, id)| !*id && k == x)
                                .map(|t| t.1)
                                .collect()
                        } else {
                            by_id
                        };
                        match found.as_slice() {
                            [one] => {
                                if excluded {
                                    lc.exclude.push(*one)
                                } else {
                                    lc.include.push(*one)
                                }
                            }
                            [] => unresolved(p, index_path(&lp, i), "named location", x, excluded),
                            _ => p.push(Problem::new(
                                index_path(&lp, i),
                                ProblemKind::Invalid,
                                format!("several named locations are called `{x}`; reference the one you mean by its id"),
                            )),
                        }
                    }
                }
            }
        }
        lc.include.sort_unstable();
        lc.include.dedup();
        lc.exclude.sort_unstable();
        lc.exclude.dedup();
        r.loc = Some(lc);
    }
    r
}

fn split_apps(set: &PolicySet, apps: &[AppRef]) -> (Vec<u32>, Vec<u32>) {
    let (mut c, mut r) = (Vec::new(), Vec::new());
    for a in apps {
        match a {
            AppRef::Client(x) => c.push(set.clients.sym(x)),
            AppRef::Resource(x) => r.push(set.resources.sym(x)),
        }
    }
    c.sort_unstable();
    c.dedup();
    r.sort_unstable();
    r.dedup();
    (c, r)
}

fn finish(pol: &ConditionalAccessPolicy, r: Resolved, set: &PolicySet) -> CompiledPolicy {
    let c = &pol.conditions;
    let target = if r.workload {
        Target::Workload(WorkloadCond {
            all: r.sps_all,
            include: set.service_principals.syms(&r.sps),
            exclude: set.service_principals.syms(&r.ex_sps),
        })
    } else {
        Target::Users(UserCond {
            all: r.users_all,
            users: set.users.syms(&r.users),
            groups: set.groups.syms(&r.groups),
            roles: set.roles.syms(&r.roles),
            ex_users: set.users.syms(&r.ex_users),
            ex_groups: set.groups.syms(&r.ex_groups),
            ex_roles: set.roles.syms(&r.ex_roles),
        })
    };
    let (clients, resources) = split_apps(set, &r.apps);
    let (ex_clients, ex_resources) = split_apps(set, &r.ex_apps);
    let apps = AppCond {
        all: r.apps_all,
        clients,
        resources,
        ex_clients,
        ex_resources,
    };
    let client_app_types =
        if c.client_app_types.is_empty() || c.client_app_types.contains(&ClientAppType::All) {
            None
        } else {
            Some(
                c.client_app_types
                    .iter()
                    .fold(0u8, |m, t| m | 1 << (*t as u8)),
            )
        };
    let platforms = c.platforms.as_ref().map(|pl| {
        let mut pc = PlatformCond {
            all: false,
            include: 0,
            exclude: 0,
        };
        for s in &pl.include_platforms {
            match s {
                PlatformSelector::All => pc.all = true,
                PlatformSelector::Platform(d) => pc.include |= d.bit(),
            }
        }
        for s in &pl.exclude_platforms {
            if let PlatformSelector::Platform(d) = s {
                pc.exclude |= d.bit();
            }
        }
        pc
    });
    let flows = c.authentication_flows.as_ref().map(|f| {
        f.transfer_methods
            .iter()
            .fold(0u8, |m, t| m | 1 << (*t as u8))
    });
    let mut enforced_grant = Vec::new();
    let grant = pol.grant_controls.as_ref().map(|g| {
        if g.built_in_controls.contains(&BuiltInControl::Block) {
            enforced_grant.push("block".to_owned());
            return Grant::Block;
        }
        let mut controls = Vec::new();
        for b in &g.built_in_controls {
            enforced_grant.push(b.as_str().to_owned());
            controls.push(match b {
                BuiltInControl::Mfa => Control::Mfa,
                BuiltInControl::PasswordChange => Control::PasswordChange,
                other => Control::Unsatisfiable(Arc::from(other.as_str()), cannot_check(*other)),
            });
        }
        if let Some(s) = &g.authentication_strength {
            let name = s.display_name.clone().unwrap_or_else(|| s.id.clone());
            enforced_grant.push(format!("authenticationStrength '{name}'"));
            controls.push(if s.id == MFA_STRENGTH_ID {
                Control::Mfa
            } else {
                Control::Unsatisfiable(
                    Arc::from(format!("authenticationStrength '{name}' (id {})", s.id)),
                    "Portvakt satisfies only the built-in Multifactor authentication strength",
                )
            });
        }
        for t in &g.terms_of_use {
            enforced_grant.push(format!("termsOfUse {t}"));
            controls.push(Control::Unsatisfiable(
                Arc::from(format!("termsOfUse {t}")),
                "Portvakt has no terms-of-use agreements yet",
            ));
        }
        for f in &g.custom_authentication_factors {
            enforced_grant.push(format!("customAuthenticationFactor {f}"));
            controls.push(Control::Unsatisfiable(
                Arc::from(format!("customAuthenticationFactor {f}")),
                "Portvakt has no custom controls (external providers)",
            ));
        }
        Grant::Controls {
            and: g.operator == GrantOperator::And,
            controls,
        }
    });
    let s = pol.session_controls.as_ref();
    let sign_in_frequency = s
        .and_then(|s| s.sign_in_frequency.as_ref())
        .map(|f| f.interval);
    let persistent_browser = s.and_then(|s| s.persistent_browser).map(|b| b.mode);
    let mut enforced_session = Vec::new();
    if let Some(f) = sign_in_frequency {
        enforced_session.push(match f {
            FrequencyInterval::EveryTime => "signInFrequency everyTime".to_owned(),
            FrequencyInterval::TimeBased { value, unit } => format!(
                "signInFrequency {value} {}",
                match unit {
                    FrequencyUnit::Hours => "hours",
                    FrequencyUnit::Days => "days",
                }
            ),
        });
    }
    if let Some(m) = persistent_browser {
        enforced_session.push(match m {
            PersistentBrowserMode::Always => "persistentBrowser always".to_owned(),
            PersistentBrowserMode::Never => "persistentBrowser never".to_owned(),
        });
    }
    CompiledPolicy {
        meta: Arc::new(PolicyMeta {
            id: pol.id.clone().unwrap_or_default(),
            display_name: pol.display_name.clone(),
            grant_controls: enforced_grant,
            session_controls: enforced_session,
        }),
        source: Arc::new(pol.clone()),
        state: pol.state,
        target,
        apps,
        client_app_types,
        platforms,
        locations: r.loc,
        flows,
        grant,
        sign_in_frequency,
        persistent_browser,
    }
}

/// Why a control cannot be satisfied yet (for the fail-closed reason).
fn cannot_check(c: BuiltInControl) -> &'static str {
    match c {
        BuiltInControl::CompliantDevice => "Portvakt has no device compliance (Intune)",
        BuiltInControl::DomainJoinedDevice => "Portvakt has no joined devices (Entra hybrid join)",
        BuiltInControl::ApprovedApplication => "Portvakt cannot tell approved client apps (Intune)",
        BuiltInControl::CompliantApplication => "Portvakt has no app protection policies (Intune)",
        BuiltInControl::RiskRemediation => "Portvakt has no risk remediation (Identity Protection)",
        BuiltInControl::Block | BuiltInControl::Mfa | BuiltInControl::PasswordChange => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::directory::{DirectoryTables, PermissiveDirectory};
    use crate::parse::parse_policies;

    fn pol(json: &str) -> ConditionalAccessPolicy {
        parse_policies(json.as_bytes()).expect("parses").remove(0)
    }

    const P: &str = r#"{"id":"p1","displayName":"P","state":"enabled","conditions":{"users":{"includeUsers":["All"],"excludeUsers":["ada@example.com"],"includeGroups":["Admins"],"excludeGroups":["g-missing"],"includeRoles":["Global Administrator"]},"applications":{"includeApplications":["All"],"excludeApplications":["api://x","Office365"]},"locations":{"includeLocations":["All"],"excludeLocations":["AllTrusted","HQ"]}},"grantControls":{"operator":"OR","builtInControls":["mfa"]}}"#;

    fn dir() -> DirectoryTables {
        DirectoryTables {
            users: vec![("u1".into(), "ada@example.com".into())],
            groups: vec![("g1".into(), "Admins".into())],
            roles: vec![("r1".into(), "Global Administrator".into())],
            resources: vec!["api://x".into()],
            ..Default::default()
        }
    }

    #[test]
    fn every_unresolved_reference_is_refused_with_its_path() {
        let e = compile(&[pol(P)], &[], &dir()).expect_err("unresolved");
        let paths: Vec<&str> = e.problems.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "$.conditions.users.excludeGroups[0]",
                "$.conditions.locations.excludeLocations[1]"
            ]
        );
        assert_eq!(e.problems[0].kind, ProblemKind::Unresolved);
        assert!(e.problems[0].message.contains("lock everyone out"));
        assert_eq!(e.problems[0].policy.as_deref(), Some("'P' (id p1)"));
    }

    #[test]
    fn resolves_names_upns_and_locations_by_name() {
        let mut d = dir();
        d.groups.push(("g2".into(), "g-missing".into()));
        let hq = NamedLocation {
            id: None,
            display_name: "HQ".into(),
            is_trusted: false,
            ip_ranges: vec!["203.0.113.0/24".parse().expect("cidr")],
            created_date_time: None,
            modified_date_time: None,
        };
        let set = compile(&[pol(P)], &[hq], &d).expect("compiles");
        let Target::Users(u) = &set.policies[0].target else {
            panic!("users")
        };
        assert_eq!(set.users.name(u.ex_users[0]).as_ref(), "u1");
        assert_eq!(set.groups.name(u.groups[0]).as_ref(), "g1");
        assert_eq!(set.roles.name(u.roles[0]).as_ref(), "r1");
        assert_eq!(
            set.resources
                .name(set.policies[0].apps.ex_resources[0])
                .as_ref(),
            "api://x"
        );
    }

    #[test]
    fn ids_are_required_and_unique() {
        let no_id = pol(&P.replace(r#""id":"p1","#, ""));
        let e =
            compile(std::slice::from_ref(&no_id), &[], &PermissiveDirectory).expect_err("no id");
        assert_eq!(e.problems[0].path, "$.id");
        let a = no_id.clone().with_id("x");
        let e = compile(&[a.clone(), a], &[], &PermissiveDirectory).expect_err("dup");
        assert!(e.problems.iter().any(|p| p.message.contains("unique")));
    }
}
