//! Predicates evaluated on decoded codec columns, a column at a time, and the row selection
//! moves scans need (take the selected rows of a column).
//!
//! A filter's terms are turned once into bounds of the column's physical type, then one
//! tight loop per column type marks the rows that pass; no per-row `Scalar` is built.

use std::cmp::Ordering;
use std::ops::Bound;

use tessera_codecs::{BytesColumn, Column, ColumnValues};
use tessera_layout::predicate::float_order;
use tessera_layout::{ColumnFilter, Scalar, Term};

use crate::error::Result;

/// Clears `selected[i]` for every row `first + i` of `column` the filter rejects: the scan
/// evaluates only the rows a position model left.
pub(crate) fn apply_filter(
    column: &Column,
    filter: &ColumnFilter,
    selected: &mut [bool],
    first: usize,
) {
    let keep_nulls = filter.terms.iter().any(|term| matches!(term, Term::IsNull));
    let keep_present = filter
        .terms
        .iter()
        .any(|term| matches!(term, Term::IsNotNull));
    let ranges: Vec<(&Bound<Scalar>, &Bound<Scalar>)> = filter
        .terms
        .iter()
        .filter_map(|term| match term {
            Term::Range(range) => Some((&range.low, &range.high)),
            _ => None,
        })
        .collect();
    let validity = column.validity();
    let null_at = |row: usize| validity.is_some_and(|valid| valid.get(first + row) == Some(&false));
    if keep_present {
        // Every non-null value passes; only nulls are in question.
        for (row, slot) in selected.iter_mut().enumerate() {
            if null_at(row) && !keep_nulls {
                *slot = false;
            }
        }
        return;
    }
    macro_rules! by_value {
        ($values:expr, $matches:expr) => {
            for (row, (slot, value)) in selected.iter_mut().zip($values).enumerate() {
                if *slot {
                    *slot = if null_at(row) {
                        keep_nulls
                    } else {
                        $matches(value)
                    };
                }
            }
        };
    }
    match column.values() {
        ColumnValues::Int(values) => {
            let bounds: Vec<(i64, i64)> = ranges
                .iter()
                .filter_map(|(low, high)| int_bounds(low, high))
                .collect();
            if let [(low, high)] = bounds[..] {
                select_by(values, first, validity, keep_nulls, selected, |value| {
                    (low <= value) & (value <= high)
                });
            } else {
                select_by(values, first, validity, keep_nulls, selected, |value| {
                    bounds
                        .iter()
                        .any(|&(low, high)| (low <= value) & (value <= high))
                });
            }
        }
        ColumnValues::Decimal(values) => {
            let bounds: Vec<(i128, i128)> = ranges
                .iter()
                .filter_map(|(low, high)| decimal_bounds(low, high))
                .collect();
            if let [(low, high)] = bounds[..] {
                select_by(values, first, validity, keep_nulls, selected, |value| {
                    (low <= value) & (value <= high)
                });
            } else {
                select_by(values, first, validity, keep_nulls, selected, |value| {
                    bounds
                        .iter()
                        .any(|&(low, high)| (low <= value) & (value <= high))
                });
            }
        }
        ColumnValues::Float(values) => {
            if let Some(bounds) = ranges
                .iter()
                .map(|(low, high)| float_bounds(low, high))
                .collect::<Option<Vec<_>>>()
            {
                if let [bound] = bounds[..] {
                    select_by(values, first, validity, keep_nulls, selected, |value| {
                        bound.contains(value)
                    });
                } else {
                    select_by(values, first, validity, keep_nulls, selected, |value| {
                        bounds.iter().any(|bound| bound.contains(value))
                    });
                }
                return;
            }
            by_value!(values.iter().skip(first), |value: &f64| ranges.iter().any(
                |(low, high)| {
                    within(low, high, |bound| match bound {
                        Scalar::Float(bound) => Some(float_order(*value, *bound)),
                        _ => None,
                    })
                }
            ));
        }
        ColumnValues::Bool(values) => {
            by_value!(values.iter().skip(first), |value: &bool| ranges.iter().any(
                |(low, high)| {
                    within(low, high, |bound| match bound {
                        Scalar::Bool(bound) => Some(value.cmp(bound)),
                        _ => None,
                    })
                }
            ));
        }
        ColumnValues::Bytes(values) => {
            by_value!(values.iter().skip(first), |value: &[u8]| ranges.iter().any(
                |(low, high)| {
                    within(low, high, |bound| match bound {
                        Scalar::Bytes(bound) => Some(value.cmp(bound.as_slice())),
                        _ => None,
                    })
                }
            ));
        }
    }
}

/// The range `rows` spans when it is ascending without gaps and inside a column of `len`
/// values (blocks of an arrival-order cell, runs a position model left): copied whole.
fn contiguous(rows: &[u32], len: usize) -> Option<std::ops::Range<usize>> {
    let first = *rows.first()? as usize;
    let end = first.checked_add(rows.len())?;
    let ascending = rows
        .iter()
        .enumerate()
        .all(|(offset, &row)| row as usize == first + offset);
    (ascending && end <= len).then_some(first..end)
}

/// [`take`] of a contiguous range: slice copies instead of a gather per row.
fn take_range(column: &Column, range: std::ops::Range<usize>) -> Result<Column> {
    let values = match column.values() {
        ColumnValues::Int(values) => {
            ColumnValues::Int(values.get(range.clone()).unwrap_or_default().to_vec())
        }
        ColumnValues::Float(values) => {
            ColumnValues::Float(values.get(range.clone()).unwrap_or_default().to_vec())
        }
        ColumnValues::Decimal(values) => {
            ColumnValues::Decimal(values.get(range.clone()).unwrap_or_default().to_vec())
        }
        ColumnValues::Bool(values) => {
            ColumnValues::Bool(values.get(range.clone()).unwrap_or_default().to_vec())
        }
        ColumnValues::Bytes(values) => {
            let offsets = values.offsets();
            let start = offsets.get(range.start).copied().unwrap_or(0);
            let end = offsets.get(range.end).copied().unwrap_or(start);
            let data = values
                .data()
                .get(start as usize..end as usize)
                .unwrap_or_default()
                .to_vec();
            let offsets = offsets
                .get(range.start..=range.end)
                .unwrap_or_default()
                .iter()
                .map(|offset| offset.saturating_sub(start))
                .collect();
            ColumnValues::Bytes(BytesColumn::new(offsets, data)?)
        }
    };
    let validity = column
        .validity()
        .map(|valid| valid.get(range.clone()).unwrap_or_default().to_vec());
    Ok(Column::new(column.logical().clone(), values, validity)?)
}

/// `selected[i] &= matches(values[first + i])`, with nulls kept or dropped as `keep_nulls`
/// says: one branch-free pass the compiler can vectorize for the common one-range filter.
fn select_by<T: Copy>(
    values: &[T],
    first: usize,
    validity: Option<&[bool]>,
    keep_nulls: bool,
    selected: &mut [bool],
    matches: impl Fn(T) -> bool,
) {
    let values = values.get(first..).unwrap_or_default();
    let validity = validity.map(|valid| valid.get(first..).unwrap_or_default());
    match validity {
        Some(valid) if valid.len() >= selected.len() => {
            for ((slot, &value), &present) in selected.iter_mut().zip(values).zip(valid) {
                *slot &= if present { matches(value) } else { keep_nulls };
            }
        }
        _ => {
            for (slot, &value) in selected.iter_mut().zip(values) {
                *slot &= matches(value);
            }
        }
    }
    // Rows past the values (a malformed chunk) match nothing.
    for slot in selected.iter_mut().skip(values.len()) {
        *slot = false;
    }
}

/// A float range in IEEE comparisons, equal to the predicate's total order: both ends are
/// non-NaN floats or open, and a NaN value fails because the upper end is bounded.
#[derive(Debug, Clone, Copy)]
struct FloatBounds {
    low: f64,
    low_inclusive: bool,
    high: f64,
    high_inclusive: bool,
}

impl FloatBounds {
    fn contains(&self, value: f64) -> bool {
        let above = if self.low_inclusive {
            value >= self.low
        } else {
            value > self.low
        };
        let below = if self.high_inclusive {
            value <= self.high
        } else {
            value < self.high
        };
        above & below
    }
}

/// [`FloatBounds`] of a range, `None` when IEEE comparisons would not agree with the
/// predicate's total order (a NaN bound, an open upper end, a bound of another kind).
fn float_bounds(low: &Bound<Scalar>, high: &Bound<Scalar>) -> Option<FloatBounds> {
    let (low, low_inclusive) = match low {
        Bound::Unbounded => (f64::NEG_INFINITY, true),
        Bound::Included(Scalar::Float(value)) if !value.is_nan() => (*value, true),
        Bound::Excluded(Scalar::Float(value)) if !value.is_nan() => (*value, false),
        _ => return None,
    };
    let (high, high_inclusive) = match high {
        Bound::Included(Scalar::Float(value)) if !value.is_nan() => (*value, true),
        Bound::Excluded(Scalar::Float(value)) if !value.is_nan() => (*value, false),
        _ => return None,
    };
    Some(FloatBounds {
        low,
        low_inclusive,
        high,
        high_inclusive,
    })
}

/// Whether a value lies between two bounds, given its comparison with a bound value
/// (`None`: a bound of another kind, which nothing satisfies).
fn within(
    low: &Bound<Scalar>,
    high: &Bound<Scalar>,
    compare: impl Fn(&Scalar) -> Option<Ordering>,
) -> bool {
    let above = match low {
        Bound::Unbounded => true,
        Bound::Included(bound) => compare(bound).is_some_and(Ordering::is_ge),
        Bound::Excluded(bound) => compare(bound).is_some_and(Ordering::is_gt),
    };
    above
        && match high {
            Bound::Unbounded => true,
            Bound::Included(bound) => compare(bound).is_some_and(Ordering::is_le),
            Bound::Excluded(bound) => compare(bound).is_some_and(Ordering::is_lt),
        }
}

/// Inclusive integer bounds of a range, `None` when it holds no integer.
fn int_bounds(low: &Bound<Scalar>, high: &Bound<Scalar>) -> Option<(i64, i64)> {
    let low = match low {
        Bound::Unbounded => i64::MIN,
        Bound::Included(Scalar::Int(value)) => *value,
        Bound::Excluded(Scalar::Int(value)) => value.checked_add(1)?,
        _ => return None,
    };
    let high = match high {
        Bound::Unbounded => i64::MAX,
        Bound::Included(Scalar::Int(value)) => *value,
        Bound::Excluded(Scalar::Int(value)) => value.checked_sub(1)?,
        _ => return None,
    };
    (low <= high).then_some((low, high))
}

fn decimal_bounds(low: &Bound<Scalar>, high: &Bound<Scalar>) -> Option<(i128, i128)> {
    let low = match low {
        Bound::Unbounded => i128::MIN,
        Bound::Included(Scalar::Decimal(value)) => *value,
        Bound::Excluded(Scalar::Decimal(value)) => value.checked_add(1)?,
        _ => return None,
    };
    let high = match high {
        Bound::Unbounded => i128::MAX,
        Bound::Included(Scalar::Decimal(value)) => *value,
        Bound::Excluded(Scalar::Decimal(value)) => value.checked_sub(1)?,
        _ => return None,
    };
    (low <= high).then_some((low, high))
}

/// The rows `rows` (in this order) of `column`.
pub(crate) fn take(column: &Column, rows: &[u32]) -> Result<Column> {
    if let Some(range) = contiguous(rows, column.len()) {
        return take_range(column, range);
    }
    let pick = |row: &u32| *row as usize;
    let values = match column.values() {
        ColumnValues::Int(values) => ColumnValues::Int(
            rows.iter()
                .map(|row| values.get(pick(row)).copied().unwrap_or_default())
                .collect(),
        ),
        ColumnValues::Float(values) => ColumnValues::Float(
            rows.iter()
                .map(|row| values.get(pick(row)).copied().unwrap_or_default())
                .collect(),
        ),
        ColumnValues::Decimal(values) => ColumnValues::Decimal(
            rows.iter()
                .map(|row| values.get(pick(row)).copied().unwrap_or_default())
                .collect(),
        ),
        ColumnValues::Bool(values) => ColumnValues::Bool(
            rows.iter()
                .map(|row| values.get(pick(row)).copied().unwrap_or_default())
                .collect(),
        ),
        ColumnValues::Bytes(values) => {
            let total: usize = rows
                .iter()
                .map(|row| values.get(pick(row)).map_or(0, <[u8]>::len))
                .sum();
            let mut offsets = Vec::with_capacity(rows.len() + 1);
            let mut data = Vec::with_capacity(total);
            offsets.push(0u32);
            for row in rows {
                data.extend_from_slice(values.get(pick(row)).unwrap_or_default());
                // The selected values of a column fit its u32 offsets.
                offsets.push(data.len() as u32);
            }
            ColumnValues::Bytes(BytesColumn::new(offsets, data)?)
        }
    };
    let validity = column.validity().map(|valid| {
        rows.iter()
            .map(|row| valid.get(pick(row)).copied().unwrap_or(false))
            .collect()
    });
    Ok(Column::new(column.logical().clone(), values, validity)?)
}

/// The columns one after the other, as one column of type `logical`.
pub(crate) fn concat(parts: &[Column], logical: &tessera_codecs::LogicalType) -> Result<Column> {
    let rows: usize = parts.iter().map(Column::len).sum();
    let mut values = ColumnValues::empty(logical.physical());
    let any_nulls = parts.iter().any(|part| part.validity().is_some());
    let mut validity = Vec::with_capacity(if any_nulls { rows } else { 0 });
    for part in parts {
        match (&mut values, part.values()) {
            (ColumnValues::Int(all), ColumnValues::Int(more)) => all.extend_from_slice(more),
            (ColumnValues::Float(all), ColumnValues::Float(more)) => all.extend_from_slice(more),
            (ColumnValues::Decimal(all), ColumnValues::Decimal(more)) => {
                all.extend_from_slice(more);
            }
            (ColumnValues::Bool(all), ColumnValues::Bool(more)) => all.extend_from_slice(more),
            (ColumnValues::Bytes(all), ColumnValues::Bytes(more)) => {
                for value in more.iter() {
                    all.push(value)?;
                }
            }
            _ => {
                return Err(crate::error::Error::TypeMismatch {
                    logical: format!("{logical:?}"),
                    data_type: format!("{:?}", part.logical()),
                });
            }
        }
        if any_nulls {
            match part.validity() {
                Some(valid) => validity.extend_from_slice(valid),
                None => validity.extend(std::iter::repeat_n(true, part.len())),
            }
        }
    }
    Ok(Column::new(
        logical.clone(),
        values,
        any_nulls.then_some(validity),
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_codecs::LogicalType;
    use tessera_layout::Range;

    fn filter(terms: Vec<Term>) -> ColumnFilter {
        ColumnFilter {
            column: "c".to_owned(),
            terms,
        }
    }

    /// The vectorized filter agrees with `ColumnFilter::matches` row by row.
    #[test]
    fn agrees_with_row_at_a_time_matching() {
        let ints = Column::new(
            LogicalType::Int64,
            ColumnValues::Int(vec![i64::MIN, -3, 0, 5, 9, i64::MAX, 4]),
            Some(vec![true, true, true, true, true, true, false]),
        )
        .unwrap();
        let floats = Column::new(
            LogicalType::Float64,
            ColumnValues::Float(vec![-0.0, 0.0, f64::NAN, -1.5, 2.5]),
            None,
        )
        .unwrap();
        let strings = Column::new(
            LogicalType::Utf8,
            ColumnValues::Bytes(BytesColumn::from_values([&b"a"[..], b"ab", b"", b"b"]).unwrap()),
            Some(vec![true, true, true, false]),
        )
        .unwrap();
        let filters = vec![
            filter(vec![Term::Range(Range::closed(
                Scalar::Int(-3),
                Scalar::Int(5),
            ))]),
            filter(vec![
                Term::Range(Range {
                    low: Bound::Excluded(Scalar::Int(i64::MAX)),
                    high: Bound::Unbounded,
                }),
                Term::IsNull,
            ]),
            filter(vec![Term::Range(Range {
                low: Bound::Excluded(Scalar::Int(0)),
                high: Bound::Excluded(Scalar::Int(9)),
            })]),
            filter(vec![Term::IsNotNull]),
            filter(vec![Term::Range(Range::point(Scalar::Float(0.0)))]),
            filter(vec![Term::Range(Range {
                low: Bound::Included(Scalar::Float(1.0)),
                high: Bound::Unbounded,
            })]),
            filter(vec![
                Term::Range(Range {
                    low: Bound::Unbounded,
                    high: Bound::Excluded(Scalar::Bytes(b"ab".to_vec())),
                }),
                Term::IsNull,
            ]),
            filter(vec![Term::Range(Range::point(Scalar::Float(1.0)))]),
            filter(vec![Term::Range(Range {
                low: Bound::Excluded(Scalar::Float(-1.5)),
                high: Bound::Excluded(Scalar::Float(2.5)),
            })]),
            filter(vec![
                Term::Range(Range::closed(Scalar::Float(-2.0), Scalar::Float(0.0))),
                Term::Range(Range::closed(
                    Scalar::Float(f64::NAN),
                    Scalar::Float(f64::NAN),
                )),
            ]),
            filter(vec![
                Term::Range(Range::closed(Scalar::Decimal(-7), Scalar::Decimal(12))),
                Term::IsNull,
            ]),
            filter(vec![Term::Range(Range {
                low: Bound::Unbounded,
                high: Bound::Included(Scalar::Decimal(-7)),
            })]),
        ];
        let decimals = Column::new(
            LogicalType::Decimal128 {
                precision: 10,
                scale: 2,
            },
            ColumnValues::Decimal(vec![-8, -7, 0, 12, 13, 5]),
            Some(vec![true, true, true, true, true, false]),
        )
        .unwrap();
        let null_floats = Column::new(
            LogicalType::Float64,
            ColumnValues::Float(vec![1.0, 2.5, -1.5, f64::NAN, 0.5]),
            Some(vec![true, false, true, true, true]),
        )
        .unwrap();
        for column in [&ints, &floats, &strings, &decimals, &null_floats] {
            for filter in &filters {
                // From every starting row, over rows some earlier filter already dropped.
                for first in 0..column.len() {
                    let before: Vec<bool> = (first..column.len()).map(|row| row % 3 != 1).collect();
                    let mut selected = before.clone();
                    apply_filter(column, filter, &mut selected, first);
                    for (offset, &kept) in selected.iter().enumerate() {
                        let row = first + offset;
                        let value = crate::row::value_at(column, row).map(|v| v.to_scalar());
                        let expected = before[offset] && filter.matches(value.as_ref());
                        assert_eq!(kept, expected, "{filter:?} row {row} from {first}");
                    }
                }
            }
        }
    }

    /// Contiguous runs take the slice-copy path; it agrees with the gather row by row.
    #[test]
    fn contiguous_takes_agree_with_gathers() {
        let strings = Column::new(
            LogicalType::Utf8,
            ColumnValues::Bytes(
                BytesColumn::from_values([&b"a"[..], b"", b"ccc", b"dd", b"e"]).unwrap(),
            ),
            Some(vec![true, false, true, true, true]),
        )
        .unwrap();
        let ints = Column::new(
            LogicalType::Int64,
            ColumnValues::Int(vec![5, -1, 7, 9, 11]),
            None,
        )
        .unwrap();
        for column in [&strings, &ints] {
            for start in 0..column.len() {
                for end in start + 1..=column.len() {
                    let rows: Vec<u32> = (start as u32..end as u32).collect();
                    let taken = take(column, &rows).unwrap();
                    assert_eq!(taken.len(), rows.len());
                    for (index, &row) in rows.iter().enumerate() {
                        assert_eq!(
                            crate::row::value_at(&taken, index).map(|v| v.to_scalar()),
                            crate::row::value_at(column, row as usize).map(|v| v.to_scalar()),
                            "rows {start}..{end}, row {row}"
                        );
                    }
                }
            }
        }
        // A run past the end is not a slice: the gather's defaults apply.
        assert_eq!(take(&ints, &[4, 5]).unwrap().len(), 2);
    }

    #[test]
    fn take_picks_rows_and_nulls() {
        let strings = Column::new(
            LogicalType::Utf8,
            ColumnValues::Bytes(BytesColumn::from_values([&b"x"[..], b"yy", b""]).unwrap()),
            Some(vec![true, true, false]),
        )
        .unwrap();
        let taken = take(&strings, &[2, 1, 1]).unwrap();
        assert_eq!(taken.len(), 3);
        assert!(taken.is_null(0));
        assert_eq!(
            crate::row::value_at(&taken, 2).map(|v| v.to_scalar()),
            Some(Scalar::Bytes(b"yy".to_vec()))
        );
    }
}
