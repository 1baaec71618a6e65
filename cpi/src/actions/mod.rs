//! One module per CPI method; each takes typed arguments and an LXD client.
