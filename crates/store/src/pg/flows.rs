//! [`Flows`] on PostgreSQL: pending sign-ins, sessions, consents, codes, refresh
//! families, device codes and the access-token denylist.
//!
//! A translation of `crate::sqlite_flows`: the same statements, results and errors.
//! Where SQLite relies on its single writer for a read-then-write to be atomic, the
//! statement here takes a row lock instead (`FOR UPDATE`, or an upsert), so that the
//! outcome under concurrency is one SQLite could have produced (under READ COMMITTED,
//! a statement that waited for a row lock re-checks its condition on the row as
//! committed).

use crate::flows::{
    AccessTokenStatus, CodeTake, Flows, GrantRevocation, Interaction, RefreshClaim, RefreshRecord,
    SessionRecord, TokenUser,
};
use crate::pg::{user_columns, user_from_row, PgStore};
use crate::sqlite::UserKey;
use crate::{Result, StoreError};
use async_trait::async_trait;
use portvakt_core::flow::{CodeGrant, DeviceGrant, RefreshGrant, Session};
use portvakt_core::model::User;
use tokio_postgres::Row;

fn hash32(v: Vec<u8>) -> Result<[u8; 32]> {
    <[u8; 32]>::try_from(v.as_slice())
        .map_err(|_| StoreError::Corrupt("hash is not 32 bytes".into()))
}

/// A `grant_json` column, decoded.
fn grant<T: serde::de::DeserializeOwned>(r: &Row) -> Result<T> {
    let json: String = r.try_get("grant_json")?;
    Ok(serde_json::from_str(&json)?)
}

/// A refresh token as [`REFRESH`] (or [`REFRESH_CLAIM`]) read it.
fn refresh_record(r: &Row) -> Result<RefreshRecord> {
    let revoked_at: Option<i64> = r.try_get("revoked_at")?;
    let reason: Option<String> = r.try_get("revoked_reason")?;
    let used_at: Option<i64> = r.try_get("used_at")?;
    let used_at_ms: Option<i64> = r.try_get("used_at_ms")?;
    Ok(RefreshRecord {
        grant: grant(r)?,
        used_at,
        used_at_ms: used_at_ms.or(used_at.map(|t| t * 1000)),
        superseded_at: r.try_get("superseded_at")?,
        family_revoked: revoked_at.map(|t| (t, reason.unwrap_or_default())),
        user: user_from_row(r)?,
    })
}

const PUT_INTERACTION: &str = "INSERT INTO interactions (id, tenant_id, browser_hash, csrf, request, user_id, sid, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
const INTERACTION: &str =
    "SELECT id, tenant_id, browser_hash, csrf, request, user_id, sid, expires_at,
            mfa_user_id, enroll_sealed, second_factor_at
       FROM interactions WHERE id = $1";
const SET_INTERACTION_USER: &str = "UPDATE interactions SET user_id = $1, sid = $2 WHERE id = $3";
const SET_INTERACTION_MFA: &str =
    "UPDATE interactions SET mfa_user_id = $1, enroll_sealed = $2, second_factor_at = $3 WHERE id = $4";
const DELETE_INTERACTION: &str = "DELETE FROM interactions WHERE id = $1";

const PUT_SESSION: &str =
    "INSERT INTO sessions (id_hash, sid, tenant_id, user_id, auth_time, amr, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7)";
const SESSION: &str = "SELECT sid, tenant_id, user_id, auth_time, amr, expires_at, revoked_at
       FROM sessions WHERE id_hash = $1";
const END_SESSION: &str =
    "UPDATE sessions SET revoked_at = $1 WHERE sid = $2 AND revoked_at IS NULL";
const END_SESSION_FAMILIES: &str =
    "UPDATE token_families SET revoked_at = $1, revoked_reason = 'the user signed out'
      WHERE sid = $2 AND revoked_at IS NULL";
const REVOKE_USER: &str =
    "UPDATE users SET tokens_valid_from = $1 WHERE tenant_id = $2 AND id = $3";
const REVOKE_USER_SESSIONS: &str =
    "UPDATE sessions SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL";
const REVOKE_USER_FAMILIES: &str = "UPDATE token_families SET revoked_at = $1,
            revoked_reason = 'an administrator revoked all sessions of the user'
      WHERE user_id = $2 AND revoked_at IS NULL";

const CONSENT: &str =
    "SELECT scopes FROM consents WHERE tenant_id = $1 AND user_id = $2 AND client_id = $3";
/// The consent row, created empty if there is none, locked until the transaction ends;
/// returns its scopes as committed (SQLite's writer lock, here a row lock: two
/// consents at once both count).
const LOCK_CONSENT: &str =
    "INSERT INTO consents (tenant_id, user_id, client_id, scopes) VALUES ($1, $2, $3, '[]')
     ON CONFLICT (tenant_id, user_id, client_id) DO UPDATE SET scopes = consents.scopes
     RETURNING scopes";
const SET_CONSENT: &str =
    "UPDATE consents SET scopes = $4 WHERE tenant_id = $1 AND user_id = $2 AND client_id = $3";
const SET_ADMIN_CONSENT: &str =
    "UPDATE applications SET admin_consented = $1 WHERE tenant_id = $2 AND client_id = $3";

const PUT_CODE: &str =
    "INSERT INTO auth_codes (code_hash, grant_json, expires_at) VALUES ($1, $2, $3)";
/// The single-use guarantee: only one caller can move used_at from NULL.
const TAKE_CODE: &str =
    "UPDATE auth_codes SET used_at = $1 WHERE code_hash = $2 AND used_at IS NULL
     RETURNING grant_json";
const USED_CODE: &str =
    "SELECT grant_json, family_id, access_jti, access_exp FROM auth_codes WHERE code_hash = $1";
const LINK_CODE: &str =
    "UPDATE auth_codes SET family_id = $1, access_jti = $2, access_exp = $3 WHERE code_hash = $4";

const PUT_FAMILY: &str =
    "INSERT INTO token_families (id, tenant_id, user_id, client_id, sid, created_at, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7)";
const PUT_FIRST_TOKEN: &str =
    "INSERT INTO refresh_tokens (token_hash, family_id, grant_json, issued_at, expires_at)
     VALUES ($1, $2, $3, $4, $5)";
/// Where [`REFRESH`] and [`REFRESH_CLAIM`] read the token $1 (`t`), its family (`f`)
/// and its user (`u`, with [`user_columns!`]).
macro_rules! refresh_from {
    () => {
        " FROM refresh_tokens t JOIN token_families f ON f.id = t.family_id
      LEFT JOIN users u ON u.tenant_id = f.tenant_id AND u.id = f.user_id
      WHERE t.token_hash = $1"
    };
}

/// The token, its family and its user in one statement.
const REFRESH: &str = concat!(
    "SELECT t.grant_json, t.used_at, t.used_at_ms, t.superseded_at, f.revoked_at, f.revoked_reason, ",
    user_columns!(),
    refresh_from!()
);

/// [`Flows::refresh_claim`] in one statement (one round trip where a read and a
/// [`ROTATE`] take two): `t` is [`REFRESH`]'s read ($1 the token's hash); `parent`
/// marks it used at $5 s / $6 ms only while unused and [`RefreshClaim::may_rotate`]
/// holds for the row as read (mirrored here: tenant $3, client $4, family standing
/// and unexpired, token unexpired and never superseded, user enabled and its sign-in
/// not revoked); `ins` stores the successor $2, whose grant is the parent's
/// [`RefreshGrant::successor`] ($7 the inactivity lifetime) as JSON. Under READ
/// COMMITTED a claim that waited for the parent's row lock re-checks `used_at` on the
/// row as committed, so of two at once one rotates (as [`ROTATE`]); the read is the
/// row before either.
const REFRESH_CLAIM: &str = concat!(
    "WITH t AS (SELECT t.grant_json, t.used_at, t.used_at_ms, t.superseded_at, t.expires_at AS t_expires_at,
            t.family_id, f.tenant_id AS f_tenant_id, f.client_id AS f_client_id, f.expires_at AS f_expires_at,
            f.revoked_at, f.revoked_reason, ",
    user_columns!(),
    refresh_from!(),
    "),
     parent AS (UPDATE refresh_tokens p SET used_at = $5, used_at_ms = $6 FROM t
      WHERE p.token_hash = $1 AND p.used_at IS NULL AND t.superseded_at IS NULL AND t.revoked_at IS NULL
        AND t.f_tenant_id = $3 AND t.f_client_id = $4 AND $5 < t.f_expires_at AND $5 < t.t_expires_at
        AND t.u_enabled
        AND NOT (t.u_valid_from > 0 AND (t.grant_json::json ->> 'auth_time')::bigint <= t.u_valid_from)
      RETURNING p.token_hash, p.family_id, t.grant_json, LEAST($5 + $7, t.f_expires_at) AS expires_at),
     ins AS (INSERT INTO refresh_tokens (token_hash, family_id, grant_json, issued_at, expires_at, parent_hash, issued_at_ms)
      SELECT $2, family_id,
             (grant_json::jsonb || jsonb_build_object('issued_at', $5::bigint, 'expires_at', expires_at))::text,
             $5, expires_at, token_hash, $6 FROM parent RETURNING 1)
     SELECT t.*, EXISTS (SELECT 1 FROM ins) AS claimed FROM t"
);

/// Undoing a claim ([`Flows::unclaim_refresh`]), after [`LOCK_PARENT`] in its
/// transaction (so that the check for another successor sees any retry committed
/// before): the successor $2 of $1 goes if $1 was used at $3 ms (by the claim), and
/// $1 is unused again then if no other successor exists.
const UNCLAIM: &str = "WITH gone AS (DELETE FROM refresh_tokens
        WHERE token_hash = $2 AND parent_hash = $1 AND used_at IS NULL
          AND EXISTS (SELECT 1 FROM refresh_tokens p WHERE p.token_hash = $1 AND p.used_at_ms = $3)
        RETURNING 1)
     UPDATE refresh_tokens SET used_at = NULL, used_at_ms = NULL
      WHERE token_hash = $1 AND used_at_ms = $3 AND EXISTS (SELECT 1 FROM gone)
        AND NOT EXISTS (SELECT 1 FROM refresh_tokens s WHERE s.parent_hash = $1 AND s.token_hash <> $2)";

/// A rotation, one statement: the parent is marked used at now ($4 s, $7 ms) only
/// while unused, and the successor ($1 hash, $2 family, $3 grant JSON, $5 expiry,
/// $6 parent hash) inserted only if it was. The UPDATE locks the parent's row, so of
/// two rotations at once the second waits, re-reads the parent as the first
/// committed it (used) and inserts nothing (migration 3 says why there is no
/// trigger). A successor is of its parent's family or nothing: another family makes
/// its `family_id` NULL, which fails the whole statement (NOT NULL), as the foreign
/// key it replaces did.
const ROTATE: &str = "WITH parent AS (
        UPDATE refresh_tokens SET used_at = $4, used_at_ms = $7
         WHERE token_hash = $6 AND used_at IS NULL RETURNING token_hash, family_id)
     INSERT INTO refresh_tokens (token_hash, family_id, grant_json, issued_at, expires_at, parent_hash, issued_at_ms)
     SELECT $1, CASE WHEN family_id = $2 THEN family_id END, $3, $4, $5, token_hash, $7 FROM parent";

/// Taken before [`RETRY`], in its transaction: retries of one parent one at a time,
/// each checking its conditions only once the one before committed (so it sees that
/// one's successor and supersedes it). It costs only the retry path (a client that
/// lost a response).
const LOCK_PARENT: &str = "SELECT 1 FROM refresh_tokens WHERE token_hash = $1 FOR UPDATE";

/// A retry (same parameters as [`ROTATE`], and $8 the window in ms): the parent used
/// within the window, not superseded, no successor used. The parent keeps its first
/// use.
const RETRY: &str = "INSERT INTO refresh_tokens (token_hash, family_id, grant_json, issued_at, expires_at, parent_hash, issued_at_ms)
     SELECT $1, $2, $3, $4, $5, $6, $7
      WHERE EXISTS (SELECT 1 FROM refresh_tokens p WHERE p.token_hash = $6 AND p.superseded_at IS NULL
                     AND COALESCE(p.used_at_ms, p.used_at * 1000) IS NOT NULL
                     AND $7 - COALESCE(p.used_at_ms, p.used_at * 1000) < $8)
        AND NOT EXISTS (SELECT 1 FROM refresh_tokens s WHERE s.parent_hash = $6 AND s.used_at IS NOT NULL)";

/// After a retry inserted $2: the parent's ($1) other successors are superseded at
/// $3 (s).
const SUPERSEDE: &str = "UPDATE refresh_tokens SET superseded_at = $3
      WHERE parent_hash = $1 AND token_hash <> $2 AND superseded_at IS NULL";

const REVOKE_FAMILY: &str = "UPDATE token_families SET revoked_at = $1, revoked_reason = $2
      WHERE id = $3 AND revoked_at IS NULL";
const SESSION_ENDED: &str =
    "SELECT revoked_at FROM sessions WHERE sid = $1 AND revoked_at IS NOT NULL";
const FAMILY_REVOKED: &str = "SELECT revoked_at, COALESCE(revoked_reason, '') FROM token_families
      WHERE sid = $1 AND client_id = $2 AND revoked_at IS NOT NULL AND revoked_at >= $3
      ORDER BY revoked_at LIMIT 1";

const PUT_DEVICE: &str =
    "INSERT INTO device_codes (device_hash, user_code, status, grant_json, expires_at)
     VALUES ($1, $2, $3, $4, $5)";
const DEVICE: &str = "SELECT grant_json FROM device_codes WHERE device_hash = $1";
const DEVICE_BY_USER_CODE: &str = "SELECT grant_json FROM device_codes WHERE user_code = $1";
const UPDATE_DEVICE: &str =
    "UPDATE device_codes SET status = $1, grant_json = $2 WHERE user_code = $3 AND status = $4";

const JTI_REVOKED: &str = "SELECT EXISTS (SELECT 1 FROM revoked_tokens WHERE jti = $1)";
/// Always one row: the user's columns are NULL when there is no such user.
const ACCESS_TOKEN_STATUS: &str =
    "SELECT EXISTS (SELECT 1 FROM revoked_tokens WHERE jti = $1) AS jti_revoked,
            u.account_enabled, u.tokens_valid_from, u.user_principal_name,
            (EXISTS (SELECT 1 FROM sessions WHERE sid = $2 AND revoked_at IS NOT NULL)
             OR EXISTS (SELECT 1 FROM token_families WHERE sid = $2 AND client_id = $3
                          AND revoked_at IS NOT NULL AND revoked_at >= $4)) AS grant_revoked
       FROM (SELECT 1) AS one LEFT JOIN users u ON u.tenant_id = $5 AND u.id = $6";
const REVOKE_JTI: &str =
    "INSERT INTO revoked_tokens (jti, tenant_id, expires_at) VALUES ($1, $2, $3)
     ON CONFLICT (jti) DO NOTHING";

/// What [`Flows::purge_expired`] deletes, per table, at most `$2` rows expired before
/// `$1`, by primary key (PostgreSQL has no `DELETE … LIMIT`).
const PURGE_INTERACTIONS: &str = "DELETE FROM interactions WHERE id IN
     (SELECT id FROM interactions WHERE expires_at < $1 LIMIT $2)";
const PURGE_DEVICE_CODES: &str = "DELETE FROM device_codes WHERE device_hash IN
     (SELECT device_hash FROM device_codes WHERE expires_at < $1 LIMIT $2)";
const PURGE_REVOKED_TOKENS: &str = "DELETE FROM revoked_tokens WHERE jti IN
     (SELECT jti FROM revoked_tokens WHERE expires_at < $1 LIMIT $2)";
const PURGE_AUTH_CODES: &str = "DELETE FROM auth_codes WHERE code_hash IN
     (SELECT code_hash FROM auth_codes WHERE expires_at < $1 LIMIT $2)";
const PURGE_SESSIONS: &str = "DELETE FROM sessions WHERE id_hash IN
     (SELECT id_hash FROM sessions WHERE expires_at < $1 LIMIT $2)";
/// ON DELETE CASCADE takes the family's refresh tokens along.
const PURGE_FAMILIES: &str = "DELETE FROM token_families WHERE id IN
     (SELECT id FROM token_families WHERE expires_at < $1 LIMIT $2)";

impl PgStore {
    /// Insert `new` as the successor of `old` ([`ROTATE`] or, with `window_ms`,
    /// [`RETRY`] after locking the parent, then [`SUPERSEDE`]). True when it was
    /// inserted.
    async fn insert_successor(
        &self,
        old_hash: &[u8; 32],
        new_hash: &[u8; 32],
        new: &RefreshGrant,
        now_ms: i64,
        window_ms: Option<i64>,
    ) -> Result<bool> {
        let json = serde_json::to_string(new)?;
        let (new_hash, old_hash) = (&new_hash[..], &old_hash[..]);
        let now = now_ms.div_euclid(1000);
        let mut c = self.client().await?;
        let n = match window_ms {
            None => {
                let st = c.prepare_cached(ROTATE).await?;
                c.execute(
                    &st,
                    &[
                        &new_hash,
                        &new.family_id,
                        &json,
                        &now,
                        &new.expires_at,
                        &old_hash,
                        &now_ms,
                    ],
                )
                .await?
            }
            Some(w) => {
                let tx = c.transaction().await?;
                let lock = tx.prepare_cached(LOCK_PARENT).await?;
                if tx.query_opt(&lock, &[&old_hash]).await?.is_none() {
                    return Ok(false);
                }
                let st = tx.prepare_cached(RETRY).await?;
                let n = tx
                    .execute(
                        &st,
                        &[
                            &new_hash,
                            &new.family_id,
                            &json,
                            &now,
                            &new.expires_at,
                            &old_hash,
                            &now_ms,
                            &w,
                        ],
                    )
                    .await?;
                if n == 1 {
                    let st = tx.prepare_cached(SUPERSEDE).await?;
                    tx.execute(&st, &[&old_hash, &new_hash, &now]).await?;
                }
                tx.commit().await?;
                n
            }
        };
        Ok(n == 1)
    }
}

#[async_trait]
impl Flows for PgStore {
    async fn put_interaction(&self, i: &Interaction) -> Result<()> {
        let request = serde_json::to_string(&i.request)?;
        let c = self.client().await?;
        let st = c.prepare_cached(PUT_INTERACTION).await?;
        c.execute(
            &st,
            &[
                &i.id,
                &i.tenant_id,
                &&i.browser_hash[..],
                &i.csrf,
                &request,
                &i.user_id,
                &i.sid,
                &i.expires_at,
            ],
        )
        .await?;
        Ok(())
    }

    async fn interaction(&self, id: &str) -> Result<Option<Interaction>> {
        let c = self.client().await?;
        let st = c.prepare_cached(INTERACTION).await?;
        let Some(r) = c.query_opt(&st, &[&id]).await? else {
            return Ok(None);
        };
        let request: String = r.try_get("request")?;
        Ok(Some(Interaction {
            id: r.try_get("id")?,
            tenant_id: r.try_get("tenant_id")?,
            browser_hash: hash32(r.try_get("browser_hash")?)?,
            csrf: r.try_get("csrf")?,
            request: serde_json::from_str(&request)?,
            user_id: r.try_get("user_id")?,
            sid: r.try_get("sid")?,
            expires_at: r.try_get("expires_at")?,
            mfa_user_id: r.try_get("mfa_user_id")?,
            enroll_sealed: r.try_get("enroll_sealed")?,
            second_factor_at: r.try_get("second_factor_at")?,
        }))
    }

    async fn set_interaction_user(&self, id: &str, user_id: &str, sid: &str) -> Result<()> {
        let c = self.client().await?;
        let st = c.prepare_cached(SET_INTERACTION_USER).await?;
        c.execute(&st, &[&user_id, &sid, &id]).await?;
        Ok(())
    }

    async fn set_interaction_mfa(
        &self,
        id: &str,
        user_id: &str,
        enroll_sealed: Option<&[u8]>,
        second_factor_at: Option<i64>,
    ) -> Result<()> {
        let c = self.client().await?;
        let st = c.prepare_cached(SET_INTERACTION_MFA).await?;
        c.execute(&st, &[&user_id, &enroll_sealed, &second_factor_at, &id])
            .await?;
        Ok(())
    }

    async fn delete_interaction(&self, id: &str) -> Result<()> {
        let c = self.client().await?;
        let st = c.prepare_cached(DELETE_INTERACTION).await?;
        c.execute(&st, &[&id]).await?;
        Ok(())
    }

    async fn put_session(&self, cookie_hash: &[u8; 32], s: &Session) -> Result<()> {
        let amr = serde_json::to_string(&s.amr)?;
        let c = self.client().await?;
        let st = c.prepare_cached(PUT_SESSION).await?;
        c.execute(
            &st,
            &[
                &&cookie_hash[..],
                &s.sid,
                &s.tenant_id,
                &s.user_id,
                &s.auth_time,
                &amr,
                &s.expires_at,
            ],
        )
        .await?;
        Ok(())
    }

    async fn session(&self, cookie_hash: &[u8; 32]) -> Result<Option<SessionRecord>> {
        let c = self.client().await?;
        let st = c.prepare_cached(SESSION).await?;
        let Some(r) = c.query_opt(&st, &[&&cookie_hash[..]]).await? else {
            return Ok(None);
        };
        let amr: String = r.try_get("amr")?;
        Ok(Some(SessionRecord {
            session: Session {
                sid: r.try_get("sid")?,
                tenant_id: r.try_get("tenant_id")?,
                user_id: r.try_get("user_id")?,
                auth_time: r.try_get("auth_time")?,
                amr: serde_json::from_str(&amr)?,
                expires_at: r.try_get("expires_at")?,
            },
            revoked_at: r.try_get("revoked_at")?,
        }))
    }

    async fn end_session(&self, sid: &str, now: i64) -> Result<()> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let st = tx.prepare_cached(END_SESSION).await?;
        tx.execute(&st, &[&now, &sid]).await?;
        let st = tx.prepare_cached(END_SESSION_FAMILIES).await?;
        tx.execute(&st, &[&now, &sid]).await?;
        self.notify_revoked(&tx).await?;
        tx.commit().await?;
        self.revoked();
        Ok(())
    }

    async fn revoke_user(&self, tenant_id: &str, user_id: &str, now: i64) -> Result<()> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let st = tx.prepare_cached(REVOKE_USER).await?;
        if tx.execute(&st, &[&now, &tenant_id, &user_id]).await? == 0 {
            // Dropping the transaction rolls it back.
            return Err(StoreError::NotFound(format!("user '{user_id}'")));
        }
        let st = tx.prepare_cached(REVOKE_USER_SESSIONS).await?;
        tx.execute(&st, &[&now, &user_id]).await?;
        let st = tx.prepare_cached(REVOKE_USER_FAMILIES).await?;
        tx.execute(&st, &[&now, &user_id]).await?;
        self.notify_revoked(&tx).await?;
        tx.commit().await?;
        self.revoked();
        Ok(())
    }

    async fn user_by_id(&self, tenant_id: &str, user_id: &str) -> Result<Option<User>> {
        self.user_where(UserKey::Id, tenant_id, user_id).await
    }

    async fn consent(
        &self,
        tenant_id: &str,
        user_id: &str,
        client_id: &str,
    ) -> Result<Vec<String>> {
        let c = self.client().await?;
        let st = c.prepare_cached(CONSENT).await?;
        match c
            .query_opt(&st, &[&tenant_id, &user_id, &client_id])
            .await?
        {
            Some(r) => Ok(serde_json::from_str(&r.try_get::<_, String>(0)?)?),
            None => Ok(vec![]),
        }
    }

    async fn add_consent(
        &self,
        tenant_id: &str,
        user_id: &str,
        client_id: &str,
        scopes: &[String],
    ) -> Result<()> {
        // Read (under the row's lock) and write in one transaction, so two consents at
        // once both count.
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let st = tx.prepare_cached(LOCK_CONSENT).await?;
        let row = tx
            .query_one(&st, &[&tenant_id, &user_id, &client_id])
            .await?;
        let mut all: Vec<String> = serde_json::from_str(&row.try_get::<_, String>(0)?)?;
        all.extend(scopes.iter().cloned());
        all.sort();
        all.dedup();
        let json = serde_json::to_string(&all)?;
        let st = tx.prepare_cached(SET_CONSENT).await?;
        tx.execute(&st, &[&tenant_id, &user_id, &client_id, &json])
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn set_admin_consent(
        &self,
        tenant_id: &str,
        client_id: &str,
        consented: bool,
    ) -> Result<()> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let st = tx.prepare_cached(SET_ADMIN_CONSENT).await?;
        if tx
            .execute(&st, &[&consented, &tenant_id, &client_id])
            .await?
            == 0
        {
            return Err(StoreError::NotFound(format!("application '{client_id}'")));
        }
        // The application's consent is part of the tenant's cached view.
        self.notify_tenant(&tx, tenant_id).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn put_code(&self, code_hash: &[u8; 32], grant: &CodeGrant) -> Result<()> {
        let json = serde_json::to_string(grant)?;
        let c = self.client().await?;
        let st = c.prepare_cached(PUT_CODE).await?;
        c.execute(&st, &[&&code_hash[..], &json, &grant.expires_at])
            .await?;
        Ok(())
    }

    async fn take_code(&self, code_hash: &[u8; 32], now: i64) -> Result<CodeTake> {
        // The winner's UPDATE returns the grant. A loser (its UPDATE waited for the
        // winner's row lock, then found used_at set) reads the row as committed: what
        // SQLite's transaction would have read had it run just then (used_at never
        // returns to NULL, so its UPDATE would have changed nothing either).
        let h = &code_hash[..];
        let c = self.client().await?;
        let st = c.prepare_cached(TAKE_CODE).await?;
        if let Some(r) = c.query_opt(&st, &[&now, &h]).await? {
            return Ok(CodeTake::Fresh(grant(&r)?));
        }
        let st = c.prepare_cached(USED_CODE).await?;
        let Some(r) = c.query_opt(&st, &[&h]).await? else {
            return Ok(CodeTake::Missing);
        };
        let jti: Option<String> = r.try_get("access_jti")?;
        let exp: Option<i64> = r.try_get("access_exp")?;
        Ok(CodeTake::Reused {
            grant: grant(&r)?,
            family_id: r.try_get("family_id")?,
            access: jti.zip(exp),
        })
    }

    async fn link_code(
        &self,
        code_hash: &[u8; 32],
        family_id: Option<&str>,
        access_jti: &str,
        access_exp: i64,
    ) -> Result<()> {
        let c = self.client().await?;
        let st = c.prepare_cached(LINK_CODE).await?;
        c.execute(
            &st,
            &[&family_id, &access_jti, &access_exp, &&code_hash[..]],
        )
        .await?;
        Ok(())
    }

    async fn put_refresh(&self, token_hash: &[u8; 32], g: &RefreshGrant, now: i64) -> Result<()> {
        let json = serde_json::to_string(g)?;
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let st = tx.prepare_cached(PUT_FAMILY).await?;
        tx.execute(
            &st,
            &[
                &g.family_id,
                &g.tenant_id,
                &g.user_id,
                &g.client_id,
                &g.sid,
                &now,
                &g.family_expires_at,
            ],
        )
        .await?;
        let st = tx.prepare_cached(PUT_FIRST_TOKEN).await?;
        tx.execute(
            &st,
            &[
                &&token_hash[..],
                &g.family_id,
                &json,
                &g.issued_at,
                &g.expires_at,
            ],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn refresh(&self, token_hash: &[u8; 32]) -> Result<Option<RefreshRecord>> {
        let c = self.client().await?;
        let st = c.prepare_cached(REFRESH).await?;
        match c.query_opt(&st, &[&&token_hash[..]]).await? {
            Some(r) => Ok(Some(refresh_record(&r)?)),
            None => Ok(None),
        }
    }

    async fn refresh_claim(
        &self,
        token_hash: &[u8; 32],
        claim: Option<&RefreshClaim<'_>>,
    ) -> Result<Option<(RefreshRecord, bool)>> {
        let Some(claim) = claim else {
            return Ok(self.refresh(token_hash).await?.map(|r| (r, false)));
        };
        let now_ms = claim.now_ms;
        let now = now_ms.div_euclid(1000);
        let c = self.client().await?;
        let st = c.prepare_cached(REFRESH_CLAIM).await?;
        let row = c
            .query_opt(
                &st,
                &[
                    &&token_hash[..],
                    &&claim.new_hash[..],
                    &claim.tenant_id,
                    &claim.client_id,
                    &now,
                    &now_ms,
                    &claim.inactivity,
                ],
            )
            .await?;
        match row {
            Some(r) => Ok(Some((refresh_record(&r)?, r.try_get("claimed")?))),
            None => Ok(None),
        }
    }

    async fn unclaim_refresh(
        &self,
        old_hash: &[u8; 32],
        new_hash: &[u8; 32],
        used_at_ms: i64,
    ) -> Result<bool> {
        let (old_hash, new_hash) = (&old_hash[..], &new_hash[..]);
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let lock = tx.prepare_cached(LOCK_PARENT).await?;
        if tx.query_opt(&lock, &[&old_hash]).await?.is_none() {
            return Ok(false);
        }
        let st = tx.prepare_cached(UNCLAIM).await?;
        let n = tx
            .execute(&st, &[&old_hash, &new_hash, &used_at_ms])
            .await?;
        tx.commit().await?;
        Ok(n == 1)
    }

    async fn rotate_refresh(
        &self,
        old_hash: &[u8; 32],
        new_hash: &[u8; 32],
        new: &RefreshGrant,
        now_ms: i64,
    ) -> Result<bool> {
        // One statement: the old one is marked used at `now` (the new token's
        // issued_at) only while it is unused (its row locked meanwhile), and the new
        // one inserted only then. The row count is the INSERT's own, so 1 means this
        // request won.
        self.insert_successor(old_hash, new_hash, new, now_ms, None)
            .await
    }

    async fn retry_refresh(
        &self,
        old_hash: &[u8; 32],
        new_hash: &[u8; 32],
        new: &RefreshGrant,
        now_ms: i64,
        window_ms: i64,
    ) -> Result<bool> {
        // Inserted only while `old` is within its window, not superseded, and has no
        // used successor; `old` keeps its first use, and the successors issued before
        // this one are superseded.
        self.insert_successor(old_hash, new_hash, new, now_ms, Some(window_ms))
            .await
    }

    async fn purge_expired(&self, now: i64, keep_grants_secs: i64, batch: u32) -> Result<u64> {
        let grants_before = now.saturating_sub(keep_grants_secs);
        let plan: [(&str, i64); 6] = [
            (PURGE_INTERACTIONS, now),
            (PURGE_DEVICE_CODES, now),
            (PURGE_REVOKED_TOKENS, now),
            (PURGE_AUTH_CODES, now - 3600),
            (PURGE_SESSIONS, grants_before),
            (PURGE_FAMILIES, grants_before),
        ];
        let batch = i64::from(batch);
        let c = self.client().await?;
        let mut total = 0u64;
        for (sql, before) in plan {
            // One short statement per table, each its own transaction.
            let st = c.prepare_cached(sql).await?;
            total += c.execute(&st, &[&before, &batch]).await?;
        }
        Ok(total)
    }

    async fn grant_revocation(
        &self,
        sid: &str,
        client_id: &str,
        iat: i64,
    ) -> Result<Option<GrantRevocation>> {
        let c = self.client().await?;
        let st = c.prepare_cached(SESSION_ENDED).await?;
        if let Some(r) = c.query_opt(&st, &[&sid]).await? {
            return Ok(Some(GrantRevocation::SessionEnded { at: r.try_get(0)? }));
        }
        let st = c.prepare_cached(FAMILY_REVOKED).await?;
        match c.query_opt(&st, &[&sid, &client_id, &iat]).await? {
            Some(r) => Ok(Some(GrantRevocation::FamilyRevoked {
                at: r.try_get(0)?,
                reason: r.try_get(1)?,
            })),
            None => Ok(None),
        }
    }

    async fn revoke_family(&self, family_id: &str, reason: &str, now: i64) -> Result<()> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let st = tx.prepare_cached(REVOKE_FAMILY).await?;
        tx.execute(&st, &[&now, &reason, &family_id]).await?;
        self.notify_revoked(&tx).await?;
        tx.commit().await?;
        self.revoked();
        Ok(())
    }

    async fn put_device(&self, device_hash: &[u8; 32], g: &DeviceGrant) -> Result<()> {
        let json = serde_json::to_string(g)?;
        let c = self.client().await?;
        let st = c.prepare_cached(PUT_DEVICE).await?;
        c.execute(
            &st,
            &[
                &&device_hash[..],
                &g.user_code,
                &g.status,
                &json,
                &g.expires_at,
            ],
        )
        .await?;
        Ok(())
    }

    async fn device(&self, device_hash: &[u8; 32]) -> Result<Option<DeviceGrant>> {
        let c = self.client().await?;
        let st = c.prepare_cached(DEVICE).await?;
        match c.query_opt(&st, &[&&device_hash[..]]).await? {
            Some(r) => Ok(Some(grant(&r)?)),
            None => Ok(None),
        }
    }

    async fn device_by_user_code(&self, user_code: &str) -> Result<Option<DeviceGrant>> {
        let c = self.client().await?;
        let st = c.prepare_cached(DEVICE_BY_USER_CODE).await?;
        match c.query_opt(&st, &[&user_code]).await? {
            Some(r) => Ok(Some(grant(&r)?)),
            None => Ok(None),
        }
    }

    async fn update_device(
        &self,
        user_code: &str,
        expect_status: &str,
        g: &DeviceGrant,
    ) -> Result<bool> {
        let json = serde_json::to_string(g)?;
        let c = self.client().await?;
        let st = c.prepare_cached(UPDATE_DEVICE).await?;
        let n = c
            .execute(&st, &[&g.status, &json, &user_code, &expect_status])
            .await?;
        Ok(n == 1)
    }

    fn revocation_epoch(&self) -> u64 {
        self.epoch()
    }

    async fn access_token_status(
        &self,
        jti: &str,
        user: Option<TokenUser<'_>>,
    ) -> Result<AccessTokenStatus> {
        let c = self.client().await?;
        let Some(u) = user else {
            let st = c.prepare_cached(JTI_REVOKED).await?;
            let revoked: bool = c.query_one(&st, &[&jti]).await?.try_get(0)?;
            return Ok(AccessTokenStatus {
                jti_revoked: revoked,
                user: None,
                grant_revoked: false,
            });
        };
        let st = c.prepare_cached(ACCESS_TOKEN_STATUS).await?;
        let Some(r) = c
            .query_opt(
                &st,
                &[&jti, &u.sid, &u.client_id, &u.iat, &u.tenant_id, &u.user_id],
            )
            .await?
        else {
            return Ok(AccessTokenStatus::default());
        };
        let enabled: Option<bool> = r.try_get("account_enabled")?;
        let user = match enabled {
            Some(e) => Some((
                e,
                r.try_get::<_, i64>("tokens_valid_from")?,
                r.try_get::<_, String>("user_principal_name")?,
            )),
            None => None,
        };
        Ok(AccessTokenStatus {
            jti_revoked: r.try_get("jti_revoked")?,
            user,
            grant_revoked: r.try_get("grant_revoked")?,
        })
    }

    async fn revoke_jti(&self, tenant_id: &str, jti: &str, expires_at: i64) -> Result<()> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let st = tx.prepare_cached(REVOKE_JTI).await?;
        tx.execute(&st, &[&jti, &tenant_id, &expires_at]).await?;
        self.notify_revoked(&tx).await?;
        tx.commit().await?;
        self.revoked();
        Ok(())
    }
}
