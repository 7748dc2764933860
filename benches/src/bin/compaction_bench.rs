//! `compaction_bench`: ingest TPC-H `lineitem` into a Tessera table with background
//! compaction on, then measure point reads and full scans.
//!
//! ```text
//! cargo run --release -p tessera-benches --bin compaction_bench -- --scale 1
//!     [--batch-rows 10000] [--gets 100000] [--blob-files true] [--dir DIR] [--json FILE]
//! ```
//!
//! The data is generated in memory first (not timed). One writer thread inserts the batches
//! while a reader thread runs a selective scan in a loop (its latency is "scan while
//! ingesting"); ingest ends when the last row is folded into blocks, so the reported rate
//! includes compaction. Write amplification is the bytes this process wrote through
//! `write(2)` (RocksDB's WAL, SST and blob files, manifests; from `/proc/self/io`) over the
//! logical Arrow bytes of the rows ingested; space amplification is the size of the database
//! directory after a final flush over the same logical bytes. Point reads then run on random
//! primary keys, once to warm the caches and once timed; the full scan runs three times and
//! the median is reported.
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a report binary prints its report and its progress"
)]

use std::error::Error;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use arrow::array::{Array, Int32Array, Int64Array, RecordBatch};
use arrow::datatypes::{DataType, Field, Schema};
use clap::Parser;
use tessera::{
    ColumnFilter, Db, Options, Predicate, Range, Scalar, ScanRequest, TableOptions, Term,
};
use tessera_benches::{directory_bytes, percentile_micros};

/// An application picks its allocator; glibc's slows down on the small allocations of point
/// reads once decoded chunks have fragmented its heap.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
use tpchgen::generators::LineItemGenerator;
use tpchgen_arrow::LineItemArrow;

/// Command-line arguments.
#[derive(Debug, Parser)]
#[command(about = "Ingest, compaction, point-read and scan numbers of Tessera on TPC-H lineitem")]
struct Args {
    /// TPC-H scale factor.
    #[arg(long, default_value_t = 1.0)]
    scale: f64,
    /// Rows per insert.
    #[arg(long, default_value_t = 10_000)]
    batch_rows: usize,
    /// Point reads timed (after as many untimed warm-up reads).
    #[arg(long, default_value_t = 100_000)]
    gets: usize,
    /// Keep encoded chunks in RocksDB blob files.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    blob_files: bool,
    /// Delta bytes that queue a compaction, in MiB (the engine's default).
    #[arg(long, default_value_t = 256)]
    threshold_mib: u64,
    /// Background compaction threads (0: compaction runs only at the end of ingest).
    #[arg(long, default_value_t = 1)]
    compaction_threads: usize,
    /// Decoded-chunk cache, in MiB.
    #[arg(long, default_value_t = 2048)]
    cache_mib: usize,
    /// Scans between automatic layout checks (0: off, the default here).
    #[arg(long, default_value_t = 0)]
    tune_every: u64,
    /// Database directory (default: a temporary directory, removed afterwards).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Also write the numbers as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
}

fn main() -> Result<(), Box<dyn Error>> {
    let args = Args::parse();
    let temporary = tempfile::tempdir()?;
    let directory = args
        .dir
        .clone()
        .unwrap_or_else(|| temporary.path().join("db"));

    eprintln!("[1/5] generating TPC-H lineitem at scale {}", args.scale);
    let generator = LineItemArrow::new(LineItemGenerator::new(args.scale, 1, 1))
        .with_batch_size(args.batch_rows);
    let schema = LineItemArrow::schema_ref();
    let batches = generator.collect::<Result<Vec<_>, _>>()?;
    let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
    let logical_bytes: u64 = batches
        .iter()
        .flat_map(|batch| batch.columns())
        .map(|array| array.to_data().get_slice_memory_size().unwrap_or(0) as u64)
        .sum();

    let options = Options {
        compaction_threshold_bytes: args.threshold_mib << 20,
        cache_bytes: args.cache_mib << 20,
        blob_files: args.blob_files,
        compaction_threads: args.compaction_threads,
        // The reader's scans would queue an automatic re-layout whose full rewrite then
        // overlaps the point reads; layout_bench measures re-layout.
        tune_every: args.tune_every,
        ..Options::default()
    };
    let db = Arc::new(Db::open(&directory, options)?);
    let table = db.create_table(
        "lineitem",
        schema,
        TableOptions {
            primary_key: vec!["l_orderkey".into(), "l_linenumber".into()],
        },
    )?;
    let max_orderkey = max_orderkey(&batches)?;

    eprintln!(
        "[2/5] ingesting {rows} rows in batches of {} with background compaction",
        args.batch_rows
    );
    let written_before = process_bytes_written()?;
    let ingesting = Arc::new(AtomicBool::new(true));
    let reader = {
        let table = table.clone();
        let ingesting = Arc::clone(&ingesting);
        std::thread::spawn(move || -> Result<Vec<Duration>, tessera::Error> {
            let mut latencies = Vec::new();
            let mut low = 1i64;
            while ingesting.load(Ordering::Relaxed) {
                let started = Instant::now();
                let predicate = Predicate::all().and(ColumnFilter {
                    column: "l_orderkey".into(),
                    terms: vec![Term::Range(Range::closed(
                        Scalar::Int(low),
                        Scalar::Int(low + 999),
                    ))],
                });
                table.scan(ScanRequest {
                    predicate,
                    ..ScanRequest::default()
                })?;
                latencies.push(started.elapsed());
                low = (low + 7_919) % max_orderkey.max(1);
                std::thread::sleep(Duration::from_millis(20));
            }
            Ok(latencies)
        })
    };
    let started = Instant::now();
    for batch in &batches {
        table.insert(batch)?;
    }
    let acknowledged = started.elapsed();
    // Fold what the background compactor has not folded yet.
    table.compact()?;
    let ingest = started.elapsed();
    ingesting.store(false, Ordering::Relaxed);
    let mut scan_latencies = reader.join().map_err(|_| "the reader thread panicked")??;
    db.flush()?;
    let written = process_bytes_written()? - written_before;
    if std::env::var_os("TESSERA_ROCKSDB_STATS").is_some() {
        eprintln!("{}", db.property("rocksdb.stats")?.unwrap_or_default());
    }
    let disk = directory_bytes(&directory)?;
    let stats = table.stats()?;
    if stats.rows != rows as u64 {
        return Err(format!("{} rows after ingest, expected {rows}", stats.rows).into());
    }

    eprintln!("[3/5] {} point reads, warm-up then timed", args.gets);
    let keys = random_keys(&batches, args.gets)?;
    for key in &keys {
        if table.get(key)?.is_none() {
            return Err("a point read missed an ingested key".into());
        }
    }
    let mut get_latencies = Vec::with_capacity(keys.len());
    for key in &keys {
        let started = Instant::now();
        let found = table.get(key)?;
        get_latencies.push(started.elapsed());
        if found.is_none() {
            return Err("a point read missed an ingested key".into());
        }
    }

    eprintln!("[4/5] full scans");
    let mut scan_times = Vec::new();
    for _ in 0..3 {
        let started = Instant::now();
        let result = table.scan(ScanRequest::default())?;
        scan_times.push(started.elapsed());
        if result.num_rows() != rows {
            return Err("a full scan missed rows".into());
        }
    }
    scan_times.sort();
    let full_scan = scan_times.get(1).copied().unwrap_or_default();

    eprintln!("[5/5] report");
    get_latencies.sort();
    scan_latencies.sort();
    let report = Report {
        scale: args.scale,
        rows,
        logical_bytes,
        acknowledged_rows_per_second: rows as f64 / acknowledged.as_secs_f64(),
        ingest_rows_per_second: rows as f64 / ingest.as_secs_f64(),
        bytes_written: written,
        write_amplification: written as f64 / logical_bytes as f64,
        bytes_on_disk: disk,
        space_amplification: disk as f64 / logical_bytes as f64,
        encoded_bytes: stats.columns.iter().map(|column| column.bytes).sum(),
        blocks: stats.blocks,
        get_p50_us: percentile_micros(&get_latencies, 0.50),
        get_p99_us: percentile_micros(&get_latencies, 0.99),
        full_scan_rows_per_second: rows as f64 / full_scan.as_secs_f64(),
        scan_during_ingest_p50_us: percentile_micros(&scan_latencies, 0.50),
        scan_during_ingest_p99_us: percentile_micros(&scan_latencies, 0.99),
        scans_during_ingest: scan_latencies.len(),
        blob_files: args.blob_files,
    };
    print!("{}", report.text());
    if let Some(path) = &args.json {
        std::fs::write(path, report.json())?;
    }
    Ok(())
}

/// What the run measured.
struct Report {
    scale: f64,
    rows: usize,
    logical_bytes: u64,
    acknowledged_rows_per_second: f64,
    ingest_rows_per_second: f64,
    bytes_written: u64,
    write_amplification: f64,
    bytes_on_disk: u64,
    space_amplification: f64,
    encoded_bytes: u64,
    blocks: u64,
    get_p50_us: f64,
    get_p99_us: f64,
    full_scan_rows_per_second: f64,
    scan_during_ingest_p50_us: f64,
    scan_during_ingest_p99_us: f64,
    scans_during_ingest: usize,
    blob_files: bool,
}

impl Report {
    fn text(&self) -> String {
        format!(
            "TPC-H lineitem, scale {}: {} rows, {:.1} MB logical (Arrow), blob files {}\n\
             ingest (acknowledged)           {:>12.0} rows/s\n\
             ingest (including compaction)   {:>12.0} rows/s\n\
             bytes written                   {:>12} ({:.2}x logical: write amplification)\n\
             bytes on disk                   {:>12} ({:.2}x logical: space amplification)\n\
             encoded chunks                  {:>12} in {} blocks\n\
             point get p50 / p99             {:>9.1} us / {:.1} us\n\
             full scan                       {:>12.0} rows/s\n\
             scan during ingest p50 / p99    {:>9.1} us / {:.1} us ({} scans of ~4,000 rows)\n",
            self.scale,
            self.rows,
            self.logical_bytes as f64 / 1e6,
            self.blob_files,
            self.acknowledged_rows_per_second,
            self.ingest_rows_per_second,
            self.bytes_written,
            self.write_amplification,
            self.bytes_on_disk,
            self.space_amplification,
            self.encoded_bytes,
            self.blocks,
            self.get_p50_us,
            self.get_p99_us,
            self.full_scan_rows_per_second,
            self.scan_during_ingest_p50_us,
            self.scan_during_ingest_p99_us,
            self.scans_during_ingest,
        )
    }

    fn json(&self) -> String {
        format!(
            "{{\"scale\": {}, \"rows\": {}, \"logical_bytes\": {}, \"blob_files\": {}, \
             \"acknowledged_rows_per_second\": {:.0}, \"ingest_rows_per_second\": {:.0}, \
             \"bytes_written\": {}, \"write_amplification\": {:.3}, \"bytes_on_disk\": {}, \
             \"space_amplification\": {:.3}, \"encoded_bytes\": {}, \"blocks\": {}, \
             \"get_p50_us\": {:.2}, \"get_p99_us\": {:.2}, \"full_scan_rows_per_second\": {:.0}, \
             \"scan_during_ingest_p50_us\": {:.1}, \"scan_during_ingest_p99_us\": {:.1}}}\n",
            self.scale,
            self.rows,
            self.logical_bytes,
            self.blob_files,
            self.acknowledged_rows_per_second,
            self.ingest_rows_per_second,
            self.bytes_written,
            self.write_amplification,
            self.bytes_on_disk,
            self.space_amplification,
            self.encoded_bytes,
            self.blocks,
            self.get_p50_us,
            self.get_p99_us,
            self.full_scan_rows_per_second,
            self.scan_during_ingest_p50_us,
            self.scan_during_ingest_p99_us,
        )
    }
}

/// `wchar` of `/proc/self/io`: bytes this process passed to `write(2)` and friends.
fn process_bytes_written() -> Result<u64, Box<dyn Error>> {
    let io = std::fs::read_to_string("/proc/self/io")?;
    io.lines()
        .find_map(|line| line.strip_prefix("wchar: "))
        .ok_or("no wchar in /proc/self/io")?
        .trim()
        .parse()
        .map_err(Into::into)
}

fn max_orderkey(batches: &[RecordBatch]) -> Result<i64, Box<dyn Error>> {
    let mut max = 0;
    for batch in batches {
        let keys = batch
            .column_by_name("l_orderkey")
            .and_then(|array| array.as_any().downcast_ref::<Int64Array>())
            .ok_or("l_orderkey is not Int64")?;
        max = max.max(arrow::compute::max(keys).unwrap_or(0));
    }
    Ok(max)
}

/// One-row key batches of `count` rows picked pseudo-randomly from the data.
fn random_keys(batches: &[RecordBatch], count: usize) -> Result<Vec<RecordBatch>, Box<dyn Error>> {
    let schema = Arc::new(Schema::new(vec![
        Field::new("l_orderkey", DataType::Int64, false),
        Field::new("l_linenumber", DataType::Int32, false),
    ]));
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut keys = Vec::with_capacity(count);
    for _ in 0..count {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let batch = batches
            .get(state as usize % batches.len().max(1))
            .ok_or("no data")?;
        let row = (state >> 32) as usize % batch.num_rows().max(1);
        let orderkey = batch
            .column_by_name("l_orderkey")
            .and_then(|array| array.as_any().downcast_ref::<Int64Array>())
            .ok_or("l_orderkey is not Int64")?
            .value(row);
        let linenumber = batch
            .column_by_name("l_linenumber")
            .and_then(|array| array.as_any().downcast_ref::<Int32Array>())
            .ok_or("l_linenumber is not Int32")?
            .value(row);
        keys.push(RecordBatch::try_new(
            Arc::clone(&schema),
            vec![
                Arc::new(Int64Array::from(vec![orderkey])),
                Arc::new(Int32Array::from(vec![linenumber])),
            ],
        )?);
    }
    Ok(keys)
}
