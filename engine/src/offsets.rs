//! A narrow copy of a decoded integer or decimal chunk: every value as an unsigned offset
//! from the chunk's least value, in 1, 2 or 4 bytes, held next to the decoded values in
//! the chunk cache.
//!
//! Warm scans are bound by memory, not by compares: a filter reads every value of the rows
//! it scans, and the projection reads the values of the rows kept. Decoded values are 8
//! bytes (integers, dates, timestamps) or 16 (decimals), while the values of a block of
//! TPC-H `lineitem` span at most a few million: quantities and ship dates fit 2 bytes,
//! prices and part keys 4. Filters and projections read the offsets instead, moving 2 to 8
//! times fewer bytes. A range filter becomes a range of offsets; a projected value is
//! `least + offset`, exact because it is the value the offset was made from.

use tessera_codecs::{Column, ColumnValues, Picked};
use tessera_layout::SortedInts;

/// The offsets of one chunk's values from its least present value.
#[derive(Debug)]
pub(crate) struct Offsets {
    /// The least present value; a null row's offset is 0 and means nothing.
    base: i128,
    values: OffsetValues,
}

/// Offsets, in the narrowest width that holds the widest of them.
#[derive(Debug)]
pub(crate) enum OffsetValues {
    U8(Vec<u8>),
    U16(Vec<u16>),
    U32(Vec<u32>),
}

impl Offsets {
    /// The offsets of an integer or decimal column whose present values span less than
    /// 2^32; `None` for other columns, wider spans, or no present value.
    pub(crate) fn of(column: &Column) -> Option<Self> {
        let validity = column.validity();
        let present = |row: usize| validity.is_none_or(|valid| valid.get(row) == Some(&true));
        match column.values() {
            ColumnValues::Int(values) => {
                Self::build(values.iter().map(|&value| i128::from(value)), present)
            }
            ColumnValues::Decimal(values) => Self::build(values.iter().copied(), present),
            _ => None,
        }
    }

    fn build(
        values: impl Iterator<Item = i128> + Clone,
        present: impl Fn(usize) -> bool,
    ) -> Option<Self> {
        let (least, most) = values
            .clone()
            .enumerate()
            .filter(|&(row, _)| present(row))
            .fold(None, |span: Option<(i128, i128)>, (_, value)| match span {
                None => Some((value, value)),
                Some((least, most)) => Some((least.min(value), most.max(value))),
            })?;
        let span = most.checked_sub(least)?;
        let offsets = values
            .enumerate()
            .map(|(row, value)| if present(row) { value - least } else { 0 });
        let values = if span <= i128::from(u8::MAX) {
            OffsetValues::U8(offsets.map(|offset| offset as u8).collect())
        } else if span <= i128::from(u16::MAX) {
            OffsetValues::U16(offsets.map(|offset| offset as u16).collect())
        } else if span <= i128::from(u32::MAX) {
            OffsetValues::U32(offsets.map(|offset| offset as u32).collect())
        } else {
            return None;
        };
        Some(Self {
            base: least,
            values,
        })
    }

    pub(crate) fn values(&self) -> &OffsetValues {
        &self.values
    }

    /// The offsets as [`SortedInts`] of an integer column, each row's value `base + offset`;
    /// `None` when the base does not fit 64 bits. Meaningful only for a chunk of integers
    /// (a decimal's offsets count units of its scale).
    pub(crate) fn sorted_ints(&self) -> Option<SortedInts<'_>> {
        let base = i64::try_from(self.base).ok()?;
        Some(match &self.values {
            OffsetValues::U8(offsets) => SortedInts::U8 { base, offsets },
            OffsetValues::U16(offsets) => SortedInts::U16 { base, offsets },
            OffsetValues::U32(offsets) => SortedInts::U32 { base, offsets },
        })
    }

    /// Bytes the offsets take.
    pub(crate) fn bytes(&self) -> usize {
        match &self.values {
            OffsetValues::U8(values) => values.len(),
            OffsetValues::U16(values) => values.len() * 2,
            OffsetValues::U32(values) => values.len() * 4,
        }
    }

    /// The offsets of the values in `low..=high`, clamped to what the width can hold;
    /// `None` when no present value can lie in it.
    pub(crate) fn window(&self, low: i128, high: i128) -> Option<(u32, u32)> {
        let widest = match &self.values {
            OffsetValues::U8(_) => i128::from(u8::MAX),
            OffsetValues::U16(_) => i128::from(u16::MAX),
            OffsetValues::U32(_) => i128::from(u32::MAX),
        };
        let (low, high) = (
            low.saturating_sub(self.base),
            high.saturating_sub(self.base),
        );
        if low > high || high < 0 || low > widest {
            return None;
        }
        Some((low.max(0) as u32, high.min(widest) as u32))
    }

    /// The values of the rows `rows` picks, each `cast` from the value it stands for.
    pub(crate) fn pick<N>(&self, rows: &Picked<'_>, cast: impl Fn(i128) -> N) -> Vec<N> {
        let base = self.base;
        match &self.values {
            OffsetValues::U8(values) => rows.map(values, |offset| cast(base + i128::from(offset))),
            OffsetValues::U16(values) => rows.map(values, |offset| cast(base + i128::from(offset))),
            OffsetValues::U32(values) => rows.map(values, |offset| cast(base + i128::from(offset))),
        }
    }

    /// [`Self::pick`] for a column of 64-bit integers, whose arithmetic stays in 64 bits.
    pub(crate) fn pick_ints<N>(&self, rows: &Picked<'_>, cast: impl Fn(i64) -> N) -> Vec<N> {
        // The base and every base + offset are values of the column, so they fit.
        let base = self.base as i64;
        match &self.values {
            OffsetValues::U8(values) => {
                rows.map(values, |offset| cast(base.wrapping_add(i64::from(offset))))
            }
            OffsetValues::U16(values) => {
                rows.map(values, |offset| cast(base.wrapping_add(i64::from(offset))))
            }
            OffsetValues::U32(values) => {
                rows.map(values, |offset| cast(base.wrapping_add(i64::from(offset))))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_codecs::LogicalType;

    fn ints(values: Vec<i64>, validity: Option<Vec<bool>>) -> Column {
        Column::new(LogicalType::Int64, ColumnValues::Int(values), validity).unwrap()
    }

    #[test]
    fn picks_the_narrowest_width_and_gives_back_the_values() {
        let cases: [(Vec<i64>, usize); 4] = [
            (vec![-5, 250, 0], 1),
            (vec![1_000, 66_000, 1_000], 2),
            (vec![i64::MIN, i64::MIN + i64::from(u32::MAX)], 4),
            (vec![7], 1),
        ];
        for (values, width) in cases {
            let offsets = Offsets::of(&ints(values.clone(), None)).unwrap();
            assert_eq!(offsets.bytes(), values.len() * width, "{values:?}");
            let rows: Vec<u32> = (0..values.len() as u32).rev().collect();
            let picked = Picked::check(&rows, values.len()).unwrap();
            let back = offsets.pick_ints(&picked, |value| value);
            let want: Vec<i64> = values.iter().rev().copied().collect();
            assert_eq!(back, want);
            assert_eq!(offsets.pick(&picked, |value| value as i64), want);
        }
    }

    #[test]
    fn leaves_out_wide_spans_and_columns_without_values() {
        assert!(Offsets::of(&ints(vec![0, i64::from(u32::MAX) + 1], None)).is_none());
        assert!(Offsets::of(&ints(vec![i64::MIN, i64::MAX], None)).is_none());
        assert!(Offsets::of(&ints(vec![1, 2], Some(vec![false, false]))).is_none());
        assert!(Offsets::of(&ints(Vec::new(), None)).is_none());
        let floats = Column::new(LogicalType::Float64, ColumnValues::Float(vec![1.0]), None);
        assert!(Offsets::of(&floats.unwrap()).is_none());
    }

    #[test]
    fn nulls_do_not_widen_the_span() {
        // The null row holds a far value that must not count.
        let column = ints(vec![10, i64::MAX, 12], Some(vec![true, false, true]));
        let offsets = Offsets::of(&column).unwrap();
        assert!(matches!(offsets.values(), OffsetValues::U8(values) if values == &[0, 0, 2]));
    }

    #[test]
    fn windows_clamp_to_the_values_the_width_holds() {
        let offsets = Offsets::of(&ints(vec![100, 110], None)).unwrap();
        assert_eq!(offsets.window(i128::MIN, i128::MAX), Some((0, 255)));
        assert_eq!(offsets.window(105, 105), Some((5, 5)));
        assert_eq!(offsets.window(0, 99), None);
        assert_eq!(offsets.window(100 + 256, 1_000), None);
        assert_eq!(offsets.window(90, 101), Some((0, 1)));
        assert_eq!(offsets.window(101, 100), None);
    }
}
