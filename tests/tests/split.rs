//! `ore split`, `ore audit` and `ore query` on real data: the cleaned
//! LibreOffice zh-CN help, split at random by scikit-learn with planted
//! leaks, and split by ore; a dataset written by pyarrow; SQL over an
//! output folder.

#![allow(clippy::unwrap_used)] // a test file

use std::collections::BTreeMap;
use std::path::Path;

use arrow_array::cast::AsArray;
use ore_tests::{
    help_docs, one_line_error, ore, python, run_python, source, stdout_ok, write_docs,
};
use serde_json::Value;

const HELP: &str = "libreoffice-help-zh-cn/usr/share/libreoffice/help/zh-CN/text";

/// The cleaned help pages at `dir/clean` (via `ore clean`).
fn cleaned_help(dir: &Path) -> Option<std::path::PathBuf> {
    let help = source(HELP)?;
    write_docs(&dir.join("docs"), &help_docs(&help));
    let clean = dir.join("clean");
    stdout_ok(&ore(
        dir,
        &["clean", "--input", "docs", "--output", "clean"],
    ));
    Some(clean)
}

fn json_line(out: &std::process::Output) -> Value {
    let text = stdout_ok(out);
    serde_json::from_str(text.trim()).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// (eval_id → kinds) of a pairs dataset.
fn pair_kinds(path: &Path) -> BTreeMap<String, Vec<String>> {
    let mut kinds: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for batch in ore_tests::read_all(path) {
        let eval = batch
            .column_by_name("eval_id")
            .unwrap()
            .as_string::<i32>()
            .clone();
        let kind = batch
            .column_by_name("kind")
            .unwrap()
            .as_string::<i32>()
            .clone();
        for i in 0..batch.num_rows() {
            kinds
                .entry(eval.value(i).to_string())
                .or_default()
                .push(kind.value(i).to_string());
        }
    }
    kinds
}

/// A random row split by scikit-learn's `train_test_split`, with leaks of
/// every kind planted in its eval side: the audit names each planted row
/// with its kind, and its JSON counts hold at least those.
#[test]
fn audit_finds_planted_leaks_in_a_random_split() {
    let Some(python) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let Some(_) = cleaned_help(dir.path()) else {
        return;
    };
    run_python(
        &python,
        dir.path(),
        r#"
import random
import pyarrow as pa, pyarrow.dataset as ds, pyarrow.parquet as pq
from sklearn.model_selection import train_test_split
t = ds.dataset("clean", format="parquet").to_table(columns=["doc_id", "text"])
t = t.append_column("source_id", t.column("doc_id"))
rows = t.to_pylist()
train, ev = train_test_split(rows, test_size=0.2, random_state=0)
rng = random.Random(1)
def cjk(text):
    return sum(1 for c in text if "\u4e00" <= c <= "\u9fff")
long_train = [r for r in train if cjk(r["text"]) >= 300]
picks = rng.sample(long_train, 20)
def planted(kind, k, text, source):
    return {"doc_id": f"planted-{kind}-{k}", "text": text, "source_id": source}
extra = []
for k, r in enumerate(picks[0:5]):
    # The same text, spaced and cased differently.
    extra.append(planted("exact", k, "  " + r["text"].upper().replace(" ", "  ") + " ", f"x{k}"))
for k, r in enumerate(picks[5:10]):
    # Three characters changed in a long text.
    t2 = list(r["text"])
    for j in (len(t2) // 4, len(t2) // 2, 3 * len(t2) // 4):
        t2[j] = "某"
    extra.append(planted("near", k, "".join(t2), f"n{k}"))
for k, r in enumerate(picks[10:15]):
    # A 120-character passage of a train page, with a new start and end.
    text = r["text"]
    start = next((i for i in range(len(text) // 3, max(len(text) - 120, 0)) if cjk(text[i:i + 120]) >= 80), 0)
    passage = text[start:start + 120]
    extra.append(planted("ngram", k, "新写的开头：" + passage + "（新写的结尾）", f"g{k}"))
for k, r in enumerate(picks[15:20]):
    # An augmented variant: another text, the train page's source_id.
    extra.append(planted("variant", k, f"第{k}个增强样本：完全改写过的句子，没有原文的字词。", r["source_id"]))
pq.write_table(pa.Table.from_pylist(train), "train.parquet")
pq.write_table(pa.Table.from_pylist(ev + extra), "eval.parquet")
"#,
    );
    let out = ore(
        dir.path(),
        &[
            "audit",
            "--train",
            "train.parquet",
            "--eval",
            "eval.parquet",
            "--json",
            "--output",
            "pairs",
        ],
    );
    let counts = json_line(&out);
    for kind in ["exact", "near", "ngram", "variant"] {
        assert!(counts[kind].as_u64().unwrap() >= 5, "{kind}: {counts}");
    }
    let leaked = counts["eval_rows_leaked"].as_u64().unwrap();
    assert!(
        leaked >= 20 && leaked <= counts["eval_rows"].as_u64().unwrap(),
        "{counts}"
    );
    let kinds = pair_kinds(&dir.path().join("pairs"));
    for kind in ["exact", "near", "ngram", "variant"] {
        for k in 0..5 {
            let id = format!("planted-{kind}-{k}");
            let found = kinds
                .get(&id)
                .unwrap_or_else(|| panic!("{id} not reported"));
            assert!(
                found.iter().any(|f| f == kind),
                "{id}: reported as {found:?}"
            );
        }
    }
    eprintln!("random split with planted leaks: {counts}");
}

/// ore's own split of the same cleaned pages: its manifest's audit and
/// `ore audit` of its folders both find no leak of any kind.
#[test]
fn ore_split_of_the_help_pages_has_no_leak() {
    let dir = tempfile::tempdir().unwrap();
    let Some(_) = cleaned_help(dir.path()) else {
        return;
    };
    std::fs::write(
        dir.path().join("p.toml"),
        "[pipeline]\nname = \"t\"\nseed = 3\n\n[split]\nnear_duplicates = { enabled = true }\n",
    )
    .unwrap();
    let summary = stdout_ok(&ore(
        dir.path(),
        &[
            "split", "--config", "p.toml", "--input", "clean", "--output", "split",
        ],
    ));
    assert!(summary.contains("audit: 0 of"), "{summary}");
    let manifest: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("split/_manifest.json")).unwrap(),
    )
    .unwrap();
    let audit = &manifest["summary"]["audit"];
    assert_eq!(audit["eval_rows_leaked"], 0, "{audit}");
    let counts = json_line(&ore(
        dir.path(),
        &[
            "audit",
            "--train",
            "split/train",
            "--eval",
            "split/valid",
            "--eval",
            "split/test",
            "--json",
        ],
    ));
    for kind in ["exact", "near", "ngram", "variant", "eval_rows_leaked"] {
        assert_eq!(counts[kind], 0, "{kind}: {counts}");
    }
    let rows = manifest["rows"]["out"].as_u64().unwrap();
    assert_eq!(
        counts["eval_rows"].as_u64().unwrap()
            + manifest["summary"]["splits"]["train"]["rows"]
                .as_u64()
                .unwrap(),
        rows
    );
    let train = manifest["summary"]["splits"]["train"]["fraction"]
        .as_f64()
        .unwrap();
    let largest = manifest["summary"]["largest_group"].as_f64().unwrap();
    assert!(
        (train - 0.8).abs() <= (0.01f64).max(largest / rows as f64),
        "{manifest}"
    );
    eprintln!("ore split of {rows} help pages: {}", manifest["summary"]);
}

/// A dataset pyarrow wrote (integer ids, large strings, two files) splits;
/// the splits open in pyarrow; `ore query` counts them as the manifest
/// does, and bad SQL is one line naming the dataset.
#[test]
fn split_of_a_pyarrow_dataset_and_query_over_it() {
    let Some(python) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    run_python(
        &python,
        dir.path(),
        r#"
import os
import pyarrow as pa, pyarrow.parquet as pq
os.makedirs("in", exist_ok=True)
for part in range(2):
    n = 500
    ids = list(range(part * n, (part + 1) * n))
    t = pa.table({
        "id": pa.array(ids, pa.int64()),
        "source_id": pa.array([f"s{i // 4}" for i in ids], pa.large_string()),
        "text": pa.array([f"第{i}行：" + "数据" * (i % 7 + 1) for i in ids], pa.large_string()),
        "label": pa.array(["pos" if i % 3 else "neg" for i in ids]),
    })
    pq.write_table(t, f"in/part-{part}.parquet")
"#,
    );
    std::fs::write(
        dir.path().join("p.toml"),
        "[pipeline]\nname = \"t\"\n\n[split]\nstratify = \"label\"\n",
    )
    .unwrap();
    stdout_ok(&ore(
        dir.path(),
        &[
            "split", "--config", "p.toml", "--input", "in", "--output", "out",
        ],
    ));
    run_python(
        &python,
        dir.path(),
        r#"
import pyarrow.dataset as ds
total = 0
for name in ["train", "valid", "test"]:
    t = ds.dataset(f"out/{name}", format="parquet").to_table()
    assert set(t.column("split").to_pylist()) == {name}, name
    assert t.schema.field("id").type == "int64"
    total += t.num_rows
assert total == 1000, total
groups = {}
for name in ["train", "valid", "test"]:
    for s in ds.dataset(f"out/{name}", format="parquet").to_table().column("source_id").to_pylist():
        groups.setdefault(s, set()).add(name)
assert all(len(v) == 1 for v in groups.values())
"#,
    );
    let manifest: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("out/_manifest.json")).unwrap(),
    )
    .unwrap();
    let q = json_line(&ore(
        dir.path(),
        &[
            "query",
            "out",
            "SELECT split, count(*) AS n FROM self GROUP BY 1 ORDER BY 1",
            "--json",
        ],
    ));
    let rows = q["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 3, "{q}");
    for row in rows {
        let name = row["split"].as_str().unwrap();
        assert_eq!(row["n"], manifest["summary"]["splits"][name]["rows"], "{q}");
    }
    // The printed table, and a query written as a dataset.
    let table = stdout_ok(&ore(
        dir.path(),
        &[
            "query",
            "out/test",
            "SELECT label, count(*) AS n FROM self GROUP BY label ORDER BY label",
            "--output",
            "labels",
        ],
    ));
    assert!(
        table.contains("label") && table.contains("neg") && table.contains("2 rows"),
        "{table}"
    );
    assert_eq!(
        ore_tests::read_all(&dir.path().join("labels"))[0].num_rows(),
        2
    );
    let err = one_line_error(&ore(dir.path(), &["query", "out", "SELEC split FROM self"]));
    assert!(err.contains("out") && err.contains("SQL"), "{err}");
    let err = one_line_error(&ore(dir.path(), &["query", "out", "SELECT nope FROM self"]));
    assert!(err.contains("nope"), "{err}");
}
