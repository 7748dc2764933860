//! The learned grid (Flood, Nathan et al., SIGMOD 2020), with Tsunami's conditional
//! partitioning for correlated columns.
//!
//! Rows are sorted by one column inside each cell; the cells form a grid over other columns,
//! each cut into partitions by a [`Partitioner`]: equal-mass ranges from a CDF model, or
//! value sets for low-cardinality columns. The number of partitions per column is the
//! optimizer's choice. A query visits the grid cells its filters can reach; inside each the
//! engine narrows to the sort column's range with its position models.
//!
//! Correlated columns waste cells in a plain grid: with ship date and receipt date both
//! cut in 10, most of the 100 cells are empty because a receipt follows its shipment by at
//! most a month. A [`Split::Conditional`] dimension is cut separately inside each partition
//! of an earlier dimension, by a CDF model fitted on just those rows (Tsunami's conditional
//! CDFs), so every cell holds about the same number of rows.
//!
//! A correlated column can also be folded into the sort column instead of being cut at all
//! (Tsunami's functional mappings): a [`Mapping`] records that, for the rows of the grid's
//! cells, `key(sort) − key(column)` lies in `[low, high]` (ship date minus receipt date lies
//! in `[−30, −1]`), so a filter on the column implies a range on the sort column, which the
//! engine narrows by ([`Layout::narrowing`]); when the sort column is itself a dimension, the
//! same range also picks the cells a query visits. Rows that break a mapping (or are null in
//! either column, or beyond 2^52 where keys stop being exact) go to one extra outlier cell,
//! which every query visits and which is never narrowed, so the guarantee holds for any data.

use std::ops::{Bound, RangeInclusive};

use tessera_codecs::PhysicalKind;

use crate::keys::{Span, column_keys, is_valid};
use crate::layout::{
    CellId, ColumnSet, Implied, ImpliedCut, Layout, LayoutError, MAX_CELLS, encode_header,
};
use crate::partition::{Partitioner, normalize};
use crate::predicate::{ColumnFilter, Predicate, Range, Scalar, Term};
use crate::sort::sort_permutation;
use crate::wire::{Reader, Writer};

/// Kind tag of [`Grid`] in the serialized form.
pub(crate) const KIND_GRID: u8 = 4;

/// Most dimensions of a grid.
pub const MAX_GRID_DIMENSIONS: usize = 8;

/// How one grid dimension is cut.
#[derive(Debug, Clone, PartialEq)]
pub enum Split {
    /// One partitioner for all rows.
    Independent(Partitioner),
    /// Cut separately within each partition of an earlier dimension.
    Conditional {
        /// Index of the earlier dimension.
        parent: usize,
        /// Partitions in every parent partition.
        count: u32,
        /// One range partitioner per partition of the parent, each with `count` partitions.
        per_parent: Vec<Partitioner>,
    },
}

/// One dimension of a grid.
#[derive(Debug, Clone, PartialEq)]
pub struct Dimension {
    /// The column cut.
    pub column: String,
    /// Its value kind.
    pub kind: PhysicalKind,
    /// How it is cut.
    pub split: Split,
}

impl Dimension {
    /// Number of partitions.
    pub fn count(&self) -> u32 {
        match &self.split {
            Split::Independent(partitioner) => partitioner.count(),
            Split::Conditional { count, .. } => *count,
        }
    }
}

/// How a [`GridSpec`] dimension is to be cut.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DimensionMode {
    /// Equal-mass ranges.
    Ranges,
    /// Value sets (for columns with few distinct values).
    Values,
    /// Equal-mass ranges within each partition of the named, earlier dimension.
    ConditionalOn(String),
}

/// One dimension of a [`GridSpec`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DimensionSpec {
    /// The column.
    pub column: String,
    /// Partitions (value sets: groups of values, plus one for unseen values).
    pub partitions: u32,
    /// How to cut.
    pub mode: DimensionMode,
}

/// What [`Grid::fit`] builds: a sort column and the grid's dimensions.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GridSpec {
    /// The column rows are sorted by inside a cell.
    pub sort_column: Option<String>,
    /// The dimensions, outermost first.
    pub dimensions: Vec<DimensionSpec>,
    /// Integer columns mapped onto the (integer) sort column: the offset range is learned
    /// from the sample.
    pub mappings: Vec<String>,
}

/// A functional mapping: for rows outside the outlier cell,
/// `key(sort) − key(column)` lies in `[low, high]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Mapping {
    /// The mapped column (integer kind).
    pub column: String,
    /// Smallest offset.
    pub low: f64,
    /// Largest offset.
    pub high: f64,
}

/// The product of the dimensions' partition counts, saturating.
fn product_of_counts(dimensions: &[Dimension]) -> u32 {
    dimensions
        .iter()
        .map(Dimension::count)
        .fold(1u32, u32::saturating_mul)
}

/// Largest magnitude of an integer key a mapping treats as exact (f64 holds integers up to
/// 2^53 exactly; one bit of headroom keeps differences exact too).
const MAPPED_KEY_MAX: f64 = (1u64 << 52) as f64;

/// A sort column plus a grid of learned partitions over other columns.
#[derive(Debug, Clone, PartialEq)]
pub struct Grid {
    sort: Option<(String, PhysicalKind)>,
    dimensions: Vec<Dimension>,
    mappings: Vec<Mapping>,
    /// Cells of the grid proper (without the outlier cell), the product of the dimensions'
    /// partitions: kept, as a scan asks for the outlier cell once per run it visits.
    grid_cells: u32,
}

impl Grid {
    /// Fits a grid on a sample.
    pub fn fit(sample: &ColumnSet<'_>, spec: &GridSpec) -> Result<Self, LayoutError> {
        let sort = match &spec.sort_column {
            Some(name) => Some((name.clone(), sample.column(name)?.logical().physical())),
            None => None,
        };
        let mut dimensions: Vec<Dimension> = Vec::with_capacity(spec.dimensions.len());
        let mut assigned: Vec<Vec<u32>> = Vec::new();
        for dimension in &spec.dimensions {
            let column = sample.column(&dimension.column)?;
            let kind = column.logical().physical();
            let split = match &dimension.mode {
                DimensionMode::Ranges => {
                    Split::Independent(Partitioner::ranges(column, dimension.partitions))
                }
                DimensionMode::Values => {
                    Split::Independent(Partitioner::values(column, dimension.partitions))
                }
                DimensionMode::ConditionalOn(parent_name) => {
                    let parent = dimensions
                        .iter()
                        .position(|earlier| &earlier.column == parent_name)
                        .ok_or_else(|| {
                            LayoutError::Invalid(format!(
                                "{} is conditioned on {parent_name}, which is not an earlier dimension",
                                dimension.column
                            ))
                        })?;
                    let parent_count = dimensions.get(parent).map_or(1, Dimension::count);
                    let parent_rows = assigned.get(parent).cloned().unwrap_or_default();
                    let keys = column_keys(column);
                    let mut per_parent_keys = vec![Vec::new(); parent_count as usize];
                    for (row, (&key, &partition)) in keys.iter().zip(&parent_rows).enumerate() {
                        if is_valid(column, row)
                            && let Some(bucket) = per_parent_keys.get_mut(partition as usize)
                        {
                            bucket.push(key);
                        }
                    }
                    Split::Conditional {
                        parent,
                        count: dimension.partitions.max(1),
                        per_parent: per_parent_keys
                            .iter()
                            .map(|keys| Partitioner::ranges_of_keys(keys, dimension.partitions))
                            .collect(),
                    }
                }
            };
            dimensions.push(Dimension {
                column: dimension.column.clone(),
                kind,
                split,
            });
            let grid = Self {
                sort: None,
                grid_cells: product_of_counts(&dimensions),
                dimensions: dimensions.clone(),
                mappings: Vec::new(),
            };
            assigned = grid.partitions_of_rows(sample)?;
        }
        let mut mappings = Vec::with_capacity(spec.mappings.len());
        if let Some((sort_name, _)) = &sort {
            for column in &spec.mappings {
                mappings.push(fit_mapping(sample, sort_name, column)?);
            }
        } else if !spec.mappings.is_empty() {
            return Err(LayoutError::Invalid(
                "a functional mapping needs a sort column".to_owned(),
            ));
        }
        Self::with_mappings(sort, dimensions, mappings)
    }

    /// A grid from its parts, checked: dimensions within limits, conditional parents
    /// earlier, at most [`MAX_CELLS`] cells.
    pub fn new(
        sort: Option<(String, PhysicalKind)>,
        dimensions: Vec<Dimension>,
    ) -> Result<Self, LayoutError> {
        Self::with_mappings(sort, dimensions, Vec::new())
    }

    /// [`Self::new`] with functional mappings, which need an integer sort column, integer
    /// mapped columns and finite offset ranges.
    pub fn with_mappings(
        sort: Option<(String, PhysicalKind)>,
        dimensions: Vec<Dimension>,
        mappings: Vec<Mapping>,
    ) -> Result<Self, LayoutError> {
        if !mappings.is_empty() && !matches!(sort, Some((_, PhysicalKind::Int))) {
            return Err(LayoutError::Invalid(
                "functional mappings need an integer sort column".to_owned(),
            ));
        }
        if mappings.iter().any(|mapping| {
            !(mapping.low.is_finite() && mapping.high.is_finite() && mapping.low <= mapping.high)
                || mapping.low.abs() > MAPPED_KEY_MAX
                || mapping.high.abs() > MAPPED_KEY_MAX
        }) {
            return Err(LayoutError::Invalid(
                "a mapping's offsets must be finite, ordered and within 2^52".to_owned(),
            ));
        }
        if dimensions.len() > MAX_GRID_DIMENSIONS {
            return Err(LayoutError::Invalid(format!(
                "a grid has at most {MAX_GRID_DIMENSIONS} dimensions"
            )));
        }
        let mut cells = 1u64;
        for (index, dimension) in dimensions.iter().enumerate() {
            if let Split::Conditional {
                parent,
                count,
                per_parent,
            } = &dimension.split
            {
                let parent_count = dimensions.get(*parent).map(Dimension::count);
                let consistent = *parent < index
                    && parent_count == Some(per_parent.len() as u32)
                    && per_parent.iter().all(|partitioner| {
                        matches!(partitioner, Partitioner::Ranges { .. })
                            && partitioner.count() == *count
                    });
                if !consistent {
                    return Err(LayoutError::Invalid(format!(
                        "conditional dimension {} does not match its parent",
                        dimension.column
                    )));
                }
            }
            cells = cells.saturating_mul(u64::from(dimension.count()));
        }
        let cells = cells + u64::from(!mappings.is_empty());
        if cells > u64::from(MAX_CELLS) {
            return Err(LayoutError::Invalid(format!(
                "{cells} cells exceed the limit of {MAX_CELLS}"
            )));
        }
        Ok(Self {
            sort,
            grid_cells: product_of_counts(&dimensions),
            dimensions,
            mappings,
        })
    }

    /// The functional mappings.
    pub fn mappings(&self) -> &[Mapping] {
        &self.mappings
    }

    /// Cells of the grid proper (without the outlier cell).
    fn grid_cells(&self) -> u32 {
        self.grid_cells
    }

    /// The outlier cell, when the grid has mappings.
    fn outlier_cell(&self) -> Option<CellId> {
        (!self.mappings.is_empty()).then(|| self.grid_cells())
    }

    /// Which rows break a mapping (or are null in a mapped column or the sort column, or
    /// too large to map exactly).
    fn outliers(&self, rows: &ColumnSet<'_>) -> Result<Vec<bool>, LayoutError> {
        let mut outlier = vec![false; rows.rows()];
        let Some((sort_name, sort_kind)) = &self.sort else {
            return Ok(outlier);
        };
        if self.mappings.is_empty() {
            return Ok(outlier);
        }
        let sort = rows.column_of_kind(sort_name, *sort_kind)?;
        let sort_keys = column_keys(sort);
        for mapping in &self.mappings {
            let column = rows.column_of_kind(&mapping.column, PhysicalKind::Int)?;
            let keys = column_keys(column);
            for (row, flag) in outlier.iter_mut().enumerate() {
                let (Some(&sort_key), Some(&key)) = (sort_keys.get(row), keys.get(row)) else {
                    *flag = true;
                    continue;
                };
                let exact = sort_key.abs() <= MAPPED_KEY_MAX && key.abs() <= MAPPED_KEY_MAX;
                let offset = sort_key - key;
                if !exact
                    || !is_valid(sort, row)
                    || !is_valid(column, row)
                    || offset < mapping.low
                    || offset > mapping.high
                {
                    *flag = true;
                }
            }
        }
        Ok(outlier)
    }

    /// The dimensions.
    pub fn dimensions(&self) -> &[Dimension] {
        &self.dimensions
    }

    /// The sort column and its kind.
    pub fn sort(&self) -> Option<&(String, PhysicalKind)> {
        self.sort.as_ref()
    }

    /// Each row's partition in every dimension.
    fn partitions_of_rows(&self, rows: &ColumnSet<'_>) -> Result<Vec<Vec<u32>>, LayoutError> {
        let mut assigned: Vec<Vec<u32>> = Vec::with_capacity(self.dimensions.len());
        for dimension in &self.dimensions {
            let column = rows.column_of_kind(&dimension.column, dimension.kind)?;
            let partitions = match &dimension.split {
                Split::Independent(partitioner) => partitioner.assign(column),
                Split::Conditional {
                    parent, per_parent, ..
                } => {
                    let parents = assigned.get(*parent).map(Vec::as_slice).unwrap_or_default();
                    column_keys(column)
                        .into_iter()
                        .enumerate()
                        .map(|(row, key)| {
                            let parent_partition = parents.get(row).copied().unwrap_or(0);
                            match per_parent.get(parent_partition as usize) {
                                Some(partitioner) if is_valid(column, row) => {
                                    partitioner.partition_of_key(key)
                                }
                                _ => 0,
                            }
                        })
                        .collect()
                }
            };
            assigned.push(partitions);
        }
        Ok(assigned)
    }

    /// The partitions of dimension `index` the predicate can reach, given the partitions
    /// chosen for the earlier dimensions.
    fn reachable(
        &self,
        index: usize,
        filters: &[&ColumnFilter],
        chosen: &[u32],
    ) -> Vec<RangeInclusive<u32>> {
        let Some(dimension) = self.dimensions.get(index) else {
            return Vec::new();
        };
        let all = || vec![0..=dimension.count().saturating_sub(1)];
        if filters.is_empty() {
            return all();
        }
        match &dimension.split {
            Split::Independent(partitioner) => partitioner.partitions(filters, dimension.kind),
            Split::Conditional {
                parent, per_parent, ..
            } => {
                let parent_partition = chosen.get(*parent).copied().unwrap_or(0);
                match per_parent.get(parent_partition as usize) {
                    Some(partitioner) => partitioner.partitions(filters, dimension.kind),
                    None => all(),
                }
            }
        }
    }

    /// Cells reachable from dimension `index` on, under the cell prefix `prefix`.
    #[expect(
        clippy::too_many_arguments,
        reason = "the recursion's state; bundling it would only rename it"
    )]
    fn walk(
        &self,
        index: usize,
        prefix: u64,
        chosen: &mut Vec<u32>,
        filters: &[Vec<&ColumnFilter>],
        independent: &[Option<Vec<RangeInclusive<u32>>>],
        suffix: &[u64],
        free_after: &[bool],
        out: &mut Vec<RangeInclusive<CellId>>,
    ) {
        let Some(dimension) = self.dimensions.get(index) else {
            out.push(prefix as CellId..=prefix as CellId);
            return;
        };
        let radix = u64::from(dimension.count());
        let computed;
        let reachable: &[RangeInclusive<u32>] =
            match independent.get(index).and_then(Option::as_ref) {
                Some(reachable) => reachable,
                None => {
                    let dimension_filters =
                        filters.get(index).map(Vec::as_slice).unwrap_or_default();
                    computed = self.reachable(index, dimension_filters, chosen);
                    &computed
                }
            };
        let below = suffix.get(index).copied().unwrap_or(1);
        if free_after.get(index).copied().unwrap_or(false) {
            for range in reachable {
                let low = (prefix * radix + u64::from(*range.start())) * below;
                let high = (prefix * radix + u64::from(*range.end()) + 1) * below - 1;
                out.push(low as CellId..=high as CellId);
            }
            return;
        }
        for range in reachable {
            for partition in range.clone() {
                chosen.truncate(index);
                chosen.push(partition);
                self.walk(
                    index + 1,
                    prefix * radix + u64::from(partition),
                    chosen,
                    filters,
                    independent,
                    suffix,
                    free_after,
                    out,
                );
            }
        }
    }

    pub(crate) fn encode_payload(&self, writer: &mut Writer) {
        match &self.sort {
            Some((name, kind)) => {
                writer.u8(1);
                writer.string(name);
                writer.kind(*kind);
            }
            None => writer.u8(0),
        }
        writer.len(self.dimensions.len());
        for dimension in &self.dimensions {
            writer.string(&dimension.column);
            writer.kind(dimension.kind);
            match &dimension.split {
                Split::Independent(partitioner) => {
                    writer.u8(0);
                    partitioner.encode_into(writer);
                }
                Split::Conditional {
                    parent,
                    count,
                    per_parent,
                } => {
                    writer.u8(1);
                    writer.len(*parent);
                    writer.u32(*count);
                    writer.len(per_parent.len());
                    for partitioner in per_parent {
                        partitioner.encode_into(writer);
                    }
                }
            }
        }
        writer.len(self.mappings.len());
        for mapping in &self.mappings {
            writer.string(&mapping.column);
            writer.f64(mapping.low);
            writer.f64(mapping.high);
        }
    }

    pub(crate) fn decode_payload(reader: &mut Reader<'_>) -> Result<Self, LayoutError> {
        let sort = if reader.bool()? {
            Some((reader.string()?, reader.kind()?))
        } else {
            None
        };
        let count = reader.count(6)?;
        if count > MAX_GRID_DIMENSIONS {
            return Err(reader.error(format!("{count} grid dimensions")));
        }
        let mut dimensions = Vec::with_capacity(count);
        for _ in 0..count {
            let column = reader.string()?;
            let kind = reader.kind()?;
            let split = match reader.u8()? {
                0 => Split::Independent(Partitioner::decode_from(reader, kind)?),
                1 => {
                    let parent = reader.u32()? as usize;
                    let count = reader.u32()?;
                    let parents = reader.count(5)?;
                    let mut per_parent = Vec::with_capacity(parents);
                    for _ in 0..parents {
                        per_parent.push(Partitioner::decode_from(reader, kind)?);
                    }
                    Split::Conditional {
                        parent,
                        count,
                        per_parent,
                    }
                }
                other => return Err(reader.error(format!("unknown dimension split {other}"))),
            };
            dimensions.push(Dimension {
                column,
                kind,
                split,
            });
        }
        let count = reader.count(20)?;
        let mut mappings = Vec::with_capacity(count);
        for _ in 0..count {
            let column = reader.string()?;
            let low = reader.f64()?;
            let high = reader.f64()?;
            mappings.push(Mapping { column, low, high });
        }
        let offset = reader.offset();
        Self::with_mappings(sort, dimensions, mappings).map_err(|error| LayoutError::Format {
            offset,
            reason: error.to_string(),
        })
    }
}

impl Layout for Grid {
    fn kind(&self) -> &'static str {
        "grid"
    }

    fn describe(&self) -> String {
        let dimensions: Vec<String> = self
            .dimensions
            .iter()
            .map(|dimension| match &dimension.split {
                Split::Independent(Partitioner::Ranges { count, .. }) => {
                    format!("{}×{count} ranges", dimension.column)
                }
                Split::Independent(Partitioner::Values { count, .. }) => {
                    format!("{}×{count} value sets", dimension.column)
                }
                Split::Conditional { parent, count, .. } => format!(
                    "{}×{count} ranges given {}",
                    dimension.column,
                    self.dimensions
                        .get(*parent)
                        .map_or("?", |parent| parent.column.as_str())
                ),
            })
            .collect();
        let sort = self
            .sort
            .as_ref()
            .map_or("nothing", |(name, _)| name.as_str());
        let mappings: String = self
            .mappings
            .iter()
            .map(|mapping| {
                format!(
                    "; {sort} − {} mapped into [{}, {}]",
                    mapping.column, mapping.low, mapping.high
                )
            })
            .collect();
        format!(
            "learned grid: sorted by {sort} in each cell; {}{mappings}; {} cells{}",
            if dimensions.is_empty() {
                "no grid columns".to_owned()
            } else {
                dimensions.join(", ")
            },
            self.cell_count(),
            if self.mappings.is_empty() {
                ""
            } else {
                " (the last for outliers)"
            }
        )
    }

    fn cell_count(&self) -> u32 {
        self.grid_cells() + u32::from(!self.mappings.is_empty())
    }

    fn columns(&self) -> Vec<String> {
        let mut columns: Vec<String> = self.sort.iter().map(|(name, _)| name.clone()).collect();
        let named = self
            .dimensions
            .iter()
            .map(|dimension| &dimension.column)
            .chain(self.mappings.iter().map(|mapping| &mapping.column));
        for column in named {
            if !columns.contains(column) {
                columns.push(column.clone());
            }
        }
        columns
    }

    fn sort_column(&self) -> Option<String> {
        self.sort.as_ref().map(|(name, _)| name.clone())
    }

    fn assign(&self, rows: &ColumnSet<'_>) -> Result<Vec<CellId>, LayoutError> {
        let assigned = self.partitions_of_rows(rows)?;
        let mut cells = vec![0u64; rows.rows()];
        for (dimension, partitions) in self.dimensions.iter().zip(&assigned) {
            let radix = u64::from(dimension.count());
            for (cell, &partition) in cells.iter_mut().zip(partitions) {
                *cell = *cell * radix + u64::from(partition);
            }
        }
        if let Some(outlier_cell) = self.outlier_cell() {
            for (cell, outlier) in cells.iter_mut().zip(self.outliers(rows)?) {
                if outlier {
                    *cell = u64::from(outlier_cell);
                }
            }
        }
        Ok(cells.into_iter().map(|cell| cell as CellId).collect())
    }

    fn order(&self, rows: &ColumnSet<'_>) -> Result<Vec<u32>, LayoutError> {
        match &self.sort {
            Some((name, kind)) => {
                rows.column_of_kind(name, *kind)?;
                sort_permutation(rows, std::slice::from_ref(name))
            }
            None => sort_permutation(rows, &[]),
        }
    }

    fn cells(&self, predicate: &Predicate) -> Vec<RangeInclusive<CellId>> {
        // Rows outside the outlier cell keep every functional mapping, so a filter on a
        // mapped column bounds their sort column too ([`Layout::narrowing`]); when the sort
        // column is also a dimension, that bound prunes its partitions. A query on the
        // commit date alone then visits the ship-date partitions its dates map into, not
        // every cell.
        let narrowed;
        let predicate = if self.mappings.is_empty() {
            predicate
        } else {
            narrowed = self.narrowing(predicate, 0);
            &narrowed
        };
        let filters: Vec<Vec<&ColumnFilter>> = self
            .dimensions
            .iter()
            .map(|dimension| predicate.filters_on(&dimension.column).collect())
            .collect();
        // suffix[i]: cells per partition of dimension i; free_after[i]: no dimension after
        // i is filtered, so each reachable partition of i is one contiguous run of cells.
        let mut suffix = vec![1u64; self.dimensions.len()];
        let mut free_after = vec![true; self.dimensions.len()];
        let mut product = 1u64;
        let mut free = true;
        for index in (0..self.dimensions.len()).rev() {
            if let Some(slot) = suffix.get_mut(index) {
                *slot = product;
            }
            if let Some(slot) = free_after.get_mut(index) {
                *slot = free;
            }
            product *= self
                .dimensions
                .get(index)
                .map_or(1, |dimension| u64::from(dimension.count()));
            free &= filters.get(index).is_none_or(Vec::is_empty);
        }
        // The reachable partitions of a dimension cut independently of the others do not
        // depend on the path to it: found once, not once per partition above it.
        let independent: Vec<Option<Vec<RangeInclusive<u32>>>> = self
            .dimensions
            .iter()
            .enumerate()
            .map(|(index, dimension)| match dimension.split {
                Split::Independent(_) => Some(self.reachable(
                    index,
                    filters.get(index).map(Vec::as_slice).unwrap_or_default(),
                    &[],
                )),
                Split::Conditional { .. } => None,
            })
            .collect();
        let mut out = Vec::new();
        let mut chosen = Vec::with_capacity(self.dimensions.len());
        self.walk(
            0,
            0,
            &mut chosen,
            &filters,
            &independent,
            &suffix,
            &free_after,
            &mut out,
        );
        // Outliers may match anything.
        if let Some(outlier_cell) = self.outlier_cell() {
            out.push(outlier_cell..=outlier_cell);
        }
        normalize(out)
    }

    fn implied(&self, predicate: &Predicate) -> Implied {
        let mut implied = Implied {
            cells: self.grid_cells(),
            cuts: Vec::new(),
        };
        let mut below = 1u64;
        for dimension in self.dimensions.iter().rev() {
            let count = u64::from(dimension.count());
            if let Split::Independent(partitioner) = &dimension.split {
                for (index, filter) in predicate.filters.iter().enumerate().take(64) {
                    if filter.column != dimension.column {
                        continue;
                    }
                    let covered = partitioner.covered(filter, dimension.kind);
                    if covered.contains(&true) {
                        implied.cuts.push(ImpliedCut {
                            below,
                            count,
                            covered,
                            bit: 1 << index,
                        });
                    }
                }
            }
            below = below.saturating_mul(count.max(1));
        }
        implied
    }

    fn narrowing_representative(&self, cell: CellId) -> CellId {
        // Every cell below the outlier cell gains the same mapped ranges; the outlier cell
        // (and any id past it) none, as without a sort column or mappings.
        match self.outlier_cell() {
            Some(outlier) if self.sort.is_some() && cell < outlier => 0,
            Some(outlier) if self.sort.is_some() => outlier,
            _ => 0,
        }
    }

    fn narrowing(&self, predicate: &Predicate, cell: CellId) -> Predicate {
        let mut narrowed = predicate.clone();
        let Some((sort, _)) = &self.sort else {
            return narrowed;
        };
        if self.outlier_cell().is_none_or(|outlier| cell >= outlier) {
            return narrowed;
        }
        for mapping in &self.mappings {
            let filters: Vec<&ColumnFilter> = predicate.filters_on(&mapping.column).collect();
            if filters.is_empty() {
                continue;
            }
            // Rows of this cell have a non-null mapped value, so only the filters' key
            // intervals matter; sort keys then lie in the hull shifted by the offsets.
            let span = Span::of_filters(filters.into_iter(), PhysicalKind::Int);
            let Some((low, high)) = span.hull() else {
                // No non-null value matches: no row of this cell does.
                narrowed.filters.push(ColumnFilter {
                    column: sort.clone(),
                    terms: Vec::new(),
                });
                continue;
            };
            let bound = |key: f64, floor: bool| {
                let shifted = if floor {
                    (key + mapping.low).floor()
                } else {
                    (key + mapping.high).ceil()
                };
                if shifted.is_finite() && shifted.abs() <= MAPPED_KEY_MAX {
                    Bound::Included(Scalar::Int(shifted as i64))
                } else {
                    Bound::Unbounded
                }
            };
            narrowed.filters.push(ColumnFilter {
                column: sort.clone(),
                terms: vec![Term::Range(Range {
                    low: bound(low, true),
                    high: bound(high, false),
                })],
            });
        }
        narrowed
    }

    fn model_bytes(&self) -> usize {
        self.dimensions
            .iter()
            .map(|dimension| {
                dimension.column.len()
                    + match &dimension.split {
                        Split::Independent(partitioner) => partitioner.model_bytes(),
                        Split::Conditional { per_parent, .. } => {
                            per_parent.iter().map(Partitioner::model_bytes).sum()
                        }
                    }
            })
            .sum()
    }

    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        encode_header(KIND_GRID, &mut out);
        let mut writer = Writer::new(out);
        self.encode_payload(&mut writer);
        writer.finish()
    }
}

/// Learns the offset range of `key(sort) − key(column)` on the sample's rows where both are
/// set and exact.
pub(crate) fn fit_mapping(
    sample: &ColumnSet<'_>,
    sort: &str,
    column: &str,
) -> Result<Mapping, LayoutError> {
    let sort_column = sample.column_of_kind(sort, PhysicalKind::Int)?;
    let mapped = sample.column_of_kind(column, PhysicalKind::Int)?;
    let (sort_keys, keys) = (column_keys(sort_column), column_keys(mapped));
    let (mut low, mut high) = (f64::INFINITY, f64::NEG_INFINITY);
    for (row, (&sort_key, &key)) in sort_keys.iter().zip(&keys).enumerate() {
        if is_valid(sort_column, row)
            && is_valid(mapped, row)
            && sort_key.abs() <= MAPPED_KEY_MAX
            && key.abs() <= MAPPED_KEY_MAX
        {
            low = low.min(sort_key - key);
            high = high.max(sort_key - key);
        }
    }
    if low > high {
        // Nothing to learn from: an empty offset range sends every row to the outliers.
        (low, high) = (0.0, 0.0);
    }
    Ok(Mapping {
        column: column.to_owned(),
        low,
        high,
    })
}
