//! Periods of UTC days that reports and searches read: `from` to `to`, both included, written
//! `YYYY-MM-DD`, at most a given number of days (what bounds the read).

use time::Date;
use time::macros::format_description;

use crate::{Error, Result};

/// A UTC day written `YYYY-MM-DD`; an error naming `field` otherwise.
pub fn parse_day(field: &str, text: &str) -> Result<Date> {
    Date::parse(text, format_description!("[year]-[month]-[day]")).map_err(|_| {
        Error::invalid(
            "invalid_date",
            field,
            format!("{field} must be a day written YYYY-MM-DD, not '{text}'"),
        )
    })
}

/// The days `from` to `to` (fields `from` and `to`), checked: both days valid, `from` not after
/// `to`, at most `max_days` days counting both.
pub fn days(from: &str, to: &str, max_days: i64) -> Result<(Date, Date)> {
    let from = parse_day("from", from)?;
    let to = parse_day("to", to)?;
    if to < from {
        return Err(Error::invalid(
            "invalid_period",
            "to",
            "to must not be before from",
        ));
    }
    if (to - from).whole_days() + 1 > max_days {
        return Err(Error::invalid(
            "period_too_long",
            "to",
            format!("a period covers at most {max_days} days"),
        ));
    }
    Ok((from, to))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_period_is_two_valid_days_in_order_and_at_most_the_bound() {
        assert!(days("2026-01-01", "2026-01-01", 93).is_ok());
        assert!(days("2026-01-01", "2026-04-03", 93).is_ok(), "93 days");
        let refused = [
            ("2026-01-01", "2026-04-04", "period_too_long", "to"),
            ("2026-01-02", "2026-01-01", "invalid_period", "to"),
            ("2026-02-30", "2026-03-01", "invalid_date", "from"),
            ("2026-01-01", "01/02/2026", "invalid_date", "to"),
        ];
        for (from, to, code, field) in refused {
            let error = days(from, to, 93).unwrap_err();
            assert_eq!(error.code(), code, "{from}..{to}");
            assert_eq!(error.body().field.as_deref(), Some(field), "{from}..{to}");
        }
    }
}
