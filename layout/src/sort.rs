//! Learned sort: sorting a cell's rows with a CDF model instead of comparisons.
//!
//! The keys are sampled (up to 32,768 of them) and the sample decides the model:
//!
//! - Keys from a small integer domain (dates, quantities, codes, small surrogate keys): the
//!   CDF is a staircase and the model is a table from key to its step. When the sample's keys
//!   span few integers compared with the rows, every integer of the span gets a bucket (a
//!   counting sort over the learned domain); otherwise each sampled key does, with gap buckets
//!   between for keys the sample missed. Key buckets need no sorting at all; values are
//!   written straight from the counts.
//! - Anything else: a CDF model fitted on the sample and tabulated at equal key intervals
//!   (a radix table of about 32 entries per bucket) predicts each key's bucket among about
//!   one per 4,096 keys. Each bucket is then finished in cache. Where the model has made
//!   it narrow (its keys span fewer than 2^16 integers, as with prices or ids), two
//!   counting passes on the key's offset digits sort it without a comparison; otherwise a
//!   local model (linear interpolation between the bucket's extremes, one slot per key)
//!   and a short insertion sort do. Every model is monotone, so buckets come out in key
//!   order and no merge or global fix-up is needed (LearnedSort, Kristo et al., SIGMOD
//!   2020).
//!
//! Heavy duplicates are the weak spot of model-based sorting. As in LearnedSort 2.0, a
//! bucket or slot holding a single key is detected and left as it is; where a model still
//! crowds a slot, the slot is sorted on its own, recursively, and after a few levels by a
//! comparison sort, so the worst case stays `O(n log n)`.
//!
//! Sorting needs scratch space as large as the input; [`LearnedSorter`] keeps it between
//! calls. [`sort_permutation`] sorts the rows of a [`ColumnSet`] by a compound key, nulls
//! first and stable; it is what layouts use for [`crate::Layout::order`].

use std::cmp::Ordering;

use tessera_codecs::{Column, ColumnValues};

use crate::cdf::CdfModel;
use crate::keys::is_valid;
use crate::layout::{ColumnSet, LayoutError};
use crate::predicate::float_order;

/// Below this many keys a comparison sort is faster than building a model.
const MODEL_MIN_KEYS: usize = 4_096;
/// Buckets of at most this many keys are finished by insertion sort alone.
const LEAF_KEYS: usize = 24;
/// Second-level slots holding more keys than this are sorted on their own before the final
/// insertion pass, which keeps that pass linear whatever the model predicted.
const SLOT_KEYS_MAX: usize = 16;
/// Levels of model-based scattering before falling back to a comparison sort.
const MAX_DEPTH: u32 = 8;
/// Target keys per first-level bucket: a bucket stays cache resident while it is finished.
const FIRST_LEVEL_BUCKET_KEYS: usize = 4_096;
/// Target keys per bucket when a crowded slot or a model-less input is split by
/// interpolation.
const IN_PLACE_BUCKET_KEYS: usize = 256;
/// Most first-level buckets: bounds the scatter's write streams (and bucket ids fit `u16`).
const FIRST_LEVEL_BUCKETS_MAX: usize = 4_096;
/// Entries of the first-level radix table per bucket, on average: the finer the table, the
/// closer each bucket's size comes to what the CDF model predicts.
const TABLE_ENTRIES_PER_BUCKET: usize = 32;
/// Sampled keys the first-level model is fitted on, at most.
const SAMPLE_KEYS_MAX: usize = 32_768;
/// The dictionary model applies when the sample holds at most this many distinct keys...
const DICTIONARY_KEYS_MAX: usize = 4_096;
/// ... spread over at most this many consecutive integers (its table's length).
const DICTIONARY_SPAN_MAX: i64 = 1 << 16;
/// Every integer between the smallest and the largest sampled key gets a bucket when they
/// are fewer than this...
const DENSE_SPAN_MAX: i64 = 1 << 18;
/// ... and there are at least this many rows per integer.
const DENSE_ROWS_PER_KEY_MIN: usize = 4;

/// Something the learned sort can order: an `i64` sort key and a deterministic full order.
trait Item: Copy + Default {
    fn key(&self) -> i64;
    /// Sorts a slice completely (fallbacks).
    fn comparison_sort(items: &mut [Self]);
}

impl Item for i64 {
    fn key(&self) -> i64 {
        *self
    }

    fn comparison_sort(items: &mut [Self]) {
        items.sort_unstable();
    }
}

/// A row and its sort key. Ties keep row order because the comparison sort breaks them by
/// row and every scatter and insertion pass is stable.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Keyed {
    key: i64,
    row: u32,
}

impl Item for Keyed {
    fn key(&self) -> i64 {
        self.key
    }

    fn comparison_sort(items: &mut [Self]) {
        items.sort_unstable_by_key(|item| (item.key, item.row));
    }
}

/// Sorts `values` ascending with the learned sort (allocating its buffers; see
/// [`LearnedSorter`] to reuse them).
pub fn learned_sort_i64(values: &mut [i64]) {
    LearnedSorter::default().sort_i64(values);
}

/// The permutation that sorts `keys` ascending, stable (equal keys keep their order):
/// `keys[permutation[0]] <= keys[permutation[1]] <= ...`.
pub fn sort_permutation_i64(keys: &[i64]) -> Result<Vec<u32>, LayoutError> {
    let mut sorter = LearnedSorter::default();
    sorter.permutation_i64(keys)?;
    Ok(sorter.take_order())
}

fn checked_rows(rows: usize) -> Result<u32, LayoutError> {
    u32::try_from(rows)
        .map_err(|_| LayoutError::Invalid(format!("{rows} rows exceed the 2^32 a cell may hold")))
}

/// The learned sort with buffers kept between calls. Sorting needs scratch space as large
/// as the input; allocating it fresh costs a page fault per page on first touch, which on
/// many systems costs as much as the sort itself, so a compaction worker keeps one sorter
/// and reuses it for every cell. The buffers only grow; drop the sorter to release them.
#[derive(Debug, Default)]
pub struct LearnedSorter {
    values: Vec<i64>,
    bucket: Vec<i64>,
    keyed: Vec<Keyed>,
    buffer: Vec<Keyed>,
    sizes: Vec<usize>,
    slot_starts: Vec<u32>,
    order: Vec<u32>,
}

impl LearnedSorter {
    /// A sorter with empty buffers.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sorts `values` ascending.
    pub fn sort_i64(&mut self, values: &mut [i64]) {
        if values.len() < MODEL_MIN_KEYS {
            values.sort_unstable();
            return;
        }
        let sample = sample_keys(values);
        if let Some(dictionary) = Dictionary::fit(&sample, values.len()) {
            dictionary.sort_values(values, &mut self.sizes, &mut self.values);
            return;
        }
        // Scratch is overwritten before it is read, so only its length matters.
        if self.values.len() < values.len() {
            self.values.resize(values.len(), 0);
        }
        let Some(scratch) = self.values.get_mut(..values.len()) else {
            values.sort_unstable();
            return;
        };
        match RadixTable::fit(&sample, values.len()) {
            Some(model) => {
                model.sizes(values, &mut self.sizes);
                let lookup = model.lookup();
                scatter(
                    values.iter().copied(),
                    |item| lookup.bucket(*item),
                    &self.sizes,
                    scratch,
                );
                finish_buckets(
                    scratch,
                    values,
                    &self.sizes,
                    &mut self.bucket,
                    &mut self.slot_starts,
                );
            }
            None => {
                scratch.copy_from_slice(values);
                sort_in_place(values, scratch, 0, &mut self.slot_starts);
            }
        }
    }

    /// Computes the permutation that sorts `keys` ascending, stable; it stays readable
    /// through the returned slice (and [`Self::order`]) until the next call.
    pub fn permutation_i64(&mut self, keys: &[i64]) -> Result<&[u32], LayoutError> {
        checked_rows(keys.len())?;
        self.order.clear();
        if keys.len() < MODEL_MIN_KEYS {
            self.keyed.clear();
            self.keyed.extend(keyed(keys));
            Keyed::comparison_sort(&mut self.keyed);
            self.order.extend(self.keyed.iter().map(|item| item.row));
            return Ok(&self.order);
        }
        let sample = sample_keys(keys);
        if let Some(dictionary) = Dictionary::fit(&sample, keys.len()) {
            dictionary.permutation(keys, &mut self.sizes, &mut self.order);
            return Ok(&self.order);
        }
        let Some(model) = RadixTable::fit(&sample, keys.len()) else {
            self.keyed.clear();
            self.keyed.extend(keyed(keys));
            self.buffer.clear();
            self.buffer.extend_from_slice(&self.keyed);
            sort_in_place(&mut self.keyed, &mut self.buffer, 0, &mut self.slot_starts);
            self.order.extend(self.keyed.iter().map(|item| item.row));
            return Ok(&self.order);
        };
        model.sizes(keys, &mut self.sizes);
        // Scratch is overwritten before it is read, so only its length matters.
        if self.keyed.len() < keys.len() {
            self.keyed.resize(keys.len(), Keyed::default());
        }
        let Some(scratch) = self.keyed.get_mut(..keys.len()) else {
            return Ok(&self.order);
        };
        let lookup = model.lookup();
        scatter(
            keyed(keys),
            |item| lookup.bucket(item.key),
            &self.sizes,
            scratch,
        );
        // Finish each bucket into a small buffer that stays in cache, then emit its rows.
        let mut rest: &mut [Keyed] = scratch;
        for &size in &self.sizes {
            let Some((bucket, tail)) = rest.split_at_mut_checked(size) else {
                break;
            };
            self.buffer.clear();
            self.buffer.resize(size, Keyed::default());
            sort_into(bucket, &mut self.buffer, 1, &mut self.slot_starts);
            self.order.extend(self.buffer.iter().map(|item| item.row));
            rest = tail;
        }
        Ok(&self.order)
    }

    /// The permutation the last [`Self::permutation_i64`] computed.
    pub fn order(&self) -> &[u32] {
        &self.order
    }

    /// Takes the permutation out, leaving the buffer empty.
    fn take_order(&mut self) -> Vec<u32> {
        std::mem::take(&mut self.order)
    }
}

/// Each key with its row number (callers check that rows fit `u32`).
fn keyed(keys: &[i64]) -> impl Iterator<Item = Keyed> + '_ {
    keys.iter().enumerate().map(|(row, &key)| Keyed {
        key,
        row: row as u32,
    })
}

/// A sorted sample of the keys, drawn at pseudo-random positions (deterministically).
fn sample_keys(keys: &[i64]) -> Vec<i64> {
    let sample_len = (keys.len() / 32)
        .clamp(1_024, SAMPLE_KEYS_MAX)
        .min(keys.len());
    let mut state = 0x5EED_u64 ^ keys.len() as u64;
    let mut sample: Vec<i64> = (0..sample_len)
        .filter_map(|_| {
            let index = (splitmix(&mut state) % keys.len().max(1) as u64) as usize;
            keys.get(index).copied()
        })
        .collect();
    sample.sort_unstable();
    sample
}

/// Scatters `source` into `target` by bucket, stable, given each bucket's size.
/// `bucket_of(item)` must agree with `sizes`.
fn scatter<T: Item>(
    source: impl IntoIterator<Item = T>,
    bucket_of: impl Fn(&T) -> usize,
    sizes: &[usize],
    target: &mut [T],
) {
    let mut next = Vec::with_capacity(sizes.len());
    let mut start = 0;
    for &size in sizes {
        next.push(start);
        start += size;
    }
    for item in source {
        if let Some(slot) = next.get_mut(bucket_of(&item))
            && let Some(target) = target.get_mut(*slot)
        {
            *target = item;
            *slot += 1;
        }
    }
}

/// For each bucket (consecutive runs of `sizes` in `source`), leaves it sorted in the same
/// range of `target`. Each bucket is finished in `local`, which stays in cache while the
/// model scatters into it, and then copied out in one sequential pass.
fn finish_buckets<T: Item>(
    source: &mut [T],
    target: &mut [T],
    sizes: &[usize],
    local: &mut Vec<T>,
    slot_starts: &mut Vec<u32>,
) {
    let (mut source, mut target) = (source, target);
    for &size in sizes {
        let Some((bucket_source, rest_source)) = source.split_at_mut_checked(size) else {
            return;
        };
        let Some((bucket_target, rest_target)) = target.split_at_mut_checked(size) else {
            return;
        };
        local.clear();
        local.resize(size, T::default());
        sort_into(bucket_source, local, 1, slot_starts);
        bucket_target.copy_from_slice(local);
        source = rest_source;
        target = rest_target;
    }
}

/// A monotone map from keys in `[min, max]` onto `0..slots`: linear interpolation in
/// fixed point, exact integer arithmetic, so it never decreases.
#[derive(Debug, Clone, Copy)]
struct Interpolation {
    min: i64,
    shift: u32,
    multiplier: u64,
}

impl Interpolation {
    fn new(min: i64, max: i64, slots: usize) -> Self {
        // Scale the width down to below 2^32 so that `offset * multiplier` fits in 64 bits.
        let width = max.wrapping_sub(min) as u64;
        let shift = (64 - width.leading_zeros()).saturating_sub(32);
        let scaled_width = width >> shift;
        let multiplier = ((slots as u64) << 32) / (scaled_width + 1);
        Self {
            min,
            shift,
            multiplier,
        }
    }

    /// Below `slots` for keys in `[min, max]`: `offset * multiplier < (width + 1) *
    /// multiplier <= slots * 2^32`.
    fn slot(&self, key: i64) -> usize {
        let offset = key.wrapping_sub(self.min) as u64 >> self.shift;
        ((offset * self.multiplier) >> 32) as usize
    }
}

/// Leaves `source`'s keys sorted in `target` (same length); `source` is scratch afterwards.
/// `slot_starts` is a reusable buffer.
fn sort_into<T: Item>(source: &mut [T], target: &mut [T], depth: u32, slot_starts: &mut Vec<u32>) {
    if source.len() <= LEAF_KEYS {
        target.copy_from_slice(source);
        insertion_sort(target);
        return;
    }
    let Some((min, max)) = key_bounds(source) else {
        return;
    };
    if min == max {
        // All one key (LearnedSort 2.0's duplicate check): already in order.
        target.copy_from_slice(source);
        return;
    }
    if depth >= MAX_DEPTH {
        target.copy_from_slice(source);
        T::comparison_sort(target);
        return;
    }
    let width = max.wrapping_sub(min) as u64;
    if width < 1 << (2 * RADIX_BITS) {
        radix_sort_into(source, target, min, width);
        return;
    }
    // The local model: linear interpolation between the bucket's extremes, one slot per key.
    let slots = source.len();
    let model = Interpolation::new(min, max, slots);
    slot_starts.clear();
    slot_starts.resize(slots + 1, 0);
    for item in source.iter() {
        if let Some(size) = slot_starts.get_mut(model.slot(item.key())) {
            *size += 1;
        }
    }
    let mut start = 0u32;
    let mut crowded = false;
    for size in slot_starts.iter_mut() {
        let count = *size;
        crowded |= count as usize > SLOT_KEYS_MAX;
        *size = start;
        start += count;
    }
    for item in source.iter() {
        if let Some(next) = slot_starts.get_mut(model.slot(item.key()))
            && let Some(slot) = target.get_mut(*next as usize)
        {
            *slot = *item;
            *next += 1;
        }
    }
    if crowded {
        // Slots the model crowded (duplicates, or skew inside the bucket) are sorted on
        // their own, so the insertion pass below only ever moves keys a few places.
        // `slot_starts` now holds each slot's end.
        let mut begin = 0usize;
        let mut inner = Vec::new();
        for end in slot_starts.iter().map(|&end| end as usize) {
            if end - begin > SLOT_KEYS_MAX
                && let (Some(run), Some(run_scratch)) =
                    (target.get_mut(begin..end), source.get_mut(begin..end))
            {
                sort_in_place(run, run_scratch, depth + 1, &mut inner);
            }
            begin = end;
        }
    }
    insertion_sort(target);
}

/// Bits of a key's offset each radix pass sorts on.
const RADIX_BITS: u32 = 8;

/// Leaves `source`'s keys, whose offsets from `min` are at most `width` (below
/// `2^(2 * RADIX_BITS)`), sorted in `target`: a stable counting sort on the offset's low
/// digit, then on its high one (skipped when every offset fits one digit). Both histograms
/// come from one pass, and no key is compared.
fn radix_sort_into<T: Item>(source: &mut [T], target: &mut [T], min: i64, width: u64) {
    const DIGITS: usize = 1 << RADIX_BITS;
    const MASK: u64 = (1 << RADIX_BITS) - 1;
    let offset = |item: &T| item.key().wrapping_sub(min) as u64;
    let mut low = [0u32; DIGITS];
    let mut high = [0u32; DIGITS];
    for item in source.iter() {
        let key = offset(item);
        if let Some(count) = low.get_mut((key & MASK) as usize) {
            *count += 1;
        }
        if let Some(count) = high.get_mut(((key >> RADIX_BITS) & MASK) as usize) {
            *count += 1;
        }
    }
    let starts = |counts: &mut [u32; DIGITS]| {
        let mut start = 0u32;
        for count in counts.iter_mut() {
            let size = *count;
            *count = start;
            start += size;
        }
    };
    let pass = |from: &[T], to: &mut [T], next: &mut [u32; DIGITS], shift: u32| {
        for item in from {
            if let Some(slot) = next.get_mut(((offset(item) >> shift) & MASK) as usize)
                && let Some(place) = to.get_mut(*slot as usize)
            {
                *place = *item;
                *slot += 1;
            }
        }
    };
    starts(&mut low);
    if width <= MASK {
        pass(source, target, &mut low, 0);
        return;
    }
    starts(&mut high);
    pass(source, target, &mut low, 0);
    pass(target, source, &mut high, RADIX_BITS);
    target.copy_from_slice(source);
}

/// Sorts `items` in place, using `scratch` (same length) as the scatter buffer: the
/// fallback when no first-level model fits, and the recursion for crowded slots.
fn sort_in_place<T: Item>(
    items: &mut [T],
    scratch: &mut [T],
    depth: u32,
    slot_starts: &mut Vec<u32>,
) {
    if items.len() <= LEAF_KEYS {
        insertion_sort(items);
        return;
    }
    let Some((min, max)) = key_bounds(items) else {
        return;
    };
    if min == max {
        return;
    }
    if depth >= MAX_DEPTH {
        T::comparison_sort(items);
        return;
    }
    let buckets = (items.len() / IN_PLACE_BUCKET_KEYS).clamp(2, FIRST_LEVEL_BUCKETS_MAX);
    let model = Interpolation::new(min, max, buckets);
    let mut sizes = vec![0usize; buckets];
    for item in items.iter() {
        if let Some(size) = sizes.get_mut(model.slot(item.key())) {
            *size += 1;
        }
    }
    scatter(
        items.iter().copied(),
        |item| model.slot(item.key()),
        &sizes,
        scratch,
    );
    let (mut source, mut target) = (scratch, items);
    for &size in &sizes {
        let Some((bucket_source, rest_source)) = source.split_at_mut_checked(size) else {
            return;
        };
        let Some((bucket_target, rest_target)) = target.split_at_mut_checked(size) else {
            return;
        };
        sort_into(bucket_source, bucket_target, depth + 1, slot_starts);
        source = rest_source;
        target = rest_target;
    }
}

/// Stable insertion sort: linear on nearly sorted input, which is what the models leave.
fn insertion_sort<T: Item>(items: &mut [T]) {
    for index in 1..items.len() {
        let Some(&current) = items.get(index) else {
            break;
        };
        let key = current.key();
        let mut hole = index;
        while let Some(&previous) = hole.checked_sub(1).and_then(|before| items.get(before)) {
            if previous.key() <= key {
                break;
            }
            if let Some(slot) = items.get_mut(hole) {
                *slot = previous;
            }
            hole -= 1;
        }
        if hole != index
            && let Some(slot) = items.get_mut(hole)
        {
            *slot = current;
        }
    }
}

fn key_bounds<T: Item>(items: &[T]) -> Option<(i64, i64)> {
    let first = items.first()?.key();
    Some(items.iter().fold((first, first), |(min, max), item| {
        (min.min(item.key()), max.max(item.key()))
    }))
}

/// The first-level model for keys with many distinct values: a CDF model fitted on the
/// sample and tabulated at equally spaced keys (a radix table), so that evaluating it is a
/// subtraction, a shift and one load from a table that stays in cache.
#[derive(Debug)]
struct RadixTable {
    /// The bucket of each key interval `origin + (i << shift)..origin + ((i + 1) << shift)`:
    /// non-decreasing (the CDF model is monotone) and below `buckets`.
    table: Vec<u16>,
    origin: i64,
    shift: u32,
    buckets: usize,
}

impl RadixTable {
    fn fit(sample: &[i64], rows: usize) -> Option<Self> {
        let (&origin, &last) = (sample.first()?, sample.last()?);
        if origin == last {
            return None;
        }
        let buckets = (rows / FIRST_LEVEL_BUCKET_KEYS).clamp(16, FIRST_LEVEL_BUCKETS_MAX);
        let keys: Vec<f64> = sample.iter().map(|&key| key as f64).collect();
        // A quarter of a bucket of error, in sample ranks.
        let epsilon = (keys.len() as f64 / (4.0 * buckets as f64)).max(0.5);
        let cdf = CdfModel::fit(&keys, epsilon);
        let span = last.wrapping_sub(origin) as u64;
        let entry_bits = (buckets * TABLE_ENTRIES_PER_BUCKET)
            .next_power_of_two()
            .trailing_zeros();
        let shift = (64 - span.leading_zeros()).saturating_sub(entry_bits);
        let entries = (span >> shift) + 1;
        let scale = buckets as f64 / keys.len() as f64;
        let last_bucket = (buckets - 1) as u16;
        let table = (0..entries)
            .map(|entry| {
                // Each interval takes the bucket of its middle key.
                let key =
                    i128::from(origin) + (i128::from(entry) << shift) + ((1i128 << shift) >> 1);
                ((cdf.rank(key as f64) * scale) as u16).min(last_bucket)
            })
            .collect();
        Some(Self {
            table,
            origin,
            shift,
            buckets,
        })
    }

    /// The table as plain values, for loops that must keep them in registers.
    fn lookup(&self) -> Lookup<'_> {
        Lookup {
            table: &self.table,
            origin: self.origin,
            shift: self.shift,
            last_entry: self.table.len().saturating_sub(1) as u64,
        }
    }

    /// Each bucket's size into `sizes`.
    fn sizes(&self, keys: &[i64], sizes: &mut Vec<usize>) {
        let lookup = self.lookup();
        sizes.clear();
        sizes.resize(self.buckets, 0);
        for &key in keys {
            if let Some(size) = sizes.get_mut(lookup.bucket(key)) {
                *size += 1;
            }
        }
    }
}

/// A [`RadixTable`] borrowed as plain values.
#[derive(Debug, Clone, Copy)]
struct Lookup<'a> {
    table: &'a [u16],
    origin: i64,
    shift: u32,
    last_entry: u64,
}

impl Lookup<'_> {
    /// The bucket of a key, monotone in the key: offsets are clamped to the table (a
    /// monotone map) and the table never decreases. It is recomputed in the scatter rather
    /// than stored per key: timed within noise of storing it, and it saves a buffer.
    #[inline]
    fn bucket(self, key: i64) -> usize {
        let offset = key.saturating_sub(self.origin).max(0) as u64;
        let entry = (offset >> self.shift).min(self.last_entry) as usize;
        usize::from(self.table.get(entry).copied().unwrap_or_default())
    }
}

/// The model for keys from a small integer domain (dates, quantities, codes, small keys):
/// the CDF is a staircase, so the model is a table from key to the step it belongs to.
/// Every key the model knows gets a bucket of its own, which holds nothing but that key and
/// needs no sorting; keys it does not know fall in the gap buckets between, sorted
/// afterwards. When the sampled keys span few enough integers compared with the rows, every
/// integer of the span is known (a counting sort over the learned domain); otherwise the
/// sampled keys are.
#[derive(Debug)]
struct Dictionary {
    origin: i64,
    known: Known,
}

/// The keys a [`Dictionary`] gives buckets of their own. Known key `i` has bucket `2i + 1`;
/// bucket `2i` holds the unknown keys between known keys `i - 1` and `i`.
#[derive(Debug)]
enum Known {
    /// Every integer in `origin..=origin + span`.
    Dense { span: u64 },
    /// The sampled keys, ascending and distinct, with a table from `key - origin` to bucket.
    Sampled { keys: Vec<i64>, table: Vec<u32> },
}

impl Dictionary {
    fn fit(sample: &[i64], rows: usize) -> Option<Self> {
        let (&origin, &last) = (sample.first()?, sample.last()?);
        let span = last.checked_sub(origin)?;
        if span < DENSE_SPAN_MAX && (span as usize) < rows / DENSE_ROWS_PER_KEY_MIN {
            return Some(Self {
                origin,
                known: Known::Dense { span: span as u64 },
            });
        }
        if span >= DICTIONARY_SPAN_MAX {
            return None;
        }
        let mut keys = sample.to_vec();
        keys.dedup();
        if keys.len() > DICTIONARY_KEYS_MAX {
            return None;
        }
        let mut table = Vec::with_capacity(span as usize + 1);
        let mut bucket = 0u32;
        for &key in &keys {
            let offset = (key - origin) as usize;
            // Keys between the previous sampled key and this one: its gap bucket.
            table.resize(offset, bucket);
            table.push(bucket + 1);
            bucket += 2;
        }
        Some(Self {
            origin,
            known: Known::Sampled { keys, table },
        })
    }

    fn known_keys(&self) -> usize {
        match &self.known {
            Known::Dense { span } => *span as usize + 1,
            Known::Sampled { keys, .. } => keys.len(),
        }
    }

    /// The key of known key number `index`.
    fn known_key(&self, index: usize) -> i64 {
        match &self.known {
            Known::Dense { .. } => self.origin.wrapping_add(index as i64),
            Known::Sampled { keys, .. } => keys.get(index).copied().unwrap_or_default(),
        }
    }

    fn buckets(&self) -> usize {
        2 * self.known_keys() + 1
    }

    /// Monotone: keys below the known ones go to bucket 0, above them to the last bucket.
    fn bucket(&self, key: i64) -> usize {
        if key < self.origin {
            return 0;
        }
        // Exact for every key at or above the origin, even more than `i64::MAX` above it.
        let offset = key.wrapping_sub(self.origin) as u64;
        match &self.known {
            Known::Dense { span } if offset <= *span => 2 * offset as usize + 1,
            Known::Dense { .. } => self.buckets() - 1,
            Known::Sampled { table, .. } => match usize::try_from(offset)
                .ok()
                .and_then(|offset| table.get(offset))
            {
                Some(&bucket) => bucket as usize,
                None => self.buckets() - 1,
            },
        }
    }

    /// A counting sort: the sampled keys are written out as often as they occur; the few
    /// keys the sample missed are collected, sorted and written in their gaps.
    fn sort_values(&self, values: &mut [i64], sizes: &mut Vec<usize>, missed: &mut Vec<i64>) {
        sizes.clear();
        sizes.resize(self.buckets(), 0);
        missed.clear();
        for &value in values.iter() {
            let bucket = self.bucket(value);
            if let Some(size) = sizes.get_mut(bucket) {
                *size += 1;
            }
            if bucket.is_multiple_of(2) {
                missed.push(value);
            }
        }
        // Sorted, the missed keys are grouped by gap in bucket order (the model is monotone).
        missed.sort_unstable();
        let mut missed = missed.iter();
        let mut output = values.iter_mut();
        for (bucket, &size) in sizes.iter().enumerate() {
            let key = self.known_key(bucket / 2);
            for slot in output.by_ref().take(size) {
                *slot = if bucket.is_multiple_of(2) {
                    missed.next().copied().unwrap_or_default()
                } else {
                    key
                };
            }
        }
    }

    /// The stable permutation: rows scattered by bucket, then the gap buckets sorted.
    fn permutation(&self, keys: &[i64], starts: &mut Vec<usize>, order: &mut Vec<u32>) {
        starts.clear();
        starts.resize(self.buckets() + 1, 0);
        for &key in keys {
            if let Some(size) = starts.get_mut(self.bucket(key) + 1) {
                *size += 1;
            }
        }
        for index in 1..starts.len() {
            let previous = starts.get(index - 1).copied().unwrap_or(0);
            if let Some(start) = starts.get_mut(index) {
                *start += previous;
            }
        }
        let gaps: Vec<(usize, usize)> = starts
            .windows(2)
            .step_by(2)
            .filter_map(|pair| match pair {
                [start, end] if end - start > 1 => Some((*start, *end)),
                _ => None,
            })
            .collect();
        order.clear();
        order.resize(keys.len(), 0);
        for (row, &key) in keys.iter().enumerate() {
            if let Some(next) = starts.get_mut(self.bucket(key))
                && let Some(slot) = order.get_mut(*next)
            {
                *slot = row as u32;
                *next += 1;
            }
        }
        for (start, end) in gaps {
            if let Some(rows) = order.get_mut(start..end) {
                rows.sort_unstable_by_key(|&row| (keys.get(row as usize).copied(), row));
            }
        }
    }
}

fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut mixed = *state;
    mixed = (mixed ^ (mixed >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    mixed = (mixed ^ (mixed >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    mixed ^ (mixed >> 31)
}

/// An `i64` whose order is [`float_order`]: `-0.0` equals `0.0`, NaN is greatest.
pub(crate) fn ordered_float_key(value: f64) -> i64 {
    let canonical = if value.is_nan() {
        f64::NAN
    } else {
        value + 0.0
    };
    let bits = canonical.to_bits() as i64;
    bits ^ (((bits >> 63) as u64) >> 1) as i64
}

/// An `i64` whose order is that of the first 8 bytes of a byte string (bytewise, shorter
/// first); strings sharing those bytes tie and are ordered by a comparison afterwards.
fn ordered_prefix_key(bytes: &[u8]) -> i64 {
    let mut prefix = [0u8; 8];
    for (slot, byte) in prefix.iter_mut().zip(bytes) {
        *slot = *byte;
    }
    (u64::from_be_bytes(prefix) ^ (1 << 63)) as i64
}

/// The permutation that sorts the rows of `rows` by the compound key `keys`: ascending,
/// nulls first in every key column, stable (rows equal on every key keep their order).
/// An empty `keys` keeps the rows as they are.
pub fn sort_permutation(rows: &ColumnSet<'_>, keys: &[String]) -> Result<Vec<u32>, LayoutError> {
    let count = checked_rows(rows.rows())?;
    let columns = keys
        .iter()
        .map(|name| rows.column(name))
        .collect::<Result<Vec<&Column>, LayoutError>>()?;
    let Some((first, rest)) = columns.split_first() else {
        return Ok((0..count).collect());
    };
    // An `i64` key per row that follows the first column's order: exactly for integers,
    // floats and booleans, by prefix (ties settled below) for decimals and bytes.
    let (primary, exact): (Vec<i64>, bool) = match first.values() {
        ColumnValues::Int(values) => (values.clone(), true),
        ColumnValues::Float(values) => {
            (values.iter().map(|&v| ordered_float_key(v)).collect(), true)
        }
        ColumnValues::Bool(values) => (values.iter().map(|&v| i64::from(v)).collect(), true),
        ColumnValues::Decimal(values) => {
            let keys: Vec<i64> = values
                .iter()
                .map(|&value| {
                    i64::try_from(value).unwrap_or(if value < 0 { i64::MIN } else { i64::MAX })
                })
                .collect();
            let exact = values.iter().all(|&value| i64::try_from(value).is_ok());
            (keys, exact)
        }
        ColumnValues::Bytes(values) => {
            // Prefixes are exact for strings of at most 8 bytes without a zero byte (else
            // "a" and "a\0" would share one).
            let exact = values.iter().all(|value| value.len() <= 8) && !values.data().contains(&0);
            (values.iter().map(ordered_prefix_key).collect(), exact)
        }
    };
    // Nulls first, in row order; then the non-null rows by the learned sort.
    let mut order: Vec<u32>;
    let null_count;
    match first.validity() {
        None => {
            null_count = 0;
            let mut sorter = LearnedSorter::new();
            sorter.permutation_i64(&primary)?;
            order = sorter.take_order();
        }
        Some(validity) => {
            let mut nulls = Vec::new();
            let mut valid_rows = Vec::with_capacity(primary.len());
            let mut valid_keys = Vec::with_capacity(primary.len());
            for ((row, &key), &valid) in (0..count).zip(&primary).zip(validity) {
                if valid {
                    valid_rows.push(row);
                    valid_keys.push(key);
                } else {
                    nulls.push(row);
                }
            }
            null_count = nulls.len();
            order = nulls;
            let mut sorter = LearnedSorter::new();
            order.extend(
                sorter
                    .permutation_i64(&valid_keys)?
                    .iter()
                    .filter_map(|&position| valid_rows.get(position as usize).copied()),
            );
        }
    }
    if rest.is_empty() && exact {
        return Ok(order);
    }
    // Rows tied on the primary key: settle by the full first value (when the key is a
    // prefix) and the remaining key columns, breaking full ties by row to stay stable.
    let compare = |a: &u32, b: &u32| {
        let (a, b) = (*a as usize, *b as usize);
        let first_order = if exact {
            Ordering::Equal
        } else {
            compare_rows(first, a, b)
        };
        first_order
            .then_with(|| {
                rest.iter()
                    .map(|column| compare_rows(column, a, b))
                    .find(|order| order.is_ne())
                    .unwrap_or(Ordering::Equal)
            })
            .then(a.cmp(&b))
    };
    let null_count = null_count.min(order.len());
    let (null_rows, sorted_rows) = order.split_at_mut(null_count);
    null_rows.sort_unstable_by(compare);
    let key_of = |row: u32| primary.get(row as usize).copied();
    let mut start = 0;
    while start < sorted_rows.len() {
        let key = sorted_rows.get(start).and_then(|&row| key_of(row));
        let run = sorted_rows
            .get(start..)
            .map_or(0, |tail| {
                tail.iter().take_while(|&&row| key_of(row) == key).count()
            })
            .max(1);
        if run > 1
            && let Some(slice) = sorted_rows.get_mut(start..start + run)
        {
            slice.sort_unstable_by(compare);
        }
        start += run;
    }
    Ok(order)
}

/// Orders two rows of one column: nulls first, then by value.
pub(crate) fn compare_rows(column: &Column, a: usize, b: usize) -> Ordering {
    match (is_valid(column, a), is_valid(column, b)) {
        (false, false) => return Ordering::Equal,
        (false, true) => return Ordering::Less,
        (true, false) => return Ordering::Greater,
        (true, true) => {}
    }
    match column.values() {
        ColumnValues::Int(values) => values.get(a).cmp(&values.get(b)),
        ColumnValues::Float(values) => match (values.get(a), values.get(b)) {
            (Some(x), Some(y)) => float_order(*x, *y),
            (x, y) => x.is_some().cmp(&y.is_some()),
        },
        ColumnValues::Decimal(values) => values.get(a).cmp(&values.get(b)),
        ColumnValues::Bool(values) => values.get(a).cmp(&values.get(b)),
        ColumnValues::Bytes(values) => values.get(a).cmp(&values.get(b)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_codecs::{BytesColumn, LogicalType};

    fn lcg(seed: &mut u64) -> u64 {
        splitmix(seed)
    }

    fn check_sorts(mut values: Vec<i64>) {
        let mut expected = values.clone();
        expected.sort_unstable();
        let permutation = sort_permutation_i64(&values).unwrap();
        let mut by_key: Vec<(i64, u32)> = values.iter().copied().zip(0..).collect();
        by_key.sort_by_key(|&(key, _)| key);
        assert_eq!(
            permutation,
            by_key.iter().map(|&(_, row)| row).collect::<Vec<_>>(),
            "stable permutation"
        );
        learned_sort_i64(&mut values);
        assert_eq!(values, expected);
    }

    #[test]
    fn sorts_uniform_skewed_and_duplicate_heavy_keys() {
        let mut seed = 1;
        check_sorts((0..100_000).map(|_| lcg(&mut seed) as i64).collect());
        check_sorts((0..100_000).map(|_| (lcg(&mut seed) % 50) as i64).collect());
        check_sorts(
            (0..100_000)
                .map(|_| ((lcg(&mut seed) % 4000) as f64 / 100.0).exp() as i64)
                .collect(),
        );
        check_sorts(
            (0..50_000)
                .map(|i| if i % 1000 == 0 { i64::MAX } else { i % 7 })
                .collect(),
        );
        check_sorts(vec![i64::MIN, i64::MAX, 0, -1, i64::MIN, 5]);
        check_sorts((0..20_000).rev().collect());
        check_sorts(vec![3; 10_000]);
        check_sorts(Vec::new());
    }

    #[test]
    fn narrow_buckets_are_finished_by_counting_passes() {
        let mut seed = 3;
        // Buckets spanning some 40,000 integers: two counting passes each.
        check_sorts(
            (0..200_000)
                .map(|_| (lcg(&mut seed) % 2_000_000) as i64)
                .collect(),
        );
        // A dense cluster (buckets spanning fewer than 256 integers: one pass) and a wide
        // tail (interpolation), with duplicates across bucket boundaries.
        check_sorts(
            (0..200_000)
                .map(|i| {
                    if i % 4 == 0 {
                        (lcg(&mut seed) % (1 << 40)) as i64
                    } else {
                        (lcg(&mut seed) % 30_000) as i64 - 15_000
                    }
                })
                .collect(),
        );
    }

    #[test]
    fn radix_finish_is_a_stable_sort_at_every_width() {
        let mut seed = 11;
        for width in [1u64, 2, 255, 256, 257, 4_000, 65_535] {
            let min = -(width as i64) / 2;
            let mut source: Vec<Keyed> = (0..3_000)
                .map(|row| Keyed {
                    key: min + (lcg(&mut seed) % (width + 1)) as i64,
                    row,
                })
                .collect();
            let mut expected = source.clone();
            expected.sort_by_key(|item| item.key);
            let mut target = vec![Keyed::default(); source.len()];
            radix_sort_into(&mut source, &mut target, min, width);
            assert_eq!(target, expected, "width {width}");
        }
    }

    #[test]
    fn sampled_dictionaries_sort_the_keys_they_missed() {
        // 100 widely spaced keys (a sparse dictionary), plus rare keys the sample misses,
        // below, between and above them.
        let mut values: Vec<i64> = (0..40_000).map(|i| (i % 100) * 600).collect();
        for (slot, rare) in [(7, -5), (19, 301), (23, 302), (31, 59_999), (97, 1 << 40)] {
            values[slot * 400] = rare;
        }
        check_sorts(values);
    }

    #[test]
    fn a_reused_sorter_leaves_nothing_behind() {
        let mut sorter = LearnedSorter::new();
        let mut seed = 5;
        for len in [100_000, 7_000, 60_000, 10] {
            let mut values: Vec<i64> = (0..len).map(|_| lcg(&mut seed) as i64 >> 20).collect();
            let mut expected = values.clone();
            expected.sort_unstable();
            let mut permuted: Vec<(i64, u32)> = values.iter().copied().zip(0..).collect();
            permuted.sort();
            let order: Vec<u32> = permuted.iter().map(|&(_, row)| row).collect();
            assert_eq!(sorter.permutation_i64(&values).unwrap(), order.as_slice());
            sorter.sort_i64(&mut values);
            assert_eq!(values, expected);
        }
    }

    #[test]
    fn extreme_ranges_do_not_overflow() {
        let mut seed = 9;
        let values: Vec<i64> = (0..30_000)
            .map(|i| match i % 3 {
                0 => i64::MIN + (lcg(&mut seed) % 10) as i64,
                1 => i64::MAX - (lcg(&mut seed) % 10) as i64,
                _ => lcg(&mut seed) as i64,
            })
            .collect();
        check_sorts(values);
    }

    #[test]
    fn dictionaries_place_keys_more_than_i64_max_above_their_origin() {
        // The sample sees only -1 (a one-key dense dictionary); i64::MAX lies more than
        // i64::MAX above it and must still sort last.
        let mut values = vec![-1i64; 5_000];
        values[0] = i64::MAX;
        values[1_990] = i64::MAX - 2;
        values[3_980] = i64::MIN;
        check_sorts(values);
    }

    #[test]
    fn compound_keys_put_nulls_first_and_stay_stable() {
        let names = vec!["a".to_owned(), "b".to_owned(), "c".to_owned()];
        let a = Column::new(
            LogicalType::Float64,
            ColumnValues::Float(vec![1.0, f64::NAN, -0.0, 0.0, 1.0, 2.0]),
            Some(vec![true, true, true, true, true, false]),
        )
        .unwrap();
        let b = Column::new(
            LogicalType::Utf8,
            ColumnValues::Bytes(
                BytesColumn::from_values(
                    [
                        "zz",
                        "a",
                        "longer than eight",
                        "longer than eight!",
                        "b",
                        "x",
                    ]
                    .map(str::as_bytes),
                )
                .unwrap(),
            ),
            None,
        )
        .unwrap();
        let c = Column::new(
            LogicalType::Int64,
            ColumnValues::Int(vec![0, 0, 0, 0, 0, 0]),
            None,
        )
        .unwrap();
        let columns = vec![a, b, c];
        let set = ColumnSet::new(&names, &columns).unwrap();
        // Row 5 is null (first); -0.0 and 0.0 tie and are ordered by b; 1.0 twice by b
        // ("b" < "zz"); NaN last.
        assert_eq!(
            sort_permutation(&set, &["a".into(), "b".into()]).unwrap(),
            vec![5, 2, 3, 4, 0, 1]
        );
        assert_eq!(
            sort_permutation(&set, &["b".into()]).unwrap(),
            vec![1, 4, 2, 3, 5, 0]
        );
        assert_eq!(
            sort_permutation(&set, &["c".into()]).unwrap(),
            vec![0, 1, 2, 3, 4, 5],
            "all equal: stable"
        );
        assert!(matches!(
            sort_permutation(&set, &["missing".into()]),
            Err(LayoutError::MissingColumn { .. })
        ));
    }

    #[test]
    fn float_and_prefix_keys_follow_column_order() {
        let floats = [
            f64::NEG_INFINITY,
            -2.5,
            -0.0,
            0.0,
            1e-300,
            7.0,
            f64::INFINITY,
            f64::NAN,
        ];
        for pair in floats.windows(2) {
            assert!(ordered_float_key(pair[0]) <= ordered_float_key(pair[1]));
        }
        assert_eq!(ordered_float_key(-0.0), ordered_float_key(0.0));
        assert!(ordered_prefix_key(b"") < ordered_prefix_key(b"\x01"));
        assert!(ordered_prefix_key(b"\x7f") < ordered_prefix_key(b"\x80"));
    }
}
