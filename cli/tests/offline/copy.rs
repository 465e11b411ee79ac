//! `brokeros copy size` over the README's cases (`docs/examples/copy/cases.csv`) and from flags:
//! each mode's rule, sizes fitted to the symbol or refused with why, and bad input refused
//! naming the flag or the file, line and column.

use std::path::Path;
use std::process::{Command, Output};

use crate::stdout;

fn brokeros(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_brokeros"))
        .args(args)
        .output()
        .expect("the binary runs")
}

#[test]
fn the_readme_cases_size_by_each_mode() {
    let cases = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/examples/copy/cases.csv");
    let csv = stdout(&brokeros(&[
        "copy",
        "size",
        "--cases",
        cases.to_str().unwrap(),
    ]));
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines,
        [
            "mode,asked,volume,note",
            "fixed_lot,0.1,0.1,",
            "multiplier,1,1,",
            "balance,0.5,0.5,",
            "equity,0.33333333,0.33,",
            "balance_ratio,1.5,1.5,",
            "balance,0.0075,,below_minimum_volume",
            "multiplier,80,50,clamped_to_maximum",
            "equity,0,,follower_without_money",
        ]
    );
}

#[test]
fn one_case_from_flags_and_bad_input_refused() {
    let csv = stdout(&brokeros(&[
        "copy",
        "size",
        "--mode",
        "balance_ratio",
        "--parameter",
        "2",
        "--provider-volume",
        "1.00",
        "--provider-balance",
        "10000",
        "--follower-balance",
        "2500",
    ]));
    assert_eq!(csv, "mode,asked,volume,note\nbalance_ratio,0.5,0.5,\n");
    let out = brokeros(&["copy", "size", "--mode", "multiplier"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--parameter: mode multiplier needs its factor"),
        "{err}"
    );
    assert!(out.stdout.is_empty(), "nothing printed for a refused case");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("CASES.csv");
    std::fs::write(
        &file,
        "mode,parameter,provider_volume,provider_balance,provider_equity,follower_balance,follower_equity,min,max,step\n\
         martingale,,1,1,1,1,1,0.01,50,0.01\n",
    )
    .unwrap();
    let out = brokeros(&["copy", "size", "--cases", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("CASES.csv: line 2, column 1 (mode)"), "{err}");
}
