//! The LXD client an action talks through, built from the config: transport from
//! `lxd.url` (and for HTTPS the certificates), every call scoped to `lxd.project`.
//! Nothing is sent until the first request.

use crate::config::Config;
use crate::lxd::{Client, Transport};
use crate::rpc::CpiError;

/// A client for the configured daemon and project.
pub fn connect(config: &Config) -> Result<Client, CpiError> {
    // The message already names the config field at fault (lxd.url, lxd.client_key...).
    let transport =
        Transport::from_config(&config.lxd).map_err(|e| CpiError::cloud(e.to_string()))?;
    Ok(Client::new(transport, config.lxd.project.clone()))
}

/// Checks that the configured project exists. LXD 5.0.2 answers `Instance not found` for
/// an instance in a project that does not exist, so a not-found answer is only believed
/// (`has_vm` false, `delete_vm` done) once the project is known to be there.
pub async fn ensure_project(client: &Client) -> Result<(), CpiError> {
    let project = client.project();
    match client.get_own_project().await {
        Ok(_) => Ok(()),
        Err(e) if e.is_not_found() => Err(CpiError::cloud(format!(
            "LXD project {project} (CPI config lxd.project) does not exist"
        ))),
        Err(e) => Err(CpiError::cloud(format!(
            "checking LXD project {project}: {e}"
        ))),
    }
}
