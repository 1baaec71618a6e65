//! Test harness for bosh-lxd integration tests: a per-run LXD project, containers, exec.
