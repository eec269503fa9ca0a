//! Applying an import file: validate, prepare (hash passwords, digest secrets,
//! generate keys), then hand the store one transaction.

use crate::error::ApiError;
use crate::keys::{create_key, initial_keys, published_until};
use crate::password;
use crate::state::AppState;
use portvakt_core::import::ImportFile;
use portvakt_core::model::{Application, Resource, Tenant};
use portvakt_jose::Algorithm;
use portvakt_store::{GroupImport, ImportSummary, NewUser, TenantImport};

/// Apply a parsed, validated import file.
pub async fn apply(st: &AppState, file: &ImportFile) -> Result<ImportSummary, ApiError> {
    let now = st.clock.now();
    let mut plan = Vec::with_capacity(file.tenants.len());
    for (ti, spec) in file.tenants.iter().enumerate() {
        let existing = st.store.directory(&spec.name).await?;
        let alg: Algorithm = match &spec.signing_algorithm {
            Some(a) => a
                .parse()
                .map_err(|e: String| ApiError::new(portvakt_core::ErrorCode::ImportInvalid, e))?,
            None => existing
                .as_ref()
                .map(|d| d.tenant.signing_algorithm)
                .unwrap_or(Algorithm::ES256),
        };
        let tenant = Tenant {
            id: existing
                .as_ref()
                .map(|d| d.tenant.id.clone())
                .unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
            name: spec.name.clone(),
            display_name: spec
                .display_name
                .clone()
                .unwrap_or_else(|| spec.name.clone()),
            signing_algorithm: alg,
            access_token_lifetime_seconds: spec.access_token_lifetime_seconds.map(|v| v as u32),
        };
        // A new tenant gets its first keys; a changed algorithm rotates at once, the
        // old algorithm's keys staying published until their tokens have expired.
        // The RS256 key signs ID tokens whatever the tenant's algorithm.
        let (new_keys, retire) = match &existing {
            None => (
                initial_keys(alg, &st.master, now)?
                    .into_iter()
                    .map(|k| (k, now))
                    .collect(),
                None,
            ),
            Some(d) if d.tenant.signing_algorithm != alg => {
                let until = published_until(d, now, st.config.key_retention_leeway_secs);
                let old = d.tenant.signing_algorithm;
                let has_rs256 = d
                    .keys
                    .iter()
                    .any(|k| k.info.algorithm == Algorithm::RS256 && k.info.retired_at.is_none());
                let mut keys = Vec::new();
                if !(alg == Algorithm::RS256 && has_rs256) {
                    keys.push((create_key(alg, &st.master, now, now)?, until));
                }
                if alg != Algorithm::RS256 && !has_rs256 {
                    keys.push((create_key(Algorithm::RS256, &st.master, now, now)?, until));
                }
                (keys, (old != Algorithm::RS256).then_some((old, now, until)))
            }
            Some(_) => (vec![], None),
        };
        let names = match &existing {
            Some(d) => st.store.directory_names(&d.tenant.id).await?,
            None => Default::default(),
        };
        // Groups keep an id given to them; a new one without gets its UUID here, so that
        // the policies of the same file resolve to the id the store will keep.
        let groups: Vec<GroupImport> = spec
            .groups
            .iter()
            .map(|g| GroupImport {
                id: Some(g.id.clone().unwrap_or_else(|| {
                    names
                        .groups
                        .iter()
                        .find(|(_, n)| n.eq_ignore_ascii_case(&g.display_name))
                        .map(|(id, _)| id.clone())
                        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
                })),
                display_name: g.display_name.clone(),
            })
            .collect();
        let mut users = Vec::with_capacity(spec.users.len());
        for u in &spec.users {
            let old = match &existing {
                Some(d) => {
                    st.store
                        .user_by_upn(&d.tenant.id, &u.user_principal_name)
                        .await?
                }
                None => None,
            };
            // Idempotent: an unchanged password keeps its hash (and its salt).
            let password_hash = match (
                &u.password,
                old.as_ref().and_then(|o| o.password_hash.clone()),
            ) {
                (None, _) => None,
                (Some(p), Some(h)) if password::verify(p.clone(), h.clone()).await => None,
                (Some(p), _) => Some(password::hash(p.clone()).await?),
            };
            let id = old
                .map(|o| o.id)
                .or_else(|| u.id.clone())
                .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
            let totp_sealed = match &u.totp_secret {
                Some(b32) => {
                    let secret = portvakt_core::names::base32_decode(b32).unwrap_or_default();
                    Some(crate::mfa::seal(&st.master, &id, &secret)?)
                }
                None => None,
            };
            users.push((
                NewUser {
                    id,
                    user_principal_name: u.user_principal_name.clone(),
                    display_name: u
                        .display_name
                        .clone()
                        .unwrap_or_else(|| u.user_principal_name.clone()),
                    password_hash,
                    account_enabled: u.account_enabled,
                    roles: u.roles.clone(),
                    totp_sealed,
                },
                u.groups.clone(),
            ));
        }
        let resources: Vec<Resource> = spec
            .resources
            .iter()
            .map(|r| Resource {
                identifier: r.identifier.clone(),
                display_name: r
                    .display_name
                    .clone()
                    .unwrap_or_else(|| r.identifier.clone()),
                scopes: r.scopes.clone(),
                access_token_lifetime_seconds: r.access_token_lifetime_seconds.map(|v| v as u32),
                group_claims: r.group_claims,
                introspection_clients: r.introspection_clients.clone(),
            })
            .collect();
        let applications: Vec<Application> = spec
            .applications
            .iter()
            .map(|a| Application {
                client_id: a.client_id.clone(),
                display_name: a
                    .display_name
                    .clone()
                    .unwrap_or_else(|| a.client_id.clone()),
                secret_sha256: a
                    .client_secret
                    .as_ref()
                    .map(|s| portvakt_jose::sha256(s.as_bytes())),
                confidential: a.client_secret.is_some(),
                grant_types: a.grant_types.clone(),
                redirect_uris: a.redirect_uris.clone(),
                allowed_scopes: a.allowed_scopes.clone(),
                access_token_lifetime_seconds: a.access_token_lifetime_seconds.map(|v| v as u32),
                admin_consented: a.admin_consented,
                refresh_token_lifetime_seconds: a.refresh_token_lifetime_seconds.map(|v| v as u32),
            })
            .collect();
        // Conditional Access: parsed and resolved against the tenant as it will be
        // after this import, before anything is written.
        let (policies, named_locations) = crate::access::prepare_import(
            &format!("$.tenants[{ti}]"),
            now,
            spec,
            existing.as_ref(),
            &names,
            &groups,
            &users,
            &resources,
            &applications,
        )?;
        plan.push(TenantImport {
            tenant,
            new_keys,
            retire,
            groups,
            roles: spec.roles.clone(),
            named_locations,
            policies,
            users,
            resources,
            applications,
        });
    }
    let summary = st.store.import(&plan, now).await?;
    for t in &file.tenants {
        st.directory.invalidate(&t.name);
    }
    Ok(summary)
}
