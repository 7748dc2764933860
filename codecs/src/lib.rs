//! `tessera-codecs` owns how one column of one block is stored: typed column vectors
//! ([`Column`]), the encodings that store them (each a small [`Scheme`] implementation),
//! the automatic choice among them per block by trying candidates on a sample
//! ([`Compressor`]), the checksummed, versioned block format ([`encode_block`],
//! [`decode_block`]) and range predicates evaluated on encoded data
//! ([`select_int_range`]). It does no I/O and knows nothing of tables or layouts.
//!
//! ```
//! use tessera_codecs::{Column, ColumnValues, Compressor, LogicalType, decode_block, encode_block};
//!
//! let column = Column::new(LogicalType::Int64, ColumnValues::Int((0..10_000).collect()), None)?;
//! let block = encode_block(&column, &Compressor::default())?;
//! assert!(block.bytes.len() < column.logical_bytes() / 4);
//! assert_eq!(decode_block(&block.bytes)?, column);
//! println!("chose {}", block.values); // e.g. "delta(deltas=constant)"
//! # Ok::<(), tessera_codecs::CodecError>(())
//! ```

pub mod binary;
pub mod bitpack;
pub mod block;
pub mod boolean;
pub mod error;
pub mod float;
pub mod fuzz;
pub mod int;
pub mod io;
pub mod scheme;
pub mod select;
pub mod types;
mod zstd_util;

pub use block::{
    BLOCK_FORMAT_VERSION, BLOCK_MAGIC, BlockHeader, EncodedBlock, MAX_BLOCK_ROWS, decode_block,
    decode_block_into, decode_block_row, encode_block, read_header, select_int_range,
};
pub use error::{CodecError, Result};
pub use scheme::{Candidate, Compressor, CompressorConfig, EncodingNode, Scheme, ValueKind};
pub use select::Selection;
pub use types::{
    BytesColumn, Column, ColumnValues, LogicalType, PhysicalKind, Picked, RUN_ROWS_MIN, TimeUnit,
};
