//! The payment-provider event path below the deposit workflow: the event queue port's two
//! adapters and the webhook intake in front of them.
//!
//! - `sqlite::…` / `dynamodb::…`: the local durable queue (`brokeros_local::LocalEventQueue`)
//!   on each storage engine — each scenario of [`local`] once per engine, on a fresh store —
//!   and the webhook intake (`brokeros_payments::psp::ingest`) in front of it;
//! - `sqs::…`: the SQS FIFO adapter (`brokeros_aws::queue::SqsEventQueue`) against moto, on a
//!   FIFO queue with a redrive policy to a FIFO dead-letter queue made per test.

mod ingest;
mod local;
mod sqs;

use std::sync::{Arc, Mutex};

use brokeros_kernel::Clock;
use time::OffsetDateTime;

/// A clock the test moves by hand (visibility timeouts, the deduplication window). Starts at
/// the real time, so the stores' own expiry (real time) agrees with it until it is moved.
pub struct ManualClock(Mutex<OffsetDateTime>);

impl ManualClock {
    pub fn new() -> Arc<ManualClock> {
        Arc::new(ManualClock(Mutex::new(OffsetDateTime::now_utc())))
    }

    pub fn advance(&self, by: time::Duration) {
        *self.0.lock().unwrap() += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        *self.0.lock().unwrap()
    }
}

/// Makes `sqlite::<scenario>` and `dynamodb::<scenario>` tests of each `local::scenario`.
macro_rules! on_both_engines {
    ($($scenario:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $scenario() {
                    crate::local::$scenario(brokeros_tests::fresh_sqlite_store()).await;
                }
            )*
        }

        mod dynamodb {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $scenario() {
                    crate::local::$scenario(brokeros_tests::fresh_dynamo_store().await).await;
                }
            )*
        }
    };
}

on_both_engines! {
    duplicates_within_the_window_are_dropped,
    the_deduplication_window_ends_after_five_minutes,
    a_group_is_delivered_in_order_one_batch_at_a_time,
    a_failed_message_comes_back_first_with_a_new_receipt,
    an_unsettled_message_comes_back_after_the_visibility_timeout,
    a_message_received_max_times_goes_to_the_dead_letter_queue,
    messages_and_locks_live_in_the_store,
    concurrent_sends_of_one_event_make_one_message,
    concurrent_sends_to_one_group_lose_nothing,
    concurrent_receivers_never_share_a_group_or_a_message,
    consume_once_keeps_the_group_order_across_failures,
    invalid_requests_are_refused_and_write_nothing,
    concurrent_webhook_deliveries_queue_one_event,
    refused_webhooks_write_nothing,
}
