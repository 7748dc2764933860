//! Aggregates computed while scanning: `COUNT`, `SUM`, `MIN`, `MAX` and `AVG`, optionally
//! grouped by columns, over the batches a scan hands out.
//!
//! The [`Aggregator`] works a batch at a time and a column at a time: group keys of a whole
//! batch are encoded at once into comparable byte rows (Arrow's row format) and mapped to
//! dense group ids through one hash map, and then every aggregate folds its input column
//! into per-group state in a typed loop over the column's native values. No row is
//! materialized as a [`Scalar`](tessera_layout::Scalar) or a tuple, so an aggregate costs one
//! pass over the columns it reads. Without `GROUP BY` there is no hashing at all.
//!
//! SQL semantics: nulls are ignored by every aggregate but `COUNT(*)`; `SUM` of integers is
//! `Int64` (an overflow is an error, never a wrapped value), of decimals `Decimal128(38, s)`
//! at the column's scale, of floats `Float64`; `AVG` is `Float64`; `MIN` and `MAX` keep the
//! column's type; `COUNT` is `Int64`. A group whose values are all null aggregates to null
//! (except `COUNT`, which is 0). Without `GROUP BY`, an empty input gives one row; with it,
//! none. A null group key forms its own group.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, ArrowPrimitiveType, AsArray, Decimal128Array, Float64Array, Int64Array,
    PrimitiveArray, RecordBatch, RecordBatchOptions, new_null_array,
};
use arrow::datatypes::{
    ArrowNativeTypeOp, DataType, Date32Type, Date64Type, Decimal128Type, Field, Float32Type,
    Float64Type, Int8Type, Int16Type, Int32Type, Int64Type, Schema, SchemaRef, TimeUnit,
    TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType,
    TimestampSecondType, UInt8Type, UInt16Type, UInt32Type, UInt64Type,
};
use arrow::error::ArrowError;
use arrow::row::{RowConverter, SortField};
use tessera_layout::Predicate;

use crate::error::{Error, Result};
use crate::table::{ScanExplain, ScanRequest, ScanStats, Table};

/// The most digits a `Decimal128` holds.
const DECIMAL128_DIGITS_MAX: u8 = 38;

/// An aggregate function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AggregateFunction {
    /// Rows (`COUNT(*)`) or non-null values (`COUNT(column)`).
    Count,
    /// Sum of the non-null values.
    Sum,
    /// Smallest non-null value.
    Min,
    /// Largest non-null value.
    Max,
    /// Mean of the non-null values, as `Float64`.
    Avg,
}

impl AggregateFunction {
    /// The SQL name, lowercase (`"sum"`), as used in result column names.
    pub fn name(self) -> &'static str {
        match self {
            Self::Count => "count",
            Self::Sum => "sum",
            Self::Min => "min",
            Self::Max => "max",
            Self::Avg => "avg",
        }
    }
}

/// One aggregate of a request.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Aggregate {
    /// The function.
    pub function: AggregateFunction,
    /// The column it reads; `None` only with [`AggregateFunction::Count`], for `COUNT(*)`.
    pub column: Option<String>,
}

impl Aggregate {
    /// `COUNT(*)`.
    pub fn count_rows() -> Self {
        Self {
            function: AggregateFunction::Count,
            column: None,
        }
    }

    /// `function(column)`.
    pub fn of(function: AggregateFunction, column: impl Into<String>) -> Self {
        Self {
            function,
            column: Some(column.into()),
        }
    }

    /// The result column's name: `count(*)`, `sum(l_quantity)`, ...
    pub fn output_name(&self) -> String {
        format!(
            "{}({})",
            self.function.name(),
            self.column.as_deref().unwrap_or("*")
        )
    }
}

/// What [`Table::aggregate`] computes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AggregateRequest {
    /// The rows aggregated; [`Predicate::all`] aggregates every row.
    pub predicate: Predicate,
    /// The grouping columns; empty aggregates all rows into one.
    pub group_by: Vec<String>,
    /// The aggregates, one result column each, in this order.
    pub aggregates: Vec<Aggregate>,
}

/// The result of an aggregation.
#[derive(Debug, Clone)]
pub struct AggregateResult {
    /// The group columns (in `group_by` order) followed by one column per aggregate, named by
    /// [`Aggregate::output_name`]; one row per group, groups in order of first appearance.
    pub batch: RecordBatch,
    /// What the scan under the aggregation did.
    pub stats: ScanStats,
    /// How that scan went (layout, cells and blocks visited, encodings read, phases).
    pub explain: ScanExplain,
}

impl Table {
    /// Computes aggregates over the rows matching the request's predicate, reading only the
    /// columns the grouping and the aggregates need, batch by batch as the scan produces them.
    pub fn aggregate(&self, request: AggregateRequest) -> Result<AggregateResult> {
        let _span = tracing::debug_span!(
            "aggregate",
            table = self.name(),
            groups = request.group_by.len(),
            aggregates = request.aggregates.len()
        )
        .entered();
        let schema = self.schema();
        let mut needed: Vec<String> = Vec::new();
        let columns = request
            .group_by
            .iter()
            .chain(request.aggregates.iter().filter_map(|a| a.column.as_ref()));
        for column in columns {
            if schema.field_with_name(column).is_err() {
                return Err(Error::UnknownColumn {
                    table: self.name().to_owned(),
                    column: column.clone(),
                });
            }
            if !needed.contains(column) {
                needed.push(column.clone());
            }
        }
        let projected = schema.project(
            &needed
                .iter()
                .filter_map(|name| schema.index_of(name).ok())
                .collect::<Vec<_>>(),
        )?;
        let mut aggregator = Aggregator::new(
            self.name(),
            &projected,
            &request.group_by,
            &request.aggregates,
        )?;
        let scan = ScanRequest {
            projection: Some(needed),
            predicate: request.predicate,
            limit: None,
        };
        let (_, stats, explain) = self.scan_into(scan, &mut |batch| aggregator.update(&batch))?;
        Ok(AggregateResult {
            batch: aggregator.finish()?,
            stats,
            explain,
        })
    }
}

/// Folds batches into grouped aggregates. Feed it batches of the schema it was built for with
/// [`Aggregator::update`], then take the result with [`Aggregator::finish`].
pub struct Aggregator {
    input: SchemaRef,
    group_indices: Vec<usize>,
    group_fields: Vec<Field>,
    /// Encodes group keys; `None` without `GROUP BY`.
    converter: Option<RowConverter>,
    /// Group key (Arrow row bytes) → group id, ids dense from 0 in order of first appearance.
    groups: HashMap<Box<[u8]>, u32>,
    group_count: usize,
    accumulators: Vec<(Field, Option<usize>, Box<dyn Accumulator>)>,
    /// Reused per batch: the group id of every row.
    group_ids: Vec<u32>,
}

impl std::fmt::Debug for Aggregator {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Aggregator")
            .field("group_fields", &self.group_fields)
            .field("groups", &self.group_count)
            .field(
                "aggregates",
                &self
                    .accumulators
                    .iter()
                    .map(|(field, _, _)| field.name())
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl Aggregator {
    /// An aggregator over batches of `input` (the columns of table `table`, named in errors).
    /// Fails with [`Error::UnknownColumn`] for a column `input` lacks, and with an Arrow
    /// invalid-argument error for an aggregate its column's type does not support (`SUM` or
    /// `AVG` of a non-numeric column, `COUNT` the only function without a column).
    pub fn new(
        table: &str,
        input: &Schema,
        group_by: &[String],
        aggregates: &[Aggregate],
    ) -> Result<Self> {
        let index_of = |column: &str| {
            input.index_of(column).map_err(|_| Error::UnknownColumn {
                table: table.to_owned(),
                column: column.to_owned(),
            })
        };
        let mut group_indices = Vec::with_capacity(group_by.len());
        let mut group_fields = Vec::with_capacity(group_by.len());
        for name in group_by {
            let index = index_of(name)?;
            group_indices.push(index);
            group_fields.push(input.field(index).clone());
        }
        let converter = if group_by.is_empty() {
            None
        } else {
            Some(RowConverter::new(
                group_fields
                    .iter()
                    .map(|field| SortField::new(field.data_type().clone()))
                    .collect(),
            )?)
        };
        let mut accumulators = Vec::with_capacity(aggregates.len());
        for aggregate in aggregates {
            let name = aggregate.output_name();
            let (index, accumulator) = match &aggregate.column {
                None if aggregate.function == AggregateFunction::Count => {
                    (None, Box::new(Count::default()) as Box<dyn Accumulator>)
                }
                None => {
                    return Err(invalid(format!(
                        "{}(*) is not an aggregate: only COUNT takes *",
                        aggregate.function.name().to_uppercase()
                    )));
                }
                Some(column) => {
                    let index = index_of(column)?;
                    let data_type = input.field(index).data_type();
                    (Some(index), accumulator(aggregate, column, data_type)?)
                }
            };
            let field = Field::new(
                name,
                accumulator.data_type(),
                aggregate.function != AggregateFunction::Count,
            );
            accumulators.push((field, index, accumulator));
        }
        Ok(Self {
            input: Arc::new(input.clone()),
            group_indices,
            group_fields,
            converter,
            groups: HashMap::new(),
            group_count: 0,
            accumulators,
            group_ids: Vec::new(),
        })
    }

    /// The schema of the result: group columns, then one column per aggregate.
    pub fn output_schema(&self) -> SchemaRef {
        let fields: Vec<Field> = self
            .group_fields
            .iter()
            .cloned()
            .chain(self.accumulators.iter().map(|(field, _, _)| field.clone()))
            .collect();
        Arc::new(Schema::new(fields))
    }

    /// Folds one batch in. Its columns must be those of the input schema, in that order.
    pub fn update(&mut self, batch: &RecordBatch) -> Result<()> {
        if batch.num_columns() != self.input.fields().len() {
            return Err(invalid(format!(
                "the aggregator expects batches of {} columns, got {}",
                self.input.fields().len(),
                batch.num_columns()
            )));
        }
        let rows = batch.num_rows();
        let groups = match &self.converter {
            None => {
                self.group_count = 1;
                Groups::Single
            }
            Some(converter) => {
                let keys: Vec<ArrayRef> = self
                    .group_indices
                    .iter()
                    .map(|&index| Arc::clone(batch.column(index)))
                    .collect();
                let encoded = converter.convert_columns(&keys)?;
                self.group_ids.clear();
                self.group_ids.reserve(rows);
                for row in encoded.iter() {
                    let id = match self.groups.get(row.as_ref()) {
                        Some(&id) => id,
                        None => {
                            let id = u32::try_from(self.group_count)
                                .map_err(|_| invalid("more than 2^32 groups".to_owned()))?;
                            self.groups.insert(row.as_ref().into(), id);
                            self.group_count += 1;
                            id
                        }
                    };
                    self.group_ids.push(id);
                }
                Groups::Ids(&self.group_ids)
            }
        };
        for (_, index, accumulator) in &mut self.accumulators {
            let column = index.map(|index| batch.column(index).as_ref());
            accumulator.update(column, rows, groups, self.group_count)?;
        }
        Ok(())
    }

    /// The result: one row per group (one row in all without `GROUP BY`).
    pub fn finish(self) -> Result<RecordBatch> {
        let schema = self.output_schema();
        let group_count = if self.converter.is_none() {
            1
        } else {
            self.group_count
        };
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(schema.fields().len());
        if let Some(converter) = &self.converter {
            let mut keys: Vec<(u32, Box<[u8]>)> =
                self.groups.into_iter().map(|(key, id)| (id, key)).collect();
            keys.sort_unstable_by_key(|(id, _)| *id);
            let parser = converter.parser();
            columns.extend(converter.convert_rows(keys.iter().map(|(_, key)| parser.parse(key)))?);
        }
        for (_, _, accumulator) in self.accumulators {
            columns.push(accumulator.finish(group_count)?);
        }
        let options = RecordBatchOptions::new().with_row_count(Some(group_count));
        Ok(RecordBatch::try_new_with_options(
            schema, columns, &options,
        )?)
    }
}

fn invalid(message: String) -> Error {
    Error::Arrow(ArrowError::InvalidArgumentError(message))
}

fn overflow(message: String) -> Error {
    Error::Arrow(ArrowError::ArithmeticOverflow(message))
}

/// Which group each row of a batch belongs to.
#[derive(Clone, Copy)]
enum Groups<'a> {
    /// Every row is in group 0.
    Single,
    /// Row `i` is in group `ids[i]`.
    Ids(&'a [u32]),
}

/// Per-group state of one aggregate.
trait Accumulator: Send {
    /// The result's Arrow type.
    fn data_type(&self) -> DataType;
    /// Folds `column` (`None` for `COUNT(*)`) of a batch of `rows` rows in; `group_count`
    /// groups exist so far.
    fn update(
        &mut self,
        column: Option<&dyn Array>,
        rows: usize,
        groups: Groups<'_>,
        group_count: usize,
    ) -> Result<()>;
    /// One value per group.
    fn finish(self: Box<Self>, group_count: usize) -> Result<ArrayRef>;
}

/// Calls `visit(row, value)` for every non-null value of `array`.
#[inline]
fn for_each_valid<T: ArrowPrimitiveType>(
    array: &PrimitiveArray<T>,
    mut visit: impl FnMut(usize, T::Native),
) {
    let values = array.values();
    match array.nulls().filter(|nulls| nulls.null_count() > 0) {
        None => {
            for (row, &value) in values.iter().enumerate() {
                visit(row, value);
            }
        }
        Some(nulls) => {
            for row in nulls.valid_indices() {
                if let Some(&value) = values.get(row) {
                    visit(row, value);
                }
            }
        }
    }
}

#[inline]
fn group_of(groups: Groups<'_>, row: usize) -> usize {
    match groups {
        Groups::Single => 0,
        Groups::Ids(ids) => ids.get(row).map_or(0, |&id| id as usize),
    }
}

#[derive(Default)]
struct Count {
    counts: Vec<i64>,
}

impl Accumulator for Count {
    fn data_type(&self) -> DataType {
        DataType::Int64
    }

    fn update(
        &mut self,
        column: Option<&dyn Array>,
        rows: usize,
        groups: Groups<'_>,
        group_count: usize,
    ) -> Result<()> {
        self.counts.resize(group_count.max(self.counts.len()), 0);
        let nulls = column.and_then(|column| column.logical_nulls());
        let nulls = nulls.as_ref().filter(|nulls| nulls.null_count() > 0);
        match (groups, nulls) {
            (Groups::Single, None) => {
                if let Some(count) = self.counts.first_mut() {
                    *count += rows as i64;
                }
            }
            (Groups::Single, Some(nulls)) => {
                if let Some(count) = self.counts.first_mut() {
                    *count += (rows - nulls.null_count()) as i64;
                }
            }
            (Groups::Ids(ids), None) => {
                for &id in ids {
                    if let Some(count) = self.counts.get_mut(id as usize) {
                        *count += 1;
                    }
                }
            }
            (Groups::Ids(ids), Some(nulls)) => {
                for row in nulls.valid_indices() {
                    if let Some(count) = ids
                        .get(row)
                        .and_then(|&id| self.counts.get_mut(id as usize))
                    {
                        *count += 1;
                    }
                }
            }
        }
        Ok(())
    }

    fn finish(mut self: Box<Self>, group_count: usize) -> Result<ArrayRef> {
        self.counts.resize(group_count, 0);
        Ok(Arc::new(Int64Array::from(self.counts)))
    }
}

/// How a sum's inputs are added up and what it returns.
#[derive(Clone, Copy, PartialEq)]
enum SumKind {
    /// Integers, summed exactly in `i128` (no per-value overflow check is needed: 2^64
    /// values of 64 bits cannot reach 2^127); the result must fit `Int64`.
    Integer,
    /// Decimals at `scale`, summed in `i128` with a checked add.
    Decimal { scale: i8 },
    /// Floats, summed in `f64`.
    Float,
}

/// `SUM` and `AVG`.
struct Sum {
    kind: SumKind,
    average: bool,
    column: String,
    exact: Vec<i128>,
    float: Vec<f64>,
    counts: Vec<u64>,
}

impl Sum {
    fn add_exact<T: ArrowPrimitiveType>(
        &mut self,
        array: &dyn Array,
        groups: Groups<'_>,
        checked: bool,
    ) -> Result<()>
    where
        T::Native: Into<i128>,
    {
        let Some(array) = array.as_primitive_opt::<T>() else {
            return Err(invalid(format!(
                "column {:?} is not of the type it was declared with",
                self.column
            )));
        };
        let mut overflowed = false;
        let exact = &mut self.exact;
        let counts = &mut self.counts;
        for_each_valid(array, |row, value| {
            let group = group_of(groups, row);
            if let (Some(sum), Some(count)) = (exact.get_mut(group), counts.get_mut(group)) {
                let value: i128 = value.into();
                if checked {
                    match sum.checked_add(value) {
                        Some(total) => *sum = total,
                        None => overflowed = true,
                    }
                } else {
                    *sum += value;
                }
                *count += 1;
            }
        });
        if overflowed {
            return Err(overflow(format!(
                "the sum of column {:?} overflows 128 bits",
                self.column
            )));
        }
        Ok(())
    }

    fn add_float<T: ArrowPrimitiveType>(&mut self, array: &dyn Array, groups: Groups<'_>)
    where
        T::Native: Into<f64>,
    {
        let Some(array) = array.as_primitive_opt::<T>() else {
            return;
        };
        let float = &mut self.float;
        let counts = &mut self.counts;
        for_each_valid(array, |row, value| {
            let group = group_of(groups, row);
            if let (Some(sum), Some(count)) = (float.get_mut(group), counts.get_mut(group)) {
                *sum += value.into();
                *count += 1;
            }
        });
    }
}

impl Accumulator for Sum {
    fn data_type(&self) -> DataType {
        match (self.average, self.kind) {
            (true, _) | (false, SumKind::Float) => DataType::Float64,
            (false, SumKind::Integer) => DataType::Int64,
            (false, SumKind::Decimal { scale }) => {
                DataType::Decimal128(DECIMAL128_DIGITS_MAX, scale)
            }
        }
    }

    fn update(
        &mut self,
        column: Option<&dyn Array>,
        _rows: usize,
        groups: Groups<'_>,
        group_count: usize,
    ) -> Result<()> {
        let Some(column) = column else {
            return Ok(());
        };
        self.counts.resize(group_count.max(self.counts.len()), 0);
        if self.kind == SumKind::Float {
            self.float.resize(self.counts.len(), 0.0);
        } else {
            self.exact.resize(self.counts.len(), 0);
        }
        match column.data_type() {
            DataType::Int8 => self.add_exact::<Int8Type>(column, groups, false),
            DataType::Int16 => self.add_exact::<Int16Type>(column, groups, false),
            DataType::Int32 => self.add_exact::<Int32Type>(column, groups, false),
            DataType::Int64 => self.add_exact::<Int64Type>(column, groups, false),
            DataType::UInt8 => self.add_exact::<UInt8Type>(column, groups, false),
            DataType::UInt16 => self.add_exact::<UInt16Type>(column, groups, false),
            DataType::UInt32 => self.add_exact::<UInt32Type>(column, groups, false),
            DataType::UInt64 => self.add_exact::<UInt64Type>(column, groups, false),
            DataType::Decimal128(_, _) => self.add_exact::<Decimal128Type>(column, groups, true),
            DataType::Float32 => {
                self.add_float::<Float32Type>(column, groups);
                Ok(())
            }
            DataType::Float64 => {
                self.add_float::<Float64Type>(column, groups);
                Ok(())
            }
            other => Err(invalid(format!(
                "column {:?} of type {other} cannot be summed",
                self.column
            ))),
        }
    }

    fn finish(mut self: Box<Self>, group_count: usize) -> Result<ArrayRef> {
        self.counts.resize(group_count, 0);
        self.exact.resize(group_count, 0);
        self.float.resize(group_count, 0.0);
        let counts = &self.counts;
        let present = |group: usize| counts.get(group).is_some_and(|&count| count > 0);
        if self.average {
            let divisor = match self.kind {
                SumKind::Decimal { scale } => 10f64.powi(i32::from(scale)),
                SumKind::Integer | SumKind::Float => 1.0,
            };
            let averages: Float64Array = (0..group_count)
                .map(|group| {
                    let count = *counts.get(group)? as f64;
                    let sum = match self.kind {
                        SumKind::Float => *self.float.get(group)?,
                        SumKind::Integer | SumKind::Decimal { .. } => {
                            *self.exact.get(group)? as f64 / divisor
                        }
                    };
                    present(group).then_some(sum / count)
                })
                .collect();
            return Ok(Arc::new(averages));
        }
        match self.kind {
            SumKind::Float => Ok(Arc::new(
                (0..group_count)
                    .map(|group| {
                        if present(group) {
                            self.float.get(group).copied()
                        } else {
                            None
                        }
                    })
                    .collect::<Float64Array>(),
            )),
            SumKind::Integer => {
                let mut sums = Vec::with_capacity(group_count);
                for (group, &sum) in self.exact.iter().enumerate() {
                    if !present(group) {
                        sums.push(None);
                        continue;
                    }
                    let sum = i64::try_from(sum).map_err(|_| {
                        overflow(format!(
                            "the sum of column {:?} is {sum}, beyond the Int64 range",
                            self.column
                        ))
                    })?;
                    sums.push(Some(sum));
                }
                Ok(Arc::new(Int64Array::from(sums)))
            }
            SumKind::Decimal { scale } => {
                let limit = 10i128.pow(u32::from(DECIMAL128_DIGITS_MAX));
                let mut sums = Vec::with_capacity(group_count);
                for (group, &sum) in self.exact.iter().enumerate() {
                    if !present(group) {
                        sums.push(None);
                        continue;
                    }
                    if sum.unsigned_abs() >= limit.unsigned_abs() {
                        return Err(overflow(format!(
                            "the sum of column {:?} has more than {DECIMAL128_DIGITS_MAX} digits",
                            self.column
                        )));
                    }
                    sums.push(Some(sum));
                }
                Ok(Arc::new(
                    Decimal128Array::from(sums)
                        .with_precision_and_scale(DECIMAL128_DIGITS_MAX, scale)?,
                ))
            }
        }
    }
}

/// `MIN` and `MAX` of a primitive column, in the native type (total order for floats: NaN
/// above every number).
struct PrimitiveExtreme<T: ArrowPrimitiveType> {
    max: bool,
    data_type: DataType,
    best: Vec<Option<T::Native>>,
}

impl<T: ArrowPrimitiveType> Accumulator for PrimitiveExtreme<T> {
    fn data_type(&self) -> DataType {
        self.data_type.clone()
    }

    fn update(
        &mut self,
        column: Option<&dyn Array>,
        _rows: usize,
        groups: Groups<'_>,
        group_count: usize,
    ) -> Result<()> {
        let Some(array) = column.and_then(|column| column.as_primitive_opt::<T>()) else {
            return Err(invalid(format!(
                "MIN/MAX expected a column of type {}",
                self.data_type
            )));
        };
        self.best.resize(group_count.max(self.best.len()), None);
        let max = self.max;
        let best = &mut self.best;
        for_each_valid(array, |row, value| {
            if let Some(slot) = best.get_mut(group_of(groups, row)) {
                let better = match slot {
                    None => true,
                    Some(current) if max => value.is_gt(*current),
                    Some(current) => value.is_lt(*current),
                };
                if better {
                    *slot = Some(value);
                }
            }
        });
        Ok(())
    }

    fn finish(mut self: Box<Self>, group_count: usize) -> Result<ArrayRef> {
        self.best.resize(group_count, None);
        let array = PrimitiveArray::<T>::from_iter(self.best).with_data_type(self.data_type);
        Ok(Arc::new(array))
    }
}

/// `MIN` and `MAX` of any other column (strings, binary, booleans), compared in Arrow's
/// order-preserving row encoding, so one implementation serves every type.
struct RowExtreme {
    max: bool,
    data_type: DataType,
    converter: RowConverter,
    best: Vec<Option<Box<[u8]>>>,
}

impl Accumulator for RowExtreme {
    fn data_type(&self) -> DataType {
        self.data_type.clone()
    }

    fn update(
        &mut self,
        column: Option<&dyn Array>,
        _rows: usize,
        groups: Groups<'_>,
        group_count: usize,
    ) -> Result<()> {
        let Some(column) = column else {
            return Ok(());
        };
        self.best.resize(group_count.max(self.best.len()), None);
        let array = arrow::array::make_array(column.to_data());
        let rows = self.converter.convert_columns(&[Arc::clone(&array)])?;
        let nulls = array.logical_nulls();
        for (row, encoded) in rows.iter().enumerate() {
            if nulls.as_ref().is_some_and(|nulls| nulls.is_null(row)) {
                continue;
            }
            let Some(slot) = self.best.get_mut(group_of(groups, row)) else {
                continue;
            };
            let better = match slot {
                None => true,
                Some(current) if self.max => encoded.as_ref() > current.as_ref(),
                Some(current) => encoded.as_ref() < current.as_ref(),
            };
            if better {
                *slot = Some(encoded.as_ref().into());
            }
        }
        Ok(())
    }

    fn finish(mut self: Box<Self>, group_count: usize) -> Result<ArrayRef> {
        self.best.resize(group_count, None);
        let null = self
            .converter
            .convert_columns(&[new_null_array(&self.data_type, 1)])?;
        let null_row = null.row(0);
        let parser = self.converter.parser();
        let rows = self.best.iter().map(|best| match best {
            Some(bytes) => parser.parse(bytes),
            None => null_row,
        });
        let mut columns = self.converter.convert_rows(rows)?;
        columns
            .pop()
            .ok_or_else(|| invalid("the row converter returned no column".to_owned()))
    }
}

/// The accumulator for `aggregate` over `column` of type `data_type`.
fn accumulator(
    aggregate: &Aggregate,
    column: &str,
    data_type: &DataType,
) -> Result<Box<dyn Accumulator>> {
    match aggregate.function {
        AggregateFunction::Count => Ok(Box::new(Count::default())),
        AggregateFunction::Sum | AggregateFunction::Avg => {
            let kind = match data_type {
                DataType::Int8
                | DataType::Int16
                | DataType::Int32
                | DataType::Int64
                | DataType::UInt8
                | DataType::UInt16
                | DataType::UInt32
                | DataType::UInt64 => SumKind::Integer,
                DataType::Decimal128(_, scale) => SumKind::Decimal { scale: *scale },
                DataType::Float32 | DataType::Float64 => SumKind::Float,
                other => {
                    return Err(invalid(format!(
                        "{} of column {column:?}: its type {other} is not numeric",
                        aggregate.function.name().to_uppercase()
                    )));
                }
            };
            Ok(Box::new(Sum {
                kind,
                average: aggregate.function == AggregateFunction::Avg,
                column: column.to_owned(),
                exact: Vec::new(),
                float: Vec::new(),
                counts: Vec::new(),
            }))
        }
        AggregateFunction::Min | AggregateFunction::Max => {
            extreme(aggregate.function == AggregateFunction::Max, data_type)
        }
    }
}

fn extreme(max: bool, data_type: &DataType) -> Result<Box<dyn Accumulator>> {
    fn primitive<T: ArrowPrimitiveType>(max: bool, data_type: &DataType) -> Box<dyn Accumulator> {
        Box::new(PrimitiveExtreme::<T> {
            max,
            data_type: data_type.clone(),
            best: Vec::new(),
        })
    }
    Ok(match data_type {
        DataType::Int8 => primitive::<Int8Type>(max, data_type),
        DataType::Int16 => primitive::<Int16Type>(max, data_type),
        DataType::Int32 => primitive::<Int32Type>(max, data_type),
        DataType::Int64 => primitive::<Int64Type>(max, data_type),
        DataType::UInt8 => primitive::<UInt8Type>(max, data_type),
        DataType::UInt16 => primitive::<UInt16Type>(max, data_type),
        DataType::UInt32 => primitive::<UInt32Type>(max, data_type),
        DataType::UInt64 => primitive::<UInt64Type>(max, data_type),
        DataType::Float32 => primitive::<Float32Type>(max, data_type),
        DataType::Float64 => primitive::<Float64Type>(max, data_type),
        DataType::Decimal128(_, _) => primitive::<Decimal128Type>(max, data_type),
        DataType::Date32 => primitive::<Date32Type>(max, data_type),
        DataType::Date64 => primitive::<Date64Type>(max, data_type),
        DataType::Timestamp(TimeUnit::Second, _) => {
            primitive::<TimestampSecondType>(max, data_type)
        }
        DataType::Timestamp(TimeUnit::Millisecond, _) => {
            primitive::<TimestampMillisecondType>(max, data_type)
        }
        DataType::Timestamp(TimeUnit::Microsecond, _) => {
            primitive::<TimestampMicrosecondType>(max, data_type)
        }
        DataType::Timestamp(TimeUnit::Nanosecond, _) => {
            primitive::<TimestampNanosecondType>(max, data_type)
        }
        other => Box::new(RowExtreme {
            max,
            data_type: other.clone(),
            converter: RowConverter::new(vec![SortField::new(other.clone())])?,
            best: Vec::new(),
        }),
    })
}

#[cfg(test)]
mod tests {
    //! Differential tests against a naive model: plain rows grouped in a list and folded value
    //! by value.

    use arrow::array::{
        BooleanArray, Date32Array, Decimal128Array, Float64Array, Int32Array, Int64Array,
        StringArray,
    };

    use super::*;
    use crate::{Db, Options, Scalar, TableOptions};

    /// One test row; `id` is unique (the primary key in table tests).
    #[derive(Debug, Clone)]
    struct Row {
        id: i64,
        group: Option<i32>,
        x: Option<i64>,
        price: Option<i128>,
        f: Option<f64>,
        s: Option<String>,
        day: Option<i32>,
        flag: Option<bool>,
    }

    /// A cell of a result, comparable (floats by a rounded value: sums in another order may
    /// differ in the last bits).
    #[derive(Debug, Clone, PartialEq, PartialOrd)]
    enum Cell {
        Null,
        Int(i128),
        Float(f64),
        Text(String),
        Bool(bool),
    }

    const COLUMNS: [&str; 8] = ["id", "group", "x", "price", "f", "s", "day", "flag"];

    fn schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("group", DataType::Int32, true),
            Field::new("x", DataType::Int64, true),
            Field::new("price", DataType::Decimal128(15, 2), true),
            Field::new("f", DataType::Float64, true),
            Field::new("s", DataType::Utf8, true),
            Field::new("day", DataType::Date32, true),
            Field::new("flag", DataType::Boolean, true),
        ]))
    }

    fn batch(rows: &[Row]) -> RecordBatch {
        let columns: Vec<ArrayRef> = vec![
            Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.id))),
            Arc::new(Int32Array::from_iter(rows.iter().map(|r| r.group))),
            Arc::new(Int64Array::from_iter(rows.iter().map(|r| r.x))),
            Arc::new(
                Decimal128Array::from_iter(rows.iter().map(|r| r.price))
                    .with_precision_and_scale(15, 2)
                    .expect("valid precision"),
            ),
            Arc::new(Float64Array::from_iter(rows.iter().map(|r| r.f))),
            Arc::new(StringArray::from_iter(rows.iter().map(|r| r.s.clone()))),
            Arc::new(Date32Array::from_iter(rows.iter().map(|r| r.day))),
            Arc::new(BooleanArray::from_iter(rows.iter().map(|r| r.flag))),
        ];
        RecordBatch::try_new(schema(), columns).expect("valid batch")
    }

    struct Random(u64);

    impl Random {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
        fn maybe<T>(&mut self, value: T) -> Option<T> {
            (self.below(5) != 0).then_some(value)
        }
    }

    fn rows(random: &mut Random, count: usize) -> Vec<Row> {
        (0..count)
            .map(|id| {
                let x = random.below(2_000) as i64 - 1_000;
                let price = random.below(1_000_000) as i128 - 10_000;
                let f = (random.below(10_000) as f64) / 8.0 - 100.0;
                let s = ["apple", "kiwi", "fig", "", "banana"][random.below(5) as usize];
                let group = random.below(4) as i32;
                let day = 9_000 + random.below(400) as i32;
                let flag = random.below(2) == 0;
                Row {
                    id: id as i64,
                    group: random.maybe(group),
                    x: random.maybe(x),
                    price: random.maybe(price),
                    f: random.maybe(f),
                    s: random.maybe(s.to_owned()),
                    day: random.maybe(day),
                    flag: random.maybe(flag),
                }
            })
            .collect()
    }

    fn value(row: &Row, column: &str) -> Cell {
        let cell = match column {
            "id" => Some(Cell::Int(i128::from(row.id))),
            "group" => row.group.map(|v| Cell::Int(i128::from(v))),
            "x" => row.x.map(|v| Cell::Int(i128::from(v))),
            "price" => row.price.map(Cell::Int),
            "f" => row.f.map(Cell::Float),
            "s" => row.s.clone().map(Cell::Text),
            "day" => row.day.map(|v| Cell::Int(i128::from(v))),
            "flag" => row.flag.map(Cell::Bool),
            _ => None,
        };
        cell.unwrap_or(Cell::Null)
    }

    fn as_float(cell: &Cell, column: &str) -> f64 {
        match cell {
            Cell::Int(v) if column == "price" => *v as f64 / 100.0,
            Cell::Int(v) => *v as f64,
            Cell::Float(v) => *v,
            _ => f64::NAN,
        }
    }

    /// The naive model: group rows in a `BTreeMap`, fold each aggregate over plain values.
    fn model(rows: &[Row], group_by: &[&str], aggregates: &[Aggregate]) -> Vec<Vec<Cell>> {
        let mut groups: Vec<(Vec<Cell>, Vec<&Row>)> = Vec::new();
        for row in rows {
            let key: Vec<Cell> = group_by.iter().map(|c| value(row, c)).collect();
            match groups.iter_mut().find(|(k, _)| *k == key) {
                Some((_, members)) => members.push(row),
                None => groups.push((key, vec![row])),
            }
        }
        if group_by.is_empty() && groups.is_empty() {
            groups.push((Vec::new(), Vec::new()));
        }
        let mut result = Vec::new();
        for (key, members) in groups {
            let mut out = key;
            for aggregate in aggregates {
                let column = aggregate.column.as_deref().unwrap_or("");
                let values: Vec<Cell> = members
                    .iter()
                    .map(|r| value(r, column))
                    .filter(|c| *c != Cell::Null)
                    .collect();
                let cell = match aggregate.function {
                    AggregateFunction::Count if aggregate.column.is_none() => {
                        Cell::Int(members.len() as i128)
                    }
                    AggregateFunction::Count => Cell::Int(values.len() as i128),
                    _ if values.is_empty() => Cell::Null,
                    AggregateFunction::Sum => match values.first() {
                        Some(Cell::Float(_)) => {
                            Cell::Float(values.iter().map(|c| as_float(c, "")).sum())
                        }
                        _ => Cell::Int(
                            values
                                .iter()
                                .map(|c| match c {
                                    Cell::Int(v) => *v,
                                    _ => 0,
                                })
                                .sum(),
                        ),
                    },
                    AggregateFunction::Avg => Cell::Float(
                        values.iter().map(|c| as_float(c, column)).sum::<f64>()
                            / values.len() as f64,
                    ),
                    AggregateFunction::Min | AggregateFunction::Max => {
                        let mut best = values.first().cloned().unwrap_or(Cell::Null);
                        for v in &values {
                            let better = if aggregate.function == AggregateFunction::Max {
                                v > &best
                            } else {
                                v < &best
                            };
                            if better {
                                best = v.clone();
                            }
                        }
                        best
                    }
                };
                out.push(cell);
            }
            result.push(out);
        }
        normalize(result)
    }

    fn normalize(mut rows: Vec<Vec<Cell>>) -> Vec<Vec<Cell>> {
        for row in &mut rows {
            for cell in row.iter_mut() {
                if let Cell::Float(v) = cell {
                    *v = (*v * 1e6).round() / 1e6;
                }
            }
        }
        rows.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
        rows
    }

    fn cells(batch: &RecordBatch) -> Vec<Vec<Cell>> {
        let mut rows = vec![Vec::new(); batch.num_rows()];
        for column in batch.columns() {
            for (index, row) in rows.iter_mut().enumerate() {
                let cell = if column.is_null(index) {
                    Cell::Null
                } else {
                    match column.data_type() {
                        DataType::Int32 => {
                            Cell::Int(column.as_primitive::<Int32Type>().value(index).into())
                        }
                        DataType::Int64 => {
                            Cell::Int(column.as_primitive::<Int64Type>().value(index).into())
                        }
                        DataType::Date32 => {
                            Cell::Int(column.as_primitive::<Date32Type>().value(index).into())
                        }
                        DataType::Decimal128(_, _) => {
                            Cell::Int(column.as_primitive::<Decimal128Type>().value(index))
                        }
                        DataType::Float64 => {
                            Cell::Float(column.as_primitive::<Float64Type>().value(index))
                        }
                        DataType::Utf8 => {
                            Cell::Text(column.as_string::<i32>().value(index).to_owned())
                        }
                        DataType::Boolean => Cell::Bool(column.as_boolean().value(index)),
                        other => panic!("unexpected result type {other}"),
                    }
                };
                row.push(cell);
            }
        }
        normalize(rows)
    }

    fn every_aggregate() -> Vec<Aggregate> {
        let mut aggregates = vec![Aggregate::count_rows()];
        for column in ["x", "price", "f"] {
            for function in [
                AggregateFunction::Count,
                AggregateFunction::Sum,
                AggregateFunction::Min,
                AggregateFunction::Max,
                AggregateFunction::Avg,
            ] {
                aggregates.push(Aggregate::of(function, column));
            }
        }
        for column in ["s", "day", "flag", "group"] {
            for function in [
                AggregateFunction::Min,
                AggregateFunction::Max,
                AggregateFunction::Count,
            ] {
                aggregates.push(Aggregate::of(function, column));
            }
        }
        aggregates
    }

    fn run(
        rows: &[Row],
        chunk: usize,
        group_by: &[&str],
        aggregates: &[Aggregate],
    ) -> Result<RecordBatch> {
        let group_by: Vec<String> = group_by.iter().map(|c| (*c).to_owned()).collect();
        let mut aggregator = Aggregator::new("t", &schema(), &group_by, aggregates)?;
        for part in rows.chunks(chunk.max(1)) {
            aggregator.update(&batch(part))?;
        }
        aggregator.finish()
    }

    #[test]
    fn matches_the_naive_model_over_random_data_and_groupings() {
        let groupings: [&[&str]; 5] = [&[], &["group"], &["s"], &["group", "s"], &["flag", "day"]];
        let aggregates = every_aggregate();
        for seed in 0..12 {
            let mut random = Random(seed);
            let count = [0, 1, 7, 300, 2_000][seed as usize % 5];
            let data = rows(&mut random, count);
            let chunk = 1 + random.below(500) as usize;
            for group_by in groupings {
                let result = run(&data, chunk, group_by, &aggregates).expect("aggregates");
                assert_eq!(
                    cells(&result),
                    model(&data, group_by, &aggregates),
                    "seed {seed}, {count} rows in chunks of {chunk}, group by {group_by:?}"
                );
            }
        }
    }

    #[test]
    fn result_types_and_names_follow_sql() {
        let aggregates = vec![
            Aggregate::count_rows(),
            Aggregate::of(AggregateFunction::Sum, "x"),
            Aggregate::of(AggregateFunction::Sum, "price"),
            Aggregate::of(AggregateFunction::Avg, "price"),
            Aggregate::of(AggregateFunction::Max, "day"),
        ];
        let result = run(&[], 10, &[], &aggregates).expect("aggregates");
        let fields: Vec<(String, DataType)> = result
            .schema()
            .fields()
            .iter()
            .map(|f| (f.name().clone(), f.data_type().clone()))
            .collect();
        assert_eq!(
            fields,
            vec![
                ("count(*)".to_owned(), DataType::Int64),
                ("sum(x)".to_owned(), DataType::Int64),
                ("sum(price)".to_owned(), DataType::Decimal128(38, 2)),
                ("avg(price)".to_owned(), DataType::Float64),
                ("max(day)".to_owned(), DataType::Date32),
            ]
        );
        // No rows and no GROUP BY: one row, COUNT 0, the others null.
        assert_eq!(result.num_rows(), 1);
        assert_eq!(
            cells(&result),
            vec![vec![
                Cell::Int(0),
                Cell::Null,
                Cell::Null,
                Cell::Null,
                Cell::Null
            ]]
        );
        let grouped = run(&[], 10, &["group"], &aggregates).expect("aggregates");
        assert_eq!(grouped.num_rows(), 0, "no rows and GROUP BY: no groups");
    }

    #[test]
    fn an_int64_sum_that_overflows_is_an_error() {
        let mut random = Random(3);
        let mut data = rows(&mut random, 3);
        for row in &mut data {
            row.x = Some(i64::MAX / 2 + 1);
        }
        let error = run(&data, 2, &[], &[Aggregate::of(AggregateFunction::Sum, "x")])
            .expect_err("the sum exceeds Int64");
        assert!(
            error.to_string().contains("beyond the Int64 range"),
            "{error}"
        );
        // The average of the same values is fine: it is computed in 128 bits.
        let average = run(&data, 2, &[], &[Aggregate::of(AggregateFunction::Avg, "x")])
            .expect("the average fits");
        assert_eq!(
            cells(&average),
            vec![vec![Cell::Float(
                ((i64::MAX / 2 + 1) as f64 * 1e6).round() / 1e6
            )]]
        );
    }

    #[test]
    fn bad_requests_are_typed_errors() {
        let error = run(&[], 1, &[], &[Aggregate::of(AggregateFunction::Sum, "s")])
            .expect_err("strings do not sum");
        assert!(
            matches!(error, Error::Arrow(ArrowError::InvalidArgumentError(_))),
            "{error}"
        );
        assert!(error.to_string().contains("not numeric"), "{error}");
        let error = run(&[], 1, &[], &[Aggregate::of(AggregateFunction::Avg, "day")])
            .expect_err("dates do not average");
        assert!(error.to_string().contains("not numeric"), "{error}");
        let error = run(&[], 1, &["nope"], &[Aggregate::count_rows()]).expect_err("unknown");
        assert!(
            matches!(&error, Error::UnknownColumn { column, .. } if column == "nope"),
            "{error}"
        );
        let error = run(
            &[],
            1,
            &[],
            &[Aggregate::of(AggregateFunction::Max, "nope")],
        )
        .expect_err("unknown");
        assert!(matches!(error, Error::UnknownColumn { .. }), "{error}");
        let star_sum = Aggregate {
            function: AggregateFunction::Sum,
            column: None,
        };
        assert!(run(&[], 1, &[], &[star_sum]).is_err(), "SUM(*) is not SQL");
    }

    #[test]
    fn table_aggregate_filters_in_the_scan_and_reads_only_needed_columns() {
        let directory = tempfile::tempdir().expect("temporary directory");
        let db = Db::open(directory.path(), Options::default()).expect("open");
        let table = db
            .create_table(
                "t",
                schema(),
                TableOptions {
                    primary_key: vec!["id".to_owned()],
                },
            )
            .expect("create");
        let mut random = Random(42);
        let data = rows(&mut random, 1_500);
        for part in data.chunks(400) {
            table.insert(&batch(part)).expect("insert");
        }
        let predicate = Predicate::all().and(crate::ColumnFilter {
            column: "x".to_owned(),
            terms: vec![crate::Term::Range(crate::Range::closed(
                Scalar::Int(-200),
                Scalar::Int(300),
            ))],
        });
        let aggregates = every_aggregate();
        let result = table
            .aggregate(AggregateRequest {
                predicate,
                group_by: vec!["group".to_owned()],
                aggregates: aggregates.clone(),
            })
            .expect("aggregate");
        let matching: Vec<Row> = data
            .iter()
            .filter(|r| r.x.is_some_and(|x| (-200..=300).contains(&x)))
            .cloned()
            .collect();
        assert_eq!(
            cells(&result.batch),
            model(&matching, &["group"], &aggregates)
        );
        assert_eq!(result.stats.rows_matched, matching.len() as u64);
        assert_eq!(COLUMNS.len(), schema().fields().len());

        let error = table
            .aggregate(AggregateRequest {
                predicate: Predicate::all(),
                group_by: vec![],
                aggregates: vec![Aggregate::of(AggregateFunction::Min, "missing")],
            })
            .expect_err("unknown column");
        assert!(matches!(error, Error::UnknownColumn { .. }), "{error}");
        let count = table
            .aggregate(AggregateRequest {
                aggregates: vec![Aggregate::count_rows()],
                ..AggregateRequest::default()
            })
            .expect("count");
        assert_eq!(cells(&count.batch), vec![vec![Cell::Int(1_500)]]);
    }
}
