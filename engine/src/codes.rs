//! Dictionary codes of a decoded string or binary chunk with few distinct values: each
//! row's value as a one-byte index into the chunk's distinct values, held next to the
//! decoded values in the chunk cache.
//!
//! A filter on such a column (a region, a ship mode, a status) otherwise compares every
//! scanned row's bytes with the filter's bounds, a call to `memcmp` or two per row. With
//! codes it decides once per distinct value, and then reads one byte per row through a
//! 256-entry table, which is what [`crate::offsets`] does for integers.

use std::collections::HashMap;

use tessera_codecs::{Column, ColumnValues};

/// Most distinct values a chunk may hold to get codes: as many as one byte names.
pub(crate) const DISTINCT_MAX: usize = 1 << u8::BITS;

/// The codes of one chunk: `codes[row]` indexes `values`; a null row's code is that of the
/// value stored under it, which means nothing.
#[derive(Debug)]
pub(crate) struct Codes {
    values: Vec<Vec<u8>>,
    codes: Vec<u8>,
}

impl Codes {
    /// The codes of a bytes column with at most 256 distinct values; `None` for other
    /// columns. Stops at the 257th distinct value, so a column of many costs little.
    pub(crate) fn of(column: &Column) -> Option<Self> {
        let ColumnValues::Bytes(bytes) = column.values() else {
            return None;
        };
        let mut index: HashMap<&[u8], u8> = HashMap::new();
        let mut values: Vec<Vec<u8>> = Vec::new();
        let mut codes = Vec::with_capacity(bytes.len());
        // The last value and its code: clustered values skip the lookup.
        let mut last: Option<(&[u8], u8)> = None;
        for value in bytes.iter() {
            let code = match last {
                Some((previous, code)) if previous == value => code,
                _ => match index.get(value) {
                    Some(&code) => code,
                    None => {
                        // The 257th distinct value: no code left for it.
                        let code = u8::try_from(values.len()).ok()?;
                        values.push(value.to_vec());
                        index.insert(value, code);
                        code
                    }
                },
            };
            last = Some((value, code));
            codes.push(code);
        }
        Some(Self { values, codes })
    }

    /// The distinct values, indexed by code.
    pub(crate) fn values(&self) -> &[Vec<u8>] {
        &self.values
    }

    /// One code per row.
    pub(crate) fn codes(&self) -> &[u8] {
        &self.codes
    }

    /// Bytes the codes and the distinct values take.
    pub(crate) fn bytes(&self) -> usize {
        self.codes.len() + self.values.iter().map(Vec::len).sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use tessera_codecs::{BytesColumn, LogicalType};

    use super::*;

    fn strings(values: &[&str]) -> Column {
        let bytes = BytesColumn::from_values(values.iter().map(|value| value.as_bytes())).unwrap();
        Column::new(LogicalType::Utf8, ColumnValues::Bytes(bytes), None).unwrap()
    }

    #[test]
    fn every_row_names_its_value() {
        let values = ["b", "a", "a", "", "b", "c", "a"];
        let codes = Codes::of(&strings(&values)).unwrap();
        assert_eq!(codes.values().len(), 4);
        let back: Vec<&[u8]> = codes
            .codes()
            .iter()
            .map(|&code| codes.values()[code as usize].as_slice())
            .collect();
        let want: Vec<&[u8]> = values.iter().map(|value| value.as_bytes()).collect();
        assert_eq!(back, want);
        assert_eq!(codes.bytes(), 7 + 3);
    }

    #[test]
    fn only_bytes_columns_of_at_most_256_distinct_values_get_codes() {
        let many: Vec<String> = (0..257).map(|value| value.to_string()).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        assert!(Codes::of(&strings(&many)).is_none());
        assert_eq!(
            Codes::of(&strings(&many[..256])).unwrap().values().len(),
            256
        );
        assert!(Codes::of(&strings(&[])).unwrap().codes().is_empty());
        let ints = Column::new(LogicalType::Int64, ColumnValues::Int(vec![1, 2]), None).unwrap();
        assert!(Codes::of(&ints).is_none());
    }
}
