//! [`Segmenter`]: jieba for the runs of text that hold Chinese, Unicode word
//! segmentation (UAX #29) for everything else, with character offsets of
//! every token into the source text.

use std::cell::Cell;
use std::io::BufReader;
use std::ops::Range;

use jieba_rs::{Jieba, TokenizeMode};
use rustc_hash::FxHashSet;
use unicode_segmentation::UnicodeSegmentation;

use crate::config::{Mode, NonChinese, TokenizeConfig};
use crate::error::{Result, TokenizeError};

/// The tokens of one text. `starts`/`ends` are character (not byte) offsets,
/// so `text.chars().skip(start).take(end - start)` is the token's source.
/// `pos` is empty when tagging is off.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Segmented {
    pub tokens: Vec<String>,
    pub starts: Vec<u32>,
    pub ends: Vec<u32>,
    pub pos: Vec<String>,
}

/// Splits text into tokens; built once and shared by all threads.
#[derive(Debug)]
pub struct Segmenter {
    jieba: Jieba,
    mode: Mode,
    hmm: bool,
    non_chinese: NonChinese,
    lowercase: bool,
    pos: bool,
    stop_words: FxHashSet<String>,
}

impl Segmenter {
    /// Loads jieba's dictionary, the user dictionaries and stop words.
    pub fn build(config: &TokenizeConfig) -> Result<Self> {
        if config.mode == Mode::Search && (config.pos || config.entities) {
            return Err(TokenizeError::Config(
                "mode = \"search\" gives overlapping tokens; set pos = false and entities = false"
                    .into(),
            ));
        }
        let mut jieba = Jieba::new();
        for path in &config.user_dicts {
            let file = std::fs::File::open(path).map_err(|e| TokenizeError::io(path, e))?;
            jieba.load_dict(&mut BufReader::new(file)).map_err(|e| {
                TokenizeError::Config(format!("{}: invalid user dictionary: {e}", path.display()))
            })?;
        }
        for entry in &config.user_words {
            add_user_word(&mut jieba, entry)?;
        }
        let mut stop_words: FxHashSet<String> = config.stop_words.iter().cloned().collect();
        for path in &config.stop_word_files {
            let text = std::fs::read_to_string(path).map_err(|e| TokenizeError::io(path, e))?;
            stop_words.extend(
                text.lines()
                    .map(str::trim)
                    .filter(|w| !w.is_empty())
                    .map(String::from),
            );
        }
        Ok(Self {
            jieba,
            mode: config.mode,
            hmm: config.hmm,
            non_chinese: config.non_chinese,
            lowercase: config.lowercase,
            pos: config.pos,
            stop_words,
        })
    }

    /// The jieba instance, for callers that want its raw output.
    pub fn jieba(&self) -> &Jieba {
        &self.jieba
    }

    /// Adds a dictionary word (so that, for instance, a gazetteer term is
    /// kept as one token).
    pub fn add_word(&mut self, word: &str) {
        self.jieba.add_word(word, None, None);
    }

    /// Tokenizes `text`.
    pub fn segment(&self, text: &str) -> Segmented {
        let mut out = Segmented::default();
        self.segment_into(text, &mut out);
        out
    }

    /// Tokenizes `text` into `sink`, token by token, without allocating a
    /// string per token (lowercasing aside).
    ///
    /// Runs holding Chinese go to jieba and everything else to UAX #29, as
    /// [`pieces_into`] cuts them. A non-Chinese piece whose words are all single
    /// characters jieba does not join (CJK punctuation, spaces) is cut alike
    /// by both, so it joins the jieba call of its neighbours: a sentence of
    /// Chinese and punctuation costs one call instead of one per clause.
    pub fn segment_into(&self, text: &str, sink: &mut impl TokenSink) {
        if self.non_chinese == NonChinese::Jieba {
            self.segment_as_jieba(text, sink);
            sink.flush(text);
            return;
        }
        thread_local! {
            /// The pieces of the text being segmented, kept between texts
            /// so that cutting one allocates nothing.
            static PIECES: Cell<Vec<Piece>> = const { Cell::new(Vec::new()) };
        }
        // Taken, not borrowed: a sink that segments text itself would get
        // a buffer of its own.
        let mut pieces = PIECES.take();
        pieces_into(text, &mut pieces);
        // The pending jieba span: start byte and start character.
        let mut span: Option<(usize, u32)> = None;
        for piece in &pieces {
            if piece.kind == PieceKind::Chinese || single_char_words(&text[piece.bytes.clone()]) {
                span.get_or_insert((piece.bytes.start, piece.char_start));
                continue;
            }
            if let Some((start, base)) = span.take() {
                self.cut_chinese(text, start..piece.bytes.start, base, sink);
            }
            self.cut_other(text, piece.bytes.clone(), piece.char_start, sink);
        }
        if let Some((start, base)) = span {
            self.cut_chinese(text, start..text.len(), base, sink);
        }
        sink.flush(text);
        PIECES.set(pieces);
    }

    /// Python jieba's `cut`: each maximal run of the characters of its
    /// `re_han_default` goes to jieba; every other character is a token of
    /// its own, except that `\r\n` is one.
    fn segment_as_jieba(&self, text: &str, sink: &mut impl TokenSink) {
        let mut run: Option<(usize, u32)> = None;
        let mut chars = 0u32;
        let mut iter = text.char_indices().peekable();
        while let Some((at, c)) = iter.next() {
            if is_python_block_char(c) {
                run.get_or_insert((at, chars));
                chars += 1;
                continue;
            }
            if let Some((start, base)) = run.take() {
                self.cut_chinese(text, start..at, base, sink);
            }
            let (len, n) = if c == '\r' && iter.peek().is_some_and(|&(_, next)| next == '\n') {
                iter.next();
                (2, 2)
            } else {
                (c.len_utf8(), 1)
            };
            let word = &text[at..at + len];
            let tag = if self.pos { latin_tag(word) } else { "" };
            self.push(sink, text, at, word, chars, chars + n, tag);
            chars += n;
        }
        if let Some((start, base)) = run {
            self.cut_chinese(text, start..text.len(), base, sink);
        }
    }

    /// Cuts `text[bytes]`, which starts at character `base`, with jieba.
    fn cut_chinese(&self, text: &str, bytes: Range<usize>, base: u32, sink: &mut impl TokenSink) {
        let (at, slice) = (bytes.start, &text[bytes]);
        if self.pos {
            for tag in self.jieba.tag(slice, self.hmm) {
                // Characters outside jieba's blocks came from a piece of
                // punctuation merged into this span: they get the tags the
                // non-Chinese path gives them.
                let tag_of = if tag.word.starts_with(is_block_char) {
                    tag.tag
                } else {
                    latin_tag(tag.word)
                };
                self.push(
                    sink,
                    text,
                    at + tag.byte_start,
                    tag.word,
                    base + tag.start as u32,
                    base + tag.end as u32,
                    tag_of,
                );
            }
        } else {
            let mode = match self.mode {
                Mode::Precise => TokenizeMode::Default,
                Mode::Search => TokenizeMode::Search,
            };
            for token in self.jieba.tokenize(slice, mode, self.hmm) {
                self.push(
                    sink,
                    text,
                    at + token.byte_start,
                    token.word,
                    base + token.start as u32,
                    base + token.end as u32,
                    "",
                );
            }
        }
    }

    /// Cuts `text[bytes]`, which starts at character `base`, into UAX #29
    /// words.
    fn cut_other(&self, text: &str, bytes: Range<usize>, base: u32, sink: &mut impl TokenSink) {
        let (at, slice) = (bytes.start, &text[bytes]);
        let mut char_at = base;
        let mut byte_at = 0;
        for (offset, word) in slice.split_word_bound_indices() {
            char_at += slice[byte_at..offset].chars().count() as u32;
            byte_at = offset;
            let len = word.chars().count() as u32;
            let tag = if self.pos { latin_tag(word) } else { "" };
            self.push(sink, text, at + offset, word, char_at, char_at + len, tag);
        }
    }

    /// Gives `sink` the word `text[at..at + word.len()]`, unless it is a
    /// stop word or blank (blank words are kept as Python jieba gives them
    /// with `non_chinese = "jieba"`), lowercased when so configured.
    #[inline]
    #[allow(clippy::too_many_arguments)]
    fn push(
        &self,
        sink: &mut impl TokenSink,
        text: &str,
        at: usize,
        word: &str,
        start: u32,
        end: u32,
        tag: &str,
    ) {
        if self.non_chinese == NonChinese::Words && is_blank(word) {
            return;
        }
        let lowered = (self.lowercase && !is_lowercase_fixpoint(word)).then(|| word.to_lowercase());
        let token = lowered.as_deref().unwrap_or(word);
        if !self.stop_words.is_empty() && self.stop_words.contains(token) {
            return;
        }
        let tag = self.pos.then_some(tag);
        match &lowered {
            Some(lowered) => {
                sink.flush(text);
                sink.token(lowered, start, end, tag);
            }
            None => sink.text_token(text, at..at + word.len(), start, end, tag),
        }
    }
}

/// Receives the tokens of a text, in order: the token (lowercased when so
/// configured), its character offsets and its POS tag (`None` when tagging
/// is off).
///
/// A token that is a slice of the text comes through
/// [`TokenSink::text_token`], so that a sink can copy a run of adjacent
/// ones in one go (the segmenter's tokens mostly lie end to end). Such a
/// sink must have copied them by the time [`TokenSink::flush`] returns,
/// which the segmenter calls before any other token and at the end of the
/// text.
pub trait TokenSink {
    fn token(&mut self, word: &str, start: u32, end: u32, tag: Option<&str>);

    /// The token `text[bytes]`, where `text` is the whole text being
    /// segmented.
    fn text_token(
        &mut self,
        text: &str,
        bytes: Range<usize>,
        start: u32,
        end: u32,
        tag: Option<&str>,
    ) {
        self.token(&text[bytes], start, end, tag);
    }

    /// Every token of `text` given so far must be held now.
    fn flush(&mut self, _text: &str) {}
}

impl TokenSink for Segmented {
    fn token(&mut self, word: &str, start: u32, end: u32, tag: Option<&str>) {
        self.tokens.push(word.to_string());
        self.starts.push(start);
        self.ends.push(end);
        if let Some(tag) = tag {
            self.pos.push(tag.to_string());
        }
    }
}

/// Whether `word` is all whitespace (jieba returns runs of it as words).
#[inline]
fn is_blank(word: &str) -> bool {
    // The common case without decoding: U+4000–U+9FFF (lead bytes
    // 0xE4–0xE9), nearly every Chinese word's start, holds no whitespace.
    if word
        .as_bytes()
        .first()
        .is_some_and(|b| (0xe4..=0xe9).contains(b))
    {
        return false;
    }
    word.chars().all(char::is_whitespace)
}

/// Whether `str::to_lowercase` would return `word` unchanged (true of all
/// Chinese), so that the common case allocates nothing.
fn is_lowercase_fixpoint(word: &str) -> bool {
    word.chars().all(|c| {
        let mut lower = c.to_lowercase();
        lower.next() == Some(c) && lower.next().is_none()
    })
}

/// Whether UAX #29 cuts `slice` (a piece without Chinese) into single
/// characters outside jieba's blocks and runs of whitespace, the tokens
/// jieba gives such characters too (whitespace is dropped either way).
fn single_char_words(slice: &str) -> bool {
    // Nearly every such piece is punctuation between two clauses; the word
    // bounds of those are known without looking them up.
    slice.chars().all(is_lone_word_char) || uax29_single_char_words(slice)
}

/// Characters that UAX #29 never joins to a neighbour from this same set,
/// except whitespace to whitespace: ASCII punctuation and spaces outside
/// jieba's blocks, CJK and full-width punctuation, and the common general
/// and Latin-1 punctuation. They have no letter, digit, `ExtendNumLet`,
/// `Extend` or regional-indicator word-break property, which the rules
/// that join characters need; `one_punctuation_char_a_word` checks every
/// pair against unicode-segmentation.
fn is_lone_word_char(c: char) -> bool {
    match c {
        ' ' | '\t' | '\n' | '\r' | '\u{b}' | '\u{c}' => true,
        '!'..='/' | ':'..='@' | '['..='`' | '{'..='~' => !is_block_char(c),
        '\u{a1}'..='\u{a9}'
        | '\u{ab}'
        | '\u{ac}'
        | '\u{ae}'..='\u{b1}'
        | '\u{b4}'
        | '\u{b6}'
        | '\u{b7}'
        | '\u{bb}'
        | '\u{bf}'
        | '\u{d7}'
        | '\u{f7}' => true,
        '\u{2010}'..='\u{2027}' | '\u{2030}'..='\u{203e}' => true,
        '\u{3000}'..='\u{3004}' | '\u{3008}'..='\u{301f}' => true,
        '\u{ff01}'..='\u{ff0f}'
        | '\u{ff1a}'..='\u{ff20}'
        | '\u{ff3b}'..='\u{ff3e}'
        | '\u{ff40}'
        | '\u{ff5b}'..='\u{ff64}' => true,
        _ => false,
    }
}

fn uax29_single_char_words(slice: &str) -> bool {
    slice.split_word_bounds().all(|word| {
        let mut chars = word.chars();
        match (chars.next(), chars.next()) {
            (Some(c), None) => !is_block_char(c),
            _ => word.chars().all(char::is_whitespace),
        }
    })
}

/// `word [freq] [tag]`, as in a jieba user dictionary.
fn add_user_word(jieba: &mut Jieba, entry: &str) -> Result<()> {
    let mut parts = entry.split_whitespace();
    let word = parts
        .next()
        .ok_or_else(|| TokenizeError::Config("empty entry in user_words".into()))?;
    let mut freq = None;
    let mut tag = None;
    for part in parts {
        match part.parse::<usize>() {
            Ok(f) if freq.is_none() && tag.is_none() => freq = Some(f),
            _ if tag.is_none() => tag = Some(part),
            _ => {
                return Err(TokenizeError::Config(format!(
                    "user_words entry `{entry}`: expected `word [freq] [tag]`"
                )));
            }
        }
    }
    jieba.add_word(word, freq, tag);
    Ok(())
}

/// jieba's tags for words it did not tag itself: numbers `m`, words with
/// letters `eng`, anything else `x`.
fn latin_tag(word: &str) -> &'static str {
    if word.chars().all(char::is_numeric) {
        "m"
    } else if word.chars().any(char::is_alphanumeric) {
        "eng"
    } else {
        "x"
    }
}

/// Chinese characters (CJK Unified Ideographs and their extensions and
/// compatibility forms).
pub fn is_han(c: char) -> bool {
    matches!(c,
        '\u{3400}'..='\u{4DBF}' | '\u{4E00}'..='\u{9FFF}' | '\u{F900}'..='\u{FAFF}' | '\u{20000}'..='\u{2FA1F}' | '\u{30000}'..='\u{323AF}')
}

/// Characters jieba keeps in one block with Chinese (its `re_han`): Han,
/// ASCII letters and digits, and `+#&._%-`.
fn is_block_char(c: char) -> bool {
    is_han(c) || c.is_ascii_alphanumeric() || matches!(c, '+' | '#' | '&' | '.' | '_' | '%' | '-')
}

/// The characters of Python jieba 0.42.1's `re_han_default`,
/// `[\u4E00-\u9FD5a-zA-Z0-9+#&\._%\-]`: jieba-rs takes the later CJK blocks
/// in as well, which Python jieba gives one token a character.
fn is_python_block_char(c: char) -> bool {
    matches!(c, '\u{4E00}'..='\u{9FD5}')
        || c.is_ascii_alphanumeric()
        || matches!(c, '+' | '#' | '&' | '.' | '_' | '%' | '-')
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PieceKind {
    Chinese,
    Other,
}

#[derive(Debug)]
struct Piece {
    kind: PieceKind,
    bytes: Range<usize>,
    char_start: u32,
}

/// [`pieces_into`] a new vector.
#[cfg(test)]
fn pieces(text: &str) -> Vec<Piece> {
    let mut out = Vec::new();
    pieces_into(text, &mut out);
    out
}

/// Whether the character at byte `i` (a character boundary) is in
/// U+4E00–U+9FFF, all Han: lead byte 0xE5–0xE9, or 0xE4 then 0xB8 or above.
#[inline(always)]
fn is_common_han(bytes: &[u8], i: usize) -> bool {
    match bytes[i] {
        0xe5..=0xe9 => true,
        0xe4 => bytes.get(i + 1).is_some_and(|&b| b >= 0xb8),
        _ => false,
    }
}

/// Cuts text into alternating pieces, into `out` (cleared first): maximal
/// runs of block characters that hold at least one Han character (for
/// jieba), and the text between them.
fn pieces_into(text: &str, out: &mut Vec<Piece>) {
    out.clear();
    let mut push = |kind: PieceKind, bytes: Range<usize>, char_start: u32| {
        if bytes.is_empty() {
            return;
        }
        match out.last_mut() {
            Some(last)
                if last.kind == kind
                    && kind == PieceKind::Other
                    && last.bytes.end == bytes.start =>
            {
                last.bytes.end = bytes.end;
            }
            _ => out.push(Piece {
                kind,
                bytes,
                char_start,
            }),
        }
    };
    // The current run of block characters: start byte, start char, has Han.
    let mut run: Option<(usize, u32, bool)> = None;
    let mut other_start = (0usize, 0u32);
    let bytes = text.as_bytes();
    let (mut i, mut chars) = (0usize, 0u32);
    while i < bytes.len() {
        // Most characters of Chinese text are classified without decoding,
        // and a run of them is stepped over three bytes at a time; ASCII is
        // one byte.
        if is_common_han(bytes, i) {
            run.get_or_insert((i, chars, true)).2 = true;
            i += 3;
            chars += 1;
            while i < bytes.len() && is_common_han(bytes, i) {
                i += 3;
                chars += 1;
            }
            continue;
        }
        let lead = bytes[i];
        let (han, block, len) = if lead.is_ascii() {
            (false, is_block_char(lead as char), 1)
        } else {
            let c = text[i..].chars().next().unwrap_or_default();
            (is_han(c), is_block_char(c), c.len_utf8())
        };
        if block {
            run.get_or_insert((i, chars, false)).2 |= han;
        } else if let Some((start, start_char, true)) = run.take() {
            push(PieceKind::Other, other_start.0..start, other_start.1);
            push(PieceKind::Chinese, start..i, start_char);
            other_start = (i, chars);
        }
        i += len;
        chars += 1;
    }
    if let Some((start, start_char, true)) = run {
        push(PieceKind::Other, other_start.0..start, other_start.1);
        push(PieceKind::Chinese, start..text.len(), start_char);
    } else {
        push(PieceKind::Other, other_start.0..text.len(), other_start.1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segmenter() -> Segmenter {
        Segmenter::build(&TokenizeConfig::default()).unwrap()
    }

    fn check_offsets(text: &str, s: &Segmented) {
        let chars: Vec<char> = text.chars().collect();
        for (i, token) in s.tokens.iter().enumerate() {
            let source: String = chars[s.starts[i] as usize..s.ends[i] as usize]
                .iter()
                .collect();
            assert_eq!(&source, token, "token {i} of {text:?}");
        }
    }

    #[test]
    fn chinese_goes_to_jieba() {
        let s = segmenter().segment("我来到北京清华大学");
        assert_eq!(s.tokens, ["我", "来到", "北京", "清华大学"]);
        assert_eq!(s.pos, ["r", "v", "ns", "nt"]);
        check_offsets("我来到北京清华大学", &s);
    }

    #[test]
    fn mixed_text_keeps_latin_words_numbers_and_punctuation() {
        let text = "LibreOffice 7.4 的 Writer 很好用，don't panic! 价格为 3.14 元。café";
        let s = segmenter().segment(text);
        for expected in [
            "LibreOffice",
            "7.4",
            "Writer",
            "很",
            "，",
            "don't",
            "panic",
            "!",
            "3.14",
            "café",
        ] {
            assert!(
                s.tokens.iter().any(|t| t == expected),
                "{expected} missing from {:?}",
                s.tokens
            );
        }
        assert!(s.tokens.iter().all(|t| !t.trim().is_empty()));
        check_offsets(text, &s);
        let i = s.tokens.iter().position(|t| t == "LibreOffice").unwrap();
        assert_eq!(s.pos[i], "eng");
    }

    /// Every character the fast path of `single_char_words` accepts, alone
    /// and next to any other of them, is cut by UAX #29 as that function
    /// requires. Joining rules beyond a pair need letters, digits or
    /// `Extend` characters, which the set excludes.
    #[test]
    fn one_punctuation_char_a_word() {
        let lone: Vec<char> = ('\0'..='\u{ffff}')
            .filter(|&c| is_lone_word_char(c))
            .collect();
        assert!(lone.len() > 150, "{}", lone.len());
        let mut pair = String::new();
        for &a in &lone {
            assert!(uax29_single_char_words(a.encode_utf8(&mut [0; 4])), "{a:?}");
            for &b in &lone {
                pair.clear();
                pair.push(a);
                pair.push(b);
                assert!(uax29_single_char_words(&pair), "{pair:?}");
            }
        }
        for text in ["，“你好”", "a，", "，１", "、\u{301}", "..."] {
            assert_eq!(
                single_char_words(text),
                uax29_single_char_words(text),
                "{text:?}"
            );
        }
    }

    /// The pieces of `text` found by decoding every character: what the
    /// byte-level classification of `pieces_into` must give.
    fn decoded(text: &str) -> Vec<(PieceKind, std::ops::Range<usize>, u32)> {
        let mut out = Vec::new();
        let mut at = (0usize, 0u32);
        let mut run: Option<(usize, u32, bool)> = None;
        let close = |out: &mut Vec<_>, at: (usize, u32), start: usize, sc: u32, end| {
            if at.0 < start {
                out.push((PieceKind::Other, at.0..start, at.1));
            }
            out.push((PieceKind::Chinese, start..end, sc));
        };
        for (n, (i, c)) in text.char_indices().enumerate() {
            if is_block_char(c) {
                run.get_or_insert((i, n as u32, false)).2 |= is_han(c);
            } else if let Some((start, sc, true)) = run.take() {
                close(&mut out, at, start, sc, i);
                at = (i, n as u32);
            }
        }
        match run {
            Some((start, sc, true)) => close(&mut out, at, start, sc, text.len()),
            _ if at.0 < text.len() => out.push((PieceKind::Other, at.0..text.len(), at.1)),
            _ => {}
        }
        out
    }

    fn pieces_of(text: &str) -> Vec<(PieceKind, std::ops::Range<usize>, u32)> {
        pieces(text)
            .into_iter()
            .map(|p| (p.kind, p.bytes, p.char_start))
            .collect()
    }

    /// `pieces` classifies most Han characters by their UTF-8 lead byte; it
    /// must cut exactly where decoding every character would.
    #[test]
    fn pieces_agree_with_decoding_every_char() {
        for text in [
            "我来到北京清华大学",
            "䷀䷁ 卦象，㐀㐁与鿿、ꀀ彝文 𠀀𪚥 end 一丁 ䷿ 䶵䶿",
            "abc 中文123，x-y 鿿z",
            "",
            "，。",
        ] {
            assert_eq!(pieces_of(text), decoded(text), "{text:?}");
        }
    }

    #[test]
    fn pieces_alternate() {
        let kinds: Vec<(PieceKind, &str)> = {
            let text = "Hello world中文 test，再见";
            pieces(text)
                .into_iter()
                .map(|p| (p.kind, &text[p.bytes]))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            kinds,
            [
                (PieceKind::Other, "Hello "),
                (PieceKind::Chinese, "world中文"),
                (PieceKind::Other, " test，"),
                (PieceKind::Chinese, "再见")
            ]
        );
    }

    /// The segmentation before punctuation joined the jieba calls: one call
    /// per Chinese piece, UAX #29 for every other piece.
    fn piece_by_piece(segmenter: &Segmenter, text: &str) -> Segmented {
        let mut out = Segmented::default();
        for piece in pieces(text) {
            let (bytes, base) = (piece.bytes, piece.char_start);
            match piece.kind {
                PieceKind::Chinese => segmenter.cut_chinese(text, bytes, base, &mut out),
                PieceKind::Other => segmenter.cut_other(text, bytes, base, &mut out),
            }
        }
        out
    }

    /// Precise mode with POS tags, without, and search mode.
    fn modes() -> [TokenizeConfig; 3] {
        [
            TokenizeConfig::default(),
            TokenizeConfig {
                pos: false,
                entities: false,
                ..TokenizeConfig::default()
            },
            TokenizeConfig {
                mode: Mode::Search,
                pos: false,
                entities: false,
                ..TokenizeConfig::default()
            },
        ]
    }

    #[test]
    fn joined_jieba_calls_match_piece_by_piece() {
        let texts = [
            "１９９８年１２月３１日，江泽民主席发表《迈向充满希望的新世纪》。",
            "“你好！”他说：“再见……”——然后走了。",
            "中文，a，中文；5、中文 b 中文\r\n中文\t中文　中文",
            "LibreOffice 7.4 的 Writer 很好用，don't panic! 价格为 3.14 元。café",
            "（一）、中文·中文『中文』%中文-中文 ＡＢＣ中文",
            "，。开头和结尾的标点。",
            "中文\u{301}，中文e\u{301}中文",
        ];
        for config in modes() {
            let segmenter = Segmenter::build(&config).unwrap();
            for text in texts {
                let s = segmenter.segment(text);
                assert_eq!(s, piece_by_piece(&segmenter, text), "{text:?}");
                check_offsets(text, &s);
            }
        }
    }

    /// The stage's sink, which copies runs of adjacent tokens in one go,
    /// holds the same tokens as one string per token, whether tokens are
    /// lowercased, dropped as stop words or overlap (search mode).
    #[test]
    fn row_tokens_match_segmented() {
        let texts = [
            "１９９８年１２月３１日，江泽民主席发表《迈向充满希望的新世纪》。",
            "The Writer 的 功能 of LibreOffice 7.4 很好用，DON'T panic! the 中华人民共和国",
            "中文，a，中文；5、中文 b 中文\r\n中文\t中文　中文  ",
            "",
            "   ",
            "Ünïcödé ÀB 中文\u{301}，中文e\u{301}中文",
        ];
        let lowercase = TokenizeConfig {
            lowercase: true,
            stop_words: vec!["的".into(), "the".into(), "of".into()],
            ..TokenizeConfig::default()
        };
        for config in modes().into_iter().chain([lowercase]) {
            let segmenter = Segmenter::build(&config).unwrap();
            let mut row = crate::columns::RowTokens::default();
            for text in texts {
                let expected = segmenter.segment(text);
                row.clear();
                segmenter.segment_into(text, &mut row);
                assert_eq!(
                    row.tokens().collect::<Vec<_>>(),
                    expected.tokens,
                    "{text:?}"
                );
                assert_eq!(row.starts(), expected.starts, "{text:?}");
                assert_eq!(row.ends(), expected.ends, "{text:?}");
                assert_eq!(row.pos().collect::<Vec<_>>(), expected.pos, "{text:?}");
            }
        }
    }

    #[test]
    fn user_word_changes_segmentation() {
        let text = "他是韩玉鉴赏家";
        let before = segmenter().segment(text).tokens;
        let config = TokenizeConfig {
            user_words: vec!["韩玉鉴赏 5 nz".into()],
            ..TokenizeConfig::default()
        };
        let after = Segmenter::build(&config).unwrap().segment(text);
        assert!(!before.contains(&"韩玉鉴赏".to_string()), "{before:?}");
        assert!(
            after.tokens.contains(&"韩玉鉴赏".to_string()),
            "{:?}",
            after.tokens
        );
    }

    #[test]
    fn stop_words_and_lowercase() {
        let config = TokenizeConfig {
            lowercase: true,
            stop_words: vec!["的".into(), "the".into()],
            ..TokenizeConfig::default()
        };
        let s = Segmenter::build(&config)
            .unwrap()
            .segment("The Writer 的 功能");
        assert_eq!(s.tokens, ["writer", "功能"]);
    }

    #[test]
    fn search_mode_without_pos() {
        let config = TokenizeConfig {
            mode: Mode::Search,
            pos: false,
            entities: false,
            ..TokenizeConfig::default()
        };
        let text = "中华人民共和国成立了";
        let s = Segmenter::build(&config).unwrap().segment(text);
        assert!(s.tokens.contains(&"共和国".to_string()), "{:?}", s.tokens);
        assert!(s.pos.is_empty());
        check_offsets(text, &s);
        let bad = TokenizeConfig {
            mode: Mode::Search,
            ..TokenizeConfig::default()
        };
        assert!(Segmenter::build(&bad).is_err());
    }

    /// Property tests over arbitrary text: mixed scripts, full-width forms,
    /// emoji, combining marks, control characters.
    mod props {
        use super::*;
        use proptest::prelude::*;
        use std::sync::OnceLock;

        fn a_char() -> impl Strategy<Value = char> {
            prop_oneof![
                4 => prop::char::range('\u{4E00}', '\u{9FFF}'),
                3 => prop::char::range(' ', '~'),
                1 => prop::char::range('\u{FF01}', '\u{FF5E}'),
                1 => prop::char::range('\u{3000}', '\u{303F}'),
                1 => prop::char::range('\u{2000}', '\u{206F}'),
                1 => prop::char::range('\u{1F300}', '\u{1FAFF}'),
                1 => prop::char::range('\u{0300}', '\u{036F}'),
                1 => prop::char::range('\u{0000}', '\u{001F}'),
                1 => prop::char::range('\u{00A0}', '\u{024F}'),
                1 => prop::char::range('\u{3400}', '\u{4DBF}'),
                1 => prop::char::range('\u{20000}', '\u{2A6DF}'),
                1 => prop::char::range('\u{AC00}', '\u{D7A3}'),
                1 => prop::sample::select(vec!['\u{200D}', '\u{FE0F}', '\u{3000}', '\r', '\n']),
                1 => any::<char>(),
            ]
        }

        fn a_text() -> impl Strategy<Value = String> {
            prop::collection::vec(a_char(), 0..40).prop_map(|chars| chars.into_iter().collect())
        }

        /// Segmenters built once (loading jieba's dictionary takes 0.1 s):
        /// the stage's default, without tags, search mode, lowercasing with
        /// stop words, and Python jieba's handling in both modes.
        fn segmenters() -> &'static [(TokenizeConfig, Segmenter)] {
            static ALL: OnceLock<Vec<(TokenizeConfig, Segmenter)>> = OnceLock::new();
            ALL.get_or_init(|| {
                let jieba = |mode| TokenizeConfig {
                    non_chinese: NonChinese::Jieba,
                    mode,
                    pos: false,
                    entities: false,
                    ..TokenizeConfig::default()
                };
                let lowercase = TokenizeConfig {
                    lowercase: true,
                    stop_words: vec!["的".into(), "the".into(), "a".into()],
                    ..TokenizeConfig::default()
                };
                modes()
                    .into_iter()
                    .chain([lowercase, jieba(Mode::Precise), jieba(Mode::Search)])
                    .map(|config| {
                        let segmenter = Segmenter::build(&config).expect("segmenter");
                        (config, segmenter)
                    })
                    .collect()
            })
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(256))]

            /// Every token is its span of the text (lowercased where so
            /// configured); precise-mode tokens are in order without
            /// overlap, and what they leave out is whitespace (or, with
            /// Python jieba's handling, nothing).
            #[test]
            fn offsets_map_back_into_the_text(text in a_text()) {
                let chars: Vec<char> = text.chars().collect();
                for (config, segmenter) in segmenters() {
                    let s = segmenter.segment(&text);
                    prop_assert_eq!(s.tokens.len(), s.starts.len());
                    prop_assert_eq!(s.tokens.len(), s.ends.len());
                    let mut covered = vec![false; chars.len()];
                    let mut last_end = 0;
                    for (i, token) in s.tokens.iter().enumerate() {
                        let (start, end) = (s.starts[i] as usize, s.ends[i] as usize);
                        prop_assert!(start < end && end <= chars.len(), "{:?} {}..{}", token, start, end);
                        let source: String = chars[start..end].iter().collect();
                        let expected = if config.lowercase { source.to_lowercase() } else { source };
                        prop_assert_eq!(token, &expected);
                        if config.mode == Mode::Precise {
                            prop_assert!(start >= last_end, "token {} overlaps", i);
                            last_end = end;
                        }
                        covered[start..end].iter_mut().for_each(|c| *c = true);
                    }
                    for (i, &c) in chars.iter().enumerate() {
                        if covered[i] || !config.stop_words.is_empty() {
                            continue;
                        }
                        prop_assert!(
                            config.non_chinese == NonChinese::Words && c.is_whitespace(),
                            "character {} ({:?}) is in no token", i, c
                        );
                    }
                }
            }

            /// Punctuation joined into the jieba calls of its neighbours
            /// (the fast path) cuts as one call per piece does, and the
            /// stage's sink holds what one string per token holds.
            #[test]
            fn fast_segmentation_paths_match_the_plain_ones(text in a_text()) {
                for (config, segmenter) in segmenters() {
                    let s = segmenter.segment(&text);
                    if config.non_chinese == NonChinese::Words {
                        prop_assert_eq!(&s, &piece_by_piece(segmenter, &text));
                    }
                    let mut row = crate::columns::RowTokens::default();
                    segmenter.segment_into(&text, &mut row);
                    prop_assert_eq!(row.tokens().collect::<Vec<_>>(), s.tokens.clone());
                    prop_assert_eq!(row.starts(), s.starts.clone());
                    prop_assert_eq!(row.ends(), s.ends.clone());
                    prop_assert_eq!(row.pos().collect::<Vec<_>>(), s.pos.clone());
                }
            }

            /// The byte-level piece cutter, the known-punctuation shortcut
            /// of `single_char_words` and the lead-byte test of `is_blank`
            /// agree with decoding every character.
            #[test]
            fn byte_level_shortcuts_match_decoding(text in a_text()) {
                prop_assert_eq!(pieces_of(&text), decoded(&text));
                prop_assert_eq!(single_char_words(&text), uax29_single_char_words(&text));
                prop_assert_eq!(is_blank(&text), text.chars().all(char::is_whitespace));
                let bytes = text.as_bytes();
                for (i, c) in text.char_indices() {
                    prop_assert_eq!(is_common_han(bytes, i), ('\u{4E00}'..='\u{9FFF}').contains(&c));
                }
            }

            /// Pieces of only punctuation and spaces: the inputs the
            /// shortcut of `single_char_words` is for.
            #[test]
            fn punctuation_shortcut_matches_uax29(
                text in prop::collection::vec(
                    prop_oneof![
                        prop::char::range('!', '/'),
                        prop::char::range('\u{3000}', '\u{301F}'),
                        prop::char::range('\u{FF01}', '\u{FF0F}'),
                        prop::char::range('\u{2010}', '\u{203E}'),
                        prop::sample::select(vec![' ', '\t', '\n', 'a', '1', '\u{301}', '中']),
                    ],
                    0..12,
                ).prop_map(|c| c.into_iter().collect::<String>())
            ) {
                prop_assert_eq!(single_char_words(&text), uax29_single_char_words(&text));
            }
        }
    }
}
