//! The admin REST API, `/admin/v1/…`. JSON in Microsoft Graph's shapes where Graph
//! has the concept (collections as `{"value": [...]}`, `userPrincipalName`,
//! `accountEnabled`). Every handler requires an [`auth::Admin`] token.

pub mod audit_logs;
pub mod auth;
pub mod body;
pub mod conditional_access;
pub mod diagnose;
pub mod openapi;
pub mod replay;
pub mod signins;

use crate::audit::{self, prop, secret, target, Change};
use crate::discovery::unknown_tenant;
use crate::error::ApiError;
use crate::keys::{create_key, initial_keys, published_until};
use crate::state::AppState;
use crate::{import, password};
use auth::Admin;
use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::routing::{get, patch, post};
use axum::{Json, Router};
use body::{read_json, JsonBody};
use portvakt_core::import::{
    ApplicationSpec, GroupSpec, ImportFile, ResourceSpec, TenantSpec, UserSpec,
};
use portvakt_core::model::{Application, Group, Resource, SigningKeyInfo, Tenant, User};
use portvakt_core::names::{validate_tenant_name, SYSTEM_TENANT};
use portvakt_core::ErrorCode;
use portvakt_jose::Algorithm;
use portvakt_store::{Directory, ImportSummary, NewUser};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Largest import file accepted over HTTP.
pub const IMPORT_LIMIT: usize = 8 * 1024 * 1024;

/// The admin router (mounted at the root; paths carry `/admin/v1`).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/v1/openapi.json", get(openapi::openapi_json))
        .route("/admin/v1/tenants", get(list_tenants).post(create_tenant))
        .route("/admin/v1/tenants/{tenant}", get(get_tenant))
        .route(
            "/admin/v1/tenants/{tenant}/auditLogs/directoryAudits",
            get(audit_logs::directory_audits),
        )
        .route(
            "/admin/v1/tenants/{tenant}/users",
            get(list_users).post(create_user),
        )
        .route("/admin/v1/tenants/{tenant}/users/{upn}", patch(update_user))
        .route(
            "/admin/v1/tenants/{tenant}/users/{upn}/revoke-sessions",
            post(revoke_sessions),
        )
        .route(
            "/admin/v1/tenants/{tenant}/users/{upn}/reset-password",
            post(reset_password),
        )
        .route(
            "/admin/v1/tenants/{tenant}/users/{upn}/reset-mfa",
            post(reset_mfa),
        )
        .route(
            "/admin/v1/tenants/{tenant}/identity/conditionalAccess/import",
            post(conditional_access::import),
        )
        .route(
            "/admin/v1/tenants/{tenant}/applications/{client_id}/admin-consent",
            post(grant_admin_consent).delete(withdraw_admin_consent),
        )
        .route(
            "/admin/v1/tenants/{tenant}/groups",
            get(list_groups).post(create_group),
        )
        .route(
            "/admin/v1/tenants/{tenant}/groups/{group_id}/members/$ref",
            post(add_group_member),
        )
        .route(
            "/admin/v1/tenants/{tenant}/groups/{group_id}/members/{user}/$ref",
            axum::routing::delete(remove_group_member),
        )
        .route(
            "/admin/v1/tenants/{tenant}/applications",
            get(list_apps).post(create_app),
        )
        .route(
            "/admin/v1/tenants/{tenant}/resources",
            get(list_resources).post(create_resource),
        )
        .route("/admin/v1/tenants/{tenant}/keys", get(list_keys))
        .route("/admin/v1/tenants/{tenant}/keys/rotate", post(rotate_keys))
        .route("/admin/v1/import", post(import_file))
        .route(
            "/admin/v1/tenants/{tenant}/identity/conditionalAccess/policies",
            get(conditional_access::list_policies).post(conditional_access::create_policy),
        )
        .route(
            "/admin/v1/tenants/{tenant}/identity/conditionalAccess/policies/{id}",
            get(conditional_access::get_policy)
                .patch(conditional_access::update_policy)
                .delete(conditional_access::delete_policy),
        )
        .route(
            "/admin/v1/tenants/{tenant}/identity/conditionalAccess/namedLocations",
            get(conditional_access::list_locations).post(conditional_access::create_location),
        )
        .route(
            "/admin/v1/tenants/{tenant}/identity/conditionalAccess/namedLocations/{id}",
            get(conditional_access::get_location)
                .patch(conditional_access::update_location)
                .delete(conditional_access::delete_location),
        )
        .route(
            "/admin/v1/tenants/{tenant}/identity/conditionalAccess/evaluate",
            post(conditional_access::evaluate),
        )
        .route(
            "/admin/v1/tenants/{tenant}/identity/conditionalAccess/replay",
            post(replay::replay),
        )
        .route(
            "/admin/v1/tenants/{tenant}/diagnose",
            post(diagnose::diagnose),
        )
        .route(
            "/admin/v1/tenants/{tenant}/auditLogs/signIns",
            get(signins::list_signins),
        )
        .route(
            "/admin/v1/tenants/{tenant}/auditLogs/signIns/{id}",
            get(signins::get_signin),
        )
}

/// A collection, in Graph's shape.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct List<T> {
    /// The items.
    pub value: Vec<T>,
}

/// A tenant as the admin API shows it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TenantOut {
    /// The tenant.
    #[serde(flatten)]
    pub tenant: Tenant,
    /// Its issuer URL.
    pub issuer: String,
}

/// Body of `POST /tenants`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateTenant {
    /// URL name.
    pub name: String,
    /// Human name.
    #[serde(default)]
    pub display_name: Option<String>,
    /// `ES256` (default), `EdDSA` or `RS256`.
    #[serde(default)]
    pub signing_algorithm: Option<String>,
    /// Lifetime override, seconds.
    #[serde(default, deserialize_with = "portvakt_core::import::whole_number")]
    pub access_token_lifetime_seconds: Option<u64>,
}

/// Body of `PATCH /users/{upn}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateUser {
    /// Enable or disable the account.
    #[serde(default)]
    pub account_enabled: Option<bool>,
    /// Replace the user's roles (role names: `admin` or a role of the tenant).
    #[serde(default)]
    pub roles: Option<Vec<String>>,
}

/// Body of `POST /applications`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateApplication {
    /// Client id; generated when absent.
    #[serde(default)]
    pub client_id: Option<String>,
    /// Human name.
    pub display_name: String,
    /// Confidential (gets a generated secret, the default) or public.
    #[serde(default = "yes")]
    pub confidential: bool,
    /// Grant types.
    #[serde(default)]
    pub grant_types: Vec<String>,
    /// Redirect URIs.
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    /// `{resource}/{scope}` or `{resource}/.default`.
    #[serde(default)]
    pub allowed_scopes: Vec<String>,
    /// Lifetime override, seconds.
    #[serde(default, deserialize_with = "portvakt_core::import::whole_number")]
    pub access_token_lifetime_seconds: Option<u64>,
    /// Tenant-wide consent: users are not asked.
    #[serde(default)]
    pub admin_consented: bool,
    /// Absolute lifetime of refresh-token families, seconds.
    #[serde(default, deserialize_with = "portvakt_core::import::whole_number")]
    pub refresh_token_lifetime_seconds: Option<u64>,
}

fn yes() -> bool {
    true
}

/// Response of `POST /applications`: the secret appears here once only.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatedApplication {
    /// The application.
    #[serde(flatten)]
    pub application: Application,
    /// The generated secret (confidential clients); store it now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
}

/// A signing key as the admin API shows it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct KeyOut {
    /// Lifecycle.
    #[serde(flatten)]
    pub info: SigningKeyInfo,
    /// `signing`, `published (not signing yet)`, `retired (still published)`, `removed`.
    pub state: String,
}

/// Body of `POST /keys/rotate`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RotateKeys {
    /// Seconds the new key is published before it signs (default 60, the JWKS
    /// `max-age`, so every reader that honours caching headers knows it in time).
    #[serde(default, deserialize_with = "portvakt_core::import::whole_number")]
    pub prepublish_seconds: Option<u64>,
    /// Algorithm of the new key (default: the tenant's).
    #[serde(default)]
    pub algorithm: Option<String>,
}

/// Response of `POST /keys/rotate`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Rotated {
    /// The new key of the tenant's algorithm (it signs access tokens).
    pub key: KeyOut,
    /// New keys of the other algorithms in use (RS256 for ID tokens).
    pub also: Vec<KeyOut>,
    /// The keys it replaces, with the time each stays published until.
    pub retiring: Vec<KeyOut>,
}

/// The user `upn` of a tenant, or 404.
async fn existing_user(st: &AppState, tenant_id: &str, upn: &str) -> Result<User, ApiError> {
    st.store.user_by_upn(tenant_id, upn).await?.ok_or_else(|| {
        ApiError::new(
            ErrorCode::EntityNotFound,
            format!("user '{upn}' does not exist"),
        )
    })
}

/// The tenant's directory as the token path sees it (the portal's built-in client
/// included, so policies may name it).
pub(crate) async fn directory(st: &AppState, tenant: &str) -> Result<Directory, ApiError> {
    let mut d = st
        .store
        .directory(tenant)
        .await?
        .ok_or_else(|| unknown_tenant(tenant))?;
    crate::portal::with_portal_app(&mut d, &st.config);
    Ok(d)
}

/// Run the import validator over a one-object tenant spec, reporting paths relative
/// to the request body.
fn validate_spec(spec: &TenantSpec, prefix: &str) -> Result<(), ApiError> {
    let problems = portvakt_core::import::validate(&ImportFile {
        tenants: vec![spec.clone()],
    });
    if problems.is_empty() {
        return Ok(());
    }
    let msg = problems
        .iter()
        .map(|p| p.replacen(prefix, "$", 1))
        .collect::<Vec<_>>()
        .join("; ");
    Err(ApiError::new(ErrorCode::InvalidInput, msg))
}

/// The name a tenant's new users and groups are validated under: the system tenant's
/// name is reserved, so its own are checked under a stand-in name, by the same rules
/// as every other tenant's (user principal name, password, ids).
fn checked_name(d: &Directory) -> &str {
    if d.tenant.name == SYSTEM_TENANT {
        "system-users"
    } else {
        d.tenant.name.as_str()
    }
}

fn empty_spec(name: &str) -> TenantSpec {
    TenantSpec {
        name: name.into(),
        display_name: None,
        signing_algorithm: None,
        access_token_lifetime_seconds: None,
        groups: vec![],
        users: vec![],
        resources: vec![],
        applications: vec![],
        roles: vec![],
        named_locations: vec![],
        conditional_access_policies: vec![],
    }
}

fn key_out(info: SigningKeyInfo, now: i64) -> KeyOut {
    KeyOut {
        state: info.state(now).to_string(),
        info,
    }
}

#[utoipa::path(get, path = "/admin/v1/tenants", tag = "tenants", responses((status = 200, body = List<TenantOut>)), security(("bearer" = [])))]
/// List tenants.
pub async fn list_tenants(
    _: Admin,
    State(st): State<AppState>,
) -> Result<Json<List<TenantOut>>, ApiError> {
    let value = st
        .store
        .list_tenants()
        .await?
        .into_iter()
        .map(|t| TenantOut {
            issuer: st.config.issuer(&t.name),
            tenant: t,
        })
        .collect();
    Ok(Json(List { value }))
}

#[utoipa::path(post, path = "/admin/v1/tenants", tag = "tenants", request_body = CreateTenant, responses((status = 201, body = TenantOut), (status = 409, description = "name taken")), security(("bearer" = [])))]
/// Create a tenant with its first signing key.
pub async fn create_tenant(
    admin: Admin,
    State(st): State<AppState>,
    JsonBody(body): JsonBody<CreateTenant>,
) -> Result<(StatusCode, Json<TenantOut>), ApiError> {
    let mut change = Change::of(
        SYSTEM_TENANT,
        audit::ADD_TENANT,
        target("Tenant", "", &body.name),
    );
    let r = create_tenant_in(&st, body, &mut change).await;
    change.finish(&st, &admin, r).await
}

async fn create_tenant_in(
    st: &AppState,
    body: CreateTenant,
    change: &mut Change,
) -> Result<(StatusCode, Json<TenantOut>), ApiError> {
    validate_tenant_name(&body.name)
        .map_err(|e| ApiError::new(ErrorCode::TenantNameInvalid, e.detail))?;
    let mut spec = empty_spec(&body.name);
    spec.signing_algorithm = body.signing_algorithm.clone();
    spec.access_token_lifetime_seconds = body.access_token_lifetime_seconds;
    validate_spec(&spec, "$.tenants[0]")?;
    let alg: Algorithm = body
        .signing_algorithm
        .as_deref()
        .unwrap_or("ES256")
        .parse()
        .map_err(|e: String| ApiError::new(ErrorCode::InvalidInput, e))?;
    let now = st.clock.now();
    let tenant = Tenant {
        id: uuid::Uuid::new_v4().to_string(),
        display_name: body.display_name.unwrap_or_else(|| body.name.clone()),
        name: body.name,
        signing_algorithm: alg,
        access_token_lifetime_seconds: body.access_token_lifetime_seconds.map(|v| v as u32),
    };
    let keys = initial_keys(alg, &st.master, now)?;
    st.store.create_tenant(&tenant, &keys, now).await?;
    st.directory.invalidate(&tenant.name);
    if let Some(t) = change.first() {
        t.id = tenant.id.clone();
        t.modified_properties = vec![
            prop("displayName", (), &tenant.display_name),
            prop("signingAlgorithm", (), tenant.signing_algorithm.as_str()),
            prop(
                "accessTokenLifetimeSeconds",
                (),
                tenant.access_token_lifetime_seconds,
            ),
        ];
    }
    Ok((
        StatusCode::CREATED,
        Json(TenantOut {
            issuer: st.config.issuer(&tenant.name),
            tenant,
        }),
    ))
}

#[utoipa::path(get, path = "/admin/v1/tenants/{tenant}", tag = "tenants", params(("tenant" = String, Path)), responses((status = 200, body = TenantOut), (status = 404)), security(("bearer" = [])))]
/// One tenant.
pub async fn get_tenant(
    _: Admin,
    State(st): State<AppState>,
    Path(tenant): Path<String>,
) -> Result<Json<TenantOut>, ApiError> {
    let t = st
        .store
        .tenant(&tenant)
        .await?
        .ok_or_else(|| unknown_tenant(&tenant))?;
    Ok(Json(TenantOut {
        issuer: st.config.issuer(&t.name),
        tenant: t,
    }))
}

#[utoipa::path(get, path = "/admin/v1/tenants/{tenant}/users", tag = "users", params(("tenant" = String, Path)), responses((status = 200, body = List<User>)), security(("bearer" = [])))]
/// List users.
pub async fn list_users(
    _: Admin,
    State(st): State<AppState>,
    Path(tenant): Path<String>,
) -> Result<Json<List<User>>, ApiError> {
    let d = directory(&st, &tenant).await?;
    Ok(Json(List {
        value: st.store.list_users(&d.tenant.id).await?,
    }))
}

#[utoipa::path(post, path = "/admin/v1/tenants/{tenant}/users", tag = "users", params(("tenant" = String, Path)), request_body = UserSpec, responses((status = 201, body = User), (status = 409, description = "a user with that user principal name or id exists")), security(("bearer" = [])))]
/// Create a user (`userPrincipalName`, `displayName`, `password`, `accountEnabled`).
pub async fn create_user(
    admin: Admin,
    State(st): State<AppState>,
    Path(tenant): Path<String>,
    JsonBody(body): JsonBody<UserSpec>,
) -> Result<(StatusCode, Json<User>), ApiError> {
    let mut change = Change::of(
        &tenant,
        audit::ADD_USER,
        target("User", "", &body.user_principal_name),
    );
    let r = create_user_in(&st, &tenant, body, &mut change).await;
    change.finish(&st, &admin, r).await
}

async fn create_user_in(
    st: &AppState,
    tenant: &str,
    body: UserSpec,
    change: &mut Change,
) -> Result<(StatusCode, Json<User>), ApiError> {
    let d = directory(st, tenant).await?;
    if !body.groups.is_empty() {
        return Err(ApiError::new(
            ErrorCode::InvalidInput,
            "$.groups: group memberships are set by import for now",
        ));
    }
    let mut spec = empty_spec(checked_name(&d));
    // The tenant's roles, which the user's may name.
    spec.roles = d.roles.clone();
    spec.users.push(body.clone());
    validate_spec(&spec, "$.tenants[0].users[0]")?;
    let has_password = body.password.is_some();
    let password_hash = match body.password {
        Some(p) => Some(password::hash(p).await?),
        None => None,
    };
    let u = NewUser {
        // The user's own id (an Entra object id, say), as an import keeps it.
        id: body
            .id
            .clone()
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
        display_name: body
            .display_name
            .unwrap_or_else(|| body.user_principal_name.clone()),
        user_principal_name: body.user_principal_name,
        password_hash,
        account_enabled: body.account_enabled,
        roles: body.roles.clone(),
        totp_sealed: None,
    };
    st.store
        .create_user(&d.tenant.id, &u, st.clock.now())
        .await?;
    let user = st
        .store
        .user_by_upn(&d.tenant.id, &u.user_principal_name)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::Internal, "user vanished after creation"))?;
    if let Some(t) = change.first() {
        t.id = user.id.clone();
        t.modified_properties = vec![
            prop("userPrincipalName", (), &user.user_principal_name),
            prop("displayName", (), &user.display_name),
            prop("accountEnabled", (), user.account_enabled),
            prop("roles", (), &user.roles),
        ];
        if has_password {
            t.modified_properties.push(secret("password"));
        }
    }
    Ok((StatusCode::CREATED, Json(user)))
}

#[utoipa::path(patch, path = "/admin/v1/tenants/{tenant}/users/{upn}", tag = "users", params(("tenant" = String, Path), ("upn" = String, Path)), request_body = UpdateUser, responses((status = 200, body = User), (status = 404)), security(("bearer" = [])))]
/// Enable or disable a user, or set their roles. Each is its own audit record
/// (`Update user` for the roles, `Enable account` / `Disable account`), as in Graph.
pub async fn update_user(
    admin: Admin,
    State(st): State<AppState>,
    Path((tenant, upn)): Path<(String, String)>,
    JsonBody(body): JsonBody<UpdateUser>,
) -> Result<Json<User>, ApiError> {
    if let Some(roles) = body.roles {
        let mut change = Change::of(&tenant, audit::UPDATE_USER, target("User", "", &upn));
        let r = set_roles(&st, &tenant, &upn, roles, &mut change).await;
        change.finish(&st, &admin, r).await?;
    }
    if let Some(enabled) = body.account_enabled {
        let activity = if enabled {
            audit::ENABLE_ACCOUNT
        } else {
            audit::DISABLE_ACCOUNT
        };
        let mut change = Change::of(&tenant, activity, target("User", "", &upn));
        let r = set_enabled(&st, &tenant, &upn, enabled, &mut change).await;
        change.finish(&st, &admin, r).await?;
    }
    let d = directory(&st, &tenant).await?;
    let user = existing_user(&st, &d.tenant.id, &upn).await?;
    Ok(Json(user))
}

/// Fill in a user target from the user as they were before the change.
fn user_target(change: &mut Change, user: &User, property: portvakt_core::audit::ModifiedProperty) {
    if let Some(t) = change.first() {
        t.id = user.id.clone();
        t.display_name = user.user_principal_name.clone();
        t.modified_properties = vec![property];
    }
}

async fn set_roles(
    st: &AppState,
    tenant: &str,
    upn: &str,
    roles: Vec<String>,
    change: &mut Change,
) -> Result<(), ApiError> {
    let d = directory(st, tenant).await?;
    let before = existing_user(st, &d.tenant.id, upn).await?;
    for (i, r) in roles.iter().enumerate() {
        if r != portvakt_core::model::ADMIN_ROLE && !d.roles.iter().any(|x| &x.name == r) {
            return Err(ApiError::new(
                ErrorCode::InvalidInput,
                format!("$.roles[{i}]: '{}' is not a role of this tenant (define it by import, or use 'admin')", r.escape_default()),
            ));
        }
    }
    st.store.set_user_roles(&d.tenant.id, upn, &roles).await?;
    st.directory.invalidate(&d.tenant.name);
    user_target(change, &before, prop("roles", &before.roles, &roles));
    Ok(())
}

async fn set_enabled(
    st: &AppState,
    tenant: &str,
    upn: &str,
    enabled: bool,
    change: &mut Change,
) -> Result<(), ApiError> {
    let d = directory(st, tenant).await?;
    let before = existing_user(st, &d.tenant.id, upn).await?;
    st.store
        .set_account_enabled(&d.tenant.id, upn, enabled)
        .await?;
    user_target(
        change,
        &before,
        prop("accountEnabled", before.account_enabled, enabled),
    );
    Ok(())
}

/// Response of `revoke-sessions`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionsRevoked {
    /// The user.
    pub user_principal_name: String,
    /// Tokens and sessions from before this instant no longer work.
    pub revoked_at: i64,
}

#[utoipa::path(post, path = "/admin/v1/tenants/{tenant}/users/{upn}/revoke-sessions", tag = "users", params(("tenant" = String, Path), ("upn" = String, Path)), responses((status = 200, body = SessionsRevoked), (status = 404)), security(("bearer" = [])))]
/// Invalidate every refresh token and browser session of a user at once.
pub async fn revoke_sessions(
    admin: Admin,
    State(st): State<AppState>,
    Path((tenant, upn)): Path<(String, String)>,
) -> Result<Json<SessionsRevoked>, ApiError> {
    let mut change = Change::of(&tenant, audit::REVOKE_SESSIONS, target("User", "", &upn));
    let r = revoke_sessions_in(&st, &tenant, &upn, &mut change).await;
    change.finish(&st, &admin, r).await
}

async fn revoke_sessions_in(
    st: &AppState,
    tenant: &str,
    upn: &str,
    change: &mut Change,
) -> Result<Json<SessionsRevoked>, ApiError> {
    let d = directory(st, tenant).await?;
    let user = existing_user(st, &d.tenant.id, upn).await?;
    let now = st.clock.now();
    st.store.revoke_user(&d.tenant.id, &user.id, now).await?;
    user_target(
        change,
        &user,
        prop("sessionsValidFrom", (), crate::access::graph_time(now)),
    );
    tracing::info!(tenant = %tenant, user = %user.user_principal_name, "all sessions and refresh tokens revoked by an administrator");
    Ok(Json(SessionsRevoked {
        user_principal_name: user.user_principal_name,
        revoked_at: now,
    }))
}

/// Body of `POST /users/{upn}/reset-password`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResetPassword {
    /// The new password (at least 8 characters); absent: a random one is generated and
    /// returned once.
    #[serde(default)]
    pub password: Option<String>,
}

/// Response of `POST /users/{upn}/reset-password`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PasswordReset {
    /// The user.
    pub user: User,
    /// The generated password, when none was given: shown here once only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
}

/// The shortest password an administrator may set (the sign-in page's rule).
pub const MIN_PASSWORD_CHARS: usize = 8;

#[utoipa::path(post, path = "/admin/v1/tenants/{tenant}/users/{upn}/reset-password", tag = "users", params(("tenant" = String, Path), ("upn" = String, Path)), request_body = ResetPassword, responses((status = 200, body = PasswordReset), (status = 400), (status = 404)), security(("bearer" = [])))]
/// Set a user's password (or generate one, returned once) and revoke their sessions,
/// so a session signed in with the old password does not live on. The password is
/// never in the audit log.
pub async fn reset_password(
    admin: Admin,
    State(st): State<AppState>,
    Path((tenant, upn)): Path<(String, String)>,
    JsonBody(body): JsonBody<ResetPassword>,
) -> Result<Json<PasswordReset>, ApiError> {
    let mut change = Change::of(&tenant, audit::RESET_PASSWORD, target("User", "", &upn));
    let r = reset_password_in(&st, &tenant, &upn, body, &mut change).await;
    change.finish(&st, &admin, r).await
}

async fn reset_password_in(
    st: &AppState,
    tenant: &str,
    upn: &str,
    body: ResetPassword,
    change: &mut Change,
) -> Result<Json<PasswordReset>, ApiError> {
    let d = directory(st, tenant).await?;
    let user = existing_user(st, &d.tenant.id, upn).await?;
    let (password, generated) = match body.password {
        Some(p) if p.chars().count() < MIN_PASSWORD_CHARS => {
            return Err(ApiError::new(
                ErrorCode::InvalidInput,
                format!("$.password: at least {MIN_PASSWORD_CHARS} characters"),
            ))
        }
        Some(p) => (p, false),
        None => (portvakt_jose::random_id(18), true),
    };
    let hash = crate::password::hash(password.clone()).await?;
    let now = st.clock.now();
    st.store
        .set_password(&d.tenant.id, &user.id, &hash, now)
        .await?;
    st.store.revoke_user(&d.tenant.id, &user.id, now).await?;
    user_target(change, &user, audit::secret("password"));
    tracing::info!(tenant = %tenant, user = %user.user_principal_name, "password reset by an administrator");
    let user = st
        .store
        .user_by_id(&d.tenant.id, &user.id)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::EntityNotFound, "the user vanished"))?;
    Ok(Json(PasswordReset {
        user,
        password: generated.then_some(password),
    }))
}

#[utoipa::path(post, path = "/admin/v1/tenants/{tenant}/users/{upn}/reset-mfa", tag = "users", params(("tenant" = String, Path), ("upn" = String, Path)), responses((status = 200, body = User), (status = 404)), security(("bearer" = [])))]
/// Remove a user's registered authenticator: at the next sign-in that needs MFA, the
/// user registers a new one (after the password). Their sessions are revoked too, so a
/// session that did MFA with the old authenticator does not live on.
pub async fn reset_mfa(
    admin: Admin,
    State(st): State<AppState>,
    Path((tenant, upn)): Path<(String, String)>,
) -> Result<Json<User>, ApiError> {
    let mut change = Change::of(&tenant, audit::RESET_MFA, target("User", "", &upn));
    let r = reset_mfa_in(&st, &tenant, &upn, &mut change).await;
    change.finish(&st, &admin, r).await
}

async fn reset_mfa_in(
    st: &AppState,
    tenant: &str,
    upn: &str,
    change: &mut Change,
) -> Result<Json<User>, ApiError> {
    let d = directory(st, tenant).await?;
    let user = existing_user(st, &d.tenant.id, upn).await?;
    st.store.set_user_totp(&d.tenant.id, &user.id, None).await?;
    user_target(
        change,
        &user,
        prop("mfaRegistered", user.mfa_registered, false),
    );
    st.store
        .revoke_user(&d.tenant.id, &user.id, st.clock.now())
        .await?;
    tracing::info!(tenant = %tenant, user = %user.user_principal_name, "MFA reset by an administrator");
    let user = st
        .store
        .user_by_id(&d.tenant.id, &user.id)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::EntityNotFound, "the user vanished"))?;
    Ok(Json(user))
}

async fn set_admin_consent(
    st: &AppState,
    admin: &Admin,
    tenant: &str,
    client_id: &str,
    on: bool,
) -> Result<Json<Application>, ApiError> {
    let activity = if on {
        audit::CONSENT_TO_APPLICATION
    } else {
        audit::REVOKE_CONSENT
    };
    let mut change = Change::of(tenant, activity, target("Application", client_id, ""));
    let r = set_admin_consent_in(st, tenant, client_id, on, &mut change).await;
    change.finish(st, admin, r).await
}

/// Tenant-wide consent given by a signed-in admin on the consent page ("consent on
/// behalf of your organisation"): audited with that user as the initiator.
pub async fn grant_admin_consent_as(
    st: &AppState,
    tenant: &str,
    client_id: &str,
    user: &portvakt_core::model::User,
    correlation_id: &str,
) -> Result<(), ApiError> {
    let admin = Admin {
        client_id: client_id.to_owned(),
        display_name: "Consent page".into(),
        user: Some((user.id.clone(), user.user_principal_name.clone())),
        correlation_id: correlation_id.to_owned(),
    };
    set_admin_consent(st, &admin, tenant, client_id, true)
        .await
        .map(|_| ())
}

async fn set_admin_consent_in(
    st: &AppState,
    tenant: &str,
    client_id: &str,
    on: bool,
    change: &mut Change,
) -> Result<Json<Application>, ApiError> {
    let d = directory(st, tenant).await?;
    let before = d
        .applications
        .iter()
        .find(|a| a.client_id == client_id)
        .map(|a| a.admin_consented);
    st.store
        .set_admin_consent(&d.tenant.id, client_id, on)
        .await?;
    st.directory.invalidate(&d.tenant.name);
    let d = directory(st, tenant).await?;
    let app = d
        .applications
        .into_iter()
        .find(|a| a.client_id == client_id)
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::EntityNotFound,
                format!("application '{client_id}' does not exist"),
            )
        })?;
    if let Some(t) = change.first() {
        t.display_name = app.display_name.clone();
        t.modified_properties = vec![prop("adminConsented", before, on)];
    }
    Ok(Json(app))
}

#[utoipa::path(post, path = "/admin/v1/tenants/{tenant}/applications/{client_id}/admin-consent", tag = "applications", params(("tenant" = String, Path), ("client_id" = String, Path)), responses((status = 200, body = Application), (status = 404)), security(("bearer" = [])))]
/// Grant tenant-wide consent: no user of the tenant is asked any more.
pub async fn grant_admin_consent(
    admin: Admin,
    State(st): State<AppState>,
    Path((tenant, client_id)): Path<(String, String)>,
) -> Result<Json<Application>, ApiError> {
    set_admin_consent(&st, &admin, &tenant, &client_id, true).await
}

#[utoipa::path(delete, path = "/admin/v1/tenants/{tenant}/applications/{client_id}/admin-consent", tag = "applications", params(("tenant" = String, Path), ("client_id" = String, Path)), responses((status = 200, body = Application), (status = 404)), security(("bearer" = [])))]
/// Withdraw tenant-wide consent.
pub async fn withdraw_admin_consent(
    admin: Admin,
    State(st): State<AppState>,
    Path((tenant, client_id)): Path<(String, String)>,
) -> Result<Json<Application>, ApiError> {
    set_admin_consent(&st, &admin, &tenant, &client_id, false).await
}

#[utoipa::path(get, path = "/admin/v1/tenants/{tenant}/groups", tag = "groups", params(("tenant" = String, Path)), responses((status = 200, body = List<Group>)), security(("bearer" = [])))]
/// List groups.
pub async fn list_groups(
    _: Admin,
    State(st): State<AppState>,
    Path(tenant): Path<String>,
) -> Result<Json<List<Group>>, ApiError> {
    let d = directory(&st, &tenant).await?;
    Ok(Json(List {
        value: st.store.list_groups(&d.tenant.id).await?,
    }))
}

#[utoipa::path(post, path = "/admin/v1/tenants/{tenant}/groups", tag = "groups", params(("tenant" = String, Path)), request_body = GroupSpec, responses((status = 201, body = Group), (status = 409, description = "a group with that name or id exists")), security(("bearer" = [])))]
/// Create a group (`displayName`).
pub async fn create_group(
    admin: Admin,
    State(st): State<AppState>,
    Path(tenant): Path<String>,
    JsonBody(body): JsonBody<GroupSpec>,
) -> Result<(StatusCode, Json<Group>), ApiError> {
    let mut change = Change::of(
        &tenant,
        audit::ADD_GROUP,
        target("Group", "", &body.display_name),
    );
    let r = create_group_in(&st, &tenant, body, &mut change).await;
    change.finish(&st, &admin, r).await
}

/// A member to add: Graph's `{"@odata.id": "…/directoryObjects/{id}"}` (the last
/// path segment is the user's id), or Portvakt's `{"userPrincipalName": "…"}`.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MemberRef {
    /// A URL whose last segment is the user's id (Graph's reference form).
    #[serde(rename = "@odata.id")]
    pub odata_id: Option<String>,
    /// The user's sign-in name.
    #[serde(rename = "userPrincipalName")]
    pub user_principal_name: Option<String>,
}

#[utoipa::path(post, path = "/admin/v1/tenants/{tenant}/groups/{group_id}/members/$ref", tag = "groups", params(("tenant" = String, Path), ("group_id" = String, Path)), request_body = MemberRef, responses((status = 204, description = "added (or already a member)"), (status = 400), (status = 404)), security(("bearer" = [])))]
/// Add a user to a group (Graph: `POST /groups/{id}/members/$ref`).
pub async fn add_group_member(
    admin: Admin,
    State(st): State<AppState>,
    Path((tenant, group_id)): Path<(String, String)>,
    JsonBody(body): JsonBody<MemberRef>,
) -> Result<StatusCode, ApiError> {
    let user = match (&body.odata_id, &body.user_principal_name) {
        (Some(url), None) => url
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or("")
            .to_string(),
        (None, Some(upn)) => upn.clone(),
        _ => {
            return Err(ApiError::new(
                ErrorCode::InvalidInput,
                "give exactly one of '@odata.id' (…/directoryObjects/{user id}) and 'userPrincipalName'",
            ))
        }
    };
    set_member(&st, &admin, &tenant, &group_id, &user, true).await
}

#[utoipa::path(delete, path = "/admin/v1/tenants/{tenant}/groups/{group_id}/members/{user}/$ref", tag = "groups", params(("tenant" = String, Path), ("group_id" = String, Path), ("user" = String, Path, description = "the user's id or user principal name")), responses((status = 204, description = "removed (or not a member)"), (status = 404)), security(("bearer" = [])))]
/// Remove a user from a group (Graph: `DELETE /groups/{id}/members/{id}/$ref`).
pub async fn remove_group_member(
    admin: Admin,
    State(st): State<AppState>,
    Path((tenant, group_id, user)): Path<(String, String, String)>,
) -> Result<StatusCode, ApiError> {
    set_member(&st, &admin, &tenant, &group_id, &user, false).await
}

async fn set_member(
    st: &AppState,
    admin: &Admin,
    tenant: &str,
    group_id: &str,
    user: &str,
    member: bool,
) -> Result<StatusCode, ApiError> {
    let activity = if member {
        audit::ADD_MEMBER
    } else {
        audit::REMOVE_MEMBER
    };
    let mut change = Change::of(tenant, activity, target("Group", group_id, ""));
    let r = set_member_in(st, tenant, group_id, user, member, &mut change).await;
    change.finish(st, admin, r).await
}

async fn set_member_in(
    st: &AppState,
    tenant: &str,
    group_id: &str,
    user: &str,
    member: bool,
    change: &mut Change,
) -> Result<StatusCode, ApiError> {
    let d = directory(st, tenant).await?;
    let group = st
        .store
        .list_groups(&d.tenant.id)
        .await?
        .into_iter()
        .find(|g| g.id == group_id)
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::EntityNotFound,
                format!("group '{group_id}' does not exist in tenant '{tenant}'"),
            )
        })?;
    let found = if user.contains('@') {
        st.store.user_by_upn(&d.tenant.id, user).await?
    } else {
        st.store.user_by_id(&d.tenant.id, user).await?
    };
    let u = found.ok_or_else(|| {
        ApiError::new(
            ErrorCode::EntityNotFound,
            format!("user '{user}' does not exist in tenant '{tenant}'"),
        )
    })?;
    let changed = st
        .store
        .set_group_member(&d.tenant.id, &group.id, &u.id, member)
        .await?;
    st.directory.invalidate(&d.tenant.name);
    if let Some(t) = change.first() {
        t.display_name = group.display_name.clone();
        t.modified_properties = vec![prop(
            "members",
            if member {
                None
            } else {
                Some(&u.user_principal_name)
            },
            if member {
                Some(&u.user_principal_name)
            } else {
                None
            },
        )];
    }
    change
        .targets
        .push(target("User", &u.id, &u.user_principal_name));
    if !changed {
        tracing::debug!(group = %group.display_name, user = %u.user_principal_name, member, "membership unchanged");
    }
    Ok(StatusCode::NO_CONTENT)
}

async fn create_group_in(
    st: &AppState,
    tenant: &str,
    body: GroupSpec,
    change: &mut Change,
) -> Result<(StatusCode, Json<Group>), ApiError> {
    let d = directory(st, tenant).await?;
    let mut spec = empty_spec(checked_name(&d));
    spec.groups.push(body.clone());
    validate_spec(&spec, "$.tenants[0].groups[0]")?;
    let g = Group {
        // The group's own id (an Entra object id, say), as an import keeps it.
        id: body.id.unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
        display_name: body.display_name,
    };
    st.store
        .create_group(&d.tenant.id, &g.id, &g.display_name)
        .await?;
    if let Some(t) = change.first() {
        t.id = g.id.clone();
        t.modified_properties = vec![prop("displayName", (), &g.display_name)];
    }
    Ok((StatusCode::CREATED, Json(g)))
}

#[utoipa::path(get, path = "/admin/v1/tenants/{tenant}/applications", tag = "applications", params(("tenant" = String, Path)), responses((status = 200, body = List<Application>)), security(("bearer" = [])))]
/// List applications (secrets are never shown).
pub async fn list_apps(
    _: Admin,
    State(st): State<AppState>,
    Path(tenant): Path<String>,
) -> Result<Json<List<Application>>, ApiError> {
    let mut value = directory(&st, &tenant).await?.applications;
    // The portal's built-in client is not the tenant's to manage.
    value.retain(|a| a.client_id != portvakt_core::names::PORTAL_CLIENT_ID);
    Ok(Json(List { value }))
}

#[utoipa::path(post, path = "/admin/v1/tenants/{tenant}/applications", tag = "applications", params(("tenant" = String, Path)), request_body = CreateApplication, responses((status = 201, body = CreatedApplication), (status = 409, description = "an application with that client id exists")), security(("bearer" = [])))]
/// Register an application; a confidential one gets a generated secret, shown once.
pub async fn create_app(
    admin: Admin,
    State(st): State<AppState>,
    Path(tenant): Path<String>,
    JsonBody(body): JsonBody<CreateApplication>,
) -> Result<(StatusCode, Json<CreatedApplication>), ApiError> {
    let mut change = Change::of(
        &tenant,
        audit::ADD_APPLICATION,
        target(
            "Application",
            body.client_id.as_deref().unwrap_or(""),
            &body.display_name,
        ),
    );
    let r = create_app_in(&st, &tenant, body, &mut change).await;
    change.finish(&st, &admin, r).await
}

/// An application's properties as the audit log shows them: never its secret.
fn app_properties(app: &Application) -> Vec<portvakt_core::audit::ModifiedProperty> {
    let mut p = vec![
        prop("displayName", (), &app.display_name),
        prop("confidential", (), app.confidential),
        prop("grantTypes", (), &app.grant_types),
        prop("redirectUris", (), &app.redirect_uris),
        prop("allowedScopes", (), &app.allowed_scopes),
        prop("adminConsented", (), app.admin_consented),
        prop(
            "accessTokenLifetimeSeconds",
            (),
            app.access_token_lifetime_seconds,
        ),
        prop(
            "refreshTokenLifetimeSeconds",
            (),
            app.refresh_token_lifetime_seconds,
        ),
    ];
    if app.secret_sha256.is_some() {
        p.push(secret("clientSecret"));
    }
    p
}

async fn create_app_in(
    st: &AppState,
    tenant: &str,
    body: CreateApplication,
    change: &mut Change,
) -> Result<(StatusCode, Json<CreatedApplication>), ApiError> {
    let d = directory(st, tenant).await?;
    let secret = body.confidential.then(|| portvakt_jose::random_id(32));
    let client_id = body
        .client_id
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let mut spec = empty_spec(&d.tenant.name);
    spec.resources = d
        .resources
        .iter()
        .map(|r| ResourceSpec {
            identifier: r.identifier.clone(),
            display_name: None,
            scopes: r.scopes.clone(),
            access_token_lifetime_seconds: None,
            group_claims: r.group_claims,
            introspection_clients: vec![],
        })
        .collect();
    spec.applications.push(ApplicationSpec {
        client_id: client_id.clone(),
        display_name: Some(body.display_name.clone()),
        client_secret: secret.clone(),
        grant_types: body.grant_types.clone(),
        redirect_uris: body.redirect_uris.clone(),
        allowed_scopes: body.allowed_scopes.clone(),
        access_token_lifetime_seconds: body.access_token_lifetime_seconds,
        admin_consented: body.admin_consented,
        refresh_token_lifetime_seconds: body.refresh_token_lifetime_seconds,
    });
    validate_spec(&spec, "$.tenants[0].applications[0]")?;
    let app = Application {
        client_id,
        display_name: body.display_name,
        secret_sha256: secret.as_ref().map(|s| portvakt_jose::sha256(s.as_bytes())),
        confidential: body.confidential,
        grant_types: body.grant_types,
        redirect_uris: body.redirect_uris,
        allowed_scopes: body.allowed_scopes,
        access_token_lifetime_seconds: body.access_token_lifetime_seconds.map(|v| v as u32),
        admin_consented: body.admin_consented,
        refresh_token_lifetime_seconds: body.refresh_token_lifetime_seconds.map(|v| v as u32),
    };
    st.store
        .create_application(&d.tenant.id, &app, st.clock.now())
        .await?;
    st.directory.invalidate(&d.tenant.name);
    if let Some(t) = change.first() {
        t.id = app.client_id.clone();
        t.modified_properties = app_properties(&app);
    }
    Ok((
        StatusCode::CREATED,
        Json(CreatedApplication {
            application: app,
            client_secret: secret,
        }),
    ))
}

#[utoipa::path(get, path = "/admin/v1/tenants/{tenant}/resources", tag = "resources", params(("tenant" = String, Path)), responses((status = 200, body = List<Resource>)), security(("bearer" = [])))]
/// List resources (APIs).
pub async fn list_resources(
    _: Admin,
    State(st): State<AppState>,
    Path(tenant): Path<String>,
) -> Result<Json<List<Resource>>, ApiError> {
    Ok(Json(List {
        value: directory(&st, &tenant).await?.resources,
    }))
}

#[utoipa::path(post, path = "/admin/v1/tenants/{tenant}/resources", tag = "resources", params(("tenant" = String, Path)), request_body = ResourceSpec, responses((status = 201, body = Resource), (status = 409, description = "a resource with that identifier exists")), security(("bearer" = [])))]
/// Register a resource (`identifier`, `displayName`, `scopes`, `accessTokenLifetimeSeconds`).
pub async fn create_resource(
    admin: Admin,
    State(st): State<AppState>,
    Path(tenant): Path<String>,
    JsonBody(body): JsonBody<ResourceSpec>,
) -> Result<(StatusCode, Json<Resource>), ApiError> {
    let mut change = Change::of(
        &tenant,
        audit::ADD_RESOURCE,
        target(
            "Resource",
            &body.identifier,
            body.display_name.as_deref().unwrap_or(&body.identifier),
        ),
    );
    let r = create_resource_in(&st, &tenant, body, &mut change).await;
    change.finish(&st, &admin, r).await
}

async fn create_resource_in(
    st: &AppState,
    tenant: &str,
    body: ResourceSpec,
    change: &mut Change,
) -> Result<(StatusCode, Json<Resource>), ApiError> {
    let d = directory(st, tenant).await?;
    let mut spec = empty_spec(&d.tenant.name);
    spec.resources.push(body.clone());
    validate_spec(&spec, "$.tenants[0].resources[0]")?;
    let r = Resource {
        display_name: body.display_name.unwrap_or_else(|| body.identifier.clone()),
        identifier: body.identifier,
        scopes: body.scopes,
        access_token_lifetime_seconds: body.access_token_lifetime_seconds.map(|v| v as u32),
        group_claims: body.group_claims,
        introspection_clients: body.introspection_clients,
    };
    st.store.create_resource(&d.tenant.id, &r).await?;
    st.directory.invalidate(&d.tenant.name);
    if let Some(t) = change.first() {
        t.display_name = r.display_name.clone();
        t.modified_properties = vec![
            prop("displayName", (), &r.display_name),
            prop("scopes", (), &r.scopes),
            prop(
                "accessTokenLifetimeSeconds",
                (),
                r.access_token_lifetime_seconds,
            ),
            prop("groupClaims", (), r.group_claims),
            prop("introspectionClients", (), &r.introspection_clients),
        ];
    }
    Ok((StatusCode::CREATED, Json(r)))
}

#[utoipa::path(get, path = "/admin/v1/tenants/{tenant}/keys", tag = "keys", params(("tenant" = String, Path)), responses((status = 200, body = List<KeyOut>)), security(("bearer" = [])))]
/// List signing keys and their state.
pub async fn list_keys(
    _: Admin,
    State(st): State<AppState>,
    Path(tenant): Path<String>,
) -> Result<Json<List<KeyOut>>, ApiError> {
    let now = st.clock.now();
    let d = directory(&st, &tenant).await?;
    Ok(Json(List {
        value: d.keys.into_iter().map(|k| key_out(k.info, now)).collect(),
    }))
}

#[utoipa::path(post, path = "/admin/v1/tenants/{tenant}/keys/rotate", tag = "keys", params(("tenant" = String, Path)), request_body = RotateKeys, responses((status = 200, body = Rotated)), security(("bearer" = [])))]
/// Rotate the signing key: the new key is published now and signs after
/// `prepublishSeconds`; the old one stays published until its last token expired.
pub async fn rotate_keys(
    admin: Admin,
    State(st): State<AppState>,
    Path(tenant): Path<String>,
    req: Request,
) -> Result<Json<Rotated>, ApiError> {
    let mut change = Change::new(&tenant, audit::ROTATE_KEYS);
    let r = rotate_keys_in(&st, &tenant, req, &mut change).await;
    change.finish(&st, &admin, r).await
}

fn key_target(info: &SigningKeyInfo) -> portvakt_core::audit::TargetResource {
    target(
        "Key",
        &info.kid,
        &format!("{} signing key", info.algorithm.as_str()),
    )
}

async fn rotate_keys_in(
    st: &AppState,
    tenant: &str,
    req: Request,
    change: &mut Change,
) -> Result<Json<Rotated>, ApiError> {
    let has_body = req.headers().contains_key(axum::http::header::CONTENT_TYPE);
    let body: RotateKeys = if has_body {
        read_json(req, body::JSON_LIMIT, ErrorCode::InvalidJson).await?
    } else {
        RotateKeys::default()
    };
    let d = directory(st, tenant).await?;
    let now = st.clock.now();
    let prepublish = body
        .prepublish_seconds
        .unwrap_or(crate::discovery::JWKS_MAX_AGE as u64);
    if prepublish > 30 * 24 * 3600 {
        return Err(ApiError::new(
            ErrorCode::InvalidInput,
            "$.prepublishSeconds: at most 30 days",
        ));
    }
    // Rotate every algorithm in use (the tenant's, and RS256 for ID tokens), or the
    // one asked for.
    let in_use: Vec<Algorithm> = {
        let mut v = vec![d.tenant.signing_algorithm];
        for k in &d.keys {
            if k.info.retired_at.is_none_or(|t| t > now) && !v.contains(&k.info.algorithm) {
                v.push(k.info.algorithm);
            }
        }
        v
    };
    let algs: Vec<Algorithm> = match body.algorithm {
        Some(a) => {
            let a: Algorithm = a.parse().map_err(|e: String| {
                ApiError::new(ErrorCode::InvalidInput, format!("$.algorithm: {e}"))
            })?;
            if !in_use.contains(&a) {
                return Err(ApiError::new(
                    ErrorCode::InvalidInput,
                    format!("$.algorithm: the tenant signs with {} only; change its signingAlgorithm by import to switch", in_use.iter().map(|a| a.as_str()).collect::<Vec<_>>().join(" and ")),
                ));
            }
            vec![a]
        }
        None => in_use,
    };
    let active_from = now + prepublish as i64;
    let until = published_until(&d, active_from, st.config.key_retention_leeway_secs);
    let mut new_keys = Vec::new();
    for alg in algs {
        let key = create_key(alg, &st.master, now, active_from)?;
        st.store.rotate_key(&d.tenant.id, &key, until).await?;
        let mut t = key_target(&key.info);
        t.modified_properties = vec![
            prop("algorithm", (), alg.as_str()),
            prop("activeFrom", (), crate::access::graph_time(active_from)),
        ];
        change.targets.push(t);
        new_keys.push(key.info);
    }
    st.directory.invalidate(&d.tenant.name);
    let after = directory(st, tenant).await?;
    let new_kids: Vec<&str> = new_keys.iter().map(|k| k.kid.as_str()).collect();
    let retiring = after
        .keys
        .iter()
        .filter(|k| {
            !new_kids.contains(&k.info.kid.as_str()) && k.info.retired_at == Some(active_from)
        })
        .map(|k| key_out(k.info.clone(), now))
        .collect::<Vec<_>>();
    for k in &retiring {
        let mut t = key_target(&k.info);
        t.modified_properties = vec![
            prop(
                "retiredAt",
                (),
                k.info.retired_at.map(crate::access::graph_time),
            ),
            prop(
                "publishedUntil",
                (),
                k.info.published_until.map(crate::access::graph_time),
            ),
        ];
        change.targets.push(t);
    }
    let mut keys: Vec<KeyOut> = new_keys.into_iter().map(|k| key_out(k, now)).collect();
    let key = keys.remove(0);
    Ok(Json(Rotated {
        key,
        also: keys,
        retiring,
    }))
}

#[utoipa::path(post, path = "/admin/v1/import", tag = "import", request_body = ImportFile, responses((status = 200, body = ImportSummary), (status = 400, description = "invalid file; nothing changed"), (status = 409, description = "a name in the file is taken by another object; nothing changed")), security(("bearer" = [])))]
/// Apply an import file: one transaction, idempotent upsert.
pub async fn import_file(
    admin: Admin,
    State(st): State<AppState>,
    req: Request,
) -> Result<Json<ImportSummary>, ApiError> {
    let mut change = Change::new(SYSTEM_TENANT, audit::IMPORT_DIRECTORY);
    let r = import_file_in(&st, req, &mut change).await;
    change.finish(&st, &admin, r).await
}

async fn import_file_in(
    st: &AppState,
    req: Request,
    change: &mut Change,
) -> Result<Json<ImportSummary>, ApiError> {
    let raw: serde_json::Value = read_json(req, IMPORT_LIMIT, ErrorCode::ImportInvalid).await?;
    let bytes =
        serde_json::to_vec(&raw).map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))?;
    let file = portvakt_core::import::parse(&bytes)?;
    change.targets = file.tenants.iter().map(import_target).collect();
    let summary = import::apply(st, &file).await?;
    for t in &mut change.targets {
        if let Ok(Some(tenant)) = st.store.tenant(&t.display_name).await {
            t.id = tenant.id;
        }
    }
    change.targets.insert(0, import_summary_target(&summary));
    Ok(Json(summary))
}

/// What an import file sets in one tenant, by name only: the audit record of an
/// import lists the objects it names (users by user principal name, applications by
/// client id, …), never their passwords, client secrets or TOTP secrets.
fn import_target(spec: &TenantSpec) -> portvakt_core::audit::TargetResource {
    let mut t = target("Tenant", "", &spec.name);
    let p = &mut t.modified_properties;
    if let Some(v) = &spec.display_name {
        p.push(prop("displayName", (), v));
    }
    if let Some(v) = &spec.signing_algorithm {
        p.push(prop("signingAlgorithm", (), v));
    }
    if let Some(v) = spec.access_token_lifetime_seconds {
        p.push(prop("accessTokenLifetimeSeconds", (), v));
    }
    let name = |v: &serde_json::Value| {
        v.get("displayName")
            .and_then(serde_json::Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let lists: [(&str, Vec<String>); 7] = [
        (
            "groups",
            spec.groups.iter().map(|g| g.display_name.clone()).collect(),
        ),
        ("roles", spec.roles.iter().map(|r| r.name.clone()).collect()),
        (
            "users",
            spec.users
                .iter()
                .map(|u| u.user_principal_name.clone())
                .collect(),
        ),
        (
            "resources",
            spec.resources
                .iter()
                .map(|r| r.identifier.clone())
                .collect(),
        ),
        (
            "applications",
            spec.applications
                .iter()
                .map(|a| a.client_id.clone())
                .collect(),
        ),
        (
            "namedLocations",
            spec.named_locations.iter().map(name).collect(),
        ),
        (
            "conditionalAccessPolicies",
            spec.conditional_access_policies.iter().map(name).collect(),
        ),
    ];
    for (k, v) in lists {
        if !v.is_empty() {
            p.push(prop(k, (), v));
        }
    }
    t
}

/// The import's summary (what the store created and updated, over all tenants) as
/// the first target of its record.
fn import_summary_target(summary: &ImportSummary) -> portvakt_core::audit::TargetResource {
    let mut t = target("Import", "", "import summary");
    if let Ok(serde_json::Value::Object(m)) = serde_json::to_value(summary) {
        t.modified_properties = m.iter().map(|(k, v)| prop(k, (), v)).collect();
    }
    t
}
