//! The SQLite side of the sign-in log: its own database (`signins.db`), batches in one
//! transaction with cached statements, sets of groups and policies kept once.

use crate::conns::{all, exec, one};
use crate::record_pack;
use crate::signin_log::{
    FactsRow, SignInLog, SignInPage, SignInQuery, SignInRow, SignInStats, StatsQuery,
};
use crate::{Result, SqliteStore};
use async_trait::async_trait;
use portvakt_core::signin::StoredSignIn;
use rusqlite::params;
use rusqlite::types::ToSql;

/// Milliseconds in a day (the user index's day buckets).
const DAY_MS: i64 = 86_400_000;
/// Milliseconds in a bucket of the overview's counts (migration 4).
pub(crate) const COUNT_BUCKET_MS: i64 = 300_000;
/// The most days a user query names (far beyond any retention).
const MAX_DAYS: usize = 4000;

/// A dictionary made for a batch (`crate::record_pack`); its `last_seq` is set after
/// the batch's records.
const INSERT_DICT: &str =
    "INSERT INTO record_dicts (tenant_id, created_ms, dict, last_seq) VALUES (?, ?, ?, 0)";
/// The newest record packed with a dictionary.
const DICT_USED: &str = "UPDATE record_dicts SET last_seq = max(last_seq, ?) WHERE id = ?";
/// A dictionary a purge took while this writer still packed with it, stored again
/// (the purge drops those whose records are gone, and this batch has some).
const DICT_AGAIN: &str =
    "INSERT INTO record_dicts (id, tenant_id, created_ms, dict, last_seq) VALUES (?, ?, ?, ?, ?)";
/// A dictionary's bytes, for a reader.
pub(crate) const DICT: &str = "SELECT dict FROM record_dicts WHERE id = ?";

/// The oldest seq left, of blocks and rows (i64::MAX when none is): the sets and
/// dictionaries whose newest record is older are named by none (two lookups of the
/// smallest key, not scans).
const OLDEST_SEQ: &str = "min(coalesce((SELECT MIN(seq) FROM signins), 9223372036854775807),
    coalesce((SELECT MIN(id) FROM signin_blocks), 9223372036854775807))";

/// The newest seq whose facts are in `signins.facts` (written before migration 0003).
fn facts_inline_until(c: &rusqlite::Connection) -> Result<i64> {
    Ok(one(
        c,
        "SELECT value FROM log_meta WHERE key = 'facts_inline_until'",
        [],
        |r| Ok(r.get::<_, i64>(0)?),
    )?
    .unwrap_or(0))
}

/// Dictionary `id`'s bytes (`crate::record_pack`), read on the reader's connection.
pub(crate) fn load_dict(c: &rusqlite::Connection, id: i64) -> Result<Vec<u8>> {
    one(c, DICT, [id], |r| Ok(r.get::<_, Vec<u8>>(0)?))?.ok_or_else(|| {
        crate::StoreError::Corrupt(format!("sign-in record dictionary {id} is missing"))
    })
}

/// Add a batch to the overview's counts: summed in memory first, then one upsert per
/// distinct (tenant, bucket, status, code) and (tenant, bucket, set, position, result).
fn add_counts(tx: &rusqlite::Transaction<'_>, batch: &[StoredSignIn]) -> Result<()> {
    use std::collections::HashMap;
    let mut counts: HashMap<(&str, i64, u8, i64), i64> = HashMap::new();
    let mut policies: HashMap<(&str, i64, &str, usize, &str), i64> = HashMap::new();
    for s in batch {
        let bucket = s.created_ms.div_euclid(COUNT_BUCKET_MS);
        *counts
            .entry((s.tenant_id.as_str(), bucket, s.status, s.error_code))
            .or_default() += 1;
        if let Some((hash, _)) = &s.policy_set {
            for (position, result) in s.policy_results.iter().enumerate() {
                *policies
                    .entry((
                        s.tenant_id.as_str(),
                        bucket,
                        hash.as_str(),
                        position,
                        result,
                    ))
                    .or_default() += 1;
            }
        }
    }
    let mut up = tx.prepare_cached(
        "INSERT INTO signin_counts (tenant_id, bucket, status, error_code, n) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (tenant_id, bucket, status, error_code) DO UPDATE SET n = n + excluded.n",
    )?;
    for ((t, b, st, code), n) in counts {
        up.execute(params![t, b, st, code, n])?;
    }
    let mut up = tx.prepare_cached(
        "INSERT INTO policy_counts (tenant_id, bucket, policy_set, position, result, n) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (tenant_id, bucket, policy_set, position, result) DO UPDATE SET n = n + excluded.n",
    )?;
    for ((t, b, h, pos, r), n) in policies {
        up.execute(params![t, b, h, pos as i64, r, n])?;
    }
    Ok(())
}

impl SqliteStore {
    /// The rows part of [`SignInLog::signins`]: records written before blocks
    /// (migration 7), newest first, at most `limit`.
    fn row_signins(&self, q: &SignInQuery, with_facts: bool, limit: u32) -> Result<Vec<SignInRow>> {
        let mut sql = String::from(
            "SELECT s.seq, s.record, p.policies, s.created_ms, s.user_key, s.app_id, s.status, s.error_code,
                    s.id, s.correlation_id, s.ip, s.user_id, s.interactive, s.record_z, s.dict_id",
        );
        if with_facts {
            sql.push_str(", coalesce(f.facts, s.facts), g.ids, f.facts_z, f.dict_id");
        }
        // The index, chosen here rather than by SQLite: without statistics it prefers
        // an index that yields `ORDER BY seq DESC` (then reads the tenant's records
        // newest first until the page is full: the whole tenant for a user with few
        // records), or the time range (then sorts the tenant's whole window: 1.3–2 s
        // for the portal's "last 24 hours" over 10 M records). A correlation id, a
        // user (by day) or an application each has an index of its own; anything
        // else reads the tenant newest first and stops when the page is full, which
        // for the windows an admin looks at ("the last hour / day / week") is at once.
        // A window that ends long ago skips the newer records first (BENCHMARKS.md).
        // A lookup by id or seq has its own index (the id's, the table's own key),
        // and a Graph `$filter` is left to SQLite's choice: it names the columns it
        // compares (an id or correlation id has its index), and its time comparisons
        // are written `+s.created_ms`, out of index choice, as here.
        let index = if q.id.is_some() {
            " INDEXED BY signins_id"
        } else if q.seq.is_some() {
            ""
        } else if q.correlation_id.is_some() {
            " INDEXED BY signins_correlation"
        } else if q.user.is_some() {
            " INDEXED BY signins_user_day"
        } else if q.app_id.is_some() {
            " INDEXED BY signins_app"
        } else if q.filter.is_some() {
            ""
        } else {
            " INDEXED BY signins_tenant"
        };
        sql.push_str(" FROM signins s");
        sql.push_str(index);
        sql.push_str(" LEFT JOIN policy_sets p ON p.hash = s.policy_set");
        if with_facts {
            sql.push_str(" LEFT JOIN signin_facts f ON f.seq = s.seq");
            sql.push_str(" LEFT JOIN group_sets g ON g.hash = coalesce(f.group_set, s.group_set)");
        }
        sql.push_str(" WHERE s.tenant_id = ?");
        let mut args: Vec<Box<dyn ToSql + Send>> = vec![Box::new(q.tenant_id.clone())];
        let mut cond = |sql: &mut String, c: &str, v: Box<dyn ToSql + Send>| {
            sql.push_str(" AND ");
            sql.push_str(c);
            args.push(v);
        };
        // The index is chosen above: the time range is a filter (the unary + keeps
        // the column out of index choice).
        let t = "+s.created_ms";
        if let Some(v) = q.since_ms {
            cond(&mut sql, &format!("{t} >= ?"), Box::new(v));
        }
        if let Some(v) = q.until_ms {
            cond(&mut sql, &format!("{t} < ?"), Box::new(v));
        }
        if let Some(v) = &q.user {
            // The days of the window, for the (tenant, day, user, seq) index: from the
            // window's start (else the oldest record's day) to its end (else the newest
            // record's). Oldest and newest by time (two seeks of the time index), not by
            // seq: records are not written in time order (a clock set back, a batch
            // across midnight), and one older than the first written must be found.
            let (first, last) = self.log_read(|c| {
                Ok(one(
                    c,
                    "SELECT (SELECT min(created_ms) FROM signins), (SELECT max(created_ms) FROM signins)",
                    [],
                    |r| Ok((r.get::<_, Option<i64>>(0)?, r.get::<_, Option<i64>>(1)?)),
                )?
                .unwrap_or((None, None)))
            })?;
            let lo = q.since_ms.or(first).unwrap_or(0).max(first.unwrap_or(0)) / DAY_MS;
            let hi = q
                .until_ms
                .or(last)
                .unwrap_or(0)
                .min(last.unwrap_or(i64::MAX))
                / DAY_MS;
            // Clocks move: a record may be a day ahead of the newest by seq.
            let days: Vec<String> = (lo..=(hi + 1).max(lo))
                .take(MAX_DAYS)
                .map(|d| d.to_string())
                .collect();
            sql.push_str(&format!(
                " AND s.created_ms / 86400000 IN ({})",
                days.join(",")
            ));
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
        if let Some(v) = &q.id {
            cond(&mut sql, "s.id = ?", Box::new(v.clone()));
        }
        if let Some(v) = q.seq {
            cond(&mut sql, "s.seq = ?", Box::new(v));
        }
        if let Some(f) = &q.filter {
            let (extra, values) = crate::sqlite_filter::to_sql(f);
            sql.push_str(" AND (");
            sql.push_str(&extra);
            sql.push(')');
            for v in values {
                args.push(Box::new(v));
            }
        }
        sql.push_str(&format!(" ORDER BY s.seq DESC LIMIT {limit}"));
        self.log_read(|c| {
            let refs: Vec<&dyn ToSql> = args.iter().map(|a| a.as_ref() as &dyn ToSql).collect();
            let dict_of = |id| self.dicts.get_or_open(id, |id| load_dict(c, id));
            all(c, &sql, refs.as_slice(), |r| {
                Ok(SignInRow {
                    seq: r.get(0)?,
                    record: record_pack::text(
                        r.get(1)?,
                        r.get::<_, Option<Vec<u8>>>(13)?.as_deref(),
                        r.get(14)?,
                        dict_of,
                    )?,
                    policy_set: r.get(2)?,
                    created_ms: r.get(3)?,
                    user_key: r.get(4)?,
                    app_id: r.get(5)?,
                    status: r.get(6)?,
                    error_code: r.get(7)?,
                    id: r.get(8)?,
                    correlation_id: r.get(9)?,
                    ip: r.get(10)?,
                    user_id: r.get(11)?,
                    interactive: r.get(12)?,
                    facts: if with_facts {
                        r.get::<_, Option<String>>(15)?
                            .map(|f| {
                                record_pack::text(
                                    f,
                                    r.get::<_, Option<Vec<u8>>>(17)?.as_deref(),
                                    r.get(18)?,
                                    dict_of,
                                )
                            })
                            .transpose()?
                    } else {
                        None
                    },
                    group_ids: if with_facts { r.get(16)? } else { None },
                })
            })
        })
    }
}

#[async_trait]
impl SignInLog for SqliteStore {
    async fn append_signins(&self, batch: &[StoredSignIn]) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let needed = self.dicts.needed(batch);
        let packed = self.log_transaction(|tx| {
            let mut made = Vec::with_capacity(needed.len());
            for d in needed {
                tx.prepare_cached(INSERT_DICT)?.execute(params![
                    d.tenant_id,
                    d.created_ms,
                    d.bytes
                ])?;
                let id = tx.last_insert_rowid();
                made.push((d, id));
            }
            // The records in blocks (migration 7); the sets each once, with the
            // newest record naming it.
            let (packed, seqs) = crate::sqlite_signin_blocks::append(self, tx, batch, made)?;
            let mut groups = tx.prepare_cached(
                "INSERT INTO group_sets (hash, ids, last_seq) VALUES (?, ?, ?)
                 ON CONFLICT (hash) DO UPDATE SET last_seq = max(last_seq, excluded.last_seq)",
            )?;
            let mut sets = tx.prepare_cached(
                "INSERT INTO policy_sets (hash, policies, last_seq) VALUES (?, ?, ?)
                 ON CONFLICT (hash) DO UPDATE SET last_seq = max(last_seq, excluded.last_seq)",
            )?;
            let mut seen_groups: Vec<(&str, &str, i64)> = Vec::new();
            let mut seen_sets: Vec<(&str, &str, i64)> = Vec::new();
            for (s, &seq) in batch.iter().zip(&seqs) {
                for (set, seen) in [
                    (&s.group_set, &mut seen_groups),
                    (&s.policy_set, &mut seen_sets),
                ] {
                    if let Some((h, v)) = set {
                        match seen.iter_mut().find(|x| x.0 == h.as_str()) {
                            Some(x) => x.2 = x.2.max(seq),
                            None => seen.push((h, v, seq)),
                        }
                    }
                }
            }
            for (h, ids, seq) in seen_groups {
                groups.execute(params![h, ids, seq])?;
            }
            for (h, p, seq) in seen_sets {
                sets.execute(params![h, p, seq])?;
            }
            let mut used = tx.prepare_cached(DICT_USED)?;
            for (d, last) in &packed.dicts {
                if used.execute(params![seqs[*last], d.id])? == 0 {
                    tx.prepare_cached(DICT_AGAIN)?.execute(params![
                        d.id,
                        d.tenant_id,
                        d.created_ms,
                        d.bytes,
                        seqs[*last]
                    ])?;
                }
            }
            add_counts(tx, batch)?;
            Ok(packed)
        })?;
        self.dicts.adopt(packed);
        Ok(())
    }

    async fn signins(&self, q: &SignInQuery, with_facts: bool) -> Result<SignInPage> {
        let limit = q.limit.clamp(1, 1000);
        let want = limit as usize + 1;
        // Blocks first: their seqs are newer than every row's.
        let mut rows =
            self.log_read(|c| crate::sqlite_signin_blocks::signins(self, c, q, with_facts, want))?;
        if rows.len() < want {
            rows.extend(self.row_signins(q, with_facts, (want - rows.len()) as u32)?);
        }
        let next = if rows.len() > limit as usize {
            rows.truncate(limit as usize);
            rows.last().map(|r| r.seq)
        } else {
            None
        };
        Ok(SignInPage { rows, next })
    }

    async fn signin_facts(
        &self,
        tenant_id: &str,
        since_ms: i64,
        before_seq: Option<i64>,
        limit: u32,
    ) -> Result<Vec<FactsRow>> {
        let limit = i64::from(limit.clamp(1, 10_000));
        let before = before_seq.unwrap_or(i64::MAX);
        self.log_read(|c| {
            let dict_of = |id| self.dicts.get_or_open(id, |id| load_dict(c, id));
            let row = |r: &rusqlite::Row<'_>| {
                Ok(FactsRow {
                    seq: r.get(0)?,
                    created_ms: r.get(1)?,
                    user_key: r.get(2)?,
                    app_id: r.get(3)?,
                    facts: r
                        .get::<_, Option<String>>(4)?
                        .map(|f| {
                            record_pack::text(
                                f,
                                r.get::<_, Option<Vec<u8>>>(6)?.as_deref(),
                                r.get(7)?,
                                dict_of,
                            )
                        })
                        .transpose()?,
                    group_set: r.get(5)?,
                })
            };
            // Blocks first (their seqs are newer than every row's), then rows.
            let mut out = crate::sqlite_signin_blocks::facts(
                self,
                c,
                tenant_id,
                since_ms,
                before,
                limit as usize,
            )?;
            let total = limit;
            let limit = total - out.len() as i64;
            if limit == 0 {
                return Ok(out);
            }
            let inline_until = facts_inline_until(c)?;
            // The tenant's seqs from its index, their facts from signin_facts; the
            // record's row is read only for a sign-in without facts (coalesce reads
            // its second argument only when the first is null, and SQLite defers the
            // row's seek until a column of it is asked for). Newest first, so this
            // part comes first; a sign-in without facts is returned too (replay counts
            // it as not replayable).
            out.extend(all(
                c,
                "SELECT s.seq, coalesce(f.created_ms, s.created_ms), coalesce(f.user_key, s.user_key),
                        coalesce(f.app_id, s.app_id), f.facts, f.group_set, f.facts_z, f.dict_id
                   FROM signins s INDEXED BY signins_tenant LEFT JOIN signin_facts f ON f.seq = s.seq
                  WHERE s.tenant_id = ?1 AND s.seq < ?2 AND s.seq > ?3
                    AND coalesce(f.created_ms, s.created_ms) >= ?4
                  ORDER BY s.seq DESC LIMIT ?5",
                params![tenant_id, before, inline_until, since_ms, limit],
                row,
            )?);
            // Then the records older than migration 0003, which hold their facts.
            let left = total - out.len() as i64;
            if left > 0 && inline_until > 0 && before > 0 {
                out.extend(all(
                    c,
                    "SELECT seq, created_ms, user_key, app_id, facts, group_set, NULL, NULL FROM signins
                      WHERE tenant_id = ?1 AND seq < ?2 AND seq <= ?3 AND created_ms >= ?4
                      ORDER BY seq DESC LIMIT ?5",
                    params![tenant_id, before, inline_until, since_ms, left],
                    row,
                )?);
            }
            Ok(out)
        })
    }

    async fn group_sets(&self, hashes: &[String]) -> Result<Vec<(String, String)>> {
        self.log_read(|c| {
            let mut out = Vec::with_capacity(hashes.len());
            for h in hashes {
                if let Some(ids) = one(c, "SELECT ids FROM group_sets WHERE hash = ?", [h], |r| {
                    Ok(r.get::<_, String>(0)?)
                })? {
                    out.push((h.clone(), ids));
                }
            }
            Ok(out)
        })
    }

    async fn signin_tenant(&self, correlation_id: &str) -> Result<Option<String>> {
        self.log_read(|c| {
            // Blocks' seqs are newer than every row's.
            if let Some((tenant, _)) =
                crate::sqlite_signin_blocks::tenant_of(self, c, correlation_id)?
            {
                return Ok(Some(tenant));
            }
            one(
                c,
                "SELECT tenant_id FROM signins WHERE correlation_id = ? ORDER BY seq DESC LIMIT 1",
                [correlation_id],
                |r| Ok(r.get(0)?),
            )
        })
    }

    async fn signin_stats(&self, q: &StatsQuery) -> Result<SignInStats> {
        // Sums of the counts kept as records are written (migration 4): a window is
        // whole five-minute buckets from the one holding `since_ms`.
        let bucket = q.bucket_ms.max(COUNT_BUCKET_MS);
        let from = q.since_ms.div_euclid(COUNT_BUCKET_MS);
        self.log_read(|c| {
            let mut out = SignInStats::default();
            out.by_status = all(
                c,
                "SELECT ((bucket * ?3) / ?4) * ?4 AS b, status, SUM(n) FROM signin_counts
                  WHERE tenant_id = ?1 AND bucket >= ?2 GROUP BY b, status ORDER BY b",
                params![q.tenant_id, from, COUNT_BUCKET_MS, bucket],
                |r| Ok((r.get(0)?, r.get(1)?, r.get::<_, i64>(2)? as u64)),
            )?;
            out.records = out.by_status.iter().map(|x| x.2).sum();
            out.errors = all(
                c,
                "SELECT error_code, SUM(n) AS k FROM signin_counts
                  WHERE tenant_id = ?1 AND bucket >= ?2 AND status = 1
                  GROUP BY error_code ORDER BY k DESC LIMIT 10",
                params![q.tenant_id, from],
                |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as u64)),
            )?;
            out.policies = all(
                c,
                "SELECT policy_set, position, result, ((bucket * ?3) / ?4) * ?4 AS b, SUM(n)
                   FROM policy_counts WHERE tenant_id = ?1 AND bucket >= ?2
                  GROUP BY policy_set, position, result, b ORDER BY b",
                params![q.tenant_id, from, COUNT_BUCKET_MS, bucket],
                |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get::<_, i64>(4)? as u64,
                    ))
                },
            )?;
            let mut hashes: Vec<&str> = out.policies.iter().map(|p| p.0.as_str()).collect();
            hashes.sort_unstable();
            hashes.dedup();
            let mut sets = Vec::new();
            for h in hashes {
                if let Some(p) = one(
                    c,
                    "SELECT policies FROM policy_sets WHERE hash = ?",
                    [h],
                    |r| Ok(r.get::<_, String>(0)?),
                )? {
                    sets.push((h.to_string(), p));
                }
            }
            out.policy_sets = sets;
            Ok(out)
        })
    }

    async fn count_signins(&self, tenant_id: &str) -> Result<u64> {
        self.log_read(|c| {
            Ok(crate::sqlite_signin_blocks::count(c, tenant_id)?
                + one(
                    c,
                    "SELECT COUNT(*) FROM signins WHERE tenant_id = ?",
                    [tenant_id],
                    |r| Ok(r.get::<_, i64>(0)?),
                )?
                .unwrap_or(0) as u64)
        })
    }

    async fn purge_signins(&self, before_ms: i64, batch: u32) -> Result<u64> {
        let n = self.log_transaction(|tx| {
            // Whole blocks whose newest record is due, then rows.
            let blocks = crate::sqlite_signin_blocks::purge(tx, before_ms, batch)?;
            let batch = u64::from(batch).saturating_sub(blocks);
            if batch == 0 {
                return Ok(blocks as usize);
            }
            // The batch's seqs once, then the records and their facts.
            let seqs: Vec<i64> = all(
                tx,
                "SELECT seq FROM signins WHERE created_ms < ? ORDER BY created_ms LIMIT ?",
                params![before_ms, batch as i64],
                |r| Ok(r.get(0)?),
            )?;
            let mut del = tx.prepare_cached("DELETE FROM signins WHERE seq = ?")?;
            let mut del_facts = tx.prepare_cached("DELETE FROM signin_facts WHERE seq = ?")?;
            for seq in &seqs {
                del.execute([seq])?;
                del_facts.execute([seq])?;
            }
            Ok(blocks as usize + seqs.len())
        })?;
        if n > 0 {
            // The overview's counts of buckets wholly older than the cutoff.
            let b = before_ms.div_euclid(COUNT_BUCKET_MS);
            self.log_write(|c| {
                exec(c, "DELETE FROM signin_counts WHERE bucket < ?", [b])?;
                exec(c, "DELETE FROM policy_counts WHERE bucket < ?", [b])
            })?;
            // Sets no record names any more: those whose newest record is older than
            // the oldest one left (a lookup of the smallest seq, not a scan).
            self.log_write(|c| {
                exec(
                    c,
                    &format!("DELETE FROM group_sets WHERE last_seq < {OLDEST_SEQ}"),
                    [],
                )?;
                exec(
                    c,
                    &format!("DELETE FROM policy_sets WHERE last_seq < {OLDEST_SEQ}"),
                    [],
                )?;
                exec(
                    c,
                    &format!("DELETE FROM record_dicts WHERE last_seq < {OLDEST_SEQ}"),
                    [],
                )
            })?;
        }
        Ok(n as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = DAY_MS;
    const T0: i64 = 1_800_000_000_000;

    fn rec(n: u32, t: i64, user: &str, status: u8, groups: Option<&str>) -> StoredSignIn {
        StoredSignIn {
            id: format!("id-{n}"),
            tenant_id: "t".into(),
            created_ms: t,
            user_key: Some(user.into()),
            user_id: None,
            app_id: Some("app".into()),
            status,
            error_code: if status == 0 { 0 } else { 3010 },
            correlation_id: format!("cid-{n}"),
            ip: None,
            ca_status: None,
            interactive: true,
            app_display_name: None,
            resource_id: None,
            client_app_used: None,
            record: "{}".into(),
            // A group set comes with facts (to_stored keeps the groups apart from them).
            facts: groups.map(|_| "{}".to_string()),
            group_set: groups.map(|g| (g.to_string(), format!("[\"{g}\"]"))),
            policy_set: None,
            policy_results: vec![],
        }
    }

    /// The tenant's newest ten.
    fn newest_ten() -> SignInQuery {
        SignInQuery {
            tenant_id: "t".into(),
            limit: 10,
            ..Default::default()
        }
    }

    fn query(user: &str, since: Option<i64>, until: Option<i64>) -> SignInQuery {
        SignInQuery {
            tenant_id: "t".into(),
            user: Some(user.into()),
            since_ms: since,
            until_ms: until,
            limit: 1000,
            ..Default::default()
        }
    }

    #[tokio::test]
    async fn a_record_older_than_the_first_written_is_found_by_user() {
        // Written out of time order: the first record is a day later than the second.
        let s = SqliteStore::in_memory().await.expect("store");
        s.append_signins(&[
            rec(1, T0 + 3 * DAY, "kim", 0, None),
            rec(2, T0 + DAY, "kim", 0, None),
        ])
        .await
        .expect("append");
        let page = s
            .signins(&query("kim", None, None), false)
            .await
            .expect("q");
        let mut times: Vec<_> = page.rows.iter().map(|r| r.created_ms).collect();
        times.sort();
        assert_eq!(times, vec![T0 + DAY, T0 + 3 * DAY]);
    }

    #[tokio::test]
    async fn a_users_records_are_found_across_the_days_of_the_window() {
        let s = SqliteStore::in_memory().await.expect("store");
        let mut batch = vec![];
        for d in 0..5 {
            for (i, u) in ["kim", "alex"].iter().enumerate() {
                batch.push(rec(
                    (d * 2 + i as i64) as u32,
                    T0 + d * DAY + 1000,
                    u,
                    (d % 2) as u8,
                    None,
                ));
            }
        }
        s.append_signins(&batch).await.expect("append");
        let seqs = |p: SignInPage| p.rows.iter().map(|r| r.created_ms).collect::<Vec<_>>();
        let all = seqs(
            s.signins(&query("KIM", None, None), false)
                .await
                .expect("q"),
        );
        assert_eq!(
            all,
            (0..5)
                .rev()
                .map(|d| T0 + d * DAY + 1000)
                .collect::<Vec<_>>(),
            "every day, newest first, any case"
        );
        let window = seqs(
            s.signins(
                &query("kim", Some(T0 + DAY), Some(T0 + 3 * DAY + 1000)),
                false,
            )
            .await
            .expect("q"),
        );
        assert_eq!(
            window,
            vec![T0 + 2 * DAY + 1000, T0 + DAY + 1000],
            "since inclusive, until exclusive"
        );
        let mut failures = query("kim", Some(T0), None);
        failures.status = Some(1);
        assert_eq!(
            seqs(s.signins(&failures, false).await.expect("q")),
            vec![T0 + 3 * DAY + 1000, T0 + DAY + 1000]
        );
        assert!(s
            .signins(&query("nobody", None, None), false)
            .await
            .expect("q")
            .rows
            .is_empty());
        // A window before every record, and an empty log, find nothing (and do not fail).
        assert!(s
            .signins(&query("kim", Some(0), Some(1)), false)
            .await
            .expect("q")
            .rows
            .is_empty());
        let empty = SqliteStore::in_memory().await.expect("store");
        assert!(empty
            .signins(&query("kim", None, None), false)
            .await
            .expect("q")
            .rows
            .is_empty());
    }

    #[tokio::test]
    async fn a_set_lives_as_long_as_a_record_names_it() {
        let s = SqliteStore::in_memory().await.expect("store");
        s.append_signins(&[
            rec(1, T0, "kim", 0, Some("a")),
            rec(2, T0 + 1, "alex", 0, Some("b")),
        ])
        .await
        .expect("append");
        s.append_signins(&[rec(3, T0 + 10, "kim", 0, Some("a"))])
            .await
            .expect("append");
        let sets = |s: &SqliteStore| {
            let s = s.clone();
            async move {
                let mut v: Vec<String> = s
                    .group_sets(&["a".into(), "b".into()])
                    .await
                    .expect("sets")
                    .into_iter()
                    .map(|x| x.0)
                    .collect();
                v.sort();
                v
            }
        };
        // The first two go: b is named by none left, a still by the third.
        assert_eq!(s.purge_signins(T0 + 5, 100).await.expect("purge"), 2);
        assert_eq!(sets(&s).await, vec!["a".to_string()]);
        let page = s.signins(&newest_ten(), true).await.expect("q");
        assert_eq!(
            page.rows[0].group_ids.as_deref(),
            Some("[\"a\"]"),
            "the remaining record still finds its set"
        );
        assert_eq!(s.purge_signins(T0 + 100, 100).await.expect("purge"), 1);
        assert!(sets(&s).await.is_empty());
    }

    #[tokio::test]
    async fn facts_written_before_and_after_migration_3_read_as_one_list() {
        let dir = std::env::temp_dir().join(format!("portvakt-facts-mig-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("dir");
        let log = dir.join("signins.db");
        {
            // A log at schema 2, its facts in the rows.
            let old = crate::conns::Conns::open_with(
                &log,
                &crate::conns::LOG_MIGRATIONS[..2],
                crate::conns::Tuning::AppendLog,
            )
            .expect("old log");
            old.write(|c| {
                for n in 1..=3 {
                    c.execute(
                        "INSERT INTO signins (id, tenant_id, created_ms, user_key, app_id, status, error_code,
                           correlation_id, interactive, record, facts, group_set)
                         VALUES (?, 't', ?, 'kim', 'app', 0, 0, ?, 1, '{}', ?, NULL)",
                        params![format!("old-{n}"), T0 + n, format!("c-{n}"), format!("{{\"old\":{n}}}")],
                    )?;
                }
                Ok(())
            })
            .expect("old rows");
        }
        let s = SqliteStore::open(&dir.join("portvakt.db"))
            .await
            .expect("migrated");
        let mut new = Vec::new();
        for n in 4..=6u32 {
            let mut r = rec(n, T0 + i64::from(n), "kim", 0, None);
            r.facts = Some(format!("{{\"new\":{n}}}"));
            new.push(r);
        }
        // A batch each: a block each (retention takes whole blocks).
        for r in new {
            s.append_signins(&[r]).await.expect("append");
        }
        let all = s.signin_facts("t", T0, None, 100).await.expect("facts");
        let got: Vec<(i64, String)> = all
            .iter()
            .map(|f| (f.seq, f.facts.clone().unwrap_or_default()))
            .collect();
        assert_eq!(
            got.iter().map(|g| g.1.as_str()).collect::<Vec<_>>(),
            [
                "{\"new\":6}",
                "{\"new\":5}",
                "{\"new\":4}",
                "{\"old\":3}",
                "{\"old\":2}",
                "{\"old\":1}"
            ],
            "newest first, across the boundary"
        );
        // Paging two at a time walks the same list.
        let mut paged = Vec::new();
        let mut before = None;
        loop {
            let page = s.signin_facts("t", T0, before, 2).await.expect("page");
            if page.is_empty() {
                break;
            }
            before = page.last().map(|f| f.seq);
            paged.extend(page.into_iter().map(|f| f.seq));
        }
        assert_eq!(paged, got.iter().map(|g| g.0).collect::<Vec<_>>());
        // The page query with facts finds both kinds too, and the time filter holds.
        let page = s.signins(&newest_ten(), true).await.expect("page");
        assert!(
            page.rows.iter().all(|r| r.facts.is_some()),
            "every row has its facts"
        );
        assert_eq!(
            s.signin_facts("t", T0 + 5, None, 100)
                .await
                .expect("since")
                .len(),
            2
        );
        // Purging removes a record and its facts.
        assert_eq!(s.purge_signins(T0 + 5, 100).await.expect("purge"), 4);
        assert_eq!(
            s.signin_facts("t", 0, None, 100).await.expect("left").len(),
            2
        );
        let (rows, blocks): (i64, i64) = s
            .log_read(|c| {
                Ok(c.query_row(
                    "SELECT (SELECT COUNT(*) FROM signins), (SELECT COUNT(*) FROM signin_blocks)",
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )?)
            })
            .expect("count");
        assert_eq!(
            (rows, blocks),
            (0, 2),
            "the purged records went with their facts"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test]
    async fn the_overview_counts_equal_a_count_of_the_records() {
        use std::collections::BTreeMap;
        let s = SqliteStore::in_memory().await.expect("store");
        let results = ["success", "failure", "notApplied", "reportOnlyFailure"];
        let mut all_recs = Vec::new();
        let mut x: u64 = 7;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for n in 0..3000u32 {
            let t = T0 + (next() % (3 * DAY as u64)) as i64;
            let status = (next() % 3) as u8;
            let mut r = rec(n, t, "kim", status, None);
            r.tenant_id = if next() % 4 == 0 {
                "u".into()
            } else {
                "t".into()
            };
            r.error_code = if status == 1 {
                [3010, 4001, 1103][(next() % 3) as usize]
            } else {
                0
            };
            if next() % 2 == 0 {
                let set = if next() % 2 == 0 { "p1" } else { "p2" };
                r.policy_set = Some((set.into(), "[]".into()));
                r.policy_results = (0..3).map(|_| results[(next() % 4) as usize]).collect();
            }
            all_recs.push(r);
        }
        for chunk in all_recs.chunks(512) {
            s.append_signins(chunk).await.expect("append");
        }
        let since = T0 + DAY / 2;
        let bucket = 3_600_000;
        let got = s
            .signin_stats(&StatsQuery {
                tenant_id: "t".into(),
                since_ms: since,
                bucket_ms: bucket,
            })
            .await
            .expect("stats");
        // The window starts at the five-minute bucket holding `since`.
        let from = since.div_euclid(COUNT_BUCKET_MS) * COUNT_BUCKET_MS;
        let window: Vec<&StoredSignIn> = all_recs
            .iter()
            .filter(|r| r.tenant_id == "t" && r.created_ms >= from)
            .collect();
        assert_eq!(got.records, window.len() as u64);
        let mut by_status: BTreeMap<(i64, u8), u64> = BTreeMap::new();
        let mut errors: BTreeMap<i64, u64> = BTreeMap::new();
        let mut policies: BTreeMap<(String, i64, String, i64), u64> = BTreeMap::new();
        for r in &window {
            let b = r.created_ms.div_euclid(bucket) * bucket;
            *by_status.entry((b, r.status)).or_default() += 1;
            if r.status == 1 {
                *errors.entry(r.error_code).or_default() += 1;
            }
            if let Some((h, _)) = &r.policy_set {
                for (i, res) in r.policy_results.iter().enumerate() {
                    *policies
                        .entry((h.clone(), i as i64, res.to_string(), b))
                        .or_default() += 1;
                }
            }
        }
        let got_status: BTreeMap<(i64, u8), u64> = got
            .by_status
            .iter()
            .map(|(b, st, n)| ((*b, *st), *n))
            .collect();
        assert_eq!(got_status, by_status);
        let got_errors: BTreeMap<i64, u64> = got.errors.iter().copied().collect();
        assert_eq!(got_errors, errors);
        let got_policies: BTreeMap<(String, i64, String, i64), u64> = got
            .policies
            .iter()
            .map(|(h, i, r, b, n)| ((h.clone(), *i, r.clone(), *b), *n))
            .collect();
        assert_eq!(got_policies, policies);
        assert_eq!(got.policy_sets.len(), 2, "both sets named");
        // Purging drops the counts of the buckets wholly before the cutoff.
        let cutoff = T0 + DAY;
        while s.purge_signins(cutoff, 500).await.expect("purge") > 0 {}
        let after = s
            .signin_stats(&StatsQuery {
                tenant_id: "t".into(),
                since_ms: 0,
                bucket_ms: bucket,
            })
            .await
            .expect("stats");
        let left = all_recs
            .iter()
            .filter(|r| {
                r.tenant_id == "t"
                    && r.created_ms >= cutoff.div_euclid(COUNT_BUCKET_MS) * COUNT_BUCKET_MS
            })
            .count() as u64;
        assert_eq!(after.records, left);
    }
}
