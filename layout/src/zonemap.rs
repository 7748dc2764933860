//! Learned zone maps: a per-block model of where each value of the sort column sits, which
//! narrows a scan to a row range inside the block without reading the block.
//!
//! A block's rows are sorted by the layout's sort column, nulls first. [`PositionModel`] is a
//! CDF model of the block's non-null keys plus two error bounds measured on the block itself
//! when it is fitted: how far the model may run ahead of the true position (`over`) and how
//! far behind (`under`), for *any* key, not just the keys in the block. With the model
//! monotone, those bounds make the narrowed range guaranteed: for `[low, high]`,
//! every matching row lies in
//! `[rank(low) − over, rank(next_up(high)) + under)`, shifted past the nulls.
//!
//! Why two bounds are enough: between two neighbouring distinct keys `a < b` the true
//! position of any key `K` in `(a, b]` is that of `b`, and a monotone model gives
//! `rank(next_up(a)) ≤ rank(K) ≤ rank(b)`; so `over` is the largest
//! `rank(b) − position(b)` and `under` the largest `position(b) − rank(next_up(a))`, both
//! taken over the block's keys. The model steps after long runs of one key
//! ([`CdfModel`]'s run-aware fit), which keeps `under` small on duplicate-heavy blocks.
//!
//! A block that holds several cells (small cells packed together) has no single sorted
//! run, so it carries no model; each cell's run is narrowed by [`narrow_sorted`] instead: a
//! search of the decoded sort column, exact to the key map. Integer runs are searched from
//! where the key interpolates to, and may be given as offsets from a base
//! ([`SortedInts`], [`narrow_sorted_ints`]), which a scan holds for cached chunks and
//! which touch fewer cache lines than the 8-byte values.
//!
//! Format, little-endian: `TSPM`, version `u16`, value kind, rows `u32`, nulls `u32`,
//! `under` and `over` as `f64`, then the CDF model.

use std::ops::Range as RowRange;

use tessera_codecs::{Column, ColumnValues, PhysicalKind};

use crate::cdf::CdfModel;
use crate::keys::{Span, column_keys, is_valid, key_at};
use crate::layout::LayoutError;
use crate::predicate::ColumnFilter;
use crate::wire::{Reader, Writer};

/// Magic that opens a serialized position model.
pub const POSITION_MODEL_MAGIC: [u8; 4] = *b"TSPM";
/// The position model format version this build writes and reads.
pub const POSITION_MODEL_FORMAT_VERSION: u16 = 1;
/// Error bound the model is fitted with, in rows, at least: small models, ranges a few dozen
/// rows wider than exact.
const FIT_EPSILON_MIN: f64 = 16.0;
/// ... and at least this fraction of the block's rows, which bounds the segments a block of
/// many short runs of duplicates needs (a run longer than twice the bound starts one).
const FIT_EPSILON_PER_ROW: f64 = 1.0 / 512.0;
/// Slack added to both bounds against rounding in the bounds' own arithmetic.
const SLACK_ROWS: f64 = 1.0;

/// Where each value of a sorted block's sort column sits.
#[derive(Debug, Clone, PartialEq)]
pub struct PositionModel {
    kind: PhysicalKind,
    rows: u32,
    nulls: u32,
    under: f64,
    over: f64,
    model: CdfModel,
}

impl PositionModel {
    /// Fits the model on one block's sort column, which must be sorted: nulls first, then
    /// ascending values (as [`crate::sort_permutation`] orders them).
    pub fn fit(sorted: &Column) -> Result<Self, LayoutError> {
        let rows = u32::try_from(sorted.len())
            .map_err(|_| LayoutError::Invalid("a block holds at most 2^32 rows".to_owned()))?;
        let nulls = (0..sorted.len())
            .take_while(|&row| !is_valid(sorted, row))
            .count();
        if (nulls..sorted.len()).any(|row| !is_valid(sorted, row)) {
            return Err(LayoutError::Invalid(
                "a position model needs the nulls first".to_owned(),
            ));
        }
        let keys: Vec<f64> = column_keys(sorted).into_iter().skip(nulls).collect();
        if keys.windows(2).any(|pair| matches!(pair, [a, b] if a > b)) {
            return Err(LayoutError::Invalid(
                "a position model needs the values sorted".to_owned(),
            ));
        }
        let epsilon = FIT_EPSILON_MIN.max(keys.len() as f64 * FIT_EPSILON_PER_ROW);
        let model = CdfModel::fit_runs(&keys, epsilon);
        // Measure both bounds over the block's distinct keys (see the module docs).
        let (mut under, mut over) = (0.0f64, 0.0f64);
        let mut previous_rank: Option<f64> = None;
        let mut index = 0;
        while let Some(&key) = keys.get(index) {
            let position = index as f64;
            let rank = model.rank(key);
            over = over.max(rank - position);
            under = under.max(position - previous_rank.unwrap_or(position));
            // Keys above this one start at its next representable value.
            previous_rank = Some(model.rank(key.next_up()));
            while keys.get(index).is_some_and(|&other| other == key) {
                index += 1;
            }
        }
        Ok(Self {
            kind: sorted.logical().physical(),
            rows,
            nulls: nulls as u32,
            under: under + SLACK_ROWS,
            over: over + SLACK_ROWS,
            model,
        })
    }

    /// Rows in the block.
    pub fn rows(&self) -> u32 {
        self.rows
    }

    /// Rows that may match `filter` (a filter on the sort column): a range guaranteed to
    /// hold every match. A filter whose values are of another kind keeps the whole block.
    pub fn narrow(&self, filter: &ColumnFilter) -> RowRange<u32> {
        let span = Span::of_filter(filter, self.kind);
        let valid = f64::from(self.rows - self.nulls);
        let mut start = u32::MAX;
        let mut end = 0u32;
        if span.null && self.nulls > 0 {
            start = 0;
            end = self.nulls;
        }
        for &(low, high) in &span.intervals {
            let first = (self.model.rank(low) - self.over).floor().clamp(0.0, valid);
            // Keys up to `high` are those below its successor; +inf (and NaN) has none.
            let past = if high == f64::INFINITY {
                valid
            } else {
                (self.model.rank(high.next_up()) + self.under)
                    .ceil()
                    .clamp(0.0, valid)
            };
            if first < past {
                start = start.min(self.nulls + first as u32);
                end = end.max(self.nulls + past as u32);
            }
        }
        if start >= end { 0..0 } else { start..end }
    }

    /// Bytes the serialized model takes.
    pub fn size_bytes(&self) -> usize {
        31 + self.model.size_bytes()
    }

    /// Serializes the model.
    pub fn encode(&self) -> Vec<u8> {
        let mut writer = Writer::new(Vec::with_capacity(self.size_bytes()));
        for byte in POSITION_MODEL_MAGIC {
            writer.u8(byte);
        }
        writer.u16(POSITION_MODEL_FORMAT_VERSION);
        writer.kind(self.kind);
        writer.u32(self.rows);
        writer.u32(self.nulls);
        writer.f64(self.under);
        writer.f64(self.over);
        self.model.encode_into(&mut writer);
        writer.finish()
    }

    /// Reads a model written by [`Self::encode`].
    pub fn decode(bytes: &[u8]) -> Result<Self, LayoutError> {
        let mut reader = Reader::new(bytes, 0);
        for expected in POSITION_MODEL_MAGIC {
            if reader.u8()? != expected {
                return Err(LayoutError::Format {
                    offset: 0,
                    reason: "bad magic".to_owned(),
                });
            }
        }
        let version = reader.u16()?;
        if version != POSITION_MODEL_FORMAT_VERSION {
            return Err(LayoutError::Format {
                offset: 4,
                reason: format!("unknown format version {version}"),
            });
        }
        let kind = reader.kind()?;
        let rows = reader.u32()?;
        let nulls = reader.u32()?;
        let under = reader.finite_f64("under")?;
        let over = reader.finite_f64("over")?;
        let model = CdfModel::decode_from(&mut reader)?;
        if nulls > rows
            || model.sample_len() != (rows - nulls) as usize
            || under < 0.0
            || over < 0.0
        {
            return Err(reader.error("position model disagrees with its block"));
        }
        reader.finish()?;
        Ok(Self {
            kind,
            rows,
            nulls,
            under,
            over,
            model,
        })
    }
}

/// The rows of `rows` that may match `filter` (a filter on `column`), found by binary
/// search. The rows of `column` in `rows` must be ordered as a cell stores them: nulls
/// first, then ascending. The answer is one range holding every match; it is exact up to
/// the key map (values sharing a key, such as strings sharing an 8-byte prefix, stay in).
/// A filter whose values are of another kind keeps every row.
pub fn narrow_sorted(column: &Column, rows: RowRange<u32>, filter: &ColumnFilter) -> RowRange<u32> {
    narrow_sorted_span(
        column,
        rows,
        &Span::of_filter(filter, column.logical().physical()),
    )
}

/// [`narrow_sorted`] by the filter's [`Span`] (of the column's physical kind), which a scan
/// computes once for the many runs it narrows.
pub fn narrow_sorted_span(column: &Column, rows: RowRange<u32>, span: &Span) -> RowRange<u32> {
    let start = rows.start as usize;
    let end = (rows.end as usize).min(column.len()).max(start);
    let (mut first, mut past) = (usize::MAX, 0usize);
    // Integers without nulls, the common sort column: searched on the slice itself.
    if let Some(ints) = SortedInts::of(column) {
        return narrow_sorted_ints(ints, rows, span);
    }
    let nulls_end = first_where(start..end, |row| is_valid(column, row));
    if span.null && nulls_end > start {
        (first, past) = (start, nulls_end);
    }
    for &(low, high) in &span.intervals {
        let low_row = first_where(nulls_end..end, |row| key_at(column, row) >= low);
        let high_row = first_where(low_row..end, |row| key_at(column, row) > high);
        if low_row < high_row {
            first = first.min(low_row);
            past = past.max(high_row);
        }
    }
    if first >= past {
        rows.start..rows.start
    } else {
        first as u32..past as u32
    }
}

/// An ascending run of integers without nulls, as a scan holds a sort column: the values
/// themselves, or offsets from a base (each value is `base + offset`). Offsets of a chunk
/// whose values span little take 1, 2 or 4 bytes a row instead of 8, so a search through
/// them touches fewer cache lines, and a block's column is likelier to stay cached from
/// one query to the next.
#[derive(Debug, Clone, Copy)]
pub enum SortedInts<'a> {
    /// The values.
    Values(&'a [i64]),
    /// Offsets of one byte from `base`.
    U8 {
        /// The value an offset of 0 stands for.
        base: i64,
        /// The offsets, one a row.
        offsets: &'a [u8],
    },
    /// Offsets of two bytes from `base`.
    U16 {
        /// The value an offset of 0 stands for.
        base: i64,
        /// The offsets, one a row.
        offsets: &'a [u16],
    },
    /// Offsets of four bytes from `base`.
    U32 {
        /// The value an offset of 0 stands for.
        base: i64,
        /// The offsets, one a row.
        offsets: &'a [u32],
    },
}

impl<'a> SortedInts<'a> {
    /// The values of an integer column without nulls; `None` for any other column.
    pub fn of(column: &'a Column) -> Option<Self> {
        match (column.values(), column.validity()) {
            (ColumnValues::Int(values), None) => Some(Self::Values(values)),
            _ => None,
        }
    }

    /// The value of `row`, `None` past the end.
    pub fn value(&self, row: usize) -> Option<i64> {
        match *self {
            Self::Values(values) => values.get(row).copied(),
            Self::U8 { base, offsets } => Some(base.wrapping_add(i64::from(*offsets.get(row)?))),
            Self::U16 { base, offsets } => Some(base.wrapping_add(i64::from(*offsets.get(row)?))),
            Self::U32 { base, offsets } => Some(base.wrapping_add(i64::from(*offsets.get(row)?))),
        }
    }
}

/// [`narrow_sorted_span`] on an integer run held as [`SortedInts`]: the rows of `rows`
/// whose values lie in `span`, as one range (empty, at `rows.start`, when none do). The
/// rows of `ints` in `rows` must ascend.
pub fn narrow_sorted_ints(ints: SortedInts<'_>, rows: RowRange<u32>, span: &Span) -> RowRange<u32> {
    let start = rows.start as usize;
    let found = match ints {
        SortedInts::Values(values) => narrow_ints(values, 0, start, rows.end, span),
        SortedInts::U8 { base, offsets } => narrow_ints(offsets, base, start, rows.end, span),
        SortedInts::U16 { base, offsets } => narrow_ints(offsets, base, start, rows.end, span),
        SortedInts::U32 { base, offsets } => narrow_ints(offsets, base, start, rows.end, span),
    };
    match found {
        Some((first, past)) if first < past => first as u32..past as u32,
        _ => rows.start..rows.start,
    }
}

/// The rows `first..past` of `start..end` of `run` (values `base + run[row]`) that lie in
/// `span`'s intervals; `None` when none do.
fn narrow_ints<T: Copy + Into<i64> + TryFrom<i64> + PartialOrd>(
    run: &[T],
    base: i64,
    start: usize,
    end: u32,
    span: &Span,
) -> Option<(usize, usize)> {
    let end = (end as usize).min(run.len()).max(start);
    let run = run.get(start..end).unwrap_or_default();
    let value = |item: Option<&T>| item.map(|&item| base.wrapping_add(item.into()));
    // Values this close to 0 are their keys exactly, so each key bound is an integer
    // bound: the searches compare integers (the stored ones, shifted by the base), not each
    // value converted to a key.
    let exact = |value: Option<i64>| value.is_some_and(|value| value.unsigned_abs() <= EXACT_INT);
    let exact = exact(value(run.first())) && exact(value(run.last()));
    // Where a key lies among the stored integers, for the interpolated guess.
    let stored = |key: f64| key - base as f64;
    // The run's line from its first to its last row, found once for every search in it.
    let line = match (run.first(), run.last()) {
        (Some(&first), Some(&last)) => Line::through(first.into(), last.into(), run.len()),
        _ => Line::through(0, 0, 0),
    };
    let (mut first, mut past) = (usize::MAX, 0usize);
    for &(low, high) in &span.intervals {
        let low_row = if exact {
            // Saturated, a bound still lies beyond every offset (all below 2^32).
            let below = int_below(low).saturating_sub(base);
            rows_below(run, below, line.row(stored(low)))
        } else {
            partition_point_near(
                run,
                |item| (base.wrapping_add(item.into()) as f64) < low,
                line.row(stored(low)),
            )
        };
        let rest = run.get(low_row..).unwrap_or_default();
        let high_row = low_row
            + if exact {
                // The values at most `most` are those below the next integer: every
                // stored value lies within 2^53 of 0, far from the end of `i64`.
                let most = int_at_most(high).saturating_sub(base);
                let guess = line.row(stored(high)).saturating_sub(low_row);
                rows_below(rest, most.saturating_add(1), guess)
            } else {
                partition_point_near(
                    rest,
                    |item| base.wrapping_add(item.into()) as f64 <= high,
                    line.row(stored(high)).saturating_sub(low_row),
                )
            };
        if low_row < high_row {
            first = first.min(start + low_row);
            past = past.max(start + high_row);
        }
    }
    (first < past).then_some((first, past))
}

/// The rows of ascending `run` whose stored values lie below `bound`, searched from row
/// `guess`. The bound is turned into `T` once, so the search compares the stored values as
/// they are, a byte or two each for narrow offsets, instead of widening each one; a bound
/// `T` cannot hold lies below every value (offsets are unsigned) or above them all.
fn rows_below<T: Copy + PartialOrd + TryFrom<i64>>(run: &[T], bound: i64, guess: usize) -> usize {
    match T::try_from(bound) {
        Ok(bound) => partition_point_near(run, |item| item < bound, guess),
        Err(_) if bound <= 0 => 0,
        Err(_) => run.len(),
    }
}

/// The straight line through a run's first and last values, which places a key at the row
/// it interpolates to: where [`partition_point_near`] starts its searches, and the
/// windows [`prefetch_sorted_spans`] reads. Its slope is divided out once for all of a run's
/// searches, whose guesses are then a multiply each, not a division waited on before the
/// first load.
#[derive(Debug, Clone, Copy)]
struct Line {
    first: f64,
    rows_per_unit: f64,
    last_row: usize,
}

impl Line {
    fn through(first: i64, last: i64, len: usize) -> Self {
        let last_row = len.saturating_sub(1);
        Self {
            first: first as f64,
            rows_per_unit: last_row as f64 / (last as f64 - first as f64),
            last_row,
        }
    }

    /// The row `key` lies at on the line, clamped to the run.
    fn row(&self, key: f64) -> usize {
        let row = (key - self.first) * self.rows_per_unit;
        if row.is_nan() {
            // A run of one value (0 / 0): its middle, as the guess takes it.
            self.last_row.div_ceil(2)
        } else {
            // `as` saturates: below 0 (or -inf) is row 0, past the end the last row.
            (row as usize).min(self.last_row)
        }
    }
}

/// Integers whose keys (`value as f64`) are the integers themselves: every one up to 2^53.
const EXACT_INT: u64 = 1 << 53;

/// The integer `t` with `value < t` exactly when `(value as f64) < key`, for every `value`
/// within [`EXACT_INT`] of 0.
fn int_below(key: f64) -> i64 {
    let limit = EXACT_INT as f64;
    if key.is_nan() {
        // No value is below NaN.
        i64::MIN
    } else if key > limit {
        EXACT_INT as i64 + 1
    } else if key < -limit {
        -(EXACT_INT as i64)
    } else {
        // Within ±2^53 the ceiling is an integer f64 converts exactly.
        key.ceil() as i64
    }
}

/// The integer `t` with `value <= t` exactly when `(value as f64) <= key`, for every `value`
/// within [`EXACT_INT`] of 0.
fn int_at_most(key: f64) -> i64 {
    let limit = EXACT_INT as f64;
    if key.is_nan() {
        i64::MIN
    } else if key >= limit {
        EXACT_INT as i64
    } else if key < -limit {
        -(EXACT_INT as i64) - 1
    } else {
        key.floor() as i64
    }
}

/// Rows either side of an interpolated guess an integer run's search first brackets, and
/// [`prefetch_sorted_spans`] reads ahead: the guess of a run of `n` keys spread evenly is
/// off by about `sqrt(n) / 2` rows, 12 for the 550-row cells of a fine grid.
const SEARCH_WINDOW: usize = 32;

/// Reads ahead for [`narrow_sorted_span`] on many runs of one column: for each `(rows, span)`
/// the run's first and last value, then the values its searches start from. Every load here
/// depends on no other run's, so their cache misses overlap; the searches that follow, one
/// run at a time and each waiting on its own loads, then find those lines cached. A block of
/// a fine grid holds hundreds of runs, and a query that keeps a few rows of each spends
/// most of its narrowing waiting on memory otherwise. Only integer columns without nulls
/// (the searched-in-place case) are read; nothing else changes.
pub fn prefetch_sorted_spans(column: &Column, runs: &[(RowRange<u32>, &Span)]) {
    if let Some(ints) = SortedInts::of(column) {
        prefetch_sorted_ints(ints, runs);
    }
}

/// [`prefetch_sorted_spans`] for runs held as [`SortedInts`], ahead of
/// [`narrow_sorted_ints`].
pub fn prefetch_sorted_ints(ints: SortedInts<'_>, runs: &[(RowRange<u32>, &Span)]) {
    match ints {
        SortedInts::Values(values) => prefetch_ints(values, 0, runs),
        SortedInts::U8 { base, offsets } => prefetch_ints(offsets, base, runs),
        SortedInts::U16 { base, offsets } => prefetch_ints(offsets, base, runs),
        SortedInts::U32 { base, offsets } => prefetch_ints(offsets, base, runs),
    }
}

fn prefetch_ints<T: Copy + Into<i64>>(values: &[T], base: i64, runs: &[(RowRange<u32>, &Span)]) {
    let run_of = |rows: &RowRange<u32>| {
        let end = (rows.end as usize).min(values.len());
        values
            .get((rows.start as usize).min(end)..end)
            .unwrap_or_default()
    };
    // One read a cache line of 64 bytes.
    let line = (64 / std::mem::size_of::<T>()).max(1);
    // The ends first, all runs' loads in flight together; then the starting rows, which
    // the ends locate.
    let ends: Vec<(i64, i64)> = runs
        .iter()
        .map(|(rows, _)| {
            let run = run_of(rows);
            (
                run.first().map_or(0, |&value| value.into()),
                run.last().map_or(0, |&value| value.into()),
            )
        })
        .collect();
    let mut sum = 0i64;
    for ((rows, span), &(first, last)) in runs.iter().zip(&ends) {
        let run = run_of(rows);
        let guesses = Line::through(first, last, run.len());
        for &(low, high) in &span.intervals {
            // The windows the searches for both ends will bracket first, a cache line at a
            // time; they are one when the ends are close.
            let from = guesses.row(low - base as f64);
            let to = guesses.row(high - base as f64);
            let windows = if to.saturating_sub(from) <= 2 * SEARCH_WINDOW {
                [
                    from.saturating_sub(SEARCH_WINDOW)..to + SEARCH_WINDOW + 1,
                    0..0,
                ]
            } else {
                [
                    from.saturating_sub(SEARCH_WINDOW)..from + SEARCH_WINDOW + 1,
                    to.saturating_sub(SEARCH_WINDOW)..to + SEARCH_WINDOW + 1,
                ]
            };
            for window in windows {
                for row in window.step_by(line) {
                    sum = sum.wrapping_add(run.get(row).map_or(0, |&value| value.into()));
                }
            }
        }
    }
    // The sum is of no use; it keeps the compiler from dropping the reads.
    std::hint::black_box(sum);
}

/// `run.partition_point(|&value| below(value))` for ascending `run` and `below` true up to
/// some value and false from there, searched from row `guess` (where the key interpolates
/// to on the run's [`Line`]), then galloping outwards: the sort column of a cell is spread
/// about evenly between its ends far more often than not, and a search that starts near the
/// answer touches a cache line or two where a binary search of a run of thousands touches a
/// dozen.
fn partition_point_near<T: Copy>(run: &[T], below: impl Fn(T) -> bool, guess: usize) -> usize {
    let holds = |index: usize| run.get(index).is_some_and(|&value| below(value));
    let (Some(&first), Some(&last)) = (run.first(), run.last()) else {
        return 0;
    };
    if !below(first) {
        return 0;
    }
    if below(last) {
        return run.len();
    }
    // Here the answer lies in 1..len: `holds(0)` and `!holds(len - 1)`.
    let guess = guess.min(run.len() - 1);
    // The bracket (low, high], `holds(low)` and `!holds(high)`: most often the window of
    // `SEARCH_WINDOW` rows either side of the guess; else galloping out from the window's
    // edge. Two checks whose outcome rarely changes, instead of a gallop's branch per step,
    // which a search of hundreds of runs mispredicts again and again; the bracket is then
    // counted (a window's worth of rows) or left to the standard binary search.
    let (mut low, mut high) = (
        guess.saturating_sub(SEARCH_WINDOW),
        guess.saturating_add(SEARCH_WINDOW).min(run.len() - 1),
    );
    let mut step = 2 * SEARCH_WINDOW;
    if !holds(low) {
        high = low;
        while !holds(low) {
            high = low;
            low = low.saturating_sub(step);
            step = step.saturating_mul(2);
        }
    } else if holds(high) {
        low = high;
        while holds(high) {
            low = high;
            high = high.saturating_add(step).min(run.len() - 1);
            step = step.saturating_mul(2);
        }
    }
    let bracket = run.get(low + 1..high).unwrap_or_default();
    low + 1
        + if bracket.len() <= COUNT_MAX {
            // The values that hold are the bracket's first ones, so counting them finds
            // where they end: one pass of compares the compiler makes wide, where a binary
            // search waits on each load and compare before the next.
            usize::from(bracket.iter().fold(0u8, |count, &value| {
                count.wrapping_add(u8::from(below(value)))
            }))
        } else {
            bracket.partition_point(|&value| below(value))
        }
}

/// Rows of a bracket [`partition_point_near`] counts rather than searches: the
/// window either side of its guess always, and the count fits a byte.
const COUNT_MAX: usize = 255;

/// The first row of `rows` for which `reached` holds, `rows.end` if none; `reached` must
/// hold for every row after one it holds for.
fn first_where(rows: std::ops::Range<usize>, reached: impl Fn(usize) -> bool) -> usize {
    let (mut low, mut high) = (rows.start, rows.end.max(rows.start));
    while low < high {
        let middle = low + (high - low) / 2;
        if reached(middle) {
            high = middle;
        } else {
            low = middle + 1;
        }
    }
    low
}

#[cfg(test)]
mod tests {
    use super::*;

    /// [`partition_point_near`] from where `key` interpolates to between the run's ends, as
    /// a narrowing searches.
    fn interpolated_partition_point(run: &[i64], below: impl Fn(i64) -> bool, key: f64) -> usize {
        let guess = match (run.first(), run.last()) {
            (Some(&first), Some(&last)) => Line::through(first, last, run.len()).row(key),
            _ => 0,
        };
        partition_point_near(run, below, guess)
    }
    use crate::predicate::{Range, Scalar, Term};
    use tessera_codecs::{ColumnValues, LogicalType};

    fn filter(low: i64, high: i64) -> ColumnFilter {
        ColumnFilter {
            column: "k".into(),
            terms: vec![Term::Range(Range::closed(
                Scalar::Int(low),
                Scalar::Int(high),
            ))],
        }
    }

    proptest::proptest! {
        /// The interpolated search finds what a binary search finds, on runs that are
        /// smooth, skewed, full of repeats or extreme, for keys inside and outside them.
        #[test]
        fn interpolated_search_matches_partition_point(
            mut run in proptest::collection::vec(
                proptest::prop_oneof![
                    -5i64..5,
                    0i64..1_000_000,
                    proptest::num::i64::ANY,
                ],
                0..1_500,
            ),
            skew in 0u32..4,
            key in proptest::prop_oneof![-10.0f64..10.0, -1e6f64..2e6, -1e19f64..1e19],
        ) {
            if skew > 0 {
                run = run.into_iter().map(|value| value.signum() * (value.unsigned_abs() >> (20 * skew)).saturating_pow(skew).min(i64::MAX as u64) as i64).collect();
            }
            run.sort_unstable();
            let strict = run.partition_point(|&value| (value as f64) < key);
            proptest::prop_assert_eq!(
                interpolated_partition_point(&run, |value| (value as f64) < key, key),
                strict
            );
            let inclusive = run.partition_point(|&value| (value as f64) <= key);
            proptest::prop_assert_eq!(
                interpolated_partition_point(&run, |value| value as f64 <= key, key),
                inclusive
            );
        }
    }

    #[test]
    fn rows_below_takes_bounds_past_the_stored_width() {
        let run: Vec<u8> = vec![0, 0, 3, 7, 7, 200, 255, 255];
        for bound in [
            -1_000,
            -1,
            0,
            1,
            4,
            7,
            8,
            255,
            256,
            1_000,
            i64::MIN,
            i64::MAX,
        ] {
            let expected = run.partition_point(|&value| i64::from(value) < bound);
            for guess in [0, 3, 7, usize::MAX] {
                assert_eq!(rows_below(&run, bound, guess), expected, "{bound} {guess}");
            }
        }
        // Guesses far off the answer, which the search gallops from, and at it.
        let wide: Vec<u16> = (0..2_000u16).map(|value| value * 30).collect();
        for bound in [-5, 0, 29, 30, 31, 30_000, 59_970, 59_971, 65_536, 70_000] {
            let expected = wide.partition_point(|&value| i64::from(value) < bound);
            for guess in [0, 1_000, expected, 1_999, 5_000] {
                assert_eq!(rows_below(&wide, bound, guess), expected, "{bound} {guess}");
            }
        }
    }

    #[test]
    fn narrowing_is_correct_and_tight_on_smooth_data() {
        let mut values: Vec<i64> = (0..65_536).map(|i| i * 3 + (i % 7)).collect();
        values.sort_unstable();
        let mut validity = vec![true; values.len()];
        validity[..100].fill(false);
        let column = Column::new(
            LogicalType::Int64,
            ColumnValues::Int(values.clone()),
            Some(validity),
        )
        .unwrap();
        let model = PositionModel::fit(&column).unwrap();
        assert!(model.size_bytes() < 4_096, "{} bytes", model.size_bytes());
        for (low, high) in [
            (0, 10),
            (30_000, 31_000),
            (100_000, 100_300),
            (196_000, 300_000),
            (-9, -1),
        ] {
            let range = model.narrow(&filter(low, high));
            let matching: Vec<u32> = (100..values.len() as u32)
                .filter(|&row| (low..=high).contains(&values[row as usize]))
                .collect();
            for row in &matching {
                assert!(range.contains(row), "row {row} outside {range:?}");
            }
            assert!(
                range.len() <= matching.len() + 80,
                "{range:?} for {} rows",
                matching.len()
            );
        }
        let nulls = model.narrow(&ColumnFilter {
            column: "k".into(),
            terms: vec![Term::IsNull],
        });
        assert_eq!(nulls, 0..100);
    }

    #[test]
    fn sorted_runs_narrow_exactly() {
        // Three cells' runs packed in one block, each nulls first, then ascending.
        let runs: [(usize, usize, i64); 3] = [(5, 400, 7), (0, 1, 3), (40, 2_000, 1)];
        let (mut values, mut validity, mut bounds) = (Vec::new(), Vec::new(), Vec::new());
        for (nulls, present, step) in runs {
            let first = values.len() as u32;
            values.extend(std::iter::repeat_n(0, nulls));
            validity.extend(std::iter::repeat_n(false, nulls));
            values.extend((0..present as i64).map(|i| 100 + i / 3 * step));
            validity.extend(std::iter::repeat_n(true, present));
            bounds.push(first..values.len() as u32);
        }
        let column = Column::new(
            LogicalType::Int64,
            ColumnValues::Int(values.clone()),
            Some(validity.clone()),
        )
        .unwrap();
        let mut state = 7u64;
        let mut next = |limit: u64| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            (state >> 33) % limit
        };
        for _ in 0..500 {
            let low = 90 + next(2_000) as i64;
            let high = low + next(300) as i64 - 20;
            let with_nulls = next(4) == 0;
            let mut terms = vec![Term::Range(Range::closed(
                Scalar::Int(low),
                Scalar::Int(high),
            ))];
            if with_nulls {
                terms.push(Term::IsNull);
            }
            let filter = ColumnFilter {
                column: "k".into(),
                terms,
            };
            for run in &bounds {
                let matching: Vec<u32> = run
                    .clone()
                    .filter(|&row| {
                        let row = row as usize;
                        if validity[row] {
                            (low..=high).contains(&values[row])
                        } else {
                            with_nulls
                        }
                    })
                    .collect();
                let narrowed = narrow_sorted(&column, run.clone(), &filter);
                let expected = match (matching.first(), matching.last()) {
                    (Some(&first), Some(&last)) => first..last + 1,
                    _ => run.start..run.start,
                };
                assert_eq!(
                    narrowed, expected,
                    "[{low}, {high}] nulls {with_nulls} in {run:?}"
                );
            }
            // Without nulls, integers take the slice search: the same rows as a sweep.
            let present: Vec<i64> = values
                .iter()
                .zip(&validity)
                .filter(|(_, valid)| **valid)
                .map(|(&value, _)| value)
                .collect();
            let dense =
                Column::new(LogicalType::Int64, ColumnValues::Int(present.clone()), None).unwrap();
            let mut start = 0u32;
            for (_, count, _) in runs {
                let run = start..start + count as u32;
                start += count as u32;
                let matching: Vec<u32> = run
                    .clone()
                    .filter(|&row| (low..=high).contains(&present[row as usize]))
                    .collect();
                let expected = match (matching.first(), matching.last()) {
                    (Some(&first), Some(&last)) => first..last + 1,
                    _ => run.start..run.start,
                };
                assert_eq!(
                    narrow_sorted(&dense, run.clone(), &filter),
                    expected,
                    "[{low}, {high}] without nulls in {run:?}"
                );
            }
        }
    }

    #[test]
    fn heavy_duplicates_keep_the_guarantee() {
        let values: Vec<i64> = (0..10_000).map(|i| [1, 1, 1, 5, 9, 9][i % 6]).collect();
        let mut sorted = values;
        sorted.sort_unstable();
        let column =
            Column::new(LogicalType::Int64, ColumnValues::Int(sorted.clone()), None).unwrap();
        let model = PositionModel::decode(&PositionModel::fit(&column).unwrap().encode()).unwrap();
        for (low, high) in [(1, 1), (2, 4), (5, 5), (6, 9), (0, 100)] {
            let range = model.narrow(&filter(low, high));
            for (row, value) in sorted.iter().enumerate() {
                if (low..=high).contains(value) {
                    assert!(range.contains(&(row as u32)));
                }
            }
        }
        assert!(
            model.narrow(&filter(2, 4)).len() < 48,
            "no key between 1 and 5"
        );
        assert!(model.narrow(&filter(5, 5)).len() < 1_667 + 48);
    }

    proptest::proptest! {
        /// The integer bounds a key gives agree with comparing each value's key, for every
        /// value within 2^53 of 0, whatever the key: fractional, huge, infinite or NaN.
        #[test]
        fn integer_bounds_compare_as_keys_do(
            value in proptest::prop_oneof![
                -1_000i64..1_000,
                -(1i64 << 53)..=(1i64 << 53),
                proptest::strategy::Just(1i64 << 53),
                proptest::strategy::Just(-(1i64 << 53)),
            ],
            key in proptest::prop_oneof![
                -1_000.0f64..1_000.0,
                -1e19f64..1e19,
                proptest::strategy::Just(f64::INFINITY),
                proptest::strategy::Just(f64::NEG_INFINITY),
                proptest::strategy::Just(f64::NAN),
                proptest::strategy::Just(9_007_199_254_740_992.0),
                proptest::strategy::Just(-9_007_199_254_740_992.0),
                proptest::strategy::Just(9_007_199_254_740_993.5),
            ],
            nudge in -2i64..=2,
        ) {
            // Keys right at an integer, and either side of it, as well as anywhere.
            let keys = [key, key.round() + nudge as f64 * 0.5];
            for key in keys {
                proptest::prop_assert_eq!(value < int_below(key), (value as f64) < key);
                proptest::prop_assert_eq!(value <= int_at_most(key), (value as f64) <= key);
            }
        }
    }

    proptest::proptest! {
        /// A run held as offsets from a base narrows to the rows a search of its values
        /// finds, and to the hull of the rows whose keys lie in the span, whatever the
        /// width of the offsets, the base (near 0, past 2^53 or at the ends of `i64`), the
        /// rows asked for and the bounds (fractional, huge, infinite or NaN).
        #[test]
        fn offsets_narrow_as_their_values_do(
            base in proptest::prop_oneof![
                -1_000i64..1_000,
                (1i64 << 53) - 70_000..(1i64 << 53) + 70_000,
                -(1i64 << 53) - 70_000..-(1i64 << 53) + 70_000,
                proptest::strategy::Just(i64::MIN),
                proptest::strategy::Just(i64::MAX - i64::from(u32::MAX)),
            ],
            width in 0u32..3,
            offsets in proptest::collection::vec(0u32..70_000, 0..600),
            scale in proptest::prop_oneof![
                proptest::strategy::Just(1u32),
                proptest::strategy::Just(1_000u32),
            ],
            rows in (0u32..700, 0u32..700),
            bounds in proptest::collection::vec(
                (
                    proptest::prop_oneof![-80_000.0f64..80_000.0, proptest::strategy::Just(f64::NAN), proptest::strategy::Just(f64::NEG_INFINITY)],
                    0.0f64..40_000.0,
                ),
                0..3,
            ),
            shifted in proptest::bool::ANY,
        ) {
            // Offsets that fit the width, ascending.
            let offsets: Vec<u32> = {
                let mut offsets: Vec<u32> = offsets
                    .iter()
                    .map(|&offset| match width {
                        0 => offset % 256,
                        1 => offset % 65_536,
                        _ => offset * scale,
                    })
                    .collect();
                offsets.sort_unstable();
                offsets
            };
            let narrow: Vec<u8> = offsets.iter().map(|&offset| offset as u8).collect();
            let wide: Vec<u16> = offsets.iter().map(|&offset| offset as u16).collect();
            let ints = match width {
                0 => SortedInts::U8 { base, offsets: &narrow },
                1 => SortedInts::U16 { base, offsets: &wide },
                _ => SortedInts::U32 { base, offsets: &offsets },
            };
            let values: Vec<i64> = offsets.iter().map(|&offset| base + i64::from(offset)).collect();
            // Bounds near the values when asked, else near 0.
            let origin = if shifted { base as f64 } else { 0.0 };
            let span = Span {
                null: false,
                intervals: {
                    let mut intervals: Vec<(f64, f64)> = bounds
                        .iter()
                        .map(|&(low, length)| (origin + low, origin + low + length))
                        .collect();
                    intervals.sort_by(|a, b| a.0.total_cmp(&b.0));
                    intervals
                },
            };
            let rows = rows.0..rows.1;
            let found = narrow_sorted_ints(ints, rows.clone(), &span);
            proptest::prop_assert_eq!(
                found.clone(),
                narrow_sorted_ints(SortedInts::Values(&values), rows.clone(), &span)
            );
            let keep = |row: usize| {
                let key = values[row] as f64;
                span.intervals.iter().any(|&(low, high)| low <= key && key <= high)
            };
            let asked = rows.start as usize..(rows.end as usize).min(values.len());
            let first = asked.clone().find(|&row| keep(row));
            let last = asked.clone().rev().find(|&row| keep(row));
            match (first, last) {
                (Some(first), Some(last)) => {
                    proptest::prop_assert_eq!(found, first as u32..last as u32 + 1);
                }
                _ => proptest::prop_assert!(found.is_empty(), "{found:?}"),
            }
            prefetch_sorted_ints(ints, &[(rows, &span)]);
        }
    }

    #[test]
    fn reading_ahead_takes_any_runs_and_changes_no_narrowing() {
        let values: Vec<i64> = (0..4_096).map(|i| (i % 512) * 7).collect();
        let column = Column::new(LogicalType::Int64, ColumnValues::Int(values), None).unwrap();
        let span = Span::of_filter(&filter(700, 900), PhysicalKind::Int);
        let wide = Span::of_filter(&filter(-5, 5_000), PhysicalKind::Int);
        let runs: Vec<RowRange<u32>> = (0..8).map(|run| run * 512..(run + 1) * 512).collect();
        let before: Vec<_> = runs
            .iter()
            .map(|rows| narrow_sorted_span(&column, rows.clone(), &span))
            .collect();
        // Runs past the column, reversed, empty, and of a column with nulls are read
        // nowhere out of bounds.
        let odd = [
            (0..4_096, &wide),
            (4_000..9_000, &span),
            (9_000..9_500, &span),
            (
                RowRange {
                    start: 300,
                    end: 200,
                },
                &span,
            ),
            (5..5, &span),
        ];
        prefetch_sorted_spans(&column, &odd);
        let jobs: Vec<_> = runs.iter().map(|rows| (rows.clone(), &span)).collect();
        prefetch_sorted_spans(&column, &jobs);
        let with_nulls = Column::new(
            LogicalType::Int64,
            ColumnValues::Int(vec![0, 1, 2]),
            Some(vec![false, true, true]),
        )
        .unwrap();
        prefetch_sorted_spans(&with_nulls, &[(0..3, &span)]);
        let after: Vec<_> = runs
            .iter()
            .map(|rows| narrow_sorted_span(&column, rows.clone(), &span))
            .collect();
        assert_eq!(before, after);
        for (rows, range) in runs.iter().zip(&after) {
            assert_eq!(range.len(), 29, "keys 700..=900 step 7 in {rows:?}");
        }
    }

    #[test]
    fn unsorted_blocks_and_damaged_models_are_errors() {
        let column = Column::new(LogicalType::Int64, ColumnValues::Int(vec![3, 1]), None).unwrap();
        assert!(PositionModel::fit(&column).is_err());
        let sorted = Column::new(
            LogicalType::Int64,
            ColumnValues::Int((0..100).collect()),
            None,
        )
        .unwrap();
        let bytes = PositionModel::fit(&sorted).unwrap().encode();
        for cut in 0..bytes.len() {
            assert!(PositionModel::decode(&bytes[..cut]).is_err());
        }
    }
}
