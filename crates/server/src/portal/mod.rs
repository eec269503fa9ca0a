//! The admin portal at `/portal/{tenant}/` (`docs/design/portal.md`): server-rendered
//! pages over the server's own functions — the sign-in log, `diagnose`, Conditional
//! Access, the audit log — for a tenant's users with the role `admin`, signed in
//! through Portvakt itself.

pub mod access;
pub mod audit;
pub mod charts;
pub mod directory;
pub mod overview;
pub mod policies;
pub mod policy_edit;
pub mod render;
pub mod session;
pub mod signins;

use crate::state::{AppState, ServerConfig};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use portvakt_core::model::Application;
use portvakt_core::names::PORTAL_CLIENT_ID;
use portvakt_store::Directory;
use render::Ui;
use session::PortalAdmin;

/// The portal's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/portal/static/portal.css", get(render::stylesheet))
        .route("/portal/signins", get(find_record))
        .route("/portal/{tenant}/", get(home))
        .route("/portal/{tenant}", get(home_slash))
        .route("/portal/{tenant}/callback", get(session::callback))
        .route("/portal/{tenant}/signout", post(session::sign_out))
        .route("/portal/{tenant}/signins", get(signins::list))
        .route("/portal/{tenant}/signins.csv", get(signins::download_csv))
        .route("/portal/{tenant}/signins.json", get(signins::download_json))
        .route("/portal/{tenant}/signins/{id}", get(signins::detail))
        .route("/portal/{tenant}/policies", get(policies::list))
        .route(
            "/portal/{tenant}/policies/{id}/state",
            post(policies::set_state),
        )
        .route(
            "/portal/{tenant}/policies/new",
            get(policy_edit::new_form).post(policy_edit::create),
        )
        .route(
            "/portal/{tenant}/policies/{id}",
            get(policy_edit::edit_form).post(policy_edit::save),
        )
        .route("/portal/{tenant}/policies.json", get(policy_edit::export))
        .route("/portal/{tenant}/overview", get(overview::overview))
        .route(
            "/portal/{tenant}/users",
            get(directory::users).post(directory::create_user),
        )
        .route("/portal/{tenant}/users/{upn}", post(directory::user_action))
        .route(
            "/portal/{tenant}/groups",
            get(directory::groups).post(directory::create_group),
        )
        .route(
            "/portal/{tenant}/groups/{group_id}/members",
            post(directory::member),
        )
        .route(
            "/portal/{tenant}/apps",
            get(directory::apps).post(directory::create_app),
        )
        .route(
            "/portal/{tenant}/apps/{client_id}/consent",
            post(directory::consent),
        )
        .route(
            "/portal/{tenant}/resources",
            post(directory::create_resource),
        )
        .route("/portal/{tenant}/keys", get(directory::keys))
        .route("/portal/{tenant}/keys/rotate", post(directory::rotate))
        .route("/portal/{tenant}/whatif", get(access::what_if))
        .route(
            "/portal/{tenant}/replay",
            get(access::replay_get).post(access::replay_post),
        )
        .route("/portal/{tenant}/audit", get(audit::list))
}

/// The built-in public client of the portal in `tenant`: authorization code + PKCE,
/// its one redirect URI, scope `openid`, consented by the tenant.
pub fn application(public_url: &str, tenant: &str) -> Application {
    Application {
        client_id: PORTAL_CLIENT_ID.into(),
        display_name: "Portvakt portal".into(),
        secret_sha256: None,
        confidential: false,
        grant_types: vec!["authorization_code".into()],
        redirect_uris: vec![format!("{public_url}/portal/{tenant}/callback")],
        allowed_scopes: vec!["openid".into()],
        access_token_lifetime_seconds: None,
        admin_consented: true,
        refresh_token_lifetime_seconds: None,
    }
}

/// Add the portal's client to a tenant's directory as read from the store (the
/// token path and policy validation both see it; no store holds it).
pub fn with_portal_app(dir: &mut Directory, config: &ServerConfig) {
    dir.applications.retain(|a| a.client_id != PORTAL_CLIENT_ID);
    dir.applications
        .push(application(&config.public_url, &dir.tenant.name));
}

/// What every signed-in page shows around its content.
pub struct Frame<'a> {
    /// Language and strings.
    pub ui: Ui,
    /// The tenant's name.
    pub tenant: &'a str,
    /// The admin's user principal name.
    pub user: &'a str,
    /// The CSRF token of the sign-out form (and the page's forms).
    pub csrf: &'a str,
    /// The section in the navigation.
    pub section: &'static str,
    /// The link that switches the language and keeps the page.
    pub lang_href: String,
}

impl<'a> Frame<'a> {
    /// The frame of `admin`'s page in `section`; `lang_query` is the page's query
    /// with the other language.
    pub fn new(admin: &'a PortalAdmin, section: &'static str, lang_query: &str) -> Self {
        Frame {
            ui: admin.ui,
            tenant: &admin.tenant,
            user: &admin.user.user_principal_name,
            csrf: &admin.csrf,
            section,
            lang_href: format!("?{lang_query}"),
        }
    }
}

/// Send a refreshed session cookie (the idle timer moved) with a response.
pub fn touch(res: &mut Response, admin: &PortalAdmin) {
    if let Some(c) = &admin.refreshed {
        res.headers_mut().append(header::SET_COOKIE, c.clone());
    }
}

/// `GET /portal/{tenant}/`: the overview is the portal's first page.
async fn home(admin: PortalAdmin) -> Response {
    let mut res = Redirect::to(&format!("/portal/{}/overview", admin.tenant)).into_response();
    render::secure_headers(res.headers_mut());
    touch(&mut res, &admin);
    res
}

async fn home_slash(axum::extract::Path(tenant): axum::extract::Path<String>) -> Response {
    Redirect::permanent(&format!("/portal/{tenant}/")).into_response()
}

/// `GET /portal/signins?correlationId=…`: where the correlation id on an error or
/// troubleshooting page leads — its record in its tenant's portal (which asks that
/// tenant's admin to sign in). Nothing about the record is shown here.
async fn find_record(
    axum::extract::State(st): axum::extract::State<AppState>,
    axum::extract::Query(q): axum::extract::Query<std::collections::HashMap<String, String>>,
    headers: axum::http::HeaderMap,
    crate::correlation::Cid(cid): crate::correlation::Cid,
) -> Response {
    let ui = Ui::of(&q, &headers);
    let wanted = q
        .get("correlationId")
        .filter(|c| crate::errors_page::valid_correlation_id(c))
        .cloned();
    let tenant = match &wanted {
        Some(c) => match st.store.signin_tenant(c).await {
            Ok(Some(id)) => st
                .store
                .list_tenants()
                .await
                .ok()
                .and_then(|ts| ts.into_iter().find(|t| t.id == id))
                .map(|t| t.name),
            _ => None,
        },
        None => None,
    };
    match (wanted, tenant) {
        (Some(c), Some(t)) => {
            let mut res = Redirect::to(&format!("/portal/{t}/signins/{c}")).into_response();
            render::secure_headers(res.headers_mut());
            res
        }
        _ => render::problem(
            &st,
            &ui,
            axum::http::StatusCode::NOT_FOUND,
            ui.t.not_found,
            ui.t.not_found_text,
            &cid,
        ),
    }
}
