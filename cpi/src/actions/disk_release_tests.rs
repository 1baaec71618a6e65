//! The CPI's reading of `bosh-lxd-helper release`: the JSON lines below are written out as
//! the helper prints them (the contract crate pins the same lines from the helper's side),
//! so a change of the wire format on either side fails here.

use bytes::Bytes;

use super::*;

const RELEASED: &str = r#"{"result":"released","unmounted":[{"path":"/var/vcap/store","namespace":"own"},{"path":"/warden-cpi-dev/disk-1","namespace":"own"}]}"#;
const BUSY: &str = r#"{"result":"busy","paths":[{"path":"/var/vcap/store","namespace":"own","error":"Device or resource busy"}],"holders":[{"pid":274,"command":"sleep","holds":["cwd /var/vcap/store"]}]}"#;

fn out(code: i64, stdout: &str, stderr: &str) -> ExecOutput {
    ExecOutput {
        exit_code: code,
        stdout: Bytes::from(format!("{stdout}\n")),
        stderr: Bytes::from(stderr.to_owned()),
    }
}

/// `(name, output, has_helper_key, Ok(done) | Err((bosh type, ok_to_retry, text)))`.
type Case = (
    &'static str,
    ExecOutput,
    bool,
    Result<Released, (&'static str, bool, &'static str)>,
);

fn check(cases: Vec<Case>) {
    let vm = VmCid::new("vm-1").unwrap();
    let disk = DiskCid::new("disk-1").unwrap();
    for (name, o, key, want) in cases {
        match (judge(&vm, &disk, key, &o), want) {
            (Ok(got), Ok(w)) => assert_eq!(got, w, "case {name}"),
            (Err(e), Err((kind, retry, text))) => {
                let got = (e.bosh_type(), e.ok_to_retry());
                assert_eq!(got, (kind, retry), "case {name}");
                let m = e.to_string();
                assert!(m.contains(text), "case {name}: {m}");
                assert!(m.contains("disk disk-1 from VM vm-1"), "case {name}: {m}");
            }
            (got, _) => panic!("case {name}: {got:?}"),
        }
    }
}

const CLOUD: &str = "Bosh::Clouds::CloudError";

#[test]
fn the_result_on_stdout_decides() {
    let log = "T ERROR release disk-1: this log is not read";
    check(vec![
        (
            "released",
            out(0, RELEASED, log),
            true,
            Ok(Released::Done(
                "unmounted /var/vcap/store (namespace own), /warden-cpi-dev/disk-1 (namespace own)"
                    .into(),
            )),
        ),
        (
            "not mounted",
            out(0, r#"{"result":"not-mounted"}"#, ""),
            true,
            Ok(Released::Done("nothing was mounted".into())),
        ),
        (
            "busy",
            out(2, BUSY, log),
            true,
            Err((
                CLOUD,
                true,
                "/var/vcap/store stays mounted (namespace own): Device or resource busy; \
                 held by pid 274 (sleep): cwd /var/vcap/store. Stop what holds it",
            )),
        ),
        (
            "error",
            out(
                1,
                r#"{"result":"error","message":"reading /proc/self/mountinfo: gone"}"#,
                log,
            ),
            true,
            Err((CLOUD, false, "failed: reading /proc/self/mountinfo: gone")),
        ),
    ]);
}

#[test]
fn a_result_that_contradicts_the_exit_code_or_is_no_result_fails() {
    check(vec![
        (
            "released but exit 2",
            out(2, RELEASED, ""),
            true,
            Err((
                CLOUD,
                false,
                "exited 2 but its result says: unmounted /var/vcap/store",
            )),
        ),
        (
            "not a result",
            out(0, r#"{"result":"vanished"}"#, ""),
            true,
            Err((CLOUD, false, "not a release result")),
        ),
    ]);
}

/// A stemcell repacked before the helper printed a result: empty stdout, the exit code
/// decides, the log is quoted whole (timestamps and all), not picked apart.
#[test]
fn an_old_helper_without_a_result_is_judged_by_its_exit_code() {
    let busy_log =
        "2026-11-25T15:19:24Z ERROR release disk-1: held by pid 274 (sleep): cwd /var/vcap/store\n";
    check(vec![
        (
            "old, released",
            out(0, "", "T INFO release disk-1: done, 1 mount(s) removed\n"),
            true,
            Ok(Released::Done(
                "T INFO release disk-1: done, 1 mount(s) removed".into(),
            )),
        ),
        (
            "old, busy",
            out(2, "", busy_log),
            true,
            Err((CLOUD, true, busy_log.trim())),
        ),
        (
            "old, failed",
            out(1, "", "bad cid"),
            true,
            Err((
                CLOUD,
                false,
                "exited 1; the disk was left attached: bad cid",
            )),
        ),
    ]);
}

#[test]
fn no_helper_in_the_guest() {
    check(vec![
        ("old VM", out(127, "", ""), false, Ok(Released::NoHelper)),
        (
            "our VM",
            out(127, "", "exec: not found"),
            true,
            Err((CLOUD, false, "is missing in the guest")),
        ),
    ]);
}
