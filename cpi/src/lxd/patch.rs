//! PATCH bodies: what changed between the object before and after an edit.

use serde_json::{Map, Value};

use super::failure::Failure;

/// Builds a PATCH body from the object before and after an edit: top-level fields
/// that changed, and for the maps LXD merges (`config`, `devices`) only the
/// entries that were added or changed. A removed entry is an error (see [`crate::lxd::Edit::Merge`]).
pub(crate) fn merge_patch(before: &Value, after: &Value) -> Result<Value, Failure> {
    const MERGED: [&str; 2] = ["config", "devices"];
    let empty = Map::new();
    let before = before.as_object().unwrap_or(&empty);
    let after = after.as_object().unwrap_or(&empty);
    let mut patch = Map::new();
    for (key, new) in after {
        let old = before.get(key);
        if old == Some(new) {
            continue;
        }
        match (
            MERGED.contains(&key.as_str()),
            old.and_then(Value::as_object),
            new.as_object(),
        ) {
            (true, Some(old_map), Some(new_map)) => {
                if let Some(gone) = old_map.keys().find(|k| !new_map.contains_key(*k)) {
                    return Err(Failure::PatchRemovesEntry {
                        map: key.clone(),
                        entry: gone.clone(),
                    });
                }
                let changed: Map<String, Value> = new_map
                    .iter()
                    .filter(|(k, v)| old_map.get(*k) != Some(*v))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                patch.insert(key.clone(), Value::Object(changed));
            }
            _ => {
                patch.insert(key.clone(), new.clone());
            }
        }
    }
    if let Some(gone) = before.keys().find(|k| !after.contains_key(*k)) {
        return Err(Failure::PatchRemovesField {
            field: gone.clone(),
        });
    }
    // Some LXD versions' instance PATCH handler resets `description` when the
    // field is absent, so it always travels along.
    if let Some(description) = after.get("description") {
        patch.insert("description".to_owned(), description.clone());
    }
    Ok(Value::Object(patch))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_patch_cases() {
        let base = json!({
            "config": {"a": "1", "volatile.x": "v"},
            "devices": {"root": {"type": "disk", "path": "/"}},
            "profiles": ["default"],
            "description": ""
        });
        let cases = [
            (
                "add key and device",
                json!({
                    "config": {"a": "1", "volatile.x": "v", "b": "2"},
                    "devices": {"root": {"type": "disk", "path": "/"}, "d": {"type": "disk"}},
                    "profiles": ["default"], "description": ""
                }),
                Ok(
                    json!({"config": {"b": "2"}, "devices": {"d": {"type": "disk"}}, "description": ""}),
                ),
            ),
            (
                "change key and description",
                json!({
                    "config": {"a": "9", "volatile.x": "v"},
                    "devices": {"root": {"type": "disk", "path": "/"}},
                    "profiles": ["default"], "description": "hi"
                }),
                Ok(json!({"config": {"a": "9"}, "description": "hi"})),
            ),
            ("unchanged", base.clone(), Ok(json!({"description": ""}))),
            (
                "remove device",
                json!({"config": {"a": "1", "volatile.x": "v"}, "devices": {}, "profiles": ["default"], "description": ""}),
                Err("devices"),
            ),
            (
                "remove key",
                json!({"config": {"a": "1"}, "devices": {"root": {"type": "disk", "path": "/"}}, "profiles": ["default"], "description": ""}),
                Err("volatile.x"),
            ),
        ];
        for (name, after, want) in cases {
            match (merge_patch(&base, &after), want) {
                (Ok(got), Ok(want)) => assert_eq!(got, want, "case {name}"),
                (Err(got), Err(needle)) => {
                    assert!(got.to_string().contains(needle), "case {name}: {got}")
                }
                (got, want) => panic!("case {name}: got {got:?}, want {want:?}"),
            }
        }
    }
}
