//! Every audit event a scenario wrote, checked against the rule of what audit events may hold
//! of a person's data (`brokeros_kernel::audit::personal_data`, the one statement of it):
//! document numbers only masked, payment destinations only masked, emails and phone numbers
//! only in the contact fields of the person's own record. The `scenarios!` macro (and the API
//! suite's) runs it when each scenario ends, on both engines, and fails the scenario on the
//! first event that breaks the rule.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use brokeros_kernel::audit::AuditEvent;
use brokeros_kernel::audit::personal_data::{is_masked_number, may_hold_contact};
use brokeros_kernel::audit_export::{Selection, collect};
use brokeros_store::testing::LaggingIndexes;
use brokeros_store::{Store, Table};
use serde_json::Value;

/// Document numbers the scenario sent (recorded as the harness sends them), upper case as
/// Broker OS stores them.
#[derive(Clone, Default)]
pub struct SentNumbers(Arc<Mutex<BTreeSet<String>>>);

impl SentNumbers {
    /// Records the number of a document a request adds (`POST …/documents`).
    pub fn record_request(&self, method: &str, path: &str, body: Option<&[u8]>) {
        if method != "POST" || !path.ends_with("/documents") {
            return;
        }
        let number = body
            .and_then(|b| serde_json::from_slice::<Value>(b).ok())
            .and_then(|v| v["number"].as_str().map(|n| n.trim().to_uppercase()));
        if let Some(number) = number {
            self.0.lock().expect("numbers lock").insert(number);
        }
    }

    fn all(&self) -> BTreeSet<String> {
        self.0.lock().expect("numbers lock").clone()
    }
}

/// What a scenario's scan needs once the scenario (and its `App`) is gone.
pub struct AuditScan {
    pub store: Arc<dyn Store>,
    pub numbers: SentNumbers,
    /// The store's lagging indexes, if the scenario ran over them: the scan finds events by
    /// their day index, so it lets the indexes catch up first.
    pub lagging: Option<Arc<LaggingIndexes<dyn Store>>>,
}

impl AuditScan {
    /// Fails (panics) with every event that breaks the rule.
    pub async fn assert_clean(&self) {
        if let Some(lagging) = &self.lagging {
            lagging.catch_up();
        }
        let found = violations(self.store.as_ref(), &self.numbers.all()).await;
        assert!(
            found.is_empty(),
            "audit events hold personal data they must not (brokeros_kernel::audit::personal_data):\n{}",
            found.join("\n")
        );
    }
}

/// Every break of the rule in the store's audit table, one line each.
pub async fn violations(store: &dyn Store, sent_numbers: &BTreeSet<String>) -> Vec<String> {
    let stored = store.count_items(Table::Audit).await.expect("count audit");
    let now = time::OffsetDateTime::now_utc();
    let selection = Selection::TimeRange {
        from: now - time::Duration::days(3),
        to: now + time::Duration::days(1),
    };
    let events = collect(store, &selection, |_| {})
        .await
        .expect("read audit");
    let mut found = Vec::new();
    if (events.len() as u64) < stored {
        found.push(format!(
            "only {} of {stored} audit events were found by time: the scan would miss some",
            events.len()
        ));
    }
    for event in &events {
        check_event(event, sent_numbers, &mut found);
    }
    found
}

/// The breaks of the rule in one event.
pub fn check_event(event: &AuditEvent, sent_numbers: &BTreeSet<String>, found: &mut Vec<String>) {
    let at = format!("{} {} #{}", event.action, event.stream(), event.seq);
    let text = serde_json::to_string(event)
        .expect("events serialize")
        .to_uppercase();
    for number in sent_numbers.iter().filter(|n| n.len() >= 5) {
        if text.contains(number.as_str()) {
            found.push(format!("{at}: document number {number} in clear"));
        }
    }
    // Every value of the event under the name it has: a change's values under its field.
    let mut named: Vec<(&str, bool, Value)> = vec![
        (
            "actor",
            false,
            serde_json::to_value(&event.actor).expect("actors serialize"),
        ),
        ("action", false, Value::String(event.action.clone())),
        ("entity_id", false, Value::String(event.entity_id.clone())),
        (
            "correlation_id",
            false,
            Value::String(event.correlation_id.clone()),
        ),
    ];
    for change in &event.changes {
        let contact = may_hold_contact(&event.entity_type, &change.field);
        named.push((&change.field, contact, change.before.clone()));
        named.push((&change.field, contact, change.after.clone()));
    }
    for (name, contact_allowed, value) in &named {
        walk(name, value, &mut |key, value| {
            if let Value::Object(map) = value
                && let Some(Value::String(number)) = map.get("number")
                && (map.contains_key("type") || map.contains_key("issuing_country"))
                && !is_masked_number(number)
            {
                found.push(format!(
                    "{at}: document number not masked under '{key}': {number}"
                ));
            }
            if key == "destination"
                && let Value::String(destination) = value
                && !is_masked_number(destination)
            {
                found.push(format!(
                    "{at}: payment destination not masked: {destination}"
                ));
            }
            // Emails and phone numbers: only in the contact fields of the person's own record.
            if !contact_allowed
                && let Value::String(s) = value
                && holds_contact(s)
            {
                found.push(format!("{at}: email or phone number under '{key}': {s}"));
            }
        });
    }
}

/// Whether `text` holds an email or a phone number: what the logs would mask
/// (`brokeros_http::logging::redact`, the one detector of both).
fn holds_contact(text: &str) -> bool {
    brokeros_http::logging::redact(text) != text
}

/// Calls `visit` with `value` under `key` and with every value inside it under the key it is
/// under (array items under their array's).
fn walk(key: &str, value: &Value, visit: &mut impl FnMut(&str, &Value)) {
    visit(key, value);
    match value {
        Value::Object(map) => map.iter().for_each(|(k, v)| walk(k, v, visit)),
        Value::Array(items) => items.iter().for_each(|v| walk(key, v, visit)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use brokeros_kernel::audit::{Actor, ChainHead, EventDraft, FieldChange};
    use serde_json::json;

    fn event(entity_type: &str, field: &str, after: Value) -> AuditEvent {
        AuditEvent::chained(
            EventDraft {
                at: time::OffsetDateTime::UNIX_EPOCH,
                actor: Actor::system("test"),
                action: "x.changed".into(),
                entity_type: entity_type.into(),
                entity_id: "x_1".into(),
                changes: vec![FieldChange {
                    field: field.into(),
                    before: Value::Null,
                    after,
                }],
                correlation_id: "0193c8e2-7d4a-7000-8123-456789012345".into(),
            },
            &ChainHead::genesis(),
            uuid::Uuid::now_v7(),
        )
    }

    fn breaks(e: &AuditEvent, numbers: &[&str]) -> Vec<String> {
        let numbers = numbers.iter().map(|n| n.to_string()).collect();
        let mut found = Vec::new();
        check_event(e, &numbers, &mut found);
        found
    }

    #[test]
    fn the_detector_finds_what_the_rule_forbids_and_nothing_else() {
        let doc = json!([{ "id": "doc_1", "type": "passport", "issuing_country": "DE", "number": "C01X00T47" }]);
        assert_eq!(breaks(&event("client", "documents", doc), &[]).len(), 1);
        let masked = json!([{ "id": "doc_1", "type": "passport", "issuing_country": "DE", "number": "******T47" }]);
        assert!(breaks(&event("client", "documents", masked), &["C01X00T47"]).is_empty());
        assert_eq!(
            breaks(
                &event("kyc_check", "note", json!("see c01x00t47")),
                &["C01X00T47"]
            )
            .len(),
            1
        );
        assert!(breaks(&event("client", "email", json!("ann@example.com")), &[]).is_empty());
        assert!(breaks(&event("lead", "phone", json!("+442079460958")), &[]).is_empty());
        assert_eq!(
            breaks(
                &event("notification", "data", json!({ "to": "ann@example.com" })),
                &[]
            )
            .len(),
            1
        );
        assert_eq!(
            breaks(&event("lead", "notes", json!("call +44 20 7946 0958")), &[]).len(),
            1
        );
        assert_eq!(
            breaks(
                &event("withdrawal", "destination", json!("4111111111111111")),
                &[]
            )
            .len(),
            1
        );
        let ordinary = json!({
            "at": "2026-11-24T09:31:23.123Z", "amount": "1000.00", "login": 10001,
            "correlation_id": "01a24d3c-1024-7442-9154-7327525588fa"
        });
        assert!(breaks(&event("deposit", "funding", ordinary), &[]).is_empty());
    }
}
