//! The ledger's rules, on an in-memory book that does what the storage layer does with them.

use std::collections::BTreeMap;
use std::str::FromStr;

use proptest::prelude::*;
use rust_decimal::Decimal;
use time::OffsetDateTime;
use time::macros::datetime;

use super::*;
use brokeros_kernel::money::{BTC, Currency, EUR, JPY, USD};

const NOW: OffsetDateTime = datetime!(2026-11-24 09:00:00 UTC);

fn dec(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap()
}

fn id(text: &str) -> TransferId {
    TransferId::new("transfer_id", text).unwrap()
}

fn wallet(client: &str, currency: Currency) -> AccountId {
    AccountId::client_wallet(client, currency).unwrap()
}

fn clearing(provider: &str, currency: Currency) -> AccountId {
    AccountId::provider_clearing(provider, currency).unwrap()
}

fn code(e: &Error) -> &str {
    e.code()
}

/// Entries, closures and balances in memory, changed only by whole entries as the store does.
#[derive(Default)]
struct Book {
    entries: BTreeMap<TransferId, Entry>,
    closures: BTreeMap<TransferId, Closure>,
    balances: BTreeMap<AccountId, Balance>,
}

impl Book {
    fn submit(&mut self, request: impl Into<Request>) -> Result<(Entry, bool)> {
        let request = request.into().normalized()?;
        if let Some(stored) = self.entries.get(request.transfer_id()) {
            return replay(stored, &request).map(|e| (e, true));
        }
        let referenced = request.references().and_then(|r| {
            self.entries.get(r).map(|entry| Referenced {
                entry,
                closure: self.closures.get(r),
            })
        });
        let plan = plan(&request, referenced)?;
        let mut touched: Vec<Balance> = Vec::new();
        for p in &plan.postings {
            if !touched.iter().any(|b| b.account == p.account) {
                touched.push(
                    self.balances
                        .get(&p.account)
                        .cloned()
                        .unwrap_or_else(|| Balance::zero(p.account.clone())),
                );
            }
        }
        apply_postings(&mut touched, &plan.postings)?;
        let (entry, closure) = plan.into_entry(&request, NOW);
        assert!(entry.is_balanced());
        for b in touched {
            self.balances.insert(b.account.clone(), b);
        }
        if let Some(c) = closure {
            assert!(self.closures.insert(c.entry.clone(), c).is_none());
        }
        self.entries
            .insert(entry.transfer_id.clone(), entry.clone());
        Ok((entry, false))
    }

    fn balance(&self, account: &AccountId) -> Balance {
        self.balances
            .get(account)
            .cloned()
            .unwrap_or_else(|| Balance::zero(account.clone()))
    }

    /// Postings per currency sum to zero; every balance is the sum of its postings; no wallet
    /// part below zero; every closure closes an entry of the right kind.
    fn check_invariants(&self) {
        let all: Vec<&Posting> = self.entries.values().flat_map(|e| &e.postings).collect();
        for (currency, sum) in sums(all.iter().map(|p| (p.account.currency(), p.amount))) {
            assert!(sum.is_zero(), "{currency} postings sum to {sum}");
        }
        let mut recomputed: BTreeMap<AccountId, Balance> = BTreeMap::new();
        for p in &all {
            recomputed
                .entry(p.account.clone())
                .or_insert_with(|| Balance::zero(p.account.clone()))
                .apply(p)
                .unwrap();
        }
        assert_eq!(recomputed, self.balances);
        for b in self.balances.values() {
            if b.account.is_client_wallet() {
                assert!(
                    b.available >= Decimal::ZERO && b.reserved >= Decimal::ZERO,
                    "{b:?}"
                );
            }
            b.check().unwrap();
        }
        for c in self.closures.values() {
            let closed = &self.entries[&c.entry];
            let by = &self.entries[&c.closed_by];
            match c.how {
                ClosedHow::Reversed => assert_eq!(closed.kind, EntryKind::Transfer),
                ClosedHow::Released | ClosedHow::Settled => {
                    assert_eq!(closed.kind, EntryKind::Reserve)
                }
            }
            assert!(by.is_balanced());
        }
        // A wallet's reserved part is the sum of its open reservations.
        let mut open: BTreeMap<AccountId, Decimal> = BTreeMap::new();
        for e in self.entries.values() {
            if let Some((w, amount)) = e.reservation()
                && !self.closures.contains_key(&e.transfer_id)
            {
                *open.entry(w.clone()).or_default() += amount;
            }
        }
        for b in self
            .balances
            .values()
            .filter(|b| b.account.is_client_wallet())
        {
            assert_eq!(
                b.reserved,
                open.get(&b.account).copied().unwrap_or_default(),
                "{}",
                b.account
            );
        }
    }
}

fn deposit(tid: &str, client: &str, amount: &str) -> Transfer {
    Transfer::between(
        id(tid),
        clearing("psp", USD),
        wallet(client, USD),
        dec(amount),
        "deposit",
    )
}

#[test]
fn a_deposit_moves_clearing_to_the_wallet() {
    let mut book = Book::default();
    let (entry, replayed) = book.submit(deposit("d1", "c1", "100")).unwrap();
    assert!(!replayed);
    assert_eq!(entry.kind, EntryKind::Transfer);
    assert_eq!(book.balance(&wallet("c1", USD)).available, dec("100.00"));
    assert_eq!(
        book.balance(&clearing("psp", USD)).available,
        dec("-100.00")
    );
    assert_eq!(
        book.balance(&wallet("c1", USD)).available.to_string(),
        "100.00"
    );
    book.check_invariants();
}

#[test]
fn the_same_transfer_id_answers_the_original_or_is_refused() {
    let mut book = Book::default();
    let (first, _) = book.submit(deposit("d1", "c1", "100")).unwrap();
    // The same request, written differently (trailing zeros, legs in another order, memo
    // with spaces), is the same request.
    let mut same = deposit("d1", "c1", "100.000");
    same.legs.reverse();
    same.memo = "  deposit ".into();
    let (again, replayed) = book.submit(same).unwrap();
    assert!(replayed);
    assert_eq!(again, first);
    for other in [
        deposit("d1", "c1", "100.01"),
        deposit("d1", "c2", "100"),
        Transfer {
            memo: "another memo".into(),
            ..deposit("d1", "c1", "100")
        },
    ] {
        let e = book.submit(other).unwrap_err();
        assert_eq!(code(&e), "transfer_id_reused");
    }
    let e = book
        .submit(Reserve {
            transfer_id: id("d1"),
            wallet: wallet("c1", USD),
            amount: dec("1"),
            memo: String::new(),
        })
        .unwrap_err();
    assert_eq!(code(&e), "transfer_id_reused");
    assert_eq!(book.balance(&wallet("c1", USD)).available, dec("100"));
    book.check_invariants();
}

#[test]
fn bad_transfers_are_refused() {
    let mut book = Book::default();
    let unbalanced = Transfer {
        transfer_id: id("t1"),
        legs: vec![
            Leg {
                account: clearing("psp", USD),
                amount: dec("-10"),
            },
            Leg {
                account: wallet("c1", USD),
                amount: dec("9.99"),
            },
        ],
        memo: String::new(),
    };
    let e = book.submit(unbalanced).unwrap_err();
    assert_eq!(code(&e), "unbalanced");
    assert_eq!(e.to_string(), "the USD legs sum to -0.01, not zero");

    // Balanced in total but not per currency.
    let cross = Transfer {
        transfer_id: id("t2"),
        legs: vec![
            Leg {
                account: clearing("psp", USD),
                amount: dec("-10"),
            },
            Leg {
                account: wallet("c1", EUR),
                amount: dec("10"),
            },
        ],
        memo: String::new(),
    };
    assert_eq!(code(&book.submit(cross).unwrap_err()), "unbalanced");

    let too_fine = deposit("t3", "c1", "10.001");
    let e = book.submit(too_fine).unwrap_err();
    assert_eq!(code(&e), "amount_too_precise");
    assert!(matches!(e, Error::Validation { field: Some(ref f), .. } if f == "legs[0].amount"));
    let yen = Transfer::between(
        id("t4"),
        clearing("psp", JPY),
        wallet("c1", JPY),
        dec("0.5"),
        "",
    );
    assert_eq!(code(&book.submit(yen).unwrap_err()), "amount_too_precise");

    let zero = deposit("t5", "c1", "0");
    assert_eq!(code(&book.submit(zero).unwrap_err()), "amount_zero");

    let twice = Transfer::between(id("t6"), wallet("c1", USD), wallet("c1", USD), dec("1"), "");
    assert_eq!(code(&book.submit(twice).unwrap_err()), "duplicate_account");

    let one_leg = Transfer {
        legs: vec![],
        ..deposit("t7", "c1", "1")
    };
    assert_eq!(code(&book.submit(one_leg).unwrap_err()), "invalid_legs");

    let long_memo = Transfer {
        memo: "x".repeat(MAX_MEMO_CHARS + 1),
        ..deposit("t8", "c1", "1")
    };
    assert_eq!(code(&book.submit(long_memo).unwrap_err()), "too_long");

    assert!(TransferId::new("transfer_id", "a#b").is_err());
    assert!(TransferId::new("transfer_id", "").is_err());
    assert!(TransferId::new("transfer_id", &"x".repeat(129)).is_err());
    assert!(TransferId::new("transfer_id", "dep_0193:credit.1").is_ok());

    assert!(book.entries.is_empty() && book.balances.is_empty());
}

#[test]
fn wallets_never_go_below_zero() {
    let mut book = Book::default();
    book.submit(deposit("d1", "c1", "50")).unwrap();
    let overdraw = Transfer::between(
        id("t1"),
        wallet("c1", USD),
        AccountId::broker_revenue(USD),
        dec("50.01"),
        "fee",
    );
    let e = book.submit(overdraw).unwrap_err();
    assert_eq!(code(&e), "insufficient_funds");
    let reserve = |tid: &str, amount: &str| Reserve {
        transfer_id: id(tid),
        wallet: wallet("c1", USD),
        amount: dec(amount),
        memo: String::new(),
    };
    assert_eq!(
        code(&book.submit(reserve("r1", "60")).unwrap_err()),
        "insufficient_funds"
    );
    book.submit(reserve("r2", "30")).unwrap();
    // Reserved money is not available: 20 is left.
    assert_eq!(
        code(&book.submit(reserve("r3", "20.01")).unwrap_err()),
        "insufficient_funds"
    );
    let b = book.balance(&wallet("c1", USD));
    assert_eq!(
        (b.available, b.reserved, b.total()),
        (dec("20"), dec("30"), dec("50"))
    );
    // A deposit whose money was spent cannot be reversed.
    book.submit(Transfer::between(
        id("t2"),
        wallet("c1", USD),
        AccountId::trading_account(1001, USD).unwrap(),
        dec("20"),
        "to trading",
    ))
    .unwrap();
    let e = book
        .submit(Reverse {
            transfer_id: id("rev-d1"),
            reverses: id("d1"),
            memo: "chargeback".into(),
        })
        .unwrap_err();
    assert_eq!(code(&e), "insufficient_funds");
    // The IB payable never pays out more than was earned.
    let ib = AccountId::ib_payable("ib1", USD).unwrap();
    let payout = Transfer::between(id("ib-pay"), ib.clone(), wallet("c9", USD), dec("1"), "");
    assert_eq!(
        code(&book.submit(payout).unwrap_err()),
        "insufficient_funds"
    );
    book.check_invariants();
}

#[test]
fn a_reservation_is_released_or_settled_once() {
    let mut book = Book::default();
    book.submit(deposit("d1", "c1", "100")).unwrap();
    let w = wallet("c1", USD);
    book.submit(Reserve {
        transfer_id: id("w1:reserve"),
        wallet: w.clone(),
        amount: dec("80"),
        memo: String::new(),
    })
    .unwrap();
    let settle = Settle {
        transfer_id: id("w1:settle"),
        reservation: id("w1:reserve"),
        to: clearing("psp", USD),
        fee: Some(Fee {
            account: AccountId::broker_revenue(USD),
            amount: dec("2.5"),
        }),
        memo: "paid".into(),
    };
    let (entry, _) = book.submit(settle.clone()).unwrap();
    assert_eq!(entry.postings.len(), 3);
    let b = book.balance(&w);
    assert_eq!((b.available, b.reserved), (dec("20"), dec("0")));
    assert_eq!(book.balance(&clearing("psp", USD)).available, dec("-22.50"));
    assert_eq!(
        book.balance(&AccountId::broker_revenue(USD)).available,
        dec("2.50")
    );
    // Settling again with the same id replays; with another id it is refused, as is a release.
    assert!(book.submit(settle.clone()).unwrap().1);
    let again = Settle {
        transfer_id: id("w1:settle-2"),
        ..settle.clone()
    };
    let e = book.submit(again).unwrap_err();
    assert_eq!(code(&e), "entry_closed");
    let release = Release {
        transfer_id: id("w1:release"),
        reservation: id("w1:reserve"),
        memo: String::new(),
    };
    assert_eq!(code(&book.submit(release).unwrap_err()), "entry_closed");

    // Release of a second reservation gives it back.
    book.submit(Reserve {
        transfer_id: id("w2:reserve"),
        wallet: w.clone(),
        amount: dec("20"),
        memo: String::new(),
    })
    .unwrap();
    book.submit(Release {
        transfer_id: id("w2:release"),
        reservation: id("w2:reserve"),
        memo: String::new(),
    })
    .unwrap();
    assert_eq!(book.balance(&w).available, dec("20"));

    // Unknown reservations, non-reservations, reservations of other kinds of account.
    let missing = Release {
        transfer_id: id("x1"),
        reservation: id("nope"),
        memo: String::new(),
    };
    assert!(matches!(
        book.submit(missing).unwrap_err(),
        Error::NotFound { .. }
    ));
    let not_reservation = Release {
        transfer_id: id("x2"),
        reservation: id("d1"),
        memo: String::new(),
    };
    assert_eq!(
        code(&book.submit(not_reservation).unwrap_err()),
        "not_a_reservation"
    );
    let house = Reserve {
        transfer_id: id("x3"),
        wallet: clearing("psp", USD),
        amount: dec("1"),
        memo: String::new(),
    };
    assert_eq!(code(&book.submit(house).unwrap_err()), "not_a_wallet");
    book.check_invariants();
}

#[test]
fn settlements_are_checked() {
    let mut book = Book::default();
    book.submit(deposit("d1", "c1", "100")).unwrap();
    book.submit(Reserve {
        transfer_id: id("r"),
        wallet: wallet("c1", USD),
        amount: dec("10"),
        memo: String::new(),
    })
    .unwrap();
    let settle = |tid: &str, to: AccountId, fee: Option<(&AccountId, &str)>| Settle {
        transfer_id: id(tid),
        reservation: id("r"),
        to,
        fee: fee.map(|(a, x)| Fee {
            account: a.clone(),
            amount: dec(x),
        }),
        memo: String::new(),
    };
    let revenue = AccountId::broker_revenue(USD);
    let cases = [
        (
            settle("s1", clearing("psp", EUR), None),
            "currency_mismatch",
        ),
        (settle("s2", wallet("c1", USD), None), "invalid_settlement"),
        (
            settle("s3", clearing("psp", USD), Some((&revenue, "10"))),
            "fee_too_large",
        ),
        (
            settle("s4", clearing("psp", USD), Some((&revenue, "0.001"))),
            "amount_too_precise",
        ),
        (
            settle(
                "s5",
                clearing("psp", USD),
                Some((&clearing("psp", USD), "1")),
            ),
            "duplicate_account",
        ),
        (
            settle(
                "s6",
                clearing("psp", USD),
                Some((&AccountId::broker_revenue(EUR), "1")),
            ),
            "currency_mismatch",
        ),
    ];
    for (request, expected) in cases {
        let e = book.submit(request).unwrap_err();
        assert_eq!(code(&e), expected);
    }
    assert_eq!(book.entries.len(), 2);
    book.check_invariants();
}

#[test]
fn a_reversal_negates_a_transfer_once() {
    let mut book = Book::default();
    let (original, _) = book.submit(deposit("d1", "c1", "100")).unwrap();
    let reverse = Reverse {
        transfer_id: id("d1:reversal"),
        reverses: id("d1"),
        memo: "booked twice".into(),
    };
    let (reversal, _) = book.submit(reverse.clone()).unwrap();
    assert_eq!(reversal.kind, EntryKind::Reversal { reverses: id("d1") });
    for (a, b) in original.postings.iter().zip(&reversal.postings) {
        assert_eq!(
            (&a.account, a.bucket, a.amount),
            (&b.account, b.bucket, -b.amount)
        );
    }
    assert!(book.balance(&wallet("c1", USD)).total().is_zero());
    assert!(book.balance(&clearing("psp", USD)).total().is_zero());
    // The original is unchanged; replaying the reversal answers it; another reversal is refused.
    assert_eq!(book.entries[&id("d1")], original);
    assert_eq!(book.submit(reverse).unwrap(), (reversal.clone(), true));
    let second = Reverse {
        transfer_id: id("d1:reversal-2"),
        reverses: id("d1"),
        memo: String::new(),
    };
    assert_eq!(code(&book.submit(second).unwrap_err()), "entry_closed");
    // Reversals and reservations are not reversed.
    let of_reversal = Reverse {
        transfer_id: id("x"),
        reverses: id("d1:reversal"),
        memo: String::new(),
    };
    assert_eq!(
        code(&book.submit(of_reversal).unwrap_err()),
        "not_reversible"
    );
    book.check_invariants();
}

#[test]
fn requests_and_entries_round_trip_through_json() {
    let request: Request = Settle {
        transfer_id: id("w1:settle"),
        reservation: id("w1:reserve"),
        to: clearing("psp", BTC),
        fee: None,
        memo: "m".into(),
    }
    .into();
    let json = serde_json::to_value(&request).unwrap();
    assert_eq!(json["op"], "settle");
    assert_eq!(json["to"], "CLEARING:psp:BTC");
    assert_eq!(serde_json::from_value::<Request>(json).unwrap(), request);
    let mut book = Book::default();
    let (entry, _) = book.submit(deposit("d1", "c1", "5")).unwrap();
    let json = serde_json::to_string(&entry).unwrap();
    assert!(json.contains(r#""amount":"5.00""#), "{json}");
    assert_eq!(serde_json::from_str::<Entry>(&json).unwrap(), entry);
}

// ---- Property tests: random operation sequences against the book. ----

const CLIENTS: [&str; 3] = ["c1", "c2", "c3"];
const CURRENCIES: [Currency; 3] = [USD, JPY, BTC];

#[derive(Debug, Clone)]
enum Op {
    Deposit {
        client: usize,
        currency: usize,
        units: i64,
    },
    Fee {
        client: usize,
        currency: usize,
        units: i64,
    },
    Move {
        from: usize,
        to: usize,
        currency: usize,
        units: i64,
    },
    Commission {
        currency: usize,
        units: i64,
    },
    Reserve {
        client: usize,
        currency: usize,
        units: i64,
    },
    Release {
        nth: usize,
    },
    Settle {
        nth: usize,
        fee_units: i64,
    },
    Reverse {
        nth: usize,
    },
    Replay {
        nth: usize,
    },
    /// A submitted request's transfer id with other content.
    Reuse {
        nth: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let c = 0..CLIENTS.len();
    let k = 0..CURRENCIES.len();
    let units = 1i64..5_000;
    prop_oneof![
        3 => (c.clone(), k.clone(), units.clone()).prop_map(|(client, currency, units)| Op::Deposit { client, currency, units }),
        1 => (c.clone(), k.clone(), units.clone()).prop_map(|(client, currency, units)| Op::Fee { client, currency, units }),
        2 => (c.clone(), c.clone(), k.clone(), units.clone()).prop_map(|(from, to, currency, units)| Op::Move { from, to, currency, units }),
        1 => (k.clone(), units.clone()).prop_map(|(currency, units)| Op::Commission { currency, units }),
        3 => (c, k, units).prop_map(|(client, currency, units)| Op::Reserve { client, currency, units }),
        2 => any::<usize>().prop_map(|nth| Op::Release { nth }),
        2 => (any::<usize>(), 0i64..50).prop_map(|(nth, fee_units)| Op::Settle { nth, fee_units }),
        2 => any::<usize>().prop_map(|nth| Op::Reverse { nth }),
        1 => any::<usize>().prop_map(|nth| Op::Replay { nth }),
        1 => any::<usize>().prop_map(|nth| Op::Reuse { nth }),
    ]
}

fn amount(units: i64, currency: Currency) -> Decimal {
    Decimal::new(units, currency.scale)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn invariants_hold_over_random_sequences(ops in prop::collection::vec(op(), 1..60)) {
        let mut book = Book::default();
        let mut submitted: Vec<Request> = Vec::new();
        for (n, op) in ops.into_iter().enumerate() {
            let tid = id(&format!("t{n}"));
            let nth = |k: usize, of: &dyn Fn(&Entry) -> bool| {
                let matching: Vec<&Entry> = book.entries.values().filter(|e| of(e)).collect();
                (!matching.is_empty()).then(|| matching[k % matching.len()].transfer_id.clone())
            };
            let request: Request = match op {
                Op::Deposit { client, currency, units } => {
                    let cur = CURRENCIES[currency];
                    Transfer::between(tid, clearing("psp", cur), wallet(CLIENTS[client], cur), amount(units, cur), "").into()
                }
                Op::Fee { client, currency, units } => {
                    let cur = CURRENCIES[currency];
                    Transfer::between(tid, wallet(CLIENTS[client], cur), AccountId::broker_revenue(cur), amount(units, cur), "").into()
                }
                Op::Move { from, to, currency, units } => {
                    if from == to { continue; }
                    let cur = CURRENCIES[currency];
                    Transfer::between(tid, wallet(CLIENTS[from], cur), wallet(CLIENTS[to], cur), amount(units, cur), "").into()
                }
                Op::Commission { currency, units } => {
                    let cur = CURRENCIES[currency];
                    Transfer::between(tid, AccountId::broker_revenue(cur), AccountId::ib_payable("ib1", cur).unwrap(), amount(units, cur), "").into()
                }
                Op::Reserve { client, currency, units } => {
                    let cur = CURRENCIES[currency];
                    Reserve { transfer_id: tid, wallet: wallet(CLIENTS[client], cur), amount: amount(units, cur), memo: String::new() }.into()
                }
                Op::Release { nth: k } => match nth(k, &|e| e.kind == EntryKind::Reserve) {
                    Some(r) => Release { transfer_id: tid, reservation: r, memo: String::new() }.into(),
                    None => continue,
                },
                Op::Settle { nth: k, fee_units } => match nth(k, &|e| e.kind == EntryKind::Reserve) {
                    Some(r) => {
                        let cur = book.entries[&r].reservation().unwrap().0.currency();
                        Settle {
                            transfer_id: tid,
                            reservation: r,
                            to: clearing("psp", cur),
                            fee: (fee_units > 0).then(|| Fee { account: AccountId::broker_revenue(cur), amount: amount(fee_units, cur) }),
                            memo: String::new(),
                        }.into()
                    }
                    None => continue,
                },
                Op::Reverse { nth: k } => match nth(k, &|_| true) {
                    Some(r) => Reverse { transfer_id: tid, reverses: r, memo: String::new() }.into(),
                    None => continue,
                },
                Op::Replay { nth: k } => {
                    if submitted.is_empty() { continue; }
                    submitted[k % submitted.len()].clone()
                }
                Op::Reuse { nth: k } => {
                    if submitted.is_empty() { continue; }
                    let reused = submitted[k % submitted.len()].transfer_id().clone();
                    Transfer::between(reused, clearing("psp", USD), wallet("c1", USD), Decimal::ONE, "other").into()
                }
            };
            let before = (book.entries.len(), book.balances.clone());
            match book.submit(request.clone()) {
                Ok((entry, replayed)) => {
                    prop_assert!(entry.is_balanced());
                    if replayed {
                        prop_assert_eq!(&book.entries.len(), &before.0);
                        prop_assert_eq!(&book.balances, &before.1);
                    } else {
                        submitted.push(request);
                    }
                }
                Err(e) => {
                    // A refusal changes nothing, and is one of the refusals the rules give.
                    prop_assert!(
                        ["insufficient_funds", "entry_closed", "not_reversible", "fee_too_large", "transfer_id_reused"].contains(&e.code()),
                        "unexpected refusal {:?}", e
                    );
                    prop_assert_eq!(&book.entries.len(), &before.0);
                    prop_assert_eq!(&book.balances, &before.1);
                }
            }
            book.check_invariants();
        }
    }

    /// Legs in any order and amounts with any number of trailing zeros hash alike; any change
    /// of an amount changes the hash.
    #[test]
    fn request_hashes_are_canonical(units in 1i64..1_000_000, extra_zeros in 0u32..4, swap in any::<bool>(), delta in 1i64..100) {
        let base = deposit("d", "c1", &amount(units, USD).to_string());
        let mut other = base.clone();
        for leg in &mut other.legs {
            leg.amount = Decimal::new(leg.amount.mantissa() as i64 * 10i64.pow(extra_zeros), leg.amount.scale() + extra_zeros);
        }
        if swap { other.legs.reverse(); }
        let a = Request::from(base).normalized().unwrap();
        let b = Request::from(other).normalized().unwrap();
        prop_assert_eq!(a.hash(), b.hash());
        let changed = Request::from(deposit("d", "c1", &amount(units + delta, USD).to_string())).normalized().unwrap();
        prop_assert_ne!(a.hash(), changed.hash());
    }
}
