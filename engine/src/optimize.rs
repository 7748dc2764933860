//! Instance optimization: the workload log every scan feeds, the sample and cost model the
//! layout optimizer learns from, and the re-layout that carries its decision out.
//!
//! Scans with a predicate record it in the table's bounded [`Workload`], persisted in the
//! catalog every [`WORKLOAD_PERSIST_EVERY`] scans (and on every optimization) as a part
//! holding the predicates new since the last write (`WorkloadLog`), so a reopened table
//! keeps its history. [`Table::optimize`] folds delta, draws an evenly spaced sample of
//! the table's rows, prices the current layout and the optimizer's best candidate on the
//! sample and the logged predicates with a [`CostModel`] whose per-value and per-block
//! costs are fitted to the table's own scans (`ScanCosts`), and rewrites the table when the
//! candidate is cheaper by the gain asked for. The background compactor runs the same check
//! on its own every `Options::tune_every` scans, with `Options::relayout_gain`; a layout an
//! automatic check wrote is provisional until one more check, with the explicit gain, once
//! the log has renewed its recent predicates (`automatic_check`).

use std::sync::Arc;
use std::sync::atomic::Ordering;

use tessera_codecs::Column;
use tessera_layout::{
    ColumnSet, Constraints, CostEstimate, CostModel, Layout, LayoutChoice, Predicate, Workload,
    build_layout, estimate_cost, filtered_columns, optimize_with_report,
};

use crate::compaction::{RelayoutReport, compact_table, relayout};
use crate::db::{CF_CATALOG, DbInner, storage};
use crate::error::{Error, Result};
use crate::evaluate::{concat, take};
use crate::table::{ScanStats, Table, TableState, read_chunk};

/// Catalog key prefix of workload logs; the table id (u32 BE) follows.
pub const WORKLOAD_KEY_PREFIX: &[u8] = b"workload/";
/// Recorded scans between two writes of the workload log.
pub const WORKLOAD_PERSIST_EVERY: u64 = 32;
/// Rows the optimizer's sample holds at most.
pub const SAMPLE_ROWS: usize = 65_536;

/// The catalog key of a table's whole workload log, as written before the log was stored in
/// parts; it is read, and replaced by a part at the next write. Its parts' keys extend it.
pub fn workload_key(table_id: u32) -> Vec<u8> {
    let mut key = WORKLOAD_KEY_PREFIX.to_vec();
    key.extend_from_slice(&table_id.to_be_bytes());
    key
}

/// The catalog key of the part of a table's workload log that ends after `recorded`
/// predicates: [`workload_key`] ‖ `recorded` (u64 BE), so a table's parts sort oldest first.
pub fn workload_part_key(table_id: u32, recorded: u64) -> Vec<u8> {
    let mut key = workload_key(table_id);
    key.extend_from_slice(&recorded.to_be_bytes());
    key
}

/// A table's workload log, and how it stands in the catalog. The log is stored in parts,
/// each holding the predicates recorded since the part before ([`Workload::since`]) and keyed
/// by the count recorded at its end, so writing it costs what is new rather than the whole
/// log: with the default capacity of 1,024 predicates, rewriting it whole every 32 scans took
/// half the time of a 7 µs scan. A part whose predicates have all left the log is deleted.
#[derive(Debug, Default)]
pub(crate) struct WorkloadLog {
    /// The log itself.
    pub(crate) log: Workload,
    /// The counts recorded at the ends of the stored parts, oldest first.
    parts: std::collections::VecDeque<u64>,
    /// Whether the log is stored whole under [`workload_key`] (its format before parts).
    whole: bool,
    /// Whether the table was dropped: nothing more is written.
    dropped: bool,
}

impl WorkloadLog {
    /// Writes the predicates recorded since the last write as one part, and deletes the parts
    /// whose predicates have all left the log, in one batch; nothing when there is nothing new.
    /// A log loaded whole is written whole, as one part that replaces every key it had.
    fn persist(&mut self, db: &DbInner, table_id: u32, table: &str) -> Result<()> {
        let recorded = self.log.recorded();
        // Every predicate up to the newest part's end is stored (all of them, if whole).
        let written = self.parts.back().copied().unwrap_or_default();
        if self.dropped || (recorded == written && !self.whole) {
            return Ok(());
        }
        let catalog = db.cf(CF_CATALOG)?;
        let mut batch = rocksdb::WriteBatch::default();
        // The log holds the predicates recorded after `oldest`.
        let oldest = recorded.saturating_sub(self.log.len() as u64);
        let obsolete = if self.whole {
            batch.delete_cf(catalog, workload_key(table_id));
            self.parts.len()
        } else {
            self.parts.iter().take_while(|&&end| end <= oldest).count()
        };
        for &end in self.parts.iter().take(obsolete) {
            batch.delete_cf(catalog, workload_part_key(table_id, end));
        }
        let part = self.log.since(if self.whole { 0 } else { written });
        batch.put_cf(
            catalog,
            workload_part_key(table_id, recorded),
            part.encode(),
        );
        db.rocks
            .write(batch)
            .map_err(storage(format!("writing the workload of table {table:?}")))?;
        self.parts.drain(..obsolete);
        self.parts.push_back(recorded);
        self.whole = false;
        Ok(())
    }

    /// The keys the log has in the catalog, for a table drop.
    pub(crate) fn keys(&self, table_id: u32) -> Vec<Vec<u8>> {
        std::iter::once(workload_key(table_id))
            .chain(
                self.parts
                    .iter()
                    .map(|&end| workload_part_key(table_id, end)),
            )
            .collect()
    }

    /// Stops writing the log: its table is dropped.
    pub(crate) fn stop(&mut self) {
        self.dropped = true;
    }
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

/// Catalog key prefix of provisional marks; the table id (u32 BE) follows.
pub const PROVISIONAL_KEY_PREFIX: &[u8] = b"layout_provisional/";

/// The catalog key of a table's provisional mark.
pub fn provisional_key(table_id: u32) -> Vec<u8> {
    let mut key = PROVISIONAL_KEY_PREFIX.to_vec();
    key.extend_from_slice(&table_id.to_be_bytes());
    key
}

/// Format version of a persisted provisional mark.
const PROVISIONAL_FORMAT: u8 = 1;

/// A table's provisional mark, read at open: a table reopened before its settling check
/// still gets it.
pub(crate) fn load_provisional(
    db: &DbInner,
    table_id: u32,
    table: &str,
) -> Result<Option<Provisional>> {
    let key = provisional_key(table_id);
    let Some(bytes) = db
        .rocks
        .get_pinned_cf(db.cf(CF_CATALOG)?, &key)
        .map_err(storage(format!(
            "reading the provisional mark of table {table:?}"
        )))?
    else {
        return Ok(None);
    };
    Provisional::decode(&bytes)
        .map(Some)
        .map_err(|reason| Error::Corrupt {
            what: format!("provisional mark of table {table:?}"),
            key: crate::keys::hex(&key),
            reason,
        })
}

/// Writes (or, for `None`, deletes) a table's provisional mark.
fn persist_provisional(db: &DbInner, state: &TableState, mark: Option<Provisional>) -> Result<()> {
    let family = db.cf(CF_CATALOG)?;
    let key = provisional_key(state.meta.id());
    match mark {
        Some(mark) => db.rocks.put_cf(family, key, mark.encode()),
        None => db.rocks.delete_cf(family, key),
    }
    .map_err(storage(format!(
        "writing the provisional mark of table {:?}",
        state.meta.name()
    )))
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
    /// The costs the estimates used: fitted to the table's scans once there were enough.
    pub cost_model: CostModel,
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

/// Records a scan's predicate (when it filters) and, when it found every chunk it read
/// decoded in the cache, its cost (`nanos`: its work, the blocks' part as the scan threads
/// spent it, summed); persists the log now and then; returns whether the table is due for
/// an automatic layout check.
///
/// A scan that decoded chunks paid once for what later scans get from the cache (after an
/// open or a rewrite); the optimizer prices layouts as the steady state serves them.
pub(crate) fn record_scan(
    db: &DbInner,
    state: &TableState,
    predicate: &Predicate,
    nanos: u64,
    stats: &ScanStats,
) -> bool {
    if stats.chunks_decoded == 0 {
        // Priced as the optimizer prices it: per value filtered, on the layout scanned.
        let sort_column = state.versions.pin().layout.sort_column();
        let columns = filtered_columns(predicate, sort_column.as_deref()) as u64;
        state.scan_costs.lock().record(
            nanos,
            stats.rows_scanned.saturating_mul(columns),
            stats.blocks_scanned,
        );
    }
    if predicate.filters.is_empty() {
        return false;
    }
    let mut workload = state.workload.lock();
    workload.log.record(predicate.clone());
    let recorded = workload.log.recorded();
    if recorded.is_multiple_of(WORKLOAD_PERSIST_EVERY)
        && let Err(error) = workload.persist(db, state.meta.id(), state.meta.name())
    {
        tracing::warn!(table = state.meta.name(), %error, "could not persist the workload log");
    }
    db.tune_every > 0 && recorded.is_multiple_of(db.tune_every)
}

/// Reads a table's workload log at open: the whole log an older version wrote, if any, then
/// the parts, oldest first; an empty log when there is none.
pub(crate) fn load_workload(db: &DbInner, table_id: u32, table: &str) -> Result<WorkloadLog> {
    let prefix = workload_key(table_id);
    let mut loaded = WorkloadLog::default();
    let mut iterator = db.rocks.raw_iterator_cf(db.cf(CF_CATALOG)?);
    iterator.seek(&prefix);
    while let Some((key, value)) = iterator.item() {
        let Some(suffix) = key.strip_prefix(prefix.as_slice()) else {
            break;
        };
        let corrupt = |reason: String| Error::Corrupt {
            what: format!("workload log of table {table:?}"),
            key: crate::keys::hex(key),
            reason,
        };
        let part = Workload::decode(value).map_err(|source| Error::Layout {
            table: table.to_owned(),
            source,
        })?;
        if suffix.is_empty() {
            loaded.whole = true;
        } else {
            let end = <[u8; 8]>::try_from(suffix)
                .map(u64::from_be_bytes)
                .map_err(|_| {
                    corrupt(format!("{} bytes follow the table id, not 8", suffix.len()))
                })?;
            if part.recorded() != end {
                return Err(corrupt(format!(
                    "the part ends after {} predicates recorded, its key says {end}",
                    part.recorded()
                )));
            }
            loaded.parts.push_back(end);
        }
        loaded.log.append(part);
        iterator.next();
    }
    iterator
        .status()
        .map_err(storage(format!("reading the workload of table {table:?}")))?;
    Ok(loaded)
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

/// What the table's scans cost, as sums for a least-squares fit of each scan's wall time on
/// the values it filtered (rows scanned times [`filtered_columns`]) and the blocks it read:
/// the optimizer's per-value and per-block costs, measured on this engine, this machine and
/// this table instead of assumed.
///
/// The per-cell cost is not fitted, because one layout's scans cannot measure it: the cells
/// a scan visits go with its other work. Fitted on lineitem's scans (`layout_bench`)
/// together with the other two, it came out at 17 and 19 ns over two runs of the shift
/// scenario, and below zero over the 96 benchmark queries on each of two learned grids;
/// the same queries' difference between those grids puts it at 42 ns. Allowed 65,536
/// cells and priced at 20 ns a cell, the optimizer chose a 43,521-cell grid that served
/// them 21% slower (geometric mean) than the 11,521-cell grid it chooses at the default
/// 100 ns.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct ScanCosts {
    scans: u64,
    nanos: f64,
    values: f64,
    blocks: f64,
    values_values: f64,
    blocks_blocks: f64,
    values_blocks: f64,
    values_nanos: f64,
    blocks_nanos: f64,
}

/// Values filtered before measured costs replace the defaults.
const FIT_VALUES_MIN: f64 = 1_000_000.0;
/// Scans before the per-block cost is fitted.
const FIT_SCANS_MIN: u64 = 32;
/// Above this squared correlation of values and blocks over the scans (every block read
/// whole, as in an arrival-order table, by queries of as many columns), the two costs
/// cannot be told apart. Scans that all read as many blocks (every block of an
/// arrival-order table) cannot tell them apart either: the per-block cost would be the
/// scans' fixed cost spread over their blocks.
const FIT_COLLINEAR: f64 = 0.9;

impl ScanCosts {
    /// Adds one scan.
    pub(crate) fn record(&mut self, nanos: u64, values: u64, blocks: u64) {
        let (t, v, b) = (nanos as f64, values as f64, blocks as f64);
        self.scans += 1;
        self.nanos += t;
        self.values += v;
        self.blocks += b;
        self.values_values += v * v;
        self.blocks_blocks += b * b;
        self.values_blocks += v * b;
        self.values_nanos += v * t;
        self.blocks_nanos += b * t;
    }

    /// The cost model: the default until enough values were filtered; then wall time over
    /// values as the per-value cost, and, once values and blocks varied apart, both costs
    /// from the fit `nanos = per_value * values + per_block * blocks` when it gives
    /// plausible positive costs.
    pub(crate) fn model(&self) -> CostModel {
        let mut model = CostModel {
            block_rows: crate::block::BLOCK_ROWS as u32,
            ..CostModel::default()
        };
        if self.values < FIT_VALUES_MIN {
            return model;
        }
        model.per_value_ns = (self.nanos / self.values).clamp(0.2, 200.0);
        let determinant = self.values_values * self.blocks_blocks - self.values_blocks.powi(2);
        // Centred: how values and blocks vary across scans, not their sizes.
        let scans = self.scans as f64;
        let (mean_values, mean_blocks) = (self.values / scans, self.blocks / scans);
        let var_values = self.values_values / scans - mean_values.powi(2);
        let var_blocks = self.blocks_blocks / scans - mean_blocks.powi(2);
        let covariance = self.values_blocks / scans - mean_values * mean_blocks;
        // Blocks must vary by more than rounding leaves of a constant count.
        let blocks_vary = var_blocks > 1e-6 * (1.0 + mean_blocks.powi(2));
        let correlation = covariance.powi(2) / (var_values * var_blocks);
        let separable = blocks_vary && correlation.is_finite() && correlation < FIT_COLLINEAR;
        if self.scans < FIT_SCANS_MIN || !separable || determinant <= 0.0 {
            return model;
        }
        let per_value = (self.values_nanos * self.blocks_blocks
            - self.blocks_nanos * self.values_blocks)
            / determinant;
        let per_block = (self.blocks_nanos * self.values_values
            - self.values_nanos * self.values_blocks)
            / determinant;
        if (0.2..=200.0).contains(&per_value) && (100.0..=10_000_000.0).contains(&per_block) {
            model.per_value_ns = per_value;
            model.per_block_ns = per_block;
        }
        model
    }
}

/// The estimated speed-up an explicit [`Table::optimize`] asks for, and the most a check
/// settling a provisional layout asks for.
const EXPLICIT_GAIN: f64 = 1.05;

/// One automatic layout check, asking for `gain`. An automatic re-layout is decided on the
/// predicates logged so far, which after a shift in the workload still hold some of the
/// old mix, so the layout it writes is provisional: once the optimizer's window of recent
/// predicates (`Constraints::workload_max`) has been logged anew, one check asks only for
/// the explicit gain (or `gain`, if lower), and the layout is then settled whatever it
/// finds. Without that check a layout learned halfway through a shift stays until the new
/// mix alone clears `gain`: on lineitem, the estimate put such a layout 1.11x behind one
/// learned from the new mix alone, which measured 1.5x faster.
pub(crate) fn automatic_check(
    db: &DbInner,
    state: &TableState,
    gain: f64,
) -> Result<OptimizeReport> {
    let recorded = state.workload.lock().log.recorded();
    let window = Constraints::default().workload_max as u64;
    let settling = provisional_since(state).is_some_and(|at| recorded >= at.saturating_add(window));
    let asked = if settling {
        gain.min(EXPLICIT_GAIN)
    } else {
        gain
    };
    let report = optimize_table(db, state, asked)?;
    let mark = if settling {
        None
    } else if let Some(relayout) = &report.relayout {
        // Marked for the version this check wrote: should an explicit re-layout have
        // replaced it meanwhile, the mark names a version no longer live and is ignored.
        Some(Provisional {
            since: recorded,
            layout_version: relayout.layout_version,
        })
    } else {
        return Ok(report);
    };
    *state.provisional.lock() = mark;
    persist_provisional(db, state, mark)?;
    Ok(report)
}

/// An automatic re-layout not yet settled.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Provisional {
    /// The predicates the workload log had recorded in all when the re-layout was decided.
    pub(crate) since: u64,
    /// The layout version it wrote.
    pub(crate) layout_version: u32,
}

/// When the live layout is an automatic re-layout's still provisional: the predicates the
/// log had recorded when it was decided. A mark left for a layout version since replaced
/// (by an explicit re-layout, say) does not count.
fn provisional_since(state: &TableState) -> Option<u64> {
    let mark = *state.provisional.lock();
    Provisional::since_if_live(mark, state.versions.pin().layout_version)
}

impl Provisional {
    /// The catalog value: format version `u8` (1), predicates recorded `u64`, layout
    /// version `u32`, big-endian.
    fn encode(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(13);
        bytes.push(PROVISIONAL_FORMAT);
        bytes.extend_from_slice(&self.since.to_be_bytes());
        bytes.extend_from_slice(&self.layout_version.to_be_bytes());
        bytes
    }

    fn decode(bytes: &[u8]) -> std::result::Result<Self, String> {
        let (&version, rest) = bytes
            .split_first()
            .ok_or_else(|| "empty value".to_owned())?;
        if version != PROVISIONAL_FORMAT {
            return Err(format!(
                "format version {version}, this build reads {PROVISIONAL_FORMAT}"
            ));
        }
        let fields = rest
            .split_first_chunk::<8>()
            .and_then(|(since, tail)| Some((since, <[u8; 4]>::try_from(tail).ok()?)));
        let Some((since, layout_version)) = fields else {
            return Err(format!("{} bytes, expected 13", bytes.len()));
        };
        Ok(Self {
            since: u64::from_be_bytes(*since),
            layout_version: u32::from_be_bytes(layout_version),
        })
    }

    /// `mark`'s count of predicates, if it was left for the live layout version.
    fn since_if_live(mark: Option<Self>, live_version: u32) -> Option<u64> {
        mark.filter(|mark| mark.layout_version == live_version)
            .map(|mark| mark.since)
    }
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
    let workload = {
        let mut log = state.workload.lock();
        log.persist(db, state.meta.id(), &table)?;
        log.log.predicates()
    };
    let model = state.scan_costs.lock().model();
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
        cost_model: model,
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
        optimize_table(self.db(), self.state(), EXPLICIT_GAIN)
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
        let workload = state.workload.lock().log.predicates();
        let constraints = Constraints {
            table_rows: total,
            default_sort: state.meta.primary_key(),
            ..Constraints::default()
        };
        let layout = build_layout(
            choice,
            &set,
            &workload,
            &state.scan_costs.lock().model(),
            &constraints,
        )
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

    /// Whether the layout is an automatic re-layout's, still provisional: one more
    /// automatic check, with a lower bar, follows once the workload log has renewed the
    /// predicates the optimizer learns from (see `Options::relayout_gain`).
    pub fn layout_provisional(&self) -> bool {
        provisional_since(self.state()).is_some()
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
        self.state().workload.lock().log.predicates()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The suffixes after [`workload_key`] of a table's workload keys, in key order.
    fn workload_suffixes(table: &Table) -> Vec<Vec<u8>> {
        workload_parts(table)
            .into_iter()
            .map(|(suffix, _)| suffix)
            .collect()
    }

    /// A table's workload keys, as their suffixes after [`workload_key`], and their logs.
    fn workload_parts(table: &Table) -> Vec<(Vec<u8>, Workload)> {
        let db = table.db();
        let prefix = workload_key(table.state().meta.id());
        let mut iterator = db.rocks.raw_iterator_cf(db.cf(CF_CATALOG).unwrap());
        iterator.seek(&prefix);
        let mut parts = Vec::new();
        while let Some((key, value)) = iterator.item() {
            let Some(suffix) = key.strip_prefix(prefix.as_slice()) else {
                break;
            };
            parts.push((suffix.to_vec(), Workload::decode(value).unwrap()));
            iterator.next();
        }
        parts
    }

    fn point(value: i64) -> Predicate {
        Predicate::all().and(tessera_layout::ColumnFilter {
            column: "x".into(),
            terms: vec![tessera_layout::Term::Range(tessera_layout::Range::point(
                tessera_layout::Scalar::Int(value),
            ))],
        })
    }

    fn open(directory: &std::path::Path) -> crate::Db {
        let options = crate::Options {
            tune_every: 0,
            ..crate::Options::default()
        };
        crate::Db::open(directory, options).unwrap()
    }

    fn scan_points(table: &Table, values: std::ops::Range<i64>) {
        for value in values {
            table
                .scan(crate::ScanRequest {
                    projection: None,
                    predicate: point(value),
                    limit: None,
                })
                .unwrap();
        }
    }

    #[test]
    fn the_workload_log_is_written_in_parts_and_read_back_whole() {
        use arrow::datatypes::{DataType, Field, Schema};
        let directory = tempfile::tempdir().unwrap();
        let capacity = Workload::DEFAULT_CAPACITY as i64;
        let every = WORKLOAD_PERSIST_EVERY as i64;
        {
            let db = open(directory.path());
            let schema = Arc::new(Schema::new(vec![Field::new("x", DataType::Int64, false)]));
            let options = crate::TableOptions {
                primary_key: vec!["x".into()],
            };
            let table = db.create_table("t", schema, options).unwrap();
            scan_points(&table, 0..capacity + 5 * every + 7);
            // The last write was after `capacity + 5 * every` scans; parts holding only
            // predicates older than the log's were deleted.
            let ends: Vec<i64> = (6 * every..=capacity + 5 * every)
                .step_by(every as usize)
                .collect();
            let keys: Vec<Vec<u8>> = ends
                .iter()
                .map(|&end| (end as u64).to_be_bytes().to_vec())
                .collect();
            assert_eq!(workload_suffixes(&table), keys);
            // Each part holds the predicates of its 32 scans, no more.
            for ((_, part), end) in workload_parts(&table).iter().zip(&ends) {
                assert_eq!(
                    part.predicates(),
                    (end - every..*end).map(point).collect::<Vec<_>>()
                );
            }
        }
        let db = open(directory.path());
        let table = db.table("t").unwrap();
        let logged: Vec<Predicate> = (5 * every..capacity + 5 * every).map(point).collect();
        assert_eq!(table.workload(), logged);
        // An explicit optimization writes what is new, off the 32-scan beat.
        scan_points(&table, 0..3);
        table.optimize().unwrap();
        assert_eq!(
            workload_suffixes(&table).last().unwrap(),
            &((capacity + 5 * every + 3) as u64).to_be_bytes().to_vec()
        );
        drop(table);
        drop(db);
        let db = open(directory.path());
        let table = db.table("t").unwrap();
        let mut logged: Vec<Predicate> = logged[3..].to_vec();
        logged.extend((0..3).map(point));
        assert_eq!(table.workload(), logged);
        db.drop_table("t").unwrap();
        assert!(workload_suffixes(&table).is_empty());
    }

    #[test]
    fn a_whole_workload_log_is_read_then_replaced_by_one_part() {
        use arrow::datatypes::{DataType, Field, Schema};
        let directory = tempfile::tempdir().unwrap();
        let mut whole = Workload::default();
        for value in 0..3 {
            whole.record(point(value));
        }
        {
            let db = open(directory.path());
            let schema = Arc::new(Schema::new(vec![Field::new("x", DataType::Int64, false)]));
            let options = crate::TableOptions {
                primary_key: vec!["x".into()],
            };
            let table = db.create_table("t", schema, options).unwrap();
            let inner = table.db();
            inner
                .rocks
                .put_cf(
                    inner.cf(CF_CATALOG).unwrap(),
                    workload_key(table.state().meta.id()),
                    whole.encode(),
                )
                .unwrap();
        }
        let db = open(directory.path());
        let table = db.table("t").unwrap();
        assert_eq!(table.workload(), whole.predicates());
        let every = WORKLOAD_PERSIST_EVERY as i64;
        scan_points(&table, 3..every);
        assert_eq!(
            workload_suffixes(&table),
            vec![(every as u64).to_be_bytes().to_vec()]
        );
        drop(table);
        drop(db);
        let db = open(directory.path());
        let table = db.table("t").unwrap();
        assert_eq!(table.workload(), (0..every).map(point).collect::<Vec<_>>());
    }

    /// Scans whose time is `per_value * values + per_block * blocks`, values and blocks
    /// varying apart or together.
    fn costs(scans: &[(u64, u64)], per_value: f64, per_block: f64) -> ScanCosts {
        let mut costs = ScanCosts::default();
        for &(values, blocks) in scans {
            let nanos = per_value * values as f64 + per_block * blocks as f64;
            costs.record(nanos as u64, values, blocks);
        }
        costs
    }

    #[test]
    fn a_provisional_mark_counts_only_for_the_version_it_names() {
        let mark = Provisional {
            since: 1_000,
            layout_version: 3,
        };
        assert_eq!(Provisional::since_if_live(Some(mark), 3), Some(1_000));
        // An explicit re-layout that went live after the automatic one (version 4) is
        // settled, even if the automatic check marks its own version afterwards.
        assert_eq!(Provisional::since_if_live(Some(mark), 4), None);
        assert_eq!(Provisional::since_if_live(None, 3), None);
    }

    #[test]
    fn provisional_format_v1_is_stable() {
        let mark = Provisional {
            since: 0x0102_0304_0506_0708,
            layout_version: 0x0A0B_0C0D,
        };
        let bytes = mark.encode();
        let path = crate::golden_file("provisional_v1.bin");
        if std::env::var_os("TESSERA_BLESS").is_some() {
            std::fs::write(&path, &bytes).unwrap();
        }
        assert_eq!(bytes, std::fs::read(&path).unwrap());
        let decoded = Provisional::decode(&bytes).unwrap();
        assert_eq!(
            (decoded.since, decoded.layout_version),
            (mark.since, mark.layout_version)
        );
        for cut in 0..bytes.len() {
            assert!(Provisional::decode(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(Provisional::decode(&longer).is_err());
        let mut newer = bytes;
        newer[0] = 2;
        assert!(
            Provisional::decode(&newer)
                .unwrap_err()
                .contains("version 2")
        );
    }

    #[test]
    fn the_fit_recovers_per_value_and_per_block_costs() {
        let scans: Vec<(u64, u64)> = (0..64)
            .map(|i| (10_000 + (i * 7_919 % 64) * 20_000, 1 + (i * 31 % 17)))
            .collect();
        let model = costs(&scans, 1.5, 4_000.0).model();
        assert!((model.per_value_ns - 1.5).abs() < 0.01, "{model:?}");
        assert!((model.per_block_ns - 4_000.0).abs() < 10.0, "{model:?}");
    }

    #[test]
    fn collinear_or_few_scans_keep_the_default_per_block_cost() {
        let default = CostModel::default();
        // Every block read whole: rows are blocks times a constant.
        let whole: Vec<(u64, u64)> = (1..64).map(|i| (i * 65_536, i)).collect();
        let model = costs(&whole, 1.5, 4_000.0).model();
        assert_eq!(model.per_block_ns, default.per_block_ns);
        let mean = (1.5 * 65_536.0 + 4_000.0) / 65_536.0;
        assert!((model.per_value_ns - mean).abs() < 0.01, "{model:?}");
        // Every scan reads every block of an arrival-order table, however many values it
        // filters: the fit would charge blocks with each scan's fixed cost.
        let all_blocks: Vec<(u64, u64)> = (0..64).map(|i| (1_000_000 * (1 + i % 4), 92)).collect();
        let mut fixed = ScanCosts::default();
        for &(values, blocks) in &all_blocks {
            fixed.record(30_000 + (1.5 * values as f64) as u64, values, blocks);
        }
        assert_eq!(fixed.model().per_block_ns, default.per_block_ns);
        // Too few values: the defaults.
        let model = costs(&[(1_000, 1), (2_000, 3)], 1.5, 4_000.0).model();
        assert_eq!(model.per_value_ns, default.per_value_ns);
        // An implausible fit (blocks that save time) falls back too.
        let scans: Vec<(u64, u64)> = (0..64)
            .map(|i| (1_000_000 + (i * 7_919 % 64) * 20_000, 1 + (i * 31 % 17)))
            .collect();
        let model = costs(&scans, 1.5, -4_000.0).model();
        assert_eq!(model.per_block_ns, default.per_block_ns);
    }
}
