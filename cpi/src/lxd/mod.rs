//! Typed REST client for LXD and Incus: transport, operations, ETags, resources.
