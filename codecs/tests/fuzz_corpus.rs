//! Replays the fuzz corpus kept in the repository (`fuzz/corpus/<target>/seed-*`: the seeds,
//! and every input a fuzzer once crashed on, as `seed-regress-*`) through the same library
//! functions the cargo-fuzz targets call, so `cargo test` guards against regressions without
//! nightly or libFuzzer.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use tessera_codecs::decode_block;
use tessera_codecs::fuzz::{decode_untrusted, roundtrip};

fn corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let directory = package_dir()
        .join("..")
        .join("fuzz")
        .join("corpus")
        .join(target);
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&directory)
        .unwrap_or_else(|error| panic!("{}: {error}", directory.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_file())
        .map(|path| (file_name(&path), std::fs::read(&path).unwrap()))
        .collect();
    files.sort();
    files
}

/// This package's directory, read when the test runs: cargo sets it then, while the one
/// compiled in may be another checkout's that shared the build.
fn package_dir() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from)
}

fn file_name(path: &Path) -> String {
    path.file_name().unwrap().to_string_lossy().into_owned()
}

#[test]
fn roundtrip_corpus_replays_cleanly() {
    let files = corpus("codec_roundtrip");
    assert!(files.len() >= 20, "only {} roundtrip seeds", files.len());
    let failures: Vec<String> = files
        .iter()
        .filter_map(|(name, bytes)| {
            roundtrip(bytes)
                .err()
                .map(|error| format!("{name}: {error}"))
        })
        .collect();
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn decode_untrusted_corpus_replays_without_panicking() {
    let files = corpus("codec_decode_untrusted");
    assert!(files.len() >= 20, "only {} untrusted seeds", files.len());
    for (name, bytes) in &files {
        let outcome = std::panic::catch_unwind(|| decode_untrusted(bytes));
        assert!(outcome.is_ok(), "{name} panicked");
    }
}

#[test]
fn block_seeds_are_valid_blocks() {
    // Seeds that are whole blocks let the fuzzer start past the checksum and the header.
    let blocks: Vec<(String, Vec<u8>)> = corpus("codec_decode_untrusted")
        .into_iter()
        .filter(|(name, _)| name.starts_with("seed-block-") || name.starts_with("seed-golden-"))
        .collect();
    assert!(blocks.len() >= 15, "only {} block seeds", blocks.len());
    for (name, bytes) in &blocks {
        decode_block(bytes).unwrap_or_else(|error| panic!("{name}: {error}"));
    }
}
