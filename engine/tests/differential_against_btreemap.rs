//! Differential test: random sequences of inserts (with upserts and repeated keys in one
//! batch), deletes, point reads, scans with random predicates, projections and limits,
//! compactions into blocks (so rows live in blocks, in delta, or in both with the newer
//! version in delta) and close + reopen, checked after every step against a `BTreeMap`
//! model of the table. Scans return compacted rows before delta rows, so rows are compared
//! as multisets; with a limit, the rows returned must be that many of the matching ones.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test fails by panicking; its helpers outside #[test] functions too"
)]

mod common;

use std::collections::BTreeMap;
use std::ops::Bound;

use common::{Cell, Key, Values, batch_cells, keys_batch, model_cells, rows_batch, schema};
use proptest::prelude::*;
use tessera::{
    ColumnFilter, Db, LayoutChoice, Options, Predicate, Range, Scalar, ScanRequest, TableOptions,
    Term,
};

#[derive(Debug, Clone)]
enum Op {
    Insert(Vec<(Key, Values)>),
    Delete(Vec<Key>),
    Get(Key),
    Scan {
        predicate: Predicate,
        projection: Option<Vec<String>>,
        limit: Option<usize>,
    },
    Reopen,
    Compact,
    Relayout(LayoutChoice),
}

fn key() -> impl Strategy<Value = Key> {
    (
        prop_oneof![Just(i32::MIN), Just(-1), 0..6i32, Just(i32::MAX)],
        prop_oneof![
            Just(String::new()),
            Just("a".to_owned()),
            Just("a\0".to_owned()),
            Just("ab".to_owned()),
            Just("é".to_owned()),
        ],
    )
}

fn float() -> impl Strategy<Value = f64> + Clone {
    prop_oneof![
        Just(0.0),
        Just(-0.0),
        Just(f64::NAN),
        Just(1.5),
        Just(-2.25),
        Just(f64::INFINITY),
        -10.0..10.0f64
    ]
}

fn values() -> impl Strategy<Value = Values> {
    (
        proptest::option::of(-5i64..5),
        proptest::option::of(float()),
        proptest::option::of(prop_oneof![
            Just("x".to_owned()),
            Just("y".to_owned()),
            Just(String::new()),
            "[a-z]{0,3}"
        ]),
        proptest::option::of(any::<bool>()),
    )
        .prop_map(|(v, f, s, b)| Values { v, f, s, b })
}

fn bound<T: Clone + std::fmt::Debug + 'static>(
    value: impl Strategy<Value = T> + Clone + 'static,
) -> impl Strategy<Value = Bound<T>> {
    prop_oneof![
        Just(Bound::Unbounded),
        value.clone().prop_map(Bound::Included),
        value.prop_map(Bound::Excluded),
    ]
}

fn range<T: Clone + std::fmt::Debug + 'static>(
    value: impl Strategy<Value = T> + Clone + 'static,
    scalar: fn(T) -> Scalar,
) -> impl Strategy<Value = Term> {
    (bound(value.clone()), bound(value)).prop_map(move |(low, high)| {
        Term::Range(Range {
            low: low.map(scalar),
            high: high.map(scalar),
        })
    })
}

fn filter() -> impl Strategy<Value = ColumnFilter> {
    let null_terms = prop_oneof![Just(Term::IsNull), Just(Term::IsNotNull)];
    let terms_on = |column: &'static str, term: BoxedStrategy<Term>| {
        proptest::collection::vec(term, 0..3).prop_map(move |terms| ColumnFilter {
            column: column.to_owned(),
            terms,
        })
    };
    prop_oneof![
        terms_on("k1", range(-2i64..7, Scalar::Int).boxed()),
        terms_on(
            "k2",
            range(
                prop_oneof![Just(""), Just("a"), Just("a\0"), Just("b")],
                |text: &str| { Scalar::Bytes(text.as_bytes().to_vec()) }
            )
            .boxed()
        ),
        terms_on(
            "v",
            prop_oneof![range(-6i64..6, Scalar::Int), null_terms.clone()].boxed()
        ),
        terms_on(
            "f",
            prop_oneof![range(float(), Scalar::Float), null_terms.clone()].boxed()
        ),
        terms_on(
            "s",
            prop_oneof![
                range(prop_oneof![Just(""), Just("x"), Just("m")], |text: &str| {
                    Scalar::Bytes(text.as_bytes().to_vec())
                }),
                null_terms.clone()
            ]
            .boxed()
        ),
        terms_on(
            "b",
            prop_oneof![
                any::<bool>().prop_map(|b| Term::Range(Range::point(Scalar::Bool(b)))),
                null_terms
            ]
            .boxed()
        ),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => proptest::collection::vec((key(), values()), 0..6).prop_map(Op::Insert),
        2 => proptest::collection::vec(key(), 0..4).prop_map(Op::Delete),
        2 => key().prop_map(Op::Get),
        3 => (
            proptest::collection::vec(filter(), 0..3),
            proptest::option::of(proptest::sample::subsequence(common::COLUMNS.to_vec(), 0..=6)),
            proptest::option::of(0usize..8),
        )
            .prop_map(|(filters, projection, limit)| Op::Scan {
                predicate: Predicate { filters },
                projection: projection
                    .map(|names| names.into_iter().map(str::to_owned).collect()),
                limit,
            }),
        1 => Just(Op::Reopen),
        2 => Just(Op::Compact),
        1 => prop_oneof![
            Just(LayoutChoice::InsertionOrder),
            Just(LayoutChoice::Sorted(vec!["v".to_owned(), "k1".to_owned()])),
            Just(LayoutChoice::Sorted(vec!["s".to_owned()])),
            Just(LayoutChoice::ZOrder(vec!["v".to_owned(), "f".to_owned()])),
            Just(LayoutChoice::Hilbert(vec!["k1".to_owned(), "s".to_owned()])),
            Just(LayoutChoice::Learned),
        ]
        .prop_map(Op::Relayout),
    ]
}

/// The scalar a model cell is to the predicate (the codec layer's physical domain).
fn scalar(cell: &Cell) -> Option<Scalar> {
    match cell {
        Cell::Null => None,
        Cell::Int(value) => Some(Scalar::Int(*value)),
        Cell::FloatBits(bits) => Some(Scalar::Float(f64::from_bits(*bits))),
        Cell::Text(text) => Some(Scalar::Bytes(text.as_bytes().to_vec())),
        Cell::Bool(value) => Some(Scalar::Bool(*value)),
    }
}

fn run(ops: Vec<Op>) {
    let directory = tempfile::tempdir().unwrap();
    let mut db = Db::open(directory.path(), Options::default()).unwrap();
    let options = TableOptions {
        primary_key: vec!["k1".to_owned(), "k2".to_owned()],
    };
    let mut table = db.create_table("t", schema(), options).unwrap();
    let mut model: BTreeMap<Key, Values> = BTreeMap::new();

    for (step, op) in ops.into_iter().enumerate() {
        match op {
            Op::Insert(rows) => {
                table.insert(&rows_batch(&rows)).unwrap();
                for (key, values) in rows {
                    model.insert(key, values);
                }
            }
            Op::Delete(keys) => {
                table.delete(&keys_batch(&keys)).unwrap();
                for key in keys {
                    model.remove(&key);
                }
            }
            Op::Get(key) => {
                let found = table.get(&keys_batch(std::slice::from_ref(&key))).unwrap();
                let expected = model
                    .get(&key)
                    .map(|values| vec![model_cells(&key, values)]);
                let found = found.map(|batch| batch_cells(&[batch]));
                assert_eq!(found, expected, "step {step}: get {key:?}");
            }
            Op::Scan {
                predicate,
                projection,
                limit,
            } => {
                let result = table
                    .scan(ScanRequest {
                        projection: projection.clone(),
                        predicate: predicate.clone(),
                        limit,
                    })
                    .unwrap();
                let mut expected: Vec<Vec<(String, Cell)>> = model
                    .iter()
                    .map(|(key, values)| model_cells(key, values))
                    .filter(|cells| {
                        let scalars: Vec<(String, Option<Scalar>)> = cells
                            .iter()
                            .map(|(name, cell)| (name.clone(), scalar(cell)))
                            .collect();
                        predicate.matches(|column| {
                            scalars
                                .iter()
                                .find(|(name, _)| name == column)
                                .and_then(|(_, value)| value.as_ref())
                        })
                    })
                    .map(|cells| match &projection {
                        None => cells,
                        Some(names) => names
                            .iter()
                            .map(|name| {
                                cells
                                    .iter()
                                    .find(|(column, _)| column == name)
                                    .unwrap()
                                    .clone()
                            })
                            .collect(),
                    })
                    .collect();
                let mut found = batch_cells(&result.batches);
                let wanted = expected.len().min(limit.unwrap_or(usize::MAX));
                assert_eq!(result.num_rows(), wanted, "step {step}: {predicate:?}");
                if !projection.as_ref().is_some_and(Vec::is_empty) {
                    let text = |row: &Vec<(String, Cell)>| format!("{row:?}");
                    found.sort_by_key(text);
                    expected.sort_by_key(text);
                    if limit.is_some() {
                        // Each row found is a distinct matching row.
                        let mut remaining: Vec<String> = expected.iter().map(text).collect();
                        for row in &found {
                            let position = remaining.iter().position(|other| *other == text(row));
                            let position = position.unwrap_or_else(|| {
                                panic!("step {step}: {row:?} does not match {predicate:?}")
                            });
                            remaining.swap_remove(position);
                        }
                    } else {
                        assert_eq!(
                            found, expected,
                            "step {step}: {predicate:?} {projection:?} {limit:?}"
                        );
                    }
                }
                assert_eq!(result.stats.rows_matched, wanted as u64);
                assert!(result.stats.rows_scanned >= result.stats.rows_matched);
                let names: Vec<String> = result
                    .schema
                    .fields()
                    .iter()
                    .map(|field| field.name().clone())
                    .collect();
                let expected_names = projection.unwrap_or_else(|| {
                    common::COLUMNS
                        .iter()
                        .map(|name| name.to_string())
                        .collect()
                });
                assert_eq!(names, expected_names);
            }
            Op::Compact => {
                table.compact().unwrap();
            }
            Op::Relayout(choice) => {
                let report = table.relayout(&choice).unwrap();
                assert_eq!(report.rows, model.len() as u64, "step {step}: {choice:?}");
            }
            Op::Reopen => {
                drop(table);
                drop(db);
                db = Db::open(directory.path(), Options::default()).unwrap();
                assert_eq!(db.tables(), ["t"]);
                table = db.table("t").unwrap();
            }
        }
    }
    // Finally, the whole table agrees with the model.
    let all = table.scan(ScanRequest::default()).unwrap();
    let mut expected: Vec<_> = model
        .iter()
        .map(|(key, values)| model_cells(key, values))
        .collect();
    let mut found = batch_cells(&all.batches);
    found.sort_by_key(|row| format!("{row:?}"));
    expected.sort_by_key(|row| format!("{row:?}"));
    assert_eq!(found, expected);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn random_operations_agree_with_a_btreemap(ops in proptest::collection::vec(op(), 1..60)) {
        run(ops);
    }
}

#[test]
fn scans_cut_batches_and_respect_the_limit_on_many_rows() {
    // Enough rows for several output batches, with upserts of every other key.
    let directory = tempfile::tempdir().unwrap();
    let db = Db::open(directory.path(), Options::default()).unwrap();
    let table = db
        .create_table(
            "t",
            schema(),
            TableOptions {
                primary_key: vec!["k1".into(), "k2".into()],
            },
        )
        .unwrap();
    let rows: Vec<(Key, Values)> = (0..20_000)
        .map(|index| {
            (
                (index, format!("{:03}", index % 7)),
                Values {
                    v: Some(i64::from(index)),
                    f: None,
                    s: None,
                    b: Some(index % 2 == 0),
                },
            )
        })
        .collect();
    table.insert(&rows_batch(&rows)).unwrap();
    let upserts: Vec<(Key, Values)> = rows
        .iter()
        .filter(|((k1, _), _)| k1 % 2 == 0)
        .map(|(key, values)| {
            (
                key.clone(),
                Values {
                    v: values.v.map(|v| -v),
                    ..values.clone()
                },
            )
        })
        .collect();
    table.insert(&rows_batch(&upserts)).unwrap();

    let all = table.scan(ScanRequest::default()).unwrap();
    assert_eq!(all.num_rows(), 20_000);
    assert!(!all.batches.is_empty());
    assert!(
        all.batches
            .iter()
            .all(|batch| batch.num_rows() <= tessera::table::SCAN_BATCH_ROWS)
    );
    assert_eq!(all.stats.rows_scanned, 20_000);
    let negatives = table
        .scan(ScanRequest {
            projection: Some(vec!["v".into()]),
            predicate: Predicate::all().and(ColumnFilter {
                column: "v".into(),
                terms: vec![Term::Range(Range {
                    low: Bound::Unbounded,
                    high: Bound::Excluded(Scalar::Int(0)),
                })],
            }),
            limit: None,
        })
        .unwrap();
    assert_eq!(
        negatives.num_rows(),
        9_999,
        "every even key but 0 was negated"
    );
    // A range on the leading key column reads only that key range.
    let narrowed = table
        .scan(ScanRequest {
            predicate: Predicate::all().and(ColumnFilter {
                column: "k1".into(),
                terms: vec![
                    Term::Range(Range::closed(Scalar::Int(100), Scalar::Int(199))),
                    Term::Range(Range {
                        low: Bound::Excluded(Scalar::Int(150)),
                        high: Bound::Excluded(Scalar::Int(250)),
                    }),
                ],
            }),
            ..ScanRequest::default()
        })
        .unwrap();
    assert_eq!(narrowed.num_rows(), 150);
    assert_eq!(
        narrowed.stats.rows_scanned, 150,
        "only the key range [100, 250) is read"
    );
    let nothing = table
        .scan(ScanRequest {
            predicate: Predicate::all().and(ColumnFilter {
                column: "k1".into(),
                terms: vec![Term::IsNull],
            }),
            ..ScanRequest::default()
        })
        .unwrap();
    assert_eq!((nothing.num_rows(), nothing.stats.rows_scanned), (0, 0));
    let limited = table
        .scan(ScanRequest {
            limit: Some(10_000),
            ..ScanRequest::default()
        })
        .unwrap();
    assert_eq!(limited.num_rows(), 10_000);
    assert_eq!(limited.stats.rows_matched, 10_000);
    assert!(limited.stats.rows_scanned < 20_000);
}
