//! SQL outside what `tessera query` accepts is refused before anything is read, naming the
//! construct and its position, with exit code 2.

mod common;

use common::{load_csv, tessera};

#[test]
fn each_unsupported_construct_is_named_with_its_position() {
    let table = load_csv(5);
    let cases = [
        (
            "SELECT * FROM lineitem JOIN orders ON l_orderkey = o_orderkey",
            "unsupported: JOIN at line 1, column 24",
        ),
        (
            "SELECT * FROM t LEFT JOIN u ON t.id = u.id",
            "unsupported: JOIN at line 1, column 17",
        ),
        (
            "SELECT id FROM t UNION SELECT id FROM t",
            "unsupported: UNION at line 1, column 18",
        ),
        (
            "SELECT DISTINCT id FROM t",
            "unsupported: DISTINCT at line 1, column 8",
        ),
        (
            "SELECT id + 1 FROM t",
            "unsupported: operator + at line 1, column 8",
        ),
        (
            "SELECT UPPER(grp) FROM t",
            "unsupported: function UPPER at line 1, column 8",
        ),
        (
            "SELECT grp, COUNT(*) FROM t GROUP BY grp HAVING COUNT(*) > 1",
            "unsupported: HAVING at line 1, column 42",
        ),
        (
            "SELECT id FROM t WHERE id = 1 OR qty = 2",
            "unsupported: OR across columns (id and qty) at line 1, column 24",
        ),
        (
            "SELECT id FROM t WHERE grp LIKE 'a%'",
            "unsupported: condition LIKE at line 1, column 24",
        ),
        (
            "SELECT id FROM t WHERE id = qty",
            "unsupported: comparison of two columns at line 1, column 24",
        ),
        (
            "SELECT id FROM t\nWHERE id IN (SELECT id FROM t)",
            "unsupported: condition subquery at line 2, column 7",
        ),
        (
            "SELECT COUNT(DISTINCT grp) FROM t",
            "unsupported: COUNT(DISTINCT ...) at line 1, column 8",
        ),
        (
            "SELECT id FROM t LIMIT 2 OFFSET 1",
            "unsupported: OFFSET at line 1, column 26",
        ),
        (
            "WITH x AS (SELECT id FROM t) SELECT id FROM x",
            "unsupported: WITH at line 1, column 1",
        ),
        (
            "INSERT INTO t VALUES (1)",
            "unsupported: INSERT statement at line 1, column 1",
        ),
        (
            "SELECT 1",
            "unsupported: SELECT without FROM at line 1, column 1",
        ),
        (
            "SELECT id FROM (SELECT id FROM t)",
            "unsupported: subquery in FROM at line 1, column 17",
        ),
    ];
    for (sql, expected) in cases {
        let run = tessera(&["query", "--db", table.db(), sql]);
        run.assert_error(2, expected);
    }
    let syntax = tessera(&["query", "--db", table.db(), "SELEC id FROM t"]);
    syntax.assert_error(2, "syntax error");
}
