//! Conformance suite for every encoding scheme of every value kind, and for whole blocks of
//! every logical type.
//!
//! Each scheme is run directly (`Compressor::encode_with`, bypassing the choice) at every
//! cascade depth on edge-case inputs and must decode back to the same values (floats
//! bitwise) while consuming exactly the bytes it wrote; a scheme that refuses an input says
//! so with `NotApplicable`, and every scheme must accept at least one case, so none goes
//! untested. Blocks are checked for every logical type with no, some and only nulls, and
//! decoding into a column that held another type. Property tests close with random columns.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;

use proptest::prelude::*;
use tessera_codecs::binary::BytesKind;
use tessera_codecs::boolean::BoolKind;
use tessera_codecs::float::FloatKind;
use tessera_codecs::fuzz::SameValues;
use tessera_codecs::int::IntKind;
use tessera_codecs::io::Reader;
use tessera_codecs::scheme::decode_node;
use tessera_codecs::types::u64_to_ordered_i64;
use tessera_codecs::{
    BytesColumn, CodecError, Column, ColumnValues, Compressor, CompressorConfig, LogicalType,
    TimeUnit, ValueKind, decode_block, decode_block_into, encode_block,
};

// ---------------------------------------------------------------------------------------
// Helpers

use common::Random;

fn decode_all<K: ValueKind>(bytes: &[u8], count: usize) -> K::Owned {
    let mut reader = Reader::new(bytes);
    let mut out = K::Owned::default();
    decode_node::<K>(&mut reader, count, 0, &mut out).unwrap();
    assert_eq!(reader.remaining(), 0, "decoder left bytes unread");
    out
}

/// Runs every scheme of `K` at depths 0..=3 and the automatic choice on `values`; returns the
/// names of the schemes that accepted them.
fn conform<K: ValueKind>(case: &str, values: &K::Values) -> Vec<&'static str>
where
    K::Owned: SameValues<K>,
{
    let compressor = Compressor::default();
    let count = K::len(values);
    let mut accepted = Vec::new();
    for &scheme in K::schemes() {
        for depth in 0..=3u8 {
            let mut out = vec![0xAA]; // something before, to check offsets are relative
            let node = match compressor.encode_with(scheme, values, depth, &mut out) {
                Ok(node) => node,
                Err(CodecError::NotApplicable { .. }) => continue,
                Err(error) => panic!(
                    "{case}: {} {} depth {depth}: {error}",
                    K::NAME,
                    scheme.name()
                ),
            };
            assert_eq!(node.scheme, scheme.name());
            assert_eq!(node.values, count);
            assert_eq!(node.bytes, out.len() - 1, "{case}: {}", scheme.name());
            assert_eq!(out.get(1).copied(), Some(scheme.id()));
            let decoded = decode_all::<K>(&out[1..], count);
            assert!(
                decoded.same_as(values),
                "{case}: {} {} at depth {depth} did not round-trip",
                K::NAME,
                scheme.name()
            );
            // Trailing bytes are left for the caller: the reader stops at the node's end.
            let mut padded = out[1..].to_vec();
            padded.extend_from_slice(&[1, 2, 3]);
            let mut reader = Reader::new(&padded);
            let mut again = K::Owned::default();
            decode_node::<K>(&mut reader, count, 0, &mut again).unwrap();
            assert_eq!(reader.remaining(), 3, "{case}: {}", scheme.name());
            if !accepted.contains(&scheme.name()) {
                accepted.push(scheme.name());
            }
        }
    }
    for depth in 0..=3u8 {
        let mut out = Vec::new();
        let node = compressor.encode::<K>(values, depth, &mut out).unwrap();
        assert_eq!(node.bytes, out.len());
        let decoded = decode_all::<K>(&out, count);
        assert!(
            decoded.same_as(values),
            "{case}: automatic {node} at depth {depth} did not round-trip"
        );
    }
    assert!(
        accepted.contains(&"plain") || accepted.contains(&"bitmap"),
        "{case}: the plain scheme must accept anything, accepted {accepted:?}"
    );
    accepted
}

/// Runs `conform` on every case and checks that every scheme of `K` accepted at least one.
fn conform_all<K: ValueKind>(cases: &[(String, &K::Values)])
where
    K::Owned: SameValues<K>,
{
    let mut coverage: BTreeMap<&'static str, usize> = BTreeMap::new();
    for (name, values) in cases {
        for scheme in conform::<K>(name, values) {
            *coverage.entry(scheme).or_default() += 1;
        }
    }
    for scheme in K::schemes() {
        assert!(
            coverage.get(scheme.name()).copied().unwrap_or(0) > 0,
            "{} scheme {} accepted no case: it is untested",
            K::NAME,
            scheme.name()
        );
    }
}

/// Column equality with floats compared bitwise.
fn assert_columns_equal(expected: &Column, actual: &Column, case: &str) {
    assert_eq!(expected.logical(), actual.logical(), "{case}");
    assert_eq!(expected.validity(), actual.validity(), "{case}");
    match (expected.values(), actual.values()) {
        (ColumnValues::Float(left), ColumnValues::Float(right)) => {
            assert_eq!(left.len(), right.len(), "{case}");
            for (row, (a, b)) in left.iter().zip(right).enumerate() {
                assert_eq!(a.to_bits(), b.to_bits(), "{case}: row {row}");
            }
        }
        (left, right) => assert!(left == right, "{case}: values differ"),
    }
}

fn round_trip_block(column: &Column, case: &str) -> Vec<u8> {
    let block = encode_block(column, &Compressor::default())
        .unwrap_or_else(|error| panic!("{case}: encode: {error}"));
    assert_eq!(block.rows, column.len());
    assert_eq!(block.null_count, column.null_count());
    assert_eq!(block.validity.is_some(), column.null_count() > 0, "{case}");
    let decoded = decode_block(&block.bytes).unwrap_or_else(|error| panic!("{case}: {error}"));
    assert_columns_equal(column, &decoded, case);
    block.bytes
}

// ---------------------------------------------------------------------------------------
// Edge cases per value kind

fn int_cases() -> Vec<(String, Vec<i64>)> {
    let mut random = Random(1);
    let mut cases: Vec<(String, Vec<i64>)> = vec![
        ("empty".into(), vec![]),
        ("one value".into(), vec![42]),
        ("one minimum".into(), vec![i64::MIN]),
        ("two values".into(), vec![i64::MAX, i64::MIN]),
        ("all equal".into(), vec![-7; 1_000]),
        ("all equal minimum".into(), vec![i64::MIN; 300]),
        (
            "extremes mixed".into(),
            (0..700)
                .map(|i| [i64::MIN, i64::MAX, 0, -1, 1, i64::MIN + 1, i64::MAX - 1][i % 7])
                .collect(),
        ),
        (
            "range wider than 2^32".into(),
            (0..1_000).map(|i| i * (1i64 << 33) - (1 << 40)).collect(),
        ),
        (
            "range wider than 2^63".into(),
            (0..1_000)
                .map(|i| {
                    // Alternately in [2^62, 2^63) and (-2^63, -2^62]: the span exceeds 2^63.
                    let magnitude = (random.next() >> 2) as i64 | (1 << 62);
                    if i % 2 == 0 { magnitude } else { -magnitude }
                })
                .collect(),
        ),
        (
            "full range random".into(),
            (0..2_500).map(|_| random.next() as i64).collect(),
        ),
        (
            "heavy duplicates".into(),
            (0..5_000)
                .map(|_| [3, 1_000_000_007, -12, i64::MAX][random.below(4) as usize])
                .collect(),
        ),
        ("sorted".into(), (0..3_000).map(|i| i * 3 + 1_000).collect()),
        (
            "reverse sorted".into(),
            (0..3_000).rev().map(|i| i * 1_000_003).collect(),
        ),
        (
            "long runs".into(),
            (0..4_000).map(|i| (i / 97) * 1_234_567).collect(),
        ),
        (
            "small random".into(),
            (0..4_100).map(|_| random.below(100) as i64 - 50).collect(),
        ),
        (
            "periodic wide".into(),
            (0..4_096)
                .map(|i| [i64::MIN, 17, 1 << 50, -(1 << 45)][i % 4])
                .collect(),
        ),
    ];
    for len in [63, 64, 65, 255, 256, 257, 513] {
        cases.push((
            format!("{len} values around SIMD blocks"),
            (0..len).map(|i| (i as i64 * 7919) % 1_021).collect(),
        ));
    }
    cases
}

fn float_cases() -> Vec<(String, Vec<f64>)> {
    let mut random = Random(2);
    let nans = [
        f64::from_bits(0x7FF8_0000_0000_0000),
        f64::from_bits(0x7FF0_0000_0000_0001),
        f64::from_bits(0xFFF8_0000_0000_0123),
        f64::from_bits(0x7FFF_FFFF_FFFF_FFFF),
        f64::from_bits(0x7FF4_0000_DEAD_BEEF),
    ];
    let specials = [
        0.0,
        -0.0,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::from_bits(1),
        f64::MIN_POSITIVE / 2.0,
        -f64::from_bits(0x000F_FFFF_FFFF_FFFF),
        f64::MAX,
        f64::MIN,
        f64::EPSILON,
    ];
    vec![
        ("empty".into(), vec![]),
        ("one value".into(), vec![3.25]),
        ("one NaN".into(), vec![f64::NAN]),
        ("all equal".into(), vec![2.5; 1_000]),
        ("all negative zero".into(), vec![-0.0; 300]),
        (
            "all one NaN payload".into(),
            vec![f64::from_bits(0x7FF0_0000_0000_0001); 200],
        ),
        (
            "NaN payloads".into(),
            (0..500).map(|i| nans[i % nans.len()]).collect(),
        ),
        (
            "signed zeros".into(),
            (0..400)
                .map(|i| if i % 3 == 0 { -0.0 } else { 0.0 })
                .collect(),
        ),
        (
            "infinities and subnormals".into(),
            (0..700).map(|i| specials[i % specials.len()]).collect(),
        ),
        (
            "decimal-like".into(),
            (0..3_000)
                .map(|_| random.below(1_000_000) as f64 / 100.0)
                .collect(),
        ),
        (
            "decimal-like with exceptions".into(),
            (0..3_000)
                .map(|i| {
                    if i % 97 == 0 {
                        [f64::NAN, -0.0, std::f64::consts::PI, f64::INFINITY][i % 4]
                    } else {
                        random.below(100_000) as f64 / 1_000.0 - 50.0
                    }
                })
                .collect(),
        ),
        (
            "negative decimals".into(),
            (0..1_000).map(|i| -(i as f64) * 0.1).collect(),
        ),
        (
            "exact f32".into(),
            (0..1_000)
                .map(|_| f64::from(f32::from_bits(random.next() as u32 & 0x7F7F_FFFF)))
                .collect(),
        ),
        (
            "random bits".into(),
            (0..2_500).map(|_| f64::from_bits(random.next())).collect(),
        ),
        (
            "heavy duplicates".into(),
            (0..5_000)
                .map(|_| [1.5, -0.0, f64::NAN, 1e300][random.below(4) as usize])
                .collect(),
        ),
        (
            "sorted".into(),
            (0..3_000).map(|i| f64::from(i) * 0.25).collect(),
        ),
        (
            "reverse sorted".into(),
            (0..3_000).rev().map(|i| f64::from(i) * 1e10).collect(),
        ),
        (
            "huge decimals".into(),
            (0..500).map(|i| 1e17 + f64::from(i) * 64.0).collect(),
        ),
    ]
}

fn bytes_cases() -> Vec<(String, BytesColumn)> {
    let mut random = Random(3);
    let column =
        |values: Vec<Vec<u8>>| BytesColumn::from_values(values.iter().map(Vec::as_slice)).unwrap();
    let long: Vec<u8> = (0..100_000).map(|i| (i % 251) as u8).collect();
    let words: [&[u8]; 5] = [b"alpha", b"", "straße".as_bytes(), b"\xFF\xFE\x00", b"zeta"];
    vec![
        ("empty column".into(), column(vec![])),
        ("one empty string".into(), column(vec![vec![]])),
        ("all empty strings".into(), column(vec![vec![]; 1_000])),
        ("one value".into(), column(vec![b"hello".to_vec()])),
        ("all equal".into(), column(vec![b"same".to_vec(); 1_000])),
        ("one long string".into(), column(vec![long.clone()])),
        (
            "long strings".into(),
            column(vec![
                long.clone(),
                vec![],
                long[..50_000].to_vec(),
                long.clone(),
            ]),
        ),
        (
            "non-UTF-8 binary".into(),
            column(
                (0..800)
                    .map(|_| (0..random.below(40)).map(|_| random.next() as u8).collect())
                    .collect(),
            ),
        ),
        (
            "heavy duplicates".into(),
            column(
                (0..5_000)
                    .map(|_| words[random.below(5) as usize].to_vec())
                    .collect(),
            ),
        ),
        (
            "sorted".into(),
            column(
                (0..3_000)
                    .map(|i| format!("key-{i:06}").into_bytes())
                    .collect(),
            ),
        ),
        (
            "reverse sorted".into(),
            column(
                (0..3_000)
                    .rev()
                    .map(|i| format!("key-{i:06}").into_bytes())
                    .collect(),
            ),
        ),
        (
            "multi-byte text".into(),
            column(
                (0..2_000)
                    .map(|i| {
                        ["日本語", "😀😀", "é", "", "naïve café"][i % 5]
                            .as_bytes()
                            .to_vec()
                    })
                    .collect(),
            ),
        ),
    ]
}

fn bool_cases() -> Vec<(String, Vec<bool>)> {
    let mut random = Random(4);
    vec![
        ("empty".into(), vec![]),
        ("one true".into(), vec![true]),
        ("one false".into(), vec![false]),
        ("all true".into(), vec![true; 1_000]),
        ("all false".into(), vec![false; 777]),
        (
            "alternating".into(),
            (0..1_001).map(|i| i % 2 == 0).collect(),
        ),
        (
            "sparse trues".into(),
            (0..5_000).map(|_| random.below(100) == 0).collect(),
        ),
        (
            "sparse falses".into(),
            (0..5_000).map(|_| random.below(100) != 0).collect(),
        ),
        (
            "random".into(),
            (0..3_333).map(|_| random.below(2) == 0).collect(),
        ),
        ("sorted".into(), (0..2_000).map(|i| i >= 1_500).collect()),
    ]
}

#[test]
fn every_int_scheme_round_trips_edge_cases() {
    let cases = int_cases();
    let borrowed: Vec<(String, &[i64])> = cases
        .iter()
        .map(|(name, values)| (name.clone(), values.as_slice()))
        .collect();
    conform_all::<IntKind>(&borrowed);
}

#[test]
fn every_float_scheme_round_trips_edge_cases() {
    let cases = float_cases();
    let borrowed: Vec<(String, &[f64])> = cases
        .iter()
        .map(|(name, values)| (name.clone(), values.as_slice()))
        .collect();
    conform_all::<FloatKind>(&borrowed);
}

#[test]
fn every_bytes_scheme_round_trips_edge_cases() {
    let cases = bytes_cases();
    let borrowed: Vec<(String, &BytesColumn)> = cases
        .iter()
        .map(|(name, values)| (name.clone(), values))
        .collect();
    conform_all::<BytesKind>(&borrowed);
}

#[test]
fn every_bool_scheme_round_trips_edge_cases() {
    let cases = bool_cases();
    let borrowed: Vec<(String, &[bool])> = cases
        .iter()
        .map(|(name, values)| (name.clone(), values.as_slice()))
        .collect();
    conform_all::<BoolKind>(&borrowed);
}

#[test]
fn special_floats_keep_their_bits_through_every_scheme() {
    // The dictionary and plain schemes narrow to f32 when that is exact; a signalling NaN
    // is not exact in f32 (the conversion quiets it) and must stay 8 bytes wide.
    let values = vec![f64::from_bits(0x7FF0_0000_0000_0001); 4];
    let mut out = Vec::new();
    let plain = <FloatKind as ValueKind>::schemes()[0];
    Compressor::default()
        .encode_with(plain, values.as_slice(), 0, &mut out)
        .unwrap();
    assert_eq!(out.len(), 2 + 8 * 4, "a signalling NaN needs all 8 bytes");
    let decoded = decode_all::<FloatKind>(&out, values.len());
    assert_eq!(decoded[3].to_bits(), 0x7FF0_0000_0000_0001);
}

#[test]
fn deep_cascades_stay_decodable() {
    // Each delta lowers a polynomial's degree by one, so a degree-9 sequence cascades ten
    // levels deep when allowed to; the compressor must cap what a decoder would refuse.
    for max_depth in [3u8, 7, 8, 12, u8::MAX] {
        let compressor = Compressor::new(CompressorConfig {
            max_depth,
            ..CompressorConfig::default()
        });
        for degree in [3u32, 8, 9] {
            let values: Vec<i64> = (0..100i64).map(|i| i.pow(degree)).collect();
            let column = Column::new(LogicalType::Int64, ColumnValues::Int(values), None).unwrap();
            let block = encode_block(&column, &compressor).unwrap();
            let decoded = decode_block(&block.bytes)
                .unwrap_or_else(|error| panic!("max_depth {max_depth}, {}: {error}", block.values));
            assert_columns_equal(&column, &decoded, "polynomial");
        }
        let strings = BytesColumn::from_values(
            (0..3_000u32).map(|i| ["a", "bb", "ccc", "dddd"][(i * i % 4) as usize].as_bytes()),
        )
        .unwrap();
        let column = Column::new(LogicalType::Utf8, ColumnValues::Bytes(strings), None).unwrap();
        let block = encode_block(&column, &compressor).unwrap();
        let decoded = decode_block(&block.bytes).unwrap();
        assert_columns_equal(&column, &decoded, "nested strings");
    }
}

// One million rows, one test per kind so they run in parallel.

#[test]
fn a_million_ints_round_trip() {
    let mut random = Random(5);
    let sorted: Vec<i64> = (0..1_000_000i64)
        .map(|i| i * 10 + random.below(10) as i64)
        .collect();
    conform::<IntKind>("a million sorted ints", sorted.as_slice());
}

#[test]
fn a_million_floats_round_trip() {
    let mut random = Random(6);
    let prices: Vec<f64> = (0..1_000_000)
        .map(|_| random.below(1_000_000) as f64 / 100.0)
        .collect();
    conform::<FloatKind>("a million prices", prices.as_slice());
}

#[test]
fn a_million_strings_round_trip() {
    let column = BytesColumn::from_values(
        (0..1_000_000u32)
            .map(|i| ["GET", "POST", "PUT", "DELETE"][(i % 7 % 4) as usize].as_bytes()),
    )
    .unwrap();
    conform::<BytesKind>("a million HTTP verbs", &column);
}

#[test]
fn a_million_bools_round_trip() {
    let mut random = Random(7);
    let flags: Vec<bool> = (0..1_000_000).map(|_| random.below(1_000) == 0).collect();
    conform::<BoolKind>("a million sparse flags", flags.as_slice());
}

// ---------------------------------------------------------------------------------------
// Whole blocks for every logical type

fn every_logical_type() -> Vec<LogicalType> {
    vec![
        LogicalType::Int8,
        LogicalType::Int16,
        LogicalType::Int32,
        LogicalType::Int64,
        LogicalType::UInt8,
        LogicalType::UInt16,
        LogicalType::UInt32,
        LogicalType::UInt64,
        LogicalType::Float32,
        LogicalType::Float64,
        LogicalType::Decimal128 {
            precision: 38,
            scale: 10,
        },
        LogicalType::Decimal128 {
            precision: 9,
            scale: -2,
        },
        LogicalType::Boolean,
        LogicalType::Utf8,
        LogicalType::Binary,
        LogicalType::Date32,
        LogicalType::Date64,
        LogicalType::Timestamp {
            unit: TimeUnit::Second,
            timezone: None,
        },
        LogicalType::Timestamp {
            unit: TimeUnit::Microsecond,
            timezone: Some("Europe/Berlin".into()),
        },
        LogicalType::Timestamp {
            unit: TimeUnit::Nanosecond,
            timezone: Some("+05:30".into()),
        },
    ]
}

/// Values of `rows` rows for a type, reaching the edges of its range.
fn values_for(logical: &LogicalType, rows: usize, random: &mut Random) -> ColumnValues {
    match logical {
        LogicalType::Float32 => ColumnValues::Float(
            (0..rows)
                .map(|i| match i % 5 {
                    0 => f64::from(f32::MAX),
                    1 => f64::from(f32::from_bits(random.next() as u32)),
                    _ => f64::from(random.below(1_000) as f32 / 8.0),
                })
                .collect(),
        ),
        LogicalType::Float64 => ColumnValues::Float(
            (0..rows)
                .map(|i| match i % 6 {
                    0 => f64::NAN,
                    1 => -0.0,
                    2 => f64::NEG_INFINITY,
                    _ => random.below(100_000) as f64 / 100.0,
                })
                .collect(),
        ),
        LogicalType::Decimal128 { precision, .. } => {
            let bound = 10i128.pow(u32::from(*precision)) - 1;
            ColumnValues::Decimal(
                (0..rows)
                    .map(|i| match i % 4 {
                        0 => bound,
                        1 => -bound,
                        2 => i128::from(random.next() as i64) % bound,
                        _ => i as i128,
                    })
                    .collect(),
            )
        }
        LogicalType::Boolean => ColumnValues::Bool((0..rows).map(|i| i % 3 == 0).collect()),
        LogicalType::Utf8 => ColumnValues::Bytes(
            BytesColumn::from_values(
                (0..rows).map(|i| ["", "ascii", "Grüße", "東京", "🦀 rust"][i % 5].as_bytes()),
            )
            .unwrap(),
        ),
        LogicalType::Binary => {
            let values: Vec<Vec<u8>> = (0..rows)
                .map(|i| vec![0xFF, 0x00, i as u8, 0xC3][..i % 5].to_vec())
                .collect();
            ColumnValues::Bytes(BytesColumn::from_values(values.iter().map(Vec::as_slice)).unwrap())
        }
        other => {
            let (low, high) = other.int_range().unwrap();
            ColumnValues::Int(
                (0..rows)
                    .map(|i| match i % 5 {
                        0 => low,
                        1 => high,
                        2 => 0.clamp(low, high),
                        _ => {
                            let span = (i128::from(high) - i128::from(low) + 1) as u128;
                            (i128::from(low) + (u128::from(random.next()) % span) as i128) as i64
                        }
                    })
                    .collect(),
            )
        }
    }
}

#[test]
fn blocks_of_every_type_round_trip_with_and_without_nulls() {
    let mut random = Random(8);
    for logical in every_logical_type() {
        for rows in [0usize, 1, 2, 100, 3_000] {
            let patterns: Vec<(&str, Option<Vec<bool>>)> = vec![
                ("no validity", None),
                ("no null", Some(vec![true; rows])),
                ("some null", Some((0..rows).map(|i| i % 7 != 3).collect())),
                ("all null", Some(vec![false; rows])),
            ];
            for (pattern, validity) in patterns {
                let case = format!("{logical:?}, {rows} rows, {pattern}");
                let values = values_for(&logical, rows, &mut random);
                let column = Column::new(logical.clone(), values, validity).unwrap();
                round_trip_block(&column, &case);
            }
        }
    }
}

#[test]
fn decimals_wider_than_64_bits_round_trip() {
    let logical = LogicalType::Decimal128 {
        precision: 38,
        scale: 4,
    };
    let big = 10i128.pow(38) - 1;
    let values = vec![
        big,
        -big,
        i128::from(i64::MAX) + 1,
        i128::from(i64::MIN) - 1,
        0,
        12_345_678_901_234_567_890_123,
    ];
    let validity = Some(vec![true, true, true, false, true, true]);
    let column = Column::new(logical, ColumnValues::Decimal(values), validity).unwrap();
    let block = encode_block(&column, &Compressor::default()).unwrap();
    assert_eq!(block.values.scheme, "zstd_i128");
    round_trip_block(&column, "wide decimals");
}

#[test]
fn uint64_near_the_top_round_trips_in_order() {
    let values: Vec<i64> = [u64::MAX, u64::MAX - 1, 0, 1, 1 << 63, (1 << 63) - 1]
        .into_iter()
        .cycle()
        .take(600)
        .map(u64_to_ordered_i64)
        .collect();
    let column = Column::new(LogicalType::UInt64, ColumnValues::Int(values), None).unwrap();
    round_trip_block(&column, "u64 near the top");
}

#[test]
fn timestamps_keep_their_time_zone() {
    let logical = LogicalType::Timestamp {
        unit: TimeUnit::Millisecond,
        timezone: Some("America/Argentina/Buenos_Aires".into()),
    };
    let column = Column::new(
        logical.clone(),
        ColumnValues::Int((0..500).map(|i| 1_700_000_000_000 + i * 1_000).collect()),
        Some((0..500).map(|i| i % 10 != 0).collect()),
    )
    .unwrap();
    let bytes = round_trip_block(&column, "timestamp with zone");
    assert_eq!(decode_block(&bytes).unwrap().logical(), &logical);
}

#[test]
fn multi_byte_text_round_trips() {
    let text = ["", "é", "日本語テキスト", "🦀🦀🦀", "mixed ascii and ü"];
    let column = Column::new(
        LogicalType::Utf8,
        ColumnValues::Bytes(
            BytesColumn::from_values((0..2_000).map(|i| text[i % text.len()].as_bytes())).unwrap(),
        ),
        None,
    )
    .unwrap();
    round_trip_block(&column, "multi-byte text");
}

#[test]
fn decoding_into_a_column_that_held_another_type() {
    let mut random = Random(9);
    let types = every_logical_type();
    let columns: Vec<Column> = types
        .iter()
        .enumerate()
        .map(|(index, logical)| {
            let rows = 50 + index * 13;
            let validity = (index % 2 == 0).then(|| (0..rows).map(|i| i % 4 != 1).collect());
            Column::new(
                logical.clone(),
                values_for(logical, rows, &mut random),
                validity,
            )
            .unwrap()
        })
        .collect();
    let blocks: Vec<Vec<u8>> = columns
        .iter()
        .map(|column| encode_block(column, &Compressor::default()).unwrap().bytes)
        .collect();
    // Every ordered pair: decode block `a`, then block `b` into the same column.
    for (a, first) in blocks.iter().enumerate() {
        for (b, second) in blocks.iter().enumerate() {
            let mut reused = decode_block(first).unwrap();
            decode_block_into(second, &mut reused).unwrap();
            assert_columns_equal(&columns[b], &reused, &format!("{a} then {b}"));
        }
    }
}

// ---------------------------------------------------------------------------------------
// Property tests: random columns of every kind, automatic encoding, decode, compare.

fn int_values() -> impl Strategy<Value = Vec<i64>> {
    prop_oneof![
        prop::collection::vec(any::<i64>(), 0..3_000),
        prop::collection::vec(-100i64..100, 0..3_000),
        prop::collection::vec(
            prop::sample::select(vec![i64::MIN, -1, 0, 7, i64::MAX]),
            0..3_000
        ),
        (any::<i64>(), 0usize..3_000, 0i64..1_000).prop_map(|(start, len, step)| {
            (0..len as i64)
                .map(|i| start.wrapping_add(i * step))
                .collect()
        }),
        prop::collection::vec((any::<i64>(), 1usize..200), 0..40).prop_map(|runs| {
            runs.into_iter()
                .flat_map(|(value, len)| std::iter::repeat_n(value, len))
                .collect()
        }),
    ]
}

fn float_values() -> impl Strategy<Value = Vec<f64>> {
    prop_oneof![
        prop::collection::vec(any::<u64>().prop_map(f64::from_bits), 0..3_000),
        prop::collection::vec(
            (-1_000_000i64..1_000_000).prop_map(|v| v as f64 / 100.0),
            0..3_000
        ),
        prop::collection::vec(
            prop::sample::select(vec![
                0.0,
                -0.0,
                f64::NAN,
                f64::from_bits(0x7FF0_0000_0000_0001),
                f64::INFINITY,
                f64::NEG_INFINITY,
                f64::from_bits(1),
                0.1,
            ]),
            0..3_000
        ),
        prop::collection::vec(any::<f32>().prop_map(f64::from), 0..3_000),
    ]
}

fn bytes_values() -> impl Strategy<Value = Vec<Vec<u8>>> {
    prop_oneof![
        prop::collection::vec(prop::collection::vec(any::<u8>(), 0..40), 0..2_000),
        prop::collection::vec(
            prop::sample::select(vec![b"".to_vec(), b"a".to_vec(), vec![0xFF; 70]]),
            0..3_000
        ),
        prop::collection::vec("[a-zé日😀]{0,12}".prop_map(String::into_bytes), 0..2_000),
    ]
}

fn validity_for(rows: usize) -> impl Strategy<Value = Option<Vec<bool>>> {
    prop_oneof![
        Just(None),
        Just(Some(vec![false; rows])),
        prop::collection::vec(any::<bool>(), rows).prop_map(Some),
        prop::collection::vec(prop::bool::weighted(0.02), rows).prop_map(Some),
    ]
}

fn with_validity(values: ColumnValues) -> impl Strategy<Value = (ColumnValues, Option<Vec<bool>>)> {
    let rows = values.len();
    validity_for(rows).prop_map(move |validity| (values.clone(), validity))
}

fn assert_block_round_trip(
    logical: LogicalType,
    values: ColumnValues,
    validity: Option<Vec<bool>>,
) {
    let column = Column::new(logical, values, validity).unwrap();
    round_trip_block(&column, "property");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn random_int_columns_round_trip(
        (values, validity) in int_values().prop_map(ColumnValues::Int).prop_flat_map(with_validity),
        unsigned in any::<bool>(),
    ) {
        let logical = if unsigned { LogicalType::UInt64 } else { LogicalType::Int64 };
        assert_block_round_trip(logical, values, validity);
    }

    #[test]
    fn random_narrow_int_columns_round_trip(values in prop::collection::vec(any::<i16>(), 0..3_000)) {
        let values = ColumnValues::Int(values.into_iter().map(i64::from).collect());
        assert_block_round_trip(LogicalType::Int16, values, None);
    }

    #[test]
    fn random_float_columns_round_trip(
        (values, validity) in float_values().prop_map(ColumnValues::Float).prop_flat_map(with_validity),
    ) {
        assert_block_round_trip(LogicalType::Float64, values, validity);
    }

    #[test]
    fn random_decimal_columns_round_trip(
        values in prop::collection::vec(
            prop_oneof![any::<i64>().prop_map(i128::from), -(10i128.pow(38) - 1)..10i128.pow(38)],
            0..2_000,
        ),
    ) {
        let logical = LogicalType::Decimal128 { precision: 38, scale: 2 };
        assert_block_round_trip(logical, ColumnValues::Decimal(values), None);
    }

    #[test]
    fn random_bool_columns_round_trip(
        (values, validity) in prop_oneof![
            prop::collection::vec(any::<bool>(), 0..4_000),
            prop::collection::vec(prop::bool::weighted(0.01), 0..4_000),
        ].prop_map(ColumnValues::Bool).prop_flat_map(with_validity),
    ) {
        assert_block_round_trip(LogicalType::Boolean, values, validity);
    }

    #[test]
    fn random_bytes_columns_round_trip(
        (values, validity) in bytes_values()
            .prop_map(|values| ColumnValues::Bytes(
                BytesColumn::from_values(values.iter().map(Vec::as_slice)).unwrap(),
            ))
            .prop_flat_map(with_validity),
    ) {
        assert_block_round_trip(LogicalType::Binary, values, validity);
    }

    #[test]
    fn random_text_columns_round_trip(values in prop::collection::vec(".{0,20}", 0..2_000)) {
        let values = ColumnValues::Bytes(
            BytesColumn::from_values(values.iter().map(String::as_bytes)).unwrap(),
        );
        assert_block_round_trip(LogicalType::Utf8, values, None);
    }

    #[test]
    fn random_values_round_trip_through_every_int_scheme(values in int_values(), depth in 0u8..=3) {
        let compressor = Compressor::default();
        for &scheme in <IntKind as ValueKind>::schemes() {
            let mut out = Vec::new();
            match compressor.encode_with(scheme, values.as_slice(), depth, &mut out) {
                Ok(_) => {}
                Err(CodecError::NotApplicable { .. }) => continue,
                Err(error) => panic!("{}: {error}", scheme.name()),
            }
            prop_assert_eq!(&decode_all::<IntKind>(&out, values.len()), &values, "{}", scheme.name());
        }
    }

    #[test]
    fn random_values_round_trip_through_every_float_scheme(values in float_values(), depth in 0u8..=3) {
        let compressor = Compressor::default();
        for &scheme in <FloatKind as ValueKind>::schemes() {
            let mut out = Vec::new();
            match compressor.encode_with(scheme, values.as_slice(), depth, &mut out) {
                Ok(_) => {}
                Err(CodecError::NotApplicable { .. }) => continue,
                Err(error) => panic!("{}: {error}", scheme.name()),
            }
            let decoded = decode_all::<FloatKind>(&out, values.len());
            prop_assert!(decoded.same_as(values.as_slice()), "{}", scheme.name());
        }
    }
}
