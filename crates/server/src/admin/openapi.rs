//! The admin API as OpenAPI 3.1, generated from the handlers (utoipa).

use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

struct Bearer;

impl Modify for Bearer {
    fn modify(&self, api: &mut utoipa::openapi::OpenApi) {
        if let Some(c) = api.components.as_mut() {
            c.add_security_scheme(
                "bearer",
                SecurityScheme::Http(
                    HttpBuilder::new()
                        .scheme(HttpAuthScheme::Bearer)
                        .bearer_format("JWT")
                        .build(),
                ),
            );
        }
    }
}

/// The document.
#[derive(OpenApi)]
#[openapi(
    info(title = "Portvakt admin API", description = "Tenants, users, groups, applications, resources, keys and import. Authenticate with a token from the system tenant for resource urn:portvakt:admin, scope admin."),
    paths(
        super::list_tenants, super::create_tenant, super::get_tenant,
        super::list_users, super::create_user, super::update_user, super::revoke_sessions, super::reset_mfa, super::reset_password,
        super::list_groups, super::create_group, super::add_group_member, super::remove_group_member,
        super::list_apps, super::create_app, super::grant_admin_consent, super::withdraw_admin_consent,
        super::list_resources, super::create_resource,
        super::list_keys, super::rotate_keys,
        super::import_file,
        super::conditional_access::list_policies, super::conditional_access::create_policy,
        super::conditional_access::get_policy, super::conditional_access::update_policy,
        super::conditional_access::delete_policy,
        super::conditional_access::list_locations, super::conditional_access::create_location,
        super::conditional_access::get_location, super::conditional_access::update_location,
        super::conditional_access::delete_location,
        super::conditional_access::evaluate, super::conditional_access::import,
        super::audit_logs::directory_audits,
        super::signins::list_signins, super::signins::get_signin, super::replay::replay, super::diagnose::diagnose,
    ),
    modifiers(&Bearer)
)]
pub struct AdminApi;

/// GET `/admin/v1/openapi.json` (public: the shape of the API is not a secret).
pub async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(AdminApi::openapi())
}
