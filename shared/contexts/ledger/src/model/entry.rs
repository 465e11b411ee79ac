//! Journal entries and the requests that make them.
//!
//! A request names its entry by a transfer id the caller chose (`dep_0193…:credit`), so a
//! retried request can be recognised: its canonical hash decides whether it is the same request
//! (answered with the original entry) or a different one reusing the id (refused). The entry's
//! postings are signed amounts that sum to zero in each currency. An entry is never edited: a
//! transfer is corrected by a reversal entry that negates it, once; a reservation ends by one
//! release or one settlement.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use utoipa::ToSchema;

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::OffsetDateTime;

use super::account::{AccountId, Bucket};
use brokeros_kernel::canonical::canonical_sha256;
use brokeros_kernel::money::{Currency, Money};
use brokeros_kernel::{Error, Result, normalize};

/// The longest transfer id.
pub const MAX_TRANSFER_ID_CHARS: usize = 128;
/// The most legs a transfer may have (each leg is a posting and a balance update, and an entry
/// commits as one storage transaction).
pub const MAX_LEGS: usize = 20;
/// The longest memo.
pub const MAX_MEMO_CHARS: usize = 200;

/// A caller's id for a journal entry: 1 to 128 letters, digits, `-`, `_`, `.` or `:`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TransferId(String);

impl TransferId {
    pub fn new(field: &str, id: &str) -> Result<TransferId> {
        let valid = !id.is_empty()
            && id.len() <= MAX_TRANSFER_ID_CHARS
            && id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'));
        if valid {
            Ok(TransferId(id.to_string()))
        } else {
            Err(Error::invalid(
                "invalid_transfer_id",
                field,
                format!(
                    "{field} must be 1 to {MAX_TRANSFER_ID_CHARS} letters, digits, '-', '_', '.' or ':'"
                ),
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TransferId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

brokeros_kernel::string_schema!(TransferId);

impl Serialize for TransferId {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for TransferId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        TransferId::new("transfer_id", &text).map_err(serde::de::Error::custom)
    }
}

/// One side of a transfer: a signed amount to an account's available part (positive credits
/// the account, negative debits it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Leg {
    pub account: AccountId,
    pub amount: Decimal,
}

/// Moves money between accounts' available parts: deposits (clearing → wallet), fees, IB
/// commissions (revenue → IB payable), transfers to trading accounts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transfer {
    pub transfer_id: TransferId,
    pub legs: Vec<Leg>,
    #[serde(default)]
    pub memo: String,
}

impl Transfer {
    /// `amount` (positive) from one account to another.
    pub fn between(
        transfer_id: TransferId,
        from: AccountId,
        to: AccountId,
        amount: Decimal,
        memo: &str,
    ) -> Transfer {
        Transfer {
            transfer_id,
            legs: vec![
                Leg {
                    account: from,
                    amount: -amount,
                },
                Leg {
                    account: to,
                    amount,
                },
            ],
            memo: memo.to_string(),
        }
    }
}

/// Moves `amount` of a client wallet from available to reserved (a withdrawal requested).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reserve {
    pub transfer_id: TransferId,
    pub wallet: AccountId,
    pub amount: Decimal,
    #[serde(default)]
    pub memo: String,
}

/// Gives a reservation back to the wallet's available part (a withdrawal rejected or failed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Release {
    pub transfer_id: TransferId,
    /// The transfer id of the reservation.
    pub reservation: TransferId,
    #[serde(default)]
    pub memo: String,
}

/// Part of a settlement that does not go to the payout account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fee {
    pub account: AccountId,
    pub amount: Decimal,
}

/// Pays a reservation out (a withdrawal paid): the reserved amount leaves the wallet, to `to`
/// (the provider's clearing account) less the fee, if any, to the fee's account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settle {
    pub transfer_id: TransferId,
    pub reservation: TransferId,
    pub to: AccountId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fee: Option<Fee>,
    #[serde(default)]
    pub memo: String,
}

/// Negates a transfer (the only correction there is): its postings with the opposite sign.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reverse {
    pub transfer_id: TransferId,
    /// The transfer id of the entry to reverse.
    pub reverses: TransferId,
    #[serde(default)]
    pub memo: String,
}

/// Anything that makes a journal entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    Transfer(Transfer),
    Reserve(Reserve),
    Release(Release),
    Settle(Settle),
    Reverse(Reverse),
}

impl From<Transfer> for Request {
    fn from(r: Transfer) -> Request {
        Request::Transfer(r)
    }
}
impl From<Reserve> for Request {
    fn from(r: Reserve) -> Request {
        Request::Reserve(r)
    }
}
impl From<Release> for Request {
    fn from(r: Release) -> Request {
        Request::Release(r)
    }
}
impl From<Settle> for Request {
    fn from(r: Settle) -> Request {
        Request::Settle(r)
    }
}
impl From<Reverse> for Request {
    fn from(r: Reverse) -> Request {
        Request::Reverse(r)
    }
}

fn memo(raw: &str) -> Result<String> {
    normalize::text("memo", raw, MAX_MEMO_CHARS)
}

fn positive(field: &str, amount: Decimal, currency: Currency) -> Result<Decimal> {
    Money::positive(field, amount, currency).map(|m| m.amount())
}

fn mismatch(field: &str, expected: Currency, found: Currency) -> Error {
    Error::invalid(
        "currency_mismatch",
        field,
        format!("{field} is in {found}, the entry in {expected}"),
    )
}

impl Request {
    pub fn transfer_id(&self) -> &TransferId {
        match self {
            Request::Transfer(r) => &r.transfer_id,
            Request::Reserve(r) => &r.transfer_id,
            Request::Release(r) => &r.transfer_id,
            Request::Settle(r) => &r.transfer_id,
            Request::Reverse(r) => &r.transfer_id,
        }
    }

    /// The entry this request closes: the reservation released or settled, the transfer
    /// reversed.
    pub fn references(&self) -> Option<&TransferId> {
        match self {
            Request::Release(r) => Some(&r.reservation),
            Request::Settle(r) => Some(&r.reservation),
            Request::Reverse(r) => Some(&r.reverses),
            Request::Transfer(_) | Request::Reserve(_) => None,
        }
    }

    pub fn memo(&self) -> &str {
        match self {
            Request::Transfer(r) => &r.memo,
            Request::Reserve(r) => &r.memo,
            Request::Release(r) => &r.memo,
            Request::Settle(r) => &r.memo,
            Request::Reverse(r) => &r.memo,
        }
    }

    /// Checks everything that needs no stored state and returns the request in its canonical
    /// form: amounts at their currency's scale, legs ordered by account, memo trimmed. Two
    /// requests that mean the same have the same canonical form (and [`Request::hash`]).
    pub fn normalized(self) -> Result<Request> {
        match self {
            Request::Transfer(t) => {
                if !(2..=MAX_LEGS).contains(&t.legs.len()) {
                    return Err(Error::invalid(
                        "invalid_legs",
                        "legs",
                        format!("a transfer has 2 to {MAX_LEGS} legs"),
                    ));
                }
                let mut legs = Vec::with_capacity(t.legs.len());
                let mut accounts = BTreeSet::new();
                for (i, leg) in t.legs.into_iter().enumerate() {
                    let field = format!("legs[{i}].amount");
                    let currency = leg.account.currency();
                    let amount = Money::signed(&field, leg.amount, currency)?.amount();
                    if amount.is_zero() {
                        return Err(Error::invalid(
                            "amount_zero",
                            field,
                            "a leg moves a nonzero amount",
                        ));
                    }
                    if !accounts.insert(leg.account.clone()) {
                        return Err(Error::invalid(
                            "duplicate_account",
                            format!("legs[{i}].account"),
                            format!("{} appears in more than one leg", leg.account),
                        ));
                    }
                    legs.push(Leg {
                        account: leg.account,
                        amount,
                    });
                }
                for (currency, sum) in sums(legs.iter().map(|l| (l.account.currency(), l.amount))) {
                    if !sum.is_zero() {
                        return Err(Error::invalid(
                            "unbalanced",
                            "legs",
                            format!("the {currency} legs sum to {sum}, not zero"),
                        ));
                    }
                }
                legs.sort_by(|a, b| a.account.cmp(&b.account));
                Ok(Request::Transfer(Transfer {
                    transfer_id: t.transfer_id,
                    legs,
                    memo: memo(&t.memo)?,
                }))
            }
            Request::Reserve(r) => {
                if !r.wallet.is_client_wallet() {
                    return Err(Error::invalid(
                        "not_a_wallet",
                        "wallet",
                        format!("{} is not a client wallet; only wallets reserve", r.wallet),
                    ));
                }
                Ok(Request::Reserve(Reserve {
                    amount: positive("amount", r.amount, r.wallet.currency())?,
                    transfer_id: r.transfer_id,
                    wallet: r.wallet,
                    memo: memo(&r.memo)?,
                }))
            }
            Request::Release(r) => Ok(Request::Release(Release {
                memo: memo(&r.memo)?,
                ..r
            })),
            Request::Settle(s) => {
                let fee = match s.fee {
                    None => None,
                    Some(fee) => {
                        if fee.account.currency() != s.to.currency() {
                            return Err(mismatch(
                                "fee.account",
                                s.to.currency(),
                                fee.account.currency(),
                            ));
                        }
                        if fee.account == s.to {
                            return Err(Error::invalid(
                                "duplicate_account",
                                "fee.account",
                                "the fee goes to another account than the payout",
                            ));
                        }
                        Some(Fee {
                            amount: positive("fee.amount", fee.amount, fee.account.currency())?,
                            account: fee.account,
                        })
                    }
                };
                Ok(Request::Settle(Settle {
                    memo: memo(&s.memo)?,
                    fee,
                    ..s
                }))
            }
            Request::Reverse(r) => Ok(Request::Reverse(Reverse {
                memo: memo(&r.memo)?,
                ..r
            })),
        }
    }

    /// SHA-256 of the canonical JSON of the (normalized) request: what identifies "the same
    /// request" for a transfer id.
    pub fn hash(&self) -> String {
        canonical_sha256(self)
    }
}

/// Sums signed amounts per currency.
pub fn sums(amounts: impl IntoIterator<Item = (Currency, Decimal)>) -> BTreeMap<Currency, Decimal> {
    let mut sums = BTreeMap::new();
    for (currency, amount) in amounts {
        *sums.entry(currency).or_insert(Decimal::ZERO) += amount;
    }
    sums
}

/// One line of a journal entry: a signed amount to one part of one account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Posting {
    pub account: AccountId,
    pub bucket: Bucket,
    pub amount: Decimal,
}

impl Posting {
    fn new(account: &AccountId, bucket: Bucket, amount: Decimal) -> Posting {
        Posting {
            account: account.clone(),
            bucket,
            amount,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EntryKind {
    Transfer,
    Reserve,
    Release { reservation: TransferId },
    Settle { reservation: TransferId },
    Reversal { reverses: TransferId },
}

impl EntryKind {
    pub fn name(&self) -> &'static str {
        match self {
            EntryKind::Transfer => "transfer",
            EntryKind::Reserve => "reserve",
            EntryKind::Release { .. } => "release",
            EntryKind::Settle { .. } => "settle",
            EntryKind::Reversal { .. } => "reversal",
        }
    }
}

/// A posted journal entry. Immutable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub transfer_id: TransferId,
    pub kind: EntryKind,
    pub postings: Vec<Posting>,
    pub memo: String,
    /// [`Request::hash`] of the request that made it.
    pub request_hash: String,
    #[serde(with = "time::serde::rfc3339")]
    pub posted_at: OffsetDateTime,
}

impl Entry {
    /// The wallet and amount of a reservation entry.
    pub fn reservation(&self) -> Option<(&AccountId, Decimal)> {
        if self.kind != EntryKind::Reserve {
            return None;
        }
        self.postings
            .iter()
            .find(|p| p.bucket == Bucket::Reserved)
            .map(|p| (&p.account, p.amount))
    }

    /// Whether the postings sum to zero in each currency (true of every entry this module
    /// makes).
    pub fn is_balanced(&self) -> bool {
        sums(
            self.postings
                .iter()
                .map(|p| (p.account.currency(), p.amount)),
        )
        .values()
        .all(|s| s.is_zero())
    }
}

/// How an entry was closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClosedHow {
    Reversed,
    Released,
    Settled,
}

/// The one follow-up an entry may have: a transfer's reversal, a reservation's release or
/// settlement. Stored beside the entry (which itself never changes) and created once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Closure {
    pub entry: TransferId,
    pub closed_by: TransferId,
    pub how: ClosedHow,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// An entry a request refers to, as stored, with its closure if it has one.
#[derive(Debug, Clone, Copy)]
pub struct Referenced<'a> {
    pub entry: &'a Entry,
    pub closure: Option<&'a Closure>,
}

/// What a request does: the entry's kind and postings, and the entry it closes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub kind: EntryKind,
    pub postings: Vec<Posting>,
    pub closes: Option<(TransferId, ClosedHow)>,
}

fn closed_error(what: &str, closure: &Closure) -> Error {
    let how = match closure.how {
        ClosedHow::Reversed => "reversed",
        ClosedHow::Released => "released",
        ClosedHow::Settled => "settled",
    };
    Error::conflict(
        "entry_closed",
        format!(
            "{what} {} was already {how} by {}",
            closure.entry, closure.closed_by
        ),
    )
}

/// The postings of a normalized request. `referenced` is the entry the request names
/// ([`Request::references`]), `None` if it does not exist (or the request names none).
pub fn plan(request: &Request, referenced: Option<Referenced<'_>>) -> Result<Plan> {
    let missing = |id: &TransferId| Error::NotFound {
        entity: "ledger entry",
        id: id.to_string(),
    };
    match request {
        Request::Transfer(t) => Ok(Plan {
            kind: EntryKind::Transfer,
            postings: t
                .legs
                .iter()
                .map(|l| Posting::new(&l.account, Bucket::Available, l.amount))
                .collect(),
            closes: None,
        }),
        Request::Reserve(r) => Ok(Plan {
            kind: EntryKind::Reserve,
            postings: vec![
                Posting::new(&r.wallet, Bucket::Available, -r.amount),
                Posting::new(&r.wallet, Bucket::Reserved, r.amount),
            ],
            closes: None,
        }),
        Request::Release(r) => {
            let found = referenced.ok_or_else(|| missing(&r.reservation))?;
            let (wallet, amount) = open_reservation(&r.reservation, found)?;
            Ok(Plan {
                kind: EntryKind::Release {
                    reservation: r.reservation.clone(),
                },
                postings: vec![
                    Posting::new(wallet, Bucket::Reserved, -amount),
                    Posting::new(wallet, Bucket::Available, amount),
                ],
                closes: Some((r.reservation.clone(), ClosedHow::Released)),
            })
        }
        Request::Settle(s) => {
            let found = referenced.ok_or_else(|| missing(&s.reservation))?;
            let (wallet, amount) = open_reservation(&s.reservation, found)?;
            if s.to.currency() != wallet.currency() {
                return Err(mismatch("to", wallet.currency(), s.to.currency()));
            }
            if &s.to == wallet || s.fee.as_ref().is_some_and(|f| &f.account == wallet) {
                return Err(Error::invalid(
                    "invalid_settlement",
                    "to",
                    "a settlement pays out of the wallet; to give a reservation back, release it",
                ));
            }
            let fee = s.fee.as_ref().map_or(Decimal::ZERO, |f| f.amount);
            if fee >= amount {
                return Err(Error::invalid(
                    "fee_too_large",
                    "fee.amount",
                    format!("the fee {fee} must be less than the reserved {amount}"),
                ));
            }
            let mut postings = vec![
                Posting::new(wallet, Bucket::Reserved, -amount),
                Posting::new(&s.to, Bucket::Available, amount - fee),
            ];
            if let Some(f) = &s.fee {
                postings.push(Posting::new(&f.account, Bucket::Available, f.amount));
            }
            Ok(Plan {
                kind: EntryKind::Settle {
                    reservation: s.reservation.clone(),
                },
                postings,
                closes: Some((s.reservation.clone(), ClosedHow::Settled)),
            })
        }
        Request::Reverse(r) => {
            let found = referenced.ok_or_else(|| missing(&r.reverses))?;
            if found.entry.kind != EntryKind::Transfer {
                return Err(Error::conflict(
                    "not_reversible",
                    format!(
                        "{} is a {} entry; only transfers are reversed (a reservation ends by its release or settlement)",
                        r.reverses,
                        found.entry.kind.name()
                    ),
                ));
            }
            if let Some(closure) = found.closure {
                return Err(closed_error("transfer", closure));
            }
            Ok(Plan {
                kind: EntryKind::Reversal {
                    reverses: r.reverses.clone(),
                },
                postings: found
                    .entry
                    .postings
                    .iter()
                    .map(|p| Posting::new(&p.account, p.bucket, -p.amount))
                    .collect(),
                closes: Some((r.reverses.clone(), ClosedHow::Reversed)),
            })
        }
    }
}

fn open_reservation<'a>(
    id: &TransferId,
    found: Referenced<'a>,
) -> Result<(&'a AccountId, Decimal)> {
    let reservation = found.entry.reservation().ok_or_else(|| {
        Error::conflict(
            "not_a_reservation",
            format!(
                "{id} is a {} entry, not a reservation",
                found.entry.kind.name()
            ),
        )
    })?;
    if let Some(closure) = found.closure {
        return Err(closed_error("reservation", closure));
    }
    Ok(reservation)
}

impl Plan {
    /// The entry this plan makes for `request` at `posted_at`.
    pub fn into_entry(
        self,
        request: &Request,
        posted_at: OffsetDateTime,
    ) -> (Entry, Option<Closure>) {
        let transfer_id = request.transfer_id().clone();
        let closure = self.closes.map(|(entry, how)| Closure {
            entry,
            closed_by: transfer_id.clone(),
            how,
            at: posted_at,
        });
        let entry = Entry {
            transfer_id,
            kind: self.kind,
            postings: self.postings,
            memo: request.memo().to_string(),
            request_hash: request.hash(),
            posted_at,
        };
        (entry, closure)
    }
}
