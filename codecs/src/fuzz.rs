//! Fuzz logic (filled below).
