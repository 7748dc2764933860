//! The TPC-H commands: `generate` writes lineitem, `workload` writes statements that all run,
//! `quickstart` goes from nothing to a loaded table and a workload report, and `plot` draws
//! the table with the workload's rectangles.

mod common;

use common::tessera;

#[test]
fn generate_load_workload_and_plot_at_a_tiny_scale() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let parquet = directory.path().join("lineitem.parquet");
    let csv = directory.path().join("lineitem.csv");
    let parquet_text = parquet.to_str().expect("utf-8");
    let run = tessera(&["generate", "--scale", "0.001", "--output", parquet_text]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.starts_with("wrote "), "{}", run.stdout);
    let run = tessera(&[
        "generate",
        "--scale",
        "0.001",
        "--output",
        csv.to_str().expect("utf-8"),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let header = std::fs::read_to_string(&csv).expect("csv");
    assert!(
        header.starts_with("l_orderkey,l_partkey,l_suppkey,l_linenumber,"),
        "{}",
        &header[..80]
    );

    let db = directory.path().join("db");
    let db_text = db.to_str().expect("utf-8");
    let run = tessera(&[
        "load",
        "--db",
        db_text,
        "--table",
        "lineitem",
        "--input",
        parquet_text,
        "--primary-key",
        "l_orderkey,l_linenumber",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let rows: u64 = run
        .stdout
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .expect("rows");
    assert!(rows > 5_000, "{}", run.stdout);

    let queries = directory.path().join("workload.sql");
    let queries_text = queries.to_str().expect("utf-8");
    let run = tessera(&[
        "workload",
        "--statements",
        "36",
        "--scale",
        "0.001",
        "--seed",
        "3",
        "--output",
        queries_text,
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = tessera(&[
        "query",
        "--db",
        db_text,
        "--format",
        "jsonl",
        "--file",
        queries_text,
    ]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    let lines = run.json_lines();
    assert_eq!(lines.len(), 36);
    assert!(lines.iter().all(|line| line.get("error").is_none()));
    // The Q1-shaped statements find the four flag/status groups of lineitem... at most.
    assert!(
        lines[4]["rows"]
            .as_array()
            .is_some_and(|r| (1..=4).contains(&r.len()))
    );

    let svg = directory.path().join("plot.svg");
    let run = tessera(&[
        "plot",
        "--db",
        db_text,
        "--table",
        "lineitem",
        "--x",
        "l_shipdate",
        "--y",
        "l_orderkey",
        "--queries",
        queries_text,
        "--output",
        svg.to_str().expect("utf-8"),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let picture = std::fs::read_to_string(&svg).expect("svg");
    assert!(picture.starts_with("<svg") && picture.trim_end().ends_with("</svg>"));
    assert!(
        picture.contains("stroke=\"#d62728\""),
        "query rectangles are drawn"
    );
    let png = directory.path().join("plot.png");
    tessera(&[
        "plot",
        "--db",
        db_text,
        "--table",
        "lineitem",
        "--x",
        "l_shipdate",
        "--y",
        "l_orderkey",
        "--output",
        png.to_str().expect("utf-8"),
    ])
    .assert_error(2, "svg");
    tessera(&[
        "plot",
        "--db",
        db_text,
        "--table",
        "lineitem",
        "--x",
        "l_comment",
        "--y",
        "l_orderkey",
        "--output",
        svg.to_str().expect("utf-8"),
    ])
    .assert_error(1, "l_comment");
}

#[test]
fn quickstart_loads_runs_the_workload_and_prints_next_commands() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let dir = directory.path().join("quick");
    let run = tessera(&[
        "quickstart",
        "--scale",
        "0.001",
        "--dir",
        dir.to_str().expect("utf-8"),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("loaded "), "{}", run.stdout);
    assert!(run.stdout.contains("point get"), "{}", run.stdout);
    assert!(run.stdout.contains("explore further"), "{}", run.stdout);
    assert!(dir.join("workload.sql").exists());
    // A second run reuses the table.
    let again = tessera(&[
        "quickstart",
        "--scale",
        "0.001",
        "--dir",
        dir.to_str().expect("utf-8"),
    ]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(again.stdout.contains("reusing"), "{}", again.stdout);
}
