//! Sign-in records and their facts packed with a dictionary (docs/design/
//! sign-in-log-packing.md): each record's JSON, and its facts', compressed on its own
//! with zstd against a dictionary made of the same tenant's recent records, so a
//! ~1.2 KB record takes ~100 bytes and any one record is still read alone.
//!
//! The engines keep the dictionaries in `record_dicts` (id, tenant, time made, bytes,
//! the newest seq packed with it) and a packed record's row names its dictionary
//! (`dict_id`); its `record` (and `facts`) hold `''` and `record_z` (`facts_z`) the
//! packed bytes. Rows written before (no `dict_id`) keep their text and are read as
//! they are.
//!
//! A dictionary is made from the first batch of a tenant's records that finds none,
//! or only one older than [`DICT_MAX_AGE_MS`] by the batch's record times (the store
//! never reads the clock), and packs that batch and the next ones. It holds copies of
//! that batch's records, so it is dropped with the last record packed with it (the
//! purge of sets: its newest seq older than the oldest record left), at most
//! [`DICT_MAX_AGE_MS`] after the records it was made of would have gone.

use crate::{Result, StoreError};
use portvakt_core::signin::StoredSignIn;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use zstd::dict::{DecoderDictionary, EncoderDictionary};

/// A tenant's dictionary is made anew once its records are this much newer than it:
/// also the most it outlives the records it was made of.
pub const DICT_MAX_AGE_MS: i64 = 3_600_000;
/// The most bytes of records a dictionary is made of (zstd finds matches up to its
/// window; records repeat within a few of them).
const DICT_MAX_BYTES: usize = 64 * 1024;
/// zstd's level: 1 is its fastest standard level; with the dictionary doing the
/// work, higher levels gain a few bytes a record for twice the time.
const LEVEL: i32 = 1;
/// The largest text a packed value may say it holds (a record is a few KB; anything
/// beyond this is a corrupt row, not a record).
const MAX_TEXT: u64 = 16 * 1024 * 1024;

/// A dictionary made for a batch, to be stored with it: the tenant's, with its bytes.
pub(crate) struct NewDict {
    /// The tenant whose records it was made of.
    pub tenant_id: String,
    /// The newest record time of the batch that made it.
    pub created_ms: i64,
    /// The dictionary (raw content: records and facts one after another).
    pub bytes: Vec<u8>,
}

/// A dictionary a writer packs with.
pub(crate) struct WriteDict {
    /// Its id in `record_dicts`.
    pub id: i64,
    /// Its tenant.
    pub tenant_id: String,
    /// When it was made (the newest record time of its batch).
    pub created_ms: i64,
    /// Its bytes (to store it again if a purge took it while this writer used it).
    pub bytes: Vec<u8>,
    enc: EncoderDictionary<'static>,
}

/// A batch's records packed.
pub(crate) struct Packed {
    /// Per record, in the batch's order: (dictionary id, record bytes, facts bytes).
    pub rows: Vec<(i64, Vec<u8>, Option<Vec<u8>>)>,
    /// The dictionaries the rows name, each with the index of the last row naming it.
    pub dicts: Vec<(Arc<WriteDict>, usize)>,
    /// The dictionaries made for this batch, to adopt once it is committed.
    fresh: Vec<Arc<WriteDict>>,
}

/// The dictionaries of one store: those its writer packs with, per tenant, and those
/// its readers have opened, by id.
#[derive(Default)]
pub(crate) struct Dicts {
    current: Mutex<HashMap<String, Arc<WriteDict>>>,
    opened: Mutex<HashMap<i64, Arc<DecoderDictionary<'static>>>>,
}

impl std::fmt::Debug for Dicts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dicts").finish_non_exhaustive()
    }
}

fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("a packed sign-in record: {what}"))
}

impl Dicts {
    /// The dictionaries `batch` needs made before it is packed: one per tenant of the
    /// batch with none, or with one [`DICT_MAX_AGE_MS`] older than the tenant's newest
    /// record in the batch; made of that tenant's records in the batch, newest last.
    pub(crate) fn needed(&self, batch: &[StoredSignIn]) -> Vec<NewDict> {
        let current = self.current.lock().unwrap_or_else(|p| p.into_inner());
        let mut newest: HashMap<&str, i64> = HashMap::new();
        for s in batch {
            let e = newest.entry(s.tenant_id.as_str()).or_insert(s.created_ms);
            *e = (*e).max(s.created_ms);
        }
        let mut out: Vec<NewDict> = newest
            .into_iter()
            .filter(|(t, at)| {
                current
                    .get(*t)
                    .is_none_or(|d| at.saturating_sub(d.created_ms) >= DICT_MAX_AGE_MS)
            })
            .map(|(t, at)| {
                let mut bytes = Vec::new();
                for s in batch.iter().rev().filter(|s| s.tenant_id == t) {
                    let more = s.record.len() + s.facts.as_ref().map_or(0, String::len);
                    if bytes.len() + more > DICT_MAX_BYTES {
                        break;
                    }
                    // Newest last: zstd's nearest content is its cheapest to refer to.
                    let mut one = s.record.clone().into_bytes();
                    one.extend_from_slice(s.facts.as_deref().unwrap_or_default().as_bytes());
                    one.extend_from_slice(&bytes);
                    bytes = one;
                }
                NewDict {
                    tenant_id: t.to_string(),
                    created_ms: at,
                    bytes,
                }
            })
            .collect();
        out.sort_by(|a, b| a.tenant_id.cmp(&b.tenant_id));
        out
    }

    /// Pack `batch` with each tenant's dictionary: those just made (`made`, with the
    /// ids the store gave them) or the current ones. Returns the packed values and the
    /// dictionaries to adopt once the batch is committed ([`Dicts::adopt`]).
    pub(crate) fn pack(&self, batch: &[StoredSignIn], made: Vec<(NewDict, i64)>) -> Result<Packed> {
        let fresh: Vec<Arc<WriteDict>> = made
            .into_iter()
            .map(|(d, id)| {
                Arc::new(WriteDict {
                    id,
                    enc: EncoderDictionary::copy(&d.bytes, LEVEL),
                    tenant_id: d.tenant_id,
                    created_ms: d.created_ms,
                    bytes: d.bytes,
                })
            })
            .collect();
        let by_tenant: HashMap<&str, Arc<WriteDict>> = {
            let current = self.current.lock().unwrap_or_else(|p| p.into_inner());
            let mut m = HashMap::new();
            for s in batch {
                if m.contains_key(s.tenant_id.as_str()) {
                    continue;
                }
                let d = fresh
                    .iter()
                    .find(|d| d.tenant_id == s.tenant_id)
                    .cloned()
                    .or_else(|| current.get(&s.tenant_id).cloned())
                    .ok_or_else(|| corrupt(format!("no dictionary for tenant {}", s.tenant_id)))?;
                m.insert(s.tenant_id.as_str(), d);
            }
            m
        };
        let mut compressors: HashMap<i64, zstd::bulk::Compressor<'_>> = HashMap::new();
        let mut out = Vec::with_capacity(batch.len());
        let mut dicts: Vec<(Arc<WriteDict>, usize)> = Vec::new();
        for (i, s) in batch.iter().enumerate() {
            let d = &by_tenant[s.tenant_id.as_str()];
            match dicts.iter_mut().find(|(x, _)| x.id == d.id) {
                Some(x) => x.1 = i,
                None => dicts.push((d.clone(), i)),
            }
            let c = match compressors.entry(d.id) {
                std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::hash_map::Entry::Vacant(e) => e.insert(
                    zstd::bulk::Compressor::with_prepared_dictionary(&d.enc)
                        .map_err(|e| corrupt(format!("zstd: {e}")))?,
                ),
            };
            let record = c
                .compress(s.record.as_bytes())
                .map_err(|e| corrupt(format!("zstd: {e}")))?;
            let facts = match &s.facts {
                Some(f) => Some(
                    c.compress(f.as_bytes())
                        .map_err(|e| corrupt(format!("zstd: {e}")))?,
                ),
                None => None,
            };
            out.push((d.id, record, facts));
        }
        Ok(Packed {
            rows: out,
            dicts,
            fresh,
        })
    }

    /// After the batch is committed: pack with the dictionaries made for it from now
    /// on.
    pub(crate) fn adopt(&self, packed: Packed) {
        if packed.fresh.is_empty() {
            return;
        }
        let mut current = self.current.lock().unwrap_or_else(|p| p.into_inner());
        let newest = packed.fresh.iter().map(|d| d.created_ms).max().unwrap_or(0);
        // A tenant without a sign-in for an hour would get a new one anyway: its old
        // one is not kept in memory.
        current.retain(|_, d| newest.saturating_sub(d.created_ms) < DICT_MAX_AGE_MS);
        for d in packed.fresh {
            current.insert(d.tenant_id.clone(), d);
        }
    }

    /// Dictionary `id` if a reader has opened it.
    pub(crate) fn opened(&self, id: i64) -> Option<Reader> {
        self.opened
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&id)
            .cloned()
    }

    /// Open dictionary `id` from its stored bytes, and keep it for the next reads (at
    /// most [`MAX_OPENED`] are kept: past that the cache starts again).
    pub(crate) fn open(&self, id: i64, bytes: &[u8]) -> Reader {
        let d = Arc::new(DecoderDictionary::copy(bytes));
        let mut opened = self.opened.lock().unwrap_or_else(|p| p.into_inner());
        if opened.len() >= MAX_OPENED {
            opened.clear();
        }
        opened.insert(id, d.clone());
        d
    }

    /// Dictionary `id`, opened now with the bytes `load` reads if no reader has.
    pub(crate) fn get_or_open(
        &self,
        id: i64,
        load: impl FnOnce(i64) -> Result<Vec<u8>>,
    ) -> Result<Reader> {
        match self.opened(id) {
            Some(d) => Ok(d),
            None => Ok(self.open(id, &load(id)?)),
        }
    }
}

/// An opened dictionary, for reading.
pub(crate) type Reader = Arc<DecoderDictionary<'static>>;

/// The most dictionaries a store keeps opened for reading (~70 KB each).
const MAX_OPENED: usize = 256;

/// The text of a stored value: `text` as it is when the row names no dictionary
/// (written before packing), else `packed` unpacked with dictionary `dict`, which
/// `dict_of` gives.
pub(crate) fn text(
    text: String,
    packed: Option<&[u8]>,
    dict: Option<i64>,
    dict_of: impl FnOnce(i64) -> Result<Reader>,
) -> Result<String> {
    let (Some(packed), Some(id)) = (packed, dict) else {
        return Ok(text);
    };
    let d = dict_of(id)?;
    unpack(packed, &d)
}

thread_local! {
    /// One decompression context per thread, reused by every read (the dictionary is
    /// given per call).
    static DCTX: std::cell::RefCell<zstd::zstd_safe::DCtx<'static>> =
        std::cell::RefCell::new(zstd::zstd_safe::DCtx::create());
}

/// `packed` unpacked with `d`, as UTF-8 text.
fn unpack(packed: &[u8], d: &DecoderDictionary<'_>) -> Result<String> {
    let size = zstd::zstd_safe::get_frame_content_size(packed)
        .map_err(|_| corrupt("not a zstd frame"))?
        .ok_or_else(|| corrupt("no content size"))?;
    if size > MAX_TEXT {
        return Err(corrupt(format!("says it holds {size} bytes")));
    }
    let mut bytes = Vec::with_capacity(size as usize);
    DCTX.with(|z| {
        z.borrow_mut()
            .decompress_using_ddict(&mut bytes, packed, d.as_ddict())
            .map_err(|code| corrupt(format!("zstd: {}", zstd::zstd_safe::get_error_name(code))))
    })?;
    String::from_utf8(bytes).map_err(|_| corrupt("not UTF-8"))
}
