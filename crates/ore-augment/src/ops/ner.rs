//! NER-aware ops after Dai & Adel (2020): label-wise token replacement,
//! mention replacement and shuffling within same-label segments (their
//! synonym replacement with B/I retagging is `ner_synonym`, in
//! [`super::words`]). Tags stay aligned by construction: an op changes a
//! token's text and POS, or swaps whole mentions, never a tag alone.

use rustc_hash::FxHashMap;

use super::OpContext;
use crate::rng::Rng;
use crate::seq::{Ent, Seq, Tok, continue_tag};

/// Items with how often the data holds each, and the running sums of
/// those counts, so that a draw is a binary search.
#[derive(Debug)]
struct Weighted<T> {
    items: Vec<T>,
    weights: Vec<u64>,
    cumulative: Vec<u64>,
}

impl<T> Default for Weighted<T> {
    fn default() -> Self {
        Self {
            items: Vec::new(),
            weights: Vec::new(),
            cumulative: Vec::new(),
        }
    }
}

impl<T> Weighted<T> {
    fn push(&mut self, item: T, weight: u64) {
        let total = self.cumulative.last().copied().unwrap_or(0);
        self.items.push(item);
        self.weights.push(weight);
        self.cumulative.push(total + weight);
    }

    fn draw(&self, rng: &mut Rng) -> usize {
        let total = self.cumulative.last().copied().unwrap_or(0);
        let x = ((u128::from(rng.next_u64()) * u128::from(total)) >> 64) as u64;
        self.cumulative.partition_point(|&c| c <= x)
    }

    /// An item for which `differs` holds, drawn by weight: a few draws,
    /// then, for a pool where nearly every item is the one to avoid, a draw
    /// among the others alone.
    fn draw_where(&self, differs: impl Fn(&T) -> bool, rng: &mut Rng) -> Option<&T> {
        for _ in 0..16 {
            let i = self.draw(rng);
            if differs(&self.items[i]) {
                return Some(&self.items[i]);
            }
        }
        let weights: Vec<u64> = self
            .items
            .iter()
            .zip(&self.weights)
            .map(|(item, &w)| if differs(item) { w } else { 0 })
            .collect();
        if weights.iter().all(|&w| w == 0) {
            return None;
        }
        Some(&self.items[rng.weighted(&weights)])
    }

    fn any(&self, differs: impl Fn(&T) -> bool) -> bool {
        self.items.iter().any(differs)
    }
}

/// A token as the pools hold it: text and POS.
type PoolTok = (String, Option<String>);
/// A mention: its tokens with the gap before each (the first gap unused).
type Mention = Vec<(String, Option<String>, String)>;

/// The tokens of each IOB2 tag and the mentions of each label in the
/// training rows, for `label_replace` and `mention_replace`.
#[derive(Debug, Default)]
pub struct Pools {
    tokens: FxHashMap<String, Weighted<PoolTok>>,
    mentions: FxHashMap<String, Weighted<Mention>>,
}

/// Counts tokens and mentions row by row, then freezes them into [`Pools`]
/// in a fixed order (so that the draws do not depend on hash order).
#[derive(Debug, Default)]
pub struct PoolBuilder {
    tokens: FxHashMap<(String, PoolTok), u64>,
    mentions: FxHashMap<(String, Mention), u64>,
}

impl PoolBuilder {
    pub fn add(&mut self, seq: &Seq) {
        let spans = seq.entities();
        if spans.is_empty() {
            return;
        }
        for (tok, tag) in seq.toks.iter().zip(seq.iob2()) {
            if !tok.is_punct() {
                let key = (tag, (tok.text.clone(), tok.pos.clone()));
                *self.tokens.entry(key).or_default() += 1;
            }
        }
        for span in spans {
            let mention: Mention = seq.toks[span.start as usize..span.end as usize]
                .iter()
                .map(|t| (t.text.clone(), t.pos.clone(), t.gap.clone()))
                .collect();
            *self.mentions.entry((span.label, mention)).or_default() += 1;
        }
    }

    pub fn finish(self) -> Pools {
        fn freeze<K: Ord + Clone + std::hash::Hash, T: Ord>(
            map: FxHashMap<(K, T), u64>,
        ) -> FxHashMap<K, Weighted<T>> {
            let mut rows: Vec<((K, T), u64)> = map.into_iter().collect();
            rows.sort_unstable_by(|a, b| a.0.cmp(&b.0));
            let mut out: FxHashMap<K, Weighted<T>> = FxHashMap::default();
            for ((k, item), n) in rows {
                out.entry(k).or_default().push(item, n);
            }
            out
        }
        Pools {
            tokens: freeze(self.tokens),
            mentions: freeze(self.mentions),
        }
    }
}

impl Pools {
    pub fn mentions(&self) -> usize {
        self.mentions.values().map(|w| w.items.len()).sum()
    }

    pub fn tokens(&self) -> usize {
        self.tokens.values().map(|w| w.items.len()).sum()
    }
}

/// LwTR: `budget` tokens (not punctuation) each replaced by a token of the
/// same IOB2 tag from the pool, drawn by frequency.
pub(crate) fn label_replace(
    seq: &mut Seq,
    ctx: &OpContext<'_>,
    rng: &mut Rng,
    budget: usize,
) -> usize {
    let Some(pools) = ctx.pools else { return 0 };
    let tags = seq.iob2();
    let candidates: Vec<usize> = (0..seq.toks.len())
        .filter(|&i| {
            let t = &seq.toks[i];
            !t.is_punct()
                && pools
                    .tokens
                    .get(&tags[i])
                    .is_some_and(|w| w.any(|(text, _)| *text != t.text))
        })
        .collect();
    let chosen = rng.sample(&candidates, budget);
    for &i in &chosen {
        let current = seq.toks[i].text.clone();
        if let Some((text, pos)) = pools.tokens[&tags[i]].draw_where(|(t, _)| *t != current, rng) {
            let (text, pos) = (text.clone(), pos.clone());
            let t = &mut seq.toks[i];
            t.text = text;
            if t.pos.is_some() {
                t.pos = pos;
            }
        }
    }
    chosen.len()
}

/// MR: `budget` mentions each replaced by another mention of the same
/// label from the pool, drawn by frequency; the new tokens are tagged
/// B-X I-X … afresh.
pub(crate) fn mention_replace(
    seq: &mut Seq,
    ctx: &OpContext<'_>,
    rng: &mut Rng,
    budget: usize,
) -> usize {
    let Some(pools) = ctx.pools else { return 0 };
    let spans = seq.entities();
    let surface = |s: &crate::seq::Span, seq: &Seq| -> Mention {
        seq.toks[s.start as usize..s.end as usize]
            .iter()
            .map(|t| (t.text.clone(), t.pos.clone(), t.gap.clone()))
            .collect()
    };
    let same_text =
        |a: &Mention, b: &Mention| a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.0 == y.0);
    let candidates: Vec<usize> = (0..spans.len())
        .filter(|&k| {
            let current = surface(&spans[k], seq);
            pools
                .mentions
                .get(&spans[k].label)
                .is_some_and(|w| w.any(|m| !same_text(m, &current)))
        })
        .collect();
    let mut chosen = rng.sample(&candidates, budget);
    chosen.sort_unstable_by(|a, b| b.cmp(a));
    for &k in &chosen {
        let span = &spans[k];
        let pool = &pools.mentions[&span.label];
        let current = surface(span, seq);
        let Some(new) = pool.draw_where(|m| !same_text(m, &current), rng) else {
            continue;
        };
        let new = new.clone();
        let (start, end) = (span.start as usize, span.end as usize);
        let first = seq.toks[start].clone();
        let label = span.label.as_str().into();
        let tagged = first.pos.is_some();
        let toks: Vec<Tok> = new
            .into_iter()
            .enumerate()
            .map(|(j, (text, pos, gap))| Tok {
                text,
                gap: if j == 0 { first.gap.clone() } else { gap },
                pos: if tagged {
                    pos.or_else(|| first.pos.clone())
                } else {
                    None
                },
                ent: Some(Ent {
                    label: std::sync::Arc::clone(&label),
                    begin: j == 0,
                }),
                extra: if j == 0 {
                    first.extra.clone()
                } else {
                    first.extra.iter().map(|t| continue_tag(t)).collect()
                },
            })
            .collect();
        seq.toks.splice(start..end, toks);
    }
    chosen.len()
}

/// Runs of tokens with one label: each mention, and each stretch of
/// untagged tokens between punctuation and mentions.
pub(crate) fn segments(seq: &Seq) -> Vec<Vec<usize>> {
    let mut out: Vec<Vec<usize>> = Vec::new();
    let mut current: Vec<usize> = Vec::new();
    let mut label: Option<&str> = None;
    for (i, t) in seq.toks.iter().enumerate() {
        if t.is_punct() && !t.is_entity() {
            out.push(std::mem::take(&mut current));
            label = None;
            continue;
        }
        let this = t.ent.as_ref().map(|e| &*e.label);
        let begins = t.ent.as_ref().is_some_and(|e| e.begin);
        if this != label || begins {
            out.push(std::mem::take(&mut current));
        }
        current.push(i);
        label = this;
    }
    out.push(current);
    out.retain(|s| !s.is_empty());
    out
}

/// SiS: `budget` segments of two tokens or more get their tokens (text and
/// POS) shuffled; tags stay in place, so a mention keeps B-X first.
pub(crate) fn segment_shuffle(seq: &mut Seq, rng: &mut Rng, budget: usize) -> usize {
    let segs: Vec<Vec<usize>> = segments(seq)
        .into_iter()
        .filter(|s| s.len() >= 2 && s.iter().any(|&i| seq.toks[i].text != seq.toks[s[0]].text))
        .collect();
    let picks = rng.sample(&(0..segs.len()).collect::<Vec<_>>(), budget);
    for &k in &picks {
        let seg = &segs[k];
        let before: Vec<(String, Option<String>)> = seg
            .iter()
            .map(|&i| (seq.toks[i].text.clone(), seq.toks[i].pos.clone()))
            .collect();
        let mut after = before.clone();
        rng.shuffle(&mut after);
        if after == before {
            after.rotate_left(1);
        }
        for (&i, (text, pos)) in seg.iter().zip(after) {
            seq.toks[i].text = text;
            seq.toks[i].pos = pos;
        }
    }
    picks.len()
}

#[cfg(test)]
mod tests {
    use rustc_hash::FxHashSet;

    use super::*;
    use crate::lexicon::Lexicon;
    use crate::ops::testing::seq;

    fn pools() -> Pools {
        let mut b = PoolBuilder::default();
        b.add(&seq(
            &["Peter", "Blackburn", "met", "Anna", "in", "Paris"],
            true,
            &[(0, 2, "PER"), (3, 4, "PER"), (5, 6, "LOC")],
        ));
        b.add(&seq(&["He", "left", "New", "York"], true, &[(2, 4, "LOC")]));
        b.finish()
    }

    #[test]
    fn mentions_are_replaced_by_mentions_of_their_label() {
        let pools = pools();
        let lex = Lexicon::default();
        let stop = FxHashSet::default();
        let ctx = OpContext {
            lexicon: &lex,
            pools: Some(&pools),
            stop_words: &stop,
        };
        for seed in 0..30 {
            let mut s = seq(&["She", "flew", "to", "Paris", "."], true, &[(3, 4, "LOC")]);
            assert_eq!(mention_replace(&mut s, &ctx, &mut Rng::new(seed), 1), 1);
            assert_eq!(s.text(), "She flew to New York .");
            assert_eq!(s.iob2(), vec!["O", "O", "O", "B-LOC", "I-LOC", "O"]);
            let mut s = seq(&["Anna", "met", "him"], true, &[(0, 1, "PER")]);
            assert_eq!(label_replace(&mut s, &ctx, &mut Rng::new(seed), 3), 3);
            assert!(
                ["Peter", "Anna"].contains(&s.toks[0].text.as_str()) || s.toks[0].text == "Anna"
            );
            assert_eq!(s.iob2()[0], "B-PER");
        }
    }

    #[test]
    fn shuffles_stay_inside_segments() {
        let words = [
            "Peter",
            "Blackburn",
            "met",
            "the",
            "old",
            "man",
            ",",
            "sadly",
        ];
        let s0 = seq(&words, true, &[(0, 2, "PER")]);
        assert_eq!(segments(&s0), vec![vec![0, 1], vec![2, 3, 4, 5], vec![7]]);
        for seed in 0..20 {
            let mut s = s0.clone();
            assert_eq!(segment_shuffle(&mut s, &mut Rng::new(seed), 2), 2);
            let mut per: Vec<&str> = s.toks[..2].iter().map(|t| t.text.as_str()).collect();
            per.sort_unstable();
            assert_eq!(per, vec!["Blackburn", "Peter"]);
            assert_ne!(s.tokens(), s0.tokens());
            assert_eq!(s.toks[6].text, ",");
            assert_eq!(s.iob2(), s0.iob2());
        }
    }
}
