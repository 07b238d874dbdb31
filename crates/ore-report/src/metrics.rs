//! Diversity measures: distinct-n, type-token ratio and self-BLEU.
//!
//! Distinct-n (Li et al., 2016) is the number of distinct n-grams over the
//! number of n-grams of a whole corpus, n-grams taken within each row. The
//! type-token ratio is per row (distinct units over units), averaged over
//! rows: distinct-1 says how varied the corpus is, the TTR how repetitive
//! each text is. Units are hashed (64-bit XXH3), so the sets stay small.

use ore_eval::{Bleu, BleuConfig, BleuTokenize};
use rustc_hash::FxHashSet;
use serde::Serialize;
use xxhash_rust::xxh3::xxh3_64;

/// Whether `c` is a CJK ideograph, kana or hangul syllable.
pub fn is_cjk(c: char) -> bool {
    matches!(c,
        '\u{3040}'..='\u{30ff}'
        | '\u{3400}'..='\u{4dbf}'
        | '\u{4e00}'..='\u{9fff}'
        | '\u{ac00}'..='\u{d7af}'
        | '\u{f900}'..='\u{faff}'
        | '\u{20000}'..='\u{2fa1f}')
}

/// Whether at least a third of the non-space characters of `text` are CJK:
/// such text is measured in characters, other text in words.
pub fn mostly_cjk(text: &str) -> bool {
    let (mut cjk, mut all) = (0usize, 0usize);
    for c in text.chars().filter(|c| !c.is_whitespace()) {
        all += 1;
        cjk += usize::from(is_cjk(c));
    }
    all > 0 && cjk * 3 >= all
}

/// The units of a text: its non-space characters when `chars`, else its
/// whitespace-separated words.
pub fn units(text: &str, chars: bool) -> Vec<&str> {
    if chars {
        text.char_indices()
            .filter(|(_, c)| !c.is_whitespace())
            .map(|(i, c)| &text[i..i + c.len_utf8()])
            .collect()
    } else {
        text.split_whitespace().collect()
    }
}

/// Distinct-1, distinct-2 and the mean per-row TTR of a stream of rows.
#[derive(Debug, Default, Clone)]
pub struct Diversity {
    rows: u64,
    unigrams: u64,
    bigrams: u64,
    types: FxHashSet<u64>,
    bigram_types: FxHashSet<u64>,
    ttr_sum: f64,
    ttr_rows: u64,
}

/// The figures of a [`Diversity`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DiversityFigures {
    pub rows: u64,
    pub tokens: u64,
    pub types: u64,
    pub distinct_1: f64,
    pub distinct_2: f64,
    /// Mean over rows with at least one unit.
    pub ttr: f64,
}

impl Diversity {
    /// Adds one row's units.
    pub fn add<'a>(&mut self, units: impl IntoIterator<Item = &'a str>) {
        self.rows += 1;
        let mut row: Vec<u64> = units.into_iter().map(|u| xxh3_64(u.as_bytes())).collect();
        if row.is_empty() {
            return;
        }
        self.unigrams += row.len() as u64;
        self.bigrams += row.len() as u64 - 1;
        for pair in row.windows(2) {
            let mut key = [0u8; 16];
            key[..8].copy_from_slice(&pair[0].to_le_bytes());
            key[8..].copy_from_slice(&pair[1].to_le_bytes());
            self.bigram_types.insert(xxh3_64(&key));
        }
        self.types.extend(row.iter().copied());
        let n = row.len();
        row.sort_unstable();
        row.dedup();
        self.ttr_sum += row.len() as f64 / n as f64;
        self.ttr_rows += 1;
    }

    pub fn figures(&self) -> DiversityFigures {
        let ratio = |a: usize, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
        DiversityFigures {
            rows: self.rows,
            tokens: self.unigrams,
            types: self.types.len() as u64,
            distinct_1: ratio(self.types.len(), self.unigrams),
            distinct_2: ratio(self.bigram_types.len(), self.bigrams),
            ttr: if self.ttr_rows == 0 {
                0.0
            } else {
                self.ttr_sum / self.ttr_rows as f64
            },
        }
    }
}

/// Sentence BLEU (sacrebleu's `sentence_bleu`: effective order, `exp`
/// smoothing) with the `zh` tokenizer for Chinese, `13a` otherwise.
pub fn sentence_bleu(chinese: bool) -> Bleu {
    Bleu::new(BleuConfig::sentence(if chinese {
        BleuTokenize::Zh
    } else {
        BleuTokenize::Thirteen
    }))
}

/// Self-BLEU of member `i` of a family (a parent and its variants): its
/// sentence BLEU against every other member as references. `None` for a
/// family of one.
pub fn self_bleu(bleu: &Bleu, family: &[&str], i: usize) -> Option<f64> {
    let refs: Vec<&str> = family
        .iter()
        .enumerate()
        .filter(|&(j, _)| j != i)
        .map(|(_, s)| *s)
        .collect();
    if refs.is_empty() {
        return None;
    }
    Some(bleu.sentence_score(family[i], &refs).score)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn figures(rows: &[&str]) -> DiversityFigures {
        let mut d = Diversity::default();
        for r in rows {
            d.add(units(r, false));
        }
        d.figures()
    }

    #[test]
    fn distinct_n_and_ttr_by_hand() {
        // Tokens: a b a | a b c  -> 6 tokens, 3 types; bigrams: ab ba | ab bc -> 4, 3 distinct.
        let f = figures(&["a b a", "a b c"]);
        assert_eq!((f.rows, f.tokens, f.types), (2, 6, 3));
        assert!((f.distinct_1 - 0.5).abs() < 1e-12);
        assert!((f.distinct_2 - 0.75).abs() < 1e-12);
        // Row TTRs 2/3 and 3/3.
        assert!((f.ttr - (2.0 / 3.0 + 1.0) / 2.0).abs() < 1e-12);
    }

    #[test]
    fn empty_rows_count_but_do_not_divide_by_zero() {
        let f = figures(&["", "x"]);
        assert_eq!((f.rows, f.tokens), (2, 1));
        assert_eq!(f.distinct_2, 0.0);
        assert_eq!(f.ttr, 1.0);
        assert_eq!(figures(&[]).distinct_1, 0.0);
    }

    #[test]
    fn chinese_is_measured_in_characters() {
        assert!(mostly_cjk("今天 天气 很好 ok"));
        assert!(!mostly_cjk("LibreOffice Writer 的"));
        assert_eq!(units("今天 好", true), ["今", "天", "好"]);
    }

    #[test]
    fn self_bleu_by_hand() {
        let bleu = sentence_bleu(false);
        // "a b c e" against "a b c d": precisions 3/4, 2/3, 1/2 and 0/1,
        // which `exp` smoothing makes 100 / (2 * 1) %; brevity penalty 1:
        // (0.75 * 2/3 * 0.5 * 0.5)^(1/4) = 0.125^(1/4).
        let got = self_bleu(&bleu, &["a b c d", "a b c e"], 1).expect("two members");
        assert!((got - 100.0 * 0.125f64.powf(0.25)).abs() < 1e-9, "{got}");
        // Identical members: 100; one member: none.
        assert!((self_bleu(&bleu, &["x y z w", "x y z w"], 0).expect("two") - 100.0).abs() < 1e-9);
        assert_eq!(self_bleu(&bleu, &["x"], 0), None);
        // The zh tokenizer splits Chinese into characters.
        let zh = sentence_bleu(true);
        assert!(
            (self_bleu(&zh, &["我们去公园", "我们去公园"], 1).expect("two") - 100.0).abs() < 1e-9
        );
    }
}
