//! `tessera-layout` owns the learned part of Tessera as pure policy: predicates as layouts
//! and the engine understand them, CDF models of column distributions, and (as the layout
//! work lands) multi-dimensional layouts, the layout optimizer, learned zone maps and learned
//! sort. It takes samples, predicates and a workload and returns decisions (a layout, a cell
//! id, cell ranges, a sort permutation); it never does I/O and never sees RocksDB.

pub mod cdf;
pub mod layout;
pub mod predicate;

pub use cdf::{CdfModel, prefix_key};
pub use layout::{CellId, ColumnSet, InsertionOrder, Layout, LayoutError, decode_layout};
pub use predicate::{ColumnFilter, Predicate, Range, Scalar, Term};
