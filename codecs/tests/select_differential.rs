//! Differential test of `select_int_range`, which evaluates a range predicate on encoded
//! data, against the trivial model: decode the block, then keep the non-null rows whose value
//! lies in the range.
//!
//! The data generators are shaped so that the compressor picks each integer scheme at the
//! top of the block (the test asserts it did, so a change in the choice cannot quietly leave
//! a scheme's fast path untested), and the bounds mix values present in the block, their
//! neighbours, the `i64` extremes, random numbers and empty ranges (`low > high`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use proptest::prelude::*;
use tessera_codecs::types::u64_to_ordered_i64;
use tessera_codecs::{
    Column, ColumnValues, Compressor, CompressorConfig, LogicalType, decode_block, encode_block,
    select_int_range,
};

/// Attempts a data shape gets to make the compressor choose its scheme.
const SHAPE_TRIES: usize = 4;

use common::Random;

/// The integer schemes, and data that makes the compressor choose each at the top.
#[derive(Debug, Clone, Copy)]
enum Shape {
    Constant,
    BitPacked,
    Delta,
    RunLength,
    Dictionary,
    Zstd,
    Plain,
}

impl Shape {
    const ALL: [Shape; 7] = [
        Shape::Constant,
        Shape::BitPacked,
        Shape::Delta,
        Shape::RunLength,
        Shape::Dictionary,
        Shape::Zstd,
        Shape::Plain,
    ];

    fn scheme(self) -> &'static str {
        match self {
            Shape::Constant => "constant",
            Shape::BitPacked => "bitpacked",
            Shape::Delta => "delta",
            Shape::RunLength => "run_length",
            Shape::Dictionary => "dictionary",
            Shape::Zstd => "zstd",
            Shape::Plain => "plain",
        }
    }

    fn values(self, rows: usize, random: &mut Random) -> Vec<i64> {
        let base = random.next() as i64 >> random.below(64);
        match self {
            Shape::Constant => vec![base; rows],
            // Many distinct values in a narrow range, no runs.
            Shape::BitPacked => {
                let bits = 3 + random.below(40);
                (0..rows)
                    .map(|_| base.wrapping_add((random.next() >> (64 - bits)) as i64))
                    .collect()
            }
            // Wide, increasing values with small, varying steps.
            Shape::Delta => {
                let mut value = (random.next() >> 2) as i64 - (1 << 61);
                (0..rows)
                    .map(|_| {
                        value = value.wrapping_add(1 + random.below(16) as i64);
                        value
                    })
                    .collect()
            }
            // Long runs of wide random values. (Shorter runs lose to zstd: bit-packing pads a
            // small run-lengths child to a whole block of 256 values.)
            Shape::RunLength => {
                let run = 100 + random.below(900) as usize;
                let mut value = random.next() as i64;
                (0..rows)
                    .map(|row| {
                        if row % run == 0 {
                            value = random.next() as i64;
                        }
                        value
                    })
                    .collect()
            }
            // A few wide values in random order.
            Shape::Dictionary => {
                let table: Vec<i64> = (0..2 + random.below(30))
                    .map(|_| random.next() as i64)
                    .collect();
                (0..rows)
                    .map(|_| table[random.below(table.len() as u64) as usize])
                    .collect()
            }
            // A short period of wide values: repetition only a general-purpose compressor sees.
            Shape::Zstd => {
                let period: Vec<i64> = (0..300 + random.below(200))
                    .map(|_| random.next() as i64)
                    .collect();
                (0..rows).map(|row| period[row % period.len()]).collect()
            }
            Shape::Plain => (0..rows).map(|_| random.next() as i64).collect(),
        }
    }

    /// Rows to generate: enough for the compressor's sample to see the shape.
    fn rows(self, random: &mut Random) -> usize {
        match self {
            Shape::Zstd => 4_000 + random.below(4_000) as usize,
            Shape::Constant => 1 + random.below(5_000) as usize,
            // Unsampled: a sample cuts runs at its own boundaries and favours zstd.
            Shape::RunLength => 600 + random.below(1_400) as usize,
            _ => 300 + random.below(5_000) as usize,
        }
    }
}

/// Range bounds to try on `values`: present values, neighbours, extremes, random, empty.
fn bounds(values: &[i128], random: &mut Random) -> Vec<(i64, i64)> {
    let pick = |random: &mut Random| -> i64 {
        let present = |random: &mut Random| -> i64 {
            if values.is_empty() {
                0
            } else {
                let value = values[random.below(values.len() as u64) as usize];
                value.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
            }
        };
        match random.below(7) {
            0 => i64::MIN,
            1 => i64::MAX,
            2 => present(random),
            3 => present(random).saturating_add(1),
            4 => present(random).saturating_sub(1),
            5 => random.next() as i64,
            _ => random.next() as i64 >> random.below(64),
        }
    };
    let mut pairs = vec![
        (i64::MIN, i64::MAX),
        (i64::MAX, i64::MIN),
        (i64::MIN, i64::MIN),
        (i64::MAX, i64::MAX),
        (0, -1),
    ];
    for _ in 0..24 {
        let low = pick(random);
        let high = pick(random);
        pairs.push((low, high));
        pairs.push((high, low));
    }
    pairs
}

/// Checks `select_int_range` against decode-then-filter for every pair of bounds.
fn check_block(
    column: &Column,
    block: &[u8],
    random: &mut Random,
    case: &str,
    require_subset: bool,
) {
    let decoded = decode_block(block).unwrap();
    let values: Vec<i128> = match decoded.values() {
        ColumnValues::Int(values) => values.iter().map(|&value| i128::from(value)).collect(),
        ColumnValues::Decimal(values) => values.clone(),
        other => panic!("{case}: not an integer-held column: {other:?}"),
    };
    assert_eq!(decoded.len(), column.len(), "{case}");
    let mut matched_some = false;
    for (low, high) in bounds(&values, random) {
        let selection = select_int_range(block, low, high).unwrap();
        assert_eq!(selection.len(), column.len(), "{case}");
        let expected: Vec<usize> = values
            .iter()
            .enumerate()
            .filter(|&(row, &value)| {
                !decoded.is_null(row) && i128::from(low) <= value && value <= i128::from(high)
            })
            .map(|(row, _)| row)
            .collect();
        let got: Vec<usize> = selection.iter().collect();
        assert_eq!(got.len(), selection.count(), "{case}");
        assert!(
            got == expected,
            "{case}: [{low}, {high}] selected {} rows, decode-then-filter {} (first difference at \
             {:?})",
            got.len(),
            expected.len(),
            got.iter().zip(&expected).position(|(a, b)| a != b)
        );
        matched_some |= !expected.is_empty() && expected.len() < column.len();
    }
    // Guard against bounds that only ever select nothing or everything.
    assert!(
        !require_subset
            || matched_some
            || column.len() - column.null_count() <= 1
            || is_constant(&values),
        "{case}: no bound selected a proper subset"
    );
}

fn is_constant(values: &[i128]) -> bool {
    values.windows(2).all(|pair| pair[0] == pair[1])
}

fn nulls(rows: usize, mode: u8, random: &mut Random) -> Option<Vec<bool>> {
    match mode % 4 {
        0 => None,
        1 => Some(vec![false; rows]),
        2 => Some((0..rows).map(|_| random.below(10) != 0).collect()),
        _ => Some((0..rows).map(|_| random.below(2) == 0).collect()),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Every scheme's select path, with and without nulls.
    #[test]
    fn select_matches_decode_then_filter_for_every_int_scheme(seed in any::<u64>(), null_mode in any::<u8>()) {
        let mut random = Random(seed);
        for shape in Shape::ALL {
            // The choice is made on a sample, so a shape may now and then lose to a close
            // competitor; it must win within a few tries.
            let mut chosen = Vec::new();
            for _ in 0..SHAPE_TRIES {
                let rows = shape.rows(&mut random);
                let values = shape.values(rows, &mut random);
                let validity = nulls(rows, null_mode, &mut random);
                let column = Column::new(LogicalType::Int64, ColumnValues::Int(values), validity).unwrap();
                let block = encode_block(&column, &Compressor::default()).unwrap();
                check_block(&column, &block.bytes, &mut random, &format!("{shape:?} as {}", block.values), true);
                chosen.push(block.values.to_string());
                if block.values.scheme == shape.scheme() {
                    break;
                }
            }
            prop_assert!(
                chosen.iter().any(|node| node.split('(').next() == Some(shape.scheme())),
                "{:?} data never chose {}: {:?}",
                shape,
                shape.scheme(),
                chosen
            );
        }
    }

    /// Shallower cascades and tiny samples give other nestings (zstd at the top level, no
    /// children) for the same shapes.
    #[test]
    fn select_matches_at_every_cascade_depth(seed in any::<u64>(), depth in 0u8..=3, tiny_sample in any::<bool>()) {
        let mut random = Random(seed);
        let mut config = CompressorConfig { max_depth: depth, ..CompressorConfig::default() };
        if tiny_sample {
            config.sample_runs = 2;
            config.sample_run_len = 8;
        }
        let compressor = Compressor::new(config);
        for shape in Shape::ALL {
            let rows = shape.rows(&mut random) / 4;
            let values = shape.values(rows, &mut random);
            let validity = nulls(rows, random.next() as u8, &mut random);
            let column = Column::new(LogicalType::Int64, ColumnValues::Int(values), validity).unwrap();
            let block = encode_block(&column, &compressor).unwrap();
            check_block(&column, &block.bytes, &mut random, &format!("{shape:?} at depth {depth} as {}", block.values), true);
        }
    }

    /// Narrow decimals are held as integers and take the same paths; decimals past 64 bits
    /// are compared as `i128`.
    #[test]
    fn select_matches_on_decimal_blocks(seed in any::<u64>(), wide in any::<bool>(), null_mode in any::<u8>()) {
        let mut random = Random(seed);
        let logical = LogicalType::Decimal128 { precision: 38, scale: 3 };
        for shape in Shape::ALL {
            let rows = shape.rows(&mut random) / 2;
            let values: Vec<i128> = shape
                .values(rows, &mut random)
                .into_iter()
                .map(|value| if wide { i128::from(value) * 1_000_003 } else { i128::from(value) })
                .collect();
            let validity = nulls(rows, null_mode, &mut random);
            let column = Column::new(logical.clone(), ColumnValues::Decimal(values), validity).unwrap();
            let block = encode_block(&column, &Compressor::default()).unwrap();
            check_block(&column, &block.bytes, &mut random, &format!("decimal {shape:?} as {}", block.values), !wide);
        }
    }

    /// Narrow integer types, dates, timestamps and unsigned 64-bit values (in their
    /// order-preserving form).
    #[test]
    fn select_matches_on_other_integer_types(seed in any::<u64>(), null_mode in any::<u8>()) {
        let mut random = Random(seed);
        let types = [
            LogicalType::Int8,
            LogicalType::UInt16,
            LogicalType::Date32,
            LogicalType::UInt64,
            LogicalType::Timestamp { unit: tessera_codecs::TimeUnit::Microsecond, timezone: Some("UTC".into()) },
        ];
        for logical in types {
            let (low, high) = logical.int_range().unwrap();
            let rows = 1 + random.below(3_000) as usize;
            let values: Vec<i64> = (0..rows)
                .map(|_| match random.below(4) {
                    0 => low,
                    1 => high,
                    _ => {
                        let span = (i128::from(high) - i128::from(low) + 1) as u128;
                        (i128::from(low) + (u128::from(random.next()) % span) as i128) as i64
                    }
                })
                .collect();
            let validity = nulls(rows, null_mode, &mut random);
            let column = Column::new(logical.clone(), ColumnValues::Int(values), validity).unwrap();
            let block = encode_block(&column, &Compressor::default()).unwrap();
            check_block(&column, &block.bytes, &mut random, &format!("{logical:?} as {}", block.values), true);
        }
    }
}

#[test]
fn unsigned_bounds_follow_unsigned_order() {
    let values: Vec<i64> = [0u64, 1, 1 << 63, u64::MAX - 1, u64::MAX]
        .into_iter()
        .cycle()
        .take(500)
        .map(u64_to_ordered_i64)
        .collect();
    let column = Column::new(LogicalType::UInt64, ColumnValues::Int(values), None).unwrap();
    let block = encode_block(&column, &Compressor::default()).unwrap();
    let top = select_int_range(
        &block.bytes,
        u64_to_ordered_i64(1 << 63),
        u64_to_ordered_i64(u64::MAX),
    )
    .unwrap();
    assert_eq!(
        top.count(),
        300,
        "1<<63, u64::MAX - 1 and u64::MAX, 100 rows each"
    );
    assert!(top.contains(2) && top.contains(4) && !top.contains(1));
}

#[test]
fn non_integer_blocks_are_refused() {
    let column = Column::new(
        LogicalType::Float64,
        ColumnValues::Float(vec![1.0, 2.0]),
        None,
    )
    .unwrap();
    let block = encode_block(&column, &Compressor::default()).unwrap();
    assert!(select_int_range(&block.bytes, 0, 10).is_err());
}
