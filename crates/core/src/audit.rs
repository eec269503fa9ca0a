//! The audit log's record: one admin change, shaped like Microsoft Graph's
//! `directoryAudit` (`activityDateTime`, `activityDisplayName`, `category`,
//! `initiatedBy`, `targetResources` with `modifiedProperties`, `correlationId`,
//! `result`). Secrets never appear in it: a changed secret's values are written as
//! `"[redacted]"`.

use serde::{Deserialize, Serialize};

/// One admin change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DirectoryAudit {
    /// Unique id.
    pub id: String,
    /// When, RFC 3339 (Graph's type); the store also keeps it in milliseconds.
    pub activity_date_time: String,
    /// What was done, e.g. `Add user`, `Update conditional access policy`.
    pub activity_display_name: String,
    /// Graph's categories: `UserManagement`, `GroupManagement`,
    /// `ApplicationManagement`, `Policy`, `KeyManagement`, `DirectoryManagement`,
    /// `Authentication` (MFA resets, session revocation).
    pub category: String,
    /// `Add`, `Update`, `Delete`, `Assign`, `Unassign`, `Other`.
    pub operation_type: String,
    /// Who did it.
    pub initiated_by: InitiatedBy,
    /// What it was done to.
    pub target_resources: Vec<TargetResource>,
    /// The correlation id of the admin request.
    pub correlation_id: String,
    /// `success` or `failure`.
    pub result: String,
    /// Why it failed (the error code and reason), empty on success.
    pub result_reason: String,
    /// Always `Portvakt`.
    pub logged_by_service: String,
    /// The tenant's name (`system` for instance-wide changes such as tenant creation).
    pub tenant: String,
}

/// Graph `auditActivityInitiator`: an app (the admin API's client) or a user (the
/// portal's admin).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InitiatedBy {
    /// The client that called the admin API.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app: Option<AppIdentity>,
    /// The signed-in admin, when a person acted (the portal).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<UserIdentity>,
}

/// Graph `appIdentity`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppIdentity {
    /// The client id.
    pub app_id: String,
    /// Its name.
    pub display_name: String,
}

/// Graph `userIdentity`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserIdentity {
    /// User id.
    pub id: String,
    /// UPN.
    pub user_principal_name: String,
    /// The user's tenant.
    pub tenant: String,
}

/// Graph `targetResource`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TargetResource {
    /// Its id (user id, client id, policy id, kid, …).
    pub id: String,
    /// Its name.
    pub display_name: String,
    /// `User`, `Group`, `Application`, `Resource`, `Policy`, `NamedLocation`,
    /// `Key`, `Tenant`.
    #[serde(rename = "type")]
    pub kind: String,
    /// What changed.
    pub modified_properties: Vec<ModifiedProperty>,
}

/// Graph `modifiedProperty`: old and new values as JSON text (Graph's convention).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ModifiedProperty {
    /// The property.
    pub display_name: String,
    /// Its old value, JSON (`null` when created).
    pub old_value: String,
    /// Its new value, JSON (`null` when deleted).
    pub new_value: String,
}

/// What stands for a secret's value in the audit log.
pub const REDACTED: &str = "\"[redacted]\"";
