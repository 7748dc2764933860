//! The layout optimizer: given a data sample and a workload, estimate what candidate layouts
//! would cost and return the cheapest (Flood's cost-model-driven tuning, Tsunami's skew and
//! correlation handling on top).
//!
//! The estimate runs each query of the workload against the candidate on the sample: the
//! layout assigns the sample's rows to cells, [`Layout::cells`] names the cells a query
//! visits, and inside each visited cell the rows a scan reads are those within the query's
//! range on the sort column (the engine narrows to them with its position models or a
//! search). Blocks are counted as the engine cuts them: small cells packed in cell
//! order share a block, which a query pays for once. Rows, blocks and cells are scaled from
//! the sample to the table and priced by a [`CostModel`] the engine fills from its own
//! measurements.
//!
//! Candidates: insertion order; sorted by each of the most useful columns; Z-order and
//! Hilbert over them; learned grids, one per choice of sort column (which the grid may also
//! cut into coarse ranges; a grid sorted by a less useful column must be estimated 10%
//! cheaper to win, so near ties do not flip with timing noise), whose partitions per column are found by a greedy search over
//! powers of two (value sets for columns with few distinct values): one column doubled or
//! halved, or, when no such step helps, one doubled and another halved, climbing from two
//! starts (about the square root and the three-quarter power of the cell cap) and keeping
//! the cheaper end, each also tried with
//! functional mappings onto the sort column of correlated integer columns (of any filtered
//! column, not only the most useful few: a mapping adds no cells); the best grid with
//! correlated column pairs partitioned conditionally; and grid trees that split the best grid's space where the workload
//! differs, with a grid searched for each side. The search is deterministic and bounded by
//! [`Constraints::evaluations_max`]; grid candidates are assigned from cached per-row model
//! ranks, so an evaluation costs a pass over the sample plus the workload's cell visits.
//!
//! With an empty workload there is nothing to tune for: the data-only default is a sorted
//! layout on [`Constraints::default_sort`] (the primary key, say), or on the first column.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

use tessera_codecs::{Column, ColumnValues, PhysicalKind};

use crate::cdf::CdfModel;
use crate::curve::{Curve, CurveLayout};
use crate::grid::{Dimension, Grid, GridSpec, MAX_GRID_DIMENSIONS, Mapping, Split};
use crate::keys::{Span, column_keys, is_valid};
use crate::layout::{CellId, ColumnSet, InsertionOrder, Layout, LayoutError, MAX_CELLS};
use crate::matches::count_matches;
use crate::partition::{Partitioner, distinct_values};
use crate::predicate::{Predicate, Scalar};
use crate::sorted::Sorted;
use crate::tree::{GridTree, TreeNode};

/// What a scan costs, measured by the engine: the optimizer prices candidates with it.
///
/// A scan's time is modelled as `per_query + per_value * values + per_block * blocks +
/// per_cell * cells + per_match * matched`, where `values` is rows scanned times the
/// columns filtered on them ([`filtered_columns`]): every filter sweeps every row left in
/// a cell, so a four-column query pays about four times a one-column query's cost per row.
/// Over the layout benchmark's lineitem queries (release build), a fit of that form is off
/// by a factor of 1.30 per query (geometric mean), one that prices rows alone by 1.71.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CostModel {
    /// Nanoseconds to decode and filter one value: a row scanned, in one filtered column.
    pub per_value_ns: f64,
    /// Nanoseconds to fetch and open one block (read, checksum, headers).
    pub per_block_ns: f64,
    /// Nanoseconds to visit one cell: find its run in a block, narrow it, look up its
    /// metadata.
    pub per_cell_ns: f64,
    /// Nanoseconds every scan costs whatever it reads (planning, the delta's iterator).
    pub per_query_ns: f64,
    /// Nanoseconds to return one matching row (its projected columns into Arrow).
    pub per_match_ns: f64,
    /// Rows per block the engine cuts.
    pub block_rows: u32,
}

impl Default for CostModel {
    /// Figures for an in-memory scan of encoded blocks, rounded from the fit over the
    /// layout benchmark's lineitem queries (2.3 ns per value, 11 us per block, 84 ns per
    /// cell, 26 us per query) made before integer and decimal filters read narrow offsets,
    /// which brought the value's cost down to between 0.5 and 0.8 ns on the same machine;
    /// the engine replaces the per-value and per-block costs with its own measurements
    /// once it has scanned enough, so the default only orders layouts until then.
    fn default() -> Self {
        Self {
            per_value_ns: 2.0,
            per_block_ns: 10_000.0,
            per_cell_ns: 100.0,
            per_query_ns: 30_000.0,
            per_match_ns: 4.0,
            block_rows: 65_536,
        }
    }
}

impl std::fmt::Display for CostModel {
    /// The costs that tell layouts apart, as reports print them.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:.2} ns per value filtered, {:.1} us per block, {:.0} ns per cell",
            self.per_value_ns,
            self.per_block_ns / 1e3,
            self.per_cell_ns
        )
    }
}

/// Bounds on the layouts the optimizer may choose and on its own work.
#[derive(Debug, Clone, PartialEq)]
pub struct Constraints {
    /// Rows in the table the sample was drawn from (0: the sample is the table).
    pub table_rows: u64,
    /// Most cells.
    pub cells_max: u32,
    /// Fewest rows a cell should hold on average: caps cells at `table_rows / this`.
    pub cell_rows_min: u64,
    /// The data-only default's sort key (the primary key, say); the first sample column
    /// when empty.
    pub default_sort: Vec<String>,
    /// Most sample rows used; a larger sample is thinned evenly.
    pub sample_rows_max: usize,
    /// Most predicates used, the most recent ones.
    pub workload_max: usize,
    /// Most candidate layouts evaluated.
    pub evaluations_max: usize,
}

impl Default for Constraints {
    fn default() -> Self {
        Self {
            table_rows: 0,
            cells_max: 16_384,
            cell_rows_min: 256,
            default_sort: Vec::new(),
            sample_rows_max: 65_536,
            workload_max: 512,
            evaluations_max: 1_000,
        }
    }
}

/// A candidate's estimated cost, per query of the workload on average, scaled to the table.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct CostEstimate {
    /// Estimated nanoseconds per query: the geometric mean over the workload, so halving a
    /// small query's time counts as much as halving a large one's (an arithmetic mean would
    /// let the few largest scans decide the layout alone).
    pub cost_ns: f64,
    /// Rows read after in-cell narrowing.
    pub rows_scanned: f64,
    /// Rows matching the predicate.
    pub rows_matched: f64,
    /// Cells visited that hold rows.
    pub cells_visited: f64,
    /// Blocks read.
    pub blocks_visited: f64,
}

impl CostEstimate {
    /// Rows scanned per row matched (1.0 is the physical limit); rows scanned when nothing
    /// matches.
    pub fn scan_overhead(&self) -> f64 {
        if self.rows_matched > 0.0 {
            self.rows_scanned / self.rows_matched
        } else {
            self.rows_scanned.max(1.0)
        }
    }
}

/// The optimizer's answer with its reasoning.
#[derive(Debug)]
pub struct Optimized {
    /// The chosen layout.
    pub layout: Box<dyn Layout>,
    /// Its estimated cost.
    pub estimate: CostEstimate,
    /// Every candidate's description and estimate, in the order evaluated (best of each
    /// family only, for grids and trees).
    pub candidates: Vec<(String, CostEstimate)>,
    /// Candidate layouts evaluated in all.
    pub evaluations: usize,
}

/// A layout to build, as a table option may pin it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LayoutChoice {
    /// One cell, arrival order.
    InsertionOrder,
    /// Sorted by a compound key.
    Sorted(Vec<String>),
    /// Z-order over the columns.
    ZOrder(Vec<String>),
    /// Hilbert order over the columns.
    Hilbert(Vec<String>),
    /// A grid as specified.
    Grid(GridSpec),
    /// Whatever the optimizer chooses.
    Learned,
}

/// The best layout for `workload` on `sample`; see the module docs. Never fails: when the
/// sample cannot support a candidate, a simpler one (in the end insertion order) is chosen.
pub fn optimize(
    sample: &ColumnSet<'_>,
    workload: &[Predicate],
    cost: &CostModel,
    constraints: &Constraints,
) -> Box<dyn Layout> {
    optimize_with_report(sample, workload, cost, constraints).layout
}

/// [`optimize`], with the estimates behind the choice.
pub fn optimize_with_report(
    sample: &ColumnSet<'_>,
    workload: &[Predicate],
    cost: &CostModel,
    constraints: &Constraints,
) -> Optimized {
    let context = match Context::new(sample, workload, cost, constraints) {
        Ok(context) => context,
        Err(_) => {
            return Optimized {
                layout: Box::new(InsertionOrder),
                estimate: CostEstimate::default(),
                candidates: Vec::new(),
                evaluations: 0,
            };
        }
    };
    context.run()
}

/// The estimated cost of an existing layout (the current one, say) on a sample and workload:
/// compare with [`Optimized::estimate`] to decide whether re-laying out pays.
pub fn estimate_cost(
    layout: &dyn Layout,
    sample: &ColumnSet<'_>,
    workload: &[Predicate],
    cost: &CostModel,
    constraints: &Constraints,
) -> Result<CostEstimate, LayoutError> {
    let context = Context::new(sample, workload, cost, constraints)?;
    context.evaluate(layout)
}

/// Builds the layout `choice` names, with as many cells as the constraints allow.
pub fn build_layout(
    choice: &LayoutChoice,
    sample: &ColumnSet<'_>,
    workload: &[Predicate],
    cost: &CostModel,
    constraints: &Constraints,
) -> Result<Box<dyn Layout>, LayoutError> {
    let cells = cells_cap(sample.rows(), constraints);
    Ok(match choice {
        LayoutChoice::InsertionOrder => Box::new(InsertionOrder),
        LayoutChoice::Sorted(key) => Box::new(Sorted::fit(sample, key, cells)?),
        LayoutChoice::ZOrder(columns) => {
            Box::new(CurveLayout::fit(sample, Curve::ZOrder, columns, cells)?)
        }
        LayoutChoice::Hilbert(columns) => {
            Box::new(CurveLayout::fit(sample, Curve::Hilbert, columns, cells)?)
        }
        LayoutChoice::Grid(spec) => Box::new(Grid::fit(sample, spec)?),
        LayoutChoice::Learned => optimize(sample, workload, cost, constraints),
    })
}

/// The columns a scan of `predicate` filters on each row it reads, at least one: the
/// distinct filtered columns but the layout's sort column, whose filters the engine answers
/// by narrowing each cell's sorted run (a run it cannot narrow exactly, such as one of a
/// block fitted with a position model, is close enough that its filter keeps almost every
/// row it reads).
pub fn filtered_columns(predicate: &Predicate, sort_column: Option<&str>) -> usize {
    let mut columns: Vec<&str> = predicate
        .filters
        .iter()
        .map(|filter| filter.column.as_str())
        .filter(|&column| Some(column) != sort_column)
        .collect();
    columns.sort_unstable();
    columns.dedup();
    columns.len().max(1)
}

/// Most cells worth having: the constraint, and no fewer rows per cell than allowed.
fn cells_cap(sample_rows: usize, constraints: &Constraints) -> u32 {
    let table_rows = if constraints.table_rows == 0 {
        sample_rows as u64
    } else {
        constraints.table_rows
    };
    let by_rows = table_rows / constraints.cell_rows_min.max(1);
    by_rows
        .min(u64::from(constraints.cells_max))
        .clamp(1, u64::from(MAX_CELLS)) as u32
}

/// How a grid dimension is cut in the search.
#[derive(Debug, Clone, PartialEq)]
enum Mode {
    Ranges,
    Values,
    /// Ranges inside each partition of the dimension at this index.
    Conditional(usize),
}

/// One dimension of a grid candidate: for value sets, `partitions` counts groups.
#[derive(Debug, Clone, PartialEq)]
struct Choice {
    column: String,
    partitions: u32,
    mode: Mode,
}

/// The sample's rows in a column's key order (nulls first) and their keys in that order.
type SortedRows = (Vec<u32>, Vec<f64>);

/// The best grid found so far and how it was built.
#[derive(Debug, Clone)]
struct GridPlan {
    grid: Grid,
    estimate: CostEstimate,
    sort: Option<String>,
    choices: Vec<Choice>,
    mappings: Vec<Mapping>,
}

/// What the workload says about one column.
#[derive(Debug, Clone)]
struct ColumnUse {
    name: String,
    /// Predicates that filter the column.
    frequency: usize,
    /// Average fraction of sample rows its filters keep, where it is filtered.
    selectivity: f64,
    /// Distinct non-null values, counted up to a limit.
    distinct: usize,
}

impl ColumnUse {
    /// Pruning power: how often the column is filtered times how much its filters cut.
    fn power(&self) -> f64 {
        self.frequency as f64 * (1.0 - self.selectivity)
    }
}

/// How much cheaper a grid sorted by a less useful column must be estimated to replace one
/// sorted by a more useful column.
const SORT_SWITCH_MARGIN: f64 = 0.1;
/// Distinct values up to which a column is partitioned by value sets.
const CATEGORICAL_DISTINCT_MAX: usize = 64;
/// Columns the search considers, the most useful first.
const COLUMNS_CONSIDERED: usize = 6;
/// Greedy steps per grid search.
const GRID_STEPS_MAX: usize = 24;
/// Rank correlation above which a column is partitioned conditionally on another.
const CORRELATION_MIN: f64 = 0.8;
/// Widest offset range, as a fraction of the sort column's range, a functional mapping may
/// have to be worth trying.
const MAPPING_SPREAD_MAX: f64 = 0.1;
/// Relative gain a grid tree must bring over the best grid.
const TREE_GAIN_MIN: f64 = 0.05;
/// Where grid searches start, as shares of the cell cap's bits: about its square root, and
/// about its three-quarter power; a search climbs from each and keeps the better end.
const START_CELL_BITS: [f64; 2] = [0.5, 0.75];

/// The prepared sample and workload.
struct Context {
    names: Vec<String>,
    columns: Vec<Column>,
    workload: Vec<Predicate>,
    cost: CostModel,
    constraints: Constraints,
    /// Table rows per sample row.
    scale: f64,
    cells_cap: u32,
    /// Sample rows matching each query.
    matched: Vec<f64>,
    evaluations: Cell<usize>,
    /// Evaluations the current search phase may reach.
    phase_limit: Cell<usize>,
    ranges: RefCell<HashMap<String, Partitioner>>,
    distinct: RefCell<HashMap<String, Vec<(Scalar, usize)>>>,
    conditional: RefCell<HashMap<(String, String, u32), Vec<CdfModel>>>,
    sorted: RefCell<HashMap<String, Rc<SortedRows>>>,
    /// Per column: each row's rank under the column's CDF model (nulls: `None`).
    ranks: RefCell<HashMap<String, Rc<Vec<Option<f64>>>>>,
    /// Per column: each row's index among the column's distinct values (nulls: `None`).
    value_indexes: RefCell<HashMap<String, Rc<Vec<Option<u32>>>>>,
}

impl Context {
    fn new(
        sample: &ColumnSet<'_>,
        workload: &[Predicate],
        cost: &CostModel,
        constraints: &Constraints,
    ) -> Result<Self, LayoutError> {
        let rows = sample.rows();
        let keep: Option<Vec<usize>> = (rows > constraints.sample_rows_max.max(1)).then(|| {
            let target = constraints.sample_rows_max.max(1);
            (0..target).map(|index| index * rows / target).collect()
        });
        let columns: Vec<Column> = match &keep {
            Some(rows) => sample
                .columns()
                .iter()
                .map(|column| gather(column, rows))
                .collect::<Result<_, _>>()?,
            None => sample.columns().to_vec(),
        };
        let names = sample.names().to_vec();
        let skip = workload
            .len()
            .saturating_sub(constraints.workload_max.max(1));
        let workload: Vec<Predicate> = workload.iter().skip(skip).cloned().collect();
        Self::from_parts(names, columns, workload, cost, constraints, rows)
    }

    fn from_parts(
        names: Vec<String>,
        columns: Vec<Column>,
        workload: Vec<Predicate>,
        cost: &CostModel,
        constraints: &Constraints,
        original_rows: usize,
    ) -> Result<Self, LayoutError> {
        let sample_rows = columns.first().map_or(0, Column::len);
        let table_rows = if constraints.table_rows == 0 {
            original_rows as f64
        } else {
            constraints.table_rows as f64
        };
        let scale = if sample_rows == 0 {
            1.0
        } else {
            table_rows / sample_rows as f64
        };
        let context = Self {
            cells_cap: cells_cap(
                sample_rows.max(1),
                &Constraints {
                    table_rows: table_rows as u64,
                    ..constraints.clone()
                },
            ),
            names,
            columns,
            matched: Vec::new(),
            workload,
            cost: *cost,
            constraints: constraints.clone(),
            scale,
            evaluations: Cell::new(0),
            phase_limit: Cell::new(usize::MAX),
            ranges: Default::default(),
            distinct: Default::default(),
            conditional: Default::default(),
            sorted: Default::default(),
            ranks: Default::default(),
            value_indexes: Default::default(),
        };
        ColumnSet::new(&context.names, &context.columns)?;
        let matched = count_matches(&context.set(), &context.workload);
        Ok(Self { matched, ..context })
    }

    fn set(&self) -> ColumnSet<'_> {
        // Lengths were checked in `from_parts`.
        ColumnSet::trusted(&self.names, &self.columns)
    }

    fn column(&self, name: &str) -> Option<&Column> {
        self.names
            .iter()
            .position(|candidate| candidate == name)
            .and_then(|index| self.columns.get(index))
    }

    fn rows(&self) -> usize {
        self.columns.first().map_or(0, Column::len)
    }

    fn budget_left(&self) -> bool {
        self.evaluations.get() < self.constraints.evaluations_max.min(self.phase_limit.get())
    }

    /// Caps the evaluations of the current search phase at `share` of the whole budget
    /// beyond those already spent, so later phases (conditional partitioning, trees) keep
    /// theirs.
    fn start_phase(&self, share: f64) {
        let spent = self.evaluations.get();
        let left = self.constraints.evaluations_max.saturating_sub(spent) as f64;
        self.phase_limit.set(spent + (left * share) as usize);
    }

    /// The estimated cost of a layout on the sample and workload.
    fn evaluate(&self, layout: &dyn Layout) -> Result<CostEstimate, LayoutError> {
        let assigned = layout.assign(&self.set())?;
        Ok(self.evaluate_assigned(layout, &assigned))
    }

    /// The sample's rows ordered by a column's key (nulls first), with the keys in that
    /// order (nulls as -inf); cached per column.
    fn sorted_by(&self, name: &str) -> Option<Rc<SortedRows>> {
        if let Some(found) = self.sorted.borrow().get(name) {
            return Some(found.clone());
        }
        let column = self.column(name)?;
        let keys = column_keys(column);
        let mut rows: Vec<(f64, u32)> = keys
            .iter()
            .zip(0u32..)
            .map(|(&key, row)| {
                let key = if is_valid(column, row as usize) {
                    key
                } else {
                    f64::NEG_INFINITY
                };
                (key, row)
            })
            .collect();
        rows.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let order: Vec<u32> = rows.iter().map(|&(_, row)| row).collect();
        let keys_in_order: Vec<f64> = rows.iter().map(|&(key, _)| key).collect();
        let entry = Rc::new((order, keys_in_order));
        self.sorted
            .borrow_mut()
            .insert(name.to_owned(), entry.clone());
        Some(entry)
    }

    /// Each row's rank under `model` (a model of `name`), cached under `cache_key`.
    fn ranks_of(
        &self,
        cache_key: &str,
        name: &str,
        model: &CdfModel,
    ) -> Option<Rc<Vec<Option<f64>>>> {
        if let Some(found) = self.ranks.borrow().get(cache_key) {
            return Some(found.clone());
        }
        let column = self.column(name)?;
        let ranks: Vec<Option<f64>> = column_keys(column)
            .into_iter()
            .enumerate()
            .map(|(row, key)| is_valid(column, row).then(|| model.rank(key)))
            .collect();
        let ranks = Rc::new(ranks);
        self.ranks
            .borrow_mut()
            .insert(cache_key.to_owned(), ranks.clone());
        Some(ranks)
    }

    /// Each row's index among the column's distinct values.
    fn value_indexes_of(&self, name: &str) -> Option<Rc<Vec<Option<u32>>>> {
        if let Some(found) = self.value_indexes.borrow().get(name) {
            return Some(found.clone());
        }
        let column = self.column(name)?;
        let distinct = self.distinct_of(name)?;
        let indexes: Vec<Option<u32>> = (0..column.len())
            .map(|row| {
                if !is_valid(column, row) {
                    return None;
                }
                let position = distinct.partition_point(|(value, _)| {
                    crate::partition::compare_row(column.values(), row, value)
                        == Some(std::cmp::Ordering::Greater)
                });
                Some(position as u32)
            })
            .collect();
        let indexes = Rc::new(indexes);
        self.value_indexes
            .borrow_mut()
            .insert(name.to_owned(), indexes.clone());
        Some(indexes)
    }

    /// [`Grid::assign`] on the sample for a grid [`Self::build_grid`] made, from cached
    /// per-row ranks and value positions (the same arithmetic, without re-evaluating models).
    fn assign_grid(&self, grid: &Grid) -> Option<Vec<u32>> {
        let rows = self.rows();
        let mut cells = vec![0u64; rows];
        let mut partitions_by_dimension: Vec<Vec<u32>> = Vec::new();
        for dimension in grid.dimensions() {
            let count = dimension.count();
            let partitions: Vec<u32> = match &dimension.split {
                Split::Independent(Partitioner::Ranges { model, count }) => {
                    let ranks = self.ranks_of(&dimension.column, &dimension.column, model)?;
                    let scale = f64::from(*count) / model.sample_len().max(1) as f64;
                    ranks
                        .iter()
                        .map(|rank| {
                            rank.map_or(0, |rank| {
                                ((rank * scale) as u32).min(count.saturating_sub(1))
                            })
                        })
                        .collect()
                }
                Split::Independent(Partitioner::Values {
                    partition_of,
                    count,
                    ..
                }) => {
                    let indexes = self.value_indexes_of(&dimension.column)?;
                    let other = count.saturating_sub(1);
                    indexes
                        .iter()
                        .map(|index| {
                            index.map_or(0, |index| {
                                partition_of.get(index as usize).copied().unwrap_or(other)
                            })
                        })
                        .collect()
                }
                Split::Conditional {
                    parent, per_parent, ..
                } => {
                    let parents = partitions_by_dimension.get(*parent)?;
                    let parent_column = &grid.dimensions().get(*parent)?.column;
                    let column = self.column(&dimension.column)?;
                    let keys = column_keys(column);
                    let mut partitions = vec![0u32; rows];
                    for (index, partitioner) in per_parent.iter().enumerate() {
                        let Partitioner::Ranges { model, count } = partitioner else {
                            return None;
                        };
                        let cache_key = format!(
                            "{}|{parent_column}|{}|{index}",
                            dimension.column,
                            per_parent.len()
                        );
                        let cached = self.ranks.borrow().get(&cache_key).cloned();
                        let ranks = match cached {
                            Some(ranks) => ranks,
                            None => {
                                let ranks: Vec<Option<f64>> = keys
                                    .iter()
                                    .enumerate()
                                    .map(|(row, &key)| {
                                        (is_valid(column, row)
                                            && parents.get(row) == Some(&(index as u32)))
                                        .then(|| model.rank(key))
                                    })
                                    .collect();
                                let ranks = Rc::new(ranks);
                                self.ranks.borrow_mut().insert(cache_key, ranks.clone());
                                ranks
                            }
                        };
                        let scale = f64::from(*count) / model.sample_len().max(1) as f64;
                        for (slot, rank) in partitions.iter_mut().zip(ranks.iter()) {
                            if let Some(rank) = rank {
                                *slot = ((rank * scale) as u32).min(count.saturating_sub(1));
                            }
                        }
                    }
                    partitions
                }
            };
            for (cell, &partition) in cells.iter_mut().zip(&partitions) {
                *cell = *cell * u64::from(count) + u64::from(partition);
            }
            partitions_by_dimension.push(partitions);
        }
        let mut assigned: Vec<u32> = cells.into_iter().map(|cell| cell as u32).collect();
        if !grid.mappings().is_empty() {
            let outlier_cell = grid.cell_count() - 1;
            let outliers = self.outliers_of(grid)?;
            for (cell, &outlier) in assigned.iter_mut().zip(outliers.iter()) {
                if outlier {
                    *cell = outlier_cell;
                }
            }
        }
        Some(assigned)
    }

    /// Rows of the sample that break any of a grid's mappings (cached per mapping set).
    fn outliers_of(&self, grid: &Grid) -> Option<Vec<bool>> {
        let mapping_only =
            Grid::with_mappings(grid.sort().cloned(), Vec::new(), grid.mappings().to_vec()).ok()?;
        // The mapping-only grid has one regular cell (0) and the outlier cell (1).
        let cells = mapping_only.assign(&self.set()).ok()?;
        Some(cells.into_iter().map(|cell| cell == 1).collect())
    }

    /// The estimated cost of a grid, assigned through the caches.
    fn evaluate_grid(&self, grid: &Grid) -> Option<CostEstimate> {
        let assigned = self.assign_grid(grid)?;
        Some(self.evaluate_assigned(grid, &assigned))
    }

    /// The estimated cost of a layout given its assignment of the sample's rows.
    fn evaluate_assigned(&self, layout: &dyn Layout, assigned: &[u32]) -> CostEstimate {
        self.evaluations.set(self.evaluations.get() + 1);
        let cells = layout.cell_count() as usize;
        // Rows per cell, and each cell's sort keys, ascending (nulls as -inf, first).
        let mut starts = vec![0usize; cells + 1];
        for &cell in assigned {
            if let Some(count) = starts.get_mut(cell as usize + 1) {
                *count += 1;
            }
        }
        for index in 1..starts.len() {
            let previous = starts.get(index - 1).copied().unwrap_or(0);
            if let Some(start) = starts.get_mut(index) {
                *start += previous;
            }
        }
        let sort = layout
            .sort_column()
            .and_then(|name| self.column(&name).map(|column| (name, column)));
        let sort_name = sort.as_ref().map(|(name, _)| name.as_str());
        let mut keys = vec![f64::NEG_INFINITY; assigned.len()];
        if let Some(sorted) = sort.as_ref().and_then(|(name, _)| self.sorted_by(name)) {
            // Visiting rows in key order fills every cell's keys already sorted.
            let mut next = starts.clone();
            for (&row, &key) in sorted.0.iter().zip(&sorted.1) {
                let cell = assigned.get(row as usize).copied().unwrap_or(0);
                if let Some(slot) = next.get_mut(cell as usize) {
                    if let Some(target) = keys.get_mut(*slot) {
                        *target = key;
                    }
                    *slot += 1;
                }
            }
        }
        let block_rows = f64::from(self.cost.block_rows.max(1));
        let blocks_of = packed_blocks(&starts, self.scale, block_rows);
        let mut total = CostEstimate::default();
        let sort_span = |predicate: &Predicate| {
            sort.as_ref().and_then(|(name, column)| {
                let filters: Vec<_> = predicate.filters_on(name).collect();
                (!filters.is_empty())
                    .then(|| Span::of_filters(filters.into_iter(), column.logical().physical()))
            })
        };
        for (predicate, &matched) in self.workload.iter().zip(&self.matched) {
            let plain = sort_span(predicate);
            let mut query = CostEstimate {
                rows_matched: matched * self.scale,
                ..CostEstimate::default()
            };
            // Cells come in ascending order, so a block several small cells share is
            // counted once: the last block counted is remembered.
            let mut last_block: Option<usize> = None;
            // The narrowed sort-column span of each narrowing representative met so far: cells
            // sharing one share the narrowing, which is built once, as a scan does.
            let mut narrowings: Vec<(CellId, Option<Span>)> = Vec::new();
            for range in layout.cells(predicate) {
                for cell in range {
                    let (Some(&start), Some(&end)) =
                        (starts.get(cell as usize), starts.get(cell as usize + 1))
                    else {
                        continue;
                    };
                    if start == end {
                        continue;
                    }
                    let cell_keys = keys.get(start..end).unwrap_or_default();
                    // The layout may imply more on the sort column for this cell.
                    let representative = layout.narrowing_representative(cell);
                    let known = narrowings
                        .iter()
                        .position(|&(known, _)| known == representative);
                    let index = known.unwrap_or_else(|| {
                        let narrowed = layout.narrowing(predicate, cell);
                        let span = if narrowed.filters.len() == predicate.filters.len() {
                            plain.clone()
                        } else {
                            sort_span(&narrowed)
                        };
                        narrowings.push((representative, span));
                        narrowings.len() - 1
                    });
                    let narrowing = narrowings.get(index).and_then(|(_, span)| span.as_ref());
                    let in_range = match narrowing {
                        None => cell_keys.len(),
                        Some(span) => {
                            let nulls = if span.null {
                                cell_keys.partition_point(|&key| key == f64::NEG_INFINITY)
                            } else {
                                0
                            };
                            let values = match span.hull() {
                                Some((low, high)) => {
                                    let first = cell_keys.partition_point(|&key| key < low);
                                    let past = cell_keys.partition_point(|&key| key <= high);
                                    past.saturating_sub(first.max(nulls_end(cell_keys)))
                                }
                                None => 0,
                            };
                            nulls + values
                        }
                    };
                    let cell_rows = cell_keys.len() as f64 * self.scale;
                    let rows = in_range as f64 * self.scale;
                    let (first_block, last_of_cell) =
                        blocks_of.get(cell as usize).copied().unwrap_or((0, 0));
                    let blocks = if in_range == 0 {
                        0.0
                    } else if first_block == last_of_cell {
                        // The cell lies in one block, maybe shared with its neighbours.
                        let new = last_block != Some(first_block);
                        last_block = Some(first_block);
                        if new { 1.0 } else { 0.0 }
                    } else {
                        last_block = Some(last_of_cell);
                        (rows / block_rows + 1.0).min((cell_rows / block_rows).ceil())
                    };
                    query.cells_visited += 1.0;
                    query.blocks_visited += blocks;
                    query.rows_scanned += rows;
                }
            }
            query.cost_ns = self.cost.per_query_ns
                + query.rows_matched * self.cost.per_match_ns
                + query.cells_visited * self.cost.per_cell_ns
                + query.blocks_visited * self.cost.per_block_ns
                + query.rows_scanned
                    * filtered_columns(predicate, sort_name) as f64
                    * self.cost.per_value_ns;
            // Summed as logarithms: the estimate is the geometric mean (see `CostEstimate`).
            total.cost_ns += query.cost_ns.max(1.0).ln();
            total.rows_scanned += query.rows_scanned;
            total.rows_matched += query.rows_matched;
            total.cells_visited += query.cells_visited;
            total.blocks_visited += query.blocks_visited;
        }
        let queries = self.workload.len().max(1) as f64;
        CostEstimate {
            cost_ns: if self.workload.is_empty() {
                0.0
            } else {
                (total.cost_ns / queries).exp()
            },
            rows_scanned: total.rows_scanned / queries,
            rows_matched: total.rows_matched / queries,
            cells_visited: total.cells_visited / queries,
            blocks_visited: total.blocks_visited / queries,
        }
    }

    /// Every column the workload filters on, most useful first.
    fn column_uses(&self) -> Vec<ColumnUse> {
        let rows = self.rows().max(1) as f64;
        let mut uses: Vec<ColumnUse> = Vec::new();
        for (name, column) in self.names.iter().zip(&self.columns) {
            let kind = column.logical().physical();
            let keys = column_keys(column);
            let mut frequency = 0;
            let mut kept = 0.0;
            for predicate in &self.workload {
                let filters: Vec<_> = predicate.filters_on(name).collect();
                if filters.is_empty() {
                    continue;
                }
                let span = Span::of_filters(filters.into_iter(), kind);
                if span.null && span.all_keys() {
                    continue;
                }
                frequency += 1;
                let admitted = keys
                    .iter()
                    .enumerate()
                    .filter(|&(row, &key)| span.admits(is_valid(column, row).then_some(key)))
                    .count();
                kept += admitted as f64 / rows;
            }
            if frequency == 0 {
                continue;
            }
            uses.push(ColumnUse {
                name: name.clone(),
                frequency,
                selectivity: kept / frequency as f64,
                distinct: crate::partition::distinct_count(column, CATEGORICAL_DISTINCT_MAX),
            });
        }
        uses.sort_by(|a, b| {
            b.power()
                .total_cmp(&a.power())
                .then_with(|| a.name.cmp(&b.name))
        });
        uses
    }

    fn ranges_of(&self, column: &str) -> Option<Partitioner> {
        if let Some(found) = self.ranges.borrow().get(column) {
            return Some(found.clone());
        }
        let partitioner = Partitioner::ranges(self.column(column)?, 1);
        self.ranges
            .borrow_mut()
            .insert(column.to_owned(), partitioner.clone());
        Some(partitioner)
    }

    fn distinct_of(&self, column: &str) -> Option<Vec<(Scalar, usize)>> {
        if let Some(found) = self.distinct.borrow().get(column) {
            return Some(found.clone());
        }
        let distinct = distinct_values(self.column(column)?);
        self.distinct
            .borrow_mut()
            .insert(column.to_owned(), distinct.clone());
        Some(distinct)
    }

    fn kind_of(&self, column: &str) -> Option<PhysicalKind> {
        self.column(column)
            .map(|column| column.logical().physical())
    }

    /// Builds a grid candidate; dimensions with one partition are left out.
    fn build_grid(
        &self,
        sort: Option<&str>,
        choices: &[Choice],
        mappings: &[Mapping],
    ) -> Option<Grid> {
        let mut dimensions: Vec<Dimension> = Vec::new();
        // Index of each choice's dimension in the grid, when it has one.
        let mut placed: Vec<Option<usize>> = Vec::new();
        for choice in choices {
            let kind = self.kind_of(&choice.column)?;
            let parent = match choice.mode {
                Mode::Conditional(parent) => placed.get(parent).copied().flatten(),
                _ => None,
            };
            let split = match (&choice.mode, parent) {
                (Mode::Values, _) => Split::Independent(Partitioner::values_from_distinct(
                    &self.distinct_of(&choice.column)?,
                    choice.partitions,
                )),
                (Mode::Conditional(_), Some(parent)) => {
                    let parent_dimension = dimensions.get(parent)?;
                    let models = self.conditional_models(&choice.column, parent_dimension)?;
                    Split::Conditional {
                        parent,
                        count: choice.partitions,
                        per_parent: models
                            .into_iter()
                            .map(|model| Partitioner::Ranges {
                                model,
                                count: choice.partitions,
                            })
                            .collect(),
                    }
                }
                _ => Split::Independent(
                    self.ranges_of(&choice.column)?
                        .with_count(choice.partitions),
                ),
            };
            let dimension = Dimension {
                column: choice.column.clone(),
                kind,
                split,
            };
            if dimension.count() <= 1 {
                placed.push(None);
                continue;
            }
            placed.push(Some(dimensions.len()));
            dimensions.push(dimension);
        }
        let sort = match sort {
            Some(name) => Some((name.to_owned(), self.kind_of(name)?)),
            None => None,
        };
        Grid::with_mappings(sort, dimensions, mappings.to_vec()).ok()
    }

    /// Per-partition CDF models of `column` within the partitions of `parent`.
    fn conditional_models(&self, column: &str, parent: &Dimension) -> Option<Vec<CdfModel>> {
        let Split::Independent(parent_partitioner) = &parent.split else {
            return None;
        };
        let cache_key = (column.to_owned(), parent.column.clone(), parent.count());
        if let Some(found) = self.conditional.borrow().get(&cache_key) {
            return Some(found.clone());
        }
        let values = self.column(column)?;
        let parents = parent_partitioner.assign(self.column(&parent.column)?);
        let keys = column_keys(values);
        let mut per_parent = vec![Vec::new(); parent.count() as usize];
        for (row, (&key, &partition)) in keys.iter().zip(&parents).enumerate() {
            if is_valid(values, row)
                && let Some(bucket) = per_parent.get_mut(partition as usize)
            {
                bucket.push(key);
            }
        }
        let models: Vec<CdfModel> = per_parent
            .iter()
            .map(|keys| CdfModel::fit(keys, crate::cdf::default_epsilon(keys.len())))
            .collect();
        self.conditional
            .borrow_mut()
            .insert(cache_key, models.clone());
        Some(models)
    }

    fn cells_of(&self, choices: &[Choice]) -> u64 {
        choices
            .iter()
            .map(|choice| match choice.mode {
                Mode::Values => u64::from(choice.partitions) + 1,
                _ => u64::from(choice.partitions),
            })
            .product()
    }

    /// Greedy search over partition counts from each of `starts` in turn, each with an equal
    /// share of the evaluations the phase has left; the cheapest end found.
    fn search_grid(
        &self,
        sort: Option<&str>,
        starts: Vec<Vec<Choice>>,
        mappings: &[Mapping],
    ) -> Option<(Grid, CostEstimate, Vec<Choice>)> {
        let mut fitted: Vec<Vec<Choice>> = Vec::new();
        for mut choices in starts {
            // A start above the cell cap (a conditional column given its two partitions,
            // say) gives up partitions of its most cut column until it fits.
            while self.cells_of(&choices) > u64::from(self.cells_cap) {
                let Some(widest) = choices
                    .iter_mut()
                    .filter(|choice| choice.partitions > 1)
                    .max_by_key(|choice| choice.partitions)
                else {
                    break;
                };
                widest.partitions /= 2;
            }
            if self.cells_of(&choices) <= u64::from(self.cells_cap) && !fitted.contains(&choices) {
                fitted.push(choices);
            }
        }
        let limit = self.phase_limit.get();
        let count = fitted.len();
        let mut ends = Vec::with_capacity(count);
        for (index, choices) in fitted.into_iter().enumerate() {
            let spent = self.evaluations.get();
            let left = limit
                .min(self.constraints.evaluations_max)
                .saturating_sub(spent);
            self.phase_limit.set(spent + left / (count - index));
            ends.extend(self.climb(sort, choices, mappings));
        }
        self.phase_limit.set(limit);
        ends.into_iter()
            .min_by(|(_, a, _), (_, b, _)| a.cost_ns.total_cmp(&b.cost_ns))
    }

    /// Greedy search over partition counts from `choices`: repeatedly double or halve the
    /// one dimension whose change lowers the estimate most, until none does or the phase's
    /// evaluations run out.
    fn climb(
        &self,
        sort: Option<&str>,
        mut choices: Vec<Choice>,
        mappings: &[Mapping],
    ) -> Option<(Grid, CostEstimate, Vec<Choice>)> {
        let mut grid = self.build_grid(sort, &choices, mappings)?;
        let mut best = self.evaluate_grid(&grid)?;
        // One column's partitions doubled or halved; once no such step helps, one column's
        // doubled while another's are halved, which keeps a grid at the cell cap moving.
        let step = |choices: &[Choice], index: usize, double: bool| -> Option<Vec<Choice>> {
            let choice = choices.get(index)?;
            let limit = match choice.mode {
                Mode::Values => self
                    .distinct_of(&choice.column)
                    .map_or(1, |distinct| distinct.len().max(1) as u32),
                _ => crate::partition::MAX_PARTITIONS,
            };
            let partitions = if double {
                (choice.partitions * 2).min(limit)
            } else {
                (choice.partitions / 2).max(1)
            };
            if partitions == choice.partitions {
                return None;
            }
            let mut trial = choices.to_vec();
            if let Some(slot) = trial.get_mut(index) {
                slot.partitions = partitions;
            }
            Some(trial)
        };
        for _ in 0..GRID_STEPS_MAX {
            let mut improvement: Option<(Grid, CostEstimate, Vec<Choice>)> = None;
            let mut moves: Vec<Vec<Choice>> = (0..choices.len())
                .flat_map(|index| [true, false].map(|double| step(&choices, index, double)))
                .flatten()
                .collect();
            let single_moves = moves.len();
            for grow in 0..choices.len() {
                for shrink in (0..choices.len()).filter(|&shrink| shrink != grow) {
                    if let Some(trial) =
                        step(&choices, grow, true).and_then(|grown| step(&grown, shrink, false))
                    {
                        moves.push(trial);
                    }
                }
            }
            for (index, trial) in moves.into_iter().enumerate() {
                if (index == single_moves && improvement.is_some()) || !self.budget_left() {
                    break;
                }
                if self.cells_of(&trial) > u64::from(self.cells_cap) {
                    continue;
                }
                let Some(candidate) = self.build_grid(sort, &trial, mappings) else {
                    continue;
                };
                let Some(estimate) = self.evaluate_grid(&candidate) else {
                    continue;
                };
                let bar = improvement
                    .as_ref()
                    .map_or(best.cost_ns, |(_, e, _)| e.cost_ns);
                if estimate.cost_ns < bar * (1.0 - 1e-6) {
                    improvement = Some((candidate, estimate, trial));
                }
            }
            match improvement {
                Some((candidate, estimate, trial)) => {
                    grid = candidate;
                    best = estimate;
                    choices = trial;
                }
                None => break,
            }
        }
        Some((grid, best, choices))
    }

    fn run(&self) -> Optimized {
        let mut candidates: Vec<(String, CostEstimate)> = Vec::new();
        // Every filtered column may be mapped onto the sort column (a mapping adds no cells);
        // the grid, curves and trees consider the most useful few.
        let all_uses = self.column_uses();
        let uses = all_uses.get(..COLUMNS_CONSIDERED).unwrap_or(&all_uses);
        if self.workload.is_empty() || uses.is_empty() {
            let layout = self.default_layout();
            let estimate = self.evaluate(layout.as_ref()).unwrap_or_default();
            return Optimized {
                candidates: vec![(layout.describe(), estimate)],
                layout,
                estimate,
                evaluations: self.evaluations.get(),
            };
        }
        let mut best: (Box<dyn Layout>, CostEstimate) = (
            Box::new(InsertionOrder),
            self.evaluate(&InsertionOrder).unwrap_or_default(),
        );
        candidates.push((best.0.describe(), best.1));
        let consider = |layout: Box<dyn Layout>,
                        estimate: CostEstimate,
                        candidates: &mut Vec<(String, CostEstimate)>,
                        best: &mut (Box<dyn Layout>, CostEstimate)| {
            candidates.push((layout.describe(), estimate));
            if estimate.cost_ns < best.1.cost_ns {
                *best = (layout, estimate);
            }
        };
        let set = self.set();
        // Baselines: one sort column; curves over the useful columns.
        for usage in uses.iter().take(3) {
            if let Ok(layout) = Sorted::fit(&set, std::slice::from_ref(&usage.name), self.cells_cap)
                && let Ok(estimate) = self.evaluate(&layout)
            {
                consider(Box::new(layout), estimate, &mut candidates, &mut best);
            }
        }
        let curve_columns: Vec<String> = uses
            .iter()
            .take(4)
            .map(|usage| usage.name.clone())
            .collect();
        if curve_columns.len() >= 2 {
            for curve in [Curve::ZOrder, Curve::Hilbert] {
                if let Ok(layout) = CurveLayout::fit(&set, curve, &curve_columns, self.cells_cap)
                    && let Ok(estimate) = self.evaluate(&layout)
                {
                    consider(Box::new(layout), estimate, &mut candidates, &mut best);
                }
            }
        }
        // Learned grids, one per choice of sort column.
        let mut best_grid: Option<GridPlan> = None;
        let sorts: Vec<Option<&ColumnUse>> = uses
            .iter()
            .filter(|usage| usage.distinct > CATEGORICAL_DISTINCT_MAX)
            .take(3)
            .map(Some)
            .chain(std::iter::once(None))
            .collect();
        // Grids get 60% of the budget, split evenly over the sort choices (two searches each
        // when a functional mapping applies); conditional partitioning and trees share the rest.
        let grid_budget = self
            .constraints
            .evaluations_max
            .saturating_sub(self.evaluations.get()) as f64
            * 0.6;
        let searches: usize = sorts
            .iter()
            .map(|sort| {
                1 + sort.is_some_and(|usage| !self.mappings_for(&usage.name, &all_uses).is_empty())
                    as usize
            })
            .sum();
        let per_search = (grid_budget / searches.max(1) as f64) as usize;
        for sort in sorts {
            let sort_name = sort.map(|usage| usage.name.as_str());
            // Start from partitions in proportion to each column's pruning power, spending
            // a share of the cell budget's bits (`START_CELL_BITS`), so the search can move
            // both ways. One start is not enough: where the estimate is flat, the first steps
            // decide the region a greedy search ends in. On lineitem at 0.40 ns per value,
            // the search sorted by ship date (with both date mappings) went down from 288
            // cells to 40, which it priced 16% above the 15,360 cells it climbs to from
            // 1,920; at 0.45 ns it had gone up from 288 instead.
            // The sort column may be cut too: coarse ranges on it spare a query filtering it
            // the cells outside its range, while the sort narrows inside each visited cell.
            let dimensions: Vec<&ColumnUse> = uses.iter().take(MAX_GRID_DIMENSIONS).collect();
            let total_power: f64 = dimensions.iter().map(|usage| usage.power()).sum();
            let start = |budget_bits: f64| -> Vec<Choice> {
                dimensions
                    .iter()
                    .map(|usage| {
                        let share = if total_power > 0.0 {
                            usage.power() / total_power
                        } else {
                            0.0
                        };
                        let partitions = 2f64.powi((budget_bits * share).round() as i32) as u32;
                        let categorical = usage.distinct <= CATEGORICAL_DISTINCT_MAX;
                        Choice {
                            column: usage.name.clone(),
                            partitions: if categorical {
                                partitions.min(usage.distinct.max(1) as u32)
                            } else {
                                partitions
                            }
                            .max(1),
                            mode: if categorical {
                                Mode::Values
                            } else {
                                Mode::Ranges
                            },
                        }
                    })
                    .collect()
            };
            let cap_bits = f64::from(self.cells_cap.max(1)).log2();
            let starts: Vec<Vec<Choice>> = START_CELL_BITS
                .iter()
                .map(|&share| start(cap_bits * share))
                .collect();
            let mapped = sort_name.map_or_else(Vec::new, |name| self.mappings_for(name, &all_uses));
            let plans = if mapped.is_empty() {
                vec![Vec::new()]
            } else {
                vec![Vec::new(), mapped]
            };
            for mappings in plans {
                self.phase_limit.set(self.evaluations.get() + per_search);
                if let Some((grid, estimate, choices)) =
                    self.search_grid(sort_name, starts.clone(), &mappings)
                    && best_grid.as_ref().is_none_or(|plan| {
                        // Sort columns come most useful first; another one must be clearly
                        // cheaper, not just within the noise of the sample and the fitted
                        // costs, or the choice would flip from one run to the next.
                        let margin = if plan.sort.as_deref() == sort_name {
                            1.0
                        } else {
                            1.0 - SORT_SWITCH_MARGIN
                        };
                        estimate.cost_ns < plan.estimate.cost_ns * margin
                    })
                {
                    best_grid = Some(GridPlan {
                        grid,
                        estimate,
                        sort: sort_name.map(str::to_owned),
                        choices,
                        mappings,
                    });
                }
            }
        }
        // Correlated pairs: partition the second conditionally on the first.
        self.start_phase(0.5);
        if let Some(GridPlan {
            estimate: grid_estimate,
            sort,
            choices,
            mappings,
            ..
        }) = best_grid.clone()
        {
            let mut current = (grid_estimate, choices.clone());
            for first in 0..choices.len() {
                for second in first + 1..choices.len() {
                    let (Some(a), Some(b)) = (choices.get(first), choices.get(second)) else {
                        continue;
                    };
                    if a.mode != Mode::Ranges || b.mode != Mode::Ranges || !self.budget_left() {
                        continue;
                    }
                    if self.rank_correlation(&a.column, &b.column).abs() < CORRELATION_MIN {
                        continue;
                    }
                    let mut trial = current.1.clone();
                    if let Some(slot) = trial.get_mut(second) {
                        slot.mode = Mode::Conditional(first);
                        // The conditional column needs partitions to spend.
                        slot.partitions = slot.partitions.max(2);
                    }
                    if let Some(parent) = trial.get_mut(first) {
                        parent.partitions = parent.partitions.max(2);
                    }
                    if let Some((grid, estimate, choices)) =
                        self.search_grid(sort.as_deref(), vec![trial], &mappings)
                        && estimate.cost_ns < current.0.cost_ns
                    {
                        current = (estimate, choices.clone());
                        best_grid = Some(GridPlan {
                            grid,
                            estimate,
                            sort: sort.clone(),
                            choices,
                            mappings: mappings.clone(),
                        });
                    }
                }
            }
        }
        if let Some(plan) = best_grid {
            self.start_phase(1.0);
            let tree = self.search_tree(&plan, uses);
            consider(
                Box::new(plan.grid),
                plan.estimate,
                &mut candidates,
                &mut best,
            );
            if let Some((tree, tree_estimate)) = tree {
                consider(Box::new(tree), tree_estimate, &mut candidates, &mut best);
            }
        }
        Optimized {
            layout: best.0,
            estimate: best.1,
            candidates,
            evaluations: self.evaluations.get(),
        }
    }

    /// Functional mappings worth trying onto sort column `sort`: filtered integer columns
    /// whose offset from it stays within a small fraction of its range on the sample.
    fn mappings_for(&self, sort: &str, uses: &[ColumnUse]) -> Vec<Mapping> {
        let Some(sort_column) = self.column(sort) else {
            return Vec::new();
        };
        if sort_column.logical().physical() != PhysicalKind::Int {
            return Vec::new();
        }
        let keys = column_keys(sort_column);
        let (low, high) = keys
            .iter()
            .enumerate()
            .filter(|&(row, _)| is_valid(sort_column, row))
            .fold(
                (f64::INFINITY, f64::NEG_INFINITY),
                |(low, high), (_, &key)| (low.min(key), high.max(key)),
            );
        let range = high - low;
        let set = self.set();
        uses.iter()
            .filter(|usage| usage.name != sort && usage.distinct > CATEGORICAL_DISTINCT_MAX)
            .filter(|usage| self.kind_of(&usage.name) == Some(PhysicalKind::Int))
            .filter_map(|usage| crate::grid::fit_mapping(&set, sort, &usage.name).ok())
            .filter(|mapping| {
                range > 0.0 && mapping.high - mapping.low <= MAPPING_SPREAD_MAX * range
            })
            .collect()
    }

    /// The layout for a workload that says nothing: sorted by the default key.
    fn default_layout(&self) -> Box<dyn Layout> {
        let set = self.set();
        let key: Vec<String> = if self.constraints.default_sort.is_empty() {
            self.names.iter().take(1).cloned().collect()
        } else {
            self.constraints.default_sort.clone()
        };
        match Sorted::fit(&set, &key, self.cells_cap) {
            Ok(layout) => Box::new(layout),
            Err(_) => Box::new(InsertionOrder),
        }
    }

    /// Spearman's rank correlation of two columns on the sample (rows where both are set).
    fn rank_correlation(&self, a: &str, b: &str) -> f64 {
        let (Some(column_a), Some(column_b)) = (self.column(a), self.column(b)) else {
            return 0.0;
        };
        let (Some(model_a), Some(model_b)) = (self.ranges_of(a), self.ranges_of(b)) else {
            return 0.0;
        };
        let (
            Partitioner::Ranges { model: model_a, .. },
            Partitioner::Ranges { model: model_b, .. },
        ) = (model_a, model_b)
        else {
            return 0.0;
        };
        let (keys_a, keys_b) = (column_keys(column_a), column_keys(column_b));
        let pairs: Vec<(f64, f64)> = keys_a
            .iter()
            .zip(&keys_b)
            .enumerate()
            .filter(|&(row, _)| is_valid(column_a, row) && is_valid(column_b, row))
            .map(|(_, (&x, &y))| (model_a.cdf(x), model_b.cdf(y)))
            .collect();
        pearson(&pairs)
    }

    /// Grid trees of depth one: split the best grid's space on a useful column, at a
    /// quantile or where the workload's ranges on it sit, with a grid searched for each
    /// side's rows and queries.
    fn search_tree(&self, plan: &GridPlan, uses: &[ColumnUse]) -> Option<(GridTree, CostEstimate)> {
        let grid_estimate = plan.estimate;
        let mut best: Option<(GridTree, CostEstimate)> = None;
        for usage in uses.iter().take(2) {
            let column = self.column(&usage.name)?;
            let kind = column.logical().physical();
            let keys = column_keys(column);
            let mut valid: Vec<f64> = keys
                .iter()
                .enumerate()
                .filter(|&(row, _)| is_valid(column, row))
                .map(|(_, &key)| key)
                .collect();
            valid.sort_unstable_by(f64::total_cmp);
            let mut splits: Vec<f64> = [1, 2, 3]
                .iter()
                .filter_map(|quarter| valid.get(valid.len() * quarter / 4).copied())
                .collect();
            // Where the workload's ranges on the column sit: the median of their middles.
            let mut middles: Vec<f64> = self
                .workload
                .iter()
                .filter_map(|predicate| {
                    let filters: Vec<_> = predicate.filters_on(&usage.name).collect();
                    if filters.is_empty() {
                        return None;
                    }
                    let (low, high) = Span::of_filters(filters.into_iter(), kind).hull()?;
                    let middle =
                        (low.max(valid.first().copied()?) + high.min(valid.last().copied()?)) / 2.0;
                    middle.is_finite().then_some(middle)
                })
                .collect();
            middles.sort_unstable_by(f64::total_cmp);
            splits.extend(middles.get(middles.len() / 2).copied());
            splits.sort_unstable_by(f64::total_cmp);
            splits.dedup();
            for split in splits {
                if !self.budget_left() {
                    return best;
                }
                let Some(tree) = self.tree_for(plan, &usage.name, kind, split, &keys, column)
                else {
                    continue;
                };
                let Ok(estimate) = self.evaluate(&tree) else {
                    continue;
                };
                let bar = best
                    .as_ref()
                    .map_or(grid_estimate.cost_ns * (1.0 - TREE_GAIN_MIN), |(_, e)| {
                        e.cost_ns
                    });
                if estimate.cost_ns < bar {
                    best = Some((tree, estimate));
                }
            }
        }
        best
    }

    fn tree_for(
        &self,
        plan: &GridPlan,
        split_column: &str,
        kind: PhysicalKind,
        split: f64,
        keys: &[f64],
        column: &Column,
    ) -> Option<GridTree> {
        let (mut left_rows, mut right_rows) = (Vec::new(), Vec::new());
        for (row, &key) in keys.iter().enumerate() {
            if !is_valid(column, row) || key < split {
                left_rows.push(row);
            } else {
                right_rows.push(row);
            }
        }
        if left_rows.is_empty() || right_rows.is_empty() {
            return None;
        }
        let mut leaves = Vec::with_capacity(2);
        for (rows, left) in [(&left_rows, true), (&right_rows, false)] {
            let queries: Vec<Predicate> = self
                .workload
                .iter()
                .filter(|predicate| {
                    let span = Span::of_filters(predicate.filters_on(split_column), kind);
                    if left {
                        span.null || span.intervals.iter().any(|&(low, _)| low < split)
                    } else {
                        span.intervals.iter().any(|&(_, high)| high >= split)
                    }
                })
                .cloned()
                .collect();
            let columns: Vec<Column> = self
                .columns
                .iter()
                .map(|column| gather(column, rows))
                .collect::<Result<_, _>>()
                .ok()?;
            let side_constraints = Constraints {
                table_rows: (rows.len() as f64 * self.scale) as u64,
                evaluations_max: (self
                    .constraints
                    .evaluations_max
                    .saturating_sub(self.evaluations.get()))
                    / 4,
                ..self.constraints.clone()
            };
            let side = Self::from_parts(
                self.names.clone(),
                columns,
                queries,
                &self.cost,
                &side_constraints,
                rows.len(),
            )
            .ok()?;
            let sort = plan.sort.as_deref();
            let start: Vec<Choice> = plan
                .choices
                .iter()
                .map(|choice| Choice {
                    partitions: 1,
                    ..choice.clone()
                })
                .collect();
            let grid = if side.workload.is_empty() {
                side.build_grid(sort, &start, &plan.mappings)?
            } else {
                side.search_grid(sort, vec![start], &plan.mappings)?.0
            };
            self.evaluations
                .set(self.evaluations.get() + side.evaluations.get());
            leaves.push(TreeNode::Leaf(grid));
        }
        let right = leaves.pop()?;
        let left = leaves.pop()?;
        GridTree::new(TreeNode::Split {
            column: split_column.to_owned(),
            kind,
            key: split,
            left: Box::new(left),
            right: Box::new(right),
        })
        .ok()
    }
}

/// Where the nulls (keys of -inf) of a cell's sorted keys end.
/// The first and last block each cell's rows land in when the engine packs cells in order
/// into blocks of `block_rows` (a cell that does not fit in the block being filled starts a
/// new one; a cell larger than a block gets blocks of its own). `starts` are the cells'
/// first sample rows (one more entry than cells), `scale` table rows per sample row.
fn packed_blocks(starts: &[usize], scale: f64, block_rows: f64) -> Vec<(usize, usize)> {
    let mut blocks = Vec::with_capacity(starts.len().saturating_sub(1));
    let (mut block, mut filled) = (0usize, 0.0f64);
    for (start, past) in starts.iter().zip(starts.iter().skip(1)) {
        let rows = past.saturating_sub(*start) as f64 * scale;
        if rows == 0.0 {
            blocks.push((block, block));
            continue;
        }
        if filled > 0.0 && filled + rows > block_rows {
            block += 1;
            filled = 0.0;
        }
        if rows < block_rows {
            blocks.push((block, block));
            filled += rows;
            continue;
        }
        let whole = (rows / block_rows).floor();
        let first = block;
        block += whole as usize;
        filled = rows - whole * block_rows;
        // With nothing left over, the next cell starts a fresh block.
        let last = if filled > 0.0 { block } else { block - 1 };
        blocks.push((first, last));
    }
    blocks
}

fn nulls_end(keys: &[f64]) -> usize {
    keys.partition_point(|&key| key == f64::NEG_INFINITY)
}

fn pearson(pairs: &[(f64, f64)]) -> f64 {
    let count = pairs.len() as f64;
    if pairs.len() < 2 {
        return 0.0;
    }
    let (mean_x, mean_y) = pairs
        .iter()
        .fold((0.0, 0.0), |(x, y), (a, b)| (x + a / count, y + b / count));
    let (mut covariance, mut variance_x, mut variance_y) = (0.0, 0.0, 0.0);
    for (x, y) in pairs {
        covariance += (x - mean_x) * (y - mean_y);
        variance_x += (x - mean_x) * (x - mean_x);
        variance_y += (y - mean_y) * (y - mean_y);
    }
    let denominator = (variance_x * variance_y).sqrt();
    if denominator > 0.0 {
        covariance / denominator
    } else {
        0.0
    }
}

/// The rows `rows` of a column, in that order.
pub(crate) fn gather(column: &Column, rows: &[usize]) -> Result<Column, LayoutError> {
    let values = match column.values() {
        ColumnValues::Int(values) => ColumnValues::Int(
            rows.iter()
                .filter_map(|&row| values.get(row).copied())
                .collect(),
        ),
        ColumnValues::Float(values) => ColumnValues::Float(
            rows.iter()
                .filter_map(|&row| values.get(row).copied())
                .collect(),
        ),
        ColumnValues::Decimal(values) => ColumnValues::Decimal(
            rows.iter()
                .filter_map(|&row| values.get(row).copied())
                .collect(),
        ),
        ColumnValues::Bool(values) => ColumnValues::Bool(
            rows.iter()
                .filter_map(|&row| values.get(row).copied())
                .collect(),
        ),
        ColumnValues::Bytes(values) => ColumnValues::Bytes(
            tessera_codecs::BytesColumn::from_values(
                rows.iter().filter_map(|&row| values.get(row)),
            )
            .map_err(|error| LayoutError::Invalid(error.to_string()))?,
        ),
    };
    let validity = column.validity().map(|validity| {
        rows.iter()
            .map(|&row| validity.get(row).copied().unwrap_or(true))
            .collect()
    });
    Column::new(column.logical().clone(), values, validity)
        .map_err(|error| LayoutError::Invalid(error.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_codecs::{BytesColumn, LogicalType};

    fn context() -> Context {
        let rows = 3_000;
        let x: Vec<i64> = (0..rows).map(|i| (i * 7_919) % 1_000).collect();
        let y: Vec<i64> = x.iter().zip(0..).map(|(&v, i)| v + (i * 13) % 30).collect();
        let modes = ["a", "b", "c", "d"];
        let z: Vec<&[u8]> = (0..rows)
            .map(|i| modes[(i % 4) as usize].as_bytes())
            .collect();
        let validity: Vec<bool> = (0..rows).map(|i| i % 37 != 0).collect();
        let names = ["x", "y", "z"].map(str::to_owned).to_vec();
        let columns = vec![
            Column::new(LogicalType::Int64, ColumnValues::Int(x), None).unwrap(),
            Column::new(LogicalType::Int64, ColumnValues::Int(y), Some(validity)).unwrap(),
            Column::new(
                LogicalType::Utf8,
                ColumnValues::Bytes(BytesColumn::from_values(z).unwrap()),
                None,
            )
            .unwrap(),
        ];
        Context::from_parts(
            names,
            columns,
            Vec::new(),
            &CostModel::default(),
            &Constraints::default(),
            rows as usize,
        )
        .unwrap()
    }

    #[test]
    fn cached_assignment_agrees_with_the_layout() {
        let context = context();
        let set = context.set();
        let mapping = crate::grid::fit_mapping(&set, "x", "y").unwrap();
        let plans = [
            (vec![("x", 8, Mode::Ranges), ("z", 3, Mode::Values)], vec![]),
            (
                vec![("x", 4, Mode::Ranges), ("y", 5, Mode::Conditional(0))],
                vec![],
            ),
            (
                vec![("z", 2, Mode::Values), ("y", 3, Mode::Ranges)],
                vec![mapping],
            ),
        ];
        for (choices, mappings) in plans {
            let choices: Vec<Choice> = choices
                .into_iter()
                .map(|(column, partitions, mode)| Choice {
                    column: column.to_owned(),
                    partitions,
                    mode,
                })
                .collect();
            // Twice: the second run reads every cache.
            for _ in 0..2 {
                let grid = context.build_grid(Some("x"), &choices, &mappings).unwrap();
                assert_eq!(
                    context.assign_grid(&grid).unwrap(),
                    grid.assign(&set).unwrap(),
                    "{}",
                    grid.describe()
                );
            }
        }
    }

    #[test]
    fn packed_blocks_share_blocks_among_small_cells_as_the_engine_cuts_them() {
        // Cells of 30, 30, 50, 0, 250 and 20 sample rows, 10 table rows each, blocks of 1000.
        let starts = [0, 30, 60, 110, 110, 360, 380];
        assert_eq!(
            packed_blocks(&starts, 10.0, 1_000.0),
            vec![(0, 0), (0, 0), (1, 1), (1, 1), (2, 4), (4, 4)]
        );
        // A cell of exactly two blocks leaves the next one a fresh block.
        assert_eq!(
            packed_blocks(&[0, 200, 201], 10.0, 1_000.0),
            vec![(0, 1), (2, 2)]
        );
    }

    #[test]
    fn filtered_columns_count_each_column_once_but_the_sort_column() {
        let range = |column: &str| crate::predicate::ColumnFilter {
            column: column.into(),
            terms: vec![crate::predicate::Term::IsNotNull],
        };
        let predicate = Predicate::all()
            .and(range("a"))
            .and(range("b"))
            .and(range("a"))
            .and(range("s"));
        assert_eq!(filtered_columns(&predicate, None), 3);
        assert_eq!(filtered_columns(&predicate, Some("s")), 2);
        assert_eq!(filtered_columns(&predicate, Some("b")), 2);
        let on_sort = Predicate::all().and(range("s"));
        assert_eq!(
            filtered_columns(&on_sort, Some("s")),
            1,
            "a pass over the rows"
        );
        assert_eq!(filtered_columns(&Predicate::all(), None), 1);
    }

    #[test]
    fn cost_models_print_the_costs_that_tell_layouts_apart() {
        let cost = CostModel {
            per_value_ns: 0.474,
            per_block_ns: 15_820.0,
            ..CostModel::default()
        };
        assert_eq!(
            cost.to_string(),
            "0.47 ns per value filtered, 15.8 us per block, 100 ns per cell"
        );
    }

    #[test]
    fn rank_correlation_sees_correlated_columns() {
        let context = context();
        assert!(context.rank_correlation("x", "y") > 0.9);
        assert!(context.rank_correlation("x", "z").abs() < 0.2);
        assert_eq!(pearson(&[(1.0, 1.0)]), 0.0);
    }
}
