//! The layout contract between policy and engine: which cell a row belongs to, which cells
//! a predicate can touch, and how rows are ordered inside a cell.
//!
//! A [`Layout`] is an immutable, serializable decision. The engine routes every row it
//! compacts through [`Layout::assign`], stores each cell's rows in [`Layout::order`],
//! asks [`Layout::cells`] which cells a scan must visit, and prunes and narrows each cell's
//! blocks with [`Layout::narrowing`]. A layout never sees storage; it sees column values
//! ([`ColumnSet`]) and predicates. The kinds: [`InsertionOrder`], [`crate::Sorted`],
//! [`crate::CurveLayout`] (Z-order, Hilbert), [`crate::Grid`] and [`crate::GridTree`].
//!
//! Every layout serializes to a self-describing byte string: a magic, a format version, a
//! kind tag, then the kind's own payload, all little-endian. [`decode_layout`] reads any
//! kind this build knows and rejects the rest with a typed error.

use std::fmt::Debug;
use std::ops::RangeInclusive;

use tessera_codecs::{Column, PhysicalKind};

use crate::curve::{Curve, CurveLayout, KIND_HILBERT, KIND_Z_ORDER};
use crate::grid::{Grid, KIND_GRID};
use crate::predicate::Predicate;
use crate::sorted::{KIND_SORTED, Sorted};
use crate::tree::{KIND_GRID_TREE, decode_tree};
use crate::wire::Reader;

/// Identifies a cell within one layout: `0..layout.cell_count()`.
pub type CellId = u32;

/// Magic that opens every serialized layout.
pub const LAYOUT_MAGIC: [u8; 4] = *b"TSLY";
/// The serialized layout format version this build writes and reads.
pub const LAYOUT_FORMAT_VERSION: u16 = 1;
/// Most cells any layout may have.
pub const MAX_CELLS: u32 = 1 << 20;

/// Why a layout could not be used or read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LayoutError {
    /// The layout needs a column the rows do not carry.
    #[error("layout needs column {column:?}, which the rows do not carry")]
    MissingColumn {
        /// The column's name.
        column: String,
    },
    /// Columns of one [`ColumnSet`] have different lengths.
    #[error("column {column:?} has {actual} rows, expected {expected}")]
    RaggedColumns {
        /// The offending column.
        column: String,
        /// Rows of the first column.
        expected: usize,
        /// Rows of this column.
        actual: usize,
    },
    /// A serialized layout is damaged or of a kind or version this build does not know.
    #[error("serialized layout is invalid at byte {offset}: {reason}")]
    Format {
        /// Byte offset of the problem.
        offset: usize,
        /// What was wrong.
        reason: String,
    },
    /// A layout's definition is inconsistent (for example a column of the wrong kind).
    #[error("invalid layout: {0}")]
    Invalid(String),
    /// A column holds values of another kind than the layout was built for.
    #[error("column {column:?} holds {actual:?} values, the layout was built for {expected:?}")]
    WrongKind {
        /// The column's name.
        column: String,
        /// The kind the layout was built for.
        expected: PhysicalKind,
        /// The kind the rows carry.
        actual: PhysicalKind,
    },
}

/// Named columns of equal length: the rows a layout assigns to cells or sorts.
#[derive(Debug, Clone, Copy)]
pub struct ColumnSet<'a> {
    names: &'a [String],
    columns: &'a [Column],
    rows: usize,
}

impl<'a> ColumnSet<'a> {
    /// Pairs `names` with `columns` (by position); every column must have the same length.
    pub fn new(names: &'a [String], columns: &'a [Column]) -> Result<Self, LayoutError> {
        let rows = columns.first().map_or(0, Column::len);
        for (name, column) in names.iter().zip(columns) {
            if column.len() != rows {
                return Err(LayoutError::RaggedColumns {
                    column: name.clone(),
                    expected: rows,
                    actual: column.len(),
                });
            }
        }
        Ok(Self {
            names,
            columns,
            rows,
        })
    }

    /// Pairs columns whose lengths the caller has already checked to agree.
    pub(crate) fn trusted(names: &'a [String], columns: &'a [Column]) -> Self {
        Self {
            names,
            columns,
            rows: columns.first().map_or(0, Column::len),
        }
    }

    /// Rows in every column.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// The column names, in order.
    pub fn names(&self) -> &'a [String] {
        self.names
    }

    /// The columns, in order.
    pub fn columns(&self) -> &'a [Column] {
        self.columns
    }

    /// The column called `name`, which must hold values of `kind`.
    pub fn column_of_kind(
        &self,
        name: &str,
        kind: PhysicalKind,
    ) -> Result<&'a Column, LayoutError> {
        let column = self.column(name)?;
        let actual = column.logical().physical();
        if actual == kind {
            Ok(column)
        } else {
            Err(LayoutError::WrongKind {
                column: name.to_owned(),
                expected: kind,
                actual,
            })
        }
    }

    /// The column called `name`.
    pub fn column(&self, name: &str) -> Result<&'a Column, LayoutError> {
        self.names
            .iter()
            .zip(self.columns)
            .find(|(candidate, _)| candidate.as_str() == name)
            .map(|(_, column)| column)
            .ok_or_else(|| LayoutError::MissingColumn {
                column: name.to_owned(),
            })
    }
}

/// A physical layout of one table: rows partitioned into cells, sorted inside each cell.
pub trait Layout: Debug + Send + Sync {
    /// Short name of the layout kind (`insertion_order`, `sorted`, `grid`, ...).
    fn kind(&self) -> &'static str;

    /// One line saying what this layout does, for `stats` and `explain`.
    fn describe(&self) -> String;

    /// Number of cells; cell ids run `0..cell_count()`.
    fn cell_count(&self) -> u32;

    /// Every column [`Self::assign`] and [`Self::order`] read; the engine supplies these.
    fn columns(&self) -> Vec<String>;

    /// The column rows are sorted by inside a cell (the first of a compound key), if any:
    /// the engine keeps an in-block position model on it.
    fn sort_column(&self) -> Option<String>;

    /// The cell of every row of `rows`.
    fn assign(&self, rows: &ColumnSet<'_>) -> Result<Vec<CellId>, LayoutError>;

    /// The order to store the rows of one cell in: a permutation of `0..rows.rows()`.
    fn order(&self, rows: &ColumnSet<'_>) -> Result<Vec<u32>, LayoutError>;

    /// Ranges of cells that may hold rows matching `predicate`, ascending and disjoint.
    /// Never misses a cell holding a match; may name cells holding none.
    fn cells(&self, predicate: &Predicate) -> Vec<RangeInclusive<CellId>>;

    /// Bytes the layout's models take in memory, roughly.
    fn model_bytes(&self) -> usize;

    /// The layout serialized with [`LAYOUT_MAGIC`] and [`LAYOUT_FORMAT_VERSION`], readable by
    /// [`decode_layout`].
    fn encode(&self) -> Vec<u8>;

    /// The predicate to prune and narrow `cell`'s blocks with: `predicate` plus any filters
    /// the layout guarantees for rows of that cell (a grid with a functional mapping adds the
    /// sort-column range a filter on a correlated column implies). Every row of `cell` that
    /// matches `predicate` matches the result, so zone maps and position models may use it
    /// in place of `predicate`; the residual filter must still apply `predicate`.
    fn narrowing(&self, predicate: &Predicate, cell: CellId) -> Predicate {
        let _ = cell;
        predicate.clone()
    }

    /// The filters of `predicate` every row of a cell passes, cell by cell (see
    /// [`Implied`]): a scan need not run them over that cell's rows. The default knows of
    /// none.
    fn implied(&self, predicate: &Predicate) -> Implied {
        let _ = predicate;
        Implied::none()
    }

    /// A cell whose [`Self::narrowing`] of every predicate equals `cell`'s: a scan narrows
    /// once per representative rather than once per cell (a grid's cells share one
    /// narrowing, its outliers another). The default narrowing ignores the cell, so every
    /// cell has cell 0 for representative; a layout overriding the narrowing overrides this.
    fn narrowing_representative(&self, cell: CellId) -> CellId {
        let _ = cell;
        0
    }
}

/// Which filters of a predicate every row of a cell passes, from a layout's cuts: filter
/// `i` of the predicate is bit `i` of [`Implied::of_cell`] (filters past the 64th never are).
/// For a grid, a filter on a cut column is implied for the cells of the partitions that lie
/// wholly inside one of its ranges.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Implied {
    /// Cells below this one are the grid's; the rest (outliers) imply nothing.
    pub(crate) cells: CellId,
    /// One entry per (dimension, filter) pair that implies anything.
    pub(crate) cuts: Vec<ImpliedCut>,
}

/// One dimension's partitions a filter covers.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ImpliedCut {
    /// Cells per partition of the dimension (the product of the later dimensions' counts).
    pub(crate) below: u64,
    /// Partitions of the dimension.
    pub(crate) count: u64,
    /// Per partition: whether every row in it passes the filter.
    pub(crate) covered: Vec<bool>,
    /// The filter's bit.
    pub(crate) bit: u64,
}

impl Implied {
    /// Nothing implied anywhere.
    pub fn none() -> Self {
        Self::default()
    }

    /// The filters every row of `cell` passes, a bit each.
    pub fn of_cell(&self, cell: CellId) -> u64 {
        if cell >= self.cells {
            return 0;
        }
        let cell = u64::from(cell);
        self.cuts
            .iter()
            .filter(|cut| {
                let partition = cell / cut.below.max(1) % cut.count.max(1);
                cut.covered
                    .get(partition as usize)
                    .copied()
                    .unwrap_or(false)
            })
            .fold(0, |bits, cut| bits | cut.bit)
    }
}

/// Kind tag of [`InsertionOrder`] in the serialized form.
const KIND_INSERTION_ORDER: u8 = 0;

/// Writes the common header of a serialized layout.
pub fn encode_header(kind: u8, out: &mut Vec<u8>) {
    out.extend_from_slice(&LAYOUT_MAGIC);
    out.extend_from_slice(&LAYOUT_FORMAT_VERSION.to_le_bytes());
    out.push(kind);
}

/// Reads any serialized layout this build knows. Kinds (the byte after the version):
/// 0 insertion order, 1 sorted, 2 Z-order, 3 Hilbert, 4 grid, 5 grid tree.
pub fn decode_layout(bytes: &[u8]) -> Result<Box<dyn Layout>, LayoutError> {
    let mut reader = Reader::new(bytes, 0);
    let short = |_| LayoutError::Format {
        offset: bytes.len(),
        reason: "shorter than the layout header".to_owned(),
    };
    let magic = [reader.u8(), reader.u8(), reader.u8(), reader.u8()];
    let magic: Vec<u8> = magic.into_iter().collect::<Result<_, _>>().map_err(short)?;
    if magic != LAYOUT_MAGIC {
        return Err(LayoutError::Format {
            offset: 0,
            reason: "bad magic".to_owned(),
        });
    }
    let version = reader.u16().map_err(short)?;
    if version != LAYOUT_FORMAT_VERSION {
        return Err(LayoutError::Format {
            offset: 4,
            reason: format!("unknown format version {version}"),
        });
    }
    let kind = reader.u8().map_err(short)?;
    let layout: Box<dyn Layout> = match kind {
        KIND_INSERTION_ORDER => Box::new(InsertionOrder),
        KIND_SORTED => Box::new(Sorted::decode_payload(&mut reader)?),
        KIND_Z_ORDER => Box::new(CurveLayout::decode_payload(&mut reader, Curve::ZOrder)?),
        KIND_HILBERT => Box::new(CurveLayout::decode_payload(&mut reader, Curve::Hilbert)?),
        KIND_GRID => Box::new(Grid::decode_payload(&mut reader)?),
        KIND_GRID_TREE => Box::new(decode_tree(&mut reader)?),
        kind => {
            return Err(LayoutError::Format {
                offset: 6,
                reason: format!("unknown layout kind {kind}"),
            });
        }
    };
    reader.finish()?;
    Ok(layout)
}

/// The baseline: one cell, rows kept in arrival order. Scans prune only by zone maps.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InsertionOrder;

impl Layout for InsertionOrder {
    fn kind(&self) -> &'static str {
        "insertion_order"
    }

    fn describe(&self) -> String {
        "insertion order: one cell, rows in arrival order".to_owned()
    }

    fn cell_count(&self) -> u32 {
        1
    }

    fn columns(&self) -> Vec<String> {
        Vec::new()
    }

    fn sort_column(&self) -> Option<String> {
        None
    }

    fn assign(&self, rows: &ColumnSet<'_>) -> Result<Vec<CellId>, LayoutError> {
        Ok(vec![0; rows.rows()])
    }

    fn order(&self, rows: &ColumnSet<'_>) -> Result<Vec<u32>, LayoutError> {
        Ok((0..rows.rows() as u32).collect())
    }

    fn cells(&self, _predicate: &Predicate) -> Vec<RangeInclusive<CellId>> {
        vec![0..=0]
    }

    fn model_bytes(&self) -> usize {
        0
    }

    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(7);
        encode_header(KIND_INSERTION_ORDER, &mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_codecs::{ColumnValues, LogicalType};

    #[test]
    fn insertion_order_round_trips_and_keeps_everything_in_one_cell() {
        let layout = InsertionOrder;
        let bytes = layout.encode();
        assert_eq!(bytes, b"TSLY\x01\x00\x00");
        let decoded = decode_layout(&bytes).unwrap();
        assert_eq!(decoded.kind(), "insertion_order");
        let names = vec!["a".to_owned()];
        let columns =
            vec![Column::new(LogicalType::Int64, ColumnValues::Int(vec![3, 1, 2]), None).unwrap()];
        let set = ColumnSet::new(&names, &columns).unwrap();
        assert_eq!(decoded.assign(&set).unwrap(), vec![0, 0, 0]);
        assert_eq!(decoded.order(&set).unwrap(), vec![0, 1, 2]);
        assert_eq!(decoded.cells(&Predicate::all()), vec![0..=0]);
    }

    #[test]
    fn damaged_layouts_are_typed_errors() {
        for bytes in [
            &b""[..],
            b"TSL",
            b"XXLY\x01\x00\x00",
            b"TSLY\x02\x00\x00",
            b"TSLY\x01\x00\x09",
            b"TSLY\x01\x00\x00extra",
        ] {
            assert!(matches!(
                decode_layout(bytes),
                Err(LayoutError::Format { .. })
            ));
        }
    }

    #[test]
    fn ragged_column_sets_are_rejected() {
        let names = vec!["a".to_owned(), "b".to_owned()];
        let columns = vec![
            Column::new(LogicalType::Int64, ColumnValues::Int(vec![1, 2]), None).unwrap(),
            Column::new(LogicalType::Int64, ColumnValues::Int(vec![1]), None).unwrap(),
        ];
        assert!(matches!(
            ColumnSet::new(&names, &columns),
            Err(LayoutError::RaggedColumns { .. })
        ));
    }
}
