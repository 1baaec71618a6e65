//! YAML to [`serde_json::Value`] with yaml-rust2 (the manifest tests read `bosh int`'s output
//! with it): one document, anchors resolved, map keys must be scalars (turned into strings),
//! plain scalars typed the YAML 1.2 core way.

use std::path::Path;

use anyhow::{Context, Result, bail};
use serde_json::{Map, Number, Value};
use yaml_rust2::{Yaml, YamlLoader};

/// Parses one YAML document (an empty text is `null`).
pub fn parse_yaml(text: &str) -> Result<Value> {
    let mut docs = YamlLoader::load_from_str(text).context("not valid YAML")?;
    match docs.len() {
        0 => Ok(Value::Null),
        1 => to_json(docs.remove(0)),
        n => bail!("expected one YAML document, found {n}"),
    }
}

/// Reads and parses a YAML file; errors name it.
pub fn load_yaml(path: &Path) -> Result<Value> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    parse_yaml(&text).with_context(|| format!("parsing {}", path.display()))
}

fn to_json(yaml: Yaml) -> Result<Value> {
    Ok(match yaml {
        Yaml::Null => Value::Null,
        Yaml::Boolean(b) => Value::Bool(b),
        Yaml::Integer(n) => Value::Number(n.into()),
        Yaml::Real(text) => {
            let f: f64 = text.parse().with_context(|| format!("float {text:?}"))?;
            Value::Number(Number::from_f64(f).with_context(|| format!("float {text:?}"))?)
        }
        Yaml::String(s) => Value::String(s),
        Yaml::Array(items) => Value::Array(items.into_iter().map(to_json).collect::<Result<_>>()?),
        Yaml::Hash(hash) => {
            let mut map = Map::new();
            for (k, v) in hash {
                let key = match k {
                    Yaml::String(s) | Yaml::Real(s) => s,
                    Yaml::Integer(n) => n.to_string(),
                    Yaml::Boolean(b) => b.to_string(),
                    other => bail!("unsupported map key {other:?}"),
                };
                map.insert(key, to_json(v)?);
            }
            Value::Object(map)
        }
        Yaml::Alias(_) | Yaml::BadValue => bail!("unresolved alias or bad value: {yaml:?}"),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::parse_yaml;

    #[test]
    fn yaml_scalars_keep_their_types() {
        let text = "a: '0660'\nb: 0660\nc: 1.5\nd: true\ne: ~\nf: ((x))\ng: &x {k: 1}\nh: *x\n";
        let v = parse_yaml(text).unwrap();
        // Unquoted 0660 is 660 here (YAML 1.2) but 432 to bosh's Go YAML (1.1 octal):
        // manifests must quote file modes.
        assert_eq!(
            v,
            json!({"a": "0660", "b": 660, "c": 1.5, "d": true, "e": null, "f": "((x))",
                   "g": {"k": 1}, "h": {"k": 1}})
        );
        assert!(parse_yaml("a: [").is_err());
    }
}
