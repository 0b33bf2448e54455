//! Choice rules: comparisons (and their `...Path` forms), type tests, And/Or/Not.
//! A type mismatch is simply no match; a missing Variable is an error (but for IsPresent).

use serde_json::{Map, Value};

use crate::path::RefPath;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Op {
    StringEquals,
    NumericEquals,
    NumericLessThan,
    NumericGreaterThan,
    NumericLessThanEquals,
    NumericGreaterThanEquals,
    BooleanEquals,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TypeTest {
    IsPresent,
    IsNull,
    IsNumeric,
    IsString,
    IsBoolean,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    Literal(Value),
    Path(RefPath),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Rule {
    Compare {
        variable: RefPath,
        op: Op,
        operand: Operand,
    },
    Test {
        variable: RefPath,
        test: TypeTest,
        expected: bool,
    },
    And(Vec<Rule>),
    Or(Vec<Rule>),
    Not(Box<Rule>),
}

const OPS: &[(&str, Op)] = &[
    ("StringEquals", Op::StringEquals),
    ("NumericEquals", Op::NumericEquals),
    ("NumericLessThan", Op::NumericLessThan),
    ("NumericGreaterThan", Op::NumericGreaterThan),
    ("NumericLessThanEquals", Op::NumericLessThanEquals),
    ("NumericGreaterThanEquals", Op::NumericGreaterThanEquals),
    ("BooleanEquals", Op::BooleanEquals),
];

const TESTS: &[(&str, TypeTest)] = &[
    ("IsPresent", TypeTest::IsPresent),
    ("IsNull", TypeTest::IsNull),
    ("IsNumeric", TypeTest::IsNumeric),
    ("IsString", TypeTest::IsString),
    ("IsBoolean", TypeTest::IsBoolean),
];

/// Evaluation failed: the execution fails with `States.Runtime`.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleError(pub String);

impl Rule {
    /// A top-level rule: the rule and its `Next`.
    pub fn parse_top(v: &Value) -> Result<(Rule, String), String> {
        let obj = v.as_object().ok_or("a rule must be an object")?;
        let next = obj
            .get("Next")
            .and_then(Value::as_str)
            .ok_or("a top-level rule needs Next")?
            .to_string();
        let mut rest = obj.clone();
        rest.remove("Next");
        rest.remove("Comment");
        Ok((Self::parse_obj(&rest)?, next))
    }

    fn parse(v: &Value) -> Result<Rule, String> {
        let obj = v.as_object().ok_or("a rule must be an object")?;
        if obj.contains_key("Next") {
            return Err("Next is only allowed on top-level rules".into());
        }
        Self::parse_obj(obj)
    }

    fn parse_obj(obj: &Map<String, Value>) -> Result<Rule, String> {
        let list = |k: &str| -> Result<Vec<Rule>, String> {
            let items = obj[k].as_array().ok_or(format!("{k} must be an array"))?;
            if items.is_empty() {
                return Err(format!("{k} must not be empty"));
            }
            items.iter().map(Rule::parse).collect()
        };
        let keys: Vec<&str> = obj.keys().map(String::as_str).collect();
        match keys.as_slice() {
            ["And"] => return Ok(Rule::And(list("And")?)),
            ["Or"] => return Ok(Rule::Or(list("Or")?)),
            ["Not"] => return Ok(Rule::Not(Box::new(Rule::parse(&obj["Not"])?))),
            _ => {}
        }
        let variable = obj
            .get("Variable")
            .and_then(Value::as_str)
            .ok_or_else(|| format!("a rule needs Variable (or And/Or/Not); got {keys:?}"))?;
        let variable = RefPath::parse(variable)?;
        let ops: Vec<&String> = obj.keys().filter(|k| *k != "Variable").collect();
        if ops.len() != 1 {
            return Err(format!("a rule needs exactly one operator, got {ops:?}"));
        }
        let key = ops[0].as_str();
        let value = &obj[key];
        if let Some((_, test)) = TESTS.iter().find(|(n, _)| *n == key) {
            let expected = value
                .as_bool()
                .ok_or(format!("{key} takes true or false"))?;
            return Ok(Rule::Test {
                variable,
                test: *test,
                expected,
            });
        }
        let (base, is_path) = match key.strip_suffix("Path") {
            Some(b) => (b, true),
            None => (key, false),
        };
        let (_, op) = OPS
            .iter()
            .find(|(n, _)| *n == base)
            .ok_or(format!("operator `{key}` is not supported"))?;
        let operand = if is_path {
            Operand::Path(RefPath::parse(
                value.as_str().ok_or(format!("{key} takes a path"))?,
            )?)
        } else {
            let ok = match op {
                Op::StringEquals => value.is_string(),
                Op::BooleanEquals => value.is_boolean(),
                _ => value.is_number(),
            };
            if !ok {
                return Err(format!(
                    "{key} takes a {}",
                    if value.is_string() {
                        "number"
                    } else {
                        "value of its type"
                    }
                ));
            }
            Operand::Literal(value.clone())
        };
        Ok(Rule::Compare {
            variable,
            op: *op,
            operand,
        })
    }

    /// Evaluate against the Choice state's effective input, with no context object (a `$$`
    /// path selects nothing).
    pub fn eval(&self, input: &Value) -> Result<bool, RuleError> {
        self.eval_in(input, &Value::Null)
    }

    /// Evaluate against the effective input; `$$` paths (Variable and the `...Path` operands)
    /// read the context object, as on AWS.
    pub fn eval_in(&self, input: &Value, context: &Value) -> Result<bool, RuleError> {
        match self {
            Rule::And(rules) => {
                for r in rules {
                    if !r.eval_in(input, context)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            Rule::Or(rules) => {
                for r in rules {
                    if r.eval_in(input, context)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            Rule::Not(r) => Ok(!r.eval_in(input, context)?),
            Rule::Test {
                variable,
                test,
                expected,
            } => {
                let v = variable.resolve(input, context);
                let result = match test {
                    TypeTest::IsPresent => v.is_some(),
                    _ => {
                        let v = v.ok_or_else(|| missing(variable))?;
                        match test {
                            TypeTest::IsNull => v.is_null(),
                            TypeTest::IsNumeric => v.is_number(),
                            TypeTest::IsString => v.is_string(),
                            TypeTest::IsBoolean => v.is_boolean(),
                            TypeTest::IsPresent => unreachable!(),
                        }
                    }
                };
                Ok(result == *expected)
            }
            Rule::Compare {
                variable,
                op,
                operand,
            } => {
                let left = variable
                    .resolve(input, context)
                    .ok_or_else(|| missing(variable))?;
                let right = match operand {
                    Operand::Literal(v) => v,
                    Operand::Path(p) => p.resolve(input, context).ok_or_else(|| missing(p))?,
                };
                Ok(compare(*op, left, right))
            }
        }
    }
}

fn missing(p: &RefPath) -> RuleError {
    RuleError(format!(
        "Invalid path '{p}': the choice state's condition path references an invalid value."
    ))
}

fn compare(op: Op, left: &Value, right: &Value) -> bool {
    match op {
        Op::StringEquals => matches!((left, right), (Value::String(a), Value::String(b)) if a == b),
        Op::BooleanEquals => matches!((left, right), (Value::Bool(a), Value::Bool(b)) if a == b),
        _ => {
            let (Some(a), Some(b)) = (left.as_f64(), right.as_f64()) else {
                return false;
            };
            match op {
                Op::NumericEquals => a == b,
                Op::NumericLessThan => a < b,
                Op::NumericGreaterThan => a > b,
                Op::NumericLessThanEquals => a <= b,
                Op::NumericGreaterThanEquals => a >= b,
                _ => unreachable!(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rule(v: Value) -> Rule {
        let mut v = v;
        v["Next"] = json!("X");
        Rule::parse_top(&v).unwrap().0
    }

    #[test]
    fn comparisons_and_path_forms() {
        let doc = json!({"mape": 19.9, "t": 20, "s": "skip", "b": true, "n": null});
        assert!(
            rule(json!({"Variable": "$.mape", "NumericLessThanPath": "$.t"}))
                .eval(&doc)
                .unwrap()
        );
        assert!(
            !rule(json!({"Variable": "$.t", "NumericLessThanPath": "$.t"}))
                .eval(&doc)
                .unwrap()
        );
        assert!(
            rule(json!({"Variable": "$.t", "NumericGreaterThanEquals": 20}))
                .eval(&doc)
                .unwrap()
        );
        assert!(rule(json!({"Variable": "$.s", "StringEquals": "skip"}))
            .eval(&doc)
            .unwrap());
        assert!(rule(json!({"Variable": "$.b", "BooleanEquals": true}))
            .eval(&doc)
            .unwrap());
    }

    #[test]
    fn a_type_mismatch_is_no_match() {
        let doc = json!({"mape": null, "t": 20, "s": "12"});
        assert!(
            !rule(json!({"Variable": "$.mape", "NumericLessThanPath": "$.t"}))
                .eval(&doc)
                .unwrap()
        );
        assert!(!rule(json!({"Variable": "$.s", "NumericLessThan": 20}))
            .eval(&doc)
            .unwrap());
        assert!(!rule(json!({"Variable": "$.t", "StringEquals": "20"}))
            .eval(&doc)
            .unwrap());
    }

    #[test]
    fn type_tests_and_presence() {
        let doc = json!({"n": null, "x": 1});
        assert!(!rule(json!({"Variable": "$.gone", "IsPresent": true}))
            .eval(&doc)
            .unwrap());
        assert!(rule(json!({"Variable": "$.gone", "IsPresent": false}))
            .eval(&doc)
            .unwrap());
        assert!(rule(json!({"Variable": "$.n", "IsNull": true}))
            .eval(&doc)
            .unwrap());
        assert!(rule(json!({"Variable": "$.x", "IsNumeric": true}))
            .eval(&doc)
            .unwrap());
        assert!(!rule(json!({"Variable": "$.n", "IsNumeric": true}))
            .eval(&doc)
            .unwrap());
    }

    #[test]
    fn a_missing_variable_is_an_error() {
        let doc = json!({});
        assert!(rule(json!({"Variable": "$.gone", "NumericEquals": 1}))
            .eval(&doc)
            .is_err());
        assert!(rule(json!({"Variable": "$.gone", "IsNumeric": true}))
            .eval(&doc)
            .is_err());
    }

    #[test]
    fn and_short_circuits_or_and_not() {
        let doc = json!({"a": 1});
        let r = rule(json!({"And": [
            {"Variable": "$.b", "IsPresent": true},
            {"Variable": "$.b", "NumericEquals": 1}
        ]}));
        assert!(!r.eval(&doc).unwrap(), "the second rule is never evaluated");
        let r = rule(
            json!({"Or": [{"Variable": "$.a", "NumericEquals": 2}, {"Not": {"Variable": "$.a", "NumericEquals": 3}}]}),
        );
        assert!(r.eval(&doc).unwrap());
    }

    #[test]
    fn parse_errors_are_clear() {
        let e = Rule::parse_top(&json!({"Variable": "$.a", "NumericEqualz": 1, "Next": "X"}))
            .unwrap_err();
        assert!(e.contains("NumericEqualz"), "{e}");
        assert!(
            Rule::parse_top(&json!({"Variable": "$.a", "NumericEquals": "1", "Next": "X"}))
                .is_err()
        );
        assert!(
            Rule::parse_top(&json!({"Variable": "$.a", "IsNull": true})).is_err(),
            "no Next"
        );
        assert!(Rule::parse_top(
            &json!({"And": [{"Variable": "$.a", "IsNull": true, "Next": "Y"}], "Next": "X"})
        )
        .is_err());
    }
}
