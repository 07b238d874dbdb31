//! `ore launch ray`: the demo's clean and tokenize over 3 shards as a Ray
//! job (Ray from the test venv, a local cluster the driver starts), one
//! shard's process killed once before its commit and retried by Ray. The
//! output must equal one run's.

use std::path::Path;
use std::process::Command;

use ore_tests::{assert_same_rows, ore, python, source, stdout_ok};

/// Stops what a failed run may have left of its local Ray cluster.
struct RayStop<'a>(&'a Path);

impl Drop for RayStop<'_> {
    fn drop(&mut self) {
        let ray = self.0.with_file_name("ray");
        let _ = Command::new(ray).args(["stop", "--force"]).output();
    }
}

#[test]
fn the_demo_clean_and_tokenize_run_as_a_ray_job() {
    let Some(_) = source("libreoffice-help-zh-cn/usr/share/libreoffice/help/zh-CN") else {
        return;
    };
    let Some(python) = python() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ore_tests::crawl_for_shards(d, "ry", "zh-CN/text/swriter/01/", "");
    stdout_ok(&ore(d, &["run", "p.toml"]));

    let _stop = RayStop(&python);
    let marker = d.join("killed-once");
    let out = Command::new(ore_tests::ore_bin())
        .args([
            "launch",
            "ray",
            "p.toml",
            "--shards",
            "3",
            "--address",
            "local",
        ])
        .args(["--set", "pipeline.output_root=three", "--python"])
        .arg(&python)
        .current_dir(d)
        .env("ORE_NO_PROGRESS", "1")
        .env("RAY_AUTH_MODE", "disabled")
        .env("RAY_USAGE_STATS_ENABLED", "0")
        .env("ORE_FAULT_KILL", "tokenize:rows:2/3")
        .env("ORE_FAULT_MARKER", &marker)
        .output()
        .unwrap();
    let text = stdout_ok(&out);
    assert!(text.contains("ray: 6 tasks done"), "{text}");
    assert!(marker.exists(), "shard 2/3 of tokenize was killed once");
    let launches = d.join("three/ry/_launch");
    let launch = std::fs::read_dir(&launches)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let log = std::fs::read_to_string(launch.join("logs/tokenize.rows-2.log")).unwrap();
    assert_eq!(
        log.matches("\n== ").count() + usize::from(log.starts_with("== ")),
        3,
        "two attempts, one exit: {log}"
    );

    let (one, three) = (d.join("one/ry"), d.join("three/ry"));
    assert_same_rows(&one.join("clean"), &three.join("clean"), "doc_id");
    assert_same_rows(
        &one.join("clean/_rejects"),
        &three.join("clean/_rejects"),
        "doc_id",
    );
    assert_same_rows(&one.join("tokenize"), &three.join("tokenize"), "doc_id");
    assert_same_rows(
        &one.join("tokenize/_vocab"),
        &three.join("tokenize/_vocab"),
        "token",
    );
}
