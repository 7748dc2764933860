//! Typed column vectors: a logical type (what the values mean) over one of four physical
//! value kinds (how the encodings see them).
//!
//! Every integer-like logical type (signed and unsigned integers, dates, timestamps) is held
//! as `i64`, so one family of integer encodings serves them all. Unsigned 64-bit values are
//! stored with their top bit flipped, which maps `u64` order onto `i64` order, so range
//! predicates on encoded data stay correct. Decimals are held as their scaled `i128`
//! integers; floats as `f64`; strings and binary as offsets into one byte buffer.

use crate::error::{CodecError, Result};

/// Unit of a timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimeUnit {
    /// Seconds since the epoch.
    Second,
    /// Milliseconds since the epoch.
    Millisecond,
    /// Microseconds since the epoch.
    Microsecond,
    /// Nanoseconds since the epoch.
    Nanosecond,
}

/// What a column's values mean. Mirrors the Arrow types Tessera stores.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum LogicalType {
    /// 8-bit signed integer.
    Int8,
    /// 16-bit signed integer.
    Int16,
    /// 32-bit signed integer.
    Int32,
    /// 64-bit signed integer.
    Int64,
    /// 8-bit unsigned integer.
    UInt8,
    /// 16-bit unsigned integer.
    UInt16,
    /// 32-bit unsigned integer.
    UInt32,
    /// 64-bit unsigned integer (held with the top bit flipped, see the module docs).
    UInt64,
    /// 32-bit float.
    Float32,
    /// 64-bit float.
    Float64,
    /// Decimal stored as a scaled 128-bit integer.
    Decimal128 {
        /// Total digits.
        precision: u8,
        /// Digits after the point.
        scale: i8,
    },
    /// Boolean.
    Boolean,
    /// UTF-8 string.
    Utf8,
    /// Arbitrary bytes.
    Binary,
    /// Days since the epoch, 32-bit.
    Date32,
    /// Milliseconds since the epoch, 64-bit.
    Date64,
    /// Time since the epoch in `unit`, with an optional time zone name.
    Timestamp {
        /// Unit of the stored integers.
        unit: TimeUnit,
        /// Time zone, as Arrow names it.
        timezone: Option<String>,
    },
}

/// The physical value kind a logical type is stored as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PhysicalKind {
    /// `i64` values.
    Int,
    /// `f64` values.
    Float,
    /// Scaled `i128` values.
    Decimal,
    /// Booleans.
    Bool,
    /// Variable-length byte strings.
    Bytes,
}

impl LogicalType {
    /// The physical kind the values are held as.
    pub fn physical(&self) -> PhysicalKind {
        match self {
            Self::Int8
            | Self::Int16
            | Self::Int32
            | Self::Int64
            | Self::UInt8
            | Self::UInt16
            | Self::UInt32
            | Self::UInt64
            | Self::Date32
            | Self::Date64
            | Self::Timestamp { .. } => PhysicalKind::Int,
            Self::Float32 | Self::Float64 => PhysicalKind::Float,
            Self::Decimal128 { .. } => PhysicalKind::Decimal,
            Self::Boolean => PhysicalKind::Bool,
            Self::Utf8 | Self::Binary => PhysicalKind::Bytes,
        }
    }

    /// Bytes one value takes in Arrow's in-memory layout (strings count their offset only);
    /// used to report decoded bytes honestly per logical width.
    pub fn value_width(&self) -> usize {
        match self {
            Self::Int8 | Self::UInt8 => 1,
            Self::Int16 | Self::UInt16 => 2,
            Self::Int32 | Self::UInt32 | Self::Float32 | Self::Date32 => 4,
            Self::Int64 | Self::UInt64 | Self::Float64 | Self::Date64 | Self::Timestamp { .. } => 8,
            Self::Decimal128 { .. } => 16,
            Self::Boolean => 1,
            Self::Utf8 | Self::Binary => 4,
        }
    }

    /// The inclusive range of the held `i64` values that are valid for an integer-like type.
    pub fn int_range(&self) -> Option<(i64, i64)> {
        Some(match self {
            Self::Int8 => (i64::from(i8::MIN), i64::from(i8::MAX)),
            Self::Int16 => (i64::from(i16::MIN), i64::from(i16::MAX)),
            Self::Int32 | Self::Date32 => (i64::from(i32::MIN), i64::from(i32::MAX)),
            Self::UInt8 => (0, i64::from(u8::MAX)),
            Self::UInt16 => (0, i64::from(u16::MAX)),
            Self::UInt32 => (0, i64::from(u32::MAX)),
            Self::Int64 | Self::UInt64 | Self::Date64 | Self::Timestamp { .. } => {
                (i64::MIN, i64::MAX)
            }
            _ => return None,
        })
    }
}

/// Maps a `u64` onto `i64` preserving order (flip the top bit).
pub fn u64_to_ordered_i64(value: u64) -> i64 {
    (value ^ (1 << 63)) as i64
}

/// Inverse of [`u64_to_ordered_i64`].
pub fn ordered_i64_to_u64(value: i64) -> u64 {
    (value as u64) ^ (1 << 63)
}

/// Variable-length byte strings: `offsets[i]..offsets[i + 1]` is value `i` in `data`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BytesColumn {
    offsets: Vec<u32>,
    data: Vec<u8>,
}

impl Default for BytesColumn {
    fn default() -> Self {
        Self {
            offsets: vec![0],
            data: Vec::new(),
        }
    }
}

impl BytesColumn {
    /// Builds from offsets (one more than values, starting at 0, non-decreasing, the last
    /// equal to `data.len()`) and data.
    pub fn new(offsets: Vec<u32>, data: Vec<u8>) -> Result<Self> {
        if offsets.first() != Some(&0) {
            return Err(CodecError::InvalidColumn(
                "offsets must start with 0".into(),
            ));
        }
        if offsets.windows(2).any(|pair| pair[0] > pair[1]) {
            return Err(CodecError::InvalidColumn(
                "offsets must not decrease".into(),
            ));
        }
        if offsets.last().map(|&last| last as usize) != Some(data.len()) {
            return Err(CodecError::InvalidColumn(format!(
                "last offset {:?} does not equal data length {}",
                offsets.last(),
                data.len()
            )));
        }
        Ok(Self { offsets, data })
    }

    /// Builds from values; fails if the data would not fit 32-bit offsets.
    pub fn from_values<'a>(values: impl IntoIterator<Item = &'a [u8]>) -> Result<Self> {
        let mut column = Self::default();
        for value in values {
            column.push(value)?;
        }
        Ok(column)
    }

    /// Appends one value.
    pub fn push(&mut self, value: &[u8]) -> Result<()> {
        let end = self.data.len() + value.len();
        let end = u32::try_from(end).map_err(|_| CodecError::TooLarge {
            what: "string data in one column",
            actual: end as u64,
            limit: u64::from(u32::MAX),
        })?;
        self.data.extend_from_slice(value);
        self.offsets.push(end);
        Ok(())
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    /// Whether there are no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Value `index`, or `None` past the end.
    pub fn get(&self, index: usize) -> Option<&[u8]> {
        let start = *self.offsets.get(index)? as usize;
        let end = *self.offsets.get(index + 1)? as usize;
        self.data.get(start..end)
    }

    /// Iterates over the values.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &[u8]> + '_ {
        self.offsets.windows(2).map(|pair| {
            self.data
                .get(pair[0] as usize..pair[1] as usize)
                .unwrap_or_default()
        })
    }

    /// The offsets, one more than values.
    pub fn offsets(&self) -> &[u32] {
        &self.offsets
    }

    /// All value bytes, back to back.
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// Empties the column, keeping its allocations.
    pub fn clear(&mut self) {
        self.offsets.clear();
        self.offsets.push(0);
        self.data.clear();
    }

    /// Splits into offsets and data.
    pub fn into_parts(self) -> (Vec<u32>, Vec<u8>) {
        (self.offsets, self.data)
    }

    pub(crate) fn parts_mut(&mut self) -> (&mut Vec<u32>, &mut Vec<u8>) {
        (&mut self.offsets, &mut self.data)
    }
}

/// The values of a column, by physical kind.
#[derive(Debug, Clone, PartialEq)]
pub enum ColumnValues {
    /// Integer-like values.
    Int(Vec<i64>),
    /// Floats.
    Float(Vec<f64>),
    /// Scaled decimal integers.
    Decimal(Vec<i128>),
    /// Booleans.
    Bool(Vec<bool>),
    /// Strings or binary.
    Bytes(BytesColumn),
}

impl ColumnValues {
    /// Number of values.
    pub fn len(&self) -> usize {
        match self {
            Self::Int(values) => values.len(),
            Self::Float(values) => values.len(),
            Self::Decimal(values) => values.len(),
            Self::Bool(values) => values.len(),
            Self::Bytes(values) => values.len(),
        }
    }

    /// Whether there are no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The physical kind.
    pub fn kind(&self) -> PhysicalKind {
        match self {
            Self::Int(_) => PhysicalKind::Int,
            Self::Float(_) => PhysicalKind::Float,
            Self::Decimal(_) => PhysicalKind::Decimal,
            Self::Bool(_) => PhysicalKind::Bool,
            Self::Bytes(_) => PhysicalKind::Bytes,
        }
    }

    /// Values `range` (which the caller checked is inside), copied.
    fn slice(&self, range: std::ops::Range<usize>) -> Result<Self> {
        Ok(match self {
            Self::Int(values) => Self::Int(values.get(range).unwrap_or_default().to_vec()),
            Self::Float(values) => Self::Float(values.get(range).unwrap_or_default().to_vec()),
            Self::Decimal(values) => Self::Decimal(values.get(range).unwrap_or_default().to_vec()),
            Self::Bool(values) => Self::Bool(values.get(range).unwrap_or_default().to_vec()),
            Self::Bytes(values) => {
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
                    .unwrap_or(&[0])
                    .iter()
                    .map(|offset| offset.saturating_sub(start))
                    .collect();
                Self::Bytes(BytesColumn::new(offsets, data)?)
            }
        })
    }

    /// Values at `rows` (which the caller checked are inside), in that order.
    fn gather(&self, rows: &[u32]) -> Result<Self> {
        fn pick<T: Copy + Default>(values: &[T], rows: &[u32]) -> Vec<T> {
            Picked::Rows(rows).map(values, |value| value)
        }
        Ok(match self {
            Self::Int(values) => Self::Int(pick(values, rows)),
            Self::Float(values) => Self::Float(pick(values, rows)),
            Self::Decimal(values) => Self::Decimal(pick(values, rows)),
            Self::Bool(values) => Self::Bool(pick(values, rows)),
            Self::Bytes(values) => {
                let total: usize = rows
                    .iter()
                    .map(|&row| values.get(row as usize).map_or(0, <[u8]>::len))
                    .sum();
                let mut gathered = BytesColumn {
                    offsets: Vec::with_capacity(rows.len() + 1),
                    data: Vec::with_capacity(total),
                };
                gathered.offsets.push(0);
                for &row in rows {
                    gathered.push(values.get(row as usize).unwrap_or_default())?;
                }
                Self::Bytes(gathered)
            }
        })
    }

    /// Empty values of a physical kind.
    pub fn empty(kind: PhysicalKind) -> Self {
        match kind {
            PhysicalKind::Int => Self::Int(Vec::new()),
            PhysicalKind::Float => Self::Float(Vec::new()),
            PhysicalKind::Decimal => Self::Decimal(Vec::new()),
            PhysicalKind::Bool => Self::Bool(Vec::new()),
            PhysicalKind::Bytes => Self::Bytes(BytesColumn::default()),
        }
    }
}

/// A typed, nullable column: the unit a block encodes.
///
/// Values under a null keep whatever the writer put there and round-trip unchanged; readers
/// must consult [`Column::validity`].
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    logical: LogicalType,
    values: ColumnValues,
    validity: Option<Vec<bool>>,
}

impl Column {
    /// Builds a column, checking that the values fit the logical type (kind, integer range,
    /// UTF-8) and that the validity, if given, has one entry per value (`true` = not null).
    /// A validity without a null is dropped, so the column reads as having none.
    pub fn new(
        logical: LogicalType,
        values: ColumnValues,
        validity: Option<Vec<bool>>,
    ) -> Result<Self> {
        check_values(&logical, &values)?;
        if let Some(validity) = &validity
            && validity.len() != values.len()
        {
            return Err(CodecError::InvalidColumn(format!(
                "validity has {} entries for {} values",
                validity.len(),
                values.len()
            )));
        }
        // `validity()` promises `None` when no value is null, which is also what a block
        // without nulls decodes to; keep the two forms from comparing unequal.
        let validity = validity.filter(|validity| validity.contains(&false));
        Ok(Self {
            logical,
            values,
            validity,
        })
    }

    /// An empty column of a type, to decode into.
    pub fn empty(logical: LogicalType) -> Self {
        let values = ColumnValues::empty(logical.physical());
        Self {
            logical,
            values,
            validity: None,
        }
    }

    /// The logical type.
    pub fn logical(&self) -> &LogicalType {
        &self.logical
    }

    /// The values (including those under nulls).
    pub fn values(&self) -> &ColumnValues {
        &self.values
    }

    /// One `true` per non-null value, or `None` when no value is null.
    pub fn validity(&self) -> Option<&[bool]> {
        self.validity.as_deref()
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether there are no values.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Number of nulls.
    pub fn null_count(&self) -> usize {
        self.validity.as_ref().map_or(0, |validity| {
            validity.iter().filter(|&&valid| !valid).count()
        })
    }

    /// Whether value `index` is null.
    pub fn is_null(&self, index: usize) -> bool {
        self.validity
            .as_ref()
            .is_some_and(|validity| validity.get(index) == Some(&false))
    }

    /// Bytes the column takes in Arrow's layout (values, offsets, validity bits), the
    /// denominator of every compression ratio and the numerator of every decode speed.
    pub fn logical_bytes(&self) -> usize {
        let validity = self
            .validity
            .as_ref()
            .map_or(0, |validity| validity.len().div_ceil(8));
        let values = match &self.values {
            ColumnValues::Bytes(bytes) => bytes.data().len() + 4 * (bytes.len() + 1),
            ColumnValues::Bool(values) => values.len().div_ceil(8),
            other => other.len() * self.logical.value_width(),
        };
        values + validity
    }

    /// The values at `rows`, in that order, as a column of the same type. An ascending run
    /// without gaps is copied as a slice; other rows are gathered. A row past the end is an
    /// error. The values come from this column, so they need no new check.
    pub fn take(&self, rows: &[u32]) -> Result<Column> {
        self.take_picked(&Picked::check(rows, self.len())?)
    }

    /// [`Self::take`] of rows already checked against this column's length.
    pub fn take_picked(&self, picked: &Picked<'_>) -> Result<Column> {
        let (values, validity) = match picked {
            Picked::Run(range) => (
                self.values.slice(range.clone())?,
                self.validity
                    .as_ref()
                    .map(|valid| valid.get(range.clone()).unwrap_or_default().to_vec()),
            ),
            Picked::Runs { rows, .. } | Picked::Rows(rows) => (
                self.values.gather(rows)?,
                self.validity
                    .as_ref()
                    .map(|valid| picked.map(valid, |valid| valid)),
            ),
            Picked::Ranges(ranges) => {
                let rows: Vec<u32> = ranges
                    .iter()
                    .flat_map(|range| range.start as u32..range.end as u32)
                    .collect();
                (
                    self.values.gather(&rows)?,
                    self.validity
                        .as_ref()
                        .map(|valid| picked.map(valid, |valid| valid)),
                )
            }
        };
        Ok(Self {
            logical: self.logical.clone(),
            values,
            validity: validity.filter(|validity: &Vec<bool>| validity.contains(&false)),
        })
    }

    /// Splits into parts.
    pub fn into_parts(self) -> (LogicalType, ColumnValues, Option<Vec<bool>>) {
        (self.logical, self.values, self.validity)
    }

    pub(crate) fn parts_mut(
        &mut self,
    ) -> (&mut LogicalType, &mut ColumnValues, &mut Option<Vec<bool>>) {
        (&mut self.logical, &mut self.values, &mut self.validity)
    }
}

/// Rows picked out of a column, checked against its length: one ascending run without
/// gaps, which is copied as a slice; ascending rows in few such runs, copied run by run;
/// or any other rows, which are gathered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Picked<'a> {
    /// Every row of `start..end`, in order.
    Run(std::ops::Range<usize>),
    /// Ascending rows, `rows`, that fall into the few `runs` without gaps.
    Runs {
        /// The rows, ascending.
        rows: &'a [u32],
        /// The same rows as ascending, disjoint, non-adjacent ranges.
        runs: Vec<std::ops::Range<usize>>,
    },
    /// Rows in any order, repeats allowed, each below the length checked.
    Rows(&'a [u32]),
    /// Every row of these ascending, disjoint, non-adjacent ranges, for a caller that knows
    /// its rows as ranges and never listed them.
    Ranges(Vec<std::ops::Range<usize>>),
}

/// Rows per run, on average, from which ascending rows are copied run by run rather than
/// gathered one by one.
pub const RUN_ROWS_MIN: usize = 8;

/// Whether `rows` rows in `runs` runs are too short on average to copy run by run.
fn fragmented(runs: usize, rows: usize) -> bool {
    runs.saturating_mul(RUN_ROWS_MIN) > rows
}

impl<'a> Picked<'a> {
    /// Checks `rows` against a column of `len` values. A row past the end is an error.
    pub fn check(rows: &'a [u32], len: usize) -> Result<Self> {
        let (Some(&first), Some(&last)) = (rows.first(), rows.last()) else {
            return Ok(Self::Run(0..0));
        };
        // One pass: the largest row, whether the rows ascend, and where runs break; over
        // zipped slices, which the compiler vectorizes (over `windows` it did not).
        let (mut largest, mut ascending, mut breaks) = (first, true, 0usize);
        for (&previous, &row) in rows.iter().zip(rows.get(1..).unwrap_or_default()) {
            largest = largest.max(row);
            ascending &= previous < row;
            breaks += usize::from(row != previous.wrapping_add(1));
        }
        if largest as usize >= len {
            return Err(CodecError::InvalidColumn(format!(
                "row {largest} is past the end of a column of {len} values"
            )));
        }
        if !ascending {
            return Ok(Self::Rows(rows));
        }
        if breaks == 0 {
            return Ok(Self::Run(first as usize..last as usize + 1));
        }
        if fragmented(breaks + 1, rows.len()) {
            return Ok(Self::Rows(rows));
        }
        let mut runs = Vec::with_capacity(breaks + 1);
        let mut start = first as usize;
        for pair in rows.windows(2) {
            if pair[1] != pair[0] + 1 {
                runs.push(start..pair[0] as usize + 1);
                start = pair[1] as usize;
            }
        }
        runs.push(start..last as usize + 1);
        Ok(Self::Runs { rows, runs })
    }

    /// Rows the caller lists in ascending order (a scan's selection, whose dense runs it
    /// passes as [`Picked::ranges`] instead), checked against a column of `len` values by
    /// their last row alone and gathered one by one: this skips the pass [`Picked::check`]
    /// makes over every row. Rows out of order still gather without a panic; one past `len`
    /// that the last row does not reveal reads as a default value.
    pub fn ascending(rows: &'a [u32], len: usize) -> Result<Self> {
        match rows.last() {
            Some(&last) if last as usize >= len => Err(CodecError::InvalidColumn(format!(
                "row {last} is past the end of a column of {len} values"
            ))),
            _ => Ok(Self::Rows(rows)),
        }
    }

    /// Every row of `ranges` (ascending and disjoint), checked against a column of `len`
    /// values in time proportional to the ranges, not their rows. Adjacent ranges are
    /// merged; an error if they overlap, descend or reach past `len`.
    pub fn ranges(
        ranges: impl IntoIterator<Item = std::ops::Range<usize>>,
        len: usize,
    ) -> Result<Picked<'static>> {
        let mut merged: Vec<std::ops::Range<usize>> = Vec::new();
        for range in ranges.into_iter().filter(|range| !range.is_empty()) {
            match merged.last_mut() {
                Some(last) if last.end == range.start => last.end = range.end,
                Some(last) if last.end > range.start => {
                    return Err(CodecError::InvalidColumn(format!(
                        "ranges {last:?} and {range:?} overlap or descend"
                    )));
                }
                _ => merged.push(range),
            }
        }
        if let Some(last) = merged.last()
            && last.end > len
        {
            return Err(CodecError::InvalidColumn(format!(
                "range {last:?} is past the end of a column of {len} values"
            )));
        }
        Ok(match &merged[..] {
            [] => Picked::Run(0..0),
            [only] => Picked::Run(only.clone()),
            _ => Picked::Ranges(merged),
        })
    }

    /// Rows picked.
    pub fn len(&self) -> usize {
        match self {
            Self::Run(range) => range.len(),
            Self::Runs { rows, .. } | Self::Rows(rows) => rows.len(),
            Self::Ranges(ranges) => ranges.iter().map(ExactSizeIterator::len).sum(),
        }
    }

    /// Whether no row is picked.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `cast` of the picked values of `values` (the column's values, or any slice as long),
    /// in order; a row outside `values` gives `cast` of the default value.
    pub fn map<T: Copy + Default, N>(&self, values: &[T], cast: impl Fn(T) -> N) -> Vec<N> {
        let gather = |rows: &[u32], out: &mut Vec<N>| {
            out.extend(
                rows.iter()
                    .map(|&row| cast(values.get(row as usize).copied().unwrap_or_default())),
            );
        };
        match self {
            Self::Run(range) => values
                .get(range.clone())
                .unwrap_or_default()
                .iter()
                .map(|&value| cast(value))
                .collect(),
            Self::Runs { rows, runs } => {
                let mut out = Vec::with_capacity(rows.len());
                let mut done = 0usize;
                for run in runs {
                    match values.get(run.clone()) {
                        Some(slice) => out.extend(slice.iter().map(|&value| cast(value))),
                        None => gather(
                            rows.get(done..done + run.len()).unwrap_or_default(),
                            &mut out,
                        ),
                    }
                    done += run.len();
                }
                out
            }
            Self::Rows(rows) => {
                let mut out = Vec::with_capacity(rows.len());
                gather(rows, &mut out);
                out
            }
            Self::Ranges(ranges) => {
                let mut out = Vec::with_capacity(self.len());
                for range in ranges {
                    let within = range.start.min(values.len())..range.end.min(values.len());
                    let present = values.get(within).unwrap_or_default();
                    out.extend(present.iter().map(|&value| cast(value)));
                    // Ranges are checked against the column, not against `values`, which
                    // may be shorter; the rows past it are rare, and cost nothing otherwise.
                    if present.len() < range.len() {
                        out.extend((present.len()..range.len()).map(|_| cast(T::default())));
                    }
                }
                out
            }
        }
    }
}

/// Checks that `values` are of the kind `logical` is held as and within its range.
pub(crate) fn check_values(logical: &LogicalType, values: &ColumnValues) -> Result<()> {
    if logical.physical() != values.kind() {
        return Err(CodecError::InvalidColumn(format!(
            "{logical:?} is held as {:?} values, got {:?}",
            logical.physical(),
            values.kind()
        )));
    }
    if let (ColumnValues::Int(ints), Some((low, high))) = (values, logical.int_range())
        && let Some(bad) = ints.iter().find(|&&value| value < low || value > high)
    {
        return Err(CodecError::InvalidColumn(format!(
            "{bad} is out of range for {logical:?}"
        )));
    }
    if let (ColumnValues::Decimal(decimals), LogicalType::Decimal128 { precision, .. }) =
        (values, logical)
    {
        if *precision == 0 || *precision > 38 {
            return Err(CodecError::InvalidColumn(format!(
                "decimal precision {precision} not in 1..=38"
            )));
        }
        let bound = 10i128.pow(u32::from(*precision));
        if let Some(bad) = decimals
            .iter()
            .find(|&&value| value <= -bound || value >= bound)
        {
            return Err(CodecError::InvalidColumn(format!(
                "{bad} has more than {precision} digits"
            )));
        }
    }
    if let (ColumnValues::Bytes(bytes), LogicalType::Utf8) = (values, logical) {
        check_utf8(bytes).map_err(CodecError::InvalidColumn)?;
    }
    Ok(())
}

/// Checks that every value of a string column is UTF-8: the data as a whole is, and no
/// offset splits a character.
pub(crate) fn check_utf8(bytes: &BytesColumn) -> std::result::Result<(), String> {
    let text = std::str::from_utf8(bytes.data())
        .map_err(|error| format!("Utf8 column holds bytes that are not UTF-8: {error}"))?;
    if text.is_ascii() {
        return Ok(());
    }
    match bytes
        .offsets()
        .iter()
        .position(|&offset| !text.is_char_boundary(offset as usize))
    {
        Some(index) => Err(format!("Utf8 value boundary {index} splits a character")),
        None => Ok(()),
    }
}
