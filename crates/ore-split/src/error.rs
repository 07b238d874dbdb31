//! Errors of the split stage, the audit and `ore query`.

use std::path::PathBuf;

/// What can go wrong in `ore split`, `ore audit` and `ore query`.
#[derive(Debug, thiserror::Error)]
pub enum SplitError {
    #[error(transparent)]
    Core(#[from] ore_core::Error),
    #[error("split config: {0}")]
    Config(String),
    /// A row the stage cannot place (a column of the wrong type, …).
    #[error("{path}: {message}")]
    Input { path: PathBuf, message: String },
    /// `fail_on_leak = true` and the audit of the split found leaks.
    #[error("{0}")]
    Leak(String),
    /// The split index folder is unreadable or was made with other settings.
    #[error("split index {path}: {message}")]
    Index { path: PathBuf, message: String },
    /// SQL that polars refused, or a query that failed.
    #[error("{0}")]
    Query(String),
}

pub type Result<T, E = SplitError> = std::result::Result<T, E>;

impl SplitError {
    pub(crate) fn input(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Self::Input {
            path: path.into(),
            message: message.into(),
        }
    }
}
