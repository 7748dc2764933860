//! SQL literals and their conversion into the physical domain of a column, where the engine's
//! predicates live: integers, dates and timestamps as `i64` (dates in days, timestamps in the
//! column's unit), `UInt64` order-preserved into `i64`, decimals as `i128` scaled to the
//! column's scale, floats as `f64`, strings as bytes.
//!
//! A literal need not be a value of the column's type: `x < 2.5` on an integer column, or
//! `price = 0.125` on a `Decimal(15, 2)`. Such a literal falls strictly between two adjacent
//! values of the column ([`Converted::Between`]) or beyond every value
//! ([`Converted::BelowAll`], [`Converted::AboveAll`]), and the caller turns each comparison
//! into the exact range of column values that satisfies it (`x < 2.5` is `x <= 2`), so the
//! engine answers as a SQL engine that compares the exact values would.

use arrow::datatypes::{DataType, Field, TimeUnit};
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime};
use tessera::Scalar;

use crate::error::{CliError, CliResult};

/// A literal as written in SQL.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    /// A number, as written (with its sign).
    Number(String),
    /// A quoted string.
    Text(String),
    /// `DATE '...'`.
    Date(String),
    /// `TIMESTAMP '...'`.
    Timestamp(String),
    /// `TRUE` or `FALSE`.
    Bool(bool),
    /// `NULL`.
    Null,
}

impl std::fmt::Display for Literal {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Number(text) => write!(formatter, "the number {text}"),
            Self::Text(text) => write!(formatter, "the string '{text}'"),
            Self::Date(text) => write!(formatter, "DATE '{text}'"),
            Self::Timestamp(text) => write!(formatter, "TIMESTAMP '{text}'"),
            Self::Bool(value) => write!(formatter, "{}", if *value { "TRUE" } else { "FALSE" }),
            Self::Null => formatter.write_str("NULL"),
        }
    }
}

/// Where a literal lies among the values of a column.
#[derive(Debug, Clone, PartialEq)]
pub enum Converted {
    /// It is a value of the column.
    Exact(Scalar),
    /// It lies strictly between these two adjacent values of the column.
    Between(Scalar, Scalar),
    /// It is below every value the column can hold.
    BelowAll,
    /// It is above every value the column can hold.
    AboveAll,
}

const NANOS_PER_DAY: i128 = 86_400_000_000_000;

/// Converts `literal` for comparison with `field`; `None` for `NULL`, which no comparison
/// matches.
pub fn convert(literal: &Literal, field: &Field) -> CliResult<Option<Converted>> {
    if *literal == Literal::Null {
        return Ok(None);
    }
    let mismatch = || {
        CliError::failed(format!(
            "type mismatch: column {:?} holds {} values and cannot be compared with {literal}",
            field.name(),
            field.data_type()
        ))
    };
    let converted = match (field.data_type(), literal) {
        (
            DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::Int64
            | DataType::UInt8
            | DataType::UInt16
            | DataType::UInt32,
            Literal::Number(text),
        ) => {
            let number = ExactNumber::parse(text).ok_or_else(mismatch)?;
            integer_domain(
                number.scaled(0),
                i128::from(i64::MIN),
                i128::from(i64::MAX),
                |v| i64::try_from(v).ok().map(Scalar::Int),
            )
        }
        (DataType::UInt64, Literal::Number(text)) => {
            let number = ExactNumber::parse(text).ok_or_else(mismatch)?;
            integer_domain(number.scaled(0), 0, i128::from(u64::MAX), |v| {
                u64::try_from(v)
                    .ok()
                    .map(|v| Scalar::Int(u64_to_ordered_i64(v)))
            })
        }
        (DataType::Decimal128(_, scale), Literal::Number(text)) => {
            let number = ExactNumber::parse(text).ok_or_else(mismatch)?;
            let scale = u32::try_from(*scale).map_err(|_| {
                CliError::failed(format!(
                    "column {:?} has a negative decimal scale, which comparisons do not support",
                    field.name()
                ))
            })?;
            let limit = 10i128.pow(38) - 1;
            integer_domain(number.scaled(scale), -limit, limit, |v| {
                Some(Scalar::Decimal(v))
            })
        }
        (DataType::Float32, Literal::Number(text)) => {
            let value: f64 = text.parse().map_err(|_| mismatch())?;
            Converted::Exact(Scalar::Float(f64::from(value as f32)))
        }
        (DataType::Float64, Literal::Number(text)) => {
            let value: f64 = text.parse().map_err(|_| mismatch())?;
            Converted::Exact(Scalar::Float(value))
        }
        (DataType::Boolean, Literal::Bool(value)) => Converted::Exact(Scalar::Bool(*value)),
        (
            DataType::Utf8
            | DataType::LargeUtf8
            | DataType::Utf8View
            | DataType::Binary
            | DataType::LargeBinary
            | DataType::BinaryView,
            Literal::Text(text),
        ) => Converted::Exact(Scalar::Bytes(text.as_bytes().to_vec())),
        (
            DataType::Date32 | DataType::Date64 | DataType::Timestamp(_, _),
            Literal::Text(text) | Literal::Date(text) | Literal::Timestamp(text),
        ) => {
            let nanos = parse_instant(text).ok_or_else(|| {
                CliError::failed(format!(
                    "cannot read {literal} as a date or timestamp (expected YYYY-MM-DD or \
                     YYYY-MM-DD HH:MM:SS[.fraction], optionally with a time zone offset)"
                ))
            })?;
            let unit_nanos: i128 = match field.data_type() {
                DataType::Date32 => NANOS_PER_DAY,
                DataType::Date64 | DataType::Timestamp(TimeUnit::Millisecond, _) => 1_000_000,
                DataType::Timestamp(TimeUnit::Second, _) => 1_000_000_000,
                DataType::Timestamp(TimeUnit::Microsecond, _) => 1_000,
                _ => 1,
            };
            let scaled = Scaled::Value {
                truncated: nanos.div_euclid(unit_nanos),
                inexact: nanos.rem_euclid(unit_nanos) != 0,
                negative: false,
            };
            integer_domain(scaled, i128::from(i64::MIN), i128::from(i64::MAX), |v| {
                i64::try_from(v).ok().map(Scalar::Int)
            })
        }
        _ => return Err(mismatch()),
    };
    Ok(Some(converted))
}

/// The order-preserving `i64` form of a `u64` (the physical domain of `UInt64` columns).
pub fn u64_to_ordered_i64(value: u64) -> i64 {
    (value ^ (1 << 63)) as i64
}

/// Nanoseconds since the Unix epoch of a date or timestamp text; a text without a time zone
/// is taken as UTC.
pub fn parse_instant(text: &str) -> Option<i128> {
    let text = text.trim();
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Some(nanos_of(date.and_time(NaiveTime::MIN)));
    }
    for format in [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(instant) = NaiveDateTime::parse_from_str(text, format) {
            return Some(nanos_of(instant));
        }
    }
    for format in ["%Y-%m-%d %H:%M:%S%.f%:z", "%Y-%m-%d %H:%M:%S%.f%#z"] {
        if let Ok(instant) = DateTime::parse_from_str(text, format) {
            return Some(nanos_of(instant.naive_utc()));
        }
    }
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|instant| nanos_of(instant.naive_utc()))
}

fn nanos_of(instant: NaiveDateTime) -> i128 {
    let utc = instant.and_utc();
    i128::from(utc.timestamp()) * 1_000_000_000 + i128::from(utc.timestamp_subsec_nanos())
}

/// A number scaled to an integer domain.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Scaled {
    /// The value truncated toward zero, whether digits were dropped, and its sign (the
    /// truncation of `-0.5` is 0, which has none).
    Value {
        truncated: i128,
        inexact: bool,
        negative: bool,
    },
    /// Too large in magnitude for 128 bits; `true` when negative.
    Overflow { negative: bool },
}

/// Places a number in the integer domain `[min, max]`; `make` builds the scalar of a value.
fn integer_domain(
    scaled: Scaled,
    min: i128,
    max: i128,
    make: impl Fn(i128) -> Option<Scalar>,
) -> Converted {
    match scaled {
        Scaled::Overflow { negative: true } => Converted::BelowAll,
        Scaled::Overflow { negative: false } => Converted::AboveAll,
        Scaled::Value {
            truncated,
            inexact,
            negative,
        } => {
            // A negative value with dropped digits lies below its truncation.
            let floor = if inexact && negative {
                truncated.saturating_sub(1)
            } else {
                truncated
            };
            place(floor, inexact, min, max, make)
        }
    }
}

/// `floor` is the largest integer at or below the value, `inexact` whether the value lies
/// strictly above it.
fn place(
    floor: i128,
    inexact: bool,
    min: i128,
    max: i128,
    make: impl Fn(i128) -> Option<Scalar>,
) -> Converted {
    if !inexact {
        if floor < min {
            return Converted::BelowAll;
        }
        if floor > max {
            return Converted::AboveAll;
        }
        return make(floor).map_or(Converted::AboveAll, Converted::Exact);
    }
    let ceiling = floor.saturating_add(1);
    if ceiling <= min {
        return Converted::BelowAll;
    }
    if floor >= max {
        return Converted::AboveAll;
    }
    match (make(floor), make(ceiling)) {
        (Some(low), Some(high)) => Converted::Between(low, high),
        _ => Converted::AboveAll,
    }
}

/// A decimal number as written: sign, digits before and after the point (exponent applied).
#[derive(Debug, Clone, PartialEq)]
pub struct ExactNumber {
    negative: bool,
    integer: String,
    fraction: String,
}

impl ExactNumber {
    /// Parses `[+-]digits[.digits][e[+-]digits]`; `None` for anything else.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        let (negative, unsigned) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text.strip_prefix('+').unwrap_or(text)),
        };
        let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
            Some(at) => {
                let exponent: i64 = unsigned.get(at + 1..)?.parse().ok()?;
                (unsigned.get(..at)?, exponent)
            }
            None => (unsigned, 0),
        };
        let (integer, fraction) = match mantissa.split_once('.') {
            Some((integer, fraction)) => (integer, fraction),
            None => (mantissa, ""),
        };
        if integer.is_empty() && fraction.is_empty()
            || !integer.bytes().all(|b| b.is_ascii_digit())
            || !fraction.bytes().all(|b| b.is_ascii_digit())
            || exponent.unsigned_abs() > 1_000
        {
            return None;
        }
        let digits = format!("{integer}{fraction}");
        let point = integer.len() as i64 + exponent;
        let (integer, fraction) = if point <= 0 {
            (
                String::new(),
                format!("{}{digits}", "0".repeat(point.unsigned_abs() as usize)),
            )
        } else if point as usize >= digits.len() {
            (
                format!("{digits}{}", "0".repeat(point as usize - digits.len())),
                String::new(),
            )
        } else {
            let (integer, fraction) = digits.split_at(point as usize);
            (integer.to_owned(), fraction.to_owned())
        };
        Some(Self {
            negative,
            integer,
            fraction,
        })
    }

    /// The number times `10^scale`, truncated toward zero.
    fn scaled(&self, scale: u32) -> Scaled {
        let scale = scale as usize;
        let mut digits = self.integer.clone();
        let kept: String = self.fraction.chars().take(scale).collect();
        digits.push_str(&kept);
        digits.push_str(&"0".repeat(scale - kept.len()));
        let inexact = self.fraction.chars().skip(scale).any(|digit| digit != '0');
        let digits = digits.trim_start_matches('0');
        if digits.len() > 38 {
            return Scaled::Overflow {
                negative: self.negative,
            };
        }
        let magnitude: i128 = if digits.is_empty() {
            0
        } else {
            match digits.parse() {
                Ok(value) => value,
                Err(_) => {
                    return Scaled::Overflow {
                        negative: self.negative,
                    };
                }
            }
        };
        Scaled::Value {
            truncated: if self.negative { -magnitude } else { magnitude },
            inexact,
            negative: self.negative,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(data_type: DataType) -> Field {
        Field::new("c", data_type, true)
    }

    fn number(text: &str, data_type: DataType) -> Option<Converted> {
        convert(&Literal::Number(text.to_owned()), &field(data_type)).expect("converts")
    }

    #[test]
    fn numbers_land_exactly_or_between_two_column_values() {
        let int = DataType::Int64;
        assert_eq!(
            number("42", int.clone()),
            Some(Converted::Exact(Scalar::Int(42)))
        );
        assert_eq!(
            number("4.2e1", int.clone()),
            Some(Converted::Exact(Scalar::Int(42)))
        );
        assert_eq!(
            number("2.5", int.clone()),
            Some(Converted::Between(Scalar::Int(2), Scalar::Int(3)))
        );
        assert_eq!(
            number("-2.5", int.clone()),
            Some(Converted::Between(Scalar::Int(-3), Scalar::Int(-2)))
        );
        assert_eq!(
            number("-0.5", int.clone()),
            Some(Converted::Between(Scalar::Int(-1), Scalar::Int(0)))
        );
        assert_eq!(number("1e30", int.clone()), Some(Converted::AboveAll));
        assert_eq!(number("-1e30", int), Some(Converted::BelowAll));
        let decimal = DataType::Decimal128(15, 2);
        assert_eq!(
            number("0.05", decimal.clone()),
            Some(Converted::Exact(Scalar::Decimal(5)))
        );
        assert_eq!(
            number("24", decimal.clone()),
            Some(Converted::Exact(Scalar::Decimal(2_400)))
        );
        assert_eq!(
            number("0.055", decimal),
            Some(Converted::Between(Scalar::Decimal(5), Scalar::Decimal(6)))
        );
        assert_eq!(number("-1", DataType::UInt64), Some(Converted::BelowAll));
        assert_eq!(
            number("3", DataType::Float64),
            Some(Converted::Exact(Scalar::Float(3.0)))
        );
    }

    #[test]
    fn dates_and_timestamps_convert_to_their_unit() {
        let date = convert(
            &Literal::Date("1995-03-15".to_owned()),
            &field(DataType::Date32),
        );
        assert_eq!(
            date.expect("a date"),
            Some(Converted::Exact(Scalar::Int(9_204)))
        );
        let noon = convert(
            &Literal::Timestamp("1995-03-15 12:00:00".to_owned()),
            &field(DataType::Date32),
        );
        assert_eq!(
            noon.expect("a timestamp"),
            Some(Converted::Between(Scalar::Int(9_204), Scalar::Int(9_205)))
        );
        let millis = convert(
            &Literal::Text("1970-01-01T00:00:01.5Z".to_owned()),
            &field(DataType::Timestamp(TimeUnit::Millisecond, None)),
        );
        assert_eq!(
            millis.expect("a timestamp"),
            Some(Converted::Exact(Scalar::Int(1_500)))
        );
        assert!(convert(&Literal::Text("soon".to_owned()), &field(DataType::Date32)).is_err());
        assert!(convert(&Literal::Number("1".to_owned()), &field(DataType::Utf8)).is_err());
        assert_eq!(
            convert(&Literal::Null, &field(DataType::Int64)).expect("null"),
            None
        );
    }
}
