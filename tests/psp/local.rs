//! The local event queue on one storage engine, and the webhook intake in front of it. Each
//! `pub async fn` is a scenario run on both engines (see `main.rs`).

use std::collections::{BTreeMap, HashSet};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use brokeros_kernel::money::{Currency, Money};
use brokeros_local::{LocalEventQueue, LocalQueueConfig};
use brokeros_payments::model::Decimal;
use brokeros_payments::model::events::{PaymentEvent, PaymentEventKind};
use brokeros_payments::model::webhook::WebhookError;
use brokeros_payments::psp::queue::{EventQueue, Outcome, QueueError, QueueMessage, consume_once};
use brokeros_payments::psp::{HttpHeaders, IngestError, IngestOutcome, ingest};
use brokeros_store::{Store, Table};
use brokeros_store_sqlite::SqliteStore;

use crate::ManualClock;

const VISIBILITY: Duration = Duration::from_secs(30);

fn queue(store: &Arc<dyn Store>, clock: &Arc<ManualClock>) -> LocalEventQueue {
    LocalEventQueue::new(
        store.clone(),
        clock.clone(),
        LocalQueueConfig::new("psp-events")
            .visibility_timeout(VISIBILITY)
            .dead_letter("psp-events-dlq", 3),
    )
    .expect("a valid queue configuration")
}

async fn send(queue: &dyn EventQueue, group: &str, dedup: &str) -> String {
    queue
        .send(group, dedup, &format!("body of {dedup}"))
        .await
        .unwrap_or_else(|e| panic!("send {group}/{dedup}: {e}"))
}

async fn receive(queue: &dyn EventQueue, max: u32) -> Vec<QueueMessage> {
    queue.receive(max).await.expect("receive")
}

fn dedup_ids(messages: &[QueueMessage]) -> Vec<&str> {
    messages.iter().map(|m| m.dedup_id.as_str()).collect()
}

fn receipts(messages: &[QueueMessage]) -> Vec<String> {
    messages.iter().map(|m| m.receipt.clone()).collect()
}

async fn ack_all(queue: &dyn EventQueue, messages: &[QueueMessage]) {
    let settled = queue.ack(&receipts(messages)).await.expect("ack");
    assert!(settled.stale.is_empty(), "{settled:?}");
}

/// Receives until nothing comes, acknowledging everything: the dedup ids in delivery order.
async fn drain(queue: &dyn EventQueue) -> Vec<String> {
    let mut seen = Vec::new();
    loop {
        let batch = receive(queue, 10).await;
        if batch.is_empty() {
            return seen;
        }
        seen.extend(batch.iter().map(|m| m.dedup_id.clone()));
        ack_all(queue, &batch).await;
    }
}

pub async fn duplicates_within_the_window_are_dropped(store: Arc<dyn Store>) {
    let clock = ManualClock::new();
    let queue = queue(&store, &clock);
    let first = send(&queue, "dep_1", "simcard:evt_1").await;
    let again = send(&queue, "dep_1", "simcard:evt_1").await;
    assert_eq!(
        again, first,
        "a duplicate answers the original's message id"
    );
    // The same dedup id in another group is still a duplicate (the window is per queue).
    assert_eq!(send(&queue, "dep_2", "simcard:evt_1").await, first);
    let other = send(&queue, "dep_1", "simcard:evt_2").await;
    assert_ne!(other, first);

    let batch = receive(&queue, 10).await;
    assert_eq!(dedup_ids(&batch), ["simcard:evt_1", "simcard:evt_2"]);
    assert_eq!(batch[0].message_id, first);
    assert_eq!(batch[0].body, "body of simcard:evt_1");
    assert_eq!(batch[0].receive_count, 1);
    ack_all(&queue, &batch).await;

    // Acknowledged, the event is still remembered for the window: a late redelivery of the
    // webhook is dropped, not applied again.
    clock.advance(time::Duration::seconds(200));
    assert_eq!(send(&queue, "dep_1", "simcard:evt_1").await, first);
    assert!(receive(&queue, 10).await.is_empty());
}

pub async fn the_deduplication_window_ends_after_five_minutes(store: Arc<dyn Store>) {
    let clock = ManualClock::new();
    let queue = queue(&store, &clock);
    let first = send(&queue, "dep_1", "simcard:evt_1").await;
    clock.advance(time::Duration::seconds(299));
    assert_eq!(send(&queue, "dep_1", "simcard:evt_1").await, first);
    clock.advance(time::Duration::seconds(2));
    let second = send(&queue, "dep_1", "simcard:evt_1").await;
    assert_ne!(
        second, first,
        "past the window the same id is a new message"
    );
    let ids: Vec<String> = receive(&queue, 10)
        .await
        .into_iter()
        .map(|m| m.message_id)
        .collect();
    assert_eq!(ids, [first, second]);
}

pub async fn a_group_is_delivered_in_order_one_batch_at_a_time(store: Arc<dyn Store>) {
    let clock = ManualClock::new();
    let queue = queue(&store, &clock);
    for (group, dedup) in [
        ("dep_a", "a1"),
        ("dep_b", "b1"),
        ("dep_a", "a2"),
        ("dep_a", "a3"),
        ("dep_b", "b2"),
    ] {
        send(&queue, group, dedup).await;
        clock.advance(time::Duration::milliseconds(1));
    }
    // One message at a time: the head of each group, and nothing behind an in-flight one.
    let first = receive(&queue, 1).await;
    assert_eq!(dedup_ids(&first), ["a1"]);
    let second = receive(&queue, 1).await;
    assert_eq!(dedup_ids(&second), ["b1"], "a2 waits while a1 is in flight");
    assert!(
        receive(&queue, 10).await.is_empty(),
        "both groups are in flight"
    );
    ack_all(&queue, &first).await;
    let next = receive(&queue, 10).await;
    assert_eq!(
        dedup_ids(&next),
        ["a2", "a3"],
        "the rest of group a, in order"
    );
    ack_all(&queue, &second).await;
    ack_all(&queue, &next).await;
    assert_eq!(drain(&queue).await, ["b2"]);
    assert_eq!(
        store.count_items(Table::Main).await.unwrap(),
        5,
        "only the deduplication records remain"
    );
}

pub async fn a_failed_message_comes_back_first_with_a_new_receipt(store: Arc<dyn Store>) {
    let clock = ManualClock::new();
    let queue = queue(&store, &clock);
    send(&queue, "dep_1", "e1").await;
    send(&queue, "dep_1", "e2").await;
    let batch = receive(&queue, 1).await;
    assert_eq!(dedup_ids(&batch), ["e1"]);
    let settled = queue.fail(&receipts(&batch)).await.unwrap();
    assert!(settled.stale.is_empty());

    let again = receive(&queue, 1).await;
    assert_eq!(dedup_ids(&again), ["e1"], "e1 before e2");
    assert_eq!(again[0].message_id, batch[0].message_id);
    assert_eq!(again[0].receive_count, 2);
    assert_ne!(again[0].receipt, batch[0].receipt);
    // The first delivery's receipt no longer settles anything.
    let stale = queue.ack(&receipts(&batch)).await.unwrap();
    assert_eq!(stale.stale, receipts(&batch));
    assert!(
        receive(&queue, 10).await.is_empty(),
        "e1 is in flight again"
    );
    ack_all(&queue, &again).await;
    assert_eq!(drain(&queue).await, ["e2"]);
}

pub async fn an_unsettled_message_comes_back_after_the_visibility_timeout(store: Arc<dyn Store>) {
    let clock = ManualClock::new();
    let queue = queue(&store, &clock);
    send(&queue, "dep_1", "e1").await;
    let batch = receive(&queue, 10).await;
    assert_eq!(batch.len(), 1);
    clock.advance(time::Duration::seconds(29));
    assert!(receive(&queue, 10).await.is_empty(), "still invisible");
    clock.advance(time::Duration::seconds(2));
    let again = receive(&queue, 10).await;
    assert_eq!(dedup_ids(&again), ["e1"]);
    assert_eq!(again[0].receive_count, 2);
    // The consumer that timed out cannot settle the new delivery.
    assert_eq!(
        queue.fail(&receipts(&batch)).await.unwrap().stale,
        receipts(&batch)
    );
    assert_eq!(
        queue.ack(&receipts(&batch)).await.unwrap().stale,
        receipts(&batch)
    );
    ack_all(&queue, &again).await;
    assert!(receive(&queue, 10).await.is_empty());
    // A receipt that is not one at all is stale too.
    assert_eq!(
        queue.ack(&["garbage".to_string()]).await.unwrap().stale,
        ["garbage"]
    );
}

pub async fn a_message_received_max_times_goes_to_the_dead_letter_queue(store: Arc<dyn Store>) {
    let clock = ManualClock::new();
    let queue = queue(&store, &clock); // max_receives = 3
    send(&queue, "dep_1", "poison").await;
    send(&queue, "dep_1", "next").await;
    for attempt in 1..=3 {
        let batch = receive(&queue, 1).await;
        assert_eq!(dedup_ids(&batch), ["poison"]);
        assert_eq!(batch[0].receive_count, attempt);
        queue.fail(&receipts(&batch)).await.unwrap();
    }
    // The 4th receive moves it to the dead-letter queue and delivers what follows it.
    let batch = receive(&queue, 10).await;
    assert_eq!(dedup_ids(&batch), ["next"]);
    ack_all(&queue, &batch).await;
    assert!(receive(&queue, 10).await.is_empty());

    let dlq = queue.dead_letter_queue().expect("configured");
    assert_eq!(dlq.name(), "psp-events-dlq");
    let dead = receive(&dlq, 10).await;
    assert_eq!(dedup_ids(&dead), ["poison"]);
    assert_eq!(dead[0].group_id, "dep_1");
    assert_eq!(dead[0].body, "body of poison");
    assert_eq!(
        dead[0].receive_count, 1,
        "counted afresh in the dead-letter queue"
    );
    ack_all(&dlq, &dead).await;
    assert!(receive(&dlq, 10).await.is_empty());

    // Expired visibility counts as a receive too.
    send(&queue, "dep_2", "slow").await;
    for _ in 0..3 {
        assert_eq!(dedup_ids(&receive(&queue, 1).await), ["slow"]);
        clock.advance(time::Duration::seconds(31));
    }
    assert!(receive(&queue, 10).await.is_empty());
    assert_eq!(dedup_ids(&receive(&dlq, 10).await), ["slow"]);
}

pub async fn messages_and_locks_live_in_the_store(store: Arc<dyn Store>) {
    let clock = ManualClock::new();
    let e1 = {
        let queue = queue(&store, &clock);
        let e1 = send(&queue, "dep_1", "e1").await;
        send(&queue, "dep_1", "e2").await;
        send(&queue, "dep_2", "f1").await;
        assert_eq!(dedup_ids(&receive(&queue, 1).await), ["e1"]);
        e1
    };
    // Another instance (a restarted process) over the same store sees the same queue: e1 is
    // still in flight, and comes back when its visibility timeout ends.
    let queue = queue(&store, &clock);
    assert_eq!(send(&queue, "dep_1", "e1").await, e1, "still deduplicated");
    let f1 = receive(&queue, 10).await;
    assert_eq!(dedup_ids(&f1), ["f1"]);
    ack_all(&queue, &f1).await;
    clock.advance(time::Duration::seconds(31));
    let batch = receive(&queue, 10).await;
    assert_eq!(dedup_ids(&batch), ["e1", "e2"]);
    assert_eq!(batch[0].receive_count, 2);
}

/// A real restart of the embedded engine: the database file closed and opened again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_queue_survives_reopening_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("brokeros.sqlite3");
    let clock = ManualClock::new();
    let in_flight = {
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&path).unwrap());
        let queue = queue(&store, &clock);
        send(&queue, "dep_1", "e1").await;
        send(&queue, "dep_1", "e2").await;
        send(&queue, "dep_2", "f1").await;
        receive(&queue, 1).await
    };
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&path).unwrap());
    let queue = queue(&store, &clock);
    assert_eq!(dedup_ids(&in_flight), ["e1"]);
    // The receipt handed out before the restart still settles its delivery.
    ack_all(&queue, &in_flight).await;
    assert_eq!(drain(&queue).await, ["e2", "f1"]);
}

pub async fn concurrent_sends_of_one_event_make_one_message(store: Arc<dyn Store>) {
    let clock = ManualClock::new();
    let queue = Arc::new(queue(&store, &clock));
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let queue = queue.clone();
        tasks.push(tokio::spawn(async move {
            queue.send("dep_1", "simcard:evt_1", "the event").await
        }));
    }
    let mut ids = HashSet::new();
    for task in tasks {
        ids.insert(task.await.unwrap().expect("every send is accepted"));
    }
    assert_eq!(ids.len(), 1, "all 50 answer the one message: {ids:?}");
    let batch = receive(queue.as_ref(), 10).await;
    assert_eq!(batch.len(), 1);
    ack_all(queue.as_ref(), &batch).await;
    assert!(receive(queue.as_ref(), 10).await.is_empty());
}

pub async fn concurrent_sends_to_one_group_lose_nothing(store: Arc<dyn Store>) {
    let clock = ManualClock::new();
    let queue = Arc::new(queue(&store, &clock));
    let mut tasks = Vec::new();
    for i in 0..30 {
        let queue = queue.clone();
        tasks.push(tokio::spawn(async move {
            queue
                .send("dep_1", &format!("evt_{i:02}"), "the event")
                .await
        }));
    }
    for task in tasks {
        task.await.unwrap().expect("every send is accepted");
    }
    let mut seen = drain(queue.as_ref()).await;
    assert_eq!(seen.len(), 30);
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 30, "each once");
}

pub async fn concurrent_receivers_never_share_a_group_or_a_message(store: Arc<dyn Store>) {
    let clock = ManualClock::new();
    let queue = Arc::new(queue(&store, &clock));
    for i in 0..24 {
        send(
            queue.as_ref(),
            &format!("dep_{}", i % 6),
            &format!("e{i:02}"),
        )
        .await;
    }
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let queue = queue.clone();
        tasks.push(tokio::spawn(async move { queue.receive(10).await }));
    }
    let mut owner: BTreeMap<String, usize> = BTreeMap::new();
    let mut messages = HashSet::new();
    let mut total = 0;
    for (receiver, task) in tasks.into_iter().enumerate() {
        for message in task.await.unwrap().expect("receive") {
            total += 1;
            assert!(
                messages.insert(message.message_id.clone()),
                "delivered twice"
            );
            let first = *owner.entry(message.group_id.clone()).or_insert(receiver);
            assert_eq!(
                first, receiver,
                "group {} went to two receivers",
                message.group_id
            );
        }
    }
    assert!(total > 0);
    // Nothing is deliverable while every group with messages is in flight.
    clock.advance(time::Duration::seconds(1));
    let more = receive(queue.as_ref(), 10).await;
    for message in &more {
        assert!(
            !owner.contains_key(&message.group_id),
            "group {} is in flight",
            message.group_id
        );
    }
}

pub async fn consume_once_keeps_the_group_order_across_failures(store: Arc<dyn Store>) {
    let clock = ManualClock::new();
    let queue = queue(&store, &clock);
    for dedup in ["a1", "a2", "a3"] {
        send(&queue, "dep_a", dedup).await;
    }
    send(&queue, "dep_b", "b1").await;
    let round = consume_once(&queue, 10, |m| {
        let fail = m.dedup_id == "a2";
        async move { if fail { Err("ledger busy") } else { Ok(()) } }
    })
    .await
    .unwrap();
    let outcomes: Vec<(&str, &Outcome)> = round
        .iter()
        .map(|(m, o)| (m.dedup_id.as_str(), o))
        .collect();
    assert_eq!(
        outcomes,
        [
            ("a1", &Outcome::Done),
            ("a2", &Outcome::Failed("ledger busy".into())),
            ("a3", &Outcome::Skipped),
            ("b1", &Outcome::Done),
        ]
    );
    let again = receive(&queue, 10).await;
    assert_eq!(dedup_ids(&again), ["a2", "a3"]);
    assert_eq!(
        again.iter().map(|m| m.receive_count).collect::<Vec<_>>(),
        [2, 2]
    );
}

pub async fn invalid_requests_are_refused_and_write_nothing(store: Arc<dyn Store>) {
    let clock = ManualClock::new();
    let queue = queue(&store, &clock);
    let invalid = |r: Result<String, QueueError>| matches!(r, Err(QueueError::Invalid(_)));
    assert!(invalid(queue.send("", "d", "b").await));
    assert!(invalid(queue.send("g", "", "b").await));
    assert!(invalid(queue.send("g h", "d", "b").await));
    assert!(invalid(queue.send(&"g".repeat(129), "d", "b").await));
    assert!(invalid(queue.send("g", "d", "").await));
    assert!(invalid(
        queue.send("g", "d", &"x".repeat(256 * 1024 + 1)).await
    ));
    assert!(matches!(
        queue.receive(0).await,
        Err(QueueError::Invalid(_))
    ));
    assert!(matches!(
        queue.receive(11).await,
        Err(QueueError::Invalid(_))
    ));
    for config in [
        LocalQueueConfig::new("bad#name"),
        LocalQueueConfig::new(""),
        LocalQueueConfig::new("q").visibility_timeout(Duration::ZERO),
        LocalQueueConfig::new("q").dead_letter("q", 3),
        LocalQueueConfig::new("q").dead_letter("dlq", 0),
    ] {
        assert!(
            LocalEventQueue::new(store.clone(), clock.clone(), config.clone()).is_err(),
            "{config:?}"
        );
    }
    assert_eq!(store.count_items(Table::Main).await.unwrap(), 0);
}

// --- The webhook intake in front of the queue ----------------------------------------------------

fn payment(provider: &str, at: time::OffsetDateTime) -> PaymentEvent {
    PaymentEvent {
        provider: provider.into(),
        event_id: "evt_100".into(),
        deposit_id: "dep_7".into(),
        kind: PaymentEventKind::Succeeded,
        amount: Money::positive(
            "amount",
            Decimal::from_str("250.000001").unwrap(),
            Currency::from_code("USDT").unwrap(),
        )
        .unwrap(),
        occurred_at: at.replace_nanosecond(0).unwrap(),
        provider_transaction_id: "0xabc123".into(),
    }
}

fn header_map(pairs: &[(String, String)]) -> axum::http::HeaderMap {
    let mut map = axum::http::HeaderMap::new();
    for (name, value) in pairs {
        map.append(
            axum::http::HeaderName::from_str(name).unwrap(),
            axum::http::HeaderValue::from_str(value).unwrap(),
        );
    }
    map
}

pub async fn concurrent_webhook_deliveries_queue_one_event(store: Arc<dyn Store>) {
    let clock = ManualClock::new();
    let queue = Arc::new(queue(&store, &clock));
    let providers = Arc::new(brokeros_local::simulated_providers());
    let now = brokeros_kernel::Clock::now(clock.as_ref());
    for provider in [
        brokeros_local::SIMULATED_CRYPTO,
        brokeros_local::SIMULATED_CARD,
    ] {
        let delivery = providers
            .get(provider)
            .unwrap()
            .deliver(&payment(provider, now), now)
            .unwrap();
        let headers = Arc::new(header_map(&delivery.headers));
        let body = Arc::new(delivery.body);
        let mut tasks = Vec::new();
        for _ in 0..100 {
            let (queue, providers, headers, body) = (
                queue.clone(),
                providers.clone(),
                headers.clone(),
                body.clone(),
            );
            tasks.push(tokio::spawn(async move {
                ingest(
                    &providers,
                    queue.as_ref(),
                    provider,
                    &HttpHeaders(&headers),
                    &body,
                    now,
                )
                .await
            }));
        }
        let mut ids = HashSet::new();
        for task in tasks {
            match task.await.unwrap() {
                Ok(IngestOutcome::Queued { message_id, event }) => {
                    assert_eq!(event, payment(provider, now));
                    ids.insert(message_id);
                }
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(ids.len(), 1, "{provider}: one message for 100 deliveries");
    }
    // Both providers' events, in the deposit's group, in the order they were first sent.
    let batch = receive(queue.as_ref(), 10).await;
    assert_eq!(dedup_ids(&batch), ["simcrypto:evt_100", "simcard:evt_100"]);
    for message in &batch {
        let event = PaymentEvent::from_message(&message.body).unwrap();
        assert_eq!(event.deposit_id, message.group_id);
        assert_eq!(event.amount.to_string(), "250.000001 USDT");
    }
}

pub async fn refused_webhooks_write_nothing(store: Arc<dyn Store>) {
    let clock = ManualClock::new();
    let queue = queue(&store, &clock);
    let providers = brokeros_local::simulated_providers();
    let now = brokeros_kernel::Clock::now(clock.as_ref());
    let crypto = providers.get(brokeros_local::SIMULATED_CRYPTO).unwrap();
    let delivery = crypto
        .deliver(&payment(brokeros_local::SIMULATED_CRYPTO, now), now)
        .unwrap();
    let headers = header_map(&delivery.headers);
    let text = String::from_utf8(delivery.body.clone()).unwrap();

    let tampered = text.replace("250.000001", "2500.000001");
    let replayed_at = now + time::Duration::minutes(6);
    let resigned_too_precise = text.replace("250.000001", "250.0000001");
    let too_precise_headers =
        header_map(&crypto.sign(resigned_too_precise.as_bytes(), now.unix_timestamp()));
    let cases: Vec<(
        &str,
        &axum::http::HeaderMap,
        &[u8],
        time::OffsetDateTime,
        u16,
    )> = vec![
        ("tampered", &headers, tampered.as_bytes(), now, 401),
        ("replayed", &headers, &delivery.body, replayed_at, 401),
        (
            "too precise",
            &too_precise_headers,
            resigned_too_precise.as_bytes(),
            now,
            400,
        ),
    ];
    for (what, headers, body, at, status) in cases {
        let result = ingest(
            &providers,
            &queue,
            brokeros_local::SIMULATED_CRYPTO,
            &HttpHeaders(headers),
            body,
            at,
        )
        .await;
        match result {
            Err(e @ IngestError::Rejected(_)) => {
                let answered = brokeros_http::ingest_error(e, brokeros_local::SIMULATED_CRYPTO);
                assert_eq!(brokeros_http::error_status(&answered), status, "{what}");
            }
            other => panic!("{what}: {other:?}"),
        }
    }
    let wrong_endpoint = ingest(
        &providers,
        &queue,
        brokeros_local::SIMULATED_CARD,
        &HttpHeaders(&headers),
        &delivery.body,
        now,
    )
    .await;
    assert!(matches!(
        wrong_endpoint,
        Err(IngestError::Rejected(WebhookError::MissingHeader { .. }))
    ));
    assert_eq!(store.count_items(Table::Main).await.unwrap(), 0);
}
