//! Idempotency, reversals, reservations and refusals, on a fresh store each.

use std::collections::BTreeSet;
use std::sync::Arc;

use brokeros_kernel::Error;
use brokeros_kernel::money::{BTC, Currency, EUR, JPY, USD};
use brokeros_ledger::model::{AccountId, ClosedHow, EntryKind, Request};
use brokeros_ledger::{self as ledger, Fee, Leg, Release, Reserve, Reverse, Settle, Transfer};
use brokeros_store::Store;

use crate::common::*;

fn code(result: Result<ledger::Posted, Error>) -> String {
    match result {
        Ok(posted) => panic!("expected a refusal, got {posted:?}"),
        Err(e) => e.code().to_string(),
    }
}

pub async fn the_same_transfer_id_answers_the_original_result(store: Arc<dyn Store>) {
    let services = services(store.clone());
    let first = ledger::post(&services, &ctx(), deposit("d1", "c1", USD, "100"))
        .await
        .unwrap();
    assert!(!first.replayed);
    let items = counts(store.as_ref()).await;

    // The same content, written otherwise (trailing zeros, legs reversed), later, by another
    // context: the original entry, nothing written.
    let mut same = deposit("d1", "c1", USD, "100.000");
    same.legs.reverse();
    let again = ledger::post(&services, &ctx(), same).await.unwrap();
    assert!(again.replayed);
    assert_eq!(again.entry, first.entry);
    assert_eq!(
        counts(store.as_ref()).await,
        items,
        "a replay writes nothing"
    );

    // Different content under the same id: refused, nothing written.
    let refused = [
        Request::from(deposit("d1", "c1", USD, "100.01")),
        Request::from(deposit("d1", "c2", USD, "100")),
        Request::from(deposit("d1", "c1", EUR, "100")),
        Request::from(Reserve {
            transfer_id: tid("d1"),
            wallet: wallet("c1", USD),
            amount: dec("1"),
            memo: String::new(),
        }),
    ];
    for request in refused {
        assert_eq!(
            code(ledger::submit(&services, &ctx(), request).await),
            "transfer_id_reused"
        );
    }
    assert_eq!(
        counts(store.as_ref()).await,
        items,
        "a refusal writes nothing"
    );
    assert_eq!(available(&services, &wallet("c1", USD)).await, dec("100"));
    check_books(&services, &BTreeSet::from([tid("d1")])).await;
}

pub async fn a_reversal_negates_a_transfer_once(store: Arc<dyn Store>) {
    let services = services(store.clone());
    let w = wallet("c1", EUR);
    let d1 = ledger::post(&services, &ctx(), deposit("d1", "c1", EUR, "40"))
        .await
        .unwrap();
    ledger::post(&services, &ctx(), deposit("d2", "c1", EUR, "2.5"))
        .await
        .unwrap();
    let reverse = Reverse {
        transfer_id: tid("d1:reversal"),
        reverses: tid("d1"),
        memo: "booked twice".into(),
    };
    let reversal = ledger::reverse(&services, &ctx(), reverse.clone())
        .await
        .unwrap();
    assert_eq!(
        reversal.entry.kind,
        EntryKind::Reversal {
            reverses: tid("d1")
        }
    );
    assert_eq!(reversal.entry.postings.len(), d1.entry.postings.len());
    for (a, b) in d1.entry.postings.iter().zip(&reversal.entry.postings) {
        assert_eq!((&a.account, a.amount), (&b.account, -b.amount));
    }
    assert_eq!(available(&services, &w).await, dec("2.5"));
    assert_eq!(
        available(&services, &clearing("psp-card", EUR)).await,
        dec("-2.5")
    );
    // The original stands unchanged, marked as reversed.
    let record = ledger::entry(&services, &tid("d1")).await.unwrap().unwrap();
    assert_eq!(record.entry, d1.entry);
    let closure = record.closure.unwrap();
    assert_eq!(
        (closure.closed_by.as_str(), closure.how),
        ("d1:reversal", ClosedHow::Reversed)
    );
    let items = counts(store.as_ref()).await;
    // Replayed: the same reversal. A second reversal, a reversal of the reversal, of a
    // missing entry, or one that would overdraw the wallet: refused, nothing written.
    let replay = ledger::reverse(&services, &ctx(), reverse).await.unwrap();
    assert!(replay.replayed && replay.entry == reversal.entry);
    let second = Reverse {
        transfer_id: tid("d1:reversal-2"),
        reverses: tid("d1"),
        memo: String::new(),
    };
    assert_eq!(
        code(ledger::reverse(&services, &ctx(), second).await),
        "entry_closed"
    );
    let of_reversal = Reverse {
        transfer_id: tid("x1"),
        reverses: tid("d1:reversal"),
        memo: String::new(),
    };
    assert_eq!(
        code(ledger::reverse(&services, &ctx(), of_reversal).await),
        "not_reversible"
    );
    let missing = Reverse {
        transfer_id: tid("x2"),
        reverses: tid("nope"),
        memo: String::new(),
    };
    assert_eq!(
        code(ledger::reverse(&services, &ctx(), missing).await),
        "not_found"
    );
    ledger::post(
        &services,
        &ctx(),
        Transfer::between(
            tid("spend"),
            w.clone(),
            AccountId::trading_account(1001, EUR).unwrap(),
            dec("2"),
            "to the trading account",
        ),
    )
    .await
    .unwrap();
    // The entry, its two postings and the trading account's balance; one audit event.
    let items = (items.0 + 4, items.1 + 1);
    assert_eq!(counts(store.as_ref()).await, items);
    let spent = Reverse {
        transfer_id: tid("x3"),
        reverses: tid("d2"),
        memo: "chargeback".into(),
    };
    assert_eq!(
        code(ledger::reverse(&services, &ctx(), spent).await),
        "insufficient_funds"
    );
    assert_eq!(
        counts(store.as_ref()).await,
        items,
        "refusals write nothing"
    );
    let posted = ["d1", "d2", "d1:reversal", "spend"].map(tid);
    check_books(&services, &BTreeSet::from(posted)).await;
}

pub async fn a_withdrawal_reserves_then_settles_or_releases(store: Arc<dyn Store>) {
    let services = services(store.clone());
    let w = wallet("c1", BTC);
    ledger::post(&services, &ctx(), deposit("d1", "c1", BTC, "1.5"))
        .await
        .unwrap();
    let reserve = |id: &str, amount: &str| Reserve {
        transfer_id: tid(id),
        wallet: w.clone(),
        amount: dec(amount),
        memo: format!("withdrawal {id}"),
    };
    ledger::reserve(&services, &ctx(), reserve("w1:reserve", "1"))
        .await
        .unwrap();
    let b = ledger::balance(&services, &w).await.unwrap();
    assert_eq!((b.available, b.reserved), (dec("0.5"), dec("1")));
    assert_eq!(
        code(ledger::reserve(&services, &ctx(), reserve("w2:reserve", "0.50000001")).await),
        "insufficient_funds"
    );
    let settle = Settle {
        transfer_id: tid("w1:settle"),
        reservation: tid("w1:reserve"),
        to: clearing("psp-crypto", BTC),
        fee: Some(Fee {
            account: AccountId::broker_revenue(BTC),
            amount: dec("0.0005"),
        }),
        memo: "paid out".into(),
    };
    let settled = ledger::settle(&services, &ctx(), settle.clone())
        .await
        .unwrap();
    assert_eq!(settled.entry.postings.len(), 3);
    let b = ledger::balance(&services, &w).await.unwrap();
    assert_eq!((b.available, b.reserved), (dec("0.5"), dec("0")));
    assert_eq!(
        available(&services, &clearing("psp-crypto", BTC)).await,
        dec("0.9995")
    );
    assert_eq!(
        available(&services, &AccountId::broker_revenue(BTC)).await,
        dec("0.0005")
    );
    assert!(
        ledger::settle(&services, &ctx(), settle)
            .await
            .unwrap()
            .replayed
    );
    let release = Release {
        transfer_id: tid("w1:release"),
        reservation: tid("w1:reserve"),
        memo: String::new(),
    };
    let items = counts(store.as_ref()).await;
    assert_eq!(
        code(ledger::release(&services, &ctx(), release).await),
        "entry_closed"
    );
    let reversal = Reverse {
        transfer_id: tid("w1:reversal"),
        reverses: tid("w1:reserve"),
        memo: String::new(),
    };
    assert_eq!(
        code(ledger::reverse(&services, &ctx(), reversal).await),
        "not_reversible"
    );
    assert_eq!(counts(store.as_ref()).await, items);

    ledger::reserve(&services, &ctx(), reserve("w2:reserve", "0.25"))
        .await
        .unwrap();
    let released = ledger::release(
        &services,
        &ctx(),
        Release {
            transfer_id: tid("w2:release"),
            reservation: tid("w2:reserve"),
            memo: "rejected".into(),
        },
    )
    .await
    .unwrap();
    assert_eq!(
        released.entry.kind,
        EntryKind::Release {
            reservation: tid("w2:reserve")
        }
    );
    let b = ledger::balance(&services, &w).await.unwrap();
    assert_eq!((b.available, b.reserved), (dec("0.5"), dec("0")));
    let balances = ledger::balances_of_client(&services, "c1").await.unwrap();
    assert_eq!(balances, vec![b]);
    let posted = ["d1", "w1:reserve", "w1:settle", "w2:reserve", "w2:release"].map(tid);
    check_books(&services, &BTreeSet::from(posted)).await;
}

pub async fn bad_requests_are_refused_with_nothing_written(store: Arc<dyn Store>) {
    let services = services(store.clone());
    ledger::post(&services, &ctx(), deposit("d1", "c1", USD, "10"))
        .await
        .unwrap();
    let items = counts(store.as_ref()).await;
    let legs = |a: (&AccountId, &str), b: (&AccountId, &str)| Transfer {
        transfer_id: tid("t1"),
        legs: vec![
            Leg {
                account: a.0.clone(),
                amount: dec(a.1),
            },
            Leg {
                account: b.0.clone(),
                amount: dec(b.1),
            },
        ],
        memo: String::new(),
    };
    let (usd_clearing, usd_wallet) = (clearing("psp-card", USD), wallet("c1", USD));
    let cases: Vec<(Request, &str, Option<&str>)> = vec![
        (
            legs((&usd_clearing, "-10"), (&usd_wallet, "9.99")).into(),
            "unbalanced",
            Some("legs"),
        ),
        (
            legs((&usd_clearing, "-10"), (&wallet("c1", EUR), "10")).into(),
            "unbalanced",
            Some("legs"),
        ),
        (
            deposit("t1", "c1", USD, "10.001").into(),
            "amount_too_precise",
            Some("legs[0].amount"),
        ),
        (
            deposit("t1", "c1", JPY, "100.5").into(),
            "amount_too_precise",
            Some("legs[0].amount"),
        ),
        (
            deposit("t1", "c1", USD, "0").into(),
            "amount_zero",
            Some("legs[0].amount"),
        ),
        (
            deposit("t1", "c1", USD, "-10.01").into(),
            "insufficient_funds",
            None,
        ),
        (
            Reserve {
                transfer_id: tid("t1"),
                wallet: usd_wallet.clone(),
                amount: dec("0"),
                memo: String::new(),
            }
            .into(),
            "amount_not_positive",
            Some("amount"),
        ),
        (
            Reserve {
                transfer_id: tid("t1"),
                wallet: usd_wallet.clone(),
                amount: dec("10.01"),
                memo: String::new(),
            }
            .into(),
            "insufficient_funds",
            None,
        ),
        (
            Transfer::between(
                tid("t1"),
                usd_wallet.clone(),
                AccountId::broker_revenue(USD),
                dec("10.01"),
                "fee",
            )
            .into(),
            "insufficient_funds",
            None,
        ),
        (
            Release {
                transfer_id: tid("t1"),
                reservation: tid("d1"),
                memo: String::new(),
            }
            .into(),
            "not_a_reservation",
            None,
        ),
    ];
    for (request, expected, field) in cases {
        let described = format!("{request:?}");
        match ledger::submit(&services, &ctx(), request).await {
            Err(e) => {
                assert_eq!(e.code(), expected, "{described}");
                if let Some(field) = field {
                    assert!(
                        matches!(&e, Error::Validation { field: Some(f), .. } if f == field),
                        "{described}: {e:?}"
                    );
                }
            }
            Ok(posted) => panic!("{described} was posted: {posted:?}"),
        }
    }
    // Unknown currencies never make an account, so a request naming one is refused as it is
    // read, like amounts sent as JSON numbers with too many decimals.
    let unknown = serde_json::json!({
        "op": "transfer", "transfer_id": "t2", "memo": "",
        "legs": [{"account": "CLEARING:psp:XYZ", "amount": "-1"}, {"account": "WALLET:c1:XYZ", "amount": "1"}]
    });
    assert!(serde_json::from_value::<Request>(unknown).is_err());
    let e = AccountId::parse("account", "WALLET:c1:XYZ").unwrap_err();
    assert_eq!(e.code(), "unknown_currency");
    assert_eq!(
        Currency::parse("currency", "usd").unwrap_err().code(),
        "unknown_currency"
    );
    assert_eq!(counts(store.as_ref()).await, items, "nothing written");
    check_books(&services, &BTreeSet::from([tid("d1")])).await;
}

pub async fn concurrent_replays_post_once(store: Arc<dyn Store>) {
    let services = services(store.clone());
    let mut tasks = Vec::new();
    for n in 0..16 {
        let services = services.clone();
        tasks.push(tokio::spawn(async move {
            // Half send the request, half another request with the same id.
            let amount = if n % 2 == 0 { "10" } else { "11" };
            ledger::post(&services, &ctx(), deposit("d1", "c1", USD, amount)).await
        }));
    }
    let mut posted = Vec::new();
    let mut refused = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(p) => posted.push(p),
            Err(e) => {
                assert_eq!(e.code(), "transfer_id_reused");
                refused += 1;
            }
        }
    }
    assert_eq!(
        posted.iter().filter(|p| !p.replayed).count(),
        1,
        "one posting"
    );
    assert!(posted.iter().all(|p| p.entry == posted[0].entry));
    assert_eq!(posted.len() + refused, 16);
    // The winner's amount decides which half replayed and which was refused.
    assert_eq!(posted.len(), 8);
    check_books(&services, &BTreeSet::from([tid("d1")])).await;
}

pub async fn concurrent_withdrawals_never_overdraw(store: Arc<dyn Store>) {
    let services = services(store.clone());
    let w = wallet("c1", USD);
    ledger::post(&services, &ctx(), deposit("d1", "c1", USD, "100"))
        .await
        .unwrap();
    // 24 concurrent reservations of 10 against 100: exactly 10 succeed.
    let mut tasks = Vec::new();
    for n in 0..24 {
        let (services, w) = (services.clone(), w.clone());
        tasks.push(tokio::spawn(async move {
            let request = Reserve {
                transfer_id: tid(&format!("w{n}:reserve")),
                wallet: w,
                amount: dec("10"),
                memo: String::new(),
            };
            (n, ledger::reserve(&services, &ctx(), request).await)
        }));
    }
    let mut reserved = Vec::new();
    for task in tasks {
        let (n, result) = task.await.unwrap();
        match result {
            Ok(_) => reserved.push(n),
            Err(e) => assert_eq!(e.code(), "insufficient_funds", "w{n}"),
        }
    }
    assert_eq!(reserved.len(), 10);
    let b = ledger::balance(&services, &w).await.unwrap();
    assert_eq!((b.available, b.reserved), (dec("0"), dec("100")));

    // Each reservation is settled or released, concurrently, and each twice (two workers
    // racing): exactly one closure each.
    let mut tasks = Vec::new();
    for &n in &reserved {
        for attempt in 0..2 {
            let services = services.clone();
            tasks.push(tokio::spawn(async move {
                let reservation = tid(&format!("w{n}:reserve"));
                let result = if n % 3 == 0 {
                    ledger::release(
                        &services,
                        &ctx(),
                        Release {
                            transfer_id: tid(&format!("w{n}:close{attempt}")),
                            reservation,
                            memo: String::new(),
                        },
                    )
                    .await
                } else {
                    ledger::settle(
                        &services,
                        &ctx(),
                        Settle {
                            transfer_id: tid(&format!("w{n}:close{attempt}")),
                            reservation,
                            to: clearing("psp-card", USD),
                            fee: Some(Fee {
                                account: AccountId::broker_revenue(USD),
                                amount: dec("0.5"),
                            }),
                            memo: String::new(),
                        },
                    )
                    .await
                };
                (n, attempt, result)
            }));
        }
    }
    let mut posted: BTreeSet<_> = BTreeSet::from([tid("d1")]);
    posted.extend(reserved.iter().map(|n| tid(&format!("w{n}:reserve"))));
    let mut closed = std::collections::BTreeMap::new();
    for task in tasks {
        let (n, attempt, result) = task.await.unwrap();
        match result {
            Ok(p) => {
                assert!(closed.insert(n, attempt).is_none(), "w{n} closed twice");
                posted.insert(p.entry.transfer_id);
            }
            Err(e) => assert_eq!(e.code(), "entry_closed", "w{n}"),
        }
    }
    assert_eq!(
        closed.len(),
        reserved.len(),
        "every reservation closed once"
    );
    let released = reserved.iter().filter(|n| *n % 3 == 0).count();
    let b = ledger::balance(&services, &w).await.unwrap();
    assert_eq!(
        (b.available, b.reserved),
        (dec("10") * rust_decimal::Decimal::from(released), dec("0"))
    );
    check_books(&services, &posted).await;
}

/// Runs `n` copies of an operation concurrently; `make(i)` builds the i-th request.
async fn race(
    services: &brokeros_app::Services,
    n: usize,
    make: impl Fn(usize) -> Request,
) -> Vec<Result<ledger::Posted, Error>> {
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let (services, request) = (services.clone(), make(i));
            tokio::spawn(async move { ledger::submit(&services, &ctx(), request).await })
        })
        .collect();
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.unwrap());
    }
    results
}

/// Racing copies of one request all answer its entry, even where the winner's effect would
/// refuse the losers (the funds it reserved are gone); racing requests that close one entry
/// leave one winner, and the others are told the entry is closed, not that funds are missing.
pub async fn racing_requests_get_the_answer_of_the_winner(store: Arc<dyn Store>) {
    let services = services(store.clone());
    let w = wallet("c1", USD);
    ledger::post(&services, &ctx(), deposit("d1", "c1", USD, "50"))
        .await
        .unwrap();
    ledger::post(&services, &ctx(), deposit("d2", "c2", USD, "30"))
        .await
        .unwrap();
    let mut posted: BTreeSet<_> = ["d1", "d2"].map(tid).into();

    let reserve = |id: &str| -> Request {
        Reserve {
            transfer_id: tid(id),
            wallet: w.clone(),
            amount: dec("50"),
            memo: String::new(),
        }
        .into()
    };
    let release = |id: &str, reservation: &str| -> Request {
        Release {
            transfer_id: tid(id),
            reservation: tid(reservation),
            memo: String::new(),
        }
        .into()
    };
    let check_one_winner = |results: Vec<Result<ledger::Posted, Error>>, losers: Option<&str>| {
        let winners: Vec<_> = results
            .iter()
            .filter_map(|r| r.as_ref().ok())
            .filter(|p| !p.replayed)
            .collect();
        assert_eq!(winners.len(), 1, "{results:?}");
        let winner = winners[0].entry.clone();
        for result in &results {
            match (result, losers) {
                (Ok(p), _) => assert_eq!(p.entry, winner),
                (Err(e), Some(code)) => assert_eq!(e.code(), code, "{e:?}"),
                (Err(e), None) => panic!("refused: {e:?}"),
            }
        }
        winner.transfer_id
    };

    // Copies of one request: every answer is the entry.
    posted.insert(check_one_winner(
        race(&services, 12, |_| reserve("w1:reserve")).await,
        None,
    ));
    posted.insert(check_one_winner(
        race(&services, 12, |_| release("w1:release", "w1:reserve")).await,
        None,
    ));
    // Different requests closing one entry: one winner, the others "closed".
    posted.insert(check_one_winner(
        race(&services, 1, |_| reserve("w2:reserve")).await,
        None,
    ));
    posted.insert(check_one_winner(
        race(&services, 12, |i| {
            release(&format!("w2:release-{i}"), "w2:reserve")
        })
        .await,
        Some("entry_closed"),
    ));
    posted.insert(check_one_winner(
        race(&services, 12, |i| {
            Reverse {
                transfer_id: tid(&format!("d2:reversal-{i}")),
                reverses: tid("d2"),
                memo: String::new(),
            }
            .into()
        })
        .await,
        Some("entry_closed"),
    ));
    assert_eq!(available(&services, &w).await, dec("50"));
    assert_eq!(available(&services, &wallet("c2", USD)).await, dec("0"));
    check_books(&services, &posted).await;
}

/// 200 concurrent reservations of 1 against a wallet holding 150: 150 succeed, 50 are refused,
/// the wallet ends at 0 available and 150 reserved, and its history never went below zero.
pub async fn a_burst_of_reservations_never_overdraws(store: Arc<dyn Store>) {
    let services = services(store.clone());
    let w = wallet("c1", USD);
    ledger::post(&services, &ctx(), deposit("d1", "c1", USD, "150"))
        .await
        .unwrap();
    let results = race(&services, 200, |i| {
        Reserve {
            transfer_id: tid(&format!("w{i}:reserve")),
            wallet: w.clone(),
            amount: dec("1"),
            memo: String::new(),
        }
        .into()
    })
    .await;
    let mut posted: BTreeSet<_> = BTreeSet::from([tid("d1")]);
    for result in results {
        match result {
            Ok(p) => {
                assert!(!p.replayed);
                posted.insert(p.entry.transfer_id);
            }
            Err(e) => assert_eq!(e.code(), "insufficient_funds", "{e:?}"),
        }
    }
    assert_eq!(posted.len(), 151);
    let b = ledger::balance(&services, &w).await.unwrap();
    assert_eq!((b.available, b.reserved), (dec("0"), dec("150")));
    check_books(&services, &posted).await;
}
