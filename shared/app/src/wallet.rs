//! The client wallet as the API shows it: balances per currency (available and reserved) and
//! each wallet's postings, newest first, in pages.

use brokeros_kernel::money::Currency;
use brokeros_kernel::principal::Principal;
use brokeros_kernel::{Result, normalize};
use brokeros_ledger::model::AccountId;
use serde_json::{Value, json};

use crate::Services;
use brokeros_ledger::{HistoryQuery, balances_of_client, history};
use brokeros_onboarding::{authorize_client_read, load_client};

/// Who may read a wallet: as for the client's record.
async fn authorize(services: &Services, principal: &Principal, client_id: &str) -> Result<String> {
    let client_id = normalize::code("client_id", client_id, 80)?;
    let client = load_client(services, &client_id).await?;
    authorize_client_read(principal, &client.entity)?;
    Ok(client_id)
}

/// The client's wallets with their available and reserved balances, and their latest deposits
/// and withdrawals with their status.
pub async fn balances(
    services: &Services,
    principal: &Principal,
    client_id: &str,
) -> Result<Value> {
    let client_id = authorize(services, principal, client_id).await?;
    let balances = balances_of_client(services, &client_id).await?;
    let wallets: Vec<Value> = balances
        .iter()
        .map(|b| {
            json!({
                "currency": b.account.currency().code,
                "available": b.available,
                "reserved": b.reserved,
                "total": b.available + b.reserved,
            })
        })
        .collect();
    // Money reserved for a withdrawal is explained by the withdrawal's status.
    let withdrawals = brokeros_withdrawals::summaries(services, &client_id, 20).await?;
    let deposits = brokeros_payments::deposits::summaries(services, &client_id, 20).await?;
    Ok(json!({
        "client_id": client_id,
        "wallets": wallets,
        "deposits": deposits,
        "withdrawals": withdrawals,
    }))
}

/// One wallet's postings, newest first; each with the running balance after it.
pub async fn transactions(
    services: &Services,
    principal: &Principal,
    client_id: &str,
    currency: &str,
    params: brokeros_kernel::PageParams,
) -> Result<Value> {
    let client_id = authorize(services, principal, client_id).await?;
    let currency = Currency::parse("currency", &currency.to_ascii_uppercase())?;
    let account = AccountId::client_wallet(&client_id, currency)?;
    let page = history(
        services,
        &account,
        HistoryQuery {
            limit: Some(brokeros_kernel::page_limit(params.limit)?),
            cursor: params.cursor,
            newest_first: true,
            from: None,
            to: None,
        },
    )
    .await?;
    Ok(json!({ "items": page.items, "next": page.next }))
}
