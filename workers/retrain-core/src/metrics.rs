//! `metrics.json` as the training container writes it: `{"mape": 12.34, "rmse": .., "mae": ..}`,
//! `{"mape": null}` with too little data. Python's `json.dump` writes `NaN` and `Infinity`,
//! which are not JSON; they are read as unknown values, not as errors.

use serde_json::Value;

use crate::gate::usable_mape;

#[derive(Debug, Clone, PartialEq)]
pub struct ModelMetrics {
    pub mape: Option<f64>,
    pub rmse: Option<f64>,
    pub mae: Option<f64>,
    /// Why MAPE is unknown, when it is.
    pub unknown_reason: Option<String>,
}

/// Replace the bare tokens `NaN`, `Infinity`, `-Infinity` (outside strings) with `null`.
fn python_tokens_to_null(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_string = false;
    let mut escaped = false;
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
            rest = &rest[c.len_utf8()..];
            continue;
        }
        if c == '"' {
            in_string = true;
        }
        let token = ["-Infinity", "Infinity", "NaN"]
            .into_iter()
            .find(|t| rest.starts_with(t));
        if let Some(t) = token {
            out.push_str("null");
            rest = &rest[t.len()..];
        } else {
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    out
}

/// Parse `metrics.json`. Errors only when the document is not a JSON object at all.
pub fn parse(bytes: &[u8]) -> Result<ModelMetrics, String> {
    let text = std::str::from_utf8(bytes).map_err(|e| format!("not UTF-8: {e}"))?;
    let value: Value =
        serde_json::from_str(&python_tokens_to_null(text)).map_err(|e| format!("not JSON: {e}"))?;
    let obj = value
        .as_object()
        .ok_or_else(|| format!("not a JSON object: {value}"))?;
    let num = |k: &str| obj.get(k).and_then(Value::as_f64).filter(|v| v.is_finite());
    let raw = obj.get("mape");
    let mape = usable_mape(raw.and_then(Value::as_f64));
    let unknown_reason = match (raw, mape) {
        (_, Some(_)) => None,
        (None, _) => Some("metrics.json has no `mape`".to_string()),
        (Some(Value::Null), _) => {
            Some("`mape` is null or not a finite number (too little history?)".to_string())
        }
        (Some(Value::Number(n)), _) => Some(format!("`mape` is negative: {n}")),
        (Some(other), _) => Some(format!("`mape` is not a number: {other}")),
    };
    Ok(ModelMetrics {
        mape,
        rmse: num("rmse"),
        mae: num("mae"),
        unknown_reason,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_normal_document() {
        let m = parse(br#"{"mape": 12.34, "rmse": 5.6, "mae": 4.2}"#).unwrap();
        assert_eq!(m.mape, Some(12.34));
        assert_eq!(m.rmse, Some(5.6));
        assert_eq!(m.mae, Some(4.2));
        assert_eq!(m.unknown_reason, None);
    }

    #[test]
    fn unknown_mape_in_every_shape() {
        let cases: [&[u8]; 7] = [
            br#"{"mape": null}"#,
            br#"{"mape": NaN, "rmse": NaN}"#,
            br#"{"mape": Infinity}"#,
            br#"{"mape": -Infinity}"#,
            br#"{"mape": -3.5}"#,
            br#"{"mape": "12.3"}"#,
            br#"{"rmse": 1.0}"#,
        ];
        for c in cases {
            let m = parse(c).unwrap();
            assert_eq!(m.mape, None, "{}", String::from_utf8_lossy(c));
            assert!(m.unknown_reason.is_some());
        }
    }

    #[test]
    fn tokens_inside_strings_are_kept() {
        let m = parse(br#"{"note": "NaN \" Infinity", "mape": 3}"#).unwrap();
        assert_eq!(m.mape, Some(3.0));
    }

    #[test]
    fn not_an_object_is_an_error() {
        assert!(parse(b"[1]").is_err());
        assert!(parse(b"{mape: 3").is_err());
        assert!(parse(&[0xff, 0xfe]).is_err());
    }
}
