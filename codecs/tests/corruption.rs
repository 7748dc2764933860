//! Corrupted blocks: every flipped byte and every truncation of a set of small blocks must be
//! rejected with an error (the checksum catches nearly all of them), and the same flips with
//! the checksum recomputed — so the decoders themselves see the damage — must give `Ok` or
//! `Err` but never a panic and never an allocation out of proportion to what the block's
//! header allows.
//!
//! A counting global allocator records the largest single allocation each thread makes and
//! refuses anything above `ALLOCATION_REFUSED_BYTES`, which turns a runaway allocation into
//! a failed test instead of an exhausted machine.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::panic::{AssertUnwindSafe, catch_unwind};

use tessera_codecs::binary::MAX_BLOCK_DATA_BYTES;
use tessera_codecs::types::u64_to_ordered_i64;
use tessera_codecs::{
    BytesColumn, CodecError, Column, ColumnValues, Compressor, CompressorConfig, LogicalType,
    MAX_BLOCK_ROWS, TimeUnit, decode_block, decode_block_into, encode_block, read_header,
    select_int_range,
};

/// Allocations above this fail outright.
const ALLOCATION_REFUSED_BYTES: usize = 1 << 30;
/// The largest allocation decoding any damaged block may make: the string bytes one block
/// may decode to, which is also above what `MAX_BLOCK_ROWS` rows of any fixed-width kind
/// take (16 bytes × 2^22 rows for decimals).
const ALLOCATION_ALLOWED_BYTES: usize = MAX_BLOCK_DATA_BYTES;

struct CountingAllocator;

thread_local! {
    static LARGEST_ALLOCATION: Cell<usize> = const { Cell::new(0) };
}

fn note(size: usize) -> bool {
    let _ = LARGEST_ALLOCATION.try_with(|largest| largest.set(largest.get().max(size)));
    size <= ALLOCATION_REFUSED_BYTES
}

#[expect(
    unsafe_code,
    reason = "a global allocator is an unsafe trait; this one only counts"
)]
// SAFETY: forwards every call to the system allocator unchanged, except that it refuses
// (returns null for) oversized requests, which `GlobalAlloc` allows.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if !note(layout.size()) {
            return std::ptr::null_mut();
        }
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if !note(layout.size()) {
            return std::ptr::null_mut();
        }
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if !note(new_size) {
            return std::ptr::null_mut();
        }
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

fn reset_largest_allocation() {
    LARGEST_ALLOCATION.with(|largest| largest.set(0));
}

fn largest_allocation() -> usize {
    LARGEST_ALLOCATION.with(Cell::get)
}

/// Small blocks covering every value kind and most schemes (named by what was chosen).
fn blocks() -> Vec<(String, Vec<u8>)> {
    let compressor = Compressor::default();
    let mut columns = vec![
        Column::new(
            LogicalType::Int64,
            ColumnValues::Int((0..120).map(|i| (i * 37) % 101 - 50).collect()),
            Some((0..120).map(|i| i % 9 != 0).collect()),
        ),
        Column::new(
            LogicalType::Int32,
            ColumnValues::Int((0..150).map(|i| i / 30 * 1_000_000).collect()),
            None,
        ),
        Column::new(
            LogicalType::Timestamp {
                unit: TimeUnit::Nanosecond,
                timezone: Some("UTC".into()),
            },
            ColumnValues::Int(
                (0..100)
                    .map(|i| 1_700_000_000_000_000_000 + i * 1_003)
                    .collect(),
            ),
            None,
        ),
        Column::new(
            LogicalType::UInt64,
            ColumnValues::Int(
                (0..60)
                    .map(|i| u64_to_ordered_i64([u64::MAX, 7, 1 << 63][i % 3]))
                    .collect(),
            ),
            None,
        ),
        Column::new(
            LogicalType::Int64,
            ColumnValues::Int(vec![-9_876_543_210; 40]),
            Some((0..40).map(|i| i != 5).collect()),
        ),
        Column::new(
            LogicalType::Float64,
            ColumnValues::Float(
                (0..80)
                    .map(|i| {
                        if i == 40 {
                            f64::NAN
                        } else {
                            f64::from(i) * 0.25
                        }
                    })
                    .collect(),
            ),
            None,
        ),
        Column::new(
            LogicalType::Float64,
            ColumnValues::Float((0..90).map(|i| [1.5, -0.0, 1e300][i % 3]).collect()),
            None,
        ),
        Column::new(
            LogicalType::Float32,
            ColumnValues::Float((0..50).map(|i| f64::from(i as f32 * 0.1f32)).collect()),
            Some(vec![false; 50]),
        ),
        Column::new(
            LogicalType::Decimal128 {
                precision: 38,
                scale: 2,
            },
            ColumnValues::Decimal((0..20).map(|i| i * 10i128.pow(30) - 7).collect()),
            Some((0..20).map(|i| i % 4 != 0).collect()),
        ),
        Column::new(
            LogicalType::Decimal128 {
                precision: 10,
                scale: 2,
            },
            ColumnValues::Decimal((0..70).map(|i| i * 1_234).collect()),
            None,
        ),
        Column::new(
            LogicalType::Boolean,
            ColumnValues::Bool((0..2_000).map(|i| i % 700 == 0).collect()),
            None,
        ),
        Column::new(
            LogicalType::Boolean,
            ColumnValues::Bool((0..100).map(|i| i * 7 % 3 == 0).collect()),
            None,
        ),
        Column::new(
            LogicalType::Boolean,
            ColumnValues::Bool(vec![true; 30]),
            Some((0..30).map(|i| i % 2 == 0).collect()),
        ),
        Column::new(
            LogicalType::Utf8,
            ColumnValues::Bytes(
                BytesColumn::from_values((0..60).map(|i| ["ab", "日本", ""][i % 3].as_bytes()))
                    .unwrap(),
            ),
            Some((0..60).map(|i| i % 5 != 0).collect()),
        ),
        Column::new(
            LogicalType::Binary,
            ColumnValues::Bytes(
                BytesColumn::from_values(
                    (0..12u8)
                        .map(|i| vec![i, 0xFF, i ^ 0x55])
                        .collect::<Vec<_>>()
                        .iter()
                        .map(Vec::as_slice),
                )
                .unwrap(),
            ),
            None,
        ),
        Column::new(
            LogicalType::Utf8,
            ColumnValues::Bytes(BytesColumn::from_values(vec![b"same".as_slice(); 25]).unwrap()),
            None,
        ),
    ]
    .into_iter()
    .map(Result::unwrap)
    .collect::<Vec<_>>();
    // Zstd needs 64 values at the top level of a cascade.
    columns.push(
        Column::new(
            LogicalType::Binary,
            ColumnValues::Bytes(
                BytesColumn::from_values(
                    (0..70)
                        .map(|i| format!("row {i} of some text").into_bytes())
                        .collect::<Vec<_>>()
                        .iter()
                        .map(Vec::as_slice),
                )
                .unwrap(),
            ),
            None,
        )
        .unwrap(),
    );
    let mut blocks: Vec<(String, Vec<u8>)> = columns
        .iter()
        .map(|column| {
            let block = encode_block(column, &compressor).unwrap();
            (
                format!("{:?} {}", column.logical(), block.values),
                block.bytes,
            )
        })
        .collect();
    // Zstd for integers and floats, forced by a compressor whose cascade is flat.
    let flat = Compressor::new(CompressorConfig {
        max_depth: 0,
        ..CompressorConfig::default()
    });
    for column in [
        Column::new(
            LogicalType::Int64,
            ColumnValues::Int(
                (0..100)
                    .map(|i| [1i64 << 40, 3, -(1 << 50)][i % 3])
                    .collect(),
            ),
            None,
        )
        .unwrap(),
        Column::new(
            LogicalType::Float64,
            ColumnValues::Float((0..100).map(|i| [0.1, 0.2, 0.3][i % 3]).collect()),
            None,
        )
        .unwrap(),
    ] {
        let block = encode_block(&column, &flat).unwrap();
        blocks.push((
            format!("{:?} {}", column.logical(), block.values),
            block.bytes,
        ));
    }
    blocks
}

fn with_valid_checksum(mut bytes: Vec<u8>) -> Vec<u8> {
    if let Some(body) = bytes.len().checked_sub(4) {
        let checksum = crc32c::crc32c(&bytes[..body]);
        bytes[body..].copy_from_slice(&checksum.to_le_bytes());
    }
    bytes
}

/// Reads `bytes` every way there is; returns whether `decode_block` succeeded. A block that
/// decodes must describe a valid column that encodes and reads back the same.
fn read_every_way(bytes: &[u8]) -> bool {
    let header = read_header(bytes);
    let decoded = decode_block(bytes);
    let mut reused = Column::new(LogicalType::Int8, ColumnValues::Int(vec![1, 2]), None).unwrap();
    let _ = decode_block_into(bytes, &mut reused);
    for (low, high) in [(i64::MIN, i64::MAX), (0, 100), (5, -5)] {
        let _ = select_int_range(bytes, low, high);
    }
    match decoded {
        Ok(column) => {
            let header = header.expect("a block that decodes has a header");
            assert_eq!(header.rows, column.len());
            let again = encode_block(&column, &Compressor::default())
                .and_then(|block| decode_block(&block.bytes))
                .expect("a decoded column re-encodes");
            assert_eq!(again.len(), column.len());
            assert_eq!(again.validity(), column.validity());
            true
        }
        Err(_) => false,
    }
}

#[test]
fn the_blocks_under_test_are_valid_and_varied() {
    let blocks = blocks();
    let names: Vec<&str> = blocks.iter().map(|(name, _)| name.as_str()).collect();
    for needle in [
        "bitpacked",
        "run_length",
        "delta",
        "dictionary",
        "constant",
        "alp",
        "zstd",
        "roaring",
        "bitmap",
        "zstd_i128",
    ] {
        assert!(
            names.iter().any(|name| name.contains(needle)),
            "no block uses {needle}: {names:?}"
        );
    }
    for (name, bytes) in &blocks {
        assert!(read_every_way(bytes), "{name}");
    }
}

#[test]
fn every_flipped_byte_is_rejected() {
    for (name, block) in blocks() {
        for position in 0..block.len() {
            for mask in [0x01u8, 0x80, 0xFF] {
                let mut damaged = block.clone();
                damaged[position] ^= mask;
                let error = decode_block(&damaged).expect_err(&format!("{name}: byte {position}"));
                match position {
                    0..4 => assert!(
                        matches!(error, CodecError::BadMagic { .. }),
                        "{name}: byte {position}: {error}"
                    ),
                    4..6 => assert!(
                        matches!(error, CodecError::UnsupportedVersion { .. }),
                        "{name}: byte {position}: {error}"
                    ),
                    _ => assert!(
                        matches!(error, CodecError::ChecksumMismatch { .. }),
                        "{name}: byte {position}: {error}"
                    ),
                }
                assert!(read_header(&damaged).is_err(), "{name}: byte {position}");
                assert!(select_int_range(&damaged, i64::MIN, i64::MAX).is_err());
            }
        }
    }
}

#[test]
fn every_truncation_and_extension_is_rejected() {
    for (name, block) in blocks() {
        for length in 0..block.len() {
            assert!(
                decode_block(&block[..length]).is_err(),
                "{name}: first {length} bytes"
            );
            assert!(read_header(&block[..length]).is_err());
            // Truncated with a checksum that matches what is left: the decoders must notice.
            let patched = with_valid_checksum(block[..length].to_vec());
            assert!(
                decode_block(&patched).is_err(),
                "{name}: first {length} bytes with a valid checksum"
            );
        }
        let mut longer = block.clone();
        longer.push(0);
        assert!(decode_block(&longer).is_err(), "{name}: one byte more");
        let patched = with_valid_checksum({
            let mut longer = block[..block.len() - 4].to_vec();
            longer.extend_from_slice(&[0, 0, 0, 0, 0]);
            longer
        });
        assert!(
            decode_block(&patched).is_err(),
            "{name}: a byte between the values and a valid checksum"
        );
    }
}

#[test]
fn flips_behind_a_valid_checksum_never_panic_nor_allocate_absurdly() {
    reset_largest_allocation();
    let mut decoded = 0usize;
    let mut rejected = 0usize;
    let mut panics = Vec::new();
    for (name, block) in blocks() {
        for position in 0..block.len() - 4 {
            for mask in [0x01u8, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0xFF] {
                let mut damaged = block.clone();
                damaged[position] ^= mask;
                let damaged = with_valid_checksum(damaged);
                match catch_unwind(AssertUnwindSafe(|| read_every_way(&damaged))) {
                    Ok(true) => decoded += 1,
                    Ok(false) => rejected += 1,
                    Err(_) => panics.push(format!("{name}: byte {position} ^ {mask:#04x}")),
                }
            }
        }
    }
    assert!(panics.is_empty(), "panicked on: {panics:#?}");
    // Both outcomes occur: many flips hit values (still a valid block), many hit structure.
    assert!(
        decoded > 0 && rejected > 0,
        "{decoded} decoded, {rejected} rejected"
    );
    let largest = largest_allocation();
    assert!(
        largest <= ALLOCATION_ALLOWED_BYTES,
        "largest allocation {largest} bytes"
    );
}

#[test]
fn random_damage_behind_a_valid_checksum_never_panics() {
    reset_largest_allocation();
    let mut state = 0x5EED_u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut panics = Vec::new();
    for (name, block) in blocks() {
        for round in 0..400 {
            let mut damaged = block[..block.len() - 4].to_vec();
            for _ in 0..1 + next() % 4 {
                let position = (next() % damaged.len() as u64) as usize;
                match next() % 4 {
                    0 => damaged[position] = next() as u8,
                    1 => damaged.insert(position, next() as u8),
                    2 => {
                        damaged.remove(position);
                    }
                    // A length or count field set to something large.
                    _ => {
                        let end = (position + 4).min(damaged.len());
                        for byte in &mut damaged[position..end] {
                            *byte = 0xFF;
                        }
                    }
                }
                if damaged.is_empty() {
                    damaged.push(0);
                }
            }
            damaged.extend_from_slice(&[0; 4]);
            let damaged = with_valid_checksum(damaged);
            if catch_unwind(AssertUnwindSafe(|| read_every_way(&damaged))).is_err() {
                panics.push(format!("{name}: round {round}: {damaged:02x?}"));
            }
        }
    }
    assert!(panics.is_empty(), "panicked on: {panics:#?}");
    let largest = largest_allocation();
    assert!(
        largest <= ALLOCATION_ALLOWED_BYTES,
        "largest allocation {largest} bytes"
    );
}

#[test]
fn a_row_count_past_the_limit_is_refused_before_decoding() {
    let column = Column::new(LogicalType::Int64, ColumnValues::Int(vec![1; 10]), None).unwrap();
    let mut block = encode_block(&column, &Compressor::default()).unwrap().bytes;
    // magic 4, version 2, flags 1, logical tag 1, then the row count.
    let rows_at = 8;
    assert_eq!(&block[rows_at..rows_at + 4], &10u32.to_le_bytes());
    block[rows_at..rows_at + 4].copy_from_slice(&(MAX_BLOCK_ROWS as u32 + 1).to_le_bytes());
    let block = with_valid_checksum(block);
    assert!(matches!(
        decode_block(&block),
        Err(CodecError::Corrupt { .. })
    ));
    // At the limit, a constant decodes to every row: allowed, and bounded by the row limit.
    let mut at_limit = block.clone();
    at_limit[rows_at..rows_at + 4].copy_from_slice(&(MAX_BLOCK_ROWS as u32).to_le_bytes());
    let at_limit = with_valid_checksum(at_limit);
    reset_largest_allocation();
    let decoded = decode_block(&at_limit).unwrap();
    assert_eq!(decoded.len(), MAX_BLOCK_ROWS);
    assert!(largest_allocation() <= MAX_BLOCK_ROWS * 8);
}

#[test]
fn select_and_decode_agree_on_a_bad_decimal_mode() {
    for values in [vec![1i128, 2, 3], vec![i128::from(i64::MAX) + 1; 3]] {
        let column = Column::new(
            LogicalType::Decimal128 {
                precision: 38,
                scale: 0,
            },
            ColumnValues::Decimal(values),
            None,
        )
        .unwrap();
        let mut block = encode_block(&column, &Compressor::default()).unwrap().bytes;
        // magic 4, version 2, flags 1, tag, precision and scale 3, rows 4: then the mode.
        let mode_at = 14;
        assert!(block[mode_at] <= 1);
        assert!(select_int_range(&block, i64::MIN, i64::MAX).is_ok());
        block[mode_at] = 2;
        let block = with_valid_checksum(block);
        assert!(decode_block(&block).is_err());
        assert!(
            select_int_range(&block, i64::MIN, i64::MAX).is_err(),
            "select must refuse what decode refuses"
        );
    }
}
