//! `layout_bench`: how well each layout serves range queries, and how automatic re-layout
//! follows a workload that shifts.
//!
//! ```text
//! cargo run --release -p tessera-benches --bin layout_bench --
//!     [--datasets lineitem,uniform,skewed,correlated] [--scale 1] [--rows 10000000]
//!     [--train 256] [--queries 96] [--shift-dataset lineitem] [--shift-queries 512]
//!     [--json FILE] [--per-query FILE] [--layouts learned,sorted,...] [--grid SPEC]
//! ```
//!
//! Datasets: TPC-H lineitem (its key and eight filter columns) and generated tables of
//! `--rows` rows with five filter columns each: uniform, skewed (log-normal, Pareto, a
//! skewed category) and correlated (a date, a second date a few days after it, a value that
//! follows the first date, an independent value, a category that drifts with the date).
//!
//! Workloads: range queries over one to four columns, picked with skewed frequencies (the
//! first filter column most often), at target selectivities of 0.01%, 0.1%, 1% and 5% in
//! turn, each built around a real row: per column, the window of the sampled values around
//! the row's value that holds the per-column share of rows.
//!
//! Per dataset, one table is loaded and compacted, then serves `--train` queries in arrival
//! order (the workload log fills); `Table::optimize` learns a layout from the log and
//! rewrites the table (the learned layout); then the baselines are pinned in turn with
//! `Table::pin_layout`: sorted by the most frequent column, and Z-order and Hilbert over the
//! four most frequent columns. Insertion order is measured first, on a second copy of the
//! table as loaded (a table re-laid out into insertion order would keep the order of the
//! layout before), which is then dropped. Each layout serves the same `--queries`
//! queries (drawn apart from the training ones) once to warm the chunk cache, then once
//! timed. Reported per layout: latency p50/p95, scan overhead (rows scanned / rows matched),
//! blocks scanned against the fewest that could hold the matches, build time, model size.
//!
//! The shift: a fresh table with automatic re-layout on serves `--shift-queries` queries of
//! mix A (columns weighted as above), then twice as many of mix B (the weights reversed: the
//! optimizer reads the 512 most recent logged queries, which the new mix must fill), each mix
//! until its layout changed and settled (`Table::layout_provisional`), while a reader thread
//! issues point gets every 2 ms. Reported: how long after the shift the first new layout and
//! the last one went live, how the B queries fared before that, the scan overhead of the
//! layout re-layout chose against a layout learned from B alone, and the slowest reads while
//! a rewrite ran. Before it starts, the database is reopened and 64 point reads of keys
//! spread over the table time cold reads (nothing in the chunk cache).
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a report binary prints its report and its progress"
)]

use std::cmp::Ordering as CmpOrdering;
use std::error::Error;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use arrow::array::{
    Array, ArrayRef, Date32Array, Decimal128Array, Float64Array, Int32Array, Int64Array,
    RecordBatch, StringArray,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use clap::Parser;
use tessera::block::BLOCK_ROWS;
use tessera::{
    ColumnFilter, Db, DimensionMode, DimensionSpec, GridSpec, LayoutChoice, Options, Predicate,
    Range, Scalar, ScanRequest, Table, TableOptions, Term,
};
use tessera_benches::{Rng, percentile_micros, quantile};
use tpchgen::generators::LineItemGenerator;
use tpchgen_arrow::LineItemArrow;

/// The allocator a demanding application would pick (as the `tessera` binary does).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

type BenchResult<T> = Result<T, Box<dyn Error + Send + Sync>>;

/// Command-line arguments.
#[derive(Debug, Parser)]
#[command(
    about = "Scan latency and overhead of learned and baseline layouts, and re-layout under a shifting workload"
)]
struct Args {
    /// Datasets, comma-separated: lineitem, uniform, skewed, correlated.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "lineitem,uniform,skewed,correlated"
    )]
    datasets: Vec<String>,
    /// TPC-H scale factor of lineitem.
    #[arg(long, default_value_t = 1.0)]
    scale: f64,
    /// Rows of each generated table.
    #[arg(long, default_value_t = 10_000_000)]
    rows: usize,
    /// Queries served before the learned layout is built (its workload log).
    #[arg(long, default_value_t = 256)]
    train: usize,
    /// Queries each layout serves, timed.
    #[arg(long, default_value_t = 96)]
    queries: usize,
    /// Timed passes over the queries; each query's latency is its median over the passes.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..))]
    repeat: u32,
    /// Dataset of the shift scenario ("none" skips it). On lineitem the reversed mix leads
    /// with columns the first layout ignores; on the correlated table it barely matters.
    #[arg(long, default_value = "lineitem")]
    shift_dataset: String,
    /// Fewest queries of mix A in the shift scenario (mix B: twice as many).
    #[arg(long, default_value_t = 512)]
    shift_queries: usize,
    /// Seconds each mix of the shift scenario may run while waiting for a re-layout.
    #[arg(long, default_value_t = 300)]
    shift_seconds: u64,
    /// Scans between two automatic layout checks in the shift scenario.
    #[arg(long, default_value_t = 64)]
    tune_every: u64,
    /// Decoded-chunk cache, in MiB.
    #[arg(long, default_value_t = 4096)]
    cache_mib: usize,
    /// Threads each scan reads blocks on (default: the engine's, the machine's parallelism
    /// up to 8); 1 scans on the calling thread alone.
    #[arg(long)]
    scan_threads: Option<usize>,
    /// Seed of data and workloads.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Directory for the databases, kept afterwards (default: a temporary directory, each
    /// database deleted once measured).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Also write the numbers as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Layouts to measure, comma-separated (default: all of insertion_order, learned,
    /// sorted, zorder, hilbert, and grid when `--grid` is given).
    #[arg(long, value_delimiter = ',')]
    layouts: Vec<String>,
    /// Also measure a hand-written grid, pinned, as layout "grid": `SORT/DIMS/MAPPINGS`, DIMS
    /// comma-separated `COLUMN:PARTITIONS[:values|:ranges|:on=COLUMN]`, MAPPINGS
    /// comma-separated columns; for example
    /// `l_shipdate/l_quantity:50:values,l_extendedprice:4/l_receiptdate`.
    #[arg(long)]
    grid: Option<String>,
    /// Also write every timed query as a tab-separated line to this file: dataset, layout,
    /// target selectivity, columns, rows matched, rows scanned, blocks, latency, and the
    /// scan's microseconds planning, in blocks and merging delta, the cells it visited, and
    /// the rows it scanned in blocks that returned none.
    #[arg(long)]
    per_query: Option<PathBuf>,
}

/// Target selectivities, served in turn.
const SELECTIVITIES: [f64; 4] = [0.0001, 0.001, 0.01, 0.05];
/// Rows per insert while loading.
const LOAD_BATCH_ROWS: usize = 100_000;
/// Sampled rows the query generator builds windows from.
const SAMPLE_ROWS: usize = 200_000;

fn main() -> BenchResult<()> {
    let args = Args::parse();
    let temporary = tempfile::tempdir()?;
    let root = args
        .dir
        .clone()
        .unwrap_or_else(|| temporary.path().to_path_buf());
    let mut reports = Vec::new();
    let mut shift_report = None;
    for name in args.datasets.iter().filter(|name| !name.is_empty()) {
        eprintln!("== dataset {name}");
        let dataset = Dataset::generate(name, &args)?;
        let sample = Sample::draw(&dataset)?;
        reports.push(layouts(&args, &dataset, &sample, &root.join(name))?);
        print!(
            "{}",
            reports.last().map(DatasetReport::text).unwrap_or_default()
        );
        discard(&args, &root.join(name))?;
        if *name == args.shift_dataset {
            let directory = root.join(format!("{name}-shift"));
            let report = shift(&args, &dataset, &sample, &directory)?;
            discard(&args, &directory)?;
            print!("{}", report.text());
            shift_report = Some(report);
        }
    }
    if shift_report.is_none() && args.shift_dataset != "none" {
        let dataset = Dataset::generate(&args.shift_dataset, &args)?;
        let sample = Sample::draw(&dataset)?;
        let directory = root.join(format!("{}-shift", args.shift_dataset));
        let report = shift(&args, &dataset, &sample, &directory)?;
        discard(&args, &directory)?;
        print!("{}", report.text());
        shift_report = Some(report);
    }
    if let Some(path) = &args.per_query {
        let mut lines = String::from(
            "dataset\tlayout\ttarget\tcolumns\tmatched\tscanned\tblocks\tlatency_ms\tplan_us\tblocks_us\tdelta_us\tcells\tscanned_unmatched\n",
        );
        for report in &reports {
            for layout in &report.layouts {
                for (measured, columns) in layout.measured.iter().zip(&report.columns) {
                    lines.push_str(&format!(
                        "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{:.3}\t{}\t{}\t{}\t{}\t{}\n",
                        report.dataset,
                        layout.name,
                        measured.target,
                        columns.join(","),
                        measured.matched,
                        measured.scanned,
                        measured.blocks,
                        measured.latency.as_secs_f64() * 1e3,
                        measured.phases[0],
                        measured.phases[1],
                        measured.phases[2],
                        measured.cells,
                        measured.scanned_unmatched,
                    ));
                }
            }
        }
        std::fs::write(path, lines)?;
    }
    if let Some(path) = &args.json {
        let datasets: Vec<String> = reports.iter().map(DatasetReport::json).collect();
        let shift = shift_report
            .as_ref()
            .map_or_else(|| "null".to_owned(), ShiftReport::json);
        std::fs::write(
            path,
            format!(
                "{{\"datasets\": [{}], \"shift\": {shift}}}\n",
                datasets.join(", ")
            ),
        )?;
    }
    Ok(())
}

/// Deletes a finished dataset's database unless `--dir` asked to keep them: ten-million-row
/// tables and their re-layouts take gigabytes each.
fn discard(args: &Args, directory: &Path) -> BenchResult<()> {
    if args.dir.is_none() {
        std::fs::remove_dir_all(directory)?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Data

/// A table to load: its rows, key, and the columns queries filter on, most frequent first.
struct Dataset {
    name: String,
    schema: SchemaRef,
    key: Vec<String>,
    batches: Vec<RecordBatch>,
    rows: usize,
    filter_columns: Vec<String>,
}

impl Dataset {
    fn generate(name: &str, args: &Args) -> BenchResult<Self> {
        let started = Instant::now();
        let dataset = match name {
            "lineitem" => Self::lineitem(args.scale)?,
            "uniform" | "skewed" | "correlated" => Self::synthetic(name, args.rows, args.seed)?,
            other => return Err(format!("unknown dataset {other:?}").into()),
        };
        eprintln!(
            "   generated {} rows in {:.1} s",
            dataset.rows,
            started.elapsed().as_secs_f64()
        );
        Ok(dataset)
    }

    fn lineitem(scale: f64) -> BenchResult<Self> {
        let keep = [
            "l_orderkey",
            "l_linenumber",
            "l_partkey",
            "l_suppkey",
            "l_quantity",
            "l_extendedprice",
            "l_discount",
            "l_shipdate",
            "l_commitdate",
            "l_receiptdate",
        ];
        let full = LineItemArrow::schema_ref();
        let indices = keep
            .iter()
            .map(|name| full.index_of(name))
            .collect::<Result<Vec<_>, _>>()?;
        let schema = Arc::new(full.project(&indices)?);
        let mut batches = Vec::new();
        for batch in
            LineItemArrow::new(LineItemGenerator::new(scale, 1, 1)).with_batch_size(LOAD_BATCH_ROWS)
        {
            let batch = batch?.project(&indices)?;
            batches.push(RecordBatch::try_new(
                Arc::clone(&schema),
                batch.columns().to_vec(),
            )?);
        }
        let rows = batches.iter().map(RecordBatch::num_rows).sum();
        Ok(Self {
            name: "lineitem".into(),
            schema,
            key: vec!["l_orderkey".into(), "l_linenumber".into()],
            batches,
            rows,
            filter_columns: [
                "l_shipdate",
                "l_receiptdate",
                "l_quantity",
                "l_discount",
                "l_extendedprice",
                "l_commitdate",
                "l_partkey",
                "l_suppkey",
            ]
            .map(String::from)
            .to_vec(),
        })
    }

    /// Five filter columns plus an `id` key, in random arrival order.
    fn synthetic(name: &str, rows: usize, seed: u64) -> BenchResult<Self> {
        let mut rng = Rng::new(seed ^ name.len() as u64);
        let (fields, filter_columns): (Vec<Field>, Vec<&str>) = match name {
            "uniform" => (
                vec![
                    Field::new("u0", DataType::Int64, false),
                    Field::new("u1", DataType::Int64, false),
                    Field::new("u2", DataType::Float64, false),
                    Field::new("u3", DataType::Int64, false),
                    Field::new("u4", DataType::Float64, false),
                ],
                vec!["u0", "u1", "u2", "u3", "u4"],
            ),
            "skewed" => (
                vec![
                    Field::new("lognormal", DataType::Int64, false),
                    Field::new("pareto", DataType::Float64, false),
                    Field::new("category", DataType::Utf8, false),
                    Field::new("hot", DataType::Int64, false),
                    Field::new("uniform", DataType::Int64, false),
                ],
                vec!["lognormal", "pareto", "category", "hot", "uniform"],
            ),
            _ => (
                vec![
                    Field::new("ship", DataType::Date32, false),
                    Field::new("receipt", DataType::Date32, false),
                    Field::new("amount", DataType::Float64, false),
                    Field::new("other", DataType::Int64, false),
                    Field::new("region", DataType::Utf8, false),
                ],
                vec!["ship", "receipt", "amount", "other", "region"],
            ),
        };
        let mut all_fields = vec![Field::new("id", DataType::Int64, false)];
        all_fields.extend(fields);
        let schema = Arc::new(Schema::new(all_fields));
        let categories: Vec<String> = (0..12).map(|index| format!("cat-{index:02}")).collect();
        let mut batches = Vec::new();
        let mut start = 0usize;
        while start < rows {
            let count = LOAD_BATCH_ROWS.min(rows - start);
            let ids: Vec<i64> = (start..start + count).map(|id| id as i64).collect();
            let columns: Vec<ArrayRef> = match name {
                "uniform" => vec![
                    ints(count, || rng.below(1_000_000_000) as i64),
                    ints(count, || rng.below(1_000_000_000) as i64),
                    floats(count, || rng.unit() * 1e6),
                    ints(count, || rng.below(50_000) as i64),
                    floats(count, || rng.unit()),
                ],
                "skewed" => vec![
                    ints(count, || (rng.gaussian() * 1.5 + 8.0).exp() as i64),
                    floats(count, || 1.0 / (1.0 - rng.unit()).powf(1.0 / 1.2)),
                    strings(count, || {
                        // A Zipf-like category: the first few hold most rows.
                        let rank = (1.0 / (1.0 - rng.unit() * 0.999)).min(12.0) as usize;
                        categories[rank.saturating_sub(1).min(11)].clone()
                    }),
                    ints(count, || {
                        if rng.unit() < 0.8 {
                            rng.below(1_000) as i64
                        } else {
                            rng.below(10_000_000) as i64
                        }
                    }),
                    ints(count, || rng.below(1_000_000) as i64),
                ],
                _ => {
                    let mut ship = Vec::with_capacity(count);
                    let mut receipt = Vec::with_capacity(count);
                    let mut amount = Vec::with_capacity(count);
                    let mut region = Vec::with_capacity(count);
                    for _ in 0..count {
                        let day = 8_000 + rng.below(2_500) as i32;
                        ship.push(day);
                        receipt.push(day + 1 + rng.below(30) as i32);
                        amount.push(f64::from(day - 8_000) * 40.0 + rng.gaussian() * 2_000.0);
                        let drift = ((day - 8_000) / 250) as usize + rng.below(3) as usize;
                        region.push(categories[drift % categories.len()].clone());
                    }
                    vec![
                        Arc::new(Date32Array::from(ship)),
                        Arc::new(Date32Array::from(receipt)),
                        Arc::new(Float64Array::from(amount)),
                        ints(count, || rng.below(1_000_000) as i64),
                        Arc::new(StringArray::from(region)),
                    ]
                }
            };
            let mut all: Vec<ArrayRef> = vec![Arc::new(Int64Array::from(ids))];
            all.extend(columns);
            batches.push(RecordBatch::try_new(Arc::clone(&schema), all)?);
            start += count;
        }
        // Ids follow arrival order; no filter column does.
        Ok(Self {
            name: name.to_owned(),
            schema,
            key: vec!["id".into()],
            batches,
            rows,
            filter_columns: filter_columns.into_iter().map(String::from).collect(),
        })
    }

    /// Loads the rows into a new table `name` of `db` and folds them into blocks.
    fn load(&self, db: &Db, name: &str) -> BenchResult<(Table, Duration)> {
        let table = db.create_table(
            name,
            Arc::clone(&self.schema),
            TableOptions {
                primary_key: self.key.clone(),
            },
        )?;
        let started = Instant::now();
        for batch in &self.batches {
            table.insert(batch)?;
        }
        table.compact()?;
        Ok((table, started.elapsed()))
    }

    /// A one-row batch of the key of row `row` (counted over all batches).
    fn key_of(&self, mut row: usize) -> BenchResult<RecordBatch> {
        for batch in &self.batches {
            if row < batch.num_rows() {
                let indices = self
                    .key
                    .iter()
                    .map(|name| batch.schema().index_of(name))
                    .collect::<Result<Vec<_>, _>>()?;
                return Ok(batch.project(&indices)?.slice(row, 1));
            }
            row -= batch.num_rows();
        }
        Err("row out of range".into())
    }
}

fn ints(count: usize, mut value: impl FnMut() -> i64) -> ArrayRef {
    Arc::new(Int64Array::from_iter_values((0..count).map(|_| value())))
}

fn floats(count: usize, mut value: impl FnMut() -> f64) -> ArrayRef {
    Arc::new(Float64Array::from_iter_values((0..count).map(|_| value())))
}

fn strings(count: usize, mut value: impl FnMut() -> String) -> ArrayRef {
    Arc::new(StringArray::from_iter_values((0..count).map(|_| value())))
}

/// The value of `array` at `row` in the predicate domain; `None` for null or an
/// unsupported type.
fn scalar_at(array: &dyn Array, row: usize) -> Option<Scalar> {
    if array.is_null(row) {
        return None;
    }
    let any = array.as_any();
    match array.data_type() {
        DataType::Int64 => any
            .downcast_ref::<Int64Array>()
            .map(|a| Scalar::Int(a.value(row))),
        DataType::Int32 => any
            .downcast_ref::<Int32Array>()
            .map(|a| Scalar::Int(i64::from(a.value(row)))),
        DataType::Date32 => any
            .downcast_ref::<Date32Array>()
            .map(|a| Scalar::Int(i64::from(a.value(row)))),
        DataType::Decimal128(..) => any
            .downcast_ref::<Decimal128Array>()
            .map(|a| Scalar::Decimal(a.value(row))),
        DataType::Float64 => any
            .downcast_ref::<Float64Array>()
            .map(|a| Scalar::Float(a.value(row))),
        DataType::Utf8 => any
            .downcast_ref::<StringArray>()
            .map(|a| Scalar::Bytes(a.value(row).as_bytes().to_vec())),
        _ => None,
    }
}

fn order(a: &Scalar, b: &Scalar) -> CmpOrdering {
    a.compare(b).unwrap_or(CmpOrdering::Equal)
}

/// Evenly spaced rows of the filter columns, for building queries around real rows.
struct Sample {
    /// Per filter column: the sampled values, row-aligned.
    values: Vec<Vec<Option<Scalar>>>,
    /// Per filter column: the non-null sampled values, sorted.
    sorted: Vec<Vec<Scalar>>,
    rows: usize,
    /// Table rows the sampled rows stand for, for picking keys.
    stride: usize,
}

impl Sample {
    fn draw(dataset: &Dataset) -> BenchResult<Self> {
        let stride = dataset.rows.div_ceil(SAMPLE_ROWS).max(1);
        let mut values: Vec<Vec<Option<Scalar>>> = vec![Vec::new(); dataset.filter_columns.len()];
        let mut seen = 0usize;
        for batch in &dataset.batches {
            let arrays = dataset
                .filter_columns
                .iter()
                .map(|name| {
                    batch
                        .column_by_name(name)
                        .ok_or_else(|| format!("no column {name}"))
                })
                .collect::<Result<Vec<_>, _>>()?;
            for row in 0..batch.num_rows() {
                if (seen + row).is_multiple_of(stride) {
                    for (column, array) in values.iter_mut().zip(&arrays) {
                        column.push(scalar_at(array.as_ref(), row));
                    }
                }
            }
            seen += batch.num_rows();
        }
        let sorted = values
            .iter()
            .map(|column| {
                let mut sorted: Vec<Scalar> = column.iter().flatten().cloned().collect();
                sorted.sort_by(order);
                sorted
            })
            .collect();
        let rows = values.first().map_or(0, Vec::len);
        Ok(Self {
            values,
            sorted,
            rows,
            stride,
        })
    }
}

// ---------------------------------------------------------------------------------------
// Workloads

/// One query: the selectivity it aims at and its predicate.
#[derive(Debug, Clone)]
struct Query {
    target: f64,
    predicate: Predicate,
    columns: Vec<String>,
}

/// Range queries around sampled rows, columns picked with fixed skewed weights.
struct QueryGenerator<'a> {
    sample: &'a Sample,
    columns: &'a [String],
    weights: Vec<f64>,
    rng: Rng,
    issued: usize,
}

impl<'a> QueryGenerator<'a> {
    /// Zipf weights over `columns` in the given order, or reversed.
    fn new(sample: &'a Sample, columns: &'a [String], reversed: bool, seed: u64) -> Self {
        let count = columns.len();
        let weights = (0..count)
            .map(|index| {
                let rank = if reversed { count - 1 - index } else { index };
                1.0 / (rank + 1) as f64
            })
            .collect();
        Self {
            sample,
            columns,
            weights,
            rng: Rng::new(seed),
            issued: 0,
        }
    }

    fn next(&mut self) -> Query {
        let target = SELECTIVITIES[self.issued % SELECTIVITIES.len()];
        self.issued += 1;
        let dimensions = 1 + self.rng.below(self.columns.len().min(4) as u64) as usize;
        let mut weights = self.weights.clone();
        let mut chosen = Vec::with_capacity(dimensions);
        for _ in 0..dimensions {
            let index = self.rng.weighted(&weights);
            if let Some(weight) = weights.get_mut(index) {
                *weight = 0.0;
            }
            chosen.push(index);
        }
        chosen.sort_unstable();
        let anchor = self.rng.below(self.sample.rows as u64) as usize;
        let share = target.powf(1.0 / dimensions as f64);
        let mut predicate = Predicate::all();
        let mut columns = Vec::new();
        for index in chosen {
            let (Some(Some(value)), Some(sorted)) = (
                self.sample.values.get(index).and_then(|c| c.get(anchor)),
                self.sample.sorted.get(index),
            ) else {
                continue;
            };
            if sorted.is_empty() {
                continue;
            }
            let width = ((sorted.len() as f64 * share).round() as usize).clamp(1, sorted.len());
            let rank = sorted.partition_point(|v| order(v, value) == CmpOrdering::Less);
            let high = (rank.saturating_sub(width / 2) + width - 1).min(sorted.len() - 1);
            let low = (high + 1).saturating_sub(width);
            let name = self.columns[index].clone();
            predicate = predicate.and(ColumnFilter {
                column: name.clone(),
                terms: vec![Term::Range(Range::closed(
                    sorted[low].clone(),
                    sorted[high].clone(),
                ))],
            });
            columns.push(name);
        }
        Query {
            target,
            predicate,
            columns,
        }
    }

    fn take(&mut self, count: usize) -> Vec<Query> {
        (0..count).map(|_| self.next()).collect()
    }
}

// ---------------------------------------------------------------------------------------
// Measuring

/// What one query did.
#[derive(Debug, Clone, Copy)]
struct Measured {
    target: f64,
    latency: Duration,
    matched: u64,
    scanned: u64,
    blocks: u64,
    /// Microseconds choosing blocks, reading and filtering them, merging delta.
    phases: [u64; 3],
    /// Cells the layout named.
    cells: u64,
    /// Rows scanned in blocks that returned none.
    scanned_unmatched: u64,
}

impl Measured {
    fn overhead(&self) -> f64 {
        self.scanned as f64 / self.matched.max(1) as f64
    }

    /// The overhead had every block that returned no row been skipped: the most an index
    /// finer than the zone maps could bring it down to.
    fn overhead_without_unmatched(&self) -> f64 {
        self.scanned.saturating_sub(self.scanned_unmatched) as f64 / self.matched.max(1) as f64
    }

    /// The fewest blocks that could hold the matching rows.
    fn fewest_blocks(&self) -> u64 {
        self.matched.div_ceil(BLOCK_ROWS as u64)
    }
}

/// Serves `query` (projecting the filtered columns) and measures it; also returns the
/// layout the scan ran on.
fn serve(table: &Table, query: &Query) -> BenchResult<(Measured, String)> {
    let started = Instant::now();
    let result = table.scan(ScanRequest {
        projection: Some(query.columns.clone()),
        predicate: query.predicate.clone(),
        limit: None,
    })?;
    let latency = started.elapsed();
    Ok((
        Measured {
            target: query.target,
            latency,
            matched: result.stats.rows_matched,
            scanned: result.stats.rows_scanned,
            blocks: result.stats.blocks_scanned,
            phases: [
                result.explain.plan_micros,
                result.explain.blocks_micros,
                result.explain.delta_micros,
            ],
            cells: result.explain.cells_visited,
            scanned_unmatched: result.explain.rows_scanned_unmatched,
        },
        result.explain.layout,
    ))
}

/// Serves the queries once to warm the caches, then `repeat` timed passes; a query's
/// numbers are those of its median pass. Checks that every layout matched the same rows as
/// the first one measured.
fn measure(
    table: &Table,
    queries: &[Query],
    repeat: u32,
    expected: Option<&[u64]>,
) -> BenchResult<Vec<Measured>> {
    for query in queries {
        serve(table, query)?;
    }
    // Passes run over all queries in turn, so no query finds the caches warmed by itself.
    let mut passes: Vec<Vec<Measured>> = vec![Vec::with_capacity(repeat as usize); queries.len()];
    for _ in 0..repeat {
        for (query, runs) in queries.iter().zip(&mut passes) {
            runs.push(serve(table, query)?.0);
        }
    }
    let mut measured = Vec::with_capacity(queries.len());
    for (index, (query, mut runs)) in queries.iter().zip(passes).enumerate() {
        runs.sort_by_key(|run| run.latency);
        let Some(&one) = runs.get(runs.len() / 2) else {
            return Err("no timed pass".into());
        };
        if let Some(&want) = expected.and_then(|expected| expected.get(index))
            && one.matched != want
        {
            return Err(format!(
                "query {index} matched {} rows, another layout matched {want}: {:?}",
                one.matched, query.predicate
            )
            .into());
        }
        measured.push(one);
    }
    Ok(measured)
}

/// One layout's results on one dataset.
struct LayoutReport {
    name: String,
    description: String,
    build_seconds: f64,
    model_bytes: u64,
    measured: Vec<Measured>,
}

impl LayoutReport {
    fn select(&self, max_target: f64) -> Vec<Measured> {
        self.measured
            .iter()
            .filter(|m| m.target <= max_target + 1e-12)
            .copied()
            .collect()
    }

    fn latency_ms(&self, max_target: f64, q: f64) -> f64 {
        let mut latencies: Vec<Duration> =
            self.select(max_target).iter().map(|m| m.latency).collect();
        latencies.sort();
        percentile_micros(&latencies, q) / 1e3
    }

    fn overhead(&self, min_target: f64, max_target: f64, q: f64) -> f64 {
        self.overhead_by(min_target, max_target, q, Measured::overhead)
    }

    fn overhead_by(
        &self,
        min_target: f64,
        max_target: f64,
        q: f64,
        of: impl Fn(&Measured) -> f64,
    ) -> f64 {
        let mut overheads: Vec<f64> = self
            .measured
            .iter()
            .filter(|m| m.target >= min_target - 1e-12 && m.target <= max_target + 1e-12)
            .map(of)
            .collect();
        overheads.sort_by(f64::total_cmp);
        quantile(&overheads, q)
    }

    /// The share of rows scanned at selectivity ≤ 1% that lay in blocks returning none.
    fn unmatched_share_in_scope(&self) -> f64 {
        let in_scope = self.select(SCOPE);
        let scanned: u64 = in_scope.iter().map(|m| m.scanned).sum();
        let unmatched: u64 = in_scope.iter().map(|m| m.scanned_unmatched).sum();
        unmatched as f64 / scanned.max(1) as f64
    }

    fn blocks_ratio(&self) -> f64 {
        let scanned: u64 = self.measured.iter().map(|m| m.blocks).sum();
        let fewest: u64 = self.measured.iter().map(Measured::fewest_blocks).sum();
        scanned as f64 / fewest.max(1) as f64
    }

    /// The numbers the report prints, computed once for the text and the JSON.
    fn summary(&self) -> Summary {
        Summary {
            p50_ms: self.latency_ms(1.0, 0.5),
            p95_ms: self.latency_ms(1.0, 0.95),
            p50_ms_in_scope: self.latency_ms(SCOPE, 0.5),
            overhead_in_scope: self.overhead(0.0, SCOPE, 0.5),
            overhead_in_scope_without_unmatched: self.overhead_by(
                0.0,
                SCOPE,
                0.5,
                Measured::overhead_without_unmatched,
            ),
            unmatched_share_in_scope: self.unmatched_share_in_scope(),
            overhead_by_selectivity: SELECTIVITIES.map(|target| self.overhead(target, target, 0.5)),
            blocks_ratio: self.blocks_ratio(),
        }
    }
}

/// One layout's summary: latencies, median overheads, blocks against the fewest.
struct Summary {
    p50_ms: f64,
    p95_ms: f64,
    p50_ms_in_scope: f64,
    overhead_in_scope: f64,
    /// The median overhead had every block that returned no row been skipped.
    overhead_in_scope_without_unmatched: f64,
    /// The share of rows scanned in blocks that returned none.
    unmatched_share_in_scope: f64,
    overhead_by_selectivity: [f64; SELECTIVITIES.len()],
    blocks_ratio: f64,
}

/// Every layout on one dataset.
struct DatasetReport {
    dataset: String,
    rows: usize,
    load_seconds: f64,
    queries: usize,
    /// The filtered columns of each timed query.
    columns: Vec<Vec<String>>,
    layouts: Vec<LayoutReport>,
}

/// Median overhead and latency at selectivity ≤ 1%, the done-when's scope.
const SCOPE: f64 = 0.01;

impl DatasetReport {
    fn learned(&self) -> Option<&LayoutReport> {
        self.layouts.iter().find(|layout| layout.name == "learned")
    }

    fn best_baseline(&self, key: impl Fn(&LayoutReport) -> f64) -> Option<&LayoutReport> {
        self.layouts
            .iter()
            .filter(|layout| layout.name != "learned")
            .min_by(|a, b| key(a).total_cmp(&key(b)))
    }

    fn text(&self) -> String {
        let mut text = format!(
            "\n{}: {} rows, loaded and compacted in {:.1} s, {} queries per layout\n",
            self.dataset, self.rows, self.load_seconds, self.queries
        );
        text.push_str(&format!(
            "{:<16} {:>9} {:>9} {:>10} {:>10} {:>9} {:>9} {:>9} {:>9} {:>8} {:>9} {:>9}\n",
            "layout",
            "p50 ms",
            "p95 ms",
            "p50≤1% ms",
            "ovh≤1%",
            "ovh .01%",
            "ovh .1%",
            "ovh 1%",
            "ovh 5%",
            "blocks×",
            "build s",
            "model B"
        ));
        let summaries: Vec<Summary> = self.layouts.iter().map(LayoutReport::summary).collect();
        for (layout, summary) in self.layouts.iter().zip(&summaries) {
            let [tiny, small, medium, large] = summary.overhead_by_selectivity;
            text.push_str(&format!(
                "{:<16} {:>9.2} {:>9.2} {:>10.2} {:>10.2} {:>9.1} {:>9.1} {:>9.2} {:>9.2} {:>8.2} {:>9.1} {:>9}\n",
                layout.name,
                summary.p50_ms,
                summary.p95_ms,
                summary.p50_ms_in_scope,
                summary.overhead_in_scope,
                tiny,
                small,
                medium,
                large,
                summary.blocks_ratio,
                layout.build_seconds,
                layout.model_bytes,
            ));
        }
        for layout in &self.layouts {
            text.push_str(&format!("  {}: {}\n", layout.name, layout.description));
        }
        // What a block index finer than the zone maps (value ranges to blocks, Sieve style)
        // could at best save: the blocks each scan read for nothing.
        for (layout, summary) in self.layouts.iter().zip(&summaries) {
            text.push_str(&format!(
                "  {}: at selectivity ≤ 1%, {:.1}% of rows scanned lay in blocks that returned \
                 none; skipping them all would leave a median overhead of {:.2}\n",
                layout.name,
                summary.unmatched_share_in_scope * 100.0,
                summary.overhead_in_scope_without_unmatched,
            ));
        }
        let overhead = |layout: &LayoutReport| layout.overhead(0.0, SCOPE, 0.5);
        let latency = |layout: &LayoutReport| layout.latency_ms(SCOPE, 0.5);
        if let (Some(learned), Some(by_overhead), Some(by_latency)) = (
            self.learned(),
            self.best_baseline(overhead),
            self.best_baseline(latency),
        ) {
            text.push_str(&format!(
                "  at selectivity ≤ 1%: learned overhead {:.2} vs best baseline ({}) {:.2}: {:.1}x lower; \
                 learned p50 {:.2} ms vs best baseline ({}) {:.2} ms: {:.1}x lower\n",
                overhead(learned),
                by_overhead.name,
                overhead(by_overhead),
                overhead(by_overhead) / overhead(learned).max(f64::MIN_POSITIVE),
                latency(learned),
                by_latency.name,
                latency(by_latency),
                latency(by_latency) / latency(learned).max(f64::MIN_POSITIVE),
            ));
        }
        text
    }

    fn json(&self) -> String {
        let layouts: Vec<String> = self
            .layouts
            .iter()
            .map(|layout| {
                let summary = layout.summary();
                let [tiny, small, medium, large] = summary.overhead_by_selectivity;
                format!(
                    "{{\"name\": \"{}\", \"description\": {:?}, \"build_seconds\": {:.2}, \
                     \"model_bytes\": {}, \"p50_ms\": {:.3}, \"p95_ms\": {:.3}, \
                     \"p50_ms_le_1pct\": {:.3}, \"overhead_median_le_1pct\": {:.3}, \
                     \"overhead_median_by_selectivity\": [{:.3}, {:.3}, {:.3}, {:.3}], \
                     \"blocks_over_fewest\": {:.3}, \
                     \"unmatched_share_le_1pct\": {:.4}, \
                     \"overhead_median_le_1pct_without_unmatched\": {:.3}}}",
                    layout.name,
                    layout.description,
                    layout.build_seconds,
                    layout.model_bytes,
                    summary.p50_ms,
                    summary.p95_ms,
                    summary.p50_ms_in_scope,
                    summary.overhead_in_scope,
                    tiny,
                    small,
                    medium,
                    large,
                    summary.blocks_ratio,
                    summary.unmatched_share_in_scope,
                    summary.overhead_in_scope_without_unmatched,
                )
            })
            .collect();
        format!(
            "{{\"dataset\": \"{}\", \"rows\": {}, \"load_seconds\": {:.2}, \"queries\": {}, \"layouts\": [{}]}}",
            self.dataset,
            self.rows,
            self.load_seconds,
            self.queries,
            layouts.join(", ")
        )
    }
}

fn options(args: &Args, tune_every: u64) -> Options {
    let defaults = Options::default();
    Options {
        cache_bytes: args.cache_mib << 20,
        tune_every,
        scan_threads: args.scan_threads.unwrap_or(defaults.scan_threads),
        ..defaults
    }
}

/// Loads the dataset, measures insertion order on one copy, builds the learned layout from
/// served queries on another, and pins each other layout on a fresh copy of its own,
/// measuring every layout on the same queries.
fn layouts(
    args: &Args,
    dataset: &Dataset,
    sample: &Sample,
    directory: &Path,
) -> BenchResult<DatasetReport> {
    let db = Db::open(directory, options(args, 0))?;
    let (table, load) = dataset.load(&db, &dataset.name)?;
    eprintln!("   loaded in {:.1} s", load.as_secs_f64());
    // Insertion order is measured on a second copy that never changes layout: a table
    // re-laid out into insertion order keeps the order its previous layout left.
    let arrival_name = format!("{}_arrival", dataset.name);
    let (arrival, _) = dataset.load(&db, &arrival_name)?;
    let columns = &dataset.filter_columns;
    let training = QueryGenerator::new(sample, columns, false, args.seed ^ 1).take(args.train);
    let queries = QueryGenerator::new(sample, columns, false, args.seed ^ 2).take(args.queries);

    eprintln!(
        "   serving {} training queries in arrival order",
        training.len()
    );
    let started = Instant::now();
    for query in &training {
        serve(&table, query)?;
    }
    eprintln!("   ({:.1} s)", started.elapsed().as_secs_f64());

    let frequent: Vec<String> = columns.iter().take(4).cloned().collect();
    let choices: Vec<(&str, Option<LayoutChoice>)> = vec![
        ("insertion_order", Some(LayoutChoice::InsertionOrder)),
        ("learned", None),
        (
            "sorted",
            Some(LayoutChoice::Sorted(vec![columns[0].clone()])),
        ),
        ("zorder", Some(LayoutChoice::ZOrder(frequent.clone()))),
        ("hilbert", Some(LayoutChoice::Hilbert(frequent))),
    ];
    let mut choices = choices;
    if let Some(spec) = &args.grid {
        choices.push(("grid", Some(LayoutChoice::Grid(parse_grid(spec)?))));
    }
    choices.retain(|(name, _)| args.layouts.is_empty() || args.layouts.iter().any(|l| l == name));
    let mut reports = Vec::new();
    let mut expected: Option<Vec<u64>> = None;
    for (name, choice) in choices {
        eprintln!("   layout {name}: building");
        // Every other pinned layout is built on a copy of its own, in arrival order like
        // the table the learned layout was built on. Re-laid out from the learned layout
        // instead, the rows a baseline's key leaves tied (a sorted layout's thousands of
        // rows per ship date) kept the learned order, clustered on the learned grid's other
        // columns, which that baseline alone never has.
        let copy_name = format!("{}_{name}", dataset.name);
        let copy = match &choice {
            Some(choice) if *choice != LayoutChoice::InsertionOrder => {
                Some(dataset.load(&db, &copy_name)?.0)
            }
            _ => None,
        };
        let started = Instant::now();
        let table = match (&choice, &copy) {
            (Some(LayoutChoice::InsertionOrder), _) => &arrival,
            (_, Some(copy)) => copy,
            _ => &table,
        };
        match &choice {
            None => {
                let report = table.optimize()?;
                eprintln!("   priced at {}", report.cost_model);
                if report.relayout.is_none() {
                    eprintln!(
                        "   the optimizer kept {} (candidate {})",
                        report.layout_before, report.candidate
                    );
                }
            }
            Some(choice) => {
                table.pin_layout(choice)?;
            }
        }
        let build = started.elapsed();
        let stats = table.stats()?;
        if stats.rows != dataset.rows as u64 {
            return Err(format!(
                "{} rows after re-layout, expected {}",
                stats.rows, dataset.rows
            )
            .into());
        }
        eprintln!(
            "   layout {name}: {} ({:.1} s); measuring",
            stats.layout,
            build.as_secs_f64()
        );
        let measured = measure(table, &queries, args.repeat, expected.as_deref())?;
        if expected.is_none() {
            expected = Some(measured.iter().map(|m| m.matched).collect());
        }
        if std::ptr::eq(table, &arrival) {
            db.drop_table(&arrival_name)?;
        }
        if copy.is_some() {
            db.drop_table(&copy_name)?;
        }
        reports.push(LayoutReport {
            name: name.to_owned(),
            description: stats.layout,
            build_seconds: build.as_secs_f64(),
            model_bytes: stats.model_bytes,
            measured,
        });
    }
    Ok(DatasetReport {
        dataset: dataset.name.clone(),
        rows: dataset.rows,
        load_seconds: load.as_secs_f64(),
        queries: queries.len(),
        columns: queries.iter().map(|query| query.columns.clone()).collect(),
        layouts: reports,
    })
}

/// Parses `--grid`: `SORT/DIMS/MAPPINGS` (see [`Args::grid`]).
fn parse_grid(spec: &str) -> BenchResult<GridSpec> {
    let mut parts = spec.split('/');
    let sort = parts.next().unwrap_or_default().trim();
    let dimensions = parts.next().unwrap_or_default();
    let mappings = parts.next().unwrap_or_default();
    if parts.next().is_some() {
        return Err(format!("--grid {spec:?}: at most three '/'-separated parts").into());
    }
    let dimensions = dimensions
        .split(',')
        .filter(|dimension| !dimension.trim().is_empty())
        .map(|dimension| {
            let mut fields = dimension.trim().split(':');
            let column = fields.next().unwrap_or_default().to_owned();
            let partitions = fields
                .next()
                .and_then(|count| count.parse::<u32>().ok())
                .ok_or_else(|| format!("--grid dimension {dimension:?}: COLUMN:PARTITIONS"))?;
            let mode = match fields.next() {
                None | Some("ranges") => DimensionMode::Ranges,
                Some("values") => DimensionMode::Values,
                Some(other) => match other.strip_prefix("on=") {
                    Some(on) => DimensionMode::ConditionalOn(on.to_owned()),
                    None => return Err(format!("--grid dimension {dimension:?}: mode {other:?}")),
                },
            };
            Ok(DimensionSpec {
                column,
                partitions,
                mode,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(GridSpec {
        sort_column: (!sort.is_empty()).then(|| sort.to_owned()),
        dimensions,
        mappings: mappings
            .split(',')
            .map(str::trim)
            .filter(|column| !column.is_empty())
            .map(str::to_owned)
            .collect(),
    })
}

// ---------------------------------------------------------------------------------------
// The shift

/// One workload query of the shift scenario.
struct ShiftQuery {
    at: Duration,
    measured: Measured,
    layout: String,
    during_rewrite: bool,
}

/// How automatic re-layout followed the shift.
struct ShiftReport {
    dataset: String,
    queries_a: usize,
    queries_b: usize,
    tune_every: u64,
    layout_before_shift: String,
    layout_after: String,
    /// From the first B query to the first B query served by a new layout.
    seconds_to_new_layout: Option<f64>,
    /// From the first B query to the first B query served by the last layout.
    seconds_to_settled_layout: Option<f64>,
    /// B queries served before the new layout was live.
    queries_before_new_layout: usize,
    overhead_before_new_layout: f64,
    p95_ms_before_new_layout: f64,
    overhead_after_new_layout: f64,
    /// On a separate set of B queries: the layout re-layout chose, and one learned from B.
    eval_overhead_auto: f64,
    eval_overhead_tuned: f64,
    eval_p50_ms_auto: f64,
    eval_p50_ms_tuned: f64,
    tuned_layout: String,
    rewrites: usize,
    reads_during_rewrite: usize,
    slowest_read_during_rewrite_ms: f64,
    p99_read_during_rewrite_ms: f64,
    slowest_read_otherwise_ms: f64,
    queries_during_rewrite: usize,
    slowest_query_during_rewrite_ms: f64,
    /// Rows scanned and matched by that query.
    slowest_query_during_rewrite_rows: (u64, u64),
    slowest_query_otherwise_ms: f64,
    /// Point reads of keys spread over the table, on a reopened database (nothing cached).
    cold_read_p50_ms: f64,
    cold_read_max_ms: f64,
}

/// Point reads the shift scenario times on a cold cache, each in a block of its own.
const COLD_READS: usize = 64;

fn shift(
    args: &Args,
    dataset: &Dataset,
    sample: &Sample,
    directory: &Path,
) -> BenchResult<ShiftReport> {
    eprintln!("== shift on {}", dataset.name);
    let (_db, table, cold_reads) = {
        let db = Db::open(directory, options(args, args.tune_every))?;
        dataset.load(&db, &dataset.name)?;
        drop(db);
        // Reopened, nothing is cached: point reads of keys spread over the whole table
        // (one per block of the table as loaded, in key order) read their chunks from storage.
        let db = Arc::new(Db::open(directory, options(args, args.tune_every))?);
        let table = db.table(&dataset.name)?;
        let mut cold_reads = Vec::with_capacity(COLD_READS);
        for index in 0..COLD_READS {
            let key = dataset.key_of(index * dataset.rows / COLD_READS)?;
            let started = Instant::now();
            if table.get(&key)?.is_none() {
                return Err("a point read missed a loaded key".into());
            }
            cold_reads.push(started.elapsed());
        }
        cold_reads.sort();
        (db, table, cold_reads)
    };
    let columns = &dataset.filter_columns;
    let mut mix_a = QueryGenerator::new(sample, columns, false, args.seed ^ 3);
    let mut mix_b = QueryGenerator::new(sample, columns, true, args.seed ^ 4);
    let eval_b = QueryGenerator::new(sample, columns, true, args.seed ^ 5).take(64);

    // Point reads every 2 ms, tagged with whether a rewrite ran.
    let stop = Arc::new(AtomicBool::new(false));
    let keys = (0..256)
        .map(|index| dataset.key_of((index * sample.stride * 997) % dataset.rows.max(1)))
        .collect::<BenchResult<Vec<_>>>()?;
    let reader = {
        let table = table.clone();
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || -> BenchResult<Vec<(Duration, bool)>> {
            let mut reads = Vec::new();
            let mut index = 0usize;
            while !stop.load(Ordering::Relaxed) {
                let before = table.relayout_in_progress();
                let started = Instant::now();
                let found = table.get(&keys[index % keys.len()])?;
                let latency = started.elapsed();
                let during = before || table.relayout_in_progress();
                if found.is_none() {
                    return Err("a point read missed a loaded key".into());
                }
                reads.push((latency, during));
                index += 1;
                std::thread::sleep(Duration::from_millis(2));
            }
            Ok(reads)
        })
    };

    let origin = Instant::now();
    let mut served = Vec::new();
    // Serves a mix until at least `minimum` queries ran and the layout changed and settled
    // (no longer provisional, no rewrite running), and 128 more ran on the settled one; or
    // until the time limit.
    let limit = Duration::from_secs(args.shift_seconds);
    let run = |generator: &mut QueryGenerator<'_>,
               minimum: usize,
               served: &mut Vec<ShiftQuery>|
     -> BenchResult<()> {
        let started = Instant::now();
        let mut last_layout: Option<String> = None;
        let mut changed_at: Option<usize> = None;
        let mut count = 0usize;
        loop {
            let query = generator.next();
            let before = table.relayout_in_progress();
            let at = origin.elapsed();
            let (measured, layout) = serve(&table, &query)?;
            let during_rewrite = before || table.relayout_in_progress();
            count += 1;
            if last_layout.as_ref().is_some_and(|last| *last != layout) {
                changed_at = Some(count);
            }
            last_layout = Some(layout.clone());
            served.push(ShiftQuery {
                at,
                measured,
                layout,
                during_rewrite,
            });
            let settled = changed_at.is_some_and(|at| count >= at + 128)
                && !table.layout_provisional()
                && !table.relayout_in_progress();
            if count >= minimum && (settled || started.elapsed() > limit) {
                return Ok(());
            }
        }
    };
    eprintln!(
        "   mix A: until re-laid out, at least {} queries",
        args.shift_queries
    );
    run(&mut mix_a, args.shift_queries, &mut served)?;
    wait_for_rewrites(&table)?;
    let layout_before_shift = table.stats()?.layout;
    let shift_index = served.len();
    let shift_at = origin.elapsed();
    eprintln!("   mix B (layout before: {layout_before_shift})");
    run(&mut mix_b, 2 * args.shift_queries, &mut served)?;
    wait_for_rewrites(&table)?;
    stop.store(true, Ordering::Relaxed);
    let reads = reader.join().map_err(|_| "the reader thread panicked")??;

    let after_shift = &served[shift_index..];
    let switch = after_shift
        .iter()
        .position(|query| query.layout != layout_before_shift);
    let (before_new, after_new) = after_shift.split_at(switch.unwrap_or(after_shift.len()));
    // The last change: where the settled layout went live.
    let settled_at = after_shift
        .windows(2)
        .rposition(|pair| pair[0].layout != pair[1].layout)
        .and_then(|index| after_shift.get(index + 1));
    let median_overhead = |queries: &[ShiftQuery]| {
        let mut overheads: Vec<f64> = queries.iter().map(|q| q.measured.overhead()).collect();
        overheads.sort_by(f64::total_cmp);
        quantile(&overheads, 0.5)
    };
    let mut before_latencies: Vec<Duration> =
        before_new.iter().map(|q| q.measured.latency).collect();
    before_latencies.sort();
    let rewrites = served
        .windows(2)
        .filter(|pair| pair[0].layout != pair[1].layout)
        .count();

    let eval = |table: &Table| -> BenchResult<(f64, f64)> {
        let measured = measure(table, &eval_b, args.repeat, None)?;
        let mut overheads: Vec<f64> = measured.iter().map(Measured::overhead).collect();
        overheads.sort_by(f64::total_cmp);
        let mut latencies: Vec<Duration> = measured.iter().map(|m| m.latency).collect();
        latencies.sort();
        Ok((
            quantile(&overheads, 0.5),
            percentile_micros(&latencies, 0.5) / 1e3,
        ))
    };
    let layout_after = table.stats()?.layout;
    let (eval_overhead_auto, eval_p50_ms_auto) = eval(&table)?;
    if let Some(error) = table.stats()?.last_compaction_error {
        eprintln!("   the background worker reported: {error}");
    }
    eprintln!("   reference: a layout learned from mix B alone");
    let check = table.optimize()?;
    eprintln!(
        "   explicit check, priced at {}: current {:.0} ns/query (overhead {:.2}), candidate {:.0} ns/query (overhead {:.2}), rewritten: {}",
        check.cost_model,
        check.before.cost_ns,
        check.before.scan_overhead(),
        check.after.cost_ns,
        check.after.scan_overhead(),
        check.relayout.is_some()
    );
    if check.relayout.is_none() {
        table.relayout(&LayoutChoice::Learned)?;
    }
    let tuned_layout = table.stats()?.layout;
    let (eval_overhead_tuned, eval_p50_ms_tuned) = eval(&table)?;

    let mut during: Vec<Duration> = reads.iter().filter(|r| r.1).map(|r| r.0).collect();
    during.sort();
    let slowest_otherwise = reads
        .iter()
        .filter(|r| !r.1)
        .map(|r| r.0)
        .max()
        .unwrap_or_default();
    let slowest = |during: bool| {
        served
            .iter()
            .filter(|q| q.during_rewrite == during)
            .max_by_key(|q| q.measured.latency)
    };
    let slowest_during = slowest(true);
    Ok(ShiftReport {
        dataset: dataset.name.clone(),
        queries_a: shift_index,
        queries_b: served.len() - shift_index,
        tune_every: args.tune_every,
        layout_before_shift,
        layout_after,
        seconds_to_new_layout: switch
            .and_then(|index| after_shift.get(index))
            .map(|query| (query.at - shift_at).as_secs_f64()),
        seconds_to_settled_layout: settled_at.map(|query| (query.at - shift_at).as_secs_f64()),
        queries_before_new_layout: before_new.len(),
        overhead_before_new_layout: median_overhead(before_new),
        p95_ms_before_new_layout: percentile_micros(&before_latencies, 0.95) / 1e3,
        overhead_after_new_layout: median_overhead(after_new),
        eval_overhead_auto,
        eval_overhead_tuned,
        eval_p50_ms_auto,
        eval_p50_ms_tuned,
        tuned_layout,
        rewrites,
        reads_during_rewrite: during.len(),
        slowest_read_during_rewrite_ms: during.last().map_or(0.0, |d| d.as_secs_f64() * 1e3),
        p99_read_during_rewrite_ms: percentile_micros(&during, 0.99) / 1e3,
        slowest_read_otherwise_ms: slowest_otherwise.as_secs_f64() * 1e3,
        queries_during_rewrite: served.iter().filter(|q| q.during_rewrite).count(),
        slowest_query_during_rewrite_ms: slowest_during
            .map_or(0.0, |q| q.measured.latency.as_secs_f64() * 1e3),
        slowest_query_during_rewrite_rows: slowest_during
            .map_or((0, 0), |q| (q.measured.scanned, q.measured.matched)),
        slowest_query_otherwise_ms: slowest(false)
            .map_or(0.0, |q| q.measured.latency.as_secs_f64() * 1e3),
        cold_read_p50_ms: percentile_micros(&cold_reads, 0.5) / 1e3,
        cold_read_max_ms: cold_reads.last().map_or(0.0, |d| d.as_secs_f64() * 1e3),
    })
}

/// Waits until no re-layout runs and a queued layout check had its chance to start.
fn wait_for_rewrites(table: &Table) -> BenchResult<()> {
    let deadline = Instant::now() + Duration::from_secs(1_800);
    loop {
        std::thread::sleep(Duration::from_millis(500));
        if !table.relayout_in_progress() {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err("a re-layout ran for more than 30 minutes".into());
        }
    }
}

impl ShiftReport {
    fn text(&self) -> String {
        format!(
            "\nshift on {} ({} queries of mix A, then {} of mix B; automatic check every {} scans)\n\
             layout before the shift          {}\n\
             layout after                     {} ({} layout changes in all)\n\
             new layout live after            {}\n\
             last layout live after           {}\n\
             B queries on the old layout      {} (median overhead {:.1}, p95 {:.1} ms)\n\
             B queries on the new layout      median overhead {:.2}\n\
             B evaluation set, re-laid out    median overhead {:.2}, p50 {:.2} ms\n\
             B evaluation set, tuned for B    median overhead {:.2}, p50 {:.2} ms ({})\n\
             re-laid out / tuned              {:.2}x\n\
             point reads during a rewrite     {} (slowest {:.1} ms, p99 {:.1} ms; slowest otherwise {:.1} ms)\n\
             queries during a rewrite         {} (slowest {:.1} ms, scanning {} rows for {}; slowest otherwise {:.1} ms)\n\
             cold point reads                 p50 {:.2} ms, slowest {:.2} ms ({COLD_READS} keys across the table, reopened)\n",
            self.dataset,
            self.queries_a,
            self.queries_b,
            self.tune_every,
            self.layout_before_shift,
            self.layout_after,
            self.rewrites,
            self.seconds_to_new_layout.map_or_else(
                || "never: no automatic check predicted the gain asked for".to_owned(),
                |s| format!("{s:.1} s")
            ),
            self.seconds_to_settled_layout
                .map_or_else(|| "-".to_owned(), |s| format!("{s:.1} s")),
            self.queries_before_new_layout,
            self.overhead_before_new_layout,
            self.p95_ms_before_new_layout,
            self.overhead_after_new_layout,
            self.eval_overhead_auto,
            self.eval_p50_ms_auto,
            self.eval_overhead_tuned,
            self.eval_p50_ms_tuned,
            self.tuned_layout,
            self.eval_overhead_auto / self.eval_overhead_tuned.max(f64::MIN_POSITIVE),
            self.reads_during_rewrite,
            self.slowest_read_during_rewrite_ms,
            self.p99_read_during_rewrite_ms,
            self.slowest_read_otherwise_ms,
            self.queries_during_rewrite,
            self.slowest_query_during_rewrite_ms,
            self.slowest_query_during_rewrite_rows.0,
            self.slowest_query_during_rewrite_rows.1,
            self.slowest_query_otherwise_ms,
            self.cold_read_p50_ms,
            self.cold_read_max_ms,
        )
    }

    fn json(&self) -> String {
        format!(
            "{{\"dataset\": \"{}\", \"queries_a\": {}, \"queries_b\": {}, \"tune_every\": {}, \
             \"layout_before_shift\": {:?}, \"layout_after\": {:?}, \"rewrites\": {}, \
             \"seconds_to_new_layout\": {}, \"seconds_to_settled_layout\": {}, \
             \"queries_before_new_layout\": {}, \
             \"overhead_before_new_layout\": {:.3}, \"p95_ms_before_new_layout\": {:.3}, \
             \"overhead_after_new_layout\": {:.3}, \"eval_overhead_auto\": {:.3}, \
             \"eval_overhead_tuned\": {:.3}, \"eval_p50_ms_auto\": {:.3}, \
             \"eval_p50_ms_tuned\": {:.3}, \"tuned_layout\": {:?}, \
             \"reads_during_rewrite\": {}, \"slowest_read_during_rewrite_ms\": {:.3}, \
             \"p99_read_during_rewrite_ms\": {:.3}, \"slowest_read_otherwise_ms\": {:.3}, \
             \"queries_during_rewrite\": {}, \"slowest_query_during_rewrite_ms\": {:.3}, \
             \"slowest_query_otherwise_ms\": {:.3}, \"cold_read_p50_ms\": {:.3}, \
             \"cold_read_max_ms\": {:.3}}}",
            self.dataset,
            self.queries_a,
            self.queries_b,
            self.tune_every,
            self.layout_before_shift,
            self.layout_after,
            self.rewrites,
            self.seconds_to_new_layout
                .map_or_else(|| "null".to_owned(), |s| format!("{s:.2}")),
            self.seconds_to_settled_layout
                .map_or_else(|| "null".to_owned(), |s| format!("{s:.2}")),
            self.queries_before_new_layout,
            self.overhead_before_new_layout,
            self.p95_ms_before_new_layout,
            self.overhead_after_new_layout,
            self.eval_overhead_auto,
            self.eval_overhead_tuned,
            self.eval_p50_ms_auto,
            self.eval_p50_ms_tuned,
            self.tuned_layout,
            self.reads_during_rewrite,
            self.slowest_read_during_rewrite_ms,
            self.p99_read_during_rewrite_ms,
            self.slowest_read_otherwise_ms,
            self.queries_during_rewrite,
            self.slowest_query_during_rewrite_ms,
            self.slowest_query_otherwise_ms,
            self.cold_read_p50_ms,
            self.cold_read_max_ms,
        )
    }
}
