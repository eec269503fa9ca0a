//! The Analytics API, protected by `portvakt-guard`: audience `api://analytics`,
//! scope `Onboarding.ReadWrite`. It onboards the caller's tenant, reports its status,
//! and lists the devices that reported in since (simulated: one every few seconds
//! after onboarding, so that the dashboard has something to show).

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use portvakt_guard::{Guard, GuardConfig, GuardLayer, VerifiedClaims};
use portvakt_server::access::graph_time;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Simulated devices, in the order they report in.
const DEVICES: &[(&str, &str)] = &[
    ("LAPTOP-7F3K2Q", "Windows 11"),
    ("MBP-ANNA", "macOS 15"),
    ("PIXEL-8-ERIK", "Android 15"),
    ("DESKTOP-QA-04", "Windows 11"),
    ("IPHONE-SARA", "iOS 18"),
    ("BUILD-AGENT-2", "Ubuntu 24.04"),
];
/// Seconds between two simulated devices reporting in.
const DEVICE_INTERVAL: i64 = 3;

#[derive(Debug, Clone)]
struct Onboarding {
    by: String,
    at: i64,
}

/// The API's state: the guard and the onboarded tenants (in memory).
#[derive(Clone)]
pub struct Api {
    guard: Guard,
    tenants: Arc<Mutex<HashMap<String, Onboarding>>>,
}

impl Api {
    /// Trust tokens of `issuer` for `api://analytics` with `Onboarding.ReadWrite`.
    /// `leeway` is the clock skew allowed on `exp` (the guard's default is 60 s; the
    /// service runs beside Portvakt, so the demo uses a few seconds).
    pub fn new(issuer: &str, leeway: u64) -> Result<Self, String> {
        let guard = Guard::new(
            GuardConfig::issuer(issuer)
                .audience(crate::demo::RESOURCE)
                .scope(crate::demo::SCOPE)
                .leeway(leeway),
        )
        .map_err(|e| format!("the guard cannot be configured: {e}"))?;
        Ok(Self {
            guard,
            tenants: Arc::default(),
        })
    }

    /// `/api/onboarding` (POST onboards, GET reports) and `/api/devices`.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/api/onboarding", post(onboard).get(status))
            .route("/api/devices", get(devices))
            .layer(GuardLayer::new(self.guard.clone()))
            .with_state(self.clone())
    }
}

fn caller(c: &VerifiedClaims) -> (String, String) {
    let claims = c.claims();
    let user = ["preferred_username", "upn"]
        .iter()
        .find_map(|k| claims.all.get(*k).and_then(Value::as_str))
        .unwrap_or(&claims.sub)
        .to_owned();
    (claims.iss.clone(), user)
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// How many simulated devices have reported in since onboarding.
fn reported(o: &Onboarding) -> usize {
    usize::try_from((now() - o.at) / DEVICE_INTERVAL + 1)
        .unwrap_or(0)
        .min(DEVICES.len())
}

fn status_of(tenant: &str, o: Option<&Onboarding>) -> Value {
    match o {
        None => json!({"tenant": tenant, "status": "notOnboarded"}),
        Some(o) => {
            let n = reported(o);
            json!({"tenant": tenant, "status": "onboarded", "onboardedBy": o.by,
                   "onboardedDateTime": graph_time(o.at), "devicesReported": n})
        }
    }
}

/// POST `/api/onboarding`: onboard the caller's tenant (idempotent).
async fn onboard(State(api): State<Api>, c: VerifiedClaims) -> (StatusCode, Json<Value>) {
    let (tenant, user) = caller(&c);
    let mut t = api.tenants.lock().unwrap_or_else(|p| p.into_inner());
    let created = !t.contains_key(&tenant);
    let o = t
        .entry(tenant.clone())
        .or_insert(Onboarding {
            by: user,
            at: now(),
        })
        .clone();
    let code = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    (code, Json(status_of(&tenant, Some(&o))))
}

/// GET `/api/onboarding`: whether the caller's tenant is onboarded.
async fn status(State(api): State<Api>, c: VerifiedClaims) -> Json<Value> {
    let (tenant, _) = caller(&c);
    let t = api.tenants.lock().unwrap_or_else(|p| p.into_inner());
    Json(status_of(&tenant, t.get(&tenant)))
}

/// GET `/api/devices`: the devices of the caller's tenant that reported in.
async fn devices(State(api): State<Api>, c: VerifiedClaims) -> Json<Value> {
    let (tenant, _) = caller(&c);
    let t = api.tenants.lock().unwrap_or_else(|p| p.into_inner());
    let list: Vec<Value> = match t.get(&tenant) {
        None => Vec::new(),
        Some(o) => DEVICES
            .iter()
            .take(reported(o))
            .enumerate()
            .map(|(i, (name, os))| {
                json!({"displayName": name, "operatingSystem": os,
                           "reportedDateTime": graph_time(o.at + i as i64 * DEVICE_INTERVAL)})
            })
            .collect(),
    };
    Json(json!({"value": list}))
}
