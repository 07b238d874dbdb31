//! Subword units by byte-pair encoding (Sennrich et al. 2016), learnt on the
//! training tokens: every character of a training token is a unit, and the
//! most frequent adjacent pairs are merged, `merges` times. A rare word
//! becomes a few frequent pieces, so a translator can spell names and
//! numbers it never saw whole, and its output needs no `<unk>`.
//!
//! A piece that does not end its token carries [`CONTINUES`] (`Opt@@`
//! `ions`), so [`join_pieces`] restores the tokens exactly. Merges never
//! cross a token boundary.
//!
//! ```
//! use ore_train::bpe::{Bpe, join_pieces};
//!
//! let words = ["lower", "lowest", "newer", "wider"].map(String::from);
//! let bpe = Bpe::learn(words.iter().map(|w| (w.as_str(), 5)), 10);
//! let pieces = bpe.segment("lowering");
//! assert!(pieces.len() < "lowering".len());
//! assert_eq!(join_pieces(&pieces), ["lowering"]);
//! ```

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::path::Path;
use std::sync::Mutex;

use rustc_hash::{FxHashMap, FxHashSet};

use crate::error::{Result, TrainError};
use crate::io::{escape_unit, unescape_unit};

/// Ends every piece but a token's last.
pub const CONTINUES: &str = "@@";
/// First line of a saved merge list.
const HEADER: &str = "#ore-bpe v1";

/// The learnt merges, in the order they were learnt (their rank).
#[derive(Debug, Default)]
pub struct Bpe {
    merges: Vec<(String, String)>,
    ranks: FxHashMap<(String, String), usize>,
    /// Tokens already segmented (a corpus repeats its words).
    cache: Mutex<FxHashMap<String, Vec<String>>>,
}

impl Clone for Bpe {
    fn clone(&self) -> Self {
        Self::from_merges(self.merges.clone())
    }
}

impl PartialEq for Bpe {
    fn eq(&self, other: &Self) -> bool {
        self.merges == other.merges
    }
}

impl Eq for Bpe {}

impl Bpe {
    /// Learns up to `merges` merges from `(token, count)` pairs (counts of
    /// one token may come in several pairs). Ties in frequency go to the
    /// pair whose symbols were made first, so the result depends on the
    /// counts alone, not on their order.
    pub fn learn<'a>(counts: impl Iterator<Item = (&'a str, u64)>, merges: usize) -> Self {
        let mut freq: FxHashMap<&str, u64> = FxHashMap::default();
        for (w, n) in counts {
            if !w.is_empty() {
                *freq.entry(w).or_default() += n;
            }
        }
        let mut words: Vec<(&str, u64)> = freq.into_iter().collect();
        words.sort_unstable();
        // Symbols are ids into `names`; the characters first, in order.
        let mut chars: Vec<char> = words.iter().flat_map(|(w, _)| w.chars()).collect();
        chars.sort_unstable();
        chars.dedup();
        let mut names: Vec<String> = chars.iter().map(|c| c.to_string()).collect();
        let mut symbol: FxHashMap<String, u32> = names
            .iter()
            .enumerate()
            .map(|(i, s)| (s.clone(), i as u32))
            .collect();
        let mut seqs: Vec<Vec<u32>> = words
            .iter()
            .map(|(w, _)| w.chars().map(|c| symbol[&c.to_string()]).collect())
            .collect();
        let weights: Vec<i64> = words.iter().map(|&(_, n)| n as i64).collect();

        let mut pair_count: FxHashMap<(u32, u32), i64> = FxHashMap::default();
        let mut holders: FxHashMap<(u32, u32), FxHashSet<u32>> = FxHashMap::default();
        for (wi, seq) in seqs.iter().enumerate() {
            for p in seq.windows(2) {
                *pair_count.entry((p[0], p[1])).or_default() += weights[wi];
                holders.entry((p[0], p[1])).or_default().insert(wi as u32);
            }
        }
        // Max count first, then the pair of the oldest symbols; stale
        // entries are skipped when popped.
        let mut heap: BinaryHeap<(i64, Reverse<(u32, u32)>)> =
            pair_count.iter().map(|(&p, &n)| (n, Reverse(p))).collect();
        let mut learnt = Vec::with_capacity(merges);
        while learnt.len() < merges {
            let Some((n, Reverse(pair))) = heap.pop() else {
                break;
            };
            if pair_count.get(&pair).copied() != Some(n) {
                continue;
            }
            if n < 2 {
                break;
            }
            let (a, b) = pair;
            let merged = format!("{}{}", names[a as usize], names[b as usize]);
            let id = *symbol.entry(merged.clone()).or_insert_with(|| {
                names.push(merged);
                names.len() as u32 - 1
            });
            learnt.push((names[a as usize].clone(), names[b as usize].clone()));
            let mut touched: FxHashSet<(u32, u32)> = FxHashSet::default();
            // Counts only add up, so the words' order does not matter.
            for wi in holders.remove(&pair).unwrap_or_default() {
                let w = weights[wi as usize];
                let seq = &mut seqs[wi as usize];
                for p in seq.windows(2) {
                    let key = (p[0], p[1]);
                    if let Some(c) = pair_count.get_mut(&key) {
                        *c -= w;
                    }
                    touched.insert(key);
                }
                let mut out = Vec::with_capacity(seq.len());
                let mut i = 0;
                while i < seq.len() {
                    if i + 1 < seq.len() && seq[i] == a && seq[i + 1] == b {
                        out.push(id);
                        i += 2;
                    } else {
                        out.push(seq[i]);
                        i += 1;
                    }
                }
                *seq = out;
                for p in seq.windows(2) {
                    let key = (p[0], p[1]);
                    *pair_count.entry(key).or_default() += w;
                    holders.entry(key).or_default().insert(wi);
                    touched.insert(key);
                }
            }
            pair_count.remove(&pair);
            for key in touched {
                if key == pair {
                    continue;
                }
                match pair_count.get(&key).copied() {
                    Some(c) if c > 0 => heap.push((c, Reverse(key))),
                    _ => {
                        pair_count.remove(&key);
                    }
                }
            }
        }
        Self::from_merges(learnt)
    }

    fn from_merges(merges: Vec<(String, String)>) -> Self {
        let ranks = merges
            .iter()
            .enumerate()
            .map(|(i, p)| (p.clone(), i))
            .collect();
        Self {
            merges,
            ranks,
            cache: Mutex::default(),
        }
    }

    pub fn len(&self) -> usize {
        self.merges.len()
    }

    pub fn is_empty(&self) -> bool {
        self.merges.is_empty()
    }

    /// One token as pieces: its characters, merged by rank, lowest first;
    /// every piece but the last ends with [`CONTINUES`].
    pub fn segment(&self, token: &str) -> Vec<String> {
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(hit) = cache.get(token) {
            return hit.clone();
        }
        let pieces = self.segment_uncached(token);
        if cache.len() < 1 << 20 {
            cache.insert(token.to_string(), pieces.clone());
        }
        pieces
    }

    /// Tokens as pieces, in order.
    pub fn segment_all(&self, tokens: &[String]) -> Vec<String> {
        tokens.iter().flat_map(|t| self.segment(t)).collect()
    }

    fn segment_uncached(&self, token: &str) -> Vec<String> {
        let mut parts: Vec<String> = token.chars().map(String::from).collect();
        loop {
            let best = parts
                .windows(2)
                .enumerate()
                .filter_map(|(i, p)| {
                    self.ranks
                        .get(&(p[0].clone(), p[1].clone()))
                        .map(|&r| (r, i))
                })
                .min();
            let Some((_, i)) = best else { break };
            let right = parts.remove(i + 1);
            parts[i].push_str(&right);
        }
        let last = parts.len().saturating_sub(1);
        for p in &mut parts[..last] {
            p.push_str(CONTINUES);
        }
        parts
    }

    /// Writes the merges, one `left right` pair a line, after a header.
    pub fn save(&self, path: &Path) -> Result<()> {
        let mut text = format!("{HEADER}\n");
        for (a, b) in &self.merges {
            text.push_str(&escape_unit(a));
            text.push(' ');
            text.push_str(&escape_unit(b));
            text.push('\n');
        }
        crate::io::write_atomic(path, text.as_bytes())
    }

    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| TrainError::io(path, e))?;
        let mut lines = text.lines();
        if lines.next() != Some(HEADER) {
            return Err(TrainError::invalid(
                path,
                format!("not an ore merge list (the first line must be `{HEADER}`)"),
            ));
        }
        let mut merges = Vec::new();
        for (n, line) in lines.enumerate() {
            let Some((a, b)) = line.split_once(' ') else {
                return Err(TrainError::invalid(
                    path,
                    format!("line {}: expected `left right`", n + 2),
                ));
            };
            merges.push((unescape_unit(a), unescape_unit(b)));
        }
        Ok(Self::from_merges(merges))
    }
}

/// Pieces back to tokens: a piece ending in [`CONTINUES`] is glued to the
/// next one. A dangling piece at the end keeps its text, marker dropped.
pub fn join_pieces(pieces: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    for p in pieces {
        match p.strip_suffix(CONTINUES) {
            Some(stem) => word.push_str(stem),
            None => {
                word.push_str(p);
                out.push(std::mem::take(&mut word));
            }
        }
    }
    if !word.is_empty() {
        out.push(word);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The plain algorithm: recount every pair after each merge.
    fn learn_plain(words: &[(&str, u64)], merges: usize) -> Vec<(String, String)> {
        let mut chars: Vec<char> = words.iter().flat_map(|(w, _)| w.chars()).collect();
        chars.sort_unstable();
        chars.dedup();
        let mut age: FxHashMap<String, usize> = chars
            .iter()
            .enumerate()
            .map(|(i, c)| (c.to_string(), i))
            .collect();
        let mut seqs: Vec<(Vec<String>, u64)> = words
            .iter()
            .map(|(w, n)| (w.chars().map(String::from).collect(), *n))
            .collect();
        let mut out = Vec::new();
        while out.len() < merges {
            let mut counts: FxHashMap<(String, String), u64> = FxHashMap::default();
            for (s, n) in &seqs {
                for p in s.windows(2) {
                    *counts.entry((p[0].clone(), p[1].clone())).or_default() += n;
                }
            }
            let Some(best) = counts
                .into_iter()
                .filter(|(_, n)| *n >= 2)
                .max_by_key(|(p, n)| (*n, Reverse((age[&p.0], age[&p.1]))))
            else {
                break;
            };
            let (a, b) = best.0;
            let merged = format!("{a}{b}");
            let next = age.len();
            age.entry(merged.clone()).or_insert(next);
            for (s, _) in &mut seqs {
                let mut i = 0;
                while i + 1 < s.len() {
                    if s[i] == a && s[i + 1] == b {
                        s[i] = merged.clone();
                        s.remove(i + 1);
                    }
                    i += 1;
                }
            }
            out.push((a, b));
        }
        out
    }

    #[test]
    fn learnt_merges_equal_the_plain_recount() {
        let text = "the lower newest widest lowest newer wider 中华人民 人民 中华 人民日报 \
                    aaaa aaa banana bandana ananas Writer Writers LibreOffice Office";
        let mut counts: FxHashMap<&str, u64> = FxHashMap::default();
        for (i, w) in text.split(' ').filter(|w| !w.is_empty()).enumerate() {
            *counts.entry(w).or_default() += 1 + (i as u64 % 3);
        }
        let mut words: Vec<(&str, u64)> = counts.into_iter().collect();
        words.sort_unstable();
        for merges in [0, 1, 5, 20, 200] {
            let fast = Bpe::learn(words.iter().copied(), merges);
            assert_eq!(fast.merges, learn_plain(&words, merges), "{merges} merges");
        }
    }

    #[test]
    fn segments_join_back_to_the_tokens_and_round_trip_on_disk() {
        let words = ["Options", "Option", "Optional", "选择", "选项", "a b"];
        let bpe = Bpe::learn(words.iter().map(|w| (*w, 3)), 50);
        for w in words.iter().chain(&["Opt", "选", "unseen", "x"]) {
            let pieces = bpe.segment(w);
            assert_eq!(join_pieces(&pieces), [w.to_string()], "{pieces:?}");
        }
        assert_eq!(bpe.segment("Options"), ["Options"]);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bpe.txt");
        bpe.save(&path).unwrap();
        assert_eq!(Bpe::load(&path).unwrap(), bpe);
        std::fs::write(&path, "a b\n").unwrap();
        let err = Bpe::load(&path).unwrap_err().to_string();
        assert!(err.contains("not an ore merge list"), "{err}");
    }
}
