//! Translators for the back-translation op: the `http` backend here, the
//! `model` backend through [`ore_core::translate`] (registered by the
//! binary that links libtorch).

pub mod http;

pub use http::{HttpStats, HttpTranslator, HttpTranslatorConfig};

use std::sync::Mutex;

use ore_core::translate::{ModelTranslatorConfig, TranslateError, Translator};
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

/// One translator of a `back_translation` op, by backend:
/// `{ backend = "model", model = "DIR", sample = true }` or
/// `{ backend = "http", url = "…/v1", model = "NAME", cache = "DIR" }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "backend", rename_all = "lowercase")]
pub enum TranslatorSpec {
    Model(ModelTranslatorConfig),
    Http(HttpTranslatorConfig),
}

impl TranslatorSpec {
    pub fn build(&self) -> Result<Box<dyn Translator>, TranslateError> {
        match self {
            Self::Model(c) => ore_core::translate::model_translator(c),
            Self::Http(c) => Ok(Box::new(HttpTranslator::new(c)?)),
        }
    }
}

/// The two translators of one op: to the pivot language and back.
pub type RoundTrip = (Box<dyn Translator>, Box<dyn Translator>);

/// A request of a `back_translation` op: (op index, side text, seed).
type Key = (usize, String, u64);

/// The translators of a run's `back_translation` ops and the round trips
/// made so far. Ops run per example, translators per batch: a first pass
/// over a batch records what each op would send ([`BackTranslations::get`]
/// misses), [`BackTranslations::fill`] sends it all in two batched calls
/// per op, and a second pass finds every answer.
pub struct BackTranslations {
    /// By op index: (forward, backward).
    translators: FxHashMap<usize, RoundTrip>,
    done: Mutex<FxHashMap<Key, String>>,
    missing: Mutex<Vec<Key>>,
}

impl std::fmt::Debug for BackTranslations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BackTranslations")
            .field("ops", &self.translators.len())
            .finish_non_exhaustive()
    }
}

impl BackTranslations {
    pub fn new(translators: FxHashMap<usize, RoundTrip>) -> Self {
        Self {
            translators,
            done: Mutex::new(FxHashMap::default()),
            missing: Mutex::new(Vec::new()),
        }
    }

    /// Both translators of op `j`, for `aug_params`.
    pub fn describe(&self, j: usize) -> serde_json::Value {
        match self.translators.get(&j) {
            Some((f, b)) => serde_json::json!({"forward": f.describe(), "backward": b.describe()}),
            None => serde_json::Value::Null,
        }
    }

    /// The round trip of `text` by op `j` with `seed`, or `None` (and the
    /// request noted) when it has not been made yet.
    pub fn get(&self, j: usize, text: &str, seed: u64) -> Option<String> {
        let key = (j, text.to_string(), seed);
        if let Some(out) = self
            .done
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
        {
            return Some(out.clone());
        }
        self.missing
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(key);
        None
    }

    /// Whether a pass left requests unanswered.
    pub fn has_missing(&self) -> bool {
        !self
            .missing
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_empty()
    }

    /// Sends every noted request: to the pivot language, then back (the
    /// same seed both ways), in one call per op and direction.
    pub fn fill(&self) -> Result<usize, TranslateError> {
        let mut missing =
            std::mem::take(&mut *self.missing.lock().unwrap_or_else(|e| e.into_inner()));
        missing.sort();
        missing.dedup();
        let mut by_op: FxHashMap<usize, Vec<Key>> = FxHashMap::default();
        for k in missing {
            by_op.entry(k.0).or_default().push(k);
        }
        let mut n = 0;
        let mut ops: Vec<usize> = by_op.keys().copied().collect();
        ops.sort_unstable();
        for j in ops {
            let keys = &by_op[&j];
            let Some((forward, backward)) = self.translators.get(&j) else {
                continue;
            };
            let texts: Vec<String> = keys.iter().map(|k| k.1.clone()).collect();
            let seeds: Vec<u64> = keys.iter().map(|k| k.2).collect();
            let pivot = forward.translate(&texts, &seeds)?;
            let back = backward.translate(&pivot, &seeds)?;
            let mut done = self.done.lock().unwrap_or_else(|e| e.into_inner());
            for (k, out) in keys.iter().zip(back) {
                done.insert(k.clone(), out);
            }
            n += keys.len();
        }
        Ok(n)
    }

    /// Forgets the answers of a finished batch.
    pub fn clear(&self) {
        self.done.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
}
