//! One side of a row (its text and tokens, with the tags that ride on the
//! tokens) as the ops edit it.
//!
//! Every op works on a [`Seq`]: a list of [`Tok`]s, each carrying its own
//! POS tag, entity tag and extra IOB tags (CoNLL chunks), and the text that
//! stood before it. Tags therefore move, vanish and multiply with their
//! tokens, so they stay aligned by construction; the text, the character
//! offsets, the entity spans and the IOB2 tags are all rebuilt from the
//! tokens afterwards.

use std::sync::Arc;

/// An entity tag: the label and whether the token begins a mention.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ent {
    pub label: Arc<str>,
    pub begin: bool,
}

/// One token with everything aligned to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tok {
    pub text: String,
    /// The text between the previous token (or the start) and this one.
    pub gap: String,
    pub pos: Option<String>,
    pub ent: Option<Ent>,
    /// One value for each extra tag column (chunks), in column order.
    pub extra: Vec<String>,
}

impl Tok {
    /// A new token with no gap or tags, for ops that insert.
    pub fn word(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            gap: String::new(),
            pos: None,
            ent: None,
            extra: Vec::new(),
        }
    }

    pub fn is_entity(&self) -> bool {
        self.ent.is_some()
    }

    /// A token of punctuation or symbols only.
    pub fn is_punct(&self) -> bool {
        !self.text.is_empty() && self.text.chars().all(is_punct_char)
    }

    /// A token of letters or digits that ops may change (not punctuation,
    /// not whitespace, not an entity).
    pub fn is_plain_word(&self) -> bool {
        !self.is_entity() && !self.is_punct() && self.text.chars().any(char::is_alphanumeric)
    }
}

/// An entity span in token offsets (end exclusive).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    pub start: u32,
    pub end: u32,
    pub label: String,
}

/// One side of a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seq {
    pub toks: Vec<Tok>,
    /// Text after the last token.
    pub tail: String,
}

/// Whether `c` is punctuation or a symbol (neither letter, digit, mark nor
/// space).
pub fn is_punct_char(c: char) -> bool {
    !c.is_alphanumeric() && !c.is_whitespace() && !is_mark(c)
}

fn is_mark(c: char) -> bool {
    matches!(c as u32, 0x0300..=0x036F | 0x1AB0..=0x1AFF | 0x20D0..=0x20FF | 0xFE20..=0xFE2F)
}

/// A Han character (CJK unified ideographs and their extensions).
pub fn is_han(c: char) -> bool {
    matches!(c as u32,
        0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x2FA1F)
}

/// Whether text written with this character separates words with spaces.
pub fn is_spaced_script(c: char) -> bool {
    c.is_alphanumeric() && !is_han(c) && !matches!(c as u32, 0x3040..=0x30FF | 0xAC00..=0xD7AF)
}

/// What goes between two tokens put side by side by an op: a space between
/// two words of a spaced script, nothing otherwise (Chinese, punctuation).
pub fn join_gap(prev: Option<&str>, next: &str) -> &'static str {
    let before = prev.and_then(|p| p.chars().next_back());
    let after = next.chars().next();
    match (before, after) {
        (Some(a), Some(b)) if is_spaced_script(a) && is_spaced_script(b) => " ",
        (Some(a), Some(b)) if is_spaced_script(a) && b.is_ascii_punctuation() && !is_closing(b) => {
            " "
        }
        (Some(a), Some(b)) if a.is_ascii_punctuation() && !is_opening(a) && is_spaced_script(b) => {
            " "
        }
        _ => "",
    }
}

fn is_closing(c: char) -> bool {
    matches!(
        c,
        '.' | ',' | '!' | '?' | ';' | ':' | ')' | ']' | '}' | '\'' | '"' | '%'
    )
}

fn is_opening(c: char) -> bool {
    matches!(c, '(' | '[' | '{' | '$' | '#' | '@')
}

/// The inputs of [`Seq::new`]: one side of one row as read.
#[derive(Debug, Default)]
pub struct Parts<'a> {
    pub text: &'a str,
    pub tokens: Vec<&'a str>,
    /// Character offsets of each token in `text`, when the dataset has them.
    pub starts: Option<Vec<u32>>,
    pub ends: Option<Vec<u32>>,
    pub pos: Option<Vec<&'a str>>,
    pub entities: Vec<Span>,
    pub extra: Vec<Vec<&'a str>>,
}

impl Seq {
    /// Builds the sequence of one side. The gaps come from the character
    /// offsets when given, else from finding each token in the text in
    /// order; a token not found there is joined to the previous one by
    /// [`join_gap`] (the text is then rebuilt from the tokens).
    pub fn new(parts: &Parts<'_>) -> Self {
        let n = parts.tokens.len();
        let gaps = gaps_from_offsets(parts).unwrap_or_else(|| gaps_by_search(parts));
        let (gaps, tail) = gaps;
        let mut ents: Vec<Option<Ent>> = vec![None; n];
        for span in &parts.entities {
            let (s, e) = (span.start as usize, (span.end as usize).min(n));
            if s >= e || ents[s..e].iter().any(Option::is_some) {
                continue; // empty or overlapping an earlier span
            }
            let label: Arc<str> = Arc::from(span.label.as_str());
            for (k, slot) in ents[s..e].iter_mut().enumerate() {
                *slot = Some(Ent {
                    label: label.clone(),
                    begin: k == 0,
                });
            }
        }
        let toks = (0..n)
            .map(|i| Tok {
                text: parts.tokens[i].to_string(),
                gap: gaps[i].clone(),
                pos: parts
                    .pos
                    .as_ref()
                    .and_then(|p| p.get(i))
                    .map(|s| s.to_string()),
                ent: ents[i].take(),
                extra: parts
                    .extra
                    .iter()
                    .map(|col| col.get(i).copied().unwrap_or("O").to_string())
                    .collect(),
            })
            .collect();
        Self { toks, tail }
    }

    /// The side's text: every token with the text before it, then the tail.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for t in &self.toks {
            out.push_str(&t.gap);
            out.push_str(&t.text);
        }
        out.push_str(&self.tail);
        out
    }

    pub fn tokens(&self) -> Vec<&str> {
        self.toks.iter().map(|t| t.text.as_str()).collect()
    }

    /// Each token's character start and end in [`Seq::text`].
    pub fn offsets(&self) -> (Vec<u32>, Vec<u32>) {
        let mut at = 0u32;
        let mut starts = Vec::with_capacity(self.toks.len());
        let mut ends = Vec::with_capacity(self.toks.len());
        for t in &self.toks {
            at += t.gap.chars().count() as u32;
            starts.push(at);
            at += t.text.chars().count() as u32;
            ends.push(at);
        }
        (starts, ends)
    }

    /// The entity spans the tokens' tags make.
    pub fn entities(&self) -> Vec<Span> {
        let mut out: Vec<Span> = Vec::new();
        let mut previous: Option<&Ent> = None;
        for (i, t) in self.toks.iter().enumerate() {
            match (&t.ent, previous) {
                (Some(e), Some(p)) if !e.begin && p.label == e.label => {
                    if let Some(last) = out.last_mut() {
                        last.end = i as u32 + 1;
                    }
                }
                (Some(e), _) => out.push(Span {
                    start: i as u32,
                    end: i as u32 + 1,
                    label: e.label.to_string(),
                }),
                (None, _) => {}
            }
            previous = t.ent.as_ref();
        }
        out
    }

    /// The entity tags in IOB2.
    pub fn iob2(&self) -> Vec<String> {
        let mut tags = vec!["O".to_string(); self.toks.len()];
        for span in self.entities() {
            for i in span.start..span.end {
                let prefix = if i == span.start { "B" } else { "I" };
                tags[i as usize] = format!("{prefix}-{}", span.label);
            }
        }
        tags
    }

    /// Number of characters other than whitespace.
    pub fn char_len(&self) -> usize {
        self.toks
            .iter()
            .map(|t| t.text.chars().filter(|c| !c.is_whitespace()).count())
            .sum()
    }

    /// Removes token `i`; the gap before it goes with it, except that a
    /// first token's gap (leading text) stays with the new first token.
    /// A mention left without its first token begins at the next one.
    pub fn remove(&mut self, i: usize) -> Tok {
        let removed = self.toks.remove(i);
        if i == 0 {
            if let Some(first) = self.toks.first_mut() {
                first.gap = removed.gap.clone();
            }
        } else if i < self.toks.len() && (self.toks[i].gap.is_empty() || removed.gap.is_empty()) {
            let gap = join_gap(Some(&self.toks[i - 1].text), &self.toks[i].text);
            self.toks[i].gap = gap.to_string();
        }
        if removed.ent.as_ref().is_some_and(|e| e.begin)
            && let Some(next) = self.toks.get_mut(i)
            && let Some(e) = &mut next.ent
            && removed.ent.as_ref().is_some_and(|r| r.label == e.label)
        {
            e.begin = true;
        }
        fix_extra_begin(&removed, self.toks.get_mut(i));
        removed
    }

    /// Inserts `tok` before position `i` with the gap [`join_gap`] gives,
    /// and fixes the gap of the token after it.
    pub fn insert(&mut self, i: usize, mut tok: Tok) {
        let prev = if i > 0 {
            Some(self.toks[i - 1].text.as_str())
        } else {
            None
        };
        if i == 0 {
            if let Some(first) = self.toks.first_mut() {
                tok.gap = std::mem::take(&mut first.gap);
            }
        } else {
            tok.gap = join_gap(prev, &tok.text).to_string();
        }
        self.toks.insert(i, tok);
        if let Some(next) = self.toks.get(i + 1) {
            let gap = join_gap(Some(&self.toks[i].text), &next.text).to_string();
            let next = &mut self.toks[i + 1];
            if next.gap.chars().all(|c| c == ' ') {
                next.gap = gap;
            }
        }
    }

    /// Whether a token may be inserted before position `i` without
    /// splitting a mention.
    pub fn can_insert_at(&self, i: usize) -> bool {
        match self.toks.get(i) {
            Some(t) => t.ent.as_ref().is_none_or(|e| e.begin),
            None => true,
        }
    }
}

/// A removed token that began an extra IOB chunk hands its `B-` to the
/// token that continued it.
fn fix_extra_begin(removed: &Tok, next: Option<&mut Tok>) {
    let Some(next) = next else { return };
    for (r, n) in removed.extra.iter().zip(next.extra.iter_mut()) {
        if let (Some(rk), Some(nk)) = (r.strip_prefix("B-"), n.strip_prefix("I-"))
            && rk == nk
        {
            *n = format!("B-{nk}");
        }
    }
}

/// The tags a token of a multi-word replacement gets at place `k > 0`:
/// `B-X` continues as `I-X`, anything else is copied.
pub fn continue_tag(tag: &str) -> String {
    match tag.strip_prefix("B-") {
        Some(kind) => format!("I-{kind}"),
        None => tag.to_string(),
    }
}

type Gaps = (Vec<String>, String);

fn gaps_from_offsets(parts: &Parts<'_>) -> Option<Gaps> {
    let (starts, ends) = (parts.starts.as_ref()?, parts.ends.as_ref()?);
    let n = parts.tokens.len();
    if starts.len() != n || ends.len() != n {
        return None;
    }
    // Byte offset of every character boundary.
    let bounds: Vec<usize> = parts
        .text
        .char_indices()
        .map(|(b, _)| b)
        .chain(std::iter::once(parts.text.len()))
        .collect();
    let byte = |c: u32| bounds.get(c as usize).copied();
    let mut gaps = Vec::with_capacity(n);
    let mut at = 0usize;
    for i in 0..n {
        let (s, e) = (byte(starts[i])?, byte(ends[i])?);
        if s < at || e < s || parts.text.get(s..e)? != parts.tokens[i] {
            return None;
        }
        gaps.push(parts.text[at..s].to_string());
        at = e;
    }
    Some((gaps, parts.text[at..].to_string()))
}

fn gaps_by_search(parts: &Parts<'_>) -> Gaps {
    let text = parts.text;
    let mut gaps = Vec::with_capacity(parts.tokens.len());
    let mut at = 0usize;
    let mut found_all = true;
    for (i, tok) in parts.tokens.iter().enumerate() {
        let found = if found_all {
            text[at..].find(tok).map(|p| at + p)
        } else {
            None
        };
        match found {
            Some(p) if text[at..p].chars().all(char::is_whitespace) || tok.is_empty() => {
                gaps.push(text[at..p].to_string());
                at = p + tok.len();
            }
            _ => {
                found_all = false;
                let prev = i.checked_sub(1).map(|j| parts.tokens[j]);
                gaps.push(join_gap(prev, tok).to_string());
            }
        }
    }
    let tail = if found_all {
        text[at..].to_string()
    } else {
        String::new()
    };
    (gaps, tail)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spans(list: &[(u32, u32, &str)]) -> Vec<Span> {
        list.iter()
            .map(|&(start, end, label)| Span {
                start,
                end,
                label: label.to_string(),
            })
            .collect()
    }

    #[test]
    fn text_and_offsets_round_trip() {
        let parts = Parts {
            text: "  EU rejects German call .",
            tokens: vec!["EU", "rejects", "German", "call", "."],
            entities: spans(&[(0, 1, "ORG"), (2, 3, "MISC")]),
            ..Parts::default()
        };
        let seq = Seq::new(&parts);
        assert_eq!(seq.text(), parts.text);
        let (starts, ends) = seq.offsets();
        assert_eq!(starts, vec![2, 5, 13, 20, 25]);
        assert_eq!(ends, vec![4, 12, 19, 24, 26]);
        assert_eq!(seq.iob2(), vec!["B-ORG", "O", "B-MISC", "O", "O"]);
        assert_eq!(seq.entities(), parts.entities);
    }

    #[test]
    fn chinese_tokens_join_without_spaces() {
        let parts = Parts {
            text: "我爱北京天安门。",
            tokens: vec!["我", "爱", "北京", "天安门", "。"],
            entities: spans(&[(2, 4, "LOC")]),
            ..Parts::default()
        };
        let mut seq = Seq::new(&parts);
        seq.remove(1);
        assert_eq!(seq.text(), "我北京天安门。");
        seq.insert(1, Tok::word("很"));
        assert_eq!(seq.text(), "我很北京天安门。");
        assert!(!seq.can_insert_at(3), "inside 北京天安门");
        assert_eq!(seq.iob2(), vec!["O", "O", "B-LOC", "I-LOC", "O"]);
    }

    #[test]
    fn removing_a_mention_head_moves_its_begin() {
        let parts = Parts {
            text: "New York Times",
            tokens: vec!["New", "York", "Times"],
            entities: spans(&[(0, 3, "ORG")]),
            ..Parts::default()
        };
        let mut seq = Seq::new(&parts);
        seq.remove(0);
        assert_eq!(seq.text(), "York Times");
        assert_eq!(seq.entities(), spans(&[(0, 2, "ORG")]));
    }

    #[test]
    fn tokens_not_in_the_text_are_joined_by_script() {
        let parts = Parts {
            text: "something else",
            tokens: vec!["Hello", "world", "!", "你", "好"],
            ..Parts::default()
        };
        assert_eq!(Seq::new(&parts).text(), "Hello world!你好");
    }

    #[test]
    fn offsets_that_disagree_fall_back_to_search() {
        let parts = Parts {
            text: "a bc",
            tokens: vec!["a", "bc"],
            starts: Some(vec![0, 1]),
            ends: Some(vec![1, 3]),
            ..Parts::default()
        };
        assert_eq!(Seq::new(&parts).text(), "a bc");
    }
}
