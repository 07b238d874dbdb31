//! `ore-eval`: BLEU and ROUGE that agree with the reference implementations
//! (sacrebleu 2.6.0 and rouge-score 0.1.2) to 1e-6 and 1e-9, for Chinese and
//! English.
//!
//! - [`Bleu`]: corpus and sentence BLEU with sacrebleu's tokenizers (`13a`,
//!   `zh`, `char`, `none`), smoothings, effective order, multiple references
//!   and signature.
//! - [`Rouge`]: ROUGE-1/2/L with rouge-score's default tokenizer (and its
//!   Porter stemmer) or a character tokenizer for Chinese, mean and bootstrap
//!   aggregation.
//! - [`evaluate`] and [`per_example`]: both metrics at once, as `ore metrics`
//!   and `ore eval` report them; [`paired_bootstrap`] compares two systems.
//! - [`ner`]: entity-level precision, recall and F1 of tag sequences
//!   ([`ner::score`], [`EntityScores`]) equal to seqeval 1.2.2's default mode.
//!
//! ```
//! use ore_eval::{EvalConfig, Lang, evaluate};
//!
//! let hyps = ["我们今天去公园散步。"];
//! let refs = vec![vec!["我们今天去公园。"]];
//! let report = evaluate(&EvalConfig::for_lang(Lang::Zh), &hyps, &refs)?;
//! assert!(report.bleu.score > 50.0);
//! assert_eq!(report.bleu.signature, "nrefs:1|case:mixed|eff:no|tok:zh|smooth:exp|version:2.6.0");
//! assert!((report.rouge1.recall - 1.0).abs() < 1e-12);
//! # Ok::<(), ore_eval::BleuError>(())
//! ```

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

pub mod bleu;
pub mod ner;
mod rng;
pub mod rouge;
pub mod significance;
mod text;

pub use bleu::{Bleu, BleuConfig, BleuError, BleuScore, BleuStats, BleuTokenize, Smooth};
pub use ner::{Chunk, EntityScores, LabelScores, NerError};
pub use rouge::{Rouge, RougeScores, RougeTokenizer, Score};
pub use significance::{PairedBootstrap, paired_bootstrap};

/// The language of the texts, which picks the default tokenizers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Lang {
    Zh,
    En,
}

impl std::str::FromStr for Lang {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "zh" => Ok(Lang::Zh),
            "en" => Ok(Lang::En),
            other => Err(format!("unknown language `{other}` (expected zh or en)")),
        }
    }
}

/// BLEU and ROUGE settings together.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalConfig {
    pub bleu: BleuConfig,
    pub rouge: RougeTokenizer,
}

impl EvalConfig {
    /// `zh`: BLEU tokenizer `zh`, ROUGE over characters.
    /// `en`: BLEU tokenizer `13a`, rouge-score's default tokenizer.
    pub fn for_lang(lang: Lang) -> Self {
        match lang {
            Lang::Zh => Self {
                bleu: BleuConfig {
                    tokenize: BleuTokenize::Zh,
                    ..BleuConfig::default()
                },
                rouge: RougeTokenizer::Chars,
            },
            Lang::En => Self {
                bleu: BleuConfig::default(),
                rouge: RougeTokenizer::Default { stem: false },
            },
        }
    }
}

/// Corpus BLEU as reported by `ore metrics --json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BleuReport {
    pub score: f64,
    pub bp: f64,
    pub precisions: Vec<f64>,
    pub sys_len: u64,
    pub ref_len: u64,
    pub signature: String,
}

/// Corpus BLEU and mean ROUGE of a system.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub bleu: BleuReport,
    pub rouge1: Score,
    pub rouge2: Score,
    #[serde(rename = "rougeL")]
    pub rouge_l: Score,
}

/// Scores of one hypothesis: sentence BLEU (sacrebleu's `sentence_bleu`,
/// effective order) and ROUGE F1.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ExampleScores {
    pub bleu: f64,
    pub rouge1: f64,
    pub rouge2: f64,
    #[serde(rename = "rougeL")]
    pub rouge_l: f64,
}

fn check_lengths<R>(hyps: usize, references: &[Vec<R>]) -> Result<(), BleuError> {
    if references.is_empty() {
        return Err(BleuError::NoReferences);
    }
    for (set, refs) in references.iter().enumerate() {
        if refs.len() != hyps {
            return Err(BleuError::LengthMismatch {
                hyps,
                set,
                refs: refs.len(),
            });
        }
    }
    Ok(())
}

/// ROUGE of every pair (the best reference per type when there are several).
pub fn rouge_scores<H: AsRef<str> + Sync, R: AsRef<str> + Sync>(
    tokenizer: RougeTokenizer,
    hypotheses: &[H],
    references: &[Vec<R>],
) -> Result<Vec<RougeScores>, BleuError> {
    check_lengths(hypotheses.len(), references)?;
    let rouge = Rouge::new(tokenizer);
    Ok(hypotheses
        .par_iter()
        .enumerate()
        .with_min_len(256)
        .map(|(i, hyp)| {
            let targets: Vec<&str> = references.iter().map(|set| set[i].as_ref()).collect();
            if targets.len() == 1 {
                rouge.score(targets[0], hyp.as_ref())
            } else {
                rouge.score_multi(&targets, hyp.as_ref())
            }
        })
        .collect())
}

/// Corpus BLEU and mean ROUGE. `references` holds one or more reference
/// sets, each as long as `hypotheses`.
pub fn evaluate<H: AsRef<str> + Sync, R: AsRef<str> + Sync>(
    config: &EvalConfig,
    hypotheses: &[H],
    references: &[Vec<R>],
) -> Result<Report, BleuError> {
    let bleu = Bleu::new(config.bleu.clone());
    let score = bleu.corpus_score(hypotheses, references)?;
    let rouge = rouge::mean(&rouge_scores(config.rouge, hypotheses, references)?);
    Ok(Report {
        bleu: BleuReport {
            score: score.score,
            bp: score.bp,
            precisions: score.precisions,
            sys_len: score.sys_len,
            ref_len: score.ref_len,
            signature: bleu.signature(references.len()),
        },
        rouge1: rouge.rouge1,
        rouge2: rouge.rouge2,
        rouge_l: rouge.rouge_l,
    })
}

/// Per-hypothesis scores, in input order.
pub fn per_example<H: AsRef<str> + Sync, R: AsRef<str> + Sync>(
    config: &EvalConfig,
    hypotheses: &[H],
    references: &[Vec<R>],
) -> Result<Vec<ExampleScores>, BleuError> {
    let sentence = Bleu::new(BleuConfig {
        effective_order: true,
        ..config.bleu.clone()
    });
    let stats = sentence.corpus_stats(hypotheses, references)?;
    let rouge = rouge_scores(config.rouge, hypotheses, references)?;
    Ok(stats
        .iter()
        .zip(rouge)
        .map(|(s, r)| ExampleScores {
            bleu: sentence.score_stats(s).score,
            rouge1: r.rouge1.fmeasure,
            rouge2: r.rouge2.fmeasure,
            rouge_l: r.rouge_l.fmeasure,
        })
        .collect())
}

/// Paired bootstrap of corpus BLEU: `system` against `baseline` on the same
/// references (sacrebleu's `--paired-bs`, 1000 resamples and seed 12345 by
/// default there).
pub fn paired_bootstrap_bleu<H: AsRef<str> + Sync, R: AsRef<str> + Sync>(
    config: &BleuConfig,
    baseline: &[H],
    system: &[H],
    references: &[Vec<R>],
    n_samples: usize,
    seed: u64,
) -> Result<PairedBootstrap, BleuError> {
    let bleu = Bleu::new(config.clone());
    let base_stats = bleu.corpus_stats(baseline, references)?;
    let sys_stats = bleu.corpus_stats(system, references)?;
    let order = config.max_order;
    let corpus = |stats: &[BleuStats], idx: &[usize]| {
        let mut sum = bleu::sum_stats(&[], order);
        for &i in idx {
            sum.add(&stats[i]);
        }
        bleu.score_stats(&sum).score
    };
    Ok(paired_bootstrap(baseline.len(), n_samples, seed, |idx| {
        (corpus(&base_stats, idx), corpus(&sys_stats, idx))
    }))
}
