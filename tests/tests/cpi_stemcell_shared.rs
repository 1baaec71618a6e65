//! Two projects on one daemon (two directors on one host) with the same stemcell, through
//! the built `cpi` binary: each project's import is an image of its own, and project A
//! deleting and uploading the stemcell again and again never breaks project B's VMs while B
//! uploads, uses and deletes its own copy (`docs/decisions.md` §7).

#![allow(clippy::expect_used)] // a failed step should stop the test with its message

use std::path::Path;

use bosh_lxd_tests::cpi::fixture::dynamic_network;
use bosh_lxd_tests::cpi::{Cpi, stemcell_files};
use bosh_lxd_tests::repacked::repacked_stemcell;
use bosh_lxd_tests::{Project, daemon, is_running};
use serde_json::{Value, json};

/// Rounds of each side in the parallel phase.
const ROUNDS: usize = 3;

/// `GET /1.0/images/aliases/<cid>` → the image fingerprint.
fn alias_target(project: &Project, cid: &str) -> String {
    let alias = project
        .query(&format!("/1.0/images/aliases/{cid}"))
        .unwrap_or_else(|e| panic!("alias {cid} in {}: {e:#}", project.name()));
    alias["target"].as_str().expect("alias target").to_owned()
}

fn image_exists(project: &Project, fingerprint: &str) -> bool {
    project
        .lxc(&["image", "show", fingerprint])
        .expect("image show")
        .success()
}

fn cid(answer: Value) -> String {
    answer.as_str().expect("a CID string").to_owned()
}

/// `create_vm` from `stemcell` in `cpi`'s project; checks the VM runs, deletes it.
fn vm_round_trip(project: &Project, cpi: &Cpi, stemcell: &str, round: usize) {
    let agent = format!("agent-shared-{round}-{}", uuid::Uuid::new_v4().simple());
    let args = json!([agent, stemcell, {}, {"default": dynamic_network()}, [], {}]);
    let answer = cpi
        .ok("create_vm", args)
        .unwrap_or_else(|e| panic!("round {round}: create_vm in {}: {e:#}", project.name()));
    let vm = answer[0].as_str().expect("VM CID").to_owned();
    let inst = project.instance(&vm).expect("instance");
    assert!(is_running(&inst["status"]), "round {round}: {inst}");
    cpi.ok("delete_vm", json!([vm])).expect("delete_vm");
}

#[test]
fn a_stemcell_deleted_in_one_project_leaves_the_other_projects_image_and_vms_alone() {
    let (a, b) = (
        Project::extra("images-a").expect("project A"),
        Project::extra("images-b").expect("project B"),
    );
    let (cpi_a, cpi_b) = (Cpi::new(&a).expect("cpi A"), Cpi::new(&b).expect("cpi B"));
    let files = stemcell_files(&repacked_stemcell().expect("repacked stemcell")).expect("files");
    let upload = |cpi: &Cpi| {
        cid(cpi
            .ok("create_stemcell", files.stock_args())
            .expect("upload"))
    };

    let (first_a, first_b) = (upload(&cpi_a), upload(&cpi_b));
    let (fp_a, fp_b) = (alias_target(&a, &first_a), alias_target(&b, &first_b));
    assert_ne!(fp_a, fp_b, "the two projects share one image");
    let image = b.query(&format!("/1.0/images/{fp_b}")).expect("image B");
    assert_eq!(image["properties"]["bosh_lxd_project"], b.name(), "{image}");

    // A deletes its stemcell and uploads it again while B uploads the same stemcell, makes a
    // VM from it and deletes both, round after round; B keeps its last stemcell.
    let last_b = std::thread::scope(|s| {
        s.spawn(|| {
            let mut cid_a = first_a.clone();
            for round in 0..ROUNDS {
                cpi_a
                    .ok("delete_stemcell", json!([cid_a]))
                    .unwrap_or_else(|e| panic!("round {round}: delete_stemcell in A: {e:#}"));
                if round + 1 < ROUNDS {
                    cid_a = upload(&cpi_a);
                }
            }
        });
        let creator = s.spawn(|| {
            cpi_b
                .ok("delete_stemcell", json!([first_b]))
                .expect("delete B's first CID");
            let mut cid_b = String::new();
            for round in 0..ROUNDS {
                cid_b = upload(&cpi_b);
                vm_round_trip(&b, &cpi_b, &cid_b, round);
                if round + 1 < ROUNDS {
                    cpi_b
                        .ok("delete_stemcell", json!([cid_b]))
                        .expect("delete in B");
                }
            }
            cid_b
        });
        creator.join().expect("project B's side")
    });

    assert!(
        !image_exists(&a, &fp_a),
        "A's image is left after its last delete"
    );
    assert_eq!(
        alias_target(&b, &last_b),
        fp_b,
        "B's stemcell is another image now"
    );
    assert!(image_exists(&b, &fp_b), "B's image is gone");
    let file = Path::new(daemon().dir).join("images").join(&fp_b);
    assert!(file.is_file(), "B's image file {} is gone", file.display());
    // What B's director sees afterwards: its stemcell still makes VMs.
    vm_round_trip(&b, &cpi_b, &last_b, ROUNDS);
    cpi_b
        .ok("delete_stemcell", json!([last_b]))
        .expect("delete B's stemcell");
    assert!(
        !image_exists(&b, &fp_b),
        "B's image is left after its last delete"
    );
}
