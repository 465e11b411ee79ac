//! KYC decisions under the embedded jurisdiction rules: each hard rule on its own, the risk
//! score and its reasons, verification levels, leverage caps and re-verification.

use brokeros_local::screening::sample_screening_lists;
use brokeros_onboarding::kyc::model::{
    CheckTrigger, ClientType, DocumentOutcome, DocumentRef, DocumentType, DocumentVerification,
    JurisdictionRules, JurisdictionSet, KycDecision, KycOutcome, KycSubject, ReasonEffect,
    SourceOfFunds, SubjectName, VerificationLevel, decide, hard_rejections,
    requires_reverification,
};
use time::macros::date;
use time::{Date, Duration};

const TODAY: Date = date!(2026 - 03 - 01);

fn doc(doc_type: DocumentType) -> DocumentRef {
    DocumentRef {
        doc_type,
        issuing_country: "DE".into(),
        number: "X1234567".into(),
    }
}

/// A 36-year-old German resident with a salary: nothing about them raises risk in the EU.
fn plain_person() -> KycSubject {
    KycSubject {
        client_id: "client_1".into(),
        client_type: ClientType::Individual,
        name: SubjectName::Person {
            first_name: "Anna".into(),
            middle_names: None,
            last_name: "Berg".into(),
        },
        date_of_birth: Some(date!(1990 - 01 - 15)),
        nationality: "DE".into(),
        residence_country: "DE".into(),
        source_of_funds: SourceOfFunds::Salary,
        pep_declared: false,
        product: "forex".into(),
        documents: vec![
            doc(DocumentType::Passport),
            doc(DocumentType::ProofOfAddress),
        ],
    }
}

fn company() -> KycSubject {
    KycSubject {
        client_type: ClientType::Corporate,
        name: SubjectName::Company {
            company_name: "Blue Harbour Analytics GmbH".into(),
        },
        date_of_birth: None,
        documents: vec![
            doc(DocumentType::CompanyRegistration),
            doc(DocumentType::ProofOfAddress),
        ],
        ..plain_person()
    }
}

fn rules_for(subject: &KycSubject) -> JurisdictionRules {
    JurisdictionSet::embedded_default()
        .select(&subject.residence_country, subject.client_type)
        .expect("the embedded rules cover every country")
        .clone()
}

fn clear() -> DocumentVerification {
    DocumentVerification {
        outcome: DocumentOutcome::Clear,
        labels: vec![],
    }
}

fn decide_clear(subject: &KycSubject) -> KycDecision {
    let rules = rules_for(subject);
    let screening = sample_screening_lists().screen(subject, rules.screening);
    decide(&rules, subject, &screening, Some(&clear()), TODAY)
}

fn codes(decision: &KycDecision) -> Vec<&str> {
    decision.reasons.iter().map(|r| r.code.as_str()).collect()
}

#[test]
fn a_plain_eu_client_is_approved_with_the_eu_leverage_cap() {
    let subject = plain_person();
    let rules = rules_for(&subject);
    let d = decide_clear(&subject);
    assert_eq!(d.outcome, KycOutcome::Approve, "{d:?}");
    assert_eq!(d.risk_score, 0);
    assert!(d.reasons.is_empty());
    assert_eq!(
        (d.jurisdiction.id.as_str(), d.jurisdiction.version),
        ("eu", 1)
    );
    assert_eq!(d.verification_level, VerificationLevel::Standard);
    assert_eq!(
        d.leverage_cap,
        rules.leverage_cap("forex", ClientType::Individual)
    );
    assert_eq!(d.leverage_cap, Some(30));
}

#[test]
fn rest_of_world_rules_apply_outside_the_eu() {
    let subject = KycSubject {
        residence_country: "BR".into(),
        nationality: "BR".into(),
        documents: vec![doc(DocumentType::DrivingLicence)],
        ..plain_person()
    };
    let rules = rules_for(&subject);
    let d = decide_clear(&subject);
    assert_eq!(d.jurisdiction.id, "row");
    assert_eq!(d.outcome, KycOutcome::Approve, "{d:?}");
    // Basic verification for forex: identity only, a driving licence is accepted there.
    assert_eq!(d.verification_level, VerificationLevel::Basic);
    assert_eq!(d.leverage_cap, Some(500));
    assert_eq!(d.risk_score, rules.risk.default_country_points);
    assert_eq!(codes(&d), ["country_risk"]);
}

fn rejected_by(subject: KycSubject, code: &str) {
    let d = decide_clear(&subject);
    assert_eq!(d.outcome, KycOutcome::Reject, "{code}: {d:?}");
    let reason = d
        .reasons
        .iter()
        .find(|r| r.code == code)
        .unwrap_or_else(|| panic!("{code} missing: {d:?}"));
    assert_eq!(reason.effect, ReasonEffect::Reject);
    assert_eq!(d.leverage_cap, None);
}

#[test]
fn each_hard_rule_rejects_on_its_own() {
    rejected_by(
        KycSubject {
            nationality: "KP".into(),
            ..plain_person()
        },
        "nationality_blacklisted",
    );
    rejected_by(
        KycSubject {
            residence_country: "US".into(),
            nationality: "US".into(),
            ..plain_person()
        },
        "residence_not_allowed",
    );
    rejected_by(
        KycSubject {
            date_of_birth: Some(TODAY - Duration::days(365 * 17)),
            ..plain_person()
        },
        "under_minimum_age",
    );
    rejected_by(
        KycSubject {
            name: SubjectName::Person {
                first_name: "Muhammad Khaled".into(),
                middle_names: None,
                last_name: "Al Rashid".into(),
            },
            date_of_birth: Some(date!(1971 - 03 - 14)),
            ..plain_person()
        },
        "sanctions_hit",
    );
    rejected_by(
        KycSubject {
            documents: vec![
                doc(DocumentType::DrivingLicence),
                doc(DocumentType::ProofOfAddress),
            ],
            ..plain_person()
        },
        "document_type_not_accepted",
    );
    rejected_by(
        KycSubject {
            product: "stocks".into(),
            ..plain_person()
        },
        "product_not_offered",
    );
    let subject = plain_person();
    let rules = rules_for(&subject);
    let screening = sample_screening_lists().screen(&subject, rules.screening);
    let failed = DocumentVerification {
        outcome: DocumentOutcome::Rejected,
        labels: vec!["document_expired".into()],
    };
    let d = decide(&rules, &subject, &screening, Some(&failed), TODAY);
    assert_eq!(d.outcome, KycOutcome::Reject);
    assert_eq!(codes(&d), ["document_verification_failed"]);
    assert!(d.reasons[0].detail.contains("document_expired"));
}

#[test]
fn the_minimum_age_is_reached_on_the_birthday() {
    let rules = rules_for(&plain_person());
    let birthday = date!(2008 - 03 - 01);
    let eighteen_today = KycSubject {
        date_of_birth: Some(birthday),
        ..plain_person()
    };
    assert!(hard_rejections(&rules, &eighteen_today, &Default::default(), TODAY).is_empty());
    let tomorrow = KycSubject {
        date_of_birth: Some(birthday.next_day().unwrap()),
        ..plain_person()
    };
    let reasons = hard_rejections(&rules, &tomorrow, &Default::default(), TODAY);
    assert_eq!(reasons[0].code, "under_minimum_age");
}

#[test]
fn risk_points_add_up_with_a_reason_each() {
    let subject = KycSubject {
        residence_country: "MT".into(),
        nationality: "CY".into(),
        source_of_funds: SourceOfFunds::Investments,
        date_of_birth: Some(date!(2006 - 01 - 01)),
        ..plain_person()
    };
    let rules = rules_for(&subject);
    let d = decide_clear(&subject);
    let risk = &rules.risk;
    let age_points = risk
        .age_bands
        .iter()
        .find(|b| b.contains(20))
        .unwrap()
        .points;
    let expected = risk.country_risk["MT"]
        + risk.country_risk["CY"]
        + risk.source_of_funds_points[&SourceOfFunds::Investments]
        + age_points;
    assert_eq!(d.risk_score, expected);
    assert_eq!(
        codes(&d),
        ["country_risk", "country_risk", "age", "source_of_funds"]
    );
    assert!(
        d.reasons
            .iter()
            .all(|r| r.effect == ReasonEffect::Risk && r.points > 0)
    );
    assert_eq!(
        d.reasons.iter().map(|r| r.points).sum::<u32>(),
        d.risk_score
    );
    assert!(d.risk_score < risk.review_threshold);
    assert_eq!(d.outcome, KycOutcome::Approve);
}

#[test]
fn thresholds_send_to_review_or_reject() {
    // Nationality at the review threshold on its own.
    let review = KycSubject {
        nationality: "RU".into(),
        documents: vec![
            doc(DocumentType::Passport),
            doc(DocumentType::ProofOfAddress),
            doc(DocumentType::ProofOfFunds),
        ],
        ..plain_person()
    };
    let d = decide_clear(&review);
    assert_eq!(d.outcome, KycOutcome::ManualReview, "{d:?}");
    assert!(codes(&d).contains(&"risk_score_review"));
    assert_eq!(d.verification_level, VerificationLevel::Enhanced);
    assert_eq!(d.leverage_cap, Some(30), "the cap applies once approved");
    // Add crypto funds, an elderly client and a risky residence: over the rejection threshold.
    let reject = KycSubject {
        residence_country: "MT".into(),
        source_of_funds: SourceOfFunds::Crypto,
        date_of_birth: Some(date!(1945 - 01 - 01)),
        ..review
    };
    let d = decide_clear(&reject);
    let rules = rules_for(&reject);
    assert!(d.risk_score >= rules.risk.reject_threshold, "{d:?}");
    assert_eq!(d.outcome, KycOutcome::Reject);
    assert!(codes(&d).contains(&"risk_score_reject"));
}

#[test]
fn a_pep_needs_enhanced_due_diligence_and_its_documents() {
    let declared = KycSubject {
        pep_declared: true,
        ..plain_person()
    };
    let d = decide_clear(&declared);
    assert_eq!(d.outcome, KycOutcome::ManualReview);
    assert_eq!(d.verification_level, VerificationLevel::Enhanced);
    assert_eq!(
        codes(&d),
        [
            "pep",
            "risk_score_review",
            "enhanced_due_diligence",
            "missing_document"
        ]
    );
    assert!(d.reasons[3].detail.contains("proof_of_funds"));
    // On the PEP list without declaring it: the same, and the reason names the entry.
    let listed = KycSubject {
        name: SubjectName::Person {
            first_name: "Ingrid".into(),
            middle_names: None,
            last_name: "Solberg-Haugen".into(),
        },
        residence_country: "NO".into(),
        nationality: "NO".into(),
        date_of_birth: Some(date!(1964 - 05 - 05)),
        ..plain_person()
    };
    let d = decide_clear(&listed);
    let pep = d.reasons.iter().find(|r| r.code == "pep").unwrap();
    assert!(pep.detail.contains("PEP-1"), "{}", pep.detail);
    assert_eq!(d.outcome, KycOutcome::ManualReview);
}

#[test]
fn a_sanctions_near_miss_adds_points_and_a_review() {
    let subject = KycSubject {
        name: SubjectName::Person {
            first_name: "Viktor Ivanovich".into(),
            middle_names: None,
            last_name: "Petrenco".into(),
        },
        date_of_birth: Some(date!(1964 - 02 - 02)),
        ..plain_person()
    };
    let rules = rules_for(&subject);
    let d = decide_clear(&subject);
    let near = d
        .reasons
        .iter()
        .find(|r| r.code == "sanctions_near_miss")
        .unwrap();
    assert_eq!(near.points, rules.risk.sanctions_near_miss_points);
    assert!(near.detail.contains("SDN-90002"));
    assert_eq!(d.outcome, KycOutcome::ManualReview);
}

#[test]
fn provider_review_missing_verdict_and_missing_documents_go_to_review() {
    let subject = plain_person();
    let rules = rules_for(&subject);
    let screening = sample_screening_lists().screen(&subject, rules.screening);
    let blurry = DocumentVerification {
        outcome: DocumentOutcome::Review,
        labels: vec!["image_blurry".into()],
    };
    let d = decide(&rules, &subject, &screening, Some(&blurry), TODAY);
    assert_eq!(
        (d.outcome, codes(&d)),
        (KycOutcome::ManualReview, vec!["document_needs_review"])
    );
    let d = decide(&rules, &subject, &screening, None, TODAY);
    assert_eq!(
        (d.outcome, codes(&d)),
        (
            KycOutcome::ManualReview,
            vec!["document_verification_missing"]
        )
    );
    let no_address = KycSubject {
        documents: vec![doc(DocumentType::Passport)],
        ..plain_person()
    };
    let d = decide_clear(&no_address);
    assert_eq!(
        (d.outcome, codes(&d)),
        (KycOutcome::ManualReview, vec!["missing_document"])
    );
}

#[test]
fn companies_are_checked_with_company_documents_and_corporate_caps() {
    let d = decide_clear(&company());
    assert_eq!(d.outcome, KycOutcome::Approve, "{d:?}");
    let abroad = KycSubject {
        residence_country: "SG".into(),
        nationality: "SG".into(),
        documents: vec![doc(DocumentType::CompanyRegistration)],
        ..company()
    };
    let d = decide_clear(&abroad);
    assert_eq!(d.jurisdiction.id, "row");
    assert_eq!(
        d.leverage_cap,
        rules_for(&abroad).leverage_cap("forex", ClientType::Corporate)
    );
    let without_registration = KycSubject {
        documents: vec![doc(DocumentType::ProofOfAddress)],
        ..company()
    };
    let d = decide_clear(&without_registration);
    assert!(
        d.reasons
            .iter()
            .any(|r| r.code == "missing_document" && r.detail.contains("company_registration"))
    );
}

#[test]
fn a_change_of_client_type_triggers_reverification() {
    assert!(requires_reverification(
        ClientType::Individual,
        ClientType::Corporate
    ));
    assert!(!requires_reverification(
        ClientType::Corporate,
        ClientType::Corporate
    ));
    assert_eq!(
        CheckTrigger::for_check(None, ClientType::Corporate),
        CheckTrigger::Onboarding
    );
}
