//! The operator's manifests (`manifests/`) rendered with bosh-deployment's `bosh.yml` by the
//! real `bosh int`, for every combination manifests/README.md documents, and the
//! cloud-config parsed by it (the job templates rendered from the result:
//! `manifests_job.rs`). No LXD.

#![allow(clippy::expect_used)] // a failed step should stop the test with its message

mod manifests_support;

use std::process::Command;

use bosh_lxd_tests::tools::bosh_cli;
use bosh_lxd_tests::yaml::load_yaml;
use manifests_support::*;
use serde_json::{Value, json};

#[test]
fn cpi_ops_file_sets_release_stemcell_director_vm_job_and_both_property_blocks() {
    let Rendered { doc, store, .. } = interpolate_ours(&["manifests/cpi.yml"], &[]);
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
        lxd_block("unix:///var/lib/lxd/unix.socket", &mbus(&store, "0.0.0.0"))
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
    assert_eq!(doc["cloud_provider"]["mbus"], mbus(&store, "10.245.0.11"));
    assert_eq!(group["jobs"].as_array().map(Vec::len), Some(7));
}

#[test]
fn https_ops_file_switches_both_blocks_to_a_generated_client_certificate_and_drops_the_socket() {
    let rendered = interpolate_ours(&["manifests/cpi.yml", "manifests/https.yml"], &[]);
    let (doc, store) = (&rendered.doc, &rendered.store);
    // bosh int empties `variables` once the store holds them: the generated certificate
    // shows what the ops file's definition asked for.
    let generated = &store["lxd_client_tls"];
    let cert = generated["certificate"]
        .as_str()
        .expect("generated certificate");
    assert!(cert.starts_with("-----BEGIN CERTIFICATE-----"), "{cert}");
    for block in [
        &bosh_group(doc)["properties"]["lxd_cpi"],
        &doc["cloud_provider"]["properties"]["lxd_cpi"],
    ] {
        let lxd = &block["lxd"];
        assert_eq!(lxd["url"], LXD_URL);
        assert_eq!(lxd["client_cert"], generated["certificate"]);
        assert_eq!(lxd["client_key"], generated["private_key"]);
        assert_eq!(lxd["server_cert"], SERVER_CERT);
        assert_eq!(lxd["project"], "bosh");
    }
    // What LXD will check: a client certificate, issued by the store's default_ca.
    let dir = &rendered.scratch.0;
    let ca = dir.join("ca.pem");
    let leaf = dir.join("client.pem");
    let ca_pem = store["default_ca"]["certificate"]
        .as_str()
        .expect("default_ca");
    std::fs::write(&ca, ca_pem).expect("write ca.pem");
    std::fs::write(&leaf, cert).expect("write client.pem");
    let out = Command::new("openssl")
        .args(["verify", "-purpose", "sslclient", "-CAfile"])
        .arg(&ca)
        .arg(&leaf)
        .output()
        .expect("openssl verify");
    let said = String::from_utf8_lossy(&out.stdout) + String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "openssl verify: {said}");
    let subject = Command::new("openssl")
        .args(["x509", "-noout", "-subject", "-in"])
        .arg(&leaf)
        .output()
        .expect("openssl x509");
    let subject = String::from_utf8_lossy(&subject.stdout);
    assert!(subject.contains("CN = bosh-lxd-cpi"), "{subject}");
    let props = &doc["resource_pools"][0]["cloud_properties"];
    assert_eq!(props["devices"], json!({}), "the socket proxy is gone");
    assert_eq!(props["nesting"], true);
}

/// cpi.yml, then https.yml, then bosh-deployment's own ops files, as manifests/README.md
/// documents them.
fn documented_combinations() -> Vec<Vec<&'static str>> {
    let extras = [
        "tests/fixtures/bosh-deployment/uaa.yml",
        "tests/fixtures/bosh-deployment/credhub.yml",
        "tests/fixtures/bosh-deployment/jumpbox-user.yml",
    ];
    let mut combos = Vec::new();
    for https in [false, true] {
        for with_extras in [false, true] {
            let mut ops = vec!["manifests/cpi.yml"];
            if https {
                ops.push("manifests/https.yml");
            }
            if with_extras {
                ops.extend(extras);
            }
            combos.push(ops);
        }
    }
    combos
}

#[test]
fn every_documented_combination_renders_both_blocks_with_no_variable_left() {
    for ops in documented_combinations() {
        let what = format!("{ops:?}");
        let Rendered { doc, store, .. } = interpolate_ours(&ops, &[]);
        let https = ops.contains(&"manifests/https.yml");
        let group = bosh_group(&doc);
        let jobs = group["jobs"].as_array().expect("jobs");
        let job = json!({"name": "lxd_cpi", "release": "bosh-lxd-cpi"});
        assert!(jobs.contains(&job), "{what}: {jobs:?}");
        assert_eq!(
            group["properties"]["director"]["cpi_job"], "lxd_cpi",
            "{what}"
        );
        assert_eq!(doc["cloud_provider"]["template"], job, "{what}");
        for (side, block, url, host) in [
            (
                "director",
                &group["properties"]["lxd_cpi"],
                "unix:///warden-cpi-dev/lxd.socket",
                "",
            ),
            (
                "create-env",
                &doc["cloud_provider"]["properties"]["lxd_cpi"],
                "unix:///var/lib/lxd/unix.socket",
                "0.0.0.0",
            ),
        ] {
            let want_url = if https { LXD_URL } else { url };
            assert_eq!(block["lxd"]["url"], want_url, "{what}, {side}");
            assert_eq!(block["lxd"]["project"], "bosh", "{what}, {side}");
            let want_mbus = match host {
                "" => json!("nats://10.245.0.11:4222"),
                h => json!(mbus(&store, h)),
            };
            assert_eq!(block["agent"]["mbus"], want_mbus, "{what}, {side}");
            assert_eq!(
                block["lxd"]["client_cert"].is_string(),
                https,
                "{what}, {side}"
            );
        }
        let devices = &doc["resource_pools"][0]["cloud_properties"]["devices"];
        assert_eq!(
            devices.get("lxd-socket").is_some(),
            !https,
            "{what}: {devices}"
        );
        let names: Vec<&Value> = jobs.iter().map(|j| &j["name"]).collect();
        let extras = ops.iter().any(|f| f.ends_with("uaa.yml"));
        for name in ["uaa", "credhub", "user_add"] {
            assert_eq!(names.contains(&&json!(name)), extras, "{what}: {names:?}");
        }
    }
}

#[test]
fn bosh_vars_yml_holds_only_variables_the_ops_files_use() {
    let bosh = bosh_cli().unwrap_or_else(|e| panic!("{e:#}"));
    let scratch = Scratch::new("unused");
    let mut cmd = Command::new(bosh);
    cmd.arg("int")
        .arg(bd("bosh.yml"))
        .arg("-o")
        .arg(root("manifests/cpi.yml"))
        .arg("--vars-file")
        .arg(root("manifests/bosh-vars.yml"))
        .arg("--vars-store")
        .arg(scratch.0.join("creds.yml"))
        .args(["--var-errs", "--var-errs-unused"]);
    run_yaml(cmd).expect("bosh int --var-errs-unused with cpi.yml");
}

#[test]
fn https_without_its_variables_or_without_cpi_yml_fails_naming_what_is_missing() {
    let (cpi, https) = (root("manifests/cpi.yml"), root("manifests/https.yml"));
    let err = match bosh_int(&[cpi, https.clone()], &[], &[]) {
        Ok(_) => panic!("https.yml without lxd_url and lxd_server_cert rendered"),
        Err(e) => e,
    };
    assert!(err.contains("Expected to find variables"), "{err}");
    assert!(
        err.contains("- lxd_url") && err.contains("- lxd_server_cert"),
        "{err}"
    );
    assert!(
        !err.contains("lxd_client_tls"),
        "generated, not missing: {err}"
    );

    let err = match bosh_int(&[https], &[("lxd_url", LXD_URL)], &[]) {
        Ok(_) => panic!("https.yml without cpi.yml rendered"),
        Err(e) => e,
    };
    assert!(err.contains("manifests/https.yml failed"), "{err}");
    assert!(
        err.contains("'/instance_groups/name=bosh/properties/lxd_cpi'"),
        "{err}"
    );
}

#[test]
fn cloud_config_uses_only_cloud_properties_the_cpi_reads() {
    // Parsed by the real CLI, with no variable left to fill.
    let bosh = bosh_cli().unwrap_or_else(|e| panic!("{e:#}"));
    let mut cmd = Command::new(bosh);
    cmd.arg("int")
        .arg(root("manifests/cloud-config.yml"))
        .arg("--var-errs");
    let doc = run_yaml(cmd).expect("bosh int manifests/cloud-config.yml");
    // ARCHITECTURE.md §3 (VMs); disks: cpi/src/actions/disk_properties.rs.
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
