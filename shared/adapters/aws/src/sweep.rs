//! The stuck-workflow sweep: on a schedule, counts each watched state machine's running
//! executions and the age of the oldest, published as `workflow_running_executions` and
//! `workflow_oldest_running_age_seconds` (by `machine`). Every wait of our definitions has a
//! deadline (`TimeoutSecondsPath`), so an execution running longer than the longest of them is
//! stuck — the template alarms on the age. Step Functions itself publishes no such metric.

use aws_sdk_sfn::types::ExecutionStatus;

/// The state machines to watch: their ARNs, comma-separated.
pub const WATCHED_MACHINES_ENV: &str = "BROKEROS_WATCHED_STATE_MACHINE_ARNS";

pub struct WorkflowSweep {
    client: aws_sdk_sfn::Client,
    machines: Vec<String>,
    /// `<brand>-<stage>-`, cut from the machines' names so the label reads as locally
    /// (`onboarding`, `deposit`, `withdrawal`).
    name_prefix: String,
}

/// The label of a state machine: its name without the stack's prefix.
pub fn machine_label<'a>(arn: &'a str, name_prefix: &str) -> &'a str {
    let name = arn.rsplit(':').next().unwrap_or(arn);
    name.strip_prefix(name_prefix).unwrap_or(name)
}

impl WorkflowSweep {
    /// The sweep of the machines [`WATCHED_MACHINES_ENV`] names, or `None` without them.
    pub async fn from_env() -> Option<WorkflowSweep> {
        let machines: Vec<String> = std::env::var(WATCHED_MACHINES_ENV)
            .ok()?
            .split(',')
            .map(str::trim)
            .filter(|arn| !arn.is_empty())
            .map(str::to_string)
            .collect();
        if machines.is_empty() {
            return None;
        }
        let var = |name: &str| std::env::var(name).unwrap_or_default();
        let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        Some(WorkflowSweep {
            client: aws_sdk_sfn::Client::new(&aws),
            machines,
            name_prefix: format!("{}-{}-", var("BROKEROS_BRAND"), var("BROKEROS_STAGE")),
        })
    }

    /// Publishes each machine's running executions and the oldest one's age at `now` (Unix
    /// seconds). A machine that cannot be listed keeps its gauges' last value and is named in
    /// the error, after the others were swept.
    pub async fn run(&self, now: i64) -> Result<(), String> {
        let mut failed = Vec::new();
        for arn in &self.machines {
            let label = machine_label(arn, &self.name_prefix);
            match self.running(arn).await {
                Ok((running, oldest_start)) => {
                    let age = oldest_start.map_or(0, |start| now - start);
                    brokeros_kernel::metrics::workflow_running(label, running, age as f64);
                }
                Err(e) => failed.push(format!("{label}: {e}")),
            }
        }
        if failed.is_empty() {
            Ok(())
        } else {
            Err(format!("workflow sweep: {}", failed.join("; ")))
        }
    }

    /// How many executions of `arn` run, and when the oldest started (Unix seconds).
    async fn running(&self, arn: &str) -> Result<(u64, Option<i64>), String> {
        let mut running = 0;
        let mut oldest: Option<i64> = None;
        let mut next = None;
        loop {
            let page = self
                .client
                .list_executions()
                .state_machine_arn(arn)
                .status_filter(ExecutionStatus::Running)
                .max_results(1000)
                .set_next_token(next)
                .send()
                .await
                .map_err(|e| aws_sdk_sfn::error::DisplayErrorContext(e).to_string())?;
            for execution in page.executions() {
                running += 1;
                let started = execution.start_date().secs();
                oldest = Some(oldest.map_or(started, |o| o.min(started)));
            }
            next = page.next_token().map(str::to_string);
            if next.is_none() {
                return Ok((running, oldest));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn machines_are_labelled_by_their_name_without_the_stack_prefix() {
        let arn = "arn:aws:states:eu-west-1:123456789012:stateMachine:brokeros-dev-deposit";
        assert_eq!(machine_label(arn, "brokeros-dev-"), "deposit");
        assert_eq!(machine_label(arn, "other-prod-"), "brokeros-dev-deposit");
    }
}
