//! The error type of `ore-crawl`. A failed page is not an error (it becomes a
//! `_rejects/` row); these are the failures that stop a crawl.

use std::path::PathBuf;

/// Errors that stop a crawl: bad settings, unusable seeds, state and output I/O.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("crawl config: {0}")]
    Config(String),

    #[error("seed `{url}`: {message}")]
    Seed { url: String, message: String },

    #[error("{}: {message}", path.display())]
    State { path: PathBuf, message: String },

    #[error("previous crawl {}: {message}", path.display())]
    Previous { path: PathBuf, message: String },

    #[error("HTTP client: {0}")]
    Client(String),

    #[error(transparent)]
    Core(#[from] ore_core::Error),

    #[error("crawl interrupted: {tried} URLs committed to {}; continue with --resume", output.display())]
    Interrupted { tried: u64, output: PathBuf },
}

impl Error {
    pub(crate) fn state(path: impl Into<PathBuf>, message: impl ToString) -> Self {
        Error::State {
            path: path.into(),
            message: message.to_string(),
        }
    }
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
