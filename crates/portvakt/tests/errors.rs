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

/// GET a troubleshooting page as a browser would, with `Accept-Language` if given.
async fn page(srv: &Server, path: &str, accept_language: Option<&str>) -> reqwest::Response {
    let mut req = srv
        .http
        .get(format!("{}{path}", srv.url))
        .header("accept", "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8");
    if let Some(l) = accept_language {
        req = req.header("accept-language", l);
    }
    req.send().await.expect("send")
}

#[tokio::test]
async fn every_code_has_a_troubleshooting_page_in_english_and_swedish() {
    let srv = Server::start();
    for c in portvakt_core::ErrorCode::ALL {
        for (lang, means, persists, check) in [
            ("en", "What it means", "Why it can persist", "What to check"),
            (
                "sv",
                "Vad det betyder",
                "Varför det kan kvarstå",
                "Vad du kan kontrollera",
            ),
        ] {
            let res = page(&srv, &format!("/errors/{}?lang={lang}", c.code()), None).await;
            let what = format!("{} in {lang}", c.code());
            assert_eq!(res.status(), 200, "{what}");
            let h = res.headers().clone();
            let csp = h["content-security-policy"].to_str().expect("ascii");
            assert!(
                csp.contains("default-src 'none'") && !csp.contains("script-src"),
                "{what}: {csp}"
            );
            assert!(h["cache-control"]
                .to_str()
                .expect("ascii")
                .starts_with("public"));
            assert_eq!(h["vary"], "Accept, Accept-Language", "{what}");
            assert_eq!(h["x-frame-options"], "DENY", "{what}");
            let body = res.text().await.expect("text");
            assert!(body.contains(&format!("<html lang=\"{lang}\">")), "{what}");
            assert!(body.contains(&format!("<h1>{}: ", c.code())), "{what}");
            for (id, heading) in [("means", means), ("persists", persists), ("check", check)] {
                let section = body
                    .split(&format!("<section id=\"{id}\">"))
                    .nth(1)
                    .and_then(|s| s.split("</section>").next())
                    .unwrap_or_else(|| panic!("{what}: no {id} section"));
                assert!(section.contains(heading), "{what}: {id} heading");
                let text_len = section.len() - heading.len();
                assert!(text_len > 60, "{what}: {id} is nearly empty: {section}");
            }
            let checks = body.matches("<li>").count();
            assert!(checks >= 2, "{what}: {checks} checks");
            assert!(
                body.contains(&format!("<code>{}</code>", c.oauth_error())),
                "{what}: OAuth error"
            );
            assert!(body.contains(&c.status().to_string()), "{what}: status");
            assert!(!body.contains("<script"), "{what}");
        }
    }
}

#[tokio::test]
async fn the_language_comes_from_the_query_then_accept_language() {
    let srv = Server::start();
    let text = |r: reqwest::Response| async move { r.text().await.expect("text") };
    let sv = text(page(&srv, "/errors/PV2011?lang=sv", None).await).await;
    assert!(sv.contains("<html lang=\"sv\">") && sv.contains("Åtkomsttoken har gått ut"));
    assert!(
        sv.contains("href=\"?lang=en\"") && sv.contains("In English"),
        "switch"
    );
    let header = text(page(&srv, "/errors/PV2011", Some("sv-SE,sv;q=0.9")).await).await;
    assert!(
        header.contains("<html lang=\"sv\">"),
        "Accept-Language sv-SE"
    );
    assert!(header.contains("Vad det betyder"));
    let weighted = text(page(&srv, "/errors/PV2011", Some("en;q=0.2, sv;q=0.8")).await).await;
    assert!(weighted.contains("<html lang=\"sv\">"), "q-values decide");
    let query_wins = text(page(&srv, "/errors/PV2011?lang=en", Some("sv")).await).await;
    assert!(query_wins.contains("<html lang=\"en\">"));
    assert!(query_wins.contains("The access token has expired"));
    assert!(query_wins.contains("href=\"?lang=sv\"") && query_wins.contains("På svenska"));
    let unknown = text(page(&srv, "/errors/PV2011?lang=xx", Some("fr, de")).await).await;
    assert!(unknown.contains("<html lang=\"en\">"), "default English");
    let lower = page(&srv, "/errors/pv2011", None).await;
    assert_eq!(lower.status(), 200, "codes are case-insensitive");
}

#[tokio::test]
async fn a_correlation_id_links_to_the_sign_in_logs_and_bad_ones_are_ignored() {
    let srv = Server::start();
    let body = page(&srv, "/errors/PV3010?correlation_id=abc-123_X.9", None)
        .await
        .text()
        .await
        .expect("text");
    assert!(body.contains("<code>abc-123_X.9</code>"), "{body}");
    assert!(
        body.contains(&format!(
            "href=\"{}/portal/signins?correlationId=abc-123_X.9\"",
            srv.url
        )),
        "{body}"
    );
    assert!(body.contains("Find this sign-in in the sign-in logs"));
    assert!(
        ["&amp;", "&#38;"]
            .iter()
            .any(|amp| body.contains(&format!("href=\"?lang=sv{amp}correlation_id=abc-123_X.9\""))),
        "the language switch keeps the id (with & escaped): {body}"
    );
    for bad in [
        "%3Cscript%3Ealert(1)%3C%2Fscript%3E",
        "a%22onmouseover%3D%22x",
        "x%20y",
        &"a".repeat(65),
    ] {
        let body = page(&srv, &format!("/errors/PV3010?correlation_id={bad}"), None)
            .await
            .text()
            .await
            .expect("text");
        assert!(!body.contains("portal/signins"), "{bad}: ignored");
        assert!(
            !body.contains("<script") && !body.contains("onmouseover"),
            "{bad}"
        );
    }
    let sv = page(&srv, "/errors/PV3010?correlation_id=abc&lang=sv", None)
        .await
        .text()
        .await
        .expect("text");
    assert!(
        sv.contains("Hitta inloggningen i inloggningsloggarna"),
        "{sv}"
    );
}

#[tokio::test]
async fn the_json_variant_has_the_troubleshooting_text() {
    let srv = Server::start();
    let (s, v) = srv.get_json("/errors/PV2011").await;
    assert_eq!(s, 200);
    assert_eq!(v["code"], "PV2011");
    assert_eq!(v["error"], "invalid_token");
    assert_eq!(v["status"], 401);
    assert_eq!(v["title"], "The access token has expired");
    assert_eq!(v["lang"], "en");
    assert!(v["fix"]
        .as_str()
        .is_some_and(|f| f.contains("refresh token")));
    for f in ["means", "persists"] {
        assert!(v[f].as_str().is_some_and(|t| t.len() > 40), "{f}: {v}");
    }
    let check = v["check"].as_array().expect("check is an array");
    assert!(
        check.len() >= 2
            && check
                .iter()
                .all(|c| c.as_str().is_some_and(|s| !s.is_empty()))
    );
    let (_, sv) = srv.get_json("/errors/PV2011?lang=sv").await;
    assert_eq!(sv["title"], "Åtkomsttoken har gått ut");
    assert_eq!(sv["lang"], "sv");
    assert_eq!(sv["check"].as_array().map(Vec::len), Some(check.len()));
    let res = srv
        .http
        .get(format!("{}/errors/PV2011", srv.url))
        .header("accept-language", "sv-SE,sv;q=0.9")
        .send()
        .await
        .expect("send");
    assert_eq!(res.headers()["vary"], "Accept, Accept-Language");
    let by_header: Value = res.json().await.expect("json");
    assert_eq!(by_header["lang"], "sv");
}

#[tokio::test]
async fn the_index_lists_every_code() {
    let srv = Server::start();
    let body = page(&srv, "/errors/", None)
        .await
        .text()
        .await
        .expect("text");
    let (_, sv) = srv.get_json("/errors/?lang=sv").await;
    let codes = sv["codes"].as_array().expect("codes");
    assert_eq!(codes.len(), portvakt_core::ErrorCode::ALL.len());
    for c in portvakt_core::ErrorCode::ALL {
        assert!(
            body.contains(&format!("<a href=\"{0}?lang=en\">{0}</a>", c.code())),
            "{} is not on the index",
            c.code()
        );
    }
    assert!(codes
        .iter()
        .any(|c| c["title"] == "Klienthemligheten är fel"));
}

#[tokio::test]
async fn a_sign_in_error_page_speaks_swedish_and_links_its_troubleshooting_page() {
    let srv = Server::start();
    let res = srv
        .http
        .get(format!(
            "{}/oauth2/authorize?client_id=ghost&response_type=code",
            srv.issuer("contoso")
        ))
        .header("accept-language", "sv-SE,sv;q=0.9")
        .send()
        .await
        .expect("send");
    let cid = res.headers()["x-correlation-id"]
        .to_str()
        .expect("ascii")
        .to_string();
    let body = res.text().await.expect("text");
    assert!(body.contains("<html lang=\"sv\">"), "{body}");
    assert!(
        body.contains("Klient-id:t är inte registrerat i den här klientorganisationen"),
        "the title in Swedish: {body}"
    );
    assert!(body.contains("Gör så här:"), "{body}");
    assert!(
        body.contains(&format!(
            "/errors/PV1102?lang=sv&amp;correlation_id={cid}\""
        )),
        "{body}"
    );
}
