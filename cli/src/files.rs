//! The files the offline tools read: CSV files of records after a header, and JSON documents,
//! each refusal naming the file (and the line, column or field).

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use brokeros_kernel::csv::{Reader, Record};
use brokeros_kernel::csv_columns::FileError;

/// Calls `row` with each record of the CSV file at `path` after its header, which `header`
/// reads; blank lines are skipped.
pub(crate) fn each_record<C>(
    path: &Path,
    header: impl Fn(&str, &Record) -> Result<C, FileError>,
    mut row: impl FnMut(&C, &Record) -> Result<(), FileError>,
) -> Result<(), String> {
    let name = path.display().to_string();
    let file = File::open(path).map_err(|e| format!("cannot read {name}: {e}"))?;
    let mut reader = Reader::new(BufReader::with_capacity(1 << 20, file));
    let mut record = Record::default();
    let mut columns = None;
    while reader
        .read(&mut record)
        .map_err(|e| FileError::csv(&name, e).to_string())?
    {
        if record.is_blank() {
            continue;
        }
        match &columns {
            None => columns = Some(header(&name, &record).map_err(|e| e.to_string())?),
            Some(columns) => row(columns, &record).map_err(|e| e.to_string())?,
        }
    }
    if columns.is_none() {
        return Err(format!(
            "{name}: the file is empty (it needs a header line)"
        ));
    }
    Ok(())
}

/// A document's refusal: the file, the field when the check names one, what and why.
pub(crate) fn document_error(path: &Path, error: &brokeros_kernel::Error) -> String {
    let body = error.body();
    match body.field {
        Some(field) => format!(
            "{}: {field}: {} ({})",
            path.display(),
            body.message,
            body.code
        ),
        None => format!("{}: {} ({})", path.display(), body.message, body.code),
    }
}
