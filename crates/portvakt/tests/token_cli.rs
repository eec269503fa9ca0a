//! Black-box: `portvakt token decode|validate` against tokens from a running server.

mod common;
use common::*;
use serde_json::Value;
use std::process::Command;

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN).args(args).output().expect("run");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

#[tokio::test]
async fn validate_says_valid_or_exactly_what_failed() {
    let srv = Server::start();
    let issuer = srv.issuer("contoso");
    let t = srv.token("contoso", "api://analytics/.default").await;
    let token = t["access_token"].as_str().expect("t");
    let (code, out, err) = run(&[
        "token",
        "validate",
        "--issuer",
        &issuer,
        "--audience",
        "api://analytics",
        "--scope",
        "Reports.Read",
        token,
    ]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, _) = run(&[
        "token",
        "validate",
        "--issuer",
        &issuer,
        "--audience",
        "api://billing",
        "--json",
        token,
    ]);
    assert_eq!(code, 1);
    let v: Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v["valid"], false);
    let text = v.to_string();
    assert!(
        text.contains("PV2015")
            && text.contains("api://billing")
            && text.contains("api://analytics"),
        "expected vs found: {text}"
    );
    // The issuer with a trailing slash: a hint names the difference.
    let (code, out, _) = run(&[
        "token",
        "validate",
        "--issuer",
        &format!("{issuer}/"),
        "--audience",
        "api://analytics",
        token,
    ]);
    assert_ne!(code, 0);
    assert!(out.to_lowercase().contains("slash"), "{out}");
    // A scope the token lacks.
    let (code, out, _) = run(&[
        "token",
        "validate",
        "--issuer",
        &issuer,
        "--audience",
        "api://analytics",
        "--scope",
        "Billing.Write",
        token,
    ]);
    assert_eq!(code, 1);
    assert!(out.contains("PV2017"), "{out}");
}

#[tokio::test]
async fn decode_shows_claims_and_garbage_never_panics() {
    let srv = Server::start();
    let t = srv.token("contoso", "api://analytics/.default").await;
    let token = t["access_token"].as_str().expect("t");
    let (code, out, _) = run(&["token", "decode", token]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("at+jwt")
            && out.contains("api://analytics")
            && out.contains("exp       20")
            && out.contains("lifetime  1 h")
            // A second boundary may pass between issuing and decoding.
            && (out.contains("(in 1 h)") || out.contains("(in 59 min 5")),
        "header, claims and times: {out}"
    );
    for junk in [
        "",
        "x",
        "a.b.c",
        "Bearer abc.def.ghi",
        "\"quoted\"",
        "a.b.c.d.e",
        "\u{1}\u{2}",
    ] {
        let (code, out, err) = run(&["token", "decode", junk]);
        assert_eq!(code, 1, "{junk:?}: {out}{err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    let (code, _, err) = run(&[
        "token",
        "validate",
        "--issuer",
        "http://127.0.0.1:9/nope",
        "--audience",
        "a",
        "junk",
    ]);
    assert_eq!(code, 1);
    assert!(!err.contains("panicked"), "{err}");
}

#[tokio::test]
async fn real_tokens_fail_validation_for_the_reason_they_should() {
    let srv = Server::start();
    let issuer = srv.issuer("contoso");
    let validate = |token: &str, issuer: &str| {
        run(&[
            "token",
            "validate",
            "--issuer",
            issuer,
            "--audience",
            "api://analytics",
            "--leeway",
            "0",
            "--json",
            token,
        ])
    };
    let code_of = |out: &str| {
        serde_json::from_str::<Value>(out)
            .ok()
            .map(|v| v.to_string())
            .unwrap_or_default()
    };
    // Expired: the 'short' application gets 1-second tokens.
    let res = srv
        .token_raw(
            "contoso",
            Some(("short", "short-secret-0123456789abcdef")),
            &[
                ("grant_type", "client_credentials"),
                ("scope", "api://analytics/.default"),
            ],
        )
        .await;
    let short: Value = res.json().await.expect("json");
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let (code, out, _) = validate(short["access_token"].as_str().expect("t"), &issuer);
    assert_eq!(code, 1);
    assert!(
        code_of(&out).contains("PV2011") && out.contains("expired"),
        "{out}"
    );
    // A token of another tenant: its key is not in this issuer's JWKS.
    let other = srv.token("fabrikam", "api://analytics/.default").await;
    let (code, out, _) = validate(other["access_token"].as_str().expect("t"), &issuer);
    assert_eq!(code, 1);
    assert!(code_of(&out).contains("PV2008"), "{out}");
    // The same tenant's fresh token at its own issuer is valid.
    let t = srv.token("contoso", "api://analytics/.default").await;
    let at = t["access_token"].as_str().expect("t");
    let (code, out, _) = validate(at, &srv.issuer("contoso"));
    assert_eq!(code, 0, "{out}");
}
