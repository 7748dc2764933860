//! Learned sort against the standard library's `sort_unstable` on real TPC-H lineitem
//! columns (scale factor 0.2: 1,200,243 rows), in the physical domain the engine sorts:
//! dates as days since the epoch, prices as cents, keys and quantities as integers.
//!
//! Two shapes per column: sorting the values themselves (`values/…`) and computing the
//! stable permutation a cell is stored in (`permutation/…`, against `sort_unstable` of
//! `(key, row)` pairs, the cheapest stable alternative with the standard library). The
//! learned sort runs twice: `learned_sort` with a [`LearnedSorter`] reused across iterations,
//! as a compaction worker uses it, and `learned_sort_fresh`, which allocates its scratch
//! space on every call (page faults included).
//!
//! ```text
//! cargo bench -p tessera-layout --bench learned_sort
//! ```
#![allow(
    missing_docs,
    reason = "criterion's macros generate undocumented items"
)]
#![allow(
    clippy::unwrap_used,
    reason = "a benchmark on broken setup should fail loudly"
)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use tessera_layout::{LearnedSorter, learned_sort_i64, sort_permutation_i64};
use tpchgen::generators::LineItemGenerator;

/// Scale factor of the generated lineitem table: 1.2 million rows.
const SCALE_FACTOR: f64 = 0.2;

fn lineitem_columns() -> Vec<(&'static str, Vec<i64>)> {
    let mut shipdate = Vec::new();
    let mut partkey = Vec::new();
    let mut extendedprice = Vec::new();
    let mut quantity = Vec::new();
    for row in LineItemGenerator::new(SCALE_FACTOR, 1, 1).iter() {
        shipdate.push(i64::from(row.l_shipdate.to_unix_epoch()));
        partkey.push(row.l_partkey);
        extendedprice.push(row.l_extendedprice.into_inner());
        quantity.push(row.l_quantity);
    }
    vec![
        ("l_shipdate", shipdate),
        ("l_partkey", partkey),
        ("l_extendedprice", extendedprice),
        ("l_quantity", quantity),
    ]
}

fn learned_sort(criterion: &mut Criterion) {
    let columns = lineitem_columns();
    for (name, values) in &columns {
        let mut group = criterion.benchmark_group(format!("values/{name}"));
        group.throughput(Throughput::Elements(values.len() as u64));
        group.sample_size(20);
        group.measurement_time(Duration::from_secs(8));
        group.bench_function("sort_unstable", |bench| {
            bench.iter_batched_ref(
                || values.clone(),
                |data| data.sort_unstable(),
                BatchSize::LargeInput,
            );
        });
        let mut sorter = LearnedSorter::new();
        group.bench_function("learned_sort", |bench| {
            bench.iter_batched_ref(
                || values.clone(),
                |data| sorter.sort_i64(data),
                BatchSize::LargeInput,
            );
        });
        group.bench_function("learned_sort_fresh", |bench| {
            bench.iter_batched_ref(
                || values.clone(),
                |data| learned_sort_i64(data),
                BatchSize::LargeInput,
            );
        });
        group.finish();

        let mut group = criterion.benchmark_group(format!("permutation/{name}"));
        group.throughput(Throughput::Elements(values.len() as u64));
        group.sample_size(20);
        group.measurement_time(Duration::from_secs(8));
        group.bench_function("sort_unstable", |bench| {
            bench.iter(|| {
                let mut pairs: Vec<(i64, u32)> = values.iter().copied().zip(0..).collect();
                pairs.sort_unstable();
                black_box(pairs.into_iter().map(|(_, row)| row).collect::<Vec<u32>>())
            });
        });
        group.bench_function("learned_sort", |bench| {
            bench.iter(|| black_box(sorter.permutation_i64(values).unwrap().len()));
        });
        group.bench_function("learned_sort_fresh", |bench| {
            bench.iter(|| black_box(sort_permutation_i64(values).unwrap()));
        });
        group.finish();
    }
}

criterion_group!(benches, learned_sort);
criterion_main!(benches);
