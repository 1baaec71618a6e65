//! The CPI config file (`cpi --config FILE`): its JSON shape (`ARCHITECTURE.md` §3), defaults,
//! validation, and the per-call overrides a director cpi-config puts into the request context.
//!
//! Unknown keys are refused and every error names the field by its dotted path
//! (`lxd.url`, `agent.mbus`). The fields are read one by one through [`crate::json::Fields`]
//! rather than a derived `Deserialize`, because serde's derived errors do not say which field
//! held a wrongly typed value. Nothing is read from environment variables.

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::{Map, Value};

use crate::json::{FieldError, Fields};

mod redact;
mod validate;

pub use validate::LxdEndpoint;

/// Default `lxd.url`: the local LXD socket.
pub const DEFAULT_LXD_URL: &str = "unix:///var/lib/lxd/unix.socket";
// Defaults of the `lxd` section's object names.
const DEFAULT_PROJECT: &str = "bosh";
const DEFAULT_PROFILE: &str = "default";
const DEFAULT_NETWORK: &str = "boshbr0";
const DEFAULT_STORAGE_POOL: &str = "default";

const TOP_KEYS: &[&str] = &["log_level", "lxd", "agent"];
const LXD_KEYS: &[&str] = &[
    "url",
    "client_cert",
    "client_key",
    "server_cert",
    "ca_cert",
    "insecure_skip_verify",
    "project",
    "profile",
    "network",
    "storage_pool",
    "target",
];
const AGENT_KEYS: &[&str] = &["mbus", "ntp", "blobstore"];
const BLOBSTORE_KEYS: &[&str] = &["provider", "options"];

/// The config could not be loaded or is invalid.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error(
        "cannot read CPI config {path}: {source}: pass the file the lxd_cpi job renders \
         (/var/vcap/jobs/lxd_cpi/config/cpi.json) with --config"
    )]
    Read {
        /// The config file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The text is not JSON.
    #[error("CPI config {origin} is not valid JSON: {message}")]
    Syntax {
        /// Where the text came from (file path or "request context").
        origin: String,
        /// serde_json's message with line and column.
        message: String,
    },
    /// A field is missing, unknown, mistyped or invalid.
    #[error("CPI config {origin}: {error}")]
    Field {
        /// Where the value came from (file path or "request context").
        origin: String,
        /// The field and what is wrong with it.
        error: FieldError,
    },
}

impl ConfigError {
    /// The dotted path of the offending field, when there is one.
    pub fn field(&self) -> Option<&str> {
        match self {
            Self::Field { error, .. } => Some(&error.field),
            Self::Read { .. } | Self::Syntax { .. } => None,
        }
    }
}

/// How verbose the CPI's stderr log is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    /// Errors only.
    Error,
    /// Errors and warnings.
    Warn,
    /// The default.
    #[default]
    Info,
    /// Diagnostics.
    Debug,
    /// Everything.
    Trace,
}

impl LogLevel {
    /// Parses one of `error`, `warn`, `info`, `debug`, `trace`.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "error" => Self::Error,
            "warn" => Self::Warn,
            "info" => Self::Info,
            "debug" => Self::Debug,
            "trace" => Self::Trace,
            _ => return None,
        })
    }

    /// The matching `tracing` level.
    pub fn to_tracing(self) -> tracing::Level {
        match self {
            Self::Error => tracing::Level::ERROR,
            Self::Warn => tracing::Level::WARN,
            Self::Info => tracing::Level::INFO,
            Self::Debug => tracing::Level::DEBUG,
            Self::Trace => tracing::Level::TRACE,
        }
    }
}

/// The whole config file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Config {
    /// `log_level`: stderr verbosity, default `info`.
    pub log_level: LogLevel,
    /// `lxd`: where and how to reach LXD, and which of its objects to use.
    pub lxd: LxdConfig,
    /// `agent`: what goes into every VM's agent settings.
    pub agent: AgentConfig,
}

/// The `lxd` section.
#[derive(Clone, PartialEq, Serialize)]
pub struct LxdConfig {
    /// `url`: `unix:///PATH` or `https://HOST:PORT`.
    pub url: String,
    /// `client_cert`: PEM client certificate (HTTPS only).
    pub client_cert: Option<String>,
    /// `client_key`: PEM client key (HTTPS only).
    pub client_key: Option<String>,
    /// `server_cert`: PEM leaf certificate of the server, pinned with no hostname check.
    pub server_cert: Option<String>,
    /// `ca_cert`: PEM CA that signs the server's certificate (normal verification).
    pub ca_cert: Option<String>,
    /// `insecure_skip_verify`: the explicit opt-out of server certificate verification.
    pub insecure_skip_verify: bool,
    /// `project`: the LXD project holding everything this CPI creates.
    pub project: String,
    /// `profile`: the LXD profile every VM gets.
    pub profile: String,
    /// `network`: the default LXD bridge for NICs.
    pub network: String,
    /// `storage_pool`: where volumes and root disks live.
    pub storage_pool: String,
    /// `target`: cluster member for new objects, if any.
    pub target: Option<String>,
}

/// The `agent` section.
#[derive(Clone, PartialEq, Serialize)]
pub struct AgentConfig {
    /// `mbus`: the agent's message bus URL (required; carries credentials).
    pub mbus: String,
    /// `ntp`: NTP servers, default none.
    pub ntp: Vec<String>,
    /// `blobstore`: default blobstore for the agent, if any.
    pub blobstore: Option<Blobstore>,
}

/// `agent.blobstore`.
#[derive(Clone, PartialEq, Serialize)]
pub struct Blobstore {
    /// `provider`, e.g. `local` or `dav`.
    pub provider: String,
    /// `options`, passed to the agent untouched.
    pub options: Map<String, Value>,
}

impl Config {
    /// Reads, decodes and validates the file at `path`.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::from_json_str(&text, &path.display().to_string())
    }

    /// Decodes and validates config text; `origin` names its source in errors.
    pub fn from_json_str(text: &str, origin: &str) -> Result<Self, ConfigError> {
        let value: Value = serde_json::from_str(text).map_err(|e| ConfigError::Syntax {
            origin: origin.to_owned(),
            message: e.to_string(),
        })?;
        Self::from_value(value, origin)
    }

    fn from_value(value: Value, origin: &str) -> Result<Self, ConfigError> {
        let field_error = |error| ConfigError::Field {
            origin: origin.to_owned(),
            error,
        };
        let config = Self::decode(value).map_err(field_error)?;
        config.validate().map_err(field_error)?;
        Ok(config)
    }

    fn decode(value: Value) -> Result<Self, FieldError> {
        let mut top = Fields::new("", value)?;
        top.deny_unknown(TOP_KEYS)?;
        let log_level = match top.string("log_level")? {
            None => LogLevel::default(),
            Some(s) => LogLevel::parse(&s).ok_or_else(|| {
                top.error(
                    "log_level",
                    format!("expected error, warn, info, debug or trace, got {s:?}"),
                )
            })?,
        };
        let lxd = LxdConfig::decode(Fields::new("lxd", top.take("lxd").unwrap_or(Value::Null))?)?;
        let agent = AgentConfig::decode(Fields::new(
            "agent",
            top.take("agent").unwrap_or(Value::Null),
        )?)?;
        Ok(Self {
            log_level,
            lxd,
            agent,
        })
    }

    /// This config with the request context's `lxd` and `agent` objects (from a director
    /// cpi-config) applied key by key over the file's values, then validated again.
    /// A context without those keys gives an unchanged copy.
    pub fn with_context_overrides(
        &self,
        context: &Map<String, Value>,
    ) -> Result<Self, ConfigError> {
        const ORIGIN: &str = "request context";
        if !context.contains_key("lxd") && !context.contains_key("agent") {
            return Ok(self.clone());
        }
        let mut merged = serde_json::to_value(self).map_err(|e| ConfigError::Syntax {
            origin: ORIGIN.to_owned(),
            message: e.to_string(),
        })?;
        for section in ["lxd", "agent"] {
            let Some(overrides) = context.get(section).filter(|v| !v.is_null()) else {
                continue;
            };
            let overrides = Fields::new(section, overrides.clone())
                .map_err(|error| ConfigError::Field {
                    origin: ORIGIN.to_owned(),
                    error,
                })?
                .into_rest();
            if let Some(Value::Object(base)) = merged.get_mut(section) {
                base.extend(overrides);
            }
        }
        Self::from_value(merged, ORIGIN)
    }
}

impl LxdConfig {
    fn decode(mut f: Fields) -> Result<Self, FieldError> {
        f.deny_unknown(LXD_KEYS)?;
        Ok(Self {
            url: string_or(&mut f, "url", DEFAULT_LXD_URL)?,
            client_cert: optional_text(&mut f, "client_cert")?,
            client_key: optional_text(&mut f, "client_key")?,
            server_cert: optional_text(&mut f, "server_cert")?,
            ca_cert: optional_text(&mut f, "ca_cert")?,
            insecure_skip_verify: f.bool("insecure_skip_verify")?.unwrap_or(false),
            project: string_or(&mut f, "project", DEFAULT_PROJECT)?,
            profile: string_or(&mut f, "profile", DEFAULT_PROFILE)?,
            network: string_or(&mut f, "network", DEFAULT_NETWORK)?,
            storage_pool: string_or(&mut f, "storage_pool", DEFAULT_STORAGE_POOL)?,
            target: optional_text(&mut f, "target")?,
        })
    }
}

/// A string field with a default.
fn string_or(f: &mut Fields, key: &str, default: &str) -> Result<String, FieldError> {
    Ok(f.string(key)?.unwrap_or_else(|| default.to_owned()))
}

/// An optional text field; an empty string counts as unset, since job templates render
/// unset properties either as null or as "".
fn optional_text(f: &mut Fields, key: &str) -> Result<Option<String>, FieldError> {
    Ok(f.string(key)?.filter(|s| !s.is_empty()))
}

impl AgentConfig {
    fn decode(mut f: Fields) -> Result<Self, FieldError> {
        f.deny_unknown(AGENT_KEYS)?;
        let mbus = f.non_empty_string("mbus")?;
        let mbus = f.required("mbus", mbus)?;
        let ntp = f.string_list("ntp")?.unwrap_or_default();
        let blobstore = match f.take("blobstore") {
            None => None,
            Some(value) => Some(Blobstore::decode(Fields::new("agent.blobstore", value)?)?),
        };
        Ok(Self {
            mbus,
            ntp,
            blobstore,
        })
    }
}

impl Blobstore {
    fn decode(mut f: Fields) -> Result<Self, FieldError> {
        f.deny_unknown(BLOBSTORE_KEYS)?;
        let provider = f.non_empty_string("provider")?;
        let provider = f.required("provider", provider)?;
        let options = f.object("options")?.unwrap_or_default();
        Ok(Self { provider, options })
    }
}
