//! The block format: one column's values for a range of rows, self-describing and checked.
//!
//! ```text
//! offset  size  field
//! 0       4     magic "TSRB"
//! 4       2     format version, u16 LE (currently 1)
//! 6       1     flags: bit 0 = a validity node follows
//! 7       ..    logical type: tag u8, then its parameters (see `write_logical`)
//! ..      4     row count, u32 LE (at most MAX_BLOCK_ROWS)
//! ..      ..    validity: boolean encoding node (if flag bit 0)
//! ..      ..    values: encoding node of the physical kind; decimals first write a mode
//!               byte: 0 = values narrowed to i64 in an integer node, 1 = raw i128 LE via zstd
//! end-4   4     crc32c of every byte before it, u32 LE
//! ```
//!
//! An encoding node is a scheme id byte followed by that scheme's payload, which may contain
//! child nodes; all integers are little-endian. Decoding checks the checksum first, then
//! every count against what its parent allows, so untrusted bytes yield a [`CodecError`],
//! never a panic, and never an allocation beyond what the block's row count could hold.

use crate::binary::BytesKind;
use crate::boolean::BoolKind;
use crate::error::{CodecError, Result};
use crate::float::FloatKind;
use crate::int::{IntKind, select_range, value_at};
use crate::io::{Reader, WriteLe};
use crate::scheme::{Compressor, EncodingNode, decode_node};
use crate::select::Selection;
use crate::types::{Column, ColumnValues, LogicalType, TimeUnit, check_values};

/// First bytes of every block.
pub const BLOCK_MAGIC: [u8; 4] = *b"TSRB";
/// The format version this build writes, and the newest it reads.
pub const BLOCK_FORMAT_VERSION: u16 = 1;
/// The most rows one block may hold.
pub const MAX_BLOCK_ROWS: usize = 1 << 22;

const FLAG_VALIDITY: u8 = 1;
const DECIMAL_NARROW: u8 = 0;
const DECIMAL_WIDE: u8 = 1;

/// An encoded block and what the compressor chose for it.
#[derive(Debug, Clone)]
pub struct EncodedBlock {
    /// The block bytes, ready to store.
    pub bytes: Vec<u8>,
    /// The encoding tree of the values.
    pub values: EncodingNode,
    /// The encoding tree of the validity, when the column has nulls.
    pub validity: Option<EncodingNode>,
    /// Rows in the block.
    pub rows: usize,
    /// Nulls in the block.
    pub null_count: usize,
    /// The column's size in Arrow's layout, to compare against.
    pub logical_bytes: usize,
}

/// What a block's header says, read without decoding the values.
#[derive(Debug, Clone, PartialEq)]
pub struct BlockHeader {
    /// The format version.
    pub version: u16,
    /// The column's logical type.
    pub logical: LogicalType,
    /// Rows in the block.
    pub rows: usize,
    /// Whether a validity node is present.
    pub has_validity: bool,
}

/// Encodes a column as one block, choosing encodings automatically.
pub fn encode_block(column: &Column, compressor: &Compressor) -> Result<EncodedBlock> {
    let rows = column.len();
    if rows > MAX_BLOCK_ROWS {
        return Err(CodecError::TooLarge {
            what: "block rows",
            actual: rows as u64,
            limit: MAX_BLOCK_ROWS as u64,
        });
    }
    let depth = compressor.config().max_depth;
    let mut out = Vec::with_capacity(64 + column.logical_bytes() / 4);
    out.extend_from_slice(&BLOCK_MAGIC);
    out.put_u16(BLOCK_FORMAT_VERSION);
    let validity = column
        .validity()
        .filter(|validity| validity.iter().any(|&valid| !valid));
    out.put_u8(if validity.is_some() { FLAG_VALIDITY } else { 0 });
    write_logical(column.logical(), &mut out)?;
    out.put_len(rows, "block rows")?;
    let validity_node = match validity {
        Some(validity) => Some(compressor.encode::<BoolKind>(validity, depth, &mut out)?),
        None => None,
    };
    let values_node = match column.values() {
        ColumnValues::Int(values) => compressor.encode::<IntKind>(values, depth, &mut out)?,
        ColumnValues::Float(values) => compressor.encode::<FloatKind>(values, depth, &mut out)?,
        ColumnValues::Bool(values) => compressor.encode::<BoolKind>(values, depth, &mut out)?,
        ColumnValues::Bytes(values) => compressor.encode::<BytesKind>(values, depth, &mut out)?,
        ColumnValues::Decimal(values) => encode_decimal(values, compressor, depth, &mut out)?,
    };
    let checksum = crc32c::crc32c(&out);
    out.put_u32(checksum);
    Ok(EncodedBlock {
        bytes: out,
        values: values_node,
        validity: validity_node,
        rows,
        null_count: column.null_count(),
        logical_bytes: column.logical_bytes(),
    })
}

fn encode_decimal(
    values: &[i128],
    compressor: &Compressor,
    depth: u8,
    out: &mut Vec<u8>,
) -> Result<EncodingNode> {
    let narrow: Option<Vec<i64>> = values
        .iter()
        .map(|&value| i64::try_from(value).ok())
        .collect();
    match narrow {
        Some(narrow) => {
            out.put_u8(DECIMAL_NARROW);
            compressor.encode::<IntKind>(&narrow, depth, out)
        }
        None => {
            out.put_u8(DECIMAL_WIDE);
            let start = out.len();
            let raw: Vec<u8> = values
                .iter()
                .flat_map(|value| value.to_le_bytes())
                .collect();
            crate::zstd_util::compress_into(&raw, compressor.config().zstd_level, out)?;
            Ok(EncodingNode {
                scheme: "zstd_i128",
                values: values.len(),
                bytes: out.len() - start,
                children: Vec::new(),
                candidates: Vec::new(),
            })
        }
    }
}

/// Decodes a block into a new column.
pub fn decode_block(bytes: &[u8]) -> Result<Column> {
    let header = read_header(bytes)?;
    let mut column = Column::empty(header.logical);
    decode_block_into(bytes, &mut column)?;
    Ok(column)
}

/// Decodes a block into `out`, reusing its buffers (their previous contents are dropped).
pub fn decode_block_into(bytes: &[u8], out: &mut Column) -> Result<()> {
    let (header, mut reader) = open(bytes)?;
    let (logical, values, validity) = out.parts_mut();
    *logical = header.logical.clone();
    if values.kind() != logical.physical() {
        *values = ColumnValues::empty(logical.physical());
    }
    let rows = header.rows;
    *validity = if header.has_validity {
        let mut bits = validity.take().unwrap_or_default();
        bits.clear();
        decode_node::<BoolKind>(&mut reader, rows, 0, &mut bits)?;
        // A validity without a null reads as none, as `Column::validity` promises.
        bits.contains(&false).then_some(bits)
    } else {
        None
    };
    match values {
        ColumnValues::Int(ints) => {
            ints.clear();
            decode_node::<IntKind>(&mut reader, rows, 0, ints)?;
        }
        ColumnValues::Float(floats) => {
            floats.clear();
            decode_node::<FloatKind>(&mut reader, rows, 0, floats)?;
        }
        ColumnValues::Bool(bools) => {
            bools.clear();
            decode_node::<BoolKind>(&mut reader, rows, 0, bools)?;
        }
        ColumnValues::Bytes(strings) => {
            strings.clear();
            decode_node::<BytesKind>(&mut reader, rows, 0, strings)?;
        }
        ColumnValues::Decimal(decimals) => {
            decimals.clear();
            decode_decimal(&mut reader, rows, decimals)?;
        }
    }
    if reader.remaining() != 0 {
        return Err(reader.corrupt(format!("{} bytes after the values", reader.remaining())));
    }
    // The values must form a valid column (integer ranges, decimal digits, UTF-8) so that
    // callers can build typed arrays from them without checks of their own.
    check_values(logical, values).map_err(|error| CodecError::Corrupt {
        what: error.to_string(),
        offset: 0,
    })
}

/// Decodes the value at `row` alone, as a one-row column equal to that row of
/// [`decode_block`]'s column: what a point read needs. Integer-held values (and narrow
/// decimals) stored plain, constant, bit-packed, in runs or by dictionary are read without
/// decoding their neighbours ([`crate::int`]); other encodings, and the validity, are decoded whole
/// and the row picked. The checksum is verified as for a whole decode.
pub fn decode_block_row(bytes: &[u8], row: usize) -> Result<Column> {
    let (header, mut reader) = open(bytes)?;
    let rows = header.rows;
    if row >= rows {
        return Err(CodecError::InvalidColumn(format!(
            "row {row} of a block of {rows} rows"
        )));
    }
    fn pick<K: crate::scheme::ValueKind<Owned = Vec<T>>, T: Copy>(
        reader: &mut Reader<'_>,
        rows: usize,
        row: usize,
    ) -> Result<T> {
        let offset = reader.position();
        let mut values = Vec::with_capacity(rows);
        decode_node::<K>(reader, rows, 0, &mut values)?;
        values
            .get(row)
            .copied()
            .ok_or_else(|| reader.corrupt_at(offset, format!("value {row} of {rows}")))
    }
    let valid = if header.has_validity {
        pick::<BoolKind, bool>(&mut reader, rows, row)?
    } else {
        true
    };
    let values = match header.logical.physical() {
        crate::types::PhysicalKind::Int => {
            ColumnValues::Int(vec![value_at(&mut reader, rows, 0, row)?])
        }
        crate::types::PhysicalKind::Decimal => match reader.u8("decimal mode")? {
            DECIMAL_NARROW => {
                ColumnValues::Decimal(vec![i128::from(value_at(&mut reader, rows, 0, row)?)])
            }
            DECIMAL_WIDE => {
                let offset = reader.position();
                let mut wide = Vec::with_capacity(rows);
                decode_decimal_after_mode(&mut reader, rows, &mut wide)?;
                let value = wide
                    .get(row)
                    .copied()
                    .ok_or_else(|| reader.corrupt_at(offset, format!("value {row} of {rows}")))?;
                ColumnValues::Decimal(vec![value])
            }
            other => return Err(reader.corrupt(format!("decimal mode {other}"))),
        },
        crate::types::PhysicalKind::Float => {
            ColumnValues::Float(vec![pick::<FloatKind, f64>(&mut reader, rows, row)?])
        }
        crate::types::PhysicalKind::Bool => {
            ColumnValues::Bool(vec![pick::<BoolKind, bool>(&mut reader, rows, row)?])
        }
        crate::types::PhysicalKind::Bytes => {
            let offset = reader.position();
            let mut strings = crate::types::BytesColumn::default();
            decode_node::<BytesKind>(&mut reader, rows, 0, &mut strings)?;
            let value = strings
                .get(row)
                .ok_or_else(|| reader.corrupt_at(offset, format!("value {row} of {rows}")))?;
            ColumnValues::Bytes(crate::types::BytesColumn::from_values([value])?)
        }
    };
    if reader.remaining() != 0 {
        return Err(reader.corrupt(format!("{} bytes after the values", reader.remaining())));
    }
    Column::new(header.logical, values, (!valid).then(|| vec![false])).map_err(|error| {
        CodecError::Corrupt {
            what: error.to_string(),
            offset: 0,
        }
    })
}

fn decode_decimal(reader: &mut Reader<'_>, rows: usize, out: &mut Vec<i128>) -> Result<()> {
    match reader.u8("decimal mode")? {
        DECIMAL_NARROW => {
            let mut narrow = Vec::with_capacity(rows);
            decode_node::<IntKind>(reader, rows, 0, &mut narrow)?;
            out.extend(narrow.iter().map(|&value| i128::from(value)));
        }
        DECIMAL_WIDE => decode_decimal_after_mode(reader, rows, out)?,
        other => return Err(reader.corrupt(format!("decimal mode {other}"))),
    }
    Ok(())
}

/// Reads a block's header (after checking its checksum).
pub fn read_header(bytes: &[u8]) -> Result<BlockHeader> {
    open(bytes).map(|(header, _)| header)
}

/// Checks magic, version and checksum, and returns the header and a reader at the first node.
fn open(bytes: &[u8]) -> Result<(BlockHeader, Reader<'_>)> {
    let mut reader = Reader::new(bytes);
    let magic = reader.take(4, "block magic")?;
    if magic != BLOCK_MAGIC {
        let mut found = [0u8; 4];
        found.copy_from_slice(magic);
        return Err(CodecError::BadMagic { found });
    }
    let version = reader.u16("format version")?;
    if version == 0 || version > BLOCK_FORMAT_VERSION {
        return Err(CodecError::UnsupportedVersion {
            found: version,
            supported: BLOCK_FORMAT_VERSION,
        });
    }
    let body_len =
        bytes
            .len()
            .checked_sub(4)
            .filter(|&len| len >= 6)
            .ok_or(CodecError::Truncated {
                context: "block checksum",
                offset: bytes.len(),
                needed: 4,
                available: 0,
            })?;
    let (body, stored) = bytes.split_at(body_len);
    let mut stored_bytes = [0u8; 4];
    stored_bytes.copy_from_slice(stored);
    let expected = u32::from_le_bytes(stored_bytes);
    let actual = crc32c::crc32c(body);
    if expected != actual {
        return Err(CodecError::ChecksumMismatch { expected, actual });
    }
    let mut reader = Reader::new(body);
    reader.take(6, "block magic and version")?;
    let flags = reader.u8("block flags")?;
    if flags & !FLAG_VALIDITY != 0 {
        return Err(reader.corrupt(format!("unknown block flags {flags:#04x}")));
    }
    let logical = read_logical(&mut reader)?;
    let rows = reader.count("block rows", MAX_BLOCK_ROWS)?;
    Ok((
        BlockHeader {
            version,
            logical,
            rows,
            has_validity: flags & FLAG_VALIDITY != 0,
        },
        reader,
    ))
}

/// Rows of an integer-held block (integers, dates, timestamps, decimals) whose value lies in
/// `low..=high` and is not null, evaluated on the encoded data where the encoding allows.
/// For decimals the bounds are scaled integers; for `UInt64` they are the order-preserving
/// `i64` form ([`crate::types::u64_to_ordered_i64`]).
pub fn select_int_range(bytes: &[u8], low: i64, high: i64) -> Result<Selection> {
    let (header, mut reader) = open(bytes)?;
    let rows = header.rows;
    let validity = if header.has_validity {
        let mut bits = Vec::with_capacity(rows);
        decode_node::<BoolKind>(&mut reader, rows, 0, &mut bits)?;
        Some(bits)
    } else {
        None
    };
    let mut selection = Selection::none(rows);
    match header.logical.physical() {
        crate::types::PhysicalKind::Int => {
            select_range(&mut reader, rows, 0, low, high, 0, &mut selection)?
        }
        crate::types::PhysicalKind::Decimal => match reader.u8("decimal mode")? {
            DECIMAL_NARROW => select_range(&mut reader, rows, 0, low, high, 0, &mut selection)?,
            DECIMAL_WIDE => {
                let mut wide = Vec::with_capacity(rows);
                decode_decimal_after_mode(&mut reader, rows, &mut wide)?;
                selection.push_matches(0, &wide, |value| {
                    i128::from(low) <= value && value <= i128::from(high)
                });
            }
            other => return Err(reader.corrupt(format!("decimal mode {other}"))),
        },
        other => {
            return Err(CodecError::InvalidColumn(format!(
                "range selection on integers asked of a {other:?} block ({:?})",
                header.logical
            )));
        }
    }
    if let Some(validity) = validity {
        let mut valid = Selection::none(rows);
        valid.push_matches(0, &validity, |is_valid| is_valid);
        selection.intersect(&valid);
    }
    Ok(selection)
}

fn decode_decimal_after_mode(
    reader: &mut Reader<'_>,
    rows: usize,
    out: &mut Vec<i128>,
) -> Result<()> {
    let raw = crate::zstd_util::decompress_from(reader, rows * 16)?;
    out.extend(raw.chunks_exact(16).map(|chunk| {
        let mut array = [0u8; 16];
        array.copy_from_slice(chunk);
        i128::from_le_bytes(array)
    }));
    Ok(())
}

fn write_logical(logical: &LogicalType, out: &mut Vec<u8>) -> Result<()> {
    let tag = match logical {
        LogicalType::Int8 => 1,
        LogicalType::Int16 => 2,
        LogicalType::Int32 => 3,
        LogicalType::Int64 => 4,
        LogicalType::UInt8 => 5,
        LogicalType::UInt16 => 6,
        LogicalType::UInt32 => 7,
        LogicalType::UInt64 => 8,
        LogicalType::Float32 => 9,
        LogicalType::Float64 => 10,
        LogicalType::Decimal128 { .. } => 11,
        LogicalType::Boolean => 12,
        LogicalType::Utf8 => 13,
        LogicalType::Binary => 14,
        LogicalType::Date32 => 15,
        LogicalType::Date64 => 16,
        LogicalType::Timestamp { .. } => 17,
    };
    out.put_u8(tag);
    match logical {
        LogicalType::Decimal128 { precision, scale } => {
            out.put_u8(*precision);
            out.put_u8(*scale as u8);
        }
        LogicalType::Timestamp { unit, timezone } => {
            out.put_u8(match unit {
                TimeUnit::Second => 0,
                TimeUnit::Millisecond => 1,
                TimeUnit::Microsecond => 2,
                TimeUnit::Nanosecond => 3,
            });
            match timezone {
                None => out.put_u8(0),
                Some(zone) => {
                    if zone.len() > usize::from(u16::MAX) {
                        return Err(CodecError::TooLarge {
                            what: "time zone name",
                            actual: zone.len() as u64,
                            limit: u64::from(u16::MAX),
                        });
                    }
                    out.put_u8(1);
                    out.put_u16(zone.len() as u16);
                    out.extend_from_slice(zone.as_bytes());
                }
            }
        }
        _ => {}
    }
    Ok(())
}

fn read_logical(reader: &mut Reader<'_>) -> Result<LogicalType> {
    let offset = reader.position();
    Ok(match reader.u8("logical type")? {
        1 => LogicalType::Int8,
        2 => LogicalType::Int16,
        3 => LogicalType::Int32,
        4 => LogicalType::Int64,
        5 => LogicalType::UInt8,
        6 => LogicalType::UInt16,
        7 => LogicalType::UInt32,
        8 => LogicalType::UInt64,
        9 => LogicalType::Float32,
        10 => LogicalType::Float64,
        11 => {
            let precision = reader.u8("decimal precision")?;
            let scale = reader.u8("decimal scale")? as i8;
            if precision == 0 || precision > 38 {
                return Err(reader.corrupt_at(offset, format!("decimal precision {precision}")));
            }
            LogicalType::Decimal128 { precision, scale }
        }
        12 => LogicalType::Boolean,
        13 => LogicalType::Utf8,
        14 => LogicalType::Binary,
        15 => LogicalType::Date32,
        16 => LogicalType::Date64,
        17 => {
            let unit = match reader.u8("timestamp unit")? {
                0 => TimeUnit::Second,
                1 => TimeUnit::Millisecond,
                2 => TimeUnit::Microsecond,
                3 => TimeUnit::Nanosecond,
                other => return Err(reader.corrupt(format!("timestamp unit {other}"))),
            };
            let timezone = match reader.u8("time zone flag")? {
                0 => None,
                1 => {
                    let zone_len = usize::from(reader.u16("time zone length")?);
                    let zone = reader.take(zone_len, "time zone")?;
                    let zone = std::str::from_utf8(zone)
                        .map_err(|_| reader.corrupt("time zone is not UTF-8"))?;
                    Some(zone.to_owned())
                }
                other => return Err(reader.corrupt(format!("time zone flag {other}"))),
            };
            LogicalType::Timestamp { unit, timezone }
        }
        other => return Err(reader.corrupt_at(offset, format!("logical type tag {other}"))),
    })
}
