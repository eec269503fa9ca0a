//! Analytics: the service of the seed article, onboarded through Portvakt.
//!
//! One process serves the onboarding wizard (a confidential web client: authorization
//! code + PKCE, tokens kept server-side) and the Analytics API it calls (protected by
//! `portvakt-guard`). With `--demo` it also runs Portvakt itself, in-process, with a
//! demo tenant imported: `cargo run --release -p analytics-onboarding -- --demo`.
//! See `docs/design/analytics-onboarding.md`.

mod api;
mod demo;
mod failure;
mod l10n;
mod oidc;
mod renewal;
mod wizard;

use clap::Parser;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

/// The Analytics service and its onboarding wizard.
#[derive(Parser, Debug)]
#[command(name = "analytics-onboarding", version, about)]
struct Args {
    /// Run Portvakt in this process with a demo tenant (an admin with a TOTP secret,
    /// the Analytics application and API, Conditional Access policies that start
    /// disabled), then the Analytics service; print the URLs and credentials.
    #[arg(long)]
    demo: bool,
    /// Where the Analytics service listens (port 0 picks one).
    #[arg(long, env = "ANALYTICS_LISTEN", default_value = "127.0.0.1:8420")]
    listen: SocketAddr,
    /// With --demo: where Portvakt listens (port 0 picks one).
    #[arg(
        long,
        env = "ANALYTICS_PORTVAKT_LISTEN",
        default_value = "127.0.0.1:8410"
    )]
    portvakt_listen: SocketAddr,
    /// With --demo: Portvakt's data directory (created; SQLite).
    #[arg(
        long,
        env = "ANALYTICS_DEMO_DATA",
        default_value = "./analytics-demo-data"
    )]
    data: PathBuf,
    /// With --demo: the lifetime of access tokens for the Analytics API, seconds
    /// (short, so that expiry and silent renewal can be watched).
    #[arg(long, default_value_t = 60)]
    access_token_lifetime: u32,
    /// Clock skew the API allows on an access token's `exp`, seconds (the guard's
    /// default is 60; this service runs beside Portvakt).
    #[arg(long, default_value_t = 5)]
    clock_leeway: u64,
    /// Without --demo: the tenant's issuer, e.g. http://127.0.0.1:8400/contoso.
    #[arg(long, env = "ANALYTICS_ISSUER", required_unless_present = "demo")]
    issuer: Option<String>,
    /// Without --demo: the wizard's client id (a confidential web client).
    #[arg(
        long,
        env = "ANALYTICS_CLIENT_ID",
        default_value = "analytics-onboarding"
    )]
    client_id: String,
    /// Without --demo: the wizard's client secret.
    #[arg(
        long,
        env = "ANALYTICS_CLIENT_SECRET",
        required_unless_present = "demo"
    )]
    client_secret: Option<String>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match rt.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

async fn run(args: Args) -> Result<(), String> {
    portvakt::logging::init();
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    let bound = listener
        .local_addr()
        .map_err(|e| format!("cannot read the bound address: {e}"))?;
    // On loopback the service calls itself `localhost` while Portvakt is
    // `127.0.0.1`: two sites, so neither receives the other's cookies (cookies do
    // not keep ports apart, RFC 6265 §8.5), as on real, separate hosts.
    let analytics_url = if bound.ip().is_loopback() {
        format!("http://localhost:{}", bound.port())
    } else {
        format!("http://{bound}")
    };
    let redirect_uri = format!("{analytics_url}/callback");

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stopped = move |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };
    let mut portvakt_task = None;
    let (client, portvakt) = if args.demo {
        let d = demo::start(&demo::Options {
            listen: args.portvakt_listen,
            data: args.data.clone(),
            redirect_uri: redirect_uri.clone(),
            access_token_lifetime: args.access_token_lifetime,
        })
        .await?;
        // Portvakt answers before the wizard discovers it.
        portvakt_task = Some(tokio::spawn(d.server.serve(stopped(stop_rx.clone()))));
        (d.client.clone(), Some(d.info))
    } else {
        let (Some(issuer), Some(secret)) = (args.issuer.clone(), args.client_secret.clone()) else {
            return Err("--issuer and --client-secret are required without --demo".into());
        };
        (
            oidc::ClientConfig {
                issuer,
                client_id: args.client_id.clone(),
                client_secret: secret,
                redirect_uri: redirect_uri.clone(),
            },
            None,
        )
    };

    let oidc = oidc::Client::discover(client)
        .await
        .map_err(|e| format!("cannot reach Portvakt: {e}"))?;
    let api = api::Api::new(&oidc.config.issuer, args.clock_leeway)?;
    let state = wizard::State::new(oidc, analytics_url.clone());
    let app = wizard::router(state).merge(api.router());

    if let Some(d) = &portvakt {
        println!("Portvakt: {}", d.issuer);
        println!("Portal: {}", d.portal_url);
        println!("Analytics: {analytics_url}/");
        println!("User: {}", demo::ADMIN_UPN);
        println!("Password: {}", demo::ADMIN_PASSWORD);
        println!("TOTP secret: {}", demo::ADMIN_TOTP_SECRET);
        println!(
            "CLI: portvakt --data {} diagnose --tenant {} --correlation-id ID",
            d.data.display(),
            demo::TENANT
        );
    } else {
        println!("Analytics: {analytics_url}/");
    }
    println!("Ready. Ctrl-C stops.");

    let shutdown = portvakt::serve::shutdown_signal();
    let analytics = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(stopped(stop_rx))
            .await
    });
    shutdown.await;
    let _ = stop_tx.send(true);
    if let Ok(Err(e)) = analytics.await {
        eprintln!("the Analytics service stopped with an error: {e}");
    }
    if let Some(t) = portvakt_task {
        let _ = t.await;
    }
    println!("stopped");
    Ok(())
}
