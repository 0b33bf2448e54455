//! StartTraining: normalise the request, then skip, hand an approved version to Deploy, or
//! start (or adopt) this execution's training job.

use serde::Deserialize;
use serde_json::Value;
use tracing::{info, Instrument};

use chrono::{DateTime, Utc};
use retrain_core::aws::executions::describe_execution;
use retrain_core::aws::executions::running;
use retrain_core::aws::lease;
use retrain_core::aws::registry::ensure_group;
use retrain_core::input::{normalise, RunRequest};
use retrain_core::json::deserialize_named;
use retrain_core::names::training_job_name;
use retrain_core::payload::{Action, Run, State, Trigger};
use retrain_core::single_flight::{ahead_of, busy_reason, turn_start, RunningExecution};
use retrain_core::{Context, Result};

/// What the state machine passes: the execution input as it came, the execution's name, ARN and
/// start, and the state machine's ARN (from the context object, for single-flight).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StartRequest {
    pub input: Value,
    pub execution: String,
    pub execution_arn: String,
    pub started_at: DateTime<Utc>,
    pub state_machine: String,
}

/// The execution's place in the single-flight queue.
struct Turn<'a> {
    execution_arn: &'a str,
    started_at: DateTime<Utc>,
    state_machine: &'a str,
}

/// An approval waits for the run ahead of it at most this long past the training deadline (the
/// endpoint's own deadline): past it, the execution fails `RunInProgress` (alerted) and can be
/// redriven.
pub const APPROVAL_WAIT_SLACK_SECONDS: u64 = 5400;

/// Slack on top of the job's longest time (its max runtime; with spot, its max wait, which
/// covers waiting for capacity and resumed runs) for provisioning, image pull and upload: past
/// `longest + slack` since the job was created, the wait loop gives up.
pub const DEADLINE_SLACK_SECONDS: u64 = 1800;

pub async fn handle(ctx: &Context, event: Value) -> Result<State> {
    let req: StartRequest = deserialize_named(event)?;
    if req.execution.trim().is_empty() {
        return Err(retrain_core::WorkerError::invalid("execution", "is empty"));
    }
    let request = normalise(&req.input, &ctx.cfg)?;
    let job_name = training_job_name(&req.execution);
    let span = tracing::info_span!("start_training", execution = %req.execution, job = %job_name);
    // `started_at` is `$$.Execution.StartTime`, which a redrive keeps: the execution's own
    // description says when it was last redriven, and its turn starts there.
    let me = describe_execution(&ctx.sfn, &req.execution_arn).await?;
    let turn = Turn {
        execution_arn: &req.execution_arn,
        started_at: turn_start(req.started_at, me.and_then(|m| m.redrive)),
        state_machine: &req.state_machine,
    };
    async move {
        let run = decide(ctx, &req.execution, &job_name, request, &turn).await?;
        info!(action = ?run.action, reason = %run.reason, "run decided");
        Ok(State::started(run))
    }
    .instrument(span)
    .await
}

async fn decide(
    ctx: &Context,
    execution: &str,
    job_name: &str,
    request: RunRequest,
    turn: &Turn<'_>,
) -> Result<Run> {
    let mut run = Run {
        execution: execution.to_string(),
        execution_arn: Some(turn.execution_arn.to_string()),
        trigger: request.trigger,
        action: Action::Skip,
        reason: String::new(),
        mape_threshold: request.mape_threshold,
        mape_floor: request.mape_floor,
        champion_margin: request.champion_margin,
        poll_seconds: request.poll_seconds,
        deadline_seconds: request.training.longest_seconds() as u64 + DEADLINE_SLACK_SECONDS,
        training: None,
        data: None,
        approval: request.approval.clone(),
    };
    if request.trigger == Trigger::Approval {
        return approval(ctx, execution, &request, turn, run).await;
    }

    // A retry or redrive of this execution: adopt the job its earlier attempt started.
    let existing = crate::training::find(ctx, job_name).await?;
    if existing.is_none() {
        if let Some(other) = ahead(ctx, turn).await? {
            run.reason = busy_reason(&other.name);
            return Ok(run);
        }
    }
    let data = crate::data::scan(ctx, request.force, existing.is_none()).await?;
    let skip = match existing.is_none() {
        true if request.force => copies(&data),
        true => copies(&data).or_else(|| nothing_to_train(&data)),
        false => None,
    };
    if let Some(reason) = skip {
        run.reason = reason;
        run.data = Some(data.report);
        return Ok(run);
    }
    if existing.is_none() {
        if let Some(other) = lease::acquire(ctx, turn.execution_arn, execution, ctx.now()).await? {
            run.reason = busy_reason(&other);
            run.data = Some(data.report);
            return Ok(run);
        }
    }
    ensure_group(&ctx.sm, &ctx.cfg.model_package_group).await?;
    let job = match existing {
        Some(job) => job,
        None => {
            crate::training::start(ctx, job_name, execution, &request.training, data.window).await?
        }
    };
    run.action = Action::Train;
    run.reason = if job.adopted {
        "adopted the training job an earlier attempt of this execution started".to_string()
    } else if data.report.usable_files == 0 {
        "forced: training without new usable ticket files".to_string()
    } else {
        format!(
            "{} new ticket files with usable rows",
            data.report.usable_files
        )
    };
    run.training = Some(job);
    run.data = Some(data.report);
    Ok(run)
}

/// An approval: it waits while another run is ahead or holds the lease (failing
/// `RunInProgress` past its longest wait, counted from its last redrive), then goes to Deploy
/// unless the version needs no deploy.
async fn approval(
    ctx: &Context,
    execution: &str,
    request: &RunRequest,
    turn: &Turn<'_>,
    mut run: Run,
) -> Result<Run> {
    let other = match ahead(ctx, turn).await? {
        Some(other) => Some(other.name),
        None => lease::acquire(ctx, turn.execution_arn, execution, ctx.now()).await?,
    };
    if let Some(other) = other {
        let waited = (ctx.now() - turn.started_at).num_seconds().max(0) as u64;
        if waited > run.deadline_seconds + APPROVAL_WAIT_SLACK_SECONDS {
            return Err(retrain_core::WorkerError::RunInProgress {
                other,
                waited_seconds: waited,
            });
        }
        run.action = Action::Wait;
        run.reason = format!("{}; the approval waits", busy_reason(&other));
        return Ok(run);
    }
    let (action, reason) = crate::approval::check(ctx, request).await?;
    run.action = action;
    run.reason = reason;
    Ok(run)
}

/// Why a run does not train, forced or not: copies under bronze/, which the trainer (it reads
/// every file there) would count twice.
fn copies(data: &crate::data::Scan) -> Option<String> {
    let d = data.report.duplicates.first()?;
    Some(format!(
        "{} ticket files under bronze/ are copies of others ({} is a copy of {}): the trainer would count their tickets twice",
        data.report.duplicates.len(),
        d.copy,
        d.of
    ))
}

/// Why a run without `force` does not train on what the scan found: no new file, or none
/// with a usable row.
fn nothing_to_train(data: &crate::data::Scan) -> Option<String> {
    if data.new_files == 0 {
        return Some(match &data.since {
            Some(t) => format!("no new ticket files under bronze/ since {}", t.to_rfc3339()),
            None => "no ticket files under bronze/".to_string(),
        });
    }
    if !data.nothing_usable() {
        return None;
    }
    let listed: Vec<String> = data
        .report
        .unusable_files
        .iter()
        .take(3)
        .map(|f| format!("{}: {}", f.key, f.reason))
        .collect();
    Some(retrain_core::excerpt::clip(
        &format!(
            "none of the {} new ticket files holds a usable row ({})",
            data.new_files,
            listed.join("; ")
        ),
        1000,
    ))
}

/// The running execution whose turn comes before this one's, if any.
async fn ahead(ctx: &Context, turn: &Turn<'_>) -> Result<Option<RunningExecution>> {
    let running = running(&ctx.sfn, turn.state_machine).await?;
    Ok(ahead_of(turn.execution_arn, turn.started_at, &running).cloned())
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
