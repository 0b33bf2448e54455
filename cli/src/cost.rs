//! `retrain cost`: the monthly bill (`retrain_contract::bill`) for the given configuration, as
//! text, JSON, or the comparison table of docs/cost-and-performance.md.

use retrain_contract::bill::{monthly, total, Endpoint, Line, Prices, Usage};
use serde_json::json;

use crate::args::Cost;
use crate::commands::CliError;

/// The seed's claim for the whole system ("~$2-3/month"), which leaves out the endpoint.
pub const SEED_CLAIM: &str = "$2-3 (the seed's guide; no endpoint in it)";

fn invalid(field: &str, reason: impl Into<String>) -> CliError {
    CliError::Invalid {
        field: field.into(),
        reason: reason.into(),
    }
}

/// The usage the flags describe, checked as AWS would check the configuration.
pub fn usage(c: &Cost) -> Result<Usage, CliError> {
    let endpoint = match c.endpoint_type.as_str() {
        "serverless" => {
            let m = c.serverless_memory_mb;
            if !(1024..=6144).contains(&m) || !m.is_multiple_of(1024) {
                return Err(invalid(
                    "--serverless-memory-mb",
                    format!("{m}: serverless memory is 1024 to 6144 MB in 1024 MB steps"),
                ));
            }
            if !(c.serverless_seconds.is_finite() && c.serverless_seconds > 0.0) {
                return Err(invalid(
                    "--serverless-seconds",
                    "a positive number of seconds",
                ));
            }
            Endpoint::Serverless {
                memory_mb: m,
                seconds_per_invocation: c.serverless_seconds,
            }
        }
        _ => {
            if c.endpoint_instance_count == 0 {
                return Err(invalid("--endpoint-instance-count", "at least 1"));
            }
            Endpoint::RealTime {
                instance_type: c.endpoint_instance_type.clone(),
                count: c.endpoint_instance_count,
            }
        }
    };
    if !(0.0..1.0).contains(&c.spot_savings) {
        return Err(invalid(
            "--spot-savings",
            format!(
                "{}: a share of the training seconds, in [0, 1)",
                c.spot_savings
            ),
        ));
    }
    for (field, v) in [
        ("--training-minutes", c.training_minutes),
        ("--runs-per-month", c.runs_per_month),
        ("--invocations-per-day", c.invocations_per_day),
    ] {
        if !(v.is_finite() && v >= 0.0) {
            return Err(invalid(field, format!("{v}: a non-negative number")));
        }
    }
    let mut u = Usage::assumed(endpoint, (!c.on_demand).then_some(c.spot_savings));
    if c.no_dashboard {
        u.dashboards = 0;
    }
    u.training_instance_type = c.training_instance_type.clone();
    u.training_minutes = c.training_minutes;
    u.runs_per_month = c.runs_per_month;
    u.deploys_per_month = c.runs_per_month;
    u.invocations_per_day = c.invocations_per_day;
    Ok(u)
}

fn bill(p: &Prices, u: &Usage) -> Result<Vec<Line>, CliError> {
    monthly(p, u).map_err(|e| invalid("instance type", e))
}

/// The configurations docs/cost-and-performance.md compares, under the same usage (with the dashboard unless
/// said otherwise).
pub fn comparison(c: &Cost) -> Result<Vec<(&'static str, Vec<Line>)>, CliError> {
    let p = Prices::us_east_1();
    let mut base = usage(c)?;
    base.dashboards = 1;
    let real_time = |instance_type: &str| Endpoint::RealTime {
        instance_type: instance_type.into(),
        count: 1,
    };
    let first = Usage {
        endpoint: real_time("ml.m5.large"),
        spot_savings: None,
        ..base.clone()
    };
    let original = Usage {
        endpoint: real_time("ml.t2.medium"),
        ..first.clone()
    };
    let default = Usage {
        endpoint: real_time("ml.t2.medium"),
        spot_savings: Some(c.spot_savings),
        ..base.clone()
    };
    let lean = Usage {
        endpoint: Endpoint::Serverless {
            memory_mb: 2048,
            seconds_per_invocation: c.serverless_seconds,
        },
        spot_savings: Some(c.spot_savings),
        dashboards: 0,
        ..base
    };
    Ok(vec![
        ("first default (ml.m5.large, on demand)", bill(&p, &first)?),
        (
            "the original's ml.t2.medium, on demand",
            bill(&p, &original)?,
        ),
        ("default (ml.t2.medium, spot)", bill(&p, &default)?),
        ("serverless 2 GB, spot, no dashboard", bill(&p, &lean)?),
    ])
}

pub fn render(c: &Cost, as_json: bool) -> Result<String, CliError> {
    let p = Prices::us_east_1();
    if c.compare {
        let rows = comparison(c)?;
        if as_json {
            let all: Vec<_> = rows
                .iter()
                .map(|(name, lines)| json!({"configuration": name, "lines": lines, "total_usd": total(lines)}))
                .collect();
            return Ok(format!(
                "{}\n",
                serde_json::to_string_pretty(&all).expect("serialises")
            ));
        }
        let mut out = String::from("| line |");
        for (name, _) in &rows {
            out += &format!(" {name} |");
        }
        out += &format!("\n|---|{}\n", "---|".repeat(rows.len()));
        for (i, l) in rows[0].1.iter().enumerate() {
            out += &format!("| {} |", l.item);
            for (_, lines) in &rows {
                // The serverless bill has its own endpoint lines in the same places.
                out += &format!(" ${:.2} |", lines.get(i).map_or(0.0, |l| l.usd));
            }
            out += "\n";
        }
        out += "| **a month** |";
        for (_, lines) in &rows {
            out += &format!(" **${:.2}** |", total(lines));
        }
        out += &format!(
            "\n\nThe seed's claim: {SEED_CLAIM}. Prices: us-east-1, {} (`prices/us-east-1.json`, \
             each with its source).\n",
            p.as_of
        );
        return Ok(out);
    }
    let u = usage(c)?;
    let lines = bill(&p, &u)?;
    if as_json {
        return Ok(format!(
            "{}\n",
            serde_json::to_string_pretty(&json!({
                "region": p.region, "prices_as_of": p.as_of, "usage": u, "lines": lines,
                "total_usd": total(&lines), "seed_claim": SEED_CLAIM,
            }))
            .expect("serialises")
        ));
    }
    let mut out = format!(
        "A month, us-east-1 list prices of {} (no free tier):\n",
        p.as_of
    );
    for l in &lines {
        out += &format!(
            "  {:>9}  {:<45} {}\n",
            format!("${:.2}", l.usd),
            l.item,
            l.usage
        );
    }
    out += &format!(
        "  {:>9}  total (the seed's claim: {SEED_CLAIM})\n",
        format!("${:.2}", total(&lines))
    );
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn cost(args: &[&str]) -> Cost {
        let cli = crate::Cli::parse_from([&["retrain", "cost"], args].concat());
        match cli.command {
            crate::Command::Cost(c) => c,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_default_bill_is_still_mostly_the_endpoint_around_the_clock() {
        let text = render(&cost(&[]), false).unwrap();
        assert!(
            text.contains("SageMaker endpoint (real-time)") && text.contains("ml.t2.medium"),
            "{text}"
        );
        let json: serde_json::Value =
            serde_json::from_str(&render(&cost(&[]), true).unwrap()).unwrap();
        let total = json["total_usd"].as_f64().unwrap();
        let on_demand: serde_json::Value =
            serde_json::from_str(&render(&cost(&["--on-demand"]), true).unwrap()).unwrap();
        assert!(
            on_demand["total_usd"].as_f64().unwrap() > total,
            "spot costs less"
        );
        assert!((40.0..60.0).contains(&total), "{total}");
    }

    #[test]
    fn serverless_with_spot_and_no_dashboard_meets_the_seeds_three_dollars() {
        let rows = comparison(&cost(&[])).unwrap();
        let totals: Vec<f64> = rows.iter().map(|(_, l)| total(l)).collect();
        assert!(
            totals[0] > totals[1] && totals[1] > totals[2] && totals[2] > totals[3],
            "{totals:?}"
        );
        assert!(totals[3] <= 3.0, "{totals:?}");
        // Without the idle instance, CloudWatch's fixed lines (alarms, metrics) are most of
        // what is left.
        let cloudwatch: f64 = rows[3]
            .1
            .iter()
            .filter(|l| l.item.starts_with("CloudWatch"))
            .map(|l| l.usd)
            .sum();
        assert!(cloudwatch > 0.8 * totals[3], "{:#?}", rows[3]);
        let dashboard = |i: usize| {
            rows[i]
                .1
                .iter()
                .find(|l| l.item == "CloudWatch dashboard")
                .unwrap()
                .usd
        };
        assert_eq!(dashboard(3), 0.0);
        assert!(dashboard(2) > 0.0);
        let table = render(&cost(&["--compare"]), false).unwrap();
        assert!(table.starts_with("| line | first default"), "{table}");
        assert!(table.contains("| **a month** |"), "{table}");
    }

    #[test]
    fn the_documented_cost_table_is_the_commands() {
        let doc = include_str!("../../docs/cost-and-performance.md");
        let table = &doc[doc.find("<!-- cost-table -->\n").unwrap() + "<!-- cost-table -->\n".len()
            ..doc.find("<!-- /cost-table -->").unwrap()];
        assert_eq!(
            table.trim(),
            render(&cost(&["--compare"]), false).unwrap().trim(),
            "docs/cost-and-performance.md's cost table: run `retrain cost --compare` and paste it"
        );
    }

    #[test]
    fn a_configuration_aws_would_refuse_is_refused() {
        let e = render(
            &cost(&[
                "--endpoint-type",
                "serverless",
                "--serverless-memory-mb",
                "1500",
            ]),
            false,
        )
        .unwrap_err();
        assert!(
            matches!(&e, CliError::Invalid { field, .. } if field == "--serverless-memory-mb"),
            "{e}"
        );
        let e = render(&cost(&["--spot-savings", "1.2"]), false).unwrap_err();
        assert!(e.to_string().contains("--spot-savings"), "{e}");
        let e = render(&cost(&["--endpoint-instance-type", "ml.z9.huge"]), false).unwrap_err();
        assert!(
            e.to_string().contains("no hosting price for ml.z9.huge"),
            "{e}"
        );
    }
}
