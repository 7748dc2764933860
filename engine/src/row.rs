//! The row format of `delta` values, and the moves between codec columns and rows.
//!
//! Why rows and not per-batch encoded blocks: a delta key names one version of one row
//! (table id ‖ primary key ‖ sequence), so upserts, deletes and "newest version wins" work
//! key by key. A value that pointed into a shared per-batch block would make every upsert or
//! delete of part of a batch a read-modify-write of that block, and a point read would decode
//! a whole block for one row. Delta is small and short-lived (compaction folds it into
//! encoded column blocks), so the row format optimizes for simple, checked, per-key writes.
//!
//! Format version 1, integers little-endian:
//!
//! ```text
//! u8   format version (1)
//! u8   kind: 0 = row, 1 = tombstone (nothing follows a tombstone)
//! u16  column count (must equal the table's)
//! per column, in table order: u8 tag, then the value
//!      0 null · 1 int: i64 · 2 float: f64 bits · 3 decimal: i128
//!      4 false · 5 true · 6 bytes: u32 length, then the bytes
//! ```
//!
//! Values are in the codec layer's physical domain (`UInt64` order-preserved, decimals
//! scaled), so decoded rows feed predicates ([`tessera_layout::Scalar`]) and codec columns
//! without conversion. Every tag is checked against the column's physical kind on decode.

use crate::bytes::ByteReader;
use arrow::array::ArrayRef;
use arrow::datatypes::DataType;
use tessera_codecs::{Column, ColumnValues, LogicalType, PhysicalKind};
use tessera_layout::Scalar;

use crate::columnar::column_to_array;
use crate::error::{Error, Result};
use crate::keys::ValueRef;

/// The row format version this build writes and the newest it reads.
pub const ROW_FORMAT_VERSION: u8 = 1;

const KIND_ROW: u8 = 0;
const KIND_TOMBSTONE: u8 = 1;

const TAG_NULL: u8 = 0;
const TAG_INT: u8 = 1;
const TAG_FLOAT: u8 = 2;
const TAG_DECIMAL: u8 = 3;
const TAG_FALSE: u8 = 4;
const TAG_TRUE: u8 = 5;
const TAG_BYTES: u8 = 6;

/// Value `row` of a codec column, or `None` when it is null (or past the end).
pub fn value_at(column: &Column, row: usize) -> Option<ValueRef<'_>> {
    if column.is_null(row) {
        return None;
    }
    match column.values() {
        ColumnValues::Int(values) => values.get(row).copied().map(ValueRef::Int),
        ColumnValues::Float(values) => values.get(row).copied().map(ValueRef::Float),
        ColumnValues::Decimal(values) => values.get(row).copied().map(ValueRef::Decimal),
        ColumnValues::Bool(values) => values.get(row).copied().map(ValueRef::Bool),
        ColumnValues::Bytes(values) => values.get(row).map(ValueRef::Bytes),
    }
}

/// The bytes of a tombstone.
pub fn encode_tombstone() -> Vec<u8> {
    vec![ROW_FORMAT_VERSION, KIND_TOMBSTONE]
}

/// Encodes row `row` of `columns` (the table's columns, in table order) into `out`.
pub fn encode_row(columns: &[Column], row: usize, out: &mut Vec<u8>) -> Result<()> {
    let count = u16::try_from(columns.len()).map_err(|_| Error::Exhausted {
        what: "columns of a row (at most 65,535)",
    })?;
    out.push(ROW_FORMAT_VERSION);
    out.push(KIND_ROW);
    out.extend_from_slice(&count.to_le_bytes());
    for column in columns {
        match value_at(column, row) {
            None => out.push(TAG_NULL),
            Some(ValueRef::Int(value)) => {
                out.push(TAG_INT);
                out.extend_from_slice(&value.to_le_bytes());
            }
            Some(ValueRef::Float(value)) => {
                out.push(TAG_FLOAT);
                out.extend_from_slice(&value.to_bits().to_le_bytes());
            }
            Some(ValueRef::Decimal(value)) => {
                out.push(TAG_DECIMAL);
                out.extend_from_slice(&value.to_le_bytes());
            }
            Some(ValueRef::Bool(value)) => out.push(if value { TAG_TRUE } else { TAG_FALSE }),
            Some(ValueRef::Bytes(bytes)) => {
                // A codec column's string data fits u32 offsets, so one value does too.
                let length = u32::try_from(bytes.len()).map_err(|_| Error::Exhausted {
                    what: "bytes of one value (at most 4 GiB)",
                })?;
                out.push(TAG_BYTES);
                out.extend_from_slice(&length.to_le_bytes());
                out.extend_from_slice(bytes);
            }
        }
    }
    Ok(())
}

/// A decoded delta value.
#[derive(Debug, Clone, PartialEq)]
pub enum RowValue {
    /// A live row: one value per table column (`None` = null).
    Row(Vec<Option<Scalar>>),
    /// The key was deleted.
    Tombstone,
}

/// Reads the header of a delta value of a table with `columns` columns: `Ok(false)` for a
/// tombstone (all of it read), `Ok(true)` for a row whose values follow.
fn read_header(reader: &mut ByteReader<'_>, columns: usize) -> std::result::Result<bool, String> {
    let version = reader.byte()?;
    if version != ROW_FORMAT_VERSION {
        return Err(format!(
            "row format version {version}, this build reads {ROW_FORMAT_VERSION}"
        ));
    }
    match reader.byte()? {
        KIND_TOMBSTONE if reader.bytes.is_empty() => return Ok(false),
        KIND_TOMBSTONE => return Err(format!("{} bytes after a tombstone", reader.bytes.len())),
        KIND_ROW => {}
        other => return Err(format!("row kind {other}")),
    }
    let count = u16::from_le_bytes(reader.array()?) as usize;
    if count != columns {
        return Err(format!("{count} columns, the table has {columns}"));
    }
    Ok(true)
}

/// Decodes a delta value of a table whose columns hold `kinds`. `Err` carries the reason;
/// the caller names the table and key.
pub fn decode_row(bytes: &[u8], kinds: &[PhysicalKind]) -> std::result::Result<RowValue, String> {
    let mut reader = ByteReader::new(bytes);
    if !read_header(&mut reader, kinds.len())? {
        return Ok(RowValue::Tombstone);
    }
    let count = kinds.len();
    let mut values = Vec::with_capacity(count);
    for (index, &kind) in kinds.iter().enumerate() {
        let tag = reader.byte()?;
        let value = match (tag, kind) {
            (TAG_NULL, _) => None,
            (TAG_INT, PhysicalKind::Int) => Some(Scalar::Int(i64::from_le_bytes(reader.array()?))),
            (TAG_FLOAT, PhysicalKind::Float) => Some(Scalar::Float(f64::from_bits(
                u64::from_le_bytes(reader.array()?),
            ))),
            (TAG_DECIMAL, PhysicalKind::Decimal) => {
                Some(Scalar::Decimal(i128::from_le_bytes(reader.array()?)))
            }
            (TAG_FALSE, PhysicalKind::Bool) => Some(Scalar::Bool(false)),
            (TAG_TRUE, PhysicalKind::Bool) => Some(Scalar::Bool(true)),
            (TAG_BYTES, PhysicalKind::Bytes) => {
                let length = u32::from_le_bytes(reader.array()?) as usize;
                Some(Scalar::Bytes(reader.take(length)?.to_vec()))
            }
            (tag, kind) => {
                return Err(format!(
                    "column {index} holds {kind:?} values, found tag {tag}"
                ));
            }
        };
        values.push(value);
    }
    if !reader.bytes.is_empty() {
        return Err(format!(
            "{} bytes after the last column",
            reader.bytes.len()
        ));
    }
    Ok(RowValue::Row(values))
}

/// Collects scalar values of one column and turns them into an Arrow array.
pub struct ColumnBuilder {
    name: String,
    logical: LogicalType,
    data_type: DataType,
    values: ColumnValues,
    validity: Vec<bool>,
    has_nulls: bool,
}

impl ColumnBuilder {
    /// A builder for the column `name` of Arrow type `data_type` stored as `logical`.
    pub fn new(name: &str, logical: LogicalType, data_type: DataType) -> Self {
        let values = ColumnValues::empty(logical.physical());
        Self {
            name: name.to_owned(),
            logical,
            data_type,
            values,
            validity: Vec::new(),
            has_nulls: false,
        }
    }

    /// Appends one value (`None` = null). A value of another kind than the column holds is
    /// an error naming the column.
    pub fn push(&mut self, value: Option<&Scalar>) -> Result<()> {
        let pushed = match (&mut self.values, value) {
            (ColumnValues::Int(values), None) => {
                values.push(0);
                true
            }
            (ColumnValues::Float(values), None) => {
                values.push(0.0);
                true
            }
            (ColumnValues::Decimal(values), None) => {
                values.push(0);
                true
            }
            (ColumnValues::Bool(values), None) => {
                values.push(false);
                true
            }
            (ColumnValues::Bytes(values), None) => {
                values.push(&[])?;
                true
            }
            (ColumnValues::Int(values), Some(Scalar::Int(value))) => {
                values.push(*value);
                true
            }
            (ColumnValues::Float(values), Some(Scalar::Float(value))) => {
                values.push(*value);
                true
            }
            (ColumnValues::Decimal(values), Some(Scalar::Decimal(value))) => {
                values.push(*value);
                true
            }
            (ColumnValues::Bool(values), Some(Scalar::Bool(value))) => {
                values.push(*value);
                true
            }
            (ColumnValues::Bytes(values), Some(Scalar::Bytes(value))) => {
                values.push(value)?;
                true
            }
            _ => false,
        };
        if !pushed {
            return Err(Error::TypeMismatch {
                logical: format!("{:?} column {:?}", self.logical, self.name),
                data_type: format!("{value:?}"),
            });
        }
        self.validity.push(value.is_some());
        self.has_nulls |= value.is_none();
        Ok(())
    }

    /// Number of values pushed.
    pub fn len(&self) -> usize {
        self.validity.len()
    }

    /// Whether nothing was pushed.
    pub fn is_empty(&self) -> bool {
        self.validity.is_empty()
    }

    /// Builds the Arrow array of the values pushed so far and empties the builder.
    pub fn finish(&mut self) -> Result<ArrayRef> {
        let column = self.finish_column()?;
        column_to_array(&column, &self.data_type)
    }

    /// Builds the codec column of the values pushed so far and empties the builder.
    pub fn finish_column(&mut self) -> Result<Column> {
        let values = std::mem::replace(
            &mut self.values,
            ColumnValues::empty(self.logical.physical()),
        );
        let validity = std::mem::take(&mut self.validity);
        let validity = std::mem::take(&mut self.has_nulls).then_some(validity);
        Ok(Column::new(self.logical.clone(), values, validity)?)
    }
}

/// Decodes a delta value straight into one builder per table column, without building
/// scalars. Returns `Ok(false)` for a tombstone (nothing pushed). On error some builders
/// may hold one value more than others; the caller discards them.
pub fn decode_row_into(
    bytes: &[u8],
    builders: &mut [ColumnBuilder],
) -> std::result::Result<bool, String> {
    let mut reader = ByteReader::new(bytes);
    if !read_header(&mut reader, builders.len())? {
        return Ok(false);
    }
    for (index, builder) in builders.iter_mut().enumerate() {
        let tag = reader.byte()?;
        let pushed = match (tag, &mut builder.values) {
            (TAG_NULL, values) => {
                match values {
                    ColumnValues::Int(values) => values.push(0),
                    ColumnValues::Float(values) => values.push(0.0),
                    ColumnValues::Decimal(values) => values.push(0),
                    ColumnValues::Bool(values) => values.push(false),
                    ColumnValues::Bytes(values) => {
                        values.push(&[]).map_err(|error| error.to_string())?;
                    }
                }
                builder.validity.push(false);
                builder.has_nulls = true;
                continue;
            }
            (TAG_INT, ColumnValues::Int(values)) => {
                values.push(i64::from_le_bytes(reader.array()?));
                true
            }
            (TAG_FLOAT, ColumnValues::Float(values)) => {
                values.push(f64::from_bits(u64::from_le_bytes(reader.array()?)));
                true
            }
            (TAG_DECIMAL, ColumnValues::Decimal(values)) => {
                values.push(i128::from_le_bytes(reader.array()?));
                true
            }
            (TAG_FALSE | TAG_TRUE, ColumnValues::Bool(values)) => {
                values.push(tag == TAG_TRUE);
                true
            }
            (TAG_BYTES, ColumnValues::Bytes(values)) => {
                let length = u32::from_le_bytes(reader.array()?) as usize;
                values
                    .push(reader.take(length)?)
                    .map_err(|error| error.to_string())?;
                true
            }
            _ => false,
        };
        if !pushed {
            return Err(format!(
                "column {index} holds {:?} values, found tag {tag}",
                builder.logical.physical()
            ));
        }
        builder.validity.push(true);
    }
    if !reader.bytes.is_empty() {
        return Err(format!(
            "{} bytes after the last column",
            reader.bytes.len()
        ));
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use arrow::array::{Array, Int32Array, StringArray};

    use tessera_codecs::BytesColumn;

    use super::*;

    fn bytes(values: &[&[u8]]) -> BytesColumn {
        BytesColumn::from_values(values.iter().copied()).unwrap()
    }

    fn sample_columns() -> Vec<Column> {
        vec![
            Column::new(
                LogicalType::Int32,
                ColumnValues::Int(vec![-7, 0]),
                Some(vec![true, false]),
            )
            .unwrap(),
            Column::new(
                LogicalType::Float64,
                ColumnValues::Float(vec![1.5, f64::NAN]),
                None,
            )
            .unwrap(),
            Column::new(
                LogicalType::Decimal128 {
                    precision: 10,
                    scale: 2,
                },
                ColumnValues::Decimal(vec![-12_345, 0]),
                None,
            )
            .unwrap(),
            Column::new(
                LogicalType::Boolean,
                ColumnValues::Bool(vec![true, false]),
                None,
            )
            .unwrap(),
            Column::new(
                LogicalType::Utf8,
                ColumnValues::Bytes(bytes(&[b"hi", b""])),
                None,
            )
            .unwrap(),
        ]
    }

    fn kinds(columns: &[Column]) -> Vec<PhysicalKind> {
        columns
            .iter()
            .map(|column| column.logical().physical())
            .collect()
    }

    #[test]
    fn rows_round_trip_with_nulls() {
        let columns = sample_columns();
        let mut out = Vec::new();
        encode_row(&columns, 0, &mut out).unwrap();
        assert_eq!(
            decode_row(&out, &kinds(&columns)).unwrap(),
            RowValue::Row(vec![
                Some(Scalar::Int(-7)),
                Some(Scalar::Float(1.5)),
                Some(Scalar::Decimal(-12_345)),
                Some(Scalar::Bool(true)),
                Some(Scalar::Bytes(b"hi".to_vec())),
            ])
        );
        out.clear();
        encode_row(&columns, 1, &mut out).unwrap();
        let RowValue::Row(values) = decode_row(&out, &kinds(&columns)).unwrap() else {
            panic!("a row");
        };
        assert_eq!(values[0], None);
        assert!(matches!(values[1], Some(Scalar::Float(value)) if value.is_nan()));
        assert_eq!(values[4], Some(Scalar::Bytes(Vec::new())));
    }

    #[test]
    fn the_row_format_is_pinned() {
        // Golden bytes of format version 1: changing them needs a new version.
        let columns = sample_columns();
        let mut out = Vec::new();
        encode_row(&columns, 0, &mut out).unwrap();
        let expected: Vec<u8> = [
            &[1u8, 0, 5, 0][..],
            &[1, 0xF9, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF],
            &[2, 0, 0, 0, 0, 0, 0, 0xF8, 0x3F],
            &[3, 0xC7, 0xCF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF],
            &[0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF],
            &[5],
            &[6, 2, 0, 0, 0, b'h', b'i'],
        ]
        .concat();
        assert_eq!(out, expected);
        assert_eq!(encode_tombstone(), [1, 1]);
        assert_eq!(decode_row(&[1, 1], &[]).unwrap(), RowValue::Tombstone);
    }

    #[test]
    fn malformed_rows_are_errors_not_panics() {
        let columns = sample_columns();
        let kinds = kinds(&columns);
        let mut out = Vec::new();
        encode_row(&columns, 0, &mut out).unwrap();
        for cut in 0..out.len() {
            assert!(decode_row(&out[..cut], &kinds).is_err(), "cut at {cut}");
        }
        let mut trailing = out.clone();
        trailing.push(0);
        assert!(decode_row(&trailing, &kinds).is_err());
        let mut wrong_version = out.clone();
        wrong_version[0] = 2;
        assert!(
            decode_row(&wrong_version, &kinds)
                .unwrap_err()
                .contains("version 2")
        );
        assert!(decode_row(&out, &kinds[1..]).is_err(), "column count");
        let mut swapped = kinds.clone();
        swapped.swap(0, 1);
        assert!(decode_row(&out, &swapped).is_err(), "tag of another kind");
        assert!(
            decode_row(&[1, 1, 0], &kinds).is_err(),
            "bytes after a tombstone"
        );
        assert!(decode_row(&[1, 9], &kinds).is_err(), "unknown kind");
    }

    #[test]
    fn builders_make_arrow_arrays_of_the_table_type() {
        let mut ints = ColumnBuilder::new("a", LogicalType::Int32, DataType::Int32);
        ints.push(Some(&Scalar::Int(3))).unwrap();
        ints.push(None).unwrap();
        assert_eq!(ints.len(), 2);
        let array = ints.finish().unwrap();
        assert_eq!(
            array.to_data(),
            Int32Array::from(vec![Some(3), None]).to_data()
        );
        assert!(ints.is_empty());
        let mut strings = ColumnBuilder::new("s", LogicalType::Utf8, DataType::Utf8);
        strings.push(Some(&Scalar::Bytes(b"x".to_vec()))).unwrap();
        let array = strings.finish().unwrap();
        assert_eq!(array.to_data(), StringArray::from(vec!["x"]).to_data());
        assert!(array.nulls().is_none());
        let error = strings.push(Some(&Scalar::Int(1))).unwrap_err();
        assert!(error.to_string().contains("\"s\""), "{error}");
    }
}
