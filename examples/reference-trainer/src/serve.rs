//! `reference-trainer serve`: the users' serving contract (`retrain_contract::serving`) over the
//! model a training job wrote. SageMaker runs `IMAGE serve` with the model unpacked in
//! `/opt/ml/model` and sends `/ping` and `/invocations` to port 8080; the proving ground sets
//! `SM_MODEL_DIR` and `SAGEMAKER_BIND_TO_PORT` instead.
//!
//! The model (`model.json`) keeps the daily series it was trained on; the server fits it once
//! when it starts, and `/ping` answers 200 only after that.

use std::path::Path;

use chrono::{Duration, NaiveDate, Utc};
use retrain_core::serving::{
    ForecastDay, ForecastRequest, ForecastResponse, MODEL_DIR_ENV, PORT_ENV,
};
use serde::Deserialize;
use tiny_http::{Header, Method, Response, Server};

use crate::forecast::{fit, forecast_with_intervals};

/// What `serve` needs of `model.json`.
#[derive(Debug, Deserialize)]
pub struct SavedModel {
    pub first_day: NaiveDate,
    pub series: Vec<f64>,
    /// The proving ground's broken models (`REFERENCE_TRAINER_FAULT` at training): `garbage`
    /// answers a forecast outside the contract.
    #[serde(default)]
    pub fault: Option<String>,
    /// Every forecast multiplied by this (`REFERENCE_TRAINER_FAULT=biased`); 1 when absent.
    #[serde(default)]
    pub bias: Option<f64>,
}

/// A fitted model, ready to answer.
pub struct Served {
    model: SavedModel,
    fitted: augurs::forecaster::Forecaster<
        augurs::mstl::MSTLModel<augurs::ets::trend::AutoETSTrendModel>,
    >,
}

impl Served {
    /// Load and fit `dir/model.json`. `Err`: why the model cannot serve (`/ping` fails).
    pub fn load(dir: &Path) -> Result<Self, String> {
        let path = dir.join("model.json");
        let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let model: SavedModel =
            serde_json::from_slice(&bytes).map_err(|e| format!("{}: {e}", path.display()))?;
        if model.series.is_empty() {
            return Err(format!("{}: the series is empty", path.display()));
        }
        let fitted = fit(&model.series)?;
        Ok(Served { model, fitted })
    }

    fn last_day(&self) -> NaiveDate {
        self.model.first_day + Duration::days(self.model.series.len() as i64 - 1)
    }

    /// The contract's answer to `req` (days before the training data: `Err`).
    pub fn answer(
        &self,
        req: &ForecastRequest,
        today: NaiveDate,
    ) -> Result<ForecastResponse, String> {
        let days: Vec<NaiveDate> = req.days(today).collect();
        let (first, last) = (days[0], days[days.len() - 1]);
        if first < self.model.first_day {
            return Err(format!(
                "start_date {first} is before the model's data, which begins {}",
                self.model.first_day
            ));
        }
        let ahead = (last - self.last_day()).num_days().max(0) as usize;
        let values = forecast_with_intervals(
            &self.fitted,
            self.model.first_day,
            &self.model.series,
            ahead,
        )?;
        let mut forecast = Vec::with_capacity(days.len());
        for (i, date) in days.into_iter().enumerate() {
            let at = (date - self.model.first_day).num_days() as usize;
            let (point, lower, upper) = values[at];
            let b = self.model.bias.unwrap_or(1.0);
            let (point, lower, upper) = (point * b, lower * b, upper * b);
            let day = ForecastDay::from_model(i as u32 + 1, date, point, lower, upper)
                .ok_or_else(|| format!("the model has no finite forecast for {date}"))?;
            forecast.push(day);
        }
        if self.model.fault.as_deref() == Some("garbage") {
            for d in &mut forecast {
                d.lower_bound = d.upper_bound + 1;
            }
        }
        Ok(ForecastResponse { forecast })
    }
}

fn json(status: u16, body: &serde_json::Value) -> Response<std::io::Cursor<Vec<u8>>> {
    Response::from_data(serde_json::to_vec(body).expect("json"))
        .with_status_code(status)
        .with_header(Header::from_bytes("Content-Type", "application/json").expect("header"))
}

/// Answer one request: `/ping`, `/invocations`, or 404.
pub fn respond(
    model: &Result<Served, String>,
    method: &Method,
    url: &str,
    body: &[u8],
) -> Response<std::io::Cursor<Vec<u8>>> {
    let error = |status, msg: String| json(status, &serde_json::json!({ "error": msg }));
    match (method, url, model) {
        (Method::Get, "/ping", Ok(_)) => json(200, &serde_json::json!({"status": "ok"})),
        (Method::Get, "/ping", Err(e)) => error(500, format!("model not loaded: {e}")),
        (Method::Post, "/invocations", Err(e)) => error(500, format!("model not loaded: {e}")),
        (Method::Post, "/invocations", Ok(m)) => match ForecastRequest::parse(body) {
            Err(e) => error(400, e),
            Ok(req) => match m.answer(&req, Utc::now().date_naive()) {
                Ok(answer) => json(200, &serde_json::to_value(answer).expect("json")),
                Err(e) => error(422, e),
            },
        },
        _ => error(404, format!("{method} {url}: not found")),
    }
}

/// Serve until the process is stopped (SIGTERM ends it at once: the server holds no state).
pub fn serve() -> Result<(), String> {
    let dir = std::env::var(MODEL_DIR_ENV).unwrap_or_else(|_| "/opt/ml/model".into());
    let port = match std::env::var(PORT_ENV) {
        Ok(p) => p
            .parse::<u16>()
            .map_err(|e| format!("{PORT_ENV}={p}: {e}"))?,
        Err(_) => 8080,
    };
    let server = Server::http(("0.0.0.0", port)).map_err(|e| format!("port {port}: {e}"))?;
    let model = Served::load(Path::new(&dir));
    match &model {
        Ok(_) => println!("serving {dir}/model.json on port {port}"),
        Err(e) => eprintln!("the model cannot serve: {e}"),
    }
    for mut request in server.incoming_requests() {
        let mut body = Vec::new();
        let _ = std::io::Read::read_to_end(request.as_reader(), &mut body);
        let response = respond(&model, request.method(), request.url(), &body);
        let _ = request.respond(response);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use retrain_core::serving::check_answer;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    /// Ten weeks of a weekly pattern from 2026-09-01, written as `train` writes it.
    fn model_dir(extra: serde_json::Value) -> std::path::PathBuf {
        let series: Vec<f64> = (0..70)
            .map(|i| [30.0, 42.0, 40.0, 38.0, 35.0, 12.0, 9.0][i % 7])
            .collect();
        let mut model = serde_json::json!({"first_day": "2026-09-01", "series": series});
        for (k, v) in extra.as_object().unwrap() {
            model[k] = v.clone();
        }
        let dir = std::env::temp_dir().join(format!(
            "ref-serve-{}-{}",
            std::process::id(),
            fastrand_suffix()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("model.json"), serde_json::to_vec(&model).unwrap()).unwrap();
        dir
    }

    fn fastrand_suffix() -> u128 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    }

    fn invoke(model: &Result<Served, String>, body: &str) -> (u16, serde_json::Value) {
        let r = respond(model, &Method::Post, "/invocations", body.as_bytes());
        let status = r.status_code().0;
        let mut out = Vec::new();
        std::io::Read::read_to_end(&mut r.into_reader(), &mut out).unwrap();
        (status, serde_json::from_slice(&out).unwrap())
    }

    #[test]
    fn the_contract_is_answered_after_and_within_the_history() {
        let model = Served::load(&model_dir(serde_json::json!({})));
        assert_eq!(
            respond(&model, &Method::Get, "/ping", b"").status_code().0,
            200
        );
        // After the data (it ends 2026-11-09), and across its end.
        for start in ["2026-11-10", "2026-11-05"] {
            let req = format!(r#"{{"horizon_days": 14, "start_date": "{start}"}}"#);
            let (status, body) = invoke(&model, &req);
            assert_eq!(status, 200, "{body}");
            let parsed = ForecastRequest::parse(req.as_bytes()).unwrap();
            let days = check_answer(
                &parsed,
                d("2026-01-01"),
                &serde_json::to_vec(&body).unwrap(),
            )
            .unwrap();
            // The weekly shape survives: the Sundays (index 6 of the pattern) are the low days.
            let sunday = days
                .iter()
                .find(|x| x.date.format("%a").to_string() == "Sun")
                .unwrap();
            let tuesday = days
                .iter()
                .find(|x| x.date.format("%a").to_string() == "Wed")
                .unwrap();
            assert!(
                sunday.forecast_ticket_count < tuesday.forecast_ticket_count,
                "{days:?}"
            );
        }
    }

    #[test]
    fn bad_requests_and_dates_before_the_data_are_refused() {
        let model = Served::load(&model_dir(serde_json::json!({})));
        let (status, body) = invoke(&model, r#"{"periods": 14}"#);
        assert_eq!(status, 400);
        assert!(
            body["error"].as_str().unwrap().contains("horizon_days"),
            "{body}"
        );
        let (status, body) = invoke(&model, r#"{"horizon_days": 3, "start_date": "2026-08-01"}"#);
        assert_eq!(status, 422);
        assert!(
            body["error"]
                .as_str()
                .unwrap()
                .contains("before the model's data"),
            "{body}"
        );
    }

    #[test]
    fn broken_models_fail_ping_or_break_the_contract() {
        let unloadable = Served::load(&model_dir(serde_json::json!({"series": []})));
        assert_eq!(
            respond(&unloadable, &Method::Get, "/ping", b"")
                .status_code()
                .0,
            500
        );
        let garbage = Served::load(&model_dir(serde_json::json!({"fault": "garbage"})));
        assert_eq!(
            respond(&garbage, &Method::Get, "/ping", b"")
                .status_code()
                .0,
            200
        );
        let req = r#"{"horizon_days": 3, "start_date": "2026-11-10"}"#;
        let (status, body) = invoke(&garbage, req);
        assert_eq!(status, 200);
        let err = check_answer(
            &ForecastRequest::parse(req.as_bytes()).unwrap(),
            d("2026-01-01"),
            &serde_json::to_vec(&body).unwrap(),
        )
        .unwrap_err();
        assert!(err.contains("does not hold"), "{err}");
    }

    #[test]
    fn a_biased_model_answers_its_bias_times_the_forecast() {
        let req = r#"{"horizon_days": 7, "start_date": "2026-11-10"}"#;
        let plain = Served::load(&model_dir(serde_json::json!({})));
        let biased = Served::load(&model_dir(serde_json::json!({"bias": 1.15})));
        let (_, plain) = invoke(&plain, req);
        let (status, biased) = invoke(&biased, req);
        assert_eq!(status, 200, "{biased}");
        for (p, b) in plain["forecast"]
            .as_array()
            .unwrap()
            .iter()
            .zip(biased["forecast"].as_array().unwrap())
        {
            let (p, b) = (
                p["forecast_ticket_count"].as_f64().unwrap(),
                b["forecast_ticket_count"].as_f64().unwrap(),
            );
            assert!((b - 1.15 * p).abs() <= 1.0, "{p} -> {b}");
        }
    }
}
