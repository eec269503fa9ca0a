//! Conditional Access evaluation time: 195 policies (Entra's per-tenant limit) for a
//! user in 1,000 groups. Goal: ≤ 10 µs median per evaluation. Run with
//! `cargo bench -p portvakt-policy --bench evaluate`.
//!
//! The mix: 195 policies, about 55 % enabled, 30 % report-only, 15 % disabled;
//! users by All / group / role with group and user exclusions (some of which hit the
//! user), application includes and excludes, client app types, platforms, named
//! locations (40 locations of 6 IPv4 and IPv6 ranges each), block, MFA, fail-closed
//! controls and session controls. The tenant has 5,000 groups; the policies name
//! about 900 of them; the user is in 1,000.
//!
//! Three figures: `evaluate` on facts already normalised (the per-evaluation cost:
//! it includes mapping the user's 1,000 groups onto the policies' groups); the same
//! plus `SignInFacts::normalize` on unsorted groups (what a sign-in pays once); and
//! serializing the evaluation for the sign-in log (off the request path).
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::disallowed_methods)]

use portvakt_policy::graph::*;
use portvakt_policy::*;
use std::hint::black_box;
use std::time::{Duration, Instant};

const NOW: i64 = 1_750_000_000;

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
    fn uuid(&mut self) -> String {
        let (a, b) = (self.next(), self.next());
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            (b >> 48) | 0x8000,
            b & 0xffff_ffff_ffff
        )
    }
    fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[self.below(v.len())]
    }
}

struct Tenant {
    set: PolicySet,
    facts: SignInFacts,
}

fn tenant() -> Tenant {
    let mut r = Rng(0x9E37_79B9_7F4A_7C15);
    let groups: Vec<String> = (0..5000).map(|_| r.uuid()).collect();
    let users: Vec<String> = (0..200).map(|_| r.uuid()).collect();
    let roles: Vec<String> = (0..30).map(|_| r.uuid()).collect();
    let clients: Vec<String> = (0..40).map(|_| r.uuid()).collect();
    let resources: Vec<String> = (0..20).map(|i| format!("api://service-{i}")).collect();
    // The user: 1,000 of the groups, 2 roles.
    let mut user_groups: Vec<String> = Vec::new();
    while user_groups.len() < 1000 {
        let g = r.pick(&groups).clone();
        if !user_groups.contains(&g) {
            user_groups.push(g);
        }
    }
    let user_roles = vec![roles[0].clone(), roles[1].clone()];
    // 40 named locations, 6 ranges each (4 IPv4, 2 IPv6), some trusted.
    let locations: Vec<NamedLocation> = (0..40)
        .map(|i| NamedLocation {
            id: Some(r.uuid()),
            display_name: format!("Site {i}"),
            is_trusted: i % 4 == 0,
            ip_ranges: (0..6)
                .map(|k| {
                    if k < 4 {
                        format!("10.{}.{}.0/24", i, k * 16).parse().unwrap()
                    } else {
                        format!("2001:db8:{:x}:{:x}::/64", i, k).parse().unwrap()
                    }
                })
                .collect(),
            created_date_time: None,
            modified_date_time: None,
        })
        .collect();
    let mut policies = Vec::new();
    for i in 0..195 {
        let state = match r.below(100) {
            0..=54 => PolicyState::Enabled,
            55..=84 => PolicyState::EnabledForReportingButNotEnforced,
            _ => PolicyState::Disabled,
        };
        let mut u = Users::default();
        match r.below(10) {
            0..=3 => u.include_users = vec!["All".into()],
            4..=7 => {
                for _ in 0..1 + r.below(3) {
                    // Half the time a group the user is in.
                    let g = if r.chance(50) {
                        r.pick(&user_groups).clone()
                    } else {
                        r.pick(&groups).clone()
                    };
                    u.include_groups.push(g);
                }
            }
            _ => u.include_roles = vec![r.pick(&roles).clone()],
        }
        for _ in 0..1 + r.below(3) {
            // Break-glass and exclusion groups; now and then one of the user's.
            let g = if r.chance(5) {
                r.pick(&user_groups).clone()
            } else {
                r.pick(&groups).clone()
            };
            u.exclude_groups.push(g);
        }
        if r.chance(20) {
            u.exclude_users.push(r.pick(&users).clone());
        }
        let mut a = Applications::default();
        if r.chance(70) {
            a.include_applications = vec!["All".into()];
            if r.chance(30) {
                a.exclude_applications.push(r.pick(&clients).clone());
            }
        } else {
            for _ in 0..1 + r.below(3) {
                a.include_applications.push(if r.chance(50) {
                    r.pick(&clients).clone()
                } else {
                    r.pick(&resources).clone()
                });
            }
        }
        let client_app_types = match r.below(4) {
            0 => vec![ClientAppType::All],
            1 => vec![
                ClientAppType::Browser,
                ClientAppType::MobileAppsAndDesktopClients,
            ],
            2 => vec![ClientAppType::ExchangeActiveSync, ClientAppType::Other],
            _ => vec![],
        };
        let platforms = r.chance(25).then(|| Platforms {
            include_platforms: vec![PlatformSelector::All],
            exclude_platforms: vec![
                PlatformSelector::Platform(DevicePlatform::Windows),
                PlatformSelector::Platform(DevicePlatform::MacOS),
            ],
        });
        let locations_cond = r.chance(40).then(|| {
            let mut l = Locations {
                include_locations: vec!["All".into()],
                exclude_locations: vec!["AllTrusted".into()],
            };
            for _ in 0..r.below(3) {
                l.exclude_locations
                    .push(r.pick(&locations).id.clone().unwrap());
            }
            l
        });
        let grant = |c: Vec<BuiltInControl>, op: GrantOperator| {
            Some(GrantControls {
                operator: op,
                built_in_controls: c,
                custom_authentication_factors: vec![],
                terms_of_use: vec![],
                authentication_strength: None,
            })
        };
        let (grant_controls, session_controls) = match r.below(10) {
            0..=1 => (grant(vec![BuiltInControl::Block], GrantOperator::Or), None),
            2..=5 => (grant(vec![BuiltInControl::Mfa], GrantOperator::Or), None),
            6 => (
                grant(
                    vec![BuiltInControl::Mfa, BuiltInControl::CompliantDevice],
                    GrantOperator::Or,
                ),
                None,
            ),
            _ => (
                None,
                Some(SessionControls {
                    sign_in_frequency: Some(SignInFrequency {
                        interval: FrequencyInterval::TimeBased {
                            value: 1 + r.below(24) as u32,
                            unit: FrequencyUnit::Hours,
                        },
                    }),
                    persistent_browser: Some(PersistentBrowser {
                        mode: PersistentBrowserMode::Never,
                    }),
                    disable_resilience_defaults: false,
                }),
            ),
        };
        policies.push(ConditionalAccessPolicy {
            id: Some(r.uuid()),
            display_name: format!("CA{i:03}"),
            description: None,
            state,
            template_id: None,
            created_date_time: None,
            modified_date_time: None,
            conditions: ConditionSet {
                users: Some(u),
                applications: Some(a),
                client_applications: None,
                client_app_types,
                platforms,
                locations: locations_cond,
                authentication_flows: None,
            },
            grant_controls,
            session_controls,
        });
    }
    let directory = PermissiveDirectory;
    let set = compile(&policies, &locations, &directory).expect("compiles");
    let mut facts = SignInFacts::user(
        NOW,
        UserFacts {
            id: users[0].clone(),
            user_principal_name: Some("ada@example.com".into()),
            groups: user_groups,
            roles: user_roles,
            mfa_registered: true,
        },
        clients[0].clone(),
    );
    facts.resource = Some(resources[0].clone());
    facts.ip_address = "10.7.16.9".parse().ok();
    facts.device_platform = Some(DevicePlatform::IOS);
    facts.client_app_type = Some(ClientAppType::Browser);
    facts.interactive = false;
    facts.authentication.amr = vec!["pwd".into(), "otp".into(), "mfa".into()];
    facts.authentication.auth_time = Some(NOW - 1800);
    facts.authentication.mfa_time = Some(NOW - 1800);
    Tenant { set, facts }
}

/// Times `f` `n` times one by one, each on a fresh input from `setup` (not timed);
/// returns the sorted durations.
fn sample<T>(n: usize, mut setup: impl FnMut() -> T, mut f: impl FnMut(T)) -> Vec<Duration> {
    for _ in 0..n / 10 {
        f(setup());
    }
    let mut v = Vec::with_capacity(n);
    for _ in 0..n {
        let input = setup();
        let s = Instant::now();
        f(input);
        v.push(s.elapsed());
    }
    v.sort();
    v
}

fn report(name: &str, v: &[Duration]) {
    let q = |p: f64| v[((v.len() as f64 * p) as usize).min(v.len() - 1)];
    println!(
        "{name:<44} median {:>7.2} µs   p99 {:>7.2} µs   min {:>6.2} µs   (n = {})",
        q(0.5).as_secs_f64() * 1e6,
        q(0.99).as_secs_f64() * 1e6,
        v[0].as_secs_f64() * 1e6,
        v.len()
    );
}

fn main() {
    let t = tenant();
    let mut facts = t.facts.clone();
    facts.normalize();
    let e = evaluate(&t.set, &facts);
    let applied = e.policies.iter().filter(|p| p.applies()).count();
    let enabled = t
        .set
        .sources()
        .filter(|p| p.state == PolicyState::Enabled)
        .count();
    println!(
        "tenant: {} policies ({enabled} enabled), 40 named locations, user in 1000 groups; {applied} apply; decision: {}",
        t.set.len(),
        match &e.decision {
            Decision::Allowed => "allowed".to_owned(),
            Decision::Blocked { policies } => format!("blocked by {}", policies.len()),
            Decision::FailedClosed { failures } => format!("failed closed ({})", failures.len()),
            Decision::InteractionRequired { requirements } => format!("interaction ({})", requirements.len()),
        }
    );
    // `cargo test --all-targets` runs this without `--bench`: a smoke run then.
    let n = if std::env::args().any(|a| a == "--bench") {
        20_000
    } else {
        50
    };
    let v = sample(
        n,
        || (),
        |()| {
            black_box(evaluate(black_box(&t.set), black_box(&facts)));
        },
    );
    report("evaluate (facts normalised)", &v);
    let eval_median = v[v.len() / 2];
    let v = sample(
        n,
        || t.facts.clone(),
        |mut f| {
            f.normalize();
            black_box(&f);
        },
    );
    report("normalize: sort 1000 unsorted groups", &v);
    let v = sample(
        n,
        || facts.clone(),
        |mut f| {
            f.normalize();
            black_box(&f);
        },
    );
    report("normalize: groups already sorted", &v);
    let v = sample(
        n,
        || t.facts.clone(),
        |mut f| {
            f.normalize();
            black_box(evaluate(black_box(&t.set), black_box(&f)));
        },
    );
    report("normalize (unsorted) + evaluate", &v);
    let v = sample(
        n / 4,
        || (),
        |()| {
            black_box(serde_json::to_vec(black_box(&e)).unwrap());
        },
    );
    report("serialize the evaluation (sign-in log)", &v);
    println!(
        "goal: evaluate median <= 10 µs: {}",
        if eval_median <= Duration::from_micros(10) {
            "met"
        } else {
            "NOT met"
        }
    );
}
