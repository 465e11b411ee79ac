//! What the contest scenarios share: contest documents with windows around now, tokens, clients
//! onboarded with a trading account, and the refusal that writes nothing.

use brokeros_http::client::Call;
use brokeros_kernel::principal::Role;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::harness::{App, token};
pub(crate) use brokeros_tests::people::{Identity, Person, admin, onboard, onboarded, registered};

pub(crate) fn marketing() -> String {
    token("mkt-1", Role::Marketing)
}

/// Now moved by `hours`, as a contest document writes times.
pub(crate) fn hours_from_now(hours: i64) -> String {
    text(OffsetDateTime::now_utc() + time::Duration::hours(hours))
}

pub(crate) fn text(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap()
}

/// Version 1 of contest `id`: live, in USD, registration open from an hour ago for two days,
/// running from tomorrow for nine days, scored by return, a pool of 1000.00 (half to the
/// winner, 100.00 to ranks 2 and 3); `change` edits it.
pub(crate) fn contest(id: &str, change: impl FnOnce(&mut Value)) -> Value {
    let mut document = json!({
        "id": id, "version": 1, "name": "Summer FX Cup", "mode": "live", "currency": "USD",
        "registration": { "from": hours_from_now(-1), "until": hours_from_now(48) },
        "period": { "from": hours_from_now(24), "until": hours_from_now(240) },
        "metric": { "kind": "return" },
        "rules": { "min_trades": 3, "min_hold_seconds": 60 },
        "prizes": { "pool": "1000.00", "payment": { "kind": "cash" },
                    "tiers": [ { "from_rank": 1, "to_rank": 1, "share": "0.5" },
                               { "from_rank": 2, "to_rank": 3, "amount": "100.00" } ] }
    });
    change(&mut document);
    document
}

/// Stores `document` and publishes it, as marketing: answers the published record.
pub(crate) async fn published(app: &App, document: &Value) -> Value {
    let (status, record) = app
        .send(Call::post("/contests", document).token(&marketing()))
        .await;
    assert_eq!(status, 201, "{record}");
    publish(app, document["id"].as_str().unwrap()).await
}

/// Publishes the stored contest `id`, as marketing: answers the published record.
pub(crate) async fn publish(app: &App, id: &str) -> Value {
    let (status, record) = app
        .send(Call::post(&format!("/contests/{id}/publish"), &json!({})).token(&marketing()))
        .await;
    assert_eq!(status, 200, "{record}");
    assert_eq!(record["status"], "published");
    record
}

/// Asserts `request` is refused with `status` and `code` (and `field`, when given) and writes
/// nothing; answers the refusal's body.
pub(crate) async fn refused(
    app: &App,
    request: Call<'_>,
    status: u16,
    code: &str,
    field: Option<&str>,
) -> Value {
    let before = app.counts().await;
    let (got, body) = app.send(request).await;
    assert_eq!((got, body["code"].as_str()), (status, Some(code)), "{body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    if let Some(field) = field {
        assert_eq!(body["field"], json!(field), "{body}");
    }
    assert_eq!(app.counts().await, before, "{code}: nothing written");
    body
}

/// `text` kept for the rest of the test: a [`Call`] borrows its path and token.
fn leaked(text: String) -> &'static str {
    Box::leak(text.into_boxed_str())
}

/// `person`'s registration of `body` (`login` or `open_contest_account`) for contest `id`.
pub(crate) fn entry(id: &str, person: &Person, body: Value) -> Call<'static> {
    Call::post(leaked(format!("/contests/{id}/entries")), &body).token(leaked(person.token()))
}

/// Marketing's enrolment of `body` (`client_id` and `login` or `open_contest_account`) in
/// contest `id`.
pub(crate) fn enrollment(id: &str, body: Value) -> Call<'static> {
    Call::post(leaked(format!("/contests/{id}/enrollments")), &body).token(leaked(marketing()))
}

/// Registers `body` for contest `id` as `person`: the status and the answer.
pub(crate) async fn enter(app: &App, id: &str, person: &Person, body: Value) -> (u16, Value) {
    app.send(entry(id, person, body)).await
}
