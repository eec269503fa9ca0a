//! [`Store`] on PostgreSQL: tenants, users, groups, applications, resources, keys,
//! imports and Conditional Access objects. Statement for statement the SQLite
//! engine's (`crate::sqlite`, `crate::sqlite_access`), so both answer alike.

use crate::pg::{exec, row, rows, user_columns, user_from_row, PgStore};
use crate::sqlite::{new_id, UserKey};
use crate::{
    Change, Directory, DirectoryNames, ImportSummary, NewUser, Result, Store, StoreError,
    StoredGraphObject, StoredKey, TenantImport,
};
use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use portvakt_core::model::{Application, Group, Resource, Role, SigningKeyInfo, Tenant, User};
use std::collections::HashMap;
use tokio_postgres::Row;

fn json_list(row: &Row, col: &str) -> Result<Vec<String>> {
    let s: String = row.try_get(col)?;
    Ok(serde_json::from_str(&s)?)
}

fn lifetime(row: &Row, col: &str) -> Result<Option<u32>> {
    let v: Option<i64> = row.try_get(col)?;
    Ok(v.map(|v| v.clamp(0, u32::MAX as i64) as u32))
}

fn tenant_from(row: &Row) -> Result<Tenant> {
    let alg: String = row.try_get("signing_algorithm")?;
    Ok(Tenant {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        display_name: row.try_get("display_name")?,
        signing_algorithm: alg.parse().map_err(StoreError::Corrupt)?,
        access_token_lifetime_seconds: lifetime(row, "access_token_lifetime")?,
    })
}

fn resource_from(row: &Row) -> Result<Resource> {
    Ok(Resource {
        identifier: row.try_get("identifier")?,
        display_name: row.try_get("display_name")?,
        scopes: json_list(row, "scopes")?,
        access_token_lifetime_seconds: lifetime(row, "access_token_lifetime")?,
        group_claims: row.try_get("group_claims")?,
        introspection_clients: json_list(row, "introspection_clients")?,
    })
}

fn application_from(row: &Row) -> Result<Application> {
    let secret: Option<Vec<u8>> = row.try_get("secret_sha256")?;
    let secret_sha256 = match secret {
        None => None,
        Some(v) => Some(
            <[u8; 32]>::try_from(v.as_slice())
                .map_err(|_| StoreError::Corrupt("secret hash is not 32 bytes".into()))?,
        ),
    };
    Ok(Application {
        client_id: row.try_get("client_id")?,
        display_name: row.try_get("display_name")?,
        confidential: secret_sha256.is_some(),
        secret_sha256,
        grant_types: json_list(row, "grant_types")?,
        redirect_uris: json_list(row, "redirect_uris")?,
        allowed_scopes: json_list(row, "allowed_scopes")?,
        access_token_lifetime_seconds: lifetime(row, "access_token_lifetime")?,
        admin_consented: row.try_get("admin_consented")?,
        refresh_token_lifetime_seconds: lifetime(row, "refresh_token_lifetime")?,
    })
}

fn key_from(row: &Row) -> Result<StoredKey> {
    let alg: String = row.try_get("algorithm")?;
    Ok(StoredKey {
        info: SigningKeyInfo {
            kid: row.try_get("kid")?,
            algorithm: alg.parse().map_err(StoreError::Corrupt)?,
            created_at: row.try_get("created_at")?,
            active_from: row.try_get("active_from")?,
            retired_at: row.try_get("retired_at")?,
            published_until: row.try_get("published_until")?,
        },
        public_jwk: row.try_get("public_jwk")?,
        sealed_pkcs8: row.try_get("sealed_pkcs8")?,
    })
}

fn graph_object_from(r: &Row) -> Result<StoredGraphObject> {
    Ok(StoredGraphObject {
        id: r.try_get(0)?,
        display_name: r.try_get(1)?,
        json: r.try_get(2)?,
    })
}

fn role_from(r: &Row) -> Result<Role> {
    Ok(Role {
        name: r.try_get(0)?,
        template_id: r.try_get(1)?,
    })
}

fn pair_from(r: &Row) -> Result<(String, String)> {
    Ok((r.try_get(0)?, r.try_get(1)?))
}

fn id_from(r: &Row) -> Result<String> {
    Ok(r.try_get(0)?)
}

fn to_json(v: &[String]) -> Result<String> {
    Ok(serde_json::to_string(v)?)
}

fn map<T>(rows: Vec<Row>, f: impl Fn(&Row) -> Result<T>) -> Result<Vec<T>> {
    rows.iter().map(f).collect()
}

fn conflict_as(what: String) -> impl FnOnce(StoreError) -> StoreError {
    move |e| match e {
        StoreError::Conflict(_) => StoreError::Conflict(what),
        other => other,
    }
}

fn lifetime_param(v: Option<u32>) -> Option<i64> {
    v.map(i64::from)
}

const INSERT_TENANT: &str = "INSERT INTO tenants (id, name, display_name, signing_algorithm, access_token_lifetime, created_at) VALUES ($1,$2,$3,$4,$5,$6)";
const INSERT_USER: &str = "INSERT INTO users (id, tenant_id, user_principal_name, upn_key, display_name, password_hash, account_enabled, created_at, roles, totp_sealed) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)";
const INSERT_KEY: &str = "INSERT INTO signing_keys (kid, tenant_id, algorithm, sealed_pkcs8, public_jwk, created_at, active_from, retired_at, published_until) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)";
const RETIRE_KEYS: &str = "UPDATE signing_keys SET retired_at = $1, published_until = $2 WHERE tenant_id = $3 AND algorithm = $4 AND (retired_at IS NULL OR retired_at > $1)";
const GROUP_ID: &str = "SELECT id FROM groups WHERE tenant_id = $1 AND name_key = $2";
const TENANT_BY_NAME: &str = "SELECT * FROM tenants WHERE name = $1";
const ROLES: &str = "SELECT name, template_id FROM tenant_roles WHERE tenant_id = $1 ORDER BY name";
const POLICIES: &str =
    "SELECT id, display_name, json FROM ca_policies WHERE tenant_id = $1 ORDER BY display_name";
const LOCATIONS: &str =
    "SELECT id, display_name, json FROM named_locations WHERE tenant_id = $1 ORDER BY display_name";
const INSERT_RESOURCE: &str = "INSERT INTO resources (tenant_id, identifier, display_name, scopes, access_token_lifetime, group_claims, introspection_clients) VALUES ($1,$2,$3,$4,$5,$6,$7)";
const UPSERT_RESOURCE: &str = "INSERT INTO resources (tenant_id, identifier, display_name, scopes, access_token_lifetime, group_claims, introspection_clients) VALUES ($1,$2,$3,$4,$5,$6,$7)
     ON CONFLICT (tenant_id, identifier) DO UPDATE SET display_name = excluded.display_name, scopes = excluded.scopes,
       access_token_lifetime = excluded.access_token_lifetime, group_claims = excluded.group_claims,
       introspection_clients = excluded.introspection_clients";
const INSERT_APPLICATION: &str = "INSERT INTO applications (tenant_id, client_id, display_name, secret_sha256, grant_types, redirect_uris, allowed_scopes, access_token_lifetime, created_at, admin_consented, refresh_token_lifetime) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11)";
const UPSERT_APPLICATION: &str = "INSERT INTO applications (tenant_id, client_id, display_name, secret_sha256, grant_types, redirect_uris, allowed_scopes, access_token_lifetime, created_at, admin_consented, refresh_token_lifetime) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11)
     ON CONFLICT (tenant_id, client_id) DO UPDATE SET display_name = excluded.display_name,
       secret_sha256 = excluded.secret_sha256,
       grant_types = excluded.grant_types, redirect_uris = excluded.redirect_uris,
       allowed_scopes = excluded.allowed_scopes, access_token_lifetime = excluded.access_token_lifetime,
       admin_consented = excluded.admin_consented, refresh_token_lifetime = excluded.refresh_token_lifetime";
const UPSERT_POLICY: &str = "INSERT INTO ca_policies (tenant_id, id, display_name, json) VALUES ($1,$2,$3,$4)
     ON CONFLICT (tenant_id, id) DO UPDATE SET display_name = excluded.display_name, json = excluded.json";
const UPSERT_LOCATION: &str = "INSERT INTO named_locations (tenant_id, id, display_name, json) VALUES ($1,$2,$3,$4)
     ON CONFLICT (tenant_id, id) DO UPDATE SET display_name = excluded.display_name, json = excluded.json";

async fn insert_tenant(c: &impl GenericClient, t: &Tenant, now: i64) -> Result<u64> {
    exec(
        c,
        INSERT_TENANT,
        &[
            &t.id,
            &t.name,
            &t.display_name,
            &t.signing_algorithm.as_str(),
            &lifetime_param(t.access_token_lifetime_seconds),
            &now,
        ],
    )
    .await
}

async fn insert_key(c: &impl GenericClient, tenant_id: &str, k: &StoredKey) -> Result<()> {
    exec(
        c,
        INSERT_KEY,
        &[
            &k.info.kid,
            &tenant_id,
            &k.info.algorithm.as_str(),
            &k.sealed_pkcs8,
            &k.public_jwk,
            &k.info.created_at,
            &k.info.active_from,
            &k.info.retired_at,
            &k.info.published_until,
        ],
    )
    .await?;
    Ok(())
}

/// Retire every key of the tenant *with the new key's algorithm* that would still
/// sign at the new key's `active_from`, keep it published until `published_until`,
/// then insert `new`.
async fn rotate_in(
    c: &impl GenericClient,
    tenant_id: &str,
    new: &StoredKey,
    published_until: i64,
) -> Result<()> {
    let at = new.info.active_from;
    exec(
        c,
        RETIRE_KEYS,
        &[
            &at,
            &published_until,
            &tenant_id,
            &new.info.algorithm.as_str(),
        ],
    )
    .await?;
    insert_key(c, tenant_id, new).await
}

async fn insert_resource(
    c: &impl GenericClient,
    tenant_id: &str,
    r: &Resource,
    upsert: bool,
) -> Result<()> {
    let sql = if upsert {
        UPSERT_RESOURCE
    } else {
        INSERT_RESOURCE
    };
    exec(
        c,
        sql,
        &[
            &tenant_id,
            &r.identifier,
            &r.display_name,
            &to_json(&r.scopes)?,
            &lifetime_param(r.access_token_lifetime_seconds),
            &r.group_claims,
            &to_json(&r.introspection_clients)?,
        ],
    )
    .await?;
    Ok(())
}

async fn insert_application(
    c: &impl GenericClient,
    tenant_id: &str,
    a: &Application,
    now: i64,
    upsert: bool,
) -> Result<()> {
    let sql = if upsert {
        UPSERT_APPLICATION
    } else {
        INSERT_APPLICATION
    };
    exec(
        c,
        sql,
        &[
            &tenant_id,
            &a.client_id,
            &a.display_name,
            &a.secret_sha256.map(|h| h.to_vec()),
            &to_json(&a.grant_types)?,
            &to_json(&a.redirect_uris)?,
            &to_json(&a.allowed_scopes)?,
            &lifetime_param(a.access_token_lifetime_seconds),
            &now,
            &a.admin_consented,
            &lifetime_param(a.refresh_token_lifetime_seconds),
        ],
    )
    .await?;
    Ok(())
}

/// Upsert policies and named locations by id, inside the caller's transaction.
async fn put_access_in(
    c: &impl GenericClient,
    tenant_id: &str,
    policies: &[StoredGraphObject],
    locations: &[StoredGraphObject],
) -> Result<()> {
    for (sql, what, items) in [
        (UPSERT_LOCATION, "named location", locations),
        (UPSERT_POLICY, "policy", policies),
    ] {
        for o in items {
            exec(c, sql, &[&tenant_id, &o.id, &o.display_name, &o.json])
                .await
                .map_err(|e| match e {
                    StoreError::Conflict(_) => StoreError::Conflict(format!(
                        "{what} display name '{}' (another {what} has it)",
                        o.display_name
                    )),
                    other => other,
                })?;
        }
    }
    Ok(())
}

#[async_trait]
impl Store for PgStore {
    fn changes(&self) -> Option<tokio::sync::broadcast::Receiver<Change>> {
        Some(self.subscribe())
    }

    fn caches_current(&self) -> bool {
        self.hears_others()
    }

    fn tell_peers(&self, message: String) {
        self.queue_for_peers(message);
    }

    async fn list_tenants(&self) -> Result<Vec<Tenant>> {
        let c = self.client().await?;
        map(
            rows(&c, "SELECT * FROM tenants ORDER BY name", &[]).await?,
            tenant_from,
        )
    }

    async fn tenant(&self, name: &str) -> Result<Option<Tenant>> {
        let c = self.client().await?;
        row(&c, TENANT_BY_NAME, &[&name])
            .await?
            .as_ref()
            .map(tenant_from)
            .transpose()
    }

    async fn create_tenant(&self, t: &Tenant, first_keys: &[StoredKey], now: i64) -> Result<()> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        insert_tenant(&tx, t, now)
            .await
            .map_err(conflict_as(format!("tenant '{}'", t.name)))?;
        for k in first_keys {
            insert_key(&tx, &t.id, k).await?;
        }
        self.notify_tenant(&tx, &t.id).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn directory(&self, tenant_name: &str) -> Result<Option<Directory>> {
        let mut c = self.client().await?;
        // One snapshot: a rotation committed between two of these reads must not
        // yield a directory with the new key and the old tenant row, or the reverse.
        let tx = c
            .build_transaction()
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await?;
        let Some(tenant) = row(&tx, TENANT_BY_NAME, &[&tenant_name])
            .await?
            .as_ref()
            .map(tenant_from)
            .transpose()?
        else {
            return Ok(None);
        };
        let id = &tenant.id;
        let resources = map(
            rows(
                &tx,
                "SELECT * FROM resources WHERE tenant_id = $1 ORDER BY identifier",
                &[id],
            )
            .await?,
            resource_from,
        )?;
        let applications = map(
            rows(
                &tx,
                "SELECT * FROM applications WHERE tenant_id = $1 ORDER BY client_id",
                &[id],
            )
            .await?,
            application_from,
        )?;
        let keys = map(
            rows(
                &tx,
                "SELECT * FROM signing_keys WHERE tenant_id = $1 ORDER BY active_from, created_at",
                &[id],
            )
            .await?,
            key_from,
        )?;
        let roles = map(rows(&tx, ROLES, &[id]).await?, role_from)?;
        let policies = map(rows(&tx, POLICIES, &[id]).await?, graph_object_from)?;
        let named_locations = map(rows(&tx, LOCATIONS, &[id]).await?, graph_object_from)?;
        tx.commit().await?;
        Ok(Some(Directory {
            tenant,
            resources,
            applications,
            keys,
            roles,
            policies,
            named_locations,
        }))
    }

    async fn list_users(&self, tenant_id: &str) -> Result<Vec<User>> {
        const SQL: &str = concat!(
            "SELECT ",
            user_columns!(),
            " FROM users u WHERE u.tenant_id = $1 ORDER BY u.upn_key"
        );
        let c = self.client().await?;
        map(rows(&c, SQL, &[&tenant_id]).await?, |r| {
            user_from_row(r)?.ok_or_else(|| StoreError::Corrupt("a user row without an id".into()))
        })
    }

    async fn user_by_upn(&self, tenant_id: &str, upn: &str) -> Result<Option<User>> {
        self.user_where(UserKey::Upn, tenant_id, &upn.to_lowercase())
            .await
    }

    async fn create_user(&self, tenant_id: &str, u: &NewUser, now: i64) -> Result<()> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        exec(
            &tx,
            INSERT_USER,
            &[
                &u.id,
                &tenant_id,
                &u.user_principal_name,
                &u.user_principal_name.to_lowercase(),
                &u.display_name,
                &u.password_hash,
                &u.account_enabled,
                &now,
                &to_json(u.roles.as_deref().unwrap_or_default())?,
                &u.totp_sealed,
            ],
        )
        .await
        .map_err(conflict_as(format!("user '{}'", u.user_principal_name)))?;
        self.notify_tenant(&tx, tenant_id).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn set_account_enabled(&self, tenant_id: &str, upn: &str, enabled: bool) -> Result<()> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let n = exec(
            &tx,
            "UPDATE users SET account_enabled = $1 WHERE tenant_id = $2 AND upn_key = $3",
            &[&enabled, &tenant_id, &upn.to_lowercase()],
        )
        .await?;
        if n == 0 {
            return Err(StoreError::NotFound(format!("user '{upn}'")));
        }
        self.notify_revoked(&tx).await?;
        tx.commit().await?;
        self.revoked();
        Ok(())
    }

    async fn list_groups(&self, tenant_id: &str) -> Result<Vec<Group>> {
        let c = self.client().await?;
        map(
            rows(
                &c,
                "SELECT id, display_name FROM groups WHERE tenant_id = $1 ORDER BY name_key",
                &[&tenant_id],
            )
            .await?,
            |r| {
                Ok(Group {
                    id: r.try_get("id")?,
                    display_name: r.try_get("display_name")?,
                })
            },
        )
    }

    async fn create_group(&self, tenant_id: &str, id: &str, display_name: &str) -> Result<()> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        exec(
            &tx,
            "INSERT INTO groups (id, tenant_id, display_name, name_key) VALUES ($1,$2,$3,$4)",
            &[&id, &tenant_id, &display_name, &display_name.to_lowercase()],
        )
        .await
        .map_err(conflict_as(format!("group '{display_name}'")))?;
        self.notify_tenant(&tx, tenant_id).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn create_application(&self, tenant_id: &str, app: &Application, now: i64) -> Result<()> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        insert_application(&tx, tenant_id, app, now, false)
            .await
            .map_err(conflict_as(format!("application '{}'", app.client_id)))?;
        self.notify_tenant(&tx, tenant_id).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn create_resource(&self, tenant_id: &str, r: &Resource) -> Result<()> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        insert_resource(&tx, tenant_id, r, false)
            .await
            .map_err(conflict_as(format!("resource '{}'", r.identifier)))?;
        self.notify_tenant(&tx, tenant_id).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn rotate_key(
        &self,
        tenant_id: &str,
        new: &StoredKey,
        published_until: i64,
    ) -> Result<()> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        rotate_in(&tx, tenant_id, new, published_until).await?;
        self.notify_tenant(&tx, tenant_id).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn directory_names(&self, tenant_id: &str) -> Result<DirectoryNames> {
        let c = self.client().await?;
        Ok(DirectoryNames {
            users: map(
                rows(
                    &c,
                    "SELECT id, user_principal_name FROM users WHERE tenant_id = $1 ORDER BY id",
                    &[&tenant_id],
                )
                .await?,
                pair_from,
            )?,
            groups: map(
                rows(
                    &c,
                    "SELECT id, display_name FROM groups WHERE tenant_id = $1 ORDER BY id",
                    &[&tenant_id],
                )
                .await?,
                pair_from,
            )?,
            roles: map(rows(&c, ROLES, &[&tenant_id]).await?, role_from)?,
        })
    }

    async fn put_access(
        &self,
        tenant_id: &str,
        policies: &[StoredGraphObject],
        locations: &[StoredGraphObject],
    ) -> Result<()> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        put_access_in(&tx, tenant_id, policies, locations).await?;
        self.notify_tenant(&tx, tenant_id).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn delete_policy(&self, tenant_id: &str, id: &str) -> Result<bool> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let n = exec(
            &tx,
            "DELETE FROM ca_policies WHERE tenant_id = $1 AND id = $2",
            &[&tenant_id, &id],
        )
        .await?;
        if n > 0 {
            self.notify_tenant(&tx, tenant_id).await?;
        }
        tx.commit().await?;
        Ok(n > 0)
    }

    async fn delete_named_location(&self, tenant_id: &str, id: &str) -> Result<bool> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let n = exec(
            &tx,
            "DELETE FROM named_locations WHERE tenant_id = $1 AND id = $2",
            &[&tenant_id, &id],
        )
        .await?;
        if n > 0 {
            self.notify_tenant(&tx, tenant_id).await?;
        }
        tx.commit().await?;
        Ok(n > 0)
    }

    async fn set_user_roles(&self, tenant_id: &str, upn: &str, roles: &[String]) -> Result<()> {
        let json = to_json(roles)?;
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let n = exec(
            &tx,
            "UPDATE users SET roles = $1 WHERE tenant_id = $2 AND upn_key = $3",
            &[&json, &tenant_id, &upn.to_lowercase()],
        )
        .await?;
        if n == 0 {
            return Err(StoreError::NotFound(format!("user '{upn}'")));
        }
        self.notify_tenant(&tx, tenant_id).await?;
        self.notify_revoked(&tx).await?;
        tx.commit().await?;
        // A role can be what a session's tokens were allowed by.
        self.revoked();
        Ok(())
    }

    async fn set_group_member(
        &self,
        tenant_id: &str,
        group_id: &str,
        user_id: &str,
        member: bool,
    ) -> Result<bool> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let group = row(
            &tx,
            "SELECT 1 FROM groups WHERE tenant_id = $1 AND id = $2",
            &[&tenant_id, &group_id],
        )
        .await?;
        let user = row(
            &tx,
            "SELECT 1 FROM users WHERE tenant_id = $1 AND id = $2",
            &[&tenant_id, &user_id],
        )
        .await?;
        if group.is_none() {
            return Err(StoreError::NotFound(format!("group '{group_id}'")));
        }
        if user.is_none() {
            return Err(StoreError::NotFound(format!("user '{user_id}'")));
        }
        let n = if member {
            exec(
                &tx,
                "INSERT INTO group_members (group_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                &[&group_id, &user_id],
            )
            .await?
        } else {
            exec(
                &tx,
                "DELETE FROM group_members WHERE group_id = $1 AND user_id = $2",
                &[&group_id, &user_id],
            )
            .await?
        };
        let changed = n > 0;
        if changed {
            self.notify_tenant(&tx, tenant_id).await?;
            self.notify_revoked(&tx).await?;
        }
        tx.commit().await?;
        if changed {
            // A group can be what a session's tokens were allowed by (or a policy's
            // condition): like a role change.
            self.revoked();
        }
        Ok(changed)
    }

    async fn user_totp(&self, tenant_id: &str, user_id: &str) -> Result<Option<(Vec<u8>, i64)>> {
        let c = self.client().await?;
        let Some(r) = row(
            &c,
            "SELECT totp_sealed, totp_last_step FROM users WHERE tenant_id = $1 AND id = $2",
            &[&tenant_id, &user_id],
        )
        .await?
        else {
            return Ok(None);
        };
        let sealed: Option<Vec<u8>> = r.try_get(0)?;
        let step: i64 = r.try_get(1)?;
        Ok(sealed.map(|s| (s, step)))
    }

    async fn set_user_totp(
        &self,
        tenant_id: &str,
        user_id: &str,
        sealed: Option<&[u8]>,
    ) -> Result<()> {
        let c = self.client().await?;
        let n = exec(
            &c,
            "UPDATE users SET totp_sealed = $1, totp_last_step = 0 WHERE tenant_id = $2 AND id = $3",
            &[&sealed, &tenant_id, &user_id],
        )
        .await?;
        if n == 0 {
            return Err(StoreError::NotFound(format!("user id '{user_id}'")));
        }
        Ok(())
    }

    async fn use_totp_step(&self, tenant_id: &str, user_id: &str, step: i64) -> Result<bool> {
        // Conditional: two requests with the same code cannot both pass (the second
        // waits for the first's row lock, then finds the step no longer later).
        let c = self.client().await?;
        let n = exec(
            &c,
            "UPDATE users SET totp_last_step = $1 WHERE tenant_id = $2 AND id = $3 AND totp_last_step < $1",
            &[&step, &tenant_id, &user_id],
        )
        .await?;
        Ok(n == 1)
    }

    async fn set_password(
        &self,
        tenant_id: &str,
        user_id: &str,
        hash: &str,
        now: i64,
    ) -> Result<()> {
        let c = self.client().await?;
        let n = exec(
            &c,
            "UPDATE users SET password_hash = $1, password_changed_at = $2 WHERE tenant_id = $3 AND id = $4",
            &[&hash, &now, &tenant_id, &user_id],
        )
        .await?;
        if n == 0 {
            return Err(StoreError::NotFound(format!("user id '{user_id}'")));
        }
        Ok(())
    }

    async fn import(&self, tenants: &[TenantImport], now: i64) -> Result<ImportSummary> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let (s, tenant_ids) = import_in(&tx, tenants, now).await?;
        for id in &tenant_ids {
            self.notify_tenant(&tx, id).await?;
        }
        self.notify_revoked(&tx).await?;
        tx.commit().await?;
        // An import can disable users or change what they may hold.
        self.revoked();
        Ok(s)
    }
}

/// The import, inside its one transaction; what it changed and the ids of the
/// tenants it touched.
async fn import_in(
    tx: &impl GenericClient,
    tenants: &[TenantImport],
    now: i64,
) -> Result<(ImportSummary, Vec<String>)> {
    let mut s = ImportSummary::default();
    let mut touched = Vec::new();
    let id_of = |r: Option<Row>| r.as_ref().map(id_from).transpose();
    for ti in tenants {
        let t = &ti.tenant;
        let existing = id_of(row(tx, "SELECT id FROM tenants WHERE name = $1", &[&t.name]).await?)?;
        let tenant_id = match existing {
            Some(id) => {
                exec(
                    tx,
                    "UPDATE tenants SET display_name = $1, signing_algorithm = $2, access_token_lifetime = $3 WHERE id = $4",
                    &[
                        &t.display_name,
                        &t.signing_algorithm.as_str(),
                        &lifetime_param(t.access_token_lifetime_seconds),
                        &id,
                    ],
                )
                .await?;
                s.tenants_updated += 1;
                id
            }
            None => {
                insert_tenant(tx, t, now).await?;
                s.tenants_created += 1;
                t.id.clone()
            }
        };
        touched.push(tenant_id.clone());
        if let Some((alg, at, until)) = &ti.retire {
            exec(tx, RETIRE_KEYS, &[at, until, &tenant_id, &alg.as_str()]).await?;
        }
        for (k, until) in &ti.new_keys {
            rotate_in(tx, &tenant_id, k, *until).await?;
        }

        let mut group_ids: HashMap<String, String> = HashMap::new();
        for g in &ti.groups {
            let key = g.display_name.to_lowercase();
            // By its own id when it has one (kept as given, e.g. an Entra id, so that
            // exported policies resolve unchanged), else by name.
            let found = match &g.id {
                Some(id) => id_of(
                    row(
                        tx,
                        "SELECT id FROM groups WHERE tenant_id = $1 AND id = $2",
                        &[&tenant_id, id],
                    )
                    .await?,
                )?,
                None => id_of(row(tx, GROUP_ID, &[&tenant_id, &key]).await?)?,
            };
            let id = match found {
                Some(id) => {
                    exec(
                        tx,
                        "UPDATE groups SET display_name = $1, name_key = $2 WHERE id = $3",
                        &[&g.display_name, &key, &id],
                    )
                    .await?;
                    id
                }
                None => {
                    let id = g.id.clone().unwrap_or_else(new_id);
                    exec(
                        tx,
                        "INSERT INTO groups (id, tenant_id, display_name, name_key) VALUES ($1,$2,$3,$4)",
                        &[&id, &tenant_id, &g.display_name, &key],
                    )
                    .await
                    .map_err(conflict_as(format!("group '{}' (id {id})", g.display_name)))?;
                    s.groups_created += 1;
                    id
                }
            };
            group_ids.insert(key, id);
        }
        for r in &ti.roles {
            exec(
                tx,
                "INSERT INTO tenant_roles (tenant_id, name, template_id) VALUES ($1,$2,$3)
                 ON CONFLICT (tenant_id, name) DO UPDATE SET template_id = excluded.template_id",
                &[&tenant_id, &r.name, &r.template_id],
            )
            .await?;
        }

        for (u, groups) in &ti.users {
            let key = u.user_principal_name.to_lowercase();
            let existing = id_of(
                row(
                    tx,
                    "SELECT id FROM users WHERE tenant_id = $1 AND upn_key = $2",
                    &[&tenant_id, &key],
                )
                .await?,
            )?;
            let id = match existing {
                Some(id) => {
                    let roles = u.roles.as_deref().map(to_json).transpose()?;
                    exec(
                        tx,
                        "UPDATE users SET user_principal_name = $1, display_name = $2, account_enabled = $3, password_hash = COALESCE($4, password_hash),
                             roles = COALESCE($5, roles), totp_sealed = COALESCE($6, totp_sealed) WHERE id = $7",
                        &[
                            &u.user_principal_name,
                            &u.display_name,
                            &u.account_enabled,
                            &u.password_hash,
                            &roles,
                            &u.totp_sealed,
                            &id,
                        ],
                    )
                    .await?;
                    s.users_updated += 1;
                    id
                }
                None => {
                    exec(
                        tx,
                        INSERT_USER,
                        &[
                            &u.id,
                            &tenant_id,
                            &u.user_principal_name,
                            &key,
                            &u.display_name,
                            &u.password_hash,
                            &u.account_enabled,
                            &now,
                            &to_json(u.roles.as_deref().unwrap_or_default())?,
                            &u.totp_sealed,
                        ],
                    )
                    .await
                    .map_err(conflict_as(format!(
                        "user '{}' (id {})",
                        u.user_principal_name, u.id
                    )))?;
                    s.users_created += 1;
                    u.id.clone()
                }
            };
            exec(tx, "DELETE FROM group_members WHERE user_id = $1", &[&id]).await?;
            for g in groups {
                let gid = match group_ids.get(&g.to_lowercase()).cloned() {
                    Some(g) => g,
                    None => id_of(row(tx, GROUP_ID, &[&tenant_id, &g.to_lowercase()]).await?)?
                        .ok_or_else(|| StoreError::NotFound(format!("group '{g}'")))?,
                };
                exec(
                    tx,
                    "INSERT INTO group_members (group_id, user_id) VALUES ($1,$2)",
                    &[&gid, &id],
                )
                .await?;
            }
        }

        for r in &ti.resources {
            insert_resource(tx, &tenant_id, r, true).await?;
            s.resources_upserted += 1;
        }
        for a in &ti.applications {
            let mut a = a.clone();
            if a.confidential && a.secret_sha256.is_none() {
                // Keep the stored secret: read it back inside the transaction.
                let old = row(
                    tx,
                    "SELECT secret_sha256 FROM applications WHERE tenant_id = $1 AND client_id = $2",
                    &[&tenant_id, &a.client_id],
                )
                .await?;
                let old: Option<Vec<u8>> = match old {
                    Some(r) => r.try_get(0)?,
                    None => None,
                };
                a.secret_sha256 = old.and_then(|v| <[u8; 32]>::try_from(v.as_slice()).ok());
            }
            insert_application(tx, &tenant_id, &a, now, true).await?;
            s.applications_upserted += 1;
        }
        put_access_in(tx, &tenant_id, &ti.policies, &ti.named_locations).await?;
        s.policies_upserted += ti.policies.len() as u32;
        s.named_locations_upserted += ti.named_locations.len() as u32;
    }
    Ok((s, touched))
}
