//! Word ops: synonym replacement, EDA's insertion, swap and deletion, and
//! punctuation inserted or dropped (AEDA).

use super::OpContext;
use crate::rng::Rng;
use crate::seq::{Ent, Seq, Tok, continue_tag, is_han, join_gap};
use crate::tables::{PUNCT_EN, PUNCT_ZH};

/// The tokens a synonym is written as: Chinese ones are one token, English
/// ones one token a word.
fn synonym_tokens(syn: &str) -> Vec<&str> {
    if syn.chars().any(is_han) {
        vec![syn]
    } else {
        syn.split(' ').filter(|w| !w.is_empty()).collect()
    }
}

/// Replaces token `i` by `words`: the first takes its place (gap, tags),
/// the others follow it with the same POS, continuing its mention and its
/// extra IOB tags.
pub(crate) fn replace_with(seq: &mut Seq, i: usize, words: &[&str]) {
    let old = seq.toks[i].clone();
    seq.toks[i].text = words[0].to_string();
    for (k, w) in words.iter().enumerate().skip(1) {
        let prev = seq.toks[i + k - 1].text.clone();
        let tok = Tok {
            text: w.to_string(),
            gap: join_gap(Some(&prev), w).to_string(),
            pos: old.pos.clone(),
            ent: old.ent.as_ref().map(|e| Ent {
                label: e.label.clone(),
                begin: false,
            }),
            extra: old.extra.iter().map(|t| continue_tag(t)).collect(),
        };
        seq.toks.insert(i + k, tok);
    }
}

/// Synonym replacement (also EDA's SR): up to `budget` distinct tokens
/// that have a synonym of their POS, none a stop word, and (unless
/// `entities`, for the NER op with B/I retagging) none in a mention.
pub(crate) fn synonym(
    seq: &mut Seq,
    ctx: &OpContext<'_>,
    rng: &mut Rng,
    budget: usize,
    entities: bool,
) -> usize {
    let mut order: Vec<usize> = (0..seq.toks.len())
        .filter(|&i| {
            let t = &seq.toks[i];
            let eligible = if entities {
                !t.is_punct() && t.text.chars().any(char::is_alphanumeric)
            } else {
                t.is_plain_word()
            };
            eligible && !ctx.is_stop(&t.text) && ctx.lexicon.may_have_synonym(&t.text)
        })
        .collect();
    rng.shuffle(&mut order);
    // Tokens in random order until `budget` of them had a synonym of their
    // POS: only the tokens looked at are looked up.
    let mut chosen: Vec<(usize, String)> = Vec::new();
    for i in order {
        if chosen.len() == budget {
            break;
        }
        let t = &seq.toks[i];
        if let Some(syn) = ctx.lexicon.pick_synonym(&t.text, t.pos.as_deref(), rng) {
            chosen.push((i, syn));
        }
    }
    // Right to left, so that a multi-word synonym does not move the rest.
    chosen.sort_by_key(|c| std::cmp::Reverse(c.0));
    for (i, syn) in &chosen {
        replace_with(seq, *i, &synonym_tokens(syn));
    }
    chosen.len()
}

/// EDA's random insertion: `budget` times, a synonym of a random word
/// (not a stop word, not in a mention) is inserted at a random place
/// outside every mention. Words without a synonym are passed over.
pub(crate) fn random_insert(
    seq: &mut Seq,
    ctx: &OpContext<'_>,
    rng: &mut Rng,
    budget: usize,
) -> usize {
    let mut sources: Vec<(String, Option<String>)> = seq
        .toks
        .iter()
        .filter(|t| {
            t.is_plain_word() && !ctx.is_stop(&t.text) && ctx.lexicon.may_have_synonym(&t.text)
        })
        .map(|t| (t.text.clone(), t.pos.clone()))
        .collect();
    let n_extra = seq.toks.first().map_or(0, |t| t.extra.len());
    let mut done = 0;
    while done < budget && !sources.is_empty() {
        let k = rng.below(sources.len());
        let Some(syn) = ctx
            .lexicon
            .pick_synonym(&sources[k].0, sources[k].1.as_deref(), rng)
        else {
            sources.swap_remove(k);
            continue;
        };
        let pos = sources[k].1.clone();
        let places: Vec<usize> = (0..=seq.toks.len())
            .filter(|&i| seq.can_insert_at(i))
            .collect();
        let at = *rng.pick(&places);
        for (j, w) in synonym_tokens(&syn).into_iter().enumerate() {
            let mut tok = Tok::word(w);
            tok.pos = pos.clone();
            tok.extra = vec!["O".to_string(); n_extra];
            seq.insert(at + j, tok);
        }
        done += 1;
    }
    done
}

/// EDA's random swap: `budget` times, two words outside mentions trade
/// places (with their POS); punctuation stays where it is.
pub(crate) fn random_swap(seq: &mut Seq, rng: &mut Rng, budget: usize) -> usize {
    let words: Vec<usize> = (0..seq.toks.len())
        .filter(|&i| seq.toks[i].is_plain_word())
        .collect();
    if words.len() < 2 {
        return 0;
    }
    for _ in 0..budget {
        let pair = rng.sample(&words, 2);
        let (a, b) = (pair[0], pair[1]);
        let (ta, tb) = (seq.toks[a].text.clone(), seq.toks[b].text.clone());
        let (pa, pb) = (seq.toks[a].pos.clone(), seq.toks[b].pos.clone());
        seq.toks[a].text = tb;
        seq.toks[a].pos = pb;
        seq.toks[b].text = ta;
        seq.toks[b].pos = pa;
    }
    fix_gaps(seq);
    budget
}

/// Gaps between tokens that an op moved: a space where two spaced-script
/// words now meet with none, nothing where a Chinese token follows.
fn fix_gaps(seq: &mut Seq) {
    for i in 1..seq.toks.len() {
        if seq.toks[i].gap.chars().all(|c| c == ' ') {
            let gap = join_gap(Some(&seq.toks[i - 1].text), &seq.toks[i].text);
            seq.toks[i].gap = gap.to_string();
        }
    }
}

/// EDA's random deletion, as a count: `budget` words outside mentions,
/// never the last word left.
pub(crate) fn random_delete(seq: &mut Seq, rng: &mut Rng, budget: usize) -> usize {
    let words: Vec<usize> = (0..seq.toks.len())
        .filter(|&i| seq.toks[i].is_plain_word())
        .collect();
    let total_words = seq.toks.iter().filter(|t| !t.is_punct()).count();
    let budget = budget.min(total_words.saturating_sub(1));
    let mut chosen = rng.sample(&words, budget);
    chosen.sort_unstable_by(|a, b| b.cmp(a));
    for &i in &chosen {
        seq.remove(i);
    }
    chosen.len()
}

/// The POS a new punctuation token gets: that of a punctuation token in
/// the row, else PKU's `w` for Chinese and Penn's `.` otherwise.
fn punct_pos(seq: &Seq, chinese: bool) -> Option<String> {
    if seq.toks.iter().all(|t| t.pos.is_none()) {
        return None;
    }
    if let Some(p) = seq
        .toks
        .iter()
        .find(|t| t.is_punct())
        .and_then(|t| t.pos.clone())
    {
        return Some(p);
    }
    Some(if chinese { "w" } else { "." }.to_string())
}

/// AEDA: `budget` punctuation marks at distinct places between tokens,
/// never inside a mention; full-width after Chinese text.
pub(crate) fn punct_insert(seq: &mut Seq, rng: &mut Rng, budget: usize) -> usize {
    let places: Vec<usize> = (1..=seq.toks.len())
        .filter(|&i| seq.can_insert_at(i))
        .filter(|&i| !seq.toks[i - 1].is_punct())
        .collect();
    let mut chosen = rng.sample(&places, budget);
    chosen.sort_unstable_by(|a, b| b.cmp(a));
    let n_extra = seq.toks.first().map_or(0, |t| t.extra.len());
    for &at in &chosen {
        let chinese = seq.toks[at - 1].text.chars().any(is_han);
        let mark = if chinese {
            rng.pick(&PUNCT_ZH)
        } else {
            rng.pick(&PUNCT_EN)
        };
        let mut tok = Tok::word(*mark);
        tok.pos = punct_pos(seq, chinese);
        tok.extra = vec!["O".to_string(); n_extra];
        seq.insert(at, tok);
    }
    chosen.len()
}

/// `budget` punctuation tokens dropped (none inside a mention).
pub(crate) fn punct_delete(seq: &mut Seq, rng: &mut Rng, budget: usize) -> usize {
    let marks: Vec<usize> = (0..seq.toks.len())
        .filter(|&i| seq.toks[i].is_punct() && !seq.toks[i].is_entity())
        .collect();
    let mut chosen = rng.sample(&marks, budget.min(seq.toks.len().saturating_sub(1)));
    chosen.sort_unstable_by(|a, b| b.cmp(a));
    for &i in &chosen {
        seq.remove(i);
    }
    chosen.len()
}

#[cfg(test)]
mod tests {
    use rustc_hash::FxHashSet;

    use super::*;
    use crate::lexicon::{Cilin, Lexicon};
    use crate::ops::testing::{empty_ctx, seq};

    fn zh_lexicon() -> Lexicon {
        Lexicon {
            cilin: Some(Cilin::parse(
                "Aa01A01= 美丽 漂亮 好看\nBb01A01= 城市 都市\n",
                false,
            )),
            ..Lexicon::default()
        }
    }

    #[test]
    fn synonyms_skip_mentions_and_stop_words() {
        let lex = zh_lexicon();
        let stop = FxHashSet::default();
        let ctx = empty_ctx(&lex, &stop);
        let mut s = seq(
            &["北京", "是", "美丽", "的", "城市", "。"],
            false,
            &[(0, 1, "LOC")],
        );
        let n = synonym(&mut s, &ctx, &mut Rng::new(1), 5, false);
        assert_eq!(n, 2, "美丽 and 城市 are the only candidates");
        assert_eq!(s.toks[0].text, "北京");
        assert_ne!(s.toks[2].text, "美丽");
        assert!(["都市"].contains(&s.toks[4].text.as_str()));
        assert_eq!(s.iob2()[0], "B-LOC");
    }

    #[test]
    fn multi_word_replacements_retag() {
        let mut s = seq(&["the", "New", "York", "office"], true, &[(1, 3, "LOC")]);
        replace_with(&mut s, 1, &["Big", "Apple", "City"]);
        assert_eq!(s.text(), "the Big Apple City York office");
        assert_eq!(s.iob2(), vec!["O", "B-LOC", "I-LOC", "I-LOC", "I-LOC", "O"]);
    }

    #[test]
    fn eda_ops_keep_punctuation_and_mentions() {
        let lex = zh_lexicon();
        let stop = FxHashSet::default();
        let ctx = empty_ctx(&lex, &stop);
        let words = [
            "张三", "在", "美丽", "的", "城市", "里", "工作", "，", "很", "开心", "。",
        ];
        for seed in 0..50 {
            let mut s = seq(&words, false, &[(0, 1, "PER")]);
            random_swap(&mut s, &mut Rng::new(seed), 2);
            assert_eq!(s.toks[0].text, "张三");
            assert_eq!(s.toks[7].text, "，");
            assert_eq!(s.toks[10].text, "。");
            let mut s = seq(&words, false, &[(0, 1, "PER")]);
            assert_eq!(random_delete(&mut s, &mut Rng::new(seed), 3), 3);
            assert_eq!(s.toks.len(), 8);
            assert_eq!(s.toks[0].text, "张三");
            let mut s = seq(&words, false, &[(0, 1, "PER")]);
            assert_eq!(random_insert(&mut s, &ctx, &mut Rng::new(seed), 2), 2);
            assert_eq!(s.toks.len(), 13);
            assert_eq!(s.entities().len(), 1);
        }
    }

    #[test]
    fn punctuation_goes_in_and_out() {
        let mut s = seq(&["I", "like", "green", "tea"], true, &[]);
        assert_eq!(punct_insert(&mut s, &mut Rng::new(3), 1), 1);
        let text = s.text();
        assert_eq!(
            text.chars().filter(|c| c.is_ascii_punctuation()).count(),
            1,
            "{text}"
        );
        assert!(!text.contains(" ,") && !text.contains("  "), "{text}");
        let mut s = seq(&["好", "，", "走", "。"], false, &[]);
        assert_eq!(punct_delete(&mut s, &mut Rng::new(3), 5), 2);
        assert_eq!(s.text(), "好走");
    }
}
