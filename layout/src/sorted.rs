//! The single-sort-column baseline: rows sorted by a compound key, cells cut as equal-mass
//! ranges of the key's first column.
//!
//! This is what "cluster by (a, b)" gives in a classic system. A range on the first key
//! column touches few cells and, inside each, a contiguous run of rows; a filter on any
//! other column prunes nothing beyond zone maps. Cells are ranges of a CDF model of the first
//! column, so each holds about the same number of rows however skewed the column is.

use std::ops::RangeInclusive;

use tessera_codecs::PhysicalKind;

use crate::layout::{CellId, ColumnSet, Layout, LayoutError, encode_header};
use crate::partition::Partitioner;
use crate::predicate::Predicate;
use crate::sort::sort_permutation;
use crate::wire::{Reader, Writer};

/// Kind tag of [`Sorted`] in the serialized form.
pub(crate) const KIND_SORTED: u8 = 1;

/// Rows sorted by a compound key; cells are equal-mass ranges of its first column.
#[derive(Debug, Clone, PartialEq)]
pub struct Sorted {
    key: Vec<(String, PhysicalKind)>,
    partitioner: Partitioner,
}

impl Sorted {
    /// Fits the layout on a sample: `key` (at least one column) and `cells` cells.
    pub fn fit(sample: &ColumnSet<'_>, key: &[String], cells: u32) -> Result<Self, LayoutError> {
        let Some(first) = key.first() else {
            return Err(LayoutError::Invalid("a sort key needs a column".to_owned()));
        };
        let mut typed = Vec::with_capacity(key.len());
        for name in key {
            let column = sample.column(name)?;
            typed.push((name.clone(), column.logical().physical()));
        }
        let partitioner = Partitioner::ranges(sample.column(first)?, cells);
        Ok(Self {
            key: typed,
            partitioner,
        })
    }

    /// The sort key's column names.
    pub fn key(&self) -> Vec<String> {
        self.key.iter().map(|(name, _)| name.clone()).collect()
    }

    pub(crate) fn encode_payload(&self, writer: &mut Writer) {
        writer.len(self.key.len());
        for (name, kind) in &self.key {
            writer.string(name);
            writer.kind(*kind);
        }
        self.partitioner.encode_into(writer);
    }

    pub(crate) fn decode_payload(reader: &mut Reader<'_>) -> Result<Self, LayoutError> {
        let len = reader.count(5)?;
        if len == 0 {
            return Err(reader.error("a sort key needs a column"));
        }
        let mut key = Vec::with_capacity(len);
        for _ in 0..len {
            let name = reader.string()?;
            let kind = reader.kind()?;
            key.push((name, kind));
        }
        let first_kind = key.first().map_or(PhysicalKind::Int, |(_, kind)| *kind);
        let partitioner = Partitioner::decode_from(reader, first_kind)?;
        if !matches!(partitioner, Partitioner::Ranges { .. }) {
            return Err(reader.error("a sorted layout partitions by ranges"));
        }
        Ok(Self { key, partitioner })
    }
}

impl Layout for Sorted {
    fn kind(&self) -> &'static str {
        "sorted"
    }

    fn describe(&self) -> String {
        let names = self.key().join(", ");
        let first = self.key.first().map_or("", |(name, _)| name.as_str());
        format!(
            "sorted by ({names}); {} cells of equal mass on {first}",
            self.partitioner.count()
        )
    }

    fn cell_count(&self) -> u32 {
        self.partitioner.count()
    }

    fn columns(&self) -> Vec<String> {
        self.key()
    }

    fn sort_column(&self) -> Option<String> {
        self.key.first().map(|(name, _)| name.clone())
    }

    fn assign(&self, rows: &ColumnSet<'_>) -> Result<Vec<CellId>, LayoutError> {
        let Some((name, kind)) = self.key.first() else {
            return Ok(vec![0; rows.rows()]);
        };
        for (other, other_kind) in &self.key {
            rows.column_of_kind(other, *other_kind)?;
        }
        Ok(self.partitioner.assign(rows.column_of_kind(name, *kind)?))
    }

    fn order(&self, rows: &ColumnSet<'_>) -> Result<Vec<u32>, LayoutError> {
        for (name, kind) in &self.key {
            rows.column_of_kind(name, *kind)?;
        }
        sort_permutation(rows, &self.key())
    }

    fn cells(&self, predicate: &Predicate) -> Vec<RangeInclusive<CellId>> {
        let Some((name, kind)) = self.key.first() else {
            return vec![0..=0];
        };
        let filters: Vec<_> = predicate.filters_on(name).collect();
        self.partitioner.partitions(&filters, *kind)
    }

    fn model_bytes(&self) -> usize {
        self.partitioner.model_bytes()
            + self
                .key
                .iter()
                .map(|(name, _)| name.len() + 1)
                .sum::<usize>()
    }

    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        encode_header(KIND_SORTED, &mut out);
        let mut writer = Writer::new(out);
        self.encode_payload(&mut writer);
        writer.finish()
    }
}
