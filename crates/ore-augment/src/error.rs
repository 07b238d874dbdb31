//! Errors of the augment stage.

use std::path::PathBuf;

/// What can go wrong in `ore augment`.
#[derive(Debug, thiserror::Error)]
pub enum AugmentError {
    #[error(transparent)]
    Core(#[from] ore_core::Error),
    #[error("augment config: {0}")]
    Config(String),
    /// A thesaurus or dictionary that is missing or malformed.
    #[error("{path}: {message}")]
    Resource { path: PathBuf, message: String },
    /// An input the stage cannot augment (a missing column, eval rows, …).
    #[error("{path}: {message}")]
    Input { path: PathBuf, message: String },
    /// A back-translation op's translator failed.
    #[error("back_translation: {0}")]
    Translate(#[from] ore_core::TranslateError),
}

pub type Result<T, E = AugmentError> = std::result::Result<T, E>;

impl AugmentError {
    pub(crate) fn input(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Self::Input {
            path: path.into(),
            message: message.into(),
        }
    }

    pub(crate) fn resource(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Self::Resource {
            path: path.into(),
            message: message.into(),
        }
    }
}
