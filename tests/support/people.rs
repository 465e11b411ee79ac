//! People of the scenarios: clients registered by their account manager with a portal user
//! (who signs in as the client), and onboarded to a trading account.

use brokeros_http::client::Call;
use brokeros_kernel::principal::Role;
use brokeros_sfn::ExecutionStatus;
use serde_json::json;

use crate::app::{App, token};

/// An admin's token (`admin-1`).
pub fn admin() -> String {
    token("admin-1", Role::Admin)
}

/// A client of the portal user `user`: the token they sign in with and their client id.
pub struct Person {
    pub user: String,
    pub client_id: String,
}

impl Person {
    pub fn token(&self) -> String {
        token(&self.user, Role::Client)
    }
}

/// Who a client is: their names and contact details, and their passport's number.
pub struct Identity<'a> {
    pub user: &'a str,
    pub last_name: &'a str,
    pub email: &'a str,
    pub phone: Option<&'a str>,
    pub passport: &'a str,
}

impl<'a> Identity<'a> {
    /// Someone new: the email and passport made from `user`, no phone.
    pub fn of(user: &'a str, last_name: &'a str, email: &'a str, passport: &'a str) -> Self {
        Identity {
            user,
            last_name,
            email,
            phone: None,
            passport,
        }
    }
}

/// A client registered by their account manager (portal user, profile, passport and proof of
/// address) and not onboarded: KYC not started, no trading account.
pub async fn registered(app: &App, who: &Identity<'_>) -> Person {
    let body = json!({
        "first_name": "Anna", "last_name": who.last_name, "email": who.email,
        "phone": who.phone, "country": "DE", "user_id": who.user,
        "profile": { "client_type": "individual", "date_of_birth": "1990-01-15",
                     "nationality": "DE", "residence_country": "DE",
                     "source_of_funds": "salary", "pep_declared": false }
    });
    let sales = token("sales-1", Role::Sales);
    let (status, client) = app.send(Call::post("/clients", &body).token(&sales)).await;
    assert_eq!(status, 201, "{client}");
    let client_id = client["id"].as_str().unwrap().to_string();
    for document in [
        json!({ "type": "passport", "issuing_country": "DE", "number": who.passport }),
        json!({ "type": "proof_of_address", "issuing_country": "DE", "number": "POA-2026-0001" }),
    ] {
        let (status, reply) = app
            .send(Call::post(&format!("/clients/{client_id}/documents"), &document).token(&sales))
            .await;
        assert_eq!(status, 201, "{reply}");
    }
    Person {
        user: who.user.to_string(),
        client_id,
    }
}

/// A client registered and onboarded (KYC approved): the client and their trading account's
/// login (`real\retail-usd`, USD, opened now).
pub async fn onboarded(app: &App, who: &Identity<'_>) -> (Person, u64) {
    let person = registered(app, who).await;
    let login = onboard(app, &person.client_id).await;
    (person, login)
}

/// Runs the onboarding of `client_id` to its approval (started by an admin): the trading
/// account's login.
pub async fn onboard(app: &App, client_id: &str) -> u64 {
    let (status, started) = app
        .send(
            Call::post(
                &format!("/clients/{client_id}/onboarding"),
                &json!({ "product": "forex" }),
            )
            .token(&admin()),
        )
        .await;
    assert_eq!(status, 202, "{started}");
    let done = app
        .finished(started["execution_arn"].as_str().unwrap())
        .await;
    assert_eq!(done.status, ExecutionStatus::Succeeded, "{done:?}");
    done.output.unwrap()["account"]["login"].as_u64().unwrap()
}
