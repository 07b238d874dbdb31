//! `ore crawl` end to end: the real LibreOffice zh-CN help site served by a
//! real static server (scripts/serve_help.py, Python's http.server) on
//! 127.0.0.1, crawled twice for repeatability and once more with
//! `--previous` (every page a 304 to If-Modified-Since), and a crawl killed halfway
//! (SIGINT, then SIGKILL) and resumed, which must end with the same
//! documents as an uninterrupted crawl.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use arrow_array::{Array, BooleanArray, StringArray};
use ore_core::{Dataset, Manifest};
use ore_tests::{Site, one_line_error, ore, ore_bin, serve_site, source, stdout_ok};

const HELP: &str = "libreoffice-help-zh-cn/usr/share/libreoffice/help/zh-CN";

fn serve(tmp: &Path) -> Site {
    serve_site(tmp, None)
}

fn crawl_args(port: u16, out: &Path, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = vec![
        "crawl".into(),
        "--seed".into(),
        format!("http://127.0.0.1:{port}/zh-CN/"),
        "--include".into(),
        format!("^http://127\\.0\\.0\\.1:{port}/zh-CN/"),
        "--link-only".into(),
        "/$".into(),
        "--output".into(),
        out.display().to_string(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

fn strings(dir: &Path, column: &str) -> Vec<String> {
    let ds = Dataset::open(dir).expect("open dataset");
    let mut out = Vec::new();
    for batch in ds.batches_of(&[column], 4096).expect("column") {
        let batch = batch.expect("batch");
        let col = batch
            .column(0)
            .as_any()
            .downcast_ref::<StringArray>()
            .expect("utf8");
        out.extend((0..col.len()).map(|i| {
            if col.is_null(i) {
                String::new()
            } else {
                col.value(i).to_string()
            }
        }));
    }
    out
}

fn doc_ids(dir: &Path) -> BTreeSet<String> {
    strings(dir, "doc_id").into_iter().collect()
}

fn has_cjk(s: &str) -> bool {
    s.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
}

#[test]
fn crawls_the_real_help_site_repeatably() {
    let Some(help) = source(HELP) else { return };
    let pages = ore_tests::html_files(&help).len();
    let tmp = tempfile::tempdir().expect("tempdir");
    let site = serve(tmp.path());
    let a = tmp.path().join("a");
    let args = crawl_args(site.port, &a, &["--concurrency", "8"]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let summary = stdout_ok(&ore(tmp.path(), &args));
    eprintln!("{summary}");

    let manifest = Manifest::read(&a).expect("manifest");
    assert_eq!(
        manifest.rows.output as usize, pages,
        "every page reachable from /zh-CN/ once"
    );
    assert_eq!(
        manifest.rows.input,
        manifest.rows.output + manifest.rows.rejected
    );
    assert!(manifest.rows.rejected_by_reason.contains_key("link_only"));
    let titles = strings(&a, "title");
    let texts = strings(&a, "text");
    let urls = strings(&a, "url");
    assert_eq!(
        urls.iter().collect::<BTreeSet<_>>().len(),
        pages,
        "no page twice"
    );
    // About 400 pages of the zh-CN package are untranslated (English).
    // One page of the package (text/shared/05/00000100.html) has neither a
    // <title> nor an <h1>.
    let untitled = titles.iter().filter(|t| t.trim().is_empty()).count();
    assert!(untitled <= 1, "{untitled} pages without a title");
    let chinese_titles = titles.iter().filter(|t| has_cjk(t)).count();
    assert!(
        chinese_titles * 100 >= pages * 80,
        "{chinese_titles} of {pages} titles are Chinese"
    );
    let chinese_texts = texts.iter().filter(|t| has_cjk(t)).count();
    assert!(
        chinese_texts * 100 >= pages * 80,
        "{chinese_texts} of {pages} texts are Chinese"
    );
    assert!(
        !texts.iter().chain(&titles).any(|t| t.contains('\u{fffd}')),
        "no decoding errors"
    );
    let empty = texts.iter().filter(|t| t.trim().is_empty()).count();
    assert!(empty * 100 <= pages, "{empty} empty texts");
    let writer = urls
        .iter()
        .position(|u| u.ends_with("/zh-CN/text/swriter/main0000.html"))
        .expect("writer page");
    assert_eq!(titles[writer], "欢迎使用 LibreOffice Writer 文本文档帮助");
    assert!(
        texts[writer].contains("LibreOffice Writer 的主要功能"),
        "{}",
        texts[writer]
    );

    let b = tmp.path().join("b");
    let args = crawl_args(site.port, &b, &[]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    stdout_ok(&ore(tmp.path(), &args));
    assert_eq!(
        doc_ids(&a),
        doc_ids(&b),
        "a second crawl gives the same documents"
    );

    // A re-crawl with --previous: http.server answers 304 to the
    // If-Modified-Since of every page, so all are carried over, and their
    // links (kept in the `links` column) reach every page again.
    let c = tmp.path().join("c");
    let previous = a.display().to_string();
    let args = crawl_args(site.port, &c, &["--previous", &previous]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let summary = stdout_ok(&ore(tmp.path(), &args));
    assert!(
        summary.contains(&format!("{pages} documents, {pages} not modified")),
        "{summary}"
    );
    let manifest = Manifest::read(&c).expect("manifest");
    assert_eq!(manifest.summary["not_modified"], pages as u64);
    assert_eq!(
        manifest.rows.input,
        manifest.rows.output + manifest.rows.rejected
    );
    let by_url = |dir: &Path| -> std::collections::BTreeMap<String, String> {
        strings(dir, "url")
            .into_iter()
            .zip(strings(dir, "text"))
            .collect()
    };
    assert_eq!(by_url(&a), by_url(&c), "the same pages with the same text");
    let ds = Dataset::open(&c).expect("open");
    for batch in ds.batches_of(&["not_modified"], 4096).expect("column") {
        let batch = batch.expect("batch");
        let col = batch
            .column(0)
            .as_any()
            .downcast_ref::<BooleanArray>()
            .expect("bool");
        assert_eq!(col.true_count(), col.len(), "every page not modified");
    }
}

fn rows_saved(state: &Path) -> usize {
    std::fs::read(state.join("rows.jsonl")).map_or(0, |b| b.iter().filter(|&&c| c == b'\n').count())
}

/// Starts a slow crawl and kills it with `signal` once `at` rows are saved.
fn crawl_and_kill(port: u16, out: &Path, signal: &str, at: usize) {
    let args = crawl_args(
        port,
        out,
        &[
            "--concurrency",
            "2",
            "--per-host-concurrency",
            "2",
            "--delay-ms",
            "2",
        ],
    );
    let mut child = Command::new(ore_bin())
        .args(&args)
        .env("ORE_NO_PROGRESS", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run ore crawl");
    let state = out.parent().expect("parent").join(format!(
        ".{}.crawl-state",
        out.file_name().expect("name").to_string_lossy()
    ));
    let start = Instant::now();
    while rows_saved(&state) < at {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "crawl too slow to reach {at} rows"
        );
        assert!(
            child.try_wait().expect("poll").is_none(),
            "crawl ended before it could be killed"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args([signal, &pid])
            .status()
            .expect("kill")
            .success()
    );
    let out_ = child.wait_with_output().expect("wait");
    assert!(
        !out_.status.success(),
        "an interrupted crawl exits non-zero"
    );
    assert!(
        state.join("rows.jsonl").is_file(),
        "state kept for --resume"
    );
}

#[test]
fn a_killed_crawl_resumes_to_the_same_documents() {
    let Some(_) = source(HELP) else { return };
    let tmp = tempfile::tempdir().expect("tempdir");
    let site = serve(tmp.path());
    let full = tmp.path().join("full");
    let args = crawl_args(site.port, &full, &[]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    stdout_ok(&ore(tmp.path(), &args));
    let expected = doc_ids(&full);

    for (signal, name) in [("-INT", "sigint"), ("-KILL", "sigkill")] {
        let out = tmp.path().join(name);
        crawl_and_kill(site.port, &out, signal, 300);
        if signal == "-INT" {
            // SIGINT commits what was fetched so far.
            let partial = Manifest::read(&out).expect("partial output committed");
            assert!(partial.rows.input >= 300 && (partial.rows.output as usize) < expected.len());
        }
        let args = crawl_args(site.port, &out, &["--resume"]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let summary = stdout_ok(&ore(tmp.path(), &args));
        let resumed: u64 = summary
            .lines()
            .flat_map(|l| l.split(", "))
            .find_map(|p| p.strip_suffix(" rows resumed"))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or_else(|| panic!("no resumed rows in: {summary}"));
        assert!(resumed >= 250, "{name}: {summary}");
        let manifest = Manifest::read(&out).expect("manifest");
        let full_manifest = Manifest::read(&full).expect("manifest");
        assert_eq!(
            manifest.rows.input, full_manifest.rows.input,
            "{name}: no URL tried twice"
        );
        assert_eq!(
            doc_ids(&out),
            expected,
            "{name}: same documents as an uninterrupted crawl"
        );
        assert!(
            !tmp.path().join(format!(".{name}.crawl-state")).exists(),
            "state removed when complete"
        );
    }
}

#[test]
fn crawl_errors_are_one_line() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let err = one_line_error(&ore(
        tmp.path(),
        &["crawl", "--seed", "ftp://example.com/", "--output", "x"],
    ));
    assert!(err.contains("ftp://example.com/"), "{err}");
    let err = one_line_error(&ore(
        tmp.path(),
        &["crawl", "--seed", "http://127.0.0.1:9/"],
    ));
    assert!(err.contains("--output"), "{err}");
    std::fs::write(
        tmp.path().join("p.toml"),
        "[pipeline]\nname = \"t\"\n[crawl]\nseedz = []\n",
    )
    .expect("write");
    let err = one_line_error(&ore(tmp.path(), &["crawl", "--config", "p.toml"]));
    assert!(
        err.contains("p.toml") && err.contains("crawl.seedz"),
        "{err}"
    );
}
