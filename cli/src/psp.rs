//! `brokeros psp`: the simulated payment providers' side, for benchmarks and manual tests:
//! signed webhook deliveries as the providers would send them.

use std::fmt::Write as _;
use std::path::PathBuf;

use brokeros_kernel::money::{Currency, Money};
use brokeros_payments::model::events::{PaymentEvent, PaymentEventKind};
use clap::Subcommand;
use rust_decimal::Decimal;

use crate::CliResult;

#[derive(Subcommand)]
pub enum PspCommand {
    /// Write `count` signed deliveries of distinct captured payments (one deposit each), one
    /// per line for `wrk` (`bench/psp.lua`): path, then header name and value pairs, then the
    /// body, separated by tabs. Signatures are valid for five minutes from now.
    Deliveries {
        #[arg(long, default_value = "simcard")]
        provider: String,
        #[arg(long, default_value_t = 100_000)]
        count: u32,
        #[arg(long)]
        out: PathBuf,
    },
}

pub fn run(command: PspCommand) -> CliResult {
    match command {
        PspCommand::Deliveries {
            provider,
            count,
            out,
        } => deliveries(&provider, count, &out),
    }
}

fn deliveries(provider_name: &str, count: u32, out: &std::path::Path) -> CliResult {
    let providers = brokeros_local::simulated_providers();
    let provider = providers.get(provider_name).ok_or_else(|| {
        let known: Vec<&str> = providers.names().collect();
        format!(
            "unknown provider '{provider_name}' (known: {})",
            known.join(", ")
        )
    })?;
    let now =
        time::OffsetDateTime::from_unix_timestamp(time::OffsetDateTime::now_utc().unix_timestamp())
            .map_err(|e| e.to_string())?;
    let currency = if provider_name.contains("crypto") {
        "USDT"
    } else {
        "EUR"
    };
    let currency = Currency::from_code(currency).ok_or("currency table")?;
    let mut lines = String::new();
    for i in 0..count {
        let event = PaymentEvent {
            provider: provider_name.to_string(),
            event_id: format!("bench_evt_{i}"),
            deposit_id: format!("bench_dep_{i}"),
            kind: PaymentEventKind::Succeeded,
            amount: Money::positive(
                "amount",
                Decimal::new(10_000 + i64::from(i % 1000), 2),
                currency,
            )
            .map_err(|e| e.to_string())?,
            occurred_at: now,
            provider_transaction_id: format!("bench_tx_{i}"),
        };
        let delivery = provider.deliver(&event, now).map_err(|e| e.to_string())?;
        let body = String::from_utf8(delivery.body).map_err(|e| e.to_string())?;
        // Compact JSON and header values hold no tabs or newlines, so a line is one delivery.
        if body.contains(['\t', '\n']) {
            return Err("a delivery body holds a tab or newline".into());
        }
        lines.push_str(&format!("/webhooks/psp/{provider_name}"));
        for (name, value) in &delivery.headers {
            write!(lines, "\t{name}\t{value}").map_err(|e| e.to_string())?;
        }
        writeln!(lines, "\t{body}").map_err(|e| e.to_string())?;
    }
    std::fs::write(out, lines).map_err(|e| format!("cannot write {}: {e}", out.display()))?;
    eprintln!(
        "{count} signed {provider_name} deliveries in {}",
        out.display()
    );
    Ok(std::process::ExitCode::SUCCESS)
}
