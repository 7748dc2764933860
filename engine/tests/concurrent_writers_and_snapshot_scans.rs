//! Several threads insert batches into one table through one shared `Db` while others scan:
//! every scan sees each batch whole or not at all (one `WriteBatch` per insert, one snapshot
//! per scan), sequence numbers never collide, and every acknowledged row is there at the end.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test fails by panicking; its helpers outside #[test] functions too"
)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use arrow::array::{Int64Array, RecordBatch};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use tessera::{Db, Options, ScanRequest, TableOptions};

const WRITERS: i64 = 3;
const BATCHES_PER_WRITER: i64 = 40;
const ROWS_PER_BATCH: i64 = 25;

fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("batch", DataType::Int64, false),
    ]))
}

fn batch(writer: i64, number: i64) -> RecordBatch {
    let batch_id = writer * 1_000 + number;
    let first = batch_id * ROWS_PER_BATCH;
    RecordBatch::try_new(
        schema(),
        vec![
            Arc::new(Int64Array::from_iter_values(first..first + ROWS_PER_BATCH)),
            Arc::new(Int64Array::from_iter_values(std::iter::repeat_n(
                batch_id,
                ROWS_PER_BATCH as usize,
            ))),
        ],
    )
    .unwrap()
}

/// Rows per batch id in a scan.
fn rows_per_batch(db: &Db) -> BTreeMap<i64, i64> {
    let result = db.table("t").unwrap().scan(ScanRequest::default()).unwrap();
    let mut counts = BTreeMap::new();
    for batch in &result.batches {
        let ids = batch
            .column(1)
            .as_any()
            .downcast_ref::<Int64Array>()
            .unwrap();
        for id in ids.values() {
            *counts.entry(*id).or_insert(0) += 1;
        }
    }
    counts
}

#[test]
fn scans_see_whole_batches_while_writers_run() {
    let directory = tempfile::tempdir().unwrap();
    let db = Arc::new(Db::open(directory.path(), Options::default()).unwrap());
    db.create_table(
        "t",
        schema(),
        TableOptions {
            primary_key: vec!["id".into()],
        },
    )
    .unwrap();
    let done = Arc::new(AtomicBool::new(false));

    let reader = {
        let (db, done) = (Arc::clone(&db), Arc::clone(&done));
        std::thread::spawn(move || {
            let mut scans = 0;
            while !done.load(Ordering::SeqCst) || scans == 0 {
                for (batch_id, rows) in rows_per_batch(&db) {
                    assert_eq!(rows, ROWS_PER_BATCH, "batch {batch_id} seen in part");
                }
                scans += 1;
            }
            scans
        })
    };
    let writers: Vec<_> = (0..WRITERS)
        .map(|writer| {
            let db = Arc::clone(&db);
            std::thread::spawn(move || {
                let table = db.table("t").unwrap();
                for number in 0..BATCHES_PER_WRITER {
                    table.insert(&batch(writer, number)).unwrap();
                }
            })
        })
        .collect();
    for writer in writers {
        writer.join().unwrap();
    }
    done.store(true, Ordering::SeqCst);
    assert!(reader.join().unwrap() > 0);

    let counts = rows_per_batch(&db);
    assert_eq!(counts.len() as i64, WRITERS * BATCHES_PER_WRITER);
    assert!(counts.values().all(|&rows| rows == ROWS_PER_BATCH));
}
