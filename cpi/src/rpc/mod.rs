//! The CPI envelope: typed requests in, one response with the BOSH error types out.
