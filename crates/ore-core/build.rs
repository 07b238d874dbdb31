//! Embeds the git revision of the checkout into `ORE_GIT_REVISION` so every
//! manifest says which code produced it.

use std::path::Path;
use std::process::Command;

fn main() {
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default();
    let git_dir = Path::new(&manifest_dir).join("../../.git");
    // Rebuild when HEAD moves (a commit or a checkout), not on every build.
    let head = git_dir.join("HEAD");
    let mut watched = vec![head.clone(), git_dir.join("packed-refs")];
    if let Some(reference) = std::fs::read_to_string(&head)
        .ok()
        .and_then(|text| text.trim().strip_prefix("ref: ").map(str::to_string))
    {
        watched.push(git_dir.join(reference));
    }
    for path in watched.iter().filter(|p| p.exists()) {
        println!("cargo:rerun-if-changed={}", path.display());
    }
    let revision = Command::new("git")
        .args(["-C", &manifest_dir, "rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .filter(|r| !r.is_empty())
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=ORE_GIT_REVISION={revision}");
}
