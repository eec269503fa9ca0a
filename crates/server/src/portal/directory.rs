//! The directory in the portal: users (search, create, disable and enable, revoke
//! sessions, reset MFA, roles), groups and their members, applications (create — the
//! secret is shown once —, admin consent), resources and signing keys (rotate). Every
//! change calls the admin API's own handler, so it is validated and audited the same
//! way, with the portal's admin as the initiator.

use super::render;
use super::session::PortalAdmin;
use super::Frame;
use crate::admin::{self, body::JsonBody, CreateApplication, UpdateUser};
use crate::error::ApiError;
use crate::state::AppState;
use askama::Template;
use axum::body::Body;
use axum::extract::{Form, Path, Query, State};
use axum::http::{header, HeaderValue, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use portvakt_core::import::{GroupSpec, ResourceSpec, UserSpec};
use portvakt_core::model::{Application, Group, Resource, User};
use serde_json::json;
use std::collections::HashMap;

/// What a directory page shows after a change, or why it did not happen.
#[derive(Default)]
pub struct Outcome {
    /// The change was made.
    pub done: bool,
    /// The refusal: code and reason.
    pub error: Option<String>,
}

impl Outcome {
    fn from_query(q: &HashMap<String, String>) -> Self {
        Outcome {
            done: q.contains_key("done"),
            error: None,
        }
    }
}

fn again(admin: &PortalAdmin, to: &str) -> Response {
    let mut res = StatusCode::SEE_OTHER.into_response();
    render::secure_headers(res.headers_mut());
    if let Ok(v) = HeaderValue::from_str(to) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    super::touch(&mut res, admin);
    res
}

fn why(e: &ApiError) -> String {
    format!("{}: {}", e.code.code(), e.detail)
}

fn words(s: &str) -> Vec<String> {
    s.split([',', ' ', '\n'])
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(str::to_string)
        .collect()
}

fn show(admin: &PortalAdmin, status: StatusCode, page: &impl Template) -> Response {
    let mut res = render::page(status, &admin.ui, page);
    super::touch(&mut res, admin);
    res
}

// ----- users -----------------------------------------------------------------

#[derive(Template)]
#[template(path = "portal/users.html")]
struct UsersPage<'a> {
    f: Frame<'a>,
    users: Vec<User>,
    /// How many users matched (more than shown when the list is cut).
    total: usize,
    search: String,
    outcome: Outcome,
    /// A generated password (user, password), shown this once.
    generated: Option<(String, String)>,
}

async fn users_page(
    admin: &PortalAdmin,
    st: &AppState,
    tenant: &str,
    search: String,
    outcome: Outcome,
    status: StatusCode,
) -> Response {
    users_page_with(admin, st, tenant, search, outcome, None, status).await
}

async fn users_page_with(
    admin: &PortalAdmin,
    st: &AppState,
    tenant: &str,
    search: String,
    outcome: Outcome,
    generated: Option<(String, String)>,
    status: StatusCode,
) -> Response {
    let users = match admin::list_users(
        admin.as_admin(),
        State(st.clone()),
        Path(tenant.to_string()),
    )
    .await
    {
        Ok(axum::Json(l)) => l.value,
        Err(e) => {
            return render::problem(
                st,
                &admin.ui,
                StatusCode::SERVICE_UNAVAILABLE,
                admin.ui.t.users,
                &why(&e),
                &admin.correlation_id,
            )
        }
    };
    let needle = search.to_lowercase();
    let users: Vec<User> = users
        .into_iter()
        .filter(|u| {
            needle.is_empty()
                || u.user_principal_name.to_lowercase().contains(&needle)
                || u.display_name.to_lowercase().contains(&needle)
        })
        .collect();
    // A page stays small however large the directory (10,000 users made 18 MB):
    // the first LIST_MAX, and the search narrows.
    let total = users.len();
    let users = users.into_iter().take(LIST_MAX).collect();
    let lang_q = format!(
        "q={}&lang={}",
        form_urlencoded::byte_serialize(search.as_bytes()).collect::<String>(),
        admin.ui.other().tag()
    );
    show(
        admin,
        status,
        &UsersPage {
            f: Frame::new(admin, "users", &lang_q),
            users,
            total,
            search,
            outcome,
            generated,
        },
    )
}

/// `GET /portal/{tenant}/users?q=…`.
pub async fn users(
    admin: PortalAdmin,
    State(st): State<AppState>,
    Path(tenant): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let search = q.get("q").cloned().unwrap_or_default();
    users_page(
        &admin,
        &st,
        &tenant,
        search,
        Outcome::from_query(&q),
        StatusCode::OK,
    )
    .await
}

/// `POST /portal/{tenant}/users` (`csrf`, `upn`, `displayName`, `password`): create.
pub async fn create_user(
    admin: PortalAdmin,
    State(st): State<AppState>,
    Path(tenant): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if !admin.csrf_ok(form.get("csrf").map(String::as_str)) {
        return render::csrf_refused(&st, &admin.ui, &admin.correlation_id);
    }
    let g = |k: &str| {
        form.get(k)
            .map(|s| s.trim().to_string())
            .unwrap_or_default()
    };
    let spec: Result<UserSpec, _> = serde_json::from_value(json!({
        "userPrincipalName": g("upn"),
        "displayName": g("displayName"),
        "password": form.get("password").cloned().unwrap_or_default(),
        "accountEnabled": true,
    }));
    let r = match spec {
        Ok(spec) => admin::create_user(
            admin.as_admin(),
            State(st.clone()),
            Path(tenant.clone()),
            JsonBody(spec),
        )
        .await
        .map(|_| ()),
        Err(e) => Err(ApiError::new(
            portvakt_core::ErrorCode::InvalidInput,
            e.to_string(),
        )),
    };
    match r {
        Ok(()) => again(&admin, &format!("/portal/{tenant}/users?done=1")),
        Err(e) => {
            users_page(
                &admin,
                &st,
                &tenant,
                String::new(),
                Outcome {
                    done: false,
                    error: Some(why(&e)),
                },
                StatusCode::BAD_REQUEST,
            )
            .await
        }
    }
}

/// `POST /portal/{tenant}/users/{upn}` (`csrf`, `action`: `disable`, `enable`,
/// `revoke`, `reset-mfa` or `roles` with `roles`).
pub async fn user_action(
    admin: PortalAdmin,
    State(st): State<AppState>,
    Path((tenant, upn)): Path<(String, String)>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if !admin.csrf_ok(form.get("csrf").map(String::as_str)) {
        return render::csrf_refused(&st, &admin.ui, &admin.correlation_id);
    }
    let a = admin.as_admin();
    let s = State(st.clone());
    let p = Path((tenant.clone(), upn.clone()));
    let update = |enabled: Option<bool>, roles: Option<Vec<String>>| UpdateUser {
        account_enabled: enabled,
        roles,
    };
    if form.get("action").map(String::as_str) == Some("reset-password") {
        let given = form.get("password").filter(|p| !p.is_empty()).cloned();
        let body = crate::admin::ResetPassword { password: given };
        let failed = |e: ApiError| Outcome {
            done: false,
            error: Some(why(&e)),
        };
        return match admin::reset_password(a, s, p, JsonBody(body)).await {
            Ok(axum::Json(r)) => match r.password {
                Some(pw) => {
                    let done = Outcome {
                        done: true,
                        error: None,
                    };
                    users_page_with(
                        &admin,
                        &st,
                        &tenant,
                        String::new(),
                        done,
                        Some((upn, pw)),
                        StatusCode::OK,
                    )
                    .await
                }
                None => again(&admin, &format!("/portal/{tenant}/users?done=1")),
            },
            Err(e) => {
                users_page(
                    &admin,
                    &st,
                    &tenant,
                    String::new(),
                    failed(e),
                    StatusCode::BAD_REQUEST,
                )
                .await
            }
        };
    }
    let r: Result<(), ApiError> = match form.get("action").map(String::as_str) {
        Some("disable") => admin::update_user(a, s, p, JsonBody(update(Some(false), None)))
            .await
            .map(|_| ()),
        Some("enable") => admin::update_user(a, s, p, JsonBody(update(Some(true), None)))
            .await
            .map(|_| ()),
        Some("roles") => admin::update_user(
            a,
            s,
            p,
            JsonBody(update(
                None,
                Some(words(form.get("roles").map(String::as_str).unwrap_or(""))),
            )),
        )
        .await
        .map(|_| ()),
        Some("revoke") => admin::revoke_sessions(a, s, p).await.map(|_| ()),
        Some("reset-mfa") => admin::reset_mfa(a, s, p).await.map(|_| ()),
        _ => Err(ApiError::new(
            portvakt_core::ErrorCode::InvalidInput,
            "action: disable, enable, roles, revoke, reset-mfa or reset-password",
        )),
    };
    match r {
        Ok(()) => again(&admin, &format!("/portal/{tenant}/users?done=1")),
        Err(e) => {
            users_page(
                &admin,
                &st,
                &tenant,
                String::new(),
                Outcome {
                    done: false,
                    error: Some(why(&e)),
                },
                StatusCode::BAD_REQUEST,
            )
            .await
        }
    }
}

// ----- groups ------------------------------------------------------------------

/// Users listed at most on the users page (each row has its forms: ~2 KB).
const LIST_MAX: usize = 50;
/// Members named per group on the groups page.
const MEMBERS_SHOWN: usize = 10;

/// A group and (the first [`MEMBERS_SHOWN`] of) its members.
pub struct GroupRow {
    pub group: Group,
    pub members: Vec<String>,
    /// Members not listed.
    pub more: usize,
}

#[derive(Template)]
#[template(path = "portal/groups.html")]
struct GroupsPage<'a> {
    f: Frame<'a>,
    groups: Vec<GroupRow>,
    outcome: Outcome,
}

async fn groups_page(
    admin: &PortalAdmin,
    st: &AppState,
    tenant: &str,
    outcome: Outcome,
    status: StatusCode,
) -> Response {
    let groups = admin::list_groups(
        admin.as_admin(),
        State(st.clone()),
        Path(tenant.to_string()),
    )
    .await;
    let users = admin::list_users(
        admin.as_admin(),
        State(st.clone()),
        Path(tenant.to_string()),
    )
    .await;
    let (groups, users) = match (groups, users) {
        (Ok(g), Ok(u)) => (g.0.value, u.0.value),
        (Err(e), _) | (_, Err(e)) => {
            return render::problem(
                st,
                &admin.ui,
                StatusCode::SERVICE_UNAVAILABLE,
                admin.ui.t.groups,
                &why(&e),
                &admin.correlation_id,
            )
        }
    };
    let groups = groups
        .into_iter()
        .map(|g| {
            let members: Vec<String> = users
                .iter()
                .filter(|u| u.groups.contains(&g.display_name))
                .map(|u| u.user_principal_name.clone())
                .collect();
            let more = members.len().saturating_sub(MEMBERS_SHOWN);
            GroupRow {
                members: members.into_iter().take(MEMBERS_SHOWN).collect(),
                more,
                group: g,
            }
        })
        .collect();
    show(
        admin,
        status,
        &GroupsPage {
            f: Frame::new(admin, "groups", &format!("lang={}", admin.ui.other().tag())),
            groups,
            outcome,
        },
    )
}

/// `GET /portal/{tenant}/groups`.
pub async fn groups(
    admin: PortalAdmin,
    State(st): State<AppState>,
    Path(tenant): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    groups_page(
        &admin,
        &st,
        &tenant,
        Outcome::from_query(&q),
        StatusCode::OK,
    )
    .await
}

/// `POST /portal/{tenant}/groups` (`csrf`, `displayName`).
pub async fn create_group(
    admin: PortalAdmin,
    State(st): State<AppState>,
    Path(tenant): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if !admin.csrf_ok(form.get("csrf").map(String::as_str)) {
        return render::csrf_refused(&st, &admin.ui, &admin.correlation_id);
    }
    let spec: Result<GroupSpec, _> = serde_json::from_value(
        json!({"displayName": form.get("displayName").map(|s| s.trim()).unwrap_or("")}),
    );
    let r = match spec {
        Ok(spec) => admin::create_group(
            admin.as_admin(),
            State(st.clone()),
            Path(tenant.clone()),
            JsonBody(spec),
        )
        .await
        .map(|_| ()),
        Err(e) => Err(ApiError::new(
            portvakt_core::ErrorCode::InvalidInput,
            e.to_string(),
        )),
    };
    match r {
        Ok(()) => again(&admin, &format!("/portal/{tenant}/groups?done=1")),
        Err(e) => {
            groups_page(
                &admin,
                &st,
                &tenant,
                Outcome {
                    done: false,
                    error: Some(why(&e)),
                },
                StatusCode::BAD_REQUEST,
            )
            .await
        }
    }
}

/// `POST /portal/{tenant}/groups/{group_id}/members` (`csrf`, `upn`, `action` =
/// `add` or `remove`): the admin API's membership change, audited the same way.
pub async fn member(
    admin: PortalAdmin,
    State(st): State<AppState>,
    Path((tenant, group_id)): Path<(String, String)>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if !admin.csrf_ok(form.get("csrf").map(String::as_str)) {
        return render::csrf_refused(&st, &admin.ui, &admin.correlation_id);
    }
    let upn = form.get("upn").map(|s| s.trim()).unwrap_or("").to_string();
    let r = match form.get("action").map(String::as_str) {
        Some("add") => {
            admin::add_group_member(
                admin.as_admin(),
                State(st.clone()),
                Path((tenant.clone(), group_id)),
                JsonBody(admin::MemberRef {
                    odata_id: None,
                    user_principal_name: Some(upn),
                }),
            )
            .await
        }
        Some("remove") => {
            admin::remove_group_member(
                admin.as_admin(),
                State(st.clone()),
                Path((tenant.clone(), group_id, upn)),
            )
            .await
        }
        _ => Err(ApiError::new(
            portvakt_core::ErrorCode::InvalidInput,
            "action must be add or remove",
        )),
    };
    match r {
        Ok(_) => again(&admin, &format!("/portal/{tenant}/groups?done=1")),
        Err(e) => {
            groups_page(
                &admin,
                &st,
                &tenant,
                Outcome {
                    done: false,
                    error: Some(why(&e)),
                },
                StatusCode::BAD_REQUEST,
            )
            .await
        }
    }
}

// ----- applications and resources --------------------------------------------------

#[derive(Template)]
#[template(path = "portal/apps.html")]
struct AppsPage<'a> {
    f: Frame<'a>,
    apps: Vec<Application>,
    resources: Vec<Resource>,
    grant_types: &'static [&'static str],
    outcome: Outcome,
    /// A created application's secret, shown this once.
    created: Option<(String, Option<String>)>,
}

async fn apps_page(
    admin: &PortalAdmin,
    st: &AppState,
    tenant: &str,
    outcome: Outcome,
    created: Option<(String, Option<String>)>,
    status: StatusCode,
) -> Response {
    let apps = admin::list_apps(
        admin.as_admin(),
        State(st.clone()),
        Path(tenant.to_string()),
    )
    .await;
    let resources = admin::list_resources(
        admin.as_admin(),
        State(st.clone()),
        Path(tenant.to_string()),
    )
    .await;
    let (apps, resources) = match (apps, resources) {
        (Ok(a), Ok(r)) => (a.0.value, r.0.value),
        (Err(e), _) | (_, Err(e)) => {
            return render::problem(
                st,
                &admin.ui,
                StatusCode::SERVICE_UNAVAILABLE,
                admin.ui.t.apps,
                &why(&e),
                &admin.correlation_id,
            )
        }
    };
    show(
        admin,
        status,
        &AppsPage {
            f: Frame::new(admin, "apps", &format!("lang={}", admin.ui.other().tag())),
            apps,
            resources,
            grant_types: portvakt_core::model::SUPPORTED_GRANT_TYPES,
            outcome,
            created,
        },
    )
}

/// `GET /portal/{tenant}/apps`: applications and resources.
pub async fn apps(
    admin: PortalAdmin,
    State(st): State<AppState>,
    Path(tenant): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    apps_page(
        &admin,
        &st,
        &tenant,
        Outcome::from_query(&q),
        None,
        StatusCode::OK,
    )
    .await
}

/// `POST /portal/{tenant}/apps` (`csrf`, `clientId`, `displayName`, `confidential`,
/// `grant_{type}`, `redirectUris`, `allowedScopes`): create; the page shows the
/// generated secret once (and is not cached).
pub async fn create_app(
    admin: PortalAdmin,
    State(st): State<AppState>,
    Path(tenant): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if !admin.csrf_ok(form.get("csrf").map(String::as_str)) {
        return render::csrf_refused(&st, &admin.ui, &admin.correlation_id);
    }
    let g = |k: &str| {
        form.get(k)
            .map(|s| s.trim().to_string())
            .unwrap_or_default()
    };
    let client_id = g("clientId");
    let body = CreateApplication {
        client_id: (!client_id.is_empty()).then_some(client_id),
        display_name: g("displayName"),
        confidential: form.contains_key("confidential"),
        grant_types: portvakt_core::model::SUPPORTED_GRANT_TYPES
            .iter()
            .filter(|t| form.contains_key(&format!("grant_{t}")))
            .map(|t| t.to_string())
            .collect(),
        redirect_uris: words(&g("redirectUris")),
        allowed_scopes: words(&g("allowedScopes")),
        access_token_lifetime_seconds: None,
        admin_consented: form.contains_key("adminConsented"),
        refresh_token_lifetime_seconds: None,
    };
    match admin::create_app(
        admin.as_admin(),
        State(st.clone()),
        Path(tenant.clone()),
        JsonBody(body),
    )
    .await
    {
        Ok((_, axum::Json(c))) => {
            apps_page(
                &admin,
                &st,
                &tenant,
                Outcome {
                    done: true,
                    error: None,
                },
                Some((c.application.client_id, c.client_secret)),
                StatusCode::CREATED,
            )
            .await
        }
        Err(e) => {
            apps_page(
                &admin,
                &st,
                &tenant,
                Outcome {
                    done: false,
                    error: Some(why(&e)),
                },
                None,
                StatusCode::BAD_REQUEST,
            )
            .await
        }
    }
}

/// `POST /portal/{tenant}/apps/{client_id}/consent` (`csrf`, `on`: `1` or `0`).
pub async fn consent(
    admin: PortalAdmin,
    State(st): State<AppState>,
    Path((tenant, client_id)): Path<(String, String)>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if !admin.csrf_ok(form.get("csrf").map(String::as_str)) {
        return render::csrf_refused(&st, &admin.ui, &admin.correlation_id);
    }
    let p = Path((tenant.clone(), client_id));
    let r = if form.get("on").map(String::as_str) == Some("1") {
        admin::grant_admin_consent(admin.as_admin(), State(st.clone()), p).await
    } else {
        admin::withdraw_admin_consent(admin.as_admin(), State(st.clone()), p).await
    };
    match r {
        Ok(_) => again(&admin, &format!("/portal/{tenant}/apps?done=1")),
        Err(e) => {
            apps_page(
                &admin,
                &st,
                &tenant,
                Outcome {
                    done: false,
                    error: Some(why(&e)),
                },
                None,
                StatusCode::BAD_REQUEST,
            )
            .await
        }
    }
}

/// `POST /portal/{tenant}/resources` (`csrf`, `identifier`, `displayName`, `scopes`).
pub async fn create_resource(
    admin: PortalAdmin,
    State(st): State<AppState>,
    Path(tenant): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if !admin.csrf_ok(form.get("csrf").map(String::as_str)) {
        return render::csrf_refused(&st, &admin.ui, &admin.correlation_id);
    }
    let g = |k: &str| {
        form.get(k)
            .map(|s| s.trim().to_string())
            .unwrap_or_default()
    };
    let spec: Result<ResourceSpec, _> = serde_json::from_value(
        json!({"identifier": g("identifier"), "displayName": g("displayName"), "scopes": words(&g("scopes"))}),
    );
    let r = match spec {
        Ok(spec) => admin::create_resource(
            admin.as_admin(),
            State(st.clone()),
            Path(tenant.clone()),
            JsonBody(spec),
        )
        .await
        .map(|_| ()),
        Err(e) => Err(ApiError::new(
            portvakt_core::ErrorCode::InvalidInput,
            e.to_string(),
        )),
    };
    match r {
        Ok(()) => again(&admin, &format!("/portal/{tenant}/apps?done=1")),
        Err(e) => {
            apps_page(
                &admin,
                &st,
                &tenant,
                Outcome {
                    done: false,
                    error: Some(why(&e)),
                },
                None,
                StatusCode::BAD_REQUEST,
            )
            .await
        }
    }
}

// ----- signing keys -------------------------------------------------------------------

/// A key, for the table.
pub struct KeyRow {
    pub kid: String,
    pub algorithm: String,
    pub state: String,
    pub active_from: String,
    pub published_until: String,
}

#[derive(Template)]
#[template(path = "portal/keys.html")]
struct KeysPage<'a> {
    f: Frame<'a>,
    keys: Vec<KeyRow>,
    outcome: Outcome,
}

async fn keys_page(
    admin: &PortalAdmin,
    st: &AppState,
    tenant: &str,
    outcome: Outcome,
    status: StatusCode,
) -> Response {
    let keys = match admin::list_keys(
        admin.as_admin(),
        State(st.clone()),
        Path(tenant.to_string()),
    )
    .await
    {
        Ok(k) => k.0.value,
        Err(e) => {
            return render::problem(
                st,
                &admin.ui,
                StatusCode::SERVICE_UNAVAILABLE,
                admin.ui.t.keys,
                &why(&e),
                &admin.correlation_id,
            )
        }
    };
    let t = |s: i64| {
        crate::access::graph_time(s)
            .replace('T', " ")
            .replace('Z', "")
    };
    let keys = keys
        .into_iter()
        .rev()
        .map(|k| KeyRow {
            kid: k.info.kid.clone(),
            algorithm: k.info.algorithm.as_str().to_string(),
            state: k.state.clone(),
            active_from: t(k.info.active_from),
            published_until: k.info.published_until.map(t).unwrap_or_default(),
        })
        .collect();
    show(
        admin,
        status,
        &KeysPage {
            f: Frame::new(admin, "keys", &format!("lang={}", admin.ui.other().tag())),
            keys,
            outcome,
        },
    )
}

/// `GET /portal/{tenant}/keys`.
pub async fn keys(
    admin: PortalAdmin,
    State(st): State<AppState>,
    Path(tenant): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    keys_page(
        &admin,
        &st,
        &tenant,
        Outcome::from_query(&q),
        StatusCode::OK,
    )
    .await
}

/// `POST /portal/{tenant}/keys/rotate` (`csrf`).
pub async fn rotate(
    admin: PortalAdmin,
    State(st): State<AppState>,
    Path(tenant): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if !admin.csrf_ok(form.get("csrf").map(String::as_str)) {
        return render::csrf_refused(&st, &admin.ui, &admin.correlation_id);
    }
    let req = Request::builder()
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from("{}"))
        .unwrap_or_default();
    match admin::rotate_keys(
        admin.as_admin(),
        State(st.clone()),
        Path(tenant.clone()),
        req,
    )
    .await
    {
        Ok(_) => again(&admin, &format!("/portal/{tenant}/keys?done=1")),
        Err(e) => {
            keys_page(
                &admin,
                &st,
                &tenant,
                Outcome {
                    done: false,
                    error: Some(why(&e)),
                },
                StatusCode::BAD_REQUEST,
            )
            .await
        }
    }
}
