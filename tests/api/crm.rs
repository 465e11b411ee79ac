use std::sync::Arc;

use brokeros_http::client::Call;
use brokeros_kernel::audit_export::{Selection, collect, export_to_memory, verify_files};
use brokeros_kernel::principal::Role;
use brokeros_kernel::signing::{Ed25519Signer, PublicKey, Signer};
use brokeros_store::Table;
use serde_json::{Value, json};

use crate::harness::{App, person, public_key, token};

pub async fn capture_dedupes_by_email_and_phone_per_brand(app: App) {
    let ann = app
        .capture(json!({"first_name":"Ann","email":"Ann@Example.com","country":"GB","utm_source":"google","marketing_consent":false}))
        .await;
    // Same email in another case and with spaces: the same lead, a new touch, consent updated.
    let again = app
        .capture(json!({"first_name":"Annie","email":" ann@example.COM ","phone":"020 7946 0958","country":"GB",
                        "utm_source":"newsletter","marketing_consent":true}))
        .await;
    assert_eq!(again, ann);
    let lead = app.lead(&ann).await;
    assert_eq!(lead["touch_count"], json!(2));
    assert_eq!(
        lead["first_name"],
        json!("Ann"),
        "a resubmission must not overwrite contact data"
    );
    assert_eq!(
        lead["phone"],
        json!("+442079460958"),
        "a missing phone is filled in"
    );
    assert_eq!(
        lead["marketing_consent"],
        json!(false),
        "a form granting consent only asks for its confirmation"
    );
    assert!(lead["pending_consent"].is_object(), "{lead}");
    assert_eq!(lead["first_touch"]["utm"]["source"], json!("google"));
    assert_eq!(lead["last_touch"]["utm"]["source"], json!("newsletter"));
    // The phone alone now finds Ann too, written in international form.
    let by_phone = app
        .capture(json!({"first_name":"A","phone":"+44 20 7946 0958","country":"DE","marketing_consent":false}))
        .await;
    assert_eq!(by_phone, ann);
    assert_eq!(app.lead(&ann).await["touch_count"], json!(3));
    // Another brand is another book of business: a new lead.
    let other_brand = app
        .capture(json!({"first_name":"Ann","email":"ann@example.com","country":"GB","brand":"acme-markets","marketing_consent":false}))
        .await;
    assert_ne!(other_brand, ann);
    // Email of one lead, phone of another: merged into the email's lead; the phone stays put.
    let bob = app
        .capture(json!({"first_name":"Bob","phone":"+49 30 901820","country":"DE","marketing_consent":false}))
        .await;
    let mixed = app
        .capture(json!({"first_name":"Ann","email":"ann@example.com","phone":"+49 30 901820","country":"GB","marketing_consent":false}))
        .await;
    assert_eq!(mixed, ann);
    assert_eq!(app.lead(&ann).await["phone"], json!("+442079460958"));
    assert_eq!(app.lead(&bob).await["phone"], json!("+4930901820"));
}

pub async fn concurrent_captures_of_one_person_make_one_lead(app: App) {
    let app = Arc::new(app);
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let app = app.clone();
            tokio::spawn(async move { app.capture(person("same@example.com", "GB")).await })
        })
        .collect();
    let mut ids = Vec::new();
    for t in tasks {
        ids.push(t.await.unwrap());
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "every capture must land on one lead: {ids:?}");
    let lead = app.lead(&ids[0]).await;
    assert_eq!(lead["touch_count"], json!(16), "no touch may be lost");
    assert_eq!(lead["version"], json!(16));
}

pub async fn idempotent_replays_return_the_stored_answer(app: App) {
    let body = person("replay@example.com", "FR");
    let (s1, first) = app
        .send(Call::post("/leads", &body).header("idempotency-key", public_key("form-77")))
        .await;
    let counts = app.counts().await;
    let (s2, second) = app
        .send(Call::post("/leads", &body).header("idempotency-key", public_key("form-77")))
        .await;
    assert_eq!((s1, s2), (202, 202));
    assert_eq!(
        first, second,
        "a replay returns the stored answer, received_at included"
    );
    assert_eq!(app.counts().await, counts, "a replay writes nothing");
    assert_eq!(
        app.lead(first["lead_id"].as_str().unwrap()).await["touch_count"],
        json!(1)
    );

    // Concurrent deliveries of one key: one effect.
    let app = Arc::new(app);
    let body = person("burst@example.com", "FR");
    let tasks: Vec<_> = (0..12)
        .map(|_| {
            let (app, body) = (app.clone(), body.clone());
            tokio::spawn(async move {
                app.send(
                    Call::post("/leads", &body).header("idempotency-key", public_key("burst-1")),
                )
                .await
            })
        })
        .collect();
    let mut answers = Vec::new();
    for t in tasks {
        let (status, body) = t.await.unwrap();
        assert_eq!(status, 202, "{body}");
        answers.push(body);
    }
    assert!(answers.windows(2).all(|w| w[0] == w[1]), "{answers:?}");
    assert_eq!(
        app.lead(answers[0]["lead_id"].as_str().unwrap()).await["touch_count"],
        json!(1)
    );

    // Keys are scoped to the caller and operation: a sales agent's key does not collide.
    let lead = answers[0]["lead_id"].as_str().unwrap();
    let agent = app.lead(lead).await["assignee"]
        .as_str()
        .unwrap()
        .to_string();
    let sales = token(&agent, Role::Sales);
    let (status, _) = app
        .send(
            Call::post(&format!("/leads/{lead}/notes"), &json!({"text":"x"}))
                .token(&sales)
                .header("idempotency-key", public_key("burst-1")),
        )
        .await;
    assert_eq!(status, 201);
}

pub async fn assignment_follows_rules_in_round_robin(app: App) {
    let mut agents = Vec::new();
    for n in 0..6 {
        let id = app
            .capture(person(&format!("gb{n}@example.com"), "GB"))
            .await;
        agents.push(
            app.lead(&id).await["assignee"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    assert_eq!(
        agents,
        [
            "sales-1", "sales-2", "sales-3", "sales-1", "sales-2", "sales-3"
        ]
    );
    let de = app.capture(person("de@example.com", "DE")).await;
    let lead = app.lead(&de).await;
    assert_eq!(
        (lead["assignee"].as_str(), lead["assignment_rule"].as_str()),
        (Some("sales-de-1"), Some("dach-desk"))
    );
    let mut br = person("br@example.com", "BR");
    br["language"] = json!("pt-BR");
    let br = app.capture(br).await;
    assert_eq!(app.lead(&br).await["assignee"], json!("sales-latam-1"));
    // Scores come with the rules that made them.
    let mut hot = person("hot@example.com", "GB");
    hot["phone"] = json!("07911 123456");
    hot["referral_code"] = json!("IB-1");
    hot["utm_medium"] = json!("cpc");
    let hot = app.lead(&app.capture(hot).await).await;
    let rules: Vec<&str> = hot["score_reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["rule"].as_str().unwrap())
        .collect();
    assert_eq!(
        rules,
        ["tier1-country", "has-phone", "ib-referral", "paid-search"]
    );
    assert_eq!(hot["score"], json!(70));
}

pub async fn lifecycle_notes_tasks_and_conversion(app: App) {
    let id = app.capture(person("life@example.com", "GB")).await;
    let agent = app.lead(&id).await["assignee"]
        .as_str()
        .unwrap()
        .to_string();
    let sales = token(&agent, Role::Sales);
    let path = format!("/leads/{id}");
    let (s, reply) = app
        .send(Call::post(&format!("{path}/status"), &json!({"status":"contacted"})).token(&sales))
        .await;
    assert_eq!(s, 200, "{reply}");
    assert_eq!(reply["status"], json!("contacted"));
    let (s, reply) = app
        .send(
            Call::post(&format!("{path}/notes"), &json!({"text":"Wants gold CFDs"})).token(&sales),
        )
        .await;
    assert_eq!(s, 201, "{reply}");
    let (s, task) = app
        .send(
            Call::post(
                &format!("{path}/tasks"),
                &json!({"title":"Call back","due_at":"2026-12-01T10:00:00Z"}),
            )
            .token(&sales),
        )
        .await;
    assert_eq!(s, 201, "{task}");
    assert_eq!(app.lead(&id).await["open_tasks"], json!(1));
    let done = format!("{path}/tasks/{}/complete", task["id"].as_str().unwrap());
    assert_eq!(
        app.send(Call::post(&done, &json!({})).token(&sales))
            .await
            .0,
        200
    );
    let (again, err) = app.send(Call::post(&done, &json!({})).token(&sales)).await;
    assert_eq!(
        (again, err["code"].as_str()),
        (409, Some("task_already_done"))
    );
    assert_eq!(app.lead(&id).await["open_tasks"], json!(0));
    // Converting before qualification is refused; after it, a client is born.
    let (s, err) = app
        .send(Call::post(&format!("{path}/convert"), &json!({})).token(&sales))
        .await;
    assert_eq!((s, err["code"].as_str()), (409, Some("invalid_transition")));
    assert_eq!(
        app.send(
            Call::post(&format!("{path}/status"), &json!({"status":"qualified"})).token(&sales)
        )
        .await
        .0,
        200
    );
    let (s, client) = app
        .send(
            Call::post(
                &format!("{path}/convert"),
                &json!({"user_id":"portal-life"}),
            )
            .token(&sales),
        )
        .await;
    assert_eq!(s, 201, "{client}");
    assert_eq!(client["lead_id"], json!(id));
    assert_eq!(client["account_manager"], json!(agent));
    let lead = app.lead(&id).await;
    assert_eq!(lead["status"], json!("converted"));
    assert_eq!(lead["client_id"], client["id"]);
    // Converted is final.
    let (s, _) = app
        .send(
            Call::post(
                &format!("{path}/status"),
                &json!({"status":"lost","reason":"x"}),
            )
            .token(&sales),
        )
        .await;
    assert_eq!(s, 409);
    // The timeline tells the story, newest first.
    let (_, timeline) = app
        .send(Call::get(&format!("{path}/timeline")).token(&sales))
        .await;
    let actions: Vec<&str> = timeline["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "lead.converted",
            "lead.qualified",
            "lead.task_completed",
            "lead.task_added",
            "lead.note_added",
            "lead.contacted",
            "lead.captured"
        ]
    );
    let (_, page) = app
        .send(Call::get(&format!("{path}/timeline?limit=3")).token(&sales))
        .await;
    assert_eq!(page["items"].as_array().unwrap().len(), 3);
    let next = page["next"].as_str().unwrap();
    let (_, rest) = app
        .send(Call::get(&format!("{path}/timeline?limit=10&cursor={next}")).token(&sales))
        .await;
    assert_eq!(rest["items"].as_array().unwrap().len(), 4);
    assert_eq!(rest["next"], Value::Null);
}

pub async fn sales_see_only_their_leads_and_clients_only_themselves(app: App) {
    let mut ids = Vec::new();
    for n in 0..3 {
        ids.push(
            app.capture(person(&format!("s{n}@example.com"), "GB"))
                .await,
        );
    }
    // sales-1, sales-2, sales-3 by round robin.
    let s1 = token("sales-1", Role::Sales);
    let (status, list) = app.send(Call::get("/leads").token(&s1)).await;
    assert_eq!(status, 200);
    let seen: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].as_str().unwrap())
        .collect();
    assert_eq!(seen, [ids[0].as_str()]);
    let (status, _) = app
        .send(Call::get(&format!("/leads/{}", ids[1])).token(&s1))
        .await;
    assert_eq!(status, 403);
    let (status, _) = app
        .send(Call::get(&format!("/leads/{}/timeline", ids[1])).token(&s1))
        .await;
    assert_eq!(status, 403);
    let (status, _) = app
        .send(Call::get("/leads?assignee=sales-2").token(&s1))
        .await;
    assert_eq!(status, 403);
    let admin = token("admin-1", Role::Admin);
    let (_, all) = app.send(Call::get("/leads").token(&admin)).await;
    assert_eq!(all["items"].as_array().unwrap().len(), 3);

    // Two converted clients: each reads only themselves.
    let mut clients = Vec::new();
    for (n, id) in ids.iter().take(2).enumerate() {
        for status in ["contacted", "qualified"] {
            assert_eq!(
                app.send(
                    Call::post(&format!("/leads/{id}/status"), &json!({"status":status}))
                        .token(&admin)
                )
                .await
                .0,
                200
            );
        }
        let (_, client) = app
            .send(
                Call::post(
                    &format!("/leads/{id}/convert"),
                    &json!({"user_id": format!("portal-{n}")}),
                )
                .token(&admin),
            )
            .await;
        clients.push(client["id"].as_str().unwrap().to_string());
    }
    let me0 = token("portal-0", Role::Client);
    assert_eq!(
        app.send(Call::get(&format!("/clients/{}", clients[0])).token(&me0))
            .await
            .0,
        200
    );
    let (status, body) = app
        .send(Call::get(&format!("/clients/{}", clients[1])).token(&me0))
        .await;
    assert_eq!((status, body["code"].as_str()), (403, Some("forbidden")));
    let (_, me) = app.send(Call::get("/me").token(&me0)).await;
    assert_eq!(me["id"], json!(clients[0]));
    // The account manager reads their client, another agent does not; compliance reads all.
    assert_eq!(
        app.send(Call::get(&format!("/clients/{}", clients[0])).token(&s1))
            .await
            .0,
        200
    );
    assert_eq!(
        app.send(Call::get(&format!("/clients/{}", clients[1])).token(&s1))
            .await
            .0,
        403
    );
    assert_eq!(
        app.send(
            Call::get(&format!("/clients/{}", clients[1])).token(&token("k", Role::Compliance))
        )
        .await
        .0,
        200
    );
}

pub async fn listing_filters_and_paginates(app: App) {
    let admin = token("admin-1", Role::Admin);
    let mut gb = Vec::new();
    for n in 0..7 {
        gb.push(
            app.capture(person(&format!("l{n}@example.com"), "GB"))
                .await,
        );
    }
    let fr = app.capture(person("fr@example.com", "FR")).await;
    assert_eq!(
        app.send(
            Call::post(
                &format!("/leads/{}/status", gb[0]),
                &json!({"status":"contacted"})
            )
            .token(&admin)
        )
        .await
        .0,
        200
    );

    let names = |v: &Value| -> Vec<String> {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["id"].as_str().unwrap().to_string())
            .collect()
    };
    let (_, by_country) = app.send(Call::get("/leads?country=fr").token(&admin)).await;
    assert_eq!(names(&by_country), std::slice::from_ref(&fr));
    let (_, contacted) = app
        .send(Call::get("/leads?status=contacted").token(&admin))
        .await;
    assert_eq!(names(&contacted), [gb[0].clone()]);
    let (_, new_gb) = app
        .send(Call::get("/leads?status=new&country=GB").token(&admin))
        .await;
    assert_eq!(names(&new_gb).len(), 6);

    // Pages of 3, newest first, every lead once.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/leads?limit=3&cursor={c}"),
            None => "/leads?limit=3".to_string(),
        };
        let (status, page) = app.send(Call::get(&path).token(&admin)).await;
        assert_eq!(status, 200, "{page}");
        seen.extend(names(&page));
        match page["next"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    let mut expected = gb.clone();
    expected.push(fr);
    expected.reverse();
    assert_eq!(seen, expected);
    // A cursor belongs to its query.
    let (_, first) = app.send(Call::get("/leads?limit=3").token(&admin)).await;
    let c = first["next"].as_str().unwrap();
    let (status, body) = app
        .send(Call::get(&format!("/leads?limit=3&status=new&cursor={c}")).token(&admin))
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("invalid_cursor"))
    );
    // Time range: nothing before the epoch, everything up to now.
    let (_, none) = app
        .send(Call::get("/leads?to=1970-01-02T00:00:00Z").token(&admin))
        .await;
    assert!(names(&none).is_empty());
    let (_, all) = app
        .send(Call::get("/leads?from=2000-01-01T00:00:00Z&limit=100").token(&admin))
        .await;
    assert_eq!(names(&all).len(), 8);
}

pub async fn every_change_has_one_audit_event_and_the_export_verifies(app: App) {
    let (_, audit0) = app.counts().await;
    let id = app.capture(person("audit@example.com", "GB")).await;
    let agent = app.lead(&id).await["assignee"]
        .as_str()
        .unwrap()
        .to_string();
    let sales = token(&agent, Role::Sales);
    assert_eq!(
        app.store.count_items(Table::Audit).await.unwrap(),
        audit0 + 1
    );
    app.capture(person("audit@example.com", "GB")).await;
    app.send(
        Call::post(
            &format!("/leads/{id}/status"),
            &json!({"status":"contacted"}),
        )
        .token(&sales),
    )
    .await;
    app.send(Call::post(&format!("/leads/{id}/notes"), &json!({"text":"n"})).token(&sales))
        .await;
    assert_eq!(
        app.store.count_items(Table::Audit).await.unwrap(),
        audit0 + 4
    );

    let selection = Selection::Entity {
        entity_type: "lead".into(),
        entity_id: id.clone(),
    };
    let events = collect(app.store.as_ref(), &selection, |_| {})
        .await
        .unwrap();
    assert_eq!(
        events.iter().map(|e| e.seq).collect::<Vec<_>>(),
        [1, 2, 3, 4]
    );
    assert_eq!(events[0].actor.id, "public:web");
    assert_eq!(events[2].actor.id, agent);
    assert_eq!(events[2].actor.role.as_deref(), Some("sales"));
    let changed: Vec<&str> = events[2].changes.iter().map(|c| c.field.as_str()).collect();
    assert_eq!(changed, ["status", "updated_at"]);
    assert_eq!(events[2].changes[0].before, json!("new"));
    assert_eq!(events[2].changes[0].after, json!("contacted"));
    let (signer, _) = Ed25519Signer::generate();
    let key = PublicKey::from_der(&signer.public_key_der()).unwrap();
    let now = time::OffsetDateTime::now_utc();
    let export = export_to_memory(app.store.as_ref(), &selection, now, Some(&signer))
        .await
        .unwrap();
    let manifest = serde_json::to_value(&export.manifest).unwrap();
    assert_eq!(
        verify_files(&export, &manifest, Some(&key)).unwrap().count,
        4
    );
    let heads = String::from_utf8(export.heads.clone()).unwrap();
    assert!(heads.contains(&format!("\"head_hash\":\"{}\"", events[3].hash)));

    let range = Selection::TimeRange {
        from: time::OffsetDateTime::now_utc() - time::Duration::minutes(5),
        to: time::OffsetDateTime::now_utc() + time::Duration::seconds(1),
    };
    let all = collect(app.store.as_ref(), &range, |_| {}).await.unwrap();
    assert_eq!(all.len() as u64, audit0 + 4);
    let export = export_to_memory(app.store.as_ref(), &range, now, Some(&signer))
        .await
        .unwrap();
    let manifest = serde_json::to_value(&export.manifest).unwrap();
    assert_eq!(
        verify_files(&export, &manifest, Some(&key)).unwrap().count,
        audit0 + 4
    );
}

/// An event missing between two of its stream's events when the export reads (committed
/// behind its cursor, or gone from the store): the export refuses, naming the stream and the
/// gap, rather than write a file whose chain verification would refuse.
pub async fn an_export_that_finds_a_gap_in_a_stream_refuses(app: App) {
    let id = app.capture(person("gap@example.com", "GB")).await;
    app.capture(person("gap@example.com", "GB")).await;
    app.capture(person("gap@example.com", "GB")).await;
    let selection = Selection::Entity {
        entity_type: "lead".into(),
        entity_id: id.clone(),
    };
    let now = time::OffsetDateTime::now_utc();
    export_to_memory(app.store.as_ref(), &selection, now, None)
        .await
        .expect("a whole stream exports");
    let second = brokeros_store::Key::new(
        brokeros_kernel::keys::audit_stream("lead", &id),
        brokeros_kernel::keys::audit_seq(2),
    );
    app.store
        .transact(vec![brokeros_store::WriteOp::Delete {
            table: Table::Audit,
            key: second,
            condition: brokeros_store::Condition::Exists,
        }])
        .await
        .unwrap();
    let Err(refused) = export_to_memory(app.store.as_ref(), &selection, now, None).await else {
        panic!("an export with a gap in a stream must refuse");
    };
    assert!(
        brokeros_kernel::audit_export::raced_writes(&refused),
        "{refused:?}"
    );
    let message = refused.to_string();
    assert!(
        message.contains(&format!("lead/{id}")) && message.contains("event 3 follows event 1"),
        "{message}"
    );
}

/// Issue 11: a request traced by X-Ray (`X-Amzn-Trace-Id`, which `lambda_http` sets from the
/// invocation) and without an `X-Correlation-Id` has its audit events under the trace's id, so
/// an auditor's event leads to the trace; a caller's own correlation id still wins.
pub async fn without_a_callers_correlation_id_audit_events_carry_the_x_ray_trace_id(app: App) {
    const TRACE: &str =
        "Root=1-6a1b2c3d-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;Sampled=1";
    let events_of = |id: String| {
        let store = app.store.clone();
        async move {
            let selection = Selection::Entity {
                entity_type: "lead".into(),
                entity_id: id,
            };
            collect(store.as_ref(), &selection, |_| {}).await.unwrap()
        }
    };
    let (status, reply) = app
        .send(
            Call::post("/leads", &person("traced@example.com", "GB"))
                .header("x-amzn-trace-id", TRACE),
        )
        .await;
    assert_eq!(status, 202, "{reply}");
    let traced = events_of(reply["lead_id"].as_str().unwrap().to_string()).await;
    assert_eq!(traced.len(), 1);
    assert_eq!(
        traced[0].correlation_id,
        "1-6a1b2c3d-0123456789abcdef01234567"
    );

    let (status, reply) = app
        .send(
            Call::post("/leads", &person("correlated@example.com", "GB"))
                .header("x-amzn-trace-id", TRACE)
                .header("x-correlation-id", "caller-chose-this"),
        )
        .await;
    assert_eq!(status, 202, "{reply}");
    let correlated = events_of(reply["lead_id"].as_str().unwrap().to_string()).await;
    assert_eq!(correlated[0].correlation_id, "caller-chose-this");
}
