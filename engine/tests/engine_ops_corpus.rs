//! Replays the `engine_ops` fuzz corpus (`fuzz/corpus/engine_ops/seed-*`) and random inputs
//! through the same logic the fuzz target runs.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test fails by panicking"
)]

use std::path::PathBuf;

use proptest::prelude::*;

/// This package's directory, read when the test runs: cargo sets it then, while the one
/// compiled in may be another checkout's that shared the build.
fn package_dir() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from)
}

#[test]
fn the_seed_corpus_agrees_with_the_model() {
    let directory = package_dir().join("../fuzz/corpus/engine_ops");
    let mut seeds = 0;
    for entry in std::fs::read_dir(directory).unwrap() {
        let path = entry.unwrap().path();
        if path
            .file_name()
            .and_then(|name| name.to_str())
            .is_some_and(|name| name.starts_with("seed-"))
        {
            let data = std::fs::read(&path).unwrap();
            if let Err(error) = tessera::fuzz::engine_ops(&data) {
                panic!("{}: {error}", path.display());
            }
            seeds += 1;
        }
    }
    assert!(seeds >= 5, "{seeds} seeds");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn random_inputs_agree_with_the_model(data in proptest::collection::vec(any::<u8>(), 0..600)) {
        if let Err(error) = tessera::fuzz::engine_ops(&data) {
            panic!("{error}");
        }
    }
}
