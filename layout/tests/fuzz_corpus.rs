//! Replays the `layout_prune` seeds kept in the repository (`fuzz/corpus/layout_prune/seed-*`,
//! and any input a fuzzer once failed on, kept as `seed-regress-*`) through the same library
//! function the cargo-fuzz target calls, so `cargo test` guards against regressions without
//! nightly or libFuzzer.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers fail loudly on broken setup"
)]

use std::path::PathBuf;

use tessera_layout::fuzz::layout_prune;

/// This package's directory, read when the test runs: cargo sets it then, while the one
/// compiled in may be another checkout's that shared the build.
fn package_dir() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from)
}

#[test]
fn layout_prune_seeds_replay_cleanly() {
    let directory = package_dir().join("../fuzz/corpus/layout_prune");
    let mut seeds: Vec<PathBuf> = std::fs::read_dir(&directory)
        .unwrap_or_else(|error| panic!("{}: {error}", directory.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            path.file_name()
                .is_some_and(|name| name.to_string_lossy().starts_with("seed-"))
        })
        .collect();
    seeds.sort();
    assert!(seeds.len() >= 8, "only {} seeds", seeds.len());
    for seed in seeds {
        let bytes = std::fs::read(&seed).unwrap();
        if let Err(problem) = layout_prune(&bytes) {
            panic!("{}: {problem}", seed.display());
        }
    }
}
