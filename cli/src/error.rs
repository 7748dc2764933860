//! The command line's one error type. Every failure becomes one line on standard error and an
//! exit code: 2 for what the user asked in a form `tessera` does not take (bad arguments, SQL
//! it does not parse or support), 1 for everything that failed while doing what was asked
//! (unknown tables and columns, type mismatches, malformed input files, storage errors).

use std::fmt;
use std::process::ExitCode;

/// A failure of a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CliError {
    /// The request cannot be taken as written: exit code 2.
    Usage(String),
    /// The request failed: exit code 1.
    Failed(String),
}

/// The result of every fallible step of a command.
pub type CliResult<T> = Result<T, CliError>;

impl CliError {
    /// An unsupported SQL construct, named, at a 1-based position of the statement text.
    pub fn unsupported(what: impl fmt::Display, line: u64, column: u64) -> Self {
        if line == 0 {
            Self::Usage(format!("unsupported: {what}"))
        } else {
            Self::Usage(format!(
                "unsupported: {what} at line {line}, column {column}"
            ))
        }
    }

    /// A failure with a message.
    pub fn failed(message: impl fmt::Display) -> Self {
        Self::Failed(message.to_string())
    }

    /// The exit code for this error.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            Self::Usage(_) => ExitCode::from(2),
            Self::Failed(_) => ExitCode::from(1),
        }
    }

    /// Whether this is a usage error (exit code 2).
    pub fn is_usage(&self) -> bool {
        matches!(self, Self::Usage(_))
    }

    /// The message, on one line.
    pub fn message(&self) -> String {
        let (Self::Usage(message) | Self::Failed(message)) = self;
        one_line(message)
    }

    /// The same error with `context: ` before its message.
    pub fn context(self, context: impl fmt::Display) -> Self {
        match self {
            Self::Usage(message) => Self::Usage(format!("{context}: {message}")),
            Self::Failed(message) => Self::Failed(format!("{context}: {message}")),
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.message())
    }
}

impl std::error::Error for CliError {}

impl From<tessera::Error> for CliError {
    fn from(error: tessera::Error) -> Self {
        Self::Failed(error.to_string())
    }
}

impl From<arrow::error::ArrowError> for CliError {
    fn from(error: arrow::error::ArrowError) -> Self {
        Self::Failed(error.to_string())
    }
}

impl From<parquet::errors::ParquetError> for CliError {
    fn from(error: parquet::errors::ParquetError) -> Self {
        Self::Failed(error.to_string())
    }
}

/// Replaces line breaks with spaces so a message is one line.
pub fn one_line(message: &str) -> String {
    message
        .trim()
        .chars()
        .map(|c| if c == '\n' || c == '\r' { ' ' } else { c })
        .collect()
}
