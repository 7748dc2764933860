//! Table metadata and its persisted form in the `catalog` column family.
//!
//! A table is an id (never reused), a name, an Arrow schema and its primary key. The schema is
//! stored in our own versioned, explicit-endian format rather than Arrow IPC, so the bytes
//! on disk are pinned by a golden file and do not change with the Arrow version. Only what
//! the engine uses is kept: field names, types and nullability (field and schema metadata
//! are dropped).
//!
//! Table format version 1, integers little-endian, strings as u16 length + UTF-8:
//!
//! ```text
//! u16  format version (1)
//! u32  table id
//! str  table name
//! u16  field count, then per field: str name · u8 nullable (0/1) · type
//! u16  key column count, then per key column: u16 field index
//! type: u8 tag, then for Decimal128 u8 precision + i8 scale, for Timestamp u8 unit
//!       (0 s, 1 ms, 2 µs, 3 ns) + u8 has-time-zone + str time zone
//! ```
//!
//! Key columns are stored as field indices, not names: an index cannot name a column the
//! schema lacks, and decoding checks every index.
//!
//! Catalog keys: `table/<name>` for tables, `meta/...` for the engine's durable counters,
//! each value a u16 format version followed by the counter (u32 or u64 little-endian).

use crate::bytes::ByteReader;
use std::collections::HashSet;
use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use tessera_codecs::LogicalType;

use crate::columnar::logical_type_of;
use crate::error::{Error, Result};
use crate::keys::hex;

/// The table format version this build writes and the newest it reads.
pub const TABLE_FORMAT_VERSION: u16 = 1;
/// The format version of the engine's counters in `meta/...`.
pub const COUNTER_FORMAT_VERSION: u16 = 1;

/// Prefix of table entries in the catalog.
pub const TABLE_KEY_PREFIX: &[u8] = b"table/";
/// Catalog key of the next table id to hand out.
pub const NEXT_TABLE_ID_KEY: &[u8] = b"meta/next_table_id";
/// Catalog key of the exclusive upper end of the sequence numbers reserved so far.
pub const SEQUENCE_CEILING_KEY: &[u8] = b"meta/sequence_ceiling";

/// The catalog key of a table.
pub fn table_key(name: &str) -> Vec<u8> {
    [TABLE_KEY_PREFIX, name.as_bytes()].concat()
}

/// A table's definition.
#[derive(Debug, Clone, PartialEq)]
pub struct TableMeta {
    id: u32,
    name: String,
    schema: SchemaRef,
    key_indices: Vec<usize>,
}

impl TableMeta {
    /// Validates a definition: a non-empty name, at least one field, unique field names,
    /// every field of a type Tessera stores, and a primary key of one or more distinct
    /// columns of the schema.
    pub fn new(id: u32, name: &str, schema: SchemaRef, primary_key: &[String]) -> Result<Self> {
        let invalid = |reason: &str| Error::InvalidTable {
            table: name.to_owned(),
            reason: reason.to_owned(),
        };
        if name.is_empty() {
            return Err(invalid("the name is empty"));
        }
        if name.len() > usize::from(u16::MAX) {
            return Err(invalid("the name is longer than 65,535 bytes"));
        }
        if schema.fields().is_empty() {
            return Err(invalid("the schema has no fields"));
        }
        if schema.fields().len() > usize::from(u16::MAX) {
            return Err(invalid("the schema has more than 65,535 fields"));
        }
        let mut seen = HashSet::new();
        for field in schema.fields() {
            if !seen.insert(field.name().as_str()) {
                return Err(Error::DuplicateColumn {
                    table: name.to_owned(),
                    column: field.name().clone(),
                });
            }
            if field.name().len() > usize::from(u16::MAX) {
                return Err(invalid("a field name is longer than 65,535 bytes"));
            }
        }
        if primary_key.is_empty() {
            return Err(invalid("the primary key has no columns"));
        }
        let mut key_indices = Vec::with_capacity(primary_key.len());
        for column in primary_key {
            let index = schema.index_of(column).map_err(|_| Error::UnknownColumn {
                table: name.to_owned(),
                column: column.clone(),
            })?;
            if key_indices.contains(&index) {
                return Err(Error::DuplicateColumn {
                    table: name.to_owned(),
                    column: column.clone(),
                });
            }
            key_indices.push(index);
        }
        for (index, field) in schema.fields().iter().enumerate() {
            if let DataType::Decimal128(precision, _) = field.data_type()
                && !(1..=38).contains(precision)
            {
                return Err(invalid(&format!(
                    "column {:?}: decimal precision {precision} is not in 1..=38",
                    field.name()
                )));
            }
            if logical_type_of(field.data_type()).is_none() {
                return Err(if key_indices.contains(&index) {
                    Error::UnsupportedKeyType {
                        table: name.to_owned(),
                        column: field.name().clone(),
                        data_type: field.data_type().to_string(),
                    }
                } else {
                    Error::UnsupportedType {
                        column: field.name().clone(),
                        data_type: field.data_type().to_string(),
                    }
                });
            }
        }
        // Only what the engine keeps: names, types, nullability.
        let schema = Arc::new(Schema::new(
            schema
                .fields()
                .iter()
                .map(|field| {
                    Field::new(field.name(), field.data_type().clone(), field.is_nullable())
                })
                .collect::<Vec<_>>(),
        ));
        Ok(Self {
            id,
            name: name.to_owned(),
            schema,
            key_indices,
        })
    }

    /// The table's id, the prefix of its keys.
    pub fn id(&self) -> u32 {
        self.id
    }

    /// The table's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The table's schema.
    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// Indices of the primary key's columns in the schema, in key order.
    pub fn key_indices(&self) -> &[usize] {
        &self.key_indices
    }

    /// Names of the primary key's columns, in key order.
    pub fn primary_key(&self) -> Vec<String> {
        self.key_indices
            .iter()
            .filter_map(|&index| self.schema.fields().get(index))
            .map(|field| field.name().clone())
            .collect()
    }

    /// The logical type of every column, in schema order.
    pub fn logical_types(&self) -> Vec<LogicalType> {
        self.schema
            .fields()
            .iter()
            .filter_map(|field| logical_type_of(field.data_type()))
            .collect()
    }

    /// The persisted form.
    pub fn encode(&self) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        out.extend_from_slice(&TABLE_FORMAT_VERSION.to_le_bytes());
        out.extend_from_slice(&self.id.to_le_bytes());
        put_str(&mut out, &self.name)?;
        put_len(&mut out, self.schema.fields().len())?;
        for field in self.schema.fields() {
            put_str(&mut out, field.name())?;
            out.push(u8::from(field.is_nullable()));
            put_type(&mut out, field.name(), field.data_type())?;
        }
        put_len(&mut out, self.key_indices.len())?;
        for &index in &self.key_indices {
            put_len(&mut out, index)?;
        }
        Ok(out)
    }

    /// Reads the persisted form stored under catalog key `key` (named in errors).
    pub fn decode(key: &[u8], bytes: &[u8]) -> Result<Self> {
        let corrupt = |reason: String| Error::Corrupt {
            what: "table definition".to_owned(),
            key: hex(key),
            reason,
        };
        let mut reader = ByteReader::new(bytes);
        let version = u16::from_le_bytes(reader.array().map_err(corrupt)?);
        if version == 0 || version > TABLE_FORMAT_VERSION {
            return Err(Error::UnsupportedFormatVersion {
                what: format!("table definition at key {}", hex(key)),
                version,
                supported: TABLE_FORMAT_VERSION,
            });
        }
        let decoded = decode_definition(&mut reader);
        let (id, name, fields, primary_key) = decoded.map_err(corrupt)?;
        Self::new(id, &name, Arc::new(Schema::new(fields)), &primary_key).map_err(|error| {
            Error::Corrupt {
                what: "table definition".to_owned(),
                key: hex(key),
                reason: error.to_string(),
            }
        })
    }
}

/// A decoded definition before validation: id, name, fields, key column names.
type Definition = (u32, String, Vec<Field>, Vec<String>);

/// Reads the fields of a table definition after its version.
fn decode_definition(reader: &mut ByteReader<'_>) -> std::result::Result<Definition, String> {
    let id = u32::from_le_bytes(reader.array()?);
    let name = read_string(reader)?;
    let field_count = reader.u16()?;
    let mut fields = Vec::with_capacity(usize::from(field_count));
    for _ in 0..field_count {
        let field_name = read_string(reader)?;
        let nullable = match reader.byte()? {
            0 => false,
            1 => true,
            other => return Err(format!("nullable flag {other}")),
        };
        let data_type = read_data_type(reader)?;
        fields.push(Field::new(field_name, data_type, nullable));
    }
    let key_count = reader.u16()?;
    let mut primary_key = Vec::with_capacity(usize::from(key_count));
    for _ in 0..key_count {
        let index = usize::from(reader.u16()?);
        let field = fields
            .get(index)
            .ok_or_else(|| format!("key column {index} of {} fields", fields.len()))?;
        primary_key.push(field.name().clone());
    }
    if !reader.bytes.is_empty() {
        return Err(format!("{} bytes after the definition", reader.bytes.len()));
    }
    Ok((id, name, fields, primary_key))
}

/// A durable counter's persisted form.
pub fn encode_counter(value: u64) -> Vec<u8> {
    [
        &COUNTER_FORMAT_VERSION.to_le_bytes()[..],
        &value.to_le_bytes()[..],
    ]
    .concat()
}

/// Reads a durable counter stored under catalog key `key`.
pub fn decode_counter(key: &[u8], bytes: &[u8]) -> Result<u64> {
    let corrupt = |reason: String| Error::Corrupt {
        what: "counter".to_owned(),
        key: hex(key),
        reason,
    };
    let (version, value) = bytes
        .split_first_chunk::<2>()
        .ok_or_else(|| corrupt(format!("{} bytes", bytes.len())))?;
    let version = u16::from_le_bytes(*version);
    if version != COUNTER_FORMAT_VERSION {
        return Err(Error::UnsupportedFormatVersion {
            what: format!("counter at key {}", hex(key)),
            version,
            supported: COUNTER_FORMAT_VERSION,
        });
    }
    let value: [u8; 8] = value
        .try_into()
        .map_err(|_| corrupt(format!("{} bytes", bytes.len())))?;
    Ok(u64::from_le_bytes(value))
}

fn put_len(out: &mut Vec<u8>, length: usize) -> Result<()> {
    let length = u16::try_from(length).map_err(|_| Error::Exhausted {
        what: "a catalog length (at most 65,535)",
    })?;
    out.extend_from_slice(&length.to_le_bytes());
    Ok(())
}

fn put_str(out: &mut Vec<u8>, text: &str) -> Result<()> {
    put_len(out, text.len())?;
    out.extend_from_slice(text.as_bytes());
    Ok(())
}

const TAG_INT8: u8 = 1;
const TAG_INT16: u8 = 2;
const TAG_INT32: u8 = 3;
const TAG_INT64: u8 = 4;
const TAG_UINT8: u8 = 5;
const TAG_UINT16: u8 = 6;
const TAG_UINT32: u8 = 7;
const TAG_UINT64: u8 = 8;
const TAG_FLOAT32: u8 = 9;
const TAG_FLOAT64: u8 = 10;
const TAG_DECIMAL128: u8 = 11;
const TAG_BOOLEAN: u8 = 12;
const TAG_UTF8: u8 = 13;
const TAG_LARGE_UTF8: u8 = 14;
const TAG_UTF8_VIEW: u8 = 15;
const TAG_BINARY: u8 = 16;
const TAG_LARGE_BINARY: u8 = 17;
const TAG_BINARY_VIEW: u8 = 18;
const TAG_DATE32: u8 = 19;
const TAG_DATE64: u8 = 20;
const TAG_TIMESTAMP: u8 = 21;

fn put_type(out: &mut Vec<u8>, column: &str, data_type: &DataType) -> Result<()> {
    let tag = match data_type {
        DataType::Int8 => TAG_INT8,
        DataType::Int16 => TAG_INT16,
        DataType::Int32 => TAG_INT32,
        DataType::Int64 => TAG_INT64,
        DataType::UInt8 => TAG_UINT8,
        DataType::UInt16 => TAG_UINT16,
        DataType::UInt32 => TAG_UINT32,
        DataType::UInt64 => TAG_UINT64,
        DataType::Float32 => TAG_FLOAT32,
        DataType::Float64 => TAG_FLOAT64,
        DataType::Decimal128(precision, scale) => {
            out.push(TAG_DECIMAL128);
            out.push(*precision);
            out.extend_from_slice(&scale.to_le_bytes());
            return Ok(());
        }
        DataType::Boolean => TAG_BOOLEAN,
        DataType::Utf8 => TAG_UTF8,
        DataType::LargeUtf8 => TAG_LARGE_UTF8,
        DataType::Utf8View => TAG_UTF8_VIEW,
        DataType::Binary => TAG_BINARY,
        DataType::LargeBinary => TAG_LARGE_BINARY,
        DataType::BinaryView => TAG_BINARY_VIEW,
        DataType::Date32 => TAG_DATE32,
        DataType::Date64 => TAG_DATE64,
        DataType::Timestamp(unit, timezone) => {
            out.push(TAG_TIMESTAMP);
            out.push(match unit {
                TimeUnit::Second => 0,
                TimeUnit::Millisecond => 1,
                TimeUnit::Microsecond => 2,
                TimeUnit::Nanosecond => 3,
            });
            match timezone {
                None => out.push(0),
                Some(timezone) => {
                    out.push(1);
                    put_str(out, timezone)?;
                }
            }
            return Ok(());
        }
        other => {
            return Err(Error::UnsupportedType {
                column: column.to_owned(),
                data_type: other.to_string(),
            });
        }
    };
    out.push(tag);
    Ok(())
}

fn read_string(reader: &mut ByteReader<'_>) -> std::result::Result<String, String> {
    let length = usize::from(reader.u16()?);
    let bytes = reader.take(length)?;
    String::from_utf8(bytes.to_vec()).map_err(|error| format!("name not UTF-8: {error}"))
}

fn read_data_type(reader: &mut ByteReader<'_>) -> std::result::Result<DataType, String> {
    Ok(match reader.byte()? {
        TAG_INT8 => DataType::Int8,
        TAG_INT16 => DataType::Int16,
        TAG_INT32 => DataType::Int32,
        TAG_INT64 => DataType::Int64,
        TAG_UINT8 => DataType::UInt8,
        TAG_UINT16 => DataType::UInt16,
        TAG_UINT32 => DataType::UInt32,
        TAG_UINT64 => DataType::UInt64,
        TAG_FLOAT32 => DataType::Float32,
        TAG_FLOAT64 => DataType::Float64,
        TAG_DECIMAL128 => {
            let precision = reader.byte()?;
            let scale = i8::from_le_bytes(reader.array()?);
            DataType::Decimal128(precision, scale)
        }
        TAG_BOOLEAN => DataType::Boolean,
        TAG_UTF8 => DataType::Utf8,
        TAG_LARGE_UTF8 => DataType::LargeUtf8,
        TAG_UTF8_VIEW => DataType::Utf8View,
        TAG_BINARY => DataType::Binary,
        TAG_LARGE_BINARY => DataType::LargeBinary,
        TAG_BINARY_VIEW => DataType::BinaryView,
        TAG_DATE32 => DataType::Date32,
        TAG_DATE64 => DataType::Date64,
        TAG_TIMESTAMP => {
            let unit = match reader.byte()? {
                0 => TimeUnit::Second,
                1 => TimeUnit::Millisecond,
                2 => TimeUnit::Microsecond,
                3 => TimeUnit::Nanosecond,
                other => return Err(format!("time unit {other}")),
            };
            let timezone = match reader.byte()? {
                0 => None,
                1 => Some(Arc::from(read_string(reader)?)),
                other => return Err(format!("time zone flag {other}")),
            };
            DataType::Timestamp(unit, timezone)
        }
        other => return Err(format!("type tag {other}")),
    })
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    /// A schema with every stored type, the subject of the golden file.
    fn every_type_schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("i8", DataType::Int8, false),
            Field::new("i16", DataType::Int16, true),
            Field::new("i32", DataType::Int32, true),
            Field::new("i64", DataType::Int64, false),
            Field::new("u8", DataType::UInt8, true),
            Field::new("u16", DataType::UInt16, true),
            Field::new("u32", DataType::UInt32, true),
            Field::new("u64", DataType::UInt64, true),
            Field::new("f32", DataType::Float32, true),
            Field::new("f64", DataType::Float64, true),
            Field::new("dec", DataType::Decimal128(15, -2), true),
            Field::new("bool", DataType::Boolean, true),
            Field::new("utf8", DataType::Utf8, false),
            Field::new("large_utf8", DataType::LargeUtf8, true),
            Field::new("utf8_view", DataType::Utf8View, true),
            Field::new("bin", DataType::Binary, true),
            Field::new("large_bin", DataType::LargeBinary, true),
            Field::new("bin_view", DataType::BinaryView, true),
            Field::new("d32", DataType::Date32, true),
            Field::new("d64", DataType::Date64, true),
            Field::new("ts", DataType::Timestamp(TimeUnit::Second, None), true),
            Field::new(
                "ts_tz",
                DataType::Timestamp(TimeUnit::Nanosecond, Some("Europe/Paris".into())),
                true,
            ),
        ]))
    }

    fn golden_path() -> PathBuf {
        crate::golden_file("catalog_table_v1.bin")
    }

    #[test]
    fn the_table_format_matches_its_golden_file() {
        let meta = TableMeta::new(
            7,
            "orders",
            every_type_schema(),
            &["utf8".to_owned(), "i64".to_owned()],
        )
        .unwrap();
        let bytes = meta.encode().unwrap();
        if std::env::var_os("TESSERA_BLESS").is_some() {
            std::fs::write(golden_path(), &bytes).unwrap();
        }
        let golden = std::fs::read(golden_path()).expect("golden file (TESSERA_BLESS=1 writes it)");
        assert_eq!(
            bytes, golden,
            "the table format v1 changed; bump the version instead"
        );
        // The start of the format, spelled out.
        assert_eq!(&golden[..6], &[1, 0, 7, 0, 0, 0]);
        assert_eq!(&golden[6..14], b"\x06\x00orders");
        let decoded = TableMeta::decode(b"table/orders", &golden).unwrap();
        assert_eq!(decoded, meta);
        assert_eq!(decoded.primary_key(), ["utf8", "i64"]);
    }

    #[test]
    fn definitions_are_validated() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("a", DataType::Int64, false),
            Field::new("b", DataType::Utf8, true),
        ]));
        let key = |names: &[&str]| {
            names
                .iter()
                .map(|name| name.to_string())
                .collect::<Vec<_>>()
        };
        assert!(matches!(
            TableMeta::new(1, "t", schema.clone(), &key(&["c"])),
            Err(Error::UnknownColumn { table, column }) if table == "t" && column == "c"
        ));
        assert!(matches!(
            TableMeta::new(1, "t", schema.clone(), &key(&["a", "a"])),
            Err(Error::DuplicateColumn { column, .. }) if column == "a"
        ));
        assert!(matches!(
            TableMeta::new(1, "t", schema.clone(), &[]),
            Err(Error::InvalidTable { .. })
        ));
        assert!(matches!(
            TableMeta::new(1, "", schema.clone(), &key(&["a"])),
            Err(Error::InvalidTable { .. })
        ));
        let unsupported = Arc::new(Schema::new(vec![
            Field::new("a", DataType::Int64, false),
            Field::new("t", DataType::Time32(TimeUnit::Second), true),
        ]));
        assert!(matches!(
            TableMeta::new(1, "t", unsupported.clone(), &key(&["t"])),
            Err(Error::UnsupportedKeyType { column, .. }) if column == "t"
        ));
        assert!(matches!(
            TableMeta::new(1, "t", unsupported, &key(&["a"])),
            Err(Error::UnsupportedType { column, .. }) if column == "t"
        ));
        let duplicate = Arc::new(Schema::new(vec![
            Field::new("a", DataType::Int64, false),
            Field::new("a", DataType::Utf8, true),
        ]));
        assert!(matches!(
            TableMeta::new(1, "t", duplicate, &key(&["a"])),
            Err(Error::DuplicateColumn { .. })
        ));
    }

    #[test]
    fn damaged_definitions_are_errors_not_panics() {
        let meta = TableMeta::new(3, "t", every_type_schema(), &["i8".to_owned()]).unwrap();
        let bytes = meta.encode().unwrap();
        for cut in 0..bytes.len() {
            assert!(
                TableMeta::decode(b"k", &bytes[..cut]).is_err(),
                "cut at {cut}"
            );
        }
        let mut future = bytes.clone();
        future[0] = 2;
        assert!(matches!(
            TableMeta::decode(b"k", &future),
            Err(Error::UnsupportedFormatVersion { version: 2, .. })
        ));
        for index in 0..bytes.len() {
            let mut flipped = bytes.clone();
            flipped[index] ^= 0xA5;
            let _ = TableMeta::decode(b"k", &flipped);
        }
    }

    #[test]
    fn counters_round_trip_and_check_their_version() {
        let bytes = encode_counter(0x0102_0304_0506_0708);
        assert_eq!(bytes, [1, 0, 8, 7, 6, 5, 4, 3, 2, 1]);
        assert_eq!(decode_counter(b"k", &bytes).unwrap(), 0x0102_0304_0506_0708);
        assert!(decode_counter(b"k", &bytes[..9]).is_err());
        assert!(matches!(
            decode_counter(b"k", &[9, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
            Err(Error::UnsupportedFormatVersion { version: 9, .. })
        ));
    }
}
