//! The SQLite side of the sign-in log: its own database (`signins.db`), batches in one
//! transaction with cached statements, sets of groups and policies kept once.

use crate::conns::{all, exec, one};
use crate::signin_log::{
    SignInLog, SignInPage, SignInQuery, SignInRow, SignInStats, SqlValue, StatsQuery,
};
use crate::{Result, SqliteStore};
use async_trait::async_trait;
use portvakt_core::signin::StoredSignIn;
use rusqlite::params;
use rusqlite::types::ToSql;

const INSERT: &str =
    "INSERT INTO signins (id, tenant_id, created_ms, user_key, user_id, app_id, status, error_code,
    correlation_id, ip, ca_status, interactive, record, facts, group_set, policy_set)
    VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)";

#[async_trait]
impl SignInLog for SqliteStore {
    async fn append_signins(&self, batch: &[StoredSignIn]) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        self.log_transaction(|tx| {
            let mut ins = tx.prepare_cached(INSERT)?;
            let mut groups =
                tx.prepare_cached("INSERT OR IGNORE INTO group_sets (hash, ids) VALUES (?, ?)")?;
            let mut sets = tx.prepare_cached(
                "INSERT OR IGNORE INTO policy_sets (hash, policies) VALUES (?, ?)",
            )?;
            let mut seen_groups: Vec<&str> = Vec::new();
            let mut seen_sets: Vec<&str> = Vec::new();
            for s in batch {
                if let Some((h, ids)) = &s.group_set {
                    if !seen_groups.contains(&h.as_str()) {
                        groups.execute(params![h, ids])?;
                        seen_groups.push(h);
                    }
                }
                if let Some((h, p)) = &s.policy_set {
                    if !seen_sets.contains(&h.as_str()) {
                        sets.execute(params![h, p])?;
                        seen_sets.push(h);
                    }
                }
                ins.execute(params![
                    s.id,
                    s.tenant_id,
                    s.created_ms,
                    s.user_key,
                    s.user_id,
                    s.app_id,
                    s.status,
                    s.error_code,
                    s.correlation_id,
                    s.ip,
                    s.ca_status,
                    s.interactive,
                    s.record,
                    s.facts,
                    s.group_set.as_ref().map(|g| &g.0),
                    s.policy_set.as_ref().map(|p| &p.0),
                ])?;
            }
            Ok(())
        })
    }

    async fn signins(&self, q: &SignInQuery, with_facts: bool) -> Result<SignInPage> {
        let mut sql = String::from(
            "SELECT s.seq, s.record, p.policies, s.created_ms, s.user_key, s.app_id, s.status, s.error_code",
        );
        if with_facts {
            sql.push_str(", s.facts, g.ids");
        }
        sql.push_str(" FROM signins s LEFT JOIN policy_sets p ON p.hash = s.policy_set");
        if with_facts {
            sql.push_str(" LEFT JOIN group_sets g ON g.hash = s.group_set");
        }
        sql.push_str(" WHERE s.tenant_id = ?");
        let mut args: Vec<Box<dyn ToSql + Send>> = vec![Box::new(q.tenant_id.clone())];
        let mut cond = |sql: &mut String, c: &str, v: Box<dyn ToSql + Send>| {
            sql.push_str(" AND ");
            sql.push_str(c);
            args.push(v);
        };
        if let Some(v) = q.since_ms {
            cond(&mut sql, "s.created_ms >= ?", Box::new(v));
        }
        if let Some(v) = q.until_ms {
            cond(&mut sql, "s.created_ms < ?", Box::new(v));
        }
        if let Some(v) = &q.user {
            cond(&mut sql, "s.user_key = ?", Box::new(v.to_lowercase()));
        }
        if let Some(v) = &q.user_id {
            cond(&mut sql, "s.user_id = ?", Box::new(v.clone()));
        }
        if let Some(v) = &q.app_id {
            cond(&mut sql, "s.app_id = ?", Box::new(v.clone()));
        }
        if let Some(v) = q.status {
            cond(&mut sql, "s.status = ?", Box::new(v));
        }
        if let Some(v) = q.error_code {
            cond(&mut sql, "s.error_code = ?", Box::new(v));
        }
        if let Some(v) = &q.correlation_id {
            cond(&mut sql, "s.correlation_id = ?", Box::new(v.clone()));
        }
        if let Some(v) = &q.ip {
            cond(&mut sql, "s.ip = ?", Box::new(v.clone()));
        }
        if let Some(v) = q.ca_status {
            cond(&mut sql, "coalesce(s.ca_status, 0) = ?", Box::new(v));
        }
        if let Some(v) = q.interactive {
            cond(&mut sql, "s.interactive = ?", Box::new(v));
        }
        if let Some(v) = q.before_seq {
            cond(&mut sql, "s.seq < ?", Box::new(v));
        }
        if let Some((extra, values)) = &q.extra {
            sql.push_str(" AND (");
            sql.push_str(extra);
            sql.push(')');
            for v in values {
                args.push(match v {
                    SqlValue::Text(t) => Box::new(t.clone()),
                    SqlValue::Int(i) => Box::new(*i),
                });
            }
        }
        let limit = q.limit.clamp(1, 1000);
        sql.push_str(&format!(" ORDER BY s.seq DESC LIMIT {}", limit + 1));
        let mut rows = self.log_read(|c| {
            let refs: Vec<&dyn ToSql> = args.iter().map(|a| a.as_ref() as &dyn ToSql).collect();
            all(c, &sql, refs.as_slice(), |r| {
                Ok(SignInRow {
                    seq: r.get(0)?,
                    record: r.get(1)?,
                    policy_set: r.get(2)?,
                    created_ms: r.get(3)?,
                    user_key: r.get(4)?,
                    app_id: r.get(5)?,
                    status: r.get(6)?,
                    error_code: r.get(7)?,
                    facts: if with_facts { r.get(8)? } else { None },
                    group_ids: if with_facts { r.get(9)? } else { None },
                })
            })
        })?;
        let next = if rows.len() > limit as usize {
            rows.truncate(limit as usize);
            rows.last().map(|r| r.seq)
        } else {
            None
        };
        Ok(SignInPage { rows, next })
    }

    async fn signin_tenant(&self, correlation_id: &str) -> Result<Option<String>> {
        self.log_read(|c| {
            one(
                c,
                "SELECT tenant_id FROM signins WHERE correlation_id = ? ORDER BY seq DESC LIMIT 1",
                [correlation_id],
                |r| Ok(r.get(0)?),
            )
        })
    }

    async fn signin_stats(&self, q: &StatsQuery) -> Result<SignInStats> {
        // The window: the newest `max_records` records since `since_ms` (the seq range
        // they span, found on the (tenant, seq) index), then three aggregates over it.
        let bucket = q.bucket_ms.max(1);
        let cap = i64::from(q.max_records.max(1));
        self.log_read(|c| {
            let (lo, n): (Option<i64>, i64) = one(
                c,
                "SELECT MIN(seq), COUNT(*) FROM (SELECT seq FROM signins WHERE tenant_id = ? AND created_ms >= ?
                   ORDER BY seq DESC LIMIT ?)",
                params![q.tenant_id, q.since_ms, cap + 1],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?
            .unwrap_or((None, 0));
            let mut out = SignInStats {
                records: n.min(cap) as u64,
                truncated: n > cap,
                ..Default::default()
            };
            let Some(mut lo) = lo else { return Ok(out) };
            if n > cap {
                // Drop the oldest record of the cap+1 read.
                lo = one(
                    c,
                    "SELECT seq FROM signins WHERE tenant_id = ? AND seq > ? ORDER BY seq LIMIT 1",
                    params![q.tenant_id, lo],
                    |r| Ok(r.get(0)?),
                )?
                .unwrap_or(lo);
            }
            let w = "FROM signins s WHERE s.tenant_id = ?1 AND s.seq >= ?2 AND s.created_ms >= ?3";
            out.by_status = all(
                c,
                &format!("SELECT (s.created_ms / ?4) * ?4 AS b, s.status, COUNT(*) {w} GROUP BY b, s.status ORDER BY b"),
                params![q.tenant_id, lo, q.since_ms, bucket],
                |r| Ok((r.get(0)?, r.get(1)?, r.get::<_, i64>(2)? as u64)),
            )?;
            out.errors = all(
                c,
                &format!("SELECT s.error_code, COUNT(*) AS n {w} AND s.status = 1 GROUP BY s.error_code ORDER BY n DESC LIMIT 10"),
                params![q.tenant_id, lo, q.since_ms],
                |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as u64)),
            )?;
            out.policies = all(
                c,
                "SELECT s.policy_set, CAST(j.key AS INTEGER), json_extract(j.value, '$[0]') AS result,
                        (s.created_ms / ?4) * ?4 AS b, COUNT(*)
                   FROM signins s, json_each(s.record, '$.policyResults') AS j
                  WHERE s.tenant_id = ?1 AND s.seq >= ?2 AND s.created_ms >= ?3 AND s.policy_set IS NOT NULL
                  GROUP BY s.policy_set, j.key, result, b ORDER BY b",
                params![q.tenant_id, lo, q.since_ms, bucket],
                |r| Ok((r.get(0)?, r.get(1)?, r.get::<_, Option<String>>(2)?.unwrap_or_default(), r.get(3)?, r.get::<_, i64>(4)? as u64)),
            )?;
            let mut hashes: Vec<&str> = out.policies.iter().map(|p| p.0.as_str()).collect();
            hashes.sort_unstable();
            hashes.dedup();
            let mut sets = Vec::new();
            for h in hashes {
                if let Some(p) = one(c, "SELECT policies FROM policy_sets WHERE hash = ?", [h], |r| Ok(r.get::<_, String>(0)?))? {
                    sets.push((h.to_string(), p));
                }
            }
            out.policy_sets = sets;
            Ok(out)
        })
    }

    async fn count_signins(&self, tenant_id: &str) -> Result<u64> {
        self.log_read(|c| {
            Ok(one(
                c,
                "SELECT COUNT(*) FROM signins WHERE tenant_id = ?",
                [tenant_id],
                |r| Ok(r.get::<_, i64>(0)?),
            )?
            .unwrap_or(0) as u64)
        })
    }

    async fn purge_signins(&self, before_ms: i64, batch: u32) -> Result<u64> {
        let n = self.log_write(|c| {
            exec(
                c,
                "DELETE FROM signins WHERE seq IN (SELECT seq FROM signins WHERE created_ms < ? ORDER BY created_ms LIMIT ?)",
                params![before_ms, batch],
            )
        })?;
        if n > 0 {
            // Sets no record names any more.
            self.log_write(|c| {
                exec(c, "DELETE FROM group_sets WHERE hash NOT IN (SELECT group_set FROM signins WHERE group_set IS NOT NULL)", [])?;
                exec(c, "DELETE FROM policy_sets WHERE hash NOT IN (SELECT policy_set FROM signins WHERE policy_set IS NOT NULL)", [])
            })?;
        }
        Ok(n as u64)
    }
}
