//! Python's notion of whitespace, which the reference implementations use
//! through `str.split()` and `str.strip()`.

use rustc_hash::FxHashMap;

/// `str.isspace()` for one character: Rust's `char::is_whitespace` plus the
/// information separators U+001C–U+001F, which Python also treats as space.
pub(crate) fn is_py_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// Maps tokens to small integers, numbering new ones as they come.
pub(crate) fn intern<'a>(
    vocab: &mut FxHashMap<&'a str, u32>,
    tokens: impl IntoIterator<Item = &'a str>,
) -> Vec<u32> {
    tokens
        .into_iter()
        .map(|t| {
            let next = vocab.len() as u32;
            *vocab.entry(t).or_insert(next)
        })
        .collect()
}

/// `s.split()` with no argument.
pub(crate) fn py_split(s: &str) -> impl Iterator<Item = &str> {
    s.split(is_py_space).filter(|t| !t.is_empty())
}

/// `s.strip()`.
pub(crate) fn py_strip(s: &str) -> &str {
    s.trim_matches(is_py_space)
}

/// `s.rstrip()`.
pub(crate) fn py_rstrip(s: &str) -> &str {
    s.trim_end_matches(is_py_space)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_whitespace() {
        assert_eq!(
            py_split(" a\u{1f}b\u{3000}c\u{a0} ").collect::<Vec<_>>(),
            ["a", "b", "c"]
        );
        assert_eq!(py_strip("\u{1c} x \u{2003}"), "x");
        assert_eq!(py_rstrip(" x \n"), " x");
        // Zero-width space is not whitespace in Python.
        assert_eq!(py_split("a\u{200b}b").count(), 1);
    }
}
