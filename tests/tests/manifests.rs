//! The operator's manifests (`manifests/`) applied to bosh-deployment's `bosh.yml` with the
//! go-patch interpreter, the `lxd_cpi` job's templates rendered from the result with ruby
//! (as bosh create-env does), and the built `cpi` started with the rendered config. No LXD.

#![allow(clippy::expect_used)] // a failed step should stop the test with its message

mod manifests_support;

use std::path::{Path, PathBuf};
use std::process::Command;

use bosh_lxd_tests::cpi::cpi_binary;
use bosh_lxd_tests::gopatch::{bosh_int, load_yaml, vars::placeholders};
use manifests_support::*;
use serde_json::{Value, json};

#[test]
fn docker_cpi_ops_give_the_values_they_set() {
    let ops = [bd("docker/cpi.yml"), bd("docker/unix-sock.yml")];
    let ops: Vec<&Path> = ops.iter().map(PathBuf::as_path).collect();
    let mut vars = fake_generated(&bd("bosh.yml"), &ops);
    let given = json!({"director_name": "d", "internal_cidr": "10.245.0.0/16",
        "internal_gw": "10.245.0.1", "internal_ip": "10.245.0.11", "network": "net1",
        "docker_host": "tcp://192.0.2.1:4243", "docker_tls": {"ca": "DOCKER-CA"}});
    vars.extend(given.as_object().expect("map").clone());
    let doc = bosh_int(&bd("bosh.yml"), &ops, &vars).expect("bosh int with docker's ops");
    assert!(placeholders(&doc).is_empty());

    let release = doc["releases"]
        .as_array()
        .and_then(|r| r.last())
        .expect("releases");
    assert_eq!(release["name"], "bosh-docker-cpi");
    assert_eq!(release["version"], "0.2.19");
    let pool = &doc["resource_pools"][0];
    let url = pool["stemcell"]["url"].as_str().expect("stemcell url");
    assert!(url.ends_with("warden-boshlite-ubuntu-noble.tgz"), "{url}");
    assert_eq!(pool["cloud_properties"]["ports"][2], "25555/tcp");
    let mount = json!({"type": "bind", "source": "tcp://192.0.2.1:4243",
                       "target": "/var/run/docker.sock"});
    assert_eq!(pool["cloud_properties"]["mounts"], json!([mount]));
    assert_eq!(
        doc["networks"][0]["subnets"][0]["cloud_properties"],
        json!({"name": "net1"})
    );
    let group = bosh_group(&doc);
    let jobs = group["jobs"].as_array().expect("jobs");
    assert_eq!(jobs.len(), 7);
    assert_eq!(
        jobs[6],
        json!({"name": "docker_cpi", "release": "bosh-docker-cpi"})
    );
    assert_eq!(group["properties"]["director"]["cpi_job"], "docker_cpi");
    assert_eq!(doc["cloud_provider"]["template"], jobs[6]);
    let props = &group["properties"]["docker_cpi"];
    assert_eq!(
        props["agent"],
        json!({"blobstore": null, "mbus": "nats://10.245.0.11:4222"})
    );
    assert_eq!(
        props["docker"],
        json!({"host": "unix:///var/run/docker.sock"})
    );
    let create_env = &doc["cloud_provider"]["properties"]["docker_cpi"];
    assert_eq!(
        create_env["agent"]["mbus"],
        format!("https://mbus:{MBUS_PASSWORD}@0.0.0.0:6868")
    );
    assert_eq!(
        create_env["docker"],
        json!({"host": "tcp://192.0.2.1:4243"})
    );
    // bosh.yml's own values are interpolated too.
    assert_eq!(
        group["properties"]["nats"]["tls"]["ca"],
        vars["nats_server_tls"]["ca"]
    );
}

#[test]
fn cpi_ops_file_sets_release_stemcell_director_vm_job_and_both_property_blocks() {
    let doc = interpolate_ours(&["manifests/cpi.yml"], json!({}));
    let release = doc["releases"]
        .as_array()
        .and_then(|r| r.last())
        .expect("releases");
    assert_eq!(
        release,
        &json!({"name": "bosh-lxd-cpi", "version": "1.0.0",
                "url": "file:///path/to/dev_releases/bosh-lxd-cpi-1.0.0.tgz"})
    );
    let pool = &doc["resource_pools"][0];
    assert_eq!(
        pool["stemcell"],
        json!({"url": "file:///path/to/bosh-stemcell-warden-boshlite-ubuntu-noble-lxd.tgz"})
    );
    assert_eq!(
        pool["cloud_properties"],
        json!({"instance_type": "c2-m4", "ephemeral_disk": 16384, "nesting": true,
               "devices": {"lxd-socket": {"type": "proxy",
                   "listen": "unix:/warden-cpi-dev/lxd.socket",
                   "connect": "unix:/var/lib/lxd/unix.socket", "bind": "container",
                   "uid": "1000", "gid": "1000", "mode": "0660"}}})
    );
    assert_eq!(
        doc["networks"][0]["subnets"][0]["cloud_properties"],
        json!({"network": "boshbr0"})
    );
    let group = bosh_group(&doc);
    let job = json!({"name": "lxd_cpi", "release": "bosh-lxd-cpi"});
    assert_eq!(group["jobs"].as_array().and_then(|j| j.last()), Some(&job));
    assert_eq!(group["properties"]["director"]["cpi_job"], "lxd_cpi");
    assert_eq!(doc["cloud_provider"]["template"], job);
    assert_eq!(
        group["properties"]["lxd_cpi"],
        lxd_block(
            "unix:///warden-cpi-dev/lxd.socket",
            "nats://10.245.0.11:4222"
        )
    );
    assert_eq!(
        doc["cloud_provider"]["properties"]["lxd_cpi"],
        lxd_block(
            "unix:///var/lib/lxd/unix.socket",
            &format!("https://mbus:{MBUS_PASSWORD}@0.0.0.0:6868")
        )
    );
    // Labelled like docker/cpi.yml's, so other ops files can find them.
    let raw = load_yaml(&root("manifests/cpi.yml")).expect("cpi.yml");
    let label = |path: &str| {
        raw.as_array()
            .and_then(|ops| ops.iter().find(|op| op["path"] == path))
            .map(|op| op["name"].clone())
    };
    assert_eq!(label("/releases/-"), Some(json!("cpi")));
    assert_eq!(
        label("/resource_pools/name=vms/stemcell?"),
        Some(json!("stemcell"))
    );
    // What bosh.yml had stays: the mbus the CLI dials, the other jobs.
    assert_eq!(
        doc["cloud_provider"]["mbus"],
        format!("https://mbus:{MBUS_PASSWORD}@10.245.0.11:6868")
    );
    assert_eq!(group["jobs"].as_array().map(Vec::len), Some(7));
}

#[test]
fn https_ops_file_switches_both_blocks_to_a_client_certificate_and_drops_the_socket() {
    let doc = interpolate_ours(&["manifests/cpi.yml", "manifests/https.yml"], https_vars());
    let client = doc["variables"]
        .as_array()
        .and_then(|v| v.iter().find(|v| v["name"] == "lxd_client_tls"))
        .expect("variable lxd_client_tls");
    assert_eq!(client["type"], "certificate");
    assert_eq!(client["options"]["ca"], "default_ca");
    assert_eq!(
        client["options"]["extended_key_usage"],
        json!(["client_auth"])
    );
    let cert = "-----BEGIN CERTIFICATE-----\nfake-lxd_client_tls\n-----END CERTIFICATE-----\n";
    let key =
        "-----BEGIN RSA PRIVATE KEY-----\nfake-lxd_client_tls\n-----END RSA PRIVATE KEY-----\n";
    for block in [
        &bosh_group(&doc)["properties"]["lxd_cpi"],
        &doc["cloud_provider"]["properties"]["lxd_cpi"],
    ] {
        let lxd = &block["lxd"];
        assert_eq!(lxd["url"], "https://10.245.0.1:8443");
        assert_eq!(
            (&lxd["client_cert"], &lxd["client_key"]),
            (&json!(cert), &json!(key))
        );
        assert_eq!(lxd["server_cert"], SERVER_CERT);
        assert_eq!(lxd["project"], "bosh");
    }
    let props = &doc["resource_pools"][0]["cloud_properties"];
    assert_eq!(props["devices"], json!({}), "the socket proxy is gone");
    assert_eq!(props["nesting"], true);
}

#[test]
fn cpi_json_renders_from_both_property_blocks_and_the_cpi_accepts_it() {
    let binary = cpi_binary().expect("the cpi binary (cargo build -p cpi)");
    let scratch = Scratch::new("cpi-json");
    let dir = &scratch.0;
    for (variant, ops, extra) in [
        ("socket", vec!["manifests/cpi.yml"], json!({})),
        (
            "https",
            vec!["manifests/cpi.yml", "manifests/https.yml"],
            https_vars(),
        ),
    ] {
        let doc = interpolate_ours(&ops, extra);
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
            assert_eq!(
                config["lxd"]["server_cert"], block["lxd"]["server_cert"],
                "{what}"
            );
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
    let doc = interpolate_ours(&["manifests/cpi.yml"], json!({}));
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

#[test]
fn cloud_config_uses_only_cloud_properties_the_cpi_reads() {
    let doc = load_yaml(&root("manifests/cloud-config.yml")).expect("cloud-config.yml");
    // design.md §3 (VMs); disks: cpi/src/actions/disk_properties.rs.
    let vm_keys = [
        "instance_type",
        "cpu",
        "memory",
        "ephemeral_disk",
        "privileged",
        "nesting",
        "target",
        "devices",
        "config",
        "profiles",
    ];
    let disk_keys = ["pool"];
    let mut seen = 0;
    for (section, allowed) in [
        ("vm_types", &vm_keys[..]),
        ("vm_extensions", &vm_keys[..]),
        ("disk_types", &disk_keys[..]),
    ] {
        let items = doc[section]
            .as_array()
            .unwrap_or_else(|| panic!("no {section}"));
        assert!(!items.is_empty(), "{section} is empty");
        for item in items {
            let Some(props) = item.get("cloud_properties") else {
                continue;
            };
            for key in props.as_object().expect("cloud_properties is a map").keys() {
                assert!(
                    allowed.contains(&key.as_str()),
                    "{section} {}: {key}",
                    item["name"]
                );
                seen += 1;
            }
        }
    }
    assert!(seen > 0, "no cloud properties checked");
    let names = |s: &str| {
        doc[s]
            .as_array()
            .map(|a| a.iter().map(|i| i["name"].clone()).collect::<Vec<_>>())
    };
    assert_eq!(
        names("azs"),
        Some(vec![json!("z1"), json!("z2"), json!("z3")])
    );
    let subnet = &doc["networks"][0]["subnets"][0];
    assert_eq!(
        (
            &subnet["range"],
            &subnet["gateway"],
            &subnet["cloud_properties"]
        ),
        (
            &json!("10.245.0.0/16"),
            &json!("10.245.0.1"),
            &json!({"network": "boshbr0"})
        )
    );
    assert!(subnet["reserved"].is_array() && subnet["static"].is_array());
    // The director's own address and network (bosh-vars.yml) are this subnet's.
    let vars = load_yaml(&root("manifests/bosh-vars.yml")).expect("bosh-vars.yml");
    assert_eq!(vars["internal_cidr"], subnet["range"]);
    assert_eq!(vars["internal_gw"], subnet["gateway"]);
    assert_eq!(
        vars["lxd_network_name"],
        subnet["cloud_properties"]["network"]
    );
    assert_eq!(doc["compilation"]["workers"], 5);
    assert_eq!(doc["compilation"]["reuse_compilation_vms"], true);
    assert!(
        doc["vm_types"]
            .as_array()
            .expect("vm_types")
            .iter()
            .any(|t| t["cloud_properties"]["nesting"] == true)
    );
}
