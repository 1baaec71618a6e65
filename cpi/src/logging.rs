//! The CPI's one log set-up: `tracing` to stderr only, without colours or targets (the
//! director keeps stderr in its task logs; stdout carries the response or the doctor's
//! report).

/// Installs the stderr subscriber at `level`; one already installed is kept.
pub fn init(level: tracing::Level) {
    let installed = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_target(false)
        .with_max_level(level)
        .try_init();
    if installed.is_err() {
        // A subscriber is already installed; keep it.
    }
}
