//! Small file helpers: every file of a model folder is replaced atomically,
//! so a run killed mid-save leaves the previous checkpoint intact.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Result, TrainError};

/// A sibling temporary name in the same folder (same file system, so the
/// rename is atomic).
pub fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    path.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}

/// Writes `bytes` to `path` through a temporary file and a rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = temp_path(path);
    let mut file = std::fs::File::create(&tmp).map_err(|e| TrainError::io(&tmp, e))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| TrainError::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| TrainError::io(path, e))
}

/// Renames a finished temporary file into place.
pub fn commit(tmp: &Path, path: &Path) -> Result<()> {
    std::fs::rename(tmp, path).map_err(|e| TrainError::io(path, e))
}

/// A unit as one line of a vocabulary or merge file: backslashes, newlines
/// and spaces escaped (`\\`, `\n`, `\s`), so a line holds one unit and a
/// merge line splits at its one real space.
pub fn escape_unit(unit: &str) -> String {
    unit.replace('\\', "\\\\")
        .replace('\n', "\\n")
        .replace(' ', "\\s")
}

/// The inverse of [`escape_unit`].
pub fn unescape_unit(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n') => out.push('\n'),
                Some('s') => out.push(' '),
                Some(other) => out.push(other),
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}
