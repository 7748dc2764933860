//! Order-preserving ("memcomparable") key encoding and the key layouts of the column
//! families: comparing two encoded keys bytewise gives the order of the tuples they encode,
//! so RocksDB's default comparator sorts rows by primary key.
//!
//! Each key column is encoded by its logical type, big-endian, with no null marker (key
//! columns never hold nulls):
//!
//! | logical type | bytes |
//! |---|---|
//! | signed integers, dates, timestamps | the type's width, sign bit flipped |
//! | `UInt8`/`UInt16`/`UInt32` | the type's width, as is |
//! | `UInt64` | 8 (held as an order-preserving `i64`; flipping its sign bit gives the `u64`) |
//! | `Float32` / `Float64` | 4 / 8: positive values with the sign bit set, negative values with every bit inverted |
//! | `Decimal128` | 16, the scaled `i128` with the sign bit flipped |
//! | `Boolean` | 1: 0 or 1 |
//! | `Utf8` / `Binary` | each `0x00` byte as `0x00 0xFF`, then the terminator `0x00 0x01` |
//!
//! Floats are canonicalized first: `-0.0` becomes `0.0` and every NaN one positive quiet NaN,
//! so key equality and key order are exactly those of [`tessera_layout::Scalar::compare`]
//! (`-0.0 == 0.0`, NaN greatest). The string escape makes every value self-delimiting, so a
//! tuple's encoding is never a proper prefix of another tuple's of the same key columns, and
//! `"a"` (`61 00 01`) sorts before `"a\0"` (`61 00 FF 00 01`) before `"ab"`.
//!
//! Key layout of the `delta` column family: table id (u32 BE) ‖ generation (u32 BE) ‖
//! primary key ‖ sequence (u64 BE). Within a generation the versions of one key are adjacent,
//! oldest first; a later generation holds newer writes. Compaction folds whole generations
//! and removes them with one range deletion. `pk_index` keys are table id ‖ layout version ‖
//! primary key;
//! `block_meta` keys are table id ‖ layout version ‖ cell ‖ block id, and `blocks` keys
//! append the column index (u16 BE) to those.

use tessera_codecs::{LogicalType, PhysicalKind};
use tessera_layout::Scalar;

use crate::error::{Error, Result};

/// Bytes of a table id at the start of every key of a table.
pub const TABLE_ID_BYTES: usize = 4;
/// Bytes of the sequence number at the end of a delta key.
pub const SEQUENCE_BYTES: usize = 8;

const ESCAPE: u8 = 0x00;
const ESCAPED_ZERO: u8 = 0xFF;
const TERMINATOR: u8 = 0x01;
/// The one NaN keys hold: positive, quiet, no payload.
const CANONICAL_NAN_F64: u64 = 0x7FF8_0000_0000_0000;
const CANONICAL_NAN_F32: u32 = 0x7FC0_0000;

/// A borrowed, non-null value in the codec layer's physical domain: what keys and rows are
/// built from without copying strings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ValueRef<'a> {
    /// Integers, dates, timestamps (`UInt64` order-preserved).
    Int(i64),
    /// Floats.
    Float(f64),
    /// Scaled decimals.
    Decimal(i128),
    /// Booleans.
    Bool(bool),
    /// Strings and binary.
    Bytes(&'a [u8]),
}

impl<'a> ValueRef<'a> {
    /// Borrows a scalar.
    pub fn from_scalar(scalar: &'a Scalar) -> Self {
        match scalar {
            Scalar::Int(value) => Self::Int(*value),
            Scalar::Float(value) => Self::Float(*value),
            Scalar::Decimal(value) => Self::Decimal(*value),
            Scalar::Bool(value) => Self::Bool(*value),
            Scalar::Bytes(value) => Self::Bytes(value),
        }
    }

    /// An owned scalar.
    pub fn to_scalar(self) -> Scalar {
        match self {
            Self::Int(value) => Scalar::Int(value),
            Self::Float(value) => Scalar::Float(value),
            Self::Decimal(value) => Scalar::Decimal(value),
            Self::Bool(value) => Scalar::Bool(value),
            Self::Bytes(value) => Scalar::Bytes(value.to_vec()),
        }
    }

    /// The physical kind of the value.
    pub fn kind(self) -> PhysicalKind {
        match self {
            Self::Int(_) => PhysicalKind::Int,
            Self::Float(_) => PhysicalKind::Float,
            Self::Decimal(_) => PhysicalKind::Decimal,
            Self::Bool(_) => PhysicalKind::Bool,
            Self::Bytes(_) => PhysicalKind::Bytes,
        }
    }
}

/// How one key column is encoded, derived from its logical type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyEncoding {
    /// Signed integer of `width` bytes, sign bit flipped.
    Signed {
        width: usize,
    },
    /// Non-negative integer of `width` bytes.
    Unsigned {
        width: usize,
    },
    Float32,
    Float64,
    Decimal,
    Bool,
    Bytes,
}

impl KeyEncoding {
    fn of(logical: &LogicalType) -> Self {
        match logical {
            LogicalType::Int8 => Self::Signed { width: 1 },
            LogicalType::Int16 => Self::Signed { width: 2 },
            LogicalType::Int32 | LogicalType::Date32 => Self::Signed { width: 4 },
            LogicalType::Int64
            | LogicalType::UInt64
            | LogicalType::Date64
            | LogicalType::Timestamp { .. } => Self::Signed { width: 8 },
            LogicalType::UInt8 => Self::Unsigned { width: 1 },
            LogicalType::UInt16 => Self::Unsigned { width: 2 },
            LogicalType::UInt32 => Self::Unsigned { width: 4 },
            LogicalType::Float32 => Self::Float32,
            LogicalType::Float64 => Self::Float64,
            LogicalType::Decimal128 { .. } => Self::Decimal,
            LogicalType::Boolean => Self::Bool,
            LogicalType::Utf8 | LogicalType::Binary => Self::Bytes,
        }
    }
}

fn malformed(reason: String) -> Error {
    Error::Corrupt {
        what: "primary key".to_owned(),
        key: String::new(),
        reason,
    }
}

/// Appends the encoding of one non-null value of a key column of type `logical`. Fails when
/// the value is not of the kind or range the type holds.
pub fn encode_key_value(
    logical: &LogicalType,
    value: ValueRef<'_>,
    out: &mut Vec<u8>,
) -> Result<()> {
    let mismatch = || {
        malformed(format!(
            "a {:?} value cannot be a {logical:?} key value",
            value.kind()
        ))
    };
    match (KeyEncoding::of(logical), value) {
        (KeyEncoding::Signed { width }, ValueRef::Int(value)) => {
            let bits = 8 * width as u32;
            // Within the type's range, value + 2^(bits-1) lies in [0, 2^bits).
            let biased = (value as u64).wrapping_add(1u64 << (bits - 1));
            if bits < 64 && biased >> bits != 0 {
                return Err(mismatch());
            }
            out.extend_from_slice(biased.to_be_bytes().get(8 - width..).unwrap_or_default());
        }
        (KeyEncoding::Unsigned { width }, ValueRef::Int(value)) => {
            let bits = 8 * width as u32;
            if value < 0 || (value as u64) >> bits != 0 {
                return Err(mismatch());
            }
            out.extend_from_slice(
                (value as u64)
                    .to_be_bytes()
                    .get(8 - width..)
                    .unwrap_or_default(),
            );
        }
        (KeyEncoding::Float32, ValueRef::Float(value)) => {
            out.extend_from_slice(&ordered_f32_bits(value as f32).to_be_bytes());
        }
        (KeyEncoding::Float64, ValueRef::Float(value)) => {
            out.extend_from_slice(&ordered_f64_bits(value).to_be_bytes());
        }
        (KeyEncoding::Decimal, ValueRef::Decimal(value)) => {
            out.extend_from_slice(&((value as u128) ^ (1u128 << 127)).to_be_bytes());
        }
        (KeyEncoding::Bool, ValueRef::Bool(value)) => out.push(u8::from(value)),
        (KeyEncoding::Bytes, ValueRef::Bytes(bytes)) => {
            for chunk in bytes.split_inclusive(|&byte| byte == ESCAPE) {
                out.extend_from_slice(chunk);
                if chunk.last() == Some(&ESCAPE) {
                    out.push(ESCAPED_ZERO);
                }
            }
            out.extend_from_slice(&[ESCAPE, TERMINATOR]);
        }
        _ => return Err(mismatch()),
    }
    Ok(())
}

fn ordered_f64_bits(value: f64) -> u64 {
    let bits = if value.is_nan() {
        CANONICAL_NAN_F64
    } else if value == 0.0 {
        0
    } else {
        value.to_bits()
    };
    if bits >> 63 == 0 {
        bits | (1 << 63)
    } else {
        !bits
    }
}

fn f64_from_ordered_bits(bits: u64) -> f64 {
    f64::from_bits(if bits >> 63 == 1 {
        bits & !(1 << 63)
    } else {
        !bits
    })
}

fn ordered_f32_bits(value: f32) -> u32 {
    let bits = if value.is_nan() {
        CANONICAL_NAN_F32
    } else if value == 0.0 {
        0
    } else {
        value.to_bits()
    };
    if bits >> 31 == 0 {
        bits | (1 << 31)
    } else {
        !bits
    }
}

fn f32_from_ordered_bits(bits: u32) -> f32 {
    f32::from_bits(if bits >> 31 == 1 {
        bits & !(1 << 31)
    } else {
        !bits
    })
}

/// Encodes a whole primary key: one value per key column, in key order.
pub fn encode_key(types: &[LogicalType], values: &[ValueRef<'_>], out: &mut Vec<u8>) -> Result<()> {
    if types.len() != values.len() {
        return Err(malformed(format!(
            "{} values for {} key columns",
            values.len(),
            types.len()
        )));
    }
    for (logical, value) in types.iter().zip(values) {
        encode_key_value(logical, *value, out)?;
    }
    Ok(())
}

/// A cursor over encoded key bytes.
struct KeyReader<'a> {
    bytes: &'a [u8],
}

impl<'a> KeyReader<'a> {
    fn take(&mut self, count: usize) -> Result<&'a [u8]> {
        let (head, tail) = self.bytes.split_at_checked(count).ok_or_else(|| {
            malformed(format!(
                "needs {count} more bytes, {} are left",
                self.bytes.len()
            ))
        })?;
        self.bytes = tail;
        Ok(head)
    }

    fn uint(&mut self, width: usize) -> Result<u64> {
        let mut buffer = [0u8; 8];
        let slot = buffer
            .get_mut(8 - width..)
            .ok_or_else(|| malformed(format!("integer width {width}")))?;
        slot.copy_from_slice(self.take(width)?);
        Ok(u64::from_be_bytes(buffer))
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let mut buffer = [0u8; N];
        buffer.copy_from_slice(self.take(N)?);
        Ok(buffer)
    }

    fn escaped_bytes(&mut self) -> Result<Vec<u8>> {
        let mut value = Vec::new();
        loop {
            let position = self
                .bytes
                .iter()
                .position(|&byte| byte == ESCAPE)
                .ok_or_else(|| malformed("unterminated string".to_owned()))?;
            value.extend_from_slice(self.take(position)?);
            match self.take(2)? {
                [ESCAPE, TERMINATOR] => return Ok(value),
                [ESCAPE, ESCAPED_ZERO] => value.push(0),
                other => {
                    return Err(malformed(format!("invalid string escape {other:02x?}")));
                }
            }
        }
    }
}

/// Decodes a primary key back into one scalar per key column. Floats come back
/// canonicalized (see the module docs). Fails on truncated, overlong or ill-escaped bytes.
pub fn decode_key(types: &[LogicalType], bytes: &[u8]) -> Result<Vec<Scalar>> {
    let mut reader = KeyReader { bytes };
    let mut values = Vec::with_capacity(types.len());
    for logical in types {
        let value = match KeyEncoding::of(logical) {
            KeyEncoding::Signed { width } => {
                let bits = 8 * width as u32;
                let biased = reader.uint(width)?;
                Scalar::Int(biased.wrapping_sub(1u64 << (bits - 1)) as i64)
            }
            KeyEncoding::Unsigned { width } => Scalar::Int(reader.uint(width)? as i64),
            KeyEncoding::Float32 => Scalar::Float(f64::from(f32_from_ordered_bits(
                u32::from_be_bytes(reader.array()?),
            ))),
            KeyEncoding::Float64 => {
                Scalar::Float(f64_from_ordered_bits(u64::from_be_bytes(reader.array()?)))
            }
            KeyEncoding::Decimal => {
                Scalar::Decimal((u128::from_be_bytes(reader.array()?) ^ (1u128 << 127)) as i128)
            }
            KeyEncoding::Bool => match reader.array::<1>()? {
                [0] => Scalar::Bool(false),
                [1] => Scalar::Bool(true),
                [other] => return Err(malformed(format!("boolean byte {other}"))),
            },
            KeyEncoding::Bytes => Scalar::Bytes(reader.escaped_bytes()?),
        };
        values.push(value);
    }
    if !reader.bytes.is_empty() {
        return Err(malformed(format!(
            "{} bytes after the last key column",
            reader.bytes.len()
        )));
    }
    Ok(values)
}

/// The prefix every key of a table starts with in the table-keyed column families.
pub fn table_prefix(table_id: u32) -> [u8; TABLE_ID_BYTES] {
    table_id.to_be_bytes()
}

/// `[start, end)` covering every key of a table. Table ids stop below `u32::MAX`, so the
/// end is always the next id's prefix.
pub fn table_range(table_id: u32) -> (Vec<u8>, Vec<u8>) {
    let start = table_prefix(table_id).to_vec();
    let end = match table_id.checked_add(1) {
        Some(next) => table_prefix(next).to_vec(),
        None => vec![0xFF; TABLE_ID_BYTES + 1],
    };
    (start, end)
}

/// Bytes of a delta generation number after the table id of a delta key.
pub const GENERATION_BYTES: usize = 4;

/// The first bytes of every delta key of generation `generation` of a table.
pub fn delta_prefix(table_id: u32, generation: u32) -> [u8; TABLE_ID_BYTES + GENERATION_BYTES] {
    let mut prefix = [0u8; TABLE_ID_BYTES + GENERATION_BYTES];
    prefix[..TABLE_ID_BYTES].copy_from_slice(&table_id.to_be_bytes());
    prefix[TABLE_ID_BYTES..].copy_from_slice(&generation.to_be_bytes());
    prefix
}

/// A delta key: table id ‖ generation ‖ primary key ‖ sequence.
pub fn delta_key(table_id: u32, generation: u32, primary_key: &[u8], sequence: u64) -> Vec<u8> {
    let mut key =
        Vec::with_capacity(TABLE_ID_BYTES + GENERATION_BYTES + primary_key.len() + SEQUENCE_BYTES);
    key.extend_from_slice(&delta_prefix(table_id, generation));
    key.extend_from_slice(primary_key);
    key.extend_from_slice(&sequence.to_be_bytes());
    key
}

/// A delta key's parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeltaKey<'a> {
    /// The table.
    pub table_id: u32,
    /// The delta generation the write landed in.
    pub generation: u32,
    /// The encoded primary key (without the table id).
    pub primary_key: &'a [u8],
    /// The write's sequence number.
    pub sequence: u64,
}

/// Splits a delta key into its parts.
pub fn split_delta_key(key: &[u8]) -> Result<DeltaKey<'_>> {
    let short = || malformed(format!("delta key of {} bytes", key.len()));
    let (table, rest) = key
        .split_first_chunk::<TABLE_ID_BYTES>()
        .ok_or_else(short)?;
    let (generation, rest) = rest
        .split_first_chunk::<GENERATION_BYTES>()
        .ok_or_else(short)?;
    let (primary_key, sequence) = rest
        .split_last_chunk::<SEQUENCE_BYTES>()
        .ok_or_else(short)?;
    Ok(DeltaKey {
        table_id: u32::from_be_bytes(*table),
        generation: u32::from_be_bytes(*generation),
        primary_key,
        sequence: u64::from_be_bytes(*sequence),
    })
}

/// A `pk_index` key: table id ‖ layout version ‖ primary key. Each layout version has its
/// own entries, so a re-layout writes the new ones before it is published and readers of
/// the old version keep finding theirs.
pub fn pk_index_key(table_id: u32, layout_version: u32, primary_key: &[u8]) -> Vec<u8> {
    let mut key = Vec::with_capacity(TABLE_ID_BYTES + 4 + primary_key.len());
    key.extend_from_slice(&table_prefix(table_id));
    key.extend_from_slice(&layout_version.to_be_bytes());
    key.extend_from_slice(primary_key);
    key
}

/// `[start, end)` of the keys of one layout version of a table in `pk_index`, `blocks` and
/// `block_meta`.
pub fn layout_range(table_id: u32, layout_version: u32) -> (Vec<u8>, Vec<u8>) {
    let mut start = table_prefix(table_id).to_vec();
    start.extend_from_slice(&layout_version.to_be_bytes());
    let end = match layout_version.checked_add(1) {
        Some(next) => {
            let mut end = table_prefix(table_id).to_vec();
            end.extend_from_slice(&next.to_be_bytes());
            end
        }
        None => table_range(table_id).1,
    };
    (start, end)
}

/// Where a block lives: table id ‖ layout version ‖ cell ‖ block id, all big-endian. The
/// `block_meta` key of the block; its column chunks in `blocks` append the column index.
pub fn block_key(table_id: u32, layout_version: u32, cell: u32, block_id: u64) -> Vec<u8> {
    let mut key = Vec::with_capacity(BLOCK_KEY_BYTES + 2);
    key.extend_from_slice(&table_prefix(table_id));
    key.extend_from_slice(&layout_version.to_be_bytes());
    key.extend_from_slice(&cell.to_be_bytes());
    key.extend_from_slice(&block_id.to_be_bytes());
    key
}

/// Bytes of a [`block_key`].
pub const BLOCK_KEY_BYTES: usize = TABLE_ID_BYTES + 4 + 4 + 8;

/// The `blocks` key of one column chunk of a block.
pub fn chunk_key(block: &[u8], column: u16) -> Vec<u8> {
    let mut key = Vec::with_capacity(block.len() + 2);
    key.extend_from_slice(block);
    key.extend_from_slice(&column.to_be_bytes());
    key
}

/// Hex of a key, for error messages.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut text = String::with_capacity(2 * bytes.len());
    for byte in bytes {
        // Writing to a String cannot fail.
        let _ = write!(text, "{byte:02x}");
    }
    text
}

#[cfg(test)]
mod tests {
    use std::cmp::Ordering;

    use proptest::prelude::*;
    use tessera_codecs::TimeUnit;

    use super::*;

    fn encode(types: &[LogicalType], values: &[Scalar]) -> Vec<u8> {
        let refs: Vec<ValueRef<'_>> = values.iter().map(ValueRef::from_scalar).collect();
        let mut out = Vec::new();
        encode_key(types, &refs, &mut out).unwrap();
        out
    }

    fn tuple_order(a: &[Scalar], b: &[Scalar]) -> Ordering {
        for (x, y) in a.iter().zip(b) {
            match x.compare(y).unwrap() {
                Ordering::Equal => {}
                other => return other,
            }
        }
        Ordering::Equal
    }

    fn canonical(value: &Scalar) -> Scalar {
        match value {
            Scalar::Float(float) if float.is_nan() => Scalar::Float(f64::NAN),
            Scalar::Float(float) if *float == 0.0 => Scalar::Float(0.0),
            other => other.clone(),
        }
    }

    fn same(a: &Scalar, b: &Scalar) -> bool {
        match (a, b) {
            (Scalar::Float(x), Scalar::Float(y)) => x.to_bits() == y.to_bits(),
            _ => a == b,
        }
    }

    fn float64() -> impl Strategy<Value = f64> {
        prop_oneof![
            any::<f64>(),
            Just(0.0),
            Just(-0.0),
            Just(f64::NAN),
            Just(-f64::NAN),
            Just(f64::INFINITY),
            Just(f64::NEG_INFINITY),
            Just(f64::MIN_POSITIVE),
            -3.0..3.0f64,
        ]
    }

    fn short_bytes() -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(
            prop_oneof![Just(0u8), Just(1u8), Just(0xFFu8), any::<u8>()],
            0..6,
        )
    }

    /// Key column types and a strategy for one tuple of them.
    fn key_types() -> Vec<LogicalType> {
        vec![
            LogicalType::Int8,
            LogicalType::UInt16,
            LogicalType::Utf8,
            LogicalType::Float64,
            LogicalType::Decimal128 {
                precision: 38,
                scale: 2,
            },
            LogicalType::Boolean,
            LogicalType::Binary,
            LogicalType::Int64,
            LogicalType::Float32,
            LogicalType::UInt64,
        ]
    }

    fn tuple() -> impl Strategy<Value = Vec<Scalar>> {
        (
            prop_oneof![
                Just(i8::MIN),
                Just(i8::MAX),
                Just(0i8),
                Just(-1i8),
                any::<i8>()
            ],
            prop_oneof![Just(0u16), Just(u16::MAX), any::<u16>()],
            short_bytes(),
            float64(),
            prop_oneof![
                Just(i128::MIN / 1_000),
                Just(0i128),
                -1_000i128..1_000,
                any::<i64>().prop_map(i128::from)
            ],
            any::<bool>(),
            short_bytes(),
            prop_oneof![Just(i64::MIN), Just(i64::MAX), -2i64..2, any::<i64>()],
            any::<f32>(),
            any::<u64>(),
        )
            .prop_map(|(a, b, c, d, e, f, g, h, i, j)| {
                vec![
                    Scalar::Int(i64::from(a)),
                    Scalar::Int(i64::from(b)),
                    Scalar::Bytes(c),
                    Scalar::Float(d),
                    Scalar::Decimal(e),
                    Scalar::Bool(f),
                    Scalar::Bytes(g),
                    Scalar::Int(h),
                    Scalar::Float(f64::from(i)),
                    Scalar::Int(tessera_codecs::types::u64_to_ordered_i64(j)),
                ]
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2_000))]

        #[test]
        fn byte_order_is_tuple_order(a in tuple(), b in tuple(), prefix in 1usize..=10) {
            let types = key_types();
            let (types, a, b) = (&types[..prefix], &a[..prefix], &b[..prefix]);
            let (key_a, key_b) = (encode(types, a), encode(types, b));
            prop_assert_eq!(key_a.cmp(&key_b), tuple_order(a, b), "{:?} vs {:?}", a, b);
        }

        #[test]
        fn keys_decode_to_their_canonical_tuple(a in tuple()) {
            let types = key_types();
            let decoded = decode_key(&types, &encode(&types, &a)).unwrap();
            prop_assert_eq!(decoded.len(), a.len());
            for (value, back) in a.iter().zip(&decoded) {
                prop_assert!(same(&canonical(value), back), "{:?} decoded as {:?}", value, back);
            }
        }

        #[test]
        fn strings_sharing_a_prefix_order_bytewise(a in short_bytes(), b in short_bytes(), tail in short_bytes()) {
            // Followed by another column, the escape keeps "a" < "a\0" < "ab" regardless of
            // what comes after.
            let types = [LogicalType::Binary, LogicalType::Binary];
            let key_a = encode(&types, &[Scalar::Bytes(a.clone()), Scalar::Bytes(tail.clone())]);
            let key_b = encode(&types, &[Scalar::Bytes(b.clone()), Scalar::Bytes(vec![0xFF; 3])]);
            if a != b {
                prop_assert_eq!(key_a.cmp(&key_b), a.cmp(&b));
            }
        }

        #[test]
        fn arbitrary_bytes_never_panic_the_decoder(bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
            let _ = decode_key(&key_types(), &bytes);
            let _ = split_delta_key(&bytes);
        }
    }

    #[test]
    fn integers_use_their_width_with_the_sign_bit_flipped() {
        let types = [
            LogicalType::Int8,
            LogicalType::Int32,
            LogicalType::UInt8,
            LogicalType::Timestamp {
                unit: TimeUnit::Second,
                timezone: None,
            },
        ];
        let key = encode(
            &types,
            &[
                Scalar::Int(-1),
                Scalar::Int(1),
                Scalar::Int(200),
                Scalar::Int(0),
            ],
        );
        assert_eq!(key, [0x7F, 0x80, 0, 0, 1, 200, 0x80, 0, 0, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn strings_escape_zero_bytes_and_terminate() {
        let key = encode(&[LogicalType::Binary], &[Scalar::Bytes(b"a\0b".to_vec())]);
        assert_eq!(key, [b'a', 0, 0xFF, b'b', 0, 1]);
        let order = ["", "\0", "a", "a\0", "a\0\0", "a\x01", "ab", "b"];
        let keys: Vec<Vec<u8>> = order
            .iter()
            .map(|text| {
                encode(
                    &[LogicalType::Utf8],
                    &[Scalar::Bytes(text.as_bytes().to_vec())],
                )
            })
            .collect();
        assert!(keys.windows(2).all(|pair| pair[0] < pair[1]), "{keys:02x?}");
    }

    #[test]
    fn floats_canonicalize_zero_and_nan() {
        let types = [LogicalType::Float64];
        assert_eq!(
            encode(&types, &[Scalar::Float(-0.0)]),
            encode(&types, &[Scalar::Float(0.0)])
        );
        assert_eq!(
            encode(&types, &[Scalar::Float(f64::NAN)]),
            encode(&types, &[Scalar::Float(-f64::NAN)])
        );
        assert!(
            encode(&types, &[Scalar::Float(f64::NAN)])
                > encode(&types, &[Scalar::Float(f64::INFINITY)])
        );
    }

    #[test]
    fn values_outside_their_type_are_rejected() {
        let mut out = Vec::new();
        assert!(encode_key_value(&LogicalType::Int8, ValueRef::Int(128), &mut out).is_err());
        assert!(encode_key_value(&LogicalType::UInt16, ValueRef::Int(-1), &mut out).is_err());
        assert!(encode_key_value(&LogicalType::Utf8, ValueRef::Int(1), &mut out).is_err());
        assert!(out.is_empty());
        assert!(encode_key(&[LogicalType::Int8], &[], &mut out).is_err());
    }

    #[test]
    fn malformed_keys_are_errors() {
        let types = [LogicalType::Utf8, LogicalType::Boolean];
        assert!(decode_key(&types, b"ab").is_err(), "unterminated");
        assert!(decode_key(&types, &[b'a', 0, 7, 1]).is_err(), "bad escape");
        assert!(decode_key(&types, &[b'a', 0, 1, 2]).is_err(), "bad boolean");
        assert!(
            decode_key(&types, &[b'a', 0, 1, 1, 9]).is_err(),
            "trailing bytes"
        );
        assert_eq!(
            decode_key(&types, &[b'a', 0, 1, 1]).unwrap(),
            vec![Scalar::Bytes(b"a".to_vec()), Scalar::Bool(true)]
        );
    }

    #[test]
    fn delta_keys_split_back_and_sort_by_table_generation_key_sequence() {
        let key = delta_key(7, 3, b"pk", 42);
        assert_eq!(
            key,
            [0, 0, 0, 7, 0, 0, 0, 3, b'p', b'k', 0, 0, 0, 0, 0, 0, 0, 42]
        );
        assert_eq!(
            split_delta_key(&key).unwrap(),
            DeltaKey {
                table_id: 7,
                generation: 3,
                primary_key: b"pk",
                sequence: 42
            }
        );
        assert!(delta_key(7, 3, b"pk", 42) < delta_key(7, 3, b"pk", 43));
        assert!(delta_key(7, 3, b"pk", u64::MAX) < delta_key(7, 3, b"pl", 0));
        assert!(delta_key(7, 3, b"\xFF", u64::MAX) < delta_key(7, 4, b"", 0));
        assert!(delta_key(7, u32::MAX, b"\xFF", u64::MAX) < delta_key(8, 0, b"", 0));
        assert!(split_delta_key(&[0; 15]).is_err());
        let (start, end) = table_range(7);
        assert!(start.as_slice() <= key.as_slice() && key.as_slice() < end.as_slice());
        assert!(key.starts_with(&delta_prefix(7, 3)));
        let block = block_key(7, 1, 2, 3);
        assert_eq!(block.len(), BLOCK_KEY_BYTES);
        assert_eq!(chunk_key(&block, 4)[BLOCK_KEY_BYTES..], [0, 4]);
        assert_eq!(pk_index_key(7, 1, b"k"), [0, 0, 0, 7, 0, 0, 0, 1, b'k']);
        assert_eq!(
            layout_range(7, 1),
            (vec![0, 0, 0, 7, 0, 0, 0, 1], vec![0, 0, 0, 7, 0, 0, 0, 2])
        );
        assert_eq!(hex(&[0, 0xAB]), "00ab");
    }
}
