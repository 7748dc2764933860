//! Helpers shared by the integration tests: the test table's schema, batches built from plain
//! rows, and batches read back into plain rows.

#![allow(dead_code)]

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, BooleanArray, Float64Array, Int32Array, Int64Array, RecordBatch, StringArray,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};

/// The primary key of the test table: `(k1, k2)`.
pub type Key = (i32, String);

/// One row of the test table apart from its key.
#[derive(Debug, Clone, PartialEq)]
pub struct Values {
    pub v: Option<i64>,
    pub f: Option<f64>,
    pub s: Option<String>,
    pub b: Option<bool>,
}

/// A cell read back from a batch, comparable across runs (floats by bits).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Cell {
    Null,
    Int(i64),
    FloatBits(u64),
    Text(String),
    Bool(bool),
}

/// `k1 Int32 NOT NULL, k2 Utf8 NOT NULL, v Int64, f Float64, s Utf8, b Boolean`.
pub fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("k1", DataType::Int32, false),
        Field::new("k2", DataType::Utf8, false),
        Field::new("v", DataType::Int64, true),
        Field::new("f", DataType::Float64, true),
        Field::new("s", DataType::Utf8, true),
        Field::new("b", DataType::Boolean, true),
    ]))
}

pub const COLUMNS: [&str; 6] = ["k1", "k2", "v", "f", "s", "b"];

/// A batch of full rows.
pub fn rows_batch(rows: &[(Key, Values)]) -> RecordBatch {
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Int32Array::from_iter_values(
            rows.iter().map(|((k1, _), _)| *k1),
        )),
        Arc::new(StringArray::from_iter_values(
            rows.iter().map(|((_, k2), _)| k2.as_str()),
        )),
        Arc::new(Int64Array::from(
            rows.iter().map(|(_, values)| values.v).collect::<Vec<_>>(),
        )),
        Arc::new(Float64Array::from(
            rows.iter().map(|(_, values)| values.f).collect::<Vec<_>>(),
        )),
        Arc::new(StringArray::from(
            rows.iter()
                .map(|(_, values)| values.s.as_deref())
                .collect::<Vec<_>>(),
        )),
        Arc::new(BooleanArray::from(
            rows.iter().map(|(_, values)| values.b).collect::<Vec<_>>(),
        )),
    ];
    RecordBatch::try_new(schema(), columns).unwrap()
}

/// A batch of the key columns only.
pub fn keys_batch(keys: &[Key]) -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![
        Field::new("k1", DataType::Int32, false),
        Field::new("k2", DataType::Utf8, false),
    ]));
    RecordBatch::try_new(
        schema,
        vec![
            Arc::new(Int32Array::from_iter_values(keys.iter().map(|(k1, _)| *k1))),
            Arc::new(StringArray::from_iter_values(
                keys.iter().map(|(_, k2)| k2.as_str()),
            )),
        ],
    )
    .unwrap()
}

/// The cells of a model row, by column name.
pub fn model_cells(key: &Key, values: &Values) -> Vec<(String, Cell)> {
    let cells = [
        Cell::Int(i64::from(key.0)),
        Cell::Text(key.1.clone()),
        values.v.map_or(Cell::Null, Cell::Int),
        values
            .f
            .map_or(Cell::Null, |f| Cell::FloatBits(f.to_bits())),
        values.s.clone().map_or(Cell::Null, Cell::Text),
        values.b.map_or(Cell::Null, Cell::Bool),
    ];
    COLUMNS
        .iter()
        .map(|name| name.to_string())
        .zip(cells)
        .collect()
}

fn cell(array: &dyn Array, row: usize) -> Cell {
    if array.is_null(row) {
        return Cell::Null;
    }
    let any = array.as_any();
    if let Some(array) = any.downcast_ref::<Int32Array>() {
        Cell::Int(i64::from(array.value(row)))
    } else if let Some(array) = any.downcast_ref::<Int64Array>() {
        Cell::Int(array.value(row))
    } else if let Some(array) = any.downcast_ref::<Float64Array>() {
        Cell::FloatBits(array.value(row).to_bits())
    } else if let Some(array) = any.downcast_ref::<StringArray>() {
        Cell::Text(array.value(row).to_owned())
    } else if let Some(array) = any.downcast_ref::<BooleanArray>() {
        Cell::Bool(array.value(row))
    } else {
        panic!("unexpected array type {}", array.data_type())
    }
}

/// Every row of the batches, as (column name, cell) lists in schema order.
pub fn batch_cells(batches: &[RecordBatch]) -> Vec<Vec<(String, Cell)>> {
    let mut rows = Vec::new();
    for batch in batches {
        for row in 0..batch.num_rows() {
            rows.push(
                batch
                    .schema()
                    .fields()
                    .iter()
                    .zip(batch.columns())
                    .map(|(field, array)| (field.name().clone(), cell(array.as_ref(), row)))
                    .collect(),
            );
        }
    }
    rows
}
