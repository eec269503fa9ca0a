//! The one outcome value every sign-in produces, success or failure, and its record
//! in the sign-in log, shaped like Microsoft Graph's `signIn`.
//!
//! A handler fills a [`SignInEvent`] (never a secret) and hands it to the sign-in log
//! writer; the writer turns it into a [`StoredSignIn`] ([`to_stored`]) off the request
//! path. The stored record is compact: the Graph JSON of the sign-in without the parts
//! that repeat across records — the user's group ids (for replay) and the list of the
//! tenant's policies (for `appliedConditionalAccessPolicies`) are kept once per
//! distinct set, by hash, and the record names its sets. [`expand`] rebuilds Graph's
//! full `signIn` from a stored record and its policy set.

use crate::clock::UnixTimeMs;
use crate::ErrorCode;
use portvakt_policy::{AppliedResult, ConditionalAccessStatus, Evaluation, Outcome, SignInFacts};
use serde::Serialize;
use serde_json::{json, Value};
use std::sync::Arc;

/// Graph `signInEventTypes`, and whether the user was there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum SignInKind {
    /// The user signed in at a Portvakt page (`interactiveUser`).
    Interactive,
    /// A refresh, a silent `/authorize`, a code or device-code redemption
    /// (`nonInteractiveUser`).
    NonInteractive,
    /// A client with client credentials (`servicePrincipal`).
    ServicePrincipal,
}

impl SignInKind {
    /// Graph's `signInEventTypes` value.
    pub fn event_type(self) -> &'static str {
        match self {
            Self::Interactive => "interactiveUser",
            Self::NonInteractive => "nonInteractiveUser",
            Self::ServicePrincipal => "servicePrincipal",
        }
    }
}

/// The status of a sign-in, as the log's filters name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum SignInStatus {
    /// Tokens (or a session) were issued.
    Success,
    /// Refused.
    Failure,
    /// The user was asked for more (MFA, a password change) and the sign-in goes on.
    Interrupted,
}

impl SignInStatus {
    /// The stored code: 0, 1, 2.
    pub fn code(self) -> u8 {
        match self {
            Self::Success => 0,
            Self::Failure => 1,
            Self::Interrupted => 2,
        }
    }
    /// From the stored code.
    pub fn from_code(c: u8) -> Self {
        match c {
            0 => Self::Success,
            2 => Self::Interrupted,
            _ => Self::Failure,
        }
    }
}

/// One authentication step (Graph `authenticationDetail`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthStep {
    /// Graph `authenticationMethod`: `Password`, `Authenticator app (TOTP)`,
    /// `Previously satisfied`, `Client secret`, `Refresh token`.
    pub authentication_method: &'static str,
    /// Whether it succeeded.
    pub succeeded: bool,
    /// When (ms).
    pub at_ms: UnixTimeMs,
    /// Graph `authenticationStepResultDetail`.
    pub detail: String,
}

/// What happened to one sign-in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SignInEvent {
    /// When the request arrived (ms).
    pub created_at_ms: UnixTimeMs,
    /// How long it took to answer (ms).
    pub processing_ms: u32,
    /// Correlation id of the HTTP exchange.
    pub correlation_id: String,
    /// Tenant name.
    pub tenant: String,
    /// Tenant id (empty when the tenant is unknown).
    pub tenant_id: String,
    /// Interactive, non-interactive or a service principal.
    pub kind: SignInKind,
    /// The protocol step: a grant type, `authorize`, `login`, `mfa`, `password change`.
    pub protocol: Option<String>,
    /// The client id presented (may be unknown to the tenant).
    pub client_id: Option<String>,
    /// Its display name, when known.
    pub app_display_name: Option<String>,
    /// The resource the token was (or would have been) for.
    pub resource: Option<String>,
    /// Its display name.
    pub resource_display_name: Option<String>,
    /// The user's id, when the user is known.
    pub user_id: Option<String>,
    /// The user principal name: the user's, or as typed when no such user exists.
    pub user_principal_name: Option<String>,
    /// The user's display name.
    pub user_display_name: Option<String>,
    /// Client IP address.
    pub ip_address: Option<String>,
    /// The `User-Agent` header.
    pub user_agent: Option<String>,
    /// The authentication steps done in this sign-in.
    pub auth_steps: Vec<AuthStep>,
    /// `None` on success, else the error code.
    pub error_code: Option<ErrorCode>,
    /// The reason, for failures and interruptions.
    pub failure_reason: Option<String>,
    /// The user was asked for more (MFA, a password change): neither success nor
    /// failure yet.
    pub interrupted: bool,
    /// The `jti` of the token issued.
    pub token_id: Option<String>,
    /// What Conditional Access evaluated (stored, so policies can be replayed over
    /// past sign-ins).
    pub facts: Option<SignInFacts>,
    /// Its outcome: `conditionalAccessStatus` and `appliedConditionalAccessPolicies`.
    pub evaluation: Option<Arc<Evaluation>>,
}

impl SignInEvent {
    /// An event of `kind` for a request to `tenant` that arrived at `created_at_ms`.
    pub fn new(
        kind: SignInKind,
        created_at_ms: UnixTimeMs,
        correlation_id: impl Into<String>,
        tenant: impl Into<String>,
    ) -> Self {
        Self {
            created_at_ms,
            processing_ms: 0,
            correlation_id: correlation_id.into(),
            tenant: tenant.into(),
            tenant_id: String::new(),
            kind,
            protocol: None,
            client_id: None,
            app_display_name: None,
            resource: None,
            resource_display_name: None,
            user_id: None,
            user_principal_name: None,
            user_display_name: None,
            ip_address: None,
            user_agent: None,
            auth_steps: vec![],
            error_code: None,
            failure_reason: None,
            interrupted: false,
            token_id: None,
            facts: None,
            evaluation: None,
        }
    }

    /// Success, failure or interrupted.
    pub fn status(&self) -> SignInStatus {
        match (&self.error_code, self.interrupted) {
            (_, true) => SignInStatus::Interrupted,
            (None, false) => SignInStatus::Success,
            (Some(_), false) => SignInStatus::Failure,
        }
    }

    /// Record the failure `e`.
    pub fn fail(&mut self, e: &crate::Error) {
        self.error_code = Some(e.code);
        self.failure_reason = Some(e.detail.clone());
    }
}

impl Serialize for ErrorCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

/// Graph's numeric `status.errorCode` of a Portvakt code: its digits (PV4001 → 4001);
/// 0 is success.
pub fn numeric_code(code: Option<ErrorCode>) -> i64 {
    code.and_then(|c| c.code().trim_start_matches("PV").parse().ok())
        .unwrap_or(0)
}

/// A sign-in as the store keeps it: the columns queries filter on, the compact record
/// and the sets it refers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSignIn {
    /// Graph `id`.
    pub id: String,
    /// Tenant id.
    pub tenant_id: String,
    /// `createdDateTime` in ms.
    pub created_ms: UnixTimeMs,
    /// The lower-cased user principal name (as typed, for unknown users).
    pub user_key: Option<String>,
    /// The user's id.
    pub user_id: Option<String>,
    /// The client id.
    pub app_id: Option<String>,
    /// [`SignInStatus::code`].
    pub status: u8,
    /// [`numeric_code`].
    pub error_code: i64,
    /// Correlation id.
    pub correlation_id: String,
    /// Client address.
    pub ip: Option<String>,
    /// 0 notApplied, 1 success, 2 failure; `None`: not evaluated.
    pub ca_status: Option<u8>,
    /// Interactive.
    pub interactive: bool,
    /// The compact Graph record (JSON).
    pub record: String,
    /// The facts without their groups (JSON), for replay.
    pub facts: Option<String>,
    /// The user's group ids, by hash: (hash, JSON array).
    pub group_set: Option<(String, String)>,
    /// The tenant's policies at the time, by hash: (hash, JSON).
    pub policy_set: Option<(String, String)>,
}

/// The order of the condition bits of a compact policy result.
const CONDITIONS: [portvakt_policy::evaluate::Condition; 7] = {
    use portvakt_policy::evaluate::Condition::*;
    [
        Users,
        ServicePrincipals,
        Application,
        ClientType,
        DevicePlatform,
        Location,
        AuthenticationFlows,
    ]
};

fn bits(c: portvakt_policy::evaluate::Conditions) -> u8 {
    CONDITIONS
        .iter()
        .enumerate()
        .filter(|(_, x)| c.contains(**x))
        .fold(0, |b, (i, _)| b | (1 << i))
}

fn condition_names(b: u64) -> String {
    let v: Vec<&str> = CONDITIONS
        .iter()
        .enumerate()
        .filter(|(i, _)| b & (1 << i) != 0)
        .map(|(_, c)| c.graph_name())
        .collect();
    if v.is_empty() {
        "none".into()
    } else {
        v.join(",")
    }
}

fn result_name(r: AppliedResult) -> Value {
    serde_json::to_value(r).unwrap_or(Value::Null)
}

fn sha_hex(s: &str) -> String {
    portvakt_jose::sha256(s.as_bytes())[..12]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The stored form of `ev`, with Graph `id` `id`.
pub fn to_stored(ev: &SignInEvent, id: String) -> StoredSignIn {
    let status = ev.status();
    let error_code = numeric_code(ev.error_code);
    let device = ev
        .user_agent
        .as_deref()
        .map(portvakt_policy::agent::device_detail)
        .unwrap_or_default();
    let client_app = ev
        .facts
        .as_ref()
        .and_then(|f| f.client_app_type)
        .map(|t| match t.as_str() {
            "browser" => "Browser",
            "mobileAppsAndDesktopClients" => "Mobile Apps and Desktop clients",
            _ => "Other clients",
        });
    let mut record = json!({
        "id": id,
        "createdDateTime": crate::clock::rfc3339_ms(ev.created_at_ms),
        "userPrincipalName": ev.user_principal_name,
        "userId": ev.user_id,
        "userDisplayName": ev.user_display_name,
        "appId": ev.client_id,
        "appDisplayName": ev.app_display_name,
        "resourceId": ev.resource,
        "resourceDisplayName": ev.resource_display_name,
        "ipAddress": ev.ip_address,
        "clientAppUsed": client_app,
        "userAgent": ev.user_agent,
        "deviceDetail": {"operatingSystem": device.operating_system, "browser": device.browser},
        "correlationId": ev.correlation_id,
        "isInteractive": ev.kind == SignInKind::Interactive,
        "signInEventTypes": [ev.kind.event_type()],
        "authenticationProtocol": ev.protocol,
        "authenticationRequirement": if ev.auth_steps.iter().any(|s| s.succeeded && s.authentication_method.starts_with("Authenticator")) || ev.facts.as_ref().is_some_and(|f| f.has_mfa()) { "multiFactorAuthentication" } else { "singleFactorAuthentication" },
        "authenticationDetails": ev.auth_steps.iter().map(|s| json!({
            "authenticationMethod": s.authentication_method, "succeeded": s.succeeded,
            "authenticationStepDateTime": crate::clock::rfc3339_ms(s.at_ms),
            "authenticationStepResultDetail": s.detail})).collect::<Vec<_>>(),
        "status": {"errorCode": error_code, "failureReason": ev.failure_reason,
                   "additionalDetails": ev.error_code.map(|c| c.fix())},
        "portvaktStatus": match status { SignInStatus::Success => "success", SignInStatus::Failure => "failure", SignInStatus::Interrupted => "interrupted" },
        "errorCodeName": ev.error_code.map(|c| c.code()),
        "processingTimeInMilliseconds": ev.processing_ms,
        "tokenId": ev.token_id,
    });
    let mut ca_status = None;
    let mut policy_set = None;
    if let Some(e) = &ev.evaluation {
        ca_status = Some(match e.conditional_access_status {
            ConditionalAccessStatus::NotApplied => 0,
            ConditionalAccessStatus::Success => 1,
            ConditionalAccessStatus::Failure => 2,
        });
        record["conditionalAccessStatus"] = json!(e.conditional_access_status);
        record["location"] = json!({"namedLocations": e.matched_locations.iter().map(|l| l.to_string()).collect::<Vec<_>>(), "isTrusted": e.trusted_location});
        // The policies, once per distinct set: position → id, name, controls.
        let snapshot: Vec<Value> = e
            .policies
            .iter()
            .map(|p| {
                json!([
                    p.policy.id(),
                    p.policy.display_name(),
                    p.enforced_grant_controls(),
                    p.enforced_session_controls()
                ])
            })
            .collect();
        if !snapshot.is_empty() {
            let s = Value::Array(snapshot).to_string();
            let h = sha_hex(&s);
            record["policySet"] = json!(h);
            // Per policy: [result, satisfied bits, not-satisfied bits, reason if applied].
            record["policyResults"] = Value::Array(
                e.policies
                    .iter()
                    .map(|p| {
                        let mut v = json!([
                            result_name(p.result),
                            bits(p.conditions_satisfied),
                            bits(p.conditions_not_satisfied)
                        ]);
                        if let (Value::Array(a), Outcome::Applied(_)) = (&mut v, &p.outcome) {
                            a.push(json!(p.reason()));
                        }
                        v
                    })
                    .collect(),
            );
            policy_set = Some((h, s));
        }
        record["conditionalAccessDecision"] = json!(e.decision);
    } else {
        record["conditionalAccessStatus"] = json!("notApplied");
    }
    let mut group_set = None;
    let facts = ev.facts.as_ref().map(|f| {
        let mut f = f.clone();
        if let portvakt_policy::Identity::User(u) = &mut f.identity {
            if !u.groups.is_empty() {
                let ids = serde_json::to_string(&u.groups).unwrap_or_default();
                let h = sha_hex(&ids);
                group_set = Some((h.clone(), ids));
                u.groups = vec![format!("#groupset:{h}")];
            }
        }
        serde_json::to_string(&f).unwrap_or_default()
    });
    StoredSignIn {
        id,
        tenant_id: ev.tenant_id.clone(),
        created_ms: ev.created_at_ms,
        user_key: ev.user_principal_name.as_ref().map(|u| u.to_lowercase()),
        user_id: ev.user_id.clone(),
        app_id: ev.client_id.clone(),
        status: status.code(),
        error_code,
        correlation_id: ev.correlation_id.clone(),
        ip: ev.ip_address.clone(),
        ca_status,
        interactive: ev.kind == SignInKind::Interactive,
        record: record.to_string(),
        facts,
        group_set,
        policy_set,
    }
}

/// Graph's `signIn` from a stored record and its policy set (`None` when it has none).
pub fn expand(record: &str, policy_set: Option<&str>) -> Value {
    let mut v: Value = serde_json::from_str(record).unwrap_or(Value::Null);
    let snapshot: Vec<Value> = policy_set
        .and_then(|s| serde_json::from_str(s).ok())
        .unwrap_or_default();
    let results = v
        .get("policyResults")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let applied: Vec<Value> = snapshot
        .iter()
        .zip(results.iter())
        .map(|(p, r)| {
            let r = r.as_array().cloned().unwrap_or_default();
            let mut o = json!({
                "id": p[0], "displayName": p[1], "result": r.first().cloned().unwrap_or(Value::Null),
                "enforcedGrantControls": p[2], "enforcedSessionControls": p[3],
                "conditionsSatisfied": condition_names(r.get(1).and_then(Value::as_u64).unwrap_or(0)),
                "conditionsNotSatisfied": condition_names(r.get(2).and_then(Value::as_u64).unwrap_or(0)),
            });
            if let Some(reason) = r.get(3) {
                o["reason"] = reason.clone();
            }
            o
        })
        .collect();
    if let Some(o) = v.as_object_mut() {
        o.remove("policyResults");
        o.remove("policySet");
        o.insert(
            "appliedConditionalAccessPolicies".into(),
            Value::Array(applied),
        );
    }
    v
}

/// The facts of a stored record, with its groups put back from their set, already
/// parsed (replay parses each set once).
pub fn facts_with(facts: &str, groups: Option<&Vec<String>>) -> Option<SignInFacts> {
    let mut f: SignInFacts = serde_json::from_str(facts).ok()?;
    if let portvakt_policy::Identity::User(u) = &mut f.identity {
        if u.groups
            .first()
            .is_some_and(|g| g.starts_with("#groupset:"))
        {
            u.groups = groups.cloned().unwrap_or_default();
        }
    }
    Some(f)
}

/// The facts of a stored record, with its groups put back from their set.
pub fn facts_back(facts: &str, group_ids: Option<&str>) -> Option<SignInFacts> {
    let mut f: SignInFacts = serde_json::from_str(facts).ok()?;
    if let portvakt_policy::Identity::User(u) = &mut f.identity {
        if u.groups
            .first()
            .is_some_and(|g| g.starts_with("#groupset:"))
        {
            u.groups = group_ids
                .and_then(|g| serde_json::from_str(g).ok())
                .unwrap_or_default();
        }
    }
    Some(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_codes_are_the_digits_and_zero_is_success() {
        assert_eq!(numeric_code(None), 0);
        assert_eq!(
            numeric_code(Some(ErrorCode::ConditionalAccessBlocked)),
            4001
        );
        assert_eq!(numeric_code(Some(ErrorCode::ClientSecretWrong)), 1103);
    }

    #[test]
    fn a_stored_record_expands_to_graphs_shape_and_the_facts_come_back() {
        let mut ev = SignInEvent::new(
            SignInKind::NonInteractive,
            1_800_000_000_123,
            "c-1",
            "contoso",
        );
        ev.tenant_id = "t1".into();
        ev.user_principal_name = Some("Ada@Contoso.example".into());
        ev.client_id = Some("webapp".into());
        ev.error_code = Some(ErrorCode::MfaRequired);
        ev.failure_reason = Some("policy X requires mfa".into());
        let mut facts = SignInFacts::user(
            1_800_000_000,
            portvakt_policy::UserFacts {
                id: "u1".into(),
                user_principal_name: Some("ada@contoso.example".into()),
                groups: vec!["g1".into(), "g2".into()],
                roles: vec![],
                mfa_registered: false,
            },
            "webapp",
        );
        facts.normalize();
        ev.facts = Some(facts.clone());
        let s = to_stored(&ev, "id-1".into());
        assert_eq!(
            (s.status, s.error_code, s.user_key.as_deref()),
            (1, 4002, Some("ada@contoso.example"))
        );
        let (h, ids) = s.group_set.clone().expect("a group set");
        assert!(
            !s.facts.as_deref().unwrap_or("").contains("g1"),
            "groups are kept apart"
        );
        assert_eq!(
            facts_back(s.facts.as_deref().expect("facts"), Some(&ids)),
            Some(facts)
        );
        assert_eq!(h.len(), 24);
        let g = expand(&s.record, None);
        assert_eq!(g["createdDateTime"], "2027-01-15T08:00:00.123Z");
        assert_eq!(g["status"]["errorCode"], 4002);
        assert_eq!(g["signInEventTypes"][0], "nonInteractiveUser");
        assert_eq!(g["isInteractive"], false);
        assert_eq!(g["conditionalAccessStatus"], "notApplied");
        assert_eq!(g["appliedConditionalAccessPolicies"], json!([]));
    }
}
