//! Bad input — a wrong schema, a wrong type, an unknown or missing column, a null key, a
//! malformed predicate or projection — is a typed error naming the table and column, and
//! nothing already stored changes.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test fails by panicking; its helpers outside #[test] functions too"
)]

mod common;

use std::sync::Arc;

use arrow::array::{ArrayRef, Int32Array, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use common::{Key, Values, batch_cells, keys_batch, rows_batch, schema};
use tessera::{
    ColumnFilter, Db, Error, Options, Predicate, Range, Scalar, ScanRequest, Table, TableOptions,
    Term,
};

fn setup() -> (tempfile::TempDir, Db, Table) {
    let directory = tempfile::tempdir().unwrap();
    let db = Db::open(directory.path(), Options::default()).unwrap();
    let table = db
        .create_table(
            "orders",
            schema(),
            TableOptions {
                primary_key: vec!["k1".into(), "k2".into()],
            },
        )
        .unwrap();
    let rows: Vec<(Key, Values)> = (0..3)
        .map(|index| {
            (
                (index, "a".to_owned()),
                Values {
                    v: Some(i64::from(index)),
                    f: None,
                    s: Some("kept".into()),
                    b: None,
                },
            )
        })
        .collect();
    table.insert(&rows_batch(&rows)).unwrap();
    (directory, db, table)
}

fn contents(table: &Table) -> Vec<Vec<(String, common::Cell)>> {
    batch_cells(&table.scan(ScanRequest::default()).unwrap().batches)
}

/// Replaces one column of a full batch.
fn with_column(name: &str, field: Field, array: ArrayRef) -> RecordBatch {
    let good = rows_batch(&[(
        (9, "z".into()),
        Values {
            v: None,
            f: None,
            s: None,
            b: None,
        },
    )]);
    let mut fields: Vec<Field> = good
        .schema()
        .fields()
        .iter()
        .map(|f| f.as_ref().clone())
        .collect();
    let mut columns = good.columns().to_vec();
    let index = good.schema().index_of(name).unwrap();
    fields[index] = field;
    columns[index] = array;
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap()
}

#[test]
fn wrong_type_names_table_column_and_both_types() {
    let (_directory, _db, table) = setup();
    let before = contents(&table);
    let batch = with_column(
        "v",
        Field::new("v", DataType::Int32, true),
        Arc::new(Int32Array::from(vec![Some(1)])),
    );
    let error = table.insert(&batch).unwrap_err();
    match &error {
        Error::ColumnTypeMismatch {
            table,
            column,
            expected,
            actual,
        } => {
            assert_eq!((table.as_str(), column.as_str()), ("orders", "v"));
            assert_eq!((expected.as_str(), actual.as_str()), ("Int64", "Int32"));
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(error.to_string().contains("\"v\""), "{error}");
    assert_eq!(contents(&table), before);
}

#[test]
fn unknown_and_missing_columns_are_named() {
    let (_directory, _db, table) = setup();
    let before = contents(&table);
    let renamed = with_column(
        "v",
        Field::new("w", DataType::Int64, true),
        Arc::new(Int64Array::from(vec![Some(1)])),
    );
    assert!(matches!(
        table.insert(&renamed),
        Err(Error::UnknownColumn { table, column }) if table == "orders" && column == "w"
    ));
    // A batch without `s` and `b`.
    let good = rows_batch(&[(
        (9, "z".into()),
        Values {
            v: None,
            f: None,
            s: None,
            b: None,
        },
    )]);
    let partial = good.project(&[0, 1, 2, 3]).unwrap();
    assert!(matches!(
        table.insert(&partial),
        Err(Error::MissingColumn { column, .. }) if column == "s"
    ));
    // Deleting by a batch without the second key column.
    let half_key = keys_batch(&[(0, "a".into())]).project(&[0]).unwrap();
    assert!(matches!(
        table.delete(&half_key),
        Err(Error::MissingColumn { column, .. }) if column == "k2"
    ));
    // The same column twice.
    let twice = RecordBatch::try_new(
        Arc::new(Schema::new(vec![
            Field::new("k1", DataType::Int32, false),
            Field::new("k2", DataType::Utf8, false),
            Field::new("k1", DataType::Int32, false),
        ])),
        vec![
            Arc::new(Int32Array::from(vec![0])),
            Arc::new(StringArray::from(vec!["a"])),
            Arc::new(Int32Array::from(vec![1])),
        ],
    )
    .unwrap();
    assert!(matches!(
        table.delete(&twice),
        Err(Error::DuplicateColumn { column, .. }) if column == "k1"
    ));
    assert_eq!(contents(&table), before);
}

#[test]
fn a_null_key_names_the_column_and_row_and_stores_nothing_of_the_batch() {
    let (_directory, _db, table) = setup();
    let before = contents(&table);
    let good = rows_batch(&[
        (
            (7, "ok".into()),
            Values {
                v: None,
                f: None,
                s: None,
                b: None,
            },
        ),
        (
            (8, "ok".into()),
            Values {
                v: None,
                f: None,
                s: None,
                b: None,
            },
        ),
    ]);
    // The batch schema declares k2 nullable so that Arrow accepts the null.
    let mut fields: Vec<Field> = good
        .schema()
        .fields()
        .iter()
        .map(|f| f.as_ref().clone())
        .collect();
    fields[1] = Field::new("k2", DataType::Utf8, true);
    let mut columns = good.columns().to_vec();
    columns[1] = Arc::new(StringArray::from(vec![Some("ok"), None]));
    let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap();
    let error = table.insert(&batch).unwrap_err();
    assert!(
        matches!(&error, Error::NullNotAllowed { table, column, row } | Error::NullKey { table, column, row }
            if table == "orders" && column == "k2" && *row == 1),
        "{error:?}"
    );
    assert!(error.to_string().contains("row 1"), "{error}");
    // Row 0 of the batch was valid, and still is not stored: the batch is all or nothing.
    assert_eq!(contents(&table), before);
    assert!(
        table
            .get(&keys_batch(&[(7, "ok".into())]))
            .unwrap()
            .is_none()
    );
}

#[test]
fn a_null_in_a_nullable_key_column_is_a_null_key_error() {
    let directory = tempfile::tempdir().unwrap();
    let db = Db::open(directory.path(), Options::default()).unwrap();
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, true),
        Field::new("x", DataType::Int64, true),
    ]));
    let table = db
        .create_table(
            "nullable_key",
            schema.clone(),
            TableOptions {
                primary_key: vec!["id".into()],
            },
        )
        .unwrap();
    let batch = RecordBatch::try_new(
        schema,
        vec![
            Arc::new(Int64Array::from(vec![Some(1), None, Some(3)])),
            Arc::new(Int64Array::from(vec![Some(1), Some(2), Some(3)])),
        ],
    )
    .unwrap();
    assert!(matches!(
        table.insert(&batch),
        Err(Error::NullKey { table, column, row }) if table == "nullable_key" && column == "id" && row == 1
    ));
    assert_eq!(table.scan(ScanRequest::default()).unwrap().num_rows(), 0);
}

#[test]
fn bad_scans_and_gets_are_typed_errors() {
    let (_directory, _db, table) = setup();
    let unknown = table.scan(ScanRequest {
        projection: Some(vec!["nope".into()]),
        ..ScanRequest::default()
    });
    assert!(matches!(unknown, Err(Error::UnknownColumn { column, .. }) if column == "nope"));
    let filter_on_unknown = table.scan(ScanRequest {
        predicate: Predicate::all().and(ColumnFilter {
            column: "zz".into(),
            terms: vec![Term::IsNull],
        }),
        ..ScanRequest::default()
    });
    assert!(
        matches!(filter_on_unknown, Err(Error::UnknownColumn { column, .. }) if column == "zz")
    );
    let wrong_kind = table.scan(ScanRequest {
        predicate: Predicate::all().and(ColumnFilter {
            column: "v".into(),
            terms: vec![Term::Range(Range::point(Scalar::Bytes(b"1".to_vec())))],
        }),
        ..ScanRequest::default()
    });
    assert!(
        matches!(wrong_kind, Err(Error::PredicateTypeMismatch { column, .. }) if column == "v")
    );
    let twice = table.scan(ScanRequest {
        projection: Some(vec!["v".into(), "v".into()]),
        ..ScanRequest::default()
    });
    assert!(matches!(twice, Err(Error::DuplicateColumn { .. })));
    let two_keys = table.get(&keys_batch(&[(0, "a".into()), (1, "a".into())]));
    assert!(matches!(two_keys, Err(Error::KeyRowCount { rows: 2, .. })));
    let found = table.get(&keys_batch(&[(1, "a".into())])).unwrap().unwrap();
    assert_eq!(found.num_rows(), 1);
}

#[test]
fn bad_table_definitions_and_names_are_typed_errors() {
    let (_directory, db, _table) = setup();
    let options = |key: &[&str]| TableOptions {
        primary_key: key.iter().map(|k| k.to_string()).collect(),
    };
    assert!(matches!(
        db.create_table("orders", schema(), options(&["k1"])),
        Err(Error::TableExists { table }) if table == "orders"
    ));
    assert!(matches!(
        db.create_table("other", schema(), options(&["missing"])),
        Err(Error::UnknownColumn { column, .. }) if column == "missing"
    ));
    assert!(matches!(
        db.create_table("other", schema(), options(&[])),
        Err(Error::InvalidTable { .. })
    ));
    let time = Arc::new(Schema::new(vec![Field::new(
        "t",
        DataType::Time64(arrow::datatypes::TimeUnit::Microsecond),
        false,
    )]));
    assert!(matches!(
        db.create_table("other", time, options(&["t"])),
        Err(Error::UnsupportedKeyType { column, .. }) if column == "t"
    ));
    assert!(matches!(db.table("absent"), Err(Error::TableNotFound { table }) if table == "absent"));
    assert!(matches!(
        db.drop_table("absent"),
        Err(Error::TableNotFound { .. })
    ));
    assert_eq!(db.tables(), ["orders"]);
}

#[test]
fn a_dropped_table_is_gone_for_every_handle_and_its_rows_do_not_reappear() {
    let (_directory, db, table) = setup();
    db.drop_table("orders").unwrap();
    assert!(matches!(
        table.scan(ScanRequest::default()),
        Err(Error::TableNotFound { .. })
    ));
    assert!(matches!(
        table.insert(&rows_batch(&[(
            (1, "a".into()),
            Values {
                v: None,
                f: None,
                s: None,
                b: None
            }
        )])),
        Err(Error::TableNotFound { .. })
    ));
    assert!(db.tables().is_empty());
    // A new table of the same name starts empty (a new id, so no old keys show through).
    let again = db
        .create_table(
            "orders",
            schema(),
            TableOptions {
                primary_key: vec!["k1".into(), "k2".into()],
            },
        )
        .unwrap();
    assert_eq!(again.scan(ScanRequest::default()).unwrap().num_rows(), 0);
}
