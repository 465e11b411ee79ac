//! The `trading-account` task: opens the approved client's trading account on the platform,
//! with the leverage the jurisdiction allows.

use crate::model::AccountRef;
use brokeros_kernel::Result;
use brokeros_trading::{NewAccount, platform_error};
use serde::Deserialize;
use serde_json::json;

use crate::Services;
use crate::task_scope::TaskScope;
use brokeros_kernel::changeset::Changeset;
use brokeros_kernel::idempotency::execute;

#[derive(Debug, Deserialize)]
pub(crate) struct AccountTask {
    #[serde(flatten)]
    scope: TaskScope,
    /// N of the highest leverage 1:N the client's jurisdiction allows for the product.
    leverage_cap: u32,
}

/// Opens the account once per onboarding: the onboarding id is the platform request id, so a
/// retried task gets the account the first attempt opened, and the account is recorded on the
/// onboarding and the client with their audit events. A re-verification (after a change of
/// an approved client's profile) opens none: the client keeps their account.
pub(crate) async fn open_account(
    services: &Services,
    task: AccountTask,
) -> Result<serde_json::Value> {
    let settings = &services.config.onboarding;
    let leverage = settings.default_leverage.min(task.leverage_cap.max(1));
    let currency = settings.account_currency.clone();
    let group = settings
        .account_group
        .replace("{currency}", &currency.to_lowercase());
    let (onboarding, client) = task.scope.load(services).await?;
    if onboarding.entity.is_reverification()
        && let Some(account) = client.entity.trading_accounts.first()
    {
        // A re-verified client keeps the account they have: the workflow's approval path
        // records it on the onboarding, nothing is opened.
        return Ok(json!(account));
    }
    let name = [
        Some(client.entity.first_name.as_str()),
        client.entity.last_name.as_deref(),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(" ");
    let account = services
        .trading
        .create_account(NewAccount {
            request_id: task.scope.onboarding_id.clone(),
            client_id: task.scope.client_id.clone(),
            group,
            leverage,
            currency,
            name,
        })
        .await
        .map_err(platform_error)?;
    let opened = AccountRef::of(&account);
    let (task, opened) = (&task, &opened);
    execute(services, None, move || {
        Box::pin(async move {
            let ctx = task.scope.ctx(services);
            let (onboarding_before, client_before) = task.scope.load(services).await?;
            let mut changes = Changeset::new();
            let mut onboarding = onboarding_before.entity.clone();
            onboarding.account = Some(opened.clone());
            changes.update_if_changed(
                &ctx,
                services.ids.as_ref(),
                &onboarding_before,
                &onboarding,
                "onboarding.account_opened",
            )?;
            crate::clients::stage_trading_account(
                &ctx,
                services.ids.as_ref(),
                &client_before,
                opened,
                &mut changes,
            )?;
            Ok(((), changes))
        })
    })
    .await?;
    Ok(json!(opened))
}
