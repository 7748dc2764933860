//! Partitioning one column: the building block every multi-dimensional layout shares.
//!
//! A [`Partitioner`] maps each value of a column to one of `count` partitions, and a
//! filter on the column to the partitions that may hold its matches. Two kinds:
//!
//! - [`Partitioner::Ranges`]: equal-mass ranges from a CDF model. A value's partition is
//!   `floor(cdf(key) · count)`, which is monotone in the value, so a range of values maps to
//!   a range of partitions (Flood's per-column learned partitioning: skew is flattened, each
//!   partition holds about `1/count` of the rows).
//! - [`Partitioner::Values`]: value sets for low-cardinality columns (Qd-tree's categorical
//!   cuts). Each known value belongs to one partition, so `=` and `IN` prune exactly; values
//!   not seen when the partitioner was built go to a last, "other" partition.
//!
//! Nulls always go to partition 0, so `IS NULL` keeps partition 0 only.

use std::cmp::Ordering;
use std::ops::{Bound, RangeInclusive};

use tessera_codecs::{Column, ColumnValues, PhysicalKind};

use crate::cdf::CdfModel;
use crate::keys::{Span, column_keys, is_valid, scalar_at, scalar_key};
use crate::layout::LayoutError;
use crate::predicate::{ColumnFilter, Range, Scalar, Term, float_order};
use crate::wire::{Reader, Writer};

/// Largest magnitude of an integer or decimal whose key (an `f64`) is exact.
const EXACT_KEY_MAX: u64 = 1 << 52;

/// Most partitions one column may have.
pub const MAX_PARTITIONS: u32 = 1 << 16;

/// Maps one column's values to partitions.
#[derive(Debug, Clone, PartialEq)]
pub enum Partitioner {
    /// Equal-mass ranges of a CDF model.
    Ranges {
        /// The column's distribution.
        model: CdfModel,
        /// Partitions, at least 1.
        count: u32,
    },
    /// Value sets.
    Values {
        /// Known values, ascending by [`Scalar::compare`], distinct, all of the column's kind.
        values: Vec<Scalar>,
        /// The partition of each known value, below `count - 1`.
        partition_of: Vec<u32>,
        /// Partitions, the last one for values not in `values`.
        count: u32,
    },
}

impl Partitioner {
    /// Equal-mass ranges fitted on the non-null values of `column`.
    pub fn ranges(column: &Column, count: u32) -> Self {
        Self::Ranges {
            model: CdfModel::fit_column(column),
            count: count.clamp(1, MAX_PARTITIONS),
        }
    }

    /// Value sets for the distinct non-null values of `column`, grouped into at most
    /// `groups` partitions of about equal mass (contiguous in value order, so ranges prune
    /// too), plus the "other" partition.
    pub fn values(column: &Column, groups: u32) -> Self {
        Self::values_from_distinct(&distinct_values(column), groups)
    }

    /// Equal-mass ranges of a CDF model fitted on `keys` (non-null keys, any order).
    pub fn ranges_of_keys(keys: &[f64], count: u32) -> Self {
        Self::Ranges {
            model: CdfModel::fit(keys, crate::cdf::default_epsilon(keys.len())),
            count: count.clamp(1, MAX_PARTITIONS),
        }
    }

    /// The same ranges model cut into `count` partitions (value sets are returned as they
    /// are: regrouping them needs the values' counts, see [`Self::values_from_distinct`]).
    pub fn with_count(&self, count: u32) -> Self {
        match self {
            Self::Ranges { model, .. } => Self::Ranges {
                model: model.clone(),
                count: count.clamp(1, MAX_PARTITIONS),
            },
            values @ Self::Values { .. } => values.clone(),
        }
    }

    /// [`Self::values`] from distinct values and their counts, ascending.
    pub fn values_from_distinct(distinct: &[(Scalar, usize)], groups: u32) -> Self {
        let groups = groups.clamp(1, MAX_PARTITIONS - 1) as usize;
        let total: usize = distinct.iter().map(|(_, count)| count).sum();
        let mut values = Vec::with_capacity(distinct.len());
        let mut partition_of = Vec::with_capacity(distinct.len());
        let mut partition = 0u32;
        let mut seen = 0usize;
        let distinct_len = distinct.len();
        for (index, (value, count)) in distinct.iter().cloned().enumerate() {
            // Start a new group once the current one holds its share of the mass, or when
            // there are groups enough left for every remaining value to have its own.
            let groups_left = groups.saturating_sub(partition as usize + 1);
            let share_reached = seen * groups >= (partition as usize + 1) * total.max(1);
            if index > 0
                && groups_left > 0
                && (share_reached || distinct_len - index <= groups_left)
            {
                partition += 1;
            }
            seen += count;
            values.push(value);
            partition_of.push(partition);
        }
        let used = partition_of.last().map_or(0, |&last| last + 1);
        Self::Values {
            values,
            partition_of,
            count: used + 1,
        }
    }

    /// Number of partitions.
    pub fn count(&self) -> u32 {
        match self {
            Self::Ranges { count, .. } | Self::Values { count, .. } => *count,
        }
    }

    /// Bytes the partitioner's model takes, roughly.
    pub fn model_bytes(&self) -> usize {
        match self {
            Self::Ranges { model, .. } => model.size_bytes(),
            Self::Values { values, .. } => values
                .iter()
                .map(|value| match value {
                    Scalar::Bytes(bytes) => bytes.len() + 8,
                    _ => 20,
                })
                .sum(),
        }
    }

    /// The partition of a non-null value with key `key` (ranges only; value sets answer
    /// through [`Self::assign`]).
    pub fn partition_of_key(&self, key: f64) -> u32 {
        match self {
            Self::Ranges { model, count } => {
                let scale = f64::from(*count) / model.sample_len().max(1) as f64;
                ((model.rank(key) * scale) as u32).min(count.saturating_sub(1))
            }
            Self::Values { count, .. } => count.saturating_sub(1),
        }
    }

    /// The partition of every row of `column` (nulls in 0).
    pub fn assign(&self, column: &Column) -> Vec<u32> {
        match self {
            Self::Ranges { .. } => {
                let keys = column_keys(column);
                let mut partitions: Vec<u32> =
                    keys.iter().map(|&key| self.partition_of_key(key)).collect();
                if let Some(validity) = column.validity() {
                    for (partition, &valid) in partitions.iter_mut().zip(validity) {
                        if !valid {
                            *partition = 0;
                        }
                    }
                }
                partitions
            }
            Self::Values {
                values,
                partition_of,
                count,
            } => {
                let other = count.saturating_sub(1);
                (0..column.len())
                    .map(|row| {
                        if !is_valid(column, row) {
                            return 0;
                        }
                        let position = values.partition_point(|known| {
                            compare_row(column.values(), row, known) == Some(Ordering::Greater)
                        });
                        match values.get(position) {
                            Some(known)
                                if compare_row(column.values(), row, known)
                                    == Some(Ordering::Equal) =>
                            {
                                partition_of.get(position).copied().unwrap_or(other)
                            }
                            _ => other,
                        }
                    })
                    .collect()
            }
        }
    }

    /// The partitions that may hold rows matching every filter in `filters` (all on this
    /// column, of kind `kind`), ascending and disjoint.
    pub fn partitions(
        &self,
        filters: &[&ColumnFilter],
        kind: PhysicalKind,
    ) -> Vec<RangeInclusive<u32>> {
        let count = self.count();
        let all = || vec![0..=count.saturating_sub(1)];
        match self {
            Self::Ranges { .. } => {
                let span = Span::of_filters(filters.iter().copied(), kind);
                let mut ranges = Vec::new();
                if span.null {
                    ranges.push(0..=0);
                }
                for &(low, high) in &span.intervals {
                    ranges.push(self.partition_of_key(low)..=self.partition_of_key(high));
                }
                normalize(ranges)
            }
            Self::Values { .. } => {
                let mut keep = vec![true; count as usize];
                for filter in filters {
                    let allowed = self.value_partitions(filter, kind);
                    for (slot, allowed) in keep.iter_mut().zip(allowed) {
                        *slot &= allowed;
                    }
                }
                if keep.iter().all(|&kept| kept) {
                    return all();
                }
                ranges_of(&keep)
            }
        }
    }

    /// Per partition: whether every row the partitioner puts there passes `filter` (on
    /// this column, of kind `kind`). Conservative: partition 0 (which holds the nulls), a
    /// value set's "other" partition, floats (whose equal values may differ in sign) and
    /// strings in ranges (keys are prefixes) are never covered; a range partition is
    /// covered when it lies strictly between the partitions of a range's ends, whose keys
    /// are then exact integers, so every key in it, and the value behind it, is inside.
    pub fn covered(&self, filter: &ColumnFilter, kind: PhysicalKind) -> Vec<bool> {
        let count = self.count() as usize;
        let mut covered = vec![false; count];
        let exact = |value: &Scalar| match value {
            Scalar::Int(value) => value.unsigned_abs() <= EXACT_KEY_MAX,
            Scalar::Decimal(value) => value.unsigned_abs() <= u128::from(EXACT_KEY_MAX),
            _ => false,
        };
        match self {
            Self::Values {
                values,
                partition_of,
                ..
            } => {
                if kind == PhysicalKind::Float {
                    return covered;
                }
                let mut all_pass = vec![true; count];
                for (value, &partition) in values.iter().zip(partition_of) {
                    if !filter.matches(Some(value))
                        && let Some(slot) = all_pass.get_mut(partition as usize)
                    {
                        *slot = false;
                    }
                }
                let other = count.saturating_sub(1);
                for (partition, slot) in covered.iter_mut().enumerate() {
                    *slot = partition != 0
                        && partition != other
                        && partition_of.contains(&(partition as u32))
                        && all_pass.get(partition).copied().unwrap_or(false);
                }
            }
            Self::Ranges { .. } => {
                if !matches!(kind, PhysicalKind::Int | PhysicalKind::Decimal) {
                    return covered;
                }
                let last = count.saturating_sub(1);
                for term in &filter.terms {
                    let (first, past) = match term {
                        Term::IsNull => continue,
                        Term::IsNotNull => (1, count),
                        Term::Range(range) => {
                            if !range_of_kind(range, kind) || range.is_empty() {
                                continue;
                            }
                            let first = match &range.low {
                                Bound::Unbounded => 1,
                                Bound::Included(value) | Bound::Excluded(value) => {
                                    if !exact(value) {
                                        continue;
                                    }
                                    self.partition_of_key(scalar_key(value)) as usize + 1
                                }
                            };
                            let past = match &range.high {
                                Bound::Unbounded => count,
                                Bound::Included(value) | Bound::Excluded(value) => {
                                    if !exact(value) {
                                        continue;
                                    }
                                    (self.partition_of_key(scalar_key(value)) as usize).min(last)
                                }
                            };
                            (first.max(1), past)
                        }
                    };
                    for slot in covered.get_mut(first..past).unwrap_or_default() {
                        *slot = true;
                    }
                }
            }
        }
        covered
    }

    /// Which partitions of a value-set partitioner one filter can reach.
    fn value_partitions(&self, filter: &ColumnFilter, kind: PhysicalKind) -> Vec<bool> {
        let Self::Values {
            values,
            partition_of,
            count,
        } = self
        else {
            return Vec::new();
        };
        let other = count.saturating_sub(1) as usize;
        let mut reach = vec![false; *count as usize];
        let mut mark = |partition: usize| {
            if let Some(slot) = reach.get_mut(partition) {
                *slot = true;
            }
        };
        for term in &filter.terms {
            match term {
                Term::IsNull => mark(0),
                Term::IsNotNull => (0..=other).for_each(&mut mark),
                Term::Range(range) => {
                    if !range_of_kind(range, kind) {
                        (0..=other).for_each(&mut mark);
                    } else if range.is_empty() {
                    } else if let Some(point) = point_of(range) {
                        let position = values
                            .partition_point(|known| known.compare(point) == Some(Ordering::Less));
                        match values.get(position) {
                            Some(known) if known.compare(point) == Some(Ordering::Equal) => {
                                mark(partition_of.get(position).copied().unwrap_or(0) as usize)
                            }
                            _ => mark(other),
                        }
                    } else {
                        // A value the partitioner never saw may lie in any range.
                        mark(other);
                        for (value, &partition) in values.iter().zip(partition_of) {
                            if range.contains(value) {
                                mark(partition as usize);
                            }
                        }
                    }
                }
            }
        }
        reach
    }

    /// Appends the partitioner.
    pub(crate) fn encode_into(&self, writer: &mut Writer) {
        match self {
            Self::Ranges { model, count } => {
                writer.u8(0);
                writer.u32(*count);
                model.encode_into(writer);
            }
            Self::Values {
                values,
                partition_of,
                count,
            } => {
                writer.u8(1);
                writer.u32(*count);
                writer.len(values.len());
                for (value, partition) in values.iter().zip(partition_of) {
                    writer.scalar(value);
                    writer.u32(*partition);
                }
            }
        }
    }

    /// Reads a partitioner for a column of `kind`, checking what assignment and pruning
    /// rely on.
    pub(crate) fn decode_from(
        reader: &mut Reader<'_>,
        kind: PhysicalKind,
    ) -> Result<Self, LayoutError> {
        let tag = reader.u8()?;
        let count = reader.u32()?;
        if count == 0 || count > MAX_PARTITIONS {
            return Err(reader.error(format!(
                "partition count {count} not in 1..={MAX_PARTITIONS}"
            )));
        }
        match tag {
            0 => Ok(Self::Ranges {
                model: CdfModel::decode_from(reader)?,
                count,
            }),
            1 => {
                let len = reader.count(6)?;
                let mut values: Vec<Scalar> = Vec::with_capacity(len);
                let mut partition_of = Vec::with_capacity(len);
                for _ in 0..len {
                    let value = reader.scalar()?;
                    let partition = reader.u32()?;
                    let ascending = values
                        .last()
                        .is_none_or(|previous| previous.compare(&value) == Some(Ordering::Less));
                    if value.kind() != kind || !ascending || partition >= count - 1 {
                        return Err(reader.error(
                            "value sets must be ascending, of the column's kind, in range",
                        ));
                    }
                    values.push(value);
                    partition_of.push(partition);
                }
                Ok(Self::Values {
                    values,
                    partition_of,
                    count,
                })
            }
            other => Err(reader.error(format!("unknown partitioner {other}"))),
        }
    }
}

/// Whether both ends of `range` are of `kind` (or open).
fn range_of_kind(range: &Range, kind: PhysicalKind) -> bool {
    [&range.low, &range.high]
        .into_iter()
        .all(|bound| match bound {
            Bound::Included(value) | Bound::Excluded(value) => value.kind() == kind,
            Bound::Unbounded => true,
        })
}

/// The value of a range holding exactly one value (`[v, v]`).
fn point_of(range: &Range) -> Option<&Scalar> {
    match (&range.low, &range.high) {
        (Bound::Included(low), Bound::Included(high))
            if low.compare(high) == Some(Ordering::Equal) =>
        {
            Some(low)
        }
        _ => None,
    }
}

/// Compares row `row` of `values` with a scalar of the same kind (`None` across kinds).
pub(crate) fn compare_row(values: &ColumnValues, row: usize, scalar: &Scalar) -> Option<Ordering> {
    match (values, scalar) {
        (ColumnValues::Int(values), Scalar::Int(other)) => values.get(row).map(|v| v.cmp(other)),
        (ColumnValues::Float(values), Scalar::Float(other)) => {
            values.get(row).map(|v| float_order(*v, *other))
        }
        (ColumnValues::Decimal(values), Scalar::Decimal(other)) => {
            values.get(row).map(|v| v.cmp(other))
        }
        (ColumnValues::Bool(values), Scalar::Bool(other)) => values.get(row).map(|v| v.cmp(other)),
        (ColumnValues::Bytes(values), Scalar::Bytes(other)) => {
            values.get(row).map(|v| v.cmp(other.as_slice()))
        }
        _ => None,
    }
}

/// The distinct non-null values of a column, ascending, with their counts.
pub(crate) fn distinct_values(column: &Column) -> Vec<(Scalar, usize)> {
    let rows: Vec<usize> = (0..column.len())
        .filter(|&row| is_valid(column, row))
        .collect();
    let mut sorted = rows;
    sorted.sort_by(|&a, &b| crate::sort::compare_rows(column, a, b));
    let mut distinct: Vec<(Scalar, usize)> = Vec::new();
    for row in sorted {
        let Some(value) = scalar_at(column, row) else {
            continue;
        };
        match distinct.last_mut() {
            Some((last, count)) if last.compare(&value) == Some(Ordering::Equal) => *count += 1,
            _ => distinct.push((value, 1)),
        }
    }
    distinct
}

/// Number of distinct non-null values of a column, counting at most `limit + 1`.
pub(crate) fn distinct_count(column: &Column, limit: usize) -> usize {
    let keys = column_keys(column);
    let mut seen: Vec<u64> = keys
        .iter()
        .enumerate()
        .filter(|&(row, _)| is_valid(column, row))
        .map(|(_, key)| key.to_bits())
        .collect();
    seen.sort_unstable();
    seen.dedup();
    if seen.len() > limit {
        return seen.len();
    }
    // Keys are prefixes for strings and rounded for wide numbers: count exactly when few.
    distinct_values(column).len()
}

/// Sorts and merges partition ranges into ascending, disjoint, non-adjacent ones.
pub(crate) fn normalize(mut ranges: Vec<RangeInclusive<u32>>) -> Vec<RangeInclusive<u32>> {
    ranges.retain(|range| range.start() <= range.end());
    ranges.sort_by_key(|range| *range.start());
    let mut merged: Vec<RangeInclusive<u32>> = Vec::with_capacity(ranges.len());
    for range in ranges {
        match merged.last_mut() {
            Some(last) if *range.start() <= last.end().saturating_add(1) => {
                let end = (*last.end()).max(*range.end());
                *last = *last.start()..=end;
            }
            _ => merged.push(range),
        }
    }
    merged
}

/// The runs of `true` in a flag vector, as ranges.
pub(crate) fn ranges_of(flags: &[bool]) -> Vec<RangeInclusive<u32>> {
    let mut ranges = Vec::new();
    let mut start = None;
    for (index, &flag) in flags.iter().enumerate() {
        match (flag, start) {
            (true, None) => start = Some(index as u32),
            (false, Some(first)) => {
                ranges.push(first..=index as u32 - 1);
                start = None;
            }
            _ => {}
        }
    }
    if let Some(first) = start {
        ranges.push(first..=flags.len() as u32 - 1);
    }
    ranges
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_codecs::{BytesColumn, LogicalType};

    fn ints(values: Vec<i64>, validity: Option<Vec<bool>>) -> Column {
        Column::new(LogicalType::Int64, ColumnValues::Int(values), validity).unwrap()
    }

    fn filter(terms: Vec<Term>) -> ColumnFilter {
        ColumnFilter {
            column: "c".into(),
            terms,
        }
    }

    #[test]
    fn ranges_hold_equal_mass_on_skewed_data() {
        let values: Vec<i64> = (0..10_000).map(|i: i64| i * i / 100).collect();
        let column = ints(values, None);
        let partitioner = Partitioner::ranges(&column, 8);
        let mut sizes = [0usize; 8];
        for partition in partitioner.assign(&column) {
            sizes[partition as usize] += 1;
        }
        for size in sizes {
            assert!((1_100..=1_400).contains(&size), "{sizes:?}");
        }
    }

    /// Every row of a covered partition passes; wide filters cover something; partition 0
    /// (nulls) and the "other" value set never are.
    #[test]
    fn covered_partitions_hold_only_passing_rows() {
        let values: Vec<i64> = (0..4_000).map(|i| (i * 7_919) % 1_009 - 100).collect();
        let validity: Vec<bool> = (0..4_000).map(|i| i % 13 != 0).collect();
        let column = ints(values.clone(), Some(validity.clone()));
        let small = ints(
            values.iter().map(|value| value.rem_euclid(50)).collect(),
            None,
        );
        for (partitioner, column, values) in [
            (Partitioner::ranges(&column, 16), &column, values.clone()),
            (
                Partitioner::values(&small, 64),
                &small,
                values.iter().map(|value| value.rem_euclid(50)).collect(),
            ),
        ] {
            let assigned = partitioner.assign(column);
            let mut covered_any = false;
            for (low, high) in [(-100, 908), (10, 12), (0, 500), (300, 301), (-5, 2_000)] {
                for open in [false, true] {
                    let range = if open {
                        Range {
                            low: Bound::Excluded(Scalar::Int(low)),
                            high: Bound::Excluded(Scalar::Int(high)),
                        }
                    } else {
                        Range::closed(Scalar::Int(low), Scalar::Int(high))
                    };
                    let filter = filter(vec![Term::Range(range), Term::IsNull]);
                    let covered = partitioner.covered(&filter, PhysicalKind::Int);
                    assert_eq!(covered.len(), partitioner.count() as usize);
                    assert!(!covered[0]);
                    if let Partitioner::Values { count, .. } = &partitioner {
                        assert!(!covered[*count as usize - 1]);
                    }
                    covered_any |= covered.contains(&true);
                    for row in 0..values.len() {
                        let value = is_valid(column, row).then(|| Scalar::Int(values[row]));
                        if covered[assigned[row] as usize] {
                            assert!(
                                filter.matches(value.as_ref()),
                                "row {row} {value:?} in covered partition {} of {filter:?}",
                                assigned[row]
                            );
                        }
                    }
                }
            }
            assert!(covered_any, "{partitioner:?} covers nothing");
            // Other kinds' bounds imply nothing.
            let float = filter(vec![Term::Range(Range::closed(
                Scalar::Float(-1e9),
                Scalar::Float(1e9),
            ))]);
            assert!(
                !partitioner
                    .covered(&float, PhysicalKind::Int)
                    .contains(&true)
            );
        }
    }

    #[test]
    fn range_pruning_never_misses_a_row() {
        let values: Vec<i64> = (0..2_000).map(|i| (i * 7919) % 503).collect();
        let validity: Vec<bool> = (0..2_000).map(|i| i % 17 != 0).collect();
        let column = ints(values.clone(), Some(validity.clone()));
        let partitioner = Partitioner::ranges(&column, 13);
        let assigned = partitioner.assign(&column);
        for (low, high) in [(0, 10), (100, 100), (250, 600), (-5, -1), (502, 502)] {
            for extra in [None, Some(Term::IsNull)] {
                let mut terms = vec![Term::Range(Range::closed(
                    Scalar::Int(low),
                    Scalar::Int(high),
                ))];
                terms.extend(extra.clone());
                let filter = filter(terms);
                let kept = partitioner.partitions(&[&filter], PhysicalKind::Int);
                for row in 0..values.len() {
                    let value = validity[row].then(|| Scalar::Int(values[row]));
                    if filter.matches(value.as_ref()) {
                        assert!(
                            kept.iter().any(|range| range.contains(&assigned[row])),
                            "row {row} ({value:?}) in partition {} not in {kept:?}",
                            assigned[row]
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn value_sets_prune_points_exactly() {
        let words = ["AIR", "MAIL", "RAIL", "SHIP", "TRUCK", "AIR", "AIR"];
        let column = Column::new(
            LogicalType::Utf8,
            ColumnValues::Bytes(BytesColumn::from_values(words.map(str::as_bytes)).unwrap()),
            None,
        )
        .unwrap();
        let partitioner = Partitioner::values(&column, 16);
        assert_eq!(
            partitioner.count(),
            6,
            "five values and the other partition"
        );
        let assigned = partitioner.assign(&column);
        let point = |word: &str| Term::Range(Range::point(Scalar::Bytes(word.as_bytes().to_vec())));
        let mail = partitioner.partitions(&[&filter(vec![point("MAIL")])], PhysicalKind::Bytes);
        assert_eq!(mail, vec![assigned[1]..=assigned[1]]);
        let unknown = partitioner.partitions(&[&filter(vec![point("FOB")])], PhysicalKind::Bytes);
        assert_eq!(unknown, vec![5..=5]);
        let both = partitioner.partitions(
            &[&filter(vec![point("AIR"), point("SHIP")])],
            PhysicalKind::Bytes,
        );
        assert_eq!(both.len(), 2);
        // Fewer groups than values: groups of about equal mass, still exact for IN lists.
        let grouped = Partitioner::values(&column, 2);
        assert_eq!(grouped.count(), 3);
    }

    #[test]
    fn partitioners_round_trip() {
        let column = ints((0..500).map(|i| i % 37).collect(), None);
        for partitioner in [
            Partitioner::ranges(&column, 9),
            Partitioner::values(&column, 8),
        ] {
            let mut writer = Writer::default();
            partitioner.encode_into(&mut writer);
            let bytes = writer.finish();
            let decoded =
                Partitioner::decode_from(&mut Reader::new(&bytes, 0), PhysicalKind::Int).unwrap();
            assert_eq!(decoded, partitioner);
            assert!(
                Partitioner::decode_from(&mut Reader::new(&bytes, 0), PhysicalKind::Float).is_err()
                    || matches!(partitioner, Partitioner::Ranges { .. })
            );
        }
    }

    #[test]
    fn normalize_merges_adjacent_ranges() {
        assert_eq!(
            normalize(vec![4..=6, 0..=1, 2..=2, 9..=9]),
            vec![0..=2, 4..=6, 9..=9]
        );
        assert_eq!(ranges_of(&[true, false, true, true]), vec![0..=0, 2..=3]);
    }
}
