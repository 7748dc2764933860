//! Bit-packing of non-negative integers at a fixed bit width.
//!
//! Widths up to 32 use the `bitpacking` crate's 8×-interleaved SIMD kernels on whole blocks of
//! 256 values, which decode at several billion values per second; the values after the last
//! whole block, and every value wider than 32 bits, go into a little-endian bit stream, so a
//! short list (run lengths, dictionary codes, exception positions) costs its bits and no
//! padding. The byte layout depends only on the width and the values, never on the CPU.

use bitpacking::{BitPacker, BitPacker8x};

use crate::error::{CodecError, Result};

/// Values per SIMD block.
pub const BLOCK_VALUES: usize = BitPacker8x::BLOCK_LEN;

/// Bits needed to store `value`.
pub fn bits_needed(value: u64) -> u8 {
    (64 - value.leading_zeros()) as u8
}

/// Values that go through the SIMD kernels (whole blocks); the rest go to the bit stream.
fn simd_values(count: usize, width: u8) -> usize {
    if width <= 32 {
        count / BLOCK_VALUES * BLOCK_VALUES
    } else {
        0
    }
}

/// Bytes that `count` values at `width` bits take.
pub fn packed_len(count: usize, width: u8) -> usize {
    let simd = simd_values(count, width);
    simd / 8 * usize::from(width) + ((count - simd) * usize::from(width)).div_ceil(8)
}

/// Appends `offsets` (each `< 2^width`) packed at `width` bits.
pub fn pack(offsets: impl ExactSizeIterator<Item = u64>, width: u8, out: &mut Vec<u8>) {
    let count = offsets.len();
    let start = out.len();
    out.resize(start + packed_len(count, width), 0);
    let Some(target) = out.get_mut(start..) else {
        return;
    };
    if width == 0 {
        return;
    }
    let simd = simd_values(count, width);
    let simd_bytes = simd / 8 * usize::from(width);
    let (blocks, tail) = target.split_at_mut(simd_bytes.min(target.len()));
    let mut offsets = offsets;
    if simd > 0 {
        let packer = BitPacker8x::new();
        let mut block = [0u32; BLOCK_VALUES];
        for chunk in blocks.chunks_exact_mut(BLOCK_VALUES / 8 * usize::from(width)) {
            for slot in block.iter_mut() {
                *slot = offsets.next().unwrap_or(0) as u32;
            }
            packer.compress(&block, chunk, width);
        }
    }
    let mut bit = 0usize;
    for value in offsets {
        write_bits(tail, bit, value, width);
        bit += usize::from(width);
    }
}

fn write_bits(target: &mut [u8], bit: usize, value: u64, width: u8) {
    let mut remaining = u32::from(width);
    let mut value = value;
    let mut position = bit;
    while remaining > 0 {
        let byte = position / 8;
        let shift = (position % 8) as u32;
        let room = 8 - shift;
        let take = room.min(remaining);
        let mask = ((1u16 << take) - 1) as u8;
        if let Some(slot) = target.get_mut(byte) {
            *slot |= ((value as u8) & mask) << shift;
        }
        value >>= take;
        remaining -= take;
        position += take as usize;
    }
}

fn read_bits(source: &[u8], bit: usize, width: u8) -> u64 {
    let byte = bit / 8;
    let shift = (bit % 8) as u32;
    let mut window = [0u8; 16];
    let available = source.len().saturating_sub(byte).min(16);
    if let (Some(dst), Some(src)) = (
        window.get_mut(..available),
        source.get(byte..byte + available),
    ) {
        dst.copy_from_slice(src);
    }
    let wide = u128::from_le_bytes(window) >> shift;
    let mask = if width == 64 {
        u64::MAX
    } else {
        (1u64 << width) - 1
    };
    (wide as u64) & mask
}

/// Checks that `packed` holds `count` values at a valid `width`: exactly [`packed_len`]
/// bytes.
fn check_packed(packed: &[u8], count: usize, width: u8) -> Result<()> {
    if width > 64 {
        return Err(CodecError::Corrupt {
            what: format!("bit width {width} > 64"),
            offset: 0,
        });
    }
    if packed.len() != packed_len(count, width) {
        return Err(CodecError::Corrupt {
            what: format!(
                "{} packed bytes for {count} values at {width} bits",
                packed.len()
            ),
            offset: 0,
        });
    }
    Ok(())
}

/// Unpacks `count` values packed at `width` bits from `packed` and hands each to `sink`
/// in chunks. `packed` must be exactly [`packed_len`] bytes.
pub fn unpack(
    packed: &[u8],
    count: usize,
    width: u8,
    mut sink: impl FnMut(&[u32], &[u64]),
) -> Result<()> {
    check_packed(packed, count, width)?;
    if width == 0 {
        let zeros = [0u32; BLOCK_VALUES];
        let mut left = count;
        while left > 0 {
            let take = left.min(BLOCK_VALUES);
            sink(zeros.get(..take).unwrap_or_default(), &[]);
            left -= take;
        }
        return Ok(());
    }
    let simd = simd_values(count, width);
    let (blocks, tail) = packed.split_at((simd / 8 * usize::from(width)).min(packed.len()));
    if simd > 0 {
        let packer = BitPacker8x::new();
        let mut block = [0u32; BLOCK_VALUES];
        for chunk in blocks.chunks_exact(BLOCK_VALUES / 8 * usize::from(width)) {
            packer.decompress(chunk, &mut block, width);
            sink(&block, &[]);
        }
    }
    let mut wide = [0u64; BLOCK_VALUES];
    let mut done = 0usize;
    let rest = count - simd;
    while done < rest {
        let take = (rest - done).min(BLOCK_VALUES);
        for (index, slot) in wide.iter_mut().take(take).enumerate() {
            *slot = read_bits(tail, (done + index) * usize::from(width), width);
        }
        sink(&[], wide.get(..take).unwrap_or_default());
        done += take;
    }
    Ok(())
}

/// The value at `index` of `count` values packed at `width` bits in `packed` (exactly
/// [`packed_len`] bytes), unpacking only the SIMD block that holds it, or reading its bits
/// from the tail.
pub fn unpack_one(packed: &[u8], count: usize, width: u8, index: usize) -> Result<u64> {
    check_packed(packed, count, width)?;
    if index >= count {
        return Err(CodecError::Corrupt {
            what: format!("value {index} of {count} packed values"),
            offset: 0,
        });
    }
    if width == 0 {
        return Ok(0);
    }
    let simd = simd_values(count, width);
    let simd_bytes = simd / 8 * usize::from(width);
    if index < simd {
        let block_bytes = BLOCK_VALUES / 8 * usize::from(width);
        let start = index / BLOCK_VALUES * block_bytes;
        let mut block = [0u32; BLOCK_VALUES];
        if let Some(chunk) = packed.get(start..start + block_bytes) {
            BitPacker8x::new().decompress(chunk, &mut block, width);
        }
        Ok(block
            .get(index % BLOCK_VALUES)
            .map_or(0, |&value| u64::from(value)))
    } else {
        let tail = packed.get(simd_bytes..).unwrap_or_default();
        Ok(read_bits(tail, (index - simd) * usize::from(width), width))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(values: &[u64], width: u8) -> Vec<u64> {
        let mut packed = Vec::new();
        pack(values.iter().copied(), width, &mut packed);
        assert_eq!(packed.len(), packed_len(values.len(), width));
        let mut out = Vec::new();
        unpack(&packed, values.len(), width, |narrow, wide| {
            out.extend(narrow.iter().map(|&v| u64::from(v)));
            out.extend_from_slice(wide);
        })
        .unwrap();
        out
    }

    /// `count` values that fill `width` bits, spread over their whole range.
    fn spread(width: u8, count: u64) -> Vec<u64> {
        let mask = u64::MAX.checked_shr(64 - u32::from(width)).unwrap_or(0);
        (0..count)
            .map(|i| i.wrapping_mul(0x9E37_79B9_7F4A_7C15) & mask)
            .collect()
    }

    #[test]
    fn every_width_round_trips() {
        for (width, count) in
            (0..=64u8).flat_map(|width| [(width, 0), (width, 1), (width, 700), (width, 512)])
        {
            let values = spread(width, count);
            assert_eq!(
                round_trip(&values, width),
                values,
                "width {width}, {count} values"
            );
        }
    }

    #[test]
    fn one_value_unpacks_as_the_whole_list_does() {
        for width in [0u8, 1, 7, 13, 32, 33, 64] {
            // Whole SIMD blocks and a tail, or (past 32 bits) a bit stream only.
            let values = spread(width, 600);
            let mut packed = Vec::new();
            pack(values.iter().copied(), width, &mut packed);
            for (index, &value) in values.iter().enumerate() {
                assert_eq!(
                    unpack_one(&packed, values.len(), width, index).unwrap(),
                    value,
                    "width {width}, value {index}"
                );
            }
            assert!(unpack_one(&packed, values.len(), width, values.len()).is_err());
            if width > 0 {
                assert!(unpack_one(&packed[1..], values.len(), width, 0).is_err());
            }
        }
    }

    #[test]
    fn short_lists_cost_their_bits_only() {
        assert_eq!(packed_len(3, 5), 2);
        assert_eq!(packed_len(256 + 3, 5), 160 + 2);
        assert_eq!(packed_len(10, 40), 50);
    }

    #[test]
    fn wrong_length_is_an_error() {
        assert!(unpack(&[0u8; 3], 10, 5, |_, _| {}).is_err());
        assert!(unpack(&[], 10, 65, |_, _| {}).is_err());
    }
}
