//! Errors of training and decoding; each names the file or key at fault so
//! the binary prints it as one line.

use std::path::Path;

use ore_train::TrainError;

/// What can go wrong while training, decoding or evaluating: an error of
/// the stages' light half (data, config, files), or of libtorch.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error(transparent)]
    Train(#[from] TrainError),

    #[error("libtorch: {0}")]
    Torch(#[from] tch::TchError),
}

impl From<ore_core::Error> for ModelError {
    fn from(e: ore_core::Error) -> Self {
        ModelError::Train(e.into())
    }
}

impl ModelError {
    pub(crate) fn config(message: String) -> Self {
        TrainError::Config(message).into()
    }

    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        TrainError::io(path, source).into()
    }

    pub(crate) fn invalid(path: &Path, message: impl Into<String>) -> Self {
        TrainError::invalid(path, message).into()
    }
}

/// `Result` with [`ModelError`].
pub type Result<T, E = ModelError> = std::result::Result<T, E>;
