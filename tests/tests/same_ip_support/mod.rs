//! What the host sees of a VM whose address moved to another VM: its neighbour entry for
//! the address, and whether its first connection is answered. Shared by the tests of the
//! CPI's derived MACs and of the helper's announcement (`cpi_vm_networks.rs`).
#![allow(clippy::expect_used)] // a failed step should stop the test with its message

use std::time::{Duration, Instant};

use bosh_lxd_tests::cpi::fixture::{VmFixture, manual_network};
use bosh_lxd_tests::{daemon, wait_for};
use serde_json::{Value, json};

/// The port the CLI and the director reach the agent on.
pub const MBUS_PORT: u16 = 6868;
/// How many times the VM is recreated with the same address.
pub const RECREATES: usize = 10;
/// How long one connection attempt from the host may wait for an answer: far more than a
/// reply on a bridge takes, far less than a stale neighbour entry lasts (tens of seconds).
const ATTEMPT: Duration = Duration::from_secs(5);

/// The host's neighbour entry for `ip` on the test bridge: (link-layer address, state),
/// `None` when it has none or one without an address (`FAILED`, `INCOMPLETE`).
pub fn neighbour(ip: &str) -> Option<(String, String)> {
    let out = std::process::Command::new("ip")
        .args(["-j", "neigh", "show", ip, "dev", daemon().bridge])
        .output()
        .expect("running ip neigh");
    assert!(out.status.success(), "ip neigh show {ip}: {out:?}");
    let entries: Value = serde_json::from_slice(&out.stdout).expect("ip -j neigh: JSON");
    let entry = entries.as_array()?.first()?;
    let mac = entry["lladdr"].as_str()?.to_owned();
    let state = entry["state"].as_array().map_or(String::new(), |s| {
        s.iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(",")
    });
    Some((mac, state))
}

/// One TCP connection attempt from the host to the agent's port, as the CLI makes it:
/// true when the guest answered (accepted, or refused because nothing listens yet).
pub fn host_reaches(ip: &str) -> bool {
    let addr = std::net::SocketAddr::new(ip.parse().expect("an IPv4 address"), MBUS_PORT);
    match std::net::TcpStream::connect_timeout(&addr, ATTEMPT) {
        Ok(_) => true,
        Err(e) => e.kind() == std::io::ErrorKind::ConnectionRefused,
    }
}

/// What one replacement looked like from the host.
#[derive(Debug)]
pub struct Round {
    pub mac: String,
    /// The host's entry for the address right after `create_vm` returned.
    pub entry_after_create: Option<(String, String)>,
    pub first_attempt: bool,
    /// From `create_vm`'s return: the address in the guest, then the first answer.
    pub to_address: Duration,
    pub to_reached: Option<Duration>,
}

/// Creates a VM on `ip`, waits for its address, and tries the host's connection: the
/// first attempt, then more until one is answered (for the printed time), then deletes it.
pub fn replace_once(f: &VmFixture, ip: &str) -> Round {
    let networks = json!({"m": manual_network(ip, true)});
    let (vm, answer) = f
        .create_vm(&VmFixture::agent_id(), json!({}), networks, json!({}))
        .expect("create_vm");
    let created = Instant::now();
    let entry_after_create = neighbour(ip);
    let mac = answer["m"]["mac"].as_str().expect("mac").to_owned();
    wait_for("the address in the guest", Duration::from_secs(60), || {
        let out = f.exec(&vm, &["ip", "-4", "-o", "addr", "show", "dev", "eth0"])?;
        Ok(out.contains(&format!(" {ip}/")).then_some(()))
    })
    .expect("the helper set the address");
    let to_address = created.elapsed();
    let first_attempt = host_reaches(ip);
    let mut reached = first_attempt;
    while !reached && created.elapsed() < Duration::from_secs(120) {
        reached = host_reaches(ip);
    }
    let to_reached = reached.then(|| created.elapsed());
    if let Some((entry_mac, _)) = neighbour(ip).filter(|_| reached) {
        assert_eq!(
            entry_mac, mac,
            "after talking to {vm} the host names its MAC"
        );
    }
    f.cpi.ok("delete_vm", json!([vm])).expect("delete_vm");
    Round {
        mac,
        entry_after_create,
        first_attempt,
        to_address,
        to_reached,
    }
}
