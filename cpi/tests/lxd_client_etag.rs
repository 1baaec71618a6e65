//! ETag read-modify-write against the real LXD daemon: stale ETags give 412, the
//! retrying helpers recover, concurrent writers all survive, the project lock
//! excludes and breaks stale holders. Set-up and clean-up: `lxd_support`.

#![allow(clippy::expect_used, clippy::unwrap_used)] // a failed step stops the test with its message

mod lxd_support;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use cpi::lxd::{Edit, LxdError, LxdErrorKind};
use futures_util::future::join_all;
use lxd_support::{instance, lxc, setup};

#[tokio::test]
async fn stale_etag_is_412_and_update_instance_retries() {
    let t = setup().await;
    let c = &t.client;
    c.create_instance(&instance("vm-1")).await.expect("create");
    let (inst, stale) = c.get_instance_with_etag("vm-1").await.expect("get");
    let patch = serde_json::json!({"config": {"user.a": "1"}});
    c.patch_instance("vm-1", &patch, Some(&stale))
        .await
        .expect("first write with fresh ETag");
    let again = c.patch_instance("vm-1", &patch, Some(&stale)).await;
    assert!(
        matches!(again, Err(ref e) if matches!(e.kind(), LxdErrorKind::PreconditionFailed)),
        "PATCH: {again:?}"
    );
    let again = c.put_instance(&inst, Some(&stale)).await;
    assert!(
        matches!(again, Err(ref e) if matches!(e.kind(), LxdErrorKind::PreconditionFailed)),
        "PUT: {again:?}"
    );

    // On the first attempt, change the instance behind the helper's back between
    // its GET and its write: the write gets 412 and the helper must start over.
    let attempts = AtomicU32::new(0);
    let project = t.name.clone();
    c.update_instance("vm-1", Edit::Replace, |i| {
        if attempts.fetch_add(1, Ordering::SeqCst) == 0 {
            lxc(&[
                "config",
                "set",
                "vm-1",
                "user.sneaky=1",
                "--project",
                &project,
            ]);
        }
        i.config.insert("user.b".to_owned(), "2".to_owned());
        Ok::<(), LxdError>(())
    })
    .await
    .expect("update with retry");
    assert_eq!(
        attempts.load(Ordering::SeqCst),
        3,
        "round 1 hits the 412, round 2 writes, round 3 checks that the edit stuck"
    );
    let inst = c.get_instance("vm-1").await.expect("get");
    for key in ["user.a", "user.b", "user.sneaky"] {
        assert!(
            inst.config.contains_key(key),
            "{key} survives: {:?}",
            inst.config
        );
    }
}

#[tokio::test]
async fn concurrent_updates_all_survive() {
    let t = setup().await;
    let c = &t.client;
    c.create_instance(&instance("vm-1")).await.expect("create");
    let attempts = AtomicU32::new(0);
    let writers = 4;
    let updates = (0..writers).map(|n| {
        let how = if n % 2 == 0 {
            Edit::Merge
        } else {
            Edit::Replace
        };
        let attempts = &attempts;
        async move {
            c.update_instance("vm-1", how, |i| {
                attempts.fetch_add(1, Ordering::SeqCst);
                i.config.insert(format!("user.writer.{n}"), n.to_string());
                i.devices.insert(
                    format!("proxy{n}"),
                    BTreeMap::from([
                        ("type".to_owned(), "proxy".to_owned()),
                        ("listen".to_owned(), format!("tcp:127.0.0.1:{}", 40000 + n)),
                        ("connect".to_owned(), "tcp:127.0.0.1:22".to_owned()),
                    ]),
                );
                Ok::<(), LxdError>(())
            })
            .await
        }
    });
    for (n, r) in join_all(updates).await.into_iter().enumerate() {
        r.unwrap_or_else(|e| panic!("writer {n}: {e}"));
    }
    let inst = c.get_instance("vm-1").await.expect("get");
    for n in 0..writers {
        assert_eq!(
            inst.config.get(&format!("user.writer.{n}")),
            Some(&n.to_string()),
            "key of writer {n}"
        );
        assert!(
            inst.devices.contains_key(&format!("proxy{n}")),
            "device of writer {n}"
        );
    }
    // Each writer wrote once and checked once: the lock serialised them.
    assert_eq!(attempts.load(Ordering::SeqCst), 2 * writers);
    let profiles: Vec<String> = c.get("/1.0/profiles").await.expect("profiles");
    assert_eq!(profiles.len(), 1, "no lock left behind: {profiles:?}");
}

#[tokio::test]
async fn project_lock_excludes_and_breaks_stale_holders() {
    let t = setup().await;
    let c = &t.client;
    let held = c
        .acquire_lock("instance.vm-x", Duration::from_secs(1))
        .await
        .expect("lock");
    let second = c
        .acquire_lock("instance.vm-x", Duration::from_millis(300))
        .await;
    assert!(
        matches!(second, Err(ref e) if matches!(e.kind(), LxdErrorKind::Busy)),
        "held lock excludes: {second:?}"
    );
    let other = c
        .acquire_lock("instance.vm-y", Duration::from_secs(1))
        .await
        .expect("other key");
    c.release_lock(held).await.expect("release");
    c.release_lock(other).await.expect("release other");
    let again = c
        .acquire_lock("instance.vm-x", Duration::from_secs(1))
        .await
        .expect("relock");
    c.release_lock(again).await.expect("release again");

    // A lock left by a crashed process, taken long ago, is broken.
    let stale = serde_json::json!({
        "name": "bosh-lxd-lock.instance.vm-z",
        "description": "taken 1000 by pid 1",
    });
    lxc(&[
        "query",
        "-X",
        "POST",
        "-d",
        &stale.to_string(),
        &format!("/1.0/profiles?project={}", t.name),
    ]);
    let taken = c
        .acquire_lock("instance.vm-z", Duration::from_secs(5))
        .await
        .expect("stale lock broken");
    c.release_lock(taken).await.expect("release");
}
