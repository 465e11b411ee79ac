//! DynamoDB requests per new lead, counted at the SDK by operation name: the lead, its audit
//! event, its dedupe keys, the assignment counter and the idempotency record must go in exactly
//! one write request.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use brokeros_http::client::Call;
use brokeros_store_dynamodb::{DynamoStore, TableNames, create_tables};

use crate::harness::{App, person, public_key};

#[derive(Debug, Clone, Default)]
struct OperationCounter(Arc<Mutex<BTreeMap<String, u64>>>);

impl Intercept for OperationCounter {
    fn name(&self) -> &'static str {
        "OperationCounter"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let target = context
            .request()
            .headers()
            .get("x-amz-target")
            .unwrap_or("unknown");
        let operation = target.rsplit('.').next().unwrap_or(target).to_string();
        *self.0.lock().unwrap().entry(operation).or_default() += 1;
        Ok(())
    }
}

impl OperationCounter {
    fn take(&self) -> BTreeMap<String, u64> {
        std::mem::take(&mut self.0.lock().unwrap())
    }
}

const WRITES: [&str; 5] = [
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "BatchWriteItem",
    "TransactWriteItems",
];

fn writes(ops: &BTreeMap<String, u64>) -> BTreeMap<String, u64> {
    ops.iter()
        .filter(|(k, _)| WRITES.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), *v))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_dynamodb_write_request_per_new_lead_and_per_merge() {
    let plain = brokeros_tests::dynamodb_local::client().await;
    let counter = OperationCounter::default();
    let config = plain
        .config()
        .to_builder()
        .interceptor(counter.clone())
        .build();
    let client = aws_sdk_dynamodb::Client::from_conf(config);
    let id = uuid::Uuid::new_v4().simple();
    let tables = TableNames {
        main: format!("w{id}-main"),
        audit: format!("w{id}-audit"),
    };
    create_tables(&client, &tables).await.unwrap();
    let app = App::new(Arc::new(DynamoStore::new(client, tables)));
    counter.take();

    let mut body = person("writes@example.com", "GB");
    body["phone"] = serde_json::json!("+44 20 7946 0958");
    let (status, _) = app
        .send(Call::post("/leads", &body).header("idempotency-key", public_key("w-1")))
        .await;
    assert_eq!(status, 202);
    let new_lead = counter.take();
    assert_eq!(
        writes(&new_lead),
        BTreeMap::from([("TransactWriteItems".to_string(), 1)]),
        "all requests: {new_lead:?}"
    );

    let (status, _) = app
        .send(Call::post("/leads", &body).header("idempotency-key", public_key("w-2")))
        .await;
    assert_eq!(status, 202);
    let merge = counter.take();
    assert_eq!(
        writes(&merge),
        BTreeMap::from([("TransactWriteItems".to_string(), 1)]),
        "all requests: {merge:?}"
    );

    let (status, _) = app
        .send(Call::post("/leads", &body).header("idempotency-key", public_key("w-2")))
        .await;
    assert_eq!(status, 202);
    let replay = counter.take();
    assert!(
        writes(&replay).is_empty(),
        "a replay writes nothing: {replay:?}"
    );
    println!("DynamoDB requests — new lead: {new_lead:?}; merge: {merge:?}; replay: {replay:?}");
}
