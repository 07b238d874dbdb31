//! Small fixed tables: QWERTY neighbours, equivalent characters, stop
//! words and the punctuation an op may insert.

/// Whether `c` is a key of [`keyboard_neighbours`]'s rows (each of them
/// has neighbours).
pub fn on_keyboard(c: char) -> bool {
    c.is_ascii_alphanumeric()
}

/// Keys next to `c` on a QWERTY keyboard (same case as `c`).
pub fn keyboard_neighbours(c: char) -> Vec<char> {
    const ROWS: [&str; 4] = ["1234567890", "qwertyuiop", "asdfghjkl", "zxcvbnm"];
    let lower = c.to_ascii_lowercase();
    let Some((r, i)) = ROWS
        .iter()
        .enumerate()
        .find_map(|(r, row)| row.find(lower).map(|i| (r, i)))
    else {
        return Vec::new();
    };
    let at = |row: usize, col: isize| -> Option<char> {
        let row = ROWS.get(row)?;
        usize::try_from(col).ok().and_then(|c| row.chars().nth(c))
    };
    let i = i as isize;
    // Each row sits about half a key right of the one above it.
    let mut out: Vec<char> = [
        at(r, i - 1),
        at(r, i + 1),
        r.checked_sub(1).and_then(|up| at(up, i)),
        r.checked_sub(1).and_then(|up| at(up, i + 1)),
        at(r + 1, i - 1),
        at(r + 1, i),
    ]
    .into_iter()
    .flatten()
    .collect();
    if c.is_ascii_uppercase() {
        out.iter_mut().for_each(|k| *k = k.to_ascii_uppercase());
    }
    out
}

/// Rows of characters that write the same number: ASCII, Chinese, Chinese
/// financial (大写), circled, full-width.
const NUMERALS: [&str; 5] = [
    "0123456789",
    "〇一二三四五六七八九",
    "零壹贰叁肆伍陆柒捌玖",
    "⓪①②③④⑤⑥⑦⑧⑨",
    "０１２３４５６７８９",
];

/// The other ways to write the number `c` writes (`1` → `一 壹 ① １`).
pub fn equivalents(c: char) -> Vec<char> {
    for row in NUMERALS {
        if let Some(value) = row.chars().position(|x| x == c) {
            return NUMERALS
                .iter()
                .filter_map(|r| r.chars().nth(value))
                .filter(|&x| x != c)
                .collect();
        }
    }
    Vec::new()
}

/// Whether `c` is one of the Chinese numerals (not an ASCII or full-width
/// digit), which are also parts of ordinary words (一起, 统一).
pub fn is_word_numeral(c: char) -> bool {
    NUMERALS[1..4].iter().any(|r| r.contains(c))
}

/// What may be inserted between words: Chinese text gets full-width marks.
pub const PUNCT_ZH: [&str; 6] = ["，", "。", "！", "？", "；", "、"];
pub const PUNCT_EN: [&str; 6] = [",", ".", "!", "?", ";", ":"];

/// English stop words, never replaced (function words a synonym cannot
/// stand in for).
pub const STOP_EN: &[&str] = &[
    "a",
    "about",
    "above",
    "after",
    "again",
    "against",
    "all",
    "am",
    "an",
    "and",
    "any",
    "are",
    "as",
    "at",
    "be",
    "because",
    "been",
    "before",
    "being",
    "below",
    "between",
    "both",
    "but",
    "by",
    "can",
    "could",
    "did",
    "do",
    "does",
    "doing",
    "down",
    "during",
    "each",
    "few",
    "for",
    "from",
    "further",
    "had",
    "has",
    "have",
    "having",
    "he",
    "her",
    "here",
    "hers",
    "herself",
    "him",
    "himself",
    "his",
    "how",
    "i",
    "if",
    "in",
    "into",
    "is",
    "it",
    "its",
    "itself",
    "just",
    "me",
    "more",
    "most",
    "my",
    "myself",
    "no",
    "nor",
    "not",
    "now",
    "of",
    "off",
    "on",
    "once",
    "only",
    "or",
    "other",
    "our",
    "ours",
    "ourselves",
    "out",
    "over",
    "own",
    "same",
    "she",
    "should",
    "so",
    "some",
    "such",
    "than",
    "that",
    "the",
    "their",
    "theirs",
    "them",
    "themselves",
    "then",
    "there",
    "these",
    "they",
    "this",
    "those",
    "through",
    "to",
    "too",
    "under",
    "until",
    "up",
    "very",
    "was",
    "we",
    "were",
    "what",
    "when",
    "where",
    "which",
    "while",
    "who",
    "whom",
    "why",
    "will",
    "with",
    "would",
    "you",
    "your",
    "yours",
    "yourself",
    "yourselves",
    "'s",
    "n't",
    "'re",
    "'ve",
    "'ll",
    "'d",
    "'m",
];

/// Chinese stop words: particles, pronouns, common function words.
pub const STOP_ZH: &[&str] = &[
    "的", "了", "在", "是", "我", "有", "和", "就", "不", "人", "都", "一", "一个", "上", "也",
    "很", "到", "说", "要", "去", "你", "会", "着", "没有", "看", "好", "自己", "这", "那", "他",
    "她", "它", "们", "我们", "你们", "他们", "她们", "它们", "这个", "那个", "之", "与", "及",
    "或", "而", "把", "被", "让", "给", "对", "从", "向", "以", "为", "于", "吗", "呢", "吧", "啊",
    "呀", "哦", "嗯", "地", "得", "所", "其", "此", "等", "并", "且", "但", "却", "因为", "所以",
    "如果", "虽然", "已", "已经", "还", "又", "再", "才", "只", "将", "能", "可以", "这些", "那些",
    "什么", "怎么", "哪", "谁", "个", "中", "里",
];

/// Whether `word` is a stop word of its script.
pub fn is_stop_word(word: &str) -> bool {
    if word.chars().any(crate::seq::is_han) {
        STOP_ZH.contains(&word)
    } else {
        let lower = word.to_lowercase();
        STOP_EN.contains(&lower.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neighbours_on_the_keyboard() {
        let mut g = keyboard_neighbours('g');
        g.sort_unstable();
        assert_eq!(g, vec!['b', 'f', 'h', 't', 'v', 'y']);
        assert!(
            keyboard_neighbours('Q')
                .iter()
                .filter(|c| c.is_alphabetic())
                .all(char::is_ascii_uppercase)
        );
        assert!(keyboard_neighbours('中').is_empty());
        for c in (0..128u8).map(char::from) {
            assert_eq!(on_keyboard(c), !keyboard_neighbours(c).is_empty(), "{c:?}");
        }
    }

    #[test]
    fn numerals_have_their_equivalents() {
        assert_eq!(equivalents('1'), vec!['一', '壹', '①', '１']);
        assert_eq!(equivalents('叁'), vec!['3', '三', '③', '３']);
        assert!(equivalents('x').is_empty());
        assert!(is_word_numeral('一') && !is_word_numeral('1'));
        assert!(is_stop_word("The") && is_stop_word("的") && !is_stop_word("北京"));
    }
}
