//! Who calls: a worker (its Lambda function, or the local harness) and the operations it declares.

use super::ops::Operation;

/// Who calls: a worker (its Lambda function) and every AWS operation it may call.
#[derive(Debug)]
pub struct Worker {
    /// The worker crate, the ASL resource placeholder's worker and the function's CodeUri.
    pub name: &'static str,
    pub operations: &'static [Operation],
}

impl Worker {
    /// The IAM actions the worker's policy must allow, sorted, without repeats.
    pub fn iam_actions(&self) -> Vec<&'static str> {
        let mut out: Vec<&'static str> = self
            .operations
            .iter()
            .flat_map(|o| o.iam_actions.iter().copied())
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    pub fn declares(&self, service: &str, operation: &str) -> bool {
        self.operations
            .iter()
            .any(|o| o.service == service && o.name == operation)
    }
}
