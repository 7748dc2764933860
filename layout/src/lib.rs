//! `tessera-layout` owns the learned part of Tessera as pure policy: predicates as layouts
//! and the engine understand them, CDF models of column distributions, the layouts
//! themselves (insertion order, a sorted baseline, Z-order and Hilbert curves, the learned
//! grid and the grid tree), the optimizer that picks one for a sample and a workload, the
//! workload log, learned zone maps and learned sort. It takes samples, predicates and a
//! workload and returns decisions (a layout, a cell id, cell ranges, a sort permutation, a row
//! range); it never does I/O and never sees RocksDB.
//!
//! How the engine uses it, in one place: the workload log records each scan's predicate; the
//! optimizer turns a sample and the log into a [`Layout`], which serializes into the catalog;
//! compaction routes rows with [`Layout::assign`] and stores each cell in [`Layout::order`]
//! (a [`LearnedSorter`] permutation); a scan visits [`Layout::cells`], prunes and narrows each
//! cell's blocks with [`Layout::narrowing`] and every block's [`PositionModel`].
//!
//! ```
//! use tessera_codecs::{Column, ColumnValues, LogicalType};
//! use tessera_layout::{
//!     ColumnFilter, ColumnSet, Constraints, CostModel, Layout, PositionModel, Predicate, Range,
//!     Scalar, Term, Workload, decode_layout, optimize,
//! };
//!
//! let names = vec!["day".to_owned(), "qty".to_owned()];
//! let columns = vec![
//!     Column::new(LogicalType::Date32, ColumnValues::Int((0..10_000).map(|i| i % 365).collect()), None)?,
//!     Column::new(LogicalType::Int64, ColumnValues::Int((0..10_000).map(|i| i % 50).collect()), None)?,
//! ];
//! let sample = ColumnSet::new(&names, &columns)?;
//! let mut workload = Workload::default();
//! workload.record(Predicate::all().and(ColumnFilter {
//!     column: "day".into(),
//!     terms: vec![Term::Range(Range::closed(Scalar::Int(10), Scalar::Int(20)))],
//! }));
//! let constraints = Constraints { table_rows: 1_000_000, ..Constraints::default() };
//! let layout = optimize(&sample, &workload.predicates(), &CostModel::default(), &constraints);
//! let stored = decode_layout(&layout.encode())?; // what the catalog keeps
//! let cells = stored.assign(&sample)?; // compaction: each row's cell
//! let query = &workload.predicates()[0];
//! let visit = stored.cells(query); // a scan: the cells that may match
//! assert!(cells.iter().enumerate().all(|(row, cell)| {
//!     (10..=20).contains(&(row as i64 % 365)) <= visit.iter().any(|range| range.contains(cell))
//! }));
//! # let _ = PositionModel::fit;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(clippy::indexing_slicing)]

pub mod cdf;
pub mod curve;
pub mod fuzz;
pub mod grid;
pub mod keys;
pub mod layout;
mod matches;
pub mod optimizer;
pub mod partition;
pub mod predicate;
pub mod sort;
pub mod sorted;
pub mod tree;
mod wire;
pub mod workload;
pub mod zonemap;

pub use cdf::{CdfModel, prefix_key};
pub use curve::{Curve, CurveLayout};
pub use grid::{DimensionMode, DimensionSpec, Grid, GridSpec};
pub use layout::{CellId, ColumnSet, Implied, InsertionOrder, Layout, LayoutError, decode_layout};
pub use optimizer::{
    Constraints, CostEstimate, CostModel, LayoutChoice, Optimized, build_layout, estimate_cost,
    filtered_columns, optimize, optimize_with_report,
};
pub use predicate::{ColumnFilter, Predicate, Range, Scalar, Term};
pub use sort::{LearnedSorter, learned_sort_i64, sort_permutation, sort_permutation_i64};
pub use sorted::Sorted;
pub use tree::{GridTree, TreeNode};
pub use workload::{Workload, decode_predicate, encode_predicate};
pub use zonemap::{
    PositionModel, SortedInts, narrow_sorted, narrow_sorted_ints, narrow_sorted_span,
    prefetch_sorted_ints, prefetch_sorted_spans,
};
