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

/// Today as the day index writes it (`YYYY-MM-DD`, UTC).
fn today() -> String {
    brokeros_kernel::keys::utc_day(time::OffsetDateTime::now_utc().date())
}

/// A lead captured, qualified and converted by an admin: the client's id.
async fn client_of_a_converted_lead(app: &App, email: &str, portal_user: &str) -> String {
    let admin = token("admin-1", Role::Admin);
    let id = app.capture(person(email, "GB")).await;
    for status in ["contacted", "qualified"] {
        let (code, body) = app
            .send(
                Call::post(&format!("/leads/{id}/status"), &json!({ "status": status }))
                    .token(&admin),
            )
            .await;
        assert_eq!(code, 200, "{body}");
    }
    let (code, client) = app
        .send(
            Call::post(
                &format!("/leads/{id}/convert"),
                &json!({ "user_id": portal_user }),
            )
            .token(&admin),
        )
        .await;
    assert_eq!(code, 201, "{client}");
    client["id"].as_str().unwrap().to_string()
}

/// Every page of `path` (which has a `?`), following `next`.
async fn every_page(app: &App, path: &str, as_token: &str) -> (Vec<Value>, usize) {
    let (mut items, mut pages, mut cursor) = (Vec::new(), 0, None::<String>);
    loop {
        let url = match &cursor {
            Some(c) => format!("{path}&cursor={}", urlencoding(c)),
            None => path.to_string(),
        };
        let (code, page) = app.send(Call::get(&url).token(as_token)).await;
        assert_eq!(code, 200, "{url}: {page}");
        pages += 1;
        items.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => return (items, pages),
        }
    }
}

fn urlencoding(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub async fn audit_search_reads_any_entity_or_day_page_by_page(app: App) {
    let admin = token("admin-1", Role::Admin);
    let client = client_of_a_converted_lead(&app, "audit1@example.com", "portal-audit-1").await;
    app.capture(person("audit2@example.com", "FR")).await;
    let before = app.counts().await;

    // A client's stream, oldest first, events as stored; compliance reads it too.
    let path = format!("/audit/events?entity_type=client&entity_id={client}");
    let (code, page) = app.send(Call::get(&path).token(&admin)).await;
    assert_eq!(code, 200, "{page}");
    let events = page["items"].as_array().unwrap();
    assert!(!events.is_empty(), "{page}");
    for (n, event) in events.iter().enumerate() {
        assert_eq!(event["entity_type"], "client");
        assert_eq!(event["entity_id"], client.as_str());
        assert_eq!(event["seq"], json!(n as u64 + 1), "in sequence: {page}");
        assert!(event["hash"].is_string() && event["prev_hash"].is_string());
    }
    let (code, same) = app
        .send(Call::get(&path).token(&token("compliance-1", Role::Compliance)))
        .await;
    assert_eq!((code, &same), (200, &page));

    // The whole day, two events a page, is the day index's events in id order.
    let day = today();
    let (items, pages) =
        every_page(&app, &format!("/audit/events?day={day}&limit=2"), &admin).await;
    let expected = brokeros_kernel::audit_export::collect(
        app.store.as_ref(),
        &brokeros_kernel::audit_export::Selection::TimeRange {
            from: time::OffsetDateTime::now_utc()
                .date()
                .midnight()
                .assume_utc(),
            to: time::OffsetDateTime::now_utc()
                .date()
                .midnight()
                .assume_utc()
                + time::Duration::days(1),
        },
        |_| {},
    )
    .await
    .unwrap();
    let ids: Vec<&str> = items.iter().map(|e| e["id"].as_str().unwrap()).collect();
    let expected_ids: Vec<&str> = expected.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids, expected_ids);
    assert!(expected_ids.len() > 4 && pages > 2, "{pages} pages");
    assert!(ids.windows(2).all(|w| w[0] < w[1]));

    // Narrowed to a type, to an actor, and an entity's events of the day.
    let (clients_today, _) = every_page(
        &app,
        &format!("/audit/events?day={day}&entity_type=client"),
        &admin,
    )
    .await;
    assert_eq!(clients_today.len(), events.len());
    // A filtered page reads on until it keeps something: the admin's first event, one a page.
    let (code, first) = app
        .send(Call::get(&format!("/audit/events?day={day}&actor_id=admin-1&limit=1")).token(&admin))
        .await;
    assert_eq!(code, 200, "{first}");
    assert_eq!(first["items"].as_array().unwrap().len(), 1, "{first}");
    assert_eq!(first["items"][0]["actor"]["id"], "admin-1");
    let (by_admin, _) = every_page(
        &app,
        &format!("/audit/events?day={day}&actor_id=admin-1"),
        &admin,
    )
    .await;
    assert!(!by_admin.is_empty());
    assert!(by_admin.iter().all(|e| e["actor"]["id"] == "admin-1"));
    assert!(
        by_admin.len() < items.len(),
        "public captures are not the admin's"
    );
    let (of_day, _) = every_page(&app, &format!("{path}&day={day}"), &admin).await;
    assert_eq!(of_day.len(), events.len());
    let (of_another_day, _) = every_page(&app, &format!("{path}&day=2001-01-01"), &admin).await;
    assert!(of_another_day.is_empty());

    // An entity without events is an empty page.
    let (code, none) = app
        .send(Call::get("/audit/events?entity_type=withdrawal&entity_id=wd_none").token(&admin))
        .await;
    assert_eq!((code, none), (200, json!({ "items": [], "next": null })));

    // Reading writes nothing, not even an audit event.
    assert_eq!(app.counts().await, before);
}

pub async fn audit_reads_refuse_bad_input_and_other_roles(app: App) {
    app.capture(person("audit3@example.com", "GB")).await;
    let admin = token("admin-1", Role::Admin);
    let before = app.counts().await;
    for (path, field) in [
        ("/audit/events", "day"),
        (
            "/audit/events?entity_type=spaceship&entity_id=s1",
            "entity_type",
        ),
        ("/audit/events?entity_type=lead", "entity_id"),
        ("/audit/events?entity_id=lead_1", "entity_type"),
        ("/audit/events?day=2026-13-01", "day"),
        ("/audit/events?day=yesterday", "day"),
        (
            "/audit/events?day=2026-12-01&entity_type=boat",
            "entity_type",
        ),
        ("/audit/events?day=2026-12-01&limit=0", "limit"),
        ("/audit/actors", "from"),
        ("/audit/actors?from=2026-12-01", "to"),
        ("/audit/actors?from=2026-12-01&to=2027-01-01", "to"),
        ("/audit/actors?from=2026-12-02&to=2026-12-01", "to"),
        ("/audit/export", "from"),
        ("/audit/export?from=2026-11-01&to=2026-12-31", "to"),
        ("/audit/export?entity_type=nope&entity_id=x", "entity_type"),
        (
            "/audit/export?entity_type=lead&entity_id=x&from=2026-12-01",
            "from",
        ),
    ] {
        let (code, body) = app.send(Call::get(path).token(&admin)).await;
        assert_eq!(code, 400, "{path}: {body}");
        assert_eq!(body["field"].as_str(), Some(field), "{path}: {body}");
    }
    let day = today();
    for path in [
        format!("/audit/events?day={day}"),
        format!("/audit/actors?from={day}&to={day}"),
        format!("/audit/export?from={day}&to={day}"),
    ] {
        for role in [
            Role::Sales,
            Role::Client,
            Role::Finance,
            Role::Partners,
            Role::Marketing,
            Role::Ib,
        ] {
            let (code, body) = app.send(Call::get(&path).token(&token("x-1", role))).await;
            assert_eq!(code, 403, "{role:?} {path}: {body}");
        }
        let (code, _) = app.send(Call::get(&path)).await;
        assert_eq!(code, 401, "{path}");
    }
    assert_eq!(app.counts().await, before);
}

pub async fn the_audit_download_verifies_with_the_key_and_not_once_tampered(app: App) {
    use brokeros_kernel::audit_export::ExportBundle;
    use brokeros_kernel::signing::{PublicKey, Signer};
    let admin = token("admin-1", Role::Admin);
    let client = client_of_a_converted_lead(&app, "audit4@example.com", "portal-audit-4").await;
    let key = PublicKey::from_der(&crate::harness::audit_signer().public_key_der()).unwrap();
    let other = PublicKey::from_der(
        &brokeros_kernel::signing::Ed25519Signer::from_secret([9; 32]).public_key_der(),
    )
    .unwrap();
    let day = today();
    for (path, name) in [
        (
            format!("/audit/export?entity_type=client&entity_id={client}"),
            format!("audit-client-{client}.json"),
        ),
        (
            format!("/audit/export?from={day}&to={day}"),
            format!("audit-{day}-{day}.json"),
        ),
    ] {
        let (code, headers, body) =
            brokeros_http::client::call_raw(&app.router, Call::get(&path).token(&admin)).await;
        assert_eq!(code, 200, "{}", String::from_utf8_lossy(&body));
        assert_eq!(
            headers["content-disposition"],
            format!("attachment; filename=\"{name}\"").as_str()
        );
        let bundle: ExportBundle = serde_json::from_slice(&body).unwrap();
        let verified = bundle.clone().verify(Some(&key)).expect("verifies");
        assert!(verified.count > 0);
        assert_eq!(verified.count, bundle.ndjson.lines().count() as u64);
        assert!(verified.signed_by.is_some());
        assert!(bundle.clone().verify(Some(&other)).is_err(), "another key");
        // One byte changed in the events, the heads or the CSV: refused.
        for part in 0..3 {
            let mut tampered = bundle.clone();
            let text = match part {
                0 => &mut tampered.ndjson,
                1 => &mut tampered.heads,
                _ => &mut tampered.csv,
            };
            let at = text.find("\"2").or_else(|| text.find('1')).unwrap() + 1;
            let byte = text.as_bytes()[at];
            text.replace_range(at..at + 1, if byte == b'3' { "4" } else { "3" });
            assert!(tampered.verify(Some(&key)).is_err(), "part {part} tampered");
        }
    }
}

pub async fn actors_in_use_are_the_principals_that_acted_with_their_roles(app: App) {
    let admin = token("admin-1", Role::Admin);
    client_of_a_converted_lead(&app, "audit5@example.com", "portal-audit-5").await;
    let before = app.counts().await;
    let day = today();
    let (code, actors) = app
        .send(Call::get(&format!("/audit/actors?from={day}&to={day}")).token(&admin))
        .await;
    assert_eq!(code, 200, "{actors}");
    assert_eq!(
        (actors["from"].as_str(), actors["to"].as_str()),
        (Some(day.as_str()), Some(day.as_str()))
    );
    let items = actors["items"].as_array().unwrap();
    let admin_row = items
        .iter()
        .find(|a| a["id"] == "admin-1")
        .unwrap_or_else(|| panic!("{actors}"));
    assert_eq!(admin_row["kind"], "user");
    assert_eq!(admin_row["roles"], json!(["admin"]));
    assert!(admin_row["first_at"].as_str() <= admin_row["last_at"].as_str());
    // Every event of the day is someone's.
    let total: u64 = items.iter().map(|a| a["events"].as_u64().unwrap()).sum();
    let (events, _) = every_page(&app, &format!("/audit/events?day={day}&limit=200"), &admin).await;
    assert_eq!(total, events.len() as u64);
    let admins = events
        .iter()
        .filter(|e| e["actor"]["id"] == "admin-1")
        .count() as u64;
    assert_eq!(admin_row["events"], json!(admins));
    assert!(
        items
            .iter()
            .any(|a| a["id"].as_str().unwrap().starts_with("public:")),
        "the lead capture's public channel: {actors}"
    );
    assert_eq!(items[0]["kind"], "user", "users first");
    // A period without events names nobody.
    let (_, empty) = app
        .send(Call::get("/audit/actors?from=2001-01-01&to=2001-01-31").token(&admin))
        .await;
    assert_eq!(empty["items"], json!([]));
    assert_eq!(app.counts().await, before);
}
