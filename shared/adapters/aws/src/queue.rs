//! The event queue port on SQS FIFO (`aws-sdk-sqs`), and the Lambda side of an SQS event source:
//! reading the event's records as [`QueueMessage`]s and answering with a partial batch response
//! (`batchItemFailures`), so only the failed messages come back.
//!
//! The queue is a FIFO queue (`….fifo`) with a redrive policy to a FIFO dead-letter queue; the
//! message group is the deposit id and the deduplication id the provider's event id, so SQS
//! itself drops redeliveries within its 5-minute window and keeps each deposit's events in
//! order. The event source mapping needs `FunctionResponseTypes: [ReportBatchItemFailures]`.

use std::collections::HashMap;
use std::future::Future;

use async_trait::async_trait;
use aws_sdk_sqs::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_sqs::types::{
    ChangeMessageVisibilityBatchRequestEntry, DeleteMessageBatchRequestEntry,
    MessageSystemAttributeName,
};
use brokeros_payments::psp::queue::{
    EventQueue, MAX_RECEIVE_BATCH, Outcome, QueueError, QueueMessage, Settled, handle_in_order,
    validate_batch, validate_send,
};
use serde_json::{Value, json};

/// The environment variable naming the PSP event queue's URL.
pub const QUEUE_URL_ENV: &str = "BROKEROS_PSP_EVENTS_QUEUE_URL";
/// The copy trading queue's URL (SQS FIFO, message group per follower), given to the functions
/// that fan provider deals out or copy them.
pub const COPY_QUEUE_URL_ENV: &str = "BROKEROS_COPY_QUEUE_URL";

/// The SQS adapter of [`EventQueue`].
pub struct SqsEventQueue {
    client: aws_sdk_sqs::Client,
    queue_url: String,
    wait_time_seconds: i32,
    visibility_timeout_seconds: Option<i32>,
}

impl SqsEventQueue {
    /// Receives without long polling and with the queue's own visibility timeout.
    pub fn new(client: aws_sdk_sqs::Client, queue_url: impl Into<String>) -> SqsEventQueue {
        SqsEventQueue {
            client,
            queue_url: queue_url.into(),
            wait_time_seconds: 0,
            visibility_timeout_seconds: None,
        }
    }

    /// The queue named by [`QUEUE_URL_ENV`].
    pub fn from_env(client: aws_sdk_sqs::Client) -> Result<SqsEventQueue, crate::Error> {
        let url = std::env::var(QUEUE_URL_ENV)
            .map_err(|_| format!("environment variable {QUEUE_URL_ENV} is not set"))?;
        Ok(SqsEventQueue::new(client, url))
    }

    /// Long polling: a receive waits up to `seconds` (0 to 20) for a message.
    pub fn wait_time(mut self, seconds: i32) -> SqsEventQueue {
        self.wait_time_seconds = seconds.clamp(0, 20);
        self
    }

    /// The visibility timeout of this adapter's receives, instead of the queue's.
    pub fn visibility_timeout(mut self, seconds: i32) -> SqsEventQueue {
        self.visibility_timeout_seconds = Some(seconds.clamp(0, 43_200));
        self
    }

    pub fn queue_url(&self) -> &str {
        &self.queue_url
    }
}

/// SQS refusing the request itself is [`QueueError::Invalid`]; anything else may pass.
fn sqs_error<E>(e: aws_sdk_sqs::error::SdkError<E>) -> QueueError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let message = format!("sqs: {}", DisplayErrorContext(&e));
    match e.code() {
        Some(
            "InvalidParameterValue"
            | "MissingParameter"
            | "InvalidMessageContents"
            | "InvalidBatchEntryId"
            | "TooManyEntriesInBatchRequest"
            | "BatchEntryIdsNotDistinct"
            | "AWS.SimpleQueueService.NonExistentQueue"
            | "QueueDoesNotExist",
        ) => QueueError::Invalid(message),
        _ => QueueError::Unavailable(message),
    }
}

fn attribute(
    attributes: Option<&HashMap<MessageSystemAttributeName, String>>,
    name: MessageSystemAttributeName,
) -> Option<&str> {
    attributes?.get(&name).map(String::as_str)
}

#[async_trait]
impl EventQueue for SqsEventQueue {
    async fn send(&self, group_id: &str, dedup_id: &str, body: &str) -> Result<String, QueueError> {
        validate_send(group_id, dedup_id, body)?;
        let sent = self
            .client
            .send_message()
            .queue_url(&self.queue_url)
            .message_group_id(group_id)
            .message_deduplication_id(dedup_id)
            .message_body(body)
            .send()
            .await
            .map_err(sqs_error)?;
        Ok(sent.message_id().unwrap_or_default().to_string())
    }

    async fn receive(&self, max: u32) -> Result<Vec<QueueMessage>, QueueError> {
        validate_batch(max)?;
        let mut request = self
            .client
            .receive_message()
            .queue_url(&self.queue_url)
            .max_number_of_messages(max.min(MAX_RECEIVE_BATCH) as i32)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .wait_time_seconds(self.wait_time_seconds);
        if let Some(seconds) = self.visibility_timeout_seconds {
            request = request.visibility_timeout(seconds);
        }
        let received = request.send().await.map_err(sqs_error)?;
        received
            .messages()
            .iter()
            .map(|m| {
                let attributes = m.attributes();
                let missing =
                    |what: &str| QueueError::Unavailable(format!("sqs: a message without {what}"));
                Ok(QueueMessage {
                    message_id: m
                        .message_id()
                        .ok_or_else(|| missing("MessageId"))?
                        .to_string(),
                    group_id: attribute(attributes, MessageSystemAttributeName::MessageGroupId)
                        .ok_or_else(|| missing("MessageGroupId (not a FIFO queue?)"))?
                        .to_string(),
                    dedup_id: attribute(
                        attributes,
                        MessageSystemAttributeName::MessageDeduplicationId,
                    )
                    .unwrap_or_default()
                    .to_string(),
                    body: m.body().unwrap_or_default().to_string(),
                    receipt: m
                        .receipt_handle()
                        .ok_or_else(|| missing("ReceiptHandle"))?
                        .to_string(),
                    receive_count: attribute(
                        attributes,
                        MessageSystemAttributeName::ApproximateReceiveCount,
                    )
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(1),
                })
            })
            .collect()
    }

    async fn ack(&self, receipts: &[String]) -> Result<Settled, QueueError> {
        let mut settled = Settled::default();
        for chunk in receipts.chunks(MAX_RECEIVE_BATCH as usize) {
            let entries = chunk
                .iter()
                .enumerate()
                .map(|(i, receipt)| {
                    DeleteMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .receipt_handle(receipt)
                        .build()
                        .expect("id and receipt handle are set")
                })
                .collect();
            let answer = self
                .client
                .delete_message_batch()
                .queue_url(&self.queue_url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(sqs_error)?;
            note_stale(&mut settled, chunk, answer.failed().iter().map(|f| f.id()));
        }
        Ok(settled)
    }

    async fn fail(&self, receipts: &[String]) -> Result<Settled, QueueError> {
        let mut settled = Settled::default();
        for chunk in receipts.chunks(MAX_RECEIVE_BATCH as usize) {
            let entries = chunk
                .iter()
                .enumerate()
                .map(|(i, receipt)| {
                    ChangeMessageVisibilityBatchRequestEntry::builder()
                        .id(i.to_string())
                        .receipt_handle(receipt)
                        .visibility_timeout(0)
                        .build()
                        .expect("id and receipt handle are set")
                })
                .collect();
            let answer = self
                .client
                .change_message_visibility_batch()
                .queue_url(&self.queue_url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(sqs_error)?;
            note_stale(&mut settled, chunk, answer.failed().iter().map(|f| f.id()));
        }
        Ok(settled)
    }
}

/// Records as stale the receipts of a batch whose entries (ids = positions in `chunk`) SQS
/// reported failed.
fn note_stale<'a>(
    settled: &mut Settled,
    chunk: &[String],
    failed_ids: impl Iterator<Item = &'a str>,
) {
    for id in failed_ids {
        if let Some(receipt) = id.parse::<usize>().ok().and_then(|i| chunk.get(i)) {
            settled.stale.push(receipt.clone());
        }
    }
}

/// The records of a Lambda SQS event as queue messages (the receipt is the record's
/// `receiptHandle`; the Lambda service settles them from the function's answer). An event that
/// is not an SQS event is refused as a whole, so the batch comes back.
pub fn messages_from_event(event: &Value) -> Result<Vec<QueueMessage>, QueueError> {
    let records = event
        .get("Records")
        .and_then(Value::as_array)
        .ok_or_else(|| QueueError::Invalid("not an SQS event: no Records".into()))?;
    records
        .iter()
        .map(|record| {
            let text = |value: Option<&Value>, what: &str| {
                value
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .ok_or_else(|| QueueError::Invalid(format!("an SQS record without {what}")))
            };
            let attributes = record.get("attributes");
            let attribute = |name: &str| attributes.and_then(|a| a.get(name));
            Ok(QueueMessage {
                message_id: text(record.get("messageId"), "messageId")?,
                group_id: text(attribute("MessageGroupId"), "attributes.MessageGroupId")?,
                dedup_id: attribute("MessageDeduplicationId")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                body: text(record.get("body"), "body")?,
                receipt: text(record.get("receiptHandle"), "receiptHandle")?,
                receive_count: attribute("ApproximateReceiveCount")
                    .and_then(Value::as_str)
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(1),
            })
        })
        .collect()
}

/// The partial batch response: every message not [`Outcome::Done`] — failed, or skipped after
/// a failure earlier in its group — is reported by message id, so Lambda deletes only the done
/// ones and the rest come back in their group's order. `outcomes` pairs with `messages`.
pub fn batch_response(messages: &[QueueMessage], outcomes: &[Outcome]) -> Value {
    assert_eq!(
        messages.len(),
        outcomes.len(),
        "one outcome per message of the batch"
    );
    let failures: Vec<Value> = messages
        .iter()
        .zip(outcomes)
        .filter(|(_, outcome)| !outcome.is_done())
        .map(|(message, _)| json!({ "itemIdentifier": message.message_id }))
        .collect();
    json!({ "batchItemFailures": failures })
}

/// A Lambda SQS handler's body: reads the event, runs `handler` in order (each group stopping
/// at its first failure), answers the partial batch response.
pub async fn handle_sqs_event<F, Fut, E>(event: &Value, handler: F) -> Result<Value, QueueError>
where
    F: FnMut(&QueueMessage) -> Fut,
    Fut: Future<Output = Result<(), E>>,
    E: std::fmt::Display,
{
    let messages = messages_from_event(event)?;
    let outcomes = handle_in_order(&messages, handler).await;
    Ok(batch_response(&messages, &outcomes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str, group: &str, body: &str) -> Value {
        json!({
            "messageId": id,
            "receiptHandle": format!("rh-{id}"),
            "body": body,
            "attributes": {
                "ApproximateReceiveCount": "2",
                "SentTimestamp": "1795514400000",
                "SequenceNumber": "18849496460467696128",
                "MessageGroupId": group,
                "SenderId": "AIDAIENQZJOLO23YVJ4VO",
                "MessageDeduplicationId": format!("simcard:{id}"),
                "ApproximateFirstReceiveTimestamp": "1795514400001"
            },
            "messageAttributes": {},
            "md5OfBody": "",
            "eventSource": "aws:sqs",
            "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:psp-events.fifo",
            "awsRegion": "us-east-1"
        })
    }

    #[test]
    fn records_become_queue_messages() {
        let event = json!({ "Records": [record("m1", "dep_1", "{\"a\":1}")] });
        let messages = messages_from_event(&event).unwrap();
        assert_eq!(
            messages,
            vec![QueueMessage {
                message_id: "m1".into(),
                group_id: "dep_1".into(),
                dedup_id: "simcard:m1".into(),
                body: "{\"a\":1}".into(),
                receipt: "rh-m1".into(),
                receive_count: 2,
            }]
        );
        assert!(messages_from_event(&json!({})).is_err());
        let mut standard = record("m2", "g", "b");
        standard["attributes"]
            .as_object_mut()
            .unwrap()
            .remove("MessageGroupId");
        assert!(messages_from_event(&json!({ "Records": [standard] })).is_err());
    }

    #[tokio::test]
    async fn failures_and_the_rest_of_their_group_are_reported() {
        let event = json!({ "Records": [
            record("a1", "dep_a", "ok"),
            record("b1", "dep_b", "fail"),
            record("a2", "dep_a", "ok"),
            record("b2", "dep_b", "ok"),
            record("c1", "dep_c", "ok"),
        ]});
        let mut handled = Vec::new();
        let response = handle_sqs_event(&event, |m| {
            handled.push(m.message_id.clone());
            let result = if m.body == "fail" {
                Err("provider event rejected")
            } else {
                Ok(())
            };
            async move { result }
        })
        .await
        .unwrap();
        assert_eq!(
            response,
            json!({ "batchItemFailures": [
                { "itemIdentifier": "b1" },
                { "itemIdentifier": "b2" },
            ]})
        );
        assert_eq!(handled, ["a1", "b1", "a2", "c1"], "b2 waits for b1");

        let all_done = handle_sqs_event(&event, |_| async { Ok::<(), String>(()) })
            .await
            .unwrap();
        assert_eq!(all_done, json!({ "batchItemFailures": [] }));
    }
}
