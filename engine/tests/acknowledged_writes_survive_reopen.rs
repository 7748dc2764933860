//! Acknowledged writes survive: closing and reopening the database, and a writer process
//! killed with SIGKILL in the middle of its writes (with the default group commit, the WAL
//! record of an acknowledged write is in the operating system's hands). A directory open in
//! one process cannot be opened by another. Index files a crash left before their
//! ingestion are swept at open.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test fails by panicking; its helpers outside #[test] functions too"
)]

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;

use arrow::array::{Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use common::{Key, Values, batch_cells, keys_batch, model_cells, rows_batch, schema};
use tessera::{Db, Error, Options, ScanRequest, TableOptions};

const CHILD_ENV: &str = "TESSERA_TEST_CHILD_DB";
const CHILD_MODE_ENV: &str = "TESSERA_TEST_CHILD_MODE";

fn log_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("payload", DataType::Utf8, false),
    ]))
}

fn log_batch(first: i64, rows: i64) -> RecordBatch {
    RecordBatch::try_new(
        log_schema(),
        vec![
            Arc::new(Int64Array::from_iter_values(first..first + rows)),
            Arc::new(StringArray::from_iter_values(
                (first..first + rows).map(|id| format!("payload of row {id}")),
            )),
        ],
    )
    .unwrap()
}

#[test]
fn reopen_keeps_every_acknowledged_write_and_the_catalog() {
    let directory = tempfile::tempdir().unwrap();
    let key = |k1: i32| -> Key { (k1, "k".to_owned()) };
    let values = |v: i64| Values {
        v: Some(v),
        f: Some(v as f64 / 2.0),
        s: Some(format!("s{v}")),
        b: Some(v % 2 == 0),
    };
    for sync_writes in [false, true] {
        let options = Options {
            sync_writes,
            ..Options::default()
        };
        let name = format!("t_{sync_writes}");
        {
            let db = Db::open(directory.path(), options.clone()).unwrap();
            let table = db
                .create_table(
                    &name,
                    schema(),
                    TableOptions {
                        primary_key: vec!["k1".into(), "k2".into()],
                    },
                )
                .unwrap();
            let rows: Vec<(Key, Values)> = (0..100).map(|i| (key(i), values(i.into()))).collect();
            table.insert(&rows_batch(&rows)).unwrap();
            // Upsert the first ten, delete the next ten.
            let upserts: Vec<(Key, Values)> = (0..10)
                .map(|i| (key(i), values(1_000 + i64::from(i))))
                .collect();
            table.insert(&rows_batch(&upserts)).unwrap();
            let deleted: Vec<Key> = (10..20).map(key).collect();
            table.delete(&keys_batch(&deleted)).unwrap();
            // A dropped table stays dropped.
            let doomed = db
                .create_table(
                    "doomed",
                    log_schema(),
                    TableOptions {
                        primary_key: vec!["id".into()],
                    },
                )
                .unwrap();
            doomed.insert(&log_batch(0, 5)).unwrap();
            db.drop_table("doomed").unwrap();
        }
        let db = Db::open(directory.path(), options).unwrap();
        assert!(db.tables().contains(&name));
        assert!(!db.tables().contains(&"doomed".to_owned()));
        let table = db.table(&name).unwrap();
        assert_eq!(table.primary_key(), ["k1", "k2"]);
        assert_eq!(table.schema(), schema());
        let expected: Vec<_> = (0..100)
            .filter(|i| !(10..20).contains(i))
            .map(|i| {
                let v = if i < 10 {
                    1_000 + i64::from(i)
                } else {
                    i64::from(i)
                };
                model_cells(&key(i), &values(v))
            })
            .collect();
        let found = table.scan(ScanRequest::default()).unwrap();
        assert_eq!(batch_cells(&found.batches), expected);
        let one = table.get(&keys_batch(&[key(3)])).unwrap().unwrap();
        assert_eq!(
            batch_cells(&[one]),
            vec![model_cells(&key(3), &values(1_003))]
        );
        assert!(table.get(&keys_batch(&[key(15)])).unwrap().is_none());
    }
}

#[test]
fn writes_after_reopen_supersede_writes_before_it() {
    // Sequence numbers continue above the old ones: an upsert after reopen must win.
    let directory = tempfile::tempdir().unwrap();
    {
        let db = Db::open(directory.path(), Options::default()).unwrap();
        let table = db
            .create_table(
                "log",
                log_schema(),
                TableOptions {
                    primary_key: vec!["id".into()],
                },
            )
            .unwrap();
        table.insert(&log_batch(0, 10)).unwrap();
    }
    for round in 0..3 {
        let db = Db::open(directory.path(), Options::default()).unwrap();
        let table = db.table("log").unwrap();
        let batch = RecordBatch::try_new(
            log_schema(),
            vec![
                Arc::new(Int64Array::from(vec![5])),
                Arc::new(StringArray::from(vec![format!("round {round}")])),
            ],
        )
        .unwrap();
        table.insert(&batch).unwrap();
        let found = table
            .get(&log_batch(5, 1).project(&[0]).unwrap())
            .unwrap()
            .unwrap();
        let payload = found
            .column(1)
            .as_any()
            .downcast_ref::<StringArray>()
            .unwrap()
            .value(0)
            .to_owned();
        assert_eq!(payload, format!("round {round}"));
    }
    let db = Db::open(directory.path(), Options::default()).unwrap();
    assert_eq!(
        db.table("log")
            .unwrap()
            .scan(ScanRequest::default())
            .unwrap()
            .num_rows(),
        10
    );
}

/// Runs this test binary again as a child doing `mode` on the database at `path`.
fn child(path: &std::path::Path, mode: &str, test: &str) -> Command {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args([test, "--exact", "--nocapture", "--test-threads", "1"])
        .env(CHILD_ENV, path)
        .env(CHILD_MODE_ENV, mode)
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    command
}

/// The child's side: does nothing unless started by [`child`].
#[test]
fn child_process_entry() {
    let (Some(path), Some(mode)) = (
        std::env::var_os(CHILD_ENV),
        std::env::var_os(CHILD_MODE_ENV),
    ) else {
        return;
    };
    let mut stdout = std::io::stdout();
    match mode.to_str().unwrap() {
        "write" => {
            let db = Db::open(&path, Options::default()).unwrap();
            let table = db.table("log").unwrap();
            for round in 0..100_000i64 {
                table.insert(&log_batch(round * 100, 100)).unwrap();
                writeln!(stdout, "ack {round}").unwrap();
                stdout.flush().unwrap();
            }
        }
        "open" => {
            let outcome = match Db::open(&path, Options::default()) {
                Ok(_) => "opened".to_owned(),
                Err(Error::AlreadyOpen { .. }) => "already open".to_owned(),
                Err(other) => format!("other error: {other}"),
            };
            writeln!(stdout, "outcome {outcome}").unwrap();
        }
        other => panic!("unknown child mode {other}"),
    }
}

#[test]
fn a_writer_killed_with_sigkill_loses_no_acknowledged_write() {
    let directory = tempfile::tempdir().unwrap();
    {
        let db = Db::open(directory.path(), Options::default()).unwrap();
        db.create_table(
            "log",
            log_schema(),
            TableOptions {
                primary_key: vec!["id".into()],
            },
        )
        .unwrap();
    }
    for kill_after in [1usize, 7, 25] {
        let mut writer = child(directory.path(), "write", "child_process_entry")
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(writer.stdout.take().unwrap()).lines();
        let mut acknowledged = 0;
        while acknowledged < kill_after {
            let line = lines.next().expect("the writer ended early").unwrap();
            if let Some(round) = line.strip_prefix("ack ") {
                acknowledged = round.parse::<usize>().unwrap() + 1;
            }
        }
        writer.kill().unwrap(); // SIGKILL: no destructor, no flush runs.
        writer.wait().unwrap();
        let db = Db::open(directory.path(), Options::default()).unwrap();
        let table = db.table("log").unwrap();
        let rows = table.scan(ScanRequest::default()).unwrap().num_rows();
        assert!(
            rows >= acknowledged * 100,
            "{acknowledged} batches acknowledged, {rows} rows after the kill"
        );
        assert_eq!(rows % 100, 0, "a batch is applied whole or not at all");
        let last = log_batch((acknowledged as i64 - 1) * 100 + 99, 1)
            .project(&[0])
            .unwrap();
        assert!(table.get(&last).unwrap().is_some());
    }
}

#[test]
fn a_second_process_cannot_open_an_open_database() {
    let directory = tempfile::tempdir().unwrap();
    let db = Db::open(directory.path(), Options::default()).unwrap();
    let output = child(directory.path(), "open", "child_process_entry")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("outcome already open"), "{stdout}");
    drop(db);
    let output = child(directory.path(), "open", "child_process_entry")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("outcome opened"), "{stdout}");
}

/// Index files a crash left before their ingestion are deleted at open, and index entries
/// ingested by compaction serve point reads after a reopen.
#[test]
fn index_files_left_by_a_crash_are_swept_and_ingested_entries_survive() {
    let directory = tempfile::tempdir().unwrap();
    let options = Options {
        compaction_threads: 0,
        ..Options::default()
    };
    {
        let db = Db::open(directory.path(), options.clone()).unwrap();
        let table = db
            .create_table(
                "log",
                log_schema(),
                TableOptions {
                    primary_key: vec!["id".into()],
                },
            )
            .unwrap();
        table.insert(&log_batch(0, 5_000)).unwrap();
        table.compact().unwrap();
    }
    let waiting = directory.path().join("ingest");
    assert!(
        std::fs::read_dir(&waiting).unwrap().next().is_none(),
        "a finished compaction left files waiting"
    );
    let leftover = waiting.join("4242-7.sst");
    std::fs::write(&leftover, b"half of an index file").unwrap();
    let db = Db::open(directory.path(), options).unwrap();
    assert!(!leftover.exists(), "the leftover index file was not swept");
    let table = db.table("log").unwrap();
    let key = RecordBatch::try_new(
        Arc::new(Schema::new(vec![Field::new("id", DataType::Int64, false)])),
        vec![Arc::new(Int64Array::from(vec![4_321]))],
    )
    .unwrap();
    let row = table
        .get(&key)
        .unwrap()
        .expect("a compacted row after reopen");
    assert_eq!(row.num_rows(), 1);
    assert_eq!(table.stats().unwrap().blocks, 1);
}
