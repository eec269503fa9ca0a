//! The portal's first page: sign-ins over time by status, the most frequent failure
//! reasons, and each policy's results over time, for a window of the log (from the
//! counts the log keeps as records are written: every sign-in of the window counts).

use super::charts::{self, Series, STATUS};
use super::render;
use super::session::PortalAdmin;
use super::Frame;
use crate::state::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use portvakt_core::ErrorCode;
use portvakt_store::StatsQuery;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};

/// Policy results, in the order they stack.
const RESULTS: [Series; 3] = [
    Series {
        name: "success",
        colour: "#2e7d4f",
    },
    Series {
        name: "failure",
        colour: "#c0392b",
    },
    Series {
        name: "reportOnly",
        colour: "#b7791f",
    },
];

/// One failure reason.
pub struct Reason {
    pub code: String,
    pub title: String,
    pub count: u64,
}

/// One policy's row.
pub struct PolicyChart {
    pub name: String,
    pub id: String,
    pub failures: u64,
    pub report_only: u64,
    pub svg: String,
}

/// One bucket's counts (the table beside the chart).
pub struct Bucket {
    pub label: String,
    pub counts: Vec<u64>,
}

#[derive(Template)]
#[template(path = "portal/overview.html")]
struct Page<'a> {
    f: Frame<'a>,
    range: String,
    records: u64,
    status_svg: String,
    buckets: Vec<Bucket>,
    reasons: Vec<Reason>,
    reasons_svg: String,
    policies: Vec<PolicyChart>,
}

fn label(ms: i64, bucket_ms: i64) -> String {
    let t = portvakt_core::clock::rfc3339_ms(ms);
    if bucket_ms >= 86_400_000 {
        t.get(..10).unwrap_or(&t).to_string()
    } else {
        t.get(5..16).unwrap_or(&t).replace('T', " ")
    }
}

/// `GET /portal/{tenant}/overview?range=24h`.
pub async fn overview(
    admin: PortalAdmin,
    State(st): State<AppState>,
    Path(_tenant): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let ui = admin.ui;
    let (range, span, bucket) = match q.get("range").map(String::as_str) {
        Some("1h") => ("1h", 3_600_000, 300_000),
        Some("7d") => ("7d", 7 * 86_400_000, 12 * 3_600_000),
        Some("30d") => ("30d", 30 * 86_400_000, 86_400_000),
        _ => ("24h", 86_400_000, 3_600_000),
    };
    let now = st.clock.now_ms();
    let first = (now - span) / bucket * bucket + bucket;
    let stats = match st
        .store
        .signin_stats(&StatsQuery {
            tenant_id: admin.tenant_id.clone(),
            since_ms: first,
            bucket_ms: bucket,
        })
        .await
    {
        Ok(s) => s,
        Err(e) => {
            return render::problem(
                &st,
                &ui,
                StatusCode::SERVICE_UNAVAILABLE,
                ui.t.overview,
                &e.to_string(),
                &admin.correlation_id,
            )
        }
    };
    let n = ((now - first) / bucket + 1).max(1) as usize;
    let starts: Vec<i64> = (0..n as i64).map(|i| first + i * bucket).collect();
    let labels: Vec<String> = starts.iter().map(|s| label(*s, bucket)).collect();
    let index = |b: i64| ((b - first) / bucket) as usize;
    let mut values = vec![vec![0u64; 3]; n];
    for (b, status, count) in &stats.by_status {
        if let Some(v) = values.get_mut(index(*b)) {
            v[usize::from((*status).min(2))] += count;
        }
    }
    let status_svg = charts::stacked_bars(ui.t.chart_status, &labels, &STATUS, &values, 720, 160);
    let buckets = labels
        .iter()
        .zip(values.iter())
        .filter(|(_, v)| v.iter().any(|c| *c > 0))
        .map(|(l, v)| Bucket {
            label: l.clone(),
            counts: v.clone(),
        })
        .collect();
    let reasons: Vec<Reason> = stats
        .errors
        .iter()
        .map(|(code, count)| {
            let name = format!("PV{code}");
            let title = ErrorCode::from_code(&name)
                .map(|c| ui.pages.code_title(c))
                .unwrap_or_default();
            Reason {
                code: name,
                title,
                count: *count,
            }
        })
        .collect();
    let reasons_svg = charts::hbars(
        ui.t.chart_reasons,
        &reasons
            .iter()
            .map(|r| (r.code.clone(), r.count))
            .collect::<Vec<_>>(),
        "#c0392b",
        480,
    );
    // Per policy (by id across the sets it appears in): results per bucket.
    let sets: HashMap<&str, Vec<(String, String)>> = stats
        .policy_sets
        .iter()
        .map(|(h, json)| {
            let list: Vec<Value> = serde_json::from_str(json).unwrap_or_default();
            (
                h.as_str(),
                list.iter()
                    .map(|p| {
                        (
                            p[0].as_str().unwrap_or("").to_string(),
                            p[1].as_str().unwrap_or("").to_string(),
                        )
                    })
                    .collect(),
            )
        })
        .collect();
    let mut per: BTreeMap<(String, String), Vec<Vec<u64>>> = BTreeMap::new();
    for (set, pos, result, b, count) in &stats.policies {
        let Some((id, name)) = sets.get(set.as_str()).and_then(|s| s.get(*pos as usize)) else {
            continue;
        };
        let k = match result.as_str() {
            "success" => 0,
            "failure" => 1,
            r if r.starts_with("reportOnly") && r != "reportOnlyNotApplied" => 2,
            _ => continue,
        };
        let v = per
            .entry((name.clone(), id.clone()))
            .or_insert_with(|| vec![vec![0; 3]; n]);
        if let Some(row) = v.get_mut(index(*b)) {
            row[k] += count;
        }
    }
    let policies = per
        .into_iter()
        .map(|((name, id), v)| PolicyChart {
            failures: v.iter().map(|r| r[1]).sum(),
            report_only: v.iter().map(|r| r[2]).sum(),
            svg: charts::stacked_bars(
                &format!("{}: {name}", ui.t.chart_policy),
                &labels,
                &RESULTS,
                &v,
                720,
                70,
            ),
            name,
            id,
        })
        .collect();
    let page = Page {
        f: Frame::new(
            &admin,
            "overview",
            &format!("range={range}&lang={}", ui.other().tag()),
        ),
        range: range.to_string(),
        records: stats.records,
        status_svg,
        buckets,
        reasons,
        reasons_svg,
        policies,
    };
    let mut res = render::page(StatusCode::OK, &ui, &page);
    super::touch(&mut res, &admin);
    res
}
