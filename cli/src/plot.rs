//! `tessera plot`: a picture of a table over two columns, as SVG written by hand: the density
//! of the rows on a grid (darker is denser), and on top the rectangle each query of a file
//! selects on those two columns (a side a query leaves open reaches the edge of the data).
//!
//! Values are drawn in the engine's physical domain (dates as days, timestamps in their unit,
//! decimals scaled back to their value), the domain the layout partitions.

use std::fmt::Write as _;
use std::ops::Bound;
use std::path::PathBuf;

use arrow::datatypes::DataType;
use tessera::{Db, Predicate, Scalar, ScanRequest, Term};

use crate::error::{CliError, CliResult};
use crate::plan::{bind, find_table};
use crate::query::split_statements;
use crate::sql::{Name, parse};
use crate::values::scalar_at;

/// Grid cells per axis of the density picture.
const GRID: usize = 120;
/// Queries drawn at most.
const QUERIES_MAX: usize = 2_000;
const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 720.0;
const MARGIN: f64 = 70.0;

/// What `plot` was asked.
#[derive(Debug, Clone)]
pub struct PlotRequest {
    /// The table.
    pub table: String,
    /// Horizontal column.
    pub x: String,
    /// Vertical column.
    pub y: String,
    /// SQL statements whose rectangles are drawn.
    pub queries: Option<PathBuf>,
    /// The output file.
    pub output: PathBuf,
}

fn number(scalar: &Scalar, scale: i8) -> Option<f64> {
    match scalar {
        Scalar::Int(value) => Some(*value as f64),
        Scalar::Float(value) if value.is_finite() => Some(*value),
        Scalar::Decimal(value) => Some(*value as f64 / 10f64.powi(i32::from(scale))),
        Scalar::Bool(value) => Some(f64::from(u8::from(*value))),
        _ => None,
    }
}

fn scale_of(data_type: &DataType) -> i8 {
    match data_type {
        DataType::Decimal128(_, scale) => *scale,
        _ => 0,
    }
}

/// The interval `[low, high]` a predicate allows on `column` (the hull of its terms), with
/// `None` for an open side.
fn interval(predicate: &Predicate, column: &str, scale: i8) -> (Option<f64>, Option<f64>) {
    let mut low: Option<f64> = None;
    let mut high: Option<f64> = None;
    for filter in predicate.filters_on(column) {
        let mut hull: Option<(Option<f64>, Option<f64>)> = None;
        for term in &filter.terms {
            let Term::Range(range) = term else {
                continue;
            };
            let end = |bound: &Bound<Scalar>| match bound {
                Bound::Included(value) | Bound::Excluded(value) => number(value, scale),
                Bound::Unbounded => None,
            };
            let (term_low, term_high) = (end(&range.low), end(&range.high));
            hull = Some(match hull {
                None => (term_low, term_high),
                Some((hull_low, hull_high)) => (
                    hull_low.zip(term_low).map(|(a, b)| a.min(b)),
                    hull_high.zip(term_high).map(|(a, b)| a.max(b)),
                ),
            });
        }
        if let Some((filter_low, filter_high)) = hull {
            low = match (low, filter_low) {
                (Some(a), Some(b)) => Some(a.max(b)),
                (a, b) => a.or(b),
            };
            high = match (high, filter_high) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
    }
    (low, high)
}

/// Draws the picture; returns a one-line summary.
pub fn plot(db: &Db, request: &PlotRequest) -> CliResult<String> {
    let extension = request
        .output
        .extension()
        .and_then(|extension| extension.to_str())
        .map(str::to_ascii_lowercase);
    match extension.as_deref() {
        Some("svg") => {}
        Some("png") => {
            return Err(CliError::Usage(
                "PNG output is not supported; write an .svg file (browsers and most image \
                 tools open it, and `rsvg-convert` turns it into PNG)"
                    .to_owned(),
            ));
        }
        _ => {
            return Err(CliError::Usage(format!(
                "{}: the output must end in .svg",
                request.output.display()
            )));
        }
    }
    let table = find_table(
        db,
        &Name {
            value: request.table.clone(),
            quoted: true,
        },
    )?;
    let schema = table.schema();
    let mut scales = Vec::new();
    for column in [&request.x, &request.y] {
        let field = schema.field_with_name(column).map_err(|_| {
            CliError::failed(format!(
                "table {:?} has no column {column:?}",
                request.table
            ))
        })?;
        let scale = scale_of(field.data_type());
        let numeric = matches!(
            field.data_type(),
            DataType::Int8
                | DataType::Int16
                | DataType::Int32
                | DataType::Int64
                | DataType::UInt8
                | DataType::UInt16
                | DataType::UInt32
                | DataType::UInt64
                | DataType::Float32
                | DataType::Float64
                | DataType::Decimal128(_, _)
                | DataType::Date32
                | DataType::Date64
                | DataType::Timestamp(_, _)
        );
        if !numeric {
            return Err(CliError::failed(format!(
                "column {column:?} has type {}, which has no axis: plot numbers, decimals, dates or timestamps",
                field.data_type()
            )));
        }
        scales.push(scale);
    }
    let (x_scale, y_scale) = (
        scales.first().copied().unwrap_or(0),
        scales.get(1).copied().unwrap_or(0),
    );
    let projection = if request.x == request.y {
        vec![request.x.clone()]
    } else {
        vec![request.x.clone(), request.y.clone()]
    };
    let result = table.scan(ScanRequest {
        projection: Some(projection),
        predicate: Predicate::all(),
        limit: None,
    })?;
    let mut points = Vec::with_capacity(result.num_rows());
    for batch in &result.batches {
        let x_column = batch.column(0);
        let y_column = batch.columns().get(1).unwrap_or(x_column);
        for row in 0..batch.num_rows() {
            let x = scalar_at(x_column.as_ref(), row).and_then(|v| number(&v, x_scale));
            let y = scalar_at(y_column.as_ref(), row).and_then(|v| number(&v, y_scale));
            if let (Some(x), Some(y)) = (x, y) {
                points.push((x, y));
            }
        }
    }
    let mut rectangles = Vec::new();
    let mut skipped = 0usize;
    if let Some(path) = &request.queries {
        let source = std::fs::read_to_string(path).map_err(|error| {
            CliError::failed(format!("cannot read {}: {error}", path.display()))
        })?;
        for statement in split_statements(&source).iter().take(QUERIES_MAX) {
            let plan =
                parse(&statement.text, statement.origin).and_then(|parsed| bind(db, &parsed));
            match plan {
                Ok(plan) if plan.table.name() == table.name() => {
                    let x = interval(&plan.predicate, &request.x, x_scale);
                    let y = interval(&plan.predicate, &request.y, y_scale);
                    if x != (None, None) || y != (None, None) {
                        rectangles.push((x, y));
                    }
                }
                _ => skipped += 1,
            }
        }
    }
    let svg = render(&points, &rectangles, request);
    std::fs::write(&request.output, svg).map_err(|error| {
        CliError::failed(format!(
            "cannot write {}: {error}",
            request.output.display()
        ))
    })?;
    let mut summary = format!(
        "wrote {}: {} rows, {} query rectangles",
        request.output.display(),
        points.len(),
        rectangles.len()
    );
    if skipped > 0 {
        let _ = write!(
            summary,
            " ({skipped} statements skipped: other tables or errors)"
        );
    }
    Ok(summary)
}

type Rectangle = ((Option<f64>, Option<f64>), (Option<f64>, Option<f64>));

fn render(points: &[(f64, f64)], rectangles: &[Rectangle], request: &PlotRequest) -> String {
    let (mut x_min, mut x_max, mut y_min, mut y_max) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for &(x, y) in points {
        x_min = x_min.min(x);
        x_max = x_max.max(x);
        y_min = y_min.min(y);
        y_max = y_max.max(y);
    }
    if points.is_empty() {
        (x_min, x_max, y_min, y_max) = (0.0, 1.0, 0.0, 1.0);
    }
    if x_max <= x_min {
        x_max = x_min + 1.0;
    }
    if y_max <= y_min {
        y_max = y_min + 1.0;
    }
    let plot_width = WIDTH - 2.0 * MARGIN;
    let plot_height = HEIGHT - 2.0 * MARGIN;
    let to_x = |x: f64| MARGIN + (x - x_min) / (x_max - x_min) * plot_width;
    let to_y = |y: f64| HEIGHT - MARGIN - (y - y_min) / (y_max - y_min) * plot_height;
    let mut counts = vec![0u64; GRID * GRID];
    for &(x, y) in points {
        let column = (((x - x_min) / (x_max - x_min)) * GRID as f64) as usize;
        let row = (((y - y_min) / (y_max - y_min)) * GRID as f64) as usize;
        if let Some(count) = counts.get_mut(row.min(GRID - 1) * GRID + column.min(GRID - 1)) {
            *count += 1;
        }
    }
    let densest = counts.iter().copied().max().unwrap_or(0).max(1) as f64;
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(svg, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let cell_width = plot_width / GRID as f64;
    let cell_height = plot_height / GRID as f64;
    for (index, &count) in counts.iter().enumerate() {
        if count == 0 {
            continue;
        }
        let (row, column) = (index / GRID, index % GRID);
        let shade = ((count as f64).ln_1p() / densest.ln_1p()).clamp(0.05, 1.0);
        let x = MARGIN + column as f64 * cell_width;
        let y = HEIGHT - MARGIN - (row as f64 + 1.0) * cell_height;
        let _ = writeln!(
            svg,
            r##"<rect x="{x:.2}" y="{y:.2}" width="{:.2}" height="{:.2}" fill="#1f4e8c" fill-opacity="{shade:.3}"/>"##,
            cell_width + 0.05,
            cell_height + 0.05
        );
    }
    for ((x_low, x_high), (y_low, y_high)) in rectangles {
        let left = to_x(x_low.unwrap_or(x_min).clamp(x_min, x_max));
        let right = to_x(x_high.unwrap_or(x_max).clamp(x_min, x_max));
        let top = to_y(y_high.unwrap_or(y_max).clamp(y_min, y_max));
        let bottom = to_y(y_low.unwrap_or(y_min).clamp(y_min, y_max));
        let _ = writeln!(
            svg,
            r##"<rect x="{left:.2}" y="{top:.2}" width="{:.2}" height="{:.2}" fill="none" stroke="#d62728" stroke-opacity="0.6" stroke-width="1"/>"##,
            (right - left).max(0.5),
            (bottom - top).max(0.5)
        );
    }
    let _ = writeln!(
        svg,
        r#"<rect x="{MARGIN}" y="{MARGIN}" width="{plot_width}" height="{plot_height}" fill="none" stroke="black"/>"#
    );
    let escape = |text: &str| {
        text.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };
    let _ = writeln!(
        svg,
        r#"<text x="{}" y="{}" text-anchor="middle">{}</text>"#,
        WIDTH / 2.0,
        HEIGHT - MARGIN / 3.0,
        escape(&request.x)
    );
    let _ = writeln!(
        svg,
        r#"<text x="{}" y="{}" text-anchor="middle" transform="rotate(-90 {} {})">{}</text>"#,
        MARGIN / 3.0,
        HEIGHT / 2.0,
        MARGIN / 3.0,
        HEIGHT / 2.0,
        escape(&request.y)
    );
    for (value, x, y, anchor) in [
        (x_min, MARGIN, HEIGHT - MARGIN + 16.0, "start"),
        (x_max, WIDTH - MARGIN, HEIGHT - MARGIN + 16.0, "end"),
    ] {
        let _ = writeln!(
            svg,
            r#"<text x="{x}" y="{y}" text-anchor="{anchor}">{value}</text>"#
        );
    }
    for (value, y) in [(y_min, HEIGHT - MARGIN), (y_max, MARGIN + 10.0)] {
        let _ = writeln!(
            svg,
            r#"<text x="{}" y="{y}" text-anchor="end">{value}</text>"#,
            MARGIN - 4.0
        );
    }
    let _ = writeln!(
        svg,
        r#"<text x="{MARGIN}" y="{}">{}: {} rows; red: {} query rectangles</text>"#,
        MARGIN / 2.0,
        escape(&request.table),
        points.len(),
        rectangles.len()
    );
    svg.push_str("</svg>\n");
    svg
}
