//! Compaction folds delta into encoded blocks: scans prune blocks by zone map and key range,
//! point reads find compacted rows through the index, upserts and deletes of compacted rows
//! land in deletion vectors, the background compactor runs past its threshold, everything
//! survives a reopen, and a damaged block is a typed error naming the table and block while
//! other tables keep working.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test fails by panicking; its helpers outside #[test] functions too"
)]

mod common;

use std::time::{Duration, Instant};

use common::{Key, Values, batch_cells, keys_batch, model_cells, rows_batch, schema};
use tessera::{
    ColumnFilter, Db, Error, Options, Predicate, Range, Scalar, ScanRequest, ScanResult,
    TableOptions, Term,
};

fn options() -> TableOptions {
    TableOptions {
        primary_key: vec!["k1".into(), "k2".into()],
    }
}

fn no_background() -> Options {
    Options {
        compaction_threads: 0,
        ..Options::default()
    }
}

fn row(index: i32) -> (Key, Values) {
    (
        (index, format!("k{}", index % 3)),
        Values {
            v: Some(i64::from(index) * 10),
            f: (index % 5 != 0).then_some(f64::from(index) / 4.0),
            s: Some(format!("text {}", index % 100)),
            b: Some(index % 2 == 0),
        },
    )
}

fn filter(column: &str, low: i64, high: i64) -> Predicate {
    Predicate::all().and(ColumnFilter {
        column: column.into(),
        terms: vec![Term::Range(Range::closed(
            Scalar::Int(low),
            Scalar::Int(high),
        ))],
    })
}

#[test]
fn compacted_rows_are_pruned_found_replaced_and_deleted() {
    let directory = tempfile::tempdir().unwrap();
    let rows: Vec<(Key, Values)> = (0..150_000).map(row).collect();
    {
        let db = Db::open(directory.path(), no_background()).unwrap();
        let table = db.create_table("t", schema(), options()).unwrap();
        for chunk in rows.chunks(10_000) {
            table.insert(&rows_batch(chunk)).unwrap();
        }
        let report = table.compact().unwrap();
        assert_eq!(report.rows_written, 150_000);
        assert_eq!(report.blocks_written, 3, "65,536-row blocks");
        assert_eq!(table.compact().unwrap().rows_written, 0, "nothing left");
        let stats = table.stats().unwrap();
        assert_eq!(
            (stats.rows, stats.blocks, stats.compacted_rows),
            (150_000, 3, 150_000)
        );
        assert_eq!(stats.layout_kind, "insertion_order");
        assert_eq!(stats.columns.len(), 6);
        assert!(stats.columns.iter().all(|column| {
            column.bytes > 0
                && column
                    .encodings
                    .iter()
                    .map(|(_, blocks)| blocks)
                    .sum::<u64>()
                    == 3
        }));
        assert!(stats.bytes_on_disk >= stats.columns.iter().map(|c| c.bytes).sum::<u64>());

        let all = table.scan(ScanRequest::default()).unwrap();
        assert_eq!(all.num_rows(), 150_000);
        assert_eq!(all.stats.blocks_total, 3);
        assert_eq!(all.stats.blocks_scanned, 3);
        assert_eq!(all.explain.delta_rows, 0);
        assert!(all.stats.chunks_decoded <= 3 * 6, "{:?}", all.stats);
        let again = table.scan(ScanRequest::default()).unwrap();
        assert_eq!(
            again.stats.chunks_decoded, 0,
            "the cache holds every chunk now"
        );

        let scan = |predicate: Predicate| {
            table
                .scan(ScanRequest {
                    predicate,
                    ..ScanRequest::default()
                })
                .unwrap()
        };
        // Blocks a scan read that returned no row, and the rows it scanned in them.
        let unmatched = |result: &ScanResult| {
            (
                result.explain.blocks_unmatched,
                result.explain.rows_scanned_unmatched,
            )
        };
        // Rows arrive in key order, so a narrow range of v lives in one block.
        let narrow = scan(filter("v", 700_000, 700_100));
        assert_eq!(narrow.num_rows(), 11);
        assert_eq!(narrow.stats.blocks_scanned, 1, "{:?}", narrow.explain);
        assert_eq!(narrow.explain.blocks_pruned, 2);
        assert!(!narrow.explain.encodings_read.is_empty());
        assert_eq!(unmatched(&narrow), (0, 0));
        // What each filter read: an integer's offsets, a string's dictionary codes (100
        // distinct values), a float's values.
        let reads = |result: &ScanResult| {
            (
                result.explain.filters_run,
                result.explain.filters_on_offsets,
                result.explain.filters_on_codes,
            )
        };
        assert_eq!(reads(&narrow), (1, 1, 0));
        let text = scan(Predicate::all().and(ColumnFilter {
            column: "s".into(),
            terms: vec![Term::Range(Range::closed(
                Scalar::Bytes(b"text 7".to_vec()),
                Scalar::Bytes(b"text 7".to_vec()),
            ))],
        }));
        assert_eq!(text.num_rows(), 1_500);
        assert_eq!(reads(&text), (3, 0, 3));
        let floats = scan(Predicate::all().and(ColumnFilter {
            column: "f".into(),
            terms: vec![Term::Range(Range::closed(
                Scalar::Float(1.0),
                Scalar::Float(2.0),
            ))],
        }));
        assert_eq!(reads(&floats), (1, 0, 0), "{:?}", floats.explain);

        // v steps by 10, so [15, 19] lies inside the first block's zone map and holds no
        // row: the block is read for nothing, and explain says so.
        let gap = scan(filter("v", 15, 19));
        assert_eq!(gap.num_rows(), 0);
        assert_eq!(gap.stats.blocks_scanned, 1, "{:?}", gap.explain);
        assert_eq!(unmatched(&gap), (1, 65_536));
        assert_eq!(gap.stats.rows_scanned, 65_536);
        // A match in the second block only: the first, read for nothing, is counted alone.
        let mut spanning = filter("v", 15, 19);
        spanning.filters[0].terms.push(Term::Range(Range::closed(
            Scalar::Int(700_000),
            Scalar::Int(700_000),
        )));
        let spanning = scan(spanning);
        assert_eq!(spanning.num_rows(), 1);
        assert_eq!(spanning.stats.blocks_scanned, 2, "{:?}", spanning.explain);
        assert_eq!(unmatched(&spanning), (1, 65_536));

        // Point reads through the index.
        for index in [0, 65_535, 65_536, 149_999] {
            let (key, values) = row(index);
            let found = table.get(&keys_batch(std::slice::from_ref(&key))).unwrap();
            assert_eq!(
                found.map(|batch| batch_cells(&[batch])),
                Some(vec![model_cells(&key, &values)])
            );
        }
        assert!(
            table
                .get(&keys_batch(&[(7, "nope".to_owned())]))
                .unwrap()
                .is_none()
        );

        // Replace one compacted row, delete another; reads see delta over blocks at once.
        let (replaced_key, mut replaced) = row(10);
        replaced.v = Some(-1);
        table
            .insert(&rows_batch(&[(replaced_key.clone(), replaced.clone())]))
            .unwrap();
        let (deleted_key, _) = row(20);
        table
            .delete(&keys_batch(std::slice::from_ref(&deleted_key)))
            .unwrap();
        let check = |table: &tessera::Table| {
            let found = table
                .get(&keys_batch(std::slice::from_ref(&replaced_key)))
                .unwrap();
            assert_eq!(
                found.map(|batch| batch_cells(&[batch])),
                Some(vec![model_cells(&replaced_key, &replaced)])
            );
            assert!(
                table
                    .get(&keys_batch(std::slice::from_ref(&deleted_key)))
                    .unwrap()
                    .is_none()
            );
            let all = table.scan(ScanRequest::default()).unwrap();
            assert_eq!(all.num_rows(), 149_999);
            let negative = table
                .scan(ScanRequest {
                    predicate: filter("v", -5, -1),
                    ..ScanRequest::default()
                })
                .unwrap();
            assert_eq!(negative.num_rows(), 1);
            let old = table
                .scan(ScanRequest {
                    predicate: filter("v", 100, 100),
                    ..ScanRequest::default()
                })
                .unwrap();
            assert_eq!(old.num_rows(), 0, "the replaced version is gone");
        };
        check(&table);
        // After compaction the old versions are in deletion vectors.
        let report = table.compact().unwrap();
        assert_eq!((report.rows_written, report.rows_deleted), (1, 2));
        check(&table);
        drop(table);
        drop(db);
        let db = Db::open(directory.path(), no_background()).unwrap();
        let reopened = db.table("t").unwrap();
        let cold = reopened.scan(ScanRequest::default()).unwrap();
        assert_eq!(
            cold.stats.chunks_decoded,
            cold.stats.blocks_scanned * 6,
            "a reopened table decodes every chunk it reads, once: {:?}",
            cold.stats
        );
        check(&reopened);
    }
}

#[test]
fn the_background_compactor_folds_delta_past_its_threshold() {
    let directory = tempfile::tempdir().unwrap();
    let db = Db::open(
        directory.path(),
        Options {
            compaction_threshold_bytes: 256 << 10,
            ..Options::default()
        },
    )
    .unwrap();
    let table = db.create_table("t", schema(), options()).unwrap();
    let rows: Vec<(Key, Values)> = (0..40_000).map(row).collect();
    for chunk in rows.chunks(2_000) {
        table.insert(&rows_batch(chunk)).unwrap();
        // Reads stay correct while compactions run.
        assert_eq!(
            table
                .scan(ScanRequest {
                    projection: Some(vec![]),
                    ..ScanRequest::default()
                })
                .unwrap()
                .num_rows(),
            chunk.last().map_or(0, |((k1, _), _)| *k1 as usize + 1)
        );
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let all = table.scan(ScanRequest::default()).unwrap();
        assert_eq!(all.num_rows(), 40_000);
        if all.stats.blocks_total > 0 && all.explain.delta_rows < 40_000 {
            break;
        }
        assert!(Instant::now() < deadline, "no background compaction ran");
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(table);
    drop(db); // Stops the compactor cleanly.
    let db = Db::open(directory.path(), Options::default()).unwrap();
    assert_eq!(
        db.table("t")
            .unwrap()
            .scan(ScanRequest::default())
            .unwrap()
            .num_rows(),
        40_000
    );
}

/// Tables `names` in a new database at `directory`, each given the same 1,000 rows and
/// compacted into blocks; the database is closed again.
fn compacted_tables(directory: &std::path::Path, names: &[&str]) {
    let rows: Vec<(Key, Values)> = (0..1_000).map(row).collect();
    let db = Db::open(directory, no_background()).unwrap();
    for name in names {
        let table = db.create_table(name, schema(), options()).unwrap();
        table.insert(&rows_batch(&rows)).unwrap();
        table.compact().unwrap();
    }
}

/// A key and value of the `blocks` column family, as read past the engine.
type StoredChunk = (Box<[u8]>, Box<[u8]>);

/// The database at `directory` opened as plain RocksDB, to damage what the engine stored.
fn open_raw(directory: &std::path::Path) -> rocksdb::DB {
    let mut rocks_options = rocksdb::Options::default();
    rocks_options.create_if_missing(false);
    let families = rocksdb::DB::list_cf(&rocks_options, directory).unwrap();
    rocksdb::DB::open_cf(&rocks_options, directory, &families).unwrap()
}

/// A chunk that is well formed, its trailer its own checksum, but is not the chunk its block
/// meta describes (a stale or misplaced write) is caught by the meta's copy of the trailer.
#[test]
fn a_well_formed_chunk_that_is_not_the_metas_is_a_typed_error() {
    let directory = tempfile::tempdir().unwrap();
    compacted_tables(directory.path(), &["t"]);
    // Change a byte of the last column's chunk and checksum it anew: it still decodes, or
    // fails to, on its own terms.
    {
        let rocks = open_raw(directory.path());
        let blocks = rocks.cf_handle("blocks").unwrap();
        let (key, value) = rocks
            .iterator_cf(blocks, rocksdb::IteratorMode::End)
            .map(Result::unwrap)
            .next()
            .unwrap();
        let mut other = value.to_vec();
        let payload = other.len() - 4;
        other[payload / 2] ^= 0x01;
        let crc = crc32c::crc32c(&other[..payload]);
        other[payload..].copy_from_slice(&crc.to_le_bytes());
        assert_eq!(crc32c::crc32c(&other), tessera::block::CHUNK_CRC_RESIDUE);
        rocks.put_cf(blocks, key, other).unwrap();
    }
    let db = Db::open(directory.path(), no_background()).unwrap();
    let table = db.table("t").unwrap();
    let error = table.scan(ScanRequest::default()).unwrap_err();
    assert!(
        matches!(&error, Error::CorruptBlock { reason, .. } if reason.contains("not the one")),
        "{error}"
    );
}

#[test]
fn a_damaged_block_is_a_typed_error_and_other_tables_keep_working() {
    let directory = tempfile::tempdir().unwrap();
    compacted_tables(directory.path(), &["damaged", "healthy"]);
    // Flip a byte in the middle of every chunk of the first table (table id 1).
    {
        let rocks = open_raw(directory.path());
        let blocks = rocks.cf_handle("blocks").unwrap();
        let chunks: Vec<StoredChunk> = rocks
            .iterator_cf(blocks, rocksdb::IteratorMode::Start)
            .map(Result::unwrap)
            .filter(|(key, _)| key.starts_with(&1u32.to_be_bytes()))
            .collect();
        assert_eq!(chunks.len(), 6, "one block of six columns");
        for (key, value) in chunks {
            let mut damaged = value.to_vec();
            let middle = damaged.len() / 2;
            damaged[middle] ^= 0x55;
            rocks.put_cf(blocks, key, damaged).unwrap();
        }
    }
    let db = Db::open(directory.path(), no_background()).unwrap();
    let damaged = db.table("damaged").unwrap();
    let error = damaged.scan(ScanRequest::default()).unwrap_err();
    match &error {
        Error::CorruptBlock { table, block, .. } => {
            assert_eq!(table, "damaged");
            assert_eq!(*block, 1);
        }
        other => panic!("expected a corrupt block error, got {other}"),
    }
    assert!(error.to_string().contains("damaged"), "{error}");
    let (key, _) = row(5);
    assert!(matches!(
        damaged.get(&keys_batch(std::slice::from_ref(&key))),
        Err(Error::CorruptBlock { .. })
    ));
    // The other table answers, and the damaged one still takes writes.
    let healthy = db.table("healthy").unwrap();
    assert_eq!(
        healthy.scan(ScanRequest::default()).unwrap().num_rows(),
        1_000
    );
    assert!(healthy.get(&keys_batch(&[key])).unwrap().is_some());
    damaged.insert(&rows_batch(&[row(5_000)])).unwrap();
}

/// A scan on several threads ends where a scan on the calling thread alone ends: at a
/// damaged block it hands on the same batches, in order, and fails with the same error; a
/// sink that fails ends it with the sink's error. Neither leaves the database's scan threads
/// waiting: the next scan answers in full.
#[test]
fn a_parallel_scan_ends_at_a_damaged_block_or_a_failing_sink_as_one_thread_does() {
    let directory = tempfile::tempdir().unwrap();
    let rows: Vec<(Key, Values)> = (0..300_000).map(row).collect();
    {
        let db = Db::open(directory.path(), no_background()).unwrap();
        let table = db.create_table("t", schema(), options()).unwrap();
        for chunk in rows.chunks(50_000) {
            table.insert(&rows_batch(chunk)).unwrap();
        }
        assert_eq!(table.compact().unwrap().blocks_written, 5);
    }
    let open = |scan_threads: usize| {
        Db::open(
            directory.path(),
            Options {
                scan_threads,
                ..no_background()
            },
        )
        .unwrap()
    };
    // Rows handed on before the scan failed, and its error.
    let scan_until_failure = |scan_threads: usize, fail_at_batch: Option<usize>| {
        let db = open(scan_threads);
        let table = db.table("t").unwrap();
        let mut batches = 0usize;
        let mut handed_on: Vec<i32> = Vec::new();
        let error = table
            .scan_into(
                ScanRequest {
                    projection: Some(vec!["k1".into()]),
                    ..ScanRequest::default()
                },
                &mut |batch| {
                    batches += 1;
                    if Some(batches) == fail_at_batch {
                        return Err(Error::Io {
                            operation: "writing the scan's output".into(),
                            source: std::io::Error::other("no space left"),
                        });
                    }
                    let keys = batch
                        .column(0)
                        .as_any()
                        .downcast_ref::<arrow::array::Int32Array>()
                        .unwrap();
                    handed_on.extend(keys.values().iter());
                    Ok(())
                },
            )
            .unwrap_err();
        assert_eq!(
            table
                .scan(ScanRequest::default())
                .map(|r| r.num_rows())
                .ok(),
            fail_at_batch.map(|_| 300_000),
            "{scan_threads} threads: the scan after"
        );
        (handed_on, error.to_string(), batches)
    };
    for threads in [1, 4] {
        let (handed_on, error, batches) = scan_until_failure(threads, Some(2));
        assert_eq!(
            batches, 2,
            "{threads} threads: the sink's error ends the scan"
        );
        assert_eq!(
            handed_on.len(),
            65_536,
            "{threads} threads: the first block"
        );
        assert!(error.contains("no space left"), "{error}");
    }
    // Damage every chunk of the third block in key order, which the scan reads third.
    {
        let rocks = open_raw(directory.path());
        let blocks = rocks.cf_handle("blocks").unwrap();
        let chunks: Vec<StoredChunk> = rocks
            .iterator_cf(blocks, rocksdb::IteratorMode::Start)
            .map(Result::unwrap)
            .collect();
        let mut block_keys: Vec<&[u8]> = chunks
            .iter()
            .map(|(key, _)| &key[..key.len() - 2])
            .collect();
        block_keys.dedup();
        assert_eq!(block_keys.len(), 5);
        let third = block_keys[2].to_vec();
        for (key, value) in chunks.iter().filter(|(key, _)| key.starts_with(&third)) {
            let mut damaged = value.to_vec();
            let middle = damaged.len() / 2;
            damaged[middle] ^= 0x55;
            rocks.put_cf(blocks, key, damaged).unwrap();
        }
    }
    let alone = scan_until_failure(1, None);
    let parallel = scan_until_failure(4, None);
    assert!(alone.1.contains("corrupt block"), "{}", alone.1);
    assert_eq!(
        alone.0.len(),
        2 * 65_536,
        "the two blocks before the damaged one"
    );
    assert!(
        alone.0 == parallel.0,
        "rows handed on before the error differ"
    );
    assert_eq!(alone.1, parallel.1);
}
