//! A note for the log: how much it matters and its text. The pure planners (`boot::decide`,
//! `network::plan`) return their explanations as notes; `boot` writes them out.

/// How much a note matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// What was found and why nothing (more) is done.
    Info,
    /// A disagreement or a state the agent will not like.
    Warn,
}

/// An explanation that goes to the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// Severity.
    pub level: Level,
    /// Text naming the paths and cids involved.
    pub text: String,
}
