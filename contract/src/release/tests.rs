//! The release result on the wire: pinned JSON, round trips, and what a reader makes of
//! stdout that is empty (an old helper) or not a result.

use super::*;

fn released() -> ReleaseResult {
    let own = |path: &str| MountPoint {
        path: path.into(),
        namespace: "own".into(),
    };
    ReleaseResult::Released {
        unmounted: vec![own("/var/vcap/store"), own("/warden-cpi-dev/disk-1")],
    }
}

fn busy() -> ReleaseResult {
    ReleaseResult::Busy {
        paths: vec![StuckMount {
            path: "/var/vcap/store".into(),
            namespace: "own".into(),
            error: "Device or resource busy".into(),
        }],
        holders: vec![Holder {
            pid: 274,
            command: "sleep".into(),
            holds: vec![
                "cwd /var/vcap/store".into(),
                "fd 3 /var/vcap/store/f".into(),
            ],
        }],
    }
}

/// Every variant, with the exact line a helper prints for it. Helpers already in
/// stemcells print these lines: a change here must stay readable by the CPI.
fn cases() -> Vec<(ReleaseResult, &'static str)> {
    vec![
        (
            released(),
            r#"{"result":"released","unmounted":[{"path":"/var/vcap/store","namespace":"own"},{"path":"/warden-cpi-dev/disk-1","namespace":"own"}]}"#,
        ),
        (ReleaseResult::NotMounted, r#"{"result":"not-mounted"}"#),
        (
            busy(),
            r#"{"result":"busy","paths":[{"path":"/var/vcap/store","namespace":"own","error":"Device or resource busy"}],"holders":[{"pid":274,"command":"sleep","holds":["cwd /var/vcap/store","fd 3 /var/vcap/store/f"]}]}"#,
        ),
        (
            ReleaseResult::Error {
                message: "\"a/b\" is not a disk cid".into(),
            },
            r#"{"result":"error","message":"\"a/b\" is not a disk cid"}"#,
        ),
    ]
}

#[test]
fn every_result_prints_its_pinned_line_and_reads_back() {
    for (result, wire) in cases() {
        let line = result.to_line().unwrap();
        assert_eq!(line, format!("{wire}\n"));
        let back = ReleaseResult::from_stdout(line.as_bytes()).unwrap();
        assert_eq!(back, Some(result));
    }
}

#[test]
fn exit_codes_follow_the_result() {
    let codes: Vec<u8> = cases().iter().map(|(r, _)| r.exit_code()).collect();
    assert_eq!(
        codes,
        [EXIT_RELEASED, EXIT_RELEASED, EXIT_BUSY, EXIT_FAILED]
    );
    assert_eq!((EXIT_RELEASED, EXIT_FAILED, EXIT_BUSY), (0, 1, 2));
    let released: Vec<bool> = cases().iter().map(|(r, _)| r.is_released()).collect();
    assert_eq!(released, [true, true, false, false]);
}

#[test]
fn empty_stdout_is_an_old_helper() {
    for stdout in ["", "\n", "  \n\t"] {
        assert_eq!(ReleaseResult::from_stdout(stdout.as_bytes()).unwrap(), None);
    }
}

#[test]
fn stdout_that_is_no_result_is_an_error_naming_it() {
    for stdout in [
        "done",
        r#"{"result":"exploded"}"#,
        r#"{"result":"released"}"#,
        "{\"result\":\"not-mounted\"}\n{\"result\":\"not-mounted\"}",
    ] {
        let e = ReleaseResult::from_stdout(stdout.as_bytes()).unwrap_err();
        let m = e.to_string();
        assert!(m.contains("not a release result"), "{m}");
        assert!(m.contains(stdout.lines().next().unwrap()), "{m}");
    }
}

#[test]
fn a_newer_helper_may_add_fields() {
    let line = r#"{"result":"released","unmounted":[],"took_ms":3}"#;
    let got = ReleaseResult::from_stdout(line.as_bytes()).unwrap();
    assert_eq!(got, Some(ReleaseResult::Released { unmounted: vec![] }));
}

#[test]
fn the_operator_reads_one_line() {
    assert_eq!(
        busy().to_string(),
        "/var/vcap/store stays mounted (namespace own): Device or resource busy; \
         held by pid 274 (sleep): cwd /var/vcap/store, fd 3 /var/vcap/store/f"
    );
    let nobody = ReleaseResult::Busy {
        paths: vec![],
        holders: vec![],
    };
    assert_eq!(nobody.to_string(), "no process found holding the mounts");
    assert_eq!(ReleaseResult::NotMounted.to_string(), "nothing was mounted");
    assert_eq!(
        released().to_string(),
        "unmounted /var/vcap/store (namespace own), /warden-cpi-dev/disk-1 (namespace own)"
    );
}
