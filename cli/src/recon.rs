//! `brokeros recon FILE --provider NAME`: reconciles a provider's settlement report against
//! the embedded store's ledger, records the run (audited), and prints what did not match.
//! Exits 0 when everything matched, 1 when something did not, 2 on invalid input.

use std::path::Path;
use std::process::ExitCode;

use brokeros_app::config::BrokerConfig;
use brokeros_kernel::principal::{Principal, Role};
use brokeros_recon::model::MatchKind;
use brokeros_recon::{ReconRun, reconcile};
use time::format_description::well_known::Rfc3339;

use crate::CliResult;

pub async fn run(
    file: &Path,
    provider: &str,
    data_dir: crate::local::DataDir,
    operator: &str,
    durability: brokeros_store_sqlite::Durability,
) -> CliResult {
    let report = std::fs::read_to_string(file)
        .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let store = crate::local::open_store(&data_dir.existing()?, durability)?;
    let services = brokeros_local::services(store, BrokerConfig::embedded_default());
    let principal = Principal {
        sub: operator.to_string(),
        roles: [Role::Finance].into_iter().collect(),
    };
    let correlation_id = services.ids.prefixed("cli-recon");
    let run = reconcile(
        &services.payments,
        &principal,
        provider,
        &report,
        &correlation_id,
    )
    .await
    .map_err(|e| format!("{}: {e}", file.display()))?;
    print!("{}", render(&run));
    Ok(if run.run.all_matched {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The summary (counts per kind, totals per currency) and one line per mismatch.
pub fn render(run: &ReconRun) -> String {
    let r = &run.run;
    let mut out = format!(
        "reconciliation {} of {}: {} rows settled {} .. {}, report sha256 {}\n",
        r.id,
        r.provider,
        r.rows,
        r.period_from.format(&Rfc3339).unwrap_or_default(),
        r.period_to.format(&Rfc3339).unwrap_or_default(),
        r.report_sha256
    );
    for kind in MatchKind::ALL {
        out.push_str(&format!(
            "  {:<20} {}\n",
            kind.as_str(),
            r.counts.get(&kind).copied().unwrap_or(0)
        ));
    }
    for (currency, t) in &r.totals {
        out.push_str(&format!(
            "  {currency}: report {} (fees {}), ledger {} (fees {}), difference {}\n",
            t.report_amount, t.report_fees, t.ledger_amount, t.ledger_fees, t.difference
        ));
    }
    let mismatches: Vec<_> = run.mismatches().collect();
    if mismatches.is_empty() {
        out.push_str("everything matched\n");
    } else {
        out.push_str(&format!("{} mismatches:\n", mismatches.len()));
        for item in mismatches {
            let line = item
                .line
                .map_or_else(|| "ledger".to_string(), |l| format!("line {l}"));
            out.push_str(&format!(
                "  {:<20} {:<8} {} {}: {}\n",
                item.kind.as_str(),
                line,
                item.reference,
                item.currency,
                item.detail
            ));
        }
    }
    out
}
