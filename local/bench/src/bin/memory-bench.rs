//! Memory of StartTraining and EvaluateMape on large documents, against the AWS emulator.
//!
//! Each case runs in a process of its own and reports its peak RSS growth (VmHWM after the
//! call minus VmRSS before it): the worker's real handler, and beside it the baseline a
//! straightforward reader would be, reading the same object whole and then parsing it. The
//! documents: a ticket CSV of `--size-mb` (StartTraining's scan), a model archive with a model
//! file of `--size-mb` and metrics.json last (EvaluateMape), and a `Model/metrics.json` of a
//! quarter of that (EvaluateMape's fallback, which must refuse it without reading it), and two
//! hostile ticket files of `--size-mb`, one without a line break and one with a field of that
//! size, through the bounded scan beside the csv crate reading them unbounded.
//!
//! `memory-bench` writes a Markdown table to stdout and `target/bench/memory.json`;
//! `memory-bench --short` (CI) runs the same cases on 8 MB to prove the harness works.
//! No figure is asserted: a benchmark reports, tests decide.

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use bench::measure::{machine, status_kib};
use clap::Parser;
use local::harness::{self, local_config, TOPIC_ARN};
use local::launcher::{identity, Emulator};
use retrain_core::archive::{build_model_tar, metrics_from_model_tar};
use retrain_core::aws::s3::{create_bucket, put_bytes, read_streaming, FIXED_METRICS_KEY};
use retrain_core::aws::{Clients, Context, Worker};
use retrain_core::tickets::{count_daily, DateWindow};
use serde_json::{json, Value};

#[derive(Parser)]
#[command(about = "Peak memory of StartTraining and EvaluateMape on large documents")]
struct Args {
    /// Size of the ticket CSV and of the archive's model file, MB.
    #[arg(long, default_value_t = 200)]
    size_mb: usize,
    /// CI's short mode: 8 MB, to prove the harness works (the figures mean little).
    #[arg(long)]
    short: bool,
    /// Where the JSON results go.
    #[arg(long, default_value = "target/bench/memory.json")]
    out: PathBuf,
    /// Internal: run one case against the emulator at `--url`.
    #[arg(long, hide = true)]
    case: Option<String>,
    #[arg(long, hide = true)]
    url: Option<String>,
}

const CSV_KEY: &str = "bronze/bench-tickets.csv";
const ARCHIVE_KEY: &str = "training-output/bench/output/model.tar.gz";
const BARE_ARCHIVE_KEY: &str = "training-output/bench-bare/output/model.tar.gz";
const EXPECTED_MAPE: f64 = 12.5;
/// Hostile ticket files (outside bronze/, read by the scan directly): `--size-mb` on one line,
/// and one field of `--size-mb` among short rows.
const NO_NEWLINE_KEY: &str = "hostile/one-line-dump.csv";
const HUGE_FIELD_KEY: &str = "hostile/huge-field.csv";

/// (case, what it measures, the baseline case beside it)
const CASES: &[(&str, &str, &str)] = &[
    (
        "start-training",
        "StartTraining: scan the new CSV (streamed)",
        "csv-whole",
    ),
    (
        "evaluate-mape",
        "EvaluateMape: metrics.json from the archive (streamed)",
        "archive-whole",
    ),
    (
        "fixed-key",
        "EvaluateMape: an oversized Model/metrics.json (refused)",
        "fixed-whole",
    ),
    (
        "scan-no-newline",
        "the ticket scan (streamed, bounded): a CSV without line breaks",
        "csv-no-newline",
    ),
    (
        "scan-huge-field",
        "the ticket scan (streamed, bounded): one field of the whole size",
        "csv-huge-field",
    ),
];

/// The scan over `key`, streamed from S3: what it made of the file.
async fn scan_streamed(ctx: &Context, key: &str) -> Result<String, String> {
    let window = DateWindow::at(chrono::NaiveDate::MIN, chrono::Utc::now());
    let counted = read_streaming(&ctx.s3, &ctx.cfg.bucket, key, move |r| {
        count_daily(r, window)
    })
    .await
    .map_err(|e| e.to_string())?
    .ok_or("no such key")?;
    match counted {
        Err(reason) if reason.contains("longer than") => Ok("refused at the cap".into()),
        other => Err(format!("unexpected: {other:?}")),
    }
}

/// The baseline: the csv crate reading the same stream with no bound, record by record (what
/// the scan did before its caps).
async fn csv_unbounded(ctx: &Context, key: &str) -> Result<String, String> {
    let records = read_streaming(&ctx.s3, &ctx.cfg.bucket, key, |r| {
        let mut csv = csv::ReaderBuilder::new().flexible(true).from_reader(r);
        let mut record = csv::ByteRecord::new();
        let mut n = 0u64;
        while csv
            .read_byte_record(&mut record)
            .map_err(|e| e.to_string())?
        {
            n += 1;
        }
        Ok::<_, String>(n)
    })
    .await
    .map_err(|e| e.to_string())?
    .ok_or("no such key")??;
    Ok(format!("{records} records read whole"))
}

async fn context(url: &str, worker: &'static Worker) -> Context {
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(url)
        .region(aws_config::Region::new("us-east-1"))
        .load()
        .await;
    let sdk = identity(&sdk, worker.name);
    Context::new(local_config(TOPIC_ARN), Clients::from_sdk(&sdk), worker)
}

async fn whole(ctx: &Context, key: &str) -> Vec<u8> {
    let out = ctx
        .s3
        .get_object()
        .bucket(&ctx.cfg.bucket)
        .key(key)
        .send()
        .await
        .expect("get");
    out.body
        .collect()
        .await
        .expect("body")
        .into_bytes()
        .to_vec()
}

fn evaluate_state(artifact_key: &str) -> Value {
    let t0 = chrono::Utc::now() - chrono::Duration::hours(1);
    json!({
        "run": {"execution": "bench", "trigger": "manual", "action": "train", "reason": "bench",
                "mape_threshold": 20.0, "poll_seconds": 60, "deadline_seconds": 5400,
                "training": {"job_name": "bench", "output_path": "s3://ticket-forecasting-lake/training-output/",
                             "created_at": t0.to_rfc3339(), "adopted": false}},
        "job": {"kind": "training", "name": "bench", "status": "Completed", "outcome": "succeeded",
                "model_artifact": format!("s3://ticket-forecasting-lake/{artifact_key}"),
                "started_at": t0.to_rfc3339(), "elapsed_seconds": 600, "deadline_passed": false}
    })
}

/// One case, in this process: what it did (checked) and its peak RSS growth in KiB, from after
/// its client was built to the end of the call.
async fn run_case(case: &str, url: &str) -> Result<(String, u64), String> {
    let window = DateWindow::at(chrono::NaiveDate::MIN, chrono::Utc::now());
    let worker: &'static Worker = match case {
        "start-training" => &start_training::WORKER,
        "evaluate-mape" | "fixed-key" => &evaluate_mape::WORKER,
        _ => &harness::HARNESS,
    };
    let ctx = context(url, worker).await;
    let before = status_kib(None, "VmRSS:").unwrap_or(0);
    let what = match case {
        "start-training" => {
            let state = start_training::handler::handle(
                &ctx,
                harness::start_training_request(json!({"force": false}), "bench"),
            )
            .await
            .map_err(|e| e.to_string())?;
            let data = state.run.and_then(|r| r.data).ok_or("no data report")?;
            format!("{} rows", data.rows)
        }
        "csv-whole" => {
            let bytes = whole(&ctx, CSV_KEY).await;
            let scan = count_daily(&bytes[..], window)?;
            format!("{} rows", scan.counts.rows)
        }
        "evaluate-mape" | "fixed-key" => {
            let key = if case == "evaluate-mape" {
                ARCHIVE_KEY
            } else {
                BARE_ARCHIVE_KEY
            };
            let e = evaluate_mape::handler::handle(&ctx, evaluate_state(key))
                .await
                .map_err(|e| e.to_string())?;
            match (case, e.mape) {
                ("evaluate-mape", Some(m)) if m == EXPECTED_MAPE => format!("MAPE {m}"),
                ("fixed-key", None) => {
                    let reason = e.unknown_reason.unwrap_or_default();
                    if !reason.contains("at most") {
                        return Err(format!("unexpected reason: {reason}"));
                    }
                    "refused: over its cap".into()
                }
                (_, other) => return Err(format!("unexpected MAPE {other:?}")),
            }
        }
        "archive-whole" => {
            let bytes = whole(&ctx, ARCHIVE_KEY).await;
            let m = metrics_from_model_tar(&mut &bytes[..])?.ok_or("no metrics")?;
            format!("{} bytes of metrics", m.len())
        }
        "fixed-whole" => {
            let bytes = whole(&ctx, FIXED_METRICS_KEY).await;
            format!("{} bytes read", bytes.len())
        }
        "scan-no-newline" => scan_streamed(&ctx, NO_NEWLINE_KEY).await?,
        "scan-huge-field" => scan_streamed(&ctx, HUGE_FIELD_KEY).await?,
        "csv-no-newline" => csv_unbounded(&ctx, NO_NEWLINE_KEY).await?,
        "csv-huge-field" => csv_unbounded(&ctx, HUGE_FIELD_KEY).await?,
        other => return Err(format!("unknown case {other}")),
    };
    Ok((
        what,
        status_kib(None, "VmHWM:")
            .unwrap_or(0)
            .saturating_sub(before),
    ))
}

/// A ticket CSV of about `mb` MB: one row per ticket over the two years before 2024-11-25.
fn tickets_csv(mb: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(mb * 1_000_000 + 100);
    out.extend_from_slice(b"ticket_id,created_date,channel,priority\n");
    let first = chrono::NaiveDate::from_ymd_opt(2022, 11, 28).expect("date");
    let mut i: u64 = 0;
    while out.len() < mb * 1_000_000 {
        let day = first + chrono::Duration::days((i % 728) as i64);
        let line = format!(
            "{},{} {:02}:{:02}:00,email,normal\n",
            i + 1,
            day,
            i % 24,
            i % 60
        );
        out.extend_from_slice(line.as_bytes());
        i += 1;
    }
    out
}

async fn seed(emulator: &Emulator, mb: usize) -> Result<(), String> {
    let sdk = emulator.sdk_config(harness::HARNESS.name).await;
    let h = harness::connect(&sdk).await?;
    harness::create_state_machine(&sdk).await?;
    let (s3, bucket) = (&h.s3, &h.cfg.bucket);
    let e = |e: retrain_core::WorkerError| e.to_string();
    create_bucket(s3, bucket).await.map_err(e)?;
    put_bytes(s3, bucket, CSV_KEY, "text/csv", tickets_csv(mb))
        .await
        .map_err(e)?;
    // Incompressible model bytes, so the archive is as large as the model.
    let mut model = vec![0u8; mb * 1_000_000];
    fastrand::Rng::with_seed(7).fill(&mut model);
    let metrics = format!(r#"{{"mape": {EXPECTED_MAPE}, "rmse": 3.1, "mae": 2.4}}"#);
    let archive = build_model_tar(&[
        ("model.joblib", &model),
        ("metrics.json", metrics.as_bytes()),
    ]);
    put_bytes(s3, bucket, ARCHIVE_KEY, "application/gzip", archive)
        .await
        .map_err(e)?;
    let bare = build_model_tar(&[("model.joblib", b"m")]);
    put_bytes(s3, bucket, BARE_ARCHIVE_KEY, "application/gzip", bare)
        .await
        .map_err(e)?;
    // A one-line dump: short fields, no line break at all.
    let one_line = [
        b"created_date\n".as_slice(),
        &b"2026-11-20,".repeat(mb * 91_000),
    ];
    put_bytes(s3, bucket, NO_NEWLINE_KEY, "text/csv", one_line.concat())
        .await
        .map_err(e)?;
    let huge_field = [
        b"created_date,note\n2026-11-20,a\n2026-11-21,".as_slice(),
        &vec![b'y'; mb * 1_000_000],
        b"\n2026-11-22,b\n",
    ];
    put_bytes(s3, bucket, HUGE_FIELD_KEY, "text/csv", huge_field.concat())
        .await
        .map_err(e)?;
    let big_metrics = format!(r#"{{"mape": 5.0, "pad": "{}"}}"#, " ".repeat(mb * 250_000));
    put_bytes(
        s3,
        bucket,
        FIXED_METRICS_KEY,
        "application/json",
        big_metrics.into_bytes(),
    )
    .await
    .map_err(e)
}

#[tokio::main]
async fn main() -> Result<(), String> {
    let args = Args::parse();
    if let Some(case) = args.case {
        let url = args.url.ok_or("--case needs --url")?;
        let (what, kib) = run_case(&case, &url).await?;
        println!(
            "{}",
            json!({"case": case, "what": what, "peak_growth_kib": kib})
        );
        return Ok(());
    }
    let mb = if args.short { 8 } else { args.size_mb };
    // Training jobs the bench starts do nothing.
    let emulator = Emulator::start("true")?;
    let started = Instant::now();
    seed(&emulator, mb).await?;
    eprintln!(
        "seeded {mb} MB documents in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let me = std::env::current_exe().map_err(|e| e.to_string())?;
    let measure = |case: &str| -> Result<(String, f64), String> {
        let out = Command::new(&me)
            .args(["--case", case, "--url", &emulator.url])
            .output()
            .map_err(|e| e.to_string())?;
        if !out.status.success() {
            return Err(format!("{case}: {}", String::from_utf8_lossy(&out.stderr)));
        }
        let v: Value = serde_json::from_slice(&out.stdout).map_err(|e| e.to_string())?;
        let mib = v["peak_growth_kib"].as_f64().unwrap_or(0.0) / 1024.0;
        Ok((v["what"].as_str().unwrap_or_default().to_string(), mib))
    };
    let mut rows = Vec::new();
    println!("| case | input | worker: peak RSS growth | read whole, then parse | ratio |");
    println!("|---|---|---|---|---|");
    for (case, title, baseline) in CASES {
        let (what, worker) = measure(case)?;
        let (_, whole) = measure(baseline)?;
        let input = if *case == "fixed-key" {
            mb as f64 / 4.0
        } else {
            mb as f64
        };
        let ratio = whole / worker.max(0.1);
        println!(
            "| {title} ({what}) | {input} MB | {worker:.1} MiB | {whole:.1} MiB | {ratio:.1}x |"
        );
        rows.push(json!({"case": case, "what": what, "input_mb": input,
                         "worker_rss_growth_mib": worker, "whole_read_rss_growth_mib": whole,
                         "ratio": ratio}));
    }
    let doc = json!({"machine": machine(), "size_mb": mb, "short": args.short, "cases": rows});
    if let Some(dir) = args.out.parent() {
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    }
    std::fs::write(&args.out, serde_json::to_vec_pretty(&doc).expect("json"))
        .map_err(|e| e.to_string())?;
    eprintln!("wrote {}", args.out.display());
    Ok(())
}
