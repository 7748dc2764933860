//! `tessera`, the command line. It will own loading CSV and Parquet into tables, SQL queries
//! with `explain`, `optimize`, `stats`, `plot` and `quickstart`, all through the `tessera`
//! crate. Until those commands land it reports its version and says so, rather than
//! pretending to do work.

use std::process::ExitCode;

fn main() -> ExitCode {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    match arguments.first().map(String::as_str) {
        Some("--version" | "-V") => {
            #[expect(clippy::print_stdout, reason = "the version is the program's output")]
            {
                println!("tessera {}", env!("CARGO_PKG_VERSION"));
            }
            ExitCode::SUCCESS
        }
        _ => {
            #[expect(clippy::print_stderr, reason = "usage errors go to standard error")]
            {
                eprintln!(
                    "tessera {}: no commands are available yet; the codec report runs with \
                     `bash scripts/run.sh main`",
                    env!("CARGO_PKG_VERSION")
                );
            }
            ExitCode::from(2)
        }
    }
}
