//! The database: one RocksDB instance with the engine's column families, the catalog of
//! tables kept in memory, and the two durable counters every write depends on (table ids and
//! sequence numbers).
//!
//! Sequence numbers order the versions of a key: each row written gets one, and the newest
//! wins. They are handed out from an atomic counter, in reservations of
//! [`SEQUENCE_RESERVATION`] persisted (synced) in the catalog before any number of the
//! reservation is used; a reopened database starts above the last reservation, so numbers
//! never repeat even when a process dies between a reservation and the writes using it. This
//! keeps the write path free of a lock and of an extra key per write, at the cost of skipping
//! at most one reservation of numbers per reopen.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use arrow::datatypes::SchemaRef;
use parking_lot::{Mutex, RwLock};
use rocksdb::{ColumnFamily, ColumnFamilyDescriptor, DB, WriteBatch, WriteOptions};

use crate::cache::ColumnCache;
use crate::catalog::{
    NEXT_TABLE_ID_KEY, SEQUENCE_CEILING_KEY, TABLE_KEY_PREFIX, TableMeta, decode_counter,
    encode_counter, table_key,
};
use crate::compaction::{TableVersion, compact_table, load};
use crate::error::{Error, Result};
use crate::keys::table_range;
use crate::table::{Table, TableState};
use crossbeam_channel::{Receiver, Sender};

/// Column family of the catalog: table definitions and durable counters.
pub const CF_CATALOG: &str = "catalog";
/// Column family of fresh writes: rows and tombstones keyed table id ‖ key ‖ sequence.
pub const CF_DELTA: &str = "delta";
/// Column family of encoded column chunks (written by compaction).
pub const CF_BLOCKS: &str = "blocks";
/// Column family of per-block metadata (written by compaction).
pub const CF_BLOCK_META: &str = "block_meta";
/// Column family mapping primary keys to compacted block locations.
pub const CF_PK_INDEX: &str = "pk_index";
/// Every column family the engine uses. All keys of the last four start with a table id.
pub const COLUMN_FAMILIES: [&str; 5] =
    [CF_CATALOG, CF_DELTA, CF_BLOCKS, CF_BLOCK_META, CF_PK_INDEX];

/// Sequence numbers reserved (and persisted) at a time.
pub const SEQUENCE_RESERVATION: u64 = 1 << 20;

/// How a database is opened.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// Whether every write waits for its WAL record to be fsynced.
    ///
    /// The default, `false`, is group commit: a write is acknowledged once RocksDB has
    /// appended it to the WAL file (in the operating system's page cache), and concurrent
    /// writers share WAL appends. Acknowledged writes then survive a crash or kill of the
    /// process, which is the failure an embedded engine meets most, but the last moments of
    /// writes can be lost if the machine itself loses power or the kernel crashes; call
    /// [`Db::sync_wal`] at a point that must survive those too. `true` fsyncs the WAL before
    /// every acknowledgement (RocksDB still groups concurrent writers into one fsync), which
    /// survives power loss and costs a disk flush per write, orders of magnitude slower on
    /// most disks. Catalog changes (create and drop table, sequence reservations) are always
    /// synced: they are rare and every later write depends on them.
    pub sync_writes: bool,
    /// Whether to create the database directory when it does not exist (default `true`).
    pub create_if_missing: bool,
    /// Threads folding delta into blocks in the background; 0 turns background compaction
    /// off ([`Table::compact`] still works). Default 1.
    pub compaction_threads: usize,
    /// Delta bytes written to a table since its last compaction that queue the next one.
    /// Default 256 MiB: blocks come out full (65,536 rows of a typical table), and each fold
    /// is large enough that its fixed costs vanish while delta stays in RocksDB's memtables
    /// (3x this each, clamped to 64 MiB–1 GiB; up to five under sustained overload) and is
    /// range-deleted before it is flushed. Ingesting lineitem SF1 (`compaction_bench`):
    /// 417–479K rows/s including compaction and write amplification 2.0–2.2 at 64 MiB,
    /// 483–656K rows/s and 1.37 at 256 MiB.
    pub compaction_threshold_bytes: u64,
    /// Bytes of decoded column chunks kept in memory for scans and point reads, counting
    /// the narrow offsets integer and decimal chunks are held with. Folds and re-layouts
    /// put the chunks they write here too, in place of chunks no read used meanwhile.
    /// Default 512 MiB.
    pub cache_bytes: usize,
    /// Whether RocksDB keeps encoded column chunks in blob files (key-value separation), so
    /// its compactions move only small keys and pointers instead of rewriting chunks.
    pub blob_files: bool,
    /// Every this many logged scans of a table, the background compactor asks the layout
    /// optimizer whether a new layout pays; 0 turns automatic re-layout off. Default 256.
    pub tune_every: u64,
    /// The estimated speed-up per query an automatic re-layout needs (current cost over
    /// candidate cost). Default 1.25: a rewrite costs a full pass over the table, and
    /// the estimate is a mean over the logged queries, which the largest ones dominate: on
    /// lineitem, a shift whose tuned layout cut the median scan overhead 3.3x estimated
    /// only 1.43x. A layout an automatic check wrote is provisional: once the workload log
    /// holds as many new predicates as the optimizer learns from (512), one more check asks
    /// only for 1.05 (or this, if lower), then the layout is settled
    /// (`Table::layout_provisional`).
    pub relayout_gain: f64,
    /// Threads a scan reads and filters blocks on, the calling one included: the others
    /// are the database's, shared by its scans; 1 (or 0) scans on the calling thread alone.
    /// Batches come back in the same order whatever the count, and a scan with a limit
    /// reads its blocks one at a time, to stop at the limit. Default: the machine's
    /// parallelism, at most 8.
    pub scan_threads: usize,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            sync_writes: false,
            create_if_missing: true,
            compaction_threads: 1,
            compaction_threshold_bytes: 256 << 20,
            cache_bytes: 512 << 20,
            blob_files: true,
            tune_every: 256,
            relayout_gain: 1.25,
            scan_threads: std::thread::available_parallelism()
                .map_or(1, usize::from)
                .min(SCAN_THREADS_MAX),
        }
    }
}

/// The default of [`Options::scan_threads`] at most: past it, a scan's blocks rarely
/// outnumber the threads.
const SCAN_THREADS_MAX: usize = 8;

/// The threads scans share besides the calling one, or `None` for `threads` of one or none
/// (scans then run in the caller's thread alone).
fn scan_pool(threads: usize) -> Result<Option<rayon::ThreadPool>> {
    if threads <= 1 {
        return Ok(None);
    }
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads - 1)
        .thread_name(|index| format!("tessera-scan-{index}"))
        .build()
        .map(Some)
        .map_err(|error| Error::Thread {
            what: "starting the scan threads",
            source: std::io::Error::other(error),
        })
}

/// A table's options at creation.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TableOptions {
    /// Names of the primary key's columns, in key order; at least one.
    pub primary_key: Vec<String>,
}

/// An open database. `Send + Sync`: share it across threads (by reference or in an `Arc`).
///
/// The database closes when the `Db` and every [`Table`] handle taken from it are dropped.
pub struct Db {
    inner: Arc<DbInner>,
    workers: Vec<std::thread::JoinHandle<()>>,
}

impl Drop for Db {
    /// Stops the background compactors: dropping the queue's only sender ends their loop
    /// after the compaction in progress, if any.
    fn drop(&mut self) {
        self.inner.compactor.lock().take();
        for worker in self.workers.drain(..) {
            let _ = worker.join();
        }
    }
}

/// What `Db` and its tables share.
pub(crate) struct DbInner {
    pub(crate) rocks: DB,
    pub(crate) path: PathBuf,
    sync_writes: bool,
    /// The next sequence number to hand out.
    next_sequence: AtomicU64,
    /// Sequence numbers below this are reserved durably.
    sequence_ceiling: AtomicU64,
    /// Serializes reservations.
    reservation: Mutex<()>,
    /// Serializes catalog changes; holds the next table id.
    catalog: Mutex<u32>,
    tables: RwLock<BTreeMap<String, Arc<TableState>>>,
    /// Decoded column chunks.
    pub(crate) cache: ColumnCache,
    /// Delta bytes that queue a compaction.
    pub(crate) compaction_threshold: u64,
    /// The queue of tables to compact; `None` without background compaction or after
    /// shutdown.
    compactor: Mutex<Option<Sender<Job>>>,
    /// See [`Options::tune_every`].
    pub(crate) tune_every: u64,
    /// See [`Options::relayout_gain`].
    relayout_gain: f64,
    /// The threads scans read blocks on besides the calling one ([`Options::scan_threads`]
    /// less one); `None` for none.
    pub(crate) scan_pool: Option<rayon::ThreadPool>,
    /// The `pk_index` family's options, for the SST files compaction ingests into it.
    pub(crate) index_options: rocksdb::Options,
    /// Names the next SST file written for ingestion.
    pub(crate) ingest_files: AtomicU64,
}

/// Work for the background threads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Job {
    /// Fold the table's delta into blocks.
    Compact(u32),
    /// Ask the optimizer whether the table's layout should change, and change it.
    Tune(u32),
}

impl std::fmt::Debug for Db {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Db")
            .field("path", &self.inner.path)
            .field("tables", &self.tables())
            .finish()
    }
}

pub(crate) fn storage(operation: impl Into<String>) -> impl FnOnce(rocksdb::Error) -> Error {
    let operation = operation.into();
    move |source| Error::Storage { operation, source }
}

fn column_family_options(name: &str, engine: &Options, cache: &rocksdb::Cache) -> rocksdb::Options {
    let mut options = rocksdb::Options::default();
    match name {
        CF_DELTA => {
            // Rows are small and repetitive: cheap compression pays.
            options.set_compression_type(rocksdb::DBCompressionType::Lz4);
            // Room for a compaction threshold's worth of rows (and their memtable overhead)
            // while the previous memtable is folded, so folded rows are dropped by the range
            // deletion before they are ever flushed. When writers outrun compaction, a flush
            // waits for two full memtables, giving the fold time to catch up first.
            let buffer = engine
                .compaction_threshold_bytes
                .saturating_mul(3)
                .clamp(64 << 20, 1 << 30);
            options.set_write_buffer_size(buffer as usize);
            options.set_max_write_buffer_number(5);
            options.set_min_write_buffer_number_to_merge(2);
        }
        CF_BLOCKS => {
            // Blocks are already encoded by the codec layer; compressing them again wastes CPU.
            options.set_compression_type(rocksdb::DBCompressionType::None);
            if engine.blob_files {
                options.set_enable_blob_files(true);
                options.set_min_blob_size(4 << 10);
                options.set_blob_compression_type(rocksdb::DBCompressionType::None);
            }
        }
        CF_PK_INDEX => {
            // Point lookups: a bloom filter skips files without the key, blocks stay
            // uncompressed so a cached block is read without decompressing it.
            options.set_compression_type(rocksdb::DBCompressionType::None);
            let mut table = rocksdb::BlockBasedOptions::default();
            table.set_bloom_filter(10.0, false);
            table.set_block_cache(cache);
            table.set_cache_index_and_filter_blocks(true);
            table.set_pin_l0_filter_and_index_blocks_in_cache(true);
            options.set_block_based_table_factory(&table);
        }
        _ => {}
    }
    options
}

impl Db {
    /// Opens (or, with `create_if_missing`, creates) the database in directory `path`.
    ///
    /// Fails with [`Error::AlreadyOpen`] when another process, or another `Db` in this
    /// process, has it open.
    pub fn open(path: impl AsRef<Path>, options: Options) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let _span = tracing::debug_span!("open", path = %path.display()).entered();
        let mut db_options = rocksdb::Options::default();
        db_options.create_if_missing(options.create_if_missing);
        db_options.create_missing_column_families(true);
        // Column families a newer build may have added must be opened too. A directory
        // without a database has none to list (and listing it leaks a byte in RocksDB's C
        // API, which the fuzzer's leak checker reports).
        let existing = if path.join("CURRENT").exists() {
            DB::list_cf(&db_options, &path).unwrap_or_default()
        } else {
            Vec::new()
        };
        let mut names: Vec<String> = COLUMN_FAMILIES
            .iter()
            .map(|&name| name.to_owned())
            .collect();
        for name in existing {
            if name != rocksdb::DEFAULT_COLUMN_FAMILY_NAME && !names.contains(&name) {
                names.push(name);
            }
        }
        // RocksDB's block cache for the index family (the engine's own cache holds decoded
        // chunks).
        let cache = rocksdb::Cache::new_lru_cache(INDEX_CACHE_BYTES);
        let descriptors = names.iter().map(|name| {
            ColumnFamilyDescriptor::new(name, column_family_options(name, &options, &cache))
        });
        let rocks = DB::open_cf_descriptors(&db_options, &path, descriptors)
            .map_err(|source| open_error(&path, source))?;
        crate::ingest::sweep(&path)?;
        let inner = DbInner {
            rocks,
            path,
            sync_writes: options.sync_writes,
            next_sequence: AtomicU64::new(0),
            sequence_ceiling: AtomicU64::new(0),
            reservation: Mutex::new(()),
            catalog: Mutex::new(1),
            tables: RwLock::new(BTreeMap::new()),
            cache: ColumnCache::new(options.cache_bytes),
            compaction_threshold: options.compaction_threshold_bytes.max(1),
            compactor: Mutex::new(None),
            tune_every: options.tune_every,
            relayout_gain: options.relayout_gain.max(1.0),
            scan_pool: scan_pool(options.scan_threads)?,
            index_options: column_family_options(CF_PK_INDEX, &options, &cache),
            ingest_files: AtomicU64::new(0),
        };
        inner.load_catalog()?;
        let inner = Arc::new(inner);
        let mut workers = Vec::new();
        if options.compaction_threads > 0 {
            let (sender, receiver) = crossbeam_channel::bounded::<Job>(COMPACTION_QUEUE);
            for index in 0..options.compaction_threads {
                let inner = Arc::clone(&inner);
                let receiver = receiver.clone();
                let worker = std::thread::Builder::new()
                    .name(format!("tessera-compact-{index}"))
                    .spawn(move || compaction_worker(&inner, &receiver))
                    .map_err(|source| Error::Thread {
                        what: "starting a compaction thread",
                        source,
                    })?;
                workers.push(worker);
            }
            *inner.compactor.lock() = Some(sender);
        }
        Ok(Self { inner, workers })
    }

    /// Flushes RocksDB's memtables to disk and syncs the WAL.
    pub fn flush(&self) -> Result<()> {
        for name in COLUMN_FAMILIES {
            self.inner
                .rocks
                .flush_cf(self.inner.cf(name)?)
                .map_err(storage(format!("flushing {name}")))?;
        }
        self.sync_wal()
    }

    /// A RocksDB property of the whole database (for example `rocksdb.stats`), for
    /// benchmarks and diagnostics.
    pub fn property(&self, name: &str) -> Result<Option<String>> {
        self.inner
            .rocks
            .property_value(name)
            .map_err(storage(format!("reading property {name}")))
    }

    /// The sum of an integer RocksDB property over the engine's column families (for
    /// example `rocksdb.total-sst-files-size`).
    pub fn property_sum(&self, name: &str) -> Result<u64> {
        let mut total = 0u64;
        for family in COLUMN_FAMILIES {
            total += self
                .inner
                .rocks
                .property_int_value_cf(self.inner.cf(family)?, name)
                .map_err(storage(format!("reading property {name}")))?
                .unwrap_or(0);
        }
        Ok(total)
    }

    /// The database directory.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Creates a table. Fails when the name is taken, when the definition is invalid (see
    /// [`TableMeta::new`]) or a column's type cannot be stored.
    pub fn create_table(
        &self,
        name: &str,
        schema: SchemaRef,
        options: TableOptions,
    ) -> Result<Table> {
        let _span = tracing::debug_span!("create_table", table = name).entered();
        let mut next_id = self.inner.catalog.lock();
        if self.inner.tables.read().contains_key(name) {
            return Err(Error::TableExists {
                table: name.to_owned(),
            });
        }
        let id = *next_id;
        // The last id stays unused so that every table's key range has an end.
        let following = id
            .checked_add(1)
            .filter(|&following| following < u32::MAX)
            .ok_or(Error::Exhausted { what: "table ids" })?;
        let meta = TableMeta::new(id, name, schema, &options.primary_key)?;
        let catalog = self.inner.cf(CF_CATALOG)?;
        let mut batch = WriteBatch::default();
        batch.put_cf(catalog, table_key(name), meta.encode()?);
        batch.put_cf(
            catalog,
            NEXT_TABLE_ID_KEY,
            encode_counter(u64::from(following)),
        );
        self.inner
            .write_synced(batch)
            .map_err(storage(format!("creating table {name:?}")))?;
        *next_id = following;
        let state = Arc::new(TableState::new(
            meta,
            TableVersion::empty(),
            1,
            crate::optimize::WorkloadLog::default(),
            false,
        ));
        self.inner
            .tables
            .write()
            .insert(name.to_owned(), Arc::clone(&state));
        Ok(Table::new(Arc::clone(&self.inner), state))
    }

    /// Drops a table and everything stored for it. Handles to it fail from then on with
    /// [`Error::TableNotFound`]; writes in flight finish first.
    pub fn drop_table(&self, name: &str) -> Result<()> {
        let _span = tracing::debug_span!("drop_table", table = name).entered();
        let _catalog = self.inner.catalog.lock();
        let state = self.inner.table_state(name)?;
        let _compaction = state.compaction.lock();
        let mut writer = state.writer.write();
        let (start, end) = table_range(state.meta.id());
        let mut batch = WriteBatch::default();
        let catalog = self.inner.cf(CF_CATALOG)?;
        batch.delete_cf(catalog, table_key(name));
        batch.delete_cf(catalog, crate::compaction::manifest_key(state.meta.id()));
        // Held until the drop is written, so no part of the workload log outlives the table.
        let mut workload = state.workload.lock();
        for key in workload.keys(state.meta.id()) {
            batch.delete_cf(catalog, key);
        }
        batch.delete_cf(catalog, crate::optimize::layout_pin_key(state.meta.id()));
        batch.delete_cf(catalog, crate::optimize::provisional_key(state.meta.id()));
        for family in [CF_DELTA, CF_BLOCKS, CF_BLOCK_META, CF_PK_INDEX] {
            batch.delete_range_cf(self.inner.cf(family)?, &start, &end);
        }
        self.inner
            .write_synced(batch)
            .map_err(storage(format!("dropping table {name:?}")))?;
        writer.dropped = true;
        workload.stop();
        drop(workload);
        self.inner.tables.write().remove(name);
        self.inner.cache.forget_table(state.meta.id());
        Ok(())
    }

    /// The names of the tables, in byte order.
    pub fn tables(&self) -> Vec<String> {
        self.inner.tables.read().keys().cloned().collect()
    }

    /// A handle to the table `name`.
    pub fn table(&self, name: &str) -> Result<Table> {
        let state = self.inner.table_state(name)?;
        Ok(Table::new(Arc::clone(&self.inner), state))
    }

    /// Fsyncs the WAL: every write acknowledged before the call survives power loss too
    /// (needed only without [`Options::sync_writes`]).
    pub fn sync_wal(&self) -> Result<()> {
        self.inner
            .rocks
            .flush_wal(true)
            .map_err(storage("syncing the WAL"))
    }
}

/// Bytes of RocksDB's block cache for `pk_index`.
const INDEX_CACHE_BYTES: usize = 256 << 20;

/// Tables waiting for a background compaction at most; a full queue drops the request and
/// the table is queued again by its next write.
const COMPACTION_QUEUE: usize = 64;

/// A background worker: folds the delta of each queued table until it is below the
/// threshold, and runs the automatic layout checks, until the queue's sender is dropped.
fn compaction_worker(inner: &DbInner, receiver: &Receiver<Job>) {
    for job in receiver {
        match job {
            Job::Compact(table_id) => {
                let Some(state) = inner.table_by_id(table_id) else {
                    continue;
                };
                loop {
                    match compact_table(inner, &state) {
                        Ok(_) => *state.last_error.lock() = None,
                        Err(error) => {
                            tracing::error!(table = state.meta.name(), %error, "background compaction failed");
                            *state.last_error.lock() = Some(error.to_string());
                            break;
                        }
                    }
                    let shutting_down = inner.compactor.lock().is_none();
                    if shutting_down
                        || state.delta_bytes.load(Ordering::Relaxed) < inner.compaction_threshold
                    {
                        break;
                    }
                }
                state.scheduled.store(false, Ordering::Release);
            }
            Job::Tune(table_id) => {
                let Some(state) = inner.table_by_id(table_id) else {
                    continue;
                };
                // Checks asked for while this one runs queue again; one at a time keeps
                // them from piling up behind a slow check with stale logs.
                state.tuning.store(false, Ordering::Release);
                // A closing database runs no checks still queued: they may rewrite the table.
                let shutting_down = inner.compactor.lock().is_none();
                if shutting_down || state.layout_pinned.load(Ordering::Relaxed) {
                    continue;
                }
                match crate::optimize::automatic_check(inner, &state, inner.relayout_gain) {
                    Ok(report) => tracing::info!(
                        table = state.meta.name(),
                        relaid_out = report.relayout.is_some(),
                        candidate = %report.candidate,
                        "automatic layout check"
                    ),
                    Err(error) => {
                        tracing::error!(table = state.meta.name(), %error, "automatic re-layout failed");
                        *state.last_error.lock() = Some(error.to_string());
                    }
                }
            }
        }
    }
}

/// Maps RocksDB's open error; a held `LOCK` file means the directory is in use.
fn open_error(path: &Path, source: rocksdb::Error) -> Error {
    let message = source.to_string();
    let lowercase = message.to_ascii_lowercase();
    if source.kind() == rocksdb::ErrorKind::IOError && lowercase.contains("lock") {
        Error::AlreadyOpen {
            path: path.to_path_buf(),
            message,
        }
    } else {
        Error::Storage {
            operation: format!("opening database {}", path.display()),
            source,
        }
    }
}

impl DbInner {
    pub(crate) fn cf(&self, name: &'static str) -> Result<&ColumnFamily> {
        self.rocks.cf_handle(name).ok_or_else(|| Error::Corrupt {
            what: "database".to_owned(),
            key: name.to_owned(),
            reason: "the column family is missing".to_owned(),
        })
    }

    /// Writes a batch with the database's durability setting.
    pub(crate) fn write(&self, batch: WriteBatch) -> std::result::Result<(), rocksdb::Error> {
        let mut options = WriteOptions::default();
        options.set_sync(self.sync_writes);
        self.rocks.write_opt(batch, &options)
    }

    /// Writes a batch and fsyncs the WAL before returning.
    pub(crate) fn write_synced(
        &self,
        batch: WriteBatch,
    ) -> std::result::Result<(), rocksdb::Error> {
        let mut options = WriteOptions::default();
        options.set_sync(true);
        self.rocks.write_opt(batch, &options)
    }

    /// Queues a background compaction of a table; `false` when there is no compactor or
    /// its queue is full.
    pub(crate) fn schedule_compaction(&self, table_id: u32) -> bool {
        self.compactor
            .lock()
            .as_ref()
            .is_some_and(|sender| sender.try_send(Job::Compact(table_id)).is_ok())
    }

    /// Queues an automatic layout check of a table (dropped when the queue is full).
    pub(crate) fn schedule_tuning(&self, state: &TableState) {
        if state.tuning.swap(true, Ordering::AcqRel) {
            // A check is queued already; it will read the newest log.
            return;
        }
        let sent = self
            .compactor
            .lock()
            .as_ref()
            .is_some_and(|sender| sender.try_send(Job::Tune(state.meta.id())).is_ok());
        if !sent {
            state.tuning.store(false, Ordering::Release);
        }
    }

    fn table_by_id(&self, table_id: u32) -> Option<Arc<TableState>> {
        self.tables
            .read()
            .values()
            .find(|state| state.meta.id() == table_id)
            .cloned()
    }

    pub(crate) fn table_state(&self, name: &str) -> Result<Arc<TableState>> {
        self.tables
            .read()
            .get(name)
            .cloned()
            .ok_or_else(|| Error::TableNotFound {
                table: name.to_owned(),
            })
    }

    fn load_catalog(&self) -> Result<()> {
        let catalog = self.cf(CF_CATALOG)?;
        let read = |key: &[u8]| -> Result<Option<u64>> {
            self.rocks
                .get_pinned_cf(catalog, key)
                .map_err(storage("reading the catalog"))?
                .map(|bytes| decode_counter(key, &bytes))
                .transpose()
        };
        let next_table_id = read(NEXT_TABLE_ID_KEY)?.unwrap_or(1);
        let next_table_id = u32::try_from(next_table_id).map_err(|_| Error::Corrupt {
            what: "counter".to_owned(),
            key: String::from_utf8_lossy(NEXT_TABLE_ID_KEY).into_owned(),
            reason: format!("table id {next_table_id} exceeds u32"),
        })?;
        *self.catalog.lock() = next_table_id;
        // Sequence 0 is never used; a fresh database starts at 1.
        let ceiling = read(SEQUENCE_CEILING_KEY)?.unwrap_or(1).max(1);
        self.next_sequence.store(ceiling, Ordering::SeqCst);
        self.sequence_ceiling.store(ceiling, Ordering::SeqCst);

        let mut tables = BTreeMap::new();
        let mut iterator = self.rocks.raw_iterator_cf(catalog);
        iterator.seek(TABLE_KEY_PREFIX);
        while let Some((key, value)) = iterator.item() {
            if !key.starts_with(TABLE_KEY_PREFIX) {
                break;
            }
            let meta = TableMeta::decode(key, value)?;
            if table_key(meta.name()) != key {
                return Err(Error::Corrupt {
                    what: "table definition".to_owned(),
                    key: crate::keys::hex(key),
                    reason: format!("it defines table {:?}", meta.name()),
                });
            }
            if meta.id() >= next_table_id {
                return Err(Error::Corrupt {
                    what: "table definition".to_owned(),
                    key: crate::keys::hex(key),
                    reason: format!(
                        "table id {} is not below the next id {next_table_id}",
                        meta.id()
                    ),
                });
            }
            let (version, generation) = load(self, meta.id(), meta.name())?;
            let workload = crate::optimize::load_workload(self, meta.id(), meta.name())?;
            let pinned = crate::optimize::load_layout_pin(self, meta.id(), meta.name())?;
            let provisional = crate::optimize::load_provisional(self, meta.id(), meta.name())?;
            let state = TableState::new(meta, version, generation, workload, pinned);
            *state.provisional.lock() = provisional;
            tables.insert(state.meta.name().to_owned(), Arc::new(state));
            iterator.next();
        }
        iterator.status().map_err(storage("reading the catalog"))?;
        *self.tables.write() = tables;
        Ok(())
    }

    /// Hands out `count` consecutive sequence numbers and returns the first.
    pub(crate) fn allocate_sequences(&self, count: u64) -> Result<u64> {
        let first = self
            .next_sequence
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |next| {
                next.checked_add(count)
            })
            .map_err(|_| Error::Exhausted {
                what: "sequence numbers",
            })?;
        let end = first.checked_add(count).ok_or(Error::Exhausted {
            what: "sequence numbers",
        })?;
        if end > self.sequence_ceiling.load(Ordering::SeqCst) {
            let _reservation = self.reservation.lock();
            let ceiling = self.sequence_ceiling.load(Ordering::SeqCst);
            if end > ceiling {
                let reserved = end
                    .checked_add(SEQUENCE_RESERVATION)
                    .ok_or(Error::Exhausted {
                        what: "sequence numbers",
                    })?;
                let mut batch = WriteBatch::default();
                batch.put_cf(
                    self.cf(CF_CATALOG)?,
                    SEQUENCE_CEILING_KEY,
                    encode_counter(reserved),
                );
                self.write_synced(batch)
                    .map_err(storage("reserving sequence numbers"))?;
                self.sequence_ceiling.store(reserved, Ordering::SeqCst);
            }
        }
        Ok(first)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn db_and_tables_are_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Db>();
        assert_send_sync::<Table>();
    }

    #[test]
    fn sequences_continue_above_the_last_reservation_after_reopen() {
        let directory = tempfile::tempdir().unwrap();
        let first = {
            let db = Db::open(directory.path(), Options::default()).unwrap();
            let first = db.inner.allocate_sequences(10).unwrap();
            assert_eq!(first, 1);
            assert_eq!(db.inner.allocate_sequences(5).unwrap(), 11);
            // Crossing a reservation persists the next one.
            let big = db.inner.allocate_sequences(SEQUENCE_RESERVATION).unwrap();
            assert_eq!(big, 16);
            big + SEQUENCE_RESERVATION
        };
        let db = Db::open(directory.path(), Options::default()).unwrap();
        let after = db.inner.allocate_sequences(1).unwrap();
        assert!(
            after >= first,
            "{after} must not reuse numbers below {first}"
        );
    }

    #[test]
    fn a_second_open_of_the_same_directory_fails_clearly() {
        let directory = tempfile::tempdir().unwrap();
        let _db = Db::open(directory.path(), Options::default()).unwrap();
        let error = Db::open(directory.path(), Options::default()).unwrap_err();
        assert!(matches!(error, Error::AlreadyOpen { .. }), "{error}");
        assert!(error.to_string().contains("already open"));
    }

    #[test]
    fn missing_directories_are_not_created_when_asked_not_to() {
        let directory = tempfile::tempdir().unwrap();
        let options = Options {
            create_if_missing: false,
            ..Options::default()
        };
        let error = Db::open(directory.path().join("absent"), options).unwrap_err();
        assert!(matches!(error, Error::Storage { .. }), "{error}");
    }
}
