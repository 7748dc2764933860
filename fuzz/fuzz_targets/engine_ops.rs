//! Runs arbitrary sequences of inserts, deletes, gets, scans, compactions, re-layouts and
//! reopens on a real database and fails on any disagreement with a model. The logic lives in
//! `tessera::fuzz::engine_ops` so that `cargo test` replays the corpus too.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(mismatch) = tessera::fuzz::engine_ops(data) {
        panic!("engine ops disagree with the model: {mismatch}");
    }
});
