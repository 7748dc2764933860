//! `tessera` is the embedded database users depend on. It will own `Db`, tables, the write
//! path through RocksDB's WAL, background compaction into encoded blocks, scans with zone-map
//! pruning, versions and workload tracking. Today it owns the conversion between Arrow
//! arrays and the codec layer's typed columns, which every later part builds on.
