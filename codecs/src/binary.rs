//! Encodings of variable-length byte strings (UTF-8 and binary columns): plain (lengths in an
//! integer child, bytes back to back), constant, dictionary (sorted distinct strings and
//! codes) and zstd over the bytes.

use rustc_hash::{FxHashMap, FxHashSet};

use crate::error::{CodecError, Result};
use crate::int::IntKind;
use crate::io::{Reader, WriteLe};
use crate::scheme::{Compressor, CompressorConfig, EncodingNode, Scheme, ValueKind, decode_child};
use crate::types::BytesColumn;

/// The most string bytes one block may decode to: bounds what a length field can make a
/// decoder allocate.
pub const MAX_BLOCK_DATA_BYTES: usize = 1 << 28;

/// The byte-string value kind.
#[derive(Debug)]
pub struct BytesKind;

/// Statistics of a string sample.
#[derive(Debug, Clone)]
pub struct BytesStats {
    /// Values in the sample.
    pub count: usize,
    /// Distinct values.
    pub distinct: usize,
    /// Total bytes of the values.
    pub bytes: usize,
}

impl ValueKind for BytesKind {
    type Values = BytesColumn;
    type Owned = BytesColumn;
    type Stats = BytesStats;
    const NAME: &'static str = "bytes";

    fn len(values: &BytesColumn) -> usize {
        values.len()
    }
    fn owned_len(values: &BytesColumn) -> usize {
        values.len()
    }
    fn gather(values: &BytesColumn, ranges: &[(usize, usize)]) -> BytesColumn {
        let mut sample = BytesColumn::default();
        for &(start, len) in ranges {
            for index in start..start + len {
                if let Some(value) = values.get(index) {
                    // A sample is smaller than its source, so it always fits.
                    let _ = sample.push(value);
                }
            }
        }
        sample
    }
    fn stats(values: &BytesColumn) -> BytesStats {
        let distinct = values.iter().collect::<FxHashSet<_>>().len();
        BytesStats {
            count: values.len(),
            distinct,
            bytes: values.data().len(),
        }
    }
    fn schemes() -> &'static [&'static dyn Scheme<BytesKind>] {
        &BYTES_SCHEMES
    }
}

static BYTES_SCHEMES: [&dyn Scheme<BytesKind>; 4] =
    [&BytesPlain, &BytesConstant, &BytesDictionary, &BytesZstd];

/// Lengths in an integer child, then the bytes back to back.
#[derive(Debug)]
pub struct BytesPlain;
/// One value repeated.
#[derive(Debug)]
pub struct BytesConstant;
/// Sorted distinct values (a nested string node) and codes into them.
#[derive(Debug)]
pub struct BytesDictionary;
/// Lengths in an integer child, the bytes through zstd.
#[derive(Debug)]
pub struct BytesZstd;

type Children = Result<Vec<(&'static str, EncodingNode)>>;

fn lengths(values: &BytesColumn) -> Vec<i64> {
    values
        .offsets()
        .windows(2)
        .map(|pair| i64::from(pair[1] - pair[0]))
        .collect()
}

/// Decodes the lengths child and checks the lengths add up to at most the block limit.
fn read_lengths(reader: &mut Reader<'_>, count: usize, nesting: u8) -> Result<(Vec<i64>, usize)> {
    let offset = reader.position();
    let lengths = decode_child::<IntKind>(reader, count, nesting)?;
    let mut total: usize = 0;
    for &length in &lengths {
        let length = usize::try_from(length)
            .map_err(|_| reader.corrupt_at(offset, format!("string length {length}")))?;
        total = total.saturating_add(length);
        if total > MAX_BLOCK_DATA_BYTES {
            return Err(CodecError::TooLarge {
                what: "decoded string bytes",
                actual: total as u64,
                limit: MAX_BLOCK_DATA_BYTES as u64,
            });
        }
    }
    Ok((lengths, total))
}

fn append(out: &mut BytesColumn, lengths: &[i64], data: &[u8]) {
    let (offsets, bytes) = out.parts_mut();
    let base = bytes.len() as u32;
    bytes.extend_from_slice(data);
    offsets.reserve(lengths.len());
    let mut end = base;
    for &length in lengths {
        end += length as u32;
        offsets.push(end);
    }
}

impl Scheme<BytesKind> for BytesPlain {
    fn id(&self) -> u8 {
        32
    }
    fn name(&self) -> &'static str {
        "plain"
    }
    fn applicable(&self, _: &BytesStats, _: u8, _: &CompressorConfig) -> bool {
        true
    }
    fn encode(
        &self,
        values: &BytesColumn,
        compressor: &Compressor,
        depth: u8,
        out: &mut Vec<u8>,
    ) -> Children {
        let node = compressor.encode::<IntKind>(&lengths(values), depth.saturating_sub(1), out)?;
        out.extend_from_slice(values.data());
        Ok(vec![("lengths", node)])
    }
    fn decode(
        &self,
        reader: &mut Reader<'_>,
        count: usize,
        nesting: u8,
        out: &mut BytesColumn,
    ) -> Result<()> {
        let (lengths, total) = read_lengths(reader, count, nesting)?;
        let data = reader.take(total, "string bytes")?;
        check_room(out, total)?;
        append(out, &lengths, data);
        Ok(())
    }
}

/// Fails when appending `more` bytes would overflow the column's 32-bit offsets.
fn check_room(out: &BytesColumn, more: usize) -> Result<()> {
    let total = out.data().len().saturating_add(more);
    if total > MAX_BLOCK_DATA_BYTES {
        return Err(CodecError::TooLarge {
            what: "decoded string bytes",
            actual: total as u64,
            limit: MAX_BLOCK_DATA_BYTES as u64,
        });
    }
    Ok(())
}

impl Scheme<BytesKind> for BytesConstant {
    fn id(&self) -> u8 {
        33
    }
    fn name(&self) -> &'static str {
        "constant"
    }
    fn decode_cost(&self) -> u8 {
        0
    }
    fn applicable(&self, stats: &BytesStats, _: u8, _: &CompressorConfig) -> bool {
        stats.count > 0 && stats.distinct == 1
    }
    fn encode(&self, values: &BytesColumn, _: &Compressor, _: u8, out: &mut Vec<u8>) -> Children {
        match values.get(0) {
            Some(first) if values.iter().all(|value| value == first) => {
                out.put_len(first.len(), "constant string")?;
                out.extend_from_slice(first);
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
        out: &mut BytesColumn,
    ) -> Result<()> {
        let length = reader.u32("constant string length")? as usize;
        let value = reader.take(length, "constant string")?;
        check_room(out, length.saturating_mul(count))?;
        let (offsets, bytes) = out.parts_mut();
        bytes.reserve(length * count);
        offsets.reserve(count);
        for _ in 0..count {
            bytes.extend_from_slice(value);
            offsets.push(bytes.len() as u32);
        }
        Ok(())
    }
}

impl Scheme<BytesKind> for BytesDictionary {
    fn id(&self) -> u8 {
        34
    }
    fn name(&self) -> &'static str {
        "dictionary"
    }
    fn decode_cost(&self) -> u8 {
        2
    }
    fn applicable(&self, stats: &BytesStats, depth: u8, _: &CompressorConfig) -> bool {
        depth > 0 && stats.distinct * 2 <= stats.count
    }
    fn encode(
        &self,
        values: &BytesColumn,
        compressor: &Compressor,
        depth: u8,
        out: &mut Vec<u8>,
    ) -> Children {
        let limit = values.len() / 2 + 1;
        let mut codes_of: FxHashMap<&[u8], u32> = FxHashMap::default();
        for value in values.iter() {
            let next = codes_of.len() as u32;
            codes_of.entry(value).or_insert(next);
            if codes_of.len() > limit {
                return Err(CodecError::NotApplicable {
                    scheme: self.name(),
                });
            }
        }
        let mut sorted: Vec<&[u8]> = codes_of.keys().copied().collect();
        sorted.sort_unstable();
        for (code, value) in sorted.iter().enumerate() {
            codes_of.insert(value, code as u32);
        }
        let codes: Vec<i64> = values
            .iter()
            .map(|value| codes_of.get(value).copied().map_or(0, i64::from))
            .collect();
        let dictionary = BytesColumn::from_values(sorted.iter().copied())?;
        out.put_len(dictionary.len(), "dictionary size")?;
        let child_depth = depth.saturating_sub(1);
        let dictionary_node = compressor.encode::<BytesKind>(&dictionary, child_depth, out)?;
        let codes_node = compressor.encode::<IntKind>(&codes, child_depth, out)?;
        Ok(vec![("values", dictionary_node), ("codes", codes_node)])
    }
    fn decode(
        &self,
        reader: &mut Reader<'_>,
        count: usize,
        nesting: u8,
        out: &mut BytesColumn,
    ) -> Result<()> {
        let size = reader.count("dictionary size", count)?;
        let dictionary = decode_child::<BytesKind>(reader, size, nesting)?;
        let offset = reader.position();
        let codes = decode_child::<IntKind>(reader, count, nesting)?;
        let mut total = 0usize;
        for &code in &codes {
            let value = usize::try_from(code)
                .ok()
                .and_then(|code| dictionary.get(code));
            match value {
                Some(value) => total = total.saturating_add(value.len()),
                None => {
                    return Err(
                        reader.corrupt_at(offset, format!("dictionary code {code} out of range"))
                    );
                }
            }
        }
        check_room(out, total)?;
        let (offsets, bytes) = out.parts_mut();
        bytes.reserve(total);
        offsets.reserve(count);
        for &code in &codes {
            bytes.extend_from_slice(dictionary.get(code as usize).unwrap_or_default());
            offsets.push(bytes.len() as u32);
        }
        Ok(())
    }
}

impl Scheme<BytesKind> for BytesZstd {
    fn id(&self) -> u8 {
        35
    }
    fn name(&self) -> &'static str {
        "zstd"
    }
    fn decode_cost(&self) -> u8 {
        8
    }
    fn applicable(&self, stats: &BytesStats, depth: u8, config: &CompressorConfig) -> bool {
        depth == config.max_depth && stats.bytes >= 64
    }
    fn encode(
        &self,
        values: &BytesColumn,
        compressor: &Compressor,
        depth: u8,
        out: &mut Vec<u8>,
    ) -> Children {
        let node = compressor.encode::<IntKind>(&lengths(values), depth.saturating_sub(1), out)?;
        crate::zstd_util::compress_into(values.data(), compressor.config().zstd_level, out)?;
        Ok(vec![("lengths", node)])
    }
    fn decode(
        &self,
        reader: &mut Reader<'_>,
        count: usize,
        nesting: u8,
        out: &mut BytesColumn,
    ) -> Result<()> {
        let (lengths, total) = read_lengths(reader, count, nesting)?;
        check_room(out, total)?;
        let data = crate::zstd_util::decompress_from(reader, total)?;
        append(out, &lengths, &data);
        Ok(())
    }
}
