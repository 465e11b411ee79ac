//! Deposit routing decision latency: 50 providers and 500 rules (every rule kind, country
//! groups, amount tiers, 25 pins), live stats for every provider, and 200,000 random deposit
//! intents; each decision is timed on its own. Results in docs/PERFORMANCE.md.
//!   cargo run --release -p brokeros-payments --example routing_latency
use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::Instant;

use brokeros_kernel::money::Money;
use brokeros_payments::model::{
    Decimal, DepositIntent, Health, OutcomeCounts, PaymentMethod, ProviderStats, RiskLevel,
    RoutingRules, RoutingStats,
};
use serde_json::{Value, json};

const PROVIDERS: usize = 50;
const RULES: usize = 500;
const PINS: usize = 25;
const DECISIONS: usize = 200_000;
const WARM_UP: usize = 20_000;

const CURRENCIES: [&str; 7] = ["EUR", "USD", "GBP", "CHF", "AUD", "CAD", "JPY"];
const METHODS: [&str; 4] = ["card", "bank_transfer", "crypto", "e_wallet"];
const RISKS: [&str; 3] = ["low", "medium", "high"];
const COUNTRIES: [&str; 48] = [
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IT",
    "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK", "GB", "CH", "NO", "US", "CA",
    "AU", "NZ", "JP", "SG", "HK", "AE", "SA", "ZA", "NG", "KE", "BR", "MX", "AR", "CL", "IN", "TH",
];

/// xorshift64*: a fixed seed, so every run routes the same deposits.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// `at_least + below(extra)` distinct items.
    fn some<T: Clone>(&mut self, items: &[T], at_least: usize, extra: usize) -> Vec<T> {
        let k = at_least + self.below(extra);
        let mut pool: Vec<T> = items.to_vec();
        let mut out = Vec::with_capacity(k);
        for _ in 0..k.min(pool.len()) {
            out.push(pool.swap_remove(self.below(pool.len())));
        }
        out
    }
}

fn scale_factor(currency: &str) -> u64 {
    if currency == "JPY" { 150 } else { 1 }
}

fn document(rng: &mut Rng) -> Value {
    let providers: Vec<Value> = (0..PROVIDERS)
        .map(|i| {
            let mut currencies = serde_json::Map::new();
            for c in rng.some(&CURRENCIES, 2, 5) {
                let f = scale_factor(c);
                let min = (5 + rng.below(50) as u64) * f;
                let max = (10_000 + rng.below(90_000) as u64) * f;
                let mut limits = json!({
                    "min_amount": min.to_string(),
                    "max_amount": max.to_string(),
                    "fixed_fee": if c == "JPY" { format!("{}", rng.below(50)) } else { format!("0.{:02}", rng.below(100)) },
                });
                if rng.chance(60) {
                    limits["daily_cap"] = json!(((200_000 + rng.below(2_000_000)) as u64 * f).to_string());
                }
                currencies.insert(c.to_string(), limits);
            }
            let mut p = json!({
                "id": format!("psp-{i:02}"),
                "methods": rng.some(&METHODS, 2, 2),
                "currencies": currencies,
                "percent_fee": format!("{}.{}", rng.below(4), rng.below(10)),
                "priority": rng.below(5),
            });
            match rng.below(4) {
                0 => p["allowed_country_groups"] = json!(["eea"]),
                1 => p["blocked_countries"] = json!(rng.some(&COUNTRIES, 3, 1)),
                2 => p["allowed_countries"] = json!(rng.some(&COUNTRIES, 15, 1)),
                _ => {}
            }
            if rng.chance(20) {
                p["risk_levels"] = json!(["low", "medium"]);
            }
            if rng.chance(4) {
                p["enabled"] = json!(false);
            }
            p
        })
        .collect();
    let ids: Vec<String> = (0..PROVIDERS).map(|i| format!("psp-{i:02}")).collect();

    let mut rules = Vec::with_capacity(RULES);
    // Pins: each on its own country, so no two can match one deposit.
    for (n, country) in COUNTRIES.iter().take(PINS).enumerate() {
        rules.push(json!({
            "id": format!("pin-{n:03}"),
            "when": { "countries": [country], "methods": [rng.pick(&METHODS)], "currencies": [rng.pick(&CURRENCIES)] },
            "pin": rng.pick(&ids),
        }));
    }
    // The others steer corridors: mostly a country or group, a method and a currency (often
    // with an amount tier), sometimes a risk level.
    for n in PINS..RULES {
        let mut when = serde_json::Map::new();
        match rng.below(100) {
            0..45 => {
                when.insert("countries".into(), json!(rng.some(&COUNTRIES, 1, 4)));
            }
            45..85 => {
                when.insert(
                    "country_groups".into(),
                    json!([rng.pick(&["eea", "apac", "latam"])]),
                );
            }
            _ => {}
        }
        if rng.chance(85) {
            when.insert("methods".into(), json!([rng.pick(&METHODS)]));
        }
        if rng.chance(25) {
            when.insert("risk_levels".into(), json!(rng.some(&RISKS, 1, 2)));
        }
        match rng.below(100) {
            0..50 => {
                let mut tiers = serde_json::Map::new();
                for c in rng.some(&CURRENCIES, 1, 3) {
                    let f = scale_factor(c);
                    let from = rng.below(20) as u64 * 500 * f;
                    let mut b = json!({ "from": from.to_string() });
                    if rng.chance(50) {
                        b["below"] =
                            json!((from + (1 + rng.below(20)) as u64 * 1000 * f).to_string());
                    }
                    tiers.insert(c.to_string(), b);
                }
                when.insert("amount".into(), Value::Object(tiers));
            }
            50..85 => {
                when.insert("currencies".into(), json!(rng.some(&CURRENCIES, 1, 3)));
            }
            _ => {}
        }
        let mut rule = json!({ "id": format!("rule-{n:03}"), "when": when });
        match rng.below(100) {
            0..50 => rule["prefer"] = json!(rng.some(&ids, 1, 4)),
            50..85 => rule["exclude"] = json!(rng.some(&ids, 1, 3)),
            _ => rule["allow_only"] = json!(rng.some(&ids, 30, 15)),
        }
        rules.push(rule);
    }
    json!({
        "version": 7,
        "country_groups": {
            "eea": ["AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IT",
                    "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK", "NO"],
            "apac": ["AU", "NZ", "JP", "SG", "HK", "TH", "IN"],
            "latam": ["BR", "MX", "AR", "CL"]
        },
        "providers": providers,
        "rules": rules,
    })
}

fn stats(rng: &mut Rng) -> RoutingStats {
    let mut providers = BTreeMap::new();
    for i in 0..PROVIDERS {
        let health = match rng.below(100) {
            0..90 => Health::Up,
            90..97 => Health::Degraded,
            _ => Health::Down,
        };
        let attempts = rng.below(500) as u64;
        let succeeded = attempts * (70 + rng.below(30) as u64) / 100;
        let volume_today = CURRENCIES
            .iter()
            .map(|c| {
                (
                    c.to_string(),
                    Decimal::from(rng.below(400_000) as u64 * scale_factor(c)),
                )
            })
            .collect();
        providers.insert(
            format!("psp-{i:02}"),
            ProviderStats {
                health,
                recent: OutcomeCounts {
                    succeeded,
                    declined: attempts - succeeded,
                    failed: 0,
                },
                volume_today,
            },
        );
    }
    RoutingStats { providers }
}

fn intents(rng: &mut Rng, n: usize) -> Vec<DepositIntent> {
    let methods = PaymentMethod::ALL;
    (0..n)
        .map(|i| {
            let currency = *rng.pick(&CURRENCIES);
            let units = (10 + rng.below(30_000)) as i64 * scale_factor(currency) as i64;
            let cents = if currency == "JPY" {
                0
            } else {
                rng.below(100) as i64
            };
            DepositIntent {
                client_id: format!("client-{}", i % 5000),
                amount: Money::positive_in(
                    Decimal::new(units * 100 + cents, 2).normalize(),
                    currency,
                )
                .expect("a valid amount"),
                method: *rng.pick(&methods),
                country: rng.pick(&COUNTRIES).to_string(),
                risk_level: *rng.pick(&RiskLevel::ALL),
                requested_at: time::OffsetDateTime::UNIX_EPOCH,
            }
        })
        .collect()
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn main() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let text = document(&mut rng).to_string();
    let started = Instant::now();
    let rules = RoutingRules::from_json(&text).expect("the generated rules are valid");
    let compile = started.elapsed();
    let stats = stats(&mut rng);
    let intents = intents(&mut rng, 4096);

    for i in 0..WARM_UP {
        black_box(rules.route(&intents[i % intents.len()], &stats));
    }
    let mut nanos = Vec::with_capacity(DECISIONS);
    let (mut candidates, mut matched, mut no_candidate) = (0usize, 0usize, 0usize);
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    let total = Instant::now();
    for i in 0..DECISIONS {
        let intent = &intents[i % intents.len()];
        let t = Instant::now();
        let decision = rules.route(intent, &stats);
        let elapsed = t.elapsed();
        nanos.push(elapsed.as_nanos() as u64);
        candidates += decision.candidates.len();
        matched += decision.matched_rules.len();
        no_candidate += usize::from(decision.candidates.is_empty());
        if i < intents.len() {
            for reason in decision.excluded.iter().flat_map(|e| &e.reasons) {
                let kind = serde_json::to_value(reason).expect("serializes")["kind"].to_string();
                *reasons
                    .entry(kind.trim_matches('"').to_string())
                    .or_default() += 1;
            }
        }
        black_box(decision);
    }
    let wall = total.elapsed();
    nanos.sort_unstable();
    let us = |n: u64| n as f64 / 1000.0;
    println!(
        "rules: {PROVIDERS} providers, {RULES} rules ({PINS} pins), {} bytes of JSON, validated and compiled in {:.1} ms",
        text.len(),
        compile.as_secs_f64() * 1e3
    );
    println!(
        "decisions: {DECISIONS} (after {WARM_UP} warm-up); per decision {:.1} candidates, {:.1} matching rules; {:.1} % without a candidate",
        candidates as f64 / DECISIONS as f64,
        matched as f64 / DECISIONS as f64,
        no_candidate as f64 * 100.0 / DECISIONS as f64
    );
    let per_decision = |n: usize| n as f64 / intents.len() as f64;
    println!(
        "exclusion reasons per decision: {}",
        reasons
            .iter()
            .map(|(k, n)| format!("{k} {:.1}", per_decision(*n)))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "latency per decision: p50 {:.1} µs, p99 {:.1} µs, p99.9 {:.1} µs, max {:.1} µs, mean {:.1} µs",
        us(percentile(&nanos, 50.0)),
        us(percentile(&nanos, 99.0)),
        us(percentile(&nanos, 99.9)),
        us(*nanos.last().unwrap()),
        wall.as_secs_f64() * 1e6 / DECISIONS as f64,
    );
}
