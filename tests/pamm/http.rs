//! PAMM over HTTP: roles enforced on every endpoint, an investor sees only their own holding
//! and requests, a manager their own offer's books; malformed bodies are refused with the
//! field and nothing written.

use brokeros_http::client::Call;
use brokeros_kernel::principal::Role;
use brokeros_tests::people::{Identity, admin, onboarded};
use serde_json::{Value, json};

use crate::cycle::{dec, num, plain_terms, roll_at};
use crate::harness::{App, token};

fn due_at(request: &Value) -> time::OffsetDateTime {
    time::OffsetDateTime::parse(
        request["due_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap()
}

pub async fn pamm_over_http_enforces_roles_and_shows_each_investor_their_own(app: App) {
    let offer = "kai-fx";
    let (kai, login) = onboarded(
        &app,
        &Identity::of("portal-kai", "Kai", "kai@example.com", "C01X00T64"),
    )
    .await;
    let (ann, _) = onboarded(
        &app,
        &Identity::of("portal-ann", "Ann", "ann@example.com", "C01X00T63"),
    )
    .await;
    let (bob, _) = onboarded(
        &app,
        &Identity::of("portal-bob", "Bob", "bob@example.com", "C01X00T65"),
    )
    .await;
    app.credit_wallet(&kai.client_id, "dep-kai-1", "3000.00")
        .await;
    app.credit_wallet(&ann.client_id, "dep-ann-1", "1000.00")
        .await;

    let proposal =
        json!({ "offer_id": offer, "name": "Kai's FX", "login": login, "terms": plain_terms() });
    let (status, body) = app
        .send(Call::post("/pamm/offers", &proposal).token(&kai.token()))
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["terms_in_force"]["version"], 1);
    // A client cannot approve; an unapproved offer is nobody's to invest in.
    let approve = format!("/pamm/offers/{offer}/approve");
    let (status, _) = app
        .send(Call::post(&approve, &json!(null)).token(&ann.token()))
        .await;
    assert_eq!(status, 403);
    let (status, _) = app
        .send(Call::get(&format!("/pamm/offers/{offer}")).token(&ann.token()))
        .await;
    assert_eq!(
        status, 404,
        "a pending offer is its manager's and admins' only"
    );
    let (status, body) = app
        .send(Call::post(&approve, &json!(null)).token(&admin()))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "active");

    // The manager's capital, then Ann's investment, each at a rollover.
    let requests = format!("/pamm/offers/{offer}/requests");
    let (status, capital) = app
        .send(
            Call::post(
                &requests,
                &json!({ "request_id": "kai-1", "kind": "invest", "amount": "3000.00" }),
            )
            .token(&kai.token()),
        )
        .await;
    assert_eq!(status, 202, "{capital}");
    roll_at(&app, offer, due_at(&capital)).await;

    // Malformed bodies: the field named, nothing written.
    let before = app.counts().await;
    for (body, field) in [
        (
            json!({ "request_id": "a-x", "kind": "invest", "amount": true }),
            "amount",
        ),
        (
            json!({ "request_id": "a-x", "kind": "deposit", "amount": "600.00" }),
            "kind",
        ),
        (
            json!({ "request_id": "a-x", "kind": "exit", "note": "hi" }),
            "note",
        ),
    ] {
        let (status, error) = app
            .send(Call::post(&requests, &body).token(&ann.token()))
            .await;
        assert_eq!(status, 400, "{body} → {error}");
        assert!(
            error["field"].as_str().unwrap_or_default().contains(field)
                || error["message"]
                    .as_str()
                    .unwrap_or_default()
                    .contains(field),
            "{body} → {error}"
        );
    }
    let (status, _) = app
        .send(
            Call::post(&requests, &json!({ "request_id": "a-x", "kind": "exit" })).token(&admin()),
        )
        .await;
    assert_eq!(status, 403, "admins do not invest");
    assert_eq!(app.counts().await, before, "nothing written");

    let (status, investment) = app
        .send(
            Call::post(
                &requests,
                &json!({ "request_id": "ann-1", "kind": "invest", "amount": "1000.00" }),
            )
            .token(&ann.token()),
        )
        .await;
    assert_eq!(status, 202, "{investment}");
    roll_at(&app, offer, due_at(&investment)).await;

    // Ann's statement is hers; Bob holds nothing and sees nothing of hers.
    let statement = format!("/pamm/offers/{offer}/statement");
    let (status, mine) = app.send(Call::get(&statement).token(&ann.token())).await;
    assert_eq!(status, 200, "{mine}");
    assert_eq!(mine["holding"]["client_id"], ann.client_id.as_str());
    assert_eq!(num(&mine["holding"]["units"]), dec("1000"));
    assert_eq!(mine["rollovers"]["items"].as_array().unwrap().len(), 1);
    let (status, bobs) = app.send(Call::get(&statement).token(&bob.token())).await;
    assert_eq!(status, 200, "{bobs}");
    assert_eq!(bobs["holding"], Value::Null);
    assert_eq!(bobs["rollovers"]["items"], json!([]));
    let (status, _) = app
        .send(Call::get("/pamm/requests/ann-1").token(&bob.token()))
        .await;
    assert_eq!(status, 404, "another's request is not found");
    let (status, own) = app
        .send(Call::get("/pamm/requests/ann-1").token(&ann.token()))
        .await;
    assert_eq!((status, own["status"].as_str()), (200, Some("executed")));

    // The manager's books are the manager's and admins'.
    for path in ["investors", "fees", "pending-requests"] {
        let path = format!("/pamm/offers/{offer}/{path}");
        let (status, _) = app.send(Call::get(&path).token(&ann.token())).await;
        assert_eq!(status, 404, "{path} for an investor");
        let (status, body) = app.send(Call::get(&path).token(&kai.token())).await;
        assert_eq!(status, 200, "{path}: {body}");
        let (status, _) = app.send(Call::get(&path).token(&admin())).await;
        assert_eq!(status, 200, "{path} for an admin");
        let (status, _) = app
            .send(Call::get(&path).token(&token("fin-1", Role::Finance)))
            .await;
        assert_eq!(status, 404, "{path} for finance: no offer of theirs");
    }
    let (_, investors) = app
        .send(Call::get(&format!("/pamm/offers/{offer}/investors")).token(&kai.token()))
        .await;
    assert_eq!(
        investors["items"].as_array().unwrap().len(),
        2,
        "{investors}"
    );
    // The NAV history of an approved offer is what investors choose by: any client reads it.
    let (status, history) = app
        .send(Call::get(&format!("/pamm/offers/{offer}/rollovers")).token(&bob.token()))
        .await;
    assert_eq!(status, 200, "{history}");
    assert_eq!(history["items"].as_array().unwrap().len(), 2);
    let (status, listed) = app
        .send(Call::get("/pamm/offers").token(&bob.token()))
        .await;
    assert_eq!(status, 200);
    assert_eq!(listed["items"][0]["id"], offer, "{listed}");
    let (status, _) = app
        .send(Call::get("/pamm/offers?status=pending_approval").token(&bob.token()))
        .await;
    assert_eq!(status, 403);
    let (status, holdings) = app
        .send(Call::get("/pamm/holdings").token(&ann.token()))
        .await;
    assert_eq!(status, 200);
    assert_eq!(holdings["items"][0]["offer_id"], offer, "{holdings}");
    let (status, _) = app.send(Call::get(&statement)).await;
    assert_eq!(status, 401, "no token");
}
