//! `portvakt audit`: the audit log of admin changes (Graph `directoryAudit`), newest
//! first, through the admin API (`…/auditLogs/directoryAudits`).

use crate::admin_client::{seg, AdminClient};
use crate::commands::{items, s, table};
use crate::error::CliError;
use crate::Target;
use reqwest::Method;
use serde_json::Value;

/// The most records the server returns per page.
const PAGE: usize = 1000;

/// `portvakt audit --tenant T …`
#[derive(clap::Args, Debug)]
pub struct AuditArgs {
    /// Tenant (`system` holds tenant creation and imports).
    #[arg(long)]
    tenant: String,
    /// Only changes since then: a duration back from now (30m, 1h, 7d) or an RFC 3339
    /// time (2026-12-01T09:00:00Z).
    #[arg(long)]
    since: Option<String>,
    /// Only changes before then (same forms as --since).
    #[arg(long)]
    until: Option<String>,
    /// Only what one admin request did (its x-correlation-id).
    #[arg(long = "correlation-id")]
    correlation_id: Option<String>,
    /// A Graph $filter, e.g. "result eq 'failure'" or
    /// "targetResources/any(t: t/displayName eq 'alice@contoso.com')".
    #[arg(long)]
    filter: Option<String>,
    /// At most this many records, newest first.
    #[arg(long, default_value_t = 50)]
    top: usize,
}

/// The `$skiptoken` of an `@odata.nextLink`.
fn skiptoken(link: &str) -> Option<&str> {
    let (_, query) = link.split_once('?')?;
    query.split('&').find_map(|kv| {
        kv.strip_prefix("$skiptoken=")
            .or_else(|| kv.strip_prefix("%24skiptoken="))
    })
}

/// Seconds are enough on a terminal: `2026-12-01T09:00:00.123Z` → `2026-12-01T09:00:00Z`.
fn short_time(t: &str) -> String {
    match (t.split_once('.'), t.ends_with('Z')) {
        (Some((head, _)), true) => format!("{head}Z"),
        _ => t.to_string(),
    }
}

fn initiator(r: &Value) -> String {
    let by = &r["initiatedBy"];
    if let Some(upn) = by["user"]["userPrincipalName"].as_str() {
        return upn.to_string();
    }
    match (
        by["app"]["displayName"].as_str(),
        by["app"]["appId"].as_str(),
    ) {
        (Some(name), _) if !name.is_empty() => name.to_string(),
        (_, Some(id)) => id.to_string(),
        _ => "-".into(),
    }
}

fn targets(r: &Value) -> String {
    let t: Vec<String> = r["targetResources"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[])
        .iter()
        .map(|t| {
            let name = match s(t, "displayName").as_str() {
                "" | "-" => s(t, "id"),
                n => n.to_string(),
            };
            format!("{} {name}", s(t, "type"))
        })
        .collect();
    if t.is_empty() {
        "-".into()
    } else {
        t.join(", ")
    }
}

fn result(r: &Value) -> String {
    match (s(r, "result").as_str(), s(r, "resultReason").as_str()) {
        (res, "" | "-") => res.to_string(),
        (res, why) => format!("{res}: {why}"),
    }
}

/// Run `portvakt audit`.
pub async fn run(args: AuditArgs, target: &Target) -> Result<(), CliError> {
    if args.top == 0 {
        return Err(CliError::Config("--top must be at least 1".into()));
    }
    let mut query = String::new();
    for (k, v) in [
        ("since", &args.since),
        ("until", &args.until),
        ("correlationId", &args.correlation_id),
        ("$filter", &args.filter),
    ] {
        if let Some(v) = v {
            query.push_str(&format!("&{k}={}", seg(v)));
        }
    }
    let c = AdminClient::connect(target).await?;
    let base = format!("/tenants/{}/auditLogs/directoryAudits", seg(&args.tenant));
    let mut records: Vec<Value> = Vec::new();
    let mut token: Option<String> = None;
    while records.len() < args.top {
        let top = (args.top - records.len()).min(PAGE);
        let mut path = format!("{base}?$top={top}{query}");
        if let Some(t) = &token {
            path.push_str(&format!("&$skiptoken={t}"));
        }
        let v = c.call(Method::GET, &path, None).await?;
        records.extend(items(&v).iter().cloned());
        token = v["@odata.nextLink"]
            .as_str()
            .and_then(skiptoken)
            .map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    records.truncate(args.top);
    if target.json {
        for r in &records {
            println!("{}", serde_json::to_string(r).unwrap_or_default());
        }
        return Ok(());
    }
    table(
        &["time", "activity", "initiator", "targets", "result"],
        records
            .iter()
            .map(|r| {
                vec![
                    short_time(&s(r, "activityDateTime")),
                    s(r, "activityDisplayName"),
                    initiator(r),
                    targets(r),
                    result(r),
                ]
            })
            .collect(),
    );
    if token.is_some() {
        println!(
            "(the newest {}; --top N for more, --since to narrow)",
            records.len()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_text_view_names_time_initiator_targets_and_result() {
        let r = json!({
            "activityDateTime": "2026-12-01T09:00:00.123Z",
            "initiatedBy": {"app": {"appId": "portvakt-admin", "displayName": "Portvakt administration"}},
            "targetResources": [{"id": "u1", "displayName": "alice@contoso.example", "type": "User"},
                                {"id": "k1", "displayName": "", "type": "Key"}],
            "result": "failure", "resultReason": "PV1404 The object does not exist: user 'x'",
        });
        assert_eq!(
            short_time(&s(&r, "activityDateTime")),
            "2026-12-01T09:00:00Z"
        );
        assert_eq!(initiator(&r), "Portvakt administration");
        assert_eq!(targets(&r), "User alice@contoso.example, Key k1");
        assert_eq!(
            result(&r),
            "failure: PV1404 The object does not exist: user 'x'"
        );
        assert_eq!(
            skiptoken("http://h/admin/v1/x?%24top=5&%24skiptoken=42"),
            Some("42")
        );
        assert_eq!(skiptoken("http://h/x?$top=5"), None);
    }
}
