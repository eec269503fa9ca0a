//! A synthetic tenant and the sign-ins it produces: users in a few groups, web, native
//! and service-principal clients, a spread of addresses (office, VPN, home, elsewhere,
//! a blocked range), a handful of Conditional Access policies evaluated on every
//! sign-in with the real engine, and the failure mix a real log has (wrong
//! passwords, dead refresh tokens, wrong client secrets, policies blocking or asking
//! for MFA). Everything is deterministic from the tenant's index, so the import file
//! written for the server and the records seeded later agree on ids.

use portvakt_core::signin::{AuthStep, SignInEvent, SignInKind};
use portvakt_core::ErrorCode;
use portvakt_policy::graph::ClientAppType;
use portvakt_policy::{
    compile, evaluate, Decision, DirectoryTables, Evaluation, PolicySet, SignInFacts, UserFacts,
};
use serde_json::{json, Value};
use std::sync::Arc;

/// SplitMix64's output function.
pub fn splitmix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A small deterministic generator.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(splitmix(seed ^ 0x5eed))
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        splitmix(self.0)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
    pub fn chance(&mut self, p: f64) -> bool {
        ((self.next_u64() >> 11) as f64 / (1u64 << 53) as f64) < p
    }
    pub fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[self.below(v.len() as u64) as usize]
    }
}

/// A UUID-shaped id, the same for the same `(kind, tenant, i)`.
pub fn stable_uuid(kind: u64, tenant: usize, i: usize) -> String {
    let a = splitmix(kind.wrapping_mul(0x1000_0000_0000_0001) ^ (tenant as u64) << 32 ^ i as u64);
    let b = splitmix(a ^ 0xa5a5_a5a5);
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&a.to_be_bytes());
    bytes[8..].copy_from_slice(&b.to_be_bytes());
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .hyphenated()
        .to_string()
}

/// Correlation ids as the server makes them: a per-process random half beside a
/// counter through SplitMix64.
#[derive(Debug)]
pub struct Correlations {
    prefix: u64,
    key: u64,
    n: u64,
    /// The counter as is, not scrambled: ids sort in creation order (a what-if).
    pub ordered: bool,
}

impl Correlations {
    pub fn new(seed: u64) -> Self {
        Self {
            prefix: splitmix(seed ^ 0xc0),
            key: splitmix(seed ^ 0xc1),
            n: 0,
            ordered: false,
        }
    }
    /// A correlation id made at `ms`, as the server makes them (a UUIDv7 of the
    /// request's arrival: `server::http::correlation`), unique by a counter.
    pub fn next_id_at(&mut self, ms: i64) -> String {
        self.n += 1;
        let mut bytes = [0u8; 10];
        bytes[..2].copy_from_slice(&(self.prefix as u16).to_be_bytes());
        bytes[2..].copy_from_slice(&splitmix(self.n ^ self.key).to_be_bytes());
        uuid::Builder::from_unix_timestamp_millis(u64::try_from(ms).unwrap_or(0), &bytes)
            .into_uuid()
            .hyphenated()
            .to_string()
    }

    pub fn next_id(&mut self) -> String {
        self.n += 1;
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&self.prefix.to_be_bytes());
        let low = if self.ordered {
            self.n
        } else {
            splitmix(self.n ^ self.key)
        };
        bytes[8..].copy_from_slice(&low.to_be_bytes());
        uuid::Builder::from_random_bytes(bytes)
            .into_uuid()
            .hyphenated()
            .to_string()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientKind {
    Web,
    Native,
    Service,
}

#[derive(Debug, Clone)]
pub struct Client {
    pub id: String,
    pub name: String,
    pub kind: ClientKind,
}

#[derive(Debug, Clone)]
pub struct User {
    pub id: String,
    pub upn: String,
    pub display: String,
    /// Group display names (for the import file).
    pub group_names: Vec<String>,
    /// Group ids, sorted as the store returns them.
    pub group_ids: Vec<String>,
    pub mfa_registered: bool,
    pub home_ip: String,
}

/// Named groups; the rest are `dept-*` and `project-*`.
pub const ADMINS: usize = 0;
pub const CONTRACTORS: usize = 1;
const ALL_STAFF: usize = 2;
const DEPTS: usize = 8;
const GROUPS: usize = 40;

/// One tenant's directory, policies and addresses.
#[derive(Debug)]
pub struct World {
    pub index: usize,
    pub name: String,
    pub tenant_id: String,
    pub users: Vec<User>,
    /// (id, display name).
    pub groups: Vec<(String, String)>,
    pub clients: Vec<Client>,
    /// (identifier, display name).
    pub resources: Vec<(String, String)>,
    pub locations_json: Vec<Value>,
    pub policies_json: Vec<Value>,
    pub set: PolicySet,
    tables: DirectoryTables,
    /// Users 0..heavy sign in ten times as often as the others.
    pub heavy: usize,
}

const USER_AGENTS: &[&str] = &[
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0",
];
const NATIVE_AGENTS: &[&str] = &[
    "MSAL.Python/1.28.0 (Linux; x86_64)",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Teams/1.7.00.13456 Chrome/120.0.0.0 Electron/28.2.0 Safari/537.36",
];
const SERVICE_AGENTS: &[&str] = &["python-requests/2.32.3", "curl/8.5.0", "Go-http-client/2.0"];

/// The policy a replay proposes: block contractors outside trusted locations.
pub fn proposal(w: &World) -> Value {
    json!({
        "displayName": "Block contractors outside trusted locations",
        "state": "enabled",
        "conditions": {
            "users": {"includeGroups": [w.groups[CONTRACTORS].0]},
            "applications": {"includeApplications": ["All"]},
            "clientAppTypes": ["all"],
            "locations": {"includeLocations": ["All"], "excludeLocations": ["AllTrusted"]}
        },
        "grantControls": {"operator": "OR", "builtInControls": ["block"]}
    })
}

impl World {
    /// Tenant `index` named `name` with `n_users` users; `tenant_id` as the store has it.
    pub fn new(index: usize, name: &str, tenant_id: &str, n_users: usize) -> Self {
        let mut rng = Rng::new(index as u64 * 7919 + 17);
        let groups: Vec<(String, String)> = (0..GROUPS)
            .map(|i| {
                let name = match i {
                    ADMINS => "admins".to_string(),
                    CONTRACTORS => "contractors".to_string(),
                    ALL_STAFF => "all-staff".to_string(),
                    i if i < 3 + DEPTS => format!("dept-{}", i - 3),
                    i => format!("project-{:02}", i - 3 - DEPTS),
                };
                (stable_uuid(2, index, i), name)
            })
            .collect();
        let users: Vec<User> = (0..n_users)
            .map(|i| {
                let mut g = vec![ALL_STAFF, 3 + i % DEPTS];
                if i % 50 == 0 {
                    g.push(ADMINS);
                }
                if i % 10 == 7 {
                    g.push(CONTRACTORS);
                }
                for _ in 0..rng.below(4) {
                    g.push(3 + DEPTS + rng.below((GROUPS - 3 - DEPTS) as u64) as usize);
                }
                g.sort_unstable();
                g.dedup();
                let mut group_ids: Vec<String> = g.iter().map(|&k| groups[k].0.clone()).collect();
                group_ids.sort();
                let home_ip = match rng.below(100) {
                    0..=59 => format!(
                        "10.{}.{}.{}",
                        rng.below(40),
                        rng.below(256),
                        1 + rng.below(254)
                    ),
                    60..=74 => format!("172.16.{}.{}", rng.below(256), 1 + rng.below(254)),
                    75..=89 => format!(
                        "81.{}.{}.{}",
                        rng.below(256),
                        rng.below(256),
                        1 + rng.below(254)
                    ),
                    _ => format!(
                        "2001:db8:{:x}:{:x}::{:x}",
                        rng.below(65536),
                        rng.below(65536),
                        1 + rng.below(65535)
                    ),
                };
                User {
                    id: stable_uuid(3, index, i),
                    upn: format!("user{i:05}@{name}.example"),
                    display: format!("User {i:05}"),
                    group_names: g.iter().map(|&k| groups[k].1.clone()).collect(),
                    group_ids,
                    mfa_registered: i % 3 != 0,
                    home_ip,
                }
            })
            .collect();
        let mut clients = Vec::new();
        for i in 0..5 {
            clients.push(Client {
                id: format!("web{i}"),
                name: format!("Web app {i}"),
                kind: ClientKind::Web,
            });
        }
        for i in 0..2 {
            clients.push(Client {
                id: format!("native{i}"),
                name: format!("Desktop app {i}"),
                kind: ClientKind::Native,
            });
        }
        for i in 0..6 {
            clients.push(Client {
                id: format!("svc{i}"),
                name: format!("Service {i}"),
                kind: ClientKind::Service,
            });
        }
        let resources = vec![
            ("api://analytics".to_string(), "Analytics API".to_string()),
            ("api://hr".to_string(), "HR API".to_string()),
            ("api://finance".to_string(), "Finance API".to_string()),
        ];
        let loc = |k: usize, name: &str, trusted: bool, ranges: &[&str]| {
            json!({
                "@odata.type": "#microsoft.graph.ipNamedLocation",
                "id": stable_uuid(5, index, k), "displayName": name, "isTrusted": trusted,
                "ipRanges": ranges.iter().map(|r| if r.contains(':') {
                    json!({"@odata.type": "#microsoft.graph.iPv6CidrRange", "cidrAddress": r})
                } else {
                    json!({"@odata.type": "#microsoft.graph.iPv4CidrRange", "cidrAddress": r})
                }).collect::<Vec<_>>()
            })
        };
        let locations_json = vec![
            loc(0, "office", true, &["10.0.0.0/8"]),
            loc(1, "vpn", true, &["172.16.0.0/12"]),
            loc(
                2,
                "blocked range",
                false,
                &["203.0.113.0/24", "2001:db8:dead::/48"],
            ),
        ];
        let blocked_loc = locations_json[2]["id"].clone();
        let pol = |k: usize, name: &str, state: &str, conditions: Value, grant: &str| {
            json!({"id": stable_uuid(4, index, k), "displayName": name, "state": state,
                   "conditions": conditions,
                   "grantControls": {"operator": "OR", "builtInControls": [grant]}})
        };
        let policies_json = vec![
            pol(
                0,
                "Require MFA for admins",
                "enabled",
                json!({
                "users": {"includeGroups": [groups[ADMINS].0]},
                "applications": {"includeApplications": ["All"]}, "clientAppTypes": ["all"]}),
                "mfa",
            ),
            pol(
                1,
                "Block the blocked range",
                "enabled",
                json!({
                "users": {"includeUsers": ["All"]},
                "applications": {"includeApplications": ["All"]}, "clientAppTypes": ["all"],
                "locations": {"includeLocations": [blocked_loc]}}),
                "block",
            ),
            pol(
                2,
                "MFA for the finance API outside trusted locations",
                "enabled",
                json!({
                "users": {"includeUsers": ["All"], "excludeGroups": [groups[ADMINS].0]},
                "applications": {"includeApplications": ["api://finance"]}, "clientAppTypes": ["all"],
                "locations": {"includeLocations": ["All"], "excludeLocations": ["AllTrusted"]}}),
                "mfa",
            ),
            pol(
                3,
                "MFA for everyone (report-only)",
                "enabledForReportingButNotEnforced",
                json!({
                "users": {"includeUsers": ["All"]},
                "applications": {"includeApplications": ["All"]}, "clientAppTypes": ["all"]}),
                "mfa",
            ),
            pol(
                4,
                "Block svc5 outside trusted locations",
                "enabled",
                json!({
                "applications": {"includeApplications": ["All"]},
                "clientApplications": {"includeServicePrincipals": ["svc5"]},
                "locations": {"includeLocations": ["All"], "excludeLocations": ["AllTrusted"]}}),
                "block",
            ),
            pol(
                5,
                "Block mobile platforms for HR (off)",
                "disabled",
                json!({
                "users": {"includeGroups": [groups[3].0, groups[4].0]},
                "applications": {"includeApplications": ["api://hr"]}, "clientAppTypes": ["all"],
                "platforms": {"includePlatforms": ["android", "iOS"]}}),
                "block",
            ),
        ];
        let tables = DirectoryTables {
            users: users
                .iter()
                .map(|u| (u.id.clone(), u.upn.clone()))
                .collect(),
            groups: groups.clone(),
            roles: vec![],
            clients: clients.iter().map(|c| c.id.clone()).collect(),
            resources: resources.iter().map(|r| r.0.clone()).collect(),
            service_principals: clients
                .iter()
                .filter(|c| c.kind == ClientKind::Service)
                .map(|c| c.id.clone())
                .collect(),
            admin_portals: vec![],
        };
        let set = compile_all(index, &policies_json, &locations_json, &tables, &[])
            .expect("the bench's policies compile");
        Self {
            index,
            name: name.to_string(),
            tenant_id: tenant_id.to_string(),
            users,
            groups,
            clients,
            resources,
            locations_json,
            policies_json,
            set,
            tables,
            heavy: (n_users / 10).max(1),
        }
    }

    /// The tenant's policies plus `more` (which get ids here), compiled.
    pub fn compile(&self, more: &[Value]) -> Result<PolicySet, String> {
        compile_all(
            self.index,
            &self.policies_json,
            &self.locations_json,
            &self.tables,
            more,
        )
    }

    /// The tenant as an import file's entry (no passwords: no Argon2 on import).
    pub fn import_spec(&self, extra_apps: Vec<Value>) -> Value {
        let scopes: Vec<String> = self
            .resources
            .iter()
            .map(|r| format!("{}/.default", r.0))
            .collect();
        let mut apps: Vec<Value> = self
            .clients
            .iter()
            .map(|c| match c.kind {
                ClientKind::Web => json!({"clientId": c.id, "displayName": c.name,
                    "clientSecret": format!("{}-secret-0123456789abcdef", c.id),
                    "grantTypes": ["authorization_code", "refresh_token"],
                    "redirectUris": [format!("https://{}.example.com/cb", c.id)],
                    "allowedScopes": scopes, "adminConsented": true}),
                ClientKind::Native => json!({"clientId": c.id, "displayName": c.name,
                    "grantTypes": ["authorization_code", "refresh_token"],
                    "redirectUris": ["http://localhost/cb"],
                    "allowedScopes": scopes, "adminConsented": true}),
                ClientKind::Service => json!({"clientId": c.id, "displayName": c.name,
                    "clientSecret": format!("{}-secret-0123456789abcdef", c.id),
                    "grantTypes": ["client_credentials"], "allowedScopes": scopes}),
            })
            .collect();
        apps.extend(extra_apps);
        json!({
            "name": self.name,
            "resources": self.resources.iter().map(|r| json!({"identifier": r.0, "displayName": r.1, "scopes": ["Read"]})).collect::<Vec<_>>(),
            "applications": apps,
            "groups": self.groups.iter().map(|g| json!({"id": g.0, "displayName": g.1})).collect::<Vec<_>>(),
            "users": self.users.iter().map(|u| json!({"id": u.id, "userPrincipalName": u.upn,
                "displayName": u.display, "groups": u.group_names})).collect::<Vec<_>>(),
            "namedLocations": self.locations_json,
            "conditionalAccessPolicies": self.policies_json,
        })
    }

    /// A user index: a tenth of the users sign in ten times as often.
    pub fn pick_user(&self, rng: &mut Rng) -> usize {
        if rng.chance(0.5) {
            rng.below(self.heavy as u64) as usize
        } else {
            rng.below(self.users.len() as u64) as usize
        }
    }

    fn event_ip(&self, rng: &mut Rng, home: &str) -> String {
        match rng.below(100) {
            0..=87 => home.to_string(),
            88..=97 => format!(
                "{}.{}.{}.{}",
                100 + rng.below(100),
                rng.below(256),
                rng.below(256),
                1 + rng.below(254)
            ),
            _ => format!("203.0.113.{}", 1 + rng.below(254)),
        }
    }

    /// One sign-in at `t_ms`, evaluated against the tenant's policies.
    pub fn event(&self, rng: &mut Rng, t_ms: i64, correlation_id: String) -> SignInEvent {
        let now = t_ms.div_euclid(1000);
        let r = rng.below(100);
        let kind = match r {
            0..=19 => SignInKind::ServicePrincipal,
            20..=34 => SignInKind::Interactive,
            _ => SignInKind::NonInteractive,
        };
        let mut ev = SignInEvent::new(kind, t_ms, correlation_id, self.name.clone());
        ev.tenant_id = self.tenant_id.clone();
        ev.processing_ms = 1 + rng.below(if kind == SignInKind::Interactive {
            120
        } else {
            25
        }) as u32;
        let resource = rng.pick(&self.resources).clone();
        if kind == SignInKind::ServicePrincipal {
            let services: Vec<&Client> = self
                .clients
                .iter()
                .filter(|c| c.kind == ClientKind::Service)
                .collect();
            let c = *rng.pick(&services);
            ev.protocol = Some("client_credentials".into());
            ev.client_id = Some(c.id.clone());
            ev.user_agent = Some(rng.pick(SERVICE_AGENTS).to_string());
            let ip = if c.id == "svc5" && rng.chance(0.3) {
                format!(
                    "81.{}.{}.{}",
                    rng.below(256),
                    rng.below(256),
                    1 + rng.below(254)
                )
            } else {
                format!("10.200.{}.{}", rng.below(8), 1 + rng.below(254))
            };
            ev.ip_address = Some(ip.clone());
            if rng.chance(0.01) {
                ev.auth_steps
                    .push(step("Client secret", false, t_ms, "Invalid client secret"));
                ev.error_code = Some(ErrorCode::ClientSecretWrong);
                ev.failure_reason = Some("the client secret is wrong".into());
                return ev;
            }
            ev.app_display_name = Some(c.name.clone());
            ev.auth_steps
                .push(step("Client secret", true, t_ms, "Correct client secret"));
            ev.resource = Some(resource.0.clone());
            ev.resource_display_name = Some(resource.1.clone());
            let mut f = SignInFacts::service_principal(now, &c.id);
            f.resource = Some(resource.0);
            f.ip_address = ip.parse().ok();
            f.client_app_type = Some(ClientAppType::Other);
            self.enforce(&mut ev, f, false);
            if ev.error_code.is_none() {
                ev.token_id = Some(token_id(rng));
            }
            return ev;
        }
        let users: Vec<&Client> = self
            .clients
            .iter()
            .filter(|c| c.kind != ClientKind::Service)
            .collect();
        let c = *rng.pick(&users);
        let u = &self.users[self.pick_user(rng)];
        ev.client_id = Some(c.id.clone());
        ev.app_display_name = Some(c.name.clone());
        ev.user_agent = Some(
            if c.kind == ClientKind::Native {
                rng.pick(NATIVE_AGENTS)
            } else {
                rng.pick(USER_AGENTS)
            }
            .to_string(),
        );
        let ip = self.event_ip(rng, &u.home_ip);
        ev.ip_address = Some(ip.clone());
        ev.resource = Some(resource.0.clone());
        ev.resource_display_name = Some(resource.1.clone());
        let interactive = kind == SignInKind::Interactive;
        if interactive && rng.chance(0.01) {
            // Someone typing a name that does not exist.
            ev.protocol = Some("authorization_code".into());
            ev.user_principal_name =
                Some(format!("nobody{}@{}.example", rng.below(500), self.name));
            ev.auth_steps.push(step(
                "Password",
                false,
                t_ms,
                "Invalid username or password",
            ));
            ev.error_code = Some(ErrorCode::CredentialsWrong);
            ev.failure_reason = Some("the user name or password is wrong".into());
            return ev;
        }
        ev.user_id = Some(u.id.clone());
        ev.user_principal_name = Some(u.upn.clone());
        ev.user_display_name = Some(u.display.clone());
        let mfa_session = u.mfa_registered && rng.chance(0.6);
        let amr: Vec<String> = if mfa_session {
            vec!["pwd".into(), "otp".into(), "mfa".into()]
        } else {
            vec!["pwd".into()]
        };
        let auth_time = if interactive {
            now
        } else {
            now - rng.below(7 * 86_400) as i64
        };
        if interactive {
            ev.protocol = Some("authorization_code".into());
            if rng.chance(0.06) {
                ev.auth_steps.push(step(
                    "Password",
                    false,
                    t_ms,
                    "Invalid username or password",
                ));
                ev.error_code = Some(ErrorCode::CredentialsWrong);
                ev.failure_reason = Some("the user name or password is wrong".into());
                return ev;
            }
            ev.auth_steps
                .push(step("Password", true, t_ms, "Correct password"));
            if mfa_session {
                ev.auth_steps.push(step(
                    "Authenticator app (TOTP)",
                    true,
                    t_ms,
                    "MFA successfully completed",
                ));
            }
        } else {
            let refresh = r >= 45;
            ev.protocol = Some(
                if refresh {
                    "refresh_token"
                } else {
                    "authorize"
                }
                .into(),
            );
            if refresh && rng.chance(0.02) {
                ev.auth_steps.push(step(
                    "Refresh token",
                    false,
                    t_ms,
                    "The refresh token has expired",
                ));
                ev.error_code = Some(ErrorCode::RefreshTokenExpired);
                ev.failure_reason = Some("the refresh token has expired".into());
                return ev;
            }
            ev.auth_steps.push(step(
                if refresh {
                    "Refresh token"
                } else {
                    "Previously satisfied"
                },
                true,
                t_ms,
                "First factor requirement satisfied by claim in the token",
            ));
        }
        let mut f = SignInFacts::user(
            now,
            UserFacts {
                id: u.id.clone(),
                user_principal_name: Some(u.upn.clone()),
                groups: u.group_ids.clone(),
                roles: vec![],
                mfa_registered: u.mfa_registered,
            },
            c.id.clone(),
        );
        f.resource = Some(resource.0);
        f.ip_address = ip.parse().ok();
        f.device_platform = ev
            .user_agent
            .as_deref()
            .and_then(|ua| portvakt_policy::agent::device_detail(ua).platform);
        f.client_app_type = Some(if c.kind == ClientKind::Native {
            ClientAppType::MobileAppsAndDesktopClients
        } else {
            ClientAppType::Browser
        });
        f.interactive = interactive;
        f.authentication.amr = amr;
        f.authentication.auth_time = Some(auth_time);
        if mfa_session {
            f.authentication.mfa_time = Some(auth_time);
        }
        f.normalize();
        self.enforce(&mut ev, f, interactive);
        if ev.error_code.is_none() && !ev.interrupted {
            ev.token_id = Some(token_id(rng));
        }
        ev
    }

    /// Evaluate `f` and apply the decision as the server does.
    fn enforce(&self, ev: &mut SignInEvent, f: SignInFacts, interactive: bool) {
        let e: Arc<Evaluation> = Arc::new(evaluate(&self.set, &f));
        ev.facts = Some(f);
        match &e.decision {
            Decision::Allowed => {}
            Decision::Blocked { .. } => {
                ev.error_code = Some(ErrorCode::ConditionalAccessBlocked);
                ev.failure_reason = e.description();
            }
            Decision::FailedClosed { .. } => {
                ev.error_code = Some(ErrorCode::ConditionalAccessUnsatisfiable);
                ev.failure_reason = e.description();
            }
            Decision::InteractionRequired { .. } => {
                if interactive {
                    ev.interrupted = true;
                } else {
                    ev.error_code = Some(ErrorCode::MfaRequired);
                    ev.failure_reason = e.description();
                }
            }
        }
        ev.evaluation = Some(e);
    }
}

fn compile_all(
    index: usize,
    policies: &[Value],
    locations: &[Value],
    tables: &DirectoryTables,
    more: &[Value],
) -> Result<PolicySet, String> {
    let mut all = policies.to_vec();
    for (k, p) in more.iter().enumerate() {
        let mut p = p.clone();
        p["id"] = json!(stable_uuid(6, index, k));
        all.push(p);
    }
    let pols = portvakt_policy::parse_policies(Value::Array(all).to_string().as_bytes())
        .map_err(|e| e.to_string())?;
    let locs = portvakt_policy::parse_named_locations(
        Value::Array(locations.to_vec()).to_string().as_bytes(),
    )
    .map_err(|e| e.to_string())?;
    compile(&pols, &locs, tables).map_err(|e| e.to_string())
}

fn step(method: &'static str, ok: bool, at_ms: i64, detail: &str) -> AuthStep {
    AuthStep {
        authentication_method: method,
        succeeded: ok,
        at_ms,
        detail: detail.to_string(),
    }
}

fn token_id(rng: &mut Rng) -> String {
    use base64::Engine;
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&rng.next_u64().to_le_bytes());
    b[8..].copy_from_slice(&rng.next_u64().to_le_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}
