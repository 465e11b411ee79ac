//! Approval policies: per process type, who may approve and reject, how many distinct people
//! must approve (more above amount thresholds, the last of a given role), and when a request
//! is approved without people. Configuration, validated whenever it is loaded or replaced, with
//! errors naming the field.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use brokeros_kernel::money::{Currency, Money};
use brokeros_kernel::principal::Role;
use brokeros_kernel::{Error, Result};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// When a request is approved without people. The withdrawals' configuration embeds it as
/// `withdrawals.auto_approval` in the broker's configuration document, in this shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AutoApprovalConfig {
    /// Trading groups whose clients may be auto-approved (a client with none is not).
    pub client_groups: Vec<String>,
    /// Up to this amount, per currency; a currency missing here is never auto-approved.
    #[serde(deserialize_with = "brokeros_kernel::money::amount::deserialize_map")]
    pub max_amount: BTreeMap<String, Decimal>,
    /// Auto-approvals per client per UTC day; the rest go to people.
    pub max_per_day: u32,
}

/// The most approvers a policy may require: more than this is a typo, not a control.
pub const MAX_APPROVERS: u32 = 10;

/// The longest decision deadline a policy may set (ten years).
pub const MAX_DECISION_TIMEOUT_SECONDS: u64 = 10 * 366 * 86_400;

/// What kind of business process is governed: an open, lower-case identifier such as
/// `withdrawal` or `commission_payout`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ProcessType(Cow<'static, str>);

impl ProcessType {
    pub const WITHDRAWAL: ProcessType = ProcessType(Cow::Borrowed("withdrawal"));
    pub const COMMISSION_PAYOUT: ProcessType = ProcessType(Cow::Borrowed("commission_payout"));
    pub const CONTEST_PRIZE: ProcessType = ProcessType(Cow::Borrowed("contest_prize"));
    pub const PAMM_OFFER: ProcessType = ProcessType(Cow::Borrowed("pamm_offer"));
    pub const RULE_CHANGE: ProcessType = ProcessType(Cow::Borrowed("rule_change"));

    /// 1 to 64 characters: lower-case letters, digits and `_`, starting with a letter.
    pub fn new(id: &str) -> Result<ProcessType> {
        let valid = id.len() <= 64
            && id.starts_with(|c: char| c.is_ascii_lowercase())
            && id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !valid {
            let shown: String = id.chars().take(70).collect();
            return Err(Error::invalid(
                "invalid_process_type",
                "process_type",
                format!(
                    "process type '{shown}' must be 1 to 64 lower-case letters, digits or '_', starting with a letter"
                ),
            ));
        }
        Ok(ProcessType(Cow::Owned(id.to_string())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ProcessType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for ProcessType {
    type Error = Error;
    fn try_from(id: String) -> Result<ProcessType> {
        ProcessType::new(&id)
    }
}

impl From<ProcessType> for String {
    fn from(t: ProcessType) -> String {
        t.0.into_owned()
    }
}

/// How many distinct people must approve, and which role the last of them must hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Requirement {
    pub approvers: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_approver_role: Option<Role>,
}

/// More approvers above an amount. Applies when the amount is above the limit for its
/// currency, when `above` names no limit for that currency (a rule nobody wrote must not make
/// approval easier), and when the process has no amount.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AmountTier {
    /// Currency code → amount.
    #[serde(deserialize_with = "brokeros_kernel::money::amount::deserialize_map")]
    pub above: BTreeMap<String, Decimal>,
    pub approvers: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_approver_role: Option<Role>,
}

/// How one process type is approved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApprovalPolicy {
    /// Who may approve.
    pub approver_roles: BTreeSet<Role>,
    /// Distinct approvers below every tier, and the role of the last of them.
    pub approvers: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_approver_role: Option<Role>,
    /// In order of strictly more approvers; the strictest tier that applies decides.
    #[serde(default)]
    pub tiers: Vec<AmountTier>,
    /// When a request is approved without people: all of its conditions hold (the client is
    /// in one of its groups, the amount is within the limit of its currency, the daily count is
    /// not used up) and the caller's own checks held nothing for review. A currency it has no
    /// limit for is never auto-approved; a request without an amount only when it has no
    /// limits at all. Absent: nothing is auto-approved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_approval: Option<AutoApprovalConfig>,
    /// Whether the requester may approve their own request: false for four-eyes.
    #[serde(default)]
    pub requester_may_approve: bool,
    /// Who may reject.
    pub rejecter_roles: BTreeSet<Role>,
    /// Whether the requester may reject their own request (the safe direction).
    #[serde(default)]
    pub requester_may_reject: bool,
    /// How long a pending process waits for people before it may expire; absent: no deadline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision_timeout_seconds: Option<u64>,
}

/// A validation error naming `field`, in the message too (serde shows only the message).
pub(crate) fn invalid(field: &str, message: impl fmt::Display) -> Error {
    Error::invalid(
        "invalid_approval_policy",
        field,
        format!("{field}: {message}"),
    )
}

fn check_limits(field: &str, limits: &BTreeMap<String, Decimal>) -> Result<()> {
    for (code, amount) in limits {
        let field = format!("{field}.{code}");
        Currency::parse(&field, code)
            .and_then(|currency| Money::positive(&field, *amount, currency))
            .map_err(|e| invalid(&field, e))?;
    }
    Ok(())
}

fn check_requirement(
    field: &str,
    approvers: u32,
    last_approver_role: Option<Role>,
    approver_roles: &BTreeSet<Role>,
) -> Result<()> {
    if !(1..=MAX_APPROVERS).contains(&approvers) {
        return Err(invalid(
            &format!("{field}approvers"),
            format!("must be 1 to {MAX_APPROVERS}, not {approvers}"),
        ));
    }
    if let Some(role) = last_approver_role
        && !approver_roles.contains(&role)
    {
        return Err(invalid(
            &format!("{field}last_approver_role"),
            format!("{role} is not among the approver_roles"),
        ));
    }
    Ok(())
}

impl ApprovalPolicy {
    /// Four eyes, simply: one approval by someone of `roles` other than the requester; they or
    /// the requester may reject; no tiers, no auto-approval, no deadline.
    pub fn one_approval_by(roles: &[Role]) -> ApprovalPolicy {
        let roles: BTreeSet<Role> = roles.iter().copied().collect();
        ApprovalPolicy {
            approver_roles: roles.clone(),
            approvers: 1,
            last_approver_role: None,
            tiers: Vec::new(),
            auto_approval: None,
            requester_may_approve: false,
            rejecter_roles: roles,
            requester_may_reject: true,
            decision_timeout_seconds: None,
        }
    }

    /// Refuses a policy that cannot be followed or says something other than it means;
    /// `field` is where it sits in its file (e.g. `policies.withdrawal`).
    pub fn validate(&self, field: &str) -> Result<()> {
        if self.approver_roles.is_empty() {
            return Err(invalid(
                &format!("{field}.approver_roles"),
                "at least one role must be able to approve",
            ));
        }
        if self.rejecter_roles.is_empty() {
            return Err(invalid(
                &format!("{field}.rejecter_roles"),
                "at least one role must be able to reject",
            ));
        }
        check_requirement(
            &format!("{field}."),
            self.approvers,
            self.last_approver_role,
            &self.approver_roles,
        )?;
        let mut fewer = self.approvers;
        for (i, tier) in self.tiers.iter().enumerate() {
            let at = format!("{field}.tiers[{i}].");
            check_requirement(
                &at,
                tier.approvers,
                tier.last_approver_role,
                &self.approver_roles,
            )?;
            if tier.approvers <= fewer {
                return Err(invalid(
                    &format!("{at}approvers"),
                    format!(
                        "a tier must require more approvers than what comes before it ({fewer}), not {}",
                        tier.approvers
                    ),
                ));
            }
            fewer = tier.approvers;
            check_limits(&format!("{at}above"), &tier.above)?;
        }
        if let Some(auto) = &self.auto_approval {
            let at = format!("{field}.auto_approval");
            if auto.client_groups.iter().any(|g| g.trim().is_empty()) {
                return Err(invalid(
                    &format!("{at}.client_groups"),
                    "a client group must not be blank",
                ));
            }
            check_limits(&format!("{at}.max_amount"), &auto.max_amount)?;
        }
        if let Some(seconds) = self.decision_timeout_seconds
            && !(1..=MAX_DECISION_TIMEOUT_SECONDS).contains(&seconds)
        {
            return Err(invalid(
                &format!("{field}.decision_timeout_seconds"),
                format!("must be 1 to {MAX_DECISION_TIMEOUT_SECONDS}, not {seconds}"),
            ));
        }
        Ok(())
    }

    /// What a process of `amount` needs: the strictest tier that applies, else the base
    /// requirement; with the tier that decided (`None`: the base).
    pub fn requirement_for(&self, amount: Option<Money>) -> (Requirement, Option<TierApplied>) {
        let applied = self.tiers.iter().rev().find_map(|tier| {
            let limit = amount.and_then(|a| tier.above.get(a.currency().code).copied());
            match (amount, limit) {
                (Some(a), Some(l)) if a.amount() <= l => None,
                _ => Some(TierApplied {
                    approvers: tier.approvers,
                    last_approver_role: tier.last_approver_role,
                    limit,
                }),
            }
        });
        match applied {
            Some(t) => (
                Requirement {
                    approvers: t.approvers,
                    last_approver_role: t.last_approver_role,
                },
                Some(t),
            ),
            None => (
                Requirement {
                    approvers: self.approvers,
                    last_approver_role: self.last_approver_role,
                },
                None,
            ),
        }
    }
}

/// The tier that set a process's requirement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TierApplied {
    pub approvers: u32,
    pub last_approver_role: Option<Role>,
    /// The limit the amount was above; `None` when the tier has no limit for the currency or
    /// the process has no amount.
    pub limit: Option<Decimal>,
}

fn ordinal(n: u32) -> String {
    match n {
        1 => "first".into(),
        2 => "second".into(),
        3 => "third".into(),
        4 => "fourth".into(),
        5 => "fifth".into(),
        n => format!("{n}th"),
    }
}

impl fmt::Display for TierApplied {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "approval: above the {}-approver threshold",
            ordinal(self.approvers)
        )
    }
}

/// The policies of every process type, as one versioned whole: the caller stores, versions
/// and audits changes; a process records the version it was started under. Only a valid set
/// can be built or loaded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "UncheckedPolicySet")]
pub struct PolicySet {
    version: u64,
    policies: BTreeMap<ProcessType, ApprovalPolicy>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UncheckedPolicySet {
    version: u64,
    policies: BTreeMap<ProcessType, ApprovalPolicy>,
}

impl TryFrom<UncheckedPolicySet> for PolicySet {
    type Error = Error;
    fn try_from(raw: UncheckedPolicySet) -> Result<PolicySet> {
        PolicySet::new(raw.version, raw.policies)
    }
}

impl PolicySet {
    pub fn new(version: u64, policies: BTreeMap<ProcessType, ApprovalPolicy>) -> Result<PolicySet> {
        for (process_type, policy) in &policies {
            policy.validate(&format!("policies.{process_type}"))?;
        }
        Ok(PolicySet { version, policies })
    }

    pub fn version(&self) -> u64 {
        self.version
    }

    pub fn policies(&self) -> &BTreeMap<ProcessType, ApprovalPolicy> {
        &self.policies
    }

    /// The policy of `process_type`; a process type without one cannot be started.
    pub fn policy(&self, process_type: &ProcessType) -> Result<&ApprovalPolicy> {
        self.policies
            .get(process_type)
            .ok_or_else(|| Error::NotFound {
                entity: "approval policy",
                id: process_type.to_string(),
            })
    }

    /// The next version, with `policy` for `process_type` (added or replaced).
    pub fn with_policy(
        &self,
        process_type: ProcessType,
        policy: ApprovalPolicy,
    ) -> Result<PolicySet> {
        let mut policies = self.policies.clone();
        policies.insert(process_type, policy);
        PolicySet::new(self.version + 1, policies)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{dec, money, policies, policy};
    use brokeros_kernel::money::{EUR, JPY, USD};

    fn refused_field(policy: ApprovalPolicy) -> String {
        match policy.validate("policies.x").unwrap_err() {
            Error::Validation {
                code,
                field,
                message,
            } => {
                assert_eq!(code, "invalid_approval_policy");
                let field = field.unwrap();
                assert!(message.starts_with(&field), "{message}");
                field
            }
            other => panic!("not a validation error: {other:?}"),
        }
    }

    #[test]
    fn process_types_are_lower_case_identifiers() {
        assert_eq!(
            ProcessType::new("withdrawal").unwrap(),
            ProcessType::WITHDRAWAL
        );
        assert_eq!(ProcessType::RULE_CHANGE.as_str(), "rule_change");
        for bad in ["", "Withdrawal", "1x", "_x", "a-b", "a b", &"x".repeat(65)] {
            assert!(ProcessType::new(bad).is_err(), "{bad:?}");
        }
        assert!(ProcessType::new(&"x".repeat(64)).is_ok());
    }

    #[test]
    fn every_invalid_field_is_named() {
        type Change = Box<dyn Fn(&mut ApprovalPolicy)>;
        let cases: Vec<(&str, Change)> = vec![
            (
                "policies.x.approver_roles",
                Box::new(|p| p.approver_roles.clear()),
            ),
            (
                "policies.x.rejecter_roles",
                Box::new(|p| p.rejecter_roles.clear()),
            ),
            ("policies.x.approvers", Box::new(|p| p.approvers = 0)),
            (
                "policies.x.approvers",
                Box::new(|p| p.approvers = MAX_APPROVERS + 1),
            ),
            (
                "policies.x.last_approver_role",
                Box::new(|p| p.last_approver_role = Some(Role::Compliance)),
            ),
            (
                "policies.x.tiers[0].approvers",
                Box::new(|p| p.tiers[0].approvers = 1),
            ),
            (
                "policies.x.tiers[1].approvers",
                Box::new(|p| {
                    let again = p.tiers[0].clone();
                    p.tiers.push(again);
                }),
            ),
            (
                "policies.x.tiers[0].last_approver_role",
                Box::new(|p| p.tiers[0].last_approver_role = Some(Role::Sales)),
            ),
            (
                "policies.x.tiers[0].above.XYZ",
                Box::new(|p| {
                    p.tiers[0].above.insert("XYZ".into(), dec("1"));
                }),
            ),
            (
                "policies.x.tiers[0].above.USD",
                Box::new(|p| {
                    p.tiers[0].above.insert("USD".into(), dec("1.001"));
                }),
            ),
            (
                "policies.x.tiers[0].above.USD",
                Box::new(|p| {
                    p.tiers[0].above.insert("USD".into(), dec("0"));
                }),
            ),
            (
                "policies.x.auto_approval.max_amount.JPY",
                Box::new(|p| {
                    let auto = p.auto_approval.as_mut().unwrap();
                    auto.max_amount.insert("JPY".into(), dec("0.5"));
                }),
            ),
            (
                "policies.x.auto_approval.client_groups",
                Box::new(|p| {
                    p.auto_approval
                        .as_mut()
                        .unwrap()
                        .client_groups
                        .push(" ".into())
                }),
            ),
            (
                "policies.x.decision_timeout_seconds",
                Box::new(|p| p.decision_timeout_seconds = Some(0)),
            ),
            (
                "policies.x.decision_timeout_seconds",
                Box::new(|p| p.decision_timeout_seconds = Some(MAX_DECISION_TIMEOUT_SECONDS + 1)),
            ),
        ];
        assert!(policy().validate("policies.x").is_ok());
        for (field, change) in cases {
            let mut p = policy();
            change(&mut p);
            assert_eq!(refused_field(p), field);
        }
    }

    #[test]
    fn the_strictest_applicable_tier_decides() {
        let mut p = policy();
        p.tiers.push(AmountTier {
            above: BTreeMap::from([("USD".into(), dec("100000"))]),
            approvers: 3,
            last_approver_role: None,
        });
        let base = Requirement {
            approvers: 1,
            last_approver_role: None,
        };
        let (r, tier) = p.requirement_for(Some(money("10000.00", USD)));
        assert_eq!((r, tier), (base, None), "at the limit is not above it");
        let (r, tier) = p.requirement_for(Some(money("10000.01", USD)));
        assert_eq!(r.approvers, 2);
        assert_eq!(r.last_approver_role, Some(Role::Admin));
        assert_eq!(tier.unwrap().limit, Some(dec("10000.00")));
        assert_eq!(
            tier.unwrap().to_string(),
            "approval: above the second-approver threshold"
        );
        let (r, _) = p.requirement_for(Some(money("100000.01", USD)));
        assert_eq!(r.approvers, 3);
        // No limit written for the currency, or no amount at all: the strictest tier.
        for amount in [Some(money("1", EUR)), Some(money("1", JPY)), None] {
            let (r, tier) = p.requirement_for(amount);
            assert_eq!(r.approvers, 3, "{amount:?}");
            assert_eq!(tier.unwrap().limit, None);
        }
        p.tiers.clear();
        assert_eq!(p.requirement_for(None), (base, None));
    }

    #[test]
    fn a_policy_set_loads_validated_and_changes_by_version() {
        let set = policies();
        let json = serde_json::to_string(&set).unwrap();
        let loaded: PolicySet = serde_json::from_str(&json).unwrap();
        assert_eq!(loaded, set);
        assert_eq!(loaded.version(), 7);

        let mut bad: serde_json::Value = serde_json::from_str(&json).unwrap();
        bad["policies"]["commission_payout"]["tiers"][0]["approvers"] = 1.into();
        let err = serde_json::from_value::<PolicySet>(bad)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("policies.commission_payout.tiers[0].approvers"),
            "{err}"
        );
        let mut unknown: serde_json::Value = serde_json::from_str(&json).unwrap();
        unknown["policies"]["commission_payout"]["aprovers"] = 2.into();
        assert!(serde_json::from_value::<PolicySet>(unknown).is_err());
        let mut bad_type: serde_json::Value = serde_json::from_str(&json).unwrap();
        bad_type["policies"]["Bad-Type"] = bad_type["policies"]["commission_payout"].clone();
        let err = serde_json::from_value::<PolicySet>(bad_type)
            .unwrap_err()
            .to_string();
        assert!(err.contains("Bad-Type"), "{err}");

        let err = set.policy(&ProcessType::RULE_CHANGE).unwrap_err();
        assert!(matches!(err, Error::NotFound { .. }));
        let next = set.with_policy(ProcessType::RULE_CHANGE, policy()).unwrap();
        assert_eq!(next.version(), 8);
        assert!(next.policy(&ProcessType::RULE_CHANGE).is_ok());
        let mut broken = policy();
        broken.approvers = 0;
        let err = set
            .with_policy(ProcessType::RULE_CHANGE, broken)
            .unwrap_err();
        assert_eq!(
            err.body().field.as_deref(),
            Some("policies.rule_change.approvers")
        );
    }
}
