//! The contest routes through the router: the status of each answer and the error bodies of
//! the refusals the framework and the handlers make, every refusal writing nothing.

use brokeros_http::client::Call;
use brokeros_kernel::principal::Role;
use serde_json::{Value, json};

use crate::common::*;
use crate::harness::{App, token};

pub async fn the_contest_routes_answer_with_their_status_and_error_bodies(app: App) {
    let (ann, login) = onboarded(
        &app,
        &Identity::of("u-ann", "Lee", "ann@example.com", "C01X00T47"),
    )
    .await;
    let document = contest("summer-cup", |_| {});
    let (status, _) = app
        .send(Call::post("/contests", &document).token(&marketing()))
        .await;
    assert_eq!(status, 201);

    // Anyone reads the published contests, without a token; the rest asks for one.
    let (status, listed) = app.send(Call::get("/contests?limit=10")).await;
    assert_eq!((status, &listed["items"]), (200, &json!([])), "{listed}");
    let (client, finance) = (ann.token(), token("fin-1", Role::Finance));
    let marketer = marketing();
    let reads = [
        ("/contests/summer-cup", None, 404, "not_found", None),
        (
            "/contests?limit=0",
            None,
            400,
            "invalid_limit",
            Some("limit"),
        ),
        ("/contests?colour=red", None, 400, "invalid_query", None),
        ("/marketing/contests", None, 401, "unauthenticated", None),
        ("/contests/mine", None, 401, "unauthenticated", None),
        ("/contests/mine", Some(&marketer), 403, "forbidden", None),
        ("/marketing/contests", Some(&client), 403, "forbidden", None),
        (
            "/marketing/contests?status=open",
            Some(&marketer),
            400,
            "invalid_status",
            Some("status"),
        ),
        (
            "/contests/summer-cup/versions/one",
            Some(&marketer),
            400,
            "bad_request",
            None,
        ),
        (
            "/contests/summer-cup/versions/1",
            Some(&finance),
            403,
            "forbidden",
            None,
        ),
    ];
    for (path, token, status, code, field) in reads {
        let request = match token {
            Some(token) => Call::get(path).token(token),
            None => Call::get(path),
        };
        refused(&app, request, status, code, field).await;
    }

    // Bodies: not JSON, not an object, a key twice, unknown fields, both kinds of account.
    let text = Call {
        headers: vec![("content-type", "text/plain".to_string())],
        ..Call::post("/contests", &document).token(&marketer)
    };
    refused(&app, text, 400, "unsupported_media_type", None).await;
    refused(
        &app,
        Call::post("/contests", &Value::Null)
            .raw_body(br#"{"id": "a", "id": "b"}"#.to_vec())
            .token(&marketing()),
        400,
        "duplicate_key",
        None,
    )
    .await;
    refused(
        &app,
        Call::post("/contests", &json!([1, 2])).token(&marketing()),
        400,
        "invalid_body",
        None,
    )
    .await;
    let record = publish(&app, "summer-cup").await;
    assert_eq!(record["version"], 1);
    let entries = "/contests/summer-cup/entries";
    for (body, code, field) in [
        (
            json!({ "login": login, "open_contest_account": true }),
            "invalid_entry",
            Some("open_contest_account"),
        ),
        (json!({}), "invalid_entry", Some("login")),
        (json!({ "login": "12" }), "invalid_body", Some("login")),
        (json!({ "login": login, "team": "a" }), "invalid_body", None),
    ] {
        refused(
            &app,
            Call::post(entries, &body).token(&ann.token()),
            400,
            code,
            field,
        )
        .await;
    }
    // A client may not enrol others; marketing must name a client.
    refused(
        &app,
        enrollment(
            "summer-cup",
            json!({ "client_id": ann.client_id, "login": login }),
        )
        .token(&ann.token()),
        403,
        "forbidden",
        None,
    )
    .await;
    refused(
        &app,
        enrollment("summer-cup", json!({ "login": login })),
        400,
        "invalid_body",
        None,
    )
    .await;
    refused(
        &app,
        enrollment(
            "summer-cup",
            json!({ "client_id": "client_nobody", "login": login }),
        ),
        404,
        "not_found",
        None,
    )
    .await;
    // Marketing does not enter contests itself; a method a route lacks.
    refused(
        &app,
        Call::post(entries, &json!({ "login": login })).token(&marketing()),
        403,
        "forbidden",
        None,
    )
    .await;
    refused(
        &app,
        Call::put("/contests/summer-cup", &json!({})).token(&marketing()),
        405,
        "method_not_allowed",
        None,
    )
    .await;

    // The successes, each with its status; a key reused with another body.
    let (status, entrant) = app
        .post_keyed(entries, &json!({ "login": login }), &ann.token(), "enter-1")
        .await;
    assert_eq!(status, 201, "{entrant}");
    refused(
        &app,
        Call::post(entries, &json!({ "open_contest_account": true }))
            .token(&ann.token())
            .header("idempotency-key", "enter-1"),
        422,
        "idempotency_key_reused",
        None,
    )
    .await;
    let (status, listed) = app.send(Call::get("/contests")).await;
    assert_eq!(status, 200);
    assert_eq!(listed["items"][0]["id"], "summer-cup");
    assert_eq!(listed["items"][0]["status"], "published");
    let (status, mine) = app
        .send(Call::get("/contests/mine").token(&ann.token()))
        .await;
    assert_eq!((status, &mine["items"][0]["id"]), (200, &entrant["id"]));
    let (status, record) = app
        .send(Call::get("/marketing/contests/summer-cup").token(&marketing()))
        .await;
    assert_eq!((status, &record["status"]), (200, &json!("published")));
    let entrant_path = format!(
        "/contests/summer-cup/entries/{}",
        entrant["id"].as_str().unwrap()
    );
    let (status, _) = app
        .send(Call::delete(&entrant_path).token(&ann.token()))
        .await;
    assert_eq!(status, 200);
}
