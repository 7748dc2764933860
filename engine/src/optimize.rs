//! Instance optimization: the workload log every scan feeds, the sample and cost model the
//! layout optimizer learns from, and the re-layout that carries its decision out.
//!
//! Scans with a predicate record it in the table's bounded [`Workload`], persisted in the
//! catalog every [`WORKLOAD_PERSIST_EVERY`] scans (and on every optimization), so a reopened
//! table keeps its history. [`Table::optimize`] folds delta, draws an evenly spaced sample of
//! the table's rows, prices the current layout and the optimizer's best candidate on the
//! sample and the logged predicates with a [`CostModel`] whose per-row cost comes from the
//! table's own scans, and rewrites the table when the candidate is cheaper by the gain
//! asked for. The background compactor runs the same check on its own every
//! `Options::tune_every` scans, with `Options::relayout_gain`.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use tessera_codecs::Column;
use tessera_layout::{
    ColumnSet, Constraints, CostEstimate, CostModel, Layout, LayoutChoice, Predicate, Workload,
    build_layout, estimate_cost, optimize_with_report,
};

use crate::compaction::{RelayoutReport, compact_table, relayout};
use crate::db::{CF_CATALOG, DbInner, storage};
use crate::error::{Error, Result};
use crate::evaluate::{concat, take};
use crate::table::{Table, TableState, read_chunk};

/// Catalog key prefix of workload logs; the table id (u32 BE) follows.
pub const WORKLOAD_KEY_PREFIX: &[u8] = b"workload/";
/// Recorded scans between two writes of the workload log.
pub const WORKLOAD_PERSIST_EVERY: u64 = 32;
/// Rows the optimizer's sample holds at most.
pub const SAMPLE_ROWS: usize = 65_536;

/// The catalog key of a table's workload log.
pub fn workload_key(table_id: u32) -> Vec<u8> {
    let mut key = WORKLOAD_KEY_PREFIX.to_vec();
    key.extend_from_slice(&table_id.to_be_bytes());
    key
}

/// Catalog key prefix of layout pins; the table id (u32 BE) follows. The key's presence
/// (its value is empty) pins the table's layout.
pub const LAYOUT_PIN_KEY_PREFIX: &[u8] = b"layout_pin/";

/// The catalog key that pins a table's layout.
pub fn layout_pin_key(table_id: u32) -> Vec<u8> {
    let mut key = LAYOUT_PIN_KEY_PREFIX.to_vec();
    key.extend_from_slice(&table_id.to_be_bytes());
    key
}

/// Whether a table's layout is pinned, read at open.
pub(crate) fn load_layout_pin(db: &DbInner, table_id: u32, table: &str) -> Result<bool> {
    Ok(db
        .rocks
        .get_pinned_cf(db.cf(CF_CATALOG)?, layout_pin_key(table_id))
        .map_err(storage(format!(
            "reading the layout pin of table {table:?}"
        )))?
        .is_some())
}

/// What [`Table::optimize`] found and did.
#[derive(Debug, Clone, PartialEq)]
pub struct OptimizeReport {
    /// Logged predicates the decision used.
    pub workload_queries: usize,
    /// Rows sampled.
    pub sample_rows: usize,
    /// The layout before, as it describes itself.
    pub layout_before: String,
    /// The current layout's estimated cost per query.
    pub before: CostEstimate,
    /// The best candidate, as it describes itself.
    pub candidate: String,
    /// Its estimated cost per query.
    pub after: CostEstimate,
    /// The rewrite, when the candidate was cheaper enough to be worth it.
    pub relayout: Option<RelayoutReport>,
}

/// Records a scan's predicate (when it filters) and persists the log now and then; returns
/// whether the table is due for an automatic layout check.
pub(crate) fn record_scan(
    db: &DbInner,
    state: &TableState,
    predicate: &Predicate,
    nanos: u64,
    rows_scanned: u64,
) -> bool {
    state.scan_nanos.fetch_add(nanos, Ordering::Relaxed);
    state.scan_rows.fetch_add(rows_scanned, Ordering::Relaxed);
    if predicate.filters.is_empty() {
        return false;
    }
    let mut workload = state.workload.lock();
    workload.record(predicate.clone());
    let recorded = workload.recorded();
    if recorded.is_multiple_of(WORKLOAD_PERSIST_EVERY)
        && let Err(error) = persist_workload(db, state, &workload)
    {
        tracing::warn!(table = state.meta.name(), %error, "could not persist the workload log");
    }
    db.tune_every > 0 && recorded.is_multiple_of(db.tune_every)
}

fn persist_workload(db: &DbInner, state: &TableState, workload: &Workload) -> Result<()> {
    db.rocks
        .put_cf(
            db.cf(CF_CATALOG)?,
            workload_key(state.meta.id()),
            workload.encode(),
        )
        .map_err(storage(format!(
            "writing the workload of table {:?}",
            state.meta.name()
        )))
}

/// Reads a table's workload log at open; an empty log when there is none.
pub(crate) fn load_workload(db: &DbInner, table_id: u32, table: &str) -> Result<Workload> {
    let key = workload_key(table_id);
    match db
        .rocks
        .get_pinned_cf(db.cf(CF_CATALOG)?, &key)
        .map_err(storage(format!("reading the workload of table {table:?}")))?
    {
        None => Ok(Workload::default()),
        Some(bytes) => Workload::decode(&bytes).map_err(|source| Error::Layout {
            table: table.to_owned(),
            source,
        }),
    }
}

/// Evenly spaced live rows of the table's blocks (delta is folded first by the callers).
fn sample(db: &DbInner, state: &TableState) -> Result<(Vec<Column>, u64)> {
    let version = state.versions.pin();
    let total: u64 = version.blocks.iter().map(|block| block.live_rows()).sum();
    let stride = total.div_ceil(SAMPLE_ROWS as u64).max(1);
    let count = state.kinds.len();
    let mut parts: Vec<Vec<Column>> = vec![Vec::new(); count];
    let mut seen = 0u64;
    for block in &version.blocks {
        let mut rows = Vec::new();
        for row in 0..block.rows {
            if block.deleted.contains(row) {
                continue;
            }
            if seen.is_multiple_of(stride) {
                rows.push(row);
            }
            seen += 1;
        }
        if rows.is_empty() {
            continue;
        }
        for (index, part) in parts.iter_mut().enumerate() {
            let chunk = read_chunk(db, state, block, index)?;
            part.push(take(&chunk, &rows)?);
        }
    }
    let columns = parts
        .iter()
        .zip(&state.logical_types)
        .map(|(part, logical)| concat(part, logical))
        .collect::<Result<Vec<Column>>>()?;
    Ok((columns, total))
}

/// The optimizer's view of this engine: the default model with the per-row cost measured
/// on the table's own scans (wall time over rows scanned), once there are enough of them.
fn cost_model(state: &TableState) -> CostModel {
    let mut model = CostModel::default();
    let rows = state.scan_rows.load(Ordering::Relaxed);
    if rows >= 1_000_000 {
        let nanos = state.scan_nanos.load(Ordering::Relaxed) as f64;
        model.per_row_ns = (nanos / rows as f64).clamp(0.2, 200.0);
    }
    model.block_rows = crate::block::BLOCK_ROWS as u32;
    model
}

/// Learns a layout for the table and rewrites it when the estimate improves by `gain`.
pub(crate) fn optimize_table(
    db: &DbInner,
    state: &TableState,
    gain: f64,
) -> Result<OptimizeReport> {
    let table = state.meta.name().to_owned();
    let _span = tracing::info_span!("optimize", table = %table).entered();
    compact_table(db, state)?;
    let (columns, total) = sample(db, state)?;
    let names = state.column_names();
    let layout_error = |source| Error::Layout {
        table: table.clone(),
        source,
    };
    let set = ColumnSet::new(&names, &columns).map_err(layout_error)?;
    let workload = state.workload.lock().predicates();
    persist_workload(db, state, &state.workload.lock())?;
    let model = cost_model(state);
    let constraints = Constraints {
        table_rows: total,
        default_sort: state.meta.primary_key(),
        ..Constraints::default()
    };
    let current = Arc::clone(&state.versions.pin().layout);
    let before = estimate_cost(current.as_ref(), &set, &workload, &model, &constraints)
        .map_err(layout_error)?;
    let optimized = optimize_with_report(&set, &workload, &model, &constraints);
    let candidate: Arc<dyn Layout> = Arc::from(optimized.layout);
    let worth_it = set.rows() > 0
        && candidate.encode() != current.encode()
        && optimized.estimate.cost_ns * gain < before.cost_ns;
    let relayout = if worth_it {
        Some(relayout(db, state, Arc::clone(&candidate))?)
    } else {
        None
    };
    Ok(OptimizeReport {
        workload_queries: workload.len(),
        sample_rows: set.rows(),
        layout_before: current.describe(),
        before,
        candidate: candidate.describe(),
        after: optimized.estimate,
        relayout,
    })
}

impl Table {
    /// Learns a layout from the table's workload log and a sample of its rows, and rewrites
    /// the table into it when the estimated cost per query drops by at least 5%. Returns when
    /// the new layout is live; reads and writes go on meanwhile.
    pub fn optimize(&self) -> Result<OptimizeReport> {
        optimize_table(self.db(), self.state(), 1.05)
    }

    /// Rewrites the table into the layout `choice` names (built on a sample of the table,
    /// and the workload log for [`LayoutChoice::Learned`]) whatever the estimates say: how
    /// baselines are pinned for a fair comparison.
    pub fn relayout(&self, choice: &LayoutChoice) -> Result<RelayoutReport> {
        let (db, state) = (self.db(), self.state());
        compact_table(db, state)?;
        let (columns, total) = sample(db, state)?;
        let names = state.column_names();
        let layout_error = |source| Error::Layout {
            table: self.name().to_owned(),
            source,
        };
        let set = ColumnSet::new(&names, &columns).map_err(layout_error)?;
        let workload = state.workload.lock().predicates();
        let constraints = Constraints {
            table_rows: total,
            default_sort: state.meta.primary_key(),
            ..Constraints::default()
        };
        let layout = build_layout(choice, &set, &workload, &cost_model(state), &constraints)
            .map_err(layout_error)?;
        relayout(db, state, Arc::from(layout))
    }

    /// Rewrites the table into the layout `choice` names, as [`Self::relayout`] does, and
    /// pins it: automatic re-layout leaves the table alone, across reopens, until
    /// [`Self::unpin_layout`]. Explicit calls ([`Self::optimize`], [`Self::relayout`]) still
    /// rewrite a pinned table. This is how a person fixes a layout, and how benchmarks hold
    /// the baselines still.
    pub fn pin_layout(&self, choice: &LayoutChoice) -> Result<RelayoutReport> {
        self.set_layout_pin(true)?;
        self.relayout(choice)
    }

    /// Lets automatic re-layout manage the table again.
    pub fn unpin_layout(&self) -> Result<()> {
        self.set_layout_pin(false)
    }

    /// Whether the layout is pinned ([`Self::pin_layout`]).
    pub fn layout_pinned(&self) -> bool {
        self.state().layout_pinned.load(Ordering::Relaxed)
    }

    /// Whether a re-layout (asked for or automatic) is rewriting the table right now.
    pub fn relayout_in_progress(&self) -> bool {
        self.state().relayout_running.load(Ordering::Relaxed)
    }

    fn set_layout_pin(&self, pinned: bool) -> Result<()> {
        let (db, state) = (self.db(), self.state());
        let key = layout_pin_key(state.meta.id());
        let family = db.cf(CF_CATALOG)?;
        let mut batch = rocksdb::WriteBatch::default();
        if pinned {
            batch.put_cf(family, key, []);
        } else {
            batch.delete_cf(family, key);
        }
        db.write_synced(batch).map_err(storage(format!(
            "writing the layout pin of table {:?}",
            self.name()
        )))?;
        state.layout_pinned.store(pinned, Ordering::Relaxed);
        Ok(())
    }

    /// The predicates the table's scans logged, oldest first.
    pub fn workload(&self) -> Vec<Predicate> {
        self.state().workload.lock().predicates()
    }
}
