//! `ore-train`: the train stage of ore and the decoding behind `ore eval`.
//!
//! - [`data`]: `examples` datasets (a `train/`+`valid/` split, or one
//!   dataset with a held-out slice) to vocabularies and padded,
//!   length-bucketed batches; [`vocab`]; [`config`] (the `[train]` section).
//! - With the `torch` feature (libtorch through tch): [`model`] (a
//!   bidirectional LSTM encoder and an LSTM decoder with Luong or Bahdanau
//!   attention), [`train`] (loss, FGM, clipping, schedules, early stopping,
//!   checkpoints and resume), [`decode`] (greedy, beam search, ensembles).
//! - [`log`]: the training log as CSV/Parquet and a PNG of the curves.
//!
//! Without the `torch` feature the crate builds (and tests) its data side
//! only, so nothing that does not train needs libtorch.

pub mod config;
pub mod data;
pub mod error;
mod io;
pub mod log;
pub mod vocab;

#[cfg(feature = "torch")]
pub mod decode;
#[cfg(feature = "torch")]
pub mod model;
#[cfg(feature = "torch")]
pub mod optim;
#[cfg(feature = "torch")]
pub mod train;

pub use config::TrainConfig;
pub use error::{Result, TrainError};
