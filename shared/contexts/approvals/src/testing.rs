//! Helpers shared by the tests of this crate.

use std::collections::{BTreeMap, BTreeSet};

use brokeros_kernel::money::{Currency, Money};
use brokeros_kernel::principal::{Principal, Role};
use rust_decimal::Decimal;
use time::OffsetDateTime;

use crate::policy::{AmountTier, ApprovalPolicy, AutoApprovalConfig, PolicySet, ProcessType};

pub(crate) fn dec(text: &str) -> Decimal {
    text.parse().unwrap()
}

pub(crate) fn money(text: &str, currency: Currency) -> Money {
    Money::positive("amount", dec(text), currency).unwrap()
}

pub(crate) fn staff(sub: &str, roles: &[Role]) -> Principal {
    let roles: BTreeSet<Role> = roles.iter().copied().collect();
    Principal {
        sub: sub.into(),
        roles,
    }
}

/// `minutes` after a fixed start.
pub(crate) fn at(minutes: i64) -> OffsetDateTime {
    OffsetDateTime::UNIX_EPOCH + time::Duration::days(2) + time::Duration::minutes(minutes)
}

/// One approver (finance or admin) up to 10 000 USD, then two, the second an admin;
/// auto-approval of retail clients up to 1 000 USD, three a day; an hour to decide.
pub(crate) fn policy() -> ApprovalPolicy {
    ApprovalPolicy {
        approver_roles: BTreeSet::from([Role::Finance, Role::Admin]),
        approvers: 1,
        last_approver_role: None,
        tiers: vec![AmountTier {
            above: BTreeMap::from([("USD".into(), dec("10000.00"))]),
            approvers: 2,
            last_approver_role: Some(Role::Admin),
        }],
        auto_approval: Some(AutoApprovalConfig {
            client_groups: vec!["retail".into()],
            max_amount: BTreeMap::from([("USD".into(), dec("1000"))]),
            max_per_day: 3,
        }),
        requester_may_approve: false,
        rejecter_roles: BTreeSet::from([Role::Finance, Role::Admin]),
        requester_may_reject: false,
        decision_timeout_seconds: Some(3600),
    }
}

/// [`policy`] for commission payouts, at version 7.
pub(crate) fn policies() -> PolicySet {
    PolicySet::new(
        7,
        BTreeMap::from([(ProcessType::COMMISSION_PAYOUT, policy())]),
    )
    .unwrap()
}
