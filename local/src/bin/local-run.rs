//! The whole retraining job on one machine, no AWS account: starts the AWS emulator, seeds the
//! lake for a scenario, runs the real state machine definition through the offline executor with
//! the real workers pointed at the emulator (training jobs run the reference trainer), shows
//! progress state by state and ends with a summary of what the emulator holds.

use std::sync::Arc;
use std::time::Instant;

use asl_executor::{Event, HistoryEvent, Status};
use clap::Parser;
use local::emulator::Emulator;
use local::harness;
use local::pipeline::{Faults, Pipeline};
use local::report;
use local::scenario::Scenario;
use local::seed::{prepare, Lake};
use serde_json::json;

#[derive(Parser)]
#[command(about = "Run the retraining pipeline locally against an AWS emulator")]
struct Args {
    /// normal (deploys), regime-change (drift, rejected), no-new-data (skipped), short-history (MAPE unknown)
    #[arg(long, default_value = "normal")]
    scenario: String,
    /// Weekly runs in a row against the same emulator state.
    #[arg(long, default_value_t = 1)]
    weeks: i64,
}

fn progress(started: Instant) -> asl_executor::Observer {
    Arc::new(move |_exec: &str, e: &HistoryEvent| {
        let t = started.elapsed().as_secs_f64();
        let line = match &e.event {
            Event::StateEntered { state, .. } => format!("-> {state}"),
            Event::TaskSucceeded { state, output } => match state.as_str() {
                "StartTraining" => format!(
                    "   {} ({}){}",
                    output["run"]["action"].as_str().unwrap_or("?"),
                    output["run"]["reason"].as_str().unwrap_or(""),
                    output["run"]["data"]["drift"]
                        .as_bool()
                        .filter(|d| *d)
                        .map(|_| format!(
                            "; DATA DRIFT: mean {:.1} vs {:.1} tickets/day",
                            output["run"]["data"]["mean_daily_tickets"]
                                .as_f64()
                                .unwrap_or_default(),
                            output["run"]["data"]["baseline_mean"]
                                .as_f64()
                                .unwrap_or_default()
                        ))
                        .unwrap_or_default()
                ),
                "CheckStatus" | "CheckStatusEndpoint" => format!(
                    "   {} {} ({} s since created)",
                    output["status"].as_str().unwrap_or("?"),
                    output["secondary_status"].as_str().unwrap_or(""),
                    output["elapsed_seconds"]
                ),
                "EvaluateMape" => format!(
                    "   MAPE {} (threshold {}, from {}) -> {}",
                    output["mape"]
                        .as_f64()
                        .map(|m| format!("{m:.2}%"))
                        .unwrap_or_else(|| "unknown".into()),
                    output["threshold"],
                    output["source"].as_str().unwrap_or("?"),
                    if output["passed"] == true {
                        "deploy"
                    } else {
                        "reject"
                    }
                ),
                "Deploy" => format!(
                    "   endpoint {}: {}",
                    output["action"].as_str().unwrap_or("?"),
                    output["model_name"].as_str().unwrap_or("")
                ),
                s if s.starts_with("RejectAndAlert") => format!(
                    "   alert \"{}\"; serving: {}",
                    output["subject"].as_str().unwrap_or(""),
                    output["serving_model"].as_str().unwrap_or("")
                ),
                _ => return,
            },
            Event::TaskFailed {
                state,
                error,
                cause,
            } => format!("   {state} failed: {error}: {cause}"),
            Event::RetryScheduled {
                state,
                attempt,
                delay_ms,
            } => format!("   retry {state} #{attempt} in {delay_ms} ms"),
            Event::ExecutionSucceeded { .. } => "succeeded".into(),
            Event::ExecutionFailed {
                state,
                error,
                cause,
            } => format!("FAILED in {state}: {error}: {cause}"),
            _ => return,
        };
        println!("[{t:6.1}s] {line}");
    })
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let Some(scenario) = Scenario::parse(&args.scenario) else {
        let names: Vec<_> = Scenario::ALL.iter().map(|s| s.name()).collect();
        eprintln!("unknown scenario `{}`; one of {names:?}", args.scenario);
        std::process::exit(2);
    };
    if let Err(e) = run(scenario, args.weeks).await {
        eprintln!("local run failed: {e}");
        std::process::exit(1);
    }
}

async fn run(scenario: Scenario, weeks: i64) -> Result<(), String> {
    let trainer = std::env::current_exe()
        .map_err(|e| e.to_string())?
        .with_file_name("reference-trainer");
    if !trainer.exists() {
        return Err(format!(
            "{} is missing: build it with `cargo build --workspace --bins`",
            trainer.display()
        ));
    }
    let started = Instant::now();
    let emulator = Emulator::start(&trainer.display().to_string())?;
    println!(
        "emulator on {} (log {})",
        emulator.url,
        emulator.log.display()
    );
    let sdk = emulator.sdk_config(harness::HARNESS.name).await;
    let harness = harness::connect(&sdk).await?;
    let lake = Lake { ctx: &harness };
    let pipeline = Pipeline::new(
        &sdk,
        &harness.cfg,
        Arc::new(Faults::default()),
        Some(progress(started)),
    );
    for week in 1..=weeks {
        let said = prepare(&lake, scenario, week).await?;
        println!("\n== week {week} ({}): {said}", scenario.name());
        let name = format!(
            "local-{}-week{week}-{}",
            scenario.name(),
            chrono::Utc::now().format("%H%M%S")
        );
        let exec = pipeline.run(&name, json!({"poll_seconds": 1})).await;
        let end = exec
            .states_entered()
            .last()
            .copied()
            .unwrap_or("?")
            .to_string();
        println!(
            "== week {week}: {:?} at {end} in {:.1} s",
            exec.status,
            exec.duration().as_secs_f64()
        );
        if exec.status == Status::Failed && end == "StartTraining" {
            return Err(format!("{:?}: {:?}", exec.error, exec.cause));
        }
    }
    let state = emulator.state()?;
    let r = report::collect(&harness, &state).await?;
    println!(
        "\n== summary after {weeks} week(s), {:.1} s\n{}",
        started.elapsed().as_secs_f64(),
        r.render()
    );
    Ok(())
}
