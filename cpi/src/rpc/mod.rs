//! The CPI envelope: typed requests in, one response with the BOSH error types out.
//!
//! - [`envelope`]: the raw request read from stdin, its context, and the response document.
//! - [`request`]: the typed [`Request`], one variant per CPI method.
//! - [`args`] and [`network`]: decoding of the positional arguments.
//! - [`error`]: [`CpiError`], the single mapping onto `Bosh::Clouds::*` error classes.

pub mod args;
pub mod envelope;
pub mod error;
pub mod network;
pub mod request;

pub use args::{CloudProperties, Metadata, VmResources};
pub use envelope::{Envelope, ErrorBody, RequestContext, Response};
pub use error::{ActionError, CpiError, CpiErrorKind};
pub use network::{NetworkSpec, NetworkType, Networks};
pub use request::{CreateVmArgs, Request};
