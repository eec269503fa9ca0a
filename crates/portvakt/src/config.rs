//! `serve` settings: command-line flags, `PORTVAKT_*` environment variables and an
//! optional TOML file, in that order of precedence, over built-in defaults.

use crate::error::CliError;
use crate::serve::listener::{self, Limits};
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::PathBuf;

/// Flags of `portvakt serve`.
#[derive(clap::Args, Debug, Default)]
pub struct ServeArgs {
    /// Address to listen on. Default 127.0.0.1:8400; port 0 picks a free port.
    #[arg(long, env = "PORTVAKT_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Base of issuer URLs as clients see it (behind a proxy: the public https URL).
    /// Default http://{listen address}.
    #[arg(long, env = "PORTVAKT_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Import file(s) to apply at start-up (repeatable).
    #[arg(long = "import", env = "PORTVAKT_IMPORT", value_delimiter = ',')]
    pub import: Vec<PathBuf>,
    /// The refresh-token retry window, seconds (default 10): a client that lost a
    /// response may present the used token again within it and gets the one live
    /// successor; 0 is strict reuse detection (any second use revokes the family).
    /// See docs/refresh-tokens.md.
    #[arg(long, env = "PORTVAKT_REFRESH_REUSE_GRACE")]
    pub refresh_reuse_grace: Option<i64>,
    /// Seconds a client has to send complete request headers, from connecting or
    /// from the first byte after an idle keep-alive spell (default 10). See
    /// docs/limits.md.
    #[arg(long, env = "PORTVAKT_HEADER_TIMEOUT", value_name = "SECS")]
    pub header_timeout: Option<u64>,
    /// Seconds a client has to send a request body after its headers, and to take a
    /// response once it is ready (default 30).
    #[arg(long, env = "PORTVAKT_BODY_TIMEOUT", value_name = "SECS")]
    pub body_timeout: Option<u64>,
    /// Seconds a keep-alive connection may stay open with no request (default 75).
    #[arg(long, env = "PORTVAKT_IDLE_TIMEOUT", value_name = "SECS")]
    pub idle_timeout: Option<u64>,
    /// Connections open at once (default 10000); further ones wait in the listen
    /// backlog. Lowered to fit the open-file limit.
    #[arg(long, env = "PORTVAKT_MAX_CONNECTIONS", value_name = "N")]
    pub max_connections: Option<usize>,
    /// Connections open at once from one client address, IPv6 per /64 (default
    /// 1000; 0 = no such cap, e.g. behind a proxy); over it a connection is closed.
    #[arg(long, env = "PORTVAKT_MAX_CONNECTIONS_PER_ADDRESS", value_name = "N")]
    pub max_connections_per_address: Option<usize>,
    /// New pending sign-ins (an `/authorize` that needs the sign-in page) per client
    /// address and minute (default 300); past it the client is told
    /// temporarily_unavailable. Each is a stored row until it expires.
    #[arg(long, env = "PORTVAKT_SIGNINS_PER_MINUTE", value_name = "N")]
    pub signins_per_minute: Option<u32>,
    /// New device authorizations per client address and minute (default 60).
    #[arg(long, env = "PORTVAKT_DEVICE_CODES_PER_MINUTE", value_name = "N")]
    pub device_codes_per_minute: Option<u32>,
    /// Proxies (CIDR ranges, repeatable) whose `X-Forwarded-For` is believed: a
    /// request from one of them is taken to come from the rightmost address in the
    /// header that is not itself such a proxy. Off by default: the peer address is
    /// the client's (Conditional Access locations, the sign-in log, rate limits).
    #[arg(
        long = "trust-forwarded-for",
        env = "PORTVAKT_TRUST_FORWARDED_FOR",
        value_delimiter = ',',
        value_name = "CIDR"
    )]
    pub trust_forwarded_for: Vec<String>,
    /// Days sign-in records are kept (default 30); older ones are purged in small
    /// batches in the background.
    #[arg(
        long = "signin-log-retention",
        env = "PORTVAKT_SIGNIN_LOG_RETENTION",
        value_name = "DAYS"
    )]
    pub signin_log_retention: Option<u32>,
    /// `off` stops recording sign-ins (default `on`). Keycloak keeps login events
    /// only when switched on; Portvakt keeps them unless switched off, since the
    /// sign-in log is where a failure explains itself.
    #[arg(
        long = "signin-log",
        env = "PORTVAKT_SIGNIN_LOG",
        value_name = "on|off"
    )]
    pub signin_log: Option<OnOff>,
    /// Serve HTTPS with this certificate chain (PEM, leaf first); needs --tls-key.
    /// Re-read when the file changes or on SIGHUP. The public URL then defaults to
    /// https://{listen address}.
    #[arg(
        long = "tls-cert",
        env = "PORTVAKT_TLS_CERT",
        value_name = "FILE",
        requires = "tls_key"
    )]
    pub tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM: PKCS#8, PKCS#1 or SEC1).
    #[arg(
        long = "tls-key",
        env = "PORTVAKT_TLS_KEY",
        value_name = "FILE",
        requires = "tls_cert"
    )]
    pub tls_key: Option<PathBuf>,
    /// Serve Prometheus metrics (/metrics) and the health checks on this address, a
    /// management listener apart from the main one (off by default). It has no
    /// authentication, as Prometheus scrapes it: bind it to a private address.
    #[arg(
        long = "metrics-listen",
        env = "PORTVAKT_METRICS_LISTEN",
        value_name = "ADDR"
    )]
    pub metrics_listen: Option<SocketAddr>,
    /// Keep the data in PostgreSQL instead of the embedded SQLite database
    /// (`postgres://user@host:5432/portvakt`): several `serve` nodes given the same URL
    /// and master key share everything. The data directory still holds the master key
    /// and the admin credential.
    #[arg(
        long = "database-url",
        env = "PORTVAKT_DATABASE_URL",
        value_name = "URL"
    )]
    pub database_url: Option<String>,
    /// Connections to PostgreSQL this node keeps (default 16).
    #[arg(
        long = "database-pool",
        env = "PORTVAKT_DATABASE_POOL",
        value_name = "N"
    )]
    pub database_pool: Option<usize>,
    /// TOML config file with the same settings (data, listen, public_url, import,
    /// refresh_reuse_grace, header_timeout, body_timeout, idle_timeout,
    /// max_connections, max_connections_per_address, signins_per_minute,
    /// device_codes_per_minute, trust_forwarded_for, signin_log_retention, signin_log,
    /// tls_cert, tls_key, metrics_listen, database_url, database_pool).
    #[arg(long, env = "PORTVAKT_CONFIG")]
    pub config: Option<PathBuf>,
}

/// The TOML file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    data: Option<PathBuf>,
    listen: Option<SocketAddr>,
    public_url: Option<String>,
    #[serde(default)]
    import: Vec<PathBuf>,
    refresh_reuse_grace: Option<i64>,
    header_timeout: Option<u64>,
    body_timeout: Option<u64>,
    idle_timeout: Option<u64>,
    max_connections: Option<usize>,
    max_connections_per_address: Option<usize>,
    signins_per_minute: Option<u32>,
    device_codes_per_minute: Option<u32>,
    #[serde(default)]
    trust_forwarded_for: Vec<String>,
    signin_log_retention: Option<u32>,
    signin_log: Option<OnOff>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    metrics_listen: Option<SocketAddr>,
    database_url: Option<String>,
    database_pool: Option<usize>,
}

/// A setting that is on or off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnOff {
    /// Switched on.
    On,
    /// Switched off.
    Off,
}

/// Resolved settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Data directory.
    pub data: PathBuf,
    /// Listen address.
    pub listen: SocketAddr,
    /// Public URL, if configured (else derived from the bound address).
    pub public_url: Option<String>,
    /// Import files.
    pub import: Vec<PathBuf>,
    /// Refresh reuse grace, seconds.
    pub refresh_reuse_grace: i64,
    /// Connection limits.
    pub limits: Limits,
    /// New pending sign-ins per address and minute.
    pub signins_per_minute: u32,
    /// New device authorizations per address and minute.
    pub device_codes_per_minute: u32,
    /// Proxies whose X-Forwarded-For is believed.
    pub trusted_proxies: Vec<portvakt_policy::cidr::IpCidr>,
    /// Sign-in log retention, days.
    pub signin_log_retention: u32,
    /// Whether sign-ins are recorded.
    pub signin_log: bool,
    /// TLS certificate and key, when serving HTTPS.
    pub tls: Option<crate::serve::tls::TlsFiles>,
    /// The management listener (metrics, health), if any.
    pub metrics_listen: Option<SocketAddr>,
    /// Where the data is kept.
    pub engine: portvakt_store::Engine,
}

impl ServeArgs {
    /// Merge flags/env over the file over defaults.
    /// `data` is the global `--data` flag (or `PORTVAKT_DATA`), if given.
    pub fn resolve(self, data: Option<PathBuf>) -> Result<Settings, CliError> {
        let file = match &self.config {
            Some(p) => {
                let text = std::fs::read_to_string(p).map_err(|e| {
                    CliError::Config(format!("cannot read config file {}: {e}", p.display()))
                })?;
                toml::from_str::<FileConfig>(&text)
                    .map_err(|e| CliError::Config(format!("config file {}: {e}", p.display())))?
            }
            None => FileConfig::default(),
        };
        let tls = match (self.tls_cert.or(file.tls_cert), self.tls_key.or(file.tls_key)) {
            (Some(cert), Some(key)) => Some(crate::serve::tls::TlsFiles { cert, key }),
            (None, None) => None,
            (Some(_), None) => return Err(CliError::Config(
                "--tls-cert is set but --tls-key is not (PORTVAKT_TLS_KEY, tls_key in the config file): HTTPS needs both".into(),
            )),
            (None, Some(_)) => return Err(CliError::Config(
                "--tls-key is set but --tls-cert is not (PORTVAKT_TLS_CERT, tls_cert in the config file): HTTPS needs both".into(),
            )),
        };
        let public_url = self.public_url.or(file.public_url);
        if let Some(u) = &public_url {
            if !(u.starts_with("http://") || u.starts_with("https://"))
                || u.contains('?')
                || u.contains('#')
            {
                return Err(CliError::Config(format!("public URL '{u}' must be an http(s) URL without query or fragment, e.g. https://id.example.com")));
            }
        }
        let data = data
            .or(file.data)
            .unwrap_or_else(|| PathBuf::from("./portvakt-data"));
        let engine = match self.database_url.or(file.database_url) {
            None => portvakt_store::Engine::Sqlite(data.join(portvakt_store::backup::DIRECTORY_FILE)),
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                portvakt_store::Engine::Postgres {
                    url,
                    pool_size: match self.database_pool.or(file.database_pool) {
                        Some(0) => return Err(CliError::Config(
                            "--database-pool (PORTVAKT_DATABASE_POOL, database_pool in the config file) is 0; it must be at least 1 (default 16)".into(),
                        )),
                        n => n.unwrap_or(portvakt_store::pg::DEFAULT_POOL_SIZE),
                    },
                }
            }
            Some(url) => {
                return Err(CliError::Config(format!(
                    "--database-url (PORTVAKT_DATABASE_URL, database_url in the config file) must be a postgres:// URL, e.g. postgres://portvakt@db.example.com:5432/portvakt; got '{}'. Without it Portvakt keeps its data in SQLite in the data directory",
                    url.split('@').next_back().unwrap_or_default().escape_default()
                )))
            }
        };
        Ok(Settings {
            data,
            engine,
            listen: self
                .listen
                .or(file.listen)
                .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8400))),
            public_url: public_url.map(|u| u.trim_end_matches('/').to_string()),
            import: if self.import.is_empty() {
                file.import
            } else {
                self.import
            },
            refresh_reuse_grace: self
                .refresh_reuse_grace
                .or(file.refresh_reuse_grace)
                .unwrap_or(10)
                .max(0),
            limits: Limits {
                header_timeout: seconds(
                    "header timeout",
                    "--header-timeout",
                    self.header_timeout.or(file.header_timeout),
                    listener::DEFAULT_HEADER_TIMEOUT,
                )?,
                body_timeout: seconds(
                    "body timeout",
                    "--body-timeout",
                    self.body_timeout.or(file.body_timeout),
                    listener::DEFAULT_BODY_TIMEOUT,
                )?,
                idle_timeout: seconds(
                    "idle timeout",
                    "--idle-timeout",
                    self.idle_timeout.or(file.idle_timeout),
                    listener::DEFAULT_IDLE_TIMEOUT,
                )?,
                max_connections: match self.max_connections.or(file.max_connections) {
                    Some(0) => {
                        return Err(CliError::Config(
                            "--max-connections (PORTVAKT_MAX_CONNECTIONS, max_connections in the \
                             config file) is 0; it must be at least 1 (default 10000)"
                                .into(),
                        ))
                    }
                    n => n.unwrap_or(listener::DEFAULT_MAX_CONNECTIONS),
                },
                max_connections_per_address: self
                    .max_connections_per_address
                    .or(file.max_connections_per_address)
                    .unwrap_or(listener::DEFAULT_MAX_CONNECTIONS_PER_ADDRESS),
            },
            signins_per_minute: per_minute(
                "--signins-per-minute",
                self.signins_per_minute.or(file.signins_per_minute),
                portvakt_server::rate_limit::INTERACTIONS_PER_MINUTE,
            )?,
            device_codes_per_minute: per_minute(
                "--device-codes-per-minute",
                self.device_codes_per_minute
                    .or(file.device_codes_per_minute),
                portvakt_server::rate_limit::DEVICE_CODES_PER_MINUTE,
            )?,
            signin_log_retention: match self.signin_log_retention.or(file.signin_log_retention) {
                Some(0) => return Err(CliError::Config(
                    "--signin-log-retention is 0 days; keep sign-ins at least a day (default 30)"
                        .into(),
                )),
                v => v.unwrap_or(30),
            },
            signin_log: self.signin_log.or(file.signin_log) != Some(OnOff::Off),
            tls,
            metrics_listen: self.metrics_listen.or(file.metrics_listen),
            trusted_proxies: {
                let given = if self.trust_forwarded_for.is_empty() {
                    file.trust_forwarded_for
                } else {
                    self.trust_forwarded_for
                };
                given
                    .iter()
                    .map(|c| {
                        c.trim().parse().map_err(|e| {
                            CliError::Config(format!(
                                "--trust-forwarded-for '{}': {e}",
                                c.escape_default()
                            ))
                        })
                    })
                    .collect::<Result<_, _>>()?
            },
        })
    }
}

/// A per-minute limit: at least 1.
fn per_minute(flag: &str, v: Option<u32>, default: u32) -> Result<u32, CliError> {
    match v {
        Some(0) => Err(CliError::Config(format!(
            "{flag} is 0; it must be at least 1 (default {default}) — a limit of 0 would refuse every client"
        ))),
        v => Ok(v.unwrap_or(default)),
    }
}

/// The longest timeout accepted: one day.
const MAX_TIMEOUT_SECS: u64 = 86_400;

/// A timeout setting in whole seconds, 1 s to a day.
fn seconds(
    what: &str,
    flag: &str,
    value: Option<u64>,
    default: u64,
) -> Result<std::time::Duration, CliError> {
    match value.unwrap_or(default) {
        s @ 1..=MAX_TIMEOUT_SECS => Ok(std::time::Duration::from_secs(s)),
        s => {
            let key = flag.trim_start_matches("--").replace('-', "_");
            Err(CliError::Config(format!(
                "the {what} ({flag}, PORTVAKT_{env}, or {key} in the config file) is {s} s; \
                 it must be 1 to {MAX_TIMEOUT_SECS} seconds (default {default})",
                env = key.to_ascii_uppercase(),
            )))
        }
    }
}
