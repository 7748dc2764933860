//! Golden files for every persisted format of `tessera-layout`: each layout kind, a
//! predicate, a workload and a position model, built deterministically from a fixed table.
//! The bytes written today must equal the committed fixtures (so a format change is a
//! deliberate, versioned act), and the committed fixtures must still decode and behave the
//! same (so old catalogs stay readable).
//!
//! To rewrite the fixtures after a deliberate format change (and a version bump):
//! `TESSERA_BLESS=1 cargo test -p tessera-layout --test golden_formats`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers fail loudly on broken setup"
)]

use std::ops::Bound;
use std::path::PathBuf;

use tessera_codecs::{BytesColumn, Column, ColumnValues, LogicalType};
use tessera_layout::{
    ColumnFilter, ColumnSet, Curve, CurveLayout, DimensionMode, DimensionSpec, Grid, GridSpec,
    GridTree, InsertionOrder, Layout, PositionModel, Predicate, Range, Scalar, Sorted, Term,
    TreeNode, Workload, decode_layout, decode_predicate, encode_predicate,
};

/// This package's directory, read when the test runs: cargo sets it then, while the one
/// compiled in may be another checkout's that shared the build.
fn package_dir() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from)
}

fn fixture(name: &str) -> PathBuf {
    package_dir().join("tests/golden").join(name)
}

/// Compares `bytes` with the fixture (or writes it when blessing) and returns the fixture.
fn golden(name: &str, bytes: &[u8]) -> Vec<u8> {
    let path = fixture(name);
    if std::env::var_os("TESSERA_BLESS").is_some() {
        std::fs::write(&path, bytes).unwrap();
    }
    let stored = std::fs::read(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    assert_eq!(
        stored, bytes,
        "{name} changed; bump the format version and bless"
    );
    stored
}

fn table() -> (Vec<String>, Vec<Column>) {
    let rows = 64;
    let ints: Vec<i64> = (0..rows).map(|i| (i * 37) % 101 - 20).collect();
    let floats: Vec<f64> = (0..rows).map(|i| ((i * 13) % 29) as f64 / 4.0).collect();
    let words = ["AIR", "MAIL", "SHIP", "TRUCK"];
    let modes: Vec<&[u8]> = (0..rows)
        .map(|i| words[(i as usize * 7) % 4].as_bytes())
        .collect();
    let validity: Vec<bool> = (0..rows).map(|i| i % 9 != 4).collect();
    let c: Vec<i64> = (0..rows).map(|i| (i * 37) % 101 - 20 + (i % 5)).collect();
    let names = ["a", "b", "mode", "c"].map(str::to_owned).to_vec();
    let columns = vec![
        Column::new(LogicalType::Int64, ColumnValues::Int(ints), Some(validity)).unwrap(),
        Column::new(LogicalType::Float64, ColumnValues::Float(floats), None).unwrap(),
        Column::new(
            LogicalType::Utf8,
            ColumnValues::Bytes(BytesColumn::from_values(modes).unwrap()),
            None,
        )
        .unwrap(),
        Column::new(LogicalType::Int64, ColumnValues::Int(c), None).unwrap(),
    ];
    (names, columns)
}

fn predicates() -> Vec<Predicate> {
    vec![
        Predicate::all(),
        Predicate::all().and(ColumnFilter {
            column: "a".into(),
            terms: vec![
                Term::Range(Range::closed(Scalar::Int(0), Scalar::Int(30))),
                Term::IsNull,
            ],
        }),
        Predicate::all()
            .and(ColumnFilter {
                column: "b".into(),
                terms: vec![Term::Range(Range {
                    low: Bound::Excluded(Scalar::Float(2.5)),
                    high: Bound::Unbounded,
                })],
            })
            .and(ColumnFilter {
                column: "mode".into(),
                terms: vec![Term::Range(Range::point(Scalar::Bytes(b"MAIL".to_vec())))],
            }),
    ]
}

fn layouts(set: &ColumnSet<'_>) -> Vec<(&'static str, Box<dyn Layout>)> {
    let grid = |sort: &str, dimensions: Vec<DimensionSpec>| {
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
    let spec = |column: &str, partitions: u32, mode: DimensionMode| DimensionSpec {
        column: column.to_owned(),
        partitions,
        mode,
    };
    let flood = grid(
        "b",
        vec![
            spec("mode", 4, DimensionMode::Values),
            spec("a", 3, DimensionMode::Ranges),
        ],
    );
    let conditional = grid(
        "mode",
        vec![
            spec("a", 2, DimensionMode::Ranges),
            spec("b", 3, DimensionMode::ConditionalOn("a".into())),
        ],
    );
    let tree = GridTree::new(TreeNode::Split {
        column: "a".into(),
        kind: tessera_codecs::PhysicalKind::Int,
        key: 25.0,
        left: Box::new(TreeNode::Leaf(grid(
            "b",
            vec![spec("a", 2, DimensionMode::Ranges)],
        ))),
        right: Box::new(TreeNode::Leaf(grid(
            "b",
            vec![spec("mode", 4, DimensionMode::Values)],
        ))),
    })
    .unwrap();
    let mapped = Grid::fit(
        set,
        &GridSpec {
            sort_column: Some("c".into()),
            dimensions: vec![spec("mode", 2, DimensionMode::Values)],
            mappings: vec!["a".into()],
        },
    )
    .unwrap();
    let curve_columns = ["a".to_owned(), "b".to_owned()];
    vec![
        ("insertion_order.bin", Box::new(InsertionOrder)),
        (
            "sorted.bin",
            Box::new(Sorted::fit(set, &["a".into(), "b".into()], 5).unwrap()),
        ),
        (
            "z_order.bin",
            Box::new(CurveLayout::fit(set, Curve::ZOrder, &curve_columns, 6).unwrap()),
        ),
        (
            "hilbert.bin",
            Box::new(CurveLayout::fit(set, Curve::Hilbert, &curve_columns, 6).unwrap()),
        ),
        ("grid.bin", Box::new(flood)),
        ("grid_conditional.bin", Box::new(conditional)),
        ("grid_tree.bin", Box::new(tree)),
        ("grid_mapped.bin", Box::new(mapped)),
    ]
}

#[test]
fn every_layout_kind_matches_its_golden_file() {
    let (names, columns) = table();
    let set = ColumnSet::new(&names, &columns).unwrap();
    for (name, layout) in layouts(&set) {
        let stored = golden(name, &layout.encode());
        let decoded = decode_layout(&stored).unwrap();
        assert_eq!(decoded.kind(), layout.kind(), "{name}");
        assert_eq!(
            decoded.assign(&set).unwrap(),
            layout.assign(&set).unwrap(),
            "{name}"
        );
        assert_eq!(
            decoded.order(&set).unwrap(),
            layout.order(&set).unwrap(),
            "{name}"
        );
        for predicate in predicates() {
            assert_eq!(
                decoded.cells(&predicate),
                layout.cells(&predicate),
                "{name}"
            );
        }
    }
}

#[test]
fn the_insertion_order_header_is_fixed() {
    assert_eq!(InsertionOrder.encode(), b"TSLY\x01\x00\x00");
}

#[test]
fn predicates_workloads_and_position_models_match_their_golden_files() {
    let predicates = predicates();
    let stored = golden("predicate.bin", &encode_predicate(&predicates[2]));
    assert_eq!(decode_predicate(&stored).unwrap(), predicates[2]);

    let mut workload = Workload::new(2);
    for predicate in &predicates {
        workload.record(predicate.clone());
    }
    let stored = golden("workload.bin", &workload.encode());
    assert_eq!(Workload::decode(&stored).unwrap(), workload);

    let (_, columns) = table();
    let mut values = match columns[0].values() {
        ColumnValues::Int(values) => values.clone(),
        _ => unreachable!(),
    };
    values.sort_unstable();
    let sorted = Column::new(LogicalType::Int64, ColumnValues::Int(values), None).unwrap();
    let model = PositionModel::fit(&sorted).unwrap();
    let stored = golden("position_model.bin", &model.encode());
    assert_eq!(PositionModel::decode(&stored).unwrap(), model);
}
