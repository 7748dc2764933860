//! `tessera load`: CSV (header row, types inferred) or Parquet (by extension) into a new or
//! existing table.
//!
//! The file is read twice. The first pass decodes every row and checks it (types, nulls in
//! key columns) without writing anything, so a malformed file changes nothing stored: the
//! table is created only after it passes. The second pass inserts batch by batch; should it
//! fail anyway (a storage error), a table this command created is dropped again. The command
//! returns 0 only after the write-ahead log is synced, when every row is durable.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use arrow::array::{Array, ArrayRef, Int64Array, RecordBatch};
use arrow::compute::cast;
use arrow::csv::ReaderBuilder;
use arrow::csv::reader::Format as CsvFormat;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::error::ArrowError;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use tessera::{Aggregate, AggregateFunction, AggregateRequest, Db, Table, TableOptions};

use crate::error::{CliError, CliResult};
use crate::plan::ROW_ID;
use crate::progress::Progress;

/// Rows per batch read and inserted.
pub const LOAD_BATCH_ROWS: usize = 32_768;

/// The kinds of input files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum InputKind {
    Csv,
    Parquet,
}

/// What `load` was asked.
#[derive(Debug, Clone)]
pub struct LoadRequest {
    /// The input file.
    pub input: PathBuf,
    /// The table.
    pub table: String,
    /// The primary key for a new table; `None` uses the hidden row id.
    pub primary_key: Option<Vec<String>>,
}

/// What `load` did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LoadSummary {
    /// Rows inserted.
    pub rows: u64,
    /// Seconds it took.
    pub seconds: f64,
}

fn kind_of(path: &Path) -> CliResult<InputKind> {
    let extension = path
        .extension()
        .and_then(|extension| extension.to_str())
        .map(str::to_ascii_lowercase);
    match extension.as_deref() {
        Some("csv" | "txt") => Ok(InputKind::Csv),
        Some("parquet" | "parq" | "pq") => Ok(InputKind::Parquet),
        _ => Err(CliError::Usage(format!(
            "{}: unknown input format (the file name must end in .csv or .parquet)",
            path.display()
        ))),
    }
}

fn open(path: &Path) -> CliResult<File> {
    File::open(path)
        .map_err(|error| CliError::failed(format!("cannot read {}: {error}", path.display())))
}

/// Where a table's rows come from: the source schema read from the file, and how each batch
/// becomes a batch of the table.
struct Source {
    kind: InputKind,
    path: PathBuf,
    /// The schema batches are read with.
    read_schema: SchemaRef,
    /// The table's columns, in table order, without the hidden row id.
    target: SchemaRef,
    /// Whether the table's key is the hidden row id.
    row_id: bool,
}

impl Source {
    fn batches(&self) -> CliResult<Box<dyn Iterator<Item = Result<RecordBatch, ArrowError>>>> {
        let file = open(&self.path)?;
        Ok(match self.kind {
            InputKind::Csv => Box::new(
                ReaderBuilder::new(Arc::clone(&self.read_schema))
                    .with_header(true)
                    .with_batch_size(LOAD_BATCH_ROWS)
                    .build(BufReader::new(file))?,
            ),
            InputKind::Parquet => Box::new(
                ParquetRecordBatchReaderBuilder::try_new(file)?
                    .with_batch_size(LOAD_BATCH_ROWS)
                    .build()?,
            ),
        })
    }

    /// A read batch as the table's columns (without the row id), cast to the table's types.
    fn shape(&self, batch: &RecordBatch) -> CliResult<RecordBatch> {
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(self.target.fields().len());
        for field in self.target.fields() {
            let column = batch.column_by_name(field.name()).ok_or_else(|| {
                CliError::failed(format!(
                    "{}: the file has no column {:?}",
                    self.path.display(),
                    field.name()
                ))
            })?;
            let column = if column.data_type() == field.data_type() {
                Arc::clone(column)
            } else {
                cast(column, field.data_type()).map_err(|error| {
                    CliError::failed(format!(
                        "{}: column {:?} does not convert from {} to the table's {}: {error}",
                        self.path.display(),
                        field.name(),
                        column.data_type(),
                        field.data_type()
                    ))
                })?
            };
            if !field.is_nullable() && column.null_count() > 0 {
                return Err(CliError::failed(format!(
                    "{}: column {:?} holds a null, which the table does not allow",
                    self.path.display(),
                    field.name()
                )));
            }
            columns.push(column);
        }
        Ok(RecordBatch::try_new(Arc::clone(&self.target), columns)?)
    }

    fn read_error(&self, error: ArrowError) -> CliError {
        match self.kind {
            InputKind::Csv => csv_error(&self.path, &self.read_schema, error),
            InputKind::Parquet => CliError::failed(format!("{}: {error}", self.path.display())),
        }
    }
}

/// The schema of the file: the CSV header with inferred types, or the Parquet schema.
fn file_schema(kind: InputKind, path: &Path) -> CliResult<Schema> {
    match kind {
        InputKind::Csv => {
            let file = open(path)?;
            let (schema, _) = CsvFormat::default()
                .with_header(true)
                .infer_schema(BufReader::new(file), None)
                .map_err(|error| csv_error(path, &Schema::empty(), error))?;
            if schema.fields().is_empty() {
                return Err(CliError::failed(format!(
                    "{}: the file has no header row",
                    path.display()
                )));
            }
            // A column with no values at all has no type to infer: keep it as text.
            let fields: Vec<Field> = schema
                .fields()
                .iter()
                .map(|field| {
                    let field = field.as_ref().clone();
                    if *field.data_type() == DataType::Null {
                        field.with_data_type(DataType::Utf8)
                    } else {
                        field
                    }
                })
                .collect();
            Ok(Schema::new(fields))
        }
        InputKind::Parquet => {
            let file = open(path)?;
            let builder = ParquetRecordBatchReaderBuilder::try_new(file)
                .map_err(|error| CliError::failed(format!("{}: {error}", path.display())))?;
            Ok(builder.schema().as_ref().clone())
        }
    }
}

/// The CSV header's column names.
fn csv_header(path: &Path) -> CliResult<Vec<String>> {
    let file = open(path)?;
    let (schema, _) = CsvFormat::default()
        .with_header(true)
        .infer_schema(BufReader::new(file), Some(0))
        .map_err(|error| csv_error(path, &Schema::empty(), error))?;
    Ok(schema.fields().iter().map(|f| f.name().clone()).collect())
}

/// Loads `request.input` into the table; prints nothing (the caller reports the summary).
pub fn load(db: &Db, request: &LoadRequest, progress: &Progress) -> CliResult<LoadSummary> {
    let started = Instant::now();
    let path = &request.input;
    if !path.exists() {
        return Err(CliError::failed(format!(
            "cannot read {}: no such file",
            path.display()
        )));
    }
    let kind = kind_of(path)?;
    let existing = db.table(&request.table).ok();
    let (source, create) = match &existing {
        Some(table) => {
            if request
                .primary_key
                .as_ref()
                .is_some_and(|key| *key != table.primary_key())
            {
                return Err(CliError::failed(format!(
                    "table {:?} exists with primary key ({}); --primary-key must match or be left out",
                    request.table,
                    table.primary_key().join(", ")
                )));
            }
            let row_id = table.primary_key() == [ROW_ID];
            let target = visible_schema(&table.schema(), row_id);
            let read_schema = match kind {
                InputKind::Csv => {
                    let header = csv_header(path)?;
                    let mut fields = Vec::with_capacity(header.len());
                    for name in &header {
                        let field = target.field_with_name(name).map_err(|_| {
                            CliError::failed(format!(
                                "{}: column {name:?} of the file is not a column of table {:?}",
                                path.display(),
                                request.table
                            ))
                        })?;
                        fields.push(field.clone().with_nullable(true));
                    }
                    Arc::new(Schema::new(fields))
                }
                InputKind::Parquet => Arc::new(file_schema(kind, path)?),
            };
            for field in target.fields() {
                if read_schema.field_with_name(field.name()).is_err() {
                    return Err(CliError::failed(format!(
                        "{}: the file lacks column {:?} of table {:?}",
                        path.display(),
                        field.name(),
                        request.table
                    )));
                }
            }
            (
                Source {
                    kind,
                    path: path.clone(),
                    read_schema,
                    target,
                    row_id,
                },
                None,
            )
        }
        None => {
            let schema = file_schema(kind, path)?;
            if let Some(field) = schema.fields().iter().find(|f| f.name() == ROW_ID)
                && request.primary_key.is_none()
            {
                return Err(CliError::failed(format!(
                    "{}: the file has a column named {:?}, which is reserved for the hidden row id; give a --primary-key",
                    path.display(),
                    field.name()
                )));
            }
            let schema = Arc::new(schema);
            let (table_schema, key) = match &request.primary_key {
                Some(key) => (Arc::clone(&schema), key.clone()),
                None => {
                    let mut fields: Vec<Field> =
                        schema.fields().iter().map(|f| f.as_ref().clone()).collect();
                    fields.push(Field::new(ROW_ID, DataType::Int64, false));
                    (Arc::new(Schema::new(fields)), vec![ROW_ID.to_owned()])
                }
            };
            for column in &key {
                if table_schema.field_with_name(column).is_err() {
                    return Err(CliError::failed(format!(
                        "primary key column {column:?} is not a column of {}",
                        path.display()
                    )));
                }
            }
            (
                Source {
                    kind,
                    path: path.clone(),
                    read_schema: Arc::clone(&schema),
                    target: schema,
                    row_id: request.primary_key.is_none(),
                },
                Some((table_schema, key)),
            )
        }
    };

    // Pass 1: decode and check every row; nothing is written.
    let key_columns: Vec<String> = match (&existing, &create) {
        (Some(table), _) => table.primary_key(),
        (None, Some((_, key))) => key.clone(),
        (None, None) => Vec::new(),
    };
    let checking = progress.spinner("checking");
    let mut total_rows = 0u64;
    for batch in source.batches()? {
        let batch = batch.map_err(|error| source.read_error(error))?;
        let shaped = source.shape(&batch)?;
        for column in &key_columns {
            if let Some(array) = shaped.column_by_name(column)
                && array.null_count() > 0
            {
                let row = (0..array.len())
                    .find(|&row| array.is_null(row))
                    .unwrap_or(0);
                return Err(CliError::failed(format!(
                    "{}: key column {column:?} is empty in data row {}",
                    path.display(),
                    total_rows + row as u64 + 1
                )));
            }
        }
        total_rows += batch.num_rows() as u64;
        checking.set_position(total_rows);
    }
    checking.finish_and_clear();

    // Pass 2: insert.
    let (table, created) = match (existing, create) {
        (Some(table), _) => (table, false),
        (None, Some((schema, primary_key))) => (
            db.create_table(&request.table, schema, TableOptions { primary_key })?,
            true,
        ),
        (None, None) => return Err(CliError::failed("internal: no table to load into")),
    };
    let inserted = insert_all(db, &table, &source, total_rows, progress);
    match inserted {
        Ok(rows) => Ok(LoadSummary {
            rows,
            seconds: started.elapsed().as_secs_f64(),
        }),
        Err(error) => {
            if created {
                // Best effort: the error reported is the insert's.
                let _ = db.drop_table(&request.table);
            }
            Err(error)
        }
    }
}

fn visible_schema(schema: &SchemaRef, row_id: bool) -> SchemaRef {
    if !row_id {
        return Arc::clone(schema);
    }
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .filter(|f| f.name() != ROW_ID)
        .map(|f| f.as_ref().clone())
        .collect();
    Arc::new(Schema::new(fields))
}

fn insert_all(
    db: &Db,
    table: &Table,
    source: &Source,
    total_rows: u64,
    progress: &Progress,
) -> CliResult<u64> {
    let mut next_row_id = if source.row_id {
        next_row_id(table)?
    } else {
        0
    };
    let bar = progress.bar("loading", total_rows);
    let schema = table.schema();
    let mut rows = 0u64;
    for batch in source.batches()? {
        let batch = batch.map_err(|error| source.read_error(error))?;
        let shaped = source.shape(&batch)?;
        let batch = if source.row_id {
            let count = shaped.num_rows() as i64;
            let ids: ArrayRef = Arc::new(Int64Array::from_iter_values(
                next_row_id..next_row_id + count,
            ));
            next_row_id += count;
            let mut columns = shaped.columns().to_vec();
            columns.push(ids);
            RecordBatch::try_new(Arc::clone(&schema), columns)?
        } else {
            RecordBatch::try_new(Arc::clone(&schema), shaped.columns().to_vec())?
        };
        table.insert(&batch)?;
        rows += batch.num_rows() as u64;
        bar.set_position(rows);
    }
    bar.finish_and_clear();
    // Memtables to disk and the write-ahead log synced: every row is durable.
    db.flush()?;
    Ok(rows)
}

/// One past the largest hidden row id in use.
fn next_row_id(table: &Table) -> CliResult<i64> {
    let result = table.aggregate(AggregateRequest {
        aggregates: vec![Aggregate::of(AggregateFunction::Max, ROW_ID)],
        ..AggregateRequest::default()
    })?;
    let column = result.batch.column(0);
    let largest = column
        .as_any()
        .downcast_ref::<Int64Array>()
        .filter(|array| !array.is_empty() && array.is_valid(0))
        .map(|array| array.value(0));
    Ok(largest.map_or(0, |largest| largest.saturating_add(1)))
}

/// A one-line message for a CSV read error, with the file, the line and the column.
fn csv_error(path: &Path, schema: &Schema, error: ArrowError) -> CliError {
    let message = error.to_string();
    // "Error while parsing value 'V' as type 'T' for column C at line L. Row data: ..."
    if let Some((value, rest)) = between(&message, "parsing value '", "' as type '")
        && let Some((data_type, rest)) = split_once_owned(rest, "' for column ")
        && let Some((column, rest)) = split_once_owned(&rest, " at line ")
        && let Ok(column) = column.parse::<usize>()
    {
        let record: String = rest.chars().take_while(char::is_ascii_digit).collect();
        if let Ok(record) = record.parse::<u64>() {
            let line = physical_line(path, record)
                .map_or_else(|| format!("record {record}"), |line| format!("line {line}"));
            let name = schema
                .fields()
                .get(column)
                .map(|field| format!(" ({:?})", field.name()))
                .unwrap_or_default();
            return CliError::failed(format!(
                "malformed CSV: {} {line}, column {}{name}: cannot read {value:?} as {data_type}",
                path.display(),
                column + 1
            ));
        }
    }
    // "incorrect number of fields for line L, expected E got G"
    if let Some(rest) = message.split("incorrect number of fields for line ").nth(1) {
        let record: String = rest.chars().take_while(char::is_ascii_digit).collect();
        let detail = rest
            .get(record.len()..)
            .unwrap_or("")
            .trim_start_matches(", ");
        if let Ok(record) = record.parse::<u64>() {
            let line = physical_line(path, record)
                .map_or_else(|| format!("record {record}"), |line| format!("line {line}"));
            return CliError::failed(format!(
                "malformed CSV: {} {line}: wrong number of fields ({detail})",
                path.display()
            ));
        }
    }
    CliError::failed(format!("malformed CSV: {}: {message}", path.display()))
}

fn between<'a>(text: &'a str, start: &str, end: &str) -> Option<(String, &'a str)> {
    let after = text.split_once(start)?.1;
    let (inside, rest) = after.split_once(end)?;
    Some((inside.to_owned(), rest))
}

fn split_once_owned(text: &str, separator: &str) -> Option<(String, String)> {
    let (before, after) = text.split_once(separator)?;
    Some((before.to_owned(), after.to_owned()))
}

/// The 1-based line of the file where CSV record `record` (0 = the header) starts, counting
/// line breaks inside quoted fields as part of their record.
fn physical_line(path: &Path, record: u64) -> Option<u64> {
    if record == 0 {
        return Some(1);
    }
    let file = File::open(path).ok()?;
    let mut line = 1u64;
    let mut records = 0u64;
    let mut quoted = false;
    for byte in BufReader::new(file).bytes() {
        match byte.ok()? {
            b'"' => quoted = !quoted,
            b'\n' => {
                line += 1;
                if !quoted {
                    records += 1;
                    if records == record {
                        return Some(line);
                    }
                }
            }
            _ => {}
        }
    }
    None
}
