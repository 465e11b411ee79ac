//! Document numbers: masked in the stored client record and in its audit trail, kept apart in
//! full for the KYC provider alone. (Every scenario's audit events are also scanned for them
//! when it ends: `brokeros_tests::audit_scan`.)

use brokeros_kernel::keys::audit_stream;
use brokeros_kernel::principal::Role;
use brokeros_onboarding::keys;
use brokeros_store::{Query, Table};
use serde_json::Value;

use crate::harness::App;

/// A number the simulated provider sends to review by its suffix, which masking hides.
const NUMBER: &str = "K01X00T49-REVIEW";

pub async fn document_numbers_are_masked_in_the_client_record_and_its_audit_trail(app: App) {
    let client_id = app.register("Kraus", NUMBER).await;

    let stored = app
        .store
        .get(Table::Main, &keys::client(&client_id))
        .await
        .unwrap()
        .expect("the client is stored");
    assert!(!stored.data.contains("K01X00T49"), "{}", stored.data);
    assert!(stored.data.contains("*************IEW"), "{}", stored.data);

    let query = Query::new(Table::Audit, None, audit_stream("client", &client_id)).limit(100);
    let events = app.store.query(query).await.unwrap().items;
    let added: Vec<Value> = events
        .iter()
        .map(|i| serde_json::from_str::<Value>(&i.data).unwrap())
        .filter(|e| e["action"] == "client.document_added")
        .collect();
    assert_eq!(added.len(), 2);
    for event in &added {
        let text = event.to_string();
        assert!(!text.contains("K01X00T49"), "{text}");
        assert!(!text.contains("POA-2026-0001"), "{text}");
    }

    // The provider still gets the whole number: its `-REVIEW` suffix sends the check to a
    // compliance review.
    let (onboarding_id, arn) = app.start(&client_id).await;
    let review = app.pending_review(&onboarding_id, "compliance").await;
    let (status, _) = app
        .decide(
            review["id"].as_str().unwrap(),
            "compliance-1",
            Role::Compliance,
            serde_json::json!({ "decision": "approve" }),
        )
        .await;
    assert_eq!(status, 200);
    app.finished(&arn).await;
    let shown = app.client(&client_id).await;
    assert_eq!(shown["kyc_status"], "approved");
    assert_eq!(shown["documents"][0]["number"], "*************IEW");
}
