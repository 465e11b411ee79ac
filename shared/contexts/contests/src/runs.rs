//! Starting the contest scoring workflow: the one way every caller (the schedule, a prize
//! decision that came after the workflow stopped waiting, a contest manager) starts a run.

use brokeros_kernel::Result;
use brokeros_kernel::workflow::Machine;
use serde_json::json;

use crate::Services;

/// Starts execution `name` of the contest scoring machine for `contest`: a scoring run, or
/// with `is_final` the run that freezes the contest and sees its prizes paid. A name already
/// started answers that execution (or `execution_exists` once it has finished).
pub(crate) async fn start_run(
    services: &Services,
    contest: &str,
    name: &str,
    is_final: bool,
) -> Result<String> {
    services
        .workflow()?
        .start(
            Machine::ContestScoring,
            name,
            json!({ "contest_id": contest, "final": is_final }),
        )
        .await
}
