//! `tessera` is the embedded database users depend on. It will own background compaction
//! into encoded blocks, scans with zone-map pruning, versions and workload tracking; today it
//! owns a durable [`Db`] on RocksDB ([`db`]) with a catalog of tables ([`catalog`]), the write
//! path (insert with upsert, delete with tombstones) and the read path (point reads and
//! snapshot scans with predicates) over the `delta` column family ([`table`]), the
//! order-preserving key encoding ([`keys`]) and row format ([`row`]) they store, the
//! conversion between Arrow arrays and the codec layer's typed columns ([`columnar`]), and
//! the crate's one error type ([`Error`]).

pub mod aggregate;
pub mod block;
mod bytes;
mod cache;
pub mod catalog;
pub mod columnar;
pub mod compaction;
pub mod db;
pub mod error;
mod evaluate;
pub mod keys;
pub mod optimize;
pub mod row;
pub mod stats;
pub mod table;
mod version;

pub use aggregate::{Aggregate, AggregateFunction, AggregateRequest, AggregateResult, Aggregator};
pub use compaction::{CompactionReport, RelayoutReport};
pub use db::{Db, Options, TableOptions};
pub use error::{Error, Result};
pub use optimize::OptimizeReport;
pub use stats::{ColumnStats, TableStats};
pub use table::{ScanExplain, ScanRequest, ScanResult, ScanStats, Table};
pub use tessera_layout::{ColumnFilter, LayoutChoice, Predicate, Range, Scalar, Term};
