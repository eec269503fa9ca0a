//! The entities Portvakt stores. Field names follow Microsoft Graph where Graph has
//! the same concept (`userPrincipalName`, `accountEnabled`, `displayName`).

use portvakt_jose::Algorithm;
use serde::{Deserialize, Serialize};

/// Default access-token lifetime when nothing overrides it.
pub const DEFAULT_ACCESS_TOKEN_LIFETIME: u32 = 3600;

/// A tenant: one issuer with its own users, applications, resources and keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Tenant {
    /// Stable id (UUID).
    pub id: String,
    /// URL name; the issuer is `{public_url}/{name}`.
    pub name: String,
    /// Human name.
    pub display_name: String,
    /// Algorithm new signing keys use.
    #[schema(value_type = String, example = "ES256")]
    pub signing_algorithm: Algorithm,
    /// Tenant-wide access-token lifetime override, seconds.
    pub access_token_lifetime_seconds: Option<u32>,
}

/// A group of users.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Group {
    /// Stable id (UUID).
    pub id: String,
    /// Name, unique within the tenant.
    pub display_name: String,
}

/// A user account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct User {
    /// Stable id (UUID); the `sub` of the user's tokens.
    pub id: String,
    /// Sign-in name, unique within the tenant.
    pub user_principal_name: String,
    /// Human name.
    pub display_name: String,
    /// Disabled accounts cannot sign in.
    pub account_enabled: bool,
    /// Names of the groups the user belongs to.
    pub groups: Vec<String>,
    /// Ids of the same groups, sorted (what Conditional Access matches).
    #[serde(skip)]
    #[schema(ignore)]
    pub group_ids: Vec<String>,
    /// The user's roles in the tenant (role names, e.g. `admin`).
    #[serde(default)]
    pub roles: Vec<String>,
    /// Whether a TOTP authenticator is registered.
    #[serde(default)]
    pub mfa_registered: bool,
    /// When the password was last changed (the `passwordChange` control). Never
    /// serialized.
    #[serde(skip)]
    #[schema(ignore)]
    pub password_changed_at: Option<i64>,
    /// Argon2id PHC string; never serialized.
    #[serde(skip)]
    #[schema(ignore)]
    pub password_hash: Option<String>,
    /// Sign-ins at or before this instant are revoked (see [`User::revoked`]). Never serialized.
    #[serde(skip)]
    #[schema(ignore)]
    pub tokens_valid_from: i64,
}

impl User {
    /// Were the sign-ins at `auth_time` revoked (by `revoke-sessions`)? A revocation
    /// at second T covers every sign-in at or before T.
    pub fn revoked(&self, auth_time: i64) -> bool {
        sign_in_revoked(self.tokens_valid_from, auth_time)
    }
}

/// Is a sign-in at `auth_time` revoked by a `revoke-sessions` at `tokens_valid_from`
/// (0 = never)? A revocation at second T covers every sign-in at or before T.
pub fn sign_in_revoked(tokens_valid_from: i64, auth_time: i64) -> bool {
    tokens_valid_from > 0 && auth_time <= tokens_valid_from
}

/// A role a tenant defines: users hold roles by name; Conditional Access's
/// `includeRoles` / `excludeRoles` name them by `templateId` (an Entra role template
/// id, e.g. Global Administrator `62e90394-69f5-4237-9190-012177145e10`) or name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Role {
    /// The name users hold it by (`admin`).
    pub name: String,
    /// The Entra role template id it stands for, if any.
    #[serde(default)]
    pub template_id: Option<String>,
}

impl Role {
    /// The id Conditional Access knows the role by: its template id, else its name.
    pub fn policy_id(&self) -> &str {
        self.template_id.as_deref().unwrap_or(&self.name)
    }
}

/// The role every tenant has: its holders may use the admin portal.
pub const ADMIN_ROLE: &str = "admin";

/// A protected resource (an API): the audience of access tokens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Resource {
    /// Absolute URI; the `aud` of its tokens.
    pub identifier: String,
    /// Human name.
    pub display_name: String,
    /// Scopes it defines (plain names, e.g. `Onboarding.ReadWrite`).
    pub scopes: Vec<String>,
    /// Lifetime override for tokens to this resource, seconds.
    pub access_token_lifetime_seconds: Option<u32>,
    /// Put the user's groups into its access tokens (`groups` claim).
    #[serde(default)]
    pub group_claims: bool,
    /// Client ids of the resource servers that may introspect its access tokens
    /// (RFC 7662 §4). The client a token was issued to may always introspect it.
    #[serde(default)]
    pub introspection_clients: Vec<String>,
}

/// A client application.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Application {
    /// The OAuth client id, unique within the tenant.
    pub client_id: String,
    /// Human name.
    pub display_name: String,
    /// SHA-256 of the client secret; `None` for a public client. Never serialized.
    #[serde(skip)]
    #[schema(ignore)]
    pub secret_sha256: Option<[u8; 32]>,
    /// Whether it has a secret (a confidential client).
    #[serde(default)]
    pub confidential: bool,
    /// Grants it may use (`client_credentials`, ...).
    pub grant_types: Vec<String>,
    /// Registered redirect URIs, matched exactly.
    pub redirect_uris: Vec<String>,
    /// Scopes it may receive: `{resource}/{scope}` or `{resource}/.default`.
    pub allowed_scopes: Vec<String>,
    /// Lifetime override for its tokens, seconds.
    pub access_token_lifetime_seconds: Option<u32>,
    /// An administrator consented for every user of the tenant.
    #[serde(default)]
    pub admin_consented: bool,
    /// Absolute lifetime of its refresh-token families, seconds (default 90 days).
    #[serde(default)]
    pub refresh_token_lifetime_seconds: Option<u32>,
}

/// Grant types Portvakt implements.
pub const SUPPORTED_GRANT_TYPES: &[&str] = &[
    "client_credentials",
    "authorization_code",
    "refresh_token",
    DEVICE_CODE_GRANT,
];

/// The grant type of RFC 8628 §3.4.
pub const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// Lifecycle of a signing key, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SigningKeyInfo {
    /// Key id.
    pub kid: String,
    /// Algorithm.
    #[schema(value_type = String, example = "ES256")]
    pub algorithm: Algorithm,
    /// When it was created (and published in the JWKS).
    pub created_at: i64,
    /// From when it signs.
    pub active_from: i64,
    /// When a successor took over (it stops signing then), if rotated.
    pub retired_at: Option<i64>,
    /// Until when it stays in the JWKS after retirement: every token it signed has
    /// expired by then.
    pub published_until: Option<i64>,
}

impl SigningKeyInfo {
    /// Is the key in the JWKS at `now`?
    pub fn is_published(&self, now: i64) -> bool {
        self.published_until.is_none_or(|t| now < t)
    }
    /// Does the key sign at `now`?
    pub fn is_signing(&self, now: i64) -> bool {
        self.active_from <= now && self.retired_at.is_none_or(|t| now < t)
    }
    /// `published`, `signing`, `retired` or `removed`, for people.
    pub fn state(&self, now: i64) -> &'static str {
        if self.is_signing(now) {
            "signing"
        } else if now < self.active_from {
            "published (not signing yet)"
        } else if self.is_published(now) {
            "retired (still published)"
        } else {
            "removed"
        }
    }
}
