//! Fuzz logic for the engine, shared by the cargo-fuzz target `engine_ops` and the test
//! suite: an arbitrary byte string becomes a sequence of inserts (with upserts), deletes,
//! point reads, filtered scans, compactions, re-layouts and reopens on a real database in a
//! temporary directory, each checked against a `BTreeMap` model.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use arrow::array::{Array, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use tessera_layout::{ColumnFilter, LayoutChoice, Predicate, Range, Scalar, Term};

use crate::{Db, Options, ScanRequest, TableOptions};

/// The model of a row: `(v, s)`.
type Row = (Option<i64>, Option<String>);

fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("v", DataType::Int64, true),
        Field::new("s", DataType::Utf8, true),
    ]))
}

fn options() -> Options {
    Options {
        compaction_threads: 0,
        cache_bytes: 8 << 20,
        ..Options::default()
    }
}

/// Reads bytes off the front of the input; zeros once it runs out.
struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn byte(&mut self) -> u8 {
        match self.0.split_first() {
            Some((first, rest)) => {
                self.0 = rest;
                *first
            }
            None => 0,
        }
    }
}

/// A directory removed when dropped.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn scratch() -> Scratch {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let unique = NEXT.fetch_add(1, Ordering::Relaxed);
    Scratch(std::env::temp_dir().join(format!(
        "tessera-engine-ops-{}-{unique}",
        std::process::id()
    )))
}

fn rows_batch(rows: &[(i64, Row)]) -> Result<RecordBatch, String> {
    RecordBatch::try_new(
        schema(),
        vec![
            Arc::new(Int64Array::from_iter_values(rows.iter().map(|row| row.0))),
            Arc::new(Int64Array::from(
                rows.iter().map(|row| row.1.0).collect::<Vec<_>>(),
            )),
            Arc::new(StringArray::from(
                rows.iter()
                    .map(|row| row.1.1.as_deref())
                    .collect::<Vec<_>>(),
            )),
        ],
    )
    .map_err(|error| error.to_string())
}

fn ids_batch(ids: &[i64]) -> Result<RecordBatch, String> {
    let schema = Arc::new(Schema::new(vec![Field::new("id", DataType::Int64, false)]));
    RecordBatch::try_new(schema, vec![Arc::new(Int64Array::from(ids.to_vec()))])
        .map_err(|error| error.to_string())
}

fn read_rows(batches: &[RecordBatch]) -> Result<Vec<(i64, Row)>, String> {
    let mut rows = Vec::new();
    for batch in batches {
        let column = |name: &str| {
            batch
                .column_by_name(name)
                .ok_or_else(|| format!("column {name} missing from a result"))
        };
        let ids = column("id")?
            .as_any()
            .downcast_ref::<Int64Array>()
            .ok_or("id is not Int64")?;
        let values = column("v")?
            .as_any()
            .downcast_ref::<Int64Array>()
            .ok_or("v is not Int64")?;
        let strings = column("s")?
            .as_any()
            .downcast_ref::<StringArray>()
            .ok_or("s is not Utf8")?;
        for row in 0..batch.num_rows() {
            rows.push((
                ids.value(row),
                (
                    (!values.is_null(row)).then(|| values.value(row)),
                    (!strings.is_null(row)).then(|| strings.value(row).to_owned()),
                ),
            ));
        }
    }
    rows.sort_by_key(|row| row.0);
    Ok(rows)
}

/// Runs the operations `data` describes and checks every read against the model. `Err`
/// describes the first disagreement (or an engine error on valid input).
pub fn engine_ops(data: &[u8]) -> Result<(), String> {
    let directory = scratch();
    let mut input = Input(data);
    let fail = |what: &str, error: crate::Error| format!("{what}: {error}");
    let mut db = Db::open(&directory.0, options()).map_err(|error| fail("open", error))?;
    let mut table = db
        .create_table(
            "t",
            schema(),
            TableOptions {
                primary_key: vec!["id".to_owned()],
            },
        )
        .map_err(|error| fail("create", error))?;
    let mut model: BTreeMap<i64, Row> = BTreeMap::new();
    for step in 0..64 {
        if input.0.is_empty() {
            break;
        }
        match input.byte() % 8 {
            0 | 1 => {
                let count = usize::from(input.byte() % 16);
                let rows: Vec<(i64, Row)> = (0..count)
                    .map(|_| {
                        let id = i64::from(input.byte() % 64);
                        let v = match input.byte() {
                            0..=31 => None,
                            byte => Some(i64::from(byte) - 128),
                        };
                        let s = match input.byte() % 5 {
                            0 => None,
                            1 => Some(String::new()),
                            other => Some(format!("s{other}")),
                        };
                        (id, (v, s))
                    })
                    .collect();
                table
                    .insert(&rows_batch(&rows)?)
                    .map_err(|error| fail("insert", error))?;
                model.extend(rows);
            }
            2 => {
                let ids: Vec<i64> = (0..input.byte() % 8)
                    .map(|_| i64::from(input.byte() % 64))
                    .collect();
                table
                    .delete(&ids_batch(&ids)?)
                    .map_err(|error| fail("delete", error))?;
                for id in ids {
                    model.remove(&id);
                }
            }
            3 => {
                let id = i64::from(input.byte() % 64);
                let found = table
                    .get(&ids_batch(&[id])?)
                    .map_err(|error| fail("get", error))?;
                let found = match found {
                    Some(batch) => read_rows(&[batch])?.into_iter().next(),
                    None => None,
                };
                let expected = model.get(&id).map(|row| (id, row.clone()));
                if found != expected {
                    return Err(format!(
                        "step {step}: get {id}: {found:?}, expected {expected:?}"
                    ));
                }
            }
            4 => {
                let low = i64::from(input.byte()) - 128;
                let high = low + i64::from(input.byte() % 64);
                let with_nulls = input.byte() % 2 == 0;
                let mut terms = vec![Term::Range(Range {
                    low: Bound::Included(Scalar::Int(low)),
                    high: Bound::Excluded(Scalar::Int(high)),
                })];
                if with_nulls {
                    terms.push(Term::IsNull);
                }
                let predicate = Predicate::all().and(ColumnFilter {
                    column: "v".to_owned(),
                    terms,
                });
                let result = table
                    .scan(ScanRequest {
                        predicate,
                        ..ScanRequest::default()
                    })
                    .map_err(|error| fail("scan", error))?;
                let found = read_rows(&result.batches)?;
                let expected: Vec<(i64, Row)> = model
                    .iter()
                    .filter(|(_, (v, _))| match v {
                        None => with_nulls,
                        Some(v) => low <= *v && *v < high,
                    })
                    .map(|(id, row)| (*id, row.clone()))
                    .collect();
                if found != expected {
                    return Err(format!(
                        "step {step}: scan v in [{low}, {high}) nulls {with_nulls}: {found:?}, expected {expected:?}"
                    ));
                }
            }
            5 => {
                table.compact().map_err(|error| fail("compact", error))?;
            }
            6 => {
                let choice = match input.byte() % 4 {
                    0 => LayoutChoice::InsertionOrder,
                    1 => LayoutChoice::Sorted(vec!["v".to_owned()]),
                    2 => LayoutChoice::ZOrder(vec!["v".to_owned(), "s".to_owned()]),
                    _ => LayoutChoice::Learned,
                };
                table
                    .relayout(&choice)
                    .map_err(|error| fail("relayout", error))?;
            }
            _ => {
                drop(table);
                drop(db);
                db = Db::open(&directory.0, options()).map_err(|error| fail("reopen", error))?;
                table = db.table("t").map_err(|error| fail("reopen", error))?;
            }
        }
    }
    let all = table
        .scan(ScanRequest::default())
        .map_err(|error| fail("final scan", error))?;
    let found = read_rows(&all.batches)?;
    let expected: Vec<(i64, Row)> = model.into_iter().collect();
    if found != expected {
        return Err(format!("final scan: {found:?}, expected {expected:?}"));
    }
    Ok(())
}
