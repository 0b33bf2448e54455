//! Reference paths (`$`, `$.a.b`, `$.a[0]`, `$['a-b']`, `$$.Execution.Name`): the only JSONPath
//! the definition uses, and the only kind ResultPath may use. Read and write.

use serde_json::{Map, Value};

#[derive(Debug, Clone, PartialEq)]
pub enum Segment {
    Field(String),
    Index(usize),
}

#[derive(Debug, Clone, PartialEq)]
pub struct RefPath {
    /// `$$`: the context object.
    pub context: bool,
    pub segments: Vec<Segment>,
    pub raw: String,
}

impl std::fmt::Display for RefPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.raw)
    }
}

impl RefPath {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let (context, mut rest) = if let Some(r) = raw.strip_prefix("$$") {
            (true, r)
        } else if let Some(r) = raw.strip_prefix('$') {
            (false, r)
        } else {
            return Err(format!("`{raw}` is not a path: it must start with `$`"));
        };
        let unsupported = |what: &str| {
            Err(format!(
                "`{raw}`: {what} is not supported (only reference paths: $.a.b, $.a[0], $['a'])"
            ))
        };
        let mut segments = Vec::new();
        while !rest.is_empty() {
            if let Some(r) = rest.strip_prefix('.') {
                if r.starts_with('.') {
                    return unsupported("`..` (recursive descent)");
                }
                let end = r.find(['.', '[']).unwrap_or(r.len());
                let name = &r[..end];
                if name.is_empty() {
                    return Err(format!("`{raw}`: empty field name"));
                }
                if name.contains(['*', '?', '@', ']', ' ', '(', ')']) {
                    return unsupported(&format!("`{name}`"));
                }
                segments.push(Segment::Field(name.to_string()));
                rest = &r[end..];
            } else if let Some(r) = rest.strip_prefix('[') {
                let close = r
                    .find(']')
                    .ok_or_else(|| format!("`{raw}`: `[` without `]`"))?;
                let inner = &r[..close];
                if let Ok(i) = inner.parse::<usize>() {
                    segments.push(Segment::Index(i));
                } else if let Some(name) =
                    inner.strip_prefix('\'').and_then(|s| s.strip_suffix('\''))
                {
                    segments.push(Segment::Field(name.to_string()));
                } else {
                    return unsupported(&format!("`[{inner}]`"));
                }
                rest = &r[close + 1..];
            } else {
                return Err(format!("`{raw}`: unexpected `{rest}`"));
            }
        }
        Ok(RefPath {
            context,
            segments,
            raw: raw.to_string(),
        })
    }

    pub fn is_root(&self) -> bool {
        self.segments.is_empty()
    }

    /// The value this path selects: in the context object for `$$` paths, else in `input`.
    pub fn resolve<'a>(&self, input: &'a Value, context: &'a Value) -> Option<&'a Value> {
        self.get(if self.context { context } else { input })
    }

    /// The value at this path's segments in `doc` (whichever document it is).
    pub fn get<'a>(&self, doc: &'a Value) -> Option<&'a Value> {
        let mut cur = doc;
        for seg in &self.segments {
            cur = match (seg, cur) {
                (Segment::Field(f), Value::Object(m)) => m.get(f)?,
                (Segment::Index(i), Value::Array(a)) => a.get(*i)?,
                _ => return None,
            };
        }
        Some(cur)
    }

    /// Put `value` at this path in `doc`, creating missing objects on the way (ResultPath).
    pub fn set(&self, doc: &mut Value, value: Value) -> Result<(), String> {
        let Some((last, parents)) = self.segments.split_last() else {
            *doc = value;
            return Ok(());
        };
        let mut cur = doc;
        for seg in parents {
            cur = match seg {
                Segment::Field(f) => {
                    if !cur.is_object() {
                        return Err(format!(
                            "`{}`: cannot set `{f}` inside a non-object",
                            self.raw
                        ));
                    }
                    cur.as_object_mut()
                        .expect("checked")
                        .entry(f.clone())
                        .or_insert_with(|| Value::Object(Map::new()))
                }
                Segment::Index(i) => cur
                    .as_array_mut()
                    .and_then(|a| a.get_mut(*i))
                    .ok_or_else(|| format!("`{}`: no element {i}", self.raw))?,
            };
        }
        match last {
            Segment::Field(f) => match cur {
                Value::Object(m) => {
                    m.insert(f.clone(), value);
                    Ok(())
                }
                _ => Err(format!(
                    "`{}`: cannot set `{f}` inside a non-object",
                    self.raw
                )),
            },
            Segment::Index(i) => match cur.as_array_mut().and_then(|a| a.get_mut(*i)) {
                Some(slot) => {
                    *slot = value;
                    Ok(())
                }
                None => Err(format!("`{}`: no element {i}", self.raw)),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_reference_paths() {
        let p = RefPath::parse("$.run.training['job-name'][2]").unwrap();
        assert!(!p.context);
        assert_eq!(
            p.segments,
            vec![
                Segment::Field("run".into()),
                Segment::Field("training".into()),
                Segment::Field("job-name".into()),
                Segment::Index(2)
            ]
        );
        assert!(RefPath::parse("$$.Execution.Name").unwrap().context);
        assert!(RefPath::parse("$").unwrap().is_root());
        assert!(RefPath::parse("$.a-b").is_ok(), "hyphens are allowed");
    }

    #[test]
    fn rejects_what_is_not_a_reference_path() {
        for bad in ["a.b", "$..a", "$.a[*]", "$.a[?(@.b)]", "$.", "$.a[", "$[x]"] {
            assert!(RefPath::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn get_and_set() {
        let mut doc = json!({"a": {"b": [1, {"c": 2}]}});
        assert_eq!(
            RefPath::parse("$.a.b[1].c").unwrap().get(&doc),
            Some(&json!(2))
        );
        assert_eq!(RefPath::parse("$.a.x").unwrap().get(&doc), None);
        RefPath::parse("$.n.m")
            .unwrap()
            .set(&mut doc, json!(5))
            .unwrap();
        assert_eq!(doc["n"]["m"], json!(5), "parents are created");
        RefPath::parse("$.a.b[0]")
            .unwrap()
            .set(&mut doc, json!("x"))
            .unwrap();
        assert_eq!(doc["a"]["b"][0], json!("x"));
        assert!(RefPath::parse("$.a.b[0].z")
            .unwrap()
            .set(&mut doc, json!(1))
            .is_err());
        RefPath::parse("$")
            .unwrap()
            .set(&mut doc, json!(1))
            .unwrap();
        assert_eq!(doc, json!(1));
    }
}
