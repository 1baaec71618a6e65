//! Time spent in each CPI call, read from the CPI's own log: create-env's debug log
//! (`BOSH_LOG_LEVEL=debug`) holds each call's stderr, where the CPI logs
//! `<RFC 3339 time> INFO cpi{method=M ...}: request ...` first and `... done` last.

use std::collections::BTreeMap;

/// One CPI call: its method and seconds from its `request` line to its `done` line.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// The CPI method.
    pub method: String,
    /// Seconds between the call's first and last log lines.
    pub secs: f64,
}

/// Every call in `log`, in order. The CLI logs a call's stderr more than once: a call
/// whose `request` line has the same time and method as an earlier one is not counted
/// again.
pub fn cpi_calls(log: &str) -> Vec<Call> {
    let mut open: BTreeMap<String, f64> = BTreeMap::new();
    let mut seen: Vec<(String, String)> = Vec::new();
    let mut calls = Vec::new();
    for line in log.lines() {
        let Some((stamp, method, what)) = parse(line) else {
            continue;
        };
        let Some(t) = seconds(stamp) else { continue };
        if what.starts_with("request") {
            let key = (stamp.to_owned(), method.to_owned());
            if seen.contains(&key) {
                continue;
            }
            seen.push(key);
            open.insert(method.to_owned(), t);
        } else if what == "done"
            && let Some(start) = open.remove(method)
        {
            // A call across midnight UTC.
            let secs = if t >= start {
                t - start
            } else {
                t + 86_400.0 - start
            };
            calls.push(Call {
                method: method.to_owned(),
                secs,
            });
        }
    }
    calls
}

/// Per method: number of calls and total seconds, sorted by method.
pub fn per_method(calls: &[Call]) -> BTreeMap<String, (usize, f64)> {
    let mut sums = BTreeMap::new();
    for c in calls {
        let e = sums.entry(c.method.clone()).or_insert((0, 0.0));
        e.0 += 1;
        e.1 += c.secs;
    }
    sums
}

/// One line for a benchmark table: `label`, the wall time, and per method the calls and
/// seconds (`create_vm 1x 6.1s`).
pub fn summary(label: &str, wall: std::time::Duration, calls: &[Call]) -> String {
    let methods: Vec<String> = per_method(calls)
        .iter()
        .map(|(m, (n, s))| format!("{m} {n}x {s:.2}s"))
        .collect();
    format!(
        "create-env timing [{label}]: wall {:.1}s; CPI calls: {}",
        wall.as_secs_f64(),
        methods.join(", ")
    )
}

/// (time stamp, method, message) of a CPI span's own line (`cpi{...}: message`, not a
/// nested span's).
fn parse(line: &str) -> Option<(&str, &str, &str)> {
    let start = line.find("20")?;
    let line = &line[start..];
    let (stamp, rest) = line.split_once(' ')?;
    if !stamp.ends_with('Z') || !stamp.contains('T') {
        return None;
    }
    let span = rest.find("cpi{method=")?;
    let rest = &rest[span + "cpi{method=".len()..];
    let end = rest.find([' ', '}'])?;
    let (method, rest) = rest.split_at(end);
    let close = rest.find('}')?;
    Some((stamp, method, rest[close..].strip_prefix("}: ")?))
}

/// Seconds of the day of an RFC 3339 UTC time stamp (`2026-12-08T02:53:31.260579Z`).
fn seconds(stamp: &str) -> Option<f64> {
    let time = stamp.split_once('T')?.1.trim_end_matches('Z');
    let mut parts = time.split(':');
    let h: f64 = parts.next()?.parse().ok()?;
    let m: f64 = parts.next()?.parse().ok()?;
    let s: f64 = parts.next()?.parse().ok()?;
    Some(h * 3600.0 + m * 60.0 + s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_are_timed_once_from_request_to_done() {
        let log = "\
[Cmd Runner] 2026/12/08 02:53:37 DEBUG - Stderr: 2026-12-08T02:53:31.250000Z  INFO cpi{method=create_vm request_id=\"-\"}: request api_version=2
2026-12-08T02:53:31.260740Z DEBUG cpi{method=create_vm request_id=\"-\"}:run{agent_id=a}: done
2026-12-08T02:53:37.750000Z  INFO cpi{method=create_vm request_id=\"-\"}: done
2026-12-08T02:53:31.250000Z  INFO cpi{method=create_vm request_id=\"-\"}: request api_version=2
2026-12-08T02:53:37.750000Z  INFO cpi{method=create_vm request_id=\"-\"}: done
2026-12-08T23:59:59.500000Z  INFO cpi{method=info}: request api_version=1
2026-12-09T00:00:00.000000Z  INFO cpi{method=info}: done
";
        let calls = cpi_calls(log);
        assert_eq!(calls.len(), 2, "{calls:?}");
        assert_eq!(calls[0].method, "create_vm");
        assert!((calls[0].secs - 6.5).abs() < 1e-6, "{calls:?}");
        assert!((calls[1].secs - 0.5).abs() < 1e-6, "{calls:?}");
        assert_eq!(per_method(&calls)["create_vm"].0, 1);
    }
}
