//! The state machine's running executions (single-flight, see [`crate::single_flight`]).

use aws_sdk_sfn::types::ExecutionStatus;
use chrono::{DateTime, Utc};

use crate::error::{aws_error, Result, WorkerError};
use crate::single_flight::RunningExecution;

fn to_utc(t: &aws_smithy_types::DateTime) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(t.secs(), t.subsec_nanos())
}

/// Every RUNNING execution of `state_machine` (all pages).
pub async fn running(
    sfn: &aws_sdk_sfn::Client,
    state_machine: &str,
) -> Result<Vec<RunningExecution>> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = sfn
            .list_executions()
            .state_machine_arn(state_machine)
            .status_filter(ExecutionStatus::Running)
            .max_results(1000)
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| aws_error("ListExecutions", e))?;
        for e in page.executions() {
            let start = to_utc(e.start_date()).ok_or_else(|| {
                WorkerError::bad_data("ListExecutions", "an execution's startDate is out of range")
            })?;
            out.push(RunningExecution {
                arn: e.execution_arn().to_string(),
                name: e.name().to_string(),
                start,
                redrive: e.redrive_date().and_then(to_utc),
            });
        }
        match page.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_string()),
            _ => return Ok(out),
        }
    }
}
