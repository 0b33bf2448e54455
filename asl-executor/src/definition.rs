//! Loading a definition: the states our pipeline uses, every field checked, and the checks AWS
//! makes when a state machine is created (targets exist, every state reachable, terminal states).

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

use crate::choice::Rule;
use crate::path::RefPath;

#[derive(Debug, thiserror::Error, PartialEq)]
#[error("invalid definition: {0}")]
pub struct LoadError(pub String);

fn err<T>(msg: impl Into<String>) -> Result<T, LoadError> {
    Err(LoadError(msg.into()))
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
struct RawDefinition {
    #[serde(default)]
    comment: Option<String>,
    start_at: String,
    states: BTreeMap<String, Value>,
    #[serde(default, deserialize_with = "timeout_seconds")]
    timeout_seconds: Option<u64>,
    #[serde(default)]
    version: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct Retrier {
    pub error_equals: Vec<String>,
    #[serde(default = "one", deserialize_with = "interval_seconds")]
    pub interval_seconds: f64,
    #[serde(default = "three", deserialize_with = "max_attempts")]
    pub max_attempts: u32,
    #[serde(default = "two", deserialize_with = "backoff_rate")]
    pub backoff_rate: f64,
    #[serde(default, deserialize_with = "max_delay_seconds")]
    pub max_delay_seconds: Option<f64>,
    #[serde(default)]
    pub jitter_strategy: Option<Jitter>,
    #[serde(default)]
    pub comment: Option<String>,
}

// Numeric fields, checked as AWS checks them when a state machine is created, each error
// naming its field (parse_state adds the state). What the ASL spec (states-language.net/spec.html)
// and AWS's guide say, as remembered and, for Wait, checked against the AWS guide:
// - TimeoutSeconds (the machine's and a Task's): a positive integer (not 0, not 1.5).
// - HeartbeatSeconds: a positive integer below TimeoutSeconds; this executor does not support it
//   at all (deny_unknown_fields refuses it, naming the field), as no handler sends heartbeats.
// - Retrier IntervalSeconds: a positive integer (default 1); MaxAttempts: a non-negative integer,
//   0 meaning never retry (default 3), AWS caps it at 99,999,999; BackoffRate: a number >= 1.0
//   (default 2.0); MaxDelaySeconds: a positive integer.
// - Wait Seconds: an integer from 0 up to 99,999,999 (AWS's Wait state page): 0 is allowed.
// A whole number written as a float (`60.0`) is refused: the spec says integer, and what AWS
// does with one is not verified.

/// A whole number in `min..=max`, or an error naming `field`.
fn whole<'de, D: serde::Deserializer<'de>>(
    d: D,
    field: &str,
    min: u64,
    max: u64,
) -> Result<u64, D::Error> {
    let v = Value::deserialize(d)?;
    match v.as_u64() {
        Some(n) if (min..=max).contains(&n) => Ok(n),
        _ => {
            let kind = match (min, max) {
                (0, u64::MAX) => "a non-negative integer".to_string(),
                (1, u64::MAX) => "a positive integer".to_string(),
                _ => format!("an integer from {min} to {max}"),
            };
            Err(serde::de::Error::custom(format!(
                "{field} must be {kind}, not {v}"
            )))
        }
    }
}

fn timeout_seconds<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    whole(d, "TimeoutSeconds", 1, u64::MAX).map(Some)
}

fn wait_seconds<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    whole(d, "Seconds", 0, 99_999_999).map(Some)
}

fn interval_seconds<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    whole(d, "IntervalSeconds", 1, u64::MAX).map(|n| n as f64)
}

fn max_delay_seconds<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    whole(d, "MaxDelaySeconds", 1, u64::MAX).map(|n| Some(n as f64))
}

fn max_attempts<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    whole(d, "MaxAttempts", 0, 99_999_999).map(|n| n as u32)
}

fn backoff_rate<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    let v = Value::deserialize(d)?;
    match v.as_f64() {
        Some(r) if r >= 1.0 => Ok(r),
        _ => Err(serde::de::Error::custom(format!(
            "BackoffRate must be a number of at least 1.0, not {v}"
        ))),
    }
}

/// A Wait timestamp as AWS takes it: RFC 3339 with an uppercase `T` (and `Z` for UTC);
/// milliseconds are truncated, as AWS truncates them.
pub fn parse_timestamp(s: &str) -> Option<DateTime<Utc>> {
    if !s.contains('T') {
        return None;
    }
    let t = DateTime::parse_from_rfc3339(s).ok()?.with_timezone(&Utc);
    DateTime::from_timestamp(t.timestamp(), 0)
}

fn timestamp<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
    let s = String::deserialize(d)?;
    parse_timestamp(&s).map(Some).ok_or_else(|| {
        serde::de::Error::custom(format!(
            "Timestamp must be an RFC 3339 time like 2024-08-18T17:33:00Z, not `{s}`"
        ))
    })
}

fn one() -> f64 {
    1.0
}
fn three() -> u32 {
    3
}
fn two() -> f64 {
    2.0
}

#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Jitter {
    Full,
    None,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct Catcher {
    pub error_equals: Vec<String>,
    pub next: String,
    #[serde(default, deserialize_with = "nullable_path")]
    pub result_path: PathOrNull,
    #[serde(default)]
    pub comment: Option<String>,
}

/// A path field that may be absent (default `$`) or `null` (discard / empty object).
#[derive(Debug, Clone, PartialEq, Default)]
pub enum PathOrNull {
    #[default]
    Absent,
    Null,
    Path(RefPath),
}

fn nullable_path<'de, D: serde::Deserializer<'de>>(d: D) -> Result<PathOrNull, D::Error> {
    let v = Value::deserialize(d)?;
    match v {
        Value::Null => Ok(PathOrNull::Null),
        Value::String(s) => RefPath::parse(&s)
            .map(PathOrNull::Path)
            .map_err(serde::de::Error::custom),
        other => Err(serde::de::Error::custom(format!(
            "a path must be a string or null, not {other}"
        ))),
    }
}

fn path<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<RefPath>, D::Error> {
    let s = String::deserialize(d)?;
    RefPath::parse(&s)
        .map(Some)
        .map_err(serde::de::Error::custom)
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct TaskState {
    pub resource: String,
    #[serde(default)]
    pub parameters: Option<Value>,
    #[serde(default)]
    pub result_selector: Option<Value>,
    #[serde(default, deserialize_with = "nullable_path")]
    pub result_path: PathOrNull,
    #[serde(default)]
    pub retry: Vec<Retrier>,
    #[serde(default)]
    pub catch: Vec<Catcher>,
    #[serde(default, deserialize_with = "timeout_seconds")]
    pub timeout_seconds: Option<u64>,
    #[serde(default, deserialize_with = "nullable_path")]
    pub input_path: PathOrNull,
    #[serde(default, deserialize_with = "nullable_path")]
    pub output_path: PathOrNull,
    #[serde(default)]
    pub next: Option<String>,
    #[serde(default)]
    pub end: Option<bool>,
    #[serde(default)]
    pub comment: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct PassState {
    #[serde(default)]
    pub result: Option<Value>,
    #[serde(default)]
    pub parameters: Option<Value>,
    #[serde(default, deserialize_with = "nullable_path")]
    pub result_path: PathOrNull,
    #[serde(default, deserialize_with = "nullable_path")]
    pub input_path: PathOrNull,
    #[serde(default, deserialize_with = "nullable_path")]
    pub output_path: PathOrNull,
    #[serde(default)]
    pub next: Option<String>,
    #[serde(default)]
    pub end: Option<bool>,
    #[serde(default)]
    pub comment: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct WaitState {
    #[serde(default, deserialize_with = "wait_seconds")]
    pub seconds: Option<u64>,
    #[serde(default, deserialize_with = "path")]
    pub seconds_path: Option<RefPath>,
    #[serde(default, deserialize_with = "timestamp")]
    pub timestamp: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "path")]
    pub timestamp_path: Option<RefPath>,
    #[serde(default, deserialize_with = "nullable_path")]
    pub input_path: PathOrNull,
    #[serde(default, deserialize_with = "nullable_path")]
    pub output_path: PathOrNull,
    #[serde(default)]
    pub next: Option<String>,
    #[serde(default)]
    pub end: Option<bool>,
    #[serde(default)]
    pub comment: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
struct RawChoiceState {
    choices: Vec<Value>,
    #[serde(default)]
    default: Option<String>,
    #[serde(default, deserialize_with = "nullable_path")]
    input_path: PathOrNull,
    #[serde(default, deserialize_with = "nullable_path")]
    output_path: PathOrNull,
    #[serde(default, rename = "Comment")]
    _comment: Option<String>,
}

#[derive(Debug, Clone)]
pub struct ChoiceState {
    /// (rule, Next) in order.
    pub choices: Vec<(Rule, String)>,
    pub default: Option<String>,
    pub input_path: PathOrNull,
    pub output_path: PathOrNull,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct SucceedState {
    #[serde(default, deserialize_with = "nullable_path")]
    pub input_path: PathOrNull,
    #[serde(default, deserialize_with = "nullable_path")]
    pub output_path: PathOrNull,
    #[serde(default)]
    pub comment: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct FailState {
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub cause: Option<String>,
    #[serde(default, deserialize_with = "path")]
    pub error_path: Option<RefPath>,
    #[serde(default, deserialize_with = "path")]
    pub cause_path: Option<RefPath>,
    #[serde(default)]
    pub comment: Option<String>,
}

#[derive(Debug, Clone)]
pub enum State {
    Task(TaskState),
    Pass(PassState),
    Wait(WaitState),
    Choice(ChoiceState),
    Succeed(SucceedState),
    Fail(FailState),
}

impl State {
    /// Where the state goes next (None: it ends the execution).
    pub fn next(&self) -> Option<&str> {
        match self {
            State::Task(s) => s.next.as_deref(),
            State::Pass(s) => s.next.as_deref(),
            State::Wait(s) => s.next.as_deref(),
            _ => None,
        }
    }

    fn targets(&self) -> Vec<&str> {
        let mut t: Vec<&str> = self.next().into_iter().collect();
        match self {
            State::Task(s) => t.extend(s.catch.iter().map(|c| c.next.as_str())),
            State::Choice(c) => {
                t.extend(c.choices.iter().map(|(_, n)| n.as_str()));
                t.extend(c.default.as_deref());
            }
            _ => {}
        }
        t
    }
}

#[derive(Debug, Clone)]
pub struct Definition {
    pub start_at: String,
    pub states: HashMap<String, State>,
    pub timeout_seconds: Option<u64>,
    pub comment: Option<String>,
}

fn parse_state(name: &str, raw: &Value) -> Result<State, LoadError> {
    let obj = raw
        .as_object()
        .ok_or_else(|| LoadError(format!("state `{name}` is not an object")))?;
    let ty = obj
        .get("Type")
        .and_then(Value::as_str)
        .ok_or_else(|| LoadError(format!("state `{name}` has no Type")))?;
    let mut body = obj.clone();
    body.remove("Type");
    let body = Value::Object(body);
    let bad = |e: serde_json::Error| LoadError(format!("state `{name}` ({ty}): {e}"));
    let state = match ty {
        "Task" => State::Task(serde_json::from_value(body).map_err(bad)?),
        "Pass" => State::Pass(serde_json::from_value(body).map_err(bad)?),
        "Wait" => State::Wait(serde_json::from_value(body).map_err(bad)?),
        "Succeed" => State::Succeed(serde_json::from_value(body).map_err(bad)?),
        "Fail" => State::Fail(serde_json::from_value(body).map_err(bad)?),
        "Choice" => {
            let raw: RawChoiceState = serde_json::from_value(body).map_err(bad)?;
            if raw.choices.is_empty() {
                return err(format!("state `{name}` (Choice): Choices is empty"));
            }
            let mut choices = Vec::new();
            for (i, c) in raw.choices.iter().enumerate() {
                let (rule, next) = Rule::parse_top(c)
                    .map_err(|e| LoadError(format!("state `{name}` (Choice), rule {i}: {e}")))?;
                choices.push((rule, next));
            }
            State::Choice(ChoiceState {
                choices,
                default: raw.default,
                input_path: raw.input_path,
                output_path: raw.output_path,
            })
        }
        other => {
            return err(format!(
                "state `{name}`: Type `{other}` is not supported (Task, Pass, Wait, Choice, Succeed, Fail)"
            ))
        }
    };
    Ok(state)
}

/// Check a payload template: `.$` values must be paths; intrinsic functions are not supported.
fn check_template(name: &str, field: &str, v: &Value) -> Result<(), LoadError> {
    match v {
        Value::Object(m) => {
            for (k, val) in m {
                if k.ends_with(".$") {
                    let s = val.as_str().ok_or_else(|| {
                        LoadError(format!("state `{name}`: {field}.{k} must be a string path"))
                    })?;
                    if s.starts_with("States.") {
                        return err(format!(
                            "state `{name}`: {field}.{k}: intrinsic function `{s}` is not supported"
                        ));
                    }
                    RefPath::parse(s)
                        .map_err(|e| LoadError(format!("state `{name}`: {field}.{k}: {e}")))?;
                } else {
                    check_template(name, field, val)?;
                }
            }
            Ok(())
        }
        Value::Array(a) => a.iter().try_for_each(|x| check_template(name, field, x)),
        _ => Ok(()),
    }
}

/// A Task, Pass or Wait state has exactly one of Next and `End: true`.
fn check_next_or_end(name: &str, state: &State) -> Result<(), LoadError> {
    let (next, end) = match state {
        State::Task(s) => (&s.next, s.end),
        State::Pass(s) => (&s.next, s.end),
        State::Wait(s) => (&s.next, s.end),
        _ => return Ok(()),
    };
    match (next, end) {
        (Some(_), Some(true)) => err(format!("state `{name}` has both Next and End")),
        (None, Some(true)) | (Some(_), _) => Ok(()),
        (None, _) => err(format!("state `{name}` has neither Next nor End: true")),
    }
}

/// The fields of each kind of state that go together or exclude each other.
fn check_fields(name: &str, state: &State) -> Result<(), LoadError> {
    match state {
        State::Task(t) => {
            if t.resource.trim().is_empty() {
                return err(format!("state `{name}` has an empty Resource"));
            }
            for (field, tpl) in [
                ("Parameters", &t.parameters),
                ("ResultSelector", &t.result_selector),
            ] {
                if let Some(tpl) = tpl {
                    check_template(name, field, tpl)?;
                }
            }
            check_error_lists(
                name,
                "retrier",
                &t.retry.iter().map(|r| &r.error_equals).collect::<Vec<_>>(),
            )?;
            check_error_lists(
                name,
                "catcher",
                &t.catch.iter().map(|c| &c.error_equals).collect::<Vec<_>>(),
            )
        }
        State::Pass(p) => match &p.parameters {
            Some(tpl) => check_template(name, "Parameters", tpl),
            None => Ok(()),
        },
        State::Wait(w) => {
            let given = [
                w.seconds.is_some(),
                w.seconds_path.is_some(),
                w.timestamp.is_some(),
                w.timestamp_path.is_some(),
            ];
            if given.iter().filter(|g| **g).count() != 1 {
                return err(format!(
                    "state `{name}` (Wait) needs exactly one of Seconds, SecondsPath, Timestamp, TimestampPath"
                ));
            }
            Ok(())
        }
        State::Fail(f) => {
            if f.error.is_some() && f.error_path.is_some() {
                return err(format!(
                    "state `{name}` (Fail) has both Error and ErrorPath"
                ));
            }
            if f.cause.is_some() && f.cause_path.is_some() {
                return err(format!(
                    "state `{name}` (Fail) has both Cause and CausePath"
                ));
            }
            Ok(())
        }
        State::Choice(_) | State::Succeed(_) => Ok(()),
    }
}

fn check_error_lists(name: &str, kind: &str, lists: &[&Vec<String>]) -> Result<(), LoadError> {
    for (i, list) in lists.iter().enumerate() {
        if list.is_empty() {
            return err(format!(
                "state `{name}`: {kind} {i} has an empty ErrorEquals"
            ));
        }
        if list.iter().any(|e| e == "States.ALL") {
            if list.len() != 1 {
                return err(format!(
                    "state `{name}`: {kind} {i}: States.ALL must appear alone"
                ));
            }
            if i != lists.len() - 1 {
                return err(format!(
                    "state `{name}`: {kind} {i}: States.ALL must be in the last {kind}"
                ));
            }
        }
    }
    Ok(())
}

impl Definition {
    /// Parse the text of a definition, first replacing each `${Name}` as CloudFormation's
    /// DefinitionSubstitutions would. A placeholder with no substitution is an error.
    pub fn load(text: &str, substitutions: &HashMap<String, String>) -> Result<Self, LoadError> {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(i) = rest.find("${") {
            out.push_str(&rest[..i]);
            let after = &rest[i + 2..];
            let end = after
                .find('}')
                .ok_or_else(|| LoadError("`${` without `}`".into()))?;
            let key = &after[..end];
            let value = substitutions
                .get(key)
                .ok_or_else(|| LoadError(format!("no substitution for `${{{key}}}`")))?;
            out.push_str(value);
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        let value: Value =
            serde_json::from_str(&out).map_err(|e| LoadError(format!("not JSON: {e}")))?;
        Self::from_value(&value)
    }

    pub fn from_value(value: &Value) -> Result<Self, LoadError> {
        let raw: RawDefinition = serde_json::from_value(value.clone())
            .map_err(|e| LoadError(format!("top level: {e}")))?;
        let _ = (&raw.comment, &raw.version);
        let mut states = HashMap::new();
        for (name, v) in &raw.states {
            if name.is_empty() || name.len() > 80 {
                return err(format!("state name `{name}` must be 1 to 80 characters"));
            }
            states.insert(name.clone(), parse_state(name, v)?);
        }
        let def = Definition {
            start_at: raw.start_at,
            states,
            timeout_seconds: raw.timeout_seconds,
            comment: raw.comment,
        };
        def.validate()?;
        Ok(def)
    }

    fn validate(&self) -> Result<(), LoadError> {
        if !self.states.contains_key(&self.start_at) {
            return err(format!("StartAt `{}` is not a state", self.start_at));
        }
        let mut names: Vec<_> = self.states.keys().collect();
        names.sort();
        for name in names {
            let state = &self.states[name];
            check_next_or_end(name, state)?;
            check_fields(name, state)?;
            for target in state.targets() {
                if !self.states.contains_key(target) {
                    return err(format!(
                        "state `{name}` goes to `{target}`, which is not a state"
                    ));
                }
            }
        }
        self.check_reachable()
    }

    /// Every state must be reachable from StartAt.
    fn check_reachable(&self) -> Result<(), LoadError> {
        let mut seen = HashSet::new();
        let mut queue = VecDeque::from([self.start_at.as_str()]);
        while let Some(s) = queue.pop_front() {
            if seen.insert(s) {
                queue.extend(self.states[s].targets());
            }
        }
        let mut unreachable: Vec<_> = self
            .states
            .keys()
            .filter(|k| !seen.contains(k.as_str()))
            .collect();
        unreachable.sort();
        if !unreachable.is_empty() {
            return err(format!("unreachable states: {unreachable:?}"));
        }
        Ok(())
    }

    /// Every Resource the Task states name.
    pub fn resources(&self) -> HashSet<&str> {
        self.states
            .values()
            .filter_map(|s| match s {
                State::Task(t) => Some(t.resource.as_str()),
                _ => None,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn load(v: Value) -> Result<Definition, LoadError> {
        Definition::from_value(&v)
    }

    fn minimal() -> Value {
        json!({"StartAt": "A", "States": {
            "A": {"Type": "Task", "Resource": "r", "Next": "B"},
            "B": {"Type": "Succeed"}
        }})
    }

    #[test]
    fn loads_a_minimal_machine() {
        let d = load(minimal()).unwrap();
        assert_eq!(d.start_at, "A");
        assert_eq!(d.resources(), HashSet::from(["r"]));
    }

    fn load_err(v: Value) -> String {
        load(v).unwrap_err().0
    }

    #[test]
    fn rejects_what_aws_would() {
        let mut v = minimal();
        v["States"]["A"]["Next"] = json!("Nowhere");
        assert!(load_err(v).contains("`Nowhere`, which is not a state"));

        let mut v = minimal();
        v["States"]["C"] = json!({"Type": "Succeed"});
        assert!(load_err(v).contains("unreachable states: [\"C\"]"));

        let mut v = minimal();
        v["States"]["A"]["End"] = json!(true);
        assert!(load_err(v).contains("both Next and End"));

        let mut v = minimal();
        v["States"]["A"]["Timeout"] = json!(3);
        assert!(load_err(v).contains("unknown field `Timeout`"));

        let mut v = minimal();
        v["States"]["B"] = json!({"Type": "Map"});
        assert!(load_err(v).contains("Type `Map` is not supported"));

        let mut v = minimal();
        v["StartAt"] = json!("Z");
        assert!(load_err(v).contains("StartAt `Z`"));

        let mut v = minimal();
        v["States"]["A"]["Catch"] = json!([
            {"ErrorEquals": ["States.ALL"], "Next": "B"},
            {"ErrorEquals": ["X"], "Next": "B"}
        ]);
        assert!(load_err(v).contains("States.ALL must be in the last catcher"));

        let mut v = minimal();
        v["States"]["A"]["Retry"] = json!([{"ErrorEquals": ["States.ALL", "X"]}]);
        assert!(load_err(v).contains("States.ALL must appear alone"));

        let mut v = minimal();
        v["States"]["A"]["Parameters"] = json!({"x.$": "States.Format('{}', $.a)"});
        assert!(load_err(v).contains("intrinsic function"));

        let mut v = minimal();
        v["States"]["A"]["ResultPath"] = json!("$.a[*]");
        assert!(load_err(v).contains("not supported"));

        let mut v = minimal();
        v["States"]["A"] = json!({"Type": "Wait", "Next": "B"});
        assert!(load_err(v).contains("exactly one of Seconds, SecondsPath, Timestamp"));

        let mut v = minimal();
        v["States"]["A"].as_object_mut().unwrap().remove("Next");
        assert!(load_err(v).contains("neither Next nor End"));
    }

    #[test]
    fn numbers_aws_would_refuse_are_refused_naming_state_and_field() {
        let task = |field: &str, v: Value| {
            let mut d = minimal();
            d["States"]["A"][field] = v;
            d
        };
        let retrier = |field: &str, v: Value| {
            let mut d = minimal();
            d["States"]["A"]["Retry"] = json!([{"ErrorEquals": ["X"], field: v}]);
            d
        };
        let wait = |v: Value| {
            let mut d = minimal();
            d["States"]["A"] = json!({"Type": "Wait", "Seconds": v, "Next": "B"});
            d
        };
        let top = |v: Value| {
            let mut d = minimal();
            d["TimeoutSeconds"] = v;
            d
        };
        let cases = [
            (
                task("TimeoutSeconds", json!(0)),
                "state `A` (Task): TimeoutSeconds must be a positive integer, not 0",
            ),
            (
                task("TimeoutSeconds", json!(-5)),
                "state `A` (Task): TimeoutSeconds must be a positive integer, not -5",
            ),
            (
                task("TimeoutSeconds", json!(1.5)),
                "state `A` (Task): TimeoutSeconds must be a positive integer, not 1.5",
            ),
            (
                task("HeartbeatSeconds", json!(10)),
                "state `A` (Task): unknown field `HeartbeatSeconds`",
            ),
            (
                retrier("IntervalSeconds", json!(0)),
                "state `A` (Task): IntervalSeconds must be a positive integer, not 0",
            ),
            (
                retrier("IntervalSeconds", json!(0.5)),
                "state `A` (Task): IntervalSeconds must be a positive integer, not 0.5",
            ),
            (
                retrier("MaxAttempts", json!(-1)),
                "state `A` (Task): MaxAttempts must be an integer from 0 to 99999999, not -1",
            ),
            (
                retrier("BackoffRate", json!(0.5)),
                "state `A` (Task): BackoffRate must be a number of at least 1.0, not 0.5",
            ),
            (
                retrier("MaxDelaySeconds", json!(0)),
                "state `A` (Task): MaxDelaySeconds must be a positive integer, not 0",
            ),
            (
                wait(json!(-1)),
                "state `A` (Wait): Seconds must be an integer from 0 to 99999999, not -1",
            ),
            (
                wait(json!(2.5)),
                "state `A` (Wait): Seconds must be an integer from 0 to 99999999, not 2.5",
            ),
            (
                top(json!(0)),
                "top level: TimeoutSeconds must be a positive integer, not 0",
            ),
        ];
        for (def, expected) in cases {
            let e = load_err(def);
            assert!(e.starts_with(expected), "{e}\n  expected: {expected}");
        }
        // What AWS allows: MaxAttempts 0 (never retry), Wait Seconds 0, BackoffRate 1.
        assert!(load(retrier("MaxAttempts", json!(0))).is_ok());
        assert!(load(retrier("BackoffRate", json!(1))).is_ok());
        assert!(load(retrier("BackoffRate", json!(1.5))).is_ok());
        assert!(load(wait(json!(0))).is_ok());
        assert!(load(task("TimeoutSeconds", json!(1))).is_ok());
    }

    #[test]
    fn substitutes_placeholders_like_cloudformation() {
        let text = r#"{"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "${Fn}", "End": true}}}"#;
        let subs = HashMap::from([(
            "Fn".to_string(),
            "arn:aws:lambda:us-east-1:1:function:f".to_string(),
        )]);
        let d = Definition::load(text, &subs).unwrap();
        assert!(d
            .resources()
            .contains("arn:aws:lambda:us-east-1:1:function:f"));
        let e = Definition::load(text, &HashMap::new()).unwrap_err();
        assert!(e.0.contains("no substitution for `${Fn}`"));
    }
}
