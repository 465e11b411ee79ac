//! Sanctions and PEP screening against lists in the shape of OFAC's SDN files
//! (`sdn.csv`: `ent_num,SDN_Name,SDN_Type,Program,Title,Call_Sign,Vess_type,Tonnage,GRT,
//! Vess_flag,Vess_owner,Remarks`, no header, `-0-` for an empty value; `alt.csv`:
//! `ent_num,alt_num,alt_type,alt_name,alt_remarks`) and a PEP list
//! (`pep_id,name,country,position,birth_year`, with that header).
//!
//! The same parser reads the published lists in production and the small *fictional* sample
//! that `brokeros serve` and the tests use (`shared/adapters/local/data/screening-lists/sample/`).

use std::collections::BTreeMap;
use std::fmt;
use utoipa::ToSchema;

use serde::{Deserialize, Serialize};

use super::names::{NameKey, NameKind, TOKEN_HIT_SIMILARITY, compare};
use super::rules::ScreeningThresholds;
use super::{ClientType, KycSubject};
use brokeros_kernel::Error;
use brokeros_kernel::csv::{self, Record};

/// The text of a set of list files, by their names in a list directory.
#[derive(Debug, Clone, Copy)]
pub struct ListFiles<'a> {
    /// `sdn.csv`
    pub sdn: &'a str,
    /// `alt.csv`
    pub alt: &'a str,
    /// `pep.csv`
    pub pep: &'a str,
}

impl ListFiles<'_> {
    /// The file names a list directory holds, in the order of the fields.
    pub const NAMES: [&'static str; 3] = ["sdn.csv", "alt.csv", "pep.csv"];
}

/// OFAC's marker for an empty value.
const NULL: &str = "-0-";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ListKind {
    Sanctions,
    Pep,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PartyType {
    Individual,
    Entity,
    Vessel,
    Aircraft,
}

impl PartyType {
    /// People are screened against listed people, companies against everything else.
    fn screens(self, client_type: ClientType) -> bool {
        (self == PartyType::Individual) == (client_type == ClientType::Individual)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ListEntry {
    pub list: ListKind,
    /// `SDN-<ent_num>` or `PEP-<pep_id>`.
    pub id: String,
    pub party_type: PartyType,
    pub primary_name: String,
    pub aliases: Vec<String>,
    pub programs: Vec<String>,
    /// Years of birth found in the remarks (`DOB 14 Mar 1971`, `alt. DOB 1972`).
    pub birth_years: Vec<i32>,
    keys: Vec<(String, NameKey)>,
}

impl ListEntry {
    fn add_name(&mut self, name: String) {
        let kind = match self.party_type {
            PartyType::Individual => NameKind::Person,
            _ => NameKind::Organisation,
        };
        self.keys.push((name.clone(), NameKey::new(&name, kind)));
        if self.keys.len() > 1 {
            self.aliases.push(name);
        }
    }
}

/// Why a list file cannot be read: the file, the line, and what is wrong there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListError {
    pub file: &'static str,
    pub line: usize,
    pub reason: String,
}

impl fmt::Display for ListError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} line {}: {}", self.file, self.line, self.reason)
    }
}

impl std::error::Error for ListError {}

impl From<ListError> for Error {
    fn from(e: ListError) -> Error {
        Error::invalid("invalid_screening_list", e.file, e.to_string())
    }
}

/// The lists a check screens against, with every name prepared for matching once.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ScreeningList {
    /// Labels of the loaded lists (`ofac-sdn-sample`), recorded with every screening result.
    pub sources: Vec<String>,
    entries: Vec<ListEntry>,
}

fn value(field: &str) -> Option<&str> {
    let v = field.trim();
    (!v.is_empty() && v != NULL).then_some(v)
}

fn records(file: &'static str, text: &str) -> Result<Vec<Record>, ListError> {
    let records = csv::parse(text).map_err(|e| ListError {
        file,
        line: e.line,
        reason: e.reason,
    })?;
    Ok(records.into_iter().filter(|r| !r.is_blank()).collect())
}

fn expect_fields(file: &'static str, record: &Record, count: usize) -> Result<(), ListError> {
    if record.fields.len() == count {
        Ok(())
    } else {
        Err(ListError {
            file,
            line: record.line,
            reason: format!("expected {count} fields, found {}", record.fields.len()),
        })
    }
}

/// Four-digit years after each `DOB` in OFAC remarks.
fn birth_years(remarks: &str) -> Vec<i32> {
    let mut years = Vec::new();
    for (at, _) in remarks.match_indices("DOB") {
        let clause = remarks[at..].split(';').next().unwrap_or("");
        for word in clause.split(|c: char| !c.is_ascii_digit()) {
            if word.len() == 4
                && let Ok(year) = word.parse::<i32>()
                && (1900..=2100).contains(&year)
            {
                years.push(year);
            }
        }
    }
    years.sort_unstable();
    years.dedup();
    years
}

impl ScreeningList {
    /// The lists of one set of files (OFAC's SDN and aliases files and a PEP list) called
    /// `label`: the sources recorded with every result are `ofac-sdn-<label>` and
    /// `pep-<label>`.
    pub fn from_files(label: &str, files: &ListFiles<'_>) -> Result<ScreeningList, ListError> {
        ScreeningList::from_ofac_csv(&format!("ofac-sdn-{label}"), files.sdn, files.alt)?
            .with_pep_csv(&format!("pep-{label}"), files.pep)
    }

    /// Reads an SDN file and its aliases file. A header row (`ent_num,...`) is accepted though
    /// OFAC's files have none.
    pub fn from_ofac_csv(source: &str, sdn: &str, alt: &str) -> Result<ScreeningList, ListError> {
        const SDN: &str = "sdn.csv";
        const ALT: &str = "alt.csv";
        let mut entries: BTreeMap<u64, ListEntry> = BTreeMap::new();
        for record in records(SDN, sdn)? {
            if record.fields[0].trim().eq_ignore_ascii_case("ent_num") {
                continue;
            }
            expect_fields(SDN, &record, 12)?;
            let f = &record.fields;
            let err = |reason: String| ListError {
                file: SDN,
                line: record.line,
                reason,
            };
            let ent_num: u64 = f[0]
                .trim()
                .parse()
                .map_err(|_| err(format!("ent_num '{}' is not a number", f[0].trim())))?;
            let name = value(&f[1]).ok_or_else(|| err("SDN_Name is empty".into()))?;
            let party_type = match value(&f[2]).map(str::to_ascii_lowercase).as_deref() {
                Some("individual") => PartyType::Individual,
                Some("vessel") => PartyType::Vessel,
                Some("aircraft") => PartyType::Aircraft,
                None | Some("entity") => PartyType::Entity,
                Some(other) => return Err(err(format!("unknown SDN_Type '{other}'"))),
            };
            let programs = value(&f[3])
                .map(|p| {
                    p.split("] [")
                        .map(|x| x.trim_matches(|c: char| c == '[' || c == ']' || c == ' '))
                        .filter(|x| !x.is_empty())
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default();
            let mut entry = ListEntry {
                list: ListKind::Sanctions,
                id: format!("SDN-{ent_num}"),
                party_type,
                primary_name: name.to_string(),
                aliases: vec![],
                programs,
                birth_years: value(&f[11]).map(birth_years).unwrap_or_default(),
                keys: vec![],
            };
            entry.add_name(name.to_string());
            if entries.insert(ent_num, entry).is_some() {
                return Err(err(format!("ent_num {ent_num} appears twice")));
            }
        }
        for record in records(ALT, alt)? {
            if record.fields[0].trim().eq_ignore_ascii_case("ent_num") {
                continue;
            }
            expect_fields(ALT, &record, 5)?;
            let f = &record.fields;
            let err = |reason: String| ListError {
                file: ALT,
                line: record.line,
                reason,
            };
            let ent_num: u64 = f[0]
                .trim()
                .parse()
                .map_err(|_| err(format!("ent_num '{}' is not a number", f[0].trim())))?;
            let name = value(&f[3]).ok_or_else(|| err("alt_name is empty".into()))?;
            let entry = entries
                .get_mut(&ent_num)
                .ok_or_else(|| err(format!("alias of unknown ent_num {ent_num}")))?;
            entry.add_name(name.to_string());
        }
        Ok(ScreeningList {
            sources: vec![source.to_string()],
            entries: entries.into_values().collect(),
        })
    }

    /// Adds a PEP list: `pep_id,name,country,position,birth_year` with that header.
    pub fn with_pep_csv(mut self, source: &str, text: &str) -> Result<ScreeningList, ListError> {
        const PEP: &str = "pep.csv";
        let header = ["pep_id", "name", "country", "position", "birth_year"];
        let mut rows = records(PEP, text)?.into_iter();
        match rows.next() {
            Some(r) if r.fields.iter().map(|f| f.trim()).eq(header) => {}
            other => {
                return Err(ListError {
                    file: PEP,
                    line: other.map_or(1, |r| r.line),
                    reason: format!("the first line must be the header {}", header.join(",")),
                });
            }
        }
        for record in rows {
            expect_fields(PEP, &record, 5)?;
            let f = &record.fields;
            let err = |reason: String| ListError {
                file: PEP,
                line: record.line,
                reason,
            };
            let id = value(&f[0]).ok_or_else(|| err("pep_id is empty".into()))?;
            let name = value(&f[1]).ok_or_else(|| err("name is empty".into()))?;
            let birth_years = match value(&f[4]) {
                None => vec![],
                Some(y) => vec![
                    y.parse::<i32>()
                        .map_err(|_| err(format!("birth_year '{y}' is not a year")))?,
                ],
            };
            let position = value(&f[3]).unwrap_or("");
            let country = value(&f[2]).unwrap_or("");
            let mut entry = ListEntry {
                list: ListKind::Pep,
                id: format!("PEP-{id}"),
                party_type: PartyType::Individual,
                primary_name: name.to_string(),
                aliases: vec![],
                programs: vec![format!("{country}: {position}")],
                birth_years,
                keys: vec![],
            };
            entry.add_name(name.to_string());
            if self.entries.iter().any(|e| e.id == entry.id) {
                return Err(err(format!("pep_id {id} appears twice")));
            }
            self.entries.push(entry);
        }
        self.sources.push(source.to_string());
        Ok(self)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn entries(&self) -> &[ListEntry] {
        &self.entries
    }

    /// Screens the subject's name against every comparable entry (people against people,
    /// companies against entities, vessels and aircraft) and every name an entry is listed
    /// under. Matches below the near-miss score are not reported.
    pub fn screen(&self, subject: &KycSubject, thresholds: ScreeningThresholds) -> ScreeningResult {
        let kind = match subject.client_type {
            ClientType::Individual => NameKind::Person,
            ClientType::Corporate => NameKind::Organisation,
        };
        let key = NameKey::new(&subject.name.full(), kind);
        let mut matches = Vec::new();
        for entry in &self.entries {
            if !entry.party_type.screens(subject.client_type) {
                continue;
            }
            let best = entry
                .keys
                .iter()
                .map(|(name, listed)| (name, compare(&key, listed)))
                .max_by(|a, b| a.1.score.total_cmp(&b.1.score));
            let Some((matched_name, similarity)) = best else {
                continue;
            };
            let score = (similarity.score * 100.0).floor().clamp(0.0, 100.0) as u8;
            if score < thresholds.near_miss_score {
                continue;
            }
            let strong_pairs = similarity.weakest_pair >= TOKEN_HIT_SIMILARITY;
            let mut strength = if score >= thresholds.hit_score && strong_pairs {
                MatchStrength::Hit
            } else {
                MatchStrength::NearMiss
            };
            let mut reason = format!(
                "name matches '{matched_name}' with score {score} ({} of {} name parts paired{})",
                similarity.paired,
                similarity.longer_len,
                if strong_pairs {
                    ""
                } else {
                    ", some only loosely"
                }
            );
            if let (Some(dob), false) = (subject.date_of_birth, entry.birth_years.is_empty()) {
                let listed = entry
                    .birth_years
                    .iter()
                    .map(i32::to_string)
                    .collect::<Vec<_>>()
                    .join(", ");
                if entry
                    .birth_years
                    .iter()
                    .any(|y| (y - dob.year()).abs() <= 1)
                {
                    reason.push_str(&format!("; listed year of birth {listed} agrees"));
                } else if strength == MatchStrength::Hit {
                    // Same name, another person: still worth a look, no longer a hit.
                    strength = MatchStrength::NearMiss;
                    reason.push_str(&format!(
                        "; a near miss only: listed year of birth {listed} differs"
                    ));
                }
            }
            matches.push(ScreeningMatch {
                list: entry.list,
                entry_id: entry.id.clone(),
                listed_name: entry.primary_name.clone(),
                matched_name: matched_name.clone(),
                score,
                strength,
                programs: entry.programs.clone(),
                reason,
            });
        }
        matches.sort_by(|a, b| b.score.cmp(&a.score).then(a.entry_id.cmp(&b.entry_id)));
        ScreeningResult {
            lists: self.sources.clone(),
            matches,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MatchStrength {
    Hit,
    NearMiss,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ScreeningMatch {
    pub list: ListKind,
    pub entry_id: String,
    pub listed_name: String,
    /// The listed name or alias the subject's name matched.
    pub matched_name: String,
    /// 0 to 100.
    pub score: u8,
    pub strength: MatchStrength,
    pub programs: Vec<String>,
    pub reason: String,
}

/// What screening found: every match at or above the near-miss score, best first.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
pub struct ScreeningResult {
    pub lists: Vec<String>,
    pub matches: Vec<ScreeningMatch>,
}

impl ScreeningResult {
    pub fn found(
        &self,
        list: ListKind,
        strength: MatchStrength,
    ) -> impl Iterator<Item = &ScreeningMatch> {
        self.matches
            .iter()
            .filter(move |m| m.list == list && m.strength == strength)
    }

    pub fn is_clear(&self) -> bool {
        self.matches.is_empty()
    }
}
