//! The `portvakt` binary: `serve`, the admin commands (which call the admin API),
//! and token tools.

mod admin_client;
mod commands;
mod config;
mod error;
mod master_key;
mod serve;
mod token_cmd;

use clap::{Parser, Subcommand};
use error::CliError;
use std::path::PathBuf;
use std::process::ExitCode;

/// Portvakt: an OAuth 2.0 / OpenID Connect provider.
#[derive(Parser, Debug)]
#[command(name = "portvakt", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Where the admin commands find the server and the admin credential.
#[derive(clap::Args, Debug, Clone)]
pub struct Target {
    /// Data directory holding admin.json (ignored when PORTVAKT_URL, PORTVAKT_CLIENT_ID
    /// and PORTVAKT_CLIENT_SECRET are all set).
    #[arg(
        long,
        env = "PORTVAKT_DATA",
        default_value = "./portvakt-data",
        global = true
    )]
    data: PathBuf,
    /// Print JSON instead of text.
    #[arg(long, global = true)]
    json: bool,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the server.
    Serve(config::ServeArgs),
    /// Apply an import file (JSON; `-` reads stdin): one transaction, idempotent.
    Import {
        /// The file.
        file: PathBuf,
        #[command(flatten)]
        target: Target,
    },
    /// Tenants.
    #[command(subcommand)]
    Tenant(commands::TenantCmd),
    /// Users of a tenant.
    #[command(subcommand)]
    User(commands::UserCmd),
    /// Groups of a tenant.
    #[command(subcommand)]
    Group(commands::GroupCmd),
    /// Applications (clients) of a tenant.
    #[command(subcommand)]
    App(commands::AppCmd),
    /// Resources (APIs) of a tenant.
    #[command(subcommand)]
    Resource(commands::ResourceCmd),
    /// Signing keys of a tenant.
    #[command(subcommand)]
    Keys(commands::KeysCmd),
    /// Explain a token: decode it, or validate it the way a resource server does.
    #[command(subcommand)]
    Token(token_cmd::TokenCmd),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
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
    let result: Result<(), CliError> = rt.block_on(async move {
        match cli.command {
            Command::Serve(args) => serve::run(args).await,
            Command::Import { file, target } => commands::import(&target, &file).await,
            Command::Tenant(c) => commands::tenant(c).await,
            Command::User(c) => commands::user(c).await,
            Command::Group(c) => commands::group(c).await,
            Command::App(c) => commands::app(c).await,
            Command::Resource(c) => commands::resource(c).await,
            Command::Keys(c) => commands::keys(c).await,
            Command::Token(c) => token_cmd::run(c).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let msg = e.to_string();
            if !msg.is_empty() {
                eprintln!("{msg}");
            }
            ExitCode::from(e.exit_code())
        }
    }
}
