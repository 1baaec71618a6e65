//! Config checks beyond the types: the `lxd.url` scheme and the transport it selects, the
//! PEMs HTTPS needs, non-empty names, and warnings for settings that have no effect.

use std::path::PathBuf;

use super::{Config, LxdConfig};
use crate::json::FieldError;

/// The transport `lxd.url` selects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LxdEndpoint {
    /// A local unix socket at this path.
    Unix(PathBuf),
    /// HTTPS to this `host[:port]`.
    Https(String),
}

impl Config {
    /// Checks what the types alone do not: the URL scheme, the PEMs HTTPS needs, non-empty
    /// names. Every error names the field.
    pub fn validate(&self) -> Result<(), FieldError> {
        let lxd = &self.lxd;
        let err = |field: &str, message: String| FieldError {
            field: format!("lxd.{field}"),
            message,
        };
        if let LxdEndpoint::Https(_) = lxd.endpoint()? {
            for (name, value) in [
                ("client_cert", &lxd.client_cert),
                ("client_key", &lxd.client_key),
            ] {
                if value.is_none() {
                    return Err(err(name, "required when lxd.url is https://".to_owned()));
                }
            }
            for (name, value) in lxd.pems() {
                if value.is_some_and(|pem| !pem.contains("-----BEGIN ")) {
                    return Err(err(name, "expected PEM text (-----BEGIN ...)".to_owned()));
                }
            }
        }
        for (name, value) in [
            ("project", &lxd.project),
            ("profile", &lxd.profile),
            ("network", &lxd.network),
            ("storage_pool", &lxd.storage_pool),
        ] {
            if value.trim().is_empty() {
                return Err(err(name, "must not be empty".to_owned()));
            }
        }
        Ok(())
    }

    /// Settings that are accepted but probably not what the operator meant; the caller logs
    /// them once logging is set up.
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        match self.lxd.endpoint() {
            Ok(LxdEndpoint::Unix(_)) => {
                for (name, value) in self.lxd.pems() {
                    if value.is_some() {
                        out.push(format!("lxd.{name} is ignored: lxd.url is a unix socket"));
                    }
                }
                if self.lxd.insecure_skip_verify {
                    out.push(
                        "lxd.insecure_skip_verify is ignored: lxd.url is a unix socket".into(),
                    );
                }
            }
            Ok(LxdEndpoint::Https(_)) if self.lxd.insecure_skip_verify => {
                out.push("lxd.insecure_skip_verify is set: the LXD server is not verified".into());
            }
            Ok(LxdEndpoint::Https(_)) | Err(_) => {}
        }
        out
    }
}

impl LxdConfig {
    /// Parses `url` into the transport it selects; the error names `lxd.url`, and for an
    /// `http://` URL says that LXD only speaks HTTPS on the network.
    pub fn endpoint(&self) -> Result<LxdEndpoint, FieldError> {
        let bad = || {
            let hint = match self.url.strip_prefix("http://") {
                Some(rest) => {
                    format!(" (LXD's network API is HTTPS only: did you mean https://{rest}?)")
                }
                None => String::new(),
            };
            FieldError {
                field: "lxd.url".to_owned(),
                message: format!(
                    "expected unix:///PATH or https://HOST[:PORT], got {:?}{hint}",
                    self.url
                ),
            }
        };
        if let Some(path) = self.url.strip_prefix("unix://") {
            if path.starts_with('/') && path.len() > 1 {
                return Ok(LxdEndpoint::Unix(PathBuf::from(path)));
            }
        } else if let Some(rest) = self.url.strip_prefix("https://") {
            let authority = rest.strip_suffix('/').unwrap_or(rest);
            if !authority.is_empty() && !authority.contains(['/', '?', '#', '@']) {
                return Ok(LxdEndpoint::Https(authority.to_owned()));
            }
        }
        Err(bad())
    }

    fn pems(&self) -> [(&'static str, Option<&str>); 4] {
        [
            ("client_cert", self.client_cert.as_deref()),
            ("client_key", self.client_key.as_deref()),
            ("server_cert", self.server_cert.as_deref()),
            ("ca_cert", self.ca_cert.as_deref()),
        ]
    }
}
