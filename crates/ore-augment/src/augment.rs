//! Making the variants of one example: which ops, with which seeds, and
//! which variants survive the quality checks. Arrow is not involved here;
//! [`crate::stage`] reads the rows and writes what this returns.

use rustc_hash::FxHashSet;
use serde_json::json;

use crate::config::{AugmentConfig, Combine, OpConfig, OpKind};
use crate::lexicon::Lexicon;
use crate::ops::{self, OpContext, Pools};
use crate::rng::{Rng, op_seed, variant_seed};
use crate::seq::Seq;

/// Reason for a variant below `quality.min_similarity`.
pub const TOO_DIFFERENT: &str = "too_different";
/// Reason for a variant above `quality.max_similarity`.
pub const TOO_SIMILAR: &str = "too_similar";
/// Reason for a variant above `quality.max_edit_rate`.
pub const TOO_MANY_EDITS: &str = "too_many_edits";
/// Reason for an original not written because `keep_original = false`.
pub const ORIGINAL_NOT_KEPT: &str = "original_not_kept";

/// One variant of an example.
#[derive(Debug, Clone)]
pub struct Variant {
    /// Its place among the example's variants (the `~k` of its id).
    pub index: u64,
    /// `aug_seed`: every random choice of the variant derives from it.
    pub seed: u64,
    /// `aug_op`: the op, or the ops of a chain joined by `+`.
    pub op: String,
    /// `aug_params`: the ops with their settings and edit counts, as JSON.
    pub params: String,
    /// The augmented sides, in the order they were given.
    pub sides: Vec<Seq>,
    /// Edits made, all ops and sides together.
    pub edits: usize,
    /// A back-translation it needs has not been made yet (the stage makes
    /// it and asks again); such a variant is never emitted.
    pub pending: bool,
    /// Why a back-translation failed it (reason, detail).
    pub failure: Option<(&'static str, String)>,
}

/// Reasons for back-translated variants in `_rejects/`.
pub const BACK_TRANSLATION_EMPTY: &str = "back_translation_empty";
pub const BACK_TRANSLATION_IDENTICAL: &str = "back_translation_identical";

/// What became of one attempted variant.
#[derive(Debug, Clone)]
pub enum Outcome {
    Kept(Variant),
    /// Outside the similarity window: reason and detail.
    Rejected(Variant, &'static str, String),
    /// Identical to the original or to an earlier variant: dropped.
    Identical {
        op: String,
    },
}

/// Everything the ops of one run share.
#[derive(Debug)]
pub struct Augmenter {
    pub config: AugmentConfig,
    pub lexicon: Lexicon,
    pub pools: Option<Pools>,
    /// The translators of the `back_translation` ops, and their answers.
    pub back_translations: Option<crate::translate::BackTranslations>,
    stop_words: FxHashSet<String>,
}

impl Augmenter {
    pub fn new(config: AugmentConfig, lexicon: Lexicon, pools: Option<Pools>) -> Self {
        let stop_words = config.stop_words.iter().cloned().collect();
        Self {
            config,
            lexicon,
            pools,
            back_translations: None,
            stop_words,
        }
    }

    pub fn with_back_translations(mut self, bt: crate::translate::BackTranslations) -> Self {
        self.back_translations = Some(bt);
        self
    }

    /// A back-translated text as a sequence: jieba's words for Chinese,
    /// words and punctuation marks otherwise.
    fn seq_of(&self, text: &str) -> Seq {
        let mut tokens: Vec<String> = Vec::new();
        match &self.lexicon.jieba {
            Some(jieba) if text.chars().any(crate::seq::is_han) => {
                tokens.extend(
                    jieba
                        .cut(text, true)
                        .into_iter()
                        .filter(|t| !t.word.trim().is_empty())
                        .map(|t| t.word.to_string()),
                );
            }
            _ => {
                let mut word = String::new();
                for c in text.chars() {
                    if c.is_whitespace() || crate::seq::is_punct_char(c) {
                        if !word.is_empty() {
                            tokens.push(std::mem::take(&mut word));
                        }
                        if !c.is_whitespace() {
                            tokens.push(c.to_string());
                        }
                    } else {
                        word.push(c);
                    }
                }
                if !word.is_empty() {
                    tokens.push(word);
                }
            }
        }
        Seq::new(&crate::seq::Parts {
            text,
            tokens: tokens.iter().map(String::as_str).collect(),
            ..Default::default()
        })
    }

    fn context(&self) -> OpContext<'_> {
        OpContext {
            lexicon: &self.lexicon,
            pools: self.pools.as_ref(),
            stop_words: &self.stop_words,
        }
    }

    /// The variants of example `example_id`, whose augmented sides are
    /// `sides`, under run seed `run_seed`. Depends on nothing else (no
    /// other row, no global state), so the same example always gets the
    /// same variants and adding rows changes none of them.
    pub fn variants(&self, run_seed: u64, example_id: &str, sides: &[Seq]) -> Vec<Outcome> {
        let cfg = &self.config;
        let n = cfg.n_aug as u64;
        let mut out = Vec::new();
        let mut seen: Vec<Vec<String>> = vec![sides.iter().map(Seq::text).collect()];
        let mut emit = |v: Variant, out: &mut Vec<Outcome>| {
            if v.pending {
                return;
            }
            if let Some((reason, detail)) = v.failure.clone() {
                out.push(Outcome::Rejected(v, reason, detail));
                return;
            }
            let texts: Vec<String> = v.sides.iter().map(Seq::text).collect();
            if seen.contains(&texts) {
                out.push(Outcome::Identical { op: v.op });
                return;
            }
            seen.push(texts);
            out.push(self.judge(sides, v));
        };
        match cfg.combine {
            Combine::Each => {
                for (j, op) in cfg.ops.iter().enumerate() {
                    for v in 0..n {
                        let index = j as u64 * n + v;
                        let seed = variant_seed(run_seed, example_id, index);
                        let variant = self.make(sides, index, seed, &[(j, op)]);
                        emit(variant, &mut out);
                    }
                }
            }
            Combine::OneOf => {
                let weights: Vec<u64> = cfg
                    .ops
                    .iter()
                    .map(|o| (o.weight * 1_000_000.0).round() as u64)
                    .collect();
                for index in 0..n {
                    let seed = variant_seed(run_seed, example_id, index);
                    let j = Rng::new(op_seed(seed, usize::MAX)).weighted(&weights);
                    let variant = self.make(sides, index, seed, &[(j, &cfg.ops[j])]);
                    emit(variant, &mut out);
                }
            }
            Combine::Chain => {
                for index in 0..n {
                    let seed = variant_seed(run_seed, example_id, index);
                    let chosen: Vec<(usize, &OpConfig)> = cfg
                        .ops
                        .iter()
                        .enumerate()
                        .filter(|(j, op)| Rng::new(stream(seed, *j, 2)).chance(op.p))
                        .collect();
                    if chosen.is_empty() {
                        continue;
                    }
                    let variant = self.make(sides, index, seed, &chosen);
                    emit(variant, &mut out);
                }
            }
        }
        out
    }

    /// Applies `ops` in order to copies of `sides`.
    fn make(&self, sides: &[Seq], index: u64, seed: u64, ops: &[(usize, &OpConfig)]) -> Variant {
        let ctx = self.context();
        let mut new: Vec<Seq> = sides.to_vec();
        let mut params = Vec::with_capacity(ops.len());
        let mut total = 0;
        let (mut pending, mut failure) = (false, None);
        for &(j, op) in ops {
            let mut edits = Vec::with_capacity(new.len());
            for (s, seq) in new.iter_mut().enumerate() {
                if op.kind == OpKind::BackTranslation {
                    let Some(bt) = &self.back_translations else {
                        edits.push(0);
                        continue;
                    };
                    let text = seq.text();
                    match round_trip_lines(bt, j, &text, stream(seed, j, s as u64)) {
                        None => {
                            pending = true;
                            edits.push(0);
                        }
                        Some(back) if back.trim().is_empty() => {
                            failure.get_or_insert((
                                BACK_TRANSLATION_EMPTY,
                                "the round trip came back empty".to_string(),
                            ));
                            edits.push(0);
                        }
                        Some(back) if back.trim() == text.trim() => {
                            failure.get_or_insert((
                                BACK_TRANSLATION_IDENTICAL,
                                "the round trip came back unchanged".to_string(),
                            ));
                            edits.push(0);
                        }
                        Some(back) => {
                            *seq = self.seq_of(back.trim());
                            edits.push(1);
                        }
                    }
                    continue;
                }
                let mut rng = Rng::new(stream(seed, j, s as u64));
                edits.push(ops::apply(op, seq, &ctx, &mut rng));
            }
            total += edits.iter().sum::<usize>();
            let mut p = json!({
                "type": op.kind.name(),
                "rate": op.rate(),
                "min": op.min(),
                "max": op.max(),
                "edits": if edits.len() == 1 { json!(edits[0]) } else { json!(edits) },
            });
            if op.any_tone {
                p["any_tone"] = json!(true);
            }
            if let (OpKind::BackTranslation, Some(bt)) = (op.kind, &self.back_translations) {
                p["translators"] = bt.describe(j);
            }
            params.push(p);
        }
        let op = ops
            .iter()
            .map(|(_, o)| o.kind.name())
            .collect::<Vec<_>>()
            .join("+");
        Variant {
            index,
            seed,
            op,
            params: json!({ "ops": params, "variant": index }).to_string(),
            sides: new,
            edits: total,
            pending,
            failure,
        }
    }

    /// Keeps or rejects a variant by the similarity window.
    fn judge(&self, originals: &[Seq], v: Variant) -> Outcome {
        let q = &self.config.quality;
        let mut lowest = 1.0f64;
        let mut worst_rate = 0.0f64;
        for (a, b) in originals.iter().zip(&v.sides) {
            let (a, b) = (a.text(), b.text());
            if a == b {
                continue;
            }
            lowest = lowest.min(similarity(&a, &b));
            if q.max_edit_rate.is_some() {
                worst_rate = worst_rate.max(edit_rate(&a, &b));
            }
        }
        if lowest < q.min_similarity {
            let detail = format!("similarity {lowest:.3} < {}", q.min_similarity);
            return Outcome::Rejected(v, TOO_DIFFERENT, detail);
        }
        if lowest > q.max_similarity {
            let detail = format!("similarity {lowest:.3} > {}", q.max_similarity);
            return Outcome::Rejected(v, TOO_SIMILAR, detail);
        }
        if let Some(max) = q.max_edit_rate
            && worst_rate > max
        {
            let detail = format!("edit rate {worst_rate:.3} > {max}");
            return Outcome::Rejected(v, TOO_MANY_EDITS, detail);
        }
        Outcome::Kept(v)
    }
}

/// The seed of op `j` on side `s` of a variant (`s = 2`: a chain's coin).
fn stream(seed: u64, j: usize, s: u64) -> u64 {
    op_seed(op_seed(seed, j), s as usize)
}

/// Jaccard similarity of the character-bigram sets of `a` and `b`
/// (character sets for texts of one character).
pub fn similarity(a: &str, b: &str) -> f64 {
    fn grams(s: &str) -> FxHashSet<(char, char)> {
        let chars: Vec<char> = s.chars().filter(|c| !c.is_whitespace()).collect();
        if chars.len() == 1 {
            return std::iter::once((chars[0], '\0')).collect();
        }
        chars.windows(2).map(|w| (w[0], w[1])).collect()
    }
    let (ga, gb) = (grams(a), grams(b));
    if ga.is_empty() && gb.is_empty() {
        return 1.0;
    }
    let inter = ga.intersection(&gb).count();
    inter as f64 / (ga.len() + gb.len() - inter) as f64
}

/// Levenshtein distance in characters over the original's length.
pub fn edit_rate(original: &str, variant: &str) -> f64 {
    let a: Vec<char> = original.chars().collect();
    let b: Vec<char> = variant.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut diag = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let next = (row[j + 1] + 1)
                .min(row[j] + 1)
                .min(diag + usize::from(ca != cb));
            diag = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()] as f64 / a.len().max(1) as f64
}

/// The round trip of a text line by line (translators learn from
/// sentences and paragraphs, not whole pages), its lines joined again; `None`
/// while a line's round trip has not been made yet (every missing line is
/// noted). A one-line text is one request with the op's seed; line `k > 0`
/// draws with a seed derived from it.
fn round_trip_lines(
    bt: &crate::translate::BackTranslations,
    j: usize,
    text: &str,
    seed: u64,
) -> Option<String> {
    let mut out: Vec<String> = Vec::new();
    let mut complete = true;
    for (k, line) in text.lines().filter(|l| !l.trim().is_empty()).enumerate() {
        let line_seed = if k == 0 {
            seed
        } else {
            stream(seed, k, u64::MAX)
        };
        match bt.get(j, line.trim(), line_seed) {
            Some(back) => out.push(back.trim().to_string()),
            None => complete = false,
        }
    }
    complete.then(|| out.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn similarity_and_edit_rate() {
        assert_eq!(similarity("abc", "abc"), 1.0);
        assert_eq!(similarity("ab", "cd"), 0.0);
        assert!((similarity("我爱北京", "我爱上海") - 0.2).abs() < 1e-9);
        assert_eq!(edit_rate("kitten", "sitting"), 0.5);
        assert_eq!(edit_rate("", ""), 0.0);
    }
}
