//! The text of every alert. Subjects are the users' contract (they filter mail on them).

use crate::excerpt::clip;
use crate::live::LiveAccuracy;
use crate::payload::DataReport;

pub const SUBJECT_NEEDS_APPROVAL: &str = "Model Needs Manual Approval";
pub const SUBJECT_MAPE_UNKNOWN: &str = "Model MAPE Unknown - Manual Review Needed";
pub const SUBJECT_MAPE_IMPLAUSIBLE: &str = "Model MAPE Implausibly Low - Manual Review Needed";
pub const SUBJECT_TRAINING_FAILED: &str = "Model Retraining Failed";
pub const SUBJECT_DEADLINE: &str = "Model Retraining Timed Out";
pub const SUBJECT_DEPLOY_FAILED: &str = "Model Deployment Failed";
pub const SUBJECT_PIPELINE_ERROR: &str = "Model Retraining Pipeline Error";
pub const SUBJECT_DATA_DRIFT: &str = "Data Drift Detected";
pub const SUBJECT_DATA_UNUSABLE: &str = "Ticket Data Unusable - Retraining Skipped";
pub const SUBJECT_DATA_QUALITY: &str = "Ticket Data Quality Alert";
pub const SUBJECT_DATA_DUPLICATED: &str = "Ticket Data Duplicated - Retraining Skipped";
pub const SUBJECT_DOCUMENT_INVALID: &str = "Pipeline Document Invalid - Safe Default Used";
pub const SUBJECT_SERVING_DRIFT: &str = "Serving Model Drift Detected";
pub const SUBJECT_WORSE_THAN_SERVING: &str =
    "Model Worse Than Serving Model - Manual Approval Needed";

fn file_lines(report: &DataReport) -> String {
    let mut out = String::new();
    for f in &report.unusable_files {
        out.push_str(&format!("- {} (unusable): {}\n", f.key, f.reason));
    }
    let more = report.unusable_count as usize
        - report
            .unusable_files
            .len()
            .min(report.unusable_count as usize);
    if more > 0 {
        out.push_str(&format!("- ... and {more} more unusable files\n"));
    }
    for f in &report.files_with_bad_rows {
        out.push_str(&format!("- {} (bad rows): {}\n", f.key, f.reason));
    }
    for f in &report.ambiguous_dates {
        out.push_str(&format!("- {} (dates): {}\n", f.key, f.reason));
    }
    out
}

/// The new files hold no usable row: nothing was trained.
pub fn data_unusable(report: &DataReport) -> String {
    format!(
        "None of the {} new ticket files under bronze/ holds a usable row, so the model was not \
         retrained and nothing was changed: the serving model stays. Fix or remove these files; \
         the next run reads them again.\n\n{}",
        report.new_files,
        file_lines(report)
    )
}

/// The pipeline's own documents in the lake did not hold up; the run went on with safe defaults.
pub fn document_invalid(problems: &[String]) -> String {
    let lines: String = problems
        .iter()
        .take(crate::payload::MAX_LISTED_FILES)
        .map(|p| format!("- {}\n", clip(p, 500)))
        .collect();
    format!(
        "The pipeline's own documents in the lake do not hold up, so this run used safe defaults \
         instead of trusting them (a future trained_at would skip every run; a zero or negative \
         baseline would turn the drift check off). Fix or delete the document; a deploy rewrites \
         both.\n\n{lines}"
    )
}

/// Files under bronze/ are copies of others: nothing was trained (see [`crate::duplicates`]).
pub fn data_duplicated(duplicates: &[crate::duplicates::Duplicate]) -> String {
    let mut lines = String::new();
    for d in duplicates.iter().take(crate::payload::MAX_LISTED_FILES) {
        lines.push_str(&format!("- {} is a copy of {}\n", d.copy, d.of));
    }
    let more = duplicates
        .len()
        .saturating_sub(crate::payload::MAX_LISTED_FILES);
    if more > 0 {
        lines.push_str(&format!("- ... and {more} more copies\n"));
    }
    format!(
        "{} ticket files under bronze/ hold the same tickets as another file, so the model was not \
         retrained and nothing was changed: the serving model stays. The trainer reads every file \
         under bronze/, so it would count these tickets twice. Remove the copies (or the \
         originals); the next run trains.\n\n{lines}",
        duplicates.len()
    )
}

/// Too many bad rows (or unusable files) among the new data; training went on without them.
pub fn data_quality(report: &DataReport, alert_rate: f64) -> String {
    format!(
        "{} of {} new ticket rows are unusable ({}; alert above {:.1}%), {} of them dated outside \
         the plausible window; {} of {} new files hold no usable row. Training goes on with the \
         usable rows only.\n\n{}",
        report.bad_rows,
        report.rows + report.bad_rows,
        report
            .bad_row_rate
            .map(|r| format!("{:.1}%", r * 100.0))
            .unwrap_or_else(|| "n/a".into()),
        alert_rate * 100.0,
        report.out_of_window_rows,
        report.unusable_count,
        report.new_files,
        file_lines(report)
    )
}

/// The lines an alert gains when the run has a report: its S3 URI and, on AWS's commercial
/// partition, its page in the S3 console.
pub fn report_lines(uri: &str, console_url: Option<&str>) -> String {
    let mut lines = format!("\n\nRun report: {uri}");
    if let Some(url) = console_url {
        lines.push_str(&format!("\nOpen it in the S3 console: {url}"));
    }
    lines
}

pub fn needs_approval(
    mape: f64,
    threshold: f64,
    serving: &str,
    version_arn: &str,
    job: &str,
) -> String {
    format!(
        "New model exceeded MAPE threshold. MAPE: {mape:.1}%, Threshold: {threshold:.1}%. \
         Please review and approve manually.\n\n\
         Still serving: {serving}\n\
         New version (PendingManualApproval): {version_arn}\n\
         Training job: {job}\n\
         Approving the version in the model registry deploys it."
    )
}

pub fn mape_unknown(
    reason: &str,
    threshold: f64,
    serving: &str,
    version_arn: &str,
    job: &str,
) -> String {
    format!(
        "New model has no usable MAPE ({reason}); it was not deployed. Threshold: {threshold:.1}%. \
         Please review and approve manually.\n\n\
         Still serving: {serving}\n\
         New version (PendingManualApproval): {version_arn}\n\
         Training job: {job}"
    )
}

pub fn mape_implausible(
    mape: f64,
    floor: f64,
    serving: &str,
    version_arn: &str,
    job: &str,
) -> String {
    format!(
        "New model reports an implausibly low MAPE: {mape}% (plausibility floor {floor}%): \
         check the trainer's units and data. MAPE is a percentage (25 for 25%, not 0.25), over \
         daily counts. It was not deployed.\n\n\
         Still serving: {serving}\n\
         New version (PendingManualApproval): {version_arn}\n\
         Training job: {job}\n\
         Approving the version in the model registry deploys it."
    )
}

pub fn training_failed(job: &str, status: &str, reason: &str, serving: &str) -> String {
    let reason = clip(reason, MAX_ALERT_CAUSE_CHARS);
    format!(
        "Training job {job} ended {status}: {reason}\n\nStill serving: {serving}\nNothing was deployed."
    )
}

/// Why a spot job that SageMaker stopped at its MaxWaitTimeInSeconds did not train: no spare
/// capacity (or too many interruptions) within the wait, and what to do about it.
pub fn spot_wait_exceeded(given: Option<&str>) -> String {
    let given = given
        .filter(|g| !g.trim().is_empty())
        .map(|g| format!(" (SageMaker: {g})"))
        .unwrap_or_default();
    format!(
        "MaxWaitTimeExceeded: the managed spot training job did not finish within its max wait{given}: \
         no spare capacity, or interruptions, for the whole wait. Run again later, or on demand: \
         `retrain start --spot false` (or TrainingSpot=false in the stack)"
    )
}

pub fn deadline_passed(job: &str, elapsed: u64, serving: &str) -> String {
    format!(
        "Training job {job} was still running after {elapsed} s, past the run's deadline.\n\n\
         Still serving: {serving}\nNothing was deployed; the job was left as it is."
    )
}

pub fn deploy_failed(endpoint: &str, status: &str, reason: &str, serving: &str) -> String {
    format!(
        "The update of endpoint {endpoint} did not complete ({status}): {reason}\n\nServing now: {serving}"
    )
}

/// The longest cause a failure alert quotes: the execution's own cause may be up to 32,768
/// characters (Step Functions' limit); the alert stays readable and far inside SNS's 256 KiB.
pub const MAX_ALERT_CAUSE_CHARS: usize = 4000;

pub fn pipeline_error(execution: &str, error: &str, cause: &str, serving: &str) -> String {
    let (error, cause) = (clip(error, 200), clip(cause, MAX_ALERT_CAUSE_CHARS));
    format!(
        "Execution {execution} failed: {error}: {cause}\n\nStill serving: {serving}\n\
         Fix the cause, then redrive the execution from the Step Functions console."
    )
}

pub fn data_drift(report: &DataReport, threshold: f64) -> String {
    let fmt = |v: Option<f64>| v.map(|x| format!("{x:.1}")).unwrap_or_else(|| "n/a".into());
    format!(
        "Mean daily tickets moved from {} (last training data) to {} (new data), a change of {} \
         (threshold {:.0}%). Training goes on.\nNew files: {}, rows: {}, unreadable rows: {}.",
        fmt(report.baseline_mean),
        fmt(report.mean_daily_tickets),
        report
            .relative_change
            .map(|c| format!("{:.0}%", c * 100.0))
            .unwrap_or_else(|| "n/a".into()),
        threshold * 100.0,
        report.new_files,
        report.rows,
        report.bad_rows
    )
}

/// The serving model's live MAPE is at or over the threshold: which model, which days, how far.
/// The new model passed the MAPE gate but lost to the serving model on the same days: both MAPEs
/// and every day (date, tickets, serving forecast, new forecast).
pub fn worse_than_serving(
    check: &crate::champion::ChampionCheck,
    backtest_mape: f64,
    serving: &str,
    version_arn: &str,
    job: &str,
) -> String {
    let (first, last) = check
        .span()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .unwrap_or_default();
    let mut body = format!(
        "New model passed the MAPE threshold (backtest MAPE: {backtest_mape:.1}%) but is worse \
         than the serving model on the same days: on {first} to {last} ({} days) its MAPE is \
         {:.1}%, the serving model's {:.1}% (margin {}). The serving model stays. \
         Please review and approve manually.\n\n\
         Still serving: {serving}\n\
         New version (PendingManualApproval): {version_arn}\n\
         Training job: {job}\n\
         Approving the version in the model registry deploys it.\n\n\
         date, tickets, serving forecast, new forecast\n",
        check.days.len(),
        check.challenger_mape.unwrap_or_default(),
        check.serving_mape.unwrap_or_default(),
        crate::champion::margin_points(check.margin),
    );
    for d in &check.days {
        body.push_str(&format!(
            "{}, {}, {}, {}\n",
            d.date, d.actual, d.serving, d.challenger
        ));
    }
    body
}

pub fn serving_drift(live: &LiveAccuracy) -> String {
    let (first, last) = live
        .span()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .unwrap_or_default();
    let mut body = format!(
        "The serving model {} forecast the tickets of {first} to {last} with a MAPE of {:.1}% \
         (threshold {:.1}%) on endpoint {}. Its forecasts no longer follow the tickets that \
         arrive. Retraining goes on.\n\ndate, tickets, forecast\n",
        live.model.as_deref().unwrap_or("?"),
        live.mape.unwrap_or_default(),
        live.threshold,
        live.endpoint,
    );
    for d in &live.days {
        body.push_str(&format!("{}, {}, {}\n", d.date, d.actual, d.forecast));
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn approval_text_keeps_the_originals_sentence() {
        let body = needs_approval(25.3, 20.0, "prophet-model-v3", "arn:v4", "job-1");
        assert!(body.starts_with(
            "New model exceeded MAPE threshold. MAPE: 25.3%, Threshold: 20.0%. Please review and approve manually."
        ));
        assert!(body.contains("Still serving: prophet-model-v3"));
        assert!(body.contains("arn:v4"));
    }

    #[test]
    fn drift_text_has_both_means() {
        let r = DataReport {
            mean_daily_tickets: Some(160.0),
            baseline_mean: Some(100.0),
            relative_change: Some(0.6),
            ..Default::default()
        };
        let body = data_drift(&r, 0.5);
        assert!(
            body.contains("from 100.0") && body.contains("to 160.0") && body.contains("60%"),
            "{body}"
        );
    }
}
