//! The state machine's executions: the running ones (single-flight, see
//! [`crate::single_flight`]) and an execution's state entries and exits (the run report).

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

/// A state entered or exited, as an execution's history records it.
#[derive(Debug, Clone, PartialEq)]
pub enum StateEvent {
    Entered { name: String, at: DateTime<Utc> },
    Exited { name: String, at: DateTime<Utc> },
}

/// The state entries and exits of `execution_arn`'s history, oldest first, reading pages until
/// at least `max_events` events were seen. An error keeps AWS's code and message.
pub async fn state_events(
    sfn: &aws_sdk_sfn::Client,
    execution_arn: &str,
    max_events: usize,
) -> Result<Vec<StateEvent>> {
    let mut pages = sfn
        .get_execution_history()
        .execution_arn(execution_arn)
        .include_execution_data(false)
        .max_results(1000)
        .into_paginator()
        .send();
    let (mut out, mut seen) = (Vec::new(), 0usize);
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| aws_error("GetExecutionHistory", e))?;
        for event in page.events() {
            seen += 1;
            let at = to_utc(event.timestamp()).unwrap_or_default();
            if let Some(d) = event.state_entered_event_details() {
                out.push(StateEvent::Entered {
                    name: d.name().to_string(),
                    at,
                });
            } else if let Some(d) = event.state_exited_event_details() {
                out.push(StateEvent::Exited {
                    name: d.name().to_string(),
                    at,
                });
            }
        }
        if seen >= max_events {
            break;
        }
    }
    Ok(out)
}

/// One execution as DescribeExecution answers it (strongly consistent for that execution).
#[derive(Debug, Clone, PartialEq)]
pub struct ExecutionInfo {
    pub running: bool,
    pub start: DateTime<Utc>,
    pub redrive: Option<DateTime<Utc>>,
}

/// `arn`'s status, start and last redrive; None when it does not exist.
pub async fn describe_execution(
    sfn: &aws_sdk_sfn::Client,
    arn: &str,
) -> Result<Option<ExecutionInfo>> {
    let out = match sfn.describe_execution().execution_arn(arn).send().await {
        Ok(out) => out,
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_execution_does_not_exist()) =>
        {
            return Ok(None)
        }
        Err(e) => return Err(aws_error("DescribeExecution", e)),
    };
    let start = to_utc(out.start_date()).ok_or_else(|| {
        WorkerError::bad_data(
            "DescribeExecution",
            "the execution's startDate is out of range",
        )
    })?;
    Ok(Some(ExecutionInfo {
        running: *out.status() == ExecutionStatus::Running,
        start,
        redrive: out.redrive_date().and_then(to_utc),
    }))
}
