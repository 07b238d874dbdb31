//! The `Translator` seam: the one place a stage may call a model another
//! stage trained (DESIGN.md, "Workspace"). `ore-augment`'s back-translation
//! op sends text through a [`Translator`] without depending on `ore-train`:
//! the binary that links libtorch registers the `model` backend here
//! ([`register_model_backend`]), and the `http` backend (an
//! OpenAI-compatible endpoint) lives with the op.

use std::path::PathBuf;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

/// What went wrong translating.
#[derive(Debug, thiserror::Error)]
pub enum TranslateError {
    /// The translator cannot be set up (a missing model folder, no API key).
    #[error("{0}")]
    Setup(String),
    /// A request failed for good (after its retries).
    #[error("{0}")]
    Request(String),
}

/// Translates batches of texts. `seeds` (one per text) make sampling
/// reproducible row by row: the same text and seed give the same output.
pub trait Translator: Send + Sync {
    /// What this translator is, for `aug_params`: backend, model and, for a
    /// model folder, its content hash. Never a secret.
    fn describe(&self) -> serde_json::Value;

    /// One output per text, in order.
    fn translate(&self, texts: &[String], seeds: &[u64]) -> Result<Vec<String>, TranslateError>;
}

/// Decoding settings of a `model` translator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ModelTranslatorConfig {
    /// A model folder written by `ore train`.
    pub model: PathBuf,
    /// Beam width (1: greedy); ignored when sampling.
    pub beam: usize,
    /// Sample each output unit from the model's distribution (seeded per
    /// row) instead of searching for the likeliest output: more diverse
    /// back-translations.
    pub sample: bool,
    /// Softmax temperature when sampling.
    pub temperature: f64,
    /// Longest output, in units.
    pub max_len: usize,
    pub batch_size: usize,
}

impl Default for ModelTranslatorConfig {
    fn default() -> Self {
        Self {
            model: PathBuf::new(),
            beam: 1,
            sample: false,
            temperature: 1.0,
            max_len: 100,
            batch_size: 64,
        }
    }
}

/// Builds a `model` translator; registered by the binary that links the
/// model runtime.
pub type ModelBackend = fn(&ModelTranslatorConfig) -> Result<Box<dyn Translator>, TranslateError>;

static MODEL_BACKEND: OnceLock<ModelBackend> = OnceLock::new();

/// Registers the `model` backend (once per process; later calls are
/// ignored).
pub fn register_model_backend(backend: ModelBackend) {
    let _ = MODEL_BACKEND.set(backend);
}

/// A `model` translator, if this process registered the backend.
pub fn model_translator(
    config: &ModelTranslatorConfig,
) -> Result<Box<dyn Translator>, TranslateError> {
    match MODEL_BACKEND.get() {
        Some(build) => build(config),
        None => Err(TranslateError::Setup(format!(
            "the model backend (for {}) needs the binary that links libtorch (ore-torch): build it with `make build`",
            config.model.display()
        ))),
    }
}

/// Whether this process can build `model` translators.
pub fn has_model_backend() -> bool {
    MODEL_BACKEND.get().is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Upper;

    impl Translator for Upper {
        fn describe(&self) -> serde_json::Value {
            serde_json::json!({"backend": "upper"})
        }
        fn translate(&self, texts: &[String], _: &[u64]) -> Result<Vec<String>, TranslateError> {
            Ok(texts.iter().map(|t| t.to_uppercase()).collect())
        }
    }

    #[test]
    fn the_model_backend_is_what_the_binary_registers() {
        let cfg = ModelTranslatorConfig {
            model: "m".into(),
            ..Default::default()
        };
        assert!(!has_model_backend());
        let err = model_translator(&cfg).err().unwrap().to_string();
        assert!(err.contains("ore-torch"), "{err}");
        register_model_backend(|_| Ok(Box::new(Upper)));
        let t = model_translator(&cfg).unwrap();
        assert_eq!(t.translate(&["ab".into()], &[0]).unwrap(), vec!["AB"]);
        assert_eq!(t.describe()["backend"], "upper");
    }
}
