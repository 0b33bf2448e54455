//! Error names and how `ErrorEquals` matches them.

pub const ALL: &str = "States.ALL";
pub const TASK_FAILED: &str = "States.TaskFailed";
pub const TIMEOUT: &str = "States.Timeout";
pub const RUNTIME: &str = "States.Runtime";
pub const NO_CHOICE: &str = "States.NoChoiceMatched";

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
