//! `_manifest.json`: what produced a dataset, from what, and how many rows
//! went where.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use xxhash_rust::xxh3::Xxh3;

use crate::error::{Error, IoContext, Result};

/// Version of `ore` that wrote a manifest.
pub const ORE_VERSION: &str = env!("CARGO_PKG_VERSION");
/// Git revision of the checkout `ore` was built from (`unknown` outside git).
pub const GIT_REVISION: &str = env!("ORE_GIT_REVISION");

/// The manifest of one stage's output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub stage: String,
    pub ore_version: String,
    pub git_revision: String,
    /// The stage's configuration section after defaults were applied.
    pub config: serde_json::Value,
    /// `sha256:` of the canonical JSON of `config`.
    pub config_hash: String,
    pub inputs: Vec<InputRecord>,
    pub rows: RowCounts,
    /// Part files of the output, relative to the dataset folder.
    pub files: Vec<String>,
    /// Content hash of what the stage wrote (its part files, or a model
    /// folder's files), as its readers record it among their inputs: the
    /// runner decides "up to date" from it without reading the output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_hash: Option<String>,
    /// RFC 3339 UTC time the stage started.
    pub started_at: String,
    pub wall_time_s: f64,
    pub seed: u64,
    /// `K/N` when the stage processed one shard of its input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<String>,
    /// Stage-specific summary figures.
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub summary: serde_json::Map<String, serde_json::Value>,
}

/// One input dataset of a stage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputRecord {
    pub path: PathBuf,
    /// See [`crate::Dataset::content_hash`].
    pub content_hash: String,
    pub rows: u64,
}

/// Row accounting. The invariant `input + generated = output + rejected`
/// holds for every committed manifest.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RowCounts {
    #[serde(rename = "in")]
    pub input: u64,
    /// Rows a stage creates rather than reads (augmented variants).
    #[serde(default)]
    pub generated: u64,
    #[serde(rename = "out")]
    pub output: u64,
    pub rejected: u64,
    pub rejected_by_reason: BTreeMap<String, u64>,
}

impl RowCounts {
    /// The rejected rows by reason, as ` (REASON: N)` each, for summary
    /// lines.
    pub fn by_reason_text(&self) -> String {
        self.rejected_by_reason
            .iter()
            .map(|(reason, n)| format!(" ({reason}: {n})"))
            .collect()
    }

    /// Checks that every row is accounted for, naming `stage` if not.
    pub fn check(&self, stage: &str) -> Result<()> {
        let by_reason: u64 = self.rejected_by_reason.values().sum();
        if self.input + self.generated != self.output + self.rejected || by_reason != self.rejected
        {
            return Err(Error::RowCountMismatch {
                stage: stage.to_string(),
                rows_in: self.input,
                generated: self.generated,
                rows_out: self.output,
                rejected: by_reason.max(self.rejected),
            });
        }
        Ok(())
    }
}

impl Manifest {
    /// Reads and validates `DIR/_manifest.json`.
    pub fn read(dataset_dir: impl AsRef<Path>) -> Result<Self> {
        let path = dataset_dir.as_ref().join(crate::dataset::MANIFEST_FILE);
        let text = fs::read_to_string(&path).at(&path)?;
        let manifest: Manifest = serde_json::from_str(&text).map_err(|e| Error::Manifest {
            path: path.clone(),
            message: e.to_string(),
        })?;
        manifest.rows.check(&manifest.stage)?;
        Ok(manifest)
    }

    /// One line: rows in, out, rejected by reason, summary figures, time.
    pub fn summary_line(&self, output: &Path) -> String {
        use std::fmt::Write as _;
        let rows = &self.rows;
        let mut out = format!(
            "{}: {} rows in, {} written to {}, {} rejected",
            self.stage,
            rows.input,
            rows.output,
            output.display(),
            rows.rejected
        );
        out.push_str(&rows.by_reason_text());
        for (key, value) in &self.summary {
            let _ = write!(out, ", {key} {value}");
        }
        let _ = writeln!(out, " in {:.1} s", self.wall_time_s);
        out
    }

    /// Writes `DIR/_manifest.json` (through a temporary file renamed into
    /// place, so a reader never sees half of it).
    pub fn write(&self, dataset_dir: &Path) -> Result<()> {
        self.rows.check(&self.stage)?;
        let path = dataset_dir.join(crate::dataset::MANIFEST_FILE);
        let mut text = serde_json::to_string_pretty(self).map_err(|e| Error::Manifest {
            path: path.clone(),
            message: e.to_string(),
        })?;
        text.push('\n');
        let tmp = dataset_dir.join(format!(".{}.tmp", crate::dataset::MANIFEST_FILE));
        fs::write(&tmp, text).at(&tmp)?;
        fs::rename(&tmp, &path).at(&path)
    }

    /// The manifest of a stage whose output is a folder it wrote itself (a
    /// model): its files (without `checkpoint/`) and their hash are read
    /// from `dir`, and the manifest is written there.
    pub fn commit_folder(
        dir: &Path,
        info: crate::StageInfo,
        inputs: Vec<InputRecord>,
        rows: RowCounts,
        summary: serde_json::Map<String, serde_json::Value>,
        started: std::time::Instant,
    ) -> Result<Self> {
        let started_at = std::time::SystemTime::now()
            .checked_sub(started.elapsed())
            .unwrap_or(std::time::SystemTime::UNIX_EPOCH);
        let paths = folder_files(dir)?;
        let files = paths
            .iter()
            .map(|p| {
                p.strip_prefix(dir)
                    .unwrap_or(p)
                    .to_string_lossy()
                    .replace('\\', "/")
            })
            .collect();
        let output_hash = hash_files(dir, paths.iter().map(PathBuf::as_path))?;
        let manifest = Manifest {
            stage: info.stage,
            ore_version: ORE_VERSION.to_string(),
            git_revision: GIT_REVISION.to_string(),
            config_hash: config_hash(&info.config),
            config: info.config,
            inputs,
            rows,
            files,
            output_hash: Some(output_hash),
            started_at: humantime::format_rfc3339_seconds(started_at).to_string(),
            wall_time_s: started.elapsed().as_secs_f64(),
            seed: info.seed,
            shard: info.shard,
            summary,
        };
        manifest.write(dir)?;
        Ok(manifest)
    }
}

/// The content hash of files under `root`, in the order given: each file's
/// path relative to `root`, its size and its bytes (`xxh3-128:…`). A
/// dataset's hash ([`crate::Dataset::content_hash`]) is this over its part
/// files.
pub fn hash_files<'a>(root: &Path, files: impl IntoIterator<Item = &'a Path>) -> Result<String> {
    use std::io::Read;
    let mut hasher = Xxh3::new();
    let mut buf = vec![0u8; 1 << 20];
    for path in files {
        let rel = path.strip_prefix(root).unwrap_or(path);
        let mut file = fs::File::open(path).at(path)?;
        let bytes = file.metadata().at(path)?.len();
        hasher.update(rel.to_string_lossy().as_bytes());
        hasher.update(&[0u8]);
        hasher.update(&bytes.to_le_bytes());
        loop {
            let n = file.read(&mut buf).at(path)?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
        }
    }
    Ok(format!("xxh3-128:{:032x}", hasher.digest128()))
}

/// The content hash of one file (an imported corpus).
pub fn file_hash(path: &Path) -> Result<String> {
    let root = path.parent().unwrap_or(Path::new(""));
    hash_files(root, [path])
}

/// The content hash of a folder that is not a dataset (a model): every
/// file below it in path order, except `_manifest.json`, hidden entries and
/// `checkpoint/` (the state to resume from, not the result).
pub fn folder_hash(dir: &Path) -> Result<String> {
    let files = folder_files(dir)?;
    hash_files(dir, files.iter().map(PathBuf::as_path))
}

/// The files [`folder_hash`] covers, in path order.
fn folder_files(dir: &Path) -> Result<Vec<PathBuf>> {
    fn walk(dir: &Path, top: bool, out: &mut Vec<PathBuf>) -> Result<()> {
        for entry in fs::read_dir(dir).at(dir)? {
            let entry = entry.at(dir)?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with('.')
                || (top && (name == crate::dataset::MANIFEST_FILE || name == "checkpoint"))
            {
                continue;
            }
            let path = entry.path();
            if path.is_dir() {
                walk(&path, false, out)?;
            } else {
                out.push(path);
            }
        }
        Ok(())
    }
    let mut files = Vec::new();
    walk(dir, true, &mut files)?;
    files.sort();
    Ok(files)
}

/// `sha256:` of a JSON value's canonical form (object keys sorted, no spaces).
pub fn config_hash(config: &serde_json::Value) -> String {
    let canonical = canonical_json(config);
    format!(
        "sha256:{}",
        hex::encode(Sha256::digest(canonical.as_bytes()))
    )
}

fn canonical_json(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::Object(map) => {
            let sorted: BTreeMap<&String, String> =
                map.iter().map(|(k, v)| (k, canonical_json(v))).collect();
            let body: Vec<String> = sorted
                .into_iter()
                .map(|(k, v)| format!("{}:{v}", serde_json::Value::String(k.clone())))
                .collect();
            format!("{{{}}}", body.join(","))
        }
        serde_json::Value::Array(items) => {
            let body: Vec<String> = items.iter().map(canonical_json).collect();
            format!("[{}]", body.join(","))
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_must_add_up() {
        let mut counts = RowCounts {
            input: 10,
            output: 7,
            rejected: 3,
            ..Default::default()
        };
        counts.rejected_by_reason.insert("too_short".into(), 3);
        counts.check("clean").unwrap();

        counts.output = 6;
        let err = counts.check("clean").unwrap_err().to_string();
        assert!(err.contains("10 in"), "{err}");
        assert!(err.contains("6 out"), "{err}");

        counts.output = 7;
        counts.rejected_by_reason.insert("too_short".into(), 2);
        assert!(
            counts.check("clean").is_err(),
            "reasons must sum to rejected"
        );
    }

    #[test]
    fn generated_rows_are_part_of_the_balance() {
        let counts = RowCounts {
            input: 10,
            generated: 5,
            output: 15,
            ..Default::default()
        };
        counts.check("augment").unwrap();
    }

    #[test]
    fn config_hash_ignores_key_order() {
        let a = serde_json::json!({"b": 1, "a": {"y": [1, 2], "x": "s"}});
        let b = serde_json::json!({"a": {"x": "s", "y": [1, 2]}, "b": 1});
        assert_eq!(config_hash(&a), config_hash(&b));
        assert_ne!(config_hash(&a), config_hash(&serde_json::json!({"b": 2})));
    }
}
