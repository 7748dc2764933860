//! `tessera`, the command line: load CSV and Parquet into tables, run SQL with `explain`,
//! generate TPC-H data and workloads, and the quickstart, all through the `tessera` crate.
//!
//! Every failure is one line on standard error and a non-zero exit code: 2 when the request
//! cannot be taken as written (bad arguments, SQL that does not parse or is not supported), 1
//! when it failed (unknown table or column, a type mismatch, a malformed or missing file, a
//! database in use by another process, a storage error).

mod error;
mod literal;
mod load;
mod plan;
mod plot;
mod progress;
mod query;
mod quickstart;
mod sql;
mod table_commands;
mod tpch;
mod values;

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tessera::{Db, Options};

use crate::error::{CliError, CliResult};
use crate::progress::Progress;
use crate::query::{Format, QueryOptions, StatementText, io_error, split_statements};
use crate::sql::Origin;

/// Tessera: an embedded storage engine for analytical tables whose layout is learned.
#[derive(Debug, Parser)]
#[command(name = "tessera", version, about, max_term_width = 100)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Load a CSV file (header row, column types inferred) or a Parquet file into a table.
    ///
    /// The format follows the file name: .csv or .parquet. A new table is created with the
    /// file's columns; an existing table takes files whose columns it has (matched by name,
    /// converted to the table's types). Without --primary-key, the table gets a hidden row id
    /// column `_rowid` (Int64) as its key: rows are appended and never replaced, and
    /// `SELECT *` leaves the column out. The file is checked whole before anything is
    /// written, and the command exits 0 only once every row is durable.
    Load {
        /// The database directory (created when missing).
        #[arg(long)]
        db: PathBuf,
        /// The table (created when missing).
        #[arg(long)]
        table: String,
        /// The input file, .csv or .parquet.
        #[arg(long)]
        input: PathBuf,
        /// Primary key columns of a new table, comma-separated; a row whose key exists
        /// replaces it.
        #[arg(long, value_delimiter = ',')]
        primary_key: Option<Vec<String>>,
    },
    /// Run SQL: one statement, or every `;`-terminated statement of a file.
    ///
    /// Accepted: SELECT of columns, * or COUNT(*), COUNT, SUM, MIN, MAX, AVG of a column;
    /// FROM one table; WHERE a conjunction of column-versus-literal comparisons
    /// (= <> < <= > >=, [NOT] BETWEEN, [NOT] IN, IS [NOT] NULL, or an OR of those over one
    /// column); GROUP BY columns; ORDER BY output columns; LIMIT. Literals: numbers,
    /// 'strings', DATE '...', TIMESTAMP '...'. Filters and aggregates run inside the engine's
    /// scan; a WHERE that fixes every primary-key column with = is a point get. Any other
    /// construct is an error naming it and its position, with exit code 2.
    Query {
        /// The database directory.
        #[arg(long)]
        db: PathBuf,
        /// Output format. jsonl prints one object per statement: statement, columns, rows,
        /// elapsed_us, rows_matched, rows_scanned, blocks_scanned, blocks_total, bytes_read
        /// (or statement and error).
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
        /// Run each statement this many times; elapsed_us is the median.
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
        repeat: u32,
        /// Print the plan and what the run did (access path, blocks and rows scanned, time
        /// per phase) instead of the rows; with jsonl, add it as "explain".
        #[arg(long)]
        explain: bool,
        /// Threads each scan reads and filters blocks on, this one included (default: the
        /// machine's parallelism, at most 8); 1 scans on one thread. Answers are the same
        /// whatever the count.
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=256))]
        scan_threads: Option<u32>,
        /// Run every ;-terminated statement of this file, in order.
        #[arg(long, conflicts_with = "sql")]
        file: Option<PathBuf>,
        /// The statement.
        #[arg(required_unless_present = "file")]
        sql: Option<String>,
    },
    /// Show a table's rows, bytes on disk (total and per column), the encodings in use per
    /// column with their block counts, and the layout with its model size.
    Stats {
        /// The database directory.
        #[arg(long)]
        db: PathBuf,
        /// The table.
        #[arg(long)]
        table: String,
        /// Output format; json has the keys rows, bytes_on_disk, columns (each with name,
        /// bytes, encodings) and layout.
        #[arg(long, value_enum, default_value = "table")]
        format: table_commands::StatsFormat,
    },
    /// Learn a layout from the table's workload log and data, rewrite the table into it when
    /// that is estimated to pay, and return once the new layout is live.
    Optimize {
        /// The database directory.
        #[arg(long)]
        db: PathBuf,
        /// The table.
        #[arg(long)]
        table: String,
    },
    /// Draw a table's data over two columns as SVG: point density, with the rectangles of
    /// the queries of a file on top.
    Plot {
        /// The database directory.
        #[arg(long)]
        db: PathBuf,
        /// The table.
        #[arg(long)]
        table: String,
        /// The column on the horizontal axis (numeric, decimal, date or timestamp).
        #[arg(long)]
        x: String,
        /// The column on the vertical axis.
        #[arg(long)]
        y: String,
        /// A file of SQL statements whose filters on the two columns are drawn.
        #[arg(long)]
        queries: Option<PathBuf>,
        /// The output file, .svg.
        #[arg(long)]
        output: PathBuf,
    },
    /// Generate TPC-H lineitem, load it, run a generated workload, and show how to go on.
    Quickstart {
        /// TPC-H scale factor (1 is 6 million rows).
        #[arg(long, default_value_t = 0.1)]
        scale: f64,
        /// Where the database and the files go (default: ./tessera-quickstart).
        #[arg(long, default_value = "tessera-quickstart")]
        dir: PathBuf,
    },
    /// Write TPC-H lineitem at a scale factor to a Parquet or CSV file.
    Generate {
        /// TPC-H scale factor (1 is 6 million rows).
        #[arg(long, default_value_t = 0.1)]
        scale: f64,
        /// The output file, .parquet or .csv.
        #[arg(long)]
        output: PathBuf,
    },
    /// Write a generated workload of SQL statements over TPC-H lineitem, one per line.
    ///
    /// Range scans, point gets, aggregates with and without GROUP BY, ORDER BY with LIMIT:
    /// the statements the quickstart runs and the comparison with other engines uses. Every
    /// ORDER BY orders by all output columns, so results with LIMIT are fully determined.
    Workload {
        /// The table the statements read.
        #[arg(long, default_value = "lineitem")]
        table: String,
        /// How many statements.
        #[arg(long, default_value_t = 300)]
        statements: usize,
        /// TPC-H scale factor of the data (sets the key ranges the statements use).
        #[arg(long, default_value_t = 1.0)]
        scale: f64,
        /// Seed of the generator: the same seed gives the same statements.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// The output file (default: standard output).
        #[arg(long)]
        output: Option<PathBuf>,
    },
}

/// The allocator is the application's choice; glibc's slows down on the small allocations
/// of point reads and result building once decoded chunks have fragmented its heap.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            use clap::error::ErrorKind;
            if matches!(
                error.kind(),
                ErrorKind::DisplayHelp
                    | ErrorKind::DisplayVersion
                    | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            ) {
                let _ = error.print();
                return if error.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                    ExitCode::from(2)
                } else {
                    ExitCode::SUCCESS
                };
            }
            let rendered = error.render().to_string();
            let first = rendered
                .lines()
                .find(|line| !line.trim().is_empty())
                .unwrap_or("invalid arguments")
                .trim_start_matches("error: ");
            report(&CliError::Usage(format!("{first} (see tessera --help)")));
            return ExitCode::from(2);
        }
    };
    // Syntax trees are walked recursively (by the parser, the planner and their drops): a
    // generous stack keeps the statements the parser accepts from overflowing it.
    let worker = std::thread::Builder::new()
        .name("tessera".to_owned())
        .stack_size(STACK_BYTES)
        .spawn(move || run(cli.command));
    let result = match worker {
        Ok(handle) => handle
            .join()
            .unwrap_or_else(|_| Err(CliError::failed("internal error: the command panicked"))),
        Err(error) => Err(CliError::failed(format!("cannot start a thread: {error}"))),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            report(&error);
            error.exit_code()
        }
    }
}

/// Stack of the thread that runs a command.
const STACK_BYTES: usize = 256 << 20;

fn report(error: &CliError) {
    let stderr = std::io::stderr();
    let mut stderr = stderr.lock();
    let _ = writeln!(stderr, "tessera: {}", error.message());
}

/// Opens an existing database.
pub fn open_existing(path: &Path) -> CliResult<Db> {
    open_existing_with(path, Options::default())
}

/// Opens an existing database with these options (never creating it).
fn open_existing_with(path: &Path, options: Options) -> CliResult<Db> {
    if !path.is_dir() {
        return Err(CliError::failed(format!(
            "database {} does not exist",
            path.display()
        )));
    }
    Ok(Db::open(
        path,
        Options {
            create_if_missing: false,
            ..options
        },
    )?)
}

fn run(command: Command) -> CliResult<()> {
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    match command {
        Command::Load {
            db,
            table,
            input,
            primary_key,
        } => {
            if !input.exists() {
                return Err(CliError::failed(format!(
                    "cannot read {}: no such file",
                    input.display()
                )));
            }
            let database = Db::open(&db, Options::default())?;
            let request = load::LoadRequest {
                input,
                table: table.clone(),
                primary_key,
            };
            let summary = load::load(&database, &request, &Progress::detect())?;
            let bytes = database.table(&table)?.stats()?.bytes_on_disk;
            writeln!(
                out,
                "loaded {} rows into {table} in {:.2} s ({:.0} rows/s); {} on disk ({bytes} bytes)",
                summary.rows,
                summary.seconds,
                summary.rows as f64 / summary.seconds.max(1e-9),
                human_bytes(bytes),
            )
            .map_err(io_error)?;
        }
        Command::Query {
            db,
            format,
            repeat,
            explain,
            scan_threads,
            file,
            sql,
        } => {
            let statements = match (file, sql) {
                (Some(file), _) => {
                    let source = std::fs::read_to_string(&file).map_err(|error| {
                        CliError::failed(format!("cannot read {}: {error}", file.display()))
                    })?;
                    split_statements(&source)
                }
                (None, Some(sql)) => vec![StatementText {
                    text: sql,
                    origin: Origin::default(),
                }],
                (None, None) => {
                    return Err(CliError::Usage("give a statement or --file".to_owned()));
                }
            };
            let defaults = Options::default();
            let database = open_existing_with(
                &db,
                Options {
                    scan_threads: scan_threads
                        .and_then(|threads| usize::try_from(threads).ok())
                        .unwrap_or(defaults.scan_threads),
                    ..defaults
                },
            )?;
            let options = QueryOptions {
                format,
                repeat,
                explain,
            };
            let stderr = std::io::stderr();
            let mut err = stderr.lock();
            if let Some(error) = query::run(&database, &statements, &options, &mut out, &mut err)? {
                out.flush().map_err(io_error)?;
                return Err(error);
            }
        }
        Command::Stats { db, table, format } => {
            let database = open_existing(&db)?;
            table_commands::stats(&database, &table, format, &mut out)?;
        }
        Command::Optimize { db, table } => {
            let database = open_existing(&db)?;
            table_commands::optimize(&database, &table, &mut out, &Progress::detect())?;
        }
        Command::Plot {
            db,
            table,
            x,
            y,
            queries,
            output,
        } => {
            let database = open_existing(&db)?;
            let request = plot::PlotRequest {
                table,
                x,
                y,
                queries,
                output: output.clone(),
            };
            let summary = plot::plot(&database, &request)?;
            writeln!(out, "{summary}").map_err(io_error)?;
        }
        Command::Quickstart { scale, dir } => {
            quickstart::quickstart(scale, &dir, &mut out, &Progress::detect())?;
        }
        Command::Generate { scale, output } => {
            let rows = tpch::write_lineitem(scale, &output, &Progress::detect())?;
            writeln!(
                out,
                "wrote {rows} lineitem rows (scale factor {scale}) to {}",
                output.display()
            )
            .map_err(io_error)?;
        }
        Command::Workload {
            table,
            statements,
            scale,
            seed,
            output,
        } => {
            let text = tpch::workload(&table, statements, scale, seed)?.join("\n") + "\n";
            match output {
                Some(path) => std::fs::write(&path, text).map_err(|error| {
                    CliError::failed(format!("cannot write {}: {error}", path.display()))
                })?,
                None => out.write_all(text.as_bytes()).map_err(io_error)?,
            }
        }
    }
    out.flush().map_err(io_error)
}

/// `1.5 MiB`.
pub fn human_bytes(bytes: u64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < units.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", units.get(unit).unwrap_or(&"B"))
    }
}
