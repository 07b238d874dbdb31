//! The `[train]` section of a pipeline file. Every field has a default, so
//! `ore train` runs with no config at all; unknown keys are errors.

use serde::{Deserialize, Serialize};

/// Everything a training run is shaped by (saved beside the model).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainConfig {
    /// `seq2seq` (an encoder-decoder on `examples`) or `tag` (a BiLSTM-CRF
    /// sequence tagger on a `tokens` dataset's `entities`).
    pub task: Task,
    pub data: DataConfig,
    pub model: ModelConfig,
    pub optim: OptimConfig,
    /// Passes over the training data (`--epochs`).
    pub epochs: usize,
    /// Stop after this many optimiser steps, whatever the epoch (`--max-steps`).
    pub max_steps: Option<u64>,
    /// Stop after this many minutes of training (checked after each step;
    /// the best weights so far are kept).
    pub max_minutes: Option<f64>,
    /// Evaluate on the validation data every N steps (0: at each epoch end).
    pub eval_every: u64,
    /// Stop when validation loss has not improved for this many evaluations
    /// (0: never stop early).
    pub patience: usize,
    /// Which weights are kept and what early stopping watches: `loss` (the
    /// validation loss) or, for a tagger, `f1` (entity F1 on the validation
    /// sentences: with very little data the loss rises, as the tagger grows
    /// confident, long before F1 stops improving).
    pub select_by: SelectBy,
    /// Probability of feeding the gold previous token to the decoder (1.0:
    /// full teacher forcing, which also allows the fast parallel decoder).
    pub teacher_forcing: f64,
    /// Fast gradient method: perturb the embeddings by `epsilon` along the
    /// gradient and add the adversarial loss (0: off).
    pub fgm_epsilon: f64,
    /// Label smoothing of the cross-entropy (0: off).
    pub label_smoothing: f64,
    /// Intra-op threads of libtorch (default: all cores).
    pub threads: Option<usize>,
    /// `cpu`, `cuda` or `auto`.
    pub device: String,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            task: Task::Seq2seq,
            data: DataConfig::default(),
            model: ModelConfig::default(),
            optim: OptimConfig::default(),
            epochs: 10,
            max_steps: None,
            max_minutes: None,
            eval_every: 0,
            patience: 3,
            select_by: SelectBy::Loss,
            teacher_forcing: 1.0,
            fgm_epsilon: 0.0,
            label_smoothing: 0.0,
            threads: None,
            device: "auto".into(),
        }
    }
}

/// What picks the kept weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SelectBy {
    Loss,
    F1,
}

/// What is learnt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Task {
    /// Source tokens to target tokens (headlines, summaries, translation).
    Seq2seq,
    /// One IOB2 tag a token, from the `entities` of a `tokens` dataset.
    Tag,
}

impl Task {
    pub fn name(self) -> &'static str {
        match self {
            Self::Seq2seq => "seq2seq",
            Self::Tag => "tag",
        }
    }
}

/// How examples become batches of ids.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DataConfig {
    /// `tokens` (the token lists), `chars` (characters of Han tokens,
    /// whole tokens otherwise: character-level units for Chinese) or `bpe`
    /// (subword pieces learnt on the training tokens: rare words are
    /// spelt from frequent pieces, so outputs need no `<unk>`).
    pub units: Units,
    /// `bpe`: merges learnt (one list for both sides when the vocabulary
    /// is shared, else one a side).
    pub bpe_merges: usize,
    /// Learn `tgt` -> `src` instead (an en->zh translator from zh-en
    /// pairs); eval and translation follow the model's direction.
    pub swap_sides: bool,
    /// One vocabulary for source and target (needed for tied embeddings
    /// across both sides, and natural for same-language tasks).
    pub shared_vocab: bool,
    pub min_count: u64,
    pub max_vocab: usize,
    /// Truncate source / target sequences to this many units.
    pub max_src_len: usize,
    pub max_tgt_len: usize,
    pub batch_size: usize,
    /// Share of a single input dataset held out for validation (by a hash
    /// of `source_id`, so variants of one document stay on one side).
    pub valid_fraction: f64,
    /// Batches are formed from windows of this many batches sorted by
    /// length, so padding stays small while order stays random.
    pub bucket_batches: usize,
}

impl Default for DataConfig {
    fn default() -> Self {
        Self {
            units: Units::Tokens,
            bpe_merges: 8000,
            swap_sides: false,
            shared_vocab: true,
            min_count: 1,
            max_vocab: 30_000,
            max_src_len: 100,
            max_tgt_len: 30,
            batch_size: 32,
            valid_fraction: 0.1,
            bucket_batches: 50,
        }
    }
}

/// Units of the sequences.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Units {
    Tokens,
    Chars,
    Bpe,
}

/// The shape of the encoder-decoder (and of the tagger: `embedding`,
/// `hidden`, `encoder_layers`, `cell`, `dropout` and the `char_*` keys).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ModelConfig {
    /// Recurrent cell of encoder and decoder: `lstm` or `gru`.
    pub cell: Cell,
    pub embedding: i64,
    /// Hidden size of each encoder direction and of the decoder.
    pub hidden: i64,
    pub encoder_layers: i64,
    pub decoder_layers: i64,
    pub attention: Attention,
    /// Output projection shares the target embedding matrix.
    pub tie_embeddings: bool,
    pub dropout: f64,
    /// Tagger: character embedding size (0: no character features).
    pub char_embedding: i64,
    /// Tagger: filters of the character CNN (its feature size).
    pub char_filters: i64,
    /// Tagger: width of the character CNN's window.
    pub char_width: i64,
    /// Tagger: a CRF over the tags (Viterbi decoding) instead of one
    /// softmax a token.
    pub crf: bool,
}

impl Default for ModelConfig {
    fn default() -> Self {
        Self {
            cell: Cell::Lstm,
            embedding: 128,
            hidden: 256,
            encoder_layers: 1,
            decoder_layers: 1,
            attention: Attention::Luong,
            tie_embeddings: false,
            dropout: 0.2,
            char_embedding: 30,
            char_filters: 50,
            char_width: 3,
            crf: true,
        }
    }
}

/// A recurrent cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Cell {
    /// Long short-term memory (four gates, a cell state beside `h`).
    Lstm,
    /// Gated recurrent unit (three gates, `h` only): a quarter fewer
    /// recurrent weights.
    Gru,
}

/// Attention of the decoder over the encoder states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Attention {
    /// Luong et al. 2015, "general" score `h_t W h_s`, after the LSTM step.
    Luong,
    /// Bahdanau et al. 2015, additive score from the previous state; the
    /// context is fed into the LSTM step.
    Bahdanau,
}

/// Optimiser and learning-rate schedule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OptimConfig {
    /// `adam` (L2 added to the gradient) or `adamw` (decoupled decay).
    pub optimizer: Optimizer,
    pub lr: f64,
    pub weight_decay: f64,
    pub beta1: f64,
    pub beta2: f64,
    /// Clip the global gradient norm to this (0: no clipping).
    pub clip_norm: f64,
    /// Linear warm-up steps.
    pub warmup_steps: u64,
    pub schedule: Schedule,
    /// `plateau`: multiply the rate by this when validation loss stalls.
    pub plateau_factor: f64,
    /// `plateau`: evaluations without improvement before reducing.
    pub plateau_patience: usize,
    pub min_lr: f64,
}

impl Default for OptimConfig {
    fn default() -> Self {
        Self {
            optimizer: Optimizer::Adam,
            lr: 1e-3,
            weight_decay: 0.0,
            beta1: 0.9,
            beta2: 0.999,
            clip_norm: 5.0,
            warmup_steps: 0,
            schedule: Schedule::Constant,
            plateau_factor: 0.5,
            plateau_patience: 1,
            min_lr: 1e-6,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Optimizer {
    Adam,
    Adamw,
}

/// Learning rate after warm-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Schedule {
    Constant,
    /// `lr * sqrt(warmup / step)` after warm-up.
    InverseSqrt,
    /// Linear decay to `min_lr` at the last step (needs a known step count).
    Linear,
    /// Reduce on plateau of the validation loss.
    Plateau,
}

impl TrainConfig {
    /// Checks ranges that serde cannot; the message names the key.
    pub fn validate(&self) -> Result<(), String> {
        let checks: [(bool, &str); 14] = [
            (
                self.select_by == SelectBy::Loss || self.task == Task::Tag,
                "select_by = \"f1\" needs task = \"tag\"",
            ),
            (
                self.max_minutes.is_none_or(|m| m > 0.0),
                "max_minutes must be positive",
            ),
            (
                self.data.units != Units::Bpe || self.data.bpe_merges > 0,
                "data.bpe_merges must be at least 1 with data.units = \"bpe\"",
            ),
            (
                self.data.batch_size > 0,
                "data.batch_size must be at least 1",
            ),
            (
                self.data.max_src_len > 0 && self.data.max_tgt_len > 0,
                "data.max_src_len and data.max_tgt_len must be at least 1",
            ),
            (
                (0.0..1.0).contains(&self.data.valid_fraction),
                "data.valid_fraction must be in [0, 1)",
            ),
            (
                self.model.embedding > 0 && self.model.hidden > 0,
                "model.embedding and model.hidden must be positive",
            ),
            (
                self.model.encoder_layers > 0 && self.model.decoder_layers > 0,
                "model.encoder_layers and model.decoder_layers must be at least 1",
            ),
            (
                (0.0..1.0).contains(&self.model.dropout),
                "model.dropout must be in [0, 1)",
            ),
            (
                (0.0..=1.0).contains(&self.teacher_forcing),
                "teacher_forcing must be in [0, 1]",
            ),
            (
                (0.0..1.0).contains(&self.label_smoothing),
                "label_smoothing must be in [0, 1)",
            ),
            (
                self.optim.lr > 0.0 && self.fgm_epsilon >= 0.0,
                "optim.lr must be positive and fgm_epsilon not negative",
            ),
            (
                self.model.char_embedding >= 0
                    && (self.model.char_embedding == 0
                        || (self.model.char_filters > 0 && self.model.char_width > 0)),
                "model.char_embedding must not be negative, and with character features model.char_filters and model.char_width must be positive",
            ),
            (
                matches!(self.device.as_str(), "cpu" | "cuda" | "auto"),
                "device must be cpu, cuda or auto",
            ),
        ];
        match checks.iter().find(|(ok, _)| !ok) {
            Some((_, message)) => Err((*message).to_string()),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_unknown_keys_are_rejected() {
        assert_eq!(TrainConfig::default().validate(), Ok(()));
        let parsed: Result<TrainConfig, _> = toml::from_str("[model]\nhiden = 3\n");
        assert!(parsed.unwrap_err().to_string().contains("hiden"));
        let parsed: TrainConfig =
            toml::from_str("epochs = 2\n[model]\nattention = \"bahdanau\"\n").unwrap();
        assert_eq!(parsed.model.attention, Attention::Bahdanau);
        let bad = TrainConfig {
            teacher_forcing: 1.5,
            ..TrainConfig::default()
        };
        assert!(bad.validate().unwrap_err().contains("teacher_forcing"));
        let parsed: TrainConfig =
            toml::from_str("task = \"tag\"\nselect_by = \"f1\"\n[model]\ncell = \"gru\"\n")
                .unwrap();
        assert_eq!((parsed.task, parsed.model.cell), (Task::Tag, Cell::Gru));
        assert_eq!(parsed.validate(), Ok(()));
        let seq2seq_f1 = TrainConfig {
            select_by: SelectBy::F1,
            ..TrainConfig::default()
        };
        assert!(seq2seq_f1.validate().unwrap_err().contains("select_by"));
    }
}
