//! `portvakt policy …`: Conditional Access policies through the admin API, files as
//! Entra tools write them (one policy, an array or a Graph collection; UTF-8 with or
//! without BOM, UTF-16 with BOM).

use crate::admin_client::{seg, AdminClient};
use crate::commands::{items, out, s, table};
use crate::error::CliError;
use crate::Target;
use clap::Subcommand;
use reqwest::Method;
use serde_json::{json, Value};
use std::path::PathBuf;

/// `portvakt policy …`
#[derive(Subcommand, Debug)]
pub enum PolicyCmd {
    /// List policies with their state.
    List {
        /// Tenant.
        #[arg(long)]
        tenant: String,
    },
    /// One policy as Graph JSON.
    Get {
        /// Tenant.
        #[arg(long)]
        tenant: String,
        /// Policy id (or display name).
        id: String,
    },
    /// Import policies (and, with --locations, named locations) from files exported
    /// from Entra ID: matched by id, else by display name; one transaction.
    Import {
        /// Tenant.
        #[arg(long)]
        tenant: String,
        /// Files of named locations to import with the policies.
        #[arg(long = "locations")]
        locations: Vec<PathBuf>,
        /// Policy files.
        files: Vec<PathBuf>,
    },
    /// Write the policies (or, with --locations, the named locations) as a Graph
    /// collection that imports back unchanged.
    Export {
        /// Tenant.
        #[arg(long)]
        tenant: String,
        /// Export named locations instead of policies.
        #[arg(long)]
        locations: bool,
        /// File to write (default: standard output).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Switch a policy on, off or to report-only.
    SetState {
        /// Tenant.
        #[arg(long)]
        tenant: String,
        /// Policy id (or display name).
        id: String,
        /// `enabled` (on), `disabled` (off) or `enabledForReportingButNotEnforced`
        /// (report-only).
        state: String,
    },
    /// Replay a proposed policy (files) or a stored one in another state over the
    /// sign-ins already in the log: who would have been blocked, asked for MFA, or no
    /// longer affected. Nothing is written.
    Replay {
        /// Tenant.
        #[arg(long)]
        tenant: String,
        /// A stored policy (id or display name) to replay in `--state`.
        #[arg(long)]
        policy: Option<String>,
        /// The state to replay `--policy` in (default enabled).
        #[arg(long, default_value = "enabled")]
        state: String,
        /// How far back (default 30d).
        #[arg(long, default_value = "30d")]
        since: String,
        /// Proposed policy files (Graph JSON, as Entra exports them).
        files: Vec<PathBuf>,
    },
    /// What-If: which policies would apply to a sign-in, and why not.
    WhatIf {
        /// Tenant.
        #[arg(long)]
        tenant: String,
        /// The user (user principal name or id).
        #[arg(long)]
        user: String,
        /// The application's client id.
        #[arg(long)]
        app: String,
        /// A resource identifier the token would be for (instead of --app's own).
        #[arg(long)]
        resource: Option<String>,
        /// The client's IP address.
        #[arg(long)]
        ip: Option<String>,
        /// Device platform: android, iOS, windows, macOS, linux.
        #[arg(long)]
        platform: Option<String>,
        /// Client app type: browser, mobileAppsAndDesktopClients, other.
        #[arg(long = "client-app")]
        client_app: Option<String>,
        /// The device code flow.
        #[arg(long)]
        device_code: bool,
    },
}

fn base(tenant: &str) -> String {
    format!("/tenants/{}/identity/conditionalAccess", seg(tenant))
}

fn state_name(s: &str) -> Result<&'static str, CliError> {
    Ok(match s {
        "enabled" | "on" => "enabled",
        "disabled" | "off" => "disabled",
        "enabledForReportingButNotEnforced" | "report-only" | "reportOnly" => {
            "enabledForReportingButNotEnforced"
        }
        other => {
            return Err(CliError::Config(format!(
                "'{other}' is not a policy state: use enabled (on), disabled (off) or enabledForReportingButNotEnforced (report-only)"
            )))
        }
    })
}

/// The id of a policy given by id or display name.
async fn policy_id(c: &AdminClient, tenant: &str, id: &str) -> Result<String, CliError> {
    let all = c
        .call(Method::GET, &format!("{}/policies", base(tenant)), None)
        .await?;
    items(&all)
        .iter()
        .find(|p| s(p, "id") == id)
        .or_else(|| items(&all).iter().find(|p| s(p, "displayName") == id))
        .map(|p| s(p, "id"))
        .ok_or_else(|| {
            CliError::Config(format!(
                "no policy with id or display name '{id}' in tenant '{tenant}' ('portvakt policy list --tenant {tenant}')"
            ))
        })
}

/// Read a file as Entra tools write it and split it into Graph objects; the policy
/// engine reports problems with the file name and JSON path before anything is sent.
fn objects(path: &PathBuf, locations: bool) -> Result<Vec<Value>, CliError> {
    let bytes = std::fs::read(path)
        .map_err(|e| CliError::Io(format!("cannot read {}: {e}", path.display())))?;
    let to_values = |v: Vec<Value>| v;
    let fail = |e: portvakt_policy::Error| {
        CliError::Config(format!(
            "{}: {}\nnothing was imported",
            path.display(),
            e.lines().replace('\n', &format!("\n{}: ", path.display()))
        ))
    };
    if locations {
        let ls = portvakt_policy::parse_named_locations(&bytes).map_err(fail)?;
        Ok(to_values(
            ls.iter()
                .map(|l| serde_json::to_value(l).unwrap_or_default())
                .collect(),
        ))
    } else {
        let ps = portvakt_policy::parse_policies(&bytes).map_err(fail)?;
        Ok(ps
            .iter()
            .map(portvakt_policy::export::policy_json)
            .collect())
    }
}

/// Run a `policy` subcommand.
pub async fn run(cmd: PolicyCmd, target: &Target) -> Result<(), CliError> {
    match cmd {
        PolicyCmd::List { tenant } => {
            let c = AdminClient::connect(target).await?;
            let v = c
                .call(Method::GET, &format!("{}/policies", base(&tenant)), None)
                .await?;
            out(target, &v, |v| {
                table(
                    &["id", "state", "displayName"],
                    items(v)
                        .iter()
                        .map(|p| vec![s(p, "id"), s(p, "state"), s(p, "displayName")])
                        .collect(),
                )
            });
        }
        PolicyCmd::Get { tenant, id } => {
            let c = AdminClient::connect(target).await?;
            let id = policy_id(&c, &tenant, &id).await?;
            let v = c
                .call(
                    Method::GET,
                    &format!("{}/policies/{}", base(&tenant), seg(&id)),
                    None,
                )
                .await?;
            println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
        }
        PolicyCmd::Import {
            tenant,
            locations,
            files,
        } => {
            if files.is_empty() && locations.is_empty() {
                return Err(CliError::Config(
                    "name at least one policy file (or --locations FILE)".into(),
                ));
            }
            let mut policies = Vec::new();
            for f in &files {
                policies.extend(objects(f, false)?);
            }
            let mut named = Vec::new();
            for f in &locations {
                named.extend(objects(f, true)?);
            }
            let c = AdminClient::connect(target).await?;
            let v = c
                .call(
                    Method::POST,
                    &format!("{}/import", base(&tenant)),
                    Some(&json!({"policies": policies, "namedLocations": named})),
                )
                .await?;
            out(target, &v, |v| {
                for p in items(&json!({"value": v["namedLocations"]})) {
                    println!("named location {} ({})", s(p, "displayName"), s(p, "id"));
                }
                for p in items(&json!({"value": v["policies"]})) {
                    println!("policy {} ({})", s(p, "displayName"), s(p, "id"));
                }
            });
        }
        PolicyCmd::Export {
            tenant,
            locations,
            out: file,
        } => {
            let c = AdminClient::connect(target).await?;
            let what = if locations {
                "namedLocations"
            } else {
                "policies"
            };
            let v = c
                .call(Method::GET, &format!("{}/{what}", base(&tenant)), None)
                .await?;
            let text = serde_json::to_string_pretty(&v).unwrap_or_default();
            match file {
                Some(p) => std::fs::write(&p, text + "\n")
                    .map_err(|e| CliError::Io(format!("cannot write {}: {e}", p.display())))?,
                None => println!("{text}"),
            }
        }
        PolicyCmd::SetState { tenant, id, state } => {
            let state = state_name(&state)?;
            let c = AdminClient::connect(target).await?;
            let id = policy_id(&c, &tenant, &id).await?;
            let v = c
                .call(
                    Method::PATCH,
                    &format!("{}/policies/{}", base(&tenant), seg(&id)),
                    Some(&json!({ "state": state })),
                )
                .await?;
            out(target, &v, |v| {
                println!(
                    "Policy '{}' ({}) is now {}; it applies from the next sign-in.",
                    s(v, "displayName"),
                    s(v, "id"),
                    s(v, "state")
                )
            });
        }
        PolicyCmd::Replay {
            tenant,
            policy,
            state,
            since,
            files,
        } => {
            let mut policies = Vec::new();
            for f in &files {
                policies.extend(objects(f, false)?);
            }
            if policies.is_empty() && policy.is_none() {
                return Err(CliError::Config(
                    "give a proposed policy FILE, or --policy ID --state STATE".into(),
                ));
            }
            let c = AdminClient::connect(target).await?;
            let body = json!({"policies": policies, "policyId": policy, "state": state_name(&state)?, "since": since});
            let v = c
                .call(
                    Method::POST,
                    &format!("{}/replay", base(&tenant)),
                    Some(&body),
                )
                .await?;
            out(target, &v, |v| {
                println!(
                    "Replayed {} sign-ins of the last {} ({} could not be replayed):",
                    v["replayed"],
                    s(v, "since"),
                    v["notReplayable"]
                );
                for (key, what) in [
                    ("newlyBlocked", "newly blocked"),
                    ("newlyMfa", "newly asked for MFA"),
                    (
                        "newlyInteraction",
                        "newly asked to sign in again or change the password",
                    ),
                    ("noLongerAffected", "no longer affected"),
                ] {
                    let ch = &v[key];
                    let users: Vec<&str> = ch["users"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|u| u.as_str())
                        .collect();
                    println!(
                        "  {what}: {} sign-ins, {} users{}",
                        ch["signIns"],
                        users.len(),
                        if users.is_empty() {
                            String::new()
                        } else {
                            format!(" ({})", users.join(", "))
                        }
                    );
                    for e in items(&json!({"value": ch["examples"]})) {
                        println!(
                            "    {} {} {} {} → {} (correlation id {})",
                            s(e, "createdDateTime"),
                            s(e, "userPrincipalName"),
                            s(e, "appId"),
                            s(e, "before"),
                            s(e, "after"),
                            s(e, "correlationId")
                        );
                    }
                }
            });
        }
        PolicyCmd::WhatIf {
            tenant,
            user,
            app,
            resource,
            ip,
            platform,
            client_app,
            device_code,
        } => {
            let mut conditions = serde_json::Map::new();
            if let Some(ip) = ip {
                conditions.insert("ipAddress".into(), json!(ip));
            }
            if let Some(p) = platform {
                conditions.insert("devicePlatform".into(), json!(p));
            }
            if let Some(t) = client_app {
                conditions.insert("clientAppType".into(), json!(t));
            }
            if device_code {
                conditions.insert(
                    "authenticationFlow".into(),
                    json!({"transferMethod": "deviceCodeFlow"}),
                );
            }
            let body = json!({
                "signInIdentity": {"@odata.type": "#microsoft.graph.userSignIn", "userId": user},
                "signInContext": {"@odata.type": "#microsoft.graph.applicationContext", "includeApplications": [resource.unwrap_or(app)]},
                "signInConditions": conditions,
                "appliedPoliciesOnly": false,
            });
            let c = AdminClient::connect(target).await?;
            let v = c
                .call(
                    Method::POST,
                    &format!("{}/evaluate", base(&tenant)),
                    Some(&body),
                )
                .await?;
            out(target, &v, |v| {
                let reasons = &v["portvakt"]["reasons"];
                let rows = items(v)
                    .iter()
                    .map(|p| {
                        let why = items(&json!({"value": reasons}))
                            .iter()
                            .find(|r| s(r, "id") == s(p, "id"))
                            .map(|r| s(r, "reason"))
                            .unwrap_or_default();
                        vec![
                            if p["policyApplies"] == true {
                                "applies".into()
                            } else {
                                "no".into()
                            },
                            s(p, "state"),
                            s(p, "displayName"),
                            if p["policyApplies"] == true {
                                why
                            } else {
                                format!("{}: {why}", s(p, "analysisReasons"))
                            },
                        ]
                    })
                    .collect();
                table(&["applies", "state", "policy", "why"], rows);
                println!(
                    "decision: {}",
                    v["portvakt"]["decision"]["type"].as_str().unwrap_or("-")
                );
            });
        }
    }
    Ok(())
}
