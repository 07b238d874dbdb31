//! Vocabularies: units to ids with the four specials first, built from
//! training data with a minimum count and a maximum size, saved as one unit
//! a line beside the model.

use std::path::Path;

use rustc_hash::FxHashMap;

use crate::error::{Result, TrainError};

pub const PAD: &str = "<pad>";
pub const UNK: &str = "<unk>";
pub const BOS: &str = "<bos>";
pub const EOS: &str = "<eos>";
pub const PAD_ID: i64 = 0;
pub const UNK_ID: i64 = 1;
pub const BOS_ID: i64 = 2;
pub const EOS_ID: i64 = 3;
const SPECIALS: [&str; 4] = [PAD, UNK, BOS, EOS];

/// Units and their ids; ids 0..4 are `<pad> <unk> <bos> <eos>`.
#[derive(Debug, Clone, PartialEq)]
pub struct Vocab {
    units: Vec<String>,
    index: FxHashMap<String, i64>,
}

impl Vocab {
    /// Most frequent units first (ties by unit, so the result is
    /// deterministic), those seen fewer than `min_count` times dropped, at
    /// most `max_size` entries including the specials.
    pub fn build<'a>(
        units: impl Iterator<Item = &'a str>,
        min_count: u64,
        max_size: usize,
    ) -> Self {
        let mut counts: FxHashMap<&str, u64> = FxHashMap::default();
        for u in units {
            *counts.entry(u).or_default() += 1;
        }
        let mut ranked: Vec<(&str, u64)> = counts
            .into_iter()
            .filter(|(u, n)| *n >= min_count && !SPECIALS.contains(u))
            .collect();
        ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        let keep = max_size.saturating_sub(SPECIALS.len());
        Self::from_units(
            SPECIALS
                .iter()
                .copied()
                .chain(ranked.into_iter().take(keep).map(|(u, _)| u))
                .map(String::from)
                .collect(),
        )
    }

    fn from_units(units: Vec<String>) -> Self {
        let index = units
            .iter()
            .enumerate()
            .map(|(i, u)| (u.clone(), i as i64))
            .collect();
        Self { units, index }
    }

    pub fn len(&self) -> usize {
        self.units.len()
    }

    pub fn is_empty(&self) -> bool {
        self.units.len() <= SPECIALS.len()
    }

    pub fn id(&self, unit: &str) -> i64 {
        self.index.get(unit).copied().unwrap_or(UNK_ID)
    }

    pub fn unit(&self, id: i64) -> &str {
        usize::try_from(id)
            .ok()
            .and_then(|i| self.units.get(i))
            .map_or(UNK, String::as_str)
    }

    /// Writes one unit a line (units never contain a newline: they come from
    /// token lists; a newline inside one is written escaped).
    pub fn save(&self, path: &Path) -> Result<()> {
        let mut text = String::new();
        for u in &self.units {
            text.push_str(&crate::io::escape_unit(u));
            text.push('\n');
        }
        crate::io::write_atomic(path, text.as_bytes())
    }

    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| TrainError::io(path, e))?;
        let units: Vec<String> = text.lines().map(crate::io::unescape_unit).collect();
        if units.len() < SPECIALS.len() || units[..SPECIALS.len()] != SPECIALS {
            return Err(TrainError::Invalid {
                path: path.to_path_buf(),
                message: "not an ore vocabulary (the first lines must be <pad> <unk> <bos> <eos>)"
                    .into(),
            });
        }
        Ok(Self::from_units(units))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frequent_units_first_with_limits_and_round_trip() {
        let words = "的 的 的 中国 中国 人民 a\\b x\ny";
        let v = Vocab::build(words.split(' '), 1, 7);
        assert_eq!(v.len(), 7);
        assert_eq!(v.unit(4), "的");
        assert_eq!(v.unit(5), "中国");
        assert_eq!(v.id("never"), UNK_ID);
        let v2 = Vocab::build(words.split(' '), 2, 100);
        assert_eq!(v2.len(), 6);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vocab.txt");
        let all = Vocab::build(words.split(' '), 1, 100);
        all.save(&path).unwrap();
        assert_eq!(Vocab::load(&path).unwrap(), all);
        std::fs::write(&path, "a\nb\n").unwrap();
        assert!(
            Vocab::load(&path)
                .unwrap_err()
                .to_string()
                .contains("not an ore vocabulary")
        );
    }
}
