//! A contest as its scoring reads it: the record, and the entrants of its roster (the entry
//! markers, read by key) with what scoring needs of each.

use brokeros_kernel::Result;
use brokeros_kernel::changeset::Audited;

use crate::Services;
use crate::live::{Roster, RosterEntrant};
use crate::model::{ContestEntrant, ContestRecord, ContestStatus, EntrantStatus};
use crate::repo;

/// The contest's record and roster. Withdrawn entrants are left out; disqualified ones stay,
/// with the reason, so the leaderboard lists them last.
pub async fn load_roster(
    services: &Services,
    contest: &str,
) -> Result<(Audited<ContestRecord>, Roster)> {
    let record = services.get::<ContestRecord>(contest).await?;
    let ids: Vec<String> = repo::entry_roster(services, contest)
        .await?
        .into_iter()
        .map(|(_, entrant)| entrant)
        .collect();
    let mut entrants = Vec::with_capacity(ids.len());
    for stored in services
        .find_many::<ContestEntrant>(ids.iter().map(String::as_str))
        .await?
    {
        {
            let entrant = stored.entity;
            if entrant.status == EntrantStatus::Withdrawn {
                continue;
            }
            entrants.push(RosterEntrant {
                entrant: entrant.scoring_entrant(),
                client_id: entrant.client_id.clone(),
                opening_balance: entrant.opening_balance,
                disqualified: (entrant.status == EntrantStatus::Disqualified).then(|| {
                    entrant
                        .disqualification
                        .as_ref()
                        .map_or_else(|| "disqualified".to_string(), |d| d.reason.clone())
                }),
                display_name: entrant.display_name.clone(),
                country: entrant.country.clone(),
            });
        }
    }
    // In registration order, so the ranking's input order is the same on every run.
    entrants.sort_by(|a, b| {
        (a.entrant.registered_msc, &a.entrant.id).cmp(&(b.entrant.registered_msc, &b.entrant.id))
    });
    let definition = record.entity.definition.clone();
    Ok((
        record,
        Roster {
            definition,
            entrants,
        },
    ))
}

/// The published contests (the scheduler's work list).
pub async fn published_contests(services: &Services) -> Result<Vec<ContestRecord>> {
    repo::contests_in_status(services, ContestStatus::Published.as_str()).await
}
