//! `portvakt token decode|validate`: the guard's verdict on any token, for people
//! (text) and scripts (`--json`). Exit status 0 only for a valid (or decodable) token.

use crate::error::CliError;
use clap::Subcommand;

/// `portvakt token …`
#[derive(Subcommand, Debug)]
pub enum TokenCmd {
    /// Show a token's header and claims, with times in UTC and relative to now.
    /// The signature is NOT checked.
    Decode {
        /// The token, or `-` to read it from standard input.
        token: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Validate a token against an issuer (discovery and JWKS are fetched) and say
    /// exactly what failed, why, and what to do.
    Validate {
        /// The issuer URL, e.g. http://127.0.0.1:8400/contoso
        #[arg(long)]
        issuer: String,
        /// Accepted audience (repeatable).
        #[arg(long = "audience", required = true)]
        audience: Vec<String>,
        /// Required scope (repeatable).
        #[arg(long = "scope")]
        scope: Vec<String>,
        /// Clock leeway in seconds.
        #[arg(long, default_value_t = 60)]
        leeway: u64,
        /// The token, or `-` to read it from standard input.
        token: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Run a token command.
pub async fn run(cmd: TokenCmd) -> Result<(), CliError> {
    let (report, json) = match cmd {
        TokenCmd::Decode { token, json } => {
            let t = portvakt_guard::token_from_arg(&token)
                .map_err(|e| CliError::Io(format!("cannot read the token: {e}")))?;
            (portvakt_guard::decode_report(&t, now()), json)
        }
        TokenCmd::Validate {
            issuer,
            audience,
            scope,
            leeway,
            token,
            json,
        } => {
            let t = portvakt_guard::token_from_arg(&token)
                .map_err(|e| CliError::Io(format!("cannot read the token: {e}")))?;
            (
                portvakt_guard::validate_report(&issuer, &audience, &scope, leeway, &t).await,
                json,
            )
        }
    };
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report.json()).unwrap_or_default()
        );
    } else {
        println!("{}", report.human());
    }
    if report.valid {
        Ok(())
    } else {
        Err(CliError::Verdict)
    }
}
