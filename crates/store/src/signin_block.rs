//! The sign-in log in blocks (docs/design/sign-in-log-blocks.md), the part every
//! engine shares: how a writer's batch becomes blocks, a block's binary layout, and
//! how a query is answered from a block's records.
//!
//! A block is one tenant's records of one batch. Its seqs are `first_seq + position`
//! (its id is its first seq). It holds:
//! - `records`: the records in a compact binary layout (this module's `put_*`),
//!   [`RECORD_FRAME`] to a zstd frame packed with the tenant's dictionary
//!   (`crate::record_pack`), so a lookup of one record unpacks a few KB;
//! - `facts`: what replay reads (time, user, application, facts, group set),
//!   [`FACTS_FRAME`] to a frame, so replay never unpacks a record;
//! - `lookups`: the 64-bit hashes of the ids and correlation ids that carry their
//!   time (UUIDv7 made by the server, [`time_of_id`]), sorted, with their positions:
//!   such an id is found by its time (the blocks whose time range holds it) and this
//!   list, with no index entry of its own.
//!
//! - `keys` (while the block is in the tail, then in its run): the 64-bit hashes
//!   ([`key_of`]) of its users, user ids, applications, addresses and users' failed
//!   sign-ins, sorted, with their positions. An id or correlation id that does not
//!   carry its time (one a caller chose, or a test's) has an id key row instead
//!   ([`Built::ids`]), found without a time window.
//!
//! Every other way in is by those keys. The newest blocks, the *tail*, are found by
//! reading their `keys` lists; once the tail holds [`RUN_RECORDS`] records (or
//! [`RUN_BLOCKS`] blocks) it is sealed into a *run*: one row per distinct key hash of
//! the run, (run, hash) → the seqs that hold it ([`put_seqs`]), written in hash order
//! at the end of the table. A batch's writes thus land at the ends of the trees,
//! never at random places of a tree larger than the cache (session 11's key rows,
//! keyed by (kind, key), cost a 16 KB page of WAL each and capped ingest at ~7,000
//! records/s); a lookup reads the tail's lists and one row per run of its window.

use crate::record_pack::{self, Reader};
use crate::signin_log::{FactsRow, SignInQuery, SignInRow};
use crate::{Result, StoreError};
use portvakt_core::filter::{Field, Value};
use portvakt_core::signin::StoredSignIn;
use std::collections::BTreeMap;

/// Records a frame of the `records` column holds: a lookup of one record unpacks its
/// frame (~16 × 1.2 KB).
pub(crate) const RECORD_FRAME: usize = 16;
/// Records a frame of the `facts` column holds: replay reads them all.
pub(crate) const FACTS_FRAME: usize = 64;
/// The widest time range of a block: a batch's records further apart are split into
/// several blocks, so a time names the blocks that may hold it (those whose first
/// record is at most this much older).
pub(crate) const MAX_SPAN_MS: i64 = 60_000;
/// The most a correlation id's time may differ from its record's `createdDateTime`
/// for it to be found by its time: the server makes it as the request arrives, and
/// the record is of that request. Beyond (a clock set back, a caller's own id that
/// looks like one) it gets a key row.
pub(crate) const CORRELATION_LAG_MS: i64 = 2_000;
/// The most records of one block (positions are 16-bit).
const MAX_RECORDS: usize = 4096;
/// The tail is sealed into a run once it holds this many records: a lookup reads at
/// most this many records' keys lists before the runs, and one row per run.
pub(crate) const RUN_RECORDS: i64 = 16_384;
/// … or this many blocks (a quiet server writes blocks of a record or two).
pub(crate) const RUN_BLOCKS: i64 = 1_024;

/// What a key row names.
pub(crate) mod kind {
    /// The user key (lowered user principal name).
    pub const USER: i64 = 0;
    /// The user's id.
    pub const USER_ID: i64 = 1;
    /// The client id.
    pub const APP: i64 = 2;
    /// The client address.
    pub const IP: i64 = 3;
    /// A correlation id that does not carry its time.
    pub const CORRELATION: i64 = 4;
    /// A record id that does not carry its time.
    pub const ID: i64 = 5;
    /// The user key of a record whose status is not success, with that status: "the
    /// sign-in failures of the account" (the story's query) reads only them.
    pub const USER_STATUS: i64 = 6;
}

fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("a sign-in block: {what}"))
}

/// The milliseconds a UUIDv7 in its hyphenated form carries (RFC 9562 §5.7: the
/// first 48 bits), or `None` for anything else.
pub(crate) fn time_of_id(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 36
        || b[8] != b'-'
        || b[13] != b'-'
        || b[18] != b'-'
        || b[23] != b'-'
        || b[14] != b'7'
        || !matches!(b[19], b'8' | b'9' | b'a' | b'b' | b'A' | b'B')
    {
        return None;
    }
    let hex: String = s[..8].chars().chain(s[9..13].chars()).collect();
    i64::from_str_radix(&hex, 16).ok()
}

/// Is a record of `created_ms` found by its id's time ([`time_of_id`] equals it)?
fn id_by_time(id: &str, created_ms: i64) -> bool {
    time_of_id(id) == Some(created_ms)
}

/// Is a record of `created_ms` found by its correlation id's time?
fn correlation_by_time(correlation_id: &str, created_ms: i64) -> bool {
    time_of_id(correlation_id).is_some_and(|t| (t - created_ms).abs() <= CORRELATION_LAG_MS)
}

/// FNV-1a over `bytes`, from `h`.
fn fnv(mut h: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// The stable 64-bit hash of the lookups list (FNV-1a: stored, so it never changes).
pub(crate) fn key_hash(s: &str) -> u64 {
    fnv(0xcbf2_9ce4_8422_2325, s.as_bytes())
}

/// The stable hash a key is stored under in `keys` lists and runs: of its kind, its
/// tenant (but for ids and correlation ids, which are looked up across tenants: the
/// tenant of a correlation id is found by it) and itself. Two keys may share a hash:
/// every record found is checked against the query ([`BlockRecord::answers`]).
pub(crate) fn key_of(kind: i64, tenant: &str, key: &str) -> u64 {
    let mut h = fnv(0xcbf2_9ce4_8422_2325, &[kind as u8]);
    if kind != kind::ID && kind != kind::CORRELATION {
        h = fnv(fnv(h, tenant.as_bytes()), &[0xff]);
    }
    fnv(h, key.as_bytes())
}

/// The fields of a record its keys are made of.
pub(crate) struct KeyFields<'a> {
    /// The user key.
    pub user_key: Option<&'a str>,
    /// The user's id.
    pub user_id: Option<&'a str>,
    /// The client id.
    pub app_id: Option<&'a str>,
    /// The client address.
    pub ip: Option<&'a str>,
    /// The status code.
    pub status: u8,
    /// The correlation id.
    pub correlation_id: &'a str,
    /// The record id.
    pub id: &'a str,
    /// `createdDateTime` (ms).
    pub created_ms: i64,
}

/// The key of a user and a status other than success ([`kind::USER_STATUS`]).
pub(crate) fn user_status_key(user_key: &str, status: u8) -> String {
    format!("{status}\u{0}{user_key}")
}

/// The keys of one record of `tenant` other than its time, as `(kind, hash)`: each
/// to `key` (users, user ids, clients, addresses, a user's failures: the block's
/// `keys` list) or to `id` (ids and correlation ids without their time: a row each in
/// `signin_id_keys`, found without a time window).
fn keys_of_record(
    tenant: &str,
    f: &KeyFields<'_>,
    mut key: impl FnMut(u64),
    mut id: impl FnMut(u64),
) {
    for (k, v) in [
        (kind::USER, f.user_key),
        (kind::USER_ID, f.user_id),
        (kind::APP, f.app_id),
        (kind::IP, f.ip),
    ] {
        if let Some(v) = v {
            key(key_of(k, tenant, v));
        }
    }
    if let (Some(u), true) = (f.user_key, f.status != 0) {
        key(key_of(
            kind::USER_STATUS,
            tenant,
            &user_status_key(u, f.status),
        ));
    }
    if !correlation_by_time(f.correlation_id, f.created_ms) {
        id(key_of(kind::CORRELATION, tenant, f.correlation_id));
    }
    if !id_by_time(f.id, f.created_ms) {
        id(key_of(kind::ID, tenant, f.id));
    }
}

/// (hash, position) pairs as a sorted list: `[u64 LE hash][u16 LE position]`…, the
/// layout of `lookups` and `keys`, read by [`lookup`].
fn hash_list(mut entries: Vec<(u64, u16)>) -> Vec<u8> {
    entries.sort_unstable();
    entries.dedup();
    let mut list = Vec::with_capacity(entries.len() * 10);
    for (h, pos) in entries {
        list.extend_from_slice(&h.to_le_bytes());
        list.extend_from_slice(&pos.to_le_bytes());
    }
    list
}

/// Every (hash, position) pair of a `keys` list, in its order.
pub(crate) fn hash_entries(list: &[u8]) -> impl Iterator<Item = (u64, u16)> + '_ {
    list.chunks_exact(10).map(entry)
}

/// One 10-byte entry of a hash list: (hash, position).
fn entry(e: &[u8]) -> (u64, u16) {
    (
        u64::from_le_bytes(e[..8].try_into().unwrap_or_default()),
        u16::from_le_bytes([e[8], e[9]]),
    )
}

/// The `keys` list and id keys of stored block `block_id` of `tenant`, from all its
/// records: for a block written before `keys` lists were (sign-in log migration 8).
pub(crate) fn keys_of_records(
    tenant: &str,
    block_id: i64,
    records: &[BlockRecord],
) -> (Vec<u8>, Vec<(u64, Vec<u8>)>) {
    let mut keys = Vec::new();
    let mut ids = Vec::new();
    for r in records {
        let pos = u16::try_from(r.seq - block_id).unwrap_or(u16::MAX);
        keys_of_record(
            tenant,
            &r.key_fields(),
            |h| keys.push((h, pos)),
            |h| ids.push((h, pos)),
        );
    }
    (hash_list(keys), id_rows(ids))
}

/// Id keys as rows: (hash, positions as u16 LE), one per distinct hash.
fn id_rows(mut ids: Vec<(u64, u16)>) -> Vec<(u64, Vec<u8>)> {
    ids.sort_unstable();
    ids.dedup();
    let mut out: Vec<(u64, Vec<u8>)> = Vec::new();
    for (h, pos) in ids {
        match out.last_mut() {
            Some((last, p)) if *last == h => p.extend_from_slice(&pos.to_le_bytes()),
            _ => out.push((h, pos.to_le_bytes().to_vec())),
        }
    }
    out
}

/// Positions (u16 LE) as a list.
pub(crate) fn positions(bytes: &[u8]) -> Vec<u16> {
    bytes
        .chunks_exact(2)
        .map(|p| u16::from_le_bytes([p[0], p[1]]))
        .collect()
}

/// A run's seqs of one key, ascending, as stored: varint deltas from the run's id.
pub(crate) fn put_seqs(run: i64, seqs: &[i64]) -> Vec<u8> {
    let mut out = Vec::with_capacity(seqs.len() * 2);
    let mut prev = run;
    for &s in seqs {
        put_varint(&mut out, (s - prev) as u64);
        prev = s;
    }
    out
}

/// The seqs of [`put_seqs`], ascending.
pub(crate) fn read_seqs(run: i64, bytes: &[u8]) -> Result<Vec<i64>> {
    let mut c = Cursor(bytes);
    let mut out = Vec::new();
    let mut prev = run;
    while !c.0.is_empty() {
        let d = i64::try_from(c.varint()?).map_err(|_| corrupt("a seq"))?;
        prev = prev
            .checked_add(d)
            .ok_or_else(|| corrupt("a seq past the end"))?;
        out.push(prev);
    }
    Ok(out)
}

/// The positions in a lookups list whose hash is `h`.
pub(crate) fn lookup(list: &[u8], h: u64) -> Vec<u16> {
    let n = list.len() / 10;
    let at = |i: usize| entry(&list[i * 10..i * 10 + 10]);
    // The first entry not below `h`.
    let (mut lo, mut hi) = (0, n);
    while lo < hi {
        let mid = (lo + hi) / 2;
        if at(mid).0 < h {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    (lo..n)
        .map(at)
        .take_while(|e| e.0 == h)
        .map(|e| e.1)
        .collect()
}

/// One block to write: a tenant's records of a batch, by their index in the batch.
pub(crate) struct Plan {
    /// The tenant.
    pub tenant_id: String,
    /// Indexes into the batch, in its order (a record's position in the block).
    pub members: Vec<usize>,
    /// The oldest record's time.
    pub min_ms: i64,
    /// The newest record's time.
    pub max_ms: i64,
}

/// The blocks of a batch: per tenant (in order of first appearance), its records in
/// the batch's order, split where the block would span more than [`MAX_SPAN_MS`] or
/// hold more than [`MAX_RECORDS`].
pub(crate) fn plan(batch: &[StoredSignIn]) -> Vec<Plan> {
    let mut open: BTreeMap<&str, usize> = BTreeMap::new();
    let mut plans: Vec<Plan> = Vec::new();
    for (i, s) in batch.iter().enumerate() {
        let t = s.created_ms;
        let fits = |p: &Plan| {
            p.members.len() < MAX_RECORDS && p.max_ms.max(t) - p.min_ms.min(t) <= MAX_SPAN_MS
        };
        match open.get(s.tenant_id.as_str()) {
            Some(&k) if fits(&plans[k]) => {
                let p = &mut plans[k];
                p.members.push(i);
                p.min_ms = p.min_ms.min(t);
                p.max_ms = p.max_ms.max(t);
            }
            _ => {
                open.insert(&s.tenant_id, plans.len());
                plans.push(Plan {
                    tenant_id: s.tenant_id.clone(),
                    members: vec![i],
                    min_ms: t,
                    max_ms: t,
                });
            }
        }
    }
    plans
}

/// A block ready to store.
pub(crate) struct Built {
    /// The lookups list.
    pub lookups: Vec<u8>,
    /// The `records` column.
    pub records: Vec<u8>,
    /// The `facts` column.
    pub facts: Vec<u8>,
    /// The `keys` list ([`key_of`] of each key, with its positions).
    pub keys: Vec<u8>,
    /// The id keys: (hash, positions as u16 LE) of each id and correlation id that
    /// does not carry its time.
    pub ids: Vec<(u64, Vec<u8>)>,
}

/// Build the block of `plan` with `c` (a compressor prepared with the tenant's
/// dictionary).
pub(crate) fn build<'a>(
    batch: &'a [StoredSignIn],
    plan: &Plan,
    c: &mut zstd::bulk::Compressor<'_>,
) -> Result<Built> {
    let members: Vec<&'a StoredSignIn> = plan.members.iter().map(|&i| &batch[i]).collect();
    let mut scratch = Vec::with_capacity(RECORD_FRAME * 1536);
    let records = frames(&members, RECORD_FRAME, &mut scratch, c, put_record)?;
    let facts = frames(&members, FACTS_FRAME, &mut scratch, c, put_facts)?;
    let mut lookups: Vec<(u64, u16)> = Vec::new();
    let mut keys: Vec<(u64, u16)> = Vec::new();
    let mut ids: Vec<(u64, u16)> = Vec::new();
    for (pos, &s) in members.iter().enumerate() {
        let pos = pos as u16;
        let f = KeyFields {
            user_key: s.user_key.as_deref(),
            user_id: s.user_id.as_deref(),
            app_id: s.app_id.as_deref(),
            ip: s.ip.as_deref(),
            status: s.status,
            correlation_id: &s.correlation_id,
            id: &s.id,
            created_ms: s.created_ms,
        };
        keys_of_record(
            &plan.tenant_id,
            &f,
            |h| keys.push((h, pos)),
            |h| ids.push((h, pos)),
        );
        if correlation_by_time(&s.correlation_id, s.created_ms) {
            lookups.push((key_hash(&s.correlation_id), pos));
        }
        if id_by_time(&s.id, s.created_ms) {
            lookups.push((key_hash(&s.id), pos));
        }
    }
    Ok(Built {
        lookups: hash_list(lookups),
        records,
        facts,
        keys: hash_list(keys),
        ids: id_rows(ids),
    })
}

/// `members` encoded by `put`, `per` to a frame, each frame compressed: a column's
/// layout is `[frames: u32 LE][end offset of each frame: u32 LE]…[frames]`.
fn frames(
    members: &[&StoredSignIn],
    per: usize,
    scratch: &mut Vec<u8>,
    c: &mut zstd::bulk::Compressor<'_>,
    put: fn(&mut Vec<u8>, &StoredSignIn),
) -> Result<Vec<u8>> {
    let count = members.len().div_ceil(per);
    let mut body = Vec::new();
    let mut out = Vec::with_capacity(4 + 4 * count);
    out.extend_from_slice(&(count as u32).to_le_bytes());
    for chunk in members.chunks(per) {
        scratch.clear();
        for s in chunk {
            put(scratch, s);
        }
        body.extend_from_slice(&record_pack::compress(c, scratch)?);
        out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    }
    out.extend_from_slice(&body);
    Ok(out)
}

/// Frame `j` of a column, unpacked.
fn frame(column: &[u8], j: usize, d: &Reader) -> Result<Vec<u8>> {
    let count = column
        .get(..4)
        .map(|b| u32::from_le_bytes(b.try_into().unwrap_or_default()) as usize)
        .ok_or_else(|| corrupt("no frame count"))?;
    let head = 4 + 4 * count;
    if j >= count || column.len() < head {
        return Err(corrupt(format!("frame {j} of {count}")));
    }
    let end_of = |i: usize| {
        u32::from_le_bytes(column[4 + 4 * i..8 + 4 * i].try_into().unwrap_or_default()) as usize
    };
    let start = if j == 0 { 0 } else { end_of(j - 1) };
    let end = end_of(j);
    let bytes = column
        .get(head + start..head + end)
        .filter(|_| start <= end)
        .ok_or_else(|| corrupt(format!("frame {j} out of bounds")))?;
    record_pack::unpack_bytes(bytes, d)
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_i64(out: &mut Vec<u8>, v: i64) {
    put_varint(out, ((v << 1) ^ (v >> 63)) as u64);
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    put_varint(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

fn put_opt(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        None => out.push(0),
        Some(s) => {
            put_varint(out, s.len() as u64 + 1);
            out.extend_from_slice(s.as_bytes());
        }
    }
}

/// A record, as the `records` column holds it (the tenant is the block's; the policy
/// set by its hash, the set itself stored once).
fn put_record(out: &mut Vec<u8>, s: &StoredSignIn) {
    put_str(out, &s.id);
    put_i64(out, s.created_ms);
    put_opt(out, s.user_key.as_deref());
    put_opt(out, s.user_id.as_deref());
    put_opt(out, s.app_id.as_deref());
    out.push(s.status);
    put_i64(out, s.error_code);
    put_str(out, &s.correlation_id);
    put_opt(out, s.ip.as_deref());
    out.push(s.ca_status.unwrap_or(u8::MAX));
    out.push(u8::from(s.interactive));
    put_opt(out, s.app_display_name.as_deref());
    put_opt(out, s.resource_id.as_deref());
    put_opt(out, s.client_app_used.as_deref());
    put_str(out, &s.record);
    put_opt(out, s.policy_set.as_ref().map(|p| p.0.as_str()));
}

/// A record's facts, as the `facts` column holds them.
fn put_facts(out: &mut Vec<u8>, s: &StoredSignIn) {
    put_i64(out, s.created_ms);
    put_opt(out, s.user_key.as_deref());
    put_opt(out, s.app_id.as_deref());
    put_opt(out, s.facts.as_deref());
    put_opt(out, s.group_set.as_ref().map(|g| g.0.as_str()));
}

/// A reader over a frame's bytes.
struct Cursor<'a>(&'a [u8]);

impl Cursor<'_> {
    fn varint(&mut self) -> Result<u64> {
        let mut v: u64 = 0;
        for shift in (0..64).step_by(7) {
            let (&b, rest) = self.0.split_first().ok_or_else(|| corrupt("truncated"))?;
            self.0 = rest;
            v |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Ok(v);
            }
        }
        Err(corrupt("a number too long"))
    }
    fn i64(&mut self) -> Result<i64> {
        let v = self.varint()?;
        Ok(((v >> 1) as i64) ^ -((v & 1) as i64))
    }
    fn byte(&mut self) -> Result<u8> {
        let (&b, rest) = self.0.split_first().ok_or_else(|| corrupt("truncated"))?;
        self.0 = rest;
        Ok(b)
    }
    fn bytes(&mut self, n: u64) -> Result<String> {
        let n = usize::try_from(n).map_err(|_| corrupt("a length"))?;
        if n > self.0.len() {
            return Err(corrupt("truncated"));
        }
        let (s, rest) = self.0.split_at(n);
        self.0 = rest;
        String::from_utf8(s.to_vec()).map_err(|_| corrupt("not UTF-8"))
    }
    fn str(&mut self) -> Result<String> {
        let n = self.varint()?;
        self.bytes(n)
    }
    fn opt(&mut self) -> Result<Option<String>> {
        match self.varint()? {
            0 => Ok(None),
            n => self.bytes(n - 1).map(Some),
        }
    }
}

/// A record read from a block.
#[derive(Debug, Clone)]
pub(crate) struct BlockRecord {
    /// Its seq.
    pub seq: i64,
    /// Graph `id`.
    pub id: String,
    /// `createdDateTime` (ms).
    pub created_ms: i64,
    /// The user key.
    pub user_key: Option<String>,
    /// The user's id.
    pub user_id: Option<String>,
    /// The client id.
    pub app_id: Option<String>,
    /// Status code.
    pub status: u8,
    /// Error code.
    pub error_code: i64,
    /// Correlation id.
    pub correlation_id: String,
    /// Client address.
    pub ip: Option<String>,
    /// Conditional Access status (`None`: not evaluated).
    pub ca_status: Option<u8>,
    /// Interactive.
    pub interactive: bool,
    /// `appDisplayName`.
    pub app_display_name: Option<String>,
    /// `resourceId`.
    pub resource_id: Option<String>,
    /// `clientAppUsed`.
    pub client_app_used: Option<String>,
    /// The compact record (JSON).
    pub record: String,
    /// The policy set's hash.
    pub policy_set: Option<String>,
}

fn read_record(c: &mut Cursor<'_>, seq: i64) -> Result<BlockRecord> {
    Ok(BlockRecord {
        seq,
        id: c.str()?,
        created_ms: c.i64()?,
        user_key: c.opt()?,
        user_id: c.opt()?,
        app_id: c.opt()?,
        status: c.byte()?,
        error_code: c.i64()?,
        correlation_id: c.str()?,
        ip: c.opt()?,
        ca_status: Some(c.byte()?).filter(|b| *b != u8::MAX),
        interactive: c.byte()? != 0,
        app_display_name: c.opt()?,
        resource_id: c.opt()?,
        client_app_used: c.opt()?,
        record: c.str()?,
        policy_set: c.opt()?,
    })
}

fn read_facts(c: &mut Cursor<'_>, seq: i64) -> Result<FactsRow> {
    Ok(FactsRow {
        seq,
        created_ms: c.i64()?,
        user_key: c.opt()?,
        app_id: c.opt()?,
        facts: c.opt()?,
        group_set: c.opt()?,
    })
}

/// [`pack`]'s answer: the plans, each block built with its dictionary's id, and the
/// dictionaries to adopt.
pub(crate) type Packing = (Vec<Plan>, Vec<(i64, Built)>, record_pack::Packed);

/// The blocks of `batch` ([`plan`]), each built ([`build`]) with its tenant's
/// dictionary (those in `made` just made for this batch, with the ids the store gave
/// them) and named with that dictionary's id; and the dictionaries to adopt once the
/// batch is committed. Both engines' appends start here.
pub(crate) fn pack(
    dicts: &record_pack::Dicts,
    batch: &[StoredSignIn],
    made: Vec<(record_pack::NewDict, i64)>,
) -> Result<Packing> {
    let plans = plan(batch);
    let (built, packed) = dicts.pack_with(batch, made, |slots, compressors, dicts| {
        plans
            .iter()
            .map(|p| {
                let k = slots[p.members[0]];
                Ok((dicts[k].0.id, build(batch, p, &mut compressors[k])?))
            })
            .collect::<Result<Vec<_>>>()
    })?;
    Ok((plans, built, packed))
}

/// A stored block, as read for a query.
pub(crate) struct Stored<'a> {
    /// Its id (its first seq).
    pub id: i64,
    /// How many records it holds.
    pub n: i64,
    /// The dictionary its frames are packed with.
    pub dict: &'a Reader,
    /// The `records` or `facts` column.
    pub column: &'a [u8],
}

/// The records at `positions` of a block (all of them for `None`), newest first.
pub(crate) fn records(b: &Stored<'_>, positions: Option<&[u16]>) -> Result<Vec<BlockRecord>> {
    read_newest_first(b, positions, RECORD_FRAME, read_record)
}

/// The facts of a block's records, newest first.
pub(crate) fn facts(b: &Stored<'_>) -> Result<Vec<FactsRow>> {
    read_newest_first(b, None, FACTS_FRAME, read_facts)
}

fn read_newest_first<T>(
    b: &Stored<'_>,
    positions: Option<&[u16]>,
    per: usize,
    read: fn(&mut Cursor<'_>, i64) -> Result<T>,
) -> Result<Vec<T>> {
    let n = usize::try_from(b.n).map_err(|_| corrupt("a count"))?;
    let mut wanted: Vec<usize> = match positions {
        Some(p) => p
            .iter()
            .map(|&p| usize::from(p))
            .filter(|&p| p < n)
            .collect(),
        None => (0..n).collect(),
    };
    wanted.sort_unstable_by(|a, b| b.cmp(a));
    wanted.dedup();
    let mut out = Vec::with_capacity(wanted.len());
    let mut i = 0;
    while i < wanted.len() {
        let j = wanted[i] / per;
        let bytes = frame(b.column, j, b.dict).map_err(|e| match e {
            StoreError::Corrupt(m) => StoreError::Corrupt(format!("block {}: {m}", b.id)),
            e => e,
        })?;
        let mut cur = Cursor(&bytes);
        let first = j * per;
        let last = (first + per).min(n);
        let mut items: Vec<Option<T>> = Vec::with_capacity(last - first);
        for pos in first..last {
            items.push(Some(read(&mut cur, b.id + pos as i64)?));
        }
        // This frame's wanted positions, newest first.
        while i < wanted.len() && wanted[i] / per == j {
            out.extend(items.get_mut(wanted[i] - first).and_then(Option::take));
            i += 1;
        }
    }
    Ok(out)
}

impl BlockRecord {
    /// The fields its keys are made of.
    fn key_fields(&self) -> KeyFields<'_> {
        KeyFields {
            user_key: self.user_key.as_deref(),
            user_id: self.user_id.as_deref(),
            app_id: self.app_id.as_deref(),
            ip: self.ip.as_deref(),
            status: self.status,
            correlation_id: &self.correlation_id,
            id: &self.id,
            created_ms: self.created_ms,
        }
    }

    /// Does the record answer `q`: every field of the query and its `$filter`, as the
    /// row engines' SQL asks them (`portvakt_core::filter::matches` is that SQL's
    /// reference).
    pub(crate) fn answers(&self, q: &SignInQuery) -> bool {
        let eq = |want: &Option<String>, have: &Option<String>| {
            want.as_ref().is_none_or(|w| have.as_ref() == Some(w))
        };
        q.since_ms.is_none_or(|v| self.created_ms >= v)
            && q.until_ms.is_none_or(|v| self.created_ms < v)
            && q.user
                .as_ref()
                .is_none_or(|u| self.user_key.as_deref() == Some(u.to_lowercase().as_str()))
            && eq(&q.user_id, &self.user_id)
            && eq(&q.app_id, &self.app_id)
            && q.status.is_none_or(|v| self.status == v)
            && q.error_code.is_none_or(|v| self.error_code == v)
            && q.correlation_id
                .as_ref()
                .is_none_or(|v| *v == self.correlation_id)
            && eq(&q.ip, &self.ip)
            && q.ca_status.is_none_or(|v| self.ca_status.unwrap_or(0) == v)
            && q.interactive.is_none_or(|v| self.interactive == v)
            && q.before_seq.is_none_or(|v| self.seq < v)
            && q.id.as_ref().is_none_or(|v| *v == self.id)
            && q.seq.is_none_or(|v| self.seq == v)
            && q.filter.as_ref().is_none_or(|f| {
                portvakt_core::filter::matches(f.expr(), &|field| self.field(field))
            })
    }

    /// The value of a `$filter` field.
    fn field(&self, f: Field) -> Value {
        let text = |v: &Option<String>| v.clone().map_or(Value::Null, Value::String);
        match f {
            Field::CreatedDateTime => Value::DateTimeMs(self.created_ms),
            Field::UserPrincipalName => text(&self.user_key),
            Field::UserId => text(&self.user_id),
            Field::AppId => text(&self.app_id),
            Field::AppDisplayName => text(&self.app_display_name),
            Field::ResourceId => text(&self.resource_id),
            Field::IpAddress => text(&self.ip),
            Field::CorrelationId => Value::String(self.correlation_id.clone()),
            Field::StatusErrorCode => Value::Int(self.error_code),
            Field::ConditionalAccessStatus => Value::String(
                match self.ca_status {
                    Some(1) => "success",
                    Some(2) => "failure",
                    _ => "notApplied",
                }
                .into(),
            ),
            Field::IsInteractive => Value::Bool(self.interactive),
            Field::ClientAppUsed => text(&self.client_app_used),
            Field::Id => Value::String(self.id.clone()),
            _ => Value::Null,
        }
    }

    /// The row of this record: its policy set is left for the engine to fill from
    /// the hash in [`BlockRecord::policy_set`].
    pub(crate) fn into_row(self) -> SignInRow {
        SignInRow {
            seq: self.seq,
            record: self.record,
            policy_set: self.policy_set,
            facts: None,
            group_ids: None,
            created_ms: self.created_ms,
            user_key: self.user_key,
            app_id: self.app_id,
            status: self.status,
            error_code: self.error_code,
            id: self.id,
            correlation_id: self.correlation_id,
            ip: self.ip,
            user_id: self.user_id,
            interactive: self.interactive,
        }
    }
}

/// For tests: a UUIDv7 of time `ms` (as the server makes ids and correlation ids),
/// `n` in its random part.
#[cfg(test)]
pub(crate) fn v7(ms: i64, n: u32) -> String {
    format!(
        "{:08x}-{:04x}-7abc-8def-{:012x}",
        ms >> 16,
        ms & 0xffff,
        u64::from(n)
    )
}

/// How a query finds its blocks: the narrowest way in that it names.
pub(crate) enum Way {
    /// The block holding this seq.
    Seq(i64),
    /// A record id or correlation id: the key rows of `kind`, and the blocks whose
    /// time range may hold `time` (if the id carries one), narrowed by the lookups.
    Id {
        /// [`kind::ID`] or [`kind::CORRELATION`].
        kind: i64,
        /// The id.
        key: String,
        /// The time it carries: the blocks from `time - lag - MAX_SPAN_MS` to
        /// `time + lag` are read.
        time: Option<(i64, i64)>,
    },
    /// The key rows of (kind, key).
    Key(i64, String),
    /// The tenant's blocks, newest first.
    Tenant,
}

/// The way in for `q`.
pub(crate) fn way(q: &SignInQuery) -> Way {
    if let Some(seq) = q.seq {
        Way::Seq(seq)
    } else if let Some(id) = &q.id {
        Way::Id {
            kind: kind::ID,
            key: id.clone(),
            time: time_of_id(id).map(|t| (t, 0)),
        }
    } else if let Some(c) = &q.correlation_id {
        Way::Id {
            kind: kind::CORRELATION,
            key: c.clone(),
            time: time_of_id(c).map(|t| (t, CORRELATION_LAG_MS)),
        }
    } else if let (Some(u), Some(st)) = (&q.user, q.status.filter(|s| *s != 0)) {
        Way::Key(kind::USER_STATUS, user_status_key(&u.to_lowercase(), st))
    } else if let Some(u) = &q.user {
        Way::Key(kind::USER, u.to_lowercase())
    } else if let Some(u) = &q.user_id {
        Way::Key(kind::USER_ID, u.clone())
    } else if let Some(ip) = &q.ip {
        Way::Key(kind::IP, ip.clone())
    } else if let Some(a) = &q.app_id {
        Way::Key(kind::APP, a.clone())
    } else {
        Way::Tenant
    }
}
