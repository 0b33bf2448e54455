//! JSON helpers shared by the payloads and the input normalisation.

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::{Result, WorkerError};

/// Deserialize, naming the field that does not fit (`training.instance_count: invalid type ...`).
pub fn deserialize_named<T: DeserializeOwned>(value: Value) -> Result<T> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let reason = e.into_inner().to_string();
        // A missing field is reported at its parent: name the field itself.
        let missing = reason
            .strip_prefix("missing field `")
            .and_then(|r| r.split('`').next())
            .map(str::to_string);
        let field = match (path.as_str(), missing) {
            (".", Some(m)) => m,
            (".", None) => "input".to_string(),
            (p, Some(m)) => format!("{p}.{m}"),
            (p, None) => p.to_string(),
        };
        WorkerError::invalid(field, reason)
    })
}
