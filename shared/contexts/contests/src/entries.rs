//! Entries: a client registers a trading account for a contest (one it holds, or a dedicated
//! account opened on the platform for the entry), marketing enrols a client, a contest's
//! campaign enrols its clients' new accounts; marketing disqualifies and reinstates with a
//! reason; a client withdraws before the contest ends.
//!
//! Every entry meets the contest's rules, each refused with its own 4xx and nothing written:
//! the contest is published and its registration window open; the client's KYC and country;
//! the account is the client's, of the contest's mode (live or demo), currency and groups,
//! new or existing as asked, holding the minimum deposit; a login enters once; and, unless the
//! contest allows more, one entry per person — the same person across clients, recognised by
//! their client id, verified identity document, phone or email (digests only). Each entry
//! writes keyed markers of its login and person in the entry's changeset, on the condition
//! that they do not exist, so two entries of one person that race cannot both land.

use brokeros_crm::model::Lead;
use brokeros_kernel::changeset::{Audited, Changeset};
use brokeros_kernel::idempotency::{IdempotencyKey, execute};
use brokeros_kernel::principal::{Principal, Role};
use brokeros_kernel::{Answer, Core, Error, OpContext, PageParams, Result, normalize, page_limit};
use brokeros_kernel::{canonical::sha256_hex, user_ctx};
use brokeros_onboarding::model::{AccountRef, Client, KycStatus};
use brokeros_store::Key;
use brokeros_trading::{NewAccount, platform_error};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::Services;
use crate::definitions::{MANAGERS, Reason};
use crate::keys;
use crate::model::contest::Decision;
use crate::model::entrant::{
    Applicant, EntryAccount, check_account, check_applicant, check_deposit, display_name,
};
use crate::model::{ContestEntrant, ContestRecord, ContestStatus, EntrantStatus, EntryChannel};
use crate::repo;

/// Which account enters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryAccountChoice {
    /// An account the client holds.
    Held(u64),
    /// A dedicated account opened on the platform for the entry (the contest's
    /// `contest_account`).
    Dedicated,
}

fn choice(login: Option<u64>, open_contest_account: bool) -> Result<EntryAccountChoice> {
    match (login, open_contest_account) {
        (Some(login), false) => Ok(EntryAccountChoice::Held(login)),
        (None, true) => Ok(EntryAccountChoice::Dedicated),
        (Some(_), true) => Err(Error::invalid(
            "invalid_entry",
            "open_contest_account",
            "an entry is either an account the client holds (login) or a dedicated contest account (open_contest_account), not both",
        )),
        (None, false) => Err(Error::invalid(
            "invalid_entry",
            "login",
            "an entry names the login of an account the client holds, or asks for a dedicated contest account (open_contest_account: true)",
        )),
    }
}

/// A client's registration: `{"login": 123}` or `{"open_contest_account": true}`.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = ContestRegistration)]
#[serde(deny_unknown_fields)]
pub struct Registration {
    #[serde(default)]
    pub login: Option<u64>,
    #[serde(default)]
    pub open_contest_account: bool,
}

/// Marketing's enrolment of a client: `{"client_id": …, "login": 123}` or
/// `{"client_id": …, "open_contest_account": true}`.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = ContestEnrollment)]
#[serde(deny_unknown_fields)]
pub struct Enrollment {
    pub client_id: String,
    #[serde(default)]
    pub login: Option<u64>,
    #[serde(default)]
    pub open_contest_account: bool,
}

/// The client the calling portal user is.
async fn own_client_id(core: &Core, principal: &Principal) -> Result<String> {
    brokeros_onboarding::client_id_of_user(core, &principal.sub)
        .await?
        .ok_or_else(|| Error::NotFound {
            entity: "client",
            id: principal.sub.clone(),
        })
}

/// A client registers one of their accounts, or a dedicated one, for contest `contest_id`.
/// Answers the entrant.
pub async fn register(
    services: &Services,
    principal: &Principal,
    contest_id: &str,
    body: Registration,
    key: Option<&IdempotencyKey>,
    correlation_id: &str,
) -> Result<Answer> {
    principal.require_any(&[Role::Client], "enter contests")?;
    let account = choice(body.login, body.open_contest_account)?;
    let client_id = own_client_id(services, principal).await?;
    let ctx = user_ctx(services, principal, correlation_id);
    let entry = Entry {
        contest_id,
        client_id: &client_id,
        account,
        how: EntryChannel::SelfService,
        enrolled_by: None,
    };
    enter(services, &ctx, &entry, key).await
}

/// Marketing (or an admin) enrols a client in contest `contest_id`, with the same checks as a
/// client's own registration. Answers the entrant.
pub async fn enroll(
    services: &Services,
    principal: &Principal,
    contest_id: &str,
    body: Enrollment,
    key: Option<&IdempotencyKey>,
    correlation_id: &str,
) -> Result<Answer> {
    principal.require_any(&MANAGERS, "enrol clients in contests")?;
    let account = choice(body.login, body.open_contest_account)?;
    let client_id = normalize::code("client_id", &body.client_id, 128)?;
    let ctx = user_ctx(services, principal, correlation_id);
    let entry = Entry {
        contest_id,
        client_id: &client_id,
        account,
        how: EntryChannel::Staff,
        enrolled_by: Some(&principal.sub),
    };
    enter(services, &ctx, &entry, key).await
}

/// Enters client `client_id`'s new account `login` into every published contest whose
/// enrolment campaign is the campaign the client's lead came through (its first or last touch),
/// as the contest's rules allow. Best-effort: called once the onboarding that opened the
/// account is approved, it never fails it; each entry is audited, a contest the account does
/// not fit is skipped and logged (without personal data). Answers the entrants made.
pub async fn enroll_by_campaign(
    services: &Services,
    ctx: &OpContext,
    client_id: &str,
    login: u64,
) -> Vec<String> {
    let contests = match campaign_contests(services, client_id).await {
        Ok(contests) => contests,
        Err(e) => {
            tracing::warn!(code = e.code(), error = %e, "campaign enrolment could not read its contests");
            return Vec::new();
        }
    };
    let mut entered = Vec::new();
    for contest_id in contests {
        let entry = Entry {
            contest_id: &contest_id,
            client_id,
            account: EntryAccountChoice::Held(login),
            how: EntryChannel::Campaign,
            enrolled_by: None,
        };
        match enter(services, ctx, &entry, None).await {
            Ok(answer) => {
                if let Some(id) = answer.body["id"].as_str() {
                    entered.push(id.to_string());
                }
            }
            Err(e) => {
                tracing::info!(contest = %contest_id, code = e.code(), "account not enrolled by campaign");
            }
        }
    }
    entered
}

/// The published contests that enrol the campaign of client `client_id`'s lead.
async fn campaign_contests(services: &Services, client_id: &str) -> Result<Vec<String>> {
    let client = services.get::<Client>(client_id).await?.entity;
    let Some(lead_id) = client.lead_id else {
        return Ok(Vec::new());
    };
    let Some(lead) = services.find::<Lead>(&lead_id).await? else {
        return Ok(Vec::new());
    };
    let campaigns = [&lead.entity.first_touch, &lead.entity.last_touch]
        .into_iter()
        .filter_map(|touch| touch.utm.campaign.clone());
    let (catalog, _) = repo::catalog(services).await?;
    let mut contests: Vec<String> = campaigns
        .flat_map(|campaign| {
            catalog
                .with_campaign(&campaign)
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect();
    contests.sort();
    contests.dedup();
    Ok(contests)
}

/// One entry to make.
struct Entry<'a> {
    contest_id: &'a str,
    client_id: &'a str,
    account: EntryAccountChoice,
    how: EntryChannel,
    enrolled_by: Option<&'a str>,
}

/// The markers of `client`'s person in contest `contest_id`: their client id, verified
/// identity documents, phone and email (digests).
async fn person_markers(core: &Core, contest_id: &str, client: &Client) -> Result<Vec<Key>> {
    let mut markers = vec![keys::person_entry(contest_id, "CLIENT", &client.id)];
    for digest in brokeros_onboarding::clients::identity_digests(core, client).await? {
        markers.push(keys::person_entry(contest_id, "DOC", &digest));
    }
    if let Some(phone) = &client.phone {
        let phone = normalize::phone_e164("phone", phone, &client.country).unwrap_or(phone.clone());
        markers.push(keys::person_entry(
            contest_id,
            "PHONE",
            &sha256_hex(phone.as_bytes()),
        ));
    }
    if let Some(email) = &client.email {
        let email = normalize::email("email", email).unwrap_or(email.to_lowercase());
        markers.push(keys::person_entry(
            contest_id,
            "EMAIL",
            &sha256_hex(email.as_bytes()),
        ));
    }
    Ok(markers)
}

fn already_entered(contest_id: &str, what: &str) -> Error {
    Error::conflict(
        "already_entered",
        format!("{what} has an entry in contest {contest_id} already"),
    )
}

/// Makes `entry` if the contest's rules allow it, in one changeset: the entrant, its markers,
/// and for a dedicated account the account on the client. Everything that may refuse the entry
/// is checked before a dedicated account is opened, so a refusal opens nothing.
async fn enter(
    services: &Services,
    ctx: &OpContext,
    entry: &Entry<'_>,
    key: Option<&IdempotencyKey>,
) -> Result<Answer> {
    execute(services, key, move || {
        Box::pin(async move {
            let now = services.clock.now();
            let ctx = OpContext { now, ..ctx.clone() };
            let contest = match services.find::<ContestRecord>(entry.contest_id).await? {
                // A client does not learn of drafts.
                Some(c)
                    if !(entry.how == EntryChannel::SelfService
                        && c.entity.status == ContestStatus::Draft) =>
                {
                    c.entity
                }
                _ => {
                    return Err(Error::NotFound {
                        entity: "contest",
                        id: entry.contest_id.to_string(),
                    });
                }
            };
            contest.check_registration_open(now)?;
            let definition = &contest.definition;
            let client = services.get::<Client>(entry.client_id).await?;
            let applicant = applicant_of(&client.entity);
            check_applicant(definition, &applicant)?;
            let mut markers = Vec::new();
            if definition.eligibility.one_entry_per_person {
                markers = person_markers(services, &contest.id, &client.entity).await?;
                if !repo::taken(services, &markers).await?.is_empty() {
                    return Err(already_entered(&contest.id, "this person"));
                }
            }
            let mut changes = Changeset::new();
            let (login, opening_balance) = match entry.account {
                EntryAccountChoice::Held(login) => {
                    let held =
                        check_held_account(services, &contest, &client.entity, login).await?;
                    (login, held)
                }
                EntryAccountChoice::Dedicated => {
                    let opened = open_contest_account(services, &contest, &client.entity).await?;
                    if !repo::taken(services, &[keys::login_entry(&contest.id, opened.login)])
                        .await?
                        .is_empty()
                    {
                        return Err(already_entered(
                            &contest.id,
                            "this client's contest account",
                        ));
                    }
                    brokeros_onboarding::clients::stage_trading_account(
                        &ctx,
                        services.ids.as_ref(),
                        &client,
                        &opened,
                        &mut changes,
                    )?;
                    // Opened for the contest, so empty.
                    (opened.login, Decimal::ZERO)
                }
            };
            markers.push(keys::login_entry(&contest.id, login));
            // After the account's balance was read: deals booked up to now are in its opening
            // balance, and scoring reads only those booked after.
            let registered_at = services.clock.now();
            let entrant = ContestEntrant {
                id: services.ids.prefixed("ent"),
                contest_id: contest.id.clone(),
                client_id: client.entity.id.clone(),
                login,
                registered_at,
                how: entry.how,
                enrolled_by: entry.enrolled_by.map(str::to_string),
                status: EntrantStatus::Active,
                disqualification: None,
                reinstatement: None,
                withdrawn_at: None,
                country: applicant.country.clone(),
                display_name: display_name(
                    &client.entity.first_name,
                    client.entity.last_name.as_deref(),
                ),
                contest_account: entry.account == EntryAccountChoice::Dedicated,
                opening_balance,
            };
            changes.create(&ctx, services.ids.as_ref(), &entrant, entry.how.action())?;
            for marker in repo::marker_puts(&markers, &entrant.id) {
                changes.put(marker);
            }
            Ok((Answer::created(&entrant), changes))
        })
    })
    .await
}

/// The client as the eligibility rules see them: their KYC standing and country of residence
/// (the profile's, else the one they registered with).
fn applicant_of(client: &Client) -> Applicant {
    Applicant {
        kyc_approved: client.kyc_status == KycStatus::Approved,
        country: client
            .profile
            .as_ref()
            .map_or(client.country.clone(), |p| p.residence_country.clone()),
    }
}

/// Refuses account `login` as `client`'s entry into `contest` unless the client holds it
/// (404 otherwise, as for an account that does not exist), it has not entered yet, and it fits
/// the contest's rules, its balance included. Answers what it holds now (balance and credit):
/// the entry's opening balance, which stands for its deals before the entry.
async fn check_held_account(
    services: &Services,
    contest: &ContestRecord,
    client: &Client,
    login: u64,
) -> Result<Decimal> {
    let definition = &contest.definition;
    let held = client
        .trading_accounts
        .iter()
        .find(|a| a.login == login)
        .ok_or_else(|| Error::NotFound {
            entity: "trading account",
            id: login.to_string(),
        })?;
    if !repo::taken(services, &[keys::login_entry(&contest.id, login)])
        .await?
        .is_empty()
    {
        return Err(already_entered(&contest.id, &format!("account {login}")));
    }
    check_account(
        definition,
        &EntryAccount {
            login,
            group: held.group.clone(),
            currency: held.currency.clone(),
            demo: services.config.is_demo_group(&held.group),
            opened_at: held.opened_at,
        },
    )?;
    let state = services
        .trading
        .account_state(login)
        .await
        .map_err(platform_error)?;
    check_deposit(definition, login, state.balance)?;
    Ok(state.balance + state.credit)
}

/// Opens the contest's dedicated account for `client` on the platform, or finds the one opened
/// before: the request id names the contest and the client, so a retry opens nothing twice.
async fn open_contest_account(
    services: &Services,
    contest: &ContestRecord,
    client: &Client,
) -> Result<AccountRef> {
    let definition = &contest.definition;
    let account = definition.contest_account.as_ref().ok_or_else(|| {
        Error::conflict(
            "no_contest_account",
            format!(
                "contest {} opens no dedicated accounts: enter with an account you hold (login)",
                contest.id
            ),
        )
    })?;
    let name = [
        Some(client.first_name.as_str()),
        client.last_name.as_deref(),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(" ");
    let opened = services
        .trading
        .create_account(NewAccount {
            request_id: format!("contest-{}-{}", contest.id, client.id),
            client_id: client.id.clone(),
            group: account.group.clone(),
            leverage: account.leverage,
            currency: definition.currency.clone(),
            name,
        })
        .await
        .map_err(platform_error)?;
    Ok(AccountRef::of(&opened))
}

/// Entrant `entrant_id` of contest `contest_id`, which must be one of its entrants.
async fn entrant_of(
    core: &Core,
    contest_id: &str,
    entrant_id: &str,
) -> Result<Audited<ContestEntrant>> {
    match core.find::<ContestEntrant>(entrant_id).await? {
        Some(entrant) if entrant.entity.contest_id == contest_id => Ok(entrant),
        _ => Err(Error::NotFound {
            entity: "contest entrant",
            id: entrant_id.to_string(),
        }),
    }
}

/// What marketing decides on an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// An active entrant is disqualified.
    Disqualify,
    /// A disqualified entrant is active again.
    Reinstate,
}

/// Marketing (or an admin) disqualifies or reinstates entrant `entrant_id` of contest
/// `contest_id`, with a reason, while the contest's standings may still change.
#[allow(clippy::too_many_arguments)]
pub async fn decide(
    services: &Services,
    principal: &Principal,
    contest_id: &str,
    entrant_id: &str,
    verdict: Verdict,
    body: Reason,
    key: Option<&IdempotencyKey>,
    correlation_id: &str,
) -> Result<Answer> {
    principal.require_any(&MANAGERS, "decide on contest entries")?;
    let reason = body.checked()?;
    let core: &Core = services;
    let reason = &reason;
    execute(core, key, move || {
        Box::pin(async move {
            let ctx = user_ctx(core, principal, correlation_id);
            let stored = entrant_of(core, contest_id, entrant_id).await?;
            core.get::<ContestRecord>(contest_id)
                .await?
                .entity
                .check_standings_open()?;
            let mut entrant = stored.entity.clone();
            let decision = Decision {
                reason: reason.clone(),
                by: principal.sub.clone(),
                at: ctx.now,
            };
            let action = match verdict {
                Verdict::Disqualify => {
                    entrant.disqualify(decision)?;
                    "contest_entrant.disqualified"
                }
                Verdict::Reinstate => {
                    entrant.reinstate(decision)?;
                    "contest_entrant.reinstated"
                }
            };
            let mut changes = Changeset::new();
            changes.update(&ctx, core.ids.as_ref(), &stored, &entrant, action, vec![])?;
            Ok((Answer::done(&entrant), changes))
        })
    })
    .await
}

/// A client withdraws their own active entry, before the contest ends.
pub async fn withdraw(
    services: &Services,
    principal: &Principal,
    contest_id: &str,
    entrant_id: &str,
    key: Option<&IdempotencyKey>,
    correlation_id: &str,
) -> Result<Answer> {
    principal.require_any(&[Role::Client], "withdraw from contests")?;
    let client_id = own_client_id(services, principal).await?;
    let core: &Core = services;
    let client_id = &client_id;
    execute(core, key, move || {
        Box::pin(async move {
            let ctx = user_ctx(core, principal, correlation_id);
            let stored = entrant_of(core, contest_id, entrant_id).await?;
            if &stored.entity.client_id != client_id {
                // Another client's entry is not one this caller can know of.
                return Err(Error::NotFound {
                    entity: "contest entrant",
                    id: entrant_id.to_string(),
                });
            }
            let contest = core.get::<ContestRecord>(contest_id).await?.entity;
            let mut entrant = stored.entity.clone();
            entrant.withdraw(&contest.definition, ctx.now)?;
            let mut changes = Changeset::new();
            changes.update(
                &ctx,
                core.ids.as_ref(),
                &stored,
                &entrant,
                "contest_entrant.withdrawn",
                vec![],
            )?;
            Ok((Answer::done(&entrant), changes))
        })
    })
    .await
}

/// A page of contest `contest_id`'s entrants, newest first (marketing, admins).
pub async fn entrants(
    services: &Services,
    principal: &Principal,
    contest_id: &str,
    page: PageParams,
) -> Result<Value> {
    principal.require_any(&MANAGERS, "read contest entries")?;
    let limit = page_limit(page.limit)?;
    services.get::<ContestRecord>(contest_id).await?;
    repo::entrants_page(services, contest_id, limit, page.cursor, |entrant| {
        serde_json::to_value(entrant).expect("entrants serialize")
    })
    .await
}

/// A page of the calling client's entries, newest first.
pub async fn my_entries(
    services: &Services,
    principal: &Principal,
    page: PageParams,
) -> Result<Value> {
    principal.require_any(&[Role::Client], "read your contest entries")?;
    let limit = page_limit(page.limit)?;
    let client_id = own_client_id(services, principal).await?;
    repo::entries_of_client_page(services, &client_id, limit, page.cursor, |entrant| {
        serde_json::to_value(entrant).expect("entrants serialize")
    })
    .await
}
