//! Row selections: the result of evaluating a predicate on a block, one bit per row.

/// A set of row positions in `0..len`, one bit per row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    words: Vec<u64>,
    len: usize,
}

impl Selection {
    /// No row selected.
    pub fn none(len: usize) -> Self {
        Self {
            words: vec![0; len.div_ceil(64)],
            len,
        }
    }

    /// Every row selected.
    pub fn all(len: usize) -> Self {
        let mut selection = Self {
            words: vec![u64::MAX; len.div_ceil(64)],
            len,
        };
        selection.clear_tail();
        selection
    }

    fn clear_tail(&mut self) {
        let tail = self.len % 64;
        if tail != 0
            && let Some(last) = self.words.last_mut()
        {
            *last &= (1u64 << tail) - 1;
        }
    }

    /// Rows covered (selected or not).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the selection covers no rows.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Selects row `index` (ignored past the end).
    pub fn insert(&mut self, index: usize) {
        if index < self.len
            && let Some(word) = self.words.get_mut(index / 64)
        {
            *word |= 1 << (index % 64);
        }
    }

    /// Selects rows `start..end` (clamped to the length).
    pub fn insert_range(&mut self, start: usize, end: usize) {
        let end = end.min(self.len);
        let mut index = start;
        while index < end {
            if index.is_multiple_of(64) && index + 64 <= end {
                if let Some(word) = self.words.get_mut(index / 64) {
                    *word = u64::MAX;
                }
                index += 64;
            } else {
                self.insert(index);
                index += 1;
            }
        }
    }

    /// Whether row `index` is selected.
    pub fn contains(&self, index: usize) -> bool {
        self.words
            .get(index / 64)
            .is_some_and(|word| word >> (index % 64) & 1 == 1)
    }

    /// Number of selected rows.
    pub fn count(&self) -> usize {
        self.words
            .iter()
            .map(|word| word.count_ones() as usize)
            .sum()
    }

    /// Keeps only rows also selected in `other` (rows past `other`'s length are dropped).
    pub fn intersect(&mut self, other: &Selection) {
        for (index, word) in self.words.iter_mut().enumerate() {
            *word &= other.words.get(index).copied().unwrap_or(0);
        }
    }

    /// The selected rows, ascending.
    pub fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        self.words.iter().enumerate().flat_map(|(index, &word)| {
            let mut word = word;
            std::iter::from_fn(move || {
                if word == 0 {
                    return None;
                }
                let bit = word.trailing_zeros() as usize;
                word &= word - 1;
                Some(index * 64 + bit)
            })
        })
    }

    /// Appends one bit per value: whether `keep` holds for it.
    pub(crate) fn push_matches<T: Copy>(
        &mut self,
        start: usize,
        values: &[T],
        keep: impl Fn(T) -> bool,
    ) {
        for (offset, &value) in values.iter().enumerate() {
            if keep(value) {
                self.insert(start + offset);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_counts_and_intersections() {
        let mut selection = Selection::none(200);
        selection.insert_range(3, 150);
        selection.insert(199);
        selection.insert(500);
        assert_eq!(selection.count(), 148);
        assert!(selection.contains(3) && selection.contains(149) && !selection.contains(150));
        let mut other = Selection::all(200);
        assert_eq!(other.count(), 200);
        other.intersect(&selection);
        assert_eq!(
            other.iter().collect::<Vec<_>>(),
            selection.iter().collect::<Vec<_>>()
        );
    }
}
