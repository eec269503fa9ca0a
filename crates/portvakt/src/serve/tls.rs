//! TLS for `serve`: rustls on aws-lc-rs (the crypto of the rest of Portvakt), TLS 1.3
//! and 1.2, HTTP/2 by ALPN (RFC 7301), and a certificate that can be replaced while
//! the server runs: the files are re-read when they change (checked every few
//! seconds) or on SIGHUP, and a pair that does not load keeps the old one in service
//! with an error in the log. At start, a missing, unreadable, mismatched or expired
//! pair is refused with an error that says which and why.

use portvakt_server::access::graph_time;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

/// How often the certificate files are checked for changes.
pub const RELOAD_CHECK: Duration = Duration::from_secs(5);

/// The PEM files of the server's certificate chain and private key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// The certificate chain, leaf first (PEM).
    pub cert: PathBuf,
    /// The private key (PEM: PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

/// A loaded pair and what the log says about it.
#[derive(Debug)]
struct Loaded {
    key: Arc<CertifiedKey>,
    not_after: i64,
    stamp: (Option<SystemTime>, Option<SystemTime>),
}

/// The certificate in service; swapped by [`Reloader::reload`].
#[derive(Debug)]
pub struct Reloader {
    files: TlsFiles,
    current: RwLock<Loaded>,
}

impl ResolvesServerCert for Reloader {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let c = self.current.read().unwrap_or_else(|p| p.into_inner());
        Some(c.key.clone())
    }
}

fn stamp(files: &TlsFiles) -> (Option<SystemTime>, Option<SystemTime>) {
    let m = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    (m(&files.cert), m(&files.key))
}

fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Read and check a pair: both files parse, the key is one aws-lc-rs can sign with,
/// it belongs to the first certificate, and that certificate is valid now.
fn load(files: &TlsFiles) -> Result<Loaded, String> {
    let stamp = stamp(files);
    let cert_pem = std::fs::read(&files.cert).map_err(|e| {
        format!(
            "cannot read the TLS certificate {}: {e}",
            files.cert.display()
        )
    })?;
    let key_pem = std::fs::read(&files.key)
        .map_err(|e| format!("cannot read the TLS key {}: {e}", files.key.display()))?;
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<_, _>>()
        .map_err(|e| {
            format!(
                "the TLS certificate {} is not PEM: {e:?}",
                files.cert.display()
            )
        })?;
    let Some(leaf) = chain.first() else {
        return Err(format!(
            "the TLS certificate file {} holds no certificate (expected -----BEGIN CERTIFICATE-----)",
            files.cert.display()
        ));
    };
    let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| {
        format!(
            "the TLS key {} holds no private key in PEM (PKCS#8, PKCS#1 or SEC1): {e:?}",
            files.key.display()
        )
    })?;
    let (not_before, not_after) = validity(leaf).ok_or_else(|| {
        format!(
            "the TLS certificate {} is not an X.509 certificate Portvakt can read",
            files.cert.display()
        )
    })?;
    let now = now_unix();
    if now > not_after {
        return Err(format!(
            "the TLS certificate {} expired at {} (renew it; Portvakt will not serve an expired certificate)",
            files.cert.display(),
            graph_time(not_after)
        ));
    }
    if now < not_before {
        return Err(format!(
            "the TLS certificate {} is not valid before {} (check the clock)",
            files.cert.display(),
            graph_time(not_before)
        ));
    }
    let provider = rustls::crypto::aws_lc_rs::default_provider();
    let signing = provider
        .key_provider
        .load_private_key(key)
        .map_err(|e| format!("the TLS key {} cannot be used: {e}", files.key.display()))?;
    let certified = CertifiedKey::new(chain, signing);
    match certified.keys_match() {
        Ok(()) | Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::Unknown)) => {}
        Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch)) => {
            return Err(format!(
                "the TLS key {} does not belong to the certificate {} (a mismatched pair)",
                files.key.display(),
                files.cert.display()
            ))
        }
        Err(e) => {
            return Err(format!(
                "the TLS certificate {} cannot be used: {e}",
                files.cert.display()
            ))
        }
    }
    Ok(Loaded {
        key: Arc::new(certified),
        not_after,
        stamp,
    })
}

impl Reloader {
    /// Load the pair; an error says what is wrong with it.
    pub fn new(files: TlsFiles) -> Result<Arc<Self>, String> {
        let loaded = load(&files)?;
        tracing::info!(cert = %files.cert.display(), not_after = %graph_time(loaded.not_after), "TLS certificate loaded");
        Ok(Arc::new(Self {
            files,
            current: RwLock::new(loaded),
        }))
    }

    /// When the certificate in service expires (unix seconds).
    pub fn not_after(&self) -> i64 {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .not_after
    }

    /// Re-read the files; `force` even when they look unchanged (SIGHUP). A pair that
    /// does not load leaves the one in service, with an error in the log.
    pub fn reload(&self, force: bool) -> bool {
        let now = stamp(&self.files);
        if !force {
            let c = self.current.read().unwrap_or_else(|p| p.into_inner());
            if c.stamp == now {
                return false;
            }
        }
        match load(&self.files) {
            Ok(l) => {
                tracing::info!(cert = %self.files.cert.display(), not_after = %graph_time(l.not_after), "TLS certificate reloaded");
                *self.current.write().unwrap_or_else(|p| p.into_inner()) = l;
                true
            }
            Err(e) => {
                tracing::error!(
                    "TLS certificate not reloaded, the previous one stays in service: {e}"
                );
                // Do not retry the same broken files every few seconds.
                self.current
                    .write()
                    .unwrap_or_else(|p| p.into_inner())
                    .stamp = now;
                false
            }
        }
    }

    /// Watch the files (every [`RELOAD_CHECK`]) and SIGHUP, for the life of the process.
    pub fn watch(self: &Arc<Self>) {
        let me = self.clone();
        tokio::spawn(async move {
            #[cfg(unix)]
            let mut hup =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
            loop {
                #[cfg(unix)]
                let forced = match hup.as_mut() {
                    Some(h) => tokio::select! {
                        _ = h.recv() => true,
                        () = tokio::time::sleep(RELOAD_CHECK) => false,
                    },
                    None => {
                        tokio::time::sleep(RELOAD_CHECK).await;
                        false
                    }
                };
                #[cfg(not(unix))]
                let forced = {
                    tokio::time::sleep(RELOAD_CHECK).await;
                    false
                };
                me.reload(forced);
            }
        });
    }
}

/// The TLS acceptor of `serve`: TLS 1.3 and 1.2, ALPN `h2` then `http/1.1`.
pub fn acceptor(reloader: Arc<Reloader>) -> Result<tokio_rustls::TlsAcceptor, String> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| format!("TLS configuration: {e}"))?
        .with_no_client_auth()
        .with_cert_resolver(reloader);
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

// ---------------------------------------------------------------------------
// The validity of an X.509 certificate (RFC 5280 §4.1.2.5), read from its DER:
// Certificate ::= SEQUENCE { tbsCertificate SEQUENCE { [0] version OPTIONAL,
// serialNumber, signature, issuer, validity SEQUENCE { notBefore, notAfter }, … } … }

/// One DER element: (tag, content, rest).
fn tlv(b: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, b) = b.split_first()?;
    let (&l0, mut b) = b.split_first()?;
    let len = if l0 < 0x80 {
        l0 as usize
    } else {
        let n = (l0 & 0x7f) as usize;
        if n == 0 || n > 4 || b.len() < n {
            return None;
        }
        let mut len = 0usize;
        for &x in &b[..n] {
            len = (len << 8) | x as usize;
        }
        b = &b[n..];
        len
    };
    (b.len() >= len).then(|| (tag, &b[..len], &b[len..]))
}

/// UTCTime (`YYMMDDHHMMSSZ`, years 1950–2049) or GeneralizedTime (`YYYYMMDDHHMMSSZ`).
fn der_time(tag: u8, v: &[u8]) -> Option<i64> {
    let s = std::str::from_utf8(v).ok()?;
    let s = s.strip_suffix('Z')?;
    let (year, rest) = match (tag, s.len()) {
        (0x17, 12) => {
            let yy: i32 = s[..2].parse().ok()?;
            (if yy < 50 { 2000 + yy } else { 1900 + yy }, &s[2..])
        }
        (0x18, 14) => (s[..4].parse().ok()?, &s[4..]),
        _ => return None,
    };
    let n = |i: usize| -> Option<u8> { rest.get(i..i + 2)?.parse().ok() };
    let month = time::Month::try_from(n(0)?).ok()?;
    let date = time::Date::from_calendar_date(year, month, n(2)?).ok()?;
    let t = time::Time::from_hms(n(4)?, n(6)?, n(8)?).ok()?;
    Some(
        time::PrimitiveDateTime::new(date, t)
            .assume_utc()
            .unix_timestamp(),
    )
}

/// (notBefore, notAfter) of a certificate, unix seconds.
fn validity(cert: &[u8]) -> Option<(i64, i64)> {
    let (_, certificate, _) = tlv(cert)?;
    let (_, tbs, _) = tlv(certificate)?;
    let mut rest = tbs;
    let (tag, _, r) = tlv(rest)?;
    if tag == 0xa0 {
        rest = r; // [0] EXPLICIT version
    }
    for _ in 0..3 {
        rest = tlv(rest)?.2; // serialNumber, signature, issuer
    }
    let (_, validity, _) = tlv(rest)?;
    let (t1, v1, r) = tlv(validity)?;
    let (t2, v2, _) = tlv(r)?;
    Some((der_time(t1, v1)?, der_time(t2, v2)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn der_times_parse_both_forms() {
        assert_eq!(der_time(0x17, b"491231235959Z"), Some(2_524_607_999));
        assert_eq!(der_time(0x17, b"500101000000Z"), Some(-631_152_000));
        assert_eq!(der_time(0x18, b"20491231235959Z"), Some(2_524_607_999));
        assert_eq!(der_time(0x18, b"2049123123595Z"), None);
        assert_eq!(der_time(0x17, b"491331235959Z"), None, "month 13");
    }

    #[test]
    fn truncated_der_is_refused_not_panicked_on() {
        assert_eq!(tlv(&[0x30, 0x82, 0x01]), None);
        assert_eq!(tlv(&[0x30, 0x05, 0x01]), None);
        assert_eq!(validity(&[0x30, 0x00]), None);
        assert_eq!(validity(&[]), None);
    }
}
