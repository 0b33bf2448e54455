//! `metrics.json` as the training container writes it: `{"mape": 12.34, "rmse": .., "mae": ..}`,
//! `{"mape": null}` with too little data. Python's `json.dump` writes `NaN` and `Infinity`,
//! which are not JSON; they are read as unknown values, not as errors.

use serde_json::Value;

use crate::excerpt::{quote, quote_json};
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

/// The keys of a JSON object in order, duplicates kept (serde_json's map keeps only the last).
struct Keys(Vec<String>);

impl<'de> serde::Deserialize<'de> for Keys {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Keys;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut m: A) -> Result<Keys, A::Error> {
                let mut keys = Vec::new();
                while let Some((k, _)) = m.next_entry::<String, serde::de::IgnoredAny>()? {
                    keys.push(k);
                }
                Ok(Keys(keys))
            }
        }
        d.deserialize_map(V)
    }
}

/// Parse `metrics.json`. `Err` says why the document as a whole cannot be trusted (then MAPE
/// is unknown): not UTF-8, a byte-order mark, not JSON, not an object, a key written twice.
/// A document that parses but has no usable `mape`, or a metric of the wrong type, reads with
/// MAPE unknown and `unknown_reason` saying which field and why.
pub fn parse(bytes: &[u8]) -> Result<ModelMetrics, String> {
    if bytes.starts_with(b"\xEF\xBB\xBF") {
        return Err("starts with a UTF-8 byte-order mark: write plain UTF-8 (Python: encoding=\"utf-8\", not \"utf-8-sig\")".into());
    }
    let text = std::str::from_utf8(bytes).map_err(|e| format!("not UTF-8 text: {e}"))?;
    if text.trim().is_empty() {
        return Err("is empty".into());
    }
    let json = python_tokens_to_null(text);
    let value: Value = serde_json::from_str(&json).map_err(|e| format!("not JSON: {e}"))?;
    let obj = value
        .as_object()
        .ok_or_else(|| format!("not a JSON object: {}", quote_json(&value)))?;
    let Keys(keys) = serde_json::from_str(&json).map_err(|e| format!("not JSON: {e}"))?;
    let mut seen = std::collections::BTreeSet::new();
    if let Some(dup) = keys.iter().find(|k| !seen.insert(k.as_str())) {
        return Err(format!(
            "the key {} appears more than once: which value counts is ambiguous",
            quote(dup)
        ));
    }
    // rmse and mae: a number, null (or NaN) or absent; anything else is a broken writer.
    let mut wrong_type = None;
    let mut num = |k: &str| match obj.get(k) {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => n.as_f64().filter(|v| v.is_finite()),
        Some(other) => {
            wrong_type
                .get_or_insert_with(|| format!("`{k}` is not a number: {}", quote_json(other)));
            None
        }
    };
    let (rmse, mae) = (num("rmse"), num("mae"));
    let raw = obj.get("mape");
    let mape = usable_mape(raw.and_then(Value::as_f64));
    let unknown_reason = match (raw, mape) {
        (Some(Value::Number(_)), Some(_)) => wrong_type,
        (None, _) => Some("metrics.json has no `mape`".to_string()),
        (Some(Value::Null), _) => {
            Some("`mape` is null or not a finite number (too little history?)".to_string())
        }
        (Some(Value::Number(n)), None) => Some(format!("`mape` is negative: {n}")),
        (Some(other), _) => Some(format!("`mape` is not a number: {}", quote_json(other))),
    };
    Ok(ModelMetrics {
        mape: if unknown_reason.is_some() { None } else { mape },
        rmse,
        mae,
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
    fn documents_that_cannot_be_trusted_are_errors_saying_why() {
        let cases: [(&[u8], &str); 8] = [
            (b"[1]", "not a JSON object"),
            (b"{mape: 3", "not JSON"),
            (&[0xff, 0xfe, 0x7b], "not UTF-8"),
            (b"\xEF\xBB\xBF{\"mape\": 5}", "byte-order mark"),
            (b"  \n", "is empty"),
            (
                br#"{"mape": 45.0, "rmse": 3, "mape": 4.5}"#,
                "`mape` appears more than once",
            ),
            (br#""12.5""#, "not a JSON object"),
            (b"12.5", "not a JSON object"),
        ];
        for (doc, says) in cases {
            let e = parse(doc).unwrap_err();
            assert!(e.contains(says), "{}: {e}", String::from_utf8_lossy(doc));
        }
    }

    #[test]
    fn a_metric_of_the_wrong_type_leaves_mape_unknown() {
        let m = parse(br#"{"mape": 12.0, "rmse": "3.1", "mae": 2}"#).unwrap();
        assert_eq!(m.mape, None);
        assert!(m.unknown_reason.unwrap().contains("`rmse` is not a number"));
        let m = parse(br#"{"mape": true}"#).unwrap();
        assert!(m
            .unknown_reason
            .unwrap()
            .contains("`mape` is not a number: `true`"));
        let m = parse(br#"{"mape": 12.0, "rmse": null, "mae": NaN}"#).unwrap();
        assert_eq!((m.mape, m.rmse, m.mae), (Some(12.0), None, None));
    }
}
