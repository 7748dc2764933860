//! Instance optimization end to end: `Table::optimize` learns a layout from the scans a table
//! served and rewrites the table into it, after which the same scans return the same rows
//! while reading far fewer; automatic re-layout does the same on its own, except on a table
//! whose layout is pinned, and the pin survives a reopen. Scans of such a layout on several
//! threads answer exactly as scans on one do.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test fails by panicking; its helpers outside #[test] functions too"
)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow::array::{Array, Float64Array, Int64Array, RecordBatch};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use tessera::{
    ColumnFilter, Db, LayoutChoice, Options, Predicate, Range, Scalar, ScanExplain, ScanRequest,
    ScanStats, Table, TableOptions, Term,
};

const ROWS: i64 = 300_000;
/// How long a pinned table is watched for a re-layout that must not come.
const PINNED_WAIT: Duration = Duration::from_secs(20);

fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("a", DataType::Int64, false),
        Field::new("b", DataType::Int64, false),
        Field::new("c", DataType::Float64, true),
    ]))
}

/// `a` is a permutation of the ids (arrival order tells nothing about it), `b` follows `a`
/// closely, `c` is independent.
fn value_a(id: i64) -> i64 {
    (id * 7_919 + 13) % ROWS
}

fn load(table: &Table) {
    let schema = schema();
    for start in (0..ROWS).step_by(50_000) {
        let ids: Vec<i64> = (start..(start + 50_000).min(ROWS)).collect();
        let a: Vec<i64> = ids.iter().map(|&id| value_a(id)).collect();
        let b: Vec<i64> = a.iter().map(|&a| a + (a * 31) % 97).collect();
        let c: Vec<Option<f64>> = ids
            .iter()
            .map(|&id| (id % 11 != 0).then_some((id % 1_000) as f64 / 8.0))
            .collect();
        let batch = RecordBatch::try_new(
            Arc::clone(&schema),
            vec![
                Arc::new(Int64Array::from(ids)),
                Arc::new(Int64Array::from(a)),
                Arc::new(Int64Array::from(b)),
                Arc::new(Float64Array::from(c)),
            ],
        )
        .unwrap();
        table.insert(&batch).unwrap();
    }
}

/// Table "t" of `db`, keyed by id, with every row loaded (in delta).
fn create_loaded(db: &Db) -> Table {
    let table = db
        .create_table(
            "t",
            schema(),
            TableOptions {
                primary_key: vec!["id".into()],
            },
        )
        .unwrap();
    load(&table);
    table
}

fn range_on(column: &str, low: i64, high: i64) -> Predicate {
    Predicate::all().and(ColumnFilter {
        column: column.into(),
        terms: vec![Term::Range(Range::closed(
            Scalar::Int(low),
            Scalar::Int(high),
        ))],
    })
}

/// Ranges on `a` of 0.5% selectivity, spread over its domain.
fn workload() -> Vec<Predicate> {
    (0..48)
        .map(|index| {
            let low = (index * 104_729) % (ROWS - 1_500);
            range_on("a", low, low + 1_499)
        })
        .collect()
}

/// The ids a scan returned, sorted, and the rows it read.
fn run(table: &Table, predicate: &Predicate) -> (Vec<i64>, u64) {
    let result = table
        .scan(ScanRequest {
            predicate: predicate.clone(),
            ..ScanRequest::default()
        })
        .unwrap();
    let mut ids: Vec<i64> = result
        .batches
        .iter()
        .flat_map(|batch| {
            let column = batch.column(0);
            let ids = column.as_any().downcast_ref::<Int64Array>().unwrap();
            ids.values().to_vec()
        })
        .collect();
    ids.sort_unstable();
    (ids, result.stats.rows_scanned)
}

/// What a full scan says the predicate matches: the model answer.
fn expected(predicate: &Predicate) -> Vec<i64> {
    let (column, low, high) = match &predicate.filters[0].terms[0] {
        Term::Range(range) => match (&range.low, &range.high) {
            (
                std::ops::Bound::Included(Scalar::Int(low)),
                std::ops::Bound::Included(Scalar::Int(high)),
            ) => (predicate.filters[0].column.as_str(), *low, *high),
            other => panic!("unexpected bounds {other:?}"),
        },
        other => panic!("unexpected term {other:?}"),
    };
    assert_eq!(column, "a");
    (0..ROWS)
        .filter(|&id| (low..=high).contains(&value_a(id)))
        .collect()
}

fn open(path: &std::path::Path, tune_every: u64) -> Db {
    Db::open(
        path,
        Options {
            tune_every,
            relayout_gain: 1.2,
            ..Options::default()
        },
    )
    .unwrap()
}

#[test]
fn optimize_learns_from_served_scans_and_answers_the_same() {
    let directory = tempfile::tempdir().unwrap();
    let db = open(directory.path(), 0);
    let table = create_loaded(&db);
    table.compact().unwrap();
    let queries = workload();
    let mut scanned_before = 0;
    for predicate in &queries {
        let (ids, scanned) = run(&table, predicate);
        assert_eq!(ids, expected(predicate));
        scanned_before += scanned;
    }
    assert_eq!(table.workload().len(), queries.len());

    let report = table.optimize().unwrap();
    assert!(report.relayout.is_some(), "no rewrite: {report:?}");
    assert!(report.after.cost_ns < report.before.cost_ns, "{report:?}");
    let stats = table.stats().unwrap();
    assert_ne!(stats.layout_kind, "insertion_order", "{}", stats.layout);
    assert_eq!(stats.rows, ROWS as u64);
    assert!(!table.relayout_in_progress());

    let mut scanned_after = 0;
    for predicate in &queries {
        let (ids, scanned) = run(&table, predicate);
        assert_eq!(ids, expected(predicate));
        scanned_after += scanned;
    }
    assert!(
        scanned_after * 10 < scanned_before,
        "rows scanned {scanned_before} before optimize, {scanned_after} after ({})",
        stats.layout
    );
}

/// Polls until the table's layout version passes `version`, or gives up after a minute.
fn wait_for_relayout(table: &Table, version: u32) -> bool {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if table.stats().unwrap().layout_version > version && !table.relayout_in_progress() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

#[test]
fn automatic_relayout_follows_the_workload_unless_the_layout_is_pinned() {
    let directory = tempfile::tempdir().unwrap();
    let queries = workload();
    let pinned_version;
    {
        let db = open(directory.path(), 16);
        let table = create_loaded(&db);
        let report = table.pin_layout(&LayoutChoice::InsertionOrder).unwrap();
        pinned_version = report.layout_version;
        assert!(table.layout_pinned());
        for predicate in &queries {
            assert_eq!(run(&table, predicate).0, expected(predicate));
        }
        // Three automatic checks were due. Unpinned, the same checks re-lay the table out
        // within a few seconds (below); pinned, the layout must stay put all that time.
        let deadline = Instant::now() + PINNED_WAIT;
        while Instant::now() < deadline {
            let stats = table.stats().unwrap();
            assert_eq!(stats.layout_version, pinned_version, "{}", stats.layout);
            assert!(stats.layout_pinned);
            std::thread::sleep(Duration::from_millis(100));
        }
        db.flush().unwrap();
    }

    let db = open(directory.path(), 16);
    let table = db.table("t").unwrap();
    assert!(table.layout_pinned(), "the pin did not survive a reopen");
    table.unpin_layout().unwrap();
    assert!(!table.layout_pinned());
    let unpinned = Instant::now();
    for predicate in &queries {
        assert_eq!(run(&table, predicate).0, expected(predicate));
    }
    assert!(
        wait_for_relayout(&table, pinned_version),
        "no automatic re-layout once unpinned: {}",
        table.stats().unwrap().layout
    );
    // The pinned wait above only means something if it outlasts an unpinned re-layout.
    assert!(
        unpinned.elapsed() < PINNED_WAIT,
        "the unpinned re-layout took {:?}, longer than the pinned table was watched",
        unpinned.elapsed()
    );
    let stats = table.stats().unwrap();
    assert_ne!(stats.layout_kind, "insertion_order");
    assert!(!stats.layout_pinned);
    assert!(
        stats.layout_provisional,
        "an automatic re-layout's layout must await its settling check"
    );
    for predicate in &queries {
        assert_eq!(run(&table, predicate).0, expected(predicate));
    }

    // The settling check is still owed after a reopen.
    drop(table);
    drop(db);
    let db = open(directory.path(), 16);
    let table = db.table("t").unwrap();
    assert!(
        table.stats().unwrap().layout_provisional,
        "the provisional mark did not survive a reopen"
    );

    // Once the log renews the optimizer's window of predicates, one more check settles the
    // layout (rewriting it or not); answers stay exact throughout.
    let window = tessera_layout::Constraints::default().workload_max;
    let mut served = 0;
    let deadline = Instant::now() + Duration::from_secs(60);
    while table.layout_provisional() || table.relayout_in_progress() {
        assert!(
            Instant::now() < deadline,
            "not settled after {served} more scans: {}",
            table.stats().unwrap().layout
        );
        // Checks run every 16 scans: the first one past the window settles.
        if served < window + 32 {
            for predicate in &queries {
                assert_eq!(run(&table, predicate).0, expected(predicate));
                served += 1;
            }
        } else {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    assert!(served >= window, "settled after only {served} more scans");
    let stats = table.stats().unwrap();
    assert!(!stats.layout_provisional);
    assert_ne!(stats.layout_kind, "insertion_order");
    for predicate in &queries {
        assert_eq!(run(&table, predicate).0, expected(predicate));
    }
}

/// Every row the test table holds, as scalars in schema order (`c` may be null).
fn model_rows() -> Vec<[Option<Scalar>; 4]> {
    (0..ROWS)
        .map(|id| {
            let a = value_a(id);
            let b = a + (a * 31) % 97;
            let c = (id % 11 != 0).then_some((id % 1_000) as f64 / 8.0);
            [
                Some(Scalar::Int(id)),
                Some(Scalar::Int(a)),
                Some(Scalar::Int(b)),
                c.map(Scalar::Float),
            ]
        })
        .collect()
}

#[test]
fn a_fine_grid_packs_small_cells_into_shared_blocks_and_scans_exactly() {
    use tessera_layout::{DimensionMode, DimensionSpec, GridSpec};
    let directory = tempfile::tempdir().unwrap();
    let db = open(directory.path(), 0);
    let table = create_loaded(&db);
    // 32 × 8 cells of about 1,200 rows each: far smaller than a block.
    let spec = GridSpec {
        sort_column: Some("a".into()),
        dimensions: vec![
            DimensionSpec {
                column: "b".into(),
                partitions: 32,
                mode: DimensionMode::Ranges,
            },
            DimensionSpec {
                column: "c".into(),
                partitions: 8,
                mode: DimensionMode::Ranges,
            },
        ],
        mappings: Vec::new(),
    };
    table.pin_layout(&LayoutChoice::Grid(spec)).unwrap();
    let stats = table.stats().unwrap();
    assert_eq!(stats.rows, ROWS as u64);
    assert!(
        stats.blocks <= 8,
        "{} blocks for 256 small cells: {}",
        stats.blocks,
        stats.layout
    );
    // Deletes leave holes in the runs the scans must respect.
    let deleted: Vec<i64> = (0..ROWS).step_by(997).collect();
    let keys = RecordBatch::try_new(
        Arc::new(Schema::new(vec![Field::new("id", DataType::Int64, false)])),
        vec![Arc::new(Int64Array::from(deleted.clone()))],
    )
    .unwrap();
    table.delete(&keys).unwrap();
    table.compact().unwrap();

    let rows = model_rows();
    let names = ["id", "a", "b", "c"];
    let float_range =
        |low: f64, high: f64| Term::Range(Range::closed(Scalar::Float(low), Scalar::Float(high)));
    let mut state = 11u64;
    let mut next = |limit: i64| {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1);
        ((state >> 33) % limit as u64) as i64
    };
    for round in 0..60 {
        let low = next(ROWS);
        let width = [10, 1_000, 30_000][round % 3];
        let mut predicate = range_on(["a", "b"][round % 2], low, low + width);
        if round % 4 == 1 {
            let low = next(1_000) as f64 / 8.0;
            let mut terms = vec![float_range(low, low + 20.0)];
            if round % 8 == 1 {
                terms.push(Term::IsNull);
            }
            predicate = predicate.and(ColumnFilter {
                column: "c".into(),
                terms,
            });
        }
        if round % 5 == 2 {
            let low = next(ROWS);
            predicate = predicate.and(ColumnFilter {
                column: "a".into(),
                terms: vec![Term::Range(Range::closed(
                    Scalar::Int(low),
                    Scalar::Int(low + 5_000),
                ))],
            });
        }
        let result = table
            .scan(ScanRequest {
                predicate: predicate.clone(),
                ..ScanRequest::default()
            })
            .unwrap();
        let mut got: Vec<i64> = result
            .batches
            .iter()
            .flat_map(|batch| {
                let ids = batch
                    .column(0)
                    .as_any()
                    .downcast_ref::<Int64Array>()
                    .unwrap();
                ids.values().to_vec()
            })
            .collect();
        got.sort_unstable();
        let want: Vec<i64> = rows
            .iter()
            .filter(|row| {
                predicate.matches(|name| {
                    names
                        .iter()
                        .position(|candidate| *candidate == name)
                        .and_then(|index| row[index].as_ref())
                })
            })
            .filter_map(|row| match row[0] {
                Some(Scalar::Int(id)) if id % 997 != 0 => Some(id),
                _ => None,
            })
            .collect();
        assert_eq!(got, want, "round {round}: {predicate:?}");
        // Narrowed within each cell's run: a thin range on the sort column reads few rows.
        if round % 6 == 0 {
            assert!(
                result.stats.rows_scanned < 2_000,
                "round {round}: {} rows scanned for {} matches",
                result.stats.rows_scanned,
                got.len()
            );
        }
    }

    // A filter on `c` alone names one cell in 8 (cell = b's partition × 8 + c's), ranges
    // one cell wide with several to a block: only those cells' runs are read, about an
    // eighth of the rows.
    let thin = table
        .scan(ScanRequest {
            predicate: Predicate::all().and(ColumnFilter {
                column: "c".into(),
                terms: vec![float_range(60.0, 60.0)],
            }),
            ..ScanRequest::default()
        })
        .unwrap();
    let want = (0..ROWS)
        .filter(|id| id % 1_000 == 480 && id % 11 != 0 && id % 997 != 0)
        .count();
    assert_eq!(thin.num_rows(), want);
    assert_eq!(thin.explain.cells_visited, 32, "{:?}", thin.explain);
    assert!(
        thin.stats.rows_scanned <= ROWS as u64 / 6,
        "{} rows scanned in 32 of 256 cells",
        thin.stats.rows_scanned
    );
}

/// Everything a scan gives back, with its timings zeroed (they differ run to run) and its
/// count of chunks decoded (a scan finds the cache as the scans before it left it).
fn scanned_whole(
    table: &Table,
    request: &ScanRequest,
) -> (Vec<RecordBatch>, ScanStats, ScanExplain) {
    let mut result = table.scan(request.clone()).unwrap();
    result.stats.chunks_decoded = 0;
    result.explain.plan_micros = 0;
    result.explain.blocks_micros = 0;
    result.explain.blocks_thread_micros = 0;
    result.explain.delta_micros = 0;
    (result.batches, result.stats, result.explain)
}

/// Scans on several threads hand on the same batches, in the same order, with the same
/// counts, as scans on the calling thread alone: over a learned layout whose blocks hold
/// runs of several cells, with rows deleted and rows replaced in delta; so do scans from
/// several application threads at once, which share the database's scan pool.
#[test]
fn scans_on_several_threads_answer_as_one_thread_does() {
    let directory = tempfile::tempdir().unwrap();
    let mut requests: Vec<ScanRequest> = workload()
        .into_iter()
        .take(12)
        .map(|predicate| ScanRequest {
            predicate,
            ..ScanRequest::default()
        })
        .collect();
    for index in 0..8i64 {
        let low = index * 37_000;
        requests.push(ScanRequest {
            projection: Some(vec!["c".into(), "id".into()]),
            predicate: range_on("a", low, low + 100_000).and(ColumnFilter {
                column: "c".into(),
                terms: vec![Term::Range(Range::closed(
                    Scalar::Float(10.0),
                    Scalar::Float(60.0),
                ))],
            }),
            limit: None,
        });
        requests.push(ScanRequest {
            projection: Some(vec!["b".into()]),
            predicate: Predicate::all().and(ColumnFilter {
                column: "c".into(),
                terms: vec![Term::Range(Range::closed(
                    Scalar::Float(index as f64 * 10.0),
                    Scalar::Float(index as f64 * 10.0 + 2.0),
                ))],
            }),
            limit: None,
        });
    }
    requests.push(ScanRequest::default());
    requests.push(ScanRequest {
        limit: Some(70_000),
        ..ScanRequest::default()
    });
    let open_with = |scan_threads: usize| {
        Db::open(
            directory.path(),
            Options {
                tune_every: 0,
                scan_threads,
                ..Options::default()
            },
        )
        .unwrap()
    };
    // Scanned twice: the second time with every chunk cached, as on the other thread count.
    let answers = |db: &Db| -> Vec<(Vec<RecordBatch>, ScanStats, ScanExplain)> {
        let table = db.table("t").unwrap();
        for request in &requests {
            table.scan(request.clone()).unwrap();
        }
        requests
            .iter()
            .map(|request| scanned_whole(&table, request))
            .collect()
    };
    {
        let db = open_with(4);
        let table = create_loaded(&db);
        table.compact().unwrap();
        for predicate in workload() {
            run(&table, &predicate);
        }
        assert!(table.optimize().unwrap().relayout.is_some());
        // Rows replaced in delta, and rows deleted from blocks.
        let ids: Vec<i64> = (0..ROWS).step_by(97).collect();
        let batch = RecordBatch::try_new(
            schema(),
            vec![
                Arc::new(Int64Array::from(ids.clone())),
                Arc::new(Int64Array::from(
                    ids.iter()
                        .map(|&id| ROWS - 1 - value_a(id))
                        .collect::<Vec<_>>(),
                )),
                Arc::new(Int64Array::from(ids.clone())),
                Arc::new(Float64Array::from(vec![Some(20.0); ids.len()])),
            ],
        )
        .unwrap();
        table.insert(&batch).unwrap();
        let deleted: Vec<i64> = (5..ROWS).step_by(89).collect();
        let keys = RecordBatch::try_new(
            Arc::new(Schema::new(vec![Field::new("id", DataType::Int64, false)])),
            vec![Arc::new(Int64Array::from(deleted))],
        )
        .unwrap();
        table.delete(&keys).unwrap();
    }
    let parallel = answers(&open_with(4));
    let alone = answers(&open_with(1));
    let mut several_blocks = 0;
    for ((request, parallel), alone) in requests.iter().zip(&parallel).zip(&alone) {
        assert_eq!(parallel.1, alone.1, "{request:?}");
        assert_eq!(parallel.2, alone.2, "{request:?}");
        assert!(parallel.0 == alone.0, "batches differ: {request:?}");
        several_blocks += usize::from(parallel.1.blocks_scanned > 1);
    }
    assert!(
        several_blocks >= 16,
        "{several_blocks} scans read several blocks"
    );
    // Scans from several application threads at once share the database's pool: each
    // still answers as a scan on one thread alone does.
    let db = open_with(4);
    let table = db.table("t").unwrap();
    std::thread::scope(|threads| {
        for caller in 0..4 {
            let (table, requests, alone) = (&table, &requests, &alone);
            threads.spawn(move || {
                for round in 0..requests.len() {
                    let index = (round + caller * 7) % requests.len();
                    let answer = scanned_whole(table, &requests[index]);
                    assert_eq!(answer.1, alone[index].1, "caller {caller}");
                    assert_eq!(answer.2, alone[index].2, "caller {caller}");
                    assert!(
                        answer.0 == alone[index].0,
                        "caller {caller}: batches differ"
                    );
                }
            });
        }
    });
}
