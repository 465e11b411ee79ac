use brokeros_http::auth::{
    LOCAL_AUDIENCE, LOCAL_ISSUER, MAX_LOCAL_TOKEN_LIFETIME_SECONDS, mint_token, sign_claims,
};
use brokeros_http::client::Call;
use brokeros_kernel::principal::Role;
use serde_json::{Value, json};

use crate::harness::{App, SECRET, now, person, public_key, token};

/// Sends `request`, expects `status` and the error `code` (and `field` when given), and checks
/// that neither the main table nor the audit table changed.
async fn refused(app: &App, request: Call<'_>, status: u16, code: &str, field: Option<&str>) {
    let before = app.counts().await;
    let (got, body) = app.send(request).await;
    assert_eq!(got, status, "{body}");
    assert_eq!(body["code"], json!(code), "{body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    if let Some(field) = field {
        assert_eq!(body["field"], json!(field), "{body}");
    }
    assert_eq!(
        app.counts().await,
        before,
        "a refused request wrote something: {body}"
    );
}

fn raw(path: &str, body: &[u8]) -> Call<'static> {
    let path: &'static str = Box::leak(path.to_string().into_boxed_str());
    Call::post(path, &Value::Null).raw_body(body.to_vec())
}

pub async fn malformed_bodies_change_nothing(app: App) {
    app.capture(person("seed@example.com", "GB")).await;
    refused(
        &app,
        raw("/leads", b"{\"first_name\": \"A\","),
        400,
        "invalid_body",
        None,
    )
    .await;
    refused(&app, raw("/leads", b"[1,2,3]"), 400, "invalid_body", None).await;
    refused(
        &app,
        raw("/leads", br#"{"first_name": 42, "email": "a@b.co", "country": "GB", "marketing_consent": false}"#),
        400,
        "invalid_body",
        Some("first_name"),
    )
    .await;
    refused(
        &app,
        raw("/leads", br#"{"first_name": "A", "email": "a@b.co", "country": "GB", "marketing_consent": "yes"}"#),
        400,
        "invalid_body",
        Some("marketing_consent"),
    )
    .await;
    refused(
        &app,
        raw("/leads", br#"{"first_name": "A", "email": "a@b.co", "country": "GB", "marketing_consent": false, "is_admin": true}"#),
        400,
        "invalid_body",
        None,
    )
    .await;
    let mut huge = person("big@example.com", "GB");
    huge["utm_content"] = json!("x".repeat(300 * 1024));
    refused(
        &app,
        Call::post("/leads", &huge),
        413,
        "payload_too_large",
        None,
    )
    .await;
    let no_type = Call {
        headers: vec![],
        ..Call::post("/leads", &person("a@b.co", "GB"))
    };
    refused(
        &app,
        no_type,
        400,
        "unsupported_media_type",
        Some("Content-Type"),
    )
    .await;
    let admin = token("admin-1", Role::Admin);
    // A required field missing is named by its path; no body at all is `{}`.
    let missing = [
        (Call::post("/leads", &json!({})), "first_name"),
        (Call::post_empty("/leads"), "first_name"),
        (
            Call::post("/clients", &json!({})).token(&admin),
            "first_name",
        ),
        (Call::post_empty("/clients").token(&admin), "first_name"),
        (
            Call::post(
                "/clients",
                &json!({"first_name": "A", "country": "GB", "profile": {}}),
            )
            .token(&admin),
            "profile.client_type",
        ),
    ];
    for (call, field) in missing {
        refused(&app, call, 400, "invalid_body", Some(field)).await;
    }
    refused(
        &app,
        Call::get("/leads?limit=abc").token(&admin),
        400,
        "invalid_query",
        None,
    )
    .await;
    refused(
        &app,
        Call::get("/leads?colour=blue").token(&admin),
        400,
        "invalid_query",
        None,
    )
    .await;
    refused(
        &app,
        Call::get("/leads?cursor=bm90LWEtY3Vyc29y").token(&admin),
        400,
        "invalid_cursor",
        Some("cursor"),
    )
    .await;
}

pub async fn invalid_contact_data_changes_nothing(app: App) {
    let cases = [
        (
            json!({"first_name":"A","email":"not-an-email","country":"GB","marketing_consent":true}),
            "invalid_email",
            "email",
        ),
        (
            json!({"first_name":"A","phone":"12345","country":"GB","marketing_consent":true}),
            "invalid_phone",
            "phone",
        ),
        (
            json!({"first_name":"A","phone":"+44 20 7946 0958; drop","country":"GB","marketing_consent":true}),
            "invalid_phone",
            "phone",
        ),
        (
            json!({"first_name":"A","email":"a@b.co","country":"ZZ","marketing_consent":true}),
            "invalid_country",
            "country",
        ),
        (
            json!({"first_name":"A","email":"a@b.co","country":"GB","language":"klingon","marketing_consent":true}),
            "invalid_language",
            "language",
        ),
        (
            json!({"first_name":" ","email":"a@b.co","country":"GB","marketing_consent":true}),
            "required",
            "first_name",
        ),
        (
            json!({"first_name":"A","country":"GB","marketing_consent":true}),
            "required",
            "email",
        ),
        (
            json!({"first_name":"A\u{0007}","email":"a@b.co","country":"GB","marketing_consent":true}),
            "invalid_characters",
            "first_name",
        ),
        (
            json!({"first_name":"A","email":"a@b.co","country":"GB","brand":"nope","marketing_consent":true}),
            "unknown_brand",
            "brand",
        ),
        (
            json!({"first_name":"A","email":"a@b.co","country":"GB","referral_code":"IB 1; --","marketing_consent":true}),
            "invalid_code",
            "referral_code",
        ),
    ];
    for (body, code, field) in cases {
        refused(&app, Call::post("/leads", &body), 400, code, Some(field)).await;
    }
}

pub async fn missing_forged_and_expired_tokens_change_nothing(app: App) {
    let lead = app.capture(person("t@example.com", "GB")).await;
    let path = format!("/leads/{lead}/status");
    let body = json!({"status":"contacted"});
    let forged = mint_token(
        b"someone-elses-secret-0123456789!",
        "admin-1",
        &[Role::Admin],
        600,
        now(),
    )
    .unwrap();
    let expired = mint_token(SECRET, "admin-1", &[Role::Admin], 60, now() - 7200).unwrap();
    let mut tampered = token("sales-9", Role::Sales);
    // Swap the claims for an admin's, keeping the sales agent's signature.
    let admin = token("admin-1", Role::Admin);
    let admin_claims = admin.split('.').nth(1).unwrap().to_string();
    let parts: Vec<&str> = tampered.split('.').collect();
    tampered = format!("{}.{}.{}", parts[0], admin_claims, parts[2]);
    refused(&app, Call::post(&path, &body), 401, "unauthenticated", None).await;
    for bad in [forged, expired, tampered, "not.a.jwt".to_string()] {
        refused(
            &app,
            Call::post(&path, &body).token(&bad),
            401,
            "unauthenticated",
            None,
        )
        .await;
        refused(
            &app,
            Call::get("/leads").token(&bad),
            401,
            "unauthenticated",
            None,
        )
        .await;
    }
    let basic = Call::post(&path, &body).header("authorization", "Basic YWRtaW46YWRtaW4=");
    refused(&app, basic, 401, "unauthenticated", None).await;
}

pub async fn roles_outside_their_rights_change_nothing(app: App) {
    let lead = app.capture(person("r@example.com", "GB")).await;
    let assignee = app.lead(&lead).await["assignee"]
        .as_str()
        .unwrap()
        .to_string();
    let path = format!("/leads/{lead}/status");
    let contacted = json!({"status":"contacted"});
    for (who, role) in [
        ("c-1", Role::Client),
        ("ib-1", Role::Ib),
        ("f-1", Role::Finance),
        ("k-1", Role::Compliance),
    ] {
        refused(
            &app,
            Call::post(&path, &contacted).token(&token(who, role)),
            403,
            "forbidden",
            None,
        )
        .await;
    }
    let other_agent = token("sales-somebody-else", Role::Sales);
    assert_ne!(assignee, "sales-somebody-else");
    refused(
        &app,
        Call::post(&path, &contacted).token(&other_agent),
        403,
        "forbidden",
        None,
    )
    .await;
    refused(
        &app,
        Call::post(&format!("/leads/{lead}/notes"), &json!({"text":"hi"})).token(&other_agent),
        403,
        "forbidden",
        None,
    )
    .await;
    refused(
        &app,
        Call::post(&format!("/leads/{lead}/convert"), &json!({})).token(&other_agent),
        403,
        "forbidden",
        None,
    )
    .await;
    // Only admins reassign, even the assigned agent may not.
    let own_agent = token(&assignee, Role::Sales);
    refused(
        &app,
        Call::post(
            &format!("/leads/{lead}/assign"),
            &json!({"assignee":"sales-9"}),
        )
        .token(&own_agent),
        403,
        "forbidden",
        None,
    )
    .await;
    // A role that reads nothing here.
    refused(
        &app,
        Call::get("/leads").token(&token("c-1", Role::Client)),
        403,
        "forbidden",
        None,
    )
    .await;
    // Lifecycle rules are refused the same way: no write, no audit event.
    refused(
        &app,
        Call::post(&path, &json!({"status":"qualified"})).token(&own_agent),
        409,
        "invalid_transition",
        None,
    )
    .await;
    refused(
        &app,
        Call::post(&path, &json!({"status":"lost"})).token(&own_agent),
        400,
        "required",
        Some("reason"),
    )
    .await;
    refused(
        &app,
        Call::post(&path, &json!({"status":"won"})).token(&own_agent),
        400,
        "invalid_status",
        Some("status"),
    )
    .await;
}

pub async fn idempotency_key_reused_with_another_body_changes_nothing(app: App) {
    let first = person("idem@example.com", "GB");
    let (status, _) = app
        .send(Call::post("/leads", &first).header("idempotency-key", public_key("k-1")))
        .await;
    assert_eq!(status, 202);
    // The same person with another body: a public key is scoped by whom the request is about
    // (the same key about someone else is their own request: consent::a_squatted_public_key_is_harmless).
    let changed = person("idem@example.com", "FR");
    refused(
        &app,
        Call::post("/leads", &changed).header("idempotency-key", public_key("k-1")),
        422,
        "idempotency_key_reused",
        None,
    )
    .await;
    refused(
        &app,
        Call::post("/leads", &first).header("idempotency-key", "x".repeat(200)),
        400,
        "weak_idempotency_key",
        Some("Idempotency-Key"),
    )
    .await;
}

/// Issue 11, item 14: a public caller's key must be one nobody can guess, or a sender could
/// squat the keys others will use.
pub async fn weak_public_idempotency_keys_change_nothing(app: App) {
    app.capture(person("seed@example.com", "GB")).await;
    let body = person("weak@example.com", "GB");
    for weak in [
        "form-123",
        "aaaaaaaaaaaaaaaaaaaaaaaa",
        "1234567890123456789012345678",
        "abcdefghijklmnopqrstuvwxyz",
        "00000000-0000-0000-0000-000000000000",
        "short-but-random-Xq9",
    ] {
        refused(
            &app,
            Call::post("/leads", &body).header("idempotency-key", weak),
            400,
            "weak_idempotency_key",
            Some("Idempotency-Key"),
        )
        .await;
    }
    refused(
        &app,
        Call::post("/leads/consent/confirm", &json!({"token": "x".repeat(43)}))
            .header("idempotency-key", "form-1"),
        400,
        "weak_idempotency_key",
        Some("Idempotency-Key"),
    )
    .await;
}

/// Issue 11, item 10: a key twice in one JSON object (the last one would win here, a proxy in
/// front may read the first) is refused at every depth of every body the API reads as JSON,
/// naming the key's path, and nothing is written.
pub async fn duplicate_json_keys_change_nothing(app: App) {
    let lead = app.capture(person("dup@example.com", "GB")).await;
    let admin = token("admin-1", Role::Admin);
    let cases: [(&str, &[u8], &str); 6] = [
        (
            "/leads",
            br#"{"first_name":"A","email":"a@b.co","country":"GB","marketing_consent":false,"email":"c@d.co"}"#,
            "email",
        ),
        // Equal once decoded.
        (
            "/leads",
            br#"{"first_name":"A","email":"a@b.co","country":"GB","marketing_consent":false,"\u0065mail":"c@d.co"}"#,
            "email",
        ),
        // Found before the body's type is looked at: nested in a field the route does not know.
        (
            "/leads",
            br#"{"first_name":"A","email":"a@b.co","country":"GB","marketing_consent":false,"utm":{"a":1,"a":2}}"#,
            "utm.a",
        ),
        (
            "/clients",
            br#"{"lead_id":"x","profile":{"nationality":"GB","nationality":"DE"}}"#,
            "profile.nationality",
        ),
        (
            "/payments/routing",
            br#"{"version":2,"rules":[{"id":"a"},{"id":"b","priority":1,"id":"c"}]}"#,
            "rules[1].id",
        ),
        (
            "/leads/LEAD/status",
            br#"{"status":"contacted","status":"lost"}"#,
            "status",
        ),
    ];
    for (path, body, field) in cases {
        let path = path.replace("LEAD", &lead);
        let call = if path == "/payments/routing" {
            Call {
                method: axum::http::Method::PUT,
                ..raw(&path, body)
            }
        } else {
            raw(&path, body)
        };
        refused(&app, call.token(&admin), 400, "duplicate_key", Some(field)).await;
    }
    // The provider webhooks read their bodies themselves: refused before the signature check.
    let kyc = br#"{"event_type":"check.completed","check_id":"c-1","check_id":"c-2"}"#;
    let psp = br#"{"id":"evt_1","type":"payment.captured","data":{"payment":{"amount":{"value":100,"currency":"EUR","value":1}}}}"#;
    for (path, body, field) in [
        ("/webhooks/kyc/simulated", kyc.as_slice(), "check_id"),
        (
            "/webhooks/psp/simcard",
            psp.as_slice(),
            "data.payment.amount.value",
        ),
    ] {
        let call = Call::signed(path, &[], body.to_vec());
        refused(&app, call, 400, "duplicate_key", Some(field)).await;
    }
    // The same keys in different objects are fine.
    let (status, reply) = app
        .send(raw(
            "/leads",
            br#"{"first_name":"A","email":"distinct@b.co","country":"GB","marketing_consent":false}"#,
        ))
        .await;
    assert_eq!(status, 202, "{reply}");
}

/// Issue 11, item 8: a local token that is not valid yet (`nbf`), was issued in the future
/// (`iat` beyond a minute ahead) or lives longer than 24 hours is refused with 401, in JSON
/// with the reason, and nothing is written.
pub async fn tokens_not_yet_valid_from_the_future_or_too_long_lived_change_nothing(app: App) {
    let lead = app.capture(person("times@example.com", "GB")).await;
    let path = format!("/leads/{lead}/status");
    let body = json!({"status":"contacted"});
    let day = MAX_LOCAL_TOKEN_LIFETIME_SECONDS;
    let signed = |changes: Value| {
        let mut claims = json!({
            "sub": "admin-1", "cognito:groups": ["admin"], "iss": LOCAL_ISSUER,
            "aud": LOCAL_AUDIENCE, "iat": now(), "exp": now() + 600,
        });
        for (k, v) in changes.as_object().unwrap() {
            if v.is_null() {
                claims.as_object_mut().unwrap().remove(k);
            } else {
                claims[k] = v.clone();
            }
        }
        sign_claims(SECRET, &claims).unwrap()
    };
    let cases = [
        (json!({"nbf": now() + 3600}), "not valid yet"),
        (json!({"iat": now() + 3600}), "issued in the future"),
        (json!({"exp": now() + 100 * 365 * 86400}), "lives longer"),
        (
            json!({"iat": now() - 60, "exp": now() - 60 + day + 60}),
            "lives longer",
        ),
        (json!({"iat": null, "exp": now() + 2 * day}), "lives longer"),
    ];
    for (changes, why) in cases {
        let token = signed(changes.clone());
        for request in [
            Call::post(&path, &body).token(&token),
            Call::get("/leads").token(&token),
        ] {
            let before = app.counts().await;
            let (status, reply) = app.send(request).await;
            assert_eq!(status, 401, "{changes}: {reply}");
            assert_eq!(reply["code"], "unauthenticated", "{reply}");
            assert!(
                reply["message"].as_str().unwrap().contains(why),
                "{changes}: {reply}"
            );
            assert_eq!(app.counts().await, before, "{changes} wrote something");
        }
    }
    // Within the limits: a clock a little behind the minting machine's, a full day.
    let fine = signed(json!({"iat": now() + 30, "nbf": now() - 5, "exp": now() - 60 + day}));
    let (status, reply) = app.send(Call::get("/leads").token(&fine)).await;
    assert_eq!(status, 200, "{reply}");
}
