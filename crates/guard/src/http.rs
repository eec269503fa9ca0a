//! The HTTP client the guard (and the `portvakt` CLI) use: reqwest over rustls with
//! aws-lc-rs, the same crypto library as the rest of Portvakt, trusting the system's
//! root certificates.

use std::sync::Arc;
use std::time::Duration;

/// A client builder with TLS configured (rustls on aws-lc-rs, system roots). Use it
/// instead of `reqwest::Client::builder()`: this workspace builds reqwest without a
/// default TLS provider, so a plain builder would fail.
pub fn builder() -> Result<reqwest::ClientBuilder, String> {
    let mut roots = rustls::RootCertStore::empty();
    let found = rustls_native_certs::load_native_certs();
    for cert in found.certs {
        // A malformed system certificate is skipped, as browsers do.
        let _ = roots.add(cert);
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS configuration: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(reqwest::Client::builder().use_preconfigured_tls(tls))
}

/// Build a client with TLS (system roots) and the given timeout.
pub fn client(timeout: Duration, user_agent: &str) -> Result<reqwest::Client, String> {
    builder()?
        .timeout(timeout)
        .user_agent(user_agent)
        .build()
        .map_err(|e| format!("cannot build an HTTP client: {e}"))
}
