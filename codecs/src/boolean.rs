//! Encodings of booleans, also used for validity: packed bits, constant, and a roaring bitmap
//! of the rarer value's positions where that is smaller.

use roaring::RoaringBitmap;

use crate::error::{CodecError, Result};
use crate::io::{Reader, WriteLe};
use crate::scheme::{Compressor, CompressorConfig, EncodingNode, Scheme, ValueKind};

/// The boolean value kind.
#[derive(Debug)]
pub struct BoolKind;

/// Statistics of a boolean sample.
#[derive(Debug, Clone)]
pub struct BoolStats {
    /// Values in the sample.
    pub count: usize,
    /// Values that are `true`.
    pub trues: usize,
}

impl ValueKind for BoolKind {
    type Values = [bool];
    type Owned = Vec<bool>;
    type Stats = BoolStats;
    const NAME: &'static str = "boolean";

    fn len(values: &[bool]) -> usize {
        values.len()
    }
    fn owned_len(values: &Vec<bool>) -> usize {
        values.len()
    }
    fn gather(values: &[bool], ranges: &[(usize, usize)]) -> Vec<bool> {
        ranges
            .iter()
            .filter_map(|&(start, len)| values.get(start..start + len))
            .flatten()
            .copied()
            .collect()
    }
    fn stats(values: &[bool]) -> BoolStats {
        BoolStats {
            count: values.len(),
            trues: values.iter().filter(|&&value| value).count(),
        }
    }
    fn schemes() -> &'static [&'static dyn Scheme<BoolKind>] {
        &BOOL_SCHEMES
    }
}

static BOOL_SCHEMES: [&dyn Scheme<BoolKind>; 3] = [&BoolBitmap, &BoolConstant, &BoolRoaring];

/// One bit per value, least significant bit first.
#[derive(Debug)]
pub struct BoolBitmap;
/// One value repeated.
#[derive(Debug)]
pub struct BoolConstant;
/// The positions of the rarer value as a roaring bitmap.
#[derive(Debug)]
pub struct BoolRoaring;

type Children = Result<Vec<(&'static str, EncodingNode)>>;

impl Scheme<BoolKind> for BoolBitmap {
    fn id(&self) -> u8 {
        48
    }
    fn name(&self) -> &'static str {
        "bitmap"
    }
    fn applicable(&self, _: &BoolStats, _: u8, _: &CompressorConfig) -> bool {
        true
    }
    fn encode(&self, values: &[bool], _: &Compressor, _: u8, out: &mut Vec<u8>) -> Children {
        out.extend(values.chunks(8).map(|chunk| {
            chunk
                .iter()
                .enumerate()
                .fold(0u8, |byte, (bit, &value)| byte | (u8::from(value) << bit))
        }));
        Ok(Vec::new())
    }
    fn decode(
        &self,
        reader: &mut Reader<'_>,
        count: usize,
        _: u8,
        out: &mut Vec<bool>,
    ) -> Result<()> {
        let bytes = reader.take(count.div_ceil(8), "boolean bitmap")?;
        out.reserve(count);
        out.extend(
            bytes
                .iter()
                .flat_map(|&byte| (0..8).map(move |bit| byte >> bit & 1 == 1))
                .take(count),
        );
        Ok(())
    }
}

impl Scheme<BoolKind> for BoolConstant {
    fn id(&self) -> u8 {
        49
    }
    fn name(&self) -> &'static str {
        "constant"
    }
    fn decode_cost(&self) -> u8 {
        0
    }
    fn applicable(&self, stats: &BoolStats, _: u8, _: &CompressorConfig) -> bool {
        stats.count > 0 && (stats.trues == 0 || stats.trues == stats.count)
    }
    fn encode(&self, values: &[bool], _: &Compressor, _: u8, out: &mut Vec<u8>) -> Children {
        match values.first() {
            Some(&first) if values.iter().all(|&value| value == first) => {
                out.put_u8(u8::from(first));
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
        out: &mut Vec<bool>,
    ) -> Result<()> {
        let value = match reader.u8("constant boolean")? {
            0 => false,
            1 => true,
            other => return Err(reader.corrupt(format!("boolean byte {other}"))),
        };
        out.resize(out.len() + count, value);
        Ok(())
    }
}

impl Scheme<BoolKind> for BoolRoaring {
    fn id(&self) -> u8 {
        50
    }
    fn name(&self) -> &'static str {
        "roaring"
    }
    fn decode_cost(&self) -> u8 {
        2
    }
    fn applicable(&self, stats: &BoolStats, _: u8, _: &CompressorConfig) -> bool {
        let rarer = stats.trues.min(stats.count - stats.trues);
        stats.count >= 64 && rarer * 16 <= stats.count
    }
    fn encode(&self, values: &[bool], _: &Compressor, _: u8, out: &mut Vec<u8>) -> Children {
        let trues = values.iter().filter(|&&value| value).count();
        let listed = trues * 2 <= values.len();
        let bitmap: RoaringBitmap = values
            .iter()
            .enumerate()
            .filter(|&(_, &value)| value == listed)
            .map(|(index, _)| index as u32)
            .collect();
        let mut serialized = Vec::with_capacity(bitmap.serialized_size());
        bitmap
            .serialize_into(&mut serialized)
            .map_err(|error| CodecError::InvalidColumn(error.to_string()))?;
        out.put_u8(u8::from(listed));
        out.put_len(serialized.len(), "roaring bitmap")?;
        out.extend_from_slice(&serialized);
        Ok(Vec::new())
    }
    fn decode(
        &self,
        reader: &mut Reader<'_>,
        count: usize,
        _: u8,
        out: &mut Vec<bool>,
    ) -> Result<()> {
        let listed = match reader.u8("roaring polarity")? {
            0 => false,
            1 => true,
            other => return Err(reader.corrupt(format!("roaring polarity {other}"))),
        };
        let length = reader.u32("roaring length")? as usize;
        let offset = reader.position();
        let bytes = reader.take(length, "roaring bitmap")?;
        let bitmap = RoaringBitmap::deserialize_from(bytes)
            .map_err(|error| reader.corrupt_at(offset, format!("roaring bitmap: {error}")))?;
        if bitmap.max().is_some_and(|max| max as usize >= count) {
            return Err(reader.corrupt_at(offset, format!("roaring position past {count} values")));
        }
        let start = out.len();
        out.resize(start + count, !listed);
        for position in &bitmap {
            if let Some(slot) = out.get_mut(start + position as usize) {
                *slot = listed;
            }
        }
        Ok(())
    }
}
