//! Black-box: discovery, JWKS, client credentials in every form, key rotation.

mod common;
use common::*;
use serde_json::Value;

#[tokio::test]
async fn discovery_documents_describe_what_is_implemented() {
    let srv = Server::start();
    let issuer = srv.issuer("contoso");
    let (s, oidc) = srv
        .get_json("/contoso/.well-known/openid-configuration")
        .await;
    assert_eq!(s, 200);
    assert_eq!(oidc["issuer"], issuer);
    assert_eq!(oidc["token_endpoint"], format!("{issuer}/oauth2/token"));
    assert_eq!(oidc["jwks_uri"], format!("{issuer}/oauth2/keys"));
    assert_eq!(
        oidc["grant_types_supported"],
        serde_json::json!([
            "client_credentials",
            "authorization_code",
            "refresh_token",
            "urn:ietf:params:oauth:grant-type:device_code"
        ])
    );
    assert_eq!(
        oidc["token_endpoint_auth_methods_supported"],
        serde_json::json!(["client_secret_basic", "client_secret_post", "none"])
    );
    assert_eq!(
        oidc["device_authorization_endpoint"],
        format!("{issuer}/oauth2/devicecode")
    );
    let (s, rfc8414) = srv
        .get_json("/.well-known/oauth-authorization-server/contoso")
        .await;
    assert_eq!(s, 200);
    assert_eq!(rfc8414["issuer"], issuer);
    assert_eq!(rfc8414["token_endpoint"], oidc["token_endpoint"]);
    assert!(rfc8414
        .get("id_token_signing_alg_values_supported")
        .is_none());
    // Each tenant is its own issuer, with its own algorithm.
    let (_, fab) = srv
        .get_json("/fabrikam/.well-known/openid-configuration")
        .await;
    assert_eq!(fab["issuer"], srv.issuer("fabrikam"));
    assert_eq!(
        fab["access_token_signing_alg_values_supported"],
        serde_json::json!(["EdDSA"])
    );
}

#[tokio::test]
async fn unknown_tenant_is_a_json_404() {
    let srv = Server::start();
    for path in [
        "/nope/.well-known/openid-configuration",
        "/.well-known/oauth-authorization-server/nope",
        "/nope/oauth2/keys",
    ] {
        let res = srv
            .http
            .get(format!("{}{path}", srv.url))
            .send()
            .await
            .expect("send");
        assert_eq!(res.status(), 404, "{path}");
        let cid = res.headers()["x-correlation-id"]
            .to_str()
            .expect("ascii")
            .to_string();
        let body: Value = res.json().await.expect("json body");
        assert_eq!(body["error_code"], "PV1301");
        assert_eq!(body["correlation_id"], cid);
        assert!(body["error_description"]
            .as_str()
            .expect("desc")
            .contains("'nope'"));
    }
}

#[tokio::test]
async fn jwks_publishes_kid_alg_use_for_each_algorithm() {
    let srv = Server::start();
    for (tenant, kty, alg) in [
        ("contoso", "EC", "ES256"),
        ("fabrikam", "OKP", "EdDSA"),
        ("northwind", "RSA", "RS256"),
    ] {
        let res = srv
            .http
            .get(format!("{}/oauth2/keys", srv.issuer(tenant)))
            .send()
            .await
            .expect("send");
        assert_eq!(res.status(), 200);
        let cc = res.headers()["cache-control"]
            .to_str()
            .expect("ascii")
            .to_string();
        assert!(cc.starts_with("public, max-age="), "{cc}");
        let jwks: Value = res.json().await.expect("json");
        let keys = jwks["keys"].as_array().expect("keys");
        // The tenant's key signs access tokens; an RS256 key signs ID tokens
        // (OIDC Core §15.1), so tenants on another algorithm publish two.
        let want = if alg == "RS256" { 1 } else { 2 };
        assert_eq!(keys.len(), want, "{tenant}: {keys:?}");
        let k = keys
            .iter()
            .find(|k| k["alg"] == alg)
            .expect("the tenant's key");
        assert_eq!(k["kty"], kty);
        assert!(
            keys.iter()
                .any(|k| k["alg"] == "RS256" && k["kty"] == "RSA"),
            "{tenant}: RS256 for ID tokens"
        );
        for k in keys {
            assert_eq!(k["use"], "sig");
            assert!(k["kid"].as_str().is_some_and(|k| !k.is_empty()));
            assert!(
                k.get("d").is_none() && k.get("p").is_none(),
                "no private part"
            );
        }
    }
}

#[tokio::test]
async fn client_credentials_with_basic_and_post_verify_independently() {
    let srv = Server::start();
    let basic = srv
        .token_raw(
            "contoso",
            Some(("bench", SECRET)),
            &[
                ("grant_type", "client_credentials"),
                ("scope", "api://analytics/.default"),
            ],
        )
        .await;
    assert_eq!(basic.status(), 200);
    assert_eq!(basic.headers()["cache-control"], "no-store");
    assert_eq!(basic.headers()["pragma"], "no-cache");
    let basic: Value = basic.json().await.expect("json");
    let post = srv
        .token_raw(
            "contoso",
            None,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", "bench"),
                ("client_secret", SECRET),
                ("scope", "api://analytics/.default"),
            ],
        )
        .await;
    assert_eq!(post.status(), 200);
    let post: Value = post.json().await.expect("json");
    for body in [basic, post] {
        assert_eq!(body["token_type"], "Bearer");
        assert_eq!(body["expires_in"], 3600);
        // The response speaks the request's words; the claim has the plain names.
        assert_eq!(body["scope"], "api://analytics/.default");
        let token = body["access_token"].as_str().expect("token");
        let (h, _) = decode(token);
        assert_eq!(h["typ"], "at+jwt", "RFC 9068 §2.1");
        assert_eq!(h["alg"], "ES256");
        let claims = verify_independently(&srv, "contoso", token, "api://analytics")
            .await
            .expect("verifies with jsonwebtoken");
        for c in [
            "iss",
            "sub",
            "aud",
            "exp",
            "iat",
            "nbf",
            "jti",
            "client_id",
            "scope",
            "tid",
        ] {
            assert!(claims.get(c).is_some(), "claim {c} missing");
        }
        assert_eq!(claims["sub"], "bench");
        assert_eq!(claims["client_id"], "bench");
        assert_eq!(claims["aud"], "api://analytics");
        assert_eq!(
            claims["exp"].as_i64().expect("exp") - claims["iat"].as_i64().expect("iat"),
            3600
        );
    }
}

#[tokio::test]
async fn every_scope_form_names_one_audience() {
    let srv = Server::start();
    // (extra form parameters, expected audience, expected scope claim, expected
    // response scope: in the words of the request, RFC 6749 §5.1)
    type Case<'a> = (&'a [(&'a str, &'a str)], &'a str, &'a str, &'a str);
    let cases: &[Case] = &[
        (
            &[("scope", "api://analytics/.default")],
            "api://analytics",
            "Onboarding.ReadWrite Reports.Read",
            "api://analytics/.default",
        ),
        (
            &[("scope", "api://analytics/Reports.Read")],
            "api://analytics",
            "Reports.Read",
            "api://analytics/Reports.Read",
        ),
        (
            &[(
                "scope",
                "api://analytics/Reports.Read api://analytics/Onboarding.ReadWrite",
            )],
            "api://analytics",
            "Onboarding.ReadWrite Reports.Read",
            "api://analytics/Onboarding.ReadWrite api://analytics/Reports.Read",
        ),
        (
            &[("resource", "api://analytics"), ("scope", "Reports.Read")],
            "api://analytics",
            "Reports.Read",
            "Reports.Read",
        ),
        (
            &[("resource", "api://analytics")],
            "api://analytics",
            "Onboarding.ReadWrite Reports.Read",
            "Onboarding.ReadWrite Reports.Read",
        ),
        (
            &[
                ("resource", "api://analytics"),
                ("resource", "api://analytics"),
                ("scope", "Reports.Read"),
            ],
            "api://analytics",
            "Reports.Read",
            "Reports.Read",
        ),
        (
            &[("scope", "https://reports.example.com/read")],
            "https://reports.example.com",
            "read",
            "https://reports.example.com/read",
        ),
        (
            &[("scope", "https://reports.example.com/.default")],
            "https://reports.example.com",
            "read",
            "https://reports.example.com/.default",
        ),
    ];
    for (params, aud, scope, response) in cases {
        let mut form = vec![("grant_type", "client_credentials")];
        form.extend_from_slice(params);
        let res = srv
            .token_raw("contoso", Some(("bench", SECRET)), &form)
            .await;
        assert_eq!(res.status(), 200, "{params:?}");
        let body: Value = res.json().await.expect("json");
        assert_eq!(body["scope"], *response, "{params:?}");
        let claims = verify_independently(
            &srv,
            "contoso",
            body["access_token"].as_str().expect("t"),
            aud,
        )
        .await
        .expect("verifies");
        assert_eq!(claims["aud"], *aud);
        assert_eq!(claims["scope"], *scope);
    }
    // `.default` grants only what the application is allowed.
    let res = srv
        .token_raw(
            "contoso",
            Some(("narrow", "narrow-secret-0123456789abcdef")),
            &[
                ("grant_type", "client_credentials"),
                ("scope", "api://analytics/.default"),
            ],
        )
        .await;
    let body: Value = res.json().await.expect("json");
    assert_eq!(body["scope"], "api://analytics/.default");
    let (_, claims) = decode(body["access_token"].as_str().expect("token"));
    assert_eq!(claims["scope"], "Reports.Read");
}

#[tokio::test]
async fn other_algorithms_sign_verifiable_tokens() {
    let srv = Server::start();
    for (tenant, alg) in [("fabrikam", "EdDSA"), ("northwind", "RS256")] {
        let body = srv.token(tenant, "api://analytics/.default").await;
        let token = body["access_token"].as_str().expect("token");
        assert_eq!(decode(token).0["alg"], alg);
        let claims = verify_independently(&srv, tenant, token, "api://analytics")
            .await
            .expect("verifies");
        assert_eq!(claims["iss"], srv.issuer(tenant));
    }
    // A token of one tenant does not verify against another's keys.
    let t = srv.token("fabrikam", "api://analytics/.default").await;
    assert!(verify_independently(
        &srv,
        "contoso",
        t["access_token"].as_str().expect("t"),
        "api://analytics"
    )
    .await
    .is_err());
}

#[tokio::test]
async fn lifetimes_follow_the_overrides_and_tokens_expire() {
    let srv = Server::start();
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
    let body: Value = res.json().await.expect("json");
    assert_eq!(
        body["expires_in"], 1,
        "the application's 1 s override wins over 3600"
    );
    let token = body["access_token"].as_str().expect("token").to_string();
    let (_, c) = decode(&token);
    assert_eq!(
        c["exp"].as_i64().expect("exp") - c["iat"].as_i64().expect("iat"),
        1
    );
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let err = verify_independently(&srv, "contoso", &token, "api://analytics")
        .await
        .expect_err("expired");
    assert!(err.to_lowercase().contains("expired"), "{err}");
}

#[tokio::test]
async fn key_rotation_keeps_old_tokens_valid_and_moves_signing_to_the_new_kid() {
    let srv = Server::start();
    let before = srv.token("contoso", "api://analytics/.default").await;
    let old_token = before["access_token"].as_str().expect("t").to_string();
    let old_kid = decode(&old_token).0["kid"]
        .as_str()
        .expect("kid")
        .to_string();

    // Pre-published: the new key is in the JWKS before it signs.
    let (code, out, err) = srv.cli(&[
        "keys",
        "rotate",
        "--tenant",
        "contoso",
        "--prepublish",
        "3600",
        "--json",
    ]);
    assert_eq!(code, 0, "{err}");
    let rotated: Value = serde_json::from_str(&out).expect("json");
    let staged_kid = rotated["key"]["kid"].as_str().expect("kid").to_string();
    assert_eq!(rotated["key"]["state"], "published (not signing yet)");
    let (_, jwks) = srv.get_json("/contoso/oauth2/keys").await;
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .map(|k| k["kid"].as_str().expect("kid"))
        .collect();
    assert!(
        kids.contains(&staged_kid.as_str()) && kids.contains(&old_kid.as_str()),
        "{kids:?}"
    );
    let during = srv.token("contoso", "api://analytics/.default").await;
    assert_eq!(
        decode(during["access_token"].as_str().expect("t")).0["kid"],
        old_kid.as_str(),
        "the staged key does not sign yet"
    );

    // Immediate rotation: new tokens use the new kid, old tokens still verify.
    let (code, out, err) = srv.cli(&["keys", "rotate", "--tenant", "contoso", "--prepublish", "0"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("stays published until"), "{out}");
    let after = srv.token("contoso", "api://analytics/.default").await;
    let new_token = after["access_token"].as_str().expect("t");
    let new_kid = decode(new_token).0["kid"]
        .as_str()
        .expect("kid")
        .to_string();
    assert_ne!(new_kid, old_kid);
    assert_ne!(new_kid, staged_kid, "the newest key signs");
    verify_independently(&srv, "contoso", new_token, "api://analytics")
        .await
        .expect("new token verifies");
    verify_independently(&srv, "contoso", &old_token, "api://analytics")
        .await
        .expect("old token still verifies");

    let (code, out, _) = srv.cli(&["keys", "list", "--tenant", "contoso", "--json"]);
    assert_eq!(code, 0);
    let keys: Value = serde_json::from_str(&out).expect("json");
    let states: Vec<&str> = keys["value"]
        .as_array()
        .expect("v")
        .iter()
        .map(|k| k["state"].as_str().expect("s"))
        .collect();
    // Exactly one signing key per algorithm (ES256 for access tokens, RS256 for
    // ID tokens).
    for alg in ["ES256", "RS256"] {
        let signing = keys["value"]
            .as_array()
            .expect("v")
            .iter()
            .filter(|k| k["algorithm"] == alg && k["state"] == "signing")
            .count();
        assert_eq!(signing, 1, "{alg}: {states:?}");
    }
}

#[tokio::test]
async fn keys_survive_a_restart_and_are_sealed_at_rest() {
    let mut srv = Server::start();
    let t = srv.token("contoso", "api://analytics/.default").await;
    let token = t["access_token"].as_str().expect("t").to_string();
    let status = srv.terminate();
    assert!(status.success(), "SIGTERM is a clean shutdown: {status:?}");
    // Same public URL, so the issuer is unchanged although the port is new.
    let again = Server::start_in(&srv.dir, &["--public-url", &srv.url]).expect("restart");
    let jwks_url = format!("{}/contoso/oauth2/keys", again.url);
    let jwks: jsonwebtoken::jwk::JwkSet = again
        .http
        .get(jwks_url)
        .send()
        .await
        .expect("jwks")
        .json()
        .await
        .expect("json");
    let kid = decode(&token).0["kid"].as_str().expect("kid").to_string();
    let key = jsonwebtoken::DecodingKey::from_jwk(jwks.find(&kid).expect("same kid after restart"))
        .expect("key");
    let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
    v.set_audience(&["api://analytics"]);
    v.set_issuer(&[srv.issuer("contoso")]);
    jsonwebtoken::decode::<Value>(&token, &key, &v)
        .expect("the token issued before the restart verifies");
    let (_, jwks) = again.get_json("/contoso/oauth2/keys").await;
    let kid = decode(&token).0["kid"].clone();
    assert!(jwks["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .any(|k| k["kid"] == kid));
    // The private key is not in the database in the clear: no PKCS#8 P-256 header,
    // in the stored keys nor anywhere in the database's files.
    let sealed = again
        .sql_bytes("SELECT sealed_pkcs8 FROM signing_keys")
        .await
        .concat();
    assert!(
        sealed.len() > 3 * 100,
        "the keys are stored: {} bytes",
        sealed.len()
    );
    let (db, wal) = if on_postgres() {
        (sealed, Vec::new())
    } else {
        (
            std::fs::read(again.data().join("portvakt.db")).expect("db"),
            std::fs::read(again.data().join("portvakt.db-wal")).unwrap_or_default(),
        )
    };
    let pkcs8_p256_prefix: &[u8] = &[
        0x30, 0x81, 0x87, 0x02, 0x01, 0x00, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d,
        0x02, 0x01,
    ];
    for bytes in [&db, &wal] {
        assert!(
            !bytes
                .windows(pkcs8_p256_prefix.len())
                .any(|w| w == pkcs8_p256_prefix),
            "plaintext PKCS#8 found at rest"
        );
    }
    // admin.json and master.key are private to the owner.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for f in ["admin.json", "master.key"] {
            let mode = std::fs::metadata(again.data().join(f))
                .expect("exists")
                .permissions()
                .mode()
                & 0o777;
            assert_eq!(mode, 0o600, "{f}");
        }
    }
    drop(again);
}
