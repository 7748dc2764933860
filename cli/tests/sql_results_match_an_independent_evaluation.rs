//! SQL answers of `tessera query` against the same rows evaluated in plain Rust: filters of
//! every accepted kind, aggregates with and without GROUP BY, ORDER BY, LIMIT, point gets,
//! literals that are not values of the column's type, and data loaded from CSV and Parquet.

mod common;

use common::{EPOCH_2020, Row, date_text, load_csv, tessera, write_parquet};
use serde_json::{Value, json};

fn ids(rows: impl Iterator<Item = i64>) -> Vec<Value> {
    rows.map(|id| json!([id])).collect()
}

fn close(actual: &Value, expected: f64) -> bool {
    actual
        .as_f64()
        .is_some_and(|value| (value - expected).abs() <= 1e-9 * expected.abs().max(1.0))
}

#[test]
fn filters_match_plain_rust() {
    let table = load_csv(300);
    let rows = &table.rows;
    let check = |sql: &str, expected: Vec<Value>| {
        assert_eq!(table.rows_of(sql), expected, "{sql}");
    };
    check(
        "SELECT id, qty FROM t WHERE qty BETWEEN -10 AND 10 ORDER BY id",
        rows.iter()
            .filter(|r| r.qty.is_some_and(|q| (-10..=10).contains(&q)))
            .map(|r| json!([r.id, r.qty]))
            .collect(),
    );
    check(
        "SELECT id FROM t WHERE qty IS NULL ORDER BY id",
        ids(rows.iter().filter(|r| r.qty.is_none()).map(|r| r.id)),
    );
    // Literals between two integers: `qty < 2.5` is `qty <= 2`.
    check(
        "SELECT id FROM t WHERE qty < 2.5 AND qty > -2.5 ORDER BY id",
        ids(rows
            .iter()
            .filter(|r| r.qty.is_some_and(|q| (-2..=2).contains(&q)))
            .map(|r| r.id)),
    );
    check("SELECT id FROM t WHERE qty = 3.5 ORDER BY id", Vec::new());
    check(
        "SELECT id FROM t WHERE qty <> 0 AND (grp = 'b' OR grp IS NULL) ORDER BY id",
        ids(rows
            .iter()
            .filter(|r| r.qty.is_some_and(|q| q != 0) && matches!(r.grp, Some("b") | None))
            .map(|r| r.id)),
    );
    check(
        "SELECT id FROM t WHERE qty NOT IN (1, 2, 3) AND id < 40 ORDER BY id",
        ids(rows
            .iter()
            .filter(|r| r.qty.is_some_and(|q| !(1..=3).contains(&q)) && r.id < 40)
            .map(|r| r.id)),
    );
    check(
        "SELECT id FROM t WHERE qty NOT BETWEEN -40 AND 40 ORDER BY 1",
        ids(rows
            .iter()
            .filter(|r| r.qty.is_some_and(|q| !(-40..=40).contains(&q)))
            .map(|r| r.id)),
    );
    let first = EPOCH_2020 + 31;
    check(
        &format!(
            "SELECT id FROM t WHERE grp IN ('a', 'c') AND day >= DATE '{}' ORDER BY id",
            date_text(first)
        ),
        ids(rows
            .iter()
            .filter(|r| matches!(r.grp, Some("a" | "c")) && r.day >= 31)
            .map(|r| r.id)),
    );
    // An integer literal against a float column; ties broken by the key.
    let mut by_price: Vec<&Row> = rows.iter().filter(|r| r.price >= 3.0).collect();
    by_price.sort_by(|a, b| b.price.total_cmp(&a.price).then(a.id.cmp(&b.id)));
    check(
        "SELECT id, price FROM t WHERE price >= 3 ORDER BY price DESC, id LIMIT 5",
        by_price
            .iter()
            .take(5)
            .map(|r| json!([r.id, r.price]))
            .collect(),
    );
    check(
        "SELECT id FROM t ORDER BY id DESC LIMIT 3",
        ids([299, 298, 297].into_iter()),
    );
    // LIMIT without ORDER BY goes into the scan: any 4 matching rows.
    let limited = table.rows_of("SELECT id FROM t WHERE id > 5 LIMIT 4");
    assert_eq!(limited.len(), 4);
    assert!(
        limited
            .iter()
            .all(|row| row[0].as_i64().is_some_and(|id| id > 5))
    );
    // Mixed-case names resolve; the literal on the left flips the comparison.
    check("SELECT ID FROM T WHERE 5 > Id ORDER BY iD", ids(0..5));
}

#[test]
fn aggregates_match_plain_rust() {
    let table = load_csv(300);
    let rows = &table.rows;

    let a: Vec<&Row> = rows.iter().filter(|r| r.grp == Some("a")).collect();
    let quantities: Vec<i64> = a.iter().filter_map(|r| r.qty).collect();
    let result = table.rows_of(
        "SELECT COUNT(*), SUM(qty), MIN(price), MAX(day), AVG(qty), COUNT(qty) FROM t WHERE grp = 'a'",
    );
    assert_eq!(result.len(), 1);
    let row = &result[0];
    assert_eq!(row[0], json!(a.len()));
    assert_eq!(row[1], json!(quantities.iter().sum::<i64>()));
    let min_price = a.iter().map(|r| r.price).fold(f64::MAX, f64::min);
    assert!(close(&row[2], min_price), "{row:?}");
    let max_day = a.iter().map(|r| r.day).max().expect("rows");
    assert_eq!(row[3], json!(date_text(EPOCH_2020 + max_day)));
    let average = quantities.iter().sum::<i64>() as f64 / quantities.len() as f64;
    assert!(close(&row[4], average), "{row:?} vs {average}");
    assert_eq!(row[5], json!(quantities.len()));

    // GROUP BY with a null group, which sorts last.
    let grouped = table.rows_of("SELECT grp, COUNT(*), SUM(qty) FROM t GROUP BY grp ORDER BY grp");
    let mut expected = Vec::new();
    for group in [Some("a"), Some("b"), Some("c"), None] {
        let members: Vec<&Row> = rows.iter().filter(|r| r.grp == group).collect();
        let sum: i64 = members.iter().filter_map(|r| r.qty).sum();
        expected.push(json!([group, members.len(), sum]));
    }
    assert_eq!(grouped, expected);

    // ORDER BY an aliased aggregate, descending.
    let by_flag =
        table.rows_of("SELECT flag, MAX(qty) AS top FROM t GROUP BY flag ORDER BY top DESC, flag");
    let mut expected: Vec<(bool, i64)> = [false, true]
        .into_iter()
        .map(|flag| {
            let top = rows
                .iter()
                .filter(|r| r.flag == flag)
                .filter_map(|r| r.qty)
                .max()
                .expect("rows");
            (flag, top)
        })
        .collect();
    expected.sort_by(|x, y| y.1.cmp(&x.1).then(x.0.cmp(&y.0)));
    assert_eq!(
        by_flag,
        expected
            .iter()
            .map(|(flag, top)| json!([flag, top]))
            .collect::<Vec<_>>()
    );

    // A string literal against a date column.
    let window: Vec<&Row> = rows.iter().filter(|r| (4..=19).contains(&r.day)).collect();
    assert_eq!(
        table.rows_of(&format!(
            "SELECT COUNT(qty), COUNT(*) FROM t WHERE day BETWEEN '{}' AND '{}'",
            date_text(EPOCH_2020 + 4),
            date_text(EPOCH_2020 + 19)
        )),
        vec![json!([
            window.iter().filter(|r| r.qty.is_some()).count(),
            window.len()
        ])]
    );

    // No rows and no GROUP BY: one row, COUNT 0, the others null.
    assert_eq!(
        table.rows_of("SELECT COUNT(*), SUM(qty), MAX(grp) FROM t WHERE qty > 1000"),
        vec![json!([0, null, null])]
    );
    // GROUP BY without aggregates lists the distinct values.
    assert_eq!(
        table.rows_of("SELECT grp FROM t GROUP BY grp ORDER BY grp DESC NULLS FIRST"),
        vec![json!([null]), json!(["c"]), json!(["b"]), json!(["a"])]
    );
}

#[test]
fn a_where_pinning_the_key_is_a_point_get() {
    let table = load_csv(50);
    let row = &table.rows[17];
    let object = table.jsonl("SELECT * FROM t WHERE id = 17");
    assert_eq!(
        object["columns"],
        json!(["id", "grp", "qty", "price", "day", "flag"])
    );
    assert_eq!(
        object["rows"],
        json!([[row.id, row.grp, row.qty, row.price, row.date(), row.flag]])
    );
    assert_eq!(object["rows_scanned"], json!(1));
    assert_eq!(object["rows_matched"], json!(1));
    // A residual filter on the fetched row.
    let other = if row.flag { "false" } else { "true" };
    assert_eq!(
        table.rows_of(&format!(
            "SELECT id FROM t WHERE id = 17 AND flag = {other}"
        )),
        Vec::<Value>::new()
    );
    assert_eq!(
        table.rows_of("SELECT COUNT(*), MAX(id) FROM t WHERE id = 1000000"),
        vec![json!([0, null])]
    );
    let explain = tessera(&[
        "query",
        "--db",
        table.db(),
        "--explain",
        "SELECT * FROM t WHERE id = 3",
    ]);
    assert_eq!(explain.code, 0, "{}", explain.stderr);
    assert!(explain.stdout.contains("point get"), "{}", explain.stdout);
    let scan = tessera(&[
        "query",
        "--db",
        table.db(),
        "--explain",
        "SELECT * FROM t WHERE id >= 3",
    ]);
    assert!(scan.stdout.contains("scan"), "{}", scan.stdout);
}

#[test]
fn parquet_decimals_and_dates_match_plain_rust() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let db = directory.path().join("db");
    let parquet = directory.path().join("t.parquet");
    let rows = common::rows(200);
    write_parquet(&parquet, &rows);
    let db_text = db.to_str().expect("utf-8");
    let run = tessera(&[
        "load",
        "--db",
        db_text,
        "--table",
        "t",
        "--input",
        parquet.to_str().expect("utf-8"),
        "--primary-key",
        "id",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.starts_with("loaded 200 rows into t in "),
        "{}",
        run.stdout
    );
    let query = |sql: &str| {
        let run = tessera(&["query", "--db", db_text, "--format", "jsonl", sql]);
        assert_eq!(run.code, 0, "{sql}: {}", run.stderr);
        run.json_lines().remove(0)["rows"].clone()
    };
    // 12.5 against Decimal(15, 2) is 1250; 12.505 lies between 1250 and 1251.
    let expected: Vec<Value> = rows
        .iter()
        .filter(|r| r.price > 12.505 && r.price <= 30.0)
        .map(|r| json!([r.id]))
        .collect();
    assert_eq!(
        query("SELECT id FROM t WHERE price > 12.505 AND price <= 30 ORDER BY id"),
        Value::Array(expected)
    );
    let total: f64 = rows.iter().filter(|r| r.day < 10).map(|r| r.price).sum();
    let result = query(&format!(
        "SELECT SUM(price), AVG(price) FROM t WHERE day < DATE '{}'",
        date_text(EPOCH_2020 + 10)
    ));
    let count = rows.iter().filter(|r| r.day < 10).count() as f64;
    assert!(close(&result[0][0], total), "{result}");
    assert!(close(&result[0][1], total / count), "{result}");
    // Decimals print exactly, with their scale.
    let run = tessera(&[
        "query",
        "--db",
        db_text,
        "--format",
        "jsonl",
        "SELECT price FROM t WHERE id = 0",
    ]);
    assert!(
        run.stdout
            .contains(&format!("\"rows\": [[{:.2}]]", rows[0].price)),
        "{}",
        run.stdout
    );
}
