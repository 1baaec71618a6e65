//! Projects (`/1.0/projects/<name>`): whether the project the client is scoped to exists.

use serde::Deserialize;
use serde_json::{Map, Value};

use super::client::Client;
use super::error::LxdError;
use super::paths::encode_component;

/// LXD's `api.Project`, as far as the CPI reads it.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Project {
    /// Project name.
    pub name: String,
    /// Config (`features.*`, `restricted.*`...).
    #[serde(default)]
    pub config: Map<String, Value>,
}

impl Client {
    /// The project every call is scoped to, or [`super::LxdErrorKind::NotFound`]. LXD
    /// 5.0.2 answers `Instance not found` for an instance of a missing project, so this is
    /// how a not-found answer is confirmed.
    pub async fn get_own_project(&self) -> Result<Project, LxdError> {
        self.get(&format!(
            "/1.0/projects/{}",
            encode_component(self.project())
        ))
        .await
    }
}
