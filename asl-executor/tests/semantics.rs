//! The executor's ASL semantics, each on a small definition, with tokio's clock paused.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use asl_executor::{handler, Definition, Executor, Handler, Status, TaskError};
use serde_json::{json, Value};

fn exec(def: Value, handlers: Vec<(&str, Handler)>) -> Executor {
    let def = Definition::from_value(&def).unwrap();
    Executor::new(
        def,
        handlers
            .into_iter()
            .map(|(k, h)| (k.to_string(), h))
            .collect(),
    )
    .unwrap()
}

/// Fails with `error` the first `failures` calls, then returns `{"ok": n}`.
fn flaky(error: &'static str, failures: usize) -> (Handler, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    let h = handler(move |_input: Value| {
        let n = c.fetch_add(1, Ordering::SeqCst);
        async move {
            if n < failures {
                Err(TaskError::new(error, format!("failure {n}")))
            } else {
                Ok(json!({"ok": n}))
            }
        }
    });
    (h, calls)
}

fn echo() -> Handler {
    handler(|input: Value| async move { Ok(input) })
}

#[tokio::test(start_paused = true)]
async fn io_processing_merges_into_the_raw_input() {
    let def = json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": "echo", "InputPath": "$.a",
              "Parameters": {"x.$": "$.b", "name.$": "$$.Execution.Name", "fixed": 1},
              "ResultSelector": {"got.$": "$.x"},
              "ResultPath": "$.result", "OutputPath": "$.result", "Next": "P"},
        "P": {"Type": "Pass", "Result": {"p": true}, "ResultPath": null, "Next": "S"},
        "S": {"Type": "Succeed"}
    }});
    let e = exec(def, vec![("echo", echo())])
        .start("exec-7", json!({"a": {"b": 42}}))
        .await;
    assert_eq!(e.status, Status::Succeeded);
    assert_eq!(e.output, Some(json!({"got": 42})));
    let scheduled = e.history.iter().find_map(|h| match &h.event {
        asl_executor::Event::TaskScheduled { input, .. } => Some(input.clone()),
        _ => None,
    });
    assert_eq!(
        scheduled,
        Some(json!({"x": 42, "name": "exec-7", "fixed": 1}))
    );
}

#[tokio::test(start_paused = true)]
async fn retry_backs_off_then_succeeds() {
    let def = json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": "flaky", "End": true,
              "Retry": [{"ErrorEquals": ["Throttled"], "IntervalSeconds": 2, "MaxAttempts": 3, "BackoffRate": 2}]}
    }});
    let (h, calls) = flaky("Throttled", 2);
    let e = exec(def, vec![("flaky", h)]).start("e", json!({})).await;
    assert_eq!(e.status, Status::Succeeded);
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    let delays: Vec<Duration> = e.retries().iter().map(|r| r.2).collect();
    assert_eq!(delays, vec![Duration::from_secs(2), Duration::from_secs(4)]);
    assert_eq!(
        e.duration(),
        Duration::from_secs(6),
        "the paused clock advanced by the delays"
    );
}

#[tokio::test(start_paused = true)]
async fn attempts_run_out_then_catch_with_result_path() {
    let def = json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": "flaky", "Next": "Done",
              "Retry": [{"ErrorEquals": ["Boom"], "MaxAttempts": 1},
                        {"ErrorEquals": ["States.ALL"], "MaxAttempts": 5}],
              "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Caught"}]},
        "Caught": {"Type": "Pass", "End": true},
        "Done": {"Type": "Succeed"}
    }});
    let (h, calls) = flaky("Boom", 100);
    let e = exec(def, vec![("flaky", h)])
        .start("e", json!({"keep": 1}))
        .await;
    assert_eq!(
        calls.load(Ordering::SeqCst),
        2,
        "only the first matching retrier applies"
    );
    assert_eq!(e.states_entered(), vec!["T", "Caught"]);
    assert_eq!(
        e.output,
        Some(json!({"keep": 1, "error": {"Error": "Boom", "Cause": "failure 1"}}))
    );
}

#[tokio::test(start_paused = true)]
async fn max_attempts_zero_never_retries_and_uncaught_errors_fail() {
    let def = json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": "flaky", "End": true,
              "Retry": [{"ErrorEquals": ["Boom"], "MaxAttempts": 0}],
              "Catch": [{"ErrorEquals": ["Other"], "Next": "C"}]},
        "C": {"Type": "Succeed"}
    }});
    let (h, calls) = flaky("Boom", 100);
    let e = exec(def, vec![("flaky", h)]).start("e", json!({})).await;
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(e.status, Status::Failed);
    assert_eq!(
        (e.error.as_deref(), e.failed_state()),
        (Some("Boom"), Some("T"))
    );
}

#[tokio::test(start_paused = true)]
async fn states_runtime_is_not_caught_by_states_all() {
    let def = json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": "echo", "Parameters": {"x.$": "$.missing"}, "End": true,
              "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "C"}]},
        "C": {"Type": "Succeed"}
    }});
    let e = exec(def, vec![("echo", echo())])
        .start("e", json!({}))
        .await;
    assert_eq!(e.status, Status::Failed);
    assert_eq!(e.error.as_deref(), Some("States.Runtime"));
    assert_eq!(e.task_calls("T"), 0);
}

#[tokio::test(start_paused = true)]
async fn choice_without_match_or_default_fails() {
    let def = json!({"StartAt": "C", "States": {
        "C": {"Type": "Choice", "Choices": [{"Variable": "$.x", "NumericEquals": 1, "Next": "S"}]},
        "S": {"Type": "Succeed"}
    }});
    let e = exec(def.clone(), vec![]).start("e", json!({"x": 2})).await;
    assert_eq!(e.error.as_deref(), Some("States.NoChoiceMatched"));
    let e = exec(def.clone(), vec![])
        .start("e", json!({"x": "1"}))
        .await;
    assert_eq!(
        e.error.as_deref(),
        Some("States.NoChoiceMatched"),
        "a type mismatch is no match"
    );
    let e = exec(def, vec![]).start("e", json!({})).await;
    assert_eq!(
        e.error.as_deref(),
        Some("States.Runtime"),
        "a missing Variable is an error"
    );
}

#[tokio::test(start_paused = true)]
async fn wait_seconds_path_uses_the_paused_clock() {
    let def = json!({"StartAt": "W", "States": {
        "W": {"Type": "Wait", "SecondsPath": "$.poll", "Next": "S"},
        "S": {"Type": "Succeed"}
    }});
    let e = exec(def.clone(), vec![])
        .start("e", json!({"poll": 90}))
        .await;
    assert_eq!(e.status, Status::Succeeded);
    assert_eq!(e.duration(), Duration::from_secs(90));
    let e = exec(def, vec![]).start("e", json!({"poll": "soon"})).await;
    assert_eq!(e.error.as_deref(), Some("States.Runtime"));
}

#[tokio::test(start_paused = true)]
async fn task_timeout_is_states_timeout_and_task_failed_does_not_match_it() {
    let slow = handler(|_v: Value| async move {
        tokio::time::sleep(Duration::from_secs(100)).await;
        Ok(json!({}))
    });
    let def = json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": "slow", "TimeoutSeconds": 10, "End": true,
              "Catch": [{"ErrorEquals": ["States.TaskFailed"], "Next": "A"},
                        {"ErrorEquals": ["States.Timeout"], "ResultPath": "$.e", "Next": "B"}]},
        "A": {"Type": "Succeed"},
        "B": {"Type": "Succeed"}
    }});
    let e = exec(def, vec![("slow", slow)]).start("e", json!({})).await;
    assert_eq!(e.states_entered(), vec!["T", "B"]);
    assert_eq!(e.output.as_ref().unwrap()["e"]["Error"], "States.Timeout");
    assert_eq!(e.duration(), Duration::from_secs(10));
}

#[tokio::test(start_paused = true)]
async fn the_machine_timeout_cannot_be_caught() {
    let def = json!({"StartAt": "W", "TimeoutSeconds": 60, "States": {
        "W": {"Type": "Wait", "Seconds": 3600, "Next": "S"},
        "S": {"Type": "Succeed"}
    }});
    let e = exec(def, vec![]).start("e", json!({})).await;
    assert_eq!(e.status, Status::TimedOut);
    assert_eq!(e.error.as_deref(), Some("States.Timeout"));
}

#[tokio::test(start_paused = true)]
async fn the_machine_timeout_ends_timed_out_past_a_catch_all_and_redrives() {
    let slow = handler(|_v: Value| async move {
        tokio::time::sleep(Duration::from_secs(100)).await;
        Ok(json!({"done": true}))
    });
    let def = json!({"StartAt": "T", "TimeoutSeconds": 150, "States": {
        "T": {"Type": "Task", "Resource": "slow", "ResultPath": "$.t", "Next": "T2",
              "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}]},
        "T2": {"Type": "Task", "Resource": "slow", "End": true,
               "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}]},
        "Caught": {"Type": "Succeed"}
    }});
    let ex = exec(def, vec![("slow", slow)]);
    let mut e = ex.start("e", json!({})).await;
    assert_eq!(e.status, Status::TimedOut);
    assert_eq!(e.error.as_deref(), Some("States.Timeout"));
    assert_eq!(e.failed_state(), Some("T2"));
    assert_eq!(e.states_entered(), vec!["T", "T2"], "no catcher ran");
    assert_eq!(e.duration(), Duration::from_secs(150));
    assert!(matches!(
        e.history.last().map(|h| &h.event),
        Some(asl_executor::Event::ExecutionTimedOut { state, error, .. })
            if state == "T2" && error == "States.Timeout"
    ));
    ex.redrive(&mut e).await.unwrap();
    assert_eq!(e.status, Status::Succeeded, "the timeout starts over");
    assert_eq!(e.task_calls("T"), 1);
}

#[tokio::test(start_paused = true)]
async fn fail_state_takes_error_and_cause_from_paths() {
    let def = json!({"StartAt": "F", "States": {
        "F": {"Type": "Fail", "ErrorPath": "$.err.Error", "CausePath": "$.err.Cause"}
    }});
    let e = exec(def, vec![])
        .start(
            "e",
            json!({"err": {"Error": "AwsError", "Cause": "denied"}}),
        )
        .await;
    assert_eq!(
        (e.error.as_deref(), e.cause.as_deref()),
        (Some("AwsError"), Some("denied"))
    );
}

#[tokio::test(start_paused = true)]
async fn redrive_resumes_at_the_failed_state_only() {
    let def = json!({"StartAt": "A", "States": {
        "A": {"Type": "Task", "Resource": "a", "ResultPath": "$.a", "Next": "B"},
        "B": {"Type": "Task", "Resource": "b", "ResultPath": "$.b", "End": true}
    }});
    let (a, a_calls) = flaky("never", 0);
    let (b, b_calls) = flaky("Broken", 1);
    let ex = exec(def, vec![("a", a), ("b", b)]);
    let mut e = ex.start("e", json!({"in": 1})).await;
    assert_eq!((e.status, e.failed_state()), (Status::Failed, Some("B")));
    ex.redrive(&mut e).await.unwrap();
    assert_eq!(e.status, Status::Succeeded);
    assert_eq!(e.redrive_count, 1);
    assert_eq!(a_calls.load(Ordering::SeqCst), 1, "A is not run again");
    assert_eq!(b_calls.load(Ordering::SeqCst), 2);
    assert_eq!(
        e.output,
        Some(json!({"in": 1, "a": {"ok": 0}, "b": {"ok": 1}}))
    );
    assert!(
        ex.redrive(&mut e).await.is_err(),
        "a succeeded execution does not redrive"
    );
}

#[tokio::test(start_paused = true)]
async fn a_missing_handler_is_refused() {
    let def = Definition::from_value(
        &json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "r", "End": true}}}),
    )
    .unwrap();
    let err = Executor::new(def, HashMap::new()).err().unwrap();
    assert!(err.0.contains("no handler"), "{err}");
}

#[tokio::test(start_paused = true)]
async fn an_execution_past_the_history_limit_fails_as_on_aws() {
    // A Wait that loops forever writes two events a turn (WaitStateEntered, WaitStateExited).
    let def = json!({"StartAt": "Again", "States": {
        "Again": {"Type": "Wait", "Seconds": 60, "Next": "Again"}}});
    let e = exec(def, vec![]);
    let run = e.start("loop", json!({})).await;
    assert_eq!(run.status, Status::Failed);
    assert_eq!(run.error.as_deref(), Some("States.Runtime"));
    assert!(
        run.cause.as_deref().unwrap().contains("25000"),
        "{:?}",
        run.cause
    );
    assert!(
        (25_000..25_003).contains(&run.aws_history_events()),
        "{}",
        run.aws_history_events()
    );
    // A Lambda task counts five: state entered, scheduled, started, succeeded, state exited.
    let def =
        json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "r", "End": true}}});
    let run = exec(def, vec![("r", echo())]).start("one", json!({})).await;
    assert_eq!(run.aws_history_events(), 1 + 5 + 1);
}

#[tokio::test]
async fn a_cause_path_that_selects_no_string_is_a_runtime_error() {
    let def = json!({"StartAt": "F", "States": {
        "F": {"Type": "Fail", "Error": "Boom", "CausePath": "$.reason"}}});
    for input in [json!({"reason": null}), json!({"reason": 3}), json!({})] {
        let run = exec(def.clone(), vec![]).start("f", input.clone()).await;
        assert_eq!(run.error.as_deref(), Some("States.Runtime"), "{input}");
        assert!(
            run.cause.as_deref().unwrap().contains("CausePath"),
            "{input}"
        );
    }
    let run = exec(def, vec![]).start("f", json!({"reason": "why"})).await;
    assert_eq!(
        (run.error.as_deref(), run.cause.as_deref()),
        (Some("Boom"), Some("why"))
    );
}

#[tokio::test(start_paused = true)]
async fn a_stopped_execution_is_aborted_where_it_was_its_invocation_finishes_and_it_redrives() {
    // T1 takes 10 s; the execution is stopped 5 s in. The invocation runs on to its end (as a
    // Lambda invocation does when Step Functions stops the execution), the execution is Aborted
    // at T1, and a redrive runs T1 again, then T2.
    let done = Arc::new(AtomicUsize::new(0));
    let d = done.clone();
    let slow = handler(move |_input: Value| {
        let d = d.clone();
        async move {
            tokio::time::sleep(Duration::from_secs(10)).await;
            d.fetch_add(1, Ordering::SeqCst);
            Ok(json!({"slow": true}))
        }
    });
    let def = json!({"StartAt": "T1", "States": {
        "T1": {"Type": "Task", "Resource": "slow", "Next": "T2"},
        "T2": {"Type": "Task", "Resource": "echo", "End": true}
    }});
    let ex = Arc::new(
        exec(def, vec![("slow", slow), ("echo", echo())])
            .named("machine")
            .in_account("us-east-1", "123456789012"),
    );
    let stop = asl_executor::StopSignal::new();
    let running = {
        let (ex, stop) = (ex.clone(), stop.clone());
        tokio::spawn(async move { ex.start_stoppable("run-1", json!({}), stop).await })
    };
    tokio::time::sleep(Duration::from_secs(5)).await;
    stop.cancel();
    let mut e = running.await.unwrap();
    assert_eq!(e.status, Status::Aborted);
    assert_eq!(e.failed_state(), Some("T1"));
    assert_eq!(e.error.as_deref(), Some("States.Aborted"));
    assert_eq!(
        done.load(Ordering::SeqCst),
        0,
        "stopped before the call returned"
    );
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert_eq!(
        done.load(Ordering::SeqCst),
        1,
        "the invocation in flight ran to its end"
    );

    ex.redrive(&mut e).await.unwrap();
    assert_eq!(e.status, Status::Succeeded);
    assert_eq!(e.redrive_count, 1);
    assert!(e.redrive_time.is_some());
    assert_eq!(e.task_calls("T1"), 2);
    assert_eq!(e.task_calls("T2"), 1);
    assert_eq!(
        ex.execution_arn("run-1"),
        "arn:aws:states:us-east-1:123456789012:execution:machine:run-1"
    );
}

#[tokio::test(start_paused = true)]
async fn a_timed_out_task_is_cut_off() {
    let done = Arc::new(AtomicUsize::new(0));
    let d = done.clone();
    let slow = handler(move |_input: Value| {
        let d = d.clone();
        async move {
            tokio::time::sleep(Duration::from_secs(10)).await;
            d.fetch_add(1, Ordering::SeqCst);
            Ok(json!({}))
        }
    });
    let def = json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": "slow", "TimeoutSeconds": 2, "End": true}
    }});
    let e = exec(def, vec![("slow", slow)]).start("t", json!({})).await;
    assert_eq!(e.status, Status::Failed);
    assert_eq!(e.error.as_deref(), Some("States.Timeout"));
    tokio::time::sleep(Duration::from_secs(20)).await;
    assert_eq!(
        done.load(Ordering::SeqCst),
        0,
        "the cut-off call never finished"
    );
}

/// A handler that returns the string `s` repeated `n` times (`n` from the input's `n`).
fn big(s: &'static str) -> Handler {
    handler(move |input: Value| async move {
        Ok(json!(s.repeat(input["n"].as_u64().unwrap() as usize)))
    })
}

#[tokio::test(start_paused = true)]
async fn a_task_result_over_256_kib_fails_the_attempt_with_data_limit_exceeded() {
    assert_eq!(asl_executor::PAYLOAD_LIMIT_BYTES, 262_144);
    let def = json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": "big", "End": true}
    }});
    // "é" is two bytes of UTF-8: 131,071 of them and the quotes make 262,144 bytes, the cap.
    let at_cap = exec(def.clone(), vec![("big", big("é"))])
        .start("e", json!({"n": 131_071}))
        .await;
    assert_eq!(at_cap.status, Status::Succeeded);
    let over = exec(def, vec![("big", big("é"))])
        .start("e", json!({"n": 131_072}))
        .await;
    assert_eq!(over.status, Status::Failed);
    assert_eq!(over.error.as_deref(), Some("States.DataLimitExceeded"));
    assert_eq!(over.failed_state(), Some("T"));
    assert!(over.history.iter().any(|h| matches!(&h.event,
        asl_executor::Event::TaskFailed { error, .. } if error == "States.DataLimitExceeded")));
}

#[tokio::test(start_paused = true)]
async fn a_too_large_task_result_is_caught_like_any_task_error() {
    // As AWS recorded it: the failed attempt goes to the state's catcher, States.ALL included.
    let def = json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": "big", "End": true,
              "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}]},
        "Caught": {"Type": "Pass", "End": true}
    }});
    let e = exec(def, vec![("big", big("a"))])
        .start("e", json!({"n": 300_000}))
        .await;
    assert_eq!(e.status, Status::Succeeded);
    assert_eq!(e.states_entered(), vec!["T", "Caught"]);
    assert_eq!(
        e.output.unwrap()["Error"],
        json!("States.DataLimitExceeded")
    );
}

#[tokio::test(start_paused = true)]
async fn a_state_output_over_256_kib_fails_the_execution_past_any_catcher() {
    // The result fits, the output (the result merged into the input) does not: terminal.
    let def = json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": "big", "ResultPath": "$.r", "End": true,
              "Retry": [{"ErrorEquals": ["States.ALL"]}],
              "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}]},
        "Caught": {"Type": "Succeed"}
    }});
    let e = exec(def, vec![("big", big("a"))])
        .start("e", json!({"n": 262_140}))
        .await;
    assert_eq!(e.status, Status::Failed);
    assert_eq!(e.error.as_deref(), Some("States.DataLimitExceeded"));
    assert_eq!(e.states_entered(), vec!["T"], "no catcher ran");
    assert_eq!(e.task_calls("T"), 1, "no retrier ran");

    // A Pass state's Result over the cap, as in AWS's recorded history.
    let def = json!({"StartAt": "P", "States": {
        "P": {"Type": "Pass", "Result": {"Arg1": "a".repeat(257 * 1024)}, "End": true}}});
    let e = exec(def, vec![]).start("e", json!({})).await;
    assert_eq!(e.status, Status::Failed);
    assert_eq!(e.error.as_deref(), Some("States.DataLimitExceeded"));
    assert_eq!(
        e.cause.as_deref(),
        Some("The state/task 'P' returned a result with a size exceeding the maximum number of bytes service limit.")
    );
}

#[tokio::test(start_paused = true)]
async fn an_input_over_256_kib_after_parameters_fails_before_the_call() {
    let def = json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": "echo", "End": true,
              "Parameters": {"a.$": "$.s", "b.$": "$.s"},
              "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}]},
        "Caught": {"Type": "Succeed"}
    }});
    let e = exec(def, vec![("echo", echo())])
        .start("e", json!({"s": "a".repeat(200_000)}))
        .await;
    assert_eq!(e.status, Status::Failed);
    assert_eq!(e.error.as_deref(), Some("States.DataLimitExceeded"));
    assert_eq!(e.task_calls("T"), 0);
}

#[tokio::test(start_paused = true)]
async fn context_paths_work_in_choice_wait_and_fail() {
    // The state input holds none of the values: every path reads the context object.
    let def = json!({"StartAt": "P", "States": {
        "P": {"Type": "Pass", "Result": {"x": 1}, "Next": "C"},
        "C": {"Type": "Choice", "Default": "S", "Choices": [{"And": [
            {"Variable": "$$.Execution.Name", "StringEquals": "run-1"},
            {"Variable": "$$.Execution.Input.limit", "IsNumeric": true},
            {"Variable": "$.x", "NumericLessThanPath": "$$.Execution.Input.limit"}
        ], "Next": "W"}]},
        "W": {"Type": "Wait", "SecondsPath": "$$.Execution.Input.poll", "Next": "F"},
        "F": {"Type": "Fail", "ErrorPath": "$$.Execution.Input.err", "CausePath": "$$.State.Name"},
        "S": {"Type": "Succeed"}
    }});
    let e = exec(def, vec![])
        .start("run-1", json!({"poll": 30, "limit": 5, "err": "Custom"}))
        .await;
    assert_eq!(e.states_entered(), vec!["P", "C", "W", "F"]);
    assert_eq!(e.status, Status::Failed);
    assert_eq!(
        (e.error.as_deref(), e.cause.as_deref()),
        (Some("Custom"), Some("F"))
    );
    assert_eq!(e.duration(), Duration::from_secs(30));
}

#[tokio::test(start_paused = true)]
async fn the_context_object_counts_retries_and_keeps_the_entered_time() {
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let s = seen.clone();
    let recording = handler(move |input: Value| {
        let mut seen = s.lock().unwrap();
        seen.push(input);
        let n = seen.len();
        async move {
            if n < 3 {
                Err(TaskError::new("Throttled", "again"))
            } else {
                Ok(json!({}))
            }
        }
    });
    let def = json!({"StartAt": "W", "States": {
        "W": {"Type": "Wait", "Seconds": 90, "Next": "T"},
        "T": {"Type": "Task", "Resource": "r", "End": true,
              "Parameters": {"retry.$": "$$.State.RetryCount", "entered.$": "$$.State.EnteredTime",
                             "name.$": "$$.State.Name"},
              "Retry": [{"ErrorEquals": ["Throttled"], "IntervalSeconds": 2}]}
    }});
    let e = exec(def, vec![("r", recording)])
        .start("e", json!({}))
        .await;
    assert_eq!(e.status, Status::Succeeded);
    let entered = (e.start_time + chrono::Duration::seconds(90))
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let seen = seen.lock().unwrap();
    assert_eq!(
        *seen,
        (0..3)
            .map(|n| json!({"retry": n, "entered": entered, "name": "T"}))
            .collect::<Vec<_>>(),
        "RetryCount counts the retries; EnteredTime is when the state was entered"
    );
}

#[tokio::test(start_paused = true)]
async fn wait_timestamp_paths_read_the_input_or_the_context() {
    let def = json!({"StartAt": "W1", "States": {
        "W1": {"Type": "Wait", "TimestampPath": "$.until", "Next": "W2"},
        "W2": {"Type": "Wait", "TimestampPath": "$$.Execution.Input.later", "Next": "S"},
        "S": {"Type": "Succeed"}
    }});
    let ex = exec(def, vec![]);
    let t0 = chrono::Utc::now();
    let at = |s: i64| {
        (t0 + chrono::Duration::seconds(s)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    };
    let e = ex
        .start("e", json!({"until": at(100), "later": at(400)}))
        .await;
    assert_eq!(e.status, Status::Succeeded);
    // Timestamps are whole seconds: the waits end within a second of them.
    let d = e.duration();
    assert!(
        (Duration::from_secs(398)..=Duration::from_secs(400)).contains(&d),
        "{d:?}"
    );
    let e = ex.start("e", json!({"until": "tomorrow"})).await;
    assert_eq!(e.error.as_deref(), Some("States.Runtime"));
}
