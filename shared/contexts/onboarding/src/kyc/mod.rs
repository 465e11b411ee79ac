//! KYC/AML checks of onboarding: select the jurisdiction's rules, screen the client against
//! sanctions and PEP lists, have the provider verify the documents, score, decide, and store
//! the check with its audit event in one transaction.
//!
//! A check is identified by an id its caller chooses (the onboarding workflow's execution
//! name, plus a counter if one execution checks a client more than once): calling again with
//! the same id never starts a second check. It answers the stored check, after asking the
//! provider for the verdict if the check was still waiting for one. Provider outages surface
//! as [`KycError::ProviderUnavailable`] (`KycProviderUnavailable`) with nothing stored, so the
//! state machine's retry runs the check again from the start.

mod error;
pub mod jurisdictions;
pub mod model;
pub mod provider;
mod repo;

use crate::kyc::model::{
    CheckScope, CheckStatus, CheckTrigger, ClientType, DocumentVerification, KycCheckRecord,
    KycSubject, ProviderRefs, ScreeningList, decide, hard_rejections, verification_level,
};
use brokeros_kernel::principal::{Principal, Role};
use brokeros_kernel::{Error, normalize};
use http::HeaderMap;

use crate::model::{Client, Onboarding};
use brokeros_kernel::Core;
use brokeros_kernel::OpContext;
use brokeros_kernel::changeset::{Audited, Changeset, Committed};

pub use error::KycError;
pub use jurisdictions::{
    active_jurisdictions, jurisdiction_history, jurisdiction_version, update_jurisdiction,
};
pub use provider::{
    ApplicantRef, CheckRef, KycProvider, KycWebhookEvent, ProviderError, SubmittedDocument,
};

type KycResult<T> = Result<T, KycError>;

/// How often a check's write is re-tried after losing a race on the same check.
const MAX_ATTEMPTS: u32 = 8;

/// Runs (or resumes) the KYC check `check_id` of `subject`.
///
/// Selects the jurisdiction's rules in force for the subject's residence and client type,
/// screens against `screening_list`, and unless a hard rule already rejects, asks `provider`
/// to verify the documents at the required level. With the provider's verdict the check is
/// decided and stored `completed`; without one yet, it is stored `pending` and completes on the
/// provider's webhook ([`handle_kyc_webhook`]) or when called again with the same id.
///
/// The stored check and its audit event hold the subject without document numbers.
pub async fn run_kyc_check(
    services: &Core,
    provider: &dyn KycProvider,
    screening_list: &ScreeningList,
    check_id: &str,
    subject: KycSubject,
    ctx: &OpContext,
) -> KycResult<KycCheckRecord> {
    run_kyc_check_for(
        services,
        provider,
        screening_list,
        check_id,
        subject,
        None,
        ctx,
    )
    .await
}

/// [`run_kyc_check`] for a check whose caller knows why it runs (`trigger`: a re-verification
/// after a profile change); without one, the trigger follows from the client's last check.
pub async fn run_kyc_check_for(
    services: &Core,
    provider: &dyn KycProvider,
    screening_list: &ScreeningList,
    check_id: &str,
    subject: KycSubject,
    trigger: Option<CheckTrigger>,
    ctx: &OpContext,
) -> KycResult<KycCheckRecord> {
    let today = ctx.now.to_offset(time::UtcOffset::UTC).date();
    let check_id = normalize::code("check_id", check_id, 128)?;
    let subject = subject.validate(today)?;
    let kept = subject.without_document_numbers();
    if let Some(existing) = services.find::<KycCheckRecord>(&check_id).await? {
        return resume(services, provider, existing, &kept, ctx).await;
    }
    let rules = active_jurisdictions(services)
        .await?
        .select(&subject.residence_country, subject.client_type)
        .cloned()
        .ok_or_else(|| {
            Error::invalid(
                "kyc_not_covered",
                "residence_country",
                format!(
                    "no jurisdiction covers {} clients residing in {}",
                    subject.client_type.as_str(),
                    subject.residence_country
                ),
            )
        })?;
    let screening = screening_list.screen(&subject, rules.screening);
    let (provider_refs, document_result) =
        if hard_rejections(&rules, &subject, &screening, today).is_empty() {
            let (refs, result) = verify_documents(
                provider,
                &subject,
                verification_level(&rules, &subject, &screening, today),
            )
            .await?;
            (Some(refs), result)
        } else {
            // Rejected whatever the documents show: the provider gets no data at all.
            (None, None)
        };
    let status = if provider_refs.is_some() && document_result.is_none() {
        CheckStatus::Pending
    } else {
        CheckStatus::Completed
    };
    let decision = (status == CheckStatus::Completed)
        .then(|| decide(&rules, &kept, &screening, document_result.as_ref(), today));
    let action = match status {
        CheckStatus::Pending => "kyc_check.started",
        CheckStatus::Completed => "kyc_check.completed",
    };
    for _ in 0..MAX_ATTEMPTS {
        // The client's latest completed check, by key: what tells a re-verification, and what
        // a completed check moves forward in its own transaction.
        let (latest, previous) = latest_completed(services, &subject.client_id).await?;
        let record = KycCheckRecord {
            id: check_id.clone(),
            client_id: subject.client_id.clone(),
            client_type: subject.client_type,
            product: subject.product.clone(),
            trigger: trigger
                .clone()
                .unwrap_or_else(|| CheckTrigger::for_check(previous.as_ref(), subject.client_type)),
            scope: CheckScope::Full,
            status,
            jurisdiction: rules.reference(),
            subject: kept.clone(),
            screening: screening.clone(),
            provider: provider_refs.clone(),
            document_result: document_result.clone(),
            decision: decision.clone(),
            created_at: ctx.now,
            updated_at: ctx.now,
        };
        let mut changes = Changeset::new();
        changes.create(ctx, services.ids.as_ref(), &record, action)?;
        if let Some(put) = repo::provider_check_put(&record) {
            changes.put(put);
        }
        if record.is_completed()
            && let Some(put) = repo::advance_latest_completed(latest.as_ref(), &record)?
        {
            changes.put(put);
        }
        if services.commit(changes).await? == Committed::Applied {
            return Ok(record);
        }
        // A concurrent run with the same id stored its check first: that one stands.
        if let Some(existing) = services.find::<KycCheckRecord>(&check_id).await? {
            same_subject(&existing.entity, &kept)?;
            return Ok(existing.entity);
        }
        // Another check of the client completed meanwhile: decide again on fresh reads.
    }
    Err(concurrent_update())
}

fn concurrent_update() -> KycError {
    Error::conflict(
        "concurrent_update",
        "the check was changed by concurrent requests; retry",
    )
    .into()
}

async fn verify_documents(
    provider: &dyn KycProvider,
    subject: &KycSubject,
    level: crate::kyc::model::VerificationLevel,
) -> KycResult<(ProviderRefs, Option<DocumentVerification>)> {
    let failed = |e| KycError::from_provider(provider.name(), e);
    let applicant = provider.create_applicant(subject).await.map_err(failed)?;
    provider
        .submit_documents(&applicant, &subject.documents)
        .await
        .map_err(failed)?;
    let check = provider
        .start_check(&applicant, level)
        .await
        .map_err(failed)?;
    let result = match check.status {
        provider::CheckStatus::Completed(result) => Some(result),
        provider::CheckStatus::Pending => None,
    };
    let refs = ProviderRefs {
        provider: provider.name().to_string(),
        applicant_id: applicant.id,
        check_id: check.id,
    };
    Ok((refs, result))
}

fn same_subject(check: &KycCheckRecord, kept: &KycSubject) -> KycResult<()> {
    if check.subject == *kept {
        Ok(())
    } else {
        Err(Error::conflict(
            "kyc_check_id_reused",
            format!(
                "check {} was run for another subject; use a new check id",
                check.id
            ),
        )
        .into())
    }
}

/// A check found under its id: answered as stored, or completed if the provider has decided.
async fn resume(
    services: &Core,
    provider: &dyn KycProvider,
    existing: Audited<KycCheckRecord>,
    kept: &KycSubject,
    ctx: &OpContext,
) -> KycResult<KycCheckRecord> {
    same_subject(&existing.entity, kept)?;
    if existing.entity.is_completed() {
        return Ok(existing.entity);
    }
    let refs = existing.entity.provider.clone().ok_or_else(|| {
        Error::Internal(format!(
            "pending kyc check {} has no provider check",
            existing.entity.id
        ))
    })?;
    if refs.provider != provider.name() {
        return Err(Error::Internal(format!(
            "kyc check {} waits on provider {}, not {}",
            existing.entity.id,
            refs.provider,
            provider.name()
        ))
        .into());
    }
    let status = provider
        .fetch_check(&refs.check_id)
        .await
        .map_err(|e| KycError::from_provider(provider.name(), e))?;
    match status {
        provider::CheckStatus::Pending => Ok(existing.entity),
        provider::CheckStatus::Completed(result) => complete(services, existing, result, ctx).await,
    }
}

/// Decides a pending check with the provider's verdict under the rules version it started
/// with, as of the day it started.
async fn complete(
    services: &Core,
    mut current: Audited<KycCheckRecord>,
    result: DocumentVerification,
    ctx: &OpContext,
) -> KycResult<KycCheckRecord> {
    for _ in 0..MAX_ATTEMPTS {
        let check = &current.entity;
        if check.is_completed() {
            return Ok(current.entity);
        }
        let rules =
            jurisdiction_version(services, &check.jurisdiction.id, check.jurisdiction.version)
                .await?;
        let started = check.created_at.to_offset(time::UtcOffset::UTC).date();
        let decision = decide(
            &rules,
            &check.subject,
            &check.screening,
            Some(&result),
            started,
        );
        let after = KycCheckRecord {
            status: CheckStatus::Completed,
            document_result: Some(result.clone()),
            decision: Some(decision),
            updated_at: ctx.now,
            ..check.clone()
        };
        let latest = repo::latest_completed(services, &check.client_id).await?;
        let mut changes = Changeset::new();
        changes.update(
            ctx,
            services.ids.as_ref(),
            &current,
            &after,
            "kyc_check.completed",
            vec![],
        )?;
        if let Some(put) = repo::advance_latest_completed(latest.as_ref(), &after)? {
            changes.put(put);
        }
        if services.commit(changes).await? == Committed::Applied {
            return Ok(after);
        }
        current = services
            .find::<KycCheckRecord>(&check.id)
            .await?
            .ok_or_else(|| Error::Internal(format!("kyc check {} vanished", check.id)))?;
    }
    Err(concurrent_update())
}

/// Handles the provider's webhook: verifies its signature, finds the check it is about (by
/// key: the provider's check item written with the check) and completes it. Deliveries repeat:
/// a check already completed is answered unchanged. A webhook for a check not stored yet (it
/// can overtake the commit of `run_kyc_check`) is `Unavailable`, which the provider delivers
/// again later (HTTP 503).
pub async fn handle_kyc_webhook(
    services: &Core,
    provider: &dyn KycProvider,
    headers: &HeaderMap,
    body: &[u8],
    ctx: &OpContext,
) -> KycResult<KycCheckRecord> {
    let event = provider
        .parse_webhook(headers, body, ctx.now)
        .map_err(|e| KycError::from_provider(provider.name(), e))?;
    let check = repo::check_of_provider_check(services, provider.name(), &event.check_id)
        .await?
        .ok_or_else(|| {
            Error::Unavailable(format!(
                "no kyc check is stored for {} check {} (yet); the provider delivers again",
                provider.name(),
                event.check_id
            ))
        })?;
    match event.status {
        provider::CheckStatus::Completed(result) => complete(services, check, result, ctx).await,
        provider::CheckStatus::Pending => Ok(check.entity),
    }
}

/// The client's newest completed full check (not a re-screening), if any: its pointer item,
/// then the check, both read by key.
pub async fn latest_completed_check(
    services: &Core,
    client_id: &str,
) -> KycResult<Option<KycCheckRecord>> {
    Ok(latest_completed(services, client_id).await?.1)
}

/// The client's latest completed check's pointer and the check it points to.
async fn latest_completed(
    services: &Core,
    client_id: &str,
) -> brokeros_kernel::Result<(Option<repo::LatestCompleted>, Option<KycCheckRecord>)> {
    let Some(latest) = repo::latest_completed(services, client_id).await? else {
        return Ok((None, None));
    };
    let check = services.get::<KycCheckRecord>(&latest.check_id).await?;
    Ok((Some(latest), Some(check.entity)))
}

/// Whether a client now of `client_type` must be checked again: their newest completed check
/// was for the other client type (individual ↔ corporate).
pub async fn requires_reverification(
    services: &Core,
    client_id: &str,
    client_type: ClientType,
) -> KycResult<bool> {
    Ok(latest_completed_check(services, client_id)
        .await?
        .is_some_and(|c| crate::kyc::model::requires_reverification(c.client_type, client_type)))
}

/// Compliance officers and admins only: a check names sanctions and PEP matches, which the
/// client must not learn from Broker OS (AML tipping-off rules).
fn authorize_read(principal: &Principal) -> KycResult<()> {
    Ok(principal.require_any(&[Role::Compliance, Role::Admin], "read KYC checks")?)
}

pub async fn kyc_check(
    services: &Core,
    principal: &Principal,
    check_id: &str,
) -> KycResult<KycCheckRecord> {
    authorize_read(principal)?;
    let id = normalize::code("check_id", check_id, 128)?;
    Ok(services.get::<KycCheckRecord>(&id).await?.entity)
}

/// A client's checks, newest first (at most 100).
pub async fn kyc_checks_for_client(
    services: &Core,
    principal: &Principal,
    client_id: &str,
) -> KycResult<Vec<KycCheckRecord>> {
    authorize_read(principal)?;
    let client_id = normalize::code("client_id", client_id, 80)?;
    Ok(repo::checks_of_client(services, &client_id, 100).await?)
}

/// The KYC decision of the client's latest onboarding, if its check decided: what payments
/// route a client's deposits by (their risk level).
pub async fn latest_decision(
    services: &Core,
    client: &Client,
) -> brokeros_kernel::Result<Option<crate::kyc::model::KycDecision>> {
    let Some(onboarding_id) = &client.onboarding_id else {
        return Ok(None);
    };
    let onboarding = services.find::<Onboarding>(onboarding_id).await?;
    let Some(check_id) = onboarding.and_then(|o| o.entity.kyc_check_id) else {
        return Ok(None);
    };
    let check = services.find::<KycCheckRecord>(&check_id).await?;
    Ok(check.and_then(|c| c.entity.decision))
}
