//! The IB section of the broker's configuration document (`ib`): how clients are attributed
//! to IBs, the base of referral links, the sub-IBs an IB may invite unless its agreement says
//! otherwise, and the named symbol groups plans may refer to.

use std::collections::BTreeMap;

use brokeros_approvals::ApprovalPolicy;
use brokeros_kernel::money::Currency;
use brokeros_kernel::principal::Role;
use brokeros_kernel::{Error, Result};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::model::{AttributionPolicy, SymbolGroups};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IbConfig {
    /// `{"policy": "first_touch"}` or `{"policy": "last_touch", "window_days": N}`.
    pub attribution: AttributionPolicy,
    /// The page a referral link opens; the code and UTM parameters are added to it.
    pub referral_link_base: String,
    /// How many sub-IBs a new IB may invite when its approval does not say.
    pub default_sub_ib_allowance: u32,
    pub symbol_groups: SymbolGroups,
    #[serde(default)]
    pub payout: PayoutConfig,
    /// The trading platform servers whose deals are ingested and accrued.
    #[serde(default = "default_platform_servers")]
    pub platform_servers: Vec<String>,
}

/// The simulated platform's one server (`brokeros_local::SIMULATED_SERVER`).
fn default_platform_servers() -> Vec<String> {
    vec!["sim-1".to_string()]
}

/// How statements are paid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PayoutConfig {
    /// Per currency code: a statement paying more waits for finance's maker-checker approval.
    /// A currency without a threshold pays without approval.
    #[serde(default)]
    pub approval_threshold: BTreeMap<String, Decimal>,
    /// How long a statement whose credit failed waits before its next attempt (doubled after
    /// each failure).
    #[serde(default = "default_credit_retry_seconds")]
    pub credit_retry_seconds: u32,
}

impl Default for PayoutConfig {
    fn default() -> Self {
        PayoutConfig {
            approval_threshold: BTreeMap::new(),
            credit_retry_seconds: default_credit_retry_seconds(),
        }
    }
}

fn default_credit_retry_seconds() -> u32 {
    60
}

/// The longest first wait before a failed credit is tried again (a day).
const MAX_CREDIT_RETRY_SECONDS: u32 = 86_400;

impl PayoutConfig {
    /// The first wait before a failed credit is tried again.
    pub fn credit_retry(&self) -> time::Duration {
        time::Duration::seconds(i64::from(self.credit_retry_seconds))
    }

    /// Whether a statement paying `paid` in `currency` waits for finance.
    pub fn needs_approval(&self, currency: &str, paid: Decimal) -> bool {
        self.approval_threshold
            .get(currency)
            .is_some_and(|threshold| paid > *threshold)
    }
}

/// The longest window a last-touch policy looks back over (ten years).
const MAX_WINDOW_DAYS: u32 = 3650;

impl IbConfig {
    pub fn validate(&self) -> Result<()> {
        if let AttributionPolicy::LastTouch { window_days } = self.attribution
            && !(1..=MAX_WINDOW_DAYS).contains(&window_days)
        {
            return Err(Error::invalid(
                "invalid_config",
                "ib.attribution.window_days",
                format!("ib.attribution.window_days must be 1 to {MAX_WINDOW_DAYS}"),
            ));
        }
        let base = &self.referral_link_base;
        if !(base.starts_with("https://") || base.starts_with("http://"))
            || base.len() > 200
            || base.chars().any(|c| c.is_whitespace() || c == '#')
        {
            return Err(Error::invalid(
                "invalid_config",
                "ib.referral_link_base",
                "ib.referral_link_base must be an http(s) URL of at most 200 characters, without spaces or '#'",
            ));
        }
        for (code, threshold) in &self.payout.approval_threshold {
            let field = format!("ib.payout.approval_threshold.{code}");
            let currency = Currency::parse(&field, code)?;
            if *threshold < Decimal::ZERO {
                return Err(Error::invalid(
                    "invalid_config",
                    field,
                    "an approval threshold is not negative",
                ));
            }
            currency.exact(&field, *threshold)?;
        }
        if !(1..=MAX_CREDIT_RETRY_SECONDS).contains(&self.payout.credit_retry_seconds) {
            return Err(Error::invalid(
                "invalid_config",
                "ib.payout.credit_retry_seconds",
                format!("ib.payout.credit_retry_seconds must be 1 to {MAX_CREDIT_RETRY_SECONDS}"),
            ));
        }
        if self.platform_servers.is_empty() || self.platform_servers.iter().any(|s| !is_name(s, 64))
        {
            return Err(Error::invalid(
                "invalid_config",
                "ib.platform_servers",
                "ib.platform_servers names at least one server, each of letters, digits, '-' or '_'",
            ));
        }
        for (name, symbols) in &self.symbol_groups {
            let field = format!("ib.symbol_groups.{name}");
            if !is_name(name, 40) || symbols.is_empty() {
                return Err(Error::invalid(
                    "invalid_config",
                    field,
                    "a symbol group has a name of letters, digits, '-' or '_' and at least one symbol",
                ));
            }
            if let Some(bad) = symbols.iter().find(|s| !is_symbol(s)) {
                return Err(Error::invalid(
                    "invalid_config",
                    field,
                    format!(
                        "'{bad}' is not a symbol name (1 to 32 letters, digits, '.', '-', '_' or '#')"
                    ),
                ));
            }
        }
        Ok(())
    }
}

impl IbConfig {
    /// Commission payouts over the threshold: one approval by finance (or an admin), never by
    /// whoever started the payout run (four-eyes); finance or the requester may reject.
    pub fn approval_policy(&self) -> ApprovalPolicy {
        ApprovalPolicy::one_approval_by(&[Role::Finance, Role::Admin])
    }
}

fn is_name(name: &str, max: usize) -> bool {
    !name.is_empty()
        && name.len() <= max
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn is_symbol(symbol: &str) -> bool {
    !symbol.is_empty()
        && symbol.len() <= 32
        && symbol
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '#'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn config(change: impl FnOnce(&mut serde_json::Value)) -> Result<IbConfig> {
        let mut v = json!({
            "attribution": { "policy": "last_touch", "window_days": 30 },
            "referral_link_base": "https://portal.example/join",
            "default_sub_ib_allowance": 5,
            "symbol_groups": { "majors": ["EURUSD", "GBPUSD"], "metals": ["XAUUSD"] }
        });
        change(&mut v);
        let c: IbConfig = serde_json::from_value(v)
            .map_err(|e| Error::invalid("invalid_config", "ib", e.to_string()))?;
        c.validate()?;
        Ok(c)
    }

    fn field(r: Result<IbConfig>) -> String {
        r.unwrap_err().body().field.unwrap_or_default()
    }

    #[test]
    fn a_valid_section_reads_and_bad_ones_name_their_field() {
        let ok = config(|_| {}).unwrap();
        assert_eq!(
            ok.attribution,
            AttributionPolicy::LastTouch { window_days: 30 }
        );
        let first = config(|v| v["attribution"] = json!({ "policy": "first_touch" })).unwrap();
        assert_eq!(first.attribution, AttributionPolicy::FirstTouch);
        assert_eq!(
            field(config(|v| v["attribution"]["window_days"] = json!(0))),
            "ib.attribution.window_days"
        );
        assert!(
            config(|v| v["attribution"] = json!({ "policy": "first_touch", "window_days": 3 }))
                .is_err()
        );
        assert_eq!(
            field(config(|v| v["referral_link_base"] = json!("ftp://x"))),
            "ib.referral_link_base"
        );
        assert_eq!(
            field(config(|v| v["symbol_groups"]["empty"] = json!([]))),
            "ib.symbol_groups.empty"
        );
        assert_eq!(
            field(config(|v| v["symbol_groups"]["majors"] = json!(["EUR USD"]))),
            "ib.symbol_groups.majors"
        );
        assert_eq!(
            ok.payout.credit_retry(),
            time::Duration::minutes(1),
            "the default"
        );
        for seconds in [0, 86_401] {
            assert_eq!(
                field(config(
                    |v| v["payout"] = json!({ "credit_retry_seconds": seconds })
                )),
                "ib.payout.credit_retry_seconds"
            );
        }
    }
}
