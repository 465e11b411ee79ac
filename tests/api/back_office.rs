//! The back office's summary reads: the lead funnel, audit search and download, the principals
//! of the audit trail.

use brokeros_http::client::Call;
use brokeros_kernel::principal::Role;
use serde_json::{Value, json};

use crate::harness::{App, person, token};

fn counts(funnel: &Value) -> Vec<(String, u64)> {
    funnel["statuses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["status"].as_str().unwrap().to_string(),
                s["count"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn expected(
    new: u64,
    contacted: u64,
    qualified: u64,
    converted: u64,
    lost: u64,
) -> Vec<(String, u64)> {
    ["new", "contacted", "qualified", "converted", "lost"]
        .iter()
        .map(|s| s.to_string())
        .zip([new, contacted, qualified, converted, lost])
        .collect()
}

pub async fn the_funnel_counts_leads_by_status_in_scope(app: App) {
    let admin = token("admin-1", Role::Admin);
    let mut gb = Vec::new();
    for n in 0..5 {
        gb.push(
            app.capture(person(&format!("f{n}@example.com"), "GB"))
                .await,
        );
    }
    let fr = app.capture(person("ffr@example.com", "FR")).await;
    for (id, status) in [
        (&gb[0], "contacted"),
        (&gb[1], "contacted"),
        (&gb[2], "lost"),
        (&fr, "lost"),
    ] {
        let (code, body) = app
            .send(
                Call::post(
                    &format!("/leads/{id}/status"),
                    &json!({ "status": status, "reason": "test" }),
                )
                .token(&admin),
            )
            .await;
        assert_eq!(code, 200, "{body}");
    }

    let (code, all) = app.send(Call::get("/leads/funnel").token(&admin)).await;
    assert_eq!(code, 200, "{all}");
    assert_eq!(counts(&all), expected(2, 2, 0, 0, 2));
    assert_eq!(all["total"], 6);
    assert_eq!(all["counted_by"], "status_index_counts");
    assert!(all.get("assignee").is_none());

    let (_, gb_only) = app
        .send(Call::get("/leads/funnel?country=gb").token(&admin))
        .await;
    assert_eq!(counts(&gb_only), expected(2, 2, 0, 0, 1));
    assert_eq!(gb_only["counted_by"], "leads_read");
    assert_eq!(gb_only["country"], "GB");

    // A sales agent counts only the leads assigned to them, whatever the query asks.
    let agent = app.lead(&gb[0]).await["assignee"]
        .as_str()
        .unwrap()
        .to_string();
    let mut own = expected(0, 0, 0, 0, 0);
    for id in gb.iter().chain([&fr]) {
        let lead = app.lead(id).await;
        if lead["assignee"] == agent.as_str() {
            let slot = own
                .iter_mut()
                .find(|(s, _)| lead["status"] == s.as_str())
                .unwrap();
            slot.1 += 1;
        }
    }
    let (code, mine) = app
        .send(Call::get("/leads/funnel").token(&token(&agent, Role::Sales)))
        .await;
    assert_eq!(code, 200, "{mine}");
    assert_eq!(counts(&mine), own);
    assert_eq!(mine["assignee"], agent.as_str());
    assert!(
        mine["total"].as_u64().unwrap() < 6,
        "agents do not see every lead"
    );

    // The creation period bounds what is counted.
    let (_, before) = app
        .send(Call::get("/leads/funnel?to=1970-01-02T00:00:00Z").token(&admin))
        .await;
    assert_eq!(before["total"], 0);
    let (_, since) = app
        .send(Call::get("/leads/funnel?from=2000-01-01T00:00:00Z&country=FR").token(&admin))
        .await;
    assert_eq!(counts(&since), expected(0, 0, 0, 0, 1));
}

pub async fn a_funnel_of_bad_filters_or_roles_is_refused(app: App) {
    let admin = token("admin-1", Role::Admin);
    for (path, field) in [
        ("/leads/funnel?brand=nope", Some("brand")),
        ("/leads/funnel?country=XX1", Some("country")),
        ("/leads/funnel?from=yesterday", Some("from")),
        (
            "/leads/funnel?from=2024-02-01T00:00:00Z&to=2024-01-01T00:00:00Z",
            Some("to"),
        ),
        ("/leads/funnel?status=new", None),
    ] {
        let (code, body) = app.send(Call::get(path).token(&admin)).await;
        assert_eq!(code, 400, "{path}: {body}");
        assert_eq!(body["field"].as_str(), field, "{path}: {body}");
    }
    for role in [Role::Client, Role::Compliance, Role::Finance] {
        let (code, body) = app
            .send(Call::get("/leads/funnel").token(&token("x-1", role)))
            .await;
        assert_eq!(code, 403, "{role:?}: {body}");
    }
    let (code, _) = app.send(Call::get("/leads/funnel")).await;
    assert_eq!(code, 401);
}
