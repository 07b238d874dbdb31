//! Errors of the align stage.

use std::path::PathBuf;

/// What can go wrong in `ore align`.
#[derive(Debug, thiserror::Error)]
pub enum AlignError {
    #[error(transparent)]
    Core(#[from] ore_core::Error),
    #[error("config: {0}")]
    Config(String),
    /// An input that is not a crawl's `documents` (a missing column, …).
    #[error("{path}: {message}")]
    Input { path: PathBuf, message: String },
}

pub type Result<T, E = AlignError> = std::result::Result<T, E>;

impl AlignError {
    pub(crate) fn input(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Self::Input {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl From<arrow_schema::ArrowError> for AlignError {
    fn from(e: arrow_schema::ArrowError) -> Self {
        Self::Config(format!("arrow: {e}"))
    }
}
