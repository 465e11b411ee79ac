//! The embedded Broker OS: the SQLite store in a data directory, the dev signing key, and the
//! same router the Lambdas run.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use brokeros_app::Services;
use brokeros_app::config::BrokerConfig;
use brokeros_http::auth::{AuthMode, JwtVerifier, LOCAL_AUDIENCE, LOCAL_ISSUER};
use brokeros_http::{AppState, router};
use brokeros_kernel::{AheadClock, Clock};
use brokeros_local::SIMULATED_PROVIDER_DELAY;
use brokeros_local::workflow::local_engine_ahead;
use brokeros_local::{SimulatedGateway, SimulatedPlatform};
use brokeros_sfn::{Engine, WallOffset};
use brokeros_store::Store;
use brokeros_store_sqlite::{Durability, SqliteStore};

pub const DB_FILE: &str = "brokeros.db";
const KEY_FILE: &str = "dev-jwt.key";

pub struct LocalBrokerOs {
    pub services: Services,
    pub secret: Vec<u8>,
    /// The local Step Functions engine running `statemachines/` with the in-process handlers.
    pub engine: Arc<Engine>,
    /// The simulated payment providers deposits are routed to; their webhooks wait in its
    /// outbox for whoever delivers them (`serve`: over HTTP; the demo: in-process).
    pub gateway: Arc<SimulatedGateway>,
    /// The simulated trading platform the services reach through their trading port; its
    /// clients' trades (the demo's) are no port calls.
    pub platform: Arc<SimulatedPlatform>,
    /// The data directory's audit signer ([`audit_signer`]): signs the API's audit downloads.
    pub audit_signer: Arc<brokeros_kernel::signing::Ed25519Signer>,
}

/// The variable naming the data directory when `--data-dir` does not.
pub const DATA_DIR_ENV: &str = "BROKEROS_DATA_DIR";
/// The data directory, relative to the current one, when neither the flag nor the variable
/// names one.
pub const DEFAULT_DATA_DIR: &str = ".brokeros";

/// `--data-dir` of every command that reads or writes Broker OS data; [`DataDirArg::resolve`]
/// is the one place its default is decided.
#[derive(clap::Args, Clone, Debug)]
pub struct DataDirArg {
    /// Where Broker OS keeps its data: this flag, else $BROKEROS_DATA_DIR, else ./.brokeros.
    #[arg(long = "data-dir", value_name = "DIR")]
    data_dir: Option<PathBuf>,
}

/// What named the data directory, for messages that say where a command looked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DataDirSource {
    Flag,
    Env,
    Default,
}

#[derive(Clone, Debug)]
pub struct DataDir {
    pub path: PathBuf,
    pub source: DataDirSource,
}

impl DataDirArg {
    /// `--data-dir`, then `BROKEROS_DATA_DIR` (when set and not empty), then `./.brokeros`.
    pub fn resolve(&self) -> DataDir {
        let from_env = std::env::var_os(DATA_DIR_ENV).filter(|v| !v.is_empty());
        match (&self.data_dir, from_env) {
            (Some(path), _) => DataDir {
                path: path.clone(),
                source: DataDirSource::Flag,
            },
            (None, Some(path)) => DataDir {
                path: path.into(),
                source: DataDirSource::Env,
            },
            (None, None) => DataDir {
                path: DEFAULT_DATA_DIR.into(),
                source: DataDirSource::Default,
            },
        }
    }
}

impl DataDir {
    /// The path against the current directory, so messages name it whatever the shell's
    /// directory is.
    pub fn absolute(&self) -> PathBuf {
        std::path::absolute(&self.path).unwrap_or_else(|_| self.path.clone())
    }

    /// How it was resolved: `from --data-dir`, `from BROKEROS_DATA_DIR`, `from ./.brokeros`.
    pub fn how(&self) -> String {
        match self.source {
            DataDirSource::Flag => "from --data-dir".into(),
            DataDirSource::Env => format!("from {DATA_DIR_ENV}"),
            DataDirSource::Default => format!("from ./{DEFAULT_DATA_DIR}"),
        }
    }

    /// The directory of a command that needs Broker OS data (its store) there; never created,
    /// so a command run from the wrong directory fails saying where it looked.
    pub fn existing(self) -> Result<PathBuf, String> {
        if self.path.join(DB_FILE).is_file() {
            Ok(self.path)
        } else {
            Err(self.missing())
        }
    }

    /// The directory itself, existing (what a DynamoDB export keeps its signing key in).
    pub fn existing_dir(self) -> Result<PathBuf, String> {
        if self.path.is_dir() {
            Ok(self.path)
        } else {
            Err(self.missing())
        }
    }

    fn missing(&self) -> String {
        let choose = match self.source {
            DataDirSource::Default => format!("set --data-dir or {DATA_DIR_ENV}, or "),
            DataDirSource::Flag | DataDirSource::Env => String::new(),
        };
        format!(
            "no Broker OS data in {} ({}; {choose}start `brokeros serve` there first)",
            self.absolute().display(),
            self.how()
        )
    }

    /// The `brokeros token` command line that mints a token for this directory: with
    /// `--data-dir` unless it is the default one.
    pub fn token_command(&self) -> String {
        let command = "brokeros token --role admin --sub me".to_string();
        match self.source {
            DataDirSource::Default => command,
            DataDirSource::Flag | DataDirSource::Env => format!(
                "{command} --data-dir {}",
                shell_word(&self.absolute().to_string_lossy())
            ),
        }
    }
}

/// `text` as one shell word: as it is when it holds nothing a shell reads specially, in single
/// quotes otherwise.
fn shell_word(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+:@,=".contains(c));
    if plain {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

/// The data directory's development signing key, created on first use (readable by the owner
/// only): `serve` and the demo create it.
pub fn dev_key(data_dir: &Path) -> Result<Vec<u8>, String> {
    secret_key(data_dir, KEY_FILE)
}

/// The development signing key `serve` created in `data_dir`; never created here, or a token
/// would be signed by a key no `serve` knows.
pub fn existing_dev_key(data_dir: &Path) -> Result<Vec<u8>, String> {
    read_key(&data_dir.join(KEY_FILE))?.ok_or_else(|| {
        format!(
            "no dev key ({KEY_FILE}) in {}: start `brokeros serve` there once to create it",
            data_dir.display()
        )
    })
}

/// A development token for `sub` with `roles`, valid from now for `ttl_seconds`, signed with the
/// data directory's dev key `secret`: what `brokeros token` prints and the web app's dev
/// sign-in answers.
pub fn mint_dev_token(
    secret: &[u8],
    roles: &[brokeros_kernel::principal::Role],
    sub: &str,
    ttl_seconds: i64,
) -> brokeros_kernel::Result<String> {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    brokeros_http::auth::mint_token(secret, sub, roles, ttl_seconds, now)
}

/// The key that signs audit manifests and checkpoints (Ed25519 secret, hex), created on first
/// use like the dev key. Its public half is what auditors get (`brokeros audit public-key`).
pub const AUDIT_KEY_FILE: &str = "audit-signing.key";

pub fn audit_signer(data_dir: &Path) -> Result<brokeros_kernel::signing::Ed25519Signer, String> {
    let secret: [u8; 32] = secret_key(data_dir, AUDIT_KEY_FILE)?
        .try_into()
        .map_err(|_| format!("{AUDIT_KEY_FILE} must hold 32 bytes"))?;
    Ok(brokeros_kernel::signing::Ed25519Signer::from_secret(secret))
}

/// The hex key in `path`; `None` when there is no such file.
fn read_key(path: &Path) -> Result<Option<Vec<u8>>, String> {
    match std::fs::read_to_string(path) {
        Ok(text) => hex::decode(text.trim())
            .map(Some)
            .map_err(|_| format!("{} is not a hex key", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("cannot read {}: {e}", path.display())),
    }
}

/// 32 random bytes in `data_dir/file` (hex, mode 0600), created with the directory on first use.
fn secret_key(data_dir: &Path, file: &str) -> Result<Vec<u8>, String> {
    std::fs::create_dir_all(data_dir)
        .map_err(|e| format!("cannot create {}: {e}", data_dir.display()))?;
    let path = data_dir.join(file);
    if let Some(key) = read_key(&path)? {
        return Ok(key);
    }
    let key: [u8; 32] = rand::random();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(&path) {
        Ok(mut file) => {
            file.write_all(hex::encode(key).as_bytes())
                .map_err(|e| e.to_string())?;
            Ok(key.to_vec())
        }
        // Another process created it first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => secret_key(data_dir, file),
        Err(e) => Err(format!("cannot write {}: {e}", path.display())),
    }
}

/// The embedded store of a data directory that exists ([`DataDir::existing`]).
pub fn open_store(data_dir: &Path, durability: Durability) -> Result<Arc<dyn Store>, String> {
    Ok(Arc::new(
        SqliteStore::open_with(&data_dir.join(DB_FILE), durability).map_err(|e| e.to_string())?,
    ))
}

pub fn load_config(path: Option<&Path>) -> Result<BrokerConfig, String> {
    match path {
        None => Ok(BrokerConfig::embedded_default()),
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .map_err(|e| format!("cannot read {}: {e}", p.display()))?;
            BrokerConfig::from_json(&text).map_err(|e| e.to_string())
        }
    }
}

impl LocalBrokerOs {
    /// Opens the data directory and continues the workflows a previous run left waiting.
    pub async fn open(
        data_dir: &Path,
        config: Option<&Path>,
        durability: Durability,
    ) -> Result<LocalBrokerOs, String> {
        LocalBrokerOs::open_with(data_dir, load_config(config)?, durability, None).await
    }

    /// [`LocalBrokerOs::open`] on Broker OS's clock `clock`, the system's moved ahead as its
    /// owner says (the demo's): the services, the simulated trading platform and the workflow
    /// engine all read it, so a payout run closes the period its tasks see ended.
    pub async fn open_ahead(
        data_dir: &Path,
        config: BrokerConfig,
        durability: Durability,
        clock: Arc<AheadClock>,
    ) -> Result<LocalBrokerOs, String> {
        LocalBrokerOs::open_with(data_dir, config, durability, Some(clock)).await
    }

    async fn open_with(
        data_dir: &Path,
        config: BrokerConfig,
        durability: Durability,
        clock: Option<Arc<AheadClock>>,
    ) -> Result<LocalBrokerOs, String> {
        let secret = dev_key(data_dir)?;
        let audit_signer = Arc::new(audit_signer(data_dir)?);
        let store: Arc<dyn Store> = Arc::new(
            SqliteStore::open_with(&data_dir.join(DB_FILE), durability)
                .map_err(|e| e.to_string())?,
        );
        let mut base = brokeros_local::services(store.clone(), config);
        let mut platform = SimulatedPlatform::new(store);
        let mut engine_ahead: Option<WallOffset> = None;
        if let Some(clock) = clock {
            base = base.with_clock(clock.clone());
            let platform_clock = clock.clone();
            platform = platform.with_clock(move || platform_clock.now());
            engine_ahead = Some(Arc::new(move || clock.ahead()));
        }
        let platform = Arc::new(platform);
        let base = base.with_trading(platform.clone());
        let gateway = Arc::new(SimulatedGateway::new(
            base.ports.psp.clone(),
            SIMULATED_PROVIDER_DELAY,
            base.store.clone(),
        ));
        let base = base.with_gateway(gateway.clone());
        let (engine, services) =
            local_engine_ahead(base, engine_ahead).map_err(|e| e.to_string())?;
        let resumed = engine.resume().await.map_err(|e| e.to_string())?;
        if resumed > 0 {
            tracing::info!(resumed, "workflow executions resumed");
        }
        Ok(LocalBrokerOs {
            services,
            secret,
            engine,
            gateway,
            platform,
            audit_signer,
        })
    }

    fn state(&self) -> AppState {
        AppState {
            services: Arc::new(self.services.clone()),
            auth: Arc::new(AuthMode::Jwt(Box::new(JwtVerifier::new(
                &self.secret,
                LOCAL_ISSUER,
                LOCAL_AUDIENCE,
            )))),
            audit_signer: Some(self.audit_signer.clone()),
        }
    }

    pub fn router(&self) -> axum::Router {
        router(self.state())
    }

    /// The router `serve` runs on `listener`: with `GET /metrics`, open on a loopback address
    /// and for admins on any other, reading the engine's running executions at each scrape.
    pub fn router_with_metrics(&self, listener: std::net::SocketAddr) -> axum::Router {
        let engine = self.engine.clone();
        let refresh: brokeros_http::metrics::Refresh = Arc::new(move || {
            let engine = engine.clone();
            Box::pin(async move { workflow_gauges(&engine).await })
        });
        brokeros_http::router_with_metrics(
            self.state(),
            brokeros_http::metrics::MetricsAccess::for_listener(listener),
            Some(refresh),
        )
    }
}

/// Sets each state machine's `workflow_running_executions` and
/// `workflow_oldest_running_age_seconds` from the engine's running executions (what the
/// scheduled sweep publishes in AWS).
async fn workflow_gauges(engine: &Engine) {
    let now = time::OffsetDateTime::now_utc();
    for machine in brokeros_kernel::workflow::Machine::ALL {
        let Ok(running) = engine
            .list_executions(machine.name(), Some(brokeros_sfn::ExecutionStatus::Running))
            .await
        else {
            continue;
        };
        let oldest = running.iter().map(|e| e.start_date).min();
        let age = oldest.map_or(0.0, |start| (now - start).as_seconds_f64());
        brokeros_kernel::metrics::workflow_running(machine.name(), running.len() as u64, age);
    }
}
