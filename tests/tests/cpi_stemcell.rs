//! `create_stemcell` / `delete_stemcell` through the built `cpi` binary against real LXD:
//! the same stemcell uploaded twice shares one image under two CIDs, deleting one CID
//! leaves the other usable, and a stock stemcell (no guest helper) is refused by `create_vm`.

#![allow(clippy::expect_used)] // a failed step should stop the test with its message

use bosh_lxd_contract::image::HELPER_VERSION_PROPERTY;
use bosh_lxd_tests::cpi::{Cpi, fixture_stemcell_files};
use bosh_lxd_tests::{Project, is_running};
use serde_json::{Value, json};

/// `GET /1.0/images/aliases/<cid>` → the image fingerprint.
fn alias_target(project: &Project, cid: &str) -> String {
    let alias = project
        .query(&format!("/1.0/images/aliases/{cid}"))
        .unwrap_or_else(|e| panic!("alias {cid}: {e:#}"));
    alias["target"].as_str().expect("alias target").to_owned()
}

fn image_exists(project: &Project, fingerprint: &str) -> bool {
    project
        .lxc(&["image", "show", fingerprint])
        .expect("lxc image show")
        .success()
}

fn alias_exists(project: &Project, cid: &str) -> bool {
    project
        .lxc(&["image", "alias", "list", "--format", "csv"])
        .expect("lxc image alias list")
        .stdout
        .lines()
        .any(|l| l.split(',').next() == Some(cid))
}

fn networks() -> Value {
    json!({"default": {"type": "dynamic", "dns": [bosh_lxd_tests::daemon().gateway()], "default": ["dns", "gateway"],
        "cloud_properties": {}}})
}

#[test]
fn two_uploads_of_one_stemcell_give_two_cids_on_one_image() {
    let project = Project::for_run().expect("test project");
    let cpi = Cpi::new(&project).expect("cpi");
    let files = fixture_stemcell_files().expect("fixture stemcell");
    // A helper version of its own gives this test an image of its own (the version is in
    // the image metadata, so in the fingerprint).
    let version = format!("0.0.0-test-{}", uuid::Uuid::new_v4().simple());
    let args = files.repacked_args(&version);

    let first = cpi
        .ok("create_stemcell", args.clone())
        .expect("first upload");
    let second = cpi.ok("create_stemcell", args).expect("second upload");
    let (first, second) = (
        first.as_str().expect("cid string").to_owned(),
        second.as_str().expect("cid string").to_owned(),
    );
    assert!(first.starts_with("stemcell-"), "CID {first}");
    assert_ne!(first, second, "each upload gets its own CID");
    let fingerprint = alias_target(&project, &first);
    assert_eq!(
        alias_target(&project, &second),
        fingerprint,
        "both CIDs point to one image"
    );

    let image = project
        .query(&format!("/1.0/images/{fingerprint}"))
        .expect("image");
    let props = &image["properties"];
    assert_eq!(props[HELPER_VERSION_PROPERTY], version.as_str(), "{image}");
    assert_eq!(
        props["bosh_stemcell_name"], files.cloud_properties["name"],
        "{image}"
    );
    assert_eq!(
        props["bosh_stemcell_version"], files.cloud_properties["version"],
        "{image}"
    );

    cpi.ok("delete_stemcell", json!([first]))
        .expect("delete the first CID");
    assert!(!alias_exists(&project, &first), "alias {first} still there");
    assert!(
        image_exists(&project, &fingerprint),
        "image deleted while {second} still uses it"
    );

    // The remaining CID still makes VMs.
    let created = cpi
        .ok(
            "create_vm",
            json!(["agent-stemcell-1", second, {"ephemeral_disk": 64}, networks(), [], {}]),
        )
        .expect("create_vm from the remaining CID");
    let vm = created[0].as_str().expect("vm cid").to_owned();
    let inst = project.instance(&vm).expect("instance");
    assert!(is_running(&inst["status"]), "{inst}");
    cpi.ok("delete_vm", json!([vm])).expect("delete_vm");

    cpi.ok("delete_stemcell", json!([second]))
        .expect("delete the second CID");
    assert!(
        !image_exists(&project, &fingerprint),
        "image left without any alias"
    );
    cpi.ok("delete_stemcell", json!([second]))
        .expect("deleting a missing stemcell succeeds");
}

#[test]
fn a_stock_stemcell_is_uploaded_but_create_vm_refuses_it() {
    let project = Project::for_run().expect("test project");
    let cpi = Cpi::new(&project).expect("cpi");
    let files = fixture_stemcell_files().expect("fixture stemcell");
    let r = cpi
        .call("create_stemcell", files.stock_args())
        .expect("create_stemcell");
    assert!(r.error.is_none(), "stock upload failed: {:?}", r.error);
    assert!(
        r.stderr.contains(HELPER_VERSION_PROPERTY),
        "no warning about the missing helper in the log:\n{}",
        r.stderr
    );
    let cid = r.result.as_str().expect("cid").to_owned();

    let agent = format!("agent-stock-{}", uuid::Uuid::new_v4().simple());
    let r = cpi
        .call("create_vm", json!([agent, cid, {}, networks(), [], {}]))
        .expect("create_vm");
    let err = r.error.expect("create_vm of a stock stemcell must fail");
    assert_eq!(err.kind, "Bosh::Clouds::CloudError", "{err:?}");
    assert!(!err.ok_to_retry, "{err:?}");
    for needle in [
        "repack-stemcell STOCK.tgz OUT.tgz",
        HELPER_VERSION_PROPERTY,
        &cid,
    ] {
        assert!(
            err.message.contains(needle),
            "message lacks {needle:?}: {}",
            err.message
        );
    }
    let instances = project
        .query("/1.0/instances?recursion=1")
        .expect("instances");
    let leftovers: Vec<&Value> = instances
        .as_array()
        .expect("list")
        .iter()
        .filter(|i| i["config"]["user.bosh.agent-id"] == agent.as_str())
        .collect();
    assert!(leftovers.is_empty(), "refused create_vm left {leftovers:?}");

    cpi.ok("delete_stemcell", json!([cid]))
        .expect("delete_stemcell");
}
