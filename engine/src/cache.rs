//! A cache of decoded column chunks shared by scans and point reads, bounded in bytes.
//!
//! Keys are (table id, block id, column index); block ids are never reused within a table,
//! so an entry can never go stale. Eviction is least-recently-used by a logical clock,
//! found by a linear pass: entries are whole decoded chunks (up to 65,536 values), so there
//! are few of them and a miss costs a decode far above the pass. Integer and decimal chunks
//! are held with their narrow [`Offsets`], which filters and projections read instead.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;
use tessera_codecs::Column;

use crate::offsets::Offsets;

/// Identifies one decoded chunk.
pub(crate) type ChunkId = (u32, u64, u16);

/// A decoded chunk and, where its values allow, their offsets.
#[derive(Debug)]
pub(crate) struct Chunk {
    pub(crate) column: Arc<Column>,
    pub(crate) offsets: Option<Offsets>,
}

impl Chunk {
    /// The chunk of `column`, with its offsets made now.
    pub(crate) fn new(column: Column) -> Self {
        let offsets = Offsets::of(&column);
        Self {
            column: Arc::new(column),
            offsets,
        }
    }

    /// Bytes the chunk takes in memory, by the Arrow layout of its values and its offsets.
    fn bytes(&self) -> usize {
        self.column.logical_bytes() + self.offsets.as_ref().map_or(0, Offsets::bytes)
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

/// Decoded chunks, at most `capacity` bytes of them (by [`Chunk::bytes`]).
pub(crate) struct ColumnCache {
    capacity: usize,
    inner: Mutex<Inner>,
}

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
        let mut inner = self.inner.lock();
        inner.clock += 1;
        let used = inner.clock;
        if let Some(old) = inner.entries.insert(id, Entry { chunk, bytes, used }) {
            inner.bytes -= old.bytes;
        }
        inner.bytes += bytes;
        while inner.bytes > self.capacity {
            let Some(oldest) = inner
                .entries
                .iter()
                .min_by_key(|(_, entry)| entry.used)
                .map(|(id, _)| *id)
            else {
                break;
            };
            if let Some(evicted) = inner.entries.remove(&oldest) {
                inner.bytes -= evicted.bytes;
            }
        }
    }

    /// Drops every chunk of a table (after it is dropped).
    pub(crate) fn forget_table(&self, table_id: u32) {
        let mut inner = self.inner.lock();
        let mut freed = 0;
        inner.entries.retain(|(table, _, _), entry| {
            let keep = *table != table_id;
            if !keep {
                freed += entry.bytes;
            }
            keep
        });
        inner.bytes -= freed;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_codecs::{ColumnValues, LogicalType};

    fn column(values: usize) -> Arc<Chunk> {
        let floats = ColumnValues::Float(vec![1.0; values]);
        Arc::new(Chunk::new(
            Column::new(LogicalType::Float64, floats, None).unwrap(),
        ))
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
