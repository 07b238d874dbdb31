//! `ore sweep` end to end on the reversal task: four tiny LSTM trials
//! (hidden size × learning rate), the sweep killed once two trials have
//! finished, rerun: the finished trials are skipped (their manifests
//! untouched), a trial killed mid-training resumes from its checkpoint, all
//! four are ranked by validation loss, and the ensemble of the top two is
//! as good as its best member.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ore_tests::{one_line_error, ore, ore_bin, read_all, stdout_ok, write_reversal_examples};
use serde_json::Value;

const PIPELINE: &str = r#"[pipeline]
name = "t"
seed = 3

[train]
input = "reversal"
epochs = 1000
max_steps = 240
eval_every = 30
patience = 0
threads = 1
device = "cpu"

[train.data]
batch_size = 16
max_src_len = 8
max_tgt_len = 8

[train.model]
embedding = 24
hidden = 32
dropout = 0.0

[train.optim]
lr = 0.01

[eval]
beam = 1
device = "cpu"

[sweep]
top_k = 2

[sweep.space]
"model.hidden" = [24, 48]
"optim.lr" = [0.005, 0.02]
"#;

fn json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("read json")).expect("json")
}

fn manifest_done(sweep: &Path, trial: usize) -> bool {
    sweep
        .join(format!("trial-{trial:03}/_manifest.json"))
        .is_file()
}

/// Starts `ore sweep p.toml` in its own process group, and kills the
/// group (the sweep and the trial it runs) once two trials have finished
/// and the third has written a checkpoint (or finished too). Returns
/// whether the third trial was caught mid-training.
fn sweep_and_kill(d: &Path) -> bool {
    use std::os::unix::process::CommandExt;
    let sweep = d.join("datasets/t/sweep");
    let mut child = Command::new(ore_bin())
        .args(["sweep", "p.toml"])
        .current_dir(d)
        .env("ORE_NO_PROGRESS", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .expect("run ore sweep");
    let start = Instant::now();
    let third_checkpoint = sweep.join("trial-002/checkpoint/state.json");
    while !(manifest_done(&sweep, 0)
        && manifest_done(&sweep, 1)
        && (third_checkpoint.is_file() || manifest_done(&sweep, 2)))
    {
        assert!(
            start.elapsed() < Duration::from_secs(240),
            "the sweep did not finish two trials in time"
        );
        assert!(
            child.try_wait().expect("poll").is_none(),
            "the sweep ended before it could be killed"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let group = format!("-{}", child.id());
    assert!(
        Command::new("kill")
            .args(["-KILL", "--", &group])
            .status()
            .expect("kill")
            .success()
    );
    assert!(!child.wait().expect("wait").success());
    assert!(
        !manifest_done(&sweep, 3),
        "the sweep got to its last trial before it was killed"
    );
    !manifest_done(&sweep, 2)
}

/// Share of prediction rows whose output equals the reference.
fn exact_match(eval: &Path) -> f64 {
    let (mut same, mut rows) = (0usize, 0usize);
    for batch in read_all(eval) {
        let col = |name: &str| {
            batch
                .column_by_name(name)
                .expect("column")
                .as_any()
                .downcast_ref::<arrow_array::StringArray>()
                .expect("utf8")
                .clone()
        };
        let (hyp, reference) = (col("hyp"), col("ref"));
        for i in 0..batch.num_rows() {
            rows += 1;
            same += usize::from(hyp.value(i) == reference.value(i));
        }
    }
    assert!(rows > 0, "no predictions in {}", eval.display());
    same as f64 / rows as f64
}

#[test]
fn a_killed_sweep_resumes_skips_finished_trials_and_ensembles_the_best() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    write_reversal_examples(&d.join("reversal"), 600, 11);
    std::fs::write(d.join("p.toml"), PIPELINE).expect("write pipeline");
    let sweep = d.join("datasets/t/sweep");

    let dry = stdout_ok(&ore(d, &["sweep", "p.toml", "--dry-run"]));
    assert!(
        dry.contains("trial 1/4: model.hidden=24 optim.lr=0.005")
            && dry.contains("trial 4/4: model.hidden=48 optim.lr=0.02"),
        "{dry}"
    );
    assert!(dry.contains("0 done, 0 to resume, 4 to run"), "{dry}");
    assert!(!sweep.exists(), "a dry run writes nothing");

    let started = Instant::now();
    let caught_mid_training = sweep_and_kill(d);
    eprintln!(
        "killed after {:.1} s (third trial mid-training: {caught_mid_training})",
        started.elapsed().as_secs_f64()
    );
    let before: Vec<Vec<u8>> = (0..2)
        .map(|i| std::fs::read(sweep.join(format!("trial-{i:03}/_manifest.json"))).expect("read"))
        .collect();
    let spec = json(&sweep.join("trial-001.json"));
    assert_eq!(spec["overrides"]["model.hidden"], 24);
    assert_eq!(spec["overrides"]["optim.lr"], 0.02);
    assert_eq!(spec["seed"], 3);

    let dry = stdout_ok(&ore(d, &["sweep", "p.toml", "--dry-run"]));
    assert!(dry.contains("trial-000: done, would be skipped"), "{dry}");
    if caught_mid_training {
        assert!(dry.contains("trial-002: would resume"), "{dry}");
    }

    let rerun_started = Instant::now();
    let out = stdout_ok(&ore(d, &["sweep", "p.toml"]));
    eprintln!(
        "rerun in {:.1} s:\n{out}",
        rerun_started.elapsed().as_secs_f64()
    );
    assert!(out.contains("trial-000: done, skipped"), "{out}");
    assert!(out.contains("trial-001: done, skipped"), "{out}");
    assert!(
        out.contains("trial 4/4: model.hidden=48 optim.lr=0.02"),
        "{out}"
    );
    if caught_mid_training {
        assert!(
            out.contains("resuming trial-002 from its checkpoint"),
            "{out}"
        );
    }
    for (i, old) in before.iter().enumerate() {
        let now = std::fs::read(sweep.join(format!("trial-{i:03}/_manifest.json"))).expect("read");
        assert_eq!(&now, old, "trial-{i:03} was retrained");
    }

    let record = json(&sweep.join("_sweep.json"));
    let trials = record["trials"].as_array().expect("trials");
    assert_eq!(trials.len(), 4);
    let statuses: Vec<&str> = trials
        .iter()
        .map(|t| t["status"].as_str().expect("status"))
        .collect();
    assert_eq!(statuses[..2], ["skipped", "skipped"]);
    // Ranked by best validation loss, lowest first.
    let loss = |name: &str| {
        trials
            .iter()
            .find(|t| t["trial"] == name)
            .and_then(|t| t["best_valid_loss"].as_f64())
            .expect("loss")
    };
    let ranking: Vec<&str> = record["ranking"]
        .as_array()
        .expect("ranking")
        .iter()
        .map(|v| v.as_str().expect("name"))
        .collect();
    assert_eq!(ranking.len(), 4);
    for pair in ranking.windows(2) {
        assert!(loss(pair[0]) <= loss(pair[1]), "{ranking:?}");
    }
    for t in trials {
        let dir = sweep.join(t["trial"].as_str().expect("name"));
        let manifest = ore_core::Manifest::read(&dir).expect("trial manifest");
        assert_eq!(
            manifest.summary["best_valid_loss"].as_f64(),
            t["best_valid_loss"].as_f64()
        );
        assert_eq!(
            manifest.config["model"]["hidden"],
            t["overrides"]["model.hidden"]
        );
        assert_eq!(manifest.summary["steps"], 240);
    }

    // The ensemble of the top two against the best trial alone.
    let ensemble = &record["ensemble"];
    assert_eq!(
        ensemble["members"],
        serde_json::json!([ranking[0], ranking[1]])
    );
    assert_eq!(record["best"]["trial"], ranking[0]);
    let best = exact_match(&sweep.join("best"));
    let both = exact_match(&sweep.join("ensemble"));
    eprintln!("exact match: best {best:.3}, ensemble {both:.3}");
    assert!(
        best > 0.3,
        "the best trial did not learn to reverse: {best}"
    );
    assert!(
        both >= best - 0.05,
        "the ensemble ({both}) is worse than its best member ({best})"
    );
    assert_eq!(ensemble["eval"]["exact_match"].as_f64(), Some(both));
    let eval_manifest = ore_core::Manifest::read(sweep.join("ensemble")).expect("manifest");
    assert_eq!(eval_manifest.inputs.len(), 3, "two models and the examples");

    let csv = std::fs::read_to_string(sweep.join("trials.csv")).expect("trials.csv");
    assert_eq!(csv.lines().count(), 5, "{csv}");
    assert!(
        csv.lines()
            .nth(1)
            .expect("row")
            .starts_with(&format!("1,{}", ranking[0]))
    );
    let md = std::fs::read_to_string(sweep.join("sweep.md")).expect("sweep.md");
    assert!(md.contains(&format!("| 1 | {} ★ |", ranking[0])), "{md}");
    assert!(md.contains("Ensemble of the top 2"), "{md}");
    let png = std::fs::read(sweep.join("trials.png")).expect("trials.png");
    assert!(png.starts_with(b"\x89PNG"));

    // Done: a third run trains and evaluates nothing.
    let out = stdout_ok(&ore(d, &["sweep", "p.toml"]));
    assert_eq!(out.matches("done, skipped").count(), 4, "{out}");
    assert!(out.contains("(up to date, skipped)"), "{out}");
    assert!(out.contains("0 trained, 4 skipped"), "{out}");

    // A changed space reruns only the trials whose plan changed.
    let text = std::fs::read_to_string(d.join("p.toml")).expect("read");
    std::fs::write(
        d.join("p.toml"),
        text.replace("[0.005, 0.02]", "[0.005, 0.03]"),
    )
    .expect("write");
    let dry = stdout_ok(&ore(d, &["sweep", "p.toml", "--dry-run"]));
    assert!(dry.contains("trial-000: done, would be skipped"), "{dry}");
    assert!(
        dry.contains("trial-001: would run (changed since it ran (its keys, config): rerun)"),
        "{dry}"
    );
    assert!(dry.contains("2 done, 0 to resume, 2 to run"), "{dry}");

    // The pipeline's report has a sweep section; `ore status` passes over [sweep].
    stdout_ok(&ore(d, &["report", "p.toml"]));
    let report = std::fs::read_to_string(d.join("datasets/t/_report/report.md")).expect("report");
    assert!(report.contains("## 8. Sweep"), "{report}");
    assert!(
        report.contains(&format!("| 1 | {} ★ |", ranking[0])),
        "{report}"
    );
    let status = stdout_ok(&ore(d, &["status", "p.toml"]));
    assert!(!status.contains("sweep"), "{status}");
    eprintln!("whole test: {:.1} s", started.elapsed().as_secs_f64());
}

#[test]
fn a_bad_sweep_section_is_one_clear_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    write_reversal_examples(&d.join("reversal"), 20, 1);
    let base = "[pipeline]\nname = \"t\"\n[train]\ninput = \"reversal\"\n";
    for (sweep, expected) in [
        (
            "[sweep]\ntrails = 3\n[sweep.space]\nepochs = [1]\n",
            "`sweep.trails`",
        ),
        ("[sweep.space]\n\"model.hiden\" = [1, 2]\n", "hiden"),
        (
            "[sweep.space]\n\"optim.lr\" = [0.1, -1.0]\n",
            "optim.lr must be positive",
        ),
        (
            "[sweep]\nmethod = \"random\"\n[sweep.space]\nepochs = [1, 2]\n",
            "`sweep.trials`",
        ),
        (
            "[sweep]\ngroup_by = [\"input\"]\n[sweep.space]\nepochs = [1]\n",
            "`sweep.group_by`",
        ),
        (
            "[sweep]\nstage = \"nothing\"\n[sweep.space]\nepochs = [1]\n",
            "nothing",
        ),
        ("", "no `[sweep]` section"),
    ] {
        std::fs::write(d.join("p.toml"), format!("{base}{sweep}")).expect("write");
        let err = one_line_error(&ore(d, &["sweep", "p.toml", "--dry-run"]));
        assert!(err.contains(expected), "{sweep}: {err}");
    }
}
