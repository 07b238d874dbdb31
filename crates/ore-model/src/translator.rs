//! The `model` backend of ore-core's [`Translator`] seam: a model folder
//! written by `ore train`, decoded in batches (greedy, beam search, or
//! sampling seeded per row), its output units joined into readable text.

use std::path::Path;
use std::sync::Mutex;

use ore_core::translate::{ModelTranslatorConfig, TranslateError, Translator};
use ore_eval::Lang;
use serde_json::json;
use tch::Device;

use crate::data::Example;
use crate::decode::{DecodeOptions, decode, decode_sampled};
use crate::train::Trained;
use ore_train::eval::detokenize;

/// Text to the tokens a model's source side was trained on.
pub type SharedTokenizer = std::sync::Arc<dyn Fn(&str) -> Vec<String> + Send + Sync>;

/// A trained model as a translator.
pub struct ModelTranslator {
    // libtorch modules are used from one thread at a time.
    trained: Mutex<Trained>,
    config: ModelTranslatorConfig,
    tokenize: SharedTokenizer,
    lang: Lang,
    describe: serde_json::Value,
    device: Device,
}

impl std::fmt::Debug for ModelTranslator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModelTranslator")
            .field("model", &self.config.model)
            .finish_non_exhaustive()
    }
}

/// The language a vocabulary's units are in: Chinese when a fair share of
/// them are Han characters.
fn vocab_lang(units: impl Iterator<Item = String>) -> Lang {
    let (mut han, mut all) = (0usize, 0usize);
    for u in units {
        all += 1;
        if u.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)) {
            han += 1;
        }
    }
    if han * 5 >= all.max(1) {
        Lang::Zh
    } else {
        Lang::En
    }
}

impl ModelTranslator {
    /// Loads `config.model`; `tokenize` splits input text into the tokens
    /// the model was trained on.
    pub fn load(
        config: &ModelTranslatorConfig,
        tokenize: SharedTokenizer,
    ) -> Result<Self, TranslateError> {
        let setup = |e: String| TranslateError::Setup(e);
        let device = Device::Cpu;
        let trained = Trained::load(&config.model, None, device)
            .map_err(|e| setup(format!("loading model {}: {e}", config.model.display())))?;
        let hash = ore_core::runner::input_hash(&config.model, ore_core::InputKind::Model)
            .map_err(|e| setup(e.to_string()))?;
        let tgt = &trained.vocabs.tgt;
        let lang = vocab_lang((0..tgt.len() as i64).map(|i| tgt.unit(i).to_string()));
        let describe = json!({
            "backend": "model",
            "model": config.model.display().to_string(),
            "model_hash": hash,
            "beam": config.beam,
            "sample": config.sample,
            "temperature": config.temperature,
        });
        Ok(Self {
            trained: Mutex::new(trained),
            config: config.clone(),
            tokenize,
            lang,
            describe,
            device,
        })
    }

    pub fn model(&self) -> &Path {
        &self.config.model
    }
}

impl Translator for ModelTranslator {
    fn describe(&self) -> serde_json::Value {
        self.describe.clone()
    }

    fn translate(&self, texts: &[String], seeds: &[u64]) -> Result<Vec<String>, TranslateError> {
        let examples: Vec<Example> = texts
            .iter()
            .enumerate()
            .map(|(i, t)| Example {
                example_id: i.to_string(),
                source_id: i.to_string(),
                src: (self.tokenize)(t),
                tgt: Vec::new(),
                tgt_text: String::new(),
                src_text: t.clone(),
            })
            .collect();
        let trained = self.trained.lock().unwrap_or_else(|e| e.into_inner());
        let opts = DecodeOptions {
            beam: self.config.beam.max(1),
            max_len: self.config.max_len,
            batch_size: self.config.batch_size.max(1),
            ..DecodeOptions::default()
        };
        let members = [&*trained];
        let units = if self.config.sample {
            let seeds: Vec<u64> = (0..texts.len())
                .map(|i| seeds.get(i).copied().unwrap_or(0))
                .collect();
            decode_sampled(
                &members,
                &examples,
                &opts,
                &seeds,
                self.config.temperature,
                self.device,
            )
        } else {
            decode(&members, &examples, &opts, self.device)
        }
        .map_err(|e| TranslateError::Request(format!("{}: {e}", self.config.model.display())))?;
        Ok(units.iter().map(|u| detokenize(u, self.lang)).collect())
    }
}
