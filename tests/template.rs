//! template.yaml, the definition, the worker crates and their IAM policies agree:
//! every `${...}` of the definition has a substitution and every substitution is used; every
//! function's CodeUri is a worker crate and every worker has a function; every AWS operation a
//! worker declares (and its clients let through no other) is allowed by that function's policy,
//! and nothing more; Lambda timeouts stay under the Task timeouts.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

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

/// The crates under workers/ with a binary (retrain-core and run-report are their libraries).
fn worker_crates() -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(root().join("workers"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("src/main.rs").exists())
        .map(|p| p.file_name().unwrap().to_str().unwrap().to_string())
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
    // Every variable the workers read comes from the template: for all functions, or (as
    // ROLLBACK_ALARMS for Deploy) for the function that uses it.
    let env = g["Environment"]["Variables"].as_mapping().unwrap();
    let fns = functions(&t);
    for var in retrain_core::config::VARS {
        let own = fns.values().any(|f| {
            f["Properties"]["Environment"]["Variables"]
                .as_mapping()
                .is_some_and(|m| m.contains_key(var.name))
        });
        if var.name != "POLL_SECONDS" {
            assert!(
                env.contains_key(var.name) || own,
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

/// Each worker crate's declaration of the AWS operations it calls. Its clients refuse any
/// other operation (retrain_core::aws::Context), so every test that drives a worker also proves
/// the declaration complete.
fn workers() -> Vec<&'static retrain_core::Worker> {
    vec![
        &start_training::WORKER,
        &check_status::WORKER,
        &evaluate_mape::WORKER,
        &deploy::WORKER,
        &reject_and_alert::WORKER,
    ]
}

#[test]
fn every_worker_crate_declares_its_operations() {
    let mut declared: Vec<String> = workers().iter().map(|w| w.name.to_string()).collect();
    declared.sort();
    assert_eq!(declared, worker_crates());
    for w in workers() {
        assert!(!w.operations.is_empty(), "{}", w.name);
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
    for w in workers() {
        let worker = w.name;
        let f = fns[&format!("{}Function", pascal(worker))];
        let sts = statements(f);
        let allowed: BTreeSet<String> = sts.iter().flat_map(|(a, _)| a.iter().cloned()).collect();
        let needed: BTreeSet<String> = w.iam_actions().into_iter().map(String::from).collect();
        for action in &needed {
            assert!(
                allowed.contains(action),
                "{worker} calls {action} but its policy does not allow it"
            );
        }
        // Least privilege: nothing beyond what its operations need (AddTags and PassRole
        // included, where an operation tags or hands SageMaker a role).
        for action in &allowed {
            assert!(
                needed.contains(action),
                "{worker} is allowed {action}, which none of its operations needs"
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
}

/// Every rule target's `InputTransformer` in the template (SAM event sources and plain
/// `AWS::Events::Rule` targets).
fn input_transformers(t: &Value) -> Vec<(String, retraining_pipeline::InputTransformer)> {
    let to_transformer = |it: &Value| retraining_pipeline::InputTransformer {
        paths: it["InputPathsMap"]
            .as_mapping()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| {
                        (
                            k.as_str().unwrap().to_string(),
                            v.as_str().unwrap().to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default(),
        template: it["InputTemplate"].as_str().unwrap().trim().to_string(),
    };
    let mut out = Vec::new();
    for (name, r) in resources(t) {
        let name = name.as_str().unwrap();
        if let Some(events) = r["Properties"]["Events"].as_mapping() {
            for (event, e) in events {
                let it = &e["Properties"]["InputTransformer"];
                if !it.is_null() {
                    out.push((
                        format!("{name}.{}", event.as_str().unwrap()),
                        to_transformer(it),
                    ));
                }
            }
        }
        if let Some(targets) = r["Properties"]["Targets"].as_sequence() {
            for target in targets {
                if !target["InputTransformer"].is_null() {
                    out.push((
                        name.to_string(),
                        to_transformer(&target["InputTransformer"]),
                    ));
                }
            }
        }
    }
    out
}

/// An event where every path a transformer reads holds `value`, inside a detail whose other
/// fields hold it too.
fn hostile_event(paths: &[&str], value: &str) -> Json {
    let mut event = serde_json::json!({
        "version": "0", "id": value, "detail-type": value, "source": value,
        "detail": {"name": value, "status": value, "error": value, "cause": value,
                   "input": value, "output": value},
    });
    for path in paths {
        let keys: Vec<&str> = path
            .trim_start_matches('$')
            .split('.')
            .filter(|k| !k.is_empty())
            .collect();
        let Some((last, parents)) = keys.split_last() else {
            continue;
        };
        let mut at = &mut event;
        for k in parents {
            if !at[*k].is_object() {
                at[*k] = serde_json::json!({});
            }
            at = at.get_mut(*k).unwrap();
        }
        if !at[*last].is_object() {
            at[*last] = Json::String(value.to_string());
        }
    }
    event
}

#[test]
fn every_input_template_yields_json_whatever_the_values_hold() {
    let t = template();
    let transformers = input_transformers(&t);
    assert!(
        transformers
            .iter()
            .any(|(n, _)| n == "RejectAndAlertFunction.ExecutionFailed"),
        "{:?}",
        transformers.iter().map(|(n, _)| n).collect::<Vec<_>>()
    );
    let long = format!("{}\"\\\n", "x".repeat(32 * 1024));
    for (name, tr) in &transformers {
        let paths: Vec<&str> = tr.paths.values().map(String::as_str).collect();
        for value in [
            r#"a "quoted" cause"#,
            r"a back\slash \u12",
            "two\nlines\r\tand a tab",
            r#"{"errorMessage":"x \"y\"","errorType":"AwsError"}"#,
            "}]\\",
            long.as_str(),
        ] {
            let event = hostile_event(&paths, value);
            let delivered = tr.deliver(&event);
            assert!(
                delivered.is_ok(),
                "{name}: {value:.60}: {}",
                delivered.unwrap_err()
            );
        }
    }
}

#[test]
fn the_failure_alert_reaches_reject_and_alert_as_the_request_it_reads() {
    let t = template();
    let tr = retraining_pipeline::failure_rule_transformer();
    assert!(input_transformers(&t)
        .iter()
        .any(|(n, other)| n == "RejectAndAlertFunction.ExecutionFailed" && *other == tr));
    let cause = r#"{"errorMessage":"a \"b\"\nc","errorType":"AwsError"}"#;
    let event = serde_json::json!({"detail": {"name": "e-1", "status": "FAILED",
        "error": "AwsError", "cause": cause, "executionArn": "arn", "startDate": 1}});
    let request: retrain_core::payload::AlertRequest =
        serde_json::from_value(tr.deliver(&event).unwrap()).unwrap();
    let request = request.normalised();
    assert_eq!(request.execution.as_deref(), Some("e-1"));
    assert_eq!(
        request.error.unwrap().cause.unwrap(),
        format!("FAILED: {cause}")
    );
    // The target keeps what it cannot deliver, and retries first.
    let target = &resources(&t)["RejectAndAlertFunction"]["Properties"]["Events"]
        ["ExecutionFailed"]["Properties"];
    assert!(!target["DeadLetterConfig"].is_null());
    assert!(
        target["RetryPolicy"]["MaximumRetryAttempts"]
            .as_i64()
            .unwrap()
            > 0
    );
}

#[test]
fn the_approval_rule_delivers_the_event_start_training_reads() {
    let t = template();
    let rule = &resources(&t)["RetrainStateMachine"]["Properties"]["Events"]["Approved"];
    assert_eq!(rule["Type"].as_str(), Some("EventBridgeRule"));
    let pattern = &rule["Properties"]["Pattern"];
    assert_eq!(pattern["source"][0].as_str(), Some("aws.sagemaker"));
    assert_eq!(
        pattern["detail-type"][0].as_str(),
        Some(retrain_core::input::APPROVAL_EVENT)
    );
    assert_eq!(
        pattern["detail"]["ModelApprovalStatus"][0].as_str(),
        Some("Approved")
    );
}

/// Lambda keeps this many of an account's concurrent executions unreserved: a deploy whose
/// reservations would leave fewer fails (Lambda developer guide, "Reserved concurrency").
const UNRESERVED_MINIMUM: i64 = 100;

/// What the functions reserve at the template's defaults, as CloudFormation would set it.
fn reserved_at_defaults(t: &Value) -> i64 {
    let default = t["Parameters"]["ReservedConcurrency"]["Default"]
        .as_i64()
        .expect("ReservedConcurrency has a numeric default");
    let global = &t["Globals"]["Function"]["ReservedConcurrentExecutions"];
    let reserves = |f: &Value| -> i64 {
        // Either the global setting (a condition on the parameter) or the function's own.
        let own = &f["Properties"]["ReservedConcurrentExecutions"];
        let setting = if own.is_null() { global } else { own };
        match setting {
            Value::Null => 0,
            Value::Number(n) => n.as_i64().unwrap(),
            // !If [ReserveConcurrency, !Ref ReservedConcurrency, !Ref AWS::NoValue]: the
            // condition is "the parameter is not 0".
            _ => default,
        }
    };
    functions(t).values().map(|f| reserves(f)).sum()
}

#[test]
fn the_default_deploys_on_an_account_with_a_concurrency_quota_of_10() {
    let t = template();
    for quota in [10, 50, 1000] {
        let reserved = reserved_at_defaults(&t);
        assert!(
            quota - reserved >= UNRESERVED_MINIMUM || reserved == 0,
            "quota {quota}: the functions reserve {reserved}, leaving under {UNRESERVED_MINIMUM}"
        );
    }
}
