//! Builds an arbitrary column from the input, encodes it automatically and with every scheme
//! of its kind, decodes, and fails on any difference. The logic lives in
//! `tessera_codecs::fuzz::roundtrip` so that `cargo test` replays the corpus too.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(mismatch) = tessera_codecs::fuzz::roundtrip(data) {
        panic!("round trip failed: {mismatch}");
    }
});
