//! sacrebleu's tokenizers `13a`, `zh`, `char` and `none`, character for
//! character.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::text::{py_split, py_strip};

/// How BLEU splits text into tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BleuTokenize {
    /// Split on whitespace only.
    #[serde(rename = "none")]
    None,
    /// mteval-v13a, the WMT standard for English and other Latin text.
    #[serde(rename = "13a")]
    Thirteen,
    /// Every CJK character a token, the rest as `13a`.
    #[serde(rename = "zh")]
    Zh,
    /// Every character a token (whitespace dropped).
    #[serde(rename = "char")]
    Char,
}

impl BleuTokenize {
    /// The name sacrebleu uses in signatures and on its command line.
    pub fn name(self) -> &'static str {
        match self {
            BleuTokenize::None => "none",
            BleuTokenize::Thirteen => "13a",
            BleuTokenize::Zh => "zh",
            BleuTokenize::Char => "char",
        }
    }

    /// Tokenizes one segment the way sacrebleu does (the caller has already
    /// right-stripped it, as sacrebleu's `_preprocess_segment` does).
    pub fn apply(self, line: &str) -> String {
        match self {
            BleuTokenize::None => line.to_string(),
            BleuTokenize::Thirteen => thirteen_a(line),
            BleuTokenize::Zh => zh(line),
            BleuTokenize::Char => {
                let mut out = String::with_capacity(line.len() * 2);
                for (i, c) in line.chars().enumerate() {
                    if i > 0 {
                        out.push(' ');
                    }
                    out.push(c);
                }
                out
            }
        }
    }
}

impl fmt::Display for BleuTokenize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for BleuTokenize {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "none" => Ok(BleuTokenize::None),
            "13a" => Ok(BleuTokenize::Thirteen),
            "zh" => Ok(BleuTokenize::Zh),
            "char" => Ok(BleuTokenize::Char),
            other => Err(format!(
                "unknown BLEU tokenizer `{other}` (expected 13a, zh, char or none)"
            )),
        }
    }
}

fn thirteen_a(line: &str) -> String {
    let mut line = if line.contains('\n') || line.contains("<skipped>") {
        line.replace("<skipped>", "")
            .replace("-\n", "")
            .replace('\n', " ")
    } else {
        line.to_string()
    };
    if line.contains('&') {
        line = line
            .replace("&quot;", "\"")
            .replace("&amp;", "&")
            .replace("&lt;", "<")
            .replace("&gt;", ">");
    }
    regexp(&format!(" {line} "))
}

fn zh(line: &str) -> String {
    let line = py_strip(line);
    let mut spaced = String::with_capacity(line.len() * 2);
    for c in line.chars() {
        if is_chinese_char(c) {
            spaced.push(' ');
            spaced.push(c);
            spaced.push(' ');
        } else {
            spaced.push(c);
        }
    }
    regexp(&spaced)
}

/// sacrebleu's `_UCODE_RANGES`. Two of its bounds are written `u'\u20000'`
/// and `u'\u2f800'`, which Python reads as two-character strings; compared
/// with one character they select U+2001–U+2A6D and U+2F81–U+2FA1 (not
/// CJK Extension B), and that is what sacrebleu's scores reflect.
const CHINESE_RANGES: &[(char, char)] = &[
    ('\u{3400}', '\u{4db5}'),
    ('\u{4e00}', '\u{9fa5}'),
    ('\u{9fa6}', '\u{9fbb}'),
    ('\u{f900}', '\u{fa2d}'),
    ('\u{fa30}', '\u{fa6a}'),
    ('\u{fa70}', '\u{fad9}'),
    ('\u{2001}', '\u{2a6d}'),
    ('\u{2f81}', '\u{2fa1}'),
    ('\u{ff00}', '\u{ffef}'),
    ('\u{2e80}', '\u{2eff}'),
    ('\u{3000}', '\u{303f}'),
    ('\u{31c0}', '\u{31ef}'),
    ('\u{2f00}', '\u{2fdf}'),
    ('\u{2ff0}', '\u{2fff}'),
    ('\u{3100}', '\u{312f}'),
    ('\u{31a0}', '\u{31bf}'),
    ('\u{fe10}', '\u{fe1f}'),
    ('\u{fe30}', '\u{fe4f}'),
    ('\u{2600}', '\u{26ff}'),
    ('\u{2700}', '\u{27bf}'),
    ('\u{3200}', '\u{32ff}'),
    ('\u{3300}', '\u{33ff}'),
];

fn is_chinese_char(c: char) -> bool {
    CHINESE_RANGES.iter().any(|&(lo, hi)| lo <= c && c <= hi)
}

/// The four substitutions of sacrebleu's `TokenizerRegexp`, each applied
/// left to right over non-overlapping matches as `re.sub` does, then
/// whitespace collapsed.
///
/// The passes run over UTF-8 bytes: every character the patterns name is
/// ASCII, and the one class that matches any character (`[^0-9]`) is
/// satisfied by a multi-byte character's first or last byte exactly where it
/// is satisfied by the character, so the result is the same as on
/// characters and every space lands on a character boundary.
fn regexp(line: &str) -> String {
    let bytes = line.as_bytes();
    // 1. Punctuation and symbols `{|}~ [\]^_` space !"#$%& ()*+ :;<=>?@ /`
    //    get a space on each side.
    let mut a = Vec::with_capacity(bytes.len() * 2);
    for &c in bytes {
        if matches!(c, b'{'..=b'~' | b'['..=b'`' | b' '..=b'&' | b'('..=b'+' | b':'..=b'@' | b'/') {
            a.extend([b' ', c, b' ']);
        } else {
            a.push(c);
        }
    }
    // Passes 2–4 only change text holding `.`, `,` or `-`.
    let has_period_or_comma = a.iter().any(|&c| c == b'.' || c == b',');
    let has_dash = a.contains(&b'-');
    if !has_period_or_comma && !has_dash {
        return collapse_spaces(a);
    }
    // 2. `([^0-9])([\.,])` → `\1 \2 `: period and comma after a non-digit.
    let b = sub_pairs(
        &a,
        |x, y| !x.is_ascii_digit() && matches!(y, b'.' | b','),
        |x, y, out| out.extend([x, b' ', y, b' ']),
    );
    // 3. `([\.,])([^0-9])` → ` \1 \2`: period and comma before a non-digit.
    let c = sub_pairs(
        &b,
        |x, y| matches!(x, b'.' | b',') && !y.is_ascii_digit(),
        |x, y, out| out.extend([b' ', x, b' ', y]),
    );
    // 4. `([0-9])(-)` → `\1 \2 `: a dash after a digit.
    let d = sub_pairs(
        &c,
        |x, y| x.is_ascii_digit() && y == b'-',
        |x, y, out| out.extend([x, b' ', y, b' ']),
    );
    collapse_spaces(d)
}

/// `' '.join(line.split())` over the bytes of a line.
fn collapse_spaces(bytes: Vec<u8>) -> String {
    let joined = String::from_utf8(bytes)
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
    let mut out = String::with_capacity(joined.len());
    for (i, token) in py_split(&joined).enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(token);
    }
    out
}

/// `re.sub` for a two-character pattern: scan left to right, replace each
/// match, resume after it.
fn sub_pairs(
    bytes: &[u8],
    matches: impl Fn(u8, u8) -> bool,
    replace: impl Fn(u8, u8, &mut Vec<u8>),
) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + bytes.len() / 4);
    let mut i = 0;
    while i < bytes.len() {
        if i + 1 < bytes.len() && matches(bytes[i], bytes[i + 1]) {
            replace(bytes[i], bytes[i + 1], &mut out);
            i += 2;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thirteen_a_matches_mteval() {
        let t = BleuTokenize::Thirteen;
        assert_eq!(t.apply("The dog bit the man."), "The dog bit the man .");
        assert_eq!(t.apply("It wasn't surprising."), "It wasn't surprising .");
        assert_eq!(
            t.apply("3.14, 1,000 and 1990-2000"),
            "3.14 , 1,000 and 1990 - 2000"
        );
        assert_eq!(
            t.apply("a&amp;b &lt;x&gt; &quot;q&quot;"),
            "a & b < x > \" q \""
        );
        assert_eq!(t.apply("e.g.,x"), "e . g . , x");
        assert_eq!(t.apply(".5 and x.."), ". 5 and x . .");
    }

    #[test]
    fn zh_splits_han_and_quirky_ranges() {
        let t = BleuTokenize::Zh;
        assert_eq!(t.apply("我爱北京天安门。"), "我 爱 北 京 天 安 门 。");
        assert_eq!(t.apply("版本2.0发布了"), "版 本 2.0 发 布 了");
        // U+2014 (em dash) and U+201C/U+201D (quotes) fall in U+2001–U+2A6D.
        assert_eq!(t.apply("a—b“c”"), "a — b “ c ”");
        // CJK Extension B is not in sacrebleu's ranges.
        assert_eq!(t.apply("𠀀x"), "𠀀x");
    }

    #[test]
    fn char_and_none() {
        assert_eq!(BleuTokenize::Char.apply("中 文a"), "中   文 a");
        assert_eq!(BleuTokenize::None.apply("a  b"), "a  b");
    }
}
