//! The project's benchmarks that need no AWS emulator, each beside its baseline, measured in the
//! same run on the same machine: the drift scan's throughput and memory (the worker's own
//! `count_daily` against Python's `csv` module and pandas on the same files), and the workers'
//! bootstrap sizes when an arm64 build exists. It folds in `coldstart-bench`'s and
//! `memory-bench`'s results when they are there, and writes a Markdown table to stdout and
//! `target/bench/results.json`.
//!
//! `bench --short` (CI) runs the same code on small inputs to prove the harness works; no figure
//! is asserted anywhere: a benchmark reports, tests decide.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use bench::measure::{machine, status_mb};
use clap::Parser;
use local::launcher::repo_root;
use local::scenario::{csv, daily_counts};
use retrain_core::tickets::{count_daily, DateWindow};
use serde_json::{json, Value};

#[derive(Parser)]
#[command(about = "Benchmarks beside their baselines: drift scan throughput, bootstrap sizes")]
struct Args {
    /// CI's short mode: 3 and 30 MB instead of 30 and 300 MB.
    #[arg(long)]
    short: bool,
    /// Where the JSON results go.
    #[arg(long, default_value = "target/bench/results.json")]
    out: PathBuf,
    /// Internal: scan one file in this process and print rows, seconds and peak RSS.
    #[arg(long, hide = true)]
    scan_file: Option<PathBuf>,
    /// Internal: only read the file's records with the csv crate (the scan's ceiling) and print
    /// rows, seconds and peak RSS.
    #[arg(long, hide = true)]
    csv_only_file: Option<PathBuf>,
}

const WORKERS: [&str; 5] = [
    "start-training",
    "check-status",
    "evaluate-mape",
    "deploy",
    "reject-and-alert",
];

/// Python's csv module doing what the worker does: normalise the header, find created_date,
/// count rows per calendar day.
const PY_CSV: &str = r#"
import csv, datetime, json, resource, sys, time
t = time.perf_counter()
counts, rows = {}, 0
with open(sys.argv[1], newline="", encoding="utf-8-sig") as f:
    r = csv.reader(f)
    header = [h.strip().lower().replace(" ", "_").replace("-", "_") for h in next(r)]
    col = header.index("created_date")
    for row in r:
        try:
            day = datetime.date.fromisoformat(row[col][:10])
        except (ValueError, IndexError):
            continue
        counts[day] = counts.get(day, 0) + 1
        rows += 1
print(json.dumps({"rows": rows, "seconds": time.perf_counter() - t,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"#;

/// pandas, as the users' trainer reads the same file.
const PY_PANDAS: &str = r#"
import json, resource, sys, time
import pandas as pd
t = time.perf_counter()
df = pd.read_csv(sys.argv[1], dtype=str)
df.columns = df.columns.str.strip().str.lower()
days = pd.to_datetime(df["created_date"], errors="coerce").dt.normalize()
counts = days.value_counts()
print(json.dumps({"rows": int(counts.sum()), "seconds": time.perf_counter() - t,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"#;

/// A ticket file of about `mb` MB in the sample layout (the users' format), made from the
/// sample series repeated.
fn write_tickets(path: &Path, mb: usize) -> std::io::Result<u64> {
    use std::io::Write;
    let series = daily_counts(
        chrono::NaiveDate::from_ymd_opt(2022, 11, 28).expect("date"),
        728,
        42,
        None,
    );
    let body = csv(&series, 42);
    let (header, rows) = body.split_once('\n').expect("a header");
    let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
    writeln!(f, "{header}")?;
    let mut written = 0usize;
    while written < mb * 1_000_000 {
        f.write_all(rows.as_bytes())?;
        written += rows.len();
    }
    f.flush()?;
    Ok(std::fs::metadata(path)?.len())
}

/// Run `cmd` and read the JSON line it prints.
fn measured(cmd: &mut Command) -> Result<Value, String> {
    let out = cmd.output().map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().last().unwrap_or_default();
    serde_json::from_str(line).map_err(|e| format!("{e}: {text}"))
}

/// Open `path`, count its rows with `count` and print rows, seconds and peak RSS (the JSON line
/// `measured` reads).
fn timed_here(
    path: &Path,
    count: impl FnOnce(std::io::BufReader<std::fs::File>) -> Result<u64, String>,
) -> Result<(), String> {
    let started = Instant::now();
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let rows = count(std::io::BufReader::new(file))?;
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{}",
        json!({"rows": rows, "seconds": seconds, "rss_mb": status_mb(None, "VmHWM:")})
    );
    Ok(())
}

fn scan_here(path: &Path) -> Result<(), String> {
    let window = DateWindow {
        earliest: chrono::NaiveDate::MIN,
        latest: chrono::NaiveDate::MAX,
    };
    timed_here(path, |file| Ok(count_daily(file, window)?.counts.rows))
}

/// The ceiling of any scan built on the csv crate: its records read, nothing else done.
fn csv_only_here(path: &Path) -> Result<(), String> {
    timed_here(path, |file| {
        let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(file);
        let mut record = csv::ByteRecord::new();
        let mut rows = 0u64;
        while reader
            .read_byte_record(&mut record)
            .map_err(|e| e.to_string())?
        {
            rows += u64::from(!record.is_empty());
        }
        Ok(rows)
    })
}

fn scan_section(mbs: &[usize], dir: &Path) -> Result<Vec<Value>, String> {
    let me = std::env::current_exe().map_err(|e| e.to_string())?;
    let python = repo_root().join(".venv-prophet/bin/python");
    if !python.exists() {
        return Err(format!(
            "{} is missing: run tools/setup.sh test",
            python.display()
        ));
    }
    let mut out = Vec::new();
    for &mb in mbs {
        let path = dir.join(format!("tickets-{mb}mb.csv"));
        let bytes = write_tickets(&path, mb).map_err(|e| e.to_string())?;
        let size_mb = bytes as f64 / 1e6;
        let rust = measured(Command::new(&me).arg("--scan-file").arg(&path))?;
        let csv_only = measured(Command::new(&me).arg("--csv-only-file").arg(&path))?;
        let py_csv = measured(Command::new(&python).args(["-c", PY_CSV]).arg(&path))?;
        let pandas = measured(Command::new(&python).args(["-c", PY_PANDAS]).arg(&path))?;
        for (name, v) in [("python_csv", &py_csv), ("pandas", &pandas)] {
            if v["rows"] != rust["rows"] {
                return Err(format!(
                    "{name} counted {} rows, the worker {}",
                    v["rows"], rust["rows"]
                ));
            }
        }
        let rate = |v: &Value| {
            json!({"mb_per_s": size_mb / v["seconds"].as_f64().unwrap_or(f64::NAN),
                                      "rss_mb": v["rss_mb"], "seconds": v["seconds"]})
        };
        out.push(
            json!({"input_mb": size_mb, "rows": rust["rows"], "rust": rate(&rust),
                        "csv_crate_only": rate(&csv_only),
                        "python_csv": rate(&py_csv), "pandas": rate(&pandas)}),
        );
        let _ = std::fs::remove_file(&path);
    }
    Ok(out)
}

fn bootstrap_sizes() -> Value {
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| repo_root().join("target"));
    let sizes: serde_json::Map<String, Value> = WORKERS
        .iter()
        .filter_map(|w| {
            let len = std::fs::metadata(target.join("lambda").join(w).join("bootstrap"))
                .ok()?
                .len();
            Some((w.to_string(), json!(len)))
        })
        .collect();
    Value::Object(sizes)
}

/// The cost of a weekly run that deploys, for a 30- and a 60-minute training job (a 10-minute
/// endpoint update, 60 s polls), every invocation billed as a cold start (init + first invoke of
/// `coldstart-bench`, 128 MB arm64; 100 ms when not measured), beside the original design.
fn cost_section(coldstart: &Value) -> Result<Value, String> {
    use local::cost::{cost, deploying_path, deploying_run, Prices};
    let prices: Prices =
        serde_json::from_str(retrain_core::bill::PRICES).map_err(|e| e.to_string())?;
    let ms_of = |worker: &str| {
        coldstart["workers"]
            .as_array()
            .and_then(|ws| ws.iter().find(|w| w["name"] == worker))
            .and_then(|w| Some(w["rust"]["init_ms"].as_f64()? + w["rust"]["invoke_ms"].as_f64()?))
            .filter(|ms| ms.is_finite())
            .unwrap_or(100.0)
    };
    println!("\n## Cost of a weekly run that deploys (us-east-1 list prices, no free tier)\n");
    println!("| training job | state transitions | Lambda invocations | Lambda | Step Functions | this design | the original (256 MB Lambda held through training, max 15 min) | original / this |");
    println!("|---|---|---|---|---|---|---|---|");
    let mut runs = Vec::new();
    for minutes in [30u64, 60] {
        let path = deploying_run(minutes * 60, 600, 60);
        let c = cost(&path, ms_of, minutes * 60, &prices);
        println!(
            "| {minutes} min | {} | {} | ${:.6} | ${:.6} | ${:.6} | ${:.6}{} | {:.1}x |",
            c.transitions,
            c.invocations,
            c.lambda_usd,
            c.step_functions_usd,
            c.total_usd,
            c.original_usd,
            if minutes * 60 > 900 {
                " (times out at 15 min)"
            } else {
                ""
            },
            c.original_usd / c.total_usd
        );
        runs.push(
            json!({"training_minutes": minutes, "transitions": c.transitions,
                         "invocations": c.invocations, "lambda_usd": c.lambda_usd,
                         "step_functions_usd": c.step_functions_usd, "run_usd": c.total_usd,
                         "original_usd": c.original_usd,
                         "lambda_only_ratio": c.original_usd / c.lambda_usd}),
        );
    }
    // The floor of any run through this machine: every state on the deploying path entered
    // once, as if each wait had been exactly long enough (no second check).
    let floor = cost(&deploying_path(1, 1), ms_of, 30 * 60, &prices);
    println!(
        "| floor: every state once, no second check | {} | {} | ${:.6} | ${:.6} | ${:.6} | ${:.6} | {:.1}x |",
        floor.transitions,
        floor.invocations,
        floor.lambda_usd,
        floor.step_functions_usd,
        floor.total_usd,
        floor.original_usd,
        floor.original_usd / floor.total_usd
    );
    // What a run 100x cheaper than the original may cost, in state transitions.
    let transitions_for_100x =
        floor.original_usd / 100.0 / prices.step_functions_standard_per_transition_usd;
    println!(
        "\nA run 100x cheaper than the original may cost ${:.7}: {:.1} state transitions at \
         ${}/transition, fewer than the {} of the floor.",
        floor.original_usd / 100.0,
        transitions_for_100x,
        prices.step_functions_standard_per_transition_usd,
        floor.transitions
    );
    Ok(
        json!({"runs": runs, "run_usd": runs[0]["run_usd"], "original_usd": runs[0]["original_usd"],
              "floor": {"transitions": floor.transitions, "invocations": floor.invocations,
                        "run_usd": floor.total_usd, "original_usd": floor.original_usd},
              "transitions_for_100x": transitions_for_100x}),
    )
}

fn main() -> Result<(), String> {
    let args = Args::parse();
    if let Some(path) = args.scan_file {
        return scan_here(&path);
    }
    if let Some(path) = args.csv_only_file {
        return csv_only_here(&path);
    }
    let dir = args.out.parent().unwrap_or(Path::new(".")).to_path_buf();
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let mbs: &[usize] = if args.short { &[3, 30] } else { &[30, 300] };
    let build = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    eprintln!("drift scan on {mbs:?} MB ({build} build)...");
    let scan = scan_section(mbs, &dir)?;

    println!(
        "## Drift scan: tickets counted per day ({build} build, {})\n",
        machine()
    );
    println!(
        "| input | worker (csv crate) | csv crate, records only | Python csv | pandas | worker / csv | worker / pandas | worker / records only |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for s in &scan {
        let f = |k: &str, m: &str| s[k][m].as_f64().unwrap_or(f64::NAN);
        let input = s["input_mb"].as_f64().unwrap_or(f64::NAN);
        println!(
            "| {:.0} MB ({} rows) | {:.0} MB/s, {:.0} MB RSS | {:.0} MB/s | {:.0} MB/s, {:.0} MB RSS | {:.0} MB/s, {:.0} MB RSS | {:.1}x | {:.1}x | {:.2} |",
            input, s["rows"],
            f("rust", "mb_per_s"), f("rust", "rss_mb"),
            f("csv_crate_only", "mb_per_s"),
            f("python_csv", "mb_per_s"), f("python_csv", "rss_mb"),
            f("pandas", "mb_per_s"), f("pandas", "rss_mb"),
            f("rust", "mb_per_s") / f("python_csv", "mb_per_s"),
            f("rust", "mb_per_s") / f("pandas", "mb_per_s"),
            f("rust", "mb_per_s") / f("csv_crate_only", "mb_per_s"),
        );
    }
    let sizes = bootstrap_sizes();
    if let Some(m) = sizes.as_object().filter(|m| !m.is_empty()) {
        println!("\n## Bootstrap sizes (target/lambda, arm64 release)\n");
        println!("| worker | bytes |\n|---|---|");
        for (w, n) in m {
            println!("| {w} | {n} |");
        }
    }
    let memory: Value = std::fs::read(dir.join("memory.json"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or(Value::Null);
    let coldstart: Value = std::fs::read(dir.join("coldstart.json"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or(Value::Null);
    let cost = cost_section(&coldstart)?;
    let doc = json!({"machine": machine(), "build": build, "short": args.short,
                     "workers": coldstart["workers"], "scan": scan, "cost": cost,
                     "bootstrap_bytes": sizes, "memory": memory});
    std::fs::write(&args.out, serde_json::to_vec_pretty(&doc).expect("json"))
        .map_err(|e| e.to_string())?;
    eprintln!("wrote {}", args.out.display());
    Ok(())
}
