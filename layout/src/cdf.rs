//! Error-bounded piecewise-linear models of one column's distribution (CDF models).
//!
//! Fitted in one pass over a sorted sample with the shrinking-cone method: a segment grows
//! while one line can pass within `epsilon` ranks of every point seen, then a new segment
//! starts. The result maps a key to its approximate rank in the sample with a guaranteed
//! error of at most `epsilon` at every sampled key, and a size bounded by the number of
//! segments (at most `sample / (2 · epsilon)` for any data, far fewer on smooth data).
//! Keys are `f64`: integers, dates and timestamps convert directly, strings through
//! [`prefix_key`], an order-preserving 8-byte prefix.

use tessera_codecs::Column;

use crate::keys::column_keys;
use crate::layout::LayoutError;
use crate::wire::{Reader, Writer};

/// Order-preserving numeric key of a byte string: its first 8 bytes, big-endian.
pub fn prefix_key(bytes: &[u8]) -> f64 {
    let mut prefix = [0u8; 8];
    for (slot, byte) in prefix.iter_mut().zip(bytes) {
        *slot = *byte;
    }
    u64::from_be_bytes(prefix) as f64
}

/// One linear piece: from `start_key` on, rank ≈ `start_rank + slope · (key − start_key)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Segment {
    /// First key the segment covers.
    pub start_key: f64,
    /// Rank at `start_key`.
    pub start_rank: f64,
    /// Ranks per key unit.
    pub slope: f64,
}

/// A monotone model from key to rank within a sample.
#[derive(Debug, Clone, PartialEq)]
pub struct CdfModel {
    segments: Vec<Segment>,
    sample_len: usize,
    last_key: f64,
    epsilon: f64,
}

impl CdfModel {
    /// Fits a model to `keys` (any order; NaN keys are ignored) with at most `epsilon` ranks
    /// of error at every key. Duplicates take the rank of their first occurrence, so the model
    /// predicts "how many sampled keys are smaller".
    pub fn fit(keys: &[f64], epsilon: f64) -> Self {
        let mut sorted: Vec<f64> = keys.iter().copied().filter(|key| !key.is_nan()).collect();
        sorted.sort_unstable_by(f64::total_cmp);
        // Each distinct key at the rank of its first occurrence.
        let mut points: Vec<(f64, f64, bool)> = Vec::new();
        for (rank, &key) in sorted.iter().enumerate() {
            if points.last().is_none_or(|&(last, _, _)| last != key) {
                points.push((key, rank as f64, false));
            }
        }
        Self::over_points(&points, &sorted, epsilon)
    }

    /// Fits a model to sorted keys that also follows long runs of equal keys: after a run
    /// longer than `2 · epsilon` a new segment starts just above the run's key (at the next
    /// representable `f64`), at the rank past the run, so the model steps where the data
    /// steps instead of drawing a line across the step. Used for in-block position models,
    /// where a sorted block of dates or quantities is mostly such runs.
    pub(crate) fn fit_runs(sorted: &[f64], epsilon: f64) -> Self {
        let epsilon = epsilon.max(0.5);
        // Points (key, rank, starts a segment).
        let mut points: Vec<(f64, f64, bool)> = Vec::new();
        let mut index = 0;
        let mut force = false;
        while let Some(&key) = sorted.get(index) {
            let mut end = index + 1;
            while sorted.get(end).is_some_and(|&other| other == key) {
                end += 1;
            }
            points.push((key, index as f64, force));
            force = false;
            if (end - index) as f64 > 2.0 * epsilon && end < sorted.len() {
                let after = key.next_up();
                if sorted.get(end).is_some_and(|&next| after < next) {
                    points.push((after, end as f64, true));
                } else {
                    force = true;
                }
            }
            index = end;
        }
        Self::over_points(&points, sorted, epsilon)
    }

    /// The shrinking cone over `points` (key, rank, whether it must start a segment), keys
    /// ascending: a segment takes points while one line passes within `epsilon` ranks of
    /// each, and a point that must start a segment, or a key that does not rise, ends it.
    /// `sorted` is the sample the points came from.
    fn over_points(points: &[(f64, f64, bool)], sorted: &[f64], epsilon: f64) -> Self {
        let epsilon = epsilon.max(0.5);
        let mut segments = Vec::new();
        let mut start = 0;
        while let Some(&(start_key, start_rank, _)) = points.get(start) {
            let (mut slope_low, mut slope_high) = (0.0f64, f64::INFINITY);
            let mut next = start + 1;
            while let Some(&(key, rank, forced)) = points.get(next) {
                let dx = key - start_key;
                if forced || dx.is_nan() || dx <= 0.0 || !dx.is_finite() {
                    break;
                }
                let low = slope_low.max((rank - epsilon - start_rank) / dx);
                let high = slope_high.min((rank + epsilon - start_rank) / dx);
                if low > high {
                    break;
                }
                (slope_low, slope_high) = (low, high);
                next += 1;
            }
            let slope = if slope_high.is_finite() {
                (slope_low + slope_high) / 2.0
            } else {
                slope_low
            };
            segments.push(Segment {
                start_key,
                start_rank,
                slope,
            });
            start = next;
        }
        Self {
            segments,
            sample_len: sorted.len(),
            last_key: sorted.last().copied().unwrap_or_default(),
            epsilon,
        }
    }

    /// Approximate number of sampled keys smaller than `key`, within `[0, sample_len]`.
    /// Monotone: `a <= b` implies `rank(a) <= rank(b)`, exactly, in floating point.
    pub fn rank(&self, key: f64) -> f64 {
        if key.is_nan() {
            return self.sample_len as f64;
        }
        let position = self
            .segments
            .partition_point(|segment| segment.start_key <= key);
        self.rank_at(position, key)
    }

    /// [`Self::rank`] given `position`, the number of segments starting at or below `key`
    /// (callers with a faster way to find it than a binary search use this).
    pub(crate) fn rank_at(&self, position: usize, key: f64) -> f64 {
        let Some(segment) = position
            .checked_sub(1)
            .and_then(|index| self.segments.get(index))
        else {
            return 0.0;
        };
        if key > self.last_key {
            return self.sample_len as f64;
        }
        let predicted = segment.start_rank + segment.slope * (key - segment.start_key);
        // Keep the model monotone across segment boundaries (`max`/`min` rather than
        // `clamp`, which would panic on a damaged model; a NaN prediction becomes the floor).
        let ceiling = self
            .segments
            .get(position)
            .map_or(self.sample_len as f64, |next| next.start_rank);
        predicted.max(segment.start_rank).min(ceiling)
    }

    /// Approximate fraction of the distribution below `key`, in `[0, 1]`.
    pub fn cdf(&self, key: f64) -> f64 {
        if self.sample_len == 0 {
            return 0.0;
        }
        self.rank(key) / self.sample_len as f64
    }

    /// The error bound in ranks.
    pub fn epsilon(&self) -> f64 {
        self.epsilon
    }

    /// The linear pieces.
    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// Keys in the sample the model was fitted on.
    pub fn sample_len(&self) -> usize {
        self.sample_len
    }

    /// Bytes the model takes when serialized (three `f64` per segment plus a header).
    pub fn size_bytes(&self) -> usize {
        24 * self.segments.len() + 28
    }

    /// Fits a model to the non-null values of a column, with an error bound of
    /// [`default_epsilon`] ranks.
    pub fn fit_column(column: &Column) -> Self {
        let keys = column_keys(column);
        let valid: Vec<f64> = match column.validity() {
            None => keys,
            Some(validity) => keys
                .into_iter()
                .zip(validity)
                .filter_map(|(key, &valid)| valid.then_some(key))
                .collect(),
        };
        let epsilon = default_epsilon(valid.len());
        Self::fit(&valid, epsilon)
    }

    /// Appends the model: sample length, last key, epsilon, then the segments.
    pub(crate) fn encode_into(&self, writer: &mut Writer) {
        writer.u64(self.sample_len as u64);
        writer.f64(self.last_key);
        writer.f64(self.epsilon);
        writer.len(self.segments.len());
        for segment in &self.segments {
            writer.f64(segment.start_key);
            writer.f64(segment.start_rank);
            writer.f64(segment.slope);
        }
    }

    /// Reads a model written by [`Self::encode_into`], checking every property
    /// [`Self::rank`] relies on to stay monotone and within `[0, sample_len]`.
    pub(crate) fn decode_from(reader: &mut Reader<'_>) -> Result<Self, LayoutError> {
        let sample_len = reader.u64()?;
        if sample_len > MAX_SAMPLE_LEN {
            return Err(reader.error(format!("sample length {sample_len} is too large")));
        }
        let last_key = reader.f64()?;
        if last_key.is_nan() {
            return Err(reader.error("last key is NaN"));
        }
        let epsilon = reader.finite_f64("epsilon")?;
        if epsilon < 0.5 {
            return Err(reader.error("epsilon below 0.5"));
        }
        let count = reader.count(24)?;
        let mut segments: Vec<Segment> = Vec::with_capacity(count);
        for _ in 0..count {
            let start_key = reader.f64()?;
            let start_rank = reader.finite_f64("start rank")?;
            let slope = reader.finite_f64("slope")?;
            let ordered = segments.last().is_none_or(|previous| {
                previous.start_key < start_key && previous.start_rank <= start_rank
            });
            if start_key.is_nan()
                || !ordered
                || slope < 0.0
                || start_rank < 0.0
                || start_rank > sample_len as f64
                || start_key > last_key
            {
                return Err(reader.error("segments are not ordered and within the sample"));
            }
            segments.push(Segment {
                start_key,
                start_rank,
                slope,
            });
        }
        if segments.is_empty() != (sample_len == 0) {
            return Err(reader.error("segment count disagrees with the sample length"));
        }
        Ok(Self {
            segments,
            sample_len: sample_len as usize,
            last_key,
            epsilon,
        })
    }
}

/// Largest sample a serialized model may claim: ranks stay exact in `f64` below 2^53.
const MAX_SAMPLE_LEN: u64 = 1 << 53;

/// The error bound used for partitioning models: about 1/4096 of the sample, so that
/// partitions hold equal mass to within a fraction of a percent at any partition count up to
/// a few hundred, while the model stays a few kilobytes.
pub fn default_epsilon(sample_len: usize) -> f64 {
    (sample_len as f64 / 4096.0).max(0.5)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_error_bound(keys: &[f64], epsilon: f64) -> CdfModel {
        let model = CdfModel::fit(keys, epsilon);
        let mut sorted = keys.to_vec();
        sorted.sort_unstable_by(f64::total_cmp);
        for (index, &key) in sorted.iter().enumerate() {
            let first = sorted.partition_point(|&other| other < key) as f64;
            let predicted = model.rank(key);
            assert!(
                (predicted - first).abs() <= epsilon + 1e-6,
                "key {key} (#{index}): predicted {predicted}, true {first}, epsilon {epsilon}"
            );
        }
        model
    }

    fn lcg(seed: &mut u64) -> u64 {
        *seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        *seed >> 11
    }

    #[test]
    fn uniform_data_needs_few_segments() {
        let keys: Vec<f64> = (0..10_000).map(|i| (i * 3) as f64).collect();
        let model = check_error_bound(&keys, 8.0);
        assert_eq!(model.segments().len(), 1);
    }

    #[test]
    fn skewed_and_duplicate_heavy_data_keep_the_bound() {
        let mut seed = 7;
        let lognormal: Vec<f64> = (0..20_000)
            .map(|_| ((lcg(&mut seed) % 1000) as f64 / 100.0).exp().floor())
            .collect();
        let model = check_error_bound(&lognormal, 16.0);
        assert!(
            model.segments().len() < 20_000 / 32 + 2,
            "{} segments",
            model.segments().len()
        );
        let duplicates: Vec<f64> = (0..5_000).map(|i| (i % 3) as f64).collect();
        check_error_bound(&duplicates, 4.0);
    }

    #[test]
    fn rank_is_monotone_and_bounded() {
        let mut seed = 11;
        let keys: Vec<f64> = (0..3_000)
            .map(|_| (lcg(&mut seed) % 100_000) as f64)
            .collect();
        let model = CdfModel::fit(&keys, 4.0);
        let mut previous = 0.0;
        for probe in (-10..110_000).step_by(37) {
            let rank = model.rank(probe as f64);
            assert!(rank >= previous - 1e-9 && (0.0..=3_000.0).contains(&rank));
            previous = rank;
        }
        assert_eq!(model.cdf(f64::INFINITY), 1.0);
        assert_eq!(model.cdf(-1.0), 0.0);
    }

    #[test]
    fn empty_and_single_samples() {
        let empty = CdfModel::fit(&[], 4.0);
        assert_eq!(empty.cdf(3.0), 0.0);
        let single = CdfModel::fit(&[5.0], 4.0);
        assert_eq!(single.rank(4.0), 0.0);
        assert_eq!(single.rank(6.0), 1.0);
    }

    #[test]
    fn models_round_trip_and_damaged_ones_are_rejected() {
        let mut seed = 3;
        let keys: Vec<f64> = (0..2_000)
            .map(|_| (lcg(&mut seed) % 5_000) as f64)
            .collect();
        let model = CdfModel::fit(&keys, 2.0);
        let mut writer = Writer::default();
        model.encode_into(&mut writer);
        let bytes = writer.finish();
        assert_eq!(bytes.len(), model.size_bytes());
        let decoded = CdfModel::decode_from(&mut Reader::new(&bytes, 0)).unwrap();
        assert_eq!(decoded, model);
        // A negative slope would break monotonicity: rejected.
        let mut damaged = bytes.clone();
        let slope_at = 28 + 16;
        damaged[slope_at..slope_at + 8].copy_from_slice(&(-1.0f64).to_bits().to_le_bytes());
        assert!(CdfModel::decode_from(&mut Reader::new(&damaged, 0)).is_err());
        for cut in 0..bytes.len() {
            assert!(CdfModel::decode_from(&mut Reader::new(&bytes[..cut], 0)).is_err());
        }
    }

    #[test]
    fn prefix_keys_preserve_order() {
        let words: [&[u8]; 5] = [b"", b"a", b"ab", b"b", b"\xff"];
        for pair in words.windows(2) {
            assert!(prefix_key(pair[0]) <= prefix_key(pair[1]));
        }
    }
}
