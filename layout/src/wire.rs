//! The byte encoding every persisted structure of this crate shares: little-endian integers
//! and IEEE-754 bit patterns, `u32` length prefixes, and a reader that turns every short,
//! oversized or malformed input into [`LayoutError::Format`] with the byte offset at fault.
//!
//! Lengths read from untrusted bytes are checked against the bytes that remain before
//! anything is allocated, so a corrupt length cannot ask for gigabytes.

use std::ops::Bound;

use tessera_codecs::PhysicalKind;

use crate::layout::LayoutError;
use crate::predicate::{ColumnFilter, Predicate, Range, Scalar, Term};

/// Appends little-endian values to a byte vector.
#[derive(Debug, Default)]
pub(crate) struct Writer {
    out: Vec<u8>,
}

impl Writer {
    /// A writer that appends to `out`.
    pub(crate) fn new(out: Vec<u8>) -> Self {
        Self { out }
    }

    /// The bytes written.
    pub(crate) fn finish(self) -> Vec<u8> {
        self.out
    }

    pub(crate) fn u8(&mut self, value: u8) {
        self.out.push(value);
    }

    pub(crate) fn u16(&mut self, value: u16) {
        self.out.extend_from_slice(&value.to_le_bytes());
    }

    pub(crate) fn u32(&mut self, value: u32) {
        self.out.extend_from_slice(&value.to_le_bytes());
    }

    pub(crate) fn u64(&mut self, value: u64) {
        self.out.extend_from_slice(&value.to_le_bytes());
    }

    pub(crate) fn i64(&mut self, value: i64) {
        self.out.extend_from_slice(&value.to_le_bytes());
    }

    pub(crate) fn i128(&mut self, value: i128) {
        self.out.extend_from_slice(&value.to_le_bytes());
    }

    pub(crate) fn f64(&mut self, value: f64) {
        self.out.extend_from_slice(&value.to_bits().to_le_bytes());
    }

    /// A length as `u32`; lengths of in-memory structures of this crate never exceed it
    /// (they are bounded far below), and a larger one saturates, which decoding rejects.
    pub(crate) fn len(&mut self, len: usize) {
        self.u32(u32::try_from(len).unwrap_or(u32::MAX));
    }

    pub(crate) fn bytes(&mut self, bytes: &[u8]) {
        self.len(bytes.len());
        self.out.extend_from_slice(bytes);
    }

    pub(crate) fn string(&mut self, text: &str) {
        self.bytes(text.as_bytes());
    }

    pub(crate) fn kind(&mut self, kind: PhysicalKind) {
        self.u8(match kind {
            PhysicalKind::Int => 0,
            PhysicalKind::Float => 1,
            PhysicalKind::Decimal => 2,
            PhysicalKind::Bool => 3,
            PhysicalKind::Bytes => 4,
        });
    }

    pub(crate) fn scalar(&mut self, value: &Scalar) {
        match value {
            Scalar::Int(value) => {
                self.u8(0);
                self.i64(*value);
            }
            Scalar::Float(value) => {
                self.u8(1);
                self.f64(*value);
            }
            Scalar::Decimal(value) => {
                self.u8(2);
                self.i128(*value);
            }
            Scalar::Bool(value) => {
                self.u8(3);
                self.u8(u8::from(*value));
            }
            Scalar::Bytes(value) => {
                self.u8(4);
                self.bytes(value);
            }
        }
    }

    fn bound(&mut self, bound: &Bound<Scalar>) {
        match bound {
            Bound::Unbounded => self.u8(0),
            Bound::Included(value) => {
                self.u8(1);
                self.scalar(value);
            }
            Bound::Excluded(value) => {
                self.u8(2);
                self.scalar(value);
            }
        }
    }

    pub(crate) fn predicate(&mut self, predicate: &Predicate) {
        self.len(predicate.filters.len());
        for filter in &predicate.filters {
            self.string(&filter.column);
            self.len(filter.terms.len());
            for term in &filter.terms {
                match term {
                    Term::Range(range) => {
                        self.u8(0);
                        self.bound(&range.low);
                        self.bound(&range.high);
                    }
                    Term::IsNull => self.u8(1),
                    Term::IsNotNull => self.u8(2),
                }
            }
        }
    }
}

/// Reads little-endian values from untrusted bytes, reporting absolute offsets.
#[derive(Debug)]
pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
    offset: usize,
}

impl<'a> Reader<'a> {
    /// A reader over `bytes`, starting at `offset`.
    pub(crate) fn new(bytes: &'a [u8], offset: usize) -> Self {
        Self { bytes, offset }
    }

    /// The offset of the next byte.
    pub(crate) fn offset(&self) -> usize {
        self.offset
    }

    /// A format error at the current offset.
    pub(crate) fn error(&self, reason: impl Into<String>) -> LayoutError {
        LayoutError::Format {
            offset: self.offset,
            reason: reason.into(),
        }
    }

    fn remaining(&self) -> usize {
        self.bytes.len().saturating_sub(self.offset)
    }

    /// Fails unless every byte has been read.
    pub(crate) fn finish(&self) -> Result<(), LayoutError> {
        if self.remaining() == 0 {
            Ok(())
        } else {
            Err(self.error(format!("{} trailing bytes", self.remaining())))
        }
    }

    fn take(&mut self, count: usize) -> Result<&'a [u8], LayoutError> {
        let end = self
            .offset
            .checked_add(count)
            .ok_or_else(|| self.error("length overflows"))?;
        let slice = self
            .bytes
            .get(self.offset..end)
            .ok_or_else(|| self.error(format!("needs {count} more bytes")))?;
        self.offset = end;
        Ok(slice)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], LayoutError> {
        let mut array = [0u8; N];
        array.copy_from_slice(self.take(N)?);
        Ok(array)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, LayoutError> {
        Ok(u8::from_le_bytes(self.array()?))
    }

    pub(crate) fn u16(&mut self) -> Result<u16, LayoutError> {
        Ok(u16::from_le_bytes(self.array()?))
    }

    pub(crate) fn u32(&mut self) -> Result<u32, LayoutError> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    pub(crate) fn u64(&mut self) -> Result<u64, LayoutError> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    pub(crate) fn i64(&mut self) -> Result<i64, LayoutError> {
        Ok(i64::from_le_bytes(self.array()?))
    }

    pub(crate) fn i128(&mut self) -> Result<i128, LayoutError> {
        Ok(i128::from_le_bytes(self.array()?))
    }

    pub(crate) fn f64(&mut self) -> Result<f64, LayoutError> {
        Ok(f64::from_bits(u64::from_le_bytes(self.array()?)))
    }

    /// A finite `f64`.
    pub(crate) fn finite_f64(&mut self, what: &str) -> Result<f64, LayoutError> {
        let start = self.offset;
        let value = self.f64()?;
        if value.is_finite() {
            Ok(value)
        } else {
            Err(LayoutError::Format {
                offset: start,
                reason: format!("{what} is not finite"),
            })
        }
    }

    pub(crate) fn bool(&mut self) -> Result<bool, LayoutError> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            other => Err(self.error(format!("boolean byte {other}"))),
        }
    }

    /// A count of items that each take at least `min_item_bytes` bytes, checked against the
    /// bytes left so that a corrupt count cannot make the caller allocate without bound.
    pub(crate) fn count(&mut self, min_item_bytes: usize) -> Result<usize, LayoutError> {
        let count = self.u32()? as usize;
        if count.saturating_mul(min_item_bytes.max(1)) > self.remaining() {
            return Err(self.error(format!(
                "count {count} does not fit in the {} bytes left",
                self.remaining()
            )));
        }
        Ok(count)
    }

    pub(crate) fn bytes(&mut self) -> Result<Vec<u8>, LayoutError> {
        let len = self.count(1)?;
        Ok(self.take(len)?.to_vec())
    }

    pub(crate) fn string(&mut self) -> Result<String, LayoutError> {
        let start = self.offset;
        let bytes = self.bytes()?;
        String::from_utf8(bytes).map_err(|_| LayoutError::Format {
            offset: start,
            reason: "string is not UTF-8".to_owned(),
        })
    }

    pub(crate) fn kind(&mut self) -> Result<PhysicalKind, LayoutError> {
        Ok(match self.u8()? {
            0 => PhysicalKind::Int,
            1 => PhysicalKind::Float,
            2 => PhysicalKind::Decimal,
            3 => PhysicalKind::Bool,
            4 => PhysicalKind::Bytes,
            other => return Err(self.error(format!("unknown value kind {other}"))),
        })
    }

    pub(crate) fn scalar(&mut self) -> Result<Scalar, LayoutError> {
        Ok(match self.u8()? {
            0 => Scalar::Int(self.i64()?),
            1 => Scalar::Float(self.f64()?),
            2 => Scalar::Decimal(self.i128()?),
            3 => Scalar::Bool(self.bool()?),
            4 => Scalar::Bytes(self.bytes()?),
            other => return Err(self.error(format!("unknown scalar tag {other}"))),
        })
    }

    fn bound(&mut self) -> Result<Bound<Scalar>, LayoutError> {
        Ok(match self.u8()? {
            0 => Bound::Unbounded,
            1 => Bound::Included(self.scalar()?),
            2 => Bound::Excluded(self.scalar()?),
            other => return Err(self.error(format!("unknown bound tag {other}"))),
        })
    }

    pub(crate) fn predicate(&mut self) -> Result<Predicate, LayoutError> {
        // A filter takes at least 8 bytes (name length, term count), a term at least 1.
        let filter_count = self.count(8)?;
        let mut filters = Vec::with_capacity(filter_count);
        for _ in 0..filter_count {
            let column = self.string()?;
            let term_count = self.count(1)?;
            let mut terms = Vec::with_capacity(term_count);
            for _ in 0..term_count {
                terms.push(match self.u8()? {
                    0 => {
                        let low = self.bound()?;
                        let high = self.bound()?;
                        Term::Range(Range { low, high })
                    }
                    1 => Term::IsNull,
                    2 => Term::IsNotNull,
                    other => return Err(self.error(format!("unknown term tag {other}"))),
                });
            }
            filters.push(ColumnFilter { column, terms });
        }
        Ok(Predicate { filters })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_little_endian() {
        let mut writer = Writer::default();
        writer.u16(0x0102);
        writer.u32(7);
        writer.f64(-0.5);
        writer.string("ship");
        writer.scalar(&Scalar::Decimal(-3));
        let bytes = writer.finish();
        assert_eq!(&bytes[..2], &[0x02, 0x01]);
        let mut reader = Reader::new(&bytes, 0);
        assert_eq!(reader.u16().unwrap(), 0x0102);
        assert_eq!(reader.u32().unwrap(), 7);
        assert_eq!(reader.f64().unwrap(), -0.5);
        assert_eq!(reader.string().unwrap(), "ship");
        assert_eq!(reader.scalar().unwrap(), Scalar::Decimal(-3));
        reader.finish().unwrap();
    }

    #[test]
    fn oversized_counts_fail_before_allocating() {
        let mut bytes = vec![0u8; 10];
        bytes.extend_from_slice(&u32::MAX.to_le_bytes());
        let mut reader = Reader::new(&bytes, 10);
        assert!(matches!(
            reader.count(8),
            Err(LayoutError::Format { offset: 14, .. })
        ));
        let mut short = Reader::new(&[1, 2], 0);
        assert!(short.u32().is_err());
    }
}
