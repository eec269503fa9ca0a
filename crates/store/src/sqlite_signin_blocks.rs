//! The SQLite side of the sign-in log's blocks (docs/design/sign-in-log-blocks.md,
//! `crate::signin_block`): a batch written as one block per tenant with its `keys`
//! list in the tail, the tail sealed into runs, and queries answered from blocks first
//! (their seqs are newer than every row's), then from the rows written before
//! (`crate::sqlite_signin_log`).

use crate::conns::{all, exec, one};
use crate::record_pack::{Packed, Reader};
use crate::signin_block::{
    self as block, kind, BlockRecord, Stored, Way, MAX_SPAN_MS, RUN_BLOCKS, RUN_RECORDS,
};
use crate::signin_log::{FactsRow, SignInQuery, SignInRow};
use crate::{Result, SqliteStore, StoreError};
use portvakt_core::signin::StoredSignIn;
use rusqlite::{params, Connection, Transaction};
use std::collections::HashMap;

/// Blocks read a statement at a time while a query looks for more.
const CHUNK: i64 = 16;

/// The newest seq given so far (`log_meta.last_seq`, migration 7), also past the
/// newest block and row, whichever is newest.
fn last_seq(tx: &Transaction<'_>) -> Result<i64> {
    Ok(one(
        tx,
        "SELECT max(coalesce((SELECT value FROM log_meta WHERE key = 'last_seq'), 0),
                    coalesce((SELECT id + n - 1 FROM signin_blocks ORDER BY id DESC LIMIT 1), 0),
                    coalesce((SELECT max(seq) FROM signins), 0))",
        [],
        |r| Ok(r.get::<_, i64>(0)?),
    )?
    .unwrap_or(0))
}

/// Write `batch` as blocks in `tx`, its dictionaries made already (`made`). Returns
/// the dictionaries to adopt after the commit and each record's seq.
pub(crate) fn append(
    s: &SqliteStore,
    tx: &Transaction<'_>,
    batch: &[StoredSignIn],
    made: Vec<(crate::record_pack::NewDict, i64)>,
) -> Result<(Packed, Vec<i64>)> {
    let (plans, built, packed) = block::pack(&s.dicts, batch, made)?;
    let mut next = last_seq(tx)? + 1;
    let mut seqs = vec![0i64; batch.len()];
    let mut ins = tx.prepare_cached(
        "INSERT INTO signin_blocks (id, tenant_id, n, min_ms, max_ms, dict_id, lookups, records, facts)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )?;
    let mut tail = tx.prepare_cached(
        "INSERT INTO signin_tail (block_id, n, keys, min_ms, max_ms) VALUES (?, ?, ?, ?, ?)",
    )?;
    let mut id_key = tx.prepare_cached(
        "INSERT INTO signin_id_keys (hash, block_id, positions) VALUES (?, ?, ?)",
    )?;
    for (p, (dict_id, b)) in plans.iter().zip(&built) {
        let id = next;
        let n = p.members.len() as i64;
        ins.execute(params![
            id,
            p.tenant_id,
            n,
            p.min_ms,
            p.max_ms,
            dict_id,
            b.lookups,
            b.records,
            b.facts
        ])?;
        tail.execute(params![id, n, b.keys, p.min_ms, p.max_ms])?;
        for (h, positions) in &b.ids {
            id_key.execute(params![*h as i64, id, positions])?;
        }
        for (pos, &i) in p.members.iter().enumerate() {
            seqs[i] = id + pos as i64;
        }
        next += n;
    }
    exec(
        tx,
        "INSERT INTO log_meta (key, value) VALUES ('last_seq', ?)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [next - 1],
    )?;
    seal(s, tx)?;
    Ok((packed, seqs))
}

/// The most runs one append seals: after an upgrade (migration 8 puts every block
/// written before into the tail) the tail shrinks by this many runs an append rather
/// than in one long transaction.
const SEALS_PER_APPEND: usize = 4;

/// Seal the tail into runs while it holds [`RUN_RECORDS`] records or [`RUN_BLOCKS`]
/// blocks.
fn seal(s: &SqliteStore, tx: &Transaction<'_>) -> Result<()> {
    for _ in 0..SEALS_PER_APPEND {
        let (blocks, records): (i64, i64) = one(
            tx,
            "SELECT count(*), coalesce(sum(n), 0) FROM signin_tail",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?
        .unwrap_or((0, 0));
        if blocks < RUN_BLOCKS && records < RUN_RECORDS {
            break;
        }
        seal_run(s, tx)?;
    }
    Ok(())
}

/// A tail block as sealing reads it: (id, n, keys, dict id, tenant, min ms, max ms).
type TailBlock = (i64, i64, Option<Vec<u8>>, i64, String, i64, i64);

/// Seal the oldest tail blocks, up to [`RUN_RECORDS`] records (at least one block),
/// into a run: one `signin_run_keys` row per distinct key hash, written in hash order
/// after every older run's (the run is the key's first column), and the blocks leave
/// the tail.
fn seal_run(s: &SqliteStore, tx: &Transaction<'_>) -> Result<()> {
    let candidates: Vec<TailBlock> = all(
        tx,
        "SELECT t.block_id, t.n, t.keys, b.dict_id, b.tenant_id, b.min_ms, b.max_ms
           FROM signin_tail t CROSS JOIN signin_blocks b ON b.id = t.block_id
          ORDER BY t.block_id LIMIT ?",
        [RUN_BLOCKS],
        |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
            ))
        },
    )?;
    let mut records = 0i64;
    let mut taken = Vec::new();
    for b in candidates {
        if !taken.is_empty() && records + b.1 > RUN_RECORDS {
            break;
        }
        records += b.1;
        taken.push(b);
    }
    let (Some(first), Some(last)) = (taken.first(), taken.last()) else {
        // Tail rows whose blocks are gone: nothing to seal, only to forget.
        exec(tx, "DELETE FROM signin_tail", [])?;
        return Ok(());
    };
    let (run, last_block, last_seq) = (first.0, last.0, last.0 + last.1 - 1);
    let mut by_hash: HashMap<u64, Vec<i64>> = HashMap::new();
    let (mut min_ms, mut max_ms) = (i64::MAX, i64::MIN);
    for (id, n, keys, dict_id, tenant, lo, hi) in &taken {
        min_ms = min_ms.min(*lo);
        max_ms = max_ms.max(*hi);
        let keys = match keys {
            Some(k) => k.clone(),
            // Written before `keys` lists were: from its records.
            None => match block_records(s, tx, &(*id, *n, *dict_id, None)) {
                Ok(r) => {
                    let (keys, ids) = block::keys_of_records(tenant, *id, &r);
                    let mut ins = tx.prepare_cached(
                        "INSERT OR IGNORE INTO signin_id_keys (hash, block_id, positions) VALUES (?, ?, ?)",
                    )?;
                    for (h, positions) in ids {
                        ins.execute(params![h as i64, id, positions])?;
                    }
                    keys
                }
                Err(e) => {
                    tracing::warn!(block = id, error = %e, "a sign-in block that cannot be read is sealed without its keys: it is found by its tenant and time only");
                    Vec::new()
                }
            },
        };
        for (h, pos) in block::hash_entries(&keys) {
            by_hash.entry(h).or_default().push(id + i64::from(pos));
        }
    }
    // In the primary key's order, so the run's rows are appended, not scattered.
    let mut rows: Vec<(i64, Vec<i64>)> = by_hash.into_iter().map(|(h, v)| (h as i64, v)).collect();
    rows.sort_unstable_by_key(|r| r.0);
    let mut ins =
        tx.prepare_cached("INSERT INTO signin_run_keys (run, hash, seqs) VALUES (?, ?, ?)")?;
    for (h, seqs) in rows {
        ins.execute(params![run, h, block::put_seqs(run, &seqs)])?;
    }
    exec(
        tx,
        "INSERT INTO signin_runs (id, last_seq, min_ms, max_ms) VALUES (?, ?, ?, ?)",
        params![run, last_seq, min_ms, max_ms],
    )?;
    exec(
        tx,
        "DELETE FROM signin_tail WHERE block_id <= ?",
        [last_block],
    )?;
    Ok(())
}

/// A block's row as a query reads it: (id, n, dict id, positions if by key rows).
type Head = (i64, i64, i64, Option<Vec<u16>>);

/// The records of block `h` at its positions (all for `None`), newest first: its
/// `records` column read and unpacked with its dictionary.
fn block_records(s: &SqliteStore, c: &Connection, h: &Head) -> Result<Vec<BlockRecord>> {
    let (id, n, dict_id, positions) = h;
    let records: Vec<u8> = one(
        c,
        "SELECT records FROM signin_blocks WHERE id = ?",
        [id],
        |r| Ok(r.get(0)?),
    )?
    .ok_or_else(|| StoreError::Corrupt(format!("sign-in block {id} is missing")))?;
    let dict = s
        .dicts
        .get_or_open(*dict_id, |id| crate::sqlite_signin_log::load_dict(c, id))?;
    block::records(
        &Stored {
            id: *id,
            n: *n,
            dict: &dict,
            column: &records,
        },
        positions.as_deref(),
    )
}

/// The records of `q` from blocks, newest first, at most `want`.
pub(crate) fn signins(
    s: &SqliteStore,
    c: &Connection,
    q: &SignInQuery,
    with_facts: bool,
    want: usize,
) -> Result<Vec<SignInRow>> {
    let mut out: Vec<SignInRow> = Vec::new();
    // Read one block's records at its positions (all for `None`) and keep those that
    // answer the query; false once enough are kept.
    let mut take = |c: &Connection, h: &Head| -> Result<bool> {
        let hits: Vec<BlockRecord> = block_records(s, c, h)?
            .into_iter()
            .filter(|r| r.answers(q))
            .collect();
        if !hits.is_empty() && with_facts {
            let (id, n, dict_id, _) = h;
            let facts: Vec<u8> = one(
                c,
                "SELECT facts FROM signin_blocks WHERE id = ?",
                [id],
                |r| Ok(r.get(0)?),
            )?
            .unwrap_or_default();
            let dict = s
                .dicts
                .get_or_open(*dict_id, |id| crate::sqlite_signin_log::load_dict(c, id))?;
            let all_facts = block::facts(&Stored {
                id: *id,
                n: *n,
                dict: &dict,
                column: &facts,
            })?;
            let by_seq: HashMap<i64, FactsRow> =
                all_facts.into_iter().map(|f| (f.seq, f)).collect();
            for r in hits {
                let f = by_seq.get(&r.seq);
                let mut row = r.into_row();
                row.facts = f.and_then(|f| f.facts.clone());
                row.group_ids = match f.and_then(|f| f.group_set.as_deref()) {
                    Some(h) => group_ids(c, h)?,
                    None => None,
                };
                out.push(row);
            }
        } else {
            out.extend(hits.into_iter().map(BlockRecord::into_row));
        }
        Ok(out.len() < want)
    };
    let before = q.before_seq.unwrap_or(i64::MAX);
    let since = q.since_ms.unwrap_or(i64::MIN);
    let until = q.until_ms.unwrap_or(i64::MAX);
    match block::way(q) {
        Way::Seq(seq) => {
            if let Some(h) = one(
                c,
                "SELECT id, n, dict_id FROM signin_blocks WHERE id <= ?1 AND tenant_id = ?2
                  ORDER BY id DESC LIMIT 1",
                params![seq, q.tenant_id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )? {
                let (id, n, dict_id): (i64, i64, i64) = h;
                if seq < id + n {
                    let pos = u16::try_from(seq - id).unwrap_or(u16::MAX);
                    take(c, &(id, n, dict_id, Some(vec![pos])))?;
                }
            }
        }
        Way::Id { kind, key, time } => {
            let mut heads: Vec<Head> = by_id_key(
                c,
                block::key_of(kind, &q.tenant_id, &key),
                Some(&q.tenant_id),
                before,
            )?
            .into_iter()
            .map(|x| x.0)
            .collect();
            if let Some((t, lag)) = time {
                heads.extend(
                    by_time(c, Some(&q.tenant_id), t, lag, &key)?
                        .into_iter()
                        .map(|x| x.0),
                );
            }
            heads.sort_by_key(|h| std::cmp::Reverse(h.0));
            for h in &heads {
                if !take(c, h)? {
                    break;
                }
            }
        }
        Way::Key(kind, key) => keyed(
            c,
            block::key_of(kind, &q.tenant_id, &key),
            &q.tenant_id,
            (before, since, until),
            &mut |h| take(c, &h),
        )?,
        Way::Tenant => {
            let mut cursor = before;
            loop {
                let heads: Vec<Head> = all(
                    c,
                    "SELECT id, n, dict_id FROM signin_blocks INDEXED BY signin_blocks_tenant
                      WHERE tenant_id = ?1 AND id < ?2 AND max_ms >= ?3 AND min_ms < ?4
                      ORDER BY id DESC LIMIT ?5",
                    params![q.tenant_id, cursor, since, until, CHUNK],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, None)),
                )?;
                let Some(last) = heads.last() else { break };
                cursor = last.0;
                let mut more = true;
                for h in &heads {
                    more = take(c, h)?;
                    if !more {
                        break;
                    }
                }
                if !more || (heads.len() as i64) < CHUNK {
                    break;
                }
            }
        }
    }
    // Each distinct policy set once, by its hash.
    let mut sets: HashMap<String, Option<String>> = HashMap::new();
    for r in &mut out {
        if let Some(h) = r.policy_set.take() {
            if !sets.contains_key(&h) {
                let p = one(
                    c,
                    "SELECT policies FROM policy_sets WHERE hash = ?",
                    [&h],
                    |r| Ok(r.get::<_, String>(0)?),
                )?;
                sets.insert(h.clone(), p);
            }
            r.policy_set = sets.get(&h).cloned().flatten();
        }
    }
    out.truncate(want);
    Ok(out)
}

/// The group ids of a set, by its hash.
fn group_ids(c: &Connection, hash: &str) -> Result<Option<String>> {
    one(
        c,
        "SELECT ids FROM group_sets WHERE hash = ?",
        [hash],
        |r| Ok(r.get::<_, String>(0)?),
    )
}

/// Visit the blocks of `tenant` that may hold key hash `h` ([`block::key_of`]),
/// newest first, with the positions that may hold it (all for a block without a
/// `keys` list): first the tail's blocks by their `keys` lists, then each run's row of
/// `h`. `window` is (before, since, until): seqs older than `before`, blocks whose
/// time range meets [since, until). Stops when `visit` returns false.
fn keyed(
    c: &Connection,
    h: u64,
    tenant: &str,
    window: (i64, i64, i64),
    visit: &mut dyn FnMut(Head) -> Result<bool>,
) -> Result<()> {
    let (before, since, until) = window;
    // The tail first (CROSS JOIN keeps SQLite from walking the tenant's every block
    // for the few in the tail); a block without a `keys` list (None): all positions.
    let tail: Vec<Head> = all(
        c,
        "SELECT t.block_id, t.n, b.dict_id, t.keys
           FROM signin_tail t CROSS JOIN signin_blocks b ON b.id = t.block_id
          WHERE t.block_id < ?1 AND b.max_ms >= ?2 AND b.min_ms < ?3 AND b.tenant_id = ?4
          ORDER BY t.block_id DESC",
        params![before, since, until, tenant],
        |r| {
            let keys: Option<Vec<u8>> = r.get(3)?;
            let positions = keys.map(|k| block::lookup(&k, h));
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, positions))
        },
    )?;
    for head in tail {
        if head.3.as_ref().is_some_and(Vec::is_empty) {
            continue;
        }
        if !visit(head)? {
            return Ok(());
        }
    }
    let runs: Vec<i64> = all(
        c,
        "SELECT id FROM signin_runs WHERE id < ?1 AND max_ms >= ?2 AND min_ms < ?3 ORDER BY id DESC",
        params![before, since, until],
        |r| Ok(r.get(0)?),
    )?;
    for run in runs {
        let Some(bytes) = one(
            c,
            "SELECT seqs FROM signin_run_keys WHERE run = ? AND hash = ?",
            params![run, h as i64],
            |r| Ok(r.get::<_, Vec<u8>>(0)?),
        )?
        else {
            continue;
        };
        let seqs = block::read_seqs(run, &bytes)?;
        // Newest first, a block at a time.
        let mut i = seqs.partition_point(|&q| q < before);
        while i > 0 {
            let seq = seqs[i - 1];
            let found = one(
                c,
                "SELECT id, n, dict_id, tenant_id, min_ms, max_ms FROM signin_blocks
                  WHERE id <= ? ORDER BY id DESC LIMIT 1",
                [seq],
                |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, i64>(1)?,
                        r.get::<_, i64>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, i64>(4)?,
                        r.get::<_, i64>(5)?,
                    ))
                },
            )?;
            // No block at or before it: the run's older seqs were purged too.
            let Some((id, n, dict_id, t, lo, hi)) = found else {
                break;
            };
            let mut positions = Vec::new();
            while i > 0 && seqs[i - 1] >= id {
                if seqs[i - 1] < id + n {
                    positions.push(u16::try_from(seqs[i - 1] - id).unwrap_or(u16::MAX));
                }
                i -= 1;
            }
            let wanted = t == tenant && hi >= since && lo < until;
            if wanted && !positions.is_empty() && !visit((id, n, dict_id, Some(positions)))? {
                return Ok(());
            }
        }
    }
    Ok(())
}

/// The blocks that may hold an id or correlation id without its time, of hash `h`
/// ([`block::key_of`]), of `tenant` (any for `None`), older than `before`, newest
/// first, each with its tenant: its `signin_id_keys` rows, and the tail's blocks
/// written before `keys` lists were (their records decide).
fn by_id_key(
    c: &Connection,
    h: u64,
    tenant: Option<&str>,
    before: i64,
) -> Result<Vec<(Head, String)>> {
    let mut out: Vec<(Head, String)> = all(
        c,
        "SELECT b.id, b.n, b.dict_id, k.positions, b.tenant_id
           FROM signin_id_keys k JOIN signin_blocks b ON b.id = k.block_id
          WHERE k.hash = ?1 AND k.block_id < ?2 AND (?3 IS NULL OR b.tenant_id = ?3)",
        params![h as i64, before, tenant],
        |r| {
            Ok((
                (
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    Some(block::positions(&r.get::<_, Vec<u8>>(3)?)),
                ),
                r.get(4)?,
            ))
        },
    )?;
    out.extend(all(
        c,
        "SELECT t.block_id, t.n, b.dict_id, b.tenant_id
           FROM signin_tail t INDEXED BY signin_tail_unkeyed CROSS JOIN signin_blocks b ON b.id = t.block_id
          WHERE t.keys IS NULL AND t.block_id < ?1 AND (?2 IS NULL OR b.tenant_id = ?2)",
        params![before, tenant],
        |r| Ok(((r.get(0)?, r.get(1)?, r.get(2)?, None), r.get(3)?)),
    )?);
    out.sort_by_key(|x| std::cmp::Reverse(x.0 .0));
    Ok(out)
}

/// The blocks that may hold an id carrying time `t` (a record within `lag` of it),
/// of `tenant` (any for `None`), whose lookups name `key`: each with its tenant.
fn by_time(
    c: &Connection,
    tenant: Option<&str>,
    t: i64,
    lag: i64,
    key: &str,
) -> Result<Vec<(Head, String)>> {
    let h = block::key_hash(key);
    let mut st = c.prepare_cached(
        "SELECT id, n, dict_id, tenant_id, lookups FROM signin_blocks INDEXED BY signin_blocks_time
          WHERE min_ms BETWEEN ?1 AND ?2 AND max_ms >= ?3 AND (?4 IS NULL OR tenant_id = ?4)",
    )?;
    let mut rows = st.query(params![
        t.saturating_sub(lag).saturating_sub(MAX_SPAN_MS),
        t.saturating_add(lag),
        t.saturating_sub(lag),
        tenant
    ])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let positions = block::lookup(&r.get::<_, Vec<u8>>(4)?, h);
        if !positions.is_empty() {
            out.push((
                (r.get(0)?, r.get(1)?, r.get(2)?, Some(positions)),
                r.get(3)?,
            ));
        }
    }
    Ok(out)
}

/// The tenant of the newest block record with this correlation id, and its seq.
pub(crate) fn tenant_of(
    s: &SqliteStore,
    c: &Connection,
    correlation_id: &str,
) -> Result<Option<(String, i64)>> {
    // The lookups and `keys` lists hold hashes: the record itself decides.
    let find = |h: &Head| -> Result<Option<i64>> {
        Ok(block_records(s, c, h)?
            .into_iter()
            .find(|r| r.correlation_id == correlation_id)
            .map(|r| r.seq))
    };
    let mut best: Option<(String, i64)> = None;
    for (h, tenant) in by_id_key(
        c,
        block::key_of(kind::CORRELATION, "", correlation_id),
        None,
        i64::MAX,
    )? {
        if let Some(seq) = find(&h)? {
            best = Some((tenant, seq));
            break;
        }
    }
    if let Some(t) = block::time_of_id(correlation_id) {
        let mut found = by_time(c, None, t, block::CORRELATION_LAG_MS, correlation_id)?;
        found.sort_by_key(|f| std::cmp::Reverse(f.0 .0));
        for (h, tenant) in found {
            if best.as_ref().is_some_and(|b| b.1 > h.0 + h.1) {
                break;
            }
            if let Some(seq) = find(&h)? {
                if best.as_ref().is_none_or(|b| seq > b.1) {
                    best = Some((tenant, seq));
                }
                break;
            }
        }
    }
    Ok(best)
}

/// The facts of the tenant's block records since `since_ms`, older than `before`,
/// newest first, at most `limit`.
pub(crate) fn facts(
    s: &SqliteStore,
    c: &Connection,
    tenant_id: &str,
    since_ms: i64,
    before: i64,
    limit: usize,
) -> Result<Vec<FactsRow>> {
    let mut out = Vec::new();
    let mut cursor = before;
    let mut st = c.prepare_cached(
        "SELECT id, n, dict_id, facts FROM signin_blocks INDEXED BY signin_blocks_tenant
          WHERE tenant_id = ?1 AND id < ?2 AND max_ms >= ?3 ORDER BY id DESC",
    )?;
    let mut rows = st.query(params![tenant_id, cursor, since_ms])?;
    let mut dicts: HashMap<i64, Reader> = HashMap::new();
    while let Some(r) = rows.next()? {
        let (id, n, dict_id): (i64, i64, i64) = (r.get(0)?, r.get(1)?, r.get(2)?);
        let column: Vec<u8> = r.get(3)?;
        let dict = match dicts.get(&dict_id) {
            Some(d) => d.clone(),
            None => {
                let d = s
                    .dicts
                    .get_or_open(dict_id, |id| crate::sqlite_signin_log::load_dict(c, id))?;
                dicts.insert(dict_id, d.clone());
                d
            }
        };
        let b = Stored {
            id,
            n,
            dict: &dict,
            column: &column,
        };
        for f in block::facts(&b)? {
            if f.seq < cursor && f.created_ms >= since_ms {
                out.push(f);
                if out.len() >= limit {
                    return Ok(out);
                }
            }
        }
        cursor = cursor.min(id);
    }
    Ok(out)
}

/// How many records the tenant's blocks hold.
pub(crate) fn count(c: &Connection, tenant_id: &str) -> Result<u64> {
    Ok(one(
        c,
        "SELECT coalesce(SUM(n), 0) FROM signin_blocks WHERE tenant_id = ?",
        [tenant_id],
        |r| Ok(r.get::<_, i64>(0)?),
    )?
    .unwrap_or(0) as u64)
}

/// Delete whole blocks whose newest record is older than `before_ms`, oldest first,
/// as many as hold at most `batch` records (at least one block if any is due), and
/// the runs none of whose blocks are left; returns the records deleted.
pub(crate) fn purge(tx: &Transaction<'_>, before_ms: i64, batch: u32) -> Result<u64> {
    let due: Vec<(i64, i64)> = all(
        tx,
        "SELECT id, n FROM signin_blocks INDEXED BY signin_blocks_time
          WHERE min_ms < ?1 AND max_ms < ?1 ORDER BY min_ms LIMIT ?2",
        params![before_ms, i64::from(batch.max(1))],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let mut deleted = 0u64;
    let mut newest = i64::MIN;
    for (id, n) in due {
        if deleted > 0 && deleted + n as u64 > u64::from(batch) {
            break;
        }
        exec(tx, "DELETE FROM signin_blocks WHERE id = ?", [id])?;
        exec(tx, "DELETE FROM signin_tail WHERE block_id = ?", [id])?;
        exec(tx, "DELETE FROM signin_id_keys WHERE block_id = ?", [id])?;
        deleted += n as u64;
        newest = newest.max(id);
    }
    // A run goes when its last block has: its rows are a range of the key table.
    let runs: Vec<(i64, i64)> = all(
        tx,
        "SELECT r.id, r.last_seq FROM signin_runs r WHERE r.id <= ?1
            AND NOT EXISTS (SELECT 1 FROM signin_blocks b WHERE b.id BETWEEN r.id AND r.last_seq)",
        [newest],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    for (run, _) in runs {
        exec(tx, "DELETE FROM signin_run_keys WHERE run = ?", [run])?;
        exec(tx, "DELETE FROM signin_runs WHERE id = ?", [run])?;
    }
    Ok(deleted)
}

#[cfg(test)]
mod tests {
    use crate::signin_block::v7;
    use crate::signin_log::{SignInLog, SignInQuery};
    use crate::SqliteStore;
    use portvakt_core::signin::StoredSignIn;

    const T0: i64 = 1_800_000_000_000;

    fn rec(n: u32, t: i64, tenant: &str) -> StoredSignIn {
        StoredSignIn {
            id: v7(t, n),
            tenant_id: tenant.into(),
            created_ms: t,
            user_key: Some(format!("user{}", n % 3)),
            user_id: None,
            app_id: Some("app".into()),
            status: (n % 2) as u8,
            error_code: if n % 2 == 1 { 3010 } else { 0 },
            // The server's correlation id is made as the request arrives: a little
            // before the record's time.
            correlation_id: v7(t - 3, n + 1000),
            ip: Some("203.0.113.9".into()),
            ca_status: None,
            interactive: true,
            app_display_name: Some("App".into()),
            resource_id: None,
            client_app_used: None,
            record: format!("{{\"n\":{n}}}"),
            facts: Some(format!("{{\"f\":{n}}}")),
            group_set: None,
            policy_set: None,
            policy_results: vec![],
        }
    }

    fn q(tenant: &str) -> SignInQuery {
        SignInQuery {
            tenant_id: tenant.into(),
            limit: 1000,
            ..Default::default()
        }
    }

    async fn count(s: &SqliteStore, sql: &str) -> i64 {
        s.log_read(|c| Ok(c.query_row(sql, [], |r| r.get(0))?))
            .expect(sql)
    }

    #[tokio::test]
    async fn ids_that_carry_their_time_are_found_without_a_key_row_and_others_with_one() {
        let s = SqliteStore::in_memory().await.expect("store");
        let mut batch: Vec<StoredSignIn> =
            (0..40).map(|n| rec(n, T0 + i64::from(n), "t")).collect();
        // A caller's own correlation id, a test's id, and a v7 id whose time is not
        // the record's: key rows.
        batch[5].correlation_id = "caller-chosen-1".into();
        batch[6].id = "id-six".into();
        batch[7].correlation_id = v7(T0 - 3_600_000, 7);
        // Another tenant in the same batch, with the same user names.
        batch.push(rec(99, T0 + 50, "u"));
        s.append_signins(&batch).await.expect("append");
        assert_eq!(
            count(&s, "SELECT count(*) FROM signin_blocks").await,
            2,
            "a block per tenant"
        );
        // Id keys only for the three ids without their time; the others are found
        // by it.
        assert_eq!(
            count(&s, "SELECT count(*) FROM signin_id_keys").await,
            3,
            "id keys only for the three ids without their time"
        );
        for r in &batch {
            let by_id = s
                .signins(
                    &SignInQuery {
                        id: Some(r.id.clone()),
                        ..q(&r.tenant_id)
                    },
                    false,
                )
                .await
                .expect("by id");
            assert_eq!(by_id.rows.len(), 1, "{}", r.id);
            assert_eq!(by_id.rows[0].record, r.record);
            let by_cid = s
                .signins(
                    &SignInQuery {
                        correlation_id: Some(r.correlation_id.clone()),
                        ..q(&r.tenant_id)
                    },
                    false,
                )
                .await
                .expect("by correlation id");
            assert_eq!(by_cid.rows.len(), 1, "{}", r.correlation_id);
            assert_eq!(by_cid.rows[0].id, r.id);
            assert_eq!(
                s.signin_tenant(&r.correlation_id)
                    .await
                    .expect("tenant")
                    .as_deref(),
                Some(r.tenant_id.as_str())
            );
            // Not in the other tenant.
            let other = if r.tenant_id == "t" { "u" } else { "t" };
            assert!(s
                .signins(
                    &SignInQuery {
                        id: Some(r.id.clone()),
                        ..q(other)
                    },
                    false
                )
                .await
                .expect("other")
                .rows
                .is_empty());
        }
        assert_eq!(
            s.signin_tenant(&v7(T0 + 5, 5555)).await.expect("none"),
            None
        );
        assert_eq!(s.count_signins("t").await.expect("count"), 40);
        // By user: the key rows, newest first, with the other filters.
        let kim = s
            .signins(
                &SignInQuery {
                    user: Some("USER1".into()),
                    status: Some(1),
                    ..q("t")
                },
                false,
            )
            .await
            .expect("user");
        let want: Vec<i64> = batch[..40]
            .iter()
            .rev()
            .filter(|r| r.user_key.as_deref() == Some("user1") && r.status == 1)
            .map(|r| r.created_ms)
            .collect();
        assert_eq!(
            kim.rows.iter().map(|r| r.created_ms).collect::<Vec<_>>(),
            want
        );
    }

    #[tokio::test]
    async fn a_batch_wider_than_a_block_may_span_is_split_and_still_found_by_time() {
        let s = SqliteStore::in_memory().await.expect("store");
        let times = [
            T0,
            T0 + 10,
            T0 + super::MAX_SPAN_MS + 1,
            T0 + 20,
            T0 - 5 * super::MAX_SPAN_MS,
        ];
        let batch: Vec<StoredSignIn> = times
            .iter()
            .enumerate()
            .map(|(i, t)| rec(i as u32, *t, "t"))
            .collect();
        s.append_signins(&batch).await.expect("append");
        let spans: Vec<(i64, i64)> = s
            .log_read(|c| {
                crate::conns::all(c, "SELECT min_ms, max_ms FROM signin_blocks", [], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
            })
            .expect("blocks");
        assert!(spans.len() >= 3, "{spans:?}");
        assert!(
            spans.iter().all(|(a, b)| b - a <= super::MAX_SPAN_MS),
            "{spans:?}"
        );
        for r in &batch {
            let got = s
                .signins(
                    &SignInQuery {
                        id: Some(r.id.clone()),
                        ..q("t")
                    },
                    false,
                )
                .await
                .expect("by id");
            assert_eq!(got.rows.len(), 1, "{}", r.created_ms);
        }
        // Newest first is by seq: the batch's order.
        let all = s.signins(&q("t"), false).await.expect("all");
        let mut seqs: Vec<i64> = all.rows.iter().map(|r| r.seq).collect();
        let sorted = {
            let mut v = seqs.clone();
            v.sort_by(|a, b| b.cmp(a));
            v
        };
        assert_eq!(seqs, sorted);
        seqs.sort();
        seqs.dedup();
        assert_eq!(seqs.len(), batch.len(), "a seq each");
    }

    #[tokio::test]
    async fn pages_run_from_blocks_into_rows_without_gaps_or_repeats() {
        let s = SqliteStore::in_memory().await.expect("store");
        // Rows as the schema before blocks wrote them (seqs 1..=30), then blocks.
        s.log_write(|c| {
            for n in 1..=30i64 {
                c.execute(
                    "INSERT INTO signins (seq, id, tenant_id, created_ms, user_key, app_id, status, error_code,
                       correlation_id, interactive, record)
                     VALUES (?1, ?2, 't', ?3, 'user0', 'app', 0, 0, ?4, 1, ?5)",
                    rusqlite::params![n, format!("row-{n}"), T0 + n, format!("rc-{n}"), format!("{{\"row\":{n}}}")],
                )?;
            }
            Ok(())
        })
        .expect("rows");
        for chunk in (0..45u32).collect::<Vec<_>>().chunks(7) {
            let batch: Vec<StoredSignIn> = chunk
                .iter()
                .map(|&n| rec(n, T0 + 100 + i64::from(n), "t"))
                .collect();
            s.append_signins(&batch).await.expect("append");
        }
        let mut seen = Vec::new();
        let mut before = None;
        loop {
            let page = s
                .signins(
                    &SignInQuery {
                        limit: 10,
                        before_seq: before,
                        ..q("t")
                    },
                    false,
                )
                .await
                .expect("page");
            seen.extend(page.rows.iter().map(|r| r.seq));
            match page.next {
                Some(n) => before = Some(n),
                None => break,
            }
        }
        assert_eq!(seen.len(), 75, "every record once");
        assert!(
            seen.windows(2).all(|w| w[0] > w[1]),
            "newest first: {seen:?}"
        );
        assert_eq!(*seen.last().expect("some"), 1);
        assert!(
            seen[..45].iter().all(|&q| q > 30),
            "blocks' seqs after the rows'"
        );
        // Replay's facts read the same way: blocks then rows.
        let facts = s.signin_facts("t", 0, None, 10_000).await.expect("facts");
        assert_eq!(facts.iter().map(|f| f.seq).collect::<Vec<_>>(), seen);
        // Retention: the rows and the blocks wholly before the cutoff; a block
        // straddling it stays.
        let cutoff = T0 + 100 + 10; // inside the second block (records 7..13)
        let mut purged = 0;
        loop {
            let n = s.purge_signins(cutoff, 4).await.expect("purge");
            if n == 0 {
                break;
            }
            purged += n;
        }
        assert_eq!(purged, 30 + 7, "the rows and the first block");
        assert_eq!(s.count_signins("t").await.expect("left"), 45 - 7);
        assert_eq!(
            count(&s, "SELECT count(*) FROM signin_tail WHERE block_id NOT IN (SELECT id FROM signin_blocks)").await,
            0,
            "a purged block leaves the tail"
        );
        // A seq is never given again, even when every record has gone.
        while s.purge_signins(i64::MAX, 1000).await.expect("all") > 0 {}
        s.append_signins(&[rec(500, T0 + 900, "t")])
            .await
            .expect("again");
        let newest = s.signins(&q("t"), false).await.expect("q");
        assert!(
            newest.rows[0].seq > seen[0],
            "{} after {}",
            newest.rows[0].seq,
            seen[0]
        );
    }

    #[tokio::test]
    async fn a_damaged_block_is_an_error_never_a_panic_or_a_wrong_record() {
        let s = SqliteStore::in_memory().await.expect("store");
        let batch: Vec<StoredSignIn> = (0..40).map(|n| rec(n, T0 + i64::from(n), "t")).collect();
        s.append_signins(&batch).await.expect("append");
        for damage in [
            "UPDATE signin_blocks SET records = substr(records, 1, length(records) - 7)",
            "UPDATE signin_blocks SET records = x'ffffffff'",
            "UPDATE signin_blocks SET records = x''",
            "UPDATE signin_blocks SET n = n + 100",
        ] {
            let s2 = SqliteStore::in_memory().await.expect("store");
            s2.append_signins(&batch).await.expect("append");
            s2.log_write(|c| Ok(c.execute_batch(damage)?))
                .expect(damage);
            match s2.signins(&q("t"), false).await {
                Err(crate::StoreError::Corrupt(m)) => assert!(m.contains("block"), "{damage}: {m}"),
                Ok(p) => panic!("{damage}: read {} rows", p.rows.len()),
                Err(e) => panic!("{damage}: {e}"),
            }
        }
        assert_eq!(
            s.signins(&q("t"), false).await.expect("intact").rows.len(),
            40
        );
    }

    /// Every record of `tenant` with user `user` (all users for `None`) in [since,
    /// until), newest first, read in pages of 37, as ids.
    async fn paged(
        s: &SqliteStore,
        tenant: &str,
        user: Option<&str>,
        ip: Option<&str>,
        window: (Option<i64>, Option<i64>),
        status: Option<u8>,
    ) -> Vec<String> {
        let mut out = Vec::new();
        let mut before = None;
        loop {
            let page = s
                .signins(
                    &SignInQuery {
                        user: user.map(str::to_string),
                        ip: ip.map(str::to_string),
                        status,
                        since_ms: window.0,
                        until_ms: window.1,
                        before_seq: before,
                        limit: 37,
                        ..q(tenant)
                    },
                    false,
                )
                .await
                .expect("page");
            out.extend(page.rows.iter().map(|r| r.id.clone()));
            match page.next {
                Some(n) => before = Some(n),
                None => return out,
            }
        }
    }

    /// Every caller-chosen correlation id of `all` is found, in its tenant and by
    /// `signin_tenant`.
    async fn callers_found(s: &SqliteStore, all: &[StoredSignIn]) {
        for r in all
            .iter()
            .filter(|r| r.correlation_id.starts_with("caller-"))
        {
            let got = s
                .signins(
                    &SignInQuery {
                        correlation_id: Some(r.correlation_id.clone()),
                        ..q("t")
                    },
                    false,
                )
                .await
                .expect("by correlation id");
            assert_eq!(
                got.rows.iter().map(|x| &x.id).collect::<Vec<_>>(),
                vec![&r.id]
            );
            assert_eq!(
                s.signin_tenant(&r.correlation_id)
                    .await
                    .expect("tenant")
                    .as_deref(),
                Some("t")
            );
        }
    }

    #[tokio::test]
    async fn a_sealed_tail_is_found_through_its_runs_as_it_was_in_the_tail() {
        let s = SqliteStore::in_memory().await.expect("store");
        // 1,100 batches of a record of each of two tenants: 2,200 blocks, two runs of
        // RUN_BLOCKS blocks and a tail. Every 97th record has a correlation id of the
        // caller's (no time): found by its key.
        let mut all: Vec<StoredSignIn> = Vec::new();
        for n in 0..1_100u32 {
            let t = T0 + i64::from(n) * 1_000;
            let mut batch = vec![rec(n, t, "t"), rec(n + 5_000, t, "u")];
            batch[1].ip = Some(format!("198.51.100.{}", n % 5));
            if n % 97 == 0 {
                batch[0].correlation_id = format!("caller-{n}");
            }
            s.append_signins(&batch).await.expect("append");
            all.extend(batch);
        }
        let runs = count(&s, "SELECT count(*) FROM signin_runs").await;
        let tail = count(&s, "SELECT count(*) FROM signin_tail").await;
        assert_eq!(runs, 2, "two runs sealed");
        assert_eq!(tail, 2_200 - 2 * super::RUN_BLOCKS, "the rest in the tail");
        fn want(
            all: &[StoredSignIn],
            tenant: &str,
            user: Option<&str>,
            ip: Option<&str>,
            since: i64,
            until: i64,
        ) -> Vec<String> {
            let mut v: Vec<&StoredSignIn> = all
                .iter()
                .filter(|r| {
                    r.tenant_id == tenant
                        && user.is_none_or(|u| r.user_key.as_deref() == Some(u))
                        && ip.is_none_or(|i| r.ip.as_deref() == Some(i))
                        && r.created_ms >= since
                        && r.created_ms < until
                })
                .collect();
            v.reverse();
            v.into_iter().map(|r| r.id.clone()).collect()
        }
        // Over the tail and both runs, and windows across their borders.
        for (since, until) in [
            (None, None),
            (Some(T0 + 500_000), Some(T0 + 1_050_000)),
            (Some(T0 + 1_030_000), None),
            (None, Some(T0 + 2_000)),
        ] {
            let (lo, hi) = (since.unwrap_or(i64::MIN), until.unwrap_or(i64::MAX));
            let got = paged(&s, "t", Some("user1"), None, (since, until), None).await;
            assert_eq!(
                got,
                want(&all, "t", Some("user1"), None, lo, hi),
                "{since:?}..{until:?}"
            );
            assert!(!got.is_empty(), "{since:?}..{until:?}");
            // The user's failures: their own key.
            let failed: Vec<String> = all
                .iter()
                .rev()
                .filter(|r| {
                    r.tenant_id == "t"
                        && r.user_key.as_deref() == Some("user1")
                        && r.status == 1
                        && r.created_ms >= lo
                        && r.created_ms < hi
                })
                .map(|r| r.id.clone())
                .collect();
            let got = paged(&s, "t", Some("USER1"), None, (since, until), Some(1)).await;
            assert_eq!(got, failed, "{since:?}..{until:?}");
            assert!(!failed.is_empty());
            // An address both tenants use: each finds its own records only.
            let got = paged(&s, "u", None, Some("198.51.100.3"), (since, until), None).await;
            assert_eq!(got, want(&all, "u", None, Some("198.51.100.3"), lo, hi));
            assert!(
                paged(&s, "u", None, Some("203.0.113.9"), (since, until), None)
                    .await
                    .is_empty()
            );
        }
        callers_found(&s, &all).await;
        // Blocks written before `keys` lists (migration 8 puts them in the tail with
        // none): found by their records, and sealed from them by the next appends.
        s.log_write(|c| {
            Ok(c.execute_batch(
                "DELETE FROM signin_run_keys; DELETE FROM signin_runs; DELETE FROM signin_tail;
                 DELETE FROM signin_id_keys;
                 INSERT INTO signin_tail (block_id, n, keys) SELECT id, n, NULL FROM signin_blocks;",
            )?)
        })
        .expect("as before migration 8");
        assert_eq!(
            paged(&s, "t", Some("user0"), None, (None, None), None).await,
            want(&all, "t", Some("user0"), None, i64::MIN, i64::MAX)
        );
        callers_found(&s, &all).await;
        let last = rec(9_999, T0 + 2_000_000, "t");
        s.append_signins(std::slice::from_ref(&last))
            .await
            .expect("append");
        all.push(last);
        assert_eq!(
            count(&s, "SELECT count(*) FROM signin_runs").await,
            2,
            "sealed again from the records"
        );
        assert_eq!(
            count(&s, "SELECT count(*) FROM signin_run_keys WHERE run NOT IN (SELECT id FROM signin_runs)").await,
            0
        );
        callers_found(&s, &all).await;
        for user in ["user0", "user1", "user2"] {
            assert_eq!(
                paged(&s, "t", Some(user), None, (None, None), None).await,
                want(&all, "t", Some(user), None, i64::MIN, i64::MAX),
                "{user}"
            );
        }
        // Retention inside the second run: the first run goes with its keys, the
        // second stays for the blocks it still has, and lookups stay exact.
        let cutoff = T0 + 700_000;
        while s.purge_signins(cutoff, 500).await.expect("purge") > 0 {}
        assert_eq!(count(&s, "SELECT count(*) FROM signin_runs").await, 1);
        assert_eq!(
            count(&s, "SELECT count(*) FROM signin_run_keys WHERE run NOT IN (SELECT id FROM signin_runs)").await,
            0,
            "a purged run's keys go with it"
        );
        all.retain(|r| r.created_ms >= cutoff);
        assert_eq!(
            paged(&s, "t", Some("user2"), None, (None, None), None).await,
            want(&all, "t", Some("user2"), None, i64::MIN, i64::MAX)
        );
    }
}
