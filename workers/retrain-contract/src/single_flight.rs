//! Single-flight: one run at a time trains or deploys. A run that starts while another execution
//! of the same state machine is running, and whose turn comes after it, does not train: it ends
//! skipped (a scheduled or manual run) or waits (an approval, so a person's decision is not lost).
//!
//! An execution's turn is its start, or its last redrive when it was redriven (a redriven run
//! rejoins the queue at the back), ties broken by ARN; so of any set of runs exactly one goes
//! ahead, whichever order they ask in.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A running execution of the state machine, as ListExecutions lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct RunningExecution {
    pub arn: String,
    pub name: String,
    pub start: DateTime<Utc>,
    pub redrive: Option<DateTime<Utc>>,
}

impl RunningExecution {
    fn turn(&self) -> (DateTime<Utc>, &str) {
        (self.redrive.unwrap_or(self.start), &self.arn)
    }
}

/// The running execution ahead of execution `me` (the earliest), if any. `me` is found in
/// `running` by ARN; when the listing does not show it yet (ListExecutions is eventually
/// consistent), its turn is `my_start`.
pub fn ahead_of<'a>(
    me: &str,
    my_start: DateTime<Utc>,
    running: &'a [RunningExecution],
) -> Option<&'a RunningExecution> {
    let mine = running
        .iter()
        .find(|r| r.arn == me)
        .map(|r| r.redrive.unwrap_or(r.start))
        .unwrap_or(my_start);
    running
        .iter()
        .filter(|r| r.arn != me && r.turn() < (mine, me))
        .min_by(|a, b| a.turn().cmp(&b.turn()))
}

/// The reason a run that is not its turn gives: execution `other` is ahead of it or holds the
/// lease.
pub fn busy_reason(other: &str) -> String {
    format!("another run is in progress: {other}")
}

/// ListExecutions is eventually consistent: two runs started within a second of each other can
/// each list itself alone. The lease is what makes single-flight strict: one S3 object, written
/// only with a condition (`If-None-Match: *` when there is none, `If-Match: <its ETag>` to take
/// over from a holder that has ended), so of any set of runs exactly one writes it. It names the
/// holding execution; nobody releases it: a lease whose holder is no longer RUNNING
/// (DescribeExecution, strongly consistent for one execution) is free to take over.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Lease {
    /// The holding execution's ARN.
    pub holder: String,
    /// Its name, for reasons and alerts.
    pub execution: String,
    pub taken_at: DateTime<Utc>,
}

/// What a run does about the lease, given what it read.
#[derive(Debug, Clone, PartialEq)]
pub enum LeaseStep {
    /// No lease: write one if none exists (`If-None-Match: *`).
    Take,
    /// This execution holds it (a retry or redrive of the run that took it): go ahead.
    Mine,
    /// Held by an execution that has ended: write over it if it is unchanged (`If-Match`).
    TakeOver,
    /// Held by a running execution (named): this run does not go ahead.
    Held { execution: String },
}

/// The step for execution `me`, given the lease as read and, when another execution holds it,
/// whether that execution is still running (`None`: not asked yet).
pub fn lease_step(lease: Option<&Lease>, me: &str, holder_running: Option<bool>) -> LeaseStep {
    match lease {
        None => LeaseStep::Take,
        Some(l) if l.holder == me => LeaseStep::Mine,
        Some(_) if holder_running == Some(false) => LeaseStep::TakeOver,
        Some(l) => LeaseStep::Held {
            execution: l.execution.clone(),
        },
    }
}

/// An execution's place in the queue: its start, or its last redrive when it was redriven.
/// Measured from there, an approval redriven after waiting its longest gets a full wait again
/// (`$$.Execution.StartTime` keeps the original start across redrives).
pub fn turn_start(start: DateTime<Utc>, redrive: Option<DateTime<Utc>>) -> DateTime<Utc> {
    redrive.map_or(start, |r| r.max(start))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};

    fn lease(holder: &str) -> Lease {
        Lease {
            holder: format!("arn:x:{holder}"),
            execution: holder.into(),
            taken_at: t(0),
        }
    }

    #[test]
    fn the_lease_is_taken_kept_taken_over_or_respected() {
        assert_eq!(lease_step(None, "arn:x:me", None), LeaseStep::Take);
        let mine = lease("me");
        assert_eq!(lease_step(Some(&mine), "arn:x:me", None), LeaseStep::Mine);
        let other = lease("other");
        let held = LeaseStep::Held {
            execution: "other".into(),
        };
        assert_eq!(lease_step(Some(&other), "arn:x:me", None), held);
        assert_eq!(lease_step(Some(&other), "arn:x:me", Some(true)), held);
        assert_eq!(
            lease_step(Some(&other), "arn:x:me", Some(false)),
            LeaseStep::TakeOver
        );
    }

    #[test]
    fn a_redrive_restarts_the_turn() {
        assert_eq!(turn_start(t(0), None), t(0));
        assert_eq!(turn_start(t(0), Some(t(500))), t(500));
    }

    fn t(s: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 1, 9, 0, 0).unwrap() + Duration::seconds(s)
    }

    fn run(name: &str, start: i64, redrive: Option<i64>) -> RunningExecution {
        RunningExecution {
            arn: format!("arn:aws:states:us-east-1:1:execution:m:{name}"),
            name: name.into(),
            start: t(start),
            redrive: redrive.map(t),
        }
    }

    #[test]
    fn of_overlapping_runs_exactly_one_goes_ahead() {
        let running: Vec<_> = (0..5)
            .map(|i| run(&format!("r{i}"), 10 - i, None))
            .collect();
        let going: Vec<_> = running
            .iter()
            .filter(|r| ahead_of(&r.arn, r.start, &running).is_none())
            .map(|r| r.name.as_str())
            .collect();
        assert_eq!(going, ["r4"], "the earliest start goes ahead");
        let blocked = ahead_of(&running[0].arn, running[0].start, &running).unwrap();
        assert_eq!(blocked.name, "r4", "the earliest is named");
        assert_eq!(busy_reason(&blocked.name), "another run is in progress: r4");
    }

    #[test]
    fn equal_starts_are_ordered_by_arn() {
        let running = vec![run("b", 0, None), run("a", 0, None)];
        assert!(ahead_of(&running[1].arn, t(0), &running).is_none());
        assert_eq!(ahead_of(&running[0].arn, t(0), &running).unwrap().name, "a");
    }

    #[test]
    fn a_redriven_run_queues_behind_runs_started_before_its_redrive() {
        // "old" started first, failed, and was redriven after "new" started.
        let running = vec![run("old", 0, Some(100)), run("new", 50, None)];
        assert_eq!(
            ahead_of(&running[0].arn, t(0), &running).unwrap().name,
            "new"
        );
        assert!(ahead_of(&running[1].arn, t(50), &running).is_none());
    }

    #[test]
    fn alone_or_unlisted() {
        let me = run("me", 10, None);
        assert!(ahead_of(&me.arn, me.start, std::slice::from_ref(&me)).is_none());
        // Not listed yet: its own start decides.
        let other = run("other", 5, None);
        assert_eq!(
            ahead_of(&me.arn, me.start, std::slice::from_ref(&other))
                .unwrap()
                .name,
            "other"
        );
        assert!(ahead_of(&me.arn, t(1), std::slice::from_ref(&other)).is_none());
    }
}
