//! When rollovers happen: every day, or every week on one weekday, at a time of the trading
//! server's clock (servers keep their own offset from UTC, e.g. +02:00), and which rollover a
//! request made at a given time is executed at (the first one at least the cut-off after it).

use serde::{Deserialize, Serialize};
use time::{Date, Duration, OffsetDateTime, Time, UtcOffset, Weekday};

use brokeros_kernel::{Error, Result};

/// How often: every day, or weekly on the named day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = PammEvery)]
#[serde(rename_all = "snake_case")]
pub enum Every {
    Day,
    Monday,
    Tuesday,
    Wednesday,
    Thursday,
    Friday,
    Saturday,
    Sunday,
}

impl Every {
    fn weekday(self) -> Option<Weekday> {
        match self {
            Every::Day => None,
            Every::Monday => Some(Weekday::Monday),
            Every::Tuesday => Some(Weekday::Tuesday),
            Every::Wednesday => Some(Weekday::Wednesday),
            Every::Thursday => Some(Weekday::Thursday),
            Every::Friday => Some(Weekday::Friday),
            Every::Saturday => Some(Weekday::Saturday),
            Every::Sunday => Some(Weekday::Sunday),
        }
    }
}

/// A rollover schedule: `{"every": "day", "at": "00:00", "utc_offset": "+02:00"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = PammSchedule)]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    pub every: Every,
    /// Server time, `HH:MM`.
    pub at: String,
    /// The server's offset from UTC, `+HH:MM` or `-HH:MM`.
    pub utc_offset: String,
}

fn parse_time(text: &str) -> Option<Time> {
    let (h, m) = text.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    Time::from_hms(h.parse().ok()?, m.parse().ok()?, 0).ok()
}

fn parse_offset(text: &str) -> Option<UtcOffset> {
    let (sign, rest) = match text.as_bytes().first()? {
        b'+' => (1, &text[1..]),
        b'-' => (-1, &text[1..]),
        _ => return None,
    };
    let (h, m) = rest.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (i8, i8) = (h.parse().ok()?, m.parse().ok()?);
    if h > 14 || m > 59 {
        return None;
    }
    UtcOffset::from_hms(sign * h, sign * m, 0).ok()
}

impl Schedule {
    pub fn validate(&self) -> Result<()> {
        self.parts().map(|_| ())
    }

    fn parts(&self) -> Result<(Time, UtcOffset)> {
        let at = parse_time(&self.at).ok_or_else(|| {
            Error::invalid(
                "invalid_time",
                "rollover.at",
                "rollover.at is a server time HH:MM",
            )
        })?;
        let offset = parse_offset(&self.utc_offset).ok_or_else(|| {
            Error::invalid(
                "invalid_offset",
                "rollover.utc_offset",
                "rollover.utc_offset is the server's offset from UTC, +HH:MM or -HH:MM",
            )
        })?;
        Ok((at, offset))
    }

    /// The first rollover at or after `t`.
    pub fn first_at_or_after(&self, t: OffsetDateTime) -> Result<OffsetDateTime> {
        let (at, offset) = self.parts()?;
        let local = t.to_offset(offset);
        let mut day: Date = local.date();
        // At most eight days ahead holds the next weekly rollover.
        for _ in 0..9 {
            let candidate = day.with_time(at).assume_offset(offset);
            let on_day = self.every.weekday().is_none_or(|w| day.weekday() == w);
            if on_day && candidate >= t {
                return Ok(candidate.to_offset(UtcOffset::UTC));
            }
            day = day
                .next_day()
                .ok_or_else(|| Error::Internal("date out of range".into()))?;
        }
        Err(Error::Internal("no rollover within nine days".into()))
    }

    /// The first rollover strictly after `t`.
    pub fn next_after(&self, t: OffsetDateTime) -> Result<OffsetDateTime> {
        self.first_at_or_after(t + Duration::seconds(1))
    }

    /// The rollover a request made at `requested_at` is executed at: the first one at least
    /// `cutoff` after it.
    pub fn executes_at(
        &self,
        requested_at: OffsetDateTime,
        cutoff: Duration,
    ) -> Result<OffsetDateTime> {
        self.first_at_or_after(requested_at + cutoff)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn schedule(every: Every) -> Schedule {
        Schedule {
            every,
            at: "00:00".into(),
            utc_offset: "+02:00".into(),
        }
    }

    #[test]
    fn a_daily_rollover_is_at_server_midnight() {
        let s = schedule(Every::Day);
        // Server midnight at +02:00 is 22:00 UTC the day before.
        assert_eq!(
            s.first_at_or_after(datetime!(2026-12-07 21:00 UTC))
                .unwrap(),
            datetime!(2026-12-07 22:00 UTC)
        );
        assert_eq!(
            s.first_at_or_after(datetime!(2026-12-07 22:00 UTC))
                .unwrap(),
            datetime!(2026-12-07 22:00 UTC)
        );
        assert_eq!(
            s.next_after(datetime!(2026-12-07 22:00 UTC)).unwrap(),
            datetime!(2026-12-08 22:00 UTC)
        );
    }

    #[test]
    fn a_request_after_the_cutoff_waits_for_the_next_rollover() {
        let s = schedule(Every::Day);
        let cutoff = Duration::minutes(60);
        assert_eq!(
            s.executes_at(datetime!(2026-12-07 20:59 UTC), cutoff)
                .unwrap(),
            datetime!(2026-12-07 22:00 UTC)
        );
        assert_eq!(
            s.executes_at(datetime!(2026-12-07 21:01 UTC), cutoff)
                .unwrap(),
            datetime!(2026-12-08 22:00 UTC)
        );
    }

    #[test]
    fn a_weekly_rollover_is_on_its_weekday_in_server_time() {
        let s = Schedule {
            every: Every::Friday,
            at: "23:30".into(),
            utc_offset: "+03:00".into(),
        };
        // Monday 2026-12-07; Friday 23:30 at +03:00 is 20:30 UTC on 2026-12-11.
        assert_eq!(
            s.first_at_or_after(datetime!(2026-12-07 00:00 UTC))
                .unwrap(),
            datetime!(2026-12-11 20:30 UTC)
        );
        assert_eq!(
            s.next_after(datetime!(2026-12-11 20:30 UTC)).unwrap(),
            datetime!(2026-12-18 20:30 UTC)
        );
    }

    #[test]
    fn bad_times_and_offsets_name_their_field() {
        for (at, offset, field) in [
            ("24:00", "+02:00", "rollover.at"),
            ("7:00", "+02:00", "rollover.at"),
            ("07:00", "02:00", "rollover.utc_offset"),
            ("07:00", "+15:00", "rollover.utc_offset"),
        ] {
            let s = Schedule {
                every: Every::Day,
                at: at.into(),
                utc_offset: offset.into(),
            };
            match s.validate().unwrap_err() {
                Error::Validation { field: Some(f), .. } => assert_eq!(f, field),
                other => panic!("{other:?}"),
            }
        }
    }
}
