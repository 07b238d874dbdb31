//! Errors of the tokenize stage and the importers.

use std::path::{Path, PathBuf};

/// What can go wrong while tokenizing or importing.
#[derive(Debug, thiserror::Error)]
pub enum TokenizeError {
    #[error(transparent)]
    Core(#[from] ore_core::Error),

    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("tokenize config: {0}")]
    Config(String),

    #[error("{}: {message}", path.display())]
    Input { path: PathBuf, message: String },

    #[error("{0}")]
    Arrow(#[from] arrow_schema::ArrowError),
}

impl TokenizeError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        TokenizeError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// `Result` with [`TokenizeError`].
pub type Result<T, E = TokenizeError> = std::result::Result<T, E>;
