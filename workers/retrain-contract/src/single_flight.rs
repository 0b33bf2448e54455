//! Single-flight: one run at a time trains or deploys. A run that starts while another execution
//! of the same state machine is running, and whose turn comes after it, does not train: it ends
//! skipped (a scheduled or manual run) or waits (an approval, so a person's decision is not lost).
//!
//! An execution's turn is its start, or its last redrive when it was redriven (a redriven run
//! rejoins the queue at the back), ties broken by ARN; so of any set of runs exactly one goes
//! ahead, whichever order they ask in.

use chrono::{DateTime, Utc};

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

/// The reason a run that is not its turn gives.
pub fn skip_reason(other: &RunningExecution) -> String {
    format!("another run is in progress: {}", other.name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};

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
        assert_eq!(skip_reason(blocked), "another run is in progress: r4");
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
