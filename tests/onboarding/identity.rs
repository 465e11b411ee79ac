//! One portal identity, one client: whatever path creates the client (self-registration, staff
//! registration, lead conversion) and however many requests race, the store refuses a second
//! client for one user (`409 already_registered`, nothing written), and `/me` finds the client
//! at once.

use std::sync::Arc;

use brokeros_http::client::Call;
use brokeros_kernel::principal::Role;
use serde_json::{Value, json};

use crate::harness::{App, token};

fn registration() -> Value {
    json!({ "first_name": "Ann", "last_name": "Lee", "country": "DE" })
}

async fn self_register(app: &App, user: &str) -> (u16, Value) {
    let client = token(user, Role::Client);
    app.send(Call::post("/clients", &registration()).token(&client))
        .await
}

async fn staff_register(app: &App, user: &str) -> (u16, Value) {
    let mut body = registration();
    body["user_id"] = json!(user);
    let admin = token("admin-1", Role::Admin);
    app.send(Call::post("/clients", &body).token(&admin)).await
}

async fn convert(app: &App, lead: &str, user: &str) -> (u16, Value) {
    let admin = token("admin-1", Role::Admin);
    let path = format!("/leads/{lead}/convert");
    app.send(Call::post(&path, &json!({ "user_id": user })).token(&admin))
        .await
}

async fn me(app: &App, user: &str) -> (u16, Value) {
    app.send(Call::get("/me").token(&token(user, Role::Client)))
        .await
}

async fn lead_status(app: &App, lead: &str) -> Value {
    let admin = token("admin-1", Role::Admin);
    let (status, lead) = app
        .send(Call::get(&format!("/leads/{lead}")).token(&admin))
        .await;
    assert_eq!(status, 200, "{lead}");
    lead["status"].clone()
}

/// A captured lead, contacted and qualified by an admin.
async fn qualified_lead(app: &App, email: &str) -> String {
    let body =
        json!({ "first_name": "Ann", "email": email, "country": "GB", "marketing_consent": false });
    let (status, reply) = app.send(Call::post("/leads", &body)).await;
    assert_eq!(status, 202, "{reply}");
    let id = reply["lead_id"].as_str().unwrap().to_string();
    let admin = token("admin-1", Role::Admin);
    for status in ["contacted", "qualified"] {
        let path = format!("/leads/{id}/status");
        let (s, reply) = app
            .send(Call::post(&path, &json!({ "status": status })).token(&admin))
            .await;
        assert_eq!(s, 200, "{reply}");
    }
    id
}

fn already_registered((status, reply): (u16, Value)) -> String {
    assert_eq!(
        (status, reply["code"].as_str()),
        (409, Some("already_registered")),
        "{reply}"
    );
    reply["message"].as_str().unwrap().to_string()
}

/// The transactions the app's store was sent so far, when it records them.
fn attempted(app: &App) -> Option<u64> {
    app.recording.as_ref().map(|r| r.attempted())
}

pub async fn one_portal_identity_has_one_client_whatever_the_path(app: App) {
    // Self-registration first.
    let lead = qualified_lead(&app, "ann@example.com").await;
    let (status, ann) = self_register(&app, "portal-ann").await;
    assert_eq!(status, 201, "{ann}");
    let ann_id = ann["id"].as_str().unwrap().to_string();
    let (status, mine) = me(&app, "portal-ann").await;
    assert_eq!(
        (status, mine["id"].as_str()),
        (200, Some(ann_id.as_str())),
        "{mine}"
    );

    let before = (app.counts().await, attempted(&app));
    let to_staff = already_registered(convert(&app, &lead, "portal-ann").await);
    assert!(
        !to_staff.contains(&ann_id),
        "staff are not told another user's client: {to_staff}"
    );
    let to_staff = already_registered(staff_register(&app, "portal-ann").await);
    assert!(!to_staff.contains(&ann_id), "{to_staff}");
    let to_user = already_registered(self_register(&app, "portal-ann").await);
    assert!(
        to_user.contains(&ann_id),
        "the user is told their client: {to_user}"
    );
    assert_eq!(
        (app.counts().await, attempted(&app)),
        before,
        "a known identity is refused on a consistent read: nothing written, no write attempted"
    );
    assert_eq!(lead_status(&app, &lead).await, "qualified");

    // Conversion first: the converted client's user is registered.
    let bob_lead = qualified_lead(&app, "bob@example.com").await;
    let other_lead = qualified_lead(&app, "bob.again@example.com").await;
    let (status, bob) = convert(&app, &bob_lead, "portal-bob").await;
    assert_eq!(status, 201, "{bob}");
    let bob_id = bob["id"].as_str().unwrap().to_string();
    let before = (app.counts().await, attempted(&app));
    let to_user = already_registered(self_register(&app, "portal-bob").await);
    assert!(to_user.contains(&bob_id), "{to_user}");
    already_registered(convert(&app, &other_lead, "portal-bob").await);
    already_registered(staff_register(&app, "portal-bob").await);
    assert_eq!((app.counts().await, attempted(&app)), before);
    assert_eq!(lead_status(&app, &other_lead).await, "qualified");
    let (status, mine) = me(&app, "portal-bob").await;
    assert_eq!(
        (status, mine["id"].as_str()),
        (200, Some(bob_id.as_str())),
        "{mine}"
    );

    // Staff registration first.
    let (status, cat) = staff_register(&app, "portal-cat").await;
    assert_eq!(status, 201, "{cat}");
    let before = app.counts().await;
    already_registered(self_register(&app, "portal-cat").await);
    assert_eq!(app.counts().await, before);
    let (status, mine) = me(&app, "portal-cat").await;
    assert_eq!((status, &mine["id"]), (200, &cat["id"]), "{mine}");

    // Staff may register clients without a portal user, as many as there are.
    let admin = token("admin-1", Role::Admin);
    for _ in 0..2 {
        let (status, reply) = app
            .send(Call::post("/clients", &registration()).token(&admin))
            .await;
        assert_eq!(status, 201, "{reply}");
    }
    let (status, reply) = me(&app, "portal-nobody").await;
    assert_eq!((status, reply["code"].as_str()), (404, Some("not_found")));
}

pub async fn concurrent_registrations_and_conversions_of_one_user_make_one_client(app: App) {
    let mut leads = Vec::new();
    for n in 0..3 {
        leads.push(qualified_lead(&app, &format!("dana{n}@example.com")).await);
    }
    let before = app.counts().await;
    let attempts_before = attempted(&app);
    let app = Arc::new(app);
    let mut tasks = Vec::new();
    // Requests 0–2 convert a lead each, 3–5 are the user registering, 6–7 staff registering.
    for n in 0..8 {
        let app = app.clone();
        let lead = leads.get(n).cloned();
        tasks.push(tokio::spawn(async move {
            let (status, reply) = match (n, lead) {
                (_, Some(lead)) => convert(&app, &lead, "portal-dana").await,
                (3..=5, None) => self_register(&app, "portal-dana").await,
                _ => staff_register(&app, "portal-dana").await,
            };
            (n, status, reply)
        }));
    }
    let mut created = Vec::new();
    for task in tasks {
        let (n, status, reply) = task.await.unwrap();
        if status == 201 {
            created.push((n, reply));
        } else {
            already_registered((status, reply));
        }
    }
    assert_eq!(created.len(), 1, "one client for one user: {created:?}");
    let (winner, client) = &created[0];
    let converted = *winner < 3;
    // The client, the identity marker and its IB attribution (brokeros-ib, after the client
    // committed); their audit events, and the lead's when it was converted. Nothing else.
    let (main, audit) = app.counts().await;
    let events = if converted { 3 } else { 2 };
    assert_eq!(
        (main, audit),
        (before.0 + 3, before.1 + events),
        "winner {winner}"
    );
    let (status, mine) = me(&app, "portal-dana").await;
    assert_eq!((status, &mine["id"]), (200, &client["id"]), "{mine}");
    for (n, lead) in leads.iter().enumerate() {
        let expected = if converted && n == *winner {
            "converted"
        } else {
            "qualified"
        };
        assert_eq!(lead_status(&app, lead).await, expected, "lead {n}");
    }
    // A loser is told at its next read, not after a loop of retries: at most one refused
    // attempt each (a transaction conflict on DynamoDB may cost one more).
    if let (Some(before), Some(after)) = (attempts_before, attempted(&app)) {
        assert!(
            after - before <= 16,
            "{} transactions for 8 requests",
            after - before
        );
    }
}
