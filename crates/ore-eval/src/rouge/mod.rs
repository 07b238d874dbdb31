//! ROUGE-1, ROUGE-2 and ROUGE-L as rouge-score 0.1.2 computes them, with its
//! default tokenizer (optionally Porter-stemmed) for English and a character
//! tokenizer for Chinese; mean aggregation and bootstrap confidence
//! intervals.

use std::borrow::Cow;

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

pub mod porter;

use crate::text::{intern, is_py_space};

/// How ROUGE splits text into tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RougeTokenizer {
    /// rouge-score's default: lowercase, every run of `[a-z0-9]` a token
    /// (so non-ASCII text, Chinese included, is dropped), words longer than
    /// three letters optionally Porter-stemmed.
    Default { stem: bool },
    /// Every non-whitespace character a token: ROUGE for Chinese.
    Chars,
}

impl RougeTokenizer {
    pub fn tokenize(self, text: &str) -> Vec<String> {
        match self {
            RougeTokenizer::Default { stem } => {
                words(&lowercase(text), stem).map(Cow::into_owned).collect()
            }
            RougeTokenizer::Chars => text
                .chars()
                .filter(|&c| !is_py_space(c))
                .map(String::from)
                .collect(),
        }
    }

    /// Target and prediction tokens as integers: characters by code point,
    /// words by an index shared by the two sides.
    fn token_ids(self, target: &str, prediction: &str) -> (Vec<u32>, Vec<u32>) {
        match self {
            RougeTokenizer::Chars => {
                let ids = |text: &str| {
                    text.chars()
                        .filter(|&c| !is_py_space(c))
                        .map(u32::from)
                        .collect()
                };
                (ids(target), ids(prediction))
            }
            RougeTokenizer::Default { stem } => {
                let (t_lower, p_lower) = (lowercase(target), lowercase(prediction));
                let t_words: Vec<Cow<'_, str>> = words(&t_lower, stem).collect();
                let p_words: Vec<Cow<'_, str>> = words(&p_lower, stem).collect();
                let mut vocab: FxHashMap<&str, u32> = FxHashMap::default();
                let t = intern(&mut vocab, t_words.iter().map(AsRef::as_ref));
                let p = intern(&mut vocab, p_words.iter().map(AsRef::as_ref));
                (t, p)
            }
        }
    }
}

/// Python's `str.lower()`, with a fast path for ASCII.
fn lowercase(text: &str) -> Cow<'_, str> {
    if text.is_ascii() {
        if text.bytes().any(|b| b.is_ascii_uppercase()) {
            Cow::Owned(text.to_ascii_lowercase())
        } else {
            Cow::Borrowed(text)
        }
    } else {
        Cow::Owned(text.to_lowercase())
    }
}

/// rouge-score's tokens of lowercased text: runs of `[a-z0-9]`, words
/// longer than three characters stemmed when asked.
fn words(lower: &str, stem: bool) -> impl Iterator<Item = Cow<'_, str>> {
    lower
        .split(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit()))
        .filter(|t| !t.is_empty())
        .map(move |t| {
            if stem && t.len() > 3 {
                Cow::Owned(porter::stem(t))
            } else {
                Cow::Borrowed(t)
            }
        })
        .filter(|t| !t.is_empty())
}

/// Precision, recall and F1 of one ROUGE type.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Score {
    #[serde(rename = "p")]
    pub precision: f64,
    #[serde(rename = "r")]
    pub recall: f64,
    #[serde(rename = "f")]
    pub fmeasure: f64,
}

impl Score {
    fn new(precision: f64, recall: f64) -> Self {
        let fmeasure = if precision + recall > 0.0 {
            2.0 * precision * recall / (precision + recall)
        } else {
            0.0
        };
        Self {
            precision,
            recall,
            fmeasure,
        }
    }
}

/// ROUGE-1, ROUGE-2 and ROUGE-L of one prediction.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct RougeScores {
    pub rouge1: Score,
    pub rouge2: Score,
    #[serde(rename = "rougeL")]
    pub rouge_l: Score,
}

impl RougeScores {
    fn get(&self, k: usize) -> Score {
        [self.rouge1, self.rouge2, self.rouge_l][k]
    }
}

/// Computes ROUGE with one tokenizer.
#[derive(Debug, Clone, Copy)]
pub struct Rouge {
    tokenizer: RougeTokenizer,
}

impl Rouge {
    pub fn new(tokenizer: RougeTokenizer) -> Self {
        Self { tokenizer }
    }

    /// Scores `prediction` against `target` (rouge-score's argument order).
    pub fn score(&self, target: &str, prediction: &str) -> RougeScores {
        let (target, prediction) = self.tokenizer.token_ids(target, prediction);
        RougeScores {
            rouge1: ngram_score(&target, &prediction, 1),
            rouge2: ngram_score(&target, &prediction, 2),
            rouge_l: lcs_score(&target, &prediction),
        }
    }

    /// With several targets, each type takes the target with the best F1
    /// (the first on ties), as rouge-score's `score_multi`.
    pub fn score_multi(&self, targets: &[&str], prediction: &str) -> RougeScores {
        let all: Vec<RougeScores> = targets.iter().map(|t| self.score(t, prediction)).collect();
        let best = |k: usize| {
            all.iter()
                .map(|s| s.get(k))
                .fold(None, |best: Option<Score>, s| match best {
                    Some(b) if b.fmeasure >= s.fmeasure => Some(b),
                    _ => Some(s),
                })
                .unwrap_or_default()
        };
        RougeScores {
            rouge1: best(0),
            rouge2: best(1),
            rouge_l: best(2),
        }
    }
}

fn ngram_counts(tokens: &[u32], n: usize) -> FxHashMap<&[u32], u64> {
    let mut map: FxHashMap<&[u32], u64> = FxHashMap::default();
    if tokens.len() >= n {
        for gram in tokens.windows(n) {
            *map.entry(gram).or_default() += 1;
        }
    }
    map
}

fn ngram_score(target: &[u32], prediction: &[u32], n: usize) -> Score {
    let t = ngram_counts(target, n);
    let p = ngram_counts(prediction, n);
    let overlap: u64 = t
        .iter()
        .map(|(g, &c)| c.min(p.get(g).copied().unwrap_or(0)))
        .sum();
    let t_total: u64 = t.values().sum();
    let p_total: u64 = p.values().sum();
    Score::new(
        overlap as f64 / p_total.max(1) as f64,
        overlap as f64 / t_total.max(1) as f64,
    )
}

fn lcs_score(target: &[u32], prediction: &[u32]) -> Score {
    if target.is_empty() || prediction.is_empty() {
        return Score::default();
    }
    let mut prev = vec![0u32; prediction.len() + 1];
    let mut row = vec![0u32; prediction.len() + 1];
    for &t in target {
        for (j, &p) in prediction.iter().enumerate() {
            row[j + 1] = if t == p {
                prev[j] + 1
            } else {
                prev[j + 1].max(row[j])
            };
        }
        std::mem::swap(&mut prev, &mut row);
    }
    let lcs = f64::from(prev[prediction.len()]);
    Score::new(lcs / prediction.len() as f64, lcs / target.len() as f64)
}

/// The plain mean of each field over all pairs.
pub fn mean(scores: &[RougeScores]) -> RougeScores {
    let n = scores.len().max(1) as f64;
    let avg = |k: usize| {
        let (mut p, mut r, mut f) = (0.0, 0.0, 0.0);
        for s in scores {
            let x = s.get(k);
            p += x.precision;
            r += x.recall;
            f += x.fmeasure;
        }
        Score {
            precision: p / n,
            recall: r / n,
            fmeasure: f / n,
        }
    };
    RougeScores {
        rouge1: avg(0),
        rouge2: avg(1),
        rouge_l: avg(2),
    }
}

/// Low, mid and high bounds of a bootstrap interval.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    pub low: RougeScores,
    pub mid: RougeScores,
    pub high: RougeScores,
}

/// rouge-score's `BootstrapAggregator`: resample the pairs with replacement
/// `n_samples` times, take each resample's mean, and report the percentiles
/// `(1 - confidence) / 2`, 50 and `(1 + confidence) / 2` of those means
/// (numpy's linear interpolation). The resampling uses ore's seeded RNG, so
/// bounds agree with rouge-score's statistically, not digit for digit.
pub fn bootstrap(scores: &[RougeScores], n_samples: usize, confidence: f64, seed: u64) -> Interval {
    if scores.is_empty() || n_samples == 0 {
        return Interval::default();
    }
    let mut rng = crate::rng::SplitMix64::new(seed);
    let means: Vec<RougeScores> = (0..n_samples)
        .map(|_| {
            let sample: Vec<RougeScores> = (0..scores.len())
                .map(|_| scores[rng.below(scores.len() as u64) as usize])
                .collect();
            mean(&sample)
        })
        .collect();
    let delta = (1.0 - confidence) / 2.0;
    let at = |q: f64| {
        let pick = |k: usize, field: fn(&Score) -> f64| {
            let mut v: Vec<f64> = means.iter().map(|m| field(&m.get(k))).collect();
            crate::rng::percentile(&mut v, q)
        };
        let score = |k: usize| Score {
            precision: pick(k, |s| s.precision),
            recall: pick(k, |s| s.recall),
            fmeasure: pick(k, |s| s.fmeasure),
        };
        RougeScores {
            rouge1: score(0),
            rouge2: score(1),
            rouge_l: score(2),
        }
    };
    Interval {
        low: at(delta),
        mid: at(0.5),
        high: at(1.0 - delta),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) {
        assert!((a - b).abs() < 1e-12, "{a} != {b}");
    }

    #[test]
    fn default_tokenizer_drops_non_ascii_and_lowercases() {
        let t = RougeTokenizer::Default { stem: false };
        assert_eq!(
            t.tokenize("The Quick-brown fox's 2 中文 café"),
            ["the", "quick", "brown", "fox", "s", "2", "caf"]
        );
        let s = RougeTokenizer::Default { stem: true };
        assert_eq!(s.tokenize("running dogs ran"), ["run", "dog", "ran"]);
    }

    #[test]
    fn char_tokenizer_for_chinese() {
        assert_eq!(
            RougeTokenizer::Chars.tokenize("我 爱\u{3000}你a"),
            ["我", "爱", "你", "a"]
        );
    }

    #[test]
    fn rouge_score_readme_example() {
        // rouge-score's README: score('The quick brown fox jumps over the lazy dog',
        // 'The quick brown dog jumps on the log.')
        let r = Rouge::new(RougeTokenizer::Default { stem: false });
        let s = r.score(
            "The quick brown fox jumps over the lazy dog",
            "The quick brown dog jumps on the log.",
        );
        close(s.rouge1.precision, 6.0 / 8.0);
        close(s.rouge1.recall, 6.0 / 9.0);
        close(s.rouge_l.precision, 5.0 / 8.0);
        close(s.rouge_l.recall, 5.0 / 9.0);
    }

    #[test]
    fn empty_sides_score_zero() {
        let r = Rouge::new(RougeTokenizer::Chars);
        assert_eq!(r.score("", "文本"), RougeScores::default());
        assert_eq!(r.score("文本", ""), RougeScores::default());
    }

    #[test]
    fn bootstrap_brackets_the_mean() {
        let r = Rouge::new(RougeTokenizer::Chars);
        let pairs = [
            ("我们去公园", "我们去学校"),
            ("今天天气很好", "今天天气不好"),
            ("他很高兴", "她不高兴"),
        ];
        let scores: Vec<RougeScores> = pairs.iter().map(|(t, p)| r.score(t, p)).collect();
        let m = mean(&scores);
        let ci = bootstrap(&scores, 500, 0.95, 7);
        assert!(
            ci.low.rouge1.fmeasure <= m.rouge1.fmeasure
                && m.rouge1.fmeasure <= ci.high.rouge1.fmeasure
        );
        assert_eq!(ci, bootstrap(&scores, 500, 0.95, 7), "seeded");
    }
}
