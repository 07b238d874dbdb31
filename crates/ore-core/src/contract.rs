//! The Stage contract: what every stage of ore declares and does.
//!
//! A stage is a config plus a runtime built from it:
//! - [`StageDef`] is what is known of a stage without running it: its kind
//!   name (the pipeline section it reads by default), its config type, the
//!   inputs it declares and whether the run seed changes its output. The
//!   runner ([`crate::runner`]) decides from this alone, and from the
//!   manifests on disk, which stages are up to date.
//! - [`Stage`] builds the runtime from a config ([`Stage::build`] checks
//!   everything that can be checked before a row is read) and runs it on a
//!   [`StageContext`] (inputs, output, seed, threads), writing through
//!   [`crate::StageOutput`] and returning the manifest it committed.
//!
//! The two are split so that a stage whose runtime needs a heavy library
//! (train and eval link libtorch) is still known, with its config, to the
//! binaries that do not link it.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::config::Pipeline;
use crate::dataset::WriteOptions;
use crate::error::{Error, Result};
use crate::manifest::Manifest;

/// What a declared input is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputKind {
    /// A Parquet dataset (a folder of part files, or one file).
    Dataset,
    /// A model folder written by `ore train`.
    Model,
    /// Plain files (a corpus to import).
    Files,
}

/// One declared input of a stage: the pipeline key that names it and what
/// it must be.
#[derive(Debug, Clone, Copy)]
pub struct InputSpec {
    /// The key in the stage's pipeline section (`input`, `model`) and the
    /// name in [`StageContext::inputs`].
    pub key: &'static str,
    pub kind: InputKind,
    /// Whether the stage can run without it.
    pub required: bool,
    /// Whether it takes more than one path (an ensemble of models, the
    /// files of an import).
    pub many: bool,
    /// When the section does not name it: the first of these sections that
    /// the pipeline has, or else whose default output folder exists.
    pub defaults: &'static [&'static str],
}

impl InputSpec {
    /// One required dataset under the key `input`, defaulting to `defaults`.
    pub const fn dataset(defaults: &'static [&'static str]) -> Self {
        Self {
            key: "input",
            kind: InputKind::Dataset,
            required: true,
            many: false,
            defaults,
        }
    }
}

impl InputSpec {
    /// One or more plain files under the key `input` (a corpus to import).
    pub const fn files() -> Self {
        Self {
            key: "input",
            kind: InputKind::Files,
            required: true,
            many: true,
            defaults: &[],
        }
    }
}

/// What is known of a stage without running it.
pub trait StageDef {
    /// The stage's kind (`clean`, `import-pku`, …): the manifest's `stage`,
    /// and the pipeline section it reads unless a section says
    /// `stage = "KIND"`.
    const KIND: &'static str;
    /// What the stage reads (none for the crawler, whose seeds are config).
    const INPUTS: &'static [InputSpec];
    /// Whether the run seed changes the output (the runner reruns seeded
    /// stages when the seed changes, and only those).
    const SEEDED: bool;
    /// The stage's section: serde with `deny_unknown_fields`, a `Default`,
    /// doc comments as the user's documentation.
    type Config: Serialize + DeserializeOwned + Default + Debug + Clone;
}

/// A stage's runtime.
pub trait Stage: StageDef + Sized {
    type Error: std::error::Error + Send + Sync + 'static;

    /// Validates the config and builds the runtime; everything that can be
    /// checked before a row is read is checked here.
    fn build(config: Self::Config) -> std::result::Result<Self, Self::Error>;

    /// Runs the stage: reads `ctx`'s inputs, writes its output through
    /// [`crate::StageOutput`] and returns the manifest it committed.
    fn run(&self, ctx: &StageContext) -> std::result::Result<Manifest, Self::Error>;

    /// The steps of a run with `--shard K/N`, in order (each run for every
    /// shard, then committed: [`crate::shard`]); `None` for a stage that
    /// does not run in shards. Most stages have one step,
    /// [`crate::shard::ROWS_STEP`].
    fn shard_steps(&self) -> Option<Vec<&'static str>> {
        None
    }

    /// What the command prints when the run is done: one line of rows in,
    /// out and rejected by reason, the summary figures and the time.
    fn summary(&self, manifest: &Manifest, ctx: &StageContext) -> String {
        manifest.summary_line(&ctx.output)
    }
}

/// Where a stage run reads and writes, and with what.
#[derive(Debug, Clone)]
pub struct StageContext {
    /// The section of the pipeline that configured the run (its kind when
    /// run without a pipeline file).
    pub section: String,
    /// Input paths by [`InputSpec::key`].
    pub inputs: BTreeMap<&'static str, Vec<PathBuf>>,
    pub output: PathBuf,
    pub seed: u64,
    /// Worker threads (`None`: all cores).
    pub threads: Option<usize>,
    /// Continue an interrupted run from the state it saved (crawl, train).
    pub resume: bool,
    /// Show progress bars.
    pub progress: bool,
    pub write: WriteOptions,
    /// The slice of the input to process (`--shard K/N`), and the step
    /// when the stage's sharded run has more than one.
    pub shard: Option<crate::shard::Shard>,
    pub step: Option<String>,
}

impl StageContext {
    pub fn new(section: impl Into<String>, output: impl Into<PathBuf>, seed: u64) -> Self {
        Self {
            section: section.into(),
            inputs: BTreeMap::new(),
            output: output.into(),
            seed,
            threads: None,
            resume: false,
            progress: true,
            write: WriteOptions::default(),
            shard: None,
            step: None,
        }
    }

    /// Where the run writes: the output, or its shard's folder in the
    /// output's shard area when run with `--shard`.
    pub fn target(&self, step: &str) -> PathBuf {
        match self.shard {
            Some(shard) => crate::shard::shard_dir(&self.output, step, shard),
            None => self.output.clone(),
        }
    }

    /// Opens input dataset `key`: its shard's slice when run with `--shard`.
    pub fn open_input(&self, key: &str) -> Result<crate::Dataset> {
        let dataset = crate::Dataset::open(self.input(key)?)?;
        Ok(match self.shard {
            Some(shard) => dataset.shard(shard),
            None => dataset,
        })
    }

    /// Sets the paths of input `key`.
    pub fn with_input(mut self, key: &'static str, paths: Vec<PathBuf>) -> Self {
        self.inputs.insert(key, paths);
        self
    }

    /// The paths of input `key` (empty when it was not given).
    pub fn inputs(&self, key: &str) -> &[PathBuf] {
        self.inputs.get(key).map_or(&[], Vec::as_slice)
    }

    /// The one path of input `key`, or an error naming the missing input.
    pub fn input(&self, key: &str) -> Result<&Path> {
        match self.inputs(key) {
            [one] => Ok(one),
            [] => Err(Error::Config {
                path: self.output.clone(),
                message: format!("stage `{}` has no `{key}`", self.section),
            }),
            many => Err(Error::Config {
                path: self.output.clone(),
                message: format!(
                    "stage `{}` takes one `{key}`, not {}",
                    self.section,
                    many.len()
                ),
            }),
        }
    }
}

/// A stage kind as the runner sees it: [`StageDef`] as values, with its
/// config's JSON after defaults (what its manifest records) one call away.
#[derive(Debug, Clone, Copy)]
pub struct StageKind {
    pub kind: &'static str,
    pub inputs: &'static [InputSpec],
    pub seeded: bool,
    /// The section's config after defaults, as JSON.
    pub config: fn(&Pipeline, &str) -> Result<serde_json::Value>,
}

impl StageKind {
    pub const fn of<S: StageDef>() -> Self {
        Self {
            kind: S::KIND,
            inputs: S::INPUTS,
            seeded: S::SEEDED,
            config: config_json::<S>,
        }
    }
}

fn config_json<S: StageDef>(pipeline: &Pipeline, section: &str) -> Result<serde_json::Value> {
    config_value(&load_config::<S>(pipeline, section)?)
}

/// Stage `S`'s config from section `section` of `pipeline` (its `Default`
/// when there is no such section): every key but the graph keys and the
/// keys of the inputs `S` declares.
pub fn load_config<S: StageDef>(pipeline: &Pipeline, section: &str) -> Result<S::Config> {
    let keys: Vec<&str> = S::INPUTS.iter().map(|i| i.key).collect();
    pipeline.stage_config(section, &keys)
}

/// A config as the JSON its manifest records.
pub fn config_value(config: &impl Serialize) -> Result<serde_json::Value> {
    serde_json::to_value(config).map_err(|e| Error::Config {
        path: PathBuf::new(),
        message: format!("config does not serialize: {e}"),
    })
}
