//! [`Flows`] on SQLite.

use crate::conns::{exec, one};
use crate::flows::{
    AccessTokenStatus, CodeTake, Flows, GrantRevocation, Interaction, RefreshRecord, SessionRecord,
    TokenUser,
};
use crate::sqlite::{user_columns, user_from_row, UserKey};
use crate::{Result, SqliteStore, StoreError};
use async_trait::async_trait;
use portvakt_core::flow::{CodeGrant, DeviceGrant, RefreshGrant, Session};
use portvakt_core::model::User;
use rusqlite::{params, Connection, Row};

fn hash32(v: Vec<u8>) -> Result<[u8; 32]> {
    <[u8; 32]>::try_from(v.as_slice())
        .map_err(|_| StoreError::Corrupt("hash is not 32 bytes".into()))
}

/// A `grant_json` column, decoded.
fn grant<T: serde::de::DeserializeOwned>(r: &Row<'_>) -> Result<T> {
    let json: String = r.get("grant_json")?;
    Ok(serde_json::from_str(&json)?)
}

/// The start of both statements that store a successor refresh token.
macro_rules! insert_successor {
    () => {
        "INSERT INTO refresh_tokens (token_hash, family_id, grant_json, issued_at, expires_at, parent_hash, issued_at_ms)
         SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7 "
    };
}

/// A rotation: only while the parent is unused.
const ROTATE: &str = concat!(
    insert_successor!(),
    "WHERE EXISTS (SELECT 1 FROM refresh_tokens WHERE token_hash = ?6 AND used_at IS NULL)"
);

/// A retry: the parent used within the window, not superseded, no successor used.
const RETRY: &str = concat!(
    insert_successor!(),
    "WHERE EXISTS (SELECT 1 FROM refresh_tokens p WHERE p.token_hash = ?6 AND p.superseded_at IS NULL
                     AND COALESCE(p.used_at_ms, p.used_at * 1000) IS NOT NULL
                     AND ?7 - COALESCE(p.used_at_ms, p.used_at * 1000) < ?8)
       AND NOT EXISTS (SELECT 1 FROM refresh_tokens s WHERE s.parent_hash = ?6 AND s.used_at IS NOT NULL)"
);

/// Undoing a claim ([`Flows::unclaim_refresh`]): the successor ?1, never used, of ?2
/// used at ?3 ms (by the claim).
const UNCLAIM_SUCCESSOR: &str =
    "DELETE FROM refresh_tokens WHERE token_hash = ?1 AND parent_hash = ?2 AND used_at IS NULL
        AND EXISTS (SELECT 1 FROM refresh_tokens p WHERE p.token_hash = ?2 AND p.used_at_ms = ?3)";
/// Then the parent ?1, used at ?2 ms by the claim, unused again if it has no other
/// successor.
const UNCLAIM_PARENT: &str = "UPDATE refresh_tokens SET used_at = NULL, used_at_ms = NULL
      WHERE token_hash = ?1 AND used_at_ms = ?2
        AND NOT EXISTS (SELECT 1 FROM refresh_tokens s WHERE s.parent_hash = ?1)";

impl SqliteStore {
    /// Insert `new` as the successor of `old` with `sql` (an `INSERT_SUCCESSOR`
    /// statement: parameters ?6 = old hash, ?7 = now in ms, ?8 = `window_ms`), in the
    /// next group commit. True when it was inserted.
    async fn insert_successor(
        &self,
        old_hash: &[u8; 32],
        new_hash: &[u8; 32],
        new: &RefreshGrant,
        now_ms: i64,
        sql: &'static str,
        window_ms: Option<i64>,
    ) -> Result<bool> {
        let json = serde_json::to_string(new)?;
        let (new_hash, old_hash) = (new_hash.to_vec(), old_hash.to_vec());
        let (family_id, expires_at) = (new.family_id.clone(), new.expires_at);
        let now = now_ms.div_euclid(1000);
        let n = self
            .write_grouped(move |c| match window_ms {
                Some(w) => exec(
                    c,
                    sql,
                    params![new_hash, family_id, json, now, expires_at, old_hash, now_ms, w],
                ),
                None => exec(
                    c,
                    sql,
                    params![new_hash, family_id, json, now, expires_at, old_hash, now_ms],
                ),
            })
            .await?;
        Ok(n == 1)
    }
}

#[async_trait]
impl Flows for SqliteStore {
    async fn put_interaction(&self, i: &Interaction) -> Result<()> {
        let request = serde_json::to_string(&i.request)?;
        self.write(|c| exec(c, "INSERT INTO interactions (id, tenant_id, browser_hash, csrf, request, user_id, sid, expires_at) VALUES (?,?,?,?,?,?,?,?)",
            params![i.id, i.tenant_id, i.browser_hash.to_vec(), i.csrf, request, i.user_id, i.sid, i.expires_at]))?;
        Ok(())
    }

    async fn interaction(&self, id: &str) -> Result<Option<Interaction>> {
        self.read(|c| {
            one(c, "SELECT * FROM interactions WHERE id = ?", [id], |r| {
                let request: String = r.get("request")?;
                Ok(Interaction {
                    id: r.get("id")?,
                    tenant_id: r.get("tenant_id")?,
                    browser_hash: hash32(r.get("browser_hash")?)?,
                    csrf: r.get("csrf")?,
                    request: serde_json::from_str(&request)?,
                    user_id: r.get("user_id")?,
                    sid: r.get("sid")?,
                    expires_at: r.get("expires_at")?,
                    mfa_user_id: r.get("mfa_user_id")?,
                    enroll_sealed: r.get("enroll_sealed")?,
                    second_factor_at: r.get("second_factor_at")?,
                })
            })
        })
    }

    async fn set_interaction_user(&self, id: &str, user_id: &str, sid: &str) -> Result<()> {
        self.write(|c| {
            exec(
                c,
                "UPDATE interactions SET user_id = ?, sid = ? WHERE id = ?",
                params![user_id, sid, id],
            )
        })?;
        Ok(())
    }

    async fn set_interaction_mfa(
        &self,
        id: &str,
        user_id: &str,
        enroll_sealed: Option<&[u8]>,
        second_factor_at: Option<i64>,
    ) -> Result<()> {
        self.write(|c| {
            exec(
                c,
                "UPDATE interactions SET mfa_user_id = ?, enroll_sealed = ?, second_factor_at = ? WHERE id = ?",
                params![user_id, enroll_sealed, second_factor_at, id],
            )
        })?;
        Ok(())
    }

    async fn delete_interaction(&self, id: &str) -> Result<()> {
        self.write(|c| exec(c, "DELETE FROM interactions WHERE id = ?", [id]))?;
        Ok(())
    }

    async fn put_session(&self, cookie_hash: &[u8; 32], s: &Session) -> Result<()> {
        let amr = serde_json::to_string(&s.amr)?;
        self.write(|c| exec(c, "INSERT INTO sessions (id_hash, sid, tenant_id, user_id, auth_time, amr, expires_at) VALUES (?,?,?,?,?,?,?)",
            params![cookie_hash.to_vec(), s.sid, s.tenant_id, s.user_id, s.auth_time, amr, s.expires_at]))?;
        Ok(())
    }

    async fn session(&self, cookie_hash: &[u8; 32]) -> Result<Option<SessionRecord>> {
        self.read(|c| {
            one(
                c,
                "SELECT * FROM sessions WHERE id_hash = ?",
                [cookie_hash.to_vec()],
                |r| {
                    let amr: String = r.get("amr")?;
                    Ok(SessionRecord {
                        session: Session {
                            sid: r.get("sid")?,
                            tenant_id: r.get("tenant_id")?,
                            user_id: r.get("user_id")?,
                            auth_time: r.get("auth_time")?,
                            amr: serde_json::from_str(&amr)?,
                            expires_at: r.get("expires_at")?,
                        },
                        revoked_at: r.get("revoked_at")?,
                    })
                },
            )
        })
    }

    async fn end_session(&self, sid: &str, now: i64) -> Result<()> {
        self.transaction(|tx| {
            exec(
                tx,
                "UPDATE sessions SET revoked_at = ? WHERE sid = ? AND revoked_at IS NULL",
                params![now, sid],
            )?;
            exec(tx, "UPDATE token_families SET revoked_at = ?, revoked_reason = 'the user signed out' WHERE sid = ? AND revoked_at IS NULL",
                params![now, sid])?;
            Ok(())
        })?;
        self.revoked();
        Ok(())
    }

    async fn revoke_user(&self, tenant_id: &str, user_id: &str, now: i64) -> Result<()> {
        self.transaction(|tx| {
            let n = exec(
                tx,
                "UPDATE users SET tokens_valid_from = ? WHERE tenant_id = ? AND id = ?",
                params![now, tenant_id, user_id],
            )?;
            if n == 0 {
                return Err(StoreError::NotFound(format!("user '{user_id}'")));
            }
            exec(
                tx,
                "UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL",
                params![now, user_id],
            )?;
            exec(tx, "UPDATE token_families SET revoked_at = ?, revoked_reason = 'an administrator revoked all sessions of the user' WHERE user_id = ? AND revoked_at IS NULL",
                params![now, user_id])?;
            Ok(())
        })?;
        self.revoked();
        Ok(())
    }

    async fn user_by_id(&self, tenant_id: &str, user_id: &str) -> Result<Option<User>> {
        self.user_where(UserKey::Id, tenant_id, user_id)
    }

    async fn consent(
        &self,
        tenant_id: &str,
        user_id: &str,
        client_id: &str,
    ) -> Result<Vec<String>> {
        self.read(|c| consent_in(c, tenant_id, user_id, client_id))
    }

    async fn add_consent(
        &self,
        tenant_id: &str,
        user_id: &str,
        client_id: &str,
        scopes: &[String],
    ) -> Result<()> {
        // Read and write in one transaction, so two consents at once both count.
        self.transaction(|tx| {
            let mut all = consent_in(tx, tenant_id, user_id, client_id)?;
            all.extend(scopes.iter().cloned());
            all.sort();
            all.dedup();
            exec(tx, "INSERT INTO consents (tenant_id, user_id, client_id, scopes) VALUES (?,?,?,?) ON CONFLICT (tenant_id, user_id, client_id) DO UPDATE SET scopes = excluded.scopes",
                params![tenant_id, user_id, client_id, serde_json::to_string(&all)?])?;
            Ok(())
        })
    }

    async fn set_admin_consent(
        &self,
        tenant_id: &str,
        client_id: &str,
        consented: bool,
    ) -> Result<()> {
        let n = self.write(|c| {
            exec(
                c,
                "UPDATE applications SET admin_consented = ? WHERE tenant_id = ? AND client_id = ?",
                params![consented, tenant_id, client_id],
            )
        })?;
        if n == 0 {
            return Err(StoreError::NotFound(format!("application '{client_id}'")));
        }
        Ok(())
    }

    async fn put_code(&self, code_hash: &[u8; 32], grant: &CodeGrant) -> Result<()> {
        let json = serde_json::to_string(grant)?;
        self.write(|c| {
            exec(
                c,
                "INSERT INTO auth_codes (code_hash, grant_json, expires_at) VALUES (?,?,?)",
                params![code_hash.to_vec(), json, grant.expires_at],
            )
        })?;
        Ok(())
    }

    async fn take_code(&self, code_hash: &[u8; 32], now: i64) -> Result<CodeTake> {
        self.transaction(|tx| {
            // The conditional update is the single-use guarantee: only one caller can
            // move used_at from NULL.
            let won = exec(
                tx,
                "UPDATE auth_codes SET used_at = ? WHERE code_hash = ? AND used_at IS NULL",
                params![now, code_hash.to_vec()],
            )? == 1;
            let take = one(tx, "SELECT grant_json, family_id, access_jti, access_exp FROM auth_codes WHERE code_hash = ?",
                [code_hash.to_vec()], |r| {
                    let grant: CodeGrant = grant(r)?;
                    if won {
                        return Ok(CodeTake::Fresh(grant));
                    }
                    let jti: Option<String> = r.get("access_jti")?;
                    let exp: Option<i64> = r.get("access_exp")?;
                    Ok(CodeTake::Reused {
                        grant,
                        family_id: r.get("family_id")?,
                        access: jti.zip(exp),
                    })
                })?;
            Ok(take.unwrap_or(CodeTake::Missing))
        })
    }

    async fn link_code(
        &self,
        code_hash: &[u8; 32],
        family_id: Option<&str>,
        access_jti: &str,
        access_exp: i64,
    ) -> Result<()> {
        self.write(|c| exec(c, "UPDATE auth_codes SET family_id = ?, access_jti = ?, access_exp = ? WHERE code_hash = ?",
            params![family_id, access_jti, access_exp, code_hash.to_vec()]))?;
        Ok(())
    }

    async fn put_refresh(&self, token_hash: &[u8; 32], g: &RefreshGrant, now: i64) -> Result<()> {
        let json = serde_json::to_string(g)?;
        self.transaction(|tx| {
            exec(tx, "INSERT INTO token_families (id, tenant_id, user_id, client_id, sid, created_at, expires_at) VALUES (?,?,?,?,?,?,?)",
                params![g.family_id, g.tenant_id, g.user_id, g.client_id, g.sid, now, g.family_expires_at])?;
            exec(tx, "INSERT INTO refresh_tokens (token_hash, family_id, grant_json, issued_at, expires_at) VALUES (?,?,?,?,?)",
                params![token_hash.to_vec(), g.family_id, json, g.issued_at, g.expires_at])?;
            Ok(())
        })
    }

    async fn refresh(&self, token_hash: &[u8; 32]) -> Result<Option<RefreshRecord>> {
        // The token, its family and its user in one statement.
        const SQL: &str = concat!(
            "SELECT t.grant_json, t.used_at, t.used_at_ms, t.superseded_at, f.revoked_at, f.revoked_reason, ",
            user_columns!(),
            " FROM refresh_tokens t JOIN token_families f ON f.id = t.family_id
              LEFT JOIN users u ON u.tenant_id = f.tenant_id AND u.id = f.user_id
              WHERE t.token_hash = ?"
        );
        self.read(|c| {
            one(c, SQL, [token_hash.to_vec()], |r| {
                let revoked_at: Option<i64> = r.get("revoked_at")?;
                let reason: Option<String> = r.get("revoked_reason")?;
                Ok(RefreshRecord {
                    grant: grant(r)?,
                    used_at: r.get("used_at")?,
                    used_at_ms: r
                        .get::<_, Option<i64>>("used_at_ms")?
                        .or(r.get::<_, Option<i64>>("used_at")?.map(|t| t * 1000)),
                    superseded_at: r.get("superseded_at")?,
                    family_revoked: revoked_at.map(|t| (t, reason.unwrap_or_default())),
                    user: user_from_row(r)?,
                })
            })
        })
    }

    async fn rotate_refresh(
        &self,
        old_hash: &[u8; 32],
        new_hash: &[u8; 32],
        new: &RefreshGrant,
        now_ms: i64,
    ) -> Result<bool> {
        // One statement (migrations 0004, 0005): the new token is inserted only while
        // the old one is unused, and its trigger marks the old one used at `now` (the
        // new token's issued_at). The row count is the INSERT's own (SQLite does not
        // count trigger rows), so 1 means this request won.
        self.insert_successor(old_hash, new_hash, new, now_ms, ROTATE, None)
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
        // One statement, like a rotation: inserted only while `old` is within its
        // window, not superseded, and has no used successor; the trigger (0005) keeps
        // `old`'s first use and supersedes the successors issued before this one.
        self.insert_successor(old_hash, new_hash, new, now_ms, RETRY, Some(window_ms))
            .await
    }

    async fn unclaim_refresh(
        &self,
        old_hash: &[u8; 32],
        new_hash: &[u8; 32],
        used_at_ms: i64,
    ) -> Result<bool> {
        let (old_hash, new_hash) = (old_hash.to_vec(), new_hash.to_vec());
        // One transaction on the one writer: the successor goes, then `old` is unused
        // again if this claim's use is still its use and no other successor exists.
        self.write_grouped(move |c| {
            if exec(
                c,
                UNCLAIM_SUCCESSOR,
                params![new_hash, old_hash, used_at_ms],
            )? == 0
            {
                return Ok(false);
            }
            Ok(exec(c, UNCLAIM_PARENT, params![old_hash, used_at_ms])? == 1)
        })
        .await
    }

    async fn purge_expired(&self, now: i64, keep_grants_secs: i64, batch: u32) -> Result<u64> {
        let grants_before = now.saturating_sub(keep_grants_secs);
        let plan: [(&str, i64); 6] = [
            ("interactions", now),
            ("device_codes", now),
            ("revoked_tokens", now),
            ("auth_codes", now - 3600),
            ("sessions", grants_before),
            // ON DELETE CASCADE takes the family's refresh tokens along.
            ("token_families", grants_before),
        ];
        let mut total = 0u64;
        for (table, before) in plan {
            // One short statement per table, each on the writer only for its batch.
            let sql = format!(
                "DELETE FROM {table} WHERE rowid IN (SELECT rowid FROM {table} WHERE expires_at < ? LIMIT ?)"
            );
            total += self.write(|c| exec(c, &sql, params![before, batch]))? as u64;
        }
        Ok(total)
    }

    async fn grant_revocation(
        &self,
        sid: &str,
        client_id: &str,
        iat: i64,
    ) -> Result<Option<GrantRevocation>> {
        self.read(|c| {
            let ended: Option<i64> = one(
                c,
                "SELECT revoked_at FROM sessions WHERE sid = ? AND revoked_at IS NOT NULL",
                params![sid],
                |r| Ok(r.get(0)?),
            )?;
            if let Some(at) = ended {
                return Ok(Some(GrantRevocation::SessionEnded { at }));
            }
            one(
                c,
                "SELECT revoked_at, coalesce(revoked_reason, '') FROM token_families
                  WHERE sid = ? AND client_id = ? AND revoked_at IS NOT NULL AND revoked_at >= ?
                  ORDER BY revoked_at LIMIT 1",
                params![sid, client_id, iat],
                |r| {
                    Ok(GrantRevocation::FamilyRevoked {
                        at: r.get(0)?,
                        reason: r.get(1)?,
                    })
                },
            )
        })
    }

    async fn revoke_family(&self, family_id: &str, reason: &str, now: i64) -> Result<()> {
        self.write(|c| exec(c, "UPDATE token_families SET revoked_at = ?, revoked_reason = ? WHERE id = ? AND revoked_at IS NULL",
            params![now, reason, family_id]))?;
        self.revoked();
        Ok(())
    }

    async fn put_device(&self, device_hash: &[u8; 32], g: &DeviceGrant) -> Result<()> {
        let json = serde_json::to_string(g)?;
        self.write(|c| exec(c, "INSERT INTO device_codes (device_hash, user_code, status, grant_json, expires_at) VALUES (?,?,?,?,?)",
            params![device_hash.to_vec(), g.user_code, g.status, json, g.expires_at]))?;
        Ok(())
    }

    async fn device(&self, device_hash: &[u8; 32]) -> Result<Option<DeviceGrant>> {
        self.read(|c| {
            one(
                c,
                "SELECT grant_json FROM device_codes WHERE device_hash = ?",
                [device_hash.to_vec()],
                grant,
            )
        })
    }

    async fn device_by_user_code(&self, user_code: &str) -> Result<Option<DeviceGrant>> {
        self.read(|c| {
            one(
                c,
                "SELECT grant_json FROM device_codes WHERE user_code = ?",
                [user_code],
                grant,
            )
        })
    }

    async fn update_device(
        &self,
        user_code: &str,
        expect_status: &str,
        g: &DeviceGrant,
    ) -> Result<bool> {
        let json = serde_json::to_string(g)?;
        let n = self.write(|c| {
            exec(
                c,
                "UPDATE device_codes SET status = ?, grant_json = ? WHERE user_code = ? AND status = ?",
                params![g.status, json, user_code, expect_status],
            )
        })?;
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
        let Some(u) = user else {
            let revoked = self.read(|c| {
                Ok(
                    c.prepare_cached("SELECT COUNT(*) FROM revoked_tokens WHERE jti = ?")?
                        .query_row([jti], |r| r.get::<_, i64>(0))?,
                )
            })?;
            return Ok(AccessTokenStatus {
                jti_revoked: revoked > 0,
                user: None,
                grant_revoked: false,
            });
        };
        let status = self.read(|c| {
            one(
                c,
                "SELECT (SELECT COUNT(*) FROM revoked_tokens WHERE jti = ?) AS jti_revoked,
                    u.account_enabled, u.tokens_valid_from, u.user_principal_name,
                    (SELECT COUNT(*) FROM sessions WHERE sid = ? AND revoked_at IS NOT NULL)
                  + (SELECT COUNT(*) FROM token_families WHERE sid = ? AND client_id = ? AND revoked_at IS NOT NULL AND revoked_at >= ?) AS grant_revoked
             FROM (SELECT 1) LEFT JOIN users u ON u.tenant_id = ? AND u.id = ?",
                params![jti, u.sid, u.sid, u.client_id, u.iat, u.tenant_id, u.user_id],
                |r| {
                    let enabled: Option<bool> = r.get("account_enabled")?;
                    let user = match enabled {
                        Some(e) => Some((
                            e,
                            r.get::<_, i64>("tokens_valid_from")?,
                            r.get::<_, String>("user_principal_name")?,
                        )),
                        None => None,
                    };
                    Ok(AccessTokenStatus {
                        jti_revoked: r.get::<_, i64>("jti_revoked")? > 0,
                        user,
                        grant_revoked: r.get::<_, i64>("grant_revoked")? > 0,
                    })
                },
            )
        })?;
        Ok(status.unwrap_or_default())
    }

    async fn revoke_jti(&self, tenant_id: &str, jti: &str, expires_at: i64) -> Result<()> {
        self.write(|c| exec(c, "INSERT INTO revoked_tokens (jti, tenant_id, expires_at) VALUES (?,?,?) ON CONFLICT (jti) DO NOTHING",
            params![jti, tenant_id, expires_at]))?;
        self.revoked();
        Ok(())
    }
}

fn consent_in(
    c: &Connection,
    tenant_id: &str,
    user_id: &str,
    client_id: &str,
) -> Result<Vec<String>> {
    let s = one(
        c,
        "SELECT scopes FROM consents WHERE tenant_id = ? AND user_id = ? AND client_id = ?",
        params![tenant_id, user_id, client_id],
        |r| Ok(r.get::<_, String>(0)?),
    )?;
    Ok(match s {
        Some(s) => serde_json::from_str(&s)?,
        None => vec![],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{NewUser, Store};
    use portvakt_core::model::Tenant;
    use portvakt_jose::Algorithm;
    use std::future::Future;

    async fn family(st: &SqliteStore) -> (RefreshGrant, [u8; 32]) {
        let t = Tenant {
            id: "t1".into(),
            name: "t1".into(),
            display_name: "t1".into(),
            signing_algorithm: Algorithm::ES256,
            access_token_lifetime_seconds: None,
        };
        st.create_tenant(&t, &[], 0).await.expect("store");
        let u = NewUser {
            id: "u1".into(),
            user_principal_name: "u1@x".into(),
            display_name: "U".into(),
            password_hash: None,
            account_enabled: true,
            roles: None,
            totp_sealed: None,
        };
        st.create_user("t1", &u, 0).await.expect("store");
        let g = RefreshGrant {
            family_id: "f1".into(),
            tenant_id: "t1".into(),
            client_id: "web".into(),
            user_id: "u1".into(),
            sid: "s1".into(),
            scope: "offline_access".into(),
            resource: None,
            auth_time: 0,
            amr: vec!["pwd".into()],
            issued_at: 0,
            expires_at: 1000,
            family_expires_at: 5000,
            client_app_type: None,
        };
        st.put_refresh(&[0; 32], &g, 0).await.expect("store");
        (g, [0; 32])
    }

    fn next(g: &RefreshGrant, now: i64) -> RefreshGrant {
        RefreshGrant {
            issued_at: now,
            expires_at: now + 1000,
            ..g.clone()
        }
    }

    #[tokio::test]
    async fn a_rotation_marks_the_old_token_used_and_happens_once() {
        let st = SqliteStore::in_memory().await.expect("store");
        let (g, old) = family(&st).await;
        let rec = st.refresh(&old).await.expect("store").expect("store");
        assert_eq!(rec.used_at, None);
        assert_eq!(rec.user.as_ref().map(|u| u.id.as_str()), Some("u1"));

        assert!(st
            .rotate_refresh(&old, &[1; 32], &next(&g, 10), 10_000)
            .await
            .expect("store"));
        // The same old token again: refused, and nothing is stored for the loser.
        assert!(!st
            .rotate_refresh(&old, &[2; 32], &next(&g, 11), 11_000)
            .await
            .expect("store"));
        assert_eq!(
            st.refresh(&old)
                .await
                .expect("store")
                .expect("store")
                .used_at,
            Some(10)
        );
        let new = st.refresh(&[1; 32]).await.expect("store").expect("store");
        assert_eq!((new.used_at, new.grant.issued_at), (None, 10));
        assert!(st.refresh(&[2; 32]).await.expect("store").is_none());
        // An unknown parent rotates nothing.
        assert!(!st
            .rotate_refresh(&[9; 32], &[3; 32], &next(&g, 12), 12_000)
            .await
            .expect("store"));
        assert!(st.refresh(&[3; 32]).await.expect("store").is_none());
    }

    #[tokio::test]
    async fn a_retry_replaces_the_unused_successor_within_the_window_only() {
        let st = SqliteStore::in_memory().await.expect("store");
        let (g, old) = family(&st).await;
        let get = |h: [u8; 32]| {
            let st = &st;
            async move { st.refresh(&h).await.expect("store").expect("stored") }
        };
        // A retry of a token never used is no retry.
        assert!(!st
            .retry_refresh(&old, &[1; 32], &next(&g, 9), 9_500, 10_000)
            .await
            .expect("store"));
        assert!(st
            .rotate_refresh(&old, &[1; 32], &next(&g, 10), 10_250)
            .await
            .expect("store"));
        // Within the window (measured in ms from the first use): a new live successor;
        // the first one is superseded, the parent keeps its first use.
        assert!(st
            .retry_refresh(&old, &[2; 32], &next(&g, 12), 12_000, 10_000)
            .await
            .expect("store"));
        assert!(get([1; 32]).await.superseded_at.is_some());
        assert_eq!(get([2; 32]).await.superseded_at, None);
        assert_eq!(get(old).await.used_at_ms, Some(10_250));
        // A second retry supersedes the second successor too: one live successor.
        assert!(st
            .retry_refresh(&old, &[3; 32], &next(&g, 13), 13_000, 10_000)
            .await
            .expect("store"));
        assert!(get([2; 32]).await.superseded_at.is_some());
        assert_eq!(get([3; 32]).await.superseded_at, None);
        // Past the window, counted from the first use (10.25 s + 10 s): refused.
        assert!(!st
            .retry_refresh(&old, &[4; 32], &next(&g, 20), 20_250, 10_000)
            .await
            .expect("store"));
        // A window of 0 never retries.
        assert!(!st
            .retry_refresh(&old, &[4; 32], &next(&g, 14), 14_000, 0)
            .await
            .expect("store"));
        // Once the live successor is used, no retry of its parent either.
        assert!(st
            .rotate_refresh(&[3; 32], &[5; 32], &next(&g, 15), 15_000)
            .await
            .expect("store"));
        assert!(!st
            .retry_refresh(&old, &[4; 32], &next(&g, 16), 16_000, 10_000)
            .await
            .expect("store"));
        assert!(st.refresh(&[4; 32]).await.expect("store").is_none());
        // A superseded token cannot be retried.
        assert!(!st
            .retry_refresh(&[1; 32], &[6; 32], &next(&g, 16), 16_000, 10_000)
            .await
            .expect("store"));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_rotations_of_one_token_have_exactly_one_winner() {
        let dir = std::env::temp_dir().join(format!("pv-rot-{}", portvakt_jose::random_id(8)));
        std::fs::create_dir_all(&dir).expect("store");
        let st = SqliteStore::open(&dir.join("db.sqlite"))
            .await
            .expect("store");
        let (g, mut cur) = family(&st).await;
        for round in 1..=20u8 {
            let tries = (0..8u8).map(|i| {
                let st = st.clone();
                let g = next(&g, i64::from(round));
                let mut h = [round; 32];
                h[31] = i;
                tokio::spawn(async move {
                    let won = st
                        .rotate_refresh(&cur, &h, &g, i64::from(round) * 1000)
                        .await
                        .expect("store");
                    won.then_some(h)
                })
            });
            let mut winners = Vec::new();
            for t in tries.collect::<Vec<_>>() {
                if let Some(h) = t.await.expect("store") {
                    winners.push(h);
                }
            }
            assert_eq!(winners.len(), 1, "round {round}: {} winners", winners.len());
            cur = winners[0];
        }
        std::fs::remove_dir_all(&dir).expect("store");
    }

    /// `n` more families of user u1 (beside `family`'s f1), each with one unused token
    /// `[k; 32]`, k = 100 + i.
    async fn families(st: &SqliteStore, g: &RefreshGrant, n: u8) -> Vec<(RefreshGrant, [u8; 32])> {
        let mut out = Vec::new();
        for i in 0..n {
            let g = RefreshGrant {
                family_id: format!("f{}", 100 + u32::from(i)),
                ..g.clone()
            };
            let h = [100 + i; 32];
            st.put_refresh(&h, &g, 0).await.expect("store");
            out.push((g, h));
        }
        out
    }

    #[tokio::test(flavor = "current_thread")]
    async fn concurrent_rotations_share_one_commit_and_all_land() {
        let st = SqliteStore::in_memory().await.expect("store");
        let (g, _) = family(&st).await;
        let fams = families(&st, &g, 16).await;
        let before = st.group_commits();
        let tasks: Vec<_> = fams
            .iter()
            .map(|(g, h)| {
                let (st, g, h) = (st.clone(), next(g, 5), *h);
                tokio::spawn(async move {
                    let mut new = h;
                    new[0] = 1;
                    st.rotate_refresh(&h, &new, &g, 5_000).await.expect("store")
                })
            })
            .collect();
        for t in tasks {
            assert!(t.await.expect("store"), "every rotation wins");
        }
        // All sixteen were queued before the first leader's turn came back.
        assert_eq!(st.group_commits() - before, 1);
        for (_, h) in &fams {
            let mut new = *h;
            new[0] = 1;
            let rec = st.refresh(&new).await.expect("store").expect("stored");
            assert_eq!(rec.used_at, None);
            let old = st.refresh(h).await.expect("store").expect("stored");
            assert_eq!(old.used_at, Some(5));
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_failing_write_fails_alone_in_its_batch() {
        let st = SqliteStore::in_memory().await.expect("store");
        let (g, _) = family(&st).await;
        let fams = families(&st, &g, 3).await;
        let before = st.group_commits();
        let tasks: Vec<_> = fams
            .iter()
            .enumerate()
            .map(|(i, (g, h))| {
                let (st, mut g, h) = (st.clone(), next(g, 7), *h);
                if i == 1 {
                    // No such family: the foreign key refuses this INSERT alone.
                    g.family_id = "missing".into();
                }
                tokio::spawn(async move {
                    let mut new = h;
                    new[0] = 2;
                    st.rotate_refresh(&h, &new, &g, 7_000).await
                })
            })
            .collect();
        let mut results = Vec::new();
        for t in tasks {
            results.push(t.await.expect("store"));
        }
        assert_eq!(st.group_commits() - before, 1, "one batch");
        assert!(matches!(results[0], Ok(true)));
        assert!(results[1].is_err(), "{:?}", results[1]);
        assert!(matches!(results[2], Ok(true)));
        // The failed rotation left its parent unused (its trigger was rolled back too).
        let parent = st
            .refresh(&fams[1].1)
            .await
            .expect("store")
            .expect("stored");
        assert_eq!(parent.used_at, None);
        let other = st
            .refresh(&fams[2].1)
            .await
            .expect("store")
            .expect("stored");
        assert_eq!(other.used_at, Some(7));
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_leader_dropped_while_it_waits_still_commits_its_batch() {
        let st = SqliteStore::in_memory().await.expect("store");
        let (g, old) = family(&st).await;
        // Polled once (it queues, leads and yields), then dropped, as a request's
        // future is when its client goes away.
        {
            let g3 = next(&g, 3);
            let mut fut = std::pin::pin!(st.rotate_refresh(&old, &[1; 32], &g3, 3_000));
            let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
            assert!(
                fut.as_mut().poll(&mut cx).is_pending(),
                "the rotation waits for its commit"
            );
        }
        let rec = st.refresh(&[1; 32]).await.expect("store").expect("stored");
        assert_eq!(rec.grant.issued_at, 3);
        // The queue is free again: the next write leads its own batch.
        assert!(st
            .rotate_refresh(&[1; 32], &[2; 32], &next(&g, 4), 4_000)
            .await
            .expect("store"));
    }

    #[tokio::test]
    async fn every_withdrawing_write_moves_the_revocation_epoch() {
        let st = SqliteStore::in_memory().await.expect("store");
        let (g, old) = family(&st).await;
        let mut e = st.revocation_epoch();
        // Rotations withdraw nothing.
        st.rotate_refresh(&old, &[1; 32], &next(&g, 1), 1_000)
            .await
            .expect("store");
        assert_eq!(st.revocation_epoch(), e);
        st.revoke_jti("t1", "j1", 100).await.expect("store");
        assert!(st.revocation_epoch() > e);
        e = st.revocation_epoch();
        st.revoke_family("f1", "test", 2).await.expect("store");
        assert!(st.revocation_epoch() > e);
        e = st.revocation_epoch();
        st.end_session("s1", 3).await.expect("store");
        assert!(st.revocation_epoch() > e);
        e = st.revocation_epoch();
        st.revoke_user("t1", "u1", 4).await.expect("store");
        assert!(st.revocation_epoch() > e);
        e = st.revocation_epoch();
        st.set_account_enabled("t1", "u1@x", false)
            .await
            .expect("store");
        assert!(st.revocation_epoch() > e);
    }
}
