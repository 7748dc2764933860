//! The learned sort against the standard library's sorts, on generated key distributions
//! that reach every path: comparison sort (short inputs), dense and sampled dictionaries
//! (small integer domains), the radix-table model with counting-pass and interpolation
//! finishes (narrow and wide buckets), crowded slots (duplicates and skew), outliers at
//! the extremes of `i64`, and already sorted or reversed input. Sorted values must equal
//! `sort_unstable`'s; the permutation must equal a stable sort's; one [`LearnedSorter`] is
//! reused across cases, as compaction reuses it.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers fail loudly on broken setup"
)]

use std::cell::RefCell;

use proptest::prelude::*;
use tessera_layout::{LearnedSorter, learned_sort_i64, sort_permutation_i64};

/// How the keys of one case are drawn.
#[derive(Debug, Clone)]
struct Keys {
    len: usize,
    /// Keys are `base + (random % width)`, before the shapes below.
    base: i64,
    width: u64,
    /// Squares the uniform draw: skew towards `base`.
    skewed: bool,
    /// One key in this many is replaced by an outlier at either end of `i64` (0: none).
    outlier_every: usize,
    /// One key in this many repeats the key before it (0: none).
    repeat_every: usize,
    order: Order,
    seed: u64,
}

#[derive(Debug, Clone, Copy)]
enum Order {
    Random,
    Ascending,
    Descending,
}

fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut mixed = *state;
    mixed = (mixed ^ (mixed >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    mixed = (mixed ^ (mixed >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    mixed ^ (mixed >> 31)
}

impl Keys {
    fn generate(&self) -> Vec<i64> {
        let mut state = self.seed;
        let mut keys: Vec<i64> = Vec::with_capacity(self.len);
        for index in 0..self.len {
            let draw = splitmix(&mut state);
            let offset = if self.width == u64::MAX {
                draw
            } else {
                let uniform = draw % (self.width + 1);
                if self.skewed {
                    // (u / width)^2 * width, in integers.
                    ((u128::from(uniform) * u128::from(uniform)) / u128::from(self.width.max(1)))
                        as u64
                } else {
                    uniform
                }
            };
            let mut key = self.base.wrapping_add(offset as i64);
            if self.repeat_every > 0
                && index % self.repeat_every == 1
                && let Some(&previous) = keys.last()
            {
                key = previous;
            }
            if self.outlier_every > 0 && index % self.outlier_every == 0 {
                key = if draw & 1 == 0 {
                    i64::MIN + (draw % 3) as i64
                } else {
                    i64::MAX - (draw % 3) as i64
                };
            }
            keys.push(key);
        }
        match self.order {
            Order::Random => {}
            Order::Ascending => keys.sort_unstable(),
            Order::Descending => keys.sort_unstable_by(|a, b| b.cmp(a)),
        }
        keys
    }
}

fn keys_strategy() -> impl Strategy<Value = Keys> {
    (
        prop_oneof![0usize..64, 4_000usize..12_000, 30_000usize..70_000],
        prop_oneof![Just(0i64), any::<i64>(), -1_000_000i64..1_000_000],
        prop_oneof![
            Just(0u64),
            1u64..64,
            1_000u64..70_000,
            1u64 << 20..1u64 << 24,
            1u64 << 40..1u64 << 50,
            Just(u64::MAX),
        ],
        any::<bool>(),
        prop_oneof![Just(0usize), 50usize..2_000],
        prop_oneof![Just(0usize), 2usize..8],
        prop_oneof![
            8 => Just(Order::Random),
            1 => Just(Order::Ascending),
            1 => Just(Order::Descending)
        ],
        any::<u64>(),
    )
        .prop_map(
            |(len, base, width, skewed, outlier_every, repeat_every, order, seed)| Keys {
                len,
                base,
                width,
                skewed,
                outlier_every,
                repeat_every,
                order,
                seed,
            },
        )
}

thread_local! {
    static SORTER: RefCell<LearnedSorter> = RefCell::new(LearnedSorter::new());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn learned_sort_agrees_with_the_standard_sorts(spec in keys_strategy()) {
        let keys = spec.generate();
        let mut expected = keys.clone();
        expected.sort_unstable();
        let mut stable: Vec<u32> = (0..keys.len() as u32).collect();
        stable.sort_by_key(|&row| keys[row as usize]);

        let mut sorted = keys.clone();
        learned_sort_i64(&mut sorted);
        prop_assert_eq!(&sorted, &expected);
        prop_assert_eq!(&sort_permutation_i64(&keys).unwrap(), &stable);

        SORTER.with(|sorter| {
            let mut sorter = sorter.borrow_mut();
            let mut reused = keys.clone();
            sorter.sort_i64(&mut reused);
            prop_assert_eq!(&reused, &expected);
            prop_assert_eq!(sorter.permutation_i64(&keys).unwrap(), stable.as_slice());
            Ok(())
        })?;
    }
}
