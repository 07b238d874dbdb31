//! `ore inspect` on files written by pyarrow, polars, DuckDB and ore itself,
//! and on inputs that are not Parquet.

use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch, StringArray, UInt32Array};
use arrow_schema::{DataType, Field, Schema};
use ore_core::{StageInfo, StageOutput, WriteOptions};
use ore_tests::{one_line_error, ore, python, run_python, stdout_ok};

const PYARROW_TABLE: &str = r#"
import datetime, pyarrow as pa, pyarrow.parquet as pq
t = pa.table({
    "doc_id": ["a1", "b2", "c3", "d4"],
    "title": ["人民日报社论：迎接新年", "LibreOffice 帮助：插入表格", None, "Mixed 中文 and English"],
    "text": ["中国人民在新的一年里" * 8, "Choose Table - Insert Table.\nThen press OK.", "", "短"],
    "tokens": [["中国", "人民"], [], None, ["短"]],
    "entities": [[{"start": 0, "end": 1, "label": "LOC"}], [], None, []],
    "fetched_at": pa.array([datetime.datetime(2026, 1, 1, 8, 30), None,
                            datetime.datetime(2026, 2, 1), datetime.datetime(2026, 3, 1)],
                           pa.timestamp("us", tz="UTC")),
    "status": pa.array([200, 404, 200, 200], pa.uint16()),
    "score": [0.5, None, 1.25, 2.0],
})
pq.write_table(t, "py.parquet", compression="snappy")
"#;

fn redact(text: &str) -> String {
    text.lines()
        .map(|l| l.trim_end().to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn inspect_reads_a_pyarrow_file() {
    let Some(python) = python() else { return };
    let tmp = tempfile::tempdir().expect("tempdir");
    run_python(&python, tmp.path(), PYARROW_TABLE);
    let out = stdout_ok(&ore(
        tmp.path(),
        &["inspect", "py.parquet", "--width", "100", "--stats"],
    ));
    insta::assert_snapshot!("pyarrow_file", redact(&out));

    let json: serde_json::Value = serde_json::from_str(&stdout_ok(&ore(
        tmp.path(),
        &["inspect", "py.parquet", "--json", "--stats"],
    )))
    .expect("valid JSON");
    assert_eq!(json["rows"], 4);
    assert_eq!(
        json["head"][0]["tokens"],
        serde_json::json!(["中国", "人民"])
    );
    assert_eq!(json["head"][0]["entities"][0]["label"], "LOC");
    assert_eq!(json["head"][1]["score"], serde_json::Value::Null);
    assert_eq!(json["stats"]["title"]["nulls"], 1);
    assert_eq!(json["stats"]["tokens"]["items"]["max"], 2.0);
}

#[test]
fn inspect_reads_polars_and_duckdb_datasets() {
    let Some(python) = python() else { return };
    let tmp = tempfile::tempdir().expect("tempdir");
    run_python(
        &python,
        tmp.path(),
        r#"
import os, polars as pl, duckdb
df = pl.DataFrame({"id": list(range(1000)), "text": [f"第{i}行 row {i}" for i in range(1000)],
                   "tags": [[str(i % 3)] * (i % 4) for i in range(1000)]})
os.makedirs("polars_ds")
for k in range(3):
    df.slice(k * 400, 400).write_parquet(f"polars_ds/{k}.parquet")
duckdb.sql("COPY (SELECT range AS id, '文本 ' || range AS text FROM range(2500)) "
           "TO 'duck_ds' (FORMAT parquet, PER_THREAD_OUTPUT true, ROW_GROUP_SIZE 1000)")
"#,
    );
    for (dir, rows) in [("polars_ds", 1000), ("duck_ds", 2500)] {
        let json: serde_json::Value = serde_json::from_str(&stdout_ok(&ore(
            tmp.path(),
            &["inspect", dir, "--json", "--stats"],
        )))
        .expect("valid JSON");
        assert_eq!(json["rows"], rows, "{dir}");
        assert_eq!(json["stats"]["id"]["distinct"], rows, "{dir}");
        assert_eq!(json["stats"]["id"]["nulls"], 0, "{dir}");
    }
}

#[test]
fn inspect_shows_an_ore_dataset_with_manifest_and_rejects() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let schema = Arc::new(Schema::new(vec![
        Field::new("doc_id", DataType::Utf8, false),
        Field::new("text", DataType::Utf8, false),
        Field::new("n_chars", DataType::UInt32, false),
    ]));
    let texts = [
        "今天天气很好，我们去公园散步。",
        "上一页 下一页",
        "LibreOffice 是一款自由开源的办公套件，包含文字处理、电子表格和演示文稿。",
        "短",
        "The quick brown fox jumps over the lazy dog.",
    ];
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(StringArray::from_iter_values(
                (0..texts.len()).map(|i| format!("doc{i}")),
            )) as ArrayRef,
            Arc::new(StringArray::from_iter_values(texts)),
            Arc::new(UInt32Array::from_iter_values(
                texts.iter().map(|t| t.chars().count() as u32),
            )),
        ],
    )
    .expect("batch");
    let info = StageInfo::new("clean", &serde_json::json!({"min_chars": 5}), 42);
    let mut out = StageOutput::create(
        tmp.path().join("clean"),
        schema,
        info,
        WriteOptions::default(),
    )
    .expect("create");
    out.count_input(5);
    out.write(&batch.slice(0, 1)).expect("write");
    out.write(&batch.slice(2, 1)).expect("write");
    out.write(&batch.slice(4, 1)).expect("write");
    out.reject(&batch.slice(1, 1), &["boilerplate"], None)
        .expect("reject");
    out.reject(&batch.slice(3, 1), &["too_short"], None)
        .expect("reject");
    out.commit().expect("commit");

    let text = stdout_ok(&ore(
        tmp.path(),
        &["inspect", "clean", "--width", "100", "--stats"],
    ));
    insta::with_settings!({filters => vec![
        (r"started \S+", "started [time]"),
        (r"\d+\.\d s ·", "[wall] s ·"),
        (r"ore \d+\.\d+\.\d+ \([0-9a-f]+\)|ore \d+\.\d+\.\d+ \(unknown\)", "ore [version] ([rev])"),
        (r"written by ore \d+\.\d+\.\d+", "written by ore [version]"),
        (r"sha256:[0-9a-f]{64}", "sha256:[hash]"),
        (r"\d+(\.\d+)? kB", "[size]"),
    ]}, {
        insta::assert_snapshot!("ore_dataset", redact(&text));
    });

    let rejects = stdout_ok(&ore(
        tmp.path(),
        &["inspect", "clean/_rejects", "--stats", "--head", "0"],
    ));
    assert!(
        rejects.contains("by value: boilerplate 1, too_short 1"),
        "{rejects}"
    );
}

#[test]
fn inspect_rejects_non_parquet_input_in_one_line() {
    let tmp = tempfile::tempdir().expect("tempdir");
    std::fs::write(tmp.path().join("notes.txt"), "人民日报 1998 年 1 月\n").expect("write");
    let err = one_line_error(&ore(tmp.path(), &["inspect", "notes.txt"]));
    assert!(err.contains("notes.txt: not a Parquet file"), "{err}");

    let mut bytes = b"PAR1".to_vec();
    bytes.extend_from_slice(&[7u8; 100]);
    bytes.extend_from_slice(&50u32.to_le_bytes());
    bytes.extend_from_slice(b"PAR1");
    std::fs::write(tmp.path().join("bad.parquet"), bytes).expect("write");
    let err = one_line_error(&ore(tmp.path(), &["inspect", "bad.parquet"]));
    assert!(
        err.contains("bad.parquet: not a Parquet file (corrupt footer"),
        "{err}"
    );

    std::fs::write(
        tmp.path().join("cut.parquet"),
        b"PAR1\x15\x04\x15\x10\x15\x14L\x15\x02",
    )
    .expect("write");
    let err = one_line_error(&ore(tmp.path(), &["inspect", "cut.parquet"]));
    assert!(
        err.contains("cut.parquet: not a Parquet file (no PAR1 footer"),
        "{err}"
    );

    std::fs::create_dir(tmp.path().join("empty")).expect("mkdir");
    let err = one_line_error(&ore(tmp.path(), &["inspect", "empty"]));
    assert!(err.contains("empty: no Parquet files found"), "{err}");

    let err = one_line_error(&ore(tmp.path(), &["inspect", "missing.parquet"]));
    assert!(err.contains("missing.parquet: No such file"), "{err}");
}

#[test]
fn inspect_help_explains_every_option() {
    let out = stdout_ok(&ore(std::path::Path::new("."), &["inspect", "--help"]));
    for flag in ["--head", "--stats", "--json", "--width"] {
        assert!(out.contains(flag), "{flag} missing from help:\n{out}");
    }
}
