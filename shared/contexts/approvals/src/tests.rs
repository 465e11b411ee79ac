//! The approvals repository on the embedded engine: processes started and decided inside the
//! caller's changeset, committed with their audit events, refusals that write nothing.

use std::sync::Arc;

use brokeros_kernel::audit::{Actor, AuditEvent};
use brokeros_kernel::changeset::Entity;
use brokeros_kernel::money::USD;
use brokeros_kernel::principal::Role;
use brokeros_store::{Condition, Item, Key, Query, Table, WriteOp};

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
        f.services
            .find::<ApprovalProcess>("p1")
            .await
            .unwrap()
            .is_none(),
        "staged only"
    );
    assert_eq!(changes.events().len(), 1);
    let before = counts(&f).await;
    commit(&f, changes).await;
    assert_eq!(counts(&f).await, (before.0 + 2, before.1 + 1));

    let stored = f.services.get::<ApprovalProcess>("p1").await.unwrap();
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
    assert!(
        f.services
            .find::<ApprovalProcess>("p1")
            .await
            .unwrap()
            .is_none()
    );
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
    assert!(matches!(err, Error::NotFound { .. }));
}

/// Commits `changes` unless `answer` is a refusal, which must have staged nothing.
async fn unless_refused<T>(
    f: &Fixture,
    changes: Changeset,
    answer: Refusable<T>,
) -> std::result::Result<T, Refusal> {
    let answer = answer.unwrap();
    match answer {
        Ok(_) => commit(f, changes).await,
        Err(_) => assert!(
            changes.into_parts().0.is_empty(),
            "a refusal stages nothing"
        ),
    }
    answer
}

/// `who`'s vote on `id` at `minutes`, committed unless refused.
async fn vote(
    f: &Fixture,
    minutes: i64,
    id: &str,
    who: &Principal,
    vote: Vote<'_>,
) -> std::result::Result<Decided, Refusal> {
    let mut changes = Changeset::new();
    let answer = decide(&f.services, &ctx(minutes), id, who, vote, &mut changes).await;
    unless_refused(f, changes, answer).await
}

/// `id` ended at `minutes`, committed unless refused.
async fn ended(
    f: &Fixture,
    minutes: i64,
    id: &str,
    ending: Ending<'_>,
) -> std::result::Result<ApprovalProcess, Refusal> {
    let mut changes = Changeset::new();
    let answer = end(&f.services, &ctx(minutes), id, ending, &mut changes).await;
    unless_refused(f, changes, answer).await
}

fn status(text: &str) -> QueueFilter {
    QueueFilter {
        status: Some(text.into()),
        ..QueueFilter::default()
    }
}

#[tokio::test]
async fn decisions_commit_with_their_events_and_move_the_process_between_queues() {
    let f = fixture();
    started(&f, payout("p1", "20000"), &facts(&[])).await;
    let pending = queue(&f.services, QueueFilter::default()).await.unwrap();
    assert_eq!(pending["items"][0]["id"], "p1");

    let finance = staff("finance-2", &[Role::Finance]);
    let first = vote(&f, 1, "p1", &finance, Vote::Approve).await.unwrap();
    assert!(matches!(first.outcome, Outcome::Pending { missing } if missing.approvals == 1));
    let admin = staff("admin-1", &[Role::Admin]);
    let second = vote(&f, 2, "p1", &admin, Vote::Approve).await.unwrap();
    assert_eq!(second.outcome, Outcome::Approved);

    let stored = f.services.get::<ApprovalProcess>("p1").await.unwrap();
    assert_eq!(stored.entity, second.process);
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
    let approved = queue(&f.services, status("approved")).await.unwrap();
    assert_eq!(approved["items"][0]["id"], "p1");
    let err = queue(&f.services, status("decided")).await.unwrap_err();
    assert!(matches!(err, Error::Validation { .. }));

    // Rejected, expired and cancelled processes, each with its event.
    for id in ["p3", "p4", "p5"] {
        started(&f, payout(id, "5000"), &facts(&[])).await;
    }
    let reason = Vote::Reject {
        reason: "not earned",
    };
    let rejected = vote(&f, 3, "p3", &finance, reason).await.unwrap();
    assert_eq!(rejected.outcome, Outcome::Rejected);
    ended(&f, 60, "p4", Ending::Expire).await.unwrap();
    let voided = Ending::Cancel {
        reason: "payout voided",
    };
    ended(&f, 4, "p5", voided).await.unwrap();
    for (id, status, action) in [
        ("p3", ProcessStatus::Rejected, "approval.rejected"),
        ("p4", ProcessStatus::Expired, "approval.expired"),
        ("p5", ProcessStatus::Cancelled, "approval.cancelled"),
    ] {
        assert_eq!(
            f.services
                .get::<ApprovalProcess>(id)
                .await
                .unwrap()
                .entity
                .status,
            status
        );
        assert_eq!(events_of(&f, id).await[1], action);
    }
}

#[tokio::test]
async fn a_refused_decision_writes_nothing() {
    let f = fixture();
    started(&f, payout("p1", "20000"), &facts(&[])).await;
    let finance = staff("finance-2", &[Role::Finance]);
    vote(&f, 1, "p1", &finance, Vote::Approve).await.unwrap();
    let before = counts(&f).await;
    let stored = f.services.get::<ApprovalProcess>("p1").await.unwrap();

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
        let answer = vote(&f, 2, "p1", &who, Vote::Approve).await;
        assert_eq!(answer.unwrap_err(), why, "{who:?}");
    }
    let sales = staff("sales-1", &[Role::Sales]);
    let answer = vote(&f, 2, "p1", &sales, Vote::Reject { reason: "no" }).await;
    assert!(matches!(answer, Err(Refusal::RoleNotAllowed { .. })));
    let answer = ended(&f, 2, "p1", Ending::Expire).await;
    assert!(matches!(answer, Err(Refusal::NotDueYet { .. })));
    let answer = ended(&f, 2, "p1", Ending::Cancel { reason: " " }).await;
    assert!(matches!(answer, Err(Refusal::ReasonRequired { .. })));
    assert_eq!(
        counts(&f).await,
        before,
        "a refused decision writes nothing"
    );
    let after = f.services.get::<ApprovalProcess>("p1").await.unwrap();
    assert_eq!(
        (after.entity, after.version),
        (stored.entity, stored.version)
    );

    // A refusal is the kernel's error for a caller that does not look at it; an unknown
    // process is not found.
    let mut changes = Changeset::new();
    let refused = async {
        decide(
            &f.services,
            &ctx(2),
            "p1",
            &finance,
            Vote::Approve,
            &mut changes,
        )
        .await??;
        Ok::<_, Error>(())
    };
    assert!(matches!(
        refused.await.unwrap_err(),
        Error::Forbidden { .. }
    ));
    let now = ctx(2);
    let unknown = decide(
        &f.services,
        &now,
        "nope",
        &finance,
        Vote::Approve,
        &mut changes,
    );
    assert!(matches!(unknown.await.unwrap_err(), Error::NotFound { .. }));
}
