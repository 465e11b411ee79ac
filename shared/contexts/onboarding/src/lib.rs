//! Onboarding use cases: starting the onboarding workflow for a client, the compliance review
//! queue and its decisions, and the task handlers the workflow calls (the same handlers run in
//! the Lambdas and, in-process, under the local engine).

pub(crate) mod account_task;
pub mod accounts;
pub mod clients;
pub mod config;
pub mod keys;
pub mod kyc;
pub mod kyc_task;
pub mod model;
pub mod profile_change;
mod repo;
pub mod reviews;
mod services;
pub mod task_scope;
pub mod tasks;

use crate::kyc::model::{CheckTrigger, ProfileField};
use crate::model::Client;
use crate::model::{KycStatus, Onboarding};
use brokeros_kernel::principal::{Principal, Role};
use brokeros_kernel::{Error, Result, normalize};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use brokeros_kernel::Answer;
use brokeros_kernel::changeset::{Audited, Changeset, Entity};
use brokeros_kernel::idempotency::{IdempotencyKey, execute};
use brokeros_kernel::outbox;
use brokeros_kernel::workflow::Machine;
use brokeros_kernel::{Core, user_ctx};

pub use repo::{client_id_of_user, clients_of_logins};
pub use services::{OnboardingSettings, Services};

/// Stages notification `id` (template `template` with `data`) to client `client_id`, on the
/// channel its contact details allow, unless one with that id is queued already: answers
/// whether it staged one. Notifications are what other contexts tell clients through.
pub async fn stage_notification(
    core: &Core,
    ctx: &brokeros_kernel::OpContext,
    client_id: &str,
    id: &str,
    template: &str,
    data: Value,
    changes: &mut Changeset,
) -> Result<bool> {
    if core.find::<model::Notification>(id).await?.is_some() {
        return Ok(false);
    }
    let client = load_client(core, client_id).await?.entity;
    let channel = if client.email.is_some() {
        "email"
    } else if client.phone.is_some() {
        "sms"
    } else {
        "portal"
    };
    let notification = model::Notification {
        id: id.to_string(),
        client_id: client.id,
        template: template.to_string(),
        channel: channel.to_string(),
        data,
        created_at: ctx.now,
    };
    changes.create(ctx, core.ids.as_ref(), &notification, "notification.queued")?;
    Ok(true)
}

/// The client with `id`, which must exist: what other contexts read a client by.
pub async fn load_client(services: &Core, id: &str) -> Result<Audited<Client>> {
    services.get::<Client>(id).await
}

/// Who may see a client's records: back office roles, the client's account manager, and the
/// client themself.
pub fn authorize_client_read(principal: &Principal, client: &Client) -> Result<()> {
    let allowed = principal.has_any(&[Role::Admin, Role::Compliance, Role::Finance])
        || (principal.has(Role::Sales) && client.account_manager == principal.sub)
        || (principal.has(Role::Client)
            && client.user_id.as_deref() == Some(principal.sub.as_str()));
    if allowed {
        Ok(())
    } else {
        Err(Error::forbidden("you may not read this client"))
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartOnboarding {
    pub product: String,
}

/// Starts the onboarding workflow for a client: the client themself, their account manager or
/// an admin. The onboarding record, the client's new KYC status and the workflow's start (an
/// outbox entry) commit with their audit events; the start is then carried out at once, or by
/// the outbox relay should this process stop first. The execution is named after the
/// onboarding, so a retried start cannot run a second one.
pub async fn start(
    services: &Services,
    principal: &Principal,
    client_id: &str,
    body: StartOnboarding,
    key: Option<&IdempotencyKey>,
    correlation_id: &str,
) -> Result<Answer> {
    let workflow = services.workflow()?;
    let prepared = prepare(
        services,
        principal,
        client_id,
        &body.product,
        key,
        correlation_id,
    )
    .await;
    let (mut answer, _) = match prepared {
        Ok(prepared) => prepared,
        Err(
            refused @ Error::Conflict {
                code: "onboarding_not_allowed",
                ..
            },
        ) => {
            // A retry without a key of a start whose process stopped after the commit: the
            // client's onboarding is running; its start, if still waiting, is carried out now.
            if let Some(client) = services.find::<Client>(client_id).await?
                && client.entity.kyc_status == KycStatus::Pending
                && let Some(onboarding_id) = &client.entity.onboarding_id
            {
                launch(services, onboarding_id).await?;
            }
            return Err(refused);
        }
        Err(e) => return Err(e),
    };
    let onboarding_id = answer.body["id"].as_str().unwrap_or_default().to_string();
    launch(services, &onboarding_id).await?;
    answer.body["execution_arn"] =
        json!(workflow.execution_arn(Machine::Onboarding, &onboarding_id)?);
    Ok(answer)
}

/// Carries out the workflow start an onboarding's commit staged, if it is still waiting (also
/// for a replayed request, whose first attempt may have stopped before it).
pub(crate) async fn launch(services: &Services, onboarding_id: &str) -> Result<()> {
    let start = outbox::workflow_start_id(Machine::Onboarding, onboarding_id);
    outbox::carry_out(services, &start).await?;
    Ok(())
}

/// Stages the start of `onboarding`'s workflow in the changeset that records it.
pub(crate) fn stage_launch(
    services: &Services,
    changes: &mut Changeset,
    onboarding: &Onboarding,
    now: time::OffsetDateTime,
) -> Result<()> {
    let input = workflow_input(
        services,
        &onboarding.client_id,
        &onboarding.id,
        &onboarding.product,
    );
    let start = outbox::Effect::start_workflow(Machine::Onboarding, &onboarding.id, input);
    outbox::stage(changes, start, now)
}

/// The onboarding workflow's input for an onboarding of `client_id` for `product`.
pub(crate) fn workflow_input(
    services: &Services,
    client_id: &str,
    onboarding_id: &str,
    product: &str,
) -> Value {
    let settings = &services.config.onboarding;
    json!({
        "client_id": client_id,
        "onboarding_id": onboarding_id,
        "product": product,
        "review_timeout_seconds": settings.review_timeout_seconds,
        "escalation_timeout_seconds": settings.escalation_timeout_seconds,
        "kyc_result_timeout_seconds": settings.kyc_result_timeout_seconds,
    })
}

/// Records a new onboarding for the client and their KYC status `pending`, with the audit
/// events; answers the stored onboarding and the onboarding workflow's input.
pub async fn prepare(
    services: &Services,
    principal: &Principal,
    client_id: &str,
    product: &str,
    key: Option<&IdempotencyKey>,
    correlation_id: &str,
) -> Result<(Answer, Value)> {
    principal.require_any(
        &[Role::Client, Role::Sales, Role::Admin],
        "start onboarding",
    )?;
    let client_id = normalize::code("client_id", client_id, 80)?;
    let product = normalize::code("product", product, 40)?;
    if !services.config.onboarding.products.contains(&product) {
        return Err(Error::invalid(
            "unknown_product",
            "product",
            format!("'{product}' is not a product clients onboard for"),
        ));
    }
    let answer = execute(services, key, || {
        let (client_id, product) = (client_id.clone(), product.clone());
        Box::pin(async move {
            let ctx = user_ctx(services, principal, correlation_id);
            let before = services.get::<Client>(&client_id).await?;
            authorize_client_read(principal, &before.entity)?;
            if !before.entity.kyc_status.may_start_onboarding() {
                return Err(Error::Conflict {
                    code: "onboarding_not_allowed",
                    message: format!(
                        "client {client_id} is {}; onboarding cannot start now",
                        before.entity.kyc_status.as_str()
                    ),
                });
            }
            // A client whose approval a profile change voided, starting again after a
            // re-verification that did not approve: this onboarding re-verifies them (on the
            // account they have). A change of client type is checked as one.
            let trigger = before
                .entity
                .reverification
                .as_ref()
                .filter(|r| !r.fields.contains(&ProfileField::ClientType))
                .map(|r| CheckTrigger::ProfileChanged {
                    fields: r.fields.iter().copied().collect(),
                });
            let onboarding = Onboarding::running(
                services.ids.prefixed("onb"),
                client_id.clone(),
                product,
                trigger,
                principal.sub.clone(),
                ctx.now,
            );
            let mut client = before.entity.clone();
            client.kyc_status = KycStatus::Pending;
            client.onboarding_id = Some(onboarding.id.clone());
            if let Some(r) = &mut client.reverification {
                // A client whose approval a change voided: this onboarding re-verifies them.
                r.onboarding_id = Some(onboarding.id.clone());
            }
            let mut changes = Changeset::new();
            changes.create(
                &ctx,
                services.ids.as_ref(),
                &onboarding,
                "onboarding.started",
            )?;
            changes.update(
                &ctx,
                services.ids.as_ref(),
                &before,
                &client,
                "client.onboarding_started",
                vec![],
            )?;
            stage_launch(services, &mut changes, &onboarding, ctx.now)?;
            Ok((Answer::accepted(view(&onboarding)), changes))
        })
    })
    .await?;
    let input = workflow_input(
        services,
        answer.body["client_id"].as_str().unwrap_or_default(),
        answer.body["id"].as_str().unwrap_or_default(),
        answer.body["product"].as_str().unwrap_or_default(),
    );
    Ok((answer, input))
}

/// An onboarding as the API shows it: never the workflow's task token.
pub fn view(onboarding: &Onboarding) -> Value {
    let mut shown = onboarding.clone();
    shown.kyc_result_token = None;
    serde_json::to_value(&shown).expect("onboardings serialize")
}

/// A record of a client's (an onboarding, a deposit, a withdrawal) that whoever may read the
/// client may read: found by its id (named `{TYPE}_id` in errors), listed newest first under
/// the client.
pub trait ClientRecord: Entity {
    /// The index partition that lists a client's records, newest first.
    fn by_client(client_id: &str) -> String;
    fn client_id(&self) -> &str;
    /// The record as the API shows it.
    fn view(&self) -> Value;
}

/// One record of a client's, for whoever may read the client.
pub async fn get_for_client<T: ClientRecord>(
    services: &Core,
    principal: &Principal,
    id: &str,
) -> Result<Value> {
    let id = normalize::code(&format!("{}_id", T::TYPE), id, 80)?;
    let record = services.get::<T>(&id).await?;
    let client = services.get::<Client>(record.entity.client_id()).await?;
    authorize_client_read(principal, &client.entity)?;
    Ok(record.entity.view())
}

/// A client's records, newest first, for whoever may read the client.
pub async fn list_for_client<T: ClientRecord>(
    services: &Core,
    principal: &Principal,
    client_id: &str,
) -> Result<Value> {
    client_items(services, principal, client_id, T::by_client, T::view).await
}

impl ClientRecord for Onboarding {
    fn by_client(client_id: &str) -> String {
        keys::onboardings_by_client(client_id)
    }

    fn client_id(&self) -> &str {
        &self.client_id
    }

    fn view(&self) -> Value {
        view(self)
    }
}

/// The newest 50 items of a client's index partition (`partition` of the client id), shown
/// with `view`, for whoever may read the client.
pub async fn client_items<T: Entity>(
    services: &Core,
    principal: &Principal,
    client_id: &str,
    partition: impl Fn(&str) -> String,
    view: impl Fn(&T) -> Value,
) -> Result<Value> {
    let client_id = normalize::code("client_id", client_id, 80)?;
    let client = services.get::<Client>(&client_id).await?;
    authorize_client_read(principal, &client.entity)?;
    let items =
        brokeros_kernel::paging::latest_items(services, partition(&client_id), 50, view).await?;
    Ok(json!({ "items": items }))
}
