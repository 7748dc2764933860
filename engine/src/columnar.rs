//! Conversion between Arrow arrays and the codec layer's typed columns ([`Column`]).
//!
//! It sits on the write path (Arrow batches into blocks) and on the scan path (decoded blocks
//! back into Arrow batches), so it moves whole buffers: primitive values are widened or
//! narrowed in one pass over a slice into a `Vec` that Arrow then owns, strings are copied as
//! one byte buffer plus rebased offsets, and no value goes through a builder one push at a
//! time. Several Arrow types share one logical type (`Utf8`, `LargeUtf8` and `Utf8View` are
//! all [`LogicalType::Utf8`]), so [`column_to_array`] takes the Arrow type to rebuild, which
//! the caller knows from the table schema.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, ArrowPrimitiveType, BooleanArray, GenericByteArray, GenericByteViewArray,
    OffsetSizeTrait, PrimitiveArray, builder::make_view,
};
use arrow::buffer::{BooleanBuffer, Buffer, NullBuffer, OffsetBuffer, ScalarBuffer};
use arrow::datatypes::{
    ArrowNativeType, BinaryType, BinaryViewType, ByteArrayType, ByteViewType, DataType, Date32Type,
    Date64Type, Decimal128Type, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type,
    Int64Type, LargeBinaryType, LargeUtf8Type, StringViewType, TimeUnit as ArrowTimeUnit,
    TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType,
    TimestampSecondType, UInt8Type, UInt16Type, UInt32Type, UInt64Type, Utf8Type,
};
use tessera_codecs::types::{ordered_i64_to_u64, u64_to_ordered_i64};
use tessera_codecs::{BytesColumn, Column, ColumnValues, LogicalType, Picked, TimeUnit};

use crate::error::{Error, Result};
use crate::offsets::Offsets;

/// The logical type an Arrow type is stored as, or `None` when Tessera cannot store it.
pub fn logical_type_of(data_type: &DataType) -> Option<LogicalType> {
    Some(match data_type {
        DataType::Int8 => LogicalType::Int8,
        DataType::Int16 => LogicalType::Int16,
        DataType::Int32 => LogicalType::Int32,
        DataType::Int64 => LogicalType::Int64,
        DataType::UInt8 => LogicalType::UInt8,
        DataType::UInt16 => LogicalType::UInt16,
        DataType::UInt32 => LogicalType::UInt32,
        DataType::UInt64 => LogicalType::UInt64,
        DataType::Float32 => LogicalType::Float32,
        DataType::Float64 => LogicalType::Float64,
        DataType::Decimal128(precision, scale) => LogicalType::Decimal128 {
            precision: *precision,
            scale: *scale,
        },
        DataType::Boolean => LogicalType::Boolean,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => LogicalType::Utf8,
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView => LogicalType::Binary,
        DataType::Date32 => LogicalType::Date32,
        DataType::Date64 => LogicalType::Date64,
        DataType::Timestamp(unit, timezone) => LogicalType::Timestamp {
            unit: match unit {
                ArrowTimeUnit::Second => TimeUnit::Second,
                ArrowTimeUnit::Millisecond => TimeUnit::Millisecond,
                ArrowTimeUnit::Microsecond => TimeUnit::Microsecond,
                ArrowTimeUnit::Nanosecond => TimeUnit::Nanosecond,
            },
            timezone: timezone.as_deref().map(str::to_owned),
        },
        _ => return None,
    })
}

/// The logical type the Arrow column `column` of type `data_type` is stored as.
pub fn logical_type(column: &str, data_type: &DataType) -> Result<LogicalType> {
    logical_type_of(data_type).ok_or_else(|| unsupported(column, data_type))
}

/// The Arrow type a logical type reads back as when the schema does not say otherwise: the
/// 32-bit-offset string and binary types.
pub fn default_arrow_type(logical: &LogicalType) -> DataType {
    match logical {
        LogicalType::Int8 => DataType::Int8,
        LogicalType::Int16 => DataType::Int16,
        LogicalType::Int32 => DataType::Int32,
        LogicalType::Int64 => DataType::Int64,
        LogicalType::UInt8 => DataType::UInt8,
        LogicalType::UInt16 => DataType::UInt16,
        LogicalType::UInt32 => DataType::UInt32,
        LogicalType::UInt64 => DataType::UInt64,
        LogicalType::Float32 => DataType::Float32,
        LogicalType::Float64 => DataType::Float64,
        LogicalType::Decimal128 { precision, scale } => DataType::Decimal128(*precision, *scale),
        LogicalType::Boolean => DataType::Boolean,
        LogicalType::Utf8 => DataType::Utf8,
        LogicalType::Binary => DataType::Binary,
        LogicalType::Date32 => DataType::Date32,
        LogicalType::Date64 => DataType::Date64,
        LogicalType::Timestamp { unit, timezone } => DataType::Timestamp(
            match unit {
                TimeUnit::Second => ArrowTimeUnit::Second,
                TimeUnit::Millisecond => ArrowTimeUnit::Millisecond,
                TimeUnit::Microsecond => ArrowTimeUnit::Microsecond,
                TimeUnit::Nanosecond => ArrowTimeUnit::Nanosecond,
            },
            timezone.as_deref().map(Arc::from),
        ),
    }
}

fn unsupported(column: &str, data_type: &DataType) -> Error {
    Error::UnsupportedType {
        column: column.to_owned(),
        data_type: data_type.to_string(),
    }
}

/// Converts the Arrow array `array` (the column named `name`, used in errors) into a codec
/// column. Values under nulls are kept, except decimals, whose values under nulls become 0
/// (Arrow leaves them undefined, and the codec layer checks every decimal's digits).
pub fn column_from_array(name: &str, array: &dyn Array) -> Result<Column> {
    let logical = logical_type(name, array.data_type())?;
    let validity = array
        .nulls()
        .filter(|nulls| nulls.null_count() > 0)
        .map(|nulls| nulls.iter().collect::<Vec<bool>>());
    let values = match array.data_type() {
        DataType::Int8 => ColumnValues::Int(convert::<Int8Type, i64>(name, array)?),
        DataType::Int16 => ColumnValues::Int(convert::<Int16Type, i64>(name, array)?),
        DataType::Int32 => ColumnValues::Int(convert::<Int32Type, i64>(name, array)?),
        DataType::Int64 => ColumnValues::Int(primitive::<Int64Type>(name, array)?.to_vec()),
        DataType::UInt8 => ColumnValues::Int(convert::<UInt8Type, i64>(name, array)?),
        DataType::UInt16 => ColumnValues::Int(convert::<UInt16Type, i64>(name, array)?),
        DataType::UInt32 => ColumnValues::Int(convert::<UInt32Type, i64>(name, array)?),
        DataType::UInt64 => ColumnValues::Int(
            primitive::<UInt64Type>(name, array)?
                .iter()
                .map(|&value| u64_to_ordered_i64(value))
                .collect(),
        ),
        DataType::Float32 => ColumnValues::Float(convert::<Float32Type, f64>(name, array)?),
        DataType::Float64 => ColumnValues::Float(primitive::<Float64Type>(name, array)?.to_vec()),
        DataType::Decimal128(..) => {
            let mut decimals = primitive::<Decimal128Type>(name, array)?.to_vec();
            if let Some(validity) = &validity {
                for (value, &valid) in decimals.iter_mut().zip(validity) {
                    if !valid {
                        *value = 0;
                    }
                }
            }
            ColumnValues::Decimal(decimals)
        }
        DataType::Boolean => {
            let booleans = downcast::<BooleanArray>(name, array)?;
            ColumnValues::Bool(booleans.values().iter().collect())
        }
        DataType::Utf8 => ColumnValues::Bytes(bytes_from_offsets::<Utf8Type>(name, array)?),
        DataType::LargeUtf8 => {
            ColumnValues::Bytes(bytes_from_offsets::<LargeUtf8Type>(name, array)?)
        }
        DataType::Binary => ColumnValues::Bytes(bytes_from_offsets::<BinaryType>(name, array)?),
        DataType::LargeBinary => {
            ColumnValues::Bytes(bytes_from_offsets::<LargeBinaryType>(name, array)?)
        }
        DataType::Utf8View => ColumnValues::Bytes(bytes_from_views::<StringViewType>(name, array)?),
        DataType::BinaryView => {
            ColumnValues::Bytes(bytes_from_views::<BinaryViewType>(name, array)?)
        }
        DataType::Date32 => ColumnValues::Int(convert::<Date32Type, i64>(name, array)?),
        DataType::Date64 => ColumnValues::Int(primitive::<Date64Type>(name, array)?.to_vec()),
        DataType::Timestamp(unit, _) => ColumnValues::Int(
            match unit {
                ArrowTimeUnit::Second => primitive::<TimestampSecondType>(name, array)?,
                ArrowTimeUnit::Millisecond => primitive::<TimestampMillisecondType>(name, array)?,
                ArrowTimeUnit::Microsecond => primitive::<TimestampMicrosecondType>(name, array)?,
                ArrowTimeUnit::Nanosecond => primitive::<TimestampNanosecondType>(name, array)?,
            }
            .to_vec(),
        ),
        other => return Err(unsupported(name, other)),
    };
    Ok(Column::new(logical, values, validity)?)
}

/// The concrete array behind `array`; an array whose Rust type does not match its data type
/// counts as unsupported.
fn downcast<'a, A: Array + 'static>(name: &str, array: &'a dyn Array) -> Result<&'a A> {
    array
        .as_any()
        .downcast_ref::<A>()
        .ok_or_else(|| unsupported(name, array.data_type()))
}

/// The values of a primitive array (under nulls too), as a slice of its native type.
fn primitive<'a, T: ArrowPrimitiveType>(
    name: &str,
    array: &'a dyn Array,
) -> Result<&'a [T::Native]> {
    Ok(downcast::<PrimitiveArray<T>>(name, array)?.values())
}

/// The values of a primitive array widened to `U` in one pass.
fn convert<T: ArrowPrimitiveType, U>(name: &str, array: &dyn Array) -> Result<Vec<U>>
where
    T::Native: Into<U>,
{
    Ok(primitive::<T>(name, array)?
        .iter()
        .map(|&value| value.into())
        .collect())
}

/// Strings or binary with offsets: copies the bytes the (possibly sliced) array spans and
/// rebases its offsets to start at zero.
fn bytes_from_offsets<T: ByteArrayType>(name: &str, array: &dyn Array) -> Result<BytesColumn> {
    let array = downcast::<GenericByteArray<T>>(name, array)?;
    let offsets = array.value_offsets();
    let (Some(first), Some(last)) = (offsets.first(), offsets.last()) else {
        return Ok(BytesColumn::default());
    };
    let (first, last) = (first.as_usize(), last.as_usize());
    let data = array.values().get(first..last).ok_or_else(|| {
        arrow::error::ArrowError::InvalidArgumentError(format!(
            "column {name:?}: offsets {first}..{last} outside {} value bytes",
            array.values().len()
        ))
    })?;
    check_fits_u32(name, data.len())?;
    // `first <= offset <= last` and `last - first` fits u32 for every offset of a valid array;
    // an invalid one yields `None` here rather than a wrapped offset.
    let rebased: Option<Vec<u32>> = offsets
        .iter()
        .map(|offset| {
            offset
                .as_usize()
                .checked_sub(first)
                .and_then(|offset| u32::try_from(offset).ok())
        })
        .collect();
    let rebased = rebased.ok_or_else(|| {
        arrow::error::ArrowError::InvalidArgumentError(format!(
            "column {name:?}: offsets are not within {first}..={last}"
        ))
    })?;
    Ok(BytesColumn::new(rebased, data.to_vec())?)
}

/// Strings or binary held as views: gathers every value's bytes into one buffer.
fn bytes_from_views<T: ByteViewType + ?Sized>(
    name: &str,
    array: &dyn Array,
) -> Result<BytesColumn> {
    let array = downcast::<GenericByteViewArray<T>>(name, array)?;
    let total: u64 = array.lengths().map(u64::from).sum();
    let total = usize::try_from(total).unwrap_or(usize::MAX);
    check_fits_u32(name, total)?;
    let mut offsets = Vec::with_capacity(array.len() + 1);
    let mut data = Vec::with_capacity(total);
    offsets.push(0u32);
    for value in array.bytes_iter() {
        data.extend_from_slice(value);
        // `data` never exceeds `total`, checked above to fit u32.
        offsets.push(data.len() as u32);
    }
    Ok(BytesColumn::new(offsets, data)?)
}

fn check_fits_u32(name: &str, data_bytes: usize) -> Result<()> {
    if data_bytes > u32::MAX as usize {
        return Err(Error::ColumnTooLarge {
            column: name.to_owned(),
            what: "string data",
            actual: data_bytes as u64,
            limit: u64::from(u32::MAX),
        });
    }
    Ok(())
}

/// Converts a codec column into an Arrow array of `data_type`, which must be one of the Arrow
/// types the column's logical type is stored from (for a `Utf8` column: `Utf8`, `LargeUtf8` or
/// `Utf8View`; for a timestamp: the same unit and time zone).
pub fn column_to_array(column: &Column, data_type: &DataType) -> Result<ArrayRef> {
    to_array(column, None, data_type)
}

/// [`column_to_array`] of the rows `rows` (in this order) of `column`: fixed-width values are
/// gathered straight into the array's buffer, and strings and binaries into theirs, without an
/// intermediate column; booleans and views go through [`Column::take`]. A row past the end is
/// an error.
pub fn rows_to_array(column: &Column, rows: &[u32], data_type: &DataType) -> Result<ArrayRef> {
    let picked = Picked::check(rows, column.len())?;
    to_array(column, Some((&picked, None)), data_type)
}

/// [`rows_to_array`] of rows checked once for the several columns of a block: `picked` must
/// have been checked against a length no larger than the column's.
pub(crate) fn picked_to_array(
    column: &Column,
    offsets: Option<&Offsets>,
    picked: &Picked<'_>,
    data_type: &DataType,
) -> Result<ArrayRef> {
    to_array(column, Some((picked, offsets)), data_type)
}

/// The conversion behind [`column_to_array`] and [`rows_to_array`]; `picking` (rows checked
/// against the column, and the column's offsets if it has them) picks rows of fixed-width
/// columns only, from the offsets where there are some.
fn to_array(
    column: &Column,
    picking: Option<(&Picked<'_>, Option<&Offsets>)>,
    data_type: &DataType,
) -> Result<ArrayRef> {
    let rows = picking.map(|(rows, _)| rows);
    let offsets = picking.and_then(|(_, offsets)| offsets);
    // Booleans and views go through a picked column; offsets-and-bytes arrays are built
    // from the picked rows directly, below.
    if let Some(rows) = rows
        && (matches!(column.values(), ColumnValues::Bool(_))
            || matches!(data_type, DataType::Utf8View | DataType::BinaryView))
    {
        return to_array(&column.take_picked(rows)?, None, data_type);
    }
    if logical_type_of(data_type).as_ref() != Some(column.logical()) {
        return Err(mismatch(column, data_type));
    }
    let nulls = column
        .validity()
        .map(|valid| match rows {
            None => NullBuffer::from(valid),
            Some(rows) => NullBuffer::from(rows.map(valid, |valid| valid)),
        })
        .filter(|nulls| nulls.null_count() > 0);
    // Integer-held values are within the logical type's range (a `Column` invariant), so the
    // narrowing casts below are exact.
    macro_rules! ints {
        ($ints:expr, $arrow:ty, $cast:expr) => {
            primitive_array::<$arrow>(pick_ints($ints, offsets, rows, $cast), nulls)?
        };
    }
    let array: ArrayRef = match (column.values(), data_type) {
        (ColumnValues::Int(ints), DataType::Int8) => ints!(ints, Int8Type, |value| value as i8),
        (ColumnValues::Int(ints), DataType::Int16) => ints!(ints, Int16Type, |value| value as i16),
        (ColumnValues::Int(ints), DataType::Int32) => ints!(ints, Int32Type, |value| value as i32),
        (ColumnValues::Int(ints), DataType::Int64) => ints!(ints, Int64Type, |value| value),
        (ColumnValues::Int(ints), DataType::UInt8) => ints!(ints, UInt8Type, |value| value as u8),
        (ColumnValues::Int(ints), DataType::UInt16) => {
            ints!(ints, UInt16Type, |value| value as u16)
        }
        (ColumnValues::Int(ints), DataType::UInt32) => {
            ints!(ints, UInt32Type, |value| value as u32)
        }
        (ColumnValues::Int(ints), DataType::UInt64) => ints!(ints, UInt64Type, ordered_i64_to_u64),
        (ColumnValues::Int(ints), DataType::Date32) => {
            ints!(ints, Date32Type, |value| value as i32)
        }
        (ColumnValues::Int(ints), DataType::Date64) => ints!(ints, Date64Type, |value| value),
        (ColumnValues::Int(ints), DataType::Timestamp(unit, timezone)) => {
            let values = ScalarBuffer::from(pick_ints(ints, offsets, rows, |value| value));
            let timezone = timezone.clone();
            match unit {
                ArrowTimeUnit::Second => Arc::new(
                    PrimitiveArray::<TimestampSecondType>::try_new(values, nulls)?
                        .with_timezone_opt(timezone),
                ),
                ArrowTimeUnit::Millisecond => Arc::new(
                    PrimitiveArray::<TimestampMillisecondType>::try_new(values, nulls)?
                        .with_timezone_opt(timezone),
                ),
                ArrowTimeUnit::Microsecond => Arc::new(
                    PrimitiveArray::<TimestampMicrosecondType>::try_new(values, nulls)?
                        .with_timezone_opt(timezone),
                ),
                ArrowTimeUnit::Nanosecond => Arc::new(
                    PrimitiveArray::<TimestampNanosecondType>::try_new(values, nulls)?
                        .with_timezone_opt(timezone),
                ),
            }
        }
        (ColumnValues::Float(floats), DataType::Float32) => {
            // f32 columns are held as exact f64 widenings, so this cast is exact.
            primitive_array::<Float32Type>(narrow(floats, rows, |value| value as f32), nulls)?
        }
        (ColumnValues::Float(floats), DataType::Float64) => {
            primitive_array::<Float64Type>(narrow(floats, rows, |value| value), nulls)?
        }
        (ColumnValues::Decimal(decimals), DataType::Decimal128(precision, scale)) => Arc::new(
            PrimitiveArray::<Decimal128Type>::try_new(
                ScalarBuffer::from(pick_decimals(decimals, offsets, rows)),
                nulls,
            )?
            .with_precision_and_scale(*precision, *scale)?,
        ),
        (ColumnValues::Bool(booleans), DataType::Boolean) => Arc::new(BooleanArray::new(
            BooleanBuffer::from(booleans.as_slice()),
            nulls,
        )),
        (ColumnValues::Bytes(bytes), DataType::Utf8) => {
            byte_array::<Utf8Type>(bytes, rows, nulls, data_type)?
        }
        (ColumnValues::Bytes(bytes), DataType::LargeUtf8) => {
            byte_array::<LargeUtf8Type>(bytes, rows, nulls, data_type)?
        }
        (ColumnValues::Bytes(bytes), DataType::Binary) => {
            byte_array::<BinaryType>(bytes, rows, nulls, data_type)?
        }
        (ColumnValues::Bytes(bytes), DataType::LargeBinary) => {
            byte_array::<LargeBinaryType>(bytes, rows, nulls, data_type)?
        }
        (ColumnValues::Bytes(bytes), DataType::Utf8View) => {
            byte_view_array::<StringViewType>(bytes, nulls)?
        }
        (ColumnValues::Bytes(bytes), DataType::BinaryView) => {
            byte_view_array::<BinaryViewType>(bytes, nulls)?
        }
        _ => return Err(mismatch(column, data_type)),
    };
    Ok(array)
}

fn mismatch(column: &Column, data_type: &DataType) -> Error {
    Error::TypeMismatch {
        logical: format!("{:?}", column.logical()),
        data_type: data_type.to_string(),
    }
}

/// `cast` of every value, or of the values `rows` picks.
fn narrow<T: Copy + Default, N>(
    values: &[T],
    rows: Option<&Picked<'_>>,
    cast: impl Fn(T) -> N,
) -> Vec<N> {
    match rows {
        None => values.iter().map(|&value| cast(value)).collect(),
        Some(rows) => rows.map(values, cast),
    }
}

/// [`narrow`] for integers: picked rows come from the offsets when there are some.
fn pick_ints<N>(
    ints: &[i64],
    offsets: Option<&Offsets>,
    rows: Option<&Picked<'_>>,
    cast: impl Fn(i64) -> N,
) -> Vec<N> {
    match (offsets, rows) {
        (Some(offsets), Some(rows)) => offsets.pick_ints(rows, cast),
        _ => narrow(ints, rows, cast),
    }
}

/// [`narrow`] for decimals: picked rows come from the offsets when there are some.
fn pick_decimals(
    decimals: &[i128],
    offsets: Option<&Offsets>,
    rows: Option<&Picked<'_>>,
) -> Vec<i128> {
    match (offsets, rows) {
        (Some(offsets), Some(rows)) => offsets.pick(rows, |value| value),
        _ => narrow(decimals, rows, |value| value),
    }
}

fn primitive_array<T: ArrowPrimitiveType>(
    values: Vec<T::Native>,
    nulls: Option<NullBuffer>,
) -> Result<ArrayRef> {
    Ok(Arc::new(PrimitiveArray::<T>::try_new(
        ScalarBuffer::from(values),
        nulls,
    )?))
}

/// An offsets-and-bytes array of every value, or of the values `rows` picks, built in one
/// pass into the buffers Arrow then owns: contiguous rows copy as one slice with their
/// offsets rebased, other rows one value at a time. A row outside the column (which only a
/// caller breaking [`Picked`]'s contract passes) reads as an empty value. Fails when the
/// values do not fit the type's offsets.
fn byte_array<T: ByteArrayType>(
    bytes: &BytesColumn,
    rows: Option<&Picked<'_>>,
    nulls: Option<NullBuffer>,
    data_type: &DataType,
) -> Result<ArrayRef> {
    let (offsets_in, data_in) = (bytes.offsets(), bytes.data());
    // The bytes of the values `range` spans within the column, and their offsets.
    let span = |range: std::ops::Range<usize>| {
        let end = range.end.min(bytes.len());
        let offsets = offsets_in
            .get(range.start.min(end)..end + 1)
            .filter(|offsets| offsets.len() > 1)
            .unwrap_or_default();
        let (first, last) = (
            offsets.first().map_or(0, |&first| first as usize),
            offsets.last().map_or(0, |&last| last as usize),
        );
        (data_in.get(first..last).unwrap_or_default(), offsets, first)
    };
    let all = 0..bytes.len();
    let ranges: &[std::ops::Range<usize>] = match rows {
        None => std::slice::from_ref(&all),
        Some(Picked::Run(range)) => std::slice::from_ref(range),
        Some(Picked::Ranges(ranges) | Picked::Runs { runs: ranges, .. }) => ranges,
        Some(Picked::Rows(_)) => &[],
    };
    let listed = match rows {
        Some(Picked::Rows(rows)) => *rows,
        _ => &[],
    };
    let total = ranges
        .iter()
        .map(|range| span(range.clone()).0.len())
        .chain(
            listed
                .iter()
                .map(|&row| bytes.get(row as usize).map_or(0, <[u8]>::len)),
        )
        .sum::<usize>();
    let limit = T::Offset::MAX_OFFSET;
    if total > limit {
        return Err(Error::TooLargeForType {
            data_type: data_type.to_string(),
            actual: total as u64,
            limit: limit as u64,
        });
    }
    // Every offset below is at most `total`, checked to fit `T::Offset`; they start at zero
    // and never decrease, which `OffsetBuffer::new` requires.
    let mut offsets: Vec<T::Offset> = Vec::with_capacity(rows.map_or(bytes.len(), Picked::len) + 1);
    offsets.push(T::Offset::usize_as(0));
    let mut data: Vec<u8> = Vec::with_capacity(total);
    for range in ranges {
        let (values, range_offsets, first) = span(range.clone());
        let base = data.len();
        data.extend_from_slice(values);
        offsets.extend(
            range_offsets
                .get(1..)
                .unwrap_or_default()
                .iter()
                .map(|&offset| T::Offset::usize_as(base + (offset as usize).saturating_sub(first))),
        );
        // Rows past the column's end read as empty values.
        let missing = range
            .len()
            .saturating_sub(range_offsets.len().saturating_sub(1));
        offsets.extend(std::iter::repeat_n(
            T::Offset::usize_as(data.len()),
            missing,
        ));
    }
    for &row in listed {
        data.extend_from_slice(bytes.get(row as usize).unwrap_or_default());
        offsets.push(T::Offset::usize_as(data.len()));
    }
    Ok(Arc::new(GenericByteArray::<T>::try_new(
        OffsetBuffer::new(ScalarBuffer::from(offsets)),
        Buffer::from_vec(data),
        nulls,
    )?))
}

/// A view array over one data buffer holding every value longer than a view inlines.
fn byte_view_array<T: ByteViewType + ?Sized>(
    bytes: &BytesColumn,
    nulls: Option<NullBuffer>,
) -> Result<ArrayRef> {
    const INLINE_BYTES_MAX: usize = 12;
    let mut views = Vec::with_capacity(bytes.len());
    let mut needs_buffer = false;
    for (value, &offset) in bytes.iter().zip(bytes.offsets()) {
        needs_buffer |= value.len() > INLINE_BYTES_MAX;
        views.push(make_view(value, 0, offset));
    }
    let buffers = if needs_buffer {
        vec![Buffer::from_slice_ref(bytes.data())]
    } else {
        Vec::new()
    };
    Ok(Arc::new(GenericByteViewArray::<T>::try_new(
        ScalarBuffer::from(views),
        buffers,
        nulls,
    )?))
}

#[cfg(test)]
mod tests {
    use arrow::array::{
        BinaryArray, BinaryViewArray, Date32Array, Date64Array, Decimal128Array, Float32Array,
        Float64Array, Int8Array, Int16Array, Int32Array, Int64Array, LargeBinaryArray,
        LargeStringArray, StringArray, StringViewArray, TimestampMicrosecondArray,
        TimestampMillisecondArray, TimestampNanosecondArray, TimestampSecondArray, UInt8Array,
        UInt16Array, UInt32Array, UInt64Array,
    };
    use tessera_codecs::{Compressor, decode_block, encode_block};

    use super::*;

    const LONG: &str = "a value longer than twelve bytes";

    /// One array of every supported type, each with nulls.
    fn arrays_with_nulls() -> Vec<ArrayRef> {
        vec![
            Arc::new(Int8Array::from(vec![
                Some(i8::MIN),
                None,
                Some(i8::MAX),
                Some(0),
            ])),
            Arc::new(Int16Array::from(vec![
                Some(i16::MIN),
                None,
                Some(i16::MAX),
                Some(-1),
            ])),
            Arc::new(Int32Array::from(vec![
                Some(i32::MIN),
                None,
                Some(i32::MAX),
                Some(7),
            ])),
            Arc::new(Int64Array::from(vec![
                Some(i64::MIN),
                None,
                Some(i64::MAX),
                Some(7),
            ])),
            Arc::new(UInt8Array::from(vec![
                Some(0),
                None,
                Some(u8::MAX),
                Some(1),
            ])),
            Arc::new(UInt16Array::from(vec![
                Some(0),
                None,
                Some(u16::MAX),
                Some(1),
            ])),
            Arc::new(UInt32Array::from(vec![
                Some(0),
                None,
                Some(u32::MAX),
                Some(1),
            ])),
            Arc::new(UInt64Array::from(vec![
                Some(0),
                None,
                Some(u64::MAX),
                Some(1 << 63),
            ])),
            Arc::new(Float32Array::from(vec![
                Some(1.5),
                None,
                Some(f32::MAX),
                Some(-0.0),
            ])),
            Arc::new(Float64Array::from(vec![
                Some(0.1),
                None,
                Some(f64::MIN),
                Some(2.25),
            ])),
            Arc::new(
                Decimal128Array::from(vec![Some(12_345), None, Some(-99_999), Some(0)])
                    .with_precision_and_scale(5, 2)
                    .unwrap(),
            ),
            Arc::new(BooleanArray::from(vec![
                Some(true),
                None,
                Some(false),
                Some(true),
            ])),
            Arc::new(StringArray::from(vec![
                Some("a"),
                None,
                Some(LONG),
                Some("é"),
            ])),
            Arc::new(LargeStringArray::from(vec![
                Some("a"),
                None,
                Some(LONG),
                Some(""),
            ])),
            Arc::new(StringViewArray::from(vec![
                Some("a"),
                None,
                Some(LONG),
                Some("ü"),
            ])),
            Arc::new(BinaryArray::from(vec![
                Some(&b"\x00\xff"[..]),
                None,
                Some(LONG.as_bytes()),
                Some(b""),
            ])),
            Arc::new(LargeBinaryArray::from(vec![
                Some(&b"\x00"[..]),
                None,
                Some(LONG.as_bytes()),
                Some(b"z"),
            ])),
            Arc::new(BinaryViewArray::from(vec![
                Some(&b"\xfe"[..]),
                None,
                Some(LONG.as_bytes()),
                Some(b"short"),
            ])),
            Arc::new(Date32Array::from(vec![
                Some(-719_162),
                None,
                Some(19_000),
                Some(0),
            ])),
            Arc::new(Date64Array::from(vec![
                Some(-1),
                None,
                Some(1 << 40),
                Some(0),
            ])),
            Arc::new(TimestampSecondArray::from(vec![
                Some(1),
                None,
                Some(-5),
                Some(0),
            ])),
            Arc::new(
                TimestampMillisecondArray::from(vec![Some(1), None, Some(2), Some(3)])
                    .with_timezone("Europe/Paris"),
            ),
            Arc::new(
                TimestampMicrosecondArray::from(vec![Some(1), None, Some(2), Some(3)])
                    .with_timezone("+02:00"),
            ),
            Arc::new(
                TimestampNanosecondArray::from(vec![Some(i64::MAX), None, Some(i64::MIN), None])
                    .with_timezone_utc(),
            ),
        ]
    }

    fn round_trip(array: &dyn Array) -> ArrayRef {
        let column = column_from_array("c", array).unwrap();
        assert_eq!(column.len(), array.len());
        assert_eq!(column.null_count(), array.null_count());
        column_to_array(&column, array.data_type()).unwrap()
    }

    #[test]
    fn every_type_round_trips_with_nulls() {
        for array in arrays_with_nulls() {
            let back = round_trip(&array);
            assert_eq!(back.data_type(), array.data_type());
            assert_eq!(back.to_data(), array.to_data(), "{}", array.data_type());
            assert_eq!(back.null_count(), 1 + usize::from(array.is_null(3)));
        }
    }

    /// Picking rows while converting equals Arrow's `take` of the whole conversion, for
    /// gathers, runs and repeats; a row past the end is an error.
    #[test]
    fn rows_to_array_agrees_with_arrow_take() {
        for array in arrays_with_nulls() {
            let column = column_from_array("c", &array).unwrap();
            let len = column.len() as u32;
            for rows in [
                vec![],
                vec![3, 0, 3],
                vec![1, 2],
                (0..len).collect(),
                vec![len - 1],
            ] {
                let picked = rows_to_array(&column, &rows, array.data_type()).unwrap();
                let indices = arrow::array::UInt32Array::from(rows.clone());
                let expected = arrow::compute::take(&array, &indices, None).unwrap();
                assert_eq!(
                    picked.to_data(),
                    expected.to_data(),
                    "{} rows {rows:?}",
                    array.data_type()
                );
            }
            assert!(rows_to_array(&column, &[0, len], array.data_type()).is_err());
        }
    }

    /// Every form a scan's pick takes (one run, ranges, ascending rows in long runs, rows
    /// listed) gives what Arrow's `take` gives, for every type.
    #[test]
    fn every_kind_of_pick_agrees_with_arrow_take() {
        for array in arrays_with_nulls() {
            let parts = vec![array.as_ref(); 12];
            let long = arrow::compute::concat(&parts).unwrap();
            let column = column_from_array("c", &long).unwrap();
            let len = column.len();
            let ranges = vec![0..3, 5..len / 2, len / 2 + 1..len / 2 + 2, len - 4..len];
            let runs: Vec<u32> = (0..len as u32).filter(|row| row % 20 < 17).collect();
            let rows: Vec<u32> = (0..len as u32).filter(|row| row % 3 != 1).collect();
            let rows_of = |ranges: &[std::ops::Range<usize>]| -> Vec<u32> {
                ranges
                    .iter()
                    .flat_map(|range| range.start as u32..range.end as u32)
                    .collect()
            };
            let picks = [
                (
                    Picked::ranges(ranges.clone(), len).unwrap(),
                    rows_of(&ranges),
                ),
                (
                    Picked::ranges(std::iter::once(2..len - 1), len).unwrap(),
                    (2..len as u32 - 1).collect(),
                ),
                (Picked::check(&runs, len).unwrap(), runs.clone()),
                (Picked::ascending(&rows, len).unwrap(), rows.clone()),
                (Picked::ranges([], len).unwrap(), Vec::new()),
            ];
            assert!(matches!(picks[0].0, Picked::Ranges(_)));
            assert!(matches!(picks[2].0, Picked::Runs { .. }));
            for (picked, expected_rows) in picks {
                let got = picked_to_array(&column, None, &picked, long.data_type()).unwrap();
                let indices = arrow::array::UInt32Array::from(expected_rows);
                let expected = arrow::compute::take(&long, &indices, None).unwrap();
                assert_eq!(
                    got.to_data(),
                    expected.to_data(),
                    "{} {picked:?}",
                    long.data_type()
                );
            }
        }
    }

    /// Rows past a bytes column's end, which only a pick checked against a longer column
    /// names, read as empty values, as fixed-width ones read as zeros.
    #[test]
    fn picked_strings_past_the_end_read_as_empty() {
        let column = column_from_array("c", &StringArray::from(vec!["a", "bb", "ccc"])).unwrap();
        for (picked, expected) in [
            (
                Picked::ranges(std::iter::once(1..5), 5).unwrap(),
                vec!["bb", "ccc", "", ""],
            ),
            (Picked::Rows(&[4, 0]), vec!["", "a"]),
        ] {
            let got = picked_to_array(&column, None, &picked, &DataType::Utf8).unwrap();
            assert_eq!(got.as_ref(), &StringArray::from(expected) as &dyn Array);
        }
    }

    #[test]
    fn every_type_round_trips_without_nulls_and_reports_no_validity() {
        for array in arrays_with_nulls() {
            let valid =
                arrow::compute::filter(&array, &BooleanArray::from(vec![true, false, true, true]))
                    .unwrap();
            if valid.null_count() > 0 {
                continue;
            }
            let column = column_from_array("c", &valid).unwrap();
            assert!(column.validity().is_none(), "{}", array.data_type());
            let back = column_to_array(&column, valid.data_type()).unwrap();
            assert_eq!(back.to_data(), valid.to_data(), "{}", array.data_type());
            assert!(back.nulls().is_none());
        }
    }

    #[test]
    fn empty_arrays_round_trip() {
        for array in arrays_with_nulls() {
            let empty = array.slice(0, 0);
            let column = column_from_array("c", &empty).unwrap();
            assert!(column.is_empty());
            let back = column_to_array(&column, empty.data_type()).unwrap();
            assert_eq!(back.len(), 0);
            assert_eq!(back.data_type(), array.data_type());
        }
    }

    #[test]
    fn sliced_arrays_round_trip() {
        for array in arrays_with_nulls() {
            for (offset, length) in [(1, 3), (2, 2), (3, 1), (1, 1)] {
                let sliced = array.slice(offset, length);
                let back = round_trip(&sliced);
                assert_eq!(
                    back.to_data(),
                    sliced.to_data(),
                    "{} [{offset}, +{length})",
                    array.data_type()
                );
            }
        }
    }

    #[test]
    fn sliced_strings_copy_only_their_bytes() {
        let array = StringArray::from(vec!["skipped", "kept", LONG, "also skipped"]);
        let column = column_from_array("c", &array.slice(1, 2)).unwrap();
        let ColumnValues::Bytes(bytes) = column.values() else {
            panic!("strings are held as bytes");
        };
        assert_eq!(bytes.offsets(), &[0, 4, 4 + LONG.len() as u32]);
        assert_eq!(bytes.data(), format!("kept{LONG}").as_bytes());
    }

    #[test]
    fn sliced_booleans_at_an_unaligned_bit_offset_round_trip() {
        let values: Vec<Option<bool>> = (0..100)
            .map(|index| (index % 7 != 0).then_some(index % 3 == 0))
            .collect();
        let array = BooleanArray::from(values.clone());
        let sliced = array.slice(13, 70);
        let column = column_from_array("flags", &sliced).unwrap();
        let ColumnValues::Bool(booleans) = column.values() else {
            panic!("booleans are held as bools");
        };
        let validity = column.validity().unwrap();
        for (index, expected) in values[13..83].iter().enumerate() {
            assert_eq!(validity[index], expected.is_some());
            if let Some(expected) = expected {
                assert_eq!(booleans[index], *expected);
            }
        }
        assert_eq!(round_trip(&sliced).to_data(), sliced.to_data());
    }

    #[test]
    fn unsigned_64_bit_values_keep_their_order() {
        let array = UInt64Array::from(vec![0, 1, 1 << 63, u64::MAX]);
        let column = column_from_array("c", &array).unwrap();
        let ColumnValues::Int(ints) = column.values() else {
            panic!("integers are held as i64");
        };
        assert_eq!(ints, &[i64::MIN, i64::MIN + 1, 0, i64::MAX]);
        assert!(ints.windows(2).all(|pair| pair[0] < pair[1]));
    }

    #[test]
    fn decimals_under_nulls_become_zero() {
        // Arrow leaves values under nulls undefined; one out of the precision must not fail.
        let array = Decimal128Array::new(
            ScalarBuffer::from(vec![123, i128::MAX, -5]),
            Some(NullBuffer::from(vec![true, false, true])),
        )
        .with_precision_and_scale(5, 2)
        .unwrap();
        let column = column_from_array("price", &array).unwrap();
        assert_eq!(column.values(), &ColumnValues::Decimal(vec![123, 0, -5]));
        assert_eq!(round_trip(&array).to_data(), array.to_data());
    }

    #[test]
    fn columns_survive_the_block_format() {
        let compressor = Compressor::default();
        for array in arrays_with_nulls() {
            let column = column_from_array("c", &array).unwrap();
            let block = encode_block(&column, &compressor).unwrap();
            let decoded = decode_block(&block.bytes).unwrap();
            let back = column_to_array(&decoded, array.data_type()).unwrap();
            assert_eq!(back.to_data(), array.to_data(), "{}", array.data_type());
        }
    }

    #[test]
    fn string_types_convert_into_each_other() {
        let array = StringArray::from(vec![Some("x"), None, Some(LONG)]);
        let column = column_from_array("c", &array).unwrap();
        let view = column_to_array(&column, &DataType::Utf8View).unwrap();
        let large = column_to_array(&column, &DataType::LargeUtf8).unwrap();
        let expected_view = StringViewArray::from(vec![Some("x"), None, Some(LONG)]);
        let expected_large = LargeStringArray::from(vec![Some("x"), None, Some(LONG)]);
        assert_eq!(view.to_data(), expected_view.to_data());
        assert_eq!(large.to_data(), expected_large.to_data());
    }

    #[test]
    fn unsupported_types_name_the_column_and_type() {
        let array = arrow::array::Time32SecondArray::from(vec![1, 2]);
        let error = column_from_array("l_weight", &array).unwrap_err();
        match &error {
            Error::UnsupportedType { column, data_type } => {
                assert_eq!(column, "l_weight");
                assert_eq!(data_type, &array.data_type().to_string());
            }
            other => panic!("unexpected error {other:?}"),
        }
        assert!(error.to_string().contains("l_weight"));
        let nulls = arrow::array::NullArray::new(3);
        assert!(matches!(
            column_from_array("n", &nulls),
            Err(Error::UnsupportedType { column, .. }) if column == "n"
        ));
    }

    #[test]
    fn a_column_cannot_become_an_array_of_another_type() {
        let column = column_from_array("c", &Int32Array::from(vec![1, 2])).unwrap();
        for data_type in [
            DataType::Int64,
            DataType::Utf8,
            DataType::Float16,
            DataType::Date32,
        ] {
            assert!(
                matches!(
                    column_to_array(&column, &data_type),
                    Err(Error::TypeMismatch { .. })
                ),
                "{data_type}"
            );
        }
        let timestamp = column_from_array(
            "t",
            &TimestampSecondArray::from(vec![1]).with_timezone("UTC"),
        )
        .unwrap();
        let other_zone = DataType::Timestamp(ArrowTimeUnit::Second, Some("+01:00".into()));
        let other_unit = DataType::Timestamp(ArrowTimeUnit::Millisecond, Some("UTC".into()));
        assert!(column_to_array(&timestamp, &other_zone).is_err());
        assert!(column_to_array(&timestamp, &other_unit).is_err());
    }

    #[test]
    fn default_arrow_types_map_back_to_their_logical_types() {
        for array in arrays_with_nulls() {
            let logical = logical_type("c", array.data_type()).unwrap();
            assert_eq!(
                logical_type_of(&default_arrow_type(&logical)),
                Some(logical)
            );
        }
    }
}
