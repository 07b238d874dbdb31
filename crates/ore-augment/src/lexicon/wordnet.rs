//! English synonyms from WordNet 3.0's database files (`data.noun`,
//! `data.verb`, `data.adj`, `data.adv` and the `*.exc` exception lists),
//! parsed here, so nothing needs NLTK or a download at run time.
//!
//! A data line is `offset lex_filenum ss_type w_cnt word lex_id [word
//! lex_id …] p_cnt …`, `w_cnt` in hex, multi-word lemmas joined by `_`,
//! adjectives possibly marked `(a)`, `(p)` or `(ip)`. Lines starting with
//! two spaces are the licence.

use std::path::Path;

use rustc_hash::FxHashMap;

use super::{Pos, Synonyms};
use crate::error::{AugmentError, Result};

const FILES: [(&str, Pos); 4] = [
    ("noun", Pos::Noun),
    ("verb", Pos::Verb),
    ("adj", Pos::Adj),
    ("adv", Pos::Adv),
];

/// Synsets by lemma and part of speech.
#[derive(Debug, Default)]
pub struct WordNet {
    words: Vec<Box<str>>,
    synsets: Vec<Vec<u32>>,
    by_lemma: FxHashMap<(Box<str>, Pos), Vec<u32>>,
    /// Irregular forms (`geese` → `goose`), by part of speech.
    exceptions: FxHashMap<(Box<str>, Pos), Vec<Box<str>>>,
}

impl WordNet {
    /// Loads the database in folder `dir` (Debian's `/usr/share/wordnet`).
    pub fn load(dir: &Path) -> Result<Self> {
        let mut wn = Self::default();
        let mut ids: FxHashMap<Box<str>, u32> = FxHashMap::default();
        for (name, pos) in FILES {
            let path = dir.join(format!("data.{name}"));
            let bytes = std::fs::read(&path)
                .map_err(|e| AugmentError::resource(&path, format!("cannot read WordNet: {e}")))?;
            let text = String::from_utf8_lossy(&bytes);
            wn.parse_data(&text, pos, &mut ids).map_err(|line| {
                AugmentError::resource(&path, format!("line {line}: not a WordNet data line"))
            })?;
            let exc = dir.join(format!("{name}.exc"));
            if let Ok(text) = std::fs::read_to_string(&exc) {
                wn.parse_exceptions(&text, pos);
            }
        }
        if wn.synsets.is_empty() {
            return Err(AugmentError::resource(dir, "no WordNet synsets in data.*"));
        }
        Ok(wn)
    }

    /// Adds the synsets of one data file; `Err(line)` names a malformed line.
    pub fn parse_data(
        &mut self,
        text: &str,
        pos: Pos,
        ids: &mut FxHashMap<Box<str>, u32>,
    ) -> std::result::Result<(), usize> {
        for (n, line) in text.lines().enumerate() {
            if line.starts_with("  ") || line.trim().is_empty() {
                continue;
            }
            let mut f = line.split(' ');
            let (_offset, _lex, _ss) = (f.next(), f.next(), f.next());
            let count = f
                .next()
                .and_then(|c| usize::from_str_radix(c, 16).ok())
                .ok_or(n + 1)?;
            let mut synset = Vec::with_capacity(count);
            for _ in 0..count {
                let word = f.next().ok_or(n + 1)?;
                f.next().ok_or(n + 1)?; // lex_id
                let word = strip_marker(word).replace('_', " ");
                let id = match ids.get(word.as_str()) {
                    Some(&id) => id,
                    None => {
                        self.words.push(word.as_str().into());
                        let id = (self.words.len() - 1) as u32;
                        ids.insert(word.as_str().into(), id);
                        id
                    }
                };
                if !synset.contains(&id) {
                    synset.push(id);
                }
            }
            let s = self.synsets.len() as u32;
            for &id in &synset {
                let lemma = self.words[id as usize].to_lowercase().into_boxed_str();
                let entry = self.by_lemma.entry((lemma, pos)).or_default();
                if !entry.contains(&s) {
                    entry.push(s);
                }
            }
            self.synsets.push(synset);
        }
        Ok(())
    }

    fn parse_exceptions(&mut self, text: &str, pos: Pos) {
        for line in text.lines() {
            let mut f = line.split_whitespace();
            if let Some(form) = f.next() {
                let bases: Vec<Box<str>> = f.map(|b| b.replace('_', " ").into()).collect();
                self.exceptions.insert((form.into(), pos), bases);
            }
        }
    }

    /// Synonyms of a lemma as WordNet spells them (`dog` → `domestic dog`,
    /// `Canis familiaris`), excluding the lemma itself.
    fn of_lemma(&self, lemma: &str, pos: Pos, out: &mut Vec<String>) {
        let Some(synsets) = self.by_lemma.get(&(lemma.into(), pos)) else {
            return;
        };
        for &s in synsets {
            for &id in &self.synsets[s as usize] {
                let w = &*self.words[id as usize];
                if !w.eq_ignore_ascii_case(lemma) && !out.iter().any(|o| o == w) {
                    out.push(w.to_string());
                }
            }
        }
    }

    pub fn synsets(&self) -> usize {
        self.synsets.len()
    }
}

impl Synonyms for WordNet {
    /// The synonyms of `word`: of the word itself when it is a lemma; of
    /// its singular when it is a regular plural noun (`cars` → `car`), the
    /// synonyms then made plural. Other inflected forms (`ran`, `running`)
    /// get none: a lemma in their place would be ungrammatical.
    fn synonyms(&self, word: &str, pos: Option<Pos>, out: &mut Vec<String>) {
        let lower = word.to_lowercase();
        let wanted: &[Pos] = match &pos {
            Some(p) => std::slice::from_ref(p),
            None => &[Pos::Noun, Pos::Verb, Pos::Adj, Pos::Adv],
        };
        for &p in wanted {
            self.of_lemma(&lower, p, out);
        }
        if !out.is_empty() || !wanted.contains(&Pos::Noun) {
            return;
        }
        if let Some(singular) = singular(&lower)
            && self
                .by_lemma
                .contains_key(&(singular.as_str().into(), Pos::Noun))
            && !self
                .exceptions
                .contains_key(&(lower.as_str().into(), Pos::Noun))
        {
            let mut found = Vec::new();
            self.of_lemma(&singular, Pos::Noun, &mut found);
            out.extend(found.iter().map(|s| plural(s)));
        }
    }
}

fn strip_marker(word: &str) -> &str {
    for marker in ["(a)", "(p)", "(ip)"] {
        if let Some(w) = word.strip_suffix(marker) {
            return w;
        }
    }
    word
}

/// The singular of a regular English plural, if `word` looks like one.
fn singular(word: &str) -> Option<String> {
    if word.len() < 4 || word.ends_with("ss") || word.ends_with("us") || word.ends_with("is") {
        return None;
    }
    if let Some(stem) = word.strip_suffix("ies") {
        return Some(format!("{stem}y"));
    }
    for suffix in ["ches", "shes", "xes", "ses", "zes"] {
        if let Some(stem) = word.strip_suffix("es")
            && word.ends_with(suffix)
        {
            return Some(stem.to_string());
        }
    }
    word.strip_suffix('s').map(str::to_string)
}

/// The regular plural of `phrase` (its last word).
fn plural(phrase: &str) -> String {
    let last = phrase.rsplit(' ').next().unwrap_or(phrase);
    let consonant_y = last.ends_with('y')
        && !last
            .chars()
            .rev()
            .nth(1)
            .is_some_and(|c| "aeiou".contains(c));
    if consonant_y {
        format!("{}ies", &phrase[..phrase.len() - 1])
    } else if ["s", "x", "z", "ch", "sh"]
        .iter()
        .any(|s| last.ends_with(s))
    {
        format!("{phrase}es")
    } else {
        format!("{phrase}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOUNS: &str = "  1 This software and database is being provided\n\
02084071 05 n 03 dog 0 domestic_dog 0 Canis_familiaris 0 023 @ 02083346 n 0000 | a member of the genus Canis\n\
02958343 06 n 05 car 0 auto 0 automobile 0 machine 0 motorcar 0 031 @ 03791235 n 0000 | a motor vehicle\n";
    const ADJS: &str =
        "00001740 00 a 01 able(a) 0 005 = 05207437 n 0000 | having the necessary means\n";

    fn sample() -> WordNet {
        let mut wn = WordNet::default();
        let mut ids = FxHashMap::default();
        wn.parse_data(NOUNS, Pos::Noun, &mut ids).unwrap();
        wn.parse_data(ADJS, Pos::Adj, &mut ids).unwrap();
        wn
    }

    #[test]
    fn synsets_give_synonyms_with_spaces() {
        let wn = sample();
        let mut out = Vec::new();
        wn.synonyms("Dog", None, &mut out);
        assert_eq!(out, vec!["domestic dog", "Canis familiaris"]);
        out.clear();
        wn.synonyms("dog", Some(Pos::Verb), &mut out);
        assert!(out.is_empty(), "POS is respected");
        out.clear();
        wn.synonyms("cars", Some(Pos::Noun), &mut out);
        assert_eq!(out, vec!["autos", "automobiles", "machines", "motorcars"]);
        assert_eq!(
            wn.by_lemma.get(&("able".into(), Pos::Adj)).map(Vec::len),
            Some(1)
        );
    }

    #[test]
    fn plurals_and_singulars() {
        assert_eq!(singular("boxes").as_deref(), Some("box"));
        assert_eq!(singular("cities").as_deref(), Some("city"));
        assert_eq!(singular("glass"), None);
        assert_eq!(plural("domestic dog"), "domestic dogs");
        assert_eq!(plural("city"), "cities");
        assert_eq!(plural("day"), "days");
        assert_eq!(plural("church"), "churches");
    }

    #[test]
    fn malformed_lines_are_named() {
        let mut wn = WordNet::default();
        let mut ids = FxHashMap::default();
        assert_eq!(
            wn.parse_data("00001740 00 a zz able 0\n", Pos::Adj, &mut ids),
            Err(1)
        );
    }
}
