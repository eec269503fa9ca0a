//! The embedded engine: one SQLite file in WAL mode, through [`crate::conns`].

use crate::conns::{all, exec, one, Conns};
use crate::group_commit::GroupCommit;
use crate::{
    Directory, DirectoryNames, ImportSummary, NewUser, Result, Store, StoreError,
    StoredGraphObject, StoredKey, TenantImport,
};
use async_trait::async_trait;
use portvakt_core::model::{Application, Group, Resource, SigningKeyInfo, Tenant, User};
use rusqlite::{params, Connection, Row};
use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// SQLite behind the [`Store`] trait.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    conns: Arc<Conns>,
    /// The sign-in log's own database (`signins.db`).
    log: Arc<Conns>,
    /// Bumped after every committed write that can withdraw an access token (see
    /// [`crate::Flows::revocation_epoch`]).
    revocations: Arc<AtomicU64>,
    /// Writes that share a commit with their concurrent peers (rotations).
    group: Arc<GroupCommit>,
    /// The sign-in log's dictionaries (`crate::record_pack`).
    pub(crate) dicts: Arc<crate::record_pack::Dicts>,
}

/// The columns [`user_from_row`] reads, from `users u` (which a query may LEFT JOIN):
/// the user and its group names (ordered) as a JSON array. A macro, so queries are
/// built with `concat!` at compile time rather than formatted on every request.
macro_rules! user_columns {
    () => {
        "u.id AS u_id, u.user_principal_name AS u_upn, u.display_name AS u_display_name,
    u.account_enabled AS u_enabled, u.password_hash AS u_password_hash, u.tokens_valid_from AS u_valid_from,
    (SELECT json_group_array(name) FROM (SELECT g.display_name AS name FROM group_members m JOIN groups g ON g.id = m.group_id
                                         WHERE m.user_id = u.id ORDER BY g.name_key)) AS u_groups,
    (SELECT json_group_array(group_id) FROM (SELECT m.group_id FROM group_members m WHERE m.user_id = u.id ORDER BY m.group_id)) AS u_group_ids,
    u.roles AS u_roles, u.totp_sealed IS NOT NULL AS u_mfa, u.password_changed_at AS u_pw_changed"
    };
}
pub(crate) use user_columns;

/// Which column [`SqliteStore::user_where`] looks a user up by.
#[derive(Debug, Clone, Copy)]
pub(crate) enum UserKey {
    /// The user id.
    Id,
    /// The lower-cased user principal name.
    Upn,
}

/// The user selected with [`user_columns!`]; `None` when a LEFT JOIN found none.
pub(crate) fn user_from_row(r: &Row<'_>) -> Result<Option<User>> {
    let Some(id) = r.get::<_, Option<String>>("u_id")? else {
        return Ok(None);
    };
    let groups: String = r.get("u_groups")?;
    let group_ids: String = r.get("u_group_ids")?;
    let roles: String = r.get("u_roles")?;
    Ok(Some(User {
        id,
        user_principal_name: r.get("u_upn")?,
        display_name: r.get("u_display_name")?,
        account_enabled: r.get("u_enabled")?,
        password_hash: r.get("u_password_hash")?,
        tokens_valid_from: r.get("u_valid_from")?,
        groups: serde_json::from_str(&groups)?,
        group_ids: serde_json::from_str(&group_ids)?,
        roles: serde_json::from_str(&roles)?,
        mfa_registered: r.get("u_mfa")?,
        password_changed_at: r.get("u_pw_changed")?,
    }))
}

/// Insert the row of a new tenant, created at `now`.
fn insert_tenant(c: &Connection, t: &Tenant, now: i64) -> Result<usize> {
    exec(
        c,
        INSERT_TENANT,
        params![
            t.id,
            t.name,
            t.display_name,
            t.signing_algorithm.as_str(),
            t.access_token_lifetime_seconds.map(i64::from),
            now
        ],
    )
}

impl SqliteStore {
    /// Record that a write which can withdraw access tokens has committed.
    pub(crate) fn revoked(&self) {
        self.revocations.fetch_add(1, Ordering::Release);
    }

    pub(crate) fn epoch(&self) -> u64 {
        self.revocations.load(Ordering::Acquire)
    }

    /// Run `f` on a reader connection.
    pub(crate) fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        self.conns.read(f)
    }

    /// Run `f` on the writer (one statement, or several that need no transaction).
    pub(crate) fn write<T>(&self, f: impl FnOnce(&mut Connection) -> Result<T>) -> Result<T> {
        self.conns.write(f)
    }

    /// Run `f` on the writer in the next group commit (see [`crate::group_commit`]):
    /// for small, frequent writes whose callers can wait a scheduler turn.
    pub(crate) async fn write_grouped<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        GroupCommit::write(&self.conns, &self.group, f).await
    }

    /// Group transactions run so far.
    #[cfg(test)]
    pub(crate) fn group_commits(&self) -> u64 {
        self.group.commits()
    }

    /// Run `f` in one transaction on the writer.
    pub(crate) fn transaction<T>(
        &self,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T>,
    ) -> Result<T> {
        self.conns.transaction(f)
    }

    /// [`Self::read`] on the sign-in log's database.
    pub(crate) fn log_read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        self.log.read(f)
    }

    /// [`Self::write`] on the sign-in log's database.
    pub(crate) fn log_write<T>(&self, f: impl FnOnce(&mut Connection) -> Result<T>) -> Result<T> {
        self.log.write(f)
    }

    /// [`Self::transaction`] on the sign-in log's database.
    pub(crate) fn log_transaction<T>(
        &self,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T>,
    ) -> Result<T> {
        self.log.transaction(f)
    }

    /// One user, with its groups, in one statement.
    pub(crate) fn user_where(
        &self,
        key: UserKey,
        tenant_id: &str,
        value: &str,
    ) -> Result<Option<User>> {
        let sql = match key {
            UserKey::Id => concat!(
                "SELECT ",
                user_columns!(),
                " FROM users u WHERE u.tenant_id = ? AND u.id = ?"
            ),
            UserKey::Upn => concat!(
                "SELECT ",
                user_columns!(),
                " FROM users u WHERE u.tenant_id = ? AND u.upn_key = ?"
            ),
        };
        self.read(|c| Ok(one(c, sql, params![tenant_id, value], user_from_row)?.flatten()))
    }

    /// Open (creating if needed) the database file and bring its schema up to date
    /// (see [`Conns::open`]).
    /// The sign-in log goes to `signins.db` beside it.
    pub async fn open(path: &Path) -> Result<Self> {
        let log_path = path.with_file_name("signins.db");
        Ok(Self::with(
            Conns::open(path)?,
            Conns::open_with(
                &log_path,
                crate::conns::LOG_MIGRATIONS,
                crate::conns::Tuning::AppendLog,
            )?,
        ))
    }

    /// An in-memory database (for tests): one connection for reads and writes.
    pub async fn in_memory() -> Result<Self> {
        Ok(Self::with(
            Conns::in_memory()?,
            Conns::in_memory_with(crate::conns::LOG_MIGRATIONS)?,
        ))
    }

    fn with(conns: Conns, log: Conns) -> Self {
        Self {
            conns: Arc::new(conns),
            log: Arc::new(log),
            group: Arc::default(),
            dicts: Arc::default(),
            revocations: Arc::default(),
        }
    }
}

fn json_list(row: &Row<'_>, col: &str) -> Result<Vec<String>> {
    let s: String = row.get(col)?;
    Ok(serde_json::from_str(&s)?)
}

fn lifetime(row: &Row<'_>, col: &str) -> Result<Option<u32>> {
    let v: Option<i64> = row.get(col)?;
    Ok(v.map(|v| v.clamp(0, u32::MAX as i64) as u32))
}

fn tenant_from(row: &Row<'_>) -> Result<Tenant> {
    let alg: String = row.get("signing_algorithm")?;
    Ok(Tenant {
        id: row.get("id")?,
        name: row.get("name")?,
        display_name: row.get("display_name")?,
        signing_algorithm: alg.parse().map_err(StoreError::Corrupt)?,
        access_token_lifetime_seconds: lifetime(row, "access_token_lifetime")?,
    })
}

fn resource_from(row: &Row<'_>) -> Result<Resource> {
    Ok(Resource {
        identifier: row.get("identifier")?,
        display_name: row.get("display_name")?,
        scopes: json_list(row, "scopes")?,
        access_token_lifetime_seconds: lifetime(row, "access_token_lifetime")?,
        group_claims: row.get("group_claims")?,
        introspection_clients: json_list(row, "introspection_clients")?,
    })
}

fn application_from(row: &Row<'_>) -> Result<Application> {
    let secret: Option<Vec<u8>> = row.get("secret_sha256")?;
    let secret_sha256 = match secret {
        None => None,
        Some(v) => Some(
            <[u8; 32]>::try_from(v.as_slice())
                .map_err(|_| StoreError::Corrupt("secret hash is not 32 bytes".into()))?,
        ),
    };
    Ok(Application {
        client_id: row.get("client_id")?,
        display_name: row.get("display_name")?,
        confidential: secret_sha256.is_some(),
        secret_sha256,
        grant_types: json_list(row, "grant_types")?,
        redirect_uris: json_list(row, "redirect_uris")?,
        allowed_scopes: json_list(row, "allowed_scopes")?,
        access_token_lifetime_seconds: lifetime(row, "access_token_lifetime")?,
        admin_consented: row.get("admin_consented")?,
        refresh_token_lifetime_seconds: lifetime(row, "refresh_token_lifetime")?,
    })
}

fn key_from(row: &Row<'_>) -> Result<StoredKey> {
    let alg: String = row.get("algorithm")?;
    Ok(StoredKey {
        info: SigningKeyInfo {
            kid: row.get("kid")?,
            algorithm: alg.parse().map_err(StoreError::Corrupt)?,
            created_at: row.get("created_at")?,
            active_from: row.get("active_from")?,
            retired_at: row.get("retired_at")?,
            published_until: row.get("published_until")?,
        },
        public_jwk: row.get("public_jwk")?,
        sealed_pkcs8: row.get("sealed_pkcs8")?,
    })
}

fn to_json(v: &[String]) -> Result<String> {
    Ok(serde_json::to_string(v)?)
}

fn insert_key(c: &Connection, tenant_id: &str, k: &StoredKey) -> Result<()> {
    exec(c, "INSERT INTO signing_keys (kid, tenant_id, algorithm, sealed_pkcs8, public_jwk, created_at, active_from, retired_at, published_until) VALUES (?,?,?,?,?,?,?,?,?)",
        params![k.info.kid, tenant_id, k.info.algorithm.as_str(), k.sealed_pkcs8, k.public_jwk,
                k.info.created_at, k.info.active_from, k.info.retired_at, k.info.published_until])?;
    Ok(())
}

/// Retire every key of the tenant *with the new key's algorithm* that would still
/// sign at `at`, keep it published until `published_until`, then insert `new`.
fn rotate_in(c: &Connection, tenant_id: &str, new: &StoredKey, published_until: i64) -> Result<()> {
    let at = new.info.active_from;
    retire_in(
        c,
        tenant_id,
        new.info.algorithm.as_str(),
        at,
        published_until,
    )?;
    insert_key(c, tenant_id, new)
}

/// Retire the tenant's keys of `algorithm` that would still sign at `at`.
fn retire_in(
    c: &Connection,
    tenant_id: &str,
    algorithm: &str,
    at: i64,
    published_until: i64,
) -> Result<()> {
    exec(c, "UPDATE signing_keys SET retired_at = ?, published_until = ? WHERE tenant_id = ? AND algorithm = ? AND (retired_at IS NULL OR retired_at > ?)",
        params![at, published_until, tenant_id, algorithm, at])?;
    Ok(())
}

fn insert_resource(c: &Connection, tenant_id: &str, r: &Resource, upsert: bool) -> Result<()> {
    let sql = if upsert {
        "INSERT INTO resources (tenant_id, identifier, display_name, scopes, access_token_lifetime, group_claims, introspection_clients) VALUES (?,?,?,?,?,?,?)
         ON CONFLICT (tenant_id, identifier) DO UPDATE SET display_name = excluded.display_name, scopes = excluded.scopes,
           access_token_lifetime = excluded.access_token_lifetime, group_claims = excluded.group_claims,
           introspection_clients = excluded.introspection_clients"
    } else {
        "INSERT INTO resources (tenant_id, identifier, display_name, scopes, access_token_lifetime, group_claims, introspection_clients) VALUES (?,?,?,?,?,?,?)"
    };
    exec(
        c,
        sql,
        params![
            tenant_id,
            r.identifier,
            r.display_name,
            to_json(&r.scopes)?,
            r.access_token_lifetime_seconds.map(i64::from),
            r.group_claims,
            to_json(&r.introspection_clients)?
        ],
    )?;
    Ok(())
}

fn insert_application(
    c: &Connection,
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
    exec(
        c,
        sql,
        params![
            tenant_id,
            a.client_id,
            a.display_name,
            a.secret_sha256.map(|h| h.to_vec()),
            to_json(&a.grant_types)?,
            to_json(&a.redirect_uris)?,
            to_json(&a.allowed_scopes)?,
            a.access_token_lifetime_seconds.map(i64::from),
            now,
            a.admin_consented,
            a.refresh_token_lifetime_seconds.map(i64::from)
        ],
    )?;
    Ok(())
}

fn conflict_as(what: String) -> impl FnOnce(StoreError) -> StoreError {
    move |e| match e {
        StoreError::Conflict(_) => StoreError::Conflict(what),
        other => other,
    }
}

const INSERT_TENANT: &str = "INSERT INTO tenants (id, name, display_name, signing_algorithm, access_token_lifetime, created_at) VALUES (?,?,?,?,?,?)";
const INSERT_USER: &str = "INSERT INTO users (id, tenant_id, user_principal_name, upn_key, display_name, password_hash, account_enabled, created_at, roles, totp_sealed) VALUES (?,?,?,?,?,?,?,?,?,?)";
const GROUP_ID: &str = "SELECT id FROM groups WHERE tenant_id = ? AND name_key = ?";

#[async_trait]
impl Store for SqliteStore {
    async fn list_tenants(&self) -> Result<Vec<Tenant>> {
        self.read(|c| all(c, "SELECT * FROM tenants ORDER BY name", [], tenant_from))
    }

    async fn tenant(&self, name: &str) -> Result<Option<Tenant>> {
        self.read(|c| {
            one(
                c,
                "SELECT * FROM tenants WHERE name = ?",
                [name],
                tenant_from,
            )
        })
    }

    async fn create_tenant(&self, t: &Tenant, first_keys: &[StoredKey], now: i64) -> Result<()> {
        self.transaction(|tx| {
            insert_tenant(tx, t, now).map_err(conflict_as(format!("tenant '{}'", t.name)))?;
            for k in first_keys {
                insert_key(tx, &t.id, k)?;
            }
            Ok(())
        })
    }

    async fn directory(&self, tenant_name: &str) -> Result<Option<Directory>> {
        self.read(|c| {
            let Some(tenant) = one(
                c,
                "SELECT * FROM tenants WHERE name = ?",
                [tenant_name],
                tenant_from,
            )?
            else {
                return Ok(None);
            };
            let resources = all(
                c,
                "SELECT * FROM resources WHERE tenant_id = ? ORDER BY identifier",
                [&tenant.id],
                resource_from,
            )?;
            let applications = all(
                c,
                "SELECT * FROM applications WHERE tenant_id = ? ORDER BY client_id",
                [&tenant.id],
                application_from,
            )?;
            let keys = all(
                c,
                "SELECT * FROM signing_keys WHERE tenant_id = ? ORDER BY active_from, created_at",
                [&tenant.id],
                key_from,
            )?;
            let roles = crate::sqlite_access::roles(c, &tenant.id)?;
            let policies = crate::sqlite_access::graph_objects(c, "ca_policies", &tenant.id)?;
            let named_locations =
                crate::sqlite_access::graph_objects(c, "named_locations", &tenant.id)?;
            Ok(Some(Directory {
                tenant,
                resources,
                applications,
                keys,
                roles,
                policies,
                named_locations,
            }))
        })
    }

    async fn list_users(&self, tenant_id: &str) -> Result<Vec<User>> {
        const SQL: &str = concat!(
            "SELECT ",
            user_columns!(),
            " FROM users u WHERE u.tenant_id = ? ORDER BY u.upn_key"
        );
        self.read(|c| {
            all(c, SQL, [tenant_id], |r| {
                user_from_row(r)?
                    .ok_or_else(|| StoreError::Corrupt("a user row without an id".into()))
            })
        })
    }

    async fn user_by_upn(&self, tenant_id: &str, upn: &str) -> Result<Option<User>> {
        self.user_where(UserKey::Upn, tenant_id, &upn.to_lowercase())
    }

    async fn create_user(&self, tenant_id: &str, u: &NewUser, now: i64) -> Result<()> {
        self.write(|c| {
            exec(
                c,
                INSERT_USER,
                params![
                    u.id,
                    tenant_id,
                    u.user_principal_name,
                    u.user_principal_name.to_lowercase(),
                    u.display_name,
                    u.password_hash,
                    u.account_enabled,
                    now,
                    to_json(u.roles.as_deref().unwrap_or_default())?,
                    u.totp_sealed
                ],
            )
        })
        .map_err(conflict_as(format!("user '{}'", u.user_principal_name)))?;
        Ok(())
    }

    async fn set_account_enabled(&self, tenant_id: &str, upn: &str, enabled: bool) -> Result<()> {
        let n = self.write(|c| {
            exec(
                c,
                "UPDATE users SET account_enabled = ? WHERE tenant_id = ? AND upn_key = ?",
                params![enabled, tenant_id, upn.to_lowercase()],
            )
        })?;
        if n == 0 {
            return Err(StoreError::NotFound(format!("user '{upn}'")));
        }
        self.revoked();
        Ok(())
    }

    async fn list_groups(&self, tenant_id: &str) -> Result<Vec<Group>> {
        self.read(|c| {
            all(
                c,
                "SELECT id, display_name FROM groups WHERE tenant_id = ? ORDER BY name_key",
                [tenant_id],
                |r| {
                    Ok(Group {
                        id: r.get("id")?,
                        display_name: r.get("display_name")?,
                    })
                },
            )
        })
    }

    async fn create_group(&self, tenant_id: &str, id: &str, display_name: &str) -> Result<()> {
        self.write(|c| {
            exec(
                c,
                "INSERT INTO groups (id, tenant_id, display_name, name_key) VALUES (?,?,?,?)",
                params![id, tenant_id, display_name, display_name.to_lowercase()],
            )
        })
        .map_err(conflict_as(format!("group '{display_name}'")))?;
        Ok(())
    }

    async fn create_application(&self, tenant_id: &str, app: &Application, now: i64) -> Result<()> {
        self.write(|c| insert_application(c, tenant_id, app, now, false))
            .map_err(conflict_as(format!("application '{}'", app.client_id)))
    }

    async fn create_resource(&self, tenant_id: &str, r: &Resource) -> Result<()> {
        self.write(|c| insert_resource(c, tenant_id, r, false))
            .map_err(conflict_as(format!("resource '{}'", r.identifier)))
    }

    async fn rotate_key(
        &self,
        tenant_id: &str,
        new: &StoredKey,
        published_until: i64,
    ) -> Result<()> {
        self.transaction(|tx| rotate_in(tx, tenant_id, new, published_until))
    }

    async fn directory_names(&self, tenant_id: &str) -> Result<DirectoryNames> {
        self.read(|c| crate::sqlite_access::directory_names(c, tenant_id))
    }

    async fn put_access(
        &self,
        tenant_id: &str,
        policies: &[StoredGraphObject],
        locations: &[StoredGraphObject],
    ) -> Result<()> {
        self.transaction(|tx| {
            crate::sqlite_access::put_access_in(tx, tenant_id, policies, locations)
        })
    }

    async fn delete_policy(&self, tenant_id: &str, id: &str) -> Result<bool> {
        let n = self.write(|c| {
            exec(
                c,
                "DELETE FROM ca_policies WHERE tenant_id = ? AND id = ?",
                params![tenant_id, id],
            )
        })?;
        Ok(n > 0)
    }

    async fn delete_named_location(&self, tenant_id: &str, id: &str) -> Result<bool> {
        let n = self.write(|c| {
            exec(
                c,
                "DELETE FROM named_locations WHERE tenant_id = ? AND id = ?",
                params![tenant_id, id],
            )
        })?;
        Ok(n > 0)
    }

    async fn set_user_roles(&self, tenant_id: &str, upn: &str, roles: &[String]) -> Result<()> {
        let json = to_json(roles)?;
        let n = self.write(|c| {
            exec(
                c,
                "UPDATE users SET roles = ? WHERE tenant_id = ? AND upn_key = ?",
                params![json, tenant_id, upn.to_lowercase()],
            )
        })?;
        if n == 0 {
            return Err(StoreError::NotFound(format!("user '{upn}'")));
        }
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
        let changed = self.transaction(|tx| {
            let group: Option<i64> = one(
                tx,
                "SELECT 1 FROM groups WHERE tenant_id = ? AND id = ?",
                params![tenant_id, group_id],
                |r| Ok(r.get::<_, i64>(0)?),
            )?;
            let user: Option<i64> = one(
                tx,
                "SELECT 1 FROM users WHERE tenant_id = ? AND id = ?",
                params![tenant_id, user_id],
                |r| Ok(r.get::<_, i64>(0)?),
            )?;
            if group.is_none() {
                return Err(StoreError::NotFound(format!("group '{group_id}'")));
            }
            if user.is_none() {
                return Err(StoreError::NotFound(format!("user '{user_id}'")));
            }
            let n = if member {
                exec(
                    tx,
                    "INSERT OR IGNORE INTO group_members (group_id, user_id) VALUES (?, ?)",
                    params![group_id, user_id],
                )?
            } else {
                exec(
                    tx,
                    "DELETE FROM group_members WHERE group_id = ? AND user_id = ?",
                    params![group_id, user_id],
                )?
            };
            Ok(n > 0)
        })?;
        if changed {
            // A group can be what a session's tokens were allowed by (or a policy's
            // condition): like a role change.
            self.revoked();
        }
        Ok(changed)
    }

    async fn user_totp(&self, tenant_id: &str, user_id: &str) -> Result<Option<(Vec<u8>, i64)>> {
        self.read(|c| {
            Ok(one(
                c,
                "SELECT totp_sealed, totp_last_step FROM users WHERE tenant_id = ? AND id = ?",
                params![tenant_id, user_id],
                |r| Ok((r.get::<_, Option<Vec<u8>>>(0)?, r.get::<_, i64>(1)?)),
            )?
            .and_then(|(s, step)| s.map(|s| (s, step))))
        })
    }

    async fn set_user_totp(
        &self,
        tenant_id: &str,
        user_id: &str,
        sealed: Option<&[u8]>,
    ) -> Result<()> {
        let n = self.write(|c| {
            exec(
                c,
                "UPDATE users SET totp_sealed = ?, totp_last_step = 0 WHERE tenant_id = ? AND id = ?",
                params![sealed, tenant_id, user_id],
            )
        })?;
        if n == 0 {
            return Err(StoreError::NotFound(format!("user id '{user_id}'")));
        }
        Ok(())
    }

    async fn use_totp_step(&self, tenant_id: &str, user_id: &str, step: i64) -> Result<bool> {
        // Conditional: two requests with the same code cannot both pass.
        let n = self.write(|c| {
            exec(
                c,
                "UPDATE users SET totp_last_step = ? WHERE tenant_id = ? AND id = ? AND totp_last_step < ?",
                params![step, tenant_id, user_id, step],
            )
        })?;
        Ok(n == 1)
    }

    async fn set_password(
        &self,
        tenant_id: &str,
        user_id: &str,
        hash: &str,
        now: i64,
    ) -> Result<()> {
        let n = self.write(|c| {
            exec(
                c,
                "UPDATE users SET password_hash = ?, password_changed_at = ? WHERE tenant_id = ? AND id = ?",
                params![hash, now, tenant_id, user_id],
            )
        })?;
        if n == 0 {
            return Err(StoreError::NotFound(format!("user id '{user_id}'")));
        }
        Ok(())
    }

    async fn import(&self, tenants: &[TenantImport], now: i64) -> Result<ImportSummary> {
        let s = self.transaction(|tx| import_in(tx, tenants, now))?;
        // An import can disable users or change what they may hold.
        self.revoked();
        Ok(s)
    }
}

/// The import, inside its one transaction.
fn import_in(tx: &Connection, tenants: &[TenantImport], now: i64) -> Result<ImportSummary> {
    let mut s = ImportSummary::default();
    let id_of = |r: &Row<'_>| Ok(r.get::<_, String>(0)?);
    for ti in tenants {
        let t = &ti.tenant;
        let existing = one(
            tx,
            "SELECT id FROM tenants WHERE name = ?",
            [&t.name],
            id_of,
        )?;
        let tenant_id = match existing {
            Some(id) => {
                exec(tx, "UPDATE tenants SET display_name = ?, signing_algorithm = ?, access_token_lifetime = ? WHERE id = ?",
                    params![t.display_name, t.signing_algorithm.as_str(), t.access_token_lifetime_seconds.map(i64::from), id])?;
                s.tenants_updated += 1;
                id
            }
            None => {
                insert_tenant(tx, t, now)?;
                s.tenants_created += 1;
                t.id.clone()
            }
        };
        if let Some((alg, at, until)) = &ti.retire {
            retire_in(tx, &tenant_id, alg.as_str(), *at, *until)?;
        }
        for (k, until) in &ti.new_keys {
            rotate_in(tx, &tenant_id, k, *until)?;
        }

        let mut group_ids: HashMap<String, String> = HashMap::new();
        for g in &ti.groups {
            let key = g.display_name.to_lowercase();
            // By its own id when it has one (kept as given, e.g. an Entra id, so that
            // exported policies resolve unchanged), else by name.
            let found = match &g.id {
                Some(id) => one(
                    tx,
                    "SELECT id FROM groups WHERE tenant_id = ? AND id = ?",
                    params![tenant_id, id],
                    id_of,
                )?,
                None => one(tx, GROUP_ID, params![tenant_id, key], id_of)?,
            };
            let id = match found {
                Some(id) => {
                    exec(
                        tx,
                        "UPDATE groups SET display_name = ?, name_key = ? WHERE id = ?",
                        params![g.display_name, key, id],
                    )?;
                    id
                }
                None => {
                    let id = g.id.clone().unwrap_or_else(new_id);
                    exec(
                        tx,
                        "INSERT INTO groups (id, tenant_id, display_name, name_key) VALUES (?,?,?,?)",
                        params![id, tenant_id, g.display_name, key],
                    )
                    .map_err(conflict_as(format!("group '{}' (id {id})", g.display_name)))?;
                    s.groups_created += 1;
                    id
                }
            };
            group_ids.insert(key, id);
        }
        crate::sqlite_access::import_roles(tx, &tenant_id, &ti.roles)?;

        for (u, groups) in &ti.users {
            let key = u.user_principal_name.to_lowercase();
            let existing = one(
                tx,
                "SELECT id FROM users WHERE tenant_id = ? AND upn_key = ?",
                params![tenant_id, key],
                id_of,
            )?;
            let id = match existing {
                Some(id) => {
                    let roles = u.roles.as_deref().map(to_json).transpose()?;
                    exec(tx, "UPDATE users SET user_principal_name = ?, display_name = ?, account_enabled = ?, password_hash = COALESCE(?, password_hash),
                                 roles = COALESCE(?, roles), totp_sealed = COALESCE(?, totp_sealed) WHERE id = ?",
                        params![u.user_principal_name, u.display_name, u.account_enabled, u.password_hash, roles, u.totp_sealed, id])?;
                    s.users_updated += 1;
                    id
                }
                None => {
                    exec(
                        tx,
                        INSERT_USER,
                        params![
                            u.id,
                            tenant_id,
                            u.user_principal_name,
                            key,
                            u.display_name,
                            u.password_hash,
                            u.account_enabled,
                            now,
                            to_json(u.roles.as_deref().unwrap_or_default())?,
                            u.totp_sealed
                        ],
                    )
                    .map_err(conflict_as(format!(
                        "user '{}' (id {})",
                        u.user_principal_name, u.id
                    )))?;
                    s.users_created += 1;
                    u.id.clone()
                }
            };
            exec(tx, "DELETE FROM group_members WHERE user_id = ?", [&id])?;
            for g in groups {
                let gid = match group_ids.get(&g.to_lowercase()).cloned() {
                    Some(g) => g,
                    None => one(tx, GROUP_ID, params![tenant_id, g.to_lowercase()], id_of)?
                        .ok_or_else(|| StoreError::NotFound(format!("group '{g}'")))?,
                };
                exec(
                    tx,
                    "INSERT INTO group_members (group_id, user_id) VALUES (?,?)",
                    params![gid, id],
                )?;
            }
        }

        for r in &ti.resources {
            insert_resource(tx, &tenant_id, r, true)?;
            s.resources_upserted += 1;
        }
        for a in &ti.applications {
            let mut a = a.clone();
            if a.confidential && a.secret_sha256.is_none() {
                // Keep the stored secret: read it back inside the transaction.
                let old = one(
                    tx,
                    "SELECT secret_sha256 FROM applications WHERE tenant_id = ? AND client_id = ?",
                    params![tenant_id, a.client_id],
                    |r| Ok(r.get::<_, Option<Vec<u8>>>(0)?),
                )?;
                a.secret_sha256 = old
                    .flatten()
                    .and_then(|v| <[u8; 32]>::try_from(v.as_slice()).ok());
            }
            insert_application(tx, &tenant_id, &a, now, true)?;
            s.applications_upserted += 1;
        }
        crate::sqlite_access::put_access_in(tx, &tenant_id, &ti.policies, &ti.named_locations)?;
        s.policies_upserted += ti.policies.len() as u32;
        s.named_locations_upserted += ti.named_locations.len() as u32;
    }
    Ok(s)
}

pub(crate) fn new_id() -> String {
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
            roles: None,
            totp_sealed: None,
        };
        let ok = TenantImport {
            tenant: t.clone(),
            new_keys: vec![(key("k1", 1), 1)],
            retire: None,
            groups: vec![crate::GroupImport {
                id: None,
                display_name: "G".into(),
            }],
            roles: vec![],
            named_locations: vec![],
            policies: vec![],
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
