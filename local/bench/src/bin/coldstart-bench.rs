//! Cold starts of every worker beside its Python baseline, against the AWS emulator.
//!
//! Each sample is a fresh process under a local Lambda Runtime API (`retrain_core::runtime_api`)
//! given one realistic event for its state: the worker's release binary, and the same step in
//! Python with boto3 under awslambdaric (`local/bench/handlers.py`), making the same AWS calls
//! with the same credentials (the emulator applies that function's IAM policy to both). Runs
//! are interleaved (Rust, Python, Rust, ...); only successful invocations count. Per worker:
//! init (spawn to the first `GET .../invocation/next`), first invoke (event handed out to its
//! answer) and peak RSS (the process's VmHWM), medians over the runs, and the same for a
//! minimal `lambda_runtime` function (`echo-lambda`) and a Python echo with boto3 imported:
//! the floor each language starts from.
//!
//! Two more comparisons run interleaved with those: each worker told by `SSL_CERT_FILE` to read
//! only the CA bundle or a single certificate (what of init is the trust store), and, with
//! `--bin-dir DIR` (repeatable), the same binaries from another build (a profile experiment:
//! build into another target directory with other settings, then compare in one run).
//!
//! `coldstart-bench` writes Markdown tables and `target/bench/coldstart.json`; `--short` (CI)
//! takes one sample each to prove the harness works. No figure is asserted.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bench::measure::status_mb;
use clap::Parser;
use local::harness::{self, LOCAL_IMAGE, LOCAL_ROLE, TOPIC_ARN};
use local::launcher::{identity, repo_root, Emulator};
use local::scenario::Scenario;
use local::seed::{prepare, Lake};
use retrain_core::archive::build_model_tar;
use retrain_core::aws::endpoint::describe_endpoint;
use retrain_core::aws::s3::put_bytes;
use retrain_core::aws::{Clients, Context};
use retrain_core::names::training_job_name;
use retrain_core::runtime_api::RuntimeApi;
use serde_json::{json, Value};

#[derive(Parser)]
#[command(about = "Cold start, first invoke and peak memory of every worker beside Python")]
struct Args {
    /// Cold starts per worker and language.
    #[arg(long, default_value_t = 10)]
    runs: usize,
    /// CI's short mode: one cold start each.
    #[arg(long)]
    short: bool,
    #[arg(long, default_value = "target/bench/coldstart.json")]
    out: PathBuf,
    /// Another build of the same binaries to compare with this one (repeatable): a directory
    /// holding echo-lambda and every worker, e.g. `target/profile-a/release`. Its cold starts are
    /// interleaved with all the others; a table compares each build with this one.
    #[arg(long = "bin-dir")]
    bin_dirs: Vec<PathBuf>,
}

/// (worker binary, Python handler)
const STEPS: [(&str, &str); 6] = [
    ("echo-lambda", "echo"),
    ("start-training", "start_training"),
    ("check-status", "check_status"),
    ("evaluate-mape", "evaluate_mape"),
    ("deploy", "deploy"),
    ("reject-and-alert", "reject_and_alert"),
];

const DEPLOYED_JOB: &str = "prophet-retrain-bench-deployed";
const REJECTED_JOB: &str = "prophet-retrain-bench-rejected";

#[derive(Debug, Clone, Copy)]
struct Sample {
    init_ms: f64,
    invoke_ms: f64,
    rss_mb: f64,
}

/// The run state of a completed job whose archive says `mape`.
fn state(job: &str, bucket: &str, mape: f64) -> Value {
    let t0 = chrono::Utc::now() - chrono::Duration::hours(1);
    json!({
        "run": {"execution": "bench", "trigger": "manual", "action": "train", "reason": "bench",
                "mape_threshold": 20.0, "mape_floor": 1.0, "poll_seconds": 60, "deadline_seconds": 5400,
                "training": {"job_name": job, "output_path": format!("s3://{bucket}/training-output/"),
                             "created_at": t0.to_rfc3339(), "adopted": false}},
        "job": {"kind": "training", "name": job, "status": "Completed", "outcome": "succeeded",
                "model_artifact": format!("s3://{bucket}/training-output/{job}/output/model.tar.gz"),
                "started_at": t0.to_rfc3339(), "elapsed_seconds": 600, "deadline_passed": false},
        "evaluation": {"job_name": job, "mape": mape, "rmse": 3.0, "mae": 2.0, "threshold": 20.0,
                       "source": "job_artifact", "passed": mape < 20.0}
    })
}

/// Seed the emulator: the normal scenario's lake (its earlier model serving), two completed
/// jobs' archives, and the steady state a re-run of Deploy and RejectAndAlert finds (their
/// first runs, in process, not measured). Returns the event of each step.
async fn seed(emulator: &Emulator) -> Result<Vec<(String, String)>, String> {
    let sdk = emulator.sdk_config(harness::HARNESS.name).await;
    let h = harness::connect(&sdk).await?;
    prepare(&Lake { ctx: &h, sdk: &sdk }, Scenario::Normal, 1).await?;
    harness::create_state_machine(&sdk).await?;
    let bucket = h.cfg.bucket.clone();
    let e = |e: retrain_core::WorkerError| e.to_string();
    for (job, mape) in [(DEPLOYED_JOB, 12.5), (REJECTED_JOB, 25.0)] {
        let metrics = format!(r#"{{"mape": {mape}, "rmse": 3.0, "mae": 2.0}}"#);
        // The folds' predictions the run report reads (Deploy, RejectAndAlert): 3 folds of 7 days.
        let mut predictions = String::from("date,actual,forecast,fold\n");
        for i in 0..21 {
            predictions.push_str(&format!(
                "2024-11-{:02},{},{},{}\n",
                4 + i,
                180 + i,
                175,
                i / 7
            ));
        }
        let tar = build_model_tar(&[
            ("model.json", b"{}"),
            ("metrics.json", metrics.as_bytes()),
            ("predictions.csv", predictions.as_bytes()),
        ]);
        let key = format!("training-output/{job}/output/model.tar.gz");
        put_bytes(&h.s3, &bucket, &key, "application/gzip", tar)
            .await
            .map_err(e)?;
    }
    let ctx = |worker: &'static retrain_core::Worker| {
        Context::new(
            h.cfg.clone(),
            Clients::from_sdk(&identity(&sdk, worker.name)),
            worker,
        )
    };
    deploy::handler::handle(&ctx(&deploy::WORKER), state(DEPLOYED_JOB, &bucket, 12.5))
        .await
        .map_err(e)?;
    let until = Instant::now() + Duration::from_secs(30);
    while describe_endpoint(&h.sm, &h.cfg.endpoint_name)
        .await
        .map_err(e)?
        .is_none_or(|d| d.status != "InService")
    {
        if Instant::now() > until {
            return Err("the endpoint did not come back InService".into());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let rejected = json!({"mode": "rejected", "execution": "bench",
                          "state": state(REJECTED_JOB, &bucket, 25.0)});
    reject_and_alert::handler::handle(&ctx(&reject_and_alert::WORKER), rejected.clone())
        .await
        .map_err(e)?;
    let warm = harness::start_training_request(json!({}), "bench-warmup");
    start_training::handler::handle(&ctx(&start_training::WORKER), warm)
        .await
        .map_err(e)?;
    let status = json!({"kind": "training", "name": training_job_name("bench-warmup"),
                        "deadline_seconds": 5400, "execution": "bench", "poll_seconds": 60});
    Ok(vec![
        ("echo-lambda".into(), json!({"hello": "world"}).to_string()),
        ("start-training".into(), String::new()), // per run: a new execution
        ("check-status".into(), status.to_string()),
        (
            "evaluate-mape".into(),
            state(DEPLOYED_JOB, &bucket, 12.5).to_string(),
        ),
        (
            "deploy".into(),
            state(DEPLOYED_JOB, &bucket, 12.5).to_string(),
        ),
        ("reject-and-alert".into(), rejected.to_string()),
    ])
}

/// How a sample is run: the worker's binary with the machine's trust store as the SDK finds
/// it, the same binary told to read one bundle file or a single certificate instead
/// (`SSL_CERT_FILE`, which rustls-native-certs obeys before probing), the Python step, or the
/// same binary from another build (`--bin-dir`, by its index).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Variant {
    Rust,
    RustBundleOnly,
    RustOneRoot,
    Python,
    Build(usize),
}

impl Variant {
    fn key(self) -> String {
        match self {
            Variant::Rust => "rust".into(),
            Variant::RustBundleOnly => "rust_bundle_only".into(),
            Variant::RustOneRoot => "rust_one_root".into(),
            Variant::Python => "python".into(),
            Variant::Build(k) => format!("build_{k}"),
        }
    }
}

/// The trust-store files the attribution runs use: the machine's CA bundle (the first of the
/// usual places that exists) and a file holding only its first certificate.
struct TrustFiles {
    bundle: PathBuf,
    one_root: PathBuf,
}

fn trust_files(dir: &std::path::Path) -> Option<TrustFiles> {
    let bundle = [
        "/etc/ssl/certs/ca-certificates.crt", // Debian, Ubuntu
        "/etc/pki/tls/certs/ca-bundle.crt",   // Amazon Linux, Fedora
        "/etc/ssl/cert.pem",                  // Alpine, macOS
    ]
    .iter()
    .map(PathBuf::from)
    .find(|p| p.is_file())?;
    let text = std::fs::read_to_string(&bundle).ok()?;
    const END: &str = "-----END CERTIFICATE-----";
    let begin = text.find("-----BEGIN CERTIFICATE-----")?;
    let end = begin + text[begin..].find(END)? + END.len();
    let first = &text[begin..end];
    std::fs::create_dir_all(dir).ok()?;
    let one_root = dir.join("one-root.pem");
    std::fs::write(&one_root, format!("{first}\n")).ok()?;
    Some(TrustFiles { bundle, one_root })
}

fn one(
    command: &mut Command,
    event: String,
    access_key: &str,
    emulator_url: &str,
    cert_file: Option<&std::path::Path>,
) -> Result<Sample, String> {
    let api = RuntimeApi::serve(vec![event]).map_err(|e| e.to_string())?;
    command.env_clear();
    if let Some(file) = cert_file {
        command.env("SSL_CERT_FILE", file);
    }
    command
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("AWS_LAMBDA_RUNTIME_API", &api.address)
        .env("AWS_LAMBDA_FUNCTION_NAME", access_key)
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/bench")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", access_key)
        .env("AWS_SECRET_ACCESS_KEY", "secret")
        .env("AWS_ENDPOINT_URL", emulator_url)
        .env("ECR_IMAGE_URI", LOCAL_IMAGE)
        .env("SAGEMAKER_ROLE", LOCAL_ROLE)
        .env("SNS_TOPIC_ARN", TOPIC_ARN)
        .env("POLL_SECONDS", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let started = Instant::now();
    let mut child = command.spawn().map_err(|e| e.to_string())?;
    let result = (|| {
        let ready = api
            .next_requested(Duration::from_secs(60))
            .ok_or("no GET /next within 60 s")?;
        let answer = api
            .answer(Duration::from_secs(120))
            .ok_or("no answer within 120 s")?;
        let rss_mb = status_mb(Some(child.id()), "VmHWM:");
        if answer.kind != "response" {
            return Err(format!("{}: {}", answer.kind, answer.body));
        }
        Ok(Sample {
            init_ms: (ready - started).as_secs_f64() * 1000.0,
            invoke_ms: (answer.at - ready).as_secs_f64() * 1000.0,
            rss_mb,
        })
    })();
    let _ = child.kill();
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    result.map_err(|e| format!("{e}\n{}", String::from_utf8_lossy(&out.stderr)))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

fn medians(samples: &[Sample]) -> Value {
    json!({
        "init_ms": median(samples.iter().map(|s| s.init_ms).collect()),
        "invoke_ms": median(samples.iter().map(|s| s.invoke_ms).collect()),
        "rss_mb": median(samples.iter().map(|s| s.rss_mb).collect()),
    })
}

/// What every worker's measurement shares: the runs, the binaries, the emulator.
struct Bench<'a> {
    runs: usize,
    python: PathBuf,
    bin_dir: PathBuf,
    bin_dirs: &'a [PathBuf],
    trust: Option<&'a TrustFiles>,
    url: &'a str,
}

/// One worker's cold starts, every variant interleaved: its row of medians and ratios.
fn measure(b: &Bench, worker: &str, handler: &str, event: String) -> Value {
    let mut variants = vec![Variant::Rust, Variant::Python];
    if worker != "echo-lambda" && b.trust.is_some() {
        variants.extend([Variant::RustBundleOnly, Variant::RustOneRoot]);
    }
    variants.extend((0..b.bin_dirs.len()).map(Variant::Build));
    let mut samples: Vec<Vec<Sample>> = vec![Vec::new(); variants.len()];
    let mut failed = 0;
    for i in 0..b.runs {
        // Interleaved, the order rotating each run so none always follows another.
        for k in 0..variants.len() {
            let v = (i + k) % variants.len();
            let variant = variants[v];
            let event = if worker == "start-training" {
                harness::start_training_request(
                    json!({}),
                    &format!("bench-{}-{i}", variant.key().replace('_', "-")),
                )
                .to_string()
            } else {
                event.clone()
            };
            let mut cmd = if variant == Variant::Python {
                let mut c = Command::new(&b.python);
                c.args(["-m", "awslambdaric", &format!("handlers.{handler}")])
                    .current_dir(repo_root().join("local/bench"));
                c
            } else if let Variant::Build(k) = variant {
                Command::new(b.bin_dirs[k].join(worker))
            } else {
                Command::new(b.bin_dir.join(worker))
            };
            let cert_file = match (variant, b.trust) {
                (Variant::RustBundleOnly, Some(t)) => Some(t.bundle.as_path()),
                (Variant::RustOneRoot, Some(t)) => Some(t.one_root.as_path()),
                _ => None,
            };
            match one(&mut cmd, event, worker, b.url, cert_file) {
                Ok(s) => samples[v].push(s),
                Err(e) => {
                    failed += 1;
                    eprintln!("{worker} ({}) run {i} not counted: {e}", variant.key());
                }
            }
        }
    }
    let (r, p) = (medians(&samples[0]), medians(&samples[1]));
    let ratio = |k: &str| p[k].as_f64().unwrap_or(f64::NAN) / r[k].as_f64().unwrap_or(f64::NAN);
    eprintln!(
        "{worker}: rust init {:.1} ms, python init {:.1} ms",
        r["init_ms"].as_f64().unwrap_or(f64::NAN),
        p["init_ms"].as_f64().unwrap_or(f64::NAN)
    );
    let mut row = json!({
        "name": worker, "b.runs": b.runs, "not_counted": failed,
        "rust": r, "python": p,
        "python_over_rust": {"init": ratio("init_ms"), "invoke": ratio("invoke_ms"), "rss": ratio("rss_mb")},
    });
    let size = |dir: &std::path::Path| std::fs::metadata(dir.join(worker)).map_or(0, |m| m.len());
    row["rust"]["bytes"] = json!(size(&b.bin_dir));
    let mut builds = Vec::new();
    for (v, variant) in variants.iter().enumerate().skip(2) {
        match variant {
            Variant::Build(k) => {
                let mut m = medians(&samples[v]);
                m["dir"] = json!(b.bin_dirs[*k].display().to_string());
                m["bytes"] = json!(size(&b.bin_dirs[*k]));
                builds.push(m);
            }
            _ => row[variant.key()] = medians(&samples[v]),
        }
    }
    if !builds.is_empty() {
        row["builds"] = json!(builds);
    }
    row
}

/// The Markdown tables of the rows (stdout).
fn print_tables(
    rows: &[Value],
    build: &str,
    runs: usize,
    trust: Option<&TrustFiles>,
    bin_dir: &std::path::Path,
    bin_dirs: &[PathBuf],
) {
    let echo_init = rows[0]["rust"]["init_ms"].as_f64().unwrap_or(f64::NAN);
    println!("## Cold start, first invoke, peak RSS ({build} build, medians of {runs} interleaved cold starts)\n");
    println!("| function | Rust init | Rust invoke | Rust RSS | Python init | Python invoke | Python RSS | init Py/Rust | RSS Py/Rust | Rust init / echo |");
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for r in rows {
        let f = |a: &str, b: &str| r[a][b].as_f64().unwrap_or(f64::NAN);
        println!(
            "| {} | {:.1} ms | {:.1} ms | {:.1} MB | {:.1} ms | {:.1} ms | {:.1} MB | {:.1}x | {:.1}x | {:.2} |",
            r["name"].as_str().unwrap_or_default(),
            f("rust", "init_ms"), f("rust", "invoke_ms"), f("rust", "rss_mb"),
            f("python", "init_ms"), f("python", "invoke_ms"), f("python", "rss_mb"),
            f("python_over_rust", "init"), f("python_over_rust", "rss"),
            f("rust", "init_ms") / echo_init,
        );
    }
    if let Some(t) = trust {
        println!("\n## Where a worker's init goes: the trust store the SDK loads at client construction\n");
        println!(
            "The same binaries, interleaved with the runs above: as the SDK finds the machine's store, \
             told to read only the CA bundle ({}), and only one certificate (SSL_CERT_FILE).\n",
            t.bundle.display()
        );
        println!("| function | init, machine store | init, bundle only | init, one certificate | one certificate / echo |");
        println!("|---|---|---|---|---|");
        for r in rows.iter().skip(1) {
            let f = |a: &str| r[a]["init_ms"].as_f64().unwrap_or(f64::NAN);
            println!(
                "| {} | {:.1} ms | {:.1} ms | {:.1} ms | {:.2} |",
                r["name"].as_str().unwrap_or_default(),
                f("rust"),
                f("rust_bundle_only"),
                f("rust_one_root"),
                f("rust_one_root") / echo_init,
            );
        }
    }
    for (k, dir) in bin_dirs.iter().enumerate() {
        println!(
            "\n## This build ({}) against {} (interleaved with the runs above)\n",
            bin_dir.display(),
            dir.display()
        );
        println!("| function | binary | init | first invoke | peak RSS | binary, other | init, other | first invoke, other | peak RSS, other | init, other / this |");
        println!("|---|---|---|---|---|---|---|---|---|---|");
        for r in rows {
            let this = &r["rust"];
            let other = &r["builds"][k];
            let f = |v: &Value, key: &str| v[key].as_f64().unwrap_or(f64::NAN);
            let mb = |v: &Value| v["bytes"].as_f64().unwrap_or(f64::NAN) / 1e6;
            println!(
                "| {} | {:.1} MB | {:.2} ms | {:.2} ms | {:.1} MB | {:.1} MB | {:.2} ms | {:.2} ms | {:.1} MB | {:.2} |",
                r["name"].as_str().unwrap_or_default(),
                mb(this), f(this, "init_ms"), f(this, "invoke_ms"), f(this, "rss_mb"),
                mb(other), f(other, "init_ms"), f(other, "invoke_ms"), f(other, "rss_mb"),
                f(other, "init_ms") / f(this, "init_ms"),
            );
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), String> {
    let args = Args::parse();
    let runs = if args.short { 1 } else { args.runs.max(1) };
    let python = repo_root().join(".venv-bench/bin/python");
    if !python.exists() {
        return Err(format!(
            "{} is missing: run tools/setup.sh",
            python.display()
        ));
    }
    let bin_dir = std::env::current_exe()
        .map_err(|e| e.to_string())?
        .with_file_name("");
    for dir in &args.bin_dirs {
        if let Some((missing, _)) = STEPS.iter().find(|(w, _)| !dir.join(w).is_file()) {
            return Err(format!("--bin-dir {}: no {missing} there", dir.display()));
        }
    }
    let emulator = Emulator::start("true")?;
    let events = seed(&emulator).await?;
    let build = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    let trust = trust_files(args.out.parent().unwrap_or(std::path::Path::new(".")));
    if trust.is_none() {
        eprintln!("no CA bundle found: the trust-store attribution runs are left out");
    }
    let b = Bench {
        runs,
        python,
        bin_dir,
        bin_dirs: &args.bin_dirs,
        trust: trust.as_ref(),
        url: &emulator.url,
    };
    let rows: Vec<Value> = STEPS
        .iter()
        .zip(events)
        .map(|((worker, handler), (_, event))| measure(&b, worker, handler, event))
        .collect();
    print_tables(
        &rows,
        build,
        runs,
        trust.as_ref(),
        &b.bin_dir,
        &args.bin_dirs,
    );
    let doc = json!({"build": build, "runs": runs, "workers": rows,
                     "trust_bundle": trust.as_ref().map(|t| t.bundle.display().to_string())});
    if let Some(dir) = args.out.parent() {
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    }
    std::fs::write(&args.out, serde_json::to_vec_pretty(&doc).expect("json"))
        .map_err(|e| e.to_string())?;
    eprintln!("wrote {}", args.out.display());
    Ok(())
}
