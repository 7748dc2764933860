//! The workload: a bounded log of the predicates a table has served, and the serialized
//! form of a [`Predicate`], both versioned for the engine's catalog.
//!
//! The engine records every scan's predicate with [`Workload::record`]; the optimizer reads
//! the log ([`Workload::predicates`]). The log keeps the most recent `capacity` predicates,
//! so it follows a shifting workload and its size is bounded. A predicate whose serialized
//! form would exceed [`MAX_PREDICATE_BYTES`] (a huge `IN` list) is recorded coarsened: each
//! long disjunction becomes the one range that spans it, which keeps the columns it filters
//! and, roughly, its selectivity. A log can be stored in parts: [`Workload::since`] gives
//! what was recorded after a point, [`Workload::append`] puts the parts back together.
//!
//! Formats, little-endian: a predicate is `TSPR`, version `u16`, then the filters; a
//! workload is `TSWL`, version `u16`, capacity `u32`, predicates recorded in all `u64`, a
//! count `u32`, then each predicate as a `u32` length and its bytes (oldest first).

use std::cmp::Ordering;
use std::collections::VecDeque;
use std::ops::Bound;

use crate::layout::LayoutError;
use crate::predicate::{ColumnFilter, Predicate, Range, Scalar, Term};
use crate::wire::{Reader, Writer};

/// Magic that opens a serialized predicate.
pub const PREDICATE_MAGIC: [u8; 4] = *b"TSPR";
/// The predicate format version this build writes and reads.
pub const PREDICATE_FORMAT_VERSION: u16 = 1;
/// Magic that opens a serialized workload.
pub const WORKLOAD_MAGIC: [u8; 4] = *b"TSWL";
/// The workload format version this build writes and reads.
pub const WORKLOAD_FORMAT_VERSION: u16 = 1;
/// Most predicates a workload keeps.
pub const MAX_WORKLOAD_CAPACITY: usize = 1 << 16;
/// Largest serialized predicate a workload stores as it is.
pub const MAX_PREDICATE_BYTES: usize = 16 << 10;
/// Terms a coarsened filter keeps before its ranges are merged into one.
const COARSE_TERMS_MAX: usize = 16;

/// Serializes a predicate (magic, version, filters).
pub fn encode_predicate(predicate: &Predicate) -> Vec<u8> {
    let mut writer = Writer::new(Vec::new());
    for byte in PREDICATE_MAGIC {
        writer.u8(byte);
    }
    writer.u16(PREDICATE_FORMAT_VERSION);
    writer.predicate(predicate);
    writer.finish()
}

/// Reads a predicate written by [`encode_predicate`].
pub fn decode_predicate(bytes: &[u8]) -> Result<Predicate, LayoutError> {
    let mut reader = Reader::new(bytes, 0);
    read_header(&mut reader, PREDICATE_MAGIC, PREDICATE_FORMAT_VERSION)?;
    let predicate = reader.predicate()?;
    reader.finish()?;
    Ok(predicate)
}

fn read_header(reader: &mut Reader<'_>, magic: [u8; 4], version: u16) -> Result<(), LayoutError> {
    for expected in magic {
        if reader.u8()? != expected {
            return Err(LayoutError::Format {
                offset: 0,
                reason: "bad magic".to_owned(),
            });
        }
    }
    let found = reader.u16()?;
    if found != version {
        return Err(LayoutError::Format {
            offset: 4,
            reason: format!("unknown format version {found}"),
        });
    }
    Ok(())
}

impl Predicate {
    /// Serializes the predicate; see [`encode_predicate`].
    pub fn encode(&self) -> Vec<u8> {
        encode_predicate(self)
    }

    /// Reads a serialized predicate; see [`decode_predicate`].
    pub fn decode(bytes: &[u8]) -> Result<Self, LayoutError> {
        decode_predicate(bytes)
    }
}

/// A bounded log of recent predicates.
#[derive(Debug, Clone, PartialEq)]
pub struct Workload {
    capacity: usize,
    entries: VecDeque<Predicate>,
    recorded: u64,
}

impl Default for Workload {
    fn default() -> Self {
        Self::new(Self::DEFAULT_CAPACITY)
    }
}

impl Workload {
    /// The capacity [`Workload::default`] uses.
    pub const DEFAULT_CAPACITY: usize = 1_024;

    /// An empty log keeping the last `capacity` predicates (1 to [`MAX_WORKLOAD_CAPACITY`]).
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.clamp(1, MAX_WORKLOAD_CAPACITY);
        Self {
            capacity,
            entries: VecDeque::with_capacity(capacity.min(Self::DEFAULT_CAPACITY)),
            recorded: 0,
        }
    }

    /// Records one predicate, dropping the oldest when full.
    pub fn record(&mut self, predicate: Predicate) {
        let predicate = if encode_predicate(&predicate).len() > MAX_PREDICATE_BYTES {
            coarsen(&predicate)
        } else {
            predicate
        };
        if self.entries.len() >= self.capacity {
            self.entries.pop_front();
        }
        self.entries.push_back(predicate);
        self.recorded = self.recorded.saturating_add(1);
    }

    /// The logged predicates, oldest first.
    pub fn predicates(&self) -> Vec<Predicate> {
        self.entries.iter().cloned().collect()
    }

    /// The most recent `count` predicates, oldest first.
    pub fn recent(&self, count: usize) -> Vec<Predicate> {
        let skip = self.entries.len().saturating_sub(count);
        self.entries.iter().skip(skip).cloned().collect()
    }

    /// Predicates in the log.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the log is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Most predicates the log keeps.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Predicates recorded since the log was created, including those dropped.
    pub fn recorded(&self) -> u64 {
        self.recorded
    }

    /// How many logged predicates filter each column, most filtered first (ties by name).
    pub fn column_frequencies(&self) -> Vec<(String, usize)> {
        let mut counts: Vec<(String, usize)> = Vec::new();
        for predicate in &self.entries {
            let mut columns: Vec<&str> = predicate
                .filters
                .iter()
                .map(|filter| filter.column.as_str())
                .collect();
            columns.sort_unstable();
            columns.dedup();
            for column in columns {
                match counts.iter_mut().find(|(name, _)| name == column) {
                    Some((_, count)) => *count += 1,
                    None => counts.push((column.to_owned(), 1)),
                }
            }
        }
        counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        counts
    }

    /// The part of the log recorded after its first `recorded` predicates, as far as the
    /// log still holds them: a log of the same capacity and count holding only those. A log
    /// stored in such parts is written in time proportional to what is new, not to its
    /// capacity; [`Workload::append`] puts the parts back together.
    pub fn since(&self, recorded: u64) -> Workload {
        let new = self.recorded.saturating_sub(recorded);
        let held =
            usize::try_from(new).map_or(self.entries.len(), |new| new.min(self.entries.len()));
        Workload {
            capacity: self.capacity,
            entries: self
                .entries
                .iter()
                .skip(self.entries.len() - held)
                .cloned()
                .collect(),
            recorded: self.recorded,
        }
    }

    /// Appends `later`, a part recorded after this log (see [`Workload::since`]): its
    /// predicates follow, the oldest dropping out past its capacity, which becomes the log's,
    /// and so does its count of predicates recorded (never below what the log holds).
    pub fn append(&mut self, later: Workload) {
        self.capacity = later.capacity;
        self.entries.extend(later.entries);
        let excess = self.entries.len().saturating_sub(self.capacity);
        self.entries.drain(..excess);
        self.recorded = later.recorded.max(self.entries.len() as u64);
    }

    /// Serializes the log.
    pub fn encode(&self) -> Vec<u8> {
        let mut writer = Writer::new(Vec::new());
        for byte in WORKLOAD_MAGIC {
            writer.u8(byte);
        }
        writer.u16(WORKLOAD_FORMAT_VERSION);
        writer.len(self.capacity);
        writer.u64(self.recorded);
        writer.len(self.entries.len());
        for predicate in &self.entries {
            let mut inner = Writer::new(Vec::new());
            inner.predicate(predicate);
            writer.bytes(&inner.finish());
        }
        writer.finish()
    }

    /// Reads a log written by [`Self::encode`].
    pub fn decode(bytes: &[u8]) -> Result<Self, LayoutError> {
        let mut reader = Reader::new(bytes, 0);
        read_header(&mut reader, WORKLOAD_MAGIC, WORKLOAD_FORMAT_VERSION)?;
        let capacity = reader.u32()? as usize;
        if capacity == 0 || capacity > MAX_WORKLOAD_CAPACITY {
            return Err(reader.error(format!("capacity {capacity}")));
        }
        let recorded = reader.u64()?;
        let count = reader.count(4)?;
        if count > capacity || recorded < count as u64 {
            return Err(reader.error("more predicates than the log holds or recorded"));
        }
        let mut entries = VecDeque::with_capacity(count);
        for _ in 0..count {
            let start = reader.offset();
            let bytes_of_predicate = reader.bytes()?;
            let mut inner = Reader::new(&bytes_of_predicate, 0);
            let predicate = inner.predicate().map_err(|error| match error {
                LayoutError::Format { offset, reason } => LayoutError::Format {
                    offset: start + 4 + offset,
                    reason,
                },
                other => other,
            })?;
            inner.finish()?;
            entries.push_back(predicate);
        }
        reader.finish()?;
        Ok(Self {
            capacity,
            entries,
            recorded,
        })
    }
}

/// A predicate with every long disjunction replaced by the one range spanning its ranges
/// (a superset of it): keeps the filtered columns and a rough selectivity in bounded space.
fn coarsen(predicate: &Predicate) -> Predicate {
    let filters = predicate
        .filters
        .iter()
        .map(|filter| {
            if filter.terms.len() <= COARSE_TERMS_MAX {
                return filter.clone();
            }
            let mut terms = Vec::new();
            let mut hull: Option<Range> = None;
            for term in &filter.terms {
                match term {
                    Term::Range(range) => {
                        hull = Some(match hull {
                            None => range.clone(),
                            Some(hull) => Range {
                                low: lower(&hull.low, &range.low),
                                high: higher(&hull.high, &range.high),
                            },
                        });
                    }
                    other => {
                        if !terms.contains(other) {
                            terms.push(other.clone());
                        }
                    }
                }
            }
            terms.extend(hull.map(|hull| Term::Range(truncate(hull))));
            ColumnFilter {
                column: filter.column.clone(),
                terms,
            }
        })
        .collect();
    Predicate { filters }
}

/// Keeps a coarsened range's byte bounds short: a prefix is a lower bound for the low end,
/// and an unbounded high end covers any long one.
fn truncate(range: Range) -> Range {
    const KEEP: usize = 64;
    let low = match range.low {
        Bound::Included(Scalar::Bytes(bytes)) | Bound::Excluded(Scalar::Bytes(bytes))
            if bytes.len() > KEEP =>
        {
            Bound::Included(Scalar::Bytes(bytes.into_iter().take(KEEP).collect()))
        }
        other => other,
    };
    let high = match range.high {
        Bound::Included(Scalar::Bytes(bytes)) | Bound::Excluded(Scalar::Bytes(bytes))
            if bytes.len() > KEEP =>
        {
            Bound::Unbounded
        }
        other => other,
    };
    Range { low, high }
}

/// The lower of two low bounds (open wins; across kinds, open).
fn lower(a: &Bound<Scalar>, b: &Bound<Scalar>) -> Bound<Scalar> {
    match (a, b) {
        (Bound::Unbounded, _) | (_, Bound::Unbounded) => Bound::Unbounded,
        (Bound::Included(x) | Bound::Excluded(x), Bound::Included(y) | Bound::Excluded(y)) => {
            match x.compare(y) {
                Some(Ordering::Less) => a.clone(),
                Some(Ordering::Greater) => b.clone(),
                Some(Ordering::Equal) => Bound::Included(x.clone()),
                None => Bound::Unbounded,
            }
        }
    }
}

/// The higher of two high bounds (open wins; across kinds, open).
fn higher(a: &Bound<Scalar>, b: &Bound<Scalar>) -> Bound<Scalar> {
    match (a, b) {
        (Bound::Unbounded, _) | (_, Bound::Unbounded) => Bound::Unbounded,
        (Bound::Included(x) | Bound::Excluded(x), Bound::Included(y) | Bound::Excluded(y)) => {
            match x.compare(y) {
                Some(Ordering::Greater) => a.clone(),
                Some(Ordering::Less) => b.clone(),
                Some(Ordering::Equal) => Bound::Included(x.clone()),
                None => Bound::Unbounded,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_predicate() -> Predicate {
        Predicate::all()
            .and(ColumnFilter {
                column: "l_shipdate".into(),
                terms: vec![Term::Range(Range {
                    low: Bound::Included(Scalar::Int(9_000)),
                    high: Bound::Excluded(Scalar::Int(9_031)),
                })],
            })
            .and(ColumnFilter {
                column: "l_shipmode".into(),
                terms: vec![
                    Term::Range(Range::point(Scalar::Bytes(b"AIR".to_vec()))),
                    Term::IsNull,
                ],
            })
            .and(ColumnFilter {
                column: "price".into(),
                terms: vec![
                    Term::Range(Range::closed(Scalar::Decimal(-5), Scalar::Decimal(7))),
                    Term::Range(Range::point(Scalar::Float(-0.5))),
                    Term::Range(Range::point(Scalar::Bool(true))),
                    Term::IsNotNull,
                ],
            })
    }

    #[test]
    fn predicates_round_trip_and_reject_damage() {
        let predicate = sample_predicate();
        let bytes = predicate.encode();
        assert_eq!(&bytes[..6], b"TSPR\x01\x00");
        assert_eq!(Predicate::decode(&bytes).unwrap(), predicate);
        for cut in 0..bytes.len() {
            assert!(decode_predicate(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut trailing = bytes.clone();
        trailing.push(0);
        assert!(decode_predicate(&trailing).is_err());
        let mut future = bytes;
        future[4] = 2;
        assert!(matches!(
            decode_predicate(&future),
            Err(LayoutError::Format { offset: 4, .. })
        ));
    }

    #[test]
    fn the_log_keeps_the_most_recent_predicates() {
        let mut workload = Workload::new(3);
        for day in 0..5 {
            workload.record(Predicate::all().and(ColumnFilter {
                column: if day % 2 == 0 { "a" } else { "b" }.into(),
                terms: vec![Term::Range(Range::point(Scalar::Int(day)))],
            }));
        }
        assert_eq!(workload.len(), 3);
        assert_eq!(workload.recorded(), 5);
        let kept: Vec<i64> = workload
            .predicates()
            .iter()
            .map(|predicate| match &predicate.filters[0].terms[0] {
                Term::Range(range) => match &range.low {
                    Bound::Included(Scalar::Int(day)) => *day,
                    _ => -1,
                },
                _ => -1,
            })
            .collect();
        assert_eq!(kept, vec![2, 3, 4]);
        assert_eq!(workload.recent(1).len(), 1);
        assert_eq!(
            workload.column_frequencies(),
            vec![("a".to_owned(), 2), ("b".to_owned(), 1)]
        );
        let decoded = Workload::decode(&workload.encode()).unwrap();
        assert_eq!(decoded, workload);
    }

    #[test]
    fn parts_written_since_the_last_put_the_log_back_together() {
        let day = |day: i64| {
            Predicate::all().and(ColumnFilter {
                column: "d".into(),
                terms: vec![Term::Range(Range::point(Scalar::Int(day)))],
            })
        };
        // Parts every 1 to 7 predicates, into logs of capacity 1 to 6: the parts, through
        // their bytes, rebuild the log as it stands after each write.
        for capacity in 1..=6 {
            for every in 1..=7 {
                let mut live = Workload::new(capacity);
                let mut rebuilt = Workload::new(capacity);
                let mut written = 0;
                for next in 0..23 {
                    live.record(day(next));
                    if next % every == 0 {
                        let part = live.since(written);
                        assert!(part.len() <= capacity);
                        assert_eq!(
                            part.len() as u64,
                            (live.recorded() - written).min(capacity as u64)
                        );
                        rebuilt.append(Workload::decode(&part.encode()).unwrap());
                        written = live.recorded();
                        assert_eq!(rebuilt, live, "capacity {capacity}, every {every}");
                    }
                }
            }
        }
        // Nothing new: an empty part that changes nothing.
        let mut live = Workload::new(2);
        live.record(day(1));
        let mut copy = live.clone();
        copy.append(live.since(live.recorded()));
        assert_eq!(copy, live);
        assert!(live.since(live.recorded()).is_empty());
    }

    #[test]
    fn huge_in_lists_are_coarsened_to_a_superset() {
        let terms: Vec<Term> = (0..5_000)
            .map(|value| Term::Range(Range::point(Scalar::Int(value * 3))))
            .chain([Term::IsNull])
            .collect();
        let predicate = Predicate::all().and(ColumnFilter {
            column: "k".into(),
            terms,
        });
        let mut workload = Workload::new(4);
        workload.record(predicate.clone());
        let kept = &workload.predicates()[0];
        assert!(encode_predicate(kept).len() < MAX_PREDICATE_BYTES);
        for value in [
            None,
            Some(Scalar::Int(0)),
            Some(Scalar::Int(300)),
            Some(Scalar::Int(14_997)),
        ] {
            if predicate.filters[0].matches(value.as_ref()) {
                assert!(kept.filters[0].matches(value.as_ref()), "{value:?}");
            }
        }
    }

    #[test]
    fn damaged_workloads_are_typed_errors() {
        let mut workload = Workload::new(8);
        workload.record(sample_predicate());
        let bytes = workload.encode();
        for cut in 0..bytes.len() {
            assert!(Workload::decode(&bytes[..cut]).is_err());
        }
        assert!(Workload::decode(b"TSWL\x01\x00\x00\x00\x00\x00").is_err());
    }
}
