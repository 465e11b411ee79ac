//! Contest scoring `contest-scoring`: the workflow's tasks (deals read by cursor and entrants
//! rescored, leaderboard snapshots, freeze, full recompute with the hedging review, prizes
//! proposed, approved, paid and notified; the state machine names the step in the payload's
//! `action`) and, on its schedule (`{"action": "start_scheduled"}`), the start of a scoring
//! run for each running contest and of the final run for each that has ended.

use brokeros_aws::TaskFunction;

#[tokio::main]
async fn main() -> Result<(), brokeros_aws::Error> {
    brokeros_http::logging::init();
    let services = brokeros_aws::services_from_env().await?;
    brokeros_aws::run_task(TaskFunction::ContestScoring, services).await
}
