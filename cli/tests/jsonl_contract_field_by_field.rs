//! The `--format jsonl` contract scripts depend on: one object per statement with statement,
//! columns, rows, elapsed_us, rows_matched, rows_scanned, blocks_scanned, blocks_total; typed
//! values; `{"statement": i, "error": "..."}` for a failing statement while the run goes on;
//! exit code 1 when one failed; `--repeat`; `--scan-threads`.

mod common;

use common::{load_csv, tessera};
use serde_json::{Value, json};

#[test]
fn every_field_of_a_jsonl_line() {
    let table = load_csv(40);
    let row = &table.rows[7];
    let object =
        table.jsonl("SELECT id, grp, qty, price, day, flag FROM t WHERE id BETWEEN 7 AND 7");
    let keys: Vec<&str> = object
        .as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect();
    for key in [
        "statement",
        "columns",
        "rows",
        "elapsed_us",
        "rows_matched",
        "rows_scanned",
        "blocks_scanned",
        "blocks_total",
    ] {
        assert!(keys.contains(&key), "{key} missing from {object}");
    }
    assert_eq!(object["statement"], json!(0));
    assert_eq!(
        object["columns"],
        json!(["id", "grp", "qty", "price", "day", "flag"])
    );
    // Numbers as numbers, strings as strings, dates as YYYY-MM-DD, NULL as null.
    assert_eq!(
        object["rows"],
        json!([[row.id, row.grp, row.qty, row.price, row.date(), row.flag]])
    );
    let elapsed = object["elapsed_us"]
        .as_f64()
        .expect("elapsed_us is a number");
    assert!(elapsed > 0.0 && elapsed < 60e6, "{elapsed}");
    assert_eq!(object["rows_matched"], json!(1));
    let scanned = object["rows_scanned"].as_u64().expect("a count");
    assert!((1..=40).contains(&scanned), "{scanned}");
    assert!(object["blocks_scanned"].as_u64().is_some());
    assert!(
        object["blocks_total"].as_u64().expect("a count")
            >= object["blocks_scanned"].as_u64().expect("a count")
    );
    // A null in a result.
    let null_row = table
        .rows
        .iter()
        .find(|r| r.qty.is_none())
        .expect("a null qty");
    let nulls = table.rows_of(&format!(
        "SELECT qty, grp FROM t WHERE id = {}",
        null_row.id
    ));
    assert_eq!(nulls, vec![json!([null, null_row.grp])]);
}

#[test]
fn a_file_runs_every_statement_and_failures_do_not_stop_it() {
    let table = load_csv(30);
    let file = table.directory.path().join("queries.sql");
    std::fs::write(
        &file,
        "SELECT COUNT(*) FROM t;\n\
         SELECT nope FROM t;\n\
         -- a comment; with a semicolon\n\
         SELECT id FROM t WHERE grp = 'x;y' ORDER BY id;\n\
         SELECT * FROM missing;\n\
         SELECT id FROM t WHERE id < 2 ORDER BY id;\n",
    )
    .expect("write");
    let run = tessera(&[
        "query",
        "--db",
        table.db(),
        "--format",
        "jsonl",
        "--repeat",
        "3",
        "--file",
        file.to_str().expect("utf-8"),
    ]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let lines = run.json_lines();
    assert_eq!(lines.len(), 5, "{}", run.stdout);
    for (index, line) in lines.iter().enumerate() {
        assert_eq!(line["statement"], json!(index));
    }
    assert_eq!(lines[0]["rows"], json!([[30]]));
    assert!(
        lines[1]["error"]
            .as_str()
            .is_some_and(|e| e.contains("no column \"nope\"")),
        "{}",
        lines[1]
    );
    assert_eq!(
        lines[1].as_object().map(|o| o.len()),
        Some(2),
        "only statement and error"
    );
    assert_eq!(lines[2]["rows"], json!([]));
    assert!(
        lines[3]["error"]
            .as_str()
            .is_some_and(|e| e.contains("\"missing\" does not exist")),
        "{}",
        lines[3]
    );
    assert_eq!(lines[4]["rows"], json!([[0], [1]]));
}

#[test]
fn an_unsupported_statement_in_a_file_exits_2_and_the_run_goes_on() {
    let table = load_csv(10);
    let file = table.directory.path().join("queries.sql");
    std::fs::write(
        &file,
        "SELECT a.id FROM t a JOIN t b ON a.id = b.id;\nSELECT COUNT(*) FROM t;\n",
    )
    .expect("write");
    let run = tessera(&[
        "query",
        "--db",
        table.db(),
        "--format",
        "jsonl",
        "--file",
        file.to_str().expect("utf-8"),
    ]);
    assert_eq!(run.code, 2);
    let lines = run.json_lines();
    assert_eq!(
        lines[0]["error"],
        json!("unsupported: JOIN at line 1, column 22")
    );
    assert_eq!(lines[1]["rows"], json!([[10]]));
}

#[test]
fn explain_adds_the_plan_to_jsonl() {
    let table = load_csv(10);
    let run = tessera(&[
        "query",
        "--db",
        table.db(),
        "--format",
        "jsonl",
        "--explain",
        "SELECT grp, COUNT(*) FROM t WHERE qty > 0 GROUP BY grp",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let line = run.json_lines().remove(0);
    let explain = line["explain"].as_object().expect("explain object");
    assert!(
        explain["access"]
            .as_str()
            .is_some_and(|a| a.contains("count(*)")),
        "{line}"
    );
    assert!(
        explain["filter"]
            .as_str()
            .is_some_and(|f| f.contains("qty > 0")),
        "{line}"
    );
    for key in ["plan_us", "engine_us", "finish_us"] {
        assert!(explain[key].as_f64().is_some(), "{key}");
    }
    assert!(line["rows"].as_array().is_some_and(|rows| !rows.is_empty()));
    let _: &Value = &line["elapsed_us"];
}

#[test]
fn scan_threads_change_no_answer_and_zero_is_refused() {
    let table = load_csv(50);
    let sql = "SELECT id, qty FROM t WHERE id BETWEEN 3 AND 40 ORDER BY id";
    let default = table.jsonl(sql);
    for threads in ["1", "3"] {
        let line = table.jsonl_with(&["--scan-threads", threads], sql);
        assert_eq!(line["rows"], default["rows"], "{threads} threads");
        assert_eq!(line["rows_matched"], json!(38));
    }
    let run = tessera(&["query", "--db", table.db(), "--scan-threads", "0", sql]);
    run.assert_error(2, "--scan-threads");
}
