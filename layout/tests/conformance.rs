//! The layout conformance suite: every layout kind, on random and on edge-case tables, must
//! prune without false negatives, assign deterministically within range, order by a
//! permutation sorted on its sort column, and round-trip through its serialized form with
//! identical behaviour. The random part is the `layout_prune` fuzz target's check, driven
//! here by proptest (which shrinks a failure to a small input); the edge cases are spelled
//! out so that each is covered on every run.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers fail loudly on broken setup"
)]

use std::ops::Bound;

use proptest::prelude::*;
use tessera_codecs::{BytesColumn, Column, ColumnValues, LogicalType};
use tessera_layout::fuzz::{check_layout, layout_prune};
use tessera_layout::optimizer::{Constraints, CostModel, optimize};
use tessera_layout::{
    ColumnFilter, ColumnSet, Curve, CurveLayout, DimensionMode, DimensionSpec, Grid, GridSpec,
    GridTree, InsertionOrder, Layout, Predicate, Range, Scalar, Sorted, Term, TreeNode,
};

proptest! {
    #![proptest_config(ProptestConfig { cases: 192, ..ProptestConfig::default() })]

    #[test]
    fn random_tables_layouts_and_predicates(data in proptest::collection::vec(any::<u8>(), 0..192)) {
        if let Err(problem) = layout_prune(&data) {
            prop_assert!(false, "{}", problem);
        }
    }
}

fn ints(values: Vec<i64>, validity: Option<Vec<bool>>) -> Column {
    Column::new(LogicalType::Int64, ColumnValues::Int(values), validity).unwrap()
}

fn strings(values: &[&str], validity: Option<Vec<bool>>) -> Column {
    Column::new(
        LogicalType::Utf8,
        ColumnValues::Bytes(BytesColumn::from_values(values.iter().map(|v| v.as_bytes())).unwrap()),
        validity,
    )
    .unwrap()
}

fn floats(values: Vec<f64>, validity: Option<Vec<bool>>) -> Column {
    Column::new(LogicalType::Float64, ColumnValues::Float(values), validity).unwrap()
}

/// Every layout kind fitted on `set` (columns `x`, `y`, `z`).
fn every_kind(set: &ColumnSet<'_>) -> Vec<Box<dyn Layout>> {
    let spec = |column: &str, partitions, mode| DimensionSpec {
        column: column.to_owned(),
        partitions,
        mode,
    };
    let grid = |sort: &str, dimensions| {
        Grid::fit(
            set,
            &GridSpec {
                sort_column: Some(sort.to_owned()),
                dimensions,
                mappings: Vec::new(),
            },
        )
        .unwrap()
    };
    let xy = ["x".to_owned(), "y".to_owned()];
    let xyz = ["x".to_owned(), "y".to_owned(), "z".to_owned()];
    vec![
        Box::new(InsertionOrder),
        Box::new(Sorted::fit(set, &xy, 7).unwrap()),
        Box::new(CurveLayout::fit(set, Curve::ZOrder, &xyz, 9).unwrap()),
        Box::new(CurveLayout::fit(set, Curve::Hilbert, &xyz, 9).unwrap()),
        Box::new(grid(
            "x",
            vec![
                spec("z", 3, DimensionMode::Values),
                spec("y", 4, DimensionMode::Ranges),
            ],
        )),
        Box::new(grid(
            "z",
            vec![
                spec("x", 3, DimensionMode::Ranges),
                spec("y", 3, DimensionMode::ConditionalOn("x".into())),
            ],
        )),
        Box::new(
            GridTree::new(TreeNode::Split {
                column: "y".into(),
                kind: tessera_codecs::PhysicalKind::Float,
                key: 1.5,
                left: Box::new(TreeNode::Leaf(grid(
                    "x",
                    vec![spec("z", 2, DimensionMode::Values)],
                ))),
                right: Box::new(TreeNode::Leaf(grid(
                    "x",
                    vec![spec("y", 5, DimensionMode::Ranges)],
                ))),
            })
            .unwrap(),
        ),
    ]
}

fn predicates() -> Vec<Predicate> {
    let range = |column: &str, low: Scalar, high: Scalar| ColumnFilter {
        column: column.to_owned(),
        terms: vec![Term::Range(Range::closed(low, high))],
    };
    vec![
        Predicate::all(),
        Predicate::all().and(range("x", Scalar::Int(2), Scalar::Int(4))),
        Predicate::all().and(ColumnFilter {
            column: "x".into(),
            terms: vec![Term::IsNull],
        }),
        Predicate::all().and(ColumnFilter {
            column: "z".into(),
            terms: vec![
                Term::Range(Range::point(Scalar::Bytes(b"b".to_vec()))),
                Term::Range(Range::point(Scalar::Bytes(b"unseen".to_vec()))),
            ],
        }),
        Predicate::all()
            .and(range("y", Scalar::Float(-0.0), Scalar::Float(1.0)))
            .and(ColumnFilter {
                column: "x".into(),
                terms: vec![Term::IsNotNull],
            }),
        Predicate::all().and(ColumnFilter {
            column: "y".into(),
            terms: vec![Term::Range(Range {
                low: Bound::Excluded(Scalar::Float(f64::INFINITY)),
                high: Bound::Unbounded,
            })],
        }),
        Predicate::all().and(ColumnFilter {
            column: "x".into(),
            terms: vec![],
        }),
        // A comparison across kinds matches nothing, and must not prune wrongly either.
        Predicate::all().and(range("x", Scalar::Float(0.0), Scalar::Float(9.0))),
    ]
}

fn check_every_kind(names: &[String], columns: &[Column]) {
    let set = ColumnSet::new(names, columns).unwrap();
    for layout in every_kind(&set) {
        check_layout(layout.as_ref(), &set, &predicates()).unwrap();
    }
    let learned = optimize(
        &set,
        &predicates(),
        &CostModel::default(),
        &Constraints::default(),
    );
    check_layout(learned.as_ref(), &set, &predicates()).unwrap();
}

fn names() -> Vec<String> {
    ["x", "y", "z"].map(str::to_owned).to_vec()
}

#[test]
fn empty_tables() {
    check_every_kind(
        &names(),
        &[ints(vec![], None), floats(vec![], None), strings(&[], None)],
    );
}

#[test]
fn one_row_tables() {
    check_every_kind(
        &names(),
        &[
            ints(vec![3], None),
            floats(vec![1.0], None),
            strings(&["b"], None),
        ],
    );
    check_every_kind(
        &names(),
        &[
            ints(vec![3], Some(vec![false])),
            floats(vec![f64::NAN], None),
            strings(&[""], Some(vec![false])),
        ],
    );
}

#[test]
fn all_nulls_and_heavy_duplicates() {
    let rows = 500;
    check_every_kind(
        &names(),
        &[
            ints(vec![0; rows], Some(vec![false; rows])),
            floats((0..rows).map(|i| (i % 2) as f64).collect(), None),
            strings(&vec!["a"; rows], None),
        ],
    );
    check_every_kind(
        &names(),
        &[
            ints((0..rows as i64).map(|i| i / 100).collect(), None),
            floats(
                (0..rows)
                    .map(|i| [f64::NEG_INFINITY, -0.0, 0.0, 2.0, f64::NAN][i % 5])
                    .collect(),
                Some((0..rows).map(|i| i % 7 != 0).collect()),
            ),
            strings(
                &(0..rows)
                    .map(|i| ["a", "b", "c", "ab"][i % 4])
                    .collect::<Vec<_>>(),
                Some((0..rows).map(|i| i % 11 != 0).collect()),
            ),
        ],
    );
}

#[test]
fn value_sets_prune_equality_exactly() {
    let modes = ["AIR", "MAIL", "RAIL", "SHIP", "TRUCK"];
    let rows: Vec<&str> = (0..1_000).map(|i| modes[i % 5]).collect();
    let names = ["mode".to_owned(), "k".to_owned()];
    let columns = vec![strings(&rows, None), ints((0..1_000).collect(), None)];
    let set = ColumnSet::new(&names, &columns).unwrap();
    let grid = Grid::fit(
        &set,
        &GridSpec {
            sort_column: Some("k".into()),
            mappings: Vec::new(),
            dimensions: vec![DimensionSpec {
                column: "mode".into(),
                partitions: 5,
                mode: DimensionMode::Values,
            }],
        },
    )
    .unwrap();
    let assigned = grid.assign(&set).unwrap();
    for mode in modes {
        let cells = grid.cells(&Predicate::all().and(ColumnFilter {
            column: "mode".into(),
            terms: vec![Term::Range(Range::point(Scalar::Bytes(
                mode.as_bytes().to_vec(),
            )))],
        }));
        // Exactly the rows of that mode, nothing else.
        let visited = assigned
            .iter()
            .zip(&rows)
            .filter(|(cell, _)| cells.iter().any(|range| range.contains(cell)));
        assert!(visited.clone().all(|(_, row_mode)| *row_mode == mode));
        assert_eq!(visited.count(), 200);
    }
}

#[test]
fn conditional_partitions_keep_correlated_cells_full() {
    // y follows x within 30: a plain grid leaves most (x, y) cells empty.
    let (x, y) = trailing_pair(1);
    let names = ["x".to_owned(), "y".to_owned()];
    let columns = vec![ints(x, None), ints(y, None)];
    let set = ColumnSet::new(&names, &columns).unwrap();
    let fit = |mode| {
        Grid::fit(
            &set,
            &GridSpec {
                sort_column: None,
                mappings: Vec::new(),
                dimensions: vec![
                    DimensionSpec {
                        column: "x".into(),
                        partitions: 16,
                        mode: DimensionMode::Ranges,
                    },
                    DimensionSpec {
                        column: "y".into(),
                        partitions: 16,
                        mode,
                    },
                ],
            },
        )
        .unwrap()
    };
    let empty_cells = |grid: &Grid| {
        let mut counts = vec![0usize; grid.cell_count() as usize];
        for cell in grid.assign(&set).unwrap() {
            counts[cell as usize] += 1;
        }
        counts.iter().filter(|&&count| count == 0).count()
    };
    let plain = fit(DimensionMode::Ranges);
    let conditional = fit(DimensionMode::ConditionalOn("x".into()));
    assert!(empty_cells(&plain) > 150, "{} empty", empty_cells(&plain));
    assert_eq!(empty_cells(&conditional), 0);
}

#[test]
fn a_mapped_column_prunes_the_sort_columns_partitions() {
    // c trails the sort column s by 1 to 30; s is also cut into 16 ranges.
    let (s, c) = trailing_pair(-1);
    let names = ["s".to_owned(), "c".to_owned()];
    let columns = vec![ints(s, None), ints(c.clone(), None)];
    let set = ColumnSet::new(&names, &columns).unwrap();
    let grid = Grid::fit(
        &set,
        &GridSpec {
            sort_column: Some("s".into()),
            mappings: vec!["c".into()],
            dimensions: vec![DimensionSpec {
                column: "s".into(),
                partitions: 16,
                mode: DimensionMode::Ranges,
            }],
        },
    )
    .unwrap();
    let assigned = grid.assign(&set).unwrap();
    for (low, high) in [(1_000, 1_010), (0, 40), (2_400, 2_600), (5_000, 6_000)] {
        let predicate = Predicate::all().and(ColumnFilter {
            column: "c".into(),
            terms: vec![Term::Range(Range {
                low: Bound::Included(Scalar::Int(low)),
                high: Bound::Included(Scalar::Int(high)),
            })],
        });
        let cells = grid.cells(&predicate);
        let visited = |cell: &u32| cells.iter().any(|range| range.contains(cell));
        // No false negatives: every matching row's cell is visited.
        for (cell, &value) in assigned.iter().zip(&c) {
            if (low..=high).contains(&value) {
                assert!(
                    visited(cell),
                    "c = {value} in cell {cell}, not in {cells:?}"
                );
            }
        }
        // The filter on c alone leaves at most two of the 16 ship-date partitions (and the
        // outlier cell), where without the mapping it left all of them.
        let count: u32 = cells
            .iter()
            .map(|range| range.end() - range.start() + 1)
            .sum();
        assert!(
            count <= 3,
            "[{low}, {high}]: {count} cells of {}",
            grid.cell_count()
        );
    }
}

/// 20,000 values spread over 0..2,500, and beside each one that differs from it by 1 to 30
/// in `direction` (1: above it, -1: below it).
fn trailing_pair(direction: i64) -> (Vec<i64>, Vec<i64>) {
    let hash = |value: u64| {
        let mixed = (value ^ (value >> 31)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        mixed ^ (mixed >> 29)
    };
    let first: Vec<i64> = (0..20_000u64).map(|i| (hash(i) % 2_500) as i64).collect();
    let second = first
        .iter()
        .zip(0u64..)
        .map(|(&v, i)| v + direction * (1 + (hash(i + 1_000_000) % 30) as i64))
        .collect();
    (first, second)
}
