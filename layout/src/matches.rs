//! How many sample rows each query of a workload matches: the optimizer divides every
//! candidate's rows scanned by it. Each filtered column's rows are put in value order once;
//! a filter is then a few runs of that order, one binary search per end of each term, and a
//! query costs a pass over the rows of its most selective filter instead of over the sample.

use std::cmp::Ordering;
use std::collections::HashMap;

use tessera_codecs::Column;

use crate::keys::scalar_at;
use crate::layout::ColumnSet;
use crate::predicate::{ColumnFilter, Predicate, Scalar, Term};

/// Sample rows matching each query of `workload`, in its order; a column the sample lacks
/// reads as null. Equal to counting the rows for which [`Predicate::matches`] holds.
pub(crate) fn count_matches(sample: &ColumnSet<'_>, workload: &[Predicate]) -> Vec<f64> {
    let rows = sample.rows();
    let mut orders: HashMap<&str, ValueOrder> = HashMap::new();
    for filter in workload.iter().flat_map(|predicate| &predicate.filters) {
        if let Ok(column) = sample.column(&filter.column)
            && !orders.contains_key(filter.column.as_str())
        {
            orders.insert(filter.column.as_str(), ValueOrder::new(column));
        }
    }
    workload
        .iter()
        .map(|predicate| count_one(predicate, &orders, rows) as f64)
        .collect()
}

/// The rows `predicate` matches: those of its most selective filter's runs that every other
/// filter accepts.
fn count_one(predicate: &Predicate, orders: &HashMap<&str, ValueOrder>, rows: usize) -> usize {
    let mut filters: Vec<(&ColumnFilter, &ValueOrder, Runs)> = Vec::new();
    for filter in &predicate.filters {
        match orders.get(filter.column.as_str()) {
            Some(order) => filters.push((filter, order, order.runs(filter))),
            // A missing column's filter holds for every row or for none.
            None if filter.matches(None) => {}
            None => return 0,
        }
    }
    let length = |runs: &[(usize, usize)]| runs.iter().map(|(start, end)| end - start).sum();
    let driver = filters
        .iter()
        .enumerate()
        .min_by_key(|(_, (_, _, runs))| length(runs))
        .map(|(index, _)| index);
    let Some(driver) = driver else {
        return rows;
    };
    let (_, order, runs) = filters.swap_remove(driver);
    if filters.is_empty() {
        return length(&runs);
    }
    runs.iter()
        .flat_map(|&(start, end)| order.order.get(start..end).unwrap_or_default())
        .filter(|&&row| {
            filters.iter().all(|(filter, other, _)| {
                filter.matches(other.values.get(row).and_then(Option::as_ref))
            })
        })
        .count()
}

/// Ascending disjoint runs `[start, end)` of positions in a [`ValueOrder`]'s `order`.
type Runs = Vec<(usize, usize)>;

/// One column of the sample: its values by row, and its rows in value order.
struct ValueOrder {
    values: Vec<Option<Scalar>>,
    /// Row numbers: the nulls' first, then the others by ascending value.
    order: Vec<usize>,
    nulls: usize,
}

impl ValueOrder {
    fn new(column: &Column) -> Self {
        let values: Vec<Option<Scalar>> = (0..column.len())
            .map(|row| scalar_at(column, row))
            .collect();
        let mut pairs: Vec<(Option<&Scalar>, usize)> =
            values.iter().map(Option::as_ref).zip(0..).collect();
        // A column holds one kind, on which `compare` is a total order.
        pairs.sort_by(|(a, _), (b, _)| match (a, b) {
            (Some(a), Some(b)) => a.compare(b).unwrap_or(Ordering::Equal),
            _ => a.is_some().cmp(&b.is_some()),
        });
        let nulls = pairs
            .iter()
            .take_while(|(value, _)| value.is_none())
            .count();
        let order = pairs.iter().map(|&(_, row)| row).collect();
        Self {
            values,
            order,
            nulls,
        }
    }

    /// The positions in `order` of the rows `filter` matches.
    fn runs(&self, filter: &ColumnFilter) -> Runs {
        let mut runs: Vec<(usize, usize)> = filter
            .terms
            .iter()
            .map(|term| match term {
                Term::IsNull => (0, self.nulls),
                Term::IsNotNull => (self.nulls, self.order.len()),
                Term::Range(range) => {
                    let start = self.partition_point(|value| !range.above_low(value));
                    let end = self.partition_point(|value| range.below_high(value));
                    (start, end.max(start))
                }
            })
            .filter(|(start, end)| start < end)
            .collect();
        runs.sort_unstable();
        let mut merged: Vec<(usize, usize)> = Vec::with_capacity(runs.len());
        for (start, end) in runs {
            match merged.last_mut() {
                Some(last) if start <= last.1 => last.1 = last.1.max(end),
                _ => merged.push((start, end)),
            }
        }
        merged
    }

    /// The position in `order`, at or past the nulls, of the first non-null value for which
    /// `holds` is false; `holds` must be true and then false in ascending order.
    fn partition_point(&self, holds: impl Fn(&Scalar) -> bool) -> usize {
        let non_null = self.order.get(self.nulls..).unwrap_or_default();
        self.nulls
            + non_null.partition_point(|&row| {
                self.values
                    .get(row)
                    .and_then(Option::as_ref)
                    .is_some_and(&holds)
            })
    }
}

#[cfg(test)]
mod tests {
    use std::ops::Bound;

    use proptest::prelude::*;
    use tessera_codecs::{BytesColumn, ColumnValues, LogicalType};

    use super::*;
    use crate::predicate::Range;

    /// A sample row: `i`, and the indexes of `f`'s and `s`'s values (`None`: null).
    type Row = (Option<i64>, Option<u8>, Option<u8>);

    /// Three columns with nulls and few distinct values (so ranges meet duplicates): `i`
    /// integers, `f` floats with NaN and both zeros, `s` strings.
    fn sample(rows: &[Row]) -> (Vec<String>, Vec<Column>) {
        let floats = [f64::NAN, -0.0, 0.0, -1.5, 2.5, f64::INFINITY];
        let strings: [&[u8]; 4] = [b"", b"a", b"ab", b"b"];
        let ints = ColumnValues::Int(rows.iter().map(|row| row.0.unwrap_or(0)).collect());
        let float_values = rows
            .iter()
            .map(|row| floats[usize::from(row.1.unwrap_or(0)) % floats.len()])
            .collect();
        let string_values: Vec<&[u8]> = rows
            .iter()
            .map(|row| strings[usize::from(row.2.unwrap_or(0)) % strings.len()])
            .collect();
        let validity = |valid: fn(&Row) -> bool| Some(rows.iter().map(valid).collect());
        let columns = vec![
            Column::new(LogicalType::Int64, ints, validity(|row| row.0.is_some())).unwrap(),
            Column::new(
                LogicalType::Float64,
                ColumnValues::Float(float_values),
                validity(|row| row.1.is_some()),
            )
            .unwrap(),
            Column::new(
                LogicalType::Utf8,
                ColumnValues::Bytes(BytesColumn::from_values(string_values).unwrap()),
                validity(|row| row.2.is_some()),
            )
            .unwrap(),
        ];
        (["i", "f", "s"].map(str::to_owned).to_vec(), columns)
    }

    fn scalar() -> impl Strategy<Value = Scalar> {
        prop_oneof![
            (-3i64..8).prop_map(Scalar::Int),
            prop::sample::select(vec![f64::NAN, -0.0, 0.0, -1.5, 1.0, 2.5, f64::INFINITY])
                .prop_map(Scalar::Float),
            prop::sample::select(vec!["", "a", "aa", "ab", "b", "c"])
                .prop_map(|text| Scalar::Bytes(text.as_bytes().to_vec())),
        ]
    }

    fn bound() -> impl Strategy<Value = Bound<Scalar>> {
        prop_oneof![
            Just(Bound::Unbounded),
            scalar().prop_map(Bound::Included),
            scalar().prop_map(Bound::Excluded),
        ]
    }

    fn term() -> impl Strategy<Value = Term> {
        prop_oneof![
            Just(Term::IsNull),
            Just(Term::IsNotNull),
            (bound(), bound()).prop_map(|(low, high)| Term::Range(Range { low, high })),
            scalar().prop_map(|value| Term::Range(Range::point(value))),
        ]
    }

    fn predicate() -> impl Strategy<Value = Predicate> {
        let filter = (
            prop::sample::select(vec!["i", "f", "s", "missing"]),
            prop::collection::vec(term(), 0..4),
        )
            .prop_map(|(column, terms)| ColumnFilter {
                column: column.to_owned(),
                terms,
            });
        prop::collection::vec(filter, 0..4).prop_map(|filters| Predicate { filters })
    }

    proptest::proptest! {
        #[test]
        fn counts_agree_with_matching_row_by_row(
            rows in prop::collection::vec(
                (
                    prop::option::weighted(0.8, -2i64..6),
                    prop::option::weighted(0.8, 0u8..6),
                    prop::option::weighted(0.8, 0u8..4),
                ),
                0..60,
            ),
            workload in prop::collection::vec(predicate(), 1..6),
        ) {
            let (names, columns) = sample(&rows);
            let counted = count_matches(&ColumnSet::new(&names, &columns).unwrap(), &workload);
            let expected: Vec<f64> = workload
                .iter()
                .map(|predicate| {
                    (0..rows.len())
                        .filter(|&row| {
                            let values: Vec<Option<Scalar>> =
                                columns.iter().map(|column| scalar_at(column, row)).collect();
                            predicate.matches(|name| {
                                let index = names.iter().position(|candidate| candidate == name)?;
                                values.get(index)?.as_ref()
                            })
                        })
                        .count() as f64
                })
                .collect();
            prop_assert_eq!(counted, expected);
        }
    }

    #[test]
    fn a_missing_column_reads_as_null() {
        let (names, columns) = sample(&[(Some(1), None, None), (None, Some(1), Some(1))]);
        let on_missing = |term: Term| Predicate {
            filters: vec![ColumnFilter {
                column: "missing".to_owned(),
                terms: vec![term],
            }],
        };
        let workload = [on_missing(Term::IsNull), on_missing(Term::IsNotNull)];
        let set = ColumnSet::new(&names, &columns).unwrap();
        assert_eq!(count_matches(&set, &workload), [2.0, 0.0]);
    }
}
