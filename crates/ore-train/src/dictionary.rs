//! The word-by-word baseline of a translator: every source token looked up
//! in CC-CEDICT and replaced by its first gloss (zh -> en), or every English
//! word replaced by the shortest headword glossed by it alone (en -> zh).
//! What a translator must beat to have learnt more than a dictionary.
//!
//! ```
//! use ore_eval::Lang;
//! use ore_train::dictionary::Dictionary;
//!
//! let cedict = "打開 打开 [da3 kai1] /to open/to switch on/\n\
//!               文件 文件 [wen2 jian4] /document/file/CL:份[fen4]/\n";
//! let zh_en = Dictionary::parse(cedict, Lang::Zh);
//! let words = ["打开", "文件", "。"].map(String::from);
//! assert_eq!(zh_en.translate(&words), "open document.");
//! ```

use std::io::Read as _;
use std::path::Path;

use ore_eval::Lang;
use rustc_hash::FxHashMap;

use crate::error::{Result, TrainError};
use crate::eval::detokenize;

/// Source words to target words, for one direction.
#[derive(Debug, Clone)]
pub struct Dictionary {
    /// The language translated from.
    from: Lang,
    words: FxHashMap<String, String>,
    /// Longest key in characters (for longest-match lookup inside a token).
    longest: usize,
}

/// A gloss as one plain phrase: `to open (a door); unlock` -> `open`.
fn clean_gloss(gloss: &str) -> Option<String> {
    let skip = [
        "variant of",
        "old variant",
        "see ",
        "CL:",
        "surname ",
        "used in",
        "abbr. for",
        "erhua variant",
        "Japanese variant",
    ];
    if skip.iter().any(|s| gloss.starts_with(s)) {
        return None;
    }
    let mut plain = String::new();
    let mut depth = 0usize;
    for c in gloss.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            _ if depth == 0 => plain.push(c),
            _ => {}
        }
    }
    let first = plain.split([';', ',']).next().unwrap_or("").trim();
    let first = first.strip_prefix("to ").unwrap_or(first).trim();
    (!first.is_empty() && !first.contains('|') && !first.contains('[')).then(|| first.to_string())
}

impl Dictionary {
    /// Loads CC-CEDICT (`.txt` or `.txt.gz`) for translating from `from`
    /// (`zh`: to English; `en`: to Chinese).
    pub fn load(path: &Path, from: Lang) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| TrainError::io(path, e))?;
        let text = if path.extension().is_some_and(|e| e == "gz") {
            let mut s = String::new();
            flate2::read::GzDecoder::new(bytes.as_slice())
                .read_to_string(&mut s)
                .map_err(|e| TrainError::invalid(path, format!("cannot gunzip: {e}")))?;
            s
        } else {
            String::from_utf8(bytes).map_err(|e| TrainError::invalid(path, e.to_string()))?
        };
        let dict = Self::parse(&text, from);
        if dict.words.is_empty() {
            return Err(TrainError::invalid(
                path,
                "not CC-CEDICT: no entry `TRAD SIMP [pin1 yin1] /gloss/`",
            ));
        }
        Ok(dict)
    }

    /// Reads CC-CEDICT's lines. Entries with a lower-case reading (common
    /// words, not names) win over those without; then the earlier entry.
    pub fn parse(text: &str, from: Lang) -> Self {
        // key -> (value, proper noun?, rank)
        let mut best: FxHashMap<String, (String, bool, usize)> = FxHashMap::default();
        let mut offer = |key: String, value: String, proper: bool, rank: usize| {
            let better = |old: &(String, bool, usize)| {
                (proper, rank, value.chars().count()) < (old.1, old.2, old.0.chars().count())
            };
            match best.get(&key) {
                Some(old) if !better(old) => {}
                _ => {
                    best.insert(key, (value, proper, rank));
                }
            }
        };
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let mut f = line.splitn(3, ' ');
            let (Some(trad), Some(simp), Some(rest)) = (f.next(), f.next(), f.next()) else {
                continue;
            };
            let Some((reading, glosses)) = rest.strip_prefix('[').and_then(|r| r.split_once(']'))
            else {
                continue;
            };
            let proper = reading.chars().next().is_some_and(char::is_uppercase);
            let glosses: Vec<String> = glosses.split('/').filter_map(clean_gloss).collect();
            match from {
                Lang::Zh => {
                    if let Some(g) = glosses.first() {
                        offer(simp.to_string(), g.clone(), proper, 0);
                        if trad != simp {
                            offer(trad.to_string(), g.clone(), proper, 1);
                        }
                    }
                }
                Lang::En => {
                    for (rank, g) in glosses.iter().enumerate() {
                        if !g.contains(' ') {
                            offer(g.to_lowercase(), simp.to_string(), proper, rank);
                        }
                    }
                }
            }
        }
        let longest = best.keys().map(|k| k.chars().count()).max().unwrap_or(0);
        Self {
            from,
            words: best.into_iter().map(|(k, (v, _, _))| (k, v)).collect(),
            longest,
        }
    }

    pub fn len(&self) -> usize {
        self.words.len()
    }

    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// Tokens as target text: a token found whole is replaced; a Chinese
    /// token that is not is cut into the longest entries it holds, left to
    /// right; anything else (numbers, names, punctuation) is kept, Chinese
    /// punctuation as its English form.
    pub fn translate(&self, tokens: &[String]) -> String {
        let mut out: Vec<String> = Vec::with_capacity(tokens.len());
        for t in tokens {
            let key = match self.from {
                Lang::En => t.to_lowercase(),
                Lang::Zh => t.clone(),
            };
            if let Some(w) = self.words.get(&key) {
                out.push(w.clone());
                continue;
            }
            match self.from {
                Lang::Zh if t.chars().any(|c| c as u32 >= 0x3400) => self.cut(t, &mut out),
                Lang::Zh => out.push(t.chars().map(punctuation).collect()),
                Lang::En => out.push(t.clone()),
            }
        }
        let to = match self.from {
            Lang::Zh => Lang::En,
            Lang::En => Lang::Zh,
        };
        detokenize(&out, to)
    }

    /// Longest-match lookup inside a token with no entry of its own.
    fn cut(&self, token: &str, out: &mut Vec<String>) {
        let chars: Vec<char> = token.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            let mut found = false;
            for len in (1..=self.longest.min(chars.len() - i)).rev() {
                let piece: String = chars[i..i + len].iter().collect();
                if let Some(w) = self.words.get(&piece) {
                    out.push(w.clone());
                    i += len;
                    found = true;
                    break;
                }
            }
            if !found {
                out.push(punctuation(chars[i]).to_string());
                i += 1;
            }
        }
    }
}

/// Chinese punctuation as English writes it.
fn punctuation(c: char) -> String {
    match c {
        '，' | '、' => ",".into(),
        '。' => ".".into(),
        '：' => ":".into(),
        '；' => ";".into(),
        '？' => "?".into(),
        '！' => "!".into(),
        '（' => "(".into(),
        '）' => ")".into(),
        '“' | '”' | '「' | '」' => "\"".into(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CEDICT: &str = "# comment\n\
        打開 打开 [da3 kai1] /to open/to switch on/\n\
        文件 文件 [wen2 jian4] /document/file/CL:份[fen4]/\n\
        選擇 选择 [xuan3 ze2] /to select/to pick/\n\
        選 选 [xuan3] /to choose/to pick/\n\
        擇 择 [ze2] /to select/\n\
        王 王 [Wang2] /surname Wang/\n\
        王 王 [wang2] /king/\n\
        開 开 [kai1] /(of a door) to open/\n";

    fn t(s: &str) -> Vec<String> {
        s.split(' ').map(String::from).collect()
    }

    #[test]
    fn chinese_words_become_their_first_plain_gloss() {
        let d = Dictionary::parse(CEDICT, Lang::Zh);
        assert_eq!(
            d.translate(&t("选择 文件 ， 打开 。")),
            "select document, open."
        );
        // A token with no entry is cut into the longest entries it holds.
        assert_eq!(d.translate(&t("选择王")), "select king");
        assert_eq!(d.translate(&t("Writer 7")), "Writer 7");
        assert_eq!(d.translate(&t("開")), "open");
    }

    #[test]
    fn english_words_become_the_shortest_headword_glossed_by_them_alone() {
        let d = Dictionary::parse(CEDICT, Lang::En);
        assert_eq!(d.translate(&t("Open the document")), "开the文件");
        assert_eq!(d.translate(&t("select")), "择");
    }
}
