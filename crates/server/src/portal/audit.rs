//! The audit log in the portal: every admin change, newest first, with the old and
//! new values of what changed.

use super::render;
use super::session::PortalAdmin;
use super::Frame;
use crate::state::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use portvakt_store::AuditQuery;
use std::collections::HashMap;

/// Records per page.
pub const PAGE: u32 = 50;

/// One changed property.
pub struct Prop {
    pub name: String,
    pub old: String,
    pub new: String,
}

/// One target of a change.
pub struct Target {
    pub kind: String,
    pub name: String,
    pub props: Vec<Prop>,
}

/// One record.
pub struct Row {
    pub time: String,
    pub activity: String,
    pub category: String,
    pub by: String,
    pub result: String,
    pub reason: String,
    pub targets: Vec<Target>,
    pub cid: String,
}

#[derive(Template)]
#[template(path = "portal/audit.html")]
struct ListPage<'a> {
    f: Frame<'a>,
    rows: Vec<Row>,
    next: Option<String>,
}

/// `GET /portal/{tenant}/audit`.
pub async fn list(
    admin: PortalAdmin,
    State(st): State<AppState>,
    Path(tenant): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let ui = admin.ui;
    let before = q.get("skip").and_then(|s| s.parse().ok());
    let page = match st
        .store
        .audits(&AuditQuery {
            tenant: tenant.clone(),
            before,
            limit: PAGE,
            ..Default::default()
        })
        .await
    {
        Ok(p) => p,
        Err(e) => {
            return render::problem(
                &st,
                &ui,
                StatusCode::SERVICE_UNAVAILABLE,
                ui.t.audit,
                &e.to_string(),
                &admin.correlation_id,
            )
        }
    };
    let rows = page
        .records
        .iter()
        .map(|a| Row {
            time: super::signins::short_time(&a.activity_date_time),
            activity: a.activity_display_name.clone(),
            category: a.category.clone(),
            by: match (&a.initiated_by.user, &a.initiated_by.app) {
                (Some(u), _) => u.user_principal_name.clone(),
                (None, Some(app)) => app.display_name.clone(),
                _ => String::new(),
            },
            result: a.result.clone(),
            reason: a.result_reason.clone(),
            targets: a
                .target_resources
                .iter()
                .map(|t| Target {
                    kind: t.kind.clone(),
                    name: if t.display_name.is_empty() {
                        t.id.clone()
                    } else {
                        t.display_name.clone()
                    },
                    props: t
                        .modified_properties
                        .iter()
                        .map(|p| Prop {
                            name: p.display_name.clone(),
                            old: p.old_value.clone(),
                            new: p.new_value.clone(),
                        })
                        .collect(),
                })
                .collect(),
            cid: a.correlation_id.clone(),
        })
        .collect();
    let next = page.next.map(|n| format!("?skip={n}"));
    let lang_q = format!("lang={}", ui.other().tag());
    let tpl = ListPage {
        f: Frame::new(&admin, "audit", &lang_q),
        rows,
        next,
    };
    let mut res = render::page(StatusCode::OK, &ui, &tpl);
    super::touch(&mut res, &admin);
    res
}
