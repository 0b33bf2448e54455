//! What a run report shows: gathered by `gather`, drawn by `render`. Every section is a
//! `Result`: `Err` says what is missing and why, and the page says so instead of drawing.

use chrono::{DateTime, NaiveDate, Utc};
use retrain_core::payload::DataReport;

/// How the run ended, as the report names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Deployed,
    Rejected,
    WorseThanServing,
    MapeUnknown,
    MapeImplausible,
    TrainingFailed,
    DeadlinePassed,
    DeployFailed,
    Error,
}

impl Decision {
    /// The word the page and the tests use.
    pub fn label(self) -> &'static str {
        match self {
            Decision::Deployed => "deployed",
            Decision::Rejected => "rejected",
            Decision::WorseThanServing => "worse than the serving model",
            Decision::MapeUnknown => "MAPE unknown",
            Decision::MapeImplausible => "MAPE implausible",
            Decision::TrainingFailed => "training failed",
            Decision::DeadlinePassed => "deadline passed",
            Decision::DeployFailed => "deploy failed",
            Decision::Error => "error",
        }
    }
}

/// Tickets on one day of the training data: from files already trained on and from new files.
#[derive(Debug, Clone, PartialEq)]
pub struct Day {
    pub day: NaiveDate,
    pub old: u64,
    pub new: u64,
}

impl Day {
    pub fn total(&self) -> u64 {
        self.old + self.new
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct DailySeries {
    pub days: Vec<Day>,
    /// The drift baseline (`statistics/latest.json`) and the new files' mean, tickets a day.
    pub baseline_mean: Option<f64>,
    pub new_mean: Option<f64>,
    pub files_read: usize,
    pub new_files: usize,
    /// Set when not every file was read (the report's byte budget): what was left out.
    pub partial: Option<String>,
}

pub use retrain_core::predictions::{FoldPoint, Folds};

/// One registered version of the group: a past (or this) run.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryPoint {
    pub version: i64,
    pub trained_at: Option<DateTime<Utc>>,
    pub mape: Option<f64>,
    pub threshold: Option<f64>,
    /// The pipeline's decision (`deployed`, `rejected`, ...) as the version records it.
    pub decision: String,
    /// The registry's approval status now (a person may have approved it since).
    pub status: String,
    pub this_run: bool,
}

/// A state of the execution, from its history: every entry of it summed (the wait loop enters
/// CheckStatus again and again).
#[derive(Debug, Clone, PartialEq)]
pub struct StateSpan {
    pub name: String,
    /// Its first entry.
    pub entered: DateTime<Utc>,
    /// Time spent in its completed entries.
    pub seconds: f64,
    /// How many times it was entered.
    pub entries: u32,
    /// Entered and not exited: the state writing the report, or one cut off.
    pub running: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub execution: String,
    pub generated_at: DateTime<Utc>,
    pub decision: Decision,
    /// One sentence: why (the gate, the failure reason).
    pub reason: String,
    pub job: Option<String>,
    /// The job's seconds trained and billed (managed spot: fewer billed).
    pub billing: Option<retrain_core::payload::TrainingBilling>,
    pub mape: Option<f64>,
    pub threshold: f64,
    pub floor: f64,
    pub version_arn: Option<String>,
    pub serving_before: String,
    pub serving_after: String,
    /// Subjects of the alerts this run sent.
    pub alerts: Vec<String>,
    pub data: Option<DataReport>,
    pub states: Result<Vec<StateSpan>, String>,
    pub daily: Result<DailySeries, String>,
    pub folds: Result<Folds, String>,
    pub history: Result<Vec<HistoryPoint>, String>,
}
