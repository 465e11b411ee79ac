//! A client's trading accounts with their money as the trading platform reports it now
//! (balance, credit, equity, margin), for the client portal and the back office.

use brokeros_kernel::principal::Principal;
use brokeros_kernel::{Result, normalize};
use brokeros_trading::{AccountState, platform_error};
use serde::Serialize;

use crate::model::AccountRef;
use crate::{Services, authorize_client_read, load_client};

/// One trading account of a client, with its money on the platform, in its currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct TradingAccountBalance {
    #[serde(flatten)]
    pub account: AccountRef,
    /// Balance, credit, equity and margin as the platform reports them now.
    pub money: AccountState,
}

/// A client's trading accounts, in the order they were opened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct TradingAccounts {
    pub client_id: String,
    pub items: Vec<TradingAccountBalance>,
}

/// The client's trading accounts with their money read from the trading platform now: whoever
/// may read the client (the client themself, finance, compliance, admins, their account
/// manager). A platform that does not answer fails the read (503), it is not shown as zero.
pub async fn trading_accounts(
    services: &Services,
    principal: &Principal,
    client_id: &str,
) -> Result<TradingAccounts> {
    let client_id = normalize::code("client_id", client_id, 80)?;
    let client = load_client(services, &client_id).await?.entity;
    authorize_client_read(principal, &client)?;
    let mut items = Vec::with_capacity(client.trading_accounts.len());
    for account in &client.trading_accounts {
        let state = services
            .trading
            .account_state(account.login)
            .await
            .map_err(platform_error)?;
        items.push(TradingAccountBalance {
            account: account.clone(),
            money: state,
        });
    }
    Ok(TradingAccounts { client_id, items })
}
