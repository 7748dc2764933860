//! Bounds-checked little-endian reading and writing of block bytes.
//!
//! Every read from an untrusted block goes through [`Reader`], which turns a short buffer into
//! [`CodecError::Truncated`] naming what was being read and at which offset, so decoders never
//! index past the end and never trust a length field further than the bytes that back it.

use crate::error::{CodecError, Result};

/// A cursor over block bytes that never reads past the end.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    bytes: &'a [u8],
    position: usize,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, position: 0 }
    }

    /// Byte offset of the next read.
    pub fn position(&self) -> usize {
        self.position
    }

    /// Moves back to an earlier offset (to re-read a node another way).
    pub(crate) fn rewind_to(&mut self, offset: usize) {
        self.position = offset.min(self.position);
    }

    /// Bytes not read yet.
    pub fn remaining(&self) -> usize {
        self.bytes.len() - self.position
    }

    /// Takes the next `count` bytes.
    pub fn take(&mut self, count: usize, context: &'static str) -> Result<&'a [u8]> {
        let end = self
            .position
            .checked_add(count)
            .filter(|&end| end <= self.bytes.len());
        match end.and_then(|end| self.bytes.get(self.position..end)) {
            Some(slice) => {
                self.position += count;
                Ok(slice)
            }
            None => Err(CodecError::Truncated {
                context,
                offset: self.position,
                needed: count,
                available: self.remaining(),
            }),
        }
    }

    fn array<const N: usize>(&mut self, context: &'static str) -> Result<[u8; N]> {
        let slice = self.take(N, context)?;
        let mut array = [0u8; N];
        array.copy_from_slice(slice);
        Ok(array)
    }

    /// Reads one byte.
    pub fn u8(&mut self, context: &'static str) -> Result<u8> {
        Ok(self.array::<1>(context)?[0])
    }

    /// Reads a little-endian `u16`.
    pub fn u16(&mut self, context: &'static str) -> Result<u16> {
        Ok(u16::from_le_bytes(self.array(context)?))
    }

    /// Reads a little-endian `u32`.
    pub fn u32(&mut self, context: &'static str) -> Result<u32> {
        Ok(u32::from_le_bytes(self.array(context)?))
    }

    /// Reads a little-endian `u64`.
    pub fn u64(&mut self, context: &'static str) -> Result<u64> {
        Ok(u64::from_le_bytes(self.array(context)?))
    }

    /// Reads a little-endian `i64`.
    pub fn i64(&mut self, context: &'static str) -> Result<i64> {
        Ok(i64::from_le_bytes(self.array(context)?))
    }

    /// Reads a `u32` count and checks it against `limit`, the most this block can hold.
    pub fn count(&mut self, context: &'static str, limit: usize) -> Result<usize> {
        let offset = self.position;
        let value = self.u32(context)? as usize;
        if value > limit {
            return Err(self.corrupt_at(offset, format!("{context} {value} exceeds {limit}")));
        }
        Ok(value)
    }

    /// A [`CodecError::Corrupt`] at the current position.
    pub fn corrupt(&self, what: impl Into<String>) -> CodecError {
        self.corrupt_at(self.position, what)
    }

    /// A [`CodecError::Corrupt`] at `offset`.
    pub fn corrupt_at(&self, offset: usize, what: impl Into<String>) -> CodecError {
        CodecError::Corrupt {
            what: what.into(),
            offset,
        }
    }
}

/// Appends little-endian values to a byte vector.
pub(crate) trait WriteLe {
    fn put_u8(&mut self, value: u8);
    fn put_u16(&mut self, value: u16);
    fn put_u32(&mut self, value: u32);
    fn put_u64(&mut self, value: u64);
    fn put_i64(&mut self, value: i64);
    /// Writes a length that the format stores as `u32`, failing if it does not fit.
    fn put_len(&mut self, value: usize, what: &'static str) -> Result<()>;
}

impl WriteLe for Vec<u8> {
    fn put_u8(&mut self, value: u8) {
        self.push(value);
    }
    fn put_u16(&mut self, value: u16) {
        self.extend_from_slice(&value.to_le_bytes());
    }
    fn put_u32(&mut self, value: u32) {
        self.extend_from_slice(&value.to_le_bytes());
    }
    fn put_u64(&mut self, value: u64) {
        self.extend_from_slice(&value.to_le_bytes());
    }
    fn put_i64(&mut self, value: i64) {
        self.extend_from_slice(&value.to_le_bytes());
    }
    fn put_len(&mut self, value: usize, what: &'static str) -> Result<()> {
        let value = u32::try_from(value).map_err(|_| CodecError::TooLarge {
            what,
            actual: value as u64,
            limit: u64::from(u32::MAX),
        })?;
        self.put_u32(value);
        Ok(())
    }
}
