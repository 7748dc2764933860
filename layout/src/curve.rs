//! Space-filling-curve baselines: Z-order and Hilbert over rank-normalized columns.
//!
//! Each column is mapped to a `bits`-bit coordinate by its CDF model (the coordinate is the
//! value's equal-mass partition among `2^bits`), not by its raw bytes, so a skewed column
//! spreads over the whole curve instead of crowding one corner. Rows are ordered by curve
//! value; cells are ranges of the curve value holding equal numbers of sampled rows.
//!
//! A box query touches the curve in many short runs. [`CurveLayout::cells`] finds them by
//! descending the curve's recursive subdivision: every aligned sub-cube is one contiguous
//! run of curve values (for both curves), so a sub-cube inside the box is emitted whole, one
//! outside it is skipped, and one that straddles the box is split further, until a node
//! falls within a single cell or a node budget runs out (then the whole node is kept, which
//! is conservative).

use std::ops::RangeInclusive;

use tessera_codecs::PhysicalKind;

use crate::layout::{CellId, ColumnSet, Layout, LayoutError, MAX_CELLS, encode_header};
use crate::partition::{Partitioner, normalize};
use crate::predicate::Predicate;
use crate::sort::sort_permutation_i64;
use crate::wire::{Reader, Writer};

/// Kind tag of a Z-order [`CurveLayout`].
pub(crate) const KIND_Z_ORDER: u8 = 2;
/// Kind tag of a Hilbert [`CurveLayout`].
pub(crate) const KIND_HILBERT: u8 = 3;

/// Most columns a curve interleaves.
pub const MAX_CURVE_DIMENSIONS: usize = 8;
/// Most bits per coordinate.
const MAX_BITS: u32 = 16;
/// Sub-cubes [`CurveLayout::cells`] may split before keeping the rest whole.
const NODE_BUDGET: usize = 4_096;

/// Which space-filling curve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Curve {
    /// Bit interleaving (Morton order).
    ZOrder,
    /// The Hilbert curve (Skilling's construction), which keeps neighbours closer.
    Hilbert,
}

/// Rows ordered along a space-filling curve over rank-normalized columns.
#[derive(Debug, Clone, PartialEq)]
pub struct CurveLayout {
    curve: Curve,
    bits: u32,
    dimensions: Vec<(String, PhysicalKind, Partitioner)>,
    /// Cell `i` holds curve values in `[boundaries[i - 1], boundaries[i])`; strictly
    /// ascending.
    boundaries: Vec<u64>,
}

impl CurveLayout {
    /// Fits a curve over `columns` (1 to 8) on a sample, with about `cells` cells.
    pub fn fit(
        sample: &ColumnSet<'_>,
        curve: Curve,
        columns: &[String],
        cells: u32,
    ) -> Result<Self, LayoutError> {
        if columns.is_empty() || columns.len() > MAX_CURVE_DIMENSIONS {
            return Err(LayoutError::Invalid(format!(
                "a curve interleaves 1 to {MAX_CURVE_DIMENSIONS} columns, not {}",
                columns.len()
            )));
        }
        let bits = (64 / columns.len() as u32).min(MAX_BITS);
        let mut dimensions = Vec::with_capacity(columns.len());
        for name in columns {
            let column = sample.column(name)?;
            dimensions.push((
                name.clone(),
                column.logical().physical(),
                Partitioner::ranges(column, 1 << bits),
            ));
        }
        let mut layout = Self {
            curve,
            bits,
            dimensions,
            boundaries: Vec::new(),
        };
        let mut values = layout.curve_values(sample)?;
        values.sort_unstable();
        let cells = cells.clamp(1, MAX_CELLS) as usize;
        for cell in 1..cells {
            if let Some(&value) = values.get(cell * values.len() / cells) {
                let above_first = values.first().is_some_and(|&first| value > first);
                if above_first && layout.boundaries.last().is_none_or(|&last| value > last) {
                    layout.boundaries.push(value);
                }
            }
        }
        Ok(layout)
    }

    /// The curve.
    pub fn curve(&self) -> Curve {
        self.curve
    }

    /// The curve value of every row.
    fn curve_values(&self, rows: &ColumnSet<'_>) -> Result<Vec<u64>, LayoutError> {
        let mut coordinates = Vec::with_capacity(self.dimensions.len());
        for (name, kind, partitioner) in &self.dimensions {
            coordinates.push(partitioner.assign(rows.column_of_kind(name, *kind)?));
        }
        let mut point = vec![0u32; self.dimensions.len()];
        Ok((0..rows.rows())
            .map(|row| {
                for (slot, column) in point.iter_mut().zip(&coordinates) {
                    *slot = column.get(row).copied().unwrap_or(0);
                }
                self.index(&point)
            })
            .collect())
    }

    fn index(&self, point: &[u32]) -> u64 {
        match self.curve {
            Curve::ZOrder => interleave(point, self.bits),
            Curve::Hilbert => hilbert_index(point, self.bits),
        }
    }

    fn cell_of(&self, value: u64) -> CellId {
        self.boundaries
            .partition_point(|&boundary| boundary <= value) as CellId
    }

    /// The runs of curve values the box `[low, high]` (inclusive, per dimension) can touch:
    /// aligned sub-cubes, split depth first until inside the box, within one cell, at the
    /// last level, or out of budget. Only the children that meet the box are pushed, and a
    /// node is a fixed array: a 4-column curve's cover walks up to 65,536 nodes, and each
    /// used to allocate its prefix, its corner and a copy for the Hilbert index.
    fn cover(&self, low: &[u32], high: &[u32]) -> Vec<(u64, u64)> {
        let dimensions = self
            .dimensions
            .len()
            .min(low.len())
            .min(high.len())
            .min(MAX_CURVE_DIMENSIONS);
        let (Some(low), Some(high)) = (low.get(..dimensions), high.get(..dimensions)) else {
            return Vec::new();
        };
        let full = (1u32 << dimensions) - 1;
        let mut runs = Vec::new();
        let mut stack: Vec<(u32, [u32; MAX_CURVE_DIMENSIONS])> =
            vec![(0, [0; MAX_CURVE_DIMENSIONS])];
        let mut budget = NODE_BUDGET;
        while let Some((level, prefix)) = stack.pop() {
            let shift = self.bits - level;
            let mut inside = true;
            let mut disjoint = false;
            for ((&part, &box_low), &box_high) in prefix.iter().zip(low).zip(high) {
                let node_low = u64::from(part) << shift;
                let node_high = node_low + (1u64 << shift) - 1;
                if node_high < u64::from(box_low) || node_low > u64::from(box_high) {
                    disjoint = true;
                    break;
                }
                inside &= u64::from(box_low) <= node_low && node_high <= u64::from(box_high);
            }
            if disjoint {
                continue;
            }
            // The node's run: an aligned sub-cube is contiguous on both curves.
            let run_bits = dimensions as u32 * shift;
            let start = if run_bits >= 64 {
                0
            } else {
                let mut corner = [0u32; MAX_CURVE_DIMENSIONS];
                for (corner, &part) in corner.iter_mut().zip(&prefix) {
                    *corner = part << shift;
                }
                self.index(corner.get(..dimensions).unwrap_or_default()) & !((1u64 << run_bits) - 1)
            };
            let end = if run_bits >= 64 {
                u64::MAX
            } else {
                start | ((1u64 << run_bits) - 1)
            };
            // Within one cell: no boundary after `start` up to `end`.
            let one_cell = self
                .boundaries
                .get(self.cell_of(start) as usize)
                .is_none_or(|&boundary| boundary > end);
            if inside || one_cell || level >= self.bits || budget == 0 {
                runs.push((start, end));
                continue;
            }
            budget -= 1;
            // Per dimension, as its bit in a child's mask: whether the lower and the upper
            // half meet the box. Children that meet it are pushed in the order of their
            // masks, as all children were, so the walk and its budget are unchanged.
            let (mut lower_meets, mut upper_meets) = (0u32, 0u32);
            let child_shift = shift - 1;
            for (dimension, ((&part, &box_low), &box_high)) in
                prefix.iter().zip(low).zip(high).enumerate()
            {
                let bit = 1u32 << (dimensions - 1 - dimension);
                let middle = (u64::from(part) << shift) + (1u64 << child_shift);
                if u64::from(box_low) < middle {
                    lower_meets |= bit;
                }
                if u64::from(box_high) >= middle {
                    upper_meets |= bit;
                }
            }
            for mask in 0..=full {
                if mask & !upper_meets != 0 || !mask & full & !lower_meets != 0 {
                    continue;
                }
                let mut child = prefix;
                for (dimension, part) in child.iter_mut().take(dimensions).enumerate() {
                    let bit = (mask >> (dimensions - 1 - dimension)) & 1;
                    *part = (*part << 1) | bit;
                }
                stack.push((level + 1, child));
            }
        }
        runs
    }

    pub(crate) fn encode_payload(&self, writer: &mut Writer) {
        writer.u8(self.bits as u8);
        writer.len(self.dimensions.len());
        for (name, kind, partitioner) in &self.dimensions {
            writer.string(name);
            writer.kind(*kind);
            partitioner.encode_into(writer);
        }
        writer.len(self.boundaries.len());
        for &boundary in &self.boundaries {
            writer.u64(boundary);
        }
    }

    pub(crate) fn decode_payload(
        reader: &mut Reader<'_>,
        curve: Curve,
    ) -> Result<Self, LayoutError> {
        let bits = u32::from(reader.u8()?);
        let count = reader.count(8)?;
        if count == 0
            || count > MAX_CURVE_DIMENSIONS
            || bits == 0
            || bits > MAX_BITS
            || bits * count as u32 > 64
        {
            return Err(reader.error(format!("{count} dimensions of {bits} bits")));
        }
        let mut dimensions = Vec::with_capacity(count);
        for _ in 0..count {
            let name = reader.string()?;
            let kind = reader.kind()?;
            let partitioner = Partitioner::decode_from(reader, kind)?;
            if !matches!(partitioner, Partitioner::Ranges { .. })
                || partitioner.count() != 1 << bits
            {
                return Err(reader.error("a curve coordinate is a range partition of 2^bits"));
            }
            dimensions.push((name, kind, partitioner));
        }
        let len = reader.count(8)?;
        if len >= MAX_CELLS as usize {
            return Err(reader.error("too many cells"));
        }
        let mut boundaries: Vec<u64> = Vec::with_capacity(len);
        for _ in 0..len {
            let boundary = reader.u64()?;
            if boundaries.last().is_some_and(|&last| last >= boundary) {
                return Err(reader.error("cell boundaries must ascend"));
            }
            boundaries.push(boundary);
        }
        Ok(Self {
            curve,
            bits,
            dimensions,
            boundaries,
        })
    }
}

impl Layout for CurveLayout {
    fn kind(&self) -> &'static str {
        match self.curve {
            Curve::ZOrder => "z_order",
            Curve::Hilbert => "hilbert",
        }
    }

    fn describe(&self) -> String {
        let names: Vec<&str> = self
            .dimensions
            .iter()
            .map(|(name, ..)| name.as_str())
            .collect();
        format!(
            "{} curve over rank-normalized ({}), {} bits each; {} cells",
            match self.curve {
                Curve::ZOrder => "Z-order",
                Curve::Hilbert => "Hilbert",
            },
            names.join(", "),
            self.bits,
            self.cell_count()
        )
    }

    fn cell_count(&self) -> u32 {
        self.boundaries.len() as u32 + 1
    }

    fn columns(&self) -> Vec<String> {
        self.dimensions
            .iter()
            .map(|(name, ..)| name.clone())
            .collect()
    }

    fn sort_column(&self) -> Option<String> {
        None
    }

    fn assign(&self, rows: &ColumnSet<'_>) -> Result<Vec<CellId>, LayoutError> {
        Ok(self
            .curve_values(rows)?
            .into_iter()
            .map(|value| self.cell_of(value))
            .collect())
    }

    fn order(&self, rows: &ColumnSet<'_>) -> Result<Vec<u32>, LayoutError> {
        // Curve values as order-preserving signed keys for the learned sort.
        let keys: Vec<i64> = self
            .curve_values(rows)?
            .into_iter()
            .map(|value| (value ^ (1 << 63)) as i64)
            .collect();
        sort_permutation_i64(&keys)
    }

    fn cells(&self, predicate: &Predicate) -> Vec<RangeInclusive<CellId>> {
        let last = self.cell_count() - 1;
        let mut low = Vec::with_capacity(self.dimensions.len());
        let mut high = Vec::with_capacity(self.dimensions.len());
        let mut restricted = false;
        for (name, kind, partitioner) in &self.dimensions {
            let filters: Vec<_> = predicate.filters_on(name).collect();
            let ranges = partitioner.partitions(&filters, *kind);
            let (Some(first), Some(final_range)) = (ranges.first(), ranges.last()) else {
                return Vec::new();
            };
            let (box_low, box_high) = (*first.start(), *final_range.end());
            restricted |= box_low > 0 || box_high < partitioner.count() - 1;
            low.push(box_low);
            high.push(box_high);
        }
        if !restricted {
            return vec![0..=last];
        }
        let cells = self
            .cover(&low, &high)
            .into_iter()
            .map(|(start, end)| self.cell_of(start)..=self.cell_of(end))
            .collect();
        normalize(cells)
    }

    fn model_bytes(&self) -> usize {
        self.dimensions
            .iter()
            .map(|(name, _, partitioner)| name.len() + partitioner.model_bytes())
            .sum::<usize>()
            + 8 * self.boundaries.len()
    }

    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        encode_header(
            match self.curve {
                Curve::ZOrder => KIND_Z_ORDER,
                Curve::Hilbert => KIND_HILBERT,
            },
            &mut out,
        );
        let mut writer = Writer::new(out);
        self.encode_payload(&mut writer);
        writer.finish()
    }
}

/// Interleaves the coordinates' bits, most significant first, dimension 0 first.
pub fn interleave(point: &[u32], bits: u32) -> u64 {
    let mut value = 0u64;
    for bit in (0..bits).rev() {
        for &coordinate in point {
            value = (value << 1) | u64::from((coordinate >> bit) & 1);
        }
    }
    value
}

/// The position of `point` (each coordinate below `2^bits`) along the Hilbert curve,
/// by Skilling's transpose algorithm ("Programming the Hilbert curve", 2004).
pub fn hilbert_index(point: &[u32], bits: u32) -> u64 {
    // On the stack for the curves a layout builds (at most 8 columns): the scan planner
    // computes an index per node it walks.
    let mut stack = [0u32; MAX_CURVE_DIMENSIONS];
    let mut heap = Vec::new();
    let axes: &mut [u32] = match stack.get_mut(..point.len()) {
        Some(axes) => axes,
        None => {
            heap.resize(point.len(), 0);
            &mut heap
        }
    };
    axes.copy_from_slice(point);
    let Some(top) = bits.checked_sub(1).map(|shift| 1u32 << shift) else {
        return 0;
    };
    // Undo the excess work of the inverse transform.
    let mut q = top;
    while q > 1 {
        let p = q - 1;
        if let Some((first, rest)) = axes.split_first_mut() {
            if *first & q != 0 {
                *first ^= p;
            }
            for axis in rest {
                if *axis & q != 0 {
                    *first ^= p;
                } else {
                    let swap = (*first ^ *axis) & p;
                    *first ^= swap;
                    *axis ^= swap;
                }
            }
        }
        q >>= 1;
    }
    // Gray encode.
    let mut previous = 0u32;
    for (index, axis) in axes.iter_mut().enumerate() {
        if index > 0 {
            *axis ^= previous;
        }
        previous = *axis;
    }
    let mut toggle = 0u32;
    let mut q = top;
    while q > 1 {
        if previous & q != 0 {
            toggle ^= q - 1;
        }
        q >>= 1;
    }
    for axis in axes.iter_mut() {
        *axis ^= toggle;
    }
    interleave(axes, bits)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn points(dimensions: usize, bits: u32) -> Vec<Vec<u32>> {
        let side = 1u32 << bits;
        let total = (side as usize).pow(dimensions as u32);
        (0..total)
            .map(|mut index| {
                (0..dimensions)
                    .map(|_| {
                        let coordinate = (index % side as usize) as u32;
                        index /= side as usize;
                        coordinate
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn hilbert_is_a_continuous_bijection() {
        for (dimensions, bits) in [(2, 1), (2, 3), (3, 2), (4, 2)] {
            let mut by_index = vec![None; 1 << (dimensions as u32 * bits)];
            for point in points(dimensions, bits) {
                let index = hilbert_index(&point, bits) as usize;
                assert!(by_index[index].is_none(), "two points at {index}");
                by_index[index] = Some(point);
            }
            let walk: Vec<Vec<u32>> = by_index.into_iter().map(Option::unwrap).collect();
            for pair in walk.windows(2) {
                let distance: u32 = pair[0]
                    .iter()
                    .zip(&pair[1])
                    .map(|(a, b)| a.abs_diff(*b))
                    .sum();
                assert_eq!(distance, 1, "{pair:?} are not neighbours");
            }
        }
    }

    #[test]
    fn aligned_subcubes_are_contiguous_runs() {
        for curve in [Curve::ZOrder, Curve::Hilbert] {
            let (dimensions, bits) = (3usize, 3u32);
            for level in 0..=bits {
                let shift = bits - level;
                let mut runs: std::collections::HashMap<Vec<u32>, Vec<u64>> = Default::default();
                for point in points(dimensions, bits) {
                    let index = match curve {
                        Curve::ZOrder => interleave(&point, bits),
                        Curve::Hilbert => hilbert_index(&point, bits),
                    };
                    let cube: Vec<u32> = point.iter().map(|&c| c >> shift).collect();
                    runs.entry(cube).or_default().push(index);
                }
                for (_, mut indexes) in runs {
                    indexes.sort_unstable();
                    let span = indexes.last().unwrap() - indexes.first().unwrap() + 1;
                    assert_eq!(span as usize, indexes.len(), "{curve:?} level {level}");
                    assert_eq!(indexes[0] % span, 0);
                }
            }
        }
    }

    #[test]
    fn interleave_puts_dimension_zero_first() {
        assert_eq!(interleave(&[1, 0], 1), 0b10);
        assert_eq!(interleave(&[0b10, 0b01], 2), 0b1001);
    }
}
