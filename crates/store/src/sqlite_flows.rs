//! [`Flows`] on SQLite.

use crate::flows::{
    AccessTokenStatus, CodeTake, Flows, Interaction, RefreshRecord, SessionRecord, TokenUser,
};
use crate::{Result, SqliteStore, StoreError};
use async_trait::async_trait;
use portvakt_core::flow::{CodeGrant, DeviceGrant, RefreshGrant, Session};
use portvakt_core::model::User;
use sqlx::Row;

fn hash32(v: Vec<u8>) -> Result<[u8; 32]> {
    <[u8; 32]>::try_from(v.as_slice())
        .map_err(|_| StoreError::Corrupt("hash is not 32 bytes".into()))
}

#[async_trait]
impl Flows for SqliteStore {
    async fn put_interaction(&self, i: &Interaction) -> Result<()> {
        sqlx::query("INSERT INTO interactions (id, tenant_id, browser_hash, csrf, request, user_id, sid, expires_at) VALUES (?,?,?,?,?,?,?,?)")
            .bind(&i.id)
            .bind(&i.tenant_id)
            .bind(i.browser_hash.to_vec())
            .bind(&i.csrf)
            .bind(serde_json::to_string(&i.request)?)
            .bind(&i.user_id)
            .bind(&i.sid)
            .bind(i.expires_at)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    async fn interaction(&self, id: &str) -> Result<Option<Interaction>> {
        let Some(r) = sqlx::query("SELECT * FROM interactions WHERE id = ?")
            .bind(id)
            .fetch_optional(self.pool())
            .await?
        else {
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
        }))
    }

    async fn set_interaction_user(&self, id: &str, user_id: &str, sid: &str) -> Result<()> {
        sqlx::query("UPDATE interactions SET user_id = ?, sid = ? WHERE id = ?")
            .bind(user_id)
            .bind(sid)
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    async fn delete_interaction(&self, id: &str) -> Result<()> {
        sqlx::query("DELETE FROM interactions WHERE id = ?")
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    async fn put_session(&self, cookie_hash: &[u8; 32], s: &Session) -> Result<()> {
        sqlx::query("INSERT INTO sessions (id_hash, sid, tenant_id, user_id, auth_time, amr, expires_at) VALUES (?,?,?,?,?,?,?)")
            .bind(cookie_hash.to_vec())
            .bind(&s.sid)
            .bind(&s.tenant_id)
            .bind(&s.user_id)
            .bind(s.auth_time)
            .bind(serde_json::to_string(&s.amr)?)
            .bind(s.expires_at)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    async fn session(&self, cookie_hash: &[u8; 32]) -> Result<Option<SessionRecord>> {
        let Some(r) = sqlx::query("SELECT * FROM sessions WHERE id_hash = ?")
            .bind(cookie_hash.to_vec())
            .fetch_optional(self.pool())
            .await?
        else {
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
        let mut tx = self.pool().begin().await?;
        sqlx::query("UPDATE sessions SET revoked_at = ? WHERE sid = ? AND revoked_at IS NULL")
            .bind(now)
            .bind(sid)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE token_families SET revoked_at = ?, revoked_reason = 'the user signed out' WHERE sid = ? AND revoked_at IS NULL")
            .bind(now)
            .bind(sid)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn revoke_user(&self, tenant_id: &str, user_id: &str, now: i64) -> Result<()> {
        let mut tx = self.pool().begin().await?;
        let r =
            sqlx::query("UPDATE users SET tokens_valid_from = ? WHERE tenant_id = ? AND id = ?")
                .bind(now)
                .bind(tenant_id)
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("user '{user_id}'")));
        }
        sqlx::query("UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL")
            .bind(now)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE token_families SET revoked_at = ?, revoked_reason = 'an administrator revoked all sessions of the user' WHERE user_id = ? AND revoked_at IS NULL")
            .bind(now)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn user_by_id(&self, tenant_id: &str, user_id: &str) -> Result<Option<User>> {
        self.user_where("id", tenant_id, user_id).await
    }

    async fn consent(
        &self,
        tenant_id: &str,
        user_id: &str,
        client_id: &str,
    ) -> Result<Vec<String>> {
        let s: Option<String> = sqlx::query_scalar(
            "SELECT scopes FROM consents WHERE tenant_id = ? AND user_id = ? AND client_id = ?",
        )
        .bind(tenant_id)
        .bind(user_id)
        .bind(client_id)
        .fetch_optional(self.pool())
        .await?;
        Ok(match s {
            Some(s) => serde_json::from_str(&s)?,
            None => vec![],
        })
    }

    async fn add_consent(
        &self,
        tenant_id: &str,
        user_id: &str,
        client_id: &str,
        scopes: &[String],
    ) -> Result<()> {
        let mut all = self.consent(tenant_id, user_id, client_id).await?;
        all.extend(scopes.iter().cloned());
        all.sort();
        all.dedup();
        sqlx::query("INSERT INTO consents (tenant_id, user_id, client_id, scopes) VALUES (?,?,?,?) ON CONFLICT (tenant_id, user_id, client_id) DO UPDATE SET scopes = excluded.scopes")
            .bind(tenant_id)
            .bind(user_id)
            .bind(client_id)
            .bind(serde_json::to_string(&all)?)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    async fn set_admin_consent(
        &self,
        tenant_id: &str,
        client_id: &str,
        consented: bool,
    ) -> Result<()> {
        let r = sqlx::query(
            "UPDATE applications SET admin_consented = ? WHERE tenant_id = ? AND client_id = ?",
        )
        .bind(consented)
        .bind(tenant_id)
        .bind(client_id)
        .execute(self.pool())
        .await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("application '{client_id}'")));
        }
        Ok(())
    }

    async fn put_code(&self, code_hash: &[u8; 32], grant: &CodeGrant) -> Result<()> {
        sqlx::query("INSERT INTO auth_codes (code_hash, grant_json, expires_at) VALUES (?,?,?)")
            .bind(code_hash.to_vec())
            .bind(serde_json::to_string(grant)?)
            .bind(grant.expires_at)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    async fn take_code(&self, code_hash: &[u8; 32], now: i64) -> Result<CodeTake> {
        let mut tx = self.pool().begin().await?;
        // The conditional update is the single-use guarantee: only one caller can
        // move used_at from NULL.
        let won = sqlx::query(
            "UPDATE auth_codes SET used_at = ? WHERE code_hash = ? AND used_at IS NULL",
        )
        .bind(now)
        .bind(code_hash.to_vec())
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        let row = sqlx::query("SELECT grant_json, family_id, access_jti, access_exp FROM auth_codes WHERE code_hash = ?").bind(code_hash.to_vec()).fetch_optional(&mut *tx).await?;
        tx.commit().await?;
        let Some(r) = row else {
            return Ok(CodeTake::Missing);
        };
        let json: String = r.try_get("grant_json")?;
        let grant: CodeGrant = serde_json::from_str(&json)?;
        if won {
            return Ok(CodeTake::Fresh(grant));
        }
        let jti: Option<String> = r.try_get("access_jti")?;
        let exp: Option<i64> = r.try_get("access_exp")?;
        Ok(CodeTake::Reused {
            grant,
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
        sqlx::query("UPDATE auth_codes SET family_id = ?, access_jti = ?, access_exp = ? WHERE code_hash = ?")
            .bind(family_id)
            .bind(access_jti)
            .bind(access_exp)
            .bind(code_hash.to_vec())
            .execute(self.pool())
            .await?;
        Ok(())
    }

    async fn put_refresh(&self, token_hash: &[u8; 32], g: &RefreshGrant, now: i64) -> Result<()> {
        let mut tx = self.pool().begin().await?;
        sqlx::query("INSERT INTO token_families (id, tenant_id, user_id, client_id, sid, created_at, expires_at) VALUES (?,?,?,?,?,?,?)")
            .bind(&g.family_id)
            .bind(&g.tenant_id)
            .bind(&g.user_id)
            .bind(&g.client_id)
            .bind(&g.sid)
            .bind(now)
            .bind(g.family_expires_at)
            .execute(&mut *tx)
            .await?;
        insert_refresh(&mut tx, token_hash, g).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn refresh(&self, token_hash: &[u8; 32]) -> Result<Option<RefreshRecord>> {
        let Some(r) = sqlx::query("SELECT t.grant_json, t.used_at, f.revoked_at, f.revoked_reason FROM refresh_tokens t JOIN token_families f ON f.id = t.family_id WHERE t.token_hash = ?")
            .bind(token_hash.to_vec())
            .fetch_optional(self.pool())
            .await?
        else {
            return Ok(None);
        };
        let json: String = r.try_get("grant_json")?;
        let revoked_at: Option<i64> = r.try_get("revoked_at")?;
        let reason: Option<String> = r.try_get("revoked_reason")?;
        Ok(Some(RefreshRecord {
            grant: serde_json::from_str(&json)?,
            used_at: r.try_get("used_at")?,
            family_revoked: revoked_at.map(|t| (t, reason.unwrap_or_default())),
        }))
    }

    async fn rotate_refresh(
        &self,
        old_hash: &[u8; 32],
        new_hash: &[u8; 32],
        new: &RefreshGrant,
        now: i64,
    ) -> Result<bool> {
        let mut tx = self.pool().begin().await?;
        let won = sqlx::query(
            "UPDATE refresh_tokens SET used_at = ? WHERE token_hash = ? AND used_at IS NULL",
        )
        .bind(now)
        .bind(old_hash.to_vec())
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if !won {
            return Ok(false);
        }
        insert_refresh(&mut tx, new_hash, new).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn revoke_family(&self, family_id: &str, reason: &str, now: i64) -> Result<()> {
        sqlx::query("UPDATE token_families SET revoked_at = ?, revoked_reason = ? WHERE id = ? AND revoked_at IS NULL").bind(now).bind(reason).bind(family_id).execute(self.pool()).await?;
        Ok(())
    }

    async fn put_device(&self, device_hash: &[u8; 32], g: &DeviceGrant) -> Result<()> {
        sqlx::query("INSERT INTO device_codes (device_hash, user_code, status, grant_json, expires_at) VALUES (?,?,?,?,?)")
            .bind(device_hash.to_vec())
            .bind(&g.user_code)
            .bind(&g.status)
            .bind(serde_json::to_string(g)?)
            .bind(g.expires_at)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    async fn device(&self, device_hash: &[u8; 32]) -> Result<Option<DeviceGrant>> {
        let json: Option<String> =
            sqlx::query_scalar("SELECT grant_json FROM device_codes WHERE device_hash = ?")
                .bind(device_hash.to_vec())
                .fetch_optional(self.pool())
                .await?;
        json.map(|j| serde_json::from_str(&j).map_err(StoreError::from))
            .transpose()
    }

    async fn device_by_user_code(&self, user_code: &str) -> Result<Option<DeviceGrant>> {
        let json: Option<String> =
            sqlx::query_scalar("SELECT grant_json FROM device_codes WHERE user_code = ?")
                .bind(user_code)
                .fetch_optional(self.pool())
                .await?;
        json.map(|j| serde_json::from_str(&j).map_err(StoreError::from))
            .transpose()
    }

    async fn update_device(
        &self,
        user_code: &str,
        expect_status: &str,
        g: &DeviceGrant,
    ) -> Result<bool> {
        let r = sqlx::query(
            "UPDATE device_codes SET status = ?, grant_json = ? WHERE user_code = ? AND status = ?",
        )
        .bind(&g.status)
        .bind(serde_json::to_string(g)?)
        .bind(user_code)
        .bind(expect_status)
        .execute(self.pool())
        .await?;
        Ok(r.rows_affected() == 1)
    }

    async fn access_token_status(
        &self,
        jti: &str,
        user: Option<TokenUser<'_>>,
    ) -> Result<AccessTokenStatus> {
        let Some(u) = user else {
            let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM revoked_tokens WHERE jti = ?")
                .bind(jti)
                .fetch_one(self.pool())
                .await?;
            return Ok(AccessTokenStatus {
                jti_revoked: n > 0,
                user: None,
                grant_revoked: false,
            });
        };
        let r = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM revoked_tokens WHERE jti = ?) AS jti_revoked,
                    u.account_enabled, u.tokens_valid_from, u.user_principal_name,
                    (SELECT COUNT(*) FROM sessions WHERE sid = ? AND revoked_at IS NOT NULL)
                  + (SELECT COUNT(*) FROM token_families WHERE sid = ? AND client_id = ? AND revoked_at IS NOT NULL AND revoked_at >= ?) AS grant_revoked
             FROM (SELECT 1) LEFT JOIN users u ON u.tenant_id = ? AND u.id = ?",
        )
        .bind(jti)
        .bind(u.sid)
        .bind(u.sid)
        .bind(u.client_id)
        .bind(u.iat)
        .bind(u.tenant_id)
        .bind(u.user_id)
        .fetch_one(self.pool())
        .await?;
        let enabled: Option<bool> = r.try_get("account_enabled")?;
        let user = match enabled {
            Some(e) => Some((
                e,
                r.try_get::<i64, _>("tokens_valid_from")?,
                r.try_get::<String, _>("user_principal_name")?,
            )),
            None => None,
        };
        Ok(AccessTokenStatus {
            jti_revoked: r.try_get::<i64, _>("jti_revoked")? > 0,
            user,
            grant_revoked: r.try_get::<i64, _>("grant_revoked")? > 0,
        })
    }

    async fn revoke_jti(&self, tenant_id: &str, jti: &str, expires_at: i64) -> Result<()> {
        sqlx::query("INSERT INTO revoked_tokens (jti, tenant_id, expires_at) VALUES (?,?,?) ON CONFLICT (jti) DO NOTHING").bind(jti).bind(tenant_id).bind(expires_at).execute(self.pool()).await?;
        Ok(())
    }
}

async fn insert_refresh(
    c: &mut sqlx::SqliteConnection,
    token_hash: &[u8; 32],
    g: &RefreshGrant,
) -> Result<()> {
    sqlx::query("INSERT INTO refresh_tokens (token_hash, family_id, grant_json, issued_at, expires_at) VALUES (?,?,?,?,?)")
        .bind(token_hash.to_vec())
        .bind(&g.family_id)
        .bind(serde_json::to_string(g)?)
        .bind(g.issued_at)
        .bind(g.expires_at)
        .execute(&mut *c)
        .await?;
    Ok(())
}
