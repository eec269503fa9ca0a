//! The admin subcommands. Each calls the admin API and prints a table, or the raw
//! JSON with `--json`.

use crate::admin_client::{seg, AdminClient};
use crate::error::CliError;
use crate::Target;
use clap::Subcommand;
use reqwest::Method;
use serde_json::{json, Value};
use std::io::Read;
use std::path::Path;

/// `portvakt tenant …`
#[derive(Subcommand, Debug)]
pub enum TenantCmd {
    /// List tenants.
    List,
    /// Create a tenant.
    Create {
        /// URL name (a-z, 0-9, '-').
        name: String,
        /// Human name.
        #[arg(long)]
        display_name: Option<String>,
        /// ES256 (default), EdDSA or RS256.
        #[arg(long)]
        algorithm: Option<String>,
        /// Access-token lifetime in seconds.
        #[arg(long)]
        lifetime: Option<u64>,
    },
}

/// `portvakt user …`
#[derive(Subcommand, Debug)]
pub enum UserCmd {
    /// List users.
    List {
        /// Tenant.
        #[arg(long)]
        tenant: String,
    },
    /// Create a user.
    Create {
        /// Tenant.
        #[arg(long)]
        tenant: String,
        /// Sign-in name, e.g. admin@contoso.example.
        upn: String,
        /// Human name.
        #[arg(long)]
        display_name: Option<String>,
        /// Read the initial password from standard input (first line).
        #[arg(long)]
        password_stdin: bool,
        /// Create the account disabled.
        #[arg(long)]
        disabled: bool,
    },
    /// Disable an account: it can no longer sign in.
    Disable {
        /// Tenant.
        #[arg(long)]
        tenant: String,
        /// Sign-in name.
        upn: String,
    },
    /// Revoke every refresh token and browser session of a user at once.
    RevokeSessions {
        /// Tenant.
        #[arg(long)]
        tenant: String,
        /// Sign-in name.
        upn: String,
    },
    /// Remove the user's authenticator (they register a new one at the next MFA) and
    /// end their sessions.
    ResetMfa {
        /// Tenant.
        #[arg(long)]
        tenant: String,
        /// Sign-in name.
        upn: String,
    },
    /// Set the user's roles (e.g. `admin`, which opens the admin portal).
    SetRoles {
        /// Tenant.
        #[arg(long)]
        tenant: String,
        /// Sign-in name.
        upn: String,
        /// Role names (none: no roles).
        roles: Vec<String>,
    },
    /// Enable an account again.
    Enable {
        /// Tenant.
        #[arg(long)]
        tenant: String,
        /// Sign-in name.
        upn: String,
    },
}

/// `portvakt group …`
#[derive(Subcommand, Debug)]
pub enum GroupCmd {
    /// List groups.
    List {
        /// Tenant.
        #[arg(long)]
        tenant: String,
    },
    /// Create a group.
    Create {
        /// Tenant.
        #[arg(long)]
        tenant: String,
        /// Name.
        display_name: String,
    },
    /// Add a user to a group (Graph: POST /groups/{id}/members/$ref).
    AddMember {
        /// Tenant.
        #[arg(long)]
        tenant: String,
        /// The group's id or display name.
        group: String,
        /// The user's principal name or id.
        user: String,
    },
    /// Remove a user from a group.
    RemoveMember {
        /// Tenant.
        #[arg(long)]
        tenant: String,
        /// The group's id or display name.
        group: String,
        /// The user's principal name or id.
        user: String,
    },
}

/// A group's id, from its id or display name (case-insensitive).
async fn group_id(c: &AdminClient, tenant: &str, group: &str) -> Result<String, CliError> {
    let v = c
        .call(
            Method::GET,
            &format!("/tenants/{}/groups", seg(tenant)),
            None,
        )
        .await?;
    items(&v)
        .iter()
        .find(|g| s(g, "id") == group || s(g, "displayName").eq_ignore_ascii_case(group))
        .map(|g| s(g, "id"))
        .ok_or_else(|| {
            CliError::Config(format!(
                "tenant '{tenant}' has no group '{group}' (portvakt group list --tenant {tenant})"
            ))
        })
}

/// `portvakt app …`
#[derive(Subcommand, Debug)]
pub enum AppCmd {
    /// List applications.
    List {
        /// Tenant.
        #[arg(long)]
        tenant: String,
    },
    /// Grant tenant-wide (admin) consent: users are no longer asked.
    Consent {
        /// Tenant.
        #[arg(long)]
        tenant: String,
        /// Client id.
        client_id: String,
        /// Withdraw the consent instead.
        #[arg(long)]
        revoke: bool,
    },
    /// Register an application; prints its secret once.
    Create {
        /// Tenant.
        #[arg(long)]
        tenant: String,
        /// Human name.
        display_name: String,
        /// Client id (default: a generated UUID).
        #[arg(long)]
        client_id: Option<String>,
        /// A public client (no secret).
        #[arg(long)]
        public: bool,
        /// Grant type (repeatable), e.g. client_credentials.
        #[arg(long = "grant-type")]
        grant_types: Vec<String>,
        /// Allowed scope (repeatable): {resource}/{scope} or {resource}/.default.
        #[arg(long = "scope")]
        scopes: Vec<String>,
        /// Redirect URI (repeatable).
        #[arg(long = "redirect-uri")]
        redirect_uris: Vec<String>,
        /// Access-token lifetime in seconds.
        #[arg(long)]
        lifetime: Option<u64>,
    },
}

/// `portvakt resource …`
#[derive(Subcommand, Debug)]
pub enum ResourceCmd {
    /// List resources (APIs).
    List {
        /// Tenant.
        #[arg(long)]
        tenant: String,
    },
    /// Register a resource.
    Create {
        /// Tenant.
        #[arg(long)]
        tenant: String,
        /// Identifier (absolute URI), the tokens' audience.
        identifier: String,
        /// Scope it defines (repeatable).
        #[arg(long = "scope")]
        scopes: Vec<String>,
        /// Access-token lifetime in seconds.
        #[arg(long)]
        lifetime: Option<u64>,
    },
}

/// `portvakt keys …`
#[derive(Subcommand, Debug)]
pub enum KeysCmd {
    /// List signing keys and their state.
    List {
        /// Tenant.
        #[arg(long)]
        tenant: String,
    },
    /// Rotate: publish a new key now; it signs after --prepublish seconds.
    Rotate {
        /// Tenant.
        #[arg(long)]
        tenant: String,
        /// Seconds the new key is published before it signs (default 60, the JWKS max-age).
        #[arg(long)]
        prepublish: Option<u64>,
        /// Algorithm of the new key (default: the tenant's).
        #[arg(long)]
        algorithm: Option<String>,
    },
}

pub(crate) fn items(v: &Value) -> &[Value] {
    v.get("value")
        .and_then(|x| x.as_array())
        .map(|a| a.as_slice())
        .unwrap_or(&[])
}

pub(crate) fn s(v: &Value, k: &str) -> String {
    match v.get(k) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => "-".into(),
        Some(Value::Array(a)) => a
            .iter()
            .map(|x| {
                x.as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| x.to_string())
            })
            .collect::<Vec<_>>()
            .join(" "),
        Some(other) => other.to_string(),
    }
}

/// Print rows as aligned columns.
pub(crate) fn table(headers: &[&str], rows: Vec<Vec<String>>) {
    let mut w: Vec<usize> = headers.iter().map(|h| h.len()).collect();
    for r in &rows {
        for (i, c) in r.iter().enumerate() {
            w[i] = w[i].max(c.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let mut out = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                out.push_str(c);
            } else {
                out.push_str(&format!("{c:<width$}  ", width = w[i]));
            }
        }
        println!("{}", out.trim_end());
    };
    line(headers.iter().map(|h| h.to_uppercase()).collect());
    if rows.is_empty() {
        println!("(none)");
    }
    for r in rows {
        line(r);
    }
}

pub(crate) fn out(target: &Target, v: &Value, human: impl FnOnce(&Value)) {
    if target.json {
        println!("{}", serde_json::to_string_pretty(v).unwrap_or_default());
    } else {
        human(v)
    }
}

fn time(v: &Value, k: &str) -> String {
    match v.get(k).and_then(|x| x.as_i64()) {
        Some(t) => time::OffsetDateTime::from_unix_timestamp(t)
            .ok()
            .and_then(|d| {
                d.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            })
            .unwrap_or_else(|| t.to_string()),
        None => "-".into(),
    }
}

/// `portvakt import FILE`
pub async fn import(target: &Target, file: &Path) -> Result<(), CliError> {
    let mut text = String::new();
    if file == Path::new("-") {
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| CliError::Io(format!("cannot read stdin: {e}")))?;
    } else {
        text = std::fs::read_to_string(file)
            .map_err(|e| CliError::Io(format!("cannot read {}: {e}", file.display())))?;
    }
    let body: Value = serde_json::from_str(&text).map_err(|e| {
        CliError::Config(format!(
            "{} is not JSON: {e}; nothing was imported",
            file.display()
        ))
    })?;
    let c = AdminClient::connect(target).await?;
    let v = c.call(Method::POST, "/import", Some(&body)).await?;
    out(target, &v, |v| {
        println!("Imported {} in one transaction:", file.display());
        for (k, n) in v.as_object().into_iter().flatten() {
            println!("  {k}: {n}");
        }
    });
    Ok(())
}

/// `portvakt tenant …`
pub async fn tenant(cmd: TenantCmd, target: &Target) -> Result<(), CliError> {
    match cmd {
        TenantCmd::List => {
            let v = AdminClient::connect(target)
                .await?
                .call(Method::GET, "/tenants", None)
                .await?;
            out(target, &v, |v| {
                table(
                    &["name", "display name", "algorithm", "issuer"],
                    items(v)
                        .iter()
                        .map(|t| {
                            vec![
                                s(t, "name"),
                                s(t, "displayName"),
                                s(t, "signingAlgorithm"),
                                s(t, "issuer"),
                            ]
                        })
                        .collect(),
                )
            });
        }
        TenantCmd::Create {
            name,
            display_name,
            algorithm,
            lifetime,
        } => {
            let body = json!({"name": name, "displayName": display_name, "signingAlgorithm": algorithm, "accessTokenLifetimeSeconds": lifetime});
            let v = AdminClient::connect(target)
                .await?
                .call(Method::POST, "/tenants", Some(&body))
                .await?;
            out(target, &v, |v| {
                println!(
                    "Created tenant '{}' with issuer {}",
                    s(v, "name"),
                    s(v, "issuer")
                )
            });
        }
    }
    Ok(())
}

/// `portvakt user …`
pub async fn user(cmd: UserCmd, target: &Target) -> Result<(), CliError> {
    match cmd {
        UserCmd::List { tenant } => {
            let v = AdminClient::connect(target)
                .await?
                .call(
                    Method::GET,
                    &format!("/tenants/{}/users", seg(&tenant)),
                    None,
                )
                .await?;
            out(target, &v, |v| {
                table(
                    &["user principal name", "display name", "enabled", "groups"],
                    items(v)
                        .iter()
                        .map(|u| {
                            vec![
                                s(u, "userPrincipalName"),
                                s(u, "displayName"),
                                s(u, "accountEnabled"),
                                s(u, "groups"),
                            ]
                        })
                        .collect(),
                )
            });
        }
        UserCmd::Create {
            tenant,
            upn,
            display_name,
            password_stdin,
            disabled,
        } => {
            let password = if password_stdin {
                let mut line = String::new();
                std::io::stdin().read_line(&mut line).map_err(|e| {
                    CliError::Io(format!("cannot read the password from stdin: {e}"))
                })?;
                Some(line.trim_end_matches(['\r', '\n']).to_string())
            } else {
                None
            };
            let body = json!({"userPrincipalName": upn, "displayName": display_name, "password": password, "accountEnabled": !disabled});
            let v = AdminClient::connect(target)
                .await?
                .call(
                    Method::POST,
                    &format!("/tenants/{}/users", seg(&tenant)),
                    Some(&body),
                )
                .await?;
            out(target, &v, |v| {
                println!(
                    "Created user {} (id {})",
                    s(v, "userPrincipalName"),
                    s(v, "id")
                )
            });
        }
        UserCmd::Disable { tenant, upn } => set_enabled(tenant, upn, target, false).await?,
        UserCmd::Enable { tenant, upn } => set_enabled(tenant, upn, target, true).await?,
        UserCmd::ResetMfa { tenant, upn } => {
            let v = AdminClient::connect(target)
                .await?
                .call(
                    Method::POST,
                    &format!("/tenants/{}/users/{}/reset-mfa", seg(&tenant), seg(&upn)),
                    None,
                )
                .await?;
            out(target, &v, |v| {
                println!("MFA of {} was reset: the authenticator is removed and the sessions ended; the next sign-in that needs MFA registers a new one.", s(v, "userPrincipalName"))
            });
        }
        UserCmd::SetRoles { tenant, upn, roles } => {
            let v = AdminClient::connect(target)
                .await?
                .call(
                    Method::PATCH,
                    &format!("/tenants/{}/users/{}", seg(&tenant), seg(&upn)),
                    Some(&json!({ "roles": roles })),
                )
                .await?;
            out(target, &v, |v| {
                let roles = items(&json!({"value": v["roles"]}))
                    .iter()
                    .filter_map(|r| r.as_str())
                    .collect::<Vec<_>>()
                    .join(", ");
                println!(
                    "{} now has the roles: {}",
                    s(v, "userPrincipalName"),
                    if roles.is_empty() {
                        "none".into()
                    } else {
                        roles
                    }
                )
            });
        }
        UserCmd::RevokeSessions { tenant, upn } => {
            let v = AdminClient::connect(target)
                .await?
                .call(
                    Method::POST,
                    &format!(
                        "/tenants/{}/users/{}/revoke-sessions",
                        seg(&tenant),
                        seg(&upn)
                    ),
                    None,
                )
                .await?;
            out(target, &v, |v| {
                println!("Revoked every session and refresh token of {}: they stop working now; the user must sign in again.", s(v, "userPrincipalName"))
            });
        }
    }
    Ok(())
}

async fn set_enabled(
    tenant: String,
    upn: String,
    target: &Target,
    enabled: bool,
) -> Result<(), CliError> {
    let body = json!({"accountEnabled": enabled});
    let v = AdminClient::connect(target)
        .await?
        .call(
            Method::PATCH,
            &format!("/tenants/{}/users/{}", seg(&tenant), seg(&upn)),
            Some(&body),
        )
        .await?;
    out(target, &v, |v| {
        println!(
            "User {} is now {}",
            s(v, "userPrincipalName"),
            if enabled {
                "enabled"
            } else {
                "disabled: it can no longer sign in"
            }
        )
    });
    Ok(())
}

/// `portvakt group …`
pub async fn group(cmd: GroupCmd, target: &Target) -> Result<(), CliError> {
    match cmd {
        GroupCmd::List { tenant } => {
            let v = AdminClient::connect(target)
                .await?
                .call(
                    Method::GET,
                    &format!("/tenants/{}/groups", seg(&tenant)),
                    None,
                )
                .await?;
            out(target, &v, |v| {
                table(
                    &["display name", "id"],
                    items(v)
                        .iter()
                        .map(|g| vec![s(g, "displayName"), s(g, "id")])
                        .collect(),
                )
            });
        }
        GroupCmd::AddMember {
            tenant,
            group,
            user,
        } => {
            let c = AdminClient::connect(target).await?;
            let id = group_id(&c, &tenant, &group).await?;
            let body = if user.contains('@') {
                json!({"userPrincipalName": user})
            } else {
                json!({"@odata.id": format!("directoryObjects/{user}")})
            };
            c.call(
                Method::POST,
                &format!("/tenants/{}/groups/{}/members/$ref", seg(&tenant), seg(&id)),
                Some(&body),
            )
            .await?;
            out(
                target,
                &json!({"group": id, "user": user, "member": true}),
                |_| println!("'{user}' is a member of '{group}'"),
            );
        }
        GroupCmd::RemoveMember {
            tenant,
            group,
            user,
        } => {
            let c = AdminClient::connect(target).await?;
            let id = group_id(&c, &tenant, &group).await?;
            c.call(
                Method::DELETE,
                &format!(
                    "/tenants/{}/groups/{}/members/{}/$ref",
                    seg(&tenant),
                    seg(&id),
                    seg(&user)
                ),
                None,
            )
            .await?;
            out(
                target,
                &json!({"group": id, "user": user, "member": false}),
                |_| println!("'{user}' is not a member of '{group}'"),
            );
        }
        GroupCmd::Create {
            tenant,
            display_name,
        } => {
            let v = AdminClient::connect(target)
                .await?
                .call(
                    Method::POST,
                    &format!("/tenants/{}/groups", seg(&tenant)),
                    Some(&json!({"displayName": display_name})),
                )
                .await?;
            out(target, &v, |v| {
                println!(
                    "Created group '{}' (id {})",
                    s(v, "displayName"),
                    s(v, "id")
                )
            });
        }
    }
    Ok(())
}

/// `portvakt app …`
pub async fn app(cmd: AppCmd, target: &Target) -> Result<(), CliError> {
    match cmd {
        AppCmd::List { tenant } => {
            let v = AdminClient::connect(target)
                .await?
                .call(
                    Method::GET,
                    &format!("/tenants/{}/applications", seg(&tenant)),
                    None,
                )
                .await?;
            out(target, &v, |v| {
                table(
                    &[
                        "client id",
                        "display name",
                        "type",
                        "grant types",
                        "allowed scopes",
                    ],
                    items(v)
                        .iter()
                        .map(|a| {
                            vec![
                                s(a, "clientId"),
                                s(a, "displayName"),
                                if a.get("confidential") == Some(&Value::Bool(true)) {
                                    "confidential".into()
                                } else {
                                    "public".into()
                                },
                                s(a, "grantTypes"),
                                s(a, "allowedScopes"),
                            ]
                        })
                        .collect(),
                )
            });
        }
        AppCmd::Consent {
            tenant,
            client_id,
            revoke,
        } => {
            let method = if revoke { Method::DELETE } else { Method::POST };
            let v = AdminClient::connect(target)
                .await?
                .call(
                    method,
                    &format!(
                        "/tenants/{}/applications/{}/admin-consent",
                        seg(&tenant),
                        seg(&client_id)
                    ),
                    None,
                )
                .await?;
            out(target, &v, |v| {
                println!(
                    "Tenant-wide consent for '{}' is now {}",
                    s(v, "clientId"),
                    if revoke {
                        "withdrawn: users are asked again"
                    } else {
                        "granted: users are not asked"
                    }
                )
            });
        }
        AppCmd::Create {
            tenant,
            display_name,
            client_id,
            public,
            grant_types,
            scopes,
            redirect_uris,
            lifetime,
        } => {
            let body = json!({"clientId": client_id, "displayName": display_name, "confidential": !public, "grantTypes": grant_types, "allowedScopes": scopes, "redirectUris": redirect_uris, "accessTokenLifetimeSeconds": lifetime});
            let v = AdminClient::connect(target)
                .await?
                .call(
                    Method::POST,
                    &format!("/tenants/{}/applications", seg(&tenant)),
                    Some(&body),
                )
                .await?;
            out(target, &v, |v| {
                println!("Created application '{}'", s(v, "displayName"));
                println!("  client id:     {}", s(v, "clientId"));
                if v.get("clientSecret").is_some() {
                    println!("  client secret: {}", s(v, "clientSecret"));
                    println!("  (shown once: it is stored only as a SHA-256 digest)");
                }
            });
        }
    }
    Ok(())
}

/// `portvakt resource …`
pub async fn resource(cmd: ResourceCmd, target: &Target) -> Result<(), CliError> {
    match cmd {
        ResourceCmd::List { tenant } => {
            let v = AdminClient::connect(target)
                .await?
                .call(
                    Method::GET,
                    &format!("/tenants/{}/resources", seg(&tenant)),
                    None,
                )
                .await?;
            out(target, &v, |v| {
                table(
                    &["identifier", "display name", "scopes", "lifetime"],
                    items(v)
                        .iter()
                        .map(|r| {
                            vec![
                                s(r, "identifier"),
                                s(r, "displayName"),
                                s(r, "scopes"),
                                s(r, "accessTokenLifetimeSeconds"),
                            ]
                        })
                        .collect(),
                )
            });
        }
        ResourceCmd::Create {
            tenant,
            identifier,
            scopes,
            lifetime,
        } => {
            let body = json!({"identifier": identifier, "scopes": scopes, "accessTokenLifetimeSeconds": lifetime});
            let v = AdminClient::connect(target)
                .await?
                .call(
                    Method::POST,
                    &format!("/tenants/{}/resources", seg(&tenant)),
                    Some(&body),
                )
                .await?;
            out(target, &v, |v| {
                println!(
                    "Created resource {} with scopes: {}",
                    s(v, "identifier"),
                    s(v, "scopes")
                )
            });
        }
    }
    Ok(())
}

/// `portvakt keys …`
pub async fn keys(cmd: KeysCmd, target: &Target) -> Result<(), CliError> {
    match cmd {
        KeysCmd::List { tenant } => {
            let v = AdminClient::connect(target)
                .await?
                .call(
                    Method::GET,
                    &format!("/tenants/{}/keys", seg(&tenant)),
                    None,
                )
                .await?;
            out(target, &v, |v| {
                table(
                    &[
                        "kid",
                        "alg",
                        "state",
                        "signs from",
                        "retired",
                        "published until",
                    ],
                    items(v)
                        .iter()
                        .map(|k| {
                            vec![
                                s(k, "kid"),
                                s(k, "algorithm"),
                                s(k, "state"),
                                time(k, "activeFrom"),
                                time(k, "retiredAt"),
                                time(k, "publishedUntil"),
                            ]
                        })
                        .collect(),
                )
            });
        }
        KeysCmd::Rotate {
            tenant,
            prepublish,
            algorithm,
        } => {
            let body = json!({"prepublishSeconds": prepublish, "algorithm": algorithm});
            let v = AdminClient::connect(target)
                .await?
                .call(
                    Method::POST,
                    &format!("/tenants/{}/keys/rotate", seg(&tenant)),
                    Some(&body),
                )
                .await?;
            out(target, &v, |v| {
                let k = &v["key"];
                println!(
                    "New key {} ({}) is published now and signs from {}.",
                    s(k, "kid"),
                    s(k, "algorithm"),
                    time(k, "activeFrom")
                );
                for old in items(&json!({"value": v["retiring"]})) {
                    println!("Key {} stops signing then and stays published until {} (when its last token has expired).", s(old, "kid"), time(old, "publishedUntil"));
                }
            });
        }
    }
    Ok(())
}
