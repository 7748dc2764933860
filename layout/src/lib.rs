//! `tessera-layout` will own the learned part of Tessera as pure policy: CDF models of
//! column distributions, multi-dimensional layouts (insertion order, sort key, Z-order,
//! Hilbert, learned grids and trees), the layout optimizer, learned zone maps and learned
//! sort. It takes samples, predicates and a workload and returns decisions (a layout, a
//! cell id, cell ranges, a sort permutation); it never does I/O and never sees RocksDB.
//! The crate is empty until the layout work lands; the engine depends on it already so the
//! dependency direction is fixed from the start.
