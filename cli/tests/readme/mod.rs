//! Every example of the README from "## Try the API locally" on runs as written, in order, in
//! one bash session, as a newcomer would run them in a second shell next to `brokeros serve`.
//!
//! How the session stands in for the newcomer's:
//! - it runs in a temporary directory that looks like the top of a clone (a symbolic link to each
//!   entry of the repository's top level), so the README's relative paths (`tools/try-api.sh`,
//!   `bench/…`, `docs/examples/…`) resolve while what the examples write (`./.brokeros`,
//!   `exports/`, `audit-public-key.pem`) stays out of the repository;
//! - the test starts `brokeros serve` itself there, on a free loopback port, with a fresh
//!   `./.brokeros` (the README's own serve block is marked as not run), and `localhost:8080` in
//!   the examples is rewritten to that port;
//! - `cargo run -q --release -p brokeros -- ARGS` and `brokeros ARGS` are shell functions that
//!   run the binary this test was built with (`CARGO_BIN_EXE_brokeros`); any other `cargo`
//!   command fails the run;
//! - the blocks run in one `bash` (`set -euo pipefail`), so a failing command, a `want STATUS`
//!   whose answer has another status, or an `await` that never gets there stops it and fails the
//!   test, naming the block. A block followed directly by another fenced block (```csv) is
//!   compared with it: that block is the output the README shows.
//!
//! A `sh` block is left out only when the line before it is the marker
//! `<!-- not run by the README test: REASON -->` (AWS-only commands, synopses, steps that need a
//! period to have ended); the test prints each one with its reason, so nothing is skipped
//! silently. Every `curl` of a block that runs must say which status it expects (`want STATUS
//! curl …`, `await … curl …` or `curl -f`). The set-up commands above that heading are the test
//! command itself (`tests/run.sh`), the demo (run by `demo_then_export_and_verify_catch_tampering`)
//! and the simulation suite.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Where the examples a newcomer runs against `serve` begin.
const SCOPE: &str = "## Try the API locally";
const NOT_RUN: &str = "<!-- not run by the README test: ";
/// The whole walk-through takes about 10 s; its slowest waits (`await`) give up after 30 s.
const SESSION_TIMEOUT: Duration = Duration::from_secs(300);

/// A fenced shell block of the README that runs.
struct Example {
    /// The README line of its first command.
    line: usize,
    text: String,
    /// The fenced block that follows it directly, when there is one: its standard output.
    shown_output: Option<String>,
}

/// A fenced shell block left out, with the README's reason.
struct NotRun {
    line: usize,
    reason: String,
}

fn is_shell_fence(line: &str) -> bool {
    matches!(line.trim_end(), "```sh" | "```bash")
}

/// The lines of the fenced block whose opening fence is at `open`, and the index of its
/// closing fence.
fn fenced(lines: &[&str], open: usize) -> (String, usize) {
    let close = (open + 1..lines.len())
        .find(|&i| lines[i].trim_end() == "```")
        .unwrap_or_else(|| panic!("README.md line {}: a fence that never closes", open + 1));
    (lines[open + 1..close].join("\n"), close)
}

/// The README's shell blocks from [`SCOPE`] on, in order: those that run and those marked not to.
fn examples(readme: &str) -> (Vec<Example>, Vec<NotRun>) {
    let lines: Vec<&str> = readme.lines().collect();
    let start = lines
        .iter()
        .position(|l| l.trim_end() == SCOPE)
        .unwrap_or_else(|| panic!("the README has no '{SCOPE}' section"));
    let (mut run, mut not_run) = (Vec::new(), Vec::new());
    let mut at = start;
    while at < lines.len() {
        if !is_shell_fence(lines[at]) {
            at += 1;
            continue;
        }
        let (text, close) = fenced(&lines, at);
        if let Some(reason) = lines[at - 1].strip_prefix(NOT_RUN) {
            let reason = reason.trim_end().trim_end_matches("-->").trim();
            assert!(
                !reason.is_empty(),
                "README.md line {at}: a block left out says why"
            );
            not_run.push(NotRun {
                line: at + 2,
                reason: reason.to_string(),
            });
            at = close + 1;
            continue;
        }
        let next = (close + 1..lines.len()).find(|&i| !lines[i].trim().is_empty());
        let shown_output = next
            .filter(|&i| lines[i].starts_with("```") && !is_shell_fence(lines[i]))
            .map(|i| fenced(&lines, i).0);
        run.push(Example {
            line: at + 2,
            text,
            shown_output,
        });
        at = close + 1;
    }
    (run, not_run)
}

/// The code of a shell line, without its comment.
fn code_of(line: &str) -> &str {
    let trimmed = line.trim_start();
    if trimmed.starts_with('#') {
        return "";
    }
    line.find(" #").map_or(line, |at| &line[..at])
}

/// Lines of `example` with a `curl` that would let an unexpected status pass: neither under
/// `want`/`await` nor with `-f`/`--fail`.
fn unchecked_curls(example: &Example) -> Vec<String> {
    example
        .text
        .lines()
        .enumerate()
        .filter_map(|(offset, line)| {
            let code = code_of(line);
            let words: Vec<&str> = code.split_whitespace().collect();
            let curl = words
                .iter()
                .position(|w| w.trim_start_matches("$(") == "curl")?;
            let checked = matches!(words.first(), Some(&"want" | &"await"))
                || words[curl + 1..].iter().any(|w| {
                    w.starts_with("--fail")
                        || (w.starts_with('-') && !w.starts_with("--") && w.contains('f'))
                });
            (!checked).then(|| format!("README.md line {}: {line}", example.line + offset))
        })
        .collect()
}

/// A directory that looks like the top of this clone: a link to each entry of its top level but
/// the ones a run writes (`.brokeros`) or builds (`target`).
fn clone_lookalike(repository: &Path, into: &Path) {
    for entry in std::fs::read_dir(repository).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if name == ".brokeros" || name == "target" {
            continue;
        }
        std::os::unix::fs::symlink(entry.path(), into.join(&name)).unwrap();
    }
}

/// The shell functions that stand in for `cargo run … brokeros --` and an installed `brokeros`.
const PRELUDE: &str = r#"set -euo pipefail
trap 'echo "README test: exit $? at script line $LINENO" >&2' ERR
cargo() {
  case "$*" in
    "run -q --release -p brokeros -- "*) shift 6 && "$BROKEROS" "$@" ;;
    *) echo "README test: only 'cargo run -q --release -p brokeros -- …' runs here, not: cargo $*" >&2
       return 1 ;;
  esac
}
brokeros() { "$BROKEROS" "$@"; }
"#;

/// The session's script: each example in order, its standard output into its own file of `out`,
/// its standard error (and a line naming it) into `out/stderr`. Also answers, for each example,
/// the script line of its first command: a failure names its script line ([`PRELUDE`]'s trap).
fn session_script(examples: &[Example], addr: &str, out: &Path) -> (String, Vec<usize>) {
    let mut script = PRELUDE.to_string();
    let mut starts = Vec::new();
    for example in examples {
        script.push_str(&format!(
            "echo '### README.md line {line}' >&2\n{{\n",
            line = example.line
        ));
        starts.push(script.lines().count() + 1);
        script.push_str(&format!(
            "{text}\n}} >'{out}/{line}.stdout'\n",
            line = example.line,
            text = example.text.replace("localhost:8080", addr),
            out = out.display(),
        ));
    }
    script.push_str("echo '### done' >&2\n");
    (script, starts)
}

/// The README line of script line `at`, given where each example starts in the script.
fn readme_line(examples: &[Example], starts: &[usize], at: usize) -> Option<usize> {
    let index = starts.iter().rposition(|&start| start <= at)?;
    let example = &examples[index];
    let offset = at - starts[index];
    (offset < example.text.lines().count()).then_some(example.line + offset)
}

/// Runs `script` with bash in `cwd`; answers whether it succeeded, within [`SESSION_TIMEOUT`].
fn run_session(script: &Path, cwd: &Path, stderr: &Path) -> bool {
    use std::os::unix::process::CommandExt;
    let mut bash = Command::new("bash")
        .arg(script)
        .current_dir(cwd)
        .env("BROKEROS", env!("CARGO_BIN_EXE_brokeros"))
        .env_remove("BROKEROS_DATA_DIR")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(stderr).unwrap())
        .process_group(0)
        .spawn()
        .expect("bash runs");
    let deadline = Instant::now() + SESSION_TIMEOUT;
    loop {
        if let Some(status) = bash.try_wait().unwrap() {
            return status.success();
        }
        if Instant::now() > deadline {
            // The session and whatever it started (curl, a waiting `sleep`).
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", bash.id())])
                .status();
            let _ = bash.wait();
            panic!(
                "the README session did not end within {SESSION_TIMEOUT:?}:\n{}",
                tail(stderr, 40)
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The last `n` lines of the file at `path` (empty when there is none).
fn tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[test]
fn every_readme_example_runs_as_written_in_order() {
    let repository = repository();
    let readme = std::fs::read_to_string(repository.join("README.md")).unwrap();
    let (examples, not_run) = examples(&readme);
    // The walk-through alone is more than this: an empty list means the README changed shape.
    assert!(examples.len() >= 5, "{} examples found", examples.len());
    let unchecked: Vec<String> = examples.iter().flat_map(unchecked_curls).collect();
    assert!(
        unchecked.is_empty(),
        "every curl says the status it expects (want STATUS curl …, await … curl …, curl -f):\n{}",
        unchecked.join("\n")
    );
    println!(
        "README examples: {} blocks run, {} not run",
        examples.len(),
        not_run.len()
    );
    for skipped in &not_run {
        println!(
            "  not run: README.md line {}: {}",
            skipped.line, skipped.reason
        );
    }

    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path().join("clone");
    let out = dir.path().join("out");
    std::fs::create_dir_all(&cwd).unwrap();
    std::fs::create_dir_all(&out).unwrap();
    clone_lookalike(&repository, &cwd);
    let mut serve = Command::new(env!("CARGO_BIN_EXE_brokeros"));
    serve
        .args(["serve", "--port", "0"])
        .current_dir(&cwd)
        .env_remove("BROKEROS_DATA_DIR");
    let (mut server, addr, _) = super::start_serve(serve);

    let script = dir.path().join("readme.sh");
    let (text, starts) = session_script(&examples, &addr, &out);
    std::fs::write(&script, text).unwrap();
    let stderr = out.join("stderr");
    let succeeded = run_session(&script, &cwd, &stderr);

    // `want` is what makes a wrong answer fail the run: without a token the leads are 401.
    let wrong = Command::new("bash")
        .arg("-c")
        .arg(format!(
            ". tools/try-api.sh && want 200 curl -s {addr}/leads"
        ))
        .current_dir(&cwd)
        .output()
        .unwrap();
    server.kill().unwrap();
    server.wait().unwrap();

    if !succeeded {
        let log = std::fs::read_to_string(&stderr).unwrap_or_default();
        let failed = log
            .lines()
            .rev()
            .find_map(|l| l.strip_prefix("README test: exit "))
            .and_then(|l| l.split("at script line ").nth(1))
            .and_then(|l| l.trim().parse().ok())
            .and_then(|at| readme_line(&examples, &starts, at));
        let block = log
            .lines()
            .rev()
            .find_map(|l| l.strip_prefix("### README.md line "))
            .unwrap_or("?");
        let command = failed
            .and_then(|line| readme.lines().nth(line - 1))
            .unwrap_or("?");
        panic!(
            "the README's example failed at line {} (block of line {block}): {command}\nThe block's standard output (end):\n{}\nThe session's standard error (end):\n{}",
            failed.map_or("?".to_string(), |line| line.to_string()),
            tail(&out.join(format!("{block}.stdout")), 20),
            tail(&stderr, 40)
        );
    }
    for example in &examples {
        if let Some(shown) = &example.shown_output {
            let printed =
                std::fs::read_to_string(out.join(format!("{}.stdout", example.line))).unwrap();
            assert_eq!(
                printed.trim_end(),
                shown.trim_end(),
                "README.md line {}: the output differs from the one the README shows",
                example.line
            );
        }
    }
    assert!(
        !wrong.status.success()
            && String::from_utf8_lossy(&wrong.stderr).contains("expected HTTP 200, got 401"),
        "want lets a wrong status pass: {wrong:?}"
    );
}
