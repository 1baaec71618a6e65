//! Unit tests of the classification and wording of LXD failures.

use super::*;
use LxdErrorKind as K;

#[test]
fn status_classification() {
    let cases = [
        ("404", 404, "Instance not found", K::NotFound, "not found"),
        (
            "409",
            409,
            "Alias \"bb\" already exists",
            K::AlreadyExists,
            "already exists",
        ),
        (
            "412",
            412,
            "ETag doesn't match: a vs b",
            K::PreconditionFailed,
            "precondition failed (stale ETag)",
        ),
        ("503", 503, "Service unavailable", K::Busy, "busy"),
        (
            "500 busy",
            500,
            "Failed to create instance update operation: Instance is busy running a \"stop\" operation",
            K::Busy,
            "busy",
        ),
        ("500 db locked", 500, "database is locked", K::Busy, "busy"),
        (
            "500 duplicate profile",
            500,
            "Error inserting \"p\" into database: The profile already exists",
            K::AlreadyExists,
            "already exists",
        ),
        (
            "400 running",
            400,
            "Instance is running",
            K::InstanceRunning,
            "HTTP 400",
        ),
        (
            "400 stopped",
            400,
            "The instance is already stopped",
            K::AlreadyInState,
            "HTTP 400",
        ),
        (
            "400 no command",
            400,
            "Command not found",
            K::CommandNotFound,
            "HTTP 400",
        ),
        ("403", 403, "not authorized", K::Refused, "HTTP 403"),
        (
            "500 other",
            500,
            "Missing device type in config",
            K::Refused,
            "HTTP 500",
        ),
    ];
    for (name, status, message, kind, what) in cases {
        let e = LxdError::from_status("PATCH", "/1.0/instances/a?project=p", status, message);
        assert_eq!(e.kind(), &kind, "case {name}");
        assert_eq!(e.status(), Some(status), "case {name}");
        assert_eq!(
            e.to_string(),
            format!("LXD PATCH /1.0/instances/a?project=p: {what}: {message}"),
            "case {name}"
        );
    }
}

#[test]
fn operation_classification() {
    let cases = [
        (
            "duplicate instance",
            "Failed creating instance record: Add instance info to the database: This \"instances\" entry already exists",
            K::AlreadyExists,
            "already exists",
        ),
        (
            "duplicate image",
            "Image with same fingerprint already exists",
            K::AlreadyExists,
            "already exists",
        ),
        (
            "busy",
            "Instance is busy running a \"start\" operation",
            K::Busy,
            "busy",
        ),
        (
            "already running",
            "The instance is already running",
            K::AlreadyInState,
            "operation op-1 failed",
        ),
        (
            "already stopped",
            "The instance is already stopped",
            K::AlreadyInState,
            "operation op-1 failed",
        ),
        (
            "volatile",
            "Volatile idmap keys can't be deleted by the user",
            K::OperationFailed,
            "operation op-1 failed",
        ),
    ];
    for (name, err, kind, what) in cases {
        let e = LxdError::from_operation("POST", "/1.0/instances?project=p", "op-1", err);
        assert_eq!(e.kind(), &kind, "case {name}");
        assert_eq!(e.status(), None, "case {name}");
        assert_eq!(
            e.to_string(),
            format!("LXD POST /1.0/instances?project=p: {what}: {err}"),
            "case {name}"
        );
    }
}

#[test]
fn client_side_failures_keep_their_wording() {
    let waited = Duration::from_millis(1500);
    let cases = [
        (
            LxdError::timeout("GET", "/1.0/operations/x/wait", "x", waited)
                .for_request("POST", "/1.0/instances/a/exec"),
            "LXD POST /1.0/instances/a/exec: operation x still running after 1.5s",
            true,
        ),
        (
            LxdError::transport("GET", "/1.0", "connection refused"),
            "LXD GET /1.0: transport error: connection refused",
            true,
        ),
        (
            LxdError::decode("GET", "/1.0", "not JSON"),
            "LXD GET /1.0: unexpected answer: not JSON",
            false,
        ),
        (
            LxdError::busy("POST", "/1.0/profiles", "lock l still held"),
            "LXD POST /1.0/profiles: busy: lock l still held",
            true,
        ),
        (
            LxdError::invalid_request("lxd.url: bad"),
            "LXD client: lxd.url: bad",
            false,
        ),
    ];
    for (e, shown, transient) in cases {
        assert_eq!(e.to_string(), shown);
        assert_eq!(e.is_transient(), transient, "{shown}");
    }
}

#[test]
fn optional_maps_only_not_found() {
    let nf: Result<u8, LxdError> = Err(LxdError::from_status("GET", "/x", 404, "not found"));
    assert!(matches!(nf.optional(), Ok(None)), "not found → None");
    let other: Result<u8, LxdError> = Err(LxdError::from_status("GET", "/x", 500, "boom"));
    assert!(other.optional().is_err(), "500 stays an error");
    assert!(
        matches!(Ok::<u8, LxdError>(3).optional(), Ok(Some(3))),
        "ok → Some"
    );
}
