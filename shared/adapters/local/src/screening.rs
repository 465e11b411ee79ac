//! The fictional sample screening lists and applicants that `brokeros serve`, the demo and the
//! tests run with (`data/screening-lists/sample/README.md` says what they exercise). No Lambda
//! links them: a deployed function reads the lists its `BROKEROS_SCREENING_LISTS` names.

use brokeros_onboarding::kyc::model::{ListFiles, ScreeningList};

/// The sample lists' files.
pub const SAMPLE_LIST_FILES: ListFiles<'static> = ListFiles {
    sdn: include_str!("../data/screening-lists/sample/sdn.csv"),
    alt: include_str!("../data/screening-lists/sample/alt.csv"),
    pep: include_str!("../data/screening-lists/sample/pep.csv"),
};

/// Fictional applicants, by scenario (`clear`, `document_rejected`, `document_review`,
/// `pending`, `outage_then_recovers`, `outage_forever`, `sanctioned`, `pep`, `corporate`):
/// their names and document numbers drive the simulated KYC provider.
pub const SAMPLE_APPLICANTS_JSON: &str = include_str!("../data/kyc/applicants.json");

/// The sample lists, labelled `sample` (`ofac-sdn-sample`, `pep-sample` in every result).
pub fn sample_screening_lists() -> ScreeningList {
    ScreeningList::from_files("sample", &SAMPLE_LIST_FILES).expect("the sample lists are valid")
}
