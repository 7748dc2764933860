//! Compacted blocks: what `block_meta` holds for each one, and the table manifest that says
//! which layout and delta generations the blocks stand for.
//!
//! A block is up to [`BLOCK_ROWS`] rows of one cell of one layout version, stored as one
//! encoded column chunk per table column (a `tessera-codecs` block, checksummed) in `blocks`.
//! Its [`BlockMeta`] carries the row count, a zone map per column (min, max, null count),
//! the encoding chosen per column, the chunk checksums, the primary key range, and the
//! deletion vector: rows deleted or replaced after the block was written.
//!
//! A block holds the rows of one cell, or of several consecutive cells when the cells are
//! small (packed in cell order so a fine grid does not cost a block per cell): its cell
//! runs say which rows belong to which cell. Each run is sorted on its own by the layout's
//! sort column; a block of one run also carries a position model of that column.
//!
//! `BlockMeta` format version 3, integers little-endian:
//!
//! ```text
//! u16 version · u64 block id · u32 layout version · u32 cell · u32 rows
//! u32 runs, then per run: u32 cell · u32 first row
//!     (the first run is the block's cell from row 0; cells and rows strictly ascending)
//! u16 columns, then per column:
//!     u64 chunk bytes · u32 chunk trailer · u32 null count
//!     u8 zone flag (0 none, 1 min and max follow) [scalar min, scalar max]
//!     u16 length + UTF-8 encoding description
//! u32 length + primary key minimum · u32 length + primary key maximum
//! u32 length + deletion vector (a serialized roaring bitmap)
//! u32 length + position model bytes (empty: none)
//! scalar: u8 tag (1 int i64 · 2 float f64 bits · 3 decimal i128 · 4 bool u8 · 5 bytes
//!         u32 length + bytes)
//! ```
//!
//! The chunk trailer is the chunk's last four bytes: its own CRC-32C of the bytes before
//! them, which binds the meta to the chunk it describes.
//!
//! Versions 1 and 2 are still read. Version 2 is version 3 with the CRC-32C of the whole
//! chunk, trailer included, in place of the trailer: the checksum residue
//! ([`CHUNK_CRC_RESIDUE`]) for every well-formed chunk, which binds nothing. Such a meta keeps
//! the residue when rewritten (a deletion rewrites it), and reads skip the binding for it.
//! Version 1 is version 2 without the runs: its block is one cell's.
//!
//! String minima and maxima are cut to [`ZONE_BYTES_LIMIT`] bytes: a cut minimum is still a
//! lower bound, and a cut maximum is replaced by the next prefix above it (or dropped with
//! the whole zone map when there is none), so zone maps stay conservative.

use roaring::RoaringBitmap;
use tessera_codecs::{Column, ColumnValues};
use tessera_layout::Scalar;
use tessera_layout::predicate::float_order;

use crate::bytes::ByteReader;

/// Rows per block at most.
pub const BLOCK_ROWS: usize = 65_536;
/// The `BlockMeta` format version this build writes; it also reads versions 1 and 2.
pub const BLOCK_META_VERSION: u16 = 3;
/// The manifest format version this build writes and reads.
pub const MANIFEST_VERSION: u16 = 1;
/// The CRC-32C of any bytes followed by their own CRC-32C, little-endian: the residue of
/// the checksum, the same for every message. It is what [`ChunkMeta::trailer`] holds for a
/// chunk whose meta was first written in format version 1 or 2.
pub const CHUNK_CRC_RESIDUE: u32 = 0x4867_4BC7;
/// Longest string zone-map bound kept.
pub const ZONE_BYTES_LIMIT: usize = 32;

/// One column's chunk within a block.
#[derive(Debug, Clone, PartialEq)]
pub struct ChunkMeta {
    /// Encoded bytes of the chunk.
    pub bytes: u64,
    /// The chunk's checksum trailer: its last four bytes, little-endian, the CRC-32C of the
    /// bytes before them, which decoding verifies. A read compares it with the chunk's, which
    /// catches a well-formed chunk that is not the one this meta describes. A meta first
    /// written in format 1 or 2 holds [`CHUNK_CRC_RESIDUE`] (then, the CRC-32C of the whole
    /// chunk, the same for every chunk), and reads skip the comparison.
    pub trailer: u32,
    /// Nulls in the column.
    pub null_count: u32,
    /// Smallest and largest non-null value, `None` when every value is null or the bounds
    /// could not be kept.
    pub zone: Option<(Scalar, Scalar)>,
    /// The encoding the compressor chose, as `tessera-codecs` prints it.
    pub encoding: String,
}

/// The rows of one cell within a block: from `first` up to the next run's first row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CellRun {
    /// The cell.
    pub cell: u32,
    /// The run's first row in the block.
    pub first: u32,
}

/// Everything the engine keeps about one block.
#[derive(Debug, Clone, PartialEq)]
pub struct BlockMeta {
    /// Unique within the table, never reused.
    pub id: u64,
    /// The layout version the block belongs to.
    pub layout_version: u32,
    /// The cell of that layout (the first, when the block holds several).
    pub cell: u32,
    /// Rows stored, deleted ones included.
    pub rows: u32,
    /// The cells whose rows the block holds, in row order; the first is `cell` from row 0.
    pub runs: Vec<CellRun>,
    /// One entry per table column, in table order.
    pub columns: Vec<ChunkMeta>,
    /// Smallest encoded primary key in the block (without the table id).
    pub pk_min: Vec<u8>,
    /// Largest encoded primary key in the block.
    pub pk_max: Vec<u8>,
    /// Rows deleted or replaced since the block was written.
    pub deleted: RoaringBitmap,
    /// A learned position model on the layout's sort column, serialized by the layout crate;
    /// empty when there is none (always, for a block of several runs).
    pub position: Vec<u8>,
}

impl BlockMeta {
    /// Rows not deleted.
    pub fn live_rows(&self) -> u64 {
        u64::from(self.rows).saturating_sub(self.deleted.len())
    }

    /// The block's cell runs as (cell, rows).
    pub fn cell_runs(&self) -> impl Iterator<Item = (u32, std::ops::Range<usize>)> + '_ {
        self.runs.iter().enumerate().map(|(index, run)| {
            let past = self
                .runs
                .get(index + 1)
                .map_or(self.rows, |next| next.first);
            (run.cell, run.first as usize..past as usize)
        })
    }

    /// The last cell the block holds rows of.
    pub fn last_cell(&self) -> u32 {
        self.runs.last().map_or(self.cell, |run| run.cell)
    }

    /// Serializes in format [`BLOCK_META_VERSION`].
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 + self.columns.len() * 48);
        out.extend_from_slice(&BLOCK_META_VERSION.to_le_bytes());
        out.extend_from_slice(&self.id.to_le_bytes());
        out.extend_from_slice(&self.layout_version.to_le_bytes());
        out.extend_from_slice(&self.cell.to_le_bytes());
        out.extend_from_slice(&self.rows.to_le_bytes());
        // A block has at most BLOCK_ROWS rows, hence runs.
        out.extend_from_slice(&(self.runs.len() as u32).to_le_bytes());
        for run in &self.runs {
            out.extend_from_slice(&run.cell.to_le_bytes());
            out.extend_from_slice(&run.first.to_le_bytes());
        }
        // A table has at most u16::MAX columns (the row format's limit).
        out.extend_from_slice(&(self.columns.len() as u16).to_le_bytes());
        for column in &self.columns {
            out.extend_from_slice(&column.bytes.to_le_bytes());
            out.extend_from_slice(&column.trailer.to_le_bytes());
            out.extend_from_slice(&column.null_count.to_le_bytes());
            match &column.zone {
                None => out.push(0),
                Some((min, max)) => {
                    out.push(1);
                    encode_scalar(min, &mut out);
                    encode_scalar(max, &mut out);
                }
            }
            let encoding = column.encoding.as_bytes();
            let length = encoding.len().min(usize::from(u16::MAX));
            out.extend_from_slice(&(length as u16).to_le_bytes());
            out.extend_from_slice(encoding.get(..length).unwrap_or_default());
        }
        put_bytes(&self.pk_min, &mut out);
        put_bytes(&self.pk_max, &mut out);
        let mut deleted = Vec::with_capacity(self.deleted.serialized_size());
        // Writing into a Vec cannot fail.
        let _ = self.deleted.serialize_into(&mut deleted);
        put_bytes(&deleted, &mut out);
        put_bytes(&self.position, &mut out);
        out
    }

    /// Reads a serialized meta; `Err` carries the reason, the caller names the key.
    pub fn decode(bytes: &[u8]) -> Result<Self, String> {
        let mut reader = ByteReader::new(bytes);
        let version = u16::from_le_bytes(reader.array()?);
        if !(1..=BLOCK_META_VERSION).contains(&version) {
            return Err(format!(
                "block meta format version {version}, this build reads 1 to {BLOCK_META_VERSION}"
            ));
        }
        let id = u64::from_le_bytes(reader.array()?);
        let layout_version = u32::from_le_bytes(reader.array()?);
        let cell = u32::from_le_bytes(reader.array()?);
        let rows = u32::from_le_bytes(reader.array()?);
        if rows as usize > BLOCK_ROWS {
            return Err(format!("{rows} rows, a block holds at most {BLOCK_ROWS}"));
        }
        let runs = if version == 1 {
            vec![CellRun { cell, first: 0 }]
        } else {
            let count = u32::from_le_bytes(reader.array()?) as usize;
            if count == 0 || count > (rows as usize).max(1) {
                return Err(format!("{count} cell runs in {rows} rows"));
            }
            let mut runs: Vec<CellRun> = Vec::with_capacity(count);
            for _ in 0..count {
                let run = CellRun {
                    cell: u32::from_le_bytes(reader.array()?),
                    first: u32::from_le_bytes(reader.array()?),
                };
                let ordered = match runs.last() {
                    None => run == CellRun { cell, first: 0 },
                    Some(last) => {
                        run.cell > last.cell && run.first > last.first && run.first < rows
                    }
                };
                if !ordered {
                    return Err(format!(
                        "cell run {} (cell {}, row {}) out of order",
                        runs.len(),
                        run.cell,
                        run.first
                    ));
                }
                runs.push(run);
            }
            runs
        };
        let count = u16::from_le_bytes(reader.array()?) as usize;
        let mut columns = Vec::with_capacity(count);
        for _ in 0..count {
            let chunk_bytes = u64::from_le_bytes(reader.array()?);
            let trailer = u32::from_le_bytes(reader.array()?);
            let null_count = u32::from_le_bytes(reader.array()?);
            if null_count > rows {
                return Err(format!("{null_count} nulls in {rows} rows"));
            }
            let zone = match reader.byte()? {
                0 => None,
                1 => Some((decode_scalar(&mut reader)?, decode_scalar(&mut reader)?)),
                flag => return Err(format!("zone map flag {flag}")),
            };
            let length = u16::from_le_bytes(reader.array()?) as usize;
            let encoding = String::from_utf8(reader.take(length)?.to_vec())
                .map_err(|_| "encoding description is not UTF-8".to_owned())?;
            columns.push(ChunkMeta {
                bytes: chunk_bytes,
                trailer,
                null_count,
                zone,
                encoding,
            });
        }
        let pk_min = take_bytes(&mut reader)?.to_vec();
        let pk_max = take_bytes(&mut reader)?.to_vec();
        let deleted = RoaringBitmap::deserialize_from(take_bytes(&mut reader)?)
            .map_err(|error| format!("deletion vector: {error}"))?;
        if deleted.max().is_some_and(|row| row >= rows) {
            return Err(format!("deletion vector names a row past {rows}"));
        }
        let position = take_bytes(&mut reader)?.to_vec();
        if !reader.bytes.is_empty() {
            return Err(format!("{} bytes after the block meta", reader.bytes.len()));
        }
        Ok(Self {
            id,
            layout_version,
            cell,
            rows,
            runs,
            columns,
            pk_min,
            pk_max,
            deleted,
            position,
        })
    }
}

/// What a table's blocks stand for: the layout they follow and the delta generations
/// folded into them. Written in the same batch as the blocks it describes.
#[derive(Debug, Clone, PartialEq)]
pub struct Manifest {
    /// Version of the current layout; blocks of other versions are being rewritten.
    pub layout_version: u32,
    /// The current layout, as `tessera-layout` serializes it.
    pub layout: Vec<u8>,
    /// Every delta generation up to this one is folded into blocks.
    pub folded_through: u32,
    /// The next block id to hand out.
    pub next_block_id: u64,
}

impl Manifest {
    /// Serializes in format [`MANIFEST_VERSION`]: u16 version, u32 layout version, u32
    /// folded generation, u64 next block id, u32 length + layout bytes; little-endian.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(22 + self.layout.len());
        out.extend_from_slice(&MANIFEST_VERSION.to_le_bytes());
        out.extend_from_slice(&self.layout_version.to_le_bytes());
        out.extend_from_slice(&self.folded_through.to_le_bytes());
        out.extend_from_slice(&self.next_block_id.to_le_bytes());
        put_bytes(&self.layout, &mut out);
        out
    }

    /// Reads a serialized manifest; `Err` carries the reason.
    pub fn decode(bytes: &[u8]) -> Result<Self, String> {
        let mut reader = ByteReader::new(bytes);
        let version = u16::from_le_bytes(reader.array()?);
        if version != MANIFEST_VERSION {
            return Err(format!(
                "manifest format version {version}, this build reads {MANIFEST_VERSION}"
            ));
        }
        let layout_version = u32::from_le_bytes(reader.array()?);
        let folded_through = u32::from_le_bytes(reader.array()?);
        let next_block_id = u64::from_le_bytes(reader.array()?);
        let layout = take_bytes(&mut reader)?.to_vec();
        if !reader.bytes.is_empty() {
            return Err(format!("{} bytes after the manifest", reader.bytes.len()));
        }
        Ok(Self {
            layout_version,
            layout,
            folded_through,
            next_block_id,
        })
    }
}

fn put_bytes(bytes: &[u8], out: &mut Vec<u8>) {
    // Stored byte strings are keys, bitmaps and models far below 4 GiB.
    out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    out.extend_from_slice(bytes);
}

fn take_bytes<'a>(reader: &mut ByteReader<'a>) -> Result<&'a [u8], String> {
    let length = u32::from_le_bytes(reader.array()?) as usize;
    reader.take(length)
}

const SCALAR_INT: u8 = 1;
const SCALAR_FLOAT: u8 = 2;
const SCALAR_DECIMAL: u8 = 3;
const SCALAR_BOOL: u8 = 4;
const SCALAR_BYTES: u8 = 5;

fn encode_scalar(value: &Scalar, out: &mut Vec<u8>) {
    match value {
        Scalar::Int(value) => {
            out.push(SCALAR_INT);
            out.extend_from_slice(&value.to_le_bytes());
        }
        Scalar::Float(value) => {
            out.push(SCALAR_FLOAT);
            out.extend_from_slice(&value.to_bits().to_le_bytes());
        }
        Scalar::Decimal(value) => {
            out.push(SCALAR_DECIMAL);
            out.extend_from_slice(&value.to_le_bytes());
        }
        Scalar::Bool(value) => {
            out.push(SCALAR_BOOL);
            out.push(u8::from(*value));
        }
        Scalar::Bytes(bytes) => {
            out.push(SCALAR_BYTES);
            put_bytes(bytes, out);
        }
    }
}

fn decode_scalar(reader: &mut ByteReader<'_>) -> Result<Scalar, String> {
    Ok(match reader.byte()? {
        SCALAR_INT => Scalar::Int(i64::from_le_bytes(reader.array()?)),
        SCALAR_FLOAT => Scalar::Float(f64::from_bits(u64::from_le_bytes(reader.array()?))),
        SCALAR_DECIMAL => Scalar::Decimal(i128::from_le_bytes(reader.array()?)),
        SCALAR_BOOL => match reader.byte()? {
            0 => Scalar::Bool(false),
            1 => Scalar::Bool(true),
            other => return Err(format!("boolean byte {other}")),
        },
        SCALAR_BYTES => Scalar::Bytes(take_bytes(reader)?.to_vec()),
        tag => return Err(format!("scalar tag {tag}")),
    })
}

/// The smallest and largest of the present values under an order given by `less`.
fn extremes<T: Copy>(
    values: impl Iterator<Item = T>,
    less: impl Fn(T, T) -> bool,
) -> Option<(T, T)> {
    let mut values = values;
    let first = values.next()?;
    Some(values.fold((first, first), |(min, max), value| {
        (
            if less(value, min) { value } else { min },
            if less(max, value) { value } else { max },
        )
    }))
}

/// The zone map of a column: smallest and largest non-null value, or `None` when every
/// value is null (or a string bound cannot be kept, see the module documentation).
pub fn zone_of(column: &Column) -> Option<(Scalar, Scalar)> {
    let present = |row: &usize| !column.is_null(*row);
    fn kept<'a, T: Copy + 'a>(
        values: &'a [T],
        present: &'a impl Fn(&usize) -> bool,
    ) -> impl Iterator<Item = T> + 'a {
        values
            .iter()
            .enumerate()
            .filter(move |(row, _)| present(row))
            .map(|(_, value)| *value)
    }
    match column.values() {
        ColumnValues::Int(values) => extremes(kept(values, &present), |a, b| a < b)
            .map(|(min, max)| (Scalar::Int(min), Scalar::Int(max))),
        ColumnValues::Float(values) => {
            extremes(kept(values, &present), |a, b| float_order(a, b).is_lt())
                .map(|(min, max)| (Scalar::Float(min), Scalar::Float(max)))
        }
        ColumnValues::Decimal(values) => extremes(kept(values, &present), |a, b| a < b)
            .map(|(min, max)| (Scalar::Decimal(min), Scalar::Decimal(max))),
        ColumnValues::Bool(values) => extremes(kept(values, &present), |a, b| !a & b)
            .map(|(min, max)| (Scalar::Bool(min), Scalar::Bool(max))),
        ColumnValues::Bytes(values) => {
            let (min, max) = extremes(
                values
                    .iter()
                    .enumerate()
                    .filter(|(row, _)| present(row))
                    .map(|(_, value)| value),
                |a, b| a < b,
            )?;
            let min = min.get(..ZONE_BYTES_LIMIT).unwrap_or(min).to_vec();
            let max = if max.len() > ZONE_BYTES_LIMIT {
                successor(max.get(..ZONE_BYTES_LIMIT).unwrap_or(max).to_vec())?
            } else {
                max.to_vec()
            };
            Some((Scalar::Bytes(min), Scalar::Bytes(max)))
        }
    }
}

/// The smallest byte string above every string starting with `prefix`, or `None` when
/// there is none (the prefix is all `0xFF`).
pub(crate) fn successor(mut prefix: Vec<u8>) -> Option<Vec<u8>> {
    while let Some(last) = prefix.pop() {
        if last < u8::MAX {
            prefix.push(last + 1);
            return Some(prefix);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_codecs::{BytesColumn, Compressor, CompressorConfig, LogicalType, encode_block};

    /// What reads rely on: the checksum of a whole encoded chunk is the residue, whatever
    /// the column and encoding, and a damaged chunk's is not.
    #[test]
    fn a_whole_chunk_checksums_to_the_residue() {
        let compressor = Compressor::new(CompressorConfig::default());
        let columns = [
            Column::new(
                LogicalType::Int64,
                ColumnValues::Int((0..5_000).map(|i| i * 7 % 1_000).collect()),
                None,
            ),
            Column::new(LogicalType::Int32, ColumnValues::Int(vec![3; 100]), None),
            Column::new(
                LogicalType::Float64,
                ColumnValues::Float((0..777).map(|i| f64::from(i).sqrt()).collect()),
                Some((0..777).map(|i| i % 5 != 0).collect()),
            ),
            Column::new(
                LogicalType::Utf8,
                ColumnValues::Bytes(
                    BytesColumn::from_values(["ship", "air", "rail", "ship"].map(str::as_bytes))
                        .unwrap(),
                ),
                None,
            ),
            Column::new(LogicalType::Int64, ColumnValues::Int(Vec::new()), None),
        ];
        for column in columns {
            let column = column.unwrap();
            let encoded = encode_block(&column, &compressor).unwrap();
            assert_eq!(
                crc32c::crc32c(&encoded.bytes),
                CHUNK_CRC_RESIDUE,
                "{column:?}"
            );
            let mut damaged = encoded.bytes.clone();
            let middle = damaged.len() / 2;
            damaged[middle] ^= 0x10;
            assert_ne!(crc32c::crc32c(&damaged), CHUNK_CRC_RESIDUE);
        }
    }

    fn sample_meta() -> BlockMeta {
        let mut deleted = RoaringBitmap::new();
        deleted.insert(3);
        deleted.insert(7);
        BlockMeta {
            id: 42,
            layout_version: 2,
            cell: 5,
            rows: 10,
            runs: vec![CellRun { cell: 5, first: 0 }, CellRun { cell: 8, first: 4 }],
            columns: vec![
                ChunkMeta {
                    bytes: 120,
                    trailer: 0xDEAD_BEEF,
                    null_count: 1,
                    zone: Some((Scalar::Int(-4), Scalar::Int(99))),
                    encoding: "bitpacked".to_owned(),
                },
                ChunkMeta {
                    bytes: 64,
                    trailer: 7,
                    null_count: 10,
                    zone: None,
                    encoding: "constant".to_owned(),
                },
                ChunkMeta {
                    bytes: 80,
                    trailer: 9,
                    null_count: 0,
                    zone: Some((Scalar::Bytes(b"ab".to_vec()), Scalar::Bytes(b"zz".to_vec()))),
                    encoding: "dictionary(codes=bitpacked)".to_owned(),
                },
                ChunkMeta {
                    bytes: 16,
                    trailer: 1,
                    null_count: 0,
                    zone: Some((Scalar::Float(-0.5), Scalar::Float(f64::NAN))),
                    encoding: "alp".to_owned(),
                },
                ChunkMeta {
                    bytes: 8,
                    trailer: 2,
                    null_count: 0,
                    zone: Some((Scalar::Decimal(-1), Scalar::Decimal(1 << 100))),
                    encoding: "plain".to_owned(),
                },
                ChunkMeta {
                    bytes: 4,
                    trailer: 3,
                    null_count: 0,
                    zone: Some((Scalar::Bool(false), Scalar::Bool(true))),
                    encoding: "bitmap".to_owned(),
                },
            ],
            pk_min: vec![0x80, 0, 0, 1],
            pk_max: vec![0x80, 0, 0, 9],
            deleted,
            position: vec![1, 2, 3],
        }
    }

    /// A version 1 meta (written before blocks held several cells) reads as one run.
    #[test]
    fn block_meta_format_v1_still_reads() {
        let path = crate::golden_file("block_meta_v1.bin");
        let decoded = BlockMeta::decode(&std::fs::read(path).unwrap()).unwrap();
        assert_eq!(decoded.runs, vec![CellRun { cell: 5, first: 0 }]);
        assert_eq!(decoded.cell_runs().collect::<Vec<_>>(), vec![(5, 0..10)]);
        let mut expected = sample_meta();
        expected.runs.truncate(1);
        // NaN != NaN, so compare the encodings.
        assert_eq!(decoded.encode(), expected.encode());
    }

    /// A version 2 meta reads as it was: its checksum field (the residue, for a real chunk)
    /// stays as the trailer, which reads then do not compare.
    #[test]
    fn block_meta_format_v2_still_reads() {
        let path = crate::golden_file("block_meta_v2.bin");
        let golden = std::fs::read(path).unwrap();
        let decoded = BlockMeta::decode(&golden).unwrap();
        // NaN != NaN, so compare the encodings; only the version differs.
        let encoded = decoded.encode();
        assert_eq!(encoded, sample_meta().encode());
        assert_eq!(encoded[..2], 3u16.to_le_bytes());
        assert_eq!(encoded[2..], golden[2..]);
    }

    /// Golden bytes of a block meta in format version 3: a changed format must change the
    /// version. Regenerate with `TESSERA_BLESS=1`.
    #[test]
    fn block_meta_format_v3_is_stable() {
        let meta = sample_meta();
        assert_eq!(
            meta.cell_runs().collect::<Vec<_>>(),
            vec![(5, 0..4), (8, 4..10)]
        );
        assert_eq!(meta.last_cell(), 8);
        let bytes = meta.encode();
        let path = crate::golden_file("block_meta_v3.bin");
        if std::env::var_os("TESSERA_BLESS").is_some() {
            std::fs::write(&path, &bytes).unwrap();
        }
        let golden = std::fs::read(&path).unwrap();
        assert_eq!(
            bytes, golden,
            "block meta bytes changed without a version bump"
        );
        let decoded = BlockMeta::decode(&golden).unwrap();
        // NaN != NaN, so compare the encodings.
        assert_eq!(decoded.encode(), golden);
        assert_eq!(decoded.live_rows(), 8);
    }

    #[test]
    fn manifest_format_v1_is_stable() {
        let manifest = Manifest {
            layout_version: 3,
            layout: b"TSLY\x01\x00\x00".to_vec(),
            folded_through: 17,
            next_block_id: 1 << 40,
        };
        let bytes = manifest.encode();
        let path = crate::golden_file("manifest_v1.bin");
        if std::env::var_os("TESSERA_BLESS").is_some() {
            std::fs::write(&path, &bytes).unwrap();
        }
        assert_eq!(bytes, std::fs::read(&path).unwrap());
        assert_eq!(Manifest::decode(&bytes).unwrap(), manifest);
    }

    #[test]
    fn damaged_metas_are_errors_not_panics() {
        let bytes = sample_meta().encode();
        for cut in 0..bytes.len() {
            assert!(BlockMeta::decode(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        for index in 0..bytes.len() {
            let mut damaged = bytes.clone();
            damaged[index] ^= 0xFF;
            let _ = BlockMeta::decode(&damaged);
        }
        let mut extra = bytes.clone();
        extra.push(0);
        assert!(BlockMeta::decode(&extra).is_err());
        for runs in [
            vec![],
            vec![CellRun { cell: 4, first: 0 }],
            vec![CellRun { cell: 5, first: 1 }],
            vec![CellRun { cell: 5, first: 0 }, CellRun { cell: 5, first: 3 }],
            vec![CellRun { cell: 5, first: 0 }, CellRun { cell: 6, first: 0 }],
            vec![
                CellRun { cell: 5, first: 0 },
                CellRun { cell: 6, first: 10 },
            ],
        ] {
            let mut meta = sample_meta();
            meta.runs = runs.clone();
            assert!(BlockMeta::decode(&meta.encode()).is_err(), "{runs:?}");
        }
    }

    #[test]
    fn zone_maps_skip_nulls_and_stay_conservative_for_long_strings() {
        let column = Column::new(
            LogicalType::Int64,
            ColumnValues::Int(vec![5, -100, 3]),
            Some(vec![true, false, true]),
        )
        .unwrap();
        assert_eq!(zone_of(&column), Some((Scalar::Int(3), Scalar::Int(5))));
        let long = vec![b'x'; 40];
        let strings = Column::new(
            LogicalType::Utf8,
            ColumnValues::Bytes(BytesColumn::from_values([&b"a"[..], &long]).unwrap()),
            None,
        )
        .unwrap();
        let Some((Scalar::Bytes(min), Scalar::Bytes(max))) = zone_of(&strings) else {
            panic!("string zone map");
        };
        assert_eq!(min, b"a");
        assert!(max.as_slice() > long.as_slice() && max.len() == ZONE_BYTES_LIMIT);
        let all_null = Column::new(
            LogicalType::Int64,
            ColumnValues::Int(vec![0, 0]),
            Some(vec![false, false]),
        )
        .unwrap();
        assert_eq!(zone_of(&all_null), None);
    }
}
