//! Validation of a rules document: every error names the rule or provider at fault, and a
//! valid document comes out compiled.

use std::collections::BTreeSet;

use rust_decimal::Decimal;

use super::document::{ProviderDescriptor, RoutingDocument, Rule, RuleAction};
use crate::model::index::Compiled;
use brokeros_kernel::money::Currency;
use brokeros_kernel::{Error, Result, normalize};

pub(super) fn bad(field: &str, message: impl Into<String>) -> Error {
    Error::invalid("invalid_routing_rules", field, message)
}

fn check_countries<'a>(
    field: &str,
    owner: &str,
    countries: impl IntoIterator<Item = &'a String>,
) -> Result<()> {
    for c in countries {
        if normalize::country("country", c).ok().as_ref() != Some(c) {
            return Err(bad(
                field,
                format!("{owner}: '{c}' is not an upper-case ISO 3166-1 alpha-2 country code"),
            ));
        }
    }
    Ok(())
}

fn check_groups(
    field: &str,
    owner: &str,
    groups: &BTreeSet<String>,
    doc: &RoutingDocument,
) -> Result<()> {
    match groups.iter().find(|g| !doc.country_groups.contains_key(*g)) {
        Some(g) => Err(bad(field, format!("{owner}: unknown country group '{g}'"))),
        None => Ok(()),
    }
}

fn check_currency(field: &str, owner: &str, code: &str) -> Result<Currency> {
    Currency::parse("currency", code).map_err(|e| bad(field, format!("{owner}: {e}")))
}

/// `amount` has no more decimals than `currency` books.
fn check_scale(
    field: &str,
    owner: &str,
    what: &str,
    currency: Currency,
    amount: Decimal,
) -> Result<()> {
    currency
        .exact(what, amount)
        .map(|_| ())
        .map_err(|e| bad(field, format!("{owner}: {what}: {e}")))
}

fn check_not_empty<T>(
    field: &str,
    owner: &str,
    what: &str,
    set: &Option<BTreeSet<T>>,
) -> Result<()> {
    if set.as_ref().is_some_and(BTreeSet::is_empty) {
        return Err(bad(
            field,
            format!(
                "{owner}: when.{what} is empty and would match nothing; leave it out to match any"
            ),
        ));
    }
    Ok(())
}

fn validate_policies(doc: &RoutingDocument) -> Result<()> {
    if doc.version == 0 {
        return Err(bad("version", "version starts at 1"));
    }
    if !(1..=10).contains(&doc.max_attempts) {
        return Err(bad("max_attempts", "max_attempts must be 1 to 10"));
    }
    let r = &doc.ranking;
    if !(1..=168).contains(&r.success_rate_window_hours) {
        return Err(bad(
            "ranking",
            "ranking.success_rate_window_hours must be 1 to 168",
        ));
    }
    if r.min_attempts == 0 {
        return Err(bad("ranking", "ranking.min_attempts must be at least 1"));
    }
    if r.assumed_success_rate_percent > 100 {
        return Err(bad(
            "ranking",
            "ranking.assumed_success_rate_percent must be 0 to 100",
        ));
    }
    if !(1..=100).contains(&r.success_rate_step_percent) {
        return Err(bad(
            "ranking",
            "ranking.success_rate_step_percent must be 1 to 100",
        ));
    }
    let h = &doc.health;
    if !(1..=24).contains(&h.window_hours) || h.min_attempts == 0 {
        return Err(bad(
            "health",
            "health.window_hours must be 1 to 24 and health.min_attempts at least 1",
        ));
    }
    if !(0 < h.degraded_failure_rate_percent
        && h.degraded_failure_rate_percent < h.down_failure_rate_percent
        && h.down_failure_rate_percent <= 100)
    {
        return Err(bad(
            "health",
            "health thresholds must satisfy 0 < degraded_failure_rate_percent < down_failure_rate_percent <= 100",
        ));
    }
    for (name, countries) in &doc.country_groups {
        let owner = format!("country group '{name}'");
        if normalize::code("group", name, 32).is_err() {
            return Err(bad(
                "country_groups",
                format!("{owner}: a group name is 1 to 32 letters, digits, '-' or '_'"),
            ));
        }
        if countries.is_empty() {
            return Err(bad("country_groups", format!("{owner} is empty")));
        }
        check_countries("country_groups", &owner, countries)?;
    }
    Ok(())
}

fn validate_provider(p: &ProviderDescriptor, doc: &RoutingDocument) -> Result<()> {
    let field = "providers";
    let owner = format!("provider '{}'", p.id);
    let owner = owner.as_str();
    if normalize::code("id", &p.id, 40).ok().as_deref() != Some(p.id.as_str()) {
        return Err(bad(
            field,
            format!("{owner}: a provider id is 1 to 40 letters, digits, '-' or '_'"),
        ));
    }
    if p.methods.is_empty() {
        return Err(bad(field, format!("{owner}: no payment methods")));
    }
    if p.risk_levels.is_empty() {
        return Err(bad(field, format!("{owner}: no risk levels")));
    }
    check_countries(field, owner, &p.allowed_countries)?;
    check_countries(field, owner, &p.blocked_countries)?;
    check_groups(field, owner, &p.allowed_country_groups, doc)?;
    if let Some(c) = p
        .allowed_countries
        .intersection(&p.blocked_countries)
        .next()
    {
        return Err(bad(
            field,
            format!("{owner}: {c} is both allowed and blocked"),
        ));
    }
    if p.currencies.is_empty() {
        return Err(bad(field, format!("{owner}: no currencies")));
    }
    if p.percent_fee < Decimal::ZERO || p.percent_fee >= Decimal::ONE_HUNDRED {
        return Err(bad(
            field,
            format!("{owner}: percent_fee must be at least 0 and below 100"),
        ));
    }
    for (code, l) in &p.currencies {
        let currency = check_currency(field, owner, code)?;
        for (what, amount) in [
            ("min_amount", Some(l.min_amount)),
            ("max_amount", Some(l.max_amount)),
            ("daily_cap", l.daily_cap),
            ("fixed_fee", Some(l.fixed_fee)),
        ] {
            if let Some(amount) = amount {
                check_scale(field, owner, &format!("{code} {what}"), currency, amount)?;
            }
        }
        let problem = if l.min_amount <= Decimal::ZERO {
            Some("min_amount must be positive".to_string())
        } else if l.max_amount < l.min_amount {
            Some(format!(
                "max_amount {} is below min_amount {}",
                l.max_amount, l.min_amount
            ))
        } else if l.daily_cap.is_some_and(|cap| cap < l.min_amount) {
            Some("daily_cap is below min_amount: the provider could take nothing".to_string())
        } else if l.fixed_fee < Decimal::ZERO {
            Some("fixed_fee must not be negative".to_string())
        } else {
            None
        };
        if let Some(problem) = problem {
            return Err(bad(field, format!("{owner}: {code}: {problem}")));
        }
    }
    Ok(())
}

fn validate_rule(rule: &Rule, doc: &RoutingDocument) -> Result<()> {
    let field = "rules";
    let owner = format!("rule '{}'", rule.id);
    let owner = owner.as_str();
    if normalize::code("id", &rule.id, 64).ok().as_deref() != Some(rule.id.as_str()) {
        return Err(bad(
            field,
            format!("{owner}: a rule id is 1 to 64 letters, digits, '-' or '_'"),
        ));
    }
    let w = &rule.when;
    check_not_empty(field, owner, "countries", &w.countries)?;
    check_not_empty(field, owner, "country_groups", &w.country_groups)?;
    check_not_empty(field, owner, "currencies", &w.currencies)?;
    check_not_empty(field, owner, "methods", &w.methods)?;
    check_not_empty(field, owner, "risk_levels", &w.risk_levels)?;
    if let Some(countries) = &w.countries {
        check_countries(field, owner, countries)?;
    }
    if let Some(groups) = &w.country_groups {
        check_groups(field, owner, groups, doc)?;
    }
    for code in w.currencies.iter().flatten() {
        check_currency(field, owner, code)?;
    }
    if let Some(amounts) = &w.amount {
        if amounts.is_empty() {
            return Err(bad(
                field,
                format!("{owner}: when.amount is empty and would match nothing"),
            ));
        }
        if let Some(currencies) = &w.currencies
            && !currencies.iter().eq(amounts.keys())
        {
            return Err(bad(
                field,
                format!(
                    "{owner}: when.currencies and the currencies of when.amount differ; a currency without amount bounds would never match (leave currencies out)"
                ),
            ));
        }
        for (code, b) in amounts {
            let currency = check_currency(field, owner, code)?;
            for (what, amount) in [("from", b.from), ("below", b.below)] {
                if let Some(amount) = amount {
                    check_scale(
                        field,
                        owner,
                        &format!("amount {code} {what}"),
                        currency,
                        amount,
                    )?;
                }
            }
            let problem = match (b.from, b.below) {
                (None, None) => Some("give from, below or both".to_string()),
                (Some(f), _) if f < Decimal::ZERO => Some("from must not be negative".into()),
                (_, Some(b)) if b <= Decimal::ZERO => Some("below must be positive".into()),
                (Some(f), Some(b)) if f >= b => Some(format!(
                    "from {f} is not below {b}: the bounds match no amount"
                )),
                _ => None,
            };
            if let Some(problem) = problem {
                return Err(bad(
                    field,
                    format!("{owner}: amount bounds in {code}: {problem}"),
                ));
            }
        }
    }
    let providers = rule.action.providers();
    if providers.is_empty() {
        return Err(bad(
            field,
            format!("{owner}: {} names no provider", rule.action.kind()),
        ));
    }
    let mut seen = BTreeSet::new();
    for id in providers {
        if !doc.providers.iter().any(|p| &p.id == id) {
            return Err(bad(field, format!("{owner}: unknown provider '{id}'")));
        }
        if !seen.insert(id) {
            return Err(bad(
                field,
                format!("{owner}: provider '{id}' is listed twice"),
            ));
        }
    }
    Ok(())
}

/// Checks a document: its policies, every provider and rule on its own, unique ids, and that
/// no two pins to different providers can match the same deposit.
pub(super) fn validate(doc: &RoutingDocument) -> Result<Compiled> {
    validate_policies(doc)?;
    if doc.providers.is_empty() {
        return Err(bad("providers", "at least one provider is required"));
    }
    if doc.providers.len() > usize::from(u16::MAX) {
        return Err(bad("providers", "too many providers"));
    }
    let mut ids = BTreeSet::new();
    for p in &doc.providers {
        validate_provider(p, doc)?;
        if !ids.insert(&p.id) {
            return Err(bad(
                "providers",
                format!("provider '{}' is defined twice", p.id),
            ));
        }
    }
    let mut ids = BTreeSet::new();
    for rule in &doc.rules {
        validate_rule(rule, doc)?;
        if !ids.insert(&rule.id) {
            return Err(bad("rules", format!("rule '{}' is defined twice", rule.id)));
        }
    }
    let compiled = Compiled::new(doc);
    let pins: Vec<usize> = doc
        .rules
        .iter()
        .enumerate()
        .filter(|(_, r)| matches!(r.action, RuleAction::Pin(_)))
        .map(|(i, _)| i)
        .collect();
    for (n, &a) in pins.iter().enumerate() {
        for &b in &pins[n + 1..] {
            let (ra, rb) = (&doc.rules[a], &doc.rules[b]);
            if ra.action != rb.action && compiled.rules[a].overlaps(&compiled.rules[b]) {
                return Err(bad(
                    "rules",
                    format!(
                        "rules '{}' and '{}' pin different providers ('{}', '{}') and can match the same deposit",
                        ra.id,
                        rb.id,
                        ra.action.providers()[0],
                        rb.action.providers()[0]
                    ),
                ));
            }
        }
    }
    Ok(compiled)
}
