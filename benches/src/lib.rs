//! Pieces the report binaries share: a small deterministic random generator (runs repeat
//! exactly from a seed), quantiles of measurements, and the size of a database directory.

use std::path::Path;
use std::time::Duration;

/// SplitMix64: fast, statistically sound for benchmark data, and fixed by its seed.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator fixed by `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..bound` (0 when `bound` is 0).
    pub fn below(&mut self, bound: u64) -> u64 {
        if bound == 0 {
            return 0;
        }
        ((u128::from(self.next_u64()) * u128::from(bound)) >> 64) as u64
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Standard normal (Box–Muller).
    pub fn gaussian(&mut self) -> f64 {
        let u = self.unit().max(f64::MIN_POSITIVE);
        let v = self.unit();
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }

    /// An index drawn with probability proportional to `weights` (0 when all are 0).
    pub fn weighted(&mut self, weights: &[f64]) -> usize {
        let total: f64 = weights.iter().sum();
        let mut target = self.unit() * total;
        for (index, weight) in weights.iter().enumerate() {
            if target < *weight {
                return index;
            }
            target -= weight;
        }
        weights.len().saturating_sub(1)
    }
}

/// Microseconds at quantile `q` of sorted durations (0 when there are none).
pub fn percentile_micros(sorted: &[Duration], q: f64) -> f64 {
    quantile_index(sorted.len(), q)
        .and_then(|index| sorted.get(index))
        .map_or(0.0, |duration| duration.as_secs_f64() * 1e6)
}

/// The value at quantile `q` of sorted values (0 when there are none).
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    quantile_index(sorted.len(), q)
        .and_then(|index| sorted.get(index))
        .copied()
        .unwrap_or(0.0)
}

fn quantile_index(len: usize, q: f64) -> Option<usize> {
    (len > 0).then(|| ((len - 1) as f64 * q.clamp(0.0, 1.0)).round() as usize)
}

/// Bytes of the files under `path`, recursively.
pub fn directory_bytes(path: &Path) -> std::io::Result<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir(path)? {
        let entry = entry?;
        let metadata = entry.metadata()?;
        total += if metadata.is_dir() {
            directory_bytes(&entry.path())?
        } else {
            metadata.len()
        };
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_pick_the_nearest_rank() {
        let values = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(quantile(&values, 0.5), 3.0);
        assert_eq!(quantile(&values, 0.0), 1.0);
        assert_eq!(quantile(&values, 1.0), 5.0);
        assert_eq!(quantile(&[], 0.5), 0.0);
        let durations = [Duration::from_micros(10), Duration::from_micros(20)];
        assert_eq!(percentile_micros(&durations, 1.0), 20.0);
    }

    #[test]
    fn the_generator_repeats_from_its_seed_and_stays_in_bounds() {
        let (mut a, mut b) = (Rng::new(7), Rng::new(7));
        for _ in 0..1_000 {
            assert_eq!(a.next_u64(), b.next_u64());
        }
        for _ in 0..1_000 {
            assert!(a.below(10) < 10);
            let unit = a.unit();
            assert!((0.0..1.0).contains(&unit));
        }
        let mut counts = [0usize; 3];
        for _ in 0..30_000 {
            counts[a.weighted(&[1.0, 0.0, 2.0])] += 1;
        }
        assert_eq!(counts[1], 0);
        assert!((9_000..11_000).contains(&counts[0]), "{counts:?}");
    }
}
