//! Golden files for the block format: `tests/golden/*.tsrb` hold blocks encoded from the
//! columns built below. Each must (a) decode to the column it was made from, so blocks
//! already on disk stay readable, and (b) be exactly what encoding that column writes today,
//! so any change to the bytes — the format, a scheme's layout, or the compressor's choice —
//! shows up here as a visible decision instead of slipping through.
//!
//! After an intended format change (bump `BLOCK_FORMAT_VERSION` and keep a reader for the
//! old files when the old format must still be read), regenerate the files with
//!
//! ```text
//! TESSERA_BLESS=1 cargo test -p tessera-codecs --test golden
//! ```
//!
//! and commit them with the change. Without `TESSERA_BLESS=1` the test never writes. Blocks
//! holding zstd frames also change when a new zstd release compresses differently; that is
//! not a format change (old frames still decode, which part (a) checks), so bless them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use tessera_codecs::{
    BLOCK_FORMAT_VERSION, BytesColumn, Column, ColumnValues, Compressor, LogicalType, TimeUnit,
    decode_block, encode_block, read_header,
};

/// One golden block: a file name, the column, and the encoding the compressor chooses for it
/// (the top of its encoding tree, as `EncodedBlock::values` prints it).
struct Golden {
    name: &'static str,
    column: Column,
    encoding: &'static str,
}

/// A fixed linear congruential sequence, so the columns never change.
fn sequence(seed: u64) -> impl Iterator<Item = u64> {
    let mut state = seed;
    std::iter::repeat_with(move || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        state >> 33
    })
}

fn goldens() -> Vec<Golden> {
    let int64_bitpacked = Column::new(
        LogicalType::Int64,
        ColumnValues::Int(
            sequence(1)
                .take(256)
                .map(|v| (v % 4_096) as i64 - 2_000)
                .collect(),
        ),
        None,
    )
    .unwrap();

    let words = ["red", "green", "blue", "日本"];
    let utf8_dictionary = Column::new(
        LogicalType::Utf8,
        ColumnValues::Bytes(
            BytesColumn::from_values(
                sequence(2)
                    .take(200)
                    .map(|v| words[(v % 4) as usize].as_bytes()),
            )
            .unwrap(),
        ),
        Some((0..200).map(|row| row % 7 != 3).collect()),
    )
    .unwrap();

    let float64_alp = Column::new(
        LogicalType::Float64,
        ColumnValues::Float(
            sequence(3)
                .take(300)
                .enumerate()
                .map(|(row, v)| match row {
                    17 => std::f64::consts::PI,
                    101 => f64::NAN,
                    202 => -0.0,
                    _ => (v % 100_000) as f64 / 100.0,
                })
                .collect(),
        ),
        None,
    )
    .unwrap();

    let big = 10i128.pow(30);
    let decimal128 = Column::new(
        LogicalType::Decimal128 {
            precision: 38,
            scale: 6,
        },
        ColumnValues::Decimal(
            sequence(4)
                .take(64)
                .map(|v| i128::from(v % 100_000) * big - big / 2)
                .collect(),
        ),
        Some((0..64).map(|row| row % 5 != 0).collect()),
    )
    .unwrap();

    let decimal128_narrow = Column::new(
        LogicalType::Decimal128 {
            precision: 12,
            scale: 2,
        },
        ColumnValues::Decimal(
            sequence(5)
                .take(100)
                .map(|v| i128::from(v % 1_000_000))
                .collect(),
        ),
        None,
    )
    .unwrap();

    let boolean = Column::new(
        LogicalType::Boolean,
        ColumnValues::Bool(sequence(6).take(100).map(|v| v % 3 == 0).collect()),
        Some((0..100).map(|row| row != 50).collect()),
    )
    .unwrap();

    let mut instant = 1_700_000_000_000i64;
    let timestamp_tz = Column::new(
        LogicalType::Timestamp {
            unit: TimeUnit::Millisecond,
            timezone: Some("Europe/Paris".into()),
        },
        ColumnValues::Int(
            sequence(7)
                .take(200)
                .map(|v| {
                    instant += 1_000 + (v % 50) as i64;
                    instant
                })
                .collect(),
        ),
        None,
    )
    .unwrap();

    vec![
        Golden {
            name: "int64_bitpacked",
            column: int64_bitpacked,
            encoding: "bitpacked",
        },
        Golden {
            name: "utf8_dictionary_nulls",
            column: utf8_dictionary,
            encoding: "dictionary(values=plain(lengths=bitpacked),codes=bitpacked)",
        },
        Golden {
            name: "float64_alp_exceptions",
            column: float64_alp,
            encoding: "alp(digits=bitpacked,exceptions=bitpacked)",
        },
        Golden {
            name: "decimal128_wide_nulls",
            column: decimal128,
            encoding: "zstd_i128",
        },
        Golden {
            name: "decimal128_narrow",
            column: decimal128_narrow,
            encoding: "bitpacked",
        },
        Golden {
            name: "boolean_nulls",
            column: boolean,
            encoding: "bitmap",
        },
        Golden {
            name: "timestamp_tz",
            column: timestamp_tz,
            encoding: "delta(deltas=bitpacked)",
        },
    ]
}

/// This package's directory, read when the test runs: cargo sets it then, while the one
/// compiled in may be another checkout's that shared the build.
fn package_dir() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from)
}

fn path(name: &str) -> PathBuf {
    package_dir()
        .join("tests")
        .join("golden")
        .join(format!("{name}.tsrb"))
}

fn blessing() -> bool {
    std::env::var("TESSERA_BLESS").is_ok_and(|value| value == "1")
}

/// Floats compared bitwise (the ALP file holds a NaN).
fn assert_same_column(expected: &Column, actual: &Column, name: &str) {
    assert_eq!(expected.logical(), actual.logical(), "{name}");
    assert_eq!(expected.validity(), actual.validity(), "{name}");
    match (expected.values(), actual.values()) {
        (ColumnValues::Float(left), ColumnValues::Float(right)) => {
            let left: Vec<u64> = left.iter().map(|v| v.to_bits()).collect();
            let right: Vec<u64> = right.iter().map(|v| v.to_bits()).collect();
            assert_eq!(left, right, "{name}");
        }
        (left, right) => assert!(left == right, "{name}: values differ"),
    }
}

#[test]
fn golden_blocks_decode_and_encode_byte_for_byte() {
    let compressor = Compressor::default();
    for golden in goldens() {
        let encoded = encode_block(&golden.column, &compressor).unwrap();
        assert_eq!(
            encoded.values.to_string(),
            golden.encoding,
            "{}: the compressor's choice changed",
            golden.name
        );
        let path = path(golden.name);
        if blessing() {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &encoded.bytes).unwrap();
            continue;
        }
        let stored = std::fs::read(&path).unwrap_or_else(|error| {
            panic!(
                "{}: {error}; run with TESSERA_BLESS=1 to create it",
                path.display()
            )
        });
        let header = read_header(&stored).unwrap();
        assert_eq!(header.version, BLOCK_FORMAT_VERSION, "{}", golden.name);
        assert_eq!(header.rows, golden.column.len(), "{}", golden.name);
        let decoded = decode_block(&stored).unwrap_or_else(|error| {
            panic!("{}: stored block no longer reads: {error}", golden.name)
        });
        assert_same_column(&golden.column, &decoded, golden.name);
        assert!(
            encoded.bytes == stored,
            "{}: encoding changed ({} bytes now, {} stored); if intended, regenerate with \
             TESSERA_BLESS=1 and commit the files",
            golden.name,
            encoded.bytes.len(),
            stored.len()
        );
    }
}

#[test]
fn every_golden_file_has_a_column() {
    let names: Vec<String> = goldens()
        .iter()
        .map(|golden| format!("{}.tsrb", golden.name))
        .collect();
    let directory = path("x").parent().unwrap().to_path_buf();
    let mut stray = Vec::new();
    for entry in std::fs::read_dir(&directory).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if name.ends_with(".tsrb") && !names.contains(&name) {
            stray.push(name);
        }
    }
    assert!(stray.is_empty(), "golden files without a column: {stray:?}");
}
