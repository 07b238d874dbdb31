//! `ore-minhash`: near-duplicate detection that any stage may use (stage
//! crates do not import each other).
//!
//! - [`MinHasher`] turns a text into shingles (character n-grams for CJK
//!   text, word n-grams otherwise; [`use_char_shingles`] decides) and a
//!   MinHash signature; [`estimate`] is the signatures' Jaccard estimate,
//!   [`exact_jaccard`] the shingles' exact one.
//! - [`candidate_pairs`] buckets signatures by LSH bands tuned for a
//!   threshold and gives the pairs worth an exact check.
//!
//! ```
//! use ore_minhash::{MinHasher, candidate_pairs, estimate, use_char_shingles};
//!
//! let hasher = MinHasher::new(128, 42, 5, 3);
//! let texts = [
//!     "LibreOffice Writer lets you design and produce text documents with graphics and tables.",
//!     "LibreOffice Writer lets you design and produce text documents with graphics and tables!",
//!     "Calc is the spreadsheet program you have always wanted.",
//! ];
//! let signatures: Vec<Vec<u32>> = texts
//!     .iter()
//!     .map(|t| hasher.text_signature(t, use_char_shingles(t)))
//!     .collect();
//! let sigs: Vec<&[u32]> = signatures.iter().map(Vec::as_slice).collect();
//! let pairs = candidate_pairs(&sigs, &[false; 3], 0.8, 128);
//! assert_eq!(pairs, [(0, 1)]);
//! assert!(estimate(sigs[0], sigs[1]) > 0.8);
//! ```

pub mod lsh;
pub mod signature;

pub use lsh::{CANDIDATE_MARGIN, candidate_pairs};
pub use signature::{
    MinHasher, band_key, estimate, exact_jaccard, lsh_params, radix_sort, use_char_shingles,
};

/// Chinese, Japanese kana and Korean hangul characters: text where they
/// are at least 30% of the letters is shingled by characters.
pub fn is_cjk(c: char) -> bool {
    matches!(c,
        '\u{3400}'..='\u{4DBF}' | '\u{4E00}'..='\u{9FFF}' | '\u{F900}'..='\u{FAFF}'
        | '\u{3040}'..='\u{30FF}' | '\u{AC00}'..='\u{D7AF}' | '\u{20000}'..='\u{2FA1F}')
}
