//! Keys of what every context shares: idempotency records, audit streams and their day
//! index, and the time-ordered sort keys of every index. Each context's own items are keyed in
//! its repository (see the key table in docs/ARCHITECTURE.md).

use brokeros_store::Key;
use time::OffsetDateTime;
use time::macros::format_description;

pub fn idempotency(scope: &str, key: &str) -> Key {
    Key::new(format!("IDEM#{scope}#{key}"), "IDEM")
}

pub fn audit_stream(entity_type: &str, entity_id: &str) -> String {
    format!("{entity_type}#{entity_id}")
}

pub fn audit_seq(seq: u64) -> String {
    format!("{seq:012}")
}

pub fn audit_day(at: OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    format!(
        "DAY#{:04}-{:02}-{:02}",
        at.year(),
        u8::from(at.month()),
        at.day()
    )
}

/// An index sort key that orders items by `at`, ties broken by `id`.
pub fn by_time(at: OffsetDateTime, id: &str) -> String {
    format!("{}#{id}", sortable_time(at))
}

/// A fixed-width UTC timestamp, so index sort keys order by time as text.
pub fn sortable_time(at: OffsetDateTime) -> String {
    at.to_offset(time::UtcOffset::UTC)
        .format(format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z"
        ))
        .expect("a UTC timestamp formats")
}

/// A UTC day as it appears in keys: `yyyy-mm-dd`.
pub fn utc_day(day: time::Date) -> String {
    format!(
        "{:04}-{:02}-{:02}",
        day.year(),
        u8::from(day.month()),
        day.day()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn sortable_time_is_fixed_width_and_ordered() {
        let a = sortable_time(datetime!(2026-11-24 09:00:00 UTC));
        let b = sortable_time(datetime!(2026-11-24 09:00:00.5 UTC));
        assert_eq!(a, "2026-11-24T09:00:00.000000Z");
        assert!(a < b);
        assert_eq!(
            audit_day(datetime!(2026-11-24 23:59:59 -01:00)),
            "DAY#2026-11-25"
        );
    }
}
