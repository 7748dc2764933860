//! The grid tree (Tsunami, Ding et al., VLDB 2021): split the space where the workload's
//! skew differs, and give each region a grid of its own.
//!
//! One grid for the whole table spends its partitions evenly, but workloads are not even:
//! recent dates may be queried in narrow ranges and old ones in wide ones, or one region by
//! price and another by quantity. A [`GridTree`] splits the table on a column at a value
//! (rows with smaller keys, and nulls, to the left), recursively, and each leaf holds a
//! [`Grid`] tuned for the queries that reach it. Cells are numbered leaf by leaf, left to
//! right. Every leaf sorts by the same column, so the engine's position models apply in all.

use std::ops::RangeInclusive;

use tessera_codecs::PhysicalKind;

use crate::grid::Grid;
use crate::keys::{Span, column_keys, is_valid};
use crate::layout::{CellId, ColumnSet, Layout, LayoutError, MAX_CELLS, encode_header};
use crate::partition::normalize;
use crate::predicate::Predicate;
use crate::sort::sort_permutation;
use crate::wire::{Reader, Writer};

/// Kind tag of [`GridTree`] in the serialized form.
pub(crate) const KIND_GRID_TREE: u8 = 5;

/// Deepest split nesting a tree may have.
pub const MAX_TREE_DEPTH: usize = 8;

/// A node of a [`GridTree`].
#[derive(Debug, Clone, PartialEq)]
pub enum TreeNode {
    /// A region with its own grid.
    Leaf(Grid),
    /// Rows whose `column` key is below `key` (and nulls) go left, the rest right.
    Split {
        /// The column split on.
        column: String,
        /// Its value kind.
        kind: PhysicalKind,
        /// The split key (see [`crate::keys::scalar_key`]).
        key: f64,
        /// Smaller keys and nulls.
        left: Box<TreeNode>,
        /// Keys at or above `key`.
        right: Box<TreeNode>,
    },
}

impl TreeNode {
    fn depth(&self) -> usize {
        match self {
            Self::Leaf(_) => 0,
            Self::Split { left, right, .. } => 1 + left.depth().max(right.depth()),
        }
    }

    fn leaves<'a>(&'a self, out: &mut Vec<&'a Grid>) {
        match self {
            Self::Leaf(grid) => out.push(grid),
            Self::Split { left, right, .. } => {
                left.leaves(out);
                right.leaves(out);
            }
        }
    }

    fn encode_into(&self, writer: &mut Writer) {
        match self {
            Self::Leaf(grid) => {
                writer.u8(0);
                grid.encode_payload(writer);
            }
            Self::Split {
                column,
                kind,
                key,
                left,
                right,
            } => {
                writer.u8(1);
                writer.string(column);
                writer.kind(*kind);
                writer.f64(*key);
                left.encode_into(writer);
                right.encode_into(writer);
            }
        }
    }

    fn decode_from(reader: &mut Reader<'_>, depth: usize) -> Result<Self, LayoutError> {
        match reader.u8()? {
            0 => Ok(Self::Leaf(Grid::decode_payload(reader)?)),
            1 if depth < MAX_TREE_DEPTH => {
                let column = reader.string()?;
                let kind = reader.kind()?;
                let key = reader.f64()?;
                if key.is_nan() {
                    return Err(reader.error("split key is NaN"));
                }
                let left = Box::new(Self::decode_from(reader, depth + 1)?);
                let right = Box::new(Self::decode_from(reader, depth + 1)?);
                Ok(Self::Split {
                    column,
                    kind,
                    key,
                    left,
                    right,
                })
            }
            1 => Err(reader.error(format!("tree deeper than {MAX_TREE_DEPTH}"))),
            other => Err(reader.error(format!("unknown tree node {other}"))),
        }
    }
}

/// A tree of splits with a grid in every leaf.
#[derive(Debug, Clone, PartialEq)]
pub struct GridTree {
    root: TreeNode,
    /// First cell of each leaf, in leaf order, then the total.
    offsets: Vec<u32>,
}

impl GridTree {
    /// A tree from its root: at most [`MAX_TREE_DEPTH`] deep, every leaf sorted by the same
    /// column, at most [`MAX_CELLS`] cells in all.
    pub fn new(root: TreeNode) -> Result<Self, LayoutError> {
        if root.depth() > MAX_TREE_DEPTH {
            return Err(LayoutError::Invalid(format!(
                "tree deeper than {MAX_TREE_DEPTH}"
            )));
        }
        let mut leaves = Vec::new();
        root.leaves(&mut leaves);
        let sort = leaves.first().and_then(|grid| grid.sort());
        if leaves.iter().any(|grid| grid.sort() != sort) {
            return Err(LayoutError::Invalid(
                "every leaf of a grid tree sorts by the same column".to_owned(),
            ));
        }
        let mut offsets = Vec::with_capacity(leaves.len() + 1);
        let mut total = 0u64;
        for grid in &leaves {
            offsets.push(total as u32);
            total += u64::from(grid.cell_count());
            if total > u64::from(MAX_CELLS) {
                return Err(LayoutError::Invalid(format!("more than {MAX_CELLS} cells")));
            }
        }
        offsets.push(total as u32);
        Ok(Self { root, offsets })
    }

    /// The root node.
    pub fn root(&self) -> &TreeNode {
        &self.root
    }

    /// The grid of the leaf holding `cell` (the last leaf whose first cell is at or below
    /// it) and that first cell; `None` past the tree's cells.
    fn leaf_of(&self, cell: CellId) -> Option<(&Grid, CellId)> {
        if cell >= self.offsets.last().copied().unwrap_or(0) {
            return None;
        }
        let leaf = self
            .offsets
            .partition_point(|&first| first <= cell)
            .saturating_sub(1);
        let offset = self.offsets.get(leaf).copied().unwrap_or(0);
        self.leaf_grids().get(leaf).map(|grid| (*grid, offset))
    }

    fn leaf_grids(&self) -> Vec<&Grid> {
        let mut leaves = Vec::new();
        self.root.leaves(&mut leaves);
        leaves
    }

    /// The leaf of every row.
    fn route(&self, rows: &ColumnSet<'_>) -> Result<Vec<u32>, LayoutError> {
        let mut leaf = vec![0u32; rows.rows()];
        // Depth-first: (node, first leaf index under it, rows that reached it).
        let mut stack = vec![(&self.root, 0u32, (0..rows.rows()).collect::<Vec<usize>>())];
        while let Some((node, first_leaf, reached)) = stack.pop() {
            match node {
                TreeNode::Leaf(_) => {
                    for row in reached {
                        if let Some(slot) = leaf.get_mut(row) {
                            *slot = first_leaf;
                        }
                    }
                }
                TreeNode::Split {
                    column,
                    kind,
                    key,
                    left,
                    right,
                } => {
                    let values = rows.column_of_kind(column, *kind)?;
                    let keys = column_keys(values);
                    let (mut to_left, mut to_right) = (Vec::new(), Vec::new());
                    for row in reached {
                        let goes_left = !is_valid(values, row)
                            || keys.get(row).is_none_or(|&value| value < *key);
                        if goes_left {
                            to_left.push(row);
                        } else {
                            to_right.push(row);
                        }
                    }
                    let mut left_leaves = Vec::new();
                    left.leaves(&mut left_leaves);
                    stack.push((left, first_leaf, to_left));
                    stack.push((right, first_leaf + left_leaves.len() as u32, to_right));
                }
            }
        }
        Ok(leaf)
    }

    fn reach(
        &self,
        node: &TreeNode,
        first_leaf: usize,
        predicate: &Predicate,
        out: &mut Vec<RangeInclusive<CellId>>,
    ) {
        match node {
            TreeNode::Leaf(grid) => {
                let offset = self.offsets.get(first_leaf).copied().unwrap_or(0);
                out.extend(
                    grid.cells(predicate)
                        .into_iter()
                        .map(|range| range.start() + offset..=range.end() + offset),
                );
            }
            TreeNode::Split {
                column,
                kind,
                key,
                left,
                right,
            } => {
                let span = Span::of_filters(predicate.filters_on(column), *kind);
                let reaches_left = span.null || span.intervals.iter().any(|&(low, _)| low < *key);
                let reaches_right = span.intervals.iter().any(|&(_, high)| high >= *key);
                let mut left_leaves = Vec::new();
                left.leaves(&mut left_leaves);
                if reaches_left {
                    self.reach(left, first_leaf, predicate, out);
                }
                if reaches_right {
                    self.reach(right, first_leaf + left_leaves.len(), predicate, out);
                }
            }
        }
    }
}

impl Layout for GridTree {
    fn kind(&self) -> &'static str {
        "grid_tree"
    }

    fn describe(&self) -> String {
        fn walk(node: &TreeNode, out: &mut String) {
            match node {
                TreeNode::Leaf(grid) => out.push_str(&format!("[{}]", grid.describe())),
                TreeNode::Split {
                    column,
                    key,
                    left,
                    right,
                    ..
                } => {
                    out.push_str(&format!("{column} < {key} ? "));
                    walk(left, out);
                    out.push_str(" : ");
                    walk(right, out);
                }
            }
        }
        let mut text = format!(
            "grid tree of {} leaves, {} cells: ",
            self.offsets.len() - 1,
            self.cell_count()
        );
        walk(&self.root, &mut text);
        text
    }

    fn cell_count(&self) -> u32 {
        self.offsets.last().copied().unwrap_or(0).max(1)
    }

    fn columns(&self) -> Vec<String> {
        fn walk(node: &TreeNode, out: &mut Vec<String>) {
            match node {
                TreeNode::Leaf(grid) => {
                    for column in grid.columns() {
                        if !out.contains(&column) {
                            out.push(column);
                        }
                    }
                }
                TreeNode::Split {
                    column,
                    left,
                    right,
                    ..
                } => {
                    if !out.contains(column) {
                        out.push(column.clone());
                    }
                    walk(left, out);
                    walk(right, out);
                }
            }
        }
        let mut columns = Vec::new();
        walk(&self.root, &mut columns);
        columns
    }

    fn sort_column(&self) -> Option<String> {
        self.leaf_grids()
            .first()
            .and_then(|grid| grid.sort_column())
    }

    fn assign(&self, rows: &ColumnSet<'_>) -> Result<Vec<CellId>, LayoutError> {
        let leaf_of_row = self.route(rows)?;
        let mut cells = vec![0; rows.rows()];
        for (leaf, grid) in self.leaf_grids().into_iter().enumerate() {
            if !leaf_of_row.contains(&(leaf as u32)) {
                continue;
            }
            let offset = self.offsets.get(leaf).copied().unwrap_or(0);
            let assigned = grid.assign(rows)?;
            for ((cell, &row_leaf), grid_cell) in cells.iter_mut().zip(&leaf_of_row).zip(assigned) {
                if row_leaf == leaf as u32 {
                    *cell = grid_cell + offset;
                }
            }
        }
        Ok(cells)
    }

    fn order(&self, rows: &ColumnSet<'_>) -> Result<Vec<u32>, LayoutError> {
        match self.leaf_grids().first() {
            Some(grid) => grid.order(rows),
            None => sort_permutation(rows, &[]),
        }
    }

    fn cells(&self, predicate: &Predicate) -> Vec<RangeInclusive<CellId>> {
        let mut out = Vec::new();
        self.reach(&self.root, 0, predicate, &mut out);
        normalize(out)
    }

    fn narrowing(&self, predicate: &Predicate, cell: CellId) -> Predicate {
        match self.leaf_of(cell) {
            Some((grid, offset)) => grid.narrowing(predicate, cell - offset),
            None => predicate.clone(),
        }
    }

    fn narrowing_representative(&self, cell: CellId) -> CellId {
        match self.leaf_of(cell) {
            Some((grid, offset)) => offset + grid.narrowing_representative(cell - offset),
            None => cell,
        }
    }

    fn model_bytes(&self) -> usize {
        self.leaf_grids()
            .iter()
            .map(|grid| grid.model_bytes())
            .sum::<usize>()
            + 24 * self.offsets.len()
    }

    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        encode_header(KIND_GRID_TREE, &mut out);
        let mut writer = Writer::new(out);
        self.root.encode_into(&mut writer);
        writer.finish()
    }
}

/// Reads a tree's payload.
pub(crate) fn decode_tree(reader: &mut Reader<'_>) -> Result<GridTree, LayoutError> {
    let root = TreeNode::decode_from(reader, 0)?;
    let offset = reader.offset();
    GridTree::new(root).map_err(|error| LayoutError::Format {
        offset,
        reason: error.to_string(),
    })
}
