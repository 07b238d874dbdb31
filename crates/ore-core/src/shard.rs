//! Sharded runs: `--shard K/N` and the commit that joins the shards.
//!
//! A stage run with `--shard K/N` reads the K-th of N contiguous slices of
//! its input ([`crate::Dataset::shard`]) and writes a complete dataset of
//! its own (part files, `_rejects/`, manifest with `shard = "K/N"`) into
//! the output's shard area, a hidden sibling of the output:
//!
//! ```text
//! datasets/demo/.clean.shards/rows/shard-00002-of-00004/
//! ```
//!
//! Each shard folder is written through a [`Staging`] folder and renamed
//! into place, so a shard run again (a Slurm requeue, a Ray retry)
//! replaces its own folder and nothing else: rows are never written twice.
//! A stage whose work needs a global step first (clean's boilerplate line
//! counts) runs its shards in more than one step, each with a folder of
//! its own under the area.
//!
//! [`ShardSet::open`] checks that all N shards of a step are there and were
//! run with one config on one input; [`ShardCommit`] then builds the
//! output in a staging folder from the shards' part files (hard-linked,
//! not copied, and renumbered in shard order, so the rows come in the
//! order an unsharded run writes them), writes the merged manifest and
//! renames the output into place. The shard area is removed only after
//! that, so a failed commit loses nothing.

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Instant;

use crate::dataset::{Dataset, MANIFEST_FILE, Staging};
use crate::error::{Error, IoContext, Result};
use crate::manifest::{GIT_REVISION, InputRecord, Manifest, ORE_VERSION, RowCounts};

/// The step of a stage whose shards need no global step before them.
pub const ROWS_STEP: &str = "rows";

/// One of `count` slices of a stage's input: `--shard index/count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl Shard {
    pub fn new(index: u32, count: u32) -> Result<Self> {
        if count == 0 || index >= count {
            return Err(Error::Config {
                path: PathBuf::new(),
                message: format!("--shard takes K/N with 0 <= K < N, not {index}/{count}"),
            });
        }
        Ok(Self { index, count })
    }

    /// The rows `[start, end)` of `total` that this shard reads: slices as
    /// equal as integers allow, in order, covering every row once.
    pub fn rows(&self, total: u64) -> (u64, u64) {
        let at = |k: u32| (u128::from(total) * u128::from(k) / u128::from(self.count)) as u64;
        (at(self.index), at(self.index + 1))
    }

    /// The shard's folder name: `shard-00002-of-00004`.
    pub fn folder_name(&self) -> String {
        format!("shard-{:05}-of-{:05}", self.index, self.count)
    }

    /// Every shard of `count`, in order.
    pub fn all(count: u32) -> impl Iterator<Item = Shard> {
        (0..count).map(move |index| Shard { index, count })
    }

    fn parse_folder(name: &str) -> Option<Shard> {
        let rest = name.strip_prefix("shard-")?;
        let (index, count) = rest.split_once("-of-")?;
        Shard::new(index.parse().ok()?, count.parse().ok()?).ok()
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl FromStr for Shard {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let bad = || format!("--shard takes K/N with 0 <= K < N (e.g. 0/4), not `{s}`");
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let (k, n) = (
            k.trim().parse().map_err(|_| bad())?,
            n.trim().parse().map_err(|_| bad())?,
        );
        Shard::new(k, n).map_err(|_| bad())
    }
}

/// The hidden folder beside `target` where the shards of a sharded run
/// wait for their commit: `PARENT/.NAME.shards`.
pub fn area(target: &Path) -> PathBuf {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let parent = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    parent.join(format!(".{name}.shards"))
}

/// The folder shard `shard` of step `step` writes.
pub fn shard_dir(target: &Path, step: &str, shard: Shard) -> PathBuf {
    area(target).join(step).join(shard.folder_name())
}

/// The shards of one step of a sharded run, checked complete and
/// consistent.
#[derive(Debug)]
pub struct ShardSet {
    target: PathBuf,
    step: String,
    count: u32,
    /// Each shard's folder and manifest, in shard order.
    shards: Vec<(PathBuf, Manifest)>,
}

/// The shard folders of a step found on disk, by shard count.
fn found(dir: &Path) -> Result<BTreeMap<u32, BTreeMap<u32, PathBuf>>> {
    let mut by_count: BTreeMap<u32, BTreeMap<u32, PathBuf>> = BTreeMap::new();
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(by_count),
        Err(e) => return Err(Error::io(dir, e)),
    };
    for entry in entries {
        let entry = entry.at(dir)?;
        let name = entry.file_name();
        if let Some(shard) = name.to_str().and_then(Shard::parse_folder)
            && entry.path().join(MANIFEST_FILE).is_file()
        {
            by_count
                .entry(shard.count)
                .or_default()
                .insert(shard.index, entry.path());
        }
    }
    Ok(by_count)
}

/// Which shards of `count` are missing, as `1/4, 3/4`.
fn missing(count: u32, present: &BTreeMap<u32, PathBuf>) -> String {
    Shard::all(count)
        .filter(|s| !present.contains_key(&s.index))
        .map(|s| s.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

impl ShardSet {
    /// Whether any shard of `step` of `target` has been written.
    pub fn exists(target: &Path, step: &str) -> bool {
        found(&area(target).join(step)).is_ok_and(|f| !f.is_empty())
    }

    /// The shards of `step` of `target`: all N of them, each committed, all
    /// run with the same stage, config and seed on the same inputs. Shards
    /// of another count left by an earlier launch are ignored when one
    /// count is complete.
    pub fn open(target: &Path, step: &str) -> Result<Self> {
        let dir = area(target).join(step);
        let fail = |message: String| Error::Config {
            path: target.to_path_buf(),
            message,
        };
        let by_count = found(&dir)?;
        if by_count.is_empty() {
            return Err(fail(format!(
                "no shards to commit (nothing in {}): run the stage with --shard K/N first",
                dir.display()
            )));
        }
        let complete: Vec<u32> = by_count
            .iter()
            .filter(|(count, present)| present.len() == **count as usize)
            .map(|(count, _)| *count)
            .collect();
        let count = match complete.as_slice() {
            [one] => *one,
            [] => {
                let (count, present) = by_count.iter().next_back().expect("not empty");
                return Err(fail(format!(
                    "shards {} of {} are missing: run them, then commit again",
                    missing(*count, present),
                    *count
                )));
            }
            many => {
                // Complete sets of two counts: the newest one wins only if
                // the user says so by removing the other.
                return Err(fail(format!(
                    "complete sets of shards for N = {}: remove the stale ones under {}",
                    many.iter()
                        .map(u32::to_string)
                        .collect::<Vec<_>>()
                        .join(" and "),
                    dir.display()
                )));
            }
        };
        let shards = by_count[&count]
            .values()
            .map(|path| Ok((path.clone(), Manifest::read(path)?)))
            .collect::<Result<Vec<_>>>()?;
        let first = &shards[0].1;
        for (index, (path, m)) in shards.iter().enumerate() {
            let this = Shard {
                index: index as u32,
                count,
            };
            let differs = |what: &str| {
                fail(format!(
                    "shard {this} ({}) was run with another {what} than shard 0/{count}: run it again",
                    path.display()
                ))
            };
            if m.shard.as_deref() != Some(this.to_string().as_str()) {
                return Err(differs("shard number"));
            }
            if m.stage != first.stage {
                return Err(differs("stage"));
            }
            if m.config_hash != first.config_hash {
                return Err(differs("config"));
            }
            if m.seed != first.seed {
                return Err(differs("seed"));
            }
            let paths = |m: &Manifest| m.inputs.iter().map(|i| i.path.clone()).collect::<Vec<_>>();
            if paths(m) != paths(first) {
                return Err(differs("input"));
            }
        }
        Ok(Self {
            target: target.to_path_buf(),
            step: step.to_string(),
            count,
            shards,
        })
    }

    pub fn target(&self) -> &Path {
        &self.target
    }

    pub fn step(&self) -> &str {
        &self.step
    }

    pub fn count(&self) -> u32 {
        self.count
    }

    /// Each shard's folder and manifest, in shard order.
    pub fn shards(&self) -> &[(PathBuf, Manifest)] {
        &self.shards
    }

    /// The manifest the shards share (shard 0's).
    pub fn manifest(&self) -> &Manifest {
        &self.shards[0].1
    }

    /// The files of shard `index` under `sub` ("" for the top folder's part
    /// files, `_rejects`, `_vocab`, …) in the order its manifest lists them.
    pub fn files(&self, index: usize, sub: &str) -> Vec<PathBuf> {
        let (dir, manifest) = &self.shards[index];
        manifest
            .files
            .iter()
            .filter(|f| parent_of(f) == sub)
            .map(|f| dir.join(f))
            .collect()
    }

    /// The sub-folders the shards' files lie in, the top folder ("") first.
    pub fn subs(&self) -> Vec<String> {
        let mut subs: Vec<String> = Vec::new();
        for (_, manifest) in &self.shards {
            for f in &manifest.files {
                let sub = parent_of(f).to_string();
                if !subs.contains(&sub) {
                    subs.push(sub);
                }
            }
        }
        subs.sort_by_key(|s| (!s.is_empty(), s.starts_with('_'), s.clone()));
        subs
    }
}

fn parent_of(file: &str) -> &str {
    file.rsplit_once('/').map_or("", |(dir, _)| dir)
}

/// Whether a file of a dataset is one of its rows' part files (not under a
/// `_`-folder such as `_rejects/` or `_vocab/`).
fn is_data(relative: &str) -> bool {
    !relative.split('/').any(|c| c.starts_with('_'))
}

/// The output of a sharded run, being built from its shards.
#[derive(Debug)]
pub struct ShardCommit {
    set: ShardSet,
    staging: Staging,
    files: Vec<String>,
    next: BTreeMap<String, usize>,
    counts: RowCounts,
    summary: serde_json::Map<String, serde_json::Value>,
    started: Instant,
}

impl ShardCommit {
    /// Starts the output of `set` in a staging folder beside its target.
    pub fn begin(set: ShardSet) -> Result<Self> {
        let staging = Staging::new(&set.target)?;
        Ok(Self {
            set,
            staging,
            files: Vec::new(),
            next: BTreeMap::new(),
            counts: RowCounts::default(),
            summary: serde_json::Map::new(),
            started: Instant::now(),
        })
    }

    pub fn set(&self) -> &ShardSet {
        &self.set
    }

    /// The staging folder, for a stage that writes files of its own there.
    pub fn staging_path(&self) -> &Path {
        self.staging.path()
    }

    /// The rows of the output: add what the shards and the merge make of
    /// them.
    pub fn counts_mut(&mut self) -> &mut RowCounts {
        &mut self.counts
    }

    pub fn set_summary(&mut self, key: &str, value: serde_json::Value) {
        self.summary.insert(key.to_string(), value);
    }

    /// Puts the Parquet file `src` into `sub` of the output as its next part
    /// file (`part-NNNNN.parquet`, numbered on from the parts already
    /// there): hard-linked where the file system allows, else copied, so
    /// the shard keeps its file until the output is in place.
    pub fn adopt(&mut self, sub: &str, src: &Path) -> Result<()> {
        let n = self.next.entry(sub.to_string()).or_default();
        let name = format!("part-{n:05}.parquet");
        *n += 1;
        let relative = if sub.is_empty() {
            name
        } else {
            format!("{sub}/{name}")
        };
        let dst = self.staging.path().join(&relative);
        if let Some(parent) = dst.parent() {
            fs::create_dir_all(parent).at(parent)?;
        }
        if fs::hard_link(src, &dst).is_err() {
            fs::copy(src, &dst).at(&dst)?;
        }
        self.files.push(relative);
        Ok(())
    }

    /// Writes `batch` as side dataset `name` of the output (`_vocab/`, …),
    /// replacing what the shards had there.
    pub fn write_side(&mut self, name: &str, batch: &arrow_array::RecordBatch) -> Result<()> {
        let mut writer = crate::dataset::PartWriter::new(
            self.staging.path().join(name),
            batch.schema(),
            crate::dataset::WriteOptions::default(),
        )?;
        writer.write(batch)?;
        for part in writer.finish()? {
            let relative = part
                .path
                .strip_prefix(self.staging.path())
                .unwrap_or(&part.path)
                .to_string_lossy()
                .replace('\\', "/");
            self.files.push(relative);
        }
        Ok(())
    }

    /// Writes a file of the output (`_metrics.json`, …).
    pub fn write_file(&mut self, name: &str, bytes: &[u8]) -> Result<()> {
        let path = self.staging.path().join(name);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).at(parent)?;
        }
        fs::write(&path, bytes).at(&path)?;
        self.files.push(name.to_string());
        Ok(())
    }

    /// Adopts every file of shard `index` under `sub`, in order.
    pub fn adopt_all(&mut self, index: usize, sub: &str) -> Result<()> {
        for file in self.set.files(index, sub) {
            self.adopt(sub, &file)?;
        }
        Ok(())
    }

    /// The plain merge of a row-wise stage: every sub-folder's files
    /// (rows, then `_rejects/`, then side datasets; those in `except` are
    /// left to the caller), shard after shard; rows added up, and the
    /// summary figures that are plain counts added up too.
    pub fn concat(&mut self, except: &[&str]) -> Result<()> {
        for sub in self.set.subs() {
            if except.contains(&sub.as_str()) {
                continue;
            }
            for index in 0..self.set.shards.len() {
                self.adopt_all(index, &sub)?;
            }
        }
        self.add_shard_counts();
        Ok(())
    }

    /// Adds the shards' row counts to the output's.
    pub fn add_shard_counts(&mut self) {
        for (_, m) in &self.set.shards {
            self.counts.input += m.rows.input;
            self.counts.generated += m.rows.generated;
            self.counts.output += m.rows.output;
            self.counts.rejected += m.rows.rejected;
            for (reason, n) in &m.rows.rejected_by_reason {
                *self
                    .counts
                    .rejected_by_reason
                    .entry(reason.clone())
                    .or_default() += n;
            }
        }
    }

    /// The shards' summaries as one: numbers added up, objects merged key
    /// by key the same way, anything else (and the keys in `first`, which
    /// every shard computes alike) as shard 0 has it.
    pub fn merge_summaries(&mut self, first: &[&str]) {
        fn add(into: &mut serde_json::Value, more: &serde_json::Value) {
            match (into, more) {
                (serde_json::Value::Object(a), serde_json::Value::Object(b)) => {
                    for (k, v) in b {
                        match a.get_mut(k) {
                            Some(existing) => add(existing, v),
                            None => {
                                a.insert(k.clone(), v.clone());
                            }
                        }
                    }
                }
                (a @ serde_json::Value::Number(_), serde_json::Value::Number(b)) => {
                    *a = match (a.as_u64(), b.as_u64()) {
                        (Some(x), Some(y)) => serde_json::json!(x + y),
                        _ => {
                            serde_json::json!(a.as_f64().unwrap_or(0.0) + b.as_f64().unwrap_or(0.0))
                        }
                    };
                }
                _ => {}
            }
        }
        let mut merged = serde_json::Value::Object(serde_json::Map::new());
        for (i, (_, m)) in self.set.shards.iter().enumerate() {
            let mut summary = m.summary.clone();
            if i > 0 {
                summary.retain(|k, _| !first.contains(&k.as_str()));
            }
            add(&mut merged, &serde_json::Value::Object(summary));
        }
        if let serde_json::Value::Object(map) = merged {
            self.summary.extend(map);
        }
    }

    /// Writes the manifest, renames the output into place and removes the
    /// shard area. The inputs are the shards' with the content hash and
    /// rows of the whole input (each shard hashed its own slice).
    pub fn finish(self) -> Result<Manifest> {
        let Self {
            set,
            staging,
            files,
            counts,
            mut summary,
            started,
            ..
        } = self;
        counts.check(&set.manifest().stage)?;
        let first = set.manifest();
        let inputs = first
            .inputs
            .iter()
            .enumerate()
            .map(|(i, record)| {
                let same = set
                    .shards
                    .iter()
                    .all(|(_, m)| m.inputs[i].content_hash == record.content_hash);
                // Shards that read the same files (one part file, a model,
                // a folder hashed as a whole) recorded the same input.
                if same && set.count > 1 {
                    return Ok(record.clone());
                }
                let dataset = Dataset::open(&record.path)?;
                Ok(InputRecord {
                    path: record.path.clone(),
                    content_hash: dataset.content_hash()?,
                    rows: dataset.num_rows(),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let data: Vec<PathBuf> = files
            .iter()
            .filter(|f| is_data(f))
            .map(|f| staging.path().join(f))
            .collect();
        let output_hash =
            crate::manifest::hash_files(staging.path(), data.iter().map(PathBuf::as_path))?;
        let shard_time: f64 = set.shards.iter().map(|(_, m)| m.wall_time_s).sum();
        let slowest = set
            .shards
            .iter()
            .map(|(_, m)| m.wall_time_s)
            .fold(0.0, f64::max);
        let commit_time = started.elapsed().as_secs_f64();
        summary.insert("shards".into(), serde_json::json!(set.count));
        summary.insert(
            "shard_time_s".into(),
            serde_json::json!((shard_time * 100.0).round() / 100.0),
        );
        summary.insert(
            "commit_time_s".into(),
            serde_json::json!((commit_time * 100.0).round() / 100.0),
        );
        let started_at = set
            .shards
            .iter()
            .map(|(_, m)| m.started_at.clone())
            .min()
            .unwrap_or_default();
        let manifest = Manifest {
            stage: first.stage.clone(),
            ore_version: ORE_VERSION.to_string(),
            git_revision: GIT_REVISION.to_string(),
            config: first.config.clone(),
            config_hash: first.config_hash.clone(),
            inputs,
            rows: counts,
            files,
            output_hash: Some(output_hash),
            started_at,
            wall_time_s: slowest + commit_time,
            seed: first.seed,
            shard: None,
            summary,
        };
        manifest.write(staging.path())?;
        staging.commit()?;
        let _ = fs::remove_dir_all(area(&set.target));
        Ok(manifest)
    }
}

/// A test hook for retries: with `ORE_FAULT_KILL=STAGE:STEP:K/N` and
/// `ORE_FAULT_MARKER=FILE` in the environment, the first run of that shard
/// (the one that finds no FILE) creates FILE and kills itself with SIGKILL
/// with its output written but not yet committed, as a node failure or the
/// OOM killer would. Anything else returns at once.
pub fn fault_point(info: &crate::StageInfo, target: &Path) {
    let (Some(spec), Some(marker)) = (
        std::env::var_os("ORE_FAULT_KILL"),
        std::env::var_os("ORE_FAULT_MARKER"),
    ) else {
        return;
    };
    let Some(shard) = &info.shard else {
        return;
    };
    let step = target
        .parent()
        .and_then(Path::file_name)
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    if spec.to_string_lossy() != format!("{}:{step}:{shard}", info.stage) {
        return;
    }
    let marker = PathBuf::from(marker);
    if fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&marker)
        .is_err()
    {
        return;
    }
    eprintln!(
        "ORE_FAULT_KILL: killing shard {shard} of {} before its commit",
        info.stage
    );
    let _ = std::process::Command::new("kill")
        .args(["-KILL", &std::process::id().to_string()])
        .status();
    std::process::abort();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_slices() {
        let s: Shard = "2/4".parse().unwrap();
        assert_eq!(s, Shard { index: 2, count: 4 });
        assert_eq!(s.to_string(), "2/4");
        assert!("4/4".parse::<Shard>().is_err());
        assert!("1/0".parse::<Shard>().is_err());
        assert!("x".parse::<Shard>().is_err());
        for total in [0u64, 1, 3, 10, 2561] {
            for count in 1..=8 {
                let mut next = 0;
                for shard in Shard::all(count) {
                    let (a, b) = shard.rows(total);
                    assert_eq!(a, next);
                    assert!(b >= a);
                    next = b;
                }
                assert_eq!(next, total);
            }
        }
        assert_eq!(Shard::parse_folder("shard-00002-of-00004"), Some(s));
        assert_eq!(s.folder_name(), "shard-00002-of-00004");
    }

    #[test]
    fn area_is_a_hidden_sibling() {
        let a = area(Path::new("datasets/demo/clean"));
        assert_eq!(a, Path::new("datasets/demo/.clean.shards"));
        assert_eq!(
            shard_dir(Path::new("out"), ROWS_STEP, Shard { index: 1, count: 2 }),
            Path::new("./.out.shards/rows/shard-00001-of-00002")
        );
    }
}
