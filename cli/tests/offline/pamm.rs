//! `brokeros pamm simulate` over the README's worked example (`docs/examples/pamm`): requests
//! executed at their rollover (one after the cut-off waits a day), fees against the high-water
//! mark, IB shares, fees held as debt, a stop-level exit and a withdrawal after the lock-up;
//! and bad files refused naming file, line and column.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::stdout;

use serde_json::Value;

fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../docs/examples/pamm")
        .join(name)
}

fn simulate(events: &Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_brokeros"))
        .args(["pamm", "simulate", "--offer"])
        .arg(example("offer.json"))
        .arg("--events")
        .arg(events)
        .args(extra)
        .output()
        .expect("the binary runs")
}

/// The CSV's line of `holder` after the rollover at `at`, by column name.
fn line(csv: &str, at: &str, holder: &str) -> std::collections::HashMap<String, String> {
    let records = brokeros_kernel::csv::parse(csv).unwrap();
    let header = &records[0].fields;
    let found = records[1..]
        .iter()
        .find(|r| r.fields[0] == at && r.fields[1] == holder)
        .unwrap_or_else(|| panic!("no line for {holder} at {at} in\n{csv}"));
    header
        .iter()
        .cloned()
        .zip(found.fields.iter().cloned())
        .collect()
}

#[test]
fn the_worked_example_replays_as_the_readme_says() {
    let csv = stdout(&simulate(&example("events.csv"), &[]));
    // Day 1: Ann's 20000.00 less the 0.5 % entry fee buys 19900 units at NAV 1; Ben asked
    // inside the hour's cut-off and waits for day 2.
    let ann = line(&csv, "2026-12-01T22:00:00Z", "ann");
    assert_eq!(
        (ann["units"].as_str(), ann["equity"].as_str()),
        ("19900.00", "19900.00")
    );
    assert!(!csv.contains("2026-12-01T22:00:00Z,ben"), "{csv}");
    // Day 2: +1500.00 on 29900.00 → NAV 1.05016722; Ann pays a day of 2 % (1.14) and 25 % of
    // 997.19 above her mark (249.29); her mark becomes her equity net of them.
    let ann = line(&csv, "2026-12-02T22:00:00Z", "ann");
    assert_eq!(
        (
            ann["nav"].as_str(),
            ann["management_fee"].as_str(),
            ann["performance_fee"].as_str(),
            ann["hwm"].as_str(),
            ann["equity"].as_str()
        ),
        ("1.05016722", "1.14", "249.29", "20647.90", "20647.90")
    );
    let ben = line(&csv, "2026-12-02T22:00:00Z", "ben");
    assert_eq!(ben["requests"], "deposit +4975.00");
    // Day 3: −3000.00, fees held by the margin: owed, not taken; Ben's equity under his stop
    // level: out, his owed fee taken from the payout.
    let ann = line(&csv, "2026-12-03T22:00:00Z", "ann");
    assert_eq!(
        (ann["fee_debt"].as_str(), ann["performance_fee"].as_str()),
        ("1.03", "0")
    );
    let ben = line(&csv, "2026-12-03T22:00:00Z", "ben");
    assert_eq!(
        (ben["units"].as_str(), ben["requests"].as_str()),
        ("0", "stop_level -4561.61")
    );
    // Day 4: the lock-up over, Ann's withdrawal sells units; her mark falls in proportion.
    let ann = line(&csv, "2026-12-04T22:00:00Z", "ann");
    assert_eq!(
        (ann["requests"].as_str(), ann["hwm"].as_str()),
        ("withdrawal -5000.00", "15633.64")
    );

    // JSON: each rollover whole; the IB shares of Ann's fees are paid to her chain.
    let json = stdout(&simulate(&example("events.csv"), &["--format", "json"]));
    let rollovers: Vec<Value> = json
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rollovers.len(), 4);
    let paid = |rollover: &Value, kind: &str, id: Option<&str>| -> String {
        rollover["payouts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["payee"]["kind"] == kind && p["payee"]["id"].as_str() == id)
            .map(|p| p["amount"].as_str().unwrap().to_string())
            .unwrap_or_default()
    };
    // Day 1: Ann's entry fee of 100.00: 10 % to her IB, 5 % to its parent, the rest the manager's.
    let day1 = &rollovers[0];
    assert_eq!(paid(day1, "ib", Some("ib-ldn")), "10.00");
    assert_eq!(paid(day1, "ib", Some("ib-global")), "5.00");
    assert_eq!(paid(day1, "manager", None), "85.00");
    // Day 2: her 250.43 of fees (25.04 and 12.52 to the IBs) and Ben's 25.00 entry fee.
    let day2 = &rollovers[1];
    assert_eq!(paid(day2, "ib", Some("ib-ldn")), "25.04");
    assert_eq!(paid(day2, "ib", Some("ib-global")), "12.52");
    assert_eq!(paid(day2, "manager", None), "237.87");
}

#[test]
fn bad_files_are_refused_naming_the_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let events = dir.path().join("EVENTS.csv");
    std::fs::write(
        &events,
        "at,event,investor,amount\n2026-12-01T18:00:00Z,deposit,ann,20000.001\n",
    )
    .unwrap();
    let out = simulate(&events, &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("EVENTS.csv: line 2, column 4 (amount)"),
        "{err}"
    );
    assert!(err.contains("amount_too_precise"), "{err}");
}
