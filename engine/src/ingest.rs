//! Bulk writes of primary-key index entries: compaction and re-layout write one entry per
//! row they place, millions per pass. Going through memtables costs a skiplist insert per
//! entry, a WAL record, a flush and then RocksDB's own compactions rewriting the entries
//! again; instead the entries are sorted, written as SST files and ingested (RocksDB's
//! external file ingestion), which places each file in the lowest level it fits and makes it
//! durable and visible atomically with a sequence number above every earlier write, so
//! snapshots taken before stay consistent.
//!
//! Ingestion happens before a pass's switch batch, like the other writes no reader can reach
//! yet: entries for new keys name blocks no published version holds until the switch. Files
//! a crash leaves in [`INGEST_DIR`] before their ingestion are deleted at the next open.

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

use crate::db::{CF_PK_INDEX, DbInner, storage};
use crate::error::{Error, Result};

/// Directory, under the database directory, where SST files wait for ingestion.
pub const INGEST_DIR: &str = "ingest";
/// Bytes of entries per SST file.
const FILE_BYTES: usize = 64 << 20;

/// Index entries (full `pk_index` keys and their 12-byte locations) gathered for one pass.
#[derive(Debug, Default)]
pub(crate) struct IndexEntries {
    keys: Vec<u8>,
    ends: Vec<usize>,
    values: Vec<[u8; 12]>,
}

impl IndexEntries {
    pub(crate) fn push(&mut self, key: &[u8], value: [u8; 12]) {
        self.keys.extend_from_slice(key);
        self.ends.push(self.keys.len());
        self.values.push(value);
    }

    pub(crate) fn len(&self) -> usize {
        self.ends.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The entries' indexes in key order, each beside the 8 key bytes it was sorted by
    /// (equal keys have equal ones); among equal keys the last pushed comes last, so it is
    /// the one written.
    ///
    /// Each entry is sorted by 8 bytes of its key as one integer, next to its index: the
    /// bytes after those every key shares (a pass's keys all start with the same table id
    /// and layout version). The keys themselves are read only where those integers tie: a
    /// sort of indexes that compared keys through `ends` and `keys` took 10 s of a 6M-row
    /// re-layout.
    fn sorted(&self) -> Vec<(u64, usize)> {
        let first = self.key(0);
        let mut shared = first.len();
        for index in 1..self.len() {
            let key = self.key(index);
            shared = first
                .iter()
                .zip(key)
                .take(shared)
                .take_while(|(a, b)| a == b)
                .count();
            if shared == 0 {
                break;
            }
        }
        let mut order: Vec<(u64, usize)> = (0..self.len())
            .map(|index| {
                let rest = self.key(index).get(shared..).unwrap_or_default();
                (key_prefix(rest), index)
            })
            .collect();
        order.sort_unstable_by(|&(prefix_a, a), &(prefix_b, b)| {
            prefix_a
                .cmp(&prefix_b)
                .then_with(|| self.key(a).cmp(self.key(b)))
                .then(a.cmp(&b))
        });
        order
    }

    fn key(&self, index: usize) -> &[u8] {
        let start = match index.checked_sub(1) {
            Some(previous) => self.ends.get(previous).copied().unwrap_or(0),
            None => 0,
        };
        let end = self.ends.get(index).copied().unwrap_or(start);
        self.keys.get(start..end).unwrap_or_default()
    }
}

/// A key's first 8 bytes, zero-padded, as a big-endian integer: a smaller prefix means a
/// smaller key (a shorter key padded with zeros is a prefix of the longer one, or differs
/// from it where both have bytes).
fn key_prefix(key: &[u8]) -> u64 {
    let mut bytes = [0u8; 8];
    for (byte, &value) in bytes.iter_mut().zip(key) {
        *byte = value;
    }
    u64::from_be_bytes(bytes)
}

/// Sorts the entries, writes them as SST files and ingests them into `pk_index`. Of entries
/// with equal keys the last pushed wins.
pub(crate) fn ingest_index(db: &DbInner, table: &str, entries: &IndexEntries) -> Result<()> {
    if entries.is_empty() {
        return Ok(());
    }
    let _span = tracing::debug_span!("ingest_index", table, entries = entries.len()).entered();
    let order = entries.sorted();
    let directory = db.path.join(INGEST_DIR);
    std::fs::create_dir_all(&directory).map_err(|source| Error::Io {
        operation: format!("creating {}", directory.display()),
        source,
    })?;
    let mut paths: Vec<PathBuf> = Vec::new();
    let result = write_files(db, entries, &order, &directory, &mut paths).and_then(|()| {
        let mut options = rocksdb::IngestExternalFileOptions::default();
        options.set_move_files(true);
        db.rocks
            .ingest_external_file_cf_opts(db.cf(CF_PK_INDEX)?, &options, paths.clone())
            .map_err(storage(format!("ingesting the index of table {table:?}")))
    });
    // Moved files are gone already; anything left is a copy or a failed attempt.
    for path in &paths {
        let _ = std::fs::remove_file(path);
    }
    result
}

fn write_files(
    db: &DbInner,
    entries: &IndexEntries,
    order: &[(u64, usize)],
    directory: &Path,
    paths: &mut Vec<PathBuf>,
) -> Result<()> {
    let mut writer: Option<rocksdb::SstFileWriter<'_>> = None;
    let mut bytes = 0usize;
    for (position, &(prefix, index)) in order.iter().enumerate() {
        let key = entries.key(index);
        let repeated = order
            .get(position + 1)
            .is_some_and(|&(next_prefix, next)| next_prefix == prefix && entries.key(next) == key);
        if repeated {
            continue;
        }
        let open = match writer.as_mut() {
            Some(open) if bytes < FILE_BYTES => open,
            _ => {
                if let Some(mut full) = writer.take() {
                    full.finish().map_err(storage("finishing an index file"))?;
                }
                let path = directory.join(format!(
                    "{}-{}.sst",
                    std::process::id(),
                    db.ingest_files.fetch_add(1, Ordering::Relaxed)
                ));
                let fresh = rocksdb::SstFileWriter::create(&db.index_options);
                fresh
                    .open(&path)
                    .map_err(storage(format!("creating {}", path.display())))?;
                paths.push(path);
                bytes = 0;
                writer.insert(fresh)
            }
        };
        let value = entries.values.get(index).copied().unwrap_or_default();
        open.put(key, value)
            .map_err(storage("writing an index file"))?;
        bytes += key.len() + value.len();
    }
    if let Some(mut last) = writer {
        last.finish().map_err(storage("finishing an index file"))?;
    }
    Ok(())
}

/// Deletes files a crash left waiting for ingestion.
pub(crate) fn sweep(path: &Path) -> Result<()> {
    let directory = path.join(INGEST_DIR);
    let entries = match std::fs::read_dir(&directory) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(source) => {
            return Err(Error::Io {
                operation: format!("listing {}", directory.display()),
                source,
            });
        }
    };
    for entry in entries.flatten() {
        let file = entry.path();
        if file.extension().is_some_and(|extension| extension == "sst") {
            std::fs::remove_file(&file).map_err(|source| Error::Io {
                operation: format!("deleting {}", file.display()),
                source,
            })?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_keep_their_keys_apart() {
        let mut entries = IndexEntries::default();
        entries.push(b"b", [1; 12]);
        entries.push(b"", [2; 12]);
        entries.push(b"abc", [3; 12]);
        assert_eq!(entries.len(), 3);
        assert_eq!(entries.key(0), b"b");
        assert_eq!(entries.key(1), b"");
        assert_eq!(entries.key(2), b"abc");
        assert_eq!(entries.key(3), b"");
    }

    proptest::proptest! {
        /// The order agrees with a stable sort of the keys, on keys that all share a prefix,
        /// share further prefixes of every length, end in zero bytes and repeat.
        #[test]
        fn sorted_agrees_with_a_stable_sort_of_the_keys(
            shared in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..12),
            suffixes in proptest::collection::vec(
                proptest::collection::vec(proptest::sample::select(vec![0u8, 0, 1, 1, 255]), 0..12),
                0..200,
            ),
        ) {
            let keys: Vec<Vec<u8>> = suffixes
                .iter()
                .map(|suffix| [shared.as_slice(), suffix].concat())
                .collect();
            let mut entries = IndexEntries::default();
            for (index, key) in keys.iter().enumerate() {
                entries.push(key, [index as u8; 12]);
            }
            let mut expected: Vec<usize> = (0..keys.len()).collect();
            expected.sort_by(|&a, &b| keys[a].cmp(&keys[b]));
            let order: Vec<usize> = entries.sorted().into_iter().map(|(_, index)| index).collect();
            proptest::prop_assert_eq!(order, expected);
        }
    }
}
