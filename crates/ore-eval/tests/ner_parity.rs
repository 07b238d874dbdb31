//! `ore_eval::ner::score` against seqeval 1.2.2 (python/requirements.txt,
//! through python/seqeval_score.py): overall and per-type precision, recall
//! and F1 must agree to 1e-12 and supports exactly, on the gold tags of
//! CoNLL-2003 eng.testb (IOB1, as they are) against predictions made by
//! corrupting them with a seeded RNG, and on random sequences of odd tags.
//!
//! Needs the project's Python (`$ORE_TEST_PYTHON`, set by `make test`; the
//! test skips without it unless `$ORE_REQUIRE_PYTHON` is set). The CoNLL
//! part reads ../shared/datasets/conll2003/eng.testb, present on the team's
//! machines only, and skips with a message where it is absent.

use std::path::{Path, PathBuf};
use std::process::Command;

use ore_core::testing::{python, repo_root};
use ore_eval::ner::{LabelScores, score};
use serde_json::{Value, json};

const TOLERANCE: f64 = 1e-12;
const TYPES: [&str; 4] = ["PER", "LOC", "ORG", "MISC"];

/// A scratch folder under the system's temporary folder, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(test: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("ore-ner-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create a scratch folder");
        Self(dir)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Deterministic pseudo-random numbers (splitmix64).
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }

    fn chance(&mut self, p: f64) -> bool {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 > 1.0 - p
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

type Corpus = Vec<Vec<String>>;

/// The NER column of a CoNLL-2003 file, a sentence a list.
fn conll_tags(path: &Path) -> Corpus {
    let text = std::fs::read_to_string(path).expect("read the CoNLL file");
    let mut out = Vec::new();
    let mut sentence = Vec::new();
    for line in text.lines() {
        if line.starts_with("-DOCSTART-") || line.trim().is_empty() {
            if !sentence.is_empty() {
                out.push(std::mem::take(&mut sentence));
            }
        } else {
            let tag = line.split_whitespace().last().expect("a tag column");
            sentence.push(tag.to_string());
        }
    }
    if !sentence.is_empty() {
        out.push(sentence);
    }
    out
}

fn kind(tag: &str) -> Option<&str> {
    tag.split_once('-').map(|(_, k)| k)
}

/// A tagger's kind of mistakes, each token with probability `rate`: the
/// type flipped, `B-` dropped, `O` turned into `I-X`, an entity's boundary
/// moved by one (grown into an `O` or its last token cut), an entity missed.
fn corrupt(gold: &[String], rate: f64, rng: &mut Rng) -> Vec<String> {
    let mut tags = gold.to_vec();
    for i in 0..tags.len() {
        if !rng.chance(rate) {
            continue;
        }
        let other = rng.pick(&TYPES);
        let tag = tags[i].clone();
        tags[i] = match (tag.as_str(), rng.below(5)) {
            ("O", 0..=1) => format!("I-{other}"),
            ("O", _) => match i.checked_sub(1).and_then(|j| kind(&tags[j])) {
                // Grow the entity before into this token.
                Some(k) => format!("I-{k}"),
                None => tag,
            },
            (t, 0) => format!("{}-{other}", &t[..1]),
            (t, 1) if t.starts_with("B-") => format!("I-{}", &t[2..]),
            (t, 1) => format!("B-{}", &t[2..]),
            // Cut the entity's last token, or miss the token altogether.
            (_, 2) if tags.get(i + 1).is_none_or(|n| kind(n) != kind(&tag)) => "O".into(),
            (_, 3) => "O".into(),
            (t, _) => t.to_string(),
        };
    }
    tags
}

/// Random sentences of tags seqeval reads in odd ways (IOBES, bare
/// prefixes, `.`, unknown prefixes, `O` with a type, a `-` in the type;
/// not the empty tag, on which seqeval raises).
fn odd_corpus(sentences: usize, rng: &mut Rng) -> Corpus {
    const ALPHABET: &[&str] = &[
        "O", "O", "O", "B-A", "I-A", "E-A", "S-A", "B-B", "I-B", "E-B", "S-B", ".", ".A", "B", "I",
        "E", "S", "M-A", "M", "OUT", "I-UT", "I-B-A", "B-B-A", "I-",
    ];
    (0..sentences)
        .map(|_| {
            let len = rng.below(12);
            (0..len).map(|_| rng.pick(ALPHABET).to_string()).collect()
        })
        .collect()
}

/// seqeval's figures, from python/seqeval_score.py on a JSON file.
fn seqeval(python: &Path, dir: &Path, name: &str, gold: &Corpus, predicted: &Corpus) -> Value {
    let path = dir.join(format!("{name}.json"));
    let data = json!({ "tags": gold, "predicted_tags": predicted });
    std::fs::write(&path, data.to_string()).expect("write the case");
    run_script(python, &path)
}

fn run_script(python: &Path, input: &Path) -> Value {
    let out = Command::new(python)
        .arg(repo_root().join("python/seqeval_score.py"))
        .arg(input)
        .output()
        .expect("run python/seqeval_score.py");
    assert!(
        out.status.success(),
        "seqeval_score.py failed (is seqeval==1.2.2 installed? `make venv`):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON from seqeval_score.py")
}

fn close(name: &str, what: &str, ours: f64, theirs: &Value) {
    let theirs = theirs
        .as_f64()
        .unwrap_or_else(|| panic!("{name}: {what} missing"));
    assert!(
        (ours - theirs).abs() <= TOLERANCE,
        "{name}: {what}: ore {ours} seqeval {theirs}"
    );
}

fn check_figures(name: &str, what: &str, ours: &LabelScores, theirs: &Value) {
    close(
        name,
        &format!("{what} precision"),
        ours.precision,
        &theirs["precision"],
    );
    close(
        name,
        &format!("{what} recall"),
        ours.recall,
        &theirs["recall"],
    );
    close(name, &format!("{what} f1"), ours.f1, &theirs["f1"]);
}

/// Scores the case both ways and compares every figure; returns the
/// overall F1 (to show the cases differ).
fn compare(python: &Path, dir: &Path, name: &str, gold: &Corpus, predicted: &Corpus) -> f64 {
    let ours = score(gold, predicted).expect("same shapes");
    let theirs = seqeval(python, dir, name, gold, predicted);
    check_figures(name, "overall", &ours.overall, &theirs);
    let labels = theirs["per_label"].as_object().expect("per_label");
    let their_labels: Vec<&String> = labels.keys().collect();
    let our_labels: Vec<&String> = ours.per_label.keys().collect();
    assert_eq!(our_labels, their_labels, "{name}: entity types");
    for (label, s) in &ours.per_label {
        check_figures(name, label, s, &labels[label]);
        assert_eq!(
            Some(s.support as u64),
            labels[label]["support"].as_u64(),
            "{name}: {label} support"
        );
    }
    eprintln!(
        "{name}: {} sentences, {} gold / {} predicted entities, F1 {:.4}: equal",
        gold.len(),
        ours.overall.support,
        ours.overall.predicted,
        ours.overall.f1
    );
    ours.overall.f1
}

#[test]
fn entity_scores_equal_seqeval_on_corrupted_conll_tags() {
    let Some(python) = python() else { return };
    let path = repo_root().join("../shared/datasets/conll2003/eng.testb");
    if !path.is_file() {
        eprintln!("skipped: {} is not present", path.display());
        return;
    }
    let tmp = Scratch::new("conll");
    let gold = conll_tags(&path);
    assert!(gold.len() > 3000, "eng.testb has 3453 sentences");
    let mut f1s = Vec::new();
    for (k, rate) in [0.0, 0.02, 0.05, 0.1, 0.3, 0.6].into_iter().enumerate() {
        let mut rng = Rng(1000 + k as u64);
        let predicted: Corpus = gold.iter().map(|s| corrupt(s, rate, &mut rng)).collect();
        f1s.push(compare(
            &python,
            tmp.path(),
            &format!("rate_{rate}"),
            &gold,
            &predicted,
        ));
    }
    assert_eq!(f1s[0], 1.0);
    assert!(
        f1s.windows(2).all(|w| w[1] < w[0]),
        "more noise, lower F1: {f1s:?}"
    );
    // Nothing predicted, and the corrupted tags as the gold side.
    let none: Corpus = gold
        .iter()
        .map(|s| vec!["O".to_string(); s.len()])
        .collect();
    compare(&python, tmp.path(), "all_o", &gold, &none);
    let mut rng = Rng(7);
    let noisy: Corpus = gold.iter().map(|s| corrupt(s, 0.2, &mut rng)).collect();
    compare(&python, tmp.path(), "swapped", &noisy, &gold);
}

#[test]
fn entity_scores_equal_seqeval_on_odd_tags() {
    let Some(python) = python() else { return };
    let tmp = Scratch::new("odd");
    for case in 0..4u64 {
        let mut rng = Rng(case);
        let gold = odd_corpus(400, &mut rng);
        let predicted: Corpus = gold
            .iter()
            .map(|s| {
                let mut fresh = odd_corpus(1, &mut rng).remove(0);
                fresh.resize(s.len(), "O".into());
                // Half the sentences agree with the gold tags, token by token.
                s.iter()
                    .zip(fresh)
                    .map(|(g, f)| if rng.chance(0.5) { g.clone() } else { f })
                    .collect()
            })
            .collect();
        compare(
            &python,
            tmp.path(),
            &format!("odd_{case}"),
            &gold,
            &predicted,
        );
    }
}

/// The script reads a Parquet predictions folder as it reads JSON.
#[test]
fn seqeval_script_reads_parquet_folders() {
    let Some(python) = python() else { return };
    let tmp = Scratch::new("parquet");
    let gold: Corpus = vec![
        vec!["B-PER".into(), "I-PER".into(), "O".into(), "B-LOC".into()],
        vec!["I-ORG".into(), "O".into()],
    ];
    let predicted: Corpus = vec![
        vec!["B-PER".into(), "I-PER".into(), "O".into(), "B-ORG".into()],
        vec!["I-ORG".into(), "O".into()],
    ];
    let from_json = seqeval(&python, tmp.path(), "case", &gold, &predicted);
    let folder = tmp.path().join("predictions");
    std::fs::create_dir(&folder).expect("mkdir");
    std::fs::write(folder.join("_manifest.json"), "{}").expect("write");
    let code = format!(
        "import json, pyarrow as pa, pyarrow.parquet as pq\n\
         d = json.load(open({:?}))\n\
         pq.write_table(pa.table(d), {:?})",
        tmp.path().join("case.json").display().to_string(),
        folder.join("part-00000.parquet").display().to_string(),
    );
    let out = Command::new(&python)
        .args(["-c", &code])
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(run_script(&python, &folder), from_json);
    let ours = score(&gold, &predicted).expect("same shapes");
    check_figures("parquet", "overall", &ours.overall, &from_json);
}
