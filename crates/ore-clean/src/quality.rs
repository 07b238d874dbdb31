//! Quality signals of a document and the rules that reject it, in the
//! spirit of the Gopher and C4 filters. Each rule has its own reason code.

use rustc_hash::{FxHashMap, FxHashSet};
use xxhash_rust::xxh3::xxh3_64;

use crate::config::QualityConfig;
use crate::error::{CleanError, Result};

/// The signals written as columns so thresholds can be tuned afterwards.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Signals {
    pub n_chars: u64,
    pub n_words: u64,
    pub n_lines: u64,
    /// CJK characters among letters (CJK + other alphabetic).
    pub cjk_ratio: f64,
    pub symbol_ratio: f64,
    pub digit_ratio: f64,
    /// Non-empty lines ending in punctuation.
    pub punct_end_ratio: f64,
    /// Characters in lines that occur more than once in the document.
    pub dup_line_frac: f64,
    /// Characters covered by n-grams (10 characters for CJK text, 4 words
    /// otherwise) that occur more than once.
    pub dup_ngram_frac: f64,
    pub bad_words: u64,
    /// Gopher: English stop words (`the`, `be`, `to`, `of`, `and`, `that`,
    /// `have`, `with`, any case, punctuation around them ignored).
    pub stop_words: u64,
    /// Gopher: mean word length in characters.
    pub mean_word_len: f64,
    /// Gopher: words with at least one letter.
    pub alpha_word_frac: f64,
    /// Gopher: non-empty lines starting with a bullet (`•`, `-`, `*`, …) …
    pub bullet_line_frac: f64,
    /// … and ending in an ellipsis (`...`, `…`).
    pub ellipsis_line_frac: f64,
    /// C4: occurrences of "lorem ipsum" (any case).
    pub lorem_ipsum: u64,
    /// CJK characters and letters (CJK included): the counts behind
    /// `cjk_ratio`, which also decide how the text is shingled.
    pub cjk_chars: u64,
    pub letters: u64,
}

impl Signals {
    /// Whether the text is shingled by characters (CJK at least 30% of its
    /// letters): [`ore_minhash::use_char_shingles`] from these counts.
    pub fn char_shingles(&self) -> bool {
        self.letters > 0 && self.cjk_chars * 10 >= self.letters * 3
    }
}

pub use ore_minhash::is_cjk;

/// CJK text is measured in characters and shingled by characters.
pub fn is_cjk_text(signals: &Signals) -> bool {
    signals.cjk_ratio >= 0.3
}

fn is_punct_end(c: char) -> bool {
    matches!(
        c,
        '.' | '!'
            | '?'
            | '"'
            | '\''
            | ')'
            | ':'
            | ';'
            | '。'
            | '！'
            | '？'
            | '”'
            | '’'
            | '）'
            | '」'
            | '』'
            | '…'
            | '：'
            | '；'
    )
}

/// Computes every signal of a (normalised) text.
pub fn signals(text: &str, bad_words: &FxHashSet<String>) -> Signals {
    let (mut chars, mut cjk, mut letters, mut digits, mut symbols) = (0u64, 0u64, 0u64, 0u64, 0u64);
    // Words for counting, built in the same pass: runs of other characters
    // between whitespace, and each CJK character alone; with their lengths
    // in characters.
    let mut ws: Vec<(&str, u32)> = Vec::new();
    // The open word: its start, length, and whether it has a letter.
    let mut word: Option<(usize, u32, bool)> = None;
    let mut alpha_words = 0u64;
    fn end_word<'t>(
        text: &'t str,
        ws: &mut Vec<(&'t str, u32)>,
        word: &mut Option<(usize, u32, bool)>,
        alpha_words: &mut u64,
        at: usize,
    ) {
        if let Some((start, n, alpha)) = word.take() {
            ws.push((&text[start..at], n));
            *alpha_words += u64::from(alpha);
        }
    }
    for (i, c) in text.char_indices() {
        chars += 1;
        if !c.is_ascii() && is_cjk(c) {
            cjk += 1;
            letters += 1;
            end_word(text, &mut ws, &mut word, &mut alpha_words, i);
            ws.push((&text[i..i + c.len_utf8()], 1));
            alpha_words += 1;
            continue;
        }
        // Whitespace, letter, digit: for ASCII the same classes as the
        // Unicode ones, without their tables.
        let (space, alphabetic, numeric) = if c.is_ascii() {
            (
                c.is_ascii_whitespace() || c == '\u{0B}',
                c.is_ascii_alphabetic(),
                c.is_ascii_digit(),
            )
        } else {
            (c.is_whitespace(), c.is_alphabetic(), c.is_numeric())
        };
        if alphabetic {
            letters += 1;
        } else if numeric {
            digits += 1;
        } else if !space && !is_punctuation(c) {
            symbols += 1;
        }
        if space {
            end_word(text, &mut ws, &mut word, &mut alpha_words, i);
        } else {
            match &mut word {
                Some((_, n, alpha)) => {
                    *n += 1;
                    *alpha |= alphabetic;
                }
                None => word = Some((i, 1, alphabetic)),
            }
        }
    }
    end_word(text, &mut ws, &mut word, &mut alpha_words, text.len());
    let ratio = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    // Non-empty trimmed lines with their lengths in characters.
    let lines: Vec<(&str, u64)> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| (l, l.chars().count() as u64))
        .collect();
    let punct_end = lines
        .iter()
        .filter(|(l, _)| l.chars().last().is_some_and(is_punct_end))
        .count() as u64;
    let bullets = lines
        .iter()
        .filter(|(l, _)| l.chars().next().is_some_and(is_bullet))
        .count() as u64;
    let ellipses = lines
        .iter()
        .filter(|(l, _)| l.ends_with("...") || l.ends_with('…'))
        .count() as u64;
    let stop_words = ws.iter().filter(|(w, _)| is_stop_word(w)).count() as u64;
    let word_chars: u64 = ws.iter().map(|&(_, n)| u64::from(n)).sum();
    let mut line_counts: FxHashMap<&str, u64> = FxHashMap::default();
    for (l, _) in &lines {
        *line_counts.entry(l).or_default() += 1;
    }
    let dup_line_chars: u64 = lines
        .iter()
        .filter(|(l, _)| line_counts[l] > 1)
        .map(|(_, n)| n)
        .sum();
    let total_line_chars: u64 = lines.iter().map(|(_, n)| n).sum();
    let cjk_ratio = ratio(cjk, letters);
    // A CJK "word" here is one character: compare runs of ten of them, about
    // as long as four English words.
    let n = if cjk_ratio >= 0.3 { 10 } else { 4 };
    let dup_ngram_frac = dup_ngram_fraction(&ws, n);
    let bad = if bad_words.is_empty() {
        0
    } else {
        ws.iter()
            .filter(|(w, _)| bad_words.contains(&w.to_lowercase()))
            .count() as u64
    };
    Signals {
        n_chars: chars,
        n_words: ws.len() as u64,
        n_lines: lines.len() as u64,
        cjk_ratio,
        symbol_ratio: ratio(symbols, chars),
        digit_ratio: ratio(digits, chars),
        punct_end_ratio: ratio(punct_end, lines.len() as u64),
        dup_line_frac: ratio(dup_line_chars, total_line_chars),
        dup_ngram_frac,
        bad_words: bad,
        stop_words,
        mean_word_len: ratio(word_chars, ws.len() as u64),
        alpha_word_frac: ratio(alpha_words, ws.len() as u64),
        bullet_line_frac: ratio(bullets, lines.len() as u64),
        ellipsis_line_frac: ratio(ellipses, lines.len() as u64),
        lorem_ipsum: count_ignore_case(text.as_bytes(), b"lorem ipsum"),
        cjk_chars: cjk,
        letters,
    }
}

/// Gopher's English stop words.
const STOP_WORDS: [&str; 8] = ["the", "be", "to", "of", "and", "that", "have", "with"];

/// Whether a word, without the punctuation around it, is a stop word.
fn is_stop_word(word: &str) -> bool {
    let w = word.trim_matches(|c: char| c.is_ascii_punctuation());
    (2..=4).contains(&w.len()) && STOP_WORDS.iter().any(|s| s.eq_ignore_ascii_case(w))
}

/// A list bullet at the start of a line.
fn is_bullet(c: char) -> bool {
    matches!(
        c,
        '•' | '‣' | '◦' | '▪' | '●' | '○' | '■' | '□' | '·' | '-' | '*' | '–'
    )
}

/// Occurrences of an ASCII `needle` in `haystack`, in any case.
fn count_ignore_case(haystack: &[u8], needle: &[u8]) -> u64 {
    let first = needle[0].to_ascii_lowercase();
    haystack
        .windows(needle.len())
        .filter(|w| w[0].to_ascii_lowercase() == first && w.eq_ignore_ascii_case(needle))
        .count() as u64
}

/// C4's terminal punctuation, with its Chinese forms and closing quotes.
fn is_terminal(c: char) -> bool {
    matches!(
        c,
        '.' | '!' | '?' | '"' | '。' | '！' | '？' | '”' | '’' | '」' | '』'
    )
}

/// Lines the C4 line rules removed from one text, by rule.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LinesDropped {
    pub javascript: u64,
    pub unterminated: u64,
    pub short: u64,
}

impl std::ops::AddAssign for LinesDropped {
    fn add_assign(&mut self, more: Self) {
        self.javascript += more.javascript;
        self.unterminated += more.unterminated;
        self.short += more.short;
    }
}

/// Words of a line, as [`signals`] counts them.
fn line_words(line: &str) -> u64 {
    line.split_whitespace()
        .map(|chunk| {
            let mut n = 0u64;
            let mut open = false;
            for c in chunk.chars() {
                if is_cjk(c) {
                    n += 1 + u64::from(open);
                    open = false;
                } else {
                    open = true;
                }
            }
            n + u64::from(open)
        })
        .sum()
}

/// Sentence punctuation, which does not count as a symbol (`#`, `$`, `|`,
/// `*`, arrows and the like do).
fn is_punctuation(c: char) -> bool {
    matches!(
        c,
        '.' | ','
            | ';'
            | ':'
            | '!'
            | '?'
            | '\''
            | '"'
            | '('
            | ')'
            | '-'
            | '…'
            | '—'
            | '–'
            | '，'
            | '。'
            | '、'
            | '；'
            | '：'
            | '！'
            | '？'
            | '“'
            | '”'
            | '‘'
            | '’'
            | '（'
            | '）'
            | '《'
            | '》'
            | '【'
            | '】'
            | '「'
            | '」'
            | '『'
            | '』'
            | '·'
            | '〈'
            | '〉'
    )
}

/// Fraction of word characters inside n-grams that occur more than once.
fn dup_ngram_fraction(words: &[(&str, u32)], n: usize) -> f64 {
    if words.len() < n {
        return 0.0;
    }
    // Each word is hashed once; an n-gram's hash is a polynomial in its
    // words' hashes, updated in O(1) as the window slides. Two different
    // n-grams share a hash with probability about 2^-64.
    const BASE: u64 = 0x9E37_79B9_7F4A_7C15;
    let word_hashes: Vec<u64> = words.iter().map(|(w, _)| xxh3_64(w.as_bytes())).collect();
    let top = (1..n).fold(1u64, |p, _| p.wrapping_mul(BASE));
    let mut h = word_hashes[..n]
        .iter()
        .fold(0u64, |h, &w| h.wrapping_mul(BASE).wrapping_add(w));
    let mut hashes = Vec::with_capacity(words.len() - n + 1);
    hashes.push(h);
    for i in n..words.len() {
        h = h
            .wrapping_sub(word_hashes[i - n].wrapping_mul(top))
            .wrapping_mul(BASE)
            .wrapping_add(word_hashes[i]);
        hashes.push(h);
    }
    let mut counts: FxHashMap<u64, u32> = FxHashMap::default();
    counts.reserve(hashes.len());
    for h in &hashes {
        *counts.entry(*h).or_default() += 1;
    }
    // Mark covered words through a difference array: +1 where a repeated
    // n-gram starts, -1 where it ends.
    let mut depth = vec![0i32; words.len() + 1];
    for (i, h) in hashes.iter().enumerate() {
        if counts[h] > 1 {
            depth[i] += 1;
            depth[i + n] -= 1;
        }
    }
    let (mut total, mut dup, mut open) = (0usize, 0usize, 0i32);
    for ((_, len), d) in words.iter().zip(&depth) {
        open += d;
        let len = *len as usize;
        total += len;
        if open > 0 {
            dup += len;
        }
    }
    if total == 0 {
        0.0
    } else {
        dup as f64 / total as f64
    }
}

/// The quality rules with their settings.
#[derive(Debug, Clone)]
pub struct QualityFilter {
    config: QualityConfig,
    bad_words: FxHashSet<String>,
}

impl QualityFilter {
    pub fn build(config: &QualityConfig) -> Result<Self> {
        let mut bad_words: FxHashSet<String> =
            config.bad_words.iter().map(|w| w.to_lowercase()).collect();
        for path in &config.bad_word_files {
            let text = std::fs::read_to_string(path).map_err(|e| CleanError::io(path, e))?;
            bad_words.extend(
                text.lines()
                    .map(str::trim)
                    .filter(|w| !w.is_empty())
                    .map(str::to_lowercase),
            );
        }
        Ok(Self {
            config: config.clone(),
            bad_words,
        })
    }

    pub fn signals(&self, text: &str) -> Signals {
        signals(text, &self.bad_words)
    }

    /// The first rule the document fails, as a reason code.
    pub fn check(&self, s: &Signals) -> Option<&'static str> {
        let c = &self.config;
        if is_cjk_text(s) {
            if s.n_chars < c.min_cjk_chars {
                return Some("too_short");
            }
        } else if s.n_words < c.min_words {
            return Some("too_short");
        }
        if s.n_chars > c.max_chars {
            return Some("too_long");
        }
        if c.min_cjk_ratio > 0.0 && s.cjk_ratio < c.min_cjk_ratio {
            return Some("low_cjk_ratio");
        }
        if s.symbol_ratio > c.max_symbol_ratio {
            return Some("symbol_ratio");
        }
        if s.digit_ratio > c.max_digit_ratio {
            return Some("digit_ratio");
        }
        if c.min_punct_end_ratio > 0.0 && s.punct_end_ratio < c.min_punct_end_ratio {
            return Some("few_punct_end_lines");
        }
        if s.dup_line_frac > c.max_dup_line_frac {
            return Some("duplicate_lines");
        }
        if s.dup_ngram_frac > c.max_dup_ngram_frac {
            return Some("duplicate_ngrams");
        }
        if !self.bad_words.is_empty() && s.bad_words > c.max_bad_words {
            return Some("bad_words");
        }
        if c.reject_lorem_ipsum && s.lorem_ipsum > 0 {
            return Some("lorem_ipsum");
        }
        if s.bullet_line_frac > c.max_bullet_line_frac {
            return Some("bullet_lines");
        }
        if s.ellipsis_line_frac > c.max_ellipsis_line_frac {
            return Some("ellipsis_lines");
        }
        if c.min_alpha_word_frac > 0.0 && s.n_words > 0 && s.alpha_word_frac < c.min_alpha_word_frac
        {
            return Some("few_alpha_words");
        }
        // The word rules of Gopher are for English: CJK text is exempt.
        if !is_cjk_text(s) {
            if s.stop_words < c.min_stop_words {
                return Some("few_stop_words");
            }
            if (c.min_mean_word_len > 0.0 && s.mean_word_len < c.min_mean_word_len)
                || (c.max_mean_word_len > 0.0 && s.mean_word_len > c.max_mean_word_len)
            {
                return Some("mean_word_length");
            }
        }
        None
    }

    /// Whether any C4 line rule is on.
    pub fn drops_lines(&self) -> bool {
        let c = &self.config;
        c.drop_javascript_lines || c.drop_unterminated_lines || c.min_line_words > 0
    }

    /// The text without the lines the C4 line rules drop (a line that
    /// mentions javascript; one not ending in terminal punctuation; one
    /// with fewer than `min_line_words` words, a CJK character counting as
    /// a word), with the count each rule dropped (a line counts once, for
    /// the first rule in that order). Empty lines stay.
    pub fn drop_lines(&self, text: String) -> (String, LinesDropped) {
        let mut dropped = LinesDropped::default();
        if !self.drops_lines() {
            return (text, dropped);
        }
        let c = &self.config;
        let mut out = String::with_capacity(text.len());
        for line in text.split_inclusive('\n') {
            let body = line.trim();
            let rule = if body.is_empty() {
                None
            } else if c.drop_javascript_lines
                && count_ignore_case(body.as_bytes(), b"javascript") > 0
            {
                Some(&mut dropped.javascript)
            } else if c.drop_unterminated_lines && !body.chars().last().is_some_and(is_terminal) {
                Some(&mut dropped.unterminated)
            } else if c.min_line_words > 0 && line_words(body) < c.min_line_words {
                Some(&mut dropped.short)
            } else {
                None
            };
            match rule {
                Some(n) => *n += 1,
                None => out.push_str(line),
            }
        }
        (out, dropped)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter() -> QualityFilter {
        QualityFilter::build(&QualityConfig::default()).unwrap()
    }

    /// The definition of the words `signals` counts, split its own way.
    fn words(text: &str) -> Vec<&str> {
        let mut out = Vec::new();
        for chunk in text.split_whitespace() {
            let mut start = None;
            for (i, c) in chunk.char_indices() {
                if is_cjk(c) {
                    if let Some(s) = start.take() {
                        out.push(&chunk[s..i]);
                    }
                    out.push(&chunk[i..i + c.len_utf8()]);
                } else if start.is_none() {
                    start = Some(i);
                }
            }
            if let Some(s) = start {
                out.push(&chunk[s..]);
            }
        }
        out
    }

    #[test]
    fn words_counted_in_one_pass_match_the_definition() {
        let pieces = [
            "ab", "中", "文", " ", "\n", "\u{3000}", "x1", "é", "。", "\u{0B}", "カ", "-",
        ];
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        for _ in 0..5_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let text: String = (0..(state % 12))
                .map(|k| pieces[(state >> (5 * k)) as usize % pieces.len()])
                .collect();
            let s = filter().signals(&text);
            assert_eq!(s.n_words as usize, words(&text).len(), "{text:?}");
            // The C4 line rule's count of a line's words, too.
            assert_eq!(line_words(&text), s.n_words, "{text:?}");
        }
    }

    #[test]
    fn character_classes_match_the_unicode_definitions() {
        // Every ASCII character (the fast path) and a few others, counted
        // by the Unicode methods the fast path stands in for.
        let text: String = (0u8..128)
            .map(char::from)
            .chain("中文カナ한글éß٣①\u{85}\u{A0}€—。".chars())
            .collect();
        let (mut letters, mut digits, mut symbols, mut cjk) = (0, 0, 0, 0);
        for c in text.chars() {
            if is_cjk(c) {
                cjk += 1;
                letters += 1;
            } else if c.is_alphabetic() {
                letters += 1;
            } else if c.is_numeric() {
                digits += 1;
            } else if !c.is_whitespace() && !is_punctuation(c) {
                symbols += 1;
            }
        }
        let s = filter().signals(&text);
        assert_eq!((s.letters, s.cjk_chars), (letters, cjk));
        assert_eq!(s.digit_ratio, digits as f64 / s.n_chars as f64);
        assert_eq!(s.symbol_ratio, symbols as f64 / s.n_chars as f64);
        for t in [
            text.as_str(),
            "我们 use LibreOffice 来写文档",
            "Writer 的 word processor",
        ] {
            let s = filter().signals(t);
            assert_eq!(s.char_shingles(), ore_minhash::use_char_shingles(t), "{t}");
        }
    }

    #[test]
    fn chinese_signals() {
        let s = filter().signals("今天天气很好，我们去公园散步。\n明天也许会下雨。");
        assert!(s.cjk_ratio > 0.99);
        assert_eq!(s.n_lines, 2);
        assert_eq!(s.punct_end_ratio, 1.0);
        assert_eq!(filter().check(&s), None);
        assert_eq!(
            filter().check(&filter().signals("上一页")),
            Some("too_short")
        );
    }

    #[test]
    fn english_rules() {
        let f = filter();
        assert_eq!(
            f.check(&f.signals("The quick brown fox jumps over the lazy dog.")),
            None
        );
        assert_eq!(f.check(&f.signals("Next page")), Some("too_short"));
        assert_eq!(
            f.check(&f.signals("#### $$$$ @@@@ ^^^^ ~~~~ a b c d e")),
            Some("symbol_ratio")
        );
        assert_eq!(
            f.check(&f.signals("1234 5678 9012 3456 7890 12 34")),
            Some("digit_ratio")
        );
        let repeated = "Home about contact us\nHome about contact us\nHome about contact us\nreal line of text";
        assert_eq!(f.check(&f.signals(repeated)), Some("duplicate_lines"));
    }

    #[test]
    fn repeated_ngrams_and_bad_words() {
        let f = QualityFilter::build(&QualityConfig {
            bad_words: vec!["spam".into()],
            ..QualityConfig::default()
        })
        .unwrap();
        let looped = "buy now buy now buy now buy now buy now buy now";
        assert!(f.signals(looped).dup_ngram_frac > 0.9);
        assert_eq!(
            f.check(&f.signals("this is a spam message for you")),
            Some("bad_words")
        );
    }

    #[test]
    fn gopher_rules_each_have_a_reason_and_spare_chinese() {
        let f = QualityFilter::build(&QualityConfig {
            reject_lorem_ipsum: true,
            min_stop_words: 2,
            min_mean_word_len: 3.0,
            max_mean_word_len: 10.0,
            min_alpha_word_frac: 0.8,
            max_bullet_line_frac: 0.9,
            max_ellipsis_line_frac: 0.3,
            ..QualityConfig::default()
        })
        .unwrap();
        let good = "The cat sat on the mat with a hat, and that was all.";
        assert_eq!(f.check(&f.signals(good)), None);
        assert_eq!(f.signals(good).stop_words, 5);
        let cases = [
            (
                "Buy cheap watches online now, best prices guaranteed today.",
                "few_stop_words",
            ),
            (
                "Internationalization considerations notwithstanding, the documentation and the translations.",
                "mean_word_length",
            ),
            ("12 34 56 78 the and of 90 12 34 56", "few_alpha_words"),
            (
                "- the first item of the list\n- and the second one\n- with the third",
                "bullet_lines",
            ),
            (
                "The story goes on...\nAnd then the rest...\nThe end of it all.",
                "ellipsis_lines",
            ),
            (
                "Lorem ipsum dolor sit amet, the consectetur and adipiscing elit.",
                "lorem_ipsum",
            ),
        ];
        for (text, reason) in cases {
            assert_eq!(f.check(&f.signals(text)), Some(reason), "{text}");
        }
        // No English stop words and one-character words: CJK text is exempt.
        let chinese = "今天天气很好，我们去公园散步。明天也许会下雨。";
        assert_eq!(f.check(&f.signals(chinese)), None);
        // None of these rules is on by default.
        let d = filter();
        for (text, _) in cases {
            assert_eq!(d.check(&d.signals(text)), None, "{text}");
        }
    }

    #[test]
    fn c4_line_rules_drop_lines_and_count_them() {
        let text = "Please enable JavaScript to view this page.\n\
                    A heading\n\
                    Too short.\n\
                    This line is a full sentence that ends well.\n\
                    \n\
                    中文的句子也以句号结束。\n\
                    中文标题"
            .to_string();
        let f = QualityFilter::build(&QualityConfig {
            drop_javascript_lines: true,
            drop_unterminated_lines: true,
            min_line_words: 3,
            ..QualityConfig::default()
        })
        .unwrap();
        let (kept, dropped) = f.drop_lines(text.clone());
        assert_eq!(
            kept,
            "This line is a full sentence that ends well.\n\n中文的句子也以句号结束。\n"
        );
        assert_eq!(
            dropped,
            LinesDropped {
                javascript: 1,
                unterminated: 2,
                short: 1
            }
        );
        // Off by default: nothing dropped.
        assert_eq!(
            filter().drop_lines(text.clone()),
            (text, LinesDropped::default())
        );
    }
}
