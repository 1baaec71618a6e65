//! Disk calls racing each other, each a whole CPI process as the director runs them: two
//! attaches of different disks to one VM, an attach against `set_vm_metadata`, and an
//! attach against a detach. Every call must succeed and, after every round, the settings
//! file == keys == devices, with nothing lost. 20 rounds each.

#![allow(clippy::expect_used)] // a failed step should stop the test with its message

mod cpi_disks_support;

use std::collections::BTreeSet;
use std::thread;

use bosh_lxd_tests::cpi::fixture::VmFixture;
use cpi_disks_support::{disk, invariant, vm};
use serde_json::{Value, json};

const ROUNDS: usize = 20;

/// Runs the calls at the same moment (one thread, one CPI process each); panics naming
/// every call that failed.
fn at_once(f: &VmFixture, round: usize, calls: &[(&str, Value)]) {
    let failures: Vec<String> = thread::scope(|s| {
        let handles: Vec<_> = calls
            .iter()
            .map(|(method, args)| {
                s.spawn(move || {
                    let r = f.cpi.call(method, args.clone()).expect("running the cpi");
                    r.error
                        .map(|e| format!("{method}{args}: {}: {}\n{}", e.kind, e.message, r.stderr))
                })
            })
            .collect();
        handles
            .into_iter()
            .filter_map(|h| h.join().expect("thread"))
            .collect()
    });
    assert!(failures.is_empty(), "round {round}: {failures:#?}");
}

fn attached(f: &VmFixture, vm: &str) -> BTreeSet<String> {
    invariant(f, vm).expect("invariant").into_keys().collect()
}

#[test]
fn two_attaches_and_two_detaches_at_once() {
    let f = VmFixture::new().expect("fixture");
    let vm = vm(&f, true);
    let (a, b) = (disk(&f, 32), disk(&f, 32));
    let both: BTreeSet<String> = [a.clone(), b.clone()].into();
    for round in 0..ROUNDS {
        at_once(
            &f,
            round,
            &[
                ("attach_disk", json!([vm, a])),
                ("attach_disk", json!([vm, b])),
            ],
        );
        assert_eq!(attached(&f, &vm), both, "round {round} after attach");
        at_once(
            &f,
            round,
            &[
                ("detach_disk", json!([vm, a])),
                ("detach_disk", json!([vm, b])),
            ],
        );
        assert!(attached(&f, &vm).is_empty(), "round {round} after detach");
    }
    f.cpi.ok("delete_vm", json!([vm])).expect("delete_vm");
    for d in [&a, &b] {
        f.cpi.ok("delete_disk", json!([d])).expect("delete_disk");
    }
}

#[test]
fn attach_and_detach_race_set_vm_metadata() {
    let f = VmFixture::new().expect("fixture");
    let vm = vm(&f, true);
    let d = disk(&f, 32);
    for round in 0..ROUNDS {
        let attach = round % 2 == 0;
        let method = if attach { "attach_disk" } else { "detach_disk" };
        let meta = json!({"deployment": "cf", "round": round.to_string()});
        at_once(
            &f,
            round,
            &[
                (method, json!([vm, d])),
                ("set_vm_metadata", json!([vm, meta])),
            ],
        );
        let want: BTreeSet<String> = if attach {
            [d.clone()].into()
        } else {
            BTreeSet::new()
        };
        assert_eq!(attached(&f, &vm), want, "round {round}");
        let inst = f.project.instance(&vm).expect("instance");
        assert_eq!(
            inst["config"]["user.bosh.meta.round"],
            round.to_string(),
            "round {round}: metadata lost"
        );
    }
    f.cpi.ok("delete_vm", json!([vm])).expect("delete_vm");
    f.cpi.ok("delete_disk", json!([d])).expect("delete_disk");
}

#[test]
fn attach_races_detach_of_another_disk() {
    let f = VmFixture::new().expect("fixture");
    let vm = vm(&f, true);
    let (a, b) = (disk(&f, 32), disk(&f, 32));
    f.cpi
        .ok("attach_disk", json!([vm, a]))
        .expect("attach_disk");
    let (mut on, mut off) = (a.clone(), b.clone());
    for round in 0..ROUNDS {
        at_once(
            &f,
            round,
            &[
                ("detach_disk", json!([vm, on])),
                ("attach_disk", json!([vm, off])),
            ],
        );
        std::mem::swap(&mut on, &mut off);
        assert_eq!(attached(&f, &vm), [on.clone()].into(), "round {round}");
    }
    f.cpi.ok("delete_vm", json!([vm])).expect("delete_vm");
    for d in [&a, &b] {
        f.cpi.ok("delete_disk", json!([d])).expect("delete_disk");
    }
}
