//! The evaluator, condition by condition and control by control.

use super::*;
use crate::compile::compile;
use crate::directory::{AppRef, DirectoryTables};
use crate::facts::UserFacts;
use crate::graph::{ConditionalAccessPolicy, NamedLocation};
use crate::parse::{parse_named_locations, parse_policies};

const NOW: i64 = 1_750_000_000;

fn dir() -> DirectoryTables {
    DirectoryTables {
        users: vec![
            ("u-ada".into(), "ada@example.com".into()),
            ("u-bob".into(), "bob@example.com".into()),
        ],
        groups: vec![
            ("g-staff".into(), "Staff".into()),
            ("g-admins".into(), "Admins".into()),
            ("g-breakglass".into(), "Break glass".into()),
        ],
        roles: vec![("r-ga".into(), "Global Administrator".into())],
        clients: vec![
            "c-web".into(),
            "c-cli".into(),
            "c-portal".into(),
            "c-svc".into(),
        ],
        resources: vec!["api://analytics".into(), "urn:portvakt:admin".into()],
        service_principals: vec!["c-svc".into(), "c-svc2".into()],
        admin_portals: vec![
            AppRef::Client("c-portal".into()),
            AppRef::Resource("urn:portvakt:admin".into()),
        ],
    }
}

fn locations() -> Vec<NamedLocation> {
    parse_named_locations(
        br##"[
        {"@odata.type":"#microsoft.graph.ipNamedLocation","id":"loc-hq","displayName":"HQ","isTrusted":true,
         "ipRanges":[{"cidrAddress":"203.0.113.0/24"},{"cidrAddress":"2001:db8:1::/48"}]},
        {"@odata.type":"#microsoft.graph.ipNamedLocation","id":"loc-lab","displayName":"Lab","isTrusted":false,
         "ipRanges":[{"cidrAddress":"203.0.113.128/25"},{"cidrAddress":"198.51.100.0/24"}]},
        {"@odata.type":"#microsoft.graph.ipNamedLocation","id":"loc-v6","displayName":"Branch v6","isTrusted":false,
         "ipRanges":[{"cidrAddress":"2001:db8:2::/48"}]}
    ]"##,
    )
    .expect("locations parse")
}

/// A policy: `id`, `state`, the `conditions` members (JSON text), the grant controls
/// and session controls (JSON text or `null`).
fn pol(
    id: &str,
    state: &str,
    conditions: &str,
    grant: &str,
    session: &str,
) -> ConditionalAccessPolicy {
    let json = format!(
        r#"{{"id":"{id}","displayName":"Policy {id}","state":"{state}","conditions":{{{conditions}}},"grantControls":{grant},"sessionControls":{session}}}"#
    );
    parse_policies(json.as_bytes())
        .unwrap_or_else(|e| panic!("{json}: {e}"))
        .remove(0)
}

const ALL: &str =
    r#""users":{"includeUsers":["All"]},"applications":{"includeApplications":["All"]}"#;
const MFA: &str = r#"{"operator":"OR","builtInControls":["mfa"]}"#;
const BLOCK: &str = r#"{"operator":"OR","builtInControls":["block"]}"#;

fn set(policies: &[ConditionalAccessPolicy]) -> PolicySet {
    compile(policies, &locations(), &dir()).unwrap_or_else(|e| panic!("{}", e.lines()))
}

fn ada() -> SignInFacts {
    let mut f = SignInFacts::user(
        NOW,
        UserFacts {
            id: "u-ada".into(),
            user_principal_name: Some("ada@example.com".into()),
            groups: vec!["g-staff".into()],
            roles: vec![],
            mfa_registered: true,
        },
        "c-web",
    );
    f.resource = Some("api://analytics".into());
    f.client_app_type = Some(ClientAppType::Browser);
    f.device_platform = Some(DevicePlatform::Windows);
    f.ip_address = "192.0.2.10".parse().ok();
    f.interactive = true;
    f.authentication.amr = vec!["pwd".into()];
    f.authentication.auth_time = Some(NOW - 60);
    f
}

fn with_mfa(mut f: SignInFacts) -> SignInFacts {
    f.authentication.amr = vec!["pwd".into(), "otp".into(), "mfa".into()];
    f.authentication.mfa_time = f.authentication.auth_time;
    f
}

fn user(f: &mut SignInFacts) -> &mut UserFacts {
    match &mut f.identity {
        Identity::User(u) => u,
        Identity::ServicePrincipal(_) => panic!("not a user"),
    }
}

/// The result of the one policy in `p` for `f`.
fn one(p: ConditionalAccessPolicy, f: &SignInFacts) -> PolicyResult {
    evaluate(&set(&[p]), f).policies.remove(0)
}

fn applies(conditions: &str, f: &SignInFacts) -> bool {
    one(pol("p", "enabled", conditions, MFA, "null"), f).applies()
}

#[test]
fn users_include_and_exclude() {
    let f = ada();
    assert!(applies(ALL, &f));
    let apps = r#""applications":{"includeApplications":["All"]}"#;
    let c = |users: &str| format!(r#""users":{{{users}}},{apps}"#);
    assert!(applies(&c(r#""includeUsers":["u-ada"]"#), &f));
    assert!(
        applies(&c(r#""includeUsers":["ada@example.com"]"#), &f),
        "by UPN"
    );
    assert!(!applies(&c(r#""includeUsers":["u-bob"]"#), &f));
    assert!(
        applies(&c(r#""includeGroups":["Staff"]"#), &f),
        "by group name"
    );
    assert!(!applies(&c(r#""includeGroups":["g-admins"]"#), &f));
    assert!(!applies(&c(r#""includeUsers":["None"]"#), &f));
    assert!(
        !applies(&c(r#""includeUsers":[]"#), &f),
        "nothing included: nobody"
    );
    assert!(
        !applies(&c(r#""includeUsers":["GuestsOrExternalUsers"]"#), &f),
        "no guests in Portvakt"
    );
    let guests = r#""includeGuestsOrExternalUsers":{"guestOrExternalUserTypes":"b2bCollaborationGuest","externalTenants":{"membershipKind":"all"}}"#;
    assert!(!applies(&c(guests), &f));
    // Exclusion wins, whichever way the user is excluded.
    assert!(!applies(
        &c(r#""includeUsers":["All"],"excludeUsers":["u-ada"]"#),
        &f
    ));
    assert!(!applies(
        &c(r#""includeUsers":["u-ada"],"excludeGroups":["g-staff"]"#),
        &f
    ));
    let r = one(
        pol(
            "p",
            "enabled",
            &c(r#""includeUsers":["All"],"excludeGroups":["Staff"]"#),
            MFA,
            "null",
        ),
        &f,
    );
    assert_eq!(
        r.outcome,
        Outcome::NotApplied(Unmet::UserExcluded(Via::Group(Arc::from("g-staff"))))
    );
    assert_eq!(
        r.reason(),
        "does not apply: the user is excluded through group g-staff"
    );
    // Excluding guests excludes nobody.
    let ex_guests = r#""includeUsers":["All"],"excludeUsers":["GuestsOrExternalUsers"],"excludeGuestsOrExternalUsers":{"guestOrExternalUserTypes":"b2bCollaborationGuest","externalTenants":{"membershipKind":"all"}}"#;
    assert!(applies(&c(ex_guests), &f));
    // Roles.
    let mut admin = ada();
    user(&mut admin).roles = vec!["r-ga".into()];
    assert!(applies(
        &c(r#""includeRoles":["Global Administrator"]"#),
        &admin
    ));
    assert!(!applies(&c(r#""includeRoles":["r-ga"]"#), &f));
    assert!(!applies(
        &c(r#""includeUsers":["All"],"excludeRoles":["r-ga"]"#),
        &admin
    ));
    // Unsorted, duplicated groups give the same answer.
    let mut messy = ada();
    user(&mut messy).groups = vec!["zz".into(), "g-staff".into(), "aa".into(), "g-staff".into()];
    assert!(applies(&c(r#""includeGroups":["g-staff"]"#), &messy));
    assert!(!applies(
        &c(r#""includeUsers":["All"],"excludeGroups":["g-staff"]"#),
        &messy
    ));
}

#[test]
fn user_policies_never_apply_to_service_principals_and_vice_versa() {
    let mut sp = SignInFacts::service_principal(NOW, "c-svc");
    sp.resource = Some("api://analytics".into());
    sp.client_app_type = Some(ClientAppType::Other);
    let r = one(pol("p", "enabled", ALL, MFA, "null"), &sp);
    assert_eq!(r.outcome, Outcome::NotApplied(Unmet::NotAUser));
    assert_eq!(r.analysis_reasons(), "workloadIdentities");
    let wl = |cas: &str| {
        format!(
            r#""users":{{"includeUsers":["None"]}},"applications":{{"includeApplications":["All"]}},"clientApplications":{{{cas}}}"#
        )
    };
    let all_sps = wl(r#""includeServicePrincipals":["ServicePrincipalsInMyTenant"]"#);
    assert!(one(pol("w", "enabled", &all_sps, BLOCK, "null"), &sp).applies());
    assert!(one(
        pol(
            "w",
            "enabled",
            &wl(r#""includeServicePrincipals":["c-svc"]"#),
            BLOCK,
            "null"
        ),
        &sp
    )
    .applies());
    assert!(!one(
        pol(
            "w",
            "enabled",
            &wl(r#""includeServicePrincipals":["c-svc2"]"#),
            BLOCK,
            "null"
        ),
        &sp
    )
    .applies());
    let ex = wl(
        r#""includeServicePrincipals":["ServicePrincipalsInMyTenant"],"excludeServicePrincipals":["c-svc"]"#,
    );
    assert_eq!(
        one(pol("w", "enabled", &ex, BLOCK, "null"), &sp).outcome,
        Outcome::NotApplied(Unmet::ServicePrincipalExcluded)
    );
    let e = evaluate(&set(&[pol("w", "enabled", &all_sps, BLOCK, "null")]), &sp);
    assert!(matches!(e.decision, Decision::Blocked { .. }));
    let r = one(pol("w", "enabled", &all_sps, BLOCK, "null"), &ada());
    assert_eq!(r.outcome, Outcome::NotApplied(Unmet::NotAServicePrincipal));
    assert_eq!(r.analysis_reasons(), "users");
}

#[test]
fn applications_by_client_or_resource() {
    let f = ada();
    let c = |apps: &str| format!(r#""users":{{"includeUsers":["All"]}},"applications":{{{apps}}}"#);
    assert!(
        applies(&c(r#""includeApplications":["c-web"]"#), &f),
        "the client"
    );
    assert!(
        applies(&c(r#""includeApplications":["api://analytics"]"#), &f),
        "the resource"
    );
    assert!(!applies(&c(r#""includeApplications":["c-cli"]"#), &f));
    assert!(!applies(&c(r#""includeApplications":["None"]"#), &f));
    assert!(
        !applies(&c(r#""includeApplications":["Office365"]"#), &f),
        "no Office 365 in Portvakt"
    );
    assert!(!applies(
        &c(r#""includeApplications":["All"],"excludeApplications":["api://analytics"]"#),
        &f
    ));
    assert!(!applies(
        &c(r#""includeApplications":["All"],"excludeApplications":["c-web"]"#),
        &f
    ));
    assert!(applies(
        &c(r#""includeApplications":["All"],"excludeApplications":["Office365"]"#),
        &f
    ));
    // MicrosoftAdminPortals: the directory's admin clients and resource.
    assert!(!applies(
        &c(r#""includeApplications":["MicrosoftAdminPortals"]"#),
        &f
    ));
    let mut portal = ada();
    portal.client_id = "c-portal".into();
    portal.resource = None;
    assert!(applies(
        &c(r#""includeApplications":["MicrosoftAdminPortals"]"#),
        &portal
    ));
    let mut cli = ada();
    cli.client_id = "c-cli".into();
    cli.resource = Some("urn:portvakt:admin".into());
    assert!(applies(
        &c(r#""includeApplications":["MicrosoftAdminPortals"]"#),
        &cli
    ));
}

#[test]
fn client_app_types() {
    let c = |types: &str| format!(r#"{ALL},"clientAppTypes":[{types}]"#);
    let mut f = ada();
    assert!(applies(&c(r#""all""#), &f));
    assert!(applies(&c(""), &f), "empty = unconfigured");
    assert!(applies(
        &c(r#""browser","mobileAppsAndDesktopClients""#),
        &f
    ));
    assert!(!applies(&c(r#""mobileAppsAndDesktopClients""#), &f));
    assert!(!applies(&c(r#""exchangeActiveSync","other""#), &f));
    f.client_app_type = Some(ClientAppType::Other);
    assert!(applies(&c(r#""exchangeActiveSync","other""#), &f));
    f.client_app_type = Some(ClientAppType::ExchangeActiveSync);
    assert!(
        applies(&c(r#""exchangeActiveSync""#), &f),
        "the bit works even if Portvakt never sets it"
    );
    f.client_app_type = None;
    assert!(!applies(&c(r#""browser""#), &f), "unknown matches only all");
    assert!(applies(&c(r#""all""#), &f));
}

#[test]
fn platforms_include_exclude_and_unknown() {
    let c = |pl: &str| format!(r#"{ALL},"platforms":{{{pl}}}"#);
    let block_unknown =
        c(r#""includePlatforms":["all"],"excludePlatforms":["android","iOS","windows","macOS"]"#);
    let mut f = ada();
    assert!(!applies(&block_unknown, &f), "windows excluded");
    f.device_platform = Some(DevicePlatform::Linux);
    assert!(applies(&block_unknown, &f));
    f.device_platform = None;
    assert!(
        applies(&block_unknown, &f),
        "unknown platform: included by all, never excluded"
    );
    assert!(
        !applies(&c(r#""includePlatforms":["android","iOS"]"#), &f),
        "unknown: not in a specific list"
    );
    f.device_platform = Some(DevicePlatform::IOS);
    assert!(applies(&c(r#""includePlatforms":["android","iOS"]"#), &f));
    let r = one(
        pol(
            "p",
            "enabled",
            &c(r#""includePlatforms":["all"],"excludePlatforms":["iOS"]"#),
            MFA,
            "null",
        ),
        &f,
    );
    assert_eq!(
        r.outcome,
        Outcome::NotApplied(Unmet::PlatformExcluded(DevicePlatform::IOS))
    );
    assert_eq!(r.analysis_reasons(), "devicePlatform");
}

#[test]
fn locations_ipv4_ipv6_trusted_and_overlapping() {
    let c = |l: &str| format!(r#"{ALL},"locations":{{{l}}}"#);
    let untrusted = c(r#""includeLocations":["All"],"excludeLocations":["AllTrusted"]"#);
    let mut f = ada();
    assert!(applies(&untrusted, &f), "192.0.2.10 is in no location");
    f.ip_address = "203.0.113.5".parse().ok();
    let r = one(pol("p", "enabled", &untrusted, BLOCK, "null"), &f);
    assert_eq!(
        r.outcome,
        Outcome::NotApplied(Unmet::LocationTrusted(Arc::from("loc-hq")))
    );
    // IPv6 in the trusted HQ range, and an IPv4-mapped address.
    f.ip_address = "2001:db8:1:42::7".parse().ok();
    assert!(!applies(&untrusted, &f));
    f.ip_address = "::ffff:203.0.113.5".parse().ok();
    assert!(!applies(&untrusted, &f));
    f.ip_address = "2001:db8:2::1".parse().ok();
    assert!(applies(&untrusted, &f), "untrusted v6 branch");
    assert!(
        applies(&c(r#""includeLocations":["Branch v6"]"#), &f),
        "by display name"
    );
    // Overlap: 203.0.113.200 is in HQ (trusted) and in Lab.
    f.ip_address = "203.0.113.200".parse().ok();
    let e = evaluate(
        &set(&[pol(
            "p",
            "enabled",
            &c(r#""includeLocations":["loc-lab"]"#),
            MFA,
            "null",
        )]),
        &f,
    );
    assert_eq!(
        e.matched_locations,
        [Arc::from("loc-hq"), Arc::from("loc-lab")]
    );
    assert!(e.trusted_location);
    assert!(applies(&c(r#""includeLocations":["loc-lab"]"#), &f));
    assert!(
        !applies(
            &c(r#""includeLocations":["loc-lab"],"excludeLocations":["loc-hq"]"#),
            &f
        ),
        "exclusion wins"
    );
    assert!(applies(&c(r#""includeLocations":["AllTrusted"]"#), &f));
    // Unknown address: only All matches.
    f.ip_address = None;
    assert!(applies(
        &c(r#""includeLocations":["All"],"excludeLocations":["AllTrusted"]"#),
        &f
    ));
    assert!(!applies(&c(r#""includeLocations":["loc-hq"]"#), &f));
    assert!(!applies(&c(r#""includeLocations":["AllTrusted"]"#), &f));
}

#[test]
fn authentication_flows() {
    let c = |t: &str| format!(r#"{ALL},"authenticationFlows":{{"transferMethods":"{t}"}}"#);
    let mut f = ada();
    assert!(!applies(&c("deviceCodeFlow"), &f));
    f.authentication_flow = Some(TransferMethod::DeviceCodeFlow);
    assert!(applies(&c("deviceCodeFlow"), &f));
    assert!(applies(&c("deviceCodeFlow,authenticationTransfer"), &f));
    assert!(
        !applies(&c("authenticationTransfer"), &f),
        "never seen by Portvakt"
    );
}

#[test]
fn grant_controls_and_operators() {
    let g = |op: &str, controls: &str| {
        format!(r#"{{"operator":"{op}","builtInControls":[{controls}]}}"#)
    };
    let f = ada();
    let m = with_mfa(ada());
    let dec = |grant: &str, facts: &SignInFacts| {
        evaluate(&set(&[pol("p", "enabled", ALL, grant, "null")]), facts)
    };
    // mfa
    let e = dec(MFA, &f);
    assert_eq!(
        e.required(),
        Required {
            mfa: true,
            ..Default::default()
        }
    );
    assert_eq!(
        e.description().as_deref(),
        Some("Conditional Access policy 'Policy p' (id p) requires mfa; this session signed in with pwd only")
    );
    assert_eq!(e.policies[0].result, AppliedResult::Failure);
    assert_eq!(
        e.conditional_access_status,
        ConditionalAccessStatus::Failure
    );
    let e = dec(MFA, &m);
    assert!(e.is_allowed());
    assert_eq!(e.policies[0].result, AppliedResult::Success);
    assert_eq!(
        e.conditional_access_status,
        ConditionalAccessStatus::Success
    );
    // OR with an unsatisfiable control: mfa is still a way through.
    let e = dec(&g("OR", r#""mfa","compliantDevice""#), &f);
    assert!(matches!(e.decision, Decision::InteractionRequired { .. }));
    assert!(dec(&g("OR", r#""mfa","compliantDevice""#), &m).is_allowed());
    // AND with an unsatisfiable control: fails closed, MFA or not.
    let e = dec(&g("AND", r#""mfa","compliantDevice""#), &m);
    let Decision::FailedClosed { failures } = &e.decision else {
        panic!("{:?}", e.decision)
    };
    assert_eq!(failures[0].control.as_ref(), "compliantDevice");
    let d = e.description().unwrap_or_default();
    assert!(
        d.contains("requires compliantDevice, which Portvakt cannot satisfy"),
        "{d}"
    );
    // OR of unsatisfiable controls only: fails closed.
    let e = dec(&g("OR", r#""compliantDevice","domainJoinedDevice""#), &m);
    assert!(matches!(e.decision, Decision::FailedClosed { .. }));
    for c in [
        "approvedApplication",
        "compliantApplication",
        "riskRemediation",
    ] {
        assert!(
            matches!(
                dec(&g("OR", &format!("\"{c}\"")), &m).decision,
                Decision::FailedClosed { .. }
            ),
            "{c}"
        );
    }
    // passwordChange: satisfied when changed during this session.
    let pc = g("AND", r#""mfa","passwordChange""#);
    let e = dec(&pc, &f);
    let Decision::InteractionRequired { requirements } = &e.decision else {
        panic!("{:?}", e.decision)
    };
    assert_eq!(
        requirements[0].grant,
        [Interaction::Mfa, Interaction::PasswordChange]
    );
    assert!(!requirements[0].any_of);
    assert_eq!(
        e.required(),
        Required {
            mfa: true,
            password_change: true,
            reauthenticate: false
        }
    );
    let mut changed = with_mfa(ada());
    changed.authentication.password_changed_at = Some(NOW - 30);
    assert!(dec(&pc, &changed).is_allowed());
    changed.authentication.password_changed_at = Some(NOW - 3600);
    assert!(
        !dec(&pc, &changed).is_allowed(),
        "changed before this session"
    );
    // OR [mfa, passwordChange]: either; required() picks mfa.
    let e = dec(&g("OR", r#""passwordChange","mfa""#), &f);
    assert_eq!(
        e.required(),
        Required {
            mfa: true,
            ..Default::default()
        }
    );
    // Authentication strengths: the built-in MFA one is mfa; others fail closed.
    let strength = |id: &str| {
        format!(
            r#"{{"operator":"OR","authenticationStrength":{{"id":"{id}","displayName":"S {id}"}}}}"#
        )
    };
    assert!(dec(&strength("00000000-0000-0000-0000-000000000002"), &m).is_allowed());
    assert!(!dec(&strength("00000000-0000-0000-0000-000000000002"), &f).is_allowed());
    let e = dec(&strength("00000000-0000-0000-0000-000000000004"), &m);
    assert!(
        matches!(e.decision, Decision::FailedClosed { .. }),
        "{:?}",
        e.decision
    );
    // Terms of use and custom controls fail closed.
    assert!(matches!(
        dec(r#"{"operator":"OR","termsOfUse":["tou-1"]}"#, &m).decision,
        Decision::FailedClosed { .. }
    ));
    assert!(matches!(
        dec(
            r#"{"operator":"OR","customAuthenticationFactors":["Duo"]}"#,
            &m
        )
        .decision,
        Decision::FailedClosed { .. }
    ));
    // Block.
    let e = dec(BLOCK, &m);
    assert!(matches!(e.decision, Decision::Blocked { .. }));
    assert_eq!(
        e.description().as_deref(),
        Some("Conditional Access policy 'Policy p' (id p) blocks this sign-in")
    );
    assert_eq!(
        e.policies[0].enforced_grant_controls(),
        ["block".to_owned()]
    );
    // Session-only policy: applies, nothing to grant.
    let e = dec("null", &f);
    assert!(e.is_allowed());
    assert_eq!(e.policies[0].result, AppliedResult::Success);
}

#[test]
fn block_wins_and_nothing_else_is_prompted() {
    let policies = [
        pol("mfa", "enabled", ALL, MFA, "null"),
        pol("blk", "enabled", ALL, BLOCK, "null"),
        pol(
            "dev",
            "enabled",
            ALL,
            r#"{"operator":"OR","builtInControls":["compliantDevice"]}"#,
            "null",
        ),
    ];
    let e = evaluate(&set(&policies), &ada());
    let Decision::Blocked { policies: by } = &e.decision else {
        panic!("{:?}", e.decision)
    };
    assert_eq!(by.len(), 1);
    assert_eq!(by[0].id(), "blk");
    assert_eq!(e.required(), Required::default());
}

#[test]
fn report_only_is_recorded_and_never_decides() {
    let f = ada();
    let ro = |grant: &str, session: &str| {
        pol(
            "r",
            "enabledForReportingButNotEnforced",
            ALL,
            grant,
            session,
        )
    };
    let e = evaluate(&set(&[ro(BLOCK, "null")]), &f);
    assert!(e.is_allowed());
    assert_eq!(e.policies[0].result, AppliedResult::ReportOnlyFailure);
    assert_eq!(
        e.conditional_access_status,
        ConditionalAccessStatus::NotApplied
    );
    let e = evaluate(&set(&[ro(MFA, "null")]), &f);
    assert!(e.is_allowed());
    assert_eq!(e.policies[0].result, AppliedResult::ReportOnlyInterrupted);
    let e = evaluate(&set(&[ro(MFA, "null")]), &with_mfa(ada()));
    assert_eq!(e.policies[0].result, AppliedResult::ReportOnlySuccess);
    let e = evaluate(
        &set(&[ro(
            r#"{"operator":"OR","builtInControls":["compliantDevice"]}"#,
            "null",
        )]),
        &f,
    );
    assert_eq!(e.policies[0].result, AppliedResult::ReportOnlyFailure);
    assert!(e.is_allowed());
    let e = evaluate(
        &set(&[pol(
            "r",
            "enabledForReportingButNotEnforced",
            r#""users":{"includeUsers":["None"]},"applications":{"includeApplications":["All"]}"#,
            BLOCK,
            "null",
        )]),
        &f,
    );
    assert_eq!(e.policies[0].result, AppliedResult::ReportOnlyNotApplied);
    // A report-only sign-in frequency neither interrupts nor shortens the session.
    let sif = r#"{"signInFrequency":{"value":1,"type":"hours","isEnabled":true},"persistentBrowser":{"mode":"never","isEnabled":true}}"#;
    let mut old = ada();
    old.authentication.auth_time = Some(NOW - 7200);
    let e = evaluate(&set(&[ro("null", sif)]), &old);
    assert!(e.is_allowed());
    assert_eq!(e.policies[0].result, AppliedResult::ReportOnlyInterrupted);
    assert_eq!(e.session, SessionEffects::default());
}

#[test]
fn disabled_policies_are_skipped() {
    let e = evaluate(&set(&[pol("d", "disabled", ALL, BLOCK, "null")]), &ada());
    assert!(e.is_allowed());
    assert_eq!(e.policies[0].result, AppliedResult::NotEnabled);
    assert_eq!(e.policies[0].analysis_reasons(), "policyNotEnabled");
    assert_eq!(
        e.conditional_access_status,
        ConditionalAccessStatus::NotApplied
    );
}

#[test]
fn sign_in_frequency_and_session_effects() {
    let sif = |v: &str| format!(r#"{{"signInFrequency":{v}}}"#);
    let twelve =
        sif(r#"{"value":12,"type":"hours","frequencyInterval":"timeBased","isEnabled":true}"#);
    let every = sif(r#"{"frequencyInterval":"everyTime","isEnabled":true}"#);
    let dec = |session: &str, f: &SignInFacts| {
        evaluate(&set(&[pol("s", "enabled", ALL, "null", session)]), f)
    };
    let mut f = ada();
    f.interactive = false;
    f.authentication.auth_time = Some(NOW - 11 * 3600);
    assert!(dec(&twelve, &f).is_allowed());
    f.authentication.auth_time = Some(NOW - 13 * 3600);
    let e = dec(&twelve, &f);
    assert_eq!(
        e.required(),
        Required {
            reauthenticate: true,
            ..Default::default()
        }
    );
    assert_eq!(
        e.description().as_deref(),
        Some("Conditional Access policy 'Policy s' (id s) requires signing in again: sign-in frequency is 12 hour(s) and the last interactive sign-in was 13 hour(s) ago")
    );
    assert_eq!(e.policies[0].result, AppliedResult::Failure);
    f.authentication.auth_time = None;
    assert!(
        !dec(&twelve, &f).is_allowed(),
        "no auth time: re-authenticate"
    );
    // everyTime: a non-interactive use always needs a fresh interactive sign-in.
    f.authentication.auth_time = Some(NOW - 10);
    assert!(!dec(&every, &f).is_allowed());
    f.interactive = true;
    assert!(dec(&every, &f).is_allowed());
    f.authentication.auth_time = Some(NOW - 600);
    assert!(
        !dec(&every, &f).is_allowed(),
        "older than the five-minute skew"
    );
    // Days.
    f.authentication.auth_time = Some(NOW - 2 * 86_400);
    assert!(!dec(&sif(r#"{"value":1,"type":"days","isEnabled":true}"#), &f).is_allowed());
    // Session effects: the shortest frequency; persistent browser never wins.
    let policies = [
        pol("a", "enabled", ALL, "null", &twelve),
        pol(
            "b",
            "enabled",
            ALL,
            "null",
            r#"{"signInFrequency":{"value":4,"type":"hours","isEnabled":true},"persistentBrowser":{"mode":"always","isEnabled":true}}"#,
        ),
        pol(
            "c",
            "enabled",
            ALL,
            "null",
            r#"{"persistentBrowser":{"mode":"never","isEnabled":true}}"#,
        ),
        pol(
            "d",
            "enabled",
            ALL,
            "null",
            r#"{"persistentBrowser":{"mode":"always","isEnabled":true}}"#,
        ),
    ];
    let e = evaluate(&set(&policies), &ada());
    assert!(e.is_allowed());
    assert_eq!(
        e.session.persistent_browser,
        Some(PersistentBrowserMode::Never)
    );
    let s = e.session.sign_in_frequency.expect("frequency");
    assert_eq!(
        (s.max_age_secs, s.every_time, s.policy.id()),
        (4 * 3600, false, "b")
    );
}

#[test]
fn mfa_must_be_as_recent_as_the_sign_in_frequency() {
    let session = r#"{"signInFrequency":{"value":1,"type":"hours","isEnabled":true}}"#;
    let p = pol("p", "enabled", ALL, MFA, session);
    let mut f = with_mfa(ada());
    f.authentication.mfa_time = Some(NOW - 2 * 3600);
    let e = evaluate(&set(std::slice::from_ref(&p)), &f);
    assert_eq!(
        e.required(),
        Required {
            mfa: true,
            ..Default::default()
        }
    );
    f.authentication.mfa_time = Some(NOW - 120);
    assert!(evaluate(&set(&[p]), &f).is_allowed());
}

#[test]
fn conditions_satisfied_and_first_unmet_in_order() {
    let c = format!(
        r#"{ALL},"clientAppTypes":["mobileAppsAndDesktopClients"],"platforms":{{"includePlatforms":["iOS"]}},"locations":{{"includeLocations":["AllTrusted"]}}"#
    );
    let r = one(pol("p", "enabled", &c, MFA, "null"), &ada());
    assert_eq!(r.analysis_reasons(), "clientApps");
    let sat: Vec<_> = r.conditions_satisfied.iter().collect();
    let unsat: Vec<_> = r.conditions_not_satisfied.iter().collect();
    assert_eq!(sat, [Condition::Users, Condition::Application]);
    assert_eq!(
        unsat,
        [
            Condition::ClientType,
            Condition::DevicePlatform,
            Condition::Location
        ]
    );
    let v = serde_json::to_value(&r).expect("serializes");
    assert_eq!(v["conditionsSatisfied"], "users,application");
    assert_eq!(
        v["conditionsNotSatisfied"],
        "clientType,devicePlatform,location"
    );
    assert_eq!(v["result"], "notApplied");
    assert_eq!(v["analysisReasons"], "clientApps");
    assert_eq!(
        v["reason"],
        "does not apply: client app type browser is not included"
    );
}

#[test]
fn serializes_graph_names() {
    let policies = [
        pol(
            "a",
            "enabled",
            ALL,
            MFA,
            r#"{"signInFrequency":{"value":12,"type":"hours","isEnabled":true}}"#,
        ),
        pol("b", "enabledForReportingButNotEnforced", ALL, BLOCK, "null"),
        pol("c", "disabled", ALL, BLOCK, "null"),
    ];
    let e = evaluate(&set(&policies), &ada());
    let v = serde_json::to_value(&e).expect("serializes");
    assert_eq!(v["decision"]["type"], "interactionRequired");
    assert_eq!(v["decision"]["requirements"][0]["policy"]["id"], "a");
    assert_eq!(v["conditionalAccessStatus"], "failure");
    let applied = &v["appliedConditionalAccessPolicies"];
    assert_eq!(applied[0]["displayName"], "Policy a");
    assert_eq!(applied[0]["result"], "failure");
    assert_eq!(applied[0]["enforcedGrantControls"][0], "mfa");
    assert_eq!(
        applied[0]["enforcedSessionControls"][0],
        "signInFrequency 12 hours"
    );
    assert_eq!(applied[1]["result"], "reportOnlyFailure");
    assert_eq!(applied[2]["result"], "notEnabled");
    // The policy's controls are listed whatever the result, as in Entra's log.
    assert_eq!(
        applied[2]["enforcedGrantControls"],
        serde_json::json!(["block"])
    );
    assert_eq!(applied[1]["enforcedSessionControls"], serde_json::json!([]));
    assert_eq!(v["session"]["signInFrequency"]["maxAgeSecs"], 43_200);
}

#[test]
fn the_brief_example_description() {
    let admins = pol(
        "1a2b",
        "enabled",
        r#""users":{"includeRoles":["r-ga"]},"applications":{"includeApplications":["All"]}"#,
        MFA,
        "null",
    );
    let mut admins = admins;
    admins.display_name = "Require MFA for admins".into();
    let mut f = ada();
    user(&mut f).roles = vec!["r-ga".into()];
    let e = evaluate(&set(&[admins]), &f);
    assert_eq!(
        e.description().as_deref(),
        Some("Conditional Access policy 'Require MFA for admins' (id 1a2b) requires mfa; this session signed in with pwd only")
    );
}

#[test]
fn result_names_are_what_serde_writes() {
    use AppliedResult::*;
    for r in [
        Success,
        Failure,
        NotApplied,
        NotEnabled,
        ReportOnlySuccess,
        ReportOnlyFailure,
        ReportOnlyNotApplied,
        ReportOnlyInterrupted,
    ] {
        assert_eq!(
            serde_json::to_value(r).expect("json"),
            serde_json::Value::from(r.graph_name())
        );
    }
}
