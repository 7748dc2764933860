//! The layout conformance check, shared by the `layout_prune` fuzz target and the
//! conformance tests: build a random table (integers, floats, decimals, booleans, strings,
//! nulls, duplicates, empty and one-row tables) and random layouts of every kind fitted on
//! part of it, then check each layout against a naive full scan.
//!
//! For every layout: [`Layout::assign`] is deterministic and within `0..cell_count`;
//! [`Layout::order`] is a permutation that sorts by the sort column (nulls first); the
//! serialized form decodes to a layout that assigns, orders and prunes identically; and for
//! random predicates [`Layout::cells`] returns ascending, disjoint ranges within the layout
//! that include the cell of every matching row (no false negatives), and every matching row
//! also matches [`Layout::narrowing`] for its cell. Damaged serialized
//! layouts must decode to an error or to a layout that answers without panicking.

use std::cmp::Ordering;
use std::ops::{Bound, RangeInclusive};

pub use tessera_codecs::fuzz::ByteSource;
use tessera_codecs::{BytesColumn, Column, ColumnValues, LogicalType};

use crate::curve::{Curve, CurveLayout};
use crate::grid::{DimensionMode, DimensionSpec, Grid, GridSpec};
use crate::keys::{scalar_at, scalar_key};
use crate::layout::{CellId, ColumnSet, InsertionOrder, Layout, decode_layout};
use crate::optimizer::{Constraints, CostModel, optimize};
use crate::predicate::{ColumnFilter, Predicate, Range, Scalar, Term};
use crate::sort::compare_rows;
use crate::sorted::Sorted;
use crate::tree::{GridTree, TreeNode};
use crate::workload::{Workload, decode_predicate, encode_predicate};
use crate::zonemap::PositionModel;

/// A random table for layout tests: columns `i` (integers), `f` (floats), `d` (decimals),
/// `b` (booleans), `s` (strings), `c` (a low-cardinality string code) and `j` (integers
/// correlated with `i`), with nulls and duplicates.
pub fn arbitrary_table(source: &mut ByteSource<'_>) -> Result<(Vec<String>, Vec<Column>), String> {
    let rows = match source.below(8) {
        0 => 0,
        1 => 1,
        2 => 2 + source.below(8),
        _ => source.below(400),
    };
    let null_percent = [0, 0, 5, 30, 100]
        .get(source.below(5))
        .copied()
        .unwrap_or(0);
    let validity = |source: &mut ByteSource<'_>| -> Option<Vec<bool>> {
        (null_percent > 0).then(|| {
            (0..rows)
                .map(|_| source.below(100) >= null_percent)
                .collect()
        })
    };
    let int_spread = [3u64, 50, 10_000, u64::MAX]
        .get(source.below(4))
        .copied()
        .unwrap_or(3);
    let ints: Vec<i64> = (0..rows)
        .map(|_| {
            if int_spread == u64::MAX {
                source.random() as i64
            } else {
                (source.random() % int_spread) as i64 - (int_spread / 3) as i64
            }
        })
        .collect();
    let correlated: Vec<i64> = ints
        .iter()
        .map(|&value| value.wrapping_add((source.random() % 30) as i64))
        .collect();
    let floats: Vec<f64> = (0..rows)
        .map(|_| match source.below(12) {
            0 => f64::NAN,
            1 => -0.0,
            2 => f64::INFINITY,
            3 => f64::NEG_INFINITY,
            4 => 0.0,
            _ => (source.random() % 2_000) as f64 / 7.0 - 100.0,
        })
        .collect();
    let decimals: Vec<i128> = (0..rows)
        .map(|_| (source.random() % 100_000) as i128 - 50_000)
        .collect();
    let bools: Vec<bool> = (0..rows)
        .map(|_| source.random().is_multiple_of(3))
        .collect();
    let alphabet: [&[u8]; 6] = [b"", b"a", b"ab", b"abcdefgh", b"abcdefghij", b"zz"];
    let strings: Vec<Vec<u8>> = (0..rows)
        .map(|_| {
            let mut value = alphabet
                .get(source.below(alphabet.len()))
                .copied()
                .unwrap_or_default()
                .to_vec();
            if source.random().is_multiple_of(2) {
                value.push(b'a' + (source.random() % 4) as u8);
            }
            value
        })
        .collect();
    let codes = ["AIR", "MAIL", "RAIL", "SHIP", "TRUCK", "FOB", "REG AIR"];
    let code_count = 1 + source.below(codes.len());
    let code_values: Vec<&[u8]> = (0..rows)
        .map(|_| {
            codes
                .get(source.below(code_count))
                .map_or(&b""[..], |code| code.as_bytes())
        })
        .collect();
    let error = |error: tessera_codecs::CodecError| error.to_string();
    let bytes_column = |values: Vec<&[u8]>, validity| -> Result<Column, String> {
        Column::new(
            LogicalType::Utf8,
            ColumnValues::Bytes(BytesColumn::from_values(values).map_err(error)?),
            validity,
        )
        .map_err(error)
    };
    let columns = vec![
        Column::new(
            LogicalType::Int64,
            ColumnValues::Int(ints),
            validity(source),
        )
        .map_err(error)?,
        Column::new(
            LogicalType::Float64,
            ColumnValues::Float(floats),
            validity(source),
        )
        .map_err(error)?,
        Column::new(
            LogicalType::Decimal128 {
                precision: 10,
                scale: 2,
            },
            ColumnValues::Decimal(decimals),
            validity(source),
        )
        .map_err(error)?,
        Column::new(
            LogicalType::Boolean,
            ColumnValues::Bool(bools),
            validity(source),
        )
        .map_err(error)?,
        bytes_column(
            strings.iter().map(Vec::as_slice).collect(),
            validity(source),
        )?,
        bytes_column(code_values, validity(source))?,
        Column::new(
            LogicalType::Int64,
            ColumnValues::Int(correlated),
            validity(source),
        )
        .map_err(error)?,
    ];
    let names = ["i", "f", "d", "b", "s", "c", "j"]
        .map(str::to_owned)
        .to_vec();
    Ok((names, columns))
}

/// A random predicate over the table's columns (and, sometimes, a column it lacks), with
/// bounds drawn from its values, so that ranges hit real rows and real edges.
pub fn arbitrary_predicate(
    source: &mut ByteSource<'_>,
    names: &[String],
    columns: &[Column],
) -> Predicate {
    let mut predicate = Predicate::all();
    for _ in 0..source.below(4) {
        let index = source.below(names.len() + 1);
        let (Some(name), Some(column)) = (names.get(index), columns.get(index)) else {
            predicate = predicate.and(ColumnFilter {
                column: "missing".into(),
                terms: vec![Term::IsNull],
            });
            continue;
        };
        let mut terms = Vec::new();
        for _ in 0..source.below(4) {
            let value = |source: &mut ByteSource<'_>| -> Scalar {
                let row = source.below(column.len().max(1));
                match (scalar_at(column, row), source.below(10)) {
                    (_, 0) => Scalar::Int(source.random() as i64 % 100),
                    (Some(value), _) => value,
                    (None, _) => Scalar::Bool(true),
                }
            };
            let term = match source.below(10) {
                0 => Term::IsNull,
                1 => Term::IsNotNull,
                2 | 3 => Term::Range(Range::point(value(source))),
                _ => {
                    let bound = |source: &mut ByteSource<'_>, value: Scalar| match source.below(3) {
                        0 => Bound::Unbounded,
                        1 => Bound::Included(value),
                        _ => Bound::Excluded(value),
                    };
                    let (low, high) = (value(source), value(source));
                    let (low, high) = match low.compare(&high) {
                        Some(Ordering::Greater) if source.chance(80) => (high, low),
                        _ => (low, high),
                    };
                    Term::Range(Range {
                        low: bound(source, low),
                        high: bound(source, high),
                    })
                }
            };
            terms.push(term);
        }
        predicate = predicate.and(ColumnFilter {
            column: name.clone(),
            terms,
        });
    }
    predicate
}

/// Random layouts of every kind, fitted on the first `fit_rows` rows of the table.
fn arbitrary_layouts(
    source: &mut ByteSource<'_>,
    names: &[String],
    columns: &[Column],
    fit_rows: usize,
) -> Result<Vec<Box<dyn Layout>>, String> {
    let fit_columns: Vec<Column> = columns
        .iter()
        .map(|column| prefix_of(column, fit_rows))
        .collect::<Result<_, _>>()?;
    let sample = ColumnSet::new(names, &fit_columns).map_err(|error| error.to_string())?;
    let pick = |source: &mut ByteSource<'_>| {
        names
            .get(source.below(names.len()))
            .cloned()
            .unwrap_or_default()
    };
    let error = |error: crate::LayoutError| error.to_string();
    let mut layouts: Vec<Box<dyn Layout>> = vec![Box::new(InsertionOrder)];
    let key: Vec<String> = (0..1 + source.below(3)).map(|_| pick(source)).collect();
    layouts.push(Box::new(
        Sorted::fit(&sample, &key, 1 + source.below(12) as u32).map_err(error)?,
    ));
    for curve in [Curve::ZOrder, Curve::Hilbert] {
        let mut curve_columns: Vec<String> = Vec::new();
        for _ in 0..1 + source.below(4) {
            let name = pick(source);
            if !curve_columns.contains(&name) {
                curve_columns.push(name);
            }
        }
        layouts.push(Box::new(
            CurveLayout::fit(&sample, curve, &curve_columns, 1 + source.below(20) as u32)
                .map_err(error)?,
        ));
    }
    let sort_column = source.chance(80).then(|| pick(source));
    let grid_spec = |source: &mut ByteSource<'_>| {
        let mut dimensions: Vec<DimensionSpec> = Vec::new();
        for _ in 0..source.below(4) {
            let column = pick(source);
            if dimensions
                .iter()
                .any(|dimension| dimension.column == column)
            {
                continue;
            }
            let mode = match (source.below(3), dimensions.last()) {
                (0, _) => DimensionMode::Values,
                (1, Some(parent)) => DimensionMode::ConditionalOn(parent.column.clone()),
                _ => DimensionMode::Ranges,
            };
            dimensions.push(DimensionSpec {
                column,
                partitions: 1 + source.below(6) as u32,
                mode,
            });
        }
        // Functional mappings between the two correlated integer columns.
        let mappings = match sort_column.as_deref() {
            Some("i") if source.chance(60) => vec!["j".to_owned()],
            Some("j") if source.chance(60) => vec!["i".to_owned()],
            _ => Vec::new(),
        };
        GridSpec {
            sort_column: sort_column.clone(),
            dimensions,
            mappings,
        }
    };
    let spec = grid_spec(source);
    layouts.push(Box::new(Grid::fit(&sample, &spec).map_err(error)?));
    // A tree: a split on a column at the key of one of its values, a grid in each leaf.
    let leaf = |source: &mut ByteSource<'_>| -> Result<TreeNode, String> {
        let spec = grid_spec(source);
        Ok(TreeNode::Leaf(Grid::fit(&sample, &spec).map_err(error)?))
    };
    let split = |source: &mut ByteSource<'_>, left: TreeNode, right: TreeNode| {
        let index = source.below(names.len());
        let column = names.get(index).cloned().unwrap_or_default();
        let values = columns.get(index);
        let key = values
            .and_then(|values| scalar_at(values, source.below(values.len().max(1))))
            .map_or(0.0, |value| scalar_key(&value));
        TreeNode::Split {
            kind: values.map_or(tessera_codecs::PhysicalKind::Int, |values| {
                values.logical().physical()
            }),
            column,
            key,
            left: Box::new(left),
            right: Box::new(right),
        }
    };
    let (first, second) = (leaf(source)?, leaf(source)?);
    let inner = split(source, first, second);
    let third = leaf(source)?;
    let root = split(source, inner, third);
    layouts.push(Box::new(GridTree::new(root).map_err(error)?));
    // The optimizer's choice for a workload of random predicates.
    let workload: Vec<Predicate> = (0..source.below(6))
        .map(|_| arbitrary_predicate(source, names, columns))
        .collect();
    let constraints = Constraints {
        table_rows: columns.first().map_or(0, Column::len) as u64 * 10,
        ..Constraints::default()
    };
    layouts.push(optimize(
        &sample,
        &workload,
        &CostModel::default(),
        &constraints,
    ));
    Ok(layouts)
}

/// The first `rows` rows of a column.
fn prefix_of(column: &Column, rows: usize) -> Result<Column, String> {
    let rows = rows.min(column.len());
    let values = match column.values() {
        ColumnValues::Int(values) => ColumnValues::Int(values.iter().take(rows).copied().collect()),
        ColumnValues::Float(values) => {
            ColumnValues::Float(values.iter().take(rows).copied().collect())
        }
        ColumnValues::Decimal(values) => {
            ColumnValues::Decimal(values.iter().take(rows).copied().collect())
        }
        ColumnValues::Bool(values) => {
            ColumnValues::Bool(values.iter().take(rows).copied().collect())
        }
        ColumnValues::Bytes(values) => ColumnValues::Bytes(
            BytesColumn::from_values(values.iter().take(rows))
                .map_err(|error| error.to_string())?,
        ),
    };
    let validity = column
        .validity()
        .map(|validity| validity.iter().take(rows).copied().collect());
    Column::new(column.logical().clone(), values, validity).map_err(|error| error.to_string())
}

/// Checks every layout kind on a table and predicates built from `data`; `Err` describes
/// the first violation.
pub fn layout_prune(data: &[u8]) -> Result<(), String> {
    let mut source = ByteSource::new(data);
    let (names, columns) = arbitrary_table(&mut source)?;
    let rows = columns.first().map_or(0, Column::len);
    let set = ColumnSet::new(&names, &columns).map_err(|error| error.to_string())?;
    let fit_rows = match source.below(3) {
        0 => rows,
        1 => rows / 2,
        _ => source.below(rows + 1),
    };
    let layouts = arbitrary_layouts(&mut source, &names, &columns, fit_rows)?;
    let predicates: Vec<Predicate> = (0..8)
        .map(|_| arbitrary_predicate(&mut source, &names, &columns))
        .collect();
    let _ = rows;
    for layout in &layouts {
        check_layout(layout.as_ref(), &set, &predicates)?;
        check_damaged(layout.as_ref(), &set, &predicates, &mut source);
    }
    check_serialized_inputs(data, &set);
    check_position_model(&columns, &predicates, &names)?;
    for predicate in &predicates {
        let decoded = decode_predicate(&encode_predicate(predicate))
            .map_err(|error| format!("predicate does not round-trip: {error}"))?;
        if &decoded != predicate && format!("{decoded:?}") != format!("{predicate:?}") {
            return Err(format!("predicate round trip changed {predicate:?}"));
        }
    }
    Ok(())
}

/// Checks one layout on a table against a naive full scan for each predicate (see the
/// module docs for what is checked); `Err` names the layout and the first violation.
pub fn check_layout(
    layout: &dyn Layout,
    set: &ColumnSet<'_>,
    predicates: &[Predicate],
) -> Result<(), String> {
    let row_values: Vec<Vec<Option<Scalar>>> = (0..set.rows())
        .map(|row| {
            set.columns()
                .iter()
                .map(|column| scalar_at(column, row))
                .collect()
        })
        .collect();
    check_layout_rows(layout, set, set.names(), &row_values, predicates)
        .map_err(|problem| format!("{}: {problem}", layout.describe()))
}

fn check_layout_rows(
    layout: &dyn Layout,
    set: &ColumnSet<'_>,
    names: &[String],
    row_values: &[Vec<Option<Scalar>>],
    predicates: &[Predicate],
) -> Result<(), String> {
    let cells = layout.assign(set).map_err(|error| error.to_string())?;
    if cells.len() != set.rows() {
        return Err(format!("{} cells for {} rows", cells.len(), set.rows()));
    }
    if let Some(cell) = cells.iter().find(|&&cell| cell >= layout.cell_count()) {
        return Err(format!("cell {cell} out of {}", layout.cell_count()));
    }
    if layout.assign(set).map_err(|error| error.to_string())? != cells {
        return Err("assign is not deterministic".to_owned());
    }
    let order = layout.order(set).map_err(|error| error.to_string())?;
    let mut seen = vec![false; set.rows()];
    for &row in &order {
        match seen.get_mut(row as usize) {
            Some(slot) if !*slot => *slot = true,
            _ => return Err(format!("order is not a permutation: row {row}")),
        }
    }
    if order.len() != set.rows() {
        return Err("order misses rows".to_owned());
    }
    if let Some(sort) = layout.sort_column() {
        let column = set.column(&sort).map_err(|error| error.to_string())?;
        for pair in order.windows(2) {
            if let [a, b] = pair
                && compare_rows(column, *a as usize, *b as usize) == Ordering::Greater
            {
                return Err(format!("order does not sort by {sort}: rows {a}, {b}"));
            }
        }
    }
    let decoded = decode_layout(&layout.encode()).map_err(|error| error.to_string())?;
    if decoded.encode() != layout.encode() || decoded.kind() != layout.kind() {
        return Err("encode, decode, encode changed the bytes".to_owned());
    }
    if decoded.assign(set).map_err(|error| error.to_string())? != cells {
        return Err("the decoded layout assigns differently".to_owned());
    }
    if decoded.order(set).map_err(|error| error.to_string())? != order {
        return Err("the decoded layout orders differently".to_owned());
    }
    for predicate in predicates {
        let ranges = layout.cells(predicate);
        if decoded.cells(predicate) != ranges {
            return Err(format!(
                "the decoded layout prunes {predicate:?} differently"
            ));
        }
        check_ranges(&ranges, layout.cell_count())?;
        let implied = layout.implied(predicate);
        for (row, values) in row_values.iter().enumerate() {
            let matches = predicate.matches(|name| {
                names
                    .iter()
                    .position(|candidate| candidate == name)
                    .and_then(|index| values.get(index))
                    .and_then(Option::as_ref)
            });
            let cell = cells.get(row).copied().unwrap_or(0);
            let bits = implied.of_cell(cell);
            for (index, filter) in predicate.filters.iter().enumerate().take(64) {
                let value = names
                    .iter()
                    .position(|candidate| *candidate == filter.column)
                    .and_then(|index| values.get(index))
                    .and_then(Option::as_ref);
                if bits & (1 << index) != 0 && !filter.matches(value) {
                    return Err(format!(
                        "row {row} {values:?} in cell {cell} fails {filter:?}, which the layout implies there"
                    ));
                }
            }
            let representative = layout.narrowing_representative(cell);
            // Compared as stored: a NaN bound is not equal to itself.
            if crate::workload::encode_predicate(&layout.narrowing(predicate, representative))
                != crate::workload::encode_predicate(&layout.narrowing(predicate, cell))
            {
                return Err(format!(
                    "cell {cell} narrows {predicate:?} unlike its representative {representative}"
                ));
            }
            if matches {
                let narrowed = layout.narrowing(predicate, cell);
                let still = narrowed.matches(|name| {
                    names
                        .iter()
                        .position(|candidate| candidate == name)
                        .and_then(|index| values.get(index))
                        .and_then(Option::as_ref)
                });
                if !still {
                    return Err(format!(
                        "row {row} {values:?} matches {predicate:?} but not its narrowing {narrowed:?} in cell {cell}"
                    ));
                }
            }
            if matches && !ranges.iter().any(|range| range.contains(&cell)) {
                return Err(format!(
                    "row {row} {values:?} matches {predicate:?} but its cell {cell} is not in {ranges:?}"
                ));
            }
        }
    }
    Ok(())
}

fn check_ranges(ranges: &[RangeInclusive<CellId>], cell_count: u32) -> Result<(), String> {
    for range in ranges {
        if range.start() > range.end() || *range.end() >= cell_count {
            return Err(format!("range {range:?} outside {cell_count} cells"));
        }
    }
    for pair in ranges.windows(2) {
        if let [a, b] = pair
            && a.end() >= b.start()
        {
            return Err(format!(
                "ranges {a:?} and {b:?} are not ascending and disjoint"
            ));
        }
    }
    Ok(())
}

/// Damaged copies of a layout's bytes must decode to an error or to a layout that answers.
fn check_damaged(
    layout: &dyn Layout,
    set: &ColumnSet<'_>,
    predicates: &[Predicate],
    source: &mut ByteSource<'_>,
) {
    let bytes = layout.encode();
    for _ in 0..4 {
        let mut damaged = bytes.clone();
        match source.below(3) {
            0 => damaged.truncate(source.below(bytes.len() + 1)),
            _ => {
                let at = source.below(damaged.len());
                if let Some(byte) = damaged.get_mut(at) {
                    *byte ^= 1 << source.below(8);
                }
            }
        }
        exercise(&damaged, set, predicates);
    }
}

/// Decodes untrusted bytes as a layout and, if they decode, uses the layout.
fn exercise(bytes: &[u8], set: &ColumnSet<'_>, predicates: &[Predicate]) {
    if let Ok(layout) = decode_layout(bytes) {
        let _ = layout.assign(set);
        let _ = layout.order(set);
        for predicate in predicates {
            let _ = check_ranges(&layout.cells(predicate), layout.cell_count());
        }
        let _ = layout.describe();
    }
}

/// The raw input read as every serialized format this crate has.
fn check_serialized_inputs(data: &[u8], set: &ColumnSet<'_>) {
    exercise(data, set, &[Predicate::all()]);
    let _ = decode_predicate(data);
    let _ = Workload::decode(data);
    if let Ok(model) = PositionModel::decode(data) {
        let _ = model.narrow(&ColumnFilter {
            column: String::new(),
            terms: vec![Term::IsNotNull],
        });
    }
}

/// Position models on every column, sorted: the narrowed row range holds every match.
fn check_position_model(
    columns: &[Column],
    predicates: &[Predicate],
    names: &[String],
) -> Result<(), String> {
    for (name, column) in names.iter().zip(columns) {
        let one = [name.clone()];
        let single = [column.clone()];
        let set = ColumnSet::new(&one, &single).map_err(|error| error.to_string())?;
        let order = crate::sort::sort_permutation(&set, &one).map_err(|error| error.to_string())?;
        let sorted: Vec<Option<Scalar>> = order
            .iter()
            .map(|&row| scalar_at(column, row as usize))
            .collect();
        let sorted_column = gather(column, &order)?;
        let model = PositionModel::fit(&sorted_column).map_err(|error| error.to_string())?;
        let model = PositionModel::decode(&model.encode()).map_err(|error| error.to_string())?;
        for filter in predicates
            .iter()
            .flat_map(|predicate| predicate.filters_on(name))
        {
            let range = model.narrow(filter);
            for (row, value) in sorted.iter().enumerate() {
                if filter.matches(value.as_ref()) && !range.contains(&(row as u32)) {
                    return Err(format!(
                        "position model on {name}: row {row} ({value:?}) matches {filter:?} but lies outside {range:?}"
                    ));
                }
            }
        }
    }
    Ok(())
}

/// The rows of a column in the given order.
fn gather(column: &Column, order: &[u32]) -> Result<Column, String> {
    let pick = |row: &u32| *row as usize;
    let values = match column.values() {
        ColumnValues::Int(values) => ColumnValues::Int(
            order
                .iter()
                .filter_map(|row| values.get(pick(row)).copied())
                .collect(),
        ),
        ColumnValues::Float(values) => ColumnValues::Float(
            order
                .iter()
                .filter_map(|row| values.get(pick(row)).copied())
                .collect(),
        ),
        ColumnValues::Decimal(values) => ColumnValues::Decimal(
            order
                .iter()
                .filter_map(|row| values.get(pick(row)).copied())
                .collect(),
        ),
        ColumnValues::Bool(values) => ColumnValues::Bool(
            order
                .iter()
                .filter_map(|row| values.get(pick(row)).copied())
                .collect(),
        ),
        ColumnValues::Bytes(values) => ColumnValues::Bytes(
            BytesColumn::from_values(order.iter().filter_map(|row| values.get(pick(row))))
                .map_err(|error| error.to_string())?,
        ),
    };
    let validity = column.validity().map(|validity| {
        order
            .iter()
            .map(|row| validity.get(pick(row)).copied().unwrap_or(true))
            .collect()
    });
    Column::new(column.logical().clone(), values, validity).map_err(|error| error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conformance_on_many_seeds() {
        for seed in 0u64..200 {
            let seed_bytes = seed.to_le_bytes();
            let mut source = ByteSource::new(&seed_bytes);
            let data: Vec<u8> = (0..64).map(|_| source.random() as u8).collect();
            if let Err(problem) = layout_prune(&data) {
                panic!("seed {seed}: {problem}");
            }
        }
    }
}
