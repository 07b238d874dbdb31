//! The error type of `ore-report`: each variant names the file at fault.

use std::path::PathBuf;

/// Errors raised while reading a pipeline's outputs or writing its report.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A dataset, manifest or pipeline file that `ore-core` could not read.
    #[error(transparent)]
    Core(#[from] ore_core::Error),

    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A JSON file (`_metrics.json`, `_report/report.json`) that does not parse.
    #[error("{}: invalid JSON: {source}", path.display())]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },

    /// A column of an unexpected type.
    #[error("{}: {message}", path.display())]
    Column { path: PathBuf, message: String },
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}
