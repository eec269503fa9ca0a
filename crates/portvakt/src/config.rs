//! `serve` settings: command-line flags, `PORTVAKT_*` environment variables and an
//! optional TOML file, in that order of precedence, over built-in defaults.

use crate::error::CliError;
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
    /// TOML config file with the same settings (data, listen, public_url, import).
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
        let public_url = self.public_url.or(file.public_url);
        if let Some(u) = &public_url {
            if !(u.starts_with("http://") || u.starts_with("https://"))
                || u.contains('?')
                || u.contains('#')
            {
                return Err(CliError::Config(format!("public URL '{u}' must be an http(s) URL without query or fragment, e.g. https://id.example.com")));
            }
        }
        Ok(Settings {
            data: data
                .or(file.data)
                .unwrap_or_else(|| PathBuf::from("./portvakt-data")),
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
        })
    }
}
