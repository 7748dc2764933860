//! A bounds-checked little-endian cursor for the engine's own persisted formats (catalog
//! entries, delta rows). Every read that would pass the end is an error naming how many bytes
//! were needed, so a damaged record never panics a decoder.

/// Reads values off the front of a byte slice.
pub(crate) struct ByteReader<'a> {
    pub(crate) bytes: &'a [u8],
}

impl<'a> ByteReader<'a> {
    /// A reader over `bytes`.
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Self { bytes }
    }

    /// The next `count` bytes.
    pub(crate) fn take(&mut self, count: usize) -> std::result::Result<&'a [u8], String> {
        let (head, tail) = self
            .bytes
            .split_at_checked(count)
            .ok_or_else(|| format!("needs {count} more bytes, {} are left", self.bytes.len()))?;
        self.bytes = tail;
        Ok(head)
    }

    /// The next `N` bytes as an array.
    pub(crate) fn array<const N: usize>(&mut self) -> std::result::Result<[u8; N], String> {
        let mut buffer = [0u8; N];
        buffer.copy_from_slice(self.take(N)?);
        Ok(buffer)
    }

    /// The next byte.
    pub(crate) fn byte(&mut self) -> std::result::Result<u8, String> {
        let [byte] = self.array::<1>()?;
        Ok(byte)
    }

    /// The next little-endian `u16`.
    pub(crate) fn u16(&mut self) -> std::result::Result<u16, String> {
        Ok(u16::from_le_bytes(self.array()?))
    }
}
