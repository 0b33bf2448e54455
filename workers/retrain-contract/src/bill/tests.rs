use super::*;

fn real_time(t: &str) -> Endpoint {
    Endpoint::RealTime {
        instance_type: t.into(),
        count: 1,
    }
}

fn line<'a>(lines: &'a [Line], item: &str) -> &'a Line {
    lines
        .iter()
        .find(|l| l.item == item)
        .unwrap_or_else(|| panic!("no line {item}"))
}

#[test]
fn the_price_book_reads_and_every_line_names_a_source_it_has() {
    let p = Prices::us_east_1();
    assert_eq!(
        (p.region.as_str(), p.as_of.as_str()),
        ("us-east-1", "2026-11")
    );
    let lines = monthly(&p, &Usage::assumed(real_time("ml.m5.large"), None)).unwrap();
    for l in &lines {
        assert!(p.sources.contains_key(l.source), "{l:?}");
    }
}

#[test]
fn the_endpoint_is_billed_every_hour_and_dominates_the_default() {
    let p = Prices::us_east_1();
    let lines = monthly(&p, &Usage::assumed(real_time("ml.m5.large"), None)).unwrap();
    let endpoint = line(&lines, "SageMaker endpoint (real-time)").usd;
    assert!((endpoint - 730.0 * 0.115).abs() < 1e-9, "{endpoint}");
    assert!(endpoint / total(&lines) > 0.8, "{lines:#?}");
    // The second fleet: 52/12 deploys x 10 minutes of one more instance.
    let bake = line(&lines, "blue/green: the second fleet while it bakes").usd;
    assert!((bake - 52.0 / 12.0 * (600.0 / 3600.0) * 0.115).abs() < 1e-9);
    // Training: 52/12 runs x 10 min at $0.115/h.
    let training = line(&lines, "SageMaker training").usd;
    assert!((training - 52.0 / 12.0 * 10.0 / 60.0 * 0.115).abs() < 1e-9);
    // The fixed CloudWatch lines: 6 alarms, 6 metrics, one dashboard.
    assert!((line(&lines, "CloudWatch alarms").usd - 0.6).abs() < 1e-9);
    assert!(line(&lines, "CloudWatch dashboard").usd == 3.0);
}

#[test]
fn serverless_and_spot_bill_what_is_used() {
    let p = Prices::us_east_1();
    let u = Usage::assumed(
        Endpoint::Serverless {
            memory_mb: 2048,
            seconds_per_invocation: 1.0,
        },
        Some(0.7),
    );
    let lines = monthly(&p, &u).unwrap();
    let compute = line(&lines, "SageMaker endpoint (serverless)").usd;
    let invocations = 36.0 * 365.0 / 12.0;
    assert!(
        (compute - invocations * 2.0 * 0.00002).abs() < 1e-9,
        "{compute}"
    );
    assert!(lines
        .iter()
        .all(|l| l.item != "blue/green: the second fleet while it bakes"));
    let training = line(&lines, "SageMaker training").usd;
    assert!((training - 0.3 * 52.0 / 12.0 * 10.0 / 60.0 * 0.115).abs() < 1e-9);
    // Idle serverless: twice the calls, twice the compute; the real-time bill would not move.
    let busier = Usage {
        invocations_per_day: 72.0,
        ..u.clone()
    };
    let twice = line(
        &monthly(&p, &busier).unwrap(),
        "SageMaker endpoint (serverless)",
    )
    .usd;
    assert!((twice - 2.0 * compute).abs() < 1e-9);
}

#[test]
fn an_instance_type_without_a_price_is_named() {
    let p = Prices::us_east_1();
    let err = monthly(&p, &Usage::assumed(real_time("ml.p4d.24xlarge"), None)).unwrap_err();
    assert!(
        err.contains("ml.p4d.24xlarge") && err.contains("ml.t2.medium"),
        "{err}"
    );
    let u = Usage {
        training_instance_type: "ml.x9.huge".into(),
        ..Usage::assumed(real_time("ml.m5.large"), None)
    };
    assert!(monthly(&p, &u)
        .unwrap_err()
        .contains("no training price for ml.x9.huge"));
}

#[test]
fn the_assumed_orchestration_is_the_state_machines_path() {
    let u = Usage::assumed(real_time("ml.m5.large"), None);
    let run = path::deploying_run(600, 600, 60);
    assert_eq!(
        u.transitions_per_run,
        run.iter().map(|(_, n)| *n as f64).sum::<f64>()
    );
    assert!(
        u.lambda_invocations_per_run >= 5.0 && u.lambda_invocations_per_run < u.transitions_per_run
    );
}
