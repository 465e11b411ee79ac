//! The SQS FIFO adapter against moto: a FIFO queue per test with a redrive policy
//! (`maxReceiveCount` 2) to its own FIFO dead-letter queue.
//!
//! Not covered, because moto does not behave like SQS there (a test would check moto):
//! - deduplication of a message already deleted: moto compares only with messages still in the
//!   queue, SQS remembers the id for 5 minutes whatever happened to the message;
//! - a stale receipt handle (after the message was received again): moto still deletes with
//!   it; SQS may refuse it (`ReceiptHandleIsInvalid`) — the adapter reports refusals as stale.

use std::time::Duration;

use aws_sdk_sqs::types::QueueAttributeName;
use brokeros_aws::queue::{SqsEventQueue, batch_response};
use brokeros_payments::psp::queue::{
    EventQueue, Outcome, QueueError, QueueMessage, handle_in_order,
};
use brokeros_tests::moto;
use serde_json::json;

const MAX_RECEIVES: u32 = 2;

struct Fixture {
    queue: SqsEventQueue,
    dead_letters: SqsEventQueue,
}

fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

async fn create_fifo(sqs: &aws_sdk_sqs::Client, name: &str, redrive: Option<String>) -> String {
    let mut request = sqs
        .create_queue()
        .queue_name(name)
        .attributes(QueueAttributeName::FifoQueue, "true")
        .attributes(QueueAttributeName::VisibilityTimeout, "30");
    if let Some(policy) = redrive {
        request = request.attributes(QueueAttributeName::RedrivePolicy, policy);
    }
    request
        .send()
        .await
        .unwrap_or_else(|e| {
            panic!(
                "CreateQueue {name}: {}",
                aws_sdk_sqs::error::DisplayErrorContext(&e)
            )
        })
        .queue_url
        .expect("CreateQueue answers the queue's URL")
}

impl Fixture {
    async fn new() -> Fixture {
        Fixture::with_visibility(None).await
    }

    async fn with_visibility(seconds: Option<i32>) -> Fixture {
        let sqs = moto::sqs_client().await;
        let dlq_url = create_fifo(&sqs, &format!("{}.fifo", unique("dlq")), None).await;
        let dlq_arn = sqs
            .get_queue_attributes()
            .queue_url(&dlq_url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await
            .expect("GetQueueAttributes")
            .attributes()
            .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
            .expect("the dead-letter queue's ARN");
        let policy = json!({ "deadLetterTargetArn": dlq_arn, "maxReceiveCount": MAX_RECEIVES });
        let url = create_fifo(
            &sqs,
            &format!("{}.fifo", unique("events")),
            Some(policy.to_string()),
        )
        .await;
        let mut queue = SqsEventQueue::new(sqs.clone(), url);
        if let Some(seconds) = seconds {
            queue = queue.visibility_timeout(seconds);
        }
        Fixture {
            queue,
            dead_letters: SqsEventQueue::new(sqs, dlq_url),
        }
    }
}

async fn send(queue: &SqsEventQueue, group: &str, dedup: &str) -> String {
    queue
        .send(group, dedup, &format!("body of {dedup}"))
        .await
        .unwrap_or_else(|e| panic!("send {group}/{dedup}: {e}"))
}

async fn receive(queue: &SqsEventQueue, max: u32) -> Vec<QueueMessage> {
    queue.receive(max).await.expect("receive")
}

fn dedup_ids(messages: &[QueueMessage]) -> Vec<&str> {
    messages.iter().map(|m| m.dedup_id.as_str()).collect()
}

fn receipts(messages: &[QueueMessage]) -> Vec<String> {
    messages.iter().map(|m| m.receipt.clone()).collect()
}

async fn ack_all(queue: &SqsEventQueue, messages: &[QueueMessage]) {
    let settled = queue.ack(&receipts(messages)).await.expect("ack");
    assert!(settled.stale.is_empty(), "{settled:?}");
}

#[tokio::test]
async fn duplicates_within_the_window_are_dropped() {
    let f = Fixture::new().await;
    send(&f.queue, "dep_1", "simcard:evt_1").await;
    send(&f.queue, "dep_1", "simcard:evt_1").await;
    send(&f.queue, "dep_2", "simcard:evt_1").await;
    send(&f.queue, "dep_1", "simcard:evt_2").await;
    let batch = receive(&f.queue, 10).await;
    assert_eq!(dedup_ids(&batch), ["simcard:evt_1", "simcard:evt_2"]);
    assert_eq!(batch[0].group_id, "dep_1");
    assert_eq!(batch[0].body, "body of simcard:evt_1");
    assert_eq!(batch[0].receive_count, 1);
    ack_all(&f.queue, &batch).await;
    assert!(receive(&f.queue, 10).await.is_empty());
}

#[tokio::test]
async fn a_group_is_delivered_in_order_one_batch_at_a_time() {
    let f = Fixture::new().await;
    for (group, dedup) in [
        ("dep_a", "a1"),
        ("dep_b", "b1"),
        ("dep_a", "a2"),
        ("dep_a", "a3"),
    ] {
        send(&f.queue, group, dedup).await;
    }
    let first = receive(&f.queue, 1).await;
    assert_eq!(dedup_ids(&first), ["a1"]);
    let second = receive(&f.queue, 1).await;
    assert_eq!(dedup_ids(&second), ["b1"], "a2 waits while a1 is in flight");
    assert!(
        receive(&f.queue, 10).await.is_empty(),
        "both groups in flight"
    );
    ack_all(&f.queue, &first).await;
    let rest = receive(&f.queue, 10).await;
    assert_eq!(dedup_ids(&rest), ["a2", "a3"]);
    ack_all(&f.queue, &second).await;
    ack_all(&f.queue, &rest).await;
    assert!(receive(&f.queue, 10).await.is_empty());
}

#[tokio::test]
async fn a_failed_message_comes_back_first_with_a_new_receipt() {
    let f = Fixture::new().await;
    send(&f.queue, "dep_1", "e1").await;
    send(&f.queue, "dep_1", "e2").await;
    let batch = receive(&f.queue, 1).await;
    assert_eq!(dedup_ids(&batch), ["e1"]);
    let settled = f.queue.fail(&receipts(&batch)).await.unwrap();
    assert!(settled.stale.is_empty());
    let again = receive(&f.queue, 1).await;
    assert_eq!(dedup_ids(&again), ["e1"]);
    assert_eq!(again[0].message_id, batch[0].message_id);
    assert_eq!(again[0].receive_count, 2);
    assert_ne!(again[0].receipt, batch[0].receipt);
    ack_all(&f.queue, &again).await;
    assert_eq!(dedup_ids(&receive(&f.queue, 10).await), ["e2"]);
}

#[tokio::test]
async fn an_unsettled_message_comes_back_after_the_visibility_timeout() {
    let f = Fixture::with_visibility(Some(1)).await;
    send(&f.queue, "dep_1", "e1").await;
    let batch = receive(&f.queue, 10).await;
    assert_eq!(dedup_ids(&batch), ["e1"]);
    assert!(receive(&f.queue, 10).await.is_empty(), "invisible for 1 s");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let again = receive(&f.queue, 10).await;
    assert_eq!(dedup_ids(&again), ["e1"]);
    assert_eq!(again[0].receive_count, 2);
    ack_all(&f.queue, &again).await;
}

#[tokio::test]
async fn a_message_received_max_times_goes_to_the_dead_letter_queue() {
    let f = Fixture::new().await;
    send(&f.queue, "dep_1", "poison").await;
    send(&f.queue, "dep_1", "next").await;
    for attempt in 1..=MAX_RECEIVES {
        let batch = receive(&f.queue, 1).await;
        assert_eq!(dedup_ids(&batch), ["poison"]);
        assert_eq!(batch[0].receive_count, attempt);
        f.queue.fail(&receipts(&batch)).await.unwrap();
    }
    let batch = receive(&f.queue, 10).await;
    assert_eq!(dedup_ids(&batch), ["next"], "poison moved on this receive");
    ack_all(&f.queue, &batch).await;
    let dead = receive(&f.dead_letters, 10).await;
    assert_eq!(dedup_ids(&dead), ["poison"]);
    assert_eq!(dead[0].group_id, "dep_1");
    assert_eq!(dead[0].body, "body of poison");
}

/// What the Lambda event source mapping does with the consumer's answer, done by hand: the
/// messages reported in `batchItemFailures` come back, in their group's order; the rest are
/// deleted.
#[tokio::test]
async fn a_partial_batch_failure_returns_only_the_failed_and_the_rest_of_their_group() {
    let f = Fixture::new().await;
    for (group, dedup) in [
        ("dep_a", "a1"),
        ("dep_a", "a2"),
        ("dep_a", "a3"),
        ("dep_b", "b1"),
        ("dep_b", "b2"),
    ] {
        send(&f.queue, group, dedup).await;
    }
    let batch = receive(&f.queue, 10).await;
    assert_eq!(batch.len(), 5);
    let outcomes = handle_in_order(&batch, |m| {
        let fail = m.dedup_id == "a2";
        async move { if fail { Err("ledger busy") } else { Ok(()) } }
    })
    .await;
    let response = batch_response(&batch, &outcomes);
    let id_of = |dedup: &str| {
        batch
            .iter()
            .find(|m| m.dedup_id == dedup)
            .map(|m| m.message_id.clone())
            .unwrap()
    };
    assert_eq!(
        response,
        json!({ "batchItemFailures": [
            { "itemIdentifier": id_of("a2") },
            { "itemIdentifier": id_of("a3") },
        ]})
    );

    let (done, undone): (Vec<_>, Vec<_>) = batch
        .iter()
        .zip(&outcomes)
        .partition(|(_, outcome)| matches!(outcome, Outcome::Done));
    let receipts_of = |list: Vec<(&QueueMessage, &Outcome)>| -> Vec<String> {
        list.into_iter().map(|(m, _)| m.receipt.clone()).collect()
    };
    f.queue.ack(&receipts_of(done)).await.unwrap();
    f.queue.fail(&receipts_of(undone)).await.unwrap();
    let again = receive(&f.queue, 10).await;
    assert_eq!(dedup_ids(&again), ["a2", "a3"]);
    assert!(again.iter().all(|m| m.receive_count == 2));
}

#[tokio::test]
async fn invalid_sends_are_refused_before_reaching_sqs() {
    let f = Fixture::new().await;
    for (group, dedup, body) in [
        ("", "d", "b"),
        ("g", "", "b"),
        ("g h", "d", "b"),
        ("g", "d", ""),
    ] {
        assert!(matches!(
            f.queue.send(group, dedup, body).await,
            Err(QueueError::Invalid(_))
        ));
    }
    assert!(matches!(
        f.queue.receive(0).await,
        Err(QueueError::Invalid(_))
    ));
    assert!(receive(&f.queue, 10).await.is_empty());
    // A queue that does not exist is a configuration error, not a transient one.
    let sqs = moto::sqs_client().await;
    let missing = SqsEventQueue::new(
        sqs,
        format!("{}/{}/nope.fifo", moto::endpoint().await, moto::ACCOUNT),
    );
    let error = missing.send("g", "d", "b").await.unwrap_err();
    assert!(matches!(error, QueueError::Invalid(_)), "{error:?}");
}
