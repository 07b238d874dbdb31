//! The `[align]` section of a pipeline file.

use serde::{Deserialize, Serialize};

use crate::error::{AlignError, Result};

/// How the segments of a pair of pages are matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// By element id where the two pages share ids, else by order.
    Auto,
    /// By element id only (the crawl's `line_ids`).
    Ids,
    /// By paragraph order and length (Gale–Church), ignoring ids.
    Order,
}

/// `[align]`: two crawls of one site, in two languages, into pairs.
/// The first input is the source language, the second the target.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AlignConfig {
    /// The part of a source page's URL that names its language, replaced
    /// by `tgt_part` to give the URL of the same page in the target
    /// language (the first occurrence, in the path and query).
    pub src_part: String,
    pub tgt_part: String,
    pub method: Method,
    /// `auto` aligns a page pair by id when at least this share of the
    /// shorter page's lines have an id the other page also has.
    pub min_shared_ids: f64,
    /// Pairs whose length-match probability (Gale–Church's
    /// 2·(1 − Φ(|δ|))) is below this go to `_rejects/` (`low_score`).
    pub min_score: f64,
    /// Target characters per source character; 0 estimates it from the
    /// data (the id-aligned pairs, else the whole pages).
    pub length_ratio: f64,
    /// Variance of target length per source character (Gale and Church's
    /// s²); 0 estimates it from the id-aligned pairs, else 6.8 × the ratio.
    pub length_variance: f64,
    /// A pair whose two sides are the same text (an untranslated
    /// paragraph) goes to `_rejects/` (`untranslated`).
    pub drop_identical: bool,
    /// A pair whose source text repeats an earlier pair's (whitespace and
    /// case aside: a help page's stock sentence on many pages) goes to
    /// `_rejects/` (`duplicate`), so a split by page leaves no copy of a
    /// test sentence in training.
    pub dedup: bool,
    /// A pair whose source has no character of this script (`han`,
    /// `latin`, or `""`: no check) is rejected too (`untranslated`): the
    /// source page kept that paragraph in the target language.
    pub src_script: String,
    /// Pairs with a side longer than this many characters are rejected
    /// (`too_long`); 0: no limit.
    pub max_chars: usize,
}

impl Default for AlignConfig {
    fn default() -> Self {
        Self {
            src_part: "/zh-CN/".into(),
            tgt_part: "/en-US/".into(),
            method: Method::Auto,
            min_shared_ids: 0.5,
            min_score: 0.001,
            length_ratio: 0.0,
            length_variance: 0.0,
            drop_identical: true,
            dedup: true,
            src_script: "han".into(),
            max_chars: 2000,
        }
    }
}

impl AlignConfig {
    /// Why a pair's texts are not a translation pair, if they are not.
    pub fn text_reason(&self, src: &str, tgt: &str) -> Option<&'static str> {
        let script_missing = match self.src_script.as_str() {
            "han" => !src.chars().any(crate::align::is_han),
            "latin" => !src.chars().any(|c| c.is_ascii_alphabetic()),
            _ => false,
        };
        if (self.drop_identical && src.trim() == tgt.trim()) || script_missing {
            Some("untranslated")
        } else if self.max_chars > 0
            && (src.chars().count() > self.max_chars || tgt.chars().count() > self.max_chars)
        {
            Some("too_long")
        } else {
            None
        }
    }

    pub fn validate(&self) -> Result<()> {
        if self.src_part.is_empty() || self.tgt_part.is_empty() {
            return Err(AlignError::Config(
                "src_part and tgt_part must name the language part of the URLs (e.g. \"/zh-CN/\" and \"/en-US/\")".into(),
            ));
        }
        if self.src_part == self.tgt_part {
            return Err(AlignError::Config(format!(
                "src_part and tgt_part are both {:?}",
                self.src_part
            )));
        }
        if !(0.0..=1.0).contains(&self.min_shared_ids) || !(0.0..=1.0).contains(&self.min_score) {
            return Err(AlignError::Config(
                "min_shared_ids and min_score are shares between 0 and 1".into(),
            ));
        }
        if !matches!(self.src_script.as_str(), "" | "han" | "latin") {
            return Err(AlignError::Config(format!(
                "src_script = {:?}: expected \"han\", \"latin\" or \"\"",
                self.src_script
            )));
        }
        if self.length_ratio < 0.0 || self.length_variance < 0.0 {
            return Err(AlignError::Config(
                "length_ratio and length_variance are >= 0 (0: estimated)".into(),
            ));
        }
        Ok(())
    }
}
