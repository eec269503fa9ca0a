//! The PostgreSQL side of the sign-in log's blocks (docs/design/sign-in-log-blocks.md,
//! "PostgreSQL on blocks"; `crate::signin_block` holds the layout and the answers
//! both engines share, `crate::sqlite_signin_blocks` SQLite's side).
//!
//! What differs from SQLite, all of it because several nodes write at once:
//! - a block's id (its first seq) is one `nextval` of `signin_block_ids`, which
//!   steps by the most records a block holds, so writers never share a seq;
//! - a writer whose append finds the tail full seals it only if it gets the seal's
//!   advisory lock for its transaction; the others leave it to that one;
//! - a run holds the tail blocks its sealer saw: a block another node commits later
//!   with a smaller id stays in the tail, and runs may overlap in seqs. A lookup by
//!   key therefore merges the tail's and the runs' seqs in one max-heap, loading a
//!   run before it pops a seq at or below the run's last (runs by `last_seq`,
//!   newest first), so records still come newest first;
//! - `signin_blocks` is partitioned by day on `min_ms`: a block is read by
//!   `(id, min_ms)` (one partition), and a seq's block within its run's days.

use crate::pg::filter::pg_text;
use crate::pg::PgStore;
use crate::record_pack::{NewDict, Packed, Reader};
use crate::signin_block::{
    self as block, kind, BlockRecord, Stored, Way, MAX_SPAN_MS, RUN_BLOCKS, RUN_RECORDS,
};
use crate::signin_log::{FactsRow, SignInQuery, SignInRow};
use crate::{Result, StoreError};
use deadpool_postgres::GenericClient;
use portvakt_core::signin::StoredSignIn;
use std::collections::{BTreeMap, BinaryHeap, HashMap};
use tokio_postgres::types::ToSql;

/// One id a block of the batch, from the sequence that steps by a block's most
/// records.
const BLOCK_IDS: &str = "SELECT nextval('signin_block_ids') FROM generate_series(1, $1::bigint)";
/// The batch's blocks: one statement over arrays (a batch has a block a tenant).
const INSERT_BLOCKS: &str = "INSERT INTO signin_blocks
        (id, tenant_id, n, min_ms, max_ms, dict_id, lookups, records, facts)
     SELECT * FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[],
                          $6::bigint[], $7::bytea[], $8::bytea[], $9::bytea[])";
/// Their tail rows, with their keys lists and time ranges.
const INSERT_TAIL: &str = "INSERT INTO signin_tail (block_id, n, keys, min_ms, max_ms)
     SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bytea[], $4::bigint[], $5::bigint[])";
/// Ids and correlation ids without their time (rare: a caller's own correlation id).
const INSERT_ID_KEYS: &str = "INSERT INTO signin_id_keys (hash, block_id, positions)
     SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bytea[]) ON CONFLICT DO NOTHING";
/// How much the tail holds.
const TAIL_SIZE: &str = "SELECT count(*), coalesce(sum(n), 0)::bigint FROM signin_tail";
/// One sealer at a time, until its transaction ends ("PVseal__").
const SEAL_LOCK: &str = "SELECT pg_try_advisory_xact_lock(5788941273484746591)";
/// The oldest tail blocks, for a seal.
const TAIL_OLDEST: &str = "SELECT block_id, n, keys, min_ms, max_ms FROM signin_tail
      ORDER BY block_id LIMIT $1";
/// A run's key rows, in (run, hash) order.
const INSERT_RUN_KEYS: &str = "INSERT INTO signin_run_keys (run, hash, seqs)
     SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bytea[])";
const INSERT_RUN: &str =
    "INSERT INTO signin_runs (id, last_seq, min_ms, max_ms) VALUES ($1, $2, $3, $4)";
/// Exactly the sealed blocks leave the tail: one another node committed meanwhile
/// with a smaller id stays.
const TAIL_SEALED: &str = "DELETE FROM signin_tail WHERE block_id = ANY($1::bigint[])";

/// A block's records (and what checks them), by its whole key: one partition.
const BLOCK_RECORDS: &str =
    "SELECT tenant_id, dict_id, n, records FROM signin_blocks WHERE id = $1 AND min_ms = $2";
/// A block's facts, by its whole key.
const BLOCK_FACTS: &str = "SELECT facts FROM signin_blocks WHERE id = $1 AND min_ms = $2";
/// The tail blocks of a window, with their keys lists.
const TAIL_IN: &str = "SELECT block_id, n, keys, min_ms FROM signin_tail
      WHERE block_id < $1::bigint AND coalesce(max_ms, $2::bigint) >= $2::bigint
        AND coalesce(min_ms, $3::bigint - 1) < $3::bigint";
/// The runs of a window, the one with the newest seq first.
const RUNS_IN: &str = "SELECT id, last_seq, min_ms, max_ms FROM signin_runs
      WHERE id < $1 AND max_ms >= $2 AND min_ms < $3 ORDER BY last_seq DESC, id DESC";
/// The key rows of one hash in some runs.
const RUN_KEYS: &str =
    "SELECT run, seqs FROM signin_run_keys WHERE hash = $1 AND run = ANY($2::bigint[])";
/// The block holding a seq of a run: the newest at or before it, in the run's days.
const BLOCK_AT: &str = "SELECT id, n, tenant_id, min_ms, max_ms FROM signin_blocks
      WHERE id <= $1 AND min_ms BETWEEN $2 AND $3 ORDER BY id DESC LIMIT 1";
/// The tenant's block holding a seq.
const TENANT_BLOCK_AT: &str = "SELECT id, n, min_ms FROM signin_blocks
      WHERE id <= $1 AND tenant_id = $2 ORDER BY id DESC LIMIT 1";
/// The tenant's blocks of a window, newest first, a chunk at a time.
const TENANT_BLOCKS: &str = "SELECT id, n, min_ms FROM signin_blocks
      WHERE tenant_id = $1 AND id < $2 AND max_ms >= $3 AND min_ms >= $4 AND min_ms < $5
      ORDER BY id DESC LIMIT $6";
/// The tenant's blocks since a time, newest first, with their facts.
const TENANT_FACTS: &str = "SELECT id, n, dict_id, facts FROM signin_blocks
      WHERE tenant_id = $1 AND id < $2 AND max_ms >= $3 AND min_ms >= $4
      ORDER BY id DESC LIMIT $5";
/// The id keys of a hash.
const ID_KEYS: &str =
    "SELECT block_id, positions FROM signin_id_keys WHERE hash = $1 AND block_id < $2";
/// Blocks by id alone (every day's partition: for the rare id keys only).
const BLOCKS_BY_ID: &str = "SELECT id, n, min_ms FROM signin_blocks WHERE id = ANY($1::bigint[])";
/// The blocks whose time range may hold a time, with their lookups lists.
const BLOCKS_AT_TIME: &str = "SELECT id, n, min_ms, lookups FROM signin_blocks
      WHERE min_ms BETWEEN $1 AND $2 AND max_ms >= $3 AND ($4::text IS NULL OR tenant_id = $4)";
const COUNT: &str = "SELECT coalesce(sum(n), 0)::bigint FROM signin_blocks WHERE tenant_id = $1";
const POLICY_SETS: &str = "SELECT hash, policies FROM policy_sets WHERE hash = ANY($1::text[])";
const GROUP_SET: &str = "SELECT ids FROM group_sets WHERE hash = $1";
/// Blocks whose newest record is due, oldest first.
const DUE: &str = "SELECT id, n, min_ms FROM signin_blocks
      WHERE min_ms < $1 AND max_ms < $1 ORDER BY min_ms LIMIT $2";
const DELETE_BLOCKS: &str =
    "DELETE FROM signin_blocks b USING unnest($1::bigint[], $2::bigint[]) AS g(id, min_ms)
      WHERE b.id = g.id AND b.min_ms = g.min_ms";
const DELETE_TAIL: &str = "DELETE FROM signin_tail WHERE block_id = ANY($1::bigint[])";
const DELETE_ID_KEYS: &str = "DELETE FROM signin_id_keys WHERE block_id = ANY($1::bigint[])";
/// Runs of days before `$1` none of whose blocks is left.
const EMPTY_RUNS: &str = "SELECT r.id FROM signin_runs r WHERE r.min_ms < $1
        AND NOT EXISTS (SELECT 1 FROM signin_blocks b
                         WHERE b.id BETWEEN r.id AND r.last_seq AND b.min_ms BETWEEN r.min_ms AND r.max_ms)";
const DELETE_RUN_KEYS: &str = "DELETE FROM signin_run_keys WHERE run = ANY($1::bigint[])";
const DELETE_RUNS: &str = "DELETE FROM signin_runs WHERE id = ANY($1::bigint[])";
/// After whole days were dropped: their tail rows and id keys.
const ORPHAN_TAIL: &str = "DELETE FROM signin_tail t WHERE coalesce(t.min_ms, 0) < $1
        AND NOT EXISTS (SELECT 1 FROM signin_blocks b WHERE b.id = t.block_id)";
const ORPHAN_ID_KEYS: &str = "DELETE FROM signin_id_keys k
      WHERE NOT EXISTS (SELECT 1 FROM signin_blocks b WHERE b.id = k.block_id)";

/// Blocks a query reads a statement at a time while it looks for more.
const CHUNK: i64 = 16;
/// Runs whose key rows a lookup reads a statement at a time.
const RUN_CHUNK: usize = 32;
/// The most runs one append seals (as SQLite's).
const SEALS_PER_APPEND: usize = 4;

/// A count or seq as `bigint`.
fn big(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// A position in a block, from a seq and the block's id.
fn pos(seq: i64, id: i64) -> u16 {
    u16::try_from(seq - id).unwrap_or(u16::MAX)
}

/// Write `batch` as blocks in `tx`, its dictionaries made already (`made`): the
/// blocks, their tail rows and id keys, then a seal if the tail is full. Returns the
/// dictionaries to adopt after the commit and each record's seq, or the error of the
/// blocks' insert (a day without its partition is the caller's to handle).
pub(super) async fn append(
    st: &PgStore,
    tx: &deadpool_postgres::Transaction<'_>,
    batch: &[StoredSignIn],
    made: Vec<(NewDict, i64)>,
) -> Result<std::result::Result<(Packed, Vec<i64>), tokio_postgres::Error>> {
    let (plans, built, packed) = block::pack(&st.dicts, batch, made)?;
    let ids_st = tx.prepare_cached(BLOCK_IDS).await?;
    let mut ids: Vec<i64> = tx
        .query(&ids_st, &[&big(plans.len())])
        .await?
        .iter()
        .map(|r| r.try_get(0))
        .collect::<std::result::Result<_, _>>()?;
    ids.sort_unstable();
    if ids.len() != plans.len() {
        return Err(StoreError::Unavailable(format!(
            "PostgreSQL gave {} block ids for {} blocks",
            ids.len(),
            plans.len()
        )));
    }
    let mut seqs = vec![0i64; batch.len()];
    let (mut tenants, mut ns, mut mins, mut maxs, mut dict_ids) =
        (vec![], vec![], vec![], vec![], vec![]);
    let (mut lookups, mut records, mut facts, mut keys) = (vec![], vec![], vec![], vec![]);
    let (mut k_hash, mut k_block, mut k_pos) = (vec![], vec![], vec![]);
    for ((p, (dict_id, b)), &id) in plans.iter().zip(&built).zip(&ids) {
        for (at, &i) in p.members.iter().enumerate() {
            seqs[i] = id + big(at);
        }
        tenants.push(pg_text(&p.tenant_id));
        ns.push(big(p.members.len()));
        mins.push(p.min_ms);
        maxs.push(p.max_ms);
        dict_ids.push(*dict_id);
        lookups.push(b.lookups.as_slice());
        records.push(b.records.as_slice());
        facts.push(b.facts.as_slice());
        keys.push(b.keys.as_slice());
        for (h, positions) in &b.ids {
            k_hash.push(*h as i64);
            k_block.push(id);
            k_pos.push(positions.as_slice());
        }
    }
    let (ins_blocks, ins_tail) = tokio::try_join!(
        tx.prepare_cached(INSERT_BLOCKS),
        tx.prepare_cached(INSERT_TAIL)
    )?;
    type Args<'a> = [&'a (dyn ToSql + Sync)];
    let blocks_args: &Args = &[
        &ids, &tenants, &ns, &mins, &maxs, &dict_ids, &lookups, &records, &facts,
    ];
    let tail_args: &Args = &[&ids, &ns, &keys, &mins, &maxs];
    // Pipelined; the blocks' error first (a missing day fails it, and the tail's
    // insert then only because the transaction is aborted).
    let (a, b) = tokio::join!(
        tx.execute(&ins_blocks, blocks_args),
        tx.execute(&ins_tail, tail_args)
    );
    if let Err(e) = a {
        return Ok(Err(e));
    }
    b?;
    if !k_hash.is_empty() {
        let st = tx.prepare_cached(INSERT_ID_KEYS).await?;
        tx.execute(&st, &[&k_hash, &k_block, &k_pos]).await?;
    }
    seal(st, tx, batch.len(), plans.len()).await?;
    Ok(Ok((packed, seqs)))
}

/// A node counts the tail (a scan of its rows, ~0.7 ms) only after it wrote this many
/// records or blocks since it last did: the tail may then exceed its bounds by this
/// much a node before a seal.
const CHECK_RECORDS: i64 = RUN_RECORDS / 16;
const CHECK_BLOCKS: i64 = RUN_BLOCKS / 16;

/// Seal the tail into runs while it holds [`RUN_RECORDS`] records or [`RUN_BLOCKS`]
/// blocks, if this transaction gets the seal's lock (else another node's does);
/// looked at once this node wrote [`CHECK_RECORDS`] records or [`CHECK_BLOCKS`]
/// blocks since it last looked (`records` and `blocks`: this batch's).
async fn seal(
    st: &PgStore,
    tx: &deadpool_postgres::Transaction<'_>,
    records: usize,
    blocks: usize,
) -> Result<()> {
    use std::sync::atomic::Ordering::Relaxed;
    let (r, b) = &*st.signin_tail_written;
    let written_r = r.fetch_add(big(records), Relaxed) + big(records);
    let written_b = b.fetch_add(big(blocks), Relaxed) + big(blocks);
    if written_r < CHECK_RECORDS && written_b < CHECK_BLOCKS {
        return Ok(());
    }
    r.store(0, Relaxed);
    b.store(0, Relaxed);
    let size = tx.prepare_cached(TAIL_SIZE).await?;
    let mut locked = false;
    for _ in 0..SEALS_PER_APPEND {
        let r = tx.query_one(&size, &[]).await?;
        let (blocks, records): (i64, i64) = (r.try_get(0)?, r.try_get(1)?);
        if blocks < RUN_BLOCKS && records < RUN_RECORDS {
            break;
        }
        if !locked {
            locked = tx.query_one(SEAL_LOCK, &[]).await?.try_get(0)?;
            if !locked {
                break;
            }
        }
        seal_run(tx).await?;
    }
    Ok(())
}

/// Seal the oldest tail blocks this transaction sees, up to [`RUN_RECORDS`] records
/// (at least one block), into a run: one `signin_run_keys` row per distinct key
/// hash, in hash order; exactly those blocks leave the tail.
async fn seal_run(tx: &deadpool_postgres::Transaction<'_>) -> Result<()> {
    let oldest = tx.prepare_cached(TAIL_OLDEST).await?;
    let rows = tx.query(&oldest, &[&RUN_BLOCKS]).await?;
    let mut records = 0i64;
    let mut taken: Vec<i64> = Vec::new();
    let mut by_hash: HashMap<u64, Vec<i64>> = HashMap::new();
    let (mut min_ms, mut max_ms, mut last_seq) = (i64::MAX, i64::MIN, i64::MIN);
    for r in &rows {
        let (id, n): (i64, i64) = (r.try_get(0)?, r.try_get(1)?);
        if !taken.is_empty() && records + n > RUN_RECORDS {
            break;
        }
        records += n;
        taken.push(id);
        last_seq = last_seq.max(id + n - 1);
        // This engine writes every tail row with its keys and times.
        let keys: Option<Vec<u8>> = r.try_get(2)?;
        min_ms = min_ms.min(r.try_get::<_, Option<i64>>(3)?.unwrap_or(i64::MIN));
        max_ms = max_ms.max(r.try_get::<_, Option<i64>>(4)?.unwrap_or(i64::MAX));
        for (h, p) in block::hash_entries(keys.as_deref().unwrap_or_default()) {
            by_hash.entry(h).or_default().push(id + i64::from(p));
        }
    }
    let Some(&run) = taken.first() else {
        return Ok(());
    };
    let mut rows: Vec<(i64, Vec<i64>)> = by_hash.into_iter().map(|(h, v)| (h as i64, v)).collect();
    rows.sort_unstable_by_key(|r| r.0);
    let (mut r_run, mut r_hash, mut r_seqs) = (vec![], vec![], vec![]);
    for (h, mut seqs) in rows {
        seqs.sort_unstable();
        r_run.push(run);
        r_hash.push(h);
        r_seqs.push(block::put_seqs(run, &seqs));
    }
    let (keys_st, run_st, sealed) = tokio::try_join!(
        tx.prepare_cached(INSERT_RUN_KEYS),
        tx.prepare_cached(INSERT_RUN),
        tx.prepare_cached(TAIL_SEALED)
    )?;
    tx.execute(&keys_st, &[&r_run, &r_hash, &r_seqs]).await?;
    tx.execute(&run_st, &[&run, &last_seq, &min_ms, &max_ms])
        .await?;
    tx.execute(&sealed, &[&taken]).await?;
    Ok(())
}

/// A block to read: its id, how many records it holds, its `min_ms` (with the id,
/// its key) and the positions that may answer (all for `None`).
#[derive(Debug, Clone)]
struct Head {
    id: i64,
    n: i64,
    min_ms: i64,
    positions: Option<Vec<u16>>,
}

/// A block's records at a head's positions, read: its tenant and the records; `None`
/// if the block is gone (retention took it while the query ran).
async fn block_records(
    st: &PgStore,
    c: &impl GenericClient,
    h: &Head,
) -> Result<Option<(String, i64, Vec<BlockRecord>)>> {
    let q = c.prepare_cached(BLOCK_RECORDS).await?;
    let Some(r) = c.query_opt(&q, &[&h.id, &h.min_ms]).await? else {
        return Ok(None);
    };
    let (tenant, dict_id, n, column): (String, i64, i64, Vec<u8>) =
        (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?);
    let dict = dict(st, c, dict_id).await?;
    let records = block::records(
        &Stored {
            id: h.id,
            n,
            dict: &dict,
            column: &column,
        },
        h.positions.as_deref(),
    )?;
    Ok(Some((tenant, dict_id, records)))
}

/// Dictionary `id`, opened or read and opened.
async fn dict(st: &PgStore, c: &impl GenericClient, id: i64) -> Result<Reader> {
    if let Some(d) = st.dicts.opened(id) {
        return Ok(d);
    }
    let q = c
        .prepare_cached("SELECT dict FROM record_dicts WHERE id = $1")
        .await?;
    let r = c
        .query_opt(&q, &[&id])
        .await?
        .ok_or_else(|| StoreError::Corrupt(format!("sign-in record dictionary {id} is missing")))?;
    Ok(st.dicts.open(id, &r.try_get::<_, Vec<u8>>(0)?))
}

/// A query's reading: the rows kept so far, and what decides which.
struct Reading<'a, C> {
    st: &'a PgStore,
    c: &'a C,
    q: &'a SignInQuery,
    tenant: String,
    with_facts: bool,
    want: usize,
    out: Vec<SignInRow>,
    /// The group sets read so far, by hash.
    groups: HashMap<String, Option<String>>,
}

impl<C: GenericClient> Reading<'_, C> {
    /// Read one block at its head's positions and keep the records that answer the
    /// query; false once enough are kept.
    async fn take(&mut self, h: &Head) -> Result<bool> {
        let Some((tenant, dict_id, records)) = block_records(self.st, self.c, h).await? else {
            return Ok(true);
        };
        if tenant != self.tenant {
            return Ok(true);
        }
        let hits: Vec<BlockRecord> = records.into_iter().filter(|r| r.answers(self.q)).collect();
        if hits.is_empty() {
            return Ok(true);
        }
        if !self.with_facts {
            self.out.extend(hits.into_iter().map(BlockRecord::into_row));
            return Ok(self.out.len() < self.want);
        }
        let q = self.c.prepare_cached(BLOCK_FACTS).await?;
        let column: Vec<u8> = match self.c.query_opt(&q, &[&h.id, &h.min_ms]).await? {
            Some(r) => r.try_get(0)?,
            None => Vec::new(),
        };
        let dict = dict(self.st, self.c, dict_id).await?;
        let all = block::facts(&Stored {
            id: h.id,
            n: h.n,
            dict: &dict,
            column: &column,
        })?;
        let by_seq: HashMap<i64, FactsRow> = all.into_iter().map(|f| (f.seq, f)).collect();
        let groups = self.c.prepare_cached(GROUP_SET).await?;
        for r in hits {
            let f = by_seq.get(&r.seq);
            let mut row = r.into_row();
            row.facts = f.and_then(|f| f.facts.clone());
            row.group_ids = match f.and_then(|f| f.group_set.as_deref()) {
                // Each distinct set once a query.
                Some(g) => match self.groups.get(g) {
                    Some(ids) => ids.clone(),
                    None => {
                        let ids = match self.c.query_opt(&groups, &[&g]).await? {
                            Some(r) => Some(r.try_get::<_, String>(0)?),
                            None => None,
                        };
                        self.groups.insert(g.to_owned(), ids.clone());
                        ids
                    }
                },
                None => None,
            };
            self.out.push(row);
        }
        Ok(self.out.len() < self.want)
    }
}

/// The records of `q` from blocks, newest first, at most `want`.
pub(super) async fn signins(
    st: &PgStore,
    c: &impl GenericClient,
    q: &SignInQuery,
    with_facts: bool,
    want: usize,
) -> Result<Vec<SignInRow>> {
    let mut r = Reading {
        st,
        c,
        q,
        tenant: pg_text(&q.tenant_id).into_owned(),
        with_facts,
        want,
        out: Vec::new(),
        groups: HashMap::new(),
    };
    let before = q.before_seq.unwrap_or(i64::MAX);
    let since = q.since_ms.unwrap_or(i64::MIN);
    let until = q.until_ms.unwrap_or(i64::MAX);
    match block::way(q) {
        Way::Seq(seq) => {
            let s = c.prepare_cached(TENANT_BLOCK_AT).await?;
            if let Some(b) = c.query_opt(&s, &[&seq, &r.tenant]).await? {
                let (id, n, min_ms): (i64, i64, i64) =
                    (b.try_get(0)?, b.try_get(1)?, b.try_get(2)?);
                if seq < id + n {
                    let h = Head {
                        id,
                        n,
                        min_ms,
                        positions: Some(vec![pos(seq, id)]),
                    };
                    r.take(&h).await?;
                }
            }
        }
        Way::Id { kind, key, time } => {
            let mut heads = by_id_key(c, block::key_of(kind, &q.tenant_id, &key), before).await?;
            if let Some((t, lag)) = time {
                heads.extend(by_time(c, Some(&r.tenant), t, lag, &key).await?);
            }
            let heads = merge_heads(heads);
            for h in &heads {
                if h.id < before && !r.take(h).await? {
                    break;
                }
            }
        }
        Way::Key(kind, key) => {
            let h = block::key_of(kind, &q.tenant_id, &key);
            keyed(&mut r, h, (before, since, until)).await?;
        }
        Way::Tenant => {
            let s = c.prepare_cached(TENANT_BLOCKS).await?;
            let mut cursor = before;
            // A block holding a record at or after `since` starts at most a block's
            // span before it: the bound prunes the days before.
            let from = since.saturating_sub(MAX_SPAN_MS);
            loop {
                let rows = c
                    .query(&s, &[&r.tenant, &cursor, &since, &from, &until, &CHUNK])
                    .await?;
                let mut more = true;
                for b in &rows {
                    let h = Head {
                        id: b.try_get(0)?,
                        n: b.try_get(1)?,
                        min_ms: b.try_get(2)?,
                        positions: None,
                    };
                    cursor = h.id;
                    more = r.take(&h).await?;
                    if !more {
                        break;
                    }
                }
                if !more || (rows.len() as i64) < CHUNK {
                    break;
                }
            }
        }
    }
    let mut out = r.out;
    // Each distinct policy set once, by its hash.
    let mut hashes: Vec<String> = out.iter().filter_map(|r| r.policy_set.clone()).collect();
    hashes.sort_unstable();
    hashes.dedup();
    if !hashes.is_empty() {
        let s = c.prepare_cached(POLICY_SETS).await?;
        let mut sets: HashMap<String, String> = HashMap::new();
        for row in c.query(&s, &[&hashes]).await? {
            sets.insert(row.try_get(0)?, row.try_get(1)?);
        }
        for r in &mut out {
            if let Some(h) = r.policy_set.take() {
                r.policy_set = sets.get(&h).cloned();
            }
        }
    }
    out.truncate(want);
    Ok(out)
}

/// Visit the blocks that may hold key hash `h` ([`block::key_of`]), newest first,
/// with the positions that may hold it: the tail's (by their keys lists) and the
/// runs' (by their key rows), merged by seq. `window` is (before, since, until).
/// Stops when the reading has enough.
async fn keyed<C: GenericClient>(
    r: &mut Reading<'_, C>,
    h: u64,
    window: (i64, i64, i64),
) -> Result<()> {
    let (before, since, until) = window;
    let c = r.c;
    // The tail first, then the runs: a block sealed in between is then in both (its
    // seqs are merged), never in neither.
    let tail_st = c.prepare_cached(TAIL_IN).await?;
    let mut heap: BinaryHeap<(i64, usize)> = BinaryHeap::new();
    let mut tail: BTreeMap<i64, (i64, i64)> = BTreeMap::new();
    const FROM_TAIL: usize = usize::MAX;
    for row in c.query(&tail_st, &[&before, &since, &until]).await? {
        let (id, n): (i64, i64) = (row.try_get(0)?, row.try_get(1)?);
        let keys: Option<Vec<u8>> = row.try_get(2)?;
        let Some(min_ms) = row.try_get::<_, Option<i64>>(3)? else {
            continue;
        };
        let positions = block::lookup(keys.as_deref().unwrap_or_default(), h);
        if positions.is_empty() {
            continue;
        }
        tail.insert(id, (n, min_ms));
        for p in positions {
            heap.push((id + i64::from(p), FROM_TAIL));
        }
    }
    let runs_st = c.prepare_cached(RUNS_IN).await?;
    let runs: Vec<(i64, i64, i64, i64)> = c
        .query(&runs_st, &[&before, &since, &until])
        .await?
        .iter()
        .map(|x| Ok((x.try_get(0)?, x.try_get(1)?, x.try_get(2)?, x.try_get(3)?)))
        .collect::<Result<_>>()?;
    let keys_st = c.prepare_cached(RUN_KEYS).await?;
    let at_st = c.prepare_cached(BLOCK_AT).await?;
    let mut next_run = 0;
    loop {
        // Every run that may hold a seq at or above the heap's newest, loaded.
        while next_run < runs.len() && heap.peek().is_none_or(|&(top, _)| runs[next_run].1 >= top) {
            let chunk = &runs[next_run..(next_run + RUN_CHUNK).min(runs.len())];
            let ids: Vec<i64> = chunk.iter().map(|x| x.0).collect();
            for row in c.query(&keys_st, &[&(h as i64), &ids]).await? {
                let run: i64 = row.try_get(0)?;
                let Some(k) = chunk.iter().position(|x| x.0 == run) else {
                    continue;
                };
                for s in block::read_seqs(run, &row.try_get::<_, Vec<u8>>(1)?)? {
                    if s < before {
                        heap.push((s, next_run + k));
                    }
                }
            }
            next_run += chunk.len();
        }
        let Some((top, src)) = heap.pop() else {
            return Ok(());
        };
        // The block holding it.
        let found = if src == FROM_TAIL {
            tail.range(..=top)
                .next_back()
                .map(|(&id, &(n, min_ms))| (id, n, min_ms, true))
        } else {
            let (_, _, lo, hi) = runs[src];
            match c
                .query_opt(&at_st, &[&top, &lo.saturating_sub(MAX_SPAN_MS), &hi])
                .await?
            {
                Some(b) => {
                    let (id, n, tenant, min_ms, max_ms): (i64, i64, String, i64, i64) = (
                        b.try_get(0)?,
                        b.try_get(1)?,
                        b.try_get(2)?,
                        b.try_get(3)?,
                        b.try_get(4)?,
                    );
                    let wanted = tenant == r.tenant && max_ms >= since && min_ms < until;
                    Some((id, n, min_ms, wanted))
                }
                None => None,
            }
        };
        // No block holds it (in its run's days): retention took its block. Only it is
        // dropped; the next seq is looked up afresh.
        let Some((id, n, min_ms, wanted)) = found.filter(|f| top < f.0 + f.1) else {
            continue;
        };
        // Every seq from the block's first to `top` is the block's (blocks' seqs are
        // disjoint): its other positions.
        let mut positions = vec![pos(top, id)];
        while let Some(&(s, _)) = heap.peek() {
            if s < id {
                break;
            }
            heap.pop();
            positions.push(pos(s, id));
        }
        positions.sort_unstable();
        positions.dedup();
        if wanted && !positions.is_empty() {
            let head = Head {
                id,
                n,
                min_ms,
                positions: Some(positions),
            };
            if !r.take(&head).await? {
                return Ok(());
            }
        }
    }
}

/// Heads newest first, each block once with the positions of all its heads (all if
/// any head says all).
fn merge_heads(mut heads: Vec<Head>) -> Vec<Head> {
    heads.sort_by_key(|h| std::cmp::Reverse(h.id));
    let mut out: Vec<Head> = Vec::with_capacity(heads.len());
    for h in heads {
        match out.last_mut() {
            Some(last) if last.id == h.id => {
                last.positions = match (last.positions.take(), h.positions) {
                    (Some(mut a), Some(b)) => {
                        a.extend(b);
                        a.sort_unstable();
                        a.dedup();
                        Some(a)
                    }
                    _ => None,
                };
            }
            _ => out.push(h),
        }
    }
    out
}

/// The blocks that may hold an id or correlation id without its time, of hash `h`,
/// older than `before` (`signin_id_keys`); the block's tenant is checked as it is read.
async fn by_id_key(c: &impl GenericClient, h: u64, before: i64) -> Result<Vec<Head>> {
    let keys_st = c.prepare_cached(ID_KEYS).await?;
    let mut positions: HashMap<i64, Vec<u16>> = HashMap::new();
    for r in c.query(&keys_st, &[&(h as i64), &before]).await? {
        positions.insert(
            r.try_get(0)?,
            block::positions(&r.try_get::<_, Vec<u8>>(1)?),
        );
    }
    if positions.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = positions.keys().copied().collect();
    let blocks_st = c.prepare_cached(BLOCKS_BY_ID).await?;
    let mut out = Vec::new();
    for r in c.query(&blocks_st, &[&ids]).await? {
        let id: i64 = r.try_get(0)?;
        out.push(Head {
            id,
            n: r.try_get(1)?,
            min_ms: r.try_get(2)?,
            positions: positions.remove(&id),
        });
    }
    Ok(out)
}

/// The blocks that may hold an id carrying time `t` (a record within `lag` of it),
/// of `tenant` (any for `None`), whose lookups name `key`.
async fn by_time(
    c: &impl GenericClient,
    tenant: Option<&str>,
    t: i64,
    lag: i64,
    key: &str,
) -> Result<Vec<Head>> {
    let h = block::key_hash(key);
    let s = c.prepare_cached(BLOCKS_AT_TIME).await?;
    let lo = t.saturating_sub(lag).saturating_sub(MAX_SPAN_MS);
    let hi = t.saturating_add(lag);
    let floor = t.saturating_sub(lag);
    let mut out = Vec::new();
    for r in c.query(&s, &[&lo, &hi, &floor, &tenant]).await? {
        let positions = block::lookup(&r.try_get::<_, Vec<u8>>(3)?, h);
        if !positions.is_empty() {
            out.push(Head {
                id: r.try_get(0)?,
                n: r.try_get(1)?,
                min_ms: r.try_get(2)?,
                positions: Some(positions),
            });
        }
    }
    Ok(out)
}

/// The tenant of the newest block record with this correlation id.
pub(super) async fn tenant_of(
    st: &PgStore,
    c: &impl GenericClient,
    correlation_id: &str,
) -> Result<Option<String>> {
    let mut heads = by_id_key(
        c,
        block::key_of(kind::CORRELATION, "", correlation_id),
        i64::MAX,
    )
    .await?;
    if let Some(t) = block::time_of_id(correlation_id) {
        heads.extend(by_time(c, None, t, block::CORRELATION_LAG_MS, correlation_id).await?);
    }
    // The lookups and keys hold hashes: the record itself decides.
    for h in merge_heads(heads) {
        if let Some((tenant, _, records)) = block_records(st, c, &h).await? {
            if records.iter().any(|r| r.correlation_id == correlation_id) {
                return Ok(Some(tenant));
            }
        }
    }
    Ok(None)
}

/// The facts of the tenant's block records since `since_ms`, older than `before`,
/// newest first, at most `limit`.
pub(super) async fn facts(
    st: &PgStore,
    c: &impl GenericClient,
    tenant_id: &str,
    since_ms: i64,
    before: i64,
    limit: usize,
) -> Result<Vec<FactsRow>> {
    let s = c.prepare_cached(TENANT_FACTS).await?;
    let tenant = pg_text(tenant_id);
    let from = since_ms.saturating_sub(MAX_SPAN_MS);
    let mut out = Vec::new();
    let mut cursor = before;
    loop {
        let rows = c
            .query(&s, &[&tenant, &cursor, &since_ms, &from, &CHUNK])
            .await?;
        for r in &rows {
            let (id, n, dict_id, column): (i64, i64, i64, Vec<u8>) =
                (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?);
            let d = dict(st, c, dict_id).await?;
            let b = Stored {
                id,
                n,
                dict: &d,
                column: &column,
            };
            for f in block::facts(&b)? {
                if f.seq < before && f.created_ms >= since_ms {
                    out.push(f);
                    if out.len() >= limit {
                        return Ok(out);
                    }
                }
            }
            cursor = id;
        }
        if (rows.len() as i64) < CHUNK {
            return Ok(out);
        }
    }
}

/// How many records the tenant's blocks hold.
pub(super) async fn count(c: &impl GenericClient, tenant_id: &str) -> Result<u64> {
    let s = c.prepare_cached(COUNT).await?;
    let n: i64 = c.query_one(&s, &[&pg_text(tenant_id)]).await?.try_get(0)?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// Delete whole blocks whose newest record is older than `before_ms`, oldest first,
/// as many as hold at most `batch` records (at least one block if any is due), with
/// their tail rows and id keys, and the runs none of whose blocks are left; returns
/// the records deleted.
pub(super) async fn purge(
    tx: &deadpool_postgres::Transaction<'_>,
    before_ms: i64,
    batch: u32,
) -> Result<u64> {
    let s = tx.prepare_cached(DUE).await?;
    let due = tx
        .query(&s, &[&before_ms, &i64::from(batch.max(1))])
        .await?;
    let (mut ids, mut mins) = (Vec::new(), Vec::new());
    let mut deleted = 0u64;
    for r in &due {
        let (id, n, min_ms): (i64, i64, i64) = (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?);
        let n = u64::try_from(n).unwrap_or(0);
        if deleted > 0 && deleted + n > u64::from(batch) {
            break;
        }
        ids.push(id);
        mins.push(min_ms);
        deleted += n;
    }
    if !ids.is_empty() {
        let (blocks, tail, id_keys) = tokio::try_join!(
            tx.prepare_cached(DELETE_BLOCKS),
            tx.prepare_cached(DELETE_TAIL),
            tx.prepare_cached(DELETE_ID_KEYS)
        )?;
        tx.execute(&blocks, &[&ids, &mins]).await?;
        tx.execute(&tail, &[&ids]).await?;
        tx.execute(&id_keys, &[&ids]).await?;
    }
    forget_runs(tx, before_ms).await?;
    Ok(deleted)
}

/// The runs of days before `before_ms` none of whose blocks is left, with their key
/// rows.
async fn forget_runs(c: &impl GenericClient, before_ms: i64) -> Result<()> {
    let s = c.prepare_cached(EMPTY_RUNS).await?;
    let runs: Vec<i64> = c
        .query(&s, &[&before_ms])
        .await?
        .iter()
        .map(|r| r.try_get(0))
        .collect::<std::result::Result<_, _>>()?;
    if runs.is_empty() {
        return Ok(());
    }
    let (keys, gone) = tokio::try_join!(
        c.prepare_cached(DELETE_RUN_KEYS),
        c.prepare_cached(DELETE_RUNS)
    )?;
    c.execute(&keys, &[&runs]).await?;
    c.execute(&gone, &[&runs]).await?;
    Ok(())
}

/// After whole days before `before_ms` were dropped: their blocks' tail rows, id
/// keys and runs.
pub(super) async fn forget_dropped(c: &impl GenericClient, before_ms: i64) -> Result<()> {
    let (tail, ids) = tokio::try_join!(
        c.prepare_cached(ORPHAN_TAIL),
        c.prepare_cached(ORPHAN_ID_KEYS)
    )?;
    c.execute(&tail, &[&before_ms]).await?;
    c.execute(&ids, &[]).await?;
    forget_runs(c, before_ms).await
}

#[cfg(test)]
mod tests {
    //! Several writers on one database: seals under the advisory lock, a block
    //! committed after runs newer than it, runs overlapping in seqs. Always on
    //! PostgreSQL (`PORTVAKT_TEST_DATABASE` or `PORTVAKT_TEST_PG_URL`, default the
    //! local server); fails without it.
    use super::*;
    use crate::signin_block::v7;
    use crate::signin_log::SignInLog;

    const T0: i64 = 1_800_000_000_000;

    fn rec(n: u32, t: i64) -> StoredSignIn {
        StoredSignIn {
            id: v7(t, n),
            tenant_id: "t".into(),
            created_ms: t,
            user_key: Some(format!("user{}", n % 7)),
            user_id: Some(format!("uid{}", n % 7)),
            app_id: Some(format!("app{}", n % 3)),
            status: (n % 2) as u8,
            error_code: if n % 2 == 1 { 50126 } else { 0 },
            correlation_id: v7(t - 3, n + 1_000_000),
            ip: Some(format!("203.0.113.{}", n % 5)),
            ca_status: None,
            interactive: true,
            app_display_name: None,
            resource_id: None,
            client_app_used: None,
            record: format!("{{\"n\":{n}}}"),
            facts: Some(format!("{{\"f\":{n}}}")),
            group_set: None,
            policy_set: None,
            policy_results: vec![],
        }
    }

    async fn database() -> String {
        let server = crate::testing::postgres_server()
            .or_else(|| std::env::var("PORTVAKT_TEST_PG_URL").ok())
            .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/test".into());
        crate::testing::fresh_postgres(&server).await
    }

    /// Every page of `q`, `page` records at a time.
    async fn walk(st: &PgStore, q: &SignInQuery, page: u32) -> Vec<SignInRow> {
        let mut out = Vec::new();
        let mut q = SignInQuery {
            limit: page,
            ..q.clone()
        };
        loop {
            let p = st.signins(&q, false).await.expect("page");
            out.extend(p.rows);
            match p.next {
                Some(next) => q.before_seq = Some(next),
                None => return out,
            }
        }
    }

    async fn scalar(st: &PgStore, sql: &str) -> i64 {
        let c = st.client().await.expect("client");
        c.query_one(sql, &[]).await.expect(sql).get(0)
    }

    /// Every way in by key answers what the tenant's scan (blocks by id, no keys)
    /// filtered says, newest first, each record once, in pages.
    async fn keys_find_what_a_scan_finds(st: &PgStore, total: usize) {
        let tenant = SignInQuery {
            tenant_id: "t".into(),
            ..Default::default()
        };
        let scan = walk(st, &tenant, 1000).await;
        assert_eq!(scan.len(), total, "every record once");
        assert!(scan.windows(2).all(|w| w[0].seq > w[1].seq), "newest first");
        let mid = scan[scan.len() / 2].created_ms;
        type Pred = Box<dyn Fn(&SignInRow) -> bool>;
        let cases: Vec<(SignInQuery, Pred)> = vec![
            (
                SignInQuery {
                    user: Some("USER3".into()),
                    ..tenant.clone()
                },
                Box::new(|r| r.user_key.as_deref() == Some("user3")),
            ),
            (
                SignInQuery {
                    user: Some("user3".into()),
                    status: Some(1),
                    ..tenant.clone()
                },
                Box::new(|r| r.user_key.as_deref() == Some("user3") && r.status == 1),
            ),
            (
                SignInQuery {
                    user_id: Some("uid5".into()),
                    since_ms: Some(mid),
                    ..tenant.clone()
                },
                Box::new(move |r| r.user_id.as_deref() == Some("uid5") && r.created_ms >= mid),
            ),
            (
                SignInQuery {
                    ip: Some("203.0.113.2".into()),
                    until_ms: Some(mid),
                    ..tenant.clone()
                },
                Box::new(move |r| r.ip.as_deref() == Some("203.0.113.2") && r.created_ms < mid),
            ),
            (
                SignInQuery {
                    app_id: Some("app1".into()),
                    ..tenant.clone()
                },
                Box::new(|r| r.app_id.as_deref() == Some("app1")),
            ),
        ];
        for (q, pred) in &cases {
            let want: Vec<i64> = scan.iter().filter(|r| pred(r)).map(|r| r.seq).collect();
            assert!(!want.is_empty(), "{q:?} selects some");
            for page in [50, 1000] {
                let got: Vec<i64> = walk(st, q, page).await.iter().map(|r| r.seq).collect();
                assert_eq!(got.len(), want.len(), "{q:?}, pages of {page}");
                assert_eq!(got, want, "{q:?}, pages of {page}");
            }
        }
        // By id and by correlation id, found by their time.
        for r in [&scan[0], &scan[scan.len() / 3], &scan[scan.len() - 1]] {
            let by_id = walk(
                st,
                &SignInQuery {
                    id: Some(r.id.clone()),
                    ..tenant.clone()
                },
                10,
            )
            .await;
            assert_eq!(by_id.iter().map(|x| x.seq).collect::<Vec<_>>(), [r.seq]);
            assert_eq!(
                st.signin_tenant(&r.correlation_id).await.expect("tenant"),
                Some("t".into())
            );
        }
    }

    #[tokio::test]
    async fn a_block_committed_after_newer_runs_is_found_in_order_and_sealed_later() {
        let url = database().await;
        let st = PgStore::connect(&url, 4).await.expect("pg");
        st.append_signins(&[rec(0, T0)]).await.expect("first");
        // A writer that took its block's id and has not committed (a slow node).
        let mut c = st.client().await.expect("client");
        let tx = c.transaction().await.expect("tx");
        let straggler: Vec<StoredSignIn> = (1..4).map(|n| rec(n, T0 + 10)).collect();
        let (packed, seqs) = append(&st, &tx, &straggler, vec![])
            .await
            .expect("append")
            .expect("written");
        // Meanwhile the others write past two seals.
        let mut n = 4u32;
        let batch = |n: &mut u32, k: u32| -> Vec<StoredSignIn> {
            let out = (*n..*n + k)
                .map(|i| rec(i, T0 + 1_000 + i64::from(i)))
                .collect();
            *n += k;
            out
        };
        for _ in 0..70 {
            st.append_signins(&batch(&mut n, 512))
                .await
                .expect("append");
        }
        tx.commit().await.expect("commit");
        st.dicts.adopt(packed);
        let runs = scalar(&st, "SELECT count(*) FROM signin_runs").await;
        assert!(runs >= 2, "{runs} runs");
        assert_eq!(
            scalar(
                &st,
                &format!(
                    "SELECT count(*) FROM signin_tail WHERE block_id = {} AND block_id < (SELECT max(id) FROM signin_runs)",
                    seqs[0]
                )
            )
            .await,
            1,
            "the straggler is in the tail, older than a run sealed before it"
        );
        keys_find_what_a_scan_finds(&st, n as usize).await;
        // The next seals take it: its run's seqs overlap the newer runs'.
        for _ in 0..40 {
            st.append_signins(&batch(&mut n, 512))
                .await
                .expect("append");
        }
        assert_eq!(
            scalar(
                &st,
                &format!(
                    "SELECT count(*) FROM signin_tail WHERE block_id = {}",
                    seqs[0]
                )
            )
            .await,
            0,
            "sealed"
        );
        assert!(
            scalar(
                &st,
                "SELECT count(*) FROM signin_runs a JOIN signin_runs b ON a.id < b.id AND a.last_seq > b.id"
            )
            .await
                > 0,
            "runs overlap"
        );
        keys_find_what_a_scan_finds(&st, n as usize).await;
    }

    #[tokio::test]
    async fn two_nodes_appending_and_sealing_at_once_lose_nothing() {
        let url = database().await;
        let a = PgStore::connect(&url, 4).await.expect("node A");
        let b = PgStore::connect(&url, 4).await.expect("node B");
        let write = |st: PgStore, from: u32| async move {
            for k in 0..80u32 {
                let batch: Vec<StoredSignIn> = (0..256u32)
                    .map(|i| {
                        let n = from + k * 256 + i;
                        rec(n, T0 + i64::from(k) * 50 + i64::from(i % 50))
                    })
                    .collect();
                st.append_signins(&batch).await.expect("append");
            }
        };
        tokio::join!(write(a.clone(), 0), write(b.clone(), 1_000_000));
        let runs = scalar(&a, "SELECT count(*) FROM signin_runs").await;
        assert!(runs >= 2, "{runs} runs");
        assert_eq!(
            scalar(&a, "SELECT sum(n)::bigint FROM signin_blocks").await,
            2 * 80 * 256
        );
        keys_find_what_a_scan_finds(&a, 2 * 80 * 256).await;
        keys_find_what_a_scan_finds(&b, 2 * 80 * 256).await;
    }
}
