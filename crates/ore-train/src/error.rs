//! Errors of the train stage and of decoding; each names the file or key at
//! fault so the binary prints it as one line.

use std::path::{Path, PathBuf};

/// What can go wrong while loading data, training or decoding.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error(transparent)]
    Core(#[from] ore_core::Error),

    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("train config: {0}")]
    Config(String),

    #[error("{}: {message}", path.display())]
    Invalid { path: PathBuf, message: String },

    #[error("{0}")]
    Arrow(#[from] arrow_schema::ArrowError),
}

impl TrainError {
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        TrainError::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    pub fn invalid(path: &Path, message: impl Into<String>) -> Self {
        TrainError::Invalid {
            path: path.to_path_buf(),
            message: message.into(),
        }
    }
}

/// `Result` with [`TrainError`].
pub type Result<T, E = TrainError> = std::result::Result<T, E>;
