//! `brokeros sfn`: run Amazon States Language definitions on the local engine and inspect the
//! executions stored in the data directory.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use brokeros_app::Services;
use brokeros_kernel::principal::{Principal, Role};
use brokeros_kernel::workflow::Machine;
use brokeros_local::workflow::local_substitutions;
use brokeros_onboarding::clients;
use brokeros_sfn::{Definition, Engine, ExecutionStatus, MemoryExecutions};
use brokeros_store_sqlite::Durability;
use clap::Subcommand;
use serde_json::{Value, json};

use crate::CliResult;
use crate::local::{DataDir, DataDirArg, LocalBrokerOs};

#[derive(Subcommand)]
pub enum SfnCommand {
    /// Run a definition to its end and print {"status":"SUCCEEDED","output":...} or
    /// {"status":"FAILED","error":...,"cause":...}. Task states reach the local handlers.
    Run {
        #[arg(long)]
        definition: PathBuf,
        /// The execution input: JSON text or a file holding it.
        #[arg(long, default_value = "{}")]
        input: String,
        /// Give up waiting after this long and print the execution as RUNNING (it stays stored
        /// and `brokeros serve` continues it, e.g. when it waits on a task token).
        #[arg(long, default_value_t = 300)]
        wait_seconds: u64,
        #[command(flatten)]
        data_dir: DataDirArg,
    },
    /// Executions of a state machine, newest first; without --state-machine, Broker OS's state
    /// machines and how many executions each has.
    List {
        /// The state machine's name (its file stem, e.g. `onboarding`).
        #[arg(long)]
        state_machine: Option<String>,
        /// RUNNING, SUCCEEDED, FAILED, TIMED_OUT or ABORTED.
        #[arg(long, requires = "state_machine")]
        status: Option<String>,
        #[command(flatten)]
        data_dir: DataDirArg,
    },
    /// One execution: status, input, output, error.
    Describe {
        execution_arn: String,
        #[command(flatten)]
        data_dir: DataDirArg,
    },
    /// An execution's event history, in Step Functions' shape.
    History {
        execution_arn: String,
        #[command(flatten)]
        data_dir: DataDirArg,
    },
    /// State transitions per second: run `executions` executions of a definition and print one
    /// JSON line {"engine":"local","executions":N,"transitions":T,"seconds":S,"transitions_per_second":R}.
    Bench {
        #[arg(long)]
        definition: PathBuf,
        #[arg(long, default_value_t = 10_000)]
        executions: u32,
        /// Run with the Broker OS task handlers over a fresh embedded store (for the onboarding
        /// definition: each execution onboards a new client to an approved account).
        #[arg(long)]
        local_handlers: bool,
        #[arg(long, default_value = "{}")]
        input: String,
    },
}

pub async fn run(command: SfnCommand, durability: Durability) -> CliResult {
    match command {
        SfnCommand::Run {
            definition,
            input,
            wait_seconds,
            data_dir,
        } => {
            run_definition(
                &definition,
                &input,
                wait_seconds,
                data_dir.resolve(),
                durability,
            )
            .await
        }
        SfnCommand::List {
            state_machine,
            status,
            data_dir,
        } => {
            let status = status.map(|s| parse_status(&s)).transpose()?;
            let local = open_existing(data_dir, durability).await?;
            match state_machine {
                Some(name) => list_executions(&local.engine, &name, status).await,
                None => list_machines(&local.engine).await,
            }
        }
        SfnCommand::Describe {
            execution_arn,
            data_dir,
        } => {
            let local = open_existing(data_dir, durability).await?;
            let execution = local
                .engine
                .describe_execution(&execution_arn)
                .await
                .map_err(|e| e.to_string())?;
            print_json(&json!(execution));
            Ok(std::process::ExitCode::SUCCESS)
        }
        SfnCommand::History {
            execution_arn,
            data_dir,
        } => {
            let local = open_existing(data_dir, durability).await?;
            let events = local
                .engine
                .get_execution_history(&execution_arn)
                .await
                .map_err(|e| e.to_string())?;
            let events: Vec<Value> = events.iter().map(|e| e.to_aws_json()).collect();
            print_json(&json!({ "events": events }));
            Ok(std::process::ExitCode::SUCCESS)
        }
        SfnCommand::Bench {
            definition,
            executions,
            local_handlers,
            input,
        } => bench(&definition, executions, local_handlers, &input, durability).await,
    }
}

/// The local Broker OS of a data directory that exists: `sfn` never creates one.
async fn open_existing(
    data_dir: DataDirArg,
    durability: Durability,
) -> Result<LocalBrokerOs, String> {
    LocalBrokerOs::open(&data_dir.resolve().existing()?, None, durability).await
}

/// The executions of `machine` (a name or an ARN); one Broker OS does not define and no
/// `sfn run` ran is refused, naming those it knows.
async fn list_executions(
    engine: &Engine,
    machine: &str,
    status: Option<ExecutionStatus>,
) -> CliResult {
    let name = machine
        .rsplit_once(":stateMachine:")
        .map_or(machine, |(_, name)| name);
    let defined = Machine::ALL.iter().any(|m| m.name() == name);
    if !defined
        && engine
            .list_executions(machine, None)
            .await
            .map_err(|e| e.to_string())?
            .is_empty()
    {
        let known: Vec<&str> = Machine::ALL.iter().map(|m| m.name()).collect();
        return Err(format!(
            "no state machine {name}: Broker OS's are {} (and those `sfn run` ran, named after their definition's file)",
            known.join(", ")
        ));
    }
    let executions = engine
        .list_executions(machine, status)
        .await
        .map_err(|e| e.to_string())?;
    print_json(&json!({ "executions": executions }));
    Ok(std::process::ExitCode::SUCCESS)
}

/// Broker OS's state machines, each with how many executions are stored.
async fn list_machines(engine: &Engine) -> CliResult {
    let mut machines = Vec::new();
    for machine in Machine::ALL {
        let executions = engine
            .list_executions(machine.name(), None)
            .await
            .map_err(|e| e.to_string())?;
        machines.push(json!({ "name": machine.name(), "executions": executions.len() }));
    }
    print_json(&json!({ "state_machines": machines }));
    Ok(std::process::ExitCode::SUCCESS)
}

fn print_json(value: &Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).expect("JSON serializes")
    );
}

fn parse_status(s: &str) -> Result<ExecutionStatus, String> {
    serde_json::from_value(json!(s)).map_err(|_| {
        format!("unknown status '{s}': RUNNING, SUCCEEDED, FAILED, TIMED_OUT or ABORTED")
    })
}

/// The input as given: JSON text, or the path of a file holding it.
fn read_input(input: &str) -> Result<Value, String> {
    match serde_json::from_str(input) {
        Ok(value) => Ok(value),
        Err(json_error) => match std::fs::read_to_string(input) {
            Ok(text) => serde_json::from_str(&text)
                .map_err(|e| format!("input file {input} is not JSON: {e}")),
            Err(_) => Err(format!(
                "--input is neither JSON ({json_error}) nor a readable file"
            )),
        },
    }
}

/// Reads, substitutes (the local task functions' ARNs) and checks a definition; the state
/// machine is named after the file (`onboarding.asl.json` → `onboarding`).
fn load_definition(path: &Path) -> Result<(String, Definition), String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .map(|n| n.trim_end_matches(".json").trim_end_matches(".asl"))
        .filter(|n| !n.is_empty())
        .ok_or_else(|| format!("{} has no usable file name", path.display()))?
        .to_string();
    let definition = brokeros_sfn::substitute(&text, &local_substitutions())
        .and_then(|text| Definition::parse(&text))
        .map_err(|e| format!("invalid definition {}: {e}", path.display()))?;
    Ok((name, definition))
}

async fn run_definition(
    path: &Path,
    input: &str,
    wait_seconds: u64,
    data_dir: DataDir,
    durability: Durability,
) -> CliResult {
    let (name, definition) = load_definition(path)?;
    let input = read_input(input)?;
    let local = LocalBrokerOs::open(&data_dir.existing()?, None, durability).await?;
    local
        .engine
        .register_state_machine(&name, definition)
        .map_err(|e| e.to_string())?;
    let arn = local
        .engine
        .start_execution(&name, None, input)
        .await
        .map_err(|e| e.to_string())?;
    let finished = tokio::time::timeout(
        Duration::from_secs(wait_seconds),
        local.engine.wait_for_completion(&arn),
    )
    .await;
    let execution = match finished {
        Ok(done) => done.map_err(|e| e.to_string())?,
        Err(_) => local
            .engine
            .describe_execution(&arn)
            .await
            .map_err(|e| e.to_string())?,
    };
    let mut report = json!({ "status": execution.status, "execution_arn": arn });
    match execution.status {
        ExecutionStatus::Succeeded => report["output"] = json!(execution.output),
        ExecutionStatus::Running => {}
        _ => {
            report["error"] = json!(execution.error);
            report["cause"] = json!(execution.cause);
        }
    }
    // The execution stays stored either way; `serve` continues one left running.
    local.engine.shutdown().await;
    println!("{report}");
    Ok(std::process::ExitCode::SUCCESS)
}

/// How many executions run at once: enough to keep both cores busy, few enough that each
/// finishes promptly.
const BENCH_IN_FLIGHT: usize = 256;

async fn bench(
    path: &Path,
    executions: u32,
    local_handlers: bool,
    input: &str,
    durability: Durability,
) -> CliResult {
    if executions == 0 {
        return Err("--executions must be at least 1".into());
    }
    let (name, definition) = load_definition(path)?;
    let input = read_input(input)?;
    // Declared before the engine, so dropped after it: the store's files go once it is closed.
    let temp;
    let (engine, inputs) = if local_handlers {
        temp = RemovedOnDrop(tempdir()?);
        let local = LocalBrokerOs::open(&temp.0, None, durability).await?;
        let inputs = onboarding_inputs(&local.services, executions).await?;
        (local.engine.clone(), inputs)
    } else {
        let engine = Arc::new(Engine::new(Arc::new(MemoryExecutions::new())));
        (engine, vec![input; executions as usize])
    };
    engine
        .register_state_machine(&name, definition)
        .map_err(|e| e.to_string())?;
    let started = Instant::now();
    let mut transitions = 0u64;
    let mut pending = tokio::task::JoinSet::new();
    let mut inputs = inputs.into_iter().enumerate();
    loop {
        while pending.len() < BENCH_IN_FLIGHT {
            let Some((i, input)) = inputs.next() else {
                break;
            };
            let (engine, name) = (engine.clone(), name.clone());
            pending.spawn(async move {
                let arn = engine
                    .start_execution(&name, Some(format!("bench-{i}")), input)
                    .await?;
                engine.wait_for_completion(&arn).await
            });
        }
        let Some(done) = pending.join_next().await else {
            break;
        };
        let execution = done
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
        if execution.status != ExecutionStatus::Succeeded {
            return Err(format!(
                "execution {} ended {:?}: {:?} {:?}",
                execution.execution_arn, execution.status, execution.error, execution.cause
            ));
        }
        transitions += execution.state_transitions;
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{}",
        json!({
            "engine": "local",
            "executions": executions,
            "transitions": transitions,
            "seconds": seconds,
            "transitions_per_second": transitions as f64 / seconds,
        })
    );
    Ok(std::process::ExitCode::SUCCESS)
}

/// A benchmark's scratch directory (a store of thousands of executions: hundreds of MB), removed
/// when the benchmark ends, however it ends.
struct RemovedOnDrop(PathBuf);

impl Drop for RemovedOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn tempdir() -> Result<PathBuf, String> {
    let dir = std::env::temp_dir().join(format!(
        "brokeros-sfn-bench-{}-{}",
        std::process::id(),
        time::OffsetDateTime::now_utc().unix_timestamp_nanos()
    ));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    Ok(dir)
}

/// Registers `count` clients who pass KYC and opens an onboarding for each, outside the timed
/// part; answers the executions' inputs.
async fn onboarding_inputs(services: &Services, count: u32) -> Result<Vec<Value>, String> {
    let staff = Principal {
        sub: "sales-1".into(),
        roles: [Role::Sales].into(),
    };
    let mut inputs = Vec::with_capacity(count as usize);
    for i in 0..count {
        let registration: clients::Registration = serde_json::from_value(json!({
            "first_name": "Bench",
            "last_name": format!("Client{i}"),
            "country": "DE",
            "profile": {
                "client_type": "individual", "date_of_birth": "1990-01-15", "nationality": "DE",
                "residence_country": "DE", "source_of_funds": "salary", "pep_declared": false
            }
        }))
        .map_err(|e| e.to_string())?;
        let client = clients::register(&services.onboarding, &staff, registration, None, "bench")
            .await
            .map_err(|e| e.to_string())?;
        let client_id = client.body["id"].as_str().unwrap_or_default().to_string();
        for (doc_type, number) in [("passport", "C01X00T47"), ("proof_of_address", "POA-1")] {
            let document = serde_json::from_value(json!({
                "type": doc_type, "issuing_country": "DE", "number": number
            }))
            .map_err(|e| e.to_string())?;
            clients::add_document(
                &services.onboarding,
                &staff,
                &client_id,
                document,
                None,
                "bench",
            )
            .await
            .map_err(|e| e.to_string())?;
        }
        let (_, input) = brokeros_onboarding::prepare(
            &services.onboarding,
            &staff,
            &client_id,
            "forex",
            None,
            "bench",
        )
        .await
        .map_err(|e| e.to_string())?;
        inputs.push(input);
    }
    Ok(inputs)
}
