//! BLEU as sacrebleu 2.6.0 computes it: corpus and sentence scores, the
//! `exp`, `floor`, `add-k` and `none` smoothings, effective order, several
//! references per hypothesis, and sacrebleu's signature string.

use std::fmt;
use std::hash::Hash;

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

pub mod tokenize;

pub use tokenize::BleuTokenize;

use crate::text::{intern, py_rstrip, py_split};

/// The sacrebleu release whose numbers ore's BLEU reproduces; it is written
/// in signatures so that they compare equal to sacrebleu's own.
pub const SACREBLEU_VERSION: &str = "2.6.0";

/// Smoothing of zero n-gram precisions (Chen and Cherry, 2014).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "method", content = "value", rename_all = "kebab-case")]
pub enum Smooth {
    /// No smoothing: any zero precision makes BLEU zero.
    None,
    /// A zero count becomes `value` (default 0.1).
    Floor(f64),
    /// `value` (default 1) is added to counts and totals of n > 1.
    AddK(f64),
    /// NIST geometric smoothing (mteval-v13a); sacrebleu's default.
    Exp,
}

impl Smooth {
    fn signature(self) -> String {
        match self {
            Smooth::None => "none".into(),
            Smooth::Exp => "exp".into(),
            Smooth::Floor(v) => format!("floor[{v:.2}]"),
            Smooth::AddK(v) => format!("add-k[{v:.2}]"),
        }
    }
}

/// BLEU settings. The default is sacrebleu's `corpus_bleu`: order 4,
/// `13a`, mixed case, `exp` smoothing, no effective order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BleuConfig {
    pub tokenize: BleuTokenize,
    pub lowercase: bool,
    pub smooth: Smooth,
    pub max_order: usize,
    /// Leave out orders with no n-grams in the hypothesis (sentence BLEU).
    pub effective_order: bool,
}

impl Default for BleuConfig {
    fn default() -> Self {
        Self {
            tokenize: BleuTokenize::Thirteen,
            lowercase: false,
            smooth: Smooth::Exp,
            max_order: 4,
            effective_order: false,
        }
    }
}

impl BleuConfig {
    /// Settings of sacrebleu's `sentence_bleu`: as the corpus default but
    /// with effective order.
    pub fn sentence(tokenize: BleuTokenize) -> Self {
        Self {
            tokenize,
            effective_order: true,
            ..Self::default()
        }
    }
}

/// Sufficient statistics of one segment (or a sum over segments).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BleuStats {
    pub sys_len: u64,
    pub ref_len: u64,
    /// Clipped matches per order.
    pub correct: Vec<u64>,
    /// Hypothesis n-grams per order.
    pub total: Vec<u64>,
}

impl BleuStats {
    fn zero(order: usize) -> Self {
        Self {
            sys_len: 0,
            ref_len: 0,
            correct: vec![0; order],
            total: vec![0; order],
        }
    }

    /// Adds another segment's statistics.
    pub fn add(&mut self, other: &BleuStats) {
        self.sys_len += other.sys_len;
        self.ref_len += other.ref_len;
        for (a, b) in self.correct.iter_mut().zip(&other.correct) {
            *a += b;
        }
        for (a, b) in self.total.iter_mut().zip(&other.total) {
            *a += b;
        }
    }
}

/// A BLEU score with everything sacrebleu reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BleuScore {
    /// 0–100.
    pub score: f64,
    pub bp: f64,
    /// Per-order precisions, 0–100.
    pub precisions: Vec<f64>,
    pub counts: Vec<u64>,
    pub totals: Vec<u64>,
    pub sys_len: u64,
    pub ref_len: u64,
}

impl fmt::Display for BleuScore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let precisions: Vec<String> = self.precisions.iter().map(|p| format!("{p:.1}")).collect();
        let ratio = if self.ref_len > 0 {
            self.sys_len as f64 / self.ref_len as f64
        } else {
            0.0
        };
        write!(
            f,
            "BLEU = {:.2} {} (BP = {:.3} ratio = {ratio:.3} hyp_len = {} ref_len = {})",
            self.score,
            precisions.join("/"),
            self.bp,
            self.sys_len,
            self.ref_len
        )
    }
}

/// A BLEU scorer for one configuration.
#[derive(Debug, Clone, Default)]
pub struct Bleu {
    config: BleuConfig,
}

/// Why a corpus cannot be scored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BleuError {
    #[error("{hyps} hypotheses but reference set {set} has {refs} lines")]
    LengthMismatch {
        hyps: usize,
        set: usize,
        refs: usize,
    },
    #[error("no reference sets given")]
    NoReferences,
    #[error("max_order must be at least 1")]
    ZeroOrder,
}

impl Bleu {
    pub fn new(config: BleuConfig) -> Self {
        Self { config }
    }

    pub fn config(&self) -> &BleuConfig {
        &self.config
    }

    fn preprocess(&self, segment: &str) -> String {
        let segment = py_rstrip(segment);
        if self.config.lowercase {
            self.config.tokenize.apply(&segment.to_lowercase())
        } else {
            self.config.tokenize.apply(segment)
        }
    }

    /// Statistics of one hypothesis against its references.
    pub fn segment_stats(&self, hypothesis: &str, references: &[&str]) -> BleuStats {
        let order = self.config.max_order;
        let hyp = self.preprocess(hypothesis);
        let refs: Vec<String> = references.iter().map(|r| self.preprocess(r)).collect();
        // Tokens become small integers so that n-grams hash as short slices
        // of u32 rather than as strings.
        let mut vocab: FxHashMap<&str, u32> = FxHashMap::default();
        let hyp_ids = intern(&mut vocab, py_split(&hyp));
        let ref_ids: Vec<Vec<u32>> = refs
            .iter()
            .map(|r| intern(&mut vocab, py_split(r)))
            .collect();

        // With up to 4 tokens of fewer than 2^16 kinds, an n-gram packs into
        // one u64 and hashes in a single multiply; otherwise the id slice is
        // the key.
        if order <= 4 && vocab.len() < 0xFFFF {
            let pack = |gram: &[u32]| {
                gram.iter()
                    .fold(0u64, |key, &id| (key << 16) | u64::from(id + 1))
            };
            segment_stats(&hyp_ids, &ref_ids, order, pack)
        } else {
            segment_stats(&hyp_ids, &ref_ids, order, |gram: &[u32]| gram.to_vec())
        }
    }

    /// The score from summed statistics (sacrebleu's `compute_bleu`).
    pub fn score_stats(&self, stats: &BleuStats) -> BleuScore {
        let order = self.config.max_order;
        let (sys_len, ref_len) = (stats.sys_len, stats.ref_len);
        let bp = if sys_len < ref_len {
            if sys_len > 0 {
                (1.0 - ref_len as f64 / sys_len as f64).exp()
            } else {
                0.0
            }
        } else {
            1.0
        };
        let mut precisions = vec![0.0; order];
        let base = BleuScore {
            score: 0.0,
            bp,
            precisions: precisions.clone(),
            counts: stats.correct.clone(),
            totals: stats.total.clone(),
            sys_len,
            ref_len,
        };
        if stats.correct.iter().all(|&c| c == 0) {
            return base;
        }
        let mut correct: Vec<f64> = stats.correct.iter().map(|&c| c as f64).collect();
        let mut total: Vec<f64> = stats.total.iter().map(|&t| t as f64).collect();
        let mut smooth_mteval = 1.0;
        let mut eff_order = order;
        for n in 1..=order {
            if let Smooth::AddK(k) = self.config.smooth
                && n > 1
            {
                correct[n - 1] += k;
                total[n - 1] += k;
            }
            if total[n - 1] == 0.0 {
                break;
            }
            if self.config.effective_order {
                eff_order = n;
            }
            if correct[n - 1] == 0.0 {
                match self.config.smooth {
                    Smooth::Exp => {
                        smooth_mteval *= 2.0;
                        precisions[n - 1] = 100.0 / (smooth_mteval * total[n - 1]);
                    }
                    Smooth::Floor(v) => precisions[n - 1] = 100.0 * v / total[n - 1],
                    Smooth::None | Smooth::AddK(_) => {}
                }
            } else {
                precisions[n - 1] = 100.0 * correct[n - 1] / total[n - 1];
            }
        }
        let log_sum: f64 = precisions[..eff_order]
            .iter()
            .map(|&p| if p == 0.0 { -9_999_999_999.0 } else { p.ln() })
            .sum();
        BleuScore {
            score: bp * (log_sum / eff_order as f64).exp(),
            precisions,
            ..base
        }
    }

    /// Per-segment statistics of a corpus. `references` holds one or more
    /// reference sets, each as long as `hypotheses`.
    pub fn corpus_stats<H: AsRef<str> + Sync, R: AsRef<str> + Sync>(
        &self,
        hypotheses: &[H],
        references: &[Vec<R>],
    ) -> Result<Vec<BleuStats>, BleuError> {
        use rayon::prelude::*;
        if self.config.max_order == 0 {
            return Err(BleuError::ZeroOrder);
        }
        if references.is_empty() {
            return Err(BleuError::NoReferences);
        }
        for (set, refs) in references.iter().enumerate() {
            if refs.len() != hypotheses.len() {
                return Err(BleuError::LengthMismatch {
                    hyps: hypotheses.len(),
                    set,
                    refs: refs.len(),
                });
            }
        }
        Ok(hypotheses
            .par_iter()
            .enumerate()
            .with_min_len(256)
            .map(|(i, hyp)| {
                let refs: Vec<&str> = references.iter().map(|set| set[i].as_ref()).collect();
                self.segment_stats(hyp.as_ref(), &refs)
            })
            .collect())
    }

    /// Corpus BLEU: statistics summed over segments, then scored.
    pub fn corpus_score<H: AsRef<str> + Sync, R: AsRef<str> + Sync>(
        &self,
        hypotheses: &[H],
        references: &[Vec<R>],
    ) -> Result<BleuScore, BleuError> {
        let stats = self.corpus_stats(hypotheses, references)?;
        Ok(self.score_stats(&sum_stats(&stats, self.config.max_order)))
    }

    /// BLEU of one hypothesis.
    pub fn sentence_score(&self, hypothesis: &str, references: &[&str]) -> BleuScore {
        self.score_stats(&self.segment_stats(hypothesis, references))
    }

    /// sacrebleu's signature, e.g.
    /// `nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0`.
    pub fn signature(&self, nrefs: usize) -> String {
        let c = &self.config;
        format!(
            "nrefs:{nrefs}|case:{}|eff:{}|tok:{}|smooth:{}|version:{SACREBLEU_VERSION}",
            if c.lowercase { "lc" } else { "mixed" },
            if c.effective_order { "yes" } else { "no" },
            c.tokenize.name(),
            c.smooth.signature(),
        )
    }
}

/// Counts of every n-gram, 1 ≤ n ≤ `order`, under `key`.
fn ngram_counts<K: Hash + Eq>(
    tokens: &[u32],
    order: usize,
    key: &impl Fn(&[u32]) -> K,
) -> FxHashMap<K, (usize, u64)> {
    let mut counts: FxHashMap<K, (usize, u64)> =
        FxHashMap::with_capacity_and_hasher(tokens.len() * order, Default::default());
    for n in 1..=order {
        for gram in tokens.windows(n) {
            counts.entry(key(gram)).or_insert((n, 0)).1 += 1;
        }
    }
    counts
}

/// Clipped matches and totals of a hypothesis against its references.
fn segment_stats<K: Hash + Eq>(
    hyp: &[u32],
    refs: &[Vec<u32>],
    order: usize,
    key: impl Fn(&[u32]) -> K,
) -> BleuStats {
    // Each n-gram's count, the most any one reference holds.
    let mut ref_ngrams: FxHashMap<K, (usize, u64)> = FxHashMap::default();
    for (i, tokens) in refs.iter().enumerate() {
        let own = ngram_counts(tokens, order, &key);
        if i == 0 {
            ref_ngrams = own;
            continue;
        }
        for (gram, (n, count)) in own {
            let best = ref_ngrams.entry(gram).or_insert((n, 0));
            best.1 = best.1.max(count);
        }
    }
    let mut stats = BleuStats::zero(order);
    stats.sys_len = hyp.len() as u64;
    stats.ref_len = closest_ref_len(stats.sys_len, refs.iter().map(|t| t.len() as u64));
    for (gram, (n, count)) in ngram_counts(hyp, order, &key) {
        stats.total[n - 1] += count;
        if let Some(&(_, r)) = ref_ngrams.get(&gram) {
            stats.correct[n - 1] += count.min(r);
        }
    }
    stats
}

/// Sums segment statistics.
pub fn sum_stats(stats: &[BleuStats], order: usize) -> BleuStats {
    let mut sum = BleuStats::zero(order);
    for s in stats {
        sum.add(s);
    }
    sum
}

/// The reference length closest to the hypothesis length; ties go to the
/// shorter reference.
fn closest_ref_len(hyp_len: u64, ref_lens: impl Iterator<Item = u64>) -> u64 {
    let mut best: Option<(u64, u64)> = None;
    for len in ref_lens {
        let diff = hyp_len.abs_diff(len);
        best = match best {
            None => Some((diff, len)),
            Some((d, l)) if diff < d || (diff == d && len < l) => Some((diff, len)),
            keep => keep,
        };
    }
    best.map_or(0, |(_, len)| len)
}

#[cfg(test)]
mod tests;
