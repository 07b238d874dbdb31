//! Errors of the clean stage.

use std::path::{Path, PathBuf};

/// What can go wrong while cleaning.
#[derive(Debug, thiserror::Error)]
pub enum CleanError {
    #[error(transparent)]
    Core(#[from] ore_core::Error),

    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("clean config: {0}")]
    Config(String),

    #[error("{}: {message}", path.display())]
    Index { path: PathBuf, message: String },

    #[error("{0}")]
    Arrow(#[from] arrow_schema::ArrowError),
}

impl CleanError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        CleanError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// `Result` with [`CleanError`].
pub type Result<T, E = CleanError> = std::result::Result<T, E>;
