use std::collections::BTreeMap;

use brokeros_kernel::money::{EUR, JPY, USD};
use proptest::prelude::*;
use proptest::sample::{select, subsequence};

use super::*;
use crate::policy::AmountTier;
use crate::testing::{at, dec, money, policies, policy, staff};

fn payout(amount: Option<Money>) -> NewProcess {
    NewProcess {
        id: "payout-1".into(),
        process_type: ProcessType::COMMISSION_PAYOUT,
        subject: Subject {
            kind: "commission_payout".into(),
            id: "cp-1".into(),
        },
        amount,
        requested_by: "finance-1".into(),
    }
}

fn retail(today: u32) -> StartFacts {
    StartFacts {
        client_groups: vec!["vip".into(), "retail".into()],
        auto_approved_today: today,
        held_for_review: vec![],
    }
}

fn started(amount: &str, facts: &StartFacts) -> Started {
    ApprovalProcess::start(payout(Some(money(amount, USD))), &policies(), facts, at(0)).unwrap()
}

/// A pending process needing one approver (or two, the second an admin, when `two`).
fn pending(two: bool) -> ApprovalProcess {
    let process = started(if two { "20000" } else { "5000" }, &retail(0)).process;
    assert_eq!(process.status, ProcessStatus::Pending);
    process
}

fn with_policy(change: impl Fn(&mut ApprovalPolicy)) -> PolicySet {
    let mut p = policy();
    change(&mut p);
    policies()
        .with_policy(ProcessType::COMMISSION_PAYOUT, p)
        .unwrap()
}

#[test]
fn within_the_rule_a_request_is_auto_approved_and_says_why() {
    let s = started("1000.00", &retail(1));
    assert_eq!(
        s.auto_approval,
        AutoApproval::Approved {
            count: 2,
            max_per_day: 3
        }
    );
    let p = s.process;
    assert_eq!(p.status, ProcessStatus::AutoApproved);
    assert!(p.status.is_approved());
    assert_eq!(p.reasons, vec!["auto_approved: 2 of 3 today"]);
    assert_eq!((p.policy_version, p.expires_at), (7, None));
    assert_eq!(p.subject.kind, "commission_payout");
}

#[test]
fn a_request_not_auto_approved_names_every_reason() {
    let facts = StartFacts {
        client_groups: vec!["vip".into()],
        auto_approved_today: 3,
        held_for_review: vec![],
    };
    let s = started("20000", &facts);
    let AutoApproval::NotApproved { why } = &s.auto_approval else {
        panic!("auto-approved: {:?}", s.auto_approval)
    };
    assert_eq!(
        why,
        &vec![
            NotAutoApproved::GroupNotAutoApproved,
            NotAutoApproved::AboveLimit {
                amount: money("20000", USD),
                limit: dec("1000")
            },
            NotAutoApproved::DailyCountUsedUp { count: 3 },
        ]
    );
    let p = s.process;
    assert_eq!(
        p.reasons,
        vec![
            "auto_approval: the client's group is not auto-approved",
            "auto_approval: 20000.00 USD is above the limit of 1000 USD",
            "auto_approval: 3 auto-approved today already",
            "approval: above the second-approver threshold",
        ]
    );
    assert_eq!(p.status, ProcessStatus::Pending);
    assert_eq!(p.expires_at, Some(at(60)));
    assert_eq!(
        p.missing(),
        Missing {
            approvals: 2,
            last_approver_role: Some(Role::Admin)
        }
    );
}

#[test]
fn held_for_review_missing_limits_and_no_rule_each_prevent_auto_approval() {
    let mut held = retail(0);
    held.held_for_review = vec!["aml: velocity".into()];
    let s = started("1", &held);
    assert_eq!(s.process.reasons, vec!["aml: velocity"]);
    assert_eq!(
        s.auto_approval,
        AutoApproval::NotApproved {
            why: vec![NotAutoApproved::HeldForReview("aml: velocity".into())]
        }
    );

    let start = |amount, set: &PolicySet| {
        ApprovalProcess::start(payout(amount), set, &retail(0), at(0)).unwrap()
    };
    let s = start(Some(money("1", EUR)), &policies());
    assert_eq!(
        s.process.reasons,
        vec![
            "auto_approval: no limit for EUR",
            "approval: above the second-approver threshold"
        ]
    );
    assert_eq!(s.process.rules.required.approvers, 2, "no EUR tier limit");
    let s = start(None, &policies());
    assert_eq!(
        s.auto_approval.to_string(),
        "auto_approval: the request has no amount to hold against the limit"
    );
    let no_rule = with_policy(|p| p.auto_approval = None);
    let s = start(Some(money("1", USD)), &no_rule);
    assert_eq!(
        s.auto_approval,
        AutoApproval::NotApproved {
            why: vec![NotAutoApproved::NoRule]
        }
    );
    // A rule without amount limits auto-approves a request without an amount.
    let by_group = with_policy(|p| {
        p.tiers.clear();
        p.auto_approval.as_mut().unwrap().max_amount.clear();
    });
    assert_eq!(
        start(None, &by_group).process.status,
        ProcessStatus::AutoApproved
    );
    assert_eq!(
        start(Some(money("1", JPY)), &by_group)
            .auto_approval
            .to_string(),
        "auto_approval: no limit for JPY"
    );
}

#[test]
fn a_start_without_a_policy_or_with_bad_ids_is_refused() {
    let facts = retail(0);
    let mut other = payout(None);
    other.process_type = ProcessType::CONTEST_PRIZE;
    let err = ApprovalProcess::start(other, &policies(), &facts, at(0)).unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }));
    let mut bad = payout(None);
    bad.id = "a b".into();
    let err = ApprovalProcess::start(bad, &policies(), &facts, at(0)).unwrap_err();
    assert_eq!(err.body().field.as_deref(), Some("id"));
    let mut bad = payout(None);
    bad.subject.id = String::new();
    let err = ApprovalProcess::start(bad, &policies(), &facts, at(0)).unwrap_err();
    assert_eq!(err.body().field.as_deref(), Some("subject.id"));
    let mut bad = payout(None);
    bad.requested_by = "  ".into();
    let err = ApprovalProcess::start(bad, &policies(), &facts, at(0)).unwrap_err();
    assert_eq!(err.body().field.as_deref(), Some("requested_by"));
}

#[test]
fn one_approver_approves() {
    let mut p = pending(false);
    let outcome = p.approve(&staff("finance-2", &[Role::Finance, Role::Admin]), at(5));
    assert_eq!(outcome, Ok(Outcome::Approved));
    assert_eq!(p.status, ProcessStatus::Approved);
    assert_eq!(p.decisions.len(), 1);
    let d = &p.decisions[0];
    assert_eq!(
        (d.by.as_str(), d.role, d.verdict),
        ("finance-2", Role::Finance, Verdict::Approve)
    );
    assert_eq!((p.updated_at, p.expires_at), (at(5), None));
}

#[test]
fn two_distinct_approvers_the_last_one_an_admin() {
    let mut p = pending(true);
    let first = staff("finance-2", &[Role::Finance]);
    assert_eq!(
        p.approve(&first, at(1)),
        Ok(Outcome::Pending {
            missing: Missing {
                approvals: 1,
                last_approver_role: Some(Role::Admin)
            }
        })
    );
    assert_eq!(
        p.approve(&first, at(2)),
        Err(Refusal::AlreadyApproved {
            by: "finance-2".into()
        })
    );
    let refusal = p
        .approve(&staff("finance-3", &[Role::Finance]), at(2))
        .unwrap_err();
    assert_eq!(
        refusal,
        Refusal::LastApproverRole {
            role: Role::Admin,
            position: 2,
            required: 2
        }
    );
    assert_eq!(
        refusal.to_string(),
        "approval 2 of 2 must come from someone with the admin role"
    );
    assert_eq!(p.approvers().count(), 1, "refusals change nothing");
    assert_eq!(
        p.approve(&staff("admin-1", &[Role::Admin]), at(3)),
        Ok(Outcome::Approved)
    );
    assert_eq!(p.decisions[1].role, Role::Admin);
    assert_eq!(p.status, ProcessStatus::Approved);
}

#[test]
fn the_requester_never_approves_under_four_eyes() {
    let mut p = pending(false);
    let requester = staff("finance-1", &[Role::Finance, Role::Admin]);
    let refusal = p.approve(&requester, at(1)).unwrap_err();
    assert_eq!(
        refusal.to_string(),
        "a commission_payout is never approved by the person who requested it"
    );
    assert!(p.decisions.is_empty());
    let set = with_policy(|p| p.requester_may_approve = true);
    let mut p = ApprovalProcess::start(payout(Some(money("5000", USD))), &set, &retail(0), at(0))
        .unwrap()
        .process;
    assert_eq!(p.policy_version, 8);
    assert_eq!(p.approve(&requester, at(1)), Ok(Outcome::Approved));
}

#[test]
fn only_the_policys_roles_decide() {
    let mut p = pending(false);
    for role in [Role::Client, Role::Ib, Role::Sales, Role::Compliance] {
        let who = staff("x", &[role]);
        let refusal = p.approve(&who, at(1)).unwrap_err();
        assert_eq!(
            refusal.to_string(),
            "your role may not approve a commission_payout (only finance, admin)"
        );
        assert!(matches!(
            p.reject(&who, "no", at(1)),
            Err(Refusal::RoleNotAllowed {
                action: Action::Reject,
                ..
            })
        ));
    }
    assert_eq!(p.status, ProcessStatus::Pending);
}

#[test]
fn a_rejection_needs_a_rejecter_and_a_reason_and_ends_the_process() {
    let mut p = pending(true);
    let finance = staff("finance-2", &[Role::Finance]);
    p.approve(&finance, at(1)).unwrap();
    assert!(matches!(
        p.reject(&finance, "  ", at(2)),
        Err(Refusal::ReasonRequired {
            action: Action::Reject,
            ..
        })
    ));
    let requester = staff("finance-1", &[Role::Finance]);
    assert!(matches!(
        p.reject(&requester, "mine", at(2)),
        Err(Refusal::Requester {
            action: Action::Reject,
            ..
        })
    ));
    assert_eq!(
        p.reject(&finance, " wrong account ", at(3)),
        Ok(Outcome::Rejected)
    );
    assert_eq!(p.status, ProcessStatus::Rejected);
    let last = p.decisions.last().unwrap();
    assert_eq!(
        (last.verdict, last.reason.as_deref()),
        (Verdict::Reject, Some("wrong account"))
    );
    assert_eq!(p.expires_at, None);

    let set = with_policy(|p| p.requester_may_reject = true);
    let mut p = ApprovalProcess::start(payout(Some(money("5000", USD))), &set, &retail(0), at(0))
        .unwrap()
        .process;
    assert_eq!(
        p.reject(&requester, "withdrawn", at(1)),
        Ok(Outcome::Rejected)
    );
}

#[test]
fn a_decided_process_stays_decided() {
    let admin = staff("admin-1", &[Role::Admin]);
    let mut approved = pending(false);
    approved.approve(&admin, at(1)).unwrap();
    let mut rejected = pending(false);
    rejected.reject(&admin, "no", at(1)).unwrap();
    let mut expired = pending(false);
    expired.expire(at(60)).unwrap();
    let mut cancelled = pending(false);
    cancelled.cancel("payout voided", at(1)).unwrap();
    let auto = started("1", &retail(0)).process;
    for mut p in [approved, rejected, expired, cancelled, auto] {
        let before = p.clone();
        let status = p.status;
        let refusal = p
            .approve(&staff("admin-2", &[Role::Admin]), at(2))
            .unwrap_err();
        assert_eq!(
            refusal.to_string(),
            format!("approval process payout-1 is {status}; it cannot be approved")
        );
        assert!(matches!(
            p.reject(&admin, "late", at(2)),
            Err(Refusal::NotPending { .. })
        ));
        assert!(matches!(p.expire(at(600)), Err(Refusal::NotPending { .. })));
        assert!(matches!(
            p.cancel("late", at(2)),
            Err(Refusal::NotPending { .. })
        ));
        assert_eq!(p, before);
    }
}

#[test]
fn a_pending_process_expires_at_its_deadline_and_not_before() {
    let mut p = pending(false);
    assert_eq!(
        p.expire(at(59)),
        Err(Refusal::NotDueYet {
            id: "payout-1".into(),
            expires_at: at(60)
        })
    );
    p.expire(at(60)).unwrap();
    assert_eq!(p.status, ProcessStatus::Expired);
    let set = with_policy(|p| p.decision_timeout_seconds = None);
    let mut p = ApprovalProcess::start(payout(Some(money("5000", USD))), &set, &retail(0), at(0))
        .unwrap()
        .process;
    assert_eq!(p.expires_at, None);
    assert!(matches!(
        p.expire(at(100_000)),
        Err(Refusal::NoDeadline { .. })
    ));
}

#[test]
fn a_cancellation_needs_a_reason() {
    let mut p = pending(false);
    assert_eq!(
        p.cancel("", at(1)).unwrap_err().to_string(),
        "a reason is needed to cancel a commission_payout"
    );
    p.cancel("payout voided", at(1)).unwrap();
    assert_eq!(p.status, ProcessStatus::Cancelled);
    assert_eq!(p.cancel_reason.as_deref(), Some("payout voided"));
}

#[test]
fn refusals_become_the_kernels_errors() {
    let mut p = pending(true);
    let requester = staff("finance-1", &[Role::Finance]);
    let forbidden = [
        p.approve(&staff("s", &[Role::Sales]), at(1)).unwrap_err(),
        p.approve(&requester, at(1)).unwrap_err(),
    ];
    for refusal in forbidden {
        assert!(matches!(Error::from(refusal), Error::Forbidden { .. }));
    }
    let reason = Error::from(
        p.reject(&staff("a", &[Role::Admin]), "", at(1))
            .unwrap_err(),
    );
    assert!(matches!(reason, Error::Validation { .. }));
    assert_eq!(reason.body().field.as_deref(), Some("reason"));
    let not_due = Error::from(p.expire(at(1)).unwrap_err());
    assert!(matches!(
        not_due,
        Error::Conflict {
            code: "approval_not_due",
            ..
        }
    ));
    p.cancel("gone", at(1)).unwrap();
    let closed = Error::from(p.approve(&staff("a", &[Role::Admin]), at(2)).unwrap_err());
    assert!(matches!(
        closed,
        Error::Conflict {
            code: "approval_not_pending",
            ..
        }
    ));
}

#[test]
fn a_process_round_trips_through_json() {
    let mut p = pending(true);
    p.approve(&staff("finance-2", &[Role::Finance]), at(1))
        .unwrap();
    let json = serde_json::to_value(&p).unwrap();
    assert_eq!(json["status"], "pending");
    assert_eq!(json["amount"]["amount"], "20000.00");
    assert_eq!(json["rules"]["required"]["last_approver_role"], "admin");
    let back: ApprovalProcess = serde_json::from_value(json).unwrap();
    assert_eq!(back, p);
}

/// Policies of any shape: staff approver roles, 1 to 3 approvers, up to two tiers of more,
/// each maybe with a last role.
fn any_policy() -> impl Strategy<Value = ApprovalPolicy> {
    let staff_roles = vec![Role::Compliance, Role::Finance, Role::Admin];
    (
        subsequence(staff_roles, 1..=3),
        1u32..=3,
        any::<Option<prop::sample::Index>>(),
        prop::collection::vec(
            (
                1u32..=2,
                1i64..=100_000,
                any::<Option<prop::sample::Index>>(),
            ),
            0..=2,
        ),
        any::<bool>(),
    )
        .prop_map(|(roles, approvers, last, tiers, requester_may_reject)| {
            let pick = |i: Option<prop::sample::Index>| i.map(|i| *i.get(&roles));
            let mut needed = approvers;
            let tiers = tiers
                .into_iter()
                .map(|(more, limit, last)| {
                    needed += more;
                    AmountTier {
                        above: BTreeMap::from([("USD".into(), Decimal::new(limit, 0))]),
                        approvers: needed,
                        last_approver_role: pick(last),
                    }
                })
                .collect();
            ApprovalPolicy {
                approver_roles: roles.iter().copied().collect(),
                approvers,
                last_approver_role: pick(last),
                tiers,
                auto_approval: None,
                requester_may_approve: false,
                rejecter_roles: roles.iter().copied().collect(),
                requester_may_reject,
                decision_timeout_seconds: None,
            }
        })
}

fn any_amount() -> impl Strategy<Value = Option<Money>> {
    prop::option::weighted(
        0.9,
        (select(vec![USD, EUR, JPY]), 1i64..=20_000_000).prop_map(|(c, units)| {
            Money::positive("amount", Decimal::new(units, c.scale), c).unwrap()
        }),
    )
}

fn any_person() -> impl Strategy<Value = Principal> {
    let roles = vec![Role::Sales, Role::Compliance, Role::Finance, Role::Admin];
    (
        select(vec!["p1", "p2", "p3", "p4", "p5"]),
        subsequence(roles, 1..=3),
    )
        .prop_map(|(sub, roles)| staff(sub, &roles))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    /// Whatever the policy and whoever tries in whatever order: an approved process has at
    /// least as many distinct approvers as its policy requires for its amount, none of them
    /// the requester, each in an approver role, the last in the role the policy names; and a
    /// refusal changes nothing.
    #[test]
    fn no_process_is_approved_short_of_its_policy_or_by_its_requester(
        policy in any_policy(),
        amount in any_amount(),
        requester in select(vec!["p1", "p2"]),
        steps in prop::collection::vec((any_person(), prop::bool::weighted(0.1)), 0..=10),
    ) {
        policy.validate("policy").unwrap();
        let set = PolicySet::new(1, BTreeMap::from([(ProcessType::RULE_CHANGE, policy.clone())])).unwrap();
        let new = NewProcess {
            id: "p".into(),
            process_type: ProcessType::RULE_CHANGE,
            subject: Subject { kind: "rule".into(), id: "r-1".into() },
            amount,
            requested_by: requester.into(),
        };
        let mut p = ApprovalProcess::start(new, &set, &StartFacts::default(), at(0)).unwrap().process;
        let (required, _) = policy.requirement_for(amount);
        prop_assert_eq!(p.rules.required, required);
        for (i, (who, reject)) in steps.iter().enumerate() {
            let before = p.clone();
            let result = if *reject {
                p.reject(who, "no", at(i as i64))
            } else {
                p.approve(who, at(i as i64))
            };
            if result.is_err() {
                prop_assert_eq!(&p, &before);
            }
            let approvers: Vec<&Decision> = p.approvers().collect();
            let distinct: BTreeSet<&str> = approvers.iter().map(|d| d.by.as_str()).collect();
            prop_assert_eq!(distinct.len(), approvers.len());
            prop_assert!(approvers.iter().all(|d| d.by != requester));
            prop_assert!(approvers.iter().all(|d| policy.approver_roles.contains(&d.role)));
            if p.status == ProcessStatus::Approved {
                prop_assert!(distinct.len() as u32 >= required.approvers);
                if let Some(role) = required.last_approver_role {
                    prop_assert_eq!(approvers.last().unwrap().role, role);
                }
            } else {
                prop_assert!((approvers.len() as u32) < required.approvers);
            }
        }
    }
}
