//! `tessera-layout` owns the learned part of Tessera as pure policy: predicates as layouts
//! and the engine understand them, CDF models of column distributions, the layouts
//! themselves (insertion order, a sorted baseline, Z-order and Hilbert curves, the learned
//! grid and the grid tree), the optimizer that picks one for a sample and a workload, the
//! workload log, learned zone maps and learned sort. It takes samples, predicates and a
//! workload and returns decisions (a layout, a cell id, cell ranges, a sort permutation, a row
//! range); it never does I/O and never sees RocksDB.
#![deny(clippy::indexing_slicing)]

pub mod cdf;
pub mod curve;
pub mod fuzz;
pub mod grid;
pub mod keys;
pub mod layout;
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
pub use layout::{CellId, ColumnSet, InsertionOrder, Layout, LayoutError, decode_layout};
pub use optimizer::{
    Constraints, CostEstimate, CostModel, LayoutChoice, Optimized, build_layout, estimate_cost,
    optimize, optimize_with_report,
};
pub use predicate::{ColumnFilter, Predicate, Range, Scalar, Term};
pub use sort::{LearnedSorter, learned_sort_i64, sort_permutation, sort_permutation_i64};
pub use sorted::Sorted;
pub use tree::{GridTree, TreeNode};
pub use workload::{Workload, decode_predicate, encode_predicate};
pub use zonemap::PositionModel;
