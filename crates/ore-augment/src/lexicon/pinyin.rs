//! Chinese homophones from CC-CEDICT's readings: every one-character
//! simplified entry with a lower-case reading (capitalised readings are
//! surnames and names) gives the character that syllable. Candidates are
//! weighted by the character's frequency in jieba's dictionary, and a
//! character jieba does not know is never proposed (it is rare or a variant).

use std::io::Read;
use std::path::Path;

use rustc_hash::FxHashMap;

use crate::error::{AugmentError, Result};

/// Characters by reading (`ma1`) and by toneless syllable (`ma`).
#[derive(Debug, Default)]
pub struct Pinyin {
    readings: FxHashMap<char, Vec<u32>>,
    syllables: Vec<Box<str>>,
    syllable_id: FxHashMap<Box<str>, u32>,
    by_syllable: Vec<Vec<char>>,
    by_toneless: FxHashMap<Box<str>, Vec<char>>,
    weight: FxHashMap<char, u64>,
}

impl Pinyin {
    /// Loads CC-CEDICT (plain or `.gz`); `freq` gives a character's weight
    /// (0: never proposed).
    pub fn load(path: &Path, freq: impl Fn(char) -> u64) -> Result<Self> {
        let bytes = std::fs::read(path)
            .map_err(|e| AugmentError::resource(path, format!("cannot read CC-CEDICT: {e}")))?;
        let text = if path.extension().is_some_and(|e| e == "gz") {
            let mut s = String::new();
            flate2::read::GzDecoder::new(bytes.as_slice())
                .read_to_string(&mut s)
                .map_err(|e| AugmentError::resource(path, format!("cannot gunzip: {e}")))?;
            s
        } else {
            String::from_utf8(bytes)
                .map_err(|e| AugmentError::resource(path, format!("not UTF-8: {e}")))?
        };
        let p = Self::parse(&text, freq);
        if p.readings.is_empty() {
            return Err(AugmentError::resource(
                path,
                "no one-character entry `X X [pin1] /…/`",
            ));
        }
        Ok(p)
    }

    pub fn parse(text: &str, freq: impl Fn(char) -> u64) -> Self {
        let mut p = Self::default();
        let mut ids: FxHashMap<&str, u32> = FxHashMap::default();
        for line in text.lines() {
            if line.starts_with('#') {
                continue;
            }
            let mut f = line.splitn(3, ' ');
            let (Some(_trad), Some(simp), Some(rest)) = (f.next(), f.next(), f.next()) else {
                continue;
            };
            let mut chars = simp.chars();
            let (Some(c), None) = (chars.next(), chars.next()) else {
                continue;
            };
            let Some(reading) = rest
                .strip_prefix('[')
                .and_then(|r| r.split_once(']'))
                .map(|(r, _)| r)
            else {
                continue;
            };
            let toned = reading.ends_with(|d: char| ('1'..='5').contains(&d));
            if reading.contains(' ') || !toned || reading.starts_with(|c: char| c.is_uppercase()) {
                continue;
            }
            if !crate::seq::is_han(c) {
                continue;
            }
            let id = *ids.entry(reading).or_insert_with(|| {
                p.syllables.push(reading.into());
                p.syllable_id
                    .insert(reading.into(), p.syllables.len() as u32 - 1);
                p.by_syllable.push(Vec::new());
                (p.syllables.len() - 1) as u32
            });
            let r = p.readings.entry(c).or_default();
            if r.contains(&id) {
                continue;
            }
            r.push(id);
            p.by_syllable[id as usize].push(c);
            let toneless = &reading[..reading.len() - 1];
            let t = p.by_toneless.entry(toneless.into()).or_default();
            if !t.contains(&c) {
                t.push(c);
            }
            p.weight.entry(c).or_insert_with(|| freq(c));
        }
        p
    }

    /// The readings of `c` (`行` → `xing2`, `hang2`, …).
    pub fn readings(&self, c: char) -> Vec<&str> {
        self.readings
            .get(&c)
            .map(|ids| ids.iter().map(|&i| &*self.syllables[i as usize]).collect())
            .unwrap_or_default()
    }

    /// Characters read `reading` other than `c`, with their weights (tone
    /// ignored when `any_tone`), leaving out those of weight 0.
    pub fn homophones(&self, c: char, reading: &str, any_tone: bool) -> (Vec<char>, Vec<u64>) {
        let mut chars = Vec::new();
        let mut weights = Vec::new();
        for (h, w) in self.candidates(c, reading, any_tone) {
            chars.push(h);
            weights.push(w);
        }
        (chars, weights)
    }

    fn candidates<'a>(
        &'a self,
        c: char,
        reading: &str,
        any_tone: bool,
    ) -> impl Iterator<Item = (char, u64)> + 'a {
        let list: &[char] = if any_tone {
            let toneless = &reading[..reading.len().saturating_sub(1)];
            self.by_toneless.get(toneless).map_or(&[], Vec::as_slice)
        } else {
            self.syllable_id
                .get(reading)
                .map_or(&[], |&i| self.by_syllable[i as usize].as_slice())
        };
        list.iter().filter_map(move |&h| {
            let w = self.weight.get(&h).copied().unwrap_or(0);
            (h != c && w > 0).then_some((h, w))
        })
    }

    /// Whether `c` read `reading` has at least one homophone to propose.
    pub fn has_homophone_read(&self, c: char, reading: &str, any_tone: bool) -> bool {
        self.candidates(c, reading, any_tone).next().is_some()
    }

    /// Whether `c` has at least one homophone to propose.
    pub fn has_homophone(&self, c: char, any_tone: bool) -> bool {
        self.readings(c)
            .iter()
            .any(|r| self.has_homophone_read(c, r, any_tone))
    }

    pub fn characters(&self) -> usize {
        self.readings.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "# comment\n媽 妈 [ma1] /mother/\n麻 麻 [ma2] /hemp/\n馬 马 [ma3] /horse/\n馬 马 [Ma3] /surname Ma/\n嗎 吗 [ma5] /question particle/\n抹 抹 [ma1] /to wipe/\n螞 蚂 [ma1] /ant/\n媽媽 妈妈 [ma1 ma5] /mum/\n";

    #[test]
    fn homophones_by_tone_and_weight() {
        let freq = |c: char| match c {
            '妈' => 100,
            '抹' => 30,
            '马' => 50,
            _ => 0,
        };
        let p = Pinyin::parse(SAMPLE, freq);
        assert_eq!(
            p.readings('马'),
            vec!["ma3"],
            "the surname reading is skipped"
        );
        let (chars, weights) = p.homophones('妈', "ma1", false);
        assert_eq!(chars, vec!['抹'], "蚂 has weight 0");
        assert_eq!(weights, vec![30]);
        let (near, _) = p.homophones('妈', "ma1", true);
        assert_eq!(near, vec!['马', '抹']);
        assert!(p.has_homophone('妈', false));
        assert!(!p.has_homophone('吗', false));
    }
}
