//! Tables: the write path (insert, upsert, delete into `delta`) and the read path (point
//! reads and scans over `delta`, newest version per key, tombstones hiding rows).
//!
//! Every write is one RocksDB `WriteBatch` into `delta`, so a batch is applied whole or not
//! at all and is visible to the next read once acknowledged. All validation (schema, types,
//! nulls in key columns, key encoding) happens before the batch is built, so a rejected
//! write changes nothing. Each row version is keyed table id ‖ primary key ‖ sequence; the
//! versions of a key are adjacent, oldest first, and readers keep the last one.

use std::collections::HashMap;
use std::ops::Bound;
use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch, RecordBatchOptions};
use arrow::datatypes::{Schema, SchemaRef};
use parking_lot::RwLock;
use rocksdb::{ReadOptions, WriteBatch};
use tessera_codecs::{Column, LogicalType, PhysicalKind};
use tessera_layout::{Predicate, Scalar, Term};

use crate::catalog::TableMeta;
use crate::columnar::column_from_array;
use crate::db::{CF_DELTA, DbInner, storage};
use crate::error::{Error, Result};
use crate::keys::{
    SEQUENCE_BYTES, ValueRef, encode_key_value, hex, split_delta_key, table_prefix, table_range,
};
use crate::row::{ColumnBuilder, RowValue, decode_row, encode_row, encode_tombstone, value_at};

/// Rows per batch a scan returns at most.
pub const SCAN_BATCH_ROWS: usize = 8_192;

/// A table's definition and what is derived from it, shared by every handle.
pub(crate) struct TableState {
    pub(crate) meta: TableMeta,
    logical_types: Vec<LogicalType>,
    kinds: Vec<PhysicalKind>,
    /// Set when the table is dropped; writers hold the read side while they write, so a drop
    /// waits for writes in flight and none lands after it.
    pub(crate) dropped: RwLock<bool>,
}

impl TableState {
    pub(crate) fn new(meta: TableMeta) -> Self {
        let logical_types = meta.logical_types();
        let kinds = logical_types.iter().map(LogicalType::physical).collect();
        Self {
            meta,
            logical_types,
            kinds,
            dropped: RwLock::new(false),
        }
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
    /// Live rows the predicate was evaluated on.
    pub rows_scanned: u64,
    /// Encoded blocks read (none until compaction writes blocks).
    pub blocks_scanned: u64,
    /// Encoded blocks of the table.
    pub blocks_total: u64,
    /// Key and value bytes read from storage.
    pub bytes_read: u64,
}

/// A scan's rows and statistics.
#[derive(Debug, Clone)]
pub struct ScanResult {
    /// The schema of the returned batches (the projection).
    pub schema: SchemaRef,
    /// The matching rows, in primary key order, at most [`SCAN_BATCH_ROWS`] per batch.
    pub batches: Vec<RecordBatch>,
    /// What the scan did.
    pub stats: ScanStats,
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
        let dropped = self.state.dropped.read();
        if *dropped {
            return Err(self.gone());
        }
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
        let first = self.db.allocate_sequences(rows as u64)?;
        for (row, (key, sequence)) in keys.into_iter().zip(first..).enumerate() {
            value.clear();
            encode_row(&columns, row, &mut value)?;
            write.put_cf(delta, with_sequence(key, sequence), &value);
        }
        self.db
            .write(write)
            .map_err(storage(format!("inserting into table {:?}", self.name())))
    }

    /// Deletes the rows with the keys in `keys`, a batch holding (at least) the key columns;
    /// its other columns, if any, must be the table's, and are ignored. Keys that do not
    /// exist are no error.
    pub fn delete(&self, keys: &RecordBatch) -> Result<()> {
        let _span =
            tracing::debug_span!("delete", table = self.name(), rows = keys.num_rows()).entered();
        let dropped = self.state.dropped.read();
        if *dropped {
            return Err(self.gone());
        }
        let columns = self.columns_of(keys, false)?;
        let encoded = self.encode_keys_sparse(&columns, keys.num_rows())?;
        if encoded.is_empty() {
            return Ok(());
        }
        let tombstone = encode_tombstone();
        let mut write = WriteBatch::default();
        let delta = self.db.cf(CF_DELTA)?;
        let first = self.db.allocate_sequences(encoded.len() as u64)?;
        for (key, sequence) in encoded.into_iter().zip(first..) {
            write.put_cf(delta, with_sequence(key, sequence), &tombstone);
        }
        self.db
            .write(write)
            .map_err(storage(format!("deleting from table {:?}", self.name())))
    }

    /// The newest live version of the row whose key is in `key` (a one-row batch holding at
    /// least the key columns), with every column, or `None` when there is none.
    pub fn get(&self, key: &RecordBatch) -> Result<Option<RecordBatch>> {
        let _span = tracing::debug_span!("get", table = self.name()).entered();
        if *self.state.dropped.read() {
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
        let newest = with_sequence(primary_key.clone(), u64::MAX);
        let mut options = ReadOptions::default();
        options.set_iterate_lower_bound(primary_key.clone());
        let mut iterator = self
            .db
            .rocks
            .raw_iterator_cf_opt(self.db.cf(CF_DELTA)?, options);
        iterator.seek_for_prev(&newest);
        let found = match iterator.item() {
            Some((found, value))
                if found.len() == primary_key.len() + SEQUENCE_BYTES
                    && found.starts_with(&primary_key) =>
            {
                Some(self.decode(found, value)?)
            }
            _ => None,
        };
        iterator
            .status()
            .map_err(storage(format!("reading table {:?}", self.name())))?;
        let Some(RowValue::Row(values)) = found else {
            return Ok(None);
        };
        let all: Vec<usize> = (0..self.state.kinds.len()).collect();
        let mut builders = self.builders(&all);
        for (builder, value) in builders.iter_mut().zip(&values) {
            builder.push(value.as_ref())?;
        }
        Ok(Some(self.finish_batch(
            self.state.meta.schema().clone(),
            &mut builders,
            1,
        )?))
    }

    /// Scans the table under one RocksDB snapshot: the newest live version of every key, in
    /// key order, filtered by the predicate, projected, and cut at the limit.
    pub fn scan(&self, request: ScanRequest) -> Result<ScanResult> {
        let span = tracing::debug_span!(
            "scan",
            table = self.name(),
            filters = request.predicate.filters.len(),
            rows_matched = tracing::field::Empty,
            rows_scanned = tracing::field::Empty,
        );
        let _entered = span.enter();
        if *self.state.dropped.read() {
            return Err(self.gone());
        }
        let projection = self.projection(request.projection.as_deref())?;
        let schema = Arc::new(Schema::new(
            projection
                .iter()
                .filter_map(|&index| self.state.meta.schema().fields().get(index).cloned())
                .collect::<Vec<_>>(),
        ));
        self.check_predicate(&request.predicate)?;
        let column_index: HashMap<&str, usize> = self
            .state
            .meta
            .schema()
            .fields()
            .iter()
            .enumerate()
            .map(|(index, field)| (field.name().as_str(), index))
            .collect();

        let limit = request.limit.unwrap_or(usize::MAX);
        let mut stats = ScanStats::default();
        let mut batches = Vec::new();
        let mut builders = self.builders(&projection);
        let mut pending_rows = 0usize;
        let mut matched = 0usize;

        let snapshot = self.db.rocks.snapshot();
        let (start, end) = self.scan_bounds(&request.predicate);
        let mut options = ReadOptions::default();
        options.set_iterate_lower_bound(start);
        options.set_iterate_upper_bound(end);
        let mut iterator = snapshot.raw_iterator_cf_opt(self.db.cf(CF_DELTA)?, options);
        iterator.seek_to_first();
        // The newest version seen so far of the key being read: (primary key, delta key, value).
        let mut current: Option<(Vec<u8>, Vec<u8>, Vec<u8>)> = None;
        let mut evaluate = |key: &[u8], value: &[u8], stats: &mut ScanStats| -> Result<bool> {
            let RowValue::Row(values) = self.decode(key, value)? else {
                return Ok(false);
            };
            stats.rows_scanned += 1;
            let matches = request.predicate.matches(|name| {
                column_index
                    .get(name)
                    .and_then(|&index| values.get(index))
                    .and_then(Option::as_ref)
            });
            if !matches {
                return Ok(false);
            }
            for (builder, &index) in builders.iter_mut().zip(&projection) {
                builder.push(values.get(index).and_then(Option::as_ref))?;
            }
            pending_rows += 1;
            if pending_rows == SCAN_BATCH_ROWS {
                batches.push(self.finish_batch(schema.clone(), &mut builders, pending_rows)?);
                pending_rows = 0;
            }
            Ok(true)
        };
        if limit > 0 {
            while let Some((key, value)) = iterator.item() {
                stats.bytes_read += (key.len() + value.len()) as u64;
                let primary_key = split_delta_key(key)
                    .map_err(|error| self.corrupt_key(key, &error))?
                    .primary_key;
                match current.as_mut() {
                    // A newer version of the key being read replaces the one kept.
                    Some((current_key, delta_key, current_value))
                        if current_key.as_slice() == primary_key =>
                    {
                        delta_key.clear();
                        delta_key.extend_from_slice(key);
                        current_value.clear();
                        current_value.extend_from_slice(value);
                    }
                    // A new key: the one kept is complete.
                    _ => {
                        let next = (primary_key.to_vec(), key.to_vec(), value.to_vec());
                        if let Some((_, delta_key, newest)) = current.replace(next)
                            && evaluate(&delta_key, &newest, &mut stats)?
                        {
                            matched += 1;
                            if matched >= limit {
                                current = None;
                                break;
                            }
                        }
                    }
                }
                iterator.next();
            }
            iterator
                .status()
                .map_err(storage(format!("scanning table {:?}", self.name())))?;
            if let Some((_, delta_key, newest)) = current.take()
                && evaluate(&delta_key, &newest, &mut stats)?
            {
                matched += 1;
            }
        }
        if pending_rows > 0 {
            batches.push(self.finish_batch(schema.clone(), &mut builders, pending_rows)?);
        }
        stats.rows_matched = matched as u64;
        span.record("rows_matched", stats.rows_matched);
        span.record("rows_scanned", stats.rows_scanned);
        Ok(ScanResult {
            schema,
            batches,
            stats,
        })
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

    /// The encoded primary key of every row (table prefix included, no sequence).
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
        let prefix = table_prefix(self.state.meta.id());
        let mut keys = Vec::with_capacity(rows);
        for row in 0..rows {
            let mut key = prefix.to_vec();
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

    fn corrupt_key(&self, key: &[u8], error: &Error) -> Error {
        Error::Corrupt {
            what: format!("key of table {:?}", self.name()),
            key: hex(key),
            reason: error.to_string(),
        }
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

    /// The delta key range a scan must read: the table's, narrowed by the filters on the
    /// first primary key column (keys are sorted by it, so its ranges are key ranges). Each
    /// filter narrows to the hull of its terms; a bound that does not encode as a key of
    /// the column (out of the type's range) leaves that side open, which only reads more.
    fn scan_bounds(&self, predicate: &Predicate) -> (Vec<u8>, Vec<u8>) {
        let table_id = self.state.meta.id();
        let (mut lower, mut upper) = table_range(table_id);
        let first = self.state.meta.key_indices().first().copied();
        let (Some(field), Some(logical)) = (
            first.and_then(|index| self.state.meta.schema().fields().get(index)),
            first.and_then(|index| self.state.logical_types.get(index)),
        ) else {
            return (lower, upper);
        };
        let prefix = table_prefix(table_id);
        let table = (lower.clone(), upper.clone());
        for filter in predicate.filters_on(field.name()) {
            let mut hull: Option<(Vec<u8>, Vec<u8>)> = None;
            for term in &filter.terms {
                let (low, high) = match term {
                    // Key columns hold no nulls.
                    Term::IsNull => continue,
                    Term::IsNotNull => table.clone(),
                    Term::Range(range) => {
                        let encode = |value: &Scalar| -> Option<Vec<u8>> {
                            let mut key = prefix.to_vec();
                            encode_key_value(logical, ValueRef::from_scalar(value), &mut key)
                                .ok()?;
                            Some(key)
                        };
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
                        (
                            low.unwrap_or_else(|| table.0.clone()),
                            high.unwrap_or_else(|| table.1.clone()),
                        )
                    }
                };
                hull = Some(match hull {
                    None => (low, high),
                    Some((hull_low, hull_high)) => (hull_low.min(low), hull_high.max(high)),
                });
            }
            // A filter no key can satisfy leaves an empty range.
            let (low, high) = hull.unwrap_or_else(|| (table.0.clone(), table.0.clone()));
            lower = lower.max(low);
            upper = upper.min(high);
        }
        if upper < lower {
            upper.clone_from(&lower);
        }
        (lower, upper)
    }

    fn builders(&self, projection: &[usize]) -> Vec<ColumnBuilder> {
        let schema = self.state.meta.schema();
        projection
            .iter()
            .filter_map(|&index| {
                let field = schema.fields().get(index)?;
                let logical = self.state.logical_types.get(index)?.clone();
                Some(ColumnBuilder::new(
                    field.name(),
                    logical,
                    field.data_type().clone(),
                ))
            })
            .collect()
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

/// The smallest key above every key that starts with `prefix`, or `None` when there is none
/// (the prefix is all `0xFF`).
fn successor(mut prefix: Vec<u8>) -> Option<Vec<u8>> {
    while let Some(last) = prefix.pop() {
        if last < u8::MAX {
            prefix.push(last + 1);
            return Some(prefix);
        }
    }
    None
}

fn first_null(column: &Column) -> Option<usize> {
    column.validity()?.iter().position(|&valid| !valid)
}

fn with_sequence(mut key: Vec<u8>, sequence: u64) -> Vec<u8> {
    key.extend_from_slice(&sequence.to_be_bytes());
    key
}
