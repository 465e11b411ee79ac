//! `brokeros`: the local Broker OS and its operator tools.

mod audit;
mod contest;
mod copy;
mod demo;
mod files;
mod ib;
mod local;
mod pamm;
mod platform;
mod providers;
mod psp;
mod recon;
mod sfn;
mod web;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use brokeros_http::rate_limit::RateLimitOptions;
use brokeros_http::server::ServeOptions;
use brokeros_kernel::principal::Role;
use clap::{Parser, Subcommand};

// Requests allocate on the runtime's threads and the store frees on its writer thread (and back);
// mimalloc's per-thread heaps avoid glibc's arena lock contention measured under load.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "brokeros",
    version,
    about = "Broker OS: the operating layer of a retail FX/CFD brokerage"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// How durable the embedded store's commits are, for every command that opens it (serve,
    /// demo, recon, sfn, audit export, platform).
    #[arg(long, global = true, value_enum, default_value_t = Durability::Full)]
    durability: Durability,
}

/// `--durability`: what an acknowledged write of the embedded store survives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Durability {
    /// Synced to the disk at every group commit: acknowledged writes survive a crash and a power failure.
    Full,
    /// Synced only at checkpoints (faster): acknowledged writes may be lost on power failure (not on a process crash).
    Relaxed,
}

impl Durability {
    pub fn store(self) -> brokeros_store_sqlite::Durability {
        match self {
            Durability::Full => brokeros_store_sqlite::Durability::Full,
            Durability::Relaxed => brokeros_store_sqlite::Durability::Relaxed,
        }
    }
}

#[derive(Subcommand)]
enum Command {
    /// Run the whole Broker OS on this machine: the API on 127.0.0.1 over the embedded store
    /// (the data directory, its store and keys are created when absent: only here and in the
    /// demo).
    Serve {
        #[arg(long, default_value_t = 8080)]
        port: u16,
        #[command(flatten)]
        data_dir: local::DataDirArg,
        /// A JSON rules file (brands, lead scoring, assignment); the embedded default otherwise.
        #[arg(long)]
        config: Option<PathBuf>,
        /// The web app's configuration (`/config.json`) instead of the dev sign-in's: a file as
        /// `infra/deploy-web.sh` writes it (Cognito's hosted UI, an API elsewhere).
        #[arg(long)]
        web_config: Option<PathBuf>,
        /// How long a request's head may take to arrive (from the connection's start or its
        /// previous response) before the connection is closed: 500ms, 10s, 2m.
        #[arg(long, default_value = "10s", value_parser = brokeros_http::server::parse_duration)]
        header_read_timeout: Duration,
        /// How long a request's body may take to arrive after its head; a slower one is
        /// answered 408 and its connection closed.
        #[arg(long, default_value = "30s", value_parser = brokeros_http::server::parse_duration)]
        body_read_timeout: Duration,
        /// How long a connection with no request in progress may stay open receiving nothing.
        #[arg(long, default_value = "5s", value_parser = brokeros_http::server::parse_duration)]
        keep_alive_timeout: Duration,
        /// Connections served at once; more wait to be accepted until one closes.
        #[arg(long, default_value_t = 512, value_parser = clap::value_parser!(u32).range(1..))]
        max_connections: u32,
        /// Requests a client address may send at once to the public routes (POST /leads,
        /// POST /leads/consent/confirm, POST /webhooks/…, GET /contests, GET /contests/{id});
        /// 0 turns the limit off.
        #[arg(long, default_value_t = 20)]
        public_burst: u32,
        /// Requests per minute a client address regains for the public routes.
        #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u32).range(1..))]
        public_per_minute: u32,
        /// Client addresses the public routes' limiter tracks at once (memory bound).
        #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(1..))]
        rate_limited_sources: u32,
        /// `serve` runs behind a proxy you trust: count a request by the last address of its
        /// X-Forwarded-For (the one the proxy appended) instead of the connection's.
        #[arg(long)]
        trust_forwarded_for: bool,
    },
    /// Run a scripted scenario against an embedded Broker OS and print what happens.
    Demo {
        /// Where the demo keeps its data; a fresh temporary directory by default (never
        /// BROKEROS_DATA_DIR: the demo's story is not written into a working data directory).
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Mint a development token for `serve`, signed with the data directory's dev key.
    Token {
        /// Role(s) the token grants: client, ib, sales, compliance, finance, partners, marketing,
        /// admin.
        #[arg(long = "role", required = true)]
        roles: Vec<String>,
        #[arg(long)]
        sub: String,
        /// How long the token is valid, in seconds (at most 86400: `serve` refuses longer).
        #[arg(long, default_value_t = 3600)]
        ttl_seconds: i64,
        #[command(flatten)]
        data_dir: local::DataDirArg,
    },
    /// Export and verify the audit trail.
    Audit {
        #[command(subcommand)]
        command: audit::AuditCommand,
    },
    /// Reconcile a payment provider's settlement report (CSV) against the ledger; exits 0 when
    /// everything matched, 1 on mismatches, 2 on invalid input.
    Recon {
        /// The report: provider_reference,provider_transaction_id,type,amount,currency,fee,settled_at
        file: PathBuf,
        #[arg(long)]
        provider: String,
        #[command(flatten)]
        data_dir: local::DataDirArg,
        /// Who runs it (recorded in the audit event, with the finance role).
        #[arg(long, default_value = "cli-operator")]
        operator: String,
    },
    /// List the side effects committed and not yet carried out (the outbox), oldest first, one
    /// JSON line each: what, since when, attempts and the last error. `serve`'s relay carries
    /// them out; an entry that stays is the relay's lag.
    Outbox {
        #[command(flatten)]
        data_dir: local::DataDirArg,
        /// The consent outbox instead, newest first: the confirmation messages a mailer would
        /// send to leads, each with its single-use token (locally no mailer runs: this is how a
        /// token reaches `POST /leads/consent/confirm`).
        #[arg(long)]
        consent: bool,
    },
    /// The simulated payment providers' side: signed webhook deliveries for benchmarks.
    Psp {
        #[command(subcommand)]
        command: psp::PspCommand,
    },
    /// Trading on the simulated platform of the data directory (beside a running `serve`):
    /// deals for contest leaderboards and IB earnings.
    Platform {
        #[command(subcommand)]
        command: platform::PlatformCommand,
    },
    /// Trading contests: scoring over files, for audits and disputes.
    Contest {
        #[command(subcommand)]
        command: contest::ContestCommand,
    },
    /// PAMM: an offer's history replayed from files, for investors' questions and audits.
    Pamm {
        #[command(subcommand)]
        command: pamm::PammCommand,
    },
    /// Copy trading: a follower's volume for a provider's deal, by sizing mode.
    Copy {
        #[command(subcommand)]
        command: copy::CopyCommand,
    },
    /// Introducing brokers: what-if previews of commission plans.
    Ib {
        #[command(subcommand)]
        command: ib::IbCommand,
    },
    /// Run state machine definitions on the local Step Functions engine and inspect executions.
    Sfn {
        #[command(subcommand)]
        command: sfn::SfnCommand,
    },
    /// Print the API's OpenAPI document (what `serve` answers at GET /openapi.json), without a
    /// server: the web app's types are generated from it (web/lib/api-schema.d.ts).
    Openapi,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let durability = cli.durability.store();
    let result = match cli.command {
        Command::Serve {
            port,
            data_dir,
            config,
            web_config,
            header_read_timeout,
            body_read_timeout,
            keep_alive_timeout,
            max_connections,
            public_burst,
            public_per_minute,
            rate_limited_sources,
            trust_forwarded_for,
        } => {
            let options = ServeOptions {
                header_read_timeout,
                body_read_timeout,
                keep_alive_timeout,
                max_connections: max_connections as usize,
                rate_limit: RateLimitOptions {
                    burst: public_burst,
                    per_minute: public_per_minute,
                    max_sources: rate_limited_sources as usize,
                    trust_forwarded_for,
                },
            };
            let web_config = match web_config {
                Some(path) => web::WebConfig::from_file(&path),
                None => Ok(web::WebConfig::dev()),
            };
            match web_config {
                Ok(web_config) => {
                    serve(
                        port,
                        data_dir.resolve(),
                        config,
                        web_config,
                        options,
                        durability,
                    )
                    .await
                }
                Err(e) => Err(e),
            }
        }
        Command::Demo { data_dir } => demo::run(data_dir, durability).await,
        Command::Token {
            roles,
            sub,
            ttl_seconds,
            data_dir,
        } => token(&roles, &sub, ttl_seconds, data_dir.resolve()),
        Command::Audit { command } => audit::run(command, durability).await,
        Command::Recon {
            file,
            provider,
            data_dir,
            operator,
        } => recon::run(&file, &provider, data_dir.resolve(), &operator, durability).await,
        Command::Sfn { command } => sfn::run(command, durability).await,
        Command::Outbox { data_dir, consent } => {
            list_outbox(data_dir.resolve(), consent, durability).await
        }
        Command::Psp { command } => psp::run(command),
        Command::Platform { command } => platform::run(command, durability).await,
        Command::Ib { command } => ib::run(command),
        Command::Contest { command } => contest::run(command),
        Command::Pamm { command } => pamm::run(command),
        Command::Copy { command } => copy::run(command),
        Command::Openapi => print_openapi(),
    };
    match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("error: {message}");
            std::process::ExitCode::from(2)
        }
    }
}

type CliResult = Result<std::process::ExitCode, String>;

/// How often `serve` looks at the simulated providers' outbox for webhooks due.
const SIMULATOR_POLL: Duration = Duration::from_millis(50);
/// How often `serve`'s outbox relay carries out the side effects a commit left undone.
const OUTBOX_RELAY_EVERY: Duration = Duration::from_secs(1);

/// How often `serve` ingests and accrues new deals, and the most batches one pass writes per
/// server (the rest waits for the next pass).
const COMMISSION_ACCRUAL_EVERY: Duration = Duration::from_secs(5);
const ACCRUAL_BATCHES_PER_PASS: u32 = 20;
/// How often `serve` starts contest scoring runs (the template's schedule is every 5 minutes;
/// locally a minute, so a laptop sees its leaderboard move).
const CONTEST_SCORING_EVERY: Duration = Duration::from_secs(60);
/// How often `serve` looks for a PAMM rollover that has come (the template's schedule is every
/// 5 minutes as well).
const PAMM_ROLLOVER_SCHEDULE_EVERY: Duration = Duration::from_secs(60);
/// How often `serve` looks for a commission payout period that has ended.
const COMMISSION_PAYOUT_SCHEDULE_EVERY: Duration = Duration::from_secs(60);
/// How often `serve` resumes the transfers pending past `transfers::RESUME_AFTER`.
const TRANSFER_SWEEP_EVERY: Duration = Duration::from_secs(60);
/// How often `serve` reads provider deals and copies them (the copy-reader function's schedule
/// in AWS is every minute; the copy queue's consumer there is the SQS event source), and the
/// most reader batches per server and queue receives one pass makes.
const COPY_TRADING_EVERY: Duration = Duration::from_secs(1);
const COPY_BATCHES_PER_PASS: u32 = 20;
const COPY_RECEIVES_PER_PASS: u32 = 100;

async fn list_outbox(
    data_dir: local::DataDir,
    consent: bool,
    durability: brokeros_store_sqlite::Durability,
) -> CliResult {
    let store = local::open_store(&data_dir.existing()?, durability)?;
    let core = brokeros_kernel::Core::new(store);
    if consent {
        let messages = brokeros_crm::consent_outbox(&core, 1000)
            .await
            .map_err(|e| e.to_string())?;
        print_json_lines(messages.iter().map(serde_json::to_value))?;
        eprintln!("{} consent messages queued", messages.len());
    } else {
        let entries = brokeros_kernel::outbox::entries(&core)
            .await
            .map_err(|e| e.to_string())?;
        print_json_lines(entries.iter().map(serde_json::to_value))?;
        eprintln!("{} side effects waiting", entries.len());
    }
    Ok(std::process::ExitCode::SUCCESS)
}

fn print_openapi() -> CliResult {
    let doc = serde_json::to_string_pretty(brokeros_http::api_doc()).map_err(|e| e.to_string())?;
    println!("{doc}");
    Ok(std::process::ExitCode::SUCCESS)
}

/// One JSON line each on stdout.
fn print_json_lines(
    items: impl Iterator<Item = serde_json::Result<serde_json::Value>>,
) -> Result<(), String> {
    for item in items {
        println!("{}", item.map_err(|e| e.to_string())?);
    }
    Ok(())
}

/// The IB accrual of `serve`: every `every`, the configured platform servers' new deals are
/// ingested and accrued (priced with the simulated FX feed), until the process stops.
async fn accrue_commissions(services: brokeros_app::Services, every: Duration) {
    let fx = brokeros_local::SimulatedFxRates::new();
    loop {
        tokio::time::sleep(every).await;
        let pass = brokeros_ib::accruals::accrue_servers(
            &services.ib,
            services.ports.trading.as_ref(),
            &fx,
            ACCRUAL_BATCHES_PER_PASS,
        )
        .await;
        match pass {
            Ok(pass) if pass.batches + pass.raced > 0 => {
                tracing::info!(?pass, "commission accrual pass")
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "commission accrual pass failed"),
        }
    }
}

/// A schedule of `serve` (an EventBridge schedule in AWS): `pass` every `every` until the
/// process stops; what a pass did is logged when `did_work` says it did anything.
async fn repeat<T, F, Fut>(
    every: Duration,
    name: &'static str,
    did_work: fn(&T) -> bool,
    mut pass: F,
) where
    T: std::fmt::Debug,
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = brokeros_kernel::Result<T>>,
{
    loop {
        tokio::time::sleep(every).await;
        match pass().await {
            Ok(done) if did_work(&done) => tracing::info!(?done, "{name}"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "{name} failed"),
        }
    }
}

/// The schedules of `serve`: commission payouts (each kind of period whose next period has
/// ended gets its payout workflow), contest scoring (a run of each running contest, the final
/// run of each that has ended), PAMM rollovers (each offer's due one), copy trading (provider
/// deals fanned out and copied), and the transfers nobody resumed.
fn spawn_schedules(services: &brokeros_app::Services) {
    let ib = services.ib.clone();
    tokio::spawn(repeat(
        COMMISSION_PAYOUT_SCHEDULE_EVERY,
        "commission payouts started",
        |started: &Vec<_>| !started.is_empty(),
        move || {
            let ib = ib.clone();
            async move { brokeros_ib::payout::start_scheduled_payouts(&ib).await }
        },
    ));
    let contests = services.contests.clone();
    tokio::spawn(repeat(
        CONTEST_SCORING_EVERY,
        "contest scoring started",
        |started: &Vec<_>| !started.is_empty(),
        move || {
            let contests = contests.clone();
            async move { brokeros_contests::tasks::start_scheduled(&contests).await }
        },
    ));
    let pamm = services.pamm.clone();
    tokio::spawn(repeat(
        PAMM_ROLLOVER_SCHEDULE_EVERY,
        "PAMM rollovers started",
        |started: &Vec<_>| !started.is_empty(),
        move || {
            let pamm = pamm.clone();
            async move { brokeros_pamm::tasks::start_scheduled(&pamm).await }
        },
    ));
    let all = services.clone();
    tokio::spawn(repeat(
        COPY_TRADING_EVERY,
        "provider deals copied",
        |pass: &CopyPass| pass.read.did_work() || pass.copied + pass.failed > 0,
        move || {
            let all = all.clone();
            async move { copy_trading_pass(&all).await }
        },
    ));
    let payments = services.payments.clone();
    tokio::spawn(repeat(
        TRANSFER_SWEEP_EVERY,
        "pending transfers resumed",
        |resumed: &brokeros_payments::transfers::Resumed| *resumed != Default::default(),
        move || {
            let payments = payments.clone();
            async move {
                let now = payments.clock.now();
                brokeros_payments::transfers::resume_pending(&payments, now, 100).await
            }
        },
    ));
}

/// What one copy trading pass of `serve` did: the reader's fan-out, then the copy queue's
/// messages handled (each one follower's copy of one provider deal) and those left to retry.
#[derive(Debug, Default)]
struct CopyPass {
    read: brokeros_copy::copying::ReaderPass,
    copied: u32,
    failed: u32,
}

/// The reader over the configured platform servers, then the copy queue drained through
/// `copy_one` (in order per follower; a failed message comes back, then to the dead letters).
async fn copy_trading_pass(services: &brokeros_app::Services) -> brokeros_kernel::Result<CopyPass> {
    let servers = &services.config.ib.platform_servers;
    let read =
        brokeros_copy::copying::fan_out_servers(&services.copy, servers, COPY_BATCHES_PER_PASS)
            .await?;
    let mut pass = CopyPass {
        read,
        ..CopyPass::default()
    };
    for _ in 0..COPY_RECEIVES_PER_PASS {
        let handled = brokeros_payments::psp::queue::consume_once(
            services.ports.copy_orders.as_ref(),
            brokeros_payments::psp::queue::MAX_RECEIVE_BATCH,
            |message| {
                let body = message.body.clone();
                let copy = services.copy.clone();
                async move {
                    brokeros_copy::copying::copy_one(&copy, &body)
                        .await
                        .map(drop)
                }
            },
        )
        .await?;
        if handled.is_empty() {
            break;
        }
        for (_, outcome) in &handled {
            if outcome.is_done() {
                pass.copied += 1;
            } else {
                pass.failed += 1;
            }
        }
    }
    Ok(pass)
}

/// The outbox relay of `serve`: a pass every `every` until the process stops.
async fn relay_outbox(core: brokeros_kernel::Core, every: Duration) {
    loop {
        tokio::time::sleep(every).await;
        match brokeros_kernel::outbox::relay(&core).await {
            Ok(report) if report.carried_out + report.failed > 0 => {
                tracing::info!(
                    carried_out = report.carried_out,
                    failed = report.failed,
                    pending = report.pending,
                    oldest_age_seconds = report.oldest_age_seconds,
                    errors = ?report.errors,
                    "outbox relay pass"
                )
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "outbox relay pass failed"),
        }
    }
}

async fn serve(
    port: u16,
    data_dir: local::DataDir,
    config: Option<PathBuf>,
    web_config: web::WebConfig,
    options: ServeOptions,
    durability: brokeros_store_sqlite::Durability,
) -> CliResult {
    brokeros_http::logging::init();
    // Listening first: a port in use creates no data directory.
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::AddrInUse => {
                format!("port {port} is in use: pass --port to choose another")
            }
            _ => format!("cannot listen on {addr}: {e}"),
        })?;
    let local = local::LocalBrokerOs::open(&data_dir.path, config.as_deref(), durability).await?;
    if durability != brokeros_store_sqlite::Durability::Full {
        tracing::warn!(
            ?durability,
            "--durability relaxed: acknowledged writes may be lost on power failure (not on a process crash)"
        );
    }
    let server = listener.local_addr().map_err(|e| e.to_string())?;
    eprintln!(
        "Broker OS listening on http://{server} (the web app: http://{server}/)\ndata directory: {} ({})\nmint a token: {}",
        data_dir.absolute().display(),
        data_dir.how(),
        data_dir.token_command()
    );
    if let Some(outbox) = local.gateway.take_outbox() {
        tokio::spawn(brokeros_local::deliver_outbox(
            outbox,
            SIMULATOR_POLL,
            move |webhook| providers::post_webhook(server, webhook),
        ));
    }
    tokio::spawn(brokeros_payments::deposits::run_consumer(
        local.services.payments.clone(),
        std::time::Duration::from_millis(100),
    ));
    tokio::spawn(relay_outbox(
        local.services.core.clone(),
        OUTBOX_RELAY_EVERY,
    ));
    tokio::spawn(accrue_commissions(
        local.services.clone(),
        COMMISSION_ACCRUAL_EVERY,
    ));
    spawn_schedules(&local.services);
    tokio::spawn(brokeros_payments::routing::run_outage_detection(
        local.services.core.clone(),
        std::time::Duration::from_secs(60),
    ));
    let dev_sign_in = web::DevSignIn {
        secret: local.secret.clone(),
        loopback: server.ip().is_loopback(),
        sales_agents: local
            .services
            .config
            .lead_assignment
            .agents()
            .into_iter()
            .map(String::from)
            .collect(),
    };
    brokeros_http::server::serve(
        listener,
        web::router(local.router_with_metrics(server), dev_sign_in, web_config),
        options,
        async {
            let _ = tokio::signal::ctrl_c().await;
        },
    )
    .await
    .map_err(|e| format!("server failed: {e}"))?;
    Ok(std::process::ExitCode::SUCCESS)
}

fn token(roles: &[String], sub: &str, ttl_seconds: i64, data_dir: local::DataDir) -> CliResult {
    let roles = roles
        .iter()
        .map(|r| r.parse::<Role>().map_err(|e| e.to_string()))
        .collect::<Result<Vec<_>, _>>()?;
    let max = brokeros_http::auth::MAX_LOCAL_TOKEN_LIFETIME_SECONDS;
    if !(1..=max).contains(&ttl_seconds) {
        // `serve` refuses tokens that live longer.
        return Err(format!("--ttl-seconds must be 1 to {max}"));
    }
    let secret = local::existing_dev_key(&data_dir.existing()?)?;
    let token =
        local::mint_dev_token(&secret, &roles, sub, ttl_seconds).map_err(|e| e.to_string())?;
    println!("{token}");
    Ok(std::process::ExitCode::SUCCESS)
}
