//! `--demo`: Portvakt in this process, with the demo tenant imported.
//!
//! The tenant is the seed article's world: an administrator who onboards the
//! Analytics service, the Analytics API and its onboarding application, a short
//! access-token lifetime (so expiry and silent renewal can be watched), a trusted
//! named location, and two Conditional Access policies that start disabled — the
//! admin switches them on in the portal to see the article's failure happen.

use crate::oidc::ClientConfig;
use portvakt::config::ServeArgs;
use std::net::SocketAddr;
use std::path::PathBuf;

/// The demo tenant.
pub const TENANT: &str = "contoso";
/// The demo administrator (portal role `admin`, TOTP registered).
pub const ADMIN_UPN: &str = "admin@contoso.example";
/// Printed at start: a demo, not a secret.
pub const ADMIN_PASSWORD: &str = "Analytics-demo-1";
/// RFC 6238 base32 secret of the admin's authenticator (160 bits), printed at start.
pub const ADMIN_TOTP_SECRET: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
/// Graph id of the admin (fixed, so that "exclude the account" has a stable id).
pub const ADMIN_ID: &str = "5f1c0a52-2b3e-4c1d-9a4e-0d6f8e2a7b31";
/// The group the MFA policy targets.
pub const ADMINS_GROUP_ID: &str = "2bda5037-6b74-4892-b5ab-5b8b1c20cfed";
/// The onboarding wizard's client id.
pub const CLIENT_ID: &str = "analytics-onboarding";
/// The Analytics API.
pub const RESOURCE: &str = "api://analytics";
/// The scope the API requires.
pub const SCOPE: &str = "Onboarding.ReadWrite";
/// Display names of the two policies.
pub const MFA_POLICY: &str = "Require MFA for admins";
/// See [`MFA_POLICY`].
pub const LOCATION_POLICY: &str = "Block outside trusted locations";

/// How the demo is started.
#[derive(Debug)]
pub struct Options {
    /// Portvakt's listen address.
    pub listen: SocketAddr,
    /// Portvakt's data directory.
    pub data: PathBuf,
    /// The wizard's redirect URI.
    pub redirect_uri: String,
    /// Access-token lifetime of the Analytics API, seconds.
    pub access_token_lifetime: u32,
}

/// A started (not yet serving) Portvakt and what the wizard needs of it.
#[derive(Debug)]
pub struct Demo {
    /// The server: call `serve`.
    pub server: portvakt::serve::Started,
    /// The wizard's client registration.
    pub client: ClientConfig,
    /// What to print.
    pub info: Info,
}

/// Where the demo's Portvakt is.
#[derive(Debug)]
pub struct Info {
    /// The demo tenant's issuer.
    pub issuer: String,
    /// The tenant's portal.
    pub portal_url: String,
    /// Portvakt's data directory (for `portvakt --data DIR diagnose …`).
    pub data: PathBuf,
}

/// The import file of the demo tenant (Portvakt's import format, docs/import.md;
/// policies and locations in Microsoft Graph's shapes).
pub fn import(redirect_uri: &str, client_secret: &str, lifetime: u32) -> serde_json::Value {
    serde_json::json!({"tenants": [{
        "name": TENANT, "displayName": "Contoso",
        "accessTokenLifetimeSeconds": 3600,
        "groups": [{"id": ADMINS_GROUP_ID, "displayName": "Analytics onboarding admins"}],
        "users": [{"id": ADMIN_ID, "userPrincipalName": ADMIN_UPN, "displayName": "Alex Admin",
                   "password": ADMIN_PASSWORD, "roles": ["admin"],
                   "groups": ["Analytics onboarding admins"], "totpSecret": ADMIN_TOTP_SECRET}],
        "resources": [{"identifier": RESOURCE, "displayName": "Analytics API",
                       "scopes": [SCOPE], "accessTokenLifetimeSeconds": lifetime}],
        "applications": [{"clientId": CLIENT_ID, "displayName": "Analytics onboarding",
                          "clientSecret": client_secret,
                          "grantTypes": ["authorization_code", "refresh_token"],
                          "redirectUris": [redirect_uri],
                          "allowedScopes": [format!("{RESOURCE}/{SCOPE}"), "offline_access"]}],
        "namedLocations": [{"@odata.type": "#microsoft.graph.ipNamedLocation",
                            "displayName": "Contoso office network", "isTrusted": true,
                            "ipRanges": [{"@odata.type": "#microsoft.graph.iPv4CidrRange",
                                          "cidrAddress": "10.20.0.0/16"}]}],
        "conditionalAccessPolicies": [
            {"displayName": MFA_POLICY, "state": "disabled",
             "conditions": {"users": {"includeGroups": [ADMINS_GROUP_ID]},
                            "applications": {"includeApplications": [CLIENT_ID]},
                            "clientAppTypes": ["all"]},
             "grantControls": {"operator": "OR", "builtInControls": ["mfa"]},
             "sessionControls": {"signInFrequency": {"isEnabled": true, "value": 1, "type": "hours",
                                                     "frequencyInterval": "timeBased"}}},
            {"displayName": LOCATION_POLICY, "state": "disabled",
             "conditions": {"users": {"includeUsers": ["All"]},
                            "applications": {"includeApplications": [CLIENT_ID]},
                            "clientAppTypes": ["all"],
                            "locations": {"includeLocations": ["All"], "excludeLocations": ["AllTrusted"]}},
             "grantControls": {"operator": "OR", "builtInControls": ["block"]}}
        ]
    }]})
}

/// Write the import file, open Portvakt's data directory, apply the import and bind.
pub async fn start(o: &Options) -> Result<Demo, String> {
    std::fs::create_dir_all(&o.data)
        .map_err(|e| format!("cannot create {}: {e}", o.data.display()))?;
    // A new client secret at every start: the wizard is the only one that knows it.
    let secret = portvakt_jose::random_id(32);
    let doc = import(&o.redirect_uri, &secret, o.access_token_lifetime);
    let file = o.data.join("demo-import.json");
    let text = serde_json::to_vec_pretty(&doc).map_err(|e| e.to_string())?;
    write_private(&file, &text)?;
    let args = ServeArgs {
        listen: Some(o.listen),
        import: vec![file],
        // The demo's Portvakt keeps its data where `portvakt serve` would:
        // PostgreSQL when PORTVAKT_DATABASE_URL names one, else SQLite in --data.
        database_url: std::env::var("PORTVAKT_DATABASE_URL").ok(),
        ..ServeArgs::default()
    };
    let server = portvakt::serve::start(args, Some(o.data.clone()))
        .await
        .map_err(|e| format!("Portvakt did not start: {e}"))?;
    let issuer = format!("{}/{TENANT}", server.public_url);
    let portal_url = format!("{}/portal/{TENANT}/", server.public_url);
    Ok(Demo {
        client: ClientConfig {
            issuer: issuer.clone(),
            client_id: CLIENT_ID.into(),
            client_secret: secret,
            redirect_uri: o.redirect_uri.clone(),
        },
        server,
        info: Info {
            issuer,
            portal_url,
            data: o.data.clone(),
        },
    })
}

/// The import file holds the client secret: owner-only.
fn write_private(path: &std::path::Path, bytes: &[u8]) -> Result<(), String> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(path)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    f.write_all(bytes)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}
