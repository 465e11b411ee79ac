//! Issue 11, item 14: public lead capture. Consent per touch with its evidence, granted only by
//! double opt-in; public idempotency keys that a stranger cannot squat.

use brokeros_http::client::Call;
use serde_json::{Value, json};

use crate::harness::{App, person, public_key};

/// Sends `request`, expects `status` and `code`, and checks that nothing was written.
async fn refused(app: &App, request: Call<'_>, status: u16, code: &str) -> Value {
    let before = app.counts().await;
    let (got, body) = app.send(request).await;
    assert_eq!((got, body["code"].as_str()), (status, Some(code)), "{body}");
    assert_eq!(
        app.counts().await,
        before,
        "a refused request wrote: {body}"
    );
    body
}

fn confirm(token: &str) -> Call<'static> {
    Call::post("/leads/consent/confirm", &json!({ "token": token }))
}

/// The token of the newest consent message for `lead`.
async fn newest_token(app: &App, lead: &str) -> String {
    app.consent_messages()
        .await
        .into_iter()
        .find(|m| m.lead_id == lead)
        .map(|m| m.token)
        .expect("a consent message for the lead")
}

pub async fn consent_takes_effect_only_once_confirmed(app: App) {
    let mut ann = person("ann.consent@example.com", "GB");
    ann["landing_page"] = json!("https://broker.example/gold");
    let lead = app.capture(ann.clone()).await;
    let seen = app.lead(&lead).await;
    assert_eq!(seen["marketing_consent"], json!(false));
    assert_eq!(seen["consent_history"][0]["action"], json!("not_given"));
    assert!(app.consent_messages().await.is_empty());

    // Someone who knows Ann's email ticks the box for her: nothing is granted, a confirmation
    // goes to Ann's own address.
    let mut stranger = ann.clone();
    stranger["marketing_consent"] = json!(true);
    stranger["source"] = json!("affiliate");
    assert_eq!(app.capture(stranger.clone()).await, lead);
    let seen = app.lead(&lead).await;
    assert_eq!(seen["marketing_consent"], json!(false), "{seen}");
    let requested = &seen["consent_history"][1];
    assert_eq!(requested["action"], json!("requested"));
    assert_eq!(requested["channel"], json!("web_form"));
    assert_eq!(requested["source"], json!("affiliate"));
    assert_eq!(requested["form"], json!("https://broker.example/gold"));
    assert!(requested["evidence"]["correlation_id"].is_string());
    let first_token = newest_token(&app, &lead).await;
    let message = &app.consent_messages().await[0];
    assert_eq!(
        (message.channel.as_str(), message.template.as_str()),
        ("email", "marketing_consent_confirmation")
    );
    // The confirmation is stored by its digest; the token is in the outbox message only.
    let pending = seen["pending_consent"]["confirmation_id"].as_str().unwrap();
    assert_eq!(
        pending,
        brokeros_kernel::secret_token::token_digest(&first_token)
    );
    assert!(!seen.to_string().contains(&first_token));

    // A second request replaces the first: only the newest link confirms.
    assert_eq!(app.capture(stranger).await, lead);
    let token = newest_token(&app, &lead).await;
    assert_ne!(token, first_token);
    refused(&app, confirm(&first_token), 409, "token_superseded").await;

    // Forged, malformed: refused, nothing written.
    let forged = brokeros_kernel::secret_token::new_token();
    let body = refused(&app, confirm(&forged), 400, "invalid_token").await;
    assert_eq!(body["field"], json!("token"));
    refused(&app, confirm("not-a-token"), 400, "invalid_token").await;
    refused(
        &app,
        Call::post(
            "/leads/consent/confirm",
            &json!({ "token": token, "extra": 1 }),
        ),
        400,
        "invalid_body",
    )
    .await;

    // Ann follows her link: consent is in effect, audited on the lead.
    let (status, answer) = app.send(confirm(&token)).await;
    assert_eq!(status, 200, "{answer}");
    let seen = app.lead(&lead).await;
    assert_eq!(seen["marketing_consent"], json!(true));
    assert!(seen["pending_consent"].is_null());
    let confirmed = seen["consent_history"].as_array().unwrap().last().unwrap();
    assert_eq!(confirmed["action"], json!("confirmed"));
    assert_eq!(confirmed["channel"], json!("confirmation_link"));
    assert!(
        seen["score_reasons"]
            .to_string()
            .contains("marketing-consent"),
        "the score counts consent once in effect: {seen}"
    );
    let admin = crate::harness::token("admin-1", brokeros_kernel::principal::Role::Admin);
    let (_, timeline) = app
        .send(Call::get(&format!("/leads/{lead}/timeline")).token(&admin))
        .await;
    assert_eq!(
        timeline["items"][0]["action"],
        json!("lead.consent_confirmed"),
        "{timeline}"
    );

    // The link is single-use.
    refused(&app, confirm(&token), 409, "token_used").await;

    // Withdrawal by a form takes effect at once.
    assert_eq!(app.capture(ann).await, lead);
    let seen = app.lead(&lead).await;
    assert_eq!(seen["marketing_consent"], json!(false));
    let withdrawn = seen["consent_history"].as_array().unwrap().last().unwrap();
    assert_eq!(withdrawn["action"], json!("withdrawn"));
}

pub async fn expired_and_withdrawn_links_change_nothing(app: App) {
    let mut bob = person("bob.consent@example.com", "DE");
    bob["marketing_consent"] = json!(true);
    let lead = app.capture(bob.clone()).await;
    let token = newest_token(&app, &lead).await;
    app.advance(brokeros_crm::model::CONFIRMATION_TTL + time::Duration::seconds(1));
    refused(&app, confirm(&token), 400, "token_expired").await;
    assert_eq!(app.lead(&lead).await["marketing_consent"], json!(false));

    // A new request, then a withdrawal: the new link no longer confirms.
    app.capture(bob.clone()).await;
    let token = newest_token(&app, &lead).await;
    bob["marketing_consent"] = json!(false);
    app.capture(bob).await;
    let seen = app.lead(&lead).await;
    assert!(seen["pending_consent"].is_null(), "{seen}");
    refused(&app, confirm(&token), 409, "token_superseded").await;
}

/// The same key sent about another person is that person's request, never the first sender's
/// replay, and it cannot make the first sender's retry fail.
pub async fn a_squatted_public_key_is_harmless(app: App) {
    let key = public_key("the-victims-form-key");
    let victim = person("victim@example.com", "GB");
    let squatter = person("squatter@example.com", "GB");
    // The squatter sends first with the victim's key.
    let (status, squatted) = app
        .send(Call::post("/leads", &squatter).header("idempotency-key", key.clone()))
        .await;
    assert_eq!(status, 202, "{squatted}");
    // The victim's request is processed as its own: a lead of its own, not the squatter's
    // stored answer, and no 422.
    let (status, first) = app
        .send(Call::post("/leads", &victim).header("idempotency-key", key.clone()))
        .await;
    assert_eq!(status, 202, "{first}");
    assert_ne!(first["lead_id"], squatted["lead_id"]);
    assert_eq!(
        app.lead(first["lead_id"].as_str().unwrap()).await["email"],
        json!("victim@example.com")
    );
    // The victim's retry replays the victim's answer and writes nothing.
    let counts = app.counts().await;
    let (status, retry) = app
        .send(Call::post("/leads", &victim).header("idempotency-key", key.clone()))
        .await;
    assert_eq!((status, &retry), (202, &first));
    assert_eq!(app.counts().await, counts);
    // The squatter's replay is still the squatter's.
    let (_, again) = app
        .send(Call::post("/leads", &squatter).header("idempotency-key", key))
        .await;
    assert_eq!(again, squatted);
}
