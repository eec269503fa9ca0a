//! The embedded engine: one SQLite file in WAL mode.

use crate::{
    Directory, ImportSummary, NewUser, Result, Store, StoreError, StoredKey, TenantImport,
};
use async_trait::async_trait;
use portvakt_core::model::{Application, Group, Resource, SigningKeyInfo, Tenant, User};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{Row, SqliteConnection, SqlitePool};
use std::collections::HashMap;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

/// SQLite behind the [`Store`] trait.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

impl SqliteStore {
    pub(crate) fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// One user, with its groups, in one statement; `column` is `id` or `upn_key`.
    pub(crate) async fn user_where(
        &self,
        column: &'static str,
        tenant_id: &str,
        value: &str,
    ) -> Result<Option<User>> {
        let sql = format!(
            "SELECT u.*, (SELECT json_group_array(name) FROM (SELECT g.display_name AS name FROM group_members m JOIN groups g ON g.id = m.group_id
                                                              WHERE m.user_id = u.id ORDER BY g.name_key)) AS groups_json
             FROM users u WHERE u.tenant_id = ? AND u.{column} = ?"
        );
        let Some(r) = sqlx::query(&sql)
            .bind(tenant_id)
            .bind(value)
            .fetch_optional(&self.pool)
            .await?
        else {
            return Ok(None);
        };
        let groups: String = r.try_get("groups_json")?;
        Ok(Some(User {
            id: r.try_get("id")?,
            user_principal_name: r.try_get("user_principal_name")?,
            display_name: r.try_get("display_name")?,
            account_enabled: r.try_get("account_enabled")?,
            password_hash: r.try_get("password_hash")?,
            tokens_valid_from: r.try_get("tokens_valid_from")?,
            groups: serde_json::from_str(&groups)?,
        }))
    }

    /// Open (creating if needed) the database file and bring its schema up to date.
    ///
    /// WAL journal, `synchronous=NORMAL` (a crashed process loses nothing committed; a
    /// power cut may lose the last transactions but never corrupts), foreign keys on,
    /// and a busy timeout so concurrent writers wait instead of failing.
    pub async fn open(path: &Path) -> Result<Self> {
        let opts = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        Self::connect(opts).await
    }

    /// An in-memory database (for tests).
    pub async fn in_memory() -> Result<Self> {
        let opts = SqliteConnectOptions::from_str("sqlite::memory:")
            .map_err(|e| StoreError::Unavailable(e.to_string()))?
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(opts)
            .await?;
        MIGRATOR
            .run(&pool)
            .await
            .map_err(|e| StoreError::Unavailable(format!("migration failed: {e}")))?;
        Ok(Self { pool })
    }

    async fn connect(opts: SqliteConnectOptions) -> Result<Self> {
        // No liveness ping on every acquire: an embedded database does not drop
        // connections, and each ping is another hand-off to sqlx's worker thread.
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .test_before_acquire(false)
            .connect_with(opts)
            .await?;
        MIGRATOR
            .run(&pool)
            .await
            .map_err(|e| StoreError::Unavailable(format!("migration failed: {e}")))?;
        Ok(Self { pool })
    }
}

fn json_list(row: &SqliteRow, col: &str) -> Result<Vec<String>> {
    let s: String = row.try_get(col)?;
    Ok(serde_json::from_str(&s)?)
}

fn lifetime(row: &SqliteRow, col: &str) -> Result<Option<u32>> {
    let v: Option<i64> = row.try_get(col)?;
    Ok(v.map(|v| v.clamp(0, u32::MAX as i64) as u32))
}

fn tenant_from(row: &SqliteRow) -> Result<Tenant> {
    let alg: String = row.try_get("signing_algorithm")?;
    Ok(Tenant {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        display_name: row.try_get("display_name")?,
        signing_algorithm: alg.parse().map_err(StoreError::Corrupt)?,
        access_token_lifetime_seconds: lifetime(row, "access_token_lifetime")?,
    })
}

fn resource_from(row: &SqliteRow) -> Result<Resource> {
    Ok(Resource {
        identifier: row.try_get("identifier")?,
        display_name: row.try_get("display_name")?,
        scopes: json_list(row, "scopes")?,
        access_token_lifetime_seconds: lifetime(row, "access_token_lifetime")?,
        group_claims: row.try_get("group_claims")?,
    })
}

fn application_from(row: &SqliteRow) -> Result<Application> {
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

fn key_from(row: &SqliteRow) -> Result<StoredKey> {
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

fn to_json(v: &[String]) -> Result<String> {
    Ok(serde_json::to_string(v)?)
}

async fn insert_key(c: &mut SqliteConnection, tenant_id: &str, k: &StoredKey) -> Result<()> {
    sqlx::query("INSERT INTO signing_keys (kid, tenant_id, algorithm, sealed_pkcs8, public_jwk, created_at, active_from, retired_at, published_until) VALUES (?,?,?,?,?,?,?,?,?)")
        .bind(&k.info.kid)
        .bind(tenant_id)
        .bind(k.info.algorithm.as_str())
        .bind(&k.sealed_pkcs8)
        .bind(&k.public_jwk)
        .bind(k.info.created_at)
        .bind(k.info.active_from)
        .bind(k.info.retired_at)
        .bind(k.info.published_until)
        .execute(&mut *c)
        .await?;
    Ok(())
}

/// Retire every key of the tenant *with the new key's algorithm* that would still
/// sign at `at`, keep it published until `published_until`, then insert `new`.
async fn rotate_in(
    c: &mut SqliteConnection,
    tenant_id: &str,
    new: &StoredKey,
    published_until: i64,
) -> Result<()> {
    let at = new.info.active_from;
    retire_in(
        c,
        tenant_id,
        new.info.algorithm.as_str(),
        at,
        published_until,
    )
    .await?;
    insert_key(c, tenant_id, new).await
}

/// Retire the tenant's keys of `algorithm` that would still sign at `at`.
async fn retire_in(
    c: &mut SqliteConnection,
    tenant_id: &str,
    algorithm: &str,
    at: i64,
    published_until: i64,
) -> Result<()> {
    sqlx::query("UPDATE signing_keys SET retired_at = ?, published_until = ? WHERE tenant_id = ? AND algorithm = ? AND (retired_at IS NULL OR retired_at > ?)")
        .bind(at)
        .bind(published_until)
        .bind(tenant_id)
        .bind(algorithm)
        .bind(at)
        .execute(&mut *c)
        .await?;
    Ok(())
}

async fn insert_resource(
    c: &mut SqliteConnection,
    tenant_id: &str,
    r: &Resource,
    upsert: bool,
) -> Result<()> {
    let sql = if upsert {
        "INSERT INTO resources (tenant_id, identifier, display_name, scopes, access_token_lifetime, group_claims) VALUES (?,?,?,?,?,?)
         ON CONFLICT (tenant_id, identifier) DO UPDATE SET display_name = excluded.display_name, scopes = excluded.scopes,
           access_token_lifetime = excluded.access_token_lifetime, group_claims = excluded.group_claims"
    } else {
        "INSERT INTO resources (tenant_id, identifier, display_name, scopes, access_token_lifetime, group_claims) VALUES (?,?,?,?,?,?)"
    };
    sqlx::query(sql)
        .bind(tenant_id)
        .bind(&r.identifier)
        .bind(&r.display_name)
        .bind(to_json(&r.scopes)?)
        .bind(r.access_token_lifetime_seconds.map(i64::from))
        .bind(r.group_claims)
        .execute(&mut *c)
        .await?;
    Ok(())
}

async fn insert_application(
    c: &mut SqliteConnection,
    tenant_id: &str,
    a: &Application,
    now: i64,
    upsert: bool,
) -> Result<()> {
    let sql = if upsert {
        "INSERT INTO applications (tenant_id, client_id, display_name, secret_sha256, grant_types, redirect_uris, allowed_scopes, access_token_lifetime, created_at, admin_consented, refresh_token_lifetime) VALUES (?,?,?,?,?,?,?,?,?,?,?)
         ON CONFLICT (tenant_id, client_id) DO UPDATE SET display_name = excluded.display_name,
           secret_sha256 = excluded.secret_sha256,
           grant_types = excluded.grant_types, redirect_uris = excluded.redirect_uris,
           allowed_scopes = excluded.allowed_scopes, access_token_lifetime = excluded.access_token_lifetime,
           admin_consented = excluded.admin_consented, refresh_token_lifetime = excluded.refresh_token_lifetime"
    } else {
        "INSERT INTO applications (tenant_id, client_id, display_name, secret_sha256, grant_types, redirect_uris, allowed_scopes, access_token_lifetime, created_at, admin_consented, refresh_token_lifetime) VALUES (?,?,?,?,?,?,?,?,?,?,?)"
    };
    sqlx::query(sql)
        .bind(tenant_id)
        .bind(&a.client_id)
        .bind(&a.display_name)
        .bind(a.secret_sha256.map(|h| h.to_vec()))
        .bind(to_json(&a.grant_types)?)
        .bind(to_json(&a.redirect_uris)?)
        .bind(to_json(&a.allowed_scopes)?)
        .bind(a.access_token_lifetime_seconds.map(i64::from))
        .bind(now)
        .bind(a.admin_consented)
        .bind(a.refresh_token_lifetime_seconds.map(i64::from))
        .execute(&mut *c)
        .await?;
    Ok(())
}

fn conflict_as(what: String) -> impl FnOnce(StoreError) -> StoreError {
    move |e| match e {
        StoreError::Conflict(_) => StoreError::Conflict(what),
        other => other,
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn list_tenants(&self) -> Result<Vec<Tenant>> {
        let rows = sqlx::query("SELECT * FROM tenants ORDER BY name")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(tenant_from).collect()
    }

    async fn tenant(&self, name: &str) -> Result<Option<Tenant>> {
        let row = sqlx::query("SELECT * FROM tenants WHERE name = ?")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(tenant_from).transpose()
    }

    async fn create_tenant(&self, t: &Tenant, first_keys: &[StoredKey], now: i64) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("INSERT INTO tenants (id, name, display_name, signing_algorithm, access_token_lifetime, created_at) VALUES (?,?,?,?,?,?)")
            .bind(&t.id)
            .bind(&t.name)
            .bind(&t.display_name)
            .bind(t.signing_algorithm.as_str())
            .bind(t.access_token_lifetime_seconds.map(i64::from))
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::from)
            .map_err(conflict_as(format!("tenant '{}'", t.name)))?;
        for k in first_keys {
            insert_key(&mut tx, &t.id, k).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn directory(&self, tenant_name: &str) -> Result<Option<Directory>> {
        let mut c = self.pool.acquire().await?;
        let Some(row) = sqlx::query("SELECT * FROM tenants WHERE name = ?")
            .bind(tenant_name)
            .fetch_optional(&mut *c)
            .await?
        else {
            return Ok(None);
        };
        let tenant = tenant_from(&row)?;
        let resources =
            sqlx::query("SELECT * FROM resources WHERE tenant_id = ? ORDER BY identifier")
                .bind(&tenant.id)
                .fetch_all(&mut *c)
                .await?
                .iter()
                .map(resource_from)
                .collect::<Result<_>>()?;
        let applications =
            sqlx::query("SELECT * FROM applications WHERE tenant_id = ? ORDER BY client_id")
                .bind(&tenant.id)
                .fetch_all(&mut *c)
                .await?
                .iter()
                .map(application_from)
                .collect::<Result<_>>()?;
        let keys = sqlx::query(
            "SELECT * FROM signing_keys WHERE tenant_id = ? ORDER BY active_from, created_at",
        )
        .bind(&tenant.id)
        .fetch_all(&mut *c)
        .await?
        .iter()
        .map(key_from)
        .collect::<Result<_>>()?;
        Ok(Some(Directory {
            tenant,
            resources,
            applications,
            keys,
        }))
    }

    async fn list_users(&self, tenant_id: &str) -> Result<Vec<User>> {
        let rows = sqlx::query("SELECT * FROM users WHERE tenant_id = ? ORDER BY upn_key")
            .bind(tenant_id)
            .fetch_all(&self.pool)
            .await?;
        let members = sqlx::query("SELECT m.user_id, g.display_name FROM group_members m JOIN groups g ON g.id = m.group_id WHERE g.tenant_id = ? ORDER BY g.name_key")
            .bind(tenant_id)
            .fetch_all(&self.pool)
            .await?;
        let mut by_user: HashMap<String, Vec<String>> = HashMap::new();
        for m in &members {
            by_user
                .entry(m.try_get("user_id")?)
                .or_default()
                .push(m.try_get("display_name")?);
        }
        rows.iter()
            .map(|r| {
                let id: String = r.try_get("id")?;
                Ok(User {
                    groups: by_user.remove(&id).unwrap_or_default(),
                    id,
                    user_principal_name: r.try_get("user_principal_name")?,
                    display_name: r.try_get("display_name")?,
                    account_enabled: r.try_get("account_enabled")?,
                    password_hash: r.try_get("password_hash")?,
                    tokens_valid_from: r.try_get("tokens_valid_from")?,
                })
            })
            .collect()
    }

    async fn user_by_upn(&self, tenant_id: &str, upn: &str) -> Result<Option<User>> {
        self.user_where("upn_key", tenant_id, &upn.to_lowercase())
            .await
    }

    async fn create_user(&self, tenant_id: &str, u: &NewUser, now: i64) -> Result<()> {
        sqlx::query("INSERT INTO users (id, tenant_id, user_principal_name, upn_key, display_name, password_hash, account_enabled, created_at) VALUES (?,?,?,?,?,?,?,?)")
            .bind(&u.id)
            .bind(tenant_id)
            .bind(&u.user_principal_name)
            .bind(u.user_principal_name.to_lowercase())
            .bind(&u.display_name)
            .bind(&u.password_hash)
            .bind(u.account_enabled)
            .bind(now)
            .execute(&self.pool)
            .await
            .map_err(StoreError::from)
            .map_err(conflict_as(format!("user '{}'", u.user_principal_name)))?;
        Ok(())
    }

    async fn set_account_enabled(&self, tenant_id: &str, upn: &str, enabled: bool) -> Result<()> {
        let r =
            sqlx::query("UPDATE users SET account_enabled = ? WHERE tenant_id = ? AND upn_key = ?")
                .bind(enabled)
                .bind(tenant_id)
                .bind(upn.to_lowercase())
                .execute(&self.pool)
                .await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("user '{upn}'")));
        }
        Ok(())
    }

    async fn list_groups(&self, tenant_id: &str) -> Result<Vec<Group>> {
        let rows = sqlx::query(
            "SELECT id, display_name FROM groups WHERE tenant_id = ? ORDER BY name_key",
        )
        .bind(tenant_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Group {
                    id: r.try_get("id")?,
                    display_name: r.try_get("display_name")?,
                })
            })
            .collect()
    }

    async fn create_group(&self, tenant_id: &str, id: &str, display_name: &str) -> Result<()> {
        sqlx::query("INSERT INTO groups (id, tenant_id, display_name, name_key) VALUES (?,?,?,?)")
            .bind(id)
            .bind(tenant_id)
            .bind(display_name)
            .bind(display_name.to_lowercase())
            .execute(&self.pool)
            .await
            .map_err(StoreError::from)
            .map_err(conflict_as(format!("group '{display_name}'")))?;
        Ok(())
    }

    async fn create_application(&self, tenant_id: &str, app: &Application, now: i64) -> Result<()> {
        let mut c = self.pool.acquire().await?;
        insert_application(&mut c, tenant_id, app, now, false)
            .await
            .map_err(conflict_as(format!("application '{}'", app.client_id)))
    }

    async fn create_resource(&self, tenant_id: &str, r: &Resource) -> Result<()> {
        let mut c = self.pool.acquire().await?;
        insert_resource(&mut c, tenant_id, r, false)
            .await
            .map_err(conflict_as(format!("resource '{}'", r.identifier)))
    }

    async fn rotate_key(
        &self,
        tenant_id: &str,
        new: &StoredKey,
        published_until: i64,
    ) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        rotate_in(&mut tx, tenant_id, new, published_until).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn import(&self, tenants: &[TenantImport], now: i64) -> Result<ImportSummary> {
        let mut s = ImportSummary::default();
        let mut tx = self.pool.begin().await?;
        for ti in tenants {
            let t = &ti.tenant;
            let existing: Option<String> =
                sqlx::query_scalar("SELECT id FROM tenants WHERE name = ?")
                    .bind(&t.name)
                    .fetch_optional(&mut *tx)
                    .await?;
            let tenant_id = match existing {
                Some(id) => {
                    sqlx::query("UPDATE tenants SET display_name = ?, signing_algorithm = ?, access_token_lifetime = ? WHERE id = ?")
                        .bind(&t.display_name)
                        .bind(t.signing_algorithm.as_str())
                        .bind(t.access_token_lifetime_seconds.map(i64::from))
                        .bind(&id)
                        .execute(&mut *tx)
                        .await?;
                    s.tenants_updated += 1;
                    id
                }
                None => {
                    sqlx::query("INSERT INTO tenants (id, name, display_name, signing_algorithm, access_token_lifetime, created_at) VALUES (?,?,?,?,?,?)")
                        .bind(&t.id)
                        .bind(&t.name)
                        .bind(&t.display_name)
                        .bind(t.signing_algorithm.as_str())
                        .bind(t.access_token_lifetime_seconds.map(i64::from))
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                    s.tenants_created += 1;
                    t.id.clone()
                }
            };
            if let Some((alg, at, until)) = &ti.retire {
                retire_in(&mut tx, &tenant_id, alg.as_str(), *at, *until).await?;
            }
            for (k, until) in &ti.new_keys {
                rotate_in(&mut tx, &tenant_id, k, *until).await?;
            }

            let mut group_ids: HashMap<String, String> = HashMap::new();
            for g in &ti.groups {
                let key = g.to_lowercase();
                let id: Option<String> = sqlx::query_scalar(
                    "SELECT id FROM groups WHERE tenant_id = ? AND name_key = ?",
                )
                .bind(&tenant_id)
                .bind(&key)
                .fetch_optional(&mut *tx)
                .await?;
                let id = match id {
                    Some(id) => {
                        sqlx::query("UPDATE groups SET display_name = ? WHERE id = ?")
                            .bind(g)
                            .bind(&id)
                            .execute(&mut *tx)
                            .await?;
                        id
                    }
                    None => {
                        let id = new_id();
                        sqlx::query("INSERT INTO groups (id, tenant_id, display_name, name_key) VALUES (?,?,?,?)")
                            .bind(&id)
                            .bind(&tenant_id)
                            .bind(g)
                            .bind(&key)
                            .execute(&mut *tx)
                            .await?;
                        s.groups_created += 1;
                        id
                    }
                };
                group_ids.insert(key, id);
            }

            for (u, groups) in &ti.users {
                let key = u.user_principal_name.to_lowercase();
                let id: Option<String> =
                    sqlx::query_scalar("SELECT id FROM users WHERE tenant_id = ? AND upn_key = ?")
                        .bind(&tenant_id)
                        .bind(&key)
                        .fetch_optional(&mut *tx)
                        .await?;
                let id = match id {
                    Some(id) => {
                        sqlx::query("UPDATE users SET user_principal_name = ?, display_name = ?, account_enabled = ?, password_hash = COALESCE(?, password_hash) WHERE id = ?")
                            .bind(&u.user_principal_name)
                            .bind(&u.display_name)
                            .bind(u.account_enabled)
                            .bind(&u.password_hash)
                            .bind(&id)
                            .execute(&mut *tx)
                            .await?;
                        s.users_updated += 1;
                        id
                    }
                    None => {
                        sqlx::query("INSERT INTO users (id, tenant_id, user_principal_name, upn_key, display_name, password_hash, account_enabled, created_at) VALUES (?,?,?,?,?,?,?,?)")
                            .bind(&u.id)
                            .bind(&tenant_id)
                            .bind(&u.user_principal_name)
                            .bind(&key)
                            .bind(&u.display_name)
                            .bind(&u.password_hash)
                            .bind(u.account_enabled)
                            .bind(now)
                            .execute(&mut *tx)
                            .await?;
                        s.users_created += 1;
                        u.id.clone()
                    }
                };
                sqlx::query("DELETE FROM group_members WHERE user_id = ?")
                    .bind(&id)
                    .execute(&mut *tx)
                    .await?;
                for g in groups {
                    let gid = group_ids.get(&g.to_lowercase()).cloned();
                    let gid = match gid {
                        Some(g) => g,
                        None => sqlx::query_scalar(
                            "SELECT id FROM groups WHERE tenant_id = ? AND name_key = ?",
                        )
                        .bind(&tenant_id)
                        .bind(g.to_lowercase())
                        .fetch_optional(&mut *tx)
                        .await?
                        .ok_or_else(|| StoreError::NotFound(format!("group '{g}'")))?,
                    };
                    sqlx::query("INSERT INTO group_members (group_id, user_id) VALUES (?,?)")
                        .bind(gid)
                        .bind(&id)
                        .execute(&mut *tx)
                        .await?;
                }
            }

            for r in &ti.resources {
                insert_resource(&mut tx, &tenant_id, r, true).await?;
                s.resources_upserted += 1;
            }
            for a in &ti.applications {
                let mut a = a.clone();
                if a.confidential && a.secret_sha256.is_none() {
                    // Keep the stored secret: read it back inside the transaction.
                    let old: Option<Option<Vec<u8>>> = sqlx::query_scalar("SELECT secret_sha256 FROM applications WHERE tenant_id = ? AND client_id = ?")
                        .bind(&tenant_id)
                        .bind(&a.client_id)
                        .fetch_optional(&mut *tx)
                        .await?;
                    a.secret_sha256 = old
                        .flatten()
                        .and_then(|v| <[u8; 32]>::try_from(v.as_slice()).ok());
                }
                insert_application(&mut tx, &tenant_id, &a, now, true).await?;
                s.applications_upserted += 1;
            }
        }
        tx.commit().await?;
        Ok(s)
    }
}

fn new_id() -> String {
    // A random UUIDv4 string, without pulling a UUID crate into the store.
    let mut b = [0u8; 16];
    portvakt_jose::random_bytes(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use portvakt_jose::Algorithm;

    fn key(kid: &str, active_from: i64) -> StoredKey {
        StoredKey {
            info: SigningKeyInfo {
                kid: kid.into(),
                algorithm: Algorithm::ES256,
                created_at: active_from,
                active_from,
                retired_at: None,
                published_until: None,
            },
            public_jwk: "{}".into(),
            sealed_pkcs8: vec![1, 2, 3],
        }
    }

    fn tenant(name: &str) -> Tenant {
        Tenant {
            id: new_id(),
            name: name.into(),
            display_name: name.into(),
            signing_algorithm: Algorithm::ES256,
            access_token_lifetime_seconds: None,
        }
    }

    #[tokio::test]
    async fn tenant_lifecycle_and_conflicts() {
        let s = SqliteStore::in_memory().await.expect("open");
        s.create_tenant(&tenant("contoso"), &[key("k1", 100)], 100)
            .await
            .expect("create");
        let e = s
            .create_tenant(&tenant("contoso"), &[key("k2", 100)], 100)
            .await
            .expect_err("dup");
        assert!(
            matches!(e, StoreError::Conflict(ref m) if m.contains("contoso")),
            "{e}"
        );
        let d = s.directory("contoso").await.expect("dir").expect("exists");
        assert_eq!(d.keys.len(), 1);
        assert!(s.directory("nope").await.expect("dir").is_none());
    }

    #[tokio::test]
    async fn rotation_retires_the_old_key_and_keeps_it_published() {
        let s = SqliteStore::in_memory().await.expect("open");
        let t = tenant("contoso");
        s.create_tenant(&t, &[key("k1", 100)], 100)
            .await
            .expect("create");
        s.rotate_key(&t.id, &key("k2", 200), 5000)
            .await
            .expect("rotate");
        let d = s.directory("contoso").await.expect("dir").expect("exists");
        let k1 = &d.keys[0].info;
        assert_eq!(
            (k1.kid.as_str(), k1.retired_at, k1.published_until),
            ("k1", Some(200), Some(5000))
        );
        assert!(
            k1.is_signing(199)
                && !k1.is_signing(200)
                && k1.is_published(4999)
                && !k1.is_published(5000)
        );
        assert!(d.keys[1].info.is_signing(200) && !d.keys[1].info.is_signing(199));
    }

    #[tokio::test]
    async fn import_is_all_or_nothing() {
        let s = SqliteStore::in_memory().await.expect("open");
        let t = tenant("contoso");
        let u = NewUser {
            id: new_id(),
            user_principal_name: "a@x".into(),
            display_name: "A".into(),
            password_hash: None,
            account_enabled: true,
        };
        let ok = TenantImport {
            tenant: t.clone(),
            new_keys: vec![(key("k1", 1), 1)],
            retire: None,
            groups: vec!["G".into()],
            users: vec![(u.clone(), vec!["G".into()])],
            resources: vec![],
            applications: vec![],
        };
        // A membership in a group that exists nowhere fails the whole import.
        let mut bad = ok.clone();
        bad.users[0].1 = vec!["Missing".into()];
        assert!(s.import(&[bad], 1).await.is_err());
        assert!(
            s.list_tenants().await.expect("list").is_empty(),
            "nothing was written"
        );
        let first = s
            .import(std::slice::from_ref(&ok), 1)
            .await
            .expect("import");
        assert_eq!(
            (
                first.tenants_created,
                first.users_created,
                first.groups_created
            ),
            (1, 1, 1)
        );
        let mut again = ok.clone();
        again.new_keys = vec![];
        let second = s.import(&[again], 2).await.expect("re-import");
        assert_eq!(
            (
                second.tenants_updated,
                second.users_updated,
                second.groups_created
            ),
            (1, 1, 0)
        );
        let users = s.list_users(&t.id).await.expect("users");
        assert_eq!(users.len(), 1);
        assert_eq!(users[0].groups, vec!["G"]);
    }
}
