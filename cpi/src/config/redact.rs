//! `Debug` for the config sections that hold secrets: the client key, the mbus URL (it
//! carries the agent's password) and the blobstore options never reach a log through `{:?}`.

use std::fmt;

use super::{AgentConfig, Blobstore, LxdConfig};

/// Shows only whether a secret is set.
fn redacted<T>(value: &Option<T>) -> &'static str {
    if value.is_some() {
        "Some(<redacted>)"
    } else {
        "None"
    }
}

impl fmt::Debug for LxdConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LxdConfig")
            .field("url", &self.url)
            .field("client_cert", &self.client_cert.as_ref().map(|_| "<pem>"))
            .field("client_key", &redacted(&self.client_key))
            .field("server_cert", &self.server_cert.as_ref().map(|_| "<pem>"))
            .field("ca_cert", &self.ca_cert.as_ref().map(|_| "<pem>"))
            .field("insecure_skip_verify", &self.insecure_skip_verify)
            .field("project", &self.project)
            .field("profile", &self.profile)
            .field("network", &self.network)
            .field("storage_pool", &self.storage_pool)
            .field("target", &self.target)
            .finish()
    }
}

impl fmt::Debug for AgentConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AgentConfig")
            .field("mbus", &"<redacted>")
            .field("ntp", &self.ntp)
            .field("blobstore", &self.blobstore)
            .finish()
    }
}

impl fmt::Debug for Blobstore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Blobstore")
            .field("provider", &self.provider)
            .field("options", &"<redacted>")
            .finish()
    }
}
