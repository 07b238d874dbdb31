//! The ops. Each edits a [`Seq`] in place with its own [`Rng`] and returns
//! how many edits it made: never more than its budget
//! ([`OpConfig::budget`]), fewer only when fewer places qualify.
//!
//! Ops that are not about entities (everything but [`OpKind::is_entity_op`])
//! never change, move or delete an entity token, and insert nothing inside
//! a mention.

mod chars;
mod ner;
mod words;

use rustc_hash::FxHashSet;

pub use ner::{PoolBuilder, Pools};

use crate::config::{OpConfig, OpKind, Unit};
use crate::lexicon::Lexicon;
use crate::rng::Rng;
use crate::seq::Seq;

/// What ops read besides the row: the thesauri, the pools, the stop words.
#[derive(Debug)]
pub struct OpContext<'a> {
    pub lexicon: &'a Lexicon,
    pub pools: Option<&'a Pools>,
    pub stop_words: &'a FxHashSet<String>,
}

impl OpContext<'_> {
    pub fn is_stop(&self, word: &str) -> bool {
        crate::tables::is_stop_word(word) || self.stop_words.contains(word)
    }
}

/// The length an op's rate is a fraction of.
pub fn length(seq: &Seq, unit: Unit) -> usize {
    match unit {
        Unit::Tokens => seq.toks.len(),
        Unit::Words => seq.toks.iter().filter(|t| !t.is_punct()).count(),
        Unit::Chars => seq.char_len(),
        Unit::PunctTokens => seq.toks.iter().filter(|t| t.is_punct()).count(),
        Unit::Mentions => seq.entities().len(),
        Unit::Segments => ner::segments(seq).iter().filter(|s| s.len() >= 2).count(),
    }
}

/// Applies `op` to `seq`; returns the number of edits.
pub fn apply(op: &OpConfig, seq: &mut Seq, ctx: &OpContext<'_>, rng: &mut Rng) -> usize {
    let budget = op.budget(length(seq, op.kind.unit()));
    if budget == 0 || seq.toks.is_empty() {
        return 0;
    }
    match op.kind {
        OpKind::Synonym | OpKind::EdaSr => words::synonym(seq, ctx, rng, budget, false),
        OpKind::NerSynonym => words::synonym(seq, ctx, rng, budget, true),
        OpKind::EdaRi => words::random_insert(seq, ctx, rng, budget),
        OpKind::EdaRs => words::random_swap(seq, rng, budget),
        OpKind::EdaRd => words::random_delete(seq, rng, budget),
        OpKind::PunctInsert => words::punct_insert(seq, rng, budget),
        OpKind::PunctDelete => words::punct_delete(seq, rng, budget),
        OpKind::CharInsert => chars::insert(seq, rng, budget),
        OpKind::CharDelete => chars::delete(seq, rng, budget),
        OpKind::CharSwap => chars::swap(seq, rng, budget),
        OpKind::CharSubstitute => chars::substitute(seq, rng, budget),
        OpKind::Keyboard => chars::keyboard(seq, rng, budget),
        OpKind::Homophone => chars::homophone(seq, ctx, rng, budget, op.any_tone),
        OpKind::EquivalentChar => chars::equivalent(seq, rng, budget),
        OpKind::LabelReplace => ner::label_replace(seq, ctx, rng, budget),
        OpKind::MentionReplace => ner::mention_replace(seq, ctx, rng, budget),
        OpKind::SegmentShuffle => ner::segment_shuffle(seq, rng, budget),
        // Made by the augmenter, which holds the translators.
        OpKind::BackTranslation => 0,
    }
}

#[cfg(test)]
pub(crate) mod testing {
    use super::*;
    use crate::seq::{Parts, Span};

    /// A sequence from words (spaced when `spaced`) with entity spans.
    pub(crate) fn seq(words: &[&str], spaced: bool, ents: &[(u32, u32, &str)]) -> Seq {
        let text = words.join(if spaced { " " } else { "" });
        let parts = Parts {
            text: &text,
            tokens: words.to_vec(),
            entities: ents
                .iter()
                .map(|&(start, end, label)| Span {
                    start,
                    end,
                    label: label.into(),
                })
                .collect(),
            ..Parts::default()
        };
        Seq::new(&parts)
    }

    pub(crate) fn empty_ctx<'a>(lex: &'a Lexicon, stop: &'a FxHashSet<String>) -> OpContext<'a> {
        OpContext {
            lexicon: lex,
            pools: None,
            stop_words: stop,
        }
    }
}
