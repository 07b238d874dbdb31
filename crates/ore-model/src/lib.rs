//! `ore-model`: the libtorch half of ore's train and eval stages.
//!
//! - [`model`]: a bidirectional LSTM or GRU encoder and decoder with Luong
//!   or Bahdanau attention ([`model::Seq2Seq`]);
//! - [`train`]: loss, FGM, clipping, schedules, early stopping, checkpoints
//!   and resume ([`train::train`], [`train::Trained`]);
//! - [`decode`]: greedy and beam search, ensembles;
//! - [`tagger`]: a BiLSTM-CRF sequence tagger over word and character
//!   features (`task = "tag"`), trained by the same loop;
//! - [`stage`]: [`Train`] and [`Eval`], the runtimes of the Stage contract
//!   for the definitions in `ore-train` ([`ore_train::TrainStage`],
//!   [`ore_train::EvalStage`]).
//!
//! The configs, data loading, vocabularies, logs and eval's row selection,
//! lead baseline and report live in `ore-train`, which builds and tests
//! without libtorch; they are re-exported here under the same paths.
//!
//! ```no_run
//! use ore_core::{Stage, StageContext};
//! use ore_model::Train;
//!
//! let mut config = ore_train::TrainConfig::default();
//! config.max_steps = Some(100);
//! let stage = Train::build(config)?;
//! let ctx = StageContext::new("train", "model/", 42)
//!     .with_input("input", vec!["examples/".into()]);
//! let manifest = stage.run(&ctx)?;
//! println!("{}", stage.summary(&manifest, &ctx));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub use ore_train::{bpe, config, data, io, log, tagging, vocab};

pub mod decode;
pub mod error;
pub mod model;
pub mod optim;
pub mod stage;
pub mod tagger;
pub mod train;
pub mod translate_stage;
pub mod translator;

pub use error::{ModelError, Result};
pub use stage::{Eval, Train};
pub use translate_stage::Translate;
