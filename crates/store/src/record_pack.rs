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
    /// Per record, in the batch's order: (dictionary id, record bytes, facts bytes);
    /// [`Dicts::pack`]'s, which the tests use (both engines write blocks now, packed
    /// through [`Dicts::pack_with`]).
    #[cfg(test)]
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
                // The newest records that fit, then written oldest first: the newest
                // end last, where zstd's references are cheapest.
                let mut size = 0;
                let mut parts: Vec<&str> = Vec::new();
                for s in batch.iter().rev().filter(|s| s.tenant_id == t) {
                    let facts = s.facts.as_deref().unwrap_or_default();
                    if size + s.record.len() + facts.len() > DICT_MAX_BYTES {
                        break;
                    }
                    size += s.record.len() + facts.len();
                    parts.push(facts);
                    parts.push(&s.record);
                }
                let mut bytes = Vec::with_capacity(size);
                for p in parts.iter().rev() {
                    bytes.extend_from_slice(p.as_bytes());
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
    #[cfg(test)]
    pub(crate) fn pack(&self, batch: &[StoredSignIn], made: Vec<(NewDict, i64)>) -> Result<Packed> {
        let (rows, mut packed) = self.pack_with(batch, made, |slots, compressors, dicts| {
            let mut out = Vec::with_capacity(batch.len());
            for (s, k) in batch.iter().zip(slots) {
                let c = &mut compressors[*k];
                let record = compress(c, s.record.as_bytes())?;
                let facts = match &s.facts {
                    Some(f) => Some(compress(c, f.as_bytes())?),
                    None => None,
                };
                out.push((dicts[*k].0.id, record, facts));
            }
            Ok(out)
        })?;
        packed.rows = rows;
        Ok(packed)
    }

    /// The dictionaries of `batch` resolved as [`Dicts::pack`] does, and `f` called
    /// with each record's slot (index into the compressors and the dictionaries), a
    /// compressor prepared with each dictionary, and the dictionaries (each with the
    /// index of the last record naming it). Returns what `f` made and the dictionaries
    /// to adopt (a [`Packed`] without rows). The sign-in blocks pack frames with it.
    pub(crate) fn pack_with<T>(
        &self,
        batch: &[StoredSignIn],
        made: Vec<(NewDict, i64)>,
        f: impl FnOnce(
            &[usize],
            &mut [zstd::bulk::Compressor<'_>],
            &[(Arc<WriteDict>, usize)],
        ) -> Result<T>,
    ) -> Result<(T, Packed)> {
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
        // Each tenant of the batch once: its dictionary (`dicts`, with the last row
        // packed with it), and each row's index into `dicts`.
        let mut slot_of: HashMap<&str, usize> = HashMap::new();
        let mut dicts: Vec<(Arc<WriteDict>, usize)> = Vec::new();
        let mut slots = Vec::with_capacity(batch.len());
        {
            let current = self.current.lock().unwrap_or_else(|p| p.into_inner());
            for (i, s) in batch.iter().enumerate() {
                let k = match slot_of.get(s.tenant_id.as_str()) {
                    Some(k) => *k,
                    None => {
                        let d = fresh
                            .iter()
                            .find(|d| d.tenant_id == s.tenant_id)
                            .or_else(|| current.get(&s.tenant_id))
                            .cloned()
                            .ok_or_else(|| {
                                corrupt(format!("no dictionary for tenant {}", s.tenant_id))
                            })?;
                        dicts.push((d, i));
                        slot_of.insert(s.tenant_id.as_str(), dicts.len() - 1);
                        dicts.len() - 1
                    }
                };
                dicts[k].1 = i;
                slots.push(k);
            }
        }
        // A compressor prepared with each, then what `f` packs.
        let mut compressors = dicts
            .iter()
            .map(|(d, _)| {
                zstd::bulk::Compressor::with_prepared_dictionary(&d.enc)
                    .map_err(|e| corrupt(format!("zstd: {e}")))
            })
            .collect::<Result<Vec<_>>>()?;
        let out = f(&slots, &mut compressors, &dicts)?;
        drop(compressors);
        Ok((
            out,
            Packed {
                #[cfg(test)]
                rows: Vec::new(),
                dicts,
                fresh,
            },
        ))
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

/// `bytes` compressed by `c` (one zstd frame, its content size in its header).
pub(crate) fn compress(c: &mut zstd::bulk::Compressor<'_>, bytes: &[u8]) -> Result<Vec<u8>> {
    c.compress(bytes).map_err(|e| corrupt(format!("zstd: {e}")))
}

/// `packed` unpacked with `d`, as UTF-8 text.
fn unpack(packed: &[u8], d: &DecoderDictionary<'_>) -> Result<String> {
    String::from_utf8(unpack_bytes(packed, d)?).map_err(|_| corrupt("not UTF-8"))
}

/// `packed` (one zstd frame) unpacked with `d`; a frame that says it holds more than
/// [`MAX_TEXT`] is refused before anything is allocated.
pub(crate) fn unpack_bytes(packed: &[u8], d: &DecoderDictionary<'_>) -> Result<Vec<u8>> {
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
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(i: u32, tenant: &str) -> StoredSignIn {
        StoredSignIn {
            id: format!("id-{i}"),
            tenant_id: tenant.into(),
            created_ms: 1_800_000_000_000 + i64::from(i),
            user_key: None,
            user_id: None,
            app_id: None,
            status: 0,
            error_code: 0,
            correlation_id: format!("c-{i}"),
            ip: None,
            ca_status: None,
            interactive: false,
            app_display_name: None,
            resource_id: None,
            client_app_used: None,
            record: format!("{{\"appDisplayName\":\"Contoso Analytics\",\"n\":{i}}}"),
            facts: Some(format!("{{\"client\":\"web\",\"n\":{i}}}")),
            group_set: None,
            policy_set: None,
            policy_results: vec![],
        }
    }

    /// A batch packed with a dictionary made for it, and that dictionary opened for
    /// reading.
    fn packed(batch: &[StoredSignIn]) -> (Packed, Reader) {
        let d = Dicts::default();
        let made: Vec<(NewDict, i64)> = d.needed(batch).into_iter().zip(1..).collect();
        let bytes = made[0].0.bytes.clone();
        let p = d.pack(batch, made).expect("pack");
        (p, d.open(1, &bytes))
    }

    #[test]
    fn a_packed_value_reads_back_and_a_damaged_one_is_an_error_not_a_panic() {
        let batch: Vec<StoredSignIn> = (0..20).map(|i| stored(i, "t")).collect();
        let (p, reader) = packed(&batch);
        let dict_of = |_| Ok(reader.clone());
        for (s, (id, record, facts)) in batch.iter().zip(&p.rows) {
            assert_eq!(*id, 1);
            let back = text(String::new(), Some(record), Some(*id), dict_of).expect("unpack");
            assert_eq!(back, s.record);
            let f = text(String::new(), facts.as_deref(), Some(*id), dict_of).expect("facts");
            assert_eq!(Some(f), s.facts);
        }
        // A row written before packing is its text.
        assert_eq!(text("old".into(), None, None, dict_of).expect("old"), "old");

        let good = &p.rows[0].1;
        let truncated = &good[..good.len() - 3];
        let mut flipped = good.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 0x55;
        // A frame that says it holds more than any record: refused before allocating.
        let huge = zstd::bulk::compress(&vec![b'x'; MAX_TEXT as usize + 1], 1).expect("a frame");
        assert!(huge.len() < 4096);
        match text(String::new(), Some(&huge), Some(1), dict_of) {
            Err(StoreError::Corrupt(m)) => assert!(m.contains("says it holds"), "{m}"),
            other => panic!("an oversized frame: {other:?}"),
        }
        for (what, bad) in [
            ("not zstd", b"{\"plain\":\"json\"}".to_vec()),
            ("truncated", truncated.to_vec()),
            ("a flipped byte", flipped),
            ("empty", vec![]),
        ] {
            match text(String::new(), Some(&bad), Some(1), dict_of) {
                Err(StoreError::Corrupt(m)) => assert!(m.contains("packed"), "{what}: {m}"),
                other => panic!("{what}: {other:?}"),
            }
        }
        // Another dictionary than the one it was packed with does not give the text.
        let other = Arc::new(DecoderDictionary::copy(
            b"something else entirely, at length",
        ));
        assert_ne!(
            text(String::new(), Some(good), Some(1), |_| Ok(other.clone())).ok(),
            Some(batch[0].record.clone())
        );
    }

    #[test]
    fn each_tenant_gets_its_own_dictionary_and_keeps_it_for_an_hour() {
        let d = Dicts::default();
        let batch = vec![stored(1, "a"), stored(2, "b"), stored(3, "a")];
        let made: Vec<(NewDict, i64)> = d.needed(&batch).into_iter().zip(1..).collect();
        let tenants: Vec<&str> = made.iter().map(|(n, _)| n.tenant_id.as_str()).collect();
        assert_eq!(tenants, ["a", "b"]);
        // Made of its own tenant's records only.
        let a = String::from_utf8(made[0].0.bytes.clone()).expect("utf-8");
        assert!(a.contains("\"n\":1") && a.contains("\"n\":3") && !a.contains("\"n\":2"));
        let p = d.pack(&batch, made).expect("pack");
        let ids: Vec<i64> = p.rows.iter().map(|r| r.0).collect();
        assert_eq!(ids, [1, 2, 1]);
        d.adopt(p);
        // Within the hour: none needed; an hour on: a new one for that tenant.
        let later = |i: u32, t: &str, ms: i64| StoredSignIn {
            created_ms: 1_800_000_000_000 + ms,
            ..stored(i, t)
        };
        assert!(d.needed(&[later(4, "a", DICT_MAX_AGE_MS - 1)]).is_empty());
        let again = d.needed(&[later(5, "a", DICT_MAX_AGE_MS + 3)]);
        assert_eq!(again.len(), 1);
        assert_eq!(again[0].tenant_id, "a");
        // A batch may not name a tenant it has no dictionary for.
        assert!(matches!(
            d.pack(&[stored(6, "c")], vec![]),
            Err(StoreError::Corrupt(_))
        ));
    }
}
