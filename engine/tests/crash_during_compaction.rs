//! Crash test: a child process writes rounds (inserts of new rows, upserts of rows likely
//! compacted already, deletes) with a tiny compaction threshold, so background and forced
//! compactions run all the time, and reports each acknowledged round on a pipe. The parent
//! kills it with SIGKILL at random moments, reopens the database and checks that the table
//! holds exactly the state after every acknowledged round (plus, possibly, the round in
//! flight), and answers scans and point reads.
//!
//! `crash_kills_in_the_normal_suite` runs 24 kills; the ignored
//! `crash_kills_long_run` runs `TESSERA_CRASH_KILLS` (default 200).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test fails by panicking; its helpers outside #[test] functions too"
)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use arrow::array::{Array, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use tessera::{Db, Options, ScanRequest, TableOptions};

const CHILD_DB: &str = "TESSERA_CRASH_CHILD_DB";
const CHILD_START: &str = "TESSERA_CRASH_CHILD_START";
const ROWS_PER_ROUND: i64 = 50;

fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("round", DataType::Int64, false),
        Field::new("text", DataType::Utf8, true),
    ]))
}

fn child_options() -> Options {
    Options {
        compaction_threshold_bytes: 24 << 10,
        ..Options::default()
    }
}

/// What round `round` does: upsert these `(id, round)` rows, or delete these ids.
enum Round {
    Upsert(Vec<(i64, i64)>),
    Delete(Vec<i64>),
}

fn round(round: i64) -> Round {
    if round % 7 == 6 {
        let base = (round - 3) * ROWS_PER_ROUND;
        return Round::Delete((base + 20..base + 25).collect());
    }
    let base = round * ROWS_PER_ROUND;
    let mut rows: Vec<(i64, i64)> = (base..base + ROWS_PER_ROUND)
        .map(|id| (id, round))
        .collect();
    if round % 3 == 0 && round >= 3 {
        let older = (round - 3) * ROWS_PER_ROUND;
        rows.extend((older..older + 10).map(|id| (id, round)));
    }
    Round::Upsert(rows)
}

fn apply(model: &mut BTreeMap<i64, i64>, index: i64) {
    match round(index) {
        Round::Upsert(rows) => model.extend(rows),
        Round::Delete(ids) => {
            for id in ids {
                model.remove(&id);
            }
        }
    }
}

fn rows_batch(rows: &[(i64, i64)]) -> RecordBatch {
    RecordBatch::try_new(
        schema(),
        vec![
            Arc::new(Int64Array::from_iter_values(rows.iter().map(|row| row.0))),
            Arc::new(Int64Array::from_iter_values(rows.iter().map(|row| row.1))),
            Arc::new(StringArray::from_iter(rows.iter().map(|(id, round)| {
                (id % 4 != 0).then(|| format!("row {id} of round {round}"))
            }))),
        ],
    )
    .unwrap()
}

fn ids_batch(ids: &[i64]) -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![Field::new("id", DataType::Int64, false)]));
    RecordBatch::try_new(schema, vec![Arc::new(Int64Array::from(ids.to_vec()))]).unwrap()
}

/// The child's side: does nothing unless started by the parent.
#[test]
fn crash_child_entry() {
    let (Some(path), Some(start)) = (std::env::var_os(CHILD_DB), std::env::var_os(CHILD_START))
    else {
        return;
    };
    let start: i64 = start.to_str().unwrap().parse().unwrap();
    let db = Db::open(&path, child_options()).unwrap();
    let table = db.table("t").unwrap();
    let mut stdout = std::io::stdout();
    for index in start.. {
        match round(index) {
            Round::Upsert(rows) => table.insert(&rows_batch(&rows)).unwrap(),
            Round::Delete(ids) => table.delete(&ids_batch(&ids)).unwrap(),
        }
        writeln!(stdout, "ack {index}").unwrap();
        stdout.flush().unwrap();
        if index % 10 == 9 {
            table.compact().unwrap();
        }
    }
}

fn table_state(db: &Db) -> BTreeMap<i64, i64> {
    let table = db.table("t").unwrap();
    let result = table.scan(ScanRequest::default()).unwrap();
    let mut state = BTreeMap::new();
    for batch in &result.batches {
        let ids = batch
            .column(0)
            .as_any()
            .downcast_ref::<Int64Array>()
            .unwrap();
        let rounds = batch
            .column(1)
            .as_any()
            .downcast_ref::<Int64Array>()
            .unwrap();
        let texts = batch
            .column(2)
            .as_any()
            .downcast_ref::<StringArray>()
            .unwrap();
        for row in 0..batch.num_rows() {
            let (id, round) = (ids.value(row), rounds.value(row));
            assert_eq!(texts.is_null(row), id % 4 == 0, "text of row {id}");
            assert!(
                state.insert(id, round).is_none(),
                "row {id} returned twice by one scan"
            );
        }
    }
    state
}

/// A small deterministic generator for kill timings.
fn next_random(seed: &mut u64) -> u64 {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    *seed
}

fn run_kills(kills: usize) {
    let directory = tempfile::tempdir().unwrap();
    {
        let db = Db::open(directory.path(), child_options()).unwrap();
        db.create_table(
            "t",
            schema(),
            TableOptions {
                primary_key: vec!["id".into()],
            },
        )
        .unwrap();
    }
    let mut model = BTreeMap::new();
    // Rounds applied to `model`; the child starts from here.
    let mut applied = 0i64;
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    for kill in 0..kills {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "crash_child_entry",
                "--exact",
                "--nocapture",
                "--test-threads",
                "1",
            ])
            .env(CHILD_DB, directory.path())
            .env(CHILD_START, applied.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let wanted = 1 + next_random(&mut seed) % 25;
        let mut acknowledged = applied;
        while acknowledged < applied + wanted as i64 {
            let line = lines.next().expect("the child ended early").unwrap();
            if let Some(index) = line.strip_prefix("ack ") {
                acknowledged = index.parse::<i64>().unwrap() + 1;
            }
        }
        std::thread::sleep(Duration::from_micros(next_random(&mut seed) % 20_000));
        child.kill().unwrap(); // SIGKILL: no destructor, no flush runs.
        // Rounds acknowledged after the sleep count too.
        drop(child.stdout.take());
        for line in lines.map_while(Result::ok) {
            if let Some(index) = line.strip_prefix("ack ") {
                acknowledged = acknowledged.max(index.parse::<i64>().unwrap() + 1);
            }
        }
        child.wait().unwrap();

        let db = Db::open(directory.path(), child_options()).unwrap();
        let state = table_state(&db);
        while applied < acknowledged {
            apply(&mut model, applied);
            applied += 1;
        }
        if state != model {
            // The round in flight may have landed: it is one atomic write.
            let mut with_next = model.clone();
            apply(&mut with_next, applied);
            assert_eq!(
                state,
                with_next,
                "kill {kill}: the table matches neither {applied} nor {} rounds",
                applied + 1
            );
            model = with_next;
            applied += 1;
        }
        // Point reads agree too (through delta or the index).
        let table = db.table("t").unwrap();
        for probe in [
            0,
            applied * ROWS_PER_ROUND / 2,
            applied * ROWS_PER_ROUND - 1,
        ] {
            let found = table.get(&ids_batch(&[probe])).unwrap();
            assert_eq!(
                found.is_some(),
                model.contains_key(&probe),
                "kill {kill}: id {probe}"
            );
        }
    }
    assert!(applied > kills as i64, "the children made progress");
    let db = Db::open(directory.path(), child_options()).unwrap();
    let stats = db.table("t").unwrap().stats().unwrap();
    assert!(stats.blocks > 1, "compactions ran: {stats:?}");
    assert_eq!(stats.rows, model.len() as u64);
}

#[test]
fn crash_kills_in_the_normal_suite() {
    run_kills(24);
}

#[test]
#[ignore = "long: TESSERA_CRASH_KILLS kills (default 200)"]
fn crash_kills_long_run() {
    let kills = std::env::var("TESSERA_CRASH_KILLS")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(200);
    run_kills(kills);
}
