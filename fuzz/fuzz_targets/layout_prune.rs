//! Builds a random table, random layouts of every kind (fitted on part of it) and random
//! predicates from the input, and fails when a layout's pruning misses a matching row, its
//! assignment or order is malformed, its serialized form does not round-trip, or damaged
//! bytes make a decoder panic. The logic lives in `tessera_layout::fuzz::layout_prune` so
//! that `cargo test` runs the same check.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(problem) = tessera_layout::fuzz::layout_prune(data) {
        panic!("layout conformance failed: {problem}");
    }
});
