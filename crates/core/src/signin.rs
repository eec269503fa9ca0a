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
use portvakt_policy::{ConditionalAccessStatus, Evaluation, SignInFacts};
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
    /// `appDisplayName`, also in the record: a `$filter` compares it in a column
    /// of its own, as the record is stored packed.
    pub app_display_name: Option<String>,
    /// `resourceId`, also in the record (as `app_display_name`).
    pub resource_id: Option<String>,
    /// `clientAppUsed`, also in the record (as `app_display_name`).
    pub client_app_used: Option<String>,
    /// The compact Graph record (JSON).
    pub record: String,
    /// The facts without their groups (JSON), for replay.
    pub facts: Option<String>,
    /// The user's group ids, by hash: (hash, JSON array).
    pub group_set: Option<(String, String)>,
    /// The tenant's policies at the time, by hash: (hash, JSON).
    pub policy_set: Option<(String, String)>,
    /// Each policy's result, in the set's order (empty without a policy set): the
    /// overview's counts are kept from these as records are written.
    pub policy_results: Vec<&'static str>,
}

impl StoredSignIn {
    /// What its row's columns hold, for [`expand`].
    pub fn columns(&self) -> RecordColumns<'_> {
        RecordColumns {
            id: &self.id,
            correlation_id: &self.correlation_id,
            created_ms: self.created_ms,
            app_id: self.app_id.as_deref(),
            ip: self.ip.as_deref(),
            user_id: self.user_id.as_deref(),
            interactive: self.interactive,
            status: self.status,
            error_code: self.error_code,
        }
    }
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

pub(crate) fn bits(c: portvakt_policy::evaluate::Conditions) -> u8 {
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

/// The first 12 bytes of SHA-256 of `s`, in hex: a set's name.
fn sha_hex(s: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(24);
    for b in &portvakt_jose::sha256(s.as_bytes())[..12] {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 15)]));
    }
    out
}

/// The names of the policy and group sets [`to_stored_with`] made last: a writer's
/// batch mostly repeats a tenant's policy set (and a user's groups), so its hash is
/// made once rather than per record. Only a cache: every name is still the hash of
/// its set's text.
#[derive(Debug, Default)]
pub struct SetNames {
    /// The last policy set: its fields (compared before any JSON is made), its
    /// snapshot text and its name.
    last_policies: Option<(Vec<PolicyFields>, String, String)>,
    last_groups: Option<(String, String)>,
}

/// What a policy set's snapshot holds of one policy.
type PolicyFields = (String, String, Vec<String>, Vec<String>);

impl SetNames {
    /// The name and snapshot of `e`'s policy set ([`signin_json::policy_snapshot`]),
    /// from the last one if its policies are the same.
    fn policies(&mut self, e: &Evaluation) -> (String, String) {
        let same = |last: &[PolicyFields]| {
            last.len() == e.policies.len()
                && last.iter().zip(&e.policies).all(|((id, name, g, s), p)| {
                    id == p.policy.id()
                        && name == p.policy.display_name()
                        && g.as_slice() == p.enforced_grant_controls()
                        && s.as_slice() == p.enforced_session_controls()
                })
        };
        match &self.last_policies {
            Some((fields, text, name)) if same(fields) => (name.clone(), text.clone()),
            _ => {
                let text = crate::signin_json::policy_snapshot(e);
                let name = sha_hex(&text);
                let fields = e
                    .policies
                    .iter()
                    .map(|p| {
                        (
                            p.policy.id().to_string(),
                            p.policy.display_name().to_string(),
                            p.enforced_grant_controls().to_vec(),
                            p.enforced_session_controls().to_vec(),
                        )
                    })
                    .collect();
                self.last_policies = Some((fields, text.clone(), name.clone()));
                (name, text)
            }
        }
    }

    /// The name of a set's text, from the last one if it is the same text.
    fn name(last: &mut Option<(String, String)>, text: &str) -> String {
        match last {
            Some((t, h)) if t == text => h.clone(),
            _ => {
                let h = sha_hex(text);
                *last = Some((text.to_string(), h.clone()));
                h
            }
        }
    }
}

/// The stored form of `ev`, with Graph `id` `id`.
/// A record's id: a UUIDv7 (RFC 9562 §5.7) of its `createdDateTime` exactly, so the
/// log finds it by that time (docs/design/sign-in-log-blocks.md) without an index
/// entry of its own.
pub fn record_id(created_ms: UnixTimeMs) -> String {
    let ms = u64::try_from(created_ms).unwrap_or(0);
    let ts = uuid::Timestamp::from_unix(uuid::NoContext, ms / 1000, (ms % 1000) as u32 * 1_000_000);
    uuid::Uuid::new_v7(ts).hyphenated().to_string()
}

pub fn to_stored(ev: &SignInEvent, id: String) -> StoredSignIn {
    to_stored_with(ev, id, &mut SetNames::default())
}

/// [`to_stored`], naming the policy and group sets through `names` (a writer keeps
/// one for its batches).
pub fn to_stored_with(ev: &SignInEvent, id: String, names: &mut SetNames) -> StoredSignIn {
    use crate::signin_json as j;
    let status = ev.status();
    let error_code = numeric_code(ev.error_code);
    let device = ev
        .user_agent
        .as_deref()
        .map(portvakt_policy::agent::device_detail)
        .unwrap_or_default();
    let e = ev.evaluation.as_deref();
    let ca_status = e.map(|e| match e.conditional_access_status {
        ConditionalAccessStatus::NotApplied => 0,
        ConditionalAccessStatus::Success => 1,
        ConditionalAccessStatus::Failure => 2,
    });
    // The policies, once per distinct set: position → id, name, controls.
    let policy_set = e
        .filter(|e| !e.policies.is_empty())
        .map(|e| names.policies(e));
    let record = j::Record {
        app_display_name: ev.app_display_name.as_deref(),
        authentication_details: j::Steps(&ev.auth_steps),
        authentication_protocol: ev.protocol.as_deref(),
        authentication_requirement: j::requirement(ev),
        client_app_used: j::client_app_used(ev),
        conditional_access_decision: e.map(|e| &e.decision),
        conditional_access_status: e.map_or(ConditionalAccessStatus::NotApplied, |e| {
            e.conditional_access_status
        }),
        device_detail: j::Device {
            browser: device.browser.as_deref(),
            operating_system: device.operating_system.as_deref(),
        },
        location: e.map(|e| j::Location {
            is_trusted: e.trusted_location,
            named_locations: &e.matched_locations,
        }),
        policy_results: policy_set
            .as_ref()
            .and(e)
            .map(|e| j::PolicyResults(&e.policies)),
        policy_set: policy_set.as_ref().map(|(h, _)| h.as_str()),
        processing_time_in_milliseconds: ev.processing_ms,
        resource_display_name: ev.resource_display_name.as_deref(),
        resource_id: ev.resource.as_deref(),
        sign_in_event_types: [ev.kind.event_type()],
        status: j::Status {
            failure_reason: ev.failure_reason.as_deref(),
        },
        token_id: ev.token_id.as_deref(),
        user_agent: ev.user_agent.as_deref(),
        user_display_name: ev.user_display_name.as_deref(),
        user_principal_name: ev.user_principal_name.as_deref(),
    };
    let record = serde_json::to_string(&record).unwrap_or_default();
    let mut group_set = None;
    let facts = ev.facts.as_ref().map(|f| match &f.identity {
        portvakt_policy::Identity::User(u) if !u.groups.is_empty() => {
            let ids = serde_json::to_string(&u.groups).unwrap_or_default();
            let h = SetNames::name(&mut names.last_groups, &ids);
            let mut f = f.clone();
            if let portvakt_policy::Identity::User(u) = &mut f.identity {
                u.groups = vec![format!("#groupset:{h}")];
            }
            group_set = Some((h, ids));
            serde_json::to_string(&f).unwrap_or_default()
        }
        _ => serde_json::to_string(f).unwrap_or_default(),
    });
    StoredSignIn {
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
        app_display_name: ev.app_display_name.clone(),
        resource_id: ev.resource.clone(),
        client_app_used: j::client_app_used(ev).map(str::to_string),
        record,
        facts,
        group_set,
        policy_results: match (&policy_set, e) {
            (Some(_), Some(e)) => e.policies.iter().map(|p| p.result.graph_name()).collect(),
            _ => Vec::new(),
        },
        policy_set,
        id,
    }
}

/// What a stored record's row holds in columns, which the record itself leaves out
/// ([`expand`] puts them back; records written before carry them and keep theirs).
#[derive(Debug, Clone, Copy)]
pub struct RecordColumns<'a> {
    /// Graph `id`.
    pub id: &'a str,
    /// `correlationId`.
    pub correlation_id: &'a str,
    /// `createdDateTime`, ms.
    pub created_ms: UnixTimeMs,
    /// `appId`.
    pub app_id: Option<&'a str>,
    /// `ipAddress`.
    pub ip: Option<&'a str>,
    /// `userId`.
    pub user_id: Option<&'a str>,
    /// `isInteractive`.
    pub interactive: bool,
    /// [`SignInStatus::code`].
    pub status: u8,
    /// `status.errorCode` ([`numeric_code`]).
    pub error_code: i64,
}

impl RecordColumns<'_> {
    fn fill(&self, v: &mut Value) {
        let Some(o) = v.as_object_mut() else { return };
        let put = |o: &mut serde_json::Map<String, Value>, k: &str, x: Value| {
            o.entry(k).or_insert(x);
        };
        put(o, "id", Value::from(self.id));
        put(o, "correlationId", Value::from(self.correlation_id));
        put(
            o,
            "createdDateTime",
            Value::from(crate::clock::rfc3339_ms(self.created_ms)),
        );
        put(o, "appId", self.app_id.map_or(Value::Null, Value::from));
        put(o, "ipAddress", self.ip.map_or(Value::Null, Value::from));
        put(o, "userId", self.user_id.map_or(Value::Null, Value::from));
        put(o, "isInteractive", Value::from(self.interactive));
        let code = (self.error_code != 0)
            .then(|| ErrorCode::from_code(&format!("PV{}", self.error_code)))
            .flatten();
        put(
            o,
            "errorCodeName",
            code.map_or(Value::Null, |c| Value::from(c.code())),
        );
        let status = SignInStatus::from_code(self.status);
        put(
            o,
            "portvaktStatus",
            serde_json::to_value(status).unwrap_or(Value::Null),
        );
        if let Some(st) = o.get_mut("status").and_then(Value::as_object_mut) {
            st.entry("errorCode")
                .or_insert(Value::from(self.error_code));
        }
    }
}

/// The fields of Graph's `signIn` a stored record leaves out when they are null.
const NULLABLE: [&str; 13] = [
    "appDisplayName",
    "appId",
    "authenticationProtocol",
    "clientAppUsed",
    "errorCodeName",
    "ipAddress",
    "resourceDisplayName",
    "resourceId",
    "tokenId",
    "userAgent",
    "userDisplayName",
    "userId",
    "userPrincipalName",
];

/// Put back what [`to_stored`] leaves out (crate::signin_json): nulls, and
/// `status.additionalDetails` (the fix of the record's error code).
fn fill_omitted(v: &mut Value) {
    let Some(o) = v.as_object_mut() else { return };
    for k in NULLABLE {
        o.entry(k).or_insert(Value::Null);
    }
    let code = o
        .get("errorCodeName")
        .and_then(Value::as_str)
        .and_then(ErrorCode::from_code);
    if let Some(d) = o.get_mut("deviceDetail").and_then(Value::as_object_mut) {
        d.entry("browser").or_insert(Value::Null);
        d.entry("operatingSystem").or_insert(Value::Null);
    }
    if let Some(st) = o.get_mut("status").and_then(Value::as_object_mut) {
        st.entry("failureReason").or_insert(Value::Null);
        st.entry("additionalDetails")
            .or_insert_with(|| code.map_or(Value::Null, |c| Value::from(c.fix())));
    }
}

/// Graph's `signIn` from a stored record and its policy set (`None` when it has none).
pub fn expand(record: &str, policy_set: Option<&str>, columns: &RecordColumns<'_>) -> Value {
    let mut v: Value = serde_json::from_str(record).unwrap_or(Value::Null);
    columns.fill(&mut v);
    fill_omitted(&mut v);
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

    #[test]
    fn a_record_id_is_a_uuid_v7_of_its_time_and_unique() {
        for ms in [0i64, 1, 999, 1_000, 1_800_000_000_123, 281_474_976_710_655] {
            let a = record_id(ms);
            let b = record_id(ms);
            assert_ne!(a, b, "unique");
            let u = uuid::Uuid::parse_str(&a).expect("a UUID");
            assert_eq!(u.get_version_num(), 7, "{a}");
            let (secs, nanos) = u.get_timestamp().expect("v7 has a time").to_unix();
            assert_eq!(secs as i64 * 1000 + i64::from(nanos / 1_000_000), ms, "{a}");
        }
        // A time before the epoch (a clock set wrong) still gives an id.
        assert_eq!(
            uuid::Uuid::parse_str(&record_id(-5))
                .expect("id")
                .get_version_num(),
            7
        );
    }
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
        // A writer's names: the same as alone, and a changed set gets its own.
        let mut names = SetNames::default();
        let again = to_stored_with(&ev, "id-2".into(), &mut names);
        assert_eq!(again.group_set, s.group_set);
        let mut other = ev.clone();
        if let Some(portvakt_policy::Identity::User(u)) =
            other.facts.as_mut().map(|f| &mut f.identity)
        {
            u.groups.push("g3".into());
        }
        let changed = to_stored_with(&other, "id-3".into(), &mut names);
        let (h3, ids3) = changed.group_set.expect("a group set");
        assert_ne!(h3, h);
        assert_eq!(h3, sha_hex(&ids3), "a name is its set's hash");
        let back = to_stored_with(&ev, "id-4".into(), &mut names);
        assert_eq!(back.group_set.expect("a group set").0, h);
        let g = expand(&s.record, None, &s.columns());
        assert_eq!(g["createdDateTime"], "2027-01-15T08:00:00.123Z");
        assert_eq!(g["status"]["errorCode"], 4002);
        assert_eq!(g["signInEventTypes"][0], "nonInteractiveUser");
        assert_eq!(g["isInteractive"], false);
        assert_eq!(g["conditionalAccessStatus"], "notApplied");
        assert_eq!(g["appliedConditionalAccessPolicies"], json!([]));
    }

    #[test]
    fn a_record_with_an_evaluation_keeps_what_graph_shows() {
        let policies = portvakt_policy::parse_policies(
            br#"[{"id": "p-mfa", "displayName": "Require \"MFA\"", "state": "enabled",
                  "conditions": {"users": {"includeUsers": ["All"]},
                                 "applications": {"includeApplications": ["All"]},
                                 "clientAppTypes": ["all"]},
                  "grantControls": {"operator": "OR", "builtInControls": ["mfa"]}},
                 {"id": "p-block", "displayName": "Block nobody", "state": "enabledForReportingButNotEnforced",
                  "conditions": {"users": {"includeUsers": ["None"]},
                                 "applications": {"includeApplications": ["All"]},
                                 "clientAppTypes": ["all"]},
                  "grantControls": {"operator": "OR", "builtInControls": ["block"]}}]"#,
        )
        .expect("policies");
        let set = portvakt_policy::compile(&policies, &[], &portvakt_policy::PermissiveDirectory)
            .expect("compile");
        let mut ev = SignInEvent::new(SignInKind::Interactive, 1_800_000_000_123, "c-1", "t");
        ev.user_principal_name = Some("Ada@Contoso.example".into());
        ev.client_id = Some("webapp".into());
        ev.app_display_name = Some("Web \"app\" <1>".into());
        ev.user_agent = Some(
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36"
                .into(),
        );
        ev.error_code = Some(ErrorCode::MfaRequired);
        ev.auth_steps.push(AuthStep {
            authentication_method: "Password",
            succeeded: true,
            at_ms: 1_800_000_000_100,
            detail: "Correct password".into(),
        });
        let mut facts = SignInFacts::user(
            1_800_000_000,
            portvakt_policy::UserFacts {
                id: "u1".into(),
                user_principal_name: Some("ada@contoso.example".into()),
                groups: vec![],
                roles: vec![],
                mfa_registered: false,
            },
            "webapp",
        );
        facts.normalize();
        ev.evaluation = Some(Arc::new(portvakt_policy::evaluate(&set, &facts)));
        ev.facts = Some(facts);
        let s = to_stored(&ev, "id-1".into());
        let parsed: Value = serde_json::from_str(&s.record).expect("json");
        assert_eq!(s.ca_status, Some(2));
        let (hash, set_json) = s.policy_set.clone().expect("a policy set");
        assert_eq!(parsed["policySet"], hash.as_str());
        // A writer's names: the same set is named as alone; a renamed policy is
        // another set.
        let mut names = SetNames::default();
        for _ in 0..2 {
            let again = to_stored_with(&ev, "id-2".into(), &mut names);
            assert_eq!(again.policy_set, s.policy_set);
        }
        let renamed = portvakt_policy::parse_policies(
            br#"[{"id": "p-mfa", "displayName": "Require MFA, renamed", "state": "enabled",
                  "conditions": {"users": {"includeUsers": ["All"]},
                                 "applications": {"includeApplications": ["All"]},
                                 "clientAppTypes": ["all"]},
                  "grantControls": {"operator": "OR", "builtInControls": ["mfa"]}}]"#,
        )
        .expect("policies");
        let renamed =
            portvakt_policy::compile(&renamed, &[], &portvakt_policy::PermissiveDirectory)
                .expect("compile");
        let mut other = ev.clone();
        other.evaluation = Some(Arc::new(portvakt_policy::evaluate(
            &renamed,
            ev.facts.as_ref().expect("facts"),
        )));
        let (h2, text2) = to_stored_with(&other, "id-3".into(), &mut names)
            .policy_set
            .expect("a policy set");
        assert_ne!(h2, hash);
        assert_eq!(h2, sha_hex(&text2), "a name is its set's hash");
        assert!(text2.contains("renamed"), "{text2}");
        assert_eq!(
            to_stored_with(&ev, "id-4".into(), &mut names).policy_set,
            s.policy_set
        );
        // What expand can put back is not stored: nulls, and the code's fix text.
        for k in [
            "userDisplayName",
            "resourceId",
            "ipAddress",
            "failureReason",
            "id",
            "correlationId",
            "createdDateTime",
            "errorCodeName",
            "portvaktStatus",
            "isInteractive",
        ] {
            assert!(parsed.get(k).is_none(), "{k}: {}", s.record);
        }
        assert!(parsed["status"].get("errorCode").is_none(), "{}", s.record);
        assert!(!s.record.contains("additionalDetails"), "{}", s.record);
        let g = expand(&s.record, Some(&set_json), &s.columns());
        for k in NULLABLE {
            assert!(g.get(k).is_some(), "{k} is back");
        }
        assert_eq!(g["userDisplayName"], Value::Null);
        // What the row's columns hold comes back from them.
        assert_eq!(g["id"], "id-1");
        assert_eq!(g["correlationId"], "c-1");
        assert_eq!(g["createdDateTime"], "2027-01-15T08:00:00.123Z");
        assert_eq!(g["isInteractive"], true);
        assert_eq!(g["portvaktStatus"], "failure");
        assert_eq!(g["errorCodeName"], "PV4002");
        assert_eq!(g["status"]["errorCode"], 4002);
        assert_eq!(g["appId"], "webapp");
        assert_eq!(g["status"]["failureReason"], Value::Null);
        assert_eq!(g["appDisplayName"], "Web \"app\" <1>");
        assert_eq!(g["conditionalAccessStatus"], "failure");
        assert_eq!(g["deviceDetail"]["browser"], "Chrome 124.0");
        assert_eq!(g["location"]["isTrusted"], false);
        assert_eq!(
            g["authenticationDetails"][0]["authenticationStepDateTime"],
            "2027-01-15T08:00:00.100Z"
        );
        assert_eq!(
            g["status"]["additionalDetails"],
            ErrorCode::MfaRequired.fix()
        );
        let applied = g["appliedConditionalAccessPolicies"]
            .as_array()
            .expect("applied");
        assert_eq!(applied.len(), 2);
        assert_eq!(applied[0]["id"], "p-mfa");
        assert_eq!(applied[0]["displayName"], "Require \"MFA\"");
        assert_eq!(applied[0]["result"], "failure");
        assert_eq!(applied[0]["enforcedGrantControls"], json!(["mfa"]));
        assert_eq!(applied[1]["result"], "reportOnlyNotApplied");
    }
}
