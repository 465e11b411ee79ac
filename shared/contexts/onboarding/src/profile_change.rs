//! A change of a client's KYC profile (`PUT /clients/{id}/profile`) and what it sets off.
//!
//! For a client whose KYC is approved, the fields their jurisdiction's rules name material
//! (`profile_changes` of the jurisdiction rules) are re-screened against the sanctions and PEP
//! lists under the rules the new profile falls under, and the re-screening is stored as a KYC
//! check of scope `screening` with its own audit event. The approval stands only when the
//! rules re-screen only and the re-screening is clear; otherwise (the rules re-verify, the
//! client changes jurisdiction, the screening is not clear, or a hard rule makes the client
//! ineligible — checked on every change, material or not) the client is re-verified: a new
//! onboarding of theirs starts the onboarding workflow, whose KYC check runs with the trigger
//! `profile_changed`, and until KYC approves them again the client carries a `reverification`
//! whose money rules withdrawals and deposits follow. A change of client type needs the new
//! type's documents, so it leaves the client `reverification_required` to start the onboarding
//! themselves. The profile, the client's new status, the re-screening and the re-verifying
//! onboarding commit together, each with its audit event; the client's event names the
//! material fields and what they set off.
//!
//! While a verification runs (`pending`, `in_review`) material changes are refused: the check
//! under way would decide on data the client has since changed.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::clients::{load_for_change, validate_profile, view};
use crate::kyc::active_jurisdictions;
use crate::kyc::model::{
    CheckScope, CheckStatus, CheckTrigger, JurisdictionRules, KycCheckRecord, KycDecision,
    ProfileChangeAssessment, ProfileChangeEffect, ProfileField, assess_profile_change,
    material_fields, rescreen,
};
use crate::model::{Client, KycProfile, KycStatus, Onboarding, Reverification, kyc_subject};
use crate::{Services, repo};
use brokeros_kernel::audit::FieldChange;
use brokeros_kernel::changeset::Changeset;
use brokeros_kernel::idempotency::{IdempotencyKey, execute};
use brokeros_kernel::principal::Principal;
use brokeros_kernel::{Answer, Error, OpContext, Result, user_ctx};

/// Sets the client's KYC profile (the client themself, their account manager or an admin) and
/// acts on what changed; see the module documentation.
pub async fn set_profile(
    services: &Services,
    principal: &Principal,
    id: &str,
    body: KycProfile,
    key: Option<&IdempotencyKey>,
    correlation_id: &str,
) -> Result<Answer> {
    let profile = validate_profile(body)?;
    let answer = execute(services, key, || {
        let profile = profile.clone();
        Box::pin(async move {
            let ctx = user_ctx(services, principal, correlation_id);
            let before = load_for_change(services, principal, id).await?;
            let mut client = before.entity.clone();
            client.profile = Some(profile);
            let mut changes = Changeset::new();
            let change = decide_change(
                services,
                principal,
                &ctx,
                &before.entity,
                &mut client,
                &mut changes,
            )
            .await?;
            let action = match change.effect {
                ProfileChangeEffect::None if change.type_changed => "client.type_changed",
                ProfileChangeEffect::None => "client.profile_updated",
                ProfileChangeEffect::Rescreened => "client.profile_rescreened",
                ProfileChangeEffect::Reverify => "client.reverification_started",
                ProfileChangeEffect::ReverificationRequired => "client.type_changed",
            };
            changes.update(
                &ctx,
                services.ids.as_ref(),
                &before,
                &client,
                action,
                vec![FieldChange {
                    field: "profile_change".into(),
                    before: Value::Null,
                    after: change.audited(),
                }],
            )?;
            let mut body = view(&client, before.version + 1);
            body["profile_change"] = change.shown();
            Ok((Answer::done(body), changes))
        })
    })
    .await?;
    start_reverification(services, answer).await
}

/// What a profile change did, for the client's audit event and the answer.
struct Change {
    material: BTreeSet<ProfileField>,
    effect: ProfileChangeEffect,
    /// A change of client type of a client not approved (as before: a started KYC needs a new
    /// onboarding).
    type_changed: bool,
    /// The reason codes of a re-verification (details, which may name screening matches, stay
    /// with the re-screening check, which only compliance reads).
    reason_codes: Vec<String>,
    rescreen_check_id: Option<String>,
    onboarding_id: Option<String>,
}

impl Change {
    fn recorded(material: BTreeSet<ProfileField>, type_changed: bool) -> Change {
        Change {
            material,
            effect: ProfileChangeEffect::None,
            type_changed,
            reason_codes: Vec::new(),
            rescreen_check_id: None,
            onboarding_id: None,
        }
    }

    fn audited(&self) -> Value {
        json!({
            "material_fields": self.material,
            "effect": self.effect,
            "reasons": self.reason_codes,
            "rescreen_check_id": self.rescreen_check_id,
            "onboarding_id": self.onboarding_id,
        })
    }

    fn shown(&self) -> Value {
        serde_json::to_value(ProfileChangeShown {
            material_fields: self.material.clone(),
            effect: self.effect,
        })
        .expect("a profile change serializes")
    }
}

/// What a change of a client's profile set off, as its answer shows it (`profile_change`).
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ProfileChangeShown {
    /// The changed fields that matter to the client's verification.
    pub material_fields: BTreeSet<ProfileField>,
    pub effect: ProfileChangeEffect,
}

/// Decides what the change of `before` into `client` sets off and stages it (the re-screening
/// check, the re-verifying onboarding) into `changes`, adjusting `client`'s KYC standing.
async fn decide_change(
    services: &Services,
    principal: &Principal,
    ctx: &OpContext,
    before: &Client,
    client: &mut Client,
    changes: &mut Changeset,
) -> Result<Change> {
    let changed = before.kyc_fields_changed(client);
    let jurisdictions = active_jurisdictions(services).await?;
    let covering = |c: &Client| {
        c.profile
            .as_ref()
            .and_then(|p| jurisdictions.select(&p.residence_country, p.client_type))
    };
    let (rules_before, rules_after) = (covering(before), covering(client));
    let material = material_fields(&changed, rules_before, rules_after);
    match before.kyc_status {
        KycStatus::Approved if !changed.is_empty() => {}
        KycStatus::Pending | KycStatus::InReview if !material.is_empty() => {
            let fields: Vec<&str> = material.iter().map(|f| f.as_str()).collect();
            return Err(Error::conflict(
                "verification_in_progress",
                format!(
                    "a KYC verification of this client is under way: {} cannot change until it ends",
                    fields.join(", ")
                ),
            ));
        }
        status => {
            // Not approved: the next onboarding checks the profile as it is then. A change of
            // type after KYC started needs that new onboarding.
            let type_changed = changed.contains(&ProfileField::ClientType);
            if type_changed && status != KycStatus::NotStarted {
                client.kyc_status = KycStatus::ReverificationRequired;
            }
            return Ok(Change::recorded(material, type_changed));
        }
    }
    let product = match &before.onboarding_id {
        Some(id) => services
            .find::<Onboarding>(id)
            .await?
            .map(|o| o.entity.product),
        None => None,
    }
    .or_else(|| services.config.onboarding.products.first().cloned())
    .unwrap_or_default();
    let rescreening = match rules_after {
        Some(rules) => rescreen_profile(services, ctx, client, rules, &product).await?,
        None => None,
    };
    let assessment = assess_profile_change(
        &changed,
        rules_before,
        rules_after,
        rescreening.as_ref().and_then(|r| r.decision.as_ref()),
    );
    if assessment.effect == ProfileChangeEffect::None {
        return Ok(Change::recorded(assessment.material_fields, false));
    }
    let trigger_fields = if assessment.material_fields.is_empty() {
        changed.clone()
    } else {
        assessment.material_fields.clone()
    };
    let mut change = Change {
        material: assessment.material_fields.clone(),
        effect: assessment.effect,
        type_changed: false,
        reason_codes: reason_codes(&assessment),
        rescreen_check_id: None,
        onboarding_id: None,
    };
    if let Some(mut record) = rescreening {
        record.trigger = CheckTrigger::ProfileChanged {
            fields: trigger_fields.iter().copied().collect(),
        };
        changes.create(ctx, services.ids.as_ref(), &record, "kyc_check.rescreened")?;
        change.rescreen_check_id = Some(record.id);
    }
    let while_reverifying = assessment
        .while_reverifying
        .unwrap_or(crate::kyc::model::MoneyRules::HOLD);
    match assessment.effect {
        ProfileChangeEffect::Reverify => {
            services.workflow()?;
            let onboarding = Onboarding::running(
                services.ids.prefixed("onb"),
                client.id.clone(),
                product,
                Some(CheckTrigger::ProfileChanged {
                    fields: trigger_fields.iter().copied().collect(),
                }),
                principal.sub.clone(),
                ctx.now,
            );
            changes.create(
                ctx,
                services.ids.as_ref(),
                &onboarding,
                "onboarding.reverification_started",
            )?;
            crate::stage_launch(services, changes, &onboarding, ctx.now)?;
            client.kyc_status = KycStatus::Pending;
            client.onboarding_id = Some(onboarding.id.clone());
            client.reverification = Some(Reverification {
                fields: trigger_fields,
                onboarding_id: Some(onboarding.id.clone()),
                while_reverifying,
                since: ctx.now,
            });
            change.onboarding_id = Some(onboarding.id);
        }
        ProfileChangeEffect::ReverificationRequired => {
            client.kyc_status = KycStatus::ReverificationRequired;
            client.reverification = Some(Reverification {
                fields: trigger_fields,
                onboarding_id: None,
                while_reverifying,
                since: ctx.now,
            });
        }
        ProfileChangeEffect::None | ProfileChangeEffect::Rescreened => {}
    }
    Ok(change)
}

/// The reason codes of an assessment (`jurisdiction_rules`, `rescreen_not_clear`, a hard
/// rule's code): what the client's audit event keeps of them.
fn reason_codes(assessment: &ProfileChangeAssessment) -> Vec<String> {
    assessment
        .reasons
        .iter()
        .map(|r| r.split(':').next().unwrap_or(r).trim().to_string())
        .collect()
}

/// The re-screening of the client's new profile under `rules`, as a completed check of scope
/// `screening` (not stored yet); `None` when the profile cannot be screened (incomplete: the
/// re-verification's check says what is missing).
async fn rescreen_profile(
    services: &Services,
    ctx: &OpContext,
    client: &Client,
    rules: &JurisdictionRules,
    product: &str,
) -> Result<Option<KycCheckRecord>> {
    let today = ctx.now.to_offset(time::UtcOffset::UTC).date();
    let numbers = repo::document_numbers(services, &client.id).await?;
    let Ok(subject) = kyc_subject(client, product, &numbers).and_then(|s| s.validate(today)) else {
        return Ok(None);
    };
    let kept = subject.without_document_numbers();
    let screening = services.screening.screen(&subject, rules.screening);
    let decision: KycDecision = rescreen(rules, &kept, &screening, today);
    Ok(Some(KycCheckRecord {
        id: services.ids.prefixed("rescreen"),
        client_id: client.id.clone(),
        client_type: subject.client_type,
        product: product.to_string(),
        trigger: CheckTrigger::ProfileChanged { fields: Vec::new() },
        scope: CheckScope::Screening,
        status: CheckStatus::Completed,
        jurisdiction: rules.reference(),
        subject: kept,
        screening,
        provider: None,
        document_result: None,
        decision: Some(decision),
        created_at: ctx.now,
        updated_at: ctx.now,
    }))
}

/// Once the change committed: carries out the start of the re-verifying onboarding's workflow
/// it staged (a replayed request finds it carried out, or carries out what its first attempt
/// left; the outbox relay does it should neither).
async fn start_reverification(services: &Services, answer: Answer) -> Result<Answer> {
    if let Some(onboarding_id) = answer.body["reverification"]["onboarding_id"].as_str() {
        crate::launch(services, onboarding_id).await?;
    }
    Ok(answer)
}
