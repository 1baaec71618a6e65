//! The doctor's only way to the daemon: GET requests through the CPI's own client
//! ([`crate::lxd::Client`], so the same transport, certificates and project scoping as
//! the CPI's calls). Nothing here can write, which is what keeps `cpi doctor` read-only.

use serde::de::DeserializeOwned;

use crate::config::Config;
use crate::lxd::{Client, LxdError, NotFoundExt, Transport};

/// Read-only access to the configured daemon and project.
#[derive(Debug)]
pub struct Reader {
    client: Client,
    fingerprint: Option<String>,
}

impl Reader {
    /// The transport the config describes (nothing is sent yet).
    pub fn new(config: &Config) -> Result<Self, LxdError> {
        let transport = Transport::from_config(&config.lxd)?;
        let fingerprint = transport.client_fingerprint().map(str::to_owned);
        Ok(Reader {
            client: Client::new(transport, config.lxd.project.clone()),
            fingerprint,
        })
    }

    /// GET `path` (scoped to the project) and decode its `metadata`.
    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, LxdError> {
        self.client.get(path).await
    }

    /// Like [`Reader::get`], with not-found as `None`.
    pub async fn find<T: DeserializeOwned>(&self, path: &str) -> Result<Option<T>, LxdError> {
        self.client.get(path).await.optional()
    }

    /// SHA-256 of the client certificate over HTTPS; `None` over the unix socket.
    pub fn client_fingerprint(&self) -> Option<&str> {
        self.fingerprint.as_deref()
    }
}
