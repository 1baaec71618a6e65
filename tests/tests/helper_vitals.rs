//! The guest helper's vitals and network work in real unprivileged containers from the
//! fixture stemcell: `monit-exec` (kernel uptime, start times, mount propagation), `boot`
//! on two NICs and from its systemd unit at container start, `check` on broken and
//! healthy VMs, the overlay's monit wrapper (daemon start-up on both stemcell lines and
//! from the stock run line, the agent's CLI calls, the access step without net_cls).
//! Needs the static helper from `scripts/build-helper`. Network traffic: only the test
//! bridge's own address.

#![allow(clippy::expect_used)] // a failed step should stop the test with its message

use std::time::Duration;

use bosh_lxd_tests::helper::disks::SETTINGS;
use bosh_lxd_tests::helper::monit::{MONIT_ACTUAL, RUN_LINE_STDERR, STOCK_RUN_LINE};
use bosh_lxd_tests::helper::{
    FAILING_ACCESS_HELPER, GUEST_HELPER, Guest, JAMMY_LIKE_ACCESS_HELPER, bad_texts,
    network_settings, random_address, random_mac, set_nic,
};
use bosh_lxd_tests::{Project, TEST_POOL, daemon, wait_for};
use serde_json::Value;

/// `check --json` found the monit daemon `pid` running under monit-exec.
fn assert_under_monit_exec(code: i32, doc: &Value, pid: u32) {
    assert_eq!(code, 0, "{doc:#}");
    assert_eq!(doc["monit"]["pid"], pid, "{doc:#}");
    assert_eq!(doc["monit"]["own_namespace"], true, "{doc:#}");
    assert_eq!(doc["monit"]["lxcfs_uptime"], false, "{doc:#}");
}

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

    // the kernel's uptime as sysinfo(2) gives it in the guest: whole seconds, rounded up,
    // so the centiseconds of /proc/uptime read in between lie in (before - 1, after]
    let before = g.kernel_uptime().expect("kernel uptime");
    let (seen, start, hz) = g.uptime_and_start(&exec).expect("under monit-exec");
    let after = g.kernel_uptime().expect("kernel uptime");
    assert!(
        seen > before - 1.01 && seen <= after,
        "under monit-exec /proc/uptime {seen} should be the kernel's ({before}..{after} s)"
    );
    let age = seen - start / hz;
    assert!(
        age >= -0.02,
        "monit's start time is in the future: age {age} s"
    );

    // the rest of the container keeps lxcfs's view, also after monit-exec ran
    let init_uptime = g
        .sh("grep ' /proc/uptime ' /proc/1/mountinfo")
        .expect("PID 1's mounts");
    assert!(
        init_uptime.contains("fuse.lxcfs"),
        "lxcfs's /proc/uptime is still mounted for PID 1: {init_uptime}"
    );
    let (plain, plain_start, _) = g.uptime_and_start("").expect("plain");
    assert!(
        before - plain > 5.0,
        "outside monit-exec /proc/uptime {plain} should be the container's age (kernel {before})"
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
        set_nic(p, name, "eth0", &mac0)?;
        set_nic(p, name, "eth1", &mac1)
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
    g.write(SETTINGS, &settings, "0640").expect("settings");
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
    g.write(SETTINGS, &settings, "0640").expect("settings");
    g.attach_disk(TEST_POOL, "hv-check-d1", "d1")
        .expect("attach");
    g.sh(&format!("{GUEST_HELPER} boot >/dev/null 2>&1"))
        .expect("boot");
    // what the agent's mount_disk does
    g.sh("mount /warden-cpi-dev/d1 /var/vcap/store -o bind \
          && printf d1 > /var/vcap/bosh/managed_disk_settings.json")
        .expect("mount_disk");
    // monit through the overlay's run script, with an access helper that fails (run only
    // where a net_cls hierarchy is mounted)
    g.start_overlay_monit(FAILING_ACCESS_HELPER).expect("monit");
    let (code, doc) = g.check().expect("check");
    assert_eq!(code, 0, "healthy VM: {doc:#}");
    assert_eq!(doc["monit"]["own_namespace"], true, "{doc:#}");

    // monit started outside monit-exec
    g.stop_overlay_monit().expect("sv stop");
    let pid = g.start_plain_monit().expect("plain monit");
    let (code, doc) = g.check().expect("check");
    assert_bad(&doc, code, "not started through monit-exec");
    assert_bad(&doc, code, "start times will be in the future");
    g.sh(&format!("kill {pid}")).expect("kill");
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
    assert_under_monit_exec(code, &doc, pid);
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
fn the_agents_monit_cli_calls_go_through_the_wrapper_unchanged() {
    let project = Project::for_run().expect("project");
    let g = Guest::launch(&project, "hv-cli", |_, _| Ok(())).expect("launch");
    g.require_no_net_cls().expect("the premise");
    g.install_monit(FAILING_ACCESS_HELPER).expect("install");
    let init_ns = g.sh("readlink /proc/1/ns/mnt").expect("PID 1's namespace");
    let summary = g.monit_cli("summary").expect("monit summary");
    assert_eq!(summary.code, 0, "{summary:?}");
    assert_eq!(
        summary.stdout,
        format!("args: summary\nmnt: {}\n", init_ns.trim()),
        "monit-actual's reply alone, from the container's mount namespace"
    );
    assert_eq!(summary.stderr, "", "a CLI call says nothing of its own");

    // with an access helper like Jammy's, which writes under `${net_cls_location}`
    g.install_monit(JAMMY_LIKE_ACCESS_HELPER).expect("install");
    let stop = g.monit_cli("stop -g vcap").expect("monit stop");
    assert_eq!(
        (stop.code, stop.stdout.lines().next()),
        (0, Some("args: stop -g vcap"))
    );
    assert!(
        !g.exists("/monit-api-access").expect("test"),
        "step skipped"
    );
    // what the stock wrapper's step would have done: plain files on the rootfs
    g.sh(". /var/vcap/bosh/etc/monit-access-helper.sh && permit_monit_access")
        .expect("the stock step");
    assert!(g.exists("/monit-api-access/tasks").expect("test"));
    project.delete_instance(&g.name).expect("delete");
}

#[test]
fn a_stock_run_line_starts_the_daemon_under_monit_exec_without_the_access_step() {
    let project = Project::for_run().expect("project");
    let g = Guest::launch(&project, "hv-run-line", |_, _| Ok(())).expect("launch");
    g.require_no_net_cls().expect("the premise");
    g.install_monit(JAMMY_LIKE_ACCESS_HELPER).expect("install");
    let pid = g.start_stock_run_line().expect(STOCK_RUN_LINE);
    let (code, doc) = g.check().expect("check");
    assert_under_monit_exec(code, &doc, pid);
    let cmdline = g.cmdline(pid).expect("cmdline");
    let args = format!("{MONIT_ACTUAL} -I -c /var/vcap/bosh/etc/monitrc");
    assert!(cmdline.ends_with(&args), "{cmdline}"); // after /bin/sh: a script stands in
    let stderr = g.sh(&format!("cat {RUN_LINE_STDERR}")).expect("stderr");
    assert_eq!(
        stderr.matches("permit_monit_access skipped").count(),
        1,
        "said once why: {stderr}"
    );
    assert!(
        stderr.contains("protected by its credentials only"),
        "{stderr}"
    );
    assert!(
        !g.exists("/monit-api-access").expect("test"),
        "step skipped"
    );
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
    g.write(SETTINGS, &settings, "0640").expect("settings");
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
