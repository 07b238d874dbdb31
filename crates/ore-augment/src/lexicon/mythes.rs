//! English synonyms from a MyThes thesaurus (`th_en_US_v2.dat`, Debian's
//! `mythes-en-us`): the first line names the encoding, then each entry is
//! `word|N` followed by N meaning lines `(pos)|syn|syn…`. A synonym marked
//! `(antonym)`, `(generic term)` or `(related term)` is not one and is
//! skipped; `(similar term)` is kept without its mark.

use std::path::Path;

use rustc_hash::FxHashMap;

use super::{Pos, Synonyms};
use crate::error::{AugmentError, Result};

/// Synonyms by lower-case headword, each with its part of speech.
#[derive(Debug, Default)]
pub struct MyThes {
    words: Vec<Box<str>>,
    by_word: FxHashMap<Box<str>, Vec<(Option<Pos>, u32)>>,
}

impl MyThes {
    pub fn load(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path)
            .map_err(|e| AugmentError::resource(path, format!("cannot read MyThes: {e}")))?;
        let first = bytes.split(|&b| b == b'\n').next().unwrap_or_default();
        let text = if String::from_utf8_lossy(first)
            .to_ascii_uppercase()
            .contains("UTF-8")
        {
            String::from_utf8_lossy(&bytes).into_owned()
        } else {
            // ISO-8859-1: every byte is the code point of the same value.
            bytes.iter().map(|&b| char::from(b)).collect()
        };
        let th = Self::parse(&text).map_err(|line| {
            AugmentError::resource(path, format!("line {line}: not a MyThes entry (`word|N`)"))
        })?;
        if th.by_word.is_empty() {
            return Err(AugmentError::resource(path, "no MyThes entry in this file"));
        }
        Ok(th)
    }

    pub fn parse(text: &str) -> std::result::Result<Self, usize> {
        let mut th = Self::default();
        let mut ids: FxHashMap<String, u32> = FxHashMap::default();
        let mut lines = text.lines().enumerate().skip(1);
        while let Some((n, line)) = lines.next() {
            if line.trim().is_empty() {
                continue;
            }
            let (head, count) = line.rsplit_once('|').ok_or(n + 1)?;
            let count: usize = count.trim().parse().map_err(|_| n + 1)?;
            let key: Box<str> = head.to_lowercase().into();
            let mut entry: Vec<(Option<Pos>, u32)> = Vec::new();
            for _ in 0..count {
                let Some((_, meaning)) = lines.next() else {
                    break;
                };
                let mut fields = meaning.split('|');
                let pos = fields.next().and_then(pos_of);
                for syn in fields {
                    let syn = syn.trim();
                    let syn = match syn.rsplit_once(" (") {
                        Some((word, "similar term)")) => word,
                        Some((_, _)) => continue,
                        None => syn,
                    };
                    if syn.is_empty() || syn.eq_ignore_ascii_case(head) {
                        continue;
                    }
                    let id = *ids.entry(syn.to_string()).or_insert_with(|| {
                        th.words.push(syn.into());
                        (th.words.len() - 1) as u32
                    });
                    if !entry.contains(&(pos, id)) {
                        entry.push((pos, id));
                    }
                }
            }
            if !entry.is_empty() {
                th.by_word.entry(key).or_default().extend(entry);
            }
        }
        Ok(th)
    }

    pub fn entries(&self) -> usize {
        self.by_word.len()
    }
}

fn pos_of(field: &str) -> Option<Pos> {
    match field.trim().trim_matches(|c| c == '(' || c == ')') {
        "noun" => Some(Pos::Noun),
        "verb" => Some(Pos::Verb),
        "adj" => Some(Pos::Adj),
        "adv" => Some(Pos::Adv),
        _ => None,
    }
}

impl Synonyms for MyThes {
    fn synonyms(&self, word: &str, pos: Option<Pos>, out: &mut Vec<String>) {
        let Some(entry) = self.by_word.get(word.to_lowercase().as_str()) else {
            return;
        };
        for &(p, id) in entry {
            if pos.is_some() && p.is_some() && p != pos {
                continue;
            }
            let w = &*self.words[id as usize];
            if !out.iter().any(|o| o == w) {
                out.push(w.to_string());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meanings_and_marks() {
        let text = "UTF-8\nhappy|2\n(adj)|felicitous (similar term)|glad (similar term)|unhappy (antonym)\n(adj)|well-chosen|felicitous\nrun|1\n(verb)|operate|function|move (generic term)\n";
        let th = MyThes::parse(text).unwrap();
        let mut out = Vec::new();
        th.synonyms("Happy", Some(Pos::Adj), &mut out);
        assert_eq!(out, vec!["felicitous", "glad", "well-chosen"]);
        out.clear();
        th.synonyms("run", Some(Pos::Noun), &mut out);
        assert!(out.is_empty());
        th.synonyms("run", None, &mut out);
        assert_eq!(out, vec!["operate", "function"]);
        assert_eq!(MyThes::parse("UTF-8\nbroken\n").err(), Some(2));
    }
}
