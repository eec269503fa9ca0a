//! `/health/live`, `/health/ready`, and Prometheus metrics on the management
//! listener (`--metrics-listen`): counters move with real requests.

mod common;

use common::Server;
use serde_json::Value;

fn start_with_metrics() -> (Server, String) {
    let srv = Server::start_with(&["--metrics-listen", "127.0.0.1:0"]).expect("starts");
    let line = srv
        .stdout
        .iter()
        .find_map(|l| {
            l.trim()
                .strip_prefix("metrics:")
                .map(str::trim)
                .map(str::to_owned)
        })
        .unwrap_or_else(|| panic!("serve prints the metrics address: {:?}", srv.stdout));
    let base = line
        .split_whitespace()
        .next()
        .and_then(|u| u.strip_suffix("/metrics"))
        .expect("http://ADDR/metrics")
        .to_owned();
    (srv, base)
}

/// The value of the sample `name{labels}` (labels in the exposition's order), or 0.
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series).and_then(|v| v.trim().parse().ok()))
        .unwrap_or(0.0)
}

async fn scrape(srv: &Server, base: &str) -> String {
    let r = srv
        .http
        .get(format!("{base}/metrics"))
        .send()
        .await
        .expect("scrape");
    assert_eq!(r.status(), 200);
    let ct = r.headers()["content-type"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(ct.starts_with("application/openmetrics-text"), "{ct}");
    let text = r.text().await.expect("body");
    assert!(text.ends_with("# EOF\n"), "one EOF, at the end");
    assert_eq!(text.matches("# EOF").count(), 1);
    text
}

#[tokio::test]
async fn health_answers_on_both_listeners_and_says_what_it_checked() {
    let (srv, base) = start_with_metrics();
    for b in [srv.url.clone(), base.clone()] {
        let r = srv
            .http
            .get(format!("{b}/health/live"))
            .send()
            .await
            .expect("live");
        assert_eq!(r.status(), 200);
        let r = srv
            .http
            .get(format!("{b}/health/ready"))
            .send()
            .await
            .expect("ready");
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["cache-control"], "no-store");
        let v: Value = r.json().await.expect("json");
        assert_eq!(v["status"], "ready", "{v}");
        let names: Vec<&str> = v["checks"]
            .as_array()
            .expect("checks")
            .iter()
            .map(|c| c["name"].as_str().unwrap_or(""))
            .collect();
        assert_eq!(names, ["store", "keys", "signinLog"], "{v}");
        assert!(
            v["checks"]
                .as_array()
                .expect("checks")
                .iter()
                .all(|c| c["status"] == "ok"),
            "{v}"
        );
    }
    // The old path stays.
    assert_eq!(srv.get_json("/health").await.0, 200);
    // Metrics are not on the public listener.
    assert_eq!(
        srv.http
            .get(format!("{}/metrics", srv.url))
            .send()
            .await
            .expect("get")
            .status(),
        404
    );
}

#[tokio::test]
async fn metrics_count_requests_sign_ins_and_show_the_log_and_keys() {
    let (srv, base) = start_with_metrics();
    let before = scrape(&srv, &base).await;
    // Families with samples from the start (the labelled request and sign-in
    // families appear with their first sample, checked below).
    for family in [
        "# TYPE portvakt_store_errors counter",
        "# TYPE portvakt_signin_log_queue_depth gauge",
        "# TYPE portvakt_signin_log_records_written counter",
        "# TYPE portvakt_signin_log_records_dropped counter",
        "# TYPE portvakt_signin_log_writer_up gauge",
        "# TYPE portvakt_password_hash_queue_depth gauge",
        "# TYPE portvakt_signing_key_age_seconds gauge",
    ] {
        assert!(before.contains(family), "{family} missing:\n{before}");
    }
    assert_eq!(sample(&before, "portvakt_signin_log_writer_up"), 1.0);
    assert!(
        before.contains("portvakt_signing_key_age_seconds{tenant=\"contoso\"}"),
        "{before}"
    );

    for _ in 0..3 {
        srv.token("contoso", "api://analytics/.default").await;
    }
    let bad = srv
        .token_raw(
            "contoso",
            Some(("bench", "wrong-secret-0123456789")),
            &[
                ("grant_type", "client_credentials"),
                ("scope", "api://analytics/.default"),
            ],
        )
        .await;
    assert_eq!(bad.status(), 401);
    // The log's writer commits within 50 ms.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let after = scrape(&srv, &base).await;
    for family in [
        "# TYPE portvakt_http_requests counter",
        "# TYPE portvakt_http_request_duration_seconds histogram",
        "# TYPE portvakt_signins counter",
    ] {
        assert!(after.contains(family), "{family} missing:\n{after}");
    }
    let ok = "portvakt_signins_total{kind=\"servicePrincipal\",grant=\"client_credentials\",outcome=\"success\",error_code=\"0\"}";
    assert_eq!(sample(&after, ok) - sample(&before, ok), 3.0, "{after}");
    let failed = after
        .lines()
        .find(|l| {
            l.starts_with("portvakt_signins_total{kind=\"servicePrincipal\"")
                && l.contains("outcome=\"failure\"")
        })
        .unwrap_or_else(|| panic!("a failed sign-in series:\n{after}"));
    assert!(failed.contains("error_code=\"PV"), "{failed}");
    let route = "portvakt_http_requests_total{route=\"/{tenant}/oauth2/token\",method=\"POST\",status=\"200\"}";
    assert_eq!(
        sample(&after, route) - sample(&before, route),
        3.0,
        "{after}"
    );
    let hist = "portvakt_http_request_duration_seconds_count{route=\"/{tenant}/oauth2/token\"}";
    assert_eq!(sample(&after, hist) - sample(&before, hist), 4.0, "{after}");
    let written = "portvakt_signin_log_records_written_total";
    assert!(
        sample(&after, written) - sample(&before, written) >= 4.0,
        "{after}"
    );
}

#[tokio::test]
async fn ready_turns_503_with_the_reason_when_a_check_fails_and_back_when_it_passes() {
    let (srv, base) = start_with_metrics();
    let ready = |url: String| {
        let http = srv.http.clone();
        async move {
            let r = http.get(url).send().await.expect("send");
            let status = r.status().as_u16();
            (status, r.json::<Value>().await.expect("json"))
        }
    };
    let (s, v) = ready(format!("{}/health/ready", srv.url)).await;
    assert_eq!((s, v["status"].as_str()), (200, Some("ready")), "{v}");
    // Behind the server's back, another process takes the system tenant away (what a
    // bad manual edit or a restore of the wrong file would do): the store check fails.
    srv.sql("UPDATE tenants SET name = 'system-gone' WHERE name = 'system'")
        .await;
    for url in [
        format!("{}/health/ready", srv.url),
        format!("{base}/health/ready"),
    ] {
        let (s, v) = ready(url.clone()).await;
        assert_eq!(s, 503, "{url}: {v}");
        assert_eq!(v["status"], "notReady");
        let store = v["checks"]
            .as_array()
            .and_then(|c| c.iter().find(|c| c["name"] == "store"))
            .unwrap_or_else(|| panic!("a store check in {v}"));
        assert_eq!(store["status"], "failed");
        assert!(
            store["reason"]
                .as_str()
                .is_some_and(|r| r.contains("system tenant is missing")),
            "{v}"
        );
        let others_ok = v["checks"]
            .as_array()
            .expect("checks")
            .iter()
            .filter(|c| c["name"] != "store")
            .all(|c| c["status"] == "ok");
        assert!(others_ok, "only the failing check fails: {v}");
        // Live stays 200: the process is up, restarting it would not help.
        let (s, _) = ready(url.replace("/ready", "/live")).await;
        assert_eq!(s, 200);
    }
    srv.sql("UPDATE tenants SET name = 'system' WHERE name = 'system-gone'")
        .await;
    let (s, v) = ready(format!("{}/health/ready", srv.url)).await;
    assert_eq!((s, v["status"].as_str()), (200, Some("ready")), "{v}");
}
