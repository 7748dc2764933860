//! Order-preserving numeric keys: every value of every physical kind maps to an `f64` such
//! that `a <= b` (in [`Scalar::compare`] order) implies `key(a) <= key(b)`.
//!
//! The map is monotone but not injective (long strings share their 8-byte prefix, integers
//! beyond 2^53 round), which is all partitioning needs: a row's partition is a monotone
//! function of its key, so a range of values maps to a range of partitions, and collisions
//! only make pruning coarser, never wrong. Floats map `-0.0` to `0.0` and NaN to `+inf`,
//! matching [`crate::predicate::float_order`], in which NaN sorts last.
//!
//! Predicates map to [`Span`]s: the set of keys (and whether null) a filter can accept.

use tessera_codecs::{Column, ColumnValues, PhysicalKind};

use crate::cdf::prefix_key;
use crate::predicate::{ColumnFilter, Range, Scalar, Term};

/// The order-preserving key of a float.
pub fn float_key(value: f64) -> f64 {
    if value.is_nan() {
        f64::INFINITY
    } else {
        // Adding zero turns -0.0 into 0.0 and leaves everything else unchanged.
        value + 0.0
    }
}

/// The order-preserving key of one value.
pub fn scalar_key(value: &Scalar) -> f64 {
    match value {
        Scalar::Int(value) => *value as f64,
        Scalar::Float(value) => float_key(*value),
        Scalar::Decimal(value) => *value as f64,
        Scalar::Bool(value) => f64::from(u8::from(*value)),
        Scalar::Bytes(value) => prefix_key(value),
    }
}

/// The key of every value of a column, nulls included (their keys are meaningless; consult
/// the validity).
pub(crate) fn column_keys(column: &Column) -> Vec<f64> {
    match column.values() {
        ColumnValues::Int(values) => values.iter().map(|&value| value as f64).collect(),
        ColumnValues::Float(values) => values.iter().map(|&value| float_key(value)).collect(),
        ColumnValues::Decimal(values) => values.iter().map(|&value| value as f64).collect(),
        ColumnValues::Bool(values) => values
            .iter()
            .map(|&value| f64::from(u8::from(value)))
            .collect(),
        ColumnValues::Bytes(values) => values.iter().map(prefix_key).collect(),
    }
}

/// The key of one row's value, as [`column_keys`] computes it (meaningless for a null;
/// `-inf` past the end).
pub(crate) fn key_at(column: &Column, row: usize) -> f64 {
    let key = match column.values() {
        ColumnValues::Int(values) => values.get(row).map(|&value| value as f64),
        ColumnValues::Float(values) => values.get(row).map(|&value| float_key(value)),
        ColumnValues::Decimal(values) => values.get(row).map(|&value| value as f64),
        ColumnValues::Bool(values) => values.get(row).map(|&value| f64::from(u8::from(value))),
        ColumnValues::Bytes(values) => values.get(row).map(prefix_key),
    };
    key.unwrap_or(f64::NEG_INFINITY)
}

/// Whether row `row` of `column` holds a value (is not null).
pub(crate) fn is_valid(column: &Column, row: usize) -> bool {
    column
        .validity()
        .is_none_or(|validity| validity.get(row).copied().unwrap_or(true))
}

/// The value of one row as a [`Scalar`] (`None` for null or out of range).
pub(crate) fn scalar_at(column: &Column, row: usize) -> Option<Scalar> {
    if !is_valid(column, row) {
        return None;
    }
    match column.values() {
        ColumnValues::Int(values) => values.get(row).map(|&value| Scalar::Int(value)),
        ColumnValues::Float(values) => values.get(row).map(|&value| Scalar::Float(value)),
        ColumnValues::Decimal(values) => values.get(row).map(|&value| Scalar::Decimal(value)),
        ColumnValues::Bool(values) => values.get(row).map(|&value| Scalar::Bool(value)),
        ColumnValues::Bytes(values) => values.get(row).map(|value| Scalar::Bytes(value.to_vec())),
    }
}

/// The keys a filter can accept: whether null, and a union of closed key intervals.
#[derive(Debug, Clone, PartialEq)]
pub struct Span {
    /// Whether a null can match.
    pub null: bool,
    /// Closed intervals `[low, high]` of keys, ascending and disjoint.
    pub intervals: Vec<(f64, f64)>,
}

impl Span {
    /// Every key and null.
    pub fn everything() -> Self {
        Self {
            null: true,
            intervals: vec![(f64::NEG_INFINITY, f64::INFINITY)],
        }
    }

    /// No key and no null.
    pub fn nothing() -> Self {
        Self {
            null: false,
            intervals: Vec::new(),
        }
    }

    /// Whether nothing can match.
    pub fn is_nothing(&self) -> bool {
        !self.null && self.intervals.is_empty()
    }

    /// Whether every non-null key can match.
    pub fn all_keys(&self) -> bool {
        matches!(self.intervals.as_slice(), [(low, high)] if *low == f64::NEG_INFINITY && *high == f64::INFINITY)
    }

    /// The keys (and null) `filter` can accept on a column of `kind`. A term whose values are
    /// of another kind is taken to accept everything: pruning stays correct even when a
    /// caller compares across kinds.
    pub fn of_filter(filter: &ColumnFilter, kind: PhysicalKind) -> Self {
        let mut span = Self::nothing();
        for term in &filter.terms {
            match term {
                Term::IsNull => span.null = true,
                Term::IsNotNull => span.intervals.push((f64::NEG_INFINITY, f64::INFINITY)),
                Term::Range(range) => match range_keys(range, kind) {
                    RangeKeys::Empty => {}
                    RangeKeys::Interval(low, high) => span.intervals.push((low, high)),
                    RangeKeys::Unknown => return Self::everything(),
                },
            }
        }
        span.normalize();
        span
    }

    /// The keys every filter on the column accepts (a conjunction).
    pub fn of_filters<'a>(
        filters: impl Iterator<Item = &'a ColumnFilter>,
        kind: PhysicalKind,
    ) -> Self {
        filters.fold(Self::everything(), |span, filter| {
            span.intersect(&Self::of_filter(filter, kind))
        })
    }

    /// Sorts and merges the intervals.
    fn normalize(&mut self) {
        self.intervals.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut merged: Vec<(f64, f64)> = Vec::with_capacity(self.intervals.len());
        for (low, high) in self.intervals.drain(..) {
            match merged.last_mut() {
                Some(last) if low <= last.1 => last.1 = last.1.max(high),
                _ => merged.push((low, high)),
            }
        }
        self.intervals = merged;
    }

    /// Keys both spans accept.
    pub fn intersect(&self, other: &Span) -> Span {
        let mut intervals = Vec::new();
        let (mut left, mut right) = (self.intervals.iter(), other.intervals.iter());
        let (mut a, mut b) = (left.next(), right.next());
        while let (Some(&(a_low, a_high)), Some(&(b_low, b_high))) = (a, b) {
            let (low, high) = (a_low.max(b_low), a_high.min(b_high));
            if low <= high {
                intervals.push((low, high));
            }
            if a_high < b_high {
                a = left.next();
            } else {
                b = right.next();
            }
        }
        Span {
            null: self.null && other.null,
            intervals,
        }
    }

    /// Whether a row with key `key` (`None` = null) may match.
    pub fn admits(&self, key: Option<f64>) -> bool {
        match key {
            None => self.null,
            Some(key) => self
                .intervals
                .iter()
                .any(|&(low, high)| low <= key && key <= high),
        }
    }

    /// The smallest interval holding every accepted key, if any key is accepted.
    pub fn hull(&self) -> Option<(f64, f64)> {
        let low = self.intervals.first()?.0;
        let high = self.intervals.last()?.1;
        Some((low, high))
    }
}

/// The key interval of a range's values.
enum RangeKeys {
    /// No value lies in the range.
    Empty,
    /// Values in the range have keys in `[low, high]`.
    Interval(f64, f64),
    /// The range's values are of another kind: assume anything.
    Unknown,
}

fn range_keys(range: &Range, kind: PhysicalKind) -> RangeKeys {
    use std::ops::Bound;
    let kind_of = |bound: &Bound<Scalar>| match bound {
        Bound::Included(value) | Bound::Excluded(value) => Some(value.kind()),
        Bound::Unbounded => None,
    };
    if [kind_of(&range.low), kind_of(&range.high)]
        .into_iter()
        .flatten()
        .any(|bound_kind| bound_kind != kind)
    {
        return RangeKeys::Unknown;
    }
    if range.is_empty() {
        return RangeKeys::Empty;
    }
    let low = match &range.low {
        Bound::Included(value) | Bound::Excluded(value) => scalar_key(value),
        Bound::Unbounded => f64::NEG_INFINITY,
    };
    let high = match &range.high {
        Bound::Included(value) | Bound::Excluded(value) => scalar_key(value),
        Bound::Unbounded => f64::INFINITY,
    };
    if low <= high {
        RangeKeys::Interval(low, high)
    } else {
        RangeKeys::Empty
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::predicate::float_order;
    use std::cmp::Ordering;

    #[test]
    fn keys_are_monotone_in_scalar_order() {
        let floats = [
            f64::NEG_INFINITY,
            -1.5,
            -0.0,
            0.0,
            1e-300,
            2.0,
            f64::INFINITY,
            f64::NAN,
        ];
        for &a in &floats {
            for &b in &floats {
                if float_order(a, b) != Ordering::Greater {
                    assert!(float_key(a) <= float_key(b), "{a} {b}");
                }
            }
        }
        let strings: [&[u8]; 4] = [b"", b"abcdefgh", b"abcdefghz", b"abd"];
        for pair in strings.windows(2) {
            assert!(
                scalar_key(&Scalar::Bytes(pair[0].to_vec()))
                    <= scalar_key(&Scalar::Bytes(pair[1].to_vec()))
            );
        }
    }

    #[test]
    fn spans_union_terms_and_intersect_filters() {
        let filter = |terms: Vec<Term>| ColumnFilter {
            column: "a".into(),
            terms,
        };
        let a = filter(vec![
            Term::Range(Range::closed(Scalar::Int(1), Scalar::Int(5))),
            Term::Range(Range::closed(Scalar::Int(4), Scalar::Int(9))),
            Term::IsNull,
        ]);
        let span = Span::of_filter(&a, PhysicalKind::Int);
        assert_eq!(span.intervals, vec![(1.0, 9.0)]);
        assert!(span.null);
        let b = filter(vec![Term::Range(Range::closed(
            Scalar::Int(7),
            Scalar::Int(20),
        ))]);
        let both = Span::of_filters([&a, &b].into_iter(), PhysicalKind::Int);
        assert_eq!(both.intervals, vec![(7.0, 9.0)]);
        assert!(!both.null);
        let empty = filter(vec![Term::Range(Range::closed(
            Scalar::Int(3),
            Scalar::Int(2),
        ))]);
        assert!(Span::of_filter(&empty, PhysicalKind::Int).is_nothing());
        let mismatched = filter(vec![Term::Range(Range::point(Scalar::Float(1.0)))]);
        assert_eq!(
            Span::of_filter(&mismatched, PhysicalKind::Int),
            Span::everything()
        );
    }
}
