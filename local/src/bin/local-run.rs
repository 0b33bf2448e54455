//! The whole retraining job on one machine, no AWS account: starts the AWS emulator, seeds the
//! lake for a scenario, runs the real state machine definition through the offline executor with
//! the real workers pointed at the emulator (training jobs run the reference trainer), shows
//! progress state by state and ends with a summary of what the emulator holds.

use std::sync::Arc;
use std::time::Instant;

use asl_executor::{Event, HistoryEvent, Status};
use clap::Parser;
use local::containers;
use local::harness;
use local::launcher::Emulator;
use local::pipeline::{Faults, Pipeline};
use local::report;
use local::scenario::Scenario;
use local::seed::{prepare, Lake};
use serde_json::json;

#[derive(Parser)]
#[command(about = "Run the retraining pipeline locally against an AWS emulator")]
struct Args {
    /// normal (deploys), regime-change (drift, rejected), no-new-data (skipped), short-history
    /// (MAPE unknown), messy-files (a normal week as messy exports: data-quality alert)
    #[arg(long, default_value = "normal")]
    scenario: String,
    /// Weekly runs in a row against the same emulator state.
    #[arg(long, default_value_t = 1)]
    weeks: i64,
    /// The shell command each training job runs (the training container's `train`), e.g.
    /// `.venv-prophet/bin/python examples/prophet-trainer/train.py`. Default: the Rust
    /// reference trainer beside this binary.
    #[arg(long)]
    training_command: Option<String>,
    /// Run training jobs and endpoints in this local image, as SageMaker runs the template's
    /// image (`IMAGE train`, `IMAGE serve`, with podman): `prophet` is the Prophet example's
    /// (`make image`). Overrides --training-command.
    #[arg(long)]
    image: Option<String>,
}

/// The first word of a shell command, when it names no program that exists: the error to show.
fn missing_program(command: &str) -> Option<String> {
    let program = command.split_whitespace().next()?;
    let found = if program.contains('/') {
        std::path::Path::new(program).is_file()
    } else {
        std::env::var_os("PATH").is_some_and(|paths| {
            std::env::split_paths(&paths).any(|dir| dir.join(program).is_file())
        })
    };
    (!found).then(|| {
        format!(
            "the training command `{command}` names `{program}`, which does not exist{}",
            if program.contains(".venv") {
                " (run tools/setup.sh to make the venvs)"
            } else {
                ""
            }
        )
    })
}

/// The forecast canary's verdict, when CheckStatus asked the model.
fn canary_line(canary: &serde_json::Value) -> String {
    match canary["passed"].as_bool() {
        None => String::new(),
        Some(true) => format!(
            "; canary ({}): forecast OK",
            canary["during"].as_str().unwrap_or("?")
        ),
        Some(false) => format!(
            "; CANARY FAILED ({}): {}",
            canary["during"].as_str().unwrap_or("?"),
            canary["problem"].as_str().unwrap_or("")
        ),
    }
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
                    "   {} {} ({} s since created){}",
                    output["status"].as_str().unwrap_or("?"),
                    output["secondary_status"].as_str().unwrap_or(""),
                    output["elapsed_seconds"],
                    canary_line(&output["canary"])
                ),
                "EvaluateMape" => format!(
                    "   MAPE {} (threshold {}, from {}) -> {}\n           against the serving model: {}",
                    output["mape"]
                        .as_f64()
                        .map(|m| format!("{m:.2}%"))
                        .unwrap_or_else(|| "unknown".into()),
                    output["threshold"],
                    output["source"].as_str().unwrap_or("?"),
                    match (
                        output["passed"] == true,
                        output["champion"]["verdict"].as_str()
                    ) {
                        (true, Some("worse")) => "keep the serving model (worse than it)",
                        (true, _) => "deploy",
                        (false, _) => "reject",
                    },
                    output["champion"]["reason"].as_str().unwrap_or("not compared")
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
            Event::ExecutionTimedOut {
                state,
                error,
                cause,
            } => format!("TIMED OUT in {state}: {error}: {cause}"),
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
    let image = args.image.as_deref().map(containers::resolve);
    match run(scenario, args.weeks, args.training_command, image).await {
        Ok(0) => {}
        Ok(failed) => {
            eprintln!("local run: {failed} execution(s) failed (see FAILED above)");
            std::process::exit(1);
        }
        Err(e) => {
            eprintln!("local run failed: {e}");
            std::process::exit(1);
        }
    }
}

/// A path relative to the working directory when it is under it.
fn shown(path: &std::path::Path) -> String {
    let here = std::env::current_dir().unwrap_or_default();
    path.strip_prefix(&here)
        .unwrap_or(path)
        .display()
        .to_string()
}

/// Run the weeks; the number of executions that failed.
/// The jobs' command: the one given, else the reference trainer beside this binary; refused
/// when its program does not exist.
fn training_command(command: Option<String>) -> Result<String, String> {
    let command = match command.filter(|c| !c.trim().is_empty()) {
        Some(c) => c,
        None => {
            let trainer = std::env::current_exe()
                .map_err(|e| e.to_string())?
                .with_file_name("reference-trainer");
            if !trainer.exists() {
                return Err(format!(
                    "{} is missing: build it with `cargo build --workspace --bins`",
                    trainer.display()
                ));
            }
            trainer.display().to_string()
        }
    };
    if let Some(e) = missing_program(&command) {
        return Err(e);
    }
    Ok(command)
}

/// What the configuration the demo ran costs a month at the template's defaults (`retrain
/// cost`), beside what the last run entered and what its training job billed.
fn cost_line(entered: &[String], output: Option<&serde_json::Value>) -> Result<String, String> {
    use retrain_core::bill::{monthly, path::TASKS, total, Endpoint, Prices, Usage};
    use retrain_core::payload::TrainingBilling;
    let cfg = harness::local_config(harness::TOPIC_ARN);
    let (endpoint, kind) = match cfg.endpoint.serverless {
        Some(s) => (
            Endpoint::Serverless {
                memory_mb: s.memory_mb as u32,
                seconds_per_invocation: 1.0,
            },
            format!("serverless {} MB", s.memory_mb),
        ),
        None => (
            Endpoint::RealTime {
                instance_type: cfg.endpoint.instance_type.clone(),
                count: cfg.endpoint.instance_count.max(1) as u32,
            },
            cfg.endpoint.instance_type.clone(),
        ),
    };
    let mut u = Usage::assumed(endpoint, cfg.training.spot.then_some(0.7));
    u.training_instance_type = cfg.training.instance_type.clone();
    let lines = monthly(&Prices::us_east_1(), &u)?;
    let endpoint = lines.first().map_or(0.0, |l| l.usd);
    let calls = entered
        .iter()
        .filter(|s| TASKS.iter().any(|(t, _)| t == s))
        .count();
    let billed = output
        .and_then(|o| o.pointer("/job/billing"))
        .and_then(|b| serde_json::from_value::<TrainingBilling>(b.clone()).ok())
        .map(|b| format!("; its training job: {}", run_report::render::billing(&b)))
        .unwrap_or_default();
    Ok(format!(
        "cost a month      : ${:.2} at this configuration ({} training, the dashboard's $3.00 \
         included: CreateDashboard=false leaves it out), ${endpoint:.2} of it the {kind} \
         endpoint (us-east-1 list prices, spot assumed 70 % off; `retrain cost --compare` for \
         the options); the last run entered {} states and called {calls} \
         workers ({:.0} states with a real 10-minute job's 60 s polls){billed}",
        total(&lines),
        if cfg.training.spot {
            "spot"
        } else {
            "on-demand"
        },
        entered.len(),
        u.transitions_per_run
    ))
}

/// Where each week's run report goes, copied out of the emulator's bucket: target/local-run/.
fn reports_dir() -> Result<std::path::PathBuf, String> {
    let dir = std::env::current_exe()
        .map_err(|e| e.to_string())?
        .parent()
        .and_then(|debug| debug.parent())
        .ok_or("the binary is not in a target directory")?
        .join("local-run");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    Ok(dir)
}

async fn run(
    scenario: Scenario,
    weeks: i64,
    command: Option<String>,
    image: Option<String>,
) -> Result<usize, String> {
    let command = training_command(command)?;
    if let (Some(_), Some((k, v))) = (&image, scenario.training_env()) {
        return Err(format!(
            "scenario {} sets {k}={v}, a switch of the reference trainer's: not with --image",
            scenario.name()
        ));
    }
    match &image {
        Some(image) => println!("image: {image} (training jobs and endpoints run it)"),
        None => println!("training command: {command}"),
    }
    // Jobs run in a directory of their own: relative paths in the command are this directory's.
    let here = std::env::current_dir().map_err(|e| e.to_string())?;
    let in_here = format!(
        "cd '{}' && {}",
        here.display().to_string().replace('\'', r"'\''"),
        scenario.training_command(&command)
    );
    let started = Instant::now();
    let emulator = match &image {
        Some(image) => Emulator::start_image(image)?,
        None => Emulator::start(&in_here)?,
    };
    println!(
        "emulator on {} (log {})",
        emulator.url,
        emulator.log.display()
    );
    let sdk = emulator.sdk_config(harness::HARNESS.name).await;
    let harness = harness::connect(&sdk).await?;
    let lake = Lake {
        ctx: &harness,
        sdk: &sdk,
    };
    let pipeline = Pipeline::new(
        &sdk,
        &harness.cfg,
        Arc::new(Faults::default()),
        Some(progress(started)),
    );
    pipeline.serve(&emulator)?;
    let reports_dir = reports_dir()?;
    let mut saved = Vec::new();
    let mut failed = 0;
    let mut entered: Vec<String> = Vec::new();
    let mut output = None;
    for week in 1..=weeks {
        let said = prepare(&lake, scenario, week).await?;
        println!("\n== week {week} ({}): {said}", scenario.name());
        let name = format!(
            "local-{}-week{week}-{}",
            scenario.name(),
            chrono::Utc::now().format("%H%M%S")
        );
        let exec = pipeline.run(&name, json!({"poll_seconds": 1})).await;
        entered = exec
            .states_entered()
            .iter()
            .map(|s| s.to_string())
            .collect();
        output = exec.output.clone();
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
        if let Some(html) = report::run_report(&harness, &name).await? {
            let path = reports_dir.join(format!("{name}.html"));
            std::fs::write(&path, html).map_err(|e| format!("{}: {e}", path.display()))?;
            println!("== week {week}: run report {}", shown(&path));
            saved.push(path);
        }
        if exec.status != Status::Succeeded {
            failed += 1;
            println!(
                "== week {week} FAILED: {}: {}",
                exec.error.as_deref().unwrap_or("?"),
                exec.cause.as_deref().unwrap_or("")
            );
            if end == "StartTraining" {
                break;
            }
        }
    }
    let state = emulator.state()?;
    let r = report::collect(&harness, &state).await?;
    println!(
        "\n== summary after {weeks} week(s), {:.1} s\n{}",
        started.elapsed().as_secs_f64(),
        r.render()
    );
    println!("{}", cost_line(&entered, output.as_ref())?);
    if !saved.is_empty() {
        println!("run reports on this machine (open in a browser):");
        for path in &saved {
            println!("  {}", shown(path));
        }
    }
    Ok(failed)
}
