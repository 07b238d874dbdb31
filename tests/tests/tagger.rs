//! `ore train --task tag` and `ore eval` of a tagger, run as a user runs
//! them: a synthetic tagging task learnt to at least 95% entity F1, real
//! CoNLL-2003 predictions, and on both the F1 of `ore eval` equal to
//! seqeval's on the same predictions (`python/seqeval_score.py` in the
//! test venv).

use std::fmt::Write as _;
use std::path::Path;

use ore_tests::{one_line_error, ore, python, repo_root, shared_dataset, stdout_ok};
use serde_json::Value;

fn json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("read json")).expect("json")
}

/// seqeval's figures for an eval's predictions.
fn seqeval(python: &Path, predictions: &Path) -> Value {
    let out = std::process::Command::new(python)
        .arg(repo_root().join("python/seqeval_score.py"))
        .arg(predictions)
        .output()
        .expect("run seqeval_score.py");
    assert!(
        out.status.success(),
        "seqeval_score.py: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("seqeval json")
}

/// `ore eval`'s metrics equal seqeval's, overall and per type.
fn assert_equals_seqeval(eval: &Path, python: &Path) -> f64 {
    let ours = json(&eval.join("_metrics.json"));
    let theirs = seqeval(python, eval);
    for key in ["precision", "recall", "f1"] {
        let (a, b) = (number(&ours[key]), number(&theirs[key]));
        assert!((a - b).abs() < 1e-12, "{key}: ore {a}, seqeval {b}");
    }
    let types = theirs["per_label"].as_object().expect("per_label");
    assert!(!types.is_empty());
    for (label, s) in types {
        let o = &ours["per_label"][label];
        for key in ["precision", "recall", "f1"] {
            let (a, b) = (number(&o[key]), number(&s[key]));
            assert!((a - b).abs() < 1e-12, "{label} {key}: ore {a}, seqeval {b}");
        }
        assert_eq!(o["support"], s["support"], "{label} support");
    }
    number(&ours["f1"])
}

fn number(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

/// Two-column `token TAG` sentences: filler words, people (a first name,
/// sometimes followed by a surname) and places; the tags follow from the
/// words and their neighbours.
fn synthetic_bio(n: usize, seed: u64) -> String {
    const NAMES: [&str; 6] = ["Anna", "Boris", "Chen", "Dana", "Emil", "Fatima"];
    const PLACES: [&str; 5] = ["Oslo", "Lima", "Hanoi", "Quito", "Accra"];
    const WORDS: [&str; 10] = [
        "the", "met", "in", "went", "to", "saw", "near", "and", "later", "today",
    ];
    let mut state = seed;
    let mut pick = |k: usize| {
        state = ore_core::ids::row_seed(state, "synthetic");
        (state % k as u64) as usize
    };
    let mut text = String::new();
    for _ in 0..n {
        for _ in 0..4 + pick(8) {
            match pick(6) {
                0 => {
                    let _ = writeln!(text, "{} B-PER", NAMES[pick(NAMES.len())]);
                    if pick(2) == 0 {
                        let _ = writeln!(text, "{}son I-PER", NAMES[pick(NAMES.len())]);
                    }
                }
                1 => {
                    let _ = writeln!(text, "{} B-LOC", PLACES[pick(PLACES.len())]);
                }
                _ => {
                    let _ = writeln!(text, "{} O", WORDS[pick(WORDS.len())]);
                }
            }
        }
        text.push('\n');
    }
    text
}

#[test]
fn a_tagger_learns_a_synthetic_task_and_scores_as_seqeval() {
    let Some(python) = python() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    for (name, n, seed) in [
        ("train.bio", 600, 1),
        ("valid.bio", 100, 2),
        ("test.bio", 300, 3),
    ] {
        std::fs::write(d.join(name), synthetic_bio(n, seed)).unwrap();
        let out = name.trim_end_matches(".bio");
        stdout_ok(&ore(d, &["import", "conll", name, "--output", out]));
    }
    std::fs::write(
        d.join("tag.toml"),
        r#"[pipeline]
name = "synthetic-tags"
seed = 5

[train]
task = "tag"
max_steps = 200
eval_every = 50
patience = 0
[train.data]
batch_size = 16
[train.model]
embedding = 16
hidden = 24
char_embedding = 8
char_filters = 12
dropout = 0.0
[train.optim]
lr = 0.01
"#,
    )
    .unwrap();
    let trained = stdout_ok(&ore(
        d,
        &[
            "train",
            "--config",
            "tag.toml",
            "--input",
            "train",
            "--valid",
            "valid",
            "--output",
            "tagger",
            "--threads",
            "2",
        ],
    ));
    assert!(trained.contains("200 steps"), "{trained}");
    let manifest = json(&d.join("tagger/_manifest.json"));
    assert_eq!(manifest["summary"]["steps"], 200);
    assert!(manifest["summary"]["step_tokens_per_s"].as_f64().unwrap() > 0.0);
    for file in [
        "config.json",
        "vocab.words.txt",
        "vocab.chars.txt",
        "tags.txt",
        "model.safetensors",
    ] {
        assert!(d.join("tagger").join(file).is_file(), "{file} missing");
    }
    let tags = std::fs::read_to_string(d.join("tagger/tags.txt")).unwrap();
    assert_eq!(tags, "O\nB-LOC\nI-LOC\nB-PER\nI-PER\n");

    let evaluated = stdout_ok(&ore(
        d,
        &[
            "eval", "--model", "tagger", "--input", "test", "--output", "scored",
        ],
    ));
    assert!(evaluated.contains("entity precision"), "{evaluated}");
    let f1 = assert_equals_seqeval(&d.join("scored"), &python);
    assert!(f1 >= 0.95, "entity F1 {f1} on the synthetic task");
    let report = std::fs::read_to_string(d.join("scored/_report/report.md")).unwrap();
    assert!(
        report.contains("| PER |") && report.contains("micro avg"),
        "{report}"
    );

    // A tagger and an encoder-decoder do not make an ensemble; a bad task
    // is one line.
    let err = one_line_error(&ore(
        d,
        &[
            "train", "--task", "tags", "--input", "train", "--output", "x",
        ],
    ));
    assert!(err.contains("--task tags"), "{err}");
    let err = one_line_error(&ore(
        d,
        &[
            "train", "--task", "tag", "--input", "scored", "--output", "x",
        ],
    ));
    assert!(err.contains("entities"), "{err}");
}

#[test]
fn conll_predictions_score_as_seqeval() {
    let Some(python) = python() else { return };
    let Some(conll) = shared_dataset("conll2003") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let pipeline = format!(
        r#"[pipeline]
name = "conll-tagger"
seed = 3
output_root = "out"

[train_300]
stage = "import-conll"
input = "{train}"
sample = 300

[dev]
stage = "import-conll"
input = "{dev}"
sample = 300

[test]
stage = "import-conll"
input = "{test}"

[tagger]
stage = "train"
input = "train_300"
valid = "dev"
task = "tag"
max_steps = 100
eval_every = 20
[tagger.model]
embedding = 32
hidden = 32
[tagger.optim]
lr = 0.01

[score]
stage = "eval"
model = "tagger"
input = "test"
"#,
        train = conll.join("eng.train").display(),
        dev = conll.join("eng.testa").display(),
        test = conll.join("eng.testb").display(),
    );
    std::fs::write(d.join("p.toml"), pipeline).unwrap();
    let out = stdout_ok(&ore(d, &["run", "p.toml"]));
    assert!(out.contains("entity precision"), "{out}");
    let scored = d.join("out/conll-tagger/score");
    let metrics = json(&scored.join("_metrics.json"));
    assert_eq!(metrics["sentences"], 3453);
    let f1 = assert_equals_seqeval(&scored, &python);
    // A few steps on 300 sentences: real, imperfect predictions.
    assert!(f1 > 0.0 && f1 < 0.9, "F1 {f1}");
    // Up to date on a rerun.
    let again = stdout_ok(&ore(d, &["run", "p.toml"]));
    assert!(!again.contains("entity precision"), "{again}");
}
