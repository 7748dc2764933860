//! Encodings of `f64` values (also holding `f32` columns exactly): plain at 4 or 8 bytes,
//! constant, ALP-style decimal floats (exponent and factor turn decimal-like doubles into
//! integers, with exceptions), dictionary and zstd. Equality is bitwise throughout, so NaN
//! payloads, infinities and -0.0 round-trip unchanged.

use rustc_hash::{FxHashMap, FxHashSet};

use crate::error::{CodecError, Result};
use crate::int::IntKind;
use crate::io::{Reader, WriteLe};
use crate::scheme::{Compressor, CompressorConfig, EncodingNode, Scheme, ValueKind, decode_child};

/// The `f64` value kind.
#[derive(Debug)]
pub struct FloatKind;

/// Statistics of a float sample.
#[derive(Debug, Clone)]
pub struct FloatStats {
    /// Values in the sample.
    pub count: usize,
    /// Distinct bit patterns.
    pub distinct: usize,
}

impl ValueKind for FloatKind {
    type Values = [f64];
    type Owned = Vec<f64>;
    type Stats = FloatStats;
    const NAME: &'static str = "float";

    fn len(values: &[f64]) -> usize {
        values.len()
    }
    fn owned_len(values: &Vec<f64>) -> usize {
        values.len()
    }
    fn gather(values: &[f64], ranges: &[(usize, usize)]) -> Vec<f64> {
        ranges
            .iter()
            .filter_map(|&(start, len)| values.get(start..start + len))
            .flatten()
            .copied()
            .collect()
    }
    fn stats(values: &[f64]) -> FloatStats {
        let distinct = values
            .iter()
            .map(|value| value.to_bits())
            .collect::<FxHashSet<_>>()
            .len();
        FloatStats {
            count: values.len(),
            distinct,
        }
    }
    fn schemes() -> &'static [&'static dyn Scheme<FloatKind>] {
        &FLOAT_SCHEMES
    }
}

static FLOAT_SCHEMES: [&dyn Scheme<FloatKind>; 5] = [
    &FloatPlain,
    &FloatConstant,
    &Alp,
    &FloatDictionary,
    &FloatZstd,
];

/// Values as little-endian floats, 4 bytes each when every value is an exact `f32`.
#[derive(Debug)]
pub struct FloatPlain;
/// One bit pattern repeated.
#[derive(Debug)]
pub struct FloatConstant;
/// Decimal-like doubles as integers `round(v · 10^e / 10^f)`, exceptions kept aside.
#[derive(Debug)]
pub struct Alp;
/// Sorted distinct values and codes into them.
#[derive(Debug)]
pub struct FloatDictionary;
/// Plain bytes through zstd.
#[derive(Debug)]
pub struct FloatZstd;

type Children = Result<Vec<(&'static str, EncodingNode)>>;

fn is_exact_f32(value: f64) -> bool {
    f64::from(value as f32).to_bits() == value.to_bits()
}

fn plain_width(values: &[f64]) -> u8 {
    if values.iter().all(|&value| is_exact_f32(value)) {
        4
    } else {
        8
    }
}

fn write_plain(values: &[f64], width: u8, out: &mut Vec<u8>) {
    out.reserve(values.len() * usize::from(width));
    for &value in values {
        if width == 4 {
            out.extend_from_slice(&(value as f32).to_le_bytes());
        } else {
            out.extend_from_slice(&value.to_le_bytes());
        }
    }
}

fn read_plain(bytes: &[u8], width: usize, out: &mut Vec<f64>) {
    if width == 4 {
        out.extend(bytes.chunks_exact(4).map(|chunk| {
            let mut array = [0u8; 4];
            array.copy_from_slice(chunk);
            f64::from(f32::from_le_bytes(array))
        }));
    } else {
        out.extend(bytes.chunks_exact(8).map(|chunk| {
            let mut array = [0u8; 8];
            array.copy_from_slice(chunk);
            f64::from_le_bytes(array)
        }));
    }
}

fn read_width(reader: &mut Reader<'_>) -> Result<usize> {
    let width = reader.u8("float width")?;
    if width != 4 && width != 8 {
        return Err(reader.corrupt(format!("float width {width}")));
    }
    Ok(usize::from(width))
}

impl Scheme<FloatKind> for FloatPlain {
    fn id(&self) -> u8 {
        16
    }
    fn name(&self) -> &'static str {
        "plain"
    }
    fn applicable(&self, _: &FloatStats, _: u8, _: &CompressorConfig) -> bool {
        true
    }
    fn encode(&self, values: &[f64], _: &Compressor, _: u8, out: &mut Vec<u8>) -> Children {
        let width = plain_width(values);
        out.put_u8(width);
        write_plain(values, width, out);
        Ok(Vec::new())
    }
    fn decode(
        &self,
        reader: &mut Reader<'_>,
        count: usize,
        _: u8,
        out: &mut Vec<f64>,
    ) -> Result<()> {
        let width = read_width(reader)?;
        let bytes = reader.take(count.saturating_mul(width), "plain floats")?;
        read_plain(bytes, width, out);
        Ok(())
    }
}

impl Scheme<FloatKind> for FloatConstant {
    fn id(&self) -> u8 {
        17
    }
    fn name(&self) -> &'static str {
        "constant"
    }
    fn decode_cost(&self) -> u8 {
        0
    }
    fn applicable(&self, stats: &FloatStats, _: u8, _: &CompressorConfig) -> bool {
        stats.count > 0 && stats.distinct == 1
    }
    fn encode(&self, values: &[f64], _: &Compressor, _: u8, out: &mut Vec<u8>) -> Children {
        match values.first() {
            Some(first)
                if values
                    .iter()
                    .all(|value| value.to_bits() == first.to_bits()) =>
            {
                out.put_u64(first.to_bits());
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
        out: &mut Vec<f64>,
    ) -> Result<()> {
        let value = f64::from_bits(reader.u64("constant value")?);
        out.resize(out.len() + count, value);
        Ok(())
    }
}

/// Exact powers of ten up to 10^18 (all exact in `f64`).
const POW10: [f64; 19] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18,
];
/// Their reciprocals (rounded; encode checks every value round-trips through them).
const INV_POW10: [f64; 19] = [
    1e0, 1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-9, 1e-10, 1e-11, 1e-12, 1e-13, 1e-14,
    1e-15, 1e-16, 1e-17, 1e-18,
];
/// Digits beyond this magnitude are exceptions (keeps the integer arithmetic exact).
const ALP_DIGITS_MAX: f64 = 9.007_199_254_740_992e15; // 2^53

fn alp_encode_one(value: f64, exponent: usize, factor: usize) -> Option<i64> {
    let scaled = value * POW10.get(exponent)? * INV_POW10.get(factor)?;
    if !scaled.is_finite() || scaled.abs() >= ALP_DIGITS_MAX {
        return None;
    }
    let digits = scaled.round() as i64;
    (alp_decode_one(digits, exponent, factor).to_bits() == value.to_bits()).then_some(digits)
}

fn alp_decode_one(digits: i64, exponent: usize, factor: usize) -> f64 {
    let factor_pow = POW10.get(factor).copied().unwrap_or(1.0);
    let exponent_inv = INV_POW10.get(exponent).copied().unwrap_or(1.0);
    digits as f64 * factor_pow * exponent_inv
}

/// The (exponent, factor) pair that leaves the fewest exceptions on up to 64 spread values,
/// ties broken by the narrower digit range.
fn alp_parameters(values: &[f64]) -> (usize, usize) {
    let step = (values.len() / 64).max(1);
    let probe: Vec<f64> = values.iter().step_by(step).take(64).copied().collect();
    let mut best = (usize::MAX, u64::MAX, 0usize, 0usize);
    for exponent in 0..POW10.len() {
        for factor in 0..=exponent {
            let mut exceptions = 0usize;
            let (mut low, mut high) = (i64::MAX, i64::MIN);
            for &value in &probe {
                match alp_encode_one(value, exponent, factor) {
                    Some(digits) => {
                        low = low.min(digits);
                        high = high.max(digits);
                    }
                    None => exceptions += 1,
                }
            }
            let range = if low > high {
                0
            } else {
                high.wrapping_sub(low) as u64
            };
            if (exceptions, range) < (best.0, best.1) {
                best = (exceptions, range, exponent, factor);
            }
        }
    }
    (best.2, best.3)
}

impl Scheme<FloatKind> for Alp {
    fn id(&self) -> u8 {
        18
    }
    fn name(&self) -> &'static str {
        "alp"
    }
    fn decode_cost(&self) -> u8 {
        2
    }
    fn applicable(&self, _: &FloatStats, depth: u8, _: &CompressorConfig) -> bool {
        depth > 0
    }
    fn encode(
        &self,
        values: &[f64],
        compressor: &Compressor,
        depth: u8,
        out: &mut Vec<u8>,
    ) -> Children {
        let (exponent, factor) = alp_parameters(values);
        let mut digits = Vec::with_capacity(values.len());
        let mut positions = Vec::new();
        let mut exceptions = Vec::new();
        let mut fill = 0i64;
        for (index, &value) in values.iter().enumerate() {
            match alp_encode_one(value, exponent, factor) {
                Some(encoded) => {
                    fill = encoded;
                    digits.push(encoded);
                }
                None => {
                    digits.push(fill);
                    positions.push(index as i64);
                    exceptions.push(value);
                }
            }
        }
        // More than half exceptions: this is not decimal data.
        if exceptions.len() * 2 > values.len() {
            return Err(CodecError::NotApplicable {
                scheme: self.name(),
            });
        }
        out.put_u8(exponent as u8);
        out.put_u8(factor as u8);
        let child_depth = depth.saturating_sub(1);
        let digits_node = compressor.encode::<IntKind>(&digits, child_depth, out)?;
        out.put_len(exceptions.len(), "exceptions")?;
        let mut children = vec![("digits", digits_node)];
        if !exceptions.is_empty() {
            children.push((
                "exceptions",
                compressor.encode::<IntKind>(&positions, child_depth, out)?,
            ));
            write_plain(&exceptions, 8, out);
        }
        Ok(children)
    }
    fn decode(
        &self,
        reader: &mut Reader<'_>,
        count: usize,
        nesting: u8,
        out: &mut Vec<f64>,
    ) -> Result<()> {
        let exponent = usize::from(reader.u8("alp exponent")?);
        let factor = usize::from(reader.u8("alp factor")?);
        if exponent >= POW10.len() || factor > exponent {
            return Err(reader.corrupt(format!("alp exponent {exponent} factor {factor}")));
        }
        let digits = decode_child::<IntKind>(reader, count, nesting)?;
        let exception_count = reader.count("exception count", count)?;
        let start = out.len();
        let factor_pow = POW10.get(factor).copied().unwrap_or(1.0);
        let exponent_inv = INV_POW10.get(exponent).copied().unwrap_or(1.0);
        out.extend(
            digits
                .iter()
                .map(|&digit| digit as f64 * factor_pow * exponent_inv),
        );
        if exception_count > 0 {
            let offset = reader.position();
            let positions = decode_child::<IntKind>(reader, exception_count, nesting)?;
            let bytes = reader.take(exception_count * 8, "alp exceptions")?;
            let mut values = Vec::with_capacity(exception_count);
            read_plain(bytes, 8, &mut values);
            for (&position, value) in positions.iter().zip(values) {
                let slot = usize::try_from(position)
                    .ok()
                    .filter(|&p| p < count)
                    .and_then(|p| out.get_mut(start + p));
                match slot {
                    Some(slot) => *slot = value,
                    None => {
                        return Err(
                            reader.corrupt_at(offset, format!("exception position {position}"))
                        );
                    }
                }
            }
        }
        Ok(())
    }
}

impl Scheme<FloatKind> for FloatDictionary {
    fn id(&self) -> u8 {
        19
    }
    fn name(&self) -> &'static str {
        "dictionary"
    }
    fn decode_cost(&self) -> u8 {
        2
    }
    fn applicable(&self, stats: &FloatStats, depth: u8, _: &CompressorConfig) -> bool {
        depth > 0 && stats.distinct * 2 <= stats.count
    }
    fn encode(
        &self,
        values: &[f64],
        compressor: &Compressor,
        depth: u8,
        out: &mut Vec<u8>,
    ) -> Children {
        let limit = values.len() / 2 + 1;
        let mut codes_of: FxHashMap<u64, u32> = FxHashMap::default();
        for value in values {
            let next = codes_of.len() as u32;
            codes_of.entry(value.to_bits()).or_insert(next);
            if codes_of.len() > limit {
                return Err(CodecError::NotApplicable {
                    scheme: self.name(),
                });
            }
        }
        let mut dictionary: Vec<f64> = codes_of.keys().map(|&bits| f64::from_bits(bits)).collect();
        dictionary.sort_unstable_by(f64::total_cmp);
        for (code, value) in dictionary.iter().enumerate() {
            codes_of.insert(value.to_bits(), code as u32);
        }
        let codes: Vec<i64> = values
            .iter()
            .map(|value| codes_of.get(&value.to_bits()).copied().map_or(0, i64::from))
            .collect();
        out.put_len(dictionary.len(), "dictionary size")?;
        let width = plain_width(&dictionary);
        out.put_u8(width);
        write_plain(&dictionary, width, out);
        let codes_node = compressor.encode::<IntKind>(&codes, depth.saturating_sub(1), out)?;
        Ok(vec![("codes", codes_node)])
    }
    fn decode(
        &self,
        reader: &mut Reader<'_>,
        count: usize,
        nesting: u8,
        out: &mut Vec<f64>,
    ) -> Result<()> {
        let size = reader.count("dictionary size", count)?;
        let width = read_width(reader)?;
        let mut dictionary = Vec::with_capacity(size);
        read_plain(
            reader.take(size * width, "float dictionary")?,
            width,
            &mut dictionary,
        );
        let offset = reader.position();
        let codes = decode_child::<IntKind>(reader, count, nesting)?;
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

impl Scheme<FloatKind> for FloatZstd {
    fn id(&self) -> u8 {
        20
    }
    fn name(&self) -> &'static str {
        "zstd"
    }
    fn decode_cost(&self) -> u8 {
        8
    }
    fn applicable(&self, stats: &FloatStats, depth: u8, config: &CompressorConfig) -> bool {
        depth == config.max_depth && stats.count >= 64
    }
    fn encode(
        &self,
        values: &[f64],
        compressor: &Compressor,
        _: u8,
        out: &mut Vec<u8>,
    ) -> Children {
        let width = plain_width(values);
        let mut raw = Vec::new();
        write_plain(values, width, &mut raw);
        out.put_u8(width);
        crate::zstd_util::compress_into(&raw, compressor.config().zstd_level, out)?;
        Ok(Vec::new())
    }
    fn decode(
        &self,
        reader: &mut Reader<'_>,
        count: usize,
        _: u8,
        out: &mut Vec<f64>,
    ) -> Result<()> {
        let width = read_width(reader)?;
        let raw = crate::zstd_util::decompress_from(reader, count * width)?;
        read_plain(&raw, width, out);
        Ok(())
    }
}
