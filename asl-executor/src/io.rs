//! Input and output processing: InputPath → Parameters → (task) → ResultSelector → ResultPath →
//! OutputPath. Payload templates resolve `key.$` fields against the input or the context object.

use serde_json::{Map, Value};

use crate::definition::PathOrNull;
use crate::path::RefPath;

/// A failure of input/output processing: the execution fails with `States.Runtime`.
#[derive(Debug, Clone, PartialEq)]
pub struct IoError(pub String);

fn get(path: &RefPath, input: &Value, context: &Value) -> Result<Value, IoError> {
    path.resolve(input, context).cloned().ok_or_else(|| {
        IoError(format!(
            "Invalid path '{path}': the path references an invalid value"
        ))
    })
}

/// InputPath and OutputPath: absent is `$`, null is `{}`.
pub fn select(path: &PathOrNull, input: &Value, context: &Value) -> Result<Value, IoError> {
    match path {
        PathOrNull::Absent => Ok(input.clone()),
        PathOrNull::Null => Ok(Value::Object(Map::new())),
        PathOrNull::Path(p) => get(p, input, context),
    }
}

/// Resolve a payload template (Parameters, ResultSelector).
pub fn template(tpl: &Value, input: &Value, context: &Value) -> Result<Value, IoError> {
    match tpl {
        Value::Object(m) => {
            let mut out = Map::new();
            for (k, v) in m {
                if let Some(key) = k.strip_suffix(".$") {
                    let path = RefPath::parse(v.as_str().unwrap_or_default()).map_err(IoError)?;
                    out.insert(key.to_string(), get(&path, input, context)?);
                } else {
                    out.insert(k.clone(), template(v, input, context)?);
                }
            }
            Ok(Value::Object(out))
        }
        Value::Array(a) => a
            .iter()
            .map(|x| template(x, input, context))
            .collect::<Result<_, _>>()
            .map(Value::Array),
        other => Ok(other.clone()),
    }
}

/// ResultPath: absent is `$` (the result replaces the input), null discards the result.
pub fn merge(result_path: &PathOrNull, raw_input: &Value, result: Value) -> Result<Value, IoError> {
    match result_path {
        PathOrNull::Absent => Ok(result),
        PathOrNull::Null => Ok(raw_input.clone()),
        PathOrNull::Path(p) => {
            let mut doc = raw_input.clone();
            p.set(&mut doc, result).map_err(IoError)?;
            Ok(doc)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn p(s: &str) -> PathOrNull {
        PathOrNull::Path(RefPath::parse(s).unwrap())
    }

    #[test]
    fn templates_resolve_input_and_context() {
        let ctx = json!({"Execution": {"Name": "exec-1"}});
        let input = json!({"run": {"job": "j"}});
        let tpl = json!({"kind": "training", "name.$": "$.run.job", "execution.$": "$$.Execution.Name",
                         "nested": {"all.$": "$"}});
        let out = template(&tpl, &input, &ctx).unwrap();
        assert_eq!(
            out,
            json!({"kind": "training", "name": "j", "execution": "exec-1", "nested": {"all": input}})
        );
        assert!(template(&json!({"x.$": "$.missing"}), &input, &ctx).is_err());
    }

    #[test]
    fn result_path_merges_discards_or_replaces() {
        let raw = json!({"a": 1});
        assert_eq!(
            merge(&p("$.r.s"), &raw, json!(2)).unwrap(),
            json!({"a": 1, "r": {"s": 2}})
        );
        assert_eq!(merge(&PathOrNull::Null, &raw, json!(2)).unwrap(), raw);
        assert_eq!(
            merge(&PathOrNull::Absent, &raw, json!(2)).unwrap(),
            json!(2)
        );
        assert_eq!(merge(&p("$"), &raw, json!(3)).unwrap(), json!(3));
        assert!(
            merge(&p("$.a.b"), &raw, json!(2)).is_err(),
            "cannot set inside a number"
        );
    }

    #[test]
    fn input_and_output_paths() {
        let ctx = json!({});
        let doc = json!({"a": {"b": 1}});
        assert_eq!(select(&p("$.a"), &doc, &ctx).unwrap(), json!({"b": 1}));
        assert_eq!(select(&PathOrNull::Null, &doc, &ctx).unwrap(), json!({}));
        assert!(select(&p("$.zz"), &doc, &ctx).is_err());
    }
}
