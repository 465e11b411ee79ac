//! Contract fuzzing: schemathesis (tools/requirements.txt, in the tests' virtualenv
//! `.tools/venv`) against a local `brokeros serve` on a fresh data directory, once per role's
//! token, with the checks that every answer is no server error and conforms to the contract
//! (`GET /openapi.json`): a documented status, the documented content type and a body its
//! schema accepts. A lead, a client (converted from it, bound to the client token's portal
//! user), an IB (bound to the IB token's) and the other records of [`seed`] are seeded first,
//! and each operation's path ids draw from the ids of the kind of record they name
//! ([`BINDINGS`]), so reads and changes also reach real records; each role's JSON report says
//! which operations answered a 2xx (printed per role and in all). Bounded: a fixed
//! number of examples per operation, a seed, and a time limit per role; each failure prints
//! the command that reproduces it.

use std::io::{BufRead, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// Test cases per operation and phase; with ~115 operations and 8 roles the whole fuzz stays
/// within a few minutes on 2 cores.
const MAX_EXAMPLES: &str = "5";
/// The seed every run uses, so a failure replays.
const SEED: &str = "1";
/// The most one role's run may take.
const ROLE_TIME_LIMIT: Duration = Duration::from_secs(90);

const CHECKS: &str = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance";

/// The portal users the client and IB tokens are minted for (the seeded client's and IB's).
const CLIENT_USER: &str = "portal-fuzz";
const IB_USER: &str = "ib-fuzz";

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `brokeros serve` over `data` on a free loopback port, the per-source limit off (schemathesis
/// sends many requests from one address; 429 is documented all the same).
struct Serve {
    child: Child,
    addr: String,
}

impl Serve {
    fn start(data: &Path) -> Serve {
        let mut child = Command::new(env!("CARGO_BIN_EXE_brokeros"))
            .args(["serve", "--port", "0", "--public-burst", "0", "--data-dir"])
            .arg(data)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("brokeros serve starts");
        // Drained for as long as serve runs: a closed pipe would end it at its next log line,
        // a full one would stall it.
        let stderr = child.stderr.take().unwrap();
        let (lines, banner) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if line.contains("http://") {
                    lines.send(line.clone()).ok();
                }
                if line.contains("ERROR") {
                    eprintln!("serve: {line}");
                }
            }
        });
        let banner = banner
            .recv_timeout(Duration::from_secs(30))
            .expect("serve prints where it listens");
        let addr = banner
            .split("http://")
            .nth(1)
            .and_then(|s| s.split_whitespace().next())
            .unwrap_or_else(|| panic!("no address in serve's banner: {banner}"))
            .to_string();
        Serve { child, addr }
    }

    /// A connection to `serve`, which may still be starting to listen after its banner.
    fn connect(&self) -> std::net::TcpStream {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match std::net::TcpStream::connect(&self.addr) {
                Ok(stream) => return stream,
                Err(e) if Instant::now() > deadline => panic!("serve at {}: {e}", self.addr),
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }

    /// One JSON request over a socket: the status and the JSON body.
    fn call(&self, method: &str, path: &str, token: Option<&str>, body: Value) -> (u16, Value) {
        let body = body.to_string();
        let authorization = token
            .map(|t| format!("Authorization: Bearer {t}\r\n"))
            .unwrap_or_default();
        let mut stream = self.connect();
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: fuzz\r\n{authorization}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        let status = response.split(' ').nth(1).and_then(|s| s.parse().ok());
        let json = response
            .split_once("\r\n\r\n")
            .and_then(|(_, b)| serde_json::from_str(b).ok());
        (status.unwrap_or(0), json.unwrap_or(Value::Null))
    }

    /// `call` that must answer `status`.
    fn must(&self, status: u16, method: &str, path: &str, token: &str, body: Value) -> Value {
        let (got, answer) = self.call(method, path, Some(token), body);
        assert_eq!(got, status, "seeding: {method} {path}: {answer}");
        answer
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

/// The end of schemathesis's report, where its failures and summary are (a failure quoting a
/// large body or a traceback would drown the rest).
fn tail(text: &str) -> &str {
    const KEPT: usize = 20_000;
    let mut from = text.len().saturating_sub(KEPT);
    while !text.is_char_boundary(from) {
        from += 1;
    }
    &text[from..]
}

fn token(data: &Path, role: &str, sub: &str) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_brokeros"))
        .args(["token", "--role", role, "--sub", sub, "--data-dir"])
        .arg(data)
        .output()
        .unwrap();
    assert!(output.status.success(), "brokeros token --role {role}");
    String::from_utf8(output.stdout).unwrap().trim().to_string()
}

/// The records reads should find, by the kind of record a path's id names: a lead (worked to a
/// client), its task, the client with its onboarding and a deposit, a partner application and
/// the IB it made, a commission plan, a published contest; and what the configuration holds
/// (jurisdictions, payment providers). Answers them and the sales agent the lead is assigned to.
fn seed(serve: &Serve, admin: &str) -> (Seeded, String) {
    let (status, captured) = serve.call(
        "POST",
        "/leads",
        None,
        json!({ "first_name": "Fuzz", "last_name": "Seed", "email": "fuzz.seed@example.com",
                "country": "GB", "marketing_consent": false }),
    );
    assert_eq!(status, 202, "seeding: POST /leads: {captured}");
    let lead = captured["lead_id"].as_str().unwrap().to_string();
    let at = |suffix: &str| format!("/leads/{lead}/{suffix}");
    let assignee = serve.must(200, "GET", &format!("/leads/{lead}"), admin, json!({}))["assignee"]
        .as_str()
        .unwrap()
        .to_string();
    let task = serve.must(
        201,
        "POST",
        &at("tasks"),
        admin,
        json!({ "title": "Call back" }),
    );
    serve.must(
        201,
        "POST",
        &at("notes"),
        admin,
        json!({ "text": "seeded" }),
    );
    for status in ["contacted", "qualified"] {
        serve.must(
            200,
            "POST",
            &at("status"),
            admin,
            json!({ "status": status }),
        );
    }
    let client = serve.must(
        201,
        "POST",
        &at("convert"),
        admin,
        json!({ "user_id": CLIENT_USER }),
    );
    serve.must(
        201,
        "POST",
        "/partners/plans",
        admin,
        json!({ "id": "fuzz", "version": 1, "effective_from": "2030-01-01T00:00:00Z",
                "currency": "USD", "period": "monthly", "earn_on": "close", "min_lots": "0.1",
                "rules": [{ "id": "all", "priority": 0, "match": {}, "earns": { "per_lot": "5" } }],
                "levels": { "mode": "fixed", "percents": ["100"] } }),
    );
    let application = serve.must(
        201,
        "POST",
        "/partners/applications",
        admin,
        json!({ "name": "Fuzz Partners", "payout_currency": "USD", "user_id": IB_USER }),
    );
    let application = application["id"].as_str().unwrap().to_string();
    let ib = serve.must(
        201,
        "POST",
        &format!("/partners/applications/{application}/approve"),
        admin,
        json!({ "plans": ["fuzz"], "referral_codes": [] }),
    );
    let client = client["id"].as_str().unwrap().to_string();
    let onboarding = onboard(serve, admin, &client);
    let contest = serve.must(
        201,
        "POST",
        "/contests",
        admin,
        json!({ "id": "fuzz-cup", "version": 1, "name": "Fuzz Cup", "mode": "live", "currency": "USD",
                "registration": { "from": "2030-06-01T00:00:00Z", "until": "2030-06-30T00:00:00Z" },
                "period": { "from": "2030-06-15T00:00:00Z", "until": "2030-07-15T00:00:00Z" },
                "eligibility": { "kyc": "approved", "min_deposit": "100.00" },
                "contest_account": { "group": "contest\\usd", "leverage": 100 },
                "metric": { "kind": "return" }, "rules": { "min_trades": 5, "min_hold_seconds": 60 },
                "prizes": { "pool": "1000.00", "payment": { "kind": "cash" },
                            "tiers": [{ "from_rank": 1, "to_rank": 1, "share": "0.5" }] } }),
    );
    let contest = contest["id"].as_str().unwrap().to_string();
    serve.must(
        200,
        "POST",
        &format!("/contests/{contest}/publish"),
        admin,
        json!({}),
    );
    // Deposits are open once the onboarding (a workflow, run in the background) approved the
    // client: the deposit is seeded then, or not at all if it did not within the wait.
    let deadline = Instant::now() + Duration::from_secs(30);
    let approved = loop {
        let kyc = serve.must(200, "GET", &format!("/clients/{client}"), admin, json!({}));
        if kyc["kyc_status"] == "approved" {
            break true;
        }
        if Instant::now() > deadline {
            break false;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let deposits: Vec<Value> = approved
        .then(|| {
            let body = json!({ "deposit_id": "fuzz-deposit-1", "amount": "100.00",
                               "currency": "USD", "method": "card" });
            let at = format!("/clients/{client}/deposits");
            serve.must(201, "POST", &at, admin, body)["id"].clone()
        })
        .into_iter()
        .collect();
    let listed = |path: &str, at: &dyn Fn(&Value) -> Vec<Value>| -> Vec<Value> {
        at(&serve.must(200, "GET", path, admin, json!({})))
            .iter()
            .map(|item| item["id"].clone())
            .filter(Value::is_string)
            .collect()
    };
    let items = |answer: &Value| answer["items"].as_array().cloned().unwrap_or_default();
    let providers = |answer: &Value| {
        answer["items"]
            .as_array()
            .and_then(|versions| versions.last())
            .map_or_else(Vec::new, |rules| {
                rules["providers"].as_array().cloned().unwrap_or_default()
            })
    };
    let one = |id: &str| vec![json!(id)];
    let seeded = Seeded(vec![
        ("leads", one(&lead)),
        ("tasks", one(task["id"].as_str().unwrap())),
        ("clients", one(&client)),
        ("onboardings", one(&onboarding)),
        ("deposits", deposits),
        ("applications", one(&application)),
        ("ibs", one(ib["id"].as_str().unwrap())),
        ("plans", one("fuzz")),
        ("contests", one(&contest)),
        ("versions", vec![json!(1)]),
        ("currencies", one("USD")),
        // The embedded configuration's (shared/contexts/onboarding/config).
        ("jurisdictions", vec![json!("eu"), json!("row")]),
        ("reviews", listed("/compliance/reviews", &items)),
        ("providers", listed("/payments/routing", &providers)),
    ]);
    (seeded, assignee)
}

/// Gives the client a KYC profile and documents and starts their onboarding (the simulated
/// KYC provider decides by the data); answers the onboarding's id.
fn onboard(serve: &Serve, admin: &str, client: &str) -> String {
    let at = |suffix: &str| format!("/clients/{client}/{suffix}");
    serve.must(
        200,
        "PUT",
        &at("profile"),
        admin,
        json!({ "client_type": "individual", "date_of_birth": "1990-01-15", "nationality": "GB",
                "residence_country": "GB", "source_of_funds": "salary", "pep_declared": false }),
    );
    for document in [
        json!({ "type": "passport", "issuing_country": "GB", "number": "533401372" }),
        json!({ "type": "proof_of_address", "issuing_country": "GB", "number": "UTIL-1" }),
    ] {
        serve.must(201, "POST", &at("documents"), admin, document);
    }
    let started = serve.must(
        202,
        "POST",
        &at("onboarding"),
        admin,
        json!({ "product": "forex" }),
    );
    started["id"].as_str().unwrap().to_string()
}

/// Seeded ids by kind (`leads`, `clients`, …): strings, or numbers for a numeric parameter.
struct Seeded(Vec<(&'static str, Vec<Value>)>);

/// Which path parameters name which kind of seeded record: (operations' path pattern, the
/// parameters it binds, by name and kind). The first pattern an operation matches binds it, so
/// the longer paths come first.
const BINDINGS: &[(&str, &[(&str, &str)])] = &[
    (
        r"^/leads/\{id\}/tasks/\{task_id\}",
        &[("id", "leads"), ("task_id", "tasks")],
    ),
    (r"^/(partners/)?leads/\{id\}", &[("id", "leads")]),
    (
        r"^/clients/\{id\}/wallet/\{currency\}",
        &[("id", "clients"), ("currency", "currencies")],
    ),
    (r"^/(partners/)?clients/\{id\}", &[("id", "clients")]),
    (r"^/onboardings/\{id\}", &[("id", "onboardings")]),
    (r"^/deposits/\{id\}", &[("id", "deposits")]),
    (
        r"^/(partners|ib)/applications/\{id\}",
        &[("id", "applications")],
    ),
    (r"^/(partners/ibs|ib/me/sub-ibs)/\{id\}", &[("id", "ibs")]),
    (r"^/partners/plans/\{id\}", &[("id", "plans")]),
    (
        r"^/contests/\{id\}/versions/\{n\}",
        &[("id", "contests"), ("n", "versions")],
    ),
    (r"^/(marketing/)?contests/\{id\}", &[("id", "contests")]),
    (
        r"^/compliance/jurisdictions/\{id\}",
        &[("id", "jurisdictions")],
    ),
    (r"^/compliance/reviews/\{id\}", &[("id", "reviews")]),
    (r"^/payments/providers/\{id\}", &[("id", "providers")]),
    (r"^/recon/\{provider\}", &[("provider", "providers")]),
];

/// How often a bound parameter takes a seeded id (a random value the rest of the time, so
/// unknown ids are tried too).
const SEEDED_PROBABILITY: f64 = 0.8;

/// schemathesis's configuration: a dictionary per kind of seeded record, and each operation's
/// path ids drawn from the dictionary of the records they name.
fn write_config(dir: &Path, seeded: &Seeded) -> PathBuf {
    let mut config = String::new();
    let known = |kind: &str| {
        seeded
            .0
            .iter()
            .any(|(k, ids)| *k == kind && !ids.is_empty())
    };
    for (kind, ids) in seeded.0.iter().filter(|(kind, _)| known(kind)) {
        // JSON's strings and numbers are TOML's too.
        let values: Vec<String> = ids.iter().map(Value::to_string).collect();
        config.push_str(&format!(
            "[dictionaries.{kind}]\nvalues = [{}]\n\n",
            values.join(", ")
        ));
    }
    for (pattern, parameters) in BINDINGS {
        let bound: Vec<String> = parameters
            .iter()
            .filter(|(_, kind)| known(kind))
            .map(|(name, kind)| {
                format!(
                    "\"path.{name}\" = {{ dictionary = \"{kind}\", probability = {SEEDED_PROBABILITY} }}"
                )
            })
            .collect();
        if bound.is_empty() {
            continue;
        }
        config.push_str(&format!(
            "[[operations]]\ninclude-path-regex = {pattern:?}\nparameters = {{ {} }}\n\n",
            bound.join(", ")
        ));
    }
    let path = dir.join("schemathesis.toml");
    std::fs::write(&path, config).unwrap();
    path
}

/// The operations (`METHOD /path`) a run's positive cases got a success from, read from its
/// JSON report (`valid_rates`: per operation and phase, how many were accepted).
fn operations_answering_success(report: &Path) -> Vec<String> {
    let Ok(text) = std::fs::read_to_string(report) else {
        return Vec::new();
    };
    let report: Value = serde_json::from_str(&text).unwrap_or_default();
    let Some(rates) = report["valid_rates"].as_object() else {
        return Vec::new();
    };
    rates
        .iter()
        .filter(|(_, phases)| {
            phases
                .as_object()
                .is_some_and(|p| p.values().any(|r| r["accepted"].as_u64() > Some(0)))
        })
        .map(|(operation, _)| operation.clone())
        .collect()
}

#[test]
fn every_role_gets_only_documented_answers_and_no_server_error() {
    let schemathesis = workspace_root().join(".tools/venv/bin/schemathesis");
    assert!(
        schemathesis.exists(),
        "{} is missing: run `bash tools/python-venv.sh` (it installs tools/requirements.txt into \
         .tools/venv; tests/run.sh does it)",
        schemathesis.display()
    );
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let serve = Serve::start(&data);
    let admin = token(&data, "admin", "admin-fuzz");
    let (seeded, agent) = seed(&serve, &admin);
    let config = write_config(dir.path(), &seeded);
    // The portal users first and the roles that may end what was seeded (cancel the contest,
    // convert the lead, suspend or terminate the IB) last, so the roles before them reach the
    // seeded records as seeded.
    let roles = [
        ("client", CLIENT_USER),
        ("ib", IB_USER),
        ("marketing", "marketing-fuzz"),
        ("compliance", "compliance-fuzz"),
        ("finance", "finance-fuzz"),
        ("sales", agent.as_str()),
        ("partners", "partners-fuzz"),
        ("admin", "admin-fuzz"),
    ];
    let started = Instant::now();
    let mut failed = Vec::new();
    let mut reached = std::collections::BTreeSet::new();
    for (role, sub) in roles {
        let bearer = format!("Authorization: Bearer {}", token(&data, role, sub));
        let url = format!("http://{}/openapi.json", serve.addr);
        let args = [
            "--config-file",
            config.to_str().unwrap(),
            "run",
            &url,
            "--checks",
            CHECKS,
            "--max-examples",
            MAX_EXAMPLES,
            "--seed",
            SEED,
            // One worker: with two, a run under load once hung past the limit after an internal
            // error of the generator (its source printed, the process never ended).
            "--workers",
            "1",
            "--request-timeout",
            "10",
            "--no-shrink",
            "--report",
            "json",
        ];
        let report = dir.path().join(format!("{role}.json"));
        let role_started = Instant::now();
        // In the temporary directory: schemathesis and hypothesis keep their caches where they run.
        let mut child = Command::new(&schemathesis)
            .current_dir(dir.path())
            .args(args)
            .args(["--header", &bearer])
            .arg("--report-json-path")
            .arg(&report)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("schemathesis runs");
        let output = loop {
            if child.try_wait().unwrap().is_some() {
                break child.wait_with_output().unwrap();
            }
            if role_started.elapsed() > ROLE_TIME_LIMIT {
                child.kill().ok();
                let output = child.wait_with_output().unwrap();
                panic!(
                    "schemathesis as {role} took over {ROLE_TIME_LIMIT:?}:\n{}",
                    tail(&String::from_utf8_lossy(&output.stdout))
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        };
        let said = String::from_utf8_lossy(&output.stdout);
        // Its summary: the test cases and what it warns of (operations that only answered
        // 401/403 to this role, or 404 to every id tried).
        let summary: Vec<&str> = said
            .lines()
            .skip_while(|l| !l.contains("SUMMARY"))
            .filter(|l| l.contains('⚠') || l.contains("generated") || l.contains(" in "))
            .map(|l| l.trim().trim_matches(['=', ' ']))
            .collect();
        let succeeded = operations_answering_success(&report);
        eprintln!(
            "schemathesis as {role} ({:.0?}): {} operations answered a 2xx; {}",
            role_started.elapsed(),
            succeeded.len(),
            summary.join("; ")
        );
        reached.extend(succeeded);
        if !output.status.success() {
            failed.push(format!(
                "--- as {role} ({sub}) ---\n{}{}\n\
                 replay: cargo test -p brokeros --test contract_fuzz -- --nocapture (the same seed \
                 and data); each failure above has its curl command. Against a `brokeros serve \
                 --public-burst 0` seeded alike:\n  \
                 .tools/venv/bin/schemathesis --config-file schemathesis.toml run \
                 http://ADDR/openapi.json --checks {CHECKS} --max-examples {MAX_EXAMPLES} \
                 --seed {SEED} --header \"Authorization: Bearer $(brokeros token --role {role} \
                 --sub {sub})\"\nwith schemathesis.toml:\n{}",
                tail(&said),
                tail(&String::from_utf8_lossy(&output.stderr)),
                std::fs::read_to_string(&config).unwrap_or_default()
            ));
        }
    }
    eprintln!(
        "contract fuzzing took {:.0?}; {} operations answered a 2xx to some role",
        started.elapsed(),
        reached.len()
    );
    assert!(
        failed.is_empty(),
        "answers outside the contract:\n{}",
        failed.join("\n")
    );
}
