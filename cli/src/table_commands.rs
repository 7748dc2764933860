//! `tessera stats` and `tessera optimize`: what a table holds and how it is stored, and
//! learning a layout from its workload.

use std::io::Write;
use std::time::Instant;

use tessera::{Db, TableStats};

use crate::error::CliResult;
use crate::human_bytes;
use crate::plan::find_table;
use crate::progress::Progress;
use crate::query::io_error;
use crate::sql::Name;
use crate::values::write_string;

/// Output formats of `stats`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StatsFormat {
    /// Text for people.
    Table,
    /// One JSON object: rows, bytes_on_disk, columns [{name, bytes, encodings}], layout, ...
    Json,
}

fn table_named(db: &Db, name: &str) -> CliResult<tessera::Table> {
    find_table(
        db,
        &Name {
            value: name.to_owned(),
            quoted: true,
        },
    )
}

/// The JSON object of a table's statistics.
pub fn stats_json(stats: &TableStats) -> String {
    let mut text = format!(
        "{{\"rows\": {}, \"bytes_on_disk\": {}, \"columns\": [",
        stats.rows, stats.bytes_on_disk
    );
    for (index, column) in stats.columns.iter().enumerate() {
        if index > 0 {
            text.push_str(", ");
        }
        text.push_str("{\"name\": ");
        write_string(&column.name, &mut text);
        text.push_str(&format!(", \"bytes\": {}, \"encodings\": [", column.bytes));
        for (position, (encoding, blocks)) in column.encodings.iter().enumerate() {
            if position > 0 {
                text.push_str(", ");
            }
            text.push_str("{\"encoding\": ");
            write_string(encoding, &mut text);
            text.push_str(&format!(", \"blocks\": {blocks}}}"));
        }
        text.push_str("]}");
    }
    text.push_str("], \"layout\": ");
    write_string(&stats.layout, &mut text);
    text.push_str(", \"layout_kind\": ");
    write_string(&stats.layout_kind, &mut text);
    text.push_str(&format!(
        ", \"layout_version\": {}, \"layout_pinned\": {}, \"layout_provisional\": {}, \"model_bytes\": {}, \"blocks\": {}, \"compacted_rows\": {}, \"delta_bytes\": {}",
        stats.layout_version, stats.layout_pinned, stats.layout_provisional, stats.model_bytes, stats.blocks, stats.compacted_rows, stats.delta_bytes
    ));
    text.push_str(", \"last_compaction_error\": ");
    match &stats.last_compaction_error {
        Some(error) => write_string(error, &mut text),
        None => text.push_str("null"),
    }
    text.push('}');
    text
}

/// `tessera stats`.
pub fn stats(db: &Db, name: &str, format: StatsFormat, out: &mut dyn Write) -> CliResult<()> {
    let table = table_named(db, name)?;
    let stats = table.stats()?;
    let text = match format {
        StatsFormat::Json => stats_json(&stats) + "\n",
        StatsFormat::Table => {
            let mut text = format!(
                "table {name}: {} rows, {} on disk ({} bytes)\nlayout (version {}{}): {}\nmodels: {}; blocks: {} holding {} rows; delta: {}\n",
                stats.rows,
                human_bytes(stats.bytes_on_disk),
                stats.bytes_on_disk,
                stats.layout_version,
                match (stats.layout_pinned, stats.layout_provisional) {
                    (true, _) => ", pinned",
                    (false, true) => ", provisional",
                    (false, false) => "",
                },
                stats.layout,
                human_bytes(stats.model_bytes),
                stats.blocks,
                stats.compacted_rows,
                human_bytes(stats.delta_bytes),
            );
            if let Some(error) = &stats.last_compaction_error {
                text.push_str(&format!("last compaction failed: {error}\n"));
            }
            let mut grid = comfy_table::Table::new();
            grid.load_style(comfy_table::presets::UTF8_FULL_CONDENSED);
            grid.set_header(["column", "bytes", "share", "encodings (blocks)"]);
            let total: u64 = stats.columns.iter().map(|c| c.bytes).sum();
            for column in &stats.columns {
                let encodings = column
                    .encodings
                    .iter()
                    .map(|(encoding, blocks)| format!("{encoding} ({blocks})"))
                    .collect::<Vec<_>>()
                    .join(", ");
                grid.add_row([
                    column.name.clone(),
                    human_bytes(column.bytes),
                    format!("{:.1}%", column.bytes as f64 * 100.0 / total.max(1) as f64),
                    if encodings.is_empty() {
                        "(not compacted yet)".to_owned()
                    } else {
                        encodings
                    },
                ]);
            }
            text.push_str(&grid.to_string());
            text.push('\n');
            text
        }
    };
    out.write_all(text.as_bytes()).map_err(io_error)
}

/// `tessera optimize`: learns a layout and rewrites the table when it pays; prints the
/// estimates before and after.
pub fn optimize(db: &Db, name: &str, out: &mut dyn Write, progress: &Progress) -> CliResult<()> {
    let table = table_named(db, name)?;
    let spinner = progress.spinner("optimizing");
    spinner.enable_steady_tick(std::time::Duration::from_millis(120));
    let started = Instant::now();
    let report = table.optimize();
    spinner.finish_and_clear();
    let report = report?;
    db.sync_wal()?;
    let seconds = started.elapsed().as_secs_f64();
    let mut text = format!(
        "learned from {} logged queries and a sample of {} rows in {seconds:.2} s\n",
        report.workload_queries, report.sample_rows
    );
    let mut grid = comfy_table::Table::new();
    grid.load_style(comfy_table::presets::UTF8_FULL_CONDENSED);
    grid.set_header(["estimate per query", "before", "after"]);
    let rows: [(&str, f64, f64); 5] = [
        (
            "cost (ms)",
            report.before.cost_ns / 1e6,
            report.after.cost_ns / 1e6,
        ),
        (
            "rows scanned",
            report.before.rows_scanned,
            report.after.rows_scanned,
        ),
        (
            "rows matched",
            report.before.rows_matched,
            report.after.rows_matched,
        ),
        (
            "scan overhead",
            report.before.scan_overhead(),
            report.after.scan_overhead(),
        ),
        (
            "blocks read",
            report.before.blocks_visited,
            report.after.blocks_visited,
        ),
    ];
    for (what, before, after) in rows {
        grid.add_row([
            what.to_owned(),
            format!("{before:.2}"),
            format!("{after:.2}"),
        ]);
    }
    grid.add_row([
        "layout".to_owned(),
        report.layout_before.clone(),
        report.candidate.clone(),
    ]);
    text.push_str(&grid.to_string());
    text.push('\n');
    text.push_str(&format!("costs used: {}\n", report.cost_model));
    match &report.relayout {
        Some(relayout) => text.push_str(&format!(
            "rewrote {} rows into layout version {} ({} blocks, were {}) in {:.2} s; it is live\n",
            relayout.rows,
            relayout.layout_version,
            relayout.blocks_after,
            relayout.blocks_before,
            relayout.micros as f64 / 1e6
        )),
        None => text.push_str(
            "kept the current layout: the learned one is not estimated to be enough faster\n",
        ),
    }
    out.write_all(text.as_bytes()).map_err(io_error)
}
