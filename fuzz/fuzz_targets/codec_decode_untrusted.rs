//! Feeds arbitrary bytes to every block reader, as given and with the checksum patched to be
//! valid, so the decoders see the damage. Errors are fine; a panic, an abort or a runaway
//! allocation is the bug. The logic lives in `tessera_codecs::fuzz::decode_untrusted` so
//! that `cargo test` replays the corpus too.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    tessera_codecs::fuzz::decode_untrusted(data);
});
