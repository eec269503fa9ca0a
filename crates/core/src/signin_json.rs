//! The stored sign-in record's JSON, written straight from the event by serde (no
//! `serde_json::Value` tree per record: building and dropping one cost the log
//! writer most of its time per record, BENCHMARKS.md "Sign-in log").
//!
//! The top-level fields are declared in alphabetical order, the order in which
//! `serde_json::Value` wrote them before, so records old and new look alike; readers
//! parse the JSON and depend on no order.
//!
//! What the record can do without is left out, and [`crate::signin::expand`] puts it
//! back: what the row's columns hold (id, correlation id, time, client, address, user
//! id, interactive, status and error code, [`crate::signin::RecordColumns`]), a field
//! that is null (a service principal has no user, most requests no resource display
//! name) and `status.additionalDetails`, which is the fix of the record's error code,
//! word for word, ~300 bytes on every failure. Records written before carry them, and
//! expand leaves what a record has alone.

use crate::signin::{AuthStep, SignInEvent};
use portvakt_policy::{ConditionalAccessStatus, Decision, Evaluation, Outcome, PolicyResult};
use serde::ser::{SerializeSeq, Serializer};
use serde::Serialize;

/// The compact Graph `signIn` record.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Record<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_display_name: Option<&'a str>,
    pub authentication_details: Steps<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authentication_protocol: Option<&'a str>,
    pub authentication_requirement: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_app_used: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conditional_access_decision: Option<&'a Decision>,
    pub conditional_access_status: ConditionalAccessStatus,
    pub device_detail: Device<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<Location<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy_results: Option<PolicyResults<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy_set: Option<&'a str>,
    pub processing_time_in_milliseconds: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_display_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_id: Option<&'a str>,
    pub sign_in_event_types: [&'static str; 1],
    pub status: Status<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_display_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_principal_name: Option<&'a str>,
}

/// `deviceDetail`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Device<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub browser: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operating_system: Option<&'a str>,
}

/// `location`: the named locations the address matched.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Location<'a> {
    pub is_trusted: bool,
    pub named_locations: &'a [std::sync::Arc<str>],
}

/// `status`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Status<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_reason: Option<&'a str>,
}

/// `authenticationDetails`.
pub(crate) struct Steps<'a>(pub &'a [AuthStep]);

impl Serialize for Steps<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Step<'a> {
            authentication_method: &'a str,
            authentication_step_date_time: String,
            authentication_step_result_detail: &'a str,
            succeeded: bool,
        }
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for st in self.0 {
            seq.serialize_element(&Step {
                authentication_method: st.authentication_method,
                authentication_step_date_time: crate::clock::rfc3339_ms(st.at_ms),
                authentication_step_result_detail: &st.detail,
                succeeded: st.succeeded,
            })?;
        }
        seq.end()
    }
}

/// Per policy: `[result, satisfied bits, not-satisfied bits]`, and the reason when
/// the policy applied.
pub(crate) struct PolicyResults<'a>(pub &'a [PolicyResult]);

impl Serialize for PolicyResults<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        struct One<'a>(&'a PolicyResult);
        impl Serialize for One<'_> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let p = self.0;
                let applied = matches!(p.outcome, Outcome::Applied(_));
                let mut t = s.serialize_seq(Some(if applied { 4 } else { 3 }))?;
                t.serialize_element(&p.result)?;
                t.serialize_element(&crate::signin::bits(p.conditions_satisfied))?;
                t.serialize_element(&crate::signin::bits(p.conditions_not_satisfied))?;
                if applied {
                    t.serialize_element(&p.reason())?;
                }
                t.end()
            }
        }
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for p in self.0 {
            seq.serialize_element(&One(p))?;
        }
        seq.end()
    }
}

/// The tenant's policies as the record refers to them, once per distinct set:
/// position → `[id, displayName, grant controls, session controls]`. A field added
/// here must be added to what `signin::SetNames::policies` compares.
pub(crate) fn policy_snapshot(e: &Evaluation) -> String {
    let rows: Vec<(&str, &str, &[String], &[String])> = e
        .policies
        .iter()
        .map(|p| {
            (
                p.policy.id(),
                p.policy.display_name(),
                p.enforced_grant_controls(),
                p.enforced_session_controls(),
            )
        })
        .collect();
    serde_json::to_string(&rows).unwrap_or_default()
}

/// `authenticationRequirement`.
pub(crate) fn requirement(ev: &SignInEvent) -> &'static str {
    let mfa_step = ev
        .auth_steps
        .iter()
        .any(|s| s.succeeded && s.authentication_method.starts_with("Authenticator"));
    if mfa_step || ev.facts.as_ref().is_some_and(|f| f.has_mfa()) {
        "multiFactorAuthentication"
    } else {
        "singleFactorAuthentication"
    }
}

/// Graph `clientAppUsed` from the Conditional Access client app type.
pub(crate) fn client_app_used(ev: &SignInEvent) -> Option<&'static str> {
    ev.facts
        .as_ref()
        .and_then(|f| f.client_app_type)
        .map(|t| match t.as_str() {
            "browser" => "Browser",
            "mobileAppsAndDesktopClients" => "Mobile Apps and Desktop clients",
            _ => "Other clients",
        })
}
