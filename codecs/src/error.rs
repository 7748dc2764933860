//! The one error type of `tessera-codecs`: every failure says what was wrong and where.

/// Where in a block a decoding problem was found: the scheme being decoded and the byte
/// offset into the block.
pub type Result<T, E = CodecError> = std::result::Result<T, E>;

/// Errors from building columns, encoding and decoding blocks.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CodecError {
    /// The bytes are shorter than what a length or count field promises.
    #[error("truncated block: {context} needs {needed} bytes at offset {offset}, {available} left")]
    Truncated {
        /// What was being read.
        context: &'static str,
        /// Byte offset into the block.
        offset: usize,
        /// Bytes needed.
        needed: usize,
        /// Bytes left.
        available: usize,
    },
    /// The block's checksum does not match its contents.
    #[error("checksum mismatch: stored {expected:#010x}, computed {actual:#010x}")]
    ChecksumMismatch {
        /// The checksum stored in the block.
        expected: u32,
        /// The checksum of the bytes as read.
        actual: u32,
    },
    /// The block does not start with the block magic bytes.
    #[error("not a tessera block: bad magic {found:02x?}")]
    BadMagic {
        /// The first bytes found.
        found: [u8; 4],
    },
    /// The block was written by a format version this build cannot read.
    #[error("unsupported block format version {found} (this build reads up to {supported})")]
    UnsupportedVersion {
        /// Version in the block.
        found: u16,
        /// Newest version this build reads.
        supported: u16,
    },
    /// A field holds a value that no valid block can hold.
    #[error("corrupt block: {what} at offset {offset}")]
    Corrupt {
        /// What is wrong.
        what: String,
        /// Byte offset into the block.
        offset: usize,
    },
    /// The block names a scheme that does not exist for the value kind.
    #[error("unknown {kind} scheme id {id} at offset {offset}")]
    UnknownScheme {
        /// Value kind being decoded (integer, float, bytes, boolean).
        kind: &'static str,
        /// The scheme id found.
        id: u8,
        /// Byte offset into the block.
        offset: usize,
    },
    /// A column was built from parts that do not fit together.
    #[error("invalid column: {0}")]
    InvalidColumn(String),
    /// A block or column is larger than the format allows.
    #[error("too large: {what} is {actual}, the limit is {limit}")]
    TooLarge {
        /// What is too large.
        what: &'static str,
        /// Its size.
        actual: u64,
        /// The limit.
        limit: u64,
    },
    /// A scheme cannot encode these values (for example, constant on varying values).
    /// The compressor falls back to the next candidate; users never see this.
    #[error("scheme {scheme} does not apply to these values")]
    NotApplicable {
        /// The scheme's name.
        scheme: &'static str,
    },
    /// The general-purpose compressor failed.
    #[error("zstd: {0}")]
    Zstd(String),
}
