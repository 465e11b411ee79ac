//! What the harnesses of local servers (DynamoDB Local, moto) share: a free loopback port, a
//! supervisor that stops the server when the test process ends, and waiting until the server
//! answers.
//!
//! Statics are never dropped, so a server kept in one cannot be stopped from a destructor.
//! Instead it runs under a small `sh` supervisor whose stdin is a pipe this process holds open
//! for its whole life (the [`Lifeline`]): when the test process ends, however it ends (even by
//! `kill -9`), the pipe closes, the supervisor's `read` returns and it kills the server. The
//! supervisor also exits when the server dies, so a server that fails to start is noticed at
//! once.

use std::fs::File;
use std::future::Future;
use std::io::Read;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Runs the server (`"$@"`); when stdin closes, removes the log and kills the server. Exits,
/// with the server's status, when the server dies, leaving the log to be read.
const SUPERVISOR: &str = r#"
exec 3<&0 </dev/null
"$@" &
server=$!
{ read _ignored <&3; rm -f "$BROKEROS_SUPERVISED_LOG"; kill "$server" 2>/dev/null; } &
watcher=$!
exec 3<&-
wait "$server"
status=$?
kill "$watcher" 2>/dev/null
exit "$status"
"#;

/// The repository's root directory.
pub fn repository_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate lies inside the repository")
        .to_path_buf()
}

/// A port nobody listens on now.
pub fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .map_err(|e| format!("cannot bind a loopback port: {e}"))?;
    listener
        .local_addr()
        .map(|addr| addr.port())
        .map_err(|e| format!("cannot read the bound port: {e}"))
}

/// Keeps a supervised server alive as long as it is held; hold it in a static to keep the
/// server for the whole test process.
pub struct Lifeline {
    /// The supervisor's stdin: closing it (at process exit) stops the server.
    _stdin: Mutex<ChildStdin>,
}

/// A server just launched under the supervisor, on a free loopback port, its output going to a
/// log file. Dropping it (without [`Supervised::into_lifeline`]) stops the server.
pub struct Supervised {
    child: Child,
    lifeline: ChildStdin,
    port: u16,
    log: PathBuf,
}

/// Why a server did not come up.
pub enum StartFailure {
    /// The server exited before answering; its status and output.
    Exited(String),
    Other(String),
}

impl Supervised {
    /// Launches a server named `name` (used in its log file's name and in messages) on a free
    /// loopback port. `server` gets the port and the supervisor's command, to which it appends
    /// the server's program and arguments (and sets its directory and environment).
    pub fn launch(name: &str, server: impl FnOnce(u16, &mut Command)) -> Result<Self, String> {
        let port = free_port()?;
        let log =
            std::env::temp_dir().join(format!("brokeros-{name}-{}-{port}.log", std::process::id()));
        let log_file =
            File::create(&log).map_err(|e| format!("cannot create {}: {e}", log.display()))?;
        let log_file_too = log_file
            .try_clone()
            .map_err(|e| format!("cannot share {}: {e}", log.display()))?;
        let mut command = Command::new("sh");
        command
            .arg("-c")
            .arg(SUPERVISOR)
            .arg(format!("{name}-supervisor"));
        server(port, &mut command);
        let mut child = command
            .env("BROKEROS_SUPERVISED_LOG", &log)
            .stdin(Stdio::piped())
            .stdout(log_file)
            .stderr(log_file_too)
            .spawn()
            .map_err(|e| format!("cannot run sh to start {name}: {e}"))?;
        let lifeline = child.stdin.take().expect("stdin is piped");
        Ok(Supervised {
            child,
            lifeline,
            port,
            log,
        })
    }

    /// `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The last lines of the server's output.
    pub fn log_tail(&self) -> String {
        let mut text = String::new();
        if let Ok(mut file) = File::open(&self.log) {
            let _ = file.read_to_string(&mut text);
        }
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    /// Waits, up to `timeout`, until the port accepts connections and `probe` (a request to
    /// the server) succeeds; its error is reported if the server never answers.
    pub async fn wait_until_ready<F, Fut>(
        &mut self,
        timeout: Duration,
        mut probe: F,
    ) -> Result<(), StartFailure>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<(), String>>,
    {
        let address = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        let started = Instant::now();
        let mut last_error = String::from("the port never accepted a connection");
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                let output = self.log_tail();
                let _ = std::fs::remove_file(&self.log);
                return Err(StartFailure::Exited(format!(
                    "it exited with {status}; output:\n{output}"
                )));
            }
            if tokio::net::TcpStream::connect(address).await.is_ok() {
                match probe().await {
                    Ok(()) => return Ok(()),
                    Err(e) => last_error = e,
                }
            }
            if started.elapsed() > timeout {
                return Err(StartFailure::Other(format!(
                    "it did not answer on {address} within {} s ({last_error}); output:\n{}",
                    timeout.as_secs(),
                    self.log_tail()
                )));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Keeps the server running as long as the returned lifeline is held.
    pub fn into_lifeline(self) -> Lifeline {
        Lifeline {
            _stdin: Mutex::new(self.lifeline),
        }
    }
}
