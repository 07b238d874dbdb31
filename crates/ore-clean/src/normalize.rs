//! Text normalisation: Unicode form, full-width ASCII, control and
//! zero-width characters, leftover HTML, whitespace.

use unicode_normalization::char::canonical_combining_class;
use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfc_quick, is_nfkc_quick};

use crate::config::{NormalizeConfig, UnicodeForm};

/// Applies every enabled step, in a fixed order.
pub fn normalize(text: &str, config: &NormalizeConfig) -> String {
    // Most text is already in normal form: the quick check skips the
    // (much slower) decomposition and recomposition.
    let mut s: String = match config.unicode {
        UnicodeForm::Nfkc if is_nfkc_quick(text.chars()) != IsNormalized::Yes => {
            normal_form(text, UnicodeForm::Nfkc)
        }
        UnicodeForm::Nfc if is_nfc_quick(text.chars()) != IsNormalized::Yes => {
            normal_form(text, UnicodeForm::Nfc)
        }
        _ => text.to_string(),
    };
    // NFKC already folds full-width forms (they are not in NFKC), so the
    // pass is only needed under the other forms.
    if config.full_width_ascii
        && config.unicode != UnicodeForm::Nfkc
        && s.contains(|c| half_width(c) != c)
    {
        s = s.chars().map(half_width).collect();
    }
    if config.strip_html && s.contains(['<', '&']) {
        s = strip_html(&s);
    }
    match (config.remove_control, config.collapse_whitespace) {
        (remove, true) => tidy(&s, remove),
        (true, false) => {
            s.retain(|c| !is_removable(c));
            s
        }
        (false, false) => s,
    }
}

/// `text` in NFKC or NFC, normalising only the stretches that need it.
///
/// A character that is in the form already (quick check `Yes`) and a
/// starter (combining class 0) neither composes with what precedes it nor
/// lets marks reorder across it, so the normal form of a text is the normal
/// forms of the stretches that start at such characters, put end to end.
/// Stretches made of them alone are copied; only the others go through
/// decomposition and recomposition, which are slow.
fn normal_form(text: &str, form: UnicodeForm) -> String {
    let quick = |c: char| match form {
        UnicodeForm::Nfkc => is_nfkc_quick(std::iter::once(c)),
        _ => is_nfc_quick(std::iter::once(c)),
    };
    let mut out = String::with_capacity(text.len());
    // A stretch is copied when clean, normalised when dirty; one made of a
    // lone full-width form under NFKC is that form's ASCII character.
    let mut flush = |stretch: &str, dirty: bool, lone_full_width: bool| match (dirty, form) {
        (false, _) if lone_full_width => out.extend(stretch.chars().map(half_width)),
        (false, _) => out.push_str(stretch),
        (true, UnicodeForm::Nfkc) => out.extend(stretch.nfkc()),
        (true, _) => out.extend(stretch.nfc()),
    };
    let (mut start, mut dirty, mut lone) = (0, false, false);
    for (i, c) in text.char_indices() {
        // CJK unified ideographs are starters in every normal form and
        // never compose with what precedes them: the common case of
        // Chinese text, decided without the two table lookups.
        let boundary = c.is_ascii()
            || ('\u{4E00}'..='\u{9FFF}').contains(&c)
            || (canonical_combining_class(c) == 0 && quick(c) == IsNormalized::Yes);
        // Under NFKC a full-width ASCII form (or the ideographic space) is
        // one ASCII starter, which composes with nothing before it: it
        // starts a stretch too, and alone it needs no normaliser.
        let full_width = form == UnicodeForm::Nfkc
            && (('\u{FF01}'..='\u{FF5E}').contains(&c) || c == '\u{3000}');
        if boundary || full_width {
            flush(&text[start..i], dirty, lone);
            (start, dirty, lone) = (i, false, full_width);
        } else {
            dirty = true;
        }
    }
    flush(&text[start..], dirty, lone);
    out
}

fn half_width(c: char) -> char {
    match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        '\u{3000}' => ' ',
        c => c,
    }
}

/// Control characters other than line breaks and tabs, and zero-width
/// characters (ZWSP, ZWNJ, ZWJ, word joiner, BOM, soft hyphen).
fn is_removable(c: char) -> bool {
    (c.is_control() && !matches!(c, '\n' | '\t'))
        || matches!(
            c,
            '\u{200B}' | '\u{200C}' | '\u{200D}' | '\u{2060}' | '\u{FEFF}' | '\u{00AD}'
        )
}

/// Decodes entities (`&amp;`, `&#39;`, `&#x4E2D;`, common named ones) and
/// drops tags (`<b>`, `</p>`, `<br/>`, comments).
pub fn strip_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find(['<', '&']) {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        if rest.starts_with('<') {
            match tag_len(rest) {
                Some(n) => {
                    rest = &rest[n..];
                    continue;
                }
                None => {
                    out.push('<');
                    rest = &rest[1..];
                }
            }
        } else {
            match entity(rest) {
                Some((c, n)) => {
                    out.push(c);
                    rest = &rest[n..];
                }
                None => {
                    out.push('&');
                    rest = &rest[1..];
                }
            }
        }
    }
    out.push_str(rest);
    out
}

/// Length of a tag at the start of `s`: `<` then a letter (or `/` or `!`
/// and a letter), up to the next `>` on the same line; comments whole.
fn tag_len(s: &str) -> Option<usize> {
    if let Some(body) = s.strip_prefix("<!--") {
        return body.find("-->").map(|i| 4 + i + 3);
    }
    let mut chars = s[1..].chars();
    let first = chars.next()?;
    let opens = first.is_ascii_alphabetic()
        || (matches!(first, '/' | '!') && chars.next().is_some_and(|c| c.is_ascii_alphabetic()));
    if !opens {
        return None;
    }
    let end = s.find('>')?;
    if s[1..end].contains(['<', '\n']) {
        return None;
    }
    Some(end + 1)
}

fn entity(s: &str) -> Option<(char, usize)> {
    let end = s.bytes().take(12).position(|b| b == b';')?;
    let name = s.get(1..end)?;
    let c = if let Some(num) = name.strip_prefix('#') {
        let code = match num.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => num.parse().ok()?,
        };
        char::from_u32(code)?
    } else {
        match name {
            "amp" => '&',
            "lt" => '<',
            "gt" => '>',
            "quot" => '"',
            "apos" => '\'',
            "nbsp" => ' ',
            "mdash" => '—',
            "ndash" => '–',
            "hellip" => '…',
            "copy" => '©',
            "reg" => '®',
            "middot" => '·',
            "ldquo" => '“',
            "rdquo" => '”',
            "lsquo" => '‘',
            "rsquo" => '’',
            _ => return None,
        }
    };
    Some((c, end + 1))
}

/// Spaces and tabs collapse to one space, lines are trimmed, runs of empty
/// lines become one (a paragraph break), and the text is trimmed.
pub fn collapse_whitespace(s: &str) -> String {
    tidy(s, false)
}

/// [`collapse_whitespace`], after removing the characters of
/// [`is_removable`] when `remove` is set, in one pass and one allocation.
///
/// Words (runs of characters that are not whitespace) are copied as
/// slices. What goes between two words depends on the whitespace between
/// them: no line break gives a space, one gives a line break, two or more
/// (so blank lines between) give a paragraph break. A removed character
/// separates nothing: the word goes on after it.
fn tidy(s: &str, remove: bool) -> String {
    let bytes = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let (mut newlines, mut space, mut any_word) = (0usize, false, false);
    let mut run: Option<usize> = None;
    let mut i = 0;
    while i < bytes.len() {
        // ASCII is classified from the byte; other characters are decoded.
        let b = bytes[i];
        let (len, white, removed) = if b.is_ascii() {
            let white = matches!(b, b' ' | b'\t' | b'\n' | 0x0B | 0x0C | b'\r');
            let control = b < 0x20 || b == 0x7F;
            (1, white, remove && control && b != b'\n' && b != b'\t')
        } else {
            let c = s[i..].chars().next().unwrap_or(char::REPLACEMENT_CHARACTER);
            (c.len_utf8(), c.is_whitespace(), remove && is_removable(c))
        };
        if removed || white {
            if let Some(start) = run.take() {
                out.push_str(&s[start..i]);
            }
            if !removed {
                if b == b'\n' {
                    newlines += 1;
                } else {
                    space = true;
                }
            }
        } else if run.is_none() {
            if any_word {
                match newlines {
                    0 if space => out.push(' '),
                    0 => {}
                    1 => out.push('\n'),
                    _ => out.push_str("\n\n"),
                }
            }
            (newlines, space, any_word) = (0, false, true);
            run = Some(i);
        }
        i += len;
    }
    if let Some(start) = run {
        out.push_str(&s[start..]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The line-by-line definition `tidy` must agree with.
    fn collapse_reference(s: &str) -> String {
        let mut out = String::with_capacity(s.len());
        let mut blank_run = 0;
        for line in s.lines() {
            // Words go straight into `out`; the line break before them is
            // written with the first word, so a blank line leaves nothing.
            let mut first = true;
            for word in line
                .split(|c: char| c.is_whitespace())
                .filter(|w| !w.is_empty())
            {
                if first {
                    if !out.is_empty() {
                        out.push('\n');
                        if blank_run > 0 {
                            out.push('\n');
                        }
                    }
                    blank_run = 0;
                    first = false;
                } else {
                    out.push(' ');
                }
                out.push_str(word);
            }
            if first {
                blank_run += 1;
            }
        }
        out
    }

    #[test]
    fn one_pass_tidy_matches_the_line_by_line_definition() {
        // Random strings over words, every kind of whitespace, and the
        // removable characters, against removal then the line-by-line
        // collapse.
        let alphabet = [
            "a", "词", "bc", " ", "  ", "\t", "\n", "\r\n", "\r", "\u{0B}", "\u{0C}", "\u{85}",
            "\u{A0}", "\u{3000}", "\u{2028}", "\u{200B}", "\u{00AD}", "\u{01}", "\u{7F}",
            "\u{FEFF}",
        ];
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        for _ in 0..20_000 {
            let mut text = String::new();
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            for k in 0..(state % 14) {
                let pick = (state >> (4 * k)) as usize % alphabet.len();
                text.push_str(alphabet[pick]);
            }
            assert_eq!(tidy(&text, false), collapse_reference(&text), "{text:?}");
            let mut removed = text.clone();
            removed.retain(|c| !is_removable(c));
            assert_eq!(tidy(&text, true), collapse_reference(&removed), "{text:?}");
        }
    }

    fn all() -> NormalizeConfig {
        NormalizeConfig::default()
    }

    #[test]
    fn full_width_and_nfkc() {
        assert_eq!(normalize("ＧＤＰ增长７．８％", &all()), "GDP增长7.8%");
        let nfc_only = NormalizeConfig {
            unicode: UnicodeForm::Nfc,
            ..all()
        };
        assert_eq!(normalize("ＡＢＣ１２３", &nfc_only), "ABC123");
        let none = NormalizeConfig {
            full_width_ascii: false,
            unicode: UnicodeForm::None,
            ..all()
        };
        assert_eq!(normalize("ＡＢＣ", &none), "ＡＢＣ");
    }

    #[test]
    fn normal_forms_by_stretches_match_the_whole() {
        let texts = [
            "ＧＤＰ增长７．８％…ｶﾀｶﾅ ㈱ ﬁ ①",
            "e\u{301}\u{323} a\u{323}\u{301} \u{301}start 가\u{11A8} \u{1100}\u{1161}\u{11A8}",
            "Å Å Ω ℃ ¼ x\u{0344}y \u{0F73}\u{0F75} \u{FB2C}\u{05BC}",
            "中文（括号）、「引号」　全角空格\u{3099}か\u{3099}",
        ];
        for text in texts {
            let nfkc: String = text.nfkc().collect();
            let nfc: String = text.nfc().collect();
            assert_eq!(normal_form(text, UnicodeForm::Nfkc), nfkc, "{text:?}");
            assert_eq!(normal_form(text, UnicodeForm::Nfc), nfc, "{text:?}");
        }
    }

    /// Random strings over characters that compose, decompose, reorder or
    /// fold: the stretch-wise normal form equals the whole-text one.
    #[test]
    fn normal_forms_by_stretches_match_the_whole_on_random_text() {
        let pool: Vec<char> = "aeoAEO 中文가각\u{1100}\u{1161}\u{11A8}\u{0300}\u{0301}\u{0323}\u{0344}\u{0345}\u{0F71}\u{0F72}\u{0F73}\u{0F80}\u{05BC}\u{05B8}\u{FB2C}\u{3099}\u{309A}かカｶﾞÅΩ℃¼ﬁＡ１　…①\u{1E0A}\u{0307}\u{0DCA}\u{0DD9}\u{0DCF}"
            .chars()
            .collect();
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        for _ in 0..20_000 {
            let len = (state >> 60) as usize + 1;
            let text: String = (0..len)
                .map(|_| {
                    state = state
                        .wrapping_mul(6_364_136_223_846_793_005)
                        .wrapping_add(1_442_695_040_888_963_407);
                    pool[(state >> 33) as usize % pool.len()]
                })
                .collect();
            let nfkc: String = text.nfkc().collect();
            let nfc: String = text.nfc().collect();
            assert_eq!(normal_form(&text, UnicodeForm::Nfkc), nfkc, "{text:?}");
            assert_eq!(normal_form(&text, UnicodeForm::Nfc), nfc, "{text:?}");
        }
    }

    /// The shortcut `normal_form` takes for CJK unified ideographs.
    #[test]
    fn cjk_ideographs_are_normalised_starters() {
        for c in '\u{4E00}'..='\u{9FFF}' {
            assert_eq!(canonical_combining_class(c), 0, "{c}");
            assert_eq!(is_nfkc_quick(std::iter::once(c)), IsNormalized::Yes, "{c}");
            assert_eq!(is_nfc_quick(std::iter::once(c)), IsNormalized::Yes, "{c}");
        }
    }

    #[test]
    fn control_and_zero_width() {
        assert_eq!(
            normalize("中\u{200B}文\u{0007}字\u{FEFF}", &all()),
            "中文字"
        );
    }

    #[test]
    fn ampersand_before_multibyte_text_is_kept() {
        assert_eq!(strip_html("&CURRENT()」返回"), "&CURRENT()」返回");
    }

    #[test]
    fn html_leftovers() {
        assert_eq!(
            strip_html("a &amp; b &lt;tag&gt; &#x4E2D;&#25991; <b>bold</b><!-- c -->!"),
            "a & b <tag> 中文 bold!"
        );
        assert_eq!(strip_html("1 < 2 & 3 > 2"), "1 < 2 & 3 > 2");
    }

    #[test]
    fn whitespace_keeps_paragraphs() {
        assert_eq!(
            collapse_whitespace("  a   b \n\n\n  c\td \n e"),
            "a b\n\nc d\ne"
        );
        assert_eq!(
            normalize("第一段。\n\n\n第二段　。", &all()),
            "第一段。\n\n第二段 。"
        );
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        /// Characters that compose, decompose, reorder or fold, and
        /// anything else.
        fn a_text() -> impl Strategy<Value = String> {
            let tricky: Vec<char> = "aeoAEO 中文가각\u{1100}\u{1161}\u{11A8}\u{0300}\u{0301}\u{0323}\u{0344}\u{0345}\u{0F71}\u{0F72}\u{0F73}\u{0F80}\u{05BC}\u{05B8}\u{FB2C}\u{3099}\u{309A}かカｶﾞÅΩ℃¼ﬁＡ１　…①\u{1E0A}\u{0307}\u{0DCA}\u{0DD9}\u{0DCF}"
                .chars()
                .collect();
            let a_char = prop_oneof![
                3 => prop::sample::select(tricky),
                1 => prop::char::range('\u{FF00}', '\u{FFEF}'),
                1 => prop::char::range('\u{0300}', '\u{036F}'),
                1 => any::<char>(),
            ];
            prop::collection::vec(a_char, 0..24).prop_map(|c| c.into_iter().collect())
        }

        fn only(unicode: UnicodeForm) -> NormalizeConfig {
            NormalizeConfig {
                unicode,
                full_width_ascii: false,
                remove_control: false,
                strip_html: false,
                collapse_whitespace: false,
            }
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(2000))]

            /// The stage's partial normalisation (quick check, then only
            /// the stretches that need it) equals full NFKC and NFC.
            #[test]
            fn partial_normal_forms_equal_the_full_ones(text in a_text()) {
                let nfkc: String = text.nfkc().collect();
                let nfc: String = text.nfc().collect();
                prop_assert_eq!(&normalize(&text, &only(UnicodeForm::Nfkc)), &nfkc);
                prop_assert_eq!(&normalize(&text, &only(UnicodeForm::Nfc)), &nfc);
                prop_assert_eq!(normal_form(&text, UnicodeForm::Nfkc), nfkc);
                prop_assert_eq!(normal_form(&text, UnicodeForm::Nfc), nfc);
            }
        }
    }
}
