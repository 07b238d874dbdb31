use std::path::PathBuf;

use arrow_array::RecordBatch;
use arrow_array::cast::AsArray;
use ore_core::{Dataset, StrColumn};

use super::*;

fn spans(tags: &[&str], scheme: Scheme) -> Vec<(u32, u32, String)> {
    decode_iob(tags, scheme)
        .unwrap()
        .into_iter()
        .map(|e| (e.start, e.end, e.label))
        .collect()
}

fn config(format: Format) -> ConllConfig {
    ConllConfig {
        format,
        ..ConllConfig::default()
    }
}

#[test]
fn iob1_and_iob2_decode_alike() {
    let iob1 = ["I-PER", "I-PER", "O", "I-LOC", "B-LOC", "I-ORG"];
    let iob2 = ["B-PER", "I-PER", "O", "B-LOC", "B-LOC", "B-ORG"];
    let expected = vec![
        (0, 2, "PER".to_string()),
        (3, 4, "LOC".to_string()),
        (4, 5, "LOC".to_string()),
        (5, 6, "ORG".to_string()),
    ];
    assert_eq!(spans(&iob1, Scheme::Auto), expected);
    assert_eq!(spans(&iob2, Scheme::Iob2), expected);
    assert_eq!(decode_iob(&iob1, Scheme::Iob2), Err(0));
}

#[test]
fn malformed_lines_are_rejected_with_line_numbers() {
    let text = "-DOCSTART- -X- -X- O\n\nEU NNP B-NP B-ORG\nrejects VBZ B-VP O\n\nbad line\nx NN B-NP O\n\nok NN B-NP Q-PER\n\nthree col umns\n";
    let parsed = parse(Path::new("t.conll"), text, &config(Format::Conll2003)).unwrap();
    assert_eq!(parsed.rows.len(), 1);
    assert_eq!(parsed.rows[0].words, ["EU", "rejects"]);
    assert_eq!(parsed.rows[0].doc_id, "t.conll#1");
    assert_eq!(parsed.rejected.len(), 3);
    assert_eq!(parsed.rejected[0].reason, MALFORMED_LINE);
    assert!(
        parsed.rejected[0].detail.starts_with("line 6:"),
        "{:?}",
        parsed.rejected[0]
    );
    assert_eq!(parsed.rejected[1].reason, BAD_TAG);
    assert!(parsed.rejected[1].detail.starts_with("line 9:"));
    // Under `auto` a 3-column line is malformed too; only 2 and 4 decide.
    let auto = parse(
        Path::new("t.conll"),
        "a b c\n\nEU NNP B-NP B-ORG\n",
        &config(Format::Auto),
    );
    let auto = auto.unwrap();
    assert_eq!((auto.rows.len(), auto.rejected.len()), (1, 1));
    assert_eq!(auto.rejected[0].reason, MALFORMED_LINE);
}

const BIO: &str =
    "我 O\n爱 O\n北 B-LOC\n京 I-LOC\n\n王 B-PER\n小 I-PER\n明 I-PER\n说 O\n\nJohn B-PER\nlives O\n";

#[test]
fn bio_files_give_rows_without_pos_or_chunks() {
    for format in [Format::Auto, Format::Bio] {
        let parsed = parse(Path::new("t.bio"), BIO, &config(format)).unwrap();
        assert!(parsed.rejected.is_empty());
        let rows = &parsed.rows;
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0].words, ["我", "爱", "北", "京"]);
        assert_eq!(rows[0].pos, None);
        assert_eq!(rows[0].extra[0], None);
        assert_eq!(
            rows[0].extra[1].as_deref(),
            Some(&["O", "O", "B-LOC", "I-LOC"].map(String::from)[..])
        );
        let e = &rows[1].entities;
        assert_eq!(
            (e.len(), e[0].start, e[0].end, e[0].label.as_str()),
            (1, 0, 3, "PER")
        );
        // Chinese joins without spaces, other text with them.
        assert_eq!(rows[0].segmented().0, "我爱北京");
        assert_eq!(rows[2].segmented().0, "John lives");
        // No -DOCSTART-: every sentence is its own document.
        let ids: Vec<&str> = rows.iter().map(|r| r.doc_id.as_str()).collect();
        assert_eq!(ids, ["t.bio:1", "t.bio:6", "t.bio:11"]);
    }
    // Read as CoNLL-2003, every sentence is malformed.
    let as_conll = parse(Path::new("t.bio"), BIO, &config(Format::Conll2003)).unwrap();
    assert_eq!((as_conll.rows.len(), as_conll.rejected.len()), (0, 3));
    assert!(as_conll.rejected[0].detail.contains("expected 4 columns"));
}

#[test]
fn a_file_mixing_column_counts_is_an_error_naming_file_and_line() {
    let text = "EU NNP B-NP B-ORG\n\nJohn B-PER\n";
    let err = parse(Path::new("dir/mixed.txt"), text, &config(Format::Auto)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "dir/mixed.txt: line 3: 2 columns, but line 1 has 4: a file is either CoNLL-2003 \
         (`word POS chunk NER`) or BIO (`token TAG`); set `format` to read it as one"
    );
    // With a format set, the odd line is a malformed one instead.
    let parsed = parse(Path::new("mixed.txt"), text, &config(Format::Bio)).unwrap();
    assert_eq!((parsed.rows.len(), parsed.rejected.len()), (1, 1));
}

#[test]
fn config_keys_read_from_toml_names() {
    let config: ConllConfig = serde_json::from_value(serde_json::json!({
        "format": "bio", "sample": 5, "sample_seed": 9, "scheme": "iob2"
    }))
    .unwrap();
    assert_eq!(config.format, Format::Bio);
    assert_eq!(config.sample.map(NonZeroUsize::get), Some(5));
    assert!(serde_json::from_value::<ConllConfig>(serde_json::json!({"sample": 0})).is_err());
    assert!(serde_json::from_value::<ConllConfig>(serde_json::json!({"format": "tsv"})).is_err());
}

/// `n` two-token BIO sentences, the k-th's first token `s{k}`.
fn bio_sentences(range: std::ops::Range<usize>) -> String {
    range.map(|k| format!("s{k} B-PER\nx O\n\n")).collect()
}

fn read(dir: &Path) -> Vec<RecordBatch> {
    Dataset::open(dir)
        .unwrap()
        .batches(1024)
        .collect::<ore_core::Result<Vec<_>>>()
        .unwrap()
}

/// The first token of every row of a dataset, and its `line`s.
fn first_tokens(dir: &Path) -> Vec<(String, u64)> {
    let mut out = Vec::new();
    for b in read(dir) {
        let tokens = b.column_by_name("tokens").unwrap().as_list::<i32>();
        let lines = b
            .column_by_name("line")
            .unwrap()
            .as_primitive::<arrow_array::types::UInt64Type>();
        for i in 0..b.num_rows() {
            let t = tokens.value(i);
            out.push((t.as_string::<i32>().value(0).to_string(), lines.value(i)));
        }
    }
    out
}

fn sampled(files: &[PathBuf], out: &Path, n: usize, seed: u64) -> (Manifest, Vec<String>) {
    let config = ConllConfig {
        sample: NonZeroUsize::new(n),
        sample_seed: seed,
        ..ConllConfig::default()
    };
    let manifest = import(files, out, config).unwrap();
    let kept = first_tokens(out).into_iter().map(|(t, _)| t).collect();
    (manifest, kept)
}

#[test]
fn sample_keeps_n_sentences_in_order_and_rejects_the_rest() {
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("a.bio");
    let b = tmp.path().join("b.bio");
    std::fs::write(&a, bio_sentences(0..30) + "bad line here\n").unwrap();
    std::fs::write(&b, bio_sentences(30..50)).unwrap();
    let files = vec![a, b];
    let (manifest, kept) = sampled(&files, &tmp.path().join("one"), 12, 3);
    assert_eq!(kept.len(), 12);
    let rows = &manifest.rows;
    assert_eq!((rows.input, rows.output, rows.rejected), (51, 12, 39));
    assert_eq!(rows.rejected_by_reason[NOT_SAMPLED], 38);
    assert_eq!(rows.rejected_by_reason[MALFORMED_LINE], 1);
    // File order, then line order.
    let index = |t: &String| t[1..].parse::<usize>().unwrap();
    assert!(
        kept.windows(2).all(|w| index(&w[0]) < index(&w[1])),
        "{kept:?}"
    );
    // The same seed gives the same rows; another seed others.
    assert_eq!(sampled(&files, &tmp.path().join("two"), 12, 3).1, kept);
    assert_ne!(sampled(&files, &tmp.path().join("three"), 12, 4).1, kept);
    // Kept and not sampled together are every well-formed sentence, once.
    let rejects = read(&tmp.path().join("one/_rejects"));
    let mut seen: Vec<String> = kept.clone();
    for batch in &rejects {
        let content = StrColumn::of(batch, "content", Path::new("rejects")).unwrap();
        let reason = StrColumn::of(batch, "reject_reason", Path::new("rejects")).unwrap();
        for i in 0..batch.num_rows() {
            if reason.get(i) == Some(NOT_SAMPLED) {
                let first = content.get(i).unwrap().split_whitespace().next().unwrap();
                seen.push(first.to_string());
            }
        }
    }
    seen.sort_by_key(index);
    assert_eq!(seen, (0..50).map(|k| format!("s{k}")).collect::<Vec<_>>());
    // More than there are keeps them all, and rejects none as not sampled.
    let (all, kept) = sampled(&files, &tmp.path().join("all"), 500, 3);
    assert_eq!(kept.len(), 50);
    assert!(!all.rows.rejected_by_reason.contains_key(NOT_SAMPLED));
}

#[test]
fn sampled_rows_do_not_depend_on_what_other_files_were_added() {
    // Ranks are per row: a sample of file a, then of a and b, keeps from a
    // only rows the smaller sample could rank among its first.
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("a.bio");
    let b = tmp.path().join("b.bio");
    std::fs::write(&a, bio_sentences(0..40)).unwrap();
    std::fs::write(&b, bio_sentences(40..80)).unwrap();
    let (_, alone) = sampled(std::slice::from_ref(&a), &tmp.path().join("a"), 10, 5);
    let (_, both) = sampled(&[a, b], &tmp.path().join("ab"), 10, 5);
    let from_a: Vec<&String> = both
        .iter()
        .filter(|t| t[1..].parse::<usize>().unwrap() < 40)
        .collect();
    assert!(
        from_a.iter().all(|t| alone.contains(t)),
        "{from_a:?} {alone:?}"
    );
}
