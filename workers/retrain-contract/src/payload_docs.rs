//! docs/architecture.md documents every payload with an example, and docs/configuration.md holds
//! the configuration table; these tests parse the examples into the real types and compare the
//! table with `VARS`, so the documentation cannot drift from the code.

#[cfg(test)]
mod tests {
    use crate::config::VARS;
    use crate::payload::*;

    const ARCHITECTURE: &str = include_str!("../../../docs/architecture.md");
    const CONFIGURATION: &str = include_str!("../../../docs/configuration.md");

    /// (type name, JSON text) of every `<!-- payload: Type -->` block.
    fn examples() -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut rest = ARCHITECTURE;
        while let Some(i) = rest.find("<!-- payload: ") {
            rest = &rest[i + "<!-- payload: ".len()..];
            let ty = rest[..rest.find(" -->").unwrap()].to_string();
            let start = rest.find("```json\n").unwrap() + "```json\n".len();
            let end = start + rest[start..].find("```").unwrap();
            out.push((ty, rest[start..end].to_string()));
        }
        out
    }

    #[test]
    fn every_documented_payload_parses() {
        let examples = examples();
        assert!(examples.len() >= 7, "found {}", examples.len());
        for (ty, text) in examples {
            let v: serde_json::Value =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{ty}: {e}"));
            let ok = match ty.as_str() {
                "State" => serde_json::from_value::<State>(v).map(|_| ()),
                "StatusRequest" => serde_json::from_value::<StatusRequest>(v).map(|_| ()),
                "Status" => serde_json::from_value::<Status>(v).map(|_| ()),
                "Evaluation" => serde_json::from_value::<Evaluation>(v).map(|_| ()),
                "Deployment" => serde_json::from_value::<Deployment>(v).map(|_| ()),
                "AlertRequest" => serde_json::from_value::<AlertRequest>(v).map(|_| ()),
                "AlertOutcome" => serde_json::from_value::<AlertOutcome>(v).map(|_| ()),
                other => panic!("docs/architecture.md names an unknown payload type {other}"),
            };
            ok.unwrap_or_else(|e| {
                panic!("docs/architecture.md's example of {ty} does not parse: {e}")
            });
        }
    }

    #[test]
    fn the_configuration_table_lists_every_variable_and_default() {
        let table = &CONFIGURATION[CONFIGURATION.find("<!-- config-table -->").unwrap()
            ..CONFIGURATION.find("<!-- /config-table -->").unwrap()];
        for var in VARS {
            let default = var
                .default
                .map(|d| {
                    if d.is_empty() {
                        "empty".to_string()
                    } else {
                        format!("`{d}`")
                    }
                })
                .unwrap_or_else(|| "required".into());
            let row = format!("| `{}` | {} | {} |", var.name, default, var.meaning);
            assert!(
                table.contains(&row),
                "docs/configuration.md lacks the row: {row}"
            );
        }
        assert_eq!(
            table.matches("\n| `").count(),
            VARS.len(),
            "docs/configuration.md lists a variable the code does not read"
        );
    }
}
