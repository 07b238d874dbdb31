//! What the exact-duplicate key and the n-gram overlap read of a text.

use ore_minhash::is_cjk;
use unicode_normalization::UnicodeNormalization;
use xxhash_rust::xxh3::xxh3_64;

/// NFKC, lower case, runs of whitespace as one space, trimmed: two texts
/// that differ only in width, case or spacing are one exact duplicate.
///
/// ASCII text, which NFKC leaves as it is, takes a byte loop
/// ([`normalize_ascii`]) instead of the Unicode iterators.
pub fn normalize(text: &str) -> String {
    if text.is_ascii() {
        normalize_ascii(text)
    } else {
        normalize_unicode(text)
    }
}

/// [`normalize`] for any text, by NFKC and Unicode lower case.
pub fn normalize_unicode(text: &str) -> String {
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

/// [`normalize`] for ASCII text: bytes lowered, whitespace (as
/// `char::is_whitespace` has it in ASCII: tab to carriage return, space)
/// collapsed.
pub fn normalize_ascii(text: &str) -> String {
    let mut out = Vec::with_capacity(text.len());
    let mut space = false;
    for &b in text.as_bytes() {
        if matches!(b, b'\t'..=b'\r' | b' ') {
            space = !out.is_empty();
        } else {
            if space {
                out.push(b' ');
                space = false;
            }
            out.push(b.to_ascii_lowercase());
        }
    }
    // Bytes of ASCII input, lowered: still ASCII.
    String::from_utf8(out).unwrap_or_default()
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
///
/// Each window's hash is a polynomial over its units' hashes, rolled from
/// one window to the next in constant time, then mixed with `n`.
pub fn ngram_hashes(units: &[u64], n: usize) -> Vec<u64> {
    if n == 0 || units.len() < n {
        return Vec::new();
    }
    const P: u64 = 0x9E37_79B9_7F4A_7C15;
    let lead = (1..n).fold(1u64, |acc, _| acc.wrapping_mul(P));
    let mut h = units[..n]
        .iter()
        .fold(0u64, |acc, &u| acc.wrapping_mul(P).wrapping_add(u));
    let mut out = Vec::with_capacity(units.len() - n + 1);
    out.push(mix(h, n));
    for i in n..units.len() {
        h = h
            .wrapping_sub(units[i - n].wrapping_mul(lead))
            .wrapping_mul(P)
            .wrapping_add(units[i]);
        out.push(mix(h, n));
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// A 64-bit finaliser (splitmix64's) of a window hash and its size.
fn mix(h: u64, n: usize) -> u64 {
    let mut z = h ^ (n as u64).wrapping_mul(0xD6E8_FEB8_6659_FD93);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
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

    proptest::proptest! {
        /// The ASCII fast path gives what NFKC and Unicode lower case give.
        #[test]
        fn ascii_fast_path_matches_unicode_normalisation(text in "[ -~\t\n\r\x0b\x0c]{0,60}") {
            proptest::prop_assert_eq!(normalize_ascii(&text), normalize_unicode(&text));
        }

        /// Rolled window hashes equal each window hashed on its own.
        #[test]
        fn rolled_ngram_hashes_match_windows_hashed_alone(
            units in proptest::collection::vec(proptest::prelude::any::<u64>(), 0..40),
            n in 1usize..8,
        ) {
            let mut alone: Vec<u64> = units
                .windows(n)
                .map(|w| mix(w.iter().fold(0u64, |acc, &u| acc.wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(u)), n))
                .collect();
            alone.sort_unstable();
            alone.dedup();
            proptest::prop_assert_eq!(ngram_hashes(&units, n), alone);
        }
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
