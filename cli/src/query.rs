//! `tessera query`: runs SQL statements, one from the command line or every `;`-terminated
//! statement of a file, and prints their results as a table, CSV, JSON or JSON lines.
//!
//! With `--format jsonl` every statement prints one line, whether it worked
//! (`{"statement": i, "columns": [...], "rows": [[...]], "elapsed_us": n, "rows_matched": n,
//! "rows_scanned": n, "blocks_scanned": n, "blocks_total": n, "bytes_read": n}`) or not
//! (`{"statement": i, "error": "..."}`), and the run goes on; the exit code is 1 when a
//! statement failed, 2 when one was SQL `tessera` does not accept. `elapsed_us` is the time
//! from parsing to the last result row, the median of `--repeat` runs.

use std::io::Write;
use std::time::{Duration, Instant};

use arrow::array::RecordBatch;
use arrow::util::display::FormatOptions;
use tessera::Db;

use crate::error::{CliError, CliResult, one_line};
use crate::plan::{Answer, Plan, bind};
use crate::sql::{Origin, parse};
use crate::values::{TextCells, write_json, write_string};

/// Output formats of `query`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// An aligned table for people.
    Table,
    /// CSV with a header row.
    Csv,
    /// Per statement, a JSON array of row objects.
    Json,
    /// Per statement, one JSON object on one line (the contract scripts use).
    Jsonl,
}

/// One statement of a file, with where it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementText {
    /// The statement, without its `;`.
    pub text: String,
    /// Where it starts in the file.
    pub origin: Origin,
}

/// Splits a file into its `;`-terminated statements, keeping `;` inside quotes and comments,
/// and dropping statements that hold only blanks and comments.
pub fn split_statements(source: &str) -> Vec<StatementText> {
    let mut statements = Vec::new();
    let mut current = String::new();
    let mut substantive = false;
    let mut start: Option<Origin> = None;
    let (mut line, mut column) = (0u64, 0u64);
    let mut chars = source.chars().peekable();
    let mut push = |current: &mut String, substantive: &mut bool, start: &mut Option<Origin>| {
        if *substantive && let Some(origin) = start.take() {
            statements.push(StatementText {
                text: std::mem::take(current),
                origin,
            });
        }
        current.clear();
        *substantive = false;
        *start = None;
    };
    while let Some(c) = chars.next() {
        let here = Origin {
            lines_before: line,
            columns_before: column,
        };
        let advance = |c: char, line: &mut u64, column: &mut u64| {
            if c == '\n' {
                *line += 1;
                *column = 0;
            } else {
                *column += 1;
            }
        };
        match c {
            ';' => {
                advance(c, &mut line, &mut column);
                push(&mut current, &mut substantive, &mut start);
                continue;
            }
            '\'' | '"' | '`' => {
                if start.is_none() {
                    start = Some(here);
                }
                substantive = true;
                current.push(c);
                advance(c, &mut line, &mut column);
                // Quotes end at the next unescaped quote; doubled quotes stay inside.
                while let Some(inner) = chars.next() {
                    current.push(inner);
                    advance(inner, &mut line, &mut column);
                    if inner == c {
                        if chars.peek() == Some(&c) {
                            if let Some(doubled) = chars.next() {
                                current.push(doubled);
                                advance(doubled, &mut line, &mut column);
                            }
                        } else {
                            break;
                        }
                    }
                }
                continue;
            }
            '-' if chars.peek() == Some(&'-') => {
                if start.is_none() {
                    start = Some(here);
                }
                current.push(c);
                advance(c, &mut line, &mut column);
                for inner in chars.by_ref() {
                    current.push(inner);
                    advance(inner, &mut line, &mut column);
                    if inner == '\n' {
                        break;
                    }
                }
                continue;
            }
            '/' if chars.peek() == Some(&'*') => {
                if start.is_none() {
                    start = Some(here);
                }
                current.push(c);
                advance(c, &mut line, &mut column);
                if let Some(star) = chars.next() {
                    current.push(star);
                    advance(star, &mut line, &mut column);
                }
                let mut previous = ' ';
                for inner in chars.by_ref() {
                    current.push(inner);
                    advance(inner, &mut line, &mut column);
                    if previous == '*' && inner == '/' {
                        break;
                    }
                    previous = inner;
                }
                continue;
            }
            _ => {}
        }
        if !c.is_whitespace() {
            if start.is_none() {
                start = Some(here);
            }
            substantive = true;
        }
        if start.is_some() {
            current.push(c);
        }
        advance(c, &mut line, &mut column);
    }
    push(&mut current, &mut substantive, &mut start);
    statements
}

/// What `query` was asked.
#[derive(Debug, Clone)]
pub struct QueryOptions {
    /// The output format.
    pub format: Format,
    /// Runs per statement.
    pub repeat: u32,
    /// Print the plan and what the run did instead of the rows (JSON lines: both).
    pub explain: bool,
}

/// The outcome of one statement.
pub struct Outcome {
    /// The plan of the last run.
    pub plan: Plan,
    /// The answer of the last run.
    pub answer: Answer,
    /// The median time from parsing to the last row.
    pub elapsed: Duration,
    /// Parsing and planning time of the last run.
    pub plan_time: Duration,
}

/// Runs one statement `repeat` times; the last run's answer and the median elapsed time.
pub fn run_statement(db: &Db, statement: &StatementText, repeat: u32) -> CliResult<Outcome> {
    let mut elapsed = Vec::new();
    let mut last = None;
    for _ in 0..repeat.max(1) {
        let started = Instant::now();
        let parsed = parse(&statement.text, statement.origin)?;
        let plan = bind(db, &parsed)?;
        let plan_time = started.elapsed();
        let answer = plan.run()?;
        elapsed.push(started.elapsed());
        last = Some((plan, answer, plan_time));
    }
    elapsed.sort_unstable();
    let median = match elapsed.len() {
        0 => Duration::ZERO,
        n if n % 2 == 1 => elapsed.get(n / 2).copied().unwrap_or_default(),
        n => {
            let low = elapsed.get(n / 2 - 1).copied().unwrap_or_default();
            let high = elapsed.get(n / 2).copied().unwrap_or_default();
            (low + high) / 2
        }
    };
    let (plan, answer, plan_time) =
        last.ok_or_else(|| CliError::failed("the statement did not run"))?;
    Ok(Outcome {
        plan,
        answer,
        elapsed: median,
        plan_time,
    })
}

/// Runs the statements and prints their results; returns the error that sets the exit code
/// (the first usage error, else the first failure), if any statement failed.
pub fn run(
    db: &Db,
    statements: &[StatementText],
    options: &QueryOptions,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> CliResult<Option<CliError>> {
    let single = statements.len() == 1;
    let mut worst: Option<CliError> = None;
    for (index, statement) in statements.iter().enumerate() {
        let outcome = run_statement(db, statement, options.repeat);
        let mut text = String::new();
        match outcome {
            Ok(outcome) => {
                render(index, &outcome, options, single, &mut text)?;
            }
            Err(error) => {
                if options.format == Format::Jsonl {
                    text.push_str(&format!("{{\"statement\": {index}, \"error\": "));
                    write_string(&error.message(), &mut text);
                    text.push_str("}\n");
                } else if single {
                    // A single statement's error is the command's error.
                    return Ok(Some(error));
                } else {
                    writeln!(err, "statement {index}: {}", error.message()).map_err(io_error)?;
                }
                worst = match worst {
                    Some(existing) if existing.is_usage() || !error.is_usage() => Some(existing),
                    _ => Some(error),
                };
            }
        }
        out.write_all(text.as_bytes()).map_err(io_error)?;
    }
    out.flush().map_err(io_error)?;
    Ok(worst)
}

/// Maps an output error.
pub fn io_error(error: std::io::Error) -> CliError {
    CliError::failed(format!("writing the output: {error}"))
}

fn micros(duration: Duration) -> f64 {
    (duration.as_nanos() as f64 / 1_000.0 * 1_000.0).round() / 1_000.0
}

fn render(
    index: usize,
    outcome: &Outcome,
    options: &QueryOptions,
    single: bool,
    text: &mut String,
) -> CliResult<()> {
    let batch = &outcome.answer.batch;
    let stats = outcome.answer.stats;
    match options.format {
        Format::Jsonl => {
            text.push_str(&format!("{{\"statement\": {index}, \"columns\": ["));
            for (position, field) in batch.schema().fields().iter().enumerate() {
                if position > 0 {
                    text.push_str(", ");
                }
                write_string(field.name(), text);
            }
            text.push_str("], \"rows\": [");
            for row in 0..batch.num_rows() {
                if row > 0 {
                    text.push_str(", ");
                }
                text.push('[');
                for (position, column) in batch.columns().iter().enumerate() {
                    if position > 0 {
                        text.push_str(", ");
                    }
                    write_json(column.as_ref(), row, text)?;
                }
                text.push(']');
            }
            text.push_str(&format!(
                "], \"elapsed_us\": {}, \"rows_matched\": {}, \"rows_scanned\": {}, \
                 \"blocks_scanned\": {}, \"blocks_total\": {}, \"bytes_read\": {}",
                micros(outcome.elapsed).max(0.001),
                stats.rows_matched,
                stats.rows_scanned,
                stats.blocks_scanned,
                stats.blocks_total,
                stats.bytes_read
            ));
            if options.explain {
                text.push_str(", \"explain\": {");
                let lines = outcome
                    .plan
                    .describe()
                    .into_iter()
                    .chain(engine_lines(outcome));
                for (key, value) in lines {
                    write_string(&key.replace(' ', "_"), text);
                    text.push_str(": ");
                    write_string(&value, text);
                    text.push_str(", ");
                }
                text.push_str(&format!(
                    "\"plan_us\": {}, \"engine_us\": {}, \"finish_us\": {}}}",
                    micros(outcome.plan_time),
                    micros(outcome.answer.engine),
                    micros(outcome.answer.finish)
                ));
            }
            text.push_str("}\n");
        }
        _ if options.explain => explain(index, outcome, single, text),
        Format::Table => {
            if !single {
                text.push_str(&format!("statement {index}\n"));
            }
            table(batch, text)?;
            text.push_str(&format!(
                "{} row{} in {:.3} ms ({} rows scanned, {} matched)\n",
                batch.num_rows(),
                if batch.num_rows() == 1 { "" } else { "s" },
                outcome.elapsed.as_secs_f64() * 1e3,
                stats.rows_scanned,
                stats.rows_matched
            ));
            if !single {
                text.push('\n');
            }
        }
        Format::Csv => {
            if index > 0 {
                text.push('\n');
            }
            csv(batch, text)?;
        }
        Format::Json => {
            json(batch, text)?;
        }
    }
    Ok(())
}

fn explain(index: usize, outcome: &Outcome, single: bool, text: &mut String) {
    let stats = outcome.answer.stats;
    if !single {
        text.push_str(&format!("statement {index}\n"));
    }
    let mut lines = outcome.plan.describe();
    lines.extend(engine_lines(outcome));
    let overhead = if stats.rows_matched == 0 {
        String::new()
    } else {
        format!(
            " (scan overhead {:.2})",
            stats.rows_scanned as f64 / stats.rows_matched as f64
        )
    };
    lines.push((
        "rows".to_owned(),
        format!(
            "{} scanned, {} matched{overhead}; {} in the result",
            stats.rows_scanned,
            stats.rows_matched,
            outcome.answer.batch.num_rows()
        ),
    ));
    lines.push((
        "bytes read".to_owned(),
        format!(
            "{} ({} column chunks decoded, the rest from the cache)",
            stats.bytes_read, stats.chunks_decoded
        ),
    ));
    if let Some(explain) = &outcome.answer.explain {
        lines.push((
            "engine phases".to_owned(),
            format!(
                "choosing blocks {:.3} ms, reading and filtering blocks {:.3} ms ({:.3} ms of the scan threads' time), merging delta {:.3} ms",
                explain.plan_micros as f64 / 1e3,
                explain.blocks_micros as f64 / 1e3,
                explain.blocks_thread_micros as f64 / 1e3,
                explain.delta_micros as f64 / 1e3
            ),
        ));
    }
    lines.push((
        "time".to_owned(),
        format!(
            "parse and plan {:.3} ms, engine {:.3} ms, order and limit {:.3} ms, total {:.3} ms",
            outcome.plan_time.as_secs_f64() * 1e3,
            outcome.answer.engine.as_secs_f64() * 1e3,
            outcome.answer.finish.as_secs_f64() * 1e3,
            outcome.elapsed.as_secs_f64() * 1e3
        ),
    ));
    let width = lines.iter().map(|(key, _)| key.len()).max().unwrap_or(0);
    for (key, value) in lines {
        text.push_str(&format!("{key:<width$}  {}\n", one_line(&value)));
    }
    if !single {
        text.push('\n');
    }
}

/// What the engine reported about its scan: layout, cells, blocks, encodings.
fn engine_lines(outcome: &Outcome) -> Vec<(String, String)> {
    let stats = outcome.answer.stats;
    let mut lines = Vec::new();
    match &outcome.answer.explain {
        Some(explain) => {
            lines.push(("layout".to_owned(), explain.layout.clone()));
            lines.push((
                "cells".to_owned(),
                format!(
                    "{} visited of {}",
                    explain.cells_visited, explain.cells_total
                ),
            ));
            lines.push((
                "blocks".to_owned(),
                format!(
                    "{} scanned of {} in the table ({} in the cells visited, {} pruned by zone maps; {} returned no row, {} rows scanned in them); {} delta rows merged",
                    stats.blocks_scanned,
                    stats.blocks_total,
                    explain.blocks_in_cells,
                    explain.blocks_pruned,
                    explain.blocks_unmatched,
                    explain.rows_scanned_unmatched,
                    explain.delta_rows
                ),
            ));
            lines.push((
                "filters".to_owned(),
                format!(
                    "{} run on blocks ({} over narrow offsets, {} over dictionary codes, the rest over values); {} skipped where a zone map showed every row passes",
                    explain.filters_run,
                    explain.filters_on_offsets,
                    explain.filters_on_codes,
                    explain.filters_skipped
                ),
            ));
            let encodings = if explain.encodings_read.is_empty() {
                "none (no block read)".to_owned()
            } else {
                explain
                    .encodings_read
                    .iter()
                    .map(|(encoding, chunks)| format!("{encoding} x{chunks}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            lines.push(("encodings read".to_owned(), encodings));
        }
        None => lines.push((
            "blocks".to_owned(),
            format!(
                "{} scanned of {} in the table",
                stats.blocks_scanned, stats.blocks_total
            ),
        )),
    }
    lines
}

fn table(batch: &RecordBatch, text: &mut String) -> CliResult<()> {
    let options = FormatOptions::default().with_null("NULL");
    let mut table = comfy_table::Table::new();
    table.load_style(comfy_table::presets::UTF8_FULL_CONDENSED);
    table.set_header(batch.schema().fields().iter().map(|f| f.name().clone()));
    let cells = batch
        .columns()
        .iter()
        .map(|column| TextCells::new(column.as_ref(), &options))
        .collect::<CliResult<Vec<_>>>()?;
    for row in 0..batch.num_rows() {
        table.add_row(cells.iter().map(|cells| cells.text(row)));
    }
    text.push_str(&table.to_string());
    text.push('\n');
    Ok(())
}

fn csv_field(value: &str, text: &mut String) {
    if value.contains([',', '"', '\n', '\r']) {
        text.push('"');
        text.push_str(&value.replace('"', "\"\""));
        text.push('"');
    } else {
        text.push_str(value);
    }
}

fn csv(batch: &RecordBatch, text: &mut String) -> CliResult<()> {
    for (position, field) in batch.schema().fields().iter().enumerate() {
        if position > 0 {
            text.push(',');
        }
        csv_field(field.name(), text);
    }
    text.push('\n');
    let options = FormatOptions::default();
    let cells = batch
        .columns()
        .iter()
        .map(|column| TextCells::new(column.as_ref(), &options))
        .collect::<CliResult<Vec<_>>>()?;
    for row in 0..batch.num_rows() {
        for (position, (column, cells)) in batch.columns().iter().zip(&cells).enumerate() {
            if position > 0 {
                text.push(',');
            }
            if !column.is_null(row) {
                csv_field(&cells.text(row), text);
            }
        }
        text.push('\n');
    }
    Ok(())
}

fn json(batch: &RecordBatch, text: &mut String) -> CliResult<()> {
    let schema = batch.schema();
    let names: Vec<String> = schema
        .fields()
        .iter()
        .map(|field| {
            let mut name = String::new();
            write_string(field.name(), &mut name);
            name
        })
        .collect();
    text.push('[');
    for row in 0..batch.num_rows() {
        text.push_str(if row == 0 { "\n  {" } else { ",\n  {" });
        for (position, (name, column)) in names.iter().zip(batch.columns()).enumerate() {
            if position > 0 {
                text.push_str(", ");
            }
            text.push_str(name);
            text.push_str(": ");
            write_json(column.as_ref(), row, text)?;
        }
        text.push('}');
    }
    text.push_str(if batch.num_rows() == 0 {
        "]\n"
    } else {
        "\n]\n"
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_split_at_semicolons_outside_quotes_and_comments() {
        let source = "SELECT 1;\n  SELECT ';' FROM t; -- a; comment\nSELECT \"a;b\" /* ; */ FROM t;\n\n-- only a comment;\n";
        let statements = split_statements(source);
        let texts: Vec<&str> = statements.iter().map(|s| s.text.as_str()).collect();
        assert_eq!(
            texts,
            vec![
                "SELECT 1",
                "SELECT ';' FROM t",
                "-- a; comment\nSELECT \"a;b\" /* ; */ FROM t",
            ]
        );
        assert_eq!(
            statements.get(1).map(|s| s.origin),
            Some(Origin {
                lines_before: 1,
                columns_before: 2
            })
        );
    }
}
