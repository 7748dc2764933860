//! Differential test of `decode_block_row`, which reads one row of a block without decoding
//! the others where the encoding allows, against the trivial model: decode the whole block
//! and take the row.
//!
//! The columns are shaped so that the compressor picks each integer scheme (plain, constant,
//! bit-packed, run length, dictionary, which have direct paths, and delta and zstd, which
//! decode whole), across every physical kind, with and without nulls, at several cascade
//! depths, and the rows probed include both ends and the edges of the 256-value SIMD blocks.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use proptest::prelude::*;
use tessera_codecs::{
    BytesColumn, Column, ColumnValues, Compressor, CompressorConfig, LogicalType, decode_block,
    decode_block_row, encode_block,
};

use common::Random;

/// Integers shaped for each scheme: constant, a narrow range (bit-packed), few distinct
/// values (dictionary), sorted (delta), runs (run length), full 64-bit noise (plain or zstd).
fn ints(shape: u8, rows: usize, random: &mut Random) -> Vec<i64> {
    let base = random.next() as i64 >> 8;
    match shape % 6 {
        0 => vec![base; rows],
        1 => (0..rows)
            .map(|_| base.wrapping_add(random.below(1 << 12) as i64))
            .collect(),
        2 => {
            let distinct: Vec<i64> = (0..5).map(|_| random.next() as i64).collect();
            (0..rows)
                .map(|_| distinct[random.below(5) as usize])
                .collect()
        }
        3 => {
            let mut value = base;
            (0..rows)
                .map(|_| {
                    value = value.wrapping_add(random.below(100) as i64);
                    value
                })
                .collect()
        }
        4 => {
            let mut out = Vec::with_capacity(rows);
            while out.len() < rows {
                let value = random.below(1_000) as i64;
                let run = 1 + random.below(40) as usize;
                out.extend(std::iter::repeat_n(value, run.min(rows - out.len())));
            }
            out
        }
        _ => (0..rows).map(|_| random.next() as i64).collect(),
    }
}

fn column(kind: u8, shape: u8, rows: usize, random: &mut Random) -> Column {
    let (logical, values) = match kind % 7 {
        0 => (
            LogicalType::Int64,
            ColumnValues::Int(ints(shape, rows, random)),
        ),
        1 => (
            LogicalType::Date32,
            ColumnValues::Int(
                ints(shape, rows, random)
                    .into_iter()
                    .map(|value| value % 100_000)
                    .collect(),
            ),
        ),
        2 => (
            LogicalType::Decimal128 {
                precision: 38,
                scale: 2,
            },
            ColumnValues::Decimal(
                ints(shape, rows, random)
                    .into_iter()
                    .map(|value| {
                        // Some blocks past 64 bits: the wide form.
                        if shape % 2 == 1 {
                            i128::from(value) * 1_000_000_000_000
                        } else {
                            i128::from(value)
                        }
                    })
                    .collect(),
            ),
        ),
        3 => (
            LogicalType::Float64,
            ColumnValues::Float(
                ints(shape, rows, random)
                    .into_iter()
                    .map(|value| (value % 100_000) as f64 / 4.0)
                    .collect(),
            ),
        ),
        4 => (
            LogicalType::Boolean,
            ColumnValues::Bool((0..rows).map(|_| random.below(3) == 0).collect()),
        ),
        _ => {
            let values: Vec<String> = ints(shape, rows, random)
                .into_iter()
                .map(|value| format!("v{}", value % 1_000))
                .collect();
            (
                LogicalType::Utf8,
                ColumnValues::Bytes(
                    BytesColumn::from_values(values.iter().map(String::as_bytes)).unwrap(),
                ),
            )
        }
    };
    let validity = match random.below(3) {
        0 => None,
        1 => Some((0..rows).map(|_| random.below(8) != 0).collect()),
        _ => Some((0..rows).map(|_| random.below(2) == 0).collect()),
    };
    Column::new(logical, values, validity).unwrap()
}

/// Both ends, the edges of SIMD blocks, and random rows.
fn probes(rows: usize, random: &mut Random) -> Vec<usize> {
    let mut probes = vec![0, rows - 1];
    for edge in (256..rows).step_by(256) {
        probes.extend([edge - 1, edge]);
    }
    probes.extend((0..16).map(|_| random.below(rows as u64) as usize));
    probes
}

fn check(column: &Column, compressor: &Compressor, random: &mut Random) {
    let block = encode_block(column, compressor).unwrap();
    let whole = decode_block(&block.bytes).unwrap();
    for row in probes(column.len(), random) {
        let one = decode_block_row(&block.bytes, row).unwrap();
        let expected = whole.take(&[row as u32]).unwrap();
        assert_eq!(
            one,
            expected,
            "row {row} of {} as {}",
            column.len(),
            block.values
        );
    }
    assert!(decode_block_row(&block.bytes, column.len()).is_err());
    let mut damaged = block.bytes.clone();
    if let Some(byte) = damaged.get_mut(block.bytes.len() / 2) {
        *byte ^= 0x40;
    }
    assert!(
        decode_block_row(&damaged, 0).is_err(),
        "a damaged block must fail its checksum"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn one_row_decodes_as_the_whole_block_does(seed in any::<u64>(), rows in 1usize..2_000) {
        let mut random = Random(seed);
        let compressor = Compressor::default();
        for kind in 0..7 {
            for shape in 0..6 {
                let column = column(kind, shape, rows, &mut random);
                check(&column, &compressor, &mut random);
            }
        }
    }

    #[test]
    fn one_row_decodes_at_every_cascade_depth(seed in any::<u64>(), depth in 0u8..=3) {
        let mut random = Random(seed);
        let compressor = Compressor::new(CompressorConfig { max_depth: depth, ..CompressorConfig::default() });
        for kind in [0, 2, 5] {
            for shape in 0..6 {
                let rows = 1 + random.below(3_000) as usize;
                let column = column(kind, shape, rows, &mut random);
                check(&column, &compressor, &mut random);
            }
        }
    }
}

/// A full-size block of each direct-path scheme reads its row without the others: checked
/// by the schemes the compressor chose, so the direct paths above are known to be taken.
#[test]
fn full_blocks_choose_the_direct_path_schemes() {
    let mut random = Random(7);
    let mut chosen = Vec::new();
    for shape in 0..3 {
        let column = Column::new(
            LogicalType::Int64,
            ColumnValues::Int(ints(shape, 65_536, &mut random)),
            None,
        )
        .unwrap();
        let block = encode_block(&column, &Compressor::default()).unwrap();
        chosen.push(block.values.scheme);
        check(&column, &Compressor::default(), &mut random);
    }
    assert_eq!(chosen, ["constant", "bitpacked", "dictionary"]);
}
