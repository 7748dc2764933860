//! `tessera load`: a summary line, a hidden row id without a primary key, appends and
//! upserts into an existing table, and Parquet into a table made from CSV.

mod common;

use common::{rows, tessera, write_csv, write_parquet};
use serde_json::json;

#[test]
fn without_a_primary_key_rows_get_a_hidden_row_id_and_loads_append() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let db = directory.path().join("db");
    let db_text = db.to_str().expect("utf-8");
    let csv = directory.path().join("t.csv");
    let data = rows(25);
    write_csv(&csv, &data);
    let csv_text = csv.to_str().expect("utf-8");
    for round in 1..=2 {
        let run = tessera(&["load", "--db", db_text, "--table", "t", "--input", csv_text]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        let line = run.stdout.trim();
        assert!(line.starts_with("loaded 25 rows into t in "), "{line}");
        assert!(line.contains("rows/s") && line.contains("bytes)"), "{line}");
        assert_eq!(run.stdout.lines().count(), 1);
        let count = tessera(&[
            "query",
            "--db",
            db_text,
            "--format",
            "csv",
            "SELECT COUNT(*) FROM t",
        ]);
        assert_eq!(count.stdout, format!("count(*)\n{}\n", 25 * round));
    }
    // SELECT * leaves the row id out; naming it shows it, distinct over both loads.
    let star = tessera(&[
        "query",
        "--db",
        db_text,
        "--format",
        "jsonl",
        "SELECT * FROM t LIMIT 1",
    ]);
    assert_eq!(
        star.json_lines()[0]["columns"],
        json!(["id", "grp", "qty", "price", "day", "flag"])
    );
    let ids = tessera(&[
        "query",
        "--db",
        db_text,
        "--format",
        "jsonl",
        "SELECT COUNT(*), MIN(_rowid), MAX(_rowid) FROM t",
    ]);
    assert_eq!(ids.json_lines()[0]["rows"], json!([[50, 0, 49]]));
    let help = tessera(&["load", "--help"]);
    assert!(help.stdout.contains("_rowid"), "{}", help.stdout);
}

#[test]
fn with_a_primary_key_a_second_load_replaces_rows() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let db = directory.path().join("db");
    let db_text = db.to_str().expect("utf-8");
    let first = directory.path().join("first.csv");
    let second = directory.path().join("second.parquet");
    let data = rows(30);
    write_csv(&first, &data);
    let mut changed = data[10..20].to_vec();
    for row in &mut changed {
        row.price = 999.0;
        row.qty = Some(7);
    }
    let args = |input: &std::path::Path| {
        vec![
            "load".to_owned(),
            "--db".to_owned(),
            db_text.to_owned(),
            "--table".to_owned(),
            "t".to_owned(),
            "--input".to_owned(),
            input.to_str().expect("utf-8").to_owned(),
            "--primary-key".to_owned(),
            "id".to_owned(),
        ]
    };
    let run = tessera(&args(&first).iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(run.code, 0, "{}", run.stderr);
    // Parquet with Decimal(15, 2) prices into a table whose prices are Float64 (from CSV):
    // converted to the table's types.
    write_parquet(&second, &changed);
    let run = tessera(&args(&second).iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(run.code, 0, "{}", run.stderr);
    let result = tessera(&[
        "query",
        "--db",
        db_text,
        "--format",
        "jsonl",
        "SELECT COUNT(*), SUM(qty) FROM t WHERE price = 999",
    ]);
    assert_eq!(result.json_lines()[0]["rows"], json!([[10, 70]]));
    let total = tessera(&[
        "query",
        "--db",
        db_text,
        "--format",
        "csv",
        "SELECT COUNT(*) FROM t",
    ]);
    assert_eq!(total.stdout, "count(*)\n30\n");
    // A different key for the existing table is refused.
    let mut wrong = args(&first);
    wrong.pop();
    wrong.push("qty".to_owned());
    tessera(&wrong.iter().map(String::as_str).collect::<Vec<_>>()).assert_error(1, "primary key");
}
