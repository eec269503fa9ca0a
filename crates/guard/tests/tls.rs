//! The guard speaks TLS: an `https://` issuer is fetched over TLS, and a server that
//! does not speak it (or an untrusted certificate) is reported as such.
#![allow(clippy::expect_used)]

use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test]
async fn an_https_issuer_is_fetched_over_tls_and_a_failed_handshake_is_explained() {
    // A plain-HTTP server: a TLS client's handshake with it must fail.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let server = tokio::spawn(async move {
        for _ in 0..8 {
            let Ok((mut s, _)) = listener.accept().await else {
                return;
            };
            let mut buf = [0u8; 1024];
            let _ = s.read(&mut buf).await;
            let _ = s
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}")
                .await;
        }
    });
    let issuer = format!("https://127.0.0.1:{port}/acme");
    let key = portvakt_jose::SigningKey::generate(portvakt_jose::Algorithm::ES256, "k".into())
        .expect("key");
    let token = portvakt_jose::sign_compact(&key, "at+jwt", br#"{"iss":"x","sub":"s","aud":"api://x","exp":9999999999,"iat":1,"nbf":1,"jti":"j","client_id":"c","scope":"","tid":"t"}"#).expect("sign");
    let report =
        portvakt_guard::validate_report(&issuer, &["api://x".to_string()], &[], 60, &token).await;
    assert!(!report.valid);
    let text = report.human();
    assert!(text.contains("TLS") && text.contains("PV2020"), "{text}");
    assert!(
        !text.contains("does not include"),
        "TLS is supported now: {text}"
    );
    server.abort();
}

#[test]
fn the_client_builds_with_system_roots() {
    portvakt_guard::http::client(std::time::Duration::from_secs(5), "test").expect("a TLS client");
}
