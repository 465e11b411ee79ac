//! The `brokeros` binary as operators and auditors use it: the demo (its IB chapter's legs,
//! payout and statements, and its contest chapter's scoring and prizes included), dev tokens,
//! audit export, and `audit verify` catching a modified, a deleted and a reordered event.

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use rust_decimal::Decimal;

/// The README's examples, run as written (`cargo test -p brokeros --test cli readme`).
mod readme;

fn brokeros(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_brokeros"))
        .args(args)
        .output()
        .expect("the binary runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

fn write_lines(path: &Path, lines: &[String]) {
    std::fs::write(
        path,
        lines.iter().map(|l| format!("{l}\n")).collect::<String>(),
    )
    .unwrap();
}

#[test]
fn demo_then_export_and_verify_catch_tampering() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data_arg = data.to_str().unwrap();
    let demo = brokeros(&["demo", "--data-dir", data_arg]);
    assert!(
        demo.status.success(),
        "{}{}",
        stdout(&demo),
        String::from_utf8_lossy(&demo.stderr)
    );
    let text = stdout(&demo);
    for expected in [
        "merged into",
        "-> 403",
        "approved with trading account",
        "waits in the compliance queue",
        "verify: OK",
        "Demo complete.",
    ] {
        assert!(
            text.contains(expected),
            "the demo output lacks '{expected}':\n{text}"
        );
    }
    check_ib_chapter(&text);
    check_contest_chapter(&text);
    // Every workflow start the demo committed was carried out: nothing waits in the outbox.
    let outbox = brokeros(&["outbox", "--data-dir", data_arg]);
    assert!(outbox.status.success(), "{outbox:?}");
    assert_eq!(stdout(&outbox), "", "nothing waits");
    assert!(
        String::from_utf8_lossy(&outbox.stderr).contains("0 side effects waiting"),
        "{outbox:?}"
    );

    let out = dir.path().join("export/all");
    let export = brokeros(&[
        "audit",
        "export",
        "--data-dir",
        data_arg,
        "--from",
        "2000-01-01T00:00:00Z",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(
        export.status.success(),
        "{}",
        String::from_utf8_lossy(&export.stderr)
    );
    let ndjson = dir.path().join("export/all.ndjson");
    assert!(dir.path().join("export/all.csv").exists());
    // Auditors verify with the signer's public key, handed to them separately.
    let public_key = brokeros(&["audit", "public-key", "--data-dir", data_arg]);
    assert!(public_key.status.success());
    let key_path = dir.path().join("audit-public-key.pem");
    std::fs::write(&key_path, &public_key.stdout).unwrap();
    let key_arg = key_path.to_str().unwrap();
    let unsigned = brokeros(&["audit", "verify", ndjson.to_str().unwrap()]);
    assert!(
        !unsigned.status.success(),
        "verify must ask for a public key"
    );
    let ok = brokeros(&[
        "audit",
        "verify",
        ndjson.to_str().unwrap(),
        "--public-key",
        key_arg,
    ]);
    assert!(ok.status.success(), "{}", stdout(&ok));
    assert!(stdout(&ok).starts_with("OK: "), "{}", stdout(&ok));
    let original = lines(&ndjson);
    assert!(original.len() >= 10);

    let check = |tampered: Vec<String>, expect: &str| {
        let path = dir.path().join("export/all.ndjson");
        write_lines(&path, &tampered);
        let result = brokeros(&[
            "audit",
            "verify",
            path.to_str().unwrap(),
            "--manifest",
            dir.path()
                .join("export/all.manifest.json")
                .to_str()
                .unwrap(),
            "--public-key",
            key_arg,
        ]);
        assert_eq!(result.status.code(), Some(1), "{}", stdout(&result));
        assert!(
            stdout(&result).contains(expect),
            "expected '{expect}' in: {}",
            stdout(&result)
        );
    };
    let mut modified = original.clone();
    modified[3] = modified[3]
        .replacen("\"sales-1\"", "\"sales-2\"", 1)
        .replacen("lead.", "lead.x", 1);
    let id3: serde_json::Value = serde_json::from_str(&original[3]).unwrap();
    check(
        modified,
        &format!(
            "line 4: event {} ({}/{} seq {}) does not match its hash",
            id3["id"].as_str().unwrap(),
            id3["entity_type"].as_str().unwrap(),
            id3["entity_id"].as_str().unwrap(),
            id3["seq"]
        ),
    );

    // Deleting an event in the middle of a stream breaks that stream's chain at its successor.
    let events: Vec<serde_json::Value> = original
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let victim = (0..events.len())
        .find(|&i| {
            events[i]["seq"] == 1
                && events
                    .iter()
                    .skip(i + 1)
                    .any(|e| e["entity_id"] == events[i]["entity_id"] && e["seq"] == 2)
        })
        .map(|i| {
            events
                .iter()
                .position(|e| e["entity_id"] == events[i]["entity_id"] && e["seq"] == 2)
                .unwrap()
        })
        .expect("a stream with a second event");
    let mut deleted = original.clone();
    deleted.remove(victim);
    check(deleted, "breaks the chain");

    let mut reordered = original.clone();
    let last = reordered.len() - 1;
    reordered.swap(0, last);
    check(reordered, "FAILED: line");

    let mut truncated = original.clone();
    truncated.pop();
    check(truncated, "FAILED");
}

/// The number that follows `marker` in `line`.
fn number_after(line: &str, marker: &str) -> Decimal {
    let start = line
        .find(marker)
        .unwrap_or_else(|| panic!("no '{marker}' in: {line}"))
        + marker.len();
    let number: String = line[start..]
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == '-')
        .collect();
    number
        .trim_end_matches('.')
        .parse()
        .unwrap_or_else(|_| panic!("no number after '{marker}' in: {line}"))
}

/// The lines of `text` that contain every one of `parts`.
fn lines_with<'a>(text: &'a str, parts: &[&str]) -> Vec<&'a str> {
    text.lines()
        .filter(|line| parts.iter().all(|part| line.contains(part)))
        .collect()
}

/// The legs the IBs read of the deal `label` names, by level: (level, amount, line).
fn legs<'a>(text: &'a str, label: &str) -> Vec<(Decimal, Decimal, &'a str)> {
    let prefix = format!("{label}: deal ");
    let mut legs: Vec<_> = text
        .lines()
        .filter(|line| line.trim_start().starts_with(&prefix))
        .map(|line| {
            (
                number_after(line, " level "),
                number_after(line, " amount "),
                line,
            )
        })
        .collect();
    legs.sort();
    legs
}

/// What the demo's IB chapter shows: each level's share of a round trip, a scalp and a hedge
/// that earn nothing and say why, the per-deal cap, finance's maker-checker approval, the
/// payout workflow waiting for it, and statements whose paid amount is what each IB wallet
/// got, the rounding remainder carried.
fn check_ib_chapter(text: &str) {
    let plan = lines_with(text, &["rules: ", "\"cap_per_deal\""]);
    assert_eq!(plan.len(), 1, "the plan's line:\n{text}");
    let cap = number_after(plan[0], "\"cap_per_deal\":\"");
    // The levels' percents, as the plan line prints them: "percents":["60","40","50"].
    let percents = plan[0].split("\"percents\":[").nth(1).unwrap();
    let shares: Vec<Decimal> = percents[..percents.find(']').unwrap()]
        .split(',')
        .map(|p| p.trim_matches('"').parse::<Decimal>().unwrap() / Decimal::ONE_HUNDRED)
        .collect();
    assert_eq!(shares.len(), 3, "{}", plan[0]);
    assert!(plan[0].contains("share_of_above"), "{}", plan[0]);

    // Dana's round trip pays her IB and the two above it, each level a share of the one below.
    let round_trip = legs(text, "Dana's round trip");
    let levels: Vec<Decimal> = round_trip.iter().map(|leg| leg.0).collect();
    assert_eq!(levels, [0, 1, 2].map(Decimal::from), "{round_trip:?}");
    let earned = number_after(round_trip[0].2, "deal earned ");
    assert!(earned > Decimal::ZERO, "{}", round_trip[0].2);
    assert_eq!(round_trip[0].1, earned * shares[0], "{}", round_trip[0].2);
    assert_eq!(round_trip[1].1, round_trip[0].1 * shares[1]);
    assert_eq!(round_trip[2].1, round_trip[1].1 * shares[2]);

    // The scalp was closed within the minimum hold time, the hedge opened against an open
    // opposite position: every level's leg is zero and says why.
    let scalp = legs(text, "Dana's scalp");
    assert_eq!(scalp.len(), 3, "{scalp:?}");
    for (_, amount, line) in &scalp {
        assert_eq!(*amount, Decimal::ZERO, "{line}");
        assert!(line.contains("held 30s"), "{line}");
        assert!(line.contains("0 of 1 lots counted"), "{line}");
        assert!(line.contains("excluded: held_too_short"), "{line}");
    }
    let hedge = legs(text, "Emil's hedge");
    assert_eq!(hedge.len(), 2, "{hedge:?}");
    for (_, amount, line) in &hedge {
        assert_eq!(*amount, Decimal::ZERO, "{line}");
        assert!(
            line.contains(
                "0 of 3 lots counted; held 5m00s; 3 lots hedged by an open opposite position"
            ),
            "{line}"
        );
    }
    // The long the hedge stood against earns when closed, up to the plan's cap per deal.
    let long = legs(text, "Emil's long");
    assert_eq!(long.len(), 2, "{long:?}");
    assert_eq!(long.iter().map(|leg| leg.1).sum::<Decimal>(), cap);
    assert!(
        long[1].2.contains("cut by the per-deal cap"),
        "{}",
        long[1].2
    );

    // The statement over the threshold waits for finance: not the run's maker, another person.
    assert_eq!(
        lines_with(
            text,
            &[
                "finance-1 refused (403)",
                "never approved by the person who requested it"
            ]
        )
        .len(),
        1,
        "{text}"
    );
    assert_eq!(
        lines_with(text, &["finance-2: statement", " payable"]).len(),
        1
    );
    let states = lines_with(text, &["states: ClosePeriod"]);
    assert_eq!(states.len(), 1, "{text}");
    assert!(
        states[0].contains("-> AwaitApprovals -> PayStatements"),
        "{}",
        states[0]
    );
    assert!(states[0].ends_with("-> Paid"), "{}", states[0]);
    assert_eq!(
        lines_with(
            text,
            &["Succeeded: run daily-", " done, 3 statements, 3 paid"]
        )
        .len(),
        1,
        "{text}"
    );

    // Each IB's statement pays its accrual rounded, carrying the remainder, and its wallet
    // holds what the statement paid.
    let statements = lines_with(
        text,
        &[
            "     accrued ",
            ", carried in ",
            ", paid ",
            ", carried out ",
        ],
    );
    assert_eq!(statements.len(), 3, "{text}");
    for line in &statements {
        let (accrued, carried_in) = (
            number_after(line, "accrued "),
            number_after(line, "carried in "),
        );
        let (paid, carried_out) = (
            number_after(line, " paid "),
            number_after(line, "carried out "),
        );
        assert_eq!(accrued + carried_in, paid + carried_out, "{line}");
        assert_eq!(paid, paid.round_dp(2), "{line}");
    }
    assert!(
        statements
            .iter()
            .any(|line| !number_after(line, "carried out ").is_zero()),
        "a remainder is carried: {statements:?}"
    );
    let wallets = lines_with(text, &["wallet IB:", " holds ", " = statement paid "]);
    assert_eq!(wallets.len(), 3, "{text}");
    for line in &wallets {
        let held = number_after(line, " holds ");
        assert!(held > Decimal::ZERO, "{line}");
        assert_eq!(held, number_after(line, "statement paid "), "{line}");
    }
    assert!(!lines_with(text, &["tier: ", " lots over the day reached "]).is_empty());
    let csv: Vec<&str> = lines_with(text, &["     | "]);
    assert_eq!(csv.len(), 2, "{text}");
    assert!(
        csv[0].ends_with(",accrued,carried_in,paid,carried_out,status"),
        "{}",
        csv[0]
    );
    assert!(csv[1].ends_with(",paid"), "{}", csv[1]);
}

/// The entrant a contest line ends with: `(Farah)`.
fn entrant_of(line: &str) -> &str {
    line.rsplit('(')
        .next()
        .and_then(|tail| tail.strip_suffix(')'))
        .unwrap_or_else(|| panic!("no entrant at the end of: {line}"))
}

/// What the demo's contest chapter shows: Farah's scalp excluded from her score and nothing
/// else of hers, Goran's return where it was after his deposit, Hana disqualified by the
/// drawdown rule and never ranked nor awarded, and the prizes of ranks 1 to 3 approved by
/// finance after the publisher was refused, then paid into those entrants' wallets.
fn check_contest_chapter(text: &str) {
    let chapter = &text[text
        .find("== A trading contest")
        .expect("the demo has a contest chapter")..];

    // The scalp's closing deal is the one excluded, as held too short; the other trade counts,
    // and Farah's return is that trade's alone.
    let scalp = lines_with(chapter, &["Farah's scalp: position ", " after 30s (deal "]);
    assert_eq!(scalp.len(), 1, "{chapter}");
    let scalp_deal = number_after(scalp[0], "(deal ");
    let excluded = lines_with(chapter, &["   excluded: deal "]);
    assert_eq!(excluded.len(), 1, "{chapter}");
    assert_eq!(number_after(excluded[0], "excluded: deal "), scalp_deal);
    assert!(excluded[0].ends_with(": held_too_short"), "{}", excluded[0]);
    let counted = lines_with(chapter, &["   counted: deal "]);
    assert_eq!(counted.len(), 1, "{chapter}");
    assert_ne!(number_after(counted[0], "counted: deal "), scalp_deal);
    let farah = lines_with(
        chapter,
        &["Farah: return ", " over 1 counted trade(s), 1 excluded"],
    );
    assert_eq!(farah.len(), 1, "{chapter}");
    assert_eq!(
        number_after(farah[0], "return "),
        number_after(counted[0], "growth index after ") - Decimal::ONE,
        "{}",
        farah[0]
    );
    for row in lines_with(chapter, &["(Farah)"]) {
        assert!(row.contains(" trades 1 "), "{row}");
    }

    // Goran's deposit raises his equity by its amount and leaves his return where it was.
    let before = lines_with(chapter, &["before the deposit: return "]);
    let after = lines_with(chapter, &["after the deposit: return "]);
    assert_eq!((before.len(), after.len()), (1, 1), "{chapter}");
    assert_eq!(
        number_after(after[0], "return "),
        number_after(before[0], "return "),
        "{}",
        after[0]
    );
    let deposit = lines_with(chapter, &["cash flow deposit "]);
    assert_eq!(deposit.len(), 1, "{chapter}");
    let amount = number_after(deposit[0], "cash flow deposit ");
    assert_eq!(amount, Decimal::new(50000, 2));
    assert_eq!(
        number_after(after[0], "equity "),
        number_after(before[0], "equity ") + amount
    );

    // Hana's drawdown passes the limit: she is on both leaderboards, last and unranked, and
    // wins nothing.
    let hana = lines_with(chapter, &["Hana: max drawdown "]);
    assert_eq!(hana.len(), 1, "{chapter}");
    assert!(
        number_after(hana[0], "max drawdown ") > number_after(hana[0], "(limit "),
        "{}",
        hana[0]
    );
    assert!(
        hana[0].ends_with(": drawdown_exceeded, rank -"),
        "{}",
        hana[0]
    );
    let rows = lines_with(chapter, &["(Hana)"]);
    assert_eq!(
        rows.len(),
        2,
        "the live and the final leaderboard: {chapter}"
    );
    for row in rows {
        assert!(row.trim_start().starts_with("-    Hana N."), "{row}");
        assert!(row.contains(" drawdown_exceeded "), "{row}");
    }

    // The publisher may not approve the prizes, finance does, and the final run pays them.
    assert_eq!(
        lines_with(
            chapter,
            &[
                "admin-1 refused (403)",
                "never approved by the person who requested it"
            ]
        )
        .len(),
        1,
        "{chapter}"
    );
    assert_eq!(
        lines_with(chapter, &["finance-1: prizes approved"]).len(),
        1
    );
    let states = lines_with(chapter, &["states: ScoreNewDeals", "-> Freeze ->"]);
    assert_eq!(states.len(), 1, "{chapter}");
    assert!(
        states[0].contains(
            "-> RecomputeInFull -> ScoresAgree -> ProposePrizes -> ApprovalPending -> AwaitApproval -> PayPrizes"
        ),
        "{}",
        states[0]
    );
    assert!(states[0].ends_with("-> Paid"), "{}", states[0]);
    assert_eq!(
        lines_with(chapter, &["Succeeded: contest demo-cup paid"]).len(),
        1
    );

    // Ranks 1 to 3 of the final leaderboard are awarded, and each wallet holds its prize.
    let final_board = &chapter[chapter.find("final: true").expect("a final leaderboard")..];
    let podium: Vec<&str> = (1..=3)
        .map(|rank| {
            let row = lines_with(final_board, &[&format!("   #{rank} ")]);
            assert_eq!(row.len(), 1, "rank {rank}: {final_board}");
            entrant_of(row[0])
        })
        .collect();
    assert!(!podium.contains(&"Hana"), "{podium:?}");
    for (rank, name) in (1..=3).zip(&podium) {
        let award = lines_with(chapter, &[&format!("   rank {rank}: {name} (")]);
        assert_eq!(award.len(), 1, "rank {rank}: {chapter}");
        assert!(
            award[0].ends_with(&format!("transfer contest:demo-cup:rank:{rank}")),
            "{}",
            award[0]
        );
        let wallet = lines_with(chapter, &[&format!("   rank {rank} {name}: wallet holds ")]);
        assert_eq!(wallet.len(), 1, "rank {rank}: {chapter}");
        let held = number_after(wallet[0], "wallet holds ");
        assert!(held > Decimal::ZERO, "{}", wallet[0]);
        assert_eq!(held, number_after(wallet[0], "= prize "), "{}", wallet[0]);
        assert_eq!(held, number_after(award[0], ") "), "{}", award[0]);
    }
    assert_eq!(lines_with(chapter, &[": wallet holds "]).len(), 3);
}

#[test]
fn token_mints_for_known_roles_only() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    served_once(data);
    let ok = brokeros(&[
        "token",
        "--role",
        "sales",
        "--sub",
        "u-1",
        "--data-dir",
        data,
    ]);
    assert!(ok.status.success());
    assert_eq!(stdout(&ok).trim().split('.').count(), 3);
    let bad = brokeros(&[
        "token",
        "--role",
        "root",
        "--sub",
        "u-1",
        "--data-dir",
        data,
    ]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown role"));
    // `serve` refuses tokens living longer than a day, so none is minted.
    let long = brokeros(&[
        "token",
        "--role",
        "sales",
        "--sub",
        "u-1",
        "--ttl-seconds",
        "86401",
        "--data-dir",
        data,
    ]);
    assert_eq!(long.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&long.stderr).contains("--ttl-seconds must be 1 to 86400"));
}

/// One HTTP/1.1 exchange over a plain socket; returns the status and the body.
fn http(addr: &str, request: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = response.split("\r\n\r\n").nth(1).unwrap_or("").to_string();
    (status, body)
}

/// `brokeros serve` on a free port over `data`; answers the process and its address.
fn spawn_serve(data: &str) -> (std::process::Child, String) {
    spawn_serve_with(data, &[])
}

/// `brokeros serve` on a free port over `data` with more arguments.
fn spawn_serve_with(data: &str, more: &[&str]) -> (std::process::Child, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_brokeros"));
    command
        .args(["serve", "--port", "0", "--data-dir", data])
        .args(more);
    let (server, addr, _) = start_serve(command);
    (server, addr)
}

/// Starts `command` (a `brokeros serve` on port 0); answers the process, its address and its
/// banner's three lines (address, data directory, token command).
fn start_serve(mut command: Command) -> (std::process::Child, String, Vec<String>) {
    use std::io::BufRead;
    let mut server = command
        .env("RUST_LOG", "warn")
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut stderr = std::io::BufReader::new(server.stderr.take().unwrap());
    let banner: Vec<String> = (0..3)
        .map(|_| {
            let mut line = String::new();
            stderr.read_line(&mut line).unwrap();
            line.trim_end().to_string()
        })
        .collect();
    let addr = banner[0]
        .split("http://")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .unwrap_or_else(|| panic!("no address in the banner: {banner:?}"))
        .to_string();
    (server, addr, banner)
}

/// A temporary directory holding `data`, a data directory `serve` made ([`served_once`]).
fn served_data_dir() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data").to_str().unwrap().to_string();
    served_once(&data);
    (dir, data)
}

/// A data directory as `serve` leaves it (store and keys), made by starting and stopping it:
/// the only way besides the demo that one is created.
fn served_once(data: &str) {
    let (mut server, _) = spawn_serve(data);
    server.kill().unwrap();
    server.wait().unwrap();
}

/// A JSON request to `addr`; answers the status and the JSON body (`Null` when empty).
fn api(
    addr: &str,
    method: &str,
    path: &str,
    token: &str,
    body: Option<serde_json::Value>,
) -> (u16, serde_json::Value) {
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let (status, text) = http(
        addr,
        &format!(
            "{method} {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    );
    (
        status,
        serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
    )
}

/// Registers an individual client resident in Germany with an identity document and a proof of
/// address (the document number drives the simulated KYC provider) and starts their onboarding;
/// answers the client id.
fn onboard_over_http(
    addr: &str,
    token: &str,
    first: &str,
    last: &str,
    identity: (&str, &str),
) -> String {
    use serde_json::json;
    let (status, client) = api(
        addr,
        "POST",
        "/clients",
        token,
        Some(json!({
            "first_name": first, "last_name": last, "country": "DE",
            "profile": { "client_type": "individual", "date_of_birth": "1990-05-30", "nationality": "DE",
                         "residence_country": "DE", "source_of_funds": "salary", "pep_declared": false }
        })),
    );
    assert_eq!(status, 201, "{client}");
    let client_id = client["id"].as_str().unwrap().to_string();
    for document in [
        json!({ "type": identity.0, "issuing_country": "DE", "number": identity.1 }),
        json!({ "type": "proof_of_address", "issuing_country": "DE", "number": format!("POA-{last}") }),
    ] {
        let path = format!("/clients/{client_id}/documents");
        assert_eq!(api(addr, "POST", &path, token, Some(document)).0, 201);
    }
    let path = format!("/clients/{client_id}/onboarding");
    let (status, started) = api(
        addr,
        "POST",
        &path,
        token,
        Some(json!({ "product": "forex" })),
    );
    assert_eq!(status, 202, "{started}");
    client_id
}

fn dev_token(data: &str, role: &str, sub: &str) -> String {
    stdout(&brokeros(&[
        "token",
        "--role",
        role,
        "--sub",
        sub,
        "--data-dir",
        data,
    ]))
    .trim()
    .to_string()
}

#[test]
fn serve_answers_over_http_with_tokens_from_the_same_data_dir() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let (mut server, addr) = spawn_serve(data);

    let (status, body) = http(
        &addr,
        "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert_eq!((status, body.as_str()), (200, r#"{"status":"ok"}"#));
    let lead =
        r#"{"first_name":"Ann","email":"ann@example.com","country":"GB","marketing_consent":true}"#;
    let (status, body) = http(
        &addr,
        &format!(
            "POST /leads HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{lead}",
            lead.len()
        ),
    );
    assert_eq!(status, 202, "{body}");
    let token = stdout(&brokeros(&[
        "token",
        "--role",
        "admin",
        "--sub",
        "a-1",
        "--data-dir",
        data,
    ]))
    .trim()
    .to_string();
    let (status, body) = http(
        &addr,
        &format!(
            "GET /leads HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
        ),
    );
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("ann@example.com"), "{body}");
    let (status, body) = http(
        &addr,
        "GET /leads HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(status, 401, "{body}");
    server.kill().unwrap();
    server.wait().unwrap();
}

/// A public POST of `body` to `path` on `addr` (no token).
fn public_post(addr: &str, path: &str, body: &str) -> (u16, String) {
    http(
        addr,
        &format!(
            "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    )
}

#[test]
fn the_consent_outbox_hands_out_the_token_that_confirms_consent() {
    let (_dir, data) = served_data_dir();
    let consent = |data: &str| brokeros(&["outbox", "--consent", "--data-dir", data]);
    let empty = consent(&data);
    assert!(empty.status.success(), "{}", stderr(&empty));
    assert_eq!(stdout(&empty).trim(), "");
    assert!(stderr(&empty).contains("0 consent messages queued"));

    let (mut server, addr) = spawn_serve(&data);
    let lead =
        r#"{"first_name":"Ann","email":"ann@example.com","country":"GB","marketing_consent":true}"#;
    let (status, body) = public_post(&addr, "/leads", lead);
    assert_eq!(status, 202, "{body}");
    let queued = consent(&data);
    assert!(queued.status.success(), "{}", stderr(&queued));
    let messages: Vec<serde_json::Value> = stdout(&queued)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(messages.len(), 1, "{messages:?}");
    let message = &messages[0];
    assert_eq!(message["channel"], "email", "{message}");
    // The lead's address is not printed: the message names the lead by id.
    assert!(
        !message.to_string().contains("ann@example.com"),
        "{message}"
    );
    let token = message["token"].as_str().unwrap();

    let confirm = |token: &str| {
        public_post(
            &addr,
            "/leads/consent/confirm",
            &serde_json::json!({ "token": token }).to_string(),
        )
    };
    let (status, body) = confirm(token);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(r#""status":"confirmed""#), "{body}");
    let (status, body) = confirm(token);
    assert_eq!(status, 409, "used once: {body}");
    server.kill().unwrap();
    server.wait().unwrap();
}

fn json_of(output: &Output) -> serde_json::Value {
    serde_json::from_str(stdout(output).trim()).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}{}",
            stdout(output),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

#[test]
fn sfn_run_reports_success_and_failure_and_stores_the_execution() {
    let (dir, data) = served_data_dir();
    let data_arg = data.as_str();
    let definition = concat!(env!("CARGO_MANIFEST_DIR"), "/../bench/pass-choice.asl.json");
    let ok = brokeros(&[
        "sfn",
        "run",
        "--definition",
        definition,
        "--input",
        "{}",
        "--data-dir",
        data_arg,
    ]);
    assert!(ok.status.success());
    let report = json_of(&ok);
    assert_eq!(report["status"], "SUCCEEDED", "{report}");
    assert_eq!(
        report["output"],
        serde_json::json!({ "i": 25, "limit": 25 })
    );
    let arn = report["execution_arn"].as_str().unwrap();

    let failing = dir.path().join("fails.asl.json");
    std::fs::write(
        &failing,
        r#"{"StartAt":"Check","States":{"Check":{"Type":"Choice","Choices":[{"Variable":"$.amount","NumericGreaterThan":100,"Next":"TooLarge"}],"Default":"Done"},"TooLarge":{"Type":"Fail","Error":"Limits.Exceeded","Cause":"amount above limit"},"Done":{"Type":"Succeed"}}}"#,
    )
    .unwrap();
    let input_file = dir.path().join("input.json");
    std::fs::write(&input_file, r#"{"amount": 250}"#).unwrap();
    let failed = brokeros(&[
        "sfn",
        "run",
        "--definition",
        failing.to_str().unwrap(),
        "--input",
        input_file.to_str().unwrap(),
        "--data-dir",
        data_arg,
    ]);
    assert!(failed.status.success(), "a failed execution still exits 0");
    let report = json_of(&failed);
    assert_eq!(report["status"], "FAILED");
    assert_eq!(report["error"], "Limits.Exceeded");
    assert_eq!(report["cause"], "amount above limit");

    let described = json_of(&brokeros(&["sfn", "describe", arn, "--data-dir", data_arg]));
    assert_eq!(described["status"], "SUCCEEDED");
    assert_eq!(described["stateTransitions"], 77);
    let history = json_of(&brokeros(&["sfn", "history", arn, "--data-dir", data_arg]));
    let events = history["events"].as_array().unwrap();
    assert_eq!(events.first().unwrap()["type"], "ExecutionStarted");
    assert_eq!(events.last().unwrap()["type"], "ExecutionSucceeded");
    let listed = json_of(&brokeros(&[
        "sfn",
        "list",
        "--state-machine",
        "fails",
        "--status",
        "FAILED",
        "--data-dir",
        data_arg,
    ]));
    assert_eq!(listed["executions"].as_array().unwrap().len(), 1);
}

#[test]
fn sfn_run_refuses_an_invalid_definition_naming_the_state() {
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.asl.json");
    std::fs::write(
        &broken,
        r#"{"StartAt":"Start","States":{"Start":{"Type":"Pass","Next":"Missing"}}}"#,
    )
    .unwrap();
    let data = dir.path().join("data");
    let run = brokeros(&[
        "sfn",
        "run",
        "--definition",
        broken.to_str().unwrap(),
        "--data-dir",
        data.to_str().unwrap(),
    ]);
    assert!(!run.status.success());
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains("state \"Start\"") && stderr.contains("Missing"),
        "{stderr}"
    );
    assert!(stdout(&run).is_empty());
}

#[test]
fn an_onboarding_waiting_for_compliance_survives_a_restart_of_serve() {
    use serde_json::json;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let (mut first, addr) = spawn_serve(data);
    let sales = dev_token(data, "sales", "sales-1");
    let compliance = dev_token(data, "compliance", "compliance-1");
    let client_id = onboard_over_http(
        &addr,
        &sales,
        "Lea",
        "Fischer",
        ("national_id", "L01X00T49-REVIEW"),
    );
    let mut review_id = None;
    for _ in 0..200 {
        let (_, queue) = api(&addr, "GET", "/compliance/reviews", &compliance, None);
        if let Some(id) = queue["items"][0]["id"].as_str() {
            review_id = Some(id.to_string());
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let review_id = review_id.expect("the review appears in the queue");
    // Let the engine checkpoint the waiting task, then stop the process outright.
    std::thread::sleep(std::time::Duration::from_millis(300));
    first.kill().unwrap();
    first.wait().unwrap();

    let (mut second, addr) = spawn_serve(data);
    let path = format!("/compliance/reviews/{review_id}/decision");
    let (status, decided) = api(
        &addr,
        "POST",
        &path,
        &compliance,
        Some(json!({ "decision": "approve" })),
    );
    assert_eq!(status, 200, "{decided}");
    let mut kyc = serde_json::Value::Null;
    for _ in 0..200 {
        kyc = api(
            &addr,
            "GET",
            &format!("/clients/{client_id}/kyc"),
            &sales,
            None,
        )
        .1;
        if kyc["kyc_status"] == "approved" {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(kyc["kyc_status"], "approved", "{kyc}");
    second.kill().unwrap();
    second.wait().unwrap();
}

#[test]
fn a_deposit_in_serve_is_credited_by_the_providers_webhook_over_http() {
    use serde_json::json;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let (mut server, addr) = spawn_serve(data);
    let sales = dev_token(data, "sales", "sales-1");
    let client_id = onboard_over_http(&addr, &sales, "Jonas", "Berg", ("passport", "C01X00T47"));
    let mut kyc = serde_json::Value::Null;
    for _ in 0..200 {
        kyc = api(
            &addr,
            "GET",
            &format!("/clients/{client_id}/kyc"),
            &sales,
            None,
        )
        .1;
        if kyc["kyc_status"] == "approved" {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(kyc["kyc_status"], "approved", "{kyc}");

    let path = format!("/clients/{client_id}/deposits");
    let body = json!({ "deposit_id": "dep_http_1", "amount": "75.00", "currency": "EUR", "method": "card" });
    let (status, created) = api(&addr, "POST", &path, &sales, Some(body));
    assert_eq!(status, 201, "{created}");
    let mut deposit = serde_json::Value::Null;
    for _ in 0..200 {
        deposit = api(&addr, "GET", "/deposits/dep_http_1", &sales, None).1;
        if deposit["status"] == "credited" && deposit["funding"].is_object() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(deposit["status"], "credited", "{deposit}");
    // The account is in USD: the EUR deposit stays in the wallet.
    assert_eq!(deposit["funding"]["status"], "skipped", "{deposit}");
    let (_, wallet) = api(
        &addr,
        "GET",
        &format!("/clients/{client_id}/wallet"),
        &sales,
        None,
    );
    let eur = wallet["wallets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["currency"] == "EUR")
        .cloned()
        .unwrap_or_default();
    assert_eq!(eur["available"], "75.00", "{wallet}");
    server.kill().unwrap();
    server.wait().unwrap();
}

/// Reads what the server still sends on `stream` until it closes the connection; fails naming
/// `what` when it is still open after `within`.
fn read_until_closed(stream: &mut std::net::TcpStream, within: Duration, what: &str) -> String {
    use std::io::Read;
    stream.set_read_timeout(Some(within)).unwrap();
    let mut received = Vec::new();
    match stream.read_to_end(&mut received) {
        Ok(_) => {}
        // A reset closes it too (the server closed with our unread bytes in its buffer).
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
        Err(e) => panic!("{what}: still open after {within:?} ({e})"),
    }
    String::from_utf8_lossy(&received).into_owned()
}

/// Whether the server already closed `stream` (nothing more to read, or a reset).
fn is_closed(stream: &mut std::net::TcpStream) -> bool {
    use std::io::Read;
    stream
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let mut byte = [0u8; 1];
    match stream.read(&mut byte) {
        Ok(0) => true,
        Ok(_) => is_closed(stream),
        Err(e) => e.kind() == std::io::ErrorKind::ConnectionReset,
    }
}

const SHORT_TIMEOUTS: [&str; 6] = [
    "--header-read-timeout",
    "1s",
    "--body-read-timeout",
    "1s",
    "--keep-alive-timeout",
    "1s",
];

/// Issue 11, item 6: connections that never finish their headers, that never finish their
/// body, or that stay idle after a request are closed by `serve` (the timeouts are short here;
/// the defaults are 10 s, 30 s and 5 s); a slow body is answered 408 in JSON first.
#[test]
fn serve_closes_slow_and_idle_connections() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let (mut server, addr) = spawn_serve_with(dir.path().to_str().unwrap(), &SHORT_TIMEOUTS);
    let mut slow_heads = Vec::new();
    let mut slow_bodies = Vec::new();
    for _ in 0..20 {
        let mut head = std::net::TcpStream::connect(&addr).unwrap();
        head.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            .unwrap();
        slow_heads.push(head);
        let mut body = std::net::TcpStream::connect(&addr).unwrap();
        body.write_all(
            b"POST /leads HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"first_name\": ",
        )
        .unwrap();
        slow_bodies.push(body);
    }
    let mut idle = std::net::TcpStream::connect(&addr).unwrap();
    idle.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();

    // Generous bounds: they only say that the server closes them at all.
    let within = Duration::from_secs(20);
    for stream in &mut slow_heads {
        let received = read_until_closed(stream, within, "an incomplete head");
        assert_eq!(received, "", "nothing is answered to half a head");
    }
    for stream in &mut slow_bodies {
        let received = read_until_closed(stream, within, "an incomplete body");
        assert!(received.starts_with("HTTP/1.1 408 "), "{received}");
        assert!(
            received.contains("content-type: application/json"),
            "{received}"
        );
        let body = received.split("\r\n\r\n").nth(1).unwrap_or_default();
        let body: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(body["code"], "request_timeout", "{received}");
    }
    let received = read_until_closed(&mut idle, within, "an idle keep-alive connection");
    assert!(received.starts_with("HTTP/1.1 200 "), "{received}");
    server.kill().unwrap();
    server.wait().unwrap();
}

/// Issue 11, item 6: `--max-connections` connections are served at once; the next one is
/// answered only once one of them closed.
#[test]
fn serve_serves_at_most_max_connections_at_once() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let mut args = SHORT_TIMEOUTS.to_vec();
    args.extend(["--max-connections", "2"]);
    let (mut server, addr) = spawn_serve_with(dir.path().to_str().unwrap(), &args);
    // Two connections that send nothing hold both slots until the server closes them.
    let mut holders = [
        std::net::TcpStream::connect(&addr).unwrap(),
        std::net::TcpStream::connect(&addr).unwrap(),
    ];
    std::thread::sleep(Duration::from_millis(200));
    let mut third = std::net::TcpStream::connect(&addr).unwrap();
    third
        .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let received = read_until_closed(&mut third, Duration::from_secs(20), "the third connection");
    assert!(received.starts_with("HTTP/1.1 200 "), "{received}");
    // It was served only after a slot was freed: one of the holders is closed by now.
    assert!(
        holders.iter_mut().any(is_closed),
        "the third connection was served while both slots were held"
    );
    for holder in &mut holders {
        read_until_closed(holder, Duration::from_secs(20), "an idle connection");
    }
    server.kill().unwrap();
    server.wait().unwrap();
}

/// `brokeros recon` refuses a provider payments does not know (issue 11): exit 2 naming it,
/// and no run is recorded (a run is an audited entity: the audit export counts no new event).
#[test]
fn recon_refuses_an_unknown_provider_and_records_nothing() {
    let (dir, data) = served_data_dir();
    let data_arg = data.as_str();
    let report = dir.path().join("settlement.csv");
    std::fs::write(
        &report,
        "provider_reference,provider_transaction_id,type,amount,currency,fee,settled_at\n\
         dep_1,pay_1,deposit,100.00,EUR,0.00,2026-03-02T10:00:00Z\n",
    )
    .unwrap();
    let report_arg = report.to_str().unwrap();
    let events_from = |name: &str, from: &[&str]| {
        let out = dir.path().join(name);
        let mut args = vec!["audit", "export"];
        args.extend(from);
        args.extend(["--out", out.to_str().unwrap(), "--data-dir", data_arg]);
        let export = brokeros(&args);
        assert!(
            export.status.success(),
            "{}",
            String::from_utf8_lossy(&export.stderr)
        );
        stdout(&export)
            .split_whitespace()
            .nth(1)
            .unwrap()
            .to_string()
    };
    let events = |name: &str| events_from(name, &["--from", "2000-01-01T00:00:00Z"]);
    let before = events("before");

    let refused = brokeros(&[
        "recon",
        report_arg,
        "--provider",
        "nosuch",
        "--data-dir",
        data_arg,
    ]);
    assert_eq!(refused.status.code(), Some(2), "{}", stdout(&refused));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("payment provider nosuch not found"),
        "{stderr}"
    );
    assert_eq!(events("after"), before, "no run was recorded");

    // A provider of the routing rules: reconciled (exit 1: the ledger has no such deposit).
    let known = brokeros(&[
        "recon",
        report_arg,
        "--provider",
        "cardpay-eu",
        "--data-dir",
        data_arg,
    ]);
    assert_eq!(
        known.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&known.stderr)
    );
    assert!(
        stdout(&known).contains("missing_in_ledger"),
        "{}",
        stdout(&known)
    );
    // Without --from an export has every event: the run just recorded too.
    let everything = events_from("everything", &[]);
    assert_eq!(everything, events("since-2000"));
    assert!(
        everything.parse::<u64>().unwrap() > before.parse::<u64>().unwrap(),
        "{everything} events, {before} before the run"
    );
}

/// Issue 11: `serve` answers `GET /metrics` in the Prometheus text format, with the requests it
/// served counted by route template (never the raw path) and status class, and a payment
/// webhook with a forged signature counted among the signature failures.
#[test]
fn serve_exposes_request_counters_by_route_template_at_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let (mut server, addr) = spawn_serve(data);
    let admin = dev_token(data, "admin", "ops-1");
    assert_eq!(api(&addr, "GET", "/leads", &admin, None).0, 200);
    assert_eq!(api(&addr, "GET", "/leads", &admin, None).0, 200);
    assert_eq!(api(&addr, "GET", "/leads/lead_nope", &admin, None).0, 404);
    let forged = r#"{"id":"evt_1"}"#;
    let (status, _) = http(
        &addr,
        &format!(
            "POST /webhooks/psp/simcard HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nx-acquirer-signature: t=1,v1={}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{forged}",
            "00".repeat(32),
            forged.len()
        ),
    );
    assert_eq!(status, 401);

    let (status, text) = http(
        &addr,
        "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    server.kill().unwrap();
    server.wait().unwrap();
    assert_eq!(status, 200, "{text}");
    let value_of = |series: &str| -> f64 {
        text.lines()
            .find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or_else(|| panic!("no {series} in:\n{text}"))
    };
    assert!(
        text.contains("# TYPE brokeros_http_requests_total counter\n"),
        "{text}"
    );
    assert_eq!(
        value_of(r#"brokeros_http_requests_total{method="GET",route="/leads",status_class="2xx"}"#),
        2.0
    );
    assert_eq!(
        value_of(
            r#"brokeros_http_requests_total{method="GET",route="/leads/{id}",status_class="4xx"}"#
        ),
        1.0
    );
    assert!(
        !text.contains("lead_nope"),
        "raw paths are never labels:\n{text}"
    );
    assert_eq!(
        value_of(r#"brokeros_webhook_signature_failures_total{webhook="psp",provider="simcard"}"#),
        1.0
    );
    // The engine's running executions are read at each scrape (none here).
    assert_eq!(
        value_of(r#"brokeros_workflow_running_executions{machine="onboarding"}"#),
        0.0
    );
}

/// `brokeros` run in `cwd` with `BROKEROS_DATA_DIR` set to `env_data_dir` (removed when `None`:
/// the tests do not depend on the caller's environment).
fn brokeros_in(cwd: &Path, env_data_dir: Option<&Path>, args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_brokeros"));
    command.args(args).current_dir(cwd);
    match env_data_dir {
        Some(dir) => command.env("BROKEROS_DATA_DIR", dir),
        None => command.env_remove("BROKEROS_DATA_DIR"),
    };
    command.output().expect("the binary runs")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn entries(dir: &Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |entries| entries.count())
}

/// Issue 14: every command but `serve` and the demo, run where there is no Broker OS data,
/// creates nothing, exits non-zero and says where it looked and how it resolved the directory.
#[test]
fn commands_where_there_is_no_data_create_nothing_and_say_where_they_looked() {
    let root = tempfile::tempdir().unwrap();
    let cwd = root.path().join("elsewhere");
    std::fs::create_dir(&cwd).unwrap();
    let cwd = cwd.canonicalize().unwrap();
    let report = root.path().join("settlement.csv");
    std::fs::write(
        &report,
        "provider_reference,provider_transaction_id,type,amount,currency,fee,settled_at\n",
    )
    .unwrap();
    let definition = concat!(env!("CARGO_MANIFEST_DIR"), "/../bench/pass-choice.asl.json");
    let arn = "arn:aws:states:local:000000000000:execution:onboarding:x";
    let commands: [&[&str]; 13] = [
        &["token", "--role", "admin", "--sub", "me"],
        &["sfn", "list"],
        &["sfn", "list", "--state-machine", "onboarding"],
        &["sfn", "describe", arn],
        &["sfn", "history", arn],
        &["sfn", "run", "--definition", definition],
        &["audit", "export", "--out", "exports/audit"],
        &["audit", "export", "--entity", "lead/lead_1", "--out", "e"],
        &["audit", "public-key"],
        &["audit", "checkpoint"],
        &[
            "recon",
            report.to_str().unwrap(),
            "--provider",
            "cardpay-eu",
        ],
        &["outbox"],
        &["sfn", "list", "--state-machine", "bogus"],
    ];
    let default = format!(
        "error: no Broker OS data in {} (from ./.brokeros; set --data-dir or BROKEROS_DATA_DIR, or start `brokeros serve` there first)",
        cwd.join(".brokeros").display()
    );
    let named = cwd.join("named");
    let from_flag = format!(
        "error: no Broker OS data in {} (from --data-dir; start `brokeros serve` there first)",
        named.display()
    );
    let from_env = from_flag.replace("--data-dir", "BROKEROS_DATA_DIR");
    for args in commands {
        assert_eq!(entries(&cwd), 0);
        let run = brokeros_in(&cwd, None, args);
        assert!(!run.status.success(), "{args:?} succeeded: {run:?}");
        assert!(
            stderr(&run).contains(&default),
            "{args:?}: {}",
            stderr(&run)
        );
        let mut flagged = args.to_vec();
        flagged.extend(["--data-dir", "named"]);
        let run = brokeros_in(&cwd, None, &flagged);
        assert!(!run.status.success(), "{flagged:?} succeeded: {run:?}");
        assert!(
            stderr(&run).contains(&from_flag),
            "{flagged:?}: {}",
            stderr(&run)
        );
        let run = brokeros_in(&cwd, Some(&named), args);
        assert!(!run.status.success(), "{args:?} succeeded: {run:?}");
        assert!(
            stderr(&run).contains(&from_env),
            "{args:?}: {}",
            stderr(&run)
        );
        assert_eq!(
            entries(&cwd),
            0,
            "{args:?} created {:?}",
            std::fs::read_dir(&cwd).unwrap().collect::<Vec<_>>()
        );
    }
}

/// Issue 14: `--data-dir`, else `BROKEROS_DATA_DIR`, else `./.brokeros`; a token minted through
/// the variable from another directory is one `serve` accepts.
#[test]
fn the_data_directory_is_the_flag_then_the_variable_then_dot_brokeros() {
    let root = tempfile::tempdir().unwrap();
    let root_path = root.path().canonicalize().unwrap();
    let data = root_path.join("data");
    let elsewhere = root_path.join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    // `serve` through the variable: its banner says so and the token command names the path.
    let mut command = Command::new(env!("CARGO_BIN_EXE_brokeros"));
    command
        .args(["serve", "--port", "0"])
        .current_dir(&root_path)
        .env("BROKEROS_DATA_DIR", &data);
    let (mut server, addr, banner) = start_serve(command);
    assert_eq!(
        banner[1..],
        [
            format!(
                "data directory: {} (from BROKEROS_DATA_DIR)",
                data.display()
            ),
            format!(
                "mint a token: brokeros token --role admin --sub me --data-dir {}",
                data.display()
            ),
        ],
        "{banner:?}"
    );
    let token = brokeros_in(
        &elsewhere,
        Some(&data),
        &["token", "--role", "admin", "--sub", "a-1"],
    );
    assert!(token.status.success(), "{}", stderr(&token));
    let token = stdout(&token).trim().to_string();
    assert_eq!(api(&addr, "GET", "/leads", &token, None).0, 200);
    server.kill().unwrap();
    server.wait().unwrap();

    // The flag beats the variable, both ways.
    let missing = root_path.join("missing");
    let list = ["sfn", "list", "--data-dir"];
    let flag_missing = brokeros_in(
        &elsewhere,
        Some(&data),
        &[&list[..], &[missing.to_str().unwrap()]].concat(),
    );
    assert!(!flag_missing.status.success());
    assert!(
        stderr(&flag_missing).contains(&format!(
            "no Broker OS data in {} (from --data-dir",
            missing.display()
        )),
        "{}",
        stderr(&flag_missing)
    );
    let flag_found = brokeros_in(
        &elsewhere,
        Some(&missing),
        &[&list[..], &[data.to_str().unwrap()]].concat(),
    );
    assert!(flag_found.status.success(), "{}", stderr(&flag_found));
    assert!(!missing.exists() && entries(&elsewhere) == 0);

    // Neither: ./.brokeros of the current directory.
    std::fs::rename(&data, root_path.join(".brokeros")).unwrap();
    let default = brokeros_in(&root_path, None, &["sfn", "list"]);
    assert!(default.status.success(), "{}", stderr(&default));
}

/// Issue 14: `serve` names its data directory (absolute) and the exact token command for it;
/// a port in use is refused suggesting --port, creating nothing.
#[test]
fn serve_names_its_data_directory_and_the_token_command() {
    let root = tempfile::tempdir().unwrap();
    let root_path = root.path().canonicalize().unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_brokeros"));
    command
        .args(["serve", "--port", "0"])
        .current_dir(&root_path)
        .env_remove("BROKEROS_DATA_DIR");
    let (mut server, _, banner) = start_serve(command);
    server.kill().unwrap();
    server.wait().unwrap();
    assert_eq!(
        banner[1..],
        [
            format!(
                "data directory: {} (from ./.brokeros)",
                root_path.join(".brokeros").display()
            ),
            "mint a token: brokeros token --role admin --sub me".to_string(),
        ],
        "{banner:?}"
    );

    let spaced = root_path.join("my data");
    let mut command = Command::new(env!("CARGO_BIN_EXE_brokeros"));
    command
        .args(["serve", "--port", "0", "--data-dir", "my data"])
        .current_dir(&root_path);
    let (mut server, addr, banner) = start_serve(command);
    assert_eq!(
        banner[1..],
        [
            format!("data directory: {} (from --data-dir)", spaced.display()),
            format!(
                "mint a token: brokeros token --role admin --sub me --data-dir '{}'",
                spaced.display()
            ),
        ],
        "{banner:?}"
    );

    let port = addr.rsplit(':').next().unwrap();
    let before = entries(&root_path);
    let taken = brokeros_in(
        &root_path,
        None,
        &["serve", "--port", port, "--data-dir", "second"],
    );
    server.kill().unwrap();
    server.wait().unwrap();
    assert!(!taken.status.success());
    assert!(
        stderr(&taken).contains(&format!(
            "port {port} is in use: pass --port to choose another"
        )),
        "{}",
        stderr(&taken)
    );
    assert_eq!(entries(&root_path), before, "nothing created");
}

/// Issue 14: `sfn list` without a machine lists Broker OS's with their execution counts; an
/// unknown machine is refused naming the known ones; `audit export --entity` of an entity with
/// no events is refused and writes nothing.
#[test]
fn unknown_names_and_empty_selections_are_refused() {
    let (dir, data) = served_data_dir();
    let data_arg = data.as_str();
    // A definition run under the name of a Broker OS machine counts among its executions.
    let onboarding = dir.path().join("onboarding.asl.json");
    std::fs::copy(
        concat!(env!("CARGO_MANIFEST_DIR"), "/../bench/pass-choice.asl.json"),
        &onboarding,
    )
    .unwrap();
    let run = brokeros(&[
        "sfn",
        "run",
        "--definition",
        onboarding.to_str().unwrap(),
        "--data-dir",
        data_arg,
    ]);
    assert!(run.status.success(), "{}", stderr(&run));
    let machines = json_of(&brokeros(&["sfn", "list", "--data-dir", data_arg]));
    let counts: Vec<(String, u64)> = machines["state_machines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["name"].as_str().unwrap().to_string(),
                m["executions"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        counts,
        [
            ("onboarding".to_string(), 1),
            ("deposit".to_string(), 0),
            ("withdrawal".to_string(), 0),
            ("commission-payout".to_string(), 0),
            ("contest-scoring".to_string(), 0),
            ("pamm-rollover".to_string(), 0),
        ],
        "{machines}"
    );

    let bogus = brokeros(&[
        "sfn",
        "list",
        "--state-machine",
        "bogus",
        "--data-dir",
        data_arg,
    ]);
    assert!(!bogus.status.success());
    assert!(stdout(&bogus).is_empty());
    assert!(
        stderr(&bogus).contains(
            "no state machine bogus: Broker OS's are onboarding, deposit, withdrawal, commission-payout, contest-scoring"
        ),
        "{}",
        stderr(&bogus)
    );

    let out = dir.path().join("ghost");
    let ghost = brokeros(&[
        "audit",
        "export",
        "--entity",
        "lead/lead_nope",
        "--out",
        out.to_str().unwrap(),
        "--data-dir",
        data_arg,
    ]);
    assert!(!ghost.status.success());
    assert!(
        stderr(&ghost).contains("no audit events of lead/lead_nope"),
        "{}",
        stderr(&ghost)
    );
    let written: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("ghost"))
        .collect();
    assert!(written.is_empty(), "{written:?}");
}

/// `brokeros openapi` is the document `serve` answers at GET /openapi.json: the web app's types
/// are generated from the command's output, so it must be the served contract.
#[test]
fn openapi_prints_the_served_document() {
    let printed = brokeros(&["openapi"]);
    assert!(printed.status.success(), "{printed:?}");
    let printed: serde_json::Value = serde_json::from_slice(&printed.stdout).unwrap();
    assert!(printed["paths"].as_object().is_some_and(|p| !p.is_empty()));

    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data").to_str().unwrap().to_string();
    let (mut server, addr) = spawn_serve(&data);
    let (status, body) = http(
        &addr,
        "GET /openapi.json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    server.kill().unwrap();
    server.wait().unwrap();
    assert_eq!(status, 200, "{body}");
    let served: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(printed, served);
}

/// An RFC 3339 time `seconds` from now, to the second.
fn utc_in(seconds: i64) -> String {
    use time::format_description::well_known::Rfc3339;
    let at = time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap()
        + time::Duration::seconds(seconds);
    at.format(&Rfc3339).unwrap()
}

/// Reads `path` until `done` holds of its answer (what `serve` writes in the background);
/// answers the last answer.
fn poll(
    addr: &str,
    path: &str,
    token: &str,
    done: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let mut answer = serde_json::Value::Null;
    for _ in 0..300 {
        answer = api(addr, "GET", path, token, None).1;
        if done(&answer) {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    answer
}

#[test]
fn trades_booked_beside_a_running_serve_reach_a_contest_leaderboard_and_ib_earnings() {
    use serde_json::json;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data = data.to_str().unwrap();

    // No data directory: nothing is booked, and none is created.
    let missing = brokeros(&[
        "platform",
        "trade",
        "--login",
        "100001",
        "--side",
        "buy",
        "--lots",
        "1",
        "--data-dir",
        data,
    ]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no Broker OS data in"));
    assert!(!Path::new(data).exists());

    let (mut server, addr) = spawn_serve(data);
    let sales = dev_token(data, "sales", "sales-1");
    let client_id = onboard_over_http(&addr, &sales, "Mia", "Lenz", ("passport", "C01X00T48"));
    let kyc = poll(&addr, &format!("/clients/{client_id}/kyc"), &sales, |k| {
        k["onboardings"][0]["account"]["login"].is_u64()
    });
    let login = kyc["onboardings"][0]["account"]["login"]
        .as_u64()
        .unwrap_or_else(|| panic!("{kyc}"));

    // An IB on a plan of 10 per lot from a minute from now, and the client in its book.
    let partners = dev_token(data, "partners", "pm-1");
    let plan = json!({ "id": "cli", "version": 1, "effective_from": utc_in(60), "currency": "USD",
        "period": "monthly", "earn_on": "close", "min_lots": "0.1", "min_hold_seconds": 60,
        "rules": [{ "id": "all", "priority": 0, "match": {}, "earns": { "per_lot": "10" } }] });
    let (status, stored) = api(&addr, "POST", "/partners/plans", &partners, Some(plan));
    assert_eq!(status, 201, "{stored}");
    let application =
        json!({ "name": "Bonn Partners", "payout_currency": "USD", "user_id": "portal-bonn" });
    let (status, applied) = api(
        &addr,
        "POST",
        "/partners/applications",
        &partners,
        Some(application),
    );
    assert_eq!(status, 201, "{applied}");
    let approval =
        json!({ "plans": ["cli"], "referral_codes": [{ "code": "IB-BONN-1", "campaign": "cli" }] });
    let path = format!(
        "/partners/applications/{}/approve",
        applied["id"].as_str().unwrap()
    );
    let (status, ib) = api(&addr, "POST", &path, &partners, Some(approval));
    assert_eq!(status, 201, "{ib}");
    let ib_id = ib["id"].as_str().unwrap().to_string();
    let path = format!("/partners/clients/{client_id}/ib");
    let (status, assigned) = api(
        &addr,
        "POST",
        &path,
        &partners,
        Some(json!({ "ib_id": ib_id })),
    );
    assert_eq!(status, 200, "{assigned}");

    // A contest ranked by volume, running since a minute ago, the client's account entered.
    let marketing = dev_token(data, "marketing", "mkt-1");
    let contest = json!({ "id": "cli-cup", "version": 1, "name": "CLI Cup", "mode": "live",
        "currency": "USD", "registration": { "from": utc_in(-60), "until": utc_in(7 * 86400) },
        "period": { "from": utc_in(-60), "until": utc_in(8 * 86400) },
        "eligibility": { "kyc": "none" }, "metric": { "kind": "volume" },
        "prizes": { "payment": { "kind": "cash" }, "tiers": [{ "from_rank": 1, "to_rank": 1, "amount": "10.00" }] } });
    let (status, created) = api(&addr, "POST", "/contests", &marketing, Some(contest));
    assert_eq!(status, 201, "{created}");
    let (status, published) = api(&addr, "POST", "/contests/cli-cup/publish", &marketing, None);
    assert_eq!(status, 200, "{published}");
    let enrol = json!({ "client_id": client_id, "login": login });
    let (status, entered) = api(
        &addr,
        "POST",
        "/contests/cli-cup/enrollments",
        &marketing,
        Some(enrol),
    );
    assert_eq!(status, 201, "{entered}");

    // Half a lot of EURUSD, held two minutes (past the plan's start and its least hold), booked
    // by another process while serve runs.
    let login_text = login.to_string();
    let traded = brokeros(&[
        "platform",
        "trade",
        "--login",
        &login_text,
        "--symbol",
        "EURUSD",
        "--side",
        "buy",
        "--lots",
        "0.50",
        "--close-after",
        "2m",
        "--data-dir",
        data,
    ]);
    assert!(
        traded.status.success(),
        "{}",
        String::from_utf8_lossy(&traded.stderr)
    );
    let deals: Vec<serde_json::Value> = stdout(&traded)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(deals.len(), 2, "{deals:?}");
    assert_eq!(
        (deals[0]["entry"].as_str(), deals[1]["entry"].as_str()),
        (Some("in"), Some("out"))
    );
    assert_eq!(deals[0]["position_id"], deals[1]["position_id"]);
    assert_eq!(
        deals[1]["time_msc"].as_i64().unwrap() - deals[0]["time_msc"].as_i64().unwrap(),
        120_000
    );

    // Serve's next accrual pass pays the IB 0.5 × 10.00.
    let closed = time::OffsetDateTime::UNIX_EPOCH
        + time::Duration::milliseconds(deals[1]["time_msc"].as_i64().unwrap());
    let period = format!("monthly:{}-{:02}", closed.year(), u8::from(closed.month()));
    let path = format!("/partners/ibs/{ib_id}/accruals?period={period}");
    let accruals = poll(&addr, &path, &partners, |a| {
        a["items"].as_array().is_some_and(|items| !items.is_empty())
    });
    let legs = accruals["items"]
        .as_array()
        .unwrap_or_else(|| panic!("{accruals}"));
    let earned: Decimal = legs
        .iter()
        .map(|item| {
            let amount = &item["leg"]["amount"];
            let text = amount
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| amount.to_string());
            text.parse::<Decimal>().unwrap()
        })
        .sum();
    assert_eq!(earned, Decimal::new(500, 2), "{accruals}");

    // A scoring run ranks the client by the half lot.
    let (status, scoring) = api(&addr, "POST", "/contests/cli-cup/scoring", &marketing, None);
    assert_eq!(status, 202, "{scoring}");
    let board = poll(&addr, "/contests/cli-cup/leaderboard", &marketing, |b| {
        b["items"][0]["trades"] == 1
    });
    let first = &board["items"][0];
    assert_eq!(first["trades"], 1, "{board}");
    assert_eq!(
        first["metric"]
            .as_str()
            .unwrap()
            .parse::<Decimal>()
            .unwrap(),
        Decimal::new(5, 1),
        "{board}"
    );

    // A seeded mix of trading on the same account: each history entry a JSON line of it.
    let generated = brokeros(&[
        "platform",
        "generate",
        "--login",
        &login_text,
        "--steps",
        "5",
        "--seed",
        "7",
        "--data-dir",
        data,
    ]);
    assert!(
        generated.status.success(),
        "{}",
        String::from_utf8_lossy(&generated.stderr)
    );
    let entries: Vec<serde_json::Value> = stdout(&generated)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(entries.len() >= 5, "{entries:?}");
    assert!(
        entries.iter().all(|e| e["deal"]["login"] == login),
        "{entries:?}"
    );

    // An account the platform does not have: refused, nothing booked.
    let unknown = brokeros(&[
        "platform",
        "trade",
        "--login",
        "999999",
        "--side",
        "sell",
        "--lots",
        "1",
        "--data-dir",
        data,
    ]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&unknown.stderr).contains("999999"),
        "{}",
        String::from_utf8_lossy(&unknown.stderr)
    );
    server.kill().unwrap();
    server.wait().unwrap();
}

#[test]
fn a_providers_trade_beside_a_running_serve_is_copied_to_its_followers() {
    use serde_json::json;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data = data.to_str().unwrap();
    let (mut server, addr) = spawn_serve(data);
    // Each client registers themself (their portal user is bound to their client) and is
    // onboarded to a trading account.
    let mut people = Vec::new();
    for (user, last, passport) in [
        ("portal-prov", "Prov", "C01X00T71"),
        ("portal-fixed", "Fixed", "C01X00T72"),
        ("portal-mult", "Mult", "C01X00T73"),
    ] {
        let token = dev_token(data, "client", user);
        let client_id = onboard_over_http(&addr, &token, "Ann", last, ("passport", passport));
        let kyc = poll(&addr, &format!("/clients/{client_id}/kyc"), &token, |k| {
            k["onboardings"][0]["account"]["login"].is_u64()
        });
        let login = kyc["onboardings"][0]["account"]["login"]
            .as_u64()
            .unwrap_or_else(|| panic!("{kyc}"));
        people.push((token, login));
    }
    let (provider, provider_login) = &people[0];
    let strategy = json!({ "strategy_id": "trend", "name": "Trend", "login": provider_login,
        "terms": { "currency": "USD" } });
    let (status, proposed) = api(&addr, "POST", "/copy/strategies", provider, Some(strategy));
    assert_eq!(status, 201, "{proposed}");
    let admin = dev_token(data, "admin", "admin-1");
    let (status, approved) = api(
        &addr,
        "POST",
        "/copy/strategies/trend/approve",
        &admin,
        None,
    );
    assert_eq!(status, 200, "{approved}");
    for ((token, login), (id, sizing)) in people[1..].iter().zip([
        ("sub-fixed", json!({ "mode": "fixed_lot", "lots": "0.10" })),
        ("sub-mult", json!({ "mode": "multiplier", "factor": "0.5" })),
    ]) {
        let body = json!({ "subscription_id": id, "strategy_id": "trend", "login": login,
            "sizing": sizing });
        let (status, subscribed) = api(&addr, "POST", "/copy/subscriptions", token, Some(body));
        assert_eq!(status, 201, "{subscribed}");
    }

    // The provider opens a lot in another process; serve's copy pass reads it and copies it.
    let traded = brokeros(&[
        "platform",
        "trade",
        "--login",
        &provider_login.to_string(),
        "--side",
        "buy",
        "--lots",
        "1.00",
        "--data-dir",
        data,
    ]);
    assert!(
        traded.status.success(),
        "{}",
        String::from_utf8_lossy(&traded.stderr)
    );
    for ((token, _), (id, volume)) in people[1..]
        .iter()
        .zip([("sub-fixed", "0.1"), ("sub-mult", "0.5")])
    {
        let path = format!("/copy/subscriptions/{id}/trades");
        let trades = poll(&addr, &path, token, |t| {
            t["items"].as_array().is_some_and(|items| !items.is_empty())
        });
        let trade = &trades["items"][0];
        assert_eq!(trade["status"], "opened", "{trades}");
        let copied: Decimal = trade["volume"].as_str().unwrap().parse().unwrap();
        assert_eq!(copied, volume.parse::<Decimal>().unwrap(), "{trades}");
        assert!(trade["fill"]["deal"].is_u64(), "{trades}");
    }
    server.kill().unwrap();
}
