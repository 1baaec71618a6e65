//! The guest helper's vitals and network work in real unprivileged containers from the
//! fixture stemcell: `monit-exec` (kernel uptime, start times, mount propagation), `boot`
//! on two NICs and from its systemd unit at container start, `check` on broken and
//! healthy VMs, the overlay's monit start-up on both stemcell lines. Needs the static helper from
//! `scripts/build-helper`. Network traffic: only the test bridge's own address.

#![allow(clippy::expect_used)] // a failed step should stop the test with its message

use std::time::Duration;

use bosh_lxd_tests::helper::{
    FAILING_ACCESS_HELPER, GUEST_HELPER, Guest, bad_texts, host_uptime, network_settings,
    random_address, random_mac,
};
use bosh_lxd_tests::{Project, TEST_POOL, daemon, wait_for};
use serde_json::Value;

fn assert_bad(doc: &Value, code: i32, needle: &str) {
    let bad = bad_texts(doc);
    assert_eq!(code, 1, "check should fail: {doc:#}");
    assert!(
        bad.iter().any(|t| t.contains(needle)),
        "no bad finding with {needle:?}: {bad:#?}"
    );
}

#[test]
fn monit_exec_sees_the_kernel_uptime_and_start_times_are_not_in_the_future() {
    let project = Project::for_run().expect("project");
    let g = Guest::launch(&project, "hv-uptime", |_, _| Ok(())).expect("launch");
    let exec = format!("{GUEST_HELPER} monit-exec --");

    let before = host_uptime().expect("host uptime");
    let (seen, start, hz) = g.uptime_and_start(&exec).expect("under monit-exec");
    let after = host_uptime().expect("host uptime");
    assert!(
        seen >= before - 0.05 && seen <= after + 0.05,
        "under monit-exec /proc/uptime {seen} should be the kernel's ({before}..{after})"
    );
    let age = seen - start / hz;
    assert!(
        age >= -0.02,
        "monit's start time is in the future: age {age} s"
    );

    // the rest of the container keeps lxcfs's view, also after monit-exec ran
    let (plain, plain_start, _) = g.uptime_and_start("").expect("plain");
    assert!(
        before - plain > 5.0,
        "outside monit-exec /proc/uptime {plain} should be the container's age (host {before})"
    );
    assert!(
        plain - plain_start / hz < 0.0,
        "without monit-exec the same computation goes negative (the bug being fixed)"
    );

    // time before exec, as logged by monit-exec itself
    let mut micros = g.monit_exec_ready_micros(21).expect("timing runs");
    micros.sort_unstable();
    assert_eq!(micros.len(), 21, "{micros:?}");
    let median = micros[10];
    eprintln!(
        "monit-exec before exec: median {median} µs, min {} µs, max {} µs",
        micros[0], micros[20]
    );
    // A measurement, not an assertion: timings belong in BENCHMARKS.md, not in tests.
    project.delete_instance(&g.name).expect("delete");
}

#[test]
fn mounts_made_after_monit_exec_started_reach_its_processes() {
    let project = Project::for_run().expect("project");
    let g = Guest::launch(&project, "hv-mounts", |_, _| Ok(())).expect("launch");
    g.sh(
        "mkdir -p /srv/disk && echo on-disk > /srv/disk/marker && rm -f /root/seen /root/loop.pid",
    )
    .expect("prepare");
    // a long-running process under monit-exec; each iteration starts a new child (cat),
    // like monit starting a job
    let body = "echo $$ > /root/loop.pid; while :; do \
        if [ -e /var/vcap/store/marker ]; then cat /var/vcap/store/marker; else echo none; fi \
        > /root/seen.tmp; mv /root/seen.tmp /root/seen; sleep 0.2; done";
    g.sh(&format!(
        "setsid {GUEST_HELPER} monit-exec -- sh -c '{body}' </dev/null >/dev/null 2>&1 &"
    ))
    .expect("start the loop");
    let seen = |want: &'static str| {
        wait_for(
            &format!("the loop to see {want}"),
            Duration::from_secs(20),
            || {
                let got = g.sh_any("cat /root/seen")?.stdout;
                Ok((got.trim() == want).then_some(()))
            },
        )
    };
    seen("none").expect("loop running, store empty");
    let pid = g.sh("cat /root/loop.pid").expect("pid").trim().to_string();
    let ns = g
        .sh(&format!("readlink /proc/{pid}/ns/mnt /proc/1/ns/mnt"))
        .expect("namespaces");
    let ns: Vec<&str> = ns.lines().collect();
    assert_ne!(ns[0], ns[1], "the loop runs in its own mount namespace");
    let uptime_mounts = g
        .sh(&format!(
            "grep -c ' /proc/uptime ' /proc/{pid}/mountinfo || true"
        ))
        .expect("mountinfo");
    assert_eq!(
        uptime_mounts.trim(),
        "0",
        "no lxcfs /proc/uptime in its namespace"
    );

    g.sh("mount --bind /srv/disk /var/vcap/store")
        .expect("bind in the container's namespace");
    seen("on-disk").expect("the bind reached the process under monit-exec");
    g.sh("umount /var/vcap/store").expect("unmount");
    seen("none").expect("the unmount reached it too");
    g.sh(&format!("kill {pid}")).expect("stop the loop");
    project.delete_instance(&g.name).expect("delete");
}

#[test]
fn boot_configures_two_nics_from_the_settings_alone() {
    let project = Project::for_run().expect("project");
    let (mac0, mac1) = (random_mac(), random_mac());
    let (ip0, ip1) = (random_address(), random_address());
    let g = Guest::launch(&project, "hv-nics", |p, name| {
        p.lxc_ok(&[
            "config",
            "device",
            "override",
            name,
            "eth0",
            &format!("hwaddr={mac0}"),
        ])?;
        let net = format!("network={}", daemon().bridge);
        let hw = format!("hwaddr={mac1}");
        p.lxc_ok(&[
            "config",
            "device",
            "add",
            name,
            "eth1",
            "nic",
            &net,
            "name=eth1",
            &hw,
        ])?;
        Ok(())
    })
    .expect("launch");
    let before = g.sh("ip -4 -o addr show scope global").expect("addresses");
    assert!(
        before.trim().is_empty(),
        "nothing configures the fixture's NICs: {before}"
    );
    let gw = daemon().gateway();
    let settings = format!(
        r#"{{"agent_id":"a-nics","vm":{{"name":"vm-hv-nics"}},"networks":{{
        "a":{{"type":"manual","ip":"{ip0}","netmask":"255.255.0.0","gateway":"{gw}",
              "default":["dns","gateway"],"dns":["{gw}"],"mac":"{mac0}","preconfigured":true}},
        "b":{{"type":"manual","ip":"{ip1}","netmask":"255.255.255.0","mac":"{}","mtu":1400,
              "preconfigured":true}}}},"disks":{{"persistent":{{}}}}}}"#,
        mac1.to_uppercase()
    );
    g.write(
        "/var/vcap/bosh/warden-cpi-agent-env.json",
        &settings,
        "0640",
    )
    .expect("settings");
    let first = g.sh(&format!("{GUEST_HELPER} boot 2>&1")).expect("boot");
    let timing = first
        .lines()
        .find(|l| l.contains("change(s) in"))
        .expect("timing line");
    eprintln!("boot network bring-up: {timing}");

    let on = |dev: &str| {
        g.sh(&format!("ip -4 -o addr show dev {dev}"))
            .expect("addr")
    };
    assert!(
        on("eth0").contains(&format!("{ip0}/16")),
        "eth0: {}",
        on("eth0")
    );
    assert!(
        on("eth1").contains(&format!("{ip1}/24")),
        "eth1: {}",
        on("eth1")
    );
    assert!(
        !on("eth0").contains(&ip1) && !on("eth1").contains(&ip0),
        "no address swapped"
    );
    let mtu = g.sh("cat /sys/class/net/eth1/mtu").expect("mtu");
    assert_eq!(mtu.trim(), "1400");
    let default = g.sh("ip -4 route show default").expect("route");
    assert_eq!(
        default.trim(),
        format!("default via {gw} dev eth0 proto static")
    );
    assert_eq!(g.sh("hostname").expect("hostname").trim(), "vm-hv-nics");
    assert!(
        g.sh("cat /etc/resolv.conf")
            .expect("resolv")
            .contains(&format!("nameserver {gw}"))
    );

    let busybox = std::path::Path::new("/bin/busybox");
    assert!(
        busybox.is_file(),
        "busybox-static is needed for ping (scripts/setup-host installs it)"
    );
    g.push(busybox, "/usr/local/bin/busybox", "0755")
        .expect("push busybox");
    g.sh(&format!("busybox ping -c 1 -W 5 {gw}"))
        .expect("bridge reachable");

    let second = g
        .sh(&format!("{GUEST_HELPER} boot 2>&1"))
        .expect("boot again");
    assert!(
        second.contains("network: 0 change(s)"),
        "idempotent: {second}"
    );
    let (code, doc) = g.check().expect("check");
    assert_eq!(code, 0, "healthy network: {doc:#}");
    project.delete_instance(&g.name).expect("delete");
}

#[test]
fn check_reports_each_broken_state_and_passes_on_a_healthy_vm() {
    let project = Project::for_run().expect("project");
    let g = Guest::launch(&project, "hv-check", |_, _| Ok(())).expect("launch");
    let mac = g.config("volatile.eth0.hwaddr").expect("mac");
    let settings = network_settings("a-check", &random_address(), &mac, &["d1"]);
    g.write(
        "/var/vcap/bosh/warden-cpi-agent-env.json",
        &settings,
        "0640",
    )
    .expect("settings");
    g.attach_disk(TEST_POOL, "hv-check-d1", "d1")
        .expect("attach");
    g.sh(&format!("{GUEST_HELPER} boot >/dev/null 2>&1"))
        .expect("boot");
    // what the agent's mount_disk does
    g.sh("mount /warden-cpi-dev/d1 /var/vcap/store -o bind \
          && printf d1 > /var/vcap/bosh/managed_disk_settings.json")
        .expect("mount_disk");
    // monit through the overlay's run script, with an access step that fails
    g.start_overlay_monit(FAILING_ACCESS_HELPER).expect("monit");
    let (code, doc) = g.check().expect("check");
    assert_eq!(code, 0, "healthy VM: {doc:#}");
    assert_eq!(doc["monit"]["own_namespace"], true, "{doc:#}");

    // monit started outside monit-exec
    g.sh("sv stop monit").expect("sv stop");
    wait_for("monit to stop", Duration::from_secs(20), || {
        Ok(g.sh_any("pgrep -x monit-actual")?
            .stdout
            .trim()
            .is_empty()
            .then_some(()))
    })
    .expect("stopped");
    let pid = g
        .sh("setsid /var/vcap/bosh/bin/monit-actual -I -c /var/vcap/bosh/etc/monitrc </dev/null >/dev/null 2>&1 & echo $!")
        .expect("plain monit");
    g.wait_monit().expect("plain monit runs");
    let (code, doc) = g.check().expect("check");
    assert_bad(&doc, code, "not started through monit-exec");
    assert_bad(&doc, code, "start times will be in the future");
    g.sh(&format!("kill {}", pid.trim())).expect("kill");
    g.sh("sv start monit").expect("sv start");
    g.wait_monit().expect("monit back");

    // the store unmounted under the agent
    g.sh("umount /var/vcap/store").expect("umount");
    let (code, doc) = g.check().expect("check");
    assert_bad(
        &doc,
        code,
        "the agent's disk is d1 but /var/vcap/store is not a mount point",
    );

    // the disk detached, still in the settings
    g.detach_disk("d1").expect("detach");
    let (code, doc) = g.check().expect("check");
    assert_bad(
        &doc,
        code,
        "disk d1 is in the settings' disks.persistent but not attached",
    );

    project.delete_instance(&g.name).expect("delete");
    project
        .lxc_ok(&["storage", "volume", "delete", TEST_POOL, "hv-check-d1"])
        .expect("delete volume");
}

#[test]
fn noble_drop_in_starts_monit_under_monit_exec() {
    let project = Project::for_run().expect("project");
    let g = Guest::launch(&project, "hv-noble", |_, _| Ok(())).expect("launch");
    let pid = g.start_overlay_monit_noble().expect("monit.service");
    let exec_start = g.sh("systemctl show -p ExecStart monit").expect("show");
    assert!(
        exec_start.contains("bosh-lxd-monit"),
        "drop-in in effect: {exec_start}"
    );
    let (code, doc) = g.check().expect("check");
    assert_eq!(code, 0, "{doc:#}");
    assert_eq!(doc["monit"]["pid"], pid, "{doc:#}");
    assert_eq!(doc["monit"]["own_namespace"], true, "{doc:#}");
    assert_eq!(doc["monit"]["lxcfs_uptime"], false, "{doc:#}");
    // systemctl kill + start, as the agent reloads monit: it comes back the same way
    g.sh("systemctl kill monit").expect("kill");
    wait_for("monit to restart", Duration::from_secs(30), || {
        let now = g.wait_monit()?;
        Ok((now != pid).then_some(()))
    })
    .expect("restarted");
    let (code, doc) = g.check().expect("check");
    assert_eq!(code, 0, "after a restart: {doc:#}");
    project.delete_instance(&g.name).expect("delete");
}

#[test]
fn the_boot_unit_brings_the_network_up_at_container_start() {
    let project = Project::for_run().expect("project");
    let g = Guest::launch(&project, "hv-unit", |_, _| Ok(())).expect("launch");
    let (mac, ip) = (
        g.config("volatile.eth0.hwaddr").expect("mac"),
        random_address(),
    );
    let settings = network_settings("a-unit", &ip, &mac, &[]);
    g.write(
        "/var/vcap/bosh/warden-cpi-agent-env.json",
        &settings,
        "0640",
    )
    .expect("settings");
    project.lxc_ok(&["restart", &g.name]).expect("restart");
    project.wait_booted(&g.name).expect("booted");
    let state = g
        .sh("systemctl is-active bosh-lxd-helper-boot")
        .expect("unit state");
    assert_eq!(state.trim(), "active");
    let addr = g.sh("ip -4 -o addr show dev eth0").expect("addr");
    assert!(addr.contains(&format!("{ip}/16")), "{addr}");
    assert_eq!(
        g.sh("hostname").expect("hostname").trim(),
        "a-unit",
        "agent_id as hostname"
    );
    let (code, doc) = g.check().expect("check");
    assert_eq!(code, 0, "{doc:#}");
    project.delete_instance(&g.name).expect("delete");
}
