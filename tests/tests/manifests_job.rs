//! The `lxd_cpi` job's templates rendered with ruby (as bosh create-env and the agent do)
//! from the properties the real `bosh int` gives them with our manifests, and the built
//! `cpi` started with the rendered config and `bin/cpi`. No LXD.

#![allow(clippy::expect_used)] // a failed step should stop the test with its message

mod manifests_support;

use std::process::Command;

use bosh_lxd_tests::cpi::cpi_binary;
use manifests_support::*;
use serde_json::{Value, json};

#[test]
fn cpi_json_renders_from_both_property_blocks_and_the_cpi_accepts_it() {
    let binary = cpi_binary().expect("the cpi binary (cargo build -p cpi)");
    let scratch = Scratch::new("cpi-json");
    let dir = &scratch.0;
    for (variant, ops) in [
        ("socket", vec!["manifests/cpi.yml"]),
        ("https", vec!["manifests/cpi.yml", "manifests/https.yml"]),
    ] {
        let Rendered { doc, .. } = interpolate_ours(&ops, &[]);
        for (side, props) in [
            ("director", &bosh_group(&doc)["properties"]),
            ("create-env", &doc["cloud_provider"]["properties"]),
        ] {
            let what = format!("{variant}, {side}");
            let text = render("cpi.json.erb", props).unwrap_or_else(|e| panic!("{what}: {e}"));
            let config: Value = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("{what}: not JSON ({e}): {text}"));
            same_keys(&config, &design_shape(), "cpi.json");
            let block = &props["lxd_cpi"];
            assert_eq!(config["lxd"]["url"], block["lxd"]["url"], "{what}");
            assert_eq!(config["agent"]["mbus"], block["agent"]["mbus"], "{what}");
            for key in ["server_cert", "client_cert", "client_key"] {
                assert_eq!(config["lxd"][key], block["lxd"][key], "{what}: {key}");
            }
            assert_eq!(config["log_level"], "info");
            let path = dir.join(format!("{variant}-{side}.json"));
            std::fs::write(&path, &text).expect("write cpi.json");
            let response = answer_info(cpi_command(&binary, &path));
            assert_eq!(response["error"], Value::Null, "{what}: {response}");
            assert_eq!(response["result"]["api_version"], 2, "{what}: {response}");
        }
    }
}

#[test]
fn the_renderer_applies_defaults_and_fails_like_bosh_on_a_missing_property() {
    let err = render(
        "cpi.json.erb",
        &json!({"lxd_cpi": {"lxd": {"project": "p"}}}),
    )
    .expect_err("agent.mbus has no default");
    assert!(
        err.contains("Can't find property 'lxd_cpi.agent.mbus'"),
        "{err}"
    );
    let text = render(
        "cpi.json.erb",
        &json!({"lxd_cpi": {"agent": {"mbus": "nats://a:4222"}}}),
    )
    .expect("defaults fill the rest");
    let config: Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(config["lxd"]["url"], "unix:///var/lib/lxd/unix.socket");
    assert_eq!(config["lxd"]["project"], "bosh");

    let scratch = Scratch::new("erb");
    let template = scratch.0.join("t.erb");
    let erb = "<% if_p('lxd_cpi.lxd.target') do |t| %>on <%= t %><% end.else do %>anywhere<% end %>\
               ,<%= p('lxd_cpi.lxd.ca_cert', 'none') %>,<%= p(['x.y', 'lxd_cpi.lxd.project']) %>\
               <% if_p('lxd_cpi.lxd.project', 'lxd_cpi.undeclared') do %>!<% end %>";
    std::fs::write(&template, erb).expect("write template");
    let with = json!({"lxd_cpi": {"lxd": {"target": "n1", "project": "p"}, "undeclared": 1}});
    assert_eq!(render_file(&template, &with).as_deref(), Ok("on n1,none,p"));
    assert_eq!(
        render_file(&template, &json!({})).as_deref(),
        Ok("anywhere,none,bosh")
    );
}

#[test]
fn bin_cpi_is_valid_bash_and_execs_the_package_binary_with_the_job_config() {
    let Rendered { doc, .. } = interpolate_ours(&["manifests/cpi.yml"], &[]);
    let props = &doc["cloud_provider"]["properties"];
    let script = render("cpi.erb", props).expect("render cpi.erb");
    let scratch = Scratch::new("bin-cpi");
    let dir = &scratch.0;
    let wrapper = dir.join("cpi");
    std::fs::write(&wrapper, &script).expect("write bin/cpi");
    let check = Command::new("bash")
        .arg("-n")
        .arg(&wrapper)
        .output()
        .expect("bash -n");
    assert!(
        check.status.success(),
        "bash -n: {}",
        String::from_utf8_lossy(&check.stderr)
    );
    let exec =
        r#"exec "$packages_dir/lxd_cpi/bin/cpi" --config "$jobs_dir/lxd_cpi/config/cpi.json""#;
    assert!(
        script.lines().any(|l| l.trim() == exec),
        "no `{exec}` in:\n{script}"
    );

    // Laid out as create-env installs it, the wrapper answers `info`.
    let packages = dir.join("packages/lxd_cpi/bin");
    let config_dir = dir.join("jobs/lxd_cpi/config");
    std::fs::create_dir_all(&packages).expect("packages dir");
    std::fs::create_dir_all(&config_dir).expect("jobs dir");
    let binary = cpi_binary().expect("the cpi binary (cargo build -p cpi)");
    std::os::unix::fs::symlink(&binary, packages.join("cpi")).expect("link the cpi");
    let config = render("cpi.json.erb", props).expect("render cpi.json.erb");
    std::fs::write(config_dir.join("cpi.json"), config).expect("write cpi.json");
    let mut wrapper_cmd = Command::new("bash");
    wrapper_cmd
        .arg(&wrapper)
        .env_clear()
        .env("BOSH_PACKAGES_DIR", dir.join("packages"))
        .env("BOSH_JOBS_DIR", dir.join("jobs"));
    let response = answer_info(wrapper_cmd);
    assert_eq!(response["error"], Value::Null, "{response}");
    assert_eq!(response["result"]["api_version"], 2, "{response}");
}
