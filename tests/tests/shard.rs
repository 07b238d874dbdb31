//! Sharded runs on one machine: `ore clean` and `ore tokenize` with
//! `--shard K/N` and `ore commit` give the rows one run gives (rows,
//! rejects, vocabulary), for several N, on a real crawl of the LibreOffice
//! help; a shard run again replaces its own rows, a shard killed before
//! its commit leaves nothing behind, and a commit refuses an incomplete or
//! inconsistent set of shards with one line saying why.

use std::path::Path;

use ore_core::Manifest;
use ore_tests::{assert_same_rows, one_line_error, ore, serve_site, source, stdout_ok};

/// Clean counting personal information (which shards add up), and augment
/// ops on the tokenized pages, one drawing from pools of the whole input
/// (mention_replace).
const AUGMENT: &str = r#"
[clean.pii]
action = "count"

[augment]
input = "tokenize"

[[augment.ops]]
type = "synonym"
rate = 0.1

[[augment.ops]]
type = "mention_replace"
rate = 0.5

[[augment.ops]]
type = "char_swap"
rate = 0.02

[split]
input = "tokenize"
near_duplicates = { enabled = true }
"#;

fn shards(d: &Path, stage: &str, input: &str, output: &str, n: u32) {
    for k in 0..n {
        stdout_ok(&ore(
            d,
            &[
                stage,
                "--config",
                "p.toml",
                "--input",
                input,
                "--output",
                output,
                "--shard",
                &format!("{k}/{n}"),
            ],
        ));
    }
}

#[test]
fn sharded_clean_and_tokenize_equal_one_run() {
    let Some(_) = source("libreoffice-help-zh-cn/usr/share/libreoffice/help/zh-CN") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ore_tests::crawl_for_shards(d, "sh", "zh-CN/text/swriter/", AUGMENT);
    stdout_ok(&ore(d, &["run", "p.toml"]));
    let one = d.join("one/sh");
    let cleaned = Manifest::read(one.join("clean")).unwrap();
    assert!(cleaned.rows.output > 300, "{:?}", cleaned.rows);
    assert!(
        cleaned
            .rows
            .rejected_by_reason
            .contains_key("near_duplicate")
    );

    for n in [1u32, 3, 7] {
        let out = format!("c{n}");
        // Boilerplate lines first: each shard counts, the commit adds up.
        shards(d, "clean", "crawl", &out, n);
        let merged = stdout_ok(&ore(d, &["commit", &out]));
        assert!(merged.contains("boilerplate lines"), "{merged}");
        let status = stdout_ok(&ore(
            d,
            &["status", "p.toml", "--set", &format!("clean.output={out}")],
        ));
        assert!(status.contains("shards of step `lines`"), "{status}");
        shards(d, "clean", "crawl", &out, n);
        let line = stdout_ok(&ore(d, &["commit", &out]));
        assert!(line.contains(&format!("shards {n}")), "{line}");
        assert_same_rows(&one.join("clean"), &d.join(&out), "doc_id");
        assert_same_rows(
            &one.join("clean/_rejects"),
            &d.join(&out).join("_rejects"),
            "doc_id",
        );
        let m = Manifest::read(d.join(&out)).unwrap();
        assert_eq!(m.rows, cleaned.rows);
        // Personal information counted by the shards adds up to one run's.
        assert_eq!(m.summary["pii"], cleaned.summary["pii"]);
        assert!(cleaned.summary["pii"]["email"]["action"] == "count");
        assert_eq!(m.inputs[0].content_hash, cleaned.inputs[0].content_hash);
        assert!(!d.join(format!(".{out}.shards")).exists());

        let tok = format!("t{n}");
        shards(d, "tokenize", &out, &tok, n);
        stdout_ok(&ore(d, &["commit", &tok]));
        assert_same_rows(&one.join("tokenize"), &d.join(&tok), "doc_id");
        assert_same_rows(
            &one.join("tokenize/_vocab"),
            &d.join(&tok).join("_vocab"),
            "token",
        );

        // Split: keys per shard, then the groups joined (near duplicates
        // too), placed and audited at the commit, then the rows written.
        let spl = format!("s{n}");
        shards(d, "split", &tok, &spl, n);
        let placed = stdout_ok(&ore(d, &["commit", &spl]));
        assert!(placed.contains("groups and placed"), "{placed}");
        shards(d, "split", &tok, &spl, n);
        stdout_ok(&ore(d, &["commit", &spl]));
        for s in ["train", "valid", "test"] {
            assert_same_rows(&one.join("split").join(s), &d.join(&spl).join(s), "doc_id");
        }
        let (a, b) = (
            Manifest::read(one.join("split")).unwrap().summary,
            Manifest::read(d.join(&spl)).unwrap().summary,
        );
        for (key, value) in &a {
            assert_eq!(Some(value), b.get(key), "split summary `{key}`");
        }

        // Variants hang on the row, the seed and the ops only.
        let aug = format!("a{n}");
        shards(d, "augment", &tok, &aug, n);
        stdout_ok(&ore(d, &["commit", &aug]));
        let rows = assert_same_rows(&one.join("augment"), &d.join(&aug), "example_id");
        assert!(
            rows > 2 * cleaned.rows.output as usize,
            "{rows} rows of variants and originals"
        );
        if one.join("augment/_rejects").exists() {
            assert_same_rows(
                &one.join("augment/_rejects"),
                &d.join(&aug).join("_rejects"),
                "example_id",
            );
        }
    }
}

#[test]
fn shards_are_replaced_checked_and_killed_cleanly() {
    let Some(_) = source("libreoffice-help-zh-cn/usr/share/libreoffice/help/zh-CN") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ore_tests::crawl_for_shards(d, "sh", "zh-CN/text/swriter/01/", AUGMENT);
    let one = stdout_ok(&ore(d, &["run", "p.toml", "--only", "clean"]));
    assert!(one.contains("clean"), "{one}");

    // Only some shards: the commit names the missing ones.
    let tokenize = |k: &str, extra: &[&str]| {
        let mut args = vec![
            "tokenize",
            "--config",
            "p.toml",
            "--input",
            "one/sh/clean",
            "--output",
            "t",
            "--shard",
            k,
        ];
        args.extend_from_slice(extra);
        ore(d, &args)
    };
    stdout_ok(&tokenize("0/3", &[]));
    let err = one_line_error(&ore(d, &["commit", "t"]));
    assert!(err.contains("shards 1/3, 2/3 of 3 are missing"), "{err}");

    // A shard of another config is refused.
    stdout_ok(&tokenize("1/3", &["--set", "tokenize.pos=false"]));
    stdout_ok(&tokenize("2/3", &[]));
    let err = one_line_error(&ore(d, &["commit", "t"]));
    assert!(
        err.contains("shard 1/3") && err.contains("another config"),
        "{err}"
    );

    // Run again with the shards' config, shard 1 replaces its own folder.
    // Shard 2, run with another config and killed before its commit,
    // leaves its staging folder and its old folder as they were.
    stdout_ok(&tokenize("1/3", &[]));
    let shard2 = d.join(".t.shards/rows/shard-00002-of-00003");
    let before = Manifest::read(&shard2).unwrap();
    let killed = std::process::Command::new(ore_tests::ore_bin())
        .args(["tokenize", "--config", "p.toml", "--input", "one/sh/clean"])
        .args([
            "--output",
            "t",
            "--shard",
            "2/3",
            "--set",
            "tokenize.entities=false",
        ])
        .current_dir(d)
        .env("ORE_NO_PROGRESS", "1")
        .env("ORE_FAULT_KILL", "tokenize:rows:2/3")
        .env("ORE_FAULT_MARKER", d.join("marker"))
        .output()
        .unwrap();
    assert!(!killed.status.success());
    let steps = d.join(".t.shards/rows");
    let leftovers = |steps: &Path| {
        std::fs::read_dir(steps)
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().contains(".tmp-"))
            .count()
    };
    assert_eq!(leftovers(&steps), 1, "the killed shard's staging folder");
    assert_eq!(Manifest::read(&shard2).unwrap(), before);
    // A shard that ran with this config on this slice is not run again (a
    // relaunch after a partial failure redoes only what is missing); the
    // commit takes the shards and removes what the killed run left.
    let again = stdout_ok(&tokenize("2/3", &[]));
    assert!(
        again.contains("already ran with this config on this input"),
        "{again}"
    );
    stdout_ok(&ore(d, &["commit", "t"]));
    assert!(!d.join(".t.shards").exists());
    stdout_ok(&ore(
        d,
        &[
            "tokenize",
            "--config",
            "p.toml",
            "--input",
            "one/sh/clean",
            "--output",
            "t1",
        ],
    ));
    assert_same_rows(&d.join("t1"), &d.join("t"), "doc_id");
    assert_same_rows(&d.join("t1/_vocab"), &d.join("t/_vocab"), "token");

    // The runner runs one shard; stages that need all their input refuse.
    stdout_ok(&ore(
        d,
        &["run", "p.toml", "--only", "tokenize", "--shard", "0/2"],
    ));
    assert!(
        d.join("one/sh/.tokenize.shards/rows/shard-00000-of-00002")
            .is_dir()
    );
    let err = one_line_error(&ore(
        d,
        &[
            "examples", "--task", "headline", "--input", "crawl", "--output", "e", "--shard", "0/2",
        ],
    ));
    assert!(err.contains("does not run in shards"), "{err}");
    let bad = ore(
        d,
        &[
            "tokenize", "--input", "x", "--output", "y", "--shard", "2/2",
        ],
    );
    assert!(!bad.status.success());
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.contains("--shard takes K/N with 0 <= K < N"), "{err}");
    let err = one_line_error(&ore(d, &["commit", "nothing"]));
    assert!(err.contains("no shards to commit"), "{err}");
}

/// A crawl's rows (kept and rejected) by URL: its id, text and reason,
/// leaving out what changes between two fetches (times, sizes).
fn crawled(dir: &Path) -> std::collections::BTreeMap<String, Vec<Option<String>>> {
    let mut rows = std::collections::BTreeMap::new();
    for sub in [dir.to_path_buf(), dir.join("_rejects")] {
        if !sub.exists() {
            continue;
        }
        for row in ore_tests::string_rows(&sub) {
            let keep = ["doc_id", "text", "reject_reason"].map(|k| row.get(k).cloned());
            rows.insert(row["url"].clone(), keep.to_vec());
        }
    }
    rows
}

/// Two crawls' rows agree URL by URL (said briefly: pages are long).
fn same_crawl(
    a: &std::collections::BTreeMap<String, Vec<Option<String>>>,
    b: &std::collections::BTreeMap<String, Vec<Option<String>>>,
) {
    let differ: Vec<&String> = a.keys().filter(|u| a.get(*u) != b.get(*u)).collect();
    assert!(
        differ.is_empty() && a.len() == b.len(),
        "{} and {} rows; {} differ, first {:?}",
        a.len(),
        b.len(),
        differ.len(),
        differ.first()
    );
}

#[test]
fn a_sharded_crawl_fetches_each_host_or_url_once() {
    let Some(_) = source("libreoffice-help-zh-cn/usr/share/libreoffice/help/zh-CN") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let site = serve_site(d, None);
    let port = site.port;
    // Two hosts of one server: whole sites go to one shard each.
    let by_host = format!(
        r#"[pipeline]
name = "cr"
output_root = "out"
[crawl]
seeds = ["http://127.0.0.1:{port}/zh-CN/text/swriter/01/", "http://localhost:{port}/zh-CN/text/scalc/01/"]
include = ['^http://(127\.0\.0\.1|localhost):{port}/zh-CN/text/(swriter|scalc)/01/']
link_only = ['/$']
concurrency = 8
"#
    );
    std::fs::write(d.join("p.toml"), &by_host).unwrap();
    stdout_ok(&ore(
        d,
        &["run", "p.toml", "--only", "crawl", "--output", "one"],
    ));
    for k in 0..3 {
        stdout_ok(&ore(
            d,
            &[
                "run",
                "p.toml",
                "--only",
                "crawl",
                "--output",
                "three",
                "--shard",
                &format!("{k}/3"),
            ],
        ));
    }
    stdout_ok(&ore(d, &["commit", "three"]));
    let one = crawled(&d.join("one"));
    assert!(one.len() > 300, "{} rows", one.len());
    assert!(
        one.keys().any(|u| u.contains("localhost")) && one.keys().any(|u| u.contains("127.0.0.1"))
    );
    same_crawl(&one, &crawled(&d.join("three")));

    // A list of pages, no links followed: split by URL.
    let pages: Vec<String> = one
        .keys()
        .filter(|u| u.ends_with(".html") && u.contains("127.0.0.1"))
        .take(40)
        .map(|u| format!("\"{u}\""))
        .collect();
    let by_url = format!(
        "[pipeline]\nname = \"cu\"\noutput_root = \"out\"\n[crawl]\nseeds = [{}]\nmax_depth = 0\nshard_by = \"url\"\ndrop_repeated_lines = false\n",
        pages.join(", ")
    );
    std::fs::write(d.join("u.toml"), &by_url).unwrap();
    stdout_ok(&ore(
        d,
        &["run", "u.toml", "--only", "crawl", "--output", "u1"],
    ));
    let mut sizes = Vec::new();
    for k in 0..4 {
        stdout_ok(&ore(
            d,
            &[
                "run",
                "u.toml",
                "--only",
                "crawl",
                "--output",
                "u4",
                "--shard",
                &format!("{k}/4"),
            ],
        ));
        let shard = d.join(format!(".u4.shards/rows/shard-{k:05}-of-00004"));
        sizes.push(Manifest::read(&shard).unwrap().rows.output);
    }
    assert!(sizes.iter().filter(|&&n| n > 0).count() >= 3, "{sizes:?}");
    stdout_ok(&ore(d, &["commit", "u4"]));
    let listed = crawled(&d.join("u1"));
    assert_eq!(listed.len(), 40);
    same_crawl(&listed, &crawled(&d.join("u4")));
    // Split by URL, a crawl that follows links would miss pages: refused.
    std::fs::write(d.join("u.toml"), by_url.replace("max_depth = 0\n", "")).unwrap();
    let err = one_line_error(&ore(
        d,
        &[
            "run", "u.toml", "--only", "crawl", "--output", "u5", "--shard", "0/2",
        ],
    ));
    assert!(err.contains("max_depth = 0"), "{err}");
    drop(site);
}
