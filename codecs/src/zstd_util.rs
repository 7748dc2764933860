//! zstd as the general-purpose fallback: one reusable context per thread, and decompression
//! that never allocates more than the block says it decodes to (and that is bounded by the
//! caller before it gets here).

use std::cell::RefCell;

use crate::error::{CodecError, Result};
use crate::io::{Reader, WriteLe};

thread_local! {
    static COMPRESSOR: RefCell<Option<(i32, zstd::bulk::Compressor<'static>)>> = const { RefCell::new(None) };
    static DECOMPRESSOR: RefCell<Option<zstd::bulk::Decompressor<'static>>> = const { RefCell::new(None) };
}

fn zstd_error(error: std::io::Error) -> CodecError {
    CodecError::Zstd(error.to_string())
}

/// Appends `raw.len()` (u32), the compressed length (u32) and the compressed bytes.
pub(crate) fn compress_into(raw: &[u8], level: i32, out: &mut Vec<u8>) -> Result<()> {
    let compressed = COMPRESSOR.with(|cell| -> Result<Vec<u8>> {
        let mut slot = cell.borrow_mut();
        if slot.as_ref().is_none_or(|(cached, _)| *cached != level) {
            *slot = Some((
                level,
                zstd::bulk::Compressor::new(level).map_err(zstd_error)?,
            ));
        }
        match slot.as_mut() {
            Some((_, compressor)) => compressor.compress(raw).map_err(zstd_error),
            None => Err(CodecError::Zstd("no compressor".into())),
        }
    })?;
    out.put_len(raw.len(), "zstd input")?;
    out.put_len(compressed.len(), "zstd output")?;
    out.extend_from_slice(&compressed);
    Ok(())
}

/// Reads what [`compress_into`] wrote and decompresses it, requiring exactly `expected_len`
/// bytes out.
pub(crate) fn decompress_from(reader: &mut Reader<'_>, expected_len: usize) -> Result<Vec<u8>> {
    let offset = reader.position();
    let raw_len = reader.u32("zstd decompressed length")? as usize;
    if raw_len != expected_len {
        return Err(reader.corrupt_at(
            offset,
            format!("zstd frame of {raw_len} bytes, expected {expected_len}"),
        ));
    }
    let compressed_len = reader.u32("zstd compressed length")? as usize;
    let compressed = reader.take(compressed_len, "zstd frame")?;
    let raw = DECOMPRESSOR.with(|cell| -> Result<Vec<u8>> {
        let mut slot = cell.borrow_mut();
        if slot.is_none() {
            *slot = Some(zstd::bulk::Decompressor::new().map_err(zstd_error)?);
        }
        match slot.as_mut() {
            Some(decompressor) => decompressor
                .decompress(compressed, expected_len)
                .map_err(zstd_error),
            None => Err(CodecError::Zstd("no decompressor".into())),
        }
    })?;
    if raw.len() != expected_len {
        return Err(reader.corrupt_at(
            offset,
            format!(
                "zstd frame held {} bytes, expected {expected_len}",
                raw.len()
            ),
        ));
    }
    Ok(raw)
}
