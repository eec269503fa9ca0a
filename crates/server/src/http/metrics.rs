//! Prometheus metrics (`prometheus-client`, the Prometheus project's Rust client),
//! served as text at `/metrics` on the management listener (`serve
//! --metrics-listen ADDR`; off by default, no authentication there, as Prometheus
//! scrapes it — Keycloak's management-port convention). Every family is listed in
//! the README.
//!
//! Counters that move on the request path (requests, latency, sign-ins, store
//! errors) live in one process-wide registry, [`metrics`]. Figures that are read
//! rather than counted (the sign-in log's queue and writer, the password-hash queue,
//! signing-key age) are taken at scrape time from the [`AppState`].

use crate::state::AppState;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::sync::OnceLock;
use std::time::Instant;

/// Labels of a request: the route's pattern (never the raw path: bounded), the
/// method, the status.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    method: String,
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

/// Labels of a sign-in: Graph's `signInEventTypes` kind, the protocol or grant, the
/// outcome and the Portvakt error code (`0` for success).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SignInLabels {
    kind: String,
    grant: String,
    outcome: String,
    error_code: String,
}

/// The process-wide counters.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram>,
    signins: Family<SignInLabels, Counter>,
    store_errors: Counter,
}

fn latency_histogram() -> Histogram {
    // 0.25 ms to ~4 s.
    Histogram::new(exponential_buckets(0.000_25, 2.0, 15))
}

/// The process-wide registry.
pub fn metrics() -> &'static Metrics {
    static M: OnceLock<Metrics> = OnceLock::new();
    M.get_or_init(|| {
        let mut registry = Registry::default();
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<RouteLabels, Histogram>::new_with_constructor(
            latency_histogram as fn() -> Histogram,
        );
        let signins = Family::<SignInLabels, Counter>::default();
        let store_errors = Counter::default();
        registry.register(
            "portvakt_http_requests",
            "HTTP requests answered, by route pattern, method and status",
            requests.clone(),
        );
        registry.register(
            "portvakt_http_request_duration_seconds",
            "Time from request to response headers, by route pattern",
            latency.clone(),
        );
        registry.register(
            "portvakt_signins",
            "Sign-in attempts (each is one sign-in log record), by kind (interactiveUser, nonInteractiveUser, servicePrincipal), grant or protocol, outcome and Portvakt error code; successes of a token grant are the tokens issued",
            signins.clone(),
        );
        registry.register(
            "portvakt_store_errors",
            "Store operations that failed (database unavailable or stored data unreadable)",
            store_errors.clone(),
        );
        Metrics {
            registry,
            requests,
            latency,
            signins,
            store_errors,
        }
    })
}

impl Metrics {
    /// Count a sign-in attempt.
    pub fn signin(&self, ev: &portvakt_core::signin::SignInEvent) {
        let code = ev.error_code.map(|c| c.code().to_owned());
        self.signins
            .get_or_create(&SignInLabels {
                kind: ev.kind.event_type().to_owned(),
                grant: ev.protocol.clone().unwrap_or_else(|| "none".into()),
                outcome: if code.is_some() { "failure" } else { "success" }.into(),
                error_code: code.unwrap_or_else(|| "0".into()),
            })
            .inc();
    }

    /// Count a store error.
    pub fn store_error(&self) {
        self.store_errors.inc();
    }
}

/// Middleware on the main router: count and time every request by route pattern.
pub async fn track(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = req.method().as_str().to_owned();
    let start = Instant::now();
    let res = next.run(req).await;
    let m = metrics();
    m.latency
        .get_or_create(&RouteLabels {
            route: route.clone(),
        })
        .observe(start.elapsed().as_secs_f64());
    m.requests
        .get_or_create(&RequestLabels {
            route,
            method,
            status: res.status().as_u16().to_string(),
        })
        .inc();
    res
}

/// What is read at scrape time.
#[derive(Debug)]
struct Snapshot {
    queued: i64,
    written: u64,
    dropped: u64,
    batches: u64,
    failed_batches: u64,
    writer_alive: bool,
    hash_queue: i64,
    key_ages: Vec<(String, i64)>,
}

impl Collector for Snapshot {
    fn encode(&self, mut e: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let gauge = |e: &mut DescriptorEncoder, name: &str, help: &str, v: i64| {
            let g = ConstGauge::new(v);
            let me = e.encode_descriptor(name, help, None, g.metric_type())?;
            g.encode(me)
        };
        let counter = |e: &mut DescriptorEncoder, name: &str, help: &str, v: u64| {
            let c = ConstCounter::new(v);
            let me = e.encode_descriptor(name, help, None, c.metric_type())?;
            c.encode(me)
        };
        gauge(
            &mut e,
            "portvakt_signin_log_queue_depth",
            "Sign-in events waiting for the log's writer (capacity 65536)",
            self.queued,
        )?;
        counter(
            &mut e,
            "portvakt_signin_log_records_written",
            "Sign-in records written",
            self.written,
        )?;
        counter(&mut e, "portvakt_signin_log_records_dropped", "Sign-in records not written because the writer fell behind (its queue was full); each is also logged", self.dropped)?;
        counter(
            &mut e,
            "portvakt_signin_log_batches",
            "Batches the sign-in log's writer committed",
            self.batches,
        )?;
        counter(
            &mut e,
            "portvakt_signin_log_batches_failed",
            "Batches the store refused (retried with backoff)",
            self.failed_batches,
        )?;
        gauge(
            &mut e,
            "portvakt_signin_log_writer_up",
            "1 while the sign-in log's writer runs",
            i64::from(self.writer_alive),
        )?;
        gauge(
            &mut e,
            "portvakt_password_hash_queue_depth",
            "Password hashes waiting for a hashing thread (one per CPU)",
            self.hash_queue,
        )?;
        let g = ConstGauge::new(0i64);
        let mut fam = e.encode_descriptor(
            "portvakt_signing_key_age_seconds",
            "Age of the key that signs each tenant's access tokens now",
            None,
            g.metric_type(),
        )?;
        for (tenant, age) in &self.key_ages {
            let labels = [("tenant", tenant.as_str())];
            ConstGauge::new(*age).encode(fam.encode_family(&labels)?)?;
        }
        Ok(())
    }
}

/// GET `/metrics`: Prometheus text exposition (OpenMetrics 1.0 text format).
pub async fn scrape(State(st): State<AppState>) -> Response {
    let now = st.clock.now();
    let mut key_ages = Vec::new();
    if let Ok(tenants) = st.store.list_tenants().await {
        for t in tenants {
            if let Ok(Some(view)) = st.directory.get(&t.name, now).await {
                let active = view.signer(now).map(|k| k.kid().to_owned());
                if let Some(info) = view.keys.iter().find(|i| Some(&i.kid) == active.as_ref()) {
                    key_ages.push((t.name.clone(), now - info.created_at));
                }
            }
        }
    }
    let c = st.signins.counters();
    let load = |a: &std::sync::atomic::AtomicU64| a.load(std::sync::atomic::Ordering::Relaxed);
    let snapshot = Snapshot {
        queued: i64::try_from(st.signins.queued()).unwrap_or(i64::MAX),
        written: load(&c.written),
        dropped: load(&c.dropped),
        batches: load(&c.batches),
        failed_batches: load(&c.failed_batches),
        writer_alive: st.signins.writer_alive(),
        hash_queue: i64::try_from(crate::password::queue_depth()).unwrap_or(i64::MAX),
        key_ages,
    };
    let mut dynamic = Registry::default();
    dynamic.register_collector(Box::new(snapshot));
    let mut body = String::new();
    let encoded =
        prometheus_client::encoding::text::encode_registry(&mut body, &metrics().registry)
            .and_then(|()| prometheus_client::encoding::text::encode_registry(&mut body, &dynamic))
            .and_then(|()| prometheus_client::encoding::text::encode_eof(&mut body));
    if let Err(e) = encoded {
        tracing::error!(error = %e, "metrics could not be encoded");
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    let mut r = body.into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    r
}

/// The management listener's router: `/metrics`, `/health/live`, `/health/ready`.
pub fn management(state: AppState) -> axum::Router {
    axum::Router::new()
        .route("/metrics", axum::routing::get(scrape))
        .route("/health/live", axum::routing::get(crate::health::live))
        .route("/health/ready", axum::routing::get(crate::health::ready))
        .with_state(state)
}
