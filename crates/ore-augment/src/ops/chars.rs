//! Character noise: insert, delete, swap, substitute, keyboard typos,
//! Chinese homophones and equivalent numerals. Only characters of words
//! outside mentions are touched; punctuation is left alone.

use super::OpContext;
use crate::rng::Rng;
use crate::seq::{Seq, is_han};
use crate::tables::{equivalents, is_word_numeral, keyboard_neighbours, on_keyboard};

/// Common Chinese characters, drawn from when a character is inserted or
/// substituted in Chinese text.
const COMMON_HAN: &str = "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后多定行学法所民得经三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向道命此变条只没结解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员革位入常文总次品式活设及管特件长求老头基资边流路级少图山统接知较将组见计别她手角期根论运农指几九区强放决西被干做必战先回则任取据处府研";

/// A character of a word, by token and character index.
type At = (usize, usize);

/// Characters of words outside mentions for which `ok` holds.
fn places(seq: &Seq, ok: impl Fn(&[char], usize, Option<&str>) -> bool) -> Vec<At> {
    let mut out = Vec::new();
    for (t, tok) in seq.toks.iter().enumerate() {
        if !tok.is_plain_word() {
            continue;
        }
        let chars: Vec<char> = tok.text.chars().collect();
        for c in 0..chars.len() {
            if chars[c].is_alphanumeric() && ok(&chars, c, tok.pos.as_deref()) {
                out.push((t, c));
            }
        }
    }
    out
}

/// `budget` of `places`, right to left, so that editing one does not move
/// the others.
fn choose(rng: &mut Rng, places: &[At], budget: usize) -> Vec<At> {
    let mut chosen = rng.sample(places, budget);
    chosen.sort_unstable_by(|a, b| b.cmp(a));
    chosen
}

fn edit(seq: &mut Seq, (t, _): At, f: impl FnOnce(&mut Vec<char>)) {
    let mut chars: Vec<char> = seq.toks[t].text.chars().collect();
    f(&mut chars);
    seq.toks[t].text = chars.into_iter().collect();
}

/// A random character like `c`: Chinese for Chinese, a digit for a digit,
/// a letter of the same case otherwise.
fn like(c: char, rng: &mut Rng) -> char {
    if is_han(c) {
        let common: Vec<char> = COMMON_HAN.chars().collect();
        *rng.pick(&common)
    } else if c.is_ascii_digit() {
        char::from(b'0' + rng.below(10) as u8)
    } else {
        let l = char::from(b'a' + rng.below(26) as u8);
        if c.is_uppercase() {
            l.to_ascii_uppercase()
        } else {
            l
        }
    }
}

pub(crate) fn insert(seq: &mut Seq, rng: &mut Rng, budget: usize) -> usize {
    let chosen = choose(rng, &places(seq, |_, _, _| true), budget);
    for &at in &chosen {
        let (_, c) = at;
        let original = seq.toks[at.0].text.chars().nth(c).unwrap_or('a');
        let new = like(original, rng);
        edit(seq, at, |chars| chars.insert(c + 1, new));
    }
    chosen.len()
}

pub(crate) fn delete(seq: &mut Seq, rng: &mut Rng, budget: usize) -> usize {
    let all = places(seq, |_, _, _| true);
    // Keep at least one character of the text.
    let chosen = choose(rng, &all, budget.min(all.len().saturating_sub(1)));
    for &(t, c) in &chosen {
        edit(seq, (t, c), |chars| {
            chars.remove(c);
        });
        if seq.toks[t].text.is_empty() {
            seq.remove(t);
        }
    }
    chosen.len()
}

pub(crate) fn swap(seq: &mut Seq, rng: &mut Rng, budget: usize) -> usize {
    let all = places(seq, |chars, c, _| {
        chars
            .get(c + 1)
            .is_some_and(|n| n.is_alphanumeric() && *n != chars[c])
    });
    // Drawn in random order; a swap overlapping one already taken is
    // skipped, so that no swap undoes another.
    let order = rng.sample(&all, all.len());
    let mut taken: Vec<At> = Vec::new();
    for at in order {
        if taken.len() == budget {
            break;
        }
        let overlaps = taken
            .iter()
            .any(|&(t, c)| t == at.0 && c.abs_diff(at.1) <= 1);
        if !overlaps {
            taken.push(at);
        }
    }
    taken.sort_unstable_by(|a, b| b.cmp(a));
    for &at in &taken {
        edit(seq, at, |chars| chars.swap(at.1, at.1 + 1));
    }
    taken.len()
}

pub(crate) fn substitute(seq: &mut Seq, rng: &mut Rng, budget: usize) -> usize {
    let chosen = choose(rng, &places(seq, |_, _, _| true), budget);
    for &at in &chosen {
        edit(seq, at, |chars| {
            let old = chars[at.1];
            let mut new = like(old, rng);
            for _ in 0..8 {
                if new != old {
                    break;
                }
                new = like(old, rng);
            }
            if new == old {
                new = if old == 'a' {
                    'b'
                } else if old == '的' {
                    '地'
                } else {
                    'a'
                };
            }
            chars[at.1] = new;
        });
    }
    chosen.len()
}

pub(crate) fn keyboard(seq: &mut Seq, rng: &mut Rng, budget: usize) -> usize {
    let all = places(seq, |chars, c, _| on_keyboard(chars[c]));
    let chosen = choose(rng, &all, budget);
    for &at in &chosen {
        edit(seq, at, |chars| {
            let near = keyboard_neighbours(chars[at.1]);
            chars[at.1] = *rng.pick(&near);
        });
    }
    chosen.len()
}

pub(crate) fn homophone(
    seq: &mut Seq,
    ctx: &OpContext<'_>,
    rng: &mut Rng,
    budget: usize,
    any_tone: bool,
) -> usize {
    let Some(pinyin) = &ctx.lexicon.pinyin else {
        return 0;
    };
    let all = places(seq, |chars, c, _| {
        is_han(chars[c]) && pinyin.has_homophone(chars[c], any_tone)
    });
    let chosen = choose(rng, &all, budget);
    for &at in &chosen {
        edit(seq, at, |chars| {
            let c = chars[at.1];
            let readings: Vec<&str> = pinyin
                .readings(c)
                .into_iter()
                .filter(|r| pinyin.has_homophone_read(c, r, any_tone))
                .collect();
            let reading = rng.pick(&readings);
            let (cands, weights) = pinyin.homophones(c, reading, any_tone);
            chars[at.1] = cands[rng.weighted(&weights)];
        });
    }
    chosen.len()
}

/// Whether a token is a number: tagged one (`m`, `CD`, `NUM`), or, with
/// no tag, made of numerals only.
fn is_number(chars: &[char], pos: Option<&str>) -> bool {
    match pos {
        Some(p) => p == "m" || p == "CD" || p == "NUM" || p == "mq",
        None => chars.iter().all(|&c| !equivalents(c).is_empty()),
    }
}

pub(crate) fn equivalent(seq: &mut Seq, rng: &mut Rng, budget: usize) -> usize {
    let all = places(seq, |chars, c, pos| {
        !equivalents(chars[c]).is_empty() && (!is_word_numeral(chars[c]) || is_number(chars, pos))
    });
    let chosen = choose(rng, &all, budget);
    for &at in &chosen {
        edit(seq, at, |chars| {
            let eq = equivalents(chars[at.1]);
            chars[at.1] = *rng.pick(&eq);
        });
    }
    chosen.len()
}

#[cfg(test)]
mod tests {
    use rustc_hash::FxHashSet;

    use super::*;
    use crate::lexicon::{Lexicon, Pinyin};
    use crate::ops::testing::{empty_ctx, seq};

    fn differing_chars(a: &str, b: &str) -> usize {
        a.chars().zip(b.chars()).filter(|(x, y)| x != y).count()
    }

    #[test]
    fn char_ops_leave_mentions_and_punctuation() {
        let words = [
            "Peter",
            "Blackburn",
            "visited",
            "the",
            "old",
            "harbour",
            ".",
        ];
        for seed in 0..40 {
            for op in [insert, delete, swap, substitute, keyboard] {
                let mut s = seq(&words, true, &[(0, 2, "PER")]);
                let n = op(&mut s, &mut Rng::new(seed), 3);
                assert!(n <= 3);
                assert_eq!(s.toks[0].text, "Peter");
                assert_eq!(s.toks[1].text, "Blackburn");
                assert_eq!(s.toks.last().map(|t| t.text.as_str()), Some("."));
                assert_eq!(s.iob2()[..2], ["B-PER".to_string(), "I-PER".to_string()]);
            }
        }
        let mut s = seq(&words, true, &[]);
        assert_eq!(substitute(&mut s, &mut Rng::new(1), 2), 2);
        assert_eq!(differing_chars(&s.text(), &words.join(" ")), 2);
    }

    #[test]
    fn homophones_keep_the_reading() {
        let p = Pinyin::parse(
            "媽 妈 [ma1] /mother/\n抹 抹 [ma1] /wipe/\n麻 麻 [ma2] /hemp/\n",
            |_| 10,
        );
        let lex = Lexicon {
            pinyin: Some(p),
            ..Lexicon::default()
        };
        let stop = FxHashSet::default();
        let ctx = empty_ctx(&lex, &stop);
        let mut s = seq(&["妈妈", "好"], false, &[]);
        assert_eq!(homophone(&mut s, &ctx, &mut Rng::new(0), 1, false), 1);
        assert!(s.text() == "抹妈好" || s.text() == "妈抹好", "{}", s.text());
        let mut s = seq(&["麻"], false, &[]);
        assert_eq!(homophone(&mut s, &ctx, &mut Rng::new(0), 1, false), 0);
        assert_eq!(homophone(&mut s, &ctx, &mut Rng::new(0), 1, true), 1);
    }

    #[test]
    fn numerals_change_only_in_numbers() {
        let mut s = seq(&["一起", "买", "3", "本"], false, &[]);
        assert_eq!(equivalent(&mut s, &mut Rng::new(5), 4), 1);
        assert_eq!(s.toks[0].text, "一起");
        assert!(["三", "叁", "③", "３"].contains(&s.toks[2].text.as_str()));
    }
}
