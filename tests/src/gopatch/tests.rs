//! Unit tests of the go-patch interpreter: each token kind, `?`, remove, variables, errors.

use serde_json::{Value, json};

use super::*;

fn run(doc: Value, ops_yaml: &str) -> Result<Value> {
    let mut doc = doc;
    apply_ops(&mut doc, &parse_ops(&parse_yaml(ops_yaml)?)?)?;
    Ok(doc)
}

fn base() -> Value {
    json!({"name": "bosh", "releases": [{"name": "bosh", "version": 1}],
           "groups": [{"name": "a", "jobs": [{"name": "x"}]}, {"name": "b", "jobs": []}]})
}

fn err(doc: Value, ops_yaml: &str) -> String {
    format!("{:#}", run(doc, ops_yaml).expect_err("the op should fail"))
}

#[test]
fn map_key_replaces_an_existing_value_or_the_root() {
    let doc = run(base(), "- {type: replace, path: /name, value: other}").unwrap();
    assert_eq!(doc["name"], "other");
    let doc = run(base(), "- {type: replace, path: /, value: {a: 1}}").unwrap();
    assert_eq!(doc, json!({"a": 1}));
}

#[test]
fn array_index_and_append() {
    let doc = run(
        base(),
        "- {type: replace, path: /releases/0/version, value: 2}",
    )
    .unwrap();
    assert_eq!(doc["releases"][0]["version"], 2);
    let doc = run(
        base(),
        "- {type: replace, path: /releases/-, value: {name: cpi}}",
    )
    .unwrap();
    assert_eq!(doc["releases"][1], json!({"name": "cpi"}));
    assert!(err(base(), "- {type: replace, path: /releases/5, value: 1}").contains("index 5"));
    assert!(err(base(), "- {type: replace, path: /releases/-/x, value: 1}").contains("last"));
}

#[test]
fn name_and_other_key_selectors() {
    let doc = run(
        base(),
        "- {type: replace, path: /groups/name=b/jobs/-, value: {name: y}}",
    )
    .unwrap();
    assert_eq!(doc["groups"][1]["jobs"], json!([{"name": "y"}]));
    let doc = run(
        base(),
        "- {type: replace, path: /releases/version=1, value: 7}",
    );
    // `version=1` compares strings: the integer 1 does not match, as in go-patch.
    assert!(format!("{:#}", doc.unwrap_err()).contains("version=1"));
    let mut two = base();
    two["releases"] = json!([{"name": "r", "v": "1"}, {"name": "r", "v": "2"}]);
    let doc = run(
        two.clone(),
        "- {type: replace, path: /releases/v=2/name, value: s}",
    )
    .unwrap();
    assert_eq!(doc["releases"][1]["name"], "s");
    let e = err(two, "- {type: replace, path: /releases/name=r/v, value: 3}");
    assert!(e.contains("found 2"), "{e}");
}

#[test]
fn optional_tokens_create_what_is_missing() {
    let doc = run(base(), "- {type: replace, path: /a?/b/c, value: 1}").unwrap();
    assert_eq!(
        doc["a"],
        json!({"b": {"c": 1}}),
        "later tokens are optional too"
    );
    let doc = run(base(), "- {type: replace, path: /list?/-, value: 1}").unwrap();
    assert_eq!(doc["list"], json!([1]));
    let doc = run(
        base(),
        "- {type: replace, path: /groups/name=c?/jobs?/-, value: {name: z}}",
    )
    .unwrap();
    assert_eq!(
        doc["groups"][2],
        json!({"name": "c", "jobs": [{"name": "z"}]})
    );
    let doc = run(
        base(),
        "- {type: replace, path: /groups/name=d?, value: {name: d, n: 1}}",
    )
    .unwrap();
    assert_eq!(doc["groups"][2], json!({"name": "d", "n": 1}));
    let doc = run(
        base(),
        "- {type: replace, path: /groups/name=a?/jobs, value: []}",
    )
    .unwrap();
    assert_eq!(
        doc["groups"][0]["jobs"],
        json!([]),
        "a match is used, not appended"
    );
}

#[test]
fn a_path_that_does_not_match_without_question_mark_is_an_error_naming_it() {
    let e = err(
        base(),
        "- {type: replace, path: /groups/name=a/props/x, value: 1}",
    );
    assert!(
        e.contains("/groups/name=a/props/x") && e.contains("'props'"),
        "{e}"
    );
    let e = err(
        base(),
        "- {type: replace, path: /groups/name=zz/jobs, value: 1}",
    );
    assert!(
        e.contains("/groups/name=zz/jobs") && e.contains("name=zz"),
        "{e}"
    );
    let e = err(base(), "- {type: replace, path: /name/x, value: 1}");
    assert!(
        e.contains("expected a map at '/name/x', found a string"),
        "{e}"
    );
    let e = err(base(), "- {type: remove, path: /nothing}");
    assert!(e.contains("/nothing"), "{e}");
}

#[test]
fn remove_keys_elements_and_optional_misses() {
    let doc = run(base(), "- {type: remove, path: /groups/name=a/jobs/0}").unwrap();
    assert_eq!(doc["groups"][0]["jobs"], json!([]));
    let doc = run(base(), "- {type: remove, path: /groups/name=b}").unwrap();
    assert_eq!(doc["groups"].as_array().map(Vec::len), Some(1));
    let doc = run(base(), "- {type: remove, path: /releases/0/version}").unwrap();
    assert_eq!(doc["releases"][0], json!({"name": "bosh"}));
    let doc = run(base(), "- {type: remove, path: /nope?/deeper}").unwrap();
    assert_eq!(doc, base(), "an optional miss changes nothing");
}

#[test]
fn escapes_and_bad_ops() {
    let doc = run(
        json!({"a/b": {"c~d": 1}}),
        "- {type: replace, path: /a~1b/c~0d, value: 2}",
    )
    .unwrap();
    assert_eq!(doc["a/b"]["c~d"], 2);
    assert!(err(base(), "- {type: move, path: /a}").contains("unsupported type"));
    assert!(err(base(), "- {type: replace, path: /a}").contains("needs a value"));
    assert!(err(base(), "- {type: replace, path: a, value: 1}").contains("start with '/'"));
    assert!(err(base(), "- {type: replace, path: /a, value: 1, vaule: 2}").contains("vaule"));
}

#[test]
fn variables_whole_values_inside_strings_and_sub_keys() {
    let vars = json!({"ip": "10.0.0.1", "port": 4222, "tls": {"ca": "CA"}, "list": [1]});
    let vars = vars.as_object().unwrap();
    let doc = json!({"a": "((port))", "b": "nats://((ip)):((port))", "c": ["((tls.ca))"],
                     "d": "((list))", "e": "$((not a var))", "f": "((!ip))"});
    let out = interpolate(&doc, vars).unwrap();
    assert_eq!(
        out,
        json!({"a": 4222, "b": "nats://10.0.0.1:4222", "c": ["CA"], "d": [1],
               "e": "$((not a var))", "f": "10.0.0.1"})
    );
    assert!(vars::placeholders(&out).is_empty());
    assert_eq!(
        vars::placeholders(&doc).into_iter().collect::<Vec<_>>(),
        vec!["ip", "list", "port", "tls.ca"]
    );
}

#[test]
fn unknown_variables_are_listed_in_one_error() {
    let vars = json!({"tls": {"ca": "CA"}});
    let doc = json!({"a": "((one))", "b": "x((two))y", "c": "((tls.key))", "d": "((tls.ca))"});
    let e = format!(
        "{:#}",
        interpolate(&doc, vars.as_object().unwrap()).unwrap_err()
    );
    assert_eq!(e, "Expected to find variables: one, tls.key, two");
    let e = interpolate(&json!("a((tls))"), vars.as_object().unwrap()).unwrap_err();
    assert!(e.to_string().contains("'tls' is a map"), "{e}");
}

#[test]
fn yaml_scalars_keep_their_types() {
    let v =
        parse_yaml("a: '0660'\nb: 0660\nc: 1.5\nd: true\ne: ~\nf: ((x))\ng: &x {k: 1}\nh: *x\n")
            .unwrap();
    // Unquoted 0660 is 660 here (YAML 1.2) but 432 to bosh's Go YAML (1.1 octal): manifests
    // must quote file modes.
    assert_eq!(
        v,
        json!({"a": "0660", "b": 660, "c": 1.5, "d": true, "e": null, "f": "((x))",
               "g": {"k": 1}, "h": {"k": 1}})
    );
    assert!(parse_yaml("a: [").is_err());
}
