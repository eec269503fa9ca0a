//! The evaluator: [`evaluate`]`(policies, facts) -> `[`Evaluation`]. Pure and fast.
//!
//! Semantics, as Entra documents them:
//!
//! - A policy applies when every configured condition matches; unconfigured optional
//!   conditions (client app types, platforms, locations, authentication flows) match
//!   everything. `users` and `applications` include nobody unless they say so.
//! - Within a condition, include then exclude: an exclusion always wins.
//! - A user-targeting policy never applies to a service-principal (client
//!   credentials) sign-in, and a workload-identity policy (`clientApplications`) never
//!   applies to a user.
//! - Every applicable enabled policy must be satisfied. `block` wins: when any applies,
//!   the sign-in is blocked and no other control is asked for. A control Portvakt
//!   cannot satisfy yet fails closed (the sign-in is denied, naming the control).
//!   Otherwise the interactive controls (`mfa`, `passwordChange`, re-authentication
//!   for sign-in frequency) are asked for.
//! - Report-only policies (`enabledForReportingButNotEnforced`) are evaluated and
//!   recorded but never change the decision or the session. Disabled ones are skipped
//!   (`notEnabled`).
//!
//! Result mapping (Graph `appliedConditionalAccessPolicy.result`):
//!
//! | outcome of an applicable policy | enabled | report-only |
//! |---|---|---|
//! | conditions not met | `notApplied` | `reportOnlyNotApplied` |
//! | controls satisfied (or none) | `success` | `reportOnlySuccess` |
//! | would need `mfa` / `passwordChange` / re-authentication | `failure` | `reportOnlyInterrupted` |
//! | `block` | `failure` | `reportOnlyFailure` |
//! | a control Portvakt cannot satisfy (fails closed) | `failure` | `reportOnlyFailure` |
//!
//! `conditionalAccessStatus` (Graph `signIn`): `failure` when an enabled policy
//! failed, else `success` when one applied, else `notApplied`.
//!
//! The conditions are checked in this order, and the first that is not met is the
//! policy's What-If `analysisReasons`: users (or workload identities), application,
//! client app type, device platform, location, authentication flow. All of them are
//! checked, so `conditionsSatisfied` / `conditionsNotSatisfied` are complete.

use crate::compile::{CompiledPolicy, Control, Grant, PolicyMeta, PolicySet, Table, Target};
use crate::facts::{Identity, SignInFacts};
use crate::graph::{
    ClientAppType, DevicePlatform, FrequencyInterval, PersistentBrowserMode, PolicyState,
    TransferMethod,
};
use serde::ser::{SerializeStruct, Serializer};
use serde::Serialize;
use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

/// Entra's five minutes of clock skew for sign-in frequency `everyTime`: an
/// interactive authentication at most this old counts as fresh.
pub const EVERY_TIME_SKEW_SECS: i64 = 300;

/// The whole answer for one sign-in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Evaluation {
    /// What to do.
    pub decision: Decision,
    /// Graph `signIn.conditionalAccessStatus`.
    pub conditional_access_status: ConditionalAccessStatus,
    /// The session controls of the applicable enabled policies, to apply when the
    /// sign-in proceeds.
    pub session: SessionEffects,
    /// The named locations (id, or display name when it has none) the IP address is in.
    #[serde(serialize_with = "ser_strs")]
    pub matched_locations: Vec<Arc<str>>,
    /// Whether one of them is trusted.
    pub trusted_location: bool,
    /// Every policy, in the set's order: Graph's `appliedConditionalAccessPolicies`.
    #[serde(rename = "appliedConditionalAccessPolicies")]
    pub policies: Vec<PolicyResult>,
}

/// The decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Decision {
    /// Proceed (apply [`Evaluation::session`]).
    Allowed,
    /// `block` applies.
    Blocked {
        /// The enabled policies that block.
        policies: Vec<PolicyRef>,
    },
    /// A control Portvakt cannot satisfy yet applies: deny, naming it.
    FailedClosed {
        /// Each policy and the control it cannot have.
        failures: Vec<FailedControl>,
    },
    /// The user must interact: MFA, a password change, or sign in again.
    InteractionRequired {
        /// What each policy asks for.
        requirements: Vec<Requirement>,
    },
}

/// A policy, by name and id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyRef(pub Arc<PolicyMeta>);

impl PolicyRef {
    /// Graph `id`.
    pub fn id(&self) -> &str {
        &self.0.id
    }
    /// Graph `displayName`.
    pub fn display_name(&self) -> &str {
        &self.0.display_name
    }
}

impl Serialize for PolicyRef {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("PolicyRef", 2)?;
        st.serialize_field("id", self.id())?;
        st.serialize_field("displayName", self.display_name())?;
        st.end()
    }
}

impl fmt::Display for PolicyRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "'{}' (id {})", self.display_name(), self.id())
    }
}

/// A control that fails closed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FailedControl {
    /// The policy.
    pub policy: PolicyRef,
    /// The control (`compliantDevice`, `authenticationStrength '…' (id …)`, …).
    #[serde(serialize_with = "ser_str")]
    pub control: Arc<str>,
    /// Why Portvakt cannot satisfy it.
    pub why: &'static str,
}

/// An interactive control.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Interaction {
    /// Multifactor authentication.
    Mfa,
    /// A password change.
    PasswordChange,
    /// Signing in again (sign-in frequency).
    Reauthentication,
}

impl Interaction {
    /// The name used in messages (Graph's control name where there is one).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Mfa => "mfa",
            Self::PasswordChange => "passwordChange",
            Self::Reauthentication => "reauthentication",
        }
    }
}

/// What one policy asks the user to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Requirement {
    /// The policy.
    pub policy: PolicyRef,
    /// Grant controls still to do (may be empty when only re-authentication is due).
    pub grant: Vec<Interaction>,
    /// Whether any one of `grant` suffices (`OR`) rather than all (`AND`).
    pub any_of: bool,
    /// Sign-in frequency: re-authentication due.
    pub reauthentication: Option<Reauthentication>,
}

/// A sign-in frequency that is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Reauthentication {
    /// `everyTime` (else `timeBased`).
    pub every_time: bool,
    /// The longest allowed age of the authentication.
    pub max_age_secs: i64,
    /// How old it is (`None`: no authentication time known).
    pub age_secs: Option<i64>,
}

/// Graph `signIn.conditionalAccessStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ConditionalAccessStatus {
    /// An enabled policy applied and every one that applied was satisfied.
    Success,
    /// An enabled policy applied and was not satisfied (blocked, interrupted, failed
    /// closed).
    Failure,
    /// No enabled policy applied.
    NotApplied,
}

/// Graph `appliedConditionalAccessPolicyResult`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum AppliedResult {
    /// Enabled, applied, satisfied.
    Success,
    /// Enabled, applied, not satisfied.
    Failure,
    /// Enabled, conditions not met.
    NotApplied,
    /// Disabled.
    NotEnabled,
    /// Report-only, applied, would be satisfied.
    ReportOnlySuccess,
    /// Report-only, applied, would block or fail closed.
    ReportOnlyFailure,
    /// Report-only, conditions not met.
    ReportOnlyNotApplied,
    /// Report-only, applied, would need an interactive control.
    ReportOnlyInterrupted,
}

impl AppliedResult {
    /// Graph's name of the result (`success`, `reportOnlyFailure`, …), as serialized.
    pub fn graph_name(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Failure => "failure",
            Self::NotApplied => "notApplied",
            Self::NotEnabled => "notEnabled",
            Self::ReportOnlySuccess => "reportOnlySuccess",
            Self::ReportOnlyFailure => "reportOnlyFailure",
            Self::ReportOnlyNotApplied => "reportOnlyNotApplied",
            Self::ReportOnlyInterrupted => "reportOnlyInterrupted",
        }
    }
}

/// The session controls to apply.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionEffects {
    /// `never` when any applicable enabled policy says never; else `always` when one
    /// says always.
    pub persistent_browser: Option<PersistentBrowserMode>,
    /// The shortest sign-in frequency of the applicable enabled policies.
    pub sign_in_frequency: Option<SessionFrequency>,
}

/// The sign-in frequency in force.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionFrequency {
    /// `everyTime`.
    pub every_time: bool,
    /// The longest allowed age of the interactive authentication.
    pub max_age_secs: i64,
    /// The policy it comes from.
    pub policy: PolicyRef,
}

/// A condition of a policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Condition {
    /// `users`.
    Users,
    /// `clientApplications` (workload identities).
    ServicePrincipals,
    /// `applications`.
    Application,
    /// `clientAppTypes`.
    ClientType,
    /// `platforms`.
    DevicePlatform,
    /// `locations`.
    Location,
    /// `authenticationFlows`.
    AuthenticationFlows,
}

impl Condition {
    /// The name in Graph's `conditionalAccessConditions`.
    pub fn graph_name(self) -> &'static str {
        match self {
            Self::Users => "users",
            Self::ServicePrincipals => "servicePrincipals",
            Self::Application => "application",
            Self::ClientType => "clientType",
            Self::DevicePlatform => "devicePlatform",
            Self::Location => "location",
            Self::AuthenticationFlows => "authenticationFlows",
        }
    }

    /// The name in Graph's `whatIfAnalysisReasons`.
    pub fn what_if_reason(self) -> &'static str {
        match self {
            Self::Users => "users",
            Self::ServicePrincipals => "workloadIdentities",
            Self::Application => "application",
            Self::ClientType => "clientApps",
            Self::DevicePlatform => "devicePlatform",
            Self::Location => "location",
            Self::AuthenticationFlows => "authenticationFlow",
        }
    }

    const ALL: [Self; 7] = [
        Self::Users,
        Self::ServicePrincipals,
        Self::Application,
        Self::ClientType,
        Self::DevicePlatform,
        Self::Location,
        Self::AuthenticationFlows,
    ];
}

/// A set of [`Condition`]s; serialized as Graph's comma-joined flag string (`none`
/// when empty).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Conditions(u8);

impl Conditions {
    /// Whether `c` is in the set.
    pub fn contains(self, c: Condition) -> bool {
        self.0 & (1 << c as u8) != 0
    }
    fn insert(&mut self, c: Condition) {
        self.0 |= 1 << c as u8;
    }
    /// The members, in [`Condition`] order.
    pub fn iter(self) -> impl Iterator<Item = Condition> {
        Condition::ALL
            .into_iter()
            .filter(move |c| self.contains(*c))
    }
    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

impl Serialize for Conditions {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.is_empty() {
            return s.serialize_str("none");
        }
        let v: Vec<&str> = self.iter().map(Condition::graph_name).collect();
        s.serialize_str(&v.join(","))
    }
}

/// One policy's result: Graph's `appliedConditionalAccessPolicy` plus Portvakt's
/// detail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyResult {
    /// The policy.
    pub policy: PolicyRef,
    /// Graph `result`.
    pub result: AppliedResult,
    /// The configured conditions that matched.
    pub conditions_satisfied: Conditions,
    /// The conditions that did not.
    pub conditions_not_satisfied: Conditions,
    /// What happened, in structured form; [`fmt::Display`] gives the sentence.
    pub outcome: Outcome,
}

impl PolicyResult {
    /// Whether the policy applied (its conditions matched and it is not disabled).
    pub fn applies(&self) -> bool {
        matches!(self.outcome, Outcome::Applied(_))
    }

    /// Graph What-If `analysisReasons`: `notSet` when the policy applies,
    /// `policyNotEnabled` when disabled, else the first unmet condition.
    pub fn analysis_reasons(&self) -> &'static str {
        match &self.outcome {
            Outcome::Applied(_) => "notSet",
            Outcome::NotEnabled => "policyNotEnabled",
            Outcome::NotApplied(u) => u.condition().what_if_reason(),
        }
    }

    /// The plain-English reason.
    pub fn reason(&self) -> String {
        self.outcome.to_string()
    }

    /// Graph `enforcedGrantControls`: the policy's grant controls (listed whatever the
    /// result, as Entra's sign-in log does).
    pub fn enforced_grant_controls(&self) -> &[String] {
        &self.policy.0.grant_controls
    }

    /// Graph `enforcedSessionControls`: the policy's session controls.
    pub fn enforced_session_controls(&self) -> &[String] {
        &self.policy.0.session_controls
    }
}

impl Serialize for PolicyResult {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("PolicyResult", 9)?;
        st.serialize_field("id", self.policy.id())?;
        st.serialize_field("displayName", self.policy.display_name())?;
        st.serialize_field("result", &self.result)?;
        st.serialize_field("enforcedGrantControls", self.enforced_grant_controls())?;
        st.serialize_field("enforcedSessionControls", self.enforced_session_controls())?;
        st.serialize_field("conditionsSatisfied", &self.conditions_satisfied)?;
        st.serialize_field("conditionsNotSatisfied", &self.conditions_not_satisfied)?;
        st.serialize_field("analysisReasons", self.analysis_reasons())?;
        st.serialize_field("reason", &self.reason())?;
        st.end()
    }
}

/// What happened to one policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The policy is disabled.
    NotEnabled,
    /// A condition was not met (the first, in evaluation order).
    NotApplied(Unmet),
    /// The policy applied.
    Applied(Applied),
}

/// Why a condition was not met.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unmet {
    /// The user is not included.
    UserNotIncluded,
    /// The user is excluded, directly or through a group or role.
    UserExcluded(Via),
    /// The policy targets workload identities; this is a user sign-in.
    NotAServicePrincipal,
    /// The policy targets users; this is a client-credentials sign-in.
    NotAUser,
    /// The service principal is not included.
    ServicePrincipalNotIncluded,
    /// The service principal is excluded.
    ServicePrincipalExcluded,
    /// Neither the client nor the resource is included.
    ApplicationNotIncluded,
    /// The client or the resource is excluded.
    ApplicationExcluded(Arc<str>),
    /// The client app type is not among the policy's (`None`: unknown).
    ClientAppTypeNotIncluded(Option<ClientAppType>),
    /// The platform is not included (`None`: unknown).
    PlatformNotIncluded(Option<DevicePlatform>),
    /// The platform is excluded.
    PlatformExcluded(DevicePlatform),
    /// The IP address is in no included location (`None`: unknown address).
    LocationNotIncluded(Option<IpAddr>),
    /// The IP address is in an excluded location.
    LocationExcluded(Arc<str>),
    /// The IP address is in a trusted location and `AllTrusted` is excluded.
    LocationTrusted(Arc<str>),
    /// The sign-in's flow is not among the policy's transfer methods.
    FlowNotIncluded(Option<TransferMethod>),
}

impl Unmet {
    /// The condition it is about.
    pub fn condition(&self) -> Condition {
        match self {
            Self::UserNotIncluded | Self::UserExcluded(_) | Self::NotAServicePrincipal => {
                Condition::Users
            }
            Self::NotAUser | Self::ServicePrincipalNotIncluded | Self::ServicePrincipalExcluded => {
                Condition::ServicePrincipals
            }
            Self::ApplicationNotIncluded | Self::ApplicationExcluded(_) => Condition::Application,
            Self::ClientAppTypeNotIncluded(_) => Condition::ClientType,
            Self::PlatformNotIncluded(_) | Self::PlatformExcluded(_) => Condition::DevicePlatform,
            Self::LocationNotIncluded(_) | Self::LocationExcluded(_) | Self::LocationTrusted(_) => {
                Condition::Location
            }
            Self::FlowNotIncluded(_) => Condition::AuthenticationFlows,
        }
    }
}

/// Through what a user is excluded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Via {
    /// `excludeUsers`.
    User,
    /// `excludeGroups`: this group.
    Group(Arc<str>),
    /// `excludeRoles`: this role.
    Role(Arc<str>),
}

/// An applicable policy's controls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// The grant controls' outcome.
    pub grant: GrantOutcome,
    /// Sign-in frequency due, if it is.
    pub reauthentication: Option<Reauthentication>,
}

/// The grant controls' outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GrantOutcome {
    /// The policy has no grant controls (session only).
    None,
    /// `block`.
    Block,
    /// Satisfied.
    Satisfied,
    /// Needs the user: these controls (any one when `any_of`), given the methods
    /// the session used (`amr`).
    NeedsInteraction {
        /// The controls.
        controls: Vec<Interaction>,
        /// `OR`.
        any_of: bool,
        /// The session's `amr`, joined with `+`.
        amr: Arc<str>,
    },
    /// Fails closed: this control cannot be satisfied.
    Unsatisfiable {
        /// The control.
        control: Arc<str>,
        /// Why.
        why: &'static str,
    },
}

fn ser_str<S: Serializer>(v: &Arc<str>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(v)
}

fn ser_strs<S: Serializer>(v: &[Arc<str>], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(v.iter().map(|x| x.as_ref()))
}

fn hours(secs: i64) -> String {
    if secs % 86_400 == 0 && secs >= 86_400 {
        format!("{} day(s)", secs / 86_400)
    } else if secs % 3600 == 0 {
        format!("{} hour(s)", secs / 3600)
    } else if secs >= 3600 {
        format!("{:.1} hours", secs as f64 / 3600.0)
    } else {
        format!("{} minute(s)", secs / 60)
    }
}

impl fmt::Display for Reauthentication {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.every_time {
            f.write_str(
                "sign-in frequency is every time, and this sign-in is not a fresh interactive one",
            )?;
        } else {
            write!(f, "sign-in frequency is {}", hours(self.max_age_secs))?;
            match self.age_secs {
                Some(a) => write!(f, " and the last interactive sign-in was {} ago", hours(a))?,
                None => f.write_str(" and no interactive sign-in time is known")?,
            }
        }
        Ok(())
    }
}

fn controls_text(controls: &[Interaction], any_of: bool) -> String {
    let v: Vec<&str> = controls.iter().map(|c| c.as_str()).collect();
    v.join(if any_of { " or " } else { " and " })
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotEnabled => f.write_str("not evaluated: the policy is disabled"),
            Self::NotApplied(u) => {
                f.write_str("does not apply: ")?;
                match u {
                    Unmet::UserNotIncluded => f.write_str("the user is not included"),
                    Unmet::UserExcluded(Via::User) => f.write_str("the user is excluded"),
                    Unmet::UserExcluded(Via::Group(g)) => write!(f, "the user is excluded through group {g}"),
                    Unmet::UserExcluded(Via::Role(r)) => write!(f, "the user is excluded through role {r}"),
                    Unmet::NotAServicePrincipal => {
                        f.write_str("the policy targets workload identities and this is a user sign-in")
                    }
                    Unmet::NotAUser => f.write_str(
                        "the policy targets users and this is a service principal (client credentials) sign-in",
                    ),
                    Unmet::ServicePrincipalNotIncluded => f.write_str("the service principal is not included"),
                    Unmet::ServicePrincipalExcluded => f.write_str("the service principal is excluded"),
                    Unmet::ApplicationNotIncluded => f.write_str("neither the client app nor the resource is included"),
                    Unmet::ApplicationExcluded(a) => write!(f, "application {a} is excluded"),
                    Unmet::ClientAppTypeNotIncluded(Some(t)) => {
                        write!(f, "client app type {} is not included", t.as_str())
                    }
                    Unmet::ClientAppTypeNotIncluded(None) => f.write_str("the client app type is unknown"),
                    Unmet::PlatformNotIncluded(Some(p)) => write!(f, "platform {} is not included", p.as_str()),
                    Unmet::PlatformNotIncluded(None) => {
                        f.write_str("the device platform is unknown and the policy includes specific platforms only")
                    }
                    Unmet::PlatformExcluded(p) => write!(f, "platform {} is excluded", p.as_str()),
                    Unmet::LocationNotIncluded(Some(ip)) => write!(f, "IP address {ip} is in no included location"),
                    Unmet::LocationNotIncluded(None) => {
                        f.write_str("the IP address is unknown and the policy includes specific locations only")
                    }
                    Unmet::LocationExcluded(l) => write!(f, "the IP address is in excluded location {l}"),
                    Unmet::LocationTrusted(l) => write!(f, "the IP address is in trusted location {l} and AllTrusted is excluded"),
                    Unmet::FlowNotIncluded(Some(t)) => write!(f, "authentication flow {} is not included", t.as_str()),
                    Unmet::FlowNotIncluded(None) => f.write_str("the sign-in uses no transfer flow (such as the device code flow)"),
                }
            }
            Self::Applied(a) => {
                match &a.grant {
                    GrantOutcome::None => f.write_str("applies: no grant controls")?,
                    GrantOutcome::Block => f.write_str("applies: blocks access")?,
                    GrantOutcome::Satisfied => f.write_str("applies: grant controls satisfied")?,
                    GrantOutcome::NeedsInteraction { controls, any_of, amr } => write!(
                        f,
                        "applies: requires {}; this session signed in with {amr}",
                        controls_text(controls, *any_of)
                    )?,
                    GrantOutcome::Unsatisfiable { control, why } => write!(
                        f,
                        "applies: requires {control}, which cannot be satisfied ({why}), so access is denied"
                    )?,
                }
                if let Some(r) = &a.reauthentication {
                    write!(f, "; requires signing in again: {r}")?;
                }
                Ok(())
            }
        }
    }
}

impl Evaluation {
    /// Whether the sign-in may proceed.
    pub fn is_allowed(&self) -> bool {
        self.decision == Decision::Allowed
    }

    /// For a decision other than allowed, the one-line description for an OAuth
    /// `error_description`, naming the policy, its id and the control, e.g.
    /// `Conditional Access policy 'Require MFA for admins' (id 1a2b) requires mfa; this
    /// session signed in with pwd only`.
    pub fn description(&self) -> Option<String> {
        let more = |n: usize| {
            if n > 1 {
                format!(" (and {} more policies)", n - 1)
            } else {
                String::new()
            }
        };
        match &self.decision {
            Decision::Allowed => None,
            Decision::Blocked { policies } => policies
                .first()
                .map(|p| format!("Conditional Access policy {p} blocks this sign-in{}", more(policies.len()))),
            Decision::FailedClosed { failures } => failures.first().map(|x| {
                format!(
                    "Conditional Access policy {} requires {}, which Portvakt cannot satisfy ({}), so access is denied{}",
                    x.policy,
                    x.control,
                    x.why,
                    more(failures.len())
                )
            }),
            Decision::InteractionRequired { requirements } => requirements.first().map(|r| {
                let amr = self
                    .policies
                    .iter()
                    .find_map(|p| match &p.outcome {
                        Outcome::Applied(Applied {
                            grant: GrantOutcome::NeedsInteraction { amr, .. },
                            ..
                        }) => Some(amr.clone()),
                        _ => None,
                    })
                    .unwrap_or_else(|| Arc::from(""));
                let mut s = format!("Conditional Access policy {} requires ", r.policy);
                if !r.grant.is_empty() {
                    s.push_str(&format!("{}; this session signed in with {amr}", controls_text(&r.grant, r.any_of)));
                    if r.reauthentication.is_some() {
                        s.push_str("; it also requires ");
                    }
                }
                if let Some(re) = &r.reauthentication {
                    s.push_str(&format!("signing in again: {re}"));
                }
                s.push_str(&more(requirements.len()));
                s
            }),
        }
    }

    /// What the user must do, summed over the policies: whether to re-authenticate,
    /// do MFA, change the password. For an `OR` requirement the server may offer any
    /// of its controls; this picks `mfa` when it is one of them.
    pub fn required(&self) -> Required {
        let mut r = Required::default();
        if let Decision::InteractionRequired { requirements } = &self.decision {
            for q in requirements {
                if q.reauthentication.is_some() {
                    r.reauthenticate = true;
                }
                let pick: Vec<Interaction> = if q.any_of && q.grant.contains(&Interaction::Mfa) {
                    vec![Interaction::Mfa]
                } else if q.any_of {
                    q.grant.first().copied().into_iter().collect()
                } else {
                    q.grant.clone()
                };
                for i in pick {
                    match i {
                        Interaction::Mfa => r.mfa = true,
                        Interaction::PasswordChange => r.password_change = true,
                        Interaction::Reauthentication => r.reauthenticate = true,
                    }
                }
            }
        }
        r
    }
}

/// The interactions an [`Evaluation`] asks for, summed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Required {
    /// Sign in again (interactively).
    pub reauthenticate: bool,
    /// Do MFA.
    pub mfa: bool,
    /// Change the password.
    pub password_change: bool,
}

/// A bitset over a table's symbols.
struct Bits(Vec<u64>);

impl Bits {
    fn new(n: usize) -> Self {
        Self(vec![0; n.div_ceil(64)])
    }
    fn set(&mut self, i: u32) {
        if let Some(w) = self.0.get_mut(i as usize / 64) {
            *w |= 1 << (i % 64);
        }
    }
    fn has(&self, i: u32) -> bool {
        self.0
            .get(i as usize / 64)
            .is_some_and(|w| w & (1 << (i % 64)) != 0)
    }
    fn any(&self, syms: &[u32]) -> Option<u32> {
        syms.iter().copied().find(|s| self.has(*s))
    }
}

/// The symbols of `ids` in `table`, as bits. One merge of two sorted lists, comparing
/// 8-byte prefixes as integers (the full strings only when prefixes tie); `ids` that
/// turn out not to be sorted are sorted first (correct either way, fast when the
/// facts were normalised). When `ids` is much shorter, a binary search per id.
fn intern_sorted(table: &Table, ids: &[String]) -> Bits {
    let m = table.len();
    let mut bits = Bits::new(m);
    let n = ids.len();
    if m == 0 || n == 0 {
        return bits;
    }
    let log = |x: usize| (usize::BITS - x.leading_zeros()) as usize;
    if n * log(m) < n + m {
        for id in ids {
            if let Some(s) = table.get(id) {
                bits.set(s);
            }
        }
        return bits;
    }
    if merge(table, ids.iter().map(String::as_str), &mut bits) {
        return bits;
    }
    let mut sorted: Vec<&str> = ids.iter().map(String::as_str).collect();
    sorted.sort_unstable();
    bits = Bits::new(m);
    merge(table, sorted.into_iter(), &mut bits);
    bits
}

/// Merges sorted `ids` into `bits`; `false` (bits incomplete) when `ids` is not
/// sorted.
fn merge<'a>(table: &Table, ids: impl Iterator<Item = &'a str>, bits: &mut Bits) -> bool {
    let (t, tp) = (&table.ids, &table.prefixes);
    let m = t.len();
    let mut j = 0;
    let mut prev: Option<(u64, &str)> = None;
    for id in ids {
        let p = crate::compile::prefix(id);
        if let Some((pp, ps)) = prev {
            if p < pp || (p == pp && id < ps) {
                return false;
            }
        }
        prev = Some((p, id));
        while j < m && (tp[j] < p || (tp[j] == p && t[j].as_ref() < id)) {
            j += 1;
        }
        if j < m && tp[j] == p && t[j].as_ref() == id {
            bits.set(j as u32);
        }
    }
    true
}

enum Subject {
    User {
        user: Option<u32>,
        groups: Bits,
        roles: Bits,
    },
    ServicePrincipal(Option<u32>),
}

struct Ctx<'a> {
    set: &'a PolicySet,
    facts: &'a SignInFacts,
    subject: Subject,
    client: Option<u32>,
    resource: Option<u32>,
    platform: Option<DevicePlatform>,
    client_app: Option<ClientAppType>,
    locations: Bits,
    trusted: Option<Arc<str>>,
    amr: Option<Arc<str>>,
}

impl<'a> Ctx<'a> {
    fn new(set: &'a PolicySet, facts: &'a SignInFacts) -> (Self, Vec<Arc<str>>) {
        let subject = match &facts.identity {
            Identity::User(u) => Subject::User {
                user: set.users.get(&u.id),
                groups: intern_sorted(&set.groups, &u.groups),
                roles: intern_sorted(&set.roles, &u.roles),
            },
            Identity::ServicePrincipal(s) => {
                Subject::ServicePrincipal(set.service_principals.get(&s.service_principal_id))
            }
        };
        let mut locations = Bits::new(set.locations.len());
        let mut matched = Vec::new();
        let mut trusted = None;
        if let Some(ip) = facts.ip_address.map(crate::cidr::canonical) {
            for (i, l) in set.locations.iter().enumerate() {
                let hit = match ip {
                    IpAddr::V4(a) => {
                        let a = u32::from(a);
                        l.v4.iter().any(|(net, mask)| a & mask == *net)
                    }
                    IpAddr::V6(a) => {
                        let a = u128::from(a);
                        l.v6.iter().any(|(net, mask)| a & mask == *net)
                    }
                };
                if hit {
                    locations.set(i as u32);
                    matched.push(l.label.clone());
                    if l.trusted && trusted.is_none() {
                        trusted = Some(l.label.clone());
                    }
                }
            }
        }
        let ctx = Self {
            set,
            facts,
            subject,
            client: set.clients.get(&facts.client_id),
            resource: facts.resource.as_deref().and_then(|r| set.resources.get(r)),
            platform: facts.device_platform,
            client_app: facts.client_app_type.filter(|t| *t != ClientAppType::All),
            locations,
            trusted,
            amr: None,
        };
        (ctx, matched)
    }

    fn amr(&mut self) -> Arc<str> {
        if let Some(a) = &self.amr {
            return a.clone();
        }
        let a: Arc<str> = Arc::from(self.facts.amr_text());
        self.amr = Some(a.clone());
        a
    }

    fn auth_age(&self) -> Option<i64> {
        self.facts
            .authentication
            .auth_time
            .map(|t| (self.facts.now - t).max(0))
    }
}

/// Evaluates every policy of `set` for the sign-in `facts`.
pub fn evaluate(set: &PolicySet, facts: &SignInFacts) -> Evaluation {
    let (mut cx, matched_locations) = Ctx::new(set, facts);
    let mut policies = Vec::with_capacity(set.policies.len());
    let mut blocked = Vec::new();
    let mut failed = Vec::new();
    let mut requirements = Vec::new();
    let mut session = SessionEffects::default();
    let (mut any_success, mut any_failure) = (false, false);
    for cp in &set.policies {
        let r = eval_policy(cp, &mut cx);
        if cp.state == PolicyState::Enabled {
            if let Outcome::Applied(a) = &r.outcome {
                let pref = || r.policy.clone();
                match &a.grant {
                    GrantOutcome::Block => blocked.push(pref()),
                    GrantOutcome::Unsatisfiable { control, why } => failed.push(FailedControl {
                        policy: pref(),
                        control: control.clone(),
                        why,
                    }),
                    _ => {}
                }
                let grant_needs = match &a.grant {
                    GrantOutcome::NeedsInteraction {
                        controls, any_of, ..
                    } => Some((controls.clone(), *any_of)),
                    _ => None,
                };
                if grant_needs.is_some() || a.reauthentication.is_some() {
                    let (grant, any_of) = grant_needs.unwrap_or_default();
                    requirements.push(Requirement {
                        policy: pref(),
                        grant,
                        any_of,
                        reauthentication: a.reauthentication,
                    });
                }
                if let Some(m) = cp.persistent_browser {
                    if session.persistent_browser != Some(PersistentBrowserMode::Never) {
                        session.persistent_browser = Some(m);
                    }
                }
                if let Some(f) = cp.sign_in_frequency {
                    let age = f.max_age_secs();
                    let shorter = session
                        .sign_in_frequency
                        .as_ref()
                        .is_none_or(|s| age < s.max_age_secs);
                    if shorter {
                        session.sign_in_frequency = Some(SessionFrequency {
                            every_time: f == FrequencyInterval::EveryTime,
                            max_age_secs: age,
                            policy: pref(),
                        });
                    }
                }
                if r.result == AppliedResult::Success {
                    any_success = true;
                } else {
                    any_failure = true;
                }
            }
        }
        policies.push(r);
    }
    let decision = if !blocked.is_empty() {
        Decision::Blocked { policies: blocked }
    } else if !failed.is_empty() {
        Decision::FailedClosed { failures: failed }
    } else if !requirements.is_empty() {
        Decision::InteractionRequired { requirements }
    } else {
        Decision::Allowed
    };
    let conditional_access_status = if any_failure {
        ConditionalAccessStatus::Failure
    } else if any_success {
        ConditionalAccessStatus::Success
    } else {
        ConditionalAccessStatus::NotApplied
    };
    Evaluation {
        decision,
        conditional_access_status,
        session,
        trusted_location: cx.trusted.is_some(),
        matched_locations,
        policies,
    }
}

fn eval_policy(cp: &CompiledPolicy, cx: &mut Ctx<'_>) -> PolicyResult {
    let report_only = cp.state == PolicyState::EnabledForReportingButNotEnforced;
    let policy = PolicyRef(cp.meta.clone());
    if cp.state == PolicyState::Disabled {
        return PolicyResult {
            policy,
            result: AppliedResult::NotEnabled,
            conditions_satisfied: Conditions::default(),
            conditions_not_satisfied: Conditions::default(),
            outcome: Outcome::NotEnabled,
        };
    }
    let mut sat = Conditions::default();
    let mut unsat = Conditions::default();
    let mut first: Option<Unmet> = None;
    let mut record = |c: Condition, r: Result<(), Unmet>| match r {
        Ok(()) => sat.insert(c),
        Err(u) => {
            unsat.insert(c);
            if first.is_none() {
                first = Some(u);
            }
        }
    };
    let set = cx.set;
    match (&cp.target, &cx.subject) {
        (
            Target::Users(u),
            Subject::User {
                user,
                groups,
                roles,
            },
        ) => {
            let r = if user.is_some_and(|s| u.ex_users.contains(&s)) {
                Err(Unmet::UserExcluded(Via::User))
            } else if let Some(g) = groups.any(&u.ex_groups) {
                Err(Unmet::UserExcluded(Via::Group(set.groups.name(g))))
            } else if let Some(g) = roles.any(&u.ex_roles) {
                Err(Unmet::UserExcluded(Via::Role(set.roles.name(g))))
            } else if u.all
                || user.is_some_and(|s| u.users.contains(&s))
                || groups.any(&u.groups).is_some()
                || roles.any(&u.roles).is_some()
            {
                Ok(())
            } else {
                Err(Unmet::UserNotIncluded)
            };
            record(Condition::Users, r);
        }
        (Target::Users(_), Subject::ServicePrincipal(_)) => {
            record(Condition::ServicePrincipals, Err(Unmet::NotAUser))
        }
        (Target::Workload(_), Subject::User { .. }) => {
            record(Condition::Users, Err(Unmet::NotAServicePrincipal))
        }
        (Target::Workload(w), Subject::ServicePrincipal(sp)) => {
            let r = if sp.is_some_and(|s| w.exclude.contains(&s)) {
                Err(Unmet::ServicePrincipalExcluded)
            } else if w.all || sp.is_some_and(|s| w.include.contains(&s)) {
                Ok(())
            } else {
                Err(Unmet::ServicePrincipalNotIncluded)
            };
            record(Condition::ServicePrincipals, r);
        }
    }
    let a = &cp.apps;
    let r = if let Some(c) = cx.client.filter(|c| a.ex_clients.contains(c)) {
        Err(Unmet::ApplicationExcluded(set.clients.name(c)))
    } else if let Some(c) = cx.resource.filter(|c| a.ex_resources.contains(c)) {
        Err(Unmet::ApplicationExcluded(set.resources.name(c)))
    } else if a.all
        || cx.client.is_some_and(|c| a.clients.contains(&c))
        || cx.resource.is_some_and(|c| a.resources.contains(&c))
    {
        Ok(())
    } else {
        Err(Unmet::ApplicationNotIncluded)
    };
    record(Condition::Application, r);
    if let Some(mask) = cp.client_app_types {
        let r = match cx.client_app {
            Some(t) if mask & (1 << t as u8) != 0 => Ok(()),
            other => Err(Unmet::ClientAppTypeNotIncluded(other)),
        };
        record(Condition::ClientType, r);
    }
    if let Some(pc) = cp.platforms {
        let r = match cx.platform {
            Some(d) if pc.exclude & d.bit() != 0 => Err(Unmet::PlatformExcluded(d)),
            Some(d) if pc.all || pc.include & d.bit() != 0 => Ok(()),
            None if pc.all => Ok(()),
            other => Err(Unmet::PlatformNotIncluded(other)),
        };
        record(Condition::DevicePlatform, r);
    }
    if let Some(lc) = &cp.locations {
        let r = if let (true, Some(t)) = (lc.ex_trusted, &cx.trusted) {
            Err(Unmet::LocationTrusted(t.clone()))
        } else if let Some(l) = cx.locations.any(&lc.exclude) {
            Err(Unmet::LocationExcluded(
                set.locations[l as usize].label.clone(),
            ))
        } else if lc.all
            || (lc.trusted && cx.trusted.is_some())
            || cx.locations.any(&lc.include).is_some()
        {
            Ok(())
        } else {
            Err(Unmet::LocationNotIncluded(cx.facts.ip_address))
        };
        record(Condition::Location, r);
    }
    if let Some(mask) = cp.flows {
        let r = match cx.facts.authentication_flow {
            Some(t) if mask & (1 << t as u8) != 0 => Ok(()),
            other => Err(Unmet::FlowNotIncluded(other)),
        };
        record(Condition::AuthenticationFlows, r);
    }
    if let Some(u) = first {
        return PolicyResult {
            policy,
            result: if report_only {
                AppliedResult::ReportOnlyNotApplied
            } else {
                AppliedResult::NotApplied
            },
            conditions_satisfied: sat,
            conditions_not_satisfied: unsat,
            outcome: Outcome::NotApplied(u),
        };
    }
    let grant = match &cp.grant {
        None => GrantOutcome::None,
        Some(g) => grant_outcome(g, cp.sign_in_frequency, cx),
    };
    let reauthentication = cp.sign_in_frequency.and_then(|f| reauthentication(f, cx));
    let result = match (&grant, reauthentication.is_some(), report_only) {
        (GrantOutcome::Block | GrantOutcome::Unsatisfiable { .. }, _, false) => {
            AppliedResult::Failure
        }
        (GrantOutcome::Block | GrantOutcome::Unsatisfiable { .. }, _, true) => {
            AppliedResult::ReportOnlyFailure
        }
        (GrantOutcome::NeedsInteraction { .. }, _, false) | (_, true, false) => {
            AppliedResult::Failure
        }
        (GrantOutcome::NeedsInteraction { .. }, _, true) | (_, true, true) => {
            AppliedResult::ReportOnlyInterrupted
        }
        (_, false, false) => AppliedResult::Success,
        (_, false, true) => AppliedResult::ReportOnlySuccess,
    };
    PolicyResult {
        policy,
        result,
        conditions_satisfied: sat,
        conditions_not_satisfied: unsat,
        outcome: Outcome::Applied(Applied {
            grant,
            reauthentication,
        }),
    }
}

/// `None` when the sign-in frequency is satisfied.
fn reauthentication(f: FrequencyInterval, cx: &Ctx<'_>) -> Option<Reauthentication> {
    let age = cx.auth_age();
    let max = f.max_age_secs();
    let every_time = f == FrequencyInterval::EveryTime;
    let fresh = age.is_some_and(|a| a <= max) && (!every_time || cx.facts.interactive);
    (!fresh).then_some(Reauthentication {
        every_time,
        max_age_secs: max,
        age_secs: age,
    })
}

fn grant_outcome(g: &Grant, sif: Option<FrequencyInterval>, cx: &mut Ctx<'_>) -> GrantOutcome {
    let (and, controls) = match g {
        Grant::Block => return GrantOutcome::Block,
        Grant::Controls { and, controls } => (*and, controls),
    };
    let f = cx.facts;
    let mfa_ok = || {
        f.has_mfa()
            && match sif {
                // With a sign-in frequency the second factor must be as recent.
                Some(freq) => f
                    .authentication
                    .mfa_time
                    .or(f.authentication.auth_time)
                    .is_some_and(|t| f.now - t <= freq.max_age_secs()),
                None => true,
            }
    };
    let pwd_ok = || match (
        f.authentication.password_changed_at,
        f.authentication.auth_time,
    ) {
        (Some(c), Some(a)) => c >= a,
        _ => false,
    };
    let mut needs = Vec::new();
    let mut unsat: Option<(&Arc<str>, &'static str)> = None;
    let mut any_ok = false;
    for c in controls {
        match c {
            Control::Mfa if mfa_ok() => any_ok = true,
            Control::Mfa => {
                if !needs.contains(&Interaction::Mfa) {
                    needs.push(Interaction::Mfa)
                }
            }
            Control::PasswordChange if pwd_ok() => any_ok = true,
            Control::PasswordChange => needs.push(Interaction::PasswordChange),
            Control::Unsatisfiable(name, why) => {
                if unsat.is_none() {
                    unsat = Some((name, why));
                }
            }
        }
    }
    let unsatisfiable = |(control, why): (&Arc<str>, &'static str)| GrantOutcome::Unsatisfiable {
        control: control.clone(),
        why,
    };
    if and {
        if let Some(u) = unsat {
            return unsatisfiable(u);
        }
        if needs.is_empty() {
            return GrantOutcome::Satisfied;
        }
    } else {
        if any_ok || controls.is_empty() {
            return GrantOutcome::Satisfied;
        }
        if needs.is_empty() {
            if let Some(u) = unsat {
                return unsatisfiable(u);
            }
        }
    }
    GrantOutcome::NeedsInteraction {
        controls: needs,
        any_of: !and,
        amr: cx.amr(),
    }
}

#[cfg(test)]
mod tests;
