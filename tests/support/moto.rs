//! One moto server (`moto_server`, the AWS emulator) per test process, started on first use,
//! with its Step Functions executor on: executions really run their definitions, and a
//! `.waitForTaskToken` task waits for `SendTaskSuccess`/`SendTaskFailure`.
//!
//! `moto_server` comes from the project's virtualenv, made by `bash tools/python-venv.sh` from
//! `tools/requirements.txt` into `<repo>/.tools/venv`. The environment variable
//! `BROKEROS_MOTO_SERVER`, which `bash tests/run.sh` sets, may name the executable instead.
//!
//! The server runs under the shared supervisor of [`crate::supervisor`]: it is stopped when the
//! test process ends, however it ends.

use std::path::PathBuf;
use std::time::Duration;

use aws_sdk_sfn::config::retry as sfn_retry;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::OnceCell;

use crate::supervisor::{Lifeline, StartFailure, Supervised, repository_root};

/// How long the server may take to answer its first request.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);

/// The region of every client and resource of the tests.
pub const REGION: &str = "us-east-1";

/// The account moto puts resources in for any test credentials.
pub const ACCOUNT: &str = "123456789012";

const INSTALL_HINT: &str = "Make the project's Python virtualenv with moto from the repository \
     root with `bash tools/python-venv.sh` (or run the test command of the README, \
     `bash tests/run.sh`, which does it), or set BROKEROS_MOTO_SERVER to a moto_server executable.";

/// The running server.
pub struct Moto {
    endpoint: String,
    /// Stops the server when the process ends.
    _lifeline: Lifeline,
}

impl Moto {
    /// `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }
}

static SERVER: OnceCell<Result<Moto, String>> = OnceCell::const_new();

/// The server of this process, started on the first call. Panics, saying how to fix it, if
/// moto is missing or the server does not come up.
pub async fn server() -> &'static Moto {
    match SERVER.get_or_init(start).await {
        Ok(server) => server,
        Err(message) => panic!("moto is not available: {message}"),
    }
}

/// The endpoint of this process's server (`http://127.0.0.1:<port>`), started on first use.
pub async fn endpoint() -> &'static str {
    server().await.endpoint()
}

/// A Step Functions client of this process's server. Make one per test: a client's connection
/// pool belongs to the Tokio runtime it first ran on, and every `#[tokio::test]` has its own
/// runtime.
pub async fn sfn_client() -> aws_sdk_sfn::Client {
    sfn_client_for(endpoint().await, sfn_retry::RetryConfig::standard())
}

/// An SQS client of this process's server; one per test, as [`sfn_client`].
pub async fn sqs_client() -> aws_sdk_sqs::Client {
    use aws_sdk_sqs::config::{BehaviorVersion, Builder, Credentials, Region};
    let config = Builder::new()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(endpoint().await)
        .region(Region::new(REGION))
        .credentials_provider(Credentials::new("test", "test", None, None, "static"))
        .retry_config(aws_sdk_sqs::config::retry::RetryConfig::standard())
        .timeout_config(
            aws_sdk_sqs::config::timeout::TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(2))
                .operation_attempt_timeout(Duration::from_secs(20))
                .build(),
        )
        .build();
    aws_sdk_sqs::Client::from_conf(config)
}

fn sfn_client_for(endpoint: &str, retry: sfn_retry::RetryConfig) -> aws_sdk_sfn::Client {
    use aws_sdk_sfn::config::{BehaviorVersion, Builder, Credentials, Region};
    let config = Builder::new()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new(REGION))
        .credentials_provider(Credentials::new("test", "test", None, None, "static"))
        .retry_config(retry)
        .timeout_config(
            aws_sdk_sfn::config::timeout::TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(2))
                .operation_attempt_timeout(Duration::from_secs(20))
                .build(),
        )
        .build();
    aws_sdk_sfn::Client::from_conf(config)
}

/// `$BROKEROS_MOTO_SERVER`, else the virtualenv's `moto_server`.
fn moto_server() -> Result<PathBuf, String> {
    if let Some(path) = std::env::var_os("BROKEROS_MOTO_SERVER") {
        let path = PathBuf::from(path);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(format!(
                "BROKEROS_MOTO_SERVER={} is not a file. {INSTALL_HINT}",
                path.display()
            ))
        };
    }
    let path = repository_root().join(".tools/venv/bin/moto_server");
    if path.is_file() {
        Ok(path)
    } else {
        Err(format!("no {}. {INSTALL_HINT}", path.display()))
    }
}

async fn start() -> Result<Moto, String> {
    let program = moto_server()?;
    let mut server = Supervised::launch("moto", |port, command| {
        // The executor's own calls to other services (SQS for `sqs:sendMessage`) go to
        // `localhost:$MOTO_PORT`, directly.
        let no_proxy = match std::env::var("NO_PROXY").or_else(|_| std::env::var("no_proxy")) {
            Ok(list) if !list.is_empty() => format!("{list},localhost,127.0.0.1"),
            _ => "localhost,127.0.0.1".to_string(),
        };
        command
            .arg(&program)
            .arg("--host")
            .arg("127.0.0.1")
            .arg("--port")
            .arg(port.to_string())
            .env("MOTO_PORT", port.to_string())
            .env("NO_PROXY", &no_proxy)
            .env("no_proxy", &no_proxy)
            .env("PYTHONUNBUFFERED", "1");
    })?;
    let probe = sfn_client_for(&server.endpoint(), sfn_retry::RetryConfig::disabled());
    let ready = server
        .wait_until_ready(STARTUP_TIMEOUT, || {
            let probe = &probe;
            async move {
                probe
                    .list_state_machines()
                    .max_results(1)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| {
                        format!(
                            "ListStateMachines failed: {}",
                            aws_sdk_sfn::error::DisplayErrorContext(&e)
                        )
                    })
            }
        })
        .await;
    if let Err(StartFailure::Exited(message) | StartFailure::Other(message)) = ready {
        return Err(format!("{} failed to start: {message}", program.display()));
    }
    enable_executor(&server).await.map_err(|e| {
        format!(
            "cannot turn on moto's Step Functions executor: {e}; output:\n{}",
            server.log_tail()
        )
    })?;
    Ok(Moto {
        endpoint: server.endpoint(),
        _lifeline: server.into_lifeline(),
    })
}

/// `POST /moto-api/config {"stepfunctions":{"execute_state_machine":true}}`: without it, moto
/// records executions as RUNNING forever and never runs their states.
async fn enable_executor(server: &Supervised) -> Result<(), String> {
    let body = r#"{"stepfunctions":{"execute_state_machine":true}}"#;
    let address = server.endpoint().trim_start_matches("http://").to_string();
    let request = format!(
        "POST /moto-api/config HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(&address).await?;
        stream.write_all(request.as_bytes()).await?;
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await?;
        Ok::<_, std::io::Error>(response)
    };
    let response = tokio::time::timeout(Duration::from_secs(20), exchange)
        .await
        .map_err(|_| "POST /moto-api/config got no answer within 20 s".to_string())?
        .map_err(|e| format!("POST /moto-api/config failed: {e}"))?;
    let response = String::from_utf8_lossy(&response);
    let status_line = response.lines().next().unwrap_or_default();
    // 201 Created, as moto answers; any 2xx will do.
    if status_line
        .split_whitespace()
        .nth(1)
        .is_some_and(|status| status.starts_with('2'))
    {
        Ok(())
    } else {
        Err(format!("POST /moto-api/config answered:\n{response}"))
    }
}
