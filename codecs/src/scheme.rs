//! The extension point for encodings, and the compressor that chooses among them.
//!
//! Each encoding is one small implementation of [`Scheme`] for one [`ValueKind`]: a stable
//! id written on disk, a name, a relative decode cost, a cheap applicability test on sample
//! statistics, `encode` and `decode`. The [`Compressor`] picks, per block and per nested
//! child, the scheme that encodes a sample of the values smallest (BtrBlocks style: a
//! handful of contiguous runs at fixed, seeded positions), cascading into children up to a
//! fixed depth, unless a scheme nearly as small is much cheaper to decode. Every choice is
//! recorded in an [`EncodingNode`] tree together with the estimates that led to it.

use std::borrow::Borrow;
use std::fmt;

use crate::error::{CodecError, Result};
use crate::io::Reader;

/// A physical value kind the encodings operate on.
pub trait ValueKind: 'static + Sized {
    /// The borrowed values a scheme encodes.
    type Values: ?Sized;
    /// Owned values: samples, and the buffer a decoder appends to.
    type Owned: Borrow<Self::Values> + Default;
    /// Statistics of a sample that schemes use to decide whether to compete.
    type Stats;
    /// Name used in errors and reports.
    const NAME: &'static str;
    /// Number of values.
    fn len(values: &Self::Values) -> usize;
    /// Number of values already in a decode buffer.
    fn owned_len(values: &Self::Owned) -> usize;
    /// Copies the runs `ranges` (start, length) out of `values`.
    fn gather(values: &Self::Values, ranges: &[(usize, usize)]) -> Self::Owned;
    /// Statistics of a sample.
    fn stats(values: &Self::Values) -> Self::Stats;
    /// Every scheme of this kind, in id order.
    fn schemes() -> &'static [&'static dyn Scheme<Self>];
}

/// One encoding of one value kind.
pub trait Scheme<K: ValueKind>: Sync {
    /// Stable id, written into blocks. Never reuse an id.
    fn id(&self) -> u8;
    /// Stable name, shown by `stats` and `explain`.
    fn name(&self) -> &'static str;
    /// Relative cost of decoding one value: 0 (constant) … 8 (general-purpose compression).
    fn decode_cost(&self) -> u8 {
        1
    }
    /// Whether the scheme is worth trying at `depth` (cascade levels left) on a sample with
    /// these statistics. Cheap: the estimate that follows encodes the sample.
    fn applicable(&self, stats: &K::Stats, depth: u8, config: &CompressorConfig) -> bool;
    /// Appends the encoding of `values` (without the scheme id byte) and returns the nodes of
    /// the children it cascaded into. Fails with [`CodecError::NotApplicable`] when the values
    /// cannot be encoded this way.
    fn encode(
        &self,
        values: &K::Values,
        compressor: &Compressor,
        depth: u8,
        out: &mut Vec<u8>,
    ) -> Result<Vec<(&'static str, EncodingNode)>>;
    /// Reads what `encode` wrote and appends exactly `count` values to `out`.
    fn decode(
        &self,
        reader: &mut Reader<'_>,
        count: usize,
        nesting: u8,
        out: &mut K::Owned,
    ) -> Result<()>;
}

/// Deepest nesting a decoder follows; deeper blocks are corrupt (the encoder never nests
/// more than `max_depth` + 1 levels).
pub const MAX_NESTING: u8 = 8;

/// Reads a scheme id and decodes `count` values of kind `K`, appending them to `out`.
pub fn decode_node<K: ValueKind>(
    reader: &mut Reader<'_>,
    count: usize,
    nesting: u8,
    out: &mut K::Owned,
) -> Result<()> {
    if nesting > MAX_NESTING {
        return Err(reader.corrupt(format!("encodings nested deeper than {MAX_NESTING}")));
    }
    let offset = reader.position();
    let id = reader.u8("scheme id")?;
    let scheme = scheme_by_id::<K>(id).ok_or(CodecError::UnknownScheme {
        kind: K::NAME,
        id,
        offset,
    })?;
    let before = K::owned_len(out);
    scheme.decode(reader, count, nesting + 1, out)?;
    let produced = K::owned_len(out) - before;
    if produced != count {
        return Err(reader.corrupt_at(
            offset,
            format!(
                "{} decoded {produced} values, expected {count}",
                scheme.name()
            ),
        ));
    }
    Ok(())
}

/// Decodes a child into a fresh buffer.
pub fn decode_child<K: ValueKind>(
    reader: &mut Reader<'_>,
    count: usize,
    nesting: u8,
) -> Result<K::Owned> {
    let mut out = K::Owned::default();
    decode_node::<K>(reader, count, nesting, &mut out)?;
    Ok(out)
}

/// The scheme with a given id.
pub fn scheme_by_id<K: ValueKind>(id: u8) -> Option<&'static dyn Scheme<K>> {
    K::schemes()
        .iter()
        .copied()
        .find(|scheme| scheme.id() == id)
}

/// What the compressor chose for one node of the encoding tree, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct EncodingNode {
    /// The scheme chosen.
    pub scheme: &'static str,
    /// Values encoded.
    pub values: usize,
    /// Bytes written, including children.
    pub bytes: usize,
    /// Children, each with the role it plays (`codes`, `lengths`, …).
    pub children: Vec<(&'static str, EncodingNode)>,
    /// Every candidate the compressor estimated, with its estimate in bytes for all values
    /// (extrapolated from the sample). Empty when there was nothing to choose.
    pub candidates: Vec<Candidate>,
}

/// One candidate scheme and its estimated size.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// Scheme name.
    pub scheme: &'static str,
    /// Estimated bytes for all values.
    pub estimated_bytes: usize,
}

impl fmt::Display for EncodingNode {
    /// Compact form such as `dictionary(values=bitpacked,codes=bitpacked)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.scheme)?;
        if !self.children.is_empty() {
            f.write_str("(")?;
            for (index, (role, child)) in self.children.iter().enumerate() {
                if index > 0 {
                    f.write_str(",")?;
                }
                write!(f, "{role}={child}")?;
            }
            f.write_str(")")?;
        }
        Ok(())
    }
}

/// Tuning of the automatic choice.
#[derive(Debug, Clone)]
pub struct CompressorConfig {
    /// Cascade levels below the top scheme (BtrBlocks and Vortex use 3; at most
    /// `MAX_NESTING - 1`, which [`Compressor::new`] enforces).
    pub max_depth: u8,
    /// Sample runs per block.
    pub sample_runs: usize,
    /// Values per sample run.
    pub sample_run_len: usize,
    /// Seed for the sample positions; fixed so the same block always encodes the same way.
    pub seed: u64,
    /// zstd level for the general-purpose fallback.
    pub zstd_level: i32,
    /// A candidate within this fraction of the smallest size counts as "nearly as small".
    pub near_size_slack: f64,
    /// A candidate this much cheaper in [`Scheme::decode_cost`] counts as "much faster".
    pub much_faster_cost_gap: u8,
}

impl Default for CompressorConfig {
    fn default() -> Self {
        Self {
            max_depth: 3,
            sample_runs: 16,
            sample_run_len: 64,
            seed: 0x7E55_E4A0,
            zstd_level: 3,
            near_size_slack: 0.10,
            much_faster_cost_gap: 4,
        }
    }
}

/// Chooses and applies encodings.
#[derive(Debug, Clone, Default)]
pub struct Compressor {
    config: CompressorConfig,
}

impl Compressor {
    /// A compressor with the given tuning; `max_depth` is capped at `MAX_NESTING - 1`.
    pub fn new(mut config: CompressorConfig) -> Self {
        // A node at depth 0 may still have a leaf child (string lengths), so a deeper cascade
        // could write blocks that `decode_node` refuses as nested too deep.
        config.max_depth = config.max_depth.min(MAX_NESTING - 1);
        Self { config }
    }

    /// The tuning.
    pub fn config(&self) -> &CompressorConfig {
        &self.config
    }

    /// Chooses a scheme for `values` with `depth` cascade levels left, writes its id and
    /// encoding to `out` and returns what it chose.
    pub fn encode<K: ValueKind>(
        &self,
        values: &K::Values,
        depth: u8,
        out: &mut Vec<u8>,
    ) -> Result<EncodingNode> {
        let count = K::len(values);
        let ranked = self.rank::<K>(values, depth)?;
        let candidates: Vec<Candidate> = ranked
            .iter()
            .map(|(scheme, estimated_bytes)| Candidate {
                scheme: scheme.name(),
                estimated_bytes: *estimated_bytes,
            })
            .collect();
        let start = out.len();
        for (scheme, _) in &ranked {
            out.truncate(start);
            out.push(scheme.id());
            match scheme.encode(values, self, depth, out) {
                Ok(children) => {
                    return Ok(EncodingNode {
                        scheme: scheme.name(),
                        values: count,
                        bytes: out.len() - start,
                        children,
                        candidates: if ranked.len() > 1 {
                            candidates
                        } else {
                            Vec::new()
                        },
                    });
                }
                Err(CodecError::NotApplicable { .. }) => continue,
                Err(other) => return Err(other),
            }
        }
        out.truncate(start);
        Err(CodecError::NotApplicable {
            scheme: "every scheme",
        })
    }

    /// Encodes `values` with one named scheme, bypassing the choice (benchmarks and tests).
    pub fn encode_with<K: ValueKind>(
        &self,
        scheme: &dyn Scheme<K>,
        values: &K::Values,
        depth: u8,
        out: &mut Vec<u8>,
    ) -> Result<EncodingNode> {
        let start = out.len();
        out.push(scheme.id());
        let children = scheme.encode(values, self, depth, out)?;
        Ok(EncodingNode {
            scheme: scheme.name(),
            values: K::len(values),
            bytes: out.len() - start,
            children,
            candidates: Vec::new(),
        })
    }

    /// Candidates in order of preference, each with its estimated size for all values.
    fn rank<K: ValueKind>(
        &self,
        values: &K::Values,
        depth: u8,
    ) -> Result<Vec<(&'static dyn Scheme<K>, usize)>> {
        let count = K::len(values);
        let sampled;
        let (sample, sample_len): (&K::Values, usize) = match self.sample_ranges(count) {
            None => (values, count),
            Some(ranges) => {
                sampled = K::gather(values, &ranges);
                let sample_len = K::len(sampled.borrow());
                (sampled.borrow(), sample_len)
            }
        };
        let stats = K::stats(sample);
        let mut ranked = Vec::new();
        let mut scratch = Vec::new();
        for &scheme in K::schemes() {
            if !scheme.applicable(&stats, depth, &self.config) {
                continue;
            }
            scratch.clear();
            match scheme.encode(sample, self, depth, &mut scratch) {
                Ok(_) => {
                    let estimate = (scratch.len() as u128 * count.max(1) as u128
                        / sample_len.max(1) as u128) as usize;
                    ranked.push((scheme, estimate));
                }
                Err(CodecError::NotApplicable { .. }) => {}
                Err(other) => return Err(other),
            }
        }
        ranked.sort_by_key(|(scheme, size)| (*size, scheme.decode_cost()));
        // Nearly as small and much cheaper to decode beats smallest.
        if let Some(&(best, best_size)) = ranked.first() {
            let limit = best_size as f64 * (1.0 + self.config.near_size_slack);
            let faster = ranked
                .iter()
                .enumerate()
                .filter(|(_, (scheme, size))| {
                    (*size as f64) <= limit
                        && scheme.decode_cost() + self.config.much_faster_cost_gap
                            <= best.decode_cost()
                })
                .min_by_key(|(_, (scheme, size))| (scheme.decode_cost(), *size))
                .map(|(index, _)| index);
            if let Some(index) = faster {
                let chosen = ranked.remove(index);
                ranked.insert(0, chosen);
            }
        }
        Ok(ranked)
    }

    /// Sample runs (start, length) for `count` values, or `None` to use all of them: one run
    /// at a seeded position inside each of `sample_runs` equal strata.
    fn sample_ranges(&self, count: usize) -> Option<Vec<(usize, usize)>> {
        let runs = self.config.sample_runs.max(1);
        let run_len = self.config.sample_run_len.max(1);
        if count <= runs * run_len * 2 {
            return None;
        }
        let stratum = count / runs;
        let mut state = self.config.seed | 1;
        let ranges = (0..runs)
            .map(|run| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let slack = stratum.saturating_sub(run_len);
                let offset = if slack == 0 {
                    0
                } else {
                    (state % slack as u64) as usize
                };
                (
                    run * stratum + offset,
                    run_len.min(count - run * stratum - offset),
                )
            })
            .collect();
        Some(ranges)
    }
}
