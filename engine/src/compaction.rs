//! Compaction: folding delta generations into encoded blocks, the table version it
//! publishes, and the background worker that runs it.
//!
//! One step, under the table's compaction lock: seal the current delta generation (writers
//! move on to the next one), read the sealed generations under a RocksDB snapshot merging
//! versions newest-wins, look up which keys already live in blocks (the primary key ranges
//! of the blocks rule most keys out without a read; the rest go through one batched
//! `pk_index` lookup), mark those rows in their blocks' deletion vectors, route the new rows
//! to cells through the table's [`Layout`], order each cell's rows as the layout says, cut
//! blocks of [`BLOCK_ROWS`] rows, let the codec layer choose encodings, and write chunks,
//! metas, index entries, the manifest and the range deletion of the folded generations in
//! one atomic `WriteBatch`. The new `TableVersion` is published in the same critical
//! section as that write (see the `version` module), so readers see either the delta rows or
//! the blocks that replaced them, never both or neither.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use roaring::RoaringBitmap;
use rocksdb::{ReadOptions, WriteBatch};
use tessera_codecs::{Column, Compressor, CompressorConfig, encode_block};
use tessera_layout::{ColumnSet, InsertionOrder, Layout, PositionModel, decode_layout};

use crate::block::{
    BLOCK_ROWS, BlockMeta, CHUNK_CRC_RESIDUE, CellRun, ChunkMeta, Manifest, zone_of,
};
use crate::db::{CF_BLOCK_META, CF_BLOCKS, CF_CATALOG, CF_DELTA, CF_PK_INDEX, DbInner, storage};
use crate::error::{Error, Result};
use crate::evaluate::take;
use crate::ingest::{IndexEntries, ingest_index};
use crate::keys::{
    BLOCK_KEY_BYTES, GENERATION_BYTES, TABLE_ID_BYTES, block_key, chunk_key, delta_prefix, hex,
    layout_range, pk_index_key, split_delta_key, table_range,
};
use crate::row::{ColumnBuilder, decode_row_into};
use crate::table::TableState;

/// Catalog key prefix of table manifests; the table id (u32 BE) follows.
pub const MANIFEST_KEY_PREFIX: &[u8] = b"manifest/";
/// Merged delta rows folded per atomic step at most.
pub const STEP_ROWS: usize = 1 << 20;

/// The catalog key of a table's manifest.
pub fn manifest_key(table_id: u32) -> Vec<u8> {
    let mut key = MANIFEST_KEY_PREFIX.to_vec();
    key.extend_from_slice(&table_id.to_be_bytes());
    key
}

/// What readers of a table see besides delta: its layout and its blocks.
#[derive(Debug)]
pub(crate) struct TableVersion {
    pub(crate) layout: Arc<dyn Layout>,
    /// `layout.describe()`, which every scan's explain output carries.
    pub(crate) layout_description: String,
    pub(crate) layout_version: u32,
    pub(crate) folded_through: u32,
    pub(crate) next_block_id: u64,
    /// Every block, ordered by (layout version, cell, id).
    pub(crate) blocks: Vec<Arc<BlockMeta>>,
    /// Position in `blocks` by block id.
    pub(crate) by_id: HashMap<u64, usize>,
    /// Disjoint, sorted primary key intervals covering every block's key range.
    pub(crate) pk_ranges: Vec<(Vec<u8>, Vec<u8>)>,
}

impl TableVersion {
    pub(crate) fn new(
        layout: Arc<dyn Layout>,
        layout_version: u32,
        folded_through: u32,
        next_block_id: u64,
        mut blocks: Vec<Arc<BlockMeta>>,
    ) -> Self {
        blocks.sort_by_key(|block| (block.layout_version, block.cell, block.id));
        let by_id = blocks
            .iter()
            .enumerate()
            .map(|(index, block)| (block.id, index))
            .collect();
        let mut ranges: Vec<(Vec<u8>, Vec<u8>)> = blocks
            .iter()
            .filter(|block| block.rows > 0)
            .map(|block| (block.pk_min.clone(), block.pk_max.clone()))
            .collect();
        ranges.sort();
        let mut pk_ranges: Vec<(Vec<u8>, Vec<u8>)> = Vec::with_capacity(ranges.len());
        for (low, high) in ranges {
            match pk_ranges.last_mut() {
                Some((_, last_high)) if low <= *last_high => {
                    if high > *last_high {
                        *last_high = high;
                    }
                }
                _ => pk_ranges.push((low, high)),
            }
        }
        Self {
            layout_description: layout.describe(),
            layout,
            layout_version,
            folded_through,
            next_block_id,
            blocks,
            by_id,
            pk_ranges,
        }
    }

    /// A table with no blocks yet, in insertion order.
    pub(crate) fn empty() -> Self {
        Self::new(Arc::new(InsertionOrder), 0, 0, 1, Vec::new())
    }

    /// Whether some block's key range holds `primary_key`.
    pub(crate) fn may_hold(&self, primary_key: &[u8]) -> bool {
        let after = self
            .pk_ranges
            .partition_point(|(low, _)| low.as_slice() <= primary_key);
        after > 0
            && self
                .pk_ranges
                .get(after - 1)
                .is_some_and(|(_, high)| primary_key <= high.as_slice())
    }

    pub(crate) fn block(&self, id: u64) -> Option<&Arc<BlockMeta>> {
        self.by_id
            .get(&id)
            .and_then(|&index| self.blocks.get(index))
    }

    pub(crate) fn manifest(&self) -> Manifest {
        Manifest {
            layout_version: self.layout_version,
            layout: self.layout.encode(),
            folded_through: self.folded_through,
            next_block_id: self.next_block_id,
        }
    }
}

/// Keys a retired version alone used: deleted once no reader pins it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Garbage {
    pub(crate) family: &'static str,
    pub(crate) start: Vec<u8>,
    pub(crate) end: Vec<u8>,
}

/// A `pk_index` value: block id (u64 BE) ‖ row (u32 BE).
pub(crate) fn encode_location(block: u64, row: u32) -> [u8; 12] {
    let mut value = [0u8; 12];
    value[..8].copy_from_slice(&block.to_be_bytes());
    value[8..].copy_from_slice(&row.to_be_bytes());
    value
}

pub(crate) fn decode_location(bytes: &[u8]) -> Option<(u64, u32)> {
    let (block, row) = bytes.split_first_chunk::<8>()?;
    let row: [u8; 4] = row.try_into().ok()?;
    Some((u64::from_be_bytes(*block), u32::from_be_bytes(row)))
}

/// Reads a table's manifest, blocks and newest delta generation at open. Also deletes
/// chunks no meta names (left by a process that died between publishing a version and
/// reclaiming the blocks it dropped).
pub(crate) fn load(db: &DbInner, table_id: u32, table: &str) -> Result<(TableVersion, u32)> {
    let corrupt = |what: &str, key: &[u8], reason: String| Error::Corrupt {
        what: format!("{what} of table {table:?}"),
        key: hex(key),
        reason,
    };
    let key = manifest_key(table_id);
    let manifest = db
        .rocks
        .get_pinned_cf(db.cf(CF_CATALOG)?, &key)
        .map_err(storage(format!("reading the manifest of table {table:?}")))?
        .map(|bytes| Manifest::decode(&bytes).map_err(|reason| corrupt("manifest", &key, reason)))
        .transpose()?;
    let (layout, layout_version, folded_through, next_block_id): (Arc<dyn Layout>, _, _, _) =
        match manifest {
            Some(manifest) => (
                Arc::from(
                    decode_layout(&manifest.layout).map_err(|source| Error::Layout {
                        table: table.to_owned(),
                        source,
                    })?,
                ),
                manifest.layout_version,
                manifest.folded_through,
                manifest.next_block_id,
            ),
            None => (Arc::new(InsertionOrder), 0, 0, 1),
        };
    let (start, end) = table_range(table_id);
    let mut blocks = Vec::new();
    let mut options = ReadOptions::default();
    options.set_iterate_lower_bound(start.clone());
    options.set_iterate_upper_bound(end.clone());
    let mut iterator = db.rocks.raw_iterator_cf_opt(db.cf(CF_BLOCK_META)?, options);
    iterator.seek_to_first();
    let mut stale = WriteBatch::default();
    while let Some((key, value)) = iterator.item() {
        let meta = BlockMeta::decode(value).map_err(|reason| corrupt("block meta", key, reason))?;
        if block_key(table_id, meta.layout_version, meta.cell, meta.id) != key {
            return Err(corrupt(
                "block meta",
                key,
                format!("it describes block {}", meta.id),
            ));
        }
        if meta.layout_version == layout_version && meta.id < next_block_id {
            blocks.push(Arc::new(meta));
        } else {
            // Left by a compaction or re-layout that died before its switch.
            stale.delete_cf(db.cf(CF_BLOCK_META)?, key);
        }
        iterator.next();
    }
    iterator
        .status()
        .map_err(storage(format!("reading block metas of table {table:?}")))?;
    // Index entries of other layout versions are garbage too.
    let (current_start, current_end) = layout_range(table_id, layout_version);
    let pk_index = db.cf(CF_PK_INDEX)?;
    stale.delete_range_cf(pk_index, &start, &current_start);
    stale.delete_range_cf(pk_index, &current_end, &end);
    db.write(stale)
        .map_err(storage(format!("deleting stale blocks of table {table:?}")))?;

    // Chunks of blocks without a meta are garbage.
    let known: std::collections::HashSet<Vec<u8>> = blocks
        .iter()
        .map(|meta| block_key(table_id, meta.layout_version, meta.cell, meta.id))
        .collect();
    let mut options = ReadOptions::default();
    options.set_iterate_lower_bound(start.clone());
    options.set_iterate_upper_bound(end.clone());
    let mut iterator = db.rocks.raw_iterator_cf_opt(db.cf(CF_BLOCKS)?, options);
    iterator.seek_to_first();
    let mut orphans = WriteBatch::default();
    while let Some(key) = iterator.key() {
        if let Some(block) = key.get(..BLOCK_KEY_BYTES)
            && !known.contains(block)
        {
            orphans.delete_cf(db.cf(CF_BLOCKS)?, key);
        }
        iterator.next();
    }
    iterator
        .status()
        .map_err(storage(format!("reading blocks of table {table:?}")))?;
    if !orphans.is_empty() {
        db.write(orphans).map_err(storage(format!(
            "deleting orphan chunks of table {table:?}"
        )))?;
    }

    // Writers continue above the newest generation present and above the folded ones.
    let mut options = ReadOptions::default();
    options.set_iterate_lower_bound(start);
    options.set_iterate_upper_bound(end.clone());
    let mut iterator = db.rocks.raw_iterator_cf_opt(db.cf(CF_DELTA)?, options);
    iterator.seek_to_last();
    let newest = match iterator.key() {
        Some(key) => Some(
            split_delta_key(key)
                .map_err(|error| corrupt("delta key", key, error.to_string()))?
                .generation,
        ),
        None => None,
    };
    iterator
        .status()
        .map_err(storage(format!("reading delta of table {table:?}")))?;
    let generation = newest
        .unwrap_or(0)
        .max(folded_through)
        .checked_add(1)
        .ok_or(Error::Exhausted {
            what: "delta generations",
        })?;
    let version = TableVersion::new(
        layout,
        layout_version,
        folded_through,
        next_block_id,
        blocks,
    );
    Ok((version, generation))
}

/// What one compaction did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CompactionReport {
    /// Delta entries read (row versions and tombstones, newest per key).
    pub entries: u64,
    /// Rows written into new blocks.
    pub rows_written: u64,
    /// Rows of older blocks marked deleted (replaced or deleted keys).
    pub rows_deleted: u64,
    /// Blocks written.
    pub blocks_written: u64,
    /// Encoded bytes of the chunks written.
    pub bytes_written: u64,
    /// Wall time.
    pub micros: u64,
}

/// Folds every sealed delta generation of a table into blocks.
pub(crate) fn compact_table(db: &DbInner, state: &TableState) -> Result<CompactionReport> {
    let _compaction = state.compaction.lock();
    let report = compact_locked(db, state)?;
    reclaim(db, state)?;
    Ok(report)
}

/// [`compact_table`] with the table's compaction lock held by the caller.
fn compact_locked(db: &DbInner, state: &TableState) -> Result<CompactionReport> {
    let table = state.meta.name().to_owned();
    let span = tracing::info_span!("compact", table = %table, rows = tracing::field::Empty);
    let _entered = span.enter();
    let started = Instant::now();
    let sealed = {
        let mut writer = state.writer.write();
        if writer.dropped {
            return Err(Error::TableNotFound { table });
        }
        let sealed = writer.generation;
        writer.generation = sealed.checked_add(1).ok_or(Error::Exhausted {
            what: "delta generations",
        })?;
        state.delta_bytes.store(0, Ordering::SeqCst);
        sealed
    };
    let first = state.versions.pin().folded_through.saturating_add(1);
    let mut report = CompactionReport::default();
    if first > sealed {
        return Ok(report);
    }
    let table_id = state.meta.id();
    let snapshot = db.rocks.snapshot();
    let mut generations = Vec::new();
    for generation in first..=sealed {
        let mut options = ReadOptions::default();
        options.set_iterate_lower_bound(delta_prefix(table_id, generation).to_vec());
        let upper = match generation.checked_add(1) {
            Some(next) => delta_prefix(table_id, next).to_vec(),
            None => table_range(table_id).1,
        };
        options.set_iterate_upper_bound(upper);
        options.fill_cache(false);
        let mut iterator = snapshot.raw_iterator_cf_opt(db.cf(CF_DELTA)?, options);
        iterator.seek_to_first();
        generations.push(iterator);
    }
    let prefix_bytes = TABLE_ID_BYTES + GENERATION_BYTES;
    let corrupt = |key: &[u8], reason: String| Error::Corrupt {
        what: format!("delta of table {table:?}"),
        key: hex(key),
        reason,
    };

    loop {
        // Merge the generations: the smallest key next, the newest version of it wins.
        let mut step = Step::new(state);
        while step.entries < STEP_ROWS {
            let mut smallest: Option<Vec<u8>> = None;
            for iterator in &generations {
                if let Some(key) = iterator.key() {
                    let primary_key = key
                        .get(prefix_bytes..key.len().saturating_sub(8))
                        .ok_or_else(|| corrupt(key, "delta key too short".to_owned()))?;
                    if smallest
                        .as_deref()
                        .is_none_or(|current| primary_key < current)
                    {
                        smallest = Some(primary_key.to_vec());
                    }
                }
            }
            let Some(primary_key) = smallest else { break };
            let mut newest: Option<Vec<u8>> = None;
            for iterator in &mut generations {
                while let Some((key, value)) = iterator.item() {
                    if key.get(prefix_bytes..key.len().saturating_sub(8))
                        != Some(primary_key.as_slice())
                    {
                        break;
                    }
                    newest = Some(value.to_vec());
                    iterator.next();
                }
            }
            for iterator in &generations {
                iterator
                    .status()
                    .map_err(storage(format!("reading delta of table {table:?}")))?;
            }
            let Some(value) = newest else { break };
            step.add(&primary_key, &value)
                .map_err(|reason| corrupt(&primary_key, reason))?;
        }
        let last = step.entries == 0 || generations.iter().all(|iterator| !iterator.valid());
        report.entries += step.entries as u64;
        write_step(db, state, step, (first, sealed), last, &mut report)?;
        if last {
            break;
        }
    }
    report.micros = started.elapsed().as_micros() as u64;
    span.record("rows", report.rows_written);
    tracing::debug!(?report, "compaction finished");
    Ok(report)
}

/// Deletes what no pinned version reads any more.
pub(crate) fn reclaim(db: &DbInner, state: &TableState) -> Result<()> {
    let garbage = state.versions.reclaim();
    if garbage.is_empty() {
        return Ok(());
    }
    let mut batch = WriteBatch::default();
    for range in garbage {
        batch.delete_range_cf(db.cf(range.family)?, &range.start, &range.end);
    }
    db.write(batch).map_err(storage(format!(
        "deleting retired blocks of table {:?}",
        state.meta.name()
    )))
}

/// The merged delta entries of one atomic step.
struct Step {
    builders: Vec<ColumnBuilder>,
    /// Primary keys of the rows in `builders`, concatenated.
    row_keys: Vec<u8>,
    row_key_ends: Vec<usize>,
    /// Primary keys of deleted keys.
    tombstones: Vec<Vec<u8>>,
    first_key: Option<Vec<u8>>,
    last_key: Option<Vec<u8>>,
    entries: usize,
}

impl Step {
    fn new(state: &TableState) -> Self {
        let all: Vec<usize> = (0..state.kinds.len()).collect();
        Self {
            builders: state.builders(&all),
            row_keys: Vec::new(),
            row_key_ends: Vec::new(),
            tombstones: Vec::new(),
            first_key: None,
            last_key: None,
            entries: 0,
        }
    }

    fn add(&mut self, primary_key: &[u8], value: &[u8]) -> std::result::Result<(), String> {
        if decode_row_into(value, &mut self.builders)? {
            self.row_keys.extend_from_slice(primary_key);
            self.row_key_ends.push(self.row_keys.len());
        } else {
            self.tombstones.push(primary_key.to_vec());
        }
        if self.first_key.is_none() {
            self.first_key = Some(primary_key.to_vec());
        }
        let last = self.last_key.get_or_insert_with(Vec::new);
        last.clear();
        last.extend_from_slice(primary_key);
        self.entries += 1;
        Ok(())
    }

    fn row_key(&self, row: usize) -> &[u8] {
        let start = if row == 0 {
            0
        } else {
            self.row_key_ends.get(row - 1).copied().unwrap_or(0)
        };
        let end = self.row_key_ends.get(row).copied().unwrap_or(start);
        self.row_keys.get(start..end).unwrap_or_default()
    }

    fn rows(&self) -> usize {
        self.row_key_ends.len()
    }
}

/// Writes one step's blocks, deletion vectors, index entries and delta deletion, and
/// publishes the version that includes them. `generations` are the first and last
/// generation being folded; `last` says whether this step folds the last of them.
fn write_step(
    db: &DbInner,
    state: &TableState,
    mut step: Step,
    (first_generation, sealed): (u32, u32),
    last: bool,
    report: &mut CompactionReport,
) -> Result<()> {
    let table = state.meta.name().to_owned();
    let table_id = state.meta.id();
    let current = state.versions.pin();
    let mut batch = WriteBatch::default();
    let pk_index = db.cf(CF_PK_INDEX)?;
    let block_meta_cf = db.cf(CF_BLOCK_META)?;

    // Keys that may already live in blocks: their old rows get deleted.
    let rows = step.rows();
    let mut candidates: Vec<(Vec<u8>, bool)> = Vec::new();
    for row in 0..rows {
        let key = step.row_key(row);
        if current.may_hold(key) {
            candidates.push((key.to_vec(), false));
        }
    }
    for key in &step.tombstones {
        if current.may_hold(key) {
            candidates.push((key.clone(), true));
        }
    }
    let mut deletions: HashMap<u64, RoaringBitmap> = HashMap::new();
    let mut existing: std::collections::HashSet<Vec<u8>> = Default::default();
    if !candidates.is_empty() {
        let keys: Vec<Vec<u8>> = candidates
            .iter()
            .map(|(key, _)| pk_index_key(table_id, current.layout_version, key))
            .collect();
        let found = db.rocks.batched_multi_get_cf(pk_index, &keys, false);
        for ((index_key, (_, tombstone)), found) in keys.iter().zip(&candidates).zip(found) {
            let found = found.map_err(storage(format!("reading the index of table {table:?}")))?;
            let Some(location) = found else { continue };
            let (block, row) = decode_location(&location).ok_or_else(|| Error::Corrupt {
                what: format!("index entry of table {table:?}"),
                key: hex(index_key),
                reason: format!("{} bytes, expected 12", location.len()),
            })?;
            if current.block(block).is_none() {
                // An entry written for a block a crash left unpublished: the key's row is
                // still in delta, which this step folds.
                continue;
            }
            deletions.entry(block).or_default().insert(row);
            if *tombstone {
                batch.delete_cf(pk_index, index_key);
            } else if let Some(key) = index_key.get(TABLE_ID_BYTES + 4..) {
                existing.insert(key.to_vec());
            }
        }
    }

    // The new rows, in cells, ordered, cut into blocks.
    let columns = step
        .builders
        .iter_mut()
        .map(ColumnBuilder::finish_column)
        .collect::<Result<Vec<Column>>>()?;
    let mut next_block_id = current.next_block_id;
    let mut unpublished = Unpublished::new(db, table_id, next_block_id);
    let mut early = WriteBatch::default();
    let mut index = IndexEntries::default();
    let new_blocks = build_blocks(
        db,
        state,
        (current.layout.as_ref(), current.layout_version),
        (&columns, &|row| step.row_key(row)),
        &mut next_block_id,
        Sink {
            batch: &mut early,
            index: &mut index,
            switch: &mut batch,
            flush_every: Some(64 << 20),
            deferred: &|row| !existing.is_empty() && existing.contains(step.row_key(row)),
        },
        report,
    )?;
    // New blocks are unreachable until the manifest names them (a crash before the switch
    // leaves blocks at or above its next block id, which the next open deletes), so they are
    // written before it and the switch below holds readers back only briefly.
    if !early.is_empty() {
        db.write(early)
            .map_err(storage(format!("writing blocks of table {table:?}")))?;
    }
    ingest_index(db, &table, &index)?;

    // Deletion vectors of older blocks.
    let mut replaced: HashMap<u64, Arc<BlockMeta>> = HashMap::new();
    for (block, rows) in deletions {
        let Some(meta) = current.block(block) else {
            continue;
        };
        let mut updated = BlockMeta::clone(meta);
        report.rows_deleted += (&rows - &updated.deleted).len();
        updated.deleted |= rows;
        batch.put_cf(
            block_meta_cf,
            block_key(table_id, updated.layout_version, updated.cell, updated.id),
            updated.encode(),
        );
        replaced.insert(block, Arc::new(updated));
    }

    // The folded delta: the step's key range in every generation, or the generations whole.
    let delta = db.cf(CF_DELTA)?;
    if last {
        let end = match sealed.checked_add(1) {
            Some(next) => delta_prefix(table_id, next).to_vec(),
            None => table_range(table_id).1,
        };
        batch.delete_range_cf(
            delta,
            delta_prefix(table_id, first_generation).to_vec(),
            end,
        );
    } else if let (Some(low), Some(high)) = (&step.first_key, &step.last_key) {
        for generation in first_generation..=sealed {
            let mut start = delta_prefix(table_id, generation).to_vec();
            start.extend_from_slice(low);
            let mut end = delta_prefix(table_id, generation).to_vec();
            end.extend_from_slice(high);
            // Above every version of `high`: keys are prefix-free, so no other key lies
            // between the last version of `high` and this bound.
            end.extend_from_slice(&[0xFF; 9]);
            batch.delete_range_cf(delta, start, end);
        }
    }

    let published_blocks: Vec<Arc<BlockMeta>> = current
        .blocks
        .iter()
        .map(|block| {
            replaced
                .get(&block.id)
                .cloned()
                .unwrap_or_else(|| Arc::clone(block))
        })
        .chain(new_blocks)
        .collect();
    let next = TableVersion::new(
        Arc::clone(&current.layout),
        current.layout_version,
        if last { sealed } else { current.folded_through },
        next_block_id,
        published_blocks,
    );
    batch.put_cf(
        db.cf(CF_CATALOG)?,
        manifest_key(table_id),
        next.manifest().encode(),
    );
    drop(current);
    state.versions.publish(|_| {
        db.write(batch)
            .map_err(storage(format!("writing a compaction of table {table:?}")))?;
        Ok::<_, Error>((next, Vec::new()))
    })?;
    unpublished.published = true;
    Ok(())
}

/// Until marked published, forgets when dropped the cached chunks of the blocks numbered
/// `first` and up: a write that fails before its switch leaves their ids to the next
/// attempt, whose blocks must not meet this one's chunks in the cache.
struct Unpublished<'a> {
    db: &'a DbInner,
    table_id: u32,
    first: u64,
    published: bool,
}

impl<'a> Unpublished<'a> {
    fn new(db: &'a DbInner, table_id: u32, first: u64) -> Self {
        Self {
            db,
            table_id,
            first,
            published: false,
        }
    }
}

impl Drop for Unpublished<'_> {
    fn drop(&mut self) {
        if !self.published {
            self.db.cache.forget_blocks_from(self.table_id, self.first);
        }
    }
}

/// What a re-layout did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RelayoutReport {
    /// The new layout, as it describes itself.
    pub layout: String,
    /// The new layout version.
    pub layout_version: u32,
    /// Rows rewritten.
    pub rows: u64,
    /// Blocks before and after.
    pub blocks_before: u64,
    /// See `blocks_before`.
    pub blocks_after: u64,
    /// Microseconds from the start to the new layout being live.
    pub micros: u64,
}

/// Raises a table's relayout-in-progress flag for as long as it lives.
struct RelayoutRunning<'a>(&'a TableState);

impl<'a> RelayoutRunning<'a> {
    fn start(state: &'a TableState) -> Self {
        state.relayout_running.store(true, Ordering::Relaxed);
        Self(state)
    }
}

impl Drop for RelayoutRunning<'_> {
    fn drop(&mut self) {
        self.0.relayout_running.store(false, Ordering::Relaxed);
    }
}

/// Rewrites every row of a table into `layout`, as a new layout version, and publishes it.
///
/// Delta is folded first; then, under the compaction lock, the rows of the current blocks
/// are routed, ordered and cut anew. The new blocks, metas and index entries are written in
/// batches before the switch, under keys of the new layout version that no reader looks at;
/// the switch itself is one small batch (the manifest, the old metas' deletion), published
/// with the new version. Reads go on against the old version meanwhile and writes land in
/// delta; the old blocks and index entries are deleted once no reader pins them. A crash
/// before the switch leaves keys of a version the manifest does not name, which the next
/// open deletes.
pub(crate) fn relayout(
    db: &DbInner,
    state: &TableState,
    layout: Arc<dyn Layout>,
) -> Result<RelayoutReport> {
    let table = state.meta.name().to_owned();
    let _span = tracing::info_span!("relayout", table = %table, layout = layout.kind()).entered();
    let started = Instant::now();
    let _compaction = state.compaction.lock();
    let _running = RelayoutRunning::start(state);
    compact_locked(db, state)?;
    let current = state.versions.pin();
    let table_id = state.meta.id();
    let new_version = current
        .layout_version
        .checked_add(1)
        .ok_or(Error::Exhausted {
            what: "layout versions",
        })?;

    // Every live row of the current blocks, with its primary key.
    let count = state.kinds.len();
    let mut parts: Vec<Vec<Column>> = vec![Vec::new(); count];
    let mut keys: Vec<u8> = Vec::new();
    let mut key_ends: Vec<usize> = Vec::new();
    let key_indices = state.meta.key_indices().to_vec();
    for block in &current.blocks {
        let live: Vec<u32> = (0..block.rows)
            .filter(|row| !block.deleted.contains(*row))
            .collect();
        if live.is_empty() {
            continue;
        }
        let mut block_columns = Vec::with_capacity(count);
        for index in 0..count {
            let chunk = crate::table::read_chunk(db, state, block, index)?;
            block_columns.push(if live.len() == block.rows as usize {
                Column::clone(&chunk)
            } else {
                take(&chunk, &live)?
            });
        }
        for row in 0..live.len() {
            for &index in &key_indices {
                if let Some(column) = block_columns.get(index)
                    && let Some(value) = crate::row::value_at(column, row)
                {
                    crate::keys::encode_key_value(column.logical(), value, &mut keys)?;
                }
            }
            key_ends.push(keys.len());
        }
        for (part, column) in parts.iter_mut().zip(block_columns) {
            part.push(column);
        }
    }
    let columns = parts
        .iter()
        .zip(&state.logical_types)
        .map(|(part, logical)| crate::evaluate::concat(part, logical))
        .collect::<Result<Vec<Column>>>()?;
    let key_of = |row: usize| -> &[u8] {
        let start = if row == 0 {
            0
        } else {
            key_ends.get(row - 1).copied().unwrap_or(0)
        };
        let end = key_ends.get(row).copied().unwrap_or(start);
        keys.get(start..end).unwrap_or_default()
    };

    let mut report = CompactionReport::default();
    let mut next_block_id = current.next_block_id;
    let mut unpublished = Unpublished::new(db, table_id, next_block_id);
    let mut batch = WriteBatch::default();
    let mut index = IndexEntries::default();
    let new_blocks = build_blocks(
        db,
        state,
        (layout.as_ref(), new_version),
        (&columns, &key_of),
        &mut next_block_id,
        Sink {
            batch: &mut batch,
            index: &mut index,
            switch: &mut WriteBatch::default(),
            flush_every: Some(64 << 20),
            deferred: &|_| false,
        },
        &mut report,
    )?;
    // Everything up to the switch is written before it, so the switch holds readers back
    // only for one small write.
    if !batch.is_empty() {
        db.write(std::mem::take(&mut batch))
            .map_err(storage(format!("writing blocks of table {table:?}")))?;
    }
    ingest_index(db, &table, &index)?;
    drop(index);
    // The switch.
    let (old_start, old_end) = layout_range(table_id, current.layout_version);
    batch.delete_range_cf(db.cf(CF_BLOCK_META)?, &old_start, &old_end);
    let next = TableVersion::new(
        Arc::clone(&layout),
        new_version,
        current.folded_through,
        next_block_id,
        new_blocks,
    );
    batch.put_cf(
        db.cf(CF_CATALOG)?,
        manifest_key(table_id),
        next.manifest().encode(),
    );
    let blocks_before = current.blocks.len() as u64;
    let blocks_after = next.blocks.len() as u64;
    drop(current);
    let garbage = vec![
        Garbage {
            family: CF_BLOCKS,
            start: old_start.clone(),
            end: old_end.clone(),
        },
        Garbage {
            family: CF_PK_INDEX,
            start: old_start,
            end: old_end,
        },
    ];
    // The switch is written before the version lock is taken: readers read neither the
    // manifest nor block metas from the store (only the in-memory version), and nothing
    // else publishes meanwhile (the compaction lock is held), so a reader that pins the old
    // version after this write still finds all it reads. Under the lock, a write that
    // RocksDB stalls (flushes and L0 compactions run hot during a rewrite) held every point
    // read and scan of the table back for seconds.
    db.write(batch)
        .map_err(storage(format!("switching the layout of table {table:?}")))?;
    state
        .versions
        .publish(|_| Ok::<_, Error>((next, garbage)))?;
    unpublished.published = true;
    // The retired blocks' chunks are left to age out of the cache one eviction at a time:
    // freeing a whole table's chunks at once took 36 to 49 ms on lineitem, and held up the
    // point reads that then needed new memory.
    reclaim(db, state)?;
    Ok(RelayoutReport {
        layout: layout.describe(),
        layout_version: new_version,
        rows: report.rows_written,
        blocks_before,
        blocks_after,
        micros: started.elapsed().as_micros() as u64,
    })
}

/// Where [`build_blocks`] puts what it writes.
struct Sink<'a> {
    /// Chunks and metas no reader can reach before the switch.
    batch: &'a mut WriteBatch,
    /// Index entries no reader can reach before the switch, ingested as SST files.
    index: &'a mut IndexEntries,
    /// The switch batch: index entries of the rows `deferred` names.
    switch: &'a mut WriteBatch,
    /// Write and empty `batch` whenever it passes this many bytes.
    flush_every: Option<usize>,
    /// Rows whose index entry must wait for the switch: keys that already have an entry,
    /// which a crash before the switch must not leave pointing at an unpublished block.
    deferred: &'a dyn Fn(usize) -> bool,
}

/// Routes rows (`columns`, with primary keys from `key_of`) to the cells of `layout`, orders
/// each cell, cuts blocks of [`BLOCK_ROWS`] rows, encodes them, and puts chunks, metas and
/// index entries into the sink's batches.
fn build_blocks<'k>(
    db: &DbInner,
    state: &TableState,
    (layout, layout_version): (&dyn Layout, u32),
    (columns, key_of): (&[Column], &dyn Fn(usize) -> &'k [u8]),
    next_block_id: &mut u64,
    sink: Sink<'_>,
    report: &mut CompactionReport,
) -> Result<Vec<Arc<BlockMeta>>> {
    let table = state.meta.name().to_owned();
    let table_id = state.meta.id();
    let rows = columns.first().map_or(0, Column::len);
    let pk_index = db.cf(CF_PK_INDEX)?;
    let block_meta_cf = db.cf(CF_BLOCK_META)?;
    let blocks_cf = db.cf(CF_BLOCKS)?;
    let names = state.column_names();
    let layout_error = |source| Error::Layout {
        table: table.clone(),
        source,
    };
    let sort_column = layout
        .sort_column()
        .and_then(|name| names.iter().position(|candidate| *candidate == name));
    let mut new_blocks = Vec::new();
    if rows == 0 {
        return Ok(new_blocks);
    }
    let set = ColumnSet::new(&names, columns).map_err(layout_error)?;
    let cells = layout.assign(&set).map_err(layout_error)?;
    let mut by_cell: std::collections::BTreeMap<u32, Vec<u32>> = Default::default();
    for (row, cell) in cells.iter().enumerate() {
        by_cell.entry(*cell).or_default().push(row as u32);
    }
    let compressor = Compressor::new(CompressorConfig::default());
    let mut writer = BlockWriter {
        db,
        table: &table,
        ids: (table_id, layout_version),
        columns,
        key_of,
        sort_column,
        compressor: &compressor,
        cfs: (pk_index, block_meta_cf, blocks_cf),
        next_block_id,
        sink,
        report,
        new_blocks: &mut new_blocks,
        warm_since: db.cache.clock(),
    };
    // The block being filled: rows (indexes into `columns`) and where each cell's run starts.
    let mut pending: Vec<u32> = Vec::with_capacity(BLOCK_ROWS);
    let mut runs: Vec<CellRun> = Vec::new();
    for (cell, members) in by_cell {
        let ordered: Vec<u32> = if members.len() == rows {
            layout.order(&set).map_err(layout_error)?
        } else {
            let cell_columns = columns
                .iter()
                .map(|column| take(column, &members))
                .collect::<Result<Vec<Column>>>()?;
            let cell_set = ColumnSet::new(&names, &cell_columns).map_err(layout_error)?;
            let order = layout.order(&cell_set).map_err(layout_error)?;
            order
                .iter()
                .map(|&position| members.get(position as usize).copied().unwrap_or(0))
                .collect()
        };
        // A cell that does not fit in the block being filled starts a new one; a cell larger
        // than a block gets blocks of its own, and its last part may be joined by later cells.
        if !pending.is_empty() && pending.len() + ordered.len() > BLOCK_ROWS {
            writer.write(&pending, &runs)?;
            pending.clear();
            runs.clear();
        }
        let mut rest = ordered.as_slice();
        while rest.len() >= BLOCK_ROWS {
            let (block, after) = rest.split_at(BLOCK_ROWS);
            writer.write(block, &[CellRun { cell, first: 0 }])?;
            rest = after;
        }
        if !rest.is_empty() {
            runs.push(CellRun {
                cell,
                first: pending.len() as u32,
            });
            pending.extend_from_slice(rest);
        }
    }
    if !pending.is_empty() {
        writer.write(&pending, &runs)?;
    }
    Ok(new_blocks)
}

/// Encodes and stores blocks for [`build_blocks`].
struct BlockWriter<'w, 'k> {
    db: &'w DbInner,
    table: &'w str,
    ids: (u32, u32),
    columns: &'w [Column],
    key_of: &'w dyn Fn(usize) -> &'k [u8],
    sort_column: Option<usize>,
    compressor: &'w Compressor,
    cfs: (
        &'w rocksdb::ColumnFamily,
        &'w rocksdb::ColumnFamily,
        &'w rocksdb::ColumnFamily,
    ),
    next_block_id: &'w mut u64,
    sink: Sink<'w>,
    report: &'w mut CompactionReport,
    new_blocks: &'w mut Vec<Arc<BlockMeta>>,
    /// The chunk cache's clock when the build began: written chunks warm the cache in
    /// place of chunks no read has used since ([`crate::cache::ColumnCache::warm`]).
    warm_since: u64,
}

impl BlockWriter<'_, '_> {
    /// Writes one block of the rows `members` (indexes into the columns, in stored order),
    /// whose cells start where `runs` say.
    fn write(&mut self, members: &[u32], runs: &[CellRun]) -> Result<()> {
        let (table_id, layout_version) = self.ids;
        let (pk_index, block_meta_cf, blocks_cf) = self.cfs;
        let cell = runs.first().map_or(0, |run| run.cell);
        let block_id = *self.next_block_id;
        *self.next_block_id += 1;
        let block_columns = self
            .columns
            .iter()
            .map(|column| take(column, members))
            .collect::<Result<Vec<Column>>>()?;
        let block_key_bytes = block_key(table_id, layout_version, cell, block_id);
        let mut chunk_metas = Vec::with_capacity(block_columns.len());
        for (index, column) in block_columns.iter().enumerate() {
            let encoded = encode_block(column, self.compressor)?;
            // Reads check a chunk by its trailer, and the meta's copy of the trailer binds
            // the meta to the chunk; a chunk whose trailer is not its checksum is not written.
            let crc = crc32c::crc32c(&encoded.bytes);
            let trailer = encoded
                .bytes
                .last_chunk::<4>()
                .map_or(0, |last| u32::from_le_bytes(*last));
            if crc != CHUNK_CRC_RESIDUE {
                return Err(tessera_codecs::CodecError::ChecksumMismatch {
                    expected: CHUNK_CRC_RESIDUE,
                    actual: crc,
                }
                .into());
            }
            self.report.bytes_written += encoded.bytes.len() as u64;
            chunk_metas.push(ChunkMeta {
                bytes: encoded.bytes.len() as u64,
                trailer,
                null_count: column.null_count() as u32,
                zone: zone_of(column),
                encoding: encoded.values.to_string(),
            });
            self.sink.batch.put_cf(
                blocks_cf,
                chunk_key(&block_key_bytes, index as u16),
                &encoded.bytes,
            );
        }
        // Several runs are not one sorted sequence: scans search each run instead.
        let position = match self.sort_column.and_then(|index| block_columns.get(index)) {
            Some(sorted) if runs.len() == 1 => PositionModel::fit(sorted)
                .map(|model| model.encode())
                .unwrap_or_default(),
            _ => Vec::new(),
        };
        let mut pk_min: Option<&[u8]> = None;
        let mut pk_max: Option<&[u8]> = None;
        for (position, &member) in members.iter().enumerate() {
            let source = member as usize;
            let key = (self.key_of)(source);
            if pk_min.is_none_or(|min| key < min) {
                pk_min = Some(key);
            }
            if pk_max.is_none_or(|max| key > max) {
                pk_max = Some(key);
            }
            let index_key = pk_index_key(table_id, layout_version, key);
            let location = encode_location(block_id, position as u32);
            if (self.sink.deferred)(source) {
                self.sink.switch.put_cf(pk_index, index_key, location);
            } else {
                self.sink.index.push(&index_key, location);
            }
        }
        let meta = BlockMeta {
            id: block_id,
            layout_version,
            cell,
            rows: members.len() as u32,
            runs: runs.to_vec(),
            columns: chunk_metas,
            pk_min: pk_min.unwrap_or_default().to_vec(),
            pk_max: pk_max.unwrap_or_default().to_vec(),
            deleted: RoaringBitmap::new(),
            position,
        };
        self.sink
            .batch
            .put_cf(block_meta_cf, &block_key_bytes, meta.encode());
        self.report.blocks_written += 1;
        self.report.rows_written += members.len() as u64;
        self.new_blocks.push(Arc::new(meta));
        // The first reads of a new block (the first after a re-layout's switch, above all)
        // would otherwise decode every chunk they touch: a point read decodes the whole row's.
        for (index, column) in block_columns.into_iter().enumerate() {
            self.db
                .cache
                .warm((table_id, block_id, index as u16), column, self.warm_since);
        }
        if let Some(limit) = self.sink.flush_every
            && self.sink.batch.size_in_bytes() >= limit
        {
            self.db
                .write(std::mem::take(self.sink.batch))
                .map_err(storage(format!("writing blocks of table {:?}", self.table)))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_round_trip() {
        let bytes = encode_location(7, 65_535);
        assert_eq!(decode_location(&bytes), Some((7, 65_535)));
        assert_eq!(decode_location(&bytes[..11]), None);
    }

    #[test]
    fn key_ranges_merge_and_answer_membership() {
        let block = |id: u64, low: &[u8], high: &[u8]| {
            Arc::new(BlockMeta {
                id,
                layout_version: 0,
                cell: 0,
                rows: 1,
                runs: vec![CellRun { cell: 0, first: 0 }],
                columns: Vec::new(),
                pk_min: low.to_vec(),
                pk_max: high.to_vec(),
                deleted: RoaringBitmap::new(),
                position: Vec::new(),
            })
        };
        let version = TableVersion::new(
            Arc::new(InsertionOrder),
            0,
            0,
            4,
            vec![
                block(1, b"c", b"f"),
                block(2, b"a", b"d"),
                block(3, b"m", b"p"),
            ],
        );
        assert_eq!(version.pk_ranges.len(), 2);
        for (key, expected) in [
            (&b"a"[..], true),
            (b"e", true),
            (b"f", true),
            (b"g", false),
            (b"m", true),
            (b"q", false),
            (b"", false),
        ] {
            assert_eq!(version.may_hold(key), expected, "{key:?}");
        }
    }

    /// Every chunk of the table's current blocks is cached (the write warmed it) exactly as
    /// decoding it from storage gives it.
    fn assert_warm_chunks_match_storage(table: &crate::Table) {
        let (db, state) = (table.db(), table.state());
        let version = state.versions.pin();
        assert!(!version.blocks.is_empty());
        let table_id = state.meta.id();
        for block in &version.blocks {
            for column in 0..state.kinds.len() {
                let cached = db
                    .cache
                    .get((table_id, block.id, column as u16))
                    .unwrap_or_else(|| panic!("block {} column {column} was not warmed", block.id));
                let key = chunk_key(
                    &block_key(table_id, block.layout_version, block.cell, block.id),
                    column as u16,
                );
                let bytes = db
                    .rocks
                    .get_cf(db.cf(CF_BLOCKS).unwrap(), &key)
                    .unwrap()
                    .expect("stored chunk");
                let stored = tessera_codecs::decode_block(&bytes).unwrap();
                assert_eq!(*cached.column, stored, "block {} column {column}", block.id);
            }
        }
    }

    fn mixed_schema() -> arrow::datatypes::SchemaRef {
        use arrow::datatypes::{DataType, Field, Schema};
        Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("x", DataType::Int64, true),
            Field::new("f", DataType::Float64, true),
            Field::new("s", DataType::Utf8, true),
            Field::new("price", DataType::Decimal128(15, 2), true),
            Field::new("day", DataType::Date32, true),
            Field::new("flag", DataType::Boolean, true),
        ]))
    }

    /// Rows `ids` of every type, with nulls; `salt` changes the values of the same ids.
    fn mixed_batch(ids: std::ops::Range<i64>, salt: i64) -> arrow::record_batch::RecordBatch {
        use arrow::array::{
            ArrayRef, BooleanArray, Date32Array, Decimal128Array, Float64Array, Int64Array,
            StringArray,
        };
        let columns: Vec<ArrayRef> = vec![
            Arc::new(Int64Array::from_iter_values(ids.clone())),
            Arc::new(Int64Array::from_iter(ids.clone().map(|id| {
                (id % 7 != 0).then_some((id * 7_919 + salt) % 1_000 - 500)
            }))),
            Arc::new(Float64Array::from_iter(ids.clone().map(|id| {
                match id % 5 {
                    0 => None,
                    1 => Some(-0.0),
                    _ => Some(id as f64 / 3.0 + salt as f64),
                }
            }))),
            Arc::new(StringArray::from_iter(ids.clone().map(|id| {
                (id % 3 != 0).then(|| format!("s{}", (id + salt) % 17))
            }))),
            Arc::new(
                Decimal128Array::from_iter(
                    ids.clone()
                        .map(|id| (id % 4 != 0).then_some(id as i128 * 101 + salt as i128)),
                )
                .with_precision_and_scale(15, 2)
                .unwrap(),
            ),
            Arc::new(Date32Array::from_iter(
                ids.clone()
                    .map(|id| (id % 6 != 0).then_some(9_000 + (id % 400) as i32)),
            )),
            Arc::new(BooleanArray::from_iter(
                ids.map(|id| (id % 8 != 0).then_some(id % 2 == 0)),
            )),
        ];
        arrow::record_batch::RecordBatch::try_new(mixed_schema(), columns).unwrap()
    }

    /// A new table `t` of `schema` keyed by `key`.
    fn new_table(db: &crate::Db, schema: arrow::datatypes::SchemaRef, key: &str) -> crate::Table {
        db.create_table(
            "t",
            schema,
            crate::TableOptions {
                primary_key: vec![key.to_owned()],
            },
        )
        .unwrap()
    }

    #[test]
    fn written_blocks_warm_the_cache_with_what_storage_decodes_to() {
        let schema = mixed_schema();
        let batch = mixed_batch;
        let directory = tempfile::tempdir().unwrap();
        let db = crate::Db::open(directory.path(), crate::Options::default()).unwrap();
        let table = new_table(&db, Arc::clone(&schema), "id");
        table.insert(&batch(0..3_000, 0)).unwrap();
        table.compact().unwrap();
        assert_warm_chunks_match_storage(&table);
        // A fold with new rows and replaced ones (deletion vectors on the old blocks).
        table.insert(&batch(2_000..4_000, 1)).unwrap();
        table.compact().unwrap();
        assert_warm_chunks_match_storage(&table);
        table
            .relayout(&tessera_layout::LayoutChoice::Sorted(vec!["x".to_owned()]))
            .unwrap();
        assert_warm_chunks_match_storage(&table);
    }

    #[test]
    fn cold_point_reads_decode_their_row_and_cache_a_chunk_read_again() {
        let directory = tempfile::tempdir().unwrap();
        {
            let db = crate::Db::open(directory.path(), crate::Options::default()).unwrap();
            let table = new_table(&db, mixed_schema(), "id");
            table.insert(&mixed_batch(0..3_000, 0)).unwrap();
            table.compact().unwrap();
            // Some keys replaced after the fold: their newest rows are in delta.
            table.insert(&mixed_batch(2_990..3_010, 1)).unwrap();
        }
        // Reopened, the cache is cold.
        let db = crate::Db::open(directory.path(), crate::Options::default()).unwrap();
        let table = db.table("t").unwrap();
        let (cache, state) = (&table.db().cache, table.state());
        let block = state
            .versions
            .pin()
            .blocks
            .first()
            .map(|block| block.id)
            .unwrap();
        let cached = |column: u16| cache.get((state.meta.id(), block, column)).is_some();
        let key = |id: i64| mixed_batch(id..id + 1, 0).project(&[0]).unwrap();
        for (id, salt) in [(0, 0), (1_234, 0), (2_989, 0), (2_990, 1), (3_009, 1)] {
            let row = table.get(&key(id)).unwrap().expect("a stored key");
            assert_eq!(row, mixed_batch(id..id + 1, salt), "key {id}");
            if id == 0 {
                assert!(
                    (0..7).all(|column| !cached(column)),
                    "one read cached a chunk"
                );
            }
        }
        // The block was read again: its chunks are cached now, and reads agree. The key
        // column's is not: a point read returns the key it was given.
        assert!((1..7).all(cached));
        assert!(!cached(0));
        for id in [5, 2_000] {
            assert_eq!(
                table.get(&key(id)).unwrap().unwrap(),
                mixed_batch(id..id + 1, 0)
            );
        }
        assert!(table.get(&key(5_000)).unwrap().is_none());
    }

    #[test]
    fn a_point_read_returns_the_stored_float_key_not_the_one_asked_for() {
        use arrow::array::{Array, Float64Array, Int64Array};
        use arrow::datatypes::{DataType, Field, Schema};
        use arrow::record_batch::RecordBatch;
        let schema = Arc::new(Schema::new(vec![
            Field::new("k", DataType::Float64, false),
            Field::new("v", DataType::Int64, true),
        ]));
        let directory = tempfile::tempdir().unwrap();
        {
            let db = crate::Db::open(directory.path(), crate::Options::default()).unwrap();
            let table = new_table(&db, Arc::clone(&schema), "k");
            let batch = RecordBatch::try_new(
                Arc::clone(&schema),
                vec![
                    Arc::new(Float64Array::from(vec![-0.0, 1.5])),
                    Arc::new(Int64Array::from(vec![7, 8])),
                ],
            )
            .unwrap();
            table.insert(&batch).unwrap();
            table.compact().unwrap();
        }
        let db = crate::Db::open(directory.path(), crate::Options::default()).unwrap();
        let table = db.table("t").unwrap();
        let key = RecordBatch::try_new(
            Arc::new(Schema::new(vec![Field::new("k", DataType::Float64, false)])),
            vec![Arc::new(Float64Array::from(vec![0.0]))],
        )
        .unwrap();
        let row = table.get(&key).unwrap().expect("0.0 finds -0.0");
        let k = row
            .column(0)
            .as_any()
            .downcast_ref::<Float64Array>()
            .unwrap();
        assert_eq!(k.value(0).to_bits(), (-0.0f64).to_bits());
        let v = row.column(1).as_any().downcast_ref::<Int64Array>().unwrap();
        assert_eq!((v.len(), v.value(0)), (1, 7));
    }
}
