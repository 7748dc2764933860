//! Every bad input of the command line is one line on standard error, a non-zero exit code,
//! no panic, and leaves what is stored unchanged.

mod common;

use common::{load_csv, rows, tessera, write_csv};

#[test]
fn unknown_table_and_column() {
    let table = load_csv(5);
    tessera(&["query", "--db", table.db(), "SELECT * FROM nope"])
        .assert_error(1, "table \"nope\" does not exist");
    tessera(&["query", "--db", table.db(), "SELECT missing FROM t"])
        .assert_error(1, "table \"t\" has no column \"missing\"");
    tessera(&[
        "query",
        "--db",
        table.db(),
        "SELECT id FROM t WHERE missing = 1",
    ])
    .assert_error(1, "no column \"missing\"");
    tessera(&["query", "--db", table.db(), "SELECT SUM(missing) FROM t"])
        .assert_error(1, "no column \"missing\"");
}

#[test]
fn type_mismatches() {
    let table = load_csv(5);
    tessera(&[
        "query",
        "--db",
        table.db(),
        "SELECT id FROM t WHERE qty = 'abc'",
    ])
    .assert_error(1, "type mismatch: column \"qty\"");
    tessera(&[
        "query",
        "--db",
        table.db(),
        "SELECT id FROM t WHERE grp > 3",
    ])
    .assert_error(1, "type mismatch: column \"grp\"");
    tessera(&[
        "query",
        "--db",
        table.db(),
        "SELECT id FROM t WHERE day = 'not a date'",
    ])
    .assert_error(1, "as a date");
    tessera(&["query", "--db", table.db(), "SELECT SUM(grp) FROM t"])
        .assert_error(1, "not numeric");
}

#[test]
fn a_malformed_csv_row_names_file_line_and_column_and_stores_nothing() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let db = directory.path().join("db");
    let csv = directory.path().join("bad.csv");
    let mut text = String::from("id,qty,name\n");
    for id in 0..100 {
        text.push_str(&format!("{id},{},n{id}\n", id * 2));
    }
    text.push_str("100,oops,n100\n");
    std::fs::write(&csv, &text).expect("write");
    let db_text = db.to_str().expect("utf-8");
    let csv_text = csv.to_str().expect("utf-8");
    // Inference reads the whole file and makes qty a string column: load into a typed table
    // instead, created from a good file first.
    let good = directory.path().join("good.csv");
    std::fs::write(&good, "id,qty,name\n1000,1,x\n").expect("write");
    let run = tessera(&[
        "load",
        "--db",
        db_text,
        "--table",
        "t",
        "--input",
        good.to_str().expect("utf-8"),
        "--primary-key",
        "id",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = tessera(&["load", "--db", db_text, "--table", "t", "--input", csv_text]);
    run.assert_error(1, "line 102, column 2 (\"qty\")");
    assert!(run.stderr.contains("bad.csv"), "{}", run.stderr);
    // Nothing of the bad file was stored.
    let count = tessera(&[
        "query",
        "--db",
        db_text,
        "--format",
        "csv",
        "SELECT COUNT(*) FROM t",
    ]);
    assert_eq!(count.stdout, "count(*)\n1\n");

    let ragged = directory.path().join("ragged.csv");
    std::fs::write(&ragged, "id,qty,name\n1,2,a\n2,3\n").expect("write");
    tessera(&[
        "load",
        "--db",
        db_text,
        "--table",
        "r",
        "--input",
        ragged.to_str().expect("utf-8"),
    ])
    .assert_error(1, "line 3");
    let tables = tessera(&["query", "--db", db_text, "SELECT COUNT(*) FROM r"]);
    tables.assert_error(1, "table \"r\" does not exist");
}

#[test]
fn a_missing_file_and_a_missing_database() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let db = directory.path().join("db");
    let db_text = db.to_str().expect("utf-8");
    tessera(&[
        "load",
        "--db",
        db_text,
        "--table",
        "t",
        "--input",
        "/nonexistent/x.csv",
    ])
    .assert_error(1, "cannot read /nonexistent/x.csv");
    tessera(&["query", "--db", db_text, "SELECT 1 FROM t"]).assert_error(1, "does not exist");
    let text = directory.path().join("x.json");
    std::fs::write(&text, "{}").expect("write");
    tessera(&[
        "load",
        "--db",
        db_text,
        "--table",
        "t",
        "--input",
        text.to_str().expect("utf-8"),
    ])
    .assert_error(2, "unknown input format");
    tessera(&["query", "--db", db_text, "--file", "/nonexistent/q.sql"])
        .assert_error(1, "cannot read /nonexistent/q.sql");
}

#[test]
fn a_database_in_use_by_another_process() {
    let table = load_csv(5);
    // This test process holds the database open; the command runs in another process.
    let holder = tessera::Db::open(&table.db, tessera::Options::default()).expect("open");
    tessera(&["query", "--db", table.db(), "SELECT COUNT(*) FROM t"])
        .assert_error(1, "already open");
    let csv = table.directory.path().join("more.csv");
    write_csv(&csv, &rows(3));
    tessera(&[
        "load",
        "--db",
        table.db(),
        "--table",
        "t",
        "--input",
        csv.to_str().expect("utf-8"),
    ])
    .assert_error(1, "already open");
    drop(holder);
    let count = tessera(&[
        "query",
        "--db",
        table.db(),
        "--format",
        "csv",
        "SELECT COUNT(*) FROM t",
    ]);
    assert_eq!(count.stdout, "count(*)\n5\n");
}

#[test]
fn bad_arguments_are_one_line_with_exit_code_2() {
    tessera(&["query"]).assert_error(2, "see tessera --help");
    tessera(&["frobnicate"]).assert_error(2, "see tessera --help");
    tessera(&["query", "--db", "/tmp", "--format", "xml", "SELECT 1"]).assert_error(2, "xml");
    tessera(&["workload", "--scale", "0"]).assert_error(2, "scale factor");
}
