//! A word- and character-level diff of two texts (a variant next to its
//! parent): CJK text compares character by character, other text word by
//! word, with spaces and punctuation as units of their own so that the
//! pieces put back together give both texts exactly.

use serde::Serialize;

/// One piece of a diff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "op", content = "text", rename_all = "snake_case")]
pub enum Piece {
    Same(String),
    Del(String),
    Ins(String),
}

/// Above this many cells the middle (after the common prefix and suffix) is
/// shown as one deletion and one insertion instead of an LCS.
const MAX_CELLS: usize = 4_000_000;

/// The units of a diff: a CJK character, a run of letters or digits, a run
/// of whitespace, or any other single character.
fn segments(text: &str) -> Vec<&str> {
    #[derive(PartialEq, Clone, Copy)]
    enum Class {
        Word,
        Space,
        Single,
    }
    let class = |c: char| {
        if crate::metrics::is_cjk(c) {
            Class::Single
        } else if c.is_alphanumeric() || c == '_' {
            Class::Word
        } else if c.is_whitespace() {
            Class::Space
        } else {
            Class::Single
        }
    };
    let mut out = Vec::new();
    let mut start = 0;
    let mut prev: Option<Class> = None;
    for (i, c) in text.char_indices() {
        let k = class(c);
        if let Some(p) = prev
            && (p != k || k == Class::Single)
        {
            out.push(&text[start..i]);
            start = i;
        }
        prev = Some(k);
    }
    if start < text.len() {
        out.push(&text[start..]);
    }
    out
}

/// The diff of `old` to `new`, adjacent pieces of one kind merged.
pub fn diff(old: &str, new: &str) -> Vec<Piece> {
    let a = segments(old);
    let b = segments(new);
    let prefix = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let suffix = a[prefix..]
        .iter()
        .rev()
        .zip(b[prefix..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let (am, bm) = (&a[prefix..a.len() - suffix], &b[prefix..b.len() - suffix]);
    let mut pieces = Vec::new();
    push(&mut pieces, Piece::Same(a[..prefix].concat()));
    if am.len().saturating_mul(bm.len()) > MAX_CELLS {
        push(&mut pieces, Piece::Del(am.concat()));
        push(&mut pieces, Piece::Ins(bm.concat()));
    } else {
        lcs_diff(am, bm, &mut pieces);
    }
    push(&mut pieces, Piece::Same(a[a.len() - suffix..].concat()));
    pieces
}

/// Appends a piece, merging it into the last one of its kind; empty pieces
/// are dropped.
fn push(pieces: &mut Vec<Piece>, piece: Piece) {
    let text_of = |p: &Piece| match p {
        Piece::Same(t) | Piece::Del(t) | Piece::Ins(t) => t.is_empty(),
    };
    if text_of(&piece) {
        return;
    }
    match (pieces.last_mut(), piece) {
        (Some(Piece::Same(t)), Piece::Same(s))
        | (Some(Piece::Del(t)), Piece::Del(s))
        | (Some(Piece::Ins(t)), Piece::Ins(s)) => t.push_str(&s),
        (_, piece) => pieces.push(piece),
    }
}

/// The classic longest-common-subsequence table, walked from the front.
fn lcs_diff(a: &[&str], b: &[&str], pieces: &mut Vec<Piece>) {
    let (n, m) = (a.len(), b.len());
    // table[i][j]: LCS length of a[i..] and b[j..].
    let mut table = vec![0u32; (n + 1) * (m + 1)];
    let at = |i: usize, j: usize| i * (m + 1) + j;
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            table[at(i, j)] = if a[i] == b[j] {
                table[at(i + 1, j + 1)] + 1
            } else {
                table[at(i + 1, j)].max(table[at(i, j + 1)])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    while i < n || j < m {
        if i < n && j < m && a[i] == b[j] {
            push(pieces, Piece::Same(a[i].to_string()));
            i += 1;
            j += 1;
        } else if i < n && (j == m || table[at(i + 1, j)] >= table[at(i, j + 1)]) {
            // Deletions before insertions: `[-old-]{+new+}` reads best.
            push(pieces, Piece::Del(a[i].to_string()));
            i += 1;
        } else {
            push(pieces, Piece::Ins(b[j].to_string()));
            j += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(pieces: &[Piece], keep_del: bool) -> String {
        pieces
            .iter()
            .filter_map(|p| match p {
                Piece::Same(t) => Some(t.as_str()),
                Piece::Del(t) if keep_del => Some(t.as_str()),
                Piece::Ins(t) if !keep_del => Some(t.as_str()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn words_are_replaced_whole() {
        let d = diff("the quick fox.", "the slow fox.");
        assert_eq!(
            d,
            [
                Piece::Same("the ".into()),
                Piece::Del("quick".into()),
                Piece::Ins("slow".into()),
                Piece::Same(" fox.".into()),
            ]
        );
    }

    #[test]
    fn chinese_is_compared_by_character() {
        let d = diff("我们今天去公园", "我们明天去公园");
        assert_eq!(
            d,
            [
                Piece::Same("我们".into()),
                Piece::Del("今".into()),
                Piece::Ins("明".into()),
                Piece::Same("天去公园".into()),
            ]
        );
    }

    #[test]
    fn both_texts_come_back_from_the_pieces() {
        for (a, b) in [
            ("a b c d", "b a c d e"),
            ("", "新文本"),
            ("old", ""),
            ("打开 LibreOffice Writer。", "开启 LibreOffice Calc 了。"),
            ("same", "same"),
        ] {
            let d = diff(a, b);
            assert_eq!(text(&d, true), a);
            assert_eq!(text(&d, false), b);
        }
        assert_eq!(diff("same", "same"), [Piece::Same("same".into())]);
    }
}
