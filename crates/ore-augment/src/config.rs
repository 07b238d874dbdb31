//! The `[augment]` section of a pipeline file: ops as data.
//!
//! ```toml
//! [augment]
//! n_aug = 1
//! combine = "each"
//! [[augment.ops]]
//! type = "synonym"
//! rate = 0.1
//! ```

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::error::{AugmentError, Result};
use crate::lexicon::{Needs, Resources};
use crate::translate::TranslatorSpec;

/// `[augment]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AugmentConfig {
    /// Which side is augmented: `src` (default), `tgt` or `both`. A tokens
    /// dataset's `text` and `tokens` are its `src`.
    pub side: Side,
    /// Variants made of each example: per op with `combine = "each"`, in
    /// all otherwise.
    pub n_aug: usize,
    /// `each`: every op makes its own `n_aug` variants (EDA's way). `one_of`:
    /// each variant applies one op, drawn by `weight` (nlpaug's
    /// `Sometimes` with one pick). `chain`: each variant applies every op in
    /// order, each with its probability `p` (nlpaug's `Sequential`).
    pub combine: Combine,
    /// Write the originals too (with `aug_op` null). With `false` they go
    /// to `_rejects/` as `original_not_kept`, so no row is lost.
    pub keep_original: bool,
    /// The ops (default: `synonym` at rate 0.1 and `char_swap` at 0.03).
    pub ops: Vec<OpConfig>,
    /// Where the thesauri and dictionaries are.
    pub resources: Resources,
    /// The similarity window a variant must fall in.
    pub quality: Quality,
    /// Rows whose `split` is not `train`: `refuse` (default) stops the run,
    /// `pass` writes them through unaugmented. A split output folder
    /// (`train/`, `valid/`, `test/`) always has `train/` augmented and the
    /// others passed through.
    pub other_splits: OtherSplits,
    /// More stop words, never replaced or deleted by word ops.
    pub stop_words: Vec<String>,
    /// The dataset whose tagged rows feed `label_replace` and
    /// `mention_replace` (default: the training rows of the input).
    pub pool: Option<PathBuf>,
    /// Rows per batch read.
    pub batch_rows: usize,
}

impl Default for AugmentConfig {
    fn default() -> Self {
        Self {
            side: Side::Src,
            n_aug: 1,
            combine: Combine::Each,
            keep_original: true,
            ops: vec![
                OpConfig::new(OpKind::Synonym),
                OpConfig {
                    rate: Some(0.03),
                    max: Some(3),
                    ..OpConfig::new(OpKind::CharSwap)
                },
            ],
            resources: Resources::default(),
            quality: Quality::default(),
            other_splits: OtherSplits::Refuse,
            stop_words: Vec::new(),
            pool: None,
            batch_rows: 1024,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    Src,
    Tgt,
    Both,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Combine {
    Each,
    OneOf,
    Chain,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OtherSplits {
    Refuse,
    Pass,
}

/// `[augment.quality]`: a variant outside the window goes to `_rejects/`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Quality {
    /// Least character-bigram Jaccard similarity to the original
    /// (`too_different` below it).
    pub min_similarity: f64,
    /// Most similarity (`too_similar` above it; 1.0 keeps every variant
    /// that differs at all).
    pub max_similarity: f64,
    /// Most character edits (Levenshtein) per character of the original
    /// (`too_many_edits` above it); unset: not checked.
    pub max_edit_rate: Option<f64>,
}

impl Default for Quality {
    fn default() -> Self {
        Self {
            min_similarity: 0.2,
            max_similarity: 1.0,
            max_edit_rate: None,
        }
    }
}

/// The kind of an op (`type = "…"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OpKind {
    Synonym,
    CharInsert,
    CharDelete,
    CharSwap,
    CharSubstitute,
    Keyboard,
    Homophone,
    EquivalentChar,
    PunctInsert,
    PunctDelete,
    EdaSr,
    EdaRi,
    EdaRs,
    EdaRd,
    LabelReplace,
    NerSynonym,
    MentionReplace,
    SegmentShuffle,
    /// The text to a pivot language and back, through two translators.
    BackTranslation,
}

/// What an op's `rate` is a fraction of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Tokens,
    /// Tokens other than punctuation.
    Words,
    /// Characters other than whitespace.
    Chars,
    PunctTokens,
    Mentions,
    /// Same-label segments of two tokens or more.
    Segments,
}

impl OpKind {
    pub fn name(self) -> &'static str {
        match self {
            Self::Synonym => "synonym",
            Self::CharInsert => "char_insert",
            Self::CharDelete => "char_delete",
            Self::CharSwap => "char_swap",
            Self::CharSubstitute => "char_substitute",
            Self::Keyboard => "keyboard",
            Self::Homophone => "homophone",
            Self::EquivalentChar => "equivalent_char",
            Self::PunctInsert => "punct_insert",
            Self::PunctDelete => "punct_delete",
            Self::EdaSr => "eda_sr",
            Self::EdaRi => "eda_ri",
            Self::EdaRs => "eda_rs",
            Self::EdaRd => "eda_rd",
            Self::LabelReplace => "label_replace",
            Self::NerSynonym => "ner_synonym",
            Self::MentionReplace => "mention_replace",
            Self::SegmentShuffle => "segment_shuffle",
            Self::BackTranslation => "back_translation",
        }
    }

    /// Default `rate`, `min`, `max`.
    pub fn defaults(self) -> (f64, usize, usize) {
        match self {
            Self::Synonym | Self::NerSynonym => (0.1, 1, 10),
            Self::CharInsert
            | Self::CharDelete
            | Self::CharSwap
            | Self::CharSubstitute
            | Self::Keyboard => (0.05, 1, 10),
            Self::Homophone => (0.1, 1, 10),
            Self::EquivalentChar => (0.5, 1, 10),
            Self::PunctInsert => (0.1, 1, 5),
            Self::PunctDelete => (0.5, 1, 5),
            Self::EdaSr | Self::EdaRi | Self::EdaRs | Self::EdaRd => (0.1, 1, 50),
            Self::LabelReplace => (0.2, 1, 20),
            Self::MentionReplace | Self::SegmentShuffle => (0.3, 1, 10),
            Self::BackTranslation => (1.0, 1, 1),
        }
    }

    pub fn unit(self) -> Unit {
        match self {
            Self::Synonym | Self::NerSynonym | Self::LabelReplace | Self::PunctInsert => {
                Unit::Tokens
            }
            Self::EdaSr | Self::EdaRi | Self::EdaRs | Self::EdaRd => Unit::Words,
            Self::CharInsert
            | Self::CharDelete
            | Self::CharSwap
            | Self::CharSubstitute
            | Self::Keyboard
            | Self::Homophone
            | Self::EquivalentChar => Unit::Chars,
            Self::PunctDelete => Unit::PunctTokens,
            Self::MentionReplace => Unit::Mentions,
            Self::SegmentShuffle => Unit::Segments,
            Self::BackTranslation => Unit::Tokens,
        }
    }

    /// Ops that change entity tokens (and need tagged rows to do anything).
    pub fn is_entity_op(self) -> bool {
        matches!(
            self,
            Self::LabelReplace | Self::NerSynonym | Self::MentionReplace | Self::SegmentShuffle
        )
    }

    /// Ops that draw from the pool of the data's tagged tokens and mentions.
    pub fn uses_pool(self) -> bool {
        matches!(self, Self::LabelReplace | Self::MentionReplace)
    }

    pub fn uses_synonyms(self) -> bool {
        matches!(
            self,
            Self::Synonym | Self::NerSynonym | Self::EdaSr | Self::EdaRi
        )
    }
}

/// One `[[augment.ops]]` entry. Unset `rate`/`min`/`max` take the op's
/// defaults (README.md, "Augmenting").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpConfig {
    #[serde(rename = "type")]
    pub kind: OpKind,
    /// Edits = clamp(round(rate × length), min, max), length in the op's
    /// unit (tokens, words, characters, …).
    pub rate: Option<f64>,
    pub min: Option<usize>,
    pub max: Option<usize>,
    /// In a chain: the probability that the op applies to a variant.
    #[serde(default = "one")]
    pub p: f64,
    /// With `combine = "one_of"`: the op's relative weight.
    #[serde(default = "one")]
    pub weight: f64,
    /// `homophone`: also characters of the same syllable in another tone.
    #[serde(default)]
    pub any_tone: bool,
    /// `back_translation`: the translator to the pivot language …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forward: Option<TranslatorSpec>,
    /// … and the one back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backward: Option<TranslatorSpec>,
}

fn one() -> f64 {
    1.0
}

impl OpConfig {
    pub fn new(kind: OpKind) -> Self {
        Self {
            kind,
            rate: None,
            min: None,
            max: None,
            p: 1.0,
            weight: 1.0,
            any_tone: false,
            forward: None,
            backward: None,
        }
    }

    pub fn rate(&self) -> f64 {
        self.rate.unwrap_or(self.kind.defaults().0)
    }

    pub fn min(&self) -> usize {
        self.min.unwrap_or(self.kind.defaults().1)
    }

    pub fn max(&self) -> usize {
        self.max.unwrap_or(self.kind.defaults().2).max(self.min())
    }

    /// The number of edits for `length` units: clamp(round(rate × length),
    /// min, max). An op makes fewer only when fewer places qualify.
    pub fn budget(&self, length: usize) -> usize {
        let n = (self.rate() * length as f64).round() as usize;
        n.clamp(self.min(), self.max())
    }
}

impl AugmentConfig {
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(AugmentError::Config(m));
        if self.ops.is_empty() {
            return bad("`ops` is empty: give at least one [[augment.ops]]".into());
        }
        if self.n_aug == 0 {
            return bad("`n_aug` must be at least 1".into());
        }
        if self.batch_rows == 0 {
            return bad("`batch_rows` must be at least 1".into());
        }
        for (i, op) in self.ops.iter().enumerate() {
            let name = op.kind.name();
            if !(op.rate() >= 0.0 && op.rate() <= 1.0) {
                return bad(format!("ops[{i}] ({name}): rate must be in [0, 1]"));
            }
            if op.min.zip(op.max).is_some_and(|(lo, hi)| lo > hi) {
                return bad(format!("ops[{i}] ({name}): min > max"));
            }
            if !(0.0..=1.0).contains(&op.p) || op.weight < 0.0 || !op.weight.is_finite() {
                return bad(format!(
                    "ops[{i}] ({name}): p must be in [0, 1] and weight >= 0"
                ));
            }
            if op.any_tone && op.kind != OpKind::Homophone {
                return bad(format!("ops[{i}] ({name}): any_tone is for homophone only"));
            }
            let translators = op.forward.is_some() || op.backward.is_some();
            if op.kind == OpKind::BackTranslation {
                if op.forward.is_none() || op.backward.is_none() {
                    return bad(format!(
                        "ops[{i}] (back_translation): give both `forward` and `backward`, e.g. forward = {{ backend = \"model\", model = \"datasets/translate/zh_en\" }}"
                    ));
                }
            } else if translators {
                return bad(format!(
                    "ops[{i}] ({name}): forward/backward are for back_translation only"
                ));
            }
        }
        if self.combine == Combine::OneOf && self.ops.iter().all(|o| o.weight == 0.0) {
            return bad("combine = \"one_of\" needs an op with weight > 0".into());
        }
        let q = &self.quality;
        if !(0.0..=1.0).contains(&q.min_similarity)
            || !(0.0..=1.0).contains(&q.max_similarity)
            || q.min_similarity > q.max_similarity
        {
            return bad("quality: need 0 <= min_similarity <= max_similarity <= 1".into());
        }
        Ok(())
    }

    /// What the ops need loaded.
    pub fn needs(&self) -> Needs {
        Needs {
            synonyms: self.ops.iter().any(|o| o.kind.uses_synonyms()),
            homophones: self.ops.iter().any(|o| o.kind == OpKind::Homophone),
            segmenter: self.ops.iter().any(|o| o.kind == OpKind::BackTranslation),
        }
    }

    /// Points each `model` translator that names a pipeline section (a
    /// bare name such as `zh_en`) at that section's model folder: one of
    /// `translators`, the stage's declared model inputs, whose folder has
    /// that name. The runner then orders augment after the training of its
    /// translators and reruns it when one changes.
    pub fn resolve_translators(&mut self, translators: &[std::path::PathBuf]) {
        for op in &mut self.ops {
            for spec in [&mut op.forward, &mut op.backward].into_iter().flatten() {
                if let TranslatorSpec::Model(c) = spec
                    && c.model.components().count() == 1
                    && let Some(dir) = translators
                        .iter()
                        .find(|d| d.file_name() == Some(c.model.as_os_str()))
                {
                    c.model = dir.clone();
                }
            }
        }
    }

    /// Whether an op translates through a model folder, which only the
    /// binary that links libtorch (`ore-torch`) can decode.
    pub fn needs_model_backend(&self) -> bool {
        self.ops.iter().any(|o| {
            [&o.forward, &o.backward]
                .iter()
                .any(|t| matches!(t, Some(TranslatorSpec::Model(_))))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_is_clamped() {
        let op = OpConfig {
            rate: Some(0.1),
            min: Some(1),
            max: Some(3),
            ..OpConfig::new(OpKind::Synonym)
        };
        assert_eq!(op.budget(0), 1);
        assert_eq!(op.budget(14), 1);
        assert_eq!(op.budget(25), 3, "round(2.5) = 3");
        assert_eq!(op.budget(100), 3);
    }

    #[test]
    fn ops_parse_from_toml_and_bad_ones_are_refused() {
        let cfg: AugmentConfig = toml::from_str(
            "n_aug = 2\ncombine = \"chain\"\n[[ops]]\ntype = \"homophone\"\nany_tone = true\n[[ops]]\ntype = \"eda_rd\"\nrate = 0.2\np = 0.5\n",
        )
        .unwrap();
        assert_eq!(cfg.ops.len(), 2);
        assert_eq!(cfg.ops[1].rate(), 0.2);
        assert_eq!(cfg.ops[0].max(), 10);
        cfg.validate().unwrap();
        assert!(toml::from_str::<AugmentConfig>("[[ops]]\ntype = \"nope\"\n").is_err());
        assert!(toml::from_str::<AugmentConfig>("[[ops]]\ntype = \"synonym\"\nrat = 1\n").is_err());
        let bad = AugmentConfig {
            ops: vec![OpConfig {
                any_tone: true,
                ..OpConfig::new(OpKind::Synonym)
            }],
            ..AugmentConfig::default()
        };
        assert!(bad.validate().is_err());
    }
}
