//! template.yaml, the definition, the worker crates and their IAM policies agree:
//! every `${...}` of the definition has a substitution and every substitution is used; every
//! function's CodeUri is a worker crate and every worker has a function; every AWS SDK call a
//! worker makes (found in its code and the core functions it calls) is in
//! `iam/worker-operations.json` and allowed by that function's policy; Lambda timeouts stay
//! under the Task timeouts.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use regex::Regex;
use serde_json::Value as Json;
use serde_norway::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn template() -> Value {
    let text = std::fs::read_to_string(root().join("template.yaml")).unwrap();
    serde_norway::from_str(&text).unwrap()
}

fn resources(t: &Value) -> &serde_norway::Mapping {
    t["Resources"].as_mapping().unwrap()
}

fn functions(t: &Value) -> BTreeMap<String, &Value> {
    resources(t)
        .iter()
        .filter(|(_, r)| r["Type"].as_str() == Some("AWS::Serverless::Function"))
        .map(|(k, r)| (k.as_str().unwrap().to_string(), r))
        .collect()
}

/// `start-training` → `StartTraining`.
fn pascal(crate_name: &str) -> String {
    crate_name
        .split('-')
        .map(|p| p[..1].to_uppercase() + &p[1..])
        .collect()
}

fn worker_crates() -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(root().join("workers"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n != "core")
        .collect();
    out.sort();
    out
}

#[test]
fn substitutions_match_the_definition_placeholders() {
    let t = template();
    let sm = &resources(&t)["RetrainStateMachine"]["Properties"];
    assert_eq!(
        sm["DefinitionUri"].as_str(),
        Some(retraining_pipeline::DEFINITION_FILE)
    );
    let subs: BTreeSet<String> = sm["DefinitionSubstitutions"]
        .as_mapping()
        .unwrap()
        .keys()
        .map(|k| k.as_str().unwrap().to_string())
        .collect();
    let text = retraining_pipeline::definition_text();
    let used: BTreeSet<String> = Regex::new(r"\$\{([A-Za-z0-9]+)\}")
        .unwrap()
        .captures_iter(&text)
        .map(|c| c[1].to_string())
        .collect();
    assert_eq!(
        subs, used,
        "DefinitionSubstitutions and the definition's placeholders differ"
    );
    let harness: BTreeSet<String> = retraining_pipeline::FUNCTIONS
        .iter()
        .map(|(p, _)| p.to_string())
        .collect();
    assert_eq!(harness, used);
}

#[test]
fn one_function_per_worker_crate_with_one_name() {
    let t = template();
    let fns = functions(&t);
    let crates = worker_crates();
    assert_eq!(fns.len(), crates.len());
    for krate in &crates {
        let logical = format!("{}Function", pascal(krate));
        let f = fns
            .get(&logical)
            .unwrap_or_else(|| panic!("no function {logical} for workers/{krate}"));
        assert_eq!(
            f["Properties"]["CodeUri"].as_str(),
            Some(format!("workers/{krate}").as_str())
        );
        assert_eq!(
            f["Metadata"]["BuildMethod"].as_str(),
            Some("rust-cargolambda")
        );
        assert_eq!(
            f["Metadata"]["BuildProperties"]["Binary"].as_str(),
            Some(krate.as_str())
        );
        let manifest =
            std::fs::read_to_string(root().join("workers").join(krate).join("Cargo.toml")).unwrap();
        assert!(
            manifest.contains(&format!("name = \"{krate}\"")),
            "workers/{krate} is not the crate {krate}"
        );
        // The function's placeholder names the function, and the harness maps it to the crate.
        let placeholder = format!("{}FunctionArn", pascal(krate));
        assert!(retraining_pipeline::FUNCTIONS.contains(&(placeholder.as_str(), krate.as_str())));
        let sub = &resources(&t)["RetrainStateMachine"]["Properties"]["DefinitionSubstitutions"]
            [placeholder.as_str()];
        let tagged = format!("{sub:?}");
        assert!(
            tagged.contains(&format!("{logical}.Arn")),
            "{placeholder} is not {logical}.Arn: {tagged}"
        );
    }
    let g = &t["Globals"]["Function"];
    assert_eq!(g["Runtime"].as_str(), Some("provided.al2023"));
    assert_eq!(g["Architectures"][0].as_str(), Some("arm64"));
    assert_eq!(g["LoggingConfig"]["LogFormat"].as_str(), Some("JSON"));
    assert_eq!(g["Tracing"].as_str(), Some("Active"));
    assert_eq!(g["MemorySize"].as_u64(), Some(128));
    // Every variable the workers read comes from the template.
    let env = g["Environment"]["Variables"].as_mapping().unwrap();
    for var in retrain_core::config::VARS {
        if var.name != "POLL_SECONDS" {
            assert!(
                env.contains_key(var.name),
                "{} is not set by the template",
                var.name
            );
        }
    }
}

#[test]
fn task_state_names_start_with_their_function() {
    let def: Json = serde_json::from_str(&retraining_pipeline::definition_text()).unwrap();
    for (name, state) in def["States"].as_object().unwrap() {
        if let Some(resource) = state["Resource"].as_str() {
            let function = resource
                .trim_start_matches("${")
                .trim_end_matches("FunctionArn}");
            assert!(name.starts_with(function), "state {name} runs {function}");
        }
    }
}

#[test]
fn lambda_timeouts_are_under_the_task_timeouts() {
    let t = template();
    let def: Json = serde_json::from_str(&retraining_pipeline::definition_text()).unwrap();
    for (logical, f) in functions(&t) {
        let lambda = f["Properties"]["Timeout"].as_u64().unwrap();
        let placeholder = format!("${{{logical}Arn}}");
        for (name, state) in def["States"].as_object().unwrap() {
            if state["Resource"].as_str() == Some(placeholder.as_str()) {
                let task = state["TimeoutSeconds"].as_u64().unwrap();
                assert!(
                    lambda < task,
                    "{logical} times out after {lambda} s, state {name} after {task} s"
                );
            }
        }
    }
}

// ---- IAM: what the code calls against what the policies allow -----------------------------

fn operations_data() -> BTreeMap<String, BTreeMap<String, String>> {
    let v: Json = serde_json::from_str(
        &std::fs::read_to_string(root().join("iam/worker-operations.json")).unwrap(),
    )
    .unwrap();
    v.as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| *k != "comment")
        .map(|(k, ops)| {
            let ops = ops
                .as_object()
                .unwrap()
                .iter()
                .map(|(o, a)| (o.clone(), a.as_str().unwrap().to_string()))
                .collect();
            (k.clone(), ops)
        })
        .collect()
}

/// Non-test source of a directory, tests stripped (`#[cfg(test)]` modules and tests.rs files).
fn sources(dir: &Path) -> String {
    let mut out = String::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        if path.extension().is_some_and(|e| e == "rs") && name != "tests.rs" && name != "testing.rs"
        {
            let text = std::fs::read_to_string(&path).unwrap();
            let text = match text.find("#[cfg(test)]") {
                Some(i) => text[..i].to_string(),
                None => text,
            };
            out.push_str(&format!("\n// file {name}\n{text}"));
        }
    }
    out
}

/// SDK calls on a client (`sm.create_model()`, `deps.s3\n.get_object()`).
fn sdk_calls(code: &str) -> BTreeSet<String> {
    Regex::new(r"\b(?:sm|s3|cw|sns)\s*\.\s*([a-z0-9_]+)\(\)")
        .unwrap()
        .captures_iter(code)
        .map(|c| c[1].to_string())
        .filter(|m| !["clone", "to_string"].contains(&m.as_str()))
        .collect()
}

/// The core library's public async functions: name → (SDK calls in its body, core functions it calls).
fn core_functions() -> HashMap<String, (BTreeSet<String>, BTreeSet<String>)> {
    let code = sources(&root().join("workers/core/src"));
    let fn_re = Regex::new(r"(?m)^pub async fn ([a-z0-9_]+)").unwrap();
    let starts: Vec<(usize, String)> = fn_re
        .captures_iter(&code)
        .map(|c| (c.get(0).unwrap().start(), c[1].to_string()))
        .collect();
    let names: BTreeSet<String> = starts.iter().map(|(_, n)| n.clone()).collect();
    let mut out = HashMap::new();
    for (i, (start, name)) in starts.iter().enumerate() {
        let end = starts.get(i + 1).map(|(s, _)| *s).unwrap_or(code.len());
        let body = &code[*start..end];
        let body = &body[body.find('{').unwrap()..];
        let calls = names
            .iter()
            .filter(|n| *n != name && calls_fn(body, n))
            .cloned()
            .collect();
        out.insert(name.clone(), (sdk_calls(body), calls));
    }
    out
}

/// `name(` called as a function (not a method: no `.` before it).
fn calls_fn(code: &str, name: &str) -> bool {
    Regex::new(&format!(r"(?:^|[^.a-z0-9_]){name}\s*\("))
        .unwrap()
        .is_match(code)
}

fn reachable_sdk_calls(worker: &str) -> BTreeSet<String> {
    let core = core_functions();
    let code = sources(&root().join("workers").join(worker).join("src"));
    let mut ops = sdk_calls(&code);
    let mut queue: Vec<String> = core
        .keys()
        .filter(|n| calls_fn(&code, n))
        .cloned()
        .collect();
    let mut seen = BTreeSet::new();
    while let Some(f) = queue.pop() {
        if seen.insert(f.clone()) {
            let (sdk, calls) = &core[&f];
            ops.extend(sdk.iter().cloned());
            queue.extend(calls.iter().cloned());
        }
    }
    ops
}

#[test]
fn the_operations_data_matches_the_code() {
    let data = operations_data();
    assert_eq!(data.keys().cloned().collect::<Vec<_>>(), worker_crates());
    for (worker, ops) in &data {
        let called = reachable_sdk_calls(worker);
        let listed: BTreeSet<String> = ops.keys().cloned().collect();
        assert_eq!(
            called, listed,
            "{worker}: SDK calls in the code vs iam/worker-operations.json"
        );
    }
}

/// (actions, resources) of each Allow statement of a function's inline policies.
fn statements(f: &Value) -> Vec<(Vec<String>, String)> {
    let mut out = Vec::new();
    for policy in f["Properties"]["Policies"].as_sequence().unwrap() {
        for st in policy["Statement"].as_sequence().unwrap() {
            assert_eq!(st["Effect"].as_str(), Some("Allow"));
            let actions = match &st["Action"] {
                Value::String(a) => vec![a.clone()],
                Value::Sequence(s) => s.iter().map(|a| a.as_str().unwrap().to_string()).collect(),
                other => panic!("Action {other:?}"),
            };
            out.push((actions, format!("{:?}", st["Resource"])));
        }
    }
    out
}

#[test]
fn every_call_is_allowed_by_its_functions_policy_and_nothing_more() {
    let t = template();
    let fns = functions(&t);
    for (worker, ops) in operations_data() {
        let f = fns[&format!("{}Function", pascal(&worker))];
        let sts = statements(f);
        let allowed: BTreeSet<String> = sts.iter().flat_map(|(a, _)| a.iter().cloned()).collect();
        let needed: BTreeSet<String> = ops.values().cloned().collect();
        for action in &needed {
            assert!(
                allowed.contains(action),
                "{worker} calls {action} but its policy does not allow it"
            );
        }
        // Least privilege: nothing beyond what it calls, but AddTags (CreateTrainingJob/
        // CreateModel/CreateEndpoint with Tags) and PassRole (to SageMaker only).
        for action in &allowed {
            let extra_ok = action == "sagemaker:AddTags" || action == "iam:PassRole";
            assert!(
                needed.contains(action) || extra_ok,
                "{worker} is allowed {action}, which it never calls"
            );
        }
        for (actions, resource) in &sts {
            if actions.iter().any(|a| a == "iam:PassRole") {
                assert!(
                    resource.contains("SageMakerRoleArn"),
                    "{worker}: PassRole only for the SageMaker role"
                );
            }
            if resource.contains("\"*\"") || resource == "String(\"*\")" {
                let star_ok = [
                    "sagemaker:ListModelPackages",
                    "cloudwatch:PutMetricData",
                    "cloudwatch:DescribeAlarms",
                ];
                assert!(
                    actions.iter().all(|a| star_ok.contains(&a.as_str())),
                    "{worker}: {actions:?} on *"
                );
            }
        }
    }
    let text = std::fs::read_to_string(root().join("template.yaml")).unwrap();
    assert!(
        !text.contains("FullAccess"),
        "no managed FullAccess policies"
    );
    assert_eq!(
        text.matches("iam:PassedToService: sagemaker.amazonaws.com")
            .count(),
        text.matches("Action: iam:PassRole").count()
    );
}

#[test]
fn the_failure_rule_leaves_out_the_alerted_fail_states() {
    let text = std::fs::read_to_string(root().join("template.yaml")).unwrap();
    let line = text
        .lines()
        .find(|l| l.contains("anything-but:"))
        .expect("the execution-status rule");
    for e in retraining_pipeline::ALERTED_FAILURES {
        assert!(line.contains(e), "{e} missing from {line}");
    }
    // Its input transformer produces what failure_alert_request produces.
    assert!(text.contains(r#"{"mode": "error", "execution": "<name>", "error": {"Error": "<error>", "Cause": "<status>: <cause>"}}"#));
    let sample = retraining_pipeline::failure_alert_request("n", "e", "c");
    assert_eq!(sample["mode"], "error");
    let _: retrain_core::payload::AlertRequest = serde_json::from_value(sample).unwrap();
}
