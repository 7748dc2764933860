//! Criterion micro-benchmarks of every codec scheme on its own, over 65,536 values of
//! representative data: encode with [`Compressor::encode_with`] (children still chosen
//! automatically) and decode with [`decode_node`], in logical (Arrow layout) bytes per second.
//! `auto` is the compressor's own choice, including the sampling that makes it. Schemes that
//! do not apply to a data set (constant on varying values, …) are skipped.
//!
//! ```text
//! cargo bench -p tessera-benches --bench codecs -- --quick
//! cargo bench -p tessera-benches --bench codecs -- 'int/sorted'
//! ```
#![allow(
    missing_docs,
    reason = "criterion's macros generate undocumented items"
)]
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "a benchmark on broken setup should fail loudly"
)]

use std::borrow::Borrow;
use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tessera_codecs::binary::BytesKind;
use tessera_codecs::boolean::BoolKind;
use tessera_codecs::float::FloatKind;
use tessera_codecs::int::IntKind;
use tessera_codecs::io::Reader;
use tessera_codecs::scheme::decode_node;
use tessera_codecs::{
    BytesColumn, CodecError, Column, ColumnValues, Compressor, LogicalType, ValueKind,
};

/// Values per benchmark: one default block.
const VALUES: usize = 65_536;

/// A decode buffer that can be emptied and reused, so decode timings exclude allocation.
trait Reset {
    fn reset(&mut self);
}

impl<T> Reset for Vec<T> {
    fn reset(&mut self) {
        self.clear();
    }
}

impl Reset for BytesColumn {
    fn reset(&mut self) {
        self.clear();
    }
}

/// Deterministic xorshift, so every run benchmarks the same data.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Ascending keys with small gaps, like `l_orderkey`.
fn sorted_ints() -> Vec<i64> {
    let mut random = Random(0x5EED_0001);
    let mut value = 1_000_000i64;
    (0..VALUES)
        .map(|_| {
            value += (random.next() % 8) as i64;
            value
        })
        .collect()
}

/// Values in 1..=50, like `l_quantity`.
fn small_range_ints() -> Vec<i64> {
    let mut random = Random(0x5EED_0002);
    (0..VALUES)
        .map(|_| 1 + (random.next() % 50) as i64)
        .collect()
}

/// Prices with two decimal digits, like `l_extendedprice` as a double.
fn decimal_like_floats() -> Vec<f64> {
    let mut random = Random(0x5EED_0003);
    (0..VALUES)
        .map(|_| (random.next() % 10_000_000) as f64 / 100.0)
        .collect()
}

/// Seven distinct strings, like `l_shipmode`.
fn low_cardinality_strings() -> BytesColumn {
    const MODES: [&str; 7] = ["REG AIR", "AIR", "RAIL", "SHIP", "TRUCK", "MAIL", "FOB"];
    let mut random = Random(0x5EED_0004);
    let values: Vec<&[u8]> = (0..VALUES)
        .map(|_| MODES[(random.next() % MODES.len() as u64) as usize].as_bytes())
        .collect();
    BytesColumn::from_values(values).unwrap()
}

/// One `true` in 64 on average, like a rarely set flag.
fn sparse_booleans() -> Vec<bool> {
    let mut random = Random(0x5EED_0005);
    (0..VALUES)
        .map(|_| random.next().is_multiple_of(64))
        .collect()
}

/// Bytes the values take in Arrow's layout, as the report binary counts them.
fn logical_bytes(logical: LogicalType, values: ColumnValues) -> u64 {
    Column::new(logical, values, None).unwrap().logical_bytes() as u64
}

/// Benchmarks `auto` and every scheme of kind `K` that applies to `values`.
fn bench_schemes<K: ValueKind>(
    criterion: &mut Criterion,
    group_name: &str,
    values: &K::Values,
    logical_bytes: u64,
) where
    K::Owned: Reset,
    K::Values: PartialEq,
{
    let compressor = Compressor::default();
    let depth = compressor.config().max_depth;
    let count = K::len(values);
    let mut group = criterion.benchmark_group(group_name);
    group.throughput(Throughput::Bytes(logical_bytes));

    let mut auto_encoded = Vec::new();
    compressor
        .encode::<K>(values, depth, &mut auto_encoded)
        .unwrap();
    check_decodes::<K>(&auto_encoded, values, "auto");
    group.bench_function("encode/auto", |bencher| {
        let mut out = Vec::with_capacity(auto_encoded.len());
        bencher.iter(|| {
            out.clear();
            compressor
                .encode::<K>(black_box(values), depth, &mut out)
                .unwrap();
            black_box(&out);
        });
    });
    bench_decode::<K>(&mut group, "decode/auto", &auto_encoded, count);

    for &scheme in K::schemes() {
        let mut encoded = Vec::new();
        match compressor.encode_with::<K>(scheme, values, depth, &mut encoded) {
            Ok(_) => {}
            Err(CodecError::NotApplicable { .. }) => continue,
            Err(error) => panic!("{group_name}: {} failed: {error}", scheme.name()),
        }
        check_decodes::<K>(&encoded, values, scheme.name());
        group.bench_function(format!("encode/{}", scheme.name()), |bencher| {
            let mut out = Vec::with_capacity(encoded.len());
            bencher.iter(|| {
                out.clear();
                compressor
                    .encode_with::<K>(scheme, black_box(values), depth, &mut out)
                    .unwrap();
                black_box(&out);
            });
        });
        bench_decode::<K>(
            &mut group,
            &format!("decode/{}", scheme.name()),
            &encoded,
            count,
        );
    }
    group.finish();
}

/// Fails the run if `encoded` does not decode back to `values`.
fn check_decodes<K: ValueKind>(encoded: &[u8], values: &K::Values, scheme: &str)
where
    K::Values: PartialEq,
{
    let mut decoded = K::Owned::default();
    decode_node::<K>(&mut Reader::new(encoded), K::len(values), 0, &mut decoded).unwrap();
    assert!(decoded.borrow() == values, "{scheme} does not round-trip");
}

fn bench_decode<K: ValueKind>(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    encoded: &[u8],
    count: usize,
) where
    K::Owned: Reset,
{
    group.bench_function(name, |bencher| {
        let mut out = K::Owned::default();
        bencher.iter(|| {
            out.reset();
            let mut reader = Reader::new(black_box(encoded));
            decode_node::<K>(&mut reader, count, 0, &mut out).unwrap();
            black_box(&out);
        });
    });
}

fn integer_schemes(criterion: &mut Criterion) {
    let sorted = sorted_ints();
    let bytes = logical_bytes(LogicalType::Int64, ColumnValues::Int(sorted.clone()));
    bench_schemes::<IntKind>(criterion, "int/sorted", &sorted, bytes);
    let small = small_range_ints();
    let bytes = logical_bytes(LogicalType::Int32, ColumnValues::Int(small.clone()));
    bench_schemes::<IntKind>(criterion, "int/small_range", &small, bytes);
}

fn float_schemes(criterion: &mut Criterion) {
    let floats = decimal_like_floats();
    let bytes = logical_bytes(LogicalType::Float64, ColumnValues::Float(floats.clone()));
    bench_schemes::<FloatKind>(criterion, "float/decimal_like", &floats, bytes);
}

fn string_schemes(criterion: &mut Criterion) {
    let strings = low_cardinality_strings();
    let bytes = logical_bytes(LogicalType::Utf8, ColumnValues::Bytes(strings.clone()));
    bench_schemes::<BytesKind>(criterion, "string/low_cardinality", &strings, bytes);
}

fn boolean_schemes(criterion: &mut Criterion) {
    let booleans = sparse_booleans();
    let bytes = logical_bytes(LogicalType::Boolean, ColumnValues::Bool(booleans.clone()));
    bench_schemes::<BoolKind>(criterion, "bool/sparse", &booleans, bytes);
}

criterion_group! {
    name = codecs;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = integer_schemes, float_schemes, string_schemes, boolean_schemes
}
criterion_main!(codecs);
