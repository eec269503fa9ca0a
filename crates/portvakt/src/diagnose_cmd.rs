//! `portvakt diagnose`: why was a token refused, why did a sign-in fail — the chain of
//! causes and the fix, through the admin API's `POST …/diagnose`.

use crate::admin_client::{seg, AdminClient};
use crate::error::CliError;
use crate::Target;
use reqwest::Method;
use serde_json::{json, Value};
use std::io::Read;

/// `portvakt diagnose` arguments: one of --token, --correlation-id, --user.
#[derive(clap::Args, Debug)]
#[command(group(clap::ArgGroup::new("what").required(true).args(["token", "correlation_id", "user"])))]
pub struct DiagnoseArgs {
    /// Tenant.
    #[arg(long)]
    pub tenant: String,
    /// The access token a service refused (`-`: read it from stdin).
    #[arg(long)]
    pub token: Option<String>,
    /// With --token: the audience the refusing service expects.
    #[arg(long, requires = "token")]
    pub audience: Option<String>,
    /// A correlation id from an error response, page or log line.
    #[arg(long = "correlation-id")]
    pub correlation_id: Option<String>,
    /// A user principal name: explains the user's latest failed sign-in.
    #[arg(long)]
    pub user: Option<String>,
    /// With --user: how far back (30m, 1h, 7d; default 1d).
    #[arg(long, requires = "user")]
    pub since: Option<String>,
}

/// Run `portvakt diagnose`.
pub async fn run(a: DiagnoseArgs, target: &Target) -> Result<(), CliError> {
    let token = match a.token.as_deref() {
        Some("-") => {
            let mut t = String::new();
            std::io::stdin()
                .read_to_string(&mut t)
                .map_err(|e| CliError::Io(format!("cannot read the token from stdin: {e}")))?;
            Some(t.trim().to_string())
        }
        other => other.map(str::to_string),
    };
    let mut body = json!({});
    for (k, v) in [
        ("token", token),
        ("audience", a.audience),
        ("correlationId", a.correlation_id),
        ("user", a.user),
        ("since", a.since),
    ] {
        if let Some(v) = v {
            body[k] = json!(v);
        }
    }
    let c = AdminClient::connect(target).await?;
    let d = c
        .call(
            Method::POST,
            &format!("/tenants/{}/diagnose", seg(&a.tenant)),
            Some(&body),
        )
        .await?;
    if target.json {
        println!("{d}");
    } else {
        print!("{}", render(&d));
    }
    Ok(())
}

/// The diagnosis in plain words: the cause, the chain, the fix, the links.
pub fn render(d: &Value) -> String {
    let mut out = String::new();
    let cause = d["cause"].as_str().unwrap_or("?");
    match d["code"].as_str() {
        Some(code) => out.push_str(&format!("Cause: {cause} ({code})\n")),
        None => out.push_str(&format!("Cause: {cause}\n")),
    }
    for (i, s) in d["chain"].as_array().into_iter().flatten().enumerate() {
        let arrow = if i == 0 { "  " } else { "→ " };
        out.push_str(&format!("{arrow}{}\n", s["text"].as_str().unwrap_or("")));
    }
    let fixes: Vec<&str> = d["fix"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if !fixes.is_empty() {
        out.push_str("Fix:\n");
        for f in fixes {
            out.push_str(&format!("  - {f}\n"));
        }
    }
    if let Some(l) = d["links"]["signIn"].as_str() {
        out.push_str(&format!("Sign-in record: {l}\n"));
    }
    if let Some(l) = d["links"]["troubleshooting"].as_str() {
        out.push_str(&format!("Troubleshooting: {l}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chain_reads_as_arrows_then_the_fix_and_links() {
        let d = json!({"cause": "mfaRequired", "code": "PV4002",
            "chain": [{"text": "the access token expired at T"}, {"text": "the renewal failed"}],
            "fix": ["sign in interactively", "or exclude the account"],
            "links": {"signIn": "http://x/s", "troubleshooting": "http://x/errors/PV4002"}});
        let text = render(&d);
        assert_eq!(
            text,
            "Cause: mfaRequired (PV4002)\n  the access token expired at T\n→ the renewal failed\nFix:\n  - sign in interactively\n  - or exclude the account\nSign-in record: http://x/s\nTroubleshooting: http://x/errors/PV4002\n"
        );
    }
}
