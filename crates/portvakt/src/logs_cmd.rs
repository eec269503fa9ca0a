//! `portvakt logs`: the sign-in log through the admin API.

use crate::admin_client::{seg, AdminClient};
use crate::commands::{s, table};
use crate::error::CliError;
use crate::Target;
use reqwest::Method;
use serde_json::Value;

/// `portvakt logs` arguments.
#[derive(clap::Args, Debug)]
pub struct LogsArgs {
    /// Tenant.
    #[arg(long)]
    pub tenant: String,
    /// The user (user principal name, as typed for unknown users).
    #[arg(long)]
    pub user: Option<String>,
    /// The application's client id.
    #[arg(long)]
    pub app: Option<String>,
    /// success, failure or interrupted.
    #[arg(long)]
    pub status: Option<String>,
    /// A correlation id (from an error page or response).
    #[arg(long = "correlation-id")]
    pub correlation_id: Option<String>,
    /// An error code, PV4001 or 4001.
    #[arg(long = "error-code")]
    pub error_code: Option<String>,
    /// Only sign-ins of the last 30m, 1h, 7d, …
    #[arg(long)]
    pub since: Option<String>,
    /// Graph's $filter, e.g. "status/errorCode ne 0".
    #[arg(long)]
    pub filter: Option<String>,
    /// At most this many records (default 50; all pages are read up to it).
    #[arg(long, default_value_t = 50)]
    pub top: u32,
    /// CSV instead of a table.
    #[arg(long)]
    pub csv: bool,
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Run `portvakt logs`.
pub async fn run(a: LogsArgs, target: &Target) -> Result<(), CliError> {
    let mut params: Vec<(&str, String)> = vec![("$top", a.top.min(1000).to_string())];
    for (k, v) in [
        ("user", &a.user),
        ("app", &a.app),
        ("status", &a.status),
        ("correlationId", &a.correlation_id),
        ("errorCode", &a.error_code),
        ("since", &a.since),
        ("$filter", &a.filter),
    ] {
        if let Some(v) = v {
            params.push((k, v.clone()));
        }
    }
    let mut ser = form_urlencoded::Serializer::new(String::new());
    for (k, v) in &params {
        ser.append_pair(k, v);
    }
    let c = AdminClient::connect(target).await?;
    let mut path = format!(
        "/tenants/{}/auditLogs/signIns?{}",
        seg(&a.tenant),
        ser.finish()
    );
    let mut records: Vec<Value> = Vec::new();
    loop {
        let v = c.call(Method::GET, &path, None).await?;
        records.extend(v["value"].as_array().cloned().unwrap_or_default());
        match v["@odata.nextLink"].as_str() {
            Some(next) if (records.len() as u32) < a.top => {
                path = next
                    .split_once("/admin/v1")
                    .map(|(_, p)| p.to_string())
                    .unwrap_or_default();
            }
            _ => break,
        }
    }
    records.truncate(a.top as usize);
    if target.json {
        // One record per line.
        for r in &records {
            println!("{r}");
        }
        return Ok(());
    }
    let row = |r: &Value| {
        vec![
            s(r, "createdDateTime"),
            s(r, "userPrincipalName"),
            s(r, "appId"),
            s(r, "portvaktStatus"),
            r["errorCodeName"].as_str().unwrap_or("-").to_string(),
            s(r, "ipAddress"),
            s(r, "conditionalAccessStatus"),
            if r["isInteractive"] == true {
                "yes".into()
            } else {
                "no".into()
            },
            s(r, "correlationId"),
            r["status"]["failureReason"]
                .as_str()
                .unwrap_or("")
                .to_string(),
        ]
    };
    let headers = [
        "time",
        "user",
        "app",
        "status",
        "code",
        "ip",
        "ca",
        "interactive",
        "correlation id",
        "reason",
    ];
    if a.csv {
        println!("{}", headers.join(","));
        for r in &records {
            println!(
                "{}",
                row(r)
                    .iter()
                    .map(|f| csv_field(f))
                    .collect::<Vec<_>>()
                    .join(",")
            );
        }
    } else {
        table(&headers, records.iter().map(row).collect());
    }
    Ok(())
}
