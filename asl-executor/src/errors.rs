//! Error names and how `ErrorEquals` matches them.

pub const ALL: &str = "States.ALL";
pub const TASK_FAILED: &str = "States.TaskFailed";
pub const TIMEOUT: &str = "States.Timeout";
pub const RUNTIME: &str = "States.Runtime";
pub const NO_CHOICE: &str = "States.NoChoiceMatched";
/// A payload over 256 KiB (see [`crate::exec::PAYLOAD_LIMIT_BYTES`]).
///
/// AWS's error-handling page calls it "a terminal error that cannot be caught by the
/// States.ALL error type". Histories recorded against AWS (LocalStack's AWS-validated
/// snapshots, `test_states_errors.snapshot.json`, March 2024) show two cases, and this executor
/// follows them:
/// - a Task whose *result* (the handler's return) is too large: the attempt fails
///   (LambdaFunctionFailed, error `States.DataLimitExceeded`) and the state's Catch applies,
///   `States.ALL` included; we let its Retry apply too, as to any failed attempt (not verified
///   against AWS);
/// - a state whose *output* (after ResultPath/OutputPath) or whose input after Parameters is
///   too large: the execution fails at once, no retrier or catcher runs (a Pass state's large
///   Result went straight to ExecutionFailed). This is the terminal case the page describes.
pub const DATA_LIMIT: &str = "States.DataLimitExceeded";

/// Does `pattern` (one entry of ErrorEquals) match the error `name`?
/// `States.Runtime` is never retried or caught, not even by `States.ALL`;
/// `States.TaskFailed` matches every error but `States.Timeout`.
pub fn matches(pattern: &str, name: &str) -> bool {
    if name == RUNTIME {
        return false;
    }
    pattern == name || pattern == ALL || (pattern == TASK_FAILED && name != TIMEOUT)
}

pub fn matches_any(list: &[String], name: &str) -> bool {
    list.iter().any(|p| matches(p, name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matching_rules() {
        assert!(matches("EndpointBusy", "EndpointBusy"));
        assert!(!matches("EndpointBusy", "AwsError"));
        assert!(matches(ALL, "AwsError"));
        assert!(matches(ALL, TIMEOUT));
        assert!(matches(TASK_FAILED, "AwsError"));
        assert!(!matches(TASK_FAILED, TIMEOUT));
        assert!(!matches(ALL, RUNTIME));
        assert!(!matches(RUNTIME, RUNTIME));
    }
}
