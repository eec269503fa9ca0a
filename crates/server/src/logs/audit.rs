//! The audit log: one record per admin change, in Microsoft Graph's `directoryAudit`
//! shape ([`portvakt_core::audit`]), written by the admin handlers through
//! [`Change`] (or [`record`]) and read at
//! `GET /admin/v1/tenants/{tenant}/auditLogs/directoryAudits`.
//!
//! # Change first, then the record
//!
//! A handler makes its change, then writes the record of it (success or failure),
//! and answers only after that write. The two are not one transaction: the store's
//! writes are separate trait methods, and threading the record through every one of
//! them (and through the import transaction) would tie the audit log to every
//! storage call. Writing the record *first* would log changes that then fail, as
//! successes. So the order is: change, then record; and a failed record write never
//! fails the change (it already happened, and the caller must learn that it did).
//!
//! What that means: a record can be missing, never wrong. If the store refuses the
//! audit write (disk full, database locked) or the process dies between the two
//! writes, the change stands without its record; the first case is logged at
//! `error` with the whole record as JSON (it holds no secrets), so the operator can
//! recover it from the server log. A record that exists always describes a change
//! that was made (or, with `failure`, refused).
//!
//! Which tenant's log: the tenant in the request's path; instance-wide endpoints
//! (`POST /admin/v1/tenants`, `POST /admin/v1/import`) write to the `system` tenant's
//! log. A failed request for a tenant that does not exist is not recorded (there is
//! no log to put it in); neither is a request refused before it is understood (no
//! admin token, an unreadable body): those are in the server log.
//!
//! Secrets never appear: a secret's value is written as [`REDACTED`], and an import's
//! record lists names, never passwords, client secrets or TOTP secrets.

use crate::admin::auth::Admin;
use crate::error::ApiError;
use crate::state::AppState;
use portvakt_core::audit::{
    AppIdentity, DirectoryAudit, InitiatedBy, ModifiedProperty, TargetResource, UserIdentity,
};
use portvakt_core::names::SYSTEM_TENANT;
use portvakt_core::ErrorCode;
use serde::Serialize;
use serde_json::Value;

pub use portvakt_core::audit::REDACTED;

/// How long audit records are kept before the purge deletes them (days).
pub const RETENTION_DAYS: i64 = 365;

/// `loggedByService` of every record.
pub const SERVICE: &str = "Portvakt";

/// What an admin change is: Graph's `activityDisplayName`, `category` and
/// `operationType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Activity {
    /// `activityDisplayName`, e.g. `Add user`.
    pub name: &'static str,
    /// `category`, e.g. `UserManagement`.
    pub category: &'static str,
    /// `operationType`: `Add`, `Update`, `Delete`, `Assign`, `Unassign` or `Other`.
    pub operation: &'static str,
}

const fn activity(name: &'static str, category: &'static str, operation: &'static str) -> Activity {
    Activity {
        name,
        category,
        operation,
    }
}

/// `POST /tenants` (in the `system` tenant's log).
pub const ADD_TENANT: Activity = activity("Add tenant", "DirectoryManagement", "Add");
/// `POST /users`.
pub const ADD_USER: Activity = activity("Add user", "UserManagement", "Add");
/// `PATCH /users/{upn}` with `roles`.
pub const UPDATE_USER: Activity = activity("Update user", "UserManagement", "Update");
/// `PATCH /users/{upn}` with `accountEnabled: false`.
pub const DISABLE_ACCOUNT: Activity = activity("Disable account", "UserManagement", "Update");
/// `PATCH /users/{upn}` with `accountEnabled: true`.
pub const ENABLE_ACCOUNT: Activity = activity("Enable account", "UserManagement", "Update");
/// `POST /users/{upn}/revoke-sessions`.
pub const REVOKE_SESSIONS: Activity = activity("Revoke user sessions", "Authentication", "Update");
/// `POST /users/{upn}/reset-mfa`.
pub const RESET_MFA: Activity = activity("Reset MFA", "Authentication", "Update");
/// `POST /users/{upn}/reset-password` (Graph's activity is "Reset password (by admin)").
pub const RESET_PASSWORD: Activity =
    activity("Reset password (by admin)", "UserManagement", "Update");
/// `POST /groups`.
pub const ADD_GROUP: Activity = activity("Add group", "GroupManagement", "Add");
/// `POST /groups/{id}/members/$ref` (Graph's name).
pub const ADD_MEMBER: Activity = activity("Add member to group", "GroupManagement", "Add");
/// `DELETE /groups/{id}/members/{user}/$ref` (Graph's name).
pub const REMOVE_MEMBER: Activity =
    activity("Remove member from group", "GroupManagement", "Delete");
/// `POST /applications` (the secret is [`REDACTED`]).
pub const ADD_APPLICATION: Activity = activity("Add application", "ApplicationManagement", "Add");
/// `POST /applications/{id}/admin-consent`.
pub const CONSENT_TO_APPLICATION: Activity =
    activity("Consent to application", "ApplicationManagement", "Assign");
/// `DELETE /applications/{id}/admin-consent`.
pub const REVOKE_CONSENT: Activity = activity(
    "Revoke consent to application",
    "ApplicationManagement",
    "Unassign",
);
/// `POST /resources`.
pub const ADD_RESOURCE: Activity = activity("Add resource", "ApplicationManagement", "Add");
/// `POST /keys/rotate`.
pub const ROTATE_KEYS: Activity = activity("Rotate signing keys", "KeyManagement", "Update");
/// `POST /admin/v1/import` (in the `system` tenant's log).
pub const IMPORT_DIRECTORY: Activity = activity("Import directory", "DirectoryManagement", "Other");
/// `POST …/conditionalAccess/policies`.
pub const ADD_POLICY: Activity = activity("Add conditional access policy", "Policy", "Add");
/// `PATCH …/conditionalAccess/policies/{id}`.
pub const UPDATE_POLICY: Activity =
    activity("Update conditional access policy", "Policy", "Update");
/// `DELETE …/conditionalAccess/policies/{id}`.
pub const DELETE_POLICY: Activity =
    activity("Delete conditional access policy", "Policy", "Delete");
/// `POST …/conditionalAccess/namedLocations`.
pub const ADD_NAMED_LOCATION: Activity = activity("Add named location", "Policy", "Add");
/// `PATCH …/conditionalAccess/namedLocations/{id}`.
pub const UPDATE_NAMED_LOCATION: Activity = activity("Update named location", "Policy", "Update");
/// `DELETE …/conditionalAccess/namedLocations/{id}`.
pub const DELETE_NAMED_LOCATION: Activity = activity("Delete named location", "Policy", "Delete");
/// `POST …/conditionalAccess/import`.
pub const IMPORT_CONDITIONAL_ACCESS: Activity =
    activity("Import conditional access policies", "Policy", "Other");

/// Every activity the admin API records.
pub const ALL: &[Activity] = &[
    ADD_TENANT,
    ADD_USER,
    UPDATE_USER,
    DISABLE_ACCOUNT,
    ENABLE_ACCOUNT,
    REVOKE_SESSIONS,
    RESET_MFA,
    RESET_PASSWORD,
    ADD_GROUP,
    ADD_MEMBER,
    REMOVE_MEMBER,
    ADD_APPLICATION,
    CONSENT_TO_APPLICATION,
    REVOKE_CONSENT,
    ADD_RESOURCE,
    ROTATE_KEYS,
    IMPORT_DIRECTORY,
    ADD_POLICY,
    UPDATE_POLICY,
    DELETE_POLICY,
    ADD_NAMED_LOCATION,
    UPDATE_NAMED_LOCATION,
    DELETE_NAMED_LOCATION,
    IMPORT_CONDITIONAL_ACCESS,
];

/// A target (`targetResources[]`) without modified properties yet. `kind`: `User`,
/// `Group`, `Application`, `Resource`, `Policy`, `NamedLocation`, `Key`, `Tenant`.
pub fn target(kind: &str, id: &str, display_name: &str) -> TargetResource {
    TargetResource {
        id: id.to_string(),
        display_name: display_name.to_string(),
        kind: kind.to_string(),
        modified_properties: Vec::new(),
    }
}

/// A value as JSON text, Graph's convention for `oldValue` / `newValue` (`()` and
/// `None` are `null`).
pub fn json_text(v: impl Serialize) -> String {
    serde_json::to_string(&v).unwrap_or_else(|_| "null".into())
}

/// A modified property with its old and new values (any serializable value; `()`
/// for none).
pub fn prop(name: &str, old: impl Serialize, new: impl Serialize) -> ModifiedProperty {
    ModifiedProperty {
        display_name: name.to_string(),
        old_value: json_text(old),
        new_value: json_text(new),
    }
}

/// A secret that was set: both values are [`REDACTED`] (whether it had one before is
/// not the log's business either).
pub fn secret(name: &str) -> ModifiedProperty {
    ModifiedProperty {
        display_name: name.to_string(),
        old_value: "null".into(),
        new_value: REDACTED.into(),
    }
}

/// Properties the server sets on every write: not worth a line of their own (the
/// record's `activityDateTime` says when).
const SERVER_SET: &[&str] = &["modifiedDateTime"];

/// What changed between two JSON objects (a Graph object before and after), one
/// property per changed leaf, named by its dotted path (`conditions.users.includeUsers`);
/// arrays are compared whole. A property on one side only has `null` on the other, so
/// `diff(&json!({}), new)` lists a created object's top-level properties and
/// `diff(old, &json!({}))` a deleted one's. Values are compared as JSON.
pub fn diff(old: &Value, new: &Value) -> Vec<ModifiedProperty> {
    let mut out = Vec::new();
    walk("", old, new, &mut out);
    out
}

fn walk(path: &str, old: &Value, new: &Value, out: &mut Vec<ModifiedProperty>) {
    match (old, new) {
        (Value::Object(a), Value::Object(b)) => {
            let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                if path.is_empty() && SERVER_SET.contains(&k.as_str()) {
                    continue;
                }
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                let x = a.get(k).unwrap_or(&Value::Null);
                let y = b.get(k).unwrap_or(&Value::Null);
                walk(&p, x, y, out);
            }
        }
        (a, b) if a == b => {}
        (a, b) => out.push(prop(if path.is_empty() { "$" } else { path }, a, b)),
    }
}

/// `resultReason` of a refused change: the error code, its title and the detail.
pub fn reason(e: &ApiError) -> String {
    format!("{} {}: {}", e.code.code(), e.code.title(), e.detail)
}

/// Write the record of one admin change in `tenant`'s log: `outcome` is `Ok` for a
/// change made, the error for one refused (`failure`, with [`reason`]).
///
/// Never fails: see the module documentation for why the change comes first and what
/// a failed write means. A failure in a tenant that does not exist is not recorded.
pub async fn record(
    st: &AppState,
    admin: &Admin,
    tenant: &str,
    activity: Activity,
    targets: Vec<TargetResource>,
    outcome: Result<(), &ApiError>,
) {
    if let Err(e) = outcome {
        let exists = tenant == SYSTEM_TENANT
            || (e.code != ErrorCode::TenantUnknown
                && matches!(st.store.tenant(tenant).await, Ok(Some(_))));
        if !exists {
            tracing::debug!(tenant = %tenant, activity = activity.name, "refused change in an unknown tenant; not in the audit log");
            return;
        }
    }
    let at_ms = st.clock.now_ms();
    let rec = DirectoryAudit {
        id: uuid::Uuid::new_v4().to_string(),
        activity_date_time: portvakt_core::clock::rfc3339_ms(at_ms),
        activity_display_name: activity.name.to_string(),
        category: activity.category.to_string(),
        operation_type: activity.operation.to_string(),
        initiated_by: InitiatedBy {
            app: Some(AppIdentity {
                app_id: admin.client_id.clone(),
                display_name: admin.display_name.clone(),
            }),
            user: admin.user.as_ref().map(|(id, upn)| UserIdentity {
                id: id.clone(),
                user_principal_name: upn.clone(),
                tenant: tenant.to_string(),
            }),
        },
        target_resources: targets,
        correlation_id: admin.correlation_id.clone(),
        result: if outcome.is_ok() {
            "success"
        } else {
            "failure"
        }
        .to_string(),
        result_reason: outcome.err().map(reason).unwrap_or_default(),
        logged_by_service: SERVICE.to_string(),
        tenant: tenant.to_string(),
    };
    if let Err(e) = st.store.append_audit(&rec, at_ms).await {
        tracing::error!(
            error = %e,
            correlation_id = %rec.correlation_id,
            record = %json_text(&rec),
            "the admin change was {} but its audit record could not be stored; the record is here instead",
            if rec.result == "success" { "made" } else { "refused" },
        );
    }
}

/// One admin change on its way to the log: the handler fills in the targets as it
/// learns them (on a refusal, whatever it knew by then is recorded), then passes its
/// result through [`Change::finish`].
#[derive(Debug, Clone)]
pub struct Change {
    /// The tenant whose log gets the record.
    pub tenant: String,
    /// What is being done.
    pub activity: Activity,
    /// What it is done to.
    pub targets: Vec<TargetResource>,
}

impl Change {
    /// A change of `activity` in `tenant`, no targets yet.
    pub fn new(tenant: &str, activity: Activity) -> Self {
        Self {
            tenant: tenant.to_string(),
            activity,
            targets: Vec::new(),
        }
    }

    /// A change with one target.
    pub fn of(tenant: &str, activity: Activity, target: TargetResource) -> Self {
        Self {
            targets: vec![target],
            ..Self::new(tenant, activity)
        }
    }

    /// The first target, to fill in (the id once it is known, the properties).
    pub fn first(&mut self) -> Option<&mut TargetResource> {
        self.targets.first_mut()
    }

    /// Record `result` (success or failure) and hand it back unchanged.
    pub async fn finish<T>(
        self,
        st: &AppState,
        admin: &Admin,
        result: Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        let outcome = result.as_ref().map(|_| ());
        record(
            st,
            admin,
            &self.tenant,
            self.activity,
            self.targets,
            outcome,
        )
        .await;
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn names(p: &[ModifiedProperty]) -> Vec<(&str, &str, &str)> {
        p.iter()
            .map(|m| {
                (
                    m.display_name.as_str(),
                    m.old_value.as_str(),
                    m.new_value.as_str(),
                )
            })
            .collect()
    }

    #[test]
    fn diff_names_changed_leaves_with_json_values() {
        let old = json!({"state": "enabled", "modifiedDateTime": "a",
            "conditions": {"users": {"includeUsers": ["All"], "excludeUsers": []}}});
        let new = json!({"state": "disabled", "modifiedDateTime": "b",
            "conditions": {"users": {"includeUsers": ["All"], "excludeUsers": ["u1"]}}});
        assert_eq!(
            names(&diff(&old, &new)),
            [
                ("conditions.users.excludeUsers", "[]", "[\"u1\"]"),
                ("state", "\"enabled\"", "\"disabled\""),
            ]
        );
        assert!(diff(&old, &old).is_empty());
    }

    #[test]
    fn diff_against_nothing_lists_top_level_properties() {
        let p = json!({"displayName": "P", "conditions": {"a": 1}});
        assert_eq!(
            names(&diff(&json!({}), &p)),
            [
                ("conditions", "null", "{\"a\":1}"),
                ("displayName", "null", "\"P\""),
            ]
        );
        assert_eq!(
            names(&diff(&p, &json!({})))[1],
            ("displayName", "\"P\"", "null")
        );
    }

    #[test]
    fn secrets_are_redacted() {
        let s = secret("clientSecret");
        assert_eq!(s.new_value, REDACTED);
        assert_eq!(
            serde_json::from_str::<String>(&s.new_value).ok().as_deref(),
            Some("[redacted]"),
            "still JSON text, as Graph's values are"
        );
    }

    #[test]
    fn activity_names_are_distinct() {
        let mut n: Vec<&str> = ALL.iter().map(|a| a.name).collect();
        n.sort();
        n.dedup();
        assert_eq!(n.len(), ALL.len());
    }
}
