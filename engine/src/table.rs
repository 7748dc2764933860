//! Tables: the write path (insert, upsert, delete into `delta`) and the read path (point
//! reads and scans over compacted blocks merged with `delta`).
//!
//! Every write is one RocksDB `WriteBatch` into the table's current delta generation, so a
//! batch is applied whole or not at all and is visible to the next read once acknowledged.
//! All validation (schema, types, nulls in key columns, key encoding) happens before the
//! batch is built, so a rejected write changes nothing. Each row version is keyed
//! table id ‖ generation ‖ primary key ‖ sequence; within a generation the versions of a
//! key are adjacent, oldest first, and a later generation is newer.
//!
//! Reads pin a `TableVersion` together with a RocksDB snapshot (see the `version` module).
//! A scan asks the layout which cells the predicate can touch, prunes their blocks by zone
//! map and key range, decodes only the needed columns (through the shared chunk cache),
//! evaluates the predicate a column at a time, drops rows in the deletion vector and rows
//! that live delta versions replace, and then adds the matching delta rows. A point read
//! looks in delta first (newest generation first), then follows `pk_index` to a block row.

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use arrow::array::{ArrayRef, RecordBatch, RecordBatchOptions};
use arrow::datatypes::{Schema, SchemaRef};
use parking_lot::{Condvar, Mutex, MutexGuard, RwLock};
use rocksdb::{DB, ReadOptions, SnapshotWithThreadMode, WriteBatch};
use tessera_codecs::{Column, LogicalType, PhysicalKind, Picked, decode_block, decode_block_row};
use tessera_layout::keys::Span;
use tessera_layout::{ColumnFilter, Predicate, Scalar, Term};

use crate::block::{BlockMeta, CHUNK_CRC_RESIDUE, successor};
use crate::cache::Chunk;
use crate::catalog::TableMeta;
use crate::columnar::{column_from_array, column_to_array, picked_to_array};
use crate::compaction::{TableVersion, decode_location};
use crate::db::{CF_BLOCKS, CF_DELTA, CF_PK_INDEX, DbInner, storage};
use crate::error::{Error, Result};
use crate::evaluate::{Chosen, FilterRead, Selection, apply_filter, kept_share, take};
use crate::keys::{
    GENERATION_BYTES, SEQUENCE_BYTES, TABLE_ID_BYTES, ValueRef, block_key, chunk_key, delta_key,
    delta_prefix, encode_key_value, hex, pk_index_key, table_range,
};
use crate::row::{ColumnBuilder, RowValue, decode_row, encode_row, encode_tombstone, value_at};
use crate::version::VersionSet;

/// Rows per batch a scan returns at most.
pub const SCAN_BATCH_ROWS: usize = crate::block::BLOCK_ROWS;

/// What writers share: whether the table is gone, and the delta generation they write.
pub(crate) struct WriterState {
    pub(crate) dropped: bool,
    pub(crate) generation: u32,
}

/// A table's definition and what is derived from it, shared by every handle.
pub(crate) struct TableState {
    pub(crate) meta: TableMeta,
    pub(crate) logical_types: Vec<LogicalType>,
    pub(crate) kinds: Vec<PhysicalKind>,
    /// Writers hold the read side while they write, so a drop or a generation seal waits
    /// for writes in flight.
    pub(crate) writer: RwLock<WriterState>,
    /// The published versions of the table's blocks.
    pub(crate) versions: VersionSet<TableVersion, crate::compaction::Garbage>,
    /// Serializes compactions and re-layouts of the table.
    pub(crate) compaction: Mutex<()>,
    /// Bytes written to the current delta generation (an estimate that triggers compaction).
    pub(crate) delta_bytes: AtomicU64,
    /// Whether a background compaction is queued.
    pub(crate) scheduled: AtomicBool,
    /// The last background compaction error, for `stats`.
    pub(crate) last_error: Mutex<Option<String>>,
    /// The predicates scans served, for the layout optimizer.
    pub(crate) workload: Mutex<crate::optimize::WorkloadLog>,
    /// Wall time, rows and blocks over all scans: the optimizer's measured costs.
    pub(crate) scan_costs: Mutex<crate::optimize::ScanCosts>,
    /// Whether the layout is pinned: automatic re-layout leaves the table alone.
    pub(crate) layout_pinned: AtomicBool,
    /// Whether a re-layout is rewriting the table right now.
    pub(crate) relayout_running: AtomicBool,
    /// Whether an automatic layout check is queued.
    pub(crate) tuning: AtomicBool,
    /// The last automatic re-layout, while it is provisional (see
    /// `optimize::automatic_check`); it counts only while its layout version is live.
    pub(crate) provisional: Mutex<Option<crate::optimize::Provisional>>,
}

impl TableState {
    pub(crate) fn new(
        meta: TableMeta,
        version: TableVersion,
        generation: u32,
        workload: crate::optimize::WorkloadLog,
        layout_pinned: bool,
    ) -> Self {
        let logical_types = meta.logical_types();
        let kinds = logical_types.iter().map(LogicalType::physical).collect();
        Self {
            meta,
            logical_types,
            kinds,
            writer: RwLock::new(WriterState {
                dropped: false,
                generation,
            }),
            versions: VersionSet::new(version),
            compaction: Mutex::new(()),
            delta_bytes: AtomicU64::new(0),
            scheduled: AtomicBool::new(false),
            last_error: Mutex::new(None),
            workload: Mutex::new(workload),
            scan_costs: Mutex::new(crate::optimize::ScanCosts::default()),
            layout_pinned: AtomicBool::new(layout_pinned),
            relayout_running: AtomicBool::new(false),
            tuning: AtomicBool::new(false),
            provisional: Mutex::new(None),
        }
    }

    /// The table's column names, in table order.
    pub(crate) fn column_names(&self) -> Vec<String> {
        self.meta
            .schema()
            .fields()
            .iter()
            .map(|field| field.name().clone())
            .collect()
    }

    pub(crate) fn builders(&self, projection: &[usize]) -> Vec<ColumnBuilder> {
        let schema = self.meta.schema();
        projection
            .iter()
            .filter_map(|&index| {
                let field = schema.fields().get(index)?;
                let logical = self.logical_types.get(index)?.clone();
                Some(ColumnBuilder::new(
                    field.name(),
                    logical,
                    field.data_type().clone(),
                ))
            })
            .collect()
    }
}

/// What a scan reads.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScanRequest {
    /// The columns to return, in this order; `None` returns every column.
    pub projection: Option<Vec<String>>,
    /// The rows to return; [`Predicate::all`] returns every row.
    pub predicate: Predicate,
    /// Return at most this many rows.
    pub limit: Option<usize>,
}

/// What a scan did: the numbers `explain`, the benchmarks and the workload tracker use.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScanStats {
    /// Rows returned.
    pub rows_matched: u64,
    /// Live rows the predicate was evaluated on (block rows read plus delta rows).
    pub rows_scanned: u64,
    /// Encoded blocks read.
    pub blocks_scanned: u64,
    /// Encoded blocks of the table.
    pub blocks_total: u64,
    /// Bytes the scan needed: encoded chunk bytes of the columns read from each block
    /// (whether or not the chunk cache held them decoded) plus delta keys and values.
    pub bytes_read: u64,
    /// Column chunks the decoded-chunk cache did not hold, which this scan read from
    /// storage and decoded.
    pub chunks_decoded: u64,
}

/// How a scan went, for `explain`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScanExplain {
    /// The layout, as it describes itself.
    pub layout: String,
    /// Cells of the layout.
    pub cells_total: u64,
    /// Cells the layout said the predicate can touch.
    pub cells_visited: u64,
    /// Blocks in those cells.
    pub blocks_in_cells: u64,
    /// Of those, blocks the zone maps and key ranges ruled out.
    pub blocks_pruned: u64,
    /// Filters not evaluated on a scanned block because its zone map shows every row
    /// passes (summed over blocks).
    pub filters_skipped: u64,
    /// Filters evaluated on scanned blocks (summed over blocks).
    pub filters_run: u64,
    /// Of those, filters that read the chunk's narrow offsets (integers and decimals) in
    /// place of its values.
    pub filters_on_offsets: u64,
    /// Of those, filters that read the chunk's dictionary codes (strings of at most 256
    /// distinct values) in place of its values.
    pub filters_on_codes: u64,
    /// Of the blocks scanned, those that returned no row: what an index finer than the zone
    /// maps (one mapping value ranges to blocks, say) could have skipped at the most.
    pub blocks_unmatched: u64,
    /// Rows scanned in those blocks.
    pub rows_scanned_unmatched: u64,
    /// Chunks read per encoding (the compressor's description), over the blocks scanned.
    pub encodings_read: BTreeMap<String, u64>,
    /// Delta rows (newest versions) the scan merged.
    pub delta_rows: u64,
    /// Microseconds spent choosing blocks, reading and filtering blocks, and merging delta.
    pub plan_micros: u64,
    /// See `plan_micros`.
    pub blocks_micros: u64,
    /// Microseconds the threads reading and filtering blocks spent on them, summed over the
    /// threads: `blocks_micros` as it would be on one thread, about.
    pub blocks_thread_micros: u64,
    /// See `plan_micros`.
    pub delta_micros: u64,
}

/// A scan's rows and statistics.
#[derive(Debug, Clone)]
pub struct ScanResult {
    /// The schema of the returned batches (the projection).
    pub schema: SchemaRef,
    /// The matching rows, at most [`SCAN_BATCH_ROWS`] per batch, compacted rows first (in
    /// layout order), then rows still in delta (in primary key order).
    pub batches: Vec<RecordBatch>,
    /// What the scan did.
    pub stats: ScanStats,
    /// How it went.
    pub explain: ScanExplain,
}

impl ScanResult {
    /// Rows over all batches.
    pub fn num_rows(&self) -> usize {
        self.batches.iter().map(RecordBatch::num_rows).sum()
    }
}

/// A handle to a table. Cheap to clone, `Send + Sync`.
#[derive(Clone)]
pub struct Table {
    db: Arc<DbInner>,
    state: Arc<TableState>,
}

impl std::fmt::Debug for Table {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Table")
            .field("name", &self.name())
            .field("id", &self.state.meta.id())
            .finish()
    }
}

/// The newest delta version of each key a read can see: primary key → row bytes, or
/// `None` for a tombstone.
type DeltaOverlay = BTreeMap<Vec<u8>, Option<Vec<u8>>>;

impl Table {
    pub(crate) fn new(db: Arc<DbInner>, state: Arc<TableState>) -> Self {
        Self { db, state }
    }

    /// The table's name.
    pub fn name(&self) -> &str {
        self.state.meta.name()
    }

    /// The table's schema.
    pub fn schema(&self) -> SchemaRef {
        Arc::clone(self.state.meta.schema())
    }

    /// The primary key's column names, in key order.
    pub fn primary_key(&self) -> Vec<String> {
        self.state.meta.primary_key()
    }

    pub(crate) fn state(&self) -> &Arc<TableState> {
        &self.state
    }

    pub(crate) fn db(&self) -> &Arc<DbInner> {
        &self.db
    }

    fn table(&self) -> String {
        self.name().to_owned()
    }

    fn gone(&self) -> Error {
        Error::TableNotFound {
            table: self.table(),
        }
    }

    /// Inserts the rows of `batch`; a row whose key exists replaces it (upsert), and of rows
    /// repeating a key within the batch the last wins. The batch must hold exactly the
    /// table's columns (in any order) with the table's types; key columns must not be null,
    /// nor columns declared not nullable.
    pub fn insert(&self, batch: &RecordBatch) -> Result<()> {
        let _span =
            tracing::debug_span!("insert", table = self.name(), rows = batch.num_rows()).entered();
        let columns = self
            .columns_of(batch, true)?
            .into_iter()
            .zip(self.state.meta.schema().fields())
            .map(|(column, field)| {
                column.ok_or_else(|| Error::MissingColumn {
                    table: self.table(),
                    column: field.name().clone(),
                })
            })
            .collect::<Result<Vec<Column>>>()?;
        for (field, column) in self.state.meta.schema().fields().iter().zip(&columns) {
            if !field.is_nullable()
                && let Some(row) = first_null(column)
            {
                return Err(Error::NullNotAllowed {
                    table: self.table(),
                    column: field.name().clone(),
                    row,
                });
            }
        }
        let rows = batch.num_rows();
        let keys = self.encode_keys(&columns, rows)?;
        if rows == 0 {
            return Ok(());
        }
        let mut value = Vec::new();
        let mut write = WriteBatch::default();
        let delta = self.db.cf(CF_DELTA)?;
        let writer = self.state.writer.read();
        if writer.dropped {
            return Err(self.gone());
        }
        let first = self.db.allocate_sequences(rows as u64)?;
        let table_id = self.state.meta.id();
        let mut bytes = 0u64;
        let prefix = delta_prefix(table_id, writer.generation);
        let mut key = Vec::new();
        for (row, (primary_key, sequence)) in keys.iter().zip(first..).enumerate() {
            value.clear();
            encode_row(&columns, row, &mut value)?;
            key.clear();
            key.extend_from_slice(&prefix);
            key.extend_from_slice(primary_key);
            key.extend_from_slice(&sequence.to_be_bytes());
            bytes += (key.len() + value.len()) as u64;
            write.put_cf(delta, &key, &value);
        }
        // Counted before the write, under the writer lock: a reader that finds no delta
        // bytes skips delta, so none may be visible while the count still says 0.
        let total = self.count_delta(bytes);
        self.db
            .write(write)
            .map_err(storage(format!("inserting into table {:?}", self.name())))?;
        drop(writer);
        self.compact_if_due(total);
        Ok(())
    }

    /// Deletes the rows with the keys in `keys`, a batch holding (at least) the key columns;
    /// its other columns, if any, must be the table's, and are ignored. Keys that do not
    /// exist are no error.
    pub fn delete(&self, keys: &RecordBatch) -> Result<()> {
        let _span =
            tracing::debug_span!("delete", table = self.name(), rows = keys.num_rows()).entered();
        let columns = self.columns_of(keys, false)?;
        let encoded = self.encode_keys_sparse(&columns, keys.num_rows())?;
        if encoded.is_empty() {
            return Ok(());
        }
        let tombstone = encode_tombstone();
        let mut write = WriteBatch::default();
        let delta = self.db.cf(CF_DELTA)?;
        let writer = self.state.writer.read();
        if writer.dropped {
            return Err(self.gone());
        }
        let first = self.db.allocate_sequences(encoded.len() as u64)?;
        let table_id = self.state.meta.id();
        let mut bytes = 0u64;
        for (key, sequence) in encoded.into_iter().zip(first..) {
            let key = delta_key(table_id, writer.generation, &key, sequence);
            bytes += (key.len() + tombstone.len()) as u64;
            write.put_cf(delta, key, &tombstone);
        }
        let total = self.count_delta(bytes);
        self.db
            .write(write)
            .map_err(storage(format!("deleting from table {:?}", self.name())))?;
        drop(writer);
        self.compact_if_due(total);
        Ok(())
    }

    /// Counts delta bytes about to be written (a failed write only over-counts); returns the
    /// total.
    fn count_delta(&self, bytes: u64) -> u64 {
        self.state.delta_bytes.fetch_add(bytes, Ordering::SeqCst) + bytes
    }

    /// Queues a background compaction once the delta holds `total` bytes past the threshold.
    fn compact_if_due(&self, total: u64) {
        if total >= self.db.compaction_threshold
            && !self.state.scheduled.swap(true, Ordering::AcqRel)
            && !self.db.schedule_compaction(self.state.meta.id())
        {
            self.state.scheduled.store(false, Ordering::Release);
        }
    }

    /// Folds every delta row written so far into encoded blocks and waits for it. Writes
    /// and reads go on meanwhile; rows written during the compaction stay in delta.
    pub fn compact(&self) -> Result<crate::compaction::CompactionReport> {
        crate::compaction::compact_table(&self.db, &self.state)
    }

    /// The delta generations a read pinned at `version` and `generation` must look in: those
    /// the version has not folded, or none when nothing was written since the last
    /// compaction folded everything (the only live generation is the newest and no byte was
    /// counted into it). A writer counts its bytes before its write, and `pin` takes the
    /// snapshot before this reads the count, so a count of 0 means no write is in the
    /// snapshot. Opening a table starts a generation above every one present, so delta left
    /// from before is never taken for empty.
    fn live_generations(
        &self,
        version: &TableVersion,
        generation: u32,
    ) -> impl DoubleEndedIterator<Item = u32> + use<> {
        let first_live = version.folded_through.saturating_add(1);
        let empty = first_live == generation && self.state.delta_bytes.load(Ordering::SeqCst) == 0;
        (first_live..=generation).filter(move |_| !empty)
    }

    /// Pins the current version with a matching snapshot and the newest delta generation.
    fn pin(
        &self,
    ) -> (
        crate::version::Pin<TableVersion>,
        SnapshotWithThreadMode<'_, DB>,
        u32,
    ) {
        let (pin, (snapshot, generation)) = self.state.versions.pin_with(|_| {
            let snapshot = self.db.rocks.snapshot();
            let generation = self.state.writer.read().generation;
            (snapshot, generation)
        });
        (pin, snapshot, generation)
    }

    /// The newest live version of the row whose key is in `key` (a one-row batch holding at
    /// least the key columns), with every column, or `None` when there is none.
    pub fn get(&self, key: &RecordBatch) -> Result<Option<RecordBatch>> {
        let _span = tracing::debug_span!("get", table = self.name()).entered();
        if self.state.writer.read().dropped {
            return Err(self.gone());
        }
        if key.num_rows() != 1 {
            return Err(Error::KeyRowCount {
                table: self.table(),
                rows: key.num_rows(),
            });
        }
        let columns = self.columns_of(key, false)?;
        let Some(primary_key) = self.encode_keys_sparse(&columns, 1)?.into_iter().next() else {
            return Ok(None);
        };
        let (version, snapshot, generation) = self.pin();
        let table_id = self.state.meta.id();
        let delta = self.db.cf(CF_DELTA)?;
        for generation in self.live_generations(&version, generation).rev() {
            let lower = delta_key(table_id, generation, &primary_key, 0);
            let newest = delta_key(table_id, generation, &primary_key, u64::MAX);
            // Read forward over the key's versions, between tight bounds. A backward seek
            // from the newest version walked, when the generation held none, back over
            // every range-deleted key of the generations folded before it (seconds after
            // a large load), before it stopped at the lower bound.
            let mut upper = newest.clone();
            upper.push(0);
            let mut options = ReadOptions::default();
            options.set_iterate_lower_bound(lower.clone());
            options.set_iterate_upper_bound(upper);
            let mut iterator = snapshot.raw_iterator_cf_opt(delta, options);
            iterator.seek(&lower);
            let mut last: Option<(Vec<u8>, Vec<u8>)> = None;
            while let Some((found, value)) = iterator.item() {
                if found.len() == newest.len() {
                    last = Some((found.to_vec(), value.to_vec()));
                }
                iterator.next();
            }
            let found = match last {
                Some((found, value)) => Some(self.decode(&found, &value)?),
                None => None,
            };
            iterator
                .status()
                .map_err(storage(format!("reading table {:?}", self.name())))?;
            match found {
                Some(RowValue::Tombstone) => return Ok(None),
                Some(RowValue::Row(values)) => {
                    let all: Vec<usize> = (0..self.state.kinds.len()).collect();
                    let mut builders = self.state.builders(&all);
                    for (builder, value) in builders.iter_mut().zip(&values) {
                        builder.push(value.as_ref())?;
                    }
                    return Ok(Some(self.finish_batch(
                        self.state.meta.schema().clone(),
                        &mut builders,
                        1,
                    )?));
                }
                None => {}
            }
        }
        if !version.may_hold(&primary_key) {
            return Ok(None);
        }
        let index_key = pk_index_key(table_id, version.layout_version, &primary_key);
        let location = snapshot
            .get_pinned_cf(self.db.cf(CF_PK_INDEX)?, &index_key)
            .map_err(storage(format!(
                "reading the index of table {:?}",
                self.name()
            )))?;
        let Some(location) = location else {
            return Ok(None);
        };
        let (block_id, row) = decode_location(&location).ok_or_else(|| Error::Corrupt {
            what: format!("index entry of table {:?}", self.name()),
            key: hex(&index_key),
            reason: format!("{} bytes, expected 12", location.len()),
        })?;
        let Some(block) = version.block(block_id) else {
            return Err(Error::Corrupt {
                what: format!("index entry of table {:?}", self.name()),
                key: hex(&index_key),
                reason: format!("it names block {block_id}, which the table does not have"),
            });
        };
        if block.deleted.contains(row) {
            return Ok(None);
        }
        let key_indices = self.state.meta.key_indices();
        let mut arrays = Vec::with_capacity(self.state.kinds.len());
        for (index, field) in self.state.meta.schema().fields().iter().enumerate() {
            // A key column holds the key asked for: the index matched its encoding, which is
            // exact but for floats (-0.0 and 0.0 share one). Its chunk need not be read.
            let given = columns.get(index).and_then(Option::as_ref).filter(|given| {
                key_indices.contains(&index) && given.logical().physical() != PhysicalKind::Float
            });
            let one = match given {
                Some(given) => Column::clone(given),
                None => chunk_row(&self.db, &self.state, block, index, row)?,
            };
            arrays.push(column_to_array(&one, field.data_type())?);
        }
        Ok(Some(RecordBatch::try_new(
            self.state.meta.schema().clone(),
            arrays,
        )?))
    }

    /// Scans the table: compacted blocks the layout and zone maps cannot rule out, then the
    /// delta rows, filtered by the predicate, projected, and cut at the limit. The scan reads
    /// one consistent state: the version and snapshot pinned at its start.
    pub fn scan(&self, request: ScanRequest) -> Result<ScanResult> {
        let mut batches = Vec::new();
        let (schema, stats, explain) = self.scan_with(request, &mut |batch| {
            batches.push(batch);
            Ok(())
        })?;
        Ok(ScanResult {
            schema,
            batches,
            stats,
            explain,
        })
    }

    /// Runs a scan and hands its batches to `sink` one at a time, in scan order; returns the
    /// schema of the batches, what the scan did and how. A sink error stops the scan.
    pub fn scan_into(
        &self,
        request: ScanRequest,
        sink: &mut dyn FnMut(RecordBatch) -> Result<()>,
    ) -> Result<(SchemaRef, ScanStats, ScanExplain)> {
        self.scan_with(request, sink)
    }

    /// [`Self::scan_rows`], then the scan is logged for the layout optimizer.
    fn scan_with(
        &self,
        request: ScanRequest,
        sink: &mut dyn FnMut(RecordBatch) -> Result<()>,
    ) -> Result<(SchemaRef, ScanStats, ScanExplain)> {
        let started = std::time::Instant::now();
        let predicate = request.predicate.clone();
        let result = self.scan_rows(request, sink)?;
        // The optimizer prices work, which the thread count does not change: the blocks'
        // time counts as the threads spent it, not as the caller waited for it.
        let explain = &result.2;
        let work_micros = (started.elapsed().as_micros() as u64)
            .saturating_sub(explain.blocks_micros)
            .saturating_add(explain.blocks_thread_micros);
        let due = crate::optimize::record_scan(
            &self.db,
            &self.state,
            &predicate,
            work_micros.saturating_mul(1_000),
            &result.1,
        );
        if due {
            self.db.schedule_tuning(&self.state);
        }
        Ok(result)
    }

    fn scan_rows(
        &self,
        request: ScanRequest,
        sink: &mut dyn FnMut(RecordBatch) -> Result<()>,
    ) -> Result<(SchemaRef, ScanStats, ScanExplain)> {
        let span = tracing::debug_span!(
            "scan",
            table = self.name(),
            filters = request.predicate.filters.len(),
            rows_matched = tracing::field::Empty,
            rows_scanned = tracing::field::Empty,
            blocks_scanned = tracing::field::Empty,
        );
        let _entered = span.enter();
        if self.state.writer.read().dropped {
            return Err(self.gone());
        }
        let started = std::time::Instant::now();
        let projection = self.projection(request.projection.as_deref())?;
        let schema = Arc::new(Schema::new(
            projection
                .iter()
                .filter_map(|&index| self.state.meta.schema().fields().get(index).cloned())
                .collect::<Vec<_>>(),
        ));
        self.check_predicate(&request.predicate)?;
        let table_schema = self.state.meta.schema();
        let column_index: HashMap<&str, usize> = table_schema
            .fields()
            .iter()
            .enumerate()
            .map(|(index, field)| (field.name().as_str(), index))
            .collect();
        let limit = request.limit.unwrap_or(usize::MAX);
        let mut stats = ScanStats::default();
        let mut explain = ScanExplain::default();
        let (version, snapshot, generation) = self.pin();
        let (low_key, high_key) = self.scan_bounds(&request.predicate);

        // The live delta, newest version per key.
        let overlay = self.delta_overlay(
            &snapshot,
            self.live_generations(&version, generation),
            (&low_key, high_key.as_deref()),
            &mut stats,
        )?;
        explain.delta_rows = overlay.len() as u64;

        // Blocks the layout, the zone maps and the key range leave.
        let layout = &version.layout;
        explain.layout = version.layout_description.clone();
        let cell_count = layout.cell_count();
        explain.cells_total = u64::from(cell_count);
        let cells = layout.cells(&request.predicate);
        explain.cells_visited = cells
            .iter()
            .map(|range| u64::from(range.end().saturating_sub(*range.start())) + 1)
            .sum();
        stats.blocks_total = version.blocks.len() as u64;
        // Each block left, with the index into `narrowings` of each of its runs (`None`:
        // a cell the layout did not name; every run of an earlier layout's block).
        let mut candidates: Vec<(&Arc<BlockMeta>, Vec<Option<u32>>)> = Vec::new();
        // Per narrowing representative: the narrowed predicate and the key spans of its
        // filters on the sort column, which binary searches of sorted runs use.
        let sort_column = layout.sort_column();
        let sort_kind = sort_column.as_deref().and_then(|name| {
            let field = table_schema.field_with_name(name).ok()?;
            crate::columnar::logical_type_of(field.data_type()).map(|logical| logical.physical())
        });
        let with_spans = |predicate: Predicate| {
            let spans = match (&sort_column, sort_kind) {
                (Some(sort), Some(kind)) => predicate
                    .filters_on(sort)
                    .map(|filter| Span::of_filter(filter, kind))
                    .collect(),
                _ => Vec::new(),
            };
            (predicate, spans)
        };
        let narrow = |cell: u32| with_spans(layout.narrowing(&request.predicate, cell));
        // The narrowings, one per representative met, and which representative's each is:
        // few (a grid has two, a tree two per leaf), so a list, asked first for the last
        // one found. A representative outside the layout's cells gets the predicate as it
        // is (index 0), which is always safe.
        let mut narrowings: Vec<(Predicate, Vec<Span>)> =
            vec![with_spans(request.predicate.clone())];
        let mut narrowing_at: Vec<(u32, u32)> = Vec::new();
        let mut last_found = (u32::MAX, 0u32);
        for block in &version.blocks {
            let current = block.layout_version == version.layout_version;
            // A block's runs hold ascending cells, as the layout's ranges are: a block
            // whose cells lie between two ranges is passed over without a look at its runs;
            // the others' runs are walked from the first range that reaches them.
            let first_meeting = block
                .runs
                .first()
                .zip(block.runs.last())
                .filter(|_| current)
                .and_then(|(first, last)| first_range_meeting(&cells, first.cell..=last.cell));
            if current && first_meeting.is_none() {
                continue;
            }
            let keys_overlap = block.pk_max.as_slice() >= low_key.as_slice()
                && high_key
                    .as_deref()
                    .is_none_or(|high| block.pk_min.as_slice() < high);
            // Each visited run's narrowing, made at its representative's first run.
            let mut run_narrowings = vec![None; block.runs.len()];
            if current {
                // Which runs' cells the ranges name: both ascend, so one walk over each.
                let mut range_at = first_meeting.unwrap_or(cells.len());
                for (run, at) in block.runs.iter().zip(&mut run_narrowings) {
                    while cells
                        .get(range_at)
                        .is_some_and(|range| *range.end() < run.cell)
                    {
                        range_at += 1;
                    }
                    if cells
                        .get(range_at)
                        .is_none_or(|range| *range.start() > run.cell)
                    {
                        continue;
                    }
                    let representative = layout.narrowing_representative(run.cell);
                    if representative >= cell_count {
                        *at = Some(0);
                        continue;
                    }
                    if last_found.0 != representative {
                        let index =
                            match narrowing_at.iter().find(|(met, _)| *met == representative) {
                                Some(&(_, index)) => index,
                                None => {
                                    let index = narrowings.len() as u32;
                                    narrowings.push(narrow(representative));
                                    narrowing_at.push((representative, index));
                                    index
                                }
                            };
                        last_found = (representative, index);
                    }
                    *at = Some(last_found.1);
                }
                if run_narrowings.iter().all(Option::is_none) {
                    continue;
                }
            }
            explain.blocks_in_cells += 1;
            // The layout may know more about a cell's rows than the predicate says; a block
            // of several cells is pruned by the predicate alone.
            let pruning = match run_narrowings[..] {
                [Some(at)] => narrowings
                    .get(at as usize)
                    .map_or(&request.predicate, |(predicate, _)| predicate),
                _ => &request.predicate,
            };
            let zones_overlap = pruning.filters.iter().all(|filter| {
                let Some(&index) = column_index.get(filter.column.as_str()) else {
                    return true;
                };
                block.columns.get(index).is_none_or(|chunk| {
                    filter.may_match(
                        chunk.zone.as_ref().map(|(min, max)| (min, max)),
                        chunk.null_count as usize,
                        block.rows as usize,
                    )
                })
            });
            if keys_overlap && zones_overlap && block.live_rows() > 0 {
                candidates.push((block, run_narrowings));
            } else {
                explain.blocks_pruned += 1;
            }
        }
        explain.plan_micros = started.elapsed().as_micros() as u64;

        let key_indices = self.state.meta.key_indices().to_vec();
        let sort_index = sort_column
            .as_deref()
            .and_then(|name| column_index.get(name).copied());
        // Per filter: its bit in the layout's implied filters, its column, the filter.
        let filter_columns: Vec<(u64, usize, &ColumnFilter)> = request
            .predicate
            .filters
            .iter()
            .enumerate()
            .filter_map(|(position, filter)| {
                let bit = if position < 64 { 1u64 << position } else { 0 };
                Some((bit, *column_index.get(filter.column.as_str())?, filter))
            })
            .collect();
        let implied = layout.implied(&request.predicate);
        let sort_filters: Vec<&ColumnFilter> = sort_column
            .as_deref()
            .map(|sort| request.predicate.filters_on(sort).collect())
            .unwrap_or_default();
        let scan = BlockScan {
            layout_version: version.layout_version,
            narrowings: &narrowings,
            sort_column: sort_column.as_deref(),
            sort_index,
            sort_filters: &sort_filters,
            filter_columns: &filter_columns,
            implied: &implied,
            overlay: &overlay,
            key_indices: &key_indices,
            projection: &projection,
            schema: &schema,
        };
        let blocks_started = std::time::Instant::now();
        let mut matched = 0usize;
        let mut block_nanos = 0u64;
        let mut take_block = |scanned: BlockScanned, matched: &mut usize| -> Result<()> {
            stats.add_block(&scanned.stats);
            explain.add_block(&scanned.explain);
            block_nanos += scanned.nanos;
            if let Some(batch) = scanned.batch {
                *matched += batch.num_rows();
                sink(batch)?;
            }
            Ok(())
        };
        match self.db.scan_pool.as_ref() {
            // Without a limit, blocks are scanned on several threads and handed on in scan
            // order; no thread runs more than a window ahead of the blocks handed on.
            Some(pool) if request.limit.is_none() && candidates.len() > 1 => {
                self.scan_blocks_on(pool, &scan, &candidates, &mut |scanned| {
                    take_block(scanned, &mut matched)
                })?;
            }
            _ => {
                for (block, runs) in &candidates {
                    if matched >= limit {
                        break;
                    }
                    let scanned = self.scan_block(&scan, block, runs, limit - matched)?;
                    take_block(scanned, &mut matched)?;
                }
            }
        }
        explain.blocks_micros = blocks_started.elapsed().as_micros() as u64;
        explain.blocks_thread_micros = block_nanos / 1_000;

        // Then the delta rows.
        let delta_started = std::time::Instant::now();
        let mut builders = self.state.builders(&projection);
        let mut pending_rows = 0usize;
        for (key, value) in &overlay {
            if matched >= limit {
                break;
            }
            let Some(value) = value else { continue };
            let RowValue::Row(values) = self.decode(key, value)? else {
                continue;
            };
            stats.rows_scanned += 1;
            let matches = request.predicate.matches(|name| {
                column_index
                    .get(name)
                    .and_then(|&index| values.get(index))
                    .and_then(Option::as_ref)
            });
            if !matches {
                continue;
            }
            for (builder, &index) in builders.iter_mut().zip(&projection) {
                builder.push(values.get(index).and_then(Option::as_ref))?;
            }
            pending_rows += 1;
            matched += 1;
            if pending_rows == SCAN_BATCH_ROWS {
                sink(self.finish_batch(schema.clone(), &mut builders, pending_rows)?)?;
                pending_rows = 0;
            }
        }
        if pending_rows > 0 {
            sink(self.finish_batch(schema.clone(), &mut builders, pending_rows)?)?;
        }
        explain.delta_micros = delta_started.elapsed().as_micros() as u64;
        stats.rows_matched = matched as u64;
        span.record("rows_matched", stats.rows_matched);
        span.record("rows_scanned", stats.rows_scanned);
        span.record("blocks_scanned", stats.blocks_scanned);
        Ok((schema, stats, explain))
    }

    /// [`Self::scan_block`] of each of `blocks`, handed to `take` in their order, read by
    /// the calling thread and the pool's together. The pool's threads are woken once per
    /// scan, not once per window: waking a sleeping thread costs tens of microseconds on a
    /// virtual machine, and a window's end, where every thread met, left the caller waiting
    /// for the last block's thread each time. Each thread takes the next block not yet
    /// taken, but none more than a window past the first block not yet handed on, so a
    /// streaming caller holds back at most a window of batches. The caller hands on each
    /// block as soon as it is next in order, scans one itself while it may, and only then
    /// waits.
    fn scan_blocks_on(
        &self,
        pool: &rayon::ThreadPool,
        scan: &BlockScan<'_>,
        blocks: &[(&Arc<BlockMeta>, Vec<Option<u32>>)],
        take: &mut dyn FnMut(BlockScanned) -> Result<()>,
    ) -> Result<()> {
        let helpers = pool
            .current_num_threads()
            .min(blocks.len().saturating_sub(1));
        let window = (helpers + 1) * SCAN_WINDOW_PER_THREAD;
        let handoff = Handoff {
            state: Mutex::new(HandoffState {
                next: 0,
                handed_on: 0,
                stopped: false,
                done: blocks.iter().map(|_| None).collect(),
            }),
            changed: Condvar::new(),
        };
        // The next block to scan, unless the scan stopped, every block is taken, or the
        // next lies past the window.
        let claim = |state: &mut HandoffState| -> Option<usize> {
            let index = state.next;
            let open = !state.stopped && index < blocks.len() && index < state.handed_on + window;
            open.then(|| {
                state.next += 1;
                index
            })
        };
        // Scans block `index` with the lock released and files the result; a failure
        // stops the others from taking more. A panic is filed as a failure too: the caller
        // waits for every block in order, and would wait forever for one never filed.
        let scan_one = |state: &mut MutexGuard<'_, HandoffState>, index: usize| {
            let scanned = MutexGuard::unlocked(state, || {
                let scan_block = || match blocks.get(index) {
                    Some((block, runs)) => self.scan_block(scan, block, runs, usize::MAX),
                    None => Err(Error::Thread {
                        what: "scanning blocks",
                        source: std::io::Error::other(format!("block {index} of {}", blocks.len())),
                    }),
                };
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(scan_block)).unwrap_or_else(
                    |_| {
                        Err(Error::Thread {
                            what: "scanning blocks",
                            source: std::io::Error::other(format!(
                                "the thread scanning block {index} panicked"
                            )),
                        })
                    },
                )
            });
            state.stopped |= scanned.is_err();
            if let Some(slot) = state.done.get_mut(index) {
                *slot = Some(scanned);
            }
            handoff.changed.notify_all();
        };
        let helper = || {
            let mut state = handoff.state.lock();
            while !state.stopped && state.next < blocks.len() {
                match claim(&mut state) {
                    Some(index) => scan_one(&mut state, index),
                    None => handoff.changed.wait(&mut state),
                }
            }
        };
        let caller = |take: &mut dyn FnMut(BlockScanned) -> Result<()>| -> Result<()> {
            let mut state = handoff.state.lock();
            loop {
                let head = state.handed_on;
                if head >= blocks.len() {
                    return Ok(());
                }
                if let Some(scanned) = state.done.get_mut(head).and_then(Option::take) {
                    state.handed_on += 1;
                    // A helper may be waiting for the window to move.
                    handoff.changed.notify_all();
                    let scanned = scanned?;
                    MutexGuard::unlocked(&mut state, || take(scanned))?;
                } else if let Some(index) = claim(&mut state) {
                    scan_one(&mut state, index);
                } else if state.next <= head {
                    // Nothing scans the next block and nothing will: the scan stopped.
                    return Err(Error::Thread {
                        what: "scanning blocks",
                        source: std::io::Error::other(format!(
                            "{} of {} blocks were not read",
                            blocks.len() - head,
                            blocks.len()
                        )),
                    });
                } else {
                    handoff.changed.wait(&mut state);
                }
            }
        };
        pool.in_place_scope(|scope| {
            for _ in 0..helpers {
                scope.spawn(|_| helper());
            }
            // However the caller leaves (done, failed, or unwinding from `take`), the
            // helpers stop and are woken, so the scope's end never waits on one forever.
            let _stop = StopOnDrop(&handoff);
            caller(take)
        })
    }

    /// Scans one block the planner left: narrows its visited runs, runs the filters its
    /// zone maps do not settle, drops deleted rows and rows delta replaces, and returns at
    /// most `wanted` of the rows left, projected, with what the scan of this block did.
    fn scan_block(
        &self,
        scan: &BlockScan<'_>,
        block: &BlockMeta,
        run_narrowings: &[Option<u32>],
        wanted: usize,
    ) -> Result<BlockScanned> {
        let started = std::time::Instant::now();
        let mut stats = ScanStats {
            blocks_scanned: 1,
            ..ScanStats::default()
        };
        let mut explain = ScanExplain::default();
        let rows = block.rows as usize;
        // Chunks this block already read: the projection reuses the filters' columns.
        let mut fetched: Vec<(usize, Arc<Chunk>)> = Vec::new();
        let mut read_column = |index: usize, stats: &mut ScanStats| -> Result<Arc<Chunk>> {
            if let Some((_, column)) = fetched.iter().find(|(read, _)| *read == index) {
                return Ok(Arc::clone(column));
            }
            if let Some(chunk) = block.columns.get(index) {
                stats.bytes_read += chunk.bytes;
                match explain.encodings_read.get_mut(&chunk.encoding) {
                    Some(chunks) => *chunks += 1,
                    None => {
                        explain.encodings_read.insert(chunk.encoding.clone(), 1);
                    }
                }
            }
            let (column, decoded) = fetch_chunk(&self.db, &self.state, block, index)?;
            stats.chunks_decoded += u64::from(decoded);
            fetched.push((index, Arc::clone(&column)));
            Ok(column)
        };
        // The rows of the visited cells' runs, each narrowed by the filters on the sort
        // column: by the block's position model when it holds one run, else by a binary
        // search of the run (which reads the sort column, as its filter would; the
        // layout contract has every cell sorted by it). A block of one run without a
        // usable model (its fit found the rows unsorted) is not narrowed, nor is a block
        // of an earlier layout, not yet rewritten, which that layout's column sorts.
        let current = block.layout_version == scan.layout_version;
        let sort_column = scan.sort_column.filter(|_| current);
        let model = match (&block.runs[..], sort_column) {
            ([_], Some(_)) if !block.position.is_empty() => {
                tessera_layout::PositionModel::decode(&block.position)
                    .ok()
                    .filter(|model| model.rows() as usize == rows)
            }
            _ => None,
        };
        // Whether the binary searches leave only rows that pass the query's filters on
        // the sort column, which then need not run again: each such filter is one range,
        // and the first and last row of every narrowed run pass it with an exact key
        // (an integer within 2^52), so the sorted rows between them pass too.
        let sort_filters = if sort_column.is_some() {
            scan.sort_filters
        } else {
            &[]
        };
        let mut sort_exact = model.is_none()
            && scan.sort_index.is_some()
            && block.runs.len() > 1
            && !sort_filters.is_empty()
            && sort_filters
                .iter()
                .all(|filter| matches!(filter.terms[..], [Term::Range(_)]));
        // The sort column, read when some visited run of a block of several is searched
        // on it: once for the block, not once a run. Runs searched one after another
        // each wait on memory for their first reads; those reads are issued for all of
        // the block's runs first, to overlap.
        let mut sorted_by: Option<Arc<Chunk>> = None;
        if let (Some(_), None, Some(index)) = (sort_column, &model, scan.sort_index)
            && block.runs.len() > 1
        {
            let runs: Vec<(std::ops::Range<u32>, &Span)> = block
                .cell_runs()
                .zip(run_narrowings)
                .filter_map(|((_, run), at)| {
                    let (_, spans) = scan.narrowings.get((*at)? as usize)?;
                    Some((run.start as u32..run.end.min(rows) as u32, spans.first()?))
                })
                .collect();
            if !runs.is_empty() {
                let chunk = read_column(index, &mut stats)?;
                match chunk.sorted_ints() {
                    Some(ints) => tessera_layout::prefetch_sorted_ints(ints, &runs),
                    None => tessera_layout::prefetch_sorted_spans(&chunk.column, &runs),
                }
                sorted_by = Some(chunk);
            }
        }
        let sorted_ints = sorted_by.as_deref().and_then(Chunk::sorted_ints);
        // The sort column's value at a row, for the exactness check below.
        let sort_value = |row: usize| match (sorted_ints, sorted_by.as_deref()) {
            (Some(ints), _) => ints.value(row),
            (None, Some(chunk)) => match value_at(&chunk.column, row) {
                Some(ValueRef::Int(value)) => Some(value),
                _ => None,
            },
            (None, None) => None,
        };
        let mut ranges: Vec<std::ops::Range<usize>> = Vec::with_capacity(block.runs.len());
        // Per range: the filters its cell's partition implies, which need not run on it.
        let mut ranges_implied: Vec<u64> = Vec::with_capacity(block.runs.len());
        for ((cell, run), at) in block.cell_runs().zip(run_narrowings) {
            let (mut first, mut past) = (run.start, run.end.min(rows));
            if !current {
                if first < past {
                    ranges.push(first..past);
                    ranges_implied.push(0);
                }
                continue;
            }
            let Some((pruning, spans)) = at.and_then(|at| scan.narrowings.get(at as usize)) else {
                continue;
            };
            // Narrowed by the block's position model, or by a search of the run for each
            // of its narrowing's spans (one per filter on the sort column); the sort
            // column is read only for blocks without a model.
            match (&model, sort_column, &sorted_by) {
                (Some(model), Some(sort_column), _) => {
                    for filter in pruning.filters_on(sort_column) {
                        let range = model.narrow(filter);
                        first = first.max(range.start as usize);
                        past = past.min(range.end as usize);
                    }
                }
                (_, _, Some(sorted_by)) => {
                    for span in spans {
                        let rows = first as u32..past as u32;
                        let range = match sorted_ints {
                            Some(ints) => tessera_layout::narrow_sorted_ints(ints, rows, span),
                            None => {
                                tessera_layout::narrow_sorted_span(&sorted_by.column, rows, span)
                            }
                        };
                        first = first.max(range.start as usize);
                        past = past.min(range.end as usize);
                    }
                }
                _ => {}
            }
            if first < past {
                ranges_implied.push(scan.implied.of_cell(cell));
                if sort_exact {
                    // A run the sort column was not read for was not searched: its rows
                    // are not known to pass.
                    let passes = |row: usize| match sort_value(row) {
                        Some(value) if value.unsigned_abs() <= EXACT_KEY_MAX => {
                            let value = Scalar::Int(value);
                            sort_filters
                                .iter()
                                .all(|filter| filter.matches(Some(&value)))
                        }
                        _ => false,
                    };
                    sort_exact = passes(first) && passes(past - 1);
                }
                ranges.push(first..past);
            }
        }
        let mut selection = Selection::ranges(&ranges);
        if let (Some(first), Some(last)) = (ranges.first(), ranges.last()) {
            for row in block.deleted.range(first.start as u32..last.end as u32) {
                selection.deselect(row as usize);
            }
        }
        // The filters the layout implies for every range left: they need not run.
        let implied_everywhere = ranges_implied.iter().fold(u64::MAX, |all, &of| all & of);
        let mut left = selection.count();
        let block_scanned = left as u64;
        stats.rows_scanned += block_scanned;
        // Filters the block's zone maps prove for all its rows are skipped; the rest run
        // from the one estimated to keep the fewest rows, so later ones see fewer.
        let mut filters: Vec<(f64, u64, usize, &ColumnFilter)> = Vec::new();
        for &(bit, index, filter) in scan.filter_columns {
            if (sort_exact && Some(index) == scan.sort_index) || bit & implied_everywhere != 0 {
                explain.filters_skipped += 1;
                continue;
            }
            let zone = block.columns.get(index).map(|chunk| {
                (
                    chunk.zone.as_ref().map(|(min, max)| (min, max)),
                    chunk.null_count as usize,
                )
            });
            match zone {
                Some((min_max, nulls)) if filter.covers(min_max, nulls, rows) => {
                    explain.filters_skipped += 1;
                }
                _ => filters.push((
                    zone.map_or(1.0, |(min_max, _)| kept_share(filter, min_max)),
                    bit,
                    index,
                    filter,
                )),
            }
        }
        filters.sort_by(|a, b| a.0.total_cmp(&b.0));
        for (_, bit, index, filter) in filters {
            if left == 0 {
                break;
            }
            let chunk = read_column(index, &mut stats)?;
            // Ranges of cells whose partition implies the filter keep their rows.
            let implied_in =
                |range: usize| ranges_implied.get(range).is_some_and(|&of| of & bit != 0);
            let read = apply_filter(
                &chunk.column,
                chunk.offsets.as_ref(),
                chunk.codes.as_ref(),
                filter,
                &mut selection,
                &implied_in,
            );
            explain.filters_run += 1;
            match read {
                FilterRead::Offsets => explain.filters_on_offsets += 1,
                FilterRead::Codes => explain.filters_on_codes += 1,
                FilterRead::Values => {}
            }
            left = selection.settle();
        }
        if !scan.overlay.is_empty() {
            let key_columns = scan
                .key_indices
                .iter()
                .map(|&index| Ok(Arc::clone(&read_column(index, &mut stats)?.column)))
                .collect::<Result<Vec<_>>>()?;
            let mut key = Vec::new();
            selection.try_retain(|row| {
                key.clear();
                for column in &key_columns {
                    if let Some(value) = value_at(column, row) {
                        encode_key_value(column.logical(), value, &mut key)?;
                    }
                }
                Ok(!scan.overlay.contains_key(&key))
            })?;
        }
        // Checked once against the block's rows, which every chunk of it holds: by its
        // ranges when the selection is dense, else by its last row (a selection lists
        // its rows ascending); the limit left cuts either.
        let rows_selected: Vec<u32>;
        let picked = match selection.into_chosen() {
            Chosen::Ranges(mut ranges) => {
                // The limit keeps the first rows: later ranges shrink, to nothing.
                let mut left = wanted;
                for range in &mut ranges {
                    let kept = range.len().min(left);
                    range.end = range.start + kept;
                    left -= kept;
                }
                Picked::ranges(ranges, rows)?
            }
            Chosen::Rows(mut listed) => {
                listed.truncate(wanted);
                rows_selected = listed;
                Picked::ascending(&rows_selected, rows)?
            }
        };
        let picked_rows = picked.len();
        if picked_rows == 0 {
            explain.blocks_unmatched += 1;
            explain.rows_scanned_unmatched += block_scanned;
            return Ok(BlockScanned {
                batch: None,
                stats,
                explain,
                nanos: started.elapsed().as_nanos() as u64,
            });
        }
        let mut arrays: Vec<ArrayRef> = Vec::with_capacity(scan.projection.len());
        for &index in scan.projection {
            let chunk = read_column(index, &mut stats)?;
            let field = self
                .state
                .meta
                .schema()
                .fields()
                .get(index)
                .ok_or_else(|| self.gone())?;
            arrays.push(if picked_rows == rows {
                column_to_array(&chunk.column, field.data_type())?
            } else {
                picked_to_array(
                    &chunk.column,
                    chunk.offsets.as_ref(),
                    &picked,
                    field.data_type(),
                )?
            });
        }
        let options = RecordBatchOptions::new().with_row_count(Some(picked_rows));
        let batch = RecordBatch::try_new_with_options(scan.schema.clone(), arrays, &options)?;
        Ok(BlockScanned {
            batch: Some(batch),
            stats,
            explain,
            nanos: started.elapsed().as_nanos() as u64,
        })
    }

    /// The newest version of every key in the given delta generations whose primary key is
    /// in `[low, high)` (`high` `None`: unbounded), read at `snapshot`.
    fn delta_overlay(
        &self,
        snapshot: &SnapshotWithThreadMode<'_, DB>,
        generations: impl Iterator<Item = u32>,
        (low, high): (&[u8], Option<&[u8]>),
        stats: &mut ScanStats,
    ) -> Result<DeltaOverlay> {
        let table_id = self.state.meta.id();
        let delta = self.db.cf(CF_DELTA)?;
        let prefix_bytes = TABLE_ID_BYTES + GENERATION_BYTES;
        let mut overlay = DeltaOverlay::new();
        let tombstone = encode_tombstone();
        for generation in generations {
            let prefix = delta_prefix(table_id, generation);
            let mut lower = prefix.to_vec();
            lower.extend_from_slice(low);
            let upper = match high {
                Some(high) => {
                    let mut upper = prefix.to_vec();
                    upper.extend_from_slice(high);
                    upper
                }
                None => match generation.checked_add(1) {
                    Some(next) => delta_prefix(table_id, next).to_vec(),
                    None => table_range(table_id).1,
                },
            };
            let mut options = ReadOptions::default();
            options.set_iterate_lower_bound(lower);
            options.set_iterate_upper_bound(upper);
            let mut iterator = snapshot.raw_iterator_cf_opt(delta, options);
            iterator.seek_to_first();
            while let Some((key, value)) = iterator.item() {
                stats.bytes_read += (key.len() + value.len()) as u64;
                let primary_key = key
                    .get(prefix_bytes..key.len().saturating_sub(SEQUENCE_BYTES))
                    .ok_or_else(|| Error::Corrupt {
                        what: format!("key of table {:?}", self.name()),
                        key: hex(key),
                        reason: "too short for a delta key".to_owned(),
                    })?;
                let row = (value != tombstone.as_slice()).then(|| value.to_vec());
                match overlay.get_mut(primary_key) {
                    Some(slot) => *slot = row,
                    None => {
                        overlay.insert(primary_key.to_vec(), row);
                    }
                }
                iterator.next();
            }
            iterator
                .status()
                .map_err(storage(format!("scanning table {:?}", self.name())))?;
        }
        Ok(overlay)
    }

    /// Validates a batch against the table and converts its columns: every batch column
    /// must be a table column of the same type, named once; with `all`, every table column
    /// must be there, else every key column. Returns one entry per table column, in table
    /// order (`None` for columns the batch lacks).
    fn columns_of(&self, batch: &RecordBatch, all: bool) -> Result<Vec<Option<Column>>> {
        let schema = self.state.meta.schema();
        let mut columns: Vec<Option<Column>> = vec![None; schema.fields().len()];
        for (field, array) in batch.schema().fields().iter().zip(batch.columns()) {
            let (index, table_field) =
                schema
                    .column_with_name(field.name())
                    .ok_or_else(|| Error::UnknownColumn {
                        table: self.table(),
                        column: field.name().clone(),
                    })?;
            if table_field.data_type() != array.data_type() {
                return Err(Error::ColumnTypeMismatch {
                    table: self.table(),
                    column: field.name().clone(),
                    expected: table_field.data_type().to_string(),
                    actual: array.data_type().to_string(),
                });
            }
            let slot = columns.get_mut(index).ok_or_else(|| Error::UnknownColumn {
                table: self.table(),
                column: field.name().clone(),
            })?;
            if slot.is_some() {
                return Err(Error::DuplicateColumn {
                    table: self.table(),
                    column: field.name().clone(),
                });
            }
            *slot = Some(column_from_array(field.name(), array.as_ref())?);
        }
        for (index, field) in schema.fields().iter().enumerate() {
            let needed = all || self.state.meta.key_indices().contains(&index);
            if needed && columns.get(index).is_none_or(Option::is_none) {
                return Err(Error::MissingColumn {
                    table: self.table(),
                    column: field.name().clone(),
                });
            }
        }
        Ok(columns)
    }

    /// The encoded primary key of every row (no table id, no sequence).
    fn encode_keys(&self, columns: &[Column], rows: usize) -> Result<Vec<Vec<u8>>> {
        let key_columns: Vec<Option<&Column>> = self
            .state
            .meta
            .key_indices()
            .iter()
            .map(|&index| columns.get(index))
            .collect();
        self.encode_key_columns(&key_columns, rows)
    }

    /// [`Self::encode_keys`] over the sparse columns of [`Self::columns_of`].
    fn encode_keys_sparse(&self, columns: &[Option<Column>], rows: usize) -> Result<Vec<Vec<u8>>> {
        let key_columns: Vec<Option<&Column>> = self
            .state
            .meta
            .key_indices()
            .iter()
            .map(|&index| columns.get(index).and_then(Option::as_ref))
            .collect();
        self.encode_key_columns(&key_columns, rows)
    }

    fn encode_key_columns(
        &self,
        key_columns: &[Option<&Column>],
        rows: usize,
    ) -> Result<Vec<Vec<u8>>> {
        let schema = self.state.meta.schema();
        let mut keys = Vec::with_capacity(rows);
        for row in 0..rows {
            let mut key = Vec::new();
            for (&index, column) in self.state.meta.key_indices().iter().zip(key_columns) {
                let name = schema
                    .fields()
                    .get(index)
                    .map(|field| field.name().as_str())
                    .unwrap_or_default();
                let column = column.ok_or_else(|| Error::MissingColumn {
                    table: self.table(),
                    column: name.to_owned(),
                })?;
                let value = value_at(column, row).ok_or_else(|| Error::NullKey {
                    table: self.table(),
                    column: name.to_owned(),
                    row,
                })?;
                encode_key_value(column.logical(), value, &mut key)?;
            }
            keys.push(key);
        }
        Ok(keys)
    }

    fn decode(&self, key: &[u8], value: &[u8]) -> Result<RowValue> {
        decode_row(value, &self.state.kinds).map_err(|reason| Error::Corrupt {
            what: format!("row of table {:?}", self.name()),
            key: hex(key),
            reason,
        })
    }

    fn projection(&self, names: Option<&[String]>) -> Result<Vec<usize>> {
        let schema = self.state.meta.schema();
        let Some(names) = names else {
            return Ok((0..schema.fields().len()).collect());
        };
        let mut indices = Vec::with_capacity(names.len());
        for name in names {
            let index = schema.index_of(name).map_err(|_| Error::UnknownColumn {
                table: self.table(),
                column: name.clone(),
            })?;
            if indices.contains(&index) {
                return Err(Error::DuplicateColumn {
                    table: self.table(),
                    column: name.clone(),
                });
            }
            indices.push(index);
        }
        Ok(indices)
    }

    /// Every filter names a column of the table and compares it with values of its kind.
    fn check_predicate(&self, predicate: &Predicate) -> Result<()> {
        let schema = self.state.meta.schema();
        for filter in &predicate.filters {
            let index = schema
                .index_of(&filter.column)
                .map_err(|_| Error::UnknownColumn {
                    table: self.table(),
                    column: filter.column.clone(),
                })?;
            let expected = self.state.kinds.get(index).copied();
            for term in &filter.terms {
                let Term::Range(range) = term else { continue };
                for bound in [&range.low, &range.high] {
                    let value = match bound {
                        Bound::Included(value) | Bound::Excluded(value) => value,
                        Bound::Unbounded => continue,
                    };
                    let actual = value.kind();
                    if Some(actual) != expected {
                        return Err(Error::PredicateTypeMismatch {
                            table: self.table(),
                            column: filter.column.clone(),
                            expected: format!("{expected:?}"),
                            actual: format!("{actual:?}"),
                        });
                    }
                }
            }
        }
        Ok(())
    }

    /// The primary key range `[low, high)` a scan must read (`high` `None`: unbounded),
    /// narrowed by the filters on the first primary key column (keys are sorted by it, so its
    /// ranges are key ranges). Each filter narrows to the hull of its terms; a bound that does
    /// not encode as a key of the column (out of the type's range) leaves that side open,
    /// which only reads more.
    fn scan_bounds(&self, predicate: &Predicate) -> (Vec<u8>, Option<Vec<u8>>) {
        let mut lower: Vec<u8> = Vec::new();
        let mut upper: Option<Vec<u8>> = None;
        let first = self.state.meta.key_indices().first().copied();
        let (Some(field), Some(logical)) = (
            first.and_then(|index| self.state.meta.schema().fields().get(index)),
            first.and_then(|index| self.state.logical_types.get(index)),
        ) else {
            return (lower, upper);
        };
        let encode = |value: &Scalar| -> Option<Vec<u8>> {
            let mut key = Vec::new();
            encode_key_value(logical, ValueRef::from_scalar(value), &mut key).ok()?;
            Some(key)
        };
        // `None` as an upper bound is +infinity.
        let min_upper = |a: Option<Vec<u8>>, b: Option<Vec<u8>>| match (a, b) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, None) => a,
            (None, b) => b,
        };
        let max_upper = |a: Option<Vec<u8>>, b: Option<Vec<u8>>| match (a, b) {
            (Some(a), Some(b)) => Some(a.max(b)),
            _ => None,
        };
        for filter in predicate.filters_on(field.name()) {
            let mut hull: Option<(Vec<u8>, Option<Vec<u8>>)> = None;
            for term in &filter.terms {
                let (low, high) = match term {
                    // Key columns hold no nulls.
                    Term::IsNull => continue,
                    Term::IsNotNull => (Vec::new(), None),
                    Term::Range(range) => {
                        let low = match &range.low {
                            Bound::Included(value) => encode(value),
                            Bound::Excluded(value) => encode(value).and_then(successor),
                            Bound::Unbounded => None,
                        };
                        let high = match &range.high {
                            Bound::Included(value) => encode(value).and_then(successor),
                            Bound::Excluded(value) => encode(value),
                            Bound::Unbounded => None,
                        };
                        (low.unwrap_or_default(), high)
                    }
                };
                hull = Some(match hull {
                    None => (low, high),
                    Some((hull_low, hull_high)) => (hull_low.min(low), max_upper(hull_high, high)),
                });
            }
            // A filter no key can satisfy leaves an empty range.
            let (low, high) = hull.unwrap_or_else(|| (Vec::new(), Some(Vec::new())));
            lower = lower.max(low);
            upper = min_upper(upper, high);
        }
        if let Some(high) = &upper
            && *high < lower
        {
            upper = Some(lower.clone());
        }
        (lower, upper)
    }

    fn finish_batch(
        &self,
        schema: SchemaRef,
        builders: &mut [ColumnBuilder],
        rows: usize,
    ) -> Result<RecordBatch> {
        let arrays = builders
            .iter_mut()
            .map(ColumnBuilder::finish)
            .collect::<Result<Vec<ArrayRef>>>()?;
        let options = RecordBatchOptions::new().with_row_count(Some(rows));
        Ok(RecordBatch::try_new_with_options(schema, arrays, &options)?)
    }
}

/// Blocks a parallel scan's threads may run ahead of the first block not yet handed on,
/// per thread: enough that a slow block rarely leaves a thread waiting, few enough that
/// the batches held back for ordering stay a handful per thread.
const SCAN_WINDOW_PER_THREAD: usize = 4;

/// The blocks of one parallel scan, shared by its threads (`Table::scan_blocks_on`).
struct Handoff {
    state: Mutex<HandoffState>,
    /// Signalled when a block is filed or handed on, and when the scan stops.
    changed: Condvar,
}

struct HandoffState {
    /// The next block no thread has taken.
    next: usize,
    /// Blocks handed on, in order.
    handed_on: usize,
    /// Set when a block failed or the caller left: no thread takes another block.
    stopped: bool,
    /// Per block: its result, filed until handed on.
    done: Vec<Option<Result<BlockScanned>>>,
}

/// Stops a parallel scan and wakes its waiting threads when dropped.
struct StopOnDrop<'a>(&'a Handoff);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.state.lock().stopped = true;
        self.0.changed.notify_all();
    }
}

/// What every block of one scan shares: the plan, read-only, so blocks can be scanned on
/// several threads.
struct BlockScan<'a> {
    /// The layout version current when the scan began; blocks of another are read whole.
    layout_version: u32,
    /// Per narrowing representative: the narrowed predicate and the spans of its filters on
    /// the sort column.
    narrowings: &'a [(Predicate, Vec<Span>)],
    /// The layout's sort column and its index in the table's schema.
    sort_column: Option<&'a str>,
    sort_index: Option<usize>,
    /// The scan's filters on the sort column.
    sort_filters: &'a [&'a ColumnFilter],
    /// Per filter: its bit in the layout's implied filters, its column, the filter.
    filter_columns: &'a [(u64, usize, &'a ColumnFilter)],
    /// The filters each cell's partition implies.
    implied: &'a tessera_layout::Implied,
    /// The live delta rows, which replace block rows of the same key.
    overlay: &'a DeltaOverlay,
    /// The primary key's columns.
    key_indices: &'a [usize],
    /// The columns returned, and their schema.
    projection: &'a [usize],
    schema: &'a SchemaRef,
}

/// One block's part of a scan: its rows, if any are left, and what scanning it did.
struct BlockScanned {
    batch: Option<RecordBatch>,
    stats: ScanStats,
    explain: ScanExplain,
    /// How long the block took its thread.
    nanos: u64,
}

impl ScanStats {
    /// Adds the counts of one block's scan.
    fn add_block(&mut self, block: &ScanStats) {
        self.rows_scanned += block.rows_scanned;
        self.blocks_scanned += block.blocks_scanned;
        self.bytes_read += block.bytes_read;
        self.chunks_decoded += block.chunks_decoded;
    }
}

impl ScanExplain {
    /// Adds the counts of one block's scan.
    fn add_block(&mut self, block: &ScanExplain) {
        self.filters_skipped += block.filters_skipped;
        self.filters_run += block.filters_run;
        self.filters_on_offsets += block.filters_on_offsets;
        self.filters_on_codes += block.filters_on_codes;
        self.blocks_unmatched += block.blocks_unmatched;
        self.rows_scanned_unmatched += block.rows_scanned_unmatched;
        for (encoding, chunks) in &block.encodings_read {
            *self.encodings_read.entry(encoding.clone()).or_default() += chunks;
        }
    }
}

/// The index of the first of the ascending, disjoint `cells` ranges that meets `span`, if
/// any does.
fn first_range_meeting(
    cells: &[std::ops::RangeInclusive<u32>],
    span: std::ops::RangeInclusive<u32>,
) -> Option<usize> {
    let next = cells.partition_point(|range| range.end() < span.start());
    cells
        .get(next)
        .is_some_and(|range| range.start() <= span.end())
        .then_some(next)
}

fn first_null(column: &Column) -> Option<usize> {
    column.validity()?.iter().position(|&valid| !valid)
}

/// Largest magnitude of an integer whose layout key (an `f64`) is exact, with a bit to spare.
const EXACT_KEY_MAX: u64 = 1 << 52;

/// Reads and decodes one column chunk of a block, through the chunk cache.
pub(crate) fn read_chunk(
    db: &DbInner,
    state: &TableState,
    block: &BlockMeta,
    column: usize,
) -> Result<Arc<Column>> {
    fetch_chunk(db, state, block, column).map(|(chunk, _)| Arc::clone(&chunk.column))
}

/// [`read_chunk`], and whether the chunk had to be read from storage and decoded.
fn fetch_chunk(
    db: &DbInner,
    state: &TableState,
    block: &BlockMeta,
    column: usize,
) -> Result<(Arc<Chunk>, bool)> {
    let id = (state.meta.id(), block.id, column as u16);
    if let Some(cached) = db.cache.get(id) {
        return Ok((cached, false));
    }
    let corrupt = chunk_corruption(state, block, column);
    let bytes = chunk_bytes(db, state, block, column)?;
    let decoded = decode_block(&bytes).map_err(|error| corrupt(error.to_string()))?;
    if decoded.len() != block.rows as usize {
        return Err(corrupt(format!(
            "{} rows, the meta says {}",
            decoded.len(),
            block.rows
        )));
    }
    let decoded = Arc::new(Chunk::new(decoded));
    db.cache.insert(id, Arc::clone(&decoded));
    Ok((decoded, true))
}

/// Row `row` of one column chunk of a block, as a one-row column: from the cache when it
/// holds the chunk; else decoded alone from the stored chunk, unless a point read missed the
/// chunk lately, which then decodes and caches it whole ([`crate::cache::ColumnCache::missed_before`]).
fn chunk_row(
    db: &DbInner,
    state: &TableState,
    block: &BlockMeta,
    column: usize,
    row: u32,
) -> Result<Column> {
    let id = (state.meta.id(), block.id, column as u16);
    let whole = match db.cache.get(id) {
        Some(cached) => Some(Arc::clone(&cached.column)),
        None if db.cache.missed_before(id) => Some(read_chunk(db, state, block, column)?),
        None => None,
    };
    if let Some(whole) = whole {
        return take(&whole, &[row]);
    }
    let bytes = chunk_bytes(db, state, block, column)?;
    decode_block_row(&bytes, row as usize)
        .map_err(|error| chunk_corruption(state, block, column)(error.to_string()))
}

/// The error for a damaged chunk of `block`, given why.
fn chunk_corruption(
    state: &TableState,
    block: &BlockMeta,
    column: usize,
) -> impl Fn(String) -> Error {
    let table = state.meta.name().to_owned();
    let name = state
        .meta
        .schema()
        .fields()
        .get(column)
        .map(|field| field.name().clone())
        .unwrap_or_default();
    let block = block.id;
    move |reason| Error::CorruptBlock {
        table: table.clone(),
        block,
        column: name.clone(),
        reason,
    }
}

/// The stored bytes of one column chunk of a block, checked against the block meta's length
/// and copy of the chunk's trailer: a chunk that is well formed but not the one the meta
/// describes fails here. The bytes are checksummed once, by decoding, against the trailer. A
/// meta written before format 3 holds [`CHUNK_CRC_RESIDUE`] instead, and binds nothing.
fn chunk_bytes<'db>(
    db: &'db DbInner,
    state: &TableState,
    block: &BlockMeta,
    column: usize,
) -> Result<rocksdb::DBPinnableSlice<'db>> {
    let corrupt = chunk_corruption(state, block, column);
    let meta = block
        .columns
        .get(column)
        .ok_or_else(|| corrupt("the block meta has no entry for the column".to_owned()))?;
    let key = chunk_key(
        &block_key(state.meta.id(), block.layout_version, block.cell, block.id),
        column as u16,
    );
    let bytes = db
        .rocks
        .get_pinned_cf(db.cf(CF_BLOCKS)?, &key)
        .map_err(storage(format!(
            "reading a block of table {:?}",
            state.meta.name()
        )))?
        .ok_or_else(|| corrupt("the chunk is missing".to_owned()))?;
    if bytes.len() as u64 != meta.bytes {
        return Err(corrupt(format!(
            "{} bytes, the meta says {}",
            bytes.len(),
            meta.bytes
        )));
    }
    let trailer = bytes
        .last_chunk::<4>()
        .map(|last| u32::from_le_bytes(*last));
    if meta.trailer != CHUNK_CRC_RESIDUE && trailer != Some(meta.trailer) {
        return Err(corrupt(format!(
            "the chunk's trailer {:08x} is not the meta's {:08x}: the chunk is not the one \
             the meta describes",
            trailer.unwrap_or_default(),
            meta.trailer
        )));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::first_range_meeting;

    /// Against a flag per cell: every set of cells in 0..8, as the ascending disjoint ranges
    /// of its runs of consecutive cells, and every span within 0..10.
    #[test]
    fn the_first_range_meeting_a_span_is_found_exactly_when_a_cell_of_it_is_named() {
        for set in 0u32..256 {
            let named = |cell: u32| cell < 8 && set & (1 << cell) != 0;
            let mut ranges = Vec::new();
            let mut cell = 0;
            while cell < 8 {
                if named(cell) {
                    let start = cell;
                    while named(cell + 1) {
                        cell += 1;
                    }
                    ranges.push(start..=cell);
                }
                cell += 1;
            }
            for first in 0..10 {
                for last in first..10 {
                    assert_eq!(
                        first_range_meeting(&ranges, first..=last).is_some(),
                        (first..=last).any(named),
                        "{ranges:?} against {first}..={last}"
                    );
                    assert_eq!(
                        first_range_meeting(&ranges, first..=last),
                        ranges
                            .iter()
                            .position(|range| { range.start() <= &last && range.end() >= &first }),
                        "{ranges:?} against {first}..={last}"
                    );
                }
            }
        }
    }
}
