//! A cache of decoded column chunks shared by scans and point reads, bounded in bytes.
//!
//! Keys are (table id, block id, column index); a published block id is never reused within
//! a table, so an entry read from a published block can never go stale. A fold or re-layout
//! also warms the cache with the chunks it writes ([`ColumnCache::warm`]), before they are
//! published: should the write fail, the next attempt hands the same ids out again, so the
//! writer forgets them ([`ColumnCache::forget_blocks_from`]). Eviction is least-recently-used by a logical clock,
//! found by a linear pass: entries are whole decoded chunks (up to 65,536 values), so there
//! are few of them and a miss costs a decode far above the pass. Integer and decimal chunks
//! are held with their narrow [`Offsets`], which filters and projections read instead.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;
use tessera_codecs::Column;

use crate::codes::Codes;
use crate::offsets::Offsets;

/// Identifies one decoded chunk.
pub(crate) type ChunkId = (u32, u64, u16);

/// A decoded chunk and, where its values allow, their offsets (integers and decimals) or
/// dictionary codes (strings and binaries of few distinct values).
#[derive(Debug)]
pub(crate) struct Chunk {
    pub(crate) column: Arc<Column>,
    pub(crate) offsets: Option<Offsets>,
    pub(crate) codes: Option<Codes>,
}

impl Chunk {
    /// The chunk as an ascending integer run for the layout's searches, when it is an
    /// integer column without nulls: through its offsets when it has them (2 to 8 times
    /// fewer bytes to touch), else its values.
    pub(crate) fn sorted_ints(&self) -> Option<tessera_layout::SortedInts<'_>> {
        let values = tessera_layout::SortedInts::of(&self.column)?;
        Some(
            self.offsets
                .as_ref()
                .and_then(Offsets::sorted_ints)
                .unwrap_or(values),
        )
    }

    /// The chunk of `column`, with its offsets or codes made now.
    pub(crate) fn new(column: Column) -> Self {
        let offsets = Offsets::of(&column);
        let codes = Codes::of(&column);
        Self {
            column: Arc::new(column),
            offsets,
            codes,
        }
    }

    /// Bytes the chunk takes in memory, by the Arrow layout of its values, and its offsets
    /// or codes.
    fn bytes(&self) -> usize {
        self.column.logical_bytes()
            + self.offsets.as_ref().map_or(0, Offsets::bytes)
            + self.codes.as_ref().map_or(0, Codes::bytes)
    }
}

struct Entry {
    chunk: Arc<Chunk>,
    bytes: usize,
    used: u64,
}

struct Inner {
    entries: HashMap<ChunkId, Entry>,
    bytes: usize,
    clock: u64,
}

impl Inner {
    /// Evicts the least recently used chunks into `evicted` until `bytes` more fit within
    /// `capacity`, as long as the oldest was last used at or before `unused_since`; returns
    /// whether they fit.
    fn make_room(
        &mut self,
        capacity: usize,
        bytes: usize,
        unused_since: u64,
        evicted: &mut Vec<Entry>,
    ) -> bool {
        while self.bytes + bytes > capacity {
            let oldest = self
                .entries
                .iter()
                .min_by_key(|(_, entry)| entry.used)
                .map(|(id, entry)| (*id, entry.used));
            match oldest {
                Some((oldest, used)) if used <= unused_since => {
                    if let Some(entry) = self.entries.remove(&oldest) {
                        self.bytes -= entry.bytes;
                        evicted.push(entry);
                    }
                }
                _ => return false,
            }
        }
        true
    }

    /// Caches `chunk` as the most recently used; a chunk it replaces goes to `evicted`.
    fn put(&mut self, id: ChunkId, chunk: Arc<Chunk>, bytes: usize, evicted: &mut Vec<Entry>) {
        self.clock += 1;
        let used = self.clock;
        if let Some(old) = self.entries.insert(id, Entry { chunk, bytes, used }) {
            self.bytes -= old.bytes;
            evicted.push(old);
        }
        self.bytes += bytes;
    }
}

/// Decoded chunks, at most `capacity` bytes of them (by [`Chunk::bytes`]).
pub(crate) struct ColumnCache {
    capacity: usize,
    inner: Mutex<Inner>,
    /// Chunks a point read missed lately, one per slot by hash ([`Self::missed_before`]).
    missed: Mutex<Vec<Option<ChunkId>>>,
}

/// Slots of the record of point-read misses: ids of chunks missed lately, by hash.
const MISSED_SLOTS: usize = 4_096;

impl ColumnCache {
    /// A cache of `capacity` bytes; 0 disables it.
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            capacity,
            inner: Mutex::new(Inner {
                entries: HashMap::new(),
                bytes: 0,
                clock: 0,
            }),
            missed: Mutex::new(vec![None; MISSED_SLOTS]),
        }
    }

    /// Records that a point read missed chunk `id`, and says whether it missed it lately
    /// too: a point read decodes only its row of a chunk ([`tessera_codecs::decode_block_row`])
    /// and caches the whole chunk only when it comes back, so reads of scattered keys do not
    /// decode and cache 65,536 values each, while a block read over and over is cached. The
    /// record keeps one id per slot, by hash, so a colliding id only forgets an older one.
    pub(crate) fn missed_before(&self, id: ChunkId) -> bool {
        let (table, block, column) = id;
        let hash = (u64::from(table) << 48 ^ block.rotate_left(16) ^ u64::from(column))
            .wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let slot = (hash >> 52) as usize % MISSED_SLOTS;
        let mut missed = self.missed.lock();
        match missed.get_mut(slot) {
            Some(held) if *held == Some(id) => {
                *held = None;
                true
            }
            Some(held) => {
                *held = Some(id);
                false
            }
            None => false,
        }
    }

    /// The cached chunk, if any.
    pub(crate) fn get(&self, id: ChunkId) -> Option<Arc<Chunk>> {
        let mut inner = self.inner.lock();
        inner.clock += 1;
        let clock = inner.clock;
        let entry = inner.entries.get_mut(&id)?;
        entry.used = clock;
        Some(Arc::clone(&entry.chunk))
    }

    /// Caches a decoded chunk, evicting the least recently used ones to make room.
    pub(crate) fn insert(&self, id: ChunkId, chunk: Arc<Chunk>) {
        let bytes = chunk.bytes().max(64);
        if bytes > self.capacity / 4 {
            return;
        }
        // Chunks leave the map under the lock and are freed after it: freeing a chunk's
        // buffers returns memory to the system, which readers should not wait for.
        let mut evicted = Vec::new();
        let mut inner = self.inner.lock();
        inner.make_room(self.capacity, bytes, u64::MAX, &mut evicted);
        inner.put(id, chunk, bytes, &mut evicted);
        drop(inner);
        drop(evicted);
    }

    /// The cache's logical clock: chunks read or cached after this reading are marked
    /// with a later one, which [`Self::warm`] keeps.
    pub(crate) fn clock(&self) -> u64 {
        self.inner.lock().clock
    }

    /// Caches a chunk a write just produced, as [`Self::insert`] does, but makes room only by
    /// evicting chunks nobody has used after `since` (a [`Self::clock`] reading): a
    /// re-layout warms the cache for the layout it writes without pushing out what reads
    /// of the current one use meanwhile. Returns whether the chunk was cached.
    pub(crate) fn warm(&self, id: ChunkId, column: Column, since: u64) -> bool {
        // The values alone too large: skip the offsets' cost too.
        if column.logical_bytes() > self.capacity / 4 {
            return false;
        }
        let chunk = Arc::new(Chunk::new(column));
        let bytes = chunk.bytes().max(64);
        if bytes > self.capacity / 4 {
            return false;
        }
        let mut evicted = Vec::new();
        let mut inner = self.inner.lock();
        let fits = inner.make_room(self.capacity, bytes, since, &mut evicted);
        if fits {
            inner.put(id, chunk, bytes, &mut evicted);
        }
        drop(inner);
        drop(evicted);
        fits
    }

    /// Drops every chunk of a table (after it is dropped).
    pub(crate) fn forget_table(&self, table_id: u32) {
        self.forget_where(|(table, _, _)| table == table_id);
    }

    /// Drops the chunks of a table's blocks numbered `first` and up: blocks a failed write
    /// cached but never published.
    pub(crate) fn forget_blocks_from(&self, table_id: u32, first: u64) {
        self.forget_where(|(table, block, _)| table == table_id && block >= first);
    }

    fn forget_where(&self, forget: impl Fn(ChunkId) -> bool) {
        let mut inner = self.inner.lock();
        let forgotten: Vec<Entry> = inner
            .entries
            .extract_if(|id, _| forget(*id))
            .map(|(_, entry)| entry)
            .collect();
        inner.bytes -= forgotten.iter().map(|entry| entry.bytes).sum::<usize>();
        // Freed after the lock: a dropped table's chunks can take tens of milliseconds to
        // free, which reads of other tables should not wait for.
        drop(inner);
        drop(forgotten);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_codecs::{ColumnValues, LogicalType};

    fn floats(values: usize) -> Column {
        let floats = ColumnValues::Float(vec![1.0; values]);
        Column::new(LogicalType::Float64, floats, None).unwrap()
    }

    fn column(values: usize) -> Arc<Chunk> {
        Arc::new(Chunk::new(floats(values)))
    }

    #[test]
    fn evicts_the_least_recently_used_within_capacity() {
        let cache = ColumnCache::new(8 * 1000 * 4);
        for block in 0..4 {
            cache.insert((1, block, 0), column(1000));
        }
        assert!(cache.get((1, 0, 0)).is_some());
        cache.insert((1, 9, 0), column(1000));
        assert!(
            cache.get((1, 1, 0)).is_none(),
            "block 1 was least recently used"
        );
        assert!(cache.get((1, 0, 0)).is_some());
        cache.forget_table(1);
        assert!(cache.get((1, 0, 0)).is_none());
        assert_eq!(cache.inner.lock().bytes, 0);
    }

    #[test]
    fn warming_evicts_only_what_was_not_used_since() {
        let cache = ColumnCache::new(8 * 1000 * 4);
        for block in 0..4 {
            cache.insert((1, block, 0), column(1000));
        }
        assert!(cache.get((1, 0, 0)).is_some());
        let since = cache.clock();
        // A reader uses block 2 after the write began: it stays.
        assert!(cache.get((1, 2, 0)).is_some());
        assert!(cache.warm((1, 10, 0), floats(1000), since));
        assert!(cache.warm((1, 11, 0), floats(1000), since));
        assert!(cache.warm((1, 12, 0), floats(1000), since));
        // Blocks 1, 3 and 0 (least recently used first) made room; 2 and the warmed
        // chunks were all used since, so a fourth chunk does not fit.
        assert!(!cache.warm((1, 13, 0), floats(1000), since));
        assert!(cache.get((1, 2, 0)).is_some());
        for block in [0, 1, 3, 13] {
            assert!(cache.get((1, block, 0)).is_none(), "block {block}");
        }
        for block in 10..13 {
            assert!(cache.get((1, block, 0)).is_some(), "block {block}");
        }
        assert_eq!(cache.inner.lock().bytes, 4 * 8 * 1000);
        // A failed write forgets what it warmed.
        cache.forget_blocks_from(1, 11);
        assert!(cache.get((1, 10, 0)).is_some() && cache.get((1, 2, 0)).is_some());
        assert!(cache.get((1, 11, 0)).is_none() && cache.get((1, 12, 0)).is_none());
        assert_eq!(cache.inner.lock().bytes, 2 * 8 * 1000);
    }

    #[test]
    fn a_chunk_missed_twice_is_admitted() {
        let cache = ColumnCache::new(1 << 20);
        assert!(!cache.missed_before((1, 7, 0)));
        assert!(!cache.missed_before((1, 8, 0)));
        assert!(!cache.missed_before((2, 7, 0)));
        assert!(cache.missed_before((1, 7, 0)));
        // Admitted once, the record starts over.
        assert!(!cache.missed_before((1, 7, 0)));
        assert!(cache.missed_before((1, 8, 0)));
    }

    #[test]
    fn counts_the_offsets_with_the_values() {
        let cache = ColumnCache::new(1 << 20);
        let ints = ColumnValues::Int((0..1000).map(|value| value * 300).collect());
        let chunk = Chunk::new(Column::new(LogicalType::Int64, ints, None).unwrap());
        // Values up to 299,700 need 4-byte offsets, next to 8-byte values.
        assert!(chunk.offsets.is_some());
        cache.insert((1, 0, 0), Arc::new(chunk));
        assert_eq!(cache.inner.lock().bytes, 1000 * 8 + 1000 * 4);
    }
}
