//! The page for full and partial reports: it parses as HTML, holds one `<svg>` per chart with
//! the expected number of points, and its numbers are the run's.

use chrono::{Duration, NaiveDate, TimeZone, Utc};
use scraper::{Html, Selector};

use crate::charts::{self, hex};
use crate::model::*;
use crate::render::{fold_mape, render};

fn day(n: i64) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 10, 1).unwrap() + Duration::days(n)
}

fn full() -> Report {
    let t0 = Utc.with_ymd_and_hms(2026, 11, 22, 9, 0, 0).unwrap();
    let days = (0..40)
        .map(|i| Day {
            day: day(i),
            old: if i < 33 { 100 + (i as u64 % 7) * 5 } else { 0 },
            new: if i >= 33 { 140 } else { 0 },
        })
        .collect();
    let mut points = Vec::new();
    for fold in ["0", "1"] {
        for i in 0..7 {
            points.push(FoldPoint {
                date: day(20 + i + if fold == "1" { 7 } else { 0 }),
                actual: 100.0 + i as f64,
                forecast: 110.0,
                fold: fold.into(),
            });
        }
    }
    Report {
        execution: "weekly-2026-11-22".into(),
        generated_at: t0,
        decision: Decision::Rejected,
        reason: "MAPE 23.40 % is at or over the threshold 20.00 % <b>".into(),
        job: Some("prophet-retrain-weekly-2026-11-22".into()),
        billing: Some(retrain_core::payload::TrainingBilling {
            spot: true,
            training_seconds: 600,
            billable_seconds: 180,
        }),
        mape: Some(23.4),
        threshold: 20.0,
        floor: 1.0,
        version_arn: Some("arn:aws:sagemaker:us-east-1:123456789012:model-package/g/3".into()),
        serving_before: "g-v2-abc".into(),
        serving_after: "g-v2-abc".into(),
        alerts: vec!["Model Needs Manual Approval".into()],
        data: None,
        states: Ok(vec![
            StateSpan {
                name: "StartTraining".into(),
                entered: t0,
                seconds: 2.5,
                entries: 1,
                running: false,
            },
            StateSpan {
                name: "RejectAndAlert".into(),
                entered: t0 + Duration::minutes(30),
                seconds: 0.0,
                entries: 1,
                running: true,
            },
        ]),
        daily: Ok(DailySeries {
            days,
            baseline_mean: Some(115.0),
            new_mean: Some(140.0),
            files_read: 6,
            new_files: 1,
            partial: None,
        }),
        folds: Ok(Folds {
            points,
            bad_rows: 0,
            first_bad: None,
        }),
        history: Ok(vec![
            HistoryPoint {
                version: 1,
                trained_at: Some(t0 - Duration::days(14)),
                mape: Some(12.0),
                threshold: Some(20.0),
                decision: "deployed".into(),
                status: "Approved".into(),
                this_run: false,
            },
            HistoryPoint {
                version: 2,
                trained_at: Some(t0 - Duration::days(7)),
                mape: None,
                threshold: Some(20.0),
                decision: "mape_unknown".into(),
                status: "PendingManualApproval".into(),
                this_run: false,
            },
            HistoryPoint {
                version: 3,
                trained_at: Some(t0),
                mape: Some(23.4),
                threshold: Some(20.0),
                decision: "rejected".into(),
                status: "PendingManualApproval".into(),
                this_run: true,
            },
        ]),
    }
}

fn sel(s: &str) -> Selector {
    Selector::parse(s).unwrap()
}

/// The number of points of the polylines drawn in `colour` in a chart, and its circles filled
/// in `fill`.
fn polylines(page: &Html, chart: &str, colour: &str) -> Vec<usize> {
    page.select(&sel(&format!("figure[data-chart={chart}] polyline")))
        .filter(|p| p.value().attr("stroke") == Some(colour))
        .map(|p| p.value().attr("points").unwrap().split_whitespace().count())
        .collect()
}

fn circles(page: &Html, chart: &str, fill: &str) -> usize {
    page.select(&sel(&format!("figure[data-chart={chart}] circle")))
        .filter(|c| c.value().attr("fill") == Some(fill))
        .count()
}

fn field(page: &Html, name: &str) -> String {
    page.select(&sel(&format!("[data-field={name}]")))
        .next()
        .unwrap_or_else(|| panic!("no field {name}"))
        .text()
        .collect()
}

#[test]
fn the_full_report_draws_every_chart_with_every_point() {
    let r = full();
    let html = render(&r);
    let page = Html::parse_document(&html);
    assert!(page.errors.is_empty(), "{:?}", page.errors);
    assert_eq!(
        field(&page, "billing"),
        "600 s trained, 180 s billed (managed spot: 70 % saved)"
    );
    assert_eq!(page.select(&sel("svg")).count(), 3);
    for (chart, points) in [("daily", 40), ("folds", 14), ("history", 2)] {
        let fig = page
            .select(&sel(&format!("figure[data-chart={chart}]")))
            .next()
            .unwrap();
        assert_eq!(
            fig.value().attr("data-points"),
            Some(points.to_string().as_str())
        );
    }
    // Daily: one line through the 40 days, a point on each of the 7 new days, two means.
    assert_eq!(polylines(&page, "daily", &hex(charts::TOTAL)), vec![40]);
    assert_eq!(circles(&page, "daily", &hex(charts::NEW)), 7);
    assert_eq!(polylines(&page, "daily", &hex(charts::BASELINE)), vec![2]);
    assert_eq!(polylines(&page, "daily", &hex(charts::NEW_MEAN)), vec![2]);
    // Folds: a forecast line of 7 days per fold, 14 actuals.
    assert_eq!(
        polylines(&page, "folds", &hex(charts::fold_colour(0))),
        vec![7]
    );
    assert_eq!(
        polylines(&page, "folds", &hex(charts::fold_colour(1))),
        vec![7]
    );
    assert_eq!(circles(&page, "folds", &hex(charts::ACTUAL)), 14);
    // History: the two versions with a MAPE, v3 (this run) rejected, the threshold line.
    assert_eq!(circles(&page, "history", &hex(charts::DEPLOYED)), 1);
    assert_eq!(circles(&page, "history", &hex(charts::REJECTED)), 1);
    assert_eq!(polylines(&page, "history", &hex(charts::TREND)), vec![2]);
    assert_eq!(
        polylines(&page, "history", &hex(charts::THRESHOLD)),
        vec![2]
    );
    // The numbers are the run's.
    assert_eq!(field(&page, "mape"), "23.40 %");
    assert_eq!(field(&page, "threshold"), "20.00 %");
    assert_eq!(field(&page, "decision"), "rejected");
    assert_eq!(field(&page, "serving_before"), "g-v2-abc");
    assert_eq!(field(&page, "alerts"), "Model Needs Manual Approval");
    let this_run: String = page
        .select(&sel("tr[data-this-run]"))
        .next()
        .unwrap()
        .text()
        .collect();
    assert!(
        this_run.contains("v3") && this_run.contains("23.40 %"),
        "{this_run}"
    );
    let reject: String = page
        .select(&sel("tr[data-state=RejectAndAlert]"))
        .next()
        .unwrap()
        .text()
        .collect();
    assert!(reject.contains("running"), "{reject}");
    assert!(
        html.contains("&lt;b&gt;") && !html.contains("<b>"),
        "the reason is escaped"
    );
}

#[test]
fn the_page_is_self_contained() {
    let html = render(&full());
    let page = Html::parse_document(&html);
    assert_eq!(
        page.select(&sel("script, link, img, iframe, object"))
            .count(),
        0
    );
    let external: Vec<_> = page.select(&sel("[src], [href]")).collect();
    assert!(external.is_empty(), "external references: {external:?}");
    assert!(!html.contains("url("), "no CSS fetch");
}

#[test]
fn a_report_with_missing_parts_says_what_is_missing() {
    let mut r = full();
    r.decision = Decision::TrainingFailed;
    r.mape = None;
    r.folds = Err("the training job did not complete: no predictions".into());
    r.history = Ok(vec![HistoryPoint {
        version: 1,
        trained_at: None,
        mape: None,
        threshold: None,
        decision: "-".into(),
        status: "Approved".into(),
        this_run: false,
    }]);
    r.states = Err("the run does not carry its execution's ARN".into());
    let page = Html::parse_document(&render(&r));
    assert_eq!(page.select(&sel("svg")).count(), 1, "only the daily chart");
    let missing: Vec<(String, String)> = page
        .select(&sel("[data-missing]"))
        .map(|m| {
            (
                m.value().attr("data-missing").unwrap().to_string(),
                m.text().collect(),
            )
        })
        .collect();
    let names: Vec<&str> = missing.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["folds", "history", "states"]);
    assert!(missing[0].1.contains("did not complete"));
    assert!(missing[1].1.contains("no version with a known MAPE"));
    assert_eq!(field(&page, "mape"), "unknown");
    assert_eq!(field(&page, "decision"), "training failed");
}

#[test]
fn fold_mape_skips_days_without_tickets() {
    let f = Folds {
        points: vec![
            FoldPoint {
                date: day(0),
                actual: 100.0,
                forecast: 110.0,
                fold: "a".into(),
            },
            FoldPoint {
                date: day(1),
                actual: 0.0,
                forecast: 5.0,
                fold: "a".into(),
            },
            FoldPoint {
                date: day(2),
                actual: 50.0,
                forecast: 40.0,
                fold: "a".into(),
            },
        ],
        bad_rows: 0,
        first_bad: None,
    };
    assert_eq!(fold_mape(&f, "a"), Some(15.0));
    assert_eq!(fold_mape(&f, "b"), None);
}
