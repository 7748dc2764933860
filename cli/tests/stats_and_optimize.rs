//! `tessera stats` (table and JSON) and `tessera optimize`: the JSON keys of the contract,
//! and answers that stay the same across a re-layout.

mod common;

use common::{load_csv, tessera};
use serde_json::{Value, json};

#[test]
fn stats_json_has_the_contract_keys() {
    let table = load_csv(200);
    let run = tessera(&[
        "stats",
        "--db",
        table.db(),
        "--table",
        "t",
        "--format",
        "json",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let stats: Value = serde_json::from_str(run.stdout.trim()).expect("one JSON object");
    assert_eq!(stats["rows"], json!(200));
    assert!(
        stats["bytes_on_disk"]
            .as_u64()
            .is_some_and(|bytes| bytes > 0),
        "{stats}"
    );
    assert!(
        stats["layout"]
            .as_str()
            .is_some_and(|layout| !layout.is_empty()),
        "{stats}"
    );
    let columns = stats["columns"].as_array().expect("columns");
    let names: Vec<&str> = columns.iter().filter_map(|c| c["name"].as_str()).collect();
    assert_eq!(names, ["id", "grp", "qty", "price", "day", "flag"]);
    for column in columns {
        assert!(column["bytes"].as_u64().is_some(), "{column}");
        for encoding in column["encodings"].as_array().expect("encodings") {
            assert!(encoding["encoding"].as_str().is_some(), "{encoding}");
            assert!(
                encoding["blocks"].as_u64().is_some_and(|b| b > 0),
                "{encoding}"
            );
        }
    }

    let text = tessera(&["stats", "--db", table.db(), "--table", "t"]);
    assert_eq!(text.code, 0, "{}", text.stderr);
    assert!(text.stdout.contains("table t: 200 rows"), "{}", text.stdout);
    assert!(text.stdout.contains("layout"), "{}", text.stdout);
    tessera(&["stats", "--db", table.db(), "--table", "nope"])
        .assert_error(1, "\"nope\" does not exist");
}

#[test]
fn optimize_reports_estimates_and_answers_do_not_change() {
    let table = load_csv(400);
    let queries = [
        "SELECT id, qty FROM t WHERE qty BETWEEN -5 AND 5 ORDER BY id",
        "SELECT grp, COUNT(*), SUM(qty) FROM t WHERE price < 50 GROUP BY grp ORDER BY grp",
        "SELECT COUNT(*) FROM t WHERE day >= '2020-02-01'",
    ];
    let answers: Vec<Value> = queries
        .iter()
        .map(|sql| json!(table.rows_of(sql)))
        .collect();
    for _ in 0..5 {
        for sql in queries {
            table.rows_of(sql);
        }
    }
    let run = tessera(&["optimize", "--db", table.db(), "--table", "t"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("estimate per query"), "{}", run.stdout);
    assert!(run.stdout.contains("scan overhead"), "{}", run.stdout);
    assert!(
        run.stdout.contains("rewrote") || run.stdout.contains("kept the current layout"),
        "{}",
        run.stdout
    );
    let after: Vec<Value> = queries
        .iter()
        .map(|sql| json!(table.rows_of(sql)))
        .collect();
    assert_eq!(answers, after);
    let explain = tessera(&["query", "--db", table.db(), "--explain", queries[0]]);
    for line in [
        "layout",
        "cells",
        "filters",
        "encodings read",
        "engine phases",
    ] {
        assert!(
            explain.stdout.lines().any(|l| l.starts_with(line)),
            "{line}: {}",
            explain.stdout
        );
    }
    tessera(&["optimize", "--db", table.db(), "--table", "nope"]).assert_error(1, "does not exist");
}
