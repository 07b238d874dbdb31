//! `ore report` on a small real pipeline: the LibreOffice help's
//! `zh-CN/text/swriter/01/` pages (181, with near-duplicate clusters)
//! crawled from a real static server, cleaned, tokenized, made headline
//! examples, split, augmented, a tiny model trained and evaluated through
//! `ore run`; then the report's three files, and `index.html` rendered by
//! headless Chromium (a screenshot and the DOM).

use std::process::Command;

use ore_tests::{one_line_error, ore, repo_root, serve_site, source, stdout_ok};

const SECTIONS: [&str; 7] = [
    "1. Stages",
    "2. Data quality",
    "3. Duplicate clusters",
    "4. Augmentation",
    "5. Split",
    "6. Training",
    "7. Scores",
];

fn pipeline(port: u16) -> String {
    format!(
        r#"[pipeline]
name = "rep"
seed = 7
output_root = "out"

[crawl]
seeds = ["http://127.0.0.1:{port}/zh-CN/text/swriter/01/"]
include = ['^http://127\.0\.0\.1:{port}/zh-CN/text/swriter/01/']
link_only = ['/$']

[clean]
input = "crawl"
[clean.quality]
min_cjk_chars = 10
min_words = 5
[clean.pii]
action = "count"

[tokenize]
input = "clean"

[headlines]
stage = "examples"
input = "tokenize"
task = "headline"
max_src_chars = 200
max_tgt_chars = 40

[split]
input = "headlines"
ratios = {{ train = 0.8, valid = 0.1, test = 0.1 }}
group_columns = ["source_id"]
fail_on_leak = false

[augment]
input = "split"
[[augment.ops]]
type = "synonym"
rate = 0.1
[[augment.ops]]
type = "homophone"
rate = 0.05
[[augment.ops]]
type = "eda_rs"
rate = 0.1

[train]
input = "augment"
max_steps = 30
eval_every = 10
patience = 0
[train.data]
units = "chars"
max_src_len = 60
max_tgt_len = 20
batch_size = 16
[train.model]
embedding = 32
hidden = 64

[eval]
model = "train"
input = "augment"
beam = 1
"#
    )
}

/// Width, height and the size of a PNG's compressed image data.
fn png_facts(png: &[u8]) -> (u32, u32, usize) {
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    let (w, h) = (be(&png[16..20]), be(&png[20..24]));
    let mut at = 8;
    let mut idat = 0;
    while at + 8 <= png.len() {
        let len = be(&png[at..at + 4]) as usize;
        if &png[at + 4..at + 8] == b"IDAT" {
            idat += len;
        }
        at += 12 + len;
    }
    (w, h, idat)
}

#[test]
fn report_of_a_real_pipeline_renders_every_section_in_chromium() {
    let Some(_) = source("libreoffice-help-zh-cn/usr/share/libreoffice/help/zh-CN") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let site = serve_site(d, None);
    std::fs::write(d.join("p.toml"), pipeline(site.port)).unwrap();
    let run = Command::new(ore_tests::ore_bin())
        .args(["run", "p.toml"])
        .current_dir(d)
        .env("ORE_NO_PROGRESS", "1")
        .env("ORE_SOURCES", repo_root().join("datasets/sources"))
        .output()
        .unwrap();
    stdout_ok(&run);
    drop(site);

    let out = stdout_ok(&ore(d, &["report", "p.toml"]));
    let report = d.join("out/rep/_report");
    assert!(out.contains("out/rep/_report"), "{out}");
    let html = std::fs::read_to_string(report.join("index.html")).unwrap();
    let md = std::fs::read_to_string(report.join("report.md")).unwrap();
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(report.join("report.json")).unwrap())
            .unwrap();
    for title in SECTIONS {
        assert!(html.contains(&format!(">{title}</h2>")), "{title} missing");
        assert!(
            md.contains(&format!("## {title}\n")),
            "{title} missing in report.md"
        );
    }
    assert!(!html.contains("<script"), "the page needs no JavaScript");
    assert!(
        !html.contains(" src=") && !html.contains("<link") && !html.contains("url("),
        "the page loads nothing"
    );
    let charts = json["charts"].as_u64().unwrap() as usize;
    assert_eq!(html.matches("<svg").count(), charts);
    let section = |id: &str| &json["sections"][id];
    for (id, at_least) in [
        ("stages", 1),
        ("quality", 5),
        ("duplicates", 1),
        ("augment", 1),
        ("split", 1),
        ("training", 1),
        ("scores", 1),
    ] {
        let n = section(id)["charts"].as_u64().unwrap();
        assert!(n >= at_least, "section {id}: {n} charts");
    }
    // Figures that come from the data, not from a template.
    let stages = section("stages")["figures"].as_array().unwrap();
    assert_eq!(stages.len(), 8);
    assert!(stages.iter().all(|s| s["ran"] == true));
    let diversity = &section("quality")["figures"]["diversity"];
    let self_bleu = diversity["self_bleu"].as_array().unwrap();
    assert_eq!(self_bleu.len(), 3, "{self_bleu:?}");
    for op in self_bleu {
        let b = op["self_bleu"].as_f64().unwrap();
        assert!(b > 10.0 && b < 100.0, "{op}");
    }
    let clusters = &section("duplicates")["figures"][0];
    assert!(clusters["clusters"].as_u64().unwrap() >= 1, "{clusters}");
    let samples = section("augment")["figures"][0]["samples"]
        .as_array()
        .unwrap();
    assert_eq!(samples.len(), 9, "three samples per op");
    assert!(html.contains("<del>") && html.contains("<ins>"));
    let predictions = section("scores")["figures"]["predictions"]
        .as_array()
        .unwrap();
    assert!(!predictions.is_empty());
    for p in predictions {
        let url = p["url"].as_str().unwrap();
        assert!(
            url.contains("/zh-CN/text/swriter/01/"),
            "lineage to the URL: {p}"
        );
        assert!(p["fetched_at"].as_str().unwrap().ends_with("UTC"), "{p}");
    }
    let fetched = &section("quality")["figures"]["timeliness"][0];
    assert!(fetched["documents"].as_u64().unwrap() > 150, "{fetched}");
    // Personal information counted by clean: every kind, with its action.
    let pii = section("quality")["figures"]["noise"]["pii"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(pii.len(), 6, "{pii:?}");
    assert!(pii.iter().all(|k| k["action"] == "count"), "{pii:?}");
    assert!(md.contains("Personal information found by clean"));

    // Rerunning replaces the report and leaves no temp folder behind.
    stdout_ok(&ore(d, &["report", "p.toml", "--output", "again"]));
    for file in ["report.json", "report.md", "index.html"] {
        let again = std::fs::read_to_string(d.join("again").join(file)).unwrap();
        let first = std::fs::read_to_string(report.join(file)).unwrap();
        assert!(
            again == first,
            "{file}: a second report of the same outputs differs"
        );
    }
    stdout_ok(&ore(d, &["report", "p.toml"]));
    let leftovers: Vec<_> = std::fs::read_dir(d.join("out/rep"))
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    if let Some(bin) = ore_tests::chromium() {
        let url = format!("file://{}", report.join("index.html").display());
        let shot = d.join("shot.png");
        ore_tests::run_chromium(
            &bin,
            d,
            &[
                &format!("--screenshot={}", shot.display()),
                "--window-size=1280,4000",
                &url,
            ],
        );
        let (w, h, idat) = png_facts(&std::fs::read(&shot).unwrap());
        assert_eq!((w, h), (1280, 4000));
        // A blank page of this size compresses to a few kB; tables, text
        // and charts to hundreds.
        assert!(
            idat > 50_000,
            "screenshot looks blank ({idat} bytes of image data)"
        );
        let dom =
            String::from_utf8(ore_tests::run_chromium(&bin, d, &["--dump-dom", &url])).unwrap();
        for title in SECTIONS {
            assert!(
                dom.contains(&format!(">{title}</h2>")),
                "{title} not rendered"
            );
        }
        assert_eq!(dom.matches("<svg").count(), charts, "every chart rendered");
        for bad in ["NaN", "undefined", "error:", "panicked"] {
            assert!(!dom.contains(bad), "`{bad}` in the rendered page");
        }
    }

    // A corrupt input is one error line naming the file.
    let part = d.join("out/rep/clean/part-00000.parquet");
    std::fs::write(&part, b"not parquet").unwrap();
    let err = one_line_error(&ore(d, &["report", "p.toml"]));
    assert!(err.contains("out/rep/clean/part-00000.parquet"), "{err}");
}

#[test]
fn report_of_a_pipeline_that_has_not_run_says_so_in_every_section() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("p.toml"), pipeline(1)).unwrap();
    stdout_ok(&ore(d, &["report", "p.toml", "--output", "r"]));
    let md = std::fs::read_to_string(d.join("r/report.md")).unwrap();
    assert!(
        md.contains("Not run yet: crawl, clean, tokenize, headlines, split, augment, train, eval."),
        "{md}"
    );
    for sentence in [
        "No augment stage in this pipeline",
        "No clean stage in this pipeline",
        "No split stage in this pipeline",
        "No train stage in this pipeline",
        "No eval stage in this pipeline",
        "No crawl stage in this pipeline",
    ] {
        assert!(md.contains(sentence), "`{sentence}` missing:\n{md}");
    }
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("r/report.json")).unwrap()).unwrap();
    assert_eq!(json["charts"], 0);
}
