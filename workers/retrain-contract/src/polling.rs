//! How often the wait loops check: the run's `poll_seconds` at first, then a twentieth of the
//! time already waited, at most five minutes. Every check costs Step Functions about nine history
//! events (Wait, Task, Choice: entered and exited, the Lambda scheduled, started, succeeded), and
//! an execution fails past 25,000: a fixed one-second poll would reach that limit after under an
//! hour, while the longest job the pipeline allows (24 h + 30 min of slack) and an endpoint
//! update (90 min) take a few hundred checks this way.

/// Wait at least a twentieth of the time already spent.
pub const GROWTH_DIVISOR: u64 = 20;
/// The longest wait between two checks (unless the run's own poll is longer).
pub const MAX_POLL_SECONDS: u64 = 300;
/// Step Functions history events each check of a wait loop writes.
pub const HISTORY_EVENTS_PER_CHECK: u64 = 9;

/// The wait before the next check, `elapsed` seconds into the wait for something.
pub fn next_poll_seconds(poll_seconds: u64, elapsed: u64) -> u64 {
    let poll = poll_seconds.max(1);
    (elapsed / GROWTH_DIVISOR).clamp(poll, MAX_POLL_SECONDS.max(poll))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// How many checks a wait of `deadline` seconds takes at most, polling from `poll_seconds`.
    fn checks_until(poll_seconds: u64, deadline: u64) -> u64 {
        let (mut t, mut checks) = (poll_seconds.max(1), 0);
        while t <= deadline {
            checks += 1;
            t += next_poll_seconds(poll_seconds, t);
        }
        checks + 1
    }

    #[test]
    fn the_poll_starts_at_the_runs_own_and_grows_to_five_minutes() {
        assert_eq!(next_poll_seconds(1, 0), 1);
        assert_eq!(next_poll_seconds(60, 600), 60);
        assert_eq!(next_poll_seconds(60, 2400), 120);
        assert_eq!(next_poll_seconds(1, 86_400), 300);
        assert_eq!(
            next_poll_seconds(900, 86_400),
            900,
            "a longer own poll stays"
        );
        assert_eq!(next_poll_seconds(0, 0), 1);
    }

    #[test]
    fn the_longest_run_stays_far_inside_the_history_limit() {
        // Training to the deadline of the longest job, then an endpoint update to its deadline,
        // polling every second from the start: the worst case a run can ask for.
        let training = checks_until(1, 86_400 + 1_800);
        let endpoint = checks_until(1, 5_400);
        let events = (training + endpoint) * HISTORY_EVENTS_PER_CHECK;
        assert!(
            events < 10_000,
            "{training} + {endpoint} checks: {events} events"
        );
    }
}
