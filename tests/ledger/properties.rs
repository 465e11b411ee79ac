//! Property tests: random sequences of ledger operations, in batches whose operations run
//! concurrently (tokio tasks), on a fresh store per case. After every batch (or at the end, on
//! the slower engine) the books are checked ([`check_books`]): postings per currency sum to
//! zero, every balance is the sum of its postings, no client wallet (nor IB payable) is ever
//! below zero, and refused operations wrote nothing.
//!
//! Each operation's outcome is checked too: what must succeed succeeds, a replay answers the
//! original entry, a reused transfer id with other content is refused, and any other refusal
//! is one the rules allow for that operation.

use std::collections::BTreeSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use brokeros_kernel::money::{BTC, Currency, JPY, USD, USDT};
use brokeros_ledger::model::{AccountId, Entry, EntryKind, Request, TransferId};
use brokeros_ledger::{self as ledger, Fee, Release, Reserve, Reverse, Settle, Transfer};
use brokeros_store::Store;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use rust_decimal::Decimal;

use crate::common::*;

const CLIENTS: [&str; 2] = ["c0", "c1"];
const CURRENCIES: [Currency; 4] = [USD, JPY, BTC, USDT];
const IB: &str = "ib-1";
const PROVIDER: &str = "psp-a";

#[derive(Debug, Clone)]
pub enum Op {
    /// clearing → wallet
    Deposit {
        client: usize,
        currency: usize,
        units: i64,
    },
    /// wallet → broker revenue
    Fee {
        client: usize,
        currency: usize,
        units: i64,
    },
    /// wallet → another client's wallet
    Move {
        from: usize,
        to: usize,
        currency: usize,
        units: i64,
    },
    /// broker revenue → IB payable
    Commission { currency: usize, units: i64 },
    /// IB payable → a client wallet
    IbPayout {
        client: usize,
        currency: usize,
        units: i64,
    },
    /// wallet available → reserved
    Reserve {
        client: usize,
        currency: usize,
        units: i64,
    },
    /// reserved → available, of the nth reservation posted so far
    Release { nth: usize },
    /// reserved → clearing less a fee to revenue, of the nth reservation posted so far
    Settle { nth: usize, fee_units: i64 },
    /// the reversal of the nth entry posted so far (refused unless a transfer not yet reversed)
    Reverse { nth: usize },
    /// the nth request posted so far, again
    Replay { nth: usize },
    /// the transfer id of the nth request posted so far, with other content
    Reuse { nth: usize },
}

fn op() -> impl Strategy<Value = Op> {
    let c = || 0..CLIENTS.len();
    // Mostly USD, so that wallets are funded often enough for reservations and payouts.
    let k = || prop_oneof![4 => Just(0usize), 1 => Just(1), 1 => Just(2), 1 => Just(3)];
    let units = || 1i64..3_000;
    prop_oneof![
        6 => (c(), k(), 500i64..20_000).prop_map(|(client, currency, units)| Op::Deposit { client, currency, units }),
        1 => (c(), k(), units()).prop_map(|(client, currency, units)| Op::Fee { client, currency, units }),
        2 => (c(), c(), k(), units()).prop_map(|(from, to, currency, units)| Op::Move { from, to, currency, units }),
        1 => (k(), units()).prop_map(|(currency, units)| Op::Commission { currency, units }),
        1 => (c(), k(), units()).prop_map(|(client, currency, units)| Op::IbPayout { client, currency, units }),
        4 => (c(), k(), units()).prop_map(|(client, currency, units)| Op::Reserve { client, currency, units }),
        2 => any::<usize>().prop_map(|nth| Op::Release { nth }),
        3 => (any::<usize>(), 0i64..40).prop_map(|(nth, fee_units)| Op::Settle { nth, fee_units }),
        1 => any::<usize>().prop_map(|nth| Op::Reverse { nth }),
        1 => any::<usize>().prop_map(|nth| Op::Replay { nth }),
        1 => any::<usize>().prop_map(|nth| Op::Reuse { nth }),
    ]
}

/// Batches of 1 to 6 operations; the operations of a batch run concurrently.
fn batches(max_batches: usize) -> impl Strategy<Value = Vec<Vec<Op>>> {
    prop::collection::vec(prop::collection::vec(op(), 1..=6), 1..=max_batches)
}

fn amount(units: i64, currency: Currency) -> Decimal {
    Decimal::new(units, currency.scale)
}

/// What a resolved operation may answer.
#[derive(Debug, Clone)]
enum Expect {
    /// Posted, or refused with one of these codes.
    Posted(&'static [&'static str]),
    /// The stored entry of a request posted before.
    Replay(Entry),
    /// Refused: the transfer id was used for something else.
    Reused,
}

/// What has been posted so far, in posting order.
#[derive(Default)]
struct Posted {
    ids: BTreeSet<TransferId>,
    entries: Vec<(Request, Entry)>,
}

impl Posted {
    fn nth(&self, n: usize, of: impl Fn(&Entry) -> bool) -> Option<&(Request, Entry)> {
        let matching: Vec<&(Request, Entry)> = self.entries.iter().filter(|(_, e)| of(e)).collect();
        (!matching.is_empty()).then(|| matching[n % matching.len()])
    }
}

fn resolve(op: &Op, id: TransferId, posted: &Posted) -> Option<(Request, Expect)> {
    const FUNDS: &[&str] = &["insufficient_funds"];
    let w = |client: usize, currency: Currency| wallet(CLIENTS[client], currency);
    let transfer = |from: AccountId, to: AccountId, units: i64, currency: Currency| {
        Request::from(Transfer::between(
            id.clone(),
            from,
            to,
            amount(units, currency),
            "",
        ))
    };
    Some(match *op {
        Op::Deposit {
            client,
            currency,
            units,
        } => {
            let cur = CURRENCIES[currency];
            (
                transfer(clearing(PROVIDER, cur), w(client, cur), units, cur),
                Expect::Posted(&[]),
            )
        }
        Op::Fee {
            client,
            currency,
            units,
        } => {
            let cur = CURRENCIES[currency];
            (
                transfer(w(client, cur), AccountId::broker_revenue(cur), units, cur),
                Expect::Posted(FUNDS),
            )
        }
        Op::Move {
            from,
            to,
            currency,
            units,
        } => {
            if from == to {
                return None;
            }
            let cur = CURRENCIES[currency];
            (
                transfer(w(from, cur), w(to, cur), units, cur),
                Expect::Posted(FUNDS),
            )
        }
        Op::Commission { currency, units } => {
            let cur = CURRENCIES[currency];
            let ib = AccountId::ib_payable(IB, cur).unwrap();
            (
                transfer(AccountId::broker_revenue(cur), ib, units, cur),
                Expect::Posted(&[]),
            )
        }
        Op::IbPayout {
            client,
            currency,
            units,
        } => {
            let cur = CURRENCIES[currency];
            let ib = AccountId::ib_payable(IB, cur).unwrap();
            (
                transfer(ib, w(client, cur), units, cur),
                Expect::Posted(FUNDS),
            )
        }
        Op::Reserve {
            client,
            currency,
            units,
        } => {
            let cur = CURRENCIES[currency];
            let request = Reserve {
                transfer_id: id,
                wallet: w(client, cur),
                amount: amount(units, cur),
                memo: String::new(),
            };
            (request.into(), Expect::Posted(FUNDS))
        }
        Op::Release { nth } => {
            let (_, reservation) = posted.nth(nth, |e| e.kind == EntryKind::Reserve)?;
            let request = Release {
                transfer_id: id,
                reservation: reservation.transfer_id.clone(),
                memo: String::new(),
            };
            (request.into(), Expect::Posted(&["entry_closed"]))
        }
        Op::Settle { nth, fee_units } => {
            let (_, reservation) = posted.nth(nth, |e| e.kind == EntryKind::Reserve)?;
            let (wallet, reserved) = reservation.reservation().unwrap();
            let cur = wallet.currency();
            let fee = amount(fee_units, cur).min(reserved - cur.minor_unit());
            let request = Settle {
                transfer_id: id,
                reservation: reservation.transfer_id.clone(),
                to: clearing(PROVIDER, cur),
                fee: (fee > Decimal::ZERO).then(|| Fee {
                    account: AccountId::broker_revenue(cur),
                    amount: fee,
                }),
                memo: String::new(),
            };
            (request.into(), Expect::Posted(&["entry_closed"]))
        }
        Op::Reverse { nth } => {
            let (_, reversed) = posted.nth(nth, |_| true)?;
            let request = Reverse {
                transfer_id: id,
                reverses: reversed.transfer_id.clone(),
                memo: "correction".into(),
            };
            let allowed: &[&str] = &["entry_closed", "not_reversible", "insufficient_funds"];
            (request.into(), Expect::Posted(allowed))
        }
        Op::Replay { nth } => {
            let (request, entry) = posted.nth(nth, |_| true)?;
            (request.clone(), Expect::Replay(entry.clone()))
        }
        Op::Reuse { nth } => {
            let (_, entry) = posted.nth(nth, |_| true)?;
            let request = Transfer::between(
                entry.transfer_id.clone(),
                clearing(PROVIDER, USD),
                wallet("c0", USD),
                Decimal::ONE,
                "reused id",
            );
            (request.into(), Expect::Reused)
        }
    })
}

/// Runs one generated case on `store`.
async fn run_case(
    store: Arc<dyn Store>,
    batches: Vec<Vec<Op>>,
    check_every_batch: bool,
) -> Result<(), TestCaseError> {
    let services = services(store);
    let mut posted = Posted::default();
    let mut n = 0;
    for batch in batches {
        let mut tasks = Vec::new();
        for op in &batch {
            n += 1;
            let Some((request, expect)) = resolve(op, tid(&format!("t{n}")), &posted) else {
                continue;
            };
            let services = services.clone();
            tasks.push(tokio::spawn(async move {
                let result = ledger::submit(&services, &ctx(), request.clone()).await;
                (request, expect, result)
            }));
        }
        for task in tasks {
            let (request, expect, result) = task.await.expect("an operation panicked");
            match (expect, result) {
                (Expect::Posted(_), Ok(p)) => {
                    prop_assert!(!p.replayed, "a new transfer id replayed: {:?}", request);
                    prop_assert!(p.entry.is_balanced());
                    posted.ids.insert(p.entry.transfer_id.clone());
                    posted.entries.push((request, p.entry));
                }
                (Expect::Posted(allowed), Err(e)) => {
                    prop_assert!(
                        allowed.contains(&e.code()),
                        "{:?} refused with {:?}",
                        request,
                        e
                    );
                }
                (Expect::Replay(original), Ok(p)) => {
                    prop_assert!(p.replayed);
                    prop_assert_eq!(p.entry, original);
                }
                (Expect::Reused, Err(e)) if e.code() == "transfer_id_reused" => {}
                (expect, result) => {
                    prop_assert!(
                        false,
                        "{:?}: expected {:?}, got {:?}",
                        request,
                        expect,
                        result
                    );
                }
            }
        }
        if check_every_batch {
            check_books(&services, &posted.ids).await;
        }
    }
    check_books(&services, &posted.ids).await;
    eprintln!("STAT posted {} ops {}", posted.ids.len(), n);
    Ok(())
}

pub type StoreFactory = fn() -> Pin<Box<dyn Future<Output = Arc<dyn Store>>>>;

/// Runs `cases` generated cases of up to `max_batches` batches, each on a fresh store made by
/// `fresh` (on the runtime the case runs on).
pub fn random_sequences(
    fresh: StoreFactory,
    cases: u32,
    max_batches: usize,
    check_every_batch: bool,
) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut runner = TestRunner::new(Config {
        cases,
        max_shrink_iters: 200,
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(&batches(max_batches), |batches| {
        runtime.block_on(async {
            let store = fresh().await;
            run_case(store, batches, check_every_batch).await
        })
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}
