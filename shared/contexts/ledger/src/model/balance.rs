//! Balances: what postings add up to, and the rule that client wallets never go below zero.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::account::{AccountId, Bucket};
use super::entry::Posting;
use brokeros_kernel::{Error, Result};

/// An account's balance, or one shard of a house account's balance: the sums of its postings
/// per part. `total = available + reserved`; only client wallets have a reserved part.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Balance {
    pub account: AccountId,
    pub available: Decimal,
    pub reserved: Decimal,
}

impl Balance {
    pub fn zero(account: AccountId) -> Balance {
        let scale = account.currency().scale;
        let mut zero = Decimal::ZERO;
        zero.rescale(scale);
        Balance {
            account,
            available: zero,
            reserved: zero,
        }
    }

    pub fn total(&self) -> Decimal {
        self.available + self.reserved
    }

    /// Adds one posting to its part. The posting must be of this account.
    pub fn apply(&mut self, posting: &Posting) -> Result<()> {
        if posting.account != self.account {
            return Err(Error::Internal(format!(
                "a posting of {} applied to the balance of {}",
                posting.account, self.account
            )));
        }
        if posting.bucket == Bucket::Reserved && !self.account.has_reserved_part() {
            return Err(Error::Internal(format!(
                "{} has no reserved part",
                self.account
            )));
        }
        let part = match posting.bucket {
            Bucket::Available => &mut self.available,
            Bucket::Reserved => &mut self.reserved,
        };
        *part = part
            .checked_add(posting.amount)
            .ok_or_else(|| Error::Internal(format!("the balance of {} overflows", self.account)))?;
        Ok(())
    }

    /// Refuses a balance its account's rule forbids: a client wallet (or IB payable) with a
    /// part below zero.
    pub fn check(&self) -> Result<()> {
        if !self.account.must_stay_non_negative() {
            return Ok(());
        }
        if self.available < Decimal::ZERO {
            return Err(Error::conflict(
                "insufficient_funds",
                format!(
                    "{} has too little available: this would leave {}",
                    self.account, self.available
                ),
            ));
        }
        if self.reserved < Decimal::ZERO {
            return Err(Error::conflict(
                "insufficient_reserved",
                format!(
                    "{} has too little reserved: this would leave {}",
                    self.account, self.reserved
                ),
            ));
        }
        Ok(())
    }

    /// The balance of several shards (or any balances of one account) together.
    pub fn sum<'a>(
        account: AccountId,
        parts: impl IntoIterator<Item = &'a Balance>,
    ) -> Result<Balance> {
        let mut total = Balance::zero(account);
        for part in parts {
            if part.account != total.account {
                return Err(Error::Internal(format!(
                    "a balance of {} summed into {}",
                    part.account, total.account
                )));
            }
            total.available += part.available;
            total.reserved += part.reserved;
        }
        Ok(total)
    }
}

/// Applies an entry's postings to the balances they touch (each posting to the balance of its
/// account; a balance may take several postings), then checks every touched balance against
/// its account's rule. Atomic: on an error the caller discards `balances`.
pub fn apply_postings(balances: &mut [Balance], postings: &[Posting]) -> Result<()> {
    for posting in postings {
        let balance = balances
            .iter_mut()
            .find(|b| b.account == posting.account)
            .ok_or_else(|| {
                Error::Internal(format!("no balance of {} was loaded", posting.account))
            })?;
        balance.apply(posting)?;
    }
    for balance in balances.iter() {
        balance.check()?;
    }
    Ok(())
}
