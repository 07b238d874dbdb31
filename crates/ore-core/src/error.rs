//! The error type of `ore-core`: every variant names the file, row group or
//! id at fault so that the binary can print it as one line.

use std::path::{Path, PathBuf};

/// Errors raised by dataset I/O, manifests, configuration and ids.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("{}: not a Parquet file ({reason})", path.display())]
    NotParquet { path: PathBuf, reason: String },

    #[error("{}{}: {source}", path.display(), row_group.map(|g| format!(" (row group {g})")).unwrap_or_default())]
    Parquet {
        path: PathBuf,
        row_group: Option<usize>,
        #[source]
        source: parquet::errors::ParquetError,
    },

    #[error("{}: {message}", path.display())]
    Arrow { path: PathBuf, message: String },

    #[error("{}: no Parquet files found (expected a .parquet file or a folder of them)", path.display())]
    EmptyDataset { path: PathBuf },

    #[error("{}: schema differs from {}: {detail}", path.display(), first.display())]
    SchemaMismatch {
        path: PathBuf,
        first: PathBuf,
        detail: String,
    },

    #[error("{}: {message}", path.display())]
    Config { path: PathBuf, message: String },

    #[error("{}: {message}", path.display())]
    Manifest { path: PathBuf, message: String },

    #[error(
        "stage `{stage}`: row counts do not add up: {rows_in} in + {generated} generated != {rows_out} out + {rejected} rejected; \
         every dropped row must be recorded in _rejects"
    )]
    RowCountMismatch {
        stage: String,
        rows_in: u64,
        generated: u64,
        rows_out: u64,
        rejected: u64,
    },

    #[error("{}: row {row}: {message}", path.display())]
    Row {
        path: PathBuf,
        row: u64,
        message: String,
    },

    #[error("invalid URL `{url}`: {message}")]
    Url { url: String, message: String },
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn io(path: impl AsRef<Path>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.as_ref().to_path_buf(),
            source,
        }
    }

    pub(crate) fn parquet(
        path: impl AsRef<Path>,
        row_group: Option<usize>,
        source: parquet::errors::ParquetError,
    ) -> Self {
        Error::Parquet {
            path: path.as_ref().to_path_buf(),
            row_group,
            source,
        }
    }

    pub fn arrow(path: impl AsRef<Path>, message: impl ToString) -> Self {
        Error::Arrow {
            path: path.as_ref().to_path_buf(),
            message: message.to_string(),
        }
    }
}

/// Adds the path to an `std::io::Result`.
pub(crate) trait IoContext<T> {
    fn at(self, path: impl AsRef<Path>) -> Result<T>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn at(self, path: impl AsRef<Path>) -> Result<T> {
        self.map_err(|e| Error::io(path, e))
    }
}
