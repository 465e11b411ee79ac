//! Ledger accounts: who or what an account belongs to, its currency, and the rules its balance
//! obeys.

use std::fmt;
use std::str::FromStr;
use utoipa::ToSchema;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use brokeros_kernel::money::Currency;
use brokeros_kernel::{Error, Result};

/// The longest owner id (client, provider, IB) an account name takes.
pub const MAX_OWNER_ID_CHARS: usize = 80;

/// What an account is for. Each account holds one currency ([`AccountId`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AccountKind {
    /// A client's money: available, and reserved for withdrawals in flight. Neither part may
    /// ever go below zero.
    ClientWallet { client_id: String },
    /// What a payment provider owes the broker (deposits it collected) or the broker owes it
    /// (payouts it made): deposits move clearing → wallet, settled withdrawals reserved →
    /// clearing. A house account.
    ProviderClearing { provider: String },
    /// The fees a payment provider charged. A house account.
    ProviderFees { provider: String },
    /// Commissions owed to an introducing broker (revenue → IB payable). Never below zero, so
    /// an IB is never paid more than it earned.
    IbPayable { ib_id: String },
    /// The broker's own income (fees charged to clients, spreads given to IBs come out of it).
    /// A house account.
    BrokerRevenue,
    /// Money that arrived but cannot be attributed yet (a webhook for an unknown deposit, an
    /// amount that does not match its intent), held for review. A house account.
    Suspense,
    /// Money moved to a client's trading platform account (by login). Its balance follows the
    /// transfers only, not the account's trading results, so it has no sign rule.
    TradingAccount { login: u64 },
}

/// The two parts of a balance. Only client wallets have a reserved part.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Bucket {
    Available,
    Reserved,
}

/// An account: its kind and owner, and its currency. Written as text (`WALLET:cli_1:USD`,
/// `CLEARING:psp-card:EUR`, `REVENUE:USD`), which is how it appears in keys and JSON.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AccountId {
    kind: AccountKind,
    currency: Currency,
}

/// Checks an owner id: 1 to 80 letters, digits, `-`, `_` or `.` (no `:` or `#`, which separate
/// the parts of account names and keys).
pub fn check_owner_id(field: &str, id: &str) -> Result<()> {
    let valid = !id.is_empty()
        && id.len() <= MAX_OWNER_ID_CHARS
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if valid {
        Ok(())
    } else {
        Err(Error::invalid(
            "invalid_id",
            field,
            format!("{field} must be 1 to {MAX_OWNER_ID_CHARS} letters, digits, '-', '_' or '.'"),
        ))
    }
}

impl AccountId {
    /// An account of `kind` in `currency`; owner ids are checked.
    pub fn new(kind: AccountKind, currency: Currency) -> Result<AccountId> {
        match &kind {
            AccountKind::ClientWallet { client_id } => check_owner_id("client_id", client_id)?,
            AccountKind::ProviderClearing { provider } | AccountKind::ProviderFees { provider } => {
                check_owner_id("provider", provider)?
            }
            AccountKind::IbPayable { ib_id } => check_owner_id("ib_id", ib_id)?,
            AccountKind::TradingAccount { login } if *login == 0 => {
                return Err(Error::invalid(
                    "invalid_id",
                    "login",
                    "login must be a positive number",
                ));
            }
            AccountKind::BrokerRevenue
            | AccountKind::Suspense
            | AccountKind::TradingAccount { .. } => {}
        }
        Ok(AccountId { kind, currency })
    }

    pub fn client_wallet(client_id: &str, currency: Currency) -> Result<AccountId> {
        AccountId::new(
            AccountKind::ClientWallet {
                client_id: client_id.to_string(),
            },
            currency,
        )
    }

    pub fn provider_clearing(provider: &str, currency: Currency) -> Result<AccountId> {
        AccountId::new(
            AccountKind::ProviderClearing {
                provider: provider.to_string(),
            },
            currency,
        )
    }

    pub fn provider_fees(provider: &str, currency: Currency) -> Result<AccountId> {
        AccountId::new(
            AccountKind::ProviderFees {
                provider: provider.to_string(),
            },
            currency,
        )
    }

    pub fn ib_payable(ib_id: &str, currency: Currency) -> Result<AccountId> {
        AccountId::new(
            AccountKind::IbPayable {
                ib_id: ib_id.to_string(),
            },
            currency,
        )
    }

    pub fn broker_revenue(currency: Currency) -> AccountId {
        AccountId {
            kind: AccountKind::BrokerRevenue,
            currency,
        }
    }

    pub fn suspense(currency: Currency) -> AccountId {
        AccountId {
            kind: AccountKind::Suspense,
            currency,
        }
    }

    pub fn trading_account(login: u64, currency: Currency) -> Result<AccountId> {
        AccountId::new(AccountKind::TradingAccount { login }, currency)
    }

    pub fn kind(&self) -> &AccountKind {
        &self.kind
    }

    pub fn currency(&self) -> Currency {
        self.currency
    }

    /// The client a wallet belongs to.
    pub fn client_id(&self) -> Option<&str> {
        match &self.kind {
            AccountKind::ClientWallet { client_id } => Some(client_id),
            _ => None,
        }
    }

    pub fn is_client_wallet(&self) -> bool {
        matches!(self.kind, AccountKind::ClientWallet { .. })
    }

    /// Whether the balance has a reserved part (client wallets).
    pub fn has_reserved_part(&self) -> bool {
        self.is_client_wallet()
    }

    /// Whether the balance (each part of it) must never go below zero: client wallets and IB
    /// payables. Such a balance is one stored item, so the check is exact.
    pub fn must_stay_non_negative(&self) -> bool {
        matches!(
            self.kind,
            AccountKind::ClientWallet { .. } | AccountKind::IbPayable { .. }
        )
    }

    /// House accounts take part in most transfers (every deposit through a provider touches its
    /// clearing account); they have no sign rule, so their balance may be kept in shards that
    /// concurrent transfers update independently.
    pub fn is_house(&self) -> bool {
        matches!(
            self.kind,
            AccountKind::ProviderClearing { .. }
                | AccountKind::ProviderFees { .. }
                | AccountKind::BrokerRevenue
                | AccountKind::Suspense
        )
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let currency = self.currency.code;
        match &self.kind {
            AccountKind::ClientWallet { client_id } => write!(f, "WALLET:{client_id}:{currency}"),
            AccountKind::ProviderClearing { provider } => {
                write!(f, "CLEARING:{provider}:{currency}")
            }
            AccountKind::ProviderFees { provider } => write!(f, "FEES:{provider}:{currency}"),
            AccountKind::IbPayable { ib_id } => write!(f, "IB:{ib_id}:{currency}"),
            AccountKind::BrokerRevenue => write!(f, "REVENUE:{currency}"),
            AccountKind::Suspense => write!(f, "SUSPENSE:{currency}"),
            AccountKind::TradingAccount { login } => write!(f, "TRADING:{login}:{currency}"),
        }
    }
}

impl fmt::Debug for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl AccountId {
    /// Reads an account name such as `WALLET:cli_1:USD`; errors name `field`.
    pub fn parse(field: &str, text: &str) -> Result<AccountId> {
        let bad = || {
            let shown: String = text.chars().take(120).collect();
            Error::invalid(
                "invalid_account",
                field,
                format!(
                    "'{shown}' is not an account (WALLET:<client>:<currency>, CLEARING:<provider>:<currency>, \
                     FEES:<provider>:<currency>, IB:<ib>:<currency>, REVENUE:<currency>, SUSPENSE:<currency>, \
                     TRADING:<login>:<currency>)"
                ),
            )
        };
        let parts: Vec<&str> = text.split(':').collect();
        let (kind, currency) = match parts.as_slice() {
            ["WALLET", owner, currency] => (
                AccountKind::ClientWallet {
                    client_id: owner.to_string(),
                },
                currency,
            ),
            ["CLEARING", owner, currency] => (
                AccountKind::ProviderClearing {
                    provider: owner.to_string(),
                },
                currency,
            ),
            ["FEES", owner, currency] => (
                AccountKind::ProviderFees {
                    provider: owner.to_string(),
                },
                currency,
            ),
            ["IB", owner, currency] => (
                AccountKind::IbPayable {
                    ib_id: owner.to_string(),
                },
                currency,
            ),
            ["REVENUE", currency] => (AccountKind::BrokerRevenue, currency),
            ["SUSPENSE", currency] => (AccountKind::Suspense, currency),
            ["TRADING", login, currency] => {
                let login = login
                    .parse::<u64>()
                    .ok()
                    .filter(|l| l.to_string() == *login)
                    .ok_or_else(bad)?;
                (AccountKind::TradingAccount { login }, currency)
            }
            _ => return Err(bad()),
        };
        let currency = Currency::parse(field, currency)?;
        AccountId::new(kind, currency).map_err(|_| bad())
    }
}

impl FromStr for AccountId {
    type Err = Error;

    fn from_str(text: &str) -> Result<AccountId> {
        AccountId::parse("account", text)
    }
}

brokeros_kernel::string_schema!(AccountId);

impl Serialize for AccountId {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for AccountId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        AccountId::parse("account", &text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use brokeros_kernel::money::{JPY, USD, USDT};

    #[test]
    fn account_names_round_trip() {
        let accounts = [
            AccountId::client_wallet("cli_0193abc", USD).unwrap(),
            AccountId::provider_clearing("psp-card.eu", JPY).unwrap(),
            AccountId::provider_fees("psp-crypto", USDT).unwrap(),
            AccountId::ib_payable("ib_7", USD).unwrap(),
            AccountId::broker_revenue(USD),
            AccountId::suspense(JPY),
            AccountId::trading_account(1_000_123, USD).unwrap(),
        ];
        for account in accounts {
            let text = account.to_string();
            assert_eq!(
                AccountId::parse("account", &text).unwrap(),
                account,
                "{text}"
            );
            let json = serde_json::to_string(&account).unwrap();
            assert_eq!(serde_json::from_str::<AccountId>(&json).unwrap(), account);
        }
        assert_eq!(
            AccountId::client_wallet("c1", USD).unwrap().to_string(),
            "WALLET:c1:USD"
        );
    }

    #[test]
    fn bad_account_names_are_refused() {
        for text in [
            "",
            "WALLET:c1",
            "WALLET::USD",
            "WALLET:c#1:USD",
            "WALLET:c1:usd",
            "WALLET:c1:XYZ",
            "REVENUE:c1:USD",
            "TRADING:0:USD",
            "TRADING:01:USD",
            "TRADING:x:USD",
            "BANK:b:USD",
        ] {
            assert!(AccountId::parse("account", text).is_err(), "{text}");
        }
        assert!(AccountId::client_wallet("a:b", USD).is_err());
        assert!(AccountId::client_wallet(&"x".repeat(81), USD).is_err());
    }

    #[test]
    fn rules_follow_the_kind() {
        let wallet = AccountId::client_wallet("c1", USD).unwrap();
        assert!(
            wallet.must_stay_non_negative() && wallet.has_reserved_part() && !wallet.is_house()
        );
        let ib = AccountId::ib_payable("ib1", USD).unwrap();
        assert!(ib.must_stay_non_negative() && !ib.has_reserved_part() && !ib.is_house());
        for house in [
            AccountId::provider_clearing("p", USD).unwrap(),
            AccountId::provider_fees("p", USD).unwrap(),
            AccountId::broker_revenue(USD),
            AccountId::suspense(USD),
        ] {
            assert!(house.is_house() && !house.must_stay_non_negative());
        }
        let trading = AccountId::trading_account(7, USD).unwrap();
        assert!(!trading.is_house() && !trading.must_stay_non_negative());
    }
}
