//! The director's side of `manifests/cpi.yml`, against real LXD: the host's CPI creates the
//! director VM with the cloud properties the ops file gives it (nesting, the proxy device
//! that hands it the host's LXD socket), the `lxd_cpi` job is laid out in it as the agent
//! installs it (static CPI binary, `bin/cpi` and `config/cpi.json` rendered from the
//! director's property block), and the director's CPI, run as vcap, creates, finds and
//! deletes a sibling VM in the same project. What `bosh create-env` and the first deploy
//! would do, minus the bosh CLI and a real stemcell.

#![allow(clippy::expect_used)] // a failed step should stop the test with its message

mod manifests_support;

use std::path::Path;

use bosh_lxd_tests::cpi::fixture::{VmFixture, manual_network, random_ip};
use bosh_lxd_tests::repacked::build_static_cpi;
use bosh_lxd_tests::{TEST_POOL, daemon, is_running};
use manifests_support::{Rendered, Scratch, bosh_group, interpolate_ours, render};
use serde_json::{Value, json};

const JOB: &str = "/var/vcap/jobs/lxd_cpi";
const PACKAGE_BINARY: &str = "/var/vcap/packages/lxd_cpi/bin/cpi";

/// `lxc file push` of a host file into `vm` with `mode`, parents created.
fn push(f: &VmFixture, vm: &str, local: &Path, remote: &str, mode: &str) {
    let target = format!("{vm}{remote}");
    let local = local.to_string_lossy();
    f.project
        .lxc_ok(&[
            "file", "push", "-p", "--quiet", &local, &target, "--mode", mode,
        ])
        .expect("file push");
}

/// One CPI request through the director's `bin/cpi`, run as vcap; the response.
fn director_call(f: &VmFixture, vm: &str, dir: &Path, method: &str, args: Value) -> Value {
    let request = json!({"method": method, "arguments": args, "api_version": 2,
        "context": {"director_uuid": "director-test"}});
    let file = dir.join(format!("{method}.json"));
    std::fs::write(&file, request.to_string()).expect("write request");
    push(f, vm, &file, "/tmp/request.json", "0644");
    let cmd = format!("su -s /bin/sh vcap -c '{JOB}/bin/cpi < /tmp/request.json'");
    let out = f.project.exec(vm, &["sh", "-c", &cmd]).expect("exec");
    assert!(out.success(), "{method} as vcap: {out:?}");
    serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("{method}: not one JSON response ({e}): {out:?}"))
}

#[test]
fn the_director_container_creates_and_deletes_a_sibling_vm_through_the_proxied_socket() {
    let f = VmFixture::new().expect("fixture");
    let vars = [
        ("lxd_project_name", f.project.name()),
        ("lxd_storage_pool_name", TEST_POOL),
        ("lxd_host_socket", daemon().socket),
        ("lxd_network_name", daemon().bridge),
    ];
    let Rendered { doc, .. } = interpolate_ours(&["manifests/cpi.yml"], &vars);
    let pools = doc["resource_pools"].as_array().expect("resource_pools");
    let vms = pools.iter().find(|p| p["name"] == "vms").expect("pool vms");
    let props = vms["cloud_properties"].clone();
    assert_eq!(props["nesting"], true, "{props}");

    let networks = json!({"default": manual_network(&random_ip(), true)});
    let (director, _) = f
        .create_vm(&VmFixture::agent_id(), props, networks, json!({}))
        .expect("create the director VM with the ops file's cloud properties");
    let scratch = Scratch::new("director");
    let dir = &scratch.0;
    let director_props = &bosh_group(&doc)["properties"];
    for (template, remote, mode) in [
        ("cpi.erb", "bin/cpi", "0755"),
        ("cpi.json.erb", "config/cpi.json", "0640"),
    ] {
        let text = render(template, director_props).expect("render the job template");
        let local = dir.join(template);
        std::fs::write(&local, text).expect("write the rendered template");
        push(&f, &director, &local, &format!("{JOB}/{remote}"), mode);
    }
    push(
        &f,
        &director,
        &build_static_cpi().expect("scripts/build-cpi"),
        PACKAGE_BINARY,
        "0755",
    );
    // the agent installs jobs and packages root:vcap, group-readable only
    f.exec(
        &director,
        &[
            "sh",
            "-c",
            "chgrp -R vcap /var/vcap/jobs /var/vcap/packages && \
             chmod -R g+rX,o-rwx /var/vcap/jobs /var/vcap/packages",
        ],
    )
    .expect("job and package ownership");
    let socket = f
        .exec(
            &director,
            &["stat", "-c", "%U:%G %a %F", "/warden-cpi-dev/lxd.socket"],
        )
        .expect("the proxied socket");
    assert_eq!(socket.trim(), "vcap:vcap 660 socket", "proxy device socket");

    let networks = json!({"default": manual_network(&random_ip(), true)});
    let args = json!([VmFixture::agent_id(), f.stemcell, {"instance_type": "c1-m1"},
        networks, [], {}]);
    let created = director_call(&f, &director, dir, "create_vm", args);
    assert_eq!(created["error"], Value::Null, "create_vm: {created}");
    let sibling = created["result"][0].as_str().expect("a VM CID").to_owned();
    let state = f
        .project
        .instance(&sibling)
        .expect("the sibling on the host");
    assert!(is_running(&state["status"]), "{state}");
    assert_eq!(state["config"]["limits.cpu"], "1");

    let found = director_call(&f, &director, dir, "has_vm", json!([sibling]));
    assert_eq!(found["result"], true, "{found}");
    let deleted = director_call(&f, &director, dir, "delete_vm", json!([sibling]));
    assert_eq!(deleted["error"], Value::Null, "delete_vm: {deleted}");
    assert!(
        !f.project.has_instance(&sibling).expect("lookup"),
        "the director's delete_vm left {sibling}"
    );
    f.cpi
        .ok("delete_vm", json!([director]))
        .expect("delete the director VM");
}
