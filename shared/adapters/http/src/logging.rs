//! Structured JSON logs. Every line passes through [`redact`] before it is written, so an email
//! or phone number that reaches a log message by any path is masked.

use std::io::{self, Write};
use std::sync::OnceLock;

use regex::Regex;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

fn patterns() -> &'static (Regex, Regex, Regex) {
    static PATTERNS: OnceLock<(Regex, Regex, Regex)> = OnceLock::new();
    PATTERNS.get_or_init(|| {
        (
            Regex::new(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}").expect("email pattern"),
            // International numbers (what Broker OS stores), and national numbers written in
            // groups ("020 7946 0958"); dates ("2026-11-24") have a two-digit middle group.
            Regex::new(r"\+\d[\d \-().]{5,}\d|\(?\b\d{2,5}\)?[ \-.]\d{3,4}[ \-.]?\d{3,5}\b")
                .expect("phone pattern"),
            // UUIDs (event and correlation ids), whose digit groups can look like a phone's.
            Regex::new(
                r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}",
            )
            .expect("uuid pattern"),
        )
    })
}

/// Masks emails (keeping the first character and the domain) and phone numbers (keeping the
/// last two digits); UUIDs are left whole.
pub fn redact(line: &str) -> String {
    let (email, phone, uuid) = patterns();
    let masked = email.replace_all(line, |c: &regex::Captures<'_>| {
        let whole = &c[0];
        let (local, domain) = whole.split_once('@').unwrap_or((whole, ""));
        format!("{}***@{domain}", local.chars().next().unwrap_or('*'))
    });
    let ids: Vec<std::ops::Range<usize>> = uuid.find_iter(&masked).map(|m| m.range()).collect();
    phone
        .replace_all(&masked, |c: &regex::Captures<'_>| {
            let found = c.get(0).expect("the whole match");
            let in_id = ids
                .iter()
                .any(|id| found.start() < id.end && id.start < found.end());
            let digits: Vec<char> = c[0].chars().filter(char::is_ascii_digit).collect();
            // A decimal number (units and NAVs carry eight decimals: "2981.81818181") is one
            // run of digits around one point; a number written in groups has more separators.
            let decimal = c[0].chars().filter(|ch| !ch.is_ascii_digit()).eq(['.']);
            // Timestamps and ids in a log line are digit runs too: only mask what could dial.
            if in_id || decimal || digits.len() < 7 || digits.len() > 15 {
                return c[0].to_string();
            }
            let tail: String = digits[digits.len() - 2..].iter().collect();
            format!("***{tail}")
        })
        .into_owned()
}

/// A writer that redacts each complete line it is given.
pub struct RedactingWriter<W: Write> {
    inner: W,
}

impl<W: Write> Write for RedactingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        self.inner.write_all(redact(&text).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

pub struct RedactingStdout;

impl<'a> MakeWriter<'a> for RedactingStdout {
    type Writer = RedactingWriter<io::Stdout>;

    fn make_writer(&'a self) -> Self::Writer {
        RedactingWriter {
            inner: io::stdout(),
        }
    }
}

/// JSON logs on stdout, filtered by `RUST_LOG` (default `info`). Safe to call more than once.
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(false)
        .with_target(false)
        .with_writer(RedactingStdout)
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_not_taken_for_phone_numbers() {
        let line = r#"{"correlation_id":"01a24d3c-1024-7442-9154-7327525588fa","msg":"call +44 20 7946 0958"}"#;
        let out = redact(line);
        assert!(
            out.contains("01a24d3c-1024-7442-9154-7327525588fa"),
            "{out}"
        );
        assert!(!out.contains("7946"), "{out}");
    }

    #[test]
    fn decimal_numbers_are_not_taken_for_phone_numbers() {
        let line = r#"{"units":"2981.81818181","nav":"1.10000000003","phone":"020.7946.0958"}"#;
        let out = redact(line);
        assert!(out.contains("2981.81818181"), "{out}");
        assert!(out.contains("1.10000000003"), "{out}");
        assert!(!out.contains("7946"), "{out}");
    }

    #[test]
    fn masks_emails_and_phones_but_not_times() {
        let line = r#"{"timestamp":"2026-11-24T09:31:23.123Z","msg":"lead from John.Doe@example.com tel +44 20 7946 0958 or 020 7946 0957","latency_us":1234567}"#;
        let out = redact(line);
        assert!(!out.contains("John.Doe@"), "{out}");
        assert!(out.contains("J***@example.com"), "{out}");
        assert!(!out.contains("7946"), "{out}");
        assert!(out.contains("***58"), "{out}");
        assert!(out.contains("***57"), "{out}");
        assert!(out.contains("1234567"), "{out}");
        assert!(out.contains("2026-11-24T09:31:23.123Z"), "{out}");
    }
}
