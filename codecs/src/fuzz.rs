//! Fuzz logic for the codecs, kept in library code so that the cargo-fuzz targets under
//! `fuzz/` stay twenty-line wrappers and the same checks run in ordinary tests (the corpus
//! replay in `tests/fuzz_corpus.rs`).
//!
//! [`roundtrip`] turns arbitrary bytes into a valid [`Column`] through a small, bounded,
//! byte-driven generator (type, length, value shape, nulls, compressor tuning), encodes it
//! with the automatic choice and with every scheme of its kind, decodes, and reports the
//! first mismatch. [`decode_untrusted`] feeds arbitrary bytes to every entry point that reads
//! blocks, once as given and once with the checksum patched to be valid, so the fuzzer gets
//! past the checksum into the decoders; it must never panic.
//!
//! The generator reads structure from the input and, once the input runs out, keeps going
//! from a generator seeded by it, so a short input can still describe a long column.

use crate::binary::BytesKind;
use crate::block::{
    MAX_BLOCK_ROWS, decode_block, decode_block_into, decode_block_row, encode_block, read_header,
    select_int_range,
};
use crate::boolean::BoolKind;
use crate::error::CodecError;
use crate::float::FloatKind;
use crate::int::IntKind;
use crate::io::Reader;
use crate::scheme::{Compressor, CompressorConfig, ValueKind, decode_node};
use crate::types::{BytesColumn, Column, ColumnValues, LogicalType, TimeUnit};

/// Most rows a generated column has: past the default compressor's sampling threshold
/// (2 × 16 runs × 64 values), small enough that one input checks in milliseconds.
pub const FUZZ_ROWS_MAX: usize = 4_200;
/// Most bytes one generated string has.
pub const FUZZ_STRING_BYTES_MAX: usize = 300;
/// Most rows of a decoded untrusted block that [`decode_untrusted`] re-encodes.
const REENCODE_ROWS_MAX: usize = 10_000;
/// Range bounds each [`roundtrip`] checks `select_int_range` with.
const SELECT_CHECKS: usize = 4;
/// Rows each [`roundtrip`] reads alone with `decode_block_row`.
const ROW_CHECKS: usize = 4;

/// Encodes an arbitrary column built from `data` automatically and with every scheme of its
/// kind, decodes each, and checks the result equals the column (floats bitwise); also checks
/// the header, decoding into a reused column, `decode_block_row` against the decoded rows,
/// and `select_int_range` against decode-then-filter. `Err` describes the first mismatch.
pub fn roundtrip(data: &[u8]) -> Result<(), String> {
    let mut source = ByteSource::new(data);
    let compressor = Compressor::new(arbitrary_config(&mut source));
    let column = arbitrary_column(&mut source)?;
    let block = encode_block(&column, &compressor)
        .map_err(|error| format!("encode_block failed on a valid column: {error}"))?;
    let decoded = decode_block(&block.bytes)
        .map_err(|error| format!("decode_block failed on its own block: {error}"))?;
    columns_match(&column, &decoded).map_err(|error| format!("{} block: {error}", block.values))?;

    let header = read_header(&block.bytes).map_err(|error| format!("read_header: {error}"))?;
    if header.rows != column.len()
        || &header.logical != column.logical()
        || header.has_validity != (column.null_count() > 0)
    {
        return Err(format!("header {header:?} does not describe the column"));
    }

    // Decoding into a column that held another type must give the same column.
    let mut reused = previous_column(&mut source);
    decode_block_into(&block.bytes, &mut reused)
        .map_err(|error| format!("decode_block_into: {error}"))?;
    columns_match(&column, &reused).map_err(|error| format!("decode_block_into: {error}"))?;

    check_select(&column, &block.bytes, &mut source)?;

    // One row read alone is that row of the whole decode.
    if !column.is_empty() {
        for _ in 0..ROW_CHECKS {
            let row = source.below(column.len());
            let one = decode_block_row(&block.bytes, row)
                .map_err(|error| format!("decode_block_row({row}): {error}"))?;
            let expected = decoded
                .take(&[row as u32])
                .map_err(|error| format!("take({row}): {error}"))?;
            columns_match(&expected, &one).map_err(|error| {
                format!("{} block, decode_block_row({row}): {error}", block.values)
            })?;
        }
    }

    let depth = source.below(4) as u8;
    match column.values() {
        ColumnValues::Int(values) => every_scheme::<IntKind>(&compressor, values, depth)?,
        ColumnValues::Float(values) => every_scheme::<FloatKind>(&compressor, values, depth)?,
        ColumnValues::Bool(values) => every_scheme::<BoolKind>(&compressor, values, depth)?,
        ColumnValues::Bytes(values) => every_scheme::<BytesKind>(&compressor, values, depth)?,
        ColumnValues::Decimal(values) => {
            let narrow: Option<Vec<i64>> = values
                .iter()
                .map(|&value| i64::try_from(value).ok())
                .collect();
            if let Some(narrow) = narrow {
                every_scheme::<IntKind>(&compressor, &narrow, depth)?;
            }
        }
    }
    if let Some(validity) = column.validity() {
        every_scheme::<BoolKind>(&compressor, validity, depth)?;
    }
    Ok(())
}

/// Feeds `data` to every block reader (`read_header`, `decode_block`, `decode_block_into`,
/// `decode_block_row`, `select_int_range`), as given and again with its checksum patched to match, and
/// re-encodes whatever decodes. Errors are expected; a panic is the bug this looks for.
pub fn decode_untrusted(data: &[u8]) {
    read_every_way(data);
    if let Some(body_len) = data.len().checked_sub(4) {
        let mut patched = data.to_vec();
        let checksum = crc32c::crc32c(data.get(..body_len).unwrap_or_default());
        if let Some(tail) = patched.get_mut(body_len..) {
            tail.copy_from_slice(&checksum.to_le_bytes());
        }
        read_every_way(&patched);
    }
}

fn read_every_way(bytes: &[u8]) {
    let _ = read_header(bytes);
    let mut reused = Column::new(
        LogicalType::Utf8,
        ColumnValues::Bytes(BytesColumn::from_values([b"held".as_slice()]).unwrap_or_default()),
        Some(vec![false]),
    )
    .unwrap_or_else(|_| Column::empty(LogicalType::Utf8));
    let _ = decode_block_into(bytes, &mut reused);
    for (low, high) in [
        (i64::MIN, i64::MAX),
        (0, 0),
        (-1_000, 1_000),
        (1, 0),
        (i64::MAX, i64::MAX),
    ] {
        let _ = select_int_range(bytes, low, high);
    }
    for row in [0, 1, 255, 256, MAX_BLOCK_ROWS] {
        let _ = decode_block_row(bytes, row);
    }
    if let Ok(column) = decode_block(bytes)
        && column.len() <= REENCODE_ROWS_MAX
    {
        // Whatever decodes is a valid column, so it must encode and read back.
        let _ = encode_block(&column, &Compressor::default())
            .and_then(|block| decode_block(&block.bytes));
    }
}

/// Compares two columns: type, validity (`None` and all-valid are the same), and values,
/// floats by their bits so NaN payloads and signed zeros count.
pub fn columns_match(expected: &Column, actual: &Column) -> Result<(), String> {
    if expected.logical() != actual.logical() {
        return Err(format!(
            "type {:?} decoded as {:?}",
            expected.logical(),
            actual.logical()
        ));
    }
    if expected.len() != actual.len() {
        return Err(format!(
            "{} rows decoded as {}",
            expected.len(),
            actual.len()
        ));
    }
    let validity = |column: &Column| -> Vec<bool> {
        column
            .validity()
            .map_or_else(|| vec![true; column.len()], <[bool]>::to_vec)
    };
    if validity(expected) != validity(actual) {
        return Err("validity differs".into());
    }
    values_match(expected.values(), actual.values())
}

fn values_match(expected: &ColumnValues, actual: &ColumnValues) -> Result<(), String> {
    let first_difference = match (expected, actual) {
        (ColumnValues::Float(expected), ColumnValues::Float(actual)) => {
            if expected.len() != actual.len() {
                return Err(format!(
                    "{} floats decoded as {}",
                    expected.len(),
                    actual.len()
                ));
            }
            expected
                .iter()
                .zip(actual)
                .position(|(left, right)| left.to_bits() != right.to_bits())
        }
        _ if expected == actual => None,
        _ => Some(0),
    };
    match first_difference {
        None => Ok(()),
        Some(index) => Err(format!("values differ (first at or after row {index})")),
    }
}

/// Encodes `values` with every scheme of `K` at `depth`, skipping those that do not apply,
/// and checks each decodes to the same values and consumes exactly what it wrote.
fn every_scheme<K: ValueKind>(
    compressor: &Compressor,
    values: &K::Values,
    depth: u8,
) -> Result<(), String>
where
    K::Owned: SameValues<K>,
{
    let count = K::len(values);
    for &scheme in K::schemes() {
        let mut out = Vec::new();
        match compressor.encode_with(scheme, values, depth, &mut out) {
            Ok(_) => {}
            Err(CodecError::NotApplicable { .. }) => continue,
            Err(error) => {
                return Err(format!(
                    "{} {} at depth {depth}: encode failed: {error}",
                    K::NAME,
                    scheme.name()
                ));
            }
        }
        let mut reader = Reader::new(&out);
        let mut decoded = K::Owned::default();
        decode_node::<K>(&mut reader, count, 0, &mut decoded).map_err(|error| {
            format!(
                "{} {} at depth {depth}: decode failed: {error}",
                K::NAME,
                scheme.name()
            )
        })?;
        if reader.remaining() != 0 {
            return Err(format!(
                "{} {} at depth {depth}: {} bytes left unread",
                K::NAME,
                scheme.name(),
                reader.remaining()
            ));
        }
        if !decoded.same_as(values) {
            return Err(format!(
                "{} {} at depth {depth}: values differ after decoding",
                K::NAME,
                scheme.name()
            ));
        }
    }
    Ok(())
}

/// Equality of decoded values with the originals, bitwise for floats.
pub trait SameValues<K: ValueKind> {
    /// Whether these decoded values equal `original`.
    fn same_as(&self, original: &K::Values) -> bool;
}

impl SameValues<IntKind> for Vec<i64> {
    fn same_as(&self, original: &[i64]) -> bool {
        self.as_slice() == original
    }
}

impl SameValues<FloatKind> for Vec<f64> {
    fn same_as(&self, original: &[f64]) -> bool {
        self.len() == original.len()
            && self
                .iter()
                .zip(original)
                .all(|(left, right)| left.to_bits() == right.to_bits())
    }
}

impl SameValues<BoolKind> for Vec<bool> {
    fn same_as(&self, original: &[bool]) -> bool {
        self.as_slice() == original
    }
}

impl SameValues<BytesKind> for BytesColumn {
    fn same_as(&self, original: &BytesColumn) -> bool {
        self == original
    }
}

/// Checks `select_int_range` against decode-then-filter for a few bounds drawn from the
/// values themselves, their neighbours and the extremes.
fn check_select(column: &Column, block: &[u8], source: &mut ByteSource<'_>) -> Result<(), String> {
    let wide: Vec<i128> = match column.values() {
        ColumnValues::Int(values) => values.iter().map(|&value| i128::from(value)).collect(),
        ColumnValues::Decimal(values) => values.clone(),
        _ => return Ok(()),
    };
    for _ in 0..SELECT_CHECKS {
        let low = arbitrary_bound(&wide, source);
        let high = arbitrary_bound(&wide, source);
        let selection = select_int_range(block, low, high)
            .map_err(|error| format!("select_int_range({low}, {high}): {error}"))?;
        let expected: Vec<usize> = wide
            .iter()
            .enumerate()
            .filter(|&(row, &value)| {
                !column.is_null(row) && i128::from(low) <= value && value <= i128::from(high)
            })
            .map(|(row, _)| row)
            .collect();
        let got: Vec<usize> = selection.iter().collect();
        if got != expected || selection.len() != column.len() {
            return Err(format!(
                "select_int_range({low}, {high}) chose {} rows, decode-then-filter {}",
                got.len(),
                expected.len()
            ));
        }
    }
    Ok(())
}

fn arbitrary_bound(values: &[i128], source: &mut ByteSource<'_>) -> i64 {
    let near = |index: usize| {
        values.get(index).map_or(0, |&value| {
            value.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
        })
    };
    match source.byte() % 6 {
        0 => i64::MIN,
        1 => i64::MAX,
        2 => near(source.below(values.len())),
        3 => near(source.below(values.len())).saturating_add(1),
        4 => near(source.below(values.len())).saturating_sub(1),
        _ => source.u64() as i64 >> (source.byte() % 64),
    }
}

/// Compressor tuning from the input: the cascade depth and, often, tiny samples so that the
/// sampled choice is exercised on short columns too.
fn arbitrary_config(source: &mut ByteSource<'_>) -> CompressorConfig {
    let mut config = CompressorConfig {
        zstd_level: 1,
        ..CompressorConfig::default()
    };
    let tuning = source.byte();
    if tuning & 1 == 1 {
        // Past the cap `Compressor::new` applies, to check that it holds.
        config.max_depth = source.below(12) as u8;
    }
    if tuning & 2 == 2 {
        config.sample_runs = source.below(6);
        config.sample_run_len = source.below(20);
        config.seed = source.u64();
    }
    config
}

/// A column of another type with some values, for `decode_block_into` to reuse.
fn previous_column(source: &mut ByteSource<'_>) -> Column {
    let built = match source.byte() % 3 {
        0 => Column::new(
            LogicalType::Float64,
            ColumnValues::Float(vec![1.5, f64::NAN]),
            Some(vec![true, false]),
        ),
        1 => Column::new(LogicalType::Int8, ColumnValues::Int(vec![-1, 2, 3]), None),
        _ => BytesColumn::from_values([b"previous".as_slice(), b"".as_slice()])
            .and_then(|bytes| Column::new(LogicalType::Binary, ColumnValues::Bytes(bytes), None)),
    };
    built.unwrap_or_else(|_| Column::empty(LogicalType::Boolean))
}

/// Builds a valid column from the input. `Err` only when the generator itself made an
/// invalid column, which is a bug in the generator.
pub fn arbitrary_column(source: &mut ByteSource<'_>) -> Result<Column, String> {
    let logical = arbitrary_type(source);
    let rows = arbitrary_rows(source);
    let shape = Shape::arbitrary(source);
    let values = match &logical {
        LogicalType::Float32 | LogicalType::Float64 => {
            let single = logical == LogicalType::Float32;
            ColumnValues::Float(
                (0..rows)
                    .map(|row| {
                        let value = arbitrary_float(&shape, row, source);
                        if single {
                            f64::from(value as f32)
                        } else {
                            value
                        }
                    })
                    .collect(),
            )
        }
        LogicalType::Decimal128 { precision, .. } => {
            let bound = 10i128.pow(u32::from(*precision));
            let widen = source.byte() % 2 == 1;
            ColumnValues::Decimal(
                (0..rows)
                    .map(|row| {
                        let low = i128::from(shape.int(row, source));
                        let value = if widen {
                            low.wrapping_mul(i128::from(shape.int(row + 1, source)))
                        } else {
                            low
                        };
                        value % bound
                    })
                    .collect(),
            )
        }
        LogicalType::Boolean => ColumnValues::Bool(
            (0..rows)
                .map(|row| shape.int(row, source) & 1 == 1)
                .collect(),
        ),
        LogicalType::Utf8 | LogicalType::Binary => {
            let text = logical == LogicalType::Utf8;
            let length_max = match source.byte() % 4 {
                0 => 0,
                1 => 4,
                2 => 24,
                _ => FUZZ_STRING_BYTES_MAX,
            };
            let mut column = BytesColumn::default();
            for row in 0..rows {
                let value = arbitrary_string(shape.int(row, source), length_max, text);
                column.push(&value).map_err(|error| error.to_string())?;
            }
            ColumnValues::Bytes(column)
        }
        other => {
            let (low, high) = other.int_range().unwrap_or((i64::MIN, i64::MAX));
            ColumnValues::Int(
                (0..rows)
                    .map(|row| fit_int(shape.int(row, source), low, high))
                    .collect(),
            )
        }
    };
    let validity = match source.byte() % 5 {
        0 | 1 => None,
        2 => Some(vec![true; rows]),
        3 => Some(vec![false; rows]),
        _ => {
            let density = source.byte();
            Some(
                (0..rows)
                    .map(|_| source.byte() >= density)
                    .collect::<Vec<bool>>(),
            )
        }
    };
    Column::new(logical, values, validity)
        .map_err(|error| format!("the generator built an invalid column: {error}"))
}

fn arbitrary_type(source: &mut ByteSource<'_>) -> LogicalType {
    match source.byte() % 17 {
        0 => LogicalType::Int8,
        1 => LogicalType::Int16,
        2 => LogicalType::Int32,
        3 => LogicalType::Int64,
        4 => LogicalType::UInt8,
        5 => LogicalType::UInt16,
        6 => LogicalType::UInt32,
        7 => LogicalType::UInt64,
        8 => LogicalType::Float32,
        9 => LogicalType::Float64,
        10 => LogicalType::Decimal128 {
            precision: 1 + source.byte() % 38,
            scale: source.byte() as i8,
        },
        11 => LogicalType::Boolean,
        12 => LogicalType::Utf8,
        13 => LogicalType::Binary,
        14 => LogicalType::Date32,
        15 => LogicalType::Date64,
        _ => LogicalType::Timestamp {
            unit: match source.byte() % 4 {
                0 => TimeUnit::Second,
                1 => TimeUnit::Millisecond,
                2 => TimeUnit::Microsecond,
                _ => TimeUnit::Nanosecond,
            },
            timezone: match source.byte() % 5 {
                0 => None,
                1 => Some("UTC".into()),
                2 => Some("+05:30".into()),
                3 => Some(String::new()),
                _ => Some("Asia/Tōkyō".into()),
            },
        },
    }
}

fn arbitrary_rows(source: &mut ByteSource<'_>) -> usize {
    let rows = match source.byte() % 4 {
        0 => usize::from(source.byte() % 4),
        1 => usize::from(source.byte()),
        2 => usize::from(source.u16()) % 1_100,
        _ => usize::from(source.u16()) % (FUZZ_ROWS_MAX + 1),
    };
    rows.min(FUZZ_ROWS_MAX).min(MAX_BLOCK_ROWS)
}

/// Narrows an integer into a type's range, keeping small values small.
fn fit_int(value: i64, low: i64, high: i64) -> i64 {
    if low <= value && value <= high {
        return value;
    }
    let span = (i128::from(high) - i128::from(low) + 1).max(1);
    (i128::from(low) + (i128::from(value) - i128::from(low)).rem_euclid(span)) as i64
}

/// Floats with the shapes ALP, dictionary and the constant scheme look for, and the values
/// that break naive codecs: NaN payloads, signed zeros, infinities, subnormals.
fn arbitrary_float(shape: &Shape, row: usize, source: &mut ByteSource<'_>) -> f64 {
    const SPECIALS: [u64; 12] = [
        0x7FF8_0000_0000_0000, // quiet NaN
        0x7FF0_0000_0000_0001, // signalling NaN
        0xFFF8_0000_0000_0123, // negative NaN with payload
        0x7FFF_FFFF_FFFF_FFFF,
        0x8000_0000_0000_0000, // -0.0
        0x0000_0000_0000_0000,
        0x7FF0_0000_0000_0000, // +inf
        0xFFF0_0000_0000_0000, // -inf
        0x0000_0000_0000_0001, // smallest subnormal
        0x000F_FFFF_FFFF_FFFF, // largest subnormal
        0x7FEF_FFFF_FFFF_FFFF, // MAX
        0x3FB9_9999_9999_999A, // 0.1
    ];
    let digits = shape.int(row, source);
    match shape.float_style {
        0 => f64::from_bits(digits as u64),
        1 | 2 => digits as f64 / 10f64.powi(i32::from(shape.float_style) + shape.scale),
        3 => {
            let index = (digits as u64 % 40) as usize;
            SPECIALS
                .get(index)
                .map_or(digits as f64 / 100.0, |&bits| f64::from_bits(bits))
        }
        _ => digits as f64,
    }
}

/// A string for an integer: equal integers give equal strings, so the integer shapes (runs,
/// few distinct values, sorted) carry over. Text mixes one- to four-byte characters.
fn arbitrary_string(key: i64, length_max: usize, text: bool) -> Vec<u8> {
    const ALPHABET: [char; 8] = ['a', 'z', ' ', 'é', 'ß', '中', '😀', '\u{0}'];
    let mut state = key as u64 ^ 0x9E37_79B9_7F4A_7C15;
    let length = if length_max == 0 {
        0
    } else {
        (splitmix(&mut state) % (length_max as u64 + 1)) as usize
    };
    let mut value = Vec::with_capacity(length);
    while value.len() < length {
        let random = splitmix(&mut state);
        if text {
            let character = ALPHABET
                .get((random % ALPHABET.len() as u64) as usize)
                .copied()
                .unwrap_or('a');
            let mut buffer = [0u8; 4];
            value.extend_from_slice(character.encode_utf8(&mut buffer).as_bytes());
        } else {
            value.push(random as u8);
        }
    }
    value
}

/// How the values of a generated column relate to each other.
#[derive(Debug)]
struct Shape {
    kind: u8,
    base: i64,
    /// Spread of values around `base` (a power of two, up to the whole `i64` range).
    span_bits: u8,
    /// For runs and distinct sets: how many.
    size: usize,
    /// A table of values for the few-distinct and extreme shapes.
    table: Vec<i64>,
    float_style: u8,
    scale: i32,
}

impl Shape {
    fn arbitrary(source: &mut ByteSource<'_>) -> Self {
        let kind = source.byte() % 8;
        let base = source.u64() as i64 >> (source.byte() % 64);
        let span_bits = source.byte() % 65;
        let size = 1 + usize::from(source.byte() % 64);
        let table = (0..size)
            .map(|_| source.u64() as i64 >> (source.byte() % 64))
            .collect();
        Self {
            kind,
            base,
            span_bits,
            size,
            table,
            float_style: source.byte() % 5,
            scale: i32::from(source.byte() % 6),
        }
    }

    fn spread(&self, random: u64) -> i64 {
        let offset = if self.span_bits >= 64 {
            random
        } else {
            random & ((1u64 << self.span_bits) - 1)
        };
        self.base.wrapping_add(offset as i64)
    }

    /// The value of row `row`; consumes input for the raw shape, the generator otherwise.
    fn int(&self, row: usize, source: &mut ByteSource<'_>) -> i64 {
        let table_value = |index: usize| {
            self.table
                .get(index % self.size.max(1))
                .copied()
                .unwrap_or(0)
        };
        match self.kind {
            // Straight from the input.
            0 => source.u64() as i64 >> (source.byte() % 64),
            1 => self.spread(source.random()),
            // Runs of equal values.
            2 => {
                let run = row / self.size;
                let mut state = run as u64 ^ self.base as u64;
                self.spread(splitmix(&mut state))
            }
            // Few distinct values in random order.
            3 => table_value(source.random() as usize),
            // Sorted, then reverse sorted, with steps bounded by the span.
            4 => self
                .base
                .wrapping_add((row as i64).wrapping_mul(1 + self.spread(0).rem_euclid(1 << 20))),
            5 => self
                .base
                .wrapping_sub((row as i64).wrapping_mul(1 + (self.size as i64))),
            // Extremes mixed with ordinary values.
            6 => match source.random() % 6 {
                0 => i64::MIN,
                1 => i64::MAX,
                2 => 0,
                3 => -1,
                _ => table_value(row),
            },
            _ => self.base,
        }
    }
}

/// Bytes of the fuzz input, then an endless generator seeded by them: what every fuzz
/// target of the workspace draws its choices from.
#[derive(Debug)]
pub struct ByteSource<'a> {
    bytes: &'a [u8],
    position: usize,
    state: u64,
}

impl<'a> ByteSource<'a> {
    /// A source reading `bytes` first.
    pub fn new(bytes: &'a [u8]) -> Self {
        let state = bytes.iter().fold(0xCBF2_9CE4_8422_2325u64, |hash, &byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01B3)
        });
        Self {
            bytes,
            position: 0,
            state,
        }
    }

    /// The next input byte, or a generated one once the input is used up.
    pub fn byte(&mut self) -> u8 {
        match self.bytes.get(self.position) {
            Some(&byte) => {
                self.position += 1;
                byte
            }
            None => self.random() as u8,
        }
    }

    /// The next two bytes, little-endian.
    fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.byte(), self.byte()])
    }

    /// The next eight bytes, little-endian.
    fn u64(&mut self) -> u64 {
        let mut bytes = [0u8; 8];
        for byte in &mut bytes {
            *byte = self.byte();
        }
        u64::from_le_bytes(bytes)
    }

    /// A number in `0..bound` (0 when `bound` is 0).
    pub fn below(&mut self, bound: usize) -> usize {
        if bound == 0 {
            return 0;
        }
        // One input byte per choice when it can cover the range, so that each byte of a
        // fuzz input steers one decision.
        let bytes = if bound <= 256 { 1 } else { 4 };
        let mut value = 0u64;
        for _ in 0..bytes {
            value = (value << 8) | u64::from(self.byte());
        }
        (value % bound as u64) as usize
    }

    /// Whether a choice made `percent` times in a hundred is made this time.
    pub fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    /// The generator, for bulk values that need not come from the input.
    pub fn random(&mut self) -> u64 {
        splitmix(&mut self.state)
    }
}

fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut mixed = *state;
    mixed = (mixed ^ (mixed >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    mixed = (mixed ^ (mixed >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    mixed ^ (mixed >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_inputs_round_trip() {
        for seed in 0u32..200 {
            let data: Vec<u8> = (0..64u32)
                .map(|index| (seed.wrapping_mul(2_654_435_761) ^ index.wrapping_mul(97)) as u8)
                .collect();
            roundtrip(&data).unwrap_or_else(|error| panic!("seed {seed}: {error}"));
            decode_untrusted(&data);
        }
    }

    #[test]
    fn a_mismatch_is_reported() {
        let left = Column::new(LogicalType::Float64, ColumnValues::Float(vec![0.0]), None).unwrap();
        let right =
            Column::new(LogicalType::Float64, ColumnValues::Float(vec![-0.0]), None).unwrap();
        assert!(columns_match(&left, &right).is_err());
        assert!(columns_match(&left, &left).is_ok());
    }
}
