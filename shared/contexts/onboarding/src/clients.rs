//! Client registration and the client's KYC data: the profile KYC needs, document metadata,
//! and the KYC status with its checks.

use crate::kyc::model as kyc;
use crate::model::Client;
use crate::model::{
    Address, ClientDocument, Contact, ContactRules, KycProfile, Onboarding, mask_number,
};
use brokeros_kernel::principal::{Principal, Role};
use brokeros_kernel::{Core, Error, OpContext, Result, normalize};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use super::authorize_client_read;
use crate::{Services, repo};
use brokeros_kernel::Answer;
use brokeros_kernel::changeset::{Audited, Changeset};
use brokeros_kernel::idempotency::{IdempotencyKey, execute};
use brokeros_kernel::user_ctx;

/// A client as the API shows it: document numbers masked.
pub fn view(client: &Client, version: u64) -> Value {
    json!(brokeros_kernel::Versioned {
        entity: masked(client),
        version
    })
}

/// `client` with its document numbers masked.
fn masked(client: &Client) -> Client {
    let mut masked = client.clone();
    for d in &mut masked.documents {
        d.document.number = mask_number(&d.document.number);
    }
    masked
}

/// Stages trading account `account` on `client` with its audit event `client.account_opened`
/// and the login's marker (a login names one client for good): how every path that opens an
/// account for a client records it (the onboarding's `trading-account` task, a contest's
/// dedicated account). Stages nothing when the client has the account already.
pub fn stage_trading_account(
    ctx: &OpContext,
    ids: &dyn brokeros_kernel::IdGen,
    client: &Audited<Client>,
    account: &crate::model::AccountRef,
    changes: &mut Changeset,
) -> Result<()> {
    let mut after = client.entity.clone();
    after.add_trading_account(account);
    if after != client.entity {
        changes.put(repo::login_marker(account.login, &after.id));
    }
    changes.update_if_changed(ctx, ids, client, &after, "client.account_opened")
}

/// The identity documents that name one person, whoever's client record holds them.
const IDENTITY_DOCUMENTS: [kyc::DocumentType; 4] = [
    kyc::DocumentType::Passport,
    kyc::DocumentType::NationalId,
    kyc::DocumentType::DrivingLicence,
    kyc::DocumentType::ResidencePermit,
];

/// The SHA-256 digests of the client's verified identity documents (issuing country and
/// number, the number in upper case without spaces or dashes), for rules that must recognise
/// one person across clients (one contest entry per person) without holding the number. Only
/// an approved client's documents count as verified: anyone can type someone else's number.
pub async fn identity_digests(core: &Core, client: &Client) -> Result<Vec<String>> {
    if client.kyc_status != crate::model::KycStatus::Approved {
        return Ok(Vec::new());
    }
    let numbers = repo::document_numbers(core, &client.id).await?;
    let mut digests: Vec<String> = client
        .documents
        .iter()
        .filter(|d| IDENTITY_DOCUMENTS.contains(&d.document.doc_type))
        .map(|d| {
            // Documents stored before numbers were kept apart have theirs on the record.
            let number = numbers.get(&d.id).unwrap_or(&d.document.number);
            let number: String = number
                .chars()
                .filter(|c| !c.is_whitespace() && *c != '-')
                .flat_map(char::to_uppercase)
                .collect();
            brokeros_kernel::canonical::sha256_hex(
                format!("{}:{number}", d.document.issuing_country).as_bytes(),
            )
        })
        .collect();
    digests.sort();
    digests.dedup();
    Ok(digests)
}

/// What a registration takes of contact data (a lead's capture is stricter).
const REGISTRATION_CONTACT: ContactRules = ContactRules {
    referral_code_max: 40,
    reachable: false,
};

#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = ClientRegistration)]
#[serde(deny_unknown_fields)]
pub struct Registration {
    pub brand: Option<String>,
    pub first_name: String,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub country: String,
    pub language: Option<String>,
    pub referral_code: Option<String>,
    /// Staff registering on behalf of a client name the portal user, if the client has one.
    pub user_id: Option<String>,
    pub profile: Option<KycProfile>,
}

/// Registers a client directly (not from a converted lead): a portal user registers
/// themself, once; sales and admins register on a client's behalf.
pub async fn register(
    services: &Services,
    principal: &Principal,
    body: Registration,
    key: Option<&IdempotencyKey>,
    correlation_id: &str,
) -> Result<Answer> {
    principal.require_any(
        &[Role::Client, Role::Sales, Role::Admin],
        "register clients",
    )?;
    let staff = principal.has_any(&[Role::Sales, Role::Admin]);
    let user_id = match (&body.user_id, staff) {
        (Some(u), true) => Some(normalize::code("user_id", u, 128)?),
        (None, true) => None,
        (Some(_), false) => {
            return Err(Error::invalid(
                "user_id_not_allowed",
                "user_id",
                "a client registers as themself",
            ));
        }
        (None, false) => Some(principal.sub.clone()),
    };
    let brand = services.config.brands.brand(body.brand.as_deref())?;
    let contact = Contact {
        first_name: body.first_name,
        last_name: body.last_name,
        email: body.email,
        phone: body.phone,
        country: body.country,
        language: body.language,
        referral_code: body.referral_code,
    }
    .normalized(REGISTRATION_CONTACT)?;
    let profile = body.profile.map(validate_profile).transpose()?;
    let account_manager = if principal.has(Role::Sales) {
        principal.sub.clone()
    } else {
        services.config.default_account_manager.clone()
    };
    execute(services, key, || {
        let client = Client {
            user_id: user_id.clone(),
            profile: profile.clone(),
            ..Client::registered(
                services.ids.prefixed("client"),
                brand.clone(),
                contact.clone(),
                account_manager.clone(),
                services.clock.now(),
            )
        };
        Box::pin(async move {
            let ctx = user_ctx(services, principal, correlation_id);
            let mut changes = Changeset::new();
            stage_new_client(
                services,
                principal,
                &ctx,
                &client,
                "client.registered",
                &mut changes,
            )
            .await?;
            Ok((Answer::created(view(&client, 1)), changes))
        })
    })
    .await
}

/// Stages the creation of `client` with its audit event `action`: the one way every path
/// creates a client (self-registration, staff registration, lead conversion). A client with a
/// portal user also creates the user's identity marker, on the condition that it does not
/// exist, in the same transaction: the store itself refuses a second client for one identity.
///
/// The marker is read first, by key (strongly consistent): an identity that has a client is
/// refused at once with `already_registered`, writing nothing. A request that lost the race to
/// create it (its transaction refused, re-run by `idempotency::execute` on fresh reads) finds
/// the marker at that re-read and is refused the same way, instead of retrying until it gives
/// up with `concurrent_update`.
pub async fn stage_new_client(
    services: &Core,
    principal: &Principal,
    ctx: &OpContext,
    client: &Client,
    action: &str,
    changes: &mut Changeset,
) -> Result<()> {
    if let Some(user) = &client.user_id {
        if let Some(existing) = repo::client_id_of_user(services, user).await? {
            return Err(already_registered(principal, user, &existing));
        }
        changes.put(repo::unique_user_marker(user, &client.id));
    }
    changes.create(ctx, services.ids.as_ref(), client, action)
}

/// What a caller is told about a portal identity that has a client: the user themself learns
/// their client's id (theirs to read anyway, `GET /me`); staff learn that the user has a
/// client, not which one (an agent may not read another agent's clients).
fn already_registered(principal: &Principal, user: &str, client_id: &str) -> Error {
    let message = if principal.sub == user {
        format!("you are already registered as client {client_id} (GET /me)")
    } else {
        format!("portal user {user} already has a client")
    };
    Error::conflict("already_registered", message)
}

pub(crate) fn validate_profile(mut profile: KycProfile) -> Result<KycProfile> {
    profile.nationality = normalize::country("profile.nationality", &profile.nationality)?;
    profile.residence_country =
        normalize::country("profile.residence_country", &profile.residence_country)?;
    profile.company_name = profile
        .company_name
        .as_deref()
        .map(|n| normalize::required_text("profile.company_name", n, 200))
        .transpose()?;
    profile.middle_names = profile
        .middle_names
        .as_deref()
        .map(|n| normalize::text("profile.middle_names", n, 100))
        .transpose()?;
    profile.address = profile.address.map(validate_address).transpose()?;
    if let Some(dob) = profile.date_of_birth
        && (dob.year() < 1900 || dob > time::OffsetDateTime::now_utc().date())
    {
        return Err(Error::invalid(
            "invalid_date_of_birth",
            "profile.date_of_birth",
            "date of birth must be after 1900 and not in the future",
        ));
    }
    match profile.client_type {
        kyc::ClientType::Individual if profile.date_of_birth.is_none() => Err(Error::invalid(
            "date_of_birth_required",
            "profile.date_of_birth",
            "an individual's profile needs a date of birth",
        )),
        kyc::ClientType::Corporate if profile.company_name.is_none() => Err(Error::invalid(
            "company_name_required",
            "profile.company_name",
            "a corporate profile needs a company name",
        )),
        _ => Ok(profile),
    }
}

fn validate_address(address: Address) -> Result<Address> {
    Ok(Address {
        line1: normalize::required_text("profile.address.line1", &address.line1, 200)?,
        line2: normalize::optional(address.line2, |l| {
            normalize::text("profile.address.line2", l, 200)
        })?,
        city: normalize::required_text("profile.address.city", &address.city, 100)?,
        postal_code: normalize::optional(address.postal_code, |c| {
            normalize::text("profile.address.postal_code", c, 20)
        })?,
    })
}

pub(crate) async fn load_for_change(
    services: &Services,
    principal: &Principal,
    id: &str,
) -> Result<Audited<Client>> {
    principal.require_any(
        &[Role::Client, Role::Sales, Role::Admin],
        "change client data",
    )?;
    let id = normalize::code("client_id", id, 80)?;
    let client = services.get::<Client>(&id).await?;
    authorize_client_read(principal, &client.entity)?;
    Ok(client)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDocument {
    #[serde(flatten)]
    pub document: kyc::DocumentRef,
    pub file_ref: Option<String>,
}

const MAX_DOCUMENTS: usize = 12;

/// Adds a document's metadata (type, issuing country, number, file reference) to the client.
/// The client record (and so the audit event) holds the number masked; the full number is
/// kept apart for the KYC provider.
pub async fn add_document(
    services: &Services,
    principal: &Principal,
    id: &str,
    body: NewDocument,
    key: Option<&IdempotencyKey>,
    correlation_id: &str,
) -> Result<Answer> {
    let issuing_country = normalize::country("issuing_country", &body.document.issuing_country)?;
    let number = normalize::code("number", &body.document.number, 40)?.to_uppercase();
    let file_ref = normalize::optional(body.file_ref, |f| normalize::text("file_ref", f, 300))?;
    execute(services, key, || {
        let (issuing_country, number, file_ref) =
            (issuing_country.clone(), number.clone(), file_ref.clone());
        let doc_type = body.document.doc_type;
        Box::pin(async move {
            let ctx = user_ctx(services, principal, correlation_id);
            let before = load_for_change(services, principal, id).await?;
            let mut client = before.entity.clone();
            if client.documents.len() >= MAX_DOCUMENTS {
                return Err(Error::conflict(
                    "too_many_documents",
                    format!("a client keeps at most {MAX_DOCUMENTS} documents"),
                ));
            }
            let document = ClientDocument {
                id: services.ids.prefixed("doc"),
                document: kyc::DocumentRef {
                    doc_type,
                    issuing_country,
                    number: mask_number(&number),
                },
                file_ref,
                added_at: ctx.now,
            };
            let mut changes = Changeset::new();
            repo::stage_document_number(&mut changes, &client.id, &document.id, &number)?;
            client.documents.push(document);
            changes.update(
                &ctx,
                services.ids.as_ref(),
                &before,
                &client,
                "client.document_added",
                vec![],
            )?;
            Ok((Answer::created(view(&client, before.version + 1)), changes))
        })
    })
    .await
}

/// The client's KYC picture: status, profile, documents (numbers masked), checks and
/// onboardings.
pub async fn kyc_status(services: &Services, principal: &Principal, id: &str) -> Result<Value> {
    let id = normalize::code("client_id", id, 80)?;
    let client = services.get::<Client>(&id).await?;
    authorize_client_read(principal, &client.entity)?;
    let shown = masked(&client.entity);
    let onboardings = super::list_for_client::<Onboarding>(services, principal, &id).await?;
    Ok(json!({
        "client_id": id,
        "kyc_status": shown.kyc_status,
        "profile": shown.profile,
        "documents": shown.documents,
        "onboardings": onboardings["items"],
    }))
}

/// A client reads only their own profile; the account manager theirs; compliance, finance and
/// admin every client.
pub async fn get_client(services: &Core, principal: &Principal, id: &str) -> Result<Value> {
    let id = normalize::code("client_id", id, 80)?;
    let client = services.get::<Client>(&id).await?;
    authorize_client_read(principal, &client.entity)?;
    Ok(view(&client.entity, client.version))
}

/// The calling client's own profile: their identity marker, then the client, both read by key
/// (never an index, which may not show a client created a moment ago).
pub async fn my_profile(services: &Core, principal: &Principal) -> Result<Value> {
    principal.require_any(&[Role::Client], "read a client profile as yourself")?;
    let client = repo::client_of_user(services, &principal.sub)
        .await?
        .ok_or(Error::NotFound {
            entity: "client",
            id: principal.sub.clone(),
        })?;
    Ok(view(&client.entity, client.version))
}
