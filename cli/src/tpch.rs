//! TPC-H lineitem for the quickstart and for comparisons with other engines: the data (from
//! `tpchgen-arrow`, as Arrow batches or written to Parquet or CSV) and a generated workload
//! of SQL statements over it.
//!
//! The workload mixes what an analytical table meets: point gets by primary key, key-range
//! scans, date-range aggregates (TPC-H Q1 and Q6 shapes without expressions), grouped
//! aggregates, `IN` lists, `OR` over one column, `<>` and `NOT IN`, and top-k queries. Every
//! `ORDER BY` with `LIMIT` ends with the primary key, so each statement has exactly one right
//! answer and any engine's result can be compared row for row.

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::compute::cast;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::error::ArrowError;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use tpchgen::generators::{LineItemGenerator, OrderGenerator};
use tpchgen_arrow::LineItemArrow;

use crate::error::{CliError, CliResult};
use crate::progress::Progress;

/// Rows per generated batch.
pub const GENERATE_BATCH_ROWS: usize = 32_768;

/// The primary key of lineitem.
pub const LINEITEM_KEY: [&str; 2] = ["l_orderkey", "l_linenumber"];

fn check_scale(scale: f64) -> CliResult<()> {
    if scale.is_finite() && scale > 0.0 && scale <= 1_000.0 {
        Ok(())
    } else {
        Err(CliError::Usage(format!(
            "the scale factor must be above 0 and at most 1000, not {scale}"
        )))
    }
}

/// Lineitem's schema as Tessera stores it: strings as `Utf8` (the generator's `Utf8View`
/// carries no benefit into a table and some readers do not take it).
pub fn lineitem_schema() -> SchemaRef {
    let fields: Vec<Field> = LineItemArrow::schema_ref()
        .fields()
        .iter()
        .map(|field| {
            let field = field.as_ref().clone();
            if *field.data_type() == DataType::Utf8View {
                field.with_data_type(DataType::Utf8)
            } else {
                field
            }
        })
        .collect();
    Arc::new(Schema::new(fields))
}

/// Lineitem rows of scale factor `scale`, in batches of `schema` [`lineitem_schema`].
pub fn lineitem_batches(
    scale: f64,
) -> CliResult<impl Iterator<Item = Result<RecordBatch, ArrowError>>> {
    check_scale(scale)?;
    let schema = lineitem_schema();
    let batches = LineItemArrow::new(LineItemGenerator::new(scale, 1, 1))
        .with_batch_size(GENERATE_BATCH_ROWS);
    Ok(batches.map(move |batch| {
        let batch = batch?;
        let columns = batch
            .columns()
            .iter()
            .zip(schema.fields())
            .map(|(column, field)| {
                if column.data_type() == field.data_type() {
                    Ok(Arc::clone(column))
                } else {
                    cast(column, field.data_type())
                }
            })
            .collect::<Result<Vec<_>, ArrowError>>()?;
        RecordBatch::try_new(Arc::clone(&schema), columns)
    }))
}

/// Rows of lineitem at scale factor `scale` (an estimate good to a few percent: orders hold
/// 1 to 7 lines, 4 on average).
pub fn lineitem_rows_estimate(scale: f64) -> u64 {
    (OrderGenerator::calculate_row_count(scale, 1, 1).max(0) as u64) * 4
}

/// Writes lineitem at `scale` to `output` (.parquet or .csv); returns the rows written.
pub fn write_lineitem(scale: f64, output: &Path, progress: &Progress) -> CliResult<u64> {
    check_scale(scale)?;
    let extension = output
        .extension()
        .and_then(|extension| extension.to_str())
        .map(str::to_ascii_lowercase);
    let create = || {
        File::create(output).map_err(|error| {
            CliError::failed(format!("cannot write {}: {error}", output.display()))
        })
    };
    let bar = progress.bar("generating", lineitem_rows_estimate(scale));
    let mut rows = 0u64;
    match extension.as_deref() {
        Some("parquet") => {
            let properties = WriterProperties::builder()
                .set_compression(Compression::ZSTD(ZstdLevel::default()))
                .build();
            let mut writer = ArrowWriter::try_new(create()?, lineitem_schema(), Some(properties))?;
            for batch in lineitem_batches(scale)? {
                let batch = batch?;
                rows += batch.num_rows() as u64;
                writer.write(&batch)?;
                bar.set_position(rows);
            }
            writer.close()?;
        }
        Some("csv") => {
            let mut writer = arrow::csv::WriterBuilder::new()
                .with_header(true)
                .build(std::io::BufWriter::new(create()?));
            for batch in lineitem_batches(scale)? {
                let batch = batch?;
                rows += batch.num_rows() as u64;
                writer.write(&batch)?;
                bar.set_position(rows);
            }
        }
        _ => {
            return Err(CliError::Usage(format!(
                "{}: the output must end in .parquet or .csv",
                output.display()
            )));
        }
    }
    bar.finish_and_clear();
    Ok(rows)
}

/// A small deterministic generator (SplitMix64): the same seed gives the same workload on
/// every machine.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[low, high]`.
    fn range(&mut self, low: i64, high: i64) -> i64 {
        if high <= low {
            return low;
        }
        let span = (high - low) as u64 + 1;
        low + (self.next() % span) as i64
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        let index = self.range(0, items.len() as i64 - 1) as usize;
        items.get(index).copied().unwrap_or("")
    }
}

const SHIP_MODES: [&str; 7] = ["AIR", "FOB", "MAIL", "RAIL", "REG AIR", "SHIP", "TRUCK"];
const SHIP_INSTRUCTIONS: [&str; 4] = [
    "COLLECT COD",
    "DELIVER IN PERSON",
    "NONE",
    "TAKE BACK RETURN",
];
/// Days since 1970-01-01 of 1992-01-02 and 1998-12-01, lineitem's ship date range.
const SHIP_DATE_FIRST: i64 = 8_036;
const SHIP_DATE_LAST: i64 = 10_561;

fn date(days: i64) -> String {
    chrono::DateTime::from_timestamp(days * 86_400, 0)
        .map(|instant| instant.format("%Y-%m-%d").to_string())
        .unwrap_or_else(|| "1970-01-01".to_owned())
}

/// The names of the workload's statement kinds, in the order [`workload_statement`] uses.
pub const WORKLOAD_KINDS: [&str; 12] = [
    "point get",
    "key range",
    "ship date aggregate",
    "Q6 shape",
    "Q1 shape",
    "grouped by ship mode",
    "IN list",
    "part key",
    "top-k",
    "OR on one column",
    "<> and NOT IN",
    "receipt date rows",
];

/// The kind of statement `index` of a workload.
pub fn workload_kind(index: usize) -> &'static str {
    WORKLOAD_KINDS
        .get(index % WORKLOAD_KINDS.len())
        .copied()
        .unwrap_or("")
}

/// `count` statements over lineitem (named `table`) at scale factor `scale`, from `seed`.
pub fn workload(table: &str, count: usize, scale: f64, seed: u64) -> CliResult<Vec<String>> {
    check_scale(scale)?;
    if table.is_empty() || !table.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(CliError::Usage(format!(
            "the table name {table:?} must be letters, digits and underscores"
        )));
    }
    if count > 1_000_000 {
        return Err(CliError::Usage("at most 1000000 statements".to_owned()));
    }
    let mut random = Random(seed);
    let orders = OrderGenerator::calculate_row_count(scale, 1, 1).max(1);
    let parts = ((200_000.0 * scale) as i64).max(1);
    Ok((0..count)
        .map(|index| workload_statement(table, index, orders, parts, &mut random))
        .collect())
}

fn workload_statement(
    table: &str,
    index: usize,
    orders: i64,
    parts: i64,
    random: &mut Random,
) -> String {
    let order_key = |random: &mut Random| OrderGenerator::make_order_key(random.range(1, orders));
    let largest_key = OrderGenerator::make_order_key(orders);
    match index % WORKLOAD_KINDS.len() {
        0 => format!(
            "SELECT * FROM {table} WHERE l_orderkey = {} AND l_linenumber = {};",
            order_key(random),
            random.range(1, 4)
        ),
        1 => {
            let low = random.range(1, largest_key);
            let width = random.range(10, 2_000);
            format!(
                "SELECT l_orderkey, l_linenumber, l_quantity, l_extendedprice, l_shipdate FROM {table} \
                 WHERE l_orderkey BETWEEN {low} AND {} ORDER BY l_orderkey, l_linenumber;",
                low + width
            )
        }
        2 => {
            let start = random.range(SHIP_DATE_FIRST, SHIP_DATE_LAST - 90);
            let days = random.range(1, 90);
            format!(
                "SELECT COUNT(*), SUM(l_extendedprice), AVG(l_discount), MIN(l_quantity), MAX(l_tax) \
                 FROM {table} WHERE l_shipdate BETWEEN DATE '{}' AND DATE '{}';",
                date(start),
                date(start + days)
            )
        }
        3 => {
            let year = random.range(1993, 1997);
            let discount = random.range(2, 9);
            let quantity = random.range(20, 30);
            format!(
                "SELECT SUM(l_extendedprice), COUNT(*) FROM {table} WHERE l_shipdate >= DATE '{year}-01-01' \
                 AND l_shipdate < DATE '{}-01-01' AND l_discount BETWEEN 0.{:02} AND 0.{:02} \
                 AND l_quantity < {quantity};",
                year + 1,
                discount - 1,
                discount + 1
            )
        }
        4 => {
            let delta = random.range(60, 120);
            format!(
                "SELECT l_returnflag, l_linestatus, SUM(l_quantity), SUM(l_extendedprice), AVG(l_quantity), \
                 AVG(l_extendedprice), AVG(l_discount), COUNT(*) FROM {table} \
                 WHERE l_shipdate <= DATE '{}' GROUP BY l_returnflag, l_linestatus \
                 ORDER BY l_returnflag, l_linestatus;",
                date(SHIP_DATE_LAST - delta)
            )
        }
        5 => {
            let start = random.range(SHIP_DATE_FIRST, SHIP_DATE_LAST - 365);
            let days = random.range(7, 365);
            format!(
                "SELECT l_shipmode, COUNT(*), SUM(l_quantity), MIN(l_shipdate), MAX(l_receiptdate) \
                 FROM {table} WHERE l_receiptdate >= DATE '{}' AND l_receiptdate < DATE '{}' \
                 GROUP BY l_shipmode ORDER BY l_shipmode;",
                date(start),
                date(start + days)
            )
        }
        6 => {
            let first = random.pick(&SHIP_MODES);
            let second = random.pick(&SHIP_MODES);
            let low = random.range(1, 40);
            let start = random.range(SHIP_DATE_FIRST, SHIP_DATE_LAST - 180);
            format!(
                "SELECT COUNT(*), MAX(l_extendedprice), MIN(l_discount) FROM {table} \
                 WHERE l_shipmode IN ('{first}', '{second}') AND l_quantity BETWEEN {low} AND {} \
                 AND l_shipdate >= DATE '{}' AND l_shipdate < DATE '{}';",
                low + 10,
                date(start),
                date(start + 180)
            )
        }
        7 => format!(
            "SELECT l_orderkey, l_linenumber, l_partkey, l_suppkey, l_quantity FROM {table} \
             WHERE l_partkey = {} ORDER BY l_orderkey, l_linenumber;",
            random.range(1, parts)
        ),
        8 => {
            let start = random.range(SHIP_DATE_FIRST, SHIP_DATE_LAST - 14);
            let limit = random.range(1, 20);
            format!(
                "SELECT l_orderkey, l_linenumber, l_extendedprice, l_shipdate FROM {table} \
                 WHERE l_shipdate BETWEEN DATE '{}' AND DATE '{}' \
                 ORDER BY l_extendedprice DESC, l_orderkey, l_linenumber LIMIT {limit};",
                date(start),
                date(start + random.range(1, 14))
            )
        }
        9 => {
            let instruction = random.pick(&SHIP_INSTRUCTIONS);
            let start = random.range(SHIP_DATE_FIRST, SHIP_DATE_LAST - 60);
            format!(
                "SELECT l_linestatus, COUNT(*), AVG(l_tax) FROM {table} \
                 WHERE (l_discount = 0.00 OR l_discount >= 0.09 OR l_discount BETWEEN 0.04 AND 0.05) \
                 AND l_shipinstruct = '{instruction}' AND l_commitdate BETWEEN DATE '{}' AND DATE '{}' \
                 GROUP BY l_linestatus ORDER BY l_linestatus;",
                date(start),
                date(start + 60)
            )
        }
        10 => {
            let first = random.pick(&SHIP_MODES);
            let second = random.pick(&SHIP_MODES);
            let low = random.range(1, largest_key);
            format!(
                "SELECT l_returnflag, COUNT(*), SUM(l_quantity) FROM {table} \
                 WHERE l_shipmode NOT IN ('{first}', '{second}') AND l_returnflag <> 'N' \
                 AND l_orderkey BETWEEN {low} AND {} GROUP BY l_returnflag ORDER BY l_returnflag;",
                low + random.range(1_000, 50_000)
            )
        }
        _ => {
            let day = random.range(SHIP_DATE_FIRST + 30, SHIP_DATE_LAST);
            let quantity = random.range(45, 50);
            format!(
                "SELECT l_orderkey, l_linenumber, l_receiptdate, l_quantity, l_comment FROM {table} \
                 WHERE l_receiptdate = DATE '{}' AND l_quantity >= {quantity} \
                 ORDER BY l_orderkey, l_linenumber LIMIT 50;",
                date(day)
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::{Origin, parse};

    #[test]
    fn every_workload_statement_parses_and_the_seed_fixes_them() {
        let statements = workload("lineitem", 48, 0.01, 7).expect("workload");
        assert_eq!(statements.len(), 48);
        for statement in &statements {
            let text = statement.trim_end_matches(';');
            parse(text, Origin::default()).unwrap_or_else(|error| panic!("{statement}: {error}"));
        }
        assert_eq!(
            statements,
            workload("lineitem", 48, 0.01, 7).expect("workload")
        );
        assert_ne!(
            statements,
            workload("lineitem", 48, 0.01, 8).expect("workload")
        );
    }
}
