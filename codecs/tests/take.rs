//! `Column::take` against the model: value `i` of the result is value `rows[i]` of the
//! column (null where it is null), for runs (the slice path) and arbitrary rows (the
//! gather path); a row past the end is an error.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proptest::prelude::*;
use tessera_codecs::{BytesColumn, Column, ColumnValues, LogicalType};

/// One column per physical kind, `len` values, with nulls where `nulls` says.
fn columns(seed: &[u8], nulls: &[bool]) -> Vec<Column> {
    let len = nulls.len();
    let byte = |row: usize| seed.get(row % seed.len().max(1)).copied().unwrap_or(7);
    let validity = Some(nulls.iter().map(|null| !null).collect::<Vec<bool>>());
    let strings: Vec<Vec<u8>> = (0..len)
        .map(|row| vec![b'a' + byte(row) % 26; usize::from(byte(row) % 5)])
        .collect();
    vec![
        Column::new(
            LogicalType::Int32,
            ColumnValues::Int((0..len).map(|row| i64::from(byte(row)) - 100).collect()),
            validity.clone(),
        )
        .unwrap(),
        Column::new(
            LogicalType::Float64,
            ColumnValues::Float((0..len).map(|row| f64::from(byte(row)) / 3.0).collect()),
            validity.clone(),
        )
        .unwrap(),
        Column::new(
            LogicalType::Decimal128 {
                precision: 12,
                scale: 2,
            },
            ColumnValues::Decimal((0..len).map(|row| i128::from(byte(row)) * 1_000).collect()),
            validity.clone(),
        )
        .unwrap(),
        Column::new(
            LogicalType::Boolean,
            ColumnValues::Bool((0..len).map(|row| byte(row) % 2 == 0).collect()),
            validity.clone(),
        )
        .unwrap(),
        Column::new(
            LogicalType::Utf8,
            ColumnValues::Bytes(
                BytesColumn::from_values(strings.iter().map(Vec::as_slice)).unwrap(),
            ),
            validity,
        )
        .unwrap(),
    ]
}

/// Value `row` as comparable bytes, `None` when null.
fn value(column: &Column, row: usize) -> Option<Vec<u8>> {
    if column.is_null(row) {
        return None;
    }
    Some(match column.values() {
        ColumnValues::Int(values) => values[row].to_le_bytes().to_vec(),
        ColumnValues::Float(values) => values[row].to_le_bytes().to_vec(),
        ColumnValues::Decimal(values) => values[row].to_le_bytes().to_vec(),
        ColumnValues::Bool(values) => vec![u8::from(values[row])],
        ColumnValues::Bytes(values) => values.get(row).unwrap().to_vec(),
    })
}

fn check(column: &Column, rows: &[u32]) {
    let taken = column.take(rows).unwrap();
    assert_eq!(taken.len(), rows.len());
    assert_eq!(taken.logical(), column.logical());
    for (index, &row) in rows.iter().enumerate() {
        assert_eq!(
            value(&taken, index),
            value(column, row as usize),
            "{:?}: row {row} at {index}",
            column.logical()
        );
    }
    // A column without nulls says so, as every other constructor makes it.
    assert_eq!(taken.validity().is_some(), taken.null_count() > 0);
}

proptest! {
    #[test]
    fn take_picks_the_rows(
        seed in prop::collection::vec(any::<u8>(), 1..64),
        nulls in prop::collection::vec(prop::bool::weighted(0.2), 1..200),
        picks in prop::collection::vec(any::<u32>(), 0..64),
        start in any::<u32>(),
        run in 0usize..64,
    ) {
        let len = nulls.len() as u32;
        for column in columns(&seed, &nulls) {
            let rows: Vec<u32> = picks.iter().map(|pick| pick % len).collect();
            check(&column, &rows);
            let first = start % len;
            let past = (first as usize + run).min(len as usize) as u32;
            let run: Vec<u32> = (first..past).collect();
            check(&column, &run);
            let mut past_end = run.clone();
            past_end.push(len);
            prop_assert!(column.take(&past_end).is_err());
        }
    }
}

#[test]
fn picked_rows_are_a_run_only_when_ascending_without_gaps() {
    use tessera_codecs::Picked;
    assert_eq!(Picked::check(&[3, 4, 5, 6], 10).unwrap(), Picked::Run(3..7));
    assert_eq!(Picked::check(&[], 0).unwrap(), Picked::Run(0..0));
    assert_eq!(Picked::check(&[9], 10).unwrap(), Picked::Run(9..10));
    for rows in [&[3, 5, 6][..], &[4, 3], &[3, 3], &[2, 4, 3, 5]] {
        assert_eq!(Picked::check(rows, 10).unwrap(), Picked::Rows(rows));
    }
    assert!(Picked::check(&[3, 10], 10).is_err());
    let picked = Picked::check(&[4, 1, 1], 5).unwrap();
    assert_eq!(
        picked.map(&[10, 11, 12, 13, 14], |value| value * 2),
        [28, 22, 22]
    );
    assert_eq!(
        Picked::Run(1..3).map(&[10, 11, 12], |value| value),
        [11, 12]
    );
}

#[test]
fn rows_listed_ascending_are_checked_by_their_last_and_gathered() {
    use tessera_codecs::Picked;
    let values: Vec<i64> = (0..16).map(|value| value * 5).collect();
    for rows in [&[][..], &[0], &[3, 4, 5, 6], &[1, 7, 15]] {
        let picked = Picked::ascending(rows, values.len()).unwrap();
        assert_eq!(picked, Picked::Rows(rows));
        let expected: Vec<i64> = rows.iter().map(|&row| values[row as usize]).collect();
        assert_eq!(picked.map(&values, |value| value), expected);
        assert_eq!(picked.len(), rows.len());
    }
    assert!(Picked::ascending(&[2, 16], 16).is_err());
    assert!(Picked::ascending(&[0], 0).is_err());
    // Rows out of order are the caller's error: no panic, and a row past the end that the
    // last does not reveal reads as a default value.
    let unordered = Picked::ascending(&[5, 20, 3], 16).unwrap();
    assert_eq!(unordered.map(&values, |value| value), [25, 0, 15]);
}

#[test]
fn ascending_rows_in_long_runs_are_copied_run_by_run() {
    use tessera_codecs::Picked;
    let rows: Vec<u32> = (10..30).chain(40..60).collect();
    let picked = Picked::check(&rows, 64).unwrap();
    assert_eq!(
        picked,
        Picked::Runs {
            rows: &rows,
            runs: vec![10..30, 40..60],
        }
    );
    let values: Vec<i64> = (0..64).map(|value| value * 3).collect();
    let expected: Vec<i64> = rows.iter().map(|&row| values[row as usize]).collect();
    assert_eq!(picked.map(&values, |value| value), expected);
    // A slice shorter than the column gives defaults past its end, as a gather would.
    let short = &values[..50];
    let expected: Vec<i64> = rows
        .iter()
        .map(|&row| short.get(row as usize).copied().unwrap_or_default())
        .collect();
    assert_eq!(picked.map(short, |value| value), expected);
    // Short runs are gathered.
    let scattered: Vec<u32> = (0..32).map(|row| row * 2).collect();
    assert_eq!(
        Picked::check(&scattered, 64).unwrap(),
        Picked::Rows(&scattered)
    );
}

#[test]
fn picked_ranges_copy_what_the_check_of_their_rows_copies() {
    use tessera_codecs::Picked;
    let values: Vec<i64> = (0..64).map(|value| value * 3 - 50).collect();
    let column = Column::new(LogicalType::Int64, ColumnValues::Int(values.clone()), None).unwrap();
    let cases: [&[std::ops::Range<usize>]; 6] = [
        &[],
        &[3..7, 7..7],
        &[3..7, 7..9],
        &[0..20, 30..50],
        &[0..1, 2..3, 4..5],
        &[5..5, 10..30, 30..30, 40..64],
    ];
    for ranges in cases {
        let rows: Vec<u32> = ranges
            .iter()
            .flat_map(|range| range.clone())
            .map(|row| row as u32)
            .collect();
        let picked = Picked::ranges(ranges.iter().cloned(), 64).unwrap();
        let checked = Picked::check(&rows, 64).unwrap();
        assert_eq!(picked.len(), rows.len(), "{ranges:?}");
        assert_eq!(
            picked.map(&values, |value| value),
            checked.map(&values, |value| value)
        );
        assert_eq!(
            column.take_picked(&picked).unwrap(),
            column.take_picked(&checked).unwrap(),
            "{ranges:?}"
        );
    }
    // A slice shorter than the ranges gives defaults past its end, as a gather does.
    let picked = Picked::ranges([0..2, 60..64], 64).unwrap();
    assert_eq!(
        picked.map(&values[..62], |value| value),
        [-50, -47, 130, 133, 0, 0]
    );
    // Overlapping, descending or past the end.
    assert!(Picked::ranges([0..6, 5..9], 64).is_err());
    assert!(Picked::ranges([6..10, 0..6], 64).is_err());
    assert!(Picked::ranges(std::iter::once(60..70), 64).is_err());
}
