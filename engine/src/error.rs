//! The one error type of `tessera`: every failure says what was wrong and where (which
//! column, which type), and wraps the codec and Arrow errors it passes on.

use tessera_codecs::CodecError;

/// The result of every fallible `tessera` call.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Errors from the `tessera` engine.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An Arrow column has a type Tessera cannot store.
    #[error("column {column:?} has Arrow type {data_type}, which tessera cannot store")]
    UnsupportedType {
        /// The column's name.
        column: String,
        /// The Arrow type, as Arrow displays it.
        data_type: String,
    },
    /// A column's values do not fit what one codec column can hold (for example more than
    /// 4 GiB of string data behind 32-bit offsets).
    #[error("column {column:?}: {what} is {actual}, the limit is {limit}")]
    ColumnTooLarge {
        /// The column's name.
        column: String,
        /// What is too large.
        what: &'static str,
        /// Its size.
        actual: u64,
        /// The limit.
        limit: u64,
    },
    /// A codec column was asked to become an Arrow array of a type its values do not hold.
    #[error("a {logical} column cannot become an Arrow {data_type} array")]
    TypeMismatch {
        /// The column's logical type.
        logical: String,
        /// The Arrow type asked for.
        data_type: String,
    },
    /// A codec column is too large for the Arrow type asked for (string data past the
    /// 2 GiB that 32-bit Arrow offsets address).
    #[error("{actual} bytes of values do not fit an Arrow {data_type} array (limit {limit})")]
    TooLargeForType {
        /// The Arrow type asked for.
        data_type: String,
        /// Bytes of values.
        actual: u64,
        /// The most that type holds.
        limit: u64,
    },
    /// RocksDB failed; `operation` says what the engine was doing.
    #[error("storage error while {operation}: {source}")]
    Storage {
        /// What the engine was doing (for example "writing table \"orders\"").
        operation: String,
        /// RocksDB's error.
        source: rocksdb::Error,
    },
    /// The database directory is already open, by another process or by this one (RocksDB
    /// holds the directory's `LOCK` file while a database is open).
    #[error("database {path:?} is already open by another process or handle: {message}")]
    AlreadyOpen {
        /// The database directory.
        path: std::path::PathBuf,
        /// RocksDB's message.
        message: String,
    },
    /// Bytes stored by the engine (a catalog entry, a key, a row) do not decode.
    #[error("corrupt {what} at key {key}: {reason}")]
    Corrupt {
        /// What was being decoded (for example "row of table \"orders\"").
        what: String,
        /// The RocksDB key, as hex.
        key: String,
        /// What is wrong.
        reason: String,
    },
    /// Stored bytes carry a format version this build does not read.
    #[error("{what} has format version {version}, this build reads up to {supported}")]
    UnsupportedFormatVersion {
        /// What was being decoded.
        what: String,
        /// The version found.
        version: u16,
        /// The newest version this build reads.
        supported: u16,
    },
    /// A table of that name already exists.
    #[error("table {table:?} already exists")]
    TableExists {
        /// The table's name.
        table: String,
    },
    /// No table of that name exists (or it was dropped).
    #[error("table {table:?} does not exist")]
    TableNotFound {
        /// The table's name.
        table: String,
    },
    /// A table definition is not valid (empty name, no primary key, duplicate columns, ...).
    #[error("invalid definition of table {table:?}: {reason}")]
    InvalidTable {
        /// The table's name.
        table: String,
        /// What is wrong.
        reason: String,
    },
    /// A primary-key column has a type that keys cannot be built from.
    #[error(
        "table {table:?}: key column {column:?} has type {data_type}, which keys do not support"
    )]
    UnsupportedKeyType {
        /// The table's name.
        table: String,
        /// The column's name.
        column: String,
        /// Its Arrow type.
        data_type: String,
    },
    /// A batch, projection or predicate names a column the table does not have.
    #[error("table {table:?} has no column {column:?}")]
    UnknownColumn {
        /// The table's name.
        table: String,
        /// The column named.
        column: String,
    },
    /// A batch lacks a column the operation needs.
    #[error("table {table:?}: the batch lacks column {column:?}")]
    MissingColumn {
        /// The table's name.
        table: String,
        /// The column missing.
        column: String,
    },
    /// A batch or projection names a column twice.
    #[error("table {table:?}: column {column:?} appears more than once")]
    DuplicateColumn {
        /// The table's name.
        table: String,
        /// The column repeated.
        column: String,
    },
    /// A batch column's type differs from the table's.
    #[error("table {table:?}: column {column:?} has type {actual}, the table stores {expected}")]
    ColumnTypeMismatch {
        /// The table's name.
        table: String,
        /// The column's name.
        column: String,
        /// The table's type for it.
        expected: String,
        /// The batch's type.
        actual: String,
    },
    /// A primary-key column holds a null.
    #[error("table {table:?}: key column {column:?} is null in row {row}")]
    NullKey {
        /// The table's name.
        table: String,
        /// The key column.
        column: String,
        /// The row of the batch.
        row: usize,
    },
    /// A column declared not nullable holds a null.
    #[error("table {table:?}: column {column:?} is not nullable but row {row} is null")]
    NullNotAllowed {
        /// The table's name.
        table: String,
        /// The column.
        column: String,
        /// The row of the batch.
        row: usize,
    },
    /// A point read was given a key batch without exactly one row.
    #[error("table {table:?}: a key lookup takes exactly one row, the batch has {rows}")]
    KeyRowCount {
        /// The table's name.
        table: String,
        /// Rows in the batch.
        rows: usize,
    },
    /// A predicate compares a column with a value of another kind.
    #[error(
        "table {table:?}: predicate on column {column:?} uses a {actual} value, the column holds {expected} values"
    )]
    PredicateTypeMismatch {
        /// The table's name.
        table: String,
        /// The column.
        column: String,
        /// The physical kind the column holds.
        expected: String,
        /// The kind of the predicate's value.
        actual: String,
    },
    /// A counter persisted by the engine (table ids, sequence numbers) ran out.
    #[error("{what} exhausted")]
    Exhausted {
        /// What ran out.
        what: &'static str,
    },
    /// A stored block of a table does not match its checksum, its metadata or its format.
    /// Other blocks and other tables stay readable.
    #[error("corrupt block {block} of table {table:?}, column {column:?}: {reason}")]
    CorruptBlock {
        /// The table.
        table: String,
        /// The block id.
        block: u64,
        /// The column whose chunk is damaged.
        column: String,
        /// What is wrong.
        reason: String,
    },
    /// A file operation of the engine's own (outside RocksDB) failed.
    #[error("{operation}: {source}")]
    Io {
        /// What the engine was doing.
        operation: String,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The engine could not start a thread.
    #[error("{what}: {source}")]
    Thread {
        /// What the thread was for.
        what: &'static str,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The layout could not be used or read.
    #[error("layout of table {table:?}: {source}")]
    Layout {
        /// The table.
        table: String,
        /// What the layout reported.
        source: tessera_layout::LayoutError,
    },
    /// Building, encoding or decoding a column failed in the codec layer.
    #[error(transparent)]
    Codec(#[from] CodecError),
    /// Arrow rejected an array.
    #[error(transparent)]
    Arrow(#[from] arrow::error::ArrowError),
}
