//! EventBridge's input transformer, run as EventBridge runs it: each `<var>` of the template is
//! replaced by text. A string extracted by its input path goes in as it is, unescaped, quotes
//! and backslashes and newlines included; any other value goes in as its JSON. Nothing checks
//! that the result is JSON: a target given text that is not JSON is not invoked (the event goes
//! to the rule's dead-letter queue). So a template must never put a `<var>` that can hold an
//! arbitrary string inside a JSON string.

use std::collections::BTreeMap;

use serde_json::Value;

/// One rule target's `InputTransformer`.
#[derive(Debug, Clone, PartialEq)]
pub struct InputTransformer {
    /// Variable → JSON path (`$.detail.name`): dot notation, as EventBridge supports it.
    pub paths: BTreeMap<String, String>,
    pub template: String,
}

/// The value at a dot-notation path (`$`, `$.a.b`), if any.
pub fn extract<'a>(event: &'a Value, path: &str) -> Option<&'a Value> {
    let rest = path.strip_prefix('$')?;
    rest.split('.')
        .filter(|p| !p.is_empty())
        .try_fold(event, |v, key| v.get(key))
}

impl InputTransformer {
    /// The text the target receives for `event`. A path that matches nothing leaves its
    /// variable empty.
    pub fn apply(&self, event: &Value) -> String {
        let mut out = self.template.clone();
        for (var, path) in &self.paths {
            let text = match extract(event, path) {
                None | Some(Value::Null) => String::new(),
                Some(Value::String(s)) => s.clone(),
                Some(other) => other.to_string(),
            };
            out = out.replace(&format!("<{var}>"), &text);
        }
        out
    }

    /// What the target is invoked with: the text parsed as JSON, or why EventBridge would not
    /// deliver it.
    pub fn deliver(&self, event: &Value) -> Result<Value, String> {
        let text = self.apply(event);
        serde_json::from_str(&text).map_err(|e| {
            format!(
                "the transformed input is not JSON ({e}); EventBridge sends the event to the dead-letter queue instead"
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn transformer(template: &str) -> InputTransformer {
        InputTransformer {
            paths: BTreeMap::from([
                ("cause".to_string(), "$.detail.cause".to_string()),
                ("detail".to_string(), "$.detail".to_string()),
            ]),
            template: template.to_string(),
        }
    }

    #[test]
    fn a_string_goes_in_unescaped_and_an_object_as_json() {
        let event = json!({"detail": {"cause": "say \"hi\"\\n", "n": 1}});
        let quoted = transformer(r#"{"c": "<cause>"}"#);
        assert_eq!(quoted.apply(&event), r#"{"c": "say "hi"\n"}"#);
        assert!(quoted.deliver(&event).is_err(), "quotes break it");
        let whole = transformer(r#"{"d": <detail>}"#);
        assert_eq!(
            whole.deliver(&event).unwrap(),
            json!({"d": {"cause": "say \"hi\"\\n", "n": 1}})
        );
    }
}
