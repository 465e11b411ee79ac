//! A contest as Broker OS keeps it: its status, the definition in force and every version it
//! had, and the rules of its life (publish, cancel, a new version). The catalog of published
//! contests that use a dedicated account group or an enrolment campaign keeps two contests
//! that overlap in time from sharing one.

use std::collections::BTreeSet;
use utoipa::ToSchema;

use brokeros_kernel::audit::FieldChange;
use brokeros_kernel::{Error, Result};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

use super::definition::{ContestDefinition, MAX_PERIOD_DAYS, Window};

/// Where a contest stands. Marketing moves it from draft to published or cancelled; the
/// scoring pipeline moves a published one on once it ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ContestStatus {
    Draft,
    Published,
    Cancelled,
    /// Ended and scored in full: the ranking no longer moves.
    Frozen,
    PrizesProposed,
    PrizesApproved,
    Paid,
}

impl ContestStatus {
    pub const ALL: [ContestStatus; 7] = [
        ContestStatus::Draft,
        ContestStatus::Published,
        ContestStatus::Cancelled,
        ContestStatus::Frozen,
        ContestStatus::PrizesProposed,
        ContestStatus::PrizesApproved,
        ContestStatus::Paid,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ContestStatus::Draft => "draft",
            ContestStatus::Published => "published",
            ContestStatus::Cancelled => "cancelled",
            ContestStatus::Frozen => "frozen",
            ContestStatus::PrizesProposed => "prizes_proposed",
            ContestStatus::PrizesApproved => "prizes_approved",
            ContestStatus::Paid => "paid",
        }
    }

    pub fn parse(field: &str, s: &str) -> Result<ContestStatus> {
        ContestStatus::ALL
            .into_iter()
            .find(|status| status.as_str() == s)
            .ok_or_else(|| {
                Error::invalid(
                    "invalid_status",
                    field.to_string(),
                    "status is draft, published, cancelled, frozen, prizes_proposed, prizes_approved or paid",
                )
            })
    }

    /// Whether anyone may see the contest: once published, until it is cancelled.
    pub fn is_public(self) -> bool {
        !matches!(self, ContestStatus::Draft | ContestStatus::Cancelled)
    }
}

/// Where a contest is in time, from the clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Registration has not opened.
    Upcoming,
    /// Registration is open and the contest period has not started.
    RegistrationOpen,
    /// The contest period runs (registration may still be open: see
    /// [`ContestDefinition::registration`]).
    Running,
    Ended,
}

impl Phase {
    pub fn at(definition: &ContestDefinition, now: OffsetDateTime) -> Phase {
        if now >= definition.period.until {
            Phase::Ended
        } else if now >= definition.period.from {
            Phase::Running
        } else if now >= definition.registration.from {
            Phase::RegistrationOpen
        } else {
            Phase::Upcoming
        }
    }
}

/// One version of a contest's definition as its record lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct VersionRef {
    pub version: u32,
    /// Of the version's stored text.
    pub sha256: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The user who stored it.
    pub by: String,
}

/// Who decided something, why and when (a cancellation, a disqualification).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = ContestDecision)]
pub struct Decision {
    pub reason: String,
    pub by: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// A contest's audited record (`contest/<id>`, the definition's id).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ContestRecord {
    pub id: String,
    pub status: ContestStatus,
    /// The version in force.
    pub version: u32,
    pub definition: ContestDefinition,
    /// Every version, oldest first.
    pub versions: Vec<VersionRef>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub published_at: Option<OffsetDateTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancellation: Option<Decision>,
    /// Why the final scoring stopped (the incremental scores differ from a full recompute):
    /// no prize is proposed until an operator has looked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scoring_alert: Option<String>,
}

impl ContestRecord {
    /// A draft made of version 1 of `definition`, stored by `by`.
    pub fn draft(
        definition: ContestDefinition,
        sha256: String,
        by: &str,
        now: OffsetDateTime,
    ) -> Result<ContestRecord> {
        if definition.version != 1 {
            return Err(version_conflict(&definition.id, 0));
        }
        Ok(ContestRecord {
            id: definition.id.clone(),
            status: ContestStatus::Draft,
            version: 1,
            versions: vec![VersionRef {
                version: 1,
                sha256,
                at: now,
                by: by.to_string(),
            }],
            definition,
            created_at: now,
            updated_at: now,
            published_at: None,
            published_by: None,
            cancellation: None,
            scoring_alert: None,
        })
    }

    /// Puts `next` in force as the next version, if the contest may still change and the
    /// change rules of [`ContestDefinition::check_change`] allow it at `now`. Answers what
    /// changed, field by field (`definition.prizes.tiers`), for the audit event.
    pub fn add_version(
        &mut self,
        next: ContestDefinition,
        sha256: String,
        by: &str,
        now: OffsetDateTime,
    ) -> Result<Vec<FieldChange>> {
        match self.status {
            ContestStatus::Draft | ContestStatus::Published => {}
            ContestStatus::Cancelled => return Err(cancelled(&self.id)),
            _ => {
                return Err(Error::conflict(
                    "contest_ended",
                    format!(
                        "contest {} has ended: its definition no longer changes",
                        self.id
                    ),
                ));
            }
        }
        if next.version != self.version + 1 {
            return Err(version_conflict(&self.id, self.version));
        }
        self.definition.check_change(&next, now)?;
        let changes = definition_changes(&self.definition, &next);
        self.versions.push(VersionRef {
            version: next.version,
            sha256,
            at: now,
            by: by.to_string(),
        });
        self.version = next.version;
        self.definition = next;
        self.updated_at = now;
        Ok(changes)
    }

    /// Draft → published, while registration has not closed.
    pub fn publish(&mut self, by: &str, now: OffsetDateTime) -> Result<()> {
        match self.status {
            ContestStatus::Draft => {}
            ContestStatus::Cancelled => return Err(cancelled(&self.id)),
            other => {
                return Err(Error::conflict(
                    "already_published",
                    format!("contest {} is {} already", self.id, other.as_str()),
                ));
            }
        }
        if now >= self.definition.registration.until {
            return Err(registration_closed(&self.id));
        }
        self.status = ContestStatus::Published;
        self.published_at = Some(now);
        self.published_by = Some(by.to_string());
        self.updated_at = now;
        Ok(())
    }

    /// A draft or published contest is cancelled, before its period starts.
    pub fn cancel(&mut self, reason: String, by: &str, now: OffsetDateTime) -> Result<()> {
        match self.status {
            ContestStatus::Draft | ContestStatus::Published => {}
            ContestStatus::Cancelled => return Err(cancelled(&self.id)),
            other => {
                return Err(Error::conflict(
                    "contest_started",
                    format!(
                        "contest {} is {}: too late to cancel",
                        self.id,
                        other.as_str()
                    ),
                ));
            }
        }
        if now >= self.definition.period.from {
            return Err(Error::conflict(
                "contest_started",
                format!(
                    "contest {} started at {}: a contest is cancelled before it starts",
                    self.id, self.definition.period.from
                ),
            ));
        }
        self.status = ContestStatus::Cancelled;
        self.cancellation = Some(Decision {
            reason,
            by: by.to_string(),
            at: now,
        });
        self.updated_at = now;
        Ok(())
    }

    /// Whether an entry's standing may still change by a decision (a disqualification, a
    /// reinstatement): not once the contest is cancelled or its prizes are approved
    /// (`contest_cancelled`, `results_final`).
    pub fn check_standings_open(&self) -> Result<()> {
        match self.status {
            ContestStatus::Cancelled => Err(cancelled(&self.id)),
            ContestStatus::PrizesApproved | ContestStatus::Paid => Err(Error::conflict(
                "results_final",
                format!(
                    "contest {}'s prizes are {}: its standings are final",
                    self.id,
                    if self.status == ContestStatus::Paid {
                        "paid"
                    } else {
                        "approved"
                    }
                ),
            )),
            _ => Ok(()),
        }
    }

    /// Whether registration is open at `now`: the contest is published and `now` is within
    /// the registration window; otherwise the refusal (`contest_not_published`,
    /// `registration_not_open`, `registration_closed`).
    pub fn check_registration_open(&self, now: OffsetDateTime) -> Result<()> {
        if self.status != ContestStatus::Published {
            return Err(Error::conflict(
                "contest_not_published",
                format!(
                    "contest {} is {}: entries open once it is published",
                    self.id,
                    self.status.as_str()
                ),
            ));
        }
        let window = &self.definition.registration;
        if now < window.from {
            return Err(Error::conflict(
                "registration_not_open",
                format!(
                    "registration to contest {} opens at {}",
                    self.id, window.from
                ),
            ));
        }
        if now >= window.until {
            return Err(registration_closed(&self.id));
        }
        Ok(())
    }
}

fn cancelled(id: &str) -> Error {
    Error::conflict("contest_cancelled", format!("contest {id} is cancelled"))
}

fn registration_closed(id: &str) -> Error {
    Error::conflict(
        "registration_closed",
        format!("registration to contest {id} has closed"),
    )
}

fn version_conflict(id: &str, last: u32) -> Error {
    Error::conflict(
        "contest_version_conflict",
        format!(
            "contest {id} is at version {last}; the next version must be {}",
            last + 1
        ),
    )
}

/// What differs between two definitions: each top-level field, and each field of an object
/// field (`definition.rules.min_trades`), as audit changes.
fn definition_changes(before: &ContestDefinition, after: &ContestDefinition) -> Vec<FieldChange> {
    let as_value = |d: &ContestDefinition| serde_json::to_value(d).expect("definitions serialize");
    let mut out = Vec::new();
    changes_under(
        "definition",
        &as_value(before),
        &as_value(after),
        2,
        &mut out,
    );
    out.retain(|c| c.field != "definition.version");
    out
}

fn changes_under(
    path: &str,
    before: &Value,
    after: &Value,
    depth: u32,
    out: &mut Vec<FieldChange>,
) {
    if before == after {
        return;
    }
    match (before, after) {
        (Value::Object(b), Value::Object(a)) if depth > 0 => {
            let names: BTreeSet<&String> = b.keys().chain(a.keys()).collect();
            for name in names {
                changes_under(
                    &format!("{path}.{name}"),
                    b.get(name).unwrap_or(&Value::Null),
                    a.get(name).unwrap_or(&Value::Null),
                    depth - 1,
                    out,
                );
            }
        }
        _ => out.push(FieldChange {
            field: path.to_string(),
            before: before.clone(),
            after: after.clone(),
        }),
    }
}

/// A published contest that holds a dedicated account group or an enrolment campaign, as the
/// catalog lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogEntry {
    pub id: String,
    pub period: Window,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub campaign: Option<String>,
}

impl CatalogEntry {
    /// The entry of `definition`, if it holds a group or a campaign.
    pub fn of(definition: &ContestDefinition) -> Option<CatalogEntry> {
        let group = definition.contest_account.as_ref().map(|a| a.group.clone());
        let campaign = definition.enrollment.as_ref().map(|e| e.campaign.clone());
        (group.is_some() || campaign.is_some()).then(|| CatalogEntry {
            id: definition.id.clone(),
            period: definition.period,
            group,
            campaign,
        })
    }
}

/// The published contests that hold a dedicated account group or an enrolment campaign: what
/// a publication is checked against and what enrolment by campaign starts from. Kept as one
/// keyed item, changed under its version by every publication, cancellation and new version
/// of a published contest, so the check never rests on an index that may lag.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishedCatalog {
    pub contests: Vec<CatalogEntry>,
}

impl PublishedCatalog {
    /// Refuses `definition` if a listed contest (other than itself) whose period overlaps its
    /// own holds its account group or campaign: 409 `overlapping_contest` naming the other.
    pub fn check_overlap(&self, definition: &ContestDefinition) -> Result<()> {
        let Some(mine) = CatalogEntry::of(definition) else {
            return Ok(());
        };
        for other in self.contests.iter().filter(|c| c.id != mine.id) {
            if !other.period.overlaps(&mine.period) {
                continue;
            }
            let shared = if mine.group.is_some() && mine.group == other.group {
                Some(format!(
                    "account group {}",
                    other.group.as_deref().unwrap_or_default()
                ))
            } else if mine.campaign.is_some() && mine.campaign == other.campaign {
                Some(format!(
                    "campaign {}",
                    other.campaign.as_deref().unwrap_or_default()
                ))
            } else {
                None
            };
            if let Some(what) = shared {
                return Err(Error::conflict(
                    "overlapping_contest",
                    format!(
                        "contest {} uses {what} from {} to {}, which overlaps contest {}'s period",
                        other.id, other.period.from, other.period.until, mine.id
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Lists `definition` (or its new version) in place of what was listed for it; answers
    /// whether the catalog changed.
    pub fn put(&mut self, definition: &ContestDefinition, now: OffsetDateTime) -> bool {
        let before = self.clone();
        self.contests.retain(|c| c.id != definition.id);
        if let Some(entry) = CatalogEntry::of(definition) {
            self.contests.push(entry);
        }
        self.prune(now);
        *self != before
    }

    /// Takes contest `id` off the catalog; answers whether it was listed.
    pub fn remove(&mut self, id: &str, now: OffsetDateTime) -> bool {
        let before = self.contests.len();
        self.contests.retain(|c| c.id != id);
        self.prune(now);
        self.contests.len() != before
    }

    /// The listed contests that enrol the clients of `campaign`.
    pub fn with_campaign<'a>(&'a self, campaign: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.contests
            .iter()
            .filter(move |c| c.campaign.as_deref() == Some(campaign))
            .map(|c| c.id.as_str())
    }

    /// Drops contests that ended so long ago that no contest still open to publication can
    /// overlap them: a contest is published before registration closes, by the end of its
    /// period, and lasts at most [`MAX_PERIOD_DAYS`], so it starts after `now` less that.
    fn prune(&mut self, now: OffsetDateTime) {
        let horizon = now - time::Duration::days(MAX_PERIOD_DAYS);
        self.contests.retain(|c| c.period.until > horizon);
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use serde_json::json;
    use time::macros::datetime;

    pub(crate) fn definition(change: impl Fn(&mut Value)) -> ContestDefinition {
        let mut doc = json!({
            "id": "summer-cup", "version": 1, "name": "Summer FX Cup", "mode": "live",
            "currency": "USD",
            "registration": { "from": "2026-06-01T00:00:00Z", "until": "2026-06-30T00:00:00Z" },
            "period": { "from": "2026-06-15T00:00:00Z", "until": "2026-07-15T00:00:00Z" },
            "metric": { "kind": "return" },
            "prizes": { "pool": "1000.00", "payment": { "kind": "cash" },
                        "tiers": [ { "from_rank": 1, "to_rank": 1, "share": "0.5" } ] }
        });
        change(&mut doc);
        ContestDefinition::from_value(&doc).unwrap()
    }

    fn draft() -> ContestRecord {
        ContestRecord::draft(
            definition(|_| {}),
            "sha".into(),
            "m-1",
            datetime!(2026-05-01 0:00 UTC),
        )
        .unwrap()
    }

    fn code(result: Result<impl std::fmt::Debug>) -> String {
        result.unwrap_err().code().to_string()
    }

    #[test]
    fn the_phase_follows_the_clock() {
        let d = definition(|_| {});
        assert_eq!(
            Phase::at(&d, datetime!(2026-05-31 23:59 UTC)),
            Phase::Upcoming
        );
        assert_eq!(
            Phase::at(&d, datetime!(2026-06-01 0:00 UTC)),
            Phase::RegistrationOpen
        );
        assert_eq!(
            Phase::at(&d, datetime!(2026-06-15 0:00 UTC)),
            Phase::Running
        );
        assert_eq!(Phase::at(&d, datetime!(2026-07-15 0:00 UTC)), Phase::Ended);
    }

    #[test]
    fn publication_and_cancellation_follow_their_rules() {
        let mut c = draft();
        assert_eq!(
            code(c.clone().publish("m-1", datetime!(2026-06-30 0:00 UTC))),
            "registration_closed"
        );
        assert_eq!(
            code(c.check_registration_open(datetime!(2026-06-02 0:00 UTC))),
            "contest_not_published"
        );
        c.publish("m-1", datetime!(2026-05-02 0:00 UTC)).unwrap();
        assert_eq!(c.status, ContestStatus::Published);
        assert_eq!(
            code(c.clone().publish("m-1", datetime!(2026-05-02 0:00 UTC))),
            "already_published"
        );
        assert_eq!(
            code(c.check_registration_open(datetime!(2026-05-31 0:00 UTC))),
            "registration_not_open"
        );
        assert!(
            c.check_registration_open(datetime!(2026-06-20 0:00 UTC))
                .is_ok()
        );
        assert_eq!(
            code(c.check_registration_open(datetime!(2026-06-30 0:00 UTC))),
            "registration_closed"
        );
        assert_eq!(
            code(
                c.clone()
                    .cancel("late".into(), "m-1", datetime!(2026-06-15 0:00 UTC))
            ),
            "contest_started"
        );
        c.cancel("budget".into(), "m-2", datetime!(2026-06-14 0:00 UTC))
            .unwrap();
        assert_eq!(c.status, ContestStatus::Cancelled);
        assert_eq!(c.cancellation.as_ref().unwrap().by, "m-2");
        assert_eq!(
            code(c.clone().publish("m-1", datetime!(2026-05-02 0:00 UTC))),
            "contest_cancelled"
        );
        let v2 = definition(|d| d["version"] = json!(2));
        assert_eq!(
            code(c.add_version(v2, "sha2".into(), "m-1", datetime!(2026-05-02 0:00 UTC))),
            "contest_cancelled"
        );
    }

    #[test]
    fn a_version_names_what_it_changed() {
        let mut c = draft();
        let v2 = definition(|d| {
            d["version"] = json!(2);
            d["name"] = json!("Summer FX Cup 2026");
            d["rules"] = json!({ "min_trades": 3 });
        });
        let changes = c
            .add_version(v2, "sha2".into(), "m-2", datetime!(2026-05-02 0:00 UTC))
            .unwrap();
        let fields: Vec<&str> = changes.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(fields, ["definition.name", "definition.rules.min_trades"]);
        assert_eq!(changes[1].before, json!(1));
        assert_eq!(changes[1].after, json!(3));
        assert_eq!(c.version, 2);
        assert_eq!(c.versions.len(), 2);
        assert_eq!(c.versions[1].by, "m-2");
        let skipped = definition(|d| d["version"] = json!(4));
        assert_eq!(
            code(c.add_version(skipped, "s".into(), "m", datetime!(2026-05-02 0:00 UTC))),
            "contest_version_conflict"
        );
    }

    #[test]
    fn overlapping_contests_may_not_share_a_group_or_a_campaign() {
        let now = datetime!(2026-05-01 0:00 UTC);
        let with_group = |id: &str, from: &str, until: &str| {
            definition(|d| {
                d["id"] = json!(id);
                d["registration"] = json!({ "from": "2026-05-01T00:00:00Z", "until": from });
                d["period"] = json!({ "from": from, "until": until });
                d["contest_account"] = json!({ "group": "contest\\usd", "leverage": 100 });
            })
        };
        let mut catalog = PublishedCatalog::default();
        assert!(catalog.put(
            &with_group("june", "2026-06-01T00:00:00Z", "2026-07-01T00:00:00Z"),
            now
        ));
        let july = with_group("july", "2026-07-01T00:00:00Z", "2026-08-01T00:00:00Z");
        assert!(catalog.check_overlap(&july).is_ok(), "back to back is fine");
        let late_june = with_group("late-june", "2026-06-20T00:00:00Z", "2026-07-10T00:00:00Z");
        let refused = catalog.check_overlap(&late_june).unwrap_err();
        assert_eq!(refused.code(), "overlapping_contest");
        assert!(refused.to_string().contains("june"), "{refused}");
        let june_again = with_group("june", "2026-06-01T00:00:00Z", "2026-07-02T00:00:00Z");
        assert!(catalog.check_overlap(&june_again).is_ok(), "itself");

        let campaign = |id: &str| {
            definition(|d| {
                d["id"] = json!(id);
                d["enrollment"] = json!({ "campaign": "gold-q4" });
            })
        };
        catalog.put(&campaign("gold-a"), now);
        assert_eq!(
            catalog
                .check_overlap(&campaign("gold-b"))
                .unwrap_err()
                .code(),
            "overlapping_contest"
        );
        assert_eq!(
            catalog.with_campaign("gold-q4").collect::<Vec<_>>(),
            ["gold-a"]
        );
        assert!(catalog.remove("gold-a", now));
        assert!(catalog.check_overlap(&campaign("gold-b")).is_ok());
        assert!(
            !catalog.put(&definition(|_| {}), now),
            "holds neither: not listed"
        );

        let years_later = datetime!(2028-01-01 0:00 UTC);
        let gold_c = definition(|d| {
            d["id"] = json!("gold-c");
            d["enrollment"] = json!({ "campaign": "gold-q4" });
            d["registration"] =
                json!({ "from": "2027-12-01T00:00:00Z", "until": "2027-12-20T00:00:00Z" });
            d["period"] =
                json!({ "from": "2027-12-20T00:00:00Z", "until": "2028-01-20T00:00:00Z" });
        });
        catalog.put(&gold_c, years_later);
        assert_eq!(
            catalog
                .contests
                .iter()
                .map(|c| c.id.as_str())
                .collect::<Vec<_>>(),
            ["gold-c"],
            "contests that ended over a year before are dropped"
        );
    }
}
