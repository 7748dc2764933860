//! Encodings of `i64` values: plain, constant, frame-of-reference bit-packing, delta,
//! run-length, dictionary and zstd; and range predicates evaluated on encoded data.

use rustc_hash::{FxHashMap, FxHashSet};

use crate::bitpack::{bits_needed, pack, packed_len, unpack, unpack_one};
use crate::error::{CodecError, Result};
use crate::io::{Reader, WriteLe};
use crate::scheme::{
    Compressor, CompressorConfig, EncodingNode, Scheme, ValueKind, decode_child, decode_node,
};
use crate::select::Selection;

/// The `i64` value kind.
#[derive(Debug)]
pub struct IntKind;

/// Statistics of an integer sample.
#[derive(Debug, Clone)]
pub struct IntStats {
    /// Values in the sample.
    pub count: usize,
    /// Smallest value.
    pub min: i64,
    /// Largest value.
    pub max: i64,
    /// Number of runs of equal values.
    pub runs: usize,
    /// Distinct values.
    pub distinct: usize,
    /// Bits a frame-of-reference needs for the values.
    pub value_bits: u8,
    /// Bits a frame-of-reference needs for the consecutive differences.
    pub delta_bits: u8,
}

impl ValueKind for IntKind {
    type Values = [i64];
    type Owned = Vec<i64>;
    type Stats = IntStats;
    const NAME: &'static str = "integer";

    fn len(values: &[i64]) -> usize {
        values.len()
    }
    fn owned_len(values: &Vec<i64>) -> usize {
        values.len()
    }
    fn gather(values: &[i64], ranges: &[(usize, usize)]) -> Vec<i64> {
        ranges
            .iter()
            .filter_map(|&(start, len)| values.get(start..start + len))
            .flatten()
            .copied()
            .collect()
    }
    fn stats(values: &[i64]) -> IntStats {
        let (min, max) = min_max(values);
        let runs = 1 + values.windows(2).filter(|pair| pair[0] != pair[1]).count();
        let distinct = values.iter().collect::<FxHashSet<_>>().len();
        let (delta_min, delta_max) = values
            .windows(2)
            .map(|pair| pair[1].wrapping_sub(pair[0]))
            .fold((i64::MAX, i64::MIN), |(low, high), delta| {
                (low.min(delta), high.max(delta))
            });
        let delta_bits = if values.len() < 2 {
            0
        } else {
            bits_needed(delta_max.wrapping_sub(delta_min) as u64)
        };
        IntStats {
            count: values.len(),
            min,
            max,
            runs: if values.is_empty() { 0 } else { runs },
            distinct,
            value_bits: bits_needed(max.wrapping_sub(min) as u64),
            delta_bits,
        }
    }
    fn schemes() -> &'static [&'static dyn Scheme<IntKind>] {
        &INT_SCHEMES
    }
}

static INT_SCHEMES: [&dyn Scheme<IntKind>; 7] = [
    &IntPlain,
    &IntConstant,
    &BitPacked,
    &IntDelta,
    &IntRunLength,
    &IntDictionary,
    &IntZstd,
];

/// Smallest and largest value (`(0, 0)` for none).
pub fn min_max(values: &[i64]) -> (i64, i64) {
    if values.is_empty() {
        return (0, 0);
    }
    values
        .iter()
        .fold((i64::MAX, i64::MIN), |(low, high), &value| {
            (low.min(value), high.max(value))
        })
}

/// Values as little-endian `i64`s.
#[derive(Debug)]
pub struct IntPlain;
/// One value repeated.
#[derive(Debug)]
pub struct IntConstant;
/// Frame of reference (subtract the minimum) and bit-packing at one width.
#[derive(Debug)]
pub struct BitPacked;
/// First value, then consecutive differences in a child.
#[derive(Debug)]
pub struct IntDelta;
/// Run values and run lengths, each in a child.
#[derive(Debug)]
pub struct IntRunLength;
/// Sorted distinct values and codes into them, each in a child.
#[derive(Debug)]
pub struct IntDictionary;
/// Frame of reference at a whole number of bytes, then zstd.
#[derive(Debug)]
pub struct IntZstd;

type Children = Result<Vec<(&'static str, EncodingNode)>>;

impl Scheme<IntKind> for IntPlain {
    fn id(&self) -> u8 {
        0
    }
    fn name(&self) -> &'static str {
        "plain"
    }
    fn applicable(&self, _: &IntStats, _: u8, _: &CompressorConfig) -> bool {
        true
    }
    fn encode(&self, values: &[i64], _: &Compressor, _: u8, out: &mut Vec<u8>) -> Children {
        out.reserve(values.len() * 8);
        for &value in values {
            out.put_i64(value);
        }
        Ok(Vec::new())
    }
    fn decode(
        &self,
        reader: &mut Reader<'_>,
        count: usize,
        _: u8,
        out: &mut Vec<i64>,
    ) -> Result<()> {
        let bytes = reader.take(count.saturating_mul(8), "plain integers")?;
        out.extend(bytes.chunks_exact(8).map(|chunk| {
            let mut array = [0u8; 8];
            array.copy_from_slice(chunk);
            i64::from_le_bytes(array)
        }));
        Ok(())
    }
}

impl Scheme<IntKind> for IntConstant {
    fn id(&self) -> u8 {
        1
    }
    fn name(&self) -> &'static str {
        "constant"
    }
    fn decode_cost(&self) -> u8 {
        0
    }
    fn applicable(&self, stats: &IntStats, _: u8, _: &CompressorConfig) -> bool {
        stats.count > 0 && stats.min == stats.max
    }
    fn encode(&self, values: &[i64], _: &Compressor, _: u8, out: &mut Vec<u8>) -> Children {
        match values.first() {
            Some(&first) if values.iter().all(|&value| value == first) => {
                out.put_i64(first);
                Ok(Vec::new())
            }
            _ => Err(CodecError::NotApplicable {
                scheme: self.name(),
            }),
        }
    }
    fn decode(
        &self,
        reader: &mut Reader<'_>,
        count: usize,
        _: u8,
        out: &mut Vec<i64>,
    ) -> Result<()> {
        let value = reader.i64("constant value")?;
        out.resize(out.len() + count, value);
        Ok(())
    }
}

impl Scheme<IntKind> for BitPacked {
    fn id(&self) -> u8 {
        2
    }
    fn name(&self) -> &'static str {
        "bitpacked"
    }
    fn applicable(&self, _: &IntStats, _: u8, _: &CompressorConfig) -> bool {
        true
    }
    fn encode(&self, values: &[i64], _: &Compressor, _: u8, out: &mut Vec<u8>) -> Children {
        let (min, max) = min_max(values);
        let width = bits_needed(max.wrapping_sub(min) as u64);
        out.put_i64(min);
        out.put_u8(width);
        pack(
            values.iter().map(|&value| value.wrapping_sub(min) as u64),
            width,
            out,
        );
        Ok(Vec::new())
    }
    fn decode(
        &self,
        reader: &mut Reader<'_>,
        count: usize,
        _: u8,
        out: &mut Vec<i64>,
    ) -> Result<()> {
        let (reference, width, packed) = read_bitpacked_header(reader, count)?;
        out.reserve(count);
        unpack(packed, count, width, |narrow, wide| {
            out.extend(
                narrow
                    .iter()
                    .map(|&offset| reference.wrapping_add(i64::from(offset))),
            );
            out.extend(
                wide.iter()
                    .map(|&offset| reference.wrapping_add(offset as i64)),
            );
        })
    }
}

fn read_bitpacked_header<'a>(reader: &mut Reader<'a>, count: usize) -> Result<(i64, u8, &'a [u8])> {
    let reference = reader.i64("frame of reference")?;
    let width = reader.u8("bit width")?;
    if width > 64 {
        return Err(reader.corrupt(format!("bit width {width} > 64")));
    }
    let packed = reader.take(packed_len(count, width), "bit-packed integers")?;
    Ok((reference, width, packed))
}

impl Scheme<IntKind> for IntDelta {
    fn id(&self) -> u8 {
        3
    }
    fn name(&self) -> &'static str {
        "delta"
    }
    fn decode_cost(&self) -> u8 {
        2
    }
    fn applicable(&self, stats: &IntStats, depth: u8, _: &CompressorConfig) -> bool {
        depth > 0 && stats.count > 2 && stats.delta_bits < stats.value_bits
    }
    fn encode(
        &self,
        values: &[i64],
        compressor: &Compressor,
        depth: u8,
        out: &mut Vec<u8>,
    ) -> Children {
        let Some(&first) = values.first() else {
            return Ok(Vec::new());
        };
        out.put_i64(first);
        let deltas: Vec<i64> = values
            .windows(2)
            .map(|pair| pair[1].wrapping_sub(pair[0]))
            .collect();
        let node = compressor.encode::<IntKind>(&deltas, depth.saturating_sub(1), out)?;
        Ok(vec![("deltas", node)])
    }
    fn decode(
        &self,
        reader: &mut Reader<'_>,
        count: usize,
        nesting: u8,
        out: &mut Vec<i64>,
    ) -> Result<()> {
        if count == 0 {
            return Ok(());
        }
        let first = reader.i64("delta base")?;
        let deltas = decode_child::<IntKind>(reader, count - 1, nesting)?;
        out.reserve(count);
        out.push(first);
        let mut current = first;
        out.extend(deltas.iter().map(|&delta| {
            current = current.wrapping_add(delta);
            current
        }));
        Ok(())
    }
}

impl Scheme<IntKind> for IntRunLength {
    fn id(&self) -> u8 {
        4
    }
    fn name(&self) -> &'static str {
        "run_length"
    }
    fn decode_cost(&self) -> u8 {
        2
    }
    fn applicable(&self, stats: &IntStats, depth: u8, _: &CompressorConfig) -> bool {
        depth > 0 && stats.runs > 0 && stats.count / stats.runs >= 2
    }
    fn encode(
        &self,
        values: &[i64],
        compressor: &Compressor,
        depth: u8,
        out: &mut Vec<u8>,
    ) -> Children {
        let (run_values, run_lengths) = runs(values);
        out.put_len(run_values.len(), "runs")?;
        let values_node =
            compressor.encode::<IntKind>(&run_values, depth.saturating_sub(1), out)?;
        let lengths_node =
            compressor.encode::<IntKind>(&run_lengths, depth.saturating_sub(1), out)?;
        Ok(vec![("values", values_node), ("lengths", lengths_node)])
    }
    fn decode(
        &self,
        reader: &mut Reader<'_>,
        count: usize,
        nesting: u8,
        out: &mut Vec<i64>,
    ) -> Result<()> {
        let (run_values, run_lengths) = read_runs(reader, count, nesting)?;
        // Size once, then fill each run's slice: runs are often a handful of values long, and
        // a resize per run costs more than the run itself.
        let start = out.len();
        out.resize(start + count, 0);
        let mut rest = out.get_mut(start..).unwrap_or_default();
        for (&value, &length) in run_values.iter().zip(&run_lengths) {
            let (run, tail) = rest.split_at_mut((length as usize).min(rest.len()));
            run.fill(value);
            rest = tail;
        }
        Ok(())
    }
}

/// Splits values into run values and run lengths.
pub(crate) fn runs<T: PartialEq + Copy>(values: &[T]) -> (Vec<T>, Vec<i64>) {
    let mut run_values = Vec::new();
    let mut run_lengths: Vec<i64> = Vec::new();
    for &value in values {
        match (run_values.last(), run_lengths.last_mut()) {
            (Some(last), Some(length)) if *last == value => *length += 1,
            _ => {
                run_values.push(value);
                run_lengths.push(1);
            }
        }
    }
    (run_values, run_lengths)
}

/// Reads run values and run lengths, checking that the lengths are positive and add up to
/// `count` before anything is expanded.
fn read_runs(reader: &mut Reader<'_>, count: usize, nesting: u8) -> Result<(Vec<i64>, Vec<i64>)> {
    let run_count = reader.count("run count", count)?;
    let run_values = decode_child::<IntKind>(reader, run_count, nesting)?;
    let offset = reader.position();
    let run_lengths = decode_child::<IntKind>(reader, run_count, nesting)?;
    let mut total: usize = 0;
    for &length in &run_lengths {
        if length < 1 || length as u64 > count as u64 {
            return Err(reader.corrupt_at(offset, format!("run length {length}")));
        }
        total += length as usize;
        if total > count {
            break;
        }
    }
    if total != count {
        return Err(reader.corrupt_at(
            offset,
            format!("run lengths cover {total}+ values, expected {count}"),
        ));
    }
    Ok((run_values, run_lengths))
}

impl Scheme<IntKind> for IntDictionary {
    fn id(&self) -> u8 {
        5
    }
    fn name(&self) -> &'static str {
        "dictionary"
    }
    fn decode_cost(&self) -> u8 {
        2
    }
    fn applicable(&self, stats: &IntStats, depth: u8, _: &CompressorConfig) -> bool {
        depth > 0 && stats.distinct * 2 <= stats.count
    }
    fn encode(
        &self,
        values: &[i64],
        compressor: &Compressor,
        depth: u8,
        out: &mut Vec<u8>,
    ) -> Children {
        let limit = values.len() / 2 + 1;
        let mut codes_of: FxHashMap<i64, u32> = FxHashMap::default();
        for &value in values {
            let next = codes_of.len() as u32;
            codes_of.entry(value).or_insert(next);
            if codes_of.len() > limit {
                return Err(CodecError::NotApplicable {
                    scheme: self.name(),
                });
            }
        }
        // Sorted dictionary, so a range of values is a range of codes.
        let mut dictionary: Vec<i64> = codes_of.keys().copied().collect();
        dictionary.sort_unstable();
        for (code, value) in dictionary.iter().enumerate() {
            codes_of.insert(*value, code as u32);
        }
        let codes: Vec<i64> = values
            .iter()
            .map(|value| codes_of.get(value).copied().map_or(0, i64::from))
            .collect();
        out.put_len(dictionary.len(), "dictionary size")?;
        let dictionary_node =
            compressor.encode::<IntKind>(&dictionary, depth.saturating_sub(1), out)?;
        let codes_node = compressor.encode::<IntKind>(&codes, depth.saturating_sub(1), out)?;
        Ok(vec![("values", dictionary_node), ("codes", codes_node)])
    }
    fn decode(
        &self,
        reader: &mut Reader<'_>,
        count: usize,
        nesting: u8,
        out: &mut Vec<i64>,
    ) -> Result<()> {
        let (dictionary, codes, offset) = read_dictionary(reader, count, nesting)?;
        out.reserve(count);
        for &code in &codes {
            match usize::try_from(code)
                .ok()
                .and_then(|code| dictionary.get(code))
            {
                Some(&value) => out.push(value),
                None => {
                    return Err(
                        reader.corrupt_at(offset, format!("dictionary code {code} out of range"))
                    );
                }
            }
        }
        Ok(())
    }
}

/// Reads a dictionary and its codes; returns the offset of the codes for errors.
pub(crate) fn read_dictionary(
    reader: &mut Reader<'_>,
    count: usize,
    nesting: u8,
) -> Result<(Vec<i64>, Vec<i64>, usize)> {
    let size = reader.count("dictionary size", count)?;
    let dictionary = decode_child::<IntKind>(reader, size, nesting)?;
    let offset = reader.position();
    let codes = decode_child::<IntKind>(reader, count, nesting)?;
    Ok((dictionary, codes, offset))
}

impl Scheme<IntKind> for IntZstd {
    fn id(&self) -> u8 {
        6
    }
    fn name(&self) -> &'static str {
        "zstd"
    }
    fn decode_cost(&self) -> u8 {
        8
    }
    fn applicable(&self, stats: &IntStats, depth: u8, config: &CompressorConfig) -> bool {
        depth == config.max_depth && stats.count >= 64
    }
    fn encode(
        &self,
        values: &[i64],
        compressor: &Compressor,
        _: u8,
        out: &mut Vec<u8>,
    ) -> Children {
        let (min, max) = min_max(values);
        let width = bits_needed(max.wrapping_sub(min) as u64).div_ceil(8).max(1);
        let mut raw = Vec::with_capacity(values.len() * usize::from(width));
        for &value in values {
            let offset = value.wrapping_sub(min) as u64;
            raw.extend_from_slice(
                offset
                    .to_le_bytes()
                    .get(..usize::from(width))
                    .unwrap_or_default(),
            );
        }
        out.put_i64(min);
        out.put_u8(width);
        crate::zstd_util::compress_into(&raw, compressor.config().zstd_level, out)?;
        Ok(Vec::new())
    }
    fn decode(
        &self,
        reader: &mut Reader<'_>,
        count: usize,
        _: u8,
        out: &mut Vec<i64>,
    ) -> Result<()> {
        let reference = reader.i64("frame of reference")?;
        let width = usize::from(reader.u8("byte width")?);
        if !(1..=8).contains(&width) {
            return Err(reader.corrupt(format!("byte width {width}")));
        }
        let raw = crate::zstd_util::decompress_from(reader, count * width)?;
        // One loop per common width keeps the hot path free of per-value slicing.
        match width {
            1 => out.extend(
                raw.iter()
                    .map(|&byte| reference.wrapping_add(i64::from(byte))),
            ),
            2 => out.extend(raw.chunks_exact(2).map(|pair| {
                reference.wrapping_add(i64::from(u16::from_le_bytes([pair[0], pair[1]])))
            })),
            4 => out.extend(raw.chunks_exact(4).map(|quad| {
                reference.wrapping_add(i64::from(u32::from_le_bytes([
                    quad[0], quad[1], quad[2], quad[3],
                ])))
            })),
            _ => out.extend(raw.chunks_exact(width).map(|chunk| {
                let mut array = [0u8; 8];
                if let Some(target) = array.get_mut(..width) {
                    target.copy_from_slice(chunk);
                }
                reference.wrapping_add(u64::from_le_bytes(array) as i64)
            })),
        }
        Ok(())
    }
}

/// The value at `index` among the next `count` encoded values, reading no more than the
/// encoding needs: plain and bit-packed values are addressed directly, a constant is read
/// once, run lengths read the runs without expanding them, a dictionary reads its (small)
/// sorted values and one code; other schemes decode the node whole. The reader ends after the node either way.
pub(crate) fn value_at(
    reader: &mut Reader<'_>,
    count: usize,
    nesting: u8,
    index: usize,
) -> Result<i64> {
    if nesting > crate::scheme::MAX_NESTING {
        return Err(reader.corrupt(format!(
            "encodings nested deeper than {}",
            crate::scheme::MAX_NESTING
        )));
    }
    let offset = reader.position();
    if index >= count {
        return Err(reader.corrupt(format!("value {index} of {count}")));
    }
    let id = reader.u8("scheme id")?;
    match id {
        0 => {
            let bytes = reader.take(count.saturating_mul(8), "plain integers")?;
            let mut array = [0u8; 8];
            if let Some(value) = bytes.get(index * 8..index * 8 + 8) {
                array.copy_from_slice(value);
            }
            Ok(i64::from_le_bytes(array))
        }
        1 => reader.i64("constant value"),
        2 => {
            let (reference, width, packed) = read_bitpacked_header(reader, count)?;
            let value = unpack_one(packed, count, width, index)
                .map_err(|error| reader.corrupt_at(offset, error.to_string()))?;
            Ok(reference.wrapping_add(value as i64))
        }
        4 => {
            // The runs, not the values they expand to.
            let (run_values, run_lengths) = read_runs(reader, count, nesting + 1)?;
            let mut end = 0usize;
            for (&value, &length) in run_values.iter().zip(&run_lengths) {
                end += length as usize;
                if index < end {
                    return Ok(value);
                }
            }
            Err(reader.corrupt_at(offset, format!("runs end before value {index}")))
        }
        5 => {
            let size = reader.count("dictionary size", count)?;
            let dictionary = decode_child::<IntKind>(reader, size, nesting + 1)?;
            let codes = reader.position();
            let code = value_at(reader, count, nesting + 1, index)?;
            usize::try_from(code)
                .ok()
                .and_then(|code| dictionary.get(code).copied())
                .ok_or_else(|| {
                    reader.corrupt_at(codes, format!("dictionary code {code} out of range"))
                })
        }
        _ => {
            reader.rewind_to(offset);
            let mut values = Vec::with_capacity(count);
            decode_node::<IntKind>(reader, count, nesting, &mut values)?;
            values
                .get(index)
                .copied()
                .ok_or_else(|| reader.corrupt_at(offset, format!("value {index} of {count}")))
        }
    }
}

/// Appends to `selection` (starting at row `start`) the rows among the next `count` encoded
/// values that lie in `low..=high`, working on the encoded form where the scheme allows:
/// constant and run-length decide per run, bit-packing compares offsets without
/// reconstructing values, a sorted dictionary turns the range into a code range.
pub(crate) fn select_range(
    reader: &mut Reader<'_>,
    count: usize,
    nesting: u8,
    low: i64,
    high: i64,
    start: usize,
    selection: &mut Selection,
) -> Result<()> {
    let offset = reader.position();
    let id = reader.u8("scheme id")?;
    match id {
        1 => {
            let value = reader.i64("constant value")?;
            if low <= value && value <= high {
                selection.insert_range(start, start + count);
            }
            Ok(())
        }
        2 => {
            let (reference, width, packed) = read_bitpacked_header(reader, count)?;
            // In offset space: value in [low, high] <=> offset in [low - ref, high - ref].
            let low_offset = i128::from(low) - i128::from(reference);
            let high_offset = i128::from(high) - i128::from(reference);
            if high_offset < 0 || low_offset > i128::from(u64::MAX) || low > high {
                return Ok(());
            }
            let low_offset = low_offset.max(0) as u64;
            let high_offset = high_offset.min(i128::from(u64::MAX)) as u64;
            let mut row = start;
            unpack(packed, count, width, |narrow, wide| {
                selection.push_matches(row, narrow, |offset| {
                    (low_offset..=high_offset).contains(&u64::from(offset))
                });
                selection.push_matches(row, wide, |offset| {
                    (low_offset..=high_offset).contains(&offset)
                });
                row += narrow.len() + wide.len();
            })
        }
        4 => {
            let (run_values, run_lengths) = read_runs(reader, count, nesting + 1)?;
            let mut row = start;
            for (&value, &length) in run_values.iter().zip(&run_lengths) {
                if low <= value && value <= high {
                    selection.insert_range(row, row + length as usize);
                }
                row += length as usize;
            }
            Ok(())
        }
        5 => {
            let size = reader.count("dictionary size", count)?;
            let dictionary = decode_child::<IntKind>(reader, size, nesting + 1)?;
            if !dictionary.windows(2).all(|pair| pair[0] < pair[1]) {
                return Err(reader.corrupt_at(offset, "dictionary is not sorted"));
            }
            let first = dictionary.partition_point(|&value| value < low) as i64;
            let last = dictionary.partition_point(|&value| value <= high) as i64 - 1;
            if first > last {
                // Still validate the codes so corrupt blocks are reported consistently.
                let _ = decode_child::<IntKind>(reader, count, nesting + 1)?;
                return Ok(());
            }
            select_range(reader, count, nesting + 1, first, last, start, selection)
        }
        _ => {
            reader.rewind_to(offset);
            let mut values = Vec::with_capacity(count);
            decode_node::<IntKind>(reader, count, nesting, &mut values)?;
            selection.push_matches(start, &values, |value| low <= value && value <= high);
            Ok(())
        }
    }
}
