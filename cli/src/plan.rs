//! Binding a parsed statement to a table and running it through the engine.
//!
//! Filters become one engine [`Predicate`] (literals converted into each column's physical
//! domain), aggregates one [`AggregateRequest`]: both run inside the engine's scan. A `WHERE`
//! that pins every primary-key column with `=` becomes a point get. What is left for the
//! command line is ordering the result rows (`ORDER BY`), cutting them (`LIMIT`, which goes
//! into the scan when there is no `ORDER BY`) and naming the output columns.

use std::collections::HashMap;
use std::ops::Bound;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow::array::{ArrayRef, RecordBatch, RecordBatchOptions};
use arrow::compute::{SortColumn, SortOptions, concat_batches, lexsort_to_indices, take};
use arrow::datatypes::{Field, Schema, SchemaRef};
use tessera::{
    Aggregate, AggregateRequest, Aggregator, ColumnFilter, Db, Predicate, Range, Scalar,
    ScanExplain, ScanRequest, ScanStats, Table, Term,
};

use crate::error::{CliError, CliResult};
use crate::literal::{Converted, Literal, convert};
use crate::sql::{
    AggregateCall, CompareOp, Comparison, Item, KeyRef, Name, OrderKey, SelectStatement,
};
use crate::values::{key_array, scalar_at};

/// The hidden row id column of tables loaded without a primary key.
pub const ROW_ID: &str = "_rowid";

/// How the engine is asked.
#[derive(Debug, Clone)]
pub enum Access {
    /// A point get by primary key; the raw result is the row's columns (every column of the
    /// table), or the aggregates over it.
    PointGet {
        /// The key, one row of the key columns.
        key: RecordBatch,
        /// Aggregates over the row, if the statement has any.
        aggregate: Option<(Vec<String>, Vec<Aggregate>)>,
    },
    /// A scan; the raw result is the projection.
    Scan {
        /// The columns read.
        projection: Vec<String>,
        /// Rows at most (only without `ORDER BY`).
        limit: Option<usize>,
    },
    /// An aggregation; the raw result is the group columns, then the aggregates.
    Aggregate {
        /// Group columns.
        group_by: Vec<String>,
        /// Aggregates, each once.
        aggregates: Vec<Aggregate>,
    },
}

/// One sort key over the raw result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SortKey {
    /// The raw column.
    pub column: usize,
    /// Descending order.
    pub descending: bool,
    /// Nulls first.
    pub nulls_first: bool,
}

/// A statement bound to a table.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The table.
    pub table: Table,
    /// How the engine is asked.
    pub access: Access,
    /// The filter, pushed into the engine (for a point get, checked on the row).
    pub predicate: Predicate,
    /// The output columns: name and raw column.
    pub outputs: Vec<(String, usize)>,
    /// `ORDER BY`, done here.
    pub order: Vec<SortKey>,
    /// `LIMIT`, done here.
    pub limit: Option<usize>,
    /// The `WHERE` clause as written.
    pub filter_text: Option<String>,
}

/// A statement's result.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The rows, with the output column names.
    pub batch: RecordBatch,
    /// What the engine did.
    pub stats: ScanStats,
    /// How the engine's scan went; `None` for a point get.
    pub explain: Option<ScanExplain>,
    /// Time in the engine.
    pub engine: Duration,
    /// Time ordering, cutting and naming the result here.
    pub finish: Duration,
}

/// Whether `table` has the hidden row id as its key.
pub fn has_hidden_row_id(table: &Table) -> bool {
    table.primary_key() == [ROW_ID]
}

/// Resolves `name` against `schema`: an exact match first, then a case-insensitive one when
/// the name was not quoted.
fn resolve(schema: &Schema, name: &Name, table: &str) -> CliResult<String> {
    if let Some(field) = schema.fields().iter().find(|f| f.name() == &name.value) {
        return Ok(field.name().clone());
    }
    if !name.quoted {
        let matches: Vec<&Arc<Field>> = schema
            .fields()
            .iter()
            .filter(|f| f.name().eq_ignore_ascii_case(&name.value))
            .collect();
        if let [field] = matches.as_slice() {
            return Ok(field.name().clone());
        }
    }
    Err(CliError::failed(format!(
        "table {table:?} has no column {:?}",
        name.value
    )))
}

/// Finds the table a statement names.
pub fn find_table(db: &Db, name: &Name) -> CliResult<Table> {
    if let Ok(table) = db.table(&name.value) {
        return Ok(table);
    }
    if !name.quoted {
        let tables = db.tables();
        let matches: Vec<&String> = tables
            .iter()
            .filter(|t| t.eq_ignore_ascii_case(&name.value))
            .collect();
        if let [table] = matches.as_slice() {
            return Ok(db.table(table)?);
        }
    }
    Err(CliError::failed(format!(
        "table {:?} does not exist",
        name.value
    )))
}

fn aggregate_of(call: &AggregateCall, schema: &Schema, table: &str) -> CliResult<Aggregate> {
    Ok(Aggregate {
        function: call.function,
        column: call
            .column
            .as_ref()
            .map(|name| resolve(schema, name, table))
            .transpose()?,
    })
}

/// Binds `statement` to its table in `db`.
pub fn bind(db: &Db, statement: &SelectStatement) -> CliResult<Plan> {
    let table = find_table(db, &statement.table)?;
    let schema = table.schema();
    let name = table.name().to_owned();
    let hidden = has_hidden_row_id(&table);
    let (predicate, pins) = predicate(&statement.filter, &schema, &name)?;

    let aggregated = !statement.group_by.is_empty()
        || statement
            .items
            .iter()
            .any(|item| matches!(item, Item::Aggregate { .. }));
    let mut outputs: Vec<(String, usize)> = Vec::new();
    let mut order = Vec::new();
    let access = if aggregated {
        let mut group_by: Vec<String> = Vec::new();
        for key in &statement.group_by {
            let column = match key {
                KeyRef::Name(column) => resolve(&schema, column, &name)?,
                KeyRef::Position(position) => match statement.items.get(position - 1) {
                    Some(Item::Column { name: column, .. }) => resolve(&schema, column, &name)?,
                    _ => {
                        return Err(CliError::Usage(format!(
                            "GROUP BY {position} does not name a column of the select list"
                        )));
                    }
                },
                KeyRef::Aggregate(_) => {
                    return Err(CliError::Usage("GROUP BY an aggregate".to_owned()));
                }
            };
            if !group_by.contains(&column) {
                group_by.push(column);
            }
        }
        let mut aggregates: Vec<Aggregate> = Vec::new();
        let aggregate_index =
            |aggregate: Aggregate, aggregates: &mut Vec<Aggregate>| match aggregates
                .iter()
                .position(|known| *known == aggregate)
            {
                Some(index) => index,
                None => {
                    aggregates.push(aggregate);
                    aggregates.len() - 1
                }
            };
        for item in &statement.items {
            match item {
                Item::Wildcard => {
                    return Err(CliError::Usage(
                        "SELECT * cannot be combined with aggregates or GROUP BY".to_owned(),
                    ));
                }
                Item::Column {
                    name: column,
                    alias,
                } => {
                    let resolved = resolve(&schema, column, &name)?;
                    let Some(index) = group_by.iter().position(|g| *g == resolved) else {
                        return Err(CliError::Usage(format!(
                            "column {resolved:?} must appear in GROUP BY or inside an aggregate"
                        )));
                    };
                    outputs.push((alias.clone().unwrap_or(resolved), index));
                }
                Item::Aggregate { call, alias } => {
                    let aggregate = aggregate_of(call, &schema, &name)?;
                    let output = alias.clone().unwrap_or_else(|| aggregate.output_name());
                    let index = aggregate_index(aggregate, &mut aggregates);
                    outputs.push((output, group_by.len() + index));
                }
            }
        }
        for key in &statement.order_by {
            let column =
                match &key.key {
                    KeyRef::Aggregate(call) => {
                        let aggregate = aggregate_of(call, &schema, &name)?;
                        group_by.len() + aggregate_index(aggregate, &mut aggregates)
                    }
                    other => match output_reference(other, &outputs)? {
                        Some(column) => column,
                        None => {
                            let KeyRef::Name(column) = other else {
                                continue;
                            };
                            let resolved = resolve(&schema, column, &name)?;
                            group_by.iter().position(|g| *g == resolved).ok_or_else(|| {
                            CliError::Usage(format!(
                                "ORDER BY {resolved}: the column is neither an output nor a \
                                 GROUP BY column"
                            ))
                        })?
                        }
                    },
                };
            order.push(sort_key(key, column));
        }
        Access::Aggregate {
            group_by,
            aggregates,
        }
    } else {
        let mut projection: Vec<String> = Vec::new();
        let project = |column: String, projection: &mut Vec<String>| match projection
            .iter()
            .position(|known| *known == column)
        {
            Some(index) => index,
            None => {
                projection.push(column);
                projection.len() - 1
            }
        };
        for item in &statement.items {
            match item {
                Item::Wildcard => {
                    for field in schema.fields() {
                        if hidden && field.name() == ROW_ID {
                            continue;
                        }
                        let index = project(field.name().clone(), &mut projection);
                        outputs.push((field.name().clone(), index));
                    }
                }
                Item::Column {
                    name: column,
                    alias,
                } => {
                    let resolved = resolve(&schema, column, &name)?;
                    let index = project(resolved.clone(), &mut projection);
                    outputs.push((alias.clone().unwrap_or(resolved), index));
                }
                Item::Aggregate { .. } => {}
            }
        }
        for key in &statement.order_by {
            let column = match output_reference(&key.key, &outputs)? {
                Some(column) => column,
                None => match &key.key {
                    KeyRef::Name(column) => {
                        project(resolve(&schema, column, &name)?, &mut projection)
                    }
                    _ => {
                        return Err(CliError::Usage(
                            "ORDER BY an aggregate in a query without aggregates".to_owned(),
                        ));
                    }
                },
            };
            order.push(sort_key(key, column));
        }
        let limit = if order.is_empty() {
            statement.limit.map(saturating_usize)
        } else {
            None
        };
        Access::Scan { projection, limit }
    };

    let key = table.primary_key();
    let pinned: Option<Vec<(&String, &Scalar)>> = key
        .iter()
        .map(|column| pins.get(column).map(|value| (column, value)))
        .collect();
    // A key value outside its column's type matches no row: leave it to the scan.
    let key = pinned
        .filter(|pinned| !pinned.is_empty())
        .and_then(|pinned| key_batch(&schema, &pinned).ok());
    let access = match (key, access) {
        (Some(key), Access::Scan { projection, .. }) => {
            // The raw result of a get is the whole row: remap outputs and sort keys.
            let index_in_row = |raw: usize| -> CliResult<usize> {
                let column = projection.get(raw).ok_or_else(|| {
                    CliError::failed("internal: a projection index is out of range")
                })?;
                Ok(schema.index_of(column)?)
            };
            for output in &mut outputs {
                output.1 = index_in_row(output.1)?;
            }
            for key in &mut order {
                key.column = index_in_row(key.column)?;
            }
            Access::PointGet {
                key,
                aggregate: None,
            }
        }
        (
            Some(key),
            Access::Aggregate {
                group_by,
                aggregates,
            },
        ) => Access::PointGet {
            key,
            aggregate: Some((group_by, aggregates)),
        },
        (_, access) => access,
    };
    Ok(Plan {
        table,
        access,
        predicate,
        outputs,
        order,
        limit: statement.limit.map(saturating_usize),
        filter_text: statement.filter_text.clone(),
    })
}

/// The one-row key batch of pinned key values.
fn key_batch(schema: &Schema, pinned: &[(&String, &Scalar)]) -> CliResult<RecordBatch> {
    let mut fields = Vec::new();
    let mut arrays: Vec<ArrayRef> = Vec::new();
    for (column, value) in pinned {
        let field = schema.field_with_name(column)?;
        arrays.push(key_array(field, value)?);
        fields.push(field.clone());
    }
    Ok(RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays)?)
}

fn saturating_usize(value: u64) -> usize {
    usize::try_from(value).unwrap_or(usize::MAX)
}

fn sort_key(key: &OrderKey, column: usize) -> SortKey {
    SortKey {
        column,
        descending: key.descending,
        nulls_first: key.nulls_first.unwrap_or(false),
    }
}

/// The raw column an `ORDER BY` key names among the outputs, if it does.
fn output_reference(key: &KeyRef, outputs: &[(String, usize)]) -> CliResult<Option<usize>> {
    match key {
        KeyRef::Position(position) => outputs
            .get(position - 1)
            .map(|(_, raw)| Some(*raw))
            .ok_or_else(|| {
                CliError::Usage(format!(
                    "ORDER BY {position}: the select list has {} columns",
                    outputs.len()
                ))
            }),
        KeyRef::Name(name) => {
            let exact = outputs.iter().find(|(output, _)| *output == name.value);
            let found = exact.or_else(|| {
                if name.quoted {
                    None
                } else {
                    outputs
                        .iter()
                        .find(|(output, _)| output.eq_ignore_ascii_case(&name.value))
                }
            });
            Ok(found.map(|(_, raw)| *raw))
        }
        KeyRef::Aggregate(_) => Ok(None),
    }
}

/// The engine predicate of a `WHERE` conjunction, and the columns it pins to one value with
/// `=` (for point gets).
fn predicate(
    conjuncts: &[crate::sql::Conjunct],
    schema: &SchemaRef,
    table: &str,
) -> CliResult<(Predicate, HashMap<String, Scalar>)> {
    let mut predicate = Predicate::all();
    let mut pins = HashMap::new();
    for conjunct in conjuncts {
        let column = resolve(schema, &conjunct.column, table)?;
        let field = schema.field_with_name(&column)?;
        let mut terms = Vec::new();
        for comparison in &conjunct.comparisons {
            terms.extend(comparison_terms(comparison, field)?);
        }
        if let [Comparison::Compare(CompareOp::Eq, literal)] = conjunct.comparisons.as_slice()
            && let Some(Converted::Exact(value)) = convert(literal, field)?
        {
            pins.insert(column.clone(), value);
        }
        predicate = predicate.and(ColumnFilter { column, terms });
    }
    Ok((predicate, pins))
}

/// The lower end of `column >= literal` (`inclusive`) or `column > literal`; `None` when
/// no value satisfies it, `Some(Unbounded)` when every non-null value does.
fn lower(literal: &Literal, field: &Field, inclusive: bool) -> CliResult<Option<Bound<Scalar>>> {
    Ok(match convert(literal, field)? {
        None => None,
        Some(Converted::Exact(value)) if inclusive => Some(Bound::Included(value)),
        Some(Converted::Exact(value)) => Some(Bound::Excluded(value)),
        Some(Converted::Between(_, above)) => Some(Bound::Included(above)),
        Some(Converted::BelowAll) => Some(Bound::Unbounded),
        Some(Converted::AboveAll) => None,
    })
}

/// The upper end of `column <= literal` (`inclusive`) or `column < literal`.
fn upper(literal: &Literal, field: &Field, inclusive: bool) -> CliResult<Option<Bound<Scalar>>> {
    Ok(match convert(literal, field)? {
        None => None,
        Some(Converted::Exact(value)) if inclusive => Some(Bound::Included(value)),
        Some(Converted::Exact(value)) => Some(Bound::Excluded(value)),
        Some(Converted::Between(below, _)) => Some(Bound::Included(below)),
        Some(Converted::BelowAll) => None,
        Some(Converted::AboveAll) => Some(Bound::Unbounded),
    })
}

fn range_term(low: Bound<Scalar>, high: Bound<Scalar>) -> Term {
    match (&low, &high) {
        (Bound::Unbounded, Bound::Unbounded) => Term::IsNotNull,
        _ => Term::Range(Range { low, high }),
    }
}

/// The terms (alternatives) one comparison contributes to its column's filter; none when no
/// value can satisfy it.
fn comparison_terms(comparison: &Comparison, field: &Field) -> CliResult<Vec<Term>> {
    let one = |low: Option<Bound<Scalar>>, high: Option<Bound<Scalar>>| match (low, high) {
        (Some(low), Some(high)) => vec![range_term(low, high)],
        _ => Vec::new(),
    };
    Ok(match comparison {
        Comparison::IsNull => vec![Term::IsNull],
        Comparison::IsNotNull => vec![Term::IsNotNull],
        Comparison::Compare(op, literal) => match op {
            CompareOp::Eq => match convert(literal, field)? {
                Some(Converted::Exact(value)) => vec![Term::Range(Range::point(value))],
                _ => Vec::new(),
            },
            CompareOp::NotEq => match convert(literal, field)? {
                None => Vec::new(),
                Some(Converted::Exact(value)) => vec![
                    Term::Range(Range {
                        low: Bound::Unbounded,
                        high: Bound::Excluded(value.clone()),
                    }),
                    Term::Range(Range {
                        low: Bound::Excluded(value),
                        high: Bound::Unbounded,
                    }),
                ],
                Some(_) => vec![Term::IsNotNull],
            },
            CompareOp::Lt => one(Some(Bound::Unbounded), upper(literal, field, false)?),
            CompareOp::LtEq => one(Some(Bound::Unbounded), upper(literal, field, true)?),
            CompareOp::Gt => one(lower(literal, field, false)?, Some(Bound::Unbounded)),
            CompareOp::GtEq => one(lower(literal, field, true)?, Some(Bound::Unbounded)),
        },
        Comparison::Between {
            negated: false,
            low,
            high,
        } => one(lower(low, field, true)?, upper(high, field, true)?),
        Comparison::Between {
            negated: true,
            low,
            high,
        } => {
            // NOT BETWEEN is `< low OR > high`; a NULL end makes it unknown on that side.
            if matches!(low, Literal::Null) || matches!(high, Literal::Null) {
                Vec::new()
            } else {
                let mut terms = one(Some(Bound::Unbounded), upper(low, field, false)?);
                terms.extend(one(lower(high, field, false)?, Some(Bound::Unbounded)));
                terms
            }
        }
        Comparison::In {
            negated: false,
            list,
        } => {
            let mut terms = Vec::new();
            for literal in list {
                if let Some(Converted::Exact(value)) = convert(literal, field)? {
                    terms.push(Term::Range(Range::point(value)));
                }
            }
            terms
        }
        Comparison::In {
            negated: true,
            list,
        } => {
            let mut points = Vec::new();
            for literal in list {
                match convert(literal, field)? {
                    // `x NOT IN (..., NULL)` is never true.
                    None => return Ok(Vec::new()),
                    Some(Converted::Exact(value)) => points.push(value),
                    Some(_) => {}
                }
            }
            points.sort_by(|a, b| a.compare(b).unwrap_or(std::cmp::Ordering::Equal));
            points.dedup();
            let mut terms = Vec::new();
            let mut low = Bound::Unbounded;
            for point in points {
                terms.push(Term::Range(Range {
                    low,
                    high: Bound::Excluded(point.clone()),
                }));
                low = Bound::Excluded(point);
            }
            terms.push(range_term(low, Bound::Unbounded));
            terms
        }
    })
}

impl Plan {
    /// Runs the plan.
    pub fn run(&self) -> CliResult<Answer> {
        let started = Instant::now();
        let (raw, stats, explain) = self.raw()?;
        let engine = started.elapsed();
        let finishing = Instant::now();
        let batch = self.finish(raw)?;
        Ok(Answer {
            batch,
            stats,
            explain,
            engine,
            finish: finishing.elapsed(),
        })
    }

    /// The engine's result, before ordering and naming.
    fn raw(&self) -> CliResult<(RecordBatch, ScanStats, Option<ScanExplain>)> {
        match &self.access {
            Access::Scan { projection, limit } => {
                let result = self.table.scan(ScanRequest {
                    projection: Some(projection.clone()),
                    predicate: self.predicate.clone(),
                    limit: *limit,
                })?;
                let batch = concat(&result.schema, &result.batches)?;
                Ok((batch, result.stats, Some(result.explain)))
            }
            Access::Aggregate {
                group_by,
                aggregates,
            } => {
                let result = self.table.aggregate(AggregateRequest {
                    predicate: self.predicate.clone(),
                    group_by: group_by.clone(),
                    aggregates: aggregates.clone(),
                })?;
                Ok((result.batch, result.stats, Some(result.explain)))
            }
            Access::PointGet { key, aggregate } => {
                let found = self.table.get(key)?;
                let mut stats = ScanStats::default();
                let row = match found {
                    Some(row) => {
                        stats.rows_scanned = 1;
                        let matches = self.predicate.matches_row(&row);
                        if matches {
                            stats.rows_matched = 1;
                            row
                        } else {
                            row.slice(0, 0)
                        }
                    }
                    None => RecordBatch::new_empty(self.table.schema()),
                };
                match aggregate {
                    None => Ok((row, stats, None)),
                    Some((group_by, aggregates)) => {
                        let mut aggregator = Aggregator::new(
                            self.table.name(),
                            &self.table.schema(),
                            group_by,
                            aggregates,
                        )?;
                        aggregator.update(&row)?;
                        Ok((aggregator.finish()?, stats, None))
                    }
                }
            }
        }
    }

    fn finish(&self, raw: RecordBatch) -> CliResult<RecordBatch> {
        let mut rows = raw.num_rows();
        let indices =
            if self.order.is_empty() {
                None
            } else {
                let columns =
                    self.order
                        .iter()
                        .map(|key| {
                            Ok(SortColumn {
                                values: raw.columns().get(key.column).cloned().ok_or_else(
                                    || CliError::failed("internal: sort column missing"),
                                )?,
                                options: Some(SortOptions {
                                    descending: key.descending,
                                    nulls_first: key.nulls_first,
                                }),
                            })
                        })
                        .collect::<CliResult<Vec<_>>>()?;
                let indices = lexsort_to_indices(&columns, self.limit)?;
                rows = indices.len();
                Some(indices)
            };
        let rows = self.limit.map_or(rows, |limit| rows.min(limit));
        let mut fields = Vec::with_capacity(self.outputs.len());
        let mut arrays = Vec::with_capacity(self.outputs.len());
        for (name, raw_index) in &self.outputs {
            let field = raw
                .schema()
                .field(*raw_index)
                .clone()
                .with_name(name.clone());
            let column = raw
                .columns()
                .get(*raw_index)
                .ok_or_else(|| CliError::failed("internal: output column missing"))?;
            let column = match &indices {
                Some(indices) => take(column.as_ref(), indices, None)?,
                None => Arc::clone(column),
            };
            arrays.push(column.slice(0, rows.min(column.len())));
            fields.push(field);
        }
        let options = RecordBatchOptions::new().with_row_count(Some(rows));
        Ok(RecordBatch::try_new_with_options(
            Arc::new(Schema::new(fields)),
            arrays,
            &options,
        )?)
    }

    /// The plan, line by line, for `--explain`.
    pub fn describe(&self) -> Vec<(String, String)> {
        let mut lines = Vec::new();
        let key = self.table.primary_key().join(", ");
        lines.push((
            "table".to_owned(),
            format!("{} (primary key {key})", self.table.name()),
        ));
        let access = match &self.access {
            Access::PointGet { aggregate, .. } => {
                let mut text = "point get by primary key".to_owned();
                if let Some((group_by, aggregates)) = aggregate {
                    text.push_str(&aggregate_text(group_by, aggregates, ", then "));
                }
                text
            }
            Access::Scan { projection, limit } => {
                let mut text = format!("scan reading columns [{}]", projection.join(", "));
                if let Some(limit) = limit {
                    text.push_str(&format!(", stopping after {limit} rows"));
                }
                text
            }
            Access::Aggregate {
                group_by,
                aggregates,
            } => format!("scan{}", aggregate_text(group_by, aggregates, " with ")),
        };
        lines.push(("access".to_owned(), access));
        let filter = match (&self.filter_text, &self.access) {
            (None, _) => "none".to_owned(),
            (Some(text), Access::PointGet { .. }) => {
                format!("{text} (the key is looked up; the whole filter is checked on the row)")
            }
            (Some(text), _) => format!(
                "{text} (in the engine's scan: {} column filters)",
                self.predicate.filters.len()
            ),
        };
        lines.push(("filter".to_owned(), filter));
        let mut here = Vec::new();
        if !self.order.is_empty() {
            here.push(format!("ORDER BY over {} keys", self.order.len()));
        }
        if let Some(limit) = self.limit {
            here.push(format!("LIMIT {limit}"));
        }
        if !here.is_empty() {
            lines.push(("after the engine".to_owned(), here.join(", ")));
        }
        lines
    }
}

fn aggregate_text(group_by: &[String], aggregates: &[Aggregate], joiner: &str) -> String {
    let names: Vec<String> = aggregates.iter().map(Aggregate::output_name).collect();
    let mut text = format!("{joiner}aggregates [{}]", names.join(", "));
    if !group_by.is_empty() {
        text.push_str(&format!(" grouped by [{}]", group_by.join(", ")));
    }
    text
}

fn concat(schema: &SchemaRef, batches: &[RecordBatch]) -> CliResult<RecordBatch> {
    Ok(concat_batches(schema, batches)?)
}

/// Evaluating a predicate on the rows of a (small) batch.
trait MatchesRow {
    /// Whether the first row of `batch` matches.
    fn matches_row(&self, batch: &RecordBatch) -> bool;
}

impl MatchesRow for Predicate {
    fn matches_row(&self, batch: &RecordBatch) -> bool {
        let schema = batch.schema();
        let values: Vec<Option<Scalar>> = batch
            .columns()
            .iter()
            .map(|column| scalar_at(column.as_ref(), 0))
            .collect();
        self.matches(|name| {
            schema
                .index_of(name)
                .ok()
                .and_then(|index| values.get(index))
                .and_then(Option::as_ref)
        })
    }
}
