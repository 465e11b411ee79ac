//! `brokeros ib preview` over the fixture files in `tests/fixtures/ib`: the numbers are worked
//! out here from the plan, the deals and the rate, and bad files answer `{code, message, field}`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use rust_decimal::Decimal;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/ib")
        .join(name)
}

fn preview(plan: &Path, tree: &Path, deals: &Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_brokeros"))
        .args(["ib", "preview", "--plan"])
        .arg(plan)
        .arg("--tree")
        .arg(tree)
        .arg("--deals")
        .arg(deals)
        .arg("--rates")
        .arg(fixture("rates.csv"))
        .arg("--symbol-groups")
        .arg(fixture("groups.json"))
        .args(extra)
        .output()
        .expect("the binary runs")
}

fn d(text: &str) -> Decimal {
    text.parse().unwrap()
}

/// The fixture deals' numbers, as the plan reads them.
struct Worked {
    eurusd_lots: Decimal,
    per_lot: Decimal,
    gold_close_commission: Decimal,
    commission_share: Decimal,
    level0: Decimal,
    level1: Decimal,
    rebate: Decimal,
    usd_eur: Decimal,
}

fn worked() -> Worked {
    Worked {
        eurusd_lots: d("2"),
        per_lot: d("10"),
        gold_close_commission: d("3.5"),
        commission_share: d("0.5"),
        level0: d("0.8"),
        level1: d("0.2"),
        rebate: d("0.1"),
        usd_eur: d("0.9"),
    }
}

#[test]
fn the_preview_prints_each_leg_and_each_ibs_totals() {
    let out = preview(
        &fixture("plan.json"),
        &fixture("tree.json"),
        &fixture("deals.csv"),
        &["--format", "json"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let w = worked();
    let eurusd_pool = w.per_lot * w.eurusd_lots;
    let sub_usd = eurusd_pool * w.level0 * (Decimal::ONE - w.rebate);
    let gold_pool = w.gold_close_commission * w.commission_share;
    let master = eurusd_pool * w.level1 + gold_pool * w.level0 * (Decimal::ONE - w.rebate);
    let leg = |beneficiary: &str, deal: u64| {
        lines
            .iter()
            .find(|l| l["type"] == "leg" && l["beneficiary"] == beneficiary && l["deal"] == deal)
            .unwrap_or_else(|| panic!("no leg of {beneficiary} for deal {deal}"))
    };
    let sub = leg("ib:sub", 2);
    assert_eq!(d(sub["amount"].as_str().unwrap()), sub_usd * w.usd_eur);
    assert_eq!(sub["currency"], "EUR");
    assert_eq!(sub["period"], "2026-01");
    let explanation = &sub["explanation"];
    assert_eq!(explanation["fx"]["source"], "simulated");
    assert_eq!(explanation["basis"]["rule_id"], "majors");
    assert_eq!(explanation["basis"]["plan_version"], 1);
    assert_eq!(
        d(explanation["basis"]["volume"]["counted_lots"]
            .as_str()
            .unwrap()),
        w.eurusd_lots
    );
    assert_eq!(
        leg("ib:master", 4)["explanation"]["basis"]["rule_id"],
        "other"
    );
    assert!(
        lines.iter().all(|l| l["deal"] != 1 && l["deal"] != 3),
        "opening deals earn nothing on close"
    );

    let statement = |beneficiary: &str| {
        lines
            .iter()
            .find(|l| l["type"] == "statement" && l["beneficiary"] == beneficiary)
            .unwrap()
    };
    let paid = |beneficiary: &str| d(statement(beneficiary)["paid"].as_str().unwrap());
    let cents = |x: Decimal| {
        x.round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointNearestEven)
    };
    assert_eq!(paid("ib:master"), cents(master));
    assert_eq!(paid("ib:sub"), cents(sub_usd * w.usd_eur));
    assert_eq!(paid("client:c1"), cents(eurusd_pool * w.level0 * w.rebate));
    assert_eq!(paid("client:c2"), cents(gold_pool * w.level0 * w.rebate));
}

#[test]
fn the_csv_preview_has_a_line_per_leg_then_the_statements() {
    let out = preview(
        &fixture("plan.json"),
        &fixture("tree.json"),
        &fixture("deals.csv"),
        &[],
    );
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let (legs, statements) = text.split_once("\n\n").unwrap();
    let header: Vec<&str> = legs.lines().next().unwrap().split(',').collect();
    let amount = header.iter().position(|h| *h == "amount").unwrap();
    let rows: Vec<Vec<&str>> = legs
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    assert_eq!(
        rows.len(),
        5,
        "3 legs and a rebate for deal 2 less one level for the master's client"
    );
    let total: Decimal = rows
        .iter()
        .filter(|r| r[amount + 1] == "USD")
        .map(|r| d(r[amount]))
        .sum();
    let w = worked();
    let usd_legs = w.per_lot * w.eurusd_lots * (w.level1 + w.level0 * w.rebate)
        + w.gold_close_commission * w.commission_share * w.level0;
    assert_eq!(total, usd_legs);
    assert!(statements.starts_with("beneficiary,currency,period"));
    assert_eq!(statements.lines().count(), 1 + 4);
}

#[test]
fn bad_files_answer_with_the_field_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: String| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    let plan = std::fs::read_to_string(fixture("plan.json")).unwrap();
    let tree = std::fs::read_to_string(fixture("tree.json")).unwrap();
    let deals = std::fs::read_to_string(fixture("deals.csv")).unwrap();
    let cases = [
        (
            write(
                "overlap.json",
                plan.replace(r#""priority": 0"#, r#""priority": 10"#),
            ),
            fixture("tree.json"),
            fixture("deals.csv"),
            "overlapping_rules",
            "rules[1].priority",
        ),
        (
            write(
                "negative.json",
                plan.replace(r#""per_lot": "10""#, r#""per_lot": "-10""#),
            ),
            fixture("tree.json"),
            fixture("deals.csv"),
            "negative_rate",
            "rules[0].earns.per_lot",
        ),
        (
            write(
                "cycle.json",
                tree.replace(r#""value": null"#, r#""value": "sub""#),
            ),
            fixture("plan.json"),
            fixture("deals.csv"),
            "tree_cycle",
            "ibs.parent",
        ),
        (
            write("zero.csv", deals.replace(",buy,in,2,", ",buy,in,0,")),
            fixture("plan.json"),
            fixture("tree.json"),
            "volume_not_positive",
            "deals[2].volume",
        ),
    ];
    for (file, other, third, code, field) in cases {
        let (plan, tree, deals) = match code {
            "tree_cycle" => (other, file, third),
            "volume_not_positive" => (other, third, file),
            _ => (file, other, third),
        };
        let out = preview(&plan, &tree, &deals, &[]);
        assert_eq!(out.status.code(), Some(2), "{code}");
        assert!(
            out.stdout.is_empty() || code == "volume_not_positive",
            "{code}: nothing computed is printed"
        );
        let stderr = String::from_utf8(out.stderr).unwrap();
        let body: serde_json::Value =
            serde_json::from_str(stderr.trim().trim_start_matches("error: ")).unwrap();
        assert_eq!(body["code"], code, "{stderr}");
        assert_eq!(body["field"], field, "{stderr}");
    }
}
