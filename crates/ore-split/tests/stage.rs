//! The split stage on datasets written here: complete and disjoint splits,
//! groups never cut, ratios met, stability as data grows, and the audit of
//! its own output.

#![allow(clippy::unwrap_used)] // a test file

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

use arrow_array::{Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use ore_core::{Dataset, DatasetWriter, WriteOptions};
use ore_split::{SplitConfig, SplitStage};
use proptest::prelude::*;

/// One input row.
#[derive(Debug, Clone)]
struct Row {
    id: String,
    source: Option<String>,
    text: String,
    label: String,
}

fn write_rows(dir: &Path, rows: &[Row]) {
    let schema = Arc::new(Schema::new(vec![
        Field::new("example_id", DataType::Utf8, false),
        Field::new("source_id", DataType::Utf8, true),
        Field::new("text", DataType::Utf8, false),
        Field::new("label", DataType::Utf8, false),
    ]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(StringArray::from_iter_values(
                rows.iter().map(|r| r.id.as_str()),
            )),
            Arc::new(StringArray::from_iter(
                rows.iter().map(|r| r.source.as_deref()),
            )),
            Arc::new(StringArray::from_iter_values(
                rows.iter().map(|r| r.text.as_str()),
            )),
            Arc::new(StringArray::from_iter_values(
                rows.iter().map(|r| r.label.as_str()),
            )),
        ],
    )
    .unwrap();
    let mut w = DatasetWriter::create(dir, schema, WriteOptions::default()).unwrap();
    // Several batches, so that the stage reads across them.
    for start in (0..rows.len()).step_by(97) {
        w.write(&batch.slice(start, 97.min(rows.len() - start)))
            .unwrap();
    }
    w.commit().unwrap();
}

/// A text unlike every other: words drawn from the row's number.
fn text_of(n: u64) -> String {
    let mut x = n.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..40)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            format!("w{}", x % 5000)
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// example_id → split of every output row, and the column `split` agrees
/// with the folder.
fn read_splits(out: &Path) -> BTreeMap<String, String> {
    let mut seen = BTreeMap::new();
    for name in ["train", "valid", "test"] {
        let d = Dataset::open(out.join(name)).unwrap();
        for batch in d.batches(1000) {
            let batch = batch.unwrap();
            let ids = batch.column_by_name("example_id").unwrap();
            let ids = ids.as_any().downcast_ref::<StringArray>().unwrap();
            let splits = batch.column_by_name("split").unwrap();
            let splits = splits.as_any().downcast_ref::<StringArray>().unwrap();
            for i in 0..batch.num_rows() {
                assert_eq!(splits.value(i), name);
                let before = seen.insert(ids.value(i).to_string(), name.to_string());
                assert!(before.is_none(), "row {} in two splits", ids.value(i));
            }
        }
    }
    seen
}

fn split(input: &Path, output: &Path, config: SplitConfig, seed: u64) -> ore_core::Manifest {
    let stage = <SplitStage as ore_core::Stage>::build(config).unwrap();
    stage
        .run_on(input, output, seed, WriteOptions::default())
        .unwrap()
}

/// Rows in groups of uneven size (1 to `max` rows share a source_id).
fn grouped_rows(sizes: &[usize]) -> Vec<Row> {
    let mut rows = Vec::new();
    for (g, &size) in sizes.iter().enumerate() {
        for k in 0..size {
            let n = rows.len() as u64;
            rows.push(Row {
                id: format!("e{n}"),
                source: Some(format!("s{g}")),
                text: text_of(n),
                label: ["a", "b", "c"][g % 3].to_string(),
            });
            let _ = k;
        }
    }
    rows
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    /// Every row lands in exactly one split, every group in one split, and
    /// each split's rows are within 1% or one group of its ratio.
    #[test]
    fn splits_are_complete_disjoint_grouped_and_balanced(
        sizes in prop::collection::vec(1usize..12, 60..300),
        seed in 0u64..1000,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let rows = grouped_rows(&sizes);
        write_rows(&dir.path().join("in"), &rows);
        let manifest = split(&dir.path().join("in"), &dir.path().join("out"), SplitConfig::default(), seed);
        let got = read_splits(&dir.path().join("out"));
        prop_assert_eq!(got.len(), rows.len());
        prop_assert_eq!(manifest.rows.output, rows.len() as u64);
        let mut group_splits: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for r in &rows {
            group_splits.entry(r.source.as_deref().unwrap()).or_default().insert(got[&r.id].as_str());
        }
        prop_assert!(group_splits.values().all(|s| s.len() == 1));
        let largest = *sizes.iter().max().unwrap() as f64;
        let n = rows.len() as f64;
        for (name, ratio) in [("train", 0.8), ("valid", 0.1), ("test", 0.1)] {
            let count = got.values().filter(|s| *s == name).count() as f64;
            let slack = (0.01 * n).max(largest);
            prop_assert!((count - ratio * n).abs() <= slack,
                "{} has {} rows of {}, target {}", name, count, n, ratio * n);
        }
    }

    /// Stratified by label: each label's rows meet the ratios on their own.
    #[test]
    fn strata_meet_the_ratios_each(
        sizes in prop::collection::vec(1usize..6, 150..300),
        seed in 0u64..1000,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let rows = grouped_rows(&sizes);
        write_rows(&dir.path().join("in"), &rows);
        let config = SplitConfig { stratify: Some("label".into()), ..SplitConfig::default() };
        split(&dir.path().join("in"), &dir.path().join("out"), config, seed);
        let got = read_splits(&dir.path().join("out"));
        for label in ["a", "b", "c"] {
            let of: Vec<&Row> = rows.iter().filter(|r| r.label == label).collect();
            let n = of.len() as f64;
            for (name, ratio) in [("train", 0.8), ("valid", 0.1), ("test", 0.1)] {
                let count = of.iter().filter(|r| got[&r.id] == name).count() as f64;
                // Within one group of the stratum's target, and the rounding
                // carried from the strata before it.
                prop_assert!((count - ratio * n).abs() <= 12.0,
                    "label {} {}: {} of {}", label, name, count, n);
            }
        }
    }
}

/// Adding 10% new rows, a third of them near duplicates of old ones (a word
/// changed), moves no old row, and each near duplicate joins its old row's
/// split; the audit of the grown split finds no leak.
#[test]
fn growing_data_moves_no_old_row() {
    let dir = tempfile::tempdir().unwrap();
    let old: Vec<Row> = (0..1000)
        .map(|n| Row {
            id: format!("e{n}"),
            source: None,
            text: text_of(n),
            label: "x".into(),
        })
        .collect();
    write_rows(&dir.path().join("v1"), &old);
    let index = dir.path().join("index");
    let config = SplitConfig {
        index: Some(index.clone()),
        near_duplicates: ore_split::config::NearDuplicates {
            enabled: true,
            ..Default::default()
        },
        ..SplitConfig::default()
    };
    split(
        &dir.path().join("v1"),
        &dir.path().join("out1"),
        config.clone(),
        7,
    );
    let first = read_splits(&dir.path().join("out1"));

    let mut grown = old.clone();
    let mut near_of = BTreeMap::new();
    for k in 0..100u64 {
        let id = format!("new{k}");
        let text = if k % 3 == 0 {
            // A near duplicate of old row 10k: its last word replaced.
            let base = text_of(k * 10);
            let cut = base.rfind(' ').unwrap();
            near_of.insert(id.clone(), format!("e{}", k * 10));
            format!("{} changed", &base[..cut])
        } else {
            text_of(10_000 + k)
        };
        grown.push(Row {
            id,
            source: None,
            text,
            label: "x".into(),
        });
    }
    write_rows(&dir.path().join("v2"), &grown);
    let manifest = split(&dir.path().join("v2"), &dir.path().join("out2"), config, 7);
    let second = read_splits(&dir.path().join("out2"));
    for (id, s) in &first {
        assert_eq!(&second[id], s, "old row {id} moved");
    }
    for (new, old) in &near_of {
        assert_eq!(
            second[new], second[old],
            "near duplicate {new} left {old}'s split"
        );
    }
    let index = &manifest.summary["index"];
    assert_eq!(index["inherited_rows"], 1000);
    assert_eq!(index["new_rows"], 100);
    assert_eq!(index["conflict_rows"], 0);
    let audit = &manifest.summary["audit"];
    assert_eq!(audit["eval_rows_leaked"], 0, "{audit}");
    // The new groups kept the ratios.
    let train = second.values().filter(|s| *s == "train").count() as f64;
    assert!((train / second.len() as f64 - 0.8).abs() <= 0.01, "{train}");
}

/// A new row that is a near duplicate of two old rows in different splits
/// is set aside (rejected as split_conflict); the old rows stay.
#[test]
fn a_row_joining_two_splits_is_rejected_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let rows: Vec<Row> = (0..400)
        .map(|n| Row {
            id: format!("e{n}"),
            source: Some(format!("s{n}")),
            text: text_of(n),
            label: "x".into(),
        })
        .collect();
    write_rows(&dir.path().join("v1"), &rows);
    let index = dir.path().join("index");
    let config = SplitConfig {
        index: Some(index),
        ..SplitConfig::default()
    };
    split(
        &dir.path().join("v1"),
        &dir.path().join("out1"),
        config.clone(),
        1,
    );
    let first = read_splits(&dir.path().join("out1"));
    let train = rows.iter().find(|r| first[&r.id] == "train").unwrap();
    let test = rows.iter().find(|r| first[&r.id] == "test").unwrap();
    let mut grown = rows.clone();
    // Same source_id as a test row and the same text as a train row.
    grown.push(Row {
        id: "bridge".into(),
        source: test.source.clone(),
        text: train.text.clone(),
        label: "x".into(),
    });
    write_rows(&dir.path().join("v2"), &grown);
    let manifest = split(&dir.path().join("v2"), &dir.path().join("out2"), config, 1);
    let second = read_splits(&dir.path().join("out2"));
    assert!(!second.contains_key("bridge"));
    assert_eq!(second.len(), 400);
    assert_eq!(manifest.rows.rejected_by_reason["split_conflict"], 1);
    assert_eq!(manifest.summary["index"]["conflict_rows"], 1);
    assert_eq!(manifest.summary["index"]["conflict_groups"], 1);
    let rejects = Dataset::open(dir.path().join("out2/_rejects")).unwrap();
    assert_eq!(rejects.num_rows(), 1);
}

/// The same input and seed give the same bytes; another seed another split.
#[test]
fn the_split_is_deterministic_and_seeded() {
    let dir = tempfile::tempdir().unwrap();
    let rows = grouped_rows(&[3; 200]);
    write_rows(&dir.path().join("in"), &rows);
    let a = split(
        &dir.path().join("in"),
        &dir.path().join("a"),
        SplitConfig::default(),
        5,
    );
    let b = split(
        &dir.path().join("in"),
        &dir.path().join("b"),
        SplitConfig::default(),
        5,
    );
    let c = split(
        &dir.path().join("in"),
        &dir.path().join("c"),
        SplitConfig::default(),
        6,
    );
    assert_eq!(a.output_hash, b.output_hash);
    assert_ne!(a.output_hash, c.output_hash);
}

/// Exact copies of one text are one group, whatever their ids.
#[test]
fn copies_of_a_text_are_one_group() {
    let dir = tempfile::tempdir().unwrap();
    let mut rows = grouped_rows(&[1; 300]);
    for r in rows.iter_mut().skip(1).step_by(2) {
        r.source = None;
    }
    for k in 0..50 {
        let text = rows[k * 2].text.to_uppercase();
        rows.push(Row {
            id: format!("copy{k}"),
            source: None,
            text,
            label: "a".into(),
        });
    }
    write_rows(&dir.path().join("in"), &rows);
    let manifest = split(
        &dir.path().join("in"),
        &dir.path().join("out"),
        SplitConfig::default(),
        3,
    );
    let got = read_splits(&dir.path().join("out"));
    for k in 0..50 {
        assert_eq!(got[&format!("copy{k}")], got[&rows[k * 2].id]);
    }
    assert_eq!(manifest.summary["audit"]["exact"], 0);
}

/// The time rule puts the newest groups in test, the next in valid.
#[test]
fn time_rule_holds_out_the_newest() {
    let dir = tempfile::tempdir().unwrap();
    let schema = Arc::new(Schema::new(vec![
        Field::new("doc_id", DataType::Utf8, false),
        Field::new("text", DataType::Utf8, false),
        Field::new("fetched_at", DataType::Utf8, false),
    ]));
    let n = 200;
    let ids: Vec<String> = (0..n).map(|i| format!("d{i}")).collect();
    let texts: Vec<String> = (0..n).map(|i| text_of(i as u64)).collect();
    let times: Vec<String> = (0..n)
        .map(|i| format!("2026-01-01T00:{:02}:{:02}Z", i / 60, i % 60))
        .collect();
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(StringArray::from(ids.clone())),
            Arc::new(StringArray::from(texts)),
            Arc::new(StringArray::from(times)),
        ],
    )
    .unwrap();
    let mut w =
        DatasetWriter::create(dir.path().join("in"), schema, WriteOptions::default()).unwrap();
    w.write(&batch).unwrap();
    w.commit().unwrap();
    let config = SplitConfig {
        by: ore_split::Rule::Time,
        ..SplitConfig::default()
    };
    let stage = <SplitStage as ore_core::Stage>::build(config).unwrap();
    stage
        .run_on(
            &dir.path().join("in"),
            &dir.path().join("out"),
            0,
            WriteOptions::default(),
        )
        .unwrap();
    let read = |name: &str| -> BTreeSet<usize> {
        let d = Dataset::open(dir.path().join("out").join(name)).unwrap();
        let mut out = BTreeSet::new();
        for b in d.batches(1000) {
            let b = b.unwrap();
            let c = b.column_by_name("doc_id").unwrap();
            let c = c.as_any().downcast_ref::<StringArray>().unwrap();
            for i in 0..c.len() {
                out.insert(c.value(i)[1..].parse().unwrap());
            }
        }
        out
    };
    assert_eq!(read("test"), (180..200).collect());
    assert_eq!(read("valid"), (160..180).collect());
    assert_eq!(read("train").len(), 160);
}

/// Bad settings and inputs fail before anything is written, in one line.
#[test]
fn bad_configs_say_what_is_wrong() {
    let bad = SplitConfig {
        ratios: ore_split::Ratios {
            train: 0.8,
            valid: 0.3,
            test: 0.1,
        },
        ..SplitConfig::default()
    };
    let e = <SplitStage as ore_core::Stage>::build(bad)
        .unwrap_err()
        .to_string();
    assert!(e.contains("sum to 1"), "{e}");
    let dir = tempfile::tempdir().unwrap();
    write_rows(&dir.path().join("in"), &grouped_rows(&[2; 20]));
    let config = SplitConfig {
        stratify: Some("topic".into()),
        ..SplitConfig::default()
    };
    let stage = <SplitStage as ore_core::Stage>::build(config).unwrap();
    let e = stage
        .run_on(
            &dir.path().join("in"),
            &dir.path().join("out"),
            0,
            WriteOptions::default(),
        )
        .unwrap_err()
        .to_string();
    assert!(e.contains("no stratify column `topic`"), "{e}");
    assert!(!dir.path().join("out").exists());
}

/// With `fail_on_leak`, a split that leaks (copies of a text allowed into
/// different splits: grouping by text and by passages off) fails naming the rows, and writes nothing.
#[test]
fn fail_on_leak_names_the_rows_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut rows = grouped_rows(&[1; 200]);
    for k in 0..100 {
        let text = rows[k].text.clone();
        rows.push(Row {
            id: format!("copy{k}"),
            source: None,
            text,
            label: "a".into(),
        });
    }
    write_rows(&dir.path().join("in"), &rows);
    let config = SplitConfig {
        group_exact_text: false,
        group_ngrams: false,
        fail_on_leak: true,
        ..SplitConfig::default()
    };
    let stage = <SplitStage as ore_core::Stage>::build(config).unwrap();
    let e = stage
        .run_on(
            &dir.path().join("in"),
            &dir.path().join("out"),
            0,
            WriteOptions::default(),
        )
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("the split leaks") && e.contains("exact") && e.contains("~ train row"),
        "{e}"
    );
    assert!(!e.contains('\n'), "{e}");
    assert!(!dir.path().join("out").exists());
}
