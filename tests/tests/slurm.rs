//! Sharded stages on a real Slurm cluster: Debian's slurm-wlm and munge
//! (installed by `make slurm`), one node on loopback inside a network
//! namespace this test creates (`scripts/slurm-cluster.sh`). The demo's
//! clean and tokenize run through `ore launch slurm --shards 4` as job
//! arrays with commit jobs between them; one shard's task is killed once
//! before its commit, requeues itself and runs again. The output must
//! equal one run's on the same input, and every daemon is stopped by its
//! PID, also when the test fails.
//!
//! Needs root (network namespaces, the daemons). Skipped with a message
//! where the cluster cannot be had, unless `$ORE_REQUIRE_SLURM` is set (as
//! `make test` does), in which case that is a failure.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Instant;

use ore_core::Manifest;
use ore_tests::{assert_same_rows, ore, repo_root, source, stdout_ok};

fn script() -> PathBuf {
    repo_root().join("scripts/slurm-cluster.sh")
}

/// Skips (or, under `$ORE_REQUIRE_SLURM`, fails) with `why`.
fn unavailable(why: &str) -> bool {
    assert!(
        std::env::var_os("ORE_REQUIRE_SLURM").is_none(),
        "the Slurm test cannot run: {why}"
    );
    eprintln!("skipped: the Slurm test cannot run: {why}");
    false
}

fn available() -> bool {
    let uid = Command::new("id").arg("-u").output();
    if !uid.is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0") {
        return unavailable("it needs root for the network namespace and the daemons");
    }
    match Command::new("bash").arg(script()).arg("install").output() {
        Ok(o) if o.status.success() => true,
        Ok(o) => unavailable(&format!(
            "`scripts/slurm-cluster.sh install` failed: {}",
            String::from_utf8_lossy(&o.stderr).trim()
        )),
        Err(e) => unavailable(&format!("cannot run bash: {e}")),
    }
}

/// A running cluster, stopped (daemons killed by their PIDs, namespace
/// removed) when dropped, whether the test passed or not.
struct Cluster {
    dir: PathBuf,
}

impl Cluster {
    fn start(dir: &Path) -> Self {
        let out = Command::new("bash")
            .arg(script())
            .arg("start")
            .arg(dir)
            .output()
            .expect("run slurm-cluster.sh");
        let cluster = Cluster {
            dir: dir.to_path_buf(),
        };
        assert!(
            out.status.success(),
            "the cluster did not start: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        cluster
    }

    /// `ore ARGS` inside the cluster's namespace (where sbatch reaches
    /// slurmctld), from `cwd`.
    fn ore(&self, cwd: &Path, env: &[(&str, &Path)], args: &[&str]) -> Output {
        let mut cmd = Command::new("bash");
        cmd.arg(script())
            .arg("run")
            .arg(&self.dir)
            .arg(ore_tests::ore_bin())
            .args(args)
            .current_dir(cwd)
            .env("ORE_NO_PROGRESS", "1");
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().expect("run ore in the cluster")
    }

    fn daemon_pids(&self) -> Vec<u32> {
        ["munged", "slurmctld", "slurmd"]
            .iter()
            .filter_map(|d| std::fs::read_to_string(self.dir.join(format!("{d}.pid"))).ok())
            .filter_map(|p| p.trim().parse().ok())
            .collect()
    }

    fn stop(&self) {
        let _ = Command::new("bash")
            .arg(script())
            .arg("stop")
            .arg(&self.dir)
            .output();
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A process that runs (zombies, which PID 1 reaps late here, do not).
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        !s.rsplit(')')
            .next()
            .unwrap_or_default()
            .trim_start()
            .starts_with('Z')
    })
}

#[test]
fn the_demo_clean_and_tokenize_run_sharded_on_slurm() {
    let Some(_) = source("libreoffice-help-zh-cn/usr/share/libreoffice/help/zh-CN") else {
        return;
    };
    if !available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ore_tests::crawl_for_shards(d, "sl", "zh-CN/text/swriter/", "");
    stdout_ok(&ore(d, &["run", "p.toml"]));

    let started = Instant::now();
    let cluster = Cluster::start(&d.join("slurm"));
    let pids = cluster.daemon_pids();
    assert_eq!(pids.len(), 3, "munged, slurmctld and slurmd are running");
    let four = d.join("four");
    let root = format!("pipeline.output_root={}", four.display());
    let marker = d.join("killed-once");
    let out = cluster.ore(
        d,
        &[
            ("ORE_FAULT_KILL", Path::new("clean:rows:1/4")),
            ("ORE_FAULT_MARKER", &marker),
        ],
        &[
            "launch", "slurm", "p.toml", "--shards", "4", "--set", &root, "--wait",
        ],
    );
    let text = stdout_ok(&out);
    eprintln!("{text}");
    assert!(marker.exists(), "shard 1/4 of clean's rows was killed once");
    let line = |name: &str| {
        text.lines()
            .rfind(|l| l.split_whitespace().nth(1) == Some(name))
            .unwrap_or_else(|| panic!("no line for {name} in {text}"))
            .to_string()
    };
    assert!(line("clean.lines").contains("4/4 completed"), "{text}");
    assert!(
        line("clean.rows").contains("4/4 completed, 1 requeued"),
        "{text}"
    );
    assert!(line("tokenize.rows").contains("4/4 completed"), "{text}");
    assert!(
        line("tokenize.rows.commit").contains("1/1 completed"),
        "{text}"
    );

    let one = d.join("one/sl");
    let sharded = four.join("sl");
    let rows = assert_same_rows(&one.join("clean"), &sharded.join("clean"), "doc_id");
    assert!(rows > 300, "{rows} rows cleaned");
    assert_same_rows(
        &one.join("clean/_rejects"),
        &sharded.join("clean/_rejects"),
        "doc_id",
    );
    assert_same_rows(&one.join("tokenize"), &sharded.join("tokenize"), "doc_id");
    assert_same_rows(
        &one.join("tokenize/_vocab"),
        &sharded.join("tokenize/_vocab"),
        "token",
    );
    let m = Manifest::read(sharded.join("clean")).unwrap();
    assert_eq!(m.summary["shards"], serde_json::json!(4));
    assert!(!sharded.join(".clean.shards").exists());
    assert!(!sharded.join(".tokenize.shards").exists());
    // The runner sees the sharded outputs as up to date.
    let status = stdout_ok(&ore(d, &["status", "p.toml", "--set", &root]));
    assert!(status.contains("0 of 2 stages stale"), "{status}");

    cluster.stop();
    std::thread::sleep(std::time::Duration::from_millis(500));
    for pid in pids {
        assert!(!alive(pid), "daemon {pid} still runs after stop");
    }
    eprintln!(
        "slurm: cluster up, 6 jobs (one task requeued), commit and stop in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}
