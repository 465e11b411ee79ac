//! Deposits: a client's payment in, from intent to credited wallet.
//!
//! A deposit is routed to a provider (an attempt), then waits for the provider's result, which
//! arrives as a [`PaymentEvent`] from its webhook. [`Deposit::apply`] decides what an event
//! does — and, above all, what it must not do: an event for another provider than the one
//! asked, or for another amount or currency than the intent, is flagged for review and never
//! credited; a second delivery of the same event does nothing; a success after the deposit was
//! credited, expired or declined is flagged rather than credited twice.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::model::PaymentMethod;
use crate::model::events::{PaymentEvent, PaymentEventKind};
use brokeros_kernel::money::Money;
use brokeros_kernel::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DepositStatus {
    /// Created; no provider asked yet.
    Created,
    /// A provider was asked and its result is awaited.
    AwaitingProvider,
    /// The provider confirmed the payment and the wallet was credited.
    Credited,
    /// Every eligible provider declined (or none was eligible).
    Declined,
    /// No result in time.
    Expired,
    /// An event did not match the intent: held for a person to look at, never credited.
    Flagged,
}

impl DepositStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DepositStatus::Created => "created",
            DepositStatus::AwaitingProvider => "awaiting_provider",
            DepositStatus::Credited => "credited",
            DepositStatus::Declined => "declined",
            DepositStatus::Expired => "expired",
            DepositStatus::Flagged => "flagged",
        }
    }

    pub fn is_final(self) -> bool {
        !matches!(
            self,
            DepositStatus::Created | DepositStatus::AwaitingProvider
        )
    }
}

/// How one provider attempt ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum AttemptResult {
    Succeeded {
        event_id: String,
    },
    Declined {
        reason: String,
    },
    /// The provider could not be reached or answered with an error.
    Unavailable {
        reason: String,
    },
    TimedOut,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ProviderAttempt {
    pub number: u32,
    pub provider: String,
    /// Why routing put this provider here (rule, health, cost), for the audit trail.
    pub reason: String,
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    /// The provider's id of the payment it was asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_reference: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<AttemptResult>,
}

/// Where the credited money went after the wallet: the client's trading account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Funding {
    /// Moved from the wallet to the account in the ledger; the platform's booking is awaited.
    Pending { login: u64 },
    /// Booked on the platform as this deal.
    Funded { login: u64, deal_id: u64 },
    /// The platform did not take it: the ledger move was reversed, the money is in the wallet.
    Returned { login: u64, reason: String },
    /// Left in the wallet (no trading account in the currency, or the wallet no longer holds it).
    Skipped { reason: String },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Deposit {
    /// Chosen by the caller; also the reference providers echo back and the ledger transfer id
    /// of the credit, so a deposit is credited at most once.
    pub id: String,
    pub client_id: String,
    pub amount: Money,
    pub method: PaymentMethod,
    /// The client's country, as routing saw it.
    pub country: String,
    pub status: DepositStatus,
    #[serde(default)]
    #[schema(required)]
    pub attempts: Vec<ProviderAttempt>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routing_version: Option<u32>,
    /// Where the client completes the payment at the current provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub funding: Option<Funding>,
    /// Why no provider took the deposit, once it is declined.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub declined_because: Option<String>,
    /// Events that were flagged, with why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<String>,
    /// The workflow's task token while it waits for the provider's result. A bearer
    /// credential: never shown, never audited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(ignore)]
    pub provider_result_token: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// What an event does to a deposit; the caller commits the deposit with exactly this effect
/// (a credit in the same transaction as [`Effect::Credit`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Credit the wallet with the deposit's amount.
    Credit,
    /// The current provider declined: route to the next one.
    Declined { reason: String },
    /// Nothing to do (a repeated delivery, an interim status).
    Nothing { why: String },
    /// Hold for review; never credit.
    Flag { why: String },
}

impl Deposit {
    /// The attempt awaiting its result, if any.
    pub fn current_attempt(&self) -> Option<&ProviderAttempt> {
        self.attempts.last().filter(|a| a.result.is_none())
    }

    /// Asks `provider` next. Refused while another attempt is open or once the deposit ended.
    pub fn start_attempt(
        &mut self,
        provider: &str,
        reason: &str,
        routing_version: u32,
        now: OffsetDateTime,
    ) -> Result<u32> {
        if self.status.is_final() || self.current_attempt().is_some() {
            return Err(Error::conflict(
                "deposit_not_routable",
                format!(
                    "deposit {} is {} and cannot go to another provider",
                    self.id,
                    self.status.as_str()
                ),
            ));
        }
        let number = self.next_attempt_number();
        self.attempts.push(ProviderAttempt {
            number,
            provider: provider.to_string(),
            reason: reason.to_string(),
            started_at: now,
            provider_reference: None,
            result: None,
        });
        self.routing_version = Some(routing_version);
        self.status = DepositStatus::AwaitingProvider;
        self.updated_at = now;
        Ok(number)
    }

    /// The number the next attempt gets: with the deposit id, the provider-side idempotency key,
    /// so asking again after a lost reply reaches the same payment.
    pub fn next_attempt_number(&self) -> u32 {
        self.attempts.len() as u32 + 1
    }

    /// Records where the provider asked by the open attempt collects the payment.
    pub fn payment_created(
        &mut self,
        provider_reference: String,
        payment_url: String,
        now: OffsetDateTime,
    ) -> Result<()> {
        let attempt = self
            .attempts
            .last_mut()
            .filter(|a| a.result.is_none())
            .ok_or_else(|| Error::conflict("no_open_attempt", "no provider attempt is open"))?;
        attempt.provider_reference = Some(provider_reference);
        self.payment_url = Some(payment_url);
        self.updated_at = now;
        Ok(())
    }

    /// Records that the workflow waits for the provider's result on `token`.
    pub fn await_result(&mut self, token: String, now: OffsetDateTime) {
        if self.provider_result_token.as_deref() != Some(token.as_str()) {
            self.provider_result_token = Some(token);
            self.updated_at = now;
        }
    }

    /// The last attempt's decline, when the deposit waits for no provider: the workflow asks
    /// the next one.
    pub fn last_decline(&self) -> Option<&str> {
        if self.status != DepositStatus::AwaitingProvider {
            return None;
        }
        match self.attempts.last().and_then(|a| a.result.as_ref()) {
            Some(AttemptResult::Declined { reason }) => Some(reason),
            _ => None,
        }
    }

    /// An unexpected workflow error: held for finance with the error, never left waiting. A
    /// deposit that ended keeps its status and records the error as a flag.
    pub fn workflow_failed(&mut self, why: String, now: OffsetDateTime) {
        self.close_current(AttemptResult::Unavailable {
            reason: "the workflow failed".into(),
        });
        self.provider_result_token = None;
        self.flag(why, now);
    }

    /// Starts moving the credited amount to the trading account `login`.
    pub fn start_funding(&mut self, login: u64, now: OffsetDateTime) -> Result<()> {
        self.check_fundable()?;
        self.funding = Some(Funding::Pending { login });
        self.updated_at = now;
        Ok(())
    }

    /// Leaves the credited amount in the wallet.
    pub fn skip_funding(&mut self, reason: String, now: OffsetDateTime) -> Result<()> {
        self.check_fundable()?;
        self.funding = Some(Funding::Skipped { reason });
        self.updated_at = now;
        Ok(())
    }

    fn check_fundable(&self) -> Result<()> {
        if self.status != DepositStatus::Credited || self.funding.is_some() {
            return Err(Error::conflict(
                "deposit_not_fundable",
                format!(
                    "deposit {} is {} and its funding was {}",
                    self.id,
                    self.status.as_str(),
                    if self.funding.is_some() {
                        "started before"
                    } else {
                        "not started"
                    }
                ),
            ));
        }
        Ok(())
    }

    fn pending_funding(&self) -> Result<u64> {
        match self.funding {
            Some(Funding::Pending { login }) => Ok(login),
            _ => Err(Error::conflict(
                "funding_not_pending",
                format!("deposit {} has no funding in progress", self.id),
            )),
        }
    }

    /// The platform booked the funding.
    pub fn funded(&mut self, deal_id: u64, now: OffsetDateTime) -> Result<()> {
        let login = self.pending_funding()?;
        self.funding = Some(Funding::Funded { login, deal_id });
        self.updated_at = now;
        Ok(())
    }

    /// The platform refused the funding; the ledger move is reversed in the same transaction.
    pub fn funding_returned(&mut self, reason: String, now: OffsetDateTime) -> Result<u64> {
        let login = self.pending_funding()?;
        self.funding = Some(Funding::Returned { login, reason });
        self.updated_at = now;
        Ok(login)
    }

    /// Closes the open attempt without an event (the provider was unreachable, or no result
    /// came in time); the workflow decides what follows.
    pub fn close_attempt(&mut self, result: AttemptResult, now: OffsetDateTime) -> Result<()> {
        let attempt = self
            .attempts
            .last_mut()
            .filter(|a| a.result.is_none())
            .ok_or_else(|| Error::conflict("no_open_attempt", "no provider attempt is open"))?;
        attempt.result = Some(result);
        self.updated_at = now;
        Ok(())
    }

    /// Ends the deposit as declined (no provider left) or expired (no result in time).
    pub fn end(&mut self, status: DepositStatus, now: OffsetDateTime) -> Result<()> {
        if !matches!(status, DepositStatus::Declined | DepositStatus::Expired) {
            return Err(Error::Internal(format!(
                "a deposit does not end as {}",
                status.as_str()
            )));
        }
        if self.status.is_final() {
            return Err(Error::conflict(
                "deposit_final",
                format!("deposit {} is already {}", self.id, self.status.as_str()),
            ));
        }
        if let Some(open) = self.attempts.last_mut().filter(|a| a.result.is_none()) {
            open.result = Some(AttemptResult::TimedOut);
        }
        self.status = status;
        self.updated_at = now;
        Ok(())
    }

    fn flag(&mut self, why: String, now: OffsetDateTime) -> Effect {
        self.flags.push(why.clone());
        if !self.status.is_final() {
            self.status = DepositStatus::Flagged;
        }
        self.updated_at = now;
        Effect::Flag { why }
    }

    /// Applies a provider event (already authenticated and parsed) to the deposit.
    pub fn apply(&mut self, event: &PaymentEvent, now: OffsetDateTime) -> Effect {
        if event.deposit_id != self.id {
            return Effect::Flag {
                why: format!(
                    "event for deposit {} applied to {}",
                    event.deposit_id, self.id
                ),
            };
        }
        let already = self.attempts.iter().any(|a| {
            matches!(&a.result, Some(AttemptResult::Succeeded { event_id }) if *event_id == event.event_id)
        });
        if already {
            return Effect::Nothing {
                why: "this event was applied before".into(),
            };
        }
        if event.amount != self.amount {
            let why = format!(
                "{} reported {} {} for a deposit of {} {}",
                event.provider,
                event.amount.amount(),
                event.amount.currency().code,
                self.amount.amount(),
                self.amount.currency().code
            );
            return self.flag(why, now);
        }
        let asked = self
            .current_attempt()
            .is_some_and(|a| a.provider == event.provider);
        match &event.kind {
            PaymentEventKind::Pending => Effect::Nothing {
                why: "the provider has not finished".into(),
            },
            PaymentEventKind::Succeeded
                if asked && self.status == DepositStatus::AwaitingProvider =>
            {
                self.close_current(AttemptResult::Succeeded {
                    event_id: event.event_id.clone(),
                });
                self.status = DepositStatus::Credited;
                self.updated_at = now;
                Effect::Credit
            }
            PaymentEventKind::Succeeded => {
                let why = format!(
                    "{} reported a success while the deposit is {} ({})",
                    event.provider,
                    self.status.as_str(),
                    if asked {
                        "asked"
                    } else {
                        "not the provider asked"
                    }
                );
                self.flag(why, now)
            }
            PaymentEventKind::Declined { reason } if asked => {
                self.close_current(AttemptResult::Declined {
                    reason: reason.clone(),
                });
                self.updated_at = now;
                Effect::Declined {
                    reason: reason.clone(),
                }
            }
            PaymentEventKind::Declined { reason } => Effect::Nothing {
                why: format!(
                    "a decline ({reason}) from {} which is not awaited",
                    event.provider
                ),
            },
            PaymentEventKind::Refunded => {
                let why = format!("{} refunded the payment", event.provider);
                self.flag(why, now)
            }
        }
    }

    fn close_current(&mut self, result: AttemptResult) {
        if let Some(open) = self.attempts.last_mut().filter(|a| a.result.is_none()) {
            open.result = Some(result);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use brokeros_kernel::money::Currency;
    use rust_decimal::Decimal;

    fn usd(cents: i64) -> Money {
        Money::positive(
            "amount",
            Decimal::new(cents, 2),
            Currency::from_code("USD").unwrap(),
        )
        .unwrap()
    }

    fn deposit() -> Deposit {
        let now = OffsetDateTime::UNIX_EPOCH;
        let mut d = Deposit {
            id: "dep-1".into(),
            client_id: "client-1".into(),
            amount: usd(50_000),
            method: PaymentMethod::Card,
            country: "DE".into(),
            status: DepositStatus::Created,
            attempts: vec![],
            routing_version: None,
            payment_url: None,
            funding: None,
            declined_because: None,
            flags: vec![],
            provider_result_token: None,
            created_at: now,
            updated_at: now,
        };
        d.start_attempt("cardpay", "rule eu-cards", 1, now).unwrap();
        d
    }

    fn event(provider: &str, id: &str, kind: PaymentEventKind, amount: Money) -> PaymentEvent {
        PaymentEvent {
            provider: provider.into(),
            event_id: id.into(),
            deposit_id: "dep-1".into(),
            kind,
            amount,
            occurred_at: OffsetDateTime::UNIX_EPOCH,
            provider_transaction_id: "tx-1".into(),
        }
    }

    #[test]
    fn a_matching_success_credits_once() {
        let mut d = deposit();
        let ok = event("cardpay", "ev-1", PaymentEventKind::Succeeded, usd(50_000));
        assert_eq!(d.apply(&ok, OffsetDateTime::UNIX_EPOCH), Effect::Credit);
        assert_eq!(d.status, DepositStatus::Credited);
        assert!(matches!(
            d.apply(&ok, OffsetDateTime::UNIX_EPOCH),
            Effect::Nothing { .. }
        ));
        let other = event("cardpay", "ev-2", PaymentEventKind::Succeeded, usd(50_000));
        assert!(matches!(
            d.apply(&other, OffsetDateTime::UNIX_EPOCH),
            Effect::Flag { .. }
        ));
        assert_eq!(
            d.status,
            DepositStatus::Credited,
            "a credited deposit stays credited"
        );
    }

    #[test]
    fn another_amount_currency_or_provider_is_flagged_never_credited() {
        let now = OffsetDateTime::UNIX_EPOCH;
        let mut d = deposit();
        let less = event("cardpay", "ev-1", PaymentEventKind::Succeeded, usd(49_999));
        assert!(matches!(d.apply(&less, now), Effect::Flag { .. }));
        assert_eq!(d.status, DepositStatus::Flagged);

        let mut d = deposit();
        let eur = Money::positive(
            "amount",
            Decimal::new(50_000, 2),
            Currency::from_code("EUR").unwrap(),
        )
        .unwrap();
        assert!(matches!(
            d.apply(
                &event("cardpay", "ev-1", PaymentEventKind::Succeeded, eur),
                now
            ),
            Effect::Flag { .. }
        ));

        let mut d = deposit();
        let stranger = event(
            "cryptopay",
            "ev-1",
            PaymentEventKind::Succeeded,
            usd(50_000),
        );
        assert!(matches!(d.apply(&stranger, now), Effect::Flag { .. }));
        assert!(d.flags.len() == 1 && d.status == DepositStatus::Flagged);
    }

    #[test]
    fn a_decline_closes_the_attempt_and_routing_moves_on() {
        let now = OffsetDateTime::UNIX_EPOCH;
        let mut d = deposit();
        let declined = PaymentEventKind::Declined {
            reason: "do_not_honor".into(),
        };
        let effect = d.apply(&event("cardpay", "ev-1", declined, usd(50_000)), now);
        assert_eq!(
            effect,
            Effect::Declined {
                reason: "do_not_honor".into()
            }
        );
        assert!(d.current_attempt().is_none());
        assert_eq!(d.start_attempt("altpay", "fallback", 1, now).unwrap(), 2);
        assert!(
            d.start_attempt("third", "fallback", 1, now).is_err(),
            "one open attempt at a time"
        );
        let asked: Vec<&str> = d.attempts.iter().map(|a| a.provider.as_str()).collect();
        assert_eq!(asked, vec!["cardpay", "altpay"]);
        // A late success from the first provider is not credited.
        let late = event("cardpay", "ev-9", PaymentEventKind::Succeeded, usd(50_000));
        assert!(matches!(d.apply(&late, now), Effect::Flag { .. }));
    }

    #[test]
    fn funding_follows_the_credit_once_and_only_from_pending() {
        let now = OffsetDateTime::UNIX_EPOCH;
        let mut d = deposit();
        assert!(d.start_funding(7, now).is_err(), "not credited yet");
        let ok = event("cardpay", "ev-1", PaymentEventKind::Succeeded, usd(50_000));
        assert_eq!(d.apply(&ok, now), Effect::Credit);
        assert!(d.funded(1, now).is_err(), "nothing pending");
        d.start_funding(7, now).unwrap();
        assert!(d.start_funding(7, now).is_err(), "started once");
        assert!(d.skip_funding("late".into(), now).is_err());
        d.funded(99, now).unwrap();
        assert_eq!(
            d.funding,
            Some(Funding::Funded {
                login: 7,
                deal_id: 99
            })
        );
        assert!(
            d.funding_returned("refused".into(), now).is_err(),
            "funded stays funded"
        );

        let mut back = deposit();
        back.apply(&ok, now);
        back.start_funding(7, now).unwrap();
        assert_eq!(back.funding_returned("refused".into(), now).unwrap(), 7);
        assert!(back.funded(1, now).is_err());
    }

    #[test]
    fn a_decline_is_seen_only_while_no_other_provider_is_asked() {
        let now = OffsetDateTime::UNIX_EPOCH;
        let mut d = deposit();
        assert_eq!(d.last_decline(), None);
        let declined = PaymentEventKind::Declined {
            reason: "do_not_honor".into(),
        };
        d.apply(&event("cardpay", "ev-1", declined, usd(50_000)), now);
        assert_eq!(d.last_decline(), Some("do_not_honor"));
        d.start_attempt("altpay", "fallback", 1, now).unwrap();
        assert_eq!(d.last_decline(), None, "the next provider is asked");
        d.payment_created("ref-2".into(), "https://pay".into(), now)
            .unwrap();
        assert_eq!(d.attempts[1].provider_reference.as_deref(), Some("ref-2"));
    }

    #[test]
    fn ended_deposits_take_no_more_attempts_or_credits() {
        let now = OffsetDateTime::UNIX_EPOCH;
        let mut d = deposit();
        d.end(DepositStatus::Expired, now).unwrap();
        assert_eq!(d.attempts[0].result, Some(AttemptResult::TimedOut));
        assert!(d.start_attempt("altpay", "fallback", 1, now).is_err());
        assert!(d.end(DepositStatus::Declined, now).is_err());
        let ok = event("cardpay", "ev-1", PaymentEventKind::Succeeded, usd(50_000));
        assert!(matches!(d.apply(&ok, now), Effect::Flag { .. }));
        assert_eq!(d.status, DepositStatus::Expired);
    }
}
