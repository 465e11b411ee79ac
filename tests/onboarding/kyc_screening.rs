//! Sanctions and PEP screening against the fictional sample lists: the name variations a
//! matcher must see through, the names it must leave alone, and list files it must refuse.

use brokeros_local::screening::{SAMPLE_LIST_FILES, sample_screening_lists};
use brokeros_onboarding::kyc::model::{
    ClientType, DocumentRef, DocumentType, JurisdictionSet, KycSubject, ListKind, MatchStrength,
    PartyType, ScreeningList, ScreeningResult, ScreeningThresholds, SourceOfFunds, SubjectName,
};
use time::{Date, Month};

fn thresholds() -> ScreeningThresholds {
    JurisdictionSet::embedded_default()
        .get("eu")
        .unwrap()
        .screening
}

fn person(first: &str, last: &str, born: i32) -> KycSubject {
    KycSubject {
        client_id: "client_1".into(),
        client_type: ClientType::Individual,
        name: SubjectName::Person {
            first_name: first.into(),
            middle_names: None,
            last_name: last.into(),
        },
        date_of_birth: Some(Date::from_calendar_date(born, Month::June, 1).unwrap()),
        nationality: "DE".into(),
        residence_country: "DE".into(),
        source_of_funds: SourceOfFunds::Salary,
        pep_declared: false,
        product: "forex".into(),
        documents: vec![DocumentRef {
            doc_type: DocumentType::Passport,
            issuing_country: "DE".into(),
            number: "C01X00T47".into(),
        }],
    }
}

fn company(name: &str) -> KycSubject {
    let mut s = person("x", "x", 1990);
    s.client_type = ClientType::Corporate;
    s.name = SubjectName::Company {
        company_name: name.into(),
    };
    s.date_of_birth = None;
    s
}

fn screen(subject: &KycSubject) -> ScreeningResult {
    sample_screening_lists().screen(subject, thresholds())
}

fn hits(result: &ScreeningResult, list: ListKind) -> Vec<&str> {
    result
        .found(list, MatchStrength::Hit)
        .map(|m| m.entry_id.as_str())
        .collect()
}

#[test]
fn the_sample_lists_load_with_aliases_programs_and_birth_years() {
    let list = sample_screening_lists();
    assert_eq!(list.sources, ["ofac-sdn-sample", "pep-sample"]);
    let sanctions = list
        .entries()
        .iter()
        .filter(|e| e.list == ListKind::Sanctions)
        .count();
    let pep = list
        .entries()
        .iter()
        .filter(|e| e.list == ListKind::Pep)
        .count();
    assert_eq!(
        (sanctions, pep),
        (
            SAMPLE_LIST_FILES.sdn.lines().count(),
            SAMPLE_LIST_FILES.pep.lines().count() - 1
        )
    );
    let entry = |id: &str| list.entries().iter().find(|e| e.id == id).unwrap();
    let khodzhaev = entry("SDN-90015");
    assert_eq!(khodzhaev.aliases, ["KHODJAEV, Rustam", "HOJAYEV, Rustam"]);
    assert_eq!(entry("SDN-90006").birth_years, [1980, 1981]);
    assert_eq!(
        entry("SDN-90004").programs,
        ["UKRAINE-EO13661", "RUSSIA-EO14024"]
    );
    assert_eq!(entry("SDN-90009").party_type, PartyType::Vessel);
    assert_eq!(entry("SDN-90007").party_type, PartyType::Entity);
}

#[test]
fn case_and_word_order_do_not_hide_a_listed_person() {
    for (first, last) in [
        ("viktor ivanovich", "PETRENKO"),
        ("Petrenko", "Viktor"),
        ("VIKTOR", "petrenko"),
    ] {
        let result = screen(&person(first, last, 1964));
        assert_eq!(
            hits(&result, ListKind::Sanctions),
            ["SDN-90002"],
            "{first} {last}: {result:?}"
        );
    }
}

#[test]
fn diacritics_are_ignored_both_ways() {
    // The list has the diacritics, the subject does not.
    let result = screen(&person("Helene", "Dubois-Lefevre", 1981));
    assert_eq!(hits(&result, ListKind::Sanctions), ["SDN-90005"]);
    // The subject has them, the list's alias does not (and its primary name has others).
    let result = screen(&person("Hüseyin", "Özdemirli", 1980));
    assert_eq!(hits(&result, ListKind::Sanctions), ["SDN-90006"]);
}

#[test]
fn transliteration_variants_match() {
    let cases = [
        ("Muhammad Khaled", "Al Rashid", 1971, "SDN-90001"),
        ("Mohamed Khalid", "Rashid", 1971, "SDN-90001"),
        ("Alexander", "Sokolov", 1968, "SDN-90003"),
        ("Александр", "Соколов", 1968, "SDN-90003"),
        ("Evgeni", "Kozlovskiy", 1972, "SDN-90004"),
        ("Yevgeniy Borisovich", "Kozlovsky", 1972, "SDN-90004"),
        ("Rustam", "Khodjaev", 1983, "SDN-90015"),
        ("Rustam", "Hodzhaev", 1983, "SDN-90015"),
        ("Youssef", "Hasan", 1975, "SDN-90010"),
        ("Umar Husayn", "Al-Mansouri", 1959, "SDN-90017"),
        ("Dmitri Sergeevich", "Belov", 1985, "SDN-90019"),
    ];
    for (first, last, born, expected) in cases {
        let result = screen(&person(first, last, born));
        assert_eq!(
            hits(&result, ListKind::Sanctions),
            [expected],
            "{first} {last}: {result:?}"
        );
        let best = &result.matches[0];
        assert!(best.score >= thresholds().hit_score, "{best:?}");
        assert!(best.reason.contains("agrees"), "{}", best.reason);
    }
}

#[test]
fn companies_match_despite_legal_forms_and_only_against_non_persons() {
    let result = screen(&company("Northern Star Shipping LLC"));
    assert_eq!(hits(&result, ListKind::Sanctions), ["SDN-90007"]);
    let result = screen(&company("Golden Crescent Trading Company Limited"));
    assert_eq!(hits(&result, ListKind::Sanctions), ["SDN-90008"]);
    let result = screen(&company("North Star Marine Services GmbH"));
    assert_eq!(hits(&result, ListKind::Sanctions), ["SDN-90007"]);
    // A company named like a listed person is not that person.
    assert!(screen(&company("Viktor Petrenko")).is_clear());
    // A person named like a listed company is not that company.
    assert!(screen(&person("Redwood", "Capital", 1980)).is_clear());
}

#[test]
fn different_names_are_not_flagged() {
    for (first, last) in [
        ("John", "Smith"),
        ("Maria", "Garcia Lopez"),
        ("Anna", "Berg"),
        ("Wei", "Zhang"),
        ("Omar", "Haddad"),
        ("Svetlana", "Ivanova"),
        ("Armen", "Sargsyan"),
        ("Viktor", "Petrov"),
    ] {
        let result = screen(&person(first, last, 1980));
        assert!(result.is_clear(), "{first} {last}: {result:?}");
    }
    assert!(screen(&company("Blue Harbour Analytics Ltd")).is_clear());
}

#[test]
fn similar_but_not_equal_names_are_near_misses_not_hits() {
    let result = screen(&person("Viktor Ivanovich", "Petrenco", 1964));
    assert!(hits(&result, ListKind::Sanctions).is_empty(), "{result:?}");
    let near: Vec<_> = result
        .found(ListKind::Sanctions, MatchStrength::NearMiss)
        .collect();
    assert_eq!(near.len(), 1, "{result:?}");
    assert_eq!(near[0].entry_id, "SDN-90002");
    // Every other part agrees, so the score is high: the misspelt surname alone keeps it a
    // near miss.
    assert!(
        near[0].reason.contains("only loosely"),
        "{}",
        near[0].reason
    );
}

#[test]
fn a_contradicting_year_of_birth_downgrades_a_hit() {
    let same_name_other_person = screen(&person("Mohammed Khalid", "Al-Rashid", 1995));
    assert!(hits(&same_name_other_person, ListKind::Sanctions).is_empty());
    let m = &same_name_other_person.matches[0];
    assert_eq!(
        (m.entry_id.as_str(), m.strength),
        ("SDN-90001", MatchStrength::NearMiss)
    );
    assert!(m.reason.contains("differs"), "{}", m.reason);
    // Within a year of the listed one it stays a hit.
    let result = screen(&person("Mohammed Khalid", "Al-Rashid", 1972));
    assert_eq!(hits(&result, ListKind::Sanctions), ["SDN-90001"]);
}

#[test]
fn pep_list_matches() {
    let result = screen(&person("Ingrid", "Solberg Haugen", 1964));
    assert_eq!(hits(&result, ListKind::Pep), ["PEP-1"]);
    assert!(hits(&result, ListKind::Sanctions).is_empty());
    let result = screen(&person("Carlos Eduardo", "Mendonca", 1959));
    assert_eq!(hits(&result, ListKind::Pep), ["PEP-4"]);
}

fn sdn_error(sdn: &str, alt: &str) -> String {
    ScreeningList::from_ofac_csv("t", sdn, alt)
        .unwrap_err()
        .to_string()
}

#[test]
fn malformed_list_files_are_refused_naming_file_and_line() {
    let good = "1,\"DOE, John\",\"individual\",\"SDGT\",-0-,-0-,-0-,-0-,-0-,-0-,-0-,-0-\n";
    assert_eq!(
        ScreeningList::from_ofac_csv("t", good, "").unwrap().len(),
        1
    );
    let header = "ent_num,SDN_Name,SDN_Type,Program,Title,Call_Sign,Vess_type,Tonnage,GRT,Vess_flag,Vess_owner,Remarks\n";
    assert_eq!(
        ScreeningList::from_ofac_csv("t", &format!("{header}{good}"), "\u{1a}")
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        sdn_error(&format!("{good}2,\"X, Y\",individual,SDGT\n"), ""),
        "sdn.csv line 2: expected 12 fields, found 4"
    );
    assert_eq!(
        sdn_error(&good.replace("1,", "A1,"), ""),
        "sdn.csv line 1: ent_num 'A1' is not a number"
    );
    assert_eq!(
        sdn_error(&format!("{good}{good}"), ""),
        "sdn.csv line 2: ent_num 1 appears twice"
    );
    assert_eq!(
        sdn_error(&good.replace("individual", "spaceship"), ""),
        "sdn.csv line 1: unknown SDN_Type 'spaceship'"
    );
    assert_eq!(
        sdn_error(&good.replace("\"DOE, John\"", "-0-"), ""),
        "sdn.csv line 1: SDN_Name is empty"
    );
    assert_eq!(
        sdn_error(
            good,
            "1,10,aka,\"DOE, Johnny\",-0-\n2,11,aka,\"X, Y\",-0-\n"
        ),
        "alt.csv line 2: alias of unknown ent_num 2"
    );
    assert!(sdn_error(&format!("{good}3,\"UNCLOSED, name"), "").starts_with("sdn.csv line 2:"));
    let pep = ScreeningList::default().with_pep_csv("p", "1,Jane Roe,GB,Minister,1970\n");
    assert!(pep.unwrap_err().to_string().contains("header"));
    let pep = ScreeningList::default().with_pep_csv(
        "p",
        "pep_id,name,country,position,birth_year\n1,Jane Roe,GB,Minister,seventy\n",
    );
    assert_eq!(
        pep.unwrap_err().to_string(),
        "pep.csv line 2: birth_year 'seventy' is not a year"
    );
    // The shipped files are what `sample()` reads.
    assert!(
        ScreeningList::from_ofac_csv("t", SAMPLE_LIST_FILES.sdn, SAMPLE_LIST_FILES.alt).is_ok()
    );
}
