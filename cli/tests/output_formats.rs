//! The output formats of `tessera query`: table, csv, json (jsonl has its own test file).

mod common;

use common::{load_csv, tessera};
use serde_json::{Value, json};

const SQL: &str = "SELECT id, grp, qty FROM t WHERE id < 3 ORDER BY id";

#[test]
fn csv_has_a_header_and_empty_nulls() {
    let table = load_csv(10);
    let run = tessera(&["query", "--db", table.db(), "--format", "csv", SQL]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let mut expected = String::from("id,grp,qty\n");
    for row in &table.rows[..3] {
        expected.push_str(&format!(
            "{},{},{}\n",
            row.id,
            row.grp.unwrap_or(""),
            row.qty.map(|q| q.to_string()).unwrap_or_default()
        ));
    }
    assert_eq!(run.stdout, expected);
}

#[test]
fn json_is_an_array_of_row_objects() {
    let table = load_csv(10);
    let run = tessera(&["query", "--db", table.db(), "--format", "json", SQL]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let value: Value = serde_json::from_str(&run.stdout).expect("one JSON document");
    let expected: Vec<Value> = table.rows[..3]
        .iter()
        .map(|row| json!({"id": row.id, "grp": row.grp, "qty": row.qty}))
        .collect();
    assert_eq!(value, Value::Array(expected));
    let empty = tessera(&[
        "query",
        "--db",
        table.db(),
        "--format",
        "json",
        "SELECT id FROM t WHERE id > 99",
    ]);
    assert_eq!(empty.stdout.trim(), "[]");
}

#[test]
fn table_shows_header_cells_nulls_and_a_summary() {
    let table = load_csv(10);
    let run = tessera(&["query", "--db", table.db(), SQL]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    for header in ["id", "grp", "qty"] {
        assert!(run.stdout.contains(header), "{}", run.stdout);
    }
    for row in &table.rows[..3] {
        let cell = row
            .qty
            .map(|q| q.to_string())
            .unwrap_or_else(|| "NULL".to_owned());
        assert!(run.stdout.contains(&cell), "{cell} in {}", run.stdout);
    }
    assert!(run.stdout.contains("3 rows in "), "{}", run.stdout);
    let explain = tessera(&["query", "--db", table.db(), "--explain", SQL]);
    for line in ["table", "access", "filter", "blocks", "rows", "time"] {
        assert!(
            explain.stdout.lines().any(|l| l.starts_with(line)),
            "{line}: {}",
            explain.stdout
        );
    }
}
