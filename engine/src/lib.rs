//! `tessera` is the embedded database users depend on: a durable [`Db`] on RocksDB
//! ([`db`]) with a catalog of tables ([`catalog`]); the write path into delta generations and
//! the read path over compacted blocks merged with delta ([`table`]); compaction into encoded,
//! checksummed blocks with zone maps, deletion vectors and a primary key index, run by
//! background workers ([`compaction`], [`block`]); immutable versions readers pin while
//! writers publish; the workload log, the layout optimizer's inputs and re-layout
//! ([`optimize`]); aggregates computed while scanning ([`aggregate`]); table statistics
//! ([`stats`]); the order-preserving key encoding ([`keys`]) and row format ([`row`]); the
//! conversion between Arrow arrays and the codec layer's typed columns ([`columnar`]); the
//! decoded-chunk cache scans read through, with narrow integer offsets and string dictionary
//! codes beside the values (`cache`, `offsets`, `codes`), and the filters that read them
//! (`evaluate`); bulk index writes as ingested SST files (`ingest`); and the crate's one
//! error type ([`Error`]). [`fuzz`] holds the logic of the `engine_ops` fuzz target.

pub mod aggregate;
pub mod block;
mod bytes;
mod cache;
pub mod catalog;
mod codes;
pub mod columnar;
pub mod compaction;
pub mod db;
pub mod error;
mod evaluate;
pub mod fuzz;
mod ingest;
pub mod keys;
mod offsets;
pub mod optimize;
pub mod row;
pub mod stats;
pub mod table;
mod version;

/// The file `name` of this package's `tests/golden`. The package directory is read when
/// the test runs, as cargo sets it then: the one compiled in may be another checkout's
/// that shared the build, whose files may differ or be gone.
#[cfg(test)]
pub(crate) fn golden_file(name: &str) -> std::path::PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(
            || std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")),
            std::path::PathBuf::from,
        )
        .join("tests/golden")
        .join(name)
}

pub use aggregate::{Aggregate, AggregateFunction, AggregateRequest, AggregateResult, Aggregator};
pub use compaction::{CompactionReport, RelayoutReport};
pub use db::{Db, Options, TableOptions};
pub use error::{Error, Result};
pub use optimize::OptimizeReport;
pub use stats::{ColumnStats, TableStats};
pub use table::{ScanExplain, ScanRequest, ScanResult, ScanStats, Table};
pub use tessera_layout::{
    ColumnFilter, CostModel, DimensionMode, DimensionSpec, GridSpec, LayoutChoice, Predicate,
    Range, Scalar, Term,
};
