//! A small RFC 4180 reader for the files Broker OS imports (sanctions lists, settlement
//! reports): quoted fields, doubled quotes, commas and line breaks inside quotes, CRLF or LF.
//! [`parse`] reads a whole text (the files are a few megabytes at most); [`Reader`] reads one
//! record at a time from a stream, for files too large to hold parsed.

/// One record and the line it starts on (1-based), for error messages.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Record {
    pub line: usize,
    pub fields: Vec<String>,
}

impl Record {
    /// A line with nothing on it, or OFAC's trailing end-of-file marker (0x1A).
    pub fn is_blank(&self) -> bool {
        self.fields
            .iter()
            .all(|f| f.trim().is_empty() || f.trim() == "\u{1a}")
    }
}

/// Why a file is not valid CSV: the line and what is wrong there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvError {
    pub line: usize,
    /// The field (0-based) where the error is.
    pub column: usize,
    pub reason: String,
}

/// Every record of `text`.
pub fn parse(text: &str) -> Result<Vec<Record>, CsvError> {
    let mut reader = Reader::new(text.as_bytes());
    let mut records = Vec::new();
    let mut record = Record::default();
    while reader.read(&mut record)? {
        records.push(std::mem::take(&mut record));
    }
    Ok(records)
}

/// Reads records one at a time from a source, so a file of millions of records (a contest's
/// deals) is never held whole: memory is one physical line and the record being read.
pub struct Reader<R> {
    source: R,
    /// The physical line being read (with its line break), from `pos` on not yet read.
    buf: String,
    pos: usize,
    /// The line number of `buf` (1-based).
    line: usize,
    at_start: bool,
}

fn next_field(record: &mut Record, index: usize) {
    if let Some(field) = record.fields.get_mut(index) {
        field.clear();
    } else {
        record.fields.push(String::new());
    }
}

impl<R: std::io::BufRead> Reader<R> {
    pub fn new(source: R) -> Reader<R> {
        Reader {
            source,
            buf: String::new(),
            pos: 0,
            line: 0,
            at_start: true,
        }
    }

    /// The next physical line; false at the end of the source.
    fn fill(&mut self) -> Result<bool, CsvError> {
        self.buf.clear();
        self.pos = 0;
        let read = self.source.read_line(&mut self.buf).map_err(|e| CsvError {
            line: self.line + 1,
            column: 0,
            reason: format!("cannot read the line: {e}"),
        })?;
        self.line += 1;
        if self.at_start {
            self.at_start = false;
            if self.buf.starts_with('\u{feff}') {
                self.pos = '\u{feff}'.len_utf8();
            }
        }
        Ok(read > 0)
    }

    /// Reads the next record into `record` (its field buffers are reused); false at the end.
    pub fn read(&mut self, record: &mut Record) -> Result<bool, CsvError> {
        // A record starts where the previous one ended: on the line `buf` holds, unless that
        // line is used up, in which case on the next one.
        if self.pos >= self.buf.len() && !self.fill()? {
            return Ok(false);
        }
        record.line = self.line;
        let mut used = 0;
        next_field(record, 0);
        let (mut in_quotes, mut after_quote) = (false, false);
        let (mut quote_line, mut quote_column) = (0, 0);
        loop {
            if self.pos >= self.buf.len() {
                if self.fill()? {
                    continue;
                }
                if in_quotes {
                    return Err(CsvError {
                        line: quote_line,
                        column: quote_column,
                        reason: "a quoted field is never closed".into(),
                    });
                }
                // The last record has no line break after it; nothing at all is no record.
                let empty = used == 0 && record.fields[0].is_empty();
                record.fields.truncate(used + 1);
                return Ok(!empty);
            }
            let bytes = self.buf.as_bytes();
            let at = self.pos;
            if in_quotes {
                let end = bytes[at..]
                    .iter()
                    .position(|b| *b == b'"' || *b == b'\n')
                    .map_or(bytes.len(), |n| at + n);
                record.fields[used].push_str(&self.buf[at..end]);
                self.pos = end;
                match bytes.get(end) {
                    Some(b'"') if bytes.get(end + 1) == Some(&b'"') => {
                        record.fields[used].push('"');
                        self.pos = end + 2;
                    }
                    Some(b'"') => {
                        in_quotes = false;
                        after_quote = true;
                        self.pos = end + 1;
                    }
                    Some(_) => {
                        record.fields[used].push('\n');
                        self.pos = end + 1;
                    }
                    None => {}
                }
                continue;
            }
            match bytes[at] {
                b'"' if !after_quote && record.fields[used].trim().is_empty() => {
                    record.fields[used].clear();
                    in_quotes = true;
                    quote_line = self.line;
                    quote_column = used;
                    self.pos += 1;
                }
                b'"' => {
                    return Err(CsvError {
                        line: self.line,
                        column: used,
                        reason: "a quote inside an unquoted field".into(),
                    });
                }
                b',' => {
                    used += 1;
                    next_field(record, used);
                    after_quote = false;
                    self.pos += 1;
                }
                b'\r' if bytes.get(at + 1) == Some(&b'\n') => self.pos += 1,
                b'\n' | b'\r' => {
                    self.pos += 1;
                    if self.pos < self.buf.len() {
                        // A lone carriage return ends a line inside the physical one.
                        self.line += 1;
                    }
                    record.fields.truncate(used + 1);
                    return Ok(true);
                }
                _ if after_quote => {
                    let c = self.buf[at..].chars().next().expect("a character");
                    if !c.is_whitespace() {
                        return Err(CsvError {
                            line: self.line,
                            column: used,
                            reason: "text after the closing quote of a field".into(),
                        });
                    }
                    self.pos += c.len_utf8();
                }
                _ => {
                    let end = bytes[at..]
                        .iter()
                        .position(|b| matches!(b, b',' | b'"' | b'\n' | b'\r'))
                        .map_or(bytes.len(), |n| at + n);
                    record.fields[used].push_str(&self.buf[at..end]);
                    self.pos = end;
                }
            }
        }
    }
}

/// A text field as written to a CSV file: quoted when needed, and a leading `=`, `+`, `-` or
/// `@` defused with a `'` so a spreadsheet that opens the file shows it rather than running it
/// as a formula. (Numbers are written as they are: none needs quoting.)
pub fn text_field(value: &str) -> std::borrow::Cow<'_, str> {
    // Bytes, not chars: these are ASCII, which no byte of a multi-byte character can be.
    let value: std::borrow::Cow<str> =
        if matches!(value.as_bytes().first(), Some(b'=' | b'+' | b'-' | b'@')) {
            format!("'{value}").into()
        } else {
            value.into()
        };
    if value
        .bytes()
        .any(|b| matches!(b, b',' | b'"' | b'\n' | b'\r'))
    {
        format!("\"{}\"", value.replace('"', "\"\"")).into()
    } else {
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_fields_with_commas_quotes_and_line_breaks() {
        let records =
            parse("1,\"DOE, John\",\"said \"\"hi\"\"\"\r\n2,\"two\nlines\",x\n\n3,-0- ,").unwrap();
        assert_eq!(records.len(), 4);
        assert_eq!(records[0].fields, ["1", "DOE, John", "said \"hi\""]);
        assert_eq!(records[1].fields, ["2", "two\nlines", "x"]);
        assert!(records[2].is_blank());
        assert_eq!(records[2].line, 4);
        assert_eq!(records[3].fields, ["3", "-0- ", ""]);
        assert_eq!(records[3].line, 5);
    }

    #[test]
    fn the_reader_streams_the_records_parse_reads_reusing_one_record() {
        let text = "\u{feff}id,name\r\n1,\"DOE,\r\n John\"\n2,x\r3,\"\"\"q\"\"\" , z\n\n4,last";
        let source = std::io::BufReader::with_capacity(4, text.as_bytes());
        let mut reader = Reader::new(source);
        let mut record = Record::default();
        let mut streamed = Vec::new();
        while reader.read(&mut record).unwrap() {
            streamed.push(record.clone());
        }
        assert_eq!(streamed, parse(text).unwrap());
        let shown: Vec<(usize, Vec<&str>)> = streamed
            .iter()
            .map(|r| (r.line, r.fields.iter().map(String::as_str).collect()))
            .collect();
        assert_eq!(
            shown,
            [
                (1, vec!["id", "name"]),
                (2, vec!["1", "DOE,\r\n John"]),
                (4, vec!["2", "x"]),
                (5, vec!["3", "\"q\"", " z"]),
                (6, vec![""]),
                (7, vec!["4", "last"]),
            ]
        );
    }

    #[test]
    fn text_fields_are_quoted_when_needed_and_formulas_defused() {
        assert_eq!(text_field("alice"), "alice");
        assert_eq!(text_field("DOE, John"), "\"DOE, John\"");
        assert_eq!(text_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(text_field("=HYPERLINK(1)"), "'=HYPERLINK(1)");
        assert_eq!(text_field("-1,5"), "\"'-1,5\"");
    }

    #[test]
    fn malformed_quotes_name_their_line() {
        let unclosed = parse("a,b\n\"open,c\n").unwrap_err();
        assert_eq!((unclosed.line, unclosed.column), (2, 0));
        assert_eq!(parse("a,b\nc,d\"e\n").unwrap_err().line, 2);
        assert_eq!(parse("\"a\"b,c").unwrap_err().line, 1);
    }
}
