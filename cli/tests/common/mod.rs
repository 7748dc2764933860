//! Helpers shared by the command-line tests: running the binary, a small generated table as
//! plain rows (the independent model the SQL results are checked against), and writing it as
//! CSV or Parquet.

#![allow(dead_code)]
#![expect(
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers: a failure here is the calling test's failure"
)]

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanArray, Date32Array, Decimal128Array, Int64Array, RecordBatch, StringArray,
};
use arrow::datatypes::{DataType, Field, Schema};
use parquet::arrow::ArrowWriter;
use serde_json::Value;

/// What a run of the binary printed and returned.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// The JSON lines of standard output.
    pub fn json_lines(&self) -> Vec<Value> {
        self.stdout
            .lines()
            .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
            .collect()
    }

    /// Asserts the run failed with `code` and one line on standard error containing `needle`.
    pub fn assert_error(&self, code: i32, needle: &str) {
        assert_eq!(self.code, code, "exit code; stderr: {}", self.stderr);
        assert_eq!(
            self.stderr.lines().count(),
            1,
            "one line: {:?}",
            self.stderr
        );
        assert!(
            self.stderr.contains(needle),
            "{needle:?} not in {:?}",
            self.stderr
        );
        assert!(!self.stderr.contains("panicked"), "{}", self.stderr);
    }
}

/// Runs `tessera` with `args`.
pub fn tessera(args: &[&str]) -> Run {
    let output: Output = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(args)
        .output()
        .expect("the binary runs");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// One row of the test table `t`.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub id: i64,
    pub grp: Option<&'static str>,
    pub qty: Option<i64>,
    pub price: f64,
    /// Days since 2020-01-01.
    pub day: i64,
    pub flag: bool,
}

/// Days since the Unix epoch of 2020-01-01.
pub const EPOCH_2020: i64 = 18_262;

impl Row {
    pub fn date(&self) -> String {
        date_text(EPOCH_2020 + self.day)
    }
}

pub fn date_text(days: i64) -> String {
    chrono::DateTime::from_timestamp(days * 86_400, 0)
        .expect("valid date")
        .format("%Y-%m-%d")
        .to_string()
}

/// `count` deterministic rows with nulls in `grp` and `qty`.
pub fn rows(count: i64) -> Vec<Row> {
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    (0..count)
        .map(|id| {
            let grp = [Some("a"), Some("b"), Some("c"), None][(next() % 4) as usize];
            let qty = (next() % 7 != 0).then(|| (next() % 101) as i64 - 50);
            Row {
                id,
                grp,
                qty,
                price: (next() % 400) as f64 / 4.0,
                day: (next() % 60) as i64,
                flag: next() % 3 == 0,
            }
        })
        .collect()
}

/// Writes rows as CSV with a header (nulls as empty fields).
pub fn write_csv(path: &Path, rows: &[Row]) {
    let mut text = String::from("id,grp,qty,price,day,flag\n");
    for row in rows {
        text.push_str(&format!(
            "{},{},{},{},{},{}\n",
            row.id,
            row.grp.unwrap_or(""),
            row.qty.map(|q| q.to_string()).unwrap_or_default(),
            row.price,
            row.date(),
            row.flag
        ));
    }
    std::fs::write(path, text).expect("write csv");
}

/// Writes rows as Parquet, with `price` as Decimal128(15, 2) and `day` as Date32.
pub fn write_parquet(path: &Path, rows: &[Row]) {
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("grp", DataType::Utf8, true),
        Field::new("qty", DataType::Int64, true),
        Field::new("price", DataType::Decimal128(15, 2), false),
        Field::new("day", DataType::Date32, false),
        Field::new("flag", DataType::Boolean, false),
    ]));
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.id))),
        Arc::new(StringArray::from_iter(rows.iter().map(|r| r.grp))),
        Arc::new(Int64Array::from_iter(rows.iter().map(|r| r.qty))),
        Arc::new(
            Decimal128Array::from_iter_values(rows.iter().map(|r| (r.price * 100.0) as i128))
                .with_precision_and_scale(15, 2)
                .expect("decimal"),
        ),
        Arc::new(Date32Array::from_iter_values(
            rows.iter().map(|r| (EPOCH_2020 + r.day) as i32),
        )),
        Arc::new(BooleanArray::from_iter(rows.iter().map(|r| Some(r.flag)))),
    ];
    let batch = RecordBatch::try_new(Arc::clone(&schema), columns).expect("batch");
    let file = File::create(path).expect("create parquet");
    let mut writer = ArrowWriter::try_new(file, schema, None).expect("writer");
    writer.write(&batch).expect("write");
    writer.close().expect("close");
}

/// A temporary directory with a database holding table `t` loaded from CSV of `rows`, keyed
/// by `id`.
pub struct Loaded {
    pub directory: tempfile::TempDir,
    pub db: PathBuf,
    pub rows: Vec<Row>,
}

impl Loaded {
    pub fn db(&self) -> &str {
        self.db.to_str().expect("utf-8 path")
    }

    /// Runs one statement with `--format jsonl` and returns its object.
    pub fn jsonl(&self, sql: &str) -> Value {
        self.jsonl_with(&[], sql)
    }

    /// [`Self::jsonl`] with more flags for `query`.
    pub fn jsonl_with(&self, flags: &[&str], sql: &str) -> Value {
        let mut args = vec!["query", "--db", self.db(), "--format", "jsonl"];
        args.extend_from_slice(flags);
        args.push(sql);
        let run = tessera(&args);
        assert_eq!(run.code, 0, "{sql} {flags:?}: {}", run.stderr);
        let mut lines = run.json_lines();
        assert_eq!(lines.len(), 1, "{sql}");
        lines.remove(0)
    }

    /// The rows of one statement's result.
    pub fn rows_of(&self, sql: &str) -> Vec<Value> {
        match self.jsonl(sql).get("rows") {
            Some(Value::Array(rows)) => rows.clone(),
            other => panic!("{sql}: no rows: {other:?}"),
        }
    }
}

pub fn load_csv(count: i64) -> Loaded {
    let directory = tempfile::tempdir().expect("temporary directory");
    let db = directory.path().join("db");
    let csv = directory.path().join("t.csv");
    let rows = rows(count);
    write_csv(&csv, &rows);
    let run = tessera(&[
        "load",
        "--db",
        db.to_str().expect("utf-8"),
        "--table",
        "t",
        "--input",
        csv.to_str().expect("utf-8"),
        "--primary-key",
        "id",
    ]);
    assert_eq!(run.code, 0, "load: {}", run.stderr);
    Loaded {
        directory,
        db,
        rows,
    }
}
