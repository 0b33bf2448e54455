//! `retrain`, the operator's command: the pipeline's runs on the Step Functions API and its model
//! versions on the SageMaker API. `main.rs` only wires the AWS configuration; everything here
//! takes its clients as arguments.

pub mod args;
pub mod commands;
pub mod cost;
pub mod doctor;
pub mod render;
pub mod summary;

use std::io::Write;
use std::time::Duration;

use serde_json::json;

pub use args::{Cli, Command};
pub use commands::{CliError, Ops};

/// The AWS configuration the AWS CLI would use, with `--profile`, `--region`, `--endpoint-url`.
pub async fn sdk_config(g: &args::Global) -> aws_config::SdkConfig {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    if let Some(p) = &g.profile {
        loader = loader.profile_name(p);
    }
    if let Some(r) = &g.region {
        loader = loader.region(aws_config::Region::new(r.clone()));
    }
    if let Some(u) = &g.endpoint_url {
        loader = loader.endpoint_url(u);
    }
    loader.load().await
}

pub fn ops(cli: &Cli, sdk: &aws_config::SdkConfig) -> Ops {
    Ops {
        sfn: aws_sdk_sfn::Client::new(sdk),
        sm: aws_sdk_sagemaker::Client::new(sdk),
        state_machine: cli.global.state_machine.clone(),
        group: cli.global.model_package_group.clone(),
        sdk: Some(sdk.clone()),
    }
}

fn emit(out: &mut dyn Write, text: &str) {
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}

/// Run one subcommand, writing to `out`. `Ok(false)`: it ran, and what it reports did not
/// succeed (`start --wait` of a run that failed).
pub async fn run(cli: &Cli, ops: &Ops, out: &mut dyn Write) -> Result<bool, CliError> {
    let as_json = cli.global.json;
    match &cli.command {
        Command::Start(s) => {
            let arn = commands::start(ops, s).await?;
            if !s.wait {
                if as_json {
                    emit(out, &format!("{}\n", json!({ "execution_arn": arn })));
                } else {
                    emit(out, &format!("started {arn}\n"));
                }
                return Ok(true);
            }
            if !as_json {
                emit(out, &format!("started {arn}\n"));
            }
            let summary = follow(
                ops,
                &arn,
                Duration::from_secs(s.follow_seconds),
                out,
                !as_json,
            )
            .await?;
            print_summary(out, &summary, as_json);
            Ok(summary.status == "SUCCEEDED")
        }
        Command::Status { execution } => {
            let arn = match execution {
                Some(e) => ops.execution_arn(e)?,
                None => commands::latest(ops).await?,
            };
            let summary = commands::summary(ops, &arn).await?;
            print_summary(out, &summary, as_json);
            Ok(true)
        }
        Command::Runs { last } => {
            let all = commands::runs(ops, *last).await?;
            if as_json {
                emit(
                    out,
                    &format!(
                        "{}\n",
                        serde_json::to_string_pretty(&all).expect("serialises")
                    ),
                );
            } else {
                emit(out, &render::runs(&all));
            }
            Ok(true)
        }
        Command::Redrive { execution } => {
            let arn = ops.execution_arn(execution)?;
            let at = commands::redrive(ops, &arn).await?;
            if as_json {
                emit(
                    out,
                    &format!("{}\n", json!({"execution_arn": arn, "redrive_date": at})),
                );
            } else {
                emit(out, &format!("redriven {arn} at {at}\n"));
            }
            Ok(true)
        }
        Command::Cost(c) => {
            emit(out, &cost::render(c, as_json)?);
            Ok(true)
        }
        Command::Doctor(d) => {
            let params = doctor::params(d)?;
            let sdk = ops
                .sdk
                .as_ref()
                .ok_or_else(|| CliError::Refused("no AWS configuration".into()))?;
            let checks = doctor::examine(&doctor::Clients::new(sdk), &params).await;
            if as_json {
                emit(
                    out,
                    &format!(
                        "{}\n",
                        serde_json::to_string_pretty(&checks).expect("serialises")
                    ),
                );
            } else {
                emit(out, &doctor::render(&checks));
            }
            Ok(checks
                .iter()
                .all(|c| c.verdict != retrain_contract::doctor::Verdict::Fail))
        }
        Command::Approve(d) | Command::Reject(d) => {
            let approve = matches!(cli.command, Command::Approve(_));
            let arn = commands::decide(ops, &d.version, approve, d.note.as_deref()).await?;
            let status = if approve { "Approved" } else { "Rejected" };
            if as_json {
                emit(
                    out,
                    &format!("{}\n", json!({"model_package_arn": arn, "status": status})),
                );
            } else if approve {
                emit(
                    out,
                    &format!("{arn} is Approved: the approval rule starts a run that deploys it\n"),
                );
            } else {
                emit(out, &format!("{arn} is Rejected\n"));
            }
            Ok(true)
        }
    }
}

fn print_summary(out: &mut dyn Write, s: &summary::RunSummary, as_json: bool) {
    if as_json {
        emit(
            out,
            &format!("{}\n", serde_json::to_string_pretty(s).expect("serialises")),
        );
    } else {
        emit(out, &render::status(s));
    }
}

/// Follow an execution until it ends, printing each state as it is entered.
pub async fn follow(
    ops: &Ops,
    arn: &str,
    every: Duration,
    out: &mut dyn Write,
    print: bool,
) -> Result<summary::RunSummary, CliError> {
    // Events already read: a history read that comes back shorter never prints them again.
    let mut seen = 0usize;
    loop {
        let d = commands::describe(ops, arn).await?;
        let steps = commands::steps(ops, arn).await?;
        for s in steps.iter().skip(seen) {
            if s.kind.ends_with("StateEntered") && print {
                emit(
                    out,
                    &format!("  -> {}\n", s.state.as_deref().unwrap_or("?")),
                );
            }
        }
        seen = seen.max(steps.len());
        if d.status != "RUNNING" {
            return Ok(summary::summarize(&d, &steps));
        }
        tokio::time::sleep(every).await;
    }
}
