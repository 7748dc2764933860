//! `tessera quickstart`: generates TPC-H lineitem, loads it with its primary key
//! `(l_orderkey, l_linenumber)` and compacts it into blocks, writes a generated workload next
//! to the database and runs it, optimizes the layout from that workload, runs it again, and
//! prints the two runs side by side (latency, scan overhead, blocks, bytes, encodings) and the
//! commands to explore further.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::time::Instant;

use tessera::{Db, Options, TableOptions, TableStats};

use crate::error::{CliError, CliResult};
use crate::human_bytes;
use crate::progress::Progress;
use crate::query::{io_error, run_statement, split_statements};
use crate::tpch::{
    LINEITEM_KEY, WORKLOAD_KINDS, lineitem_batches, lineitem_rows_estimate, lineitem_schema,
    workload, workload_kind,
};

/// Statements of the quickstart's workload.
const WORKLOAD_STATEMENTS: usize = 120;
const TABLE: &str = "lineitem";

/// Runs the quickstart in `directory`.
pub fn quickstart(
    scale: f64,
    directory: &Path,
    out: &mut dyn Write,
    progress: &Progress,
) -> CliResult<()> {
    let database = directory.join("db");
    let workload_path = directory.join("workload.sql");
    std::fs::create_dir_all(directory).map_err(|error| {
        CliError::failed(format!("cannot create {}: {error}", directory.display()))
    })?;
    let db = Db::open(&database, Options::default())?;
    let say = |out: &mut dyn Write, text: String| writeln!(out, "{text}").map_err(io_error);

    if db.table(TABLE).is_ok() {
        say(
            out,
            format!(
                "{} already holds table {TABLE}: reusing it (remove the directory to start over)",
                database.display()
            ),
        )?;
    } else {
        say(
            out,
            format!(
                "generating TPC-H lineitem at scale factor {scale} (about {} rows) into {}",
                lineitem_rows_estimate(scale),
                database.display()
            ),
        )?;
        out.flush().map_err(io_error)?;
        let started = Instant::now();
        let table = db.create_table(
            TABLE,
            lineitem_schema(),
            TableOptions {
                primary_key: LINEITEM_KEY.iter().map(|c| (*c).to_owned()).collect(),
            },
        )?;
        let bar = progress.bar("loading", lineitem_rows_estimate(scale));
        let mut rows = 0u64;
        let loaded: CliResult<()> = (|| {
            for batch in lineitem_batches(scale)? {
                let batch = batch?;
                table.insert(&batch)?;
                rows += batch.num_rows() as u64;
                bar.set_position(rows);
            }
            db.flush()?;
            Ok(())
        })();
        bar.finish_and_clear();
        if let Err(error) = loaded {
            let _ = db.drop_table(TABLE);
            return Err(error);
        }
        let seconds = started.elapsed().as_secs_f64();
        say(
            out,
            format!(
                "loaded {rows} rows in {seconds:.2} s ({:.0} rows/s); {} on disk",
                rows as f64 / seconds.max(1e-9),
                human_bytes(table.stats()?.bytes_on_disk)
            ),
        )?;
    }

    let statements = workload(TABLE, WORKLOAD_STATEMENTS, scale, 1)?;
    std::fs::write(&workload_path, statements.join("\n") + "\n").map_err(|error| {
        CliError::failed(format!("cannot write {}: {error}", workload_path.display()))
    })?;
    say(
        out,
        format!(
            "running {} generated statements ({})",
            statements.len(),
            workload_path.display()
        ),
    )?;
    out.flush().map_err(io_error)?;

    let texts = split_statements(&statements.join("\n"));
    let table = db.table(TABLE)?;
    let compacting = progress.spinner("compacting");
    compacting.enable_steady_tick(std::time::Duration::from_millis(120));
    let compacted = table.compact();
    compacting.finish_and_clear();
    compacted?;
    let before = run_workload(&db, &texts, progress)?;
    let stats_before = table.stats()?;
    say(
        out,
        "optimizing: learning a layout from the workload just run".to_owned(),
    )?;
    out.flush().map_err(io_error)?;
    let optimizing = progress.spinner("optimizing");
    optimizing.enable_steady_tick(std::time::Duration::from_millis(120));
    let started = Instant::now();
    let report = table.optimize();
    optimizing.finish_and_clear();
    let report = report?;
    let optimize_seconds = started.elapsed().as_secs_f64();
    let after = run_workload(&db, &texts, progress)?;
    let stats_after = table.stats()?;
    say(
        out,
        match &report.relayout {
            Some(relayout) => format!(
                "optimize rewrote {} rows into a learned layout in {optimize_seconds:.2} s",
                relayout.rows
            ),
            None => format!(
                "optimize kept the layout ({optimize_seconds:.2} s): the learned one was not estimated to be enough faster"
            ),
        },
    )?;

    let mut grid = comfy_table::Table::new();
    grid.load_style(comfy_table::presets::UTF8_FULL_CONDENSED);
    grid.set_header([
        "statement kind",
        "median ms before",
        "after",
        "scan overhead before",
        "after",
        "blocks read of total, before",
        "after",
    ]);
    for (index, (first, second)) in before.iter().zip(&after).enumerate() {
        if first.latencies_us.is_empty() {
            continue;
        }
        grid.add_row([
            workload_kind(index).to_owned(),
            format!("{:.2}", first.median_ms()),
            format!("{:.2}", second.median_ms()),
            first.overhead(),
            second.overhead(),
            format!("{} of {}", first.blocks_scanned, first.blocks_total),
            format!("{} of {}", second.blocks_scanned, second.blocks_total),
        ]);
    }
    let total = |totals: &[KindTotals]| -> f64 {
        totals
            .iter()
            .flat_map(|t| t.latencies_us.iter())
            .sum::<f64>()
            / 1e3
    };
    grid.add_row([
        "whole workload (ms)".to_owned(),
        format!("{:.2}", total(&before)),
        format!("{:.2}", total(&after)),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
    ]);
    say(out, grid.to_string())?;
    let mut summary = comfy_table::Table::new();
    summary.load_style(comfy_table::presets::UTF8_FULL_CONDENSED);
    summary.set_header(["table", "before", "after"]);
    summary.add_row([
        "bytes on disk".to_owned(),
        human_bytes(stats_before.bytes_on_disk),
        human_bytes(stats_after.bytes_on_disk),
    ]);
    summary.add_row([
        "blocks".to_owned(),
        stats_before.blocks.to_string(),
        stats_after.blocks.to_string(),
    ]);
    summary.add_row([
        "model bytes".to_owned(),
        stats_before.model_bytes.to_string(),
        stats_after.model_bytes.to_string(),
    ]);
    say(out, summary.to_string())?;
    say(out, format!("layout before: {}", stats_before.layout))?;
    say(out, format!("layout after:  {}", stats_after.layout))?;
    say(
        out,
        format!(
            "encodings before (blocks): {}",
            top_encodings(&stats_before)
        ),
    )?;
    say(
        out,
        format!("encodings after (blocks):  {}", top_encodings(&stats_after)),
    )?;

    let program = std::env::current_exe()
        .map(|path| path.display().to_string())
        .unwrap_or_else(|_| "tessera".to_owned());
    let db_path = database.display();
    let workload_file = workload_path.display();
    say(out, String::new())?;
    say(out, "explore further:".to_owned())?;
    for command in [
        format!(
            "{program} query --db {db_path} \"SELECT l_returnflag, l_linestatus, COUNT(*), AVG(l_quantity) FROM lineitem GROUP BY l_returnflag, l_linestatus ORDER BY l_returnflag\""
        ),
        format!(
            "{program} query --db {db_path} --explain \"SELECT * FROM lineitem WHERE l_orderkey = 1 AND l_linenumber = 1\""
        ),
        format!("{program} query --db {db_path} --file {workload_file} --format jsonl --repeat 3"),
        format!(
            "{program} plot --db {db_path} --table lineitem --x l_shipdate --y l_orderkey --queries {workload_file} --output {}",
            directory.join("lineitem.svg").display()
        ),
    ] {
        say(out, format!("  {command}"))?;
    }
    Ok(())
}

/// Runs every statement once; totals per statement kind.
fn run_workload(
    db: &Db,
    texts: &[crate::query::StatementText],
    progress: &Progress,
) -> CliResult<Vec<KindTotals>> {
    let mut by_kind: Vec<KindTotals> = WORKLOAD_KINDS
        .iter()
        .map(|_| KindTotals::default())
        .collect();
    let bar = progress.bar("querying", texts.len() as u64);
    for (index, statement) in texts.iter().enumerate() {
        let outcome = run_statement(db, statement, 1)
            .map_err(|error| error.context(format!("workload statement {index}")))?;
        if let Some(totals) = by_kind.get_mut(index % WORKLOAD_KINDS.len()) {
            totals
                .latencies_us
                .push(outcome.elapsed.as_secs_f64() * 1e6);
            totals.rows_scanned += outcome.answer.stats.rows_scanned;
            totals.rows_matched += outcome.answer.stats.rows_matched;
            totals.blocks_scanned += outcome.answer.stats.blocks_scanned;
            totals.blocks_total += outcome.answer.stats.blocks_total;
        }
        bar.set_position(index as u64 + 1);
    }
    bar.finish_and_clear();
    for totals in &mut by_kind {
        totals
            .latencies_us
            .sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    }
    Ok(by_kind)
}

/// The most used encodings over all columns, with their block counts.
fn top_encodings(stats: &TableStats) -> String {
    let mut counts: BTreeMap<&str, u64> = BTreeMap::new();
    for column in &stats.columns {
        for (encoding, blocks) in &column.encodings {
            *counts.entry(encoding.as_str()).or_default() += blocks;
        }
    }
    let mut counts: Vec<(&str, u64)> = counts.into_iter().collect();
    counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    if counts.is_empty() {
        return "(none: rows still in delta)".to_owned();
    }
    counts
        .iter()
        .take(4)
        .map(|(encoding, blocks)| format!("{encoding} ({blocks})"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[derive(Default)]
struct KindTotals {
    latencies_us: Vec<f64>,
    rows_scanned: u64,
    rows_matched: u64,
    blocks_scanned: u64,
    blocks_total: u64,
}

impl KindTotals {
    /// Median latency; the latencies are sorted.
    fn median_ms(&self) -> f64 {
        self.latencies_us
            .get(self.latencies_us.len() / 2)
            .copied()
            .unwrap_or(0.0)
            / 1e3
    }

    fn overhead(&self) -> String {
        if self.rows_matched == 0 {
            "-".to_owned()
        } else {
            format!("{:.1}", self.rows_scanned as f64 / self.rows_matched as f64)
        }
    }
}
