//! Entity-level scores of tag sequences, equal to seqeval 1.2.2's default
//! (not strict) mode: `get_entities`, `precision_score`, `recall_score`,
//! `f1_score` (micro average) and `classification_report`.
//!
//! A tag is read as seqeval reads it: its first character is the prefix
//! (`B`, `I`, `E`, `S`, `O`, or anything else), and its type is what follows
//! the first `-` after that character (all of the rest when there is no `-`;
//! `_` when that is empty). So IOB1, IOB2, IOE and IOBES all decode, and
//! an `I-X` after `O` or after another type starts an entity. Sentences are
//! scored as seqeval scores them: joined with an `O` after each, entities
//! compared as sets of (type, start, end) over the joined sequence.
//!
//! ```
//! use ore_eval::ner::{chunks, score};
//!
//! let gold = vec![vec!["B-PER", "I-PER", "O", "B-LOC"]];
//! let predicted = vec![vec!["B-PER", "I-PER", "O", "B-ORG"]];
//! let scores = score(&gold, &predicted)?;
//! assert_eq!(scores.overall.f1, 0.5);
//! assert_eq!(scores.per_label["PER"].f1, 1.0);
//! assert_eq!(chunks(&predicted[0])[1].label, "ORG");
//! # Ok::<(), ore_eval::ner::NerError>(())
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The type of a tag with none (`B`, `O`), as seqeval names it.
const NO_TYPE: &str = "_";

/// One entity: its type and token span (end exclusive) within a sentence.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Chunk {
    pub label: String,
    pub start: usize,
    pub end: usize,
}

/// Precision, recall and F1 of one entity type (or of all, micro-averaged):
/// `correct` of the `predicted` entities are among the `support` gold ones.
/// A ratio with a zero denominator is 0, as seqeval's `zero_division`
/// default gives it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LabelScores {
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub support: usize,
    pub predicted: usize,
    pub correct: usize,
}

impl LabelScores {
    /// The scores of these counts, computed in the order seqeval computes
    /// them (so they are equal to the last bit).
    pub fn from_counts(correct: usize, predicted: usize, support: usize) -> Self {
        let ratio = |n: usize, d: usize| if d == 0 { 0.0 } else { n as f64 / d as f64 };
        let precision = ratio(correct, predicted);
        let recall = ratio(correct, support);
        let denominator = precision + recall;
        let f1 = if denominator == 0.0 {
            0.0
        } else {
            2.0 * precision * recall / denominator
        };
        Self {
            precision,
            recall,
            f1,
            support,
            predicted,
            correct,
        }
    }
}

/// Entity scores of a tagged corpus: micro-averaged over every type, and
/// per type (every type found in the gold or the predicted tags, as
/// `classification_report` lists them).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EntityScores {
    pub overall: LabelScores,
    pub per_label: BTreeMap<String, LabelScores>,
}

/// Why two tagged corpora cannot be scored against each other.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NerError {
    #[error("{gold} gold sentences but {predicted} predicted ones")]
    SentenceCount { gold: usize, predicted: usize },
    #[error("sentence {sentence}: {gold} gold tags but {predicted} predicted ones")]
    LengthMismatch {
        sentence: usize,
        gold: usize,
        predicted: usize,
    },
}

/// A tag as seqeval reads it: prefix character and type. An empty tag
/// reads as `O` (seqeval raises on one).
fn read_tag(tag: &str) -> (char, &str) {
    let mut chars = tag.chars();
    let Some(prefix) = chars.next() else {
        return ('O', NO_TYPE);
    };
    let rest = chars.as_str();
    let kind = rest.split_once('-').map_or(rest, |(_, kind)| kind);
    (prefix, if kind.is_empty() { NO_TYPE } else { kind })
}

/// Whether an entity ended just before a tag (seqeval's `end_of_chunk`).
fn ends_before(prev: char, prev_kind: &str, tag: char, kind: &str) -> bool {
    matches!(prev, 'E' | 'S')
        || (matches!(prev, 'B' | 'I') && matches!(tag, 'B' | 'S' | 'O'))
        || (prev != 'O' && prev != '.' && prev_kind != kind)
}

/// Whether an entity starts at a tag (seqeval's `start_of_chunk`).
fn starts_at(prev: char, prev_kind: &str, tag: char, kind: &str) -> bool {
    matches!(tag, 'B' | 'S')
        || (matches!(prev, 'E' | 'S' | 'O') && matches!(tag, 'E' | 'I'))
        || (tag != 'O' && tag != '.' && prev_kind != kind)
}

/// seqeval's `get_entities` loop, a tag at a time: each tag may close the
/// entity open before it and may open one.
#[derive(Debug)]
struct Decoder<'a> {
    prev: char,
    /// `""` before the first tag: no tag has that type.
    prev_kind: &'a str,
    begin: usize,
    at: usize,
}

impl<'a> Decoder<'a> {
    fn new() -> Self {
        Self {
            prev: 'O',
            prev_kind: "",
            begin: 0,
            at: 0,
        }
    }

    /// Reads one tag; returns the entity (type, start, end exclusive) that
    /// ended before it, if any.
    fn push(&mut self, tag: &'a str) -> Option<(&'a str, usize, usize)> {
        let (prefix, kind) = read_tag(tag);
        let ended = ends_before(self.prev, self.prev_kind, prefix, kind).then_some((
            self.prev_kind,
            self.begin,
            self.at,
        ));
        if starts_at(self.prev, self.prev_kind, prefix, kind) {
            self.begin = self.at;
        }
        self.prev = prefix;
        self.prev_kind = kind;
        self.at += 1;
        ended
    }
}

/// The entities of one sentence's tags, as seqeval's `get_entities` finds
/// them (with `end` exclusive where seqeval's is inclusive).
pub fn chunks<S: AsRef<str>>(tags: &[S]) -> Vec<Chunk> {
    let mut decoder = Decoder::new();
    tags.iter()
        .map(AsRef::as_ref)
        .chain(["O"])
        .filter_map(|tag| decoder.push(tag))
        .map(|(label, start, end)| Chunk {
            label: label.to_string(),
            start,
            end,
        })
        .collect()
}

/// The entities of a corpus as seqeval finds them: every sentence followed
/// by an `O`, then one more `O`; offsets over that joined sequence. Sorted
/// and without repeats (seqeval keeps them in sets).
fn corpus_chunks<'a, S: AsRef<str> + 'a, T: AsRef<[S]>>(
    sentences: &'a [T],
) -> Vec<(&'a str, usize, usize)> {
    let mut decoder = Decoder::new();
    let mut out: Vec<(&'a str, usize, usize)> = sentences
        .iter()
        .flat_map(|s| s.as_ref().iter().map(AsRef::as_ref).chain(["O"]))
        .chain(["O"])
        .filter_map(|tag| decoder.push(tag))
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// Checks that both corpora have the same shape, naming the first sentence
/// whose lengths differ.
fn check_shapes<G, P>(
    gold: &[impl AsRef<[G]>],
    predicted: &[impl AsRef<[P]>],
) -> Result<(), NerError> {
    if gold.len() != predicted.len() {
        return Err(NerError::SentenceCount {
            gold: gold.len(),
            predicted: predicted.len(),
        });
    }
    for (sentence, (g, p)) in gold.iter().zip(predicted).enumerate() {
        let (g, p) = (g.as_ref().len(), p.as_ref().len());
        if g != p {
            return Err(NerError::LengthMismatch {
                sentence,
                gold: g,
                predicted: p,
            });
        }
    }
    Ok(())
}

/// Counts of one type: (correct, predicted, gold).
type Counts = (usize, usize, usize);

/// Entity precision, recall and F1 of `predicted` against `gold`, overall
/// (micro average) and per type, equal to seqeval 1.2.2's default mode.
/// Each corpus is a list of sentences, each a list of tags; sentence `i` of
/// both must have as many tags.
pub fn score<G: AsRef<str>, P: AsRef<str>>(
    gold: &[impl AsRef<[G]>],
    predicted: &[impl AsRef<[P]>],
) -> Result<EntityScores, NerError> {
    check_shapes(gold, predicted)?;
    let gold = corpus_chunks(gold);
    let predicted = corpus_chunks(predicted);
    let mut counts: BTreeMap<&str, Counts> = BTreeMap::new();
    for &(kind, ..) in &gold {
        counts.entry(kind).or_default().2 += 1;
    }
    for &(kind, ..) in &predicted {
        counts.entry(kind).or_default().1 += 1;
    }
    // Both sorted: walk them together for the entities they share.
    let (mut g, mut p) = (gold.iter().peekable(), predicted.iter().peekable());
    while let (Some(a), Some(b)) = (g.peek(), p.peek()) {
        match a.cmp(b) {
            std::cmp::Ordering::Less => {
                g.next();
            }
            std::cmp::Ordering::Greater => {
                p.next();
            }
            std::cmp::Ordering::Equal => {
                counts.entry(a.0).or_default().0 += 1;
                g.next();
                p.next();
            }
        }
    }
    let total = counts
        .values()
        .fold((0, 0, 0), |t, c| (t.0 + c.0, t.1 + c.1, t.2 + c.2));
    Ok(EntityScores {
        overall: LabelScores::from_counts(total.0, total.1, total.2),
        per_label: counts
            .into_iter()
            .map(|(kind, (c, p, s))| (kind.to_string(), LabelScores::from_counts(c, p, s)))
            .collect(),
    })
}

/// IOB2 tags of a sentence of `len` tokens from entity spans `(start, end
/// exclusive, label)`: `B-X` on an entity's first token, `I-X` on the rest,
/// `O` elsewhere. Spans are taken in order of start; one that overlaps an
/// earlier one, or is empty, is left out, and an end past `len` is cut to it.
pub fn iob2_tags(len: usize, spans: &[(usize, usize, &str)]) -> Vec<String> {
    let mut tags = vec!["O".to_string(); len];
    let mut ordered: Vec<&(usize, usize, &str)> = spans.iter().collect();
    ordered.sort_by_key(|&&(start, end, _)| (start, end));
    let mut free_from = 0;
    for &&(start, end, label) in &ordered {
        let end = end.min(len);
        if start >= end || start < free_from {
            continue;
        }
        tags[start] = format!("B-{label}");
        for tag in &mut tags[start + 1..end] {
            *tag = format!("I-{label}");
        }
        free_from = end;
    }
    tags
}

#[cfg(test)]
mod tests;
