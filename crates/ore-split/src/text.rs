//! What the exact-duplicate key and the n-gram overlap read of a text.

use ore_minhash::is_cjk;
use unicode_normalization::UnicodeNormalization;
use xxhash_rust::xxh3::{xxh3_64, xxh3_64_with_seed};

/// NFKC, lower case, runs of whitespace as one space, trimmed: two texts
/// that differ only in width, case or spacing are one exact duplicate.
pub fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut space = false;
    for c in text.nfkc().flat_map(char::to_lowercase) {
        if c.is_whitespace() {
            space = !out.is_empty();
        } else {
            if space {
                out.push(' ');
                space = false;
            }
            out.push(c);
        }
    }
    out
}

/// The exact-duplicate key of a text: a hash of its normal form.
pub fn exact_key(text: &str) -> u64 {
    xxh3_64(normalize(text).as_bytes())
}

/// The units n-grams are made of, each as a hash: a CJK character is one
/// unit, a run of other letters and digits one word; punctuation and
/// spacing separate units and are not units.
pub fn unit_hashes(normalized: &str) -> Vec<u64> {
    let mut units = Vec::new();
    let mut word_start: Option<usize> = None;
    for (i, c) in normalized.char_indices() {
        let cjk = is_cjk(c);
        if c.is_alphanumeric() && !cjk {
            word_start.get_or_insert(i);
            continue;
        }
        if let Some(start) = word_start.take() {
            units.push(xxh3_64(&normalized.as_bytes()[start..i]));
        }
        if cjk {
            let mut buf = [0u8; 4];
            units.push(xxh3_64(c.encode_utf8(&mut buf).as_bytes()));
        }
    }
    if let Some(start) = word_start {
        units.push(xxh3_64(&normalized.as_bytes()[start..]));
    }
    units
}

/// The distinct n-gram hashes of a unit sequence, sorted (none when the
/// text is shorter than `n` units). The hash depends on `n`, so n-grams of
/// different sizes never meet.
pub fn ngram_hashes(units: &[u64], n: usize) -> Vec<u64> {
    if n == 0 || units.len() < n {
        return Vec::new();
    }
    let mut buf = Vec::with_capacity(n * 8);
    let mut out: Vec<u64> = units
        .windows(n)
        .map(|w| {
            buf.clear();
            for u in w {
                buf.extend_from_slice(&u.to_le_bytes());
            }
            xxh3_64_with_seed(&buf, n as u64)
        })
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_form_folds_width_case_and_spacing() {
        assert_eq!(normalize("  Ｈｅｌｌｏ \n\t World  "), "hello world");
        assert_eq!(exact_key("数据 很重要"), exact_key("数据  很重要 "));
        assert_ne!(exact_key("数据很重要"), exact_key("数据很重要。"));
    }

    #[test]
    fn units_are_cjk_characters_and_words() {
        let units = unit_hashes(&normalize("LibreOffice 的 Writer，版本 7.5"));
        // libreoffice 的 writer 版 本 7 5
        assert_eq!(units.len(), 7);
        assert_eq!(units[0], xxh3_64(b"libreoffice"));
        assert_eq!(units[1], xxh3_64("的".as_bytes()));
    }

    #[test]
    fn ngrams_need_n_units_and_depend_on_n() {
        let units: Vec<u64> = (0..5).collect();
        assert!(ngram_hashes(&units, 6).is_empty());
        assert_eq!(ngram_hashes(&units, 5).len(), 1);
        assert_eq!(ngram_hashes(&units, 2).len(), 4);
        let three = ngram_hashes(&units[..3], 3);
        let twos = ngram_hashes(&units[..3], 2);
        assert!(three.iter().all(|h| !twos.contains(h)));
    }
}
