//! Black-box: every error path of the token endpoint answers with RFC 6749 §5.2 JSON,
//! a stable Portvakt code, a correlation id matching the header, and never a 500.

mod common;
use base64::Engine;
use common::*;
use serde_json::Value;

struct Case {
    name: &'static str,
    content_type: Option<&'static str>,
    auth: Option<String>,
    body: Vec<u8>,
    status: u16,
    error: &'static str,
    code: &'static str,
    mentions: &'static str,
}

fn basic(id: &str, secret: &str) -> Option<String> {
    Some(format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"))
    ))
}

fn form(s: &str) -> Vec<u8> {
    s.as_bytes().to_vec()
}

const FORM: Option<&str> = Some("application/x-www-form-urlencoded");
const CC: &str = "grant_type=client_credentials";

fn cases() -> Vec<Case> {
    let ok = || basic("bench", SECRET);
    vec![
        Case { name: "body is not UTF-8", content_type: FORM, auth: ok(), body: vec![0xff, 0xfe, b'='], status: 400, error: "invalid_request", code: "PV1001", mentions: "UTF-8" },
        Case { name: "percent-encoding is not UTF-8", content_type: FORM, auth: ok(), body: form("grant_type=%FF"), status: 400, error: "invalid_request", code: "PV1001", mentions: "grant_type" },
        Case { name: "JSON instead of a form", content_type: Some("application/json"), auth: ok(), body: form(r#"{"grant_type":"client_credentials"}"#), status: 400, error: "invalid_request", code: "PV1002", mentions: "application/json" },
        Case { name: "no content type", content_type: None, auth: ok(), body: form(CC), status: 400, error: "invalid_request", code: "PV1002", mentions: "no Content-Type" },
        Case { name: "oversized body", content_type: FORM, auth: ok(), body: format!("{CC}&scope={}", "a".repeat(100_000)).into_bytes(), status: 413, error: "invalid_request", code: "PV1003", mentions: "16384" },
        Case { name: "no grant_type", content_type: FORM, auth: ok(), body: form("scope=api%3A%2F%2Fanalytics%2F.default"), status: 400, error: "invalid_request", code: "PV1004", mentions: "grant_type" },
        Case { name: "grant_type twice", content_type: FORM, auth: ok(), body: form("grant_type=client_credentials&grant_type=client_credentials"), status: 400, error: "invalid_request", code: "PV1005", mentions: "grant_type" },
        Case { name: "unknown grant type", content_type: FORM, auth: ok(), body: form("grant_type=password&username=a&password=b"), status: 400, error: "unsupported_grant_type", code: "PV1006", mentions: "'password'" },
        Case { name: "no credentials", content_type: FORM, auth: None, body: form(CC), status: 401, error: "invalid_client", code: "PV1101", mentions: "no client credentials" },
        Case { name: "unknown client", content_type: FORM, auth: basic("ghost", SECRET), body: form(CC), status: 401, error: "invalid_client", code: "PV1102", mentions: "'ghost'" },
        Case { name: "wrong secret (basic)", content_type: FORM, auth: basic("bench", "wrong-secret"), body: form(CC), status: 401, error: "invalid_client", code: "PV1103", mentions: "'bench'" },
        Case { name: "wrong secret (post)", content_type: FORM, auth: None, body: form("grant_type=client_credentials&client_id=bench&client_secret=nope"), status: 401, error: "invalid_client", code: "PV1103", mentions: "'bench'" },
        Case { name: "confidential client without secret", content_type: FORM, auth: None, body: form("grant_type=client_credentials&client_id=bench"), status: 401, error: "invalid_client", code: "PV1101", mentions: "confidential" },
        Case { name: "basic and post together", content_type: FORM, auth: ok(), body: form(&format!("{CC}&client_secret={SECRET}")), status: 400, error: "invalid_request", code: "PV1104", mentions: "both" },
        Case { name: "basic header not base64", content_type: FORM, auth: Some("Basic !!!".into()), body: form(CC), status: 401, error: "invalid_client", code: "PV1105", mentions: "base64" },
        Case { name: "bearer at the token endpoint", content_type: FORM, auth: Some("Bearer abc".into()), body: form(CC), status: 401, error: "invalid_client", code: "PV1105", mentions: "Basic" },
        Case { name: "basic without colon", content_type: FORM, auth: Some(format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("bench"))), body: form(CC), status: 401, error: "invalid_client", code: "PV1105", mentions: "':'" },
        Case { name: "public client", content_type: FORM, auth: None, body: form("grant_type=client_credentials&client_id=spa&scope=api%3A%2F%2Fanalytics%2F.default"), status: 400, error: "unauthorized_client", code: "PV1106", mentions: "public client" },
        Case { name: "public client sending a secret", content_type: FORM, auth: basic("spa", "whatever-secret"), body: form(CC), status: 401, error: "invalid_client", code: "PV1103", mentions: "public client" },
        Case { name: "grant not allowed", content_type: FORM, auth: basic("nogrant", "nogrant-secret-0123456789abcdef"), body: form(&format!("{CC}&scope=api%3A%2F%2Fanalytics%2F.default")), status: 400, error: "unauthorized_client", code: "PV1107", mentions: "grant types: none" },
        Case { name: "client_id differs from basic", content_type: FORM, auth: ok(), body: form(&format!("{CC}&client_id=other")), status: 400, error: "invalid_request", code: "PV1108", mentions: "'other'" },
        Case { name: "no scope, no resource", content_type: FORM, auth: ok(), body: form(CC), status: 400, error: "invalid_scope", code: "PV1201", mentions: ".default" },
        Case { name: "plain scope without resource", content_type: FORM, auth: ok(), body: form(&format!("{CC}&scope=Reports.Read")), status: 400, error: "invalid_scope", code: "PV1201", mentions: "Reports.Read" },
        Case { name: "unknown resource in scope", content_type: FORM, auth: ok(), body: form(&format!("{CC}&scope=api%3A%2F%2Fbilling%2F.default")), status: 400, error: "invalid_target", code: "PV1202", mentions: "api://billing" },
        Case { name: "unknown resource parameter", content_type: FORM, auth: ok(), body: form(&format!("{CC}&resource=api%3A%2F%2Fbilling")), status: 400, error: "invalid_target", code: "PV1202", mentions: "api://billing" },
        Case { name: "trailing slash is another resource", content_type: FORM, auth: ok(), body: form(&format!("{CC}&resource=api%3A%2F%2Fanalytics%2F")), status: 400, error: "invalid_target", code: "PV1202", mentions: "api://analytics/" },
        Case { name: "unknown scope", content_type: FORM, auth: ok(), body: form(&format!("{CC}&scope=api%3A%2F%2Fanalytics%2FBilling.Write")), status: 400, error: "invalid_scope", code: "PV1203", mentions: "Onboarding.ReadWrite, Reports.Read" },
        Case { name: "scope not allowed", content_type: FORM, auth: basic("narrow", "narrow-secret-0123456789abcdef"), body: form(&format!("{CC}&scope=api%3A%2F%2Fanalytics%2FOnboarding.ReadWrite")), status: 400, error: "invalid_scope", code: "PV1204", mentions: "'narrow'" },
        Case { name: "two resources", content_type: FORM, auth: ok(), body: form(&format!("{CC}&resource=api%3A%2F%2Fanalytics&resource=https%3A%2F%2Freports.example.com")), status: 400, error: "invalid_target", code: "PV1205", mentions: "one token per resource" },
        Case { name: "relative resource", content_type: FORM, auth: ok(), body: form(&format!("{CC}&resource=analytics")), status: 400, error: "invalid_target", code: "PV1206", mentions: "absolute URI" },
        Case { name: "openid scope", content_type: FORM, auth: ok(), body: form(&format!("{CC}&resource=api%3A%2F%2Fanalytics&scope=openid")), status: 400, error: "invalid_scope", code: "PV1207", mentions: "openid" },
        Case { name: ".default plus a scope", content_type: FORM, auth: ok(), body: form(&format!("{CC}&scope=api%3A%2F%2Fanalytics%2F.default+api%3A%2F%2Fanalytics%2FReports.Read")), status: 400, error: "invalid_scope", code: "PV1208", mentions: "Reports.Read" },
    ]
}

async fn check(
    res: reqwest::Response,
    what: &str,
    status: u16,
    error: &str,
    code: &str,
    mentions: &str,
) -> Value {
    assert_eq!(res.status().as_u16(), status, "{what}: status");
    assert_eq!(res.headers()["content-type"], "application/json", "{what}");
    let header_cid = res
        .headers()
        .get("x-correlation-id")
        .expect("correlation header")
        .to_str()
        .expect("ascii")
        .to_string();
    let body: Value = res
        .json()
        .await
        .unwrap_or_else(|e| panic!("{what}: body is not JSON: {e}"));
    assert_eq!(body["error"], error, "{what}: {body}");
    assert_eq!(body["error_code"], code, "{what}: {body}");
    assert_eq!(body["correlation_id"], header_cid.as_str(), "{what}");
    let desc = body["error_description"].as_str().expect("description");
    assert!(
        desc.contains(mentions),
        "{what}: description should mention {mentions:?}: {desc}"
    );
    assert!(
        body["error_uri"]
            .as_str()
            .expect("uri")
            .ends_with(&format!("/errors/{code}")),
        "{what}"
    );
    assert!(!body["fix"].as_str().expect("fix").is_empty(), "{what}");
    body
}

#[tokio::test]
async fn every_token_endpoint_error_has_its_code() {
    let srv = Server::start();
    let url = format!("{}/oauth2/token", srv.issuer("contoso"));
    for c in cases() {
        let mut req = srv.http.post(&url).body(c.body.clone());
        if let Some(ct) = c.content_type {
            req = req.header("content-type", ct);
        }
        if let Some(a) = &c.auth {
            req = req.header("authorization", a);
        }
        let res = req.send().await.expect("send");
        let basic_attempted = c.auth.as_deref().is_some_and(|a| a.starts_with("Basic"));
        if c.status == 401 && basic_attempted {
            assert!(
                res.headers()
                    .get("www-authenticate")
                    .is_some_and(|v| v.to_str().unwrap_or("").starts_with("Basic")),
                "{}: RFC 6749 §5.2 challenge",
                c.name
            );
        }
        check(res, c.name, c.status, c.error, c.code, c.mentions).await;
    }
}

#[tokio::test]
async fn secrets_never_appear_in_error_bodies() {
    let srv = Server::start();
    let res = srv
        .token_raw(
            "contoso",
            Some(("bench", "my-wrong-secret-value")),
            &[("grant_type", "client_credentials")],
        )
        .await;
    let text = res.text().await.expect("text");
    assert!(
        !text.contains("my-wrong-secret-value") && !text.contains(SECRET),
        "{text}"
    );
}

#[tokio::test]
async fn routing_errors_are_json_too() {
    let srv = Server::start();
    let res = srv
        .http
        .get(format!("{}/no/such/path", srv.url))
        .send()
        .await
        .expect("send");
    check(
        res,
        "unknown path",
        404,
        "not_found",
        "PV1008",
        "no endpoint",
    )
    .await;
    let res = srv
        .http
        .get(format!("{}/oauth2/token", srv.issuer("contoso")))
        .send()
        .await
        .expect("send");
    check(res, "GET token", 405, "invalid_request", "PV1009", "method").await;
    let res = srv
        .token_raw(
            "nope",
            Some(("bench", SECRET)),
            &[("grant_type", "client_credentials")],
        )
        .await;
    check(res, "unknown tenant", 404, "not_found", "PV1301", "'nope'").await;
}

#[tokio::test]
async fn a_caller_supplied_correlation_id_is_echoed_and_garbage_is_replaced() {
    let srv = Server::start();
    let res = srv
        .http
        .get(format!("{}/health", srv.url))
        .header("x-correlation-id", "abc-123")
        .send()
        .await
        .expect("send");
    assert_eq!(res.headers()["x-correlation-id"], "abc-123");
    let res = srv
        .http
        .get(format!("{}/health", srv.url))
        .header("x-correlation-id", "<script>")
        .send()
        .await
        .expect("send");
    let cid = res.headers()["x-correlation-id"]
        .to_str()
        .expect("ascii")
        .to_string();
    assert_ne!(cid, "<script>");
    assert_eq!(cid.len(), 36, "a fresh UUID");
}

#[tokio::test]
async fn error_pages_explain_each_code() {
    let srv = Server::start();
    let (s, v) = srv.get_json("/errors/PV1103").await;
    assert_eq!(s, 200);
    assert_eq!(v["error"], "invalid_client");
    assert!(v["fix"].as_str().expect("fix").contains("secret"));
    let html = srv
        .http
        .get(format!("{}/errors/PV1202", srv.url))
        .header("accept", "text/html")
        .send()
        .await
        .expect("send")
        .text()
        .await
        .expect("text");
    assert!(html.contains("<h1>PV1202"), "{html}");
    let (s, v) = srv.get_json("/errors/PV9999").await;
    assert_eq!((s, v["error_code"].as_str()), (404, Some("PV1008")));
}

#[tokio::test]
async fn many_hostile_bodies_never_cause_a_500() {
    let srv = Server::start();
    let url = format!("{}/oauth2/token", srv.issuer("contoso"));
    let bodies: Vec<Vec<u8>> = vec![
        b"".to_vec(),
        b"&&&&".to_vec(),
        b"=".to_vec(),
        b"%".to_vec(),
        b"%zz=%zz".to_vec(),
        b"grant_type".to_vec(),
        b"grant_type=client_credentials&scope=%00".to_vec(),
        b"grant_type=client_credentials&scope=\"\\".to_vec(),
        vec![0u8; 1000],
        "grant_type=client_credentials&scope=ü".as_bytes().to_vec(),
        b"grant_type=client_credentials&resource=%20".to_vec(),
        b"grant_type=client_credentials&resource=a:b#c".to_vec(),
    ];
    for b in bodies {
        for auth in [
            None,
            basic("bench", SECRET),
            Some("Basic".to_string()),
            Some("".to_string()),
        ] {
            let mut req = srv
                .http
                .post(&url)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(b.clone());
            if let Some(a) = &auth {
                req = req.header("authorization", a);
            }
            let res = req.send().await.expect("send");
            let s = res.status().as_u16();
            assert!(
                (400..500).contains(&s),
                "{:?} with {auth:?} gave {s}",
                String::from_utf8_lossy(&b)
            );
            let v: Value = res.json().await.expect("json");
            assert!(
                v["error_code"]
                    .as_str()
                    .is_some_and(|c| c.starts_with("PV1")),
                "{v}"
            );
        }
    }
}
