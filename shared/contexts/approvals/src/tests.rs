//! The approvals repository on the embedded engine: processes started and decided inside the
//! caller's changeset, committed with their audit events, refusals that write nothing.

use std::sync::Arc;

use brokeros_kernel::audit::{Actor, AuditEvent};
use brokeros_kernel::money::USD;
use brokeros_kernel::principal::Role;
use brokeros_store::{Condition, Item, Query, Table, WriteOp};

use super::*;
use crate::testing::{at, money, policies, staff};

struct Fixture {
    services: Services,
    _dir: tempfile::TempDir,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store =
        brokeros_store_sqlite::SqliteStore::open(&dir.path().join("approvals.sqlite3")).unwrap();
    Fixture {
        services: Services {
            core: Core::new(Arc::new(store)),
            config: Arc::new(ApprovalsSettings {
                policies: policies(),
            }),
        },
        _dir: dir,
    }
}

fn ctx(minutes: i64) -> OpContext {
    OpContext {
        actor: Actor::system("approvals-test"),
        correlation_id: "corr-approvals".into(),
        now: at(minutes),
    }
}

/// A commission payout of `amount` USD asking for approval: one approver up to 10 000, two
/// above (the second an admin); auto-approved for retail up to 1 000.
fn payout(id: &str, amount: &str) -> NewProcess {
    NewProcess {
        id: id.into(),
        process_type: ProcessType::COMMISSION_PAYOUT,
        subject: Subject {
            kind: "commission_payout".into(),
            id: format!("cp-{id}"),
        },
        amount: Some(money(amount, USD)),
        requested_by: "finance-1".into(),
    }
}

fn facts(groups: &[&str]) -> StartFacts {
    StartFacts {
        client_groups: groups.iter().map(|g| g.to_string()).collect(),
        ..StartFacts::default()
    }
}

async fn commit(f: &Fixture, changes: Changeset) {
    let (ops, _) = changes.into_parts();
    f.services.store.transact(ops).await.unwrap();
}

async fn counts(f: &Fixture) -> (u64, u64) {
    let store = f.services.store.as_ref();
    (
        store.count_items(Table::Main).await.unwrap(),
        store.count_items(Table::Audit).await.unwrap(),
    )
}

async fn events(f: &Fixture, id: &str) -> Vec<AuditEvent> {
    let query = Query::new(
        Table::Audit,
        None,
        keys::audit_stream(ApprovalProcess::TYPE, id),
    )
    .limit(100);
    let page = f.services.store.query(query).await.unwrap();
    page.items
        .iter()
        .map(|item| serde_json::from_str(&item.data).unwrap())
        .collect()
}

async fn events_of(f: &Fixture, id: &str) -> Vec<String> {
    events(f, id).await.into_iter().map(|e| e.action).collect()
}

/// Starts `new` in a changeset of its own and commits it.
async fn started(f: &Fixture, new: NewProcess, facts: &StartFacts) -> Started {
    let mut changes = Changeset::new();
    let started = start(&f.services, &ctx(0), new, facts, &mut changes)
        .await
        .unwrap();
    commit(f, changes).await;
    started
}

#[tokio::test]
async fn a_process_started_in_a_changeset_commits_with_its_audit_event() {
    let f = fixture();
    let mut changes = Changeset::new();
    // The caller's own write, in the same changeset.
    changes.put(WriteOp::Put {
        table: Table::Main,
        item: Item::new(Key::new("PAYOUT#cp-p1", "PAYOUT"), 1, "{}"),
        condition: Condition::NotExists,
    });
    let pending = start(
        &f.services,
        &ctx(0),
        payout("p1", "5000"),
        &facts(&["retail"]),
        &mut changes,
    )
    .await
    .unwrap();
    assert_eq!(pending.process.status, ProcessStatus::Pending);
    assert!(matches!(
        pending.auto_approval,
        AutoApproval::NotApproved { .. }
    ));
    assert!(
        find(&f.services, "p1").await.unwrap().is_none(),
        "staged only"
    );
    assert_eq!(changes.events().len(), 1);
    let before = counts(&f).await;
    commit(&f, changes).await;
    assert_eq!(counts(&f).await, (before.0 + 2, before.1 + 1));

    let stored = load(&f.services, "p1").await.unwrap();
    assert_eq!(stored.entity, pending.process);
    assert_eq!(stored.version, 1);
    let events = events(&f, "p1").await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].action, "approval.requested");
    assert_eq!(stored.chain, events[0].head());

    // Within the rule: auto-approved, and said so in its event.
    let auto = started(&f, payout("p2", "100"), &facts(&["retail"])).await;
    assert_eq!(auto.process.status, ProcessStatus::AutoApproved);
    assert_eq!(events_of(&f, "p2").await, ["approval.auto_approved"]);
}

#[tokio::test]
async fn a_start_whose_changeset_fails_writes_neither_the_process_nor_its_event() {
    let f = fixture();
    let taken = Key::new("PAYOUT#cp-p1", "PAYOUT");
    f.services
        .store
        .transact(vec![WriteOp::Put {
            table: Table::Main,
            item: Item::new(taken.clone(), 1, "{}"),
            condition: Condition::NotExists,
        }])
        .await
        .unwrap();
    let before = counts(&f).await;
    let mut changes = Changeset::new();
    changes.put(WriteOp::Put {
        table: Table::Main,
        item: Item::new(taken, 1, "{}"),
        condition: Condition::NotExists,
    });
    start(
        &f.services,
        &ctx(0),
        payout("p1", "5000"),
        &facts(&[]),
        &mut changes,
    )
    .await
    .unwrap();
    let (ops, _) = changes.into_parts();
    assert!(f.services.store.transact(ops).await.is_err());
    assert_eq!(counts(&f).await, before, "all or nothing");
    assert!(find(&f.services, "p1").await.unwrap().is_none());
}

#[tokio::test]
async fn a_second_start_with_the_same_id_is_refused() {
    let f = fixture();
    started(&f, payout("p1", "5000"), &facts(&[])).await;
    let mut changes = Changeset::new();
    let err = start(
        &f.services,
        &ctx(1),
        payout("p1", "5000"),
        &facts(&[]),
        &mut changes,
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), "approval_exists");
    assert!(changes.into_parts().0.is_empty());
    // A type without a policy cannot be started.
    let mut other = payout("p9", "5000");
    other.process_type = ProcessType::RULE_CHANGE;
    let mut changes = Changeset::new();
    let err = start(&f.services, &ctx(1), other, &facts(&[]), &mut changes)
        .await
        .unwrap_err();
    assert_eq!(err.http_status(), 404);
}

#[tokio::test]
async fn decisions_commit_with_their_events_and_move_the_process_between_queues() {
    let f = fixture();
    started(&f, payout("p1", "20000"), &facts(&[])).await;
    let pending = queue(&f.services, QueueFilter::default()).await.unwrap();
    assert_eq!(pending["items"][0]["id"], "p1");

    let mut changes = Changeset::new();
    let first = approve(
        &f.services,
        &ctx(1),
        "p1",
        &staff("finance-2", &[Role::Finance]),
        &mut changes,
    )
    .await
    .unwrap()
    .unwrap();
    assert!(matches!(first.outcome, Outcome::Pending { missing } if missing.approvals == 1));
    commit(&f, changes).await;

    let mut changes = Changeset::new();
    let second = approve(
        &f.services,
        &ctx(2),
        "p1",
        &staff("admin-1", &[Role::Admin]),
        &mut changes,
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(second.outcome, Outcome::Approved);
    commit(&f, changes).await;

    let stored = load(&f.services, "p1").await.unwrap();
    assert_eq!(stored.entity.status, ProcessStatus::Approved);
    assert_eq!(stored.version, 3);
    assert_eq!(
        events_of(&f, "p1").await,
        [
            "approval.requested",
            "approval.approval_added",
            "approval.approved"
        ]
    );
    let pending = queue(&f.services, QueueFilter::default()).await.unwrap();
    assert_eq!(pending["items"], serde_json::json!([]));
    let approved = QueueFilter {
        status: Some("approved".into()),
        ..QueueFilter::default()
    };
    let approved = queue(&f.services, approved).await.unwrap();
    assert_eq!(approved["items"][0]["id"], "p1");
    let bad = QueueFilter {
        status: Some("decided".into()),
        ..QueueFilter::default()
    };
    assert_eq!(
        queue(&f.services, bad).await.unwrap_err().http_status(),
        400
    );

    // Rejected, expired and cancelled processes, each with its event.
    started(&f, payout("p3", "5000"), &facts(&[])).await;
    let mut changes = Changeset::new();
    let rejected = reject(
        &f.services,
        &ctx(3),
        "p3",
        &staff("finance-2", &[Role::Finance]),
        "not earned",
        &mut changes,
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(rejected.outcome, Outcome::Rejected);
    commit(&f, changes).await;
    started(&f, payout("p4", "5000"), &facts(&[])).await;
    let mut changes = Changeset::new();
    expire(&f.services, &ctx(60), "p4", &mut changes)
        .await
        .unwrap()
        .unwrap();
    commit(&f, changes).await;
    started(&f, payout("p5", "5000"), &facts(&[])).await;
    let mut changes = Changeset::new();
    cancel(&f.services, &ctx(4), "p5", "payout voided", &mut changes)
        .await
        .unwrap()
        .unwrap();
    commit(&f, changes).await;
    for (id, status, action) in [
        ("p3", ProcessStatus::Rejected, "approval.rejected"),
        ("p4", ProcessStatus::Expired, "approval.expired"),
        ("p5", ProcessStatus::Cancelled, "approval.cancelled"),
    ] {
        assert_eq!(load(&f.services, id).await.unwrap().entity.status, status);
        assert_eq!(events_of(&f, id).await[1], action);
    }
}

#[tokio::test]
async fn a_refused_decision_writes_nothing() {
    let f = fixture();
    started(&f, payout("p1", "20000"), &facts(&[])).await;
    let mut changes = Changeset::new();
    approve(
        &f.services,
        &ctx(1),
        "p1",
        &staff("finance-2", &[Role::Finance]),
        &mut changes,
    )
    .await
    .unwrap()
    .unwrap();
    commit(&f, changes).await;
    let before = counts(&f).await;
    let stored = load(&f.services, "p1").await.unwrap();

    let refused: Vec<(Principal, Refusal)> = vec![
        (
            staff("finance-1", &[Role::Finance, Role::Admin]),
            Refusal::Requester {
                action: Action::Approve,
                process_type: ProcessType::COMMISSION_PAYOUT,
            },
        ),
        (
            staff("finance-2", &[Role::Finance, Role::Admin]),
            Refusal::AlreadyApproved {
                by: "finance-2".into(),
            },
        ),
        (
            staff("finance-3", &[Role::Finance]),
            Refusal::LastApproverRole {
                role: Role::Admin,
                position: 2,
                required: 2,
            },
        ),
    ];
    for (who, why) in refused {
        let mut changes = Changeset::new();
        let answer = approve(&f.services, &ctx(2), "p1", &who, &mut changes)
            .await
            .unwrap();
        assert_eq!(answer.unwrap_err(), why);
        let (ops, _) = changes.into_parts();
        assert!(ops.is_empty(), "{who:?}: nothing staged");
    }
    let mut changes = Changeset::new();
    let answer = reject(
        &f.services,
        &ctx(2),
        "p1",
        &staff("sales-1", &[Role::Sales]),
        "no",
        &mut changes,
    )
    .await
    .unwrap();
    assert!(matches!(answer, Err(Refusal::RoleNotAllowed { .. })));
    let answer = expire(&f.services, &ctx(2), "p1", &mut changes)
        .await
        .unwrap();
    assert!(matches!(answer, Err(Refusal::NotDueYet { .. })));
    let answer = cancel(&f.services, &ctx(2), "p1", " ", &mut changes)
        .await
        .unwrap();
    assert!(matches!(answer, Err(Refusal::ReasonRequired { .. })));
    assert!(changes.into_parts().0.is_empty());
    assert_eq!(
        counts(&f).await,
        before,
        "a refused decision writes nothing"
    );
    let after = load(&f.services, "p1").await.unwrap();
    assert_eq!(
        (after.entity, after.version),
        (stored.entity, stored.version)
    );

    // A refusal is the kernel's error for a caller that does not look at it; an unknown
    // process is not found.
    let mut changes = Changeset::new();
    let err = async {
        approve(
            &f.services,
            &ctx(2),
            "p1",
            &staff("finance-2", &[Role::Finance]),
            &mut changes,
        )
        .await??;
        Ok::<_, Error>(())
    }
    .await
    .unwrap_err();
    assert_eq!(err.http_status(), 403);
    let err = approve(
        &f.services,
        &ctx(2),
        "nope",
        &staff("finance-2", &[Role::Finance]),
        &mut changes,
    )
    .await
    .unwrap_err();
    assert_eq!(err.http_status(), 404);
}
