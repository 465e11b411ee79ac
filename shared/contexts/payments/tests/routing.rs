//! Deposit routing: every rule kind, every provider limit, caps, health, success rate, cost,
//! the fallback order, validation of the rules document, and determinism.

use std::collections::BTreeMap;

use brokeros_kernel::money::{Currency, Money};
use brokeros_payments::model::{
    Attempt, AttemptOutcome, Decimal, DepositIntent, Exclusion, FallbackStop, Health, HealthPolicy,
    OutcomeCounts, PaymentMethod, ProviderStats, RankedBy, RiskLevel, RoutingDecision,
    RoutingDocument, RoutingRules, RoutingStats, assess_health,
};
use proptest::prelude::*;
use serde_json::{Value, json};
use time::macros::datetime;

fn dec(text: &str) -> Decimal {
    text.parse().unwrap()
}

fn intent(amount: &str, currency: &str, method: PaymentMethod, country: &str) -> DepositIntent {
    DepositIntent {
        client_id: "client_1".into(),
        amount: Money::positive_in(dec(amount), currency).unwrap(),
        method,
        country: country.into(),
        risk_level: RiskLevel::Low,
        requested_at: datetime!(2026-03-01 10:00:00 UTC),
    }
}

fn card(amount: &str, country: &str) -> DepositIntent {
    intent(amount, "EUR", PaymentMethod::Card, country)
}

fn high_risk(mut i: DepositIntent) -> DepositIntent {
    i.risk_level = RiskLevel::High;
    i
}

/// A card provider taking EUR 10 to 10,000 at 0.30 + 2 %.
fn provider(id: &str) -> Value {
    json!({
        "id": id,
        "methods": ["card"],
        "currencies": { "EUR": { "min_amount": "10", "max_amount": "10000", "fixed_fee": "0.30" } },
        "percent_fee": "2"
    })
}

fn with(mut value: Value, field: &str, v: Value) -> Value {
    value[field] = v;
    value
}

fn document(providers: Vec<Value>, rules: Vec<Value>) -> Value {
    json!({
        "version": 1,
        "country_groups": { "eu": ["DE", "FR", "ES"] },
        "providers": providers,
        "rules": rules
    })
}

fn build(providers: Vec<Value>, rules: Vec<Value>) -> RoutingRules {
    RoutingRules::from_json(&document(providers, rules).to_string()).unwrap()
}

fn invalid(doc: Value) -> String {
    RoutingRules::from_json(&doc.to_string())
        .unwrap_err()
        .to_string()
}

fn none() -> RoutingStats {
    RoutingStats::default()
}

fn stats(entries: &[(&str, ProviderStats)]) -> RoutingStats {
    RoutingStats {
        providers: entries
            .iter()
            .map(|(id, s)| (id.to_string(), s.clone()))
            .collect(),
    }
}

fn health(h: Health) -> ProviderStats {
    ProviderStats {
        health: h,
        ..ProviderStats::default()
    }
}

fn outcomes(succeeded: u64, declined: u64) -> ProviderStats {
    ProviderStats {
        recent: OutcomeCounts {
            succeeded,
            declined,
            failed: 0,
        },
        ..ProviderStats::default()
    }
}

fn reasons<'a>(d: &'a RoutingDecision, id: &str) -> &'a [Exclusion] {
    &d.excluded(id)
        .unwrap_or_else(|| panic!("{id} should be excluded: {d:#?}"))
        .reasons
}

fn three() -> Vec<Value> {
    vec![provider("a"), provider("b"), provider("c")]
}

// ---------------------------------------------------------------------------------------------
// The embedded rules and the example of the issue
// ---------------------------------------------------------------------------------------------

#[test]
fn the_embedded_rules_route_large_eu_cards_to_cardpay_first_and_never_quickcard_for_high_risk() {
    let rules = RoutingRules::embedded_default();
    assert_eq!(rules.version(), 1);

    // Below 5,000 EUR no rule applies: cost decides (QuickCard 1.2 % beats CardPay 1.4 %).
    let small = rules.route(&card("1000", "DE"), &none());
    assert_eq!(small.order(), ["quickcard", "cardpay-eu", "globalpay"]);
    assert!(small.matched_rules.is_empty());

    let large = rules.route(&card("6000", "DE"), &none());
    assert_eq!(large.order(), ["cardpay-eu", "quickcard", "globalpay"]);
    assert_eq!(large.matched_rules, ["eu-large-cards-cardpay-first"]);
    let first = large.first().unwrap();
    assert_eq!(
        first.preference.as_ref().unwrap().rule,
        "eu-large-cards-cardpay-first"
    );
    assert_eq!(first.cost, dec("84.25"), "0.25 + 1.4 % of 6,000");

    let risky = rules.route(&high_risk(card("6000", "DE")), &none());
    assert_eq!(risky.order(), ["cardpay-eu", "globalpay"]);
    assert_eq!(
        reasons(&risky, "quickcard"),
        [Exclusion::ExcludedByRule {
            rule: "eu-large-cards-high-risk-not-quickcard".into()
        }]
    );
    // Outside the EU the rules do not apply; a US client is blocked by QuickCard itself.
    let us = rules.route(&high_risk(card("6000", "US")), &none());
    assert!(us.matched_rules.is_empty());
    assert_eq!(us.order(), ["globalpay"]);
    assert!(matches!(
        reasons(&us, "cardpay-eu")[0],
        Exclusion::CountryNotAllowed { .. }
    ));
    assert!(matches!(
        reasons(&us, "quickcard")[0],
        Exclusion::CountryBlocked { .. }
    ));
}

#[test]
fn the_embedded_rules_pin_uk_sterling_transfers_and_prefer_sepa_for_euro_transfers() {
    let rules = RoutingRules::embedded_default();
    let uk = rules.route(
        &intent("2500", "GBP", PaymentMethod::BankTransfer, "GB"),
        &none(),
    );
    assert_eq!(uk.order(), ["uk-faster"]);
    assert_eq!(
        uk.first().unwrap().pinned_by.as_deref(),
        Some("uk-gbp-bank-transfers-faster-payments")
    );
    assert!(
        reasons(&uk, "swiftwire").contains(&Exclusion::PinnedElsewhere {
            rule: "uk-gbp-bank-transfers-faster-payments".into(),
            provider: "uk-faster".into()
        })
    );
    let eur = rules.route(
        &intent("2500", "EUR", PaymentMethod::BankTransfer, "FR"),
        &none(),
    );
    assert_eq!(eur.order(), ["sepa-direct", "swiftwire"]);
}

// ---------------------------------------------------------------------------------------------
// Each rule kind
// ---------------------------------------------------------------------------------------------

#[test]
fn allow_only_excludes_every_provider_it_does_not_list() {
    let rules = build(
        three(),
        vec![json!({ "id": "only-b", "when": { "countries": ["DE"] }, "allow_only": ["b"] })],
    );
    let d = rules.route(&card("100", "DE"), &none());
    assert_eq!(d.order(), ["b"]);
    for id in ["a", "c"] {
        assert_eq!(
            reasons(&d, id),
            [Exclusion::NotAllowedByRule {
                rule: "only-b".into()
            }]
        );
    }
    // The rule does not match a French client.
    assert_eq!(
        rules.route(&card("100", "FR"), &none()).order(),
        ["a", "b", "c"]
    );
}

#[test]
fn exclude_removes_the_providers_it_lists_for_the_matching_risk_level_only() {
    let rules = build(
        three(),
        vec![
            json!({ "id": "no-a-high", "when": { "risk_levels": ["high"] }, "exclude": ["a", "c"] }),
        ],
    );
    assert_eq!(
        rules.route(&card("100", "DE"), &none()).order(),
        ["a", "b", "c"]
    );
    let d = rules.route(&high_risk(card("100", "DE")), &none());
    assert_eq!(d.order(), ["b"]);
    assert_eq!(
        reasons(&d, "c"),
        [Exclusion::ExcludedByRule {
            rule: "no-a-high".into()
        }]
    );
}

#[test]
fn prefer_ranks_first_in_its_order_and_earlier_rules_come_first() {
    let rules = build(
        three(),
        vec![
            json!({ "id": "c-first", "when": { "country_groups": ["eu"] }, "prefer": ["c"] }),
            json!({ "id": "b-then-c", "when": { "methods": ["card"] }, "prefer": ["b", "c"] }),
        ],
    );
    let d = rules.route(&card("100", "DE"), &none());
    assert_eq!(d.order(), ["c", "b", "a"]);
    assert_eq!(d.matched_rules, ["c-first", "b-then-c"]);
    let c = d.candidate("c").unwrap().preference.clone().unwrap();
    assert_eq!((c.rule.as_str(), c.position), ("c-first", 1));
    let b = d.candidate("b").unwrap().preference.clone().unwrap();
    assert_eq!((b.rule.as_str(), b.position), ("b-then-c", 2));
    assert_eq!(d.candidate("a").unwrap().preference, None);
    assert_eq!(d.candidate("b").unwrap().ranked_by, RankedBy::Preference);
    // Outside the EU only the second rule applies.
    assert_eq!(
        rules.route(&card("100", "GB"), &none()).order(),
        ["b", "c", "a"]
    );
}

#[test]
fn pin_sends_the_deposit_to_one_provider_only_even_if_it_is_then_ineligible() {
    let rules = build(
        three(),
        vec![
            json!({ "id": "pin-c", "when": { "amount": { "EUR": { "from": "5000" } } }, "pin": "c" }),
        ],
    );
    let d = rules.route(&card("5000", "DE"), &none());
    assert_eq!(d.order(), ["c"]);
    assert_eq!(d.first().unwrap().pinned_by.as_deref(), Some("pin-c"));
    assert_eq!(
        reasons(&d, "a"),
        [Exclusion::PinnedElsewhere {
            rule: "pin-c".into(),
            provider: "c".into()
        }]
    );
    // Just below the bound (exclusive `below`, inclusive `from`) the pin does not apply.
    assert_eq!(
        rules.route(&card("4999.99", "DE"), &none()).order(),
        ["a", "b", "c"]
    );
    // A pinned provider that is down leaves no candidate: the pin allows no other provider.
    let down = rules.route(&card("5000", "DE"), &stats(&[("c", health(Health::Down))]));
    assert!(down.candidates.is_empty());
    assert_eq!(reasons(&down, "c"), [Exclusion::HealthDown]);
    assert_eq!(
        down.next_after(&[]).stop,
        Some(FallbackStop::NoCandidateLeft)
    );
}

#[test]
fn amount_bounds_are_per_currency_and_other_currencies_do_not_match() {
    let usd_too = with(
        provider("a"),
        "currencies",
        json!({
            "EUR": { "min_amount": "10", "max_amount": "10000" },
            "USD": { "min_amount": "10", "max_amount": "10000" }
        }),
    );
    let rules = build(
        vec![usd_too, provider("b")],
        vec![
            json!({ "id": "big-eur", "when": { "amount": { "EUR": { "from": "1000", "below": "2000" } } }, "exclude": ["a"] }),
        ],
    );
    assert_eq!(rules.route(&card("1500", "DE"), &none()).order(), ["b"]);
    assert_eq!(
        rules.route(&card("2000", "DE"), &none()).order(),
        ["a", "b"]
    );
    assert_eq!(
        rules.route(&card("999.99", "DE"), &none()).order(),
        ["a", "b"]
    );
    let usd = rules.route(&intent("1500", "USD", PaymentMethod::Card, "DE"), &none());
    assert!(usd.matched_rules.is_empty());
    assert_eq!(usd.order(), ["a"]);
}

// ---------------------------------------------------------------------------------------------
// Provider limits
// ---------------------------------------------------------------------------------------------

#[test]
fn every_provider_limit_excludes_with_its_reason() {
    let providers = vec![
        with(provider("disabled"), "enabled", json!(false)),
        with(provider("wallet-only"), "methods", json!(["e_wallet"])),
        with(
            provider("usd-only"),
            "currencies",
            json!({ "USD": { "min_amount": "10", "max_amount": "10000" } }),
        ),
        with(provider("fr-only"), "allowed_countries", json!(["FR"])),
        with(
            provider("eu-group"),
            "allowed_country_groups",
            json!(["eu"]),
        ),
        with(provider("blocks-de"), "blocked_countries", json!(["DE"])),
        with(provider("low-risk-only"), "risk_levels", json!(["low"])),
        with(
            provider("big-min"),
            "currencies",
            json!({ "EUR": { "min_amount": "500", "max_amount": "10000" } }),
        ),
        with(
            provider("small-max"),
            "currencies",
            json!({ "EUR": { "min_amount": "10", "max_amount": "99.99" } }),
        ),
        provider("fine"),
    ];
    let rules = build(providers, vec![]);
    let d = rules.route(&high_risk(card("100", "DE")), &none());
    assert_eq!(d.order(), ["eu-group", "fine"]);
    let eur = Currency::from_code("EUR").unwrap();
    let expect = [
        ("disabled", Exclusion::Disabled),
        (
            "wallet-only",
            Exclusion::MethodNotSupported {
                method: PaymentMethod::Card,
            },
        ),
        (
            "usd-only",
            Exclusion::CurrencyNotSupported { currency: eur },
        ),
        (
            "fr-only",
            Exclusion::CountryNotAllowed {
                country: "DE".into(),
            },
        ),
        (
            "blocks-de",
            Exclusion::CountryBlocked {
                country: "DE".into(),
            },
        ),
        (
            "low-risk-only",
            Exclusion::RiskLevelNotAllowed {
                risk_level: RiskLevel::High,
            },
        ),
        (
            "big-min",
            Exclusion::BelowMinimum {
                min_amount: dec("500"),
                currency: eur,
            },
        ),
        (
            "small-max",
            Exclusion::AboveMaximum {
                max_amount: dec("99.99"),
                currency: eur,
            },
        ),
    ];
    for (id, reason) in expect {
        assert_eq!(reasons(&d, id), std::slice::from_ref(&reason), "{id}");
        assert!(!reason.to_string().is_empty());
    }
    // Limits are inclusive at both ends.
    assert!(
        rules
            .route(&card("500", "DE"), &none())
            .candidate("big-min")
            .is_some()
    );
    assert!(
        rules
            .route(&card("99.99", "DE"), &none())
            .candidate("small-max")
            .is_some()
    );
}

#[test]
fn an_excluded_provider_lists_every_reason_rules_first() {
    let rules = build(
        vec![
            with(
                with(provider("a"), "enabled", json!(false)),
                "blocked_countries",
                json!(["DE"]),
            ),
            provider("b"),
        ],
        vec![json!({ "id": "no-a", "exclude": ["a"] })],
    );
    let d = rules.route(&card("100", "DE"), &stats(&[("a", health(Health::Down))]));
    assert_eq!(
        reasons(&d, "a"),
        [
            Exclusion::ExcludedByRule {
                rule: "no-a".into()
            },
            Exclusion::Disabled,
            Exclusion::CountryBlocked {
                country: "DE".into()
            },
            Exclusion::HealthDown,
        ]
    );
}

#[test]
fn a_reached_daily_cap_excludes_with_the_volume_and_the_cap() {
    let capped = with(
        provider("a"),
        "currencies",
        json!({ "EUR": { "min_amount": "10", "max_amount": "10000", "daily_cap": "50000", "fixed_fee": "0" } }),
    );
    let rules = build(vec![capped, provider("b")], vec![]);
    let used = |v: &str| ProviderStats {
        volume_today: BTreeMap::from([("EUR".to_string(), dec(v))]),
        ..ProviderStats::default()
    };
    // Exactly reaching the cap is allowed; one cent more is not.
    let at_cap = rules.route(&card("1000", "DE"), &stats(&[("a", used("49000"))]));
    assert_eq!(at_cap.order(), ["a", "b"]);
    let over = rules.route(&card("1000.01", "DE"), &stats(&[("a", used("49000"))]));
    assert_eq!(over.order(), ["b"]);
    let reason = &reasons(&over, "a")[0];
    assert_eq!(
        reason,
        &Exclusion::DailyCapReached {
            daily_cap: dec("50000"),
            volume_today: dec("49000"),
            currency: Currency::from_code("EUR").unwrap(),
        }
    );
    assert!(
        reason.to_string().contains("daily cap of 50000 EUR"),
        "{reason}"
    );
    // Volume in another currency does not count against the EUR cap.
    let other = RoutingStats {
        providers: BTreeMap::from([(
            "a".to_string(),
            ProviderStats {
                volume_today: BTreeMap::from([("USD".to_string(), dec("1000000"))]),
                ..ProviderStats::default()
            },
        )]),
    };
    assert_eq!(rules.route(&card("1000", "DE"), &other).order(), ["a", "b"]);
}

// ---------------------------------------------------------------------------------------------
// Ranking
// ---------------------------------------------------------------------------------------------

#[test]
fn health_down_excludes_and_degraded_ranks_after_up_but_not_before_a_preference() {
    let rules = build(three(), vec![]);
    let d = rules.route(
        &card("100", "DE"),
        &stats(&[("a", health(Health::Degraded)), ("b", health(Health::Down))]),
    );
    assert_eq!(d.order(), ["c", "a"]);
    assert_eq!(d.candidate("a").unwrap().health, Health::Degraded);
    assert_eq!(d.candidate("a").unwrap().ranked_by, RankedBy::Health);
    assert_eq!(reasons(&d, "b"), [Exclusion::HealthDown]);

    let preferring_a = build(three(), vec![json!({ "id": "a-first", "prefer": ["a"] })]);
    let d = preferring_a.route(
        &card("100", "DE"),
        &stats(&[("a", health(Health::Degraded))]),
    );
    assert_eq!(
        d.order(),
        ["a", "b", "c"],
        "rule preference comes before health"
    );
}

#[test]
fn higher_success_rates_rank_first_in_steps_and_too_few_attempts_are_assumed() {
    let cheap_c = with(provider("c"), "percent_fee", json!("1"));
    let rules = build(vec![provider("a"), provider("b"), cheap_c], vec![]);
    let d = rules.route(
        &card("100", "DE"),
        &stats(&[
            ("a", outcomes(99, 1)),  // 99 %
            ("b", outcomes(93, 7)),  // 93 %
            ("c", outcomes(90, 10)), // 90 %, but cheapest
        ]),
    );
    assert_eq!(d.order(), ["a", "b", "c"]);
    assert_eq!(d.candidate("b").unwrap().ranked_by, RankedBy::SuccessRate);
    let rate = d.candidate("a").unwrap().success_rate;
    assert_eq!(
        (rate.basis_points, rate.attempts, rate.measured),
        (9900, 100, true)
    );

    // Within one 2-point step, cost decides: 99.0 % and 98.5 % share the step [98, 100).
    let d = rules.route(
        &card("100", "DE"),
        &stats(&[("a", outcomes(198, 2)), ("c", outcomes(197, 3))]),
    );
    assert_eq!(d.order(), ["c", "a", "b"]);
    assert_eq!(d.candidate("a").unwrap().ranked_by, RankedBy::Cost);

    // 19 attempts are too few (min_attempts 20): c is assumed at 90 % despite 0 successes.
    let d = rules.route(
        &card("100", "DE"),
        &stats(&[("a", outcomes(18, 2)), ("c", outcomes(0, 19))]),
    );
    let c = d.candidate("c").unwrap().success_rate;
    assert_eq!((c.basis_points, c.measured), (9000, false));
    assert_eq!(
        d.order(),
        ["c", "a", "b"],
        "a's measured 90 % ties with the assumed 90 %"
    );
}

#[test]
fn cost_for_this_amount_orders_fixed_and_percentage_fees() {
    let fixed_heavy = with(
        with(provider("fixed"), "percent_fee", json!("0.5")),
        "currencies",
        json!({ "EUR": { "min_amount": "10", "max_amount": "10000", "fixed_fee": "5" } }),
    );
    let percent_heavy = with(
        with(provider("percent"), "percent_fee", json!("3")),
        "currencies",
        json!({ "EUR": { "min_amount": "10", "max_amount": "10000", "fixed_fee": "0" } }),
    );
    let rules = build(vec![fixed_heavy, percent_heavy], vec![]);
    // 100 EUR: 5.50 against 3.00. 1,000 EUR: 10.00 against 30.00.
    let small = rules.route(&card("100", "DE"), &none());
    assert_eq!(small.order(), ["percent", "fixed"]);
    assert_eq!(small.candidate("fixed").unwrap().cost, dec("5.5"));
    let large = rules.route(&card("1000", "DE"), &none());
    assert_eq!(large.order(), ["fixed", "percent"]);
    assert_eq!(
        large.candidate("percent").unwrap().ranked_by,
        RankedBy::Cost
    );
}

#[test]
fn equal_providers_are_ordered_by_priority_then_id() {
    let rules = build(
        vec![
            with(provider("z"), "priority", json!(1)),
            provider("y"),
            provider("x"),
        ],
        vec![],
    );
    let d = rules.route(&card("100", "DE"), &none());
    assert_eq!(d.order(), ["x", "y", "z"]);
    assert_eq!(d.candidate("y").unwrap().ranked_by, RankedBy::ProviderId);
    assert_eq!(d.candidate("z").unwrap().ranked_by, RankedBy::Priority);
    assert!(
        d.candidates[0].to_string().starts_with("#1 x (first)"),
        "{}",
        d.candidates[0]
    );
}

// ---------------------------------------------------------------------------------------------
// Fallback
// ---------------------------------------------------------------------------------------------

#[test]
fn next_after_skips_tried_providers_in_rank_order_and_stops_at_max_attempts() {
    let mut doc = document(
        vec![provider("a"), provider("b"), provider("c"), provider("d")],
        vec![json!({ "id": "order", "prefer": ["c", "a", "d", "b"] })],
    );
    doc["max_attempts"] = json!(3);
    let rules = RoutingRules::from_json(&doc.to_string()).unwrap();
    let d = rules.route(&card("100", "DE"), &none());
    assert_eq!(d.order(), ["c", "a", "d", "b"]);
    let tried = |list: &[(&str, AttemptOutcome)]| -> Vec<Attempt> {
        list.iter()
            .map(|(id, outcome)| Attempt {
                provider_id: id.to_string(),
                outcome: *outcome,
            })
            .collect()
    };

    let first = d.next_after(&[]);
    assert_eq!(first.next.unwrap().provider_id, "c");
    assert!(first.skipped.is_empty() && first.stop.is_none());

    let second = d.next_after(&tried(&[("c", AttemptOutcome::Declined)]));
    assert_eq!(second.next.unwrap().provider_id, "a");
    assert_eq!(second.skipped.len(), 1);
    assert_eq!(second.skipped[0].provider_id, "c");
    assert_eq!(second.skipped[0].outcome, AttemptOutcome::Declined);

    // Tried out of rank order (a re-route after an outage): both are skipped, in rank order.
    let third = d.next_after(&tried(&[
        ("a", AttemptOutcome::Failed),
        ("c", AttemptOutcome::TimedOut),
    ]));
    assert_eq!(third.next.unwrap().provider_id, "d");
    let skipped: Vec<(&str, u32)> = third
        .skipped
        .iter()
        .map(|s| (s.provider_id.as_str(), s.attempt))
        .collect();
    assert_eq!(skipped, [("c", 2), ("a", 1)]);

    let done = d.next_after(&tried(&[
        ("c", AttemptOutcome::Declined),
        ("a", AttemptOutcome::Declined),
        ("d", AttemptOutcome::Failed),
    ]));
    assert_eq!(done.next, None);
    assert_eq!(
        done.stop,
        Some(FallbackStop::MaxAttemptsReached { max_attempts: 3 })
    );
    assert_eq!(done.skipped.len(), 3);

    let two = rules.route(
        &card("100", "DE"),
        &stats(&[("a", health(Health::Down)), ("d", health(Health::Down))]),
    );
    let left = two.next_after(&tried(&[
        ("c", AttemptOutcome::Declined),
        ("b", AttemptOutcome::Declined),
    ]));
    assert_eq!(left.next, None);
    assert_eq!(left.stop, Some(FallbackStop::NoCandidateLeft));
}

#[test]
fn rerouting_on_fresh_stats_continues_after_the_attempts_so_far() {
    let rules = build(three(), vec![]);
    let first = rules.route(&card("100", "DE"), &none());
    assert_eq!(first.order(), ["a", "b", "c"]);
    let attempts = [Attempt {
        provider_id: "a".into(),
        outcome: AttemptOutcome::Failed,
    }];
    // b went down meanwhile: the new decision excludes it and the next one is c.
    let fresh = rules.route(&card("100", "DE"), &stats(&[("b", health(Health::Down))]));
    let next = fresh.next_after(&attempts);
    assert_eq!(next.next.unwrap().provider_id, "c");
    assert_eq!(next.skipped[0].provider_id, "a");
}

// ---------------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------------

#[test]
fn rules_naming_unknown_providers_are_refused_naming_the_rule() {
    let err = invalid(document(
        three(),
        vec![json!({ "id": "bad-ref", "when": { "methods": ["card"] }, "prefer": ["a", "nope"] })],
    ));
    assert!(
        err.contains("rule 'bad-ref': unknown provider 'nope'"),
        "{err}"
    );
    let err = invalid(document(
        three(),
        vec![json!({ "id": "bad-pin", "pin": "zz" })],
    ));
    assert!(
        err.contains("rule 'bad-pin': unknown provider 'zz'"),
        "{err}"
    );
}

#[test]
fn overlapping_pins_to_different_providers_are_refused_naming_both_rules() {
    let pin = |id: &str, when: Value, to: &str| json!({ "id": id, "when": when, "pin": to });
    let err = invalid(document(
        three(),
        vec![
            pin("pin-de", json!({ "countries": ["DE"] }), "a"),
            pin(
                "pin-big",
                json!({ "amount": { "EUR": { "from": "1000" } } }),
                "b",
            ),
        ],
    ));
    assert!(
        err.contains("rules 'pin-de' and 'pin-big' pin different providers"),
        "{err}"
    );
    let err = invalid(document(
        three(),
        vec![
            pin("pin-eu", json!({ "country_groups": ["eu"] }), "a"),
            pin(
                "pin-fr",
                json!({ "countries": ["FR"], "methods": ["card"] }),
                "b",
            ),
        ],
    ));
    assert!(err.contains("'pin-eu' and 'pin-fr'"), "{err}");

    // Disjoint on any one condition: fine.
    for (a, b) in [
        (
            json!({ "countries": ["DE"] }),
            json!({ "countries": ["FR"] }),
        ),
        (
            json!({ "amount": { "EUR": { "below": "1000" } } }),
            json!({ "amount": { "EUR": { "from": "1000" } } }),
        ),
        (
            json!({ "risk_levels": ["high"] }),
            json!({ "risk_levels": ["low", "medium"] }),
        ),
        (
            json!({ "methods": ["card"] }),
            json!({ "methods": ["crypto"] }),
        ),
        (
            json!({ "currencies": ["EUR"] }),
            json!({ "currencies": ["USD"] }),
        ),
    ] {
        let doc = document(three(), vec![pin("p1", a, "a"), pin("p2", b, "b")]);
        RoutingRules::from_json(&doc.to_string()).unwrap();
    }
    // Overlapping pins to the same provider say the same thing: fine.
    let doc = document(
        three(),
        vec![
            pin("p1", json!({ "countries": ["DE"] }), "a"),
            pin("p2", json!({}), "a"),
        ],
    );
    RoutingRules::from_json(&doc.to_string()).unwrap();
}

#[test]
fn bad_bounds_and_limits_are_refused_naming_the_rule_or_provider() {
    let rule = |when: Value| {
        document(
            three(),
            vec![json!({ "id": "r1", "when": when, "exclude": ["a"] })],
        )
    };
    let cases: Vec<(Value, &str)> = vec![
        (
            rule(json!({ "amount": { "EUR": { "from": "5000", "below": "5000" } } })),
            "rule 'r1': amount bounds in EUR: from 5000 is not below 5000",
        ),
        (
            rule(json!({ "amount": { "EUR": {} } })),
            "rule 'r1': amount bounds in EUR: give from, below or both",
        ),
        (
            rule(json!({ "amount": { "EUR": { "from": "-1" } } })),
            "from must not be negative",
        ),
        (
            rule(json!({ "amount": { "EUR": { "from": "10.001" } } })),
            "rule 'r1': amount EUR from: EUR has 2 decimals",
        ),
        (
            rule(json!({ "amount": { "XYZ": { "from": "10" } } })),
            "rule 'r1': 'XYZ' is not a currency",
        ),
        (
            rule(json!({ "currencies": ["EUR", "USD"], "amount": { "EUR": { "from": "10" } } })),
            "rule 'r1': when.currencies and the currencies of when.amount differ",
        ),
        (
            rule(json!({ "countries": [] })),
            "rule 'r1': when.countries is empty",
        ),
        (
            rule(json!({ "countries": ["de"] })),
            "rule 'r1': 'de' is not an upper-case ISO",
        ),
        (
            rule(json!({ "country_groups": ["latam"] })),
            "rule 'r1': unknown country group 'latam'",
        ),
        (
            document(three(), vec![json!({ "id": "r1", "exclude": [] })]),
            "rule 'r1': exclude names no provider",
        ),
        (
            document(three(), vec![json!({ "id": "r1", "prefer": ["a", "a"] })]),
            "rule 'r1': provider 'a' is listed twice",
        ),
        (
            document(
                three(),
                vec![
                    json!({ "id": "r1", "prefer": ["a"] }),
                    json!({ "id": "r1", "prefer": ["b"] }),
                ],
            ),
            "rule 'r1' is defined twice",
        ),
        (
            document(
                three(),
                vec![json!({ "id": "r1", "prefer": ["a"], "exclude": ["b"] })],
            ),
            "rule 'r1': give exactly one action",
        ),
        (
            document(
                vec![with(
                    provider("a"),
                    "currencies",
                    json!({ "EUR": { "min_amount": "100", "max_amount": "50" } }),
                )],
                vec![],
            ),
            "provider 'a': EUR: max_amount 50 is below min_amount 100",
        ),
        (
            document(
                vec![with(
                    provider("a"),
                    "currencies",
                    json!({ "EUR": { "min_amount": "0", "max_amount": "50" } }),
                )],
                vec![],
            ),
            "provider 'a': EUR: min_amount must be positive",
        ),
        (
            document(
                vec![with(
                    provider("a"),
                    "currencies",
                    json!({ "JPY": { "min_amount": "100.5", "max_amount": "5000" } }),
                )],
                vec![],
            ),
            "provider 'a': JPY min_amount: JPY has 0 decimals",
        ),
        (
            document(
                vec![with(
                    provider("a"),
                    "currencies",
                    json!({ "EUR": { "min_amount": "10", "max_amount": "50", "daily_cap": "5" } }),
                )],
                vec![],
            ),
            "provider 'a': EUR: daily_cap is below min_amount",
        ),
        (
            document(
                vec![with(provider("a"), "percent_fee", json!("100"))],
                vec![],
            ),
            "provider 'a': percent_fee",
        ),
        (
            document(
                vec![
                    with(provider("a"), "blocked_countries", json!(["DE"])),
                    provider("a"),
                ],
                vec![],
            ),
            "provider 'a' is defined twice",
        ),
        (
            document(
                vec![with(
                    with(provider("a"), "allowed_countries", json!(["DE"])),
                    "blocked_countries",
                    json!(["DE"]),
                )],
                vec![],
            ),
            "provider 'a': DE is both allowed and blocked",
        ),
        (
            document(vec![with(provider("a"), "methods", json!([]))], vec![]),
            "provider 'a': no payment methods",
        ),
        (document(vec![], vec![]), "at least one provider"),
    ];
    for (doc, expected) in cases {
        let err = invalid(doc);
        assert!(err.contains(expected), "{err}\n  expected: {expected}");
    }
    let mut doc = document(three(), vec![]);
    doc["version"] = json!(0);
    assert!(invalid(doc).contains("version starts at 1"));
    let mut doc = document(three(), vec![]);
    doc["health"] = json!({ "degraded_failure_rate_percent": 60, "down_failure_rate_percent": 50 });
    assert!(invalid(doc).contains("health thresholds"));
    let mut doc = document(three(), vec![]);
    doc["surprise"] = json!(1);
    assert!(invalid(doc).contains("unknown field"));
    // Amounts are text, never JSON numbers (no float ever reads a limit).
    let doc = document(vec![with(provider("a"), "percent_fee", json!(2.5))], vec![]);
    assert!(RoutingRules::from_json(&doc.to_string()).is_err());
}

#[test]
fn a_document_survives_a_round_trip_through_json() {
    let rules = RoutingRules::embedded_default();
    let text = serde_json::to_string(rules.document()).unwrap();
    let again: RoutingDocument = serde_json::from_str(&text).unwrap();
    assert_eq!(&again, rules.document());
    assert_eq!(RoutingRules::new(again).unwrap(), rules);
    let rule = serde_json::to_value(&rules.document().rules[0]).unwrap();
    assert_eq!(rule["prefer"], json!(["cardpay-eu"]));
    assert_eq!(rule["when"]["amount"]["EUR"]["from"], json!("5000"));
}

// ---------------------------------------------------------------------------------------------
// Determinism, and invariants over random deposits
// ---------------------------------------------------------------------------------------------

#[test]
fn the_same_inputs_give_the_same_decision_whatever_the_provider_order() {
    let rules = RoutingRules::embedded_default();
    let mut reversed = rules.document().clone();
    reversed.providers.reverse();
    let reversed = RoutingRules::new(reversed).unwrap();
    let s = stats(&[
        ("quickcard", outcomes(97, 3)),
        ("cardpay-eu", outcomes(970, 30)),
        ("globalpay", health(Health::Degraded)),
    ]);
    for i in [
        card("250", "FR"),
        card("7000", "ES"),
        high_risk(card("7000", "ES")),
    ] {
        let d = rules.route(&i, &s);
        assert_eq!(d, rules.route(&i, &s));
        let r = reversed.route(&i, &s);
        assert_eq!(d.candidates, r.candidates);
        assert_eq!(d.excluded.len(), r.excluded.len());
    }
    // The decision is a plain, serializable record for the audit trail.
    let d = rules.route(&card("7000", "ES"), &s);
    let json = serde_json::to_value(&d).unwrap();
    assert_eq!(json["rules_version"], json!(1));
    assert_eq!(json["candidates"][0]["provider_id"], json!("cardpay-eu"));
    assert_eq!(json["candidates"][0]["cost"], json!("98.25"));
    let back: RoutingDecision = serde_json::from_value(json).unwrap();
    assert_eq!(back, d);
}

#[test]
fn outage_detection_grades_failures_not_declines() {
    let policy = HealthPolicy::default();
    let counts = |succeeded, declined, failed| OutcomeCounts {
        succeeded,
        declined,
        failed,
    };
    assert_eq!(
        assess_health(&counts(5, 0, 4), &policy),
        None,
        "9 attempts are too few"
    );
    assert_eq!(assess_health(&counts(2, 98, 0), &policy), Some(Health::Up));
    assert_eq!(assess_health(&counts(81, 0, 19), &policy), Some(Health::Up));
    assert_eq!(
        assess_health(&counts(80, 0, 20), &policy),
        Some(Health::Degraded)
    );
    assert_eq!(
        assess_health(&counts(50, 0, 50), &policy),
        Some(Health::Down)
    );
}

fn arb_intent() -> impl Strategy<Value = DepositIntent> {
    (
        1u32..2_000_000,
        prop::sample::select(vec!["EUR", "USD", "GBP", "JPY", "BTC"]),
        prop::sample::select(PaymentMethod::ALL.to_vec()),
        prop::sample::select(vec!["DE", "FR", "GB", "US", "RU", "BR", "ES"]),
        prop::sample::select(RiskLevel::ALL.to_vec()),
    )
        .prop_map(
            |(cents, currency, method, country, risk_level)| DepositIntent {
                client_id: "c".into(),
                amount: Money::positive_in(
                    Decimal::new(i64::from(cents), 2)
                        .round_dp(0)
                        .max(Decimal::ONE),
                    currency,
                )
                .unwrap(),
                method,
                country: country.into(),
                risk_level,
                requested_at: datetime!(2026-03-01 10:00:00 UTC),
            },
        )
}

fn arb_stats() -> impl Strategy<Value = RoutingStats> {
    let ids: Vec<String> = RoutingRules::embedded_default()
        .document()
        .providers
        .iter()
        .map(|p| p.id.clone())
        .collect();
    prop::collection::vec(
        (
            prop::sample::select(vec![Health::Up, Health::Degraded, Health::Down]),
            0u64..200,
            0u64..200,
            0u32..3_000_000,
        ),
        ids.len(),
    )
    .prop_map(move |v| RoutingStats {
        providers: ids
            .iter()
            .zip(v)
            .map(|(id, (health, succeeded, declined, volume))| {
                (
                    id.clone(),
                    ProviderStats {
                        health,
                        recent: OutcomeCounts {
                            succeeded,
                            declined,
                            failed: 0,
                        },
                        volume_today: ["EUR", "USD", "GBP"]
                            .into_iter()
                            .map(|c| (c.to_string(), Decimal::from(volume)))
                            .collect(),
                    },
                )
            })
            .collect(),
    })
}

proptest! {
    /// Every provider is either a candidate or excluded with at least one reason, never both;
    /// ranks run 1..n; candidates satisfy their limits; no down provider is a candidate; the
    /// decision is deterministic; `next_after` walks the candidates in rank order.
    #[test]
    fn every_provider_is_accounted_for_and_candidates_respect_their_limits(
        i in arb_intent(),
        s in arb_stats(),
    ) {
        let rules = RoutingRules::embedded_default();
        let d = rules.route(&i, &s);
        prop_assert_eq!(&d, &rules.route(&i, &s));
        let providers = &rules.document().providers;
        prop_assert_eq!(d.candidates.len() + d.excluded.len(), providers.len());
        for e in &d.excluded {
            prop_assert!(!e.reasons.is_empty());
            prop_assert!(d.candidate(&e.provider_id).is_none());
        }
        for (n, c) in d.candidates.iter().enumerate() {
            prop_assert_eq!(c.rank as usize, n + 1);
            let p = rules.provider(&c.provider_id).unwrap();
            let limits = &p.currencies[i.amount.currency().code];
            prop_assert!(p.enabled && p.methods.contains(&i.method));
            prop_assert!(limits.min_amount <= i.amount.amount() && i.amount.amount() <= limits.max_amount);
            if let Some(cap) = limits.daily_cap {
                let today = s.get(&p.id).unwrap().volume_today(i.amount.currency().code);
                prop_assert!(today + i.amount.amount() <= cap);
            }
            prop_assert!(c.health != Health::Down);
            prop_assert!(!p.blocked_countries.contains(&i.country));
        }
        let mut attempts = Vec::new();
        for c in d.candidates.iter().take(d.max_attempts as usize) {
            let next = d.next_after(&attempts);
            prop_assert_eq!(next.next.as_ref().map(|n| n.provider_id.as_str()), Some(c.provider_id.as_str()));
            attempts.push(Attempt { provider_id: c.provider_id.clone(), outcome: AttemptOutcome::Declined });
        }
        let end = d.next_after(&attempts);
        prop_assert!(end.next.is_none());
        let expected = if attempts.len() == d.max_attempts as usize {
            FallbackStop::MaxAttemptsReached { max_attempts: d.max_attempts }
        } else {
            FallbackStop::NoCandidateLeft
        };
        prop_assert_eq!(end.stop, Some(expected));
    }
}
