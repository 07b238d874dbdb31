//! For the workspace's tests: where the data and the Python that `make test`
//! provides are, and the rule for when they are missing (skip, saying why,
//! unless `make test` asked for them, then fail). The end-to-end tests
//! (`ore-tests`) and the crates' own tests share it.

use std::path::{Path, PathBuf};

/// The repository root (this crate lives in `crates/ore-core/`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("crates/ore-core has a grandparent")
        .to_path_buf()
}

/// A file fetched by `make datasets`, relative to `datasets/sources/`.
/// `None` (the caller skips) when absent, unless `$ORE_REQUIRE_DATA` is set
/// (as `make test` does), in which case a missing source fails the test.
pub fn source(rel: &str) -> Option<PathBuf> {
    let path = repo_root().join("datasets/sources").join(rel);
    if path.exists() {
        return Some(path);
    }
    assert!(
        std::env::var_os("ORE_REQUIRE_DATA").is_none(),
        "{} is missing: run `make datasets`",
        path.display()
    );
    eprintln!(
        "skipped: {} is missing (run `make datasets`)",
        path.display()
    );
    None
}

/// The project's venv Python (`$ORE_TEST_PYTHON`, set by `make test`).
/// Returns `None` (the caller skips, saying why) when it is not set, unless
/// `$ORE_REQUIRE_PYTHON` is set, in which case a missing Python fails.
pub fn python() -> Option<PathBuf> {
    match std::env::var_os("ORE_TEST_PYTHON").map(PathBuf::from) {
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
