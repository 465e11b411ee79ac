//! The withdrawal policy (`WithdrawalsConfig::approval_policy`) against the withdrawal rules
//! as they stand: a property test drives the withdrawal checks and rules (as the API calls
//! them) and an approval process under the policy with the same requests, facts, configs and
//! approver / rejecter sequences, and asserts the same outcomes, refusals, reasons and recorded
//! approvals.

use std::collections::{BTreeMap, BTreeSet};

use brokeros_approvals::{
    ApprovalProcess, AutoApproval, NewProcess, Outcome, PolicySet, ProcessStatus, ProcessType,
    Refusal, StartFacts, Subject,
};
use brokeros_kernel::money::{CHF, Currency, EUR, GBP, JPY, Money, USD};
use brokeros_kernel::principal::{Principal, Role};
use brokeros_kernel::{Error, Result};
use brokeros_payments::model::PaymentMethod;
use proptest::prelude::*;
use proptest::sample::{select, subsequence};
use rust_decimal::Decimal;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::config::WithdrawalsConfig;
use crate::model::{
    ApprovalRequirement, CheckDecision, CheckFacts, DepositSource, EarlierWithdrawal,
    VerificationLevel, Withdrawal, WithdrawalStatus, check,
};

fn dec(text: &str) -> Decimal {
    text.parse().unwrap()
}

fn staff(sub: &str, roles: &[Role]) -> Principal {
    let roles: BTreeSet<Role> = roles.iter().copied().collect();
    Principal {
        sub: sub.into(),
        roles,
    }
}

/// `minutes` after a fixed start.
fn at(minutes: i64) -> OffsetDateTime {
    OffsetDateTime::UNIX_EPOCH + time::Duration::days(2) + time::Duration::minutes(minutes)
}

fn config() -> WithdrawalsConfig {
    WithdrawalsConfig::embedded_default()
}

fn policies(config: &WithdrawalsConfig) -> PolicySet {
    PolicySet::new(
        1,
        BTreeMap::from([(ProcessType::WITHDRAWAL, config.approval_policy())]),
    )
    .unwrap()
}

#[test]
fn the_default_withdrawal_rules_make_a_valid_policy() {
    let config = config();
    let policy = config.approval_policy();
    policy.validate("policies.withdrawal").unwrap();
    assert_eq!(policy.approvers, 1);
    assert_eq!(policy.tiers[0].above, config.second_approval_above);
    assert_eq!(policy.tiers[0].last_approver_role, Some(Role::Admin));
    assert!(!policy.requester_may_approve && policy.requester_may_reject);
    assert_eq!(policy.decision_timeout_seconds, Some(172_800));
}

/// What either side answered to one step, as a kind, so both can be compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seen {
    Pending,
    Approved,
    Rejected,
    RefusedRole,
    RefusedNotPending,
    RefusedRequester,
    RefusedSamePerson,
    RefusedLastRole,
}

fn seen_withdrawal(result: Result<Seen>) -> Seen {
    let message = match result {
        Ok(seen) => return seen,
        Err(Error::Conflict {
            code: "invalid_withdrawal_state",
            ..
        }) => return Seen::RefusedNotPending,
        Err(Error::Forbidden { message }) => message,
        Err(other) => panic!("unexpected withdrawal error {other:?}"),
    };
    if message.contains("your role may not") || message.contains("only finance") {
        Seen::RefusedRole
    } else if message.contains("the person who requested it") {
        Seen::RefusedRequester
    } else if message.contains("another person") {
        Seen::RefusedSamePerson
    } else if message.contains("an admin's") {
        Seen::RefusedLastRole
    } else {
        panic!("unexpected withdrawal refusal {message}")
    }
}

fn seen_process(result: std::result::Result<Outcome, Refusal>) -> Seen {
    match result {
        Ok(Outcome::Pending { .. }) => Seen::Pending,
        Ok(Outcome::Approved) => Seen::Approved,
        Ok(Outcome::Rejected) => Seen::Rejected,
        Err(Refusal::RoleNotAllowed { .. }) => Seen::RefusedRole,
        Err(Refusal::NotPending { .. }) => Seen::RefusedNotPending,
        Err(Refusal::Requester { .. }) => Seen::RefusedRequester,
        Err(Refusal::AlreadyApproved { .. }) => Seen::RefusedSamePerson,
        Err(Refusal::LastApproverRole { .. }) => Seen::RefusedLastRole,
        Err(other) => panic!("unexpected refusal {other}"),
    }
}

/// The withdrawal API's approve and reject: the role at the door (`require_any`), then
/// the withdrawal's own rules.
fn withdrawal_step(w: &mut Withdrawal, who: &Principal, reject: bool, minutes: i64) -> Seen {
    let finance = [Role::Finance, Role::Admin];
    seen_withdrawal(if reject {
        who.require_any(&finance, "reject withdrawals")
            .and_then(|()| w.reject("finance: not verified".into(), at(minutes)))
            .map(|()| Seen::Rejected)
    } else {
        who.require_any(&finance, "approve withdrawals")
            .and_then(|()| w.approve(who, at(minutes)))
            .map(|done| if done { Seen::Approved } else { Seen::Pending })
    })
}

fn same_status(w: WithdrawalStatus, p: ProcessStatus) -> bool {
    matches!(
        (w, p),
        (WithdrawalStatus::AwaitingApproval, ProcessStatus::Pending)
            | (WithdrawalStatus::Approved, ProcessStatus::Approved)
            | (WithdrawalStatus::Approved, ProcessStatus::AutoApproved)
            | (WithdrawalStatus::Rejected, ProcessStatus::Rejected)
    )
}

#[derive(Debug, Clone)]
struct Case {
    second_approval_above_usd: Decimal,
    max_per_day: u32,
    amount: Money,
    verification: VerificationLevel,
    client_groups: Vec<String>,
    auto_approved_today: u32,
    /// (minor units, hours ago, status)
    earlier: Vec<(i64, i64, WithdrawalStatus)>,
    requested_by: String,
    /// (who, reject rather than approve)
    steps: Vec<(Principal, bool)>,
}

fn currency() -> impl Strategy<Value = Currency> {
    select(vec![USD, EUR, GBP, CHF, JPY])
}

/// Minor units: small (auto-approvable), anywhere up to above the AML hard limit, or one
/// unit around a limit of the default rules.
fn units() -> impl Strategy<Value = i64> {
    let limits = vec![
        800, 1_000, 4_000, 5_000, 8_000, 10_000, 16_000, 20_000, 200_000, 250_000,
    ];
    prop_oneof![
        1i64..=150_000,
        1i64..=30_000_000,
        (select(limits), -1i64..=1).prop_map(|(limit, delta)| limit * 100 + delta),
    ]
}

fn principal() -> impl Strategy<Value = Principal> {
    let subs = vec!["client-1", "finance-1", "finance-2", "admin-1", "admin-2"];
    let roles = vec![
        Role::Client,
        Role::Sales,
        Role::Compliance,
        Role::Finance,
        Role::Admin,
    ];
    (select(subs), subsequence(roles, 1..=2)).prop_map(|(sub, roles)| staff(sub, &roles))
}

fn status() -> impl Strategy<Value = WithdrawalStatus> {
    select(vec![
        WithdrawalStatus::Requested,
        WithdrawalStatus::AwaitingApproval,
        WithdrawalStatus::Approved,
        WithdrawalStatus::Paid,
        WithdrawalStatus::Rejected,
        WithdrawalStatus::Expired,
        WithdrawalStatus::PayoutFailed,
    ])
}

fn case() -> impl Strategy<Value = Case> {
    let groups = vec!["real\\retail-usd", "real\\retail-eur", "real\\vip-usd"];
    (
        (1i64..=2_000_000, 0u32..=4, currency(), units()),
        prop_oneof![
            1 => Just(VerificationLevel::None),
            3 => Just(VerificationLevel::Basic),
            3 => Just(VerificationLevel::Enhanced),
        ],
        subsequence(groups, 0..=3),
        0u32..=4,
        prop::collection::vec((1i64..=1_500_000, 0i64..=48, status()), 0..=6),
        select(vec!["client-1", "finance-1", "admin-1"]),
        prop::collection::vec((principal(), prop::bool::weighted(0.15)), 0..=6),
    )
        .prop_map(
            |(
                (limit, max_per_day, currency, units),
                verification,
                groups,
                today,
                earlier,
                by,
                steps,
            )| Case {
                second_approval_above_usd: Decimal::new(limit, 2),
                max_per_day,
                amount: Money::positive("amount", Decimal::new(units, currency.scale), currency)
                    .unwrap(),
                verification,
                client_groups: groups.into_iter().map(String::from).collect(),
                auto_approved_today: today,
                earlier,
                requested_by: by.into(),
                steps,
            },
        )
}

/// The withdrawal as its request stores it (the record's defaults fill in the rest).
fn withdrawal(case: &Case) -> Withdrawal {
    let requested_at = at(0).format(&Rfc3339).unwrap();
    serde_json::from_value(serde_json::json!({
        "id": "wd-1",
        "client_id": "client-1",
        "amount": case.amount,
        "method": PaymentMethod::Card,
        "destination": "4111****1111",
        "status": WithdrawalStatus::Requested,
        "requested_by": case.requested_by,
        "requirement": null,
        "requested_at": requested_at,
        "updated_at": requested_at,
    }))
    .unwrap()
}

fn facts(case: &Case) -> CheckFacts {
    let currency = case.amount.currency();
    CheckFacts {
        verification: case.verification,
        client_groups: case.client_groups.clone(),
        deposits: vec![DepositSource {
            method: PaymentMethod::Card,
            provider: "cardpay-eu".into(),
            amount: Money::positive("amount", dec("100"), currency).unwrap(),
            credited_at: at(-10_000),
        }],
        earlier: case
            .earlier
            .iter()
            .map(|(units, hours_ago, status)| EarlierWithdrawal {
                amount: Money::positive("amount", Decimal::new(*units, currency.scale), currency)
                    .unwrap(),
                status: *status,
                requested_at: at(-60 * hours_ago),
            })
            .collect(),
        auto_approved_today: case.auto_approved_today,
    }
}

/// The withdrawal checks and rules on one side, the approval process under
/// `WithdrawalsConfig::approval_policy` on the other, fed the same request, facts and people.
fn run_both(case: &Case) -> std::result::Result<(), TestCaseError> {
    let mut config = config();
    config
        .second_approval_above
        .insert("USD".into(), case.second_approval_above_usd);
    config.auto_approval.max_per_day = case.max_per_day;
    let mut w = withdrawal(case);
    let decision = check(&w, &facts(case), &config, at(0));
    let CheckDecision::Accept {
        requirement,
        reasons,
        ..
    } = &decision
    else {
        // Refused by a check: withdrawals never start an approval for it.
        return Ok(());
    };
    w.decided(&decision, at(0)).unwrap();
    // The checks that send a withdrawal to finance whatever the rule says stay the
    // withdrawals' own; their reasons are the ones named after them.
    let held_for_review = reasons
        .iter()
        .filter(|r| r.starts_with("aml:") || r.starts_with("kyc:"))
        .cloned()
        .collect();
    let started = ApprovalProcess::start(
        NewProcess {
            id: "withdrawal-wd-1".into(),
            process_type: ProcessType::WITHDRAWAL,
            subject: Subject {
                kind: "withdrawal".into(),
                id: w.id.clone(),
            },
            amount: Some(w.amount),
            requested_by: w.requested_by.clone(),
        },
        &policies(&config),
        &StartFacts {
            client_groups: case.client_groups.clone(),
            auto_approved_today: case.auto_approved_today,
            held_for_review,
        },
        at(0),
    )
    .unwrap();
    let mut p = started.process;
    prop_assert_eq!(&p.reasons, &w.reasons);
    match requirement {
        ApprovalRequirement::None => {
            prop_assert_eq!(p.status, ProcessStatus::AutoApproved);
            let auto = matches!(started.auto_approval, AutoApproval::Approved { .. });
            prop_assert!(auto);
        }
        ApprovalRequirement::One | ApprovalRequirement::Two => {
            let two = *requirement == ApprovalRequirement::Two;
            prop_assert_eq!(p.status, ProcessStatus::Pending);
            prop_assert_eq!(p.rules.required.approvers, if two { 2 } else { 1 });
            prop_assert_eq!(
                p.rules.required.last_approver_role,
                two.then_some(Role::Admin)
            );
            let deadline = at(0) + time::Duration::seconds(config.approval_timeout_seconds as i64);
            prop_assert_eq!(p.expires_at, Some(deadline));
        }
    }
    for (i, (who, reject)) in case.steps.iter().enumerate() {
        let minutes = i as i64 + 1;
        let by_withdrawal = withdrawal_step(&mut w, who, *reject, minutes);
        let by_process = seen_process(if *reject {
            p.reject(who, "not verified", at(minutes))
        } else {
            p.approve(who, at(minutes))
        });
        prop_assert_eq!(by_withdrawal, by_process, "step {} by {:?}", i, who);
        prop_assert!(
            same_status(w.status, p.status),
            "{:?} vs {:?}",
            w.status,
            p.status
        );
        let withdrawal_approvals: Vec<(&str, Role)> = w
            .approvals
            .iter()
            .map(|a| (a.by.as_str(), a.role))
            .collect();
        let process_approvals: Vec<(&str, Role)> =
            p.approvers().map(|d| (d.by.as_str(), d.role)).collect();
        prop_assert_eq!(withdrawal_approvals, process_approvals);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn the_withdrawal_policy_decides_exactly_as_the_withdrawal_rules(case in case()) {
        run_both(&case)?;
    }
}

#[test]
fn both_agree_on_the_withdrawal_tests_own_two_approver_scenario() {
    let case = Case {
        second_approval_above_usd: dec("10000.00"),
        max_per_day: 3,
        amount: Money::positive("amount", dec("25000.00"), USD).unwrap(),
        verification: VerificationLevel::Enhanced,
        client_groups: vec!["real\\retail-usd".into()],
        auto_approved_today: 0,
        earlier: vec![],
        requested_by: "finance-1".into(),
        steps: vec![
            (staff("finance-1", &[Role::Finance]), false),
            (staff("finance-2", &[Role::Finance]), false),
            (staff("finance-2", &[Role::Finance]), false),
            (staff("finance-3", &[Role::Finance]), false),
            (staff("admin-1", &[Role::Admin]), false),
            (staff("admin-2", &[Role::Admin]), true),
        ],
    };
    run_both(&case).unwrap();
}
