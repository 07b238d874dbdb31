//! Options every stage command shares (ruff-style flattened args).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Args;
use ore_core::{Manifest, Pipeline};

/// `--config/--input/--output/--seed/--threads`.
#[derive(Debug, Args)]
pub(crate) struct StageArgs {
    /// Pipeline file (`pipelines/NAME.toml`): the stage's section, the run
    /// seed, and default input/output folders under `datasets/NAME/`.
    #[arg(long, value_name = "P.toml")]
    pub(crate) config: Option<PathBuf>,

    /// Input dataset: a folder of Parquet files or one file (default: the
    /// previous stage's output in the pipeline).
    #[arg(long, value_name = "DIR")]
    pub(crate) input: Option<PathBuf>,

    /// Output dataset folder, replaced atomically when the stage completes
    /// (default: `datasets/<pipeline>/<stage>`).
    #[arg(long, value_name = "DIR")]
    pub(crate) output: Option<PathBuf>,

    /// Run seed (default: the pipeline's, else 0).
    #[arg(long, value_name = "N")]
    pub(crate) seed: Option<u64>,

    /// Worker threads (default: all cores).
    #[arg(long, value_name = "N")]
    pub(crate) threads: Option<usize>,
}

/// The resolved paths, seed and pipeline of a stage run.
#[derive(Debug)]
pub(crate) struct StageRun {
    pub(crate) pipeline: Option<Pipeline>,
    pub(crate) input: PathBuf,
    pub(crate) output: PathBuf,
    pub(crate) seed: u64,
}

impl StageArgs {
    /// Loads the pipeline (if any), sets up the thread pool and resolves
    /// input and output: flags first, then the pipeline's defaults.
    pub(crate) fn resolve(&self, stage: &str, previous: &str) -> Result<StageRun> {
        if let Some(threads) = self.threads {
            if threads == 0 {
                bail!("--threads must be at least 1");
            }
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build_global()
                .context("cannot set up the thread pool")?;
        }
        let pipeline = self.config.as_deref().map(Pipeline::load).transpose()?;
        let pick = |flag: &Option<PathBuf>, default_stage: &str, name: &str| -> Result<PathBuf> {
            match (flag, &pipeline) {
                (Some(path), _) => Ok(path.clone()),
                (None, Some(p)) => Ok(p.stage_output(default_stage)),
                (None, None) => bail!(
                    "ore {stage}: --{name} is required (or --config P.toml to take it from a pipeline)"
                ),
            }
        };
        let input = pick(&self.input, previous, "input")?;
        let output = pick(&self.output, stage, "output")?;
        if same_path(&input, &output) {
            bail!(
                "ore {stage}: --input and --output are the same folder ({})",
                input.display()
            );
        }
        let seed = self
            .seed
            .or(pipeline.as_ref().map(|p| p.pipeline.seed))
            .unwrap_or(0);
        Ok(StageRun {
            pipeline,
            input,
            output,
            seed,
        })
    }
}

fn same_path(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// One line: rows in, out, rejected by reason, summary figures, time.
pub(crate) fn summary(manifest: &Manifest, output: &Path) -> String {
    let rows = &manifest.rows;
    let mut out = format!(
        "{}: {} rows in, {} written to {}, {} rejected",
        manifest.stage,
        rows.input,
        rows.output,
        output.display(),
        rows.rejected
    );
    for (reason, n) in &rows.rejected_by_reason {
        let _ = write!(out, " ({reason}: {n})");
    }
    for (key, value) in &manifest.summary {
        let _ = write!(out, ", {key} {value}");
    }
    let _ = writeln!(out, " in {:.1} s", manifest.wall_time_s);
    out
}
