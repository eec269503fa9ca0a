//! `serve --tls-cert --tls-key`: HTTPS with TLS 1.3 and 1.2, HTTP/2 by ALPN, HSTS;
//! bad pairs refused at start with an error that says what is wrong; the certificate
//! replaced while the server runs (file change, SIGHUP) without dropping connections.

mod common;

use common::{temp_dir, Server};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use rustls::pki_types::{CertificateDer, ServerName};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

struct Ca {
    issuer: Issuer<'static, KeyPair>,
    pem: String,
}

fn ca() -> Ca {
    let mut p = CertificateParams::new(Vec::<String>::new()).expect("params");
    p.distinguished_name
        .push(DnType::CommonName, "Portvakt test CA");
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let key = KeyPair::generate().expect("key");
    let cert = p.self_signed(&key).expect("ca");
    Ca {
        pem: cert.pem(),
        issuer: Issuer::new(p, key),
    }
}

/// A leaf for 127.0.0.1 and localhost, valid from `from` to `to` days from now.
fn leaf(ca: &Ca, name: &str, from: i64, to: i64) -> (String, String, Vec<u8>) {
    let mut p = CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
        .expect("params");
    p.distinguished_name.push(DnType::CommonName, name);
    let now = time::OffsetDateTime::now_utc();
    p.not_before = now + time::Duration::days(from);
    p.not_after = now + time::Duration::days(to);
    let key = KeyPair::generate().expect("key");
    let cert = p.signed_by(&key, &ca.issuer).expect("leaf");
    (cert.pem(), key.serialize_pem(), cert.der().to_vec())
}

fn write_pair(dir: &Path, tag: &str, cert: &str, key: &str) -> (PathBuf, PathBuf) {
    let (c, k) = (
        dir.join(format!("{tag}.pem")),
        dir.join(format!("{tag}.key")),
    );
    std::fs::write(&c, cert).expect("cert");
    std::fs::write(&k, key).expect("key");
    (c, k)
}

/// Replace a file atomically (as certbot and cert-manager do).
fn replace(path: &Path, text: &str) {
    let tmp = path.with_extension("new");
    std::fs::write(&tmp, text).expect("write");
    std::fs::rename(&tmp, path).expect("rename");
}

fn client_config(ca_pem: &str, alpn: &[&[u8]], tls12_only: bool) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(c.expect("ca pem")).expect("root");
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let b = rustls::ClientConfig::builder_with_provider(provider);
    let b = if tls12_only {
        b.with_protocol_versions(&[&rustls::version::TLS12])
    } else {
        b.with_safe_default_protocol_versions()
    }
    .expect("versions");
    let mut c = b.with_root_certificates(roots).with_no_client_auth();
    c.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Arc::new(c)
}

use rustls::pki_types::pem::PemObject;

type Tls = tokio_rustls::client::TlsStream<tokio::net::TcpStream>;

async fn handshake(url: &str, cfg: Arc<rustls::ClientConfig>) -> Tls {
    let addr = url.trim_start_matches("https://");
    let tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
    tokio_rustls::TlsConnector::from(cfg)
        .connect(ServerName::try_from("127.0.0.1").expect("name"), tcp)
        .await
        .expect("handshake")
}

fn peer_leaf(s: &Tls) -> Vec<u8> {
    s.get_ref().1.peer_certificates().expect("certs")[0].to_vec()
}

/// One HTTP/1.1 request on an open connection; returns the status line.
async fn get_on(s: &mut Tls, path: &str) -> String {
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").as_bytes())
        .await
        .expect("write");
    let mut buf = vec![0u8; 16 * 1024];
    let mut got = Vec::new();
    loop {
        let n = s.read(&mut buf).await.expect("read");
        assert!(n > 0, "the connection was closed");
        got.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&got);
        if let Some(h) = text.find("\r\n\r\n") {
            let len = text[..h]
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                })
                .unwrap_or(0);
            if got.len() >= h + 4 + len {
                return text.lines().next().unwrap_or("").to_string();
            }
        }
    }
}

fn reqwest_client(ca_pem: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .use_preconfigured_tls((*client_config(ca_pem, &[b"http/1.1"], false)).clone())
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client")
}

#[tokio::test]
async fn https_with_tls_1_3_and_1_2_http2_by_alpn_and_hsts() {
    let ca = ca();
    let dir = temp_dir("tls-ok");
    let (cert, key, _) = leaf(&ca, "portvakt one", -1, 30);
    let (c, k) = write_pair(&dir, "leaf", &cert, &key);
    let import = dir.join("import.json");
    std::fs::write(
        &import,
        serde_json::to_vec(&common::example_import()).expect("json"),
    )
    .expect("import");
    let srv = Server::start_in(
        &dir,
        &[
            "--tls-cert",
            c.to_str().expect("utf8"),
            "--tls-key",
            k.to_str().expect("utf8"),
            "--import",
            import.to_str().expect("utf8"),
        ],
    )
    .expect("starts with a valid pair");
    assert!(srv.url.starts_with("https://127.0.0.1:"), "{}", srv.url);
    assert!(
        srv.stdout
            .iter()
            .any(|l| l.contains("TLS:") && l.contains("expires")),
        "{:?}",
        srv.stdout
    );

    let http = reqwest_client(&ca.pem);
    let r = http
        .get(format!("{}/health/ready", srv.url))
        .send()
        .await
        .expect("https");
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()
            .get("strict-transport-security")
            .and_then(|v| v.to_str().ok()),
        Some("max-age=31536000")
    );
    let v: serde_json::Value = r.json().await.expect("json");
    assert_eq!(v["status"], "ready", "{v}");
    // The issuer (and so every URL in discovery) is https without being told.
    let v: serde_json::Value = http
        .get(format!(
            "{}/.well-known/openid-configuration",
            srv.issuer("contoso")
        ))
        .send()
        .await
        .expect("discovery")
        .json()
        .await
        .expect("json");
    assert_eq!(v["issuer"], srv.issuer("contoso"));
    assert!(
        v["token_endpoint"]
            .as_str()
            .is_some_and(|u| u.starts_with("https://")),
        "{v}"
    );

    // ALPN: h2 when offered, else HTTP/1.1; TLS 1.3 by default, 1.2 still accepted.
    let s = handshake(
        &srv.url,
        client_config(&ca.pem, &[b"h2", b"http/1.1"], false),
    )
    .await;
    assert_eq!(s.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
    assert_eq!(
        s.get_ref().1.protocol_version(),
        Some(rustls::ProtocolVersion::TLSv1_3)
    );
    let mut s = handshake(&srv.url, client_config(&ca.pem, &[b"http/1.1"], true)).await;
    assert_eq!(s.get_ref().1.alpn_protocol(), Some(&b"http/1.1"[..]));
    assert_eq!(
        s.get_ref().1.protocol_version(),
        Some(rustls::ProtocolVersion::TLSv1_2)
    );
    assert!(get_on(&mut s, "/health").await.starts_with("HTTP/1.1 200"));
}

#[tokio::test]
async fn bad_pairs_are_refused_at_start_and_say_what_is_wrong() {
    let ca = ca();
    let dir = temp_dir("tls-bad");
    let (cert_a, _key_a, _) = leaf(&ca, "a", -1, 30);
    let (_, key_b, _) = leaf(&ca, "b", -1, 30);
    let (expired, expired_key, _) = leaf(&ca, "old", -30, -1);
    let cases: Vec<(&str, String, String, &str)> = vec![
        (
            "mismatch",
            cert_a.clone(),
            key_b.clone(),
            "does not belong to the certificate",
        ),
        ("expired", expired, expired_key, "expired at"),
        (
            "not-pem",
            "hello".into(),
            key_b.clone(),
            "holds no certificate",
        ),
        (
            "bad-key",
            cert_a.clone(),
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n".into(),
            "TLS key",
        ),
    ];
    for (tag, cert, key, want) in cases {
        let (c, k) = write_pair(&dir, tag, &cert, &key);
        let err = Server::start_in(
            &dir.join(tag),
            &[
                "--tls-cert",
                c.to_str().expect("utf8"),
                "--tls-key",
                k.to_str().expect("utf8"),
            ],
        )
        .err()
        .unwrap_or_else(|| panic!("{tag}: the server must refuse to start"));
        assert!(err.contains(want), "{tag}: wanted '{want}' in: {err}");
    }
    let missing = dir.join("nowhere.key");
    let (c, _) = write_pair(&dir, "missing", &cert_a, "");
    let err = Server::start_in(
        &dir.join("m"),
        &[
            "--tls-cert",
            c.to_str().expect("utf8"),
            "--tls-key",
            missing.to_str().expect("utf8"),
        ],
    )
    .err()
    .expect("refused");
    assert!(
        err.contains("cannot read the TLS key") && err.contains("nowhere.key"),
        "{err}"
    );
    let err = Server::start_in(
        &dir.join("half"),
        &["--tls-cert", c.to_str().expect("utf8")],
    )
    .err()
    .expect("refused");
    assert!(err.contains("--tls-key"), "{err}");
}

#[tokio::test]
async fn the_certificate_is_replaced_on_file_change_and_sighup_without_dropping_connections() {
    let ca = ca();
    let dir = temp_dir("tls-reload");
    let (cert1, key1, der1) = leaf(&ca, "first", -1, 30);
    let (c, k) = write_pair(&dir, "leaf", &cert1, &key1);
    let srv = Server::start_in(
        &dir,
        &[
            "--tls-cert",
            c.to_str().expect("utf8"),
            "--tls-key",
            k.to_str().expect("utf8"),
        ],
    )
    .expect("starts");
    let cfg = client_config(&ca.pem, &[b"http/1.1"], false);
    let mut open = handshake(&srv.url, cfg.clone()).await;
    assert_eq!(peer_leaf(&open), der1);
    assert!(get_on(&mut open, "/health")
        .await
        .starts_with("HTTP/1.1 200"));

    // New files: picked up within the check interval, new handshakes get them.
    let (cert2, key2, der2) = leaf(&ca, "second", -1, 30);
    replace(&k, &key2);
    replace(&c, &cert2);
    let mut seen = Vec::new();
    for _ in 0..40 {
        seen = peer_leaf(&handshake(&srv.url, cfg.clone()).await);
        if seen == der2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(
        seen, der2,
        "the changed files were not picked up within 10 s"
    );
    // The connection opened before still works.
    assert!(get_on(&mut open, "/health")
        .await
        .starts_with("HTTP/1.1 200"));

    // A broken pair is not taken: the second certificate stays in service.
    replace(&k, &key1);
    let pid = srv.child.as_ref().expect("running").id().to_string();
    assert!(std::process::Command::new("kill")
        .args(["-HUP", &pid])
        .status()
        .expect("kill")
        .success());
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(peer_leaf(&handshake(&srv.url, cfg.clone()).await), der2);
    let log = srv.stderr.lock().map(|s| s.clone()).unwrap_or_default();
    assert!(
        log.contains("not reloaded") && log.contains("does not belong"),
        "{log}"
    );

    // SIGHUP with a good pair: taken at once.
    let (cert3, key3, der3) = leaf(&ca, "third", -1, 30);
    replace(&c, &cert3);
    replace(&k, &key3);
    assert!(std::process::Command::new("kill")
        .args(["-HUP", &pid])
        .status()
        .expect("kill")
        .success());
    let mut seen = Vec::new();
    for _ in 0..20 {
        seen = peer_leaf(&handshake(&srv.url, cfg.clone()).await);
        if seen == der3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(seen, der3, "SIGHUP did not reload");
    assert!(get_on(&mut open, "/health")
        .await
        .starts_with("HTTP/1.1 200"));
}
