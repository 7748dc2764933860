//! Predicates as the layout and the engine both understand them: a conjunction over columns,
//! each a disjunction of ranges, points and `IS [NOT] NULL`.
//!
//! Values are [`Scalar`]s in the physical domain of `tessera-codecs` (integers, dates and
//! timestamps as `i64`, `UInt64` order-preserved, decimals as scaled `i128`), so a predicate
//! can be evaluated against block statistics and encoded data without conversions.

use std::cmp::Ordering;
use std::ops::Bound;

use tessera_codecs::PhysicalKind;

/// One value in a predicate, in the codec layer's physical domain.
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar {
    /// Integers, dates, timestamps.
    Int(i64),
    /// Floats.
    Float(f64),
    /// Scaled decimals.
    Decimal(i128),
    /// Booleans.
    Bool(bool),
    /// Strings and binary, compared bytewise.
    Bytes(Vec<u8>),
}

impl Scalar {
    /// The physical kind of column this value belongs to.
    pub fn kind(&self) -> PhysicalKind {
        match self {
            Self::Int(_) => PhysicalKind::Int,
            Self::Float(_) => PhysicalKind::Float,
            Self::Decimal(_) => PhysicalKind::Decimal,
            Self::Bool(_) => PhysicalKind::Bool,
            Self::Bytes(_) => PhysicalKind::Bytes,
        }
    }

    /// Compares two scalars of the same kind; `None` across kinds. Floats use a total order
    /// in which `-0.0 == 0.0` and NaN sorts above every other value, as in SQL engines that
    /// order NaN last.
    pub fn compare(&self, other: &Scalar) -> Option<Ordering> {
        match (self, other) {
            (Self::Int(a), Self::Int(b)) => Some(a.cmp(b)),
            (Self::Float(a), Self::Float(b)) => Some(float_order(*a, *b)),
            (Self::Decimal(a), Self::Decimal(b)) => Some(a.cmp(b)),
            (Self::Bool(a), Self::Bool(b)) => Some(a.cmp(b)),
            (Self::Bytes(a), Self::Bytes(b)) => Some(a.as_slice().cmp(b.as_slice())),
            _ => None,
        }
    }
}

/// Total order on floats with `-0.0 == 0.0` and every NaN equal and greatest.
pub fn float_order(a: f64, b: f64) -> Ordering {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        (false, false) => a.partial_cmp(&b).unwrap_or(Ordering::Equal),
    }
}

/// A range of values; a point is `[v, v]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Range {
    /// Lower end.
    pub low: Bound<Scalar>,
    /// Upper end.
    pub high: Bound<Scalar>,
}

impl Range {
    /// `[low, high]`.
    pub fn closed(low: Scalar, high: Scalar) -> Self {
        Self {
            low: Bound::Included(low),
            high: Bound::Included(high),
        }
    }

    /// `[value, value]`.
    pub fn point(value: Scalar) -> Self {
        Self::closed(value.clone(), value)
    }

    /// Whether `value` lies in the range (a value of another kind never does).
    pub fn contains(&self, value: &Scalar) -> bool {
        self.above_low(value) && self.below_high(value)
    }

    /// Whether `value` satisfies the lower end (a bounded end is never satisfied by a value of
    /// another kind). Over the values of any one kind, in ascending order, it is false and
    /// then true.
    pub fn above_low(&self, value: &Scalar) -> bool {
        match &self.low {
            Bound::Unbounded => true,
            Bound::Included(low) => matches!(
                value.compare(low),
                Some(Ordering::Greater | Ordering::Equal)
            ),
            Bound::Excluded(low) => matches!(value.compare(low), Some(Ordering::Greater)),
        }
    }

    /// Whether `value` satisfies the upper end (a bounded end is never satisfied by a value of
    /// another kind). Over the values of any one kind, in ascending order, it is true and
    /// then false.
    pub fn below_high(&self, value: &Scalar) -> bool {
        match &self.high {
            Bound::Unbounded => true,
            Bound::Included(high) => {
                matches!(value.compare(high), Some(Ordering::Less | Ordering::Equal))
            }
            Bound::Excluded(high) => matches!(value.compare(high), Some(Ordering::Less)),
        }
    }

    /// Whether no value can lie in the range (its ends cross, or meet with one excluded).
    pub fn is_empty(&self) -> bool {
        let (low, low_included) = match &self.low {
            Bound::Unbounded => return false,
            Bound::Included(low) => (low, true),
            Bound::Excluded(low) => (low, false),
        };
        let (high, high_included) = match &self.high {
            Bound::Unbounded => return false,
            Bound::Included(high) => (high, true),
            Bound::Excluded(high) => (high, false),
        };
        match low.compare(high) {
            Some(Ordering::Greater) | None => true,
            Some(Ordering::Equal) => !(low_included && high_included),
            Some(Ordering::Less) => false,
        }
    }

    /// Whether the range can hold a value in `[min, max]` (block statistics): false only when
    /// the range is empty or the whole of `[min, max]` lies outside it.
    pub fn overlaps(&self, min: &Scalar, max: &Scalar) -> bool {
        if self.is_empty() {
            return false;
        }
        let low_ok = match &self.low {
            Bound::Unbounded => true,
            Bound::Included(low) => !matches!(max.compare(low), Some(Ordering::Less)),
            Bound::Excluded(low) => {
                !matches!(max.compare(low), Some(Ordering::Less | Ordering::Equal))
            }
        };
        let high_ok = match &self.high {
            Bound::Unbounded => true,
            Bound::Included(high) => !matches!(min.compare(high), Some(Ordering::Greater)),
            Bound::Excluded(high) => {
                !matches!(min.compare(high), Some(Ordering::Greater | Ordering::Equal))
            }
        };
        low_ok && high_ok
    }
}

/// One alternative of a column filter.
#[derive(Debug, Clone, PartialEq)]
pub enum Term {
    /// The value lies in a range.
    Range(Range),
    /// The value is null.
    IsNull,
    /// The value is not null.
    IsNotNull,
}

/// A disjunction of terms on one column.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnFilter {
    /// The column's name.
    pub column: String,
    /// The alternatives; a row matches when any does. Empty matches nothing.
    pub terms: Vec<Term>,
}

impl ColumnFilter {
    /// Whether a value (`None` = null) matches.
    pub fn matches(&self, value: Option<&Scalar>) -> bool {
        self.terms.iter().any(|term| match (term, value) {
            (Term::IsNull, None) | (Term::IsNotNull, Some(_)) => true,
            (Term::Range(range), Some(value)) => range.contains(value),
            _ => false,
        })
    }

    /// Whether a block whose non-null values lie in `[min, max]` (`None` when all are null)
    /// and which holds `null_count` nulls among `rows` can hold a match.
    pub fn may_match(
        &self,
        min_max: Option<(&Scalar, &Scalar)>,
        null_count: usize,
        rows: usize,
    ) -> bool {
        self.terms.iter().any(|term| match term {
            Term::IsNull => null_count > 0,
            Term::IsNotNull => null_count < rows,
            Term::Range(range) => min_max.is_some_and(|(min, max)| range.overlaps(min, max)),
        })
    }

    /// Whether every row of a block whose non-null values lie in `[min, max]` (`None` when
    /// all are null) and which holds `null_count` nulls among `rows` matches: a scan need not
    /// evaluate the filter there. Loose statistics (a truncated string bound) only make the
    /// answer `false` more often.
    pub fn covers(
        &self,
        min_max: Option<(&Scalar, &Scalar)>,
        null_count: usize,
        rows: usize,
    ) -> bool {
        let nulls_pass =
            null_count == 0 || self.terms.iter().any(|term| matches!(term, Term::IsNull));
        let values_pass = null_count >= rows
            || self.terms.iter().any(|term| match term {
                Term::IsNotNull => true,
                Term::IsNull => false,
                // A range holds everything between two values it holds.
                Term::Range(range) => {
                    min_max.is_some_and(|(min, max)| range.contains(min) && range.contains(max))
                }
            });
        nulls_pass && values_pass
    }
}

/// A conjunction of column filters; empty matches every row.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Predicate {
    /// The filters, all of which must hold.
    pub filters: Vec<ColumnFilter>,
}

impl Predicate {
    /// The predicate that matches every row.
    pub fn all() -> Self {
        Self::default()
    }

    /// Adds a filter.
    pub fn and(mut self, filter: ColumnFilter) -> Self {
        self.filters.push(filter);
        self
    }

    /// Whether a row matches, given a way to read its value per column name (`None` = null).
    pub fn matches<'a>(&self, mut value_of: impl FnMut(&str) -> Option<&'a Scalar>) -> bool {
        self.filters
            .iter()
            .all(|filter| filter.matches(value_of(&filter.column)))
    }

    /// The filters on one column.
    pub fn filters_on<'a>(
        &'a self,
        column: &'a str,
    ) -> impl Iterator<Item = &'a ColumnFilter> + 'a {
        self.filters
            .iter()
            .filter(move |filter| filter.column == column)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn int_range(low: Bound<i64>, high: Bound<i64>) -> Range {
        Range {
            low: low.map(Scalar::Int),
            high: high.map(Scalar::Int),
        }
    }

    #[test]
    fn range_contains_agrees_with_bounds() {
        let range = int_range(Bound::Excluded(3), Bound::Included(7));
        let inside: Vec<i64> = (0..10)
            .filter(|&v| range.contains(&Scalar::Int(v)))
            .collect();
        assert_eq!(inside, vec![4, 5, 6, 7]);
        assert!(!range.contains(&Scalar::Float(5.0)), "kinds never mix");
    }

    #[test]
    fn overlap_is_exact_at_the_edges() {
        // Differential: overlaps(min, max) == exists v in [min, max] with contains(v).
        let bounds = [
            Bound::Unbounded,
            Bound::Included(2),
            Bound::Excluded(2),
            Bound::Included(5),
            Bound::Excluded(5),
        ];
        for low in &bounds {
            for high in &bounds {
                let range = int_range(*low, *high);
                for min in 0..8 {
                    for max in min..8 {
                        let brute = (min..=max).any(|v| range.contains(&Scalar::Int(v)));
                        assert_eq!(
                            range.overlaps(&Scalar::Int(min), &Scalar::Int(max)),
                            brute,
                            "{range:?} on [{min}, {max}]"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn covers_is_exact_on_blocks_of_integers_and_nulls() {
        // Differential: covers(zone) against every value of the block matching, for blocks whose
        // non-null values span exactly [min, max] and hold `nulls` nulls.
        let bounds = [
            Bound::Unbounded,
            Bound::Included(2),
            Bound::Excluded(2),
            Bound::Included(5),
            Bound::Excluded(5),
        ];
        let mut filters = Vec::new();
        for low in &bounds {
            for high in &bounds {
                let range = Term::Range(int_range(*low, *high));
                filters.push(vec![range.clone()]);
                filters.push(vec![range.clone(), Term::IsNull]);
                filters.push(vec![
                    range,
                    Term::Range(int_range(Bound::Included(6), Bound::Unbounded)),
                ]);
            }
        }
        let ranges = |filter: &ColumnFilter| {
            filter
                .terms
                .iter()
                .filter(|term| matches!(term, Term::Range(_)))
                .count()
        };
        filters.push(vec![Term::IsNull]);
        filters.push(vec![Term::IsNotNull]);
        filters.push(vec![Term::IsNotNull, Term::IsNull]);
        for terms in filters {
            let filter = ColumnFilter {
                column: "a".into(),
                terms,
            };
            for nulls in 0..2 {
                // All null.
                assert_eq!(
                    filter.covers(None, 3, 3),
                    filter.matches(None),
                    "{filter:?} on nulls"
                );
                for min in 0..8 {
                    for max in min..8 {
                        let brute = (min..=max).all(|v| filter.matches(Some(&Scalar::Int(v))))
                            && (nulls == 0 || filter.matches(None));
                        let zone = (Scalar::Int(min), Scalar::Int(max));
                        // A block holding [min, max] never holds fewer than one or two values.
                        let values = if min == max { 1 } else { 2 };
                        let covers = filter.covers(Some((&zone.0, &zone.1)), nulls, values + nulls);
                        // Never wrong; exact unless ranges only cover together.
                        assert!(
                            !covers || brute,
                            "{filter:?} on [{min}, {max}], {nulls} nulls"
                        );
                        if ranges(&filter) <= 1 {
                            assert_eq!(
                                covers, brute,
                                "{filter:?} on [{min}, {max}], {nulls} nulls"
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn floats_order_nan_last_and_zeroes_equal() {
        assert_eq!(float_order(-0.0, 0.0), Ordering::Equal);
        assert_eq!(float_order(f64::NAN, f64::INFINITY), Ordering::Greater);
        let range = Range::closed(Scalar::Float(0.0), Scalar::Float(1.0));
        assert!(range.contains(&Scalar::Float(-0.0)));
        assert!(!range.contains(&Scalar::Float(f64::NAN)));
    }

    #[test]
    fn filters_and_nulls() {
        let filter = ColumnFilter {
            column: "a".into(),
            terms: vec![Term::IsNull, Term::Range(Range::point(Scalar::Int(4)))],
        };
        assert!(filter.matches(None));
        assert!(filter.matches(Some(&Scalar::Int(4))));
        assert!(!filter.matches(Some(&Scalar::Int(5))));
        assert!(filter.may_match(None, 3, 3));
        assert!(!filter.may_match(Some((&Scalar::Int(5), &Scalar::Int(9))), 0, 10));
        let predicate = Predicate::all().and(filter);
        let four = Scalar::Int(4);
        assert!(predicate.matches(|_| Some(&four)));
        assert!(Predicate::all().matches(|_| None));
    }
}
