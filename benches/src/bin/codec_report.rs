//! `codec_report`: how small and how fast Tessera's codecs store TPC-H `lineitem`, column by
//! column, measured side by side with zstd over plain Arrow buffers and with Parquet + ZSTD.
//!
//! ```text
//! cargo run --release -p tessera-benches --bin codec_report -- --scale 1 [--block-rows 65536]
//!     [--repetitions 5] [--json report.json]
//! ```
//!
//! Everything runs on one thread. Each column is cut into blocks of `--block-rows` rows (the
//! generator's batches), each block is converted with [`column_from_array`] and encoded with
//! [`encode_block`] (the time includes the automatic choice). Decoding runs one untimed pass
//! that also checks every block against its source, then `--repetitions` timed passes of
//! [`decode_block_into`] into one reused [`Column`]; the median pass is reported.
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a report binary prints its report and its progress"
)]

use std::collections::HashMap;
use std::error::Error;
use std::fmt::Write as _;
use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use arrow::array::{Array, ArrayRef, RecordBatch};
use arrow::datatypes::{Field, SchemaRef};
use clap::Parser;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use tessera::columnar::{column_from_array, column_to_array, default_arrow_type};
use tessera_codecs::{
    Column, Compressor, EncodedBlock, MAX_BLOCK_ROWS, PhysicalKind, decode_block_into, encode_block,
};
use tpchgen::generators::LineItemGenerator;
use tpchgen_arrow::LineItemArrow;

/// The zstd level of the plain-Arrow baseline (the codecs' own zstd fallback uses 3 too).
const BASELINE_ZSTD_LEVEL: i32 = 3;

/// Command-line arguments.
#[derive(Debug, Parser)]
#[command(about = "Per-column compression and speed of Tessera's codecs on TPC-H lineitem")]
struct Args {
    /// TPC-H scale factor.
    #[arg(long, default_value_t = 1.0)]
    scale: f64,
    /// Rows per block.
    #[arg(long, default_value_t = 65_536)]
    block_rows: usize,
    /// Timed decode passes per column, after one untimed checking pass; the median is shown.
    #[arg(long, default_value_t = 5)]
    repetitions: usize,
    /// Also write the numbers as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
}

/// What one column measured.
#[derive(Debug)]
struct ColumnReport {
    name: String,
    arrow_type: String,
    /// Held as integers by the codecs: integers, dates, timestamps, decimals.
    integer_held: bool,
    blocks: usize,
    /// The most common encoding across blocks, and in how many blocks it was chosen.
    encoding: String,
    encoding_blocks: usize,
    distinct_encodings: usize,
    logical_bytes: usize,
    encoded_bytes: usize,
    /// zstd over each block's plain Arrow buffers.
    zstd_bytes: usize,
    /// This column's chunks in the Parquet file (ZSTD at the default level).
    parquet_bytes: usize,
    encode_time: Duration,
    decode_median: Duration,
    decode_best: Duration,
}

/// The whole run.
#[derive(Debug)]
struct Report {
    scale: f64,
    rows: usize,
    block_rows: usize,
    repetitions: usize,
    columns: Vec<ColumnReport>,
    parquet_default_bytes: usize,
    parquet_level3_bytes: usize,
}

/// Parquet file sizes and per-column chunk sizes.
struct ParquetSizes {
    file_bytes: usize,
    column_bytes: Vec<usize>,
}

fn main() -> Result<(), Box<dyn Error>> {
    let args = Args::parse();
    if args.block_rows == 0 || args.block_rows > MAX_BLOCK_ROWS {
        return Err(format!("--block-rows must be in 1..={MAX_BLOCK_ROWS}").into());
    }
    if args.repetitions == 0 {
        return Err("--repetitions must be at least 1".into());
    }

    eprintln!(
        "[1/4] generating TPC-H lineitem at scale {} in batches of {} rows",
        args.scale, args.block_rows
    );
    let (schema, batches) = generate_lineitem(args.scale, args.block_rows)?;
    let rows = batches.iter().map(RecordBatch::num_rows).sum();

    eprintln!(
        "[2/4] encoding, checking and decoding {} columns x {} blocks ({} timed decode passes)",
        schema.fields().len(),
        batches.len(),
        args.repetitions
    );
    let mut columns = schema
        .fields()
        .iter()
        .enumerate()
        .map(|(index, field)| {
            let blocks: Vec<ArrayRef> = batches
                .iter()
                .map(|batch| batch.column(index).clone())
                .collect();
            measure_column(field, &blocks, args.repetitions)
        })
        .collect::<Result<Vec<_>, _>>()?;

    eprintln!("[3/4] writing Parquet with ZSTD at the default level");
    let parquet_default = parquet_sizes(&schema, &batches, ZstdLevel::default())?;
    for (column, bytes) in columns.iter_mut().zip(&parquet_default.column_bytes) {
        column.parquet_bytes = *bytes;
    }
    eprintln!("[4/4] writing Parquet with ZSTD at level {BASELINE_ZSTD_LEVEL}");
    let parquet_level3 =
        parquet_sizes(&schema, &batches, ZstdLevel::try_new(BASELINE_ZSTD_LEVEL)?)?;

    let report = Report {
        scale: args.scale,
        rows,
        block_rows: args.block_rows,
        repetitions: args.repetitions,
        columns,
        parquet_default_bytes: parquet_default.file_bytes,
        parquet_level3_bytes: parquet_level3.file_bytes,
    };
    print!("{}", render_text(&report));
    if let Some(path) = &args.json {
        std::fs::write(path, render_json(&report))?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}

/// Generates `lineitem` in batches of `block_rows` rows, so each batch is one block.
fn generate_lineitem(
    scale: f64,
    block_rows: usize,
) -> Result<(SchemaRef, Vec<RecordBatch>), Box<dyn Error>> {
    let generator =
        LineItemArrow::new(LineItemGenerator::new(scale, 1, 1)).with_batch_size(block_rows);
    let schema = LineItemArrow::schema_ref();
    let batches = generator.collect::<Result<Vec<_>, _>>()?;
    Ok((schema, batches))
}

/// Converts, encodes, checks and decodes one column's blocks.
fn measure_column(
    field: &Field,
    blocks: &[ArrayRef],
    repetitions: usize,
) -> Result<ColumnReport, Box<dyn Error>> {
    let name = field.name();
    let columns = blocks
        .iter()
        .map(|block| column_from_array(name, block.as_ref()))
        .collect::<Result<Vec<_>, _>>()?;
    let logical_type = tessera::columnar::logical_type(name, field.data_type())?;
    let logical_bytes = columns.iter().map(Column::logical_bytes).sum();

    let compressor = Compressor::default();
    let start = Instant::now();
    let encoded = columns
        .iter()
        .map(|column| encode_block(column, &compressor))
        .collect::<Result<Vec<_>, _>>()?;
    let encode_time = start.elapsed();

    let zstd_bytes = zstd_plain_bytes(&columns)?;
    check_round_trip(name, &columns, &encoded)?;
    drop(columns);

    let mut decoded = Column::empty(logical_type.clone());
    let mut passes = Vec::with_capacity(repetitions);
    for _ in 0..repetitions {
        let start = Instant::now();
        for block in &encoded {
            decode_block_into(&block.bytes, &mut decoded)?;
            black_box(&decoded);
        }
        passes.push(start.elapsed());
    }
    passes.sort_unstable();
    let (encoding, encoding_blocks, distinct_encodings) = most_common_encoding(&encoded);

    Ok(ColumnReport {
        name: name.clone(),
        arrow_type: field.data_type().to_string(),
        integer_held: matches!(
            logical_type.physical(),
            PhysicalKind::Int | PhysicalKind::Decimal
        ),
        blocks: encoded.len(),
        encoding,
        encoding_blocks,
        distinct_encodings,
        logical_bytes,
        encoded_bytes: encoded.iter().map(|block| block.bytes.len()).sum(),
        zstd_bytes,
        parquet_bytes: 0,
        encode_time,
        decode_median: passes.get(passes.len() / 2).copied().unwrap_or_default(),
        decode_best: passes.first().copied().unwrap_or_default(),
    })
}

/// Decodes every block once (untimed; also warms the decode buffers) and compares it with the
/// column it was encoded from.
fn check_round_trip(
    name: &str,
    columns: &[Column],
    encoded: &[EncodedBlock],
) -> Result<(), Box<dyn Error>> {
    let Some(first) = columns.first() else {
        return Ok(());
    };
    let mut decoded = Column::empty(first.logical().clone());
    for (index, (column, block)) in columns.iter().zip(encoded).enumerate() {
        decode_block_into(&block.bytes, &mut decoded)?;
        if decoded != *column {
            return Err(format!(
                "column {name}: block {index} ({}) decodes to different values",
                block.values
            )
            .into());
        }
    }
    Ok(())
}

/// Total size of zstd applied to each block's plain Arrow bytes: its values, offsets and
/// validity buffers (in the offsets layout `Column::logical_bytes` counts) as one buffer.
fn zstd_plain_bytes(columns: &[Column]) -> Result<usize, Box<dyn Error>> {
    let mut compressor = zstd::bulk::Compressor::new(BASELINE_ZSTD_LEVEL)?;
    let mut total = 0;
    let mut plain = Vec::new();
    for column in columns {
        let array = column_to_array(column, &default_arrow_type(column.logical()))?;
        let data = array.to_data();
        plain.clear();
        for buffer in data.buffers() {
            plain.extend_from_slice(buffer.as_slice());
        }
        if let Some(nulls) = data.nulls() {
            plain.extend_from_slice(nulls.buffer().as_slice());
        }
        total += compressor.compress(&plain)?.len();
    }
    Ok(total)
}

/// The encoding chosen for the most blocks (ties go to the name first in order), the number
/// of blocks that chose it, and the number of different encodings chosen.
fn most_common_encoding(blocks: &[EncodedBlock]) -> (String, usize, usize) {
    let mut counts: HashMap<String, usize> = HashMap::new();
    for block in blocks {
        *counts.entry(block.values.to_string()).or_default() += 1;
    }
    let distinct = counts.len();
    let (encoding, count) = counts
        .into_iter()
        .max_by(|(name_a, count_a), (name_b, count_b)| {
            count_a.cmp(count_b).then_with(|| name_b.cmp(name_a))
        })
        .unwrap_or_default();
    (encoding, count, distinct)
}

/// Writes the batches to an in-memory Parquet file with ZSTD at `level`, other properties
/// at their defaults, and returns the file size and each column's chunk bytes.
fn parquet_sizes(
    schema: &SchemaRef,
    batches: &[RecordBatch],
    level: ZstdLevel,
) -> Result<ParquetSizes, Box<dyn Error>> {
    let properties = WriterProperties::builder()
        .set_compression(Compression::ZSTD(level))
        .build();
    let mut writer = ArrowWriter::try_new(Vec::new(), schema.clone(), Some(properties))?;
    for batch in batches {
        writer.write(batch)?;
    }
    let metadata = writer.finish()?;
    let mut column_bytes = vec![0usize; schema.fields().len()];
    for row_group in metadata.row_groups() {
        for (index, bytes) in column_bytes.iter_mut().enumerate() {
            *bytes += usize::try_from(row_group.column(index).compressed_size())?;
        }
    }
    Ok(ParquetSizes {
        file_bytes: writer.inner().len(),
        column_bytes,
    })
}

fn megabytes_per_second(bytes: usize, time: Duration) -> f64 {
    bytes as f64 / 1e6 / time.as_secs_f64().max(f64::MIN_POSITIVE)
}

fn gigabytes_per_second(bytes: usize, time: Duration) -> f64 {
    megabytes_per_second(bytes, time) / 1e3
}

fn ratio(numerator: usize, denominator: usize) -> f64 {
    numerator as f64 / denominator.max(1) as f64
}

/// Logical bytes and decode time (median passes) summed over the columns `keep` selects.
fn decode_totals(
    columns: &[ColumnReport],
    keep: impl Fn(&ColumnReport) -> bool,
) -> (usize, Duration) {
    columns
        .iter()
        .filter(|column| keep(column))
        .fold((0, Duration::ZERO), |(bytes, time), column| {
            (bytes + column.logical_bytes, time + column.decode_median)
        })
}

fn render_text(report: &Report) -> String {
    let mut out = String::new();
    let blocks = report.columns.first().map_or(0, |column| column.blocks);
    let _ = writeln!(
        out,
        "TPC-H lineitem, scale {}: {} rows, {} blocks of up to {} rows per column, one thread",
        report.scale, report.rows, blocks, report.block_rows
    );
    let _ = writeln!(
        out,
        "bytes: logical = Arrow layout (values, i32 offsets, validity bits); tessera = encoded \
         blocks; zstd = zstd-{BASELINE_ZSTD_LEVEL} per block over the plain Arrow bytes; parquet = \
         the column's chunks, ZSTD default level"
    );
    let _ = writeln!(
        out,
        "speed: encode MB/s and decode GB/s of logical bytes; encode includes the choice; decode \
         = median of {} timed passes (after one untimed checking pass)\n",
        report.repetitions
    );
    let _ = writeln!(
        out,
        "{:<16} {:<15} {:>12} {:>11} {:>7} {:>11} {:>11} {:>8} {:>9} {:>9}  encoding (blocks/total, choices)",
        "column",
        "arrow type",
        "logical B",
        "tessera B",
        "ratio",
        "zstd B",
        "parquet B",
        "tess/pq",
        "enc MB/s",
        "dec GB/s",
    );
    for column in &report.columns {
        let _ = writeln!(
            out,
            "{:<16} {:<15} {:>12} {:>11} {:>7.2} {:>11} {:>11} {:>8.2} {:>9.1} {:>9.2}  {} ({}/{}, {})",
            column.name,
            column.arrow_type,
            column.logical_bytes,
            column.encoded_bytes,
            ratio(column.logical_bytes, column.encoded_bytes),
            column.zstd_bytes,
            column.parquet_bytes,
            ratio(column.encoded_bytes, column.parquet_bytes),
            megabytes_per_second(column.logical_bytes, column.encode_time),
            gigabytes_per_second(column.logical_bytes, column.decode_median),
            column.encoding,
            column.encoding_blocks,
            column.blocks,
            column.distinct_encodings,
        );
    }

    let logical: usize = report.columns.iter().map(|c| c.logical_bytes).sum();
    let encoded: usize = report.columns.iter().map(|c| c.encoded_bytes).sum();
    let zstd: usize = report.columns.iter().map(|c| c.zstd_bytes).sum();
    let encode_time: Duration = report.columns.iter().map(|c| c.encode_time).sum();
    let _ = writeln!(
        out,
        "\nwhole table{:>44} {:>10} {:>12}",
        "bytes", "logical/x", "tessera/x"
    );
    let mut total_line = |label: &str, bytes: usize| {
        let _ = writeln!(
            out,
            "  {label:<40} {bytes:>15} {:>10.2} {:>12.3}",
            ratio(logical, bytes),
            ratio(encoded, bytes)
        );
    };
    total_line("logical (Arrow layout)", logical);
    total_line("tessera blocks", encoded);
    total_line(
        &format!("zstd-{BASELINE_ZSTD_LEVEL} per block, plain Arrow bytes"),
        zstd,
    );
    total_line(
        "Parquet, ZSTD default level (1)",
        report.parquet_default_bytes,
    );
    total_line(
        &format!("Parquet, ZSTD level {BASELINE_ZSTD_LEVEL}"),
        report.parquet_level3_bytes,
    );

    let (int_bytes, int_time) = decode_totals(&report.columns, |column| column.integer_held);
    let (all_bytes, all_time) = decode_totals(&report.columns, |_| true);
    let _ = writeln!(out, "\nspeed (one core)");
    let _ = writeln!(
        out,
        "  encode, all columns:                            {:>8.1} MB/s",
        megabytes_per_second(logical, encode_time)
    );
    let _ = writeln!(
        out,
        "  decode, integer-held columns (int/date/decimal): {:>7.2} GB/s",
        gigabytes_per_second(int_bytes, int_time)
    );
    let _ = writeln!(
        out,
        "  decode, whole table:                             {:>7.2} GB/s",
        gigabytes_per_second(all_bytes, all_time)
    );
    out
}

/// A JSON string literal.
fn json_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for character in text.chars() {
        match character {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            control if u32::from(control) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(control));
            }
            other => out.push(other),
        }
    }
    out.push('"');
    out
}

fn render_json(report: &Report) -> String {
    let columns: Vec<String> = report
        .columns
        .iter()
        .map(|column| {
            format!(
                concat!(
                    "    {{\"name\": {}, \"arrow_type\": {}, \"integer_held\": {}, ",
                    "\"blocks\": {}, \"encoding\": {}, \"encoding_blocks\": {}, ",
                    "\"distinct_encodings\": {}, \"logical_bytes\": {}, \"encoded_bytes\": {}, ",
                    "\"zstd_plain_bytes\": {}, \"parquet_zstd_bytes\": {}, ",
                    "\"encode_seconds\": {:.6}, \"decode_seconds_median\": {:.6}, ",
                    "\"decode_seconds_best\": {:.6}, \"encode_mb_per_s\": {:.3}, ",
                    "\"decode_gb_per_s_median\": {:.4}}}"
                ),
                json_string(&column.name),
                json_string(&column.arrow_type),
                column.integer_held,
                column.blocks,
                json_string(&column.encoding),
                column.encoding_blocks,
                column.distinct_encodings,
                column.logical_bytes,
                column.encoded_bytes,
                column.zstd_bytes,
                column.parquet_bytes,
                column.encode_time.as_secs_f64(),
                column.decode_median.as_secs_f64(),
                column.decode_best.as_secs_f64(),
                megabytes_per_second(column.logical_bytes, column.encode_time),
                gigabytes_per_second(column.logical_bytes, column.decode_median),
            )
        })
        .collect();
    let logical: usize = report.columns.iter().map(|c| c.logical_bytes).sum();
    let encoded: usize = report.columns.iter().map(|c| c.encoded_bytes).sum();
    let zstd: usize = report.columns.iter().map(|c| c.zstd_bytes).sum();
    let encode_time: Duration = report.columns.iter().map(|c| c.encode_time).sum();
    let (int_bytes, int_time) = decode_totals(&report.columns, |column| column.integer_held);
    let (all_bytes, all_time) = decode_totals(&report.columns, |_| true);
    format!(
        concat!(
            "{{\n  \"table\": \"lineitem\",\n  \"scale\": {},\n  \"rows\": {},\n",
            "  \"block_rows\": {},\n  \"decode_repetitions\": {},\n",
            "  \"decode_statistic\": \"median\",\n  \"columns\": [\n{}\n  ],\n",
            "  \"totals\": {{\"logical_bytes\": {}, \"encoded_bytes\": {}, ",
            "\"zstd_plain_bytes\": {}, \"parquet_zstd_default_bytes\": {}, ",
            "\"parquet_zstd_level3_bytes\": {}, \"encode_mb_per_s\": {:.3}, ",
            "\"decode_gb_per_s_integer_held\": {:.4}, \"decode_gb_per_s_all\": {:.4}}}\n}}\n"
        ),
        report.scale,
        report.rows,
        report.block_rows,
        report.repetitions,
        columns.join(",\n"),
        logical,
        encoded,
        zstd,
        report.parquet_default_bytes,
        report.parquet_level3_bytes,
        megabytes_per_second(logical, encode_time),
        gigabytes_per_second(int_bytes, int_time),
        gigabytes_per_second(all_bytes, all_time),
    )
}
