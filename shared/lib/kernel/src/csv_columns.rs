//! CSV files of records read column by column: a header that places the named columns in any
//! order (others are ignored), cells read as amounts, whole numbers, times or one of a set of
//! names, and refusals that name the file, the line and the column, so the person who wrote the
//! file fixes the right cell. The offline tools read their files through it.

use std::fmt;

use rust_decimal::Decimal;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::Error;
use crate::csv::{CsvError, Record};
use crate::money::parse_amount;

/// Why a file cannot be read: where, and what is wrong there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileError {
    pub file: String,
    /// 1-based; 0 when the file could not be read at all.
    pub line: usize,
    /// 1-based, when one cell is at fault.
    pub column: Option<usize>,
    /// The column's name, when the header gave it.
    pub column_name: Option<String>,
    pub code: String,
    pub message: String,
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if self.line > 0 {
            write!(f, ": line {}", self.line)?;
        }
        if let Some(column) = self.column {
            write!(f, ", column {column}")?;
        }
        if let Some(name) = &self.column_name {
            write!(f, " ({name})")?;
        }
        write!(f, ": {} ({})", self.message, self.code)
    }
}

impl std::error::Error for FileError {}

impl FileError {
    /// The reader's refusal of malformed CSV.
    pub fn csv(file: &str, error: CsvError) -> FileError {
        FileError {
            file: file.to_string(),
            line: error.line,
            column: Some(error.column + 1),
            column_name: None,
            code: "invalid_csv".into(),
            message: error.reason,
        }
    }

    pub fn at(file: &str, line: usize, code: &str, message: impl Into<String>) -> FileError {
        FileError {
            file: file.to_string(),
            line,
            column: None,
            column_name: None,
            code: code.to_string(),
            message: message.into(),
        }
    }
}

/// A file's columns as its header places them.
#[derive(Debug, Clone)]
pub struct Columns<const N: usize> {
    file: String,
    names: [&'static str; N],
    at: [usize; N],
}

impl<const N: usize> Columns<N> {
    /// Reads the header record; a missing or repeated column is refused by name.
    pub fn from_header(
        file: &str,
        header: &Record,
        names: [&'static str; N],
    ) -> Result<Columns<N>, FileError> {
        let mut at = [0; N];
        for (slot, name) in at.iter_mut().zip(names) {
            let mut found = header
                .fields
                .iter()
                .enumerate()
                .filter(|(_, f)| f.trim() == name);
            *slot = match (found.next(), found.next()) {
                (Some((i, _)), None) => i,
                (None, _) => {
                    return Err(FileError::at(
                        file,
                        header.line,
                        "missing_column",
                        format!(
                            "the header has no column {name} (it needs {})",
                            names.join(",")
                        ),
                    ));
                }
                (Some(_), Some((i, _))) => {
                    let mut error = FileError::at(
                        file,
                        header.line,
                        "repeated_column",
                        format!("the header names {name} twice"),
                    );
                    error.column = Some(i + 1);
                    return Err(error);
                }
            };
        }
        Ok(Columns {
            file: file.to_string(),
            names,
            at,
        })
    }

    pub fn file(&self) -> &str {
        &self.file
    }

    /// The refusal of column `column` (by its place in `names`) of `record`.
    pub fn error(&self, record: &Record, column: usize, error: Error) -> FileError {
        let (code, message) = match error {
            Error::Validation { code, message, .. } => (code.to_string(), message),
            other => (other.body().code, other.to_string()),
        };
        FileError {
            file: self.file.clone(),
            line: record.line,
            column: Some(self.at[column] + 1),
            column_name: Some(self.names[column].to_string()),
            code,
            message,
        }
    }

    /// The trimmed text of column `column` of `record`.
    pub fn cell<'r>(&self, record: &'r Record, column: usize) -> Result<&'r str, FileError> {
        record
            .fields
            .get(self.at[column])
            .map(|f| f.trim())
            .ok_or_else(|| {
                self.error(
                    record,
                    column,
                    Error::invalid(
                        "missing_value",
                        self.names[column],
                        format!("the line has no {}", self.names[column]),
                    ),
                )
            })
    }

    /// Column `column` as an amount (the kernel's amount grammar).
    pub fn amount(&self, record: &Record, column: usize) -> Result<Decimal, FileError> {
        let text = self.cell(record, column)?;
        parse_amount(self.names[column], text).map_err(|e| self.error(record, column, e))
    }

    /// Column `column` as a whole number.
    pub fn number(&self, record: &Record, column: usize) -> Result<u64, FileError> {
        let text = self.cell(record, column)?;
        text.parse().map_err(|_| {
            self.error(
                record,
                column,
                Error::invalid(
                    "invalid_number",
                    self.names[column],
                    format!("'{}' is not a whole number", shown(text)),
                ),
            )
        })
    }

    /// Column `column` as a time: RFC 3339 in UTC, or milliseconds since the epoch.
    pub fn time(&self, record: &Record, column: usize) -> Result<OffsetDateTime, FileError> {
        let text = self.cell(record, column)?;
        read_time(text).ok_or_else(|| {
            self.error(
                record,
                column,
                Error::invalid(
                    "invalid_time",
                    self.names[column],
                    format!(
                        "'{}' is neither an RFC 3339 UTC time (2026-06-15T09:30:00Z) nor milliseconds since the epoch",
                        shown(text)
                    ),
                ),
            )
        })
    }
}

/// A cell's text as a refusal quotes it: at most 40 characters.
pub fn shown(text: &str) -> String {
    text.chars().take(40).collect()
}

/// Milliseconds since the epoch, or an RFC 3339 time in UTC.
fn read_time(text: &str) -> Option<OffsetDateTime> {
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        let millis: i128 = text.parse().ok()?;
        return OffsetDateTime::from_unix_timestamp_nanos(millis * 1_000_000).ok();
    }
    let at = OffsetDateTime::parse(text, &Rfc3339).ok()?;
    at.offset().is_utc().then_some(at)
}

/// The choice `text` names (any case), or why it names none.
pub fn one_of<T: Copy>(text: &str, choices: &[(&str, T)]) -> Result<T, String> {
    choices
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(text))
        .map(|(_, value)| *value)
        .ok_or_else(|| {
            let names: Vec<&str> = choices.iter().map(|c| c.0).collect();
            format!("'{}' is not one of {}", shown(text), names.join(", "))
        })
}
