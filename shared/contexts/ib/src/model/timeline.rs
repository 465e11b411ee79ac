//! A value that changes at effective times: an IB's parent, standing and plans, a client's IB.
//! What counted for a deal is the value in force at the deal's time, so a change never rewrites
//! what was earned before it.

use brokeros_kernel::{Error, Result};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Milliseconds since the Unix epoch, the time unit of deals (MT5's `TimeMsc`).
pub type Millis = i64;

/// A value in force from `from_msc` until the next entry's time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Dated<T> {
    pub from_msc: Millis,
    pub value: T,
}

/// Entries in strictly increasing time; before the first one there is no value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(transparent)]
pub struct Timeline<T>(Vec<Dated<T>>);

impl<T> Default for Timeline<T> {
    fn default() -> Self {
        Timeline(Vec::new())
    }
}

impl<T> Timeline<T> {
    /// A timeline with one value from `from_msc` on.
    pub fn starting(from_msc: Millis, value: T) -> Timeline<T> {
        Timeline(vec![Dated { from_msc, value }])
    }

    /// Builds a timeline from entries, refusing times that do not strictly increase.
    pub fn from_entries(field: &str, entries: Vec<Dated<T>>) -> Result<Timeline<T>> {
        if entries.windows(2).any(|w| w[0].from_msc >= w[1].from_msc) {
            return Err(Error::invalid(
                "timeline_out_of_order",
                field,
                format!("{field}: effective times must strictly increase"),
            ));
        }
        Ok(Timeline(entries))
    }

    /// The value in force at `at`.
    pub fn at(&self, at: Millis) -> Option<&T> {
        let after = self.0.partition_point(|d| d.from_msc <= at);
        after.checked_sub(1).map(|i| &self.0[i].value)
    }

    /// The value in force now, that is after every entry.
    pub fn latest(&self) -> Option<&T> {
        self.0.last().map(|d| &d.value)
    }

    /// When the last change takes effect.
    pub fn last_change(&self) -> Option<Millis> {
        self.0.last().map(|d| d.from_msc)
    }

    pub fn entries(&self) -> &[Dated<T>] {
        &self.0
    }

    /// Sets `value` from `from_msc` on. A change may only follow the last one: history behind a
    /// change already recorded is not rewritten (a correction is a new change, not an edit).
    pub fn change(&mut self, field: &str, from_msc: Millis, value: T) -> Result<()> {
        if let Some(last) = self.last_change()
            && from_msc <= last
        {
            return Err(Error::conflict(
                "change_out_of_order",
                format!(
                    "{field} already changes at {last} ms; a new change must take effect after it"
                ),
            ));
        }
        self.0.push(Dated { from_msc, value });
        Ok(())
    }

    /// The times at which the value changes at or after `from_msc`.
    pub fn changes_from(&self, from_msc: Millis) -> impl Iterator<Item = Millis> + '_ {
        self.0
            .iter()
            .map(|d| d.from_msc)
            .filter(move |t| *t >= from_msc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_value_in_force_is_the_last_one_that_started() {
        let mut line = Timeline::starting(100, "a");
        line.change("parent", 200, "b").unwrap();
        assert_eq!(line.at(99), None);
        assert_eq!(line.at(100), Some(&"a"));
        assert_eq!(line.at(199), Some(&"a"));
        assert_eq!(line.at(200), Some(&"b"));
        assert_eq!(line.latest(), Some(&"b"));
    }

    #[test]
    fn changes_do_not_rewrite_history() {
        let mut line = Timeline::starting(100, 1);
        assert_eq!(
            line.change("parent", 100, 2).unwrap_err().code(),
            "change_out_of_order"
        );
        assert!(line.change("parent", 50, 2).is_err());
        assert_eq!(line.entries().len(), 1);
        assert!(
            Timeline::from_entries(
                "parent",
                vec![
                    Dated {
                        from_msc: 2,
                        value: 0
                    },
                    Dated {
                        from_msc: 2,
                        value: 1
                    }
                ]
            )
            .is_err()
        );
    }
}
