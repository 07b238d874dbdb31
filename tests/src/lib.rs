//! Helpers for the end-to-end tests: find the `ore` binary that `make test`
//! built, run it, and find the project's Python (for files written by
//! pyarrow, polars and DuckDB).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

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
        .output()
        .expect("run ore")
}

/// The project's venv Python (`$ORE_TEST_PYTHON`, set by `make test`).
/// Returns `None` (the caller skips, saying why) when it is not set, unless
/// `$ORE_REQUIRE_PYTHON` is set, in which case a missing Python fails.
pub fn python() -> Option<PathBuf> {
    let python = std::env::var_os("ORE_TEST_PYTHON").map(PathBuf::from);
    match python {
        Some(p) if p.is_file() => Some(p),
        _ if std::env::var_os("ORE_REQUIRE_PYTHON").is_some() => {
            panic!("ORE_REQUIRE_PYTHON is set but ORE_TEST_PYTHON does not name a Python")
        }
        _ => {
            eprintln!("skipped: set ORE_TEST_PYTHON to the project venv's python (make test does)");
            None
        }
    }
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
