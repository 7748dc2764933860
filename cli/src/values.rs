//! Values between Arrow arrays and the outside: a cell as an engine [`Scalar`] (to evaluate a
//! predicate on the one row a point get returns), a [`Scalar`] as a one-row key array (to
//! build a point get's key), and a cell as text (tables, CSV) or JSON (the `json` and `jsonl`
//! formats: numbers as JSON numbers, dates `YYYY-MM-DD`, timestamps RFC 3339 in UTC, NULL
//! as `null`, non-finite floats as the strings `"nan"`, `"inf"` and `"-inf"`).

use std::fmt::Write as _;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, BinaryArray, BooleanArray, Date32Array, Date64Array, Decimal128Array,
    Float32Array, Float64Array, Int8Array, Int16Array, Int32Array, Int64Array, StringArray,
    TimestampMicrosecondArray, TimestampMillisecondArray, TimestampNanosecondArray,
    TimestampSecondArray, UInt8Array, UInt16Array, UInt32Array, UInt64Array,
};
use arrow::compute::cast;
use arrow::datatypes::{
    DataType, Date32Type, Date64Type, Decimal128Type, Field, Float32Type, Float64Type, Int8Type,
    Int16Type, Int32Type, Int64Type, TimeUnit, TimestampMicrosecondType, TimestampMillisecondType,
    TimestampNanosecondType, TimestampSecondType, UInt8Type, UInt16Type, UInt32Type, UInt64Type,
};
use arrow::util::display::{ArrayFormatter, FormatOptions};
use chrono::{DateTime, SecondsFormat};
use tessera::Scalar;

use crate::error::{CliError, CliResult};
use crate::literal::u64_to_ordered_i64;

/// The value of `array` at `row` in the engine's physical domain; `None` for null.
pub fn scalar_at(array: &dyn Array, row: usize) -> Option<Scalar> {
    if row >= array.len() || array.is_null(row) {
        return None;
    }
    Some(match array.data_type() {
        DataType::Int8 => Scalar::Int(array.as_primitive::<Int8Type>().value(row).into()),
        DataType::Int16 => Scalar::Int(array.as_primitive::<Int16Type>().value(row).into()),
        DataType::Int32 => Scalar::Int(array.as_primitive::<Int32Type>().value(row).into()),
        DataType::Int64 => Scalar::Int(array.as_primitive::<Int64Type>().value(row)),
        DataType::UInt8 => Scalar::Int(array.as_primitive::<UInt8Type>().value(row).into()),
        DataType::UInt16 => Scalar::Int(array.as_primitive::<UInt16Type>().value(row).into()),
        DataType::UInt32 => Scalar::Int(array.as_primitive::<UInt32Type>().value(row).into()),
        DataType::UInt64 => Scalar::Int(u64_to_ordered_i64(
            array.as_primitive::<UInt64Type>().value(row),
        )),
        DataType::Float32 => Scalar::Float(array.as_primitive::<Float32Type>().value(row).into()),
        DataType::Float64 => Scalar::Float(array.as_primitive::<Float64Type>().value(row)),
        DataType::Decimal128(_, _) => {
            Scalar::Decimal(array.as_primitive::<Decimal128Type>().value(row))
        }
        DataType::Date32 => Scalar::Int(array.as_primitive::<Date32Type>().value(row).into()),
        DataType::Date64 => Scalar::Int(array.as_primitive::<Date64Type>().value(row)),
        DataType::Timestamp(TimeUnit::Second, _) => {
            Scalar::Int(array.as_primitive::<TimestampSecondType>().value(row))
        }
        DataType::Timestamp(TimeUnit::Millisecond, _) => {
            Scalar::Int(array.as_primitive::<TimestampMillisecondType>().value(row))
        }
        DataType::Timestamp(TimeUnit::Microsecond, _) => {
            Scalar::Int(array.as_primitive::<TimestampMicrosecondType>().value(row))
        }
        DataType::Timestamp(TimeUnit::Nanosecond, _) => {
            Scalar::Int(array.as_primitive::<TimestampNanosecondType>().value(row))
        }
        DataType::Boolean => Scalar::Bool(array.as_boolean().value(row)),
        DataType::Utf8 => Scalar::Bytes(array.as_string::<i32>().value(row).as_bytes().to_vec()),
        DataType::LargeUtf8 => {
            Scalar::Bytes(array.as_string::<i64>().value(row).as_bytes().to_vec())
        }
        DataType::Utf8View => Scalar::Bytes(array.as_string_view().value(row).as_bytes().to_vec()),
        DataType::Binary => Scalar::Bytes(array.as_binary::<i32>().value(row).to_vec()),
        DataType::LargeBinary => Scalar::Bytes(array.as_binary::<i64>().value(row).to_vec()),
        DataType::BinaryView => Scalar::Bytes(array.as_binary_view().value(row).to_vec()),
        _ => return None,
    })
}

/// A one-row array of `field`'s type holding `scalar` (a physical value of that column).
pub fn key_array(field: &Field, scalar: &Scalar) -> CliResult<ArrayRef> {
    let wrong = || {
        CliError::failed(format!(
            "the key value {scalar:?} does not fit column {:?} of type {}",
            field.name(),
            field.data_type()
        ))
    };
    let int = || match scalar {
        Scalar::Int(value) => Ok(*value),
        _ => Err(wrong()),
    };
    let array: ArrayRef = match field.data_type() {
        DataType::Int8 => Arc::new(Int8Array::from(vec![
            i8::try_from(int()?).map_err(|_| wrong())?,
        ])),
        DataType::Int16 => Arc::new(Int16Array::from(vec![
            i16::try_from(int()?).map_err(|_| wrong())?,
        ])),
        DataType::Int32 => Arc::new(Int32Array::from(vec![
            i32::try_from(int()?).map_err(|_| wrong())?,
        ])),
        DataType::Int64 => Arc::new(Int64Array::from(vec![int()?])),
        DataType::UInt8 => Arc::new(UInt8Array::from(vec![
            u8::try_from(int()?).map_err(|_| wrong())?,
        ])),
        DataType::UInt16 => Arc::new(UInt16Array::from(vec![
            u16::try_from(int()?).map_err(|_| wrong())?,
        ])),
        DataType::UInt32 => Arc::new(UInt32Array::from(vec![
            u32::try_from(int()?).map_err(|_| wrong())?,
        ])),
        DataType::UInt64 => Arc::new(UInt64Array::from(vec![(int()? as u64) ^ (1 << 63)])),
        DataType::Date32 => Arc::new(Date32Array::from(vec![
            i32::try_from(int()?).map_err(|_| wrong())?,
        ])),
        DataType::Date64 => Arc::new(Date64Array::from(vec![int()?])),
        DataType::Timestamp(unit, zone) => {
            let value = int()?;
            let array: ArrayRef = match unit {
                TimeUnit::Second => Arc::new(TimestampSecondArray::from(vec![value])),
                TimeUnit::Millisecond => Arc::new(TimestampMillisecondArray::from(vec![value])),
                TimeUnit::Microsecond => Arc::new(TimestampMicrosecondArray::from(vec![value])),
                TimeUnit::Nanosecond => Arc::new(TimestampNanosecondArray::from(vec![value])),
            };
            cast(&array, &DataType::Timestamp(*unit, zone.clone()))?
        }
        DataType::Float32 => match scalar {
            Scalar::Float(value) => Arc::new(Float32Array::from(vec![*value as f32])),
            _ => return Err(wrong()),
        },
        DataType::Float64 => match scalar {
            Scalar::Float(value) => Arc::new(Float64Array::from(vec![*value])),
            _ => return Err(wrong()),
        },
        DataType::Decimal128(precision, scale) => match scalar {
            Scalar::Decimal(value) => Arc::new(
                Decimal128Array::from(vec![*value]).with_precision_and_scale(*precision, *scale)?,
            ),
            _ => return Err(wrong()),
        },
        DataType::Boolean => match scalar {
            Scalar::Bool(value) => Arc::new(BooleanArray::from(vec![*value])),
            _ => return Err(wrong()),
        },
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => match scalar {
            Scalar::Bytes(bytes) => {
                let text = std::str::from_utf8(bytes).map_err(|_| wrong())?;
                cast(&StringArray::from(vec![text]), field.data_type())?
            }
            _ => return Err(wrong()),
        },
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView => match scalar {
            Scalar::Bytes(bytes) => cast(
                &BinaryArray::from(vec![bytes.as_slice()]),
                field.data_type(),
            )?,
            _ => return Err(wrong()),
        },
        other => {
            return Err(CliError::failed(format!(
                "column {:?} has type {other}, which keys do not support",
                field.name()
            )));
        }
    };
    Ok(array)
}

/// Formats cells as text (tables and CSV); NULL as `null_text`.
pub struct TextCells<'a> {
    formatter: ArrayFormatter<'a>,
}

impl<'a> TextCells<'a> {
    /// A formatter over `array`.
    pub fn new(array: &'a dyn Array, options: &'a FormatOptions<'a>) -> CliResult<Self> {
        Ok(Self {
            formatter: ArrayFormatter::try_new(array, options)?,
        })
    }

    /// The text of `row`.
    pub fn text(&self, row: usize) -> String {
        self.formatter.value(row).to_string()
    }
}

/// Appends the JSON value of `array` at `row` to `out`.
pub fn write_json(array: &dyn Array, row: usize, out: &mut String) -> CliResult<()> {
    if array.is_null(row) {
        out.push_str("null");
        return Ok(());
    }
    match array.data_type() {
        DataType::Int8 => write_display(array.as_primitive::<Int8Type>().value(row), out),
        DataType::Int16 => write_display(array.as_primitive::<Int16Type>().value(row), out),
        DataType::Int32 => write_display(array.as_primitive::<Int32Type>().value(row), out),
        DataType::Int64 => write_display(array.as_primitive::<Int64Type>().value(row), out),
        DataType::UInt8 => write_display(array.as_primitive::<UInt8Type>().value(row), out),
        DataType::UInt16 => write_display(array.as_primitive::<UInt16Type>().value(row), out),
        DataType::UInt32 => write_display(array.as_primitive::<UInt32Type>().value(row), out),
        DataType::UInt64 => write_display(array.as_primitive::<UInt64Type>().value(row), out),
        DataType::Decimal128(_, scale) => out.push_str(&decimal_text(
            array.as_primitive::<Decimal128Type>().value(row),
            *scale,
        )),
        DataType::Float32 => {
            write_float(
                f64::from(array.as_primitive::<Float32Type>().value(row)),
                out,
            );
        }
        DataType::Float64 => write_float(array.as_primitive::<Float64Type>().value(row), out),
        DataType::Boolean => {
            out.push_str(if array.as_boolean().value(row) {
                "true"
            } else {
                "false"
            });
        }
        DataType::Date32 => {
            let days = i64::from(array.as_primitive::<Date32Type>().value(row));
            write_date(days.saturating_mul(86_400_000), out);
        }
        DataType::Date64 => write_date(array.as_primitive::<Date64Type>().value(row), out),
        DataType::Timestamp(unit, _) => {
            let (value, nanos_per_unit) = match unit {
                TimeUnit::Second => (
                    array.as_primitive::<TimestampSecondType>().value(row),
                    1_000_000_000,
                ),
                TimeUnit::Millisecond => (
                    array.as_primitive::<TimestampMillisecondType>().value(row),
                    1_000_000,
                ),
                TimeUnit::Microsecond => (
                    array.as_primitive::<TimestampMicrosecondType>().value(row),
                    1_000,
                ),
                TimeUnit::Nanosecond => (
                    array.as_primitive::<TimestampNanosecondType>().value(row),
                    1,
                ),
            };
            let nanos = i128::from(value) * nanos_per_unit;
            let seconds = nanos.div_euclid(1_000_000_000);
            let subsecond = nanos.rem_euclid(1_000_000_000);
            let instant = i64::try_from(seconds).ok().and_then(|seconds| {
                DateTime::from_timestamp(seconds, u32::try_from(subsecond).ok()?)
            });
            match instant {
                Some(instant) => {
                    write_string(&instant.to_rfc3339_opts(SecondsFormat::AutoSi, true), out)
                }
                None => out.push_str("null"),
            }
        }
        DataType::Utf8 => write_string(array.as_string::<i32>().value(row), out),
        DataType::LargeUtf8 => write_string(array.as_string::<i64>().value(row), out),
        DataType::Utf8View => write_string(array.as_string_view().value(row), out),
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView => {
            let bytes: &[u8] = match array.data_type() {
                DataType::Binary => array.as_binary::<i32>().value(row),
                DataType::LargeBinary => array.as_binary::<i64>().value(row),
                _ => array.as_binary_view().value(row),
            };
            let mut hex = String::with_capacity(bytes.len() * 2);
            for byte in bytes {
                let _ = write!(hex, "{byte:02x}");
            }
            write_string(&hex, out);
        }
        _ => {
            let options = FormatOptions::default();
            let formatter = ArrayFormatter::try_new(array, &options)?;
            write_string(&formatter.value(row).to_string(), out);
        }
    }
    Ok(())
}

fn write_display(value: impl std::fmt::Display, out: &mut String) {
    let _ = write!(out, "{value}");
}

/// The exact decimal text of `value` at `scale`: `-12.50` for (-1250, 2).
pub fn decimal_text(value: i128, scale: i8) -> String {
    if scale <= 0 {
        let zeros = "0".repeat(usize::from(scale.unsigned_abs()));
        return if value == 0 {
            "0".to_owned()
        } else {
            format!("{value}{zeros}")
        };
    }
    let scale = usize::from(scale.unsigned_abs());
    let digits = value.unsigned_abs().to_string();
    let digits = format!("{digits:0>width$}", width = scale + 1);
    let (integer, fraction) = digits.split_at(digits.len() - scale);
    let sign = if value < 0 { "-" } else { "" };
    format!("{sign}{integer}.{fraction}")
}

fn write_float(value: f64, out: &mut String) {
    if value.is_nan() {
        out.push_str("\"nan\"");
    } else if value.is_infinite() {
        out.push_str(if value > 0.0 { "\"inf\"" } else { "\"-inf\"" });
    } else {
        match serde_json::Number::from_f64(value) {
            Some(number) => {
                let _ = write!(out, "{number}");
            }
            None => out.push_str("null"),
        }
    }
}

fn write_date(millis: i64, out: &mut String) {
    match DateTime::from_timestamp_millis(millis) {
        Some(instant) => write_string(&instant.format("%Y-%m-%d").to_string(), out),
        None => out.push_str("null"),
    }
}

/// Appends `text` as a JSON string.
pub fn write_string(text: &str, out: &mut String) {
    match serde_json::to_string(text) {
        Ok(quoted) => out.push_str(&quoted),
        Err(_) => out.push_str("null"),
    }
}
