//! Properties of the evaluator over random tenants and sign-ins:
//! exclusion wins, report-only and disabled policies change nothing, block wins,
//! order does not matter, and What-If agrees with the evaluator.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use portvakt_policy::graph::*;
use portvakt_policy::*;
use proptest::prelude::*;
use proptest::sample::subsequence;

const NOW: i64 = 1_750_000_000;

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn list(pool: &'static [&'static str], max: usize) -> impl Strategy<Value = Vec<String>> {
    subsequence(pool, 0..=max).prop_map(|v| strings(&v))
}

fn users() -> impl Strategy<Value = Users> {
    (
        list(&["All", "u1", "u2", "None"], 2),
        list(&["u1", "u2"], 1),
        list(&["g1", "g2", "g3", "g4"], 2),
        list(&["g1", "g2", "g3", "g4"], 2),
        list(&["r1", "r2"], 1),
        list(&["r1", "r2"], 1),
    )
        .prop_map(|(iu, eu, ig, eg, ir, er)| Users {
            include_users: iu,
            exclude_users: eu,
            include_groups: ig,
            exclude_groups: eg,
            include_roles: ir,
            exclude_roles: er,
            include_guests_or_external_users: None,
            exclude_guests_or_external_users: None,
        })
}

fn platforms() -> impl Strategy<Value = Option<Platforms>> {
    let sel = |v: Vec<&str>| -> Vec<PlatformSelector> {
        v.into_iter()
            .map(|s| match s {
                "all" => PlatformSelector::All,
                "android" => PlatformSelector::Platform(DevicePlatform::Android),
                "iOS" => PlatformSelector::Platform(DevicePlatform::IOS),
                "windows" => PlatformSelector::Platform(DevicePlatform::Windows),
                _ => PlatformSelector::Platform(DevicePlatform::Linux),
            })
            .collect()
    };
    prop_oneof![
        Just(None),
        (
            subsequence(&["all", "android", "iOS", "windows", "linux"][..], 1..=3),
            subsequence(&["android", "iOS", "windows", "linux"][..], 0..=2)
        )
            .prop_map(move |(i, e)| Some(Platforms {
                include_platforms: sel(i),
                exclude_platforms: sel(e),
            }))
    ]
}

fn locations() -> impl Strategy<Value = Option<Locations>> {
    prop_oneof![
        Just(None),
        (
            subsequence(&["All", "AllTrusted", "L1", "L2"][..], 1..=2),
            subsequence(&["AllTrusted", "L1", "L2"][..], 0..=2)
        )
            .prop_map(|(i, e)| Some(Locations {
                include_locations: strings(&i),
                exclude_locations: strings(&e),
            }))
    ]
}

fn grant() -> impl Strategy<Value = Option<GrantControls>> {
    use BuiltInControl::*;
    let g = |op: GrantOperator, c: Vec<BuiltInControl>| GrantControls {
        operator: op,
        built_in_controls: c,
        custom_authentication_factors: vec![],
        terms_of_use: vec![],
        authentication_strength: None,
    };
    prop_oneof![
        Just(None),
        Just(Some(g(GrantOperator::Or, vec![Block]))),
        Just(Some(g(GrantOperator::Or, vec![Mfa]))),
        Just(Some(g(GrantOperator::Or, vec![Mfa, CompliantDevice]))),
        Just(Some(g(GrantOperator::And, vec![Mfa, CompliantDevice]))),
        Just(Some(g(GrantOperator::And, vec![Mfa, PasswordChange]))),
        Just(Some(g(GrantOperator::Or, vec![DomainJoinedDevice]))),
    ]
}

fn session() -> impl Strategy<Value = Option<SessionControls>> {
    let sif = prop_oneof![
        Just(None),
        Just(Some(FrequencyInterval::EveryTime)),
        (1u32..24).prop_map(|v| Some(FrequencyInterval::TimeBased {
            value: v,
            unit: FrequencyUnit::Hours
        })),
    ];
    let pb = prop_oneof![
        Just(None),
        Just(Some(PersistentBrowserMode::Never)),
        Just(Some(PersistentBrowserMode::Always))
    ];
    (sif, pb).prop_map(|(s, b)| {
        if s.is_none() && b.is_none() {
            return None;
        }
        Some(SessionControls {
            sign_in_frequency: s.map(|interval| SignInFrequency { interval }),
            persistent_browser: b.map(|mode| PersistentBrowser { mode }),
            disable_resilience_defaults: false,
        })
    })
}

fn state() -> impl Strategy<Value = PolicyState> {
    prop_oneof![
        Just(PolicyState::Enabled),
        Just(PolicyState::EnabledForReportingButNotEnforced),
        Just(PolicyState::Disabled),
    ]
}

fn client_app_types() -> impl Strategy<Value = Vec<ClientAppType>> {
    use ClientAppType::*;
    subsequence(
        &[
            All,
            Browser,
            MobileAppsAndDesktopClients,
            Other,
            ExchangeActiveSync,
        ][..],
        0..=2,
    )
}

fn flows() -> impl Strategy<Value = Option<AuthenticationFlows>> {
    prop_oneof![
        3 => Just(None),
        1 => Just(Some(AuthenticationFlows { transfer_methods: vec![TransferMethod::DeviceCodeFlow] })),
        1 => Just(Some(AuthenticationFlows { transfer_methods: vec![TransferMethod::AuthenticationTransfer] })),
    ]
}

prop_compose! {
    fn policy()(
        state in state(),
        users in users(),
        apps in (list(&["All", "c1", "c2", "api1"], 2), list(&["c1", "api1"], 1)),
        types in client_app_types(),
        platforms in platforms(),
        locations in locations(),
        flows in flows(),
        grant in grant(),
        session in session(),
    ) -> ConditionalAccessPolicy {
        ConditionalAccessPolicy {
            id: None,
            display_name: "P".into(),
            description: None,
            state,
            template_id: None,
            created_date_time: None,
            modified_date_time: None,
            conditions: ConditionSet {
                users: Some(users),
                applications: Some(Applications { include_applications: apps.0, exclude_applications: apps.1 }),
                client_applications: None,
                client_app_types: types,
                platforms,
                locations,
                authentication_flows: flows,
            },
            grant_controls: grant,
            session_controls: session,
        }
    }
}

fn named_locations() -> Vec<NamedLocation> {
    parse_named_locations(
        br#"[{"id":"L1","displayName":"one","isTrusted":true,"ipRanges":[{"cidrAddress":"203.0.113.0/24"},{"cidrAddress":"2001:db8:1::/48"}]},
             {"id":"L2","displayName":"two","isTrusted":false,"ipRanges":[{"cidrAddress":"203.0.113.128/25"},{"cidrAddress":"2001:db8:2::/48"}]}]"#,
    )
    .unwrap()
}

fn directory() -> DirectoryTables {
    let pairs = |v: &[&str]| {
        v.iter()
            .map(|s| (s.to_string(), format!("name of {s}")))
            .collect()
    };
    DirectoryTables {
        users: vec![
            ("u1".into(), "u1@example.com".into()),
            ("u2".into(), "u2@example.com".into()),
        ],
        groups: pairs(&["g1", "g2", "g3", "g4", "g5"]),
        roles: pairs(&["r1", "r2"]),
        clients: strings(&["c1", "c2", "c3"]),
        resources: strings(&["api1"]),
        service_principals: strings(&["c3"]),
        admin_portals: vec![],
    }
}

prop_compose! {
    fn facts()(
        user in prop::sample::select(&["u1", "u2", "u3"][..]),
        groups in list(&["g1", "g2", "g3", "g4", "g5"], 4),
        roles in list(&["r1", "r2"], 2),
        client in prop::sample::select(&["c1", "c2", "c3"][..]),
        resource in prop::option::of(Just("api1".to_string())),
        ip in prop::sample::select(&["203.0.113.5", "203.0.113.200", "198.51.100.1", "2001:db8:2::9", "::ffff:203.0.113.7", ""][..]),
        platform in prop::option::of(prop::sample::select(&[DevicePlatform::Android, DevicePlatform::IOS, DevicePlatform::Windows, DevicePlatform::MacOS, DevicePlatform::Linux][..])),
        app_type in prop::option::of(prop::sample::select(&[ClientAppType::Browser, ClientAppType::MobileAppsAndDesktopClients, ClientAppType::Other][..])),
        device_code in any::<bool>(),
        mfa in any::<bool>(),
        interactive in any::<bool>(),
        age in 0i64..(30 * 3600),
        pwd_changed in any::<bool>(),
    ) -> SignInFacts {
        let mut f = SignInFacts::user(NOW, UserFacts { id: user.into(), user_principal_name: None, groups, roles, mfa_registered: true }, client);
        f.resource = resource;
        f.ip_address = ip.parse().ok();
        f.device_platform = platform;
        f.client_app_type = app_type;
        f.authentication_flow = device_code.then_some(TransferMethod::DeviceCodeFlow);
        f.interactive = interactive;
        f.authentication.amr = if mfa { strings(&["pwd", "otp", "mfa"]) } else { strings(&["pwd"]) };
        f.authentication.auth_time = Some(NOW - age);
        f.authentication.mfa_time = mfa.then_some(NOW - age);
        f.authentication.password_changed_at = pwd_changed.then_some(NOW - age);
        f.normalize();
        f
    }
}

/// Numbers the policies and compiles them.
fn compiled(mut policies: Vec<ConditionalAccessPolicy>) -> PolicySet {
    for (i, p) in policies.iter_mut().enumerate() {
        if p.id.is_none() {
            p.id = Some(format!("p{i}"));
        }
    }
    compile(&policies, &named_locations(), &directory()).unwrap_or_else(|e| panic!("{}", e.lines()))
}

/// Decision kind, policy ids, persistent browser, sign-in frequency, status.
type Summary = (
    String,
    Vec<String>,
    Option<PersistentBrowserMode>,
    Option<(bool, i64)>,
    ConditionalAccessStatus,
);

/// What must not change: the decision (as sets of policy ids), the session and the
/// status.
fn summary(e: &Evaluation) -> Summary {
    let (kind, mut ids): (&str, Vec<String>) = match &e.decision {
        Decision::Allowed => ("allowed", vec![]),
        Decision::Blocked { policies } => (
            "blocked",
            policies.iter().map(|p| p.id().to_owned()).collect(),
        ),
        Decision::FailedClosed { failures } => (
            "failedClosed",
            failures.iter().map(|f| f.policy.id().to_owned()).collect(),
        ),
        Decision::InteractionRequired { requirements } => (
            "interaction",
            requirements
                .iter()
                .map(|r| {
                    format!(
                        "{} {:?} {}",
                        r.policy.id(),
                        r.grant,
                        r.reauthentication.is_some()
                    )
                })
                .collect(),
        ),
    };
    ids.sort();
    (
        kind.to_owned(),
        ids,
        e.session.persistent_browser,
        e.session
            .sign_in_frequency
            .as_ref()
            .map(|s| (s.every_time, s.max_age_secs)),
        e.conditional_access_status,
    )
}

fn user_of(f: &SignInFacts) -> &UserFacts {
    match &f.identity {
        Identity::User(u) => u,
        Identity::ServicePrincipal(_) => unreachable!(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn policies_survive_export_and_import(p in policy()) {
        let again = parse_policies(&export::policies_json(std::slice::from_ref(&p)));
        prop_assert_eq!(again.map_err(|e| e.lines()), Ok(vec![p]));
    }

    #[test]
    fn excluding_the_user_or_a_group_of_theirs_never_lets_a_policy_apply(
        p in policy(), f in facts(), by_group in any::<bool>(), which in any::<prop::sample::Index>()
    ) {
        let u = user_of(&f);
        let mut q = p.clone();
        let users = q.conditions.users.get_or_insert_with(Users::default);
        let known_user = ["u1", "u2"].contains(&u.id.as_str());
        if by_group && !u.groups.is_empty() {
            users.exclude_groups.push(which.get(&u.groups).clone());
        } else if known_user {
            users.exclude_users.push(u.id.clone());
        } else {
            return Ok(());
        }
        let e = evaluate(&compiled(vec![q]), &f);
        prop_assert!(!e.policies[0].applies(), "{}", e.policies[0].reason());
        let not_applied = matches!(e.policies[0].outcome, Outcome::NotApplied(_) | Outcome::NotEnabled);
        prop_assert!(not_applied);
    }

    #[test]
    fn a_report_only_policy_never_changes_the_decision(
        ps in prop::collection::vec(policy(), 0..6), extra in policy(), f in facts()
    ) {
        let before = evaluate(&compiled(ps.clone()), &f);
        let mut with = ps;
        let mut extra = extra;
        extra.state = PolicyState::EnabledForReportingButNotEnforced;
        extra.id = Some("report-only".into());
        with.push(extra);
        let after = evaluate(&compiled(with), &f);
        prop_assert_eq!(summary(&before), summary(&after));
        prop_assert_eq!(&before.policies[..], &after.policies[..before.policies.len()]);
    }

    #[test]
    fn a_disabled_policy_changes_nothing(
        ps in prop::collection::vec(policy(), 0..6), extra in policy(), f in facts()
    ) {
        let before = evaluate(&compiled(ps.clone()), &f);
        let mut with = ps;
        let mut extra = extra;
        extra.state = PolicyState::Disabled;
        extra.id = Some("disabled".into());
        with.push(extra);
        let after = evaluate(&compiled(with), &f);
        prop_assert_eq!(summary(&before), summary(&after));
        prop_assert_eq!(&before.policies[..], &after.policies[..before.policies.len()]);
        prop_assert_eq!(after.policies.last().map(|r| r.result), Some(AppliedResult::NotEnabled));
    }

    #[test]
    fn block_always_wins(ps in prop::collection::vec(policy(), 0..8), f in facts()) {
        let e = evaluate(&compiled(ps.clone()), &f);
        let blocking: Vec<String> = e
            .policies
            .iter()
            .zip(&ps)
            .filter(|(r, p)| {
                p.state == PolicyState::Enabled
                    && r.applies()
                    && p.grant_controls.as_ref().is_some_and(|g| g.built_in_controls.contains(&BuiltInControl::Block))
            })
            .map(|(r, _)| r.policy.id().to_owned())
            .collect();
        if blocking.is_empty() {
            let blocked = matches!(e.decision, Decision::Blocked { .. });
            prop_assert!(!blocked);
        } else {
            let Decision::Blocked { policies } = &e.decision else {
                return Err(TestCaseError::fail(format!("not blocked: {:?}", e.decision)));
            };
            let ids: Vec<String> = policies.iter().map(|p| p.id().to_owned()).collect();
            prop_assert_eq!(ids, blocking);
            prop_assert_eq!(e.required(), Required::default());
        }
    }

    #[test]
    fn evaluation_does_not_depend_on_policy_order(
        ps in prop::collection::vec(policy(), 0..8), f in facts(), seed in any::<u64>()
    ) {
        let mut numbered = ps;
        for (i, p) in numbered.iter_mut().enumerate() {
            p.id = Some(format!("p{i}"));
        }
        let mut shuffled = numbered.clone();
        // A deterministic shuffle from the seed.
        let mut s = seed;
        for i in (1..shuffled.len()).rev() {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            shuffled.swap(i, (s >> 33) as usize % (i + 1));
        }
        let a = evaluate(&compiled(numbered), &f);
        let b = evaluate(&compiled(shuffled), &f);
        prop_assert_eq!(summary(&a), summary(&b));
        let by_id = |e: &Evaluation| {
            let mut v: Vec<(String, String, String)> =
                e.policies.iter().map(|r| (r.policy.id().to_owned(), format!("{:?}", r.result), r.reason())).collect();
            v.sort();
            v
        };
        prop_assert_eq!(by_id(&a), by_id(&b));
    }

    #[test]
    fn what_if_agrees_with_the_evaluator(ps in prop::collection::vec(policy(), 0..6), f in facts()) {
        let set = compiled(ps);
        let u = user_of(&f);
        let body = serde_json::json!({
            "signInIdentity": {"@odata.type": "#microsoft.graph.userSignIn", "userId": u.id},
            "signInContext": {"@odata.type": "#microsoft.graph.applicationContext", "includeApplications": [f.client_id]},
            "signInConditions": {
                "devicePlatform": f.device_platform.map(|d| d.as_str()),
                "clientAppType": f.client_app_type.map(|c| c.as_str()),
                "ipAddress": f.ip_address.map(|i| i.to_string()),
                "authenticationFlow": {"transferMethod": f.authentication_flow.map(|t| t.as_str())},
                "country": "SE",
                "userRiskLevel": "none"
            },
            "appliedPoliciesOnly": false
        });
        let req = parse_what_if(&serde_json::to_vec(&body).unwrap()).map_err(|e| TestCaseError::fail(e.lines()))?;
        let wf = req.to_facts(&directory(), f.identity.clone(), NOW).map_err(|e| TestCaseError::fail(e.lines()))?;
        let answer = what_if(&set, &req, &wf);
        // The same facts without a resource, as What-If names one application.
        let mut plain = f.clone();
        plain.resource = None;
        let e = evaluate(&set, &plain);
        prop_assert_eq!(answer.value.len(), e.policies.len());
        for (w, r) in answer.value.iter().zip(&e.policies) {
            prop_assert_eq!(w.policy_applies, r.applies());
            prop_assert_eq!(w.analysis_reasons, r.analysis_reasons());
        }
    }
}
