//! The `portvakt` command line as a library: `serve`, the admin commands (which call
//! the admin API), and token tools. The binary (`main.rs`) is [`cli_main`]; other
//! programs of the workspace (the analytics-onboarding demo) start a server in-process
//! with [`serve::start`].

mod admin_client;
mod audit_cmd;
mod backup_cmd;
mod commands;
pub mod config;
mod diagnose_cmd;
pub mod error;
pub mod logging;
mod logs_cmd;
mod master_key;
mod policy_cmd;
pub mod serve;
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
    #[command(flatten)]
    target: Target,
}

/// The flags every command takes, anywhere on the command line (`portvakt --data D
/// user list` and `portvakt user list --data D` alike, as git, kubectl and cargo do).
#[derive(clap::Args, Debug, Clone, Default)]
pub struct Target {
    /// Data directory: the server's database and keys, and admin.json, where the admin
    /// commands find the server and its credential (those ignore it when PORTVAKT_URL,
    /// PORTVAKT_CLIENT_ID and PORTVAKT_CLIENT_SECRET are all set). Default ./portvakt-data
    #[arg(long, env = "PORTVAKT_DATA", global = true)]
    data: Option<PathBuf>,
    /// Print JSON instead of text.
    #[arg(long, global = true)]
    json: bool,
}

impl Target {
    /// The data directory, or the default `./portvakt-data`.
    pub fn data_dir(&self) -> PathBuf {
        self.data
            .clone()
            .unwrap_or_else(|| PathBuf::from("./portvakt-data"))
    }
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the server.
    Serve(config::ServeArgs),
    /// Apply an import file (JSON; `-` reads stdin): one transaction, idempotent.
    Import {
        /// The file.
        file: PathBuf,
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
    /// The sign-in log: who signed in to what, when, and why it failed.
    Logs(logs_cmd::LogsArgs),
    /// Conditional Access policies: list, get, import, export, set-state, what-if.
    #[command(subcommand)]
    Policy(policy_cmd::PolicyCmd),
    /// The audit log: every admin change, newest first (who, what, to what, result).
    Audit(audit_cmd::AuditArgs),
    /// Why was a token refused or a sign-in refused? The chain of causes and the fix.
    Diagnose(diagnose_cmd::DiagnoseArgs),
    /// Explain a token: decode it, or validate it the way a resource server does.
    #[command(subcommand)]
    Token(token_cmd::TokenCmd),
    /// Write a consistent backup of the data directory while the server runs
    /// (`portvakt backup --data DIR FILE`). The master key is not in it.
    Backup(backup_cmd::BackupArgs),
    /// Restore a backup into a new data directory (`portvakt restore FILE --data NEWDIR`).
    Restore(backup_cmd::RestoreArgs),
}

/// Parse the command line and run the command: the `portvakt` binary.
pub fn cli_main() -> ExitCode {
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
    let target = cli.target;
    let result: Result<(), CliError> = rt.block_on(async move {
        match cli.command {
            Command::Serve(args) => serve::run(args, target.data).await,
            Command::Import { file } => commands::import(&target, &file).await,
            Command::Tenant(c) => commands::tenant(c, &target).await,
            Command::User(c) => commands::user(c, &target).await,
            Command::Group(c) => commands::group(c, &target).await,
            Command::App(c) => commands::app(c, &target).await,
            Command::Resource(c) => commands::resource(c, &target).await,
            Command::Keys(c) => commands::keys(c, &target).await,
            Command::Policy(c) => policy_cmd::run(c, &target).await,
            Command::Audit(a) => audit_cmd::run(a, &target).await,
            Command::Diagnose(a) => diagnose_cmd::run(a, &target).await,
            Command::Logs(a) => logs_cmd::run(a, &target).await,
            Command::Token(c) => token_cmd::run(c).await,
            Command::Backup(a) => backup_cmd::backup(a, &target),
            Command::Restore(a) => backup_cmd::restore(a, &target).await,
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
