//! `portvakt serve`: open the data directory, bootstrap, import, listen.

pub mod listener;
pub mod tls;

use crate::config::{ServeArgs, Settings};
use crate::error::CliError;
use crate::master_key::{self, write_private};
use portvakt_core::names::SYSTEM_TENANT;
use portvakt_core::SystemClock;
use portvakt_server::bootstrap::{
    check_master_key, ensure_system_tenant, reset_admin_secret, ADMIN_CLIENT_ID,
};
use portvakt_server::{AppState, ServerConfig};
use std::sync::Arc;
use std::time::Instant;

fn startup<E: std::fmt::Display>(what: &'static str) -> impl FnOnce(E) -> CliError {
    move |e| CliError::Startup(format!("{what}: {e}"))
}

/// Run the server until SIGINT or SIGTERM.
pub async fn run(args: ServeArgs, data: Option<std::path::PathBuf>) -> Result<(), CliError> {
    init_tracing();
    let server = start(args, data).await?;
    server.print_banner();
    server.serve(shutdown_signal()).await;
    println!("Portvakt stopped");
    Ok(())
}

/// A server that is set up and listening (its data directory opened, the system
/// tenant bootstrapped, the imports applied) but not yet answering: call
/// [`Started::serve`].
pub struct Started {
    listener: tokio::net::TcpListener,
    app: axum::Router,
    signins: portvakt_server::signin::SignInSink,
    tls: Option<(std::sync::Arc<tls::Reloader>, tokio_rustls::TlsAcceptor)>,
    management: Option<(tokio::net::TcpListener, axum::Router)>,
    settings: Settings,
    max_connections: usize,
    /// The base URL of issuers (`{public_url}/{tenant}`).
    pub public_url: String,
    /// The address it listens on.
    pub bound: std::net::SocketAddr,
    /// `DATA/admin.json`: the admin credential the CLI uses.
    pub admin_file: std::path::PathBuf,
    master_source: String,
    started: Instant,
}

impl std::fmt::Debug for Started {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Started")
            .field("public_url", &self.public_url)
            .field("bound", &self.bound)
            .finish_non_exhaustive()
    }
}

/// Open the data directory, bootstrap, import and bind: everything `serve` does
/// before it answers requests. Logging is the caller's ([`crate::logging::init`]).
pub async fn start(args: ServeArgs, data: Option<std::path::PathBuf>) -> Result<Started, CliError> {
    let started = Instant::now();
    let s: Settings = args.resolve(data)?;
    std::fs::create_dir_all(&s.data).map_err(|e| {
        CliError::Io(format!(
            "cannot create data directory {}: {e}",
            s.data.display()
        ))
    })?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(&s.data, std::fs::Permissions::from_mode(0o700));
    }
    let store = portvakt_store::open(&s.engine)
        .await
        .map_err(startup("cannot open the database"))?;
    let existing = store
        .tenant(SYSTEM_TENANT)
        .await
        .map_err(startup("cannot read the database"))?
        .is_some();
    let (master, master_source) = master_key::load(&s.data, !existing)?;
    if existing {
        let now = portvakt_core::Clock::now(&SystemClock);
        check_master_key(store.as_ref(), &master, now)
            .await
            .map_err(|e| {
                CliError::Startup(format!(
                    "{e} (master key from {master_source})\nfix: start with the master key this data directory was made with (PORTVAKT_MASTER_KEY, or {}/master.key)",
                    s.data.display()
                ))
            })?;
    }

    let listener = tokio::net::TcpListener::bind(s.listen)
        .await
        .map_err(|e| CliError::Startup(format!("cannot listen on {}: {e}", s.listen)))?;
    let bound = listener
        .local_addr()
        .map_err(startup("cannot read the bound address"))?;
    let tls = match &s.tls {
        Some(files) => {
            let reloader = tls::Reloader::new(files.clone()).map_err(CliError::Startup)?;
            let acceptor = tls::acceptor(reloader.clone()).map_err(CliError::Startup)?;
            Some((reloader, acceptor))
        }
        None => None,
    };
    let scheme = if tls.is_some() { "https" } else { "http" };
    let public_url = s
        .public_url
        .clone()
        .unwrap_or_else(|| format!("{scheme}://{bound}"));

    let mut config = ServerConfig::new(&public_url);
    config.refresh_reuse_grace_ms = s.refresh_reuse_grace.saturating_mul(1000);
    config.interactions_per_minute = s.signins_per_minute;
    config.device_codes_per_minute = s.device_codes_per_minute;
    config.trusted_proxies = s.trusted_proxies.clone();
    config.signin_retention_days = s.signin_log_retention;
    config.signin_log = s.signin_log;
    let state = AppState::new(config, store, Arc::new(SystemClock), master);
    let admin_file = s.data.join("admin.json");
    let secret = match ensure_system_tenant(&state)
        .await
        .map_err(|e| CliError::Startup(e.detail))?
    {
        Some(secret) => Some(secret),
        None if !admin_file.exists() => {
            tracing::warn!(
                "{} is missing: giving the admin client a new secret",
                admin_file.display()
            );
            Some(
                reset_admin_secret(&state)
                    .await
                    .map_err(|e| CliError::Startup(e.detail))?,
            )
        }
        None => None,
    };
    if let Some(secret) = secret {
        let doc = serde_json::json!({"url": public_url, "clientId": ADMIN_CLIENT_ID, "clientSecret": secret});
        write_private(
            &admin_file,
            serde_json::to_string_pretty(&doc)
                .unwrap_or_default()
                .as_bytes(),
        )?;
    } else {
        refresh_admin_url(&admin_file, &public_url)?;
    }

    for file in &s.import {
        let bytes = std::fs::read(file).map_err(|e| {
            CliError::Io(format!("cannot read import file {}: {e}", file.display()))
        })?;
        let parsed = portvakt_core::import::parse(&bytes).map_err(|e| {
            CliError::Config(format!(
                "import file {} is invalid, nothing was imported: {}",
                file.display(),
                e.detail
            ))
        })?;
        let summary = portvakt_server::import::apply(&state, &parsed)
            .await
            .map_err(|e| {
                CliError::Startup(format!(
                    "import of {} failed, nothing was imported: {}",
                    file.display(),
                    e.detail
                ))
            })?;
        tracing::info!(file = %file.display(), ?summary, "imported");
    }

    let signins = state.signins.clone();
    let management = match s.metrics_listen {
        Some(addr) => {
            let l = tokio::net::TcpListener::bind(addr).await.map_err(|e| {
                CliError::Startup(format!("cannot listen on {addr} (--metrics-listen): {e}"))
            })?;
            Some((l, portvakt_server::metrics::management(state.clone())))
        }
        None => None,
    };
    let app = portvakt_server::app(state);
    let max_connections = listener::fit_to_fd_limit(s.limits.max_connections);
    Ok(Started {
        listener,
        app,
        signins,
        tls,
        management,
        max_connections,
        public_url,
        bound,
        admin_file,
        master_source: master_source.to_string(),
        started,
        settings: s,
    })
}

impl Started {
    /// Print where it listens and what it uses, as `portvakt serve` does.
    pub fn print_banner(&self) {
        let (s, public_url, bound) = (&self.settings, &self.public_url, self.bound);
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        println!("Portvakt listening on {scheme}://{bound}");
        println!("  issuers:          {public_url}/{{tenant}}");
        println!("  admin portal:     {public_url}/portal/{{tenant}}/  (for users with the role admin: portvakt user set-roles --tenant T UPN admin)");
        println!("  data:             {}", s.data.display());
        println!("  database:         {}", s.engine);
        println!("  master key:       {}", self.master_source);
        if let (Some((r, _)), Some(files)) = (&self.tls, &s.tls) {
            println!(
                "  TLS:              {} (expires {}; re-read when it changes or on SIGHUP)",
                files.cert.display(),
                portvakt_server::access::graph_time(r.not_after())
            );
        }
        println!(
            "  admin credential: {} (used by the portvakt CLI)",
            self.admin_file.display()
        );
        if let Some(addr) = self
            .management
            .as_ref()
            .and_then(|(l, _)| l.local_addr().ok())
        {
            println!("  metrics:          http://{addr}/metrics and /health/ready (no authentication: keep it private)");
        }
        let l = &s.limits;
        println!(
            "  limits:           {} connections ({} per address), timeouts: \
             header {} s, body {} s, idle {} s",
            self.max_connections,
            match l.max_connections_per_address {
                0 => "no cap".to_string(),
                n => n.to_string(),
            },
            l.header_timeout.as_secs(),
            l.body_timeout.as_secs(),
            l.idle_timeout.as_secs()
        );
        println!("  ready in {} ms", self.started.elapsed().as_millis());
    }

    /// Answer requests until `shutdown` completes, then finish the requests in flight
    /// and drain the sign-in log: every sign-in answered is in the log on return.
    pub async fn serve(self, shutdown: impl std::future::Future<Output = ()>) {
        let acceptor = self.tls.map(|(reloader, acceptor)| {
            reloader.watch();
            acceptor
        });
        let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
        let management = self.management.map(|(l, router)| {
            tokio::spawn(async move {
                let r = axum::serve(l, router)
                    .with_graceful_shutdown(async move {
                        let _ = stop_rx.wait_for(|s| *s).await;
                    })
                    .await;
                if let Err(e) = r {
                    tracing::error!("the management listener stopped: {e}");
                }
            })
        });
        listener::serve(
            self.listener,
            self.app,
            self.settings.limits,
            self.max_connections,
            acceptor,
            shutdown,
        )
        .await;
        let _ = stop_tx.send(true);
        if let Some(m) = management {
            let _ = m.await;
        }
        self.signins.shutdown().await;
    }
}

/// Keep admin.json's URL in step with the current public URL.
fn refresh_admin_url(path: &std::path::Path, url: &str) -> Result<(), CliError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::Io(format!("cannot read {}: {e}", path.display())))?;
    let mut doc: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        CliError::Config(format!(
            "{} is not valid JSON ({e}); delete it and restart to get a new admin secret",
            path.display()
        ))
    })?;
    if doc.get("url").and_then(|v| v.as_str()) != Some(url) {
        doc["url"] = serde_json::Value::String(url.to_string());
        write_private(
            path,
            serde_json::to_string_pretty(&doc)
                .unwrap_or_default()
                .as_bytes(),
        )?;
    }
    Ok(())
}

fn init_tracing() {
    crate::logging::init();
}

/// Wait for SIGINT or SIGTERM. The handlers are installed when this is *called*
/// (before the server says it is ready), not when the future is first polled, so a
/// signal that arrives right after start-up still shuts down gracefully.
pub fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    let term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    #[cfg(unix)]
    let int = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt()).ok();
    async move {
        #[cfg(unix)]
        {
            let wait = |s: Option<tokio::signal::unix::Signal>| async move {
                match s {
                    Some(mut s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! { _ = wait(term) => {}, _ = wait(int) => {} }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
        tracing::info!("shutting down: finishing requests in flight");
    }
}
