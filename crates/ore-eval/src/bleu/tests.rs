//! Expected values published in sacrebleu 2.6.0's own test suite
//! (`test/test_bleu.py`, `test/test_sentence_bleu.py`), checked against
//! ore's implementation. The inputs and numbers are sacrebleu's; the tests
//! are written for ore.

use super::*;

const HYPS: [&str; 3] = [
    "The dog bit the man.",
    "It wasn't surprising.",
    "The man had just bitten him.",
];

fn refs() -> Vec<Vec<&'static str>> {
    vec![
        vec![
            "The dog bit the man.",
            "It was not unexpected.",
            "The man bit him first.",
        ],
        vec![
            "The dog had bit the man.",
            "No one was surprised.",
            "The man had bitten the dog.",
        ],
    ]
}

/// sacrebleu's `raw_corpus_bleu`: no tokenization, floor smoothing,
/// effective order.
fn raw(floor: f64) -> Bleu {
    Bleu::new(BleuConfig {
        tokenize: BleuTokenize::None,
        smooth: Smooth::Floor(floor),
        effective_order: true,
        ..BleuConfig::default()
    })
}

fn close(actual: f64, expected: f64, eps: f64) {
    assert!((actual - expected).abs() < eps, "{actual} != {expected}");
}

#[test]
fn raw_corpus_bleu_cases() {
    let score = |hyps: &[&str], refs: Vec<Vec<&str>>| {
        raw(0.01).corpus_score(hyps, &refs).unwrap().score / 100.0
    };
    close(
        score(
            &["this is a test", "another test"],
            vec![vec!["ref1", "ref2"]],
        ),
        0.0,
        1e-8,
    );
    close(
        score(&["this is a test"], vec![vec!["this is a test"]]),
        1.0,
        1e-8,
    );
    close(
        score(&["this is a fest"], vec![vec!["this is a test"]]),
        0.223606797749979,
        1e-8,
    );
}

#[test]
fn corpus_bleu_cases() {
    let refs = refs();
    let with = |config: BleuConfig, hyps: &[&str]| {
        Bleu::new(config).corpus_score(hyps, &refs).unwrap().score
    };
    close(with(BleuConfig::default(), &HYPS), 48.530827, 1e-6);
    close(with(BleuConfig::default(), &["", "", ""]), 0.0, 1e-8);
    let none = BleuConfig {
        tokenize: BleuTokenize::None,
        ..BleuConfig::default()
    };
    close(with(none, &HYPS), 49.1919566, 1e-6);
    let no_smoothing = BleuConfig {
        smooth: Smooth::None,
        ..BleuConfig::default()
    };
    close(with(no_smoothing, &HYPS), 48.530827, 1e-6);
}

#[test]
fn effective_order_cases() {
    let score = |h: &str, r: &str| raw(0.01).corpus_score(&[h], &[vec![r]]).unwrap().score / 100.0;
    close(score("test", "a test"), 0.3678794411714425, 1e-8);
    close(score("a test", "a test"), 1.0, 1e-8);
    close(score("a little test", "a test"), 0.03218297948685433, 1e-8);
}

#[test]
fn statistics_case() {
    let s = raw(0.01)
        .corpus_score(
            &["am I am a character sequence"],
            &[vec!["I am a symbol string sequence a a"]],
        )
        .unwrap();
    assert_eq!(s.counts, [4, 2, 1, 0]);
    assert_eq!(s.totals, [6, 5, 4, 3]);
}

#[test]
fn scoring_case() {
    let stats = BleuStats {
        sys_len: 11,
        ref_len: 11,
        correct: vec![9, 7, 5, 3],
        total: vec![10, 8, 6, 4],
    };
    let bleu = Bleu::new(BleuConfig {
        smooth: Smooth::None,
        ..BleuConfig::default()
    });
    close(bleu.score_stats(&stats).score / 100.0, 0.8375922397, 1e-8);
}

#[test]
fn offset_case() {
    let (h, r) = (
        ["am I am a character sequence"],
        [vec!["I am a symbol string sequence a a"]],
    );
    close(
        raw(0.0).corpus_score(&h, &r).unwrap().score / 100.0,
        0.0,
        1e-8,
    );
    close(
        raw(0.1).corpus_score(&h, &r).unwrap().score / 100.0,
        0.1555722182,
        1e-8,
    );
}

#[test]
fn degenerate_statistics() {
    // (correct, total, sys_len, ref_len, floor value)
    type Case = ([u64; 4], [u64; 4], u64, u64, f64);
    let cases: [Case; 6] = [
        ([0, 0, 0, 0], [4, 4, 2, 1], 0, 1, 0.0),
        ([0, 0, 0, 0], [10, 11, 12, 0], 14, 10, 0.0),
        ([0, 0, 0, 0], [0, 0, 0, 0], 0, 0, 0.0),
        ([6, 5, 4, 0], [6, 5, 4, 3], 6, 6, 0.0),
        ([0, 0, 0, 0], [0, 0, 0, 0], 0, 0, 0.1),
        ([0, 0, 0, 0], [0, 0, 0, 0], 1, 5, 0.01),
    ];
    for (correct, total, sys_len, ref_len, floor) in cases {
        let bleu = Bleu::new(BleuConfig {
            smooth: Smooth::Floor(floor),
            ..BleuConfig::default()
        });
        let stats = BleuStats {
            sys_len,
            ref_len,
            correct: correct.to_vec(),
            total: total.to_vec(),
        };
        assert_eq!(bleu.score_stats(&stats).score, 0.0, "{correct:?} {total:?}");
    }
}

#[test]
fn max_ngram_order() {
    let refs = refs();
    for (order, expected) in [
        (1, "77.65"),
        (2, "60.50"),
        (3, "53.93"),
        (4, "48.53"),
        (5, "46.14"),
        (6, "43.28"),
    ] {
        let bleu = Bleu::new(BleuConfig {
            max_order: order,
            ..BleuConfig::default()
        });
        assert_eq!(
            format!("{:.2}", bleu.corpus_score(&HYPS, &refs).unwrap().score),
            expected
        );
    }
}

#[test]
fn sentence_bleu_smoothing_and_tokenizers() {
    const REF: &str = "producţia de zahăr brut se exprimă în zahăr alb;";
    const SYS: &str = "Producția de zahăr primă va fi exprimată în ceea ce privește zahărul alb;";
    let cases = [
        (Smooth::Exp, false, BleuTokenize::Thirteen, 8.493),
        (Smooth::None, false, BleuTokenize::Thirteen, 0.0),
        (Smooth::Floor(0.1), false, BleuTokenize::Thirteen, 4.51688),
        (Smooth::Floor(0.5), false, BleuTokenize::Thirteen, 10.10),
        (Smooth::AddK(1.0), false, BleuTokenize::Thirteen, 14.882),
        (Smooth::AddK(2.0), false, BleuTokenize::Thirteen, 21.389),
        (Smooth::Exp, false, BleuTokenize::None, 7.347),
        (Smooth::Exp, false, BleuTokenize::Char, 40.8759),
        (Smooth::Exp, true, BleuTokenize::Char, 42.0267),
    ];
    for (smooth, lowercase, tokenize, expected) in cases {
        let bleu = Bleu::new(BleuConfig {
            tokenize,
            lowercase,
            smooth,
            effective_order: true,
            ..BleuConfig::default()
        });
        close(bleu.sentence_score(SYS, &[REF]).score, expected, 1e-3);
        let zero = bleu.sentence_score("this is a cat", &["okay thanks"]).score;
        if tokenize == BleuTokenize::Thirteen {
            assert_eq!(zero, 0.0, "{smooth:?}");
        }
    }
}

#[test]
fn signature_matches_sacrebleu() {
    assert_eq!(
        Bleu::default().signature(1),
        "nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0"
    );
    let zh = Bleu::new(BleuConfig {
        tokenize: BleuTokenize::Zh,
        lowercase: true,
        smooth: Smooth::Floor(0.1),
        effective_order: true,
        ..BleuConfig::default()
    });
    assert_eq!(
        zh.signature(2),
        "nrefs:2|case:lc|eff:yes|tok:zh|smooth:floor[0.10]|version:2.6.0"
    );
}

#[test]
fn closest_reference_length_prefers_shorter_on_ties() {
    assert_eq!(closest_ref_len(5, [3, 7].into_iter()), 3);
    assert_eq!(closest_ref_len(5, [7, 3].into_iter()), 3);
    assert_eq!(closest_ref_len(5, [9, 6, 4].into_iter()), 4);
}

#[test]
fn mismatched_lengths_are_an_error() {
    let err = Bleu::default()
        .corpus_score(&["a", "b"], &[vec!["a"]])
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "2 hypotheses but reference set 0 has 1 lines"
    );
}
