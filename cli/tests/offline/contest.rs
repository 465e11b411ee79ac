//! `brokeros contest score` over the README's worked example (`docs/examples/contest`): the
//! ranking, an excluded scalp, a deposit that does not lift a return, a drawdown that
//! disqualifies, prizes and a hedging flag; and bad files refused naming file, line and column.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::stdout;

use serde_json::Value;

fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../docs/examples/contest")
        .join(name)
}

fn score(deals: &Path, cashflows: &Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_brokeros"))
        .args(["contest", "score", "--contest"])
        .arg(example("contest.json"))
        .arg("--deals")
        .arg(deals)
        .arg("--cashflows")
        .arg(cashflows)
        .args(extra)
        .output()
        .expect("the binary runs")
}

fn with_entrants(extra: &[&str]) -> Output {
    let entrants = example("entrants.csv");
    let mut args = vec!["--entrants", entrants.to_str().unwrap()];
    args.extend_from_slice(extra);
    score(&example("deals.csv"), &example("cashflows.csv"), &args)
}

/// The CSV ranking's lines as (rank, entrant, status, return, profit, excluded, prize, hedge review).
fn ranking(csv: &str) -> Vec<[String; 8]> {
    let records = brokeros_kernel::csv::parse(csv).unwrap();
    assert_eq!(
        records[0].fields.join(","),
        "rank,entrant,login,status,metric,return,profit,volume,max_drawdown,trades,excluded,cash_flows,prize,hedge_review"
    );
    records[1..]
        .iter()
        .take_while(|r| !r.is_blank())
        .map(|r| {
            let f = &r.fields;
            [
                f[0].clone(),
                f[1].clone(),
                f[3].clone(),
                f[5].clone(),
                f[6].clone(),
                f[10].clone(),
                f[12].clone(),
                f[13].clone(),
            ]
        })
        .collect()
}

fn row(fields: [&str; 8]) -> [String; 8] {
    fields.map(String::from)
}

#[test]
fn the_worked_example_ranks_excludes_neutralizes_and_disqualifies() {
    let csv = stdout(&with_entrants(&[]));
    assert_eq!(
        ranking(&csv),
        [
            // 1000 → +50 (5 %), a 30 s scalp of +200 excluded, +125 on 1250 (10 %): 1.05 × 1.1
            row(["1", "alice", "ranked", "0.155", "175.00", "1", "500.00", ""]),
            // +100 on 2000 (5 %), then 8000 deposited, +101 on 10 100 (1 %): 1.05 × 1.01
            row(["2", "bob", "ranked", "0.0605", "201.00", "0", "200.00", ""]),
            row([
                "3", "erin", "ranked", "0.0201", "60.30", "0", "200.00", "frank"
            ]),
            row(["4", "frank", "ranked", "-0.02", "-60.00", "0", "", "erin"]),
            // one trade of the two needed
            row(["", "dave", "too_few_trades", "0.08", "400.00", "0", "", ""]),
            // 1.3 after +300, then −500: 0.8, a fall of 38 % from the peak (the limit is 30 %)
            row([
                "",
                "carol",
                "drawdown_exceeded",
                "-0.1",
                "-100.00",
                "0",
                "",
                ""
            ]),
        ]
    );
}

#[test]
fn the_json_report_explains_each_score_and_proposes_the_prizes() {
    let out = with_entrants(&["--format", "json"]);
    let report: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let standings = report["standings"].as_array().unwrap();
    assert_eq!(standings.len(), 6);
    let alice = &standings[0];
    assert_eq!(alice["entrant"], "alice");
    let excluded = &alice["explanation"]["excluded"];
    assert_eq!(excluded.as_array().unwrap().len(), 1);
    assert_eq!(excluded[0]["deal"], 1002);
    assert_eq!(excluded[0]["reason"], "held_too_short");
    let bob = &standings[1]["explanation"];
    assert_eq!(bob["cash_flows"][0]["amount"], "8000.00");
    assert_eq!(bob["cash_flows"][0]["equity_before"], "2100.00");
    assert_eq!(bob["cash_flows"][0]["equity_after"], "10100.00");
    assert_eq!(
        bob["cash_flows"][0]["index"], "1.05",
        "the deposit leaves the index"
    );
    let paid: Vec<(u64, &str, &str)> = report["prizes"]["awards"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["rank"].as_u64().unwrap(),
                a["entrant"].as_str().unwrap(),
                a["amount"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        paid,
        [
            (1, "alice", "500.00"),
            (2, "bob", "200.00"),
            (3, "erin", "200.00")
        ]
    );
    assert_eq!(report["prizes"]["total"], "900.00");
    let flags = report["hedge_flags"].as_array().unwrap();
    assert_eq!(flags.len(), 1);
    assert_eq!(flags[0]["entrants"], serde_json::json!(["erin", "frank"]));
    assert_eq!(flags[0]["pairs"], 2);
    assert_eq!(report["ignored"]["deals"], 1, "login 79999 is no entrant");

    let only_bob: Value = serde_json::from_str(&stdout(&with_entrants(&[
        "--format",
        "json",
        "--explain",
        "70002",
    ])))
    .unwrap();
    let explained: Vec<&str> = only_bob["standings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s.get("explanation").is_some())
        .map(|s| s["entrant"].as_str().unwrap())
        .collect();
    assert_eq!(explained, ["bob"]);
}

#[test]
fn the_csv_explanation_lists_the_entrants_events_in_order() {
    let csv = stdout(&with_entrants(&["--explain", "70001"]));
    let (_, explanation) = csv.split_once("\n\n").expect("a second table");
    let lines: Vec<&str> = explanation.lines().collect();
    assert_eq!(
        lines,
        [
            "login,event,id,at,symbol,side,volume,opened_at,amount,reason,equity,index",
            "70001,start,,2026-03-09T00:00:00Z,,,,,,,1000.00,1",
            "70001,counted,1001,2026-03-09T09:00:00Z,EURUSD,buy,1.00,2026-03-09T08:00:00Z,50.00,,1050.00,1.05",
            "70001,excluded,1002,2026-03-10T08:00:30Z,EURUSD,,2.00,2026-03-10T08:00:00Z,200.00,held_too_short,,",
            "70001,counted,1003,2026-03-11T09:00:00Z,GBPUSD,sell,1.50,2026-03-11T08:00:00Z,125.00,,1375.00,1.155",
            "70001,end,,2026-03-23T00:00:00Z,,,,,,,1375.00,",
        ]
    );
}

#[test]
fn without_an_entrants_file_every_login_enters() {
    let csv = stdout(&score(
        &example("deals.csv"),
        &example("cashflows.csv"),
        &[],
    ));
    let rows = ranking(&csv);
    assert_eq!(rows.len(), 7, "the six entrants and login 79999");
    assert_eq!(rows[0][1], "70001");
    // one trade of the two needed
    let stranger = rows.iter().find(|r| r[1] == "79999").unwrap();
    assert_eq!(stranger[2], "too_few_trades");
}

fn refused(file: &str, text: &str, deals: bool) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(file);
    std::fs::write(&path, text).unwrap();
    let out = if deals {
        score(&path, &example("cashflows.csv"), &[])
    } else {
        score(&example("deals.csv"), &path, &[])
    };
    assert_eq!(out.status.code(), Some(2), "bad input exits 2");
    assert!(out.stdout.is_empty(), "no ranking is printed");
    let stderr = String::from_utf8(out.stderr).unwrap();
    stderr
        .strip_prefix("error: ")
        .unwrap()
        .trim_end()
        .replace(&path.display().to_string(), file)
}

#[test]
fn bad_files_are_refused_naming_the_file_line_and_column() {
    const HEADER: &str =
        "deal,login,symbol,side,volume,opened_at,closed_at,profit,commission,swap\n";
    const GOOD: &str = "1,7,EURUSD,buy,1.00,2026-03-09T08:00:00Z,2026-03-09T09:00:00Z,1.00,0,0\n";
    let error = refused(
        "DEALS.csv",
        &format!(
            "{HEADER}{GOOD}2,7,EURUSD,buy,1.00,2026-03-09T08:00:00Z,2026-03-09T09:00:00Z,1.00,-3.5O,0\n"
        ),
        true,
    );
    assert!(
        error.starts_with("DEALS.csv: line 3, column 9 (commission): "),
        "{error}"
    );
    let error = refused(
        "DEALS.csv",
        &format!(
            "{HEADER}{GOOD}\n3,7,EURUSD,hold,1.00,2026-03-09T08:00:00Z,2026-03-09T09:00:00Z,1.00,0,0\n"
        ),
        true,
    );
    assert!(
        error.starts_with("DEALS.csv: line 4, column 4 (side): 'hold' is not one of buy, sell"),
        "{error}"
    );
    let error = refused(
        "DEALS.csv",
        &format!(
            "{HEADER}4,7,EURUSD,buy,1.00,2026-03-09T10:00:00+01:00,2026-03-09T09:00:00Z,1.00,0,0\n"
        ),
        true,
    );
    assert!(
        error.starts_with("DEALS.csv: line 2, column 6 (opened_at): "),
        "{error}"
    );
    let error = refused(
        "CASHFLOWS.csv",
        "id,login,kind,amount,at\n1,7,withdrawal,500.00,2026-03-09T08:00:00Z\n",
        false,
    );
    assert!(
        error.starts_with("CASHFLOWS.csv: line 2, column 4 (amount): "),
        "{error}"
    );
    assert!(error.ends_with("(invalid_cash_flow)"), "{error}");
    let error = refused("CASHFLOWS.csv", "id,login,amount,at\n", false);
    assert_eq!(
        error,
        "CASHFLOWS.csv: line 1: the header has no column kind (it needs id,login,kind,amount,at) (missing_column)"
    );
    let error = refused("DEALS.csv", &format!("{HEADER}5,\"7,EURUSD\n"), true);
    assert_eq!(
        error,
        "DEALS.csv: line 2, column 2: a quoted field is never closed (invalid_csv)"
    );
}
