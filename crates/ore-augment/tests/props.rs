//! Property tests of the ops on generated Chinese and English sentences
//! with entity spans: edit counts within their bound, tags aligned and
//! valid IOB2, entity tokens untouched by ops not about entities, and
//! variants that depend on the example alone.

#![allow(clippy::unwrap_used)] // a test file

use ore_augment::config::{AugmentConfig, Combine, OpConfig, OpKind};
use ore_augment::lexicon::{Cilin, Lexicon, Pinyin, WordNet};
use ore_augment::ops::{self, OpContext, PoolBuilder};
use ore_augment::rng::Rng;
use ore_augment::seq::{Parts, Seq, Span};
use ore_augment::{Augmenter, Outcome};
use proptest::prelude::*;
use rustc_hash::{FxHashMap, FxHashSet};

const ALL: [OpKind; 18] = [
    OpKind::Synonym,
    OpKind::CharInsert,
    OpKind::CharDelete,
    OpKind::CharSwap,
    OpKind::CharSubstitute,
    OpKind::Keyboard,
    OpKind::Homophone,
    OpKind::EquivalentChar,
    OpKind::PunctInsert,
    OpKind::PunctDelete,
    OpKind::EdaSr,
    OpKind::EdaRi,
    OpKind::EdaRs,
    OpKind::EdaRd,
    OpKind::LabelReplace,
    OpKind::NerSynonym,
    OpKind::MentionReplace,
    OpKind::SegmentShuffle,
];

const ZH: [&str; 16] = [
    "我们", "美丽", "城市", "的", "工作", "，", "很", "开心", "。", "北京", "张三", "3", "人民",
    "发展", "妈妈", "一起",
];
const EN: [&str; 16] = [
    "the", "dog", "cars", "happy", "city", ",", "quickly", "walk", ".", "London", "Peter", "42",
    "big", "house", "run", "green",
];

fn lexicon() -> Lexicon {
    let cilin = Cilin::parse(
        "Aa01A01= 美丽 漂亮 好看\nBb01A01= 城市 都市 城\nCc01A01= 工作 劳动 干活\nDd01A01= 开心 高兴 快乐\nEe01A01= 发展 进步\n",
        false,
    );
    let mut wn = WordNet::default();
    let mut ids = FxHashMap::default();
    wn.parse_data(
        "02084071 05 n 03 dog 0 domestic_dog 0 Canis_familiaris 0 000 | a dog\n02958343 06 n 03 car 0 auto 0 automobile 0 000 | a car\n03544360 06 n 02 house 0 home 0 000 | a house\n",
        ore_augment::lexicon::Pos::Noun,
        &mut ids,
    )
    .unwrap();
    wn.parse_data(
        "01148283 00 a 02 happy 0 glad 0 000 | happy\n01383582 00 a 02 big 0 large 0 000 | big\n",
        ore_augment::lexicon::Pos::Adj,
        &mut ids,
    )
    .unwrap();
    let pinyin = Pinyin::parse(
        "媽 妈 [ma1] /mother/\n抹 抹 [ma1] /wipe/\n麻 麻 [ma2] /hemp/\n們 们 [men5] /plural/\n門 门 [men2] /door/\n城 城 [cheng2] /city/\n成 成 [cheng2] /become/\n",
        |_| 5,
    );
    Lexicon {
        cilin: Some(cilin),
        english: vec![Box::new(wn)],
        pinyin: Some(pinyin),
        ..Lexicon::default()
    }
}

/// A sentence of `words` (indices into the vocabulary) with mentions at
/// the given (start, len) places, clipped and made disjoint.
fn build(zh: bool, words: &[usize], mentions: &[(usize, usize)]) -> Seq {
    let vocab = if zh { &ZH } else { &EN };
    let tokens: Vec<&str> = words.iter().map(|&w| vocab[w % vocab.len()]).collect();
    let text = tokens.join(if zh { "" } else { " " });
    let mut spans: Vec<Span> = Vec::new();
    let mut free_from = 0;
    let mut sorted = mentions.to_vec();
    sorted.sort_unstable();
    for (start, len) in sorted {
        let (start, end) = (
            start.max(free_from),
            (start.max(free_from) + len).min(tokens.len()),
        );
        if start < end
            && !tokens[start..end]
                .iter()
                .any(|t| t.chars().all(|c| !c.is_alphanumeric()))
        {
            spans.push(Span {
                start: start as u32,
                end: end as u32,
                label: if start % 2 == 0 { "PER" } else { "LOC" }.into(),
            });
            free_from = end;
        }
    }
    let pos: Vec<&str> = tokens
        .iter()
        .map(|t| {
            if t.chars().all(char::is_alphanumeric) {
                if zh { "n" } else { "NN" }
            } else if zh {
                "w"
            } else {
                "."
            }
        })
        .collect();
    let chunks: Vec<&str> = (0..tokens.len())
        .map(|i| if i % 3 == 0 { "B-NP" } else { "I-NP" })
        .collect();
    Seq::new(&Parts {
        text: &text,
        tokens,
        pos: Some(pos),
        entities: spans,
        extra: vec![chunks],
        ..Parts::default()
    })
}

/// A generated sentence: Chinese or not, word indices, mention places.
type Sentence = (bool, Vec<usize>, Vec<(usize, usize)>);

fn sentence() -> impl Strategy<Value = Sentence> {
    (
        any::<bool>(),
        prop::collection::vec(0usize..16, 1..24),
        prop::collection::vec((0usize..24, 1usize..4), 0..4),
    )
}

fn valid_iob2(tags: &[String]) -> bool {
    let mut prev = "O".to_string();
    for t in tags {
        if let Some(kind) = t.strip_prefix("I-") {
            let continues =
                prev.strip_prefix("B-").or_else(|| prev.strip_prefix("I-")) == Some(kind);
            if !continues {
                return false;
            }
        } else if t != "O" && !t.starts_with("B-") {
            return false;
        }
        prev = t.clone();
    }
    true
}

/// The entity tokens of a sequence: (text of the mention, label) in order.
fn mentions(seq: &Seq) -> Vec<(String, String)> {
    seq.entities()
        .iter()
        .map(|s| {
            let text: Vec<&str> = seq.toks[s.start as usize..s.end as usize]
                .iter()
                .map(|t| t.text.as_str())
                .collect();
            (text.join(" "), s.label.clone())
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, .. ProptestConfig::default() })]

    #[test]
    fn ops_keep_their_bounds_and_tags((zh, words, ments) in sentence(), seed in any::<u64>(), rate in 0.0f64..1.0, min in 0usize..3, extra_max in 0usize..6) {
        let lex = lexicon();
        let stop = FxHashSet::default();
        let mut pool = PoolBuilder::default();
        pool.add(&build(zh, &[10, 1, 9, 2], &[(0, 1), (2, 2)]));
        pool.add(&build(zh, &words, &ments));
        let pools = pool.finish();
        let ctx = OpContext { lexicon: &lex, pools: Some(&pools), stop_words: &stop };
        for kind in ALL {
            let op = OpConfig { rate: Some(rate), min: Some(min), max: Some(min + extra_max), ..OpConfig::new(kind) };
            let original = build(zh, &words, &ments);
            let mut seq = original.clone();
            let budget = op.budget(ops::length(&seq, kind.unit()));
            let edits = ops::apply(&op, &mut seq, &ctx, &mut Rng::new(seed));
            prop_assert!(edits <= budget, "{kind:?}: {edits} edits > budget {budget}");
            // Tags ride on the tokens: every column stays as long as the tokens.
            for t in &seq.toks {
                prop_assert_eq!(t.extra.len(), 1);
                prop_assert!(t.pos.is_some());
            }
            let tags = seq.iob2();
            prop_assert_eq!(tags.len(), seq.toks.len());
            prop_assert!(valid_iob2(&tags), "{kind:?}: {tags:?}");
            prop_assert_eq!(tags.iter().filter(|t| t.starts_with("B-")).count(), seq.entities().len());
            let (starts, ends) = seq.offsets();
            let text: Vec<char> = seq.text().chars().collect();
            for (i, t) in seq.toks.iter().enumerate() {
                let got: String = text[starts[i] as usize..ends[i] as usize].iter().collect();
                prop_assert_eq!(&got, &t.text);
            }
            if !kind.is_entity_op() {
                prop_assert_eq!(mentions(&seq), mentions(&original), "{:?} touched a mention", kind);
            }
            // Substitutions keep the length: each edit is one changed character.
            if matches!(kind, OpKind::CharSubstitute | OpKind::Keyboard | OpKind::Homophone | OpKind::EquivalentChar) {
                let a: Vec<char> = original.text().chars().collect();
                prop_assert_eq!(a.len(), text.len());
                let changed = a.iter().zip(&text).filter(|(x, y)| x != y).count();
                prop_assert_eq!(changed, edits, "{:?}", kind);
            }
        }
    }

    #[test]
    fn variants_depend_on_the_example_alone(rows in prop::collection::vec(sentence(), 1..12), extra in prop::collection::vec(sentence(), 1..6), seed in any::<u64>()) {
        let ops: Vec<OpConfig> = ALL.iter().filter(|k| !k.uses_pool()).map(|&k| OpConfig::new(k)).collect();
        for combine in [Combine::Each, Combine::OneOf, Combine::Chain] {
            let config = AugmentConfig { ops: ops.clone(), combine, n_aug: 2, ..AugmentConfig::default() };
            let aug = Augmenter::new(config, lexicon(), None);
            let texts = |rows: &[Sentence]| -> Vec<Vec<String>> {
                rows.iter().enumerate().map(|(i, (zh, w, m))| {
                    aug.variants(seed, &format!("ex{i}"), &[build(*zh, w, m)])
                        .into_iter()
                        .filter_map(|o| match o { Outcome::Kept(v) => Some(format!("{}|{}|{}", v.op, v.seed, v.sides[0].text())), _ => None })
                        .collect()
                }).collect()
            };
            let first = texts(&rows);
            prop_assert_eq!(&first, &texts(&rows), "same input, same variants");
            let mut more = rows.clone();
            more.extend(extra.iter().cloned());
            let grown = texts(&more);
            prop_assert_eq!(&grown[..rows.len()], &first[..], "adding examples changed old variants");
        }
    }
}
