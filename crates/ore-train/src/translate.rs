//! `ore translate` as the pipeline knows it: a model folder and a dataset
//! in, a `translations` dataset out. Its runtime is `ore_model::Translate`.

use ore_core::{InputKind, InputSpec, StageDef};
use serde::{Deserialize, Serialize};

use crate::error::{Result, TrainError};

/// `[translate]`: how the model decodes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TranslateConfig {
    /// The text column translated (default: `src`, else `text`).
    pub column: Option<String>,
    /// Beam width (1: greedy); ignored when sampling.
    pub beam: usize,
    /// Draw each unit from the model's distribution, seeded per row by the
    /// run seed and the row's id, instead of searching.
    pub sample: bool,
    pub temperature: f64,
    /// Longest output, in units.
    pub max_len: usize,
    pub batch_size: usize,
}

impl Default for TranslateConfig {
    fn default() -> Self {
        Self {
            column: None,
            beam: 1,
            sample: false,
            temperature: 1.0,
            max_len: 100,
            batch_size: 64,
        }
    }
}

impl TranslateConfig {
    pub fn validate(&self) -> Result<()> {
        if self.beam == 0 || self.max_len == 0 || self.batch_size == 0 {
            return Err(TrainError::Config(
                "translate: beam, max_len and batch_size are at least 1".into(),
            ));
        }
        if self.sample && self.temperature <= 0.0 {
            return Err(TrainError::Config(
                "translate: temperature must be > 0 when sampling".into(),
            ));
        }
        Ok(())
    }
}

/// The translate stage as the runner knows it.
#[derive(Debug, Clone, Copy)]
pub struct TranslateStage;

impl StageDef for TranslateStage {
    const KIND: &'static str = "translate";
    const INPUTS: &'static [InputSpec] = &[
        InputSpec {
            key: "model",
            kind: InputKind::Model,
            required: true,
            many: false,
            defaults: &["train"],
        },
        InputSpec::dataset(&["split", "align", "examples"]),
    ];
    /// Sampling draws from the run seed.
    const SEEDED: bool = true;
    type Config = TranslateConfig;
}
