//! Predicates evaluated on decoded codec columns, a column at a time, and the row selection
//! moves scans need (take the selected rows of a column).
//!
//! A filter's terms are turned once into bounds of the column's physical type, then one
//! tight loop per column type marks the rows that pass; no per-row `Scalar` is built.
//! Integer and decimal filters read the chunk's narrow [`Offsets`] when it has them.

use std::cmp::Ordering;
use std::ops::Bound;

use tessera_codecs::{Column, ColumnValues, RUN_ROWS_MIN};
use tessera_layout::predicate::float_order;
use tessera_layout::{ColumnFilter, Scalar, Term};

use crate::codes::Codes;
use crate::error::Result;
use crate::offsets::{OffsetValues, Offsets};

/// The rows of a block a scan still considers. It starts as masks over the row ranges the
/// cells' runs and position models left, which filters sweep without a branch per row (only
/// inside the ranges, not over the gaps between them); once a filter leaves few rows it
/// becomes the list of those rows, and later filters look at them alone.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Selection {
    /// Masks over ascending, disjoint row ranges.
    Masks(Masks),
    /// The selected rows, ascending.
    Rows(Vec<u32>),
}

/// The rows a block's scan returns, as [`Selection::into_chosen`] gives them.
#[derive(Debug, PartialEq)]
pub(crate) enum Chosen {
    /// Every row of these ascending, disjoint ranges.
    Ranges(Vec<std::ops::Range<usize>>),
    /// These rows, ascending.
    Rows(Vec<u32>),
}

/// Masks over ascending, disjoint row ranges, held in one buffer: a block of a fine grid
/// has many short ranges, and one allocation per range would cost more than its sweep.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Masks {
    /// Per range: its first row, and where its mask starts in `mask` (it ends where the
    /// next range's starts, the last one's at the end of `mask`).
    runs: Vec<(usize, usize)>,
    /// Whether each row of the ranges is still selected.
    mask: Vec<bool>,
}

impl Masks {
    /// Per range: its first row and its mask.
    fn iter(&self) -> impl Iterator<Item = (usize, &[bool])> {
        self.runs
            .iter()
            .enumerate()
            .map(|(index, &(first, start))| {
                let end = self
                    .runs
                    .get(index + 1)
                    .map_or(self.mask.len(), |&(_, next)| next);
                (first, self.mask.get(start..end).unwrap_or_default())
            })
    }

    /// Calls `visit` with each range's index, first row and mask, in order; stops at its
    /// first error.
    fn try_for_each_mut(
        &mut self,
        mut visit: impl FnMut(usize, usize, &mut [bool]) -> Result<()>,
    ) -> Result<()> {
        let mut rest: &mut [bool] = &mut self.mask;
        for (index, &(first, start)) in self.runs.iter().enumerate() {
            let end = self.runs.get(index + 1).map_or(start + rest.len(), |r| r.1);
            let len = (end - start).min(rest.len());
            let (run, tail) = std::mem::take(&mut rest).split_at_mut(len);
            visit(index, first, run)?;
            rest = tail;
        }
        Ok(())
    }

    /// The selected rows, ascending, given how many there are: written into one buffer
    /// sized once, not grown range by range.
    fn rows(&self, count: usize) -> Vec<u32> {
        let mut rows = Vec::with_capacity(count);
        for (first, mask) in self.iter() {
            write_selected(mask, first, &mut rows);
        }
        rows
    }

    /// The selected rows as ascending, disjoint, non-adjacent ranges, found 64 rows at a
    /// time (a word of flags, then its runs of set bits by counting trailing bits), or `None`
    /// once there would be more than `most`, or once the runs so far average under
    /// [`RUN_ROWS_MIN`] rows by more than [`RUNS_SLACK`] runs: a mask of short runs is
    /// cheaper to list, and is given up on early rather than walked to its end.
    fn runs(&self, most: usize) -> Option<Vec<std::ops::Range<usize>>> {
        let mut runs: Vec<std::ops::Range<usize>> = Vec::with_capacity(most);
        // Rows the runs so far hold.
        let mut held_rows = 0usize;
        for (first, mask) in self.iter() {
            // `bool` is one byte, 0 or 1; the cast is checked when compiled.
            let flags: &[u8] = bytemuck::must_cast_slice(mask);
            for (index, chunk) in flags.chunks(64).enumerate() {
                let mut bits = pack_flags(chunk);
                let base = first + index * 64;
                while bits != 0 {
                    let start = bits.trailing_zeros() as usize;
                    // The shift brings zeros in from the top, so the run stops by bit 63.
                    let end = start + (!(bits >> start)).trailing_zeros() as usize;
                    let rows = base + start..base + end;
                    let held = runs.len();
                    held_rows += end - start;
                    match runs.last_mut() {
                        Some(last) if last.end == rows.start => last.end = rows.end,
                        _ if held >= most
                            || held.saturating_sub(RUNS_SLACK) * RUN_ROWS_MIN > held_rows =>
                        {
                            return None;
                        }
                        _ => runs.push(rows),
                    }
                    bits = bits.checked_shr(end as u32).map_or(0, |rest| rest << end);
                }
            }
        }
        Some(runs)
    }

    /// Ranges held.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.runs.len()
    }
}

/// Runs [`Masks::runs`] lets the runs found so far fall short of [`RUN_ROWS_MIN`] rows on
/// average before it gives up: a mask thinned at random (a filter on a column the layout
/// does not order) shows its short runs within its first few words.
const RUNS_SLACK: usize = 16;

/// A mask with fewer than one set row in this many becomes a row list: a gather per row
/// then costs less than a sweep over all of them. On `layout_bench`'s lineitem queries over
/// a pinned grid, 4 served them 4% faster than 16 (geometric mean, three runs each).
const SPARSE: usize = 4;

impl Selection {
    /// Every row of the ranges, which must be ascending and disjoint.
    pub(crate) fn ranges(ranges: &[std::ops::Range<usize>]) -> Self {
        let mut masks = Masks {
            runs: Vec::with_capacity(ranges.len()),
            mask: vec![true; ranges.iter().map(ExactSizeIterator::len).sum()],
        };
        let mut start = 0;
        for range in ranges.iter().filter(|range| !range.is_empty()) {
            masks.runs.push((range.start, start));
            start += range.len();
        }
        Self::Masks(masks)
    }

    /// The rows `first + i` for which `mask[i]` is set.
    #[cfg(test)]
    pub(crate) fn mask(first: usize, mask: Vec<bool>) -> Self {
        Self::Masks(Masks {
            runs: vec![(first, 0)],
            mask,
        })
    }

    /// Drops `row` if selected.
    pub(crate) fn deselect(&mut self, row: usize) {
        match self {
            Self::Masks(masks) => {
                let index = masks.runs.partition_point(|&(first, _)| first <= row);
                let Some(&(first, start)) = index.checked_sub(1).and_then(|i| masks.runs.get(i))
                else {
                    return;
                };
                let end = masks
                    .runs
                    .get(index)
                    .map_or(masks.mask.len(), |&(_, next)| next);
                let slot = start + (row - first);
                if slot < end
                    && let Some(slot) = masks.mask.get_mut(slot)
                {
                    *slot = false;
                }
            }
            Self::Rows(rows) => {
                if let Ok(index) = rows.binary_search(&(row as u32)) {
                    rows.remove(index);
                }
            }
        }
    }

    /// Rows selected.
    pub(crate) fn count(&self) -> usize {
        match self {
            Self::Masks(masks) => count_set(&masks.mask),
            Self::Rows(rows) => rows.len(),
        }
    }

    /// Turns sparse masks into a row list; returns the rows selected.
    pub(crate) fn settle(&mut self) -> usize {
        let count = self.count();
        if let Self::Masks(masks) = self
            && count * SPARSE < masks.mask.len()
        {
            *self = Self::Rows(masks.rows(count));
        }
        count
    }

    /// Keeps the selected rows `keep` accepts; stops at its first error.
    pub(crate) fn try_retain(&mut self, mut keep: impl FnMut(usize) -> Result<bool>) -> Result<()> {
        match self {
            Self::Masks(masks) => masks.try_for_each_mut(|_, first, mask| {
                for (offset, slot) in mask.iter_mut().enumerate() {
                    if *slot {
                        *slot = keep(first + offset)?;
                    }
                }
                Ok(())
            }),
            Self::Rows(rows) => {
                let mut kept = Vec::with_capacity(rows.len());
                for &row in rows.iter() {
                    if keep(row as usize)? {
                        kept.push(row);
                    }
                }
                *rows = kept;
                Ok(())
            }
        }
    }

    /// Keeps the selected rows `keep` accepts.
    fn retain(&mut self, mut keep: impl FnMut(usize) -> bool) {
        // The closure cannot fail, so neither can the retain.
        let _infallible = self.try_retain(|row| Ok(keep(row)));
    }

    /// The rows selected, as ranges when they fall into runs long enough to copy run by run
    /// ([`RUN_ROWS_MIN`] rows each on average), else listed one by one. The ranges the
    /// selection began with come back as they are when every row of them is still
    /// selected (no filter ran, or every one passed); masks a filter thinned are read for
    /// their runs a word at a time, so a dense selection is never listed and checked row
    /// by row.
    pub(crate) fn into_chosen(self) -> Chosen {
        match self {
            Self::Masks(masks) => {
                let count = count_set(&masks.mask);
                if count == masks.mask.len() {
                    return Chosen::Ranges(
                        masks
                            .iter()
                            .map(|(first, mask)| first..first + mask.len())
                            .collect(),
                    );
                }
                match masks.runs(count / RUN_ROWS_MIN) {
                    Some(runs) => Chosen::Ranges(runs),
                    None => Chosen::Rows(masks.rows(count)),
                }
            }
            Self::Rows(rows) => Chosen::Rows(rows),
        }
    }

    /// The selected rows, ascending.
    #[cfg(test)]
    pub(crate) fn into_rows(self) -> Vec<u32> {
        match self {
            Self::Masks(masks) => masks.rows(count_set(&masks.mask)),
            Self::Rows(rows) => rows,
        }
    }
}

/// Set entries of a mask: byte sums over runs short enough not to overflow, which the
/// compiler turns into wide adds.
fn count_set(mask: &[bool]) -> usize {
    mask.chunks(255)
        .map(|run| usize::from(run.iter().fold(0u8, |sum, &set| sum + u8::from(set))))
        .sum()
}

/// Appends the rows `first + i` whose `selected[i]` is set to `rows`, 64 rows at a time:
/// their flags packed into a word, an empty word skipped (a selective filter leaves most of a
/// block unset), a sparse one walked set bit by set bit, a dense one listed without a branch
/// per row (every row is written at the next free slot of a word-sized buffer, and only set
/// rows advance it) and appended at once. Listing into `rows` directly needed it zeroed first,
/// a pass as long as the listing.
fn write_selected(selected: &[bool], first: usize, rows: &mut Vec<u32>) {
    // `bool` is one byte, 0 or 1; the cast is checked when compiled, so it cannot fail.
    let flags: &[u8] = bytemuck::must_cast_slice(selected);
    let mut word = [0u32; 64];
    for (index, chunk) in flags.chunks(64).enumerate() {
        let mut bits = pack_flags(chunk);
        if bits == 0 {
            continue;
        }
        let base = first + index * 64;
        if bits.count_ones() > DENSE_WORD {
            let mut next = 0usize;
            for (offset, &set) in chunk.iter().enumerate() {
                // `next` is at most `offset`, below 64: the mask changes nothing, and
                // spares the write a bounds check.
                word[next & 63] = (base + offset) as u32;
                next += usize::from(set);
            }
            rows.extend_from_slice(word.get(..next).unwrap_or_default());
        } else {
            while bits != 0 {
                rows.push((base + bits.trailing_zeros() as usize) as u32);
                bits &= bits - 1;
            }
        }
    }
}

/// Set rows of 64 above which [`write_selected`] writes every row rather than walk the set
/// bits. Timed on 65,536 random flags in a standalone loop built with `rustc -O`, the walk
/// with this cut took 3.4 to 4.3 us at 1% to 10% set against 8.2 to 9.1 us for writing
/// every row, about the same at 25%, and 5% longer at 50%; cuts of 24 and up took half as
/// long again at 25%, where the walk's end is hard to predict.
const DENSE_WORD: u32 = 16;

/// Up to 64 flags (bytes of 0 or 1) as the low bits of a word, the first flag lowest. Eight
/// at a time: multiplying eight flags, read as a little-endian word, by this constant adds
/// flag `i` (at bit `8i`) into bit `56 + i` and no two products meet, so no carry spoils the
/// top byte.
fn pack_flags(flags: &[u8]) -> u64 {
    const GATHER: u64 = 0x0102_0408_1020_4080;
    let mut bits = 0u64;
    // A whole word's flags, the common case, as eight fixed-size reads.
    if let Ok(full) = <&[u8; 64]>::try_from(flags) {
        for (index, eight) in full.as_chunks::<8>().0.iter().enumerate() {
            bits |= (u64::from_le_bytes(*eight).wrapping_mul(GATHER) >> 56) << (index * 8);
        }
        return bits;
    }
    for (index, eight) in flags.chunks(8).take(8).enumerate() {
        let mut word = [0u8; 8];
        if let Some(head) = word.get_mut(..eight.len()) {
            head.copy_from_slice(eight);
        }
        bits |= (u64::from_le_bytes(word).wrapping_mul(GATHER) >> 56) << (index * 8);
    }
    bits
}

/// The share of a block's values a filter keeps, guessed from the block's zone map as if
/// the values spread evenly over `[min, max]`: it orders a scan's filters. 1 when it cannot
/// tell (no zone, strings, `IS [NOT] NULL`).
pub(crate) fn kept_share(filter: &ColumnFilter, min_max: Option<(&Scalar, &Scalar)>) -> f64 {
    fn number(value: &Scalar) -> Option<f64> {
        match value {
            Scalar::Int(value) => Some(*value as f64),
            Scalar::Decimal(value) => Some(*value as f64),
            Scalar::Float(value) if !value.is_nan() => Some(*value),
            _ => None,
        }
    }
    fn end(bound: &Bound<Scalar>) -> Option<f64> {
        match bound {
            Bound::Included(value) | Bound::Excluded(value) => number(value),
            Bound::Unbounded => None,
        }
    }
    let Some((Some(min), Some(max))) = min_max.map(|(min, max)| (number(min), number(max))) else {
        return 1.0;
    };
    let width = max - min;
    if width.is_nan() || width <= 0.0 {
        return 1.0;
    }
    let mut share = 0.0;
    for term in &filter.terms {
        let Term::Range(range) = term else {
            return 1.0;
        };
        let low = end(&range.low).unwrap_or(min).max(min);
        let high = end(&range.high).unwrap_or(max).min(max);
        share += ((high - low) / width).max(0.0);
    }
    share.min(1.0)
}

/// Drops from `selection` every row of `column` the filter rejects; `offsets` or `codes`,
/// the column's offsets or dictionary codes if it has them, are read in place of its
/// values. `implied(range)` says, per range of a masks selection (by its index), that every
/// row of it passes, so the filter need not look at it; a row-list selection, or a filter
/// without a fast path, checks every row anyway.
pub(crate) fn apply_filter(
    column: &Column,
    offsets: Option<&Offsets>,
    codes: Option<&Codes>,
    filter: &ColumnFilter,
    selection: &mut Selection,
    implied: &dyn Fn(usize) -> bool,
) -> FilterRead {
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
    let len = column.len();
    if keep_present {
        // Every non-null value passes; only nulls are in question.
        selection.retain(|row| row < len && (keep_nulls || !null_at(row)));
        return FilterRead::Values;
    }
    let codes = codes.filter(|codes| codes.codes().len() == len);
    let read = match column.values() {
        ColumnValues::Int(_) | ColumnValues::Decimal(_) if offsets.is_some() => FilterRead::Offsets,
        ColumnValues::Bytes(_) if codes.is_some() => FilterRead::Codes,
        _ => FilterRead::Values,
    };
    // The slow paths: a comparison of `Scalar`s per selected row.
    macro_rules! by_value {
        ($get:expr, $matches:expr) => {
            selection.retain(|row| match $get(row) {
                None => false,
                Some(_) if null_at(row) => keep_nulls,
                Some(value) => $matches(value),
            })
        };
    }
    match column.values() {
        ColumnValues::Int(values) => {
            let bounds: Vec<(i64, i64)> = ranges
                .iter()
                .filter_map(|(low, high)| int_bounds(low, high))
                .collect();
            select_within(
                values, &bounds, offsets, validity, keep_nulls, selection, implied,
            );
        }
        ColumnValues::Decimal(values) => {
            let bounds: Vec<(i128, i128)> = ranges
                .iter()
                .filter_map(|(low, high)| decimal_bounds(low, high))
                .collect();
            select_within(
                values, &bounds, offsets, validity, keep_nulls, selection, implied,
            );
        }
        ColumnValues::Float(values) => {
            if let Some(bounds) = ranges
                .iter()
                .map(|(low, high)| float_bounds(low, high))
                .collect::<Option<Vec<_>>>()
            {
                if let [bound] = bounds[..] {
                    select_by(values, validity, keep_nulls, selection, implied, |value| {
                        bound.contains(value)
                    });
                } else {
                    select_by(values, validity, keep_nulls, selection, implied, |value| {
                        bounds.iter().any(|bound| bound.contains(value))
                    });
                }
                return read;
            }
            by_value!(|row: usize| values.get(row), |value: &f64| ranges
                .iter()
                .any(|(low, high)| {
                    within(low, high, |bound| match bound {
                        Scalar::Float(bound) => Some(float_order(*value, *bound)),
                        _ => None,
                    })
                }));
        }
        ColumnValues::Bool(values) => {
            by_value!(|row: usize| values.get(row), |value: &bool| ranges
                .iter()
                .any(|(low, high)| {
                    within(low, high, |bound| match bound {
                        Scalar::Bool(bound) => Some(value.cmp(bound)),
                        _ => None,
                    })
                }));
        }
        ColumnValues::Bytes(values) => {
            let ranges: Vec<BytesRange<'_>> = ranges
                .iter()
                .filter_map(|(low, high)| BytesRange::of(low, high))
                .collect();
            // Decided once per distinct value, then looked up per row by its code.
            if let Some(codes) = codes {
                let mut passes = [false; crate::codes::DISTINCT_MAX];
                for (pass, value) in passes.iter_mut().zip(codes.values()) {
                    *pass = ranges.iter().any(|range| range.contains(value));
                }
                select_by(
                    codes.codes(),
                    validity,
                    keep_nulls,
                    selection,
                    implied,
                    |code| passes.get(usize::from(code)).copied().unwrap_or(false),
                );
                return read;
            }
            by_value!(|row: usize| values.get(row), |value: &[u8]| ranges
                .iter()
                .any(|range| range.contains(value)));
        }
    }
    read
}

/// What a filter read to decide: the values, the chunk's offsets, or its dictionary codes
/// (reported by `explain`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FilterRead {
    Values,
    Offsets,
    Codes,
}

/// Keeps the selected rows of an integer or decimal column whose value lies in one of
/// `bounds` (inclusive), reading the chunk's `offsets` when it has them.
fn select_within<T: Copy + PartialOrd + Into<i128>>(
    values: &[T],
    bounds: &[(T, T)],
    offsets: Option<&Offsets>,
    validity: Option<&[bool]>,
    keep_nulls: bool,
    selection: &mut Selection,
    implied: &dyn Fn(usize) -> bool,
) {
    if let Some(offsets) = offsets {
        let windows: Vec<(u32, u32)> = bounds
            .iter()
            .filter_map(|&(low, high)| offsets.window(low.into(), high.into()))
            .collect();
        select_offsets(offsets, &windows, validity, keep_nulls, selection, implied);
    } else if let [(low, high)] = bounds[..] {
        select_by(values, validity, keep_nulls, selection, implied, |value| {
            (low <= value) & (value <= high)
        });
    } else {
        select_by(values, validity, keep_nulls, selection, implied, |value| {
            bounds
                .iter()
                .any(|&(low, high)| (low <= value) & (value <= high))
        });
    }
}

/// [`select_by`] over a chunk's offsets: a value passes when its offset lies in one of
/// `windows`, made by [`Offsets::window`] from the filter's ranges.
fn select_offsets(
    offsets: &Offsets,
    windows: &[(u32, u32)],
    validity: Option<&[bool]>,
    keep_nulls: bool,
    selection: &mut Selection,
    implied: &dyn Fn(usize) -> bool,
) {
    fn within<T: Copy + PartialOrd + TryFrom<u32>>(
        values: &[T],
        windows: &[(u32, u32)],
        validity: Option<&[bool]>,
        keep_nulls: bool,
        selection: &mut Selection,
        implied: &dyn Fn(usize) -> bool,
    ) {
        // A window's ends fit the width: `Offsets::window` clamps them to it.
        let windows: Vec<(T, T)> = windows
            .iter()
            .filter_map(|&(low, high)| Some((T::try_from(low).ok()?, T::try_from(high).ok()?)))
            .collect();
        match windows[..] {
            [] => select_by(values, validity, keep_nulls, selection, implied, |_| false),
            [(low, high)] => select_by(values, validity, keep_nulls, selection, implied, |value| {
                (low <= value) & (value <= high)
            }),
            _ => select_by(values, validity, keep_nulls, selection, implied, |value| {
                windows
                    .iter()
                    .any(|&(low, high)| (low <= value) & (value <= high))
            }),
        }
    }
    match offsets.values() {
        OffsetValues::U8(values) => {
            within(values, windows, validity, keep_nulls, selection, implied);
        }
        OffsetValues::U16(values) => {
            within(values, windows, validity, keep_nulls, selection, implied);
        }
        OffsetValues::U32(values) => {
            within(values, windows, validity, keep_nulls, selection, implied);
        }
    }
}

/// Drops the selected rows whose value fails `matches`, with nulls kept or dropped as
/// `keep_nulls` says. Over a mask: one branch-free pass the compiler can vectorize for the
/// common one-range filter; over a row list: a gather per row, compacting in place.
fn select_by<T: Copy>(
    values: &[T],
    validity: Option<&[bool]>,
    keep_nulls: bool,
    selection: &mut Selection,
    implied: &dyn Fn(usize) -> bool,
    matches: impl Fn(T) -> bool,
) {
    match selection {
        Selection::Masks(masks) => {
            let _infallible = masks.try_for_each_mut(|range, first, mask| {
                if implied(range) {
                    return Ok(());
                }
                let present = values.get(first..).unwrap_or_default();
                match validity.map(|valid| valid.get(first..).unwrap_or_default()) {
                    Some(valid) if valid.len() >= mask.len() => {
                        for ((slot, &value), &present) in mask.iter_mut().zip(present).zip(valid) {
                            *slot &= if present { matches(value) } else { keep_nulls };
                        }
                    }
                    _ => {
                        for (slot, &value) in mask.iter_mut().zip(present) {
                            *slot &= matches(value);
                        }
                    }
                }
                // Rows past the values (a malformed chunk) match nothing.
                for slot in mask.iter_mut().skip(present.len()) {
                    *slot = false;
                }
                Ok(())
            });
        }
        Selection::Rows(rows) => {
            let mut kept = 0usize;
            for index in 0..rows.len() {
                let Some(&row) = rows.get(index) else { break };
                let pass = match values.get(row as usize) {
                    None => false,
                    Some(&value) => {
                        if validity.is_some_and(|valid| valid.get(row as usize) != Some(&true)) {
                            keep_nulls
                        } else {
                            matches(value)
                        }
                    }
                };
                if let Some(slot) = rows.get_mut(kept) {
                    *slot = row;
                }
                kept += usize::from(pass);
            }
            rows.truncate(kept);
        }
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

/// A range of byte strings, its bounds borrowed from the filter. The one-value range of an
/// `=` or `IN` term is tested for equality, which most values fail on their length alone,
/// instead of by two comparisons.
#[derive(Debug, Clone, Copy)]
enum BytesRange<'a> {
    Equal(&'a [u8]),
    Between(Bound<&'a [u8]>, Bound<&'a [u8]>),
}

impl<'a> BytesRange<'a> {
    /// The range, `None` when a bound is of another kind, which nothing satisfies.
    fn of(low: &'a Bound<Scalar>, high: &'a Bound<Scalar>) -> Option<Self> {
        let end = |bound: &'a Bound<Scalar>| match bound {
            Bound::Unbounded => Some(Bound::Unbounded),
            Bound::Included(Scalar::Bytes(value)) => Some(Bound::Included(value.as_slice())),
            Bound::Excluded(Scalar::Bytes(value)) => Some(Bound::Excluded(value.as_slice())),
            _ => None,
        };
        Some(match (end(low)?, end(high)?) {
            (Bound::Included(low), Bound::Included(high)) if low == high => Self::Equal(low),
            (low, high) => Self::Between(low, high),
        })
    }

    fn contains(&self, value: &[u8]) -> bool {
        match *self {
            Self::Equal(only) => value == only,
            Self::Between(low, high) => {
                let above = match low {
                    Bound::Unbounded => true,
                    Bound::Included(low) => value >= low,
                    Bound::Excluded(low) => value > low,
                };
                above
                    && match high {
                        Bound::Unbounded => true,
                        Bound::Included(high) => value <= high,
                        Bound::Excluded(high) => value < high,
                    }
            }
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
    Ok(column.take(rows)?)
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
    use tessera_codecs::BytesColumn;
    use tessera_codecs::LogicalType;
    use tessera_layout::Range;

    fn filter(terms: Vec<Term>) -> ColumnFilter {
        ColumnFilter {
            column: "c".to_owned(),
            terms,
        }
    }

    /// Untouched ranges come back as themselves; once a row is dropped, only the rows do.
    #[test]
    fn whole_ranges_come_back_as_ranges() {
        let ranges = [2..5, 9..9, 10..12];
        let chosen = Selection::ranges(&ranges).into_chosen();
        assert_eq!(chosen, Chosen::Ranges(vec![2..5, 10..12]));
        let mut selection = Selection::ranges(&ranges);
        selection.deselect(3);
        assert_eq!(selection.into_chosen(), Chosen::Rows(vec![2, 4, 10, 11]));
        let chosen = Selection::ranges(&[]).into_chosen();
        assert_eq!(chosen, Chosen::Ranges(Vec::new()));
        // Thinned into long runs, across ranges that touch and words of 64: ranges, merged.
        let mut selection = Selection::ranges(&[0..100, 100..200, 300..400]);
        for row in [50, 51, 130, 399] {
            selection.deselect(row);
        }
        assert_eq!(
            selection.into_chosen(),
            Chosen::Ranges(vec![0..50, 52..130, 131..200, 300..399])
        );
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
                // Both as a mask and as a row list.
                for first in 0..column.len() {
                    let before: Vec<bool> = (first..column.len()).map(|row| row % 3 != 1).collect();
                    let expected: Vec<u32> = (first..column.len())
                        .filter(|&row| {
                            let value = crate::row::value_at(column, row).map(|v| v.to_scalar());
                            before[row - first] && filter.matches(value.as_ref())
                        })
                        .map(|row| row as u32)
                        .collect();
                    // Over the values and, for integers and decimals, over their offsets,
                    // for strings over their codes.
                    for (offsets, codes) in [(None, None), (Offsets::of(column), Codes::of(column))]
                    {
                        let (offsets, codes) = (offsets.as_ref(), codes.as_ref());
                        let mut mask = Selection::mask(first, before.clone());
                        apply_filter(column, offsets, codes, filter, &mut mask, &|_| false);
                        assert_eq!(mask.into_rows(), expected, "{filter:?} mask from {first}");
                        let mut rows = Selection::mask(first, before.clone());
                        rows = Selection::Rows(rows.into_rows());
                        apply_filter(column, offsets, codes, filter, &mut rows, &|_| false);
                        assert_eq!(rows.into_rows(), expected, "{filter:?} rows from {first}");
                    }
                }
            }
        }
    }

    #[test]
    fn ranges_marked_implied_keep_their_rows() {
        let values: Vec<i64> = (0..40).collect();
        let column = Column::new(LogicalType::Int64, ColumnValues::Int(values), None).unwrap();
        let keep_below_ten = filter(vec![Term::Range(Range::closed(
            Scalar::Int(i64::MIN),
            Scalar::Int(9),
        ))]);
        let ranges = [0..5, 10..15, 20..25, 30..35];
        let mut selection = Selection::ranges(&ranges);
        // The second and fourth ranges' cells imply the filter: left alone.
        apply_filter(
            &column,
            None,
            None,
            &keep_below_ten,
            &mut selection,
            &|range| range % 2 == 1,
        );
        let expected: Vec<u32> = (0..5).chain(10..15).chain(30..35).collect();
        assert_eq!(selection.into_rows(), expected);
        // Without the marks the filter runs everywhere; a row list checks every row.
        let mut everywhere = Selection::ranges(&ranges);
        apply_filter(
            &column,
            None,
            None,
            &keep_below_ten,
            &mut everywhere,
            &|_| false,
        );
        assert_eq!(everywhere.into_rows(), (0..5).collect::<Vec<u32>>());
        let mut rows = Selection::Rows((10..15).collect());
        apply_filter(&column, None, None, &keep_below_ten, &mut rows, &|_| true);
        assert_eq!(rows, Selection::Rows(Vec::new()));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]

        /// Filtering a chunk's offsets keeps exactly the rows filtering its values keeps,
        /// for spans of every width, nulls, and ranges inside, across and outside the values.
        #[test]
        fn offsets_filter_like_the_values(
            base in proptest::prelude::any::<i32>(),
            width in 0u32..3,
            raw in proptest::collection::vec((proptest::prelude::any::<u32>(), 0u8..8), 1..300),
            ends in proptest::collection::vec(
                (proptest::prelude::any::<i64>(), proptest::prelude::any::<i64>(), 0u8..4),
                0..3,
            ),
            keep_nulls in proptest::prelude::any::<bool>(),
            decimal in proptest::prelude::any::<bool>(),
        ) {
            let span = [200u64, 60_000, u64::from(u32::MAX)][width as usize];
            let base = i64::from(base) * 1_000;
            let values: Vec<i64> = raw
                .iter()
                .map(|&(value, _)| base + (u64::from(value) % (span + 1)) as i64)
                .collect();
            let validity: Vec<bool> = raw.iter().map(|&(_, null)| null != 0).collect();
            let scalar = |value: i64| if decimal { Scalar::Decimal(value.into()) } else { Scalar::Int(value) };
            // Ends near the values, so windows cut into them, or anywhere.
            let end = |value: i64, how: u8| match how {
                0 => Bound::Unbounded,
                1 => Bound::Excluded(scalar(value)),
                _ => Bound::Included(scalar(base.saturating_add(value % (span as i64 + 20) - 10))),
            };
            let mut terms: Vec<Term> = ends
                .iter()
                .map(|&(low, high, how)| Term::Range(Range { low: end(low, how), high: end(high, how ^ 3) }))
                .collect();
            if keep_nulls {
                terms.push(Term::IsNull);
            }
            let filter = filter(terms);
            let column = if decimal {
                let decimals = values.iter().map(|&value| i128::from(value)).collect();
                let logical = LogicalType::Decimal128 { precision: 38, scale: 0 };
                Column::new(logical, ColumnValues::Decimal(decimals), Some(validity))
            } else {
                Column::new(LogicalType::Int64, ColumnValues::Int(values), Some(validity))
            }
            .unwrap();
            let offsets = Offsets::of(&column);
            proptest::prop_assert!(offsets.is_some() || column.validity().is_some_and(|v| !v.contains(&true)));
            for rows_first in [false, true] {
                let mut plain = Selection::ranges(std::slice::from_ref(&(0..column.len())));
                let mut narrow = Selection::ranges(std::slice::from_ref(&(0..column.len())));
                if rows_first {
                    plain = Selection::Rows(plain.into_rows());
                    narrow = Selection::Rows(narrow.into_rows());
                }
                apply_filter(&column, None, None, &filter, &mut plain, &|_| false);
                apply_filter(&column, offsets.as_ref(), None, &filter, &mut narrow, &|_| false);
                proptest::prop_assert_eq!(narrow.into_rows(), plain.into_rows());
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]

        /// A filter on a bytes column keeps exactly the rows the filter's own `matches`
        /// keeps: short strings over two letters (so equal values, prefixes and lengths
        /// meet), `=` ranges, open and half-open ones, bounds of another kind, and nulls;
        /// over a mask and over a row list.
        #[test]
        fn bytes_filter_like_the_predicate(
            raw in proptest::collection::vec((proptest::collection::vec(0u8..2, 0..4), 0u8..6), 1..200),
            ends in proptest::collection::vec(
                (
                    proptest::collection::vec(0u8..2, 0..4),
                    proptest::collection::vec(0u8..2, 0..4),
                    proptest::prelude::any::<bool>(),
                    (0u8..5, 0u8..5),
                ),
                0..4,
            ),
            keep_nulls in proptest::prelude::any::<bool>(),
        ) {
            let text = |letters: &[u8]| letters.iter().map(|&letter| b'a' + letter).collect::<Vec<u8>>();
            let values: Vec<Vec<u8>> = raw.iter().map(|(letters, _)| text(letters)).collect();
            let validity: Vec<bool> = raw.iter().map(|&(_, null)| null != 0).collect();
            let end = |letters: &[u8], how: u8| match how {
                0 => Bound::Unbounded,
                1 => Bound::Excluded(Scalar::Bytes(text(letters))),
                2 => Bound::Included(Scalar::Int(1)),
                _ => Bound::Included(Scalar::Bytes(text(letters))),
            };
            let mut terms: Vec<Term> = ends
                .iter()
                .map(|(low, high, equal, (low_how, high_how))| {
                    // One range in two is an `=` range: one value, both ends included.
                    let (high, (low_how, high_how)) =
                        if *equal { (low, (3, 3)) } else { (high, (*low_how, *high_how)) };
                    Term::Range(Range { low: end(low, low_how), high: end(high, high_how) })
                })
                .collect();
            if keep_nulls {
                terms.push(Term::IsNull);
            }
            let filter = filter(terms);
            let column = Column::new(
                LogicalType::Utf8,
                ColumnValues::Bytes(BytesColumn::from_values(values.iter().map(Vec::as_slice)).unwrap()),
                Some(validity.clone()),
            )
            .unwrap();
            let expected: Vec<u32> = values
                .iter()
                .zip(&validity)
                .enumerate()
                .filter(|(_, (value, valid))| {
                    let value = Scalar::Bytes(value.to_vec());
                    filter.matches(valid.then_some(&value))
                })
                .map(|(row, _)| row as u32)
                .collect();
            let codes = Codes::of(&column);
            proptest::prop_assert!(codes.is_some());
            // Over the values and over their codes, as a mask and as a row list.
            for (codes, rows_first) in [(None, false), (None, true), (codes.as_ref(), false), (codes.as_ref(), true)] {
                let mut selection = Selection::ranges(std::slice::from_ref(&(0..column.len())));
                if rows_first {
                    selection = Selection::Rows(selection.into_rows());
                }
                let read = apply_filter(&column, None, codes, &filter, &mut selection, &|_| false);
                proptest::prop_assert_eq!(selection.into_rows(), expected.clone());
                let over_codes = codes.is_some() && !filter.terms.iter().any(|term| matches!(term, Term::IsNotNull));
                proptest::prop_assert_eq!(read == FilterRead::Codes, over_codes);
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

        /// Masks turn into the rows a plain walk lists, over sparse and dense words, words
        /// cut short, and several ranges.
        #[test]
        fn masks_list_the_rows_a_plain_walk_does(
            ranges in proptest::collection::vec((0usize..40, 0usize..300, 0u32..=64), 1..6),
            seed in proptest::prelude::any::<u64>(),
        ) {
            // Ranges with gaps between them, each with its own share of set rows in 64.
            let mut bounds = Vec::new();
            let mut shares = Vec::new();
            let mut at = 0;
            for &(gap, len, share) in &ranges {
                bounds.push(at + gap..at + gap + len);
                shares.push(share);
                at += gap + len;
            }
            let mut selection = Selection::ranges(&bounds);
            let mut expected = Vec::new();
            let mut state = seed | 1;
            for (range, &share) in bounds.iter().zip(&shares) {
                for row in range.clone() {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    if (state % 64) < u64::from(share) {
                        expected.push(row as u32);
                    } else {
                        selection.deselect(row);
                    }
                }
            }
            proptest::prop_assert_eq!(selection.clone().into_rows(), expected.clone());
            // Chosen as ranges or rows, the same rows. Untouched ranges come back as they
            // were; runs read from thinned masks only when long enough on average, each
            // non-empty, ascending and apart from the next.
            let total: usize = bounds.iter().map(ExactSizeIterator::len).sum();
            let untouched = expected.len() == total;
            let chosen: Vec<u32> = match selection.into_chosen() {
                Chosen::Rows(rows) => rows,
                Chosen::Ranges(ranges) if untouched => {
                    let whole: Vec<_> =
                        bounds.iter().filter(|range| !range.is_empty()).cloned().collect();
                    proptest::prop_assert_eq!(&ranges, &whole);
                    ranges.into_iter().flatten().map(|row| row as u32).collect()
                }
                Chosen::Ranges(ranges) => {
                    proptest::prop_assert!(ranges.len() * RUN_ROWS_MIN <= expected.len());
                    for pair in ranges.windows(2) {
                        proptest::prop_assert!(pair[0].end < pair[1].start, "{:?}", pair);
                    }
                    proptest::prop_assert!(ranges.iter().all(|range| !range.is_empty()));
                    ranges.into_iter().flatten().map(|row| row as u32).collect()
                }
            };
            proptest::prop_assert_eq!(chosen, expected);
        }
    }

    #[test]
    fn pack_flags_puts_the_first_flag_lowest() {
        let mut flags = [0u8; 64];
        for index in [0, 7, 8, 33, 63] {
            flags[index] = 1;
        }
        let bits = pack_flags(&flags);
        assert_eq!(bits, 1 | 1 << 7 | 1 << 8 | 1 << 33 | 1 << 63);
        assert_eq!(pack_flags(&flags[..9]), 1 | 1 << 7 | 1 << 8);
        assert_eq!(pack_flags(&[1; 64]), u64::MAX);
        assert_eq!(pack_flags(&[]), 0);
    }

    #[test]
    fn selected_rows_match_a_plain_filter() {
        let patterns: Vec<Vec<bool>> = vec![
            Vec::new(),
            vec![false; 200],
            vec![true; 200],
            (0..300).map(|row| row % 7 == 3).collect(),
            (0..130)
                .map(|row| row == 0 || row == 64 || row == 129)
                .collect(),
        ];
        for selected in &patterns {
            for first in [0usize, 5, 65_000] {
                let expected: Vec<u32> = selected
                    .iter()
                    .enumerate()
                    .filter(|(_, set)| **set)
                    .map(|(offset, _)| (first + offset) as u32)
                    .collect();
                // Alone, and after a range of its own rows shifted past it.
                let alone = Masks {
                    runs: vec![(first, 0)],
                    mask: selected.clone(),
                };
                assert_eq!(alone.rows(expected.len()), expected);
                let later = first + selected.len() + 3;
                let twice = Masks {
                    runs: vec![(first, 0), (later, selected.len())],
                    mask: [&selected[..], &selected[..]].concat(),
                };
                let shifted = expected
                    .iter()
                    .map(|&row| row - first as u32 + later as u32);
                let both: Vec<u32> = expected.iter().copied().chain(shifted).collect();
                assert_eq!(twice.rows(both.len()), both);
            }
        }
    }

    /// A selection keeps the same rows whether a mask or a list holds them.
    #[test]
    fn selections_deselect_and_turn_sparse() {
        let mut selection = Selection::ranges(std::slice::from_ref(&(10..10 + 64)));
        for row in [9, 10, 40, 73, 74] {
            selection.deselect(row);
        }
        assert_eq!(selection.count(), 61);
        assert_eq!(selection.settle(), 61);
        assert!(
            matches!(selection, Selection::Masks(_)),
            "dense stays a mask"
        );
        selection.retain(|row| row % 32 == 0 || row == 41);
        assert_eq!(selection.settle(), 3);
        assert_eq!(selection, Selection::Rows(vec![32, 41, 64]));
        selection.deselect(32);
        selection.deselect(41);
        selection.deselect(63);
        assert_eq!(selection.clone().into_rows(), vec![64]);
        assert!(
            Selection::ranges(std::slice::from_ref(&(5..5)))
                .into_rows()
                .is_empty()
        );
    }

    #[test]
    fn ranges_select_their_rows_as_masks_swept_only_inside_them() {
        let mut ranges = Selection::ranges(&[2..10, 12..20, 30..30, 60_000..60_004]);
        assert_eq!(ranges.count(), 20);
        ranges.deselect(12);
        ranges.deselect(11);
        ranges.deselect(60_003);
        let expected: Vec<u32> = (2..10).chain(13..20).chain(60_000..60_003).collect();
        assert_eq!(ranges.clone().into_rows(), expected);
        // Sparse relative to the rows swept, not to the span between the ranges.
        assert_eq!(ranges.settle(), 18);
        assert!(matches!(ranges, Selection::Masks(ref masks) if masks.len() == 3));
        ranges.retain(|row| (5..10).contains(&row) || row == 60_001);
        assert_eq!(ranges.settle(), 6, "6 rows of 20 swept stay masks");
        assert!(matches!(ranges, Selection::Masks(_)));
        let mut wide = Selection::ranges(&[0..100, 60_000..60_100]);
        wide.retain(|row| row == 5 || row == 60_001);
        assert_eq!(wide.settle(), 2);
        assert_eq!(wide, Selection::Rows(vec![5, 60_001]));
        assert_eq!(Selection::ranges(&[]).count(), 0);
    }

    #[test]
    fn kept_share_guesses_from_the_zone() {
        let range = |low: i64, high: i64| {
            filter(vec![Term::Range(Range::closed(
                Scalar::Int(low),
                Scalar::Int(high),
            ))])
        };
        let zone = (Scalar::Int(0), Scalar::Int(100));
        let zone = Some((&zone.0, &zone.1));
        assert!((kept_share(&range(0, 10), zone) - 0.1).abs() < 1e-9);
        assert!((kept_share(&range(-50, 50), zone) - 0.5).abs() < 1e-9);
        assert_eq!(kept_share(&range(200, 300), zone), 0.0);
        assert_eq!(kept_share(&filter(vec![Term::IsNull]), zone), 1.0);
        assert_eq!(kept_share(&range(0, 10), None), 1.0);
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
        // A row past the end is an error, not a default.
        assert!(take(&ints, &[4, 5]).is_err());
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
