//! Atomic commit of an output folder.
//!
//! A stage writes everything (part files, `_rejects/`, `_manifest.json`) into
//! a hidden sibling folder `.NAME.tmp-PID-NANOS` and renames it onto `NAME`
//! only when complete. Readers never look at hidden folders, so a stage that
//! is killed or fails leaves the previous output (or nothing) in place, never
//! a half-written dataset.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::error::{Error, IoContext, Result};

/// A temporary folder that becomes `target` on [`Staging::commit`] and is
/// removed if dropped uncommitted.
#[derive(Debug)]
pub struct Staging {
    dir: PathBuf,
    target: PathBuf,
    committed: bool,
}

impl Staging {
    /// Creates the staging folder beside `target` (creating `target`'s parent
    /// if needed) and removes stale staging folders of dead processes.
    pub fn new(target: impl AsRef<Path>) -> Result<Self> {
        let target = target.as_ref().to_path_buf();
        let (parent, name) = split_target(&target)?;
        fs::create_dir_all(&parent).at(&parent)?;
        remove_stale(&parent, &name);
        let dir = parent.join(format!(".{name}.tmp-{}-{}", std::process::id(), nanos()));
        fs::create_dir(&dir).at(&dir)?;
        Ok(Self {
            dir,
            target,
            committed: false,
        })
    }

    /// The folder to write into.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// The final location.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Moves the staging folder onto the target, replacing what was there.
    ///
    /// The old output is first renamed aside, then the new one into place, then
    /// the old one deleted: at no moment does `target` hold a mix of the two.
    pub fn commit(mut self) -> Result<()> {
        let (parent, name) = split_target(&self.target)?;
        let aside = parent.join(format!(".{name}.old-{}-{}", std::process::id(), nanos()));
        let had_old = match fs::symlink_metadata(&self.target) {
            Ok(_) => {
                fs::rename(&self.target, &aside).at(&self.target)?;
                true
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
            Err(e) => return Err(Error::io(&self.target, e)),
        };
        if let Err(e) = fs::rename(&self.dir, &self.target) {
            if had_old {
                // Put the previous output back so the failure loses nothing.
                let _ = fs::rename(&aside, &self.target);
            }
            return Err(Error::io(&self.target, e));
        }
        self.committed = true;
        if had_old {
            remove_any(&aside);
        }
        sync_dir(&parent);
        Ok(())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

fn split_target(target: &Path) -> Result<(PathBuf, String)> {
    let name = target
        .file_name()
        .and_then(|n| n.to_str())
        .filter(|n| !n.is_empty() && *n != "." && *n != "..")
        .ok_or_else(|| Error::Config {
            path: target.to_path_buf(),
            message: "output path must end in a folder name".into(),
        })?
        .to_string();
    let parent = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    Ok((parent, name))
}

fn nanos() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default()
}

/// Removes `.NAME.tmp-PID-*` and `.NAME.old-PID-*` siblings left by processes
/// that no longer run (a killed stage cannot clean up after itself).
fn remove_stale(parent: &Path, name: &str) {
    let Ok(entries) = fs::read_dir(parent) else {
        return;
    };
    let prefixes = [format!(".{name}.tmp-"), format!(".{name}.old-")];
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(file_name) = file_name.to_str() else {
            continue;
        };
        let Some(rest) = prefixes
            .iter()
            .find_map(|p| file_name.strip_prefix(p.as_str()))
        else {
            continue;
        };
        let pid = rest.split('-').next().and_then(|p| p.parse::<u32>().ok());
        if pid.is_some_and(|pid| !process_alive(pid)) {
            remove_any(&entry.path());
        }
    }
}

fn process_alive(pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    let proc = Path::new("/proc");
    // Without /proc we cannot tell; keep the folder rather than risk deleting
    // a live writer's work.
    !proc.is_dir() || proc.join(pid.to_string()).exists()
}

fn remove_any(path: &Path) {
    match fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => {
            let _ = fs::remove_dir_all(path);
        }
        Ok(_) => {
            let _ = fs::remove_file(path);
        }
        Err(_) => {}
    }
}

fn sync_dir(dir: &Path) {
    if let Ok(f) = fs::File::open(dir) {
        let _ = f.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dropped_staging_leaves_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("out");
        {
            let staging = Staging::new(&target).unwrap();
            fs::write(staging.path().join("part-00000.parquet"), b"x").unwrap();
        }
        assert!(!target.exists());
        assert_eq!(fs::read_dir(tmp.path()).unwrap().count(), 0);
    }

    #[test]
    fn commit_replaces_previous_output() {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("out");
        fs::create_dir(&target).unwrap();
        fs::write(target.join("old.txt"), b"old").unwrap();
        let staging = Staging::new(&target).unwrap();
        fs::write(staging.path().join("new.txt"), b"new").unwrap();
        staging.commit().unwrap();
        assert!(target.join("new.txt").exists());
        assert!(!target.join("old.txt").exists());
        assert_eq!(fs::read_dir(tmp.path()).unwrap().count(), 1);
    }

    #[test]
    fn stale_staging_of_dead_process_is_removed() {
        let tmp = tempfile::tempdir().unwrap();
        // PIDs are bounded by /proc/sys/kernel/pid_max (at most 2^22).
        let stale = tmp.path().join(".out.tmp-99999999-1");
        fs::create_dir(&stale).unwrap();
        let _staging = Staging::new(tmp.path().join("out")).unwrap();
        assert!(!stale.exists());
    }
}
