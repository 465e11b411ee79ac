//! Internal transfers: a client moves money between their wallet and their trading accounts,
//! or between two of their trading accounts, in one currency.
//!
//! A transfer is a short plan of steps over two books that cannot commit together, the
//! platform's and the ledger's, ordered so that a refusal never leaves money in neither place:
//! the side that may refuse goes first. Out of an account, the platform withdraws before the
//! ledger moves (a refusal posts nothing); out of the wallet, the ledger moves first (the
//! wallet's balance refuses an overdraft at the request) and the platform deposits after (a
//! refusal reverses the move). Between two accounts, the target's refusal also gives the
//! money back to the source account on the platform. [`Transfer::next_step`] says what is due;
//! each step's outcome is recorded here and committed with its ledger entry and audit event.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use brokeros_kernel::money::Money;
use brokeros_kernel::{Error, Result};

use crate::funding::Place;

/// One end of a transfer as the API names it: `{"wallet": "USD"}` or `{"account": 100001}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Endpoint {
    /// The client's wallet in this currency.
    Wallet(String),
    /// One of the client's trading accounts, by login.
    Account(u64),
}

impl Endpoint {
    pub fn place(&self) -> Place {
        match self {
            Endpoint::Wallet(_) => Place::Wallet,
            Endpoint::Account(login) => Place::Account(*login),
        }
    }

    pub fn login(&self) -> Option<u64> {
        match self {
            Endpoint::Wallet(_) => None,
            Endpoint::Account(login) => Some(*login),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TransferStatus {
    /// Steps remain (a platform that did not answer leaves it here until the request is
    /// repeated or the sweep resumes it).
    Pending,
    Completed,
    /// Refused by the platform; whatever moved was moved back.
    Failed,
}

impl TransferStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TransferStatus::Pending => "pending",
            TransferStatus::Completed => "completed",
            TransferStatus::Failed => "failed",
        }
    }
}

/// Why a transfer failed: the platform's refusal, named as its error kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Failure {
    pub code: String,
    pub reason: String,
}

/// What is due next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The platform withdraws the amount from the source account.
    Withdraw { login: u64 },
    /// The ledger moves the amount from the source to the target.
    Post,
    /// The platform deposits the amount on the target account.
    Deposit { login: u64 },
}

/// What undoing a refused transfer takes, committed with its failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Undo {
    /// Reverse the ledger move.
    pub reverse_move: bool,
    /// Deposit the amount back on this source account, which the platform already withdrew
    /// it from.
    pub give_back_to: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Transfer {
    /// The client's id of the transfer: the ledger's and the platform's operation ids derive
    /// from it, so a repeated request moves nothing twice.
    pub id: String,
    pub client_id: String,
    pub from: Endpoint,
    pub to: Endpoint,
    pub amount: Money,
    pub status: TransferStatus,
    /// The platform's deal that took the money from the source account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withdrawal_deal: Option<u64>,
    /// Whether the ledger move is posted.
    #[serde(default)]
    #[schema(required)]
    pub posted: bool,
    /// The platform's deal that put the money on the target account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deposit_deal: Option<u64>,
    /// The platform's deal that gave the money back to the source account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub returned_deal: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
    /// Who asked (the caller's subject).
    pub requested_by: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// A transfer as asked, before it is checked against the client's accounts.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub id: String,
    pub client_id: String,
    pub from: Endpoint,
    pub to: Endpoint,
    pub amount: Money,
}

impl Request {
    /// The rules that need no store: two different places, a wallet in the transfer's
    /// currency. Accounts (whose, in which currency) are checked by [`Request::check_account`].
    pub fn check(&self) -> Result<()> {
        if self.from == self.to || (self.from.login().is_none() && self.to.login().is_none()) {
            return Err(Error::invalid(
                "same_place",
                "to",
                "a transfer moves money between two different places: a wallet and an account, or two accounts",
            ));
        }
        for (field, end) in [("from", &self.from), ("to", &self.to)] {
            if let Endpoint::Wallet(code) = end
                && code != self.amount.currency().code
            {
                return Err(currency_mismatch(
                    &format!("{field}.wallet"),
                    code,
                    self.amount.currency().code,
                ));
            }
        }
        Ok(())
    }

    /// An account of the request against the client's account of that login, if they hold
    /// it (`held` is its currency): another's or an unknown login is not found, another
    /// currency refused (no conversion here).
    pub fn check_account(&self, field: &str, login: u64, held: Option<&str>) -> Result<()> {
        let Some(currency) = held else {
            return Err(Error::NotFound {
                entity: "trading account",
                id: login.to_string(),
            });
        };
        if currency != self.amount.currency().code {
            return Err(currency_mismatch(
                &format!("{field}.account"),
                currency,
                self.amount.currency().code,
            ));
        }
        Ok(())
    }

    /// The same transfer asked again: same client, places and amount.
    pub fn matches(&self, transfer: &Transfer) -> bool {
        transfer.client_id == self.client_id
            && transfer.from == self.from
            && transfer.to == self.to
            && transfer.amount == self.amount
    }
}

fn currency_mismatch(field: &str, held: &str, asked: &str) -> Error {
    Error::invalid(
        "currency_mismatch",
        field,
        format!(
            "{field} is in {held}, the transfer in {asked}; transfers do not convert currencies"
        ),
    )
}

impl Transfer {
    /// A checked request as a pending transfer. Out of the wallet, the ledger move is posted
    /// in the same commit ([`Transfer::posted`]).
    pub fn requested(request: Request, requested_by: &str, now: OffsetDateTime) -> Transfer {
        Transfer {
            posted: false,
            id: request.id,
            client_id: request.client_id,
            from: request.from,
            to: request.to,
            amount: request.amount,
            status: TransferStatus::Pending,
            withdrawal_deal: None,
            deposit_deal: None,
            returned_deal: None,
            failure: None,
            requested_by: requested_by.to_string(),
            created_at: now,
            updated_at: now,
        }
    }

    /// Whether the ledger moves before the platform does: out of the wallet.
    pub fn posts_first(&self) -> bool {
        self.from.login().is_none()
    }

    /// What is due next; `None` once nothing is (completed, failed, or every step done).
    pub fn next_step(&self) -> Option<Step> {
        if self.status != TransferStatus::Pending {
            return None;
        }
        if let Some(login) = self.from.login()
            && self.withdrawal_deal.is_none()
        {
            return Some(Step::Withdraw { login });
        }
        if !self.posted {
            return Some(Step::Post);
        }
        if let Some(login) = self.to.login()
            && self.deposit_deal.is_none()
        {
            return Some(Step::Deposit { login });
        }
        None
    }

    fn check_due(&self, step: Step) -> Result<()> {
        if self.next_step() == Some(step) {
            Ok(())
        } else {
            Err(Error::conflict(
                "transfer_step_not_due",
                format!(
                    "transfer {} is {} and not at {step:?}",
                    self.id,
                    self.status.as_str()
                ),
            ))
        }
    }

    /// Completes the transfer when no step is left.
    fn complete_if_done(&mut self) {
        if self.status == TransferStatus::Pending && self.next_step().is_none() {
            self.status = TransferStatus::Completed;
        }
    }

    /// The platform withdrew the amount from the source account as `deal`.
    pub fn withdrawn(&mut self, deal: u64, now: OffsetDateTime) -> Result<()> {
        let login = self.from.login().unwrap_or_default();
        self.check_due(Step::Withdraw { login })?;
        self.withdrawal_deal = Some(deal);
        self.updated_at = now;
        Ok(())
    }

    /// The ledger move is posted (in the same commit).
    pub fn moved(&mut self, now: OffsetDateTime) -> Result<()> {
        self.check_due(Step::Post)?;
        self.posted = true;
        self.updated_at = now;
        self.complete_if_done();
        Ok(())
    }

    /// The platform deposited the amount on the target account as `deal`.
    pub fn deposited(&mut self, deal: u64, now: OffsetDateTime) -> Result<()> {
        let login = self.to.login().unwrap_or_default();
        self.check_due(Step::Deposit { login })?;
        self.deposit_deal = Some(deal);
        self.updated_at = now;
        self.complete_if_done();
        Ok(())
    }

    /// What undoing the transfer takes if the platform refuses its next step: nothing before
    /// the ledger moved; after it, the move reversed and, between accounts, the money given
    /// back to the source account.
    pub fn undo(&self) -> Undo {
        Undo {
            reverse_move: self.posted,
            give_back_to: self.withdrawal_deal.and(self.from.login()),
        }
    }

    /// The platform refused the step due: the transfer fails with why. The caller commits
    /// [`Transfer::undo`]'s entries with it; `returned_deal` is the deal that gave the money
    /// back to the source account, when one had to.
    pub fn refused(
        &mut self,
        failure: Failure,
        returned_deal: Option<u64>,
        now: OffsetDateTime,
    ) -> Result<()> {
        if self.status != TransferStatus::Pending {
            return Err(Error::conflict(
                "transfer_final",
                format!("transfer {} is already {}", self.id, self.status.as_str()),
            ));
        }
        if self.undo().give_back_to.is_some() != returned_deal.is_some() {
            return Err(Error::Internal(format!(
                "transfer {}: the money the platform withdrew must be given back before it fails",
                self.id
            )));
        }
        self.status = TransferStatus::Failed;
        self.failure = Some(failure);
        self.returned_deal = returned_deal;
        self.updated_at = now;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usd(amount: &str) -> Money {
        Money::positive_in(amount.parse().unwrap(), "USD").unwrap()
    }

    fn request(from: Endpoint, to: Endpoint) -> Request {
        Request {
            id: "tr_1".into(),
            client_id: "cli_1".into(),
            from,
            to,
            amount: usd("100.00"),
        }
    }

    fn now() -> OffsetDateTime {
        OffsetDateTime::UNIX_EPOCH
    }

    fn refusal() -> Failure {
        Failure {
            code: "TradingInsufficientFunds".into(),
            reason: "account 7 cannot withdraw 100.00: 5.00 is available".into(),
        }
    }

    fn wallet() -> Endpoint {
        Endpoint::Wallet("USD".into())
    }

    #[test]
    fn endpoints_read_as_the_api_writes_them() {
        let wallet: Endpoint = serde_json::from_str(r#"{"wallet":"USD"}"#).unwrap();
        assert_eq!(wallet, Endpoint::Wallet("USD".into()));
        let account: Endpoint = serde_json::from_str(r#"{"account":100001}"#).unwrap();
        assert_eq!(account, Endpoint::Account(100001));
        for bad in [
            r#"{"account":"100001"}"#,
            r#"{"account":-1}"#,
            r#"{"wallet":"USD","account":1}"#,
            r#"{"bank":"x"}"#,
            r#""wallet""#,
        ] {
            assert!(serde_json::from_str::<Endpoint>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn requests_need_two_places_and_one_currency() {
        assert!(request(Endpoint::Account(7), wallet()).check().is_ok());
        assert!(request(wallet(), Endpoint::Account(7)).check().is_ok());
        assert!(
            request(Endpoint::Account(7), Endpoint::Account(8))
                .check()
                .is_ok()
        );
        let code = |r: Request| match r.check() {
            Err(Error::Validation { code, .. }) => code,
            other => panic!("{other:?}"),
        };
        assert_eq!(code(request(wallet(), wallet())), "same_place");
        assert_eq!(
            code(request(Endpoint::Account(7), Endpoint::Account(7))),
            "same_place"
        );
        assert_eq!(
            code(request(
                Endpoint::Account(7),
                Endpoint::Wallet("EUR".into())
            )),
            "currency_mismatch"
        );
        let r = request(Endpoint::Account(7), wallet());
        assert!(matches!(
            r.check_account("from", 7, None),
            Err(Error::NotFound { .. })
        ));
        assert!(matches!(
            r.check_account("from", 7, Some("EUR")),
            Err(Error::Validation {
                code: "currency_mismatch",
                ..
            })
        ));
        assert!(r.check_account("from", 7, Some("USD")).is_ok());
    }

    #[test]
    fn a_repeated_request_is_the_same_transfer_only_with_the_same_content() {
        let r = request(Endpoint::Account(7), wallet());
        let transfer = Transfer::requested(r.clone(), "u", now());
        assert!(r.matches(&transfer));
        let mut other = r.clone();
        other.amount = usd("100.01");
        assert!(!other.matches(&transfer));
        let mut other = r;
        other.to = Endpoint::Account(8);
        assert!(!other.matches(&transfer));
    }

    #[test]
    fn account_to_wallet_withdraws_then_posts() {
        let mut t = Transfer::requested(request(Endpoint::Account(7), wallet()), "u", now());
        assert!(!t.posts_first());
        assert_eq!(t.next_step(), Some(Step::Withdraw { login: 7 }));
        assert!(
            t.moved(now()).is_err(),
            "never posted before the platform withdrew"
        );
        t.withdrawn(41, now()).unwrap();
        assert_eq!(t.next_step(), Some(Step::Post));
        assert!(t.withdrawn(42, now()).is_err(), "withdrawn once");
        t.moved(now()).unwrap();
        assert_eq!(t.status, TransferStatus::Completed);
        assert_eq!(t.next_step(), None);
        assert!(t.refused(refusal(), None, now()).is_err(), "final");
    }

    #[test]
    fn a_refused_withdrawal_fails_with_nothing_to_undo() {
        let mut t = Transfer::requested(request(Endpoint::Account(7), wallet()), "u", now());
        assert_eq!(
            t.undo(),
            Undo {
                reverse_move: false,
                give_back_to: None
            }
        );
        t.refused(refusal(), None, now()).unwrap();
        assert_eq!(t.status, TransferStatus::Failed);
        assert_eq!(t.failure, Some(refusal()));
        assert_eq!(t.next_step(), None);
    }

    #[test]
    fn wallet_to_account_posts_then_deposits_and_a_refusal_reverses_the_move() {
        let mut t = Transfer::requested(request(wallet(), Endpoint::Account(7)), "u", now());
        assert!(t.posts_first());
        assert_eq!(t.next_step(), Some(Step::Post));
        t.moved(now()).unwrap();
        assert_eq!(t.next_step(), Some(Step::Deposit { login: 7 }));
        let mut refused = t.clone();
        assert_eq!(
            refused.undo(),
            Undo {
                reverse_move: true,
                give_back_to: None
            }
        );
        refused.refused(refusal(), None, now()).unwrap();
        assert_eq!(refused.status, TransferStatus::Failed);
        t.deposited(51, now()).unwrap();
        assert_eq!(t.status, TransferStatus::Completed);
    }

    #[test]
    fn between_accounts_a_refused_deposit_gives_the_money_back_to_the_source() {
        let mut t = Transfer::requested(
            request(Endpoint::Account(7), Endpoint::Account(8)),
            "u",
            now(),
        );
        t.withdrawn(41, now()).unwrap();
        t.moved(now()).unwrap();
        assert_eq!(t.status, TransferStatus::Pending);
        assert_eq!(t.next_step(), Some(Step::Deposit { login: 8 }));
        assert_eq!(
            t.undo(),
            Undo {
                reverse_move: true,
                give_back_to: Some(7)
            }
        );
        assert!(
            t.clone().refused(refusal(), None, now()).is_err(),
            "never failed while the platform holds the withdrawn money"
        );
        t.refused(refusal(), Some(61), now()).unwrap();
        assert_eq!(t.returned_deal, Some(61));
        assert_eq!(t.status, TransferStatus::Failed);
    }
}
