//! The whole job end to end: `pipelines/demo.toml` itself, pointed at a
//! slice of the LibreOffice help (`text/swriter/01/`, 181 pages a
//! language, crawled from a real static server) with tiny models, through
//! `ore run`: two crawls, clean, tokenize, align, two translators, headline
//! examples, a split, augment (synonyms, homophones, back-translation
//! through the translators), train, eval and the report. Then:
//! - every stage's output exists, with its columns;
//! - rows balance in every stage (in + generated = out + rejected, the
//!   rejects on disk) and between stages (what one writes, the next reads);
//! - the split's audit finds no leak;
//! - the report is written, with every section, and renders in headless
//!   Chromium;
//! - `ore trace` takes a prediction back to its URL;
//! - a rerun runs nothing, and changing one parameter reruns exactly the
//!   stages downstream of it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Command, Output};

use ore_core::Manifest;
use ore_tests::{ore_bin, read_all, repo_root, serve_site, source, stdout_ok};

/// Tiny models and one short run each, so the job takes about a minute.
const TINY: &[&str] = &[
    "zh_en.max_steps=20",
    "zh_en.eval_every=10",
    "zh_en.data.bpe_merges=300",
    "zh_en.model.embedding=32",
    "zh_en.model.hidden=48",
    "en_zh.max_steps=20",
    "en_zh.eval_every=10",
    "en_zh.data.bpe_merges=300",
    "en_zh.model.embedding=32",
    "en_zh.model.hidden=48",
    "train.max_steps=40",
    "train.eval_every=20",
    "train.model.embedding=32",
    "train.model.hidden=64",
    "eval.beam=1",
];

/// The demo pipeline with its crawls pointed at `port`'s swriter/01 pages
/// (the test serves the site itself) and its outputs under `out/`.
fn demo_slice(port: u16) -> String {
    let text = std::fs::read_to_string(repo_root().join("pipelines/demo.toml"))
        .expect("read pipelines/demo.toml");
    let mut out = String::new();
    for line in text.lines() {
        if line.starts_with("serve = ") {
            continue;
        }
        let line = line
            .replace(
                "127.0.0.1:8765/zh-CN/",
                &format!("127.0.0.1:{port}/zh-CN/text/swriter/01/"),
            )
            .replace(
                "127.0.0.1:8765/en-US/",
                &format!("127.0.0.1:{port}/en-US/text/swriter/01/"),
            )
            .replace(
                r"127\.0\.0\.1:8765/zh-CN/",
                &format!(r"127\.0\.0\.1:{port}/zh-CN/text/swriter/01/"),
            )
            .replace(
                r"127\.0\.0\.1:8765/en-US/",
                &format!(r"127\.0\.0\.1:{port}/en-US/text/swriter/01/"),
            )
            .replace("output_root = \"datasets\"", "output_root = \"out\"");
        out.push_str(&line);
        out.push('\n');
    }
    assert!(out.contains(&format!("{port}/en-US/text/swriter/01/")));
    out
}

fn run(d: &Path, extra: &[&str]) -> Output {
    let mut cmd = Command::new(ore_bin());
    cmd.args(["run", "p.toml"]);
    for s in TINY.iter().chain(extra) {
        cmd.args(["--set", s]);
    }
    cmd.current_dir(d)
        .env("ORE_NO_PROGRESS", "1")
        .env("ORE_SOURCES", repo_root().join("datasets/sources"))
        .output()
        .expect("run ore")
}

/// The sections a run's output says it ran (`==> SECTION (kind): …`).
fn ran(stdout: &str) -> BTreeSet<String> {
    stdout
        .lines()
        .filter_map(|l| l.strip_prefix("==> "))
        .filter_map(|l| l.split_once(" (").map(|(s, _)| s.to_string()))
        .collect()
}

fn rows(path: &Path) -> u64 {
    read_all(path).iter().map(|b| b.num_rows() as u64).sum()
}

fn columns(path: &Path) -> BTreeSet<String> {
    read_all(path)
        .first()
        .map(|b| {
            b.schema()
                .fields()
                .iter()
                .map(|f| f.name().clone())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn the_demo_job_runs_end_to_end_on_a_slice_of_the_help() {
    let Some(_) = source("libreoffice-help-en-us/usr/share/libreoffice/help/en-US") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let site = serve_site(d, None);
    std::fs::write(d.join("p.toml"), demo_slice(site.port)).unwrap();
    let first = stdout_ok(&run(d, &[]));
    let out = d.join("out/demo");
    let sections = [
        "crawl",
        "crawl_en",
        "clean",
        "tokenize",
        "align",
        "zh_en",
        "en_zh",
        "headlines",
        "split",
        "augment",
        "train",
        "eval",
    ];
    assert_eq!(
        ran(&first),
        sections.iter().map(|s| s.to_string()).collect(),
        "{first}"
    );

    // Every output, with its columns.
    let manifest = |s: &str| Manifest::read(out.join(s)).unwrap_or_else(|e| panic!("{s}: {e}"));
    let m: BTreeMap<&str, Manifest> = sections.iter().map(|s| (*s, manifest(s))).collect();
    let expect: &[(&str, &[&str])] = &[
        ("crawl", &["doc_id", "url", "fetched_at", "title", "text"]),
        (
            "crawl_en",
            &["doc_id", "url", "fetched_at", "title", "text"],
        ),
        ("clean", &["doc_id", "url", "text", "dup_cluster"]),
        ("tokenize", &["doc_id", "tokens", "pos", "entities"]),
        (
            "align",
            &["example_id", "src", "tgt", "src_doc_id", "tgt_url"],
        ),
        (
            "headlines",
            &["example_id", "source_id", "src", "tgt", "url"],
        ),
        ("split/test", &["example_id", "source_id", "split"]),
        (
            "augment/train",
            &["example_id", "parent_id", "aug_op", "aug_params"],
        ),
        ("eval", &["example_id", "hyp", "ref", "bleu", "rougeL"]),
    ];
    for (path, cols) in expect {
        let have = columns(&out.join(path));
        for c in *cols {
            assert!(have.contains(*c), "{path}: no column {c} in {have:?}");
        }
    }
    for model in ["zh_en", "en_zh", "train"] {
        let files: Vec<String> = std::fs::read_dir(out.join(model))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        for f in ["model.safetensors", "log.csv", "config.json"] {
            assert!(files.iter().any(|x| x == f), "{model}: no {f}");
        }
        assert!(
            files.iter().any(|x| x.starts_with("events.out.tfevents.")),
            "{model}: no TensorBoard event file"
        );
    }
    assert!(out.join("eval/_metrics.json").is_file());

    // Rows balance in every stage that writes a dataset, and the rejects
    // are on disk.
    for s in sections {
        let r = &m[s].rows;
        if ["zh_en", "en_zh", "train"].contains(&s) {
            continue;
        }
        assert_eq!(r.input + r.generated, r.output + r.rejected, "{s}: {r:?}");
        assert_eq!(rows(&out.join(s)), r.output, "{s}: rows on disk");
        if r.rejected > 0 {
            assert_eq!(rows(&out.join(s).join("_rejects")), r.rejected, "{s}");
        }
        let by_reason: u64 = r.rejected_by_reason.values().sum();
        assert_eq!(by_reason, r.rejected, "{s}: every reject has a reason");
    }
    // … and between stages: what one writes, the next reads.
    for (from, to) in [
        ("crawl", "clean"),
        ("clean", "tokenize"),
        ("tokenize", "headlines"),
        ("headlines", "split"),
        ("split", "augment"),
    ] {
        assert_eq!(m[from].rows.output, m[to].rows.input, "{from} → {to}");
    }
    assert!(m["crawl"].rows.output >= 150, "{:?}", m["crawl"].rows);
    assert!(
        m["headlines"].rows.output >= 100,
        "{:?}",
        m["headlines"].rows
    );
    assert!(m["align"].rows.output >= 500, "{:?}", m["align"].rows);
    // Augment made variants of the training rows only, by every op.
    let ops: BTreeSet<String> = ore_tests::string_rows(&out.join("augment/train"))
        .into_iter()
        .filter_map(|mut r| r.remove("aug_op"))
        .collect();
    for op in ["synonym", "homophone"] {
        assert!(ops.contains(op), "no {op} variants: {ops:?}");
    }
    let bt = &m["augment"].rows;
    assert!(
        ops.contains("back_translation")
            || bt
                .rejected_by_reason
                .keys()
                .any(|k| k.contains("different") || k.starts_with("back_translation")),
        "back-translation neither made nor rejected a variant: {bt:?}"
    );
    assert_eq!(
        rows(&out.join("augment/test")),
        rows(&out.join("split/test")),
        "the test rows pass through"
    );

    // The split's audit finds no leak.
    let audit = &m["split"].summary["audit"];
    assert_eq!(audit["eval_rows_leaked"], 0, "{audit}");
    assert!(audit["eval_rows"].as_u64().unwrap() > 0, "{audit}");

    // The report, written by the run, with every section.
    let report = out.join("_report");
    assert!(first.contains("_report/index.html"), "{first}");
    let html = std::fs::read_to_string(report.join("index.html")).unwrap();
    for section in [
        "Stages",
        "Data quality",
        "Duplicate clusters",
        "Augmentation",
        "Split",
        "Training",
        "Scores",
    ] {
        assert!(html.contains(section), "report: no {section}");
    }
    assert!(report.join("report.md").is_file() && report.join("report.json").is_file());
    if let Some(chromium) = ore_tests::chromium() {
        let dom = ore_tests::render_dom(&chromium, d, &report.join("index.html"));
        assert!(
            dom.contains("Scores") && dom.matches("<svg").count() >= 7,
            "{dom:.500}"
        );
    }

    // A prediction traced back to its URL.
    let eval_rows = ore_tests::string_rows(&out.join("eval"));
    let id = &eval_rows[0]["example_id"];
    let trace = stdout_ok(
        &Command::new(ore_bin())
            .args(["trace", id, "--config", "p.toml", "--json"])
            .current_dir(d)
            .output()
            .unwrap(),
    );
    let trace: serde_json::Value = serde_json::from_str(&trace).unwrap();
    let chain = trace["chain"].as_array().unwrap();
    assert_eq!(chain[0]["what"], "prediction", "{trace}");
    let last = chain.last().unwrap();
    assert_eq!(last["section"], "crawl", "{trace}");
    let url = last["row"]["url"].as_str().unwrap();
    assert!(
        url.starts_with(&format!(
            "http://127.0.0.1:{}/zh-CN/text/swriter/01/",
            site.port
        )),
        "{url}"
    );
    assert!(last["row"]["fetched_at"].is_string(), "{trace}");
    assert!(
        chain
            .iter()
            .all(|h| h["manifest"]["config_hash"].is_string()),
        "{trace}"
    );

    // The eval's decoding in 3 shards, committed: the predictions, the
    // corpus scores and the report of one run.
    for k in 0..3 {
        let shard = format!("{k}/3");
        let mut cmd = Command::new(ore_bin());
        cmd.args([
            "run", "p.toml", "--only", "eval", "--output", "eval3", "--shard", &shard,
        ]);
        for s in TINY {
            cmd.args(["--set", s]);
        }
        stdout_ok(
            &cmd.current_dir(d)
                .env("ORE_NO_PROGRESS", "1")
                .output()
                .unwrap(),
        );
    }
    stdout_ok(
        &Command::new(ore_bin())
            .args(["commit", "eval3"])
            .current_dir(d)
            .output()
            .unwrap(),
    );
    ore_tests::assert_same_rows(&out.join("eval"), &d.join("eval3"), "example_id");
    for file in ["_metrics.json", "_report/report.json", "_report/report.md"] {
        let read = |dir: &Path| std::fs::read_to_string(dir.join(file)).unwrap();
        assert_eq!(read(&out.join("eval")), read(&d.join("eval3")), "{file}");
    }

    // A rerun runs nothing …
    let again = stdout_ok(&run(d, &[]));
    assert!(ran(&again).is_empty(), "{again}");
    assert!(again.contains("0 stages run, 12 up to date"), "{again}");
    // … and one changed parameter reruns exactly the stages after it.
    let changed = stdout_ok(&run(d, &["headlines.max_tgt_chars=39"]));
    assert_eq!(
        ran(&changed),
        ["headlines", "split", "augment", "train", "eval"]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        "{changed}"
    );
    drop(site);
}
