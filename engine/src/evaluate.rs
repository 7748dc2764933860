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

/// Clears `selected[row]` for every row of `column` the filter rejects.
pub(crate) fn apply_filter(column: &Column, filter: &ColumnFilter, selected: &mut [bool]) {
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
    let null_at = |row: usize| validity.is_some_and(|valid| valid.get(row) == Some(&false));
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
            by_value!(values.iter(), |value: &i64| bounds
                .iter()
                .any(|&(low, high)| low <= *value && *value <= high));
        }
        ColumnValues::Decimal(values) => {
            let bounds: Vec<(i128, i128)> = ranges
                .iter()
                .filter_map(|(low, high)| decimal_bounds(low, high))
                .collect();
            by_value!(values.iter(), |value: &i128| bounds
                .iter()
                .any(|&(low, high)| low <= *value && *value <= high));
        }
        ColumnValues::Float(values) => {
            by_value!(values.iter(), |value: &f64| ranges.iter().any(
                |(low, high)| {
                    within(low, high, |bound| match bound {
                        Scalar::Float(bound) => Some(float_order(*value, *bound)),
                        _ => None,
                    })
                }
            ));
        }
        ColumnValues::Bool(values) => {
            by_value!(values.iter(), |value: &bool| ranges.iter().any(
                |(low, high)| {
                    within(low, high, |bound| match bound {
                        Scalar::Bool(bound) => Some(value.cmp(bound)),
                        _ => None,
                    })
                }
            ));
        }
        ColumnValues::Bytes(values) => {
            by_value!(values.iter(), |value: &[u8]| ranges.iter().any(
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
        ];
        for column in [&ints, &floats, &strings] {
            for filter in &filters {
                let mut selected = vec![true; column.len()];
                apply_filter(column, filter, &mut selected);
                for (row, &kept) in selected.iter().enumerate() {
                    let value = crate::row::value_at(column, row).map(|v| v.to_scalar());
                    assert_eq!(kept, filter.matches(value.as_ref()), "{filter:?} row {row}");
                }
            }
        }
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
