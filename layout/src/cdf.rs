//! Error-bounded piecewise-linear models of one column's distribution (CDF models).
//!
//! Fitted in one pass over a sorted sample with the shrinking-cone method: a segment grows
//! while one line can pass within `epsilon` ranks of every point seen, then a new segment
//! starts. The result maps a key to its approximate rank in the sample with a guaranteed
//! error of at most `epsilon` at every sampled key, and a size bounded by the number of
//! segments (at most `sample / (2 · epsilon)` for any data, far fewer on smooth data).
//! Keys are `f64`: integers, dates and timestamps convert directly, strings through
//! [`prefix_key`], an order-preserving 8-byte prefix.

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
        let epsilon = epsilon.max(0.5);
        let mut segments = Vec::new();
        let mut index = 0;
        while index < sorted.len() {
            let start_key = sorted.get(index).copied().unwrap_or_default();
            let start_rank = index as f64;
            let (mut slope_low, mut slope_high) = (0.0f64, f64::INFINITY);
            let mut next = index;
            // Skip duplicates of the start key: they share its rank.
            while sorted.get(next).is_some_and(|&key| key == start_key) {
                next += 1;
            }
            while let Some(&key) = sorted.get(next) {
                let rank = next as f64;
                let run_start = next;
                let dx = key - start_key;
                let low = (rank - epsilon - start_rank) / dx;
                let high = (rank + epsilon - start_rank) / dx;
                let (new_low, new_high) = (slope_low.max(low), slope_high.min(high));
                if new_low > new_high || !dx.is_finite() || dx <= 0.0 {
                    break;
                }
                slope_low = new_low;
                slope_high = new_high;
                next = run_start + 1;
                while sorted.get(next).is_some_and(|&other| other == key) {
                    next += 1;
                }
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
            index = next;
        }
        Self {
            segments,
            sample_len: sorted.len(),
            last_key: sorted.last().copied().unwrap_or_default(),
            epsilon,
        }
    }

    /// Approximate number of sampled keys smaller than `key`, within `[0, sample_len]`.
    pub fn rank(&self, key: f64) -> f64 {
        if key.is_nan() {
            return self.sample_len as f64;
        }
        let position = self
            .segments
            .partition_point(|segment| segment.start_key <= key);
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
        // Keep the model monotone across segment boundaries.
        let ceiling = self
            .segments
            .get(position)
            .map_or(self.sample_len as f64, |next| next.start_rank);
        predicted.clamp(segment.start_rank, ceiling)
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
        24 * self.segments.len() + 24
    }
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
    fn prefix_keys_preserve_order() {
        let words: [&[u8]; 5] = [b"", b"a", b"ab", b"b", b"\xff"];
        for pair in words.windows(2) {
            assert!(prefix_key(pair[0]) <= prefix_key(pair[1]));
        }
    }
}
