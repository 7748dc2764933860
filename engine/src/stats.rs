//! What a table holds and how it is stored: rows, bytes per column, encodings chosen with
//! their block counts, the layout and the size of what is still in delta.

use std::collections::BTreeMap;

use rocksdb::Range;

use crate::db::{CF_BLOCK_META, CF_DELTA, CF_PK_INDEX};
use crate::error::Result;
use crate::keys::table_range;
use crate::table::{ScanRequest, Table};

/// One column's storage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnStats {
    /// The column's name.
    pub name: String,
    /// Encoded bytes of its chunks over all blocks.
    pub bytes: u64,
    /// Each encoding chosen for the column (as the codec layer prints it) with the number of
    /// blocks using it, most used first.
    pub encodings: Vec<(String, u64)>,
}

/// A table's contents and storage, as [`Table::stats`] reports them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableStats {
    /// Live rows (compacted and in delta).
    pub rows: u64,
    /// Bytes the table takes: encoded chunks (flushed or not), plus RocksDB's estimate of
    /// the table's block metadata, index and delta files on disk.
    pub bytes_on_disk: u64,
    /// Per column, in table order.
    pub columns: Vec<ColumnStats>,
    /// Compacted blocks.
    pub blocks: u64,
    /// Rows in blocks, deleted ones excluded.
    pub compacted_rows: u64,
    /// The layout's kind (`insertion_order`, ...).
    pub layout_kind: String,
    /// The layout, as it describes itself.
    pub layout: String,
    /// Version of the layout; bumped by each re-layout.
    pub layout_version: u32,
    /// Whether the layout is pinned against automatic re-layout.
    pub layout_pinned: bool,
    /// Whether the layout is an automatic re-layout's awaiting its settling check
    /// (`Table::layout_provisional`).
    pub layout_provisional: bool,
    /// Bytes of the layout's models plus the blocks' position models.
    pub model_bytes: u64,
    /// Bytes written to delta since the last compaction began (an estimate).
    pub delta_bytes: u64,
    /// The last background compaction's error, if it failed.
    pub last_compaction_error: Option<String>,
}

impl Table {
    /// Rows, bytes on disk (total and per column), encodings per column with block counts,
    /// the layout and its model size, and delta size. Counting rows runs a scan without
    /// columns, which reads no column data unless delta holds newer versions of compacted
    /// rows.
    pub fn stats(&self) -> Result<TableStats> {
        let state = self.state();
        let db = self.db();
        let rows = self
            .scan(ScanRequest {
                projection: Some(Vec::new()),
                ..ScanRequest::default()
            })?
            .num_rows() as u64;
        let version = state.versions.pin();
        let schema = state.meta.schema();
        let mut columns: Vec<(u64, BTreeMap<String, u64>)> =
            vec![(0, BTreeMap::new()); schema.fields().len()];
        let mut model_bytes = version.layout.model_bytes() as u64;
        let mut compacted_rows = 0;
        for block in &version.blocks {
            compacted_rows += block.live_rows();
            model_bytes += block.position.len() as u64;
            for ((bytes, encodings), chunk) in columns.iter_mut().zip(&block.columns) {
                *bytes += chunk.bytes;
                *encodings.entry(chunk.encoding.clone()).or_default() += 1;
            }
        }
        let chunk_bytes: u64 = columns.iter().map(|(bytes, _)| bytes).sum();
        let (start, end) = table_range(state.meta.id());
        let mut on_disk = chunk_bytes;
        for family in [CF_DELTA, CF_BLOCK_META, CF_PK_INDEX] {
            on_disk += db
                .rocks
                .get_approximate_sizes_cf(db.cf(family)?, &[Range::new(&start, &end)])
                .into_iter()
                .sum::<u64>();
        }
        let columns = schema
            .fields()
            .iter()
            .zip(columns)
            .map(|(field, (bytes, encodings))| {
                let mut encodings: Vec<(String, u64)> = encodings.into_iter().collect();
                encodings.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
                ColumnStats {
                    name: field.name().clone(),
                    bytes,
                    encodings,
                }
            })
            .collect();
        Ok(TableStats {
            rows,
            bytes_on_disk: on_disk,
            columns,
            blocks: version.blocks.len() as u64,
            compacted_rows,
            layout_kind: version.layout.kind().to_owned(),
            layout: version.layout.describe(),
            layout_version: version.layout_version,
            layout_pinned: self.layout_pinned(),
            layout_provisional: self.layout_provisional(),
            model_bytes,
            delta_bytes: state.delta_bytes.load(std::sync::atomic::Ordering::Relaxed),
            last_compaction_error: state.last_error.lock().clone(),
        })
    }
}
