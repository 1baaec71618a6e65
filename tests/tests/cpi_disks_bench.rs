//! Benchmark, not a test (ignored by default): `attach_disk` and `detach_disk` as whole CPI
//! processes against the raw LXD calls they wrap, sent with `curl --unix-socket` one
//! process per request, in the same run and alternating (ABBA), plus a restart-based
//! attach (stop, add the device, start) for comparison. Prints a Markdown table of medians.
//! Run it with `scripts/bench-disks` (release build, its own project, cleaned up).
//!
//! raw attach: PATCH of the device and key + push of the settings file (as rendered).
//! raw detach: exec of `bosh-lxd-helper release` (waited for) + PUT of the instance without
//! the device and key (waited for) + push of the settings file.
//! restart attach: forced stop + PATCH + start, until LXD reports it running.
//! Before each detach the stand-in agent mounts the disk on `/var/vcap/store` (not timed).

#![allow(clippy::expect_used)] // a failed step should stop the benchmark with its message
#![allow(clippy::print_stdout)] // the table is the output

mod cpi_disks_support;

use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use bosh_lxd_tests::cpi::fixture::{SETTINGS_PATH, VmFixture};
use bosh_lxd_tests::{TEST_POOL, daemon};
use cpi_disks_support::{agent, disk, hint, settings_file, vm};
use serde_json::{Value, json};

/// One raw request through curl; returns the decoded answer.
fn curl(project: &str, method: &str, path: &str, body: Option<(&str, &[u8])>) -> Result<Value> {
    let sep = if path.contains('?') { '&' } else { '?' };
    let url = format!("http://lxd{path}{sep}project={project}");
    let mut cmd = Command::new("curl");
    cmd.args(["-sS", "--unix-socket", daemon().socket, "-X", method]);
    let mut tmp = None;
    if let Some((content_type, bytes)) = body {
        let file = std::env::temp_dir().join(format!("bench-{}", uuid::Uuid::new_v4().simple()));
        std::fs::write(&file, bytes)?;
        cmd.args(["-H", &format!("Content-Type: {content_type}")]);
        if content_type == "application/octet-stream" {
            cmd.args([
                "-H",
                "X-LXD-type: file",
                "-H",
                "X-LXD-uid: 0",
                "-H",
                "X-LXD-gid: 0",
            ]);
            cmd.args(["-H", "X-LXD-mode: 0600"]);
        }
        cmd.arg("--data-binary").arg(format!("@{}", file.display()));
        tmp = Some(file);
    }
    let out = cmd.arg(&url).output().context("curl")?;
    if let Some(file) = tmp {
        std::fs::remove_file(&file).with_context(|| format!("removing {}", file.display()))?;
    }
    let v: Value = serde_json::from_slice(&out.stdout)
        .with_context(|| format!("{method} {url}: {}", String::from_utf8_lossy(&out.stdout)))?;
    if v["type"] == "error" {
        bail!("{method} {url}: {}", v["error"]);
    }
    if v["type"] == "async" {
        let op = v["metadata"]["id"].as_str().context("operation id")?;
        let done = curl(
            project,
            "GET",
            &format!("/1.0/operations/{op}/wait?timeout=60"),
            None,
        )?;
        if done["metadata"]["status"] != "Success" {
            bail!("{method} {url}: operation {}", done["metadata"]);
        }
        return Ok(done);
    }
    Ok(v)
}

fn json_body(v: &Value) -> Vec<u8> {
    serde_json::to_vec(v).unwrap_or_default()
}

fn timed(f: impl FnOnce() -> Result<()>) -> Duration {
    let start = Instant::now();
    f().expect("timed step");
    start.elapsed()
}

/// Median and p90 (nearest rank).
fn stats(mut v: Vec<Duration>) -> (Duration, Duration) {
    v.sort();
    let p90 = (v.len() * 9).div_ceil(10).saturating_sub(1);
    (v[v.len() / 2], v[p90])
}

fn ms(d: Duration) -> String {
    format!("{:.0}", d.as_secs_f64() * 1000.0)
}

/// The settings file of `vm` with `disks.persistent` set as the CPI would render it.
fn settings_bytes(f: &VmFixture, vm: &str, disks: &[&str]) -> Vec<u8> {
    let mut s = settings_file(f, vm).expect("settings");
    s["disks"]["persistent"] = disks
        .iter()
        .map(|d| (d.to_string(), json!(hint(d))))
        .collect();
    json_body(&s)
}

struct Raw<'a> {
    f: &'a VmFixture,
    vm: &'a str,
    d: &'a str,
}

impl Raw<'_> {
    fn project(&self) -> &str {
        self.f.project.name()
    }

    fn patch_body(&self) -> Value {
        json!({"config": {format!("user.bosh.disk.{}", self.d): hint(self.d)},
            "devices": {self.d: {"type": "disk", "pool": TEST_POOL, "source": self.d,
                                 "path": hint(self.d)}}})
    }

    fn push(&self, bytes: &[u8]) -> Result<()> {
        let path = format!("/1.0/instances/{}/files?path={SETTINGS_PATH}", self.vm);
        curl(
            self.project(),
            "POST",
            &path,
            Some(("application/octet-stream", bytes)),
        )
        .map(drop)
    }

    fn attach(&self, settings: &[u8]) -> Duration {
        let body = json_body(&self.patch_body());
        let path = format!("/1.0/instances/{}", self.vm);
        timed(|| {
            curl(
                self.project(),
                "PATCH",
                &path,
                Some(("application/json", &body)),
            )?;
            self.push(settings)
        })
    }

    fn detach(&self, settings: &[u8]) -> Duration {
        let mut inst = self.f.project.instance(self.vm).expect("instance");
        inst["devices"]
            .as_object_mut()
            .expect("devices")
            .remove(self.d);
        let key = bosh_lxd_contract::keys::disk_key(self.d);
        inst["config"].as_object_mut().expect("config").remove(&key);
        let put = json_body(&inst);
        let exec = json_body(
            &json!({"command": [bosh_lxd_contract::paths::HELPER, "release", self.d],
            "record-output": true, "wait-for-websocket": false, "interactive": false}),
        );
        let path = format!("/1.0/instances/{}", self.vm);
        timed(|| {
            let done = curl(
                self.project(),
                "POST",
                &format!("{path}/exec"),
                Some(("application/json", &exec)),
            )?;
            if done["metadata"]["metadata"]["return"] != 0 {
                bail!("release: {}", done["metadata"]);
            }
            curl(
                self.project(),
                "PUT",
                &path,
                Some(("application/json", &put)),
            )?;
            self.push(settings)
        })
    }

    fn restart_attach(&self) -> Duration {
        let body = json_body(&self.patch_body());
        let path = format!("/1.0/instances/{}", self.vm);
        let stop = json_body(&json!({"action": "stop", "force": true, "timeout": 30}));
        let start = json_body(&json!({"action": "start"}));
        timed(|| {
            curl(
                self.project(),
                "PUT",
                &format!("{path}/state"),
                Some(("application/json", &stop)),
            )?;
            curl(
                self.project(),
                "PATCH",
                &path,
                Some(("application/json", &body)),
            )?;
            curl(
                self.project(),
                "PUT",
                &format!("{path}/state"),
                Some(("application/json", &start)),
            )?;
            Ok(())
        })
    }
}

fn cpi_call(f: &VmFixture, method: &str, vm: &str, d: &str) -> Duration {
    timed(|| f.cpi.ok(method, json!([vm, d])).map(drop))
}

fn mount_store(f: &VmFixture, vm: &str, d: &str) {
    agent(f, vm, &["add_persistent_disk", d, &hint(d)]).expect("add_persistent_disk");
    agent(f, vm, &["mount_disk", d]).expect("mount_disk");
}

#[test]
#[ignore = "benchmark: run with --run-ignored only --no-capture"]
fn attach_and_detach_against_raw_lxd() {
    let runs: usize = std::env::var("BENCH_DISK_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let f = VmFixture::new().expect("fixture");
    let vm = vm(&f, true);
    let d = disk(&f, 64);
    let raw = Raw {
        f: &f,
        vm: &vm,
        d: &d,
    };
    let with = settings_bytes(&f, &vm, &[&d]);
    let without = settings_bytes(&f, &vm, &[]);
    let (mut cpi_a, mut cpi_d, mut raw_a, mut raw_d) = (vec![], vec![], vec![], vec![]);
    for i in 0..runs * 2 {
        // ABBA: CPI, raw, raw, CPI, ...
        if matches!(i % 4, 0 | 3) {
            cpi_a.push(cpi_call(&f, "attach_disk", &vm, &d));
            mount_store(&f, &vm, &d);
            cpi_d.push(cpi_call(&f, "detach_disk", &vm, &d));
        } else {
            raw_a.push(raw.attach(&with));
            mount_store(&f, &vm, &d);
            raw_d.push(raw.detach(&without));
        }
    }
    let mut restart = vec![];
    for _ in 0..runs.min(5) {
        restart.push(raw.restart_attach());
        raw.detach(&without);
    }
    let (ca, cd, ra, rd, rs) = (
        stats(cpi_a),
        stats(cpi_d),
        stats(raw_a),
        stats(raw_d),
        stats(restart),
    );
    let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64();
    println!("| call | n | CPI median (p90), ms | raw median (p90), ms | CPI / raw (medians) |");
    println!("|---|---|---|---|---|");
    for (name, c, r) in [("attach_disk", ca, ra), ("detach_disk", cd, rd)] {
        println!(
            "| {name} | {runs} | {} ({}) | {} ({}) | {:.2} |",
            ms(c.0),
            ms(c.1),
            ms(r.0),
            ms(r.1),
            ratio(c.0, r.0)
        );
    }
    println!(
        "| restart-based attach (stop, PATCH, start) | {} | | {} ({}) | live attach_disk is {:.0}x faster |",
        runs.min(5),
        ms(rs.0),
        ms(rs.1),
        ratio(rs.0, ca.0)
    );
    f.cpi.ok("delete_vm", json!([vm])).expect("delete_vm");
    f.cpi.ok("delete_disk", json!([d])).expect("delete_disk");
}
