//! A small RFC 4180 reader for the files Broker OS imports (sanctions lists, settlement
//! reports): quoted fields, doubled quotes, commas and line breaks inside quotes, CRLF or LF.
//! The files are a few megabytes at most, so records are read whole.

/// One record and the line it starts on (1-based), for error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
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

pub fn parse(text: &str) -> Result<Vec<Record>, CsvError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut records = Vec::new();
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut chars = text.chars().peekable();
    let (mut line, mut record_line, mut quote_line) = (1usize, 1usize, 1usize);
    let (mut in_quotes, mut after_quote) = (false, false);
    let mut quote_column = 0;
    while let Some(c) = chars.next() {
        if in_quotes {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => {
                    in_quotes = false;
                    after_quote = true;
                }
                '\n' => {
                    line += 1;
                    field.push('\n');
                }
                _ => field.push(c),
            }
            continue;
        }
        match c {
            '"' if field.trim().is_empty() && !after_quote => {
                field.clear();
                in_quotes = true;
                quote_line = line;
                quote_column = fields.len();
            }
            '"' => {
                return Err(CsvError {
                    line,
                    column: fields.len(),
                    reason: "a quote inside an unquoted field".into(),
                });
            }
            ',' => {
                fields.push(std::mem::take(&mut field));
                after_quote = false;
            }
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' | '\r' => {
                fields.push(std::mem::take(&mut field));
                records.push(Record {
                    line: record_line,
                    fields: std::mem::take(&mut fields),
                });
                line += 1;
                record_line = line;
                after_quote = false;
            }
            c if after_quote && c.is_whitespace() => {}
            _ if after_quote => {
                return Err(CsvError {
                    line,
                    column: fields.len(),
                    reason: "text after the closing quote of a field".into(),
                });
            }
            _ => field.push(c),
        }
    }
    if in_quotes {
        return Err(CsvError {
            line: quote_line,
            column: quote_column,
            reason: "a quoted field is never closed".into(),
        });
    }
    if !field.is_empty() || !fields.is_empty() {
        fields.push(field);
        records.push(Record {
            line: record_line,
            fields,
        });
    }
    Ok(records)
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
    fn malformed_quotes_name_their_line() {
        let unclosed = parse("a,b\n\"open,c\n").unwrap_err();
        assert_eq!((unclosed.line, unclosed.column), (2, 0));
        assert_eq!(parse("a,b\nc,d\"e\n").unwrap_err().line, 2);
        assert_eq!(parse("\"a\"b,c").unwrap_err().line, 1);
    }
}
