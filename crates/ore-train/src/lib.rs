//! `ore-train`: the train and eval stages of ore, the half that needs no
//! libtorch (the model, training loop and decoding are `ore-model`).
//!
//! - [`data`]: `examples` datasets (a `train/`+`valid/` split, or one
//!   dataset with a held-out slice) to vocabularies and padded,
//!   length-bucketed batches; [`vocab`]; [`config`] (the `[train]` section).
//! - [`log`]: the training log as CSV/Parquet and a PNG of the curves;
//!   [`tensorboard`]: the same rows as a TensorBoard event file.
//! - [`stage`] and [`eval`]: train and eval as the pipeline knows them
//!   ([`TrainStage`], [`EvalStage`]: kind, config, inputs); eval's row
//!   selection, detokenizing, lead baseline and report are in [`eval`].
//!
//! ```
//! use ore_core::StageDef;
//! use ore_train::{EvalConfig, EvalStage, TrainStage};
//!
//! assert_eq!(TrainStage::KIND, "train");
//! let config = EvalConfig { beam: 1, ..EvalConfig::default() };
//! config.validate()?;
//! assert_eq!(EvalStage::INPUTS[0].key, "model");
//! # Ok::<(), ore_train::TrainError>(())
//! ```

pub mod bpe;
pub mod config;
pub mod data;
pub mod dictionary;
pub mod error;
pub mod eval;
pub mod io;
pub mod log;
pub mod stage;
pub mod tagging;
pub mod tensorboard;
pub mod translate;
pub mod vocab;

pub use config::TrainConfig;
pub use error::{Result, TrainError};
pub use eval::{EvalConfig, EvalStage};
pub use stage::TrainStage;
pub use translate::{TranslateConfig, TranslateStage};
